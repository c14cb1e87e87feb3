"""Normalisation: raw fields as sites write them, into one form that search and dedup can compare."""

from servicemap.normalize.addresses import (
    InvalidAddress,
    InvalidPostcode,
    NotAVisitingAddress,
    normalize_postcode,
    parse_address,
    split_street,
)
from servicemap.normalize.contact import (
    InvalidCoordinate,
    InvalidEmail,
    normalize_email,
    normalize_website,
    parse_coordinate,
)
from servicemap.normalize.hours import WEEKDAYS, parse_opening_hours
from servicemap.normalize.phones import PHONE_KINDS, InvalidPhone, normalize_phone, normalize_phones
from servicemap.normalize.record import NotAService, normalize_record, normalize_records
from servicemap.normalize.text import clean_name, clean_text, detect_language

__all__ = [
    "PHONE_KINDS",
    "WEEKDAYS",
    "InvalidAddress",
    "InvalidCoordinate",
    "InvalidEmail",
    "InvalidPhone",
    "InvalidPostcode",
    "NotAService",
    "NotAVisitingAddress",
    "clean_name",
    "clean_text",
    "detect_language",
    "normalize_email",
    "normalize_phone",
    "normalize_phones",
    "normalize_postcode",
    "normalize_record",
    "normalize_records",
    "normalize_website",
    "parse_address",
    "parse_coordinate",
    "parse_opening_hours",
    "split_street",
]
