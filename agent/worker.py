"""The DISCO agent worker: one livekit-agents `AgentServer` serving two roles.

A job's metadata (`lobby.contract.Job`) says its role (livekit-agents allows one `rtc_session`
per server): `lobby` runs `agent.lobby_job.run` as `disco-lobby` (`disco-lobby-k` for
lobby shard k), `moderator` runs
`agent.moderator_job.run` as `disco-moderator`. A job whose metadata is not a DISCO job's is
rejected before it starts, and so is a job of a role this worker does not serve
(`DISCO_WORKER_ROLES`): LiveKit then offers it to another worker. A worker of the lobby only and
another of the moderators only keep a busy lobby from stalling the discussion rooms.

Every job of the process shares one set of connections (agent/resources.py), closed once the
runner returns.

Run it with the livekit-agents runner: `python -m agent.worker dev` (development) or
`python -m agent.worker start` (production). Settings come from the environment.
"""

from __future__ import annotations

import gc
import logging
import math
import os
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping

from livekit.agents import AgentServer, JobContext, JobExecutorType, JobRequest, cli

# Imported here, not in the job: jobs run as threads of this process, and importing
# SQLAlchemy and redis inside the first job blocked its loop for seconds (measured 2.7 s),
# long enough for the API's keeper to think the lobby agent was not coming.
from agent import lobby_job, moderator_job
from agent.lobby_placement import LobbyLoad, worker_load
from agent.resources import close_shared, shared
from agent.sdk import quiet_native_logs
from lobby.contract import Job, Role
from lobby.errors import InvalidPayload
from lobby.names import load_tables
from lobby.settings import ConfigError, Settings

logger = logging.getLogger("disco.worker")


def job_of(metadata: str) -> Job | None:
    """The job a job's metadata describes, or None when the metadata is not a DISCO job's."""
    try:
        return Job.from_json(metadata or "{}")
    except InvalidPayload:
        return None


def job_role(metadata: str) -> Role | None:
    """The role named in a job's metadata, or None when the metadata is not a DISCO job's."""
    job = job_of(metadata)
    return None if job is None else job.role


# The lobby shards this process holds, in the load it reports (agent/lobby_placement.py).
LOBBY_LOAD = LobbyLoad()


def _on_request(roles: tuple[str, ...]) -> Callable[[JobRequest], Awaitable[None]]:
    async def on_request(req: JobRequest) -> None:
        job = job_of(req.job.metadata)
        if job is None:
            logger.warning("rejecting a job without a DISCO role", extra={"job": req.id})
            await req.reject()
            return
        if job.role not in roles:
            # Not an error: LiveKit offers the job to a worker that serves the role.
            await req.reject()
            return
        if job.role == "lobby":
            LOBBY_LOAD.reserve(req.id, time.time())
        # Each lobby shard's agent has its own identity (lobby.contract.LobbyShard).
        await req.accept(identity=job.identity, name="DISCO")

    return on_request


async def _entrypoint(ctx: JobContext) -> None:
    settings = Settings.from_env()
    role = job_role(ctx.job.metadata)
    if role == "lobby":
        # Counted until the job ends: `run` returns once the agent serves its room.
        job_id = ctx.job.id
        LOBBY_LOAD.started(job_id)

        async def ended() -> None:
            LOBBY_LOAD.ended(job_id)

        ctx.add_shutdown_callback(ended)
        await lobby_job.run(ctx, settings)
    elif role == "moderator":
        await moderator_job.run(ctx, settings)


def _load(server: AgentServer) -> float:
    return worker_load(LOBBY_LOAD.count(time.time()), len(server.active_jobs))


def build_server(settings: Settings) -> AgentServer:
    server = AgentServer(
        ws_url=settings.livekit_url,
        api_key=settings.livekit_api_key,
        api_secret=settings.livekit_api_secret,
        # Thread executors: DISCO's jobs are I/O-bound and small; a process per discussion room
        # would cost ~100 MB each on a 2-core machine.
        job_executor_type=JobExecutorType.THREAD,
        load_fnc=_load,
        # Never "full" by the SDK's own reckoning: it counts a job being launched on a worker
        # with no job as a whole threshold of load, so a worker taking its first job reported
        # itself full until its next status update, and LiveKit dropped a dispatch meanwhile
        # (it does not retry): just when a surviving worker takes over a dead one's lobby and
        # moderators. Capacity still holds: LiveKit picks workers weighted by 1 - load, so one
        # at load 1.0 (agent/lobby_placement.py) gets none.
        load_threshold=math.inf,
        num_idle_processes=0,
        port=0,
    )
    server.rtc_session(
        _entrypoint,
        agent_name=settings.agent_name,
        on_request=_on_request(settings.worker_roles),
    )
    return server


def tune_gc() -> None:
    """Collect garbage less often, and never rescan what exists at start. A pairing round
    allocates a few objects per proposal, so the default threshold (700) ran a collection
    every hundred proposals, and each full one rescans every module and SDK object of the
    process: 1017 collections, 364 ms, in one run of bench/pairing.py, which this setting
    takes to about one, and 10k-ticket pairing from 21k to 23k proposals/s."""
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


# livekit-agents watches every job's event loop for blocking calls by waking it, and a watchdog
# thread of its own, every 20 ms: with one job per discussion room, that was most of what an
# idle moderated room cost (bench/scale.py, 20 idle rooms: 0.99 % of a core per room with it,
# 0.37 % without). Off unless the operator turns it on with the SDK's own variable (a warn
# threshold in milliseconds, e.g. 100) to look for a blocked loop.
LOOP_MONITOR = "LIVEKIT_AGENTS_LOOP_BLOCK_WARN_MS"


def loop_monitor_off(environ: MutableMapping[str, str]) -> None:
    """Turn the SDK's loop monitor off unless the environment sets it."""
    environ.setdefault(LOOP_MONITOR, "0")


def main() -> None:
    loop_monitor_off(os.environ)
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        # One line naming the variable, and a non-zero exit, before anything connects.
        sys.exit(f"agent worker not started: {error}")
    load_tables()  # before tune_gc: frozen with the rest of what exists at start
    tune_gc()
    quiet_native_logs()
    # Opened before the first job, which would otherwise wait for it (agent/resources.py).
    shared(settings)
    try:
        cli.run_app(build_server(settings))
    finally:
        close_shared()


if __name__ == "__main__":
    main()
