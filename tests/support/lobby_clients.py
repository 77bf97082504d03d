"""Lobby participants played by the Python `livekit` SDK, as any client would be: a lobby token
minted and recorded by the API's own code, RPCs to the agent of the lobby shard that token
seats them in (`disco-lobby` with one shard), and the `disco.lobby` events
they receive. As docs/PROTOCOL.md asks, a packet is only a hint: the client then asks
`lobby.status` (at most once a second, however many hints arrive), and takes the room it is to
join, with its token, from that reply alone."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import jwt
from livekit import api, rtc
from sqlalchemy.ext.asyncio import AsyncEngine

from agent.sdk import quiet_native_logs, route
from api.keeper import Keeper
from api.tokens import LobbyPass, LobbyTokens, issue_lobby_pass, livekit_urls, seat_shard
from lobby.contract import LOBBY_IDENTITY, lobby_shard, lobby_shards
from lobby.db.schema import blocks, topics, users
from lobby.protocol import TOPIC, sent_upto
from lobby.settings import Settings
from lobby.store import LobbyStore, open_redis
from tests.support.media import stop
from tests.support.wait import eventually, when_signalled

CONNECT_WAVE = 10
# A client asks for the lobby's state at most this often, however many hints arrive.
STATUS_PERIOD = 1.0
# Waiting for a proposal or a room, a client asks for the state this long after its last call
# even without a hint (docs/PROTOCOL.md): a lost event is then seen well inside the time to
# answer a proposal.
RESYNC = 10.0


def unrecorded_lobby_token(settings: Settings, identity: str, *, hidden: bool = False) -> str:
    """A lobby token minted by the API's own code but never recorded (the lobby agent turns its
    holder away), for probes and for the tests of that; `hidden` adds LiveKit's hidden grant,
    which the benchmark probes."""
    token = LobbyTokens(settings).mint(identity)
    if not hidden:
        return token
    claims = jwt.decode(token, settings.livekit_api_secret, algorithms=["HS256"])
    claims["video"]["hidden"] = True
    return jwt.encode(claims, settings.livekit_api_secret, algorithm="HS256")


@dataclass
class Issuer:
    """What the API does for `POST /api/lobby/token`, with its own code and the same Redis."""

    settings: Settings
    store: LobbyStore
    minter: LobbyTokens

    async def issue(self, user: str) -> tuple[str, str]:
        """(identity, token) of a fresh lobby pass for this user."""
        issued = await self.issue_pass(user)
        return issued.identity, issued.token

    async def issue_pass(self, user: str) -> LobbyPass:
        """A fresh lobby pass for this user, with the shard it seats them in."""
        return await issue_lobby_pass(self.store, self.minter, self.settings, user)


@contextlib.asynccontextmanager
async def lobby_store(settings: Settings) -> AsyncIterator[LobbyStore]:
    """The lobby's Redis store under these settings' prefix, for the block's length."""
    redis = open_redis(settings.redis_url)
    try:
        yield LobbyStore(redis, settings.redis_prefix)
    finally:
        await redis.aclose()


@contextlib.asynccontextmanager
async def issuer(settings: Settings) -> AsyncIterator[Issuer]:
    async with lobby_store(settings) as store:
        yield Issuer(settings, store, LobbyTokens(settings))


@dataclass
class LobbyUser:
    id: str
    name: str
    room: rtc.Room = field(default_factory=rtc.Room)
    # The opaque identity of this client's lobby connection, and the token it joined with.
    identity: str = ""
    token: str = ""
    # The lobby shard's room the token joins and the agent to call there (the token route's
    # `room` and `agent_identity`).
    lobby_room: str = ""
    agent: str = LOBBY_IDENTITY
    # What the agent sent this client: packets with no sending participant (a forger can
    # still slip in here while LiveKit has not announced it; nothing acts on these).
    events: list[dict[str, Any]] = field(default_factory=list)
    # When each event arrived (wall clock), for benchmarks.
    arrivals: list[float] = field(default_factory=list)
    # (method, seconds, outcome) of every RPC this client made, for diagnostics.
    calls: list[tuple[str, float, str]] = field(default_factory=list)
    # `disco.lobby` packets received from anyone, and the last `lobby.status` reply they led to.
    hints: int = 0
    # What the agent's `sent` notes named for this client, and how many named only events
    # already here (those are not hints).
    notes: list[int] = field(default_factory=list)
    receipts: int = 0
    state: dict[str, Any] | None = None
    # The room to join, from a `lobby.status` reply, once its URL and token passed the checks.
    grant: dict[str, str] | None = None
    urls: list[str] = field(default_factory=list)
    removed: asyncio.Event = field(default_factory=asyncio.Event)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _hinted: asyncio.Event = field(default_factory=asyncio.Event)
    _stated: asyncio.Event = field(default_factory=asyncio.Event)
    _follower: asyncio.Task[None] | None = None
    _state_hints: int = -1
    # Since when (monotonic) the agent has been gone from the room, once it was there.
    agent_away_since: float | None = None
    # Set whenever the agent may have come, gone or changed its attributes.
    _agent_changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def connect(self, settings: Settings, issued: Issuer) -> None:
        issued_pass = await issued.issue_pass(self.id)
        self.identity, self.token = issued_pass.identity, issued_pass.token
        self.lobby_room, self.agent = issued_pass.shard.room, issued_pass.shard.identity
        self.urls = livekit_urls(settings)
        self.room.on("data_received", self._on_data)
        self.room.on("disconnected", lambda *_: self.removed.set())
        self.room.on("participant_connected", self._on_someone)
        self.room.on("participant_disconnected", self._on_gone)
        self.room.on("participant_attributes_changed", lambda _, p: self._on_someone(p))
        quiet_native_logs()
        await self.room.connect(settings.livekit_url, self.token)
        # A crowd of clients shares this process; each gets its own events, as on a device.
        route(self.room)
        self._hinted.set()  # ask for the state once connected
        self._follower = asyncio.create_task(self._follow())

    def _on_data(self, packet: rtc.DataPacket) -> None:
        if packet.topic != TOPIC:
            return
        upto = sent_upto(packet.data, self.identity)
        sender = packet.participant.identity if packet.participant is not None else None
        if upto is not None and sender == self.agent:
            self.notes.append(upto)
        if upto is not None and upto <= self.last_seq():
            self.receipts += 1  # every event it names has arrived: nothing to ask
            return
        self.hints += 1
        self._hinted.set()
        if packet.participant is None:
            with contextlib.suppress(ValueError):
                event = json.loads(packet.data)
                if isinstance(event, dict) and isinstance(event.get("seq"), int):
                    self.events.append(event)
                    self.arrivals.append(time.time())
                    self._arrived.set()

    def _on_someone(self, participant: rtc.RemoteParticipant) -> None:
        if participant.identity == self.agent:
            self.agent_away_since = None
            self._agent_changed.set()

    def _on_gone(self, participant: rtc.RemoteParticipant) -> None:
        if participant.identity == self.agent:
            self.agent_away_since = time.monotonic()
            self._agent_changed.set()

    def agent_ready(self) -> bool:
        """Whether the lobby agent is in the room with its methods registered (its `lobby`
        attribute says `ready`), as docs/PROTOCOL.md asks before calling it."""
        agent = self.room.remote_participants.get(self.agent)
        return agent is not None and agent.attributes.get("lobby") == "ready"

    async def _agent_in_room(self) -> None:
        while not self.agent_ready():
            self._agent_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._agent_changed.wait(), 1.0)

    async def _follow(self) -> None:
        """Ask for the state when hinted, at most once per STATUS_PERIOD, and only while the
        agent is there to answer: hints that arrive meanwhile are answered by one call
        afterwards. While waiting for a proposal or a room, ask RESYNC seconds after the last
        call even without a hint, as the web client does (an event may be lost)."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hinted.wait(), RESYNC)
            if not self._hinted.is_set() and not self._awaiting():
                continue
            await self._agent_in_room()
            self._hinted.clear()
            asked = self.hints
            with contextlib.suppress(rtc.RpcError):
                self._take(await self.call("lobby.status"), asked)
            await asyncio.sleep(STATUS_PERIOD)

    def _awaiting(self) -> bool:
        """Whether the last state read has this client waiting for a proposal or a room."""
        state = self.state or {}
        return bool(state.get("ticket") or (state.get("match") and not state.get("room")))

    def _take(self, state: dict[str, Any], asked: int) -> None:
        self.state, self._state_hints = state, asked
        room = state.get("room")
        if room is not None and self.grant is None and self._fits(room):
            self.grant = room
        self._stated.set()

    def _fits(self, room: dict[str, str]) -> bool:
        """Connect only to a LiveKit URL the API listed, with a token for the room named."""
        try:
            claims = jwt.decode(room["token"], options={"verify_signature": False})
        except jwt.InvalidTokenError:
            return False
        return room["url"] in self.urls and claims.get("video", {}).get("room") == room["name"]

    async def room_grant(self, wait: float = 20.0) -> dict[str, str]:
        """The room this client is to join, once a `lobby.status` reply gave it."""
        return await when_signalled(
            lambda: self.grant,
            self._stated,
            lambda: f"{self.name} was given no room; state {self.state}",
            wait,
        )

    async def settled(self, wait: float = 20.0) -> dict[str, Any]:
        """The state from a `lobby.status` call this client made after every hint it had
        received when asked."""
        seen = self.hints
        return await when_signalled(
            lambda: self.state if self._state_hints >= seen else None,
            self._stated,
            lambda: f"{self.name} never asked for the state after a hint",
            wait,
        )

    async def respond(self, match_id: str, accept: bool) -> Any:
        """Accept or decline a proposed match (`lobby.respond`)."""
        return await self.call("lobby.respond", {"match_id": match_id, "accept": accept})

    async def call(self, method: str, payload: dict[str, Any] | str | None = None) -> Any:
        """One lobby command. Every lobby command is safe to repeat (docs/PROTOCOL.md), so like
        a real client this retries once when LiveKit lost the request or its ack."""
        try:
            return await self._call(method, payload)
        except rtc.RpcError as e:
            if e.code not in (rtc.RpcError.ErrorCode.CONNECTION_TIMEOUT, 1505):
                raise
        return await self._call(method, payload)

    async def _call(self, method: str, payload: dict[str, Any] | str | None) -> Any:
        body = payload if isinstance(payload, str) else json.dumps(payload or {})
        started, outcome = time.monotonic(), "ok"
        try:
            # Generous limits: a hundred SDK rooms in one test process on a small, busy machine
            # deliver acks late; a slow ack is not what these tests are about.
            reply = await self.room.local_participant.perform_rpc(
                destination_identity=self.agent,
                method=method,
                payload=body,
                response_timeout=30,
                max_round_trip_latency=20,
            )
            return json.loads(reply)
        except rtc.RpcError as e:
            outcome = str(e.code)
            raise
        finally:
            self.calls.append((method, time.monotonic() - started, outcome))

    async def fails(
        self, method: str, payload: dict[str, Any] | str | None = None, *, allowed: bool = False
    ) -> str:
        """The DISCO error name of a call that must fail ('' if it may succeed and did)."""
        try:
            await self.call(method, payload)
        except rtc.RpcError as e:
            assert e.code >= 2000, (e.code, e.message)
            name: str = json.loads(e.data or "{}")["error"]
            return name
        if allowed:
            return ""
        raise AssertionError(f"{method} succeeded")

    async def event(self, kind: str, wait: float = 15.0, *, after: int = 0) -> dict[str, Any]:
        """The first event of this type with seq > after, waiting for it if needed."""
        return await when_signalled(
            lambda: next((e for e in self.events if e["type"] == kind and e["seq"] > after), None),
            self._arrived,
            lambda: f"{self.name} got no {kind!r} event; got {self.events}",
            wait,
        )

    def last_seq(self) -> int:
        return max((e["seq"] for e in self.events), default=0)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]

    async def aclose(self) -> None:
        if self._follower is not None:
            await stop(self._follower)
        await self.room.disconnect()


async def add_users(engine: AsyncEngine, n: int, label: str = "user") -> list[LobbyUser]:
    people = [LobbyUser(str(uuid.uuid4()), f"{label}{i}") for i in range(n)]
    await _insert(engine, people)
    return people


async def add_users_in_shards(
    engine: AsyncEngine, shards: int, wanted: Sequence[int], label: str = "user"
) -> list[LobbyUser]:
    """One new user per entry of `wanted`, each seated (by the API's rule) in that lobby shard
    of a lobby with `shards` shards."""
    if not all(0 <= k < shards for k in wanted):
        raise ValueError(f"a lobby of {shards} shard(s) has no shard among {list(wanted)}")
    free: dict[int, list[str]] = {}
    people: list[LobbyUser] = []
    for i, shard in enumerate(wanted):
        while not free.setdefault(shard, []):
            user = str(uuid.uuid4())
            free.setdefault(seat_shard(user, shards), []).append(user)
        people.append(LobbyUser(free[shard].pop(), f"{label}{i}"))
    await _insert(engine, people)
    return people


async def _insert(engine: AsyncEngine, people: list[LobbyUser]) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            users.insert(),
            [
                {
                    "id": uuid.UUID(p.id),
                    "email": f"{p.id}@example.test",
                    "password_hash": "not-a-hash",
                    "display_name": p.name,
                }
                for p in people
            ],
        )


async def add_topics(engine: AsyncEngine, n: int) -> list[str]:
    slugs = [f"t-{secrets.token_hex(5)}" for _ in range(n)]
    async with engine.begin() as conn:
        await conn.execute(
            topics.insert(),
            [
                {"slug": s, "title": f"Topic {s}", "description": "a test topic", "motion": "Yes."}
                for s in slugs
            ],
        )
    return slugs


async def block(engine: AsyncEngine, blocker: LobbyUser, blocked: LobbyUser) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            blocks.insert().values(
                blocker_id=uuid.UUID(blocker.id), blocked_id=uuid.UUID(blocked.id)
            )
        )


@contextlib.asynccontextmanager
async def connected(settings: Settings, people: list[LobbyUser]) -> AsyncIterator[list[LobbyUser]]:
    async with issuer(settings) as issued:
        try:
            # In small waves: a storm of simultaneous WebRTC handshakes on a 2-core machine
            # times out in the SDK rather than queueing.
            for i in range(0, len(people), CONNECT_WAVE):
                wave = people[i : i + CONNECT_WAVE]
                await asyncio.gather(*(p.connect(settings, issued) for p in wave))
            yield people
        finally:
            await asyncio.gather(*(p.aclose() for p in people), return_exceptions=True)


def rpc_summary(people: list[LobbyUser]) -> str:
    """How the lobby RPCs of these clients went: per method, count, p50 and slowest reply;
    then failures by code."""
    by_method: dict[str, list[float]] = collections.defaultdict(list)
    for p in people:
        for method, took, _ in p.calls:
            by_method[method].append(took)
    parts = []
    for method, times in sorted(by_method.items()):
        times.sort()
        parts.append(
            f"{method} x{len(times)} p50 {times[len(times) // 2] * 1000:.0f} ms"
            f" max {times[-1] * 1000:.0f} ms"
        )
    failed = collections.Counter(o for p in people for _, _, o in p.calls if o != "ok")
    return "; ".join(parts) + f"; errors by code {dict(sorted(failed.items()))}"


async def lobby_agent(settings: Settings, lkapi: api.LiveKitAPI, shard: int = 0) -> str:
    """The sid of lobby shard `shard`'s agent when it is in its room and ready, or ''."""
    mine = lobby_shard(settings.lobby_room, shard)
    found = await lkapi.room.list_participants(api.ListParticipantsRequest(room=mine.room))
    for p in found.participants:
        # The agent marks itself ready once its RPC methods are registered.
        if p.identity == mine.identity and p.attributes.get("lobby") == "ready":
            return str(p.sid)
    return ""


async def wait_for_agent(
    settings: Settings, lkapi: api.LiveKitAPI, wait: float = 60, keeper: Keeper | None = None
) -> None:
    """Until every lobby shard's agent is in its room, ready; with `keeper`, checking as the
    API's keeper does every few seconds (a dispatch no worker took is made again)."""

    async def ready() -> bool:
        if keeper is not None:
            await keeper.ensure()
        sids = [await lobby_agent(settings, lkapi, k) for k in range(settings.lobby_shards)]
        return all(sids)

    await eventually(ready, "every lobby shard's agent joins its room, ready", wait, every=0.2)


def lobby_rooms(settings: Settings) -> list[str]:
    """Every lobby shard's room."""
    return [s.room for s in lobby_shards(settings.lobby_room, settings.lobby_shards)]
