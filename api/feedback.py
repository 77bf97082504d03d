"""After a discussion: rate the partner, report them, block or unblock someone, and
the caller's history. Only someone who really took part may rate or report, once each."""

from __future__ import annotations

import logging

from aiohttp import web

from api import validation as v
from api.accounts import current_user
from api.errors import InvalidField, NotFound
from api.keys import DB, REDIS, SETTINGS
from lobby.db.records import HistoryCursor
from lobby.mirror import Mirror

log = logging.getLogger(__name__)
# History entries per page by default, and at most.
HISTORY_PAGE = 50
HISTORY_MAX = 100

routes = web.RouteTableDef()

REPORT_REASONS = frozenset(
    {"harassment", "hate", "sexual_content", "violence", "spam", "impersonation", "other"}
)


@routes.post("/api/discussions/{id}/rating")
async def rate(request: web.Request) -> web.Response:
    user = await current_user(request)
    discussion_id = v.path_id(request, "id")
    body = await v.read_json(request)
    score = v.integer(body, "score", low=1, high=5)
    talk_again = v.boolean(body, "talk_again")
    ratee = await request.app[DB].rate(discussion_id, user.id, score, talk_again)
    return web.json_response(
        {
            "rating": {
                "discussion_id": str(discussion_id),
                "ratee_id": str(ratee),
                "score": score,
                "talk_again": talk_again,
            }
        },
        status=201,
    )


@routes.post("/api/reports")
async def report(request: web.Request) -> web.Response:
    user = await current_user(request)
    body = await v.read_json(request)
    discussion_id = v.required_identifier(body, "discussion_id")
    reported = v.identifier(body, "user_id", required=False)
    reason = v.choice(body, "reason", REPORT_REASONS)
    note = v.text(body, "note", max_len=1000, required=False) or ""
    report_id, partner = await request.app[DB].report(
        discussion_id, user.id, reported, reason, note
    )
    log.info("report filed", extra={"report_id": str(report_id), "user_id": str(user.id)})
    return web.json_response(
        {
            "report": {
                "id": str(report_id),
                "discussion_id": str(discussion_id),
                "user_id": str(partner),
                "reason": reason,
            }
        },
        status=201,
    )


@routes.post("/api/blocks")
async def block(request: web.Request) -> web.Response:
    user = await current_user(request)
    body = await v.read_json(request)
    blocked = v.required_identifier(body, "user_id")
    if blocked == user.id:
        raise InvalidField("user_id", "you cannot block yourself")
    created = await request.app[DB].block(user.id, blocked)
    # Mirrored for the lobby, which pairs from the mirror while Postgres is away (lobby.mirror);
    # after the commit, so the lobby's own refresh of the mirror cannot lose it.
    mirror = Mirror(request.app[REDIS], request.app[SETTINGS].redis_prefix)
    await mirror.add_block(str(user.id), str(blocked))
    return web.json_response({"block": {"user_id": str(blocked)}}, status=201 if created else 200)


@routes.delete("/api/blocks/{user_id}")
async def unblock(request: web.Request) -> web.Response:
    user = await current_user(request)
    blocked = v.path_id(request, "user_id")
    if not await request.app[DB].unblock(user.id, blocked):
        raise NotFound("You have not blocked this user.")
    return web.Response(status=204)


@routes.get("/api/history")
async def history(request: web.Request) -> web.Response:
    """A page of the caller's discussions, newest first; `next` fetches the older ones."""
    user = await current_user(request)
    limit = v.query_integer(request, "limit", default=HISTORY_PAGE, low=1, high=HISTORY_MAX)
    before = None
    if "before" in request.query:
        try:
            before = HistoryCursor.decode(request.query["before"])
        except (ValueError, UnicodeDecodeError):
            raise InvalidField("before", "is not a cursor this API gave out") from None
    found = await request.app[DB].history(user.id, limit + 1, before)
    page = found[:limit]
    more = len(found) > limit
    return web.json_response(
        {
            "discussions": [entry.to_json() for entry in page],
            "next": HistoryCursor(page[-1].started_at, page[-1].id).encode() if more else None,
        }
    )
