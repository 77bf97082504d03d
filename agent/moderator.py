"""The moderator agent: one per discussion room, identity `disco-moderator`.

A thin adapter around the pure clock (`agent/clock.py`): every change — a command, a join or
leave, time passing — goes through `_apply`, which asks the clock at once, then (one publish
at a time) enforces the floor, publishes the shared state as participant attributes and
sends the clock's events (`agent/announcer.py`). At the
end the outcome goes to Postgres and, after a short wrap-up, the room is closed so LiveKit sends
`room_finished`. Audio published under any source but the microphone is dealt with apart from
the floor, for everyone in the room (`agent/audio_guard.py`).

The debate is kept in Redis as it goes (`agent/memory.py`): a moderator dispatched into a room
whose moderator died finds it there, takes the floor back where it was and goes on with the
time that was left. The job around it (connecting, Redis, Postgres) is `agent/moderator_job.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from livekit import rtc

from agent import commands
from agent.announcer import CALL, RETRY, Announcer
from agent.audience import Audience
from agent.audio_guard import AudioGuard
from agent.clock import DebateClock
from agent.clock_types import Ended, Event
from agent.errors import NotADebater, UnknownParticipant
from agent.floor import Floor
from agent.memory import Memory
from agent.moderator_offer import QuickDebateOffer
from agent.proposal import Proposal
from agent.room_safety import SafetyFactory
from agent.state import Record, Seats, attributes, payload, state
from lobby.contract import AUDIENCE_ATTRIBUTE, Job
from lobby.db import Database
from lobby.formats import Catalogue, Format, Side

logger = logging.getLogger("disco.moderator")

T = TypeVar("T")

# The longest a command's reply waits for the room to be told of the change (permissions,
# attributes, events: LiveKit's server API and the agent's own connection). A room that is slow
# to update (LiveKit's API stalled) must not make the command itself time out at the caller
# (15 s): the clock has changed already, the reply says so, and the room catches up after.
REPLY_WAIT = 3.0

_MIC = rtc.TrackSource.SOURCE_MICROPHONE
_AUDIO = rtc.TrackKind.KIND_AUDIO


class Moderator(QuickDebateOffer):
    def __init__(
        self,
        room: rtc.Room,
        job: Job,
        catalogue: Catalogue,
        fmt: Format,
        floor: Floor,
        db: Database,
        rng: random.Random | None = None,
        *,
        memory: Memory | None = None,
        safety: SafetyFactory | None = None,
        audience: Audience | None = None,
    ) -> None:
        self.room = room
        self.job = job
        self.db = db
        self._catalogue = catalogue
        self._format = fmt
        self._floor = floor
        self._guard = AudioGuard(floor, room.name)
        self._rng = rng or random.SystemRandom()
        self._clock = DebateClock(fmt, time.time())
        self._seats = Seats.assign(job.debaters, debate=fmt.is_debate)
        self._lock = asyncio.Lock()
        self._unsent: list[Event] = []  # what the clock said that the room has not been told
        self._wake = asyncio.Event()
        self._out = Announcer(room, floor)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._regrant: asyncio.Task[None] | None = None  # permissions asked for again
        self._proposal: Proposal | None = None
        self._gone = False
        self._replaced = False
        self._memory = memory
        self._safety = None if safety is None else safety(self._spawn)
        self._audience = audience

    def resume(self, record: Record) -> None:
        """Go on from what the previous moderator of this room left (before `run`)."""
        fmt = self._catalogue.get(record.format)
        told = {"room": self.room.name, "format": record.format}
        if fmt is None or set(record.seats.sides) != set(self._seats.sides):
            logger.warning("saved debate does not fit the room, starting afresh", extra=told)
            return
        now = time.time()
        try:
            clock = DebateClock.restore(fmt, record.clock, now)
        except ValueError:
            logger.warning("saved debate does not fit its format, starting afresh", extra=told)
            return
        self._format, self._seats, self._clock = fmt, record.seats, clock
        self._out.resume(record.seq)
        if record.proposal is not None:
            self._proposal = Proposal(*record.proposal)
        snap = clock.snapshot(now)
        logger.info(
            "moderator resumed",
            extra={**told, "status": snap.status, "phase": snap.index, "left": snap.remaining},
        )

    def _saved(self) -> Record:
        p = self._proposal
        return Record(
            match_id=self.job.match_id,
            format=self._format.id,
            seats=self._seats,
            clock=self._clock.save(time.time()),
            seq=dict(self._out.seq),
            proposal=None if p is None else (p.by, p.expires_at),
        )

    # -- life cycle ------------------------------------------------------------------------
    async def run(self) -> None:
        self._listen()
        commands.register(self.room.local_participant, self)
        if self._safety is not None:
            self._safety.listen(self.room)
            self._safety.arrived(list(self.room.remote_participants))
        try:
            self._spawn(self._guard.scan(list(self.room.remote_participants.values())))
            if self._memory is not None:
                self._spawn(self._memory.pulse(self._saved))
            if self._audience is not None:  # a new count goes out with the attributes as they are
                self._audience.follow(lambda: self._spawn(self._guarded(lambda _: [])))
            present = [i for i in self._seats.sides if i in self.room.remote_participants]
            await self._apply(lambda now: self._take_seats(present, now))
            if self._clock.outcome is not None:  # resumed after the end: make sure it is kept
                await self._record(self._clock.outcome, self._clock.winner)
            await self._loop()
            await self._finish()
        finally:
            self._unlisten()
            if self._safety is not None:
                self._safety.unlisten(self.room)
            if self._audience is not None:
                self._audience.unfollow()
            self._out.close()
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _arrivals(self, identities: list[str], now: float) -> list[Event]:
        return [e for i in identities for e in self._clock.arrive(self._seats.sides[i], now)]

    def _take_seats(self, present: list[str], now: float) -> list[Event]:
        """At the start: who is here arrived; who is not, and was here when the previous
        moderator last saved the debate, left meanwhile (a fresh clock holds both seats
        empty already)."""
        gone = [s for i, s in self._seats.sides.items() if i not in present]
        return [
            *self._arrivals(present, now),
            *(e for s in gone for e in self._clock.leave(s, now)),
        ]

    async def _loop(self) -> None:
        while self._clock.outcome is None and not self._gone:
            wake = self._clock.next_wakeup()
            delay = None if wake is None else max(0.0, wake - time.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            self._wake.clear()
            await self._apply(self._clock.tick, from_loop=True)

    async def _finish(self) -> None:
        if self._replaced:
            logger.warning("moderator replaced", extra={"room": self.room.name})
            return
        if self._clock.outcome is None:  # the room went away under us
            await self._record("abandoned", None)
            return
        await self._flush()  # the end is in Postgres and told before the room closes
        await asyncio.sleep(self._format.wrap_up)
        await self._floor.close_room()

    async def _record(self, outcome: str, winner: Side | None) -> None:
        identity = None if winner is None else self._seats.identity(winner)
        try:
            recorded = await asyncio.wait_for(
                self.db.finish_discussion(self.job.discussion_id, outcome, identity), CALL
            )
        except Exception:
            logger.exception("outcome not recorded", extra={"room": self.room.name})
            return
        logger.info(
            "discussion ended",
            extra={"room": self.room.name, "outcome": outcome, "recorded": recorded},
        )

    # -- room events -----------------------------------------------------------------------
    def _handlers(self) -> dict[rtc.room.EventTypes, Callable[..., None]]:
        return {
            "participant_connected": self._on_connected,
            "participant_disconnected": self._on_disconnected,
            "track_published": self._on_track_published,
            "track_unmuted": self._on_track_unmuted,
            "disconnected": self._on_room_closed,
            "reconnecting": self._on_reconnecting,
            "reconnected": self._on_reconnected,
        }

    def _listen(self) -> None:
        for event, handler in self._handlers().items():
            self.room.on(event, handler)

    def _unlisten(self) -> None:
        # Once the moderator is done, a room event must not start work nobody will stop.
        for event, handler in self._handlers().items():
            self.room.off(event, handler)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self._started(coro)

    def _started(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _on_connected(self, p: rtc.RemoteParticipant) -> None:
        self._spawn(self._guard.scan([p]))
        if self._safety is not None:
            self._safety.arrived([p.identity])
        side = self._seats.sides.get(p.identity)
        if side is not None:
            logger.info("debater arrived", extra={"room": self.room.name, "side": side})
            self._floor.forget(p.identity)
            self._spawn(self._guarded(lambda now: self._clock.arrive(side, now)))

    def _on_disconnected(self, p: rtc.RemoteParticipant) -> None:
        self._out.gone(p.identity)
        side = self._seats.sides.get(p.identity)
        if side is not None:
            code = p.disconnect_reason
            reason = "unknown" if code is None else rtc.DisconnectReason.Name(code)
            logger.info(
                "debater left", extra={"room": self.room.name, "side": side, "reason": reason}
            )
            self._floor.forget(p.identity)
            self._spawn(self._guarded(lambda now: self._clock.leave(side, now)))

    def _on_track_published(
        self, pub: rtc.RemoteTrackPublication, p: rtc.RemoteParticipant
    ) -> None:
        self._spawn(self._guard.published(p.identity, pub))
        if pub.source == _MIC and not self._may_speak(p.identity):
            # Published in the moment before the permission arrived: send it again.
            self._floor.forget(p.identity)
            self._spawn(self._guarded(lambda now: []))

    def _on_track_unmuted(self, p: rtc.Participant, pub: rtc.TrackPublication) -> None:
        if isinstance(p, rtc.RemoteParticipant):
            self._spawn(self._guard.unmuted(p.identity, pub))
        if pub.source == _MIC and not self._may_speak(p.identity):
            self._spawn(self._quietly(self._floor.mute(p.identity, pub.sid)))

    def _on_reconnecting(self) -> None:
        logger.warning("moderator reconnecting", extra={"room": self.room.name})

    def _on_reconnected(self) -> None:
        # A full reconnect rebuilds the SDK's view of the room: whoever it lists now is here,
        # even if their arrival event came while the agent was away.
        logger.info("moderator reconnected", extra={"room": self.room.name})
        self._spawn(self._guard.scan(list(self.room.remote_participants.values())))
        present = [i for i in self._seats.sides if i in self.room.remote_participants]
        self._spawn(self._guarded(lambda now: self._arrivals(present, now)))

    def _on_room_closed(self, reason: object = None, *_: object) -> None:
        # Another moderator joined under our identity (the API dispatched one, taking us for
        # dead): the room goes on under it, so this one leaves without a word.
        self._replaced = reason == rtc.DisconnectReason.DUPLICATE_IDENTITY
        self._gone = True
        self._wake.set()

    async def _guarded(self, change: Callable[[float], list[Event]]) -> None:
        await self._quietly(self._apply(change))

    async def _quietly(self, coro: Coroutine[Any, Any, object]) -> None:
        try:
            await coro
        except Exception:
            logger.exception("moderator update failed", extra={"room": self.room.name})

    async def _in_time(self, update: Coroutine[Any, Any, object]) -> None:
        """Wait for a command's update of the room, for REPLY_WAIT at most: past that, the
        update goes on in the background (still in order with the others) and the command is
        answered with the state as it is. Failing in time, the update fails the command."""
        task = self._started(update)  # cancelled with the moderator, like the rest
        done, _ = await asyncio.wait({task}, timeout=REPLY_WAIT)
        if task in done:
            task.result()
            return
        logger.warning("room update slow, command answered first", extra={"room": self.room.name})
        task.add_done_callback(self._failed_late)

    def _failed_late(self, task: asyncio.Task[object]) -> None:
        if not task.cancelled() and (e := task.exception()) is not None:
            logger.error("moderator update failed", extra={"room": self.room.name}, exc_info=e)

    # -- applying changes ------------------------------------------------------------------
    async def _apply(
        self, change: Callable[[float], list[Event]], *, from_loop: bool = False
    ) -> list[Event]:
        """Run one change against the clock at once, then make the room match it.

        The clock never waits for the room: while a publish is held up (attribute updates
        stall while the agent reconnects), arrivals and deadlines still reach the clock on
        time, and the next publish sends everything since, in order."""
        events = change(time.time())
        self._unsent += events
        if events or not from_loop:  # a command may change the state without an event
            self._keep()  # before the room is told: telling it may be held up
        if from_loop:
            # Not a wake-up of its own (the loop would spin), and the loop goes straight back
            # to its clock: the room catches up in the background.
            self._spawn(self._quietly(self._flush()))
        else:
            self._wake.set()  # the loop recomputes when to wake next, and sees the end
            await self._flush()
        return events

    async def _flush(self) -> None:
        async with self._lock:  # one publish at a time, so events go out in order
            events, self._unsent = self._unsent, []
            await self._publish(events)
        if events:
            self._keep()  # the `seq` sent to each person

    def _keep(self) -> None:
        if self._memory is not None:
            self._spawn(self._memory.keep(self._saved))

    async def _publish(self, events: list[Event]) -> None:
        if self._safety is not None:
            events = await self._safety.excused(events, self._seats, self._clock)
        snap = self._clock.snapshot(time.time())
        await self._enforce(snap.floor)
        new = {
            **attributes(snap, self._seats, self._format.id),
            "topic": self.job.topic,
            "motion": self.job.motion,
            AUDIENCE_ATTRIBUTE: str(0 if self._audience is None else self._audience.count),
        }
        await self._out.set_attributes(new)
        if self._audience is not None:
            self._audience.shown(snap, self._format, self._spawn)
        for e in events:
            if isinstance(e, Ended):  # in Postgres before anyone is told
                await self._record(e.outcome, e.winner)
        await self._out.broadcast([payload(e, snap, self._seats) for e in events])

    async def _enforce(self, floor: tuple[Side, ...]) -> None:
        updates = []
        for identity, side in self._seats.sides.items():
            p = self.room.remote_participants.get(identity)
            if p is not None:
                grant = self._floor.grant(identity, mic=side in floor, current=p.permissions)
                updates.append(asyncio.wait_for(grant, CALL))  # not granted: tried next time
        results = await asyncio.gather(*updates, return_exceptions=True)
        if any(isinstance(r, Exception) for r in results):
            logger.warning("permission update failed", extra={"room": self.room.name})
            self._grant_again()

    def _grant_again(self) -> None:
        """Permissions not granted are asked for again shortly, even if nothing else changes
        (one retry at a time; a retry that fails again, this very task, schedules the next)."""
        again = self._regrant
        if again is None or again.done() or again is asyncio.current_task():
            self._regrant = self._started(self._regranted())

    async def _regranted(self) -> None:
        await asyncio.sleep(RETRY)
        await self._guarded(lambda now: [])

    async def broadcast(self, bodies: list[dict[str, Any]]) -> None:
        """Tell the room something the clock did not cause (a quick debate's offer)."""
        await self._in_time(self._told(bodies))

    async def _told(self, bodies: list[dict[str, Any]]) -> None:
        await self._out.broadcast(bodies)
        self._keep()  # the offer, and the `seq` sent

    def _may_speak(self, identity: str) -> bool:
        side = self._seats.sides.get(identity)
        return side is None or side in self._clock.snapshot(time.time()).floor

    # -- what commands call ----------------------------------------------------------------
    def heard_from(self, identity: str) -> None:
        self._out.heard_from(identity)

    async def is_moderator(self, identity: str) -> bool:
        return self._safety is not None and await self._safety.is_moderator(identity, self.db)

    def side_of(self, identity: str) -> Side:
        side = self._seats.sides.get(identity)
        if side is None:
            raise NotADebater("you are not a debater in this room")
        return side

    def state_for(self, identity: str) -> dict[str, Any]:
        snap = self._clock.snapshot(time.time())
        return {**state(snap, self._seats, self._format.id), "seq": self._out.seq.get(identity, 0)}

    async def change(self, caller: str, command: Callable[[float], list[Event]]) -> dict[str, Any]:
        await self._in_time(self._apply(command))
        return self.state_for(caller)

    @property
    def clock(self) -> DebateClock:
        return self._clock

    async def mute(self, identity: str) -> bool:
        p = self.room.remote_participants.get(identity)
        if p is None:
            raise UnknownParticipant("nobody with that identity is in the room")
        # Every audio track, whatever source it claims.
        audio = [pub for pub in p.track_publications.values() if pub.kind == _AUDIO]
        await asyncio.gather(*(self._floor.mute(identity, pub.sid) for pub in audio))
        return bool(audio)
