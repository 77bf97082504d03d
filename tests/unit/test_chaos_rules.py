"""The chaos test's agreement rules (tests/integration/chaos_rules.py) catch what they must:
a table of histories, final statuses and facts, each agreeing or not."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.chaos_rules import Command, Facts, Final, judge

T, F, Q = "t1", "casual", ("t1", "casual", None)
JOIN = Command("lobby.join", {"topic": T, "format": F}, 10.0, "ok", {"ticket": {}})
DEBATE = Command(
    "lobby.join", {"topic": T, "format": "quick-debate", "side": "pro"}, 10.0, "ok", {}
)
LEAVE = Command("lobby.leave", {}, 30.0, "ok", {"left": True})
# A connection that dropped: the lobby may have taken it for a leave.
LOST = Command("lobby.leave", {}, 30.0, "connection_lost", None, (0,))


def _respond(mid: str, accept: bool, outcome: str, status: str | None, at: float = 20.0) -> Command:
    reply = {"match_id": mid, "status": status} if status else None
    return Command("lobby.respond", {"match_id": mid, "accept": accept}, at, outcome, reply)


NOTHING = Final("none")
QUEUED = Final("queued", Q)
STARTED_M = Final("started", None, "m", "disco-m")
NO_FACTS = Facts((), frozenset(), frozenset())
PROPOSED_LATER = Facts(((15.0, None),), frozenset(), frozenset())
M_LIVE = Facts(((12.0, "m"),), frozenset({"m"}), frozenset({"m"}))
M_ENDED = Facts(((12.0, "m"),), frozenset({"m"}), frozenset())
M_NEVER = Facts(((12.0, "m"),), frozenset(), frozenset())
# The histories of a client that joined and answered match m, by the lobby's reply.
ACCEPTED = [JOIN, _respond("m", True, "ok", "accepted")]
STARTING = [JOIN, _respond("m", True, "ok", "starting")]
DECLINED = [JOIN, _respond("m", False, "ok", "declined")]

CASES: list[tuple[str, list[Command], Final, Facts, bool]] = [
    ("fresh client, nothing", [], NOTHING, NO_FACTS, True),
    ("fresh client with a ticket", [], QUEUED, NO_FACTS, False),
    ("joined, queued", [JOIN], QUEUED, NO_FACTS, True),
    ("joined, another ticket", [JOIN], Final("queued", ("t2", F, None)), NO_FACTS, False),
    ("joined a debate, shown casual", [DEBATE], QUEUED, NO_FACTS, False),
    ("joined, lost the ticket unproposed", [JOIN], NOTHING, NO_FACTS, False),
    ("joined, proposed, let it run out", [JOIN], NOTHING, PROPOSED_LATER, True),
    ("joined, shown a match never accepted", [JOIN], STARTED_M, M_LIVE, False),
    ("left, queued", [JOIN, LEAVE], QUEUED, NO_FACTS, False),
    ("left, nothing", [JOIN, LEAVE], NOTHING, NO_FACTS, True),
    ("left after starting m, still in m", [*STARTING, LEAVE], STARTED_M, M_LIVE, True),
    ("left, in a match never accepted", [JOIN, LEAVE], STARTED_M, M_LIVE, False),
    ("declined, nothing", DECLINED, NOTHING, M_NEVER, True),
    ("declined, queued", DECLINED, QUEUED, M_NEVER, False),
    ("accepted, started", ACCEPTED, STARTED_M, M_LIVE, True),
    ("accepted, requeued", ACCEPTED, QUEUED, M_NEVER, True),
    ("accepted, lost unproposed", ACCEPTED, NOTHING, M_NEVER, False),
    ("accepted, m ended", ACCEPTED, NOTHING, M_ENDED, True),
    ("starting, room ended", STARTING, NOTHING, M_ENDED, True),
    ("starting, gone while live", STARTING, NOTHING, M_LIVE, False),
    ("starting, back in the queue", STARTING, QUEUED, M_LIVE, False),
    (
        "refusals change nothing",
        [JOIN, _respond("x", True, "unknown_match", None)],
        QUEUED,
        NO_FACTS,
        True,
    ),
    (
        "a retried join that ended busy may have replaced the ticket",
        [JOIN, Command("lobby.join", {"topic": "t2", "format": F}, 20.0, "busy", None, (2098,))],
        Final("queued", ("t2", F, None)),
        NO_FACTS,
        True,
    ),
    (
        "an unretried busy join did not",
        [JOIN, Command("lobby.join", {"topic": "t2", "format": F}, 20.0, "busy", None)],
        Final("queued", ("t2", F, None)),
        NO_FACTS,
        False,
    ),
    ("a dropped connection may have cost the ticket", [JOIN, LOST], NOTHING, NO_FACTS, True),
    ("or not", [JOIN, LOST], QUEUED, NO_FACTS, True),
    (
        "not_queued to a respond: nothing",
        [JOIN, _respond("m", True, "not_queued", None)],
        QUEUED,
        NO_FACTS,
        False,
    ),
]


X_REQUEUED = Facts(((15.0, "x"),), frozenset(), frozenset(), cancelled={"x": True})
X_DROPPED = Facts(((15.0, "x"),), frozenset(), frozenset(), cancelled={"x": False})
X_THEN_Y = Facts(((15.0, "x"), (16.0, "y")), frozenset(), frozenset(), cancelled={"x": True})
M_REQUEUED = Facts(((12.0, "m"),), frozenset(), frozenset(), cancelled={"m": True})
CASES += [
    ("told requeued, queued", [JOIN], QUEUED, X_REQUEUED, True),
    ("told requeued, lost the ticket", [JOIN], NOTHING, X_REQUEUED, False),
    ("told dropped, nothing", [JOIN], NOTHING, X_DROPPED, True),
    ("told dropped, still queued", [JOIN], QUEUED, X_DROPPED, False),
    ("requeued, then proposed again", [JOIN], NOTHING, X_THEN_Y, True),
    ("accepted, told requeued, queued", ACCEPTED, QUEUED, M_REQUEUED, True),
    ("accepted, told requeued, nothing", ACCEPTED, NOTHING, M_REQUEUED, False),
]


@pytest.mark.parametrize(
    ("history", "final", "facts", "agrees"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_agreement(history: list[Command], final: Final, facts: Facts, agrees: bool) -> None:
    assert (judge(history, [], final, facts) == []) is agrees


def test_ready_only_for_an_accepted_match() -> None:
    events: list[dict[str, Any]] = [{"type": "ready", "seq": 3, "match_id": "m"}]
    assert judge(STARTING, events, STARTED_M, M_LIVE) == []
    assert judge([JOIN], events, QUEUED, NO_FACTS) != []


def test_a_started_match_needs_its_room() -> None:
    assert judge(STARTING, [], Final("started", None, "m", None), M_LIVE) != []
