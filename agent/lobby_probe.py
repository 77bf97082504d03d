"""Where LiveKit holds a lobby room now, as seen by a new connection: the probe.

LiveKit runs a room on one node, and gives it to another when a join (or CreateRoom) finds the
node's stats in its Redis 5 s old, which a node that is only busy or paused can be; the old
node keeps its instance, with whoever was connected there, the lobby agent among them, and
the room then runs twice (docs/DEPLOY.md, "Headroom"). An agent that sees people listed in its
room whom its connection never sees (`agent/lobby_shard.unseen`) cannot tell from its own
connection which half it is in: the probe asks LiveKit's routing itself. It connects, hidden
and with no rights but to look, the way any new person would, and reports whether this agent
(its identity *and* its participant sid: after a dead node the keeper may have put another
agent under the same identity into the other half) is where the probe landed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from datetime import timedelta

from livekit import api, rtc

from agent.sdk import route
from lobby.contract import LOBBY_PROBE_PREFIX
from lobby.settings import Settings

logger = logging.getLogger("disco.lobby")

# How long the probe may take to connect; a probe that cannot tell says so (None).
PROBE_TIMEOUT = 10.0


def probe_token(settings: Settings, room: str) -> str:
    """A hidden connection to `room` that can neither publish nor subscribe: others are not
    told of it, and it only reads who is there."""
    grants = api.VideoGrants(
        room_join=True,
        room=room,
        hidden=True,
        can_publish=False,
        can_subscribe=False,
        can_publish_data=False,
    )
    return (
        api.AccessToken(settings.livekit_api_key, settings.livekit_api_secret)
        .with_identity(LOBBY_PROBE_PREFIX + secrets.token_hex(6))
        .with_grants(grants)
        .with_ttl(timedelta(minutes=1))
        .to_jwt()
    )


async def routed_here(settings: Settings, room: rtc.Room) -> bool | None:
    """Whether a new connection to this agent's room reaches this agent's instance of it;
    None when the probe could not connect."""
    me = room.local_participant
    probe = rtc.Room()
    try:
        options = rtc.RoomOptions(auto_subscribe=False)
        connect = probe.connect(settings.livekit_url, probe_token(settings, room.name), options)
        await asyncio.wait_for(connect, PROBE_TIMEOUT)
        route(probe)
        there = probe.remote_participants.get(me.identity)
        return there is not None and there.sid == me.sid
    except Exception:
        logger.warning("lobby probe failed", extra={"room": room.name}, exc_info=True)
        return None
    finally:
        with contextlib.suppress(Exception):
            await probe.disconnect()
