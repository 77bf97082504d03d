"""Keep `make dev`'s processes running, as a process manager does.

`restart_delay` is the restart policy, a pure function of the times a process exited: a
crashed process is restarted at once (half a second later), unless it keeps crashing, more
than `burst` times within `window` seconds; then each further restart waits twice as long as
the one before, up to `max_delay`, until the crashes thin out again.

`Supervisor` is the thin part around it: it starts each child, notices an exit when polled,
logs it (which child, its exit code, how many restarts so far, when the next one comes) and
restarts it when due. Each child leads a process group of its own (the spawn function starts it
in a new session): stopping a child, or clearing up after one that crashed, signals the whole
group, so a process the child started (the agent worker's job processes) is not left behind
holding a room.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

logger = logging.getLogger("disco.supervise")

Spawn = Callable[[], subprocess.Popen[bytes]]


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    delay: float = 0.5  # the wait before a restart while crashes are rare
    burst: int = 5  # more restarts than this ...
    window: float = 30.0  # ... within this many seconds is a crash loop
    backoff: float = 2.0  # the first wait in a crash loop; each further crash doubles it
    max_delay: float = 30.0


def restart_delay(earlier: Sequence[float], now: float, policy: RestartPolicy) -> float:
    """Seconds to wait before restarting a process that exited at `now`, given the times of
    its `earlier` exits (each on the same clock)."""
    crashes = 1 + sum(1 for t in earlier if now - t < policy.window)
    over = crashes - policy.burst
    if over <= 0:
        return policy.delay
    return min(policy.max_delay, policy.backoff * 2.0 ** (over - 1))


@dataclass
class _Child:
    name: str
    spawn: Spawn
    proc: subprocess.Popen[bytes] | None = None
    exits: list[float] = field(default_factory=list)
    restarts: int = 0
    due: float | None = None  # when it is to be started again, while it is down


class Supervisor:
    """Children by name, each started by its spawn function, restarted by `policy`."""

    def __init__(
        self,
        spawns: Mapping[str, Spawn],
        policy: RestartPolicy = RestartPolicy(),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._children = [_Child(name, spawn) for name, spawn in spawns.items()]
        self._policy = policy
        self._clock = clock

    def start(self) -> None:
        for child in self._children:
            child.proc = child.spawn()

    def exited(self) -> dict[str, int]:
        """Children that have exited and not been restarted yet, with their exit codes."""
        return {
            c.name: c.proc.returncode
            for c in self._children
            if c.proc is not None and c.proc.poll() is not None
        }

    def pids(self) -> dict[str, int]:
        return {c.name: c.proc.pid for c in self._children if c.proc is not None}

    def poll(self) -> None:
        """Notice exits, and restart each exited child whose wait is over."""
        now = self._clock()
        for child in self._children:
            if child.due is None and child.proc is not None and child.proc.poll() is not None:
                self._schedule(child, child.proc.returncode, now)
            if child.due is not None and now >= child.due:
                child.due = None
                child.restarts += 1
                child.proc = child.spawn()

    def stop(self, grace: float = 10) -> None:
        """SIGTERM every child's process group, and SIGKILL what is left after `grace` s."""
        running = [c.proc for c in self._children if c.proc is not None]
        for proc in running:
            _signal_group(proc, signal.SIGTERM)
        deadline = self._clock() + grace
        for proc in running:
            try:
                proc.wait(max(0.0, deadline - self._clock()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            # Its group may outlive it: processes it started that did not end with it.
            _signal_group(proc, signal.SIGKILL)

    def _schedule(self, child: _Child, code: int, now: float) -> None:
        # A crashed child's own processes would otherwise run on beside its replacement.
        _signal_group(child.proc, signal.SIGKILL)
        delay = restart_delay(child.exits, now, self._policy)
        child.exits = [t for t in child.exits if now - t < self._policy.window] + [now]
        child.due = now + delay
        logger.warning(
            "process exited, restarting",
            extra={
                "child": child.name,
                "exit_code": code,
                "restart": child.restarts + 1,
                "restart_in": round(delay, 1),
            },
        )


def _signal_group(proc: subprocess.Popen[bytes] | None, signum: signal.Signals) -> None:
    if proc is None:
        return
    # Gone already, or never a group leader: nothing of it is left to signal.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signum)


class ExtraFormatter(logging.Formatter):
    """Log lines for a terminal, with the record's identities (`extra=`) as key=value."""

    KEYS = ("child", "exit_code", "restart", "restart_in")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = [f"{k}={getattr(record, k)}" for k in self.KEYS if hasattr(record, k)]
        return " ".join([line, *extras])
