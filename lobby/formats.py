"""The catalogue of discussion formats, read from a JSON file (lobby/formats.json by default,
DISCO_FORMATS_FILE to replace it). Adding a format means editing that file, not code.

Pure: parsing and validation only; the file is read by `load_catalogue`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

DEFAULT_FILE = Path(__file__).with_name("formats.json")

PhaseKind = Literal["speech", "cross", "prep", "open"]
Side = Literal["pro", "con"]
_PHASE_KINDS = ("speech", "cross", "prep", "open")
_SIDES = ("pro", "con")


class CatalogueError(ValueError):
    """The formats file is malformed; the message names the format and field."""


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    kind: PhaseKind
    speakers: tuple[Side, ...]
    seconds: int


@dataclass(frozen=True, slots=True)
class Format:
    id: str
    title: str
    description: str
    kind: Literal["casual", "debate"]
    phases: tuple[Phase, ...]
    warnings: tuple[int, ...]
    grace: int
    prep_per_side: int
    soft_limit: int
    # A debate starts this long after both debaters joined, if they have not both said ready.
    start_after: int = 30
    # A debater who leaves keeps their seat this long; then the debate is forfeit.
    seat_hold: int = 60
    # Between the end and closing the room, so clients can show the result.
    wrap_up: int = 10

    @property
    def is_debate(self) -> bool:
        return self.kind == "debate"


@dataclass(frozen=True, slots=True)
class Catalogue:
    formats: dict[str, Format]

    def get(self, format_id: str) -> Format | None:
        return self.formats.get(format_id)

    def ids(self) -> list[str]:
        return list(self.formats)

    def summary(self) -> list[dict[str, str]]:
        """What a client needs to offer the formats: id, title, description, kind."""
        return [
            {"id": f.id, "title": f.title, "description": f.description, "kind": f.kind}
            for f in self.formats.values()
        ]


def _need(obj: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = obj.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise CatalogueError(f"{where}: '{key}' must be a {kind.__name__}")
    return value


# Whole seconds a format may set, with their defaults.
_TIMING = {
    "grace": 0,
    "prep_per_side": 0,
    "soft_limit": 0,
    "start_after": 30,
    "seat_hold": 60,
    "wrap_up": 10,
}


def _seconds(raw: dict[str, Any], key: str, default: int, where: str) -> int:
    value = raw.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise CatalogueError(f"{where}: '{key}' must be whole seconds, zero or more")
    return value


def _phase(raw: Any, where: str) -> Phase:
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where}: a phase must be an object")
    kind = _need(raw, "kind", str, where)
    if kind not in _PHASE_KINDS:
        raise CatalogueError(f"{where}: kind must be one of {', '.join(_PHASE_KINDS)}")
    speakers = _need(raw, "speakers", list, where)
    if not speakers or any(s not in _SIDES for s in speakers):
        raise CatalogueError(f"{where}: speakers must be a non-empty list of pro/con")
    seconds = _need(raw, "seconds", int, where)
    if seconds <= 0:
        raise CatalogueError(f"{where}: seconds must be positive")
    return Phase(_need(raw, "name", str, where), kind, tuple(speakers), seconds)


def _format(raw: Any) -> Format:
    if not isinstance(raw, dict):
        raise CatalogueError("every format must be an object")
    fid = _need(raw, "id", str, "format")
    kind = _need(raw, "kind", str, fid)
    if kind not in ("casual", "debate"):
        raise CatalogueError(f"{fid}: kind must be casual or debate")
    phases = tuple(
        _phase(p, f"{fid} phase {i}") for i, p in enumerate(_need(raw, "phases", list, fid))
    )
    if kind == "debate" and not phases:
        raise CatalogueError(f"{fid}: a debate needs at least one phase")
    warnings = _need(raw, "warnings", list, fid)
    if any(not isinstance(w, int) or w <= 0 for w in warnings):
        raise CatalogueError(f"{fid}: warnings must be positive whole seconds")
    timing = {name: _seconds(raw, name, default, fid) for name, default in _TIMING.items()}
    if kind == "casual" and timing["soft_limit"] <= 0:
        raise CatalogueError(f"{fid}: a casual format needs a positive soft_limit")
    return Format(
        id=fid,
        title=_need(raw, "title", str, fid),
        description=str(raw.get("description", "")),
        kind=kind,  # checked above
        phases=phases,
        warnings=tuple(sorted(warnings, reverse=True)),
        grace=timing["grace"],
        prep_per_side=timing["prep_per_side"],
        soft_limit=timing["soft_limit"],
        start_after=timing["start_after"],
        seat_hold=timing["seat_hold"],
        wrap_up=timing["wrap_up"],
    )


def parse_catalogue(text: str) -> Catalogue:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise CatalogueError(f"formats file is not JSON: {e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("formats"), list):
        raise CatalogueError("formats file must be an object with a 'formats' list")
    formats: dict[str, Format] = {}
    for raw in data["formats"]:
        f = _format(raw)
        if f.id in formats:
            raise CatalogueError(f"{f.id}: defined twice")
        formats[f.id] = f
    if "casual" not in formats:
        raise CatalogueError("the catalogue must define 'casual'")
    return Catalogue(formats)


def load_catalogue(path: str | Path = "") -> Catalogue:
    return parse_catalogue(Path(path or DEFAULT_FILE).read_text(encoding="utf-8"))
