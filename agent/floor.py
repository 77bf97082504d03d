"""The moderator's LiveKit server calls: who may publish a microphone, muting, removing,
events, closing.

`update_participant` replaces the whole permission set, so every update starts
from the participant's current permissions and changes only the publishing sources. Revoking
MICROPHONE unpublishes the track on the server; the client republishes when it is granted
again. Cameras stay on throughout: only
the floor, the microphone, is moderated.
"""

from __future__ import annotations

import logging

from livekit import api
from livekit.protocol.models import ParticipantPermission, TrackSource
from livekit.rtc._proto.participant_pb2 import ParticipantPermission as RtcPermission

logger = logging.getLogger("disco.moderator.floor")

_WITH_MIC = [TrackSource.CAMERA, TrackSource.MICROPHONE]
_WITHOUT_MIC = [TrackSource.CAMERA]


def permission(current: RtcPermission | None, *, mic: bool) -> ParticipantPermission:
    """The whole permission set for a debater, with or without the microphone, keeping the
    rest of what they have now (the SDK's message shares the server's field numbers)."""
    p = ParticipantPermission()
    if current is not None:
        p.MergeFromString(current.SerializeToString())
    p.can_subscribe = True
    p.can_publish = True
    p.can_publish_data = True
    del p.can_publish_sources[:]
    p.can_publish_sources.extend(_WITH_MIC if mic else _WITHOUT_MIC)
    return p


class Floor:
    def __init__(self, lkapi: api.LiveKitAPI, room: str) -> None:
        self._api = lkapi
        self._room = room
        self._granted: dict[str, bool] = {}  # what was last sent, per identity

    def forget(self, identity: str) -> None:
        """A participant rejoined with their token's permissions; send ours again."""
        self._granted.pop(identity, None)

    async def grant(self, identity: str, *, mic: bool, current: RtcPermission | None) -> None:
        if self._granted.get(identity) == mic:
            return
        await self._api.room.update_participant(
            api.UpdateParticipantRequest(
                room=self._room, identity=identity, permission=permission(current, mic=mic)
            )
        )
        self._granted[identity] = mic

    async def mute(self, identity: str, track_sid: str) -> None:
        await self._api.room.mute_published_track(
            api.MuteRoomTrackRequest(
                room=self._room, identity=identity, track_sid=track_sid, muted=True
            )
        )

    async def remove(self, identity: str) -> None:
        """Remove a participant from the room (they may still hold a token to come back)."""
        try:
            await self._api.room.remove_participant(
                api.RoomParticipantIdentity(room=self._room, identity=identity)
            )
        except api.TwirpError as e:
            if e.code != api.TwirpErrorCode.NOT_FOUND:
                raise

    async def send(self, identity: str, data: bytes, topic: str) -> None:
        """A reliable data packet to one person, through the server: it is handed over even
        when the agent's own data channel is congested or about to close with the room."""
        await self._api.room.send_data(
            api.SendDataRequest(
                room=self._room,
                data=data,
                kind=api.DataPacket.Kind.RELIABLE,
                destination_identities=[identity],
                topic=topic,
            )
        )

    async def close_room(self) -> None:
        try:
            await self._api.room.delete_room(api.DeleteRoomRequest(room=self._room))
        except api.TwirpError as e:
            if e.code != api.TwirpErrorCode.NOT_FOUND:
                raise
