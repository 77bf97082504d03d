"""No input makes any HTTP route fail on our side, and refused input changes nothing.

Every route of the app's router (so a new route is covered without touching this file) gets
random, oversized, deeply nested and wrong-typed bodies, path parameters and query strings,
with and without a valid session and under several content types. Each answer must be a 4xx,
or the route's 2xx for input that happens to be valid; after every 4xx, Postgres (every table,
row by row) and Redis (every key of this app, but the rate-limit counters, which exist to
count refused requests) must be as they were.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from lobby.settings import DEV_LIVEKIT_KEY, DEV_LIVEKIT_SECRET, Settings
from tests.api.helpers import Account, register

EXAMPLES = 20
# Keys that count refused requests on purpose (failed logins, registrations per address).
_COUNTERS = re.compile(r":(login|register):")
_FIELDS = [
    "email",
    "password",
    "display_name",
    "bio",
    "score",
    "talk_again",
    "discussion_id",
    "user_id",
    "reason",
    "note",
    "limit",
    "before",
]


def _routes() -> list[tuple[str, str]]:
    """(method, path template) of every route the app serves. Building the app does no I/O,
    so placeholder settings do."""
    placeholder = Settings(
        livekit_url="ws://127.0.0.1:1",
        livekit_api_key=DEV_LIVEKIT_KEY,
        livekit_api_secret=DEV_LIVEKIT_SECRET,
        redis_url="redis://127.0.0.1:1/0",
        database_url="postgresql://nobody@127.0.0.1:1/none",
        jwt_secret="j" * 32,
        environment="dev",
    )
    app = create_app(placeholder)
    found = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }
    return sorted(found)


ROUTES = _routes()

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=60)
    | st.sampled_from(["", "0", "²", "٣", "1e9", "DISCO", "\u0000", "a" * 300])
)
_json_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)
_objects = st.dictionaries(st.sampled_from(_FIELDS) | st.text(max_size=10), _json_values)


def _encoded(value: Any) -> bytes:
    # allow_nan: NaN and Infinity are what a hostile client may well send.
    return json.dumps(value, allow_nan=True).encode()


def _nested(depth: int) -> bytes:
    return b'{"bio": ' + b"[" * depth + b"]" * depth + b"}"


_bodies = st.one_of(
    st.none(),
    _objects.map(_encoded),
    _json_values.map(_encoded),
    st.integers(min_value=50, max_value=4000).map(_nested),
    st.integers(min_value=16_000, max_value=300_000).map(lambda n: b'{"bio": "' + b"x" * n),
    st.binary(max_size=200),
)
_content_types = st.sampled_from(
    ["application/json", "application/json", "text/plain", "application/webhook+json", None]
)
_params = st.one_of(
    st.uuids().map(str),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=40).map(
        lambda s: quote(s, safe="")
    ),
)
_queries = st.dictionaries(
    st.sampled_from(["limit", "before", "after", "x"]),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=30)
    | st.sampled_from(["²", "٣", "9" * 50, "-1", "MDAwMS0wMS0wMVQwMDowMDowMCswNTowMHx4"]),
    max_size=3,
)


@dataclass(frozen=True)
class Request:
    path_params: list[str]
    query: dict[str, str]
    body: bytes | None
    content_type: str | None
    session: str  # "none", "valid" or "garbage"


_requests = st.builds(
    Request,
    path_params=st.lists(_params, min_size=2, max_size=2),
    query=_queries,
    body=_bodies,
    content_type=_content_types,
    session=st.sampled_from(["valid", "valid", "none", "garbage"]),
)


@dataclass
class World:
    client: TestClient[Any, Any]
    account: Account
    engine: AsyncEngine
    redis: Redis
    prefix: str


@pytest.fixture
async def world(
    client: TestClient[Any, Any], engine: AsyncEngine, app_settings: Settings
) -> AsyncIterator[World]:
    account = await register(client, "Fuzz")
    redis = Redis.from_url(app_settings.redis_url)
    yield World(client, account, engine, redis, app_settings.redis_prefix)
    await redis.aclose()


async def _snapshot(world: World) -> tuple[dict[str, str], frozenset[bytes]]:
    """Every table's rows (as a digest) and every Redis key of this app but the counters."""
    tables: dict[str, str] = {}
    async with world.engine.connect() as conn:
        names = await conn.execute(
            sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        )
        for (name,) in names.all():
            digest = await conn.execute(
                sa.text(
                    f"SELECT count(*)::text || md5(coalesce(string_agg(t::text, ',' "
                    f"ORDER BY t::text), '')) FROM \"{name}\" t"
                )
            )
            tables[name] = str(digest.scalar_one())
    keys = frozenset(
        [
            k
            async for k in world.redis.scan_iter(match=f"{{{world.prefix}}}*")
            if not _COUNTERS.search(k.decode(errors="replace"))
        ]
    )
    return tables, keys


def _target(template: str, params: list[str]) -> str:
    names = iter(params)
    return re.sub(r"\{[^}]+\}", lambda _: next(names), template)


def _headers(world: World, request: Request) -> dict[str, str]:
    headers: dict[str, str] = {}
    if request.content_type is not None:
        headers["Content-Type"] = request.content_type
    if request.session == "valid":
        headers.update(world.account.auth)
    elif request.session == "garbage":
        headers["Authorization"] = "Bearer " + secrets.token_urlsafe(24)
    return headers


@pytest.mark.timeout(600)
@pytest.mark.parametrize(("method", "template"), ROUTES)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(request=_requests)
async def test_no_input_fails_on_our_side_or_changes_state_when_refused(
    world: World, method: str, template: str, request: Request
) -> None:
    before = await _snapshot(world)
    url = _target(template, request.path_params)
    if request.query:
        url += "?" + urlencode(request.query)
    r = await world.client.request(method, url, data=request.body, headers=_headers(world, request))
    text = await r.text()
    assert r.status < 500, f"{method} {url} -> {r.status} {text[:300]}"
    if r.status >= 400:
        assert r.headers["Content-Type"].startswith("application/json"), text[:200]
        assert await _snapshot(world) == before, f"{method} {url} -> {r.status} changed state"


def test_every_route_is_covered() -> None:
    """The enumeration sees the routes: a sample that must be among them."""
    assert ("POST", "/api/register") in ROUTES
    assert ("POST", "/livekit/webhook") in ROUTES
    assert ("GET", "/api/history") in ROUTES
    assert len(ROUTES) >= 15
