import { AudioTrack, useTracks, type TrackReference } from '@livekit/components-react';
import { Track } from 'livekit-client';
import type { DebateState } from '../debateProtocol';
import { mayBeHeard } from '../trust';

/** True for a real microphone: declared as one, and carrying sound. LiveKit checks a track's
 * publish rights against the source its sender declares, not against what the track is, so
 * audio declared as a camera (or anything else) would slip past the floor: it is never played. */
function isMicrophone(ref: TrackReference): boolean {
  const pub = ref.publication;
  return (
    pub.source === Track.Source.Microphone &&
    pub.kind === Track.Kind.Audio &&
    pub.track?.kind === Track.Kind.Audio &&
    pub.track.mediaStreamTrack.kind === 'audio'
  );
}

/** Plays what the room may hear: the microphones of whoever holds the floor (docs/PROTOCOL.md
 * "Speaking rights"), and nothing else, whatever the sender publishes. */
export function FloorAudio({ state }: { state: DebateState | null }) {
  const tracks = useTracks([Track.Source.Microphone], { onlySubscribed: true, updateOnlyOn: [] });
  const heard = tracks.filter(
    (t) => !t.participant.isLocal && isMicrophone(t) && mayBeHeard(state, t.participant.identity),
  );
  return (
    <div style={{ display: 'none' }} data-testid="floor-audio">
      {heard.map((t) => (
        <AudioTrack key={`${t.participant.identity}/${t.publication.trackSid}`} trackRef={t} />
      ))}
    </div>
  );
}
