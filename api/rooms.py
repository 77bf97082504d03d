"""Topics, the lobby token, and the moderators' view of live discussions."""

from __future__ import annotations

import logging

from aiohttp import web

from api import tokens
from api.accounts import current_user
from api.errors import Conflict, Forbidden, HeldForReview, NotFound
from api.keeper import KEEPER
from api.keys import DB, LOBBY_STORE, LOBBY_TOKENS, SANCTIONS, SETTINGS
from api.nodes import NODES
from api.validation import path_id
from lobby.db.records import User

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


@routes.get("/api/topics")
async def list_topics(request: web.Request) -> web.Response:
    found = await request.app[DB].topics()
    return web.json_response({"topics": [t.to_json() for t in found]})


@routes.post("/api/lobby/token")
async def lobby_token(request: web.Request) -> web.Response:
    user = await current_user(request)
    if (await request.app[SANCTIONS].standing(str(user.id))).held:
        raise HeldForReview()
    settings = request.app[SETTINGS]
    # A join never creates the room: the keeper has opened the user's shard's room first.
    await request.app[KEEPER].room_ready(tokens.lobby_seat(settings, str(user.id)).index)
    issued = await tokens.issue_lobby_pass(
        request.app[LOBBY_STORE], request.app[LOBBY_TOKENS], settings, str(user.id)
    )
    # The nodes up, the first rotating (api/nodes.py): a client connects to `url`, and
    # nowhere but these, whatever a data packet says (docs/PROTOCOL.md, "Lobby").
    urls = request.app[NODES].public_urls()
    return web.json_response(
        {
            "url": urls[0],
            "livekit_urls": urls,
            # The person's lobby shard: the room the token joins and the agent to call there.
            "room": issued.shard.room,
            "agent_identity": issued.shard.identity,
            "identity": issued.identity,
            "token": issued.token,
        }
    )


async def require_moderator(request: web.Request) -> User:
    user = await current_user(request, fresh=True)
    if not user.is_moderator:
        raise Forbidden("Only moderators may do that.")
    return user


@routes.get("/api/moderator/discussions")
async def live_discussions(request: web.Request) -> web.Response:
    await require_moderator(request)
    found = await request.app[DB].live_discussions()
    return web.json_response({"discussions": [d.to_json() for d in found]})


@routes.post("/api/moderator/discussions/{id}/token")
async def moderator_token(request: web.Request) -> web.Response:
    user = await require_moderator(request)
    discussion = await request.app[DB].discussion(path_id(request, "id"))
    if discussion is None:
        raise NotFound("There is no such discussion.")
    if discussion.ended_at is not None:
        raise Conflict("This discussion has already ended.")
    settings = request.app[SETTINGS]
    # An opaque identity, recorded for the moderator agent to check the role behind it: the
    # debaters never learn which moderator sat in.
    identity = tokens.new_moderator_identity()
    await request.app[SANCTIONS].issue_moderator_identity(identity, str(user.id))
    log.info("moderator token issued", extra={"user_id": str(user.id), "room": discussion.room})
    return web.json_response(
        {
            "url": settings.livekit_public_url,
            "room": discussion.room,
            "identity": identity,
            "token": tokens.moderator_token(settings, identity, discussion.room),
        }
    )
