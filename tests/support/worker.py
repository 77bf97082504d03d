"""An agent worker process started with given settings, as the tests and benchmarks run it."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen, TimeoutExpired
from typing import Any

from lobby.settings import Settings
from scripts.stack import Stack
from tests.support.wait import wait_until


@dataclass
class Worker:
    proc: Popen[bytes]
    log: Path
    env: dict[str, str]

    def lobby_shards(self) -> list[int]:
        """The lobby shards whose agent got ready in this worker process, by its log (which
        has the line a moment after the agent's `lobby` attribute says so)."""
        shards = []
        for line in self.log.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if isinstance(entry, dict) and entry.get("message") == "lobby agent ready":
                    shards.append(int(entry["shard"]))
        return sorted(shards)

    def stop(self, grace: float = 10) -> None:
        """SIGTERM, then SIGKILL: the worker drains its jobs on SIGTERM, which may outlast a
        test session's patience when a moderator job is still winding up."""
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(grace)
        except TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def own_settings(settings: Settings, name: str, **changes: Any) -> Settings:
    """Settings for a lobby of a test's own: its own agent name, lobby room and Redis prefix
    (named after `name`, made unique), with `changes`."""
    tag = secrets.token_hex(4)
    return dataclasses.replace(
        settings,
        agent_name=f"disco-{name}-{tag}",
        lobby_room=f"lobby-{name}-{tag}",
        redis_prefix=f"{settings.redis_prefix}{name}{tag}",
        **changes,
    )


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
        "DISCO_LOBBY_SHARDS": str(settings.lobby_shards),
        "DISCO_AGENT_NAME": settings.agent_name,
        "DISCO_API_PORT": str(settings.api_port),
        "DISCO_ACCEPT_TIMEOUT": str(settings.accept_timeout),
        "DISCO_REMATCH_COOLDOWN": str(settings.rematch_cooldown),
        "DISCO_FORMATS_FILE": settings.formats_file,
        "DISCO_FLOOD_RPC_RATE": str(settings.flood_rpc_rate),
        "DISCO_FLOOD_PACKET_RATE": str(settings.flood_packet_rate),
        "DISCO_FLOOD_WINDOW": str(settings.flood_window),
        "DISCO_FLOOD_BAN": str(settings.flood_ban),
        "DISCO_ENV": settings.environment,
        "DISCO_REGISTER_LIMIT": str(settings.register_limit),
        "DISCO_REDIS_TIMEOUT": str(settings.redis_timeout),
        "DISCO_DATABASE_TIMEOUT": str(settings.database_timeout),
        "DISCO_OUTAGE_RETRY_AFTER": str(settings.outage_retry_after),
        "DISCO_WORKER_ROLES": ",".join(settings.worker_roles),
    }


def start_worker(
    stack: Stack, settings: Settings, name: str = "worker", within: float = 60
) -> Worker:
    """An agent worker with these settings, once it has registered with LiveKit (waiting up to
    `within` seconds: a worker's imports take long on a busy machine)."""
    env = {**os.environ, **settings_env(settings)}
    proc = stack.spawn(name, [sys.executable, "-m", "agent.worker", "start"], env)
    log = stack.run_dir / f"{name}.log"

    def registered() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"agent worker exited with {proc.returncode}; see {log}")
        return log.exists() and "registered worker" in log.read_text(errors="replace")

    wait_until(registered, f"the agent worker registers (see {log})", within, every=0.1)
    return Worker(proc, log, env)
