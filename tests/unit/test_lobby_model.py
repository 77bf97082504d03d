"""The lobby's domain values, and display names fit for the lobby."""

from __future__ import annotations

import pytest

from lobby.model import SEP, Match, Seat, Ticket, clean_name


@pytest.mark.parametrize(("side_a", "side_b"), [(None, None), ("pro", "con"), ("con", "pro")])
def test_proposal_is_the_match_its_fields_make(side_a: str | None, side_b: str | None) -> None:
    a = Ticket("a", "A", "tea", "quick-debate", side_a, 1.0)
    b = Ticket("b", "B", "tea", "quick-debate", side_b, 2.0)
    built = Match.proposal("m1", "disco-r1", a, side_a, b, side_b, 10.0, 30.0)
    made = Match(
        "m1", "disco-r1", "tea", "quick-debate", (Seat(a, side_a), Seat(b, side_b)), 10, 30
    )
    assert built == made and hash(built) == hash(made)
    assert built.users == ("a", "b") and built.partner_of("a") == Seat(b, side_b)
    assert built.seat_of("z") is None
    with pytest.raises(AttributeError):
        built.version = 1  # type: ignore[misc]


def test_a_ticket_at_the_head_is_the_same_ticket_first_in_its_queue() -> None:
    t = Ticket("u", "U", "tea", "casual", None, 1.0)
    assert t.at_head() == Ticket("u", "U", "tea", "casual", None, 1.0, head=True)
    assert t.bucket == f"tea{SEP}casual{SEP}"


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
