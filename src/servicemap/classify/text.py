"""Dutch text as the classifier reads it: folded, split into clauses and stemmed words."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

# The classic Snowball Dutch (Porter) stemmer: the newer 'dutch' algorithm strips a 'ge'
# anywhere in a word, which turns 'gezin' into 'zin' and 'geldzorgen' into 'ldzorg'.
_STEMMER = snowballstemmer.stemmer("dutch_porter")

# Words whose stem would merge two meanings the taxonomy keeps apart: 'ouderen' (elderly)
# and 'ouders' (parents) both stem to 'ouder'.
_STEM_EXCEPTIONS = {"ouderen": "ouderen", "oudere": "ouderen"}

# Articles and possessives carry no meaning for a label and are left out, so that the
# phrase "via de huisarts" also matches "via uw huisarts" and "via huisarts".
_FILLERS = frozenset({"de", "het", "een", "uw", "je", "jouw", "your", "the", "a", "an"})

_CLAUSE_BREAK = re.compile(r"[.;:!?()\[\]\n\r\t\"•|,]+|\s[-–]\s")
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Token:
    """One word of a clause: its folded form and its stem."""

    word: str
    stem: str


def fold(text: str) -> str:
    """Lowercase without accents: 'Cliëntondersteuning' and 'clientondersteuning' read alike."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    """The stem of one folded word."""
    return _STEM_EXCEPTIONS.get(word) or _STEMMER.stemWord(word)


def words(text: str) -> list[str]:
    """The folded words of `text`, without articles and possessives."""
    return [w for w in _WORD.findall(fold(text)) if w not in _FILLERS]


def clauses(text: str) -> list[tuple[str, ...]]:
    """The folded words of `text` per clause, split at punctuation: a negation reaches only
    its own clause."""
    return [clause for part in _CLAUSE_BREAK.split(fold(text)) if (clause := tuple(words(part)))]


def tokens(clause: tuple[str, ...]) -> list[Token]:
    """The words of one clause with their stems."""
    return [Token(w, stem(w)) for w in clause]
