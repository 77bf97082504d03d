"""The API's long-running loops (the keeper, the reconciler) outlive their failures.

Two layers: `repeat` runs a step every period and logs a failing step, retrying it after a
pause that grows while it keeps failing; `supervised` owns the loop's task and starts the loop
again, after a pause, when it ends anyway (it returned or raised). Only cancelling the task
stops it; `running` does that for an app's cleanup_ctx entry. Log messages are fixed text;
the loop's name is in `extra`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

logger = logging.getLogger("disco.supervise")

# Pauses after a failure: FIRST, doubled each time it fails again, at most CAP.
FIRST = 0.5
CAP = 30.0
# A loop that ran this long before ending starts its pauses again from FIRST.
STEADY = 60.0


async def repeat(name: str, step: Callable[[], Awaitable[object]], period: float) -> None:
    """Run `step` now and then every `period` seconds, forever; a failing step is logged and
    tried again after a growing pause (at most `period` once it is long)."""
    pause = FIRST
    while True:
        try:
            await step()
            wait, pause = period, FIRST
        except Exception:
            _stop_if_cancelled()
            logger.exception("api loop step failed", extra={"loop": name})
            wait, pause = min(pause, period), min(CAP, pause * 2)
        _stop_if_cancelled()
        await asyncio.sleep(wait)


def supervised(name: str, loop: Callable[[], Coroutine[Any, Any, None]]) -> asyncio.Task[None]:
    """A task running `loop()`, started again whenever it ends; cancel the task to stop it."""
    return asyncio.create_task(_keep_running(name, loop), name=f"disco-{name}")


@contextlib.asynccontextmanager
async def running(name: str, loop: Callable[[], Coroutine[Any, Any, None]]) -> AsyncIterator[None]:
    """The loop runs supervised for the block's length; leaving the block stops it."""
    task = supervised(name, loop)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _keep_running(name: str, loop: Callable[[], Coroutine[Any, Any, None]]) -> None:
    pause = FIRST
    while True:
        began = time.monotonic()
        try:
            await loop()
            logger.error("api loop ended; starting it again", extra={"loop": name})
        except Exception:
            _stop_if_cancelled()
            logger.exception("api loop failed; starting it again", extra={"loop": name})
        if time.monotonic() - began > STEADY:
            pause = FIRST
        _stop_if_cancelled()
        await asyncio.sleep(pause)
        pause = min(CAP, pause * 2)


def _stop_if_cancelled() -> None:
    """A cancellation can be lost on its way (a client that turns it into an error of its
    own, or Python 3.11's wait_for when the awaited call finishes at the same moment): the
    loop would then run on after its owner asked it to stop, and its owner wait forever."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
