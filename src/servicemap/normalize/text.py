"""Text as a person reads it: no HTML, no entities, no page furniture, one space between words."""

from __future__ import annotations

import html
import re
from functools import lru_cache

_SCRIPT = re.compile(r"<(script|style|noscript)\b[^>]*>.*?</\1\s*>", re.I | re.S)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_BLOCK_TAG = re.compile(r"<\s*(?:br|/p|p|/div|div|/li|li|/h[1-6]|h[1-6]|/tr|tr|hr)\b[^<>]*>", re.I)
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_LINE_BREAK = re.compile(r"[\r\n\u2028\u2029]+")
_BOILERPLATE_LINE = re.compile(
    r"^(?:lees\s+meer|lees\s+verder|meer\s+info(?:rmatie)?|bekijk\s+(?:meer|alles)|deel\s+(?:deze\s+)?"
    r"(?:pagina|bericht)|delen|share(?:\s+this(?:\s+page)?)?|read\s+more|more\s+info(?:rmation)?|print|"
    r"printen|terug|naar\s+boven|back\s+to\s+top|home|menu|sluiten|close|"
    r"(?:alle\s+cookies\s+)?(?:accepteren|accepteer|weigeren)|akkoord|accept(?:\s+all)?|decline)\W*$",
    re.I,
)
_TRAILING_BOILERPLATE = re.compile(
    r"(?:\s*(?:\.\.\.|…)?\s*\b(?:lees\s+meer|lees\s+verder|meer\s+informatie|read\s+more)\b\s*[»›>→.…]*)+\s*$",
    re.I,
)
_TRAILING_HINT = re.compile(r"lees|meer|read")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\u00c0-\u00de])")
_COOKIE = re.compile(r"\bcookies?\b", re.I)
_BANNER_WORD = re.compile(
    r"\b(?:accepteer|accepteren|akkoord|toestemming|gebruik|gebruiken|gebruikt|plaatsen|plaatst|"
    r"instellingen|voorkeuren|accept|use|uses|consent|settings|agree|privacy)\b",
    re.I,
)


# fmt: off
NL_STOPWORDS = frozenset(
    {
        "de", "het", "een", "en", "van", "dat", "die", "voor", "met", "zijn", "niet", "aan", "er", "om",
        "ook", "als", "bij", "naar", "wordt", "worden", "u", "uw", "je", "jij", "wij", "kunt", "kan",
        "hebben", "heeft", "dit", "deze", "maar", "door", "over", "zich", "nog", "wat", "hoe", "waar",
        "wie", "wanneer", "hulp", "uit", "tot", "onze", "ons", "zo", "al", "meer", "geen", "mensen",
        "ik", "bent", "wilt", "hier", "gaat", "krijgt", "samen",
    }
)
EN_STOPWORDS = frozenset(
    {
        "the", "and", "to", "for", "with", "are", "you", "your", "be", "this", "that", "on", "can",
        "our", "by", "not", "from", "at", "as", "have", "has", "will", "it", "they", "their", "what",
        "how", "who", "when", "help", "if", "about", "which", "people", "there", "more", "need", "an",
        "do", "get",
    }
)
# fmt: on


def clean_text(raw: str) -> str:
    """Text with tags, entities, cookie banners and 'Lees meer' links gone; one line per paragraph.

    >>> clean_text("<p>Hulp bij&nbsp;schulden.</p><p>Lees meer &raquo;</p>")
    'Hulp bij schulden.'
    """
    text = raw
    # Feeds escape twice ('&amp;lt;p&amp;gt;'); unescape and strip until nothing changes, so
    # that cleaning cleaned text changes nothing. Each round that changes the text shortens it.
    while "<" in text or "&" in text:
        stripped = _strip_markup(html.unescape(text))
        if stripped == text:
            break
        text = stripped
    lines = []
    for line in _LINE_BREAK.split(text):
        line = " ".join(line.split())
        line = _strip_trailing_links(line)
        if not line or _BOILERPLATE_LINE.match(line):
            continue
        if "cookie" in line.lower() and _COOKIE.search(line):
            line = " ".join(s for s in _SENTENCE.split(line) if not _is_cookie_banner(s)).strip()
        if line and not _BOILERPLATE_LINE.match(line):
            lines.append(line)
    return "\n".join(lines)


@lru_cache(maxsize=65536)
def clean_name(raw: str) -> str:
    """A name on one line: 'Buurtteam\\n Noord' is 'Buurtteam Noord'. Cached: one site writes the
    same organisation and category names on every page."""
    return clean_text(" ".join(clean_text(raw).split()))


def _strip_trailing_links(line: str) -> str:
    """'Hulp bij schulden... Lees meer »' without its link text; only the end of the line is
    searched, and only when it holds a word of such a link, so that long descriptions stay cheap."""
    while _TRAILING_HINT.search(line[-60:].lower()) and (
        match := _TRAILING_BOILERPLATE.search(line, max(0, len(line) - 60))
    ):
        line = line[: match.start()].rstrip()
    return line.strip()


def _is_cookie_banner(sentence: str) -> bool:
    return bool(_COOKIE.search(sentence) and _BANNER_WORD.search(sentence))


def _strip_markup(text: str) -> str:
    text = _COMMENT.sub(" ", _SCRIPT.sub(" ", text))
    return _TAG.sub(" ", _BLOCK_TAG.sub("\n", text))


_WORD = re.compile(r"[a-zà-ÿ]+")


def detect_language(text: str) -> str | None:
    """'nl' or 'en' by counting common words in the first 2,000 characters (a paragraph
    decides, and a whole page costs no more); None when the text is too short to tell."""
    dutch = english = 0
    for word in _WORD.findall(text[:2000].lower()):
        if word in NL_STOPWORDS:
            dutch += 1
        if word in EN_STOPWORDS:
            english += 1
    if max(dutch, english) < 2:
        return None
    if dutch >= 2 * english:
        return "nl"
    if english >= 2 * dutch:
        return "en"
    return None
