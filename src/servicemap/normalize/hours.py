"""Opening hours from Dutch, English and schema.org text into HSDS schedule rows.

Text is read only when every word in it is understood (days, times, 'tot', 'en', 'uur'...);
anything else ('dinsdagochtend', 'op afspraak') becomes a row with only a note, never a guess.
"""

from __future__ import annotations

import re
from functools import lru_cache

from servicemap.normalize.text import clean_text
from servicemap.records import ScheduleRow

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")

_DAY_NAMES = {
    0: "maandag maandags maandagen ma maa mo mon monday mondays",
    1: "dinsdag dinsdags dinsdagen di din tu tue tues tuesday tuesdays",
    2: "woensdag woensdags woensdagen wo woe we wed weds wednesday wednesdays",
    3: "donderdag donderdags donderdagen do don th thu thur thurs thursday thursdays",
    4: "vrijdag vrijdags vrijdagen vr vrij fr fri friday fridays",
    5: "zaterdag zaterdags zaterdagen za zat sa sat saturday saturdays",
    6: "zondag zondags zondagen zo zon su sun sunday sundays",
}
_DAYS = {name: (day,) for day, names in _DAY_NAMES.items() for name in names.split()}
_DAYS.update(
    {
        "dagelijks": tuple(range(7)),
        "daily": tuple(range(7)),
        "werkdagen": tuple(range(5)),
        "weekdagen": tuple(range(5)),
        "weekdays": tuple(range(5)),
        "weekend": (5, 6),
        "weekends": (5, 6),
    }
)
_FILLERS = frozenset(
    [
        "uur",
        "u",
        "h",
        "van",
        "from",
        "open",
        "geopend",
        "opened",
        "on",
        "op",
        "is",
        "are",
        "hours",
        "openingstijden",
        "opening",
        "times",
        "elke",
        "every",
        ":",
    ]
)
_CLOSED = frozenset({"gesloten", "closed"})
_RANGE_WORDS = frozenset({"tot", "t/m", "tm", "to", "until", "till", "through", "thru"})
_AND_WORDS = frozenset({"en", "and"})
_TOKEN = re.compile(
    r"(?P<time>\d{1,2}(?:[:.]\d{2}(?::\d{2})?)?\s*(?:uur\b|u\b|h\b|a\.?m\.?|p\.?m\.?)?)"
    r"|(?P<word>t\s*/\s*m\.?|t\.m\.|tot\s+en\s+met|[^\W\d_]+\.?)"
    r"|(?P<dash>[-–—‐])"
    r"|(?P<sep>[,&/+:])"
    r"|(?P<other>\S)",
    re.I,
)
# '09:00:00' as HSDS and schema.org write times; seconds other than :00 are not opening hours.
_TIME = re.compile(r"^(\d{1,2})(?:[:.](\d{2})(?::(00))?)?\s*(uur|u|h|a\.?m\.?|p\.?m\.?)?$", re.I)
# '1', '3 uur': an hour without minutes or am/pm, which a person may mean as 13:00.
_BARE_HOUR = re.compile(r"^\d{1,2}\s*(?:uur|u|h)?$", re.I)
_SEGMENT = re.compile(r"[\n;|]+")
_DAY = "day"


def parse_opening_hours(raw: str) -> list[ScheduleRow]:
    """Rows for every weekday and time range in `raw`; a note row for each part not understood.

    >>> [(r.weekday, r.opens_at, r.closes_at) for r in parse_opening_hours("di en do 9.00-12.00")]
    [('TU', '09:00', '12:00'), ('TH', '09:00', '12:00')]
    """
    return [ScheduleRow(**row.__dict__) for row in _parse_opening_hours(raw)]


@lru_cache(maxsize=65536)
def _parse_opening_hours(raw: str) -> tuple[ScheduleRow, ...]:
    # Cached: a site writes the same hours on every page of one office. Callers get new rows
    # built from the cached ones, never the cached ones.
    rows: list[ScheduleRow] = []
    for segment in _SEGMENT.split(clean_text(raw)):
        segment = segment.strip()
        if not segment:
            continue
        parsed = _parse_segment(segment)
        rows.extend(parsed if parsed is not None else [ScheduleRow(note=segment)])
    return tuple(rows)


def _tokens(text: str) -> list[tuple[str, object]] | None:
    """('day', (0,)), ('time', ('09:00', False)), ('range', None), ('and', None), ('closed', None);
    a time is (HH:MM, whether it was a bare hour such as '9' or '9 uur')."""
    tokens: list[tuple[str, object]] = []
    for match in _TOKEN.finditer(text.lower()):
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "time":
            time = _time(value)
            if time is None:
                return None
            tokens.append(("time", (time, bool(_BARE_HOUR.match(value.strip())))))
        elif kind == "dash":
            tokens.append(("range", None))
        elif kind == "sep":
            if value != ":":  # 'ma: 9-12' as often as 'ma 9-12'
                tokens.append(("and", None))
        elif kind == "word":
            word = value.rstrip(".")
            if re.sub(r"\s+", "", value).rstrip(".") in ("t/m", "t.m", "totenmet"):
                word = "t/m"
            if word in _DAYS:
                tokens.append((_DAY, _DAYS[word]))
            elif word in _RANGE_WORDS:
                tokens.append(("range", None))
            elif word in _AND_WORDS:
                tokens.append(("and", None))
            elif word in _CLOSED:
                tokens.append(("closed", None))
            elif word in _FILLERS:
                continue
            else:
                return None
        else:
            return None
    while tokens and tokens[-1][0] == "and":  # 'ma 9-12,' as lists are written
        tokens.pop()
    return tokens


def _time(text: str) -> str | None:
    match = _TIME.match(text.strip())
    if match is None:
        return None
    hour, minute, suffix = int(match.group(1)), int(match.group(2) or 0), (match.group(4) or "").lower()
    if suffix.startswith("p") and hour < 12:
        hour += 12
    elif suffix.startswith("a") and hour == 12:
        hour = 0
    if minute > 59 or hour > 24 or (hour == 24 and minute):
        return None
    return f"{hour:02d}:{minute:02d}"


def _parse_segment(text: str) -> list[ScheduleRow] | None:
    """Groups of 'days times' or 'days gesloten'; None when any token does not fit."""
    tokens = _tokens(text)
    if not tokens:
        return None
    rows: list[ScheduleRow] = []
    position = 0
    while position < len(tokens):
        if position and tokens[position][0] == "and":
            position += 1
        closed_first = position < len(tokens) and tokens[position][0] == "closed"
        position += closed_first
        days, position = _days(tokens, position)
        if not days:
            return None
        if closed_first:
            continue
        if position < len(tokens) and tokens[position][0] == "closed":
            position += 1
            continue
        ranges, position = _ranges(tokens, position)
        if not ranges:
            return None
        rows.extend(
            ScheduleRow(weekday=WEEKDAYS[day], opens_at=opens, closes_at=closes)
            for day in days
            for opens, closes in ranges
        )
    return rows


def _days(tokens: list[tuple[str, object]], position: int) -> tuple[list[int], int]:
    days: list[int] = []
    while position < len(tokens) and tokens[position][0] == _DAY:
        first = tokens[position][1]
        position += 1
        if _at(tokens, position, "range") and _at(tokens, position + 1, _DAY):
            start, end = first[0], tokens[position + 1][1][-1]
            span = (end - start) % 7
            days.extend((start + offset) % 7 for offset in range(span + 1))
            position += 2
        else:
            days.extend(first)
        if _at(tokens, position, "and") and _at(tokens, position + 1, _DAY):
            position += 1
    return list(dict.fromkeys(days)), position


def _ranges(tokens: list[tuple[str, object]], position: int) -> tuple[list[tuple[str, str]], int]:
    ranges: list[tuple[str, str]] = []
    while (
        _at(tokens, position, "time")
        and _at(tokens, position + 1, "range")
        and _at(tokens, position + 2, "time")
    ):
        opens, closes = tokens[position][1], tokens[position + 2][1]
        if opens[0] >= closes[0] or _ambiguous(opens, closes):
            return [], position
        ranges.append((opens[0], closes[0]))
        position += 3
        if _at(tokens, position, "and") and _at(tokens, position + 1, "time"):
            position += 1
    return ranges, position


def _ambiguous(opens: tuple[str, bool], closes: tuple[str, bool]) -> bool:
    """'Sat 1-4', 'van 1 tot 3 uur': bare hours before 7 in the morning are as often afternoon
    hours written without 'pm' as night hours; which one is not certain, so the text stays a note."""
    return opens[1] and closes[1] and opens[0] < "07:00" and closes[0] <= "12:00"


def _at(tokens: list[tuple[str, object]], position: int, kind: str) -> bool:
    return position < len(tokens) and tokens[position][0] == kind
