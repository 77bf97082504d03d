"""Who is calling the lobby agent, and whether they may stay in the lobby.

A lobby connection's identity is opaque: the API mints a fresh one with every lobby token and
records in Redis whose it is, and which is the user's newest (lobby.store). Tickets, matches
and event numbers stay keyed by user; this guard maps every caller to its user and removes
from the lobby room:

- identities nobody recorded (a token not minted by the API, or whose mapping is gone);
- identities recorded for another lobby shard's room (each shard's agent admits only the
  connections the API seated in its shard);
- identities a newer connection of the same person replaced;
- people who flood the agent with RPCs or data packets, whose user is then kept out of the
  lobby for a while (the API mints them no lobby token, and the guard removes them again if
  they come back with a token they still hold: RemoveParticipant does not revoke a token);
- people banned or held for review (lobby/sanctions.py), for the same reason.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

from livekit import api

from lobby.contract import is_lobby_service
from lobby.errors import Flooding, KeptOut, Replaced, UnknownCaller
from lobby.identities import Standing
from lobby.sanctions import Sanctions
from lobby.settings import Settings
from lobby.store import LobbyStore

logger = logging.getLogger("disco.lobby")

# A refused caller is removed this long after the refusal, so the RPC's error reply (which
# says why) reaches it before the connection drops.
REMOVE_DELAY = 0.5

Spawn = Callable[[Coroutine[Any, Any, None]], None]


@dataclass(slots=True)
class _Bucket:
    level: float
    at: float


class FloodMeter:
    """Messages per sender as a leaky bucket: `rate` drain away each second and a burst of
    `rate * window` fits; a sender whose bucket runs over floods. Pure: time comes in."""

    def __init__(self, rate: int, window: int) -> None:
        self.rate, self.capacity = float(rate), float(rate * window)
        self._buckets: dict[str, _Bucket] = {}

    def hit(self, sender: str, now: float) -> bool:
        b = self._buckets.get(sender)
        if b is None:
            b = self._buckets[sender] = _Bucket(0.0, now)
        b.level = max(0.0, b.level - (now - b.at) * self.rate) + 1.0
        b.at = now
        return b.level > self.capacity

    def forget(self, sender: str) -> None:
        self._buckets.pop(sender, None)

    def keep(self, senders: set[str]) -> None:
        """Forget every sender but these."""
        for gone in set(self._buckets) - senders:
            del self._buckets[gone]


class Guard:
    def __init__(
        self,
        lkapi: api.LiveKitAPI,
        room: str,
        settings: Settings,
        store: LobbyStore,
        spawn: Spawn,
        shard: int = 0,
    ) -> None:
        self.lkapi, self.room, self.settings, self.store = lkapi, room, settings, store
        self._spawn, self.shard = spawn, shard
        self._sanctions = Sanctions(store.redis, store.prefix)
        # identity -> user, for the connections admitted so far
        self._users: dict[str, str] = {}
        self._rpcs = FloodMeter(settings.flood_rpc_rate, settings.flood_window)
        self._packets = FloodMeter(settings.flood_packet_rate, settings.flood_window)
        # Identities being removed for flooding: their further calls are refused at once.
        self._flooders: set[str] = set()
        self._removing: set[str] = set()
        self._kept_at = time.monotonic()

    # -- callers ---------------------------------------------------------------------------
    async def admit(self, identity: str) -> str:
        """The user behind an RPC's caller; raises (and has the caller removed) when the
        caller floods, is unknown, was replaced by a newer connection, or is kept out."""
        if identity in self._flooders:
            raise Flooding(retry_after=self.settings.flood_ban)
        if self._rpcs.hit(identity, time.monotonic()):
            await self._flooded(identity)
            raise Flooding(retry_after=self.settings.flood_ban)
        user = await self._user(identity)
        if user is None:
            self.remove(identity, "unknown")
            raise UnknownCaller()
        standing = (await self.store.standings([user]))[user]
        refusal = self._refusal(identity, standing)
        if refusal is None and await self._sanctions.barred([user]):
            refusal = "barred"
        if refusal is None:
            return user
        self.remove(identity, refusal)
        if refusal == "kept out":
            raise Flooding(retry_after=standing.banned)
        if refusal == "barred":
            raise KeptOut()
        raise Replaced() if refusal == "replaced" else UnknownCaller()

    def _refusal(self, identity: str, standing: Standing) -> str | None:
        """Why this connection of the user may not stay in this shard's room, or None."""
        if standing.banned:
            return "kept out"
        if standing.identity != identity:
            return "replaced"
        if standing.shard != self.shard:
            return "other shard"
        return None

    def packet(self, identity: str) -> None:
        """A data packet reached the agent (sent to it, or to everyone)."""
        if identity not in self._flooders and self._packets.hit(identity, time.monotonic()):
            self._spawn(self._flooded(identity))

    async def arrived(self, identity: str) -> None:
        """Someone joined the lobby room: turn them away at once if they may not be there."""
        if is_lobby_service(identity):
            return
        for _, user in await self._check([identity]):
            # A newer connection of the same person replaces the older ones.
            for older, owner in list(self._users.items()):
                if owner == user and older != identity:
                    self.remove(older, "replaced")

    async def left(self, identity: str) -> str | None:
        """A connection left the lobby: its user, when that was the user's newest connection
        (their ticket goes with it); None when it was replaced, unknown or never admitted."""
        self._rpcs.forget(identity)
        self._packets.forget(identity)
        self._flooders.discard(identity)
        user = self._users.pop(identity, None)
        if user is None:
            return None
        current = (await self.store.standings([user]))[user].identity
        return user if current in (None, identity) else None

    async def present(self, identities: Iterable[str]) -> set[str]:
        """The users of these lobby connections (the room's whole list) who may stay; every
        other connection among them (unknown, replaced, kept out) is removed."""
        listed = set(identities)
        kept = await self._check(listed)
        await self._keep(kept)
        # Forget connections gone without a word (LiveKit never announces the leave of one the
        # agent had not seen arrive); the next call of one still here looks it up again.
        for identity in set(self._users) - listed:
            del self._users[identity]
        self._rpcs.keep(listed)
        self._packets.keep(listed)
        return {user for _, user in kept}

    async def _check(self, identities: Iterable[str]) -> list[tuple[str, str]]:
        """(identity, user) of the connections that may stay; the others are removed."""
        people = [i for i in identities if not is_lobby_service(i)]
        missing = [i for i in people if i not in self._users]
        self._users.update(await self.store.users_of(missing))
        users = sorted({self._users[i] for i in people if i in self._users})
        standings = await self.store.standings(users)
        barred = await self._sanctions.barred(users)
        kept: list[tuple[str, str]] = []
        for identity in people:
            user = self._users.get(identity)
            refusal = "unknown" if user is None else self._refusal(identity, standings[user])
            if refusal is None and user in barred:
                refusal = "barred"
            if refusal is not None:
                self.remove(identity, refusal)
            elif user is not None:
                kept.append((identity, user))
        return kept

    # -- removal ---------------------------------------------------------------------------
    def remove(self, identity: str, reason: str) -> None:
        if identity in self._removing:
            return
        self._removing.add(identity)
        self._spawn(self._remove(identity, reason))

    async def _remove(self, identity: str, reason: str) -> None:
        await asyncio.sleep(REMOVE_DELAY)
        try:
            await self.lkapi.room.remove_participant(
                api.RoomParticipantIdentity(room=self.room, identity=identity)
            )
            logger.info("lobby participant removed", extra={"identity": identity, "why": reason})
        except Exception:
            # Gone already, most often; it cannot come back without a token the agent admits.
            logger.info("lobby participant not removed", extra={"identity": identity})
        finally:
            self._removing.discard(identity)

    async def _flooded(self, identity: str) -> None:
        """Keep the flooder's user out of the lobby for a while and remove the connection."""
        if identity in self._flooders:
            return
        self._flooders.add(identity)
        self.remove(identity, "flooding")
        try:
            user = await self._user(identity)
            if user is not None:
                await self.store.flag_flooding(user, self.settings.flood_ban)
            logger.warning("lobby flood stopped", extra={"identity": identity, "user_id": user})
        except Exception:
            # Removed all the same; only the ban is missing, and a flood on return is caught.
            logger.exception("lobby flooder not flagged", extra={"identity": identity})

    async def _user(self, identity: str) -> str | None:
        user = self._users.get(identity)
        if user is None:
            user = (await self.store.users_of([identity])).get(identity)
            if user is not None:
                self._users[identity] = user
        return user

    async def _keep(self, pairs: list[tuple[str, str]]) -> None:
        """Refresh the mappings of connections still here, a few times per token life."""
        ttl = self.settings.lobby_token_ttl
        if not pairs or time.monotonic() - self._kept_at < ttl / 3:
            return
        self._kept_at = time.monotonic()
        await self.store.keep_identities(pairs, ttl)
