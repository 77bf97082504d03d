"""The topics people may join the lobby under, as the lobby agent knows them from Postgres.

Reloaded when a minute old; a join naming a topic not known yet forces a reload (at most every
few seconds). While Postgres is away the topics known stay in use.
"""

from __future__ import annotations

import time

from lobby.db import Database, Topic
from lobby.outage import database_down

REFRESH = 60.0
RETRY = 5.0


class Topics:
    def __init__(self, db: Database) -> None:
        self._db = db
        self.by_slug: dict[str, Topic] = {}
        self._at = self._retry = 0.0

    async def refresh(self, *, force: bool = False) -> bool:
        """Reload topics when stale (or forced, at most every few seconds); True if reloaded."""
        now = time.monotonic()
        if now < self._retry or now - self._at < (RETRY if force else REFRESH):
            return False
        try:
            self.by_slug = {t.slug: t for t in await self._db.topics()}
            self._at = now
        except Exception as e:
            # Postgres away: the topics known stay; asked again in a few seconds.
            self._retry = now + RETRY
            if force or not database_down(e):
                raise
            return False
        return True
