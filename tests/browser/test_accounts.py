"""Accounts and the camera check, as a person sees them in the browser."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import sqlalchemy as sa
from playwright.async_api import Browser, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from api.feedback import HISTORY_PAGE
from lobby.db.schema import discussion_participants, discussions, users
from tests.browser.conftest import Site
from tests.browser.people import SLOW, Person


async def test_register_logout_login_and_edit_profile(
    browser: Browser, site: Site, artifacts: Path
) -> None:
    context = await browser.new_context(base_url=site.url, viewport={"width": 390, "height": 844})
    try:
        ann = await Person.open(context, "Ann", artifacts, "accounts")
        p = ann.page
        await p.goto("/")
        await expect(p.get_by_role("heading", name="Log in to DISCO")).to_be_visible()
        await ann.shot("1-login")

        # A short password is refused before anything is sent.
        await p.get_by_role("link", name="Create an account").click()
        await p.get_by_label("Email").fill(ann.email)
        await p.get_by_label("Password").fill("short")
        await p.get_by_label("Display name").fill(ann.name)
        await p.get_by_role("button", name="Create account").click()
        await expect(p.get_by_role("alert")).to_have_text(
            "Your password needs at least 10 characters."
        )

        await ann.register()
        await expect(
            p.get_by_role("heading", name="What do you want to talk about?")
        ).to_be_visible(timeout=SLOW)
        await ann.shot("2-lobby-phone")

        await p.get_by_role("button", name="Log out").click()
        await expect(p.get_by_role("status").filter(has_text="You are logged out.")).to_be_visible()

        # A wrong password is answered in words, not a code.
        await p.get_by_label("Email").fill(ann.email)
        await p.get_by_label("Password").fill("not the password at all")
        await p.get_by_role("button", name="Log in").click()
        alert = p.get_by_role("alert")
        await expect(alert).to_be_visible(timeout=SLOW)
        assert "_" not in await alert.inner_text()
        await ann.shot("3-wrong-password")

        await ann.login()
        await p.get_by_role("link", name=ann.name).click()
        await expect(p.get_by_role("heading", name="Your profile")).to_be_visible()
        await p.get_by_label("Display name").fill("Ann the Bold")
        await p.get_by_label("About you").fill("Likes long walks and short debates.")
        await p.get_by_role("button", name="Save").click()
        await expect(
            p.get_by_role("status").filter(has_text="Your profile is saved.")
        ).to_be_visible(timeout=SLOW)
        await expect(p.get_by_test_id("me-name")).to_have_text("Ann the Bold")
        await ann.shot("4-profile")

        # The change is stored: a fresh login shows it.
        await p.get_by_role("button", name="Log out").click()
        ann.name = "Ann the Bold"
        await ann.login()
        await p.get_by_role("link", name="History").click()
        await expect(p.get_by_role("heading", name="Your past discussions")).to_be_visible()
        await expect(p.get_by_text("No discussions yet.")).to_be_visible(timeout=SLOW)
        await ann.shot("5-history-empty")
    finally:
        await context.close()


async def test_denied_camera_shows_what_to_do(
    denying_browser: Browser, site: Site, artifacts: Path
) -> None:
    # No camera permission granted and no automatic yes: the browser refuses, as when a
    # person clicks "Block" on the permission prompt.
    context = await denying_browser.new_context(base_url=site.url)
    try:
        dan = await Person.open(context, "Dan", artifacts, "denied-camera")
        await dan.register()
        message = dan.page.get_by_test_id("media-error")
        await expect(message).to_be_visible(timeout=SLOW)
        await expect(message).to_contain_text("not allowed to use your camera or microphone")
        await expect(message).to_contain_text("Allow them for this site")
        await expect(message.get_by_role("button", name="Try again")).to_be_visible()
        await dan.shot("1-message")
    finally:
        await context.close()


async def test_history_shows_older_discussions_on_request(
    browser: Browser, site: Site, site_db: AsyncEngine, artifacts: Path
) -> None:
    """A long history comes a page at a time: the newest first, older ones on request."""
    context = await browser.new_context(base_url=site.url)
    try:
        cy = await Person.open(context, "Cy", artifacts, "history")
        await cy.register()
        async with site_db.begin() as conn:
            me = await conn.scalar(sa.select(users.c.id).where(users.c.email == cy.email))
            partner = uuid.uuid4()
            await conn.execute(
                users.insert().values(
                    id=partner,
                    email=f"{partner}@example.com",
                    password_hash="not-a-hash",
                    display_name="Old Partner",
                )
            )
            start = dt.datetime.now(dt.UTC) - dt.timedelta(days=60)
            talks = [uuid.uuid4() for _ in range(HISTORY_PAGE + 1)]
            await conn.execute(
                discussions.insert(),
                [
                    {
                        "id": talk,
                        "match_id": talk.hex,
                        "room": f"disco-{talk.hex}",
                        "topic_slug": "remote-work",
                        "format": "casual",
                        "started_at": start + dt.timedelta(hours=i),
                        "ended_at": start + dt.timedelta(hours=i, minutes=5),
                        "outcome": "finished",
                    }
                    for i, talk in enumerate(talks)
                ],
            )
            await conn.execute(
                discussion_participants.insert(),
                [{"discussion_id": t, "user_id": u} for t in talks for u in (me, partner)],
            )
        p = cy.page
        await p.get_by_role("link", name="History").click()
        entries = p.get_by_test_id("history").get_by_role("listitem")
        await expect(entries).to_have_count(HISTORY_PAGE, timeout=SLOW)
        older = p.get_by_role("button", name="Show older discussions")
        await older.click()
        await expect(entries).to_have_count(HISTORY_PAGE + 1, timeout=SLOW)
        await expect(older).to_have_count(0)
        await cy.shot("1-older")
    finally:
        await context.close()
