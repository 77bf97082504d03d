"""The one place where DISCO errors become LiveKit RPC errors, for the lobby agent and the
moderator alike: a handler raises a `DiscoError` (lobby/errors.py) and the caller gets its
code, message and `data()`; anything else is turned into an error by the agent's own
`unexpected` (which logs it) and never reaches the caller as a traceback.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from livekit import rtc

from lobby.errors import DiscoError

Invocation = Callable[[rtc.RpcInvocationData], Awaitable[str]]


def rpc_error(error: DiscoError) -> rtc.RpcError:
    return rtc.RpcError(error.code, error.message, error.data())


def rpc_method(
    run: Invocation, unexpected: Callable[[rtc.RpcInvocationData, Exception], DiscoError]
) -> Invocation:
    """`run` as an RPC method: its reply, or the error it raised in DISCO's terms."""

    async def call(data: rtc.RpcInvocationData) -> str:
        try:
            return await run(data)
        except DiscoError as e:
            raise rpc_error(e) from None
        except Exception as e:
            raise rpc_error(unexpected(data, e)) from None

    return call
