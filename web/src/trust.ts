// What this client believes, and why (docs/PROTOCOL.md "Clients: what to trust"). Anyone in a
// room can send data packets, and livekit-client names no sender for a participant it has not
// been told about yet, so a packet proves nothing: the state drawn and acted on comes from the
// agents' RPC replies and participant attributes, and a room is joined only when its address is
// one the API listed and its token is for that very room.
import { MODERATOR_PREFIX } from './contract';
import type { DebateState } from './debateProtocol';
import type { RoomPass } from './lobbyProtocol';

function sameUrl(a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}

/** The `video.room` claim of a LiveKit token, or null. The signature is the server's business:
 * this only makes sure the token is meant for the room the reply names. */
export function tokenRoom(token: string): string | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    const video = claims && typeof claims === 'object' ? (claims as { video?: unknown }).video : null;
    const room = video && typeof video === 'object' ? (video as { room?: unknown }).room : null;
    return typeof room === 'string' ? room : null;
  } catch {
    return null;
  }
}

/** Why a room from `lobby.status` is refused, or null when it may be joined. */
export function refusePass(pass: RoomPass, livekitUrls: readonly string[]): string | null {
  if (!livekitUrls.some((u) => sameUrl(u, pass.url))) return 'address not listed by the API';
  if (tokenRoom(pass.token) !== pass.name) return 'token is for another room';
  return null;
}

/** True when this identity's microphone may be heard now (docs/PROTOCOL.md "Speaking rights"):
 * a moderator always; a debater while the floor is theirs, and whenever no floor is kept (no
 * moderator state yet, a casual talk, before the start, paused, after the end). */
export function mayBeHeard(state: DebateState | null, identity: string): boolean {
  if (identity.startsWith(MODERATOR_PREFIX)) return true;
  if (!state || state.kind === 'casual' || state.status !== 'running' || state.paused) return true;
  return state.floor.includes(identity);
}
