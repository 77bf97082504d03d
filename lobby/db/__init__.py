"""DISCO's one Postgres gateway (SQLAlchemy Core on `lobby.db.schema`), used by the API and
the agents alike. Rows never leave it: callers get the frozen dataclasses of
`lobby.db.records`, plain sets and ids, or a `lobby.db.errors` refusal. Each concern is a
mixin over one engine; a process opens one `Database` and shares it."""

from __future__ import annotations

from lobby.db.accounts import Accounts
from lobby.db.audience import Audience
from lobby.db.base import discussion_id
from lobby.db.discussions import Discussions
from lobby.db.feedback import Feedback
from lobby.db.records import Topic
from lobby.db.review import Review
from lobby.db.safety import Safety

__all__ = ["Database", "Topic", "discussion_id"]


class Database(Accounts, Feedback, Discussions, Safety, Review, Audience):
    pass
