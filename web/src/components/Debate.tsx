// The debate's panel: motion, side, clock, floor, the debaters' buttons and a moderator's
// controls, all drawn from the moderator's state (hooks/useDebate.ts).
import type { RemoteParticipant, Room } from 'livekit-client';
import { useState } from 'react';
import { errorText } from '../api';
import { debate as rpc } from '../commands';
import { timeLeft, type DebateState } from '../debateProtocol';
import type { Warning } from '../hooks/useDebate';
import type { Side } from '../lobbyProtocol';
import { clock, useNow } from '../time';

export function DebatePanel(props: {
  room: Room;
  state: DebateState;
  me: string;
  partnerName: string;
  names: Record<string, string>;
  motion: string;
  warnings: Warning[];
  isModerator: boolean;
  participants: RemoteParticipant[];
  /** While the moderator is away: when it left. Its clock stands still there. */
  frozenAt: number | null;
}) {
  const { state, me, room } = props;
  const tick = useNow(250);
  const now = props.frozenAt ?? tick;
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const mySide: Side | null = state.sides[me] ?? null;
  const started = state.status !== 'waiting';
  const iAmReady = state.ready.includes(me);
  const left = timeLeft(state, now);
  const inGrace = left !== null && left <= 0 && state.graceUntil !== null && state.graceUntil > now;
  const running = state.status === 'running';
  const mine = running && state.floor.includes(me);
  const both = state.floor.length > 1;
  const other = Object.keys(state.sides).find((id) => id !== me);
  const phaseName = state.prep ? 'Preparation' : state.phase?.name ?? '';
  let floor: string;
  if (state.status === 'waiting') floor = 'Waiting for both debaters to be ready';
  else if (state.status === 'ended') floor = 'The debate is over';
  else if (state.paused) floor = pausedText(state, me, props.partnerName, other);
  else if (state.prep) floor = state.prep === me ? 'Your preparation time' : `${props.names[state.prep] ?? props.partnerName} is preparing`;
  else if (both) floor = 'Both debaters may speak';
  else if (mine) floor = 'You have the floor';
  else if (state.floor.length) floor = `${props.names[state.floor[0]] ?? props.partnerName} has the floor`;
  else floor = 'Nobody has the floor';
  const startsIn = state.status === 'waiting' && state.startsAt ? (state.startsAt - now) / 1000 : null;

  async function act(fn: () => Promise<unknown>) {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="panel debate" aria-labelledby="debate-title" data-testid="debate">
      <h2 id="debate-title" className="sr-only">Debate</h2>
      {props.motion && (
        <p className="motion">
          <span className="label">Motion</span> {props.motion}
        </p>
      )}
      {mySide && (
        <p className="small">
          You argue <strong className={`side-${mySide}`}>{mySide === 'pro' ? 'for (pro)' : 'against (con)'}</strong>
        </p>
      )}
      <div className={`clock ${mine ? 'clock-mine' : ''} ${left !== null && left <= 30 ? 'clock-low' : ''}`}>
        <div className="phase" data-testid="phase">
          {started ? phaseName || 'Debate' : 'Not started yet'}
          {running && state.phase && !state.prep && (
            <span className="muted small"> · part {state.phase.index + 1}</span>
          )}
        </div>
        <div className="time" data-testid="countdown" aria-label="Time left in this part" role="timer">
          {left === null ? '–:––' : left > 0 ? clock(left) : inGrace ? 'Time!' : '0:00'}
        </div>
        <div className="floor" data-testid="floor">
          {floor}
        </div>
        {startsIn !== null && startsIn > 0 && (
          <div className="small muted">Starts by itself in {Math.ceil(startsIn)} s</div>
        )}
      </div>
      <div aria-live="assertive" className="warnings">
        {props.warnings.map((w) => (
          <p key={w.id} className="warning" data-testid="warning">
            {w.text}
          </p>
        ))}
      </div>
      {mySide && (
        <div className="row">
          {!started && (
            <button type="button" className="btn btn-primary" disabled={busy || iAmReady} onClick={() => void act(() => rpc.ready(room))} data-testid="ready">
              {iAmReady ? 'Ready — waiting for your partner' : 'I am ready'}
            </button>
          )}
          {started && (
            <button type="button" className="btn" disabled={busy || !mine || both || state.paused || state.status !== 'running'} onClick={() => void act(() => rpc.yield(room))} data-testid="yield">
              Yield the floor
            </button>
          )}
        </div>
      )}
      {Object.values(state.prepLeftMs).some((ms) => ms > 0) && (
        <p className="small muted">
          Prep time left: you {clock((state.prepLeftMs[me] ?? 0) / 1000)}
          {other && `, ${props.partnerName} ${clock((state.prepLeftMs[other] ?? 0) / 1000)}`}
        </p>
      )}
      {props.isModerator && <ModeratorControls room={room} paused={state.paused} participants={props.participants} onAct={act} busy={busy} />}
      {error && <p className="error small" role="alert">{error}</p>}
    </section>
  );
}

function pausedText(state: DebateState, me: string, partnerName: string, other: string | undefined): string {
  if (state.pauseReasons.includes('absent')) {
    const who = other && state.absent[other] !== undefined ? partnerName : state.absent[me] !== undefined ? 'You' : 'A debater';
    return `Paused: ${who} left; the seat is held for a moment`;
  }
  return 'Paused by the moderator';
}

function ModeratorControls(props: {
  room: Room;
  paused: boolean;
  participants: RemoteParticipant[];
  busy: boolean;
  onAct: (fn: () => Promise<unknown>) => Promise<void>;
}) {
  const { room, onAct, busy } = props;
  const [target, setTarget] = useState('');
  return (
    <fieldset className="moderator" aria-label="Moderator controls">
      <legend>Moderator</legend>
      <div className="row wrap">
        {props.paused ? (
          <button type="button" className="btn btn-small" disabled={busy} onClick={() => void onAct(() => rpc.resume(room))}>Resume</button>
        ) : (
          <button type="button" className="btn btn-small" disabled={busy} onClick={() => void onAct(() => rpc.pause(room))}>Pause</button>
        )}
        <button type="button" className="btn btn-small" disabled={busy} onClick={() => void onAct(() => rpc.extend(room, 30))}>+30 s</button>
        <button type="button" className="btn btn-small" disabled={busy} onClick={() => void onAct(() => rpc.skip(room))}>Next part</button>
        <button type="button" className="btn btn-small btn-danger" disabled={busy} onClick={() => void onAct(() => rpc.end(room))}>End debate</button>
      </div>
      <div className="row">
        <label className="grow">
          <span className="sr-only">Participant to mute</span>
          <select value={target} onChange={(e) => setTarget(e.target.value)}>
            <option value="">Mute someone…</option>
            {props.participants.map((p) => (
              <option key={p.identity} value={p.identity}>{p.name || p.identity}</option>
            ))}
          </select>
        </label>
        <button type="button" className="btn btn-small" disabled={busy || !target} onClick={() => void onAct(() => rpc.mute(room, target))}>Mute</button>
      </div>
    </fieldset>
  );
}
