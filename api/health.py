"""Liveness (`/healthz`: the process answers) and readiness (`/readyz`: Redis, Postgres and
LiveKit each answer; 503 naming those that do not)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from livekit import api as lk

from api.errors import NotReady
from api.keys import DB, LIVEKIT, REDIS, SETTINGS

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

# Each server gets this long to answer, whatever its client's own timeouts.
CHECK_TIMEOUT = 2.0


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _check(name: str, probe: Callable[[], Awaitable[object]]) -> str | None:
    """None when `probe` answers in time, else `name`."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await probe()
    except Exception:  # any failure means "not ready"; the name is what the caller needs
        log.warning("readiness check failed", extra={"check": name}, exc_info=True)
        return name
    return None


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    app = request.app
    lobby = lk.ListRoomsRequest(names=[app[SETTINGS].lobby_room])
    failing = [
        name
        for name in await asyncio.gather(
            _check("redis", app[REDIS].ping),
            _check("postgres", app[DB].ping),
            _check("livekit", lambda: app[LIVEKIT].room.list_rooms(lobby)),
        )
        if name is not None
    ]
    if failing:
        raise NotReady("Not ready: " + ", ".join(failing) + " did not answer.", tuple(failing))
    return web.json_response({"status": "ready", "checks": ["redis", "postgres", "livekit"]})
