"""Upkeep of the lobby's Redis state: removes the entries of the shared hashes that nothing
else will ever remove (see the key map in lobby.store). The API's reconciler runs it every
minute; it is safe beside running lobby agents, as each entry is checked and removed in one
atomic script step."""

from __future__ import annotations

from dataclasses import dataclass

from lobby.store import LobbyStore
from lobby.store_lua import PRUNE

# Entries looked at per script call, so Redis never blocks for long on a large hash.
PRUNE_PAGE = 500


@dataclass(frozen=True, slots=True)
class Pruned:
    """How many entries one `prune` removed from each shared hash: rematch cooldowns
    (`recent`), `matchOf` entries and `rooms` entries."""

    recent: int
    match_of: int
    rooms: int


async def prune(store: LobbyStore, now: float, page: int = PRUNE_PAGE) -> Pruned:
    """Remove rematch cooldowns that have all run out (`recent`), and `matchOf` and `rooms`
    entries whose match no longer exists (neither pending nor active; not active)."""
    script = store.redis.register_script(PRUNE)
    removed = {}
    for kind in ("recent", "matchOf", "rooms"):
        keys = [store.keys[kind], store.keys["pendingMatches"], store.keys["activeMatches"]]
        cursor, n = "0", 0
        while True:
            cursor, count = await script(keys=keys, args=[kind, cursor, repr(float(now)), page])
            cursor = cursor.decode() if isinstance(cursor, bytes) else str(cursor)
            n += int(count)
            if cursor == "0":
                break
        removed[kind] = n
    return Pruned(recent=removed["recent"], match_of=removed["matchOf"], rooms=removed["rooms"])
