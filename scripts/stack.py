"""Start and stop DISCO's real servers (LiveKit, Redis, Postgres) for local runs and tests.

Each server runs privately: its own free port on loopback and its own folder under the run
directory. A server named in the environment (REDIS_URL, DATABASE_URL, LIVEKIT_URL with
LIVEKIT_API_KEY/SECRET) is used instead of a private one. `Stack.close()` stops what the
stack started, and only that; nothing here restarts a process that ends, so a test that kills
one sees DISCO's own recovery. A private Redis is `stack.redis` (scripts/redis_server.py), which
fault tests crash, restart, pause and resume.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lobby.settings import DEV_LIVEKIT_KEY as LIVEKIT_KEY
from lobby.settings import DEV_LIVEKIT_SECRET as LIVEKIT_SECRET
from scripts.ports import StackError as StackError
from scripts.ports import free_port as free_port
from scripts.ports import free_udp_port, wait_http, wait_port
from scripts.ports import port_free as port_free
from scripts.redis_server import RedisError, RedisServer

ROOT = Path(__file__).resolve().parent.parent
LIVEKIT_BIN = ROOT / ".tools" / "bin" / "livekit-server"


def _interrupt_on_sigterm(signum: int, frame: object) -> None:
    # KeyboardInterrupt, not SystemExit: pytest records a SystemExit raised inside a test as
    # that test's failure and carries on, while an interrupt ends the session and runs the
    # fixtures' teardown (which stops the servers); plain programs unwind either way.
    raise KeyboardInterrupt


@dataclass
class Stack:
    run_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    _procs: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    # The Redis this stack started (None when REDIS_URL named one): tests crash, restart and
    # pause it through `kill`, `start`, `pause` and `resume`.
    redis: RedisServer | None = None
    # The LiveKit servers this stack started, and in multi-node mode the Redis they share
    # (theirs alone: LiveKit's pub/sub ignores the db number, and a DISCO Redis that pauses
    # must not stall LiveKit). Tests kill a node through `LiveKitNode.kill`.
    livekit: list[LiveKitNode] = field(default_factory=list)
    livekit_redis: RedisServer | None = None
    _sigterm_set: bool = False

    # -- lifecycle -----------------------------------------------------------------------
    @classmethod
    def start(
        cls, run_dir: Path, base_env: Mapping[str, str], api_port: int, nodes: int = 1
    ) -> Stack:
        """The servers, with `nodes` LiveKit servers: more than one run as one cluster
        (LiveKit's distributed mode, over a Redis of their own)."""
        run_dir = run_dir.resolve()
        run_dir.mkdir(parents=True, exist_ok=True)
        stack = cls(run_dir=run_dir)
        try:
            stack.env["REDIS_URL"] = base_env.get("REDIS_URL") or stack._start_redis()
            stack.env["DATABASE_URL"] = base_env.get("DATABASE_URL") or stack._start_postgres()
            if base_env.get("LIVEKIT_URL"):
                for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
                    stack.env[name] = base_env.get(name, "")
            else:
                stack.env.update(stack._start_livekit(api_port, nodes))
            stack.migrate()
        except BaseException:
            stack.close()
            raise
        return stack

    def close(self) -> None:
        for _, proc in reversed(self._procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        self._procs.clear()
        # Last, as they were started first: the other processes may still use them on the way out.
        for redis in (self.livekit_redis, self.redis):
            if redis is not None:
                redis.stop()

    def __enter__(self) -> Stack:
        # Python's default SIGTERM ends the process without unwinding, and the servers (in
        # sessions of their own) would outlive it: a SIGTERM now leaves through `close`,
        # as Ctrl-C does.
        # A program with its own handler (scripts/dev.py) keeps it.
        in_main = threading.current_thread() is threading.main_thread()
        if in_main and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _interrupt_on_sigterm)
            self._sigterm_set = True
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.close()
        finally:
            if self._sigterm_set:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                self._sigterm_set = False

    def spawn(self, name: str, argv: list[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        """Run a process of ours (API, agent worker) owned and stopped by the stack."""
        log = open(self.run_dir / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
        proc = subprocess.Popen(
            argv,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
        log.close()
        self._procs.append((name, proc))
        return proc

    # -- servers -------------------------------------------------------------------------
    def _start_redis(self) -> str:
        """DISCO's Redis, private to this stack (scripts/redis_server.py says how it runs)."""
        self.redis = RedisServer(self.run_dir / "redis")
        try:
            self.redis.start()
        except RedisError as e:
            raise StackError(str(e)) from None
        return self.redis.url

    def _start_postgres(self) -> str:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            raise StackError("postgresql is not installed (scripts/install.sh installs it)")
        bindir = Path(found[-1]).parent
        port = free_port()
        folder = self.run_dir / "postgres"
        # Postgres refuses to run as root: the cluster belongs to the `postgres` user.
        as_pg: list[str] = []
        if os.geteuid() == 0:
            as_pg = ["runuser", "-u", "postgres", "--"]
            folder = _postgres_folder(folder, as_pg)
        folder.mkdir(exist_ok=True)
        data = folder / "data"
        log = folder / "postgres.log"
        if as_pg:
            shutil.chown(folder, "postgres", "postgres")
        if not (data / "PG_VERSION").exists():
            subprocess.run(
                [
                    *as_pg,
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "disco",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ],
                check=True,
                capture_output=True,
            )
        argv = [
            *as_pg,
            str(bindir / "postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={folder}",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "max_connections=200",
        ]
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._procs.append(("postgres", proc))
        wait_port(port, proc, "postgres", log, 60)
        for _ in range(100):
            ok = subprocess.run(
                [str(bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                capture_output=True,
                check=False,
            )
            if ok.returncode == 0:
                break
            time.sleep(0.1)
        subprocess.run(
            [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "disco", "disco"],
            capture_output=True,
            check=False,
        )
        return f"postgresql://disco@127.0.0.1:{port}/disco"

    def _start_livekit(self, api_port: int, nodes: int) -> dict[str, str]:
        if not LIVEKIT_BIN.exists():
            raise StackError("livekit-server is not built (scripts/install.sh builds it)")
        if nodes < 1:
            raise StackError(f"DISCO_LIVEKIT_NODES must be at least 1, got {nodes}")
        bus = None
        if nodes > 1:
            self.livekit_redis = RedisServer(self.run_dir / "livekit-redis")
            try:
                self.livekit_redis.start()
            except RedisError as e:
                raise StackError(str(e)) from None
            bus = f"127.0.0.1:{self.livekit_redis.port}"
        for index in range(nodes):
            name = "livekit" if nodes == 1 else f"livekit-{index}"
            self.livekit.append(self._start_node(name, api_port, bus))
        env = {
            "LIVEKIT_URL": self.livekit[0].url,
            "LIVEKIT_API_KEY": LIVEKIT_KEY,
            "LIVEKIT_API_SECRET": LIVEKIT_SECRET,
        }
        if nodes > 1:
            env["DISCO_LIVEKIT_URLS"] = ",".join(node.url for node in self.livekit)
            env["DISCO_LIVEKIT_METRICS_URLS"] = ",".join(
                node.metrics_url for node in self.livekit if node.metrics_url
            )
        return env

    def _start_node(self, name: str, api_port: int, bus: str | None) -> LiveKitNode:
        # Another run may take a port between our check and LiveKit's bind: try fresh ports.
        for attempt in range(4):
            try:
                return self._launch_livekit(name, api_port, bus)
            except StackError:
                log = self.run_dir / name / "livekit.log"
                said = log.read_text(errors="replace") if log.exists() else ""
                if attempt == 3 or "address already in use" not in said:
                    raise
                log.unlink()
        raise AssertionError("unreachable")

    def _launch_livekit(self, name: str, api_port: int, bus: str | None) -> LiveKitNode:
        port = free_port()
        folder = self.run_dir / name
        folder.mkdir(exist_ok=True)
        # A node of a cluster exports its metrics, where the API reads its node id.
        metrics = free_port() if bus is not None else None
        (folder / "livekit.yaml").write_text(livekit_config(port, api_port, bus, metrics))
        node = self.run_livekit(folder / "livekit.yaml", port, name)
        if metrics is not None:
            node.metrics_url = f"http://127.0.0.1:{metrics}/metrics"
        return node

    def run_livekit(self, config: Path, port: int, name: str = "livekit") -> LiveKitNode:
        """Start LiveKit with this configuration (its log beside it) and wait until it
        answers on `port`."""
        log = config.parent / "livekit.log"
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                [str(LIVEKIT_BIN), "--config", str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._procs.append((name, proc))
        wait_port(port, proc, name, log, 30)
        wait_http(f"http://127.0.0.1:{port}/", proc, log)
        return LiveKitNode(name, f"ws://127.0.0.1:{port}", proc, log)

    def migrate(self) -> None:
        env = {**os.environ, **self.env}
        done = subprocess.run(
            [sys.executable, "-m", "alembic", "upgrade", "head"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise StackError(f"alembic upgrade failed:\n{done.stdout}\n{done.stderr}")


def livekit_config(
    port: int, api_port: int, bus: str | None, metrics_port: int | None = None
) -> str:
    """livekit.yaml for one server on `port` with ports of its own (ICE over TCP and one UDP port;
    TURN stays off), its webhooks sent to the API on `api_port`; with `bus` (a Redis address)
    it is a node of a cluster, as LiveKit's own multi-node tests run two servers on one host;
    with `metrics_port`, it serves Prometheus metrics there."""
    tcp_port, udp_port = free_port(), free_udp_port()
    config = (ROOT / "livekit.yaml").read_text()
    # Tests and `make dev` run LiveKit as production does: no room is created by a join.
    if not re.search(r"(?m)^  auto_create: false$", config):
        raise StackError("livekit.yaml must keep `room: auto_create: false`")
    config = re.sub(r"(?m)^port: \d+", f"port: {port}", config)
    config = re.sub(r"(?m)^  tcp_port: \d+", f"  tcp_port: {tcp_port}", config)
    config = re.sub(r"(?m)^  udp_port: \d+", f"  udp_port: {udp_port}", config)
    config = config.replace("http://127.0.0.1:8080/", f"http://127.0.0.1:{api_port}/")
    if bus is not None:
        config += f"redis:\n  address: {bus}\n"
    if metrics_port is not None:
        config += f"prometheus:\n  port: {metrics_port}\n"
    return config


@dataclass
class LiveKitNode:
    """One LiveKit server the stack started."""

    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    metrics_url: str = ""

    def kill(self) -> None:
        """Crash it (SIGKILL): its rooms and participants stay in the cluster's Redis."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def _postgres_folder(wanted: Path, as_pg: list[str]) -> Path:
    """`wanted` when the postgres user can reach it, else a folder of its own under /tmp
    (a checkout under a root-only home cannot hold a cluster the postgres user runs)."""
    probe = subprocess.run([*as_pg, "test", "-x", str(wanted.parent)], check=False)
    if probe.returncode == 0:
        return wanted
    digest = hashlib.sha1(str(wanted).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"disco-postgres-{digest}"


@contextlib.contextmanager
def running(run_dir: Path, api_port: int, nodes: int = 1) -> Iterator[Stack]:
    stack = Stack.start(run_dir, os.environ, api_port, nodes)
    try:
        yield stack
    finally:
        stack.close()
