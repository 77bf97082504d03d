// A talk in its discussion room: the videos, the debate or casual panel, chat and controls.
// What the room does (the clock, the floor, the end) is the moderator's state (hooks/useDebate).
import { LiveKitRoom, useConnectionState, useRemoteParticipants, useRoomContext, useTracks } from '@livekit/components-react';
import { ConnectionState, DisconnectReason, Track, type RemoteParticipant } from 'livekit-client';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Topic } from '../api';
import { CasualPanel } from '../components/CasualPanel';
import { Chat } from '../components/Chat';
import { Controls } from '../components/Controls';
import { DebatePanel } from '../components/Debate';
import { FloorAudio } from '../components/FloorAudio';
import { Tile } from '../components/Tile';
import type { ChatLine } from '../api';
import { RoomReport } from '../components/RoomReport';
import { DEBATE_IDENTITY, MODERATOR_PREFIX } from '../contract';
import { formatTitle, isDebate } from '../formats';
import { useAudience } from '../hooks/useAudience';
import { useDebate } from '../hooks/useDebate';
import type { RoomPass, Side } from '../lobbyProtocol';
import { failureText } from '../media';
import { useSession } from '../session';
import { MODERATOR_AWAY_TEXT, OUTCOME_TEXT, roomDisconnectText, roomErrorText } from '../text';
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
  // When the room connected (0: not yet).
  const startedAt = useRef(0);
  const partnerId = useRef('');
  const onEndedRef = useRef(onEnded);
  useEffect(() => {
    onEndedRef.current = onEnded;
  }, [onEnded]);

  const finish: Finish = useCallback(
    (how) => {
      if (done.current) return;
      done.current = true;
      onEndedRef.current({
        ...how,
        info,
        partnerId: how.partnerId || partnerId.current,
        startedAt: startedAt.current || Date.now(),
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
        finish({ outcome: null, reason: roomDisconnectText(reason), partnerName: info.partnerName });
      }}
      onError={(e: Error) => setError(roomErrorText(e))}
      onMediaDeviceFailure={(f) => setMediaError(failureText(f))}
    >
      <TalkView info={info} error={error} mediaError={mediaError} partnerIdRef={partnerId} finish={finish} />
    </LiveKitRoom>
  );
}

function TalkView(props: {
  info: TalkInfo;
  error: string | null;
  mediaError: string | null;
  partnerIdRef: React.RefObject<string>;
  finish: Finish;
}) {
  const { info, finish, partnerIdRef } = props;
  const room = useRoomContext();
  const { session } = useSession();
  const state = useConnectionState();
  const remotes = useRemoteParticipants();
  // Our identity in this room, as the room token names it.
  const me = room.localParticipant.identity || session.user.id;
  const debate = useDebate(room, me);
  const audience = useAudience(room);
  // A human moderator who sits in is nobody's partner (moderators see both debaters).
  const humans = remotes.filter(
    (p) => !p.isAgent && p.identity !== DEBATE_IDENTITY && (info.moderator || !p.identity.startsWith(MODERATOR_PREFIX)),
  );
  const chatLines = useRef<ChatLine[]>([]);
  const keepChat = useCallback((lines: ChatLine[]) => {
    chatLines.current = lines;
  }, []);
  const partner = pickPartner(humans, debate.state?.sides, me);
  const [partnerGone, setPartnerGone] = useState(false);
  const seenPartner = useRef(false);
  const partnerName = partner?.name || info.partnerName;
  const debating = debate.state ? debate.state.kind === 'debate' : isDebate(info.format);

  useEffect(() => {
    if (!partner) return;
    partnerIdRef.current = partner.identity;
    seenPartner.current = true;
  }, [partner, partnerIdRef]);

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
            {audience > 0 && <span data-testid="audience"> · {audience} watching</span>}
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
      {debate.awaySince !== null && (
        <p className="notice banner" role="status" data-testid="moderator-away">
          {MODERATOR_AWAY_TEXT}
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
              frozenAt={debate.awaySince}
            />
          )}
          {debating && !debate.state && (
            <section className="panel" aria-label="Debate">
              <p className="motion"><span className="label">Motion</span> {info.topic.motion}</p>
              <p className="muted" role="status">Waiting for the moderator…</p>
            </section>
          )}
          {!debating && <CasualPanel debate={debate} motion={info.topic.motion} description={info.topic.description} />}
          <Chat onLines={keepChat} />
          {!info.moderator && (
            <RoomReport token={session.token} room={info.pass.name} partnerName={partnerName} chat={() => chatLines.current} />
          )}
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

