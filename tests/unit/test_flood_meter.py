"""The lobby's flood meter: a leaky bucket per sender, fed the time."""

from __future__ import annotations

import pytest

from agent.lobby_guard import FloodMeter


@pytest.mark.parametrize(
    ("times", "floods"),
    [
        # 20/s over 5 s: a burst of 100 at once passes, the 101st floods.
        ([0.0] * 100, False),
        ([0.0] * 101, True),
        # 20 per second for a minute, evenly: never.
        ([i / 20 for i in range(1200)], False),
        # 30 per second: the bucket fills by 10 a second and runs over after ~10 s.
        ([i / 30 for i in range(400)], True),
        # A burst of 100, a pause long enough to drain it, another burst of 100.
        ([0.0] * 100 + [5.0] * 100, False),
    ],
)
def test_flood_meter(times: list[float], floods: bool) -> None:
    meter = FloodMeter(rate=20, window=5)
    assert any([meter.hit("p-a", t) for t in times]) is floods


def test_flood_meter_counts_each_sender_alone() -> None:
    meter = FloodMeter(rate=1, window=2)
    assert not any(meter.hit(s, 0.0) for s in ("a", "a", "b", "b", "c"))
    assert meter.hit("a", 0.0)
    meter.keep({"b"})
    assert not meter.hit("a", 0.0)  # forgotten: a fresh bucket
    assert meter.hit("b", 0.0)
