"""Words as search sees them: lower case, accents folded, letters and digits only, Dutch stems.

The stemmer is Snowball's `dutch_porter`, the algorithm PostgreSQL's `dutch` configuration
uses, so that a word is reduced to the same stem on both backends ('schulden' -> 'schuld').
Accents are folded on both sides before either backend sees a word, so 'clientondersteuning'
finds 'Cliëntondersteuning' and 'taalcafe' finds 'Taalcafé'.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import snowballstemmer

_WORD = re.compile(r"[^\W_]+")
_STEMMER = snowballstemmer.stemmer("dutch_porter")

# PostgreSQL's `dutch` stop words (Snowball's list), so that SQLite drops the same query words:
# 'hulp bij formulieren' searches 'hulp' and 'formulieren'.
_STOP_WORDS = """
de en van ik te dat die in een hij het niet zijn is was op aan met als voor had er maar om
hem dan zou of wat mijn men dit zo door over ze zich bij ook tot je mij uit der daar haar
naar heb hoe heeft hebben deze u want nog zal me zij nu ge geen omdat iets worden toch al
waren veel meer doen toen moet ben zonder kan hun dus alles onder ja eens hier wie werd
altijd doch wordt wezen kunnen ons zelf tegen na reeds wil kon niets uw iemand geweest
andere
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())
# A compound is split only into parts this long: 'schuld|hulp', never 'de|ur'.
MIN_PART = 4


@lru_cache(maxsize=200_000)
def fold(text: str) -> str:
    """'Cliëntondersteuning' -> 'clientondersteuning'; cached, as words repeat."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str | None) -> list[str]:
    """'Schuldhulp & Taalcafé!' -> ['schuldhulp', 'taalcafe']: nothing else reaches a query."""
    return [fold(w) for w in _WORD.findall(text)] if text else []


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The word's stem; cached, as the pure-Python stemmer costs about 0.4 ms a word."""
    return _STEMMER.stemWord(word)


def compound_vocabulary(found: Iterable[str]) -> frozenset[str]:
    """The words that may start a compound: every word of `found` (words of the texts, as
    `words` gives them) long enough and not a stop word."""
    return frozenset(w for w in found if len(w) >= MIN_PART and w not in STOP_WORDS)


def compound_tails(word: str, vocabulary: frozenset[str]) -> list[str]:
    """The tails of `word` after every head that is a word of `vocabulary`:
    'schuldhulpverlening' -> ['hulpverlening', 'verlening'] when 'schuld' and 'schuldhulp' are.

    Indexed beside the word, a tail lets a prefix search for 'hulp' find 'Schuldhulpverlening',
    which a prefix search on the whole word cannot."""
    return [word[i:] for i in range(MIN_PART, len(word) - MIN_PART + 1) if word[:i] in vocabulary]


class IndexText:
    """Texts as the index stores them: their words followed by the tails of their compounds,
    stemmed for SQLite (PostgreSQL stems with its `dutch` configuration). A word's tails are
    worked out once per publish, as the same words recur in thousands of services."""

    def __init__(self, vocabulary: frozenset[str], stemmed: bool):
        self._vocabulary = vocabulary
        self._stemmed = stemmed
        self._tails: dict[str, list[str]] = {}

    def __call__(self, found: list[str]) -> str:
        indexed = list(found)
        for word in found:
            tails = self._tails.get(word)
            if tails is None:
                tails = self._tails[word] = compound_tails(word, self._vocabulary)
            indexed.extend(tails)
        return " ".join(stem(w) for w in indexed) if self._stemmed else " ".join(indexed)
