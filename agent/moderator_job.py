"""The moderator's job: read its metadata (lobby/contract.py), join the discussion room, pick
up a debate a previous moderator of this room left, and run it (`agent/moderator.py`) until the
end. Redis, Postgres and LiveKit's API are the worker process's, shared by all its jobs
(agent/resources.py).
"""

from __future__ import annotations

import asyncio
import logging

from livekit.agents import AutoSubscribe, JobContext

from agent.audience import Audience
from agent.floor import Floor
from agent.memory import Memory
from agent.moderator import Moderator
from agent.resources import Resources, shared
from agent.room_beats import Beat
from agent.room_safety import RoomSafety, Spawn
from agent.sdk import route
from lobby.contract import Job
from lobby.errors import InvalidPayload
from lobby.formats import Catalogue, Format, load_catalogue
from lobby.settings import Settings

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
    resources = shared(settings)
    with resources.beats.entry(ctx.room.name) as beat:
        await _moderate(ctx, job, resources, beat, fmt, catalogue)
    ctx.shutdown("discussion over")


async def _moderate(
    ctx: JobContext, job: Job, resources: Resources, beat: Beat, fmt: Format, catalogue: Catalogue
) -> None:
    db = resources.db
    memory = Memory(resources.debate_states(), beat)
    saved, _ = await asyncio.gather(memory.recall(job.match_id), db.ping())
    floor = Floor(resources.lkapi, ctx.room.name)
    sanctions = resources.sanctions()
    audience = Audience(beat, db, job.discussion_id)

    def safety(spawn: Spawn) -> RoomSafety:
        return RoomSafety(sanctions, floor, ctx.room.name, spawn)

    moderator = Moderator(
        ctx.room, job, catalogue, fmt, floor, db, memory=memory, safety=safety, audience=audience
    )
    if saved is not None:
        moderator.resume(saved)
    await moderator.run()
