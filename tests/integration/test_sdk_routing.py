"""agent.sdk against a real LiveKit server: rooms of one process whose events are routed
still get everything that is theirs (participants, data, RPC), nothing of another room's,
and are forgotten when they disconnect; rooms not routed work as before beside them."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta
from typing import Any

from livekit import api, rtc

from agent import sdk
from lobby.settings import Settings
from tests.support.wait import eventually


def _token(settings: Settings, room: str, identity: str) -> str:
    grants = api.VideoGrants(room_join=True, room=room, can_publish_data=True)
    return (
        api.AccessToken(settings.livekit_api_key, settings.livekit_api_secret)
        .with_identity(identity)
        .with_grants(grants)
        .with_ttl(timedelta(minutes=5))
        .to_jwt()
    )


async def test_routed_rooms_get_their_own_events_and_nothing_else(
    settings: Settings, lkapi: api.LiveKitAPI
) -> None:
    sdk.quiet_native_logs()
    sdk.quiet_native_logs()  # once is enough; again is harmless
    name = f"sdk-{secrets.token_hex(4)}"
    await lkapi.room.create_room(api.CreateRoomRequest(name=name))  # no join creates a room
    routed_a, routed_b, plain = rtc.Room(), rtc.Room(), rtc.Room()
    got: dict[str, list[bytes]] = {"a": [], "b": [], "plain": []}
    for key, room in (("a", routed_a), ("b", routed_b), ("plain", plain)):
        room.on("data_received", lambda p, key=key: got[key].append(p.data))
    await routed_a.connect(settings.livekit_url, _token(settings, name, "a"))
    sdk.route(routed_a)
    await routed_b.connect(settings.livekit_url, _token(settings, name, "b"))
    sdk.route(routed_b)
    await plain.connect(settings.livekit_url, _token(settings, name, "plain"))

    async def echo(data: rtc.RpcInvocationData) -> str:
        return f"a heard {data.payload} from {data.caller_identity}"

    routed_a.local_participant.register_rpc_method("echo", echo)
    # What reaches routed room a's own event queue, by kind.
    reached_a: list[str] = []
    queue_a = routed_a._ffi_queue
    put_a = queue_a.put_nowait

    def spy(event: Any) -> None:
        reached_a.append(event.WhichOneof("message"))
        put_a(event)

    queue_a.put_nowait = spy
    try:
        # Participant events reach a routed room.
        await eventually(lambda: {"b", "plain"} <= set(routed_a.remote_participants), "peers in a")
        await eventually(lambda: {"a", "plain"} <= set(routed_b.remote_participants), "peers in b")
        # Each data packet reaches its addressee only.
        for who in ("a", "b", "plain"):
            await lkapi.room.send_data(
                api.SendDataRequest(
                    room=name,
                    data=f"for {who}".encode(),
                    kind=api.DataPacket.Kind.RELIABLE,
                    destination_identities=[who],
                )
            )
        await eventually(lambda: all(got.values()), "every data packet")
        assert got == {"a": [b"for a"], "b": [b"for b"], "plain": [b"for plain"]}
        # RPC into a routed room, from a room routed and from one that is not.
        for caller in (plain, routed_b):
            reply = await caller.local_participant.perform_rpc(
                destination_identity="a", method="echo", payload="hi"
            )
            assert reply == f"a heard hi from {caller.local_participant.identity}"
        # Answers to other rooms' requests (their RPCs' replies, a publish's completion) reach
        # those rooms' calls, and not room a's queue; a's own answers reach a's calls.
        await routed_b.local_participant.publish_data(b"from b", destination_identities=["plain"])
        await routed_a.local_participant.publish_data(b"from a", destination_identities=["plain"])
        await eventually(lambda: b"from a" in got["plain"], "a's packet")
        assert "room_event" in reached_a and "rpc_method_invocation" in reached_a
        assert not {"perform_rpc", "publish_data"} & set(reached_a), reached_a
        router = sdk._router
        assert router is not None
        keys = router._keys(routed_a)
        assert all(k in router._owner for k in keys)
        await routed_a.disconnect()
        assert not any(k in router._owner for k in keys)
        # The room left behind still hears about it.
        await eventually(lambda: "a" not in routed_b.remote_participants, "a leaving")
    finally:
        await asyncio.gather(routed_a.disconnect(), routed_b.disconnect(), plain.disconnect())
