// What the moderator's state means for this person: the warnings to show, a casual talk's
// suggestion to turn it into a debate, and whether their microphone may be on.
import { useLocalParticipantPermissions } from '@livekit/components-react';
import { ParticipantEvent, Track, type Room } from 'livekit-client';
import { useCallback, useEffect, useRef, useState } from 'react';
import { errorText } from '../api';
import { debate as rpc } from '../commands';
import { timeLeft, type DebateHint, type DebateState } from '../debateProtocol';
import { clock, useNow } from '../time';
import { useModerator } from './useModerator';

// TrackSource.MICROPHONE in LiveKit's protocol (livekit-client does not re-export the enum).
const MIC_SOURCE = 2;

export interface Warning {
  id: number;
  text: string;
}

/** What the time left is, said from the state (never from a packet): null when no clock runs. */
export function warningText(state: DebateState | null, now: number): string | null {
  if (!state || state.status !== 'running' || state.paused || state.deadline === null) return null;
  const left = timeLeft(state, now) ?? 0;
  if (left > 0.5) return `${clock(left)} left in this part.`;
  if (state.graceUntil !== null && state.graceUntil > now) {
    return `Time is up: ${Math.ceil((state.graceUntil - now) / 1000)} s to finish your sentence.`;
  }
  return null;
}

/** Whether this person's microphone may be on now, and if not, why. */
export function turnFor(state: DebateState | null, me: string): { allowed: boolean; reason: string } {
  if (!state || state.kind !== 'debate' || state.status !== 'running') return { allowed: true, reason: '' };
  // Not a debater (a moderator): the floor rules are not theirs.
  if (!(me in state.sides)) return { allowed: true, reason: '' };
  if (state.floor.includes(me)) return { allowed: true, reason: '' };
  if (state.prep) return { allowed: false, reason: 'Your microphone is off during preparation time.' };
  return { allowed: false, reason: 'Your microphone is off: it is not your turn to speak.' };
}

/** The mic follows the turn: on when the floor is yours (unless you muted it yourself), off
 * when it is not. Revoked publish rights unpublish the track, so it is published again here. */
function useMicFollowsTurn(room: Room, micAllowed: boolean, debating: boolean): void {
  const wantMic = useRef(true);
  const micAllowedRef = useRef(micAllowed);
  const hadFloor = useRef(micAllowed);
  useEffect(() => {
    micAllowedRef.current = micAllowed;
  }, [micAllowed]);
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
}

/** The moderator agent's shared state, and what it means for this person. */
export function useDebate(room: Room, me: string) {
  const [proposal, setProposal] = useState<{ mine: boolean } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [warnings, setWarnings] = useState<Warning[]>([]);
  const warnId = useRef(0);
  const warnAsked = useRef(false);
  const onHint = useCallback(
    (hint: DebateHint) => {
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
  // A warning is shown once the state it was a hint for has been read, in the state's words.
  const onReply = useCallback((reply: DebateState) => {
    if (!warnAsked.current) return;
    warnAsked.current = false;
    const text = warningText(reply, Date.now());
    if (!text) return;
    const id = ++warnId.current;
    setWarnings((w) => [...w.slice(-2), { id, text }]);
    setTimeout(() => setWarnings((w) => w.filter((x) => x.id !== id)), 8000);
  }, []);
  const { state, present, awaySince } = useModerator(room, onHint, onReply);

  const perms = useLocalParticipantPermissions();
  const permitted = !perms || (perms.canPublish && (perms.canPublishSources.length === 0 || perms.canPublishSources.includes(MIC_SOURCE)));
  const { allowed: turnAllows, reason } = turnFor(state, me);
  const micAllowed = turnAllows && permitted;
  const micReason = !turnAllows ? reason : permitted ? '' : 'The moderator has turned your microphone off.';
  useMicFollowsTurn(room, micAllowed, state?.kind === 'debate');

  const act = useCallback(async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
    } catch (e) {
      setError(errorText(e));
    }
  }, []);

  // While the moderator is away its clock stands still: time is read as when it left.
  const now = useNow(1000);
  const clockNow = awaySince ?? now;
  let softLimitText = '';
  if (state?.kind === 'casual' && state.deadline !== null) {
    const left = (state.deadline - clockNow) / 1000;
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
    // The moderator refuses a suggestion until both people are seated (PROTOCOL.md).
    canPropose: present && state?.kind === 'casual' && state.status === 'running',
    awaySince,
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

export type DebateApi = ReturnType<typeof useDebate>;
