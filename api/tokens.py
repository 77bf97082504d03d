"""LiveKit access tokens the API mints (DESIGN.md "Security rules")."""

from __future__ import annotations

import datetime as dt
import time

import jwt
from livekit import api as lk

from api.records import User
from lobby.settings import Settings


class LobbyTokens:
    """Mints lobby tokens: the lobby room only; may send data, may not publish or subscribe
    media. A token carries no room configuration: joins never create rooms (livekit.yaml),
    the API's keeper creates the lobby room and dispatches its agent. A lobby token carries no
    name: everyone in the lobby room can list its participants, and strangers waiting there
    see only opaque ids (LiveKit's `hidden` grant would hide them, but LiveKit then strips the
    sender of their packets, so the agent could not tell who is calling; bench/lobby_e2e.py).
    The lobby agent reads display names from Postgres.

    The claims every lobby token shares (the grants) are serialised once, by
    livekit-api's own `AccessToken`; each token then adds only who and when, and is signed as
    `AccessToken.to_jwt` signs it (HS256); bench/api_tokens.py measures the route."""

    def __init__(self, settings: Settings) -> None:
        grants = lk.VideoGrants(
            room_join=True,
            room=settings.lobby_room,
            can_publish=False,
            can_subscribe=False,
            can_publish_data=True,
        )
        template = lk.AccessToken(settings.livekit_api_key, settings.livekit_api_secret)
        self._shared = template.with_grants(grants).claims.asdict()
        self._key = settings.livekit_api_key
        self._secret = settings.livekit_api_secret
        self._ttl = settings.lobby_token_ttl

    def mint(self, user: User, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        claims = {
            **self._shared,
            "sub": str(user.id),
            "iss": self._key,
            "nbf": issued,
            "exp": issued + self._ttl,
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")


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
