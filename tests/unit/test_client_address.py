"""Whose address a login attempt counts against (api.ratelimit.client_address), and the
trusted-proxy setting it reads."""

from __future__ import annotations

import pytest

from api.ratelimit import client_address
from lobby.settings import ConfigError, Settings

PROXY = ("10.0.0.0/8",)
BASE = {
    "LIVEKIT_URL": "ws://127.0.0.1:7880",
    "LIVEKIT_API_KEY": "k",
    "LIVEKIT_API_SECRET": "s",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "DATABASE_URL": "postgresql://u@127.0.0.1/db",
    "DISCO_JWT_SECRET": "x" * 32,
}


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        # No proxy trusted: the header is the client's own claim and is ignored.
        ("203.0.113.9", ["198.51.100.1"], (), "203.0.113.9"),
        ("10.1.1.1", ["198.51.100.1"], (), "10.1.1.1"),
        (None, [], (), "unknown"),
        # A peer that is not a trusted proxy is the client, whatever it forwards.
        ("203.0.113.9", ["198.51.100.1"], PROXY, "203.0.113.9"),
        # Behind a trusted proxy: the right-most hop it did not write itself.
        ("10.1.1.1", ["198.51.100.1"], PROXY, "198.51.100.1"),
        ("10.1.1.1", ["192.0.2.7, 198.51.100.1"], PROXY, "198.51.100.1"),
        ("10.1.1.1", ["192.0.2.7", "198.51.100.1, 10.2.2.2"], PROXY, "198.51.100.1"),
        # A forged left-most hop does not move the count elsewhere.
        ("10.1.1.1", ["1.2.3.4, 198.51.100.1"], PROXY, "198.51.100.1"),
        # Only proxies in the chain: the left-most of them.
        ("10.1.1.1", ["10.3.3.3, 10.2.2.2"], PROXY, "10.3.3.3"),
        # A trusted proxy that forwarded nothing, or garbage: the proxy itself (fails closed).
        ("10.1.1.1", [], PROXY, "10.1.1.1"),
        ("10.1.1.1", ["not-an-address"], PROXY, "10.1.1.1"),
        ("10.1.1.1", ["198.51.100.1, junk"], PROXY, "10.1.1.1"),
        ("::1", ["2001:db8::5"], ("::1",), "2001:db8::5"),
    ],
)
def test_client_address(
    peer: str | None, forwarded: list[str], trusted: tuple[str, ...], expected: str
) -> None:
    assert client_address(peer, forwarded, trusted) == expected


def test_trusted_proxies_setting_is_parsed_and_checked() -> None:
    assert Settings.from_env(BASE).trusted_proxies == ()
    got = Settings.from_env({**BASE, "DISCO_TRUSTED_PROXIES": " 10.0.0.1 , 192.168.0.0/16,::1"})
    assert got.trusted_proxies == ("10.0.0.1/32", "192.168.0.0/16", "::1/128")
    with pytest.raises(ConfigError, match="DISCO_TRUSTED_PROXIES"):
        Settings.from_env({**BASE, "DISCO_TRUSTED_PROXIES": "10.0.0.1,proxy.example"})
