"""DISCO's Redis, run privately: one `redis-server` on loopback with its data in a folder.

It runs as DISCO's Redis must run anywhere (deploy/redis.conf holds the same settings):
- append-only persistence, flushed to disk every second (`appendfsync everysec`): the queue,
  the pending and live matches are in Redis only, and a Redis that restarts must come back
  with them. A Redis process that crashes loses nothing it acknowledged (every write reaches
  the file before the reply is sent); a machine that crashes loses at most the last second.
- hashes and sorted sets as hash tables from their first entry (see `_TUNING`).

`kill`, `start`, `pause` and `resume` are the faults tests inflict on it: a crash (SIGKILL),
a restart on the same port and folder (the append-only file is replayed), and a Redis that
stops answering without closing its connections (SIGSTOP / SIGCONT).
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

_PERSISTENCE = ("--appendonly", "yes", "--appendfsync", "everysec", "--save", "")

# The lobby keeps a few large hashes and sorted sets, shared by everyone in it. Redis stores
# small ones as flat lists (up to 128 or 512 entries), where each lookup scans the list; a
# pairing batch looks up hundreds of people at once, so a lobby's first thousand tickets
# paired at half speed (bench/pairing.py).
_TUNING = ("--hash-max-listpack-entries", "0", "--zset-max-listpack-entries", "0")


class RedisError(RuntimeError):
    """redis-server could not be started; the message says why and where its log is."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class RedisServer:
    """A redis-server of our own in `folder`, always on the same `port` once chosen."""

    folder: Path
    port: int = field(default_factory=_free_port)
    _proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log(self) -> Path:
        return self.folder / "redis.log"

    @property
    def pid(self) -> int | None:
        """The running server's process id; None when it is not running."""
        return self._proc.pid if self.running and self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def argv(self) -> list[str]:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RedisError("redis-server is not installed (scripts/install.sh installs it)")
        return [
            binary,
            *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder)),
            *_PERSISTENCE,
            *_TUNING,
            *("--logfile", str(self.log)),
        ]

    def start(self, timeout: float = 20) -> None:
        """Start it (again) on its port and folder, and wait until it has loaded its data."""
        if self.running:
            raise RedisError(f"redis on port {self.port} is already running")
        self.folder.mkdir(parents=True, exist_ok=True)
        # Its own session: a Ctrl-C meant for the program that started it does not reach it.
        self._proc = subprocess.Popen(self.argv(), start_new_session=True)
        self._wait_loaded(timeout)

    def kill(self) -> None:
        """Crash it (SIGKILL, no shutdown) and reap it; a paused server is killed too."""
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.kill()
        self._proc.wait(10)

    def pause(self) -> None:
        """Freeze it (SIGSTOP): connections stay open and every command waits, unanswered."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Let a paused server go on (SIGCONT); the commands that waited are answered."""
        self._signal(signal.SIGCONT)

    def stop(self, grace: float = 10) -> None:
        """Shut it down (SIGTERM, which also writes the append-only file out), then SIGKILL
        if it has not ended within `grace` seconds."""
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.send_signal(signal.SIGCONT)  # a paused server would never see the SIGTERM
        self._proc.terminate()
        try:
            self._proc.wait(grace)
        except subprocess.TimeoutExpired:
            self.kill()

    def _signal(self, signum: signal.Signals) -> None:
        if self._proc is None or self._proc.poll() is not None:
            raise RedisError(f"redis on port {self.port} is not running")
        self._proc.send_signal(signum)

    def _wait_loaded(self, timeout: float) -> None:
        """Until it answers PING with PONG: while it replays its append-only file it answers
        -LOADING instead, and a client's first command would fail."""
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RedisError(f"redis exited with {self._proc.returncode}; see {self.log}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.5) as s,
            ):
                s.sendall(b"PING\r\n")
                if s.recv(64).startswith(b"+PONG"):
                    return
            time.sleep(0.05)
        raise RedisError(f"redis did not answer on port {self.port} within {timeout:.0f} s")
