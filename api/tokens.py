"""LiveKit access tokens the API mints; who gets which grant is in docs/SECURITY.md."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass

import jwt
from livekit import api as lk

from api.errors import Flooding
from api.records import User
from lobby.contract import LOBBY_IDENTITY_PREFIX, MODERATOR_PREFIX, SPECTATOR_TOKEN_TTL
from lobby.settings import Settings
from lobby.store import LobbyStore


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

    def mint(self, identity: str, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        claims = {
            **self._shared,
            "sub": identity,
            "iss": self._key,
            "nbf": issued,
            "exp": issued + self._ttl,
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")


@dataclass(frozen=True, slots=True)
class LobbyPass:
    identity: str
    token: str


def livekit_urls(settings: Settings) -> list[str]:
    """Every LiveKit URL a client may connect to; it connects nowhere else."""
    return [settings.livekit_public_url]


def new_lobby_identity() -> str:
    """A lobby connection's identity: 128 random bits, so that nobody in the lobby can tell
    whose connection it is, nor that two connections are the same person's."""
    return LOBBY_IDENTITY_PREFIX + secrets.token_urlsafe(16)


async def issue_lobby_pass(
    store: LobbyStore, minter: LobbyTokens, settings: Settings, user_id: str
) -> LobbyPass:
    """A lobby token under a fresh identity, recorded in Redis for the token's life so the
    lobby agent can tell whose it is (and that it replaces the user's earlier ones); Flooding
    while the user is kept out of the lobby."""
    identity = new_lobby_identity()
    wait = await store.issue_identity(identity, user_id, settings.lobby_token_ttl)
    if wait:
        raise Flooding(wait)
    return LobbyPass(identity, minter.mint(identity))


def moderator_identity(user: User) -> str:
    return f"{MODERATOR_PREFIX}{user.id}"


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


def spectator_token(settings: Settings, identity: str, room: str) -> str:
    """Joins one public debate's room to watch: subscribe only (no media, no data, no
    attributes of its own) and hidden, so the debaters and the agents never see it and it can
    call no agent. Joinable for at most SPECTATOR_TOKEN_TTL seconds; the spectator renews it
    while the debate runs. No name: nobody sees it anyway."""
    grants = lk.VideoGrants(
        room_join=True,
        room=room,
        can_publish=False,
        can_subscribe=True,
        can_publish_data=False,
        can_publish_sources=[],
        can_update_own_metadata=False,
        hidden=True,
    )
    ttl = min(settings.room_token_ttl, SPECTATOR_TOKEN_TTL)
    return (
        lk.AccessToken(settings.livekit_api_key, settings.livekit_api_secret)
        .with_identity(identity)
        .with_ttl(dt.timedelta(seconds=ttl))
        .with_grants(grants)
        .to_jwt()
    )
