"""The web client keeps its own copies of the names it shares with the agents (web/src): each
copy must say what lobby/contract.py and lobby/protocol.py say, wherever in web/src it lives."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lobby import contract, protocol

WEB = Path(__file__).resolve().parents[2] / "web" / "src"
# web constant -> the Python value it must equal
EXPECTED = {
    "LOBBY_IDENTITY": contract.LOBBY_IDENTITY,
    "DEBATE_IDENTITY": contract.MODERATOR_IDENTITY,
    "MODERATOR_PREFIX": contract.MODERATOR_PREFIX,
    "LOBBY_TOPIC": protocol.TOPIC,
    "DEBATE_TOPIC": contract.DEBATE_TOPIC,
}
_CONST = re.compile(r"""const\s+([A-Z_]+)\s*=\s*['"]([^'"]*)['"]""")


def _web_constants() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted(WEB.rglob("*.ts*")):
        for name, value in _CONST.findall(path.read_text()):
            found.setdefault(name, set()).add(value)
    return found


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_web_client_agrees_with_the_python_contract(name: str) -> None:
    assert _web_constants().get(name) == {EXPECTED[name]}
