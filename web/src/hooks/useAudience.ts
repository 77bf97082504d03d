// How many spectators watch this room: the moderator's `audience` attribute (it reads the count
// the API keeps from LiveKit's webhooks; spectators are hidden, so nobody in the room sees them).
import { RoomEvent, type Room } from 'livekit-client';
import { useEffect, useState } from 'react';
import { AUDIENCE_ATTRIBUTE, DEBATE_IDENTITY } from '../contract';

function read(room: Room): number {
  const raw = room.remoteParticipants.get(DEBATE_IDENTITY)?.attributes[AUDIENCE_ATTRIBUTE] ?? '';
  const n = /^\d{1,6}$/.test(raw) ? Number(raw) : 0;
  return n;
}

export function useAudience(room: Room): number {
  const [count, setCount] = useState(() => read(room));
  useEffect(() => {
    const on = () => setCount(read(room));
    const events = [
      RoomEvent.Connected,
      RoomEvent.ParticipantConnected,
      RoomEvent.ParticipantDisconnected,
      RoomEvent.ParticipantAttributesChanged,
    ] as const;
    for (const e of events) room.on(e, on);
    on();
    return () => {
      for (const e of events) room.off(e, on);
    };
  }, [room]);
  return count;
}
