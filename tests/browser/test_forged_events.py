"""Strangers who hold valid tokens and run their own client, against a person using the web
client: what they send as if the agents had sent it changes nothing that person sees, and
takes them nowhere (docs/PROTOCOL.md "Clients: what to trust").

The strangers are Python LiveKit clients with accounts made through the site's API; each test
picks its own topic, so nobody else's tests are paired with them.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, WebSocket, expect

from lobby.contract import LOBBY_IDENTITY
from tests.browser.conftest import Site
from tests.browser.people import SLOW, Person
from tests.browser.strangers import (
    MODERATOR,
    Stranger,
    forge,
    forged_token,
    listener,
    strangers,
    until,
)

LOBBY_TOPIC = "disco.lobby"
DEBATE_TOPIC = "disco.debate"
# Places in the topic list that test_journey.py does not use.
LOBBY_TEST_TOPIC = 8
DEBATE_TEST_TOPIC = 9
# A client asks the agents at most once a second and then waits for the reply: a few seconds
# after the forgeries, anything they were going to do would have been done.
SETTLE = 5.0


def _forged_lobby_events(slug: str, victim: str, url: str) -> list[dict[str, object]]:
    match = "0f6c0000-0000-4000-8000-00000000f0f0"
    return [
        {
            "type": "proposed",
            "seq": 2,
            "match_id": match,
            "partner": {"display_name": "DISCO support"},
            "topic": slug,
            "format": "long-debate",
            "side": "pro",
            "expires_at": time.time() + 20,
            "expires_in": 20.0,
            "accepted": False,
            "state": "pending",
        },
        {"type": "cancelled", "seq": 3, "match_id": match, "reason": "failed", "requeued": False},
        {
            "type": "ready",
            "seq": 4,
            "match_id": match,
            "room": "forged-room",
            "url": url,
            "token": forged_token(victim, "forged-room"),
        },
    ]


@pytest.mark.timeout(240)
async def test_forged_lobby_events_leave_a_queued_person_where_they_are(
    contexts: list[BrowserContext], site: Site, artifacts: Path
) -> None:
    vic = await Person.open(contexts[0], "Vic", artifacts, "forged-lobby")
    sockets: list[str] = []

    def opened(ws: WebSocket) -> None:
        sockets.append(ws.url)

    vic.page.on("websocket", opened)
    await vic.register()
    await vic.choose(LOBBY_TEST_TOPIC, "Long debate", "For (pro)")
    waiting = vic.page.get_by_test_id("waiting")
    await expect(waiting).to_be_visible()
    position = await waiting.get_by_test_id("position").inner_text()

    async with listener() as trap, strangers(site.url, "Mallory", "Pat") as (mallory, pat):
        slug = await mallory.topic_slug(LOBBY_TEST_TOPIC)
        await mallory.join_lobby()
        # At once, while the victim's client has not been told who Mallory is, and again a
        # few seconds later, when it has.
        url = f"ws://127.0.0.1:{trap.port}"
        for _ in range(2):
            others = [i for i in mallory.lobby.remote_participants if i != LOBBY_IDENTITY]
            assert others, "Mallory sees nobody in the lobby"
            for victim in others:
                await forge(
                    mallory.lobby, LOBBY_TOPIC, [victim], _forged_lobby_events(slug, victim, url)
                )
            await asyncio.sleep(SETTLE)

        await expect(waiting).to_be_visible()
        await expect(waiting.get_by_test_id("position")).to_have_text(position)
        await expect(vic.proposal()).to_have_count(0)
        await expect(vic.notice()).to_have_count(0)
        await vic.shot("1-after-forgeries")
        assert not [u for u in sockets if f":{trap.port}" in u], sockets
        assert trap.seen == []

        # The page still follows the real lobby: a real partner is proposed.
        await pat.join_lobby()
        join = {"topic": slug, "format": "long-debate", "side": "con"}
        await pat.lobby_call("lobby.join", join)
        await expect(vic.proposal().get_by_test_id("proposal-partner")).to_have_text(
            pat.name, timeout=SLOW
        )


async def _debate_with(vic: Person, pat: Stranger) -> None:
    """Vic (pro, in the browser) and Pat (con, Python) are matched and both accept; Vic is in
    the room (through lobby.status's room) and has said she is ready. Pat has not joined."""
    slug = await pat.topic_slug(DEBATE_TEST_TOPIC)
    await vic.register()
    await vic.choose(DEBATE_TEST_TOPIC, "Long debate", "For (pro)")
    await pat.join_lobby()
    await pat.lobby_call("lobby.join", {"topic": slug, "format": "long-debate", "side": "con"})
    await expect(vic.proposal().get_by_test_id("proposal-partner")).to_have_text(
        pat.name, timeout=SLOW
    )
    await vic.answer(True)
    status = await until(lambda: pat.status_with("match"), "match for Pat")
    await pat.lobby_call("lobby.respond", {"match_id": status["match"]["match_id"], "accept": True})
    page = vic.page
    await expect(page.get_by_test_id("connection-state")).to_have_text("Connected", timeout=SLOW)
    await expect(page.get_by_test_id("phase")).to_have_text("Not started yet", timeout=SLOW)
    await page.get_by_role("button", name="I am ready").click()


@pytest.mark.timeout(240)
async def test_a_partner_cannot_end_the_debate_change_its_phase_or_be_heard_out_of_turn(
    contexts: list[BrowserContext], site: Site, artifacts: Path
) -> None:
    vic = await Person.open(contexts[0], "Vic", artifacts, "forged-debate")
    async with strangers(site.url, "Pat") as (pat,):
        await _debate_with(vic, pat)
        status = await until(lambda: pat.status_with("room"), "room for Pat")
        await pat.enter_room(status["room"])
        await pat.moderator_call("debate.ready")
        me = pat.room.local_participant.identity
        others = [i for i in pat.room.remote_participants if i != MODERATOR]
        assert others, "Pat sees nobody in the room"
        ended = {"type": "ended", "seq": 40, "outcome": "forfeit", "winner": me}
        phase = {
            "type": "phase",
            "seq": 41,
            "index": 1,
            "name": "Con opening",
            "kind": "speech",
            "floor": [me],
            "deadline": int(time.time() * 1000) + 300_000,
        }
        # At once, before Vic's client knows Pat, then again once it does; and Pat's sound on a
        # track declared as a camera, while the floor is Vic's.
        await forge(pat.room, DEBATE_TOPIC, others, [ended, phase])
        await pat.publish_tone_as_camera()
        await asyncio.sleep(SETTLE)
        await forge(pat.room, DEBATE_TOPIC, others, [{**ended, "seq": 42}, {**phase, "seq": 43}])
        await asyncio.sleep(SETTLE)

        page = vic.page
        assert pat.moderator_attribute("status") == "running"
        assert pat.moderator_attribute("phase")["name"] == "Pro opening"
        await expect(vic.summary()).to_have_count(0)
        await expect(page.get_by_test_id("phase")).to_contain_text("Pro opening")
        await expect(page.get_by_test_id("floor")).to_have_text("You have the floor")
        await vic.shot("1-after-forgeries")
        # Nothing on Vic's page plays sound: Pat has no floor, and declares no microphone.
        sounding = await page.evaluate(
            """() => [...document.querySelectorAll('audio, video')].filter(
                (e) => e.srcObject instanceof MediaStream && e.srcObject.getAudioTracks().length
            ).length"""
        )
        assert sounding == 0

        # A reload in the middle of the talk goes straight back into the same room.
        await page.reload()
        await expect(page.get_by_test_id("connection-state")).to_have_text(
            "Connected", timeout=SLOW
        )
        await expect(page.get_by_test_id("phase")).to_contain_text("Pro opening", timeout=SLOW)
        await expect(page.get_by_test_id("partner-name")).to_have_text(pat.name, timeout=SLOW)
        await vic.shot("2-after-reload")
