"""Opening a discussion room for a match that both people accepted: the LiveKit room with the
moderator dispatched into it, the discussion row in Postgres, and one token per person."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from livekit import api

from lobby.db import LobbyDb, Topic, discussion_id
from lobby.model import Match
from lobby.protocol import room_view
from lobby.settings import Settings

# The room closes soon after both have left, or if nobody comes (seconds).
EMPTY_TIMEOUT = 120
DEPARTURE_TIMEOUT = 20
# The two people, the moderator agent and up to three human moderators (issue 4: a moderator
# joins a live discussion with a token the API mints).
MAX_PARTICIPANTS = 6
# DESIGN.md: a room token lives at most 10 minutes.
MAX_TOKEN_TTL = 600


def moderator_metadata(match: Match, discussion_id: str, topic: Topic) -> str:
    """The moderator's job metadata; the moderator agent (issue 4) reads exactly these keys."""
    return json.dumps(
        {
            "role": "moderator",
            "match_id": match.id,
            "discussion_id": discussion_id,
            "room": match.room,
            "topic": match.topic,
            "topic_title": topic.title,
            "motion": topic.motion,
            "format": match.format,
            "participants": [
                {"identity": s.user, "display_name": s.ticket.name, "side": s.side}
                for s in match.seats
            ],
        }
    )


def room_token(settings: Settings, match: Match, user: str, name: str) -> str:
    grants = api.VideoGrants(
        room_join=True,
        room=match.room,
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
    lkapi: api.LiveKitAPI, db: LobbyDb, settings: Settings, match: Match, topic: Topic
) -> dict[str, str]:
    """Create everything the match needs; returns each person's token. Idempotent, so a start
    interrupted by a crash can simply be run again."""
    metadata = moderator_metadata(match, str(discussion_id(match.id)), topic)
    room = api.CreateRoomRequest(
        name=match.room,
        empty_timeout=EMPTY_TIMEOUT,
        departure_timeout=DEPARTURE_TIMEOUT,
        max_participants=MAX_PARTICIPANTS,
        agents=[api.RoomAgentDispatch(agent_name=settings.agent_name, metadata=metadata)],
    )
    # The discussion id derives from the match id, so the row and the room need not wait for
    # each other.
    await asyncio.gather(db.start_discussion(match), lkapi.room.create_room(room))
    return {s.user: room_token(settings, match, s.user, s.ticket.name) for s in match.seats}


async def room_exists(lkapi: api.LiveKitAPI, room: str) -> bool:
    found = await lkapi.room.list_rooms(api.ListRoomsRequest(names=[room]))
    return any(r.name == room for r in found.rooms)


async def is_in_room(lkapi: api.LiveKitAPI, room: str, identity: str) -> bool:
    found = await lkapi.room.list_participants(api.ListParticipantsRequest(room=room))
    return any(p.identity == identity for p in found.participants)
