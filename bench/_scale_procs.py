"""The scale bench's client processes, seen from the parent (bench/scale.py): started once,
each given a slice of the lobby clients for every run over a pipe, and the messages each
sends back (bench/_scale_clients.py is the other end)."""

from __future__ import annotations

import contextlib
import multiprocessing
import time
from multiprocessing.connection import Connection
from typing import Any

from bench import _scale_clients
from bench._scale_clients import Report, Slice

# Seconds a process may take to connect its share of clients (waves of ten on a busy machine).
CONNECT_WITHIN = 600.0
REJOINS_WITHIN = 240.0


class Clients:
    """The client processes, started once and given a slice of clients for each run."""

    def __init__(self, count: int, nice: int = 0) -> None:
        spawn = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.procs: list[multiprocessing.context.SpawnProcess] = []
        for _ in range(count):
            ours, theirs = spawn.Pipe()
            proc = spawn.Process(target=_scale_clients.serve, args=(theirs, nice), daemon=True)
            proc.start()
            theirs.close()
            self.pipes.append(ours)
            self.procs.append(proc)

    def up(self) -> None:
        _expect(self.pipes, "up", CONNECT_WITHIN)

    def close(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send(("exit",))
        for proc in self.procs:
            proc.join(30)
            if proc.is_alive():
                proc.kill()

    def drive(
        self, slices: list[Slice], gap: float, settle_within: float, propose_within: float
    ) -> tuple[list[Report], float]:
        """One run: connect, settle, join at the times given, report, disconnect. (The
        reports, and how long the slowest process took to settle.)"""
        pipes = self.pipes[: len(slices)]
        for pipe, s in zip(pipes, slices, strict=True):
            pipe.send(("run", s))
        connect = max(_expect(pipes, "connected", CONNECT_WITHIN))
        # Reconnections after a split may go on past the settle time (in waves of ten).
        settle = max(_expect(pipes, "settled", settle_within + REJOINS_WITHIN))
        t0 = time.time() + 1.0
        # The joins' start, in UTC: to line other measurements (top, logs) up with them.
        start = time.strftime("%H:%M:%S", time.gmtime(t0))
        print(
            f"    connected in {connect:.0f} s, settled in {settle:.0f} s, joins from {start}",
            flush=True,
        )
        for pipe in pipes:
            pipe.send(("go", t0, gap))
        pairs = max(len(s.seats) for s in slices)
        reports: list[Report] = _expect(pipes, "report", pairs * gap + propose_within + 120)
        for pipe in pipes:
            pipe.send(("stop",))
        _expect(pipes, "closed", 120)
        return reports, settle


def _expect(pipes: list[Connection], kind: str, within: float) -> list[Any]:
    """Every process's next message, which must be `kind`; its payload, in process order."""
    deadline = time.monotonic() + within
    found = []
    for k, pipe in enumerate(pipes):
        if not pipe.poll(max(0.0, deadline - time.monotonic())):
            raise RuntimeError(f"client process {k} sent no {kind!r} within {within:.0f} s")
        try:
            message = pipe.recv()
        except EOFError:
            raise RuntimeError(f"client process {k} ended before {kind!r}") from None
        if message[0] != kind:
            raise RuntimeError(f"client process {k}: {message[0]} {str(message[1])[-3000:]}")
        found.append(message[1])
    return found
