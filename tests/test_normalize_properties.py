"""Properties over arbitrary text: each normaliser raises only its own named error, and
normalising what it returned changes nothing."""

from datetime import UTC, datetime

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from servicemap.normalize import (
    InvalidAddress,
    InvalidCoordinate,
    InvalidEmail,
    InvalidPhone,
    InvalidPostcode,
    NotAService,
    clean_name,
    clean_text,
    detect_language,
    normalize_email,
    normalize_phone,
    normalize_phones,
    normalize_postcode,
    normalize_record,
    normalize_website,
    parse_address,
    parse_coordinate,
    parse_opening_hours,
    split_street,
)
from servicemap.records import RawRecord
from servicemap.urls import InvalidURL

PIECES = st.sampled_from(
    [
        "030", "-", "123 45 67", "+31", "(0)", "06", "0800", "14 ", "112", "tel.", "toestel 12", "3511",
        "AB", "ab", "Kerkstraat", " 14", "a", "-bis", "Postbus", ",", "\n", "Brederwijk", "ma", "t/m", "vr",
        "9.00", "17:00", "uur", "tot", "en", "di", "<p>", "</p>", "&amp;", "&nbsp;", "Lees meer", "cookies",
        "mailto:", "info", "@", ".nl", "www.", "https://", " ", "(", ")", "/", ":", "12", "2",
        "Bezoekadres:", "Postadres:", "nr.", "7-9", "hs", "III", "E:", " @ ", "Mo-Fr", "09:00:00", "am", "pm",
        "elke", "Sat", "1-4", "T ", "x 12", "utm_source=x", "?", "&",
    ]
)  # fmt: skip
TEXT = st.one_of(st.text(max_size=60), st.lists(PIECES, max_size=12).map("".join))


@given(TEXT)
def test_phones_raise_only_invalid_phone_and_are_stable(raw):
    try:
        phones = normalize_phones(raw)
    except InvalidPhone:
        return
    for phone in phones:
        assert [p.number for p in normalize_phones(phone.number)] == [phone.number]


@given(TEXT)
def test_one_phone_raises_only_invalid_phone_and_is_stable(raw):
    try:
        phone = normalize_phone(raw)
    except InvalidPhone:
        return
    again = normalize_phone(phone.number)
    assert (again.number, again.kind) == (phone.number, phone.kind)


@given(TEXT)
def test_postcode_raises_only_invalid_postcode_and_is_stable(raw):
    try:
        postcode = normalize_postcode(raw)
    except InvalidPostcode:
        return
    assert normalize_postcode(postcode) == postcode


@given(st.lists(TEXT, max_size=3))
def test_address_raises_only_its_errors_and_reads_back_as_itself(lines):
    try:
        address = parse_address(lines)
    except (InvalidAddress, InvalidPostcode):
        return
    number = address.house_number + (f"-{address.addition}" if address.addition else "")
    place = " ".join(p for p in (address.postcode, address.city) if p)
    assert parse_address([f"{address.street} {number}", place]) == address


@given(TEXT)
def test_street_raises_only_invalid_address_and_reads_back_as_itself(raw):
    try:
        street, number, addition = split_street(raw)
    except InvalidAddress:
        return
    line = f"{street} {number}" + (f"-{addition}" if addition else "")
    assert split_street(line) == (street, number, addition)


@given(TEXT)
def test_email_raises_only_invalid_email_and_is_stable(raw):
    try:
        email = normalize_email(raw)
    except InvalidEmail:
        return
    assert normalize_email(email) == email


@given(TEXT)
def test_website_raises_only_invalid_url_and_is_stable(raw):
    try:
        url = normalize_website(raw)
    except InvalidURL:
        return
    assert normalize_website(url) == url


@given(TEXT)
def test_text_cleaning_never_raises_and_is_stable(raw):
    cleaned = clean_text(raw)
    assert clean_text(cleaned) == cleaned
    name = clean_name(raw)
    assert clean_name(name) == name and "\n" not in name
    assert detect_language(raw) in ("nl", "en", None)


@given(TEXT)
def test_opening_hours_never_raise_and_rows_are_complete_or_notes(raw):
    for row in parse_opening_hours(raw):
        if row.note is None:
            assert row.weekday in ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
            assert row.opens_at < row.closes_at
        else:
            assert (row.weekday, row.opens_at, row.closes_at) == (None, None, None)


@given(TEXT)
def test_opening_hours_read_back_as_themselves(raw):
    for row in parse_opening_hours(raw):
        text = row.note if row.note is not None else f"{row.weekday} {row.opens_at}-{row.closes_at}"
        assert parse_opening_hours(text) == [row]


@given(TEXT, st.lists(TEXT, max_size=2), st.lists(TEXT, max_size=2), TEXT, TEXT)
def test_a_record_raises_only_not_a_service(name, phones, address_lines, postcode, hours):
    raw = RawRecord(
        source_id="lindeloo-welzijn",
        key="/x",
        url="https://www.lindeloo.example.nl/x",
        fetched_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
        extraction="html",
        service_name=name,
        phones=phones,
        emails=phones,
        website=postcode,
        address_lines=address_lines,
        postcode=postcode,
        opening_hours=[hours],
        latitude=postcode,
        longitude=postcode,
    )
    try:
        record = normalize_record(raw)
    except NotAService:
        return
    assert record.name and "\n" not in record.name


@given(TEXT)
def test_coordinate_raises_only_invalid_coordinate(raw):
    try:
        value = parse_coordinate(raw, "lat")
    except InvalidCoordinate:
        return
    assert -90 <= value <= 90 and parse_coordinate(repr(value), "lat") == pytest.approx(value)


@given(st.from_regex(r"\A0[1-9][0-9]{7,9}\Z"))
def test_dutch_numbers_are_read_as_phonenumbers_reads_them(digits):
    number = phonenumbers.parse(digits, "NL")
    expected = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    try:
        [phone] = normalize_phones(f"{digits[:3]}-{digits[3:]}")
    except InvalidPhone:
        assert not phonenumbers.is_valid_number(number)
        return
    assert phonenumbers.is_valid_number(number) and phone.number == expected
