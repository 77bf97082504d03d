"""Trust and safety as people see it: two strangers talk, one reports the other from the room
with the chat attached and blocks him, a moderator (made with the operator's command line)
reviews the report and bans him for a short while; he is removed from the room, gets no lobby
token, and gets one again once the ban has ended. And a warned person sees the warning on the
next page they open, until they say they have read it."""

from __future__ import annotations

import argparse
import asyncio
import uuid
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy.ext.asyncio import create_async_engine

from api import admin
from lobby.db.safety import Actor, record_action
from tests.browser.conftest import Pairing, Site
from tests.browser.people import CASUAL, SLOW, Person, both_accept
from tests.support.wait import eventually

# A topic no other browser test queues for.
TOPIC = 11
BAD = "Send me your address or else."
# The ban lasts about 45 s: long enough to see its effects on a slow machine, short enough to
# see it end.
BAN_DAYS = "0.00052"


async def _grant_moderator(site: Site, email: str) -> None:
    args = argparse.Namespace(command="grant-moderator", email=email, reason="")
    assert await admin.run(site.settings, args) == f"{email} is now a moderator"


async def _review_and_ban(mo: Person, bob: Person) -> None:
    page = mo.page
    await page.get_by_role("link", name="Moderate").click()
    item = page.get_by_role("listitem", name=f"Report on {bob.name}")
    await expect(item).to_be_visible(timeout=SLOW)
    # Both pieces of evidence: the chat as the reporter saw it, and the moderator agent's
    # record of the room, whose sender LiveKit vouched for.
    await expect(item.get_by_test_id("reporter-chat")).to_contain_text(BAD)
    await expect(item.get_by_test_id("room-chat")).to_contain_text(f"{bob.name}: {BAD}")
    await mo.shot("1-review")
    decision = item.get_by_role("group", name="Decision")
    await decision.get_by_label("Why (kept in the audit log)").fill("threats in the chat")
    await decision.get_by_label("Ban days").fill(BAN_DAYS)
    await decision.get_by_role("button", name="Ban").click()
    await expect(item.get_by_test_id("report-status")).to_have_text(
        "They were banned", timeout=SLOW
    )
    await expect(page.get_by_test_id("audit")).to_contain_text("threats in the chat")


async def _back_in_lobby(page: Page) -> bool:
    """True once the lobby's form is there; until then, try again when offered."""
    if await page.get_by_role("heading", name="What do you want to talk about?").is_visible():
        return True
    again = page.get_by_role("button", name="Try again")
    if await again.is_visible():
        await again.click()
    return False


@pytest.mark.timeout(300)
async def test_report_in_the_room_block_review_and_a_short_ban(
    browser: Browser, site: Site, paired: Pairing, artifacts: Path
) -> None:
    ann, bob = await paired("safety", ("Ann", "Bob"), TOPIC, CASUAL)
    await both_accept(ann, bob)

    await bob.page.get_by_label("Message").fill(BAD)
    await bob.page.get_by_role("button", name="Send").click()
    await expect(ann.page.get_by_test_id("chat")).to_contain_text(BAD, timeout=SLOW)

    # Ann reports Bob without leaving the room; the chat goes with it, and she blocks him.
    await ann.page.get_by_role("button", name="Report", exact=True).click()
    form = ann.page.get_by_test_id("room-report")
    await form.get_by_label("Reason").select_option("violence")
    await form.get_by_label("What happened?").fill("He threatened me in the chat.")
    await expect(form.get_by_label(f"Also block {bob.name}")).to_be_checked()
    await form.get_by_role("button", name="Send report").click()
    await expect(form.get_by_role("status")).to_contain_text(f"{bob.name} is blocked", timeout=SLOW)
    await asyncio.gather(ann.shot("1-reported"), bob.shot("1-reported"))

    context = await browser.new_context(base_url=site.url)
    try:
        mo = await Person.open(context, "Mo", artifacts, "safety")
        await mo.register()
        await _grant_moderator(site, mo.email)
        await mo.page.get_by_role("button", name="Log out").click()
        await mo.login()
        await _review_and_ban(mo, bob)
    finally:
        await context.close()

    # Bob is taken out of the room at once, and the lobby turns him away.
    await expect(bob.summary()).to_be_visible(timeout=SLOW)
    await bob.page.get_by_test_id("back-to-lobby").click()
    await expect(bob.page.get_by_role("alert")).to_contain_text("banned", timeout=SLOW)
    await bob.shot("2-banned")

    # Ann sees what was decided on her report.
    await ann.page.get_by_test_id("me-name").click()  # her profile
    await expect(ann.page.get_by_test_id("own-reports")).to_contain_text(
        "They were banned", timeout=SLOW
    )

    # Once the short ban is over, Bob is let into the lobby again.
    await eventually(
        lambda: _back_in_lobby(bob.page), "Bob back in the lobby after his ban", 120, 2
    )
    await bob.shot("3-back")


@pytest.mark.timeout(120)
async def test_a_warned_person_sees_the_warning_until_they_mark_it_read(
    browser: Browser, site: Site, artifacts: Path
) -> None:
    context = await browser.new_context(base_url=site.url)
    try:
        bob = await Person.open(context, "Bob", artifacts, "warned")
        await bob.register()
        page = bob.page
        user = await page.evaluate("JSON.parse(localStorage.getItem('disco.session')).user.id")
        # A moderator's warning, as deciding a report writes it (the review itself is above).
        engine = create_async_engine(site.settings.async_database_url)
        try:
            async with engine.begin() as conn:
                await record_action(conn, Actor("operator"), "warn", uuid.UUID(user))
        finally:
            await engine.dispose()

        # Bob opens another page: the warning is at the top, with the reason and no reporter.
        await page.get_by_role("link", name="History").click()
        notice = page.get_by_test_id("warning")
        await expect(notice).to_contain_text("A moderator has warned you", timeout=SLOW)
        await expect(notice).to_contain_text("(something else)")
        await bob.shot("1-warned")
        await notice.get_by_role("button", name="I understand").click()
        await expect(notice).to_have_count(0)
        # Read once, it stays gone.
        await page.reload()
        await page.get_by_role("link", name="Lobby").click()
        heading = page.get_by_role("heading", name="What do you want to talk about?")
        await expect(heading).to_be_visible(timeout=SLOW)
        await expect(notice).to_have_count(0)
    finally:
        await context.close()
