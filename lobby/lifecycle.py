"""The match life cycle: pending -> accepted/declined/expired/left -> active -> finished.

Pure and synchronous. Every function takes a `Match` and returns an `Outcome` saying what
the store must commit atomically (onto the version the match was read at) and whom to tell.

Semantics:
- both accept -> started: the store moves the match to activeMatches;
- a decline -> the decliner's ticket is dropped, the partner goes back to the head;
- a timeout -> whoever did not answer is dropped, whoever accepted goes back to the head;
- leaving (or disconnecting) -> the leaver's ticket is dropped, the partner goes to the head;
- accepting twice changes nothing.

Whoever made a proposal fail (declined it, left while it was pending, let it run out) is at
fault and earns a strike toward a cooldown (lobby.policy.strike); a partner who accepted, or
who was still within the time to answer, never is.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from lobby.errors import Busy, NotYourMatch, UnknownMatch
from lobby.model import Match, Seat
from lobby.policy import Pairing

Kind = Literal["unchanged", "updated", "started", "cancelled"]


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: Kind
    match: Match
    reason: str = ""
    # Users whose tickets go back to the head of the queue, and users whose tickets are removed.
    requeue: tuple[str, ...] = field(default=())
    drop: tuple[str, ...] = field(default=())
    # Users whose doing made the proposal fail: each earns a strike.
    at_fault: tuple[str, ...] = field(default=())


def propose(
    pairings: Sequence[Pairing], now: float, rng: random.Random, accept_timeout: float
) -> list[Match]:
    """New pending matches, one per pairing. `rng` must be unpredictable (SystemRandom) in
    production: the room name is the only thing that keeps strangers out of the room before
    tokens exist."""
    # One draw for the whole batch, 128 bits per name: one system call per pairing round
    # instead of one per match, and as unguessable.
    hexed = rng.randbytes(32 * len(pairings)).hex()
    expires = now + accept_timeout
    out = []
    for i, p in enumerate(pairings, 1):
        # 32 hex digits for the match id, the next 32 for the room's name.
        match_id, room = hexed[64 * i - 64 : 64 * i - 32], "disco-" + hexed[64 * i - 32 : 64 * i]
        out.append(Match.proposal(match_id, room, p.a, p.side_a, p.b, p.side_b, now, expires))
    return out


def _check_pending(match: Match, user: str, now: float) -> Seat:
    seat = match.seat_of(user)
    if seat is None:
        raise NotYourMatch()
    if match.state != "pending":
        raise Busy("This match has already started.")
    if now >= match.expires_at:
        raise UnknownMatch("That match has expired.")
    return seat


def respond(match: Match, user: str, accept: bool, now: float) -> Outcome:
    seat = _check_pending(match, user, now)
    if not accept:
        return _cancel(match, "declined", leaver=user)
    if seat.accepted:
        return Outcome("unchanged", match)
    seats = tuple(replace(s, accepted=True) if s.user == user else s for s in match.seats)
    updated = replace(match, seats=(seats[0], seats[1]), version=match.version + 1)
    if all(s.accepted for s in updated.seats):
        return Outcome("started", replace(updated, state="starting"))
    return Outcome("updated", updated)


def expire(match: Match, now: float) -> Outcome:
    """Time out a pending match whose deadline passed; non-answerers are dropped."""
    if match.state != "pending" or now < match.expires_at:
        return Outcome("unchanged", match)
    stay = tuple(s.user for s in match.seats if s.accepted)
    drop = tuple(s.user for s in match.seats if not s.accepted)
    return Outcome(
        "cancelled", _bump(match), reason="expired", requeue=stay, drop=drop, at_fault=drop
    )


def leave(match: Match, user: str) -> Outcome:
    """The user left the lobby or lost the connection while the match was pending."""
    if match.seat_of(user) is None:
        raise NotYourMatch()
    if match.state != "pending":
        return Outcome("unchanged", match)
    return _cancel(match, "partner_left", leaver=user)


def extend(match: Match, now: float, accept_timeout: float) -> Outcome:
    """After the lobby agent was restarted: give a pending match a fresh deadline so nobody is
    dropped for failing to answer while there was no agent to answer to."""
    if match.state != "pending":
        return Outcome("unchanged", match)
    deadline = max(match.expires_at, now + accept_timeout)
    return Outcome("updated", replace(match, expires_at=deadline, version=match.version + 1))


def _cancel(match: Match, reason: str, *, leaver: str) -> Outcome:
    partner = match.partner_of(leaver)
    assert partner is not None
    return Outcome(
        "cancelled",
        _bump(match),
        reason=reason,
        requeue=(partner.user,),
        drop=(leaver,),
        at_fault=(leaver,),
    )


def _bump(match: Match) -> Match:
    return replace(match, version=match.version + 1)
