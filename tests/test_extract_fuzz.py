"""Hypothesis over page bodies for every extractor kind: random bytes and text, and text built
from each format's own pieces so that the fuzz reaches past the first parse. An extractor
gives records (or a page of them) or raises `ExtractionError` naming the URL; anything else
would stop a crawl, so anything else fails here."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicemap.extract import ExtractionError
from servicemap.extract.hsds import extract_service, parse_service_list
from servicemap.extract.hsds_tabular import extract_tabular_services, package_tables
from servicemap.extract.html import extract_with_selectors
from servicemap.extract.samenwerkende_catalogi import extract_products
from servicemap.extract.schema_org import extract_services
from servicemap.records import RawFields

URL = "https://www.vechtmond.example.nl/diensten/fuzz"
CASES = 300  # per test; 11 tests, so 3,300 bodies a run
FUZZ = settings(max_examples=CASES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SELECTORS = {"service_name": "h1", "phones": "a[href^='tel:']", "description": "xpath://main//p"}

bodies = st.one_of(
    st.binary(max_size=4000).map(lambda b: b.decode("utf-8", "replace")), st.text(max_size=4000)
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=30,
)
SCHEMA_KEYS = ["@context", "@type", "@id", "@graph", "name", "provider", "address", "telephone", "email",
               "openingHoursSpecification", "dayOfWeek", "opens", "closes", "url", "description",
               "streetAddress", "postalCode", "addressLocality", "geo", "latitude", "areaServed"]  # fmt: skip
SCHEMA_TYPES = ["Service", "GovernmentService", "Organization", "LocalBusiness", "Place", "PostalAddress"]
schema_json = st.recursive(
    st.sampled_from(SCHEMA_TYPES) | st.text(max_size=30) | st.integers() | st.none(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(SCHEMA_KEYS), inner, max_size=8)
    ),
    max_leaves=25,
)
HTML_PIECES = ["<html>", "<head>", "<body>", "<main>", "<h1>", "</h1>", "<p>", "</p>", "<a href='tel:0343'>",
               "</a>", "<div itemscope itemtype='https://schema.org/Service'>", "<span itemprop='name'>",
               "<div vocab='https://schema.org/' typeof='LocalBusiness'>", "<span property='name'>",
               "<span property='telephone'>", "<meta itemprop='openingHours' content='Mo-Fr 09:00-17:00'>",
               "<?xml version='1.0'?>", "<!-- -->", "</div>", "</span>", "&amp;", "&#0;", "\x00",
               "é"]  # fmt: skip
html_like = st.lists(st.sampled_from(HTML_PIECES) | st.text(max_size=20), max_size=40).map("".join)
SC = "http://standaarden.overheid.nl/product/terms/"
XML_PIECES = [f"<p:scproducten xmlns:p='{SC}' xmlns:dcterms='http://purl.org/dc/terms/'>", "</p:scproducten>",
              "<p:scproduct>", "</p:scproduct>", "<dcterms:identifier>", "</dcterms:identifier>",
              "<dcterms:title>", "</dcterms:title>", "<p:productHTML>", "</p:productHTML>", "&lt;p&gt;",
              "<!DOCTYPE x [<!ENTITY e 'x'>]>", "&e;", "<![CDATA[<p>", "]]>",
              "<searchRetrieveResponse xmlns='http://www.loc.gov/zing/srw/'>", "<nextRecordPosition>",
              "</nextRecordPosition>", "</searchRetrieveResponse>"]  # fmt: skip
xml_like = st.lists(st.sampled_from(XML_PIECES) | st.text(max_size=20), max_size=40).map("".join)
CSV_HEADERS = ["id", "name", "organization_id", "description", "email", "url", "service_id", "location_id",
               "address_1", "city", "postal_code", "number", "byday", "opens_at", "closes_at",
               "latitude"]  # fmt: skip
csv_like = st.lists(
    st.lists(st.sampled_from(CSV_HEADERS) | st.text(max_size=15), min_size=1, max_size=6).map(",".join),
    max_size=8,
).map("\n".join)


def records_or_named_error(extract, *args) -> list[RawFields] | None:
    """What `extract` gives: a list of RawFields, or None when it raised ExtractionError naming the URL."""
    try:
        result = extract(*args)
    except ExtractionError as exc:
        assert exc.url == URL and str(exc).startswith(URL)
        return None
    records = getattr(result, "products", result)
    assert all(isinstance(r, RawFields) for r in records)
    return records


@FUZZ
@given(bodies)
def test_schema_org_extractor_on_random_text(body):
    records_or_named_error(extract_services, body, URL)


@FUZZ
@given(html_like, st.lists(schema_json, max_size=3))
def test_schema_org_extractor_on_html_with_random_json_ld(html, blocks):
    scripts = "".join(f'<script type="application/ld+json">{json.dumps(b)}</script>' for b in blocks)
    records = records_or_named_error(extract_services, f"<html><head>{scripts}</head>{html}", URL)
    assert records is None or all(r.service_name for r in records)


@FUZZ
@given(html_like)
def test_schema_org_extractor_on_broken_json_ld_text(text):
    records_or_named_error(extract_services, f'<script type="application/ld+json">{text}</script>', URL)


@FUZZ
@given(st.one_of(bodies, html_like))
def test_selector_extractor_on_random_pages(body):
    records = records_or_named_error(extract_with_selectors, body, URL, SELECTORS)
    assert records is None or [bool(r.service_name) for r in records] == [True]


@FUZZ
@given(st.binary(max_size=4000))
def test_samenwerkende_catalogi_extractor_on_random_bytes(body):
    records_or_named_error(extract_products, body, URL)


@FUZZ
@given(xml_like)
def test_samenwerkende_catalogi_extractor_on_xml_pieces(body):
    records_or_named_error(extract_products, body, URL)


@FUZZ
@given(st.one_of(bodies, json_values.map(json.dumps)))
def test_hsds_service_list_on_random_bodies(body):
    try:
        page = parse_service_list(body, URL)
    except ExtractionError as exc:
        assert exc.url == URL
        return
    assert all(isinstance(u, str) for u in page.service_urls)


@FUZZ
@given(st.one_of(bodies, json_values.map(json.dumps)))
def test_hsds_service_on_random_bodies(body):
    records_or_named_error(extract_service, body, URL)


@FUZZ
@given(st.dictionaries(st.sampled_from(["id", "name", "description", "organization", "phones",
                                         "service_at_locations", "schedules", "attributes", "languages"]),
                       json_values, max_size=9))  # fmt: skip
def test_hsds_service_on_random_fields(service):
    records_or_named_error(extract_service, json.dumps(service), URL)


@FUZZ
@given(st.one_of(bodies, json_values.map(json.dumps)))
def test_hsds_datapackage_on_random_bodies(body):
    try:
        tables = package_tables(body, URL)
    except ExtractionError as exc:
        assert exc.url == URL
        return
    assert "services" in tables


@FUZZ
@given(st.dictionaries(st.sampled_from(["services", "organizations", "locations", "phones", "schedules",
                                         "addresses", "service_at_locations"]),
                       csv_like | bodies, max_size=7))  # fmt: skip
def test_hsds_tabular_extractor_on_random_tables(tables):
    records_or_named_error(extract_tabular_services, tables, URL)
