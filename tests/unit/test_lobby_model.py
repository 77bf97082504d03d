"""Tickets as index members (the store keeps nothing else of them), and display names."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from lobby.model import SEP, Match, Seat, Ticket, clean_name
from lobby.policy import pair


@pytest.mark.parametrize(
    "ticket",
    [
        Ticket("u1", "Ann", "tea", "casual", None, 0.0),
        Ticket("u2", "Ann Lee  Jr.", "tea", "quick-debate", "pro", 1.5, head=True),
        Ticket("u3", "Zoë 李 🎉", "café-talk", "quick-debate", "con", 1_700_000_000.123),
        Ticket("u4", "", "tea", "quick-debate", "any", 12.001),
        Ticket("9b2e-uuid", ' "quoted" \\ ', "t", "f", None, 86_400.999),
    ],
)
def test_member_round_trip(ticket: Ticket) -> None:
    member = ticket.member
    assert member.startswith(ticket.bucket)
    assert Ticket.from_member(member) == ticket
    # Computed afresh (not the one remembered from the store), it is the same string.
    assert replace(Ticket.from_member(member)).member == member


@pytest.mark.parametrize(("side_a", "side_b"), [(None, None), ("pro", "con"), ("con", "pro")])
def test_proposal_is_the_match_its_fields_make(side_a: str | None, side_b: str | None) -> None:
    # Built without the dataclass __init__; it must be the same value, hash and JSON.
    a = Ticket("a", "A", "tea", "quick-debate", side_a, 1.0)
    b = Ticket("b", "B", "tea", "quick-debate", side_b, 2.0)
    built = Match.proposal("m1", "disco-r1", a, side_a, b, side_b, 10.0, 30.0)
    made = Match(
        "m1", "disco-r1", "tea", "quick-debate", (Seat(a, side_a), Seat(b, side_b)), 10, 30
    )
    assert built == made and hash(built) == hash(made)
    assert built.to_json() == made.to_json()
    assert Match.from_json(built.to_json()) == made
    with pytest.raises(AttributeError):
        built.version = 1  # type: ignore[misc]


def test_member_keeps_milliseconds() -> None:
    t = Ticket("u", "U", "tea", "casual", None, 10.0004)
    assert Ticket.from_member(t.member).joined_at == 10.0
    assert Ticket("u", "U", "tea", "casual", None, -5).member.split(SEP)[2] == "1" + "0" * 15


@pytest.mark.parametrize("field", ["user", "name", "topic", "format"])
def test_member_refuses_the_separator(field: str) -> None:
    values = {"user": "u", "name": "N", "topic": "tea", "format": "casual"}
    values[field] = f"x{SEP}y"
    t = Ticket(values["user"], values["name"], values["topic"], values["format"], None, 1.0)
    with pytest.raises(ValueError):
        _ = t.member


def test_member_refuses_an_unknown_side() -> None:
    with pytest.raises(ValueError):
        _ = Ticket("u", "U", "tea", "quick-debate", "maybe", 1.0).member


@pytest.mark.parametrize(
    "member",
    [
        "",
        "tea",
        f"tea{SEP}casual{SEP}1x{SEP}u{SEP}-{SEP}U",
        f"tea{SEP}casual{SEP}1{SEP}u{SEP}?{SEP}U",
    ],
)
def test_from_member_refuses_what_is_not_a_member(member: str) -> None:
    with pytest.raises(ValueError):
        Ticket.from_member(member)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Ann", "Ann"),
        ("  Ann Lee  ", "Ann Lee"),
        (f"An{SEP}n\x1e\n\t\x00\x7f\x85", "Ann"),
        ("Zoë 李 🎉", "Zoë 李 🎉"),
        ("", "Someone"),
        (" \n\x1f ", "Someone"),
        ("\ud800Bob", "Bob"),
        ("x" * 100, "x" * 64),
        ("a" * 63 + " b", "a" * 63),
    ],
)
def test_clean_name(raw: str, clean: str) -> None:
    assert clean_name(raw) == clean
    Ticket("u", clean_name(raw), "tea", "casual", None, 1.0).member.encode()


def test_member_order_is_the_policy_order() -> None:
    rng = random.Random(3)
    users = ["a", "ab", "b", "u1", "u10", "u2", "Z", "é", "李"]
    tickets = [
        Ticket(
            u, u.upper(), "tea", "casual", None, rng.choice([0, 1.5, 2, 1e9]), rng.random() < 0.3
        )
        for u in users * 3
    ]
    tickets = list({t.user: t for t in tickets}.values())
    by_rule = sorted(tickets, key=lambda t: (not t.head, t.joined_at, t.user))
    # Redis compares members as bytes: UTF-8 keeps code point order.
    by_member = sorted(tickets, key=lambda t: t.member.encode())
    assert by_member == by_rule
    first = pair(list(reversed(tickets)), 0.0, rng)[0]
    assert (first.a, first.b) == (by_member[0], by_member[1])
