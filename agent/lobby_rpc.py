"""The lobby agent's RPC boundary: every lobby command goes through `rpc_call`, which admits
the caller (agent.lobby_guard), counts the command against the rate limit, bounds its time,
and turns any failure into a DISCO error for the caller:

- a LobbyError as it is;
- Redis or Postgres not answering (down, restarting, too slow) -> `unavailable` (2098) with
  `retry_after`: the command did nothing that matters, and may be sent again;
- anything else -> `internal` (2099), logged with its traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from livekit import rtc

from agent.lobby_guard import Guard
from lobby.errors import LobbyError, RateLimited, Unavailable
from lobby.outage import is_outage
from lobby.settings import Settings
from lobby.store import LobbyStore

logger = logging.getLogger("disco.lobby")

# No lobby command takes longer than this: past it, the caller gets `unavailable`. Within a
# client's RPC timeout (10 s in livekit-client), above a couple of storage timeouts.
RPC_BUDGET = 8.0

Handler = Callable[[str, str], Awaitable[dict[str, Any]]]


def rpc_call(
    method: str, handler: Handler, guard: Guard, store: LobbyStore, settings: Settings
) -> Callable[[rtc.RpcInvocationData], Awaitable[str]]:
    # Clients ask for the state whenever an event hints at a change: never held against them.
    limited = method != "lobby.status"

    async def call(data: rtc.RpcInvocationData) -> str:
        try:
            async with asyncio.timeout(RPC_BUDGET):
                user = await guard.admit(data.caller_identity)
                if limited and (retry := await store.hit_rate(user)):
                    raise RateLimited(retry_after=retry)
                return json.dumps(await handler(user, data.payload))
        except LobbyError as e:
            raise rtc.RpcError(e.code, e.message, e.data()) from None
        except Exception as e:
            failed = failure(method, e, settings.outage_retry_after)
            raise rtc.RpcError(failed.code, failed.message, failed.data()) from None

    return call


def failure(method: str, error: Exception, retry_after: int) -> LobbyError:
    """What a caller is told of an unexpected failure."""
    if is_outage(error):
        logger.warning("lobby command met an outage", extra={"method": method})
        return Unavailable(retry_after=retry_after)
    logger.exception("lobby command failed", extra={"method": method})
    return LobbyError()
