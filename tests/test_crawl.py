"""Crawl tests: the real spiders, run through `crawl_source` in a subprocess, against fixture
sites served on 127.0.0.1 by `tests/sitesserver.py`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from servicemap.crawl import CrawlResult, crawl_source, read_jsonl
from servicemap.records import RawRecord
from servicemap.sources import SourcesConfigError

sys.path.insert(0, str(Path(__file__).parent))
from sitesserver import SiteServer, closed_port  # noqa: E402

QUICK = {
    "download_delay": 0,
    "autothrottle": False,
    "timeout_seconds": 5,
    "concurrency_per_domain": 2,
    "retry_backoff_seconds": 0,
}
BREDERWIJK_SELECTORS = {
    "service_name": "h1.product-titel",
    "organization_name": "p.organisatie",
    "description": "div.samenvatting p",
    "address_lines": ".contact .straat",
    "postcode": ".contact .postcode",
    "city": ".contact .plaats",
    "phones": ".contact a[href^='tel:']",
    "emails": "xpath://div[@class='contact']/a[starts-with(@href, 'mailto:')]/text()",
    "opening_hours": ".openingstijden li",
    "categories": ".tags a",
}


def crawl(tmp_path: Path, source: dict, **crawl_settings) -> CrawlResult:
    entry = {"id": "testbron", "organization": "Testorganisatie", **source}
    sources = tmp_path / "sources.yaml"
    settings = QUICK | crawl_settings
    sources.write_text(yaml.safe_dump({"crawl": settings, "sources": [entry]}), encoding="utf-8")
    return crawl_source(sources, "testbron", tmp_path / "work", timeout_s=120)


def brederwijk_source(site: SiteServer, **overrides) -> dict:
    return {
        "kind": "html",
        "start_urls": [site.url("/")],
        "follow": {"deny": ["/nieuws/", "/thema/"]},
        "service_pages": "/producten/",
        "selectors": BREDERWIJK_SELECTORS,
        **overrides,
    }


@pytest.fixture(scope="module")
def brederwijk(tmp_path_factory) -> tuple[CrawlResult, SiteServer]:
    """One full crawl of the municipal site, shared by the tests that read it."""
    with SiteServer("brederwijk", statuses={"/producten/storing.html": 500}) as site:
        result = crawl(tmp_path_factory.mktemp("brederwijk"), brederwijk_source(site))
    return result, site


def by_key(result: CrawlResult) -> dict:
    return {r.key: r for r in result.records}


def test_html_source_yields_each_service_page_with_its_selected_fields(brederwijk):
    result, _ = brederwijk
    assert result.errors == [] and result.returncode == 0
    records = by_key(result)
    assert set(records) == {
        "/producten/schuldhulpverlening.html",
        "/producten/hulp-bij-het-huishouden.html",
        "/producten/mantelzorgwaardering.html",
        "/producten/budgetcursus.html",
        "/producten/opvoedsteun.html",
    }
    schuld = records["/producten/schuldhulpverlening.html"]
    assert schuld.source_id == "testbron" and schuld.extraction == "html"
    assert schuld.service_name == "Schuldhulpverlening"
    assert schuld.postcode == "3511AB"  # raw: normalising comes later
    assert schuld.phones == ["030 - 123 45 67"]
    assert schuld.emails == ["geldzaken@brederwijk.example"]
    assert schuld.opening_hours == ["maandag t/m donderdag 09.00 - 17.00 uur", "vrijdag 09.00 - 12.30 uur"]
    assert schuld.categories == ["Geld en schulden", "Werk en inkomen"]


def test_page_in_windows_1252_is_decoded_by_its_meta_charset(brederwijk):
    result, _ = brederwijk
    mantelzorg = by_key(result)["/producten/mantelzorgwaardering.html"]
    assert mantelzorg.service_name == "Mantelzorgwaardering – één keer per jaar"
    assert "€ 150" in mantelzorg.description and "coördinator" in mantelzorg.description


def test_tracking_and_fragment_variants_of_a_page_are_fetched_once(brederwijk):
    _, site = brederwijk
    fetched = [p for p in site.requests if p.startswith("/producten/hulp-bij-het-huishouden.html")]
    assert fetched == ["/producten/hulp-bij-het-huishouden.html"]


def test_robots_txt_disallow_and_follow_deny_are_honoured(brederwijk):
    result, site = brederwijk
    assert site.requested("/robots.txt") == 1
    assert site.requested("/intern/beheer.html") == 0
    assert site.requested("/nieuws/overzicht.html") == 0
    assert result.errors_by_kind()["robots_forbidden"] == 1


def test_off_site_link_is_not_followed(brederwijk):
    _, site = brederwijk
    assert site.requested("/producten/elders.html") == 0


def test_404_500_and_unreadable_page_are_recorded_and_the_rest_is_crawled(brederwijk):
    result, _ = brederwijk
    failed = {(f.url.split("/", 3)[-1], f.error_kind) for f in result.fetches if f.error_kind}
    assert ("producten/verhuisd-product.html", "http_4xx") in failed
    assert ("producten/storing.html", "http_5xx") in failed
    [unreadable] = [f for f in result.fetches if f.error_kind == "extraction_error"]
    assert unreadable.url.endswith("/producten/oude-opmaak.html")
    assert "no service found" in unreadable.error
    assert result.by_status()[500] == 1  # retried, but one final outcome per page
    assert "/producten/opvoedsteun.html" in by_key(result)  # found behind the failures, three links deep


def test_max_pages_holds_and_the_cut_is_recorded(tmp_path):
    with SiteServer("brederwijk") as site:
        result = crawl(tmp_path, brederwijk_source(site, max_pages=3))
    pages = [p for p in site.requests if p != "/robots.txt"]
    assert len(pages) == 3
    [cut] = [f for f in result.fetches if f.error_kind == "page_limit"]
    assert "max_pages 3 reached" in cut.error


def test_max_depth_holds(tmp_path):
    with SiteServer("brederwijk") as site:
        result = crawl(tmp_path, brederwijk_source(site, max_depth=2))
    assert site.requested("/wegwijzer/jeugd.html") == 1  # depth 2
    assert site.requested("/producten/opvoedsteun.html") == 0  # depth 3
    assert "/producten/schuldhulpverlening.html" in by_key(result)


def test_max_depth_zero_fetches_only_the_start_page(tmp_path):
    with SiteServer("brederwijk") as site:
        crawl(tmp_path, brederwijk_source(site, max_depth=0))
    assert [p for p in site.requests if p != "/robots.txt"] == ["/"]


def test_hsds_api_pages_through_services_and_keys_records_by_service_id(tmp_path):
    with SiteServer("wijkwijzer-hsds") as site:
        result = crawl(tmp_path, {"kind": "hsds_api", "start_urls": [site.url("/api/services")]})
    assert site.requested("/api/services?page=2") == 1
    records = by_key(result)
    assert set(records) == {"7d0c2f8e-3b1a-4c55-9a7e-1f2b3c4d5e01", "7d0c2f8e-3b1a-4c55-9a7e-1f2b3c4d5e02"}
    maatjes = records["7d0c2f8e-3b1a-4c55-9a7e-1f2b3c4d5e01"]
    assert maatjes.organization_name == "Stichting Welzijn Brederwijk"
    assert maatjes.address_lines == ["Lindelaan 3"] and maatjes.postcode == "3514 GH"
    assert maatjes.opening_hours == ["Mo,Tu,Th 09:00-12:30", "Op afspraak ook in de avond"]
    [nameless] = [f for f in result.fetches if f.error_kind == "extraction_error"]
    assert nameless.url.endswith("/api/services/7d0c2f8e-3b1a-4c55-9a7e-1f2b3c4d5e03")


def test_samenwerkende_catalogi_feed_keeps_the_uniform_product_name(tmp_path):
    with SiteServer("sc-brederwijk") as site:
        result = crawl(
            tmp_path, {"kind": "samenwerkende_catalogi", "start_urls": [site.url("/producten.xml")]}
        )
    records = by_key(result)
    assert set(records) == {"/producten/bijzondere-bijstand", "/producten/gehandicaptenparkeerkaart"}
    bijstand = records["/producten/bijzondere-bijstand"]
    assert bijstand.extra["upl"] == "bijzondere bijstand"
    assert bijstand.extra["upl_uri"] == "http://standaarden.overheid.nl/owms/terms/bijzondere_bijstand"
    assert bijstand.phones == ["030 - 286 00 00"]


def test_samenwerkende_catalogi_sru_answer_is_followed_to_its_next_page(tmp_path):
    with SiteServer("sc-brederwijk") as site:
        start = site.url("/sru.xml?query=dcterms.title%3Dschuld")
        result = crawl(tmp_path, {"kind": "samenwerkende_catalogi", "start_urls": [start]})
    assert {r.service_name for r in result.records} == {"Schuldhulpverlening", "Budgetcoach"}


def test_schema_org_site_is_read_through_links_and_sitemap(tmp_path):
    with SiteServer("welzijn-schema") as site:
        result = crawl(tmp_path, {"kind": "schema_org", "start_urls": [site.url("/")]})
    names = {r.key: r.service_name for r in result.records}
    assert names == {
        "/": "Ouderenadviseur",
        "/#2": "Formulierenhulp",
        "/activiteiten/koffieochtend.html": "Koffieochtend in Buurthuis ’t Hoekje",
        "/activiteiten/taalcafe.html": "Taalcafé Lindehoven",  # only in the sitemap
    }
    assert by_key(result)["/"].organization_name == "Stichting Welzijn Lindehoven"
    assert site.requested("/activiteiten/koffieochtend.html") == 1  # the fbclid variant is the same page
    assert site.requested("/activiteiten/elders.html") == 0
    [broken] = [f for f in result.fetches if f.error_kind == "extraction_error"]
    assert "broken JSON-LD" in broken.error and broken.url.endswith("/activiteiten/kapotte-data.html")


def test_server_that_is_down_gives_no_records_and_a_connection_error(tmp_path):
    start = f"http://127.0.0.1:{closed_port()}/"
    result = crawl(tmp_path, {"kind": "schema_org", "start_urls": [start]})
    assert result.records == []
    assert result.errors_by_kind()["connection"] >= 1
    assert result.pages_fetched == 0


def test_unknown_source_is_refused_before_any_request(tmp_path):
    sources = tmp_path / "sources.yaml"
    sources.write_text(yaml.safe_dump({"sources": []}), encoding="utf-8")
    with pytest.raises(SourcesConfigError, match="no source 'elders'"):
        crawl_source(sources, "elders", tmp_path / "work")


def test_recrawl_asks_conditionally_gets_304s_and_keeps_the_records(tmp_path):
    with SiteServer("welzijn-schema") as site:
        source = {"kind": "schema_org", "start_urls": [site.url("/")]}
        first = crawl(tmp_path, source)
        site.conditional.clear()
        site.answers.clear()
        second = crawl(tmp_path, source)
    pages = [
        "/robots.txt",
        "/sitemap.xml",
        "/",
        "/activiteiten/koffieochtend.html",
        "/activiteiten/taalcafe.html",
    ]
    assert {path: sent is not None for path, sent in site.conditional} == dict.fromkeys(pages, True) | {
        "/activiteiten/kapotte-data.html": True
    }  # If-None-Match on every page seen before
    assert {status for _, status in site.answers} == {304}
    # A 304 page still gives its records, from the cache: a re-crawl loses nothing.
    as_found = lambda result: {r.key: r.model_dump(exclude={"fetched_at"}) for r in result.records}  # noqa: E731
    assert as_found(second) == as_found(first) and len(second.records) == 4
    taalcafe = [f for f in second.fetches if f.url.endswith("/activiteiten/taalcafe.html")]
    assert [(f.status, f.cached, f.bytes) for f in taalcafe] == [(304, True, 0)]
    assert second.by_status() == {304: len(site.answers)} and first.by_status()[304] == 0


def test_changed_page_is_fetched_again_on_recrawl(tmp_path):
    with SiteServer("welzijn-schema") as site:
        source = {"kind": "schema_org", "start_urls": [site.url("/")]}
        crawl(tmp_path, source)
        site.answers.clear()
        changed = (site.root / "activiteiten" / "taalcafe.html").read_bytes().replace(b"Taalcaf", b"Praatcaf")
        site.bodies["/activiteiten/taalcafe.html"] = ("text/html", changed)
        second = crawl(tmp_path, source)
    assert dict(site.answers)["/activiteiten/taalcafe.html"] == 200
    assert by_key(second)["/activiteiten/taalcafe.html"].service_name == "Praatcafé Lindehoven"


def test_hsds_tabular_package_is_read_from_its_datapackage(tmp_path):
    with SiteServer("wijkwijzer-hsds") as site:
        result = crawl(tmp_path, {"kind": "hsds_api", "start_urls": [site.url("/tabular/datapackage.json")]})
    assert {r.key: r.service_name for r in result.records} == {
        "s-101": "Rouwverwerking voor jongeren",
        "s-102": "Brugklasbegeleiding",
    }
    assert [f.error_kind for f in result.fetches if f.url.endswith("/languages.csv")] == [
        "http_4xx"
    ]  # listed, absent


def test_item_line_that_is_not_a_raw_record_is_reported_not_dropped(tmp_path):
    items = tmp_path / "items.jsonl"
    good = {
        "source_id": "testbron",
        "key": "/a",
        "url": "https://x.example/a",
        "fetched_at": "2026-11-02T10:00:00Z",
        "extraction": "html",
        "service_name": "Buurtteam",
    }
    items.write_text(f"{json.dumps(good)}\n{json.dumps({**good, 'url': None})}\nnot json\n", encoding="utf-8")
    records, errors = read_jsonl(items, RawRecord)
    assert [r.service_name for r in records] == ["Buurtteam"]
    assert errors[0].startswith("items.jsonl line 2 is not a RawRecord: url:")
    assert errors[1].startswith("items.jsonl line 3 is not JSON")


def test_page_that_does_not_answer_in_time_is_recorded_as_a_timeout(tmp_path):
    with SiteServer("brederwijk", stalls={"/producten/schuldhulpverlening.html": 3}) as site:
        sources = tmp_path / "sources.yaml"
        source = {"id": "testbron", "organization": "T", **brederwijk_source(site, max_depth=1)}
        crawl_settings = {**QUICK, "timeout_seconds": 0.5}
        sources.write_text(yaml.safe_dump({"crawl": crawl_settings, "sources": [source]}), encoding="utf-8")
        result = crawl_source(sources, "testbron", tmp_path / "work", timeout_s=120)
    timeouts = [f.url for f in result.fetches if f.error_kind == "timeout"]
    assert [u.split("/", 3)[-1] for u in timeouts] == ["producten/schuldhulpverlening.html"]
    assert "/producten/hulp-bij-het-huishouden.html" in by_key(result)


def test_truncated_body_is_recorded_and_the_rest_is_crawled(tmp_path):
    with SiteServer("brederwijk", truncated={"/producten/schuldhulpverlening.html"}) as site:
        result = crawl(tmp_path, brederwijk_source(site, max_depth=1))
    [cut] = [f for f in result.fetches if f.error_kind == "truncated"]
    assert cut.url.endswith("/producten/schuldhulpverlening.html") and cut.status is None
    assert site.requested("/producten/schuldhulpverlening.html") == 3  # retried twice, then given up
    assert "/producten/schuldhulpverlening.html" not in by_key(result)  # half a page is no record
    assert "/producten/hulp-bij-het-huishouden.html" in by_key(result)


def test_html_page_where_hsds_json_was_expected_is_recorded_and_the_rest_is_crawled(tmp_path):
    maintenance = "<!DOCTYPE html><html><body><h1>Wij zijn even in onderhoud</h1></body></html>"
    service_path = "/api/services/7d0c2f8e-3b1a-4c55-9a7e-1f2b3c4d5e02"
    with SiteServer("wijkwijzer-hsds", bodies={service_path: ("text/html", maintenance.encode())}) as site:
        result = crawl(tmp_path, {"kind": "hsds_api", "start_urls": [site.url("/api/services")]})
    unreadable = {
        f.url.split("/", 3)[-1]: f.error for f in result.fetches if f.error_kind == "extraction_error"
    }
    assert "not JSON" in unreadable[service_path.lstrip("/")]
    assert set(by_key(result)) == {"7d0c2f8e-3b1a-4c55-9a7e-1f2b3c4d5e01"}
    assert site.requested("/api/services?page=2") == 1  # the listing went on past the broken service


def test_a_failing_page_is_retried_after_a_growing_pause(tmp_path):
    with SiteServer("brederwijk", statuses={"/producten/storing.html": 503}) as site:
        result = crawl(tmp_path, brederwijk_source(site), retry_backoff_seconds=0.3, retry_times=2)
    times = [t for path, t in site.request_times if path == "/producten/storing.html"]
    assert len(times) == 3  # the first try and two retries
    first_pause, second_pause = times[1] - times[0], times[2] - times[1]
    assert first_pause >= 0.3 and second_pause >= 0.6
    assert result.by_status()[503] == 1  # one final outcome for the page
