"""Waiting for something to happen, the one way the tests and benchmarks do it: ask again until
it holds, and fail naming what never happened. No test sleeps for a fixed time instead."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")

# How long a test waits for something that should happen; generous, as a machine running
# several real stacks at once is slow, and only a failure ever waits this long.
PATIENCE = 20.0


@overload
async def eventually(
    check: Callable[[], Awaitable[T]], what: str, within: float = ..., every: float = ...
) -> T: ...


@overload
async def eventually(
    check: Callable[[], T], what: str, within: float = ..., every: float = ...
) -> T: ...


async def eventually(
    check: Callable[[], Any],
    what: str,
    within: float = PATIENCE,
    every: float = 0.05,
) -> Any:
    """The first truthy result of `check` (plain or async), asked every `every` seconds; an
    AssertionError naming `what` after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        found = check()
        if inspect.isawaitable(found):
            found = await found
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened within {within:.0f} s: {what}")
        await asyncio.sleep(every)


async def when_signalled(
    check: Callable[[], T | None],
    signal: asyncio.Event,
    failure: Callable[[], str],
    within: float = PATIENCE,
) -> T:
    """The first result of `check` that is not None, asked again each time `signal` (set by
    whatever changes what `check` reads) is set; an AssertionError saying `failure()` after
    `within` seconds. For state a callback updates, where polling would only add latency."""
    deadline = time.monotonic() + within
    while (found := check()) is None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(failure())
        signal.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(signal.wait(), left)
    return found


def wait_until(
    check: Callable[[], T],
    what: str,
    within: float = PATIENCE,
    every: float = 0.05,
) -> T:
    """`eventually` for code without an event loop (processes, files, HTTP with urllib)."""
    deadline = time.monotonic() + within
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened within {within:.0f} s: {what}")
        time.sleep(every)


def http_ok(url: str) -> bool:
    """Whether `url` answers 200 right now."""
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def wait_http_ready(url: str, within: float = 60, alive: Callable[[], bool] | None = None) -> None:
    """Until `url` answers 200 (`/healthz` or `/readyz`); fails at once if the process serving
    it is no longer `alive`."""

    def ready() -> bool:
        if alive is not None and not alive():
            raise AssertionError(f"the process meant to serve {url} exited")
        return http_ok(url)

    wait_until(ready, f"{url} answers 200", within, every=0.1)
