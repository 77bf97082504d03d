"""Requests per second and p99 latency of `POST /api/lobby/token` against a trivial JSON route of
the same app (`GET /healthz`, the ceiling), on loopback; prints the ratio (the target is 0.3).

It starts its own stack (scripts.stack) and runs the API as `python -m api` in its own process,
so the load generator here does not share the server's event loop.
"""

from __future__ import annotations

import asyncio
import secrets
import statistics
import sys
import time
from dataclasses import dataclass

import aiohttp

from bench._servers import stack_env
from scripts.stack import free_port
from tests.support.wait import wait_http_ready

WARMUP = 1.0
DURATION = 5.0
CONCURRENCY = 32
TARGET_RATIO = 0.3


@dataclass(frozen=True, slots=True)
class Figures:
    """One route under load for `seconds`: the latency in seconds of every request answered
    200, and how many were answered otherwise (`errors`)."""

    route: str
    latencies: tuple[float, ...]
    errors: int
    seconds: float

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def line(self) -> str:
        median = statistics.median(self.latencies) * 1000
        return (
            f"  {self.route:<24} {self.rps:9.0f} req/s   p50 {median:6.2f} ms"
            f"   p99 {self.percentile(0.99):6.2f} ms   errors {self.errors}"
        )


async def _worker(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    headers: dict[str, str],
    until: float,
    out: list[float],
) -> int:
    errors = 0
    while (start := time.perf_counter()) < until:
        async with session.request(method, url, headers=headers) as response:
            await response.read()
            if response.status != 200:
                errors += 1
                continue
        out.append(time.perf_counter() - start)
    return errors


async def _load(
    session: aiohttp.ClientSession, method: str, url: str, headers: dict[str, str], seconds: float
) -> tuple[list[float], int, float]:
    out: list[float] = []
    began = time.perf_counter()
    until = began + seconds
    errors = await asyncio.gather(
        *(_worker(session, method, url, headers, until, out) for _ in range(CONCURRENCY))
    )
    return out, sum(errors), time.perf_counter() - began


async def _measure(session: aiohttp.ClientSession, route: str, url: str, auth: str) -> Figures:
    method, _, path = route.partition(" ")
    headers = {"Authorization": auth} if auth else {}
    await _load(session, method, url + path, headers, WARMUP)
    latencies, errors, seconds = await _load(session, method, url + path, headers, DURATION)
    return Figures(route, tuple(latencies), errors, seconds)


async def _bearer(session: aiohttp.ClientSession, url: str) -> str:
    email = f"bench-{secrets.token_hex(6)}@example.org"
    account = {
        "email": email,
        "password": "bench password 1",
        "display_name": "Bench",
        "adult": True,
        "accepts_terms": True,
    }
    async with session.post(url + "/api/register", json=account) as r:
        r.raise_for_status()
    login = {"email": email, "password": account["password"]}
    async with session.post(url + "/api/login", json=login) as r:
        r.raise_for_status()
        return "Bearer " + str((await r.json())["access_token"])


async def _run(url: str) -> tuple[Figures, Figures]:
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        auth = await _bearer(session, url)
        ceiling = await _measure(session, "GET /healthz", url, "")
        tokens = await _measure(session, "POST /api/lobby/token", url, auth)
    return ceiling, tokens


def main() -> None:
    port = free_port()
    with stack_env(port, DISCO_API_PORT=str(port)) as (stack, env):
        stack.spawn("api", [sys.executable, "-m", "api"], env)
        url = f"http://127.0.0.1:{port}"
        wait_http_ready(url + "/readyz")
        ceiling, tokens = asyncio.run(_run(url))
    ratio = tokens.rps / ceiling.rps
    verdict = "meets" if ratio >= TARGET_RATIO else "misses"
    print(f"API on loopback, {CONCURRENCY} concurrent keep-alive clients, {DURATION:.0f} s each")
    print(ceiling.line())
    print(tokens.line())
    print(f"  ratio token/ceiling: {ratio:.2f} ({verdict} the {TARGET_RATIO} target)", flush=True)


if __name__ == "__main__":
    main()
