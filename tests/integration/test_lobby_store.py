"""The Redis store against the real Redis: atomic joins, proposals and settlements."""

from __future__ import annotations

import asyncio
import random
import secrets
from collections.abc import AsyncIterator

import pytest

from lobby import codec, lifecycle
from lobby.model import Ticket
from lobby.policy import Pairing, batches, pair
from lobby.settings import Settings
from lobby.store import LAYOUT, Joined, LayoutMismatch, LobbyStore, open_redis


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[LobbyStore]:
    redis = open_redis(settings.redis_url)
    yield LobbyStore(redis, f"s{secrets.token_hex(4)}")
    await redis.aclose()


def _t(user: str, at: float, topic: str = "tea") -> Ticket:
    return Ticket(user, user.upper(), topic, "casual", None, at)


async def _pair_all(store: LobbyStore, now: float, rng: random.Random) -> list[str]:
    ids: list[str] = []
    for group in batches(await store.sizes(), 1000, 512):
        snap = await store.snapshot(group, 1000)
        matches = lifecycle.propose(pair(snap.tickets, now, rng, recent=snap.recent), now, rng, 20)
        ids += await store.propose(matches, now, 600)
    return ids


async def test_join_reports_position_and_replaces_the_ticket(store: LobbyStore) -> None:
    assert await store.join(_t("a", 1), 10) == Joined(0, 1)
    assert await store.join(_t("b", 2), 10) == Joined(1, 2)
    assert await store.join(_t("a", 3), 10) == Joined(1, 2)
    assert await store.join(_t("a", 4, topic="cats"), 10) == Joined(0, 1)
    assert await store.counts() == {"tea": {"casual": 1}, "cats": {"casual": 1}}
    assert await store.leave("a") == ("left", "cats\x1fcasual\x1f")
    assert await store.leave("a") == ("none", "")
    assert await store.counts() == {"tea": {"casual": 1}}


async def test_a_match_holds_both_and_settles_once(store: LobbyStore) -> None:
    rng = random.Random(1)
    for i, u in enumerate("abc"):
        await store.join(_t(u, i), 10)
    (mid,) = await _pair_all(store, 10, rng)
    m = await store.pending(mid)
    assert m is not None and m.users == ("a", "b")
    assert await store.join(_t("a", 11), 11) == ("busy", mid)
    assert await store.leave("b") == ("pending", mid)
    out = lifecycle.respond(m, "a", False, 12)
    assert await store.settle(m, out) == "ok"
    # The same transition from the same version cannot be applied twice.
    assert await store.settle(m, out) == "gone"
    assert await store.match_of("a") is None and await store.ticket("a") is None
    again = await store.ticket("b")
    assert again is not None and again.head
    # b is at the head, ahead of c; the pair a-b is in its cooldown, b-c is not.
    assert (await store.position(again)) == Joined(0, 2)
    (mid2,) = await _pair_all(store, 13, rng)
    m2 = await store.pending(mid2)
    assert m2 is not None and m2.users == ("b", "c")


async def test_conflicting_versions_are_refused(store: LobbyStore) -> None:
    rng = random.Random(2)
    await store.join(_t("a", 1), 10)
    await store.join(_t("b", 2), 10)
    (mid,) = await _pair_all(store, 10, rng)
    m = await store.pending(mid)
    assert m is not None
    assert await store.settle(m, lifecycle.respond(m, "a", True, 11)) == "ok"
    assert await store.settle(m, lifecycle.respond(m, "b", True, 11)) == "conflict"
    fresh = await store.pending(mid)
    assert fresh is not None
    started = lifecycle.respond(fresh, "b", True, 11)
    assert started.kind == "started"
    assert await store.settle(fresh, started) == "ok"
    assert await store.pending(mid) is None
    active = await store.active(mid)
    assert active is not None and active.state == "starting"
    assert await store.ticket("a") is None and await store.match_of("a") == mid
    await store.finish_room(m.room)
    await store.finish_room(m.room)
    assert await store.match_of("a") is None and await store.active(mid) is None


async def test_two_agents_racing_never_match_anyone_twice(
    store: LobbyStore, settings: Settings
) -> None:
    other_redis = open_redis(settings.redis_url)
    other = LobbyStore(other_redis, store.prefix)
    users = [f"u{i:03d}" for i in range(300)]
    await asyncio.gather(*(store.join(_t(u, i), 10) for i, u in enumerate(users)))
    results = await asyncio.gather(
        *(_pair_all(s, 10, random.Random(i)) for i, s in enumerate([store, other] * 4))
    )
    await other_redis.aclose()
    ids = [mid for r in results for mid in r]
    matches = [await store.pending(mid) for mid in ids]
    seen = [u for m in matches if m is not None for u in m.users]
    assert len(seen) == len(set(seen)) == 300
    assert await store.counts() == {}


async def test_strikes_earn_a_growing_cooldown(store: LobbyStore) -> None:
    assert [await store.note_strike("a", 100 + i) for i in range(3)] == [100, 101, 162]
    assert await store.join(_t("a", 1), 110) == ("cooldown", "162")
    assert isinstance(await store.join(_t("a", 1), 163), Joined)
    assert await store.note_strike("a", 170) == 290
    assert await store.join(_t("a", 1), 200) == ("cooldown", "290")
    # Someone else's strikes never hold anyone else back.
    assert isinstance(await store.join(_t("b", 2), 200), Joined)
    # Kept no longer than a next strike would continue the row (ten minutes after the end).
    ttl = await store.redis.ttl(f"{{{store.prefix}}}:strikes:a")
    assert 0 < ttl <= 290 - 170 + 600


async def test_strikes_at_once_all_count(store: LobbyStore) -> None:
    await asyncio.gather(*(store.note_strike("a", 100) for _ in range(4)))
    assert await store.join(_t("a", 1), 101) == ("cooldown", "220")


async def test_sequence_numbers_grow_per_recipient(store: LobbyStore) -> None:
    assert await store.next_seqs(["a", "b"]) == {"a": 1, "b": 1}
    assert await store.next_seqs(["a"]) == {"a": 2}


async def test_one_propose_call_never_matches_one_person_twice(store: LobbyStore) -> None:
    rng = random.Random(2)
    tickets = [_t(u, i) for i, u in enumerate("abcd")]
    for t in tickets:
        await store.join(t, 10)
    a, b, c, d = tickets
    pairings = [Pairing(a, b, None, None), Pairing(a, c, None, None), Pairing(c, d, None, None)]
    matches = lifecycle.propose(pairings, 10, rng, 20)
    assert await store.propose(matches, 10, 600) == [matches[0].id, matches[2].id]
    raw = await store.redis.hget(store.keys["pendingMatches"], matches[0].id)
    assert raw == codec.match_json(matches[0])
    assert await store.counts() == {}
    assert (
        await store.propose(lifecycle.propose([Pairing(b, d, None, None)], 10, rng, 20), 10, 600)
        == []
    )


async def test_a_batch_with_two_deadlines_is_refused_whole(store: LobbyStore) -> None:
    # The script takes one deadline per batch: a batch with two is a caller's mistake, refused
    # before anything is written.
    rng = random.Random(4)
    a, b, c, d = (_t(u, i) for i, u in enumerate("abcd"))
    for t in (a, b, c, d):
        await store.join(t, 10)
    first = lifecycle.propose([Pairing(a, b, None, None)], 10, rng, 20)
    second = lifecycle.propose([Pairing(c, d, None, None)], 10, rng, 30)
    with pytest.raises(ValueError, match="one accept deadline"):
        await store.propose(first + second, 10, 600)
    assert await store.all_pending() == []
    assert await store.match_of("a") is None
    assert sum(n for fmts in (await store.counts()).values() for n in fmts.values()) == 4


async def test_a_ticket_comes_back_as_it_was_queued(store: LobbyStore) -> None:
    t = Ticket("u-1", "Zoë 李 🎉 Lee", "tea", "quick-debate", "pro", 12.345)
    await store.join(t, 20)
    assert await store.ticket("u-1") == t
    snap = await store.snapshot([t.bucket], 10)
    assert snap.tickets == [t] and snap.recent == {}
    assert await store.position(t) == Joined(0, 1)


async def test_one_snapshot_reads_the_heads_of_several_queues(store: LobbyStore) -> None:
    for i in range(4):
        await store.join(_t(f"t{i}", i, "tea"), 10)
    for i in range(3):
        await store.join(_t(f"c{i}", i, "coffee"), 10)
    await store.join(_t("w0", 0, "water"), 10)
    tea, coffee, water = (_t("x", 0, t).bucket for t in ("tea", "coffee", "water"))
    assert await store.sizes() == {tea: 4, coffee: 3, water: 1}
    assert await store.sizes([coffee, "nothing"]) == {coffee: 3}
    snap = await store.snapshot([tea, coffee], 2)
    assert [t.user for t in snap.tickets] == ["t0", "t1", "c0", "c1"]
    assert (await store.snapshot([], 2)).tickets == []


async def test_an_agent_claims_the_layout_and_refuses_another_untouched(
    store: LobbyStore,
) -> None:
    # State from before the layout was marked is taken as this build's.
    await store.join(_t("u1", 1.0), 1.0)
    await store.claim_layout()
    await store.claim_layout()
    assert await store.redis.get(store.keys["layout"]) == LAYOUT
    # A build that changed what the keys hold marked them otherwise: refused, nothing changed.
    await store.redis.set(store.keys["layout"], "some-other-layout")
    with pytest.raises(LayoutMismatch, match=r"some-other-layout.*Flush the prefix"):
        await store.claim_layout()
    assert await store.redis.get(store.keys["layout"]) == "some-other-layout"
    assert await store.ticket("u1") == _t("u1", 1.0)
