"""The nickname word filter: which names strangers may be shown.

A list holds one entry per line; ``#`` starts a comment. A plain entry is
refused as a whole word of the name; an entry starting with ``*`` is refused
anywhere in it, also across spaces, dots and dashes (for words no honest name
contains). Before comparing, a name is folded: Unicode compatibility forms
(full-width letters, ligatures) and case are folded, accents are removed, and
the usual digit and symbol stand-ins for letters (``0`` for ``o``, ``@`` for
``a``, ``$`` for ``s``) are read as those letters. So ``B1TCH``, ``b.i.t.c.h``
and the same word in full-width letters meet the same entry.

Whole-word entries stay whole words so that ordinary names containing a short
word (Scunthorpe, Cassandra) pass; an operator who wants a short word refused
anywhere marks it with ``*``.

Whatever the list, a name with more than ``MAX_MARKS`` combining marks on one
character is refused: "Zalgo" text, a letter with dozens of accents stacked on it,
spills over the lines above and below it wherever the name is shown.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_STAND_INS = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "@": "a",
        "$": "s",
        "!": "i",
        "|": "i",
        "+": "t",
    }
)
_NOT_LETTERS = re.compile(r"[^a-z]+")

# Combining marks allowed on one character, counted after NFC composition (so that
# Vietnamese or Greek typed decomposed counts as the precomposed letters it is). Real
# names need up to three: Tibetan stacks (the common name སྒྲོལ་མ, Drolma), Hindi ज़िं (nukta,
# vowel sign, anusvara), pointed Hebrew שָּׂ; two would refuse those. Zalgo text needs many
# more to spill over a line, and three stacked marks stay within about one line height.
MAX_MARKS = 3
_MARKS = frozenset({"Mn", "Mc", "Me"})


def too_many_marks(name: str, limit: int = MAX_MARKS) -> bool:
    """Whether a character of ``name`` carries more than ``limit`` combining marks.

    Format characters (ZWJ, ZWNJ, direction marks, tags) do not start a new character:
    otherwise a ZWJ every few marks would stack any number of them on one letter.
    """
    run = 0
    for ch in unicodedata.normalize("NFC", name):
        category = unicodedata.category(ch)
        if category in _MARKS:
            run += 1
            if run > limit:
                return True
        elif category != "Cf":
            run = 0
    return False


def fold(text: str) -> str:
    """Compatibility forms, case and accents folded; digit and symbol stand-ins read as letters."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return bare.translate(_STAND_INS)


class NameFilter:
    def __init__(self, entries: Iterable[str]) -> None:
        words: set[str] = set()
        anywhere: set[str] = set()
        for raw in entries:
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            target = anywhere if line.startswith("*") else words
            folded = _NOT_LETTERS.sub("", fold(line.lstrip("*")))
            if folded:
                target.add(folded)
        self.words = frozenset(words)
        self.anywhere = tuple(sorted(anywhere))

    @classmethod
    def parse(cls, text: str) -> NameFilter:
        return cls(text.splitlines())

    def __len__(self) -> int:
        return len(self.words) + len(self.anywhere)

    def allows(self, name: str) -> bool:
        """Whether ``name`` may be shown to strangers. O(len(name) · entries with ``*``)."""
        if too_many_marks(name):
            return False
        folded = fold(name)
        tokens = [t for t in _NOT_LETTERS.split(folded) if t]
        if any(token in self.words for token in tokens):
            return False
        squashed = "".join(tokens)
        if squashed in self.words:  # "b i t c h", "b.i.t.c.h"
            return False
        return not any(word in squashed for word in self.anywhere)
