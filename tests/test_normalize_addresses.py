import re

import pytest

from servicemap.normalize import (
    InvalidAddress,
    InvalidPostcode,
    NotAVisitingAddress,
    normalize_postcode,
    parse_address,
)

POSTCODES = [
    ("3511AB", "3511 AB"),
    ("3511 ab", "3511 AB"),
    ("3511 AB", "3511 AB"),
    (" 3511 AB ", "3511 AB"),
    (" 3511 AB Brederwijk", "3511 AB"),
    ("3511ab brederwijk", "3511 AB"),
    ("3511 Ab", "3511 AB"),
    ("NL-3511 AB", "3511 AB"),
    ("NL 3511AB", "3511 AB"),
    ("1011 AC", "1011 AC"),
    ("9999 ZZ", "9999 ZZ"),
    ("3511 AB, Brederwijk", "3511 AB"),
    ("3511 AB 's-Brederwijk", "3511 AB"),
    ("3511 ab Lindeloo", "3511 AB"),
    ("3511AB Lindeloo", "3511 AB"),
    ("NL-3511AB", "3511 AB"),
    ("3511\tAB", "3511 AB"),
    ("3511 AB LINDELOO", "3511 AB"),
    ("3511 AB, Nederland", "3511 AB"),
    ("3511 AB Den Vechtmond", "3511 AB"),
]


@pytest.mark.parametrize(("raw", "expected"), POSTCODES)
def test_postcode_in_one_form(raw, expected):
    assert normalize_postcode(raw) == expected


REFUSED_POSTCODES = [
    "35x1",
    "3511",
    "351 AB",
    "35111 AB",
    "0511 AB",
    "3511 A",
    "3511 ABC",
    "3511 SS",
    "3511 SA",
    "3511 sd",
    "AB 3511",
    "3511 AB 12",
    "",
    "Brederwijk",
    "B-1000",
    "3511-AB",
    "3511 A B",
    "35 11 AB",
    "3511ABC",
    "3511 AB123",
    "Postcode: 3511 AB",
    "3511 ÀB",
    "1234 AB Lindeloo 12",
    "3511 AB (Lindeloo)",
]


@pytest.mark.parametrize("raw", REFUSED_POSTCODES)
def test_not_a_postcode_is_refused_with_the_value(raw):
    with pytest.raises(InvalidPostcode, match=re.escape(f"{raw!r} is not a Dutch postcode")):
        normalize_postcode(raw)


# (address lines as sites write them, street, number, addition, postcode, city)
ADDRESSES = [
    (["Kerkstraat 14"], "Kerkstraat", "14", None, None, None),
    (["Kerkstraat 14, 3512 KL Brederwijk"], "Kerkstraat", "14", None, "3512 KL", "Brederwijk"),
    (["Kerkstraat 14", "3512 KL Brederwijk"], "Kerkstraat", "14", None, "3512 KL", "Brederwijk"),
    (["Kerkstraat 14", "3512KL  Brederwijk", "Nederland"], "Kerkstraat", "14", None, "3512 KL", "Brederwijk"),
    (["Kerkstraat 14 3512 KL Brederwijk"], "Kerkstraat", "14", None, "3512 KL", "Brederwijk"),
    (["Kerkstraat 14\n3512 kl Brederwijk"], "Kerkstraat", "14", None, "3512 KL", "Brederwijk"),
    (["Oudegracht 12-bis"], "Oudegracht", "12", "bis", None, None),
    (["Oudegracht 12 bis"], "Oudegracht", "12", "bis", None, None),
    (["Oudegracht 12a"], "Oudegracht", "12", "A", None, None),
    (["Oudegracht 12 A"], "Oudegracht", "12", "A", None, None),
    (["Oudegracht 12-A"], "Oudegracht", "12", "A", None, None),
    (["Oudegracht 12-2"], "Oudegracht", "12", "2", None, None),
    (["Oudegracht 12 - 2"], "Oudegracht", "12", "2", None, None),
    (["Oudegracht 12/3"], "Oudegracht", "12", "3", None, None),
    (["Oudegracht 12 hs"], "Oudegracht", "12", "hs", None, None),
    (["Oudegracht 12-hs"], "Oudegracht", "12", "hs", None, None),
    (["Oudegracht 12 III"], "Oudegracht", "12", "III", None, None),
    (["Oudegracht 12 rood"], "Oudegracht", "12", "rood", None, None),
    (["Kerkstraat14"], "Kerkstraat", "14", None, None, None),
    (["2e Hogeweg 10"], "2e Hogeweg", "10", None, None, None),
    (["Plein 1944 12"], "Plein 1944", "12", None, None, None),
    (["Laan van 1813 5, 3512 AB Brederwijk"], "Laan van 1813", "5", None, "3512 AB", "Brederwijk"),
    (
        ["Burgemeester van Reenensingel 101, Brederwijk"],
        "Burgemeester van Reenensingel",
        "101",
        None,
        None,
        "Brederwijk",
    ),
    (["Bisschop Möllerstraat 3"], "Bisschop Möllerstraat", "3", None, None, None),
    (
        ["Prinses Máximaplein 1 | 3521 AB Brederwijk"],
        "Prinses Máximaplein",
        "1",
        None,
        "3521 AB",
        "Brederwijk",
    ),
    (["Kerkstraat 14, 3512 KL 's-Brederwijk"], "Kerkstraat", "14", None, "3512 KL", "'s-Brederwijk"),
    (["Kerkstraat 14", "Postbus 55", "3500 AB Brederwijk"], "Kerkstraat", "14", None, None, None),
    (["Dorpsstraat 1", "Klein-Brederwijk"], "Dorpsstraat", "1", None, None, "Klein-Brederwijk"),
    (["Zuiderdiep 120 B"], "Zuiderdiep", "120", "B", None, None),
    (["Zuiderdiep 120b, 9711 HM Lindeloo"], "Zuiderdiep", "120", "B", "9711 HM", "Lindeloo"),
    (["Van Galenstraat 45-1"], "Van Galenstraat", "45", "1", None, None),
    (["Jan van Galenstraat 45 hs"], "Jan van Galenstraat", "45", "hs", None, None),
    (["Kerkstraat 14 bg"], "Kerkstraat", "14", "bg", None, None),
    (["Kerkstraat 14-II"], "Kerkstraat", "14", "II", None, None),
    # a range of numbers, both odd or both even: one building, not a number with an addition
    (["Vlasakker 7-9"], "Vlasakker", "7-9", None, None, None),
    (["Vlasakker 7 - 9"], "Vlasakker", "7-9", None, None, None),
    (["Kerkstraat 14-16"], "Kerkstraat", "14-16", None, None, None),
    (["Molenlaan 3 (ingang achterzijde)"], "Molenlaan", "3", None, None, None),
    (["Kerkstraat 14 (achteringang), 3512 KL Lindeloo"], "Kerkstraat", "14", None, "3512 KL", "Lindeloo"),
    (["Molenlaan 3, 2e verdieping"], "Molenlaan", "3", None, None, None),
    (["Bezoekadres: Kerkstraat 14"], "Kerkstraat", "14", None, None, None),
    (["Kerkstraat nr. 14"], "Kerkstraat", "14", None, None, None),
    (["Kerkstraat no 14"], "Kerkstraat", "14", None, None, None),
    (["1e Oosterparkstraat 3"], "1e Oosterparkstraat", "3", None, None, None),
    (["'t Zand 3"], "'t Zand", "3", None, None, None),
    (["Weg naar Zee 44"], "Weg naar Zee", "44", None, None, None),
    (["Achter de Kerk 2", "Lindeloo"], "Achter de Kerk", "2", None, None, "Lindeloo"),
    (["Kerkstraat 14", "3512 KL", "Lindeloo"], "Kerkstraat", "14", None, "3512 KL", "Lindeloo"),
    (["Kerkstraat 14 | 3512 KL | Lindeloo"], "Kerkstraat", "14", None, "3512 KL", "Lindeloo"),
    (["Kerkstraat 14,3512KL Lindeloo"], "Kerkstraat", "14", None, "3512 KL", "Lindeloo"),
    (
        ["Kerkstraat 14", "3512 KL Lindeloo", "Gemeente Vechtmond"],
        "Kerkstraat",
        "14",
        None,
        "3512 KL",
        "Lindeloo",
    ),
    # a building's name before the street
    (["Wijkcentrum De Linde, Kerkstraat 14"], "Kerkstraat", "14", None, None, None),
    (["De Linde", "Kerkstraat 14", "3512 KL Lindeloo"], "Kerkstraat", "14", None, "3512 KL", "Lindeloo"),
    # the postcode of a PO box is not the postcode of the building
    (
        ["Bezoekadres: Kerkstraat 14", "Postadres: Postbus 12, 3500 AA Lindeloo"],
        "Kerkstraat",
        "14",
        None,
        None,
        None,
    ),
]


@pytest.mark.parametrize(("lines", "street", "number", "addition", "postcode", "city"), ADDRESSES)
def test_address_lines_split_into_parts(lines, street, number, addition, postcode, city):
    address = parse_address(lines)
    assert (address.street, address.house_number, address.addition) == (street, number, addition)
    assert (address.postcode, address.city) == (postcode, city)


def test_postcode_and_city_fields_fill_what_the_lines_lack():
    address = parse_address(
        ["Kerkstraat 14"], postcode="3512kl", city=" Brederwijk ", municipality="Brederwijk"
    )
    assert address.one_line() == "Kerkstraat 14, 3512 KL Brederwijk"
    assert address.municipality == "Brederwijk"


def test_the_lines_win_over_the_separate_postcode_field():
    assert parse_address(["Kerkstraat 14, 3512 KL Brederwijk"], postcode="9999 ZZ").postcode == "3512 KL"


@pytest.mark.parametrize(
    "lines",
    [
        ["Postbus 123"],
        ["Postbus 123, 3500 AA Brederwijk"],
        ["postbus 123", "3500 AA  Brederwijk"],
        ["Antwoordnummer 10"],
        ["Adres: Postbus 12"],
        ["Postadres: Postbus 12", "3500 AA Lindeloo"],
    ],
)
def test_po_box_is_not_a_visiting_address(lines):
    with pytest.raises(NotAVisitingAddress, match="is a PO box, not a visiting address"):
        parse_address(lines)


@pytest.mark.parametrize(
    "lines",
    [
        ["Kerkstraat"],
        ["Brederwijk centrum"],
        ["Kerkstraat 14 Brederwijk"],
        ["Kerkstraat 0"],
        ["Lees meer"],
        ["Kerkplein"],
        ["Kerkstraat ong."],
        ["Kerkstraat 100000"],
        # which number is the house number is not certain: refused, never guessed
        ["Stationsweg 1 t/m 5"],
        ["Kerkstraat 14 A1"],
        ["Industrieweg 12 unit 4"],
        ["Kerkstraat 14 t.o. de kerk"],
    ],
)
def test_line_without_street_and_number_is_refused_with_the_value(lines):
    with pytest.raises(InvalidAddress, match=re.escape(f"{lines[0]!r} is not a street with a house number")):
        parse_address(lines)


def test_postcode_only_lines_have_no_street():
    with pytest.raises(InvalidAddress, match="has no street and house number"):
        parse_address(["3512 KL Brederwijk"])


def test_bad_postcode_inside_the_lines_is_refused():
    with pytest.raises(InvalidPostcode, match="'SS' is never issued"):
        parse_address(["Kerkstraat 14, 3512 SS Brederwijk"])
