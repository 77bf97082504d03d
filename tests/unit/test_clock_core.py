"""The moderator's pure core stays pure, and the shipped catalogues hold DISCO's formats."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest

from lobby.formats import CatalogueError, load_catalogue, parse_catalogue
from tests.unit.test_purity import PURE

ROOT = Path(__file__).resolve().parents[2]
# The moderator's core, which may import the standard library and other pure modules only.
CORE = [m for m in PURE if m.startswith("agent.")] + ["lobby.contract", "lobby.formats"]
ALLOWED = set(PURE)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", CORE)
def test_core_imports_only_the_standard_library(module: str) -> None:
    outside = {
        name
        for name in _imports(ROOT / (module.replace(".", "/") + ".py"))
        if name.split(".")[0] not in sys.stdlib_module_names and name not in ALLOWED
    }
    assert outside == set()


def test_shipped_formats() -> None:
    catalogue = load_catalogue()
    quick = catalogue.get("quick-debate")
    assert quick is not None
    assert [(p.speakers, p.seconds) for p in quick.phases] == [
        (("pro",), 120),
        (("con",), 120),
        (("pro",), 120),
        (("con",), 120),
        (("pro",), 60),
        (("con",), 60),
    ]
    ld = catalogue.get("lincoln-douglas")
    assert ld is not None
    assert [p.seconds // 60 for p in ld.phases] == [6, 3, 7, 3, 4, 6, 3]
    assert ld.prep_per_side == 240
    oxford = catalogue.get("oxford")
    assert oxford is not None
    assert [p.kind for p in oxford.phases] == ["speech", "speech", "open", "speech", "speech"]
    casual = catalogue.get("casual")
    assert casual is not None
    assert (casual.soft_limit, casual.warnings) == (1800, (120,))
    for fmt in (quick, ld, oxford):
        assert (fmt.warnings, fmt.grace, fmt.seat_hold, fmt.start_after) == ((60, 30), 10, 60, 30)


def test_test_catalogue_loads() -> None:
    catalogue = load_catalogue(ROOT / "tests" / "formats_test.json")
    assert {"casual", "quick-debate", "test-debate"} <= set(catalogue.ids())


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"seat_hold": -1}, "seat_hold"),
        ({"grace": "ten"}, "grace"),
        ({"soft_limit": 0}, "soft_limit"),
    ],
)
def test_bad_timing_is_refused(extra: dict[str, object], message: str) -> None:
    casual = {"id": "casual", "title": "C", "kind": "casual", "warnings": [], "phases": []}
    text = '{"formats": [' + json.dumps({**casual, "soft_limit": 60, **extra}) + "]}"
    with pytest.raises(CatalogueError, match=message):
        parse_catalogue(text)


def test_catalogue_summary_is_what_clients_offer() -> None:
    summary = load_catalogue().summary()
    assert [(f["id"], f["kind"]) for f in summary] == [
        ("casual", "casual"),
        ("quick-debate", "debate"),
        ("lincoln-douglas", "debate"),
        ("oxford", "debate"),
    ]
    assert all(f["title"] and f["description"] for f in summary)
