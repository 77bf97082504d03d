"""After a discussion: rate the partner, report them, block or unblock someone, and
the caller's history. Only someone who really took part may rate or report, once each."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from aiohttp import web

from api import validation as v
from api.accounts import current_user
from api.errors import InvalidField, NotFound
from api.keys import DB, REDIS, SANCTIONS, SETTINGS
from api.safety import enforcer
from api.watchers import turn_away
from lobby.db.records import HistoryCursor
from lobby.mirror import Mirror

log = logging.getLogger(__name__)
# History entries per page by default, and at most.
HISTORY_PAGE = 50
HISTORY_MAX = 100

routes = web.RouteTableDef()

REPORT_REASONS = frozenset(
    {
        "harassment",
        "hate",
        "sexual_content",
        "violence",
        "spam",
        "impersonation",
        "underage",
        "other",
    }
)
# A report may carry the chat as the reporter saw it: at most this many lines of this length.
CHAT_LINES = 200
CHAT_TEXT = 2000
REPORT_BODY = 64 * 1024
# How much a report by an account younger than DISCO_YOUNG_ACCOUNT counts toward a hold.
YOUNG_WEIGHT = 0.5


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
    """Report the partner of a discussion, during it or after: `discussion_id` (or the
    discussion's `room`), a reason, a note, the chat as the reporter saw it, and `block`."""
    user = await current_user(request)
    body = await v.read_json(request, limit=REPORT_BODY)
    discussion_id = await _discussion(request, body)
    reported = v.identifier(body, "user_id", required=False)
    reason = v.choice(body, "reason", REPORT_REASONS)
    note = v.text(body, "note", max_len=1000, required=False) or ""
    chat = _chat(body)
    block = v.optional_boolean(body, "block")
    settings, safety = request.app[SETTINGS], request.app[DB]
    weight = await safety.report_weight(user.id, settings.young_account, YOUNG_WEIGHT)
    found = await request.app[DB].discussion(discussion_id)
    sanctions = request.app[SANCTIONS]
    room_chat = None if found is None else await sanctions.chat(found.room)
    evidence = {"chat": chat, "room_chat": room_chat or None, "weight": weight}
    report_id, partner = await request.app[DB].report(
        discussion_id, user.id, reported, reason, note, evidence
    )
    log.info("report filed", extra={"report_id": str(report_id), "user_id": str(user.id)})
    if found is not None and found.ended_at is None:
        # Leaving the debate now does not lose it by forfeit (the moderator agent reads this).
        await sanctions.note_reporter(found.room, str(user.id))
    if block:
        await _block(request, user.id, partner)
    window, threshold = settings.hold_window, settings.hold_reports
    if await safety.hold_if_due(partner, window, threshold, report_id):
        log.warning("account held for review", extra={"user_id": str(partner)})
        await enforcer(request.app).hold(partner)
    return web.json_response(
        {
            "report": {
                "id": str(report_id),
                "discussion_id": str(discussion_id),
                "user_id": str(partner),
                "reason": reason,
                "status": "open",
                "blocked": block,
            }
        },
        status=201,
    )


@routes.get("/api/reports")
async def my_reports(request: web.Request) -> web.Response:
    """The caller's reports and what was decided on each."""
    user = await current_user(request)
    return web.json_response({"reports": await request.app[DB].mine(user.id)})


@routes.get("/api/me/warnings")
async def my_warnings(request: web.Request) -> web.Response:
    """The warnings moderators gave the caller that they have not marked read."""
    user = await current_user(request)
    return web.json_response({"warnings": await request.app[DB].warnings(user.id)})


@routes.post("/api/me/warnings/{id}/read")
async def warning_read(request: web.Request) -> web.Response:
    user = await current_user(request)
    warning_id = v.path_id(request, "id")
    if not await request.app[DB].warning_read(user.id, warning_id):
        raise NotFound("You have no such warning.")
    return web.Response(status=204)


async def _discussion(request: web.Request, body: dict[str, Any]) -> uuid.UUID:
    """The discussion a report is about: by id, or by room name (what a client in the room
    knows)."""
    if body.get("discussion_id") is not None or body.get("room") is None:
        return v.required_identifier(body, "discussion_id")
    room = v.required_text(body, "room", min_len=1, max_len=128)
    found = await request.app[DB].discussion_of_room(room)
    if found is None:
        raise NotFound("There is no such discussion.")
    return found


def _chat(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The chat as the reporter's client showed it: [{"from", "text", "at"?}], checked line by
    line; the reporter's word, kept apart from the room's record."""
    lines = body.get("chat")
    if lines is None:
        return []
    if not isinstance(lines, list) or len(lines) > CHAT_LINES:
        raise InvalidField("chat", f"must be a list of at most {CHAT_LINES} messages")
    out = []
    for n, line in enumerate(lines):
        if not isinstance(line, dict) or set(line) - {"from", "text", "at"}:
            raise InvalidField("chat", f"message {n} must be an object with from, text and at")
        sender = v.text(line, "from", min_len=1, max_len=100, printable=True)
        said = v.text(line, "text", max_len=CHAT_TEXT)
        at = line.get("at")
        if at is not None and (isinstance(at, bool) or not isinstance(at, (int, float, str))):
            raise InvalidField("chat", f"message {n}: at must be a time")
        if isinstance(at, str) and len(at) > 40:
            raise InvalidField("chat", f"message {n}: at must be a time")
        out.append({"from": sender, "text": said, "at": at})
    return out


async def _block(request: web.Request, blocker: uuid.UUID, blocked: uuid.UUID) -> bool:
    created = await request.app[DB].block(blocker, blocked)
    # Mirrored for the lobby, which pairs from the mirror while Postgres is away (lobby.mirror);
    # after the commit, so the lobby's own refresh of the mirror cannot lose it.
    mirror = Mirror(request.app[REDIS], request.app[SETTINGS].redis_prefix)
    await mirror.add_block(str(blocker), str(blocked))
    return created


@routes.post("/api/blocks")
async def block(request: web.Request) -> web.Response:
    user = await current_user(request)
    body = await v.read_json(request)
    blocked = v.required_identifier(body, "user_id")
    if blocked == user.id:
        raise InvalidField("user_id", "you cannot block yourself")
    created = await _block(request, user.id, blocked)
    await turn_away(request.app, user.id, blocked)
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
