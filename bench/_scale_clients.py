"""One process's share of the scale bench's lobby clients: its own event loop and its own SDK
rooms, connected through one LiveKit node, run by the parent (bench/scale.py, through
bench/_scale_procs.py) over a pipe.

The parent starts these processes once (multiprocessing's spawn: a fork would copy the
parent's SDK state) and sends each a slice of clients for every run. In a run, a process
connects its clients (tests/support/lobby_clients.py, the way every test's clients connect)
and says so; waits until every client's lobby room lists everyone seated there and says so;
then, at the wall-clock times the parent's `go` names, has each client send `lobby.join` and
wait for its proposal; sends back what every client recorded (bench/_scale_figures.py), and
disconnects on `stop`. All processes share one machine, hence one clock: the two of a pair
may run in different processes and still be timed together.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import traceback
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from typing import Any

from agent.sdk import quiet_native_logs
from bench._scale_figures import ClientRecord
from lobby.settings import Settings
from tests.support.lobby_clients import Issuer, LobbyUser, issuer
from tests.support.wait import eventually

# Tries at connecting one client before it is left out of the run.
CONNECT_TRIES = 3
# A client whose lobby agent, once seen, has been gone this long connects again while the run
# settles, as the web client does at any time (web/src/pace.ts AwayWatch): when LiveKit ran a
# lobby room twice as clients connected, the agent of the half left behind leaves it.
AGENT_AWAY = 10.0


@dataclass(frozen=True, slots=True)
class Seat:
    """A simulated person: their user id, the pair they are meant to make, its topic, and the
    lobby room their token seats them in (for the settle check)."""

    user: str
    pair: int
    topic: str
    room: str


@dataclass(frozen=True, slots=True)
class Slice:
    settings: Settings  # livekit_url: the node this process connects through
    seats: tuple[Seat, ...]
    # People per lobby room in the whole run: a client has settled when its room lists them.
    crowd: tuple[tuple[str, int], ...]
    settle_within: float
    propose_within: float
    connect_wave: int  # clients connecting at once in this process


@dataclass(frozen=True, slots=True)
class Report:
    records: tuple[ClientRecord, ...]
    rpc_calls: int
    rpc_failed: int
    failed_codes: tuple[tuple[str, int], ...]
    rejoined: int = 0  # clients that connected again while settling (their agent had left)
    # The agent's `sent` notes received, and those naming an event that never came (the
    # client then asked for its state).
    notes: int = 0
    notes_asked: int = 0


@dataclass
class BenchUser(LobbyUser):
    # When a `lobby.status` reply first named a match (the event may be lost: it is a hint).
    match_seen: float | None = None
    unconnected: bool = False

    def _take(self, state: dict[str, Any], asked: int) -> None:
        if state.get("match") and self.match_seen is None:
            self.match_seen = time.time()
        super()._take(state, asked)

    def proposal_seen(self) -> float | None:
        events = [at for e, at in zip(self.events, self.arrivals, strict=True) if _proposed(e)]
        seen = [t for t in (*events[:1], self.match_seen) if t is not None]
        return min(seen) if seen else None


def _proposed(event: dict[str, Any]) -> bool:
    return bool(event.get("type") == "proposed")


def serve(pipe: Connection, nice: int = 0) -> None:
    """The process's entry point: one event loop for every run the parent sends (`run`, a
    Slice), until it sends `exit`. Its imports are paid once, not once a run. With `nice`,
    the process runs at that lower CPU priority (bench/scale.py `--client-nice`)."""
    os.nice(nice)
    try:
        asyncio.run(_serve(pipe))
    except BaseException:
        pipe.send(("error", traceback.format_exc()))
        raise


async def _serve(pipe: Connection) -> None:
    quiet_native_logs()
    pipe.send(("up", None))
    while True:
        message = await asyncio.to_thread(pipe.recv)
        if message[0] != "run":
            return
        await _run(message[1], pipe)


async def _run(spec: Slice, pipe: Connection) -> None:
    seats = list(spec.seats)
    started = time.monotonic()
    async with _connected(spec.settings, seats, spec.connect_wave) as (people, issued):
        pipe.send(("connected", time.monotonic() - started))

        rejoined = 0
        # Reconnections in waves, as the first connections: a hundred at once after a split
        # took this process past its time.
        wave = asyncio.Semaphore(spec.connect_wave)

        async def rejoin(i: int) -> None:
            nonlocal rejoined
            async with wave:
                rejoined += 1
                fresh = await _connect(spec.settings, issued, seats[i])
            old, people[i] = people[i], fresh
            await old.aclose()

        pipe.send(("settled", await _settle(people, spec, rejoin)))
        kind, t0, gap = await asyncio.to_thread(pipe.recv)
        assert kind == "go", kind
        records = await asyncio.gather(
            *(_join(p, s, t0 + gap * s.pair, spec) for p, s in zip(people, seats, strict=True))
        )
        pipe.send(("report", replace(_report(people, records), rejoined=rejoined)))
        await asyncio.to_thread(pipe.recv)  # "stop": partners in other processes are done
    pipe.send(("closed", None))


@contextlib.asynccontextmanager
async def _connected(
    settings: Settings, seats: list[Seat], at_once: int
) -> AsyncIterator[tuple[list[BenchUser], Issuer]]:
    """Everyone connected, in waves as the tests connect crowds; a connection that fails (the
    SDK times out on a busy machine) is tried again, and someone who cannot connect at all
    is left out of the run as a failed join. Whoever is in the list at the end is closed."""
    people: list[BenchUser] = []
    async with issuer(settings) as issued:
        try:
            for i in range(0, len(seats), at_once):
                wave = seats[i : i + at_once]
                people += await asyncio.gather(*(_connect(settings, issued, s) for s in wave))
            yield people, issued
        finally:
            await asyncio.gather(*(p.aclose() for p in people), return_exceptions=True)


async def _connect(settings: Settings, issued: Issuer, seat: Seat) -> BenchUser:
    for _ in range(CONNECT_TRIES):
        person = BenchUser(seat.user, f"scale{seat.pair}")
        try:
            await person.connect(settings, issued)
            return person
        except Exception:
            await person.aclose()
    person.unconnected = True
    return person


async def _settle(
    people: list[BenchUser], spec: Slice, rejoin: Callable[[int], Coroutine[Any, Any, None]]
) -> float:
    """Seconds until every client's lobby room lists everyone seated there and the agent (or
    `settle_within` has passed: the run goes on, and the parent prints how long it took).
    Meanwhile a client whose agent has been gone AGENT_AWAY seconds connects again
    (`rejoin`, replacing it in `people`)."""
    crowd = dict(spec.crowd)
    rooms = [crowd[s.room] for s in spec.seats]
    started = time.monotonic()
    rejoining: dict[int, asyncio.Task[None]] = {}

    def settled() -> bool:
        now = time.monotonic()
        for i, p in enumerate(people):
            if i in rejoining and rejoining[i].done():
                del rejoining[i]
            away = p.agent_away_since
            if away is not None and now - away > AGENT_AWAY and i not in rejoining:
                rejoining[i] = asyncio.create_task(rejoin(i))
        # The others seated in the room, and the shard's agent.
        return all(len(p.room.remote_participants) >= n for p, n in zip(people, rooms, strict=True))

    with contextlib.suppress(AssertionError):
        await eventually(settled, "the lobby rooms list everyone", spec.settle_within, every=0.2)
    await asyncio.gather(*rejoining.values(), return_exceptions=True)
    return time.monotonic() - started


async def _join(person: BenchUser, seat: Seat, at: float, spec: Slice) -> ClientRecord:
    await asyncio.sleep(max(0.0, at - time.time()))
    sent = time.time()
    if person.unconnected:
        return ClientRecord(seat.pair, sent, None, None)
    try:
        await person.call("lobby.join", {"topic": seat.topic, "format": "casual"})
    except Exception:  # counted: the reply never came
        return ClientRecord(seat.pair, sent, None, None)
    replied = time.time()
    with contextlib.suppress(AssertionError):
        await eventually(person.proposal_seen, "a proposal", spec.propose_within, every=0.05)
    return ClientRecord(seat.pair, sent, replied, person.proposal_seen())


def _report(people: list[BenchUser], records: list[ClientRecord]) -> Report:
    # A failure is named by its method and code ("lobby.status 1501"): a status call made
    # as a client connects, before its data channel carries anything, is not a join.
    outcomes = Counter(
        "ok" if outcome == "ok" else f"{method} {outcome}"
        for p in people
        for method, _, outcome in p.calls
    )
    calls = sum(outcomes.values())
    failed = {code: n for code, n in outcomes.items() if code != "ok"}
    unconnected = sum(p.unconnected for p in people)
    codes = sorted(failed.items()) + ([("could not connect", unconnected)] if unconnected else [])
    notes = sum(len(p.notes) for p in people)
    asked = notes - sum(p.receipts for p in people)
    return Report(
        tuple(records), calls, sum(failed.values()), tuple(codes), notes=notes, notes_asked=asked
    )
