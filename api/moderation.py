"""The moderators' review queue, their decisions and the audit log. Only accounts with the
`moderator` role, checked in Postgres on every request."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, cast

from aiohttp import web

from api import validation as v
from api.errors import InvalidField, NotFound
from api.keys import DB
from api.rooms import require_moderator
from api.safety import enforcer
from lobby.db.safety import STATUS_OF, Action, Actor

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

# The longest ban with an end; longer is `permanent`.
MAX_BAN_DAYS = 3650


@routes.get("/api/moderator/reports")
async def review_queue(request: web.Request) -> web.Response:
    """The queue; `?user_id=` keeps the reports by or about one person."""
    await require_moderator(request)
    user = None
    if "user_id" in request.query:
        user = v.identifier(request.query, "user_id")
    return web.json_response({"reports": await request.app[DB].queue(user=user)})


@routes.post("/api/moderator/reports/{id}")
async def decide(request: web.Request) -> web.Response:
    """Decide a report: `dismiss`, `warn`, or `ban` with `days` (fractions allowed) or
    `permanent: true`; `note` says why (in the audit log)."""
    moderator = await require_moderator(request)
    report_id = v.path_id(request, "id")
    body = await v.read_json(request)
    action = cast(Action, v.choice(body, "action", STATUS_OF.keys()))
    until = ban_until(body) if action == "ban" else None
    note = v.text(body, "note", max_len=1000, required=False) or ""
    actor = Actor("moderator", moderator.id)
    decided = await request.app[DB].decide(report_id, action, actor, until, note)
    if decided is None:
        raise NotFound("There is no such report.")
    if decided.reported_id is not None:
        safety = enforcer(request.app)
        await safety.release(decided.reported_id)
        if action == "ban":
            await safety.apply_ban(decided.reported_id, until)
    log.info(
        "report decided",
        extra={"report_id": str(report_id), "user_id": str(moderator.id), "action": action},
    )
    return web.json_response(
        {"report": {"id": str(report_id), "status": decided.status, "ban": _ban(action, until)}}
    )


@routes.get("/api/moderator/audit")
async def audit(request: web.Request) -> web.Response:
    await require_moderator(request)
    return web.json_response({"actions": await request.app[DB].audit()})


def ban_until(body: dict[str, Any]) -> dt.datetime | None:
    """When a ban ends: `days` from now, or None for `permanent: true` (exactly one)."""
    permanent = v.optional_boolean(body, "permanent")
    days = body.get("days")
    if permanent == (days is not None):
        raise InvalidField("days", "a ban needs days, or permanent: true (not both)")
    if permanent:
        return None
    if isinstance(days, bool) or not isinstance(days, (int, float)):
        raise InvalidField("days", f"must be a number of days above 0, at most {MAX_BAN_DAYS}")
    if not 0 < days <= MAX_BAN_DAYS:
        raise InvalidField("days", f"must be a number of days above 0, at most {MAX_BAN_DAYS}")
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=days)


def _ban(action: str, until: dt.datetime | None) -> dict[str, Any] | None:
    if action != "ban":
        return None
    return {"until": None if until is None else until.isoformat(), "permanent": until is None}
