"""Server-rendered HTML over the search interface, for a GP between two consultations.

Plain GET forms and links, no JavaScript needed; everything a source wrote is rendered as
text (Jinja2 autoescape), and a website is a link only when it is http(s).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from importlib import resources
from urllib.parse import parse_qs, urlencode, urlsplit

import anyio
import phonenumbers
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import text

from servicemap.api.queries import suggestion_terms
from servicemap.api.security import SECURITY_HEADERS
from servicemap.classify import load_taxonomy
from servicemap.publish import (
    NoDirectoryPublished,
    PublishedService,
    ServiceNotFound,
    current_version,
    directory_engine,
    read_service,
)
from servicemap.publish.db import reading
from servicemap.search import MAX_QUERY_LENGTH, InvalidQuery, amsterdam_now, search
from servicemap.web.reports import MAX_CONTACT, MAX_MESSAGE, InvalidReport, TooManyReports, submit_report

RESULT_LIMIT = 20
MAX_FORM_BYTES = 16_384
SHORT_DESCRIPTION = 220
# The page names no database: its URL (host, user) is nothing the public needs to see.
NOTHING_PUBLISHED = "Er is nog geen sociale kaart gepubliceerd; probeer het later opnieuw."
WEEKDAYS = {
    "MO": "maandag",
    "TU": "dinsdag",
    "WE": "woensdag",
    "TH": "donderdag",
    "FR": "vrijdag",
    "SA": "zaterdag",
    "SU": "zondag",
}
TAXONOMY_ORDER = ("life_domain", "audience", "sector", "access", "cost")
# Filter chips below the search box: (query parameter, taxonomy, heading).
CHIP_GROUPS = (
    ("doelgroep", "audience", "Doelgroep"),
    ("sector", "sector", "Sector"),
    ("toegang", "access", "Toegang"),
)
RADII_KM = (2, 5, 10, 25)
# The files under static/ the page loads, each with its media type; nothing else is served.
STATIC_FILES = {"servicemap.css": "text/css", "suggesties.js": "text/javascript"}
DEFAULT_RADIUS_KM = 5.0

router = APIRouter()


def safe_url(value: str | None) -> str | None:
    """`value` when a browser may follow it: http(s) with a host. A crawled 'javascript:' or
    'data:' URL is shown as text, never as a link."""
    if not value:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return value.strip()
    return None


def display_phone(number: str) -> str:
    """'030 000 0101' from '+31300000101': how a Dutch practice reads and dials a number."""
    try:
        parsed = phonenumbers.parse(number, "NL")
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


def shorten(value: str | None, length: int = SHORT_DESCRIPTION) -> str:
    """The first `length` characters, cut at a word: a card says what a service does at a glance."""
    value = " ".join((value or "").split())
    if len(value) <= length:
        return value
    return value[:length].rsplit(" ", 1)[0] + " …"


def _date(value: datetime | None) -> str:
    return value.strftime("%d-%m-%Y") if value else "onbekend"


_environment = Environment(
    loader=PackageLoader("servicemap.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.filters.update(safe_url=safe_url, phone=display_phone, shorten=shorten, date=_date)
_environment.globals.update(
    weekdays=WEEKDAYS, max_query_length=MAX_QUERY_LENGTH, max_message=MAX_MESSAGE, max_contact=MAX_CONTACT
)


def _page(template: str, status_code: int = 200, **context: object) -> HTMLResponse:
    html = _environment.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)


def _problem(status_code: int, title: str, message: str) -> HTMLResponse:
    return _page("fout.html", status_code, title=title, message=message)


def _facets() -> dict[str, list[dict]]:
    """The filter chips: each life domain with its ZRM domains and Positive Health dimension."""
    taxonomy = load_taxonomy()
    return {
        spec.id: [
            {
                "id": term.id,
                "label": term.label.nl,
                "zrm": ", ".join(term.zrm or []) or "geen ZRM-domein",
                "positive_health": term.positive_health,
            }
            for term in spec.terms
        ]
        for spec in taxonomy.taxonomies
    }


def _municipalities(url: str) -> list[str]:
    """The municipalities the current directory has active services in."""
    query = text(
        "SELECT DISTINCT s.municipality FROM service s JOIN directory_version v "
        "ON v.id = s.directory_version_id WHERE v.is_current AND s.status = 'active' "
        "AND s.municipality IS NOT NULL ORDER BY s.municipality"
    )
    with reading(directory_engine(url)) as connection:
        return [row[0] for row in connection.execute(query)]


def _labels(service: PublishedService, taxonomy: str) -> list[str]:
    return [label.term_label for label in service.labels if label.taxonomy == taxonomy]


def _card(service: PublishedService, snippet: str | None) -> dict:
    return {
        "service": service,
        "summary": shorten(snippet or service.description),
        "audience": _labels(service, "audience"),
        "access": _labels(service, "access"),
        "cost": _labels(service, "cost"),
        "domains": _labels(service, "life_domain"),
    }


def _chip_href(filters: dict[str, str], name: str, value: str) -> str:
    """The search URL with filter `name` set to `value`, or cleared when it already is."""
    chosen = {k: v for k, v in filters.items() if v}
    if chosen.get(name) == value:
        chosen.pop(name)
    else:
        chosen[name] = value
    return "/zoeken" + ("?" + urlencode(chosen) if chosen else "")


def _in_search_turns(endpoint: Callable[..., HTMLResponse]) -> Callable[..., HTMLResponse]:
    """`endpoint`, a page that searches, run in a thread in the turns the API's searches take
    (`request.app.state.searchers`, see `servicemap.api.create_app`): in FastAPI's own thread
    pool, a burst of page searches would run all at once beside the API's, sharing the CPU."""

    @functools.wraps(endpoint)  # FastAPI reads the parameters from the endpoint's signature
    async def in_turn(request: Request, **parameters: object) -> HTMLResponse:
        page = functools.partial(endpoint, request, **parameters)
        return await anyio.to_thread.run_sync(page, limiter=request.app.state.searchers)

    return in_turn


@router.get("/zoeken", response_class=HTMLResponse)
@_in_search_turns
def search_page(
    request: Request,
    q: str | None = None,
    domein: str | None = None,
    doelgroep: str | None = None,
    sector: str | None = None,
    toegang: str | None = None,
    gemeente: str | None = None,
    postcode: str | None = None,
    straal: str | None = None,
    leeftijd: str | None = None,
    open: str | None = None,
) -> HTMLResponse:
    """The search box, the filter chips and the result cards."""
    url = request.app.state.database_url
    chosen = {"domein": domein, "doelgroep": doelgroep, "sector": sector, "toegang": toegang}
    filters = {
        "q": q or "",
        **{name: value or "" for name, value in chosen.items()},
        "gemeente": gemeente or "",
        "postcode": (postcode or "").strip(),
        "straal": straal or "",
        "leeftijd": (leeftijd or "").strip(),
        "open": "nu" if open else "",
    }
    context: dict[str, object] = {
        "filters": filters,
        "facets": _facets(),
        "chip_groups": CHIP_GROUPS,
        "radii": RADII_KM,
        "chip_href": lambda name, value: _chip_href(filters, name, value),
        "cards": None,
        "message": None,
    }
    try:
        context["municipalities"] = _municipalities(url)
        # Without JavaScript the browser still offers these; the script adds service names.
        context["suggestions"] = suggestion_terms(url, current_version(url).id)
        if q is None and not any(value for name, value in filters.items() if name != "q"):
            return _page("zoeken.html", **context)
        near = filters["postcode"] or None
        hits = search(
            url,
            q or "",
            domain=domein or None,
            audience=doelgroep or None,
            sector=sector or None,
            access=toegang or None,
            municipality=gemeente or None,
            near_postcode=near,
            radius_km=_radius(straal) if near else None,
            age=_age(filters["leeftijd"]),
            open_at=amsterdam_now() if filters["open"] else None,
            limit=RESULT_LIMIT,
        )
        context["cards"] = [_card(read_service(url, hit.service_id), hit.snippet) for hit in hits]
    except InvalidQuery as error:
        context["message"] = str(error)
        return _page("zoeken.html", 400, **context)
    except NoDirectoryPublished:
        return _problem(503, "Nog geen sociale kaart gepubliceerd", NOTHING_PUBLISHED)
    return _page("zoeken.html", **context)


def _radius(value: str | None) -> float:
    """The distance from the form, 5 km when none was chosen."""
    if not value:
        return DEFAULT_RADIUS_KM
    try:
        return float(value.replace(",", "."))
    except ValueError:
        raise InvalidQuery(f"straal {value!r} is not a distance in km (expected e.g. 5)") from None


def _age(value: str) -> int | None:
    """The age from the form, None when left empty."""
    if not value:
        return None
    if not value.isdigit():
        raise InvalidQuery(f"leeftijd {value!r} is not an age in whole years (expected e.g. 67)")
    return int(value)


def _service_context(url: str, service_id: str) -> dict:
    service = read_service(url, service_id)
    by_taxonomy = {
        name: [label for label in service.labels if label.taxonomy == name] for name in TAXONOMY_ORDER
    }
    extra = sorted({label.taxonomy for label in service.labels} - set(TAXONOMY_ORDER))
    by_taxonomy.update(
        {name: [label for label in service.labels if label.taxonomy == name] for name in extra}
    )
    taxonomy_names = {spec.id: spec.label.nl for spec in load_taxonomy().taxonomies}
    sources: dict[tuple[str, str], datetime] = {}
    for member in service.members:
        key = (member.source_id, member.url)
        sources[key] = max(sources.get(key, member.fetched_at), member.fetched_at)
    return {
        "card": _card(service, None),
        "service": service,
        "labels": {name: labels for name, labels in by_taxonomy.items() if labels},
        "taxonomy_names": taxonomy_names,
        "sources": [
            {"source_id": source_id, "url": page, "last_seen": seen}
            for (source_id, page), seen in sorted(sources.items(), key=lambda item: item[1], reverse=True)
        ],
    }


def _service_response(
    request: Request, service_id: str, template: str, status_code: int = 200, **extra: object
) -> HTMLResponse:
    try:
        context = _service_context(request.app.state.database_url, service_id)
    except ServiceNotFound:
        return _not_found(service_id)
    except NoDirectoryPublished:
        return _problem(503, "Nog geen sociale kaart gepubliceerd", NOTHING_PUBLISHED)
    return _page(template, status_code, **context, **extra)


def _not_found(service_id: str) -> HTMLResponse:
    return _problem(
        404, "Dienst niet gevonden", f"Er is geen dienst met id {service_id!r} in de huidige sociale kaart."
    )


@router.get("/dienst/{service_id}", response_class=HTMLResponse)
def service_page(request: Request, service_id: str, gemeld: str | None = None) -> HTMLResponse:
    """One service: what it does, hours, labels with their evidence, and where it was found."""
    return _service_response(request, service_id, "dienst.html", reported=gemeld is not None)


@router.get("/dienst/{service_id}/verwijskaart", response_class=HTMLResponse)
def referral_sheet(request: Request, service_id: str) -> HTMLResponse:
    """A one-page sheet to print and hand to the patient."""
    return _service_response(request, service_id, "verwijskaart.html")


@router.post("/dienst/{service_id}/meld-een-fout", response_class=HTMLResponse)
async def report_problem(request: Request, service_id: str) -> Response:
    """Store a 'meld een fout' report for an operator, then show the service page again."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return _problem(413, "Melding te groot", f"Een melding is hoogstens {MAX_FORM_BYTES} bytes.")
    form = parse_qs(body.decode("utf-8", errors="replace"))
    message = form.get("bericht", [""])[0]
    contact = form.get("email", [""])[0]
    client = request.client.host if request.client else ""
    try:
        submit_report(request.app.state.database_url, service_id, message, contact, client=client)
    except ServiceNotFound:
        return _not_found(service_id)
    except NoDirectoryPublished:
        return _problem(503, "Nog geen sociale kaart gepubliceerd", NOTHING_PUBLISHED)
    except (InvalidReport, TooManyReports) as error:
        status = 429 if isinstance(error, TooManyReports) else 400
        values = {"bericht": message, "email": contact}
        return _service_response(
            request, service_id, "dienst.html", status, report_error=str(error), report_values=values
        )
    # Post/redirect/get: a reload of the thank-you page does not send the report twice.
    return RedirectResponse(
        f"/dienst/{service_id}?gemeld=1#meld-een-fout", status_code=303, headers=SECURITY_HEADERS
    )


@router.get("/static/{name}")
def static_file(name: str) -> Response:
    """The page's stylesheet and its one small script, served by the router itself: no CDN on
    a practice computer, and no inline script, which the Content-Security-Policy forbids."""
    if name not in STATIC_FILES:
        return _problem(404, "Bestand niet gevonden", f"Er is geen bestand {name!r} onder /static.")
    body = (resources.files("servicemap.web") / "static" / name).read_text(encoding="utf-8")
    return Response(
        body,
        media_type=STATIC_FILES[name],
        headers={**SECURITY_HEADERS, "Cache-Control": "public, max-age=3600"},
    )
