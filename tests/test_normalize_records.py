from datetime import UTC, datetime

import pytest

from servicemap.normalize import NotAService, normalize_record, normalize_records
from servicemap.records import RawRecord
from servicemap.sources import SourceConfig, SourcesFile

FETCHED_AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
SOURCE = SourceConfig(
    id="brederwijk-sociaal",
    organization="Gemeente Brederwijk",
    municipality="Brederwijk",
    kind="schema_org",
    start_urls=["https://www.brederwijk.example.nl/"],
)
SOURCES = SourcesFile(sources=[SOURCE])


def raw(key: str, **fields) -> RawRecord:
    return RawRecord(
        source_id="brederwijk-sociaal",
        key=key,
        url=f"https://www.brederwijk.example.nl{key}",
        fetched_at=FETCHED_AT,
        extraction="schema_org",
        **fields,
    )


BUURTTEAM = raw(
    "/buurtteam-noord",
    service_name="<h1>Buurtteam&nbsp;Noord</h1>",
    organization_name="Stichting Welzijn Brederwijk",
    description="<p>Het buurtteam helpt u bij vragen over geld, wonen en zorg.</p><p>Lees meer &raquo;</p>",
    address_lines=["Kerkstraat 14", "3512 KL Brederwijk"],
    phones=["Spreekuur: 030-1234567, crisislijn: 0800-0123"],
    emails=["mailto:Info@Buurtteam-Noord.example.nl"],
    website="www.buurtteam-noord.example.nl/?utm_source=gemeente",
    opening_hours=["ma t/m vr 9.00 - 17.00 uur", "dinsdagochtend"],
    categories=["Wmo", " Wmo ", "<b>Schulden</b>"],
    latitude="52,0907",
    longitude="5.1214",
    extra={"upl": "Wmo-voorziening"},
)


def test_a_record_in_one_clean_form():
    record = normalize_record(BUURTTEAM, SOURCE)
    assert record.record_id == "brederwijk-sociaal:/buurtteam-noord"
    assert (record.name, record.organization) == ("Buurtteam Noord", "Stichting Welzijn Brederwijk")
    assert record.description == "Het buurtteam helpt u bij vragen over geld, wonen en zorg."
    assert record.address.one_line() == "Kerkstraat 14, 3512 KL Brederwijk"
    assert record.address.municipality == record.municipality == "Brederwijk"
    assert [(p.number, p.label) for p in record.phones] == [
        ("+31301234567", "spreekuur"),
        ("+318000123", "crisislijn"),
    ]
    assert record.emails == ["info@buurtteam-noord.example.nl"]
    assert record.website == "https://www.buurtteam-noord.example.nl/"
    assert [s.weekday for s in record.schedules] == ["MO", "TU", "WE", "TH", "FR", None]
    assert record.schedules[-1].note == "dinsdagochtend"
    assert record.categories == ["Wmo", "Schulden"]
    assert (record.latitude, record.longitude) == (52.0907, 5.1214)
    assert record.language == "nl"
    assert record.extra == {"upl": "Wmo-voorziening"}


def test_a_field_that_cannot_be_read_is_dropped_with_a_note():
    record = normalize_record(
        raw(
            "/taalcafe",
            service_name="Taalcafé",
            phones=["12345", "06-12345678"],
            emails=["info@"],
            website="nvt",
            address_lines=["Postbus 123", "3500 AA Brederwijk"],
            latitude="52.1",
            extra={"upl": "Taalles"},
        ),
        SOURCE,
    )
    assert [p.number for p in record.phones] == ["+31612345678"]
    assert (record.emails, record.website, record.address, record.latitude) == ([], None, None, None)
    dropped = record.extra["dropped"]
    assert "phone: '12345' is not a Dutch phone number" in dropped
    assert "email: 'info@' is not an email address" in dropped
    assert "website: 'nvt' is not a website address" in dropped
    assert "address: 'Postbus 123, 3500 AA Brederwijk' is a PO box, not a visiting address" in dropped
    assert "coordinates: lon '' is not a number" in dropped
    assert record.extra["upl"] == "Taalles"


def test_without_a_street_the_postcode_and_city_still_place_the_service():
    record = normalize_record(raw("/x", service_name="Inloop", postcode="3511ab", city="Brederwijk"), SOURCE)
    assert (record.address.street, record.address.postcode, record.address.city) == (
        None,
        "3511 AB",
        "Brederwijk",
    )


def test_without_a_source_config_there_is_no_municipality():
    record = normalize_record(raw("/x", service_name="Inloop", address_lines=["Kerkstraat 1"]), None)
    assert record.municipality is None and record.address.municipality is None


def test_english_page_is_detected_even_when_the_site_says_dutch():
    record = normalize_record(
        raw(
            "/en",
            service_name="Language café",
            description="A weekly meeting where newcomers practise their Dutch with volunteers.",
            language="nl-NL",
        )
    )
    assert record.language == "en"


def test_declared_language_is_used_when_the_text_is_too_short_to_tell():
    assert normalize_record(raw("/x", service_name="Taalcafé", language="nl-NL")).language == "nl"


@pytest.mark.parametrize("name", [None, "", "   ", "Lees meer", "<p>&nbsp;</p>", "Meer informatie »"])
def test_a_record_without_a_name_is_not_a_service(name):
    with pytest.raises(NotAService, match="is empty after cleaning"):
        normalize_record(raw("/x", service_name=name))


def test_batch_keeps_the_good_and_rejects_the_nameless_with_a_reason():
    batch = [
        BUURTTEAM,
        raw("/lees-meer", service_name="Lees meer", phones=["030-1234567"]),
        raw("/leeg", service_name="   "),
        raw("/html", service_name="<div><span></span></div>"),
        raw("/kapot", service_name="Maatjesproject", phones=["12345"], emails=["x@"], website="nvt"),
        raw("/cookie", service_name="Wij gebruiken cookies om de website te verbeteren."),
        raw("/taalcafe", service_name="Taalcafé", address_lines=["Dorpsstraat 1, 3512 AB Brederwijk"]),
    ]
    result = normalize_records(batch, SOURCES)
    assert [r.record_id.split(":")[1] for r in result.kept] == ["/buurtteam-noord", "/kapot", "/taalcafe"]
    assert {r.record_id.split(":")[1] for r in result.rejected} == {"/lees-meer", "/leeg", "/html", "/cookie"}
    assert all(r.stage == "normalize" and "no service name left" in r.reason for r in result.rejected)
    assert result.rejected[0].raw["service_name"] == "Lees meer"
    assert len(result.kept) + len(result.rejected) == len(batch)
    assert result.kept[1].extra["dropped"].count(";") == 2


def test_a_page_that_names_no_provider_is_the_site_owners_service():
    record = normalize_record(raw("/spreekuur", service_name="Spreekuur", phones=["030-1234567"]), SOURCE)
    assert record.organization == "Gemeente Brederwijk"
