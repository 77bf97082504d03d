// The lobby connection as a React hook: one LiveKit room with no media, commands to the lobby
// agent and its events turned into the stage a person sees.
import { ConnectionState, DisconnectReason, Room, RoomEvent, type RemoteParticipant } from 'livekit-client';
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, ApiError, errorText } from './api';
import {
  agentReady,
  CANCEL_TEXT,
  KNOWN_FORMATS,
  LOBBY_IDENTITY,
  LOBBY_TOPIC,
  lobby,
  parseLobbyEvent,
  ProtocolError,
  SeqTracker,
  type FormatInfo,
  type LobbyEvent,
  type Proposal,
  type ReadyInfo,
  type SideChoice,
  type Ticket,
} from './protocol';

export type Stage =
  | { kind: 'connecting' }
  | { kind: 'offline'; message: string }
  | { kind: 'choose' }
  | { kind: 'waiting'; ticket: Ticket; since: number; receivedAt: number }
  | { kind: 'proposed'; proposal: Proposal; answered: boolean | null }
  | { kind: 'ready'; ready: ReadyInfo; proposal: Proposal | null };

export interface LobbyApi {
  stage: Stage;
  notice: string | null;
  error: string | null;
  busy: boolean;
  reconnecting: boolean;
  formats: FormatInfo[];
  /** The lobby agent is in the lobby room (the matchmaker answers). */
  agentPresent: boolean;
  join: (topic: string, format: string, side: SideChoice | null) => Promise<void>;
  leave: () => Promise<void>;
  respond: (accept: boolean) => Promise<void>;
  clearNotice: () => void;
  reconnect: () => void;
}

export function useLobby(token: string, enabled: boolean, onAuthLost: () => void): LobbyApi {
  const [stage, setStage] = useState<Stage>({ kind: 'connecting' });
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [reconnecting, setReconnecting] = useState(false);
  const [formats, setFormats] = useState<FormatInfo[]>(KNOWN_FORMATS);
  const [agentPresent, setAgentPresent] = useState(false);
  const [attempt, setAttempt] = useState(0);
  const roomRef = useRef<Room | null>(null);
  const stageRef = useRef<Stage>(stage);
  stageRef.current = stage;
  const proposalRef = useRef<Proposal | null>(null);
  const ticketRef = useRef<Ticket | null>(null);
  if (stage.kind === 'waiting') ticketRef.current = stage.ticket;

  const applyStatus = useCallback(async (room: Room) => {
    const st = await lobby.status(room);
    if (st.formats) setFormats(st.formats);
    if (st.proposal) {
      proposalRef.current = st.proposal;
      setStage({ kind: 'proposed', proposal: st.proposal, answered: st.proposal.accepted ? true : null });
    } else if (st.ticket) {
      const now = Date.now();
      setStage((s) => ({
        kind: 'waiting',
        ticket: st.ticket as Ticket,
        since: s.kind === 'waiting' ? s.since : now,
        receivedAt: now,
      }));
    } else if (stageRef.current.kind !== 'ready') {
      setStage({ kind: 'choose' });
    }
  }, []);

  const onEvent = useCallback(
    (ev: LobbyEvent, room: Room) => {
      const now = Date.now();
      switch (ev.type) {
        case 'queued':
          setStage((s) => ({
            kind: 'waiting',
            ticket: ev,
            since: s.kind === 'waiting' ? s.since : now,
            receivedAt: now,
          }));
          return;
        case 'proposed':
          proposalRef.current = ev;
          setNotice(null);
          // After an agent restart the same match is proposed again; `accepted` keeps our answer.
          setStage({ kind: 'proposed', proposal: ev, answered: ev.accepted ? true : null });
          return;
        case 'cancelled': {
          const s = stageRef.current;
          const base = CANCEL_TEXT[ev.reason] ?? 'The match was called off.';
          if (s.kind === 'proposed' && s.answered === false) {
            setNotice('You declined the match and left the queue.');
          } else if (ev.requeued) {
            setNotice(`${base} You are back at the front of the queue.`);
          } else if (ev.reason === 'expired') {
            setNotice(`${base} You did not answer in time, so you left the queue.`);
          } else {
            setNotice(`${base} You are no longer in the queue.`);
          }
          const last = ticketRef.current;
          setStage(
            ev.requeued && last
              ? { kind: 'waiting', ticket: { ...last, position: 0 }, since: now, receivedAt: now }
              : { kind: 'choose' },
          );
          // The lobby knows where we belong now: back in the queue or out of it.
          applyStatus(room).catch(() => undefined);
          return;
        }
        case 'ready':
          setStage({ kind: 'ready', ready: ev, proposal: proposalRef.current });
          return;
        default:
          return;
      }
    },
    [applyStatus],
  );

  useEffect(() => {
    if (!enabled) return undefined;
    let cancelled = false;
    const room = new Room({ adaptiveStream: false, dynacast: false });
    roomRef.current = room;
    const seq = new SeqTracker();
    setStage({ kind: 'connecting' });
    setError(null);

    room.on(RoomEvent.DataReceived, (payload, from?: RemoteParticipant, _k?, topic?: string) => {
      // Lobby events come from the server itself (PROTOCOL.md): a packet with a sending
      // participant on this topic is someone else's forgery.
      if (topic !== LOBBY_TOPIC || from) return;
      const ev = parseLobbyEvent(payload);
      if (!ev) return;
      if (seq.gap(ev.seq)) applyStatus(room).catch(() => undefined);
      onEvent(ev, room);
    });
    let wasReady = false;
    const presence = () => {
      const ready = agentReady(room, LOBBY_IDENTITY);
      setAgentPresent(ready);
      // A (re)started lobby agent: read where we stand (PROTOCOL.md "When the lobby agent
      // restarts").
      if (ready && !wasReady && room.state === ConnectionState.Connected) {
        setError(null);
        applyStatus(room).catch(() => undefined);
      }
      wasReady = ready;
    };
    room.on(RoomEvent.ParticipantConnected, presence);
    room.on(RoomEvent.ParticipantAttributesChanged, presence);
    room.on(RoomEvent.ParticipantDisconnected, presence);
    room.on(RoomEvent.Connected, presence);
    room.on(RoomEvent.Reconnecting, () => setReconnecting(true));
    room.on(RoomEvent.Reconnected, () => {
      setReconnecting(false);
      applyStatus(room).catch(() => undefined);
    });
    room.on(RoomEvent.Disconnected, (reason?: DisconnectReason) => {
      setReconnecting(false);
      if (cancelled || stageRef.current.kind === 'ready') return;
      const dup = reason === DisconnectReason.DUPLICATE_IDENTITY;
      setStage({
        kind: 'offline',
        message: dup
          ? 'You opened DISCO in another tab or window, so this one left the lobby.'
          : 'The connection to the lobby was lost.',
      });
    });

    (async () => {
      try {
        const t = await api.lobbyToken(token);
        if (cancelled) return;
        await room.connect(t.url, t.token, { autoSubscribe: false });
        if (cancelled) return;
        await applyStatus(room);
      } catch (e) {
        if (cancelled) return;
        if (e instanceof ApiError && e.status === 401) {
          onAuthLost();
          return;
        }
        const msg =
          e instanceof ApiError || e instanceof ProtocolError
            ? errorText(e)
            : 'Could not connect to the lobby. Check your connection and try again.';
        if (room.state === ConnectionState.Connected) {
          // Connected but the lobby agent did not answer: still let the person try. When it
          // is merely not there yet, the form says so and the status is read once it comes.
          if (!(e instanceof ProtocolError && e.code === 1401)) setError(msg);
          setStage({ kind: 'choose' });
        } else {
          setStage({ kind: 'offline', message: msg });
        }
      }
    })();

    return () => {
      cancelled = true;
      roomRef.current = null;
      room.removeAllListeners();
      room.disconnect().catch(() => undefined);
    };
  }, [enabled, token, attempt, applyStatus, onEvent, onAuthLost]);

  const run = useCallback(async (fn: (room: Room) => Promise<void>) => {
    const room = roomRef.current;
    if (!room) return;
    setBusy(true);
    setError(null);
    try {
      await fn(room);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }, []);

  const join = useCallback(
    (topic: string, format: string, side: SideChoice | null) =>
      run(async (room) => {
        setNotice(null);
        const ticket = await lobby.join(room, topic, format, side);
        const now = Date.now();
        setStage((s) =>
          s.kind === 'proposed' || s.kind === 'ready'
            ? s
            : { kind: 'waiting', ticket, since: s.kind === 'waiting' ? s.since : now, receivedAt: now },
        );
      }),
    [run],
  );

  const leave = useCallback(
    () =>
      run(async (room) => {
        await lobby.leave(room);
        setNotice('You left the queue.');
        setStage({ kind: 'choose' });
      }),
    [run],
  );

  const respond = useCallback(
    (accept: boolean) =>
      run(async (room) => {
        const s = stageRef.current;
        if (s.kind !== 'proposed') return;
        setStage({ ...s, answered: accept });
        try {
          await lobby.respond(room, s.proposal.match_id, accept);
        } catch (e) {
          setStage((cur) => (cur.kind === 'proposed' ? { ...cur, answered: null } : cur));
          if (e instanceof ProtocolError && e.code === 2006) {
            setStage({ kind: 'choose' });
            applyStatus(room).catch(() => undefined);
          }
          throw e;
        }
        if (!accept) {
          setNotice('You declined the match and left the queue.');
          setStage({ kind: 'choose' });
        }
      }),
    [run, applyStatus],
  );

  return {
    stage,
    notice,
    error,
    busy,
    reconnecting,
    formats,
    agentPresent,
    join,
    leave,
    respond,
    clearNotice: () => setNotice(null),
    reconnect: () => setAttempt((a) => a + 1),
  };
}
