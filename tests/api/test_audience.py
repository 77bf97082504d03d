"""The audience: consent (`allow_audience`), the list of public debates, spectator tokens (their
grants read from the JWT), spectators counted from LiveKit's signed webhooks, and the rules of
the audience's vote."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient
from google.protobuf.json_format import MessageToJson
from livekit import api as lk
from livekit import rtc
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from lobby.audience import Audiences
from lobby.contract import SPECTATOR_PREFIX, SPECTATOR_TOKEN_TTL
from lobby.db.schema import blocks, discussions, users
from lobby.settings import Settings
from tests.api.helpers import Account, error_of, make_discussion, register
from tests.support.wait import eventually

Client = TestClient[Any, Any]


# -- helpers ---------------------------------------------------------------------------------
async def _allow(client: Client, *people: Account, allow: bool = True) -> None:
    for p in people:
        r = await client.patch("/api/me", json={"allow_audience": allow}, headers=p.auth)
        assert r.status == 200, await r.text()


async def _set(engine: AsyncEngine, discussion_id: uuid.UUID, **values: Any) -> None:
    async with engine.begin() as conn:
        query = discussions.update().where(discussions.c.id == discussion_id)
        await conn.execute(query.values(**values))


async def _public_debate(
    client: Client, engine: AsyncEngine, a: Account, b: Account
) -> tuple[uuid.UUID, str]:
    """A debate in progress that both debaters let be watched, as the lobby agent opens it."""
    await _allow(client, a, b)
    discussion_id, room = await make_discussion(engine, [a, b], fmt="quick-debate")
    await _set(engine, discussion_id, public=True)
    return discussion_id, room


async def _webhook(client: Client, settings: Settings, kind: str, room: str, identity: str) -> str:
    """A participant event signed the way LiveKit signs one; returns the event's body."""
    event = lk.WebhookEvent(
        id=f"EV_{secrets.token_hex(8)}",
        event=kind,
        room=lk.Room(name=room, sid=f"RM_{secrets.token_hex(6)}"),
        participant=lk.ParticipantInfo(identity=identity, sid=f"PA_{secrets.token_hex(6)}"),
        created_at=int(time.time()),
    )
    body = MessageToJson(event)
    await _send(client, settings, body.encode())
    return body


async def _send(client: Client, settings: Settings, body: bytes) -> None:
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    token = lk.AccessToken(settings.livekit_api_key, settings.livekit_api_secret)
    auth = token.with_sha256(digest).with_ttl(dt.timedelta(minutes=5)).to_jwt()
    headers = {"Authorization": auth, "Content-Type": "application/webhook+json"}
    r = await client.post("/livekit/webhook", data=body, headers=headers)
    assert r.status == 200, await r.text()


async def _watch(client: Client, who: Account, discussion_id: uuid.UUID) -> Any:
    return await client.post(f"/api/live/{discussion_id}/watch", headers=who.auth)


async def _spectate(
    client: Client, settings: Settings, who: Account, discussion_id: uuid.UUID
) -> str:
    """`who` gets a spectator token and LiveKit reports them in the room."""
    r = await _watch(client, who, discussion_id)
    assert r.status == 200, await r.text()
    body = await r.json()
    await _webhook(client, settings, "participant_joined", body["room"], body["identity"])
    return str(body["identity"])


async def _live(client: Client, who: Account) -> dict[str, Any]:
    r = await client.get("/api/live", headers=who.auth)
    assert r.status == 200
    return {d["discussion_id"]: d for d in (await r.json())["debates"]}


async def _vote(client: Client, who: Account, discussion_id: uuid.UUID, side: Any) -> Any:
    path = f"/api/discussions/{discussion_id}/vote"
    return await client.post(path, json={"side": side}, headers=who.auth)


# -- consent ---------------------------------------------------------------------------------
async def test_allow_audience_is_off_until_the_person_turns_it_on(client: Client) -> None:
    a = await register(client, "Ann")
    me = (await (await client.get("/api/me", headers=a.auth)).json())["user"]
    assert me["allow_audience"] is False
    bad_values: list[Any] = ["yes", 1, None, []]
    for bad in bad_values:
        r = await client.patch("/api/me", json={"allow_audience": bad}, headers=a.auth)
        assert r.status == 400
        assert (await error_of(r))["code"] == "invalid_field"
    me = (await (await client.get("/api/me", headers=a.auth)).json())["user"]
    assert me["allow_audience"] is False
    r = await client.patch("/api/me", json={"allow_audience": True}, headers=a.auth)
    assert (await r.json())["user"]["allow_audience"] is True
    assert (await r.json())["user"]["display_name"] == "Ann"


async def test_a_debate_is_listed_only_while_both_debaters_allow_it(
    client: Client, engine: AsyncEngine
) -> None:
    a, b, viewer = [await register(client, n) for n in ("Ann", "Ben", "Cy")]
    discussion_id, _ = await _public_debate(client, engine, a, b)
    listed = (await _live(client, viewer))[str(discussion_id)]
    assert listed["format"] == "quick-debate" and listed["audience"] == 0
    assert listed["topic"] == "remote-work" and listed["motion"]
    # One debater withdraws: nobody new may watch.
    await _allow(client, b, allow=False)
    assert str(discussion_id) not in await _live(client, viewer)
    assert (await _watch(client, viewer, discussion_id)).status == 404
    await _allow(client, b)
    assert str(discussion_id) in await _live(client, viewer)
    # Over: no longer listed, and no more tokens.
    await _set(engine, discussion_id, ended_at=sa.func.now(), outcome="completed")
    assert str(discussion_id) not in await _live(client, viewer)
    assert (await _watch(client, viewer, discussion_id)).status == 409


async def test_private_debates_and_casual_talks_are_never_watched(
    client: Client, engine: AsyncEngine
) -> None:
    a, b, viewer = [await register(client, n) for n in ("Ann", "Ben", "Cy")]
    await _allow(client, a, b)
    # Both allow, but the lobby did not open it to an audience (a casual talk, or a debate
    # whose debaters did not both allow it when it began).
    casual, _ = await make_discussion(engine, [a, b], fmt="casual")
    private, _ = await make_discussion(engine, [a, b], fmt="quick-debate")
    listed = await _live(client, viewer)
    for discussion_id in (casual, private):
        assert str(discussion_id) not in listed
        r = await _watch(client, viewer, discussion_id)
        assert r.status == 404 and (await error_of(r))["code"] == "not_found"
    assert (await _watch(client, viewer, uuid.uuid4())).status == 404
    r = await client.post(f"/api/live/{private}/watch")
    assert r.status == 401


# -- watching --------------------------------------------------------------------------------
async def test_a_spectator_token_only_watches_that_room_hidden(
    client: Client, engine: AsyncEngine, app_settings: Settings
) -> None:
    a, b, viewer = [await register(client, n) for n in ("Ann", "Ben", "Cy")]
    discussion_id, room = await _public_debate(client, engine, a, b)
    r = await _watch(client, viewer, discussion_id)
    assert r.status == 200
    body = await r.json()
    assert body["room"] == room and body["url"] == app_settings.livekit_public_url
    claims = jwt.decode(
        body["token"],
        app_settings.livekit_api_secret,
        algorithms=["HS256"],
        options={"verify_aud": False},
    )
    identity = claims["sub"]
    assert identity == body["identity"] and identity.startswith(SPECTATOR_PREFIX)
    # Opaque: nothing of the account in it.
    assert str(viewer.id) not in identity and str(viewer.id).replace("-", "") not in identity
    assert claims["exp"] - claims["nbf"] <= SPECTATOR_TOKEN_TTL
    assert not claims.get("name")
    video = claims["video"]
    assert video["roomJoin"] is True and video["room"] == room
    assert video["canSubscribe"] is True
    assert video["canPublish"] is False and video["canPublishData"] is False
    assert video["hidden"] is True
    assert not video.get("canPublishSources")
    assert not video.get("canUpdateOwnMetadata")
    for grant in ("roomCreate", "roomAdmin", "roomList", "roomRecord", "agent"):
        assert not video.get(grant), grant
    # Renewed while the debate runs: a fresh token, the same spectator.
    again = await (await _watch(client, viewer, discussion_id)).json()
    assert again["identity"] == identity and again["token"]


async def test_debaters_and_people_they_blocked_cannot_watch(
    client: Client, engine: AsyncEngine
) -> None:
    a, b, blocked, blocker = [await register(client, n) for n in ("Ann", "Ben", "Cy", "Di")]
    discussion_id, _ = await _public_debate(client, engine, a, b)
    async with engine.begin() as conn:
        await conn.execute(blocks.insert().values(blocker_id=b.id, blocked_id=blocked.id))
        # A block the other way (the viewer blocked a debater) is the viewer's own choice.
        await conn.execute(blocks.insert().values(blocker_id=blocker.id, blocked_id=a.id))
    assert str(discussion_id) not in await _live(client, blocked)
    r = await _watch(client, blocked, discussion_id)
    assert r.status == 403 and (await error_of(r))["code"] == "forbidden"
    for debater in (a, b):
        assert (await _watch(client, debater, discussion_id)).status == 403
        assert str(discussion_id) not in await _live(client, debater)
    assert (await _watch(client, blocker, discussion_id)).status == 200


async def test_spectators_are_counted_from_livekit_webhooks(
    client: Client, engine: AsyncEngine, app_settings: Settings
) -> None:
    a, b, c, d = [await register(client, n) for n in ("Ann", "Ben", "Cy", "Di")]
    discussion_id, room = await _public_debate(client, engine, a, b)
    first = await _spectate(client, app_settings, c, discussion_id)
    second = await _spectate(client, app_settings, d, discussion_id)
    assert (await _live(client, c))[str(discussion_id)]["audience"] == 2
    left = await _webhook(client, app_settings, "participant_left", room, first)
    assert (await _live(client, c))[str(discussion_id)]["audience"] == 1
    # A replayed leave, an identity the API never minted, and one minted for another room
    # change nothing.
    await _send(client, app_settings, left.encode())
    await _webhook(client, app_settings, "participant_joined", room, SPECTATOR_PREFIX + "forged")
    other, _ = await _public_debate(client, engine, *[await register(client, n) for n in "EF"])
    elsewhere = (await (await _watch(client, c, other)).json())["identity"]
    await _webhook(client, app_settings, "participant_joined", room, elsewhere)
    assert (await _live(client, c))[str(discussion_id)]["audience"] == 1
    await _webhook(client, app_settings, "participant_left", room, second)
    assert (await _live(client, c))[str(discussion_id)]["audience"] == 0


# -- spectators turned away -------------------------------------------------------------------
class _Seat:
    """A spectator connected to LiveKit with the token the API gave them."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.identity = str(body["identity"])
        self.room = rtc.Room()
        self.removed: list[int] = []
        self.room.on("disconnected", self.removed.append)

    async def connect(self) -> None:
        await self.room.connect(self.body["url"], self.body["token"])


async def _seated(
    client: Client, settings: Settings, who: Account, discussion_id: uuid.UUID
) -> _Seat:
    """`who` watches for real: a token from the API, connected to LiveKit, and the webhook
    LiveKit sends about it."""
    r = await _watch(client, who, discussion_id)
    assert r.status == 200, await r.text()
    seat = _Seat(await r.json())
    await seat.connect()
    await _webhook(client, settings, "participant_joined", seat.body["room"], seat.identity)
    return seat


async def _in_room(lkapi: lk.LiveKitAPI, room: str) -> set[str]:
    found = await lkapi.room.list_participants(lk.ListParticipantsRequest(room=room))
    return {p.identity for p in found.participants}


@contextlib.asynccontextmanager
async def _livekit_room(settings: Settings, room: str) -> AsyncIterator[lk.LiveKitAPI]:
    """The debate's LiveKit room, as the lobby agent opens it (joins never create one)."""
    url, key, secret = settings.livekit_url, settings.livekit_api_key, settings.livekit_api_secret
    async with lk.LiveKitAPI(url, key, secret) as lkapi:
        await lkapi.room.create_room(lk.CreateRoomRequest(name=room, empty_timeout=30))
        try:
            yield lkapi
        finally:
            await lkapi.room.delete_room(lk.DeleteRoomRequest(room=room))


REMOVED = rtc.DisconnectReason.PARTICIPANT_REMOVED


async def test_withdrawing_consent_turns_the_audience_out_and_keeps_it_out(
    client: Client, engine: AsyncEngine, app_settings: Settings
) -> None:
    a, b, c, d = [await register(client, n) for n in ("Ann", "Ben", "Cy", "Di")]
    discussion_id, room = await _public_debate(client, engine, a, b)
    async with _livekit_room(app_settings, room) as lkapi:
        seats = [await _seated(client, app_settings, who, discussion_id) for who in (c, d)]
        assert {s.identity for s in seats} <= await _in_room(lkapi, room)
        assert (await _live(client, c))[str(discussion_id)]["audience"] == 2

        await _allow(client, a, allow=False)  # Ann withdraws consent mid-debate
        await eventually(
            lambda: all(s.removed == [REMOVED] for s in seats), "the spectators removed"
        )
        assert not {s.identity for s in seats} & await _in_room(lkapi, room)
        assert (await _watch(client, c, discussion_id)).status == 404
        for seat in seats:  # what LiveKit then tells the API
            await _webhook(client, app_settings, "participant_left", room, seat.identity)

        # Cy's token has not expired, and LiveKit lets it in again: the webhook of that
        # arrival removes Cy at once, uncounted.
        back = _Seat(seats[0].body)
        await back.connect()
        await _webhook(client, app_settings, "participant_joined", room, back.identity)
        await eventually(lambda: back.removed == [REMOVED], "the returning spectator removed")
        assert back.identity not in await _in_room(lkapi, room)
        assert (await _audience(app_settings, room)) == set()

        # Consent given again: the debate is public again, and Cy may watch.
        await _allow(client, a)
        again = await _seated(client, app_settings, c, discussion_id)
        assert again.identity in await _in_room(lkapi, room)
        assert again.removed == []
        await again.room.disconnect()


async def test_blocking_a_spectator_turns_out_only_them(
    client: Client, engine: AsyncEngine, app_settings: Settings
) -> None:
    a, b, c, d = [await register(client, n) for n in ("Ann", "Ben", "Cy", "Di")]
    discussion_id, room = await _public_debate(client, engine, a, b)
    async with _livekit_room(app_settings, room) as lkapi:
        cy, di = [await _seated(client, app_settings, who, discussion_id) for who in (c, d)]
        r = await client.post("/api/blocks", json={"user_id": str(c.id)}, headers=b.auth)
        assert r.status == 201, await r.text()
        await eventually(lambda: cy.removed == [REMOVED], "the blocked spectator removed")
        # The block's request removed before it answered: Di is still there.
        assert await _in_room(lkapi, room) & {cy.identity, di.identity} == {di.identity}
        assert di.removed == []
        await _webhook(client, app_settings, "participant_left", room, cy.identity)

        back = _Seat(cy.body)
        await back.connect()
        await _webhook(client, app_settings, "participant_joined", room, back.identity)
        await eventually(lambda: back.removed == [REMOVED], "the blocked spectator removed again")
        assert await _audience(app_settings, room) == {di.identity}
        await di.room.disconnect()


async def _audience(settings: Settings, room: str) -> set[str]:
    """Who the API counts as watching the room (lobby/audience.py, in Redis)."""
    redis = Redis.from_url(settings.redis_url)
    try:
        return set(await Audiences(redis, settings.redis_prefix).watchers(room))
    finally:
        await redis.aclose()


# -- voting ----------------------------------------------------------------------------------
async def test_a_spectator_votes_once_while_voting_is_open(
    client: Client, engine: AsyncEngine, app_settings: Settings
) -> None:
    a, b, c, d = [await register(client, n) for n in ("Ann", "Ben", "Cy", "Di")]
    discussion_id, _ = await _public_debate(client, engine, a, b)
    await _spectate(client, app_settings, c, discussion_id)
    await _spectate(client, app_settings, d, discussion_id)
    # Before the last phase began.
    r = await _vote(client, c, discussion_id, "pro")
    assert r.status == 409 and (await error_of(r))["code"] == "voting_closed"
    await _set(engine, discussion_id, voting_opens_at=sa.func.now())
    for bad in ("PRO", "neither", 1, None):
        r = await _vote(client, c, discussion_id, bad)
        assert r.status == 400 and (await error_of(r))["code"] == "invalid_field"
    r = await _vote(client, c, discussion_id, "con")
    assert r.status == 201
    assert (await r.json())["votes"] == {
        "pro": 0,
        "con": 1,
        "winner": "con",
        "my_vote": "con",
        "voting_open": True,
    }
    r = await _vote(client, c, discussion_id, "pro")
    assert r.status == 409 and (await error_of(r))["code"] == "already_voted"
    # Still open until two minutes after the end.
    await _set(engine, discussion_id, ended_at=sa.func.now(), outcome="completed")
    assert (await _vote(client, d, discussion_id, "pro")).status == 201
    # Debaters see the result, and their history keeps it.
    r = await client.get(f"/api/discussions/{discussion_id}/votes", headers=a.auth)
    tally = (await r.json())["votes"]
    assert (tally["pro"], tally["con"], tally["winner"], tally["my_vote"]) == (1, 1, "tie", None)
    history = (await (await client.get("/api/history", headers=b.auth)).json())["discussions"]
    entry = next(h for h in history if h["id"] == str(discussion_id))
    assert entry["votes"] == {"pro": 1, "con": 1, "winner": "tie"}


async def test_only_spectators_seen_by_livekit_vote(
    client: Client, engine: AsyncEngine, app_settings: Settings
) -> None:
    a, b, stranger, tokened = [await register(client, n) for n in ("Ann", "Ben", "Cy", "Di")]
    discussion_id, _ = await _public_debate(client, engine, a, b)
    await _set(engine, discussion_id, voting_opens_at=sa.func.now())
    # A token is not enough: LiveKit must have seen them join.
    assert (await _watch(client, tokened, discussion_id)).status == 200
    for who in (a, b, stranger, tokened):
        r = await _vote(client, who, discussion_id, "pro")
        assert r.status == 403, who.display_name
    r = await _vote(client, stranger, discussion_id, "pro")
    assert (await error_of(r))["code"] == "not_a_participant"
    r = await client.get(f"/api/discussions/{discussion_id}/votes", headers=stranger.auth)
    assert r.status == 403
    assert (await _vote(client, stranger, uuid.uuid4(), "pro")).status == 404
    r = await client.get(f"/api/discussions/{discussion_id}/votes", headers=a.auth)
    assert (await r.json())["votes"]["pro"] == 0


async def test_accounts_made_after_the_debate_began_cannot_vote(
    client: Client, engine: AsyncEngine, app_settings: Settings
) -> None:
    a, b = await register(client, "Ann"), await register(client, "Ben")
    discussion_id, _ = await _public_debate(client, engine, a, b)
    await _set(
        engine,
        discussion_id,
        started_at=sa.func.now() - sa.text("interval '1 minute'"),
        voting_opens_at=sa.func.now(),
    )
    newcomer = await register(client, "New")
    await _spectate(client, app_settings, newcomer, discussion_id)
    r = await _vote(client, newcomer, discussion_id, "pro")
    assert r.status == 403 and (await error_of(r))["code"] == "forbidden"
    # An account older than the debate, watching the same way, votes.
    veteran = await register(client, "Vet")
    async with engine.begin() as conn:
        query = users.update().where(users.c.id == veteran.id)
        await conn.execute(query.values(created_at=sa.func.now() - sa.text("interval '1 day'")))
    await _spectate(client, app_settings, veteran, discussion_id)
    assert (await _vote(client, veteran, discussion_id, "pro")).status == 201


@pytest.mark.parametrize("ended_ago", [125, 3600])
async def test_voting_closes_two_minutes_after_the_end(
    client: Client, engine: AsyncEngine, app_settings: Settings, ended_ago: int
) -> None:
    a, b, c = [await register(client, n) for n in ("Ann", "Ben", "Cy")]
    discussion_id, _ = await _public_debate(client, engine, a, b)
    await _spectate(client, app_settings, c, discussion_id)
    ago = sa.func.now() - sa.text(f"interval '{ended_ago} seconds'")
    await _set(engine, discussion_id, voting_opens_at=ago, ended_at=ago, outcome="completed")
    r = await _vote(client, c, discussion_id, "pro")
    assert r.status == 409 and (await error_of(r))["code"] == "voting_closed"
    r = await client.get(f"/api/discussions/{discussion_id}/votes", headers=c.auth)
    assert (await r.json())["votes"]["voting_open"] is False
