"""DISCO's Redis as scripts/stack.py runs it: what it acknowledged survives a crash and a
restart, and the fault controls other tests use (kill, start, pause, resume) do what they say.

Each test here runs a Redis of its own: crashing the session's would fail other tests."""

from __future__ import annotations

import socket
import time

import pytest
import redis

from scripts.redis_server import RedisServer
from scripts.stack import Stack


def test_a_crashed_redis_comes_back_with_its_data(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url)
    client.set("ticket", "queued")
    client.hset("tickets", mapping={"a": "1", "b": "2"})
    client.close()
    time.sleep(1.5)  # past the once-a-second flush, as the persistence promises
    pid, port = redis_server.pid, redis_server.port
    redis_server.kill()
    assert not redis_server.running
    redis_server.start()
    assert (redis_server.port, redis_server.running) == (port, True)
    assert redis_server.pid != pid
    client = redis.Redis.from_url(redis_server.url)
    try:
        assert client.get("ticket") == b"queued"
        assert client.hgetall("tickets") == {b"a": b"1", b"b": b"2"}
    finally:
        client.close()


def test_a_paused_redis_answers_nothing_until_resumed(redis_server: RedisServer) -> None:
    with socket.create_connection(("127.0.0.1", redis_server.port), 2) as conn:
        redis_server.pause()
        conn.sendall(b"SET during-pause yes\r\n")
        conn.settimeout(1)
        with pytest.raises(TimeoutError):
            conn.recv(64)
        redis_server.resume()
        conn.settimeout(10)
        assert conn.recv(64) == b"+OK\r\n"  # the command that waited is carried out
    client = redis.Redis.from_url(redis_server.url)
    try:
        assert client.get("during-pause") == b"yes"
    finally:
        client.close()


def test_a_paused_redis_still_stops(redis_server: RedisServer) -> None:
    redis_server.pause()
    redis_server.stop(grace=10)
    assert not redis_server.running


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
