"""Griefing costs, over the real lobby with real clients: whoever makes proposals fail (lets
them run out, leaves or disconnects while they are pending) earns a cooldown that grows each
time; the partners who accepted are never held back."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal

import pytest
from livekit import api, rtc
from sqlalchemy.ext.asyncio import AsyncEngine

from lobby.settings import Settings
from scripts.stack import Stack
from tests.integration.conftest import own_lobby
from tests.support.lobby_clients import LobbyUser, add_users, connected, issuer

How = Literal["ignore", "leave", "disconnect"]


async def _refused(who: LobbyUser, topic: str) -> tuple[str, Any]:
    """The error name and `retry_after` of a join that must be refused."""
    try:
        await who.call("lobby.join", {"topic": topic, "format": "casual"})
    except rtc.RpcError as e:
        data = json.loads(e.data or "{}")
        return data["error"], data.get("retry_after")
    raise AssertionError(f"{who.name} joined")


async def _spoilt(
    settings: Settings, griefer: LobbyUser, partner: LobbyUser, topic: str, how: How
) -> None:
    """One proposal the partner accepts and the griefer spoils."""
    g0, p0 = griefer.last_seq(), partner.last_seq()
    await griefer.call("lobby.join", {"topic": topic, "format": "casual"})
    await partner.call("lobby.join", {"topic": topic, "format": "casual"})
    proposed = await partner.event("proposed", after=p0)
    assert (await griefer.event("proposed", after=g0))["match_id"] == proposed["match_id"]
    yes = {"match_id": proposed["match_id"], "accept": True}
    assert (await partner.call("lobby.respond", yes))["status"] == "accepted"
    if how == "leave":
        await griefer.call("lobby.leave")
    elif how == "disconnect":
        await griefer.aclose()
    cancelled = await partner.event("cancelled", after=p0)
    assert cancelled["requeued"] is True
    assert cancelled["reason"] == ("expired" if how == "ignore" else "partner_left")
    if how == "disconnect":
        griefer.room = rtc.Room()
        async with issuer(settings) as issued:
            await griefer.connect(settings, issued)
    # The partner is never held back: back at the head, free to leave and join again.
    assert (await partner.call("lobby.status"))["ticket"]["position"] == 0
    await partner.call("lobby.leave")
    await partner.call("lobby.join", {"topic": topic, "format": "casual"})
    await partner.call("lobby.leave")


@pytest.mark.timeout(300)
async def test_spoiling_proposals_costs_a_growing_cooldown(
    stack: Stack, settings: Settings, lkapi: api.LiveKitAPI, db_engine: AsyncEngine, topic: str
) -> None:
    # Long enough that a leave sent during the proposal arrives before it expires, even when a
    # loaded machine takes seconds to carry an RPC; the ignored proposals just run it out.
    async with own_lobby(stack, settings, lkapi, "grief", accept_timeout=8) as (mine, _, _k):
        people = await add_users(db_engine, 5)
        async with connected(mine, people) as (griefer, *partners):
            # Each partner is new to the griefer: no rematch cooldown in the way.
            await _spoilt(mine, griefer, partners[0], topic, "ignore")
            await _spoilt(mine, griefer, partners[1], topic, "leave")
            await _spoilt(mine, griefer, partners[2], topic, "disconnect")
            error, first = await _refused(griefer, topic)
            assert error == "cooldown" and 0 < first <= 60
            assert (await griefer.call("lobby.status"))["ticket"] is None
            await asyncio.sleep(first + 1)
            # Once it is over the griefer may join again; the next spoilt proposal costs more.
            await _spoilt(mine, griefer, partners[3], topic, "ignore")
            error, second = await _refused(griefer, topic)
            assert error == "cooldown" and 60 < second <= 120
