"""The API while Postgres or Redis stops answering (its processes paused with SIGSTOP): routes
answer 503 `unavailable` with Retry-After quickly instead of hanging or failing with 500,
`/readyz` names the server that is down, and everything works again once it is back."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp.test_utils import TestClient

from scripts.stack import Stack
from tests.api.helpers import PASSWORD, error_of, register, signup, unique_email
from tests.support.faults import paused

Client = TestClient[Any, Any]

# Far above the configured timeouts (a few seconds): a request that took this long hung.
NO_HANG = 10.0


async def _timed(client: Client, method: str, path: str, **kw: Any) -> tuple[Any, float]:
    began = time.monotonic()
    r = await client.request(method, path, **kw)
    await r.read()
    return r, time.monotonic() - began


async def _assert_unavailable(r: Any, took: float, what: str) -> None:
    print(f"{what}: {r.status} in {took:.2f} s")
    assert r.status == 503, await r.text()
    error = await error_of(r)
    assert error["code"] == "unavailable"
    assert int(r.headers["Retry-After"]) >= 1
    assert error["retry_after"] == int(r.headers["Retry-After"])
    assert took < NO_HANG


async def _ready_again(client: Client, wait: float = 30) -> None:
    deadline = time.monotonic() + wait
    while True:
        r = await client.get("/readyz")
        if r.status == 200 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert r.status == 200, await r.text()


async def _readyz_down(client: Client) -> list[str]:
    r, took = await _timed(client, "GET", "/readyz")
    print(f"readyz: {r.status} in {took:.2f} s")
    assert r.status == 503 and took < NO_HANG
    error = await error_of(r)
    assert error["code"] == "not_ready"
    down: list[str] = error["down"]
    return down


async def test_logins_and_registrations_are_unavailable_while_postgres_is_away(
    client: Client, stack: Stack
) -> None:
    ada = await register(client, "Ada")
    login = {"email": ada.email, "password": PASSWORD}
    fresh = signup(unique_email("bo"), name="Bo")
    with paused(stack, "postgres"):
        r, took = await _timed(client, "POST", "/api/login", json=login)
        await _assert_unavailable(r, took, "login")
        r, took = await _timed(client, "POST", "/api/register", json=fresh)
        await _assert_unavailable(r, took, "register")
        assert await _readyz_down(client) == ["postgres"]
    await _ready_again(client)
    r = await client.post("/api/login", json=login)
    assert r.status == 200, await r.text()
    # The refused registration wrote nothing: the same email registers now.
    r = await client.post("/api/register", json=fresh)
    assert r.status == 201, await r.text()


async def test_lobby_tokens_are_unavailable_while_redis_is_away(
    client: Client, stack: Stack
) -> None:
    ada = await register(client, "Ada")
    r = await client.post("/api/lobby/token", headers=ada.auth)
    assert r.status == 200, await r.text()
    with paused(stack, "redis"):
        r, took = await _timed(client, "POST", "/api/lobby/token", headers=ada.auth)
        await _assert_unavailable(r, took, "lobby token")
        assert await _readyz_down(client) == ["redis"]
    await _ready_again(client)
    r = await client.post("/api/lobby/token", headers=ada.auth)
    assert r.status == 200, await r.text()
