// The moderator agent as this page sees it: its state (from its attributes and `debate.state`
// replies, whichever came last), whether it is in the room, and the hints its packets give.
// Packets only ask for a reply (docs/PROTOCOL.md "Clients: what to trust").
import { RoomEvent, type Participant, type RemoteParticipant, type Room, type RoomEventCallbacks } from 'livekit-client';
import { useEffect, useRef, useState } from 'react';
import { debate as rpc } from '../commands';
import { DEBATE_IDENTITY, DEBATE_TOPIC } from '../contract';
import { parseDebateHint, stateFromAttributes, type DebateHint, type DebateState } from '../debateProtocol';
import { Malformed } from '../json';
import { Coalescer } from '../pace';

/** Listen to one room event; the returned function stops listening. */
function listen<E extends keyof RoomEventCallbacks>(room: Room, event: E, fn: RoomEventCallbacks[E]): () => void {
  room.on(event, fn);
  return () => {
    room.off(event, fn);
  };
}

function readAttributes(p: Participant): DebateState | null {
  try {
    return stateFromAttributes(p.attributes);
  } catch (e) {
    console.warn('unexpected moderator attributes', e instanceof Malformed ? e.at : e);
    return null;
  }
}

export interface ModeratorView {
  /** The last state the moderator showed; kept while it is away, so the page stays as it was. */
  state: DebateState | null;
  present: boolean;
  /** When the moderator left (epoch ms), while it is away; the clock is drawn stopped there
   * (a new moderator resumes it with the time that was left). Null before it first came: a
   * room's moderator joins a moment after the room opens, and the panel waits for it. */
  awaySince: number | null;
}

/** `onHint` gets every hint as it comes; `onReply` every `debate.state` reply the hints asked
 * for, once it is the state shown. */
export function useModerator(
  room: Room,
  onHint: (hint: DebateHint) => void,
  onReply: (state: DebateState) => void,
): ModeratorView {
  const [present, setPresent] = useState(() => room.remoteParticipants.has(DEBATE_IDENTITY));
  const [state, setState] = useState<DebateState | null>(() => {
    const p = room.remoteParticipants.get(DEBATE_IDENTITY);
    return p ? readAttributes(p) : null;
  });
  const [awaySince, setAwaySince] = useState<number | null>(null);
  const hintRef = useRef(onHint);
  const replyRef = useRef(onReply);
  useEffect(() => {
    hintRef.current = onHint;
    replyRef.current = onReply;
  }, [onHint, onReply]);

  useEffect(() => {
    let live = true;
    let seen = false;
    const refresh = () => {
      const p = room.remoteParticipants.get(DEBATE_IDENTITY);
      setPresent(p !== undefined);
      if (p) {
        seen = true;
        setAwaySince(null);
        const s = readAttributes(p);
        if (s) setState(s);
      } else if (seen) {
        setAwaySince((t) => t ?? Date.now());
      }
    };
    const pace = new Coalescer(async () => {
      const reply = await rpc.state(room);
      if (!live) return;
      setState(reply);
      replyRef.current(reply);
    });
    const onAttrs = (_changed: Record<string, string>, p: Participant) => {
      if (p.identity !== DEBATE_IDENTITY || p !== room.remoteParticipants.get(DEBATE_IDENTITY)) return;
      const s = readAttributes(p);
      if (s) setState(s);
    };
    const onData = (payload: Uint8Array, _from?: RemoteParticipant, _k?: unknown, topic?: string) => {
      if (topic !== DEBATE_TOPIC) return;
      hintRef.current(parseDebateHint(payload));
      pace.hint();
    };
    // livekit-client announces no ParticipantConnected for whoever is in the room when we join
    // (nor attribute changes before that): a moderator already there is read on Connected.
    const stops = [
      listen(room, RoomEvent.Connected, refresh),
      listen(room, RoomEvent.Reconnected, refresh),
      listen(room, RoomEvent.ParticipantConnected, refresh),
      listen(room, RoomEvent.ParticipantDisconnected, refresh),
      listen(room, RoomEvent.ParticipantAttributesChanged, onAttrs),
      listen(room, RoomEvent.DataReceived, onData),
    ];
    refresh();
    return () => {
      live = false;
      pace.close();
      stops.forEach((stop) => stop());
    };
  }, [room]);

  return { state, present, awaySince };
}
