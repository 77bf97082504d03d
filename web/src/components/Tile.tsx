// One person's video tile: their camera (only a real video track) and name, microphone state
// and connection quality.
import { ConnectionQualityIndicator, ParticipantContext, VideoTrack, isTrackReference, type TrackReferenceOrPlaceholder } from '@livekit/components-react';
import { ParticipantEvent, Track, type Participant } from 'livekit-client';
import { useEffect, useState } from 'react';

export function Tile(props: {
  trackRef: TrackReferenceOrPlaceholder | undefined;
  participant: Participant | undefined;
  label: string;
  testid: string;
  small?: boolean;
  waiting?: boolean;
}) {
  const { trackRef, participant } = props;
  // Only a real video track goes into a <video> element: one carrying sound would be heard.
  const hasVideo =
    trackRef &&
    isTrackReference(trackRef) &&
    !trackRef.publication.isMuted &&
    trackRef.publication.track?.mediaStreamTrack.kind === 'video';
  return (
    <figure className={`tile ${props.small ? 'tile-small' : ''}`} data-testid={`${props.testid}-tile`}>
      {hasVideo && isTrackReference(trackRef) ? (
        <VideoTrack trackRef={trackRef} data-testid={`${props.testid}-video`} aria-label={`${props.label}: video`} />
      ) : (
        <div className="tile-empty" aria-label={`${props.label}: no video`}>
          {props.waiting ? <span className="muted">Waiting for your partner to join…</span> : <span className="initial">{props.label.slice(0, 1).toUpperCase()}</span>}
        </div>
      )}
      {participant && (
        <ParticipantContext.Provider value={participant}>
          <figcaption className="tile-label">
            <span>{props.label}</span>
            <MicState participant={participant} />
            <ConnectionQualityIndicator aria-label="Connection quality" />
          </figcaption>
        </ParticipantContext.Provider>
      )}
    </figure>
  );
}

const MIC_EVENTS = [
  ParticipantEvent.TrackMuted,
  ParticipantEvent.TrackUnmuted,
  ParticipantEvent.TrackPublished,
  ParticipantEvent.TrackUnpublished,
  ParticipantEvent.LocalTrackPublished,
  ParticipantEvent.LocalTrackUnpublished,
  ParticipantEvent.TrackSubscribed,
  ParticipantEvent.TrackUnsubscribed,
] as const;

function micOff(participant: Participant): boolean {
  const pub = participant.getTrackPublication(Track.Source.Microphone);
  return !pub || pub.isMuted;
}

/** Off when there is no microphone publication at all (the moderator took the floor away), not
 * only when it is muted. */
function useMicOff(participant: Participant): boolean {
  const [seen, setSeen] = useState(() => ({ participant, off: micOff(participant) }));
  useEffect(() => {
    const update = () => setSeen({ participant, off: micOff(participant) });
    for (const e of MIC_EVENTS) participant.on(e, update);
    return () => {
      for (const e of MIC_EVENTS) participant.off(e, update);
    };
  }, [participant]);
  // Another participant than the one last seen: read it now, not at its first event.
  return seen.participant === participant ? seen.off : micOff(participant);
}

function MicState({ participant }: { participant: Participant }) {
  const muted = useMicOff(participant);
  return muted ? (
    <span className="mic-off" title="Microphone off" aria-label="Microphone off">
      🔇
    </span>
  ) : null;
}

