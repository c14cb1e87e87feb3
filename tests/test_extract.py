"""Extractors on saved pages: fields as found (only whitespace squashed), keys by the record
key rule, and a named error for a page that cannot be read."""

from __future__ import annotations

from pathlib import Path

import pytest

from servicemap.extract import ExtractionError
from servicemap.extract.hsds import extract_service, parse_service_list
from servicemap.extract.hsds_tabular import extract_tabular_services, package_tables
from servicemap.extract.html import extract_with_selectors
from servicemap.extract.samenwerkende_catalogi import extract_products
from servicemap.extract.schema_org import extract_services

FIXTURES = Path(__file__).parent / "fixtures"
HTML = FIXTURES / "html"
SITES = FIXTURES / "sites"
HSDS = SITES / "wijkwijzer-hsds" / "api"


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# html: selectors from sources.yaml


def test_selectors_fill_text_and_list_fields():
    html = read(HTML / "gemeente_product_selectors.html")
    selectors = {
        "service_name": "h1.titel",
        "organization_name": "xpath://meta[@name='dcterms.creator']/@content",
        "description": "div.intro p",
        "address_lines": "address .regel",
        "phones": "ul.telefoon li",
        "categories": "main",
    }
    [service] = extract_with_selectors(html, "https://brederwijk.example/wmo-vervoer?utm_source=x", selectors)
    assert service.key == "/wmo-vervoer"
    assert service.service_name == "Wmo-vervoer"  # inline markup does not split a word
    assert service.organization_name == "Gemeente Brederwijk"
    assert (
        service.description
        == "Kunt u niet met het openbaar vervoer reizen? Dan kunt u een Wmo-taxipas aanvragen."
    )
    assert service.address_lines == ["Stadskantoor", "Stationsplein 1"]
    assert service.phones == ["14 0123", "030 - 286 00 00 (spoed)"]
    assert "niet meenemen" not in service.categories[0]  # script text is not page text


def test_page_without_the_service_name_is_an_extraction_error_naming_the_url():
    with pytest.raises(
        ExtractionError, match=r"https://brederwijk.example/oud: no service found: selector 'h1.weg'"
    ):
        extract_with_selectors(
            "<html><body><h1>Anders</h1></body></html>",
            "https://brederwijk.example/oud",
            {"service_name": "h1.weg"},
        )


# schema.org


def test_json_ld_services_keep_fields_as_written_and_follow_id_references():
    html = read(HTML / "buurtteam_jsonld.html")
    first, second = extract_services(html, page_url="https://brederwijk.example/buurtteam#contact")
    assert first.key == "/buurtteam" and second.key == "/buurtteam#2"
    assert first.service_name == "Buurtteam Oostpolder"
    assert first.organization_name == "Gemeente Brederwijk"  # provider given as an @id reference
    assert (
        first.description
        == "Voor vragen over opvoeden, geld, wonen of gezondheid. Samen zoeken we een oplossing."
    )
    assert first.address_lines == ["Populierenlaan 21-bis"]
    assert first.postcode == "3561ab"  # raw: normalising comes later
    assert first.city == "Brederwijk"
    assert first.phones == ["+31 30 999 12 34"]
    assert first.emails == ["oostpolder@buurtteam.example"]
    assert first.opening_hours == ["Mo,Tu 09:00-12:00", "Fr 13:30-16:00"]
    assert (first.latitude, first.longitude) == ("52.1003", "5.1388")
    assert first.categories == ["Sociaal wijkteam", "Welzijn", "Jeugd"]
    assert first.audience == "Inwoners van Oostpolder"
    assert second.organization_name == "Steunpunt Mantelzorg"
    assert second.opening_hours == ["Th 19:00-21:00"]


def test_microdata_service_with_nested_provider_and_place():
    html = read(HTML / "huiskamer_microdata.html")
    [service] = extract_services(html, page_url="https://buurtkracht.example/huiskamer")
    assert service.service_name == "Open Huiskamer De Linde"
    assert service.organization_name == "Stichting Buurtkracht"
    assert (
        service.description == "Een warme plek voor iedereen die even wil praten. Gratis, zonder aanmelding."
    )
    assert (service.address_lines, service.postcode, service.city) == (
        ["Lindeplein 1"],
        "3515 LP",
        "Brederwijk",
    )
    assert service.phones == ["030 - 222 33 44"]
    assert service.opening_hours == ["Mo-Fr 10:00-16:00"]


def test_rdfa_service_reads_like_json_ld_with_references_and_nested_resources():
    html = read(HTML / "wijkcentrum_rdfa.html")
    raadslieden, brigade = extract_services(
        html, page_url="https://www.brederwijk.example/producten/raadslieden"
    )
    assert raadslieden.key == "/producten/raadslieden" and brigade.key == "/producten/raadslieden#2"
    assert raadslieden.service_name == "Sociaal raadslieden"
    assert raadslieden.organization_name == "Gemeente Brederwijk"  # provider given by resource="#gemeente"
    assert raadslieden.description == (
        "Gratis advies over uitkeringen, toeslagen, belastingen en brieven van instanties. "
        "Ook voor vragen over de Wmo en bezwaarprocedures."
    )
    assert (raadslieden.address_lines, raadslieden.postcode, raadslieden.city) == (
        ["Één-Meilaan 7"],
        "3512 KZ",
        "Brederwijk",
    )
    assert raadslieden.phones == ["tel:+31302100200"]  # RDFa's value of a link is its href, as found
    assert raadslieden.emails == ["raadslieden@brederwijk.example"]  # `content` wins over the text
    assert raadslieden.opening_hours == ["Tu,Th 09:00-12:30"]  # <time datetime>, not "9.00"
    assert (raadslieden.latitude, raadslieden.longitude) == ("52.0907", "5.1214")
    assert raadslieden.audience == "Inwoners met een laag inkomen"
    assert raadslieden.categories == ["Geldzaken", "Juridisch advies"]
    assert raadslieden.language == "nl"


def test_rdfa_with_a_declared_prefix_counts_and_other_vocabularies_do_not():
    html = read(HTML / "wijkcentrum_rdfa.html")
    brigade = extract_services(html, page_url="https://www.brederwijk.example/producten/raadslieden")[1]
    assert brigade.service_name == "Formulierenbrigade"  # typeof="s:Service" with prefix s: schema.org
    assert brigade.organization_name == "Vrijwilligerscentrale Brederwijk"
    # Breadcrumbs, Open Graph, Dublin Core and FOAF on the same page give no services or fields.
    assert brigade.description == "Vrijwilligers helpen bij het invullen van formulieren."
    foaf_only = (
        '<html><body vocab="http://xmlns.com/foaf/0.1/"><div typeof="Organization">'
        '<span property="name">Geen schema.org</span></div></body></html>'
    )
    assert extract_services(foaf_only, "https://x.example/over-ons") == []


def test_rdfa_organization_page_counts_when_no_service_is_described():
    html = (
        '<html><body vocab="http://schema.org/"><div typeof="LocalBusiness">'
        '<h1 property="name">Repair Café Lindehoven</h1>'
        '<meta property="openingHours" content="Sa 10:00-13:00">'
        '<div property="address" typeof="PostalAddress"><span property="streetAddress">Kerkpad 2</span></div>'
        "</div></body></html>"
    )
    [place] = extract_services(html, "https://repaircafe.example/")
    assert (place.service_name, place.address_lines, place.opening_hours) == (
        "Repair Café Lindehoven",
        ["Kerkpad 2"],
        ["Sa 10:00-13:00"],
    )


def test_organization_page_counts_when_no_service_is_described():
    html = read(SITES / "welzijn-schema" / "activiteiten" / "koffieochtend.html")
    [place] = extract_services(
        html, page_url="https://welzijnlindehoven.example/activiteiten/koffieochtend.html"
    )
    assert place.service_name == "Koffieochtend in Buurthuis ’t Hoekje"
    assert place.opening_hours == ["We 10:00-12:00"]


def test_page_without_schema_org_data_has_no_services():
    assert extract_services("<html><body><h1>Nieuws</h1></body></html>", "https://x.example/nieuws") == []


def test_broken_json_ld_is_an_extraction_error_naming_the_url():
    html = read(SITES / "welzijn-schema" / "activiteiten" / "kapotte-data.html")
    with pytest.raises(ExtractionError, match=r"^https://x.example/rouwgroep: broken JSON-LD"):
        extract_services(html, "https://x.example/rouwgroep")


# HSDS 3.x API


def test_hsds_list_page_gives_service_urls_and_the_next_page():
    page = parse_service_list(read(HSDS / "services.json"), "https://api.example/hsds/services?per_page=2")
    assert page.service_urls == [
        "https://api.example/hsds/services/7d0c2f8e-3b1a-4c55-9a7e-1f2b3c4d5e01",
        "https://api.example/hsds/services/7d0c2f8e-3b1a-4c55-9a7e-1f2b3c4d5e02",
    ]
    assert page.next_url == "https://api.example/hsds/services?per_page=2&page=2"
    last = parse_service_list(read(HSDS / "services@page=2.json"), "https://api.example/hsds/services?page=2")
    assert last.next_url is None


def test_hsds_service_maps_to_raw_fields():
    [service] = extract_service(read(HSDS / "services" / "7d0c2f8e-3b1a-4c55-9a7e-1f2b3c4d5e01.json"), "u")
    assert service.key == "7d0c2f8e-3b1a-4c55-9a7e-1f2b3c4d5e01"
    assert service.service_name == "Maatjesproject Samen Sterk"
    assert service.organization_name == "Stichting Welzijn Brederwijk"
    assert (service.address_lines, service.postcode, service.city) == (
        ["Lindelaan 3"],
        "3514 GH",
        "Brederwijk",
    )
    assert (service.latitude, service.longitude) == ("52.0907", "5.1214")
    assert service.phones == ["030-7654321"]
    assert service.emails == ["maatjes@welzijnbrederwijk.example"]
    assert service.website == "https://welzijnbrederwijk.example/maatjes"
    assert service.opening_hours == ["Mo,Tu,Th 09:00-12:30", "Op afspraak ook in de avond"]
    assert service.categories == ["Eenzaamheid", "Vrijwilligerswerk"]
    assert service.audience == "Volwassenen die zich eenzaam voelen"
    assert service.language == "nl"


def test_hsds_location_schedule_is_used_when_the_service_has_none():
    [service] = extract_service(read(HSDS / "services" / "7d0c2f8e-3b1a-4c55-9a7e-1f2b3c4d5e02.json"), "u")
    assert service.opening_hours == ["We 13:00-16:00"]


@pytest.mark.parametrize(
    ("body", "what"),
    [('{"id": "x1", "description": "zonder naam"}', "'id' or 'name' missing"), ("<html>", "not JSON")],
)
def test_hsds_service_that_cannot_be_read_is_an_extraction_error(body, what):
    with pytest.raises(ExtractionError, match=what):
        extract_service(body, "https://api.example/services/x1")


# Samenwerkende Catalogi


def test_sc_feed_products_with_upl_and_contact_details_from_the_product_html():
    page = extract_products(
        (SITES / "sc-brederwijk" / "producten.xml").read_bytes(), "https://x.example/sc.xml"
    )
    bijstand, parkeerkaart = page.products
    assert page.next_url is None
    assert bijstand.key == "/producten/bijzondere-bijstand"  # page_key of the identifier: no utm_source
    assert bijstand.service_name == "Bijzondere bijstand"
    assert bijstand.organization_name == "Brederwijk"
    assert bijstand.description.startswith("Heeft u onverwachte, noodzakelijke kosten")
    assert bijstand.audience == "particulier"
    assert bijstand.categories == ["bijzondere bijstand"]
    assert bijstand.extra == {
        "upl": "bijzondere bijstand",
        "upl_uri": "http://standaarden.overheid.nl/owms/terms/bijzondere_bijstand",
        "modified": "2026-09-14",
        "product_id": "BW-0042",
    }
    assert bijstand.address_lines == ["Stationsplein 1", "3512 CD Brederwijk"]
    assert (bijstand.postcode, bijstand.city) == ("3512 CD", "Brederwijk")
    assert bijstand.phones == ["030 - 286 00 00"]
    assert bijstand.emails == ["inkomen@brederwijk.example"]
    assert bijstand.opening_hours == ["Maandag tot en met vrijdag 08.30 - 17.00 uur"]
    assert parkeerkaart.description.startswith(
        "Kunt u door een handicap niet ver lopen?"
    )  # CDATA productHTML
    assert parkeerkaart.phones == ["14 0123"]


def test_sc_sru_answer_gives_its_products_and_next_page():
    body = (SITES / "sc-brederwijk" / "sru.xml").read_bytes()
    page = extract_products(body, "https://zoekdienst.example/sru?query=x&startRecord=1")
    assert [p.service_name for p in page.products] == ["Schuldhulpverlening"]
    assert page.products[0].extra["upl"] == "schuldhulpverlening"
    assert page.next_url == "https://zoekdienst.example/sru?query=x&startRecord=2"


def test_sc_entity_expansion_is_refused():
    with pytest.raises(ExtractionError, match="XML refused: it declares entities"):
        extract_products((HTML / "sc_entiteiten.xml").read_bytes(), "https://x.example/sc.xml")


def test_sc_document_without_products_is_an_extraction_error():
    with pytest.raises(ExtractionError, match="no scproduct found"):
        extract_products(b"<rss><channel/></rss>", "https://x.example/feed")


# HSDS 1.x/2.0 tabular package

TABULAR = HSDS.parent / "tabular"


def test_datapackage_lists_the_hsds_tables_it_holds():
    tables = package_tables(read(TABULAR / "datapackage.json"), "https://x.example/hsds/datapackage.json")
    assert tables["services"] == "https://x.example/hsds/services.csv"
    assert "contacts" not in tables  # not a table servicemap reads


def test_tabular_services_are_joined_with_their_organization_location_and_phones():
    names = ("services", "organizations", "phones", "locations", "services_at_location", "physical_addresses",
             "regular_schedules")  # fmt: skip
    tables = {name: read(TABULAR / f"{name}.csv") for name in names}
    rouw, brugklas = extract_tabular_services(tables, "https://x.example/hsds/datapackage.json")
    assert rouw.key == "s-101" and rouw.service_name == "Rouwverwerking voor jongeren"
    assert rouw.organization_name == "Jeugdplein Brederwijk"
    assert (rouw.address_lines, rouw.postcode, rouw.city) == (["Schakelstraat 8"], "3516 SK", "Brederwijk")
    assert (rouw.latitude, rouw.longitude) == ("52.0951", "5.1102")
    assert rouw.phones == ["030 - 444 55 66"]
    assert rouw.opening_hours == ["We 15:30-17:00"]
    assert rouw.extra == {"services.fees": "Gratis", "services.status": "active", "unmapped": "fees, status"}
    assert brugklas.extra["unmapped"] == "status, wait_time" and brugklas.address_lines == []


def test_tabular_service_without_a_name_is_an_extraction_error():
    with pytest.raises(ExtractionError, match="services.csv line 2 has no id or name"):
        extract_tabular_services({"services": "id,name\ns-1,\n"}, "https://x.example/datapackage.json")


def test_xhtml_page_with_an_xml_declaration_is_read_as_html():
    xhtml = (
        '<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><body>'
        '<h1 class="titel">Wmo-loket</h1><p itemscope itemtype="https://schema.org/Place">'
        '<span itemprop="name">Wijkpost Noord</span></p></body></html>'
    )
    [selected] = extract_with_selectors(xhtml, "https://x.example/wmo", {"service_name": "h1.titel"})
    [described] = extract_services(xhtml, "https://x.example/wmo")
    assert (selected.service_name, described.service_name) == ("Wmo-loket", "Wijkpost Noord")


def test_a_service_keeps_its_own_phone_rather_than_its_providers():
    html = read(SITES / "welzijn-schema" / "index.html")
    adviseur, formulieren = extract_services(html, page_url="https://welzijnlindehoven.example/")
    assert adviseur.phones == ["0348-555 011"]  # the service channel's number
    assert formulieren.phones == ["0348-555 010"]  # no own number: the provider's
