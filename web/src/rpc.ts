// The transport to DISCO's agents: LiveKit RPC calls with DISCO's error codes turned into words
// a person can read, and the pacing of the state reads that data-packet hints ask for.
import { ConnectionState, RoomEvent, RpcError, type Room } from 'livekit-client';

export const LOBBY_IDENTITY = 'disco-lobby';
export const DEBATE_IDENTITY = 'disco-moderator';

// ---------------------------------------------------------------------------------------------
// Errors (PROTOCOL.md "Error codes")

const CODE_TEXT: Record<number, string> = {
  2001: 'That request was not understood.',
  2002: 'That topic does not exist any more. Please pick another.',
  2003: 'That format is not available. Please pick another.',
  2004: 'Please pick a side that fits this format.',
  2005: 'You are not in the queue any more.',
  2006: 'That match has already ended or expired.',
  2007: 'That match belongs to someone else.',
  2008: 'You declined several matches in a row, so please take a short break.',
  2009: 'You are already in a match.',
  2010: 'Too many requests. Please slow down a little.',
  2101: 'Only moderators can do that.',
  2102: 'Only the debaters can do that.',
  2103: 'That cannot be done at this point of the debate.',
  2104: 'That person is not in the room.',
  2099: 'The matchmaker had a problem. Please try again.',
  2199: 'The moderator had a problem. Please try again.',
  // LiveKit's own RPC codes (1001–1999).
  1400: 'The DISCO assistant is still starting. Please try again in a moment.',
  1401: 'The DISCO assistant is not in the room yet. Please try again in a moment.',
  1503: 'The DISCO assistant left the room. Please try again in a moment.',
  1505: 'Your request could not be sent. Check your connection and try again.',
  1500: 'The DISCO assistant did not answer in time. Please try again.',
  1501: 'The DISCO assistant did not answer in time. Please try again.',
  1502: 'The DISCO assistant did not answer in time. Please try again.',
};

export class ProtocolError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly name_: string,
    readonly data: Record<string, unknown>,
  ) {
    super(message);
  }
  get retryAfter(): number | null {
    const r = this.data.retry_after;
    return typeof r === 'number' ? r : null;
  }
}

function sentence(m: string): string {
  const t = m.trim();
  const cap = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(cap) ? cap : `${cap}.`;
}

function toProtocolError(e: unknown): ProtocolError {
  if (e instanceof RpcError) {
    let data: Record<string, unknown> = {};
    try {
      const parsed: unknown = e.data ? JSON.parse(e.data) : {};
      if (parsed && typeof parsed === 'object') data = parsed as Record<string, unknown>;
    } catch {
      data = {};
    }
    // DISCO's messages are written for a person; LiveKit's own are not.
    const own = e.code >= 2000 && e.message;
    let message = own
      ? sentence(e.message)
      : CODE_TEXT[e.code] ?? 'Something went wrong. Please try again.';
    const retry = data.retry_after;
    if (typeof retry === 'number' && !/\d/.test(message)) message += ` Try again in ${retry} s.`;
    return new ProtocolError(message, e.code, String(data.error ?? ''), data);
  }
  if (e instanceof ProtocolError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new ProtocolError(msg || 'Something went wrong. Please try again.', 0, 'client', {});
}

// ---------------------------------------------------------------------------------------------
// RPC

/** True when the agent `identity` is in the room and ready for commands (the lobby agent sets
 * its attribute `lobby` to "ready" once its methods are registered; PROTOCOL.md "Lobby"). */
export function agentReady(room: Room, identity: string): boolean {
  const p = room.remoteParticipants.get(identity);
  if (!p) return false;
  return identity !== LOBBY_IDENTITY || p.attributes.lobby === 'ready';
}

/** Wait until the agent `identity` is in the room and ready (it joins a moment after us). */
export function waitForAgent(room: Room, identity: string, timeoutMs: number): Promise<void> {
  if (agentReady(room, identity)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const events = [RoomEvent.ParticipantConnected, RoomEvent.ParticipantAttributesChanged] as const;
    const done = () => {
      clearTimeout(timer);
      for (const e of events) room.off(e, check);
    };
    const check = () => {
      if (agentReady(room, identity)) {
        done();
        resolve();
      }
    };
    const timer = setTimeout(() => {
      done();
      reject(new ProtocolError(CODE_TEXT[1401], 1401, 'recipient_not_found', {}));
    }, timeoutMs);
    for (const e of events) room.on(e, check);
  });
}

// LiveKit's transport failures: the command did not arrive, so sending it again is safe.
const RETRYABLE = new Set([1501, 1505]);

export async function call<T>(room: Room, identity: string, method: string, payload: object): Promise<T> {
  if (room.state !== ConnectionState.Connected) {
    throw new ProtocolError('Not connected. Please wait a moment.', 0, 'not_connected', {});
  }
  const send = () =>
    room.localParticipant.performRpc({
      destinationIdentity: identity,
      method,
      payload: JSON.stringify(payload),
      responseTimeout: 10000,
    });
  try {
    await waitForAgent(room, identity, 20000);
    let reply: string;
    try {
      reply = await send();
    } catch (e) {
      if (!(e instanceof RpcError && RETRYABLE.has(e.code))) throw e;
      await waitForAgent(room, identity, 20000);
      reply = await send();
    }
    return (reply ? JSON.parse(reply) : {}) as T;
  } catch (e) {
    const err = toProtocolError(e);
    console.warn(`${method} failed`, err.code, e instanceof Error ? e.message : e);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Hints (docs/PROTOCOL.md "Clients: what to trust")

/** Paces the state reads that hints ask for: at most one call per `gapMs`. Any number of hints
 * while a call waits for its turn make that one call; a hint that comes while a call is under
 * way makes one more call after it, so the state read is never older than the last hint. */
export class Coalescer {
  private last = Number.NEGATIVE_INFINITY;
  private running = false;
  private again = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;

  constructor(
    private readonly read: () => Promise<void>,
    private readonly gapMs = 1000,
  ) {}

  /** A hint: read the state soon. */
  hint(): void {
    if (this.closed || this.timer !== null) return;
    if (this.running) {
      this.again = true;
      return;
    }
    const wait = this.last + this.gapMs - Date.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.fire();
      }, wait);
      return;
    }
    this.fire();
  }

  /** A read made outside the hints (on connect): it counts toward the pace too. */
  async now(): Promise<void> {
    this.last = Date.now();
    await this.read();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private fire(): void {
    this.again = false;
    this.running = true;
    this.last = Date.now();
    this.read()
      .catch(() => undefined)
      .finally(() => {
        this.running = false;
        if (this.again) this.hint();
      });
  }
}
