"""Fixtures shared by every test: the real servers (started once per session, only when a test
asks for them), the settings that point at them, and a guard against leaked asyncio tasks."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from lobby.settings import Settings
from scripts.stack import ROOT, Stack, free_port


@pytest.fixture(scope="session")
def api_port() -> int:
    """The port the API listens on in tests; LiveKit's webhooks are sent there."""
    return free_port()


@pytest.fixture(scope="session")
def stack(api_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    run_dir = (
        Path(os.environ.get("DISCO_TEST_RUN_DIR", ""))
        if os.environ.get("DISCO_TEST_RUN_DIR")
        else ROOT / ".run" / f"test-{os.getpid()}"
    )
    with Stack.start(run_dir, os.environ, api_port) as running:
        yield running


@pytest.fixture(scope="session")
def settings(stack: Stack, api_port: int) -> Settings:
    """Settings for the real servers; each session gets its own Redis prefix and lobby room."""
    env = {
        **stack.env,
        "DISCO_JWT_SECRET": secrets.token_urlsafe(32),
        "DISCO_API_PORT": str(api_port),
        "DISCO_REDIS_PREFIX": f"t{secrets.token_hex(4)}",
        "DISCO_LOBBY_ROOM": f"lobby-{secrets.token_hex(4)}",
        # The private LiveKit runs on the repository's key pair, which only dev may use.
        "DISCO_ENV": "dev",
        # Every test registers its own accounts from one address; the limit has its own test.
        "DISCO_REGISTER_LIMIT": "1000000",
    }
    return Settings.from_env(env)


@pytest.fixture(autouse=True)
async def no_leaked_tasks() -> AsyncIterator[None]:
    """Fail a test that leaves asyncio tasks of its own running."""
    before = set(asyncio.all_tasks())
    yield
    await asyncio.sleep(0)
    leaked = [
        t for t in asyncio.all_tasks() - before if not t.done() and t is not asyncio.current_task()
    ]
    if leaked:
        for t in leaked:
            t.cancel()
        await asyncio.gather(*leaked, return_exceptions=True)
        pytest.fail(f"test left {len(leaked)} task(s) running: {leaked[:3]}")
