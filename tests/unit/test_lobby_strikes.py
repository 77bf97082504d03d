"""Griefing costs: strikes (proposals that failed by a person's own doing) and the cooldown
they earn, as tables. Three in a row earn a minute, each further one twice the last, up to half
an hour; a row ends after ten minutes without a strike, not counting time in a cooldown."""

from __future__ import annotations

import pytest

from lobby.policy import (
    STRIKE_CAP,
    STRIKE_LIMIT,
    STRIKE_PENALTY,
    STRIKE_WINDOW,
    Strikes,
    cooldown_end,
    strike,
    strike_penalty,
)


@pytest.mark.parametrize(
    ("count", "penalty"),
    [(0, 0), (1, 0), (2, 0), (3, 60), (4, 120), (5, 240), (7, 960), (8, 1800), (10**6, 1800)],
)
def test_strike_penalty(count: int, penalty: int) -> None:
    assert strike_penalty(count) == penalty


def test_the_rule_is_what_the_constants_say() -> None:
    assert (STRIKE_LIMIT, STRIKE_PENALTY, STRIKE_WINDOW, STRIKE_CAP) == (3, 60, 600, 1800)


# Strikes that each come a second after the cooldown the previous one earned ended.
_BACK_AT_ONCE = [0, 1, 2, 63, 184, 425, 906, 1867, 3668]


@pytest.mark.parametrize(
    ("times", "now", "until"),
    [
        ([], 0, None),
        ([100, 101], 102, None),
        ([100, 101, 102], 110, 162),
        ([100, 101, 102], 161.9, 162),
        ([100, 101, 102], 162, None),
        # The order they are given in does not matter.
        ([102, 100, 101], 110, 162),
        # A fourth right after the first cooldown: twice as long.
        ([100, 101, 102, 170], 171, 290),
        ([100, 101, 102, 170, 300], 301, 540),
        # Each further strike doubles the wait, up to the cap.
        (_BACK_AT_ONCE[:4], 64, 183),
        (_BACK_AT_ONCE[:5], 185, 424),
        (_BACK_AT_ONCE[:6], 426, 905),
        (_BACK_AT_ONCE[:7], 907, 1866),
        (_BACK_AT_ONCE[:8], 1868, 3667),
        (_BACK_AT_ONCE, 3669, 5468),
        # The window counts from the end of the cooldown, not from the strike.
        ([100, 101, 102, 762], 763, 882),
        # Ten minutes of good behaviour after it: a fresh row, no cooldown.
        ([100, 101, 102, 763], 764, None),
        ([100, 101, 102, 763, 764, 765], 766, 825),
        # Strikes spread out more than the window apart never add up.
        ([0, 601, 1202, 1803, 2404], 2405, None),
        # A strike that lands during a cooldown lengthens it, never shortens it.
        ([0, 1, 2, 30], 31, 150),
    ],
)
def test_cooldown_end(times: list[float], now: float, until: float | None) -> None:
    assert cooldown_end(times, now) == until


def test_a_row_is_counted_one_strike_at_a_time() -> None:
    """The store keeps only the row (`Strikes`), one strike at a time: the same ends."""
    state: Strikes | None = None
    for i, t in enumerate(_BACK_AT_ONCE):
        state = strike(state, t)
        assert state.count == i + 1
        assert cooldown_end(_BACK_AT_ONCE[: i + 1], t) == (state.until if i >= 2 else None)
