"""Accounts against a stranger who probes them: login does the same work whether or not the
account exists, registration is limited per address (an IPv6 /64 counts once), passwords must
resist guessing, display names cannot pass for DISCO, and bodies that are not plain JSON
objects of the right type are refused without changing anything."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.auth import Passwords
from api.keys import PASSWORDS
from api.ratelimit import ADDRESS_LIMIT, REGISTER_WINDOW
from lobby.settings import Settings
from tests.api.helpers import count_users, error_of, register, signup, unique_email

Client = TestClient[Any, Any]


class CountingPasswords(Passwords):
    """The real argon2 work, counted."""

    def __init__(self) -> None:
        super().__init__()
        self.verified = 0

    async def verify(self, stored: str | None, password: str) -> bool:
        self.verified += 1
        return await super().verify(stored, password)


@pytest.fixture
async def proxied(app_settings: Settings) -> AsyncIterator[Client]:
    """The API behind a trusted proxy on loopback, so each request names its client address
    in X-Forwarded-For; registrations limited to 3 per address."""
    settings = dataclasses.replace(
        app_settings, trusted_proxies=("127.0.0.1/32", "::1/128"), register_limit=3
    )
    async with TestClient(TestServer(create_app(settings))) as c:
        yield c


async def test_an_unknown_email_costs_a_verification_like_a_wrong_password(
    app_settings: Settings,
) -> None:
    app = create_app(app_settings)
    counting = CountingPasswords()
    app[PASSWORDS] = counting
    async with TestClient(TestServer(app)) as client:
        account = await register(client)
        before = counting.verified
        wrong = {"email": account.email, "password": "not the password at all"}
        assert (await client.post("/api/login", json=wrong)).status == 401
        assert counting.verified == before + 1
        unknown = {"email": unique_email(), "password": "not the password at all"}
        assert (await client.post("/api/login", json=unknown)).status == 401
        assert counting.verified == before + 2


@pytest.mark.parametrize(
    "password",
    [
        "password123",
        "qwertyuiop",
        "aaaaaaaaaaaa",
        "1234567890",
        "grace12345",
        "discodisco1",
        "{email}",
    ],
)
async def test_a_guessable_password_is_refused_with_advice(
    client: Client, engine: AsyncEngine, password: str
) -> None:
    email = unique_email("grace")
    body = signup(email, name="Grace", password=password.format(email=email))
    r = await client.post("/api/register", json=body)
    assert r.status == 400
    error = await error_of(r)
    assert error["code"] == "weak_password" and error["field"] == "password"
    assert error["message"].startswith("password: is too easy to guess.")
    assert await count_users(engine, email) == 0


async def test_registrations_are_limited_per_address_and_ipv6_per_64(
    proxied: Client, engine: AsyncEngine
) -> None:
    def body() -> dict[str, object]:
        return signup(unique_email())

    for i in range(3):
        r = await proxied.post(
            "/api/register", json=body(), headers={"X-Forwarded-For": f"2001:db8:7:1::{i + 1}"}
        )
        assert r.status == 201, await r.text()
    # Another address of the same /64 is the same client.
    refused = body()
    r = await proxied.post(
        "/api/register", json=refused, headers={"X-Forwarded-For": "2001:db8:7:1:ffff::9"}
    )
    assert r.status == 429
    assert (await error_of(r))["code"] == "too_many_attempts"
    assert 0 < int(r.headers["Retry-After"]) <= REGISTER_WINDOW
    assert await count_users(engine, str(refused["email"])) == 0
    # A taken email is not told apart either once the limit is reached.
    r = await proxied.post(
        "/api/register", json=refused, headers={"X-Forwarded-For": "2001:db8:7:1::1"}
    )
    assert r.status == 429
    # The next /64, and an IPv4 client, are others.
    for address in ("2001:db8:7:2::1", "198.51.100.7"):
        r = await proxied.post("/api/register", json=body(), headers={"X-Forwarded-For": address})
        assert r.status == 201, address


async def test_failed_logins_count_per_ipv6_64(proxied: Client) -> None:
    wrong = {"password": "not the password at all"}
    for i in range(ADDRESS_LIMIT):
        r = await proxied.post(
            "/api/login",
            json={**wrong, "email": unique_email()},
            headers={"X-Forwarded-For": f"2001:db8:9:1::{i + 1:x}"},
        )
        assert r.status == 401
    r = await proxied.post(
        "/api/login",
        json={**wrong, "email": unique_email()},
        headers={"X-Forwarded-For": "2001:db8:9:1:abcd::1"},
    )
    assert r.status == 429


@pytest.mark.parametrize(
    "name",
    [
        "DISCO",
        "disco-moderator",
        "Moderator",
        "D\u0406SCO",  # Cyrillic capital I
        "\uff24\uff29\uff33\uff23\uff2f",  # full-width DISCO
        "adm1n",
        "Ze" + "\u0336" * 12 + "lgo",
    ],
)
async def test_names_that_pass_for_disco_are_refused(
    client: Client, engine: AsyncEngine, name: str
) -> None:
    email = unique_email()
    body = signup(email, name=name)
    r = await client.post("/api/register", json=body)
    assert r.status == 400
    error = await error_of(r)
    assert error["code"] == "invalid_name" and error["field"] == "display_name"
    assert await count_users(engine, email) == 0
    account = await register(client, "Ada")
    r = await client.patch("/api/me", json={"display_name": name}, headers=account.auth)
    assert r.status == 400
    assert (await error_of(r))["code"] == "invalid_name"
    me = await (await client.get("/api/me", headers=account.auth)).json()
    assert me["user"]["display_name"] == "Ada"


async def test_names_are_stored_in_nfkc_form(client: Client) -> None:
    full_width = "\uff21\uff44\uff41 Lovelace"
    body = signup(unique_email(), name=full_width)
    r = await client.post("/api/register", json=body)
    assert r.status == 201
    assert (await r.json())["user"]["display_name"] == "Ada Lovelace"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", ""]
)
async def test_json_routes_refuse_other_content_types(
    client: Client, engine: AsyncEngine, content_type: str
) -> None:
    account = await register(client)
    email = unique_email()
    body = json.dumps(signup(email))
    headers = {"Content-Type": content_type} if content_type else {}
    r = await client.post("/api/register", data=body.encode(), headers=headers)
    assert r.status == 415
    assert (await error_of(r))["code"] == "unsupported_media_type"
    assert await count_users(engine, email) == 0
    r = await client.patch(
        "/api/me",
        data=json.dumps({"bio": "changed"}).encode(),
        headers={**account.auth, **headers},
    )
    assert r.status == 415
    me = await (await client.get("/api/me", headers=account.auth)).json()
    assert me["user"]["bio"] == ""


@pytest.mark.parametrize(
    "raw",
    [
        b'{"bio": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"bio": ' + b'{"a":' * 2500 + b"1" + b"}" * 2500 + b"}",
        b'{"bio": "a\\u0000b"}',
        b'{"bio": "\\ud800"}',
        b'{"bio": "ok", "\\udfff": 1}',
        b'{"bio": 1' + b"0" * 5000 + b"}",
    ],
    ids=["nested-lists", "nested-objects", "nul", "surrogate", "surrogate-key", "huge-number"],
)
async def test_hostile_json_is_a_bad_request_and_changes_nothing(
    client: Client, raw: bytes
) -> None:
    account = await register(client)
    r = await client.patch(
        "/api/me", data=raw, headers={**account.auth, "Content-Type": "application/json"}
    )
    assert r.status == 400, await r.text()
    assert (await error_of(r))["code"] in ("invalid_json", "invalid_field")
    me = await (await client.get("/api/me", headers=account.auth)).json()
    assert me["user"]["bio"] == ""


@pytest.mark.parametrize(
    "query",
    [
        "limit=\u00b2",  # superscript two: isdigit() but not a number int() reads as 2
        "limit=\u0663",  # Arabic-Indic three
        "limit=" + "9" * 5000,
        "limit=-1",
        "limit=1e3",
        # A cursor at the edge of the calendar, which has no UTC form.
        "before=MDAwMS0wMS0wMVQwMDowMDowMCswNTowMHwwMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA",
    ],
)
async def test_bad_history_queries_are_bad_requests(client: Client, query: str) -> None:
    account = await register(client)
    r = await client.get(f"/api/history?{query}", headers=account.auth)
    assert r.status == 400
    assert (await error_of(r))["code"] == "invalid_field"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/healthz", 200),
        ("GET", "/api/nothing-here", 404),
        ("GET", "/api/register", 405),
        ("GET", "/api/me", 401),
        ("POST", "/api/register", 415),
    ],
)
async def test_every_response_carries_the_security_headers(
    client: Client, app_settings: Settings, method: str, path: str, status: int
) -> None:
    r = await client.request(method, path, data=b"x")
    assert r.status == status
    policy = r.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["frame-ancestors"] == "'none'"
    assert directives["script-src"] == "'self'"
    ws_origin = app_settings.livekit_public_url.rstrip("/")
    assert directives["connect-src"].split() == [
        "'self'",
        ws_origin,
        ws_origin.replace("ws", "http", 1),
    ]
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert "camera=(self)" in r.headers["Permissions-Policy"]
    assert "microphone=(self)" in r.headers["Permissions-Policy"]
