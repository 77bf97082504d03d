"""Accounts: register, log in, read and edit one's profile."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import uuid

from aiohttp import web

from api import validation as v
from api.auth import bearer
from api.errors import (
    Banned,
    InvalidCredentials,
    InvalidField,
    InvalidName,
    TermsPending,
    TermsRequired,
    Unauthorized,
    WeakPassword,
)
from api.keys import (
    DB,
    LIMITER,
    PASSWORDS,
    REGISTER_LIMITER,
    SANCTIONS,
    SESSIONS,
    SETTINGS,
    USERS,
)
from api.ratelimit import client_address
from api.safety import enforcer
from api.watchers import turn_away
from lobby import names
from lobby.db.records import User
from lobby.db.safety import ban_json
from lobby.sanctions import Standing

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

MIN_PASSWORD = 10
MAX_NAME = 40
USER_TTL = 10.0
CACHED_USERS = 10_000


async def current_user(
    request: web.Request, *, fresh: bool = False, banned_ok: bool = False
) -> User:
    """The user named by a valid bearer token; Unauthorized otherwise (also for a token whose
    account no longer exists), Banned while the account is banned (read from Redis on every
    request, so a ban stops a session at once; `banned_ok` lets a banned person delete their
    account).

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
    if not banned_ok:
        refuse_banned(await request.app[SANCTIONS].standing(str(user_id)))
    return user


def refuse_banned(standing: Standing) -> None:
    if standing.permanent:
        raise Banned(None, True)
    if standing.banned_until is not None:
        until = dt.datetime.fromtimestamp(standing.banned_until, dt.UTC).isoformat()
        raise Banned(until, False)


def _consented(body: dict[str, object]) -> bool:
    """Whether the body confirms both: the person is an adult and accepts the rules."""
    return body.get("adult") is True and body.get("accepts_terms") is True


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
    if not _consented(body):
        raise TermsRequired()
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
    await _admissible(request, found.user.id, body)
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


async def _admissible(request: web.Request, user_id: uuid.UUID, body: dict[str, object]) -> None:
    """After the password matched: a banned account is refused (saying until when), and an
    account made before the rules existed confirms them now (403 terms_required until the
    login carries adult and accepts_terms as true)."""
    safety = request.app[DB]
    state = await safety.account(user_id)
    if state is None:
        raise InvalidCredentials()
    if state.banned(dt.datetime.now(dt.UTC)):
        ban = ban_json(state.banned_until) or {}
        raise Banned(ban.get("until"), bool(ban.get("permanent")))
    if state.terms_accepted_at is None:
        if not _consented(body):
            raise TermsPending()
        await safety.accept_terms(user_id)
        log.info("rules accepted at login", extra={"user_id": str(user_id)})


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
    if allow_audience is False:
        await turn_away(request.app, updated.id, None)
    return web.json_response({"user": updated.to_json()})


@routes.delete("/api/me")
async def delete_me(request: web.Request) -> web.Response:
    """Delete one's account (the password again, so a stolen session cannot). The person is
    dropped from the lobby and any room first; reports about them stay for the moderators."""
    user = await current_user(request, fresh=True, banned_ok=True)
    body = await v.read_json(request)
    password = v.password(body)
    found = await request.app[DB].credentials(user.email)
    stored = None if found is None else found.password_hash
    if not await request.app[PASSWORDS].verify(stored, password):
        raise InvalidCredentials("The password is wrong.")
    await enforcer(request.app).remove_person(str(user.id))
    await request.app[DB].delete_account(user.id)
    request.app[USERS].drop(user.id)
    log.info("account deleted", extra={"user_id": str(user.id)})
    return web.Response(status=204)
