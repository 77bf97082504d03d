"""An audience in real browsers: two debaters who allow it, a spectator who finds their debate on
the Watch page, watches it run (both videos, the motion, the phase and the clock), is counted
by the debaters, votes in the last phase and sees the result, as the debaters do in their
summary; then one click queues a debater for the next talk. A spectator is let out, and told,
when a debater turns the audience off mid-debate. And a proposal that arrives in a
hidden tab puts its countdown in the title and raises a system notification.

Each test picks its own topic, so tests never pair people from another test.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import Site
from tests.browser.people import SLOW, Person

AUDIENCE_TOPIC = 10
HIDDEN_TAB_TOPIC = 11
WITHDRAWN_TOPIC = 12
DEBATE = "Quick debate"


async def _allow_audience(person: Person) -> None:
    p = person.page
    await p.get_by_role("link", name=person.name).click()
    await p.get_by_label("Let an audience watch my debates").check()
    await p.get_by_role("button", name="Save").click()
    await expect(p.get_by_role("status")).to_have_text("Your profile is saved.", timeout=SLOW)
    await p.get_by_role("link", name="Lobby").click()


@contextlib.asynccontextmanager
async def _public_debate(
    browser: Browser,
    contexts: list[BrowserContext],
    site: Site,
    artifacts: Path,
    label: str,
    topic: int,
) -> AsyncIterator[tuple[Person, Person, Person]]:
    """Pia (pro) and Carl (con), who both allow an audience, in a quick debate on this topic
    (both queued on opposite sides, accepted and met in the room); Sam, a third person in a
    browser context of his own, not watching yet."""
    pro = await Person.open(contexts[0], "Pia", artifacts, label)
    con = await Person.open(contexts[1], "Carl", artifacts, label)
    fan_context = await browser.new_context(base_url=site.url)
    try:
        fan = await Person.open(fan_context, "Sam", artifacts, label)
        await asyncio.gather(pro.register(), con.register(), fan.register())
        await asyncio.gather(_allow_audience(pro), _allow_audience(con))
        await pro.choose(topic, DEBATE, "For (pro)")
        await con.choose(topic, DEBATE, "Against (con)")
        await asyncio.gather(pro.expect_proposal(con), con.expect_proposal(pro))
        await asyncio.gather(pro.answer(True), con.answer(True))
        await asyncio.gather(pro.expect_in_room(con), con.expect_in_room(pro))
        yield pro, con, fan
    finally:
        await fan_context.close()


async def _watch(fan: Person) -> Page:
    p = fan.page
    await p.get_by_role("link", name="Watch").click()
    listed = p.get_by_test_id("live-debates").locator("li")
    await expect(listed).to_have_count(1, timeout=SLOW)
    await listed.get_by_role("button", name="Watch").click()
    await expect(p.get_by_test_id("connection-state")).to_have_text("Watching", timeout=SLOW)
    return p


@pytest.mark.timeout(300)
async def test_a_spectator_watches_a_debate_votes_and_sees_the_result(
    browser: Browser, contexts: list[BrowserContext], site: Site, artifacts: Path
) -> None:
    async with _public_debate(browser, contexts, site, artifacts, "audience", AUDIENCE_TOPIC) as (
        pro,
        con,
        fan,
    ):
        watch = await _watch(fan)
        # Both debaters on screen, each under their side, with the motion and the phase.
        for side, person in (("pro", pro), ("con", con)):
            tile = watch.get_by_test_id(f"watch-{side}-tile")
            await expect(tile).to_contain_text(f"{person.name} ({side})", timeout=SLOW)
            await expect(watch.get_by_test_id(f"watch-{side}-video")).to_be_visible(timeout=SLOW)
        await expect(watch.get_by_test_id("debate")).to_contain_text("Motion")
        await expect(watch.get_by_test_id("phase")).to_have_text("Not started yet")
        # The debaters see their audience (the moderator's attribute, from the API's count).
        for person in (pro, con):
            await expect(person.page.get_by_test_id("audience")).to_contain_text(
                "1 watching", timeout=SLOW
            )
        await asyncio.gather(pro.shot("1-watched"), fan.shot("1-watching"))

        await asyncio.gather(pro.ready(), con.ready())
        # The spectator's clock runs (a phase lasts seconds: either opening may be on by now).
        await expect(watch.get_by_test_id("phase")).to_contain_text("opening", timeout=SLOW)
        await expect(watch.get_by_test_id("countdown")).to_have_text(re.compile(r"^\d+:\d\d$"))
        # Voting opens with the last phase and stays open two minutes after the end. The last
        # phase of the test format lasts seconds, and a click as the page turns to the end
        # lands on neither view (seen: no vote sent), so the spectator votes at the end.
        last = watch.get_by_test_id("phase").filter(has_text="Con opening")
        over = watch.get_by_role("heading", name="The debate is over")
        await expect(last.or_(over)).to_be_visible(timeout=SLOW)
        await expect(over).to_be_visible(timeout=SLOW)
        votes = watch.get_by_test_id("votes")
        await votes.get_by_role("button", name="Vote con").click()
        await expect(votes.get_by_role("status")).to_have_text(
            "You voted for con (against).", timeout=SLOW
        )
        await fan.shot("2-voted")

        # The end: the spectator and both debaters see the audience's verdict.
        await expect(watch.get_by_role("heading", name="The debate is over")).to_be_visible(
            timeout=SLOW
        )
        verdict = "The audience thinks con (against) won."
        await expect(watch.get_by_test_id("audience-winner")).to_have_text(verdict, timeout=SLOW)
        for person in (pro, con):
            summary = person.summary()
            await expect(summary).to_contain_text("The debate ran to the end.", timeout=SLOW)
            await expect(summary.get_by_test_id("tally")).to_have_text(
                "Pro 0 · Con 1", timeout=SLOW
            )
            await expect(summary.get_by_test_id("audience-winner")).to_have_text(verdict)
        await asyncio.gather(pro.shot("3-summary"), fan.shot("3-result"))

        # One click from the end of the talk: queued again for the same debate and side.
        await pro.page.get_by_test_id("next-talk").click()
        waiting = pro.page.get_by_test_id("waiting")
        await expect(waiting).to_be_visible(timeout=SLOW)
        await expect(waiting).to_contain_text("Quick debate · pro")
        await pro.page.get_by_role("button", name="Leave the queue").click()


_WITHDRAW = """
async () => {
  const { token } = JSON.parse(localStorage.getItem('disco.session'));
  const r = await fetch('/api/me', {
    method: 'PATCH',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ allow_audience: false }),
  });
  return r.status;
}
"""


@pytest.mark.timeout(240)
async def test_a_debater_who_withdraws_consent_mid_debate_sends_the_audience_out(
    browser: Browser, contexts: list[BrowserContext], site: Site, artifacts: Path
) -> None:
    async with _public_debate(browser, contexts, site, artifacts, "withdrawn", WITHDRAWN_TOPIC) as (
        pro,
        con,
        fan,
    ):
        watch = await _watch(fan)
        await expect(watch.get_by_test_id("watch-pro-tile")).to_contain_text(
            f"{pro.name} (pro)", timeout=SLOW
        )

        # Mid-debate, Pia turns the audience off from another device (her session's token, the
        # API's PATCH /api/me; a second tab of hers would take the room over from the first).
        status = await pro.page.evaluate(_WITHDRAW)
        assert status == 200, status

        # Sam is let out at once and told why, without being told who.
        closed = watch.get_by_role("heading", name="This debate is closed to you")
        await expect(closed).to_be_visible(timeout=SLOW)
        await fan.shot("1-closed")
        await watch.get_by_role("button", name="Back to the list").click()
        await expect(watch.get_by_text("No public debate is running right now.")).to_be_visible(
            timeout=SLOW
        )
        # The debate itself goes on for Pia and Carl.
        for person in (pro, con):
            await expect(person.page.get_by_test_id("debate")).to_be_visible()
            await expect(person.page.get_by_test_id("connection-state")).to_have_text(
                "Connected", timeout=SLOW
            )


# Run before any page script: the page's visibility made switchable (a headless tab is always
# shown), and every notification the page raises recorded as it is raised.
_HIDDEN_TAB = """
(() => {
  let hidden = false;
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
  Object.defineProperty(document, 'visibilityState', {
    configurable: true, get: () => (hidden ? 'hidden' : 'visible'),
  });
  window.__setHidden = (value) => {
    hidden = value;
    document.dispatchEvent(new Event('visibilitychange'));
  };
  const Real = window.Notification;
  window.__notes = [];
  class Recorded extends Real {
    constructor(title, options) {
      super(title, options);
      window.__notes.push(this);
    }
  }
  window.Notification = Recorded;
})();
"""


async def _notes(page: Page) -> list[dict[str, Any]]:
    notes: list[dict[str, Any]] = await page.evaluate(
        "() => window.__notes.map((n) => ({ title: n.title, body: n.body, tag: n.tag }))"
    )
    return notes


@pytest.mark.timeout(180)
async def test_a_proposal_in_a_hidden_tab_shows_in_the_title_and_a_notification(
    contexts: list[BrowserContext], site: Site, artifacts: Path
) -> None:
    label = "hidden"
    await contexts[0].grant_permissions(["notifications"], origin=site.url)
    await contexts[0].add_init_script(_HIDDEN_TAB)
    ann = await Person.open(contexts[0], "Ann", artifacts, label)
    bob = await Person.open(contexts[1], "Bob", artifacts, label)
    await asyncio.gather(ann.register(), bob.register())

    await ann.choose(HIDDEN_TAB_TOPIC, "Casual conversation")
    # Allowed already: Ann is not asked again.
    await expect(ann.page.get_by_test_id("waiting")).to_be_visible()
    await expect(ann.page.get_by_test_id("notify-prompt")).to_have_count(0)
    title = await ann.page.title()
    await ann.page.evaluate("() => window.__setHidden(true)")

    await bob.choose(HIDDEN_TAB_TOPIC, "Casual conversation")
    await bob.expect_proposal(ann)
    # Ann's hidden tab counts down in its title and raised one notification about Bob.
    await expect(ann.page).to_have_title(re.compile(r"^\(\d+ s\) Partner found"), timeout=SLOW)
    await ann.page.wait_for_function("() => window.__notes.length > 0", timeout=SLOW)
    notes = await _notes(ann.page)
    assert len(notes) == 1, notes
    assert notes[0]["title"] == "DISCO: we found you a partner"
    assert bob.name in notes[0]["body"] and "s to answer" in notes[0]["body"]
    first = await ann.page.title()
    await expect(ann.page).not_to_have_title(first, timeout=SLOW)  # it counts down

    # Clicking the notification brings the tab forward on the proposal.
    await ann.page.evaluate("() => { window.__notes[0].onclick(); window.__setHidden(false); }")
    await expect(ann.proposal()).to_be_visible()
    await expect(ann.page).to_have_title(title)
    await ann.answer(False)
    await ann.shot("1-after-alert")

    # Bob, put back in the queue, is asked once whether he wants notifications, and says no.
    prompt = bob.page.get_by_test_id("notify-prompt")
    await expect(prompt).to_be_visible(timeout=SLOW)
    await prompt.get_by_role("button", name="No thanks").click()
    await expect(prompt).to_have_count(0)
