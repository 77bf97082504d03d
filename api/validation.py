"""Reading request bodies: the size limit, JSON that must be an object, and typed fields whose
errors name the field. Validation finishes before any handler changes state."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import zxcvbn  # type: ignore[import-untyped]
from aiohttp import web

from api.errors import InvalidField, InvalidJson, NotFound, PayloadTooLarge, UnsupportedMediaType

# JSON bodies of this API are small; LiveKit webhooks get the app-wide limit (api.app).
MAX_JSON_BODY = 16 * 1024

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


async def read_json(request: web.Request, limit: int = MAX_JSON_BODY) -> dict[str, Any]:
    """The body as a JSON object: 415 unless sent as JSON, 413 over `limit`, 400 when it is not
    a JSON object or holds text Postgres cannot store."""
    # A browser sends a cross-site form (text/plain, form data) without asking first; only a
    # script of this origin can send application/json, so a JSON route is no form target.
    if request.content_type != "application/json":
        raise UnsupportedMediaType()
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"The request body must be at most {limit} bytes.")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise PayloadTooLarge() from None
    if len(raw) > limit:
        raise PayloadTooLarge(f"The request body must be at most {limit} bytes.")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidJson("The body is not valid JSON.") from None
    except RecursionError:
        raise InvalidJson("The body is nested too deeply.") from None
    if not isinstance(data, dict):
        raise InvalidJson()
    _check_text(data)
    return data


def _check_text(data: object) -> None:
    """Refuse strings Postgres cannot store (NUL) or UTF-8 cannot encode (a lone surrogate
    from a `\\ud800` escape), wherever they are, before any handler sees them."""
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str) and ("\x00" in item or not _encodable(item)):
            raise InvalidJson("Text in the body must be valid Unicode without NUL characters.")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _get(body: Mapping[str, Any], name: str, required: bool) -> Any:
    if name not in body or body[name] is None:
        if required:
            raise InvalidField(name, "is required")
        return None
    return body[name]


def text(
    body: Mapping[str, Any],
    name: str,
    *,
    min_len: int = 0,
    max_len: int,
    required: bool = True,
    printable: bool = False,
) -> str | None:
    """A string field, stripped; `printable` refuses control characters and newlines."""
    value = _get(body, name, required)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidField(name, "must be a string")
    value = value.strip()
    if len(value) < min_len:
        raise InvalidField(name, f"must be at least {min_len} characters")
    if len(value) > max_len:
        raise InvalidField(name, f"must be at most {max_len} characters")
    if printable and not value.isprintable():
        raise InvalidField(name, "must contain printable characters only")
    return value


def required_text(body: Mapping[str, Any], name: str, **limits: Any) -> str:
    value = text(body, name, required=True, **limits)
    assert value is not None
    return value


def password(body: Mapping[str, Any], name: str = "password", *, min_len: int = 0) -> str:
    """Passwords are taken exactly as typed (no stripping); 1024 chars caps the hashing cost."""
    value = _get(body, name, True)
    if not isinstance(value, str):
        raise InvalidField(name, "must be a string")
    if len(value) < max(min_len, 1):
        raise InvalidField(name, f"must be at least {max(min_len, 1)} characters")
    if len(value) > 1024:
        raise InvalidField(name, "must be at most 1024 characters")
    return value


# zxcvbn scores 0 (guessed at once) to 4; 3 and up resist an online attack outright and an
# offline one on a slow hash (its own documentation's reading of the scores).
MIN_STRENGTH = 3
# zxcvbn refuses longer input, and its work grows quickly with length: a longer password is
# judged by its first 72 characters.
_STRENGTH_CHARS = 72


def password_weakness(password: str, hints: Sequence[str]) -> str | None:
    """None for a password hard enough to guess, else advice in words (zxcvbn's warning and
    suggestions). `hints` are words of the account (email, name) a guesser would try first.
    CPU-bound for tens of milliseconds: run it off the event loop."""
    result = zxcvbn.zxcvbn(password[:_STRENGTH_CHARS], user_inputs=list(hints))
    if int(result["score"]) >= MIN_STRENGTH:
        return None
    feedback = result["feedback"]
    advice = [feedback.get("warning") or "", *feedback.get("suggestions", [])]
    return " ".join(["is too easy to guess.", *(str(a) for a in advice if a)])


def email(body: Mapping[str, Any], name: str = "email") -> str:
    """Normalised: surrounding space removed, lower-cased (addresses compare case-blind here)."""
    value = required_text(body, name, min_len=3, max_len=254).lower()
    if not _EMAIL.match(value):
        raise InvalidField(name, "must be an email address like name@example.org")
    return value


def integer(body: Mapping[str, Any], name: str, *, low: int, high: int) -> int:
    value = _get(body, name, True)
    # bool is an int subclass in Python; JSON true is not a score.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidField(name, f"must be a whole number from {low} to {high}")
    if not low <= value <= high:
        raise InvalidField(name, f"must be a whole number from {low} to {high}")
    return value


def boolean(body: Mapping[str, Any], name: str) -> bool:
    value = _get(body, name, True)
    if not isinstance(value, bool):
        raise InvalidField(name, "must be true or false")
    return value


def optional_boolean(body: Mapping[str, Any], name: str) -> bool:
    """A true/false field that may be left out (false)."""
    value = _get(body, name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidField(name, "must be true or false")
    return value


def choice(body: Mapping[str, Any], name: str, allowed: Collection[str]) -> str:
    value = _get(body, name, True)
    if not isinstance(value, str) or value not in allowed:
        raise InvalidField(name, "must be one of " + ", ".join(sorted(allowed)))
    return value


def identifier(body: Mapping[str, Any], name: str, *, required: bool = True) -> uuid.UUID | None:
    """A UUID field (user and discussion ids)."""
    value = _get(body, name, required)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidField(name, "must be an id string")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidField(name, "is not a valid id") from None


def required_identifier(body: Mapping[str, Any], name: str) -> uuid.UUID:
    value = identifier(body, name)
    assert value is not None
    return value


def path_id(request: web.Request, name: str) -> uuid.UUID:
    """A UUID in the URL path; anything else names nothing that exists, hence 404."""
    try:
        return uuid.UUID(request.match_info[name])
    except ValueError:
        raise NotFound() from None


def query_integer(request: web.Request, name: str, *, default: int, low: int, high: int) -> int:
    """A whole-number query parameter, or its default when absent."""
    raw = request.query.get(name)
    if raw is None:
        return default
    # str.isdigit() is true for "²" and "٣", which int() refuses or reads as another number;
    # the length bound keeps int() away from its limit on digits.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9) or not low <= int(raw) <= high:
        raise InvalidField(name, f"must be a whole number from {low} to {high}")
    return int(raw)
