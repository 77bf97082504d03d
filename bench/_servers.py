"""The servers a benchmark runs against, started the one way: a Redis of its own (or the one
REDIS_URL names), or the whole stack with DISCO's settings for a run of its own."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

from scripts.stack import ROOT, Stack, free_port


@contextlib.contextmanager
def redis_url() -> Iterator[str]:
    """The URL of the Redis named by REDIS_URL, or of a private one stopped at the end."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(run_dir=Path(tmp))
        try:
            yield stack._start_redis()
        finally:
            stack.close()


@contextlib.contextmanager
def stack_env(port: int | None = None, **extra: str) -> Iterator[tuple[Stack, dict[str, str]]]:
    """The whole stack (LiveKit on `port`'s webhook target), and DISCO's environment for a run
    of its own on it: a fresh JWT secret, Redis prefix and lobby room, plus `extra`."""
    run_dir = ROOT / ".run" / f"bench-{os.getpid()}"
    with Stack.start(run_dir, os.environ, port or free_port()) as stack:
        yield (
            stack,
            {
                **os.environ,
                **stack.env,
                "DISCO_JWT_SECRET": secrets.token_urlsafe(32),
                "DISCO_REDIS_PREFIX": f"bench{secrets.token_hex(3)}",
                "DISCO_LOBBY_ROOM": f"lobby-bench-{secrets.token_hex(3)}",
                "DISCO_ENV": "dev",
                **extra,
            },
        )
