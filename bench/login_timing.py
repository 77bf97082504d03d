"""How long `POST /api/login` takes for an email with no account and for a known email with a
wrong password. The two must cost the same (an argon2 verification each), or the time tells
whether an account exists. Prints the median and quartiles of each, and their difference.

It starts its own stack (scripts.stack) and runs the API in this process on loopback. Each
request comes from its own forwarded address (the loopback peer is a trusted proxy here) and
each known account takes fewer wrong passwords than locks it, so no limit answers instead.
"""

from __future__ import annotations

import asyncio
import secrets
import statistics
import time
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from api.app import create_app
from api.ratelimit import ACCOUNT_LIMIT
from bench._servers import stack_env
from lobby.settings import Settings

ACCOUNTS = 10
ROUNDS = ACCOUNT_LIMIT - 1
PASSWORD = "bench password that is long enough"


async def _timed(client: TestClient[Any, Any], email: str, n: int) -> float:
    headers = {"X-Forwarded-For": f"198.18.{n // 250}.{n % 250 + 1}"}
    body = {"email": email, "password": "not the password at all"}
    started = time.perf_counter()
    r = await client.post("/api/login", json=body, headers=headers)
    elapsed = time.perf_counter() - started
    assert r.status == 401, await r.text()
    return elapsed


async def _run(settings: Settings) -> tuple[list[float], list[float]]:
    async with TestClient(TestServer(create_app(settings))) as client:
        emails = [f"bench-{secrets.token_hex(6)}@example.org" for _ in range(ACCOUNTS)]
        for email in emails:
            body = {
                "email": email,
                "password": PASSWORD,
                "display_name": "Bench",
                "adult": True,
                "accepts_terms": True,
            }
            r = await client.post("/api/register", json=body)
            assert r.status == 201, await r.text()
        unknown: list[float] = []
        known: list[float] = []
        n = 0
        for _ in range(ROUNDS):
            for email in emails:
                n += 1
                unknown.append(await _timed(client, f"nobody-{n}@example.org", n))
                n += 1
                known.append(await _timed(client, email, n))
        return unknown, known


def _line(label: str, samples: list[float]) -> str:
    q1, median, q3 = (x * 1000 for x in statistics.quantiles(samples, n=4))
    return f"  {label:<28} median {median:6.1f} ms   quartiles {q1:6.1f} to {q3:6.1f} ms"


def main() -> None:
    with stack_env(DISCO_TRUSTED_PROXIES="127.0.0.1,::1") as (_, env):
        unknown, known = asyncio.run(_run(Settings.from_env(env)))
    print(f"POST /api/login, {len(unknown)} of each, alternating, in-process on loopback")
    print(_line("unknown email", unknown))
    print(_line("known email, wrong password", known))
    gap = (statistics.median(known) - statistics.median(unknown)) * 1000
    print(f"  difference of medians {gap:+.1f} ms")


if __name__ == "__main__":
    main()
