"""The pairing policy, as tables."""

from __future__ import annotations

import random

import pytest

from lobby.model import Ticket
from lobby.policy import (
    Pairing,
    batches,
    estimate_wait,
    pair,
    pair_key,
    sides,
)


def t(
    user: str,
    at: float = 0.0,
    *,
    topic: str = "tea",
    fmt: str = "casual",
    side: str | None = None,
    head: bool = False,
) -> Ticket:
    return Ticket(user, user.upper(), topic, fmt, side, at, head)


def d(user: str, side: str, at: float = 0.0) -> Ticket:
    return t(user, at, fmt="quick-debate", side=side)


def pairs_of(result: list[Pairing]) -> set[tuple[str, str]]:
    return {(p.a.user, p.b.user) for p in result}


@pytest.mark.parametrize(
    ("waiting", "expected"),
    [
        ([], set()),
        ([t("a")], set()),
        ([t("a", 1), t("b", 2)], {("a", "b")}),
        ([t("c", 3), t("a", 1), t("b", 2)], {("a", "b")}),
        ([t("a", 1), t("b", 2, topic="cats")], set()),
        ([t("a", 1), t("b", 2, fmt="quick-debate", side="pro")], set()),
        ([t("a", 1), t("b", 2), t("c", 3), t("d", 4)], {("a", "b"), ("c", "d")}),
        # Put back at the head: goes first even though it joined last.
        ([t("a", 1), t("b", 2), t("z", 9, head=True)], {("z", "a")}),
        ([d("a", "pro", 1), d("b", "pro", 2)], set()),
        ([d("a", "pro", 1), d("b", "pro", 2), d("c", "con", 3)], {("a", "c")}),
        ([d("a", "con", 1), d("b", "any", 2)], {("a", "b")}),
        ([d("a", "any", 1), d("b", "any", 2)], {("a", "b")}),
    ],
)
def test_pairs(waiting: list[Ticket], expected: set[tuple[str, str]]) -> None:
    assert pairs_of(pair(waiting, 10.0, random.Random(1))) == expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (d("a", "pro"), d("b", "con"), ("pro", "con")),
        (d("a", "con"), d("b", "pro"), ("con", "pro")),
        (d("a", "any"), d("b", "con"), ("pro", "con")),
        (d("a", "pro"), d("b", "any"), ("pro", "con")),
        (d("a", "con"), d("b", "con"), None),
        (t("a"), t("b"), (None, None)),
        (t("a"), d("b", "pro"), None),
    ],
)
def test_sides(a: Ticket, b: Ticket, expected: tuple[str | None, str | None] | None) -> None:
    assert sides(a, b, random.Random(0)) == expected


def test_two_any_get_sides_by_a_fair_coin() -> None:
    rng = random.Random(7)
    firsts = [sides(d("a", "any"), d("b", "any"), rng) for _ in range(2000)]
    pro_first = sum(1 for s in firsts if s == ("pro", "con"))
    assert {s for s in firsts} == {("pro", "con"), ("con", "pro")}
    assert 850 < pro_first < 1150


def test_blocked_pair_is_skipped_for_the_next() -> None:
    waiting = [t("a", 1), t("b", 2), t("c", 3)]
    result = pair(waiting, 10.0, random.Random(1), blocked={pair_key("b", "a")})
    assert pairs_of(result) == {("a", "c")}


@pytest.mark.parametrize(("until", "expected"), [(11.0, {("a", "c")}), (10.0, {("a", "b")})])
def test_rematch_cooldown(until: float, expected: set[tuple[str, str]]) -> None:
    waiting = [t("a", 1), t("b", 2), t("c", 3)]
    recent = {"a": {"b": until}, "b": {"a": until}}
    assert pairs_of(pair(waiting, 10.0, random.Random(1), recent=recent)) == expected


def test_nobody_is_paired_twice() -> None:
    rng = random.Random(3)
    waiting = [d(f"u{i}", rng.choice(["pro", "con", "any"]), i) for i in range(500)]
    users = [u for p in pair(waiting, 1000.0, rng) for u in (p.a.user, p.b.user)]
    assert len(users) == len(set(users)) > 400


@pytest.mark.parametrize(
    ("position", "waiting", "interval", "expected"),
    [
        (0, 2, 10.0, 0),
        (1, 2, 10.0, 0),
        (0, 1, 10.0, 10),
        (2, 3, 10.0, 20),
        (3, 6, 4.0, 4),
        (0, 1, None, 30),
    ],
)
def test_estimate_wait(position: int, waiting: int, interval: float | None, expected: int) -> None:
    assert estimate_wait(position, waiting, interval) == expected


@pytest.mark.parametrize(
    ("sizes", "limit", "target", "expected"),
    [
        ({}, 500, 512, []),
        # A queue of one cannot pair: no batch for it.
        ({"a": 1, "b": 0}, 500, 512, []),
        # Small queues share a batch, in a stable order.
        ({"b": 2, "a": 3, "c": 2}, 500, 512, [["a", "b", "c"]]),
        # A batch closes before it would pass the target...
        ({"a": 300, "b": 300, "c": 100}, 500, 512, [["a"], ["b", "c"]]),
        # ...and a long queue counts only its head.
        ({"a": 10_000, "b": 10_000, "c": 2}, 500, 512, [["a"], ["b", "c"]]),
        ({"a": 10_000}, 500, 100, [["a"]]),
    ],
)
def test_batches_group_queues_by_their_heads(
    sizes: dict[str, int], limit: int, target: int, expected: list[list[str]]
) -> None:
    assert batches(sizes, limit, target) == expected
