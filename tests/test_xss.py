"""Script injected through a crawled page stays text: in headless Chromium, over the pages as
`servicemap serve` composes them, no payload in a name, description, website or source URL
runs, opens a dialog or becomes a clickable link.

The browser is told to ignore the Content-Security-Policy in the first test: escaping alone
must hold. The second shows that the policy would stop an inline script all the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from servicemap.cli import web_app
from servicemap.publish import engine_for, publish_directory
from servicemap.records import SourceRef
from tests.conftest import FETCHED_AT, build_service, demo_service_list, service_id
from tests.test_api import serving
from tests.test_security import UNLIMITED, environment

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
NAME = 'Inloop <script>window.__pwned = "naam"; alert("naam")</script> Kanaalbuurt'
ORGANIZATION = "\"><img src=x onerror=\"window.__pwned='organisatie';alert('organisatie')\"> Stichting Kanaal"
DESCRIPTION = (
    "Een plek om koffie te drinken. <img src=x onerror=\"window.__pwned='beschrijving';alert(1)\">"
    "<svg onload=\"window.__pwned='svg'\"></svg><iframe src=\"javascript:alert('iframe')\"></iframe>"
    "<a href=\"javascript:window.__pwned='anker'\">meer</a> "
    "<b onmouseover=\"window.__pwned='hover'\">info</b>"
)
# Links a crawled page may give that a browser would run rather than open.
HOSTILE_URLS = [
    "javascript:window.__pwned='website';alert('website')",
    " JaVaScRiPt:alert('hoofdletters')",
    "java\tscript:alert('tab')",
    "data:text/html,<script>alert('data')</script>",
    "vbscript:msgbox('vb')",
]
RUNNABLE_SCHEMES = ("javascript:", "data:", "vbscript:")
# Elements a payload would need; the site's own scripts are files under /static/.
INJECTABLE = "script:not([src]), img, svg, iframe, object, embed"


def hostile_services():
    """Crawled services whose every text field tries to run script."""
    services = []
    for number, url in enumerate(HOSTILE_URLS):
        name = f"{NAME} {number}"
        service = build_service(name, ORGANIZATION, "Brederwijk", DESCRIPTION, ["social_participation"])
        members = [
            SourceRef(record_id=f"kanaal:{number}", source_id="kanaal", url=url, fetched_at=FETCHED_AT),
            *service.members,
        ]
        schedules = [
            row.model_copy(update={"note": "<script>alert('tijden')</script>"}) for row in service.schedules
        ]
        services.append(
            service.model_copy(
                update={"website": url, "members": members, "schedules": schedules, "audience": DESCRIPTION}
            )
        )
    return services


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('xss') / 'directory.db'}"
    publish_directory(url, [*demo_service_list(), *hostile_services()], [], run_id="xss-run-1")
    with environment(UNLIMITED), serving(web_app(url, [])) as base:
        yield base
    engine_for(url).dispose()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def hostile_pages(base: str) -> list[str]:
    pages = [f"{base}/zoeken?q=kanaalbuurt", f"{base}/zoeken?q=koffie&gemeente=Brederwijk"]
    for number in range(len(HOSTILE_URLS)):
        pages += [
            f"{base}/dienst/{service_id(f'{NAME} {number}')}",
            f"{base}/dienst/{service_id(f'{NAME} {number}')}/verwijskaart",
        ]
    return pages


# Every element gets the events an inline handler would listen for.
PROVOKE = """() => {
  for (const element of document.querySelectorAll('*')) {
    for (const type of ['mouseover', 'mouseenter', 'focus', 'load', 'error']) {
      element.dispatchEvent(new Event(type));
    }
  }
}"""


def test_no_crawled_payload_runs_even_without_the_csp(browser, site: str):
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    visited = []
    try:
        for address in hostile_pages(site):
            response = page.goto(address)
            assert response is not None and response.status == 200, address
            page.evaluate(PROVOKE)
            hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
            assert not [h for h in hrefs if h.strip().lower().startswith(RUNNABLE_SCHEMES)], address
            assert page.eval_on_selector_all(INJECTABLE, "found => found.length") == 0, address
            scripts = page.eval_on_selector_all("script[src]", "found => found.map(s => s.src)")
            assert all(src.startswith(f"{site}/static/") for src in scripts), scripts
            assert page.evaluate("typeof window.__pwned") == "undefined", address
            visited.append(page.locator("main").inner_text())
    finally:
        context.close()

    assert dialogs == []
    service_page = visited[2]
    assert '<script>window.__pwned = "naam"; alert("naam")</script>' in service_page  # shown as text
    assert "javascript:window.__pwned='website'" in service_page  # the website, not as a link
    assert any("data:text/html" in text for text in visited)


def test_the_csp_stops_an_inline_script_that_got_through(browser, site: str):
    """A page of the site with a script added after the fact, as a missed escape would: the
    browser refuses to run it because of the header alone."""
    context = browser.new_context()
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text))
    try:
        page.route(
            "**/zoeken?probe=1",
            lambda route: route.fulfill(
                response=route.fetch(),
                body="<!doctype html><p>x</p><script>window.__pwned = 'inline'</script>",
            ),
        )
        page.goto(f"{site}/zoeken?probe=1")
        ran = page.evaluate("typeof window.__pwned")
    finally:
        context.close()
    assert ran == "undefined"
    assert any("Content Security Policy" in text for text in violations)
