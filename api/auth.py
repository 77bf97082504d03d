"""Passwords (argon2id, hashed off the event loop) and session JWTs (HS256 pinned; exp, iat,
iss, aud and sub required on every check); the threat model is docs/SECURITY.md."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid

import jwt
from aiohttp import web
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from api.cache import ExpiringCache
from api.errors import Unauthorized

# OWASP password storage cheat sheet: argon2id with m=19 MiB, t=2, p=1 is the minimum.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)
_ALGORITHM = "HS256"
_REQUIRED = ["exp", "iat", "iss", "aud", "sub"]
VERIFIED_TOKENS = 10_000


class Passwords:
    """argon2id hashing in the default thread executor: one hash costs tens of milliseconds of
    CPU, which would stall every other request if run on the loop."""

    def __init__(self) -> None:
        # Made once, up front: made lazily, the first unknown email would take twice as long.
        self._dummy = _HASHER.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(None, _HASHER.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """True when `password` matches `stored`. With `stored` None (no such account) a dummy
        hash is still verified, so an unknown email costs as much time as a wrong password."""
        if stored is None:
            stored = self._dummy
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, _verify, stored, password)


def _verify(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


class Sessions:
    """Issues and checks the API's bearer tokens.

    A token that verified once is remembered (by its exact text, until its own `exp`), so the
    signature and claims are not checked again on every request of a session; the expiry is
    still checked on every use."""

    def __init__(self, secret: str, issuer: str, audience: str, ttl: int) -> None:
        self._secret = secret
        self.issuer = issuer
        self.audience = audience
        self.ttl = ttl
        self._verified: ExpiringCache[str, uuid.UUID] = ExpiringCache(VERIFIED_TOKENS)

    def __repr__(self) -> str:
        return f"Sessions(issuer={self.issuer!r}, audience={self.audience!r}, ttl={self.ttl})"

    def issue(self, user_id: uuid.UUID, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        claims = {
            "sub": str(user_id),
            "iat": issued,
            "exp": issued + self.ttl,
            "iss": self.issuer,
            "aud": self.audience,
        }
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM)

    def verify(self, token: str) -> uuid.UUID:
        """The user id in a valid token; Unauthorized for anything else."""
        now = time.time()
        known = self._verified.get(token, now)
        if known is not None:
            return known
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": _REQUIRED},
            )
            user_id = uuid.UUID(str(claims["sub"]))
        except (jwt.PyJWTError, ValueError):
            raise Unauthorized("Your session is not valid. Please log in again.") from None
        self._verified.put(token, user_id, expires=float(claims["exp"]))
        return user_id


def bearer(request: web.Request) -> str:
    """The token of an `Authorization: Bearer …` header; Unauthorized when there is none."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized()
    return token.strip()
