"""Accounts: register, log in, read and edit one's profile."""

from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import web

from api import validation as v
from api.auth import bearer
from api.errors import InvalidCredentials, InvalidField, InvalidName, Unauthorized, WeakPassword
from api.keys import DB, LIMITER, PASSWORDS, REGISTER_LIMITER, SESSIONS, SETTINGS, USERS
from api.ratelimit import client_address
from api.records import User
from lobby import names

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

MIN_PASSWORD = 10
MAX_NAME = 40
USER_TTL = 10.0
CACHED_USERS = 10_000


async def current_user(request: web.Request, *, fresh: bool = False) -> User:
    """The user named by a valid bearer token; Unauthorized otherwise (also for a token whose
    account no longer exists).

    Users are remembered for USER_TTL seconds, so a burst of requests (a client that asks for a
    lobby token, its profile and its history) costs one query; a change made by another API
    process shows within that time. `fresh` reads Postgres, for decisions on rights."""
    user_id = request.app[SESSIONS].verify(bearer(request))
    cache = request.app[USERS]
    now = time.monotonic()
    user = None if fresh else cache.get(user_id, now)
    if user is None:
        user = await request.app[DB].user(user_id)
        if user is None:
            cache.drop(user_id)
            raise Unauthorized("Your session is not valid. Please log in again.")
        cache.put(user_id, user, now + USER_TTL)
    return user


def _display_name(body: dict[str, object], *, required: bool) -> str | None:
    """The name by the one rule for names (lobby.names): 400 invalid_name when it refuses."""
    raw = v.text(
        body, "display_name", min_len=1, max_len=MAX_NAME, required=required, printable=True
    )
    if raw is None:
        return None
    try:
        return names.display_name(raw, max_len=MAX_NAME)
    except names.NameRefused as refused:
        raise InvalidName("display_name", str(refused)) from None


def _address(request: web.Request) -> str:
    forwarded = request.headers.getall("X-Forwarded-For", [])
    return client_address(request.remote, forwarded, request.app[SETTINGS].trusted_proxies)


@routes.post("/api/register")
async def register(request: web.Request) -> web.Response:
    body = await v.read_json(request)
    email = v.email(body)
    password = v.password(body, min_len=MIN_PASSWORD)
    display_name = _display_name(body, required=True)
    assert display_name is not None
    # Counted before the strength check and the hash, the two costly steps.
    await request.app[REGISTER_LIMITER].attempt(_address(request))
    hints = [email, email.partition("@")[0], display_name, "disco"]
    loop = asyncio.get_running_loop()
    weakness = await loop.run_in_executor(None, v.password_weakness, password, hints)
    if weakness is not None:
        raise WeakPassword("password", weakness)
    password_hash = await request.app[PASSWORDS].hash(password)
    user = await request.app[DB].create_user(email, password_hash, display_name)
    log.info("account registered", extra={"user_id": str(user.id)})
    return web.json_response({"user": user.to_json()}, status=201)


@routes.post("/api/login")
async def login(request: web.Request) -> web.Response:
    body = await v.read_json(request)
    email = v.email(body)
    password = v.password(body)
    address = _address(request)
    limiter = request.app[LIMITER]
    await limiter.attempt(email, address)
    found = await request.app[DB].credentials(email)
    stored = None if found is None else found.password_hash
    # Verified whether or not the account exists (against a dummy hash when it does not), so
    # an unknown email costs the same time as a wrong password and tells nothing.
    matches = await request.app[PASSWORDS].verify(stored, password)
    if found is None or not matches:
        await limiter.failed(email, address)
        log.info("login refused", extra={"address": address})
        raise InvalidCredentials()
    await limiter.succeeded(email, address)
    settings = request.app[SETTINGS]
    token = request.app[SESSIONS].issue(found.user.id)
    return web.json_response(
        {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": settings.access_token_ttl,
            "user": found.user.to_json(),
        }
    )


@routes.get("/api/me")
async def me(request: web.Request) -> web.Response:
    user = await current_user(request)
    return web.json_response({"user": user.to_json()})


@routes.patch("/api/me")
async def update_me(request: web.Request) -> web.Response:
    user = await current_user(request)
    body = await v.read_json(request)
    display_name = _display_name(body, required=False)
    bio = v.text(body, "bio", max_len=280, required=False)
    # Whether an audience may watch the person's debates (both debaters must allow it).
    allow_audience = v.boolean(body, "allow_audience") if "allow_audience" in body else None
    if display_name is None and bio is None and allow_audience is None:
        raise InvalidField("display_name", "or bio or allow_audience is required")
    updated = await request.app[DB].update_profile(user.id, display_name, bio, allow_audience)
    if updated is None:
        raise Unauthorized("Your session is not valid. Please log in again.")
    request.app[USERS].put(updated.id, updated, time.monotonic() + USER_TTL)
    return web.json_response({"user": updated.to_json()})
