"""The API, run in-process on the session loop against the real Redis, Postgres and LiveKit.

Each test gets its own app with its own Redis prefix, and makes its own users (unique emails)
and discussions (unique rooms), so tests run in any order.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from api.app import create_app
from lobby.settings import Settings


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    """The session's settings with a Redis prefix of this test's own."""
    return dataclasses.replace(
        settings, redis_prefix=f"{settings.redis_prefix}{secrets.token_hex(4)}"
    )


@pytest.fixture
async def client(app_settings: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(create_app(app_settings))) as c:
        yield c


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    eng = create_async_engine(settings.async_database_url)
    yield eng
    await eng.dispose()
