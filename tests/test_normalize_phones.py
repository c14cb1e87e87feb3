import pytest

from servicemap.normalize import InvalidPhone, normalize_phone, normalize_phones

# (as a site writes it, E.164, kind, label, extension)
ONE_NUMBER = [
    ("030 - 123 45 67", "+31301234567", "landline", None, None),
    ("030-1234567", "+31301234567", "landline", None, None),
    ("030 1234567", "+31301234567", "landline", None, None),
    ("030 12 34 567", "+31301234567", "landline", None, None),
    ("(030) 123 4567", "+31301234567", "landline", None, None),
    ("+31 (0)30 1234567", "+31301234567", "landline", None, None),
    ("+31 30 123 45 67", "+31301234567", "landline", None, None),
    ("+31-30-123 45 67", "+31301234567", "landline", None, None),
    ("0031 30 1234567", "+31301234567", "landline", None, None),
    ("0031(0)30-1234567", "+31301234567", "landline", None, None),
    ("00 31 30 123 45 67", "+31301234567", "landline", None, None),
    ("0317-412345", "+31317412345", "landline", None, None),
    ("020 - 555 12 34", "+31205551234", "landline", None, None),
    ("06-12345678", "+31612345678", "mobile", None, None),
    ("06 123 456 78", "+31612345678", "mobile", None, None),
    ("+31 6 12345678", "+31612345678", "mobile", None, None),
    ("0800-1234", "+318001234", "toll_free", None, None),
    ("0800 - 0123", "+318000123", "toll_free", None, None),
    ("0800-1234567", "+318001234567", "toll_free", None, None),
    ("0900-1234567 (10 ct/min)", "+319001234567", "premium", "10 ct/min", None),
    ("0900 8844", "+319008844", "premium", None, None),
    ("14 030", "+3114030", "municipal", None, None),
    ("14 0318", "+31140318", "municipal", None, None),
    ("14 010", "+3114010", "municipal", None, None),
    ("Gemeente: 14 020", "+3114020", "municipal", "gemeente", None),
    ("088-1234567", "+31881234567", "business", None, None),
    ("085 1234567", "+31851234567", "voip", None, None),
    ("112", "112", "emergency", None, None),
    ("Bel 112", "112", "emergency", None, None),
    ("bel 030 123 45 67 (ma-vr)", "+31301234567", "landline", "ma-vr", None),
    ("Tel. 030 1234567", "+31301234567", "landline", None, None),
    ("Telefoon: 030-1234567", "+31301234567", "landline", None, None),
    ("tel: +31-30-123 45 67", "+31301234567", "landline", None, None),
    ("Spreekuur: 030-1234567", "+31301234567", "landline", "spreekuur", None),
    ("Crisislijn 0800-0123", "+318000123", "toll_free", "crisislijn", None),
    ("Crisisdienst (24/7): 0800-0123", "+318000123", "toll_free", "crisisdienst (24/7)", None),
    ("(030) 123 4567 toestel 12", "+31301234567", "landline", None, "12"),
    ("030-1234567 tst. 204", "+31301234567", "landline", None, "204"),
    (
        "Telefoon: 030-1234567 tst. 204 (spreekuur ma-do)",
        "+31301234567",
        "landline",
        "spreekuur ma-do",
        "204",
    ),
    ("Bel ons op 030 1234567", "+31301234567", "landline", None, None),
    ("+32 2 555 12 34", "+3225551234", "landline", None, None),
    (
        "(030) 123 4567 (ma t/m vr 9.00-17.00 uur)",
        "+31301234567",
        "landline",
        "ma t/m vr 9.00-17.00 uur",
        None,
    ),
    ("T 030 123 45 67", "+31301234567", "landline", None, None),
    ("T: 030-123 45 67", "+31301234567", "landline", None, None),
    ("tel.nr. 0317 41 23 45", "+31317412345", "landline", None, None),
    ("030.123.45.67", "+31301234567", "landline", None, None),
    ("0301234567", "+31301234567", "landline", None, None),
    ("+31301234567", "+31301234567", "landline", None, None),
    ("tel:+31301234567", "+31301234567", "landline", None, None),
    ("+31(0)30-1234567", "+31301234567", "landline", None, None),
    ("0031-30-1234567", "+31301234567", "landline", None, None),
    ("+31 (0)20 555 12 34", "+31205551234", "landline", None, None),
    ("Tel. (0317) 41 23 45", "+31317412345", "landline", None, None),
    ("+31 (0) 6 1234 5678", "+31612345678", "mobile", None, None),
    ("06 - 12 34 56 78", "+31612345678", "mobile", None, None),
    ("(06) 12 34 56 78", "+31612345678", "mobile", None, None),
    ("0031 6 12345678", "+31612345678", "mobile", None, None),
    ("Whatsapp: 06-12345678", "+31612345678", "mobile", "whatsapp", None),
    ("0800 - 1234 (gratis)", "+318001234", "toll_free", "gratis", None),
    ("0800-0123 (Sensoor, dag en nacht)", "+318000123", "toll_free", "sensoor, dag en nacht", None),
    ("0900-0123 (€ 0,10 p/m)", "+319000123", "premium", "€ 0,10 p/m", None),
    ("Huisartsenpost: 0900-1234567", "+319001234567", "premium", "huisartsenpost", None),
    ("Telefoon: 14 0318", "+31140318", "municipal", None, None),
    ("+31 (0)88 123 4567", "+31881234567", "business", None, None),
    ("Bel 088 - 123 45 67 (24 uur per dag)", "+31881234567", "business", "24 uur per dag", None),
    ("030 1234567 (keuze 2)", "+31301234567", "landline", "keuze 2", None),
    ("030 - 123 45 67 (na 12.00 uur)", "+31301234567", "landline", "na 12.00 uur", None),
    ("020-5551234 (alleen op werkdagen)", "+31205551234", "landline", "alleen op werkdagen", None),
    ("+31 30 123 45 67 ext. 12", "+31301234567", "landline", None, "12"),
    ("030 1234567 x 12", "+31301234567", "landline", None, "12"),
    ("+49 30 12345678", "+493012345678", "landline", None, None),
    ("+32 (0)2 555 12 34", "+3225551234", "landline", None, None),
]


@pytest.mark.parametrize(("raw", "number", "kind", "label", "extension"), ONE_NUMBER)
def test_one_number_as_sites_write_it(raw, number, kind, label, extension):
    phone = normalize_phone(raw)
    assert (phone.number, phone.kind, phone.label, phone.extension) == (number, kind, label, extension)


SEVERAL = [
    (
        "Spreekuur: 030-1234567, crisislijn: 0800-0123",
        [("+31301234567", "spreekuur"), ("+318000123", "crisislijn")],
    ),
    ("Tel. 030 1234567 / 06 12345678", [("+31301234567", None), ("+31612345678", None)]),
    ("030-1234567 (na 17.00 uur 06-12345678)", [("+31301234567", None), ("+31612345678", "na 17.00 uur")]),
    ("Gemeente: 14 030 of 06-12345678", [("+3114030", "gemeente"), ("+31612345678", None)]),
    ("030 1234567 06 12345678", [("+31301234567", None), ("+31612345678", None)]),
    ("030 123 45 67 06 1234 5678 (mobiel)", [("+31301234567", None), ("+31612345678", "mobiel")]),
    ("Bel: 020-5551234 of (06) 12345678", [("+31205551234", None), ("+31612345678", None)]),
    ("030-1234567 / 030-7654321", [("+31301234567", None), ("+31307654321", None)]),
    ("Fax: 030-1234568", [("+31301234568", "fax")]),
]


@pytest.mark.parametrize(("raw", "expected"), SEVERAL)
def test_several_numbers_in_one_string_keep_their_own_labels(raw, expected):
    assert [(p.number, p.label) for p in normalize_phones(raw)] == expected


def test_one_number_refuses_a_string_with_several():
    with pytest.raises(InvalidPhone, match="holds 2 phone numbers"):
        normalize_phone("030-1234567 of 06-12345678")


REFUSED = [
    "12345",
    "030-12345",
    "06-1234",
    "0000000000",
    "geen",
    "Lees meer",
    "",
    "   ",
    "info@buurtteam.nl",
    "ma-vr 9.00-17.00",
    "1122",
    "030-1234567 of 12345",
    "KvK 12345678",
    "9.00-17.00",
    "12-03-2024",
    "030-123456",
    "06-123456789",
    "1234567",
    "nvt",
    "onbekend",
    "-",
    "030",
    "KvK: 12345678",
    "IBAN NL91ABNA0417164300",
    "Postbus 12345",
    "+31 99 1234567",
    "+999 12345678",
]


@pytest.mark.parametrize("raw", REFUSED)
def test_text_without_a_valid_number_is_refused_with_the_value(raw):
    with pytest.raises(InvalidPhone, match="is not a"):
        normalize_phones(raw)


def test_refusal_names_the_bad_value():
    with pytest.raises(InvalidPhone, match="'12345' is not a Dutch phone number"):
        normalize_phone("12345")


def test_e164_output_reads_back_as_itself():
    for raw, number, *_ in ONE_NUMBER:
        assert normalize_phone(number).number == number, raw


def test_changing_a_returned_phone_leaves_the_next_result_alone():
    phone = normalize_phone("Spreekuur: 030-1234567")
    phone.label = "gewijzigd"
    assert normalize_phone("Spreekuur: 030-1234567").label == "spreekuur"
