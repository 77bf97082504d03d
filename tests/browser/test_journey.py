"""Two strangers meet through DISCO in two real browsers (one laptop-sized, one phone-sized):
matched in the lobby, talking in a LiveKit room, a debate run by the moderator agent, and
what a person sees when a match is declined or times out.

Each test picks its own topic, so tests never pair people from another test.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from lobby.db.schema import users
from tests.browser.conftest import ACCEPT_TIMEOUT, Pairing, Site
from tests.browser.people import CASUAL, DEBATE, SLOW, Person, both_accept


async def _video_plays(person: Person) -> None:
    m = await person.remote_video_playing()
    assert m["width"] > 0 and m["shown"] > 0, m
    assert not m["paused"], m
    assert m["t1"] > m["t0"], m
    assert m["f1"] > m["f0"], m


@pytest.mark.timeout(240)
async def test_casual_talk_video_chat_leave_rate_block_report(paired: Pairing) -> None:
    ann, bob = await paired("casual", ("Ann", "Bob"), 0, CASUAL)

    await both_accept(ann, bob)
    await asyncio.gather(_video_plays(ann), _video_plays(bob))

    await ann.page.get_by_label("Message").fill("Hello from Ann")
    await ann.page.get_by_role("button", name="Send").click()
    await expect(bob.page.get_by_test_id("chat")).to_contain_text("Hello from Ann", timeout=SLOW)
    await asyncio.gather(ann.shot("3-room"), bob.shot("3-room"))

    await ann.leave()
    for person, reason in ((ann, "You left the talk."), (bob, f"{ann.name} left.")):
        await expect(person.summary()).to_be_visible(timeout=SLOW)
        await expect(person.summary().get_by_test_id("end-reason")).to_contain_text(reason)

    # Bob rates Ann and would talk again, then blocks her.
    rate = bob.page.get_by_test_id("rate")
    await rate.locator("label", has_text="4 stars").click()
    await expect(rate.get_by_role("radio", name="4 stars")).to_be_checked()
    await rate.get_by_label("I would talk with them again").check()
    await rate.get_by_role("button", name="Send rating").click()
    await expect(rate.get_by_role("status")).to_have_text(
        "Thanks, your rating is saved.", timeout=SLOW
    )
    block = bob.page.get_by_test_id("block")
    await block.get_by_role("button", name=f"Block {ann.name}").click()
    await expect(block.get_by_role("status")).to_contain_text("is blocked", timeout=SLOW)

    # Ann reports Bob, with a reason and a note.
    await ann.page.get_by_role("button", name=f"Report {bob.name}").click()
    report = ann.page.get_by_test_id("report")
    await report.get_by_label("Reason").select_option("spam")
    await report.get_by_label("What happened?").fill("Kept advertising a shop.")
    await report.get_by_role("button", name="Send report").click()
    await expect(report.get_by_role("status")).to_contain_text("Thank you", timeout=SLOW)
    await asyncio.gather(ann.shot("4-summary"), bob.shot("4-summary"))

    # The talk is in Bob's history, with Ann's name.
    await bob.page.get_by_role("link", name="History").click()
    history = bob.page.get_by_test_id("history")
    await expect(history).to_contain_text(ann.name, timeout=SLOW)
    await expect(history).to_contain_text("Casual conversation")
    await bob.shot("5-history")


@pytest.mark.timeout(240)
async def test_quick_debate_clock_and_turns(paired: Pairing) -> None:
    pro, con = await paired("debate", ("Pia", "Carl"), 1, DEBATE)
    await expect(pro.proposal()).to_contain_text("for (pro)")
    await expect(con.proposal()).to_contain_text("against (con)")
    await expect(con.proposal().get_by_test_id("motion")).not_to_be_empty()

    await both_accept(pro, con)
    await asyncio.gather(_video_plays(pro), _video_plays(con))
    for person in (pro, con):
        await expect(person.page.get_by_test_id("phase")).to_have_text(
            "Not started yet", timeout=SLOW
        )
    await asyncio.gather(pro.shot("3-before-start"), con.shot("3-before-start"))

    await asyncio.gather(pro.ready(), con.ready())
    # Pro speaks first: both see the same phase and clock; only pro's microphone is live.
    await _same_turn(pro, con, "Pro opening", speaker=pro, listener=con)
    await asyncio.gather(pro.shot("4-pro-speaks"), con.shot("4-pro-speaks"))
    await _same_turn(pro, con, "Con opening", speaker=con, listener=pro)
    await asyncio.gather(pro.shot("5-con-speaks"), con.shot("5-con-speaks"))

    for person in (pro, con):
        await expect(person.summary()).to_be_visible(timeout=SLOW)
        await expect(person.summary()).to_contain_text("The debate ran to the end.")
    await asyncio.gather(pro.shot("6-summary"), con.shot("6-summary"))


@pytest.mark.timeout(240)
async def test_a_casual_talk_turns_into_a_debate_when_both_agree(paired: Pairing) -> None:
    ann, bob = await paired("switch", ("Ada", "Ben"), 5, CASUAL)
    await both_accept(ann, bob)

    suggest = ann.page.get_by_role("button", name="Suggest a quick debate")
    suggestion = bob.page.get_by_role("group", name="Debate suggestion")
    # The button is offered once the moderator has both seated (it refuses a suggestion before).
    # Ben says no the first time: Ada is told, and the talk stays casual.
    await suggest.click(timeout=SLOW)
    await expect(
        ann.page.get_by_role("status").filter(has_text="Waiting for an answer")
    ).to_be_visible()
    await expect(suggestion).to_be_visible(timeout=SLOW)
    await suggestion.get_by_role("button", name="No thanks").click()
    await expect(
        ann.page.get_by_text("Your partner would rather keep talking casually.")
    ).to_be_visible(timeout=SLOW)
    await expect(ann.page.get_by_test_id("debate")).to_have_count(0)
    await asyncio.gather(ann.shot("1-declined"), bob.shot("1-declined"))

    # The second time he agrees: the debate starts at once (docs/PROTOCOL.md), each on a side
    # drawn by the moderator, and the clock hands the floor from one to the other.
    await suggest.click(timeout=SLOW)
    await expect(suggestion).to_be_visible(timeout=SLOW)
    await suggestion.get_by_role("button", name="Agree").click()
    sides = []
    for person in (ann, bob):
        page = person.page
        await expect(page.get_by_test_id("phase")).to_contain_text("opening", timeout=SLOW)
        await expect(page.locator(".talk-title .pill")).to_have_text("Quick debate")
        side = page.get_by_text(re.compile(r"^You argue (for \(pro\)|against \(con\))$"))
        await expect(side).to_be_visible(timeout=SLOW)
        sides.append(await side.inner_text())
    assert sorted(sides) == ["You argue against (con)", "You argue for (pro)"], sides
    pro, con = (ann, bob) if sides[0].endswith("(pro)") else (bob, ann)
    await _same_turn(pro, con, "Con opening", speaker=con, listener=pro)
    await asyncio.gather(ann.shot("2-debate"), bob.shot("2-debate"))
    for person in (ann, bob):
        await expect(person.summary()).to_be_visible(timeout=SLOW)
        await expect(person.summary()).to_contain_text("The debate ran to the end.")


@pytest.mark.timeout(240)
async def test_a_moderator_joins_pauses_resumes_and_ends_a_debate(
    browser: Browser,
    site: Site,
    site_db: AsyncEngine,
    paired: Pairing,
    artifacts: Path,
) -> None:
    """A moderator finds the live debate on the Moderate page, sits in with the controls,
    and what they do reaches both debaters' screens."""
    pro, con = await paired("moderated", ("Pam", "Cid"), 4, DEBATE)
    await both_accept(pro, con)

    context = await browser.new_context(base_url=site.url)
    try:
        mo = await Person.open(context, "Mo", artifacts, "moderated")
        await mo.register()
        # Moderators are made by an administrator, in the database; they log in again.
        async with site_db.begin() as conn:
            await conn.execute(
                users.update().where(users.c.email == mo.email).values(role="moderator")
            )
        await mo.page.get_by_role("button", name="Log out").click()
        await mo.login()
        page = mo.page
        await page.get_by_role("link", name="Moderate").click()
        live = page.get_by_role("listitem").filter(has_text=f"{pro.name} (pro)")
        await expect(live).to_contain_text(f"{con.name} (con)", timeout=SLOW)
        await mo.shot("1-live")
        await live.get_by_role("button", name="Join as moderator").click()
        controls = page.get_by_role("group", name="Moderator controls")
        await expect(controls).to_be_visible(timeout=SLOW)
        # The moderator sits with both debaters and sees both.
        for debater in (pro, con):
            await expect(page.get_by_test_id("partner-name")).to_contain_text(debater.name)
        await expect(page.get_by_test_id("remote-tile")).to_have_count(1, timeout=SLOW)
        await expect(page.get_by_test_id("remote2-tile")).to_have_count(1, timeout=SLOW)
        await expect(page.get_by_test_id("phase")).to_have_text("Not started yet", timeout=SLOW)

        await asyncio.gather(pro.ready(), con.ready())
        await expect(page.get_by_test_id("phase")).to_contain_text("opening", timeout=SLOW)
        await controls.get_by_role("button", name="Pause").click()
        # While paused, both may talk (a moderator can still mute either).
        for person in (pro, con):
            await expect(person.page.get_by_test_id("floor")).to_have_text(
                "Paused by the moderator", timeout=SLOW
            )
            await expect(person.mic()).to_be_enabled()
        # The clock stands still while paused.
        before = await pro.page.get_by_test_id("countdown").inner_text()
        await asyncio.sleep(1.5)
        assert await pro.page.get_by_test_id("countdown").inner_text() == before
        await asyncio.gather(pro.shot("1-paused"), con.shot("1-paused"), mo.shot("2-paused"))

        await controls.get_by_role("button", name="Resume").click()
        speaking = re.compile(r"You have the floor|has the floor")
        for person in (pro, con):
            await expect(person.page.get_by_test_id("floor")).to_have_text(speaking, timeout=SLOW)

        await controls.get_by_role("button", name="End debate").click()
        for person in (pro, con):
            await expect(person.summary()).to_be_visible(timeout=SLOW)
            await expect(person.summary()).to_contain_text("A moderator ended the debate.")
        await asyncio.gather(pro.shot("2-summary"), con.shot("2-summary"))
    finally:
        await context.close()


async def _same_turn(a: Person, b: Person, phase: str, speaker: Person, listener: Person) -> None:
    for person in (a, b):
        await expect(person.page.get_by_test_id("phase")).to_contain_text(phase, timeout=SLOW)
    clocks = [await person.page.get_by_test_id("countdown").inner_text() for person in (a, b)]
    seconds = [_seconds(c) for c in clocks]
    assert abs(seconds[0] - seconds[1]) <= 1, clocks
    assert 0 < max(seconds) <= 8, clocks
    await expect(speaker.page.get_by_test_id("floor")).to_have_text("You have the floor")
    await expect(listener.page.get_by_test_id("floor")).to_have_text(
        f"{speaker.name} has the floor"
    )
    await expect(speaker.mic()).to_be_enabled()
    await expect(speaker.mic()).to_have_attribute("aria-label", "Mute microphone", timeout=SLOW)
    await expect(listener.mic()).to_be_disabled()
    await expect(listener.page.get_by_test_id("mic-reason")).to_contain_text("not your turn")
    # What each hears: the speaker's microphone is live in the listener's room, the
    # listener's is off in the speaker's.
    mic_off = "Microphone off"
    await expect(listener.page.get_by_test_id("remote-tile").get_by_label(mic_off)).to_have_count(
        0, timeout=SLOW
    )
    await expect(speaker.page.get_by_test_id("remote-tile").get_by_label(mic_off)).to_have_count(
        1, timeout=SLOW
    )


def _seconds(clock: str) -> int:
    m = re.fullmatch(r"(\d+):(\d\d)", clock.strip())
    assert m, clock
    return int(m[1]) * 60 + int(m[2])


@pytest.mark.timeout(180)
async def test_decline_as_both_people_see_it(paired: Pairing) -> None:
    ann, bob = await paired("decline", ("Ann", "Bob"), 2, CASUAL)

    await ann.answer(True)
    await expect(ann.proposal()).to_contain_text(f"Waiting for {bob.name}")
    await bob.answer(False)

    await expect(bob.notice()).to_contain_text(
        "You declined the match and left the queue.", timeout=SLOW
    )
    await expect(
        bob.page.get_by_role("heading", name="What do you want to talk about?")
    ).to_be_visible()
    await expect(ann.notice()).to_contain_text("Your partner declined the match.", timeout=SLOW)
    await expect(ann.notice()).to_contain_text("back at the front of the queue")
    await expect(ann.page.get_by_test_id("position")).to_have_text("1", timeout=SLOW)
    await asyncio.gather(ann.shot("3-after"), bob.shot("3-after"))


@pytest.mark.timeout(180)
async def test_timeout_as_both_people_see_it(paired: Pairing) -> None:
    ann, bob = await paired("timeout", ("Ann", "Bob"), 3, CASUAL)

    first = await bob.countdown()
    assert 0 < first <= ACCEPT_TIMEOUT
    await ann.answer(True)
    await expect(bob.proposal().get_by_test_id("proposal-countdown")).not_to_have_text(
        f"{first} s to answer", timeout=SLOW
    )
    assert await bob.countdown() < first

    # Bob never answers.
    await expect(ann.notice()).to_contain_text(
        "Time ran out before both of you accepted.", timeout=SLOW
    )
    await expect(ann.notice()).to_contain_text("back at the front of the queue")
    await expect(ann.page.get_by_test_id("waiting")).to_be_visible()
    await expect(bob.notice()).to_contain_text("You did not answer in time", timeout=SLOW)
    await expect(
        bob.page.get_by_role("heading", name="What do you want to talk about?")
    ).to_be_visible()
    await asyncio.gather(ann.shot("3-after"), bob.shot("3-after"))
