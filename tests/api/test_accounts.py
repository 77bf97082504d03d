"""Register, log in, the login rate limit, session tokens, and the profile."""

from __future__ import annotations

import dataclasses
import time
import uuid
import warnings
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer
from jwt.warnings import InsecureKeyLengthWarning
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.ratelimit import ACCOUNT_LIMIT, ADDRESS_LIMIT, WINDOW
from lobby.db.schema import users
from lobby.settings import Settings
from tests.api.helpers import PASSWORD, count_users, error_of, register, signup, unique_email

Client = TestClient[Any, Any]


async def test_register_normalises_email_and_answers_the_user(
    client: Client, engine: AsyncEngine
) -> None:
    email = unique_email("grace")
    body = signup(f"  {email.upper()} ", name=" Grace ")
    r = await client.post("/api/register", json=body)
    assert r.status == 201
    user = (await r.json())["user"]
    assert user["email"] == email
    assert user["display_name"] == "Grace"
    uuid.UUID(user["id"])
    assert "password" not in str(user) and "hash" not in str(user)
    async with engine.connect() as conn:
        query = sa.select(users.c.password_hash).where(users.c.email == email)
        stored = (await conn.execute(query)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert "$m=19456,t=2,p=1$" in stored


async def test_register_twice_is_a_conflict(client: Client) -> None:
    account = await register(client)
    body = signup(account.email.upper(), name="Other")
    r = await client.post("/api/register", json=body)
    assert r.status == 409
    assert (await error_of(r))["code"] == "email_taken"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": None}, "email"),
        ({"email": "not-an-email"}, "email"),
        ({"email": 42}, "email"),
        ({"password": "short"}, "password"),
        ({"password": None}, "password"),
        ({"password": ["a" * 12]}, "password"),
        ({"display_name": ""}, "display_name"),
        ({"display_name": "   "}, "display_name"),
        ({"display_name": "x" * 41}, "display_name"),
        ({"display_name": "bad\nname"}, "display_name"),
        ({"display_name": 7}, "display_name"),
    ],
)
async def test_register_refuses_bad_fields_and_stores_nothing(
    client: Client, engine: AsyncEngine, change: dict[str, Any], field: str
) -> None:
    email = unique_email()
    body: dict[str, Any] = signup(email)
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    r = await client.post("/api/register", json=body)
    assert r.status == 400
    error = await error_of(r)
    assert error["code"] == "invalid_field"
    assert error["field"] == field and field in error["message"]
    assert await count_users(engine, email) == 0


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"', b"", b"\xff\xfe"])
async def test_malformed_json_is_a_bad_request(client: Client, raw: bytes) -> None:
    r = await client.post("/api/register", data=raw, headers={"Content-Type": "application/json"})
    assert r.status == 400
    assert (await error_of(r))["code"] == "invalid_json"


async def test_a_body_over_the_limit_is_refused(client: Client, engine: AsyncEngine) -> None:
    email = unique_email()
    body = signup(email, pad="x" * 20_000)
    r = await client.post("/api/register", json=body)
    assert r.status == 413
    assert (await error_of(r))["code"] == "payload_too_large"
    huge = signup(email, pad="x" * 300_000)
    r = await client.post("/api/register", json=huge)
    assert r.status == 413
    assert (await error_of(r))["code"] == "payload_too_large"
    assert await count_users(engine, email) == 0


async def test_login_answers_a_session_token(client: Client, app_settings: Settings) -> None:
    account = await register(client)
    r = await client.post("/api/login", json={"email": account.email, "password": PASSWORD})
    assert r.status == 200
    body = await r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == app_settings.access_token_ttl
    assert body["user"]["id"] == str(account.id)
    claims = jwt.decode(
        body["access_token"],
        app_settings.jwt_secret,
        algorithms=["HS256"],
        audience=app_settings.jwt_audience,
        issuer=app_settings.jwt_issuer,
    )
    assert claims["sub"] == str(account.id)
    assert claims["exp"] - claims["iat"] == app_settings.access_token_ttl


async def test_wrong_password_and_unknown_email_look_the_same(client: Client) -> None:
    account = await register(client)
    wrong = await client.post("/api/login", json={"email": account.email, "password": "nope" * 3})
    unknown = await client.post("/api/login", json={"email": unique_email(), "password": "x" * 12})
    assert wrong.status == unknown.status == 401
    assert await wrong.json() == await unknown.json()


async def _fail(client: Client, email: str) -> Any:
    return await client.post("/api/login", json={"email": email, "password": "wrong password"})


async def test_failed_logins_lock_the_account(client: Client) -> None:
    account = await register(client)
    for _ in range(ACCOUNT_LIMIT):
        assert (await _fail(client, account.email)).status == 401
    r = await _fail(client, account.email)
    assert r.status == 429
    assert (await error_of(r))["code"] == "too_many_attempts"
    assert 0 < int(r.headers["Retry-After"]) <= WINDOW
    # The right password does not get through a lock either.
    right = await client.post("/api/login", json={"email": account.email, "password": PASSWORD})
    assert right.status == 429 and "Retry-After" in right.headers
    # Another account from the same address is not locked by this one.
    other = await register(client, "Bob")
    assert (await _fail(client, other.email)).status == 401


async def test_a_correct_login_clears_the_account_count(client: Client) -> None:
    account = await register(client)
    for _ in range(ACCOUNT_LIMIT - 1):
        assert (await _fail(client, account.email)).status == 401
    right = await client.post("/api/login", json={"email": account.email, "password": PASSWORD})
    assert right.status == 200
    for _ in range(ACCOUNT_LIMIT - 1):
        assert (await _fail(client, account.email)).status == 401


async def test_failed_logins_lock_the_address(client: Client) -> None:
    emails = [unique_email() for _ in range(ADDRESS_LIMIT)]
    for email in emails:
        assert (await _fail(client, email)).status == 401
    r = await _fail(client, unique_email())
    assert r.status == 429
    assert int(r.headers["Retry-After"]) > 0


def _token(settings: Settings, user_id: uuid.UUID, **override: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "iat": now,
        "exp": now + 600,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
    }
    algorithm = override.pop("alg", "HS256")
    secret = override.pop("secret", settings.jwt_secret)
    claims.update(override)
    claims = {k: v for k, v in claims.items() if v is not None}
    with warnings.catch_warnings():
        # The session secret is shorter than HS512 wants: these tokens only have to be refused.
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode(claims, secret, algorithm=algorithm)


@pytest.mark.parametrize(
    "override",
    [
        {"alg": "HS512"},
        {"alg": "HS384"},
        {"secret": "another secret that is long enough"},
        {"aud": "someone-else"},
        {"iss": "someone-else"},
        {"exp": int(time.time()) - 3600},
        {"exp": None},
        {"iat": None},
        {"aud": None},
        {"iss": None},
        {"sub": None},
        {"sub": "not-a-uuid"},
    ],
)
async def test_session_tokens_are_checked(
    client: Client, app_settings: Settings, override: dict[str, Any]
) -> None:
    account = await register(client)
    good = _token(app_settings, account.id)
    assert (await client.get("/api/me", headers={"Authorization": f"Bearer {good}"})).status == 200
    bad = _token(app_settings, account.id, **override)
    r = await client.get("/api/me", headers={"Authorization": f"Bearer {bad}"})
    assert r.status == 401
    assert (await error_of(r))["code"] == "unauthorized"


async def test_unsigned_and_missing_tokens_are_refused(
    client: Client, app_settings: Settings
) -> None:
    account = await register(client)
    header = jwt.utils.base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
    good = _token(app_settings, account.id)
    unsigned = header + "." + good.split(".")[1] + "."
    for auth in ("", "Bearer", "Basic abc", f"Bearer {unsigned}", "Bearer a.b.c"):
        r = await client.get("/api/me", headers={"Authorization": auth} if auth else {})
        assert r.status == 401, auth
        assert r.headers["WWW-Authenticate"].startswith("Bearer")


async def test_me_and_profile_changes(client: Client) -> None:
    account = await register(client)
    r = await client.get("/api/me", headers=account.auth)
    assert (await r.json())["user"] == {
        "id": str(account.id),
        "email": account.email,
        "display_name": account.display_name,
        "bio": "",
        "role": "user",
        "allow_audience": False,
    }
    change = {"display_name": "Ada L.", "bio": "Likes engines.\nAnd poems."}
    r = await client.patch("/api/me", json=change, headers=account.auth)
    assert r.status == 200
    assert (await r.json())["user"]["display_name"] == "Ada L."
    r = await client.patch("/api/me", json={"bio": ""}, headers=account.auth)
    user = (await (await client.get("/api/me", headers=account.auth)).json())["user"]
    assert user["display_name"] == "Ada L." and user["bio"] == ""


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "display_name"),
        ({"display_name": ""}, "display_name"),
        ({"display_name": "y" * 41, "bio": "fine"}, "display_name"),
        ({"bio": "b" * 281}, "bio"),
        ({"bio": 3}, "bio"),
    ],
)
async def test_bad_profile_changes_change_nothing(
    client: Client, body: dict[str, Any], field: str
) -> None:
    account = await register(client)
    r = await client.patch("/api/me", json=body, headers=account.auth)
    assert r.status == 400
    assert (await error_of(r))["field"] == field
    user = (await (await client.get("/api/me", headers=account.auth)).json())["user"]
    assert user["display_name"] == account.display_name and user["bio"] == ""


async def test_profile_needs_a_session(client: Client) -> None:
    assert (await client.patch("/api/me", json={"bio": "x"})).status == 401
    assert (await client.get("/api/me")).status == 401


async def test_unknown_routes_and_methods_answer_json(client: Client) -> None:
    r = await client.get("/api/nothing-here")
    assert r.status == 404
    assert (await error_of(r))["code"] == "not_found"
    r = await client.get("/api/register")
    assert r.status == 405
    assert (await error_of(r))["code"] == "method_not_allowed"


async def test_a_forged_forwarded_header_does_not_escape_the_address_limit(
    client: Client,
) -> None:
    """No proxy is trusted by default: X-Forwarded-For is the caller's own claim."""
    for i in range(ADDRESS_LIMIT):
        r = await client.post(
            "/api/login",
            json={"email": unique_email(), "password": "wrong password"},
            headers={"X-Forwarded-For": f"198.51.100.{i}"},
        )
        assert r.status == 401
    r = await client.post(
        "/api/login",
        json={"email": unique_email(), "password": "wrong password"},
        headers={"X-Forwarded-For": "198.51.100.250"},
    )
    assert r.status == 429


async def test_behind_a_trusted_proxy_each_client_has_its_own_address_limit(
    app_settings: Settings,
) -> None:
    settings = dataclasses.replace(app_settings, trusted_proxies=("127.0.0.1/32", "::1/128"))
    async with TestClient(TestServer(create_app(settings))) as proxied:
        for _ in range(ADDRESS_LIMIT):
            r = await proxied.post(
                "/api/login",
                json={"email": unique_email(), "password": "wrong password"},
                headers={"X-Forwarded-For": "198.51.100.1"},
            )
            assert r.status == 401
        limited = await proxied.post(
            "/api/login",
            json={"email": unique_email(), "password": "wrong password"},
            headers={"X-Forwarded-For": "198.51.100.1"},
        )
        other = await proxied.post(
            "/api/login",
            json={"email": unique_email(), "password": "wrong password"},
            headers={"X-Forwarded-For": "198.51.100.2"},
        )
        assert limited.status == 429 and other.status == 401
