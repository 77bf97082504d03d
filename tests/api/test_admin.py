"""The operator's command line (`python -m api.admin`): roles, bans with the API's own effects,
the audit log, and finding a running `make dev` stack's settings with no set-up."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from api import admin
from lobby.contract import DEV_SETTINGS_FILE
from lobby.db.schema import moderation_actions, users
from lobby.settings import ConfigError, Settings
from scripts import dev
from tests.api.helpers import PASSWORD, error_of, register

Client = TestClient[Any, Any]


def _args(command: str, email: str, **extra: Any) -> argparse.Namespace:
    return argparse.Namespace(command=command, email=email, reason="from the test", **extra)


async def test_grant_and_revoke_moderator_are_audited(
    client: Client, engine: AsyncEngine, app_settings: Settings
) -> None:
    a = await register(client, "Ops")
    assert await admin.run(app_settings, _args("grant-moderator", a.email)) == (
        f"{a.email} is now a moderator"
    )
    assert (await client.get("/api/moderator/audit", headers=a.auth)).status == 200
    await admin.run(app_settings, _args("revoke-moderator", a.email.upper()))
    assert (await client.get("/api/moderator/audit", headers=a.auth)).status == 403
    async with engine.connect() as conn:
        role = await conn.scalar(sa.select(users.c.role).where(users.c.id == a.id))
        done = (
            await conn.execute(
                sa.select(moderation_actions.c.action, moderation_actions.c.actor_kind)
                .where(moderation_actions.c.target_id == a.id)
                .order_by(moderation_actions.c.at)
            )
        ).all()
    assert role == "user"
    assert [tuple(x) for x in done] == [
        ("grant_moderator", "operator"),
        ("revoke_moderator", "operator"),
    ]


async def test_a_ban_from_the_command_line_acts_as_one_from_the_api(
    client: Client, app_settings: Settings
) -> None:
    a = await register(client, "Bad")
    said = await admin.run(app_settings, _args("ban", a.email, days=2.5))
    assert said.startswith(f"{a.email} is banned until ")
    r = await client.post("/api/lobby/token", headers=a.auth)  # the session stops at once
    error = await error_of(r)
    assert r.status == 403 and error["code"] == "banned" and error["until"]
    login = await client.post("/api/login", json={"email": a.email, "password": PASSWORD})
    assert login.status == 403
    await admin.run(app_settings, _args("unban", a.email))
    assert (await client.post("/api/lobby/token", headers=a.auth)).status == 200
    login = await client.post("/api/login", json={"email": a.email, "password": PASSWORD})
    assert login.status == 200


async def test_unknown_accounts_and_bad_days_change_nothing(app_settings: Settings) -> None:
    with pytest.raises(ValueError, match="no account"):
        await admin.run(app_settings, _args("ban", "nobody-here@example.org", days=1.0))
    for days in (0.0, -1.0, 1e9):
        with pytest.raises(ValueError, match="--days"):
            await admin.run(app_settings, _args("ban", "nobody-here@example.org", days=days))


def test_it_reads_a_running_make_dev_stack(tmp_path: Path, app_settings: Settings) -> None:
    """With no DATABASE_URL, the settings `make dev` wrote to its run folder (owner-only)."""
    env = {
        "LIVEKIT_URL": app_settings.livekit_url,
        "LIVEKIT_API_KEY": app_settings.livekit_api_key,
        "LIVEKIT_API_SECRET": app_settings.livekit_api_secret,
        "REDIS_URL": app_settings.redis_url,
        "DATABASE_URL": app_settings.database_url,
        "DISCO_JWT_SECRET": app_settings.jwt_secret,
        "DISCO_ENV": "dev",
        "DISCO_REDIS_PREFIX": "from-dev",
        "HOME": "/not/a/setting",
    }
    with pytest.raises(ConfigError, match="make dev"):
        admin.settings_from({"DISCO_RUN_DIR": str(tmp_path)})
    dev._write_env(tmp_path, env)
    path = tmp_path / DEV_SETTINGS_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert "HOME" not in json.loads(path.read_text())
    found = admin.settings_from({"DISCO_RUN_DIR": str(tmp_path)})
    expected = dataclasses.replace(app_settings, redis_prefix="from-dev")
    assert (found.database_url, found.redis_prefix) == (expected.database_url, "from-dev")
    # The environment's own values win over the file's.
    mine = admin.settings_from({"DISCO_RUN_DIR": str(tmp_path), "DISCO_REDIS_PREFIX": "mine"})
    assert mine.redis_prefix == "mine"


def test_main_says_what_is_wrong(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DISCO_RUN_DIR", str(tmp_path))
    assert admin.main(["unban", "someone@example.org"]) == 1
