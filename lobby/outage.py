"""Which failures mean that Redis or Postgres is away (down, restarting, or not answering in
time), as opposed to a bug: those become `unavailable` (lobby.errors.Unavailable) for callers,
and the lobby agent falls back on what it keeps in Redis (lobby.mirror) meanwhile."""

from __future__ import annotations

import sqlalchemy.exc as sa_exc
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# redis-py raises these when a server refuses, drops or does not answer a connection within
# the socket timeouts, and (BusyLoadingError is a ConnectionError) while a restarted server
# replays its append-only file.
_REDIS = (RedisConnectionError, RedisTimeoutError)
# SQLAlchemy wraps the driver's connection failures in these; TimeoutError is also the pool's
# "no connection free in time".
_DATABASE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)


def redis_down(error: BaseException) -> bool:
    return isinstance(error, _REDIS)


def database_down(error: BaseException) -> bool:
    if isinstance(error, _DATABASE):
        return True
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    # asyncpg's own timeouts and refused connections can surface unwrapped.
    return isinstance(error, (OSError, TimeoutError))


def is_outage(error: BaseException) -> bool:
    return redis_down(error) or database_down(error)
