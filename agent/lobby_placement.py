"""Which worker runs a lobby shard's agent: the lobby shards are spread over the workers, so
their work does not share one process's GIL, by the load each worker reports to LiveKit.

How LiveKit places a job (livekit-server v1.13.5): the room's node asks every node for the job
and takes the node whose available workers have the most room left (the sum of 1 - load over
them; psrpc waits 200 ms after the first answer for a better one); that node then draws one
of its own workers at random, weighted by 1 - load. A worker that declines is not offered to
another node, so declining cannot steer a job. Load is what steers it.

So a lobby shard weighs `SHARD_LOAD` in the load this worker reports, against a moderated room's
1 / `JOB_CAPACITY`: the next shard goes to a node with a worker holding fewer shards, and the
moderators go to workers with fewer shards too. A worker reports its load every 2.5 s, so the
keeper dispatches one shard at a time, `SPREAD_GAP` apart (api/keeper.py): four shards
dispatched together had all started on one worker of two in three runs of five
(bench/RESULTS.md). Running shards are never moved: that would cut their people off from
their agent.
"""

from __future__ import annotations

import threading

# Jobs one worker takes before it reports itself full. The SDK's default load function measures
# CPU and refuses jobs past 0.7, which a 2-core machine reaches during a burst of joins, and a
# full worker gets no job at all; DISCO's jobs are light, so load is the share of this capacity
# in use.
JOB_CAPACITY = 200
# What one lobby shard adds to the load: a lobby shard's work (every person waiting in it) is
# far more than one moderated room's, and a worker with four shards still takes 120 rooms.
SHARD_LOAD = 0.1
# A shard accepted but not yet running (LiveKit's assignment, then the job's thread) counts for
# this long; its job then counts until it ends.
RESERVED = 15.0


def worker_load(shards: int, jobs: int) -> float:
    """The load a worker reports with `shards` lobby shards among its `jobs` running jobs."""
    return min(1.0, shards * SHARD_LOAD + jobs / JOB_CAPACITY)


class LobbyLoad:
    """The lobby shards this worker process holds: reserved when accepted, then running until
    the job ends. Jobs run as threads, so every method holds a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reserved: dict[str, float] = {}
        self._running: set[str] = set()

    def reserve(self, job_id: str, now: float) -> None:
        with self._lock:
            self._reserved[job_id] = now + RESERVED

    def started(self, job_id: str) -> None:
        with self._lock:
            self._reserved.pop(job_id, None)
            self._running.add(job_id)

    def ended(self, job_id: str) -> None:
        with self._lock:
            self._reserved.pop(job_id, None)
            self._running.discard(job_id)

    def count(self, now: float) -> int:
        with self._lock:
            for job_id in [j for j, until in self._reserved.items() if until <= now]:
                del self._reserved[job_id]
            return len(self._running) + len(self._reserved)
