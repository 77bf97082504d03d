"""The operator's command line: `python -m api.admin grant-moderator|revoke-moderator|ban|unban
EMAIL` (`ban` takes `--days N`, fractions allowed, or bans for good; `--reason` goes to the
audit log).

It reads the same variables as the API. Run from a checkout while `make dev` runs, with none
of them set, it acts on that stack: `make dev` writes its settings to `env.json` in its run
folder (`.run/dev`, or DISCO_RUN_DIR), readable by its owner only. A ban or unban goes through
the API's own code path (api/safety.py): it takes effect everywhere as one made by a moderator.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import sys
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

from livekit import api as lk

from api.safety import Enforcer
from lobby.contract import DEV_SETTINGS_FILE
from lobby.db import Database
from lobby.db.safety import OPERATOR
from lobby.sanctions import Sanctions
from lobby.settings import ConfigError, Settings
from lobby.store import LobbyStore, open_redis

ROOT = Path(__file__).resolve().parent.parent
MAX_DAYS = 3650


def dev_env_file(env: Mapping[str, str]) -> Path:
    """Where `make dev` keeps the settings of the stack it runs."""
    return Path(env.get("DISCO_RUN_DIR") or ROOT / ".run" / "dev") / DEV_SETTINGS_FILE


def settings_from(env: Mapping[str, str]) -> Settings:
    """The API's settings: from the environment when it names a database, else from the
    running `make dev` stack's file (the environment's own values win)."""
    if env.get("DATABASE_URL"):
        return Settings.from_env(env)
    path = dev_env_file(env)
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        raise ConfigError(
            f"DATABASE_URL is not set and no running `make dev` was found ({path})"
        ) from None
    return Settings.from_env({**saved, **env})


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m api.admin", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, about in (
        ("grant-moderator", "give an account the moderator role"),
        ("revoke-moderator", "take the moderator role away"),
        ("ban", "ban an account (for good unless --days)"),
        ("unban", "lift a ban"),
    ):
        command = commands.add_parser(name, help=about)
        command.add_argument("email")
        command.add_argument("--reason", default="", help="why (kept in the audit log)")
        if name == "ban":
            command.add_argument("--days", type=float, help="days the ban lasts (fractions too)")
    return parser


def _until(days: float | None) -> dt.datetime | None:
    if days is None:
        return None
    if not 0 < days <= MAX_DAYS:
        raise ValueError(f"--days must be above 0 and at most {MAX_DAYS}")
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=days)


async def run(settings: Settings, args: argparse.Namespace) -> str:
    """Do the command; returns what to print. ValueError for an unknown account."""
    until = _until(getattr(args, "days", None))
    db = Database.connect(settings.async_database_url, settings.database_timeout, pool_size=1)
    redis = open_redis(settings.redis_url, max_connections=2, timeout=settings.redis_timeout)
    lkapi = lk.LiveKitAPI(
        settings.livekit_url, settings.livekit_api_key, settings.livekit_api_secret
    )
    try:
        user = await db.user_by_email(args.email.strip().lower())
        if user is None:
            raise ValueError(f"no account has the email {args.email}")
        prefix = settings.redis_prefix
        enforcer = Enforcer(
            db, Sanctions(redis, prefix), LobbyStore(redis, prefix), lkapi, settings
        )
        return await _do(enforcer, args, user, until)
    finally:
        await lkapi.aclose()
        await redis.aclose()
        await db.aclose()


async def _do(
    enforcer: Enforcer, args: argparse.Namespace, user: uuid.UUID, until: dt.datetime | None
) -> str:
    if args.command in ("grant-moderator", "revoke-moderator"):
        role = "moderator" if args.command == "grant-moderator" else "user"
        await enforcer.db.set_role(user, role, OPERATOR)
        return f"{args.email} is now a {role}"
    if args.command == "ban":
        await enforcer.ban(user, until, OPERATOR, args.reason)
        return f"{args.email} is banned " + ("for good" if until is None else f"until {until}")
    await enforcer.unban(user, OPERATOR, args.reason)
    return f"{args.email} is no longer banned"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = settings_from(os.environ)
        print(asyncio.run(run(settings, args)))
    except (ConfigError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
