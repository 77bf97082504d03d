"""The scale bench's moderated rooms: what M discussion rooms cost the agent worker that
moderates them, in CPU time read from /proc over a window, per room.

The rooms are real: a discussion row in Postgres, a LiveKit room created with the moderator
dispatched into it (as the lobby agent opens one), and both debaters connected (Python SDK
clients without a microphone: the moderator subscribes to nobody, so their sound would cost
LiveKit, not the worker). The worker serves moderators only (DISCO_WORKER_ROLES), so a lobby
does not share its CPU time. Each room is measured

- idle: both debaters in, the debate waiting for them to say ready (a catalogue of the bench's
  own lets it wait as long as the window needs); as idle as a room with people in it gets,
  and what a casual talk between two people costs its moderator between events;
- running: both said ready, the test catalogue's debate running phases of a few seconds
  (a warning, a phase change or a grace period every couple of seconds), a busier room than a
  real format's minutes-long phases make.

The worker alone (no room) is measured too, so the per-room figure can be read net of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path

from livekit import api
from sqlalchemy.ext.asyncio import AsyncEngine

from bench._scale_figures import busiest, cpu_seconds, pct, per_room, table, thread_seconds
from lobby.settings import Settings
from scripts.stack import ROOT, Stack
from tests.integration.debate_client import Client
from tests.integration.debate_room import Seeded, open_room, seed
from tests.support.wait import eventually
from tests.support.worker import Worker, start_worker

FORMAT = "test-debate"
# The debate waits this long for both to say ready: longer than any idle window.
IDLE_START_AFTER = 3600
SEAT_HOLD = 600
# The test debate's phases last 17 s and a few seconds of grace: the running window fits.
RUNNING_WINDOW = 15.0


@dataclass(frozen=True, slots=True)
class RoomFigures:
    rooms: int
    idle: float  # share of one core per room
    running: float
    alone: float  # the worker with no room, share of one core


def bench_catalogue(run_dir: Path) -> str:
    """The test catalogue, with its debate waiting IDLE_START_AFTER s for both to be ready and
    SEAT_HOLD s for a debater."""
    catalogue = json.loads((ROOT / "tests" / "formats_test.json").read_text())
    for fmt in catalogue["formats"]:
        if fmt["id"] == FORMAT:
            fmt["start_after"] = IDLE_START_AFTER
            # Debaters connect one room after another on a busy machine: a seat must wait
            # for them longer than the test catalogue's few seconds.
            fmt["seat_hold"] = SEAT_HOLD
    path = run_dir / "bench-formats.json"
    path.write_text(json.dumps(catalogue))
    return str(path)


async def window_cpu(worker: Worker, seconds: float, what: str) -> float:
    """Share of one core the worker (and any process it started) used over `seconds`; prints
    which of its threads used it."""
    pid = worker.proc.pid
    threads, before, t0 = thread_seconds(pid), cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(seconds)
    share = (cpu_seconds(pid) - before) / (time.monotonic() - t0)
    print(f"    {what}: busiest worker threads {busiest(threads, thread_seconds(pid))}")
    return share


async def _open(settings: Settings, engine: AsyncEngine, rooms: int) -> list[Client]:
    """`rooms` rooms with their moderator, both debaters in each once the moderator is."""
    seeded: list[Seeded] = [await seed(engine, FORMAT) for _ in range(rooms)]
    await asyncio.gather(*(open_room(settings, s, FORMAT) for s in seeded))
    clients: list[Client] = []
    for s in seeded:
        pair = [Client(settings, s.pro, s.room), Client(settings, s.con, s.room)]
        clients += pair
        await asyncio.gather(*(c.connect(mic=False) for c in pair))
    await eventually(
        lambda: all(c.attr("status") == "waiting" for c in clients),
        "every moderator in its room, waiting for both debaters",
        120,
        every=0.2,
    )
    return clients


async def measure(
    settings: Settings, engine: AsyncEngine, worker: Worker, rooms: int, window: float
) -> RoomFigures:
    """The worker's CPU per room, idle and running, with `rooms` rooms open."""
    alone = await window_cpu(worker, window, "no room")
    clients = await _open(settings, engine, rooms)
    try:
        waiting = len({c.room_name for c in clients if c.attr("status") == "waiting"})
        print(f"    {waiting} of {rooms} rooms idle, their moderator waiting", flush=True)
        idle = await window_cpu(worker, window, f"{rooms} idle")
        # A client whose connection dropped on the busy machine fails its call: the window
        # is taken anyway, and says how many debates ran.
        await asyncio.gather(*(c.call("debate.ready") for c in clients), return_exceptions=True)
        with contextlib.suppress(AssertionError):
            await eventually(
                lambda: all(c.attr("status") == "running" for c in clients),
                "every debate running",
                30,
                every=0.2,
            )
        ran = len({c.room_name for c in clients if c.attr("status") == "running"})
        print(f"    {ran} of {rooms} debates running", flush=True)
        running = await window_cpu(worker, min(window, RUNNING_WINDOW), f"{rooms} running")
    finally:
        await asyncio.gather(*(c.aclose() for c in clients), return_exceptions=True)
    rooms_of = {c.room_name for c in clients}
    async with api.LiveKitAPI(
        settings.livekit_url, settings.livekit_api_key, settings.livekit_api_secret
    ) as lk:
        for room in rooms_of:
            with contextlib.suppress(Exception):  # ended and closed by its moderator already
                await lk.room.delete_room(api.DeleteRoomRequest(room=room))
    return RoomFigures(rooms, per_room(idle, 1, rooms), per_room(running, 1, rooms), alone)


async def moderated_rooms(
    stack: Stack, base: Settings, engine: AsyncEngine, counts: list[int], window: float
) -> list[RoomFigures]:
    """Each count of rooms in turn, on a moderator-only worker of the bench's own."""
    settings = replace(
        base,
        formats_file=bench_catalogue(stack.run_dir),
        worker_roles=("moderator",),
        agent_name=f"{base.agent_name}-rooms",
    )
    worker = await asyncio.to_thread(start_worker, stack, settings, "worker-rooms", 180)
    try:
        found = []
        for rooms in counts:
            found.append(await measure(settings, engine, worker, rooms, window))
            print(rooms_table(found[-1:]), flush=True)
        return found
    finally:
        await asyncio.to_thread(worker.stop)


ROOMS_HEADER = (
    "M rooms",
    "worker alone % core",
    "idle % core/room",
    "idle net % core/room",
    "running % core/room",
    "running net % core/room",
)


def rooms_table(found: list[RoomFigures]) -> str:
    rows = [
        (
            str(f.rooms),
            pct(f.alone),
            pct(f.idle),
            pct(_net(f.idle, f)),
            pct(f.running),
            pct(_net(f.running, f)),
        )
        for f in found
    ]
    return table(ROOMS_HEADER, rows, left=-1)


def _net(share: float, f: RoomFigures) -> float:
    """Per room, less the worker's own cost with no room."""
    return share - f.alone / f.rooms if f.rooms else math.nan
