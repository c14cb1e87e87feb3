"""The API and pages under hostile use, over HTTP: security headers on every response, CORS for
the configured origins only, a per-client rate limit, and FTS5 / tsquery syntax or SQL in any
text parameter never answered with a 5xx nor changing the directory (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import psycopg
import pytest
from sqlalchemy import select, text

from servicemap.api import create_app
from servicemap.api.security import (
    CONTENT_SECURITY_POLICY,
    ClientBuckets,
    SecuritySettings,
    SecuritySettingsError,
)
from servicemap.cli import web_app
from servicemap.dependency_audit import LOCK, read_lock
from servicemap.publish import DIRECTORY_TABLES, engine_for, publish_directory
from servicemap.publish.search_index import SEARCH_TABLE
from servicemap.secrets import redact_url
from tests.conftest import _postgres_answers, demo_service_list, service_id
from tests.test_api import serving

UNLIMITED = {"SERVICEMAP_RATE_LIMIT_PER_SECOND": "1000000", "SERVICEMAP_RATE_LIMIT_BURST": "1000000"}
HUISARTS = "https://huisarts.example.nl"
# Full-text syntax of FTS5 and tsquery, and SQL meant to break out of a quoted literal.
HOSTILE_TEXT = [
    "'",
    '"',
    "schuld'; DROP TABLE service; --",
    "x' OR '1'='1",
    'x" OR "1"="1',
    "' UNION SELECT id, name FROM directory_version --",
    "'; UPDATE service SET name = 'gekaapt'; --",
    "1; DELETE FROM service",
    "schuld* AND NOT (hulp OR",
    'NEAR("schuld" "hulp", 2)',
    "name:schuld",
    "^schuld",
    "{name description}: hulp",
    "schuld & | !hulp",
    "schuld <-> hulp:*",
    "!!!(((",
    "\\",
    "%_%",
    "🙂 ﷽ \u202e",
]


def private_postgres(name: str) -> str:
    """A PostgreSQL database of this test module's own, created empty: other helpers' tests use
    the shared 'test' database at the same time."""
    if not _postgres_answers():
        pytest.skip("PostgreSQL does not answer at 127.0.0.1:5432 (start it with scripts/services-up)")
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def fingerprint(url: str) -> dict[str, object]:
    """Every row of every directory table and the size of the search index: what an injected
    statement would change."""
    with engine_for(url).connect() as connection:
        tables = {
            table.name: sorted(repr(tuple(row)) for row in connection.execute(select(table)))
            for table in DIRECTORY_TABLES
        }
        tables[SEARCH_TABLE] = connection.execute(text(f"SELECT count(*) FROM {SEARCH_TABLE}")).scalar()
    return tables


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in values.items():
            patch.setenv(name, value)
        yield


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def directory(request, tmp_path_factory) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('security') / 'directory.db'}"
    else:
        url = private_postgres("servicemap_security_test")
    publish_directory(url, demo_service_list(), [], run_id="security-run-1", synonyms=[["eenzaam", "alleen"]])
    yield url
    engine_for(url).dispose()


@pytest.fixture(scope="module")
def site(directory: str) -> Iterator[str]:
    """The API and the pages as `servicemap serve` composes them, without a rate limit."""
    with environment(UNLIMITED), serving(web_app(directory, [HUISARTS])) as base:
        yield base


@pytest.fixture(scope="module")
def http(site: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site, timeout=60) as client:
        yield client


API_TEXT_PARAMETERS = [
    "search",
    "taxonomy_term_id",
    "organization_id",
    "domain",
    "audience",
    "sector",
    "access",
    "municipality",
    "zrm",
    "positive_health",
    "postcode",
]
PAGE_TEXT_PARAMETERS = ["q", "domein", "doelgroep", "sector", "toegang", "gemeente", "postcode", "straal"]


def hostile_requests() -> Iterator[tuple[str, dict[str, str]]]:
    for value in HOSTILE_TEXT:
        for name in API_TEXT_PARAMETERS:
            yield "/services", {name: value}
        yield "/services", {"search": "schuldhulp", "postcode": value, "radius_km": "5"}
        yield "/taxonomy_terms", {"taxonomy_id": value}
        for name in PAGE_TEXT_PARAMETERS:
            yield "/zoeken", {name: value}
        yield "/zoeken", {"q": "schulden", "postcode": "9999 AA", "straal": value}
        for path in ("/services/{}", "/organizations/{}", "/dienst/{}", "/dienst/{}/verwijskaart"):
            yield path.format(value.replace("/", "%2F").replace("?", "%3F").replace("#", "%23")), {}


def test_hostile_text_in_every_parameter_is_no_server_error_and_changes_nothing(
    http: httpx.Client, directory: str
):
    before = fingerprint(directory)
    statuses: dict[int, int] = {}
    server_errors = []
    for path, params in hostile_requests():
        response = http.get(path, params=params)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        if response.status_code >= 500:
            server_errors.append(f"{path} {params}: {response.status_code} {response.text[:200]}")
    report = http.post(
        f"/dienst/{service_id('Schuldhulpverlening')}/meld-een-fout",
        content="bericht=" + "'; DELETE FROM service; -- klopt niet",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert server_errors == []
    assert report.status_code == 303
    assert fingerprint(directory) == before
    assert set(statuses) <= {200, 400, 404, 422}, statuses
    # The hostile text reached the search itself, not only the validation in front of it.
    assert statuses[200] > len(HOSTILE_TEXT)


def test_search_for_a_quote_finds_what_the_words_find(http: httpx.Client):
    plain = http.get("/services", params={"search": "schuldhulp"}).json()
    quoted = http.get("/services", params={"search": "schuldhulp' OR '1'='1"}).json()
    assert plain["total_items"] >= 1
    assert {s["name"] for s in quoted["contents"]} >= {s["name"] for s in plain["contents"]}
    assert quoted["total_items"] < len(demo_service_list())


def test_a_municipality_filter_is_matched_as_written_not_as_a_pattern(http: httpx.Client):
    exact = http.get("/services", params={"municipality": "lindeloo"}).json()
    assert exact["total_items"] == 3
    for pattern in ("%", "_%", "Linde%", "\\"):
        assert http.get("/services", params={"municipality": pattern}).json()["total_items"] == 0


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/services?per_page=1",
        "/services?per_page=1000",
        "/services/onbekend",
        "/bestaat-niet",
        "/openapi.json",
        "/zoeken?q=schulden",
        "/static/servicemap.css",
    ],
)
def test_every_response_carries_the_security_headers(http: httpx.Client, path: str):
    headers = http.get(path).headers
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "'unsafe-inline'" not in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"


def test_the_docs_page_may_run_only_its_own_inline_script(http: httpx.Client):
    response = http.get("/docs")
    [script] = re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    policy = response.headers["content-security-policy"]
    assert f"'sha256-{digest}'" in policy
    assert "'unsafe-inline'" not in policy and "frame-ancestors 'none'" in policy


def test_cors_answers_the_configured_origin_only(http: httpx.Client):
    allowed = http.get("/services", headers={"Origin": HUISARTS})
    other = http.get("/services", headers={"Origin": "https://elders.example.com"})
    preflight = http.options(
        "/services", headers={"Origin": "https://elders.example.com", "Access-Control-Request-Method": "GET"}
    )
    assert allowed.headers["access-control-allow-origin"] == HUISARTS
    assert "access-control-allow-origin" not in other.headers
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.headers["x-content-type-options"] == "nosniff"


def test_without_configured_origins_no_site_may_call_from_a_browser(directory: str):
    with environment(UNLIMITED), serving(create_app(directory)) as base:
        response = httpx.get(f"{base}/services", headers={"Origin": HUISARTS})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize(
    ("origin", "named"),
    [
        ("*", "any origin ('*') is not allowed"),
        ("huisarts.example.nl", "expected scheme and host"),
        ("https://huisarts.example.nl/api", "an origin is scheme and host only"),
    ],
)
def test_a_bad_cors_origin_is_refused_naming_it(origin: str, named: str):
    with pytest.raises(SecuritySettingsError, match=re.escape(f"CORS origin {origin!r}: {named}")):
        SecuritySettings.from_env([origin], environ={})


def test_bad_rate_limit_settings_are_named_together():
    environ = {"SERVICEMAP_RATE_LIMIT_PER_SECOND": "snel", "SERVICEMAP_RATE_LIMIT_BURST": "0"}
    with pytest.raises(SecuritySettingsError) as caught:
        SecuritySettings.from_env(environ=environ)
    assert "SERVICEMAP_RATE_LIMIT_PER_SECOND='snel': expected a number above 0" in str(caught.value)
    assert "SERVICEMAP_RATE_LIMIT_BURST='0': expected a whole number of at least 1" in str(caught.value)


def test_rate_limit_settings_come_from_the_environment():
    environ = {"SERVICEMAP_RATE_LIMIT_PER_SECOND": "2.5", "SERVICEMAP_RATE_LIMIT_BURST": "7"}
    settings = SecuritySettings.from_env([HUISARTS], environ=environ)
    assert (settings.requests_per_second, settings.burst, settings.cors_origins) == (2.5, 7, (HUISARTS,))


def test_a_client_over_its_burst_gets_429_with_retry_after_and_a_message(directory: str):
    slow = SecuritySettings(requests_per_second=0.01, burst=3)
    with serving(create_app(directory, security=slow)) as base:
        statuses = [httpx.get(f"{base}/").status_code for _ in range(3)]
        refused = httpx.get(f"{base}/services", headers={"Origin": HUISARTS})
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 100
    assert refused.json()["detail"].startswith("too many requests from 127.0.0.1: at most 3 at once")
    assert refused.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_a_bucket_refills_at_the_rate_and_clients_are_counted_apart():
    buckets = ClientBuckets(requests_per_second=2, burst=2)
    assert [buckets.take("10.0.0.1", now=0.0) for _ in range(2)] == [0.0, 0.0]
    assert buckets.take("10.0.0.1", now=0.0) == pytest.approx(0.5)
    assert buckets.take("10.0.0.2", now=0.0) == 0.0
    assert buckets.take("10.0.0.1", now=0.5) == 0.0  # one token back after 1/rate seconds
    assert buckets.take("10.0.0.1", now=0.5) > 0
    assert [buckets.take("10.0.0.1", now=60.0) for _ in range(3)][:2] == [0.0, 0.0]  # never above burst


def test_refused_requests_do_not_pile_up_a_debt():
    buckets = ClientBuckets(requests_per_second=1, burst=1)
    buckets.take("10.0.0.1", now=0.0)
    for _ in range(100):
        buckets.take("10.0.0.1", now=0.1)
    assert buckets.take("10.0.0.1", now=1.0) == 0.0


def test_buckets_forget_the_least_recent_client_beyond_the_limit():
    buckets = ClientBuckets(requests_per_second=0.001, burst=1, max_clients=2)
    for client in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        buckets.take(client, now=0.0)
    assert buckets.take("10.0.0.3", now=0.0) > 0  # still tracked
    assert buckets.take("10.0.0.1", now=0.0) == 0.0  # forgotten, so a full bucket again


def test_the_page_for_an_unpublished_directory_names_no_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'geheim-pad' / 'leeg.db'}"
    with environment(UNLIMITED), serving(web_app(url, [])) as base:
        page = httpx.get(f"{base}/zoeken", params={"q": "schulden"})
    assert page.status_code == 503
    assert "geheim-pad" not in page.text and "sqlite" not in page.text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql+psycopg://servicemap:Wachtw00rd!@db.intern:5432/servicemap",
            "postgresql+psycopg://servicemap:***@db.intern:5432/servicemap",
        ),
        (
            "postgresql://reader@db.intern/servicemap?password=Wachtw00rd&application_name=api",
            "postgresql://reader@db.intern/servicemap?password=***&application_name=api",
        ),
        ("sqlite:///var/directory.sqlite", "sqlite:///var/directory.sqlite"),
        ("Wachtw00rd", "***"),
    ],
)
def test_a_database_url_is_shown_without_its_secrets(url: str, shown: str):
    assert redact_url(url) == shown
    assert "Wachtw00rd" not in redact_url(url)


def test_the_locked_dependencies_have_no_known_vulnerability():
    """`python -m servicemap.dependency_audit check` over requirements.lock, as CI runs it:
    pip-audit against PyPI's data when reachable, else the bundled PyPA advisory snapshot, so the
    audit always runs. An open finding or an unaudited pin fails it; it never skips."""
    pins = read_lock(LOCK)
    result = subprocess.run(
        [sys.executable, "-m", "servicemap.dependency_audit", "check"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, (
        f"raise the pin or record an exception (security/audit-exceptions.yaml):\n{report}"
    )
    assert result.stdout.startswith(f"audited {len(pins)} packages "), report
