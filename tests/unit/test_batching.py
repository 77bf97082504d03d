"""agent.batching.Batcher: concurrent lookups answered a batch at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Collection

import pytest

from agent.batching import Batcher


class Table:
    """A lookup that records each batch it was asked for; `gate` holds a batch in flight."""

    def __init__(self, rows: dict[str, str], *, fail_first: bool = False) -> None:
        self.rows = rows
        self.batches: list[list[str]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_first = fail_first

    async def fetch(self, keys: Collection[str]) -> dict[str, str]:
        self.batches.append(sorted(keys))
        await self.gate.wait()
        if self.fail_first and len(self.batches) == 1:
            raise ConnectionError("database went away")
        return {k: self.rows[k] for k in keys if k in self.rows}


ROWS = {f"u{i}": f"name {i}" for i in range(100)}


async def _held(
    batcher: Batcher[str, str], first: list[str], later: list[str]
) -> tuple[list[asyncio.Task[str | None]], list[asyncio.Task[str | None]]]:
    """Gets for `first`, whose batch goes out and stays out while the table's gate is shut,
    then gets for `later`, which wait for the next batch."""
    out = [asyncio.create_task(batcher.get(k)) for k in first]
    await asyncio.sleep(0.01)  # the first batch is out
    waiting = [asyncio.create_task(batcher.get(k)) for k in later]
    await asyncio.sleep(0.01)
    return out, waiting


async def test_concurrent_gets_share_one_fetch() -> None:
    table = Table(ROWS)
    batcher = Batcher(table.fetch)
    got = await asyncio.gather(*(batcher.get(f"u{i}") for i in range(50)), batcher.get("nobody"))
    assert got == [f"name {i}" for i in range(50)] + [None]
    assert len(table.batches) == 1 and len(table.batches[0]) == 51


async def test_the_same_key_twice_is_fetched_once() -> None:
    table = Table(ROWS)
    batcher = Batcher(table.fetch)
    assert list(await asyncio.gather(batcher.get("u1"), batcher.get("u1"))) == ["name 1"] * 2
    assert table.batches == [["u1"]]


async def test_gets_during_a_fetch_form_the_next_batch() -> None:
    table = Table(ROWS)
    table.gate.clear()
    batcher = Batcher(table.fetch)
    first, later = await _held(batcher, ["u1", "u2"], ["u3", "u4", "u5"])
    table.gate.set()
    assert await asyncio.gather(*first, *later) == [f"name {i}" for i in range(1, 6)]
    assert table.batches == [["u1", "u2"], ["u3", "u4", "u5"]]


async def test_a_limit_splits_a_large_batch() -> None:
    table = Table(ROWS)
    batcher = Batcher(table.fetch, limit=30)
    got = await asyncio.gather(*(batcher.get(f"u{i}") for i in range(70)))
    assert got == [f"name {i}" for i in range(70)]
    assert [len(b) for b in table.batches] == [30, 30, 10]


async def test_a_failed_fetch_fails_its_own_batch_only() -> None:
    table = Table(ROWS, fail_first=True)
    table.gate.clear()
    batcher = Batcher(table.fetch)
    (first,), (second,) = await _held(batcher, ["u1"], ["u2"])
    table.gate.set()
    with pytest.raises(ConnectionError):
        await first
    assert await second == "name 2"
    # And the batcher goes on working afterwards.
    assert await batcher.get("u3") == "name 3"


async def test_shutting_down_leaves_nobody_waiting() -> None:
    table = Table(ROWS)
    table.gate.clear()
    batcher = Batcher(table.fetch)
    (out,), (queued,) = await _held(batcher, ["u1"], ["u2"])
    running = batcher._running
    assert running is not None
    running.cancel()
    for t in (out, queued):
        with pytest.raises(asyncio.CancelledError):
            await t
    assert batcher._running is None
