import { RpcError, type Room } from 'livekit-client';
import { describe, expect, it } from 'vitest';
import { lobbyToken } from './api';
import { Malformed } from './json';
import { agentReady, ProtocolError, toProtocolError } from './rpc';

describe('toProtocolError', () => {
  it('reads a DISCO error: code, name, data and the words for it', () => {
    const e = toProtocolError(new RpcError(2098, 'postgres timed out', JSON.stringify({ error: 'unavailable', retry_after: 3 })));
    expect([e.code, e.name_, e.data.retry_after]).toEqual([2098, 'unavailable', 3]);
    expect(e.message).toBe('DISCO is having trouble; try again in 3 s.');
  });

  it('survives data that is not a JSON object', () => {
    for (const data of ['', 'not json', '[1]', '"x"']) {
      const e = toProtocolError(new RpcError(2010, 'slow down', data));
      expect([e.code, e.name_]).toEqual([2010, '']);
      expect(e.message).toBe('Too many requests. Please slow down a little.');
    }
  });

  it('turns a reply of the wrong shape into one sentence', () => {
    const e = toProtocolError(new Malformed('ticket.position'));
    expect([e.code, e.name_]).toEqual([0, 'malformed']);
    expect(e.message).toMatch(/does not understand/);
  });

  it('keeps a ProtocolError as it is', () => {
    const e = new ProtocolError('x', 1, 'y', {});
    expect(toProtocolError(e)).toBe(e);
  });
});

describe('lobby shards', () => {
  const room = (people: Record<string, Record<string, string>>) =>
    ({ remoteParticipants: new Map(Object.entries(people).map(([id, attributes]) => [id, { attributes }])) }) as unknown as Room;

  it('calls the agent the token route names, ready once it says so', () => {
    expect(agentReady(room({ 'disco-lobby-2': {} }), 'disco-lobby-2')).toBe(false);
    expect(agentReady(room({ 'disco-lobby-2': { lobby: 'ready' } }), 'disco-lobby-2')).toBe(true);
    expect(agentReady(room({ 'disco-lobby': { lobby: 'ready' } }), 'disco-lobby-2')).toBe(false);
    expect(agentReady(room({ 'disco-moderator': {} }), 'disco-moderator')).toBe(true);
  });

  it('reads the shard from the lobby token route, and the one agent of an older API', () => {
    const base = { url: 'wss://lk', room: 'disco-lobby-2', identity: 'p-x', token: 't', livekit_urls: ['wss://lk'] };
    expect(lobbyToken({ ...base, agent_identity: 'disco-lobby-2' }).agent_identity).toBe('disco-lobby-2');
    expect(lobbyToken(base).agent_identity).toBe('disco-lobby');
  });
});
