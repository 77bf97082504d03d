// DISCO's commands as typed calls: the RPC (rpc.ts) and the strict reading of its reply
// (lobbyProtocol.ts, debateProtocol.ts). A reply of another shape fails like any other error.
import type { Room } from 'livekit-client';
import { DEBATE_IDENTITY, DEBATE_METHODS as D, LOBBY_METHODS as L } from './contract';
import { parseDebateState, type DebateState } from './debateProtocol';
import {
  parseJoinReply,
  parseLeaveReply,
  parseLobbyStatus,
  parseRespondReply,
  type LobbyStatus,
  type RespondStatus,
  type SideChoice,
  type Ticket,
} from './lobbyProtocol';
import { call, toProtocolError } from './rpc';

/** The call's reply read by `parse`; a reply `parse` refuses is a ProtocolError. */
async function ask<T>(room: Room, identity: string, method: string, payload: object, parse: (v: unknown) => T): Promise<T> {
  const reply = await call(room, identity, method, payload);
  try {
    return parse(reply);
  } catch (e) {
    throw toProtocolError(e);
  }
}

/** Commands to `agent`, the lobby agent of the shard whose room `room` is (the lobby token
 * route names it: PROTOCOL.md "Lobby"). */
export const lobby = {
  join: (room: Room, agent: string, topic: string, format: string, side: SideChoice | null): Promise<Ticket> =>
    ask(room, agent, L.join, { topic, format, ...(side ? { side } : {}) }, parseJoinReply),
  leave: (room: Room, agent: string): Promise<void> => ask(room, agent, L.leave, {}, parseLeaveReply),
  respond: (room: Room, agent: string, match_id: string, accept: boolean): Promise<RespondStatus> =>
    ask(room, agent, L.respond, { match_id, accept }, (v) => parseRespondReply(v, match_id)),
  status: (room: Room, agent: string): Promise<LobbyStatus> =>
    ask(room, agent, L.status, {}, (v) => parseLobbyStatus(v, Date.now())),
};

/** Every debate command replies with the whole state (docs/PROTOCOL.md "Commands"). */
const command = (room: Room, method: string, payload: object = {}): Promise<DebateState> =>
  ask(room, DEBATE_IDENTITY, method, payload, parseDebateState);

export const debate = {
  state: (room: Room) => command(room, D.state),
  ready: (room: Room) => command(room, D.ready),
  yield: (room: Room) => command(room, D.yield),
  propose: (room: Room) => command(room, D.propose),
  respond: (room: Room, accept: boolean) => command(room, D.respond, { accept }),
  pause: (room: Room) => command(room, D.pause),
  resume: (room: Room) => command(room, D.resume),
  extend: (room: Room, seconds: number) => command(room, D.extend, { seconds }),
  skip: (room: Room) => command(room, D.skip),
  end: (room: Room) => command(room, D.end),
  mute: (room: Room, identity: string) => command(room, D.mute, { identity }),
};
