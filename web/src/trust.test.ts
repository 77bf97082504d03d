import { describe, expect, it } from 'vitest';
import { parseDebateState } from './debateProtocol';
import { debateState, room, tokenFor, URL_OK } from './test/fixtures';
import { mayBeHeard, refusePass, tokenRoom } from './trust';

describe('tokenRoom', () => {
  it('reads the video.room claim', () => {
    expect(tokenRoom(tokenFor('disco-abc'))).toBe('disco-abc');
  });

  it('is null for a token without one, or not a token', () => {
    expect(tokenRoom(tokenFor(null))).toBeNull();
    expect(tokenRoom('garbage')).toBeNull();
    expect(tokenRoom('a.%%%.c')).toBeNull();
    expect(tokenRoom(`x.${btoa('{"video":{"room":5}}')}.y`)).toBeNull();
  });
});

describe('refusePass', () => {
  it('accepts a room at a listed address whose token is for that room', () => {
    expect(refusePass(room(), [URL_OK])).toBeNull();
    expect(refusePass(room({ url: `${URL_OK}/` }), [URL_OK])).toBeNull();
  });

  it('refuses an address the API did not list', () => {
    expect(refusePass(room({ url: 'wss://elsewhere.example' }), [URL_OK])).toMatch(/address/);
    expect(refusePass(room(), [])).toMatch(/address/);
    expect(refusePass(room({ url: `${URL_OK}.evil.example` }), [URL_OK])).toMatch(/address/);
  });

  it('refuses a token for another room, or none', () => {
    expect(refusePass(room({ token: tokenFor('disco-other') }), [URL_OK])).toMatch(/another room/);
    expect(refusePass(room({ token: tokenFor(null) }), [URL_OK])).toMatch(/another room/);
  });
});

describe('mayBeHeard', () => {
  const running = parseDebateState(debateState());

  it('hears the floor and moderators only while a debate runs', () => {
    expect(mayBeHeard(running, 'u-pro')).toBe(true);
    expect(mayBeHeard(running, 'u-con')).toBe(false);
    expect(mayBeHeard(running, 'someone-else')).toBe(false);
    expect(mayBeHeard(running, 'mod-42')).toBe(true);
  });

  it('hears everyone when no floor is kept', () => {
    expect(mayBeHeard(null, 'u-con')).toBe(true);
    expect(mayBeHeard(parseDebateState(debateState({ paused: true, pause_reasons: ['moderator'] })), 'u-con')).toBe(true);
    expect(mayBeHeard(parseDebateState(debateState({ status: 'waiting', phase: null })), 'u-con')).toBe(true);
    const casual = debateState({ format: 'casual', phase: null, sides: { a: null, b: null }, floor: ['a', 'b'] });
    expect(mayBeHeard(parseDebateState(casual), 'b')).toBe(true);
  });
});
