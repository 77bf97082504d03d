"""The worker's shared connections are reached through proxies (agent/resources.py): a job's
call runs on the loop that owns the connections, its result or error comes back to the job's
loop, cancelling the job's call cancels it there, and no job can close what they share."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from agent.resources import bridge


class Target:
    def __init__(self) -> None:
        self.ran_on: list[asyncio.AbstractEventLoop] = []
        self.cancelled = threading.Event()
        self.closed = False
        self.plain = "kept"

    async def double(self, x: int) -> int:
        self.ran_on.append(asyncio.get_running_loop())
        return 2 * x

    async def fail(self) -> None:
        raise KeyError("boom")

    async def wait(self) -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise

    async def aclose(self) -> None:
        self.closed = True


@pytest.fixture
def owner() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


async def test_calls_run_on_the_owning_loop(owner: asyncio.AbstractEventLoop) -> None:
    target = Target()
    proxy = bridge(target, owner)
    assert await proxy.double(21) == 42
    assert target.ran_on == [owner] and owner is not asyncio.get_running_loop()
    assert proxy.plain == "kept"
    with pytest.raises(KeyError):
        await proxy.fail()


async def test_cancelling_a_call_cancels_it_on_the_owning_loop(
    owner: asyncio.AbstractEventLoop,
) -> None:
    target = Target()
    call = asyncio.create_task(bridge(target, owner).wait())
    await asyncio.sleep(0.1)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert await asyncio.to_thread(target.cancelled.wait, 5)


async def test_a_job_cannot_close_what_is_shared(owner: asyncio.AbstractEventLoop) -> None:
    target = Target()
    await bridge(target, owner).aclose()
    assert not target.closed
