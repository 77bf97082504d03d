"""LiveKit access tokens the API mints (DESIGN.md "Security rules")."""

from __future__ import annotations

import datetime as dt
import json

from livekit import api as lk

from api.records import User
from lobby.settings import Settings

# The lobby must outlive quiet spells (DESIGN.md "LiveKit facts"): when a lobby token's join
# creates the room, it is created with these timeouts and the lobby agent dispatched into it.
_LOBBY_KEEPALIVE = 24 * 3600


def lobby_token(settings: Settings, user: User) -> str:
    """Joins the lobby room only; may send data, may not publish or subscribe media."""
    grants = lk.VideoGrants(
        room_join=True,
        room=settings.lobby_room,
        can_publish=False,
        can_subscribe=False,
        can_publish_data=True,
    )
    config = lk.RoomConfiguration(
        name=settings.lobby_room,
        empty_timeout=_LOBBY_KEEPALIVE,
        departure_timeout=_LOBBY_KEEPALIVE,
        agents=[
            lk.RoomAgentDispatch(
                agent_name=settings.agent_name, metadata=json.dumps({"role": "lobby"})
            )
        ],
    )
    return (
        lk.AccessToken(settings.livekit_api_key, settings.livekit_api_secret)
        .with_identity(str(user.id))
        .with_name(user.display_name)
        .with_ttl(dt.timedelta(seconds=settings.lobby_token_ttl))
        .with_grants(grants)
        .with_room_config(config)
        .to_jwt()
    )


def moderator_identity(user: User) -> str:
    return f"mod-{user.id}"


def moderator_token(settings: Settings, user: User, room: str) -> str:
    """Joins one discussion room with media and data. The role is not trusted from the token:
    the moderator agent checks the identity's user against Postgres."""
    grants = lk.VideoGrants(
        room_join=True,
        room=room,
        can_publish=True,
        can_subscribe=True,
        can_publish_data=True,
    )
    return (
        lk.AccessToken(settings.livekit_api_key, settings.livekit_api_secret)
        .with_identity(moderator_identity(user))
        .with_name(user.display_name)
        .with_ttl(dt.timedelta(seconds=settings.room_token_ttl))
        .with_grants(grants)
        .to_jwt()
    )
