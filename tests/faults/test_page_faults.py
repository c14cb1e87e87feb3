"""The extractor and spider fixes the fault suite called for, each pinned by the page that
showed it: a service told twice on one page, an HSDS organisation that is not an object, a
CSV with bare carriage returns, and a UTF-8 page that declares a single-byte charset."""

from __future__ import annotations

import pytest
from scrapy.http import HtmlResponse
from servicemap_crawlers.spiders.base import page_text

from servicemap.extract.hsds import extract_service
from servicemap.extract.hsds_tabular import extract_tabular_services
from servicemap.extract.schema_org import extract_services
from tests.faults.hostile import service_page
from tests.faults.sites import CONFLICTING, GOOD

pytestmark = pytest.mark.faults
URL = "https://www.vechtmond.example.nl/schuldhulpmaatje"


def test_a_service_told_twice_on_one_page_is_one_record():
    [record] = extract_services(service_page(GOOD["dubbel"], GOOD["dubbel"]), URL)
    assert (record.key, record.service_name) == ("/schuldhulpmaatje", "Schuldhulpmaatje Vechtmond")


def test_two_different_services_on_one_page_stay_two_records():
    records = extract_services(service_page(GOOD["dubbel"], CONFLICTING, GOOD["dubbel"]), URL)
    assert [(r.key, r.phones) for r in records] == [
        ("/schuldhulpmaatje", ["0343 - 55 25 25"]),
        ("/schuldhulpmaatje#2", ["0343 - 55 26 26"]),
    ]


def test_an_hsds_service_whose_organization_is_not_an_object_is_read_without_it():
    body = '{"id": "svc-1", "name": "Taalcafé", "organization": "Bibliotheek Vechtmond"}'
    [record] = extract_service(body, URL)
    assert (record.service_name, record.organization_name) == ("Taalcafé", None)


def test_a_services_csv_with_bare_carriage_returns_is_read():
    tables = {
        "services": "id,name,description\r1,Taalcafé,Nederlands oefenen\r2,Repair Café,Samen repareren\r"
    }
    assert [r.service_name for r in extract_tabular_services(tables, URL)] == ["Taalcafé", "Repair Café"]


def test_a_services_csv_row_with_more_cells_than_its_header_keeps_them():
    tables = {"services": "id,name\n1,Taalcafé,elke woensdag,gratis\n"}
    [record] = extract_tabular_services(tables, URL)
    assert record.extra["services.(cells beyond the header)"] == "elke woensdag, gratis"


def test_a_utf8_page_declared_iso_8859_1_is_read_as_utf8_and_the_mistake_reported():
    body = service_page(GOOD["tekenset-fout"], charset=None).encode("utf-8")
    response = HtmlResponse(URL, body=body, headers={"Content-Type": "text/html; charset=iso-8859-1"})
    text, problem = page_text(response)
    assert "Crèche Één Twee Drie" in text
    assert problem == f"{URL}: declared charset 'cp1252', but the body is UTF-8; read as UTF-8"


def test_a_page_in_the_charset_it_declares_is_left_alone():
    body = service_page(GOOD["tekenset-geen"], charset=None).encode("cp1252")
    response = HtmlResponse(URL, body=body, headers={"Content-Type": "text/html; charset=windows-1252"})
    text, problem = page_text(response)
    assert "Ontmoetingscentrum Café Échte Buren" in text and problem is None
