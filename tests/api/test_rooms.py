"""Topics, the lobby token, and the moderators' routes."""

from __future__ import annotations

import time
from typing import Any

import jwt
from aiohttp.test_utils import TestClient
from livekit import api as lk
from sqlalchemy.ext.asyncio import AsyncEngine

from lobby.settings import Settings
from tests.api.helpers import error_of, make_discussion, make_moderator, register, register_all
from tests.support.lobby_clients import lobby_store

Client = TestClient[Any, Any]


def _verify(settings: Settings, token: str) -> lk.access_token.Claims:
    verifier = lk.TokenVerifier(settings.livekit_api_key, settings.livekit_api_secret)
    return verifier.verify(token)


def _lifetime(token: str) -> int:
    claims = jwt.decode(token, options={"verify_signature": False})
    return int(claims["exp"]) - int(claims["nbf"])


async def test_topics_come_from_postgres(client: Client) -> None:
    r = await client.get("/api/topics")
    assert r.status == 200
    topics = (await r.json())["topics"]
    assert len(topics) >= 12
    slugs = {t["slug"] for t in topics}
    assert len(slugs) == len(topics) and "remote-work" in slugs
    # Other tests of the same run may have added topics of their own; the seeded ones are
    # all motions in the house style.
    for topic in topics:
        assert set(topic) == {"slug", "title", "description", "motion"}
        assert all(isinstance(v, str) and v for v in topic.values())
    seeded = [t for t in topics if not t["slug"].startswith("t-")]
    assert len(seeded) >= 12
    assert all(t["motion"].startswith("This house") for t in seeded)


async def test_lobby_token_joins_only_the_lobby_without_media(
    client: Client, app_settings: Settings
) -> None:
    account = await register(client, "Lovelace")
    before = int(time.time())
    r = await client.post("/api/lobby/token", headers=account.auth)
    assert r.status == 200
    body = await r.json()
    assert body["url"] == app_settings.livekit_public_url
    assert body["livekit_urls"] == [app_settings.livekit_public_url]
    assert body["room"] == app_settings.lobby_room
    claims = _verify(app_settings, body["token"])
    assert claims.identity == body["identity"]
    assert not claims.name  # strangers in the lobby see no names
    video = claims.video
    assert video is not None
    assert video.room_join is True and video.room == app_settings.lobby_room
    assert video.can_publish is False and video.can_subscribe is False
    assert video.can_publish_data is True
    assert not video.room_admin and not video.room_create and not video.hidden
    assert _lifetime(body["token"]) <= app_settings.lobby_token_ttl
    exp = jwt.decode(body["token"], options={"verify_signature": False})["exp"]
    assert exp <= int(time.time()) + app_settings.lobby_token_ttl and exp > before
    # No room configuration: a join never creates the room, the API's keeper does.
    assert claims.room_config is None


async def test_lobby_identities_are_opaque_fresh_and_recorded(
    client: Client, app_settings: Settings
) -> None:
    """Nobody in the lobby can tell who is there: each token gets a fresh random identity,
    never the user id that history and reports show; Redis says whose it is (for the agent),
    and that the newest replaces the others."""
    account = await register(client, "Hidden")
    first, second = [
        await (await client.post("/api/lobby/token", headers=account.auth)).json() for _ in range(2)
    ]
    ids = {first["identity"], second["identity"]}
    assert len(ids) == 2 and str(account.id) not in ids
    for identity in ids:
        assert identity.startswith("p-") and len(identity) >= 22
        assert account.id.hex not in identity.replace("-", "")
    async with lobby_store(app_settings) as store:
        assert await store.users_of(sorted(ids)) == dict.fromkeys(ids, str(account.id))
        assert await store.identities_of([str(account.id)]) == {str(account.id): second["identity"]}


async def test_a_flooder_gets_no_lobby_token(client: Client, app_settings: Settings) -> None:
    account = await register(client, "Flooder")
    async with lobby_store(app_settings) as store:
        await store.flag_flooding(str(account.id), 120)
        before = await store.identities_of([str(account.id)])
        r = await client.post("/api/lobby/token", headers=account.auth)
        assert r.status == 429
        error = await error_of(r)
        assert error["code"] == "flooding" and 0 < error["retry_after"] <= 120
        assert 0 < int(r.headers["Retry-After"]) <= 120
        assert await store.identities_of([str(account.id)]) == before == {}


async def test_lobby_token_needs_a_session(client: Client) -> None:
    r = await client.post("/api/lobby/token")
    assert r.status == 401
    assert (await error_of(r))["code"] == "unauthorized"


async def test_moderator_routes_refuse_other_users(client: Client, engine: AsyncEngine) -> None:
    a, b = await register(client, "Ann"), await register(client, "Ben")
    discussion_id, _ = await make_discussion(engine, [a, b])
    r = await client.get("/api/moderator/discussions", headers=a.auth)
    assert r.status == 403
    assert (await error_of(r))["code"] == "forbidden"
    r = await client.post(f"/api/moderator/discussions/{discussion_id}/token", headers=a.auth)
    assert r.status == 403
    assert (await client.get("/api/moderator/discussions")).status == 401


async def test_moderators_see_live_discussions(client: Client, engine: AsyncEngine) -> None:
    mod, a, b = await register_all(client, "Moira", "Ann", "Ben")
    await make_moderator(engine, mod)
    live_id, live_room = await make_discussion(engine, [a, b], fmt="quick-debate")
    ended_id, _ = await make_discussion(engine, [a, b], ended=True, outcome="completed")
    r = await client.get("/api/moderator/discussions", headers=mod.auth)
    assert r.status == 200
    found = {d["id"]: d for d in (await r.json())["discussions"]}
    assert str(ended_id) not in found
    live = found[str(live_id)]
    assert live["room"] == live_room and live["format"] == "quick-debate"
    assert live["topic"] == "remote-work" and live["topic_title"]
    assert sorted(p["display_name"] for p in live["participants"]) == ["Ann", "Ben"]
    assert {p["id"] for p in live["participants"]} == {str(a.id), str(b.id)}


async def test_moderator_token_publishes_and_subscribes_in_that_room_only(
    client: Client, engine: AsyncEngine, app_settings: Settings
) -> None:
    mod, a, b = await register_all(client, "Moira", "Ann", "Ben")
    await make_moderator(engine, mod)
    discussion_id, room = await make_discussion(engine, [a, b])
    r = await client.post(f"/api/moderator/discussions/{discussion_id}/token", headers=mod.auth)
    assert r.status == 200
    body = await r.json()
    # An opaque identity and a plain name: the debaters never learn which moderator sat in.
    assert body["room"] == room and body["identity"].startswith("mod-")
    assert str(mod.id) not in body["identity"]
    assert body["url"] == app_settings.livekit_public_url
    claims = _verify(app_settings, body["token"])
    assert claims.identity == body["identity"] and claims.name == "Moderator"
    video = claims.video
    assert video is not None and video.room_join is True and video.room == room
    assert video.can_publish is True and video.can_subscribe is True
    assert video.can_publish_data is True and not video.room_admin
    assert _lifetime(body["token"]) <= app_settings.room_token_ttl


async def test_moderator_token_for_unknown_or_ended_discussions(
    client: Client, engine: AsyncEngine
) -> None:
    mod, a, b = await register_all(client, "Moira", "Ann", "Ben")
    await make_moderator(engine, mod)
    ended_id, _ = await make_discussion(engine, [a, b], ended=True)
    for path in ("00000000-0000-0000-0000-000000000000", "not-an-id"):
        r = await client.post(f"/api/moderator/discussions/{path}/token", headers=mod.auth)
        assert r.status == 404
        assert (await error_of(r))["code"] == "not_found"
    r = await client.post(f"/api/moderator/discussions/{ended_id}/token", headers=mod.auth)
    assert r.status == 409


async def test_moderator_rights_are_read_fresh(client: Client, engine: AsyncEngine) -> None:
    mod = await register(client, "Moira")
    assert (await client.get("/api/me", headers=mod.auth)).status == 200
    assert (await client.get("/api/moderator/discussions", headers=mod.auth)).status == 403
    await make_moderator(engine, mod)
    assert (await client.get("/api/moderator/discussions", headers=mod.auth)).status == 200
