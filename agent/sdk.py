"""Two process-wide settings of the LiveKit rtc SDK for a process that holds many rooms (the
agent worker: the lobby and every discussion room are threads of one process; the tests and
benchmarks: a crowd of simulated people in one process).

The SDK's native core runs the network on a small pool of native threads (one per core) and
hands every event to Python by calling into it on those threads, which must take the GIL
first. So every Python callback stalls the network of every room of the process while it
waits for the GIL and while it runs, and a process busy in Python delays RPC acks, data and
signalling for all its rooms. Two callbacks were far larger than they need be:

- **Native log capture.** The SDK initialises its core with log capture on and the log level
  at trace, and the core ships every record, one callback each, to Python, which then drops
  the debug and trace ones: about 75 records per room event, measured with 30 rooms.
  `quiet_native_logs` initialises the core again with capture off; native records then go
  to stderr through the core's own logger, filtered by `RUST_LOG` (errors only by default).
- **Event broadcast.** Every room event is queued, by that callback, to every `rtc.Room` of
  the process, each of which wakes up and drops what is not its own: N rooms cost N
  deliveries per event. `route` sends a room's events to that room only. The answers to
  requests (an RPC's reply, a publish's completion) went to every room too, each of which
  passed them on to its own waiters: with 100 rooms a process, `lobby.join` replies reached
  their callers seconds after the agent sent them (bench/RESULTS.md); routed rooms get none.

Measured in the 100-client crowd test (tests/integration/test_lobby_crowd.py prints it):
without these, 21 and 28 lobby RPCs of ~380 (two runs) got no ack within 20 s (1501,
retried) and the slowest took 22 s; with them in the worker and the test's clients, none in
eight runs, and the slowest 3-5 s. Both reach into SDK internals (`_ffi_lib`, `FfiClient.queue`,
`Room._ffi_queue`); tests/integration/test_sdk_routing.py exercises them against a real
server, so an SDK upgrade that moves them fails there.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

from livekit import rtc
from livekit.rtc import _ffi_client
from livekit.rtc._ffi_client import FfiClient

_quiet = False


def quiet_native_logs() -> None:
    """Stop the native core from sending its log records to Python, process-wide; once is
    enough (livekit-ffi's `livekit_ffi_initialize(callback, capture_logs, ..)` replaces the
    configuration and keeps the rooms)."""
    global _quiet
    if not _quiet:
        FfiClient.instance._ffi_lib.livekit_ffi_initialize(
            _ffi_client.ffi_event_callback, False, b"python", rtc.__version__.encode("ascii")
        )
        _quiet = True


class _Router:
    """Room events, and RPC invocations, go to the one rtc.Room they belong to once it is
    known (`adopt`), instead of to every room of the process. The answers to requests (an RPC's
    reply, a publish's completion, ...) go to whoever waits for them and no longer to the rooms
    adopted, which have no use for them, except a track's publish and unpublish, which a room
    hands on to the call waiting for it. Events of rooms not adopted are delivered as the SDK
    does."""

    def __init__(self) -> None:
        # room handle, or its local participant's handle -> (the room's queue, its loop)
        self._owner: dict[int, tuple[Any, asyncio.AbstractEventLoop]] = {}
        # The event queues of the rooms adopted (by id): no answer to a request goes there.
        self._rooms: set[int] = set()
        self._lock = threading.Lock()
        queue = FfiClient.instance.queue
        broadcast = queue.put

        def put(event: Any) -> None:
            kind = event.WhichOneof("message")
            if kind == "room_event":
                key = event.room_event.room_handle
            elif kind == "rpc_method_invocation":
                key = event.rpc_method_invocation.local_participant_handle
            elif kind in _ROOM_ANSWERS:
                broadcast(event)
                return
            else:
                self._to_waiters(queue, event)
                return
            with self._lock:
                owner = self._owner.get(key)
            if owner is None:
                broadcast(event)
            else:
                owner[1].call_soon_threadsafe(owner[0].put_nowait, event)

        queue.put = put

    def _to_waiters(self, queue: Any, event: Any) -> None:
        """The SDK's own delivery (`FfiQueue.put`), less the queues of the rooms adopted: with a
        crowd of rooms in one process, each answer otherwise wakes every room (measured in the
        scale bench: RPC replies seconds late with 100 rooms a process)."""
        with self._lock:
            rooms = frozenset(self._rooms)
        with queue._lock:
            subscribers = list(queue._subscribers)
        for q, loop, wanted in subscribers:
            if id(q) in rooms:
                continue
            if wanted is not None:
                try:
                    if not wanted(event):
                        continue
                except Exception:
                    pass  # as the SDK does: a filter that fails lets the event through
            with contextlib.suppress(RuntimeError):  # a loop closed without unsubscribing
                loop.call_soon_threadsafe(q.put_nowait, event)

    @staticmethod
    def _keys(room: rtc.Room) -> list[int]:
        handles = [room._ffi_handle, room.local_participant._ffi_handle]
        return [h.handle for h in handles if h is not None]

    def adopt(self, room: rtc.Room) -> None:
        owner = (room._ffi_queue, room._loop)
        with self._lock:
            for key in self._keys(room):
                self._owner[key] = owner
            self._rooms.add(id(room._ffi_queue))

    def forget(self, room: rtc.Room) -> None:
        with self._lock:
            for key in self._keys(room):
                self._owner.pop(key, None)
            self._rooms.discard(id(room._ffi_queue))


# Answers a room itself passes on to the call that waits for them (LocalParticipant's
# publish_track and unpublish_track wait on the room's own queue).
_ROOM_ANSWERS = frozenset({"publish_track", "unpublish_track"})

_router: _Router | None = None
_router_lock = threading.Lock()


def route(room: rtc.Room) -> None:
    """From now on, deliver this connected room's events to it alone, until it disconnects
    (its last events are then broadcast again, and it still takes its own)."""
    global _router
    with _router_lock:
        if _router is None:
            _router = _Router()
        router = _router
    router.adopt(room)

    # A disconnect we asked for changes the state without a `disconnected` event.
    def on_state(state: int) -> None:
        if state == rtc.ConnectionState.CONN_DISCONNECTED:
            router.forget(room)

    room.on("connection_state_changed", on_state)
    room.on("disconnected", lambda *_: router.forget(room))
