"""The lobby agent's job: find its shard from the job's metadata (lobby/contract.py), open
Redis, join the shard's lobby room and run the lobby there (`agent/lobby_session.py`) until the
worker shuts the job down, or until LiveKit has moved the room to another node under it (the
keeper then dispatches a new agent, which LiveKit puts where the room is now). Postgres is the
worker process's, shared by all its jobs (agent/resources.py).
"""

from __future__ import annotations

from livekit.agents import AutoSubscribe, JobContext

from agent.lobby_session import LobbySession
from agent.lobby_shard import job_shard
from agent.resources import shared
from agent.sdk import route
from lobby.contract import Job
from lobby.formats import load_catalogue
from lobby.settings import Settings
from lobby.store import LobbyStore, open_redis


async def run(ctx: JobContext, settings: Settings) -> None:
    shard = job_shard(Job.from_json(ctx.job.metadata), ctx.job.room.name, settings)
    redis = open_redis(settings.redis_url, timeout=settings.redis_timeout)
    store = LobbyStore(redis, settings.redis_prefix)
    # The process's engine, shared with its other jobs (agent/resources.py).
    db = shared(settings).db
    catalogue = load_catalogue(settings.formats_file)
    await ctx.connect(auto_subscribe=AutoSubscribe.SUBSCRIBE_NONE)
    route(ctx.room)
    session = LobbySession(
        ctx.room,
        ctx.api,
        settings,
        store,
        db,
        catalogue,
        shard.index,
        moved=lambda: ctx.shutdown("lobby room moved to another node"),
    )
    ctx.add_shutdown_callback(session.aclose)
    await session.start()
