"""A lease in Redis, `{p}:lease:<name>` (lobby/store.py has the key map): one holder at a time
among several processes, for work that two must not do at once (the API's keeper and
supervisor: two keepers would dispatch two lobby agents into one room, and LiveKit would keep
removing one for the other).

The holder writes its own random id with a TTL and renews it before the TTL runs out; a
holder that dies stops renewing, and the lease is free `ttl` seconds later. Renewing and
releasing compare the id first, in one script, so a process whose lease ran out (a long pause)
never extends or deletes the lease another has taken since. `held` trusts its last renewal
only until a margin before the TTL would end, so a holder that cannot reach Redis steps down
before anyone else can step up.
"""

from __future__ import annotations

import secrets
import time

from redis.asyncio import Redis

LEASE_TTL = 15.0
# `held` stops trusting a renewal this share of the TTL before the lease would run out in Redis.
MARGIN = 0.2

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Lease:
    def __init__(self, redis: Redis, prefix: str, name: str, ttl: float = LEASE_TTL) -> None:
        self.redis = redis
        self.key = f"{{{prefix}}}:lease:{name}"
        self.holder = secrets.token_hex(8)
        self.ttl = ttl
        self._until = 0.0
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    def held(self) -> bool:
        """Whether this process held the lease at its last `hold`, and still surely does."""
        return time.monotonic() < self._until

    async def hold(self) -> bool:
        """Take the lease if it is free, or renew it if it is ours; True when we hold it."""
        asked = time.monotonic()
        try:
            got = await self._renew(keys=[self.key], args=[self.holder, int(self.ttl * 1000)])
        except Exception:
            self._until = 0.0
            raise
        self._until = asked + self.ttl * (1 - MARGIN) if got else 0.0
        return bool(got)

    async def release(self) -> None:
        """Give the lease up (at shutdown), if it is still ours, so another takes it at once."""
        self._until = 0.0
        await self._release(keys=[self.key], args=[self.holder])
