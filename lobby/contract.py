"""What the API, the agents and the web client agree on outside the RPC payloads: who the
agents are in a room, the lobby's shards (their rooms and agents), how a person's identity
looks, how long rooms stay open, and the metadata a job is dispatched with. Pure. The web
client keeps its own copies of the identities in `web/src/` (docs/PROTOCOL.md); it learns its
lobby shard's room and agent from the lobby token route.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, get_args

from lobby.errors import InvalidPayload
from lobby.formats import Format, Side

# The lobby agent's participant identity in the first lobby shard (the only one by default):
# clients send their RPCs here. Shard k > 0 appends "-k" (`lobby_identity`).
LOBBY_IDENTITY = "disco-lobby"
# The moderator agent's identity in every discussion room.
MODERATOR_IDENTITY = "disco-moderator"
# The moderator's events travel on this data topic (the lobby's is `lobby.protocol.TOPIC`).
DEBATE_TOPIC = "disco.debate"
# A human moderator joins a discussion room as `mod-<random>` named MODERATOR_NAME (a token
# the API mints, recording in Redis whose identity it is: lobby/sanctions.py), never with their
# user id or name; the moderator agent checks the role in Postgres, never trusts the identity.
MODERATOR_PREFIX = "mod-"
MODERATOR_NAME = "Moderator"
# The room's text chat: LiveKit's chat components send each message as a text stream on this
# topic to everyone in the room; the moderator agent keeps a record (lobby/sanctions.py).
CHAT_TOPIC = "lk.chat"
# A person in the lobby room is `p-<random>`: opaque, never their user id.
LOBBY_IDENTITY_PREFIX = "p-"
# A spectator joins a public debate's room as `spec-<random>`, hidden and subscribe-only (a
# token the API mints); the API maps the identity to the account in Redis (lobby/identities.py)
# and counts spectators from LiveKit's webhooks, since no participant can see them.
SPECTATOR_PREFIX = "spec-"
# A spectator's token joins for at most this long (seconds); they ask for another while the
# debate runs. LiveKit keeps a connected participant's token fresh itself.
SPECTATOR_TOKEN_TTL = 600
# The moderator's participant attribute that holds how many spectators watch its room.
AUDIENCE_ATTRIBUTE = "audience"
# How often the moderator reads its room's spectator count and writes its phase (seconds).
AUDIENCE_PERIOD = 2.0

# `make dev` writes the settings of the stack it runs to this file in its run folder, for the
# operator's command line run from the same checkout (scripts/dev.py, api/admin.py).
DEV_SETTINGS_FILE = "env.json"

# The lobby room's empty and departure timeouts (seconds; the API's keeper creates it): it
# outlives quiet hours (its agent does not count as a person, so the room would otherwise close
# that long after the last person left); the keeper re-creates it anyway if it ever closes.
LOBBY_TIMEOUT = 7 * 24 * 3600
# A discussion room closes soon after both have left, or if nobody comes (seconds), but never
# while a seat in it is held: the moderator keeps an absent person's seat for the format's
# `seat_hold` (from the start, and after each departure), and LiveKit counts no agent as a
# person, so a room whose people all left closes `departure_timeout` later whatever its
# moderator does. Both timeouts outlast the hold by HOLD_MARGIN, time for the moderator to
# end the discussion itself (it then deletes the room).
EMPTY_TIMEOUT = 120
DEPARTURE_TIMEOUT = 20
HOLD_MARGIN = 30


def lobby_rooms(lobby_room: str) -> tuple[str, ...]:
    """Every lobby room a person may be in (DISCO_LOBBY_ROOM names the one there is): whoever
    must reach a person wherever they wait in the lobby goes through this."""
    return (lobby_room,)


def room_timeouts(fmt: Format) -> tuple[int, int]:
    """(empty_timeout, departure_timeout) of a discussion room in this format."""
    hold = fmt.seat_hold + HOLD_MARGIN
    return max(EMPTY_TIMEOUT, hold), max(DEPARTURE_TIMEOUT, hold)


@dataclass(frozen=True, slots=True)
class LobbyShard:
    """One lobby room and the agent that serves it. The lobby is split into `shards` rooms
    (`Settings.lobby_shards`); every shard pairs from the same queues in Redis, and each
    shard's agent answers and tells the people seated in its room. Shard 0 keeps the names a
    lobby of one shard has always had; shard k > 0 appends "-k" to both."""

    index: int
    room: str
    identity: str


def lobby_shard(base_room: str, index: int) -> LobbyShard:
    """Shard `index` of a lobby whose first room is `base_room` (`Settings.lobby_room`)."""
    if index < 0:
        raise ValueError("a lobby shard's index is never negative")
    suffix = f"-{index}" if index else ""
    return LobbyShard(index, base_room + suffix, LOBBY_IDENTITY + suffix)


def lobby_shards(base_room: str, count: int) -> tuple[LobbyShard, ...]:
    return tuple(lobby_shard(base_room, k) for k in range(count))


def lobby_identity(index: int) -> str:
    return lobby_shard("", index).identity


def is_lobby_agent(identity: str) -> bool:
    """True for the identity of any shard's lobby agent (`disco-lobby`, `disco-lobby-3`)."""
    if identity == LOBBY_IDENTITY:
        return True
    head, _, index = identity.rpartition("-")
    # Only the spelling lobby_identity gives: "-1", never "-01", "-0" or other digits.
    return head == LOBBY_IDENTITY and index.isdecimal() and index == str(int(index)) != "0"


# A lobby agent's probe: a short, hidden connection to its own lobby room, which LiveKit routes
# to wherever it holds the room now (agent/lobby_probe.py). Never a person's identity: the
# API mints those as opaque ids.
LOBBY_PROBE_PREFIX = "disco-lobby-probe-"


def is_lobby_service(identity: str) -> bool:
    """True for a connection of DISCO's own in a lobby room (any shard's lobby agent, or its
    probe), never a person's."""
    return is_lobby_agent(identity) or identity.startswith(LOBBY_PROBE_PREFIX)


Role = Literal["lobby", "moderator"]
ROLES: tuple[Role, ...] = get_args(Role)
IDENTITIES: dict[Role, str] = {"lobby": LOBBY_IDENTITY, "moderator": MODERATOR_IDENTITY}
_SIDES: tuple[Side, ...] = get_args(Side)
_TEXT = ("match_id", "discussion_id", "room", "topic", "topic_title", "motion", "format")


@dataclass(frozen=True, slots=True)
class Debater:
    identity: str
    display_name: str
    side: Side | None


@dataclass(frozen=True, slots=True)
class Job:
    """A job's metadata: `{"role": "lobby", "shard": k}` for the agent of lobby shard k (the
    API's keeper dispatches it; a missing shard is 0), or the match a moderator runs (the lobby
    agent dispatches it with the room). Written with `to_json` and read with `from_json` only."""

    role: Role
    shard: int = 0
    match_id: str = ""
    discussion_id: str = ""
    room: str = ""
    topic: str = ""
    topic_title: str = ""
    motion: str = ""
    format: str = ""
    debaters: tuple[Debater, ...] = ()

    @property
    def identity(self) -> str:
        """The identity the agent of this job joins its room with."""
        return lobby_identity(self.shard) if self.role == "lobby" else IDENTITIES[self.role]

    def to_json(self) -> str:
        if self.role == "lobby":
            return json.dumps({"role": self.role, "shard": self.shard})
        people = [
            {"identity": d.identity, "display_name": d.display_name, "side": d.side}
            for d in self.debaters
        ]
        texts = {k: getattr(self, k) for k in _TEXT}
        return json.dumps({"role": self.role, **texts, "participants": people})

    @classmethod
    def from_json(cls, metadata: str) -> Job:
        """The job, or InvalidPayload naming what is wrong with its metadata."""
        data = load_json(metadata, "job metadata")
        if not isinstance(data, dict) or data.get("role") not in ROLES:
            raise InvalidPayload("job metadata: 'role' must be lobby or moderator", field="role")
        if data["role"] == "lobby":
            return cls("lobby", shard=_shard(data))
        texts = {k: _text(data, k) for k in _TEXT}
        return cls("moderator", shard=0, debaters=_debaters(data), **texts)


def load_json(text: str, what: str) -> Any:
    """`text` parsed, or InvalidPayload saying that `what` is not JSON (nested deeper than
    Python goes counts as not JSON)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidPayload(f"{what}: not JSON") from None


def side_or_none(value: object) -> Side | None:
    """A debate side, or None for anything else (a casual talk's seats have no side)."""
    return next((s for s in _SIDES if s == value), None)


def _shard(data: dict[str, Any]) -> int:
    value = data.get("shard", 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidPayload("job metadata: 'shard' must be a whole number >= 0", field="shard")
    return value


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise InvalidPayload(f"job metadata: '{key}' must be a string", field=key)
    return value


def _debaters(data: dict[str, Any]) -> tuple[Debater, ...]:
    people = data.get("participants")
    if not isinstance(people, list) or len(people) != len(_SIDES):
        raise InvalidPayload("job metadata: 'participants' must list two people")
    debaters = []
    for p in people:
        if not isinstance(p, dict) or not isinstance(p.get("identity"), str):
            raise InvalidPayload("job metadata: every participant needs an identity")
        name = str(p.get("display_name", ""))
        debaters.append(Debater(p["identity"], name, side_or_none(p.get("side"))))
    return tuple(debaters)
