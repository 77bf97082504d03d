"""This lobby agent's shard: which shard a job serves, and which of the lobby's people it looks
after. Every shard pairs from the same queues, but a person's presence (are they still in the
lobby?) can only be seen from the room they are seated in, so each agent drops the tickets of
its own room's people only (`Seat.owner`: a person with no lobby connection at all, or seated
in a shard no longer configured, is shard 0's).
"""

from __future__ import annotations

import time
from collections.abc import Container, Iterable, Mapping

from livekit import api

from agent.lobby_guard import Guard
from lobby.contract import Job, LobbyShard, is_lobby_service, lobby_shard
from lobby.settings import ConfigError, Settings
from lobby.store import LobbyStore

# A ticket younger than this may belong to someone LiveKit has not listed in the room yet.
JOIN_GRACE = 2.0
# A connection LiveKit has listed in the room for this long, which the agent's own connection
# has never been told of, is in another instance of the room (`unseen`).
SPLIT_GRACE = 15.0


def job_shard(job: Job, room: str, settings: Settings) -> LobbyShard:
    """The lobby shard this job serves; ConfigError when the room it was dispatched into is not
    that shard's (the API and the worker disagree on DISCO_LOBBY_ROOM or DISCO_LOBBY_SHARDS)."""
    shard = lobby_shard(settings.lobby_room, job.shard)
    if shard.room != room or job.shard >= settings.lobby_shards:
        raise ConfigError(
            f"lobby shard {job.shard} was dispatched into room {room!r}; this worker expects "
            f"{settings.lobby_shards} shard(s) of lobby room {settings.lobby_room!r}"
        )
    return shard


def unseen(listed: Mapping[str, float], seen: Container[str], now: float) -> list[str]:
    """The connections LiveKit lists in the room (identity -> when it joined, unix seconds) for
    over SPLIT_GRACE that the agent's own connection does not see: LiveKit tells the room of a
    join within seconds, so these are in another instance of the room, one LiveKit opened on
    another node when this one's stats were late (docs/DEPLOY.md, "Headroom"). LiveKit's list
    is one for the room's name, whichever node holds each of its people."""
    return sorted(
        i
        for i, joined in listed.items()
        if i not in seen and not is_lobby_service(i) and now - joined > SPLIT_GRACE
    )


class Seated:
    """The people of one shard's room."""

    def __init__(
        self,
        lkapi: api.LiveKitAPI,
        room: str,
        store: LobbyStore,
        guard: Guard,
        shard: int,
        shards: int,
    ) -> None:
        self.lkapi, self.room, self.store, self.guard = lkapi, room, store, guard
        self.shard, self.shards = shard, shards
        # Every connection the server listed at the last `present`, and when it joined.
        self.listed_at: dict[str, float] = {}

    async def present(self) -> set[str]:
        """The users in this shard's room now; connections that may not be there are removed."""
        found = await self.lkapi.room.list_participants(api.ListParticipantsRequest(room=self.room))
        self.listed_at = {p.identity: float(p.joined_at) for p in found.participants}
        return await self.guard.present([p.identity for p in found.participants])

    async def listed(self, identity: str) -> bool:
        """Whether the server still lists this connection in the room; True when it cannot tell
        (unreachable): only a departure the server confirms costs anyone their ticket."""
        try:
            await self.lkapi.room.get_participant(
                api.RoomParticipantIdentity(room=self.room, identity=identity)
            )
        except api.TwirpError as e:
            return e.code != api.TwirpErrorCode.NOT_FOUND
        except Exception:
            return True
        return True

    async def mine(self, users: Iterable[str]) -> set[str]:
        """Those of these users whose presence this shard looks after."""
        seats = await self.store.seats(sorted(users))
        return {u for u, s in seats.items() if s.owner(self.shards) == self.shard}

    async def strays(self) -> list[str]:
        """This shard's people holding a ticket who are no longer in its room. The disconnect
        event usually tells, but LiveKit announces joins and leaves seconds late and never
        announces a leave of someone the agent had not yet seen join; the server's list is
        the truth."""
        present = await self.present()
        now = time.time()
        out = []
        for user in await self.mine(await self.store.queued_users()):
            t = await self.store.ticket(user)
            if user not in present and t is not None and now - t.joined_at > JOIN_GRACE:
                out.append(user)
        return out
