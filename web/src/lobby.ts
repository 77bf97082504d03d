// The lobby connection as a React hook: one LiveKit room with no media, commands to the lobby
// agent, and the stage a person sees, read from the agent's `lobby.status` replies. The
// lobby's data packets are hints to read it again (paced by a Coalescer), never orders.
import { ConnectionState, DisconnectReason, Room, RoomEvent } from 'livekit-client';
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, ApiError, errorText } from './api';
import { lobby } from './commands';
import { ERROR, LOBBY_IDENTITY, LOBBY_TOPIC } from './contract';
import { KNOWN_FORMATS } from './formats';
import { parseLobbyHint, SentCheck, type FormatInfo, type SideChoice } from './lobbyProtocol';
import { viewFromStatus, type Stage } from './lobbyStage';
import { AwayWatch, Coalescer, Resync } from './pace';
import { agentReady, ProtocolError } from './rpc';
import { LOBBY_DUPLICATE_TEXT, LOBBY_LOST_TEXT, LOBBY_REMOVED_TEXT, type CancelReason } from './text';

export type { Stage } from './lobbyStage';

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

// Codes with which the lobby agent also removes the connection from the lobby room.
const REMOVED: ReadonlySet<number> = new Set([ERROR.unknownCaller, ERROR.replaced, ERROR.flooding, ERROR.keptOut]);

function disconnectText(reason: DisconnectReason | undefined): string {
  if (reason === DisconnectReason.DUPLICATE_IDENTITY) return LOBBY_DUPLICATE_TEXT;
  if (reason === DisconnectReason.PARTICIPANT_REMOVED) return LOBBY_REMOVED_TEXT;
  return LOBBY_LOST_TEXT;
}

/** The lobby connection of the person with session `token`. It rests (disconnected, its stage
 * kept) while the stage is a room not in `left`, that is while the talk there is open. */
export function useLobby(token: string, left: ReadonlySet<string>, onAuthLost: () => void): LobbyApi {
  const [stage, setStage] = useState<Stage>({ kind: 'connecting' });
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [reconnecting, setReconnecting] = useState(false);
  const [formats, setFormats] = useState<FormatInfo[]>(KNOWN_FORMATS);
  const [agentPresent, setAgentPresent] = useState(false);
  const [attempt, setAttempt] = useState(0);
  const roomRef = useRef<Room | null>(null);
  // The lobby agent of the shard this connection's token seats it in (the token route says).
  const agentRef = useRef<string>(LOBBY_IDENTITY);
  // The stage as last set, read by handlers between renders.
  const stageRef = useRef<Stage>(stage);
  const put = useCallback((next: Stage) => {
    stageRef.current = next;
    setStage(next);
  }, []);
  const pacer = useRef<Coalescer | null>(null);
  const enabled = !(stage.kind === 'room' && !left.has(stage.pass.name));

  useEffect(() => {
    if (!enabled) return undefined;
    let cancelled = false;
    const room = new Room({ adaptiveStream: false, dynacast: false });
    roomRef.current = room;
    // What the API listed (the only addresses a room may be at), and the reasons cancellation
    // hints gave, by match: they only pick the words for a cancellation the status confirms.
    let livekitUrls: string[] = [];
    const reasons = new Map<string, CancelReason>();
    const rechecked = new Set<string>();
    const read = async () => {
      const st = await lobby.status(room, agentRef.current);
      if (cancelled) return;
      if (st.formats.length) setFormats(st.formats);
      const prev = stageRef.current;
      const view = viewFromStatus(prev, st, livekitUrls, reasons, Date.now(), rechecked);
      if (view.recheck && prev.kind === 'proposed') {
        rechecked.add(prev.proposal.match_id);
        pace.hint();
      }
      put(view.stage);
      if (view.notice !== undefined) setNotice(view.notice);
    };
    const pace = new Coalescer(read);
    pacer.current = pace;
    const resync = new Resync(pace, () => ['waiting', 'proposed'].includes(stageRef.current.kind));
    // A new connection (first, again after a talk, or Try again) starts from scratch.
    // eslint-disable-next-line react-hooks/set-state-in-effect -- resets the stage this effect drives
    put({ kind: 'connecting' });
    setError(null);

    const sent = new SentCheck();
    room.on(RoomEvent.DataReceived, (payload, from, _kind, topic?: string) => {
      if (topic !== LOBBY_TOPIC) return;
      if (!sent.wanted(payload, room.localParticipant.identity, from === undefined)) return;
      const hint = parseLobbyHint(payload);
      if (hint.type === 'cancelled') reasons.set(hint.match_id, hint.reason);
      pace.hint();
    });
    let wasReady = false;
    // The agent gone for 10 s from a connected lobby: connect again (tickets are kept). When
    // LiveKit moved the room to another node, this connection is in the half it left behind.
    const away = new AwayWatch(() => setAttempt((a) => a + 1));
    const presence = () => {
      const ready = agentReady(room, agentRef.current);
      setAgentPresent(ready);
      away.update(ready, room.state === ConnectionState.Connected);
      // A (re)started lobby agent: read where we stand (PROTOCOL.md "When the lobby agent
      // restarts").
      if (ready && !wasReady && room.state === ConnectionState.Connected) {
        setError(null);
        pace.hint();
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
      pace.hint();
    });
    room.on(RoomEvent.Disconnected, (reason?: DisconnectReason) => {
      setReconnecting(false);
      // A command refused for a reason that removes the connection has said why already.
      const kind = stageRef.current.kind;
      if (cancelled || kind === 'room' || kind === 'offline') return;
      put({ kind: 'offline', message: disconnectText(reason) });
    });

    void (async () => {
      try {
        const t = await api.lobbyToken(token);
        if (cancelled) return;
        livekitUrls = t.livekit_urls;
        agentRef.current = t.agent_identity;
        await room.connect(t.url, t.token, { autoSubscribe: false });
        if (cancelled) return;
        await pace.now();
      } catch (e) {
        if (!cancelled) connectFailed(e, room);
      }
    })();

    function connectFailed(e: unknown, r: Room) {
      if (e instanceof ApiError && e.status === 401) {
        onAuthLost();
        return;
      }
      const msg =
        e instanceof ApiError || e instanceof ProtocolError
          ? errorText(e)
          : 'Could not connect to the lobby. Check your connection and try again.';
      if (r.state === ConnectionState.Connected) {
        // Connected but the lobby agent did not answer: still let the person try. When it
        // is merely not there yet, the form says so and the status is read once it comes.
        if (!(e instanceof ProtocolError && e.code === 1401)) setError(msg);
        put({ kind: 'choose' });
      } else {
        put({ kind: 'offline', message: msg });
      }
    }

    return () => {
      cancelled = true;
      away.close();
      resync.close();
      pace.close();
      pacer.current = null;
      roomRef.current = null;
      room.removeAllListeners();
      room.disconnect().catch(() => undefined);
    };
  }, [enabled, token, attempt, onAuthLost, put]);

  const run = useCallback(async (fn: (room: Room) => Promise<void>) => {
    const room = roomRef.current;
    if (!room) return;
    setBusy(true);
    setError(null);
    try {
      await fn(room);
    } catch (e) {
      if (e instanceof ProtocolError && REMOVED.has(e.code)) put({ kind: 'offline', message: e.message });
      else setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }, [put]);

  const join = useCallback(
    (topic: string, format: string, side: SideChoice | null) =>
      run(async (room) => {
        setNotice(null);
        const ticket = await lobby.join(room, agentRef.current, topic, format, side);
        const now = Date.now();
        const s = stageRef.current;
        if (s.kind === 'proposed') return;
        if (s.kind === 'room') {
          // Queued again from the end of a talk: the seat there was given up; read where we stand.
          pacer.current?.hint();
          return;
        }
        put({ kind: 'waiting', ticket, since: s.kind === 'waiting' ? s.since : now, receivedAt: now });
      }),
    [run, put],
  );

  const leave = useCallback(
    () =>
      run(async (room) => {
        await lobby.leave(room, agentRef.current);
        setNotice('You left the queue.');
        put({ kind: 'choose' });
      }),
    [run, put],
  );

  const respond = useCallback(
    (accept: boolean) =>
      run(async (room) => {
        const s = stageRef.current;
        if (s.kind !== 'proposed') return;
        put({ ...s, answered: accept });
        try {
          await lobby.respond(room, agentRef.current, s.proposal.match_id, accept);
        } catch (e) {
          const cur = stageRef.current;
          if (cur.kind === 'proposed') put({ ...cur, answered: null });
          // The match is gone or has moved on: the lobby says where we stand now.
          pacer.current?.hint();
          throw e;
        }
        if (!accept) {
          setNotice('You declined the match and left the queue.');
          put({ kind: 'choose' });
        } else {
          pacer.current?.hint();
        }
      }),
    [run, put],
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
