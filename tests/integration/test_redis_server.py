"""DISCO's Redis as scripts/stack.py runs it: what it acknowledged survives a crash and a
restart, and the fault controls other tests use (kill, start, pause, resume) do what they say.

Each test here runs a Redis of its own: crashing the session's would fail other tests."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from scripts.redis_server import RedisServer
from scripts.stack import Stack


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    s = RedisServer(tmp_path / "redis")
    s.start()
    yield s
    s.stop()


def test_a_crashed_redis_comes_back_with_its_data(server: RedisServer) -> None:
    client = redis.Redis.from_url(server.url)
    client.set("ticket", "queued")
    client.hset("tickets", mapping={"a": "1", "b": "2"})
    client.close()
    time.sleep(1.5)  # past the once-a-second flush, as the persistence promises
    pid, port = server.pid, server.port
    server.kill()
    assert not server.running
    server.start()
    assert (server.port, server.running) == (port, True)
    assert server.pid != pid
    client = redis.Redis.from_url(server.url)
    try:
        assert client.get("ticket") == b"queued"
        assert client.hgetall("tickets") == {b"a": b"1", b"b": b"2"}
    finally:
        client.close()


def test_a_paused_redis_answers_nothing_until_resumed(server: RedisServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), 2) as conn:
        server.pause()
        conn.sendall(b"SET during-pause yes\r\n")
        conn.settimeout(1)
        with pytest.raises(TimeoutError):
            conn.recv(64)
        server.resume()
        conn.settimeout(10)
        assert conn.recv(64) == b"+OK\r\n"  # the command that waited is carried out
    client = redis.Redis.from_url(server.url)
    try:
        assert client.get("during-pause") == b"yes"
    finally:
        client.close()


def test_a_paused_redis_still_stops(server: RedisServer) -> None:
    server.pause()
    server.stop(grace=10)
    assert not server.running


def test_the_stack_runs_its_redis_persistent_and_tuned(stack: Stack) -> None:
    if stack.redis is None:
        pytest.skip("REDIS_URL names a Redis the stack did not start")
    client = redis.Redis.from_url(stack.redis.url, decode_responses=True)
    try:
        config = {
            **client.config_get("appendonly"),
            **client.config_get("appendfsync"),
            **client.config_get("hash-max-listpack-entries"),
            **client.config_get("zset-max-listpack-entries"),
        }
    finally:
        client.close()
    assert config == {
        "appendonly": "yes",
        "appendfsync": "everysec",
        "hash-max-listpack-entries": "0",
        "zset-max-listpack-entries": "0",
    }
