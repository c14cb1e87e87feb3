"""Phone numbers in E.164 with their kind, label and extension, from text as sites write it."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneNumberType

from servicemap.records import Phone

PHONE_KINDS = (
    "landline",
    "mobile",
    "toll_free",
    "premium",
    "shared_cost",
    "voip",
    "municipal",
    "business",
    "emergency",
    "other",
)

_KIND_BY_TYPE = {
    PhoneNumberType.FIXED_LINE: "landline",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "landline",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.UAN: "business",
}
# "14 030": the national municipal number, 14 and the area code (010, 0318...). Read here,
# not by phonenumbers, whose metadata calls it a UAN or may not know it at all.
_MUNICIPAL = re.compile(r"^\+31140\d{2,3}$")
# A run of digits with the separators sites put in numbers; hours, dates and too-short runs
# are filtered out after matching.
_CANDIDATE = re.compile(r"(?<![\w+])(?:\+\s?)?(?:\(\d{2,5}\)|\d)(?:[\d \-.]|\(0\)|\(\d{2,5}\))*\d(?!\w)")
_EMERGENCY = re.compile(r"^\D*\b112\b\D*$")
_EXTENSION = re.compile(r"^\W*(?:toestel|tst\.?|toestelnummer|ext\.?|extension|x)\s*:?\s*(\d{1,6})\b", re.I)
_LABEL_EDGE_WORDS = re.compile(
    r"^(?:bel(?:\s+ons)?(?:\s+op)?|t(?=[\s:]|$)|tel(?:efoon)?(?:nummer|\.?\s*nr)?|telephone|phone|call|nummer|of|or|en|and|via)\b\.?"
    r"|\b(?:of|or|en|and|via|bel|tel)\.?$",
    re.I,
)
_LABEL_EDGE_CHARS = " :;,|/-–.[]"
# Digit runs shaped like a number that a person reads as hours or a date.
_NOT_A_NUMBER = re.compile(
    r"^(?:\d{1,2}[.:]\d{2}\s*(?:uur)?\s*[-–]\s*\d{1,2}[.:]\d{2}|\d{1,2}[-/.]\d{1,2}[-/.](?:\d{2}|\d{4}))$"
)


class InvalidPhone(ValueError):
    """Text in which no valid phone number can be found."""


def normalize_phones(raw: str) -> list[Phone]:
    """Every number in `raw` with the words around it as its label.

    >>> [p.number for p in normalize_phones("Spreekuur: 030-1234567, crisislijn: 0800-0123")]
    ['+31301234567', '+318000123']
    """
    return [Phone(**phone.__dict__) for phone in _normalize_phones(raw)]


def normalize_phone(raw: str) -> Phone:
    """The one number in `raw`; refuse text with none or with several."""
    phones = _normalize_phones(raw)
    if len(phones) > 1:
        numbers = ", ".join(p.number for p in phones)
        raise InvalidPhone(f"{raw!r} holds {len(phones)} phone numbers ({numbers}), expected one")
    return Phone(**phones[0].__dict__)


@lru_cache(maxsize=65536)
def _normalize_phones(raw: str) -> tuple[Phone, ...]:
    # Cached: the same switchboard number appears on hundreds of pages of one site. Callers get
    # new objects built from the cached ones (cheaper than `model_copy`), never the cached ones.
    text = " ".join(raw.split())
    if _EMERGENCY.match(text) and not re.search(r"\d{4}", text):
        return (Phone(number="112", kind="emergency", label=_label(text.replace("112", " "))),)
    matches = [
        match
        for match in _CANDIDATE.finditer(text)
        if sum(c.isdigit() for c in match.group()) >= 5 and not _NOT_A_NUMBER.match(match.group())
    ]
    found = [span for match in matches for span in _read_span(match, raw, text)]
    phones: list[Phone] = []
    previous_end = 0
    for index, (start, end, e164, kind) in enumerate(found):
        following = text[end : found[index + 1][0] if index + 1 < len(found) else len(text)]
        extension = _EXTENSION.match(following)
        if extension:
            following = following[extension.end() :]
        label_text = text[previous_end:start]
        if index == len(found) - 1:
            label_text = f"{label_text} {following}"
        phones.append(
            Phone(
                number=e164,
                kind=kind,
                label=_label(label_text),
                extension=extension.group(1) if extension else None,
            )
        )
        previous_end = end + (extension.end() if extension else 0)
    if not phones:
        raise InvalidPhone(f"{raw!r} is not a Dutch phone number (expected e.g. '030 123 45 67')")
    return tuple(phones)


def _read_span(match: re.Match[str], raw: str, text: str) -> list[tuple[int, int, str, str]]:
    """The number in one run of digits, or two when a site wrote them side by side
    ('030 1234567 06 12345678'); `InvalidPhone` when it is neither."""
    candidate, start = match.group(), match.start()
    e164, kind = _read_number(candidate)
    if e164 is not None:
        return [(start, match.end(), e164, kind)]
    for split in (i for i, c in enumerate(candidate) if c == " "):
        left, right = candidate[:split].rstrip(" -"), candidate[split:].lstrip(" -")
        (left_number, left_kind), (right_number, right_kind) = _read_number(left), _read_number(right)
        if left_number and right_number:
            right_start = start + len(candidate) - len(right)
            return [
                (start, start + len(left), left_number, left_kind),
                (right_start, match.end(), right_number, right_kind),
            ]
    if candidate == text:
        raise InvalidPhone(f"{raw!r} is not a Dutch phone number (expected e.g. '030 123 45 67')")
    raise InvalidPhone(f"{candidate!r} in {raw!r} is not a valid phone number")


def _read_number(candidate: str) -> tuple[str | None, str]:
    """('+31301234567', 'landline') from '+31 (0)30 123 45 67'; (None, '') when not valid.

    Dutch numbers are taken apart here and only their type is asked of phonenumbers:
    its full parser is several times slower, which counts over 100,000 records.
    """
    digits = "".join(c for c in candidate if c.isdigit())
    international = candidate.lstrip("(").startswith("+") or digits.startswith("00")
    if international:
        digits = digits if candidate.lstrip("(").startswith("+") else digits[2:]
        if not digits.startswith("31"):
            try:
                number = phonenumbers.parse("+" + digits)
            except phonenumbers.NumberParseException:
                return None, ""
            kind = _KIND_BY_TYPE.get(phonenumbers.number_type(number), "other")
            valid = phonenumbers.is_valid_number(number)
            return (
                (phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), kind)
                if valid
                else (None, "")
            )
        national = digits[2:].removeprefix("0")  # '+31 (0)30': the trunk 0 some sites keep
    else:
        national = digits.removeprefix("0")
    if not national or national.startswith("0") or len(national) > 12:
        return None, ""
    kind = _dutch_kind(national)
    return (f"+31{national}", kind) if kind else (None, "")


@lru_cache(maxsize=262144)
def _dutch_kind(national: str) -> str | None:
    if _MUNICIPAL.match(f"+31{national}"):
        return "municipal"
    kind = phonenumbers.number_type(phonenumbers.PhoneNumber(country_code=31, national_number=int(national)))
    return None if kind == PhoneNumberType.UNKNOWN else _KIND_BY_TYPE.get(kind, "other")


def _label(text: str) -> str | None:
    """'spreekuur' from 'Spreekuur: ', 'ma-vr' from '(ma-vr)': the words a site put beside a number."""
    words = " ".join(text.split()).strip(_LABEL_EDGE_CHARS)
    while (shorter := _LABEL_EDGE_WORDS.sub("", words).strip(_LABEL_EDGE_CHARS)) != words:
        words = shorter
    if words.startswith("(") and words.endswith(")") and "(" not in words[1:-1]:
        words = words[1:-1]
    if words.count("(") != words.count(")"):
        words = words.replace("(", "").replace(")", "")
    return words.strip(_LABEL_EDGE_CHARS).lower() or None
