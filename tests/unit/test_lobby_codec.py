"""lobby.codec: what the Redis store writes for tickets and matches reads back as the same value,
for any value (hypothesis), and the fast match encoder writes exactly what `json.dumps` would."""

from __future__ import annotations

import json
import math
import random
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lobby import codec
from lobby.lifecycle import propose
from lobby.model import SEP, Match, Seat, Ticket, clean_name
from lobby.policy import Pairing, pair

# Text as the store gets it: valid UTF-8 (no lone surrogates), never the separator.
_text = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters=SEP))
_sides = st.sampled_from([None, "pro", "con", "any"])
# Join times to the millisecond (what the store keeps), over a few centuries.
_times = st.integers(min_value=0, max_value=10**13).map(lambda ms: ms / 1000)
tickets = st.builds(Ticket, _text, _text, _text, _text, _sides, _times, st.booleans())
_finite = st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def matches(draw: st.DrawFn) -> Match:
    a, b = draw(tickets), draw(tickets)
    seats = (Seat(a, draw(_sides), draw(st.booleans())), Seat(b, draw(_sides), draw(st.booleans())))
    return Match(
        id=draw(_text),
        room=draw(_text),
        topic=draw(_text),
        format=draw(_text),
        seats=seats,
        created_at=draw(_finite),
        expires_at=draw(_finite),
        version=draw(st.integers(min_value=0, max_value=2**53)),
        state=draw(st.sampled_from(["pending", "starting", "live"])),
    )


def _shape(m: Match) -> dict[str, Any]:
    """The match as the generic encoder would be given it."""
    seats = [{"m": codec.member(s.ticket), "side": s.side, "accepted": s.accepted} for s in m.seats]
    return {
        "id": m.id,
        "room": m.room,
        "topic": m.topic,
        "format": m.format,
        "seats": seats,
        "created_at": m.created_at,
        "expires_at": m.expires_at,
        "version": m.version,
        "state": m.state,
        "users": list(m.users),
    }


@given(tickets)
def test_any_ticket_round_trips_through_its_member(ticket: Ticket) -> None:
    member = codec.member(ticket)
    assert member.startswith(ticket.bucket)
    assert codec.ticket(member) == ticket
    assert codec.member(codec.ticket(member)) == member


@given(matches())
def test_any_match_round_trips_and_is_what_json_dumps_writes(match: Match) -> None:
    text = codec.match_json(match)
    assert text == json.dumps(_shape(match), separators=(",", ":"))
    assert codec.match(text) == match


@given(st.lists(tickets, min_size=1, max_size=8), st.integers(min_value=1, max_value=8))
def test_a_store_codec_writes_what_the_plain_functions_write(read: list[Ticket], size: int) -> None:
    # It remembers the members of the tickets it read (at most `size`): an equal ticket, or one
    # changed from one it read, is encoded afresh.
    store = codec.Codec(size)
    back = store.tickets([codec.member(t) for t in read])
    assert back == read
    made = [Match.proposal("m", "r", t, None, t.at_head(), "pro", 1.0, 2.0) for t in read]
    made += [
        Match.proposal("m", "r", t, None, u, None, 1.0, 2.0)
        for t, u in zip(back, read, strict=True)
    ]
    fields = []
    for m in made:
        a, b = m.seats[0].ticket, m.seats[1].ticket
        fields += [a.user, codec.member(a), b.user, codec.member(b), m.id, codec.match_json(m)]
        assert store.match_json(m) == codec.match_json(m)
    assert store.proposals(made) == fields


@given(st.lists(matches(), max_size=6))
def test_a_propose_batch_is_what_the_plain_functions_write(batch: list[Match]) -> None:
    fields = []
    for m in batch:
        a, b = m.seats[0].ticket, m.seats[1].ticket
        fields += [a.user, codec.member(a), b.user, codec.member(b), m.id, codec.match_json(m)]
    assert codec.Codec().proposals(batch) == fields


@pytest.mark.parametrize(
    "ticket",
    [
        Ticket("u1", "Ann", "tea", "casual", None, 0.0),
        Ticket("u2", "Ann Lee  Jr.", "tea", "quick-debate", "pro", 1.5, head=True),
        Ticket("u3", "Zoë 李 🎉", "café-talk", "quick-debate", "con", 1_700_000_000.123),
        Ticket("9b2e-uuid", ' "quoted" \\ ', "t", "f", None, 86_400.999),
    ],
)
def test_member_round_trip(ticket: Ticket) -> None:
    assert codec.ticket(codec.member(ticket)) == ticket


def test_member_keeps_milliseconds() -> None:
    t = Ticket("u", "U", "tea", "casual", None, 10.0004)
    assert codec.ticket(codec.member(t)).joined_at == 10.0
    before = Ticket("u", "U", "tea", "casual", None, -5)
    assert codec.member(before).split(SEP)[2] == "1" + "0" * 15


@pytest.mark.parametrize("field", ["user", "name", "topic", "format"])
def test_member_refuses_the_separator(field: str) -> None:
    values = {"user": "u", "name": "N", "topic": "tea", "format": "casual"}
    values[field] = f"x{SEP}y"
    t = Ticket(values["user"], values["name"], values["topic"], values["format"], None, 1.0)
    with pytest.raises(ValueError):
        codec.member(t)


@pytest.mark.parametrize(
    "ticket",
    [
        Ticket("u", "U", "tea", "quick-debate", "maybe", 1.0),
        Ticket("u", "U", "tea", "casual", None, math.inf),
        Ticket("u", "U", "tea", "casual", None, math.nan),
    ],
)
def test_member_refuses_a_side_or_time_no_ticket_has(ticket: Ticket) -> None:
    with pytest.raises(ValueError):
        codec.member(ticket)


@pytest.mark.parametrize(
    "member",
    [
        "",
        "tea",
        f"tea{SEP}casual{SEP}1x{SEP}u{SEP}-{SEP}U",
        f"tea{SEP}casual{SEP}1{SEP}u{SEP}?{SEP}U",
        f"tea{SEP}casual{SEP}{SEP}u{SEP}-{SEP}U",
    ],
)
def test_a_member_that_is_not_one_is_refused(member: str) -> None:
    with pytest.raises(ValueError):
        codec.ticket(member)


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_match_json_refuses_a_time_json_cannot_hold(bad: float) -> None:
    a = Ticket("a", "A", "tea", "casual", None, 1.0)
    (m,) = propose([Pairing(a, replace(a, user="b"), None, None)], 100.0, random.Random(5), 20)
    with pytest.raises(ValueError):
        codec.match_json(replace(m, expires_at=bad))


@pytest.mark.parametrize(
    "text", ["", "[]", "{}", '{"id": "m", "seats": []}', '{"seats": [{"m": "x"}, {"m": "y"}]}']
)
def test_a_text_that_is_not_a_match_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        codec.match(text)


@pytest.mark.parametrize(
    "raw", ["Ann", f"An{SEP}n\x1e\n\t\x00\x7f\x85", "", "\ud800Bob", "x" * 100]
)
def test_a_clean_name_always_encodes(raw: str) -> None:
    codec.member(Ticket("u", clean_name(raw), "tea", "casual", None, 1.0)).encode()


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
    by_member = sorted(tickets, key=lambda t: codec.member(t).encode())
    assert by_member == by_rule
    first = pair(list(reversed(tickets)), 0.0, rng)[0]
    assert (first.a, first.b) == (by_member[0], by_member[1])
