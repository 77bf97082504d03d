// The transport to DISCO's agents: LiveKit RPC calls, with failures turned into ProtocolErrors
// whose message a person can read (the words are text.ts). What the replies mean is parsed by
// lobbyProtocol.ts and debateProtocol.ts; commands.ts puts the two together.
import { ConnectionState, RoomEvent, RpcError, type Room } from 'livekit-client';
import { DEBATE_IDENTITY, LOBBY_READY_ATTRIBUTE, LOBBY_READY_VALUE } from './contract';
import { Malformed } from './json';
import { errorMessage, FALLBACK_TEXT, MALFORMED_TEXT, NOT_CONNECTED_TEXT } from './text';

export class ProtocolError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly name_: string,
    readonly data: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }
}

function rpcData(e: RpcError): Record<string, unknown> {
  try {
    const parsed: unknown = e.data ? JSON.parse(e.data) : {};
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function toProtocolError(e: unknown): ProtocolError {
  if (e instanceof ProtocolError) return e;
  if (e instanceof RpcError) {
    const data = rpcData(e);
    return new ProtocolError(errorMessage(e.code, e.message, data), e.code, typeof data.error === 'string' ? data.error : '', data);
  }
  if (e instanceof Malformed) {
    console.warn('unexpected reply', e.at);
    return new ProtocolError(MALFORMED_TEXT, 0, 'malformed', {});
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new ProtocolError(msg || FALLBACK_TEXT, 0, 'client', {});
}

/** True when the agent `identity` is in the room and ready for commands (a lobby agent, of
 * whichever shard, sets its attribute `lobby` to "ready" once its methods are registered;
 * PROTOCOL.md "Lobby"; the moderator is ready once it is there). */
export function agentReady(room: Room, identity: string): boolean {
  const p = room.remoteParticipants.get(identity);
  if (!p) return false;
  return identity === DEBATE_IDENTITY || p.attributes[LOBBY_READY_ATTRIBUTE] === LOBBY_READY_VALUE;
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
      reject(new ProtocolError(errorMessage(1401, '', {}), 1401, 'recipient_not_found', {}));
    }, timeoutMs);
    for (const e of events) room.on(e, check);
  });
}

// LiveKit's transport failures: the command did not arrive, so sending it again is safe.
const RETRYABLE = new Set([1501, 1505]);

/** One RPC to an agent; the reply's JSON (unchecked: the caller parses it). */
export async function call(room: Room, identity: string, method: string, payload: object): Promise<unknown> {
  if (room.state !== ConnectionState.Connected) {
    throw new ProtocolError(NOT_CONNECTED_TEXT, 0, 'not_connected', {});
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
    try {
      return reply ? (JSON.parse(reply) as unknown) : {};
    } catch {
      throw new Malformed(method);
    }
  } catch (e) {
    const err = toProtocolError(e);
    console.warn(`${method} failed`, err.code, e instanceof Error ? e.message : e);
    throw err;
  }
}
