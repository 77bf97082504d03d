"""Spreading the lobby shards over the workers (agent/lobby_placement.py): the load a worker
reports, and this process's count of the shards it holds."""

from __future__ import annotations

import pytest

from agent.lobby_placement import JOB_CAPACITY, RESERVED, SHARD_LOAD, LobbyLoad, worker_load


def test_a_lobby_shard_weighs_more_than_many_moderated_rooms() -> None:
    assert worker_load(0, 0) == 0.0
    assert worker_load(1, 1) > worker_load(0, 10)
    # A worker holding fewer shards has more room left, whatever moderators it runs.
    assert worker_load(1, 1) < worker_load(2, 2)
    assert worker_load(1, 1) == pytest.approx(SHARD_LOAD + 1 / JOB_CAPACITY)


def test_a_worker_with_every_shard_still_takes_moderated_rooms() -> None:
    assert worker_load(4, 4) < 0.5
    assert worker_load(4, JOB_CAPACITY) == 1.0, "full at capacity: LiveKit gives it no job"
    assert worker_load(20, 0) == 1.0, "never more than full"


def test_shards_are_counted_from_acceptance_until_their_job_ends() -> None:
    load = LobbyLoad()
    load.reserve("job-a", now=100.0)
    load.reserve("job-b", now=100.0)
    assert load.count(100.0) == 2
    load.started("job-a")
    # Running, it counts once (no longer as reserved), and stays counted past RESERVED.
    assert load.count(100.0 + RESERVED + 1) == 1
    load.ended("job-a")
    # job-b never started: its reservation lapsed; job-a ended.
    assert load.count(100.0 + RESERVED + 1) == 0


def test_a_reservation_lapses_when_its_job_never_starts() -> None:
    load = LobbyLoad()
    load.reserve("job-a", now=0.0)
    assert load.count(RESERVED - 0.1) == 1
    assert load.count(RESERVED) == 0
