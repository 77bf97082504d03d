"""The agent worker, run for real (`python -m agent.worker start`) against the test stack."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen

import pytest

from lobby.settings import Settings
from scripts.stack import Stack


@dataclass
class Worker:
    proc: Popen[bytes]
    log: Path
    env: dict[str, str]


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a DISCO process use exactly these settings."""
    return {
        "LIVEKIT_URL": settings.livekit_url,
        "LIVEKIT_API_KEY": settings.livekit_api_key,
        "LIVEKIT_API_SECRET": settings.livekit_api_secret,
        "REDIS_URL": settings.redis_url,
        "DATABASE_URL": settings.database_url,
        "DISCO_JWT_SECRET": settings.jwt_secret,
        "DISCO_REDIS_PREFIX": settings.redis_prefix,
        "DISCO_LOBBY_ROOM": settings.lobby_room,
        "DISCO_AGENT_NAME": settings.agent_name,
        "DISCO_API_PORT": str(settings.api_port),
        "DISCO_ACCEPT_TIMEOUT": str(settings.accept_timeout),
        "DISCO_REMATCH_COOLDOWN": str(settings.rematch_cooldown),
        "DISCO_FORMATS_FILE": settings.formats_file,
    }


def start_worker(stack: Stack, settings: Settings, name: str = "worker") -> Worker:
    env = {**os.environ, **settings_env(settings)}
    proc = stack.spawn(name, [sys.executable, "-m", "agent.worker", "start"], env)
    log = stack.run_dir / f"{name}.log"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"agent worker exited with {proc.returncode}; see {log}")
        if log.exists() and "registered worker" in log.read_text(errors="replace"):
            return Worker(proc, log, env)
        time.sleep(0.1)
    raise RuntimeError(f"agent worker did not register within 60 s; see {log}")


@pytest.fixture(scope="session")
def worker(stack: Stack, settings: Settings) -> Iterator[Worker]:
    w = start_worker(stack, settings)
    yield w
    if w.proc.poll() is None:
        w.proc.terminate()
        w.proc.wait(15)
