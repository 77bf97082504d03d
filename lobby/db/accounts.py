"""Accounts: creating them, signing in, profiles, names, the moderator role."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from lobby.db.base import Gateway, as_uuid
from lobby.db.errors import EmailBarred, EmailTaken
from lobby.db.records import Credentials, User
from lobby.db.schema import barred_emails, users

_USER_COLUMNS = (
    users.c.id,
    users.c.email,
    users.c.display_name,
    users.c.bio,
    users.c.role,
    users.c.allow_audience,
)


def _user(row: Sequence[Any]) -> User:
    return User(
        id=row[0],
        email=row[1],
        display_name=row[2],
        bio=row[3],
        role=row[4],
        allow_audience=row[5],
    )


def email_digest(email: str) -> str:
    """What is kept of a barred address (schema.barred_emails): its SHA-256, hex. The API
    hands addresses over normalised (trimmed, lower-cased), so one address has one digest."""
    return hashlib.sha256(email.encode()).hexdigest()


class Accounts(Gateway):
    async def create_user(self, email: str, password_hash: str, display_name: str) -> User:
        values = {
            "id": uuid.uuid4(),
            "email": email,
            "password_hash": password_hash,
            "display_name": display_name,
            # The caller has checked that the person confirmed being an adult and accepted the
            # rules; the time of that consent is recorded with the account.
            "terms_accepted_at": sa.func.now(),
        }
        barred = sa.select(barred_emails.c.until).where(
            barred_emails.c.email_digest == email_digest(email),
            barred_emails.c.until > sa.func.now(),
        )
        try:
            async with self.engine.begin() as conn:
                until = await conn.scalar(barred)
                if until is not None:
                    raise EmailBarred(until)
                row = (
                    await conn.execute(users.insert().values(values).returning(*_USER_COLUMNS))
                ).one()
        except IntegrityError:
            raise EmailTaken() from None
        return _user(row)

    async def credentials(self, email: str) -> Credentials | None:
        query = sa.select(*_USER_COLUMNS, users.c.password_hash).where(users.c.email == email)
        row = await self.first_row(query)
        if row is None:
            return None
        return Credentials(user=_user(row), password_hash=row.password_hash)

    async def user(self, user_id: uuid.UUID) -> User | None:
        async with self.reads.connect() as conn:
            row = (
                await conn.execute(sa.select(*_USER_COLUMNS).where(users.c.id == user_id))
            ).first()
        return None if row is None else _user(row)

    async def update_profile(
        self,
        user_id: uuid.UUID,
        display_name: str | None,
        bio: str | None,
        allow_audience: bool | None = None,
    ) -> User | None:
        changes = {"display_name": display_name, "bio": bio, "allow_audience": allow_audience}
        values = {k: v for k, v in changes.items() if v is not None}
        if not values:
            return await self.user(user_id)
        query = users.update().where(users.c.id == user_id).values(values)
        async with self.engine.begin() as conn:
            row = (await conn.execute(query.returning(*_USER_COLUMNS))).first()
        return None if row is None else _user(row)

    async def display_names(self, user_ids: Collection[str]) -> dict[str, str]:
        """The display names of these accounts, keyed by the ids as given; ids of no account
        (or no id at all) are left out."""
        wanted = {u: parsed for u in user_ids if (parsed := as_uuid(u)) is not None}
        if not wanted:
            return {}
        query = sa.select(users.c.id, users.c.display_name).where(
            users.c.id.in_(set(wanted.values()))
        )
        async with self.reads.connect() as conn:
            names = {r.id: str(r.display_name) for r in await conn.execute(query)}
        return {u: names[i] for u, i in wanted.items() if i in names}
