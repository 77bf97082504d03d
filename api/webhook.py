"""LiveKit's webhooks: verified on the exact raw body, applied once per event id.

`room_finished` for a discussion room clears the room's live state in Redis (lobby.store) and
records the end in Postgres; the reconciler (api.reconcile) does the same for a room whose
webhook never came. `participant_left` of an agent has its room checked, so a lobby or
discussion room that lost its agent gets a new one; `participant_joined` and `participant_left`
of a spectator count it in or out (api.audience); other events need nothing from the API.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

from aiohttp import web
from livekit.protocol.webhook import WebhookEvent

from api.audience import is_spectator_event, spectator_event
from api.errors import InvalidSignature, UnsupportedMediaType
from api.keeper import KEEPER
from api.keys import AUDIENCES, DB, LOBBY_STORE, SANCTIONS, WEBHOOKS
from api.supervisor import SUPERVISOR
from lobby.contract import MODERATOR_IDENTITY, is_lobby_agent

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


def _verified(request: web.Request, raw: bytes) -> WebhookEvent:
    """The event, when the Authorization JWT is LiveKit's and its sha256 claim hashes `raw`."""
    auth = request.headers.get("Authorization", "")
    if not auth:
        raise InvalidSignature()
    try:
        # Strict UTF-8 round-trips byte for byte, so the hash covers exactly what was sent.
        return request.app[WEBHOOKS].receive(raw.decode("utf-8"), auth)
    except Exception:  # the receiver raises bare Exception, jwt and protobuf errors alike
        log.warning("webhook refused", extra={"remote": request.remote})
        raise InvalidSignature() from None


# LiveKit sends `application/webhook+json`; plain JSON is taken too.
WEBHOOK_TYPES = ("application/webhook+json", "application/json")


@routes.post("/livekit/webhook")
async def livekit_webhook(request: web.Request) -> web.Response:
    if request.content_type not in WEBHOOK_TYPES:
        raise UnsupportedMediaType("LiveKit webhooks are sent as application/webhook+json.")
    raw = await request.read()
    event = _verified(request, raw)
    if event.event == "room_finished":
        await _room_finished(request, event, raw)
    elif is_spectator_event(event):
        await spectator_event(request.app, event, _event_id(event, raw))
    elif event.event == "participant_left" and is_lobby_agent(event.participant.identity):
        await request.app[KEEPER].ensure()
    elif event.event == "participant_left" and event.participant.identity == MODERATOR_IDENTITY:
        await request.app[SUPERVISOR].check(event.room.name)
    return web.json_response({"ok": True})


def _event_id(event: WebhookEvent, raw: bytes) -> str:
    # LiveKit always sends an id; without one the body's hash still makes a replay a no-op.
    return event.id or "sha256:" + hashlib.sha256(raw).hexdigest()[:57]


async def _room_finished(request: web.Request, event: WebhookEvent, raw: bytes) -> None:
    event_id = _event_id(event, raw)
    at = (
        dt.datetime.fromtimestamp(event.created_at, dt.UTC)
        if event.created_at > 0
        else dt.datetime.now(dt.UTC)
    )
    room = event.room.name
    db = request.app[DB]
    if await db.webhook_seen(event_id):
        return
    # Redis first, outside any transaction: releasing a room twice is harmless, and when
    # either step fails nothing marks the event done, so LiveKit's retry runs both again.
    await request.app[LOBBY_STORE].finish_room(room)
    # The moderator agent's chat record lives as long as the discussion (a report copied it).
    await request.app[SANCTIONS].forget_room(room)
    await request.app[AUDIENCES].clear(room)
    ended = await db.finish_room(event_id, event.event, room, at)
    if ended:
        log.info("discussion ended", extra={"room": room, "event_id": event_id})
