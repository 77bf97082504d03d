"""The lobby's events on their way to people, part of `LobbyStore` (lobby/store.py has the key
map): one Redis stream per lobby shard, `{p}:notify:<shard>`, of the events for the people
seated in that shard's room.

Any shard's agent appends to it (a pairing made by one shard may concern people of two), and
only that shard's agent reads it, through a consumer group, deleting an entry once its event
is sent. So each person's events go out from one agent, in the order they were appended, with
numbers taken in that order; and an entry appended while the shard's agent is away, or read by
an agent that died before sending it, is read by the shard's next agent: nothing appended is
lost by a restart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from lobby.identities import text

# One group per stream; its one consumer is whichever agent serves the shard now. A new agent
# reads the entries its predecessor read and never deleted under the same name.
GROUP = "agents"
CONSUMER = "agent"
# A shard whose agent stays away keeps at most about this many events waiting; older ones go
# (events are hints: a client reads its state with `lobby.status` whenever it connects).
NOTICES_MAXLEN = 50_000


@dataclass(frozen=True, slots=True)
class Notice:
    """A lobby event waiting in a shard's Redis stream for its agent to send: the stream
    entry's id, the person it is for, and the event."""

    id: str
    user: str
    # The event's JSON, without its sequence number (numbered when sent).
    event: str


def _notice(entry: Any) -> Notice:
    entry_id, fields = entry
    # An entry trimmed away while it was read and not deleted has no fields left.
    fields = fields or {}
    return Notice(text(entry_id), text(fields.get("user", "")), text(fields.get("event", "")))


class LobbyNotices:
    """Mixed into `LobbyStore`, which sets these attributes."""

    redis: Redis
    prefix: str

    def _notices_key(self, shard: int) -> str:
        return f"{{{self.prefix}}}:notify:{shard}"

    async def notify(self, notices: Iterable[tuple[int, str, str]]) -> None:
        """Append each (shard, user, event JSON) to that shard's stream, in this order, in one
        round trip."""
        async with self.redis.pipeline(transaction=False) as p:
            for shard, user, event in notices:
                p.xadd(
                    self._notices_key(shard),
                    {"user": user, "event": event},
                    maxlen=NOTICES_MAXLEN,
                    approximate=True,
                )
            await p.execute()

    async def open_notices(self, shard: int) -> None:
        """Make the shard's stream and its group, if they are not there yet. From the start of
        the stream: events appended before the shard's first agent ever came are read too."""
        try:
            await self.redis.xgroup_create(self._notices_key(shard), GROUP, id="0", mkstream=True)
        except ResponseError as e:
            if "BUSYGROUP" not in str(e):
                raise

    async def read_notices(
        self, shard: int, count: int, block_ms: int, *, backlog: bool = False
    ) -> list[Notice]:
        """Up to `count` events for the shard: new ones (waiting up to `block_ms` for one), or
        with `backlog` those read earlier and never deleted (an agent died meanwhile)."""
        key = self._notices_key(shard)
        # [[stream, [(id, {field: value}), ...]]], or None when nothing came (RESP2).
        found: Any = await self.redis.xreadgroup(
            GROUP,
            CONSUMER,
            {key: "0" if backlog else ">"},
            count=count,
            block=None if backlog else block_ms,
        )
        return [_notice(entry) for _, entries in found or () for entry in entries]

    async def notices_waiting(self, shard: int) -> int:
        """Events in the shard's stream not yet sent (or sent and not yet deleted)."""
        return int(await self.redis.xlen(self._notices_key(shard)))

    async def drop_notices(self, shard: int, ids: Sequence[str]) -> None:
        """Done with these events (sent, or found to be for nobody)."""
        if not ids:
            return
        key = self._notices_key(shard)
        async with self.redis.pipeline(transaction=True) as p:
            p.xack(key, GROUP, *ids)
            p.xdel(key, *ids)
            await p.execute()
