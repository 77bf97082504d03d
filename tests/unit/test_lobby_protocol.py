"""Parsing lobby payloads, as a table: every bad input maps to its documented error."""

from __future__ import annotations

import json

import pytest

from lobby.errors import InvalidPayload, InvalidSide, LobbyError, UnknownFormat, UnknownTopic
from lobby.formats import load_catalogue
from lobby.protocol import JoinRequest, parse_empty, parse_join, parse_respond, sent_note, sent_upto

CATALOGUE = load_catalogue()
TOPICS = {"tea"}


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ('{"topic": "tea", "format": "casual"}', JoinRequest("tea", "casual", None)),
        ('{"topic": "tea", "format": "quick-debate"}', JoinRequest("tea", "quick-debate", "any")),
        (
            '{"topic": "tea", "format": "quick-debate", "side": "con"}',
            JoinRequest("tea", "quick-debate", "con"),
        ),
        ("", InvalidPayload),
        ("nope", InvalidPayload),
        ("[]", InvalidPayload),
        ('{"topic": "tea"}', InvalidPayload),
        ('{"topic": "tea", "format": "casual", "x": 1}', InvalidPayload),
        ('{"topic": "", "format": "casual"}', InvalidPayload),
        (json.dumps({"topic": "tea", "format": "casual", "p": "x" * 5000}), InvalidPayload),
        ('{"topic": "cats", "format": "casual"}', UnknownTopic),
        ('{"topic": "tea", "format": "chess"}', UnknownFormat),
        ('{"topic": "tea", "format": "casual", "side": "pro"}', InvalidSide),
        ('{"topic": "tea", "format": "quick-debate", "side": "left"}', InvalidSide),
        ('{"topic": "tea", "format": "quick-debate", "side": true}', InvalidPayload),
    ],
)
def test_parse_join(payload: str, expected: JoinRequest | type[LobbyError]) -> None:
    if isinstance(expected, JoinRequest):
        assert parse_join(payload, TOPICS, CATALOGUE) == expected
    else:
        with pytest.raises(expected):
            parse_join(payload, TOPICS, CATALOGUE)


@pytest.mark.parametrize(
    ("payload", "ok"),
    [
        ('{"match_id": "abc", "accept": true}', True),
        ('{"match_id": "abc", "accept": false}', True),
        ('{"match_id": "abc", "accept": 1}', False),
        ('{"match_id": "abc"}', False),
        ('{"accept": true}', False),
        ('{"match_id": 5, "accept": true}', False),
    ],
)
def test_parse_respond(payload: str, ok: bool) -> None:
    if ok:
        assert parse_respond(payload)[0] == "abc"
    else:
        with pytest.raises(InvalidPayload):
            parse_respond(payload)


def test_empty_payloads() -> None:
    parse_empty("{}")
    parse_empty("")
    with pytest.raises(InvalidPayload):
        parse_empty('{"a": 1}')


def test_errors_know_their_codes() -> None:
    err = UnknownTopic(topic="x")
    assert (err.code, json.loads(err.data())) == (2002, {"error": "unknown_topic", "topic": "x"})
    assert LobbyError().code == 2099


@pytest.mark.parametrize(
    ("packet", "upto"),
    [
        (json.dumps(sent_note({"p-me": 7, "p-other": 2})).encode(), 7),
        (json.dumps(sent_note({"p-me": 0})).encode(), 0),
        (json.dumps(sent_note({"p-other": 2})).encode(), None),
        (b'{"type": "sent", "seq": {"p-me": "7"}}', None),
        (b'{"type": "sent", "seq": {"p-me": true}}', None),
        (b'{"type": "sent", "seq": [7]}', None),
        (b'{"type": "proposed", "seq": 7}', None),
        (b"[1]", None),
        (b"\xff", None),
        (b"[" * 100_000, None),
    ],
)
def test_sent_upto(packet: bytes, upto: int | None) -> None:
    """What a `sent` note names for a connection; anything else is a plain hint."""
    assert sent_upto(packet, "p-me") == upto
