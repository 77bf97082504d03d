"""A person using DISCO in a browser: what they click and what they read, by role and label
as a screen reader would find it."""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, ConsoleMessage, Locator, Page, expect

PASSWORD = "correct horse battery"
# Long enough for a LiveKit connection and the agents' replies on a busy 2-core machine.
SLOW = 30_000


@dataclass
class Person:
    page: Page
    name: str
    artifacts: Path
    test: str
    email: str = field(default="")

    @classmethod
    async def open(cls, context: BrowserContext, name: str, artifacts: Path, test: str) -> Person:
        page = await context.new_page()
        tag = secrets.token_hex(3)
        person = cls(page, f"{name} {tag}", artifacts, test, f"{name.lower()}-{tag}@example.com")
        # The browser console goes next to the screenshots, for whoever reads a failure.
        log = artifacts / f"{test}-{name.lower()}.console.txt"
        log.write_text("")

        def keep(msg: ConsoleMessage) -> None:
            with log.open("a") as f:
                f.write(f"{msg.type}: {msg.text}\n")

        page.on("console", keep)
        return person

    async def shot(self, step: str) -> None:
        who = self.name.split()[0].lower()
        await self.page.screenshot(path=str(self.artifacts / f"{self.test}-{step}-{who}.png"))

    # -- accounts ------------------------------------------------------------------------
    async def register(self) -> None:
        p = self.page
        await p.goto("/#/register")
        await p.get_by_label("Email").fill(self.email)
        await p.get_by_label("Password").fill(PASSWORD)
        await p.get_by_label("Display name").fill(self.name)
        await expect(p.get_by_test_id("rules")).to_be_visible()
        await p.get_by_label("I am 18 or older").check()
        await p.get_by_label("I accept the rules").check()
        await p.get_by_role("button", name="Create account").click()
        await expect(p.get_by_test_id("me-name")).to_have_text(self.name, timeout=SLOW)

    async def login(self) -> None:
        p = self.page
        await p.goto("/#/login")
        await p.get_by_label("Email").fill(self.email)
        await p.get_by_label("Password").fill(PASSWORD)
        await p.get_by_role("button", name="Log in").click()
        await expect(p.get_by_test_id("me-name")).to_have_text(self.name, timeout=SLOW)

    # -- lobby ---------------------------------------------------------------------------
    async def choose(self, topic_index: int, format_title: str, side: str | None = None) -> str:
        """Pick a topic (by its place in the list), a format and a side; join the queue.
        Returns the topic's title."""
        p = self.page
        heading = p.get_by_role("heading", name="What do you want to talk about?")
        await expect(heading).to_be_visible(timeout=SLOW)
        topic = p.get_by_label("Topic")
        await topic.select_option(index=topic_index)
        title = (await topic.locator("option:checked").inner_text()).strip()
        await p.get_by_role("radio", name=format_title).check()
        if side:
            await p.get_by_role("radio", name=side).check()
        await p.get_by_role("button", name="Find a partner").click()
        # Queued, or proposed at once when a partner was already waiting.
        waiting = p.get_by_role("heading", name="Looking for a partner")
        await expect(waiting.or_(self.proposal())).to_be_visible(timeout=SLOW)
        return title

    def proposal(self) -> Locator:
        return self.page.get_by_role("alertdialog", name="We found you a partner")

    async def expect_proposal(self, partner: Person) -> None:
        card = self.proposal()
        await expect(card).to_be_visible(timeout=SLOW)
        await expect(card.get_by_test_id("proposal-partner")).to_have_text(partner.name)
        await expect(card.get_by_test_id("proposal-countdown")).to_have_text(
            re.compile(r"^\d+ s to answer$")
        )

    async def countdown(self) -> int:
        text = await self.proposal().get_by_test_id("proposal-countdown").inner_text()
        return int(text.split()[0])

    async def answer(self, accept: bool) -> None:
        name = "Accept" if accept else "Decline"
        await self.proposal().get_by_role("button", name=name).click()

    def notice(self) -> Locator:
        return self.page.get_by_test_id("lobby-notice")

    # -- the room ------------------------------------------------------------------------
    async def expect_in_room(self, partner: Person) -> None:
        p = self.page
        await expect(p.get_by_test_id("partner-name")).to_have_text(partner.name, timeout=SLOW)
        await expect(p.get_by_test_id("connection-state")).to_have_text("Connected", timeout=SLOW)

    async def remote_video_playing(self) -> dict[str, Any]:
        """Wait for the partner's <video> and measure it over a second: its size, and whether
        its time and decoded frames move on."""
        video = self.page.get_by_test_id("remote-video")
        await expect(video).to_be_visible(timeout=SLOW)
        await self.page.wait_for_function(
            "() => { const v = document.querySelector('[data-testid=remote-video]');"
            " return v && v.videoWidth > 0 && v.readyState >= 2; }",
            timeout=SLOW,
        )
        measured: dict[str, Any] = await video.evaluate(
            """async (v) => {
                const q = () => v.getVideoPlaybackQuality().totalVideoFrames;
                const t0 = v.currentTime, f0 = q();
                await new Promise((r) => setTimeout(r, 1500));
                return { width: v.videoWidth, height: v.videoHeight, shown: v.clientWidth,
                         t0, t1: v.currentTime, f0, f1: q(), paused: v.paused };
            }"""
        )
        return measured

    def mic(self) -> Locator:
        return self.page.get_by_test_id("mic-toggle")

    async def ready(self) -> None:
        await self.page.get_by_role("button", name="I am ready").click()

    async def leave(self) -> None:
        await self.page.get_by_role("button", name="Leave", exact=True).click()

    # -- afterwards ----------------------------------------------------------------------
    def summary(self) -> Locator:
        return self.page.get_by_test_id("summary")


# What a person picks in the form: the format's label and each person's side.
Choice = tuple[str, tuple[str | None, str | None]]
CASUAL: Choice = ("Casual conversation", (None, None))
DEBATE: Choice = ("Quick debate", ("For (pro)", "Against (con)"))


async def meet(a: Person, b: Person, topic_index: int, choice: Choice) -> None:
    """Both register and join the same queue; both are proposed the other."""
    fmt, sides = choice
    await asyncio.gather(a.register(), b.register())
    await a.choose(topic_index, fmt, sides[0])
    waiting = a.page.get_by_test_id("waiting")
    await expect(waiting.get_by_test_id("position")).to_have_text("1")
    await expect(waiting.get_by_test_id("waiting-count")).to_have_text("1")
    await expect(waiting.get_by_test_id("estimate")).to_have_text(
        re.compile(r"\d+:\d\d|any moment")
    )
    await a.shot("1-waiting")
    await b.choose(topic_index, fmt, sides[1])
    await asyncio.gather(a.expect_proposal(b), b.expect_proposal(a))
    await asyncio.gather(a.shot("2-proposal"), b.shot("2-proposal"))


async def both_accept(a: Person, b: Person) -> None:
    """Both accept the proposal and meet in the room."""
    await asyncio.gather(a.answer(True), b.answer(True))
    await asyncio.gather(a.expect_in_room(b), b.expect_in_room(a))
