"""The processes the chaos test runs and breaks: the real API (`python -m api`), agent workers,
and DISCO's Redis; what it watches meanwhile (Redis, for anyone in two matches); and how it
tells that DISCO has recovered (the lobby served again, `/readyz` 200 again, every live
discussion room with a moderator that writes its debate).

Nothing here restarts what the test breaks on DISCO's behalf: a killed worker is replaced by
a fresh one, as an operator's process manager would, and the rest is DISCO's own doing (the
API's keeper re-dispatches the lobby agent, its supervisor the moderators)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from subprocess import Popen, TimeoutExpired

import aiohttp
from livekit import api
from redis.asyncio import Redis

from lobby import codec
from lobby.contract import MODERATOR_IDENTITY
from lobby.debate_states import DebateStates
from lobby.settings import Settings
from lobby.store import LobbyStore
from scripts.stack import Stack
from tests.support.lobby_clients import lobby_agent
from tests.support.worker import Worker, settings_env

# A moderator whose heartbeat was written this recently is alive (every second; the API's
# supervisor takes one silent for 5 s for dead).
FRESH = 5.0


@dataclass
class Recovery:
    """One fault: when it began and ended (epoch), and when DISCO served again."""

    fault: str
    began: float
    ended: float
    back: float | None = None
    note: str = ""

    def line(self) -> str:
        took = "never" if self.back is None else f"{self.back - self.ended:.1f} s"
        return f"{self.fault}: {self.ended - self.began:.1f} s long, back {took} after{self.note}"


@dataclass
class ApiProcess:
    """`python -m api` with the test's settings, started and stopped like a real deployment's."""

    stack: Stack
    settings: Settings
    extra: dict[str, str] = field(default_factory=dict)
    proc: Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.api_port}"

    def start(self) -> None:
        env = {**os.environ, **settings_env(self.settings), **self.extra}
        env["DISCO_API_HOST"] = "127.0.0.1"
        self.starts += 1
        name = f"chaos-api-{self.settings.api_port}-{self.starts}"
        self.proc = self.stack.spawn(name, [sys.executable, "-m", "api"], env)

    def stop(self, sig: signal.Signals = signal.SIGTERM, grace: float = 15) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(grace)
        except TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    async def ready(self, path: str = "/readyz", wait: float = 120) -> float:
        """Until `path` answers 200; returns when (epoch)."""
        deadline = time.monotonic() + wait
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as http:
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise AssertionError(f"the API exited with {self.proc.returncode}")
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with http.get(f"{self.url}{path}") as r:
                        if r.status == 200:
                            return time.time()
                await asyncio.sleep(0.2)
        raise AssertionError(f"the API never answered {path} with 200")


# -- the lobby agent --------------------------------------------------------------------------
async def served_again(settings: Settings, lkapi: api.LiveKitAPI, old: str, wait: float) -> float:
    """Until a lobby agent other than `old` is ready in the lobby room; returns when (epoch)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if await lobby_agent(settings, lkapi) not in ("", old):
                return time.time()
        await asyncio.sleep(0.25)
    raise AssertionError(f"the lobby was not served again within {wait:.0f} s")


def lobby_holder(workers: Iterable[Worker], lobby_room: str) -> Worker | None:
    """The live worker that runs the lobby job (its log names the lobby room when ready)."""
    mark = f'"room": "{lobby_room}"'
    for w in workers:
        if w.proc.poll() is None:
            log = w.log.read_text(errors="replace")
            if any("lobby agent ready" in line and mark in line for line in log.splitlines()):
                return w
    return None


def job_rooms(worker: Worker) -> set[str]:
    """The rooms of the jobs this worker took (from its log)."""
    rooms = set()
    for line in worker.log.read_text(errors="replace").splitlines():
        if "received job request" in line:
            with contextlib.suppress(ValueError, KeyError):
                rooms.add(str(json.loads(line)["room"]))
    return rooms


def kill(worker: Worker) -> None:
    os.kill(worker.proc.pid, signal.SIGKILL)
    worker.proc.wait(15)


# -- Redis: nobody in two matches --------------------------------------------------------------
async def double_bookings(redis: Redis, store: LobbyStore) -> list[str]:
    """What is wrong in one atomic snapshot of the matches (MULTI): someone in two pending
    matches, a pending match whose person is recorded in another, or a person recorded in a
    match that does not exist."""
    k = store.keys
    async with redis.pipeline(transaction=True) as p:
        p.hgetall(k["pendingMatches"])
        p.hgetall(k["activeMatches"])
        p.hgetall(k["matchOf"])
        pending_raw, active_raw, match_of = await p.execute()
    pending = {mid: codec.match(raw) for mid, raw in pending_raw.items()}
    problems, seen = [], dict[str, str]()
    for mid, m in pending.items():
        for user in m.users:
            if user in seen:
                problems.append(f"{user} in pending matches {seen[user]} and {mid}")
            seen[user] = mid
            if match_of.get(user) != mid:
                problems.append(f"{user} in pending {mid} but recorded in {match_of.get(user)}")
    for user, mid in match_of.items():
        if mid not in pending and mid not in active_raw:
            problems.append(f"{user} recorded in match {mid}, which does not exist")
    return problems


@dataclass
class Watcher:
    """Checks Redis for double bookings every second while the chaos runs."""

    redis: Redis
    store: LobbyStore
    problems: list[str] = field(default_factory=list)
    snapshots: int = 0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                found = await double_bookings(self.redis, self.store)
                self.snapshots += 1
                self.problems += [f"{time.strftime('%X')} {p}" for p in found]
            except Exception:  # Redis paused or slow: no snapshot this time
                pass
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)


# -- discussion rooms --------------------------------------------------------------------------
async def unmoderated(store: LobbyStore, lkapi: api.LiveKitAPI) -> list[str]:
    """Live discussions that lack something: a room still opening, a room LiveKit no longer
    has (its end not yet released), or a room without a `disco-moderator` that writes the
    debate. [] when every live room has its moderator."""
    active = await store.all_active()
    opening = [f"match {m.id} still opening its room" for m in active if m.state != "live"]
    live = [m.room for m in active if m.state == "live"]
    if not live:
        return opening
    found = await lkapi.room.list_rooms(api.ListRoomsRequest(names=live))
    existing = {r.name for r in found.rooms}
    gone = [f"room {r} gone from LiveKit, its match still live" for r in live if r not in existing]
    beats = await DebateStates(store.redis, store.prefix).written_at(sorted(existing))
    missing = []
    for room in sorted(existing):
        people = await lkapi.room.list_participants(api.ListParticipantsRequest(room=room))
        listed = any(p.identity == MODERATOR_IDENTITY for p in people.participants)
        beat = beats[room]
        if not listed or beat is None or time.time() - beat > FRESH:
            missing.append(f"room {room} without a live moderator (listed {listed}, beat {beat})")
    return opening + gone + missing


async def live_rooms(store: LobbyStore, lkapi: api.LiveKitAPI) -> int:
    live = [m.room for m in await store.all_active() if m.state == "live"]
    if not live:
        return 0
    return len((await lkapi.room.list_rooms(api.ListRoomsRequest(names=live))).rooms)


async def proposal_times(store: LobbyStore, cooldown: float) -> dict[str, dict[str, float]]:
    """Every proposal made to each person: partner -> when. Read from the rematch record,
    which holds, per partner, the end of their rematch cooldown, set when the proposal was
    made (a pair is never proposed twice within it)."""
    raw = await store.redis.hgetall(store.keys["recent"])
    return {
        str(u): {str(p): float(t) - cooldown for p, t in json.loads(v).items()}
        for u, v in raw.items()
    }


async def delete_rooms(lkapi: api.LiveKitAPI, rooms: Iterable[str]) -> None:
    for room in rooms:
        with contextlib.suppress(Exception):
            await lkapi.room.delete_room(api.DeleteRoomRequest(room=room))


def worker_name(n: int) -> str:
    return f"worker-chaos-{os.getpid()}-{n}"


def terminate(workers: Iterable[Worker]) -> None:
    for w in workers:
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait(15)
