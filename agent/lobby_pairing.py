"""The lobby agent's pairing rounds and `queued` updates: which queues to pair next, the pace
of pairing per queue (for wait estimates), and the people whose place moved.

The lobby session marks queues `dirty` (someone's place may have moved) or `wanted` (someone
just joined: pair it on the next wake without scanning every queue) and sets `wake`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from agent.lobby_events import Events
from agent.lobby_profiles import Profiles
from lobby import lifecycle, policy
from lobby.settings import Settings
from lobby.store import Joined, LobbyStore
from lobby.supervise import Backoff, failed, repeat

logger = logging.getLogger("disco.lobby")

PAIRING_PERIOD = 1.0
# `queued` updates after positions move go out at most this often.
REFRESH_PERIOD = 2.0

Spawn = Callable[[Coroutine[Any, Any, None]], None]


class Pairing:
    def __init__(
        self,
        settings: Settings,
        store: LobbyStore,
        profiles: Profiles,
        events: Events,
        spawn: Spawn,
        quietly: Callable[[Awaitable[object]], Coroutine[Any, Any, None]],
    ) -> None:
        self.settings, self.store, self.profiles, self.events = settings, store, profiles, events
        self._spawn, self._quietly = spawn, quietly
        self.wake = asyncio.Event()
        self.dirty: set[str] = set()
        self.wanted: set[str] = set()
        self._rng = random.SystemRandom()
        self._scanned_at = 0.0
        self._intervals: dict[str, float] = {}
        self._last_pair: dict[str, float] = {}

    def estimate(self, bucket: str, pos: Joined) -> int:
        return policy.estimate_wait(pos.position, pos.waiting, self._intervals.get(bucket))

    async def pairing_loop(self) -> None:
        # A short cap: once Redis is back, pairing resumes within a couple of seconds.
        backoff = Backoff()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), PAIRING_PERIOD)
            self.wake.clear()
            try:
                await self._pair_once()
                backoff.reset()
            except Exception as e:
                failed(logger, "pairing round failed", e)
                await asyncio.sleep(backoff.delay())

    async def _pair_once(self) -> None:
        wanted = set(self.wanted)
        self.wanted.clear()
        scan = time.monotonic() - self._scanned_at >= PAIRING_PERIOD
        if scan:
            self._scanned_at = time.monotonic()
        sizes = await self.store.sizes(None if scan else wanted)
        # Queues are independent (the store re-checks every pairing atomically): small ones
        # share a snapshot and a commit, and a few batches run at once, so Python pairs one
        # while Redis commits another.
        limit = asyncio.Semaphore(policy.PAIR_CONCURRENCY)
        groups = policy.batches(sizes, policy.PAIR_HEAD, policy.PAIR_BATCH)
        await asyncio.gather(*(self._pair_batch(g, limit) for g in groups))

    async def _pair_batch(self, buckets: list[str], limit: asyncio.Semaphore) -> None:
        async with limit:
            snap = await self.store.snapshot(buckets, policy.PAIR_HEAD)
            if len(snap.tickets) < 2:
                return
            now = time.time()
            blocked, unknown = await self.profiles.blocked_pairs([t.user for t in snap.tickets])
            # While Postgres is away, someone whose blocks the lobby cannot vouch for waits.
            tickets = [t for t in snap.tickets if t.user not in unknown]
            pairings = policy.pair(tickets, now, self._rng, blocked=blocked, recent=snap.recent)
            ttl = float(self.settings.accept_timeout)
            matches = lifecycle.propose(pairings, now, self._rng, ttl)
            done = set(await self.store.propose(matches, now, self.settings.rematch_cooldown))
        committed = [m for m in matches if m.id in done]
        # Sent in the background: the next round (someone who just joined) need not wait for
        # this round's packets. Each person's events still go out in order (Events.send).
        self._spawn(self._quietly(self.events.proposed(*committed)))
        for bucket in {m.seats[0].ticket.bucket for m in committed}:
            self.dirty.add(bucket)
            self._note_pairing(bucket, now)

    async def refresh_loop(self) -> None:
        """`queued` updates for people whose position moved, on their own clock: a round of
        them (hundreds of packets in a busy lobby) never holds up the next pairing."""
        await repeat("refresh", self._refresh_queued, REFRESH_PERIOD)

    async def _refresh_queued(self) -> None:
        dirty = set(self.dirty)
        self.dirty.clear()
        for bucket in dirty:
            tickets = await self.store.waiting_users(bucket, 500)
            n = len(tickets)
            places = [(t, i, n, self.estimate(bucket, Joined(i, n))) for i, t in enumerate(tickets)]
            await self.events.queued(places, only_changes=True)

    def _note_pairing(self, bucket: str, now: float) -> None:
        last = self._last_pair.get(bucket)
        if last is not None:
            previous = self._intervals.get(bucket)
            self._intervals[bucket] = policy.smooth_interval(previous, now - last)
        self._last_pair[bucket] = now
