"""The production files in deploy/ stay in step with the code: the settings example names every
variable of the README's configuration table and none that no process reads, the Redis snippet
holds the settings the local and test Redis run with, every Redis key carries the hash tag a
Redis Cluster needs, the LiveKit template keeps what DISCO relies on, and the units are valid for
systemd and restart what exits. (tests/integration/test_deploy_livekit.py runs livekit-server
with the LiveKit template.)"""

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
OTHER_UNITS = ["livekit-server.service", "disco-pgdump.service", "disco-pgdump.timer"]


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


def test_the_settings_example_names_only_variables_a_process_reads() -> None:
    listed = set(re.findall(r"(?m)^#?(DISCO_[A-Z0-9_]+)=", (DEPLOY / "disco.env").read_text()))
    read = set(re.findall(r'"(DISCO_[A-Z0-9_]+)"', (ROOT / "lobby" / "settings.py").read_text()))
    assert listed, "no DISCO_ variable found in disco.env"
    assert sorted(listed - read) == []


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


def test_every_redis_key_shares_the_prefix_hash_tag() -> None:
    """DISCO's Lua scripts touch several keys at once, which Redis Cluster allows only within
    one hash slot: every key is built as `{prefix}:...`, the braces making the prefix a hash
    tag. A key built from the bare prefix would land in another slot."""
    sources = [p for d in ("lobby", "api", "agent") for p in (ROOT / d).rglob("*.py")]
    bare = re.compile(r"""f["'](?!\{\{\{)[^"']*\{(self\.)?_?prefix\}""")
    tagged = re.compile(r"""f["']\{\{\{(self\.)?_?prefix\}\}\}:""")
    found = [
        f"{p.relative_to(ROOT)}: {m.group(0)}"
        for p in sources
        for m in bare.finditer(p.read_text())
    ]
    assert found == []
    assert sum(len(tagged.findall(p.read_text())) for p in sources) > 10


def _yaml_sections(text: str) -> dict[str, list[str]]:
    """The template's top-level sections and their lines, comments left out (livekit-server
    itself reads it in tests/integration/test_deploy_livekit.py)."""
    sections: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith(" "):
            current = line.split(":", 1)[0]
        sections.setdefault(current, []).append(line.strip())
    return sections


def test_the_livekit_template_keeps_what_disco_relies_on() -> None:
    conf = _yaml_sections((DEPLOY / "livekit.yaml").read_text())
    # Only DISCO opens rooms: a join must never bring a finished room back.
    assert "auto_create: false" in conf["room"]
    # Multi-node: a Redis of LiveKit's own; its password comes from the environment.
    assert "address: <livekit-redis-host>:6379" in conf["redis"]
    assert not any(line.startswith("password:") for line in conf["redis"])
    # The key pair comes from the environment, never from the file.
    assert "keys" not in conf and "key_file" not in conf
    assert {"enabled: true", "tls_port: 443"} <= set(conf["turn"])
    # The webhook reaches the API's route, signed with the key of the environment's pair.
    assert "api_key: <livekit-api-key>" in conf["webhook"]
    assert "- https://<disco-domain>/livekit/webhook" in conf["webhook"]
    assert '@routes.post("/livekit/webhook")' in (ROOT / "api" / "webhook.py").read_text()


def test_the_livekit_environment_example_holds_no_secret() -> None:
    text = (DEPLOY / "livekit.env").read_text()
    for name in ("LIVEKIT_KEYS", "REDIS_PASSWORD"):
        [value] = re.findall(rf"(?m)^{name}=(.*)$", text)
        assert "<" in value, f"{name} must be a placeholder"


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
        ["systemd-analyze", "verify", *UNITS, *OTHER_UNITS],
        cwd=DEPLOY,
        capture_output=True,
        text=True,
        check=False,
    )
    # The units run the production checkout's interpreter and the installed livekit-server,
    # absent on a development machine.
    said = [
        line
        for line in (done.stdout + done.stderr).splitlines()
        if line.strip() and not re.search(r"Command (\S+) is not executable", line)
    ]
    assert said == []
