"""Who may go on watching a public debate. A watch token is checked when it is minted
(api/audience.py), but LiveKit cannot revoke one: a spectator is checked again each time LiveKit
says they joined, and removed at once from a debater's debates in progress when that debater
withdraws consent to an audience (PATCH /api/me) or blocks them (POST /api/blocks)."""

from __future__ import annotations

import logging
import uuid

from aiohttp import web

from api.keys import AUDIENCES, DB, LIVEKIT, LOBBY_STORE
from api.safety import remove_participant
from lobby.db.base import as_uuid

log = logging.getLogger(__name__)


async def admitted(app: web.Application, room: str, identity: str, user: str) -> bool:
    """Whether a spectator LiveKit says joined the room may stay (the rules a watch token is
    minted by, api/audience.py); one who may not is removed from the room."""
    viewer = as_uuid(user)
    if viewer is not None and (await app[DB].watch_check_in(room, viewer)).open_to_viewer:
        return True
    await remove_participant(app[LIVEKIT], room, identity)
    log.info("spectator turned away", extra={"room": room})
    return False


async def turn_away(app: web.Application, debater: uuid.UUID, viewer: uuid.UUID | None) -> int:
    """Remove from the debater's debates in progress every spectator (`viewer` None: the debater
    withdrew consent to an audience) or only `viewer`'s (the debater blocked them). Their watch
    token still joins until it expires; the webhook of that arrival removes them again. The
    number of spectators removed."""
    removed = 0
    for room in await app[DB].live_rooms_of(debater):
        for identity in await app[AUDIENCES].watchers(room):
            if viewer is not None and not await _watched_by(app, identity, viewer):
                continue
            await remove_participant(app[LIVEKIT], room, identity)
            removed += 1
    if removed:
        log.info("spectators turned away", extra={"user_id": str(debater), "removed": removed})
    return removed


async def _watched_by(app: web.Application, identity: str, viewer: uuid.UUID) -> bool:
    """Whether the API minted this spectator identity for `viewer`."""
    found = await app[LOBBY_STORE].spectator(identity)
    return found is not None and found[0] == str(viewer)
