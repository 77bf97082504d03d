"""The lobby's shards as pure rules: their names, the seat the API gives a person, the shard
that tells a person, a lobby job's metadata, and the setting."""

from __future__ import annotations

import collections
import uuid

import jwt
import pytest

from agent.lobby_shard import SPLIT_GRACE, job_shard, unseen
from api.tokens import LobbyTokens, lobby_seat, seat_shard
from lobby.contract import (
    LOBBY_IDENTITY,
    LOBBY_PROBE_PREFIX,
    Job,
    is_lobby_agent,
    is_lobby_service,
    lobby_identity,
    lobby_shard,
    lobby_shards,
)
from lobby.errors import InvalidPayload
from lobby.identities import Seat
from lobby.settings import MAX_LOBBY_SHARDS, ConfigError, Settings

BASE = {
    "LIVEKIT_URL": "ws://127.0.0.1:7880",
    "LIVEKIT_API_KEY": "key",
    "LIVEKIT_API_SECRET": "a-livekit-secret-that-is-long-enough-000",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "DATABASE_URL": "postgresql://disco@127.0.0.1/disco",
    "DISCO_JWT_SECRET": "a-session-secret-that-is-long-enough-0000",
    "DISCO_LOBBY_ROOM": "hall",
}
# User ids as the API makes them (uuid4), fixed so that the spread below is the same every run.
USERS = [str(uuid.UUID(int=(n * 0x9E3779B97F4A7C15) % (1 << 128), version=4)) for n in range(4000)]


def _settings(**env: str) -> Settings:
    return Settings.from_env({**BASE, **env})


def test_one_shard_keeps_the_names_a_lobby_always_had() -> None:
    (only,) = lobby_shards("hall", 1)
    assert (only.index, only.room, only.identity) == (0, "hall", LOBBY_IDENTITY)
    assert lobby_identity(0) == LOBBY_IDENTITY == "disco-lobby"


def test_every_shard_has_its_own_room_and_agent() -> None:
    shards = lobby_shards("hall", 4)
    assert [(s.room, s.identity) for s in shards] == [
        ("hall", "disco-lobby"),
        ("hall-1", "disco-lobby-1"),
        ("hall-2", "disco-lobby-2"),
        ("hall-3", "disco-lobby-3"),
    ]
    assert all(is_lobby_agent(s.identity) for s in shards)
    with pytest.raises(ValueError):
        lobby_shard("hall", -1)


@pytest.mark.parametrize(
    "identity",
    [
        *("disco-lobby-", "disco-lobby-01", "disco-lobby-0", "disco-lobby-x", "disco-lobby-1-2"),
        *("disco-moderator", "p-disco-lobby-1", "disco-lobby-+1", "", "mod-disco-lobby"),
        "disco-lobby-\u0661",  # an Arabic-Indic one: a digit, but not the spelling of one
    ],
)
def test_nothing_else_passes_for_a_lobby_agent(identity: str) -> None:
    assert not is_lobby_agent(identity)
    assert not is_lobby_service(identity)


def test_an_agents_probe_is_of_the_lobby_service_but_no_agent() -> None:
    probe = LOBBY_PROBE_PREFIX + "0a1b2c"
    assert is_lobby_service(probe) and not is_lobby_agent(probe)
    assert all(is_lobby_service(lobby_identity(k)) for k in range(4))


def test_a_person_sits_in_the_same_shard_every_time() -> None:
    for shards in (1, 2, 3, 4, 7):
        seats = [seat_shard(u, shards) for u in USERS[:200]]
        assert seats == [seat_shard(u, shards) for u in USERS[:200]]
        assert all(0 <= s < shards for s in seats)
    assert {seat_shard(u, 1) for u in USERS} == {0}


@pytest.mark.parametrize("shards", [2, 3, 4, 8])
def test_people_spread_evenly_over_the_shards(shards: int) -> None:
    counts = collections.Counter(seat_shard(u, shards) for u in USERS)
    mean = len(USERS) / shards
    assert sorted(counts) == list(range(shards))
    assert all(abs(n - mean) < 0.15 * mean for n in counts.values()), counts


def test_the_seat_names_the_room_and_the_agent() -> None:
    settings = _settings(DISCO_LOBBY_SHARDS="3")
    for user in USERS[:30]:
        seat = lobby_seat(settings, user)
        assert seat == lobby_shard("hall", seat_shard(user, 3))


def test_a_lobby_token_joins_its_shard_room_only() -> None:
    settings = _settings(DISCO_LOBBY_SHARDS="3")
    minter = LobbyTokens(settings)
    for shard in range(3):
        claims = jwt.decode(
            minter.mint("p-someone", shard=shard),
            settings.livekit_api_secret,
            algorithms=["HS256"],
        )
        assert claims["video"]["room"] == lobby_shard("hall", shard).room
        assert claims["sub"] == "p-someone" and not claims["video"].get("canPublish")


@pytest.mark.parametrize(
    ("seat", "shards", "owner"),
    [
        (Seat("p-a", 2), 3, 2),  # seated in shard 2: told by shard 2
        (Seat("p-a", 0), 3, 0),
        (Seat(None, 2), 3, 0),  # no lobby connection: shard 0 looks after the ticket
        (Seat("p-a", 3), 3, 0),  # seated in a shard no longer configured
        (Seat("p-a", 5), 1, 0),
    ],
)
def test_who_looks_after_a_person(seat: Seat, shards: int, owner: int) -> None:
    assert seat.owner(shards) == owner


def test_a_lobby_job_names_its_shard() -> None:
    job = Job.from_json(Job("lobby", shard=3).to_json())
    assert (job.role, job.shard, job.identity) == ("lobby", 3, "disco-lobby-3")
    # Metadata written before the lobby had shards is shard 0's.
    assert Job.from_json('{"role": "lobby"}') == Job("lobby")
    assert Job("lobby").identity == LOBBY_IDENTITY


@pytest.mark.parametrize("shard", ['"1"', "-1", "true", "1.5", "null", "[1]"])
def test_a_lobby_job_with_a_bad_shard_is_refused(shard: str) -> None:
    with pytest.raises(InvalidPayload) as e:
        Job.from_json(f'{{"role": "lobby", "shard": {shard}}}')
    assert e.value.details == {"field": "shard"}


def test_a_lobby_job_serves_only_its_own_shard_room() -> None:
    settings = _settings(DISCO_LOBBY_SHARDS="2")
    assert job_shard(Job("lobby", shard=1), "hall-1", settings) == lobby_shard("hall", 1)
    with pytest.raises(ConfigError):
        job_shard(Job("lobby", shard=1), "hall", settings)  # dispatched into the wrong room
    with pytest.raises(ConfigError):
        job_shard(Job("lobby", shard=2), "hall-2", settings)  # a shard this worker has not


@pytest.mark.parametrize(
    ("value", "shards"), [("", 1), ("1", 1), ("4", 4), (str(MAX_LOBBY_SHARDS), MAX_LOBBY_SHARDS)]
)
def test_the_shard_setting(value: str, shards: int) -> None:
    assert _settings(DISCO_LOBBY_SHARDS=value).lobby_shards == shards


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5", str(MAX_LOBBY_SHARDS + 1)])
def test_a_bad_shard_setting_names_the_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="DISCO_LOBBY_SHARDS"):
        _settings(DISCO_LOBBY_SHARDS=value)


def test_a_connection_listed_long_but_never_seen_is_in_another_instance_of_the_room() -> None:
    now = 1_000_000.0
    listed = {
        "id-seen": now - 60,  # in the agent's own room
        "id-apart": now - SPLIT_GRACE - 1,  # listed long, never announced: elsewhere
        "id-new": now - 3,  # LiveKit may not have announced it yet
        lobby_identity(2): now - 60,  # a lobby agent is never counted
        LOBBY_IDENTITY: now - 60,
        LOBBY_PROBE_PREFIX + "0a1b2c": now - 60,  # nor an agent's probe (hidden from it)
    }
    assert unseen(listed, {"id-seen"}, now) == ["id-apart"]
    assert unseen(listed, {"id-seen", "id-apart"}, now) == []
    assert unseen({}, set(), now) == []
