"""Long-running loops that outlive their failures, for the agents and the API alike.

Two layers:
- inside a loop, a failing step is logged and tried again after a pause that grows while it
  keeps failing (`Backoff`, `repeat`);
- around it, a `Supervisor` owns each loop's task: a loop that raises out is logged and run
  again after a pause, and a task that ends anyway (it returned, or something that is not an
  `Exception` ended it) is logged and started again. Only `aclose` stops them. `running`
  does the same for one loop over an aiohttp cleanup_ctx entry's life.

A server away is expected (one warning line, no traceback); anything else is a bug (logged
with its traceback). Log messages are fixed text; the loop's name is in `extra`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from lobby.outage import is_outage

logger = logging.getLogger("disco.supervise")

LoopFactory = Callable[[], Coroutine[Any, Any, None]]

# A loop that ran this long before failing starts its backoff again from the first pause.
STEADY = 30.0


@dataclass(slots=True)
class Backoff:
    """Pauses between tries: `first`, doubled after each, at most `cap`; `reset` after a
    success. Pure: the caller sleeps."""

    first: float = 0.25
    cap: float = 2.0
    _next: float = field(default=0.0, init=False)

    def delay(self) -> float:
        pause = self._next or self.first
        self._next = min(self.cap, pause * 2)
        return pause

    def reset(self) -> None:
        self._next = 0.0


async def repeat(
    name: str,
    step: Callable[[], Awaitable[object]],
    period: float,
    backoff: Backoff | None = None,
) -> None:
    """Run `step` now and then every `period` seconds, forever. A failing step is logged and
    tried again after the backoff's pause (by default a quarter second, doubled while it keeps
    failing, at most `period`)."""
    pause = backoff or Backoff(cap=period)
    while True:
        try:
            await step()
            pause.reset()
            wait = period
        except Exception as e:
            _stop_if_cancelled()
            failed(logger, "loop step failed", e, loop=name)
            wait = pause.delay()
        _stop_if_cancelled()
        await asyncio.sleep(wait)


def failed(log: logging.Logger, message: str, error: Exception, **extra: object) -> None:
    """Log a failed round: a server away is expected (one line, no traceback); anything else
    is a bug (with its traceback)."""
    if is_outage(error):
        log.warning(message, extra={**extra, "error": repr(error)[:300]})
    else:
        log.exception(message, extra=extra)


class Supervisor:
    """Owns named loop tasks and keeps each running until `aclose`."""

    def __init__(self, backoff: Callable[[], Backoff] = Backoff) -> None:
        self._backoff = backoff
        self._tasks: dict[asyncio.Task[None], tuple[str, LoopFactory]] = {}
        self._restarts: set[asyncio.TimerHandle] = set()
        self._closed = False

    def start(self, name: str, make: LoopFactory) -> None:
        """Run `make()` as a supervised loop named `name`."""
        if self._closed:
            return
        task = asyncio.create_task(self._run(name, make), name=f"loop:{name}")
        self._tasks[task] = (name, make)
        task.add_done_callback(self._ended)

    @property
    def running(self) -> list[str]:
        return sorted(name for t, (name, _) in self._tasks.items() if not t.done())

    async def aclose(self) -> None:
        self._closed = True
        for handle in self._restarts:
            handle.cancel()
        self._restarts.clear()
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    async def _run(self, name: str, make: LoopFactory) -> None:
        backoff = self._backoff()
        while True:
            started = time.monotonic()
            try:
                await make()
                logger.error("loop ended", extra={"loop": name})
            except Exception:
                _stop_if_cancelled()
                logger.exception("loop failed", extra={"loop": name})
            if time.monotonic() - started > STEADY:
                backoff.reset()
            _stop_if_cancelled()
            await asyncio.sleep(backoff.delay())

    def _ended(self, task: asyncio.Task[None]) -> None:
        name, make = self._tasks.pop(task)
        if self._closed:
            return
        error = None if task.cancelled() else task.exception()
        logger.error(
            "loop task ended; restarting",
            extra={"loop": name, "error": repr(error) if error else "cancelled"},
        )
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle | None = None

        def restart() -> None:
            if handle is not None:
                self._restarts.discard(handle)
            self.start(name, make)

        handle = loop.call_later(self._backoff().first, restart)
        self._restarts.add(handle)


@contextlib.asynccontextmanager
async def running(name: str, loop: LoopFactory) -> AsyncIterator[None]:
    """The loop runs supervised for the block's length; leaving the block stops it."""
    supervisor = Supervisor()
    supervisor.start(name, loop)
    try:
        yield
    finally:
        await supervisor.aclose()


def _stop_if_cancelled() -> None:
    """A cancellation can be lost on its way (a client that turns it into an error of its
    own, or Python 3.11's wait_for when the awaited call finishes at the same moment): the
    loop would then run on after its owner asked it to stop, and its owner wait forever."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class Link:
    """When a loop last heard from a server, to tell an outage from a quiet spell: a failed
    call, or a silence longer than `gap` seconds between two answers, means the loop was cut
    off, and the next answer says so once (the caller then recovers instead of acting on time
    that passed while it could not). Pure: time comes in."""

    def __init__(self, gap: float, now: float) -> None:
        self.gap = gap
        self._at = now
        self._cut = False

    def failed(self) -> None:
        self._cut = True

    def answered(self, now: float) -> bool:
        """A call just succeeded; True when the link was cut since the previous answer."""
        cut = self._cut or now - self._at > self.gap
        self._at, self._cut = now, False
        return cut

    def busy(self, now: float) -> None:
        """The loop was busy (not waiting on the server) until now: not a silence."""
        if not self._cut:
            self._at = now
