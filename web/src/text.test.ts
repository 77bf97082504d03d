import { describe, expect, it } from 'vitest';
import { ERROR, ERROR_NAMES } from './contract';
import { cancelNotice, errorMessage, sentence, warningText } from './text';

describe('errorMessage', () => {
  it('says DISCO is having trouble, and when to try again', () => {
    expect(errorMessage(2098, 'redis timed out', { error: 'unavailable', retry_after: 5 })).toBe(
      'DISCO is having trouble; try again in 5 s.',
    );
    expect(errorMessage(2098, '', { error: 'unavailable', retry_after: 0.2 })).toBe('DISCO is having trouble; try again in 1 s.');
    expect(errorMessage(2098, '', { error: 'unavailable' })).toBe('DISCO is having trouble; try again in a moment.');
  });

  it('explains the cooldown as the rule it is', () => {
    const m = errorMessage(2008, 'cooldown', { error: 'cooldown', retry_after: 90 });
    expect(m).toMatch(/declined, left or let run out several proposals in a row/);
    expect(m).toMatch(/each further one makes the wait longer/);
    expect(m).toMatch(/Try again in 1 min 30 s\.$/);
  });

  it.each([
    [2011, /connection to the lobby has expired/],
    [2012, /another tab or window/],
    [2013, /too many messages/],
  ])('has its own words for %i', (code, words) => {
    expect(errorMessage(code, 'raw agent text', { error: ERROR_NAMES[code] })).toMatch(words);
    expect(errorMessage(code, 'raw agent text', {})).not.toMatch(/raw agent text/);
  });

  it('uses the agent message where it says what exactly was wrong', () => {
    expect(errorMessage(2001, "unexpected field 'volume'", { error: 'invalid_payload', field: 'volume' })).toBe(
      "Unexpected field 'volume'.",
    );
    expect(errorMessage(2103, 'the debate has not started', {})).toBe('The debate has not started.');
    expect(errorMessage(2103, '', {})).toBe('That cannot be done at this point of the debate.');
  });

  it('falls back for codes it does not know', () => {
    expect(errorMessage(2500, 'x', {})).toBe('Something went wrong. Please try again.');
    expect(errorMessage(1401, '', {})).toMatch(/not in the room yet/);
  });

  it('ignores a retry_after that is not a positive number', () => {
    expect(errorMessage(2010, '', { retry_after: 'soon' })).toBe('Too many requests. Please slow down a little.');
  });
});

describe('sentence', () => {
  it('capitalises and ends with a stop', () => {
    expect(sentence(' only a moderator may do that ')).toBe('Only a moderator may do that.');
    expect(sentence('Done!')).toBe('Done!');
  });
});

describe('cancelNotice', () => {
  it('words each case', () => {
    expect(cancelNotice('expired', false)).toBe(
      'Time ran out before both of you accepted. You did not answer in time, so you left the queue.',
    );
    expect(cancelNotice('failed', true)).toBe('The room for your talk could not be opened. You are back at the front of the queue.');
    expect(cancelNotice(undefined, false)).toBe('The match was called off. You are no longer in the queue.');
  });
});

describe('contract', () => {
  it('names each code it acts on as the table does', () => {
    const names: Record<keyof typeof ERROR, string> = {
      cooldown: 'cooldown',
      rateLimited: 'rate_limited',
      unknownCaller: 'unknown_caller',
      replaced: 'replaced',
      flooding: 'flooding',
      keptOut: 'kept_out',
      unavailable: 'unavailable',
    };
    for (const [key, code] of Object.entries(ERROR)) expect(ERROR_NAMES[code]).toBe(names[key as keyof typeof ERROR]);
  });
});

describe('warningText', () => {
  it('says the reason and the day, never who reported', () => {
    const text = warningText('Hate speech', new Date('2026-11-30T12:00:00Z'));
    expect(text).toContain('(hate speech)');
    expect(text).toContain(new Date('2026-11-30T12:00:00Z').toLocaleDateString());
  });

  it('says "recently" for a date it cannot read', () => {
    expect(warningText('Spam or advertising', new Date('soon'))).toContain('upheld the report recently.');
  });
});
