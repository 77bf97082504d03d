"""The lobby's wire format (docs/PROTOCOL.md, "Lobby"): parsing RPC payloads and shaping
replies and events. Pure: every payload is validated here before anything changes.
"""

from __future__ import annotations

import json
from collections.abc import Container
from dataclasses import dataclass
from typing import Any

from lobby.errors import InvalidPayload, InvalidSide, UnknownFormat, UnknownTopic
from lobby.formats import Catalogue
from lobby.model import WANTED_SIDES, Match, Ticket

TOPIC = "disco.lobby"
# LiveKit refuses RPC payloads above 15 KiB; a lobby command is a few dozen bytes, so
# anything above 4 KiB is refused before it is parsed.
MAX_PAYLOAD = 4 * 1024
_MAX_ID = 64


@dataclass(frozen=True, slots=True)
class JoinRequest:
    """A `lobby.join` command, checked against the catalogue: the side wanted is one of
    WANTED_SIDES for a debate and None for a casual talk."""

    topic: str
    format: str
    side: str | None


def parse_object(payload: str, allowed: Container[str]) -> dict[str, Any]:
    if len(payload.encode()) > MAX_PAYLOAD:
        raise InvalidPayload("The request is too large.")
    if payload.strip() == "":
        return {}
    try:
        data = json.loads(payload)
    except (json.JSONDecodeError, RecursionError):
        raise InvalidPayload("The request is not valid JSON.") from None
    if not isinstance(data, dict):
        raise InvalidPayload("The request must be a JSON object.")
    for key in data:
        if key not in allowed:
            raise InvalidPayload(f"Unexpected field '{key}'.", field=key)
    return data


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value or len(value) > _MAX_ID:
        raise InvalidPayload(f"'{key}' must be a non-empty string.", field=key)
    return value


def parse_join(payload: str, topics: Container[str], catalogue: Catalogue) -> JoinRequest:
    data = parse_object(payload, ("topic", "format", "side"))
    topic, format_id = _text(data, "topic"), _text(data, "format")
    side = data.get("side")
    if side is not None and not isinstance(side, str):
        raise InvalidPayload("'side' must be a string.", field="side")
    if topic not in topics:
        raise UnknownTopic(topic=topic)
    fmt = catalogue.get(format_id)
    if fmt is None:
        raise UnknownFormat(format=format_id)
    if not fmt.is_debate:
        if side is not None:
            raise InvalidSide("A casual conversation has no sides.")
        return JoinRequest(topic, format_id, None)
    if side is None:
        side = "any"
    if side not in WANTED_SIDES:
        raise InvalidSide()
    return JoinRequest(topic, format_id, side)


def parse_respond(payload: str) -> tuple[str, bool]:
    data = parse_object(payload, ("match_id", "accept"))
    match_id = _text(data, "match_id")
    accept = data.get("accept")
    if not isinstance(accept, bool):
        raise InvalidPayload("'accept' must be true or false.", field="accept")
    return match_id, accept


def parse_empty(payload: str) -> None:
    parse_object(payload, ())


def ticket_view(ticket: Ticket, position: int, waiting: int, estimate: int) -> dict[str, Any]:
    return {
        "topic": ticket.topic,
        "format": ticket.format,
        "side": ticket.side,
        "position": position,
        "waiting": waiting,
        "estimated_wait": estimate,
    }


def queued_event(ticket: Ticket, position: int, waiting: int, estimate: int) -> dict[str, Any]:
    return {"type": "queued", **ticket_view(ticket, position, waiting, estimate)}


def match_view(match: Match, user: str, now: float) -> dict[str, Any]:
    """The match as one of its two people sees it: never the partner's identity or the room."""
    seat, partner = match.seat_of(user), match.partner_of(user)
    assert seat is not None and partner is not None
    return {
        "match_id": match.id,
        "partner": {"display_name": partner.ticket.name},
        "topic": match.topic,
        "format": match.format,
        "side": seat.side,
        "expires_at": match.expires_at,
        "expires_in": max(0.0, round(match.expires_at - now, 3)),
        "accepted": seat.accepted,
        "state": "pending" if match.state == "pending" else "started",
    }


def proposed_event(match: Match, user: str, now: float) -> dict[str, Any]:
    return {"type": "proposed", **match_view(match, user, now)}


def cancelled_event(match_id: str, reason: str, requeued: bool) -> dict[str, Any]:
    return {"type": "cancelled", "match_id": match_id, "reason": reason, "requeued": requeued}


def ready_event(match: Match) -> dict[str, Any]:
    """Only a hint to call `lobby.status`: the room's URL and token come in its reply."""
    return {"type": "ready", "match_id": match.id, "room": match.room}


def room_view(room: str, url: str, token: str) -> dict[str, str]:
    return {"name": room, "url": url, "token": token}


def sent_note(seqs: dict[str, int]) -> dict[str, Any]:
    """The agent's `sent` note: up to which number it sent each named connection's events."""
    return {"type": "sent", "seq": seqs}


def sent_upto(data: bytes, identity: str) -> int | None:
    """The number a `sent` note names for `identity`; None when the packet is not such a note
    or does not name it (then it is a hint like any other packet)."""
    try:
        note = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if not isinstance(note, dict) or note.get("type") != "sent":
        return None
    seqs = note.get("seq")
    upto = seqs.get(identity) if isinstance(seqs, dict) else None
    return upto if isinstance(upto, int) and not isinstance(upto, bool) else None
