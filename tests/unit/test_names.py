# ruff: noqa: RUF001 - look-alike characters are what this file tests
"""The one rule for display names (lobby.names): NFKC, combining marks capped, reserved names
and their confusable look-alikes refused; and what the lobby shows for a stored name."""

from __future__ import annotations

import pytest

from lobby.model import clean_name
from lobby.names import MAX_MARKS, RESERVED, NameRefused, display_name, is_reserved, skeleton

ACUTE, GRAVE, TILDE = "\u0301", "\u0300", "\u0303"


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("Ada", "Ada"),
        ("  Ada Lovelace ", "Ada Lovelace"),
        ("Zoë 李 🎉", "Zoë 李 🎉"),
        # NFKC: compatibility forms become the plain letters they stand for.
        ("Ａｄａ", "Ada"),
        ("𝐀𝐝𝐚", "Ada"),
        ("ﬁona", "fiona"),
        # A decomposed accent is composed; two marks on a letter are fine.
        ("Zoe\u0308", "Zoë"),
        ("a" + ACUTE + TILDE, "á" + TILDE),
        ("Nguyễn Thị Ệ", "Nguyễn Thị Ệ"),
        # Ordinary names that share letters with reserved ones.
        ("Discovery Dan", "Discovery Dan"),
        ("Disco Stu", "Disco Stu"),
        ("Modi", "Modi"),
        ("Admiral", "Admiral"),
        ("Systema", "Systema"),
        ("Toot", "Toot"),
        ("Emma", "Emma"),
        ("Δισκο", "Δισκο"),
    ],
)
def test_names_kept(raw: str, stored: str) -> None:
    assert display_name(raw, max_len=40) == stored


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x" * 41, "at most 40"),
        # NFKC can lengthen a name: the bound holds on what is stored.
        ("\ufdfa" * 3, "at most 40"),
        ("bad\u202ename", "printable"),
        ("a" + ACUTE + GRAVE + TILDE, "marks"),
        ("á" + GRAVE + TILDE, "marks"),
        ("Ze" + "\u0336" * 20 + "lgo", "marks"),
        # Reserved names, in any case, spacing or punctuation.
        ("DISCO", "reserved"),
        ("disco", "reserved"),
        ("Disco", "reserved"),
        ("disco-moderator", "reserved"),
        ("DISCO Moderator", "reserved"),
        ("disco_lobby", "reserved"),
        ("d.i.s.c.o", "reserved"),
        ("Moderator", "reserved"),
        ("ADMIN", "reserved"),
        ("system", "reserved"),
        # Their look-alikes: other scripts, digits for letters, accents, compatibility forms.
        ("DІSCO", "reserved"),  # CYRILLIC CAPITAL LETTER BYELORUSSIAN-UKRAINIAN I
        ("Dіsco", "reserved"),  # CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I
        ("D1SC0", "reserved"),
        ("DlSCO", "reserved"),  # a small L for the capital I
        ("Dïscó", "reserved"),
        ("ＤＩＳＣＯ", "reserved"),
        ("𝐃𝐈𝐒𝐂𝐎", "reserved"),
        ("ᗪISCO", "reserved"),  # CANADIAN SYLLABICS CARRIER THE
        ("DISC〇", "reserved"),  # IDEOGRAPHIC NUMBER ZERO
        ("rnoderator", "reserved"),  # r n for m
        ("disco rnoderator", "reserved"),
        ("Аdmin", "reserved"),  # CYRILLIC CAPITAL LETTER A
        ("adm1n", "reserved"),
        ("sуstem", "reserved"),  # CYRILLIC SMALL LETTER U
        ("D" + ACUTE + "ISCO", "reserved"),
    ],
)
def test_names_refused(raw: str, why: str) -> None:
    with pytest.raises(NameRefused) as refused:
        display_name(raw, max_len=40)
    assert why.split()[0] in str(refused.value)


def test_every_reserved_name_is_reserved_in_every_case() -> None:
    for name in RESERVED:
        for form in (name, name.upper(), name.lower(), name.title()):
            assert is_reserved(form), form


@pytest.mark.parametrize(
    ("a", "b"),
    [("DISCO", "D1SC0"), ("moderator", "rnoderator"), ("admin", "аdmin"), ("Ada", "Ａda")],
)
def test_look_alikes_share_a_skeleton(a: str, b: str) -> None:
    assert skeleton(a) == skeleton(b)


@pytest.mark.parametrize(("a", "b"), [("Ada", "Ida"), ("Ned", "Ted"), ("Kim", "Kin")])
def test_different_names_keep_different_skeletons(a: str, b: str) -> None:
    assert skeleton(a) != skeleton(b)


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("Ada", "Ada"),
        ("Ａｄａ", "Ada"),
        # Names stored before the rule: marks are cut down, reserved names hidden.
        ("a" + ACUTE + GRAVE + TILDE + "b", "á" + GRAVE + "b"),
        ("á" + GRAVE + TILDE, "á" + GRAVE),
        ("Ze" + "\u0336" * 20, "Ze" + "\u0336" * MAX_MARKS),
        ("DISCO", "Someone"),
        ("disco-moderator", "Someone"),
        ("Dіsco", "Someone"),
    ],
)
def test_the_lobby_shows_names_by_the_same_rule(stored: str, shown: str) -> None:
    assert clean_name(stored) == shown
