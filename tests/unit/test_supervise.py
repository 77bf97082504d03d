"""`make dev`'s supervisor: the restart policy (a table), and the thin process part run with
real processes (a child that starts a grandchild, as the agent worker starts job processes)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from scripts.supervise import RestartPolicy, Supervisor, restart_delay
from tests.support.wait import wait_until

POLICY = RestartPolicy(delay=0.5, burst=5, window=30, backoff=2, max_delay=30)


@pytest.mark.parametrize(
    ("earlier", "now", "expected"),
    [
        ((), 100.0, 0.5),  # a first crash: restarted at once
        ((99.0,), 100.0, 0.5),
        ((96.0, 97.0, 98.0, 99.0), 100.0, 0.5),  # the 5th crash within 30 s: still at once
        ((95.0, 96.0, 97.0, 98.0, 99.0), 100.0, 2.0),  # the 6th: a crash loop, wait longer
        ((94.0, 95.0, 96.0, 97.0, 98.0, 99.0), 100.0, 4.0),  # each further one doubles
        ((93.0, 94.0, 95.0, 96.0, 97.0, 98.0, 99.0), 100.0, 8.0),
        (tuple(float(t) for t in range(80, 100)), 100.0, 30.0),  # never beyond the cap
        ((60.0, 61.0, 62.0, 63.0, 64.0, 99.0), 100.0, 0.5),  # old crashes no longer count
        ((70.1, 71.0, 72.0, 73.0, 74.0), 100.0, 2.0),  # just under 30 s ago still counts
        ((70.0, 71.0, 72.0, 73.0, 74.0), 100.0, 0.5),  # ... 30 s ago no longer does
    ],
)
def test_restart_delay(earlier: tuple[float, ...], now: float, expected: float) -> None:
    assert restart_delay(earlier, now, POLICY) == pytest.approx(expected)


def _alive(pid: int) -> bool:
    """Running, and not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _wait_for(
    what: str, check: Callable[[], object], timeout: float = 20, sup: Supervisor | None = None
) -> None:
    """Until `check()` is true, polling `sup` meanwhile as `make dev`'s loop does."""

    def polled() -> object:
        if sup is not None:
            sup.poll()
        return check()

    wait_until(polled, what, timeout)


class Family:
    """Spawns a child that starts a grandchild (both sleep), and keeps every pid it saw."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.children: list[subprocess.Popen[bytes]] = []

    def spawn(self) -> subprocess.Popen[bytes]:
        n = len(self.children)
        code = (
            "import subprocess, sys, time\n"
            "g = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
            f"open({str(self.folder / f'grandchild-{n}')!r}, 'w').write(str(g.pid))\n"
            "time.sleep(600)\n"
        )
        proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
        self.children.append(proc)
        return proc

    def grandchild(self, n: int) -> int:
        path = self.folder / f"grandchild-{n}"
        _wait_for(f"grandchild {n} started", lambda: path.exists() and path.read_text())
        return int(path.read_text())


def test_a_killed_child_is_restarted_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    family = Family(tmp_path)
    sup = Supervisor({"sleeper": family.spawn}, POLICY)
    sup.start()
    try:
        first = sup.pids()["sleeper"]
        orphan = family.grandchild(0)
        os.kill(first, 9)
        with caplog.at_level(logging.WARNING, logger="disco.supervise"):
            _wait_for("a new child", lambda: sup.pids()["sleeper"] != first, sup=sup)
        assert _alive(sup.pids()["sleeper"])
        # What the killed child had started went with it: one worker's jobs, not two.
        _wait_for("the dead child's grandchild ended", lambda: not _alive(orphan))
        [record] = [r for r in caplog.records if r.name == "disco.supervise"]
        assert (record.__dict__["child"], record.__dict__["exit_code"]) == ("sleeper", -9)
        assert record.__dict__["restart"] == 1
        grandchildren = [orphan, family.grandchild(1)]
    finally:
        sup.stop(grace=5)
    everyone = [p.pid for p in family.children] + grandchildren
    assert not [pid for pid in everyone if _alive(pid)]


def test_a_crash_loop_backs_off(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spawned: list[float] = []

    def crash() -> subprocess.Popen[bytes]:
        spawned.append(time.monotonic())
        return subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])

    sup = Supervisor({"crasher": crash}, RestartPolicy(delay=0.1, burst=2, backoff=1.5))
    sup.start()
    with caplog.at_level(logging.WARNING, logger="disco.supervise"):
        _wait_for("four restarts", lambda: len(spawned) >= 5, timeout=30, sup=sup)
    sup.stop(grace=5)
    waits = [r.__dict__["restart_in"] for r in caplog.records if r.name == "disco.supervise"]
    assert waits[:4] == [0.1, 0.1, 1.5, 3.0]
    assert {r.__dict__["exit_code"] for r in caplog.records} == {3}
    assert [r.__dict__["restart"] for r in caplog.records][:4] == [1, 2, 3, 4]
    # The waits were kept: the last restart came no sooner than its logged wait after the crash.
    assert spawned[4] - spawned[3] >= 3.0


def test_stop_ends_every_child_and_its_processes(tmp_path: Path) -> None:
    family = Family(tmp_path)
    sup = Supervisor({"a": family.spawn, "b": family.spawn}, POLICY)
    sup.start()
    grandchildren = [family.grandchild(0), family.grandchild(1)]
    sup.stop(grace=5)
    assert [p.returncode for p in family.children] == [-15, -15]
    _wait_for("grandchildren ended", lambda: not any(_alive(g) for g in grandchildren))
