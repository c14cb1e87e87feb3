"""Dutch postcodes and visiting addresses split into street, number, addition, postcode and city."""

from __future__ import annotations

import re

from servicemap.records import Address


class InvalidPostcode(ValueError):
    """A value that is not a Dutch postcode (four digits, two letters)."""


class InvalidAddress(ValueError):
    """Address lines in which no visiting address can be read."""


class NotAVisitingAddress(InvalidAddress):
    """A PO box or freepost address: mail arrives there, people cannot."""


_POSTCODE = re.compile(r"^\s*(?:NL-?\s*)?([1-9]\d{3})\s?([A-Za-z]{2})(?![^\W\d_])(.*)$", re.S)
_POSTCODE_IN_TEXT = re.compile(r"(?<!\d)([1-9]\d{3})\s?([A-Z]{2}|[a-z]{2})(?![^\W\d_])")
# PostNL does not issue these letter pairs: a value with them is a typo or not a postcode.
_UNUSED_LETTERS = frozenset({"SA", "SD", "SS"})
_PO_BOX = re.compile(r"^\s*(?:postbus|antwoordnummer|p\.?o\.?\s*box)(?![^\W\d_])", re.I)
_COUNTRY = re.compile(r"^\s*(?:nederland|the netherlands|netherlands|nl)\s*$", re.I)
_CITY = re.compile(r"^(?:['’][st][- ]?)?[^\W\d_][^\W\d_'’.\- ]*(?:[ '’.\-]+[^\W\d_]+)*\.?$")
_ROMAN = re.compile(r"^[IVX]{1,4}$", re.I)
# 'Bezoekadres: ', 'nr. ': words around an address that are not part of it.
_LINE_LABEL = re.compile(
    r"^(?:bezoekadres|postadres|correspondentieadres|adres|locatie|address|visiting address|postal address)"
    r"\s*:\s*",
    re.I,
)
_NUMBER_WORD = re.compile(r"\s+(?:nr|no|nummer)\.?\s*(?=\d)", re.I)
_REMARK = re.compile(r"\s*\([^()]*\)")
# A number inside the street that is followed by more words ('Kerkstraat 14 A1', 'Stationsweg 1
# t/m 5') makes it unclear which number is the house number; ordinals ('2e Hogeweg') are names.
_NUMBER_IN_STREET = re.compile(r"(?<!\S)\d+[A-Za-z]?(?!\S)(?=\s+\S)")
_ORDINAL = re.compile(r"^\d+(?:e|ste|de)$", re.I)
# A house number with what follows it: a letter ('12a', '12 A'), a word ('12 bis', '12 hs'),
# a roman floor ('12 III') or, only after '-' or '/', another number ('12-2'). A second number
# after a plain space belongs to the street ('Plein 1944 12').
_STREET = re.compile(
    r"^(?P<street>.*?[^\W\d_].*?)(?:\s+|(?<=[^\W\d_.])(?=\d))(?P<number>[1-9]\d{0,4})"
    r"(?:\s*(?:[-/]\s*(?P<numeric>\d{1,4}[A-Za-z]?)"
    r"|[-\s]*(?P<word>bis|ter|hs|huis|rood|zwart|zw|bg|bv|boven|beneden|[IVX]{1,4}|[A-Za-z]{1,2}))\.?)?\s*$",
    re.I,
)


def normalize_postcode(raw: str) -> str:
    """Return '3511 AB' from '3511ab', ' 3511 AB ', '3511 AB Brederwijk': search and dedup need one form."""
    match = _POSTCODE.match(raw)
    rest = match.group(3) if match else ""
    if match is None or (rest.strip() and not _CITY.match(rest.strip(" ,"))):
        raise InvalidPostcode(f"{raw!r} is not a Dutch postcode (expected e.g. '3511 AB')")
    digits, letters = match.group(1), match.group(2).upper()
    if letters in _UNUSED_LETTERS:
        raise InvalidPostcode(f"{raw!r} is not a Dutch postcode ({letters!r} is never issued)")
    return f"{digits} {letters}"


def parse_address(
    lines: list[str],
    postcode: str | None = None,
    city: str | None = None,
    municipality: str | None = None,
) -> Address:
    """The visiting address in `lines` as sites write them, e.g. ['Kerkstraat 14, 3512 KL Brederwijk'].

    `postcode` and `city` fill what the lines lack; `municipality` comes from the source.
    """
    parts = (_LINE_LABEL.sub("", part.strip()) for line in lines for part in re.split(r"[,\n;|]", line))
    segments = [part for part in parts if part]
    found_postcode: str | None = None
    found_city: str | None = None
    streets: list[str] = []
    after_po_box = saw_po_box = False
    for segment in segments:
        if _PO_BOX.match(segment):
            after_po_box = saw_po_box = True
            continue
        if _COUNTRY.match(segment):
            continue
        match = _POSTCODE_IN_TEXT.search(segment)
        if match:
            if after_po_box:  # the postcode of the PO box, not of the building
                after_po_box = False
                continue
            before, after = segment[: match.start()].strip(), segment[match.end() :].strip()
            found_postcode = found_postcode or normalize_postcode(match.group(0))
            if after and _CITY.match(after):
                found_city = found_city or after
            if before:
                streets.append(before)
        elif streets and found_city is None and _CITY.match(segment):
            found_city = segment
        else:
            streets.append(segment)
    if not streets:
        if saw_po_box:
            raise NotAVisitingAddress(f"{', '.join(segments)!r} is a PO box, not a visiting address")
        raise InvalidAddress(f"{', '.join(segments)!r} has no street and house number")
    street, number, addition = _first_street(streets)
    if found_postcode is None and postcode and postcode.strip():
        found_postcode = normalize_postcode(postcode)
    if found_city is None and city and city.strip():
        found_city = " ".join(city.split())
    return Address(
        street=street,
        house_number=number,
        addition=addition,
        postcode=found_postcode,
        city=found_city,
        municipality=municipality,
    )


def _first_street(segments: list[str]) -> tuple[str, str, str | None]:
    """The first segment that reads as a street with a number: a building's name
    ('Wijkcentrum De Linde, Kerkstraat 14') often comes first."""
    for segment in segments:
        try:
            return split_street(segment)
        except InvalidAddress:
            continue
    return split_street(segments[0])  # raises with the first segment named


def split_street(raw: str) -> tuple[str, str, str | None]:
    """('Oudegracht', '12', 'bis') from 'Oudegracht 12-bis'; refuse a line without a house number.

    A range of numbers ('Vlasakker 7-9', both odd or both even and rising) is one building and
    stays the house number; a remark in brackets is left out.
    """
    text = _NUMBER_WORD.sub(" ", _LINE_LABEL.sub("", _REMARK.sub("", " ".join(raw.split()))))
    match = _STREET.match(text)
    if match is None or any(
        not _ORDINAL.match(m.group()) for m in _NUMBER_IN_STREET.finditer(match.group("street"))
    ):
        raise InvalidAddress(f"{raw!r} is not a street with a house number (expected e.g. 'Kerkstraat 14')")
    number, numeric = match.group("number"), match.group("numeric")
    if numeric and numeric.isdigit() and int(numeric) > int(number) and (int(numeric) - int(number)) % 2 == 0:
        return match.group("street").strip(" ,"), f"{number}-{numeric}", None
    addition = numeric or match.group("word")
    if addition is not None:
        if len(addition) == 1 or _ROMAN.match(addition) or addition[0].isdigit():
            addition = addition.upper()
        else:
            addition = addition.lower()
    return match.group("street").strip(" ,"), match.group("number"), addition
