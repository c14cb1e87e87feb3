"""The web page for professionals, through a running server: over HTTP, and in headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from servicemap.api import app as api_module
from servicemap.api.app import SEARCHERS
from servicemap.cli import web_app as serve_app
from servicemap.publish import current_version, publish_directory, read_service
from servicemap.records import ClassifiedService, Label
from servicemap.search import amsterdam_now, search
from servicemap.web import pages, router
from servicemap.web.reports import REPORTS_PER_HOUR, TooManyReports, list_reports, submit_report
from tests.conftest import build_service, demo_service_list, service_id

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOSTILE = "Buurtkamer Onraad"
HOSTILE_DESCRIPTION = (
    'Koffie en een praatje. <script>window.__xss = "uitgevoerd"</script><img src=x onerror="window.__xss=1">'
)


def hostile_service():
    """A crawled page that tries to run script: in its description and as its website."""
    service = build_service(
        HOSTILE,
        "Stichting Onraad",
        "Brederwijk",
        HOSTILE_DESCRIPTION,
        ["social_participation"],
        ["elderly"],
        phone="+31300000199",
    )
    return service.model_copy(update={"website": "javascript:window.__xss='link'"})


def referral_routes(services: list[ClassifiedService]) -> list[ClassifiedService]:
    """The wijkteam only via a referral, the others open to all: what the access chips filter on;
    the maatjesproject for older people."""
    routed = []
    for service in services:
        term, label = (
            ("via_verwijzing", "Via verwijzing")
            if service.name.startswith("Wijkteam")
            else ("vrij_toegankelijk", "Vrij toegankelijk")
        )
        access = Label(taxonomy="access", term=term, term_label=label, confidence=0.7, evidence=["aanmelden"])
        labels = [*service.labels, access]
        if service.name == "Maatjesproject Samen Op Pad":  # for older people: what the age filter reads
            labels.append(
                Label(
                    taxonomy="audience",
                    term="ouderen",
                    term_label="Ouderen",
                    confidence=0.8,
                    evidence=["65+"],
                )
            )
        routed.append(service.model_copy(update={"labels": labels}))
    return routed


def web_app(database_url: str) -> FastAPI:
    app = FastAPI()
    app.include_router(router)
    app.state.database_url = database_url
    app.state.searchers = anyio.CapacityLimiter(SEARCHERS)
    return app


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'directory.db'}"
    services = [*referral_routes(demo_service_list()), hostile_service()]
    publish_directory(url, services, [], run_id="web-run-1", synonyms=[["eenzaam", "eenzaamheid", "alleen"]])
    return url


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """`app` served by uvicorn on a free port of 127.0.0.1; yields its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            pytest.fail("the web server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def base_url(database: str) -> Iterator[str]:
    """The router served by uvicorn on 127.0.0.1, over a published SQLite directory."""
    with serving(web_app(database)) as url:
        yield url


@pytest.fixture(scope="module")
def served_url(database: str) -> Iterator[str]:
    """The app `servicemap serve` runs: the pages with the API (and its /suggestions) beside them."""
    with serving(serve_app(database, cors_origins=[])) as url:
        yield url


def test_page_searches_take_turns_with_the_api_searches(database, monkeypatch):
    """The page's searches run in the API's turns, SEARCHERS at once per process with the
    API's own: in FastAPI's thread pool a burst of them ran all at once beside the API's."""
    monkeypatch.setenv("SERVICEMAP_RATE_LIMIT_PER_SECOND", "1000")  # all from 127.0.0.1
    monkeypatch.setattr(api_module, "INLINE_SEARCH_SERVICES", 0)  # the API's in threads too
    running, most = 0, 0
    lock = threading.Lock()

    def counted(searching):
        def slow(*args, **kwargs):
            nonlocal running, most
            with lock:
                running += 1
                most = max(most, running)
            time.sleep(0.05)  # as a search waits for its database
            with lock:
                running -= 1
            return searching(*args, **kwargs)

        return slow

    monkeypatch.setattr(pages, "search", counted(pages.search))
    monkeypatch.setattr(api_module, "rank", counted(api_module.rank))
    paths = [("/zoeken", {"q": "schulden"}), ("/services", {"search": "schulden"})] * 5
    with (
        serving(serve_app(database, cors_origins=[])) as url,
        httpx.Client(base_url=url, timeout=10) as http,
        ThreadPoolExecutor(max_workers=len(paths)) as clients,
    ):
        answers = list(clients.map(lambda asked: http.get(asked[0], params=asked[1]), paths))

    assert [a.status_code for a in answers] == [200] * len(paths)
    assert all("Schuldhulpverlening" in a.text for a in answers)
    assert most == SEARCHERS


@pytest.fixture(scope="module")
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url) as http:
        yield http


def cards(html: str) -> list[str]:
    return re.findall(r'<h3><a href="/dienst/[^"]+">([^<]+)</a></h3>', html)


def test_search_shows_cards_with_how_to_reach_the_service(client: httpx.Client):
    response = client.get("/zoeken", params={"q": "schulden"})
    assert response.status_code == 200
    assert cards(response.text)[0] == "Schuldhulpverlening"
    assert 'href="tel:+31300000101"' in response.text
    assert "030 000 0101" in response.text
    assert "Kerkstraat 1, 9999 AA Brederwijk" in response.text
    assert 'href="https://www.brederwijk.example.nl/schuldhulpverlening"' in response.text


def test_search_page_without_a_query_shows_the_form_and_the_domain_mapping(client: httpx.Client):
    response = client.get("/zoeken")
    assert response.status_code == 200
    assert '<form class="search" method="get" action="/zoeken"' in response.text
    assert "ZRM: Financiën · PG: Dagelijks functioneren" in response.text
    assert "gevonden" not in response.text


def test_domain_filter_narrows_results_and_is_kept_by_the_form(client: httpx.Client):
    unfiltered = cards(client.get("/zoeken", params={"q": "schuldhulp"}).text)
    response = client.get("/zoeken", params={"q": "schuldhulp", "domein": "daily_living"})
    assert "Schuldhulpverlening" in unfiltered
    assert cards(response.text) == ["Thuisadministratie"]
    assert '<input type="hidden" name="domein" value="daily_living">' in response.text
    assert 'aria-current="true"' in response.text


def test_municipality_filter_alone_lists_its_services(client: httpx.Client):
    response = client.get("/zoeken", params={"gemeente": "Lindeloo"})
    assert sorted(cards(response.text)) == [
        "Juridisch Spreekuur",
        "Maatjesproject Samen Op Pad",
        "Steunpunt Mantelzorg",
    ]


def test_access_chip_keeps_services_reached_that_way(client: httpx.Client):
    response = client.get("/zoeken", params={"q": "", "toegang": "via_verwijzing"})
    assert response.status_code == 200
    assert cards(response.text) == ["Wijkteam Brederwijk-Noord"]
    assert "<dt>Toegang</dt>\n  <dd>Via verwijzing</dd>" in response.text


def test_age_and_open_now_narrow_the_results_and_are_kept_by_the_form(client: httpx.Client, database: str):
    lindeloo = ["Juridisch Spreekuur", "Maatjesproject Samen Op Pad", "Steunpunt Mantelzorg"]
    adult = client.get("/zoeken", params={"gemeente": "Lindeloo", "leeftijd": "30"})
    assert sorted(cards(adult.text)) == ["Juridisch Spreekuur", "Steunpunt Mantelzorg"]
    assert 'value="30"' in adult.text
    assert (
        sorted(cards(client.get("/zoeken", params={"gemeente": "Lindeloo", "leeftijd": "70"}).text))
        == lindeloo
    )
    open_now = client.get("/zoeken", params={"gemeente": "Lindeloo", "open": "nu"})
    expected = search(database, "", municipality="Lindeloo", open_at=amsterdam_now(), limit=20)
    assert sorted(cards(open_now.text)) == sorted(h.name for h in expected)
    assert 'name="open" value="nu" checked' in open_now.text
    for bad, message in (("oud", "leeftijd &#39;oud&#39; is not an age"), ("130", "age=130: expected")):
        refused = client.get("/zoeken", params={"q": "eenzaam", "leeftijd": bad})
        assert refused.status_code == 400 and message in refused.text


def test_bad_query_shows_the_message_with_status_400(client: httpx.Client):
    response = client.get("/zoeken", params={"q": "x" * 201})
    assert response.status_code == 400
    assert "at most 200 are searched" in response.text
    postcode = client.get("/zoeken", params={"q": "schulden", "postcode": "35X1", "straal": "5"})
    assert postcode.status_code == 400
    assert "&#39;35X1&#39; is not a Dutch postcode" in postcode.text
    unknown = client.get("/zoeken", params={"domein": "sterrenkunde"})
    assert unknown.status_code == 400
    assert "domain &#39;sterrenkunde&#39; is not a term" in unknown.text


def test_service_page_shows_hours_labels_evidence_and_sources(client: httpx.Client):
    response = client.get(f"/dienst/{service_id('Thuisadministratie')}")
    assert response.status_code == 200
    text = response.text
    assert "<h1>Thuisadministratie</h1>" in text
    assert "maandag 09:00–12:00" in text
    assert "Op afspraak ook &#39;s avonds" in text
    assert "Dagelijks leven en zelfredzaamheid" in text
    assert "Op grond van: categorie: Financiën" in text
    assert "brederwijk-sociaal" in text and "02-03-2026" in text
    assert f'href="/dienst/{service_id("Thuisadministratie")}/verwijskaart"' in text


def test_referral_sheet_is_printable(client: httpx.Client):
    response = client.get(f"/dienst/{service_id('Steunpunt Mantelzorg')}/verwijskaart")
    assert response.status_code == 200
    assert "<h1>Verwijskaart: Steunpunt Mantelzorg</h1>" in response.text
    assert 'href="tel:+31300000103"' in response.text
    css = client.get("/static/servicemap.css")
    assert css.headers["content-type"].startswith("text/css")
    assert "@media print" in css.text


def test_unknown_service_is_a_404_page(client: httpx.Client):
    response = client.get("/dienst/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert "Dienst niet gevonden" in response.text


def test_crawled_script_and_javascript_url_are_shown_as_text(client: httpx.Client):
    page = client.get(f"/dienst/{service_id(HOSTILE)}").text
    search = client.get("/zoeken", params={"q": "onraad"}).text
    for html in (page, search):
        assert "<script>" not in html and "<img src=x" not in html
        assert 'href="javascript:' not in html
    assert "&lt;script&gt;window.__xss = &#34;uitgevoerd&#34;&lt;/script&gt;" in page
    assert "javascript:window.__xss=&#39;link&#39;" in page


def test_search_box_offers_domains_and_synonyms_without_javascript(client: httpx.Client):
    html = client.get("/zoeken").text
    assert '<input id="q" name="q" type="search"' in html and 'list="suggesties"' in html
    datalist = re.search(r'<datalist id="suggesties">(.*?)</datalist>', html, re.DOTALL)
    options = re.findall(r'<option value="([^"]*)">', datalist.group(1))
    assert {"Financiën", "Recht en veiligheid", "eenzaamheid", "alleen"} <= set(options)
    assert "Schuldhulpverlening" not in options  # service names come from the API, as typed
    # The only script is the external file the Content-Security-Policy allows.
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/suggesties.js" defer>']


def test_the_suggestion_script_is_served_and_nothing_else_under_static(client: httpx.Client):
    script = client.get("/static/suggesties.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "/suggestions?" in script.text and "innerHTML" not in script.text
    missing = client.get("/static/../pages.py")
    assert missing.status_code == 404
    assert client.get("/static/reports.py").status_code == 404


@pytest.mark.parametrize(
    "path", ["/zoeken?q=schulden", "/dienst/unknown", "/static/servicemap.css", "/static/suggesties.js"]
)
def test_responses_carry_security_headers(client: httpx.Client, path: str):
    headers = client.get(path).headers
    assert headers["content-security-policy"] == (
        "default-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'"
    )
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"


def test_report_is_stored_for_review_and_leaves_the_directory_alone(client: httpx.Client, database: str):
    sid = service_id("Juridisch Spreekuur")
    before = (current_version(database), read_service(database, sid))
    response = client.post(
        f"/dienst/{sid}/meld-een-fout",
        data={
            "bericht": "Het spreekuur is verhuisd naar <b>het Dorpshuis</b>.",
            "email": "balie@praktijk.example.nl",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/dienst/{sid}?gemeld=1#meld-een-fout"
    assert "uw melding is ontvangen" in client.get(response.headers["location"]).text
    [report] = [r for r in list_reports(database) if r.service_id == sid]
    assert report.message == "Het spreekuur is verhuisd naar <b>het Dorpshuis</b>."
    assert report.contact == "balie@praktijk.example.nl"
    assert report.service_name == "Juridisch Spreekuur"
    assert (current_version(database), read_service(database, sid)) == before


def test_bad_report_shows_what_to_change_and_keeps_the_text(client: httpx.Client):
    sid = service_id("Steunpunt Mantelzorg")
    response = client.post(f"/dienst/{sid}/meld-een-fout", data={"bericht": "<i>fout", "email": "geen-adres"})
    assert response.status_code == 400
    assert "Beschrijf de fout in minstens 10 tekens (nu 7)." in response.text
    assert "&#39;geen-adres&#39; is geen e-mailadres" in response.text
    assert ">&lt;i&gt;fout</textarea>" in response.text
    unknown = client.post("/dienst/onbekend/meld-een-fout", data={"bericht": "Dit nummer werkt niet meer."})
    assert unknown.status_code == 404


def test_reports_are_rate_limited_per_client_per_hour(database: str):
    sid = service_id("Thuisadministratie")
    start = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    for minute in range(REPORTS_PER_HOUR):
        submit_report(
            database,
            sid,
            "Het telefoonnummer is veranderd.",
            client="10.1.2.3",
            now=start + timedelta(minutes=minute),
        )
    with pytest.raises(TooManyReports, match=f"al {REPORTS_PER_HOUR} meldingen"):
        submit_report(
            database,
            sid,
            "Het telefoonnummer is veranderd.",
            client="10.1.2.3",
            now=start + timedelta(minutes=30),
        )
    submit_report(
        database,
        sid,
        "Andere praktijk, zelfde fout gezien.",
        client="10.9.9.9",
        now=start + timedelta(minutes=30),
    )
    submit_report(
        database,
        sid,
        "Het telefoonnummer is veranderd.",
        client="10.1.2.3",
        now=start + timedelta(minutes=61),
    )


# --- In a real browser -------------------------------------------------------------------


def _missing(what: str) -> None:
    """Skip a browser test for a missing tool, except in CI, where a missing tool is a failure."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} (CI=true: browser tests must run)")
    pytest.skip(what)


def axe_script() -> Path:
    """axe.min.js from AXE_CORE_JS, or from a global npm install (`npm install -g axe-core`)."""
    if os.environ.get("AXE_CORE_JS"):
        return Path(os.environ["AXE_CORE_JS"])
    npm = shutil.which("npm")
    if npm is None:
        _missing("npm is not installed, so axe-core cannot be found")
    root = subprocess.run([npm, "root", "-g"], capture_output=True, text=True, check=False).stdout.strip()
    return Path(root) / "axe-core" / "axe.min.js"


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the Python package playwright is not installed (pip install playwright)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    yield context.new_page()
    context.close()


def test_browser_search_filter_service_and_referral_sheet(page, base_url: str):
    page.goto(f"{base_url}/zoeken")
    page.fill("#q", "schuldhulp")
    page.click("button[type=submit]")
    assert "Schuldhulpverlening" in page.locator("article.card h3").all_inner_texts()
    page.get_by_role("link", name=re.compile("^Dagelijks leven en zelfredzaamheid")).click()
    assert page.locator("article.card h3").all_inner_texts() == ["Thuisadministratie"]
    assert "domein=daily_living" in page.url
    page.click("article.card h3 a")
    assert page.locator("h1").inner_text() == "Thuisadministratie"
    page.click("text=Verwijskaart afdrukken")
    assert page.locator("h1").inner_text() == "Verwijskaart: Thuisadministratie"
    page.emulate_media(media="print")
    assert page.locator("header.site").is_hidden()


def test_browser_suggests_service_names_as_the_user_types(page, served_url: str):
    page.goto(f"{served_url}/zoeken")
    page.locator("#q").press_sequentially("maatjes", delay=20)
    options = page.locator("#suggesties option")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#suggesties option')].some(o => o.value.startsWith('Maatjes'))"
    )
    assert "Maatjesproject Samen Op Pad" in [o.get_attribute("value") for o in options.all()]
    page.fill("#q", "Maatjesproject Samen Op Pad")
    page.click("button[type=submit]")
    assert page.locator("article.card h3").first.inner_text() == "Maatjesproject Samen Op Pad"


def test_browser_does_not_run_crawled_script(page, base_url: str):
    page.goto(f"{base_url}/zoeken?q=onraad")
    page.click("article.card h3 a")
    assert '<script>window.__xss = "uitgevoerd"</script>' in page.locator("p.description").inner_text()
    page.locator("dd .raw").click()  # the javascript: website is text, not a link
    assert page.evaluate("typeof window.__xss") == "undefined"


@pytest.mark.parametrize(
    "path",
    [
        "/zoeken?q=schulden&domein=finances",
        f"/dienst/{service_id('Thuisadministratie')}",
        f"/dienst/{service_id('Thuisadministratie')}/verwijskaart",
    ],
)
def test_axe_finds_no_serious_accessibility_violations(browser, base_url: str, path: str):
    script = axe_script()
    if not script.exists():
        _missing(f"{script} is missing (npm install -g axe-core)")
    # The page's CSP rightly refuses injected script; only the scan's own context bypasses it.
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.goto(f"{base_url}{path}")
    page.add_script_tag(path=str(script))
    violations = page.evaluate("async () => (await axe.run()).violations")
    context.close()
    severe = [
        (v["id"], v["impact"], len(v["nodes"])) for v in violations if v["impact"] in ("serious", "critical")
    ]
    assert severe == []
