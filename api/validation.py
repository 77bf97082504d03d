"""Reading request bodies: the size limit, JSON that must be an object, and typed fields whose
errors name the field. Validation finishes before any handler changes state."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Collection, Mapping
from typing import Any

from aiohttp import web

from api.errors import InvalidField, InvalidJson, NotFound, PayloadTooLarge

# JSON bodies of this API are small; LiveKit webhooks get the app-wide limit (api.app).
MAX_JSON_BODY = 16 * 1024

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


async def read_json(request: web.Request, limit: int = MAX_JSON_BODY) -> dict[str, Any]:
    """The body as a JSON object; 413 over `limit`, 400 when it is not a JSON object."""
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
    if not isinstance(data, dict):
        raise InvalidJson()
    return data


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
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidField(name, f"must be a whole number from {low} to {high}")
    return int(raw)
