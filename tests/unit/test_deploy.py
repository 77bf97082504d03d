"""The production files in deploy/ stay in step with the code: the settings example names every
variable of the README's configuration table, the Redis snippet holds the settings the local
and test Redis run with, and the units are valid for systemd and restart what exits."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from scripts.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = ["disco-api.service", "disco-worker@.service"]


def _readme_variables() -> set[str]:
    text = (ROOT / "README.md").read_text()
    table = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    first_cells = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    return {name for cell in first_cells for name in re.findall(r"`([A-Z0-9_]+)`", cell)}


def _unit(name: str) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in (DEPLOY / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            values.setdefault(key, []).append(value)
    return values


def test_the_settings_example_names_every_configuration_variable() -> None:
    listed = set(re.findall(r"(?m)^#?([A-Z][A-Z0-9_]+)=", (DEPLOY / "disco.env").read_text()))
    wanted = _readme_variables()
    assert wanted, "the README's configuration table was not found"
    assert sorted(wanted - listed) == []


def test_the_settings_example_holds_no_secret() -> None:
    text = (DEPLOY / "disco.env").read_text()
    for name in ("LIVEKIT_API_SECRET", "DISCO_JWT_SECRET", "DATABASE_URL"):
        [value] = re.findall(rf"(?m)^{name}=(.*)$", text)
        assert "<" in value, f"{name} must be a placeholder"


def test_the_redis_snippet_matches_the_redis_scripts_run() -> None:
    argv = RedisServer(Path("unused"), port=1).argv()
    ours = dict(zip(argv[1::2], argv[2::2], strict=False))
    conf = dict(
        line.split(None, 1)
        for line in (DEPLOY / "redis.conf").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    for name in (
        "appendonly",
        "appendfsync",
        "hash-max-listpack-entries",
        "zset-max-listpack-entries",
    ):
        assert conf[name] == ours[f"--{name}"], name
    # An evicted key would be a lost ticket or match: a full Redis must refuse writes instead.
    assert conf["maxmemory-policy"] == "noeviction"


@pytest.mark.parametrize("name", UNITS)
def test_each_unit_restarts_and_is_confined(name: str) -> None:
    unit = _unit(name)
    assert (unit["Restart"], unit["RestartSec"]) == (["always"], ["1"])
    assert unit["EnvironmentFile"] == ["/etc/disco/disco.env"]
    assert unit["User"] == ["disco"]
    for key in ("NoNewPrivileges", "PrivateTmp"):
        assert unit[key] == ["yes"]
    assert unit["ProtectSystem"] == ["strict"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_finds_nothing_wrong_with_the_units() -> None:
    done = subprocess.run(
        ["systemd-analyze", "verify", *UNITS],
        cwd=DEPLOY,
        capture_output=True,
        text=True,
        check=False,
    )
    # The units run the interpreter of the production checkout, absent on this machine.
    said = [
        line
        for line in (done.stdout + done.stderr).splitlines()
        if line.strip() and "/opt/disco/.venv/bin/python is not executable" not in line
    ]
    assert said == []
