import { describe, expect, it } from 'vitest';
import { attributeValues, parseDebateHint, parseDebateState, stateFromAttributes, timeLeft } from './debateProtocol';
import { Malformed } from './json';
import { asAttributes, bytes, debateState } from './test/fixtures';

describe('parseDebateState', () => {
  it('reads a debate.state reply mid-speech', () => {
    const s = parseDebateState(debateState());
    expect(s.kind).toBe('debate');
    expect(s.status).toBe('running');
    expect(s.phase).toEqual({ index: 0, name: 'Pro opening', kind: 'speech', sides: ['pro'], seconds: 120 });
    expect(s.floor).toEqual(['u-pro']);
    expect(s.deadline).toBe(1767225600500);
    expect(s.graceUntil).toBe(1767225610500);
    expect(s.prepLeftMs).toEqual({ 'u-pro': 30000, 'u-con': 30000 });
    expect(s.sides).toEqual({ 'u-pro': 'pro', 'u-con': 'con' });
    expect(s.topic).toBe('');
  });

  it('tells a casual talk by its format and sides', () => {
    const casual = debateState({ format: 'casual', phase: null, sides: { a: null, b: null }, floor: ['a', 'b'] });
    expect(parseDebateState(casual).kind).toBe('casual');
    // A casual talk that became a debate has sides.
    expect(parseDebateState({ ...casual, sides: { a: 'pro', b: 'con' } }).kind).toBe('debate');
  });

  it('reads an ended debate and a paused one', () => {
    const ended = parseDebateState(debateState({ status: 'ended', outcome: 'forfeit', winner: 'u-con', floor: [] }));
    expect([ended.outcome, ended.winner]).toEqual(['forfeit', 'u-con']);
    const paused = parseDebateState(
      debateState({ paused: true, pause_reasons: ['absent', 'moderator'], remaining_ms: -2000, absent: { 'u-con': 1767225660000 } }),
    );
    expect(paused.pauseReasons).toEqual(['absent', 'moderator']);
    expect(paused.remainingMs).toBe(-2000);
  });

  it.each([
    ['no format', { format: '' }],
    ['an unknown status', { status: 'over' }],
    ['a phase of an unknown kind', { phase: { index: 0, name: 'x', kind: 'rap', sides: [], seconds: 1 } }],
    ['a phase side that is not a side', { phase: { index: 0, name: 'x', kind: 'speech', sides: ['me'], seconds: 1 } }],
    ['a floor that is a string', { floor: 'u-pro' }],
    ['a deadline that is a string', { deadline: 'soon' }],
    ['paused as a string', { paused: 'false' }],
    ['an unknown pause reason', { pause_reasons: ['lunch'] }],
    ['a side that is not a side', { sides: { 'u-pro': 'left' } }],
    ['an unknown outcome', { outcome: 'won' }],
    ['a prep time that is not a number', { prep_left_ms: { 'u-pro': '30' } }],
  ])('refuses a state with %s', (_what, over) => {
    expect(() => parseDebateState(debateState(over))).toThrow(Malformed);
  });
});

describe('the moderator attributes', () => {
  it('read as the same state as the reply, with topic and motion', () => {
    const attrs = asAttributes(debateState(), { topic: 'remote-work', motion: 'Remote work is better' });
    const s = stateFromAttributes(attrs);
    expect(s).toEqual({ ...parseDebateState(debateState()), topic: 'remote-work', motion: 'Remote work is better' });
  });

  it('read a missing or empty key as null', () => {
    const attrs = { ...asAttributes(debateState()), prep: '', winner: '' };
    expect(attributeValues(attrs).prep).toBeNull();
    expect(attributeValues(attrs).starts_at).toBeNull();
    expect(stateFromAttributes(attrs)?.prep).toBeNull();
  });

  it('are no state before the moderator set any', () => {
    expect(stateFromAttributes(undefined)).toBeNull();
    expect(stateFromAttributes({})).toBeNull();
  });

  it('refuse a value that is not JSON', () => {
    expect(() => stateFromAttributes({ ...asAttributes(debateState()), floor: '[u-pro' })).toThrow(Malformed);
  });
});

describe('parseDebateHint', () => {
  it('keeps only what picks harmless wording', () => {
    expect(parseDebateHint(bytes({ type: 'warning', seconds_left: 30, grace: 0, seq: 7 }))).toEqual({ type: 'warning' });
    expect(parseDebateHint(bytes({ type: 'phase', index: 3, floor: ['attacker'] }))).toEqual({ type: 'phase' });
    expect(parseDebateHint(bytes({ type: 'proposal', from: 'u1', format: 'quick-debate' }))).toEqual({ type: 'proposal', from: 'u1' });
    expect(parseDebateHint(bytes({ type: 'proposal_declined', by: 'u2' }))).toEqual({ type: 'proposal_declined', by: 'u2' });
  });

  it('takes nothing from an ended event or garbage', () => {
    expect(parseDebateHint(bytes({ type: 'ended', outcome: 'forfeit', winner: 'attacker' }))).toEqual({ type: 'other' });
    expect(parseDebateHint(bytes({ type: 'proposal', from: 5 }))).toEqual({ type: 'other' });
    expect(parseDebateHint(bytes('{'))).toEqual({ type: 'other' });
  });
});

describe('timeLeft', () => {
  const running = parseDebateState(debateState());
  const deadline = running.deadline ?? 0;

  it('counts down to the deadline', () => {
    expect(timeLeft(running, deadline - 30_000)).toBe(30);
    expect(timeLeft(running, deadline + 2_000)).toBe(-2);
  });

  it('never shows more than the speech lasts, even read a moment before it began', () => {
    // The phase is 120 s; a render whose `now` was read 300 ms before the phase began.
    expect(timeLeft(running, deadline - 120_300)).toBe(120);
  });

  it('shows what was left when paused, and nothing when no clock runs', () => {
    const paused = parseDebateState(debateState({ paused: true, remaining_ms: 4_500 }));
    expect(timeLeft(paused, deadline + 60_000)).toBe(4.5);
    expect(timeLeft(parseDebateState(debateState({ deadline: null })), deadline)).toBeNull();
  });

  it('does not cap preparation time by the phase', () => {
    const prep = parseDebateState(debateState({ prep: 'u-pro' }));
    expect(timeLeft(prep, deadline - 200_000)).toBe(200);
  });
});
