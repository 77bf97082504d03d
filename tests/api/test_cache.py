"""The expiring cache behind session and user look-ups: a table of what a reader sees."""

from __future__ import annotations

from api.cache import ExpiringCache


def test_entries_live_until_their_expiry() -> None:
    cache: ExpiringCache[str, int] = ExpiringCache(max_entries=10)
    cache.put("a", 1, expires=10.0)
    assert cache.get("a", now=0.0) == 1
    assert cache.get("a", now=9.99) == 1
    assert cache.get("a", now=10.0) is None
    assert len(cache) == 0
    assert cache.get("never", now=0.0) is None


def test_the_oldest_entries_go_first_when_full() -> None:
    cache: ExpiringCache[str, int] = ExpiringCache(max_entries=2)
    cache.put("a", 1, expires=100.0)
    cache.put("b", 2, expires=100.0)
    cache.put("a", 3, expires=100.0)  # replacing makes "a" the newest
    cache.put("c", 4, expires=100.0)
    assert cache.get("b", now=0.0) is None
    assert (cache.get("a", now=0.0), cache.get("c", now=0.0)) == (3, 4)


def test_drop_forgets_an_entry() -> None:
    cache: ExpiringCache[str, int] = ExpiringCache(max_entries=2)
    cache.put("a", 1, expires=100.0)
    cache.drop("a")
    cache.drop("missing")
    assert cache.get("a", now=0.0) is None
