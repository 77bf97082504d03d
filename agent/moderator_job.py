"""The moderator's job: read its metadata (lobby/contract.py), join the discussion room, open
Redis and Postgres, pick up a debate a previous moderator of this room left, and run it
(`agent/moderator.py`) until the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from livekit import api
from livekit.agents import AutoSubscribe, JobContext

from agent.audience import Audience
from agent.floor import Floor
from agent.memory import Memory
from agent.moderator import Moderator
from agent.sdk import route
from lobby.audience import Audiences
from lobby.contract import Job
from lobby.db import LobbyDb
from lobby.db_audience import AudienceDb
from lobby.debate_states import DebateStates
from lobby.errors import InvalidPayload
from lobby.formats import load_catalogue
from lobby.settings import Settings
from lobby.store import open_redis

logger = logging.getLogger("disco.moderator")


async def run(ctx: JobContext, settings: Settings) -> None:
    try:
        job = Job.from_json(ctx.job.metadata)
    except InvalidPayload:
        logger.exception("moderator job metadata is malformed", extra={"job": ctx.job.id})
        ctx.shutdown("malformed job")
        return
    catalogue = load_catalogue(settings.formats_file)
    fmt = catalogue.get(job.format)
    if fmt is None:
        logger.warning("unknown format, running a casual talk", extra={"format": job.format})
        fmt = catalogue.formats["casual"]
    # The moderator listens to nobody: speaking rights are enforced by permissions.
    await ctx.connect(auto_subscribe=AutoSubscribe.SUBSCRIBE_NONE)
    route(ctx.room)
    lkapi = api.LiveKitAPI(
        settings.livekit_url, settings.livekit_api_key, settings.livekit_api_secret
    )
    redis = open_redis(settings.redis_url, max_connections=4)
    memory = Memory(DebateStates(redis, settings.redis_prefix), ctx.room.name)
    try:
        # One moderator per room, each with its own small pool: a discussion writes a handful
        # of rows in its life.
        db = LobbyDb.connect(settings.async_database_url, settings.database_timeout, pool_size=1)
        async with contextlib.aclosing(db):
            saved, _ = await asyncio.gather(memory.recall(job.match_id), db.warm())
            floor = Floor(lkapi, ctx.room.name)
            audience = Audience(
                Audiences(redis, settings.redis_prefix),
                AudienceDb(db.engine),
                ctx.room.name,
                job.discussion_id,
            )
            moderator = Moderator(
                ctx.room, job, catalogue, fmt, floor, db, memory=memory, audience=audience
            )
            if saved is not None:
                moderator.resume(saved)
            await moderator.run()
    finally:
        await redis.aclose()
        await lkapi.aclose()
    ctx.shutdown("discussion over")
