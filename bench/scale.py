"""The scale bench: the lobby with N simulated people, and M moderated rooms, on one LiveKit
node with one lobby shard (as DISCO ran before it could scale out) and on a cluster of two
nodes with one and with four lobby shards, all in one run, side by side.

`python -m bench scale` (N = 100, 200, 400; M = 10), or with options:
`python -m bench.scale --sizes 20,40 --rooms 2` (`--help` lists them).

The lobby clients run in `--procs` processes of their own (bench/_scale_procs.py starts and
drives them; bench/_scale_clients.py is what each runs), each with its own event loop,
connected through the nodes in turn: one process of a few hundred SDK rooms would be what the
figures measured, not DISCO. With `--client-nice K` they run at a lower CPU priority, so that
on one small box the servers get the CPU first, as they would with the clients on devices of
their own (the clients' own delays still count in every figure). Pair i is two people given
a topic of their own, each in a different process (and so through a different node of the cluster);
their lobby shards are whatever the API's seating gives them. Everyone connects, and the run
waits until every lobby room lists everyone seated there; then the N joins are spread evenly
over `--spread` seconds, pair by pair, both of a pair at the same moment. Figures:

- join reply: the `lobby.join` round trip as the client sees it (with the one retry the
  protocol allows on a transport failure);
- proposal: from the later of the pair's two join replies (the pair could be matched) until
  both were shown the proposal, by the `proposed` event or by a `lobby.status` reply naming
  the match, whichever came first (it can be below zero: the agent pairs as soon as a join is
  stored, and the event may overtake the join's reply); "from sent" counts from the later
  join's sending instead;
- failed RPCs: lobby RPC attempts that failed (status calls included), of all made.

Nobody answers a proposal (so no discussion room opens: the moderated rooms are measured on
their own, bench/_scale_rooms.py), and the accept limit is long enough that none expires during
a run. Each deployment runs its own workers (one per node; one worker has every role, as
`make dev` runs them) and its own lobby rooms, Redis prefix and agent name; the single node
and the cluster share a Postgres and a DISCO Redis, while the cluster's nodes have their own
Redis, as `make dev` runs them. Targets and the figures they are judged on are printed at the
end (bench/_scale_figures.py); nothing here knows what they should be.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace

from livekit import api
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from agent.sdk import quiet_native_logs
from api.keeper import Keeper
from api.tokens import lobby_seat
from bench._scale_clients import Seat, Slice
from bench._scale_figures import (
    IDLE_ROOM_TARGET,
    LOBBY_HEADER,
    TARGET_N,
    LobbyFigures,
    lobby_figures,
    lobby_row,
    lobby_verdicts,
    table,
    verdict,
)
from bench._scale_procs import Clients
from bench._scale_rooms import RoomFigures, moderated_rooms, rooms_table
from lobby.settings import Settings
from scripts.stack import ROOT, Stack, free_port
from tests.support.lobby_clients import (
    CONNECT_WAVE,
    add_topics,
    add_users,
    lobby_rooms,
    wait_for_agent,
)
from tests.support.wait import eventually
from tests.support.worker import Worker, start_worker


@dataclass(frozen=True, slots=True)
class Shape:
    label: str
    nodes: int
    shards: int


# The targets' deployment first: a run cut short still has its figures.
SHAPES = (
    Shape("2 nodes, 4 shards", 2, 4),
    Shape("1 node, 1 shard", 1, 1),
    Shape("2 nodes, 1 shard", 2, 1),
)
TARGET_SHAPE = SHAPES[0].label


@dataclass
class Deployment:
    shape: Shape
    stack: Stack
    settings: Settings
    workers: list[Worker]
    lkapi: api.LiveKitAPI
    # The keeper's checks, as the API runs them: a lobby agent that leaves a room LiveKit ran
    # twice is replaced where LiveKit routes people (docs/FAILURES.md).
    keeping: asyncio.Task[None] | None = None

    def on(self, index: int) -> Settings:
        """The settings, connecting through node `index` (mod the nodes)."""
        url = self.stack.livekit[index % len(self.stack.livekit)].url
        return replace(self.settings, livekit_url=url, livekit_public_url=url)


def _settings(stack: Stack, name: str, shards: int) -> Settings:
    """Settings of a deployment of its own: its agent name, lobby room and Redis prefix."""
    tag = f"{name}{secrets.token_hex(3)}"
    return Settings.from_env(
        {
            **stack.env,
            "DISCO_JWT_SECRET": secrets.token_urlsafe(32),
            "DISCO_ENV": "dev",
            "DISCO_REDIS_PREFIX": f"scale{tag}",
            "DISCO_LOBBY_ROOM": f"lobby-scale-{tag}",
            "DISCO_AGENT_NAME": f"disco-scale-{tag}",
            "DISCO_LOBBY_SHARDS": str(shards),
            # Nobody answers a proposal: none may expire (and requeue its pair) during a run.
            "DISCO_ACCEPT_TIMEOUT": "3600",
        }
    )


async def _deploy(stack: Stack, shape: Shape, index: int) -> Deployment:
    settings = _settings(stack, f"d{index}", shape.shards)
    lkapi = api.LiveKitAPI(
        settings.livekit_url, settings.livekit_api_key, settings.livekit_api_secret
    )
    d = Deployment(shape, stack, settings, [], lkapi)
    d.workers += await asyncio.gather(
        *(
            asyncio.to_thread(start_worker, stack, d.on(w), f"worker-d{index}-{w}", 300)
            for w in range(shape.nodes)
        )
    )
    keeper = Keeper(settings, lkapi)
    await wait_for_agent(settings, lkapi, 120, keeper)
    d.keeping = asyncio.create_task(keeper.keep())
    with contextlib.suppress(AssertionError):  # a worker logs a moment after its agent is ready
        await eventually(
            lambda: sum(len(w.lobby_shards()) for w in d.workers) >= shape.shards, "logged", 10
        )
    print(f"    lobby shards by worker: {[w.lobby_shards() for w in d.workers]}", flush=True)
    return d


async def _undeploy(d: Deployment) -> None:
    if d.keeping is not None:
        d.keeping.cancel()
        await asyncio.gather(d.keeping, return_exceptions=True)
    for room in lobby_rooms(d.settings):
        with contextlib.suppress(api.TwirpError):
            await d.lkapi.room.delete_room(api.DeleteRoomRequest(room=room))
    await asyncio.gather(*(asyncio.to_thread(w.stop) for w in d.workers))
    await d.lkapi.aclose()


# -- one lobby run --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Options:
    sizes: list[int]
    rooms: list[int]
    procs: int
    spread: float
    window: float
    settle: float
    propose_within: float
    shapes: tuple[Shape, ...] = SHAPES
    client_nice: int = 0
    node_priority: int = 0
    connect_wave: int = CONNECT_WAVE


def _slices(d: Deployment, users: list[str], topics: list[str], o: Options) -> list[Slice]:
    """Person j (pair j // 2) in process j mod procs, which connects through node (that
    process) mod nodes: the two of a pair are always in different processes."""
    rooms = [lobby_seat(d.settings, u).room for u in users]
    crowd = tuple(sorted(Counter(rooms).items()))
    seats = [Seat(u, j // 2, topics[j // 2], rooms[j]) for j, u in enumerate(users)]
    return [
        Slice(
            d.on(k),
            tuple(seats[k :: o.procs]),
            crowd,
            o.settle,
            o.propose_within,
            o.connect_wave,
        )
        for k in range(min(o.procs, len(seats)))
    ]


async def _lobby_run(
    d: Deployment, clients: Clients, engine: AsyncEngine, n: int, topics: list[str], o: Options
) -> tuple[LobbyFigures, float]:
    users = [u.id for u in await add_users(engine, n, f"scale{n}-")]
    slices = _slices(d, users, topics, o)
    gap = o.spread / max(1, n // 2)
    reports, settle = await asyncio.to_thread(
        clients.drive, slices, gap, o.settle, o.propose_within
    )
    figures = lobby_figures(
        (r for rep in reports for r in rep.records),
        sum(rep.rpc_calls for rep in reports),
        sum(rep.rpc_failed for rep in reports),
    )
    codes: Counter[str] = Counter()
    for rep in reports:
        codes.update(dict(rep.failed_codes))
    if codes:
        print(f"    failures by code: {dict(sorted(codes.items()))}", flush=True)
    notes = sum(rep.notes for rep in reports)
    asked = sum(rep.notes_asked for rep in reports)
    print(f"    agent's sent notes: {notes}, {asked} naming an event lost", flush=True)
    rejoined = sum(rep.rejoined for rep in reports)
    if rejoined:
        print(
            f"    {rejoined} clients connected again before the joins: their lobby agent had"
            " left (a lobby room LiveKit ran twice, see the agents' logs)",
            flush=True,
        )
    started = time.monotonic()
    await _emptied(d)
    print(f"    lobby rooms empty again {time.monotonic() - started:.0f} s later", flush=True)
    return figures, settle


async def _emptied(d: Deployment) -> None:
    """Until every lobby room holds its agent alone again (the next run starts clean)."""

    async def empty() -> bool:
        for room in lobby_rooms(d.settings):
            found = await d.lkapi.room.list_participants(api.ListParticipantsRequest(room=room))
            if len(found.participants) > 1:
                return False
        return True

    try:
        await eventually(empty, "the lobby rooms emptied after a run", 120, every=1)
    except AssertionError as e:  # the next run starts anyway; its figures say if it mattered
        print(f"    {e}", flush=True)


# -- the whole bench ------------------------------------------------------------------------------
@contextlib.contextmanager
def _stacks() -> Iterator[tuple[Stack, Stack]]:
    """A cluster of two nodes (with a Redis and a Postgres), and one node of its own on the
    same Redis and Postgres."""
    run_dir = ROOT / ".run" / f"bench-scale-{os.getpid()}"
    # LiveKit of the bench's own, whatever the environment names.
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEKIT_")}
    with Stack.start(run_dir / "two", env, free_port(), nodes=2) as two:
        shared = {k: two.env[k] for k in ("REDIS_URL", "DATABASE_URL")}
        with Stack.start(run_dir / "one", shared, free_port(), nodes=1) as one:
            yield one, two


async def _lobby(
    deployments: list[Deployment],
    clients: Clients,
    engine: AsyncEngine,
    topics: list[str],
    o: Options,
) -> dict[tuple[int, str], tuple[LobbyFigures, float]]:
    """Every size on every deployment, the sizes in turn (so the largest come last), each run
    with topics of its own."""
    results: dict[tuple[int, str], tuple[LobbyFigures, float]] = {}
    for n in o.sizes:
        for d in deployments:
            mine, topics = topics[: n // 2], topics[n // 2 :]
            try:
                figures, settle = await _lobby_run(d, clients, engine, n, mine, o)
            except RuntimeError as e:  # a client process failed: the summary of what ran
                print(f"  N {n}, {d.shape.label}: the run failed: {e}", flush=True)
                return results
            results[(n, d.shape.label)] = (figures, settle)
            cells = lobby_row(n, d.shape.label, settle, figures)
            print("  " + "; ".join(f"{h} {c}" for h, c in zip(LOBBY_HEADER, cells, strict=True)))
    return results


async def _bench(one: Stack, two: Stack, o: Options) -> None:
    quiet_native_logs()
    engine = create_async_engine(_settings(two, "e", 1).async_database_url)
    rooms: list[RoomFigures] = []
    deployments: list[Deployment] = []
    clients: Clients | None = None
    try:
        if o.rooms:
            print(f"moderated rooms: worker CPU over {o.window:g} s windows", flush=True)
            try:
                rooms = await moderated_rooms(
                    two, _settings(two, "r", 1), engine, o.rooms, o.window
                )
            except Exception as e:  # the lobby's figures are still worth taking
                print(f"  the moderated rooms failed: {type(e).__name__}: {e}", flush=True)
        if not o.sizes:
            return _summary({}, rooms)
        # Before the lobby agents start, which load the topics then (a topic they do not know
        # makes them read again, but at most every few seconds: agent/lobby_topics.py).
        topics = await add_topics(engine, len(o.shapes) * sum(n // 2 for n in o.sizes))
        # At once, with the client processes: imports take tens of seconds on a busy machine.
        clients = Clients(o.procs, o.client_nice)
        deployments += await asyncio.gather(
            *(_deploy(one if s.nodes == 1 else two, s, i) for i, s in enumerate(o.shapes))
        )
        await asyncio.to_thread(clients.up)
        print(
            f"lobby: N people over {o.procs} client processes (nice {o.client_nice}, "
            f"{o.connect_wave} connecting at once each; LiveKit "
            f"nodes ahead by {o.node_priority}), "
            f"N joins spread over {o.spread:g} s",
            flush=True,
        )
        results = await _lobby(deployments, clients, engine, topics, o)
    finally:
        if clients is not None:
            clients.close()
        for d in deployments:
            await _undeploy(d)
        await engine.dispose()
    _summary(results, rooms)


def _summary(
    results: dict[tuple[int, str], tuple[LobbyFigures, float]], rooms: list[RoomFigures]
) -> None:
    print("\n== scale bench summary (2 cores shared; see bench/RESULTS.md)")
    rows = [lobby_row(n, label, s, f) for (n, label), (f, s) in results.items()]
    print(table(LOBBY_HEADER, rows))
    if rooms:
        print()
        print(rooms_table(rooms))
    print("\ntargets:")
    target = results.get((TARGET_N, TARGET_SHAPE))
    for line in lobby_verdicts(None if target is None else target[0]):
        print(f"  {line}")
    for r in rooms:
        label = f"idle moderated room (M = {r.rooms}), per room, % of a core"
        print(f"  {verdict(label, r.idle, IDLE_ROOM_TARGET, '%')}")
    if not rooms:
        print(f"  {verdict('idle moderated room', None, IDLE_ROOM_TARGET, '%')}")


def _numbers(text: str) -> list[int]:
    try:
        found = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of numbers: {text!r}"
        ) from None
    if any(x < 0 for x in found):
        raise argparse.ArgumentTypeError(f"negative count in {text!r}")
    return found


def _shapes(text: str) -> tuple[Shape, ...]:
    known = {f"{s.nodes}x{s.shards}": s for s in SHAPES}
    names = [x.strip() for x in text.split(",") if x.strip()]
    unknown = [x for x in names if x not in known]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"deployments are {', '.join(known)}; not {', '.join(unknown) or repr(text)}"
        )
    return tuple(known[x] for x in dict.fromkeys(names))


def options(argv: list[str]) -> Options:
    p = argparse.ArgumentParser(
        prog="python -m bench.scale",
        description="The lobby and moderated rooms, one node beside a two-node cluster.",
    )
    p.add_argument(
        "--sizes", type=_numbers, default=[100, 200, 400], help='N, e.g. 100,200,400 ("": none)'
    )
    p.add_argument("--rooms", type=_numbers, default=[10], help="M, e.g. 10,20 (0: none)")
    p.add_argument("--procs", type=int, default=4, help="client processes")
    p.add_argument("--spread", type=float, default=10.0, help="seconds the N joins span")
    p.add_argument("--window", type=float, default=20.0, help="CPU window, seconds")
    p.add_argument("--settle", type=float, default=240.0, help="longest wait to settle, s")
    p.add_argument("--propose-within", type=float, default=30.0, help="longest wait, s")
    p.add_argument(
        "--shapes",
        type=_shapes,
        default=SHAPES,
        help="deployments as nodes x shards, e.g. 2x4,1x1 (default: all three)",
    )
    p.add_argument(
        "--client-nice",
        type=int,
        default=0,
        choices=range(20),
        metavar="0-19",
        help="run the client processes at this lower CPU priority (default 0)",
    )
    p.add_argument(
        "--node-priority",
        type=int,
        default=0,
        choices=range(11),
        metavar="0-10",
        help="run the LiveKit nodes this many steps ahead of the rest (root; default 0)",
    )
    p.add_argument(
        "--connect-wave",
        type=int,
        default=CONNECT_WAVE,
        help=f"clients a process connects at once, before any join (default {CONNECT_WAVE})",
    )
    a = p.parse_args(argv)
    if a.connect_wave < 1:
        p.error("--connect-wave must be at least 1")
    if a.procs < 1 or any(n < 2 or n % 2 for n in a.sizes):
        p.error("--procs must be at least 1 and every size an even number of at least 2")
    rooms = [m for m in a.rooms if m > 0]
    return Options(
        a.sizes,
        rooms,
        a.procs,
        a.spread,
        a.window,
        a.settle,
        a.propose_within,
        a.shapes,
        a.client_nice,
        a.node_priority,
        a.connect_wave,
    )


def _prioritise(stacks: tuple[Stack, ...], steps: int) -> None:
    """Every thread of every LiveKit node, and of the cluster's own Redis (which carries the
    nodes' keepalives), `steps` nice steps ahead of the rest of the box, as if LiveKit had
    machines of its own (docs/DEPLOY.md, "Headroom": a node whose stats are late for a few
    seconds has its rooms given to another node). Linux keeps a priority per thread, and a
    thread started later takes its starter's."""
    pids = [n.proc.pid for s in stacks for n in s.livekit]
    pids += [pid for s in stacks if s.livekit_redis and (pid := s.livekit_redis.pid)]
    for pid in pids:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(ProcessLookupError):
                os.setpriority(os.PRIO_PROCESS, int(tid), -steps)


def main(argv: list[str] | None = None) -> None:
    o = options([] if argv is None else argv)
    with _stacks() as (one, two):
        if o.node_priority:
            _prioritise((one, two), o.node_priority)
        asyncio.run(_bench(one, two, o))


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
