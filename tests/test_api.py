"""The HTTP API, tested over HTTP against uvicorn on 127.0.0.1 (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime

import httpx
import psycopg
import pytest
import schemathesis
import uvicorn
from fastapi import FastAPI
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import response_schema_conformance, status_code_conformance
from schemathesis.core.failures import FailureGroup
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from servicemap.api import app as app_module
from servicemap.api import create_app, postgres_bodies
from servicemap.api.app import SEARCHERS
from servicemap.api.current import CurrentVersion
from servicemap.api.postgres_bodies import BODY_CONNECTIONS, PostgresBodies
from servicemap.api.security import SecuritySettings
from servicemap.hsds.export import export_hsds
from servicemap.hsds.validator import validate_service
from servicemap.publish import (
    NoDirectoryPublished,
    create_schema,
    current_version,
    engine_for,
    publish_directory,
    read_services,
)
from servicemap.publish.db import SQLITE_POOL_SIZE, request_engine
from servicemap.records import Label, SourceRef
from servicemap.search import amsterdam_now, rank
from tests.conftest import (
    POSTGRES_SERVER_URL,
    POSTGRES_TEST_URL,
    _drop_directory,
    _postgres_answers,
    demo_service_list,
)
from tests.sitesserver import closed_port

LATER = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """`app` under uvicorn in a thread on a free port of 127.0.0.1; yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def api_services():
    """The conftest demo services, with facets a filter can find and one seen later than the rest."""
    services = demo_service_list()
    by_name = {s.name: s for s in services}
    for name, sector, access in [
        ("Schuldhulpverlening", "sociaal_domein", "via_aanmelding"),
        ("Steunpunt Mantelzorg", "vrijwillig_informeel", "vrij_toegankelijk"),
        ("Juridisch Spreekuur", "sociaal_domein", "vrij_toegankelijk"),
    ]:
        by_name[name].labels += [
            Label(taxonomy="sector", term=sector, term_label=sector, confidence=0.8, evidence=["aanbieder"]),
            Label(taxonomy="access", term=access, term_label=access, confidence=0.8, evidence=["aanmelden"]),
        ]
    for service in services:  # Lindeloo lies some 30 km north of Brederwijk
        service.latitude, service.longitude = (
            (52.37, 5.12) if service.municipality == "Lindeloo" else (52.09, 5.12)
        )
    spreekuur = by_name["Juridisch Spreekuur"]
    spreekuur.members = [
        SourceRef(
            record_id="lindeloo-sociaal:juridisch-spreekuur-2",
            source_id="lindeloo-sociaal",
            url="https://www.lindeloo.example.nl/juridisch-spreekuur",
            fetched_at=LATER,
        )
    ]
    return services


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def directory_url(request, tmp_path_factory) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('api') / 'directory.db'}"
        create_schema(engine_for(url))
    else:
        if not _postgres_answers():
            message = f"PostgreSQL does not answer at {POSTGRES_TEST_URL} (start it with services-up)"
            if os.environ.get("CI") == "true":
                pytest.fail(message)
            pytest.skip(message)
        url = POSTGRES_TEST_URL
        _drop_directory(url)
        create_schema(engine_for(url))
    publish_directory(url, api_services(), [], run_id="api-run-1", synonyms=[["eenzaam", "alleen"]])
    # PostgreSQL is left as it is: the next fixture that uses it drops it first.
    yield url


@pytest.fixture(scope="module")
def base(directory_url: str) -> Iterator[str]:
    # The fuzz run alone sends hundreds of requests from one address: the rate limit (tested
    # with the security middleware) is set above what this module sends.
    security = SecuritySettings(
        cors_origins=("https://huisarts.example.nl",), requests_per_second=10_000, burst=10_000
    )
    with serving(create_app(directory_url, security=security)) as url:
        yield url


@pytest.fixture(scope="module")
def api(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=30) as client:
        yield client


def names(body: dict) -> list[str]:
    return [s["name"] for s in body["contents"]]


def test_root_names_the_api_hsds_and_directory_version(api):
    response = api.get("/")
    assert response.status_code == 200
    body = response.json()
    assert body["hsds_version"] == "3.0"
    assert body["api_version"]
    assert body["directory_version"]["services"] == 6
    assert response.headers["etag"] == f'"{body["directory_version"]["id"]}"'
    published = datetime.fromisoformat(body["directory_version"]["published_at"])
    assert response.headers["last-modified"] == published.strftime("%a, %d %b %Y %H:%M:%S GMT")


@pytest.mark.parametrize(
    "path", ["/", "/services?per_page=2", "/organizations", "/taxonomy_terms", "/suggestions?q=schu"]
)
def test_a_client_with_the_current_version_gets_304(api, path):
    etag = api.get(path).headers["etag"]
    cached = api.get(path, headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.content == b""
    assert cached.headers["etag"] == etag
    assert api.get(path, headers={"If-None-Match": f"W/{etag}"}).status_code == 304
    assert api.get(path, headers={"If-None-Match": '"an-older-version"'}).status_code == 200


def test_services_without_search_are_listed_by_name(api):
    body = api.get("/services").json()
    assert body["total_items"] == 6
    assert names(body) == sorted(names(body))
    assert (body["total_pages"], body["page_number"], body["size"]) == (1, 1, 6)
    assert body["first_page"] and body["last_page"] and not body["empty"]


def test_paging_walks_every_service_once_and_ends_empty(api):
    pages = [api.get("/services", params={"per_page": 4, "page": p}).json() for p in (1, 2, 3)]
    first, last, beyond = pages
    assert (first["first_page"], first["last_page"], first["size"]) == (True, False, 4)
    assert (last["first_page"], last["last_page"], last["size"]) == (False, True, 2)
    assert beyond["empty"] and beyond["contents"] == [] and beyond["total_items"] == 6
    assert beyond["total_pages"] == 2 and beyond["last_page"]
    listed = names(first) + names(last)
    assert len(set(listed)) == 6
    assert api.get("/services", params={"per_page": 100}).json()["size"] == 6


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"page": 0}, "page='0': Input should be greater than or equal to 1"),
        ({"per_page": 0}, "per_page='0'"),
        ({"per_page": 101}, "per_page='101': Input should be less than or equal to 100"),
        ({"page": "twee"}, "page='twee'"),
        ({"modified_after": "gisteren"}, "modified_after='gisteren'"),
        ({"search": "schuld " * 40}, "search="),
        ({"postcode": "9998 BB", "radius_km": 0}, "radius_km='0'"),
        ({"age": 121}, "age='121': Input should be less than or equal to 120"),
        ({"age": "oud"}, "age='oud'"),
        ({"open_at": "maandag"}, "open_at='maandag'"),
    ],
)
def test_out_of_range_parameters_are_422_naming_the_parameter(api, params, named):
    response = api.get("/services", params=params)
    assert response.status_code == 422
    assert named in response.json()["detail"]


def test_search_ranks_and_pages_the_matches(api):
    body = api.get("/services", params={"search": "schulden"}).json()
    assert names(body)[0] == "Schuldhulpverlening"
    assert "Steunpunt Mantelzorg" not in names(body)
    typo = api.get("/services", params={"search": "mantelzrog"}).json()
    assert names(typo) == ["Steunpunt Mantelzorg"]
    paged = api.get("/services", params={"search": "schulden", "per_page": 1, "page": 2}).json()
    assert paged["total_items"] == body["total_items"] and names(paged) == names(body)[1:2]


def test_search_without_words_is_400(api):
    response = api.get("/services", params={"search": "?!*"})
    assert response.status_code == 400
    assert "has no words" in response.json()["detail"]


def term_id(api, taxonomy: str, code: str) -> str:
    terms = api.get("/taxonomy_terms", params={"per_page": 100}).json()["contents"]
    return next(t["id"] for t in terms if t["taxonomy"] == taxonomy and t["code"] == code)


def organization_id(api, name: str) -> str:
    organizations = api.get("/organizations", params={"per_page": 100}).json()["contents"]
    return next(o["id"] for o in organizations if o["name"] == name)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"domain": "finances"}, ["Schuldhulpverlening", "Thuisadministratie"]),
        ({"audience": "elderly"}, ["Maatjesproject Samen Op Pad", "Thuisadministratie"]),
        ({"sector": "sociaal_domein"}, ["Juridisch Spreekuur", "Schuldhulpverlening"]),
        ({"access": "vrij_toegankelijk"}, ["Juridisch Spreekuur", "Steunpunt Mantelzorg"]),
        (
            {"municipality": "LINDELOO"},
            ["Juridisch Spreekuur", "Maatjesproject Samen Op Pad", "Steunpunt Mantelzorg"],
        ),
        ({"modified_after": "2026-04-01T00:00:00Z"}, ["Juridisch Spreekuur"]),
        ({"modified_after": "2026-04-01T00:00:00"}, ["Juridisch Spreekuur"]),
        ({"modified_after": "2026-06-01T00:00:00+02:00"}, []),
        ({"domain": "finances", "search": "schulden"}, ["Schuldhulpverlening", "Thuisadministratie"]),
        ({"zrm": "Financiën"}, ["Schuldhulpverlening", "Thuisadministratie"]),
        ({"positive_health": "Meedoen"}, ["Maatjesproject Samen Op Pad"]),
        (
            {"postcode": "9998 BB", "radius_km": 5},
            ["Juridisch Spreekuur", "Maatjesproject Samen Op Pad", "Steunpunt Mantelzorg"],
        ),  # noqa: E501
        ({"postcode": "9998BB", "search": "spreekuur"}, ["Juridisch Spreekuur"]),
        (
            {"postcode": "9999 AA", "radius_km": 50, "sector": "sociaal_domein"},
            ["Juridisch Spreekuur", "Schuldhulpverlening"],
        ),  # noqa: E501
        ({"access": "vrij_toegankelijk", "search": "mantelzorg"}, ["Steunpunt Mantelzorg"]),
        ({"municipality": "Lindeloo", "search": "schulden"}, []),
    ],
)
def test_each_filter_keeps_only_the_services_it_names(api, params, expected):
    body = api.get("/services", params=params).json()
    assert sorted(names(body)) == expected
    assert body["total_items"] == len(expected)


def test_age_language_hours_and_inactive_services_filter_listing_and_search(tmp_path):
    url = f"sqlite:///{tmp_path / 'directory.db'}"
    services = api_services()
    by_name = {s.name: s for s in services}
    by_name["Maatjesproject Samen Op Pad"].labels.append(
        Label(taxonomy="audience", term="ouderen", term_label="Ouderen", confidence=0.8, evidence=["65+"])
    )
    by_name["Juridisch Spreekuur"].language = "en"
    publish_directory(url, services, [], run_id="api-run-1")
    # The wijkteam is no longer found: kept, marked inactive.
    publish_directory(
        url, [s for s in services if s.name != "Wijkteam Brederwijk-Noord"], [], run_id="api-run-2"
    )
    active = sorted(s.name for s in services if s.name != "Wijkteam Brederwijk-Noord")

    def listed(**params) -> list[str]:
        response = api.get("/services", params={"per_page": 100, **params})
        assert response.status_code == 200, response.text
        return sorted(names(response.json()))

    with serving(create_app(url)) as base, httpx.Client(base_url=base) as api:
        # A service for older people is not one for a 30-year-old; one for no age group is.
        assert listed(age=30) == [n for n in active if n != "Maatjesproject Samen Op Pad"]
        assert listed(age=67) == active
        assert listed(search="eenzaam", age=30) == []
        assert listed(search="eenzaam", age=67) == ["Maatjesproject Samen Op Pad"]
        assert listed(language="en") == listed(language="EN") == ["Juridisch Spreekuur"]
        # Every service is open on Monday 09:00-12:00, Dutch time (UTC+1 in March).
        assert listed(open_at="2026-03-02T10:30") == active
        assert listed(open_at="2026-03-02T09:30:00Z") == active
        assert listed(open_at="2026-03-02T11:30:00Z") == []
        assert listed(open_at="2026-03-03T10:30", search="schulden") == []
        now = listed(open_now="true")
        assert now == listed(open_at=amsterdam_now().replace(tzinfo=None).isoformat(timespec="seconds"))
        everything = api.get("/services", params={"include_inactive": "true", "per_page": 100}).json()
        statuses = {s["name"]: s["status"] for s in everything["contents"]}
        assert statuses.pop("Wijkteam Brederwijk-Noord") == "inactive"
        assert sorted(statuses) == active and set(statuses.values()) == {"active"}
        assert listed(search="wijkteam") == []
        assert listed(search="wijkteam", include_inactive="true") == ["Wijkteam Brederwijk-Noord"]


def test_taxonomy_term_and_organization_filters_take_ids(api):
    caregivers = term_id(api, "audience", "caregivers")
    body = api.get("/services", params={"taxonomy_term_id": caregivers}).json()
    assert names(body) == ["Steunpunt Mantelzorg"]
    gemeente = organization_id(api, "Gemeente Brederwijk")
    body = api.get("/services", params={"organization_id": gemeente}).json()
    assert names(body) == ["Schuldhulpverlening", "Wijkteam Brederwijk-Noord"]
    body = api.get("/services", params={"organization_id": gemeente, "search": "wijkteam"}).json()
    assert names(body) == ["Wijkteam Brederwijk-Noord"]


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"domain": "geld"}, "domain 'geld' is not a term of the published 'life_domain' taxonomy"),
        ({"audience": "kinderen", "search": "hulp"}, "audience 'kinderen'"),
        ({"sector": "zorgg"}, "sector 'zorgg'"),
        ({"access": "huisarts"}, "access 'huisarts'"),
        (
            {"taxonomy_term_id": "00000000-0000-0000-0000-000000000000"},
            "taxonomy_term_id '00000000-0000-0000-0000-000000000000' is not a taxonomy term",
        ),
        ({"language": "n1"}, "language 'n1' is not a language code"),
        ({"open_now": "true", "open_at": "2026-03-02T10:30"}, "open_now or open_at, not both"),
        ({"search": "hulp\x00"}, "contains a NUL"),
        ({"zrm": "Geldzaken"}, "zrm 'Geldzaken' is not in the taxonomy"),
        ({"postcode": "1234 ZZ"}, "no located address with this postcode"),
        ({"postcode": "Utrecht"}, "is not a Dutch postcode"),
        ({"radius_km": 5}, "needs a near_postcode"),
    ],
)
def test_unknown_filter_values_are_400_naming_the_value(api, params, named):
    response = api.get("/services", params=params)
    assert response.status_code == 400
    assert named in response.json()["detail"]


def test_a_service_is_the_exported_hsds_object_with_its_lineage(api, directory_url, tmp_path):
    export_hsds(directory_url, tmp_path)
    exported = {s["id"]: s for s in json.loads((tmp_path / "services.json").read_text(encoding="utf-8"))}
    spreekuur = next(s for s in exported.values() if s["name"] == "Juridisch Spreekuur")
    body = api.get(f"/services/{spreekuur['id']}").json()
    assert body == spreekuur
    assert body["organization"]["name"] == "Sociaal Raadslieden Lindeloo"
    assert body["service_at_locations"][0]["location"]["addresses"][0]["postal_code"] == "9998 BB"
    assert [p["number"] for p in body["phones"]] == ["+31300000106"]
    [seen] = body["metadata"]
    assert seen["replacement_value"] == "https://www.lindeloo.example.nl/juridisch-spreekuur"
    assert seen["updated_by"] == "lindeloo-sociaal"
    assert seen["last_action_date"] == LATER.date().isoformat()
    assert datetime.fromisoformat(body["last_modified"]) == LATER


def test_listed_services_are_hsds_listings_of_one_service(api):
    """HSDS 3.0's `/services` lists each service by its one-to-one fields (service_list.json)."""
    listed = api.get("/services", params={"search": "mantelzorg"}).json()["contents"][0]
    body = api.get(f"/services/{listed['id']}").json()

    def one_to_one(obj: dict) -> dict:
        return {k: v for k, v in obj.items() if not isinstance(v, list | dict)}

    assert validate_service(listed) == []
    assert listed == {**one_to_one(body), "organization": one_to_one(body["organization"])}
    assert {"phones", "service_at_locations", "attributes", "metadata"} <= body.keys()


def test_full_lists_each_service_as_one_service_gives_it(api):
    listed = api.get("/services", params={"search": "mantelzorg", "full": "true"}).json()["contents"]
    assert listed
    assert [api.get(f"/services/{s['id']}").json() for s in listed] == listed


@pytest.mark.parametrize("path", ["/services/", "/organizations/"])
def test_an_unknown_id_is_404_naming_the_id(api, path):
    response = api.get(path + "onbekend-id")
    assert response.status_code == 404
    assert "'onbekend-id'" in response.json()["detail"]


@pytest.mark.parametrize("method", ["HEAD", "POST", "DELETE"])
def test_a_method_other_than_get_is_answered_on_services_as_on_every_route(api, method):
    """`/services` and `/services/{id}` are passed to their endpoints ahead of FastAPI's router;
    what they do not take goes on to it, and is answered as on a route it passes itself."""
    service_id = api.get("/services", params={"per_page": 1}).json()["contents"][0]["id"]
    on_routed = api.request(method, "/organizations")
    assert on_routed.status_code == 405
    for path in ("/services", f"/services/{service_id}"):
        response = api.request(method, path)
        assert (response.status_code, response.content) == (on_routed.status_code, on_routed.content)
        assert response.headers["allow"] == on_routed.headers["allow"] == "GET"


def test_a_fault_in_the_server_is_a_json_500_and_the_connection_serves_on(directory_url, monkeypatch, caplog):
    """An error the app has no handler for is answered as a server error, in JSON, and the
    client's connection serves its next request."""
    with serving(create_app(directory_url)) as base, httpx.Client(base_url=base) as client:
        service_id = client.get("/services", params={"per_page": 1}).json()["contents"][0]["id"]

        def broken(*args, **kwargs):
            raise RuntimeError("a fault in the server")

        with monkeypatch.context() as patched:
            patched.setattr(app_module.queries, "cached_service_body", broken)
            failed = client.get(f"/services/{service_id}")
        assert failed.status_code == 500
        assert failed.json() == {"detail": "the server failed to answer this request; the error is logged"}
        assert failed.headers["X-Content-Type-Options"] == "nosniff"
        [logged] = [r for r in caplog.records if r.exc_info and r.exc_info[0] is RuntimeError]
        assert logged.getMessage() == f"GET /services/{service_id} failed"
        assert client.get(f"/services/{service_id}").json()["id"] == service_id


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("/services/a%00b", "the path"),
        ("/organizations/a%00b", "the path"),
        ("/taxonomy_terms?taxonomy_id=a%00b", "parameter 'taxonomy_id'"),
        ("/suggestions?q=schuld%00hulp", "parameter 'q'"),
    ],
)
def test_a_nul_character_anywhere_is_400_naming_where(api, path, named):
    response = api.get(path)
    assert response.status_code == 400
    assert response.json()["detail"] == f"{named} contains a NUL character; expected text"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_organizations_list_their_services(api):
    body = api.get("/organizations").json()
    assert body["total_items"] == 4
    welzijn = next(o for o in body["contents"] if o["name"] == "Welzijn Lindeloo")
    one = api.get(f"/organizations/{welzijn['id']}").json()
    assert [s["name"] for s in one["services"]] == ["Maatjesproject Samen Op Pad", "Steunpunt Mantelzorg"]
    paged = api.get("/organizations", params={"per_page": 3, "page": 2}).json()
    assert paged["size"] == 1 and paged["last_page"]


def test_taxonomies_and_their_terms(api):
    taxonomies = api.get("/taxonomies").json()["contents"]
    assert {t["name"] for t in taxonomies} == {"life_domain", "audience", "sector", "access"}
    audience = next(t for t in taxonomies if t["name"] == "audience")
    terms = api.get("/taxonomy_terms", params={"taxonomy_id": audience["id"]}).json()["contents"]
    assert sorted(t["code"] for t in terms) == ["adults", "caregivers", "elderly"]


def test_cors_allows_the_configured_origin_only(api):
    allowed = api.get("/", headers={"Origin": "https://huisarts.example.nl"})
    assert allowed.headers["access-control-allow-origin"] == "https://huisarts.example.nl"
    other = api.get("/", headers={"Origin": "https://elders.example.com"})
    assert "access-control-allow-origin" not in other.headers


def test_an_empty_database_answers_503_without_naming_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'leeg.db'}"
    with serving(create_app(url)) as base:
        response = httpx.get(f"{base}/services")
    assert response.status_code == 503
    assert response.json() == {"detail": "no directory has been published yet"}
    assert "leeg.db" not in response.text


def test_a_database_that_does_not_answer_gives_503_with_retry_after_without_naming_it():
    url = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/servicemap"
    with serving(create_app(url)) as base, httpx.Client(base_url=base) as api:
        answers = [api.get(path) for path in ("/", "/services", "/services?search=schuldhulp", "/taxonomies")]
    assert [a.status_code for a in answers] == [503] * 4
    for answer in answers:
        assert answer.json() == {
            "detail": "the directory's database is unavailable; try again in a few seconds"
        }
        assert answer.headers["retry-after"] == "5"
        assert "127.0.0.1" not in answer.text


def suggested(api, q: str, **params) -> list[tuple[str, str]]:
    response = api.get("/suggestions", params={"q": q, **params})
    assert response.status_code == 200, response.text
    assert response.json()["query"] == q
    return [(s["text"], s["kind"]) for s in response.json()["suggestions"]]


def test_suggestions_complete_any_word_with_domains_and_synonyms_before_names(api):
    assert suggested(api, "eenz") == [("eenzaam", "synonym")]
    assert suggested(api, "mantel") == [
        ("Gezin, relaties en mantelzorg", "domain"),
        ("Steunpunt Mantelzorg", "service"),
    ]
    assert suggested(api, "FINANCIEN") == [("Financiën", "domain")]  # case and accents ignored
    assert suggested(api, "wijkteam br") == [("Wijkteam Brederwijk-Noord", "service")]
    assert suggested(api, "schuld") == [("Schuldhulpverlening", "service")]


def test_suggestions_need_two_letters_and_keep_to_the_limit(api):
    assert suggested(api, "") == [] and suggested(api, "s") == [] and suggested(api, "?!") == []
    everything = suggested(api, "sa", limit=20)
    assert len(everything) >= 1 and suggested(api, "sa", limit=1) == everything[:1]
    assert suggested(api, "zzz") == []


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"q": "x" * 201}, "q='xxx"),
        ({"q": "hulp", "limit": 0}, "limit='0'"),
        ({"q": "hulp", "limit": 21}, "limit='21': Input should be less than or equal to 20"),
    ],
)
def test_suggestions_refuse_a_long_query_or_a_bad_limit(api, params, named):
    response = api.get("/suggestions", params=params)
    assert response.status_code == 422
    assert named in response.json()["detail"]


def test_openapi_documents_exactly_the_routes_and_each_answers(api, base):
    document = api.get("/openapi.json").json()
    app = create_app("sqlite://")
    routes = {r.path for r in app.routes if isinstance(r, APIRoute)}
    assert set(document["paths"]) == routes
    service = api.get("/services", params={"per_page": 1}).json()["contents"][0]
    ids = {"service_id": service["id"], "organization_id": service["organization_id"]}
    for path, operations in document["paths"].items():
        assert set(operations) == {"get"}
        response = api.get(path.format(**ids))
        assert response.status_code == 200, path
        assert str(response.status_code) in operations["get"]["responses"]
    listed = document["paths"]["/services"]["get"]["parameters"]
    assert {p["name"] for p in listed} >= {
        "search", "page", "per_page", "taxonomy_term_id", "organization_id", "modified_after",
        "domain", "audience", "sector", "access", "municipality", "zrm", "positive_health", "postcode",
        "radius_km",
    }  # fmt: skip


FUZZ_EXAMPLES = 60


def test_fuzzing_the_openapi_document_finds_no_server_error(base, directory_url):
    """Schemathesis generates valid and invalid requests for every operation from the served
    document; none may get a 5xx, and each response must match what the document says."""
    if not directory_url.startswith("sqlite"):
        pytest.skip("fuzzed once, on SQLite: the mapping of errors is the backend's same code")
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    sent = []
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        # An operation without parameters ('/') has no invalid request to generate.
        modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if operation.query else [])
        for mode in modes:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=FUZZ_EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def fuzz(case):
                response = case.call(base_url=base)
                sent.append(response.status_code)
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} {case.query}: {response.text}")
                try:
                    case.validate_response(
                        response, checks=[response_schema_conformance, status_code_conformance]
                    )
                except FailureGroup as group:
                    failures.append(f"{case.method} {case.formatted_path} {case.query}: {group.exceptions}")

            fuzz()
    print(f"schemathesis: {len(sent)} generated requests, statuses {sorted(set(sent))}")
    assert failures == []
    assert len(sent) >= 7 * FUZZ_EXAMPLES


def test_every_service_body_and_listing_validates_as_hsds_3(api):
    listed = api.get("/services", params={"per_page": 100}).json()["contents"]
    assert len(listed) == 6
    for service in listed:
        assert validate_service(service) == [], service["name"]
        body = api.get(f"/services/{service['id']}").json()
        assert validate_service(body) == [], body["name"]


def test_a_new_publish_is_served_at_once_despite_the_cached_service_body(tmp_path):
    url = f"sqlite:///{tmp_path / 'directory.db'}"
    services = api_services()
    publish_directory(url, services, [], run_id="api-run-1")
    spreekuur = next(s for s in services if s.name == "Juridisch Spreekuur")
    with serving(create_app(url)) as base, httpx.Client(base_url=base) as api:
        first = api.get(f"/services/{spreekuur.id}")
        assert api.get(f"/services/{spreekuur.id}").json() == first.json()  # now from the cache
        spreekuur.description = "Gratis advies over huur en schulden, nu ook op zaterdag."
        publish_directory(url, services, [], run_id="api-run-2")
        second = api.get(f"/services/{spreekuur.id}")
        assert second.json()["description"] == spreekuur.description
        assert second.headers["etag"] != first.headers["etag"]


def test_a_search_after_a_new_publish_is_the_new_version_with_its_etag(tmp_path):
    url = f"sqlite:///{tmp_path / 'directory.db'}"
    services = api_services()
    publish_directory(url, services, [], run_id="api-run-1")
    spreekuur = next(s for s in services if s.name == "Juridisch Spreekuur")
    with serving(create_app(url)) as base, httpx.Client(base_url=base) as api:
        first = api.get("/services", params={"search": "spreekuur"})
        spreekuur.description = "Gratis advies over huur en schulden, nu ook op zaterdag."
        publish_directory(url, services, [], run_id="api-run-2")
        second = api.get(
            "/services", params={"search": "spreekuur"}, headers={"If-None-Match": first.headers["etag"]}
        )
        version = api.get("/").json()["directory_version"]["id"]
    assert second.status_code == 200
    assert second.headers["etag"] == f'"{version}"' != first.headers["etag"]
    found = next(s for s in second.json()["contents"] if s["name"] == "Juridisch Spreekuur")
    assert found["description"] == spreekuur.description


def test_one_service_answers_304_to_a_client_with_the_current_version(api):
    service = api.get("/services", params={"per_page": 1}).json()["contents"][0]
    first = api.get(f"/services/{service['id']}")
    assert first.headers["etag"] == api.get("/").headers["etag"]
    cached = api.get(f"/services/{service['id']}", headers={"If-None-Match": first.headers["etag"]})
    assert (cached.status_code, cached.content) == (304, b"")
    assert api.get(f"/services/{service['id']}", headers={"If-None-Match": '"older"'}).json() == first.json()


def test_pages_and_single_services_after_a_second_publish_show_only_the_current_version(tmp_path):
    """Phones, hours and terms are read by service id across the kept versions and matched to
    the version in Python: none of the older version's may show."""
    url = f"sqlite:///{tmp_path / 'directory.db'}"
    services = api_services()
    publish_directory(url, services, [], run_id="api-run-1")
    for service in services:
        service.description = f"{service.description} Nieuw: ook op zaterdag."
    publish_directory(url, services, [], run_id="api-run-2")
    export_hsds(url, tmp_path / "export")
    exported = json.loads((tmp_path / "export" / "services.json").read_text(encoding="utf-8"))
    with serving(create_app(url)) as base, httpx.Client(base_url=base) as api:
        listed = api.get("/services", params={"per_page": 100}).json()["contents"]
        full = api.get("/services", params={"per_page": 100, "full": "true"}).json()["contents"]
        one_by_one = [api.get(f"/services/{s['id']}").json() for s in exported]
    assert sorted(full, key=lambda s: s["id"]) == sorted(exported, key=lambda s: s["id"])
    assert one_by_one == exported
    assert len(listed) == len(exported)
    assert all(s["description"].endswith("Nieuw: ook op zaterdag.") for s in listed)


def test_the_current_version_is_read_again_at_once_after_a_publish_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'directory.db'}"
    services = api_services()
    first = publish_directory(url, services, [], run_id="api-run-1")
    current = CurrentVersion(url)
    seen = current.get()
    assert seen.version.id == first.id
    assert current.get() is seen  # nothing committed since: not read again
    second = publish_directory(url, services, [], run_id="api-run-2")
    assert current.get().version.id == second.id
    assert current.get().etag == f'"{second.id}"'


def test_on_postgresql_the_current_version_is_at_most_the_recheck_interval_old(directory_url):
    if not directory_url.startswith("postgresql"):
        pytest.skip("SQLite is read again at each commit (the test above)")
    now = [0.0]
    current = CurrentVersion(directory_url, recheck_seconds=0.1, clock=lambda: now[0])
    seen = current.get()
    published = publish_directory(directory_url, api_services(), [], run_id="api-run-recheck")
    now[0] = 0.05
    assert current.get() is seen
    now[0] = 0.15
    assert current.get().version.id == published.id


def test_no_directory_yet_is_named_as_such_by_the_current_version(tmp_path):
    url = f"sqlite:///{tmp_path / 'directory.db'}"
    create_schema(engine_for(url))
    with pytest.raises(NoDirectoryPublished):
        CurrentVersion(url).get()


def test_sqlite_connections_given_back_are_kept_for_the_next_requests(tmp_path):
    """The server's synchronous routes run in threads, each holding a connection: one closed
    when given back costs the next request a new one (a connect, its settings, cold caches),
    which was a third of a search's time when searches ran in 40 threads."""
    url = f"sqlite:///{tmp_path / 'directory.db'}"
    engine = request_engine(url)
    with ExitStack() as in_use:
        for _ in range(SQLITE_POOL_SIZE):
            in_use.enter_context(engine.connect())
    assert engine.pool.checkedin() == SQLITE_POOL_SIZE


def test_searches_in_threads_take_turns(db_url, monkeypatch):
    """A search of a large directory (of any PostgreSQL one) runs in a thread; run all at
    once, the searches of a process shared its CPU and each took as long as all together. At
    most SEARCHERS run at once; the others wait their turn, and every one is answered."""
    publish_directory(db_url, api_services(), [], run_id="api-run-1")
    monkeypatch.setattr(app_module, "INLINE_SEARCH_SERVICES", 0)  # as for a large directory
    running, most = 0, 0
    lock = threading.Lock()

    def slow_rank(*args, **kwargs):
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)  # as a search waits for its database: the interpreter lock released
        with lock:
            running -= 1
        return rank(*args, **kwargs)

    monkeypatch.setattr(app_module, "rank", slow_rank)
    with (
        serving(create_app(db_url)) as base,
        httpx.Client(base_url=base, timeout=10) as api,
        ThreadPoolExecutor(max_workers=8) as clients,
    ):
        answers = list(clients.map(lambda _: api.get("/services", params={"search": "schulden"}), range(8)))
    assert [a.status_code for a in answers] == [200] * 8
    assert all("Schuldhulpverlening" in names(a.json()) for a in answers)
    assert most == SEARCHERS


def test_a_search_on_sqlite_never_waits_for_a_connection(tmp_path):
    """SQLite is read on the event loop, and a request holding a connection gives it back on
    that loop: a read that waited there for a free connection would stall its worker until
    the pool's 30 s timeout. Here more connections are in use than a bounded pool holds."""
    url = f"sqlite:///{tmp_path / 'directory.db'}"
    publish_directory(url, api_services(), [], run_id="api-run-1")
    with ExitStack() as in_use:
        for _ in range(SQLITE_POOL_SIZE + 5):
            in_use.enter_context(request_engine(url).connect())
        with serving(create_app(url)) as base, httpx.Client(base_url=base, timeout=10) as api:
            found = api.get("/services", params={"search": "schulden"})
            listed = api.get("/services", params={"per_page": 1}).json()["contents"][0]
            one = api.get(f"/services/{listed['id']}")
    assert found.status_code == 200 and "Schuldhulpverlening" in names(found.json())
    assert one.status_code == 200


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_connections_postgresql_closed_are_replaced_before_a_request_uses_them(published_db):
    ids = sorted(s.id for s in read_services(published_db))
    with serving(create_app(published_db)) as base, httpx.Client(base_url=base) as api:
        # Every pool of the API holds a connection: by id, searched, listed.
        assert api.get(f"/services/{ids[0]}").status_code == 200
        found = api.get("/services", params={"search": "schuldhulp"})
        assert found.status_code == 200
        assert api.get("/organizations").status_code == 200
        unread = next(i for i in ids[1:] if i not in {s["id"] for s in found.json()["contents"]})
        # As a restart of the server would: every connection to the database ends.
        with psycopg.connect(POSTGRES_SERVER_URL, autocommit=True) as admin:
            ended = admin.execute(
                # Each waited for (up to 5 s) until its process has ended and closed its socket.
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [make_url(published_db).database],
            ).fetchall()
        assert ended

        answers = [
            api.get(f"/services/{unread}"),  # not sent before: read from the database
            api.get("/services", params={"search": "mantelzorg"}),
            api.get("/organizations"),
        ]

    assert [a.status_code for a in answers] == [200, 200, 200], [a.text[:200] for a in answers]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_bodies_asked_for_while_the_connection_reads_come_in_its_next_statement(published_db, monkeypatch):
    version = current_version(published_db).id
    with psycopg.connect(make_url(published_db).set(drivername="postgresql").render_as_string(False)) as db:
        stored = dict(db.execute("SELECT service_id, body FROM service_document").fetchall())
    ids = sorted(stored)[:12]
    statements: list[list[str]] = []
    read = PostgresBodies._read

    async def counted(self, version_id, service_ids):
        statements.append(list(service_ids))
        return await read(self, version_id, service_ids)

    monkeypatch.setattr(PostgresBodies, "_read", counted)

    async def ask() -> list[bytes | None]:
        bodies = PostgresBodies(published_db)
        await bodies.open()
        try:
            # Twelve requests at once, a thirteenth for an id the version lacks, and two for a
            # version that does not exist: a statement reads one version's bodies only.
            asked = [(version, i) for i in ids]
            asked += [(version, "no-such-id"), ("no-such-version", ids[0]), ("no-such-version", ids[1])]
            return await asyncio.gather(*(bodies.body(v, i) for v, i in asked))
        finally:
            await bodies.close()

    answers = asyncio.run(ask())

    assert answers == [stored[i].encode() for i in ids] + [None, None, None]
    assert BODY_CONNECTIONS == 1  # else the first few are read one each
    assert statements == [[ids[0]], [*ids[1:], "no-such-id"], [ids[0], ids[1]]]


def test_every_body_waiting_for_an_unreachable_database_fails_within_the_wait(monkeypatch):
    monkeypatch.setattr(postgres_bodies, "CONNECTION_WAIT_SECONDS", 1.0)
    unreachable = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/servicemap"

    async def ask() -> tuple[list[object], float]:
        bodies = PostgresBodies(unreachable)
        started = time.perf_counter()
        try:
            answers = await asyncio.gather(
                *(bodies.body("v", f"id-{n}") for n in range(5)), return_exceptions=True
            )
        finally:
            await bodies.close()
        return answers, time.perf_counter() - started

    answers, took = asyncio.run(ask())

    assert all(isinstance(a, OperationalError) for a in answers), answers
    assert took < 1.5  # each waited its one second, not also the second of the one before


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_bodies_behind_a_statement_the_database_holds_fail_within_the_wait(published_db, monkeypatch):
    monkeypatch.setattr(postgres_bodies, "CONNECTION_WAIT_SECONDS", 1.0)
    version = current_version(published_db).id
    ids = sorted(s.id for s in read_services(published_db))[:4]
    server = make_url(published_db).set(drivername="postgresql").render_as_string(False)

    async def ask() -> list[object]:
        bodies = PostgresBodies(published_db)
        await bodies.open()
        try:
            async with asyncio.timeout(10):  # without a limit on the statement: for ever
                return await asyncio.gather(*(bodies.body(version, i) for i in ids), return_exceptions=True)
        finally:
            await bodies.close()

    # As a migration would: the documents' table locked until the reads have given up.
    with psycopg.connect(server) as locking:
        locking.execute("LOCK TABLE service_document IN ACCESS EXCLUSIVE MODE")
        started = time.perf_counter()
        answers = asyncio.run(ask())
        took = time.perf_counter() - started

    assert all(isinstance(a, OperationalError) for a in answers), answers
    assert took < 1.5  # the first gave up after its second, and those behind it with it
