import { describe, expect, it } from 'vitest';
import { parseLobbyStatus } from './lobbyProtocol';
import { viewFromStatus, type Stage } from './lobbyStage';
import { match, room, status, ticket, tokenFor, URL_OK } from './test/fixtures';
import type { CancelReason } from './text';

const NOW = 5_000_000;
const read = (over: Record<string, unknown>) => parseLobbyStatus(status(over), NOW);
const none = new Map<string, CancelReason>();
const view = (prev: Stage, over: Record<string, unknown>, reasons = none, rechecked = new Set<string>()) =>
  viewFromStatus(prev, read(over), [URL_OK], reasons, NOW, rechecked);
const proposed = (answered: boolean | null = null): Stage => ({
  kind: 'proposed',
  proposal: read({ match: match() }).proposal!,
  answered,
});

describe('viewFromStatus', () => {
  it('shows the form to someone with no ticket', () => {
    expect(view({ kind: 'connecting' }, {})).toEqual({ stage: { kind: 'choose' }, notice: undefined });
  });

  it('shows a ticket, keeping when the wait began', () => {
    const first = view({ kind: 'choose' }, { ticket: ticket() }).stage;
    expect(first).toMatchObject({ kind: 'waiting', since: NOW, receivedAt: NOW });
    const earlier: Stage = { kind: 'waiting', ticket: read({ ticket: ticket() }).ticket!, since: 42, receivedAt: 42 };
    expect(view(earlier, { ticket: ticket({ position: 0 }) }).stage).toMatchObject({ kind: 'waiting', since: 42 });
  });

  it('shows a new proposal and clears the notice', () => {
    const v = view({ kind: 'choose' }, { match: match() });
    expect(v.stage).toMatchObject({ kind: 'proposed', answered: null });
    expect(v.notice).toBeNull();
  });

  it('keeps an answer given here that the lobby has not seen yet', () => {
    expect(view(proposed(true), { match: match() }).stage).toMatchObject({ kind: 'proposed', answered: true });
    // After an agent restart the same match comes again with the answer kept.
    expect(view({ kind: 'choose' }, { match: match({ accepted: true }) }).stage).toMatchObject({ answered: true });
  });

  it('goes to a room only at a listed address with a token for that room', () => {
    const started = { match: match({ state: 'started', accepted: true }) };
    expect(view(proposed(true), { ...started, room: room() }).stage).toMatchObject({ kind: 'room', pass: room() });
    const elsewhere = view(proposed(true), { ...started, room: room({ url: 'wss://elsewhere.example' }) });
    expect(elsewhere.stage.kind).toBe('proposed');
    const otherRoom = view(proposed(true), { ...started, room: room({ token: tokenFor('disco-victim') }) });
    expect(otherRoom.stage.kind).toBe('proposed');
  });

  it('reads once more before taking a proposal away when neither ticket nor match shows', () => {
    const prev = proposed(true);
    const first = view(prev, {});
    expect(first).toEqual({ stage: prev, recheck: true });
    const again = view(prev, {}, new Map([['0f6c', 'declined']]), new Set(['0f6c']));
    expect(again.stage).toEqual({ kind: 'choose' });
    expect(again.notice).toBe('Your partner declined the match. You are no longer in the queue.');
  });

  it('says the person is back in the queue when the ticket is there', () => {
    const v = view(proposed(true), { ticket: ticket() }, new Map([['0f6c', 'partner_left']]));
    expect(v.stage.kind).toBe('waiting');
    expect(v.notice).toBe('Your partner left the lobby. You are back at the front of the queue.');
  });

  it('words a cancellation no hint explained in general terms', () => {
    const v = view(proposed(null), { ticket: ticket() });
    expect(v.notice).toBe('The match was called off. You are back at the front of the queue.');
  });

  it('says nothing about a proposal this person declined', () => {
    expect(view(proposed(false), {}).notice).toBeUndefined();
  });
});
