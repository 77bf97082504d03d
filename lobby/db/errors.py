"""What the Postgres gateway refuses, in its own words. The API answers each with an HTTP
error (api.errors.from_gateway); the agents never meet them (their queries cannot conflict)."""

from __future__ import annotations

import datetime as dt


class GatewayError(Exception):
    """A request the stored data refuses: a duplicate, or a row that is not there."""


class EmailTaken(GatewayError):
    pass


class EmailBarred(GatewayError):
    """The address belonged to an account deleted while banned, and that ban still runs."""

    def __init__(self, until: dt.datetime) -> None:
        super().__init__(until.isoformat())
        self.until = until


class AlreadyRated(GatewayError):
    pass


class AlreadyReported(GatewayError):
    pass


class NoSuchDiscussion(GatewayError):
    pass


class NoSuchUser(GatewayError):
    pass


class NotAParticipant(GatewayError):
    """The caller took no part in the discussion (or was alone in it)."""


class NotYourPartner(GatewayError):
    """A report named someone other than the reporter's partner."""
