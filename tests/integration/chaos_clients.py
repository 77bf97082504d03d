"""Lobby clients that play a seeded random script for the chaos test: each is a real Python
LiveKit client (tests/support/lobby_clients.py) that joins, accepts, declines and leaves,
acting on what its last `lobby.status` said (as a person would, a little late and sometimes
out of turn), until told to stop. Like any client following docs/PROTOCOL.md it sends a
command again when LiveKit reports a transport failure or the lobby answers `unavailable`,
and it records every command (what it sent, when, how it ended, what it retried) for the
agreement rules (tests/integration/chaos_rules.py)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any

from livekit import rtc

from tests.integration.chaos_rules import Command
from tests.support.lobby_clients import LobbyUser

# What LiveKit says when a request or its answer was lost, or the lobby agent is not there
# (1400: an agent that joined but has not registered its methods yet), and the lobby's own
# `unavailable` (2098): docs/PROTOCOL.md says to send the command again.
TRANSPORT = frozenset({1400, 1401, 1501, 1502, 1503, 1505})
UNAVAILABLE = 2098
# How long a client keeps sending one command again before it gives up on it. A killed lobby
# agent stays listed (and silent) until LiveKit notices, then a new one must be dispatched:
# half a minute or more on a loaded machine.
PATIENCE = 150.0
# Between two actions of one client, seconds.
PAUSE = (0.4, 2.5)
# The options of each state, with their weights (see `ChaosClient._choose`).
CHOICES: dict[str, tuple[tuple[str, int], ...]] = {
    "none": (("join", 85), ("leave", 5), ("stale", 5), ("wait", 5)),
    "queued": (("wait", 45), ("leave", 20), ("join", 30), ("stale", 5)),
    "pending": (("accept", 65), ("decline", 15), ("leave", 8), ("wait", 8), ("join", 4)),
    "accepted": (("wait", 75), ("leave", 12), ("join", 13)),
    "started": (("wait", 72), ("join", 20), ("leave", 4), ("decline", 4)),
}


@dataclass
class ChaosClient:
    user: LobbyUser
    rng: random.Random
    topics: tuple[str, ...]
    commands: list[Command] = field(default_factory=list)
    # Every failed attempt that was sent again, by code.
    retries: collections.Counter[int] = field(default_factory=collections.Counter)
    # (sent at, answered at) of every attempt that got an answer from the lobby agent.
    answered: list[tuple[float, float]] = field(default_factory=list)
    # When the client's connection to LiveKit dropped and it reconnected (epoch).
    reconnects: list[float] = field(default_factory=list)
    _seen_matches: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.user.room.on("reconnecting", lambda *_: self.reconnects.append(time.time()))

    def history(self) -> list[Command]:
        """The commands, with each dropped connection as a leave that may have happened:
        the lobby takes a connection that went away for a leave (docs/PROTOCOL.md)."""
        lost = [
            Command("lobby.leave", {}, t, "connection_lost", None, (0,)) for t in self.reconnects
        ]
        return sorted([*self.commands, *lost], key=lambda c: c.sent_at)

    async def play(self, stop: asyncio.Event) -> None:
        """Act until `stop` is set; the command under way when it is set is finished."""
        while not stop.is_set():
            await _sleep_or(stop, self.rng.uniform(*PAUSE))
            if stop.is_set():
                return
            await self.act(self._choose())

    async def coda(self, topic: str, within: float) -> None:
        """After the chaos, one last round with everyone who is not in a discussion: join
        one queue, and answer the first proposal once (seeded: accept, decline or ignore),
        so that the end holds every kind of outcome: started, declined, left to run out by
        one or both, put back in the queue."""
        if (await self.status()).get("match") is not None:
            return
        joined = await self.command("lobby.join", {"topic": topic, "format": "casual"})
        answer = self.rng.choices(("accept", "decline", "ignore"), (30, 30, 40))[0]
        deadline = time.monotonic() + within
        while joined.outcome == "ok" and time.monotonic() < deadline:
            match = (await self.status()).get("match")
            if match is not None:
                # Of each pair, the one whose name sorts first accepts: every pair ends with
                # an accepter, whose partner accepted, declined or let the time run out.
                if match["partner"]["display_name"] > self.user.name:
                    answer = "accept"
                if answer != "ignore" and match["state"] == "pending":
                    payload = {"match_id": match["match_id"], "accept": answer == "accept"}
                    await self.command("lobby.respond", payload)
                return
            await asyncio.sleep(1.0)

    def _state(self) -> str:
        state = self.user.state or {}
        match = state.get("match")
        if match is not None:
            if match["match_id"] not in self._seen_matches:
                self._seen_matches.append(match["match_id"])
            if match["state"] != "pending":
                return "started"
            return "accepted" if match["accepted"] else "pending"
        return "queued" if state.get("ticket") else "none"

    def _choose(self) -> str:
        options = CHOICES[self._state()]
        return self.rng.choices([o for o, _ in options], [w for _, w in options])[0]

    async def act(self, action: str) -> None:
        if action == "wait":
            return
        if action == "join":
            await self.command("lobby.join", self._ticket())
        elif action == "leave":
            await self.command("lobby.leave", {})
        elif action in ("accept", "decline", "stale"):
            mid = self._match_id(stale=action == "stale")
            if mid is not None:
                payload = {"match_id": mid, "accept": action != "decline"}
                await self.command("lobby.respond", payload)

    def _ticket(self) -> dict[str, Any]:
        topic = self.rng.choice(self.topics)
        if self.rng.random() < 0.6:
            return {"topic": topic, "format": "casual"}
        return {"topic": topic, "format": "quick-debate", "side": self.rng.choice(SIDES)}

    def _match_id(self, *, stale: bool) -> str | None:
        """The match of the last status, or (stale) one seen before, as a slow client would."""
        match = (self.user.state or {}).get("match")
        if not stale:
            return match["match_id"] if match else None
        return self.rng.choice(self._seen_matches) if self._seen_matches else None

    async def command(self, method: str, payload: dict[str, Any]) -> Command:
        """Send one command until it gets an answer from the lobby (PATIENCE at most)."""
        sent_at, retried = time.time(), list[int]()
        give_up = time.monotonic() + PATIENCE
        while True:
            started = time.time()
            try:
                reply = await self.user.call(method, payload)
                self.answered.append((started, time.time()))
                return self._done(method, payload, sent_at, "ok", reply, retried)
            except rtc.RpcError as e:
                data = _data(e)
                if e.code not in TRANSPORT and e.code != UNAVAILABLE:
                    self.answered.append((started, time.time()))
                    name = str(data.get("error", e.code))
                    return self._done(method, payload, sent_at, name, None, retried)
                retried.append(e.code)
                self.retries[e.code] += 1
                if time.monotonic() > give_up:
                    return self._done(method, payload, sent_at, "gave_up", None, retried)
                await asyncio.sleep(_backoff(e.code, data, len(retried)))

    def _done(
        self,
        method: str,
        payload: dict[str, Any],
        sent_at: float,
        outcome: str,
        reply: dict[str, Any] | None,
        retried: list[int],
    ) -> Command:
        c = Command(method, payload, sent_at, outcome, reply, tuple(retried))
        self.commands.append(c)
        return c

    async def status(self) -> dict[str, Any]:
        """A `lobby.status` reply, asked until one comes (not recorded as a command)."""
        give_up = time.monotonic() + PATIENCE
        while True:
            try:
                state: dict[str, Any] = await self.user.call("lobby.status")
                return state
            except rtc.RpcError as e:
                if e.code not in TRANSPORT and e.code != UNAVAILABLE:
                    raise
                if time.monotonic() > give_up:
                    raise
                await asyncio.sleep(_backoff(e.code, _data(e), 1))


SIDES = ("pro", "con", "any")


def _data(e: rtc.RpcError) -> dict[str, Any]:
    try:
        data = json.loads(e.data or "{}")
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _backoff(code: int, data: dict[str, Any], attempt: int) -> float:
    """`retry_after` when the lobby says so (capped: the test is short), else a growing pause."""
    if code == UNAVAILABLE and isinstance(data.get("retry_after"), int | float):
        return min(float(data["retry_after"]), 3.0)
    return min(0.5 * attempt, 3.0)


async def _sleep_or(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def summary(clients: list[ChaosClient]) -> str:
    """Commands by method and outcome, and the failures that were sent again, by code."""
    by_kind: collections.Counter[str] = collections.Counter()
    for c in clients:
        for cmd in c.commands:
            verb = cmd.method.removeprefix("lobby.")
            if verb == "respond":
                verb = "accept" if cmd.payload.get("accept") else "decline"
            by_kind[f"{verb}:{cmd.outcome}"] += 1
    retried: collections.Counter[int] = collections.Counter()
    failed: collections.Counter[str] = collections.Counter()
    for c in clients:
        retried.update(c.retries)
        failed.update(o for _, _, o in c.user.calls if o != "ok")
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(by_kind.items()))
    codes = ", ".join(f"{k} x{n}" for k, n in sorted(retried.items()))
    attempts = ", ".join(f"{k} x{n}" for k, n in sorted(failed.items()))
    return (
        f"commands (method:outcome): {kinds}\n"
        f"failed attempts by code (status calls included): {attempts or 'none'}\n"
        f"commands sent again after, by code: {codes or 'none'}"
    )
