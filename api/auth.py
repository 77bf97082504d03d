"""Passwords (argon2id, hashed off the event loop) and session JWTs (HS256 pinned; exp, iat,
iss, aud and sub required on every check). DESIGN.md "Security rules"."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from dataclasses import dataclass, field

import jwt
from aiohttp import web
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from api.errors import Unauthorized

# OWASP password storage cheat sheet: argon2id with m=19 MiB, t=2, p=1 is the minimum.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)
_ALGORITHM = "HS256"
_REQUIRED = ["exp", "iat", "iss", "aud", "sub"]


class Passwords:
    """argon2id hashing in the default thread executor: one hash costs tens of milliseconds of
    CPU, which would stall every other request if run on the loop."""

    def __init__(self) -> None:
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(None, _HASHER.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """True when `password` matches `stored`. With `stored` None (no such account) a dummy
        hash is still verified, so an unknown email costs as much time as a wrong password."""
        if stored is None:
            if self._dummy is None:
                self._dummy = await self.hash(secrets.token_urlsafe(16))
            stored = self._dummy
            password = password + "\x00"
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, _verify, stored, password)


def _verify(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True, slots=True)
class Sessions:
    """Issues and checks the API's bearer tokens."""

    secret: str = field(repr=False)
    issuer: str
    audience: str
    ttl: int

    def issue(self, user_id: uuid.UUID, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        claims = {
            "sub": str(user_id),
            "iat": issued,
            "exp": issued + self.ttl,
            "iss": self.issuer,
            "aud": self.audience,
        }
        return jwt.encode(claims, self.secret, algorithm=_ALGORITHM)

    def verify(self, token: str) -> uuid.UUID:
        """The user id in a valid token; Unauthorized for anything else."""
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[_ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": _REQUIRED},
            )
            return uuid.UUID(str(claims["sub"]))
        except (jwt.PyJWTError, ValueError):
            raise Unauthorized("Your session is not valid. Please log in again.") from None


def bearer(request: web.Request) -> str:
    """The token of an `Authorization: Bearer …` header; Unauthorized when there is none."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized()
    return token.strip()
