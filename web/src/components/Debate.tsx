import { useLocalParticipantPermissions } from '@livekit/components-react';
import { ParticipantEvent, RoomEvent, Track, type Participant, type RemoteParticipant, type Room, type RoomEventCallbacks } from 'livekit-client';
import { useCallback, useEffect, useRef, useState } from 'react';
import { errorText } from '../api';
import {
  DEBATE_IDENTITY,
  DEBATE_TOPIC,
  debate as rpc,
  parseDebateHint,
  parseDebateState,
  type DebateState,
  type Side,
} from '../protocol';
import { Coalescer } from '../rpc';
import { clock, useNow } from '../time';

// TrackSource.MICROPHONE in LiveKit's protocol (livekit-client does not re-export the enum).
const MIC_SOURCE = 2;

export interface Warning {
  id: number;
  text: string;
}

/** Listen to one room event; the returned function stops listening. */
function listen<E extends keyof RoomEventCallbacks>(room: Room, event: E, fn: RoomEventCallbacks[E]): () => void {
  room.on(event, fn);
  return () => {
    room.off(event, fn);
  };
}

/** What the time left is, said from the state (never from a packet): null when no clock runs. */
export function warningText(state: DebateState | null, now: number): string | null {
  if (!state || state.status !== 'running' || state.paused || state.deadline === null) return null;
  const left = (state.deadline - now) / 1000;
  if (left > 0.5) return `${clock(left)} left in this part.`;
  if (state.graceUntil !== null && state.graceUntil > now) {
    return `Time is up: ${Math.ceil((state.graceUntil - now) / 1000)} s to finish your sentence.`;
  }
  return null;
}

/** The moderator's state, from its attributes and its `debate.state` replies, whichever came
 * last; its packets only ask for a reply (docs/PROTOCOL.md "Clients: what to trust"). */
function useModeratorState(room: Room, onHint: (hint: ReturnType<typeof parseDebateHint>) => void) {
  const [agent, setAgent] = useState<Participant | undefined>(() => room.remoteParticipants.get(DEBATE_IDENTITY));
  const [attrs, setAttrs] = useState<Readonly<Record<string, string>> | undefined>(agent?.attributes);
  const [replied, setReplied] = useState(0);
  const hintRef = useRef(onHint);
  hintRef.current = onHint;

  useEffect(() => {
    let live = true;
    const refresh = () => {
      const a = room.remoteParticipants.get(DEBATE_IDENTITY);
      setAgent(a);
      setAttrs(a ? { ...a.attributes } : undefined);
    };
    const pace = new Coalescer(async () => {
      const reply = await rpc.state(room);
      if (!live) return;
      setAttrs(reply);
      setReplied((n) => n + 1);
    });
    const onAttrs = (_changed: Record<string, string>, p: Participant) => {
      if (p.identity === DEBATE_IDENTITY && p === room.remoteParticipants.get(DEBATE_IDENTITY)) setAttrs({ ...p.attributes });
    };
    const onData = (payload: Uint8Array, _from?: RemoteParticipant, _k?: unknown, topic?: string) => {
      if (topic !== DEBATE_TOPIC) return;
      hintRef.current(parseDebateHint(payload));
      pace.hint();
    };
    refresh();
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
    return () => {
      live = false;
      pace.close();
      stops.forEach((stop) => stop());
    };
  }, [room]);

  return { agent, state: parseDebateState(attrs), replied };
}

/** The moderator agent's shared state, and what it means for this person. */
export function useDebate(room: Room, me: string) {
  const [warnings, setWarnings] = useState<Warning[]>([]);
  const [proposal, setProposal] = useState<{ mine: boolean } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const warnId = useRef(0);
  const warnAsked = useRef(false);
  const onHint = useCallback(
    (hint: ReturnType<typeof parseDebateHint>) => {
      if (hint.type === 'warning') warnAsked.current = true;
      else if (hint.type === 'proposal') {
        // A casual talk's suggestion: answering it is a command the moderator checks.
        setNote(null);
        setProposal({ mine: hint.from === me });
      } else if (hint.type === 'proposal_declined') {
        setProposal(null);
        setNote(hint.by === me ? null : 'Your partner would rather keep talking casually.');
      } else if (hint.type === 'phase') setProposal(null);
    },
    [me],
  );
  const { agent, state, replied } = useModeratorState(room, onHint);

  // A warning is shown once the state it was a hint for has been read, in the state's words.
  useEffect(() => {
    if (!warnAsked.current) return;
    warnAsked.current = false;
    const text = warningText(state, Date.now());
    if (!text) return;
    const id = ++warnId.current;
    setWarnings((w) => [...w.slice(-2), { id, text }]);
    setTimeout(() => setWarnings((w) => w.filter((x) => x.id !== id)), 8000);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [replied]);

  const perms = useLocalParticipantPermissions();
  const permitted = !perms || (perms.canPublish && (perms.canPublishSources.length === 0 || perms.canPublishSources.includes(MIC_SOURCE)));
  const { allowed: turnAllows, reason } = turnFor(state, me);
  const micAllowed = turnAllows && permitted;
  const micReason = !turnAllows ? reason : permitted ? '' : 'The moderator has turned your microphone off.';

  // The mic follows the turn: on when the floor is yours (unless you muted it yourself), off
  // when it is not. Revoked publish rights unpublish the track, so it is published again here.
  const wantMic = useRef(true);
  useEffect(() => {
    const lp = room.localParticipant;
    const onMuted = (pub: { source?: string }) => {
      if (pub.source === 'microphone' && micAllowedRef.current) wantMic.current = false;
    };
    const onUnmuted = (pub: { source?: string }) => {
      if (pub.source === 'microphone') wantMic.current = true;
    };
    lp.on(ParticipantEvent.TrackMuted, onMuted);
    lp.on(ParticipantEvent.TrackUnmuted, onUnmuted);
    return () => {
      lp.off(ParticipantEvent.TrackMuted, onMuted);
      lp.off(ParticipantEvent.TrackUnmuted, onUnmuted);
    };
  }, [room]);
  const micAllowedRef = useRef(micAllowed);
  micAllowedRef.current = micAllowed;
  const debating = state?.kind === 'debate';
  const hadFloor = useRef(micAllowed);
  useEffect(() => {
    const gained = micAllowed && !hadFloor.current;
    hadFloor.current = micAllowed;
    if (!debating) return;
    const lp = room.localParticipant;
    if (!micAllowed) {
      if (lp.isMicrophoneEnabled) lp.setMicrophoneEnabled(false).catch(() => undefined);
      return;
    }
    if (!gained || !wantMic.current) return;
    // PROTOCOL.md "Speaking rights": the server dropped our microphone when the floor went
    // away; the SDK may still hold that publication, so drop it and publish a fresh one.
    void (async () => {
      const stale = lp.getTrackPublication(Track.Source.Microphone);
      if (stale?.track) await lp.unpublishTrack(stale.track, true).catch(() => undefined);
      await lp.setMicrophoneEnabled(true).catch(() => undefined);
    })();
  }, [micAllowed, debating, room]);

  const act = useCallback(async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
    } catch (e) {
      setError(errorText(e));
    }
  }, []);

  const now = useNow(1000);
  let softLimitText = '';
  if (state?.kind === 'casual' && state.deadline !== null) {
    const left = (state.deadline - now) / 1000;
    softLimitText = left > 0 ? `Time left for this talk: ${clock(left)}` : 'Time is up; please wrap up.';
  }

  return {
    state,
    warnings,
    proposal,
    note,
    error,
    micAllowed,
    micReason,
    softLimitText,
    agentPresent: agent !== undefined,
    propose: () =>
      act(async () => {
        await rpc.propose(room);
        setProposal({ mine: true });
      }),
    respond: (accept: boolean) =>
      act(async () => {
        await rpc.respond(room, accept);
        setProposal(null);
      }),
  };
}

function turnFor(state: DebateState | null, me: string): { allowed: boolean; reason: string } {
  if (!state || state.kind !== 'debate' || state.status !== 'running') return { allowed: true, reason: '' };
  // Not a debater (a moderator): the floor rules are not theirs.
  if (!(me in state.sides)) return { allowed: true, reason: '' };
  if (state.floor.includes(me)) return { allowed: true, reason: '' };
  if (state.prep) return { allowed: false, reason: 'Your microphone is off during preparation time.' };
  return { allowed: false, reason: 'Your microphone is off: it is not your turn to speak.' };
}

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
}) {
  const { state, me, room } = props;
  useNow(250); // re-render four times a second; read the time now, not at the last tick
  const now = Date.now();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const mySide: Side | null = state.sides[me] ?? null;
  const started = state.status !== 'waiting';
  const iAmReady = state.ready.includes(me);
  let left: number | null = null;
  if (state.paused && state.remainingMs !== null) left = state.remainingMs / 1000;
  else if (state.deadline !== null) left = (state.deadline - now) / 1000;
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
