"""The demo region: its model loads and refuses mistakes, its sites build reproducibly, the
local server behaves like real web servers, and the ground truth points at what is served."""

from __future__ import annotations

import json
import urllib.robotparser
from pathlib import Path

import httpx
import pytest
import yaml
from lxml import etree
from parsel import Selector

from servicemap.demo.region import REGION_DIR, SOURCE_IDS, RegionError, load_region
from servicemap.demo.server import UnknownSite, render_sources, serve_region
from servicemap.demo.sites import GROUND_TRUTH_PATH, SITES_DIR, build_sites, ground_truth_text, render_sites
from servicemap.sources import load_sources
from servicemap.urls import page_key

SAMPLE = Path(__file__).parent / "fixtures" / "region_sample.yaml"
REAL_PARTS = [REGION_DIR / "part_a.yaml", REGION_DIR / "part_b.yaml"]


@pytest.fixture(scope="module")
def sample_region():
    return load_region([SAMPLE])


@pytest.fixture(scope="module")
def sample_build(sample_region, tmp_path_factory):
    out = tmp_path_factory.mktemp("sites")
    return out, build_sites(sample_region, out)


@pytest.fixture(scope="module")
def served(sample_build):
    out, ground_truth = sample_build
    with serve_region(out) as base_urls:
        yield base_urls, ground_truth


@pytest.fixture(scope="module")
def client():
    with httpx.Client(timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def sources(served, tmp_path_factory):
    base_urls, _ = served
    path = tmp_path_factory.mktemp("config") / "sources.yaml"
    path.write_text(render_sources(base_urls), encoding="utf-8")
    return load_sources(path)


def _write_part(tmp_path: Path, edit) -> Path:
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / "part_x.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


# --- the model ----------------------------------------------------------------------------


def test_sample_region_loads_with_services_per_site(sample_region):
    assert len(sample_region.services) == 9
    assert sample_region.organization("welzijn-de-linde").aliases == ["Welzijn De Linde", "De Linde"]
    assert [s.id for s in sample_region.services_on("welzijn-de-linde")] == ["s004", "s009"]
    assert {site for s in sample_region.services for site in s.listed_on} == set(SOURCE_IDS)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: d["services"][0].update(organization="stichting-onbekend"),
            "service 's001': organization 'stichting-onbekend' is not an organisation id",
        ),
        (
            lambda d: d["services"][1]["truth"].update(domains=["geldzaken"]),
            "service 's002': truth.domains: 'geldzaken' is not a label id",
        ),
        (
            lambda d: d["services"][2].update(listed_on=["gemeente-aldermeer"]),
            "service 's003': listed_on 'gemeente-aldermeer' is not a source id",
        ),
        (lambda d: d["services"][3].update(id="s001"), "duplicate service id 's001'"),
        (
            lambda d: d["services"][4].update(descriptions=["Alleen een tekst."]),
            "services 's005': descriptions: List should have at least 2 items",
        ),
    ],
)
def test_a_mistake_in_the_model_is_refused_naming_it(tmp_path, edit, message):
    with pytest.raises(RegionError, match=message):
        load_region([_write_part(tmp_path, edit)])


def test_every_problem_is_reported_at_once(tmp_path):
    def two_mistakes(data):
        data["services"][0]["organization"] = "nergens"
        data["services"][1]["truth"]["sector"] = "zorgsector"

    with pytest.raises(RegionError, match="2 problem") as error:
        load_region([_write_part(tmp_path, two_mistakes)])
    assert len(error.value.problems) == 2


# --- the generator ------------------------------------------------------------------------


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_building_twice_gives_identical_files(sample_region, tmp_path):
    first = build_sites(sample_region, tmp_path / "a")
    second = build_sites(sample_region, tmp_path / "b")
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")
    assert ground_truth_text(first) == ground_truth_text(second)


def test_the_same_service_differs_between_sites(sample_build):
    out, _ = sample_build
    own = (out / "welzijn-de-linde/activiteiten/maatjesproject-de-linde/index.html").read_text(
        encoding="utf-8"
    )
    kaart = json.loads((out / "sociale-kaart/hsds.json").read_text(encoding="utf-8"))
    [elsewhere] = [
        s for s in kaart["services"] if s["eligibility_description"] == "inwoners die zich eenzaam voelen"
    ]
    assert "Voelt u zich weleens alleen?" in own
    assert elsewhere["description"].startswith("Vrijwillige maatjes")
    assert elsewhere["phones"][0]["number"] != "030 276 41 18"


@pytest.mark.skipif(
    not all(p.exists() for p in REAL_PARTS), reason="the region's part files are not written yet"
)
def test_committed_sites_equal_a_fresh_build_of_the_region():
    files, ground_truth = render_sites(load_region())
    committed = {site: _tree(SITES_DIR / site) for site in files}
    assert committed == files, "run: python -m servicemap.demo.sites"
    assert GROUND_TRUTH_PATH.read_text(encoding="utf-8") == ground_truth_text(ground_truth)
    services = ground_truth["services"]
    assert len(services) >= 150
    assert sum(len(s["records"]) >= 2 for s in services) / len(services) >= 1 / 3


# --- the server ---------------------------------------------------------------------------


def test_a_service_page_is_served_with_its_charset_and_a_missing_page_is_404(client, served):
    base_urls, _ = served
    page = client.get(f"{base_urls['gemeente-brederwijk']}/zorg-en-ondersteuning/schuldhulpverlening")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>Schuldhulpverlening</h1>" in page.text
    missing = client.get(f"{base_urls['gemeente-brederwijk']}/zorg-en-ondersteuning/regiotaxi-aanvragen-oud")
    assert missing.status_code == 404


def test_the_old_site_is_windows_1252_and_says_so(client, served):
    base_urls, _ = served
    page = client.get(f"{base_urls['palliatief-netwerk']}/")
    assert page.headers["content-type"] == "text/html; charset=windows-1252"
    assert b'<meta charset="windows-1252">' in page.content
    assert "cli\u00ebntondersteuning".encode("cp1252") in page.content
    assert "cliëntondersteuning" in page.text


def test_robots_txt_keeps_crawlers_out_of_intern(client, served):
    base_urls, ground_truth = served
    for noise in (n for n in ground_truth["noise"] if n["kind"] == "robots_disallowed"):
        base = base_urls[noise["source_id"]]
        robots = urllib.robotparser.RobotFileParser()
        robots.parse(client.get(f"{base}/robots.txt").text.splitlines())
        assert not robots.can_fetch("servicemap", f"{base}{noise['path']}")
        assert robots.can_fetch("servicemap", f"{base}/")
        assert client.get(f"{base}{noise['path']}").status_code == 200


def test_a_conditional_request_for_an_unchanged_page_gets_304(client, served):
    base_urls, _ = served
    url = f"{base_urls['welzijn-de-linde']}/activiteiten/"
    first = client.get(url)
    again = client.get(url, headers={"If-None-Match": first.headers["etag"]})
    since = client.get(url, headers={"If-Modified-Since": first.headers["last-modified"]})
    changed = client.get(url, headers={"If-None-Match": '"iets-anders"'})
    assert (again.status_code, again.content) == (304, b"")
    assert since.status_code == 304
    assert changed.status_code == 200


def test_absolute_urls_name_the_server_that_serves_them(client, served):
    base_urls, _ = served
    sitemap = client.get(f"{base_urls['welzijn-de-linde']}/sitemap.xml")
    locs = etree.fromstring(sitemap.content).findall(".//{http://www.sitemaps.org/schemas/sitemap/0.9}loc")
    assert locs and all(loc.text.startswith(base_urls["welzijn-de-linde"] + "/") for loc in locs)


def test_hsds_api_pages_through_every_service(client, served):
    base_urls, ground_truth = served
    base = base_urls["sociale-kaart"]
    expected = {
        r["key"] for s in ground_truth["services"] for r in s["records"] if r["source_id"] == "sociale-kaart"
    }
    first = client.get(f"{base}/services", params={"page": 1, "per_page": 4}).json()
    assert (first["total_items"], first["total_pages"], first["first_page"], first["last_page"]) == (
        6,
        2,
        True,
        False,
    )
    second = client.get(f"{base}/services", params={"page": 2, "per_page": 4}).json()
    assert (second["size"], second["last_page"], second["empty"]) == (2, True, False)
    assert {s["id"] for s in first["contents"] + second["contents"]} == expected
    beyond = client.get(f"{base}/services", params={"page": 3, "per_page": 4}).json()
    assert beyond["empty"] and beyond["contents"] == []
    assert client.get(f"{base}/services", params={"per_page": 0}).status_code == 400


def test_hsds_api_returns_the_full_service_by_id(client, served):
    base_urls, ground_truth = served
    [schuldhulp] = [s for s in ground_truth["services"] if s["id"] == "s001"]
    [key] = [r["key"] for r in schuldhulp["records"] if r["source_id"] == "sociale-kaart"]
    service = client.get(f"{base_urls['sociale-kaart']}/services/{key}").json()
    assert service["id"] == key
    assert service["organization"]["name"] in {"Gemeente Brederwijk", "Brederwijk", "gemeente Brederwijk"}
    address = service["service_at_locations"][0]["location"]["addresses"][0]
    assert (address["address_1"], address["city"]) == ("Stadhuisplein 1", "Brederwijk")
    assert service["schedules"][0]["byday"] == "MO,TU,WE,TH,FR"
    assert service["attributes"][0]["taxonomy_term"]["name"] == "Schuldhulpverlening"
    missing = client.get(f"{base_urls['sociale-kaart']}/services/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and "no service" in missing.json()["error"]


# --- sources and ground truth -------------------------------------------------------------


def test_rendered_sources_load_and_cover_every_site(sources, served):
    base_urls, _ = served
    assert {s.id for s in sources.sources} == set(SOURCE_IDS)
    assert sources.get("gemeente-brederwijk-sc").start_urls == [
        f"{base_urls['gemeente-brederwijk']}/sc/producten.xml"
    ]


def test_an_unknown_site_placeholder_is_refused(tmp_path):
    template = tmp_path / "sources.template.yaml"
    template.write_text("sources:\n  - start_urls: ['{site:gemeente-nergens}/']\n", encoding="utf-8")
    with pytest.raises(UnknownSite, match="no served site 'gemeente-nergens'"):
        render_sources({"gemeente-brederwijk": "http://127.0.0.1:1"}, template)


def _sc_keys(feed: bytes) -> set[str]:
    identifiers = etree.fromstring(feed).iterfind(".//{http://purl.org/dc/terms/}identifier")
    return {page_key(i.text) for i in identifiers}


def _has_service(source, page: httpx.Response) -> bool:
    """Whether the page really carries a service the way its source kind promises."""
    selector = Selector(text=page.text)
    if source.kind == "html":
        name = source.selectors["service_name"]
        nodes = (
            selector.xpath(name.removeprefix("xpath:")) if name.startswith("xpath:") else selector.css(name)
        )
        return any(n.xpath("string()").get().strip() for n in nodes)
    scripts = selector.css('script[type="application/ld+json"]::text').getall()
    json_ld = [json.loads(s) for s in scripts]
    microdata = selector.css('[itemtype="https://schema.org/Service"] [itemprop="name"]::text').getall()
    return any(d.get("@type") == "Service" for d in json_ld) or bool(microdata)


def _assert_records_served(client, base_urls, sources, records: list[dict]) -> None:
    feeds: dict[str, set[str]] = {}
    for record in records:
        source = sources.get(record["source_id"])
        base = base_urls[source.id]
        if source.kind == "hsds_api":
            assert client.get(f"{base}/services/{record['key']}").status_code == 200, record
        elif source.kind == "samenwerkende_catalogi":
            if source.id not in feeds:
                feeds[source.id] = _sc_keys(client.get(source.start_urls[0]).content)
            assert record["key"] in feeds[source.id], record
        else:
            page = client.get(f"{base}{record['key']}")
            assert page.status_code == 200, record
            assert _has_service(source, page), record


def test_every_ground_truth_record_is_served(client, served, sources):
    base_urls, ground_truth = served
    records = [r for s in ground_truth["services"] for r in s["records"]]
    assert len(records) == 17
    _assert_records_served(client, base_urls, sources, records)


@pytest.mark.skipif(
    not all(p.exists() for p in REAL_PARTS), reason="the region's part files are not written yet"
)
def test_every_record_of_the_committed_ground_truth_is_served(client, tmp_path):
    ground_truth = json.loads(GROUND_TRUTH_PATH.read_text(encoding="utf-8"))
    with serve_region() as base_urls:
        path = tmp_path / "sources.yaml"
        path.write_text(render_sources(base_urls), encoding="utf-8")
        records = [r for s in ground_truth["services"] for r in s["records"]]
        _assert_records_served(client, base_urls, load_sources(path), records)


def test_the_noise_is_where_the_ground_truth_says(client, served, sources):
    base_urls, ground_truth = served
    kinds = {n["kind"] for n in ground_truth["noise"]}
    assert kinds >= {
        "not_found",
        "not_a_service",
        "tracking_duplicate",
        "robots_disallowed",
        "malformed_json_ld",
    }
    for noise in ground_truth["noise"]:
        base = base_urls[noise["source_id"]]
        page = client.get(f"{base}{noise['path']}")
        if noise["kind"] == "not_found":
            assert page.status_code == 404, noise
        elif noise["kind"] == "not_a_service":
            assert not _has_service(sources.get(noise["source_id"]), page), noise
        elif noise["kind"] == "tracking_duplicate":
            keys = {r["key"] for s in ground_truth["services"] for r in s["records"]}
            assert page_key(f"{base}{noise['path']}") in keys, noise
        elif noise["kind"] == "malformed_json_ld":
            [script] = Selector(text=page.text).css('script[type="application/ld+json"]::text').getall()
            with pytest.raises(json.JSONDecodeError):
                json.loads(script)
    for rejection in ground_truth["expected_rejections"]:
        page = client.get(f"{base_urls[rejection['source_id']]}{rejection['key']}")
        assert page.status_code == 200 and _has_service(sources.get(rejection["source_id"]), page), rejection
