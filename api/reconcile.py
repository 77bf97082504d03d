"""Reconciliation: what LiveKit says exists wins over what DISCO remembers.

LiveKit's `room_finished` webhook may never arrive (the API was down for longer than LiveKit
retries, or LiveKit restarted and forgot its rooms), and a discussion would then stay live in
Postgres and in Redis forever. At API start and every `reconcile_period` seconds the
reconciler:

- re-creates the lobby room and re-dispatches its agent when missing (`Keeper.ensure`);
- ends, with outcome `lost`, the discussions Postgres holds as live whose LiveKit room no
  longer exists (an outcome the moderator recorded is kept), and releases the live state of
  those rooms and of Redis's active matches whose room is gone, through the release the
  webhook uses (`LobbyStore.finish_room`), Redis first as the webhook does;
- prunes the Redis entries nothing else removes (`lobby.upkeep.prune`) and the webhook event
  ids older than `webhook_retention`.

Only what is older than `reconcile_grace` is judged: the lobby agent writes a discussion's
row while it creates the room, so a young discussion may not have its room yet. When LiveKit
cannot list its rooms nothing is judged (an unreachable LiveKit is not an empty one).

Wire it into the app with `app.cleanup_ctx.append(reconciler)` after the keeper's entry.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web
from livekit import api as lk

from api.keeper import KEEPER, Keeper
from api.keys import DB, LIVEKIT, LOBBY_STORE, SETTINGS
from lobby.db import Database
from lobby.settings import Settings
from lobby.store import LobbyStore
from lobby.supervise import repeat, running
from lobby.upkeep import Pruned, prune

logger = logging.getLogger("disco.reconcile")

LOST = "lost"


@dataclass(frozen=True, slots=True)
class Reconciled:
    # Rooms whose live state was released, and those whose discussion this run ended as lost.
    released: tuple[str, ...]
    lost: tuple[str, ...]
    webhook_events: int
    pruned: Pruned


@dataclass(frozen=True, slots=True)
class Reconciler:
    """Releases what DISCO remembers of rooms LiveKit no longer has, and prunes what nothing
    else removes; with a keeper, also makes sure the lobby rooms are there."""

    settings: Settings
    lkapi: lk.LiveKitAPI
    db: Database
    store: LobbyStore
    keeper: Keeper | None = None

    async def run_once(self) -> Reconciled:
        now = time.time()
        if self.keeper is not None:
            await self.keeper.ensure()
        released, lost = await self._close_gone_rooms(now)
        retention = dt.timedelta(seconds=self.settings.webhook_retention)
        events = await self.db.prune_webhook_events(_utc(now) - retention)
        pruned = await prune(self.store, now)
        return Reconciled(tuple(released), tuple(lost), events, pruned)

    async def _close_gone_rooms(self, now: float) -> tuple[list[str], list[str]]:
        cutoff = now - self.settings.reconcile_grace
        # Listed before reading what DISCO remembers: a room created after this listing
        # belongs to a discussion younger than the grace.
        existing = {r.name for r in (await self.lkapi.room.list_rooms(lk.ListRoomsRequest())).rooms}
        live = await self.db.live_rooms(_utc(cutoff))
        active = await self.store.all_active()
        gone = {room for room in live if room not in existing}
        gone |= {m.room for m in active if m.room not in existing and m.created_at < cutoff}
        released, lost = [], []
        for room in sorted(gone):
            await self.store.finish_room(room)
            released.append(room)
            if await self.db.end_discussion(room, _utc(now), LOST):
                lost.append(room)
                logger.warning("discussion lost: its room is gone", extra={"room": room})
        return released, lost

    async def keep(self) -> None:
        """Run forever, every `reconcile_period` seconds; failures are logged and retried."""
        await repeat("reconciler", self._run_logged, self.settings.reconcile_period)

    async def _run_logged(self) -> None:
        done = await self.run_once()
        if done.released or done.webhook_events or any(_counts(done.pruned)):
            logger.info(
                "reconciled",
                extra={
                    "released": len(done.released),
                    "lost": len(done.lost),
                    "webhook_events": done.webhook_events,
                    "pruned": _counts(done.pruned),
                },
            )


def _utc(at: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(at, dt.UTC)


def _counts(pruned: Pruned) -> tuple[int, int, int]:
    return (pruned.recent, pruned.match_of, pruned.rooms)


RECONCILER = web.AppKey("disco.reconciler", Reconciler)


async def reconciler(app: web.Application) -> AsyncIterator[None]:
    """The cleanup_ctx entry: runs the reconciler in a supervised task while the app runs."""
    app[RECONCILER] = Reconciler(
        app[SETTINGS], app[LIVEKIT], app[DB], app[LOBBY_STORE], app.get(KEEPER)
    )
    async with running("reconciler", app[RECONCILER].keep):
        yield
