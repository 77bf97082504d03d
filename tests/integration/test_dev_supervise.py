"""`make dev` (`python -m scripts.dev`) run for real, as a process manager: the API and the agent
worker it started are SIGKILLed in turn and come back on their own, and a SIGTERM to it leaves
no process behind. It uses the session's servers, with a run folder, port, agent name, lobby
room and Redis prefix of its own, so the session's own worker never sees its jobs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from livekit import api

from scripts.stack import ROOT, Stack, free_port
from tests.support.wait import http_ok, wait_until

API = ["-m", "api"]
WORKER = ["-m", "agent.worker", "dev"]


def _processes() -> dict[int, tuple[int, str, list[str]]]:
    """Every process: pid -> (parent pid, state, command line)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError):
            continue
        out[int(entry.name)] = (int(stat[1]), stat[0], [a.decode(errors="replace") for a in argv])
    return out


def _descendants(root: int) -> set[int]:
    procs, found, todo = _processes(), set(), [root]
    while todo:
        parent = todo.pop()
        kids = {pid for pid, (ppid, _, _) in procs.items() if ppid == parent}
        found |= kids
        todo.extend(kids)
    return found


def _child(dev: int, tail: list[str]) -> int | None:
    """The live child of `dev` whose command line ends with `tail` (`-m api`, ...)."""
    for pid, (ppid, state, argv) in _processes().items():
        if ppid == dev and state not in ("Z", "X") and [a for a in argv if a][-len(tail) :] == tail:
            return pid
    return None


def _alive(pid: int) -> bool:
    state = _processes().get(pid, (0, "X", []))[1]
    return state not in ("Z", "X")


def _healthy(port: int) -> bool:
    return http_ok(f"http://127.0.0.1:{port}/healthz")


def _until(what: str, check: Callable[[], object], timeout: float) -> float:
    """Seconds until `check()` is true, to print; fails the test after `timeout`."""
    start = time.monotonic()
    wait_until(check, what, timeout)
    return time.monotonic() - start
    return time.monotonic() - start


def _registrations(log: Path) -> int:
    return log.read_text(errors="replace").count("registered worker") if log.exists() else 0


async def _delete_room(stack: Stack, room: str) -> None:
    """The lobby room its API opened: rooms of finished tests are not left behind."""
    env = stack.env
    lk = api.LiveKitAPI(env["LIVEKIT_URL"], env["LIVEKIT_API_KEY"], env["LIVEKIT_API_SECRET"])
    with contextlib.suppress(Exception):
        await lk.room.delete_room(api.DeleteRoomRequest(room=room))
    await lk.aclose()


@pytest.mark.timeout(720)
def test_dev_restarts_what_crashes_and_stops_everything(stack: Stack, tmp_path: Path) -> None:
    run_dir, port, tag = tmp_path / "dev", free_port(), secrets.token_hex(4)
    env = {
        **os.environ,
        **stack.env,
        "DISCO_RUN_DIR": str(run_dir),
        "DISCO_API_PORT": str(port),
        "DISCO_JWT_SECRET": secrets.token_urlsafe(32),
        "DISCO_AGENT_NAME": f"disco-dev-{tag}",
        "DISCO_LOBBY_ROOM": f"lobby-dev-{tag}",
        "DISCO_REDIS_PREFIX": f"dev{tag}",
    }
    out_path = tmp_path / "dev.out"
    with open(out_path, "wb") as out:
        dev = subprocess.Popen(
            [sys.executable, "-m", "scripts.dev"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def said() -> str:
        return out_path.read_text(errors="replace")

    seen: set[int] = set()
    try:
        _until("make dev is running", lambda: "DISCO is running" in said(), 240)
        worker_log = run_dir / "worker.log"
        _until("the worker registered", lambda: _registrations(worker_log) >= 1, 120)

        # The API: SIGKILL it; a new one is started and answers.
        first_api = _child(dev.pid, API)
        assert first_api is not None
        seen |= _descendants(dev.pid)
        os.kill(first_api, signal.SIGKILL)
        started = _until("a new API", lambda: _child(dev.pid, API) not in (None, first_api), 20)
        healthy = _until("the new API answers /healthz", lambda: _healthy(port), 60)
        print(f"\nAPI SIGKILLed: new process after {started:.2f} s, /healthz {healthy:.2f} s later")
        assert "process exited, restarting child=api exit_code=-9 restart=1" in said()

        # The worker: SIGKILL it; a new one is started and registers with LiveKit.
        first_worker = _child(dev.pid, WORKER)
        assert first_worker is not None
        before = _registrations(worker_log)
        seen |= _descendants(dev.pid)
        os.kill(first_worker, signal.SIGKILL)
        started = _until(
            "a new worker", lambda: _child(dev.pid, WORKER) not in (None, first_worker), 20
        )
        registered = _until(
            "the new worker registered", lambda: _registrations(worker_log) > before, 180
        )
        print(
            f"worker SIGKILLed: new process after {started:.2f} s, registered {registered:.2f} s on"
        )
        assert "process exited, restarting child=worker exit_code=-9 restart=1" in said()
        # The dead worker's job processes went with it (its process group was cleared).
        left = sorted(pid for pid in seen - _descendants(dev.pid) if _alive(pid))
        assert left == [], f"processes of the killed children still running: {left}"

        # SIGTERM: make dev stops everything it started and says so.
        seen |= _descendants(dev.pid)
        dev.send_signal(signal.SIGTERM)
        stopped = _until("make dev stopped", lambda: dev.poll() is not None, 60)
        print(f"make dev stopped {stopped:.2f} s after SIGTERM")
        assert dev.returncode == 0, said()
        assert "DISCO stopped." in said()
        assert sorted(pid for pid in seen if _alive(pid)) == []
        assert not _healthy(port)
    finally:
        if dev.poll() is None:
            os.killpg(dev.pid, signal.SIGKILL)
            dev.wait(10)
        for pid in seen:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        asyncio.run(_delete_room(stack, env["DISCO_LOBBY_ROOM"]))
