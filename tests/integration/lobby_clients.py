"""Moved to `tests.support.lobby_clients`, which the benchmarks share; kept so that a test written
against the old path still imports. New code imports from `tests.support.lobby_clients`."""

from tests.support.lobby_clients import *  # noqa: F403
