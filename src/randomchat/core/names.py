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
        folded = fold(name)
        tokens = [t for t in _NOT_LETTERS.split(folded) if t]
        if any(token in self.words for token in tokens):
            return False
        squashed = "".join(tokens)
        if squashed in self.words:  # "b i t c h", "b.i.t.c.h"
            return False
        return not any(word in squashed for word in self.anywhere)
