"""Faults for tests: pause a server of the test stack (SIGSTOP, as a machine that stops
answering looks from outside: connections open, no replies), crash Redis, and restart LiveKit
on its ports.

Only servers the stack started itself can be paused: a test asking for one that came from the
environment is skipped. The server is always resumed, whatever the test did.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from scripts.stack import Stack


def _proc(stack: Stack, name: str) -> subprocess.Popen[bytes]:
    for n, proc in stack._procs:
        if n == name and proc.poll() is None:
            return proc
    pytest.skip(f"{name} is not a server this test stack started")


def _children(parent: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{entry}/stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(entry))
    return found


def server_pids(stack: Stack, name: str) -> list[int]:
    """The processes of a server: Redis is one; Postgres is its postmaster (under runuser when
    the tests run as root) and one backend per connection."""
    proc = _proc(stack, name)
    if name != "postgres":
        return [proc.pid]
    argv = [str(a) for a in proc.args]  # type: ignore[union-attr]
    data = Path(argv[argv.index("-D") + 1])
    postmaster = int((data / "postmaster.pid").read_text().split()[0])
    return [postmaster, *_children(postmaster)]


@contextlib.contextmanager
def paused(stack: Stack, name: str) -> Iterator[None]:
    """The server stops answering (its processes SIGSTOPped) until the block ends."""
    if name == "redis":
        # DISCO's Redis has its own controls (scripts/redis_server.py).
        if stack.redis is None:
            pytest.skip("redis is not a server this test stack started")
        stack.redis.pause()
        try:
            yield
        finally:
            stack.redis.resume()
        return
    pids = server_pids(stack, name)
    # runuser (Postgres under root) stops itself when its child stops, as su does for job
    # control; it is resumed too, or it would sit stopped and outlive the stack's close.
    stopped = [_proc(stack, name).pid] if name == "postgres" else []
    try:
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
            stopped.append(pid)
        yield
    finally:
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


@contextlib.asynccontextmanager
async def crashed_redis(stack: Stack) -> AsyncIterator[None]:
    """DISCO's Redis killed (SIGKILL: what it had not saved is lost) until the block ends, then
    started again on its port (in a thread: the test's clients keep running meanwhile)."""
    server = stack.redis
    if server is None:
        pytest.skip("redis is not a server this test stack started")
    server.kill()
    try:
        yield
    finally:
        if not server.running:
            await asyncio.to_thread(server.start)


def restart_livekit(stack: Stack) -> None:
    """Kill the stack's LiveKit (SIGKILL: it forgets every room, as a crash does) and start it
    again with the same configuration, so clients find it at the same URL."""
    old = _proc(stack, "livekit")
    old.kill()
    old.wait(10)
    config = stack.run_dir / "livekit" / "livekit.yaml"
    port = int(
        next(line for line in config.read_text().splitlines() if line.startswith("port:"))[5:]
    )
    node = stack.run_livekit(config, port)
    stack.livekit[:] = [node if n.name == node.name else n for n in stack.livekit]


class Gate:
    """A TCP path to a real server that can be held shut: while held, nothing passes either
    way on the connections through it, old or new (open, but no answers: what a stalled
    server or a black-holed network looks like from outside); once opened, what waited goes
    through, but not what a client sent before closing its connection (a request it gave up
    on is lost, as with a reset). For one client's path to a server, while the server goes
    on serving the rest."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._open = asyncio.Event()
        self._open.set()
        self._server: asyncio.Server | None = None
        self._pumps: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None, "the gate is not started"
        return int(self._server.sockets[0].getsockname()[1])

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    async def __aenter__(self) -> Gate:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.release()
        if self._server is not None:
            self._server.close()
        for task in self._pumps:
            task.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.close()
            return
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pump(src, dst))
            self._pumps.add(task)
            task.add_done_callback(self._pumps.discard)

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                await self._open.wait()
                if src.at_eof():  # its sender gave up meanwhile: it is not delivered late
                    break
                dst.write(data)
                await dst.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            dst.close()
