"""The audience: the public debates in progress, a spectator's token for one of them, the votes,
and the spectators LiveKit's webhooks see join and leave (docs/PROTOCOL.md, "Audience").

Spectators are hidden participants: neither the debaters nor the agents can see them, so the
API counts them from the webhooks (in Redis, lobby/audience.py) and records in Postgres that
the account watched (only such accounts vote). The moderator reads the count from Redis and
publishes it to the room.
"""

from __future__ import annotations

import logging
import time
import uuid

from aiohttp import web
from livekit.protocol.webhook import WebhookEvent

from api import tokens
from api import validation as v
from api.accounts import current_user
from api.errors import (
    AlreadyVoted,
    ApiError,
    Conflict,
    Forbidden,
    NotAParticipant,
    NotFound,
    VotingClosed,
)
from api.keys import AUDIENCES, DB, LOBBY_STORE, SETTINGS
from api.watchers import admitted
from lobby.contract import SPECTATOR_PREFIX, side_or_none
from lobby.db.audience import Refusal, Tally

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

_SIDES = ("pro", "con")


@routes.get("/api/live")
async def live(request: web.Request) -> web.Response:
    user = await current_user(request)
    found = await request.app[DB].live_public(user.id)
    now = await request.app[AUDIENCES].live([d.room for d in found])
    debates = [
        {
            "discussion_id": str(d.id),
            "topic": d.topic,
            "topic_title": d.topic_title,
            "motion": d.motion,
            "format": d.format,
            "phase": now[d.room][1],
            "audience": now[d.room][0],
        }
        for d in found
    ]
    return web.json_response({"debates": debates})


@routes.post("/api/live/{id}/watch")
async def watch(request: web.Request) -> web.Response:
    user = await current_user(request, fresh=True)
    discussion_id = v.path_id(request, "id")
    check = await request.app[DB].watch_check(discussion_id, user.id)
    if check.debater:
        raise Forbidden("You are debating in this room; join it from the lobby.")
    if check.blocked:
        raise Forbidden("You cannot watch this debate.")
    if check.debate is None:
        raise NotFound("There is no such public debate.")
    if check.ended:
        raise Conflict("This debate has ended.")
    room = check.debate.room
    identity = await request.app[LOBBY_STORE].spectator_identity(room, str(user.id))
    settings = request.app[SETTINGS]
    log.info("spectator token issued", extra={"user_id": str(user.id), "room": room})
    return web.json_response(
        {
            "url": settings.livekit_public_url,
            "room": room,
            "identity": identity,
            "token": tokens.spectator_token(settings, identity, room),
            "discussion_id": str(discussion_id),
            "topic_title": check.debate.topic_title,
            "motion": check.debate.motion,
            "format": check.debate.format,
        }
    )


_REFUSED: dict[Refusal, tuple[type[ApiError], str]] = {
    "no_discussion": (NotFound, "There is no such discussion."),
    "debater": (Forbidden, "Debaters do not vote on their own debate."),
    "not_spectator": (NotAParticipant, "Only spectators who watched this debate may vote."),
    "too_new": (Forbidden, "Accounts made after the debate began cannot vote on it."),
    "not_open": (VotingClosed, ""),
    "closed": (VotingClosed, ""),
    "already": (AlreadyVoted, ""),
}


def _refused(refusal: Refusal) -> ApiError:
    kind, message = _REFUSED[refusal]
    return kind(message)


@routes.post("/api/discussions/{id}/vote")
async def vote(request: web.Request) -> web.Response:
    user = await current_user(request)
    discussion_id = v.path_id(request, "id")
    body = await v.read_json(request)
    side = side_or_none(v.choice(body, "side", _SIDES))
    assert side is not None
    refusal = await request.app[DB].vote(discussion_id, user.id, side)
    if refusal is not None:
        log.info("vote refused", extra={"refusal": refusal, "discussion": str(discussion_id)})
        raise _refused(refusal)
    log.info("vote recorded", extra={"user_id": str(user.id), "discussion": str(discussion_id)})
    return web.json_response({"votes": await _tally(request, discussion_id, user.id)}, status=201)


@routes.get("/api/discussions/{id}/votes")
async def votes(request: web.Request) -> web.Response:
    user = await current_user(request)
    discussion_id = v.path_id(request, "id")
    return web.json_response({"votes": await _tally(request, discussion_id, user.id)})


async def _tally(request: web.Request, discussion_id: uuid.UUID, viewer: uuid.UUID) -> object:
    found = await request.app[DB].tally(discussion_id, viewer)
    if isinstance(found, Tally):
        return found.to_json()
    raise _refused(found)


# -- LiveKit's webhooks ------------------------------------------------------------------------
def is_spectator_event(event: WebhookEvent) -> bool:
    return event.event in ("participant_joined", "participant_left") and (
        event.participant.identity.startswith(SPECTATOR_PREFIX)
    )


async def spectator_event(app: web.Application, event: WebhookEvent, event_id: str) -> None:
    """Count a spectator in or out of its room, once per event id; an identity the API did not
    mint for that room is ignored."""
    identity, room = event.participant.identity, event.room.name
    found = await app[LOBBY_STORE].spectator(identity)
    if found is None or found[1] != room:
        log.warning("unknown spectator in a room", extra={"room": room})
        return
    user, _ = found
    at = event.created_at or int(time.time())
    db = app[DB]
    if event.event == "participant_joined" and not await admitted(app, room, identity, user):
        # A watch token minted before a debater withdrew consent or blocked this viewer (LiveKit
        # cannot revoke it): removed again, and not counted.
        await db.event_once(event_id, event.event)
        return
    # Redis first: counting an event twice is harmless (only newer events count), and when
    # Postgres fails nothing marks the event done, so LiveKit's retry runs both again.
    if event.event == "participant_joined":
        await app[AUDIENCES].joined(room, identity, at)
        await db.spectator_joined(event_id, event.event, room, user)
    else:
        await app[AUDIENCES].left(room, identity, at)
        await db.event_once(event_id, event.event)
