"""Display names: the one rule for what a person may be called, at registration, on a profile
change, and when the lobby shows a name it read back.

A name is NFKC-normalised (full-width, mathematical and other compatibility letters become
plain ones), keeps at most MAX_MARKS combining marks on one character (stacked marks draw over
the text around them), and may not be, or look like, a name DISCO itself speaks under
(RESERVED). "Look like" is decided on skeletons in the manner of Unicode's UTS #39: case
folded, accents removed, every character replaced by the prototype of its class of Unicode
confusables, spaces and punctuation dropped. The confusables come from the
confusable-homoglyphs package's copy of Unicode's data, never from a table written here.

Pure: no I/O but reading that package's data file, once.
"""

from __future__ import annotations

import functools
import json
import unicodedata
from dataclasses import dataclass
from importlib import resources

MAX_MARKS = 2
# Names the service, its agents and its staff go by, and what a stranger would take for them.
RESERVED = (
    "DISCO",
    "disco-lobby",
    "disco-moderator",
    "disco-agent",
    "disco-bot",
    "disco-team",
    "disco-support",
    "disco-admin",
    "disco-system",
    "moderator",
    "mod",
    "admin",
    "administrator",
    "system",
    "support",
    "staff",
    "official",
    "server",
    "root",
)
_MARKS = frozenset(("Mn", "Me"))
_DROPPED = frozenset(("Cc", "Cs"))
# The package marks right-to-left glyphs with LEFT-TO-RIGHT MARKs for display; not data.
_LRM = "\u200e"


class NameRefused(ValueError):
    """The name breaks the rule; the message says how, in words for the person."""


@dataclass(frozen=True, slots=True)
class _Confusables:
    # Each character to its prototype: a representative of its class of look-alikes, or the
    # several characters it passes for ("m" looks like "rn").
    prototype: dict[str, str]


def _root(parent: dict[str, str], c: str) -> str:
    while parent.setdefault(c, c) != c:
        parent[c] = parent[parent[c]]
        c = parent[c]
    return c


def _union(parent: dict[str, str], a: str, b: str) -> None:
    ra, rb = _root(parent, a), _root(parent, b)
    if ra != rb:
        parent[max(ra, rb)] = min(ra, rb)


def _rank(c: str) -> tuple[bool, str]:
    # A plain ASCII letter or digit stands for its class whenever the class has one.
    return (not (c.isascii() and c.isalnum()), c)


@functools.cache
def _confusables() -> _Confusables:
    """Classes of single characters that look alike, and the longer strings some characters
    look like, from the package's confusables.json. Classes are not joined across case: in
    some scripts a letter's capital looks like one Latin letter and its small form like
    another (Greek capital and small gamma), which would make one class of r, t, u, y and z."""
    raw = resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8")
    parent: dict[str, str] = {}
    longer: dict[str, str] = {}
    for key, glyphs in json.loads(raw).items():
        a = key.replace(_LRM, "")
        for glyph in glyphs:
            b = glyph["c"].replace(_LRM, "")
            if len(a) == 1 and len(b) == 1:
                _union(parent, a, b)
            elif len(a) == 1 or len(b) == 1:
                # The single character passes for the longer string ("m" for "rn").
                one, many = (a, b) if len(a) == 1 else (b, a)
                _root(parent, one)
                longer[one] = min(longer.get(one, many), many, key=lambda s: (len(s), s))
    members: dict[str, list[str]] = {}
    for c in parent:
        members.setdefault(_root(parent, c), []).append(c)
    prototype: dict[str, str] = {}
    for group in members.values():
        expansions = sorted((longer[c] for c in group if c in longer), key=lambda s: (len(s), s))
        rep = expansions[0] if expansions else min(group, key=_rank)
        prototype.update(dict.fromkeys(group, rep))
    return _Confusables(prototype)


def _strip_marks(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def skeleton(name: str) -> str:
    """What `name` looks like to a reader, as UTS #39 draws it (case kept: see `is_reserved`):
    two names with one skeleton are taken for each other. Accents, spaces and punctuation do
    not count."""
    table = _confusables().prototype
    text = _strip_marks(unicodedata.normalize("NFKC", name))
    # Twice: a prototype of several characters ("rn") is itself made of characters to map.
    for _ in range(2):
        text = _strip_marks("".join(table.get(c, c) for c in text))
    return "".join(c for c in text if c.isalnum())


def _cases(name: str) -> set[str]:
    # Capitals are confused with capitals and small letters with small ones (I with l, O with
    # 0), so a name is compared as written, in capitals and in small letters.
    return {name, name.upper(), name.lower()}


@functools.cache
def _reserved() -> frozenset[str]:
    return frozenset(skeleton(form) for name in RESERVED for form in _cases(name))


def load_tables() -> None:
    """Build the look-alike tables now rather than at the first name checked: about 0.1 s of
    CPU on a quiet machine, 0.3 s on a busy one (measured), during which a process serving
    people answers nobody. The agent worker and the API call it at start."""
    _reserved()


def is_reserved(name: str) -> bool:
    """True for a name DISCO speaks under, or one a reader would take for it."""
    reserved = _reserved()
    return any(skeleton(form) in reserved for form in _cases(unicodedata.normalize("NFKC", name)))


def _marks_run(text: str) -> int:
    """The most combining marks on one character, counting those a precomposed letter holds
    (Vietnamese needs two: e with circumflex and dot below)."""
    longest = run = 0
    for c in unicodedata.normalize("NFD", text):
        run = run + 1 if unicodedata.category(c) in _MARKS else 0
        longest = max(longest, run)
    return longest


def _cap_marks(text: str) -> str:
    out, run = [], 0
    for c in unicodedata.normalize("NFD", text):
        run = run + 1 if unicodedata.category(c) in _MARKS else 0
        if run <= MAX_MARKS:
            out.append(c)
    return unicodedata.normalize("NFKC", "".join(out))


def normalise(name: str) -> str:
    """NFKC form, without control characters or lone surrogates, trimmed."""
    kept = "".join(c for c in name if unicodedata.category(c) not in _DROPPED)
    return unicodedata.normalize("NFKC", kept).strip()


def display_name(name: str, *, max_len: int) -> str:
    """The name as it is to be stored; NameRefused (saying why) for a name the rule refuses."""
    value = normalise(name)
    if not value:
        raise NameRefused("must not be empty")
    if len(value) > max_len:
        raise NameRefused(f"must be at most {max_len} characters")
    if not value.isprintable():
        raise NameRefused("must contain printable characters only")
    if _marks_run(value) > MAX_MARKS:
        raise NameRefused(f"may carry at most {MAX_MARKS} accents or marks on one letter")
    if is_reserved(value):
        raise NameRefused("is reserved for DISCO itself, or looks like a name that is")
    return value


def shown_name(name: str, max_len: int, fallback: str) -> str:
    """A name fit to show, whatever was stored: normalised, marks capped, cut to `max_len`;
    `fallback` when nothing is left or what is left passes for DISCO."""
    value = _cap_marks(normalise(name))[:max_len].rstrip()
    if not value or is_reserved(value):
        return fallback
    return value
