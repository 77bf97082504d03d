"""Opening a discussion room for a match that both people accepted: the LiveKit room with the
moderator dispatched into it, the discussion row in Postgres, and one token per person.

LiveKit creates no room on join (`room.auto_create: false`), so the room exists before any
token for it does, and once it is closed (the moderator deletes it at the end) a token still
within its lifetime joins nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from livekit import api

from lobby.contract import Debater, Job, room_timeouts, side_or_none
from lobby.db import Topic, discussion_id
from lobby.formats import Format
from lobby.model import Match
from lobby.protocol import room_view
from lobby.settings import Settings

# The two people, the moderator agent and up to three human moderators (a human moderator
# joins a live discussion with a token the API mints, docs/SECURITY.md).
MAX_PARTICIPANTS = 6
# A room token lives at most 10 minutes: LiveKit cannot revoke one, so a short life bounds
# how long a removed person can come back with it (docs/SECURITY.md).
MAX_TOKEN_TTL = 600


def moderator_job(match: Match, discussion_id: str, topic: Topic) -> Job:
    """The moderator's job: the match it runs, as lobby/contract.py writes it."""
    return Job(
        "moderator",
        match_id=match.id,
        discussion_id=discussion_id,
        room=match.room,
        topic=match.topic,
        topic_title=topic.title,
        motion=topic.motion,
        format=match.format,
        debaters=tuple(Debater(s.user, s.ticket.name, side_or_none(s.side)) for s in match.seats),
    )


def room_token(settings: Settings, match: Match, user: str, name: str) -> str:
    return debater_token(settings, match.room, user, name)


def debater_token(settings: Settings, room: str, user: str, name: str) -> str:
    """A debater's token for one discussion room: camera and microphone, data both ways."""
    grants = api.VideoGrants(
        room_join=True,
        room=room,
        can_publish=True,
        can_subscribe=True,
        can_publish_data=True,
        can_publish_sources=["camera", "microphone"],
    )
    ttl = min(settings.room_token_ttl, MAX_TOKEN_TTL)
    return (
        api.AccessToken(settings.livekit_api_key, settings.livekit_api_secret)
        .with_identity(user)
        .with_name(name)
        .with_grants(grants)
        .with_ttl(timedelta(seconds=ttl))
        .to_jwt()
    )


def room_grant(settings: Settings, match: Match, user: str) -> dict[str, str] | None:
    """The room of a started match, with a fresh token for this person: the only way a room
    token reaches them (the `lobby.status` reply). Only while the match is live (its room was
    opened) and the person holds a seat in it; the caller has checked that the match is still
    theirs (not given up)."""
    seat = match.seat_of(user)
    if match.state != "live" or seat is None:
        return None
    token = room_token(settings, match, user, seat.ticket.name)
    return room_view(match.room, settings.livekit_public_url, token)


async def open_room(
    lkapi: api.LiveKitAPI,
    record: Callable[[Match], Awaitable[object]],
    settings: Settings,
    match: Match,
    topic: Topic,
    fmt: Format,
    *,
    public: bool = False,
) -> None:
    """Create everything the match needs. Idempotent, so a start interrupted by a crash can
    simply be run again. Tokens are minted later, one per `lobby.status` (`room_grant`).
    `record` writes the discussion's row (or keeps it for later while Postgres is away). A
    public room makes room for the audience: hidden spectators count toward LiveKit's limit."""
    metadata = moderator_job(match, str(discussion_id(match.id)), topic).to_json()
    empty, departure = room_timeouts(fmt)
    room = api.CreateRoomRequest(
        name=match.room,
        empty_timeout=empty,
        departure_timeout=departure,
        max_participants=MAX_PARTICIPANTS + (settings.audience_limit if public else 0),
        agents=[api.RoomAgentDispatch(agent_name=settings.agent_name, metadata=metadata)],
    )
    # The discussion id derives from the match id, so the row and the room need not wait for
    # each other.
    await asyncio.gather(record(match), lkapi.room.create_room(room))


async def room_exists(lkapi: api.LiveKitAPI, room: str) -> bool:
    found = await lkapi.room.list_rooms(api.ListRoomsRequest(names=[room]))
    return any(r.name == room for r in found.rooms)


async def is_in_room(lkapi: api.LiveKitAPI, room: str, identity: str) -> bool:
    found = await lkapi.room.list_participants(api.ListParticipantsRequest(room=room))
    return any(p.identity == identity for p in found.participants)
