"""Audio that does not come as a microphone is never heard in a discussion room.

LiveKit checks a published track only against the source its client *declares*: audio
declared as `CAMERA` passes the `canPublishSources` check of anyone who may show a camera,
so taking the microphone right away when the floor moves would not silence it. No DISCO
client publishes audio under any other source than `MICROPHONE`, so such a track is a
modified client trying to talk out of turn. The moderator mutes it on the server at once
(the server then stops forwarding it to anyone), whoever publishes it and whatever the floor
says; a second offence by the same identity (another such track, or unmuting a muted one,
which the client can do on its own) removes the participant from the room. Offences are
remembered for the room's life, so coming back with the token and trying again is a repeat.
"""

from __future__ import annotations

import asyncio
import logging

from livekit import rtc

from agent.floor import Floor

logger = logging.getLogger("disco.moderator.audio")

_AUDIO = rtc.TrackKind.KIND_AUDIO
_MIC = rtc.TrackSource.SOURCE_MICROPHONE
_CALL = 10.0  # the longest a LiveKit call may take before it counts as failed


def smuggled(pub: rtc.TrackPublication) -> bool:
    """Audio published under a source other than the microphone."""
    return pub.kind == _AUDIO and pub.source != _MIC


class AudioGuard:
    def __init__(self, floor: Floor, room: str) -> None:
        self._floor = floor
        self._room = room
        self._offences: dict[str, set[str]] = {}  # identity -> sids of its smuggled tracks

    async def published(self, identity: str, pub: rtc.TrackPublication) -> None:
        """A track appeared (published, or found already there): mute it if it is smuggled
        audio seen for the first time."""
        if not smuggled(pub) or pub.sid in self._offences.get(identity, ()):
            return
        await self._offend(identity, pub)

    async def unmuted(self, identity: str, pub: rtc.TrackPublication) -> None:
        """Unmuting smuggled audio undoes the moderator's mute: always an offence."""
        if smuggled(pub):
            await self._offend(identity, pub)

    async def scan(self, participants: list[rtc.RemoteParticipant]) -> None:
        """Check what is already published (the moderator just joined, or rejoined)."""
        await asyncio.gather(
            *(
                self.published(p.identity, pub)
                for p in participants
                for pub in list(p.track_publications.values())
            )
        )

    async def _offend(self, identity: str, pub: rtc.TrackPublication) -> None:
        seen = self._offences.setdefault(identity, set())
        repeat = bool(seen)
        seen.add(pub.sid)
        told = {"room": self._room, "identity": identity, "source": pub.source}
        # Muted first in any case: it stops the sound at once, and a removal can fail.
        try:
            await asyncio.wait_for(self._floor.mute(identity, pub.sid), _CALL)
            logger.warning("audio not from a microphone muted", extra=told)
        except Exception:
            logger.exception("audio not from a microphone not muted", extra=told)
        if repeat:
            await self._remove(identity, told)

    async def _remove(self, identity: str, told: dict[str, object]) -> None:
        try:
            await asyncio.wait_for(self._floor.remove(identity), _CALL)
            logger.warning("participant removed for audio not from a microphone", extra=told)
        except Exception:
            logger.exception("participant not removed", extra=told)
