"""LiveKit access tokens the API mints; who gets which grant is in docs/SECURITY.md."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import time
from dataclasses import dataclass, replace

import jwt
from livekit import api as lk

from api.errors import Flooding
from lobby.contract import (
    LOBBY_IDENTITY_PREFIX,
    MODERATOR_NAME,
    MODERATOR_PREFIX,
    SPECTATOR_TOKEN_TTL,
    LobbyShard,
    lobby_shard,
)
from lobby.settings import Settings
from lobby.store import LobbyStore

# What each token the API mints may do in the one room it joins (its `room` is set per token).
# The lobby: data only, no media either way.
LOBBY = lk.VideoGrants(room_join=True, can_publish=False, can_subscribe=False)
# A human moderator in a discussion room: media and data both ways.
MODERATOR = lk.VideoGrants(room_join=True, can_publish=True, can_subscribe=True)
# A spectator: subscribes only, hidden, and may change nothing of its own.
SPECTATOR = lk.VideoGrants(
    room_join=True,
    can_publish=False,
    can_publish_data=False,
    can_publish_sources=[],
    can_update_own_metadata=False,
    hidden=True,
)


class LobbyTokens:
    """Mints lobby tokens: one lobby shard's room only; may send data, may not publish or
    subscribe media. A token carries no room configuration: joins never create rooms (livekit.yaml),
    the API's keeper creates the lobby room and dispatches its agent. A lobby token carries no
    name: everyone in the lobby room can list its participants, and strangers waiting there
    see only opaque ids (LiveKit's `hidden` grant would hide them, but LiveKit then strips the
    sender of their packets, so the agent could not tell who is calling; bench/lobby_e2e.py).
    The lobby agent reads display names from Postgres.

    The claims every lobby token shares (the grants) are serialised once, by
    livekit-api's own `AccessToken`; each token then adds only who and when, and is signed as
    `AccessToken.to_jwt` signs it (HS256); bench/api_tokens.py measures the route."""

    def __init__(self, settings: Settings) -> None:
        self._shared = [
            self._grants(settings, lobby_shard(settings.lobby_room, k).room)
            for k in range(settings.lobby_shards)
        ]
        self._key = settings.livekit_api_key
        self._secret = settings.livekit_api_secret
        self._ttl = settings.lobby_token_ttl

    @staticmethod
    def _grants(settings: Settings, room: str) -> dict[str, object]:
        template = lk.AccessToken(settings.livekit_api_key, settings.livekit_api_secret)
        return template.with_grants(replace(LOBBY, room=room)).claims.asdict()

    def mint(self, identity: str, now: float | None = None, *, shard: int = 0) -> str:
        """A token for lobby shard `shard`'s room."""
        issued = int(time.time() if now is None else now)
        claims = {
            **self._shared[shard],
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
    # The shard the person is seated in: the room the token joins and the agent to call.
    shard: LobbyShard


def seat_shard(user_id: str, shards: int) -> int:
    """The lobby shard a person is seated in: a hash of their user id, the same in every API
    process and every time. Stable, so a reload, a second tab or the next token lands in the
    room the person's older connection is in (which it replaces there), and all their events
    go through one agent, in order. User ids are random, so the shards fill evenly without a
    count anyone must keep; a least-loaded choice would need that shared count and would move
    people between rooms as the load shifts, for little gain over an even hash."""
    if shards <= 1:
        return 0
    digest = hashlib.blake2b(user_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


def lobby_seat(settings: Settings, user_id: str) -> LobbyShard:
    return lobby_shard(settings.lobby_room, seat_shard(user_id, settings.lobby_shards))


def livekit_urls(settings: Settings) -> list[str]:
    """Every LiveKit URL a client may ever connect to (every node's); it connects nowhere
    else. A lobby token lists those of them that are up (api/nodes.py)."""
    return [public for _, public in settings.livekit_nodes]


def new_lobby_identity() -> str:
    """A lobby connection's identity: 128 random bits, so that nobody in the lobby can tell
    whose connection it is, nor that two connections are the same person's."""
    return LOBBY_IDENTITY_PREFIX + secrets.token_urlsafe(16)


async def issue_lobby_pass(
    store: LobbyStore, minter: LobbyTokens, settings: Settings, user_id: str
) -> LobbyPass:
    """A lobby token under a fresh identity for the user's lobby shard, recorded in Redis for the
    token's life so the shard's agent can tell whose it is (and that it replaces the user's
    earlier ones); Flooding while the user is kept out of the lobby."""
    identity = new_lobby_identity()
    shard = lobby_seat(settings, user_id)
    wait = await store.issue_identity(identity, user_id, settings.lobby_token_ttl, shard.index)
    if wait:
        raise Flooding(wait)
    return LobbyPass(identity, minter.mint(identity, shard=shard.index), shard)


def new_moderator_identity() -> str:
    """A human moderator's identity in a room: opaque, like a lobby identity."""
    return MODERATOR_PREFIX + secrets.token_urlsafe(16)


def moderator_token(settings: Settings, identity: str, room: str) -> str:
    """Joins one discussion room with media and data, as "Moderator". The role is not trusted
    from the token: the moderator agent looks up the identity's user (lobby/sanctions.py) and
    checks the role in Postgres."""
    grants = replace(MODERATOR, room=room)
    return _signed(settings, identity, grants, settings.room_token_ttl, name=MODERATOR_NAME)


def spectator_token(settings: Settings, identity: str, room: str) -> str:
    """Joins one public debate's room to watch: subscribe only (no media, no data, no
    attributes of its own) and hidden, so the debaters and the agents never see it and it can
    call no agent. Joinable for at most SPECTATOR_TOKEN_TTL seconds; the spectator renews it
    while the debate runs. No name: nobody sees it anyway."""
    ttl = min(settings.room_token_ttl, SPECTATOR_TOKEN_TTL)
    return _signed(settings, identity, replace(SPECTATOR, room=room), ttl)


def _signed(
    settings: Settings, identity: str, grants: lk.VideoGrants, ttl: int, name: str | None = None
) -> str:
    token = lk.AccessToken(settings.livekit_api_key, settings.livekit_api_secret)
    if name is not None:
        token = token.with_name(name)
    return (
        token.with_identity(identity)
        .with_ttl(dt.timedelta(seconds=ttl))
        .with_grants(grants)
        .to_jwt()
    )
