"""`make dev`: run DISCO locally until Ctrl-C.

Starts (or reuses, when named in the environment) LiveKit, Redis and Postgres, migrates the
database, then runs the API (serving the web client) and the agent worker under the
livekit-agents dev runner. `DISCO_LIVEKIT_NODES=N` runs N LiveKit servers as one cluster and
`DISCO_WORKERS=M` runs M agent workers (1 and 1 by default). Once the API is ready, a crashed
API or worker is restarted within a second and the restart logged (scripts/supervise.py).
Everything it started is stopped on exit, Ctrl-C or SIGTERM included. Servers' data and logs
are kept in `.run/dev` (`DISCO_RUN_DIR`).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import secrets
import signal
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from lobby.contract import DEV_SETTINGS_FILE as DEV_ENV
from scripts.stack import ROOT, Stack, StackError, free_port, port_free
from scripts.supervise import ExtraFormatter, Spawn, Supervisor


def _api_port() -> int:
    wanted = int(os.environ.get("DISCO_API_PORT", "8080"))
    return wanted if port_free(wanted) else free_port()


def _count(name: str) -> int:
    """A count from the environment (DISCO_LIVEKIT_NODES, DISCO_WORKERS): 1 when unset."""
    raw = os.environ.get(name, "") or "1"
    if not raw.isdigit() or int(raw) < 1:
        raise StackError(f"{name} must be a whole number of at least 1, got {raw!r}")
    return int(raw)


def worker_spawns(stack: Stack, env: dict[str, str], workers: int) -> dict[str, Spawn]:
    """The agent workers, named `worker` (one) or `worker-1`…; worker i registers with node
    i mod N, so a cluster's workers are spread over its nodes, as a load balancer in front of
    the nodes would spread them in production."""
    urls = env.get("DISCO_LIVEKIT_URLS", "").split(",") if env.get("DISCO_LIVEKIT_URLS") else []
    spawns: dict[str, Spawn] = {}
    for i in range(workers):
        name = "worker" if workers == 1 else f"worker-{i + 1}"
        mine = {**env, "LIVEKIT_URL": urls[i % len(urls)]} if urls else env
        argv = [sys.executable, "-m", "agent.worker", "dev"]
        spawns[name] = functools.partial(stack.spawn, name, argv, mine)
    return spawns


def _secret(run_dir: Path) -> str:
    """A JWT secret kept in the run folder, so logins survive a restart of `make dev`."""
    path = run_dir / "jwt_secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _wait_ready(
    url: str, children: Supervisor, stopping: Callable[[], bool], run_dir: Path
) -> bool:
    """Until the API is ready (True), or a stop was asked for (False). A child that exits
    before then is not restarted: that is a start-up error (settings, ports), not a crash."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not stopping():
        for name, code in children.exited().items():
            raise StackError(f"{name} exited with {code} while starting; see {run_dir}/{name}.log")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return True
        except OSError:
            time.sleep(0.3)
    if stopping():
        return False
    raise StackError(f"{url} did not answer within 60 s; see {run_dir}/api.log")


def _supervise(children: Supervisor, stopping: Callable[[], bool]) -> None:
    """Restart a crashed API or worker until a stop is asked for (Ctrl-C or SIGTERM)."""
    while not stopping():
        children.poll()
        time.sleep(0.1)


def _log_to_terminal() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(ExtraFormatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    logging.getLogger("disco.supervise").addHandler(handler)


def _write_env(run_dir: Path, env: dict[str, str]) -> None:
    """The stack's settings, for the operator's command line (api/admin.py) run from this
    checkout: owner-only, as they hold the session secret; removed when the stack stops."""
    names = [k for k in env if k.startswith(("DISCO_", "LIVEKIT_")) or k in _URLS]
    path = run_dir / DEV_ENV
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({k: env[k] for k in names}, f)


_URLS = ("REDIS_URL", "DATABASE_URL")


def main() -> int:
    run_dir = Path(os.environ.get("DISCO_RUN_DIR") or ROOT / ".run" / "dev").resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    port = _api_port()
    stop = False
    _log_to_terminal()

    def _on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    nodes, workers = _count("DISCO_LIVEKIT_NODES"), _count("DISCO_WORKERS")
    with Stack.start(run_dir, os.environ, port, nodes) as stack:
        env = {
            **os.environ,
            **stack.env,
            "DISCO_JWT_SECRET": os.environ.get("DISCO_JWT_SECRET") or _secret(run_dir),
            "DISCO_API_PORT": str(port),
            # The private LiveKit runs on the repository's key pair, which only dev may use.
            "DISCO_ENV": "dev",
        }
        _write_env(run_dir, env)
        children = Supervisor(
            {
                "api": lambda: stack.spawn("api", [sys.executable, "-m", "api"], env),
                **worker_spawns(stack, env, workers),
            }
        )
        children.start()
        try:
            if _wait_ready(f"http://127.0.0.1:{port}/readyz", children, lambda: stop, run_dir):
                print(f"\nDISCO is running: open http://127.0.0.1:{port}/", flush=True)
                urls = stack.env.get("DISCO_LIVEKIT_URLS") or stack.env["LIVEKIT_URL"]
                print(
                    f"  LiveKit {urls}, {workers} worker(s)  logs in {run_dir}  (Ctrl-C stops it)\n"
                )
                _supervise(children, lambda: stop)
        finally:
            children.stop()
            (run_dir / DEV_ENV).unlink(missing_ok=True)
    print("DISCO stopped.")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except StackError as e:
        print(e, file=sys.stderr)
        sys.exit(1)
