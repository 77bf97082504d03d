"""lobby.supervise: loops that raise, return or die are logged and run again; the backoff
grows and resets; `aclose` stops everything for good."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from lobby.supervise import Backoff, Link, Supervisor, repeat
from tests.support.wait import eventually


class Died(BaseException):
    """Not an Exception: the loop's own handler lets it through and the task ends."""


def fast() -> Backoff:
    return Backoff(first=0.01, cap=0.02)


@pytest.mark.parametrize(
    ("first", "cap", "delays"),
    [
        (0.25, 2.0, [0.25, 0.5, 1.0, 2.0, 2.0]),
        (1.0, 1.0, [1.0, 1.0, 1.0]),
        (0.5, 3.0, [0.5, 1.0, 2.0, 3.0, 3.0]),
    ],
)
def test_backoff_grows_to_its_cap(first: float, cap: float, delays: list[float]) -> None:
    b = Backoff(first, cap)
    assert [b.delay() for _ in delays] == delays
    b.reset()
    assert b.delay() == first


async def _until(check: Callable[[], bool]) -> None:
    await eventually(check, "the supervised loop ran as many times", every=0.005)


async def test_a_loop_that_raises_is_logged_and_run_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs: list[int] = []

    async def loop() -> None:
        runs.append(len(runs))
        if len(runs) <= 3:
            raise ConnectionError("the server is away")
        await asyncio.Event().wait()

    sup = Supervisor(fast)
    with caplog.at_level(logging.ERROR, logger="disco.supervise"):
        sup.start("expiry", loop)
        await _until(lambda: len(runs) == 4)
        assert sup.running == ["expiry"]
        await sup.aclose()
    failed = [r for r in caplog.records if r.getMessage() == "loop failed"]
    assert len(failed) == 3
    assert all(getattr(r, "loop", None) == "expiry" for r in failed)
    assert sup.running == []


async def test_a_loop_that_returns_or_dies_is_restarted(caplog: pytest.LogCaptureFixture) -> None:
    runs: list[str] = []

    async def loop() -> None:
        runs.append("run")
        if len(runs) == 1:
            return
        if len(runs) == 2:
            raise Died
        await asyncio.Event().wait()

    sup = Supervisor(fast)
    with caplog.at_level(logging.ERROR, logger="disco.supervise"):
        sup.start("pairing", loop)
        await _until(lambda: len(runs) == 3)
        await sup.aclose()
    messages = [r.getMessage() for r in caplog.records]
    assert "loop ended" in messages
    assert "loop task ended; restarting" in messages


async def test_a_cancelled_task_is_restarted_until_the_supervisor_closes() -> None:
    runs: list[int] = []

    async def loop() -> None:
        runs.append(1)
        await asyncio.Event().wait()

    sup = Supervisor(fast)
    sup.start("presence", loop)
    await _until(lambda: len(runs) == 1)
    for t in [t for t in asyncio.all_tasks() if t.get_name() == "loop:presence"]:
        t.cancel()
    await _until(lambda: len(runs) == 2)
    await sup.aclose()
    await asyncio.sleep(0.05)
    assert len(runs) == 2 and sup.running == []
    sup.start("presence", loop)  # closed: nothing starts
    assert sup.running == []


async def test_repeat_survives_failing_steps(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    async def step() -> None:
        calls.append(1)
        if len(calls) % 2:
            raise TimeoutError("slow server") if len(calls) % 4 == 1 else ValueError("a bug")

    with caplog.at_level(logging.WARNING, logger="disco.supervise"):
        task = asyncio.create_task(repeat("outbox", step, 0.001, fast()))
        await _until(lambda: len(calls) >= 6)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    failed = [r for r in caplog.records if r.getMessage() == "loop step failed"]
    assert len(failed) >= 3
    # A server away is one warning line; a bug is an error with its traceback.
    assert {(r.levelno, r.exc_info is not None) for r in failed} == {
        (logging.WARNING, False),
        (logging.ERROR, True),
    }


@pytest.mark.parametrize(
    ("events", "cut"),
    [
        ([("answered", 1.0), ("answered", 2.0)], [False, False]),
        ([("answered", 1.0), ("answered", 5.5)], [False, True]),
        ([("failed", 1.0), ("answered", 1.5), ("answered", 2.0)], [True, False]),
        ([("answered", 1.0), ("busy", 10.0), ("answered", 11.0)], [False, False]),
        ([("failed", 1.0), ("busy", 2.0), ("answered", 2.5)], [True]),
    ],
)
def test_link_tells_an_outage_from_a_quiet_spell(
    events: list[tuple[str, float]], cut: list[bool]
) -> None:
    link = Link(gap=3.0, now=0.0)
    seen = []
    for kind, at in events:
        if kind == "answered":
            seen.append(link.answered(at))
        elif kind == "busy":
            link.busy(at)
        else:
            link.failed()
    assert seen == cut
