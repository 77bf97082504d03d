// A spectator's seat in a public debate: hidden and subscribe-only, so it draws everything
// from the moderator's attributes (it can call no agent): both debaters' videos, the motion,
// the phase and the clock, the audience, and the vote.
import { LiveKitRoom, useConnectionState, useRemoteParticipants, useRoomContext, useTracks } from '@livekit/components-react';
import { ConnectionState, DisconnectReason, Track } from 'livekit-client';
import { useState } from 'react';
import type { WatchPass } from '../api';
import { DEBATE_IDENTITY } from '../contract';
import { formatTitle } from '../formats';
import { useAudience } from '../hooks/useAudience';
import { useModerator } from '../hooks/useModerator';
import { OUTCOME_TEXT, roomErrorText, WATCH_REMOVED_TEXT, WATCH_REMOVED_TITLE } from '../text';
import { DebatePanel } from './Debate';
import { FloorAudio } from './FloorAudio';
import { Tile } from './Tile';
import { Votes } from './Votes';

const ignore = () => {};

export function Spectator({ pass, onClose }: { pass: WatchPass; onClose: () => void }) {
  const [error, setError] = useState<string | null>(null);
  // How the watching ended: the room closed or the connection ended, or DISCO removed this
  // spectator (a debater withdrew consent or blocked them; docs/PROTOCOL.md "Audience").
  const [over, setOver] = useState<'over' | 'removed' | null>(null);
  return (
    <div className="talk" data-testid="spectator">
      {over === null ? (
        <LiveKitRoom
          serverUrl={pass.url}
          token={pass.token}
          connect
          audio={false}
          video={false}
          data-lk-theme="default"
          options={{ adaptiveStream: true, dynacast: false }}
          onDisconnected={(reason?: DisconnectReason) =>
            setOver(reason === DisconnectReason.PARTICIPANT_REMOVED ? 'removed' : 'over')
          }
          onError={(e: Error) => setError(roomErrorText(e))}
        >
          <WatchView pass={pass} error={error} onClose={onClose} />
        </LiveKitRoom>
      ) : over === 'removed' ? (
        <section className="card" aria-labelledby="watch-over-title">
          <h1 id="watch-over-title">{WATCH_REMOVED_TITLE}</h1>
          <p className="muted">{pass.topic_title}</p>
          <p role="status">{WATCH_REMOVED_TEXT}</p>
          <button type="button" className="btn btn-primary" onClick={onClose}>
            Back to the list
          </button>
        </section>
      ) : (
        <section className="card" aria-labelledby="watch-over-title">
          <h1 id="watch-over-title">The debate is over</h1>
          <p className="muted">{pass.topic_title}</p>
          <Votes discussionId={pass.discussion_id} canVote />
          <button type="button" className="btn btn-primary" onClick={onClose}>
            Back to the list
          </button>
        </section>
      )}
    </div>
  );
}

function WatchView({ pass, error, onClose }: { pass: WatchPass; error: string | null; onClose: () => void }) {
  const room = useRoomContext();
  const state = useConnectionState();
  const moderator = useModerator(room, ignore, ignore);
  const audience = useAudience(room);
  const remotes = useRemoteParticipants();
  const debaters = remotes.filter((p) => !p.isAgent && p.identity !== DEBATE_IDENTITY);
  const tracks = useTracks([{ source: Track.Source.Camera, withPlaceholder: true }], { onlySubscribed: false });
  const sides = moderator.state?.sides ?? {};
  const bySide = (side: 'pro' | 'con') => debaters.find((p) => sides[p.identity] === side);
  const names: Record<string, string> = {};
  for (const d of debaters) names[d.identity] = d.name || 'A debater';
  const ended = moderator.state?.status === 'ended';

  return (
    <div className="talk-layout">
      <header className="talk-head">
        <div>
          <h1 className="talk-title">
            {pass.topic_title} <span className="pill">{formatTitle(moderator.state?.format || pass.format)}</span>
          </h1>
          <p className="muted small">
            You are watching · <span data-testid="audience">{audience} watching</span>
          </p>
        </div>
        <span className="badge" role="status" data-testid="connection-state">
          {state === ConnectionState.Connected ? 'Watching' : 'Connecting…'}
        </span>
      </header>
      {error && <p className="error banner" role="alert">{error}</p>}
      {ended && (
        <p className="notice banner" role="status" data-testid="watch-ended">
          {OUTCOME_TEXT[moderator.state?.outcome ?? ''] ?? 'The debate is over.'}
        </p>
      )}
      <div className="talk-body">
        <section className="stage stage-pair" aria-label="Video">
          {(['pro', 'con'] as const).map((side) => {
            const p = bySide(side);
            return (
              <Tile
                key={side}
                trackRef={p ? tracks.find((t) => t.participant.identity === p.identity) : undefined}
                participant={p}
                label={`${p?.name || 'A debater'} (${side})`}
                testid={`watch-${side}`}
              />
            );
          })}
        </section>
        <div className="talk-side">
          {moderator.state ? (
            <DebatePanel
              room={room}
              state={moderator.state}
              me={room.localParticipant.identity}
              partnerName="A debater"
              names={names}
              motion={moderator.state.motion || pass.motion}
              warnings={[]}
              isModerator={false}
              participants={debaters}
              frozenAt={moderator.awaySince}
            />
          ) : (
            <section className="panel" aria-label="Debate">
              <p className="motion"><span className="label">Motion</span> {pass.motion}</p>
              <p className="muted" role="status">Waiting for the moderator…</p>
            </section>
          )}
          <Votes discussionId={pass.discussion_id} canVote />
        </div>
      </div>
      <div className="row">
        <button type="button" className="btn" onClick={() => { void room.disconnect(); onClose(); }}>
          Stop watching
        </button>
      </div>
      <FloorAudio state={moderator.state} />
    </div>
  );
}
