"""The faults the suite injects: one source per fault, each with a good page beside the bad
one, plus a source with nothing wrong. `mount(server)` adds their routes to a
`HostileServer`, `sources_yaml(server)` gives the sources.yaml that crawls them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

from tests.faults.hostile import (
    BILLION_LAUGHS_DOCTYPE,
    XXE_DOCTYPE,
    HostileServer,
    Route,
    Service,
    burst,
    drip,
    gzip_bombed,
    huge,
    index_page,
    raw,
    redirect,
    reset,
    sc_feed,
    service_page,
    stall,
    status,
    text,
)

# Short enough for a quick suite, long enough for a loaded 2-core machine to answer a good page.
TIMEOUT_SECONDS = 4
CRAWL = {
    "download_delay": 0,
    "autothrottle": False,
    "timeout_seconds": TIMEOUT_SECONDS,
    "retry_times": 2,
    "retry_backoff_seconds": 0,
    "max_response_bytes": 10_000_000,
}


@dataclass(frozen=True)
class Fault:
    """One injected fault: the source that meets it, the URL path where it is served, the
    error kind the fetch log must record there (None: nothing to record, the page must be
    read right), and the services the source must still publish."""

    source_id: str
    what: str
    path: str | None
    error_kind: str | None
    publishes: tuple[str, ...]
    kind: str = "schema_org"
    routes: dict[str, Route] = field(default_factory=dict, compare=False, hash=False)


def _service(n: int, name: str, street: str, postcode: str) -> Service:
    return Service(
        name=name,
        organization="Stichting Welzijn Vechtmond",
        description=f"{name}: iedere week, gratis en zonder verwijzing, voor inwoners van Vechtmond.",
        street=street,
        postcode=postcode,
        phone=f"0343 - 55 {n:02d} {n:02d}",
    )


GOOD = {
    "control": _service(10, "Inloopspreekuur Wijkteam Oost", "Dorpsstraat 21", "3562 KB"),
    "control2": _service(11, "Formulierenhulp Bibliotheek", "Marktplein 4", "3562 KC"),
    "storing": _service(12, "Taalcafé De Brug", "Kerkplein 3", "3562 KD"),
    "storing-kort": _service(13, "Budgetcursus Rond Komen", "Kerkplein 5", "3562 KD"),
    "traag": _service(14, "Maatjesproject Samen Op Pad", "Molenweg 14", "3562 KE"),
    "druppel": _service(15, "Koffieochtend Buurthuis 't Hoekje", "Hoekweg 2", "3562 KF"),
    "reset": _service(16, "Mantelzorgsalon", "Stationsstraat 40", "3562 KG"),
    "kringloop": _service(17, "Repair Café Vechtmond", "Lindelaan 3", "3562 KH"),
    "elders": _service(18, "Sociaal Raadslieden Spreekuur", "Beukenlaan 7", "3562 KJ"),
    "groot": _service(19, "Rouwgroep Verder Samen", "Eikenlaan 9", "3562 KL"),
    "stroom": _service(20, "Schrijfhulp Brieven en Formulieren", "Iepenlaan 11", "3562 KM"),
    "zipbom": _service(21, "Wandelgroep Ommetje", "Parkweg 13", "3562 KN"),
    "tekenset-fout": _service(22, "Crèche Één Twee Drie", "Schoolstraat 15", "3562 KP"),
    "tekenset-geen": _service(23, "Ontmoetingscentrum Café Échte Buren", "Kerkstraat 17", "3562 KR"),
    "jsonld": _service(24, "Jongerenwerk Het Honk", "Sportlaan 19", "3562 KS"),
    "dubbel": _service(25, "Schuldhulpmaatje Vechtmond", "Nieuwstraat 23", "3562 KT"),
}
# The same service as a second source describes it: another phone number and wording.
CONFLICTING = replace(
    GOOD["dubbel"],
    phone="0343 - 55 26 26",
    description="Een getraind maatje helpt u uw administratie op orde te krijgen en schulden te voorkomen.",
)
WISSELEND = {
    "a": ("5b1f0d4e-0000-4000-8000-00000000000a", "Thuisadministratie Vechtmond", "Molenweg 30"),
    "b": ("5b1f0d4e-0000-4000-8000-00000000000b", "Huiswerkbegeleiding De Wegwijzer", "Molenweg 32"),
    "c": ("5b1f0d4e-0000-4000-8000-00000000000c", "Ouderensoos De Zonnebloem", "Molenweg 34"),
}


def _site(
    name: str,
    pages: dict[str, Route],
    good: tuple[str, ...] = ("goed.html",),
    unlinked: dict[str, Route] | None = None,
) -> dict[str, Route]:
    """`/f/<name>/`: an index linking to the good page (the source's own service) and the bad
    ones; `unlinked` pages are served but only reached by a redirect."""
    base = f"/f/{name}/"
    routes = {base: text(index_page([*good, *pages]))}
    if "goed.html" in good:
        routes[base + "goed.html"] = text(service_page(GOOD[name]))
    routes.update({base + path: answer for path, answer in {**pages, **(unlinked or {})}.items()})
    return routes


def _hsds_list(*keys: str, page: int, pages: int) -> Route:
    contents = [{"id": WISSELEND[k][0], "name": WISSELEND[k][1]} for k in keys]
    body = {"contents": contents, "page_number": page, "total_pages": pages, "size": 2}
    return raw(json.dumps(body).encode(), "application/json")


def _hsds_service(key: str) -> Route:
    service_id, name, street = WISSELEND[key]
    body = {
        "id": service_id,
        "name": name,
        "description": f"{name}: vrijwilligers uit de wijk, elke week, gratis.",
        "organization": {"id": "org-vm", "name": "Stichting Welzijn Vechtmond"},
        "phones": [{"id": f"ph-{key}", "number": f"0343 - 55 3{ord(key) % 10} 00"}],
        "service_at_locations": [
            {
                "id": f"sal-{key}",
                "location": {
                    "id": f"loc-{key}",
                    "addresses": [
                        {
                            "id": f"ad-{key}",
                            "address_1": street,
                            "city": "Vechtmond",
                            "postal_code": "3562 KW",
                        }
                    ],
                },
            }
        ],
    }
    return raw(json.dumps(body, ensure_ascii=False).encode(), "application/json")


def _listing_that_shifts(handler) -> None:
    """Page 1 lists A and B; by the time page 2 is asked for, C was added at the top, so page 2
    lists B (again) and C: a list that changed between two fetches of one crawl."""
    if "page=2" in handler.path:
        _hsds_list("b", "c", page=2, pages=2)(handler)
    else:
        _hsds_list("a", "b", page=1, pages=2)(handler)


def faults() -> list[Fault]:
    """Every injected fault with the routes that serve it (the last source has none)."""
    loop = "/f/kringloop/"
    return [
        Fault("storing", "5xx burst longer than the retries", "/f/storing/aanmelden.html", "http_5xx",
              (GOOD["storing"].name, GOOD["storing-kort"].name),
              routes=_site("storing", {
                  "aanmelden.html": status(503),
                  "spreekuur.html": burst(2, text(service_page(GOOD["storing-kort"]))),
              })),
        Fault("traag", "no answer (timeout)", "/f/traag/wachten.html", "timeout", (GOOD["traag"].name,),
              routes=_site("traag", {"wachten.html": stall(120)})),
        Fault("druppel", "slow drip: one byte per second", "/f/druppel/druppel.html", "timeout",
              (GOOD["druppel"].name,),
              routes=_site("druppel", {"druppel.html": drip(service_page(GOOD["control"]).encode(), 1.0)})),
        Fault("reset", "connection reset mid-answer", "/f/reset/reset.html", "connection",
              (GOOD["reset"].name,),
              routes=_site("reset", {"reset.html": reset(b"HTTP/1.1 200 OK\r\nContent-Le")})),
        Fault("kringloop", "redirect loop", loop + "a.html", "redirect", (GOOD["kringloop"].name,),
              routes=_site("kringloop", {"a.html": redirect(lambda h: h.hostile.url(loop + "b.html"))},
                           unlinked={"b.html": redirect(lambda h: h.hostile.url(loop + "a.html"))})),
        Fault("elders", "redirect off-site", "/f/elders/weg.html", "offsite", (GOOD["elders"].name,),
              routes=_site("elders", {
                  "weg.html": redirect(lambda h: h.hostile.offsite_origin + "/f/elders/weg.html", 301),
              })),
        Fault("groot", "200 MB body with its length announced", "/f/groot/groot.html", "too_large",
              (GOOD["groot"].name,), routes=_site("groot", {"groot.html": huge(announce=True)})),
        Fault("stroom", "200 MB body, length not announced", "/f/stroom/stroom.html", "too_large",
              (GOOD["stroom"].name,), routes=_site("stroom", {"stroom.html": huge(announce=False)})),
        Fault("zipbom", "gzip bomb (200 kB that unpacks to 200 MB)", "/f/zipbom/bom.html", "too_large",
              (GOOD["zipbom"].name,), routes=_site("zipbom", {"bom.html": gzip_bombed()})),
        Fault("tekenset-fout", "charset header says ISO-8859-1, body is UTF-8",
              "/f/tekenset-fout/dienst.html", "charset", (GOOD["tekenset-fout"].name,),
              routes=_site("tekenset-fout", good=(), pages={
                  "dienst.html": raw(service_page(GOOD["tekenset-fout"], charset=None).encode("utf-8"),
                                     "text/html; charset=iso-8859-1"),
              })),
        Fault("tekenset-geen", "no charset anywhere, body in Windows-1252", None, None,
              (GOOD["tekenset-geen"].name,),
              routes=_site("tekenset-geen", good=(), pages={
                  "dienst.html": raw(service_page(GOOD["tekenset-geen"], charset=None).encode("cp1252"),
                                     "text/html"),
              })),
        Fault("jsonld", "invalid JSON-LD", "/f/jsonld/kapot.html", "extraction_error", (GOOD["jsonld"].name,),
              routes=_site("jsonld", {
                  "kapot.html": text(service_page(script='{"@type": "Service", "name": "Rouwgroep",')),
              })),
        Fault("sc-lachsalvo", "XML entity expansion (billion laughs)", "/f/sc-lachsalvo/producten.xml",
              "extraction_error", (), kind="samenwerkende_catalogi",
              routes={"/f/sc-lachsalvo/producten.xml": raw(sc_feed("&lol9;", BILLION_LAUGHS_DOCTYPE),
                                                             "application/xml")}),
        Fault("sc-xxe", "XML external entity (XXE) naming /etc/passwd", "/f/sc-xxe/producten.xml",
              "extraction_error", (), kind="samenwerkende_catalogi",
              routes={"/f/sc-xxe/producten.xml": raw(sc_feed("&xxe;", XXE_DOCTYPE), "application/xml")}),
        Fault("dubbel-a", "the same service twice on one page", None, None, (GOOD["dubbel"].name,),
              routes=_site("dubbel-a", good=(), pages={
                  "dienst.html": text(service_page(GOOD["dubbel"], GOOD["dubbel"])),
              })),
        Fault("dubbel-b", "the same service in another source, conflicting phone", None, None,
              (GOOD["dubbel"].name,),
              routes=_site("dubbel-b", good=(), pages={"dienst.html": text(service_page(CONFLICTING))})),
        Fault("wisselend", "service list that changes between two fetches", None, None,
              tuple(v[1] for v in WISSELEND.values()), kind="hsds_api",
              routes={
                  "/f/wisselend/api/services": _listing_that_shifts,
                  **{f"/f/wisselend/api/services/{v[0]}": _hsds_service(k) for k, v in WISSELEND.items()},
              }),
        Fault("welzijn-vechtmond", "none (a healthy source)", None, None,
              (GOOD["control"].name, GOOD["control2"].name),
              routes=_site("welzijn-vechtmond", good=(), pages={
                  "inloop.html": text(service_page(GOOD["control"])),
                  "formulieren.html": text(service_page(GOOD["control2"])),
              })),
    ]  # fmt: skip


def mount(server: HostileServer) -> list[Fault]:
    found = faults()
    for fault in found:
        for path, answer in fault.routes.items():
            server.route(path, answer)
    return found


def sources_yaml(server: HostileServer, found: list[Fault]) -> dict:
    """A sources.yaml that crawls every fault site, each source kept to its own `/f/<site>/`."""
    entries = []
    for fault in found:
        start = {
            "samenwerkende_catalogi": f"/f/{fault.source_id}/producten.xml",
            "hsds_api": f"/f/{fault.source_id}/api/services",
        }.get(fault.kind, f"/f/{fault.source_id}/")
        entries.append(
            {
                "id": fault.source_id,
                "organization": "Stichting Welzijn Vechtmond",
                "municipality": "Vechtmond",
                "kind": fault.kind,
                "start_urls": [server.url(start)],
                "follow": {"allow": [f"/f/{fault.source_id}/"]},
            }
        )
    return {"crawl": CRAWL, "sources": entries}
