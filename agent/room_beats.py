"""What every moderator of a worker process writes to Redis while its debate stands still, in
one round for them all (docs/PROTOCOL.md, "When the moderator restarts" and "Audience").

A moderator writes its debate's record when the debate changes (agent/memory.py). Between
changes three things must still move: its heartbeat (`at` beside the record, which the API's
supervisor watches, and from which a successor counts the time nobody moderated), the phase
it shows to the API's list of live debates, and the audience count it publishes. Each used to
be a Redis call of each room's own, every second or two, from the room's job thread to the
loop that owns the process's connections (agent/resources.py): measured with 10 idle rooms,
those calls were most of an idle room's CPU time. Here one task on that loop does the rounds:
every `PERIOD` seconds one pipeline writes every room's heartbeat, and every
`AUDIENCE_PERIOD` seconds one more writes every room's phase and reads every room's count.
A room's thread is woken only when its count moved.

The heartbeat is the time the moderator's own loop last ran with its record written
(`Beat.alive_at`, set by a timer on that loop, agent/memory.py, which costs no call to another
thread), not the time of the round, so a room whose moderator is stuck stops beating even
while the round goes on. Redis trouble is logged and
the next round tries again; a round never waits longer than `CALL`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator

from lobby.audience import Audiences
from lobby.contract import AUDIENCE_PERIOD
from lobby.debate_states import DebateStates

logger = logging.getLogger("disco.moderator.beats")

PERIOD = 1.0
CALL = 3.0


class Beat:
    """One room's entry in the rounds. Its moderator sets `alive_at` and `phase` on its own
    loop and reads `count`; the round reads the first two and sets `count`, then calls
    `counted` on the room's loop (plain attributes: each is set by one side only)."""

    def __init__(self, room: str) -> None:
        self.room = room
        self.alive_at = 0.0  # 0: the moderator has not started; nothing is written
        self.phase = ""  # "": nothing shown yet
        self.count = 0
        self._listener: tuple[asyncio.AbstractEventLoop, Callable[[], None]] | None = None

    def listen(self, counted: Callable[[], None]) -> None:
        """Call `counted` on the running loop whenever the round reads a new count."""
        self._listener = (asyncio.get_running_loop(), counted)

    def unlisten(self) -> None:
        self._listener = None

    def set_count(self, count: int) -> None:
        """The round read a new count (on the round's loop)."""
        self.count = count
        if self._listener is not None:
            loop, counted = self._listener
            with contextlib.suppress(RuntimeError):  # the room's loop closed meanwhile
                loop.call_soon_threadsafe(counted)


class RoomBeats:
    """The rooms of the process and their rounds; `run` on the loop that owns the Redis
    connection, `entry` from any thread."""

    def __init__(self, states: DebateStates, audiences: Audiences) -> None:
        self._states, self._audiences = states, audiences
        self._rooms: dict[str, Beat] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def entry(self, room: str) -> Iterator[Beat]:
        """The room's entry in the rounds, for as long as the block runs."""
        beat = Beat(room)
        with self._lock:
            self._rooms[room] = beat
        try:
            yield beat
        finally:
            with self._lock:
                if self._rooms.get(room) is beat:
                    del self._rooms[room]

    def _beats(self) -> list[Beat]:
        with self._lock:
            return list(self._rooms.values())

    async def run(self) -> None:
        """Until cancelled: a round every `PERIOD` seconds, the audience every
        `AUDIENCE_PERIOD`."""
        audience_due = 0.0
        while True:
            beats = self._beats()
            await self._heartbeats(beats)
            if time.monotonic() >= audience_due:
                audience_due = time.monotonic() + AUDIENCE_PERIOD
                await self._audience(beats)
            await asyncio.sleep(PERIOD)

    async def _heartbeats(self, beats: list[Beat]) -> None:
        alive = {b.room: b.alive_at for b in beats if b.alive_at}
        if not alive:
            return
        try:
            await asyncio.wait_for(self._states.beat(alive), CALL)
        except Exception:
            logger.warning("heartbeats not written", extra={"rooms": len(alive)}, exc_info=True)

    async def _audience(self, beats: list[Beat]) -> None:
        shown = {b.room: b for b in beats if b.phase}
        if not shown:
            return
        try:
            counts = await asyncio.wait_for(
                self._audiences.shown({r: b.phase for r, b in shown.items()}), CALL
            )
        except Exception:
            logger.warning("audiences not read", extra={"rooms": len(shown)}, exc_info=True)
            return
        for room, count in counts.items():
            if count != shown[room].count:
                shown[room].set_count(count)
