import { describe, expect, it } from 'vitest';
import { Malformed } from './json';
import { parseJoinReply, parseLeaveReply, parseLobbyHint, parseLobbyStatus, parseRespondReply, SentCheck } from './lobbyProtocol';
import { bytes, match, room, status, ticket } from './test/fixtures';

const NOW = 1_000_000;

describe('parseLobbyStatus', () => {
  it('reads a waiting person', () => {
    const st = parseLobbyStatus(status({ ticket: ticket({ position: 2, waiting: 5 }) }), NOW);
    expect(st.ticket).toEqual({ topic: 'remote-work', format: 'quick-debate', side: 'pro', position: 2, waiting: 5, estimated_wait: 30 });
    expect(st.proposal).toBeNull();
    expect(st.room).toBeNull();
    expect(st.formats.map((f) => [f.id, f.kind])).toEqual([['casual', 'casual'], ['quick-debate', 'debate']]);
  });

  it('reads a casual ticket (no side)', () => {
    expect(parseLobbyStatus(status({ ticket: ticket({ format: 'casual', side: null }) }), NOW).ticket?.side).toBeNull();
  });

  it('reads a proposal, its deadline counted from this clock', () => {
    const st = parseLobbyStatus(status({ match: match() }), NOW);
    expect(st.proposal).toEqual({
      match_id: '0f6c',
      partner: { display_name: 'Ada' },
      topic: 'remote-work',
      format: 'quick-debate',
      side: 'con',
      expires_at: NOW + 12_500,
      accepted: false,
      started: false,
    });
  });

  it('reads a started match with its room', () => {
    const st = parseLobbyStatus(status({ match: match({ state: 'started', accepted: true }), room: room() }), NOW);
    expect(st.proposal?.started).toBe(true);
    expect(st.room).toEqual(room());
  });

  it.each([
    ['not an object', []],
    ['no formats', { ...status(), formats: undefined }],
    ['no waiting counts', { ...status(), waiting: undefined }],
    ['a count that is not a number', status({ waiting: { t: { casual: '5' } } })],
    ['a ticket without a topic', status({ ticket: ticket({ topic: '' }) })],
    ['a ticket side that is not a side', status({ ticket: ticket({ side: 'left' }) })],
    ['a negative position', status({ ticket: ticket({ position: -1 }) })],
    ['a fractional position', status({ ticket: ticket({ position: 0.5 }) })],
    ['nobody waiting', status({ ticket: ticket({ waiting: 0 }) })],
    ['an estimate that is not a number', status({ ticket: ticket({ estimated_wait: 'soon' }) })],
    ['a ticket that is a string', status({ ticket: 'ticket' })],
    ['a match side of any', status({ match: match({ side: 'any' }) })],
    ['a match without an expiry', status({ match: match({ expires_in: undefined }) })],
    ['a match with an unknown state', status({ match: match({ state: 'live' }) })],
    ['a match accepted as a string', status({ match: match({ accepted: 'yes' }) })],
    ['a partner without a name', status({ match: match({ partner: {} }) })],
    ['a room without a token', status({ room: room({ token: '' }) })],
    ['a room url that is not a string', status({ room: room({ url: 5 }) })],
    ['a format of an unknown kind', status({ formats: [{ id: 'x', title: 'X', description: '', kind: 'chat' }] })],
  ])('refuses a reply with %s', (_what, reply) => {
    expect(() => parseLobbyStatus(reply, NOW)).toThrow(Malformed);
  });

  it('ignores fields a newer agent may add', () => {
    expect(parseLobbyStatus({ ...status(), banner: 'hello' }, NOW).ticket).toBeNull();
  });
});

describe('command replies', () => {
  it('join: the ticket', () => {
    expect(parseJoinReply({ ticket: ticket() }).position).toBe(0);
    expect(() => parseJoinReply({ ticket: null })).toThrow(Malformed);
    expect(() => parseJoinReply({})).toThrow(Malformed);
  });

  it('leave: left is true', () => {
    expect(() => parseLeaveReply({ left: true })).not.toThrow();
    expect(() => parseLeaveReply({ left: false })).toThrow(Malformed);
    expect(() => parseLeaveReply('left')).toThrow(Malformed);
  });

  it('respond: the status of the match answered', () => {
    for (const s of ['accepted', 'starting', 'declined'] as const) {
      expect(parseRespondReply({ match_id: 'm1', status: s }, 'm1')).toBe(s);
    }
    expect(() => parseRespondReply({ match_id: 'm2', status: 'accepted' }, 'm1')).toThrow(Malformed);
    expect(() => parseRespondReply({ match_id: 'm1', status: 'maybe' }, 'm1')).toThrow(Malformed);
  });
});

describe('parseLobbyHint', () => {
  it('keeps only a cancellation with one of the fixed reasons', () => {
    expect(parseLobbyHint(bytes({ type: 'cancelled', seq: 3, match_id: 'm1', reason: 'declined', requeued: true }))).toEqual({
      type: 'cancelled',
      match_id: 'm1',
      reason: 'declined',
    });
    expect(parseLobbyHint(bytes({ type: 'cancelled', match_id: 'm1', reason: '<b>you are banned</b>' }))).toEqual({ type: 'other' });
    expect(parseLobbyHint(bytes({ type: 'cancelled', reason: 'declined' }))).toEqual({ type: 'other' });
  });

  it('takes nothing from any other packet', () => {
    expect(parseLobbyHint(bytes({ type: 'ready', url: 'wss://elsewhere', token: 'x' }))).toEqual({ type: 'other' });
    expect(parseLobbyHint(bytes('not json'))).toEqual({ type: 'other' });
    expect(parseLobbyHint(bytes([1, 2]))).toEqual({ type: 'other' });
  });
});

describe('SentCheck', () => {
  const note = (seq: unknown) => bytes({ type: 'sent', seq });

  it('spares the call for a note naming only events that arrived', () => {
    const check = new SentCheck();
    expect(check.wanted(bytes({ type: 'queued', seq: 1 }), 'p-me', true)).toBe(true);
    expect(check.wanted(bytes({ type: 'proposed', seq: 2 }), 'p-me', true)).toBe(true);
    expect(check.wanted(note({ 'p-me': 2, 'p-other': 9 }), 'p-me', false)).toBe(false);
    expect(check.wanted(note({ 'p-me': 1 }), 'p-me', false)).toBe(false);
  });

  it('asks when the note names an event that never came', () => {
    const check = new SentCheck();
    expect(check.wanted(bytes({ type: 'queued', seq: 1 }), 'p-me', true)).toBe(true);
    expect(check.wanted(note({ 'p-me': 2 }), 'p-me', false)).toBe(true);
  });

  it('takes a note naming someone else, or malformed, as a plain hint', () => {
    const check = new SentCheck();
    expect(check.wanted(note({ 'p-other': 0 }), 'p-me', false)).toBe(true);
    expect(check.wanted(note([0]), 'p-me', false)).toBe(true);
    expect(check.wanted(note({ 'p-me': '0' }), 'p-me', false)).toBe(true);
    expect(check.wanted(note({ toString: 0 }), 'toString', false)).toBe(false);
    expect(check.wanted(note({}), 'toString', false)).toBe(true);
  });

  it('counts no event number from a participant, so a forged event mutes no note', () => {
    const check = new SentCheck();
    expect(check.wanted(bytes({ type: 'proposed', seq: 999 }), 'p-me', false)).toBe(true);
    expect(check.wanted(note({ 'p-me': 1 }), 'p-me', false)).toBe(true);
  });
});
