"""The pure core imports no LiveKit, Redis, SQLAlchemy or aiohttp, so it is tested without
servers (docs/ARCHITECTURE.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE = [
    "lobby.model",
    "lobby.codec",
    "lobby.policy",
    "lobby.lifecycle",
    "lobby.formats",
    "lobby.errors",
    "lobby.protocol",
    "lobby.contract",
    "lobby.names",
    "agent.clock",
    "agent.clock_time",
    "agent.clock_types",
    "agent.errors",
    "agent.proposal",
    "agent.state",
]
FORBIDDEN = ("livekit", "redis", "sqlalchemy", "aiohttp")


@pytest.mark.parametrize("module", PURE)
def test_pure_module_imports_nothing_external(module: str) -> None:
    # A fresh interpreter, so modules imported by other tests cannot hide an import.
    code = (
        f"import sys, {module}\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})\n"
        "print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""
