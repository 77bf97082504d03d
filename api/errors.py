"""API errors. Each knows its HTTP status and the snake_case code clients switch on; the
error middleware (api.app) turns any of them into `{"error": {"code", "message"}}`.

    ApiError                    500 internal
    ├── BadRequest              400 bad_request
    │   ├── InvalidJson         400 invalid_json
    │   └── InvalidField        400 invalid_field       (names the field)
    │       ├── WeakPassword    400 weak_password       (the estimator's advice in the message)
    │       └── InvalidName     400 invalid_name        (a display name the name rule refuses)
    │   └── TermsRequired       400 terms_required      (adult and accepts_terms must be true)
    ├── Unauthorized            401 unauthorized
    │   ├── InvalidCredentials  401 invalid_credentials
    │   └── InvalidSignature    401 invalid_signature   (LiveKit webhooks)
    ├── Forbidden               403 forbidden
    │   ├── NotAParticipant     403 not_a_participant
    │   ├── TermsPending        403 terms_required      (an older account confirms at login)
    │   ├── Banned              403 banned              (`until`, or `permanent`, in the body;
    │   │                                               also registering with the address of
    │   │                                               an account deleted while banned)
    │   └── HeldForReview       403 held_for_review     (no lobby token until a decision)
    ├── NotFound                404 not_found
    ├── Conflict                409 conflict
    │   ├── EmailTaken          409 email_taken
    │   ├── AlreadyRated        409 already_rated
    │   ├── AlreadyReported     409 already_reported
    │   ├── AlreadyVoted        409 already_voted
    │   └── VotingClosed        409 voting_closed       (not open yet, or over)
    ├── PayloadTooLarge         413 payload_too_large
    ├── UnsupportedMediaType    415 unsupported_media_type
    ├── TooManyAttempts         429 too_many_attempts   (sets Retry-After)
    │   └── Flooding            429 flooding            (and retry_after in the body)
    ├── NotReady                503 not_ready           (`down` names unreachable servers)
    └── Unavailable             503 unavailable         (sets Retry-After; retry_after in body)

A refusal of the Postgres gateway (`lobby.db.errors`) is answered as the ApiError
`from_gateway` gives it.

Failures of Redis, Postgres or LiveKit themselves (refused, dropped, or not answering in time)
are not ApiErrors: `is_outage` tells them apart from bugs, and the middleware answers them as
Unavailable rather than 500.
"""

from __future__ import annotations

from typing import ClassVar

import aiohttp
import asyncpg
import sqlalchemy.exc as sa_exc
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from lobby.db import errors as refused
from lobby.db.safety import ban_json


class ApiError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal"
    default_message: ClassVar[str] = "Something went wrong on our side. Please try again."

    def __init__(self, message: str = "") -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    def headers(self) -> dict[str, str]:
        return {}

    def details(self) -> dict[str, object]:
        """What the body says beside the code and the message."""
        return {}

    def body(self) -> dict[str, object]:
        return {"error": {"code": self.code, "message": self.message, **self.details()}}


class BadRequest(ApiError):
    status = 400
    code = "bad_request"
    default_message = "The request is not valid."


class InvalidJson(BadRequest):
    code = "invalid_json"
    default_message = "The body must be a JSON object."


class InvalidField(BadRequest):
    code = "invalid_field"

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")

    def details(self) -> dict[str, object]:
        return {"field": self.field}


class WeakPassword(InvalidField):
    code = "weak_password"


class InvalidName(InvalidField):
    code = "invalid_name"


class TermsRequired(BadRequest):
    code = "terms_required"
    default_message = (
        "DISCO is for adults who accept its rules: adult and accepts_terms must both be true."
    )


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"
    default_message = "Log in to do that."

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="disco"'}


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    default_message = "The email or password is wrong."


class InvalidSignature(Unauthorized):
    code = "invalid_signature"
    default_message = "The webhook signature is missing or wrong."

    def headers(self) -> dict[str, str]:
        return {}


class Forbidden(ApiError):
    status = 403
    code = "forbidden"
    default_message = "You are not allowed to do that."


class NotAParticipant(Forbidden):
    code = "not_a_participant"
    default_message = "You can only do that for a discussion you took part in."


class TermsPending(Forbidden):
    code = "terms_required"
    default_message = (
        "DISCO is for adults who accept its rules. Confirm both to log in: send adult and "
        "accepts_terms as true with your email and password."
    )


class Banned(Forbidden):
    code = "banned"

    def __init__(self, until: str | None, permanent: bool) -> None:
        self.until, self.permanent = until, permanent
        when = "for good" if permanent else f"until {until}"
        super().__init__(f"Your account is banned {when}.")

    def details(self) -> dict[str, object]:
        return {"until": self.until, "permanent": self.permanent}


class HeldForReview(Forbidden):
    code = "held_for_review"
    default_message = (
        "Your account is held out of matching while a moderator reviews reports about it."
    )


class NotFound(ApiError):
    status = 404
    code = "not_found"
    default_message = "That could not be found."


class Conflict(ApiError):
    status = 409
    code = "conflict"
    default_message = "That conflicts with what is already there."


class EmailTaken(Conflict):
    code = "email_taken"
    default_message = "An account with this email already exists."


class AlreadyRated(Conflict):
    code = "already_rated"
    default_message = "You have already rated this discussion."


class AlreadyReported(Conflict):
    code = "already_reported"
    default_message = "You have already reported this discussion."


class AlreadyVoted(Conflict):
    code = "already_voted"
    default_message = "You have already voted on this debate."


class VotingClosed(Conflict):
    code = "voting_closed"
    default_message = (
        "Voting is not open: it opens with the last phase and closes two minutes after the end."
    )


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"
    default_message = "The request body is too large."


class UnsupportedMediaType(ApiError):
    status = 415
    code = "unsupported_media_type"
    default_message = "The body must be JSON, sent as Content-Type: application/json."


class _RetryLater(ApiError):
    """An answer that says, in its Retry-After header, how many seconds to wait (at least 1)."""

    def __init__(self, retry_after: int, message: str = "") -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(message)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class TooManyAttempts(_RetryLater):
    status = 429
    code = "too_many_attempts"
    default_message = "Too many failed attempts. Please wait before trying again."


class Flooding(TooManyAttempts):
    code = "flooding"
    default_message = "You flooded the lobby; no lobby token for a while."

    def details(self) -> dict[str, object]:
        return {"retry_after": self.retry_after}


class NotReady(ApiError):
    status = 503
    code = "not_ready"
    default_message = "DISCO is not ready."

    def __init__(self, message: str = "", down: tuple[str, ...] = ()) -> None:
        self.down = down
        super().__init__(message)

    def details(self) -> dict[str, object]:
        return {"down": list(self.down)} if self.down else {}


class Unavailable(_RetryLater):
    status = 503
    code = "unavailable"
    default_message = "DISCO cannot reach one of its servers right now. Please try again soon."

    def details(self) -> dict[str, object]:
        return {"retry_after": self.retry_after}


# redis-py raises these when Redis refuses, drops or does not answer within the socket
# timeouts (BusyLoadingError, while a restarted Redis reads its append-only file, is one).
_REDIS = (RedisConnectionError, RedisTimeoutError)
# SQLAlchemy wraps the driver's connection failures in these; its TimeoutError is the pool's
# "no connection free in time".
_DATABASE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)
# asyncpg's own failures can surface unwrapped: a query past `command_timeout` is a plain
# TimeoutError, a refused or reset connection an OSError, a server shutting down one of these.
_ASYNCPG = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InterfaceError,
)


def is_outage(error: BaseException) -> bool:
    """True when `error` says a server DISCO depends on is away, not that the code is wrong."""
    if isinstance(error, _REDIS + _DATABASE + _ASYNCPG):
        return True
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    # LiveKit's server API over aiohttp, and any socket: refused, reset or timed out.
    return isinstance(error, (aiohttp.ClientConnectionError, ConnectionError, TimeoutError))


_GATEWAY: dict[type[refused.GatewayError], ApiError] = {
    refused.EmailTaken: EmailTaken(),
    refused.AlreadyRated: AlreadyRated(),
    refused.AlreadyReported: AlreadyReported(),
    refused.NoSuchDiscussion: NotFound("There is no such discussion."),
    refused.NoSuchUser: NotFound("There is no such user."),
    refused.NotAParticipant: NotAParticipant(),
    refused.NotYourPartner: InvalidField("user_id", "is not your partner in this discussion"),
}


def from_gateway(error: refused.GatewayError) -> ApiError:
    """The HTTP answer to what the database refused."""
    if isinstance(error, refused.EmailBarred):
        # Registering again with the address of an account deleted while banned: the ban's.
        ban = ban_json(error.until) or {}
        return Banned(ban.get("until"), bool(ban.get("permanent")))
    return _GATEWAY.get(type(error), ApiError())
