"""`when_signalled`, the wait the lobby clients use: it looks again each time it is signalled,
and fails with the caller's words when what it waits for never comes."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.wait import when_signalled


async def test_it_returns_what_a_signalled_change_made_true() -> None:
    box: list[str] = []
    changed = asyncio.Event()

    async def later() -> None:
        await asyncio.sleep(0)
        box.append("ready")
        changed.set()

    task = asyncio.create_task(later())
    found = await when_signalled(lambda: box[0] if box else None, changed, lambda: "never")
    await task
    assert found == "ready"


async def test_a_falsy_result_that_is_not_none_counts() -> None:
    assert await when_signalled(lambda: 0, asyncio.Event(), lambda: "never") == 0


async def test_it_fails_with_the_callers_words_at_the_deadline() -> None:
    state = {"seen": 3}
    with pytest.raises(AssertionError, match="nothing after 3"):
        await when_signalled(
            lambda: None, asyncio.Event(), lambda: f"nothing after {state['seen']}", within=0.05
        )
