"""A discussion room's timeouts outlast the seat its moderator holds for a person who left."""

from __future__ import annotations

import dataclasses

import pytest

from lobby.contract import room_timeouts
from lobby.formats import load_catalogue

CASUAL = load_catalogue().formats["casual"]


@pytest.mark.parametrize(
    ("seat_hold", "empty", "departure"),
    [
        (0, 120, 30),
        (4, 120, 34),
        (60, 120, 90),
        (200, 230, 230),
    ],
)
def test_room_timeouts_outlast_the_seat_hold(seat_hold: int, empty: int, departure: int) -> None:
    fmt = dataclasses.replace(CASUAL, seat_hold=seat_hold)
    assert room_timeouts(fmt) == (empty, departure)
    assert min(room_timeouts(fmt)) > seat_hold
