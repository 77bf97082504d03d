"""Secrets anyone could know are refused where Settings are built: a short session secret, one
shared with LiveKit, and outside DISCO_ENV=dev the LiveKit key pair in the repository.
Also the per-address unit of the API's limits (an IPv6 /64)."""

from __future__ import annotations

import re

import pytest

from api.ratelimit import address_bucket
from lobby.settings import (
    DEV_LIVEKIT_KEY,
    DEV_LIVEKIT_SECRET,
    ConfigError,
    Settings,
)
from scripts.stack import ROOT

OWN_SECRET = "an-operator-chosen-livekit-secret-0123456789"
BASE = {
    "LIVEKIT_URL": "ws://127.0.0.1:7880",
    "LIVEKIT_API_KEY": "APIoperator",
    "LIVEKIT_API_SECRET": OWN_SECRET,
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "DATABASE_URL": "postgresql://u@127.0.0.1/db",
    "DISCO_JWT_SECRET": "j" * 32,
}
REPO_PAIR = {"LIVEKIT_API_KEY": DEV_LIVEKIT_KEY, "LIVEKIT_API_SECRET": DEV_LIVEKIT_SECRET}


def test_good_secrets_are_taken() -> None:
    settings = Settings.from_env(BASE)
    assert settings.environment == "production"
    assert settings.register_limit == 30
    assert OWN_SECRET not in repr(settings) and "j" * 32 not in repr(settings)


@pytest.mark.parametrize(
    ("change", "variable"),
    [
        ({"DISCO_JWT_SECRET": "x"}, "DISCO_JWT_SECRET"),
        ({"DISCO_JWT_SECRET": "x" * 31}, "DISCO_JWT_SECRET"),
        # Bytes, not characters: 16 two-byte characters are 32 bytes, 15 are not.
        ({"DISCO_JWT_SECRET": "é" * 15}, "DISCO_JWT_SECRET"),
        ({"DISCO_JWT_SECRET": OWN_SECRET}, "DISCO_JWT_SECRET"),
        ({"DISCO_JWT_SECRET": ""}, "DISCO_JWT_SECRET"),
        (REPO_PAIR, "LIVEKIT_API_SECRET"),
        ({"LIVEKIT_API_SECRET": DEV_LIVEKIT_SECRET}, "LIVEKIT_API_SECRET"),
        # The pair `livekit-server --dev` runs with.
        ({"LIVEKIT_API_KEY": "devkey", "LIVEKIT_API_SECRET": "secret"}, "LIVEKIT_API_SECRET"),
        ({**REPO_PAIR, "DISCO_ENV": "production"}, "LIVEKIT_API_SECRET"),
        ({"DISCO_ENV": "development"}, "DISCO_ENV"),
        ({"DISCO_REGISTER_LIMIT": "0"}, "DISCO_REGISTER_LIMIT"),
    ],
)
def test_known_or_weak_secrets_are_refused_naming_the_variable(
    change: dict[str, str], variable: str
) -> None:
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env({**BASE, **change})


def test_dev_may_use_the_repository_pair_but_not_a_weak_session_secret() -> None:
    dev = {**BASE, **REPO_PAIR, "DISCO_ENV": "dev", "DISCO_REGISTER_LIMIT": "500"}
    settings = Settings.from_env(dev)
    assert settings.environment == "dev" and settings.register_limit == 500
    with pytest.raises(ConfigError, match="DISCO_JWT_SECRET"):
        Settings.from_env({**dev, "DISCO_JWT_SECRET": "short"})


def test_the_refused_pair_is_the_one_in_livekit_yaml() -> None:
    """If livekit.yaml's keys change, the refusal must follow them."""
    config = (ROOT / "livekit.yaml").read_text()
    keys = re.search(r"(?m)^keys:\n((?:  .*\n)+)", config)
    assert keys is not None
    pairs = dict(line.strip().split(": ", 1) for line in keys.group(1).splitlines())
    assert pairs == {DEV_LIVEKIT_KEY: DEV_LIVEKIT_SECRET}


@pytest.mark.parametrize(
    ("address", "bucket"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("::1", "::/64"),
        ("unknown", "unknown"),
    ],
)
def test_ipv6_addresses_count_per_64(address: str, bucket: str) -> None:
    assert address_bucket(address) == bucket
