import {
  ConnectionQualityIndicator,
  LiveKitRoom,
  MediaDeviceSelect,
  MicDisabledIcon,
  MicIcon,
  ParticipantContext,
  TrackToggle,
  VideoTrack,
  isTrackReference,
  useChat,
  useConnectionState,
  useLocalParticipant,
  useRemoteParticipants,
  useRoomContext,
  useTrackToggle,
  useTracks,
  type TrackReferenceOrPlaceholder,
} from '@livekit/components-react';
import { ConnectionState, DisconnectReason, ParticipantEvent, Track, type Participant, type RemoteParticipant } from 'livekit-client';
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import type { Topic } from '../api';
import { DebatePanel, useDebate } from '../components/Debate';
import { formatTitle, isDebate } from '../formats';
import { failureText } from '../media';
import { FloorAudio } from '../components/FloorAudio';
import { DEBATE_IDENTITY, OUTCOME_TEXT, type RoomPass, type Side } from '../protocol';
import { useSession } from '../session';
import type { TalkResult } from './Summary';

export interface TalkInfo {
  /** The lobby's match id (the discussion's id for a moderator), to find the talk in history. */
  matchId: string | null;
  /** The room, its address and this person's token for it. */
  pass: RoomPass;
  partnerName: string;
  topic: Topic;
  format: string;
  side: Side | null;
  /** A moderator's seat: not a debater, sees both debaters and the moderator controls. */
  moderator?: boolean;
}

type Finish = (how: Omit<TalkResult, 'info' | 'startedAt' | 'endedAt' | 'partnerId'> & { partnerId?: string }) => void;

export function Talk({ info, onEnded }: { info: TalkInfo; onEnded: (r: TalkResult) => void }) {
  const [mediaError, setMediaError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const done = useRef(false);
  const startedAt = useRef(Date.now());
  const partnerId = useRef('');
  const onEndedRef = useRef(onEnded);
  onEndedRef.current = onEnded;

  const finish: Finish = useCallback(
    (how) => {
      if (done.current) return;
      done.current = true;
      onEndedRef.current({
        ...how,
        info,
        partnerId: how.partnerId || partnerId.current,
        startedAt: startedAt.current,
        endedAt: Date.now(),
      });
    },
    [info],
  );

  return (
    <LiveKitRoom
      serverUrl={info.pass.url}
      token={info.pass.token}
      connect
      audio
      video
      data-lk-theme="default"
      className="talk"
      options={{ adaptiveStream: true, dynacast: true }}
      onConnected={() => {
        startedAt.current = Date.now();
      }}
      onDisconnected={(reason?: DisconnectReason) => {
        const text =
          reason === DisconnectReason.CLIENT_INITIATED
            ? 'You left the talk.'
            : reason === DisconnectReason.ROOM_DELETED
              ? 'The room was closed.'
              : reason === DisconnectReason.DUPLICATE_IDENTITY
                ? 'You joined this room from another tab, so this one left.'
                : 'The connection to the room was lost.';
        finish({ outcome: null, reason: text, partnerName: info.partnerName });
      }}
      onError={(e: Error) => setError(roomErrorText(e))}
      onMediaDeviceFailure={(f) => setMediaError(failureText(f))}
    >
      <TalkView info={info} error={error} mediaError={mediaError} partnerIdRef={partnerId} finish={finish} />
    </LiveKitRoom>
  );
}

function roomErrorText(e: Error): string {
  const m = e.message.toLowerCase();
  if (m.includes('token') || m.includes('401') || m.includes('not allowed')) {
    return 'This room could not be opened: your pass for it has expired. Go back to the lobby and find a new match.';
  }
  return 'The room could not be reached. Check your connection; DISCO keeps trying.';
}

function TalkView(props: {
  info: TalkInfo;
  error: string | null;
  mediaError: string | null;
  partnerIdRef: React.MutableRefObject<string>;
  finish: Finish;
}) {
  const { info, finish } = props;
  const room = useRoomContext();
  const { session } = useSession();
  const state = useConnectionState();
  const remotes = useRemoteParticipants();
  // Our identity in this room, as the room token names it.
  const me = room.localParticipant.identity || session.user.id;
  const debate = useDebate(room, me);
  const humans = remotes.filter((p) => !p.isAgent && p.identity !== DEBATE_IDENTITY);
  const partner = pickPartner(humans, debate.state?.sides, me);
  const [partnerGone, setPartnerGone] = useState(false);
  const seenPartner = useRef(false);
  const partnerName = partner?.name || info.partnerName;
  const debating = debate.state ? debate.state.kind === 'debate' : isDebate(info.format);

  if (partner) {
    props.partnerIdRef.current = partner.identity;
    seenPartner.current = true;
  }

  // The partner leaving ends a casual talk; in a debate the moderator holds the seat and
  // decides (its `ended` event ends the talk).
  useEffect(() => {
    if (info.moderator) return;
    if (!seenPartner.current || partner) {
      setPartnerGone(false);
      return;
    }
    setPartnerGone(true);
    if (!debating) {
      finish({ outcome: null, reason: `${info.partnerName} left. The talk has ended.`, partnerName: info.partnerName });
      void room.disconnect();
    }
  }, [partner, debating, finish, info.partnerName, info.moderator, room]);

  // The end is what the moderator's state says, never what a packet claims.
  const ended = debate.state?.status === 'ended' ? debate.state.outcome ?? '' : null;
  useEffect(() => {
    if (ended !== null) {
      const text = OUTCOME_TEXT[ended] ?? 'The talk has ended.';
      finish({ outcome: ended || null, reason: text, partnerName });
      void room.disconnect();
    }
  }, [ended, finish, partnerName, room]);

  const tracks = useTracks([{ source: Track.Source.Camera, withPlaceholder: true }], { onlySubscribed: false });
  const local = tracks.find((t) => t.participant.isLocal);
  const remoteTrack = partner ? tracks.find((t) => t.participant.identity === partner.identity) : undefined;
  const names: Record<string, string> = {};
  for (const h of humans) names[h.identity] = h.name || 'A debater';
  const second = info.moderator ? humans.find((h) => h.identity !== partner?.identity) : undefined;

  return (
    <div className="talk-layout">
      <header className="talk-head">
        <div>
          <h1 className="talk-title">
            {info.topic.title} <span className="pill">{formatTitle(debate.state?.format || info.format)}</span>
          </h1>
          <p className="muted small">
            with <strong data-testid="partner-name">{info.moderator ? info.partnerName : partnerName}</strong>
          </p>
        </div>
        <ConnectionBadge state={state} />
      </header>
      {state === ConnectionState.Reconnecting && (
        <p className="notice banner" role="status" data-testid="reconnecting">
          Connection lost. Reconnecting…
        </p>
      )}
      {props.error && <p className="error banner" role="alert">{props.error}</p>}
      {props.mediaError && (
        <p className="error banner" role="alert" data-testid="media-error">
          {props.mediaError}
        </p>
      )}
      {partnerGone && debating && (
        <p className="notice banner" role="status">
          {info.partnerName} left. The moderator holds their seat for a minute.
        </p>
      )}
      <div className="talk-body">
        <section className="stage" aria-label="Video">
          <Tile trackRef={remoteTrack} participant={partner} label={partner?.name || partnerName} testid="remote" waiting={!partner} />
          {second && (
            <Tile
              trackRef={tracks.find((t) => t.participant.identity === second.identity)}
              participant={second}
              label={second.name || 'A debater'}
              testid="remote2"
            />
          )}
          <Tile trackRef={local} participant={room.localParticipant} label="You" testid="local" small />
        </section>
        <div className="talk-side">
          {debating && debate.state && (
            <DebatePanel
              room={room}
              state={debate.state}
              me={me}
              partnerName={partnerName}
              names={names}
              motion={debate.state.motion || info.topic.motion}
              warnings={debate.warnings}
              isModerator={info.moderator === true}
              participants={humans}
            />
          )}
          {debating && !debate.state && (
            <section className="panel" aria-label="Debate">
              <p className="motion"><span className="label">Motion</span> {info.topic.motion}</p>
              <p className="muted" role="status">Waiting for the moderator…</p>
            </section>
          )}
          {!debating && (
            <CasualPanel room={room} debate={debate} motion={info.topic.motion} description={info.topic.description} />
          )}
          <Chat />
        </div>
      </div>
      <Controls micAllowed={debate.micAllowed} micReason={debate.micReason} onLeave={() => void room.disconnect()} />
      <FloorAudio state={debate.state} />
    </div>
  );
}

function pickPartner(
  humans: RemoteParticipant[],
  sides: Record<string, Side | null> | undefined,
  me: string,
): RemoteParticipant | undefined {
  if (sides) {
    const other = Object.keys(sides).find((id) => id !== me);
    const p = humans.find((h) => h.identity === other);
    if (p) return p;
  }
  return humans[0];
}

function ConnectionBadge({ state }: { state: ConnectionState }) {
  const text: Record<string, string> = {
    [ConnectionState.Connecting]: 'Connecting…',
    [ConnectionState.Connected]: 'Connected',
    [ConnectionState.Reconnecting]: 'Reconnecting…',
    [ConnectionState.SignalReconnecting]: 'Reconnecting…',
    [ConnectionState.Disconnected]: 'Disconnected',
  };
  return (
    <span className={`badge badge-${state}`} role="status" data-testid="connection-state">
      {text[state] ?? state}
    </span>
  );
}

function Tile(props: {
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

/** Off when there is no microphone publication at all (the moderator took the floor away), not
 * only when it is muted. */
function useMicOff(participant: Participant): boolean {
  const read = () => {
    const pub = participant.getTrackPublication(Track.Source.Microphone);
    return !pub || pub.isMuted;
  };
  const [off, setOff] = useState(read);
  useEffect(() => {
    const update = () => setOff(read());
    update();
    for (const e of MIC_EVENTS) participant.on(e, update);
    return () => {
      for (const e of MIC_EVENTS) participant.off(e, update);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [participant]);
  return off;
}

function MicState({ participant }: { participant: Participant }) {
  const muted = useMicOff(participant);
  return muted ? (
    <span className="mic-off" title="Microphone off" aria-label="Microphone off">
      🔇
    </span>
  ) : null;
}

function Controls(props: { micAllowed: boolean; micReason: string; onLeave: () => void }) {
  const [devicesOpen, setDevicesOpen] = useState(false);
  const { isCameraEnabled } = useLocalParticipant();
  return (
    <div className="controls-wrap">
      <div className="controls" role="toolbar" aria-label="Call controls">
        <MicButton allowed={props.micAllowed} reason={props.micReason} />
        <TrackToggle
          source={Track.Source.Camera}
          className="btn ctl"
          aria-label={isCameraEnabled ? 'Turn camera off' : 'Turn camera on'}
          data-testid="camera-toggle"
        >
          {isCameraEnabled ? 'Camera off' : 'Camera on'}
        </TrackToggle>
        <button type="button" className="btn ctl" aria-expanded={devicesOpen} aria-controls="devices" onClick={() => setDevicesOpen((o) => !o)}>
          Devices
        </button>
        <button type="button" className="btn btn-danger ctl" onClick={props.onLeave} data-testid="leave">
          Leave
        </button>
      </div>
      {!props.micAllowed && (
        <p className="small muted mic-reason" id="mic-reason" data-testid="mic-reason">
          {props.micReason}
        </p>
      )}
      {devicesOpen && (
        <div id="devices" className="devices panel">
          <div>
            <h3 id="mic-devices">Microphone</h3>
            <MediaDeviceSelect kind="audioinput" aria-labelledby="mic-devices" />
          </div>
          <div>
            <h3 id="cam-devices">Camera</h3>
            <MediaDeviceSelect kind="videoinput" aria-labelledby="cam-devices" />
          </div>
          <div>
            <h3 id="out-devices">Speaker</h3>
            <MediaDeviceSelect kind="audiooutput" aria-labelledby="out-devices" />
          </div>
        </div>
      )}
    </div>
  );
}

/** The microphone toggle; unlike TrackToggle it can be disabled while it is not your turn. */
function MicButton({ allowed, reason }: { allowed: boolean; reason: string }) {
  const { toggle, enabled, pending } = useTrackToggle({ source: Track.Source.Microphone });
  return (
    <button
      type="button"
      className="btn ctl"
      data-lk-enabled={enabled}
      aria-pressed={enabled}
      disabled={!allowed || pending}
      aria-label={enabled ? 'Mute microphone' : 'Unmute microphone'}
      aria-describedby={allowed ? undefined : 'mic-reason'}
      title={allowed ? undefined : reason}
      onClick={() => void toggle()}
      data-testid="mic-toggle"
    >
      {enabled ? <MicIcon aria-hidden="true" /> : <MicDisabledIcon aria-hidden="true" />}
      {enabled ? 'Mute' : 'Unmute'}
    </button>
  );
}

function Chat() {
  const { chatMessages, send, isSending } = useChat();
  const [text, setText] = useState('');
  const [err, setErr] = useState<string | null>(null);
  const list = useRef<HTMLOListElement>(null);
  useEffect(() => {
    list.current?.lastElementChild?.scrollIntoView({ block: 'nearest' });
  }, [chatMessages.length]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const msg = text.trim();
    if (!msg) return;
    try {
      await send(msg);
      setText('');
      setErr(null);
    } catch {
      setErr('Your message could not be sent. Please try again.');
    }
  }

  return (
    <section className="panel chat" aria-labelledby="chat-title">
      <h2 id="chat-title">Chat</h2>
      <ol className="chat-list" ref={list} aria-live="polite" data-testid="chat">
        {chatMessages.length === 0 && <li className="muted small">Say hello in text, too.</li>}
        {chatMessages.map((m) => (
          <li key={m.id} className={m.from?.isLocal ? 'mine' : ''}>
            <span className="who">{m.from?.isLocal ? 'You' : m.from?.name || 'Partner'}</span> {m.message}
          </li>
        ))}
      </ol>
      <form onSubmit={submit} className="chat-form">
        <label className="sr-only" htmlFor="chat-input">Message</label>
        <input id="chat-input" value={text} maxLength={500} onChange={(e) => setText(e.target.value)} placeholder="Write a message" autoComplete="off" />
        <button className="btn" type="submit" disabled={isSending || !text.trim()}>
          Send
        </button>
      </form>
      {err && <p className="error small" role="alert">{err}</p>}
    </section>
  );
}

function CasualPanel(props: {
  room: ReturnType<typeof useRoomContext>;
  debate: ReturnType<typeof useDebate>;
  motion: string;
  description: string;
}) {
  const { debate } = props;
  return (
    <section className="panel" aria-label="About this talk">
      {props.description && <p>{props.description}</p>}
      {debate.softLimitText && <p className="small muted" data-testid="soft-limit">{debate.softLimitText}</p>}
      {debate.warnings.map((w) => (
        <p key={w.id} className="notice small" role="status">{w.text}</p>
      ))}
      {debate.proposal ? (
        debate.proposal.mine ? (
          <p className="small" role="status">You suggested a quick debate. Waiting for an answer…</p>
        ) : (
          <div className="propose" role="group" aria-label="Debate suggestion">
            <p>Your partner suggests turning this into a quick debate on: <em>{props.motion}</em></p>
            <div className="row">
              <button type="button" className="btn btn-primary btn-small" onClick={() => void debate.respond(true)}>Agree</button>
              <button type="button" className="btn btn-small" onClick={() => void debate.respond(false)}>No thanks</button>
            </div>
          </div>
        )
      ) : (
        debate.agentPresent && (
          <button type="button" className="btn btn-small" onClick={() => void debate.propose()}>
            Suggest a quick debate
          </button>
        )
      )}
      {debate.note && <p className="small muted" role="status">{debate.note}</p>}
      {debate.error && <p className="error small" role="alert">{debate.error}</p>}
    </section>
  );
}
