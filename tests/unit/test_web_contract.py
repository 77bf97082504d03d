"""The web client's copies of the Python contract (web/src/contract.ts) match the Python
definitions: agent identities, event topics, RPC method names and DISCO's error codes. The
TypeScript file is read as text, so a rename on either side fails here instead of in a browser.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "web" / "src" / "contract.ts"
# The modules that define DISCO's RPC errors (each class with an int `code` and str `error`).
ERROR_MODULES = ("lobby.errors", "agent.errors")


def _source() -> str:
    return CONTRACT.read_text(encoding="utf-8")


def _string(name: str) -> str:
    found = re.search(rf"^export const {name} = '([^']*)';$", _source(), re.M)
    assert found, f"contract.ts has no string constant {name}"
    return found.group(1)


def _table(name: str) -> dict[str, str]:
    """An object literal of `key: 'value'` lines."""
    found = re.search(rf"^export const {name}\b[^=]*= \{{\n(.*?)^\}}", _source(), re.M | re.S)
    assert found, f"contract.ts has no table {name}"
    body = found.group(1)
    entries = dict(re.findall(r"^\s*([\w]+): '([^']*)',$", body, re.M))
    lines = [line for line in body.splitlines() if line.strip()]
    assert len(entries) == len(lines), f"{name}: every line must read `key: 'value',`"
    return entries


def _python_errors() -> dict[int, str]:
    errors: dict[int, str] = {}
    for module in ERROR_MODULES:
        for _, cls in inspect.getmembers(importlib.import_module(module), inspect.isclass):
            code, name = getattr(cls, "code", None), getattr(cls, "error", None)
            if cls.__module__ == module and isinstance(code, int) and isinstance(name, str):
                assert errors.get(code, name) == name, f"{code} has two names"
                errors[code] = name
    return errors


def _documented_errors() -> dict[int, str]:
    """The rows of the error table in docs/PROTOCOL.md (`| 2001 | invalid_payload | ...`)."""
    text = (ROOT / "docs" / "PROTOCOL.md").read_text(encoding="utf-8")
    rows: dict[int, str] = {}
    for codes, name in re.findall(r"^\| ([\d /]+) \| (\w+) \|", text, re.M):
        for code in codes.split("/"):
            rows[int(code)] = name
    return rows


def test_identities() -> None:
    from lobby import contract

    assert _string("LOBBY_IDENTITY") == contract.LOBBY_IDENTITY
    assert _string("DEBATE_IDENTITY") == contract.MODERATOR_IDENTITY
    assert _string("MODERATOR_PREFIX") == contract.MODERATOR_PREFIX
    assert _string("SPECTATOR_PREFIX") == contract.SPECTATOR_PREFIX
    assert _string("AUDIENCE_ATTRIBUTE") == contract.AUDIENCE_ATTRIBUTE


def test_topics() -> None:
    from lobby import contract, protocol

    assert _string("LOBBY_TOPIC") == protocol.TOPIC
    assert _string("DEBATE_TOPIC") == contract.DEBATE_TOPIC


def test_debate_methods() -> None:
    from agent.commands import COMMANDS

    assert sorted(_table("DEBATE_METHODS").values()) == sorted(COMMANDS)


def test_lobby_methods_and_readiness() -> None:
    # The lobby agent registers its methods from a literal table in its session.
    session = (ROOT / "agent" / "lobby_session.py").read_text(encoding="utf-8")
    registered = re.findall(r'"(lobby\.\w+)": self\.\w+,', session)
    assert registered, "no lobby methods found in agent/lobby_session.py"
    assert sorted(_table("LOBBY_METHODS").values()) == sorted(registered)
    key, value = _string("LOBBY_READY_ATTRIBUTE"), _string("LOBBY_READY_VALUE")
    assert f'set_attributes({{"{key}": "{value}"}})' in session


def test_every_python_error_is_known_to_the_web_client() -> None:
    web = {int(code): name for code, name in _table("ERROR_NAMES").items()}
    python = _python_errors()
    assert python, "no errors found"
    assert {c: web.get(c) for c in python} == python


@pytest.mark.parametrize("code", sorted(int(c) for c in _table("ERROR_NAMES")))
def test_every_web_error_is_defined_or_documented(code: int) -> None:
    # A code the agents do not raise yet must at least be in the protocol's table.
    name = _table("ERROR_NAMES")[str(code)]
    known = _python_errors().get(code) or _documented_errors().get(code)
    assert known == name
