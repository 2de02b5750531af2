"""Zalgo nicknames (issue 22, item b): few combining marks per character, whatever the list."""

from __future__ import annotations

import unicodedata

import pytest

from randomchat.config import Settings
from randomchat.core.names import MAX_MARKS, NameFilter, too_many_marks
from randomchat.guests import load_name_filter
from randomchat.rules import Rules

pytestmark = pytest.mark.pure

ZALGO = "a" + "\u0301" * 31  # the finding: one letter and 31 combining marks, 32 characters
# Real names that need marks: Vietnamese typed decomposed (NFD), pointed Hebrew and
# Arabic, Thai tone marks, Tibetan stacks (Drolma), Hindi nukta + vowel + anusvara,
# a keycap and a ZWJ emoji sequence (VS16 is a mark), Greek polytonic.
REAL = (
    unicodedata.normalize("NFD", "Nguyễn Thị Ánh"),
    "שְׁלֹמֹה",
    "יִשָּׂשכָר",
    "مُحَمَّد",
    "ที่รัก",
    "སྒྲོལ་མ",
    "ज़िंदगी",
    "क्‍षमा",
    "Zoë 1\ufe0f\u20e3",
    "👩\u200d❤\ufe0f\u200d💋\u200d👨",
    unicodedata.normalize("NFD", "ἆλφα"),
)


def test_the_finding_is_refused_by_every_filter() -> None:
    for names in (NameFilter([]), load_name_filter(Settings())):
        assert not names.allows(ZALGO)
        assert not names.allows("Alice" + "\u0336" * 4)  # strike-through stacked
        assert names.allows("Alice")
    assert Rules(name_filter=NameFilter([])).shown_name(ZALGO) == "Stranger"


@pytest.mark.parametrize("name", REAL)
def test_names_of_real_scripts_pass(name: str) -> None:
    assert not too_many_marks(name)
    assert load_name_filter(Settings()).allows(name)


def test_the_limit_counts_marks_per_character() -> None:
    marks = "\u0346\u0347\u0348\u0349\u034a"  # compose with nothing
    assert not too_many_marks("e" + marks[:MAX_MARKS])
    assert too_many_marks("e" + marks[: MAX_MARKS + 1])
    # Spread over several letters, as many as each allows: fine.
    assert not too_many_marks(("e" + marks[:MAX_MARKS]) * 4)
    # Composition first: e + circumflex + dot below is one precomposed letter (ệ).
    assert not too_many_marks("e\u0323\u0302" + marks[:MAX_MARKS])
    # Enclosing (Me) and spacing (Mc) marks count too.
    assert too_many_marks("o" + "\u20dd" * (MAX_MARKS + 1))
    assert too_many_marks("क" + "\u093e" * (MAX_MARKS + 1))
    # A joiner or a direction mark between marks does not start a new character.
    assert too_many_marks("a" + "\u0301\u0301\u200d\u0301\u0301\u200e\u0301")
    # Marks with nothing before them count as a run of their own.
    assert too_many_marks("\u0301" * (MAX_MARKS + 1))
    assert not too_many_marks("")
