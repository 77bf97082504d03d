"""`make dev`: run DISCO locally until Ctrl-C.

Starts (or reuses, when named in the environment) LiveKit, Redis and Postgres, migrates the
database, then runs the API (serving the web client) and the agent worker under the
livekit-agents dev runner. Everything it started is stopped on exit, Ctrl-C included.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import sys
import time
import urllib.request
from pathlib import Path

from scripts.stack import ROOT, Stack, StackError, free_port


def _api_port() -> int:
    wanted = int(os.environ.get("DISCO_API_PORT", "8080"))
    try:
        with socket.socket() as s:
            # As the API's own listener does: a socket of a just-stopped run lingering in
            # TIME_WAIT must not count as taken, or a quick restart lands on a random port.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", wanted))
        return wanted
    except OSError:
        return free_port()


def _secret(run_dir: Path) -> str:
    """A JWT secret kept in the run folder, so logins survive a restart of `make dev`."""
    path = run_dir / "jwt_secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise StackError(f"{url} did not answer within {timeout:.0f} s; see .run/dev/api.log")


def main() -> int:
    run_dir = ROOT / ".run" / "dev"
    run_dir.mkdir(parents=True, exist_ok=True)
    port = _api_port()
    stop = False

    def _on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    with Stack.start(run_dir, os.environ, port) as stack:
        env = {
            **os.environ,
            **stack.env,
            "DISCO_JWT_SECRET": os.environ.get("DISCO_JWT_SECRET") or _secret(run_dir),
            "DISCO_API_PORT": str(port),
            # The private LiveKit runs on the repository's key pair, which only dev may use.
            "DISCO_ENV": "dev",
        }
        api = stack.spawn("api", [sys.executable, "-m", "api"], env)
        worker = stack.spawn("worker", [sys.executable, "-m", "agent.worker", "dev"], env)
        _wait_ready(f"http://127.0.0.1:{port}/readyz")
        print(f"\nDISCO is running: open http://127.0.0.1:{port}/", flush=True)
        print(f"  LiveKit {stack.env['LIVEKIT_URL']}  logs in .run/dev/  (Ctrl-C stops it)\n")
        while not stop:
            for name, proc in (("api", api), ("agent worker", worker)):
                if proc.poll() is not None:
                    print(f"{name} exited with {proc.returncode}; see .run/dev/", flush=True)
                    return 1
            time.sleep(0.5)
    print("DISCO stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
