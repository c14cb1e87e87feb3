"""Render the region model into the static websites of the demo region and the ground truth
that says which record each site yields for each service.

Every choice that varies between sites (which name variant, which phone format, which part of
the address) is drawn from a generator seeded by service id and site id, so a build is
reproducible byte for byte: `python -m servicemap.demo.sites` regenerates `demo/sites/` and
`demo/ground_truth.json`.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import shutil
import unicodedata
import uuid
from dataclasses import dataclass
from html import escape
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

from servicemap.demo.region import Region, Service, load_region
from servicemap.urls import page_key

DEMO_DIR = Path(__file__).parent
SITES_DIR = DEMO_DIR / "sites"
GROUND_TRUTH_PATH = DEMO_DIR / "ground_truth.json"

BASE_URL = "{{base_url}}"
"""Written where a page needs an absolute URL of its own site; the server puts its address there."""

SITE_OF_SOURCE = {
    "gemeente-brederwijk": "gemeente-brederwijk",
    "gemeente-brederwijk-sc": "gemeente-brederwijk",
    "gemeente-lindeveen-sc": "gemeente-lindeveen",
    "gemeente-aldermeer-sc": "gemeente-aldermeer",
    "welzijn-de-linde": "welzijn-de-linde",
    "palliatief-netwerk": "palliatief-netwerk",
    "sociale-kaart": "sociale-kaart",
    "ggd-lindewaard": "ggd-lindewaard",
    "geldzorg-lindewaard": "geldzorg-lindewaard",
    "vrijwilligerspunt-aldermeer": "vrijwilligerspunt-aldermeer",
}
"""Which site (one directory, one server) carries each source: Brederwijk serves its SC feed."""

SITE_CHARSETS = {"palliatief-netwerk": "windows-1252"}
"""Sites whose pages are not UTF-8 (an old site that extraction must still decode)."""

_OWNER_OF_SOURCE = {
    "gemeente-brederwijk": "gemeente-brederwijk",
    "gemeente-brederwijk-sc": "gemeente-brederwijk",
    "gemeente-lindeveen-sc": "gemeente-lindeveen",
    "gemeente-aldermeer-sc": "gemeente-aldermeer",
    "welzijn-de-linde": "welzijn-de-linde",
    "palliatief-netwerk": "palliatief-netwerk",
    "ggd-lindewaard": "ggd-lindewaard",
    "geldzorg-lindewaard": "geldzorg-lindewaard",
    "vrijwilligerspunt-aldermeer": "vrijwilligerspunt-aldermeer",
}
_UUID_NAMESPACE = uuid.UUID("5b0f7c3e-2a59-4a59-9a37-0d1f6c1e8a11")
_TRACKING = "?utm_source=nieuwsbrief&utm_medium=email"


def hsds_id(kind: str, service_id: str) -> str:
    """The UUID the sociale kaart gives an object of a service: stable from build to build."""
    return str(uuid.uuid5(_UUID_NAMESPACE, f"{kind}:{service_id}"))


# --- how one site shows one service -----------------------------------------------------


@dataclass(frozen=True)
class Listing:
    """One service as one site shows it: the variation between sites is decided here."""

    service: Service
    source_id: str
    own: bool
    name: str
    organization_name: str
    description: str
    street_line: str | None
    postcode: str | None
    city: str | None
    phone: str | None
    email: str | None

    @property
    def place_line(self) -> str | None:
        return " ".join(p for p in (self.postcode, self.city) if p) or None


def _is_own(service: Service, source_id: str) -> bool:
    """The organisation's own site writes the full text; when none of the sites that list a
    service is its own, the first non-directory site in `listed_on` counts as its home."""
    owner = _OWNER_OF_SOURCE.get(source_id)
    if owner == service.organization:
        return True
    if any(_OWNER_OF_SOURCE.get(s) == service.organization for s in service.listed_on):
        return False
    home = next((s for s in service.listed_on if s != "sociale-kaart"), None)
    return home == source_id


def make_listing(region: Region, service: Service, source_id: str) -> Listing:
    rng = random.Random(f"{service.id}:{source_id}")
    own = _is_own(service, source_id)
    organization = region.organization(service.organization)
    name = service.name
    if not own and service.variants and rng.random() < 0.6:
        name = rng.choice(service.variants)
    organization_name = organization.name
    if not own and organization.aliases and rng.random() < 0.5:
        organization_name = rng.choice(organization.aliases)
    description = service.descriptions[0] if own else service.descriptions[1]
    if not own and rng.random() < 0.25:
        description = _first_sentence(description)
    street_line = postcode = city = None
    if service.address is not None:
        address = service.address
        number = _house_number(address.house_number, address.addition, rng if not own else None)
        street_line = f"{address.street} {number}"
        postcode, city = address.postcode, address.city
        if not own:
            form = rng.choice(("full", "full", "no_postcode", "compact", "lower"))
            if form == "no_postcode":
                postcode = None
            elif form == "compact":
                postcode = postcode.replace(" ", "")
            elif form == "lower":
                postcode = postcode.lower()
    phone = service.phone if own or service.phone is None else format_phone(service.phone, rng)
    email = service.email
    if not own and email is not None and (service.phone or service.address) and rng.random() < 0.25:
        email = None
    return Listing(
        service=service,
        source_id=source_id,
        own=own,
        name=name,
        organization_name=organization_name,
        description=description,
        street_line=street_line,
        postcode=postcode,
        city=city,
        phone=phone,
        email=email,
    )


def _first_sentence(text: str) -> str:
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    return match.group(1) if match else text


def _house_number(number: str, addition: str | None, rng: random.Random | None) -> str:
    """'14a', '3-bis', '3 bis': sites write additions differently; the owner writes them plainly."""
    if not addition:
        return number
    if rng is None:
        return f"{number}{addition}" if len(addition) == 1 else f"{number} {addition}"
    return f"{number}{rng.choice(('', '-', ' '))}{addition}"


_THREE_DIGIT_AREAS = frozenset(
    ("010", "013", "015", "020", "023", "024", "026", "030", "033", "035", "036", "038", "040", "043")
    + ("045", "046", "050", "053", "055", "058", "070", "071", "072", "073", "074", "075", "076", "077")
    + ("078", "079", "088")
)


def format_phone(phone: str, rng: random.Random) -> str:
    """The same number as another site writes it: '030 - 276 41 18', '+31 (0)30 2764118',
    '0302764118', '(030) 276 4118', '030-2764118'. Service numbers (0800/0900) stay as written."""
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("31"):
        digits = "0" + digits[2:]
    if len(digits) != 10 or digits.startswith(("0800", "0900", "0909")):
        return phone
    if digits.startswith("06"):
        area = 2
    elif digits[:3] in _THREE_DIGIT_AREAS:
        area = 3
    else:
        area = 4
    code, rest = digits[:area], digits[area:]
    grouped = f"{rest[:3]} {rest[3:5]} {rest[5:]}" if len(rest) == 7 else f"{rest[:2]} {rest[2:4]} {rest[4:]}"
    forms = (
        f"{code} - {grouped}",
        f"+31 (0){code[1:]} {rest}",
        digits,
        f"({code}) {rest[:3]} {rest[3:]}" if len(rest) == 7 else f"({code}) {grouped}",
        f"{code}-{rest}",
    )
    return rng.choice(forms)


def slugify(text: str) -> str:
    """'Cliëntondersteuning (Wmo)' -> 'clientondersteuning-wmo'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "dienst"


def _unique_slugs(names: list[tuple[str, str]], taken: set[str] | None = None) -> dict[str, str]:
    """Slugs for (service id, name) pairs, '-2', '-3' added when two names slug alike."""
    used = set(taken or ())
    slugs: dict[str, str] = {}
    for service_id, name in names:
        base = slugify(name)
        slug, n = base, 2
        while slug in used:
            slug, n = f"{base}-{n}", n + 1
        used.add(slug)
        slugs[service_id] = slug
    return slugs


# --- opening hours and coordinates for schema.org --------------------------------------

_DAY_NAMES = {
    "ma": "Monday", "maandag": "Monday", "di": "Tuesday", "dinsdag": "Tuesday",
    "wo": "Wednesday", "woensdag": "Wednesday", "do": "Thursday", "donderdag": "Thursday",
    "vr": "Friday", "vrijdag": "Friday", "za": "Saturday", "zaterdag": "Saturday",
    "zo": "Sunday", "zondag": "Sunday",
}  # fmt: skip
_WEEK = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_REGULAR_HOURS = re.compile(
    r"^(?P<days>[a-z ,/]+?)\s+(?:van\s+)?(?P<opens>\d{1,2}[.:]\d{2})"
    r"\s*(?:-|–|tot)\s*(?P<closes>\d{1,2}[.:]\d{2})(?:\s*uur)?$"
)


def regular_hours(text: str | None) -> tuple[list[str], str, str] | None:
    """(['Tuesday', 'Thursday'], '09:00', '12:00') from 'di en do 9.00 - 12.00 uur'; None when
    the text is not one regular weekly slot (then it stays as Dutch text on the page only)."""
    if not text:
        return None
    match = _REGULAR_HOURS.match(text.strip().lower())
    if match is None:
        return None
    days: list[str] = []
    tokens = [t for t in re.split(r"\s*(?:,|\ben\b)\s*|\s+", match["days"].replace("t/m", " t/m ")) if t]
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token not in _DAY_NAMES:
            return None
        if index + 2 < len(tokens) and tokens[index + 1] == "t/m" and tokens[index + 2] in _DAY_NAMES:
            first, last = _WEEK.index(_DAY_NAMES[token]), _WEEK.index(_DAY_NAMES[tokens[index + 2]])
            if last < first:
                return None
            days += _WEEK[first : last + 1]
            index += 3
        else:
            days.append(_DAY_NAMES[token])
            index += 1

    def clock(value: str) -> str:
        hours, minutes = re.split(r"[.:]", value)
        return f"{int(hours):02d}:{minutes}"

    return days, clock(match["opens"]), clock(match["closes"])


def coordinates(service: Service) -> tuple[str, str] | None:
    """Invented but stable coordinates inside the region for a service's address."""
    if service.address is None:
        return None
    address = service.address
    digest = hashlib.sha256(f"{address.street}|{address.house_number}|{address.postcode}".encode()).digest()
    latitude = 52.02 + digest[0] / 255 * 0.12
    longitude = 5.12 + digest[1] / 255 * 0.26
    return f"{latitude:.6f}", f"{longitude:.6f}"


# --- the sites --------------------------------------------------------------------------


class _Site:
    """The files of one site, collected before anything is written."""

    def __init__(self, name: str):
        self.name = name
        self.files: dict[str, str] = {}

    def add(self, path: str, text: str) -> None:
        self.files[path.lstrip("/")] = text


def _gemeente_page(title: str, crumbs: list[tuple[str, str]], main: str) -> str:
    trail = " &rsaquo; ".join(f'<a href="{href}">{escape(label)}</a>' for href, label in crumbs)
    return f"""<!DOCTYPE html>
<html lang="nl">
<head>
<meta charset="utf-8">
<title>{escape(title)} | Gemeente Brederwijk</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
</head>
<body>
<div id="cookiebanner" class="cookie-melding">Wij gebruiken functionele en analytische cookies om deze website
goed te laten werken. <a href="/privacy">Lees meer over cookies</a> <button>Akkoord</button></div>
<header class="site-header">
<a class="logo" href="/">Gemeente Brederwijk</a>
<nav class="hoofdmenu"><ul>
<li><a href="/">Home</a></li>
<li><a href="/zorg-en-ondersteuning/">Zorg en ondersteuning</a></li>
<li><a href="/nieuws/">Nieuws</a></li>
<li><a href="/over-de-gemeente">Over de gemeente</a></li>
<li><a href="/contact">Contact</a></li>
</ul></nav>
<form class="zoeken" action="/zoeken"><input name="q" placeholder="Waar bent u naar op zoek?"></form>
</header>
<nav class="breadcrumb" aria-label="kruimelpad">{trail}</nav>
<main id="inhoud">
{main}
</main>
<footer class="site-footer">
<p>Gemeente Brederwijk &middot; Postbus 1200 &middot; 3510 AA Brederwijk</p>
<p>Bel 14 030 (ma t/m vr 8.30 - 17.00 uur) &middot; <a href="/contact">Contact</a> &middot;
<a href="/privacy">Privacy</a> &middot; <a href="/toegankelijkheid">Toegankelijkheid</a></p>
</footer>
</body>
</html>
"""


def _lines(*values: str | None, tag: str = "span", cls: str | None = None) -> str:
    attribute = f' class="{cls}"' if cls else ""
    return "".join(f"<{tag}{attribute}>{escape(v)}</{tag}>" for v in values if v)


def _build_gemeente_brederwijk(region: Region, truth: _Truth) -> tuple[_Site, dict[str, str]]:
    source_id = "gemeente-brederwijk"
    site = _Site("gemeente-brederwijk")
    listings = [make_listing(region, s, source_id) for s in region.services_on(source_id)]
    slugs = _unique_slugs([(li.service.id, li.name) for li in listings], taken={"regiotaxi-aanvragen-oud"})
    crumbs = [("/", "Home"), ("/zorg-en-ondersteuning/", "Zorg en ondersteuning")]
    items = []
    for listing in listings:
        path = f"/zorg-en-ondersteuning/{slugs[listing.service.id]}"
        truth.record(listing.service, source_id, page_key(f"http://site{path}"))
        items.append(
            f'<li class="product-teaser"><h3>{escape(listing.name)}</h3>'
            f"<p>{escape(_first_sentence(listing.description))}</p>"
            f'<a href="{path}" class="lees-meer">Lees meer</a></li>'
        )
        contact = "".join(
            [
                f'<p class="adres">{_lines(listing.street_line, listing.place_line)}</p>'
                if listing.street_line
                else "",
                f'<p class="telefoon">Telefoon: <a href="tel:{re.sub(r"[^0-9+]", "", listing.phone)}">'
                f"{escape(listing.phone)}</a></p>"
                if listing.phone
                else "",
                f'<p class="email">E-mail: <a href="mailto:{escape(listing.email)}">'
                f"{escape(listing.email)}</a></p>"
                if listing.email
                else "",
                f'<p class="openingstijden">{escape(listing.service.opening_hours)}</p>'
                if listing.service.opening_hours
                else "",
            ]
        )
        partner = (
            ""
            if listing.service.organization == "gemeente-brederwijk"
            else '<p class="aanbieder">Deze dienst wordt uitgevoerd door '
            f"<strong>{escape(listing.organization_name)}</strong>.</p>"
        )
        audience = (
            f'<h2>Voor wie?</h2><p class="doelgroep">{escape(listing.service.audience)}</p>'
            if listing.service.audience
            else ""
        )
        main = f"""<article class="product">
<h1>{escape(listing.name)}</h1>
<div class="intro"><p>{escape(listing.description)}</p></div>
{partner}{audience}
<h2 id="aanvragen">Aanvragen en contact</h2>
<div class="contact">{contact}</div>
<p class="gewijzigd">Laatst gewijzigd: 2 maart 2026</p>
</article>
<aside class="zie-ook"><h2>Zie ook</h2>
<ul><li><a href="/zorg-en-ondersteuning/">Alle onderwerpen</a></li></ul></aside>"""
        site.add(f"{path}.html", _gemeente_page(listing.name, [*crumbs, (path, listing.name)], main))

    news_path = "/zorg-en-ondersteuning/nieuwe-website-zorg-en-ondersteuning"
    intern_path = "/intern/werkinstructie-spoedaanvraag-wmo"
    dead_path = "/zorg-en-ondersteuning/regiotaxi-aanvragen-oud"
    featured = f"/zorg-en-ondersteuning/{slugs[listings[0].service.id]}" if listings else None
    uitgelicht = (
        f'<div class="uitgelicht"><h2>Uitgelicht</h2><a href="{featured}{_TRACKING}#aanvragen">'
        f"{escape(listings[0].name)}: zo vraagt u het aan</a></div>"
        if featured
        else ""
    )
    overview = f"""<h1>Zorg en ondersteuning</h1>
<div class="intro"><p>Heeft u hulp nodig bij het dagelijks leven, uw geldzaken of de zorg voor een naaste?
Hier vindt u alle regelingen en voorzieningen van de gemeente en haar partners.</p></div>
{uitgelicht}
<ul class="producten">
{"".join(items)}
<li class="product-teaser"><h3>Nieuwe website zorg en ondersteuning</h3><p>Nieuws over deze pagina's.</p>
<a href="{news_path}" class="lees-meer">Lees meer</a></li>
<li class="product-teaser"><h3>Regiotaxi aanvragen</h3><p>Vervoer in de regio.</p>
<a href="{dead_path}" class="lees-meer">Lees meer</a></li>
</ul>
<p class="medewerkers"><a href="{intern_path}">Voor medewerkers</a></p>"""
    site.add("/zorg-en-ondersteuning/index.html", _gemeente_page("Zorg en ondersteuning", crumbs, overview))
    site.add(
        f"{news_path}.html",
        _gemeente_page(
            "Nieuwe website",
            [*crumbs, (news_path, "Nieuws")],
            """<article class="nieuwsbericht"><h1>Nieuwe website zorg en ondersteuning</h1>
<p class="datum">12 februari 2026</p>
<p>De pagina's over zorg en ondersteuning zijn vernieuwd. U vindt nu per onderwerp wie u kan helpen
en hoe u iets aanvraagt. Mist u iets? Laat het ons weten via het contactformulier.</p></article>""",
        ),
    )
    site.add(
        f"{intern_path}.html",
        _gemeente_page(
            "Werkinstructie spoedaanvraag Wmo",
            [("/", "Home"), (intern_path, "Intern")],
            """<article class="product"><h1>Spoedaanvraag Wmo (intern)</h1>
<div class="intro"><p>Werkinstructie voor consulenten: een spoedaanvraag voor een Wmo-voorziening wordt binnen
twee werkdagen beoordeeld door de dienstdoende consulent.</p></div>
<div class="contact"><p class="telefoon">Telefoon: 030 276 49 99</p>
<p class="email">E-mail: spoed-wmo-intern@brederwijk.nl</p></div></article>""",
        ),
    )
    site.add(
        "/index.html",
        _gemeente_page(
            "Home",
            [("/", "Home")],
            """<h1>Welkom bij de gemeente Brederwijk</h1>
<ul class="tegels"><li><a href="/zorg-en-ondersteuning/">Zorg en ondersteuning</a></li>
<li><a href="/nieuws/">Nieuws</a></li><li><a href="/over-de-gemeente">Over de gemeente</a></li>
<li><a href="/contact">Contact</a></li></ul>""",
        ),
    )
    site.add(
        "/nieuws/index.html",
        _gemeente_page(
            "Nieuws",
            [("/", "Home"), ("/nieuws/", "Nieuws")],
            f"""<h1>Nieuws</h1><ul class="nieuws">
<li><a href="{news_path}">Nieuwe website zorg en ondersteuning</a></li>
<li><a href="/nieuws/gemeenteraad-stemt-in-met-begroting">Gemeenteraad stemt in met begroting 2026</a></li>
</ul>""",
        ),
    )
    site.add(
        "/nieuws/gemeenteraad-stemt-in-met-begroting.html",
        _gemeente_page(
            "Begroting 2026",
            [("/", "Home"), ("/nieuws/", "Nieuws")],
            """<article class="nieuwsbericht"><h1>Gemeenteraad stemt in met begroting 2026</h1>
<p>De gemeenteraad heeft de begroting voor 2026 aangenomen. Er gaat meer geld naar het sociaal wijkteam en
naar ondersteuning van mantelzorgers.</p></article>""",
        ),
    )
    site.add(
        "/contact.html",
        _gemeente_page(
            "Contact",
            [("/", "Home"), ("/contact", "Contact")],
            """<h1>Contact</h1><p>U kunt ons bellen op 14 030 of langskomen in het stadskantoor,
Stadhuisplein 1, 3511 AB Brederwijk. Het stadskantoor is open op werkdagen van 8.30 tot 17.00 uur.</p>""",
        ),
    )
    site.add(
        "/over-de-gemeente.html",
        _gemeente_page(
            "Over de gemeente",
            [("/", "Home"), ("/over-de-gemeente", "Over de gemeente")],
            """<h1>Over de gemeente</h1><p>Brederwijk is met ruim 60.000 inwoners de grootste gemeente van de
regio Lindewaard. Samen met Lindeveen en Aldermeer werken we aan zorg en ondersteuning dicht bij huis.</p>""",
        ),
    )
    site.add("/robots.txt", "User-agent: *\nDisallow: /intern/\nDisallow: /zoeken\n")
    truth.noise += [
        {
            "kind": "not_found",
            "source_id": source_id,
            "path": dead_path,
            "note": "linked from the overview, returns 404",
        },
        {
            "kind": "not_a_service",
            "source_id": source_id,
            "path": news_path,
            "note": "news item under the service path, no article.product",
        },
        {
            "kind": "robots_disallowed",
            "source_id": source_id,
            "path": intern_path,
            "note": "describes a service but robots.txt disallows /intern/: must not be crawled",
        },
    ]
    if featured:
        truth.noise.append(
            {
                "kind": "tracking_duplicate",
                "source_id": source_id,
                "path": f"{featured}{_TRACKING}#aanvragen",
                "note": f"the same page as {featured}, linked again with tracking parameters and a fragment",
            }
        )
    return site, slugs


# Samenwerkende Catalogi -------------------------------------------------------------------

_SC_NAMESPACES = (
    'xmlns:overheidproduct="http://standaarden.overheid.nl/product/terms/" '
    'xmlns:dcterms="http://purl.org/dc/terms/" '
    'xmlns:overheid="http://standaarden.overheid.nl/owms/terms/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
)


def _upl_uri(name: str) -> str:
    words = re.findall(
        r"[A-Za-z0-9]+", unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    )
    return "http://standaarden.overheid.nl/owms/terms/" + "".join(w[:1].upper() + w[1:] for w in words)


def _sc_feed(
    region: Region, source_id: str, municipality: str, prefix: str, slugs: dict[str, str], truth: _Truth
) -> str:
    services = region.services_on(source_id)
    listings = [make_listing(region, s, source_id) for s in services]
    own_slugs = _unique_slugs(
        [(li.service.id, li.name) for li in listings if li.service.id not in slugs], taken=set(slugs.values())
    )
    products = []
    for listing in listings:
        service = listing.service
        rng = random.Random(f"{service.id}:{source_id}:meta")
        slug = slugs.get(service.id) or own_slugs[service.id]
        identifier = f"{BASE_URL}/zorg-en-ondersteuning/{slug}"
        truth.record(service, source_id, page_key(f"http://site/zorg-en-ondersteuning/{slug}"))
        body = [f"<p>{escape(listing.description)}</p>"]
        if service.audience:
            body.append(f"<h2>Voor wie</h2><p>{escape(service.audience)}</p>")
        contact = [
            escape(v)
            for v in (
                listing.organization_name,
                listing.street_line,
                listing.place_line,
                f"Telefoon: {listing.phone}" if listing.phone else None,
                f"E-mail: {listing.email}" if listing.email else None,
            )
            if v
        ]
        body.append("<h2>Contact</h2><p>" + "<br/>".join(contact) + "</p>")
        if service.opening_hours:
            body.append(f"<h2>Openingstijden</h2><p>{escape(service.opening_hours)}</p>")
        upl = ""
        if service.categories:
            upl = (
                '<overheidproduct:uniformeProductnaam scheme="overheid:UniformeProductnaam" '
                f"resourceIdentifier={quoteattr(_upl_uri(service.categories[0]))}>"
                f"{xml_escape(service.categories[0].lower())}</overheidproduct:uniformeProductnaam>"
            )
        modified = f"2026-0{rng.randint(1, 2)}-{rng.randint(10, 28)}"
        products.append(f"""  <overheidproduct:scproduct owms-version="4.0">
    <overheidproduct:meta>
      <overheidproduct:owmskern>
        <dcterms:identifier>{xml_escape(identifier)}</dcterms:identifier>
        <dcterms:title>{xml_escape(listing.name)}</dcterms:title>
        <dcterms:language>nl</dcterms:language>
        <overheid:authority scheme="overheid:Gemeente" resourceIdentifier="http://standaarden.overheid.nl/owms/terms/{municipality}_(gemeente)">{municipality}</overheid:authority>
        <dcterms:modified>{modified}</dcterms:modified>
        <dcterms:spatial scheme="overheid:Gemeente" resourceIdentifier="http://standaarden.overheid.nl/owms/terms/{municipality}_(gemeente)">{municipality}</dcterms:spatial>
      </overheidproduct:owmskern>
      <overheidproduct:owmsmantel>
        <dcterms:audience scheme="overheid:Doelgroep">particulier</dcterms:audience>
        <dcterms:abstract>{xml_escape(_first_sentence(listing.description))}</dcterms:abstract>
      </overheidproduct:owmsmantel>
      <overheidproduct:scmeta>
        <overheidproduct:productID>{prefix}-{service.id.upper()}</overheidproduct:productID>
        <overheidproduct:onlineAanvragen>{rng.choice(("nee", "digid"))}</overheidproduct:onlineAanvragen>
        {upl}
      </overheidproduct:scmeta>
    </overheidproduct:meta>
    <overheidproduct:body>
      <overheidproduct:productHTML>{xml_escape("".join(body))}</overheidproduct:productHTML>
    </overheidproduct:body>
  </overheidproduct:scproduct>
""")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<overheidproduct:scproducten {_SC_NAMESPACES}>\n"
        + "".join(products)
        + "</overheidproduct:scproducten>\n"
    )


def _build_small_gemeente(
    region: Region, source_id: str, municipality: str, prefix: str, truth: _Truth
) -> _Site:
    site = _Site(SITE_OF_SOURCE[source_id])
    site.add("/sc/producten.xml", _sc_feed(region, source_id, municipality, prefix, {}, truth))
    site.add("/robots.txt", "User-agent: *\nDisallow:\n")
    site.add(
        "/index.html",
        f"""<!DOCTYPE html>
<html lang="nl"><head><meta charset="utf-8"><title>Gemeente {municipality}</title></head>
<body><header><a href="/">Gemeente {municipality}</a></header>
<main><h1>Gemeente {municipality}</h1><p>Onze producten en diensten staan ook in de
<a href="/sc/producten.xml">productencatalogus</a> (Samenwerkende Catalogi).</p></main>
<footer>Gemeente {municipality} &middot; Bel 14 0{"343" if municipality == "Aldermeer" else "30"}</footer>
</body></html>
""",
    )
    return site


# schema.org: JSON-LD and microdata ----------------------------------------------------------


def _schema_service(listing: Listing, site_url_path: str, provider_url: str) -> dict:
    service = listing.service
    data: dict = {
        "@context": "https://schema.org",
        "@type": "Service",
        "name": listing.name,
        "description": listing.description,
        "url": f"{BASE_URL}{site_url_path}",
        "provider": {"@type": "Organization", "name": listing.organization_name, "url": provider_url},
        "areaServed": {"@type": "City", "name": service.municipality},
    }
    if listing.phone:
        data["provider"]["telephone"] = listing.phone
    if listing.email:
        data["provider"]["email"] = listing.email
    channel: dict = {"@type": "ServiceChannel"}
    if listing.phone:
        channel["servicePhone"] = {"@type": "ContactPoint", "telephone": listing.phone}
    if listing.street_line:
        address = {"@type": "PostalAddress", "streetAddress": listing.street_line, "addressCountry": "NL"}
        if listing.postcode:
            address["postalCode"] = listing.postcode
        if listing.city:
            address["addressLocality"] = listing.city
        place: dict = {"@type": "Place", "address": address}
        point = coordinates(service)
        if point:
            place["geo"] = {"@type": "GeoCoordinates", "latitude": point[0], "longitude": point[1]}
        channel["serviceLocation"] = place
    if len(channel) > 1:
        data["availableChannel"] = channel
    hours = regular_hours(service.opening_hours)
    if hours:
        days, opens, closes = hours
        data["hoursAvailable"] = {
            "@type": "OpeningHoursSpecification",
            "dayOfWeek": [f"https://schema.org/{d}" for d in days],
            "opens": opens,
            "closes": closes,
        }
    if service.audience:
        data["audience"] = {"@type": "Audience", "audienceType": service.audience}
    if service.categories:
        data["serviceType"] = service.categories[0]
        data["category"] = service.categories
    return data


def _json_ld(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2).replace("</", "<\\/")


def _welzijn_page(title: str, crumbs: list[tuple[str, str]], main: str, head: str = "") -> str:
    trail = "".join(f'<li><a href="{href}">{escape(label)}</a></li>' for href, label in crumbs)
    return f"""<!DOCTYPE html>
<html lang="nl">
<head>
<meta charset="utf-8">
<title>{escape(title)} - Welzijn De Linde</title>
{head}</head>
<body class="page">
<div class="cc-window" role="dialog">Deze website gebruikt cookies. Door verder te klikken gaat u akkoord.
<a class="cc-link" href="/privacyverklaring/">Lees meer</a> <a class="cc-btn">Prima!</a></div>
<header id="masthead"><div class="site-branding"><a href="/">Welzijn De Linde</a>
<span class="tagline">Samen sterk in Brederwijk en Lindeveen</span></div>
<nav id="site-navigation"><a href="/">Home</a> <a href="/activiteiten/">Activiteiten</a>
<a href="/over-ons/">Over ons</a>
<a href="/vrijwilligerswerk/">Vrijwilligerswerk</a> <a href="/doneren/">Doneer</a></nav>
</header>
<ol class="breadcrumbs">{trail}</ol>
<div id="primary" class="content-area">
{main}
</div>
<footer id="colophon"><p>Stichting Welzijn De Linde &middot; Kerkstraat 14 &middot; Brederwijk &middot;
030 276 41 00 &middot; info@welzijndelinde.nl</p><p>KvK 41234567 &middot; ANBI</p></footer>
</body>
</html>
"""


def _contact_text(listing: Listing) -> str:
    rows = [
        ("Adres", ", ".join(p for p in (listing.street_line, listing.place_line) if p)),
        ("Telefoon", listing.phone),
        ("E-mail", listing.email),
        ("Wanneer", listing.service.opening_hours),
    ]
    return "".join(f"<li><strong>{k}:</strong> {escape(v)}</li>" for k, v in rows if v)


def _sitemap(paths: list[str]) -> str:
    urls = "".join(
        f"  <url><loc>{BASE_URL}{xml_escape(p)}</loc><lastmod>2026-03-02</lastmod></url>\n" for p in paths
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n' + urls + "</urlset>\n"
    )


def _build_welzijn(region: Region, truth: _Truth) -> _Site:
    source_id = "welzijn-de-linde"
    site = _Site(source_id)
    listings = [make_listing(region, s, source_id) for s in region.services_on(source_id)]
    broken_slug = "zomeractiviteiten-2026"
    slugs = _unique_slugs([(li.service.id, li.name) for li in listings], taken={broken_slug})
    crumbs = [("/", "Home"), ("/activiteiten/", "Activiteiten")]
    cards, paths = [], []
    for listing in listings:
        path = f"/activiteiten/{slugs[listing.service.id]}/"
        paths.append(path)
        truth.record(listing.service, source_id, page_key(f"http://site{path}"))
        data = _schema_service(listing, path, f"{BASE_URL}/")
        cards.append(
            f'<div class="card"><h3 class="card-title">{escape(listing.name)}</h3>'
            f"<p>{escape(_first_sentence(listing.description))}</p>"
            f'<a class="btn" href="{path}">Lees meer</a></div>'
        )
        audience = (
            f"<p><em>Voor wie:</em> {escape(listing.service.audience)}</p>"
            if listing.service.audience
            else ""
        )
        main = f"""<article class="activiteit">
<h1 class="entry-title">{escape(listing.name)}</h1>
<div class="entry-content"><p>{escape(listing.description)}</p>{audience}
<h2>Praktisch</h2><ul class="praktisch">{_contact_text(listing)}</ul>
<p><a href="/activiteiten/">&laquo; Terug naar alle activiteiten</a></p></div>
</article>"""
        head = f'<script type="application/ld+json">\n{_json_ld(data)}\n</script>\n'
        site.add(
            f"{path}index.html", _welzijn_page(listing.name, [*crumbs, (path, listing.name)], main, head)
        )

    broken_path = f"/activiteiten/{broken_slug}/"
    broken_head = (
        '<script type="application/ld+json">\n{"@context": "https://schema.org", "@type": "Service",\n'
        ' "name": "Zomeractiviteiten 2026", "description": "Elke week iets anders te doen in de zomer\n'
        "</script>\n"
    )
    site.add(
        f"{broken_path}index.html",
        _welzijn_page(
            "Zomeractiviteiten 2026",
            [*crumbs, (broken_path, "Zomeractiviteiten 2026")],
            '<article class="activiteit"><h1 class="entry-title">Zomeractiviteiten 2026</h1>'
            '<div class="entry-content"><p>Het zomerprogramma volgt in juni.</p></div></article>',
            broken_head,
        ),
    )
    intern_path = "/intern/rooster-vrijwilligers/"
    intern_data = {
        "@context": "https://schema.org",
        "@type": "Service",
        "name": "Rooster vrijwilligers buurtcentrum (intern)",
        "description": "Interne pagina met het rooster van de vrijwilligers van het buurtcentrum.",
        "provider": {"@type": "Organization", "name": "Welzijn De Linde", "telephone": "030 276 41 99"},
    }
    site.add(
        f"{intern_path}index.html",
        _welzijn_page(
            "Rooster",
            [("/", "Home")],
            '<article><h1 class="entry-title">Rooster vrijwilligers</h1>'
            "<p>Alleen voor vrijwilligers.</p></article>",
            f'<script type="application/ld+json">\n{_json_ld(intern_data)}\n</script>\n',
        ),
    )
    featured = paths[0] if paths else None
    overview = f"""<h1 class="page-title">Activiteiten</h1>
<p>Bij De Linde kunt u terecht voor ontmoeting, advies en een helpende hand.</p>
<div class="cards">{"".join(cards)}
<div class="card"><h3 class="card-title">Zomeractiviteiten 2026</h3>
<a class="btn" href="{broken_path}">Lees meer</a></div>
</div>"""
    site.add("/activiteiten/index.html", _welzijn_page("Activiteiten", crumbs, overview))
    home_links = (
        f'<p><a href="{featured}{_TRACKING}#aanmelden">Uitgelicht deze maand</a></p>' if featured else ""
    )
    site.add(
        "/index.html",
        _welzijn_page(
            "Home",
            [("/", "Home")],
            f"""<h1>Welkom bij Welzijn De Linde</h1>
<p>Wij helpen inwoners van Brederwijk en Lindeveen om mee te
doen en zelfstandig te blijven.</p><p><a href="/activiteiten/">Bekijk al onze activiteiten</a></p>{home_links}
<p class="small"><a href="{intern_path}">Vrijwilligersportaal</a></p>""",
        ),
    )
    site.add("/sitemap.xml", _sitemap(["/", "/activiteiten/", *paths, broken_path]))
    site.add(
        "/robots.txt",
        f"User-agent: *\nDisallow: /intern/\nDisallow: /wp-admin/\n\nSitemap: {BASE_URL}/sitemap.xml\n",
    )
    truth.noise += [
        {
            "kind": "malformed_json_ld",
            "source_id": source_id,
            "path": broken_path,
            "note": "linked like an activity; its JSON-LD is cut off and does not parse",
        },
        {
            "kind": "robots_disallowed",
            "source_id": source_id,
            "path": intern_path,
            "note": "JSON-LD Service behind robots.txt Disallow: /intern/: must not be crawled",
        },
    ]
    if featured:
        truth.noise.append(
            {
                "kind": "tracking_duplicate",
                "source_id": source_id,
                "path": f"{featured}{_TRACKING}#aanmelden",
                "note": f"the home page links {featured} again with tracking parameters and a fragment",
            }
        )
    return site


def _microdata(listing: Listing) -> str:
    service = listing.service
    provider = [f'<span itemprop="name">{escape(listing.organization_name)}</span>']
    if listing.phone:
        provider.append(f'Tel. <span itemprop="telephone">{escape(listing.phone)}</span>')
    if listing.email:
        provider.append(
            f'<a itemprop="email" href="mailto:{escape(listing.email)}">{escape(listing.email)}</a>'
        )
    provider.append(f'<link itemprop="url" href="{BASE_URL}/">')
    channel = []
    if listing.phone:
        channel.append(
            '<div itemprop="servicePhone" itemscope itemtype="https://schema.org/ContactPoint">'
            f'Bel: <span itemprop="telephone">{escape(listing.phone)}</span></div>'
        )
    if listing.street_line:
        address = [f'<span itemprop="streetAddress">{escape(listing.street_line)}</span>']
        if listing.postcode:
            address.append(f'<span itemprop="postalCode">{escape(listing.postcode)}</span>')
        if listing.city:
            address.append(f'<span itemprop="addressLocality">{escape(listing.city)}</span>')
        point = coordinates(service)
        geo = (
            '<span itemprop="geo" itemscope itemtype="https://schema.org/GeoCoordinates">'
            f'<meta itemprop="latitude" content="{point[0]}">'
            f'<meta itemprop="longitude" content="{point[1]}"></span>'
            if point
            else ""
        )
        channel.append(
            '<div itemprop="serviceLocation" itemscope itemtype="https://schema.org/Place">'
            '<div itemprop="address" itemscope itemtype="https://schema.org/PostalAddress">'
            + ", ".join(address)
            + f"</div>{geo}</div>"
        )
    hours = regular_hours(service.opening_hours)
    hours_html = ""
    if hours:
        days, opens, closes = hours
        metas = "".join(f'<link itemprop="dayOfWeek" href="https://schema.org/{d}">' for d in days)
        hours_html = (
            '<div itemprop="hoursAvailable" itemscope itemtype="https://schema.org/OpeningHoursSpecification">'
            f'{metas}<meta itemprop="opens" content="{opens}">'
            f'<meta itemprop="closes" content="{closes}"></div>'
        )
    when = f'<p class="tijden">Wanneer: {escape(service.opening_hours)}</p>' if service.opening_hours else ""
    audience = (
        '<p itemprop="audience" itemscope itemtype="https://schema.org/Audience">Voor: '
        f'<span itemprop="audienceType">{escape(service.audience)}</span></p>'
        if service.audience
        else ""
    )
    category = (
        f'<p>Categorie: <span itemprop="serviceType">{escape(service.categories[0])}</span></p>'
        if service.categories
        else ""
    )
    channel_html = (
        '<div itemprop="availableChannel" itemscope itemtype="https://schema.org/ServiceChannel">'
        + "".join(channel)
        + "</div>"
        if channel
        else ""
    )
    return f"""<div class="dienst" itemscope itemtype="https://schema.org/Service">
<h1 itemprop="name">{escape(listing.name)}</h1>
<p itemprop="description">{escape(listing.description)}</p>
{audience}{category}
<meta itemprop="areaServed" content="{escape(service.municipality)}">
<div class="aanbieder" itemprop="provider" itemscope itemtype="https://schema.org/Organization">
{" &middot; ".join(provider)}</div>
{channel_html}{hours_html}{when}
</div>"""


def _vrijwilligerspunt_page(title: str, main: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="nl">
<head><meta charset="utf-8"><title>{escape(title)} :: Vrijwilligerspunt Aldermeer</title></head>
<body>
<div class="cookies">Wij plaatsen alleen noodzakelijke cookies. <a href="/cookies/">Lees meer</a></div>
<div class="top"><a href="/"><img src="/logo.png" alt="Vrijwilligerspunt Aldermeer"></a>
<ul class="menu"><li><a href="/">Start</a></li><li><a href="/hulp-en-diensten/">Hulp en diensten</a></li>
<li><a href="/vacaturebank/">Vacaturebank</a></li><li><a href="/contact/">Contact</a></li></ul></div>
<div class="pad"><a href="/">Start</a> / <a href="/hulp-en-diensten/">Hulp en diensten</a></div>
<div class="midden">
{main}
</div>
<div class="onder">Vrijwilligerspunt Aldermeer &middot; Molenweg 3 &middot; Aldermeer
&middot; Geopend ma t/m do 9.00 - 12.00 uur</div>
</body>
</html>
"""


def _build_vrijwilligerspunt(region: Region, truth: _Truth) -> _Site:
    source_id = "vrijwilligerspunt-aldermeer"
    site = _Site(source_id)
    listings = [make_listing(region, s, source_id) for s in region.services_on(source_id)]
    slugs = _unique_slugs([(li.service.id, li.name) for li in listings])
    items, paths = [], []
    for listing in listings:
        path = f"/hulp-en-diensten/{slugs[listing.service.id]}/"
        paths.append(path)
        truth.record(listing.service, source_id, page_key(f"http://site{path}"))
        items.append(
            f'<li><a href="{path}">{escape(listing.name)}</a> &ndash; <a href="{path}">Lees meer</a></li>'
        )
        site.add(f"{path}index.html", _vrijwilligerspunt_page(listing.name, _microdata(listing)))
    site.add(
        "/hulp-en-diensten/index.html",
        _vrijwilligerspunt_page("Hulp en diensten", f"<h1>Hulp en diensten</h1><ul>{''.join(items)}</ul>"),
    )
    site.add(
        "/index.html",
        _vrijwilligerspunt_page(
            "Start",
            "<h1>Vrijwilligerspunt Aldermeer</h1>"
            "<p>Voor vrijwilligers en iedereen die een handje hulp kan gebruiken.</p>"
            '<p><a href="/hulp-en-diensten/">Bekijk onze hulp en diensten</a></p>',
        ),
    )
    site.add("/sitemap.xml", _sitemap(["/", "/hulp-en-diensten/", *paths]))
    site.add("/robots.txt", f"User-agent: *\nDisallow: /beheer/\n\nSitemap: {BASE_URL}/sitemap.xml\n")
    return site


# plain html sites --------------------------------------------------------------------------


def _build_palliatief(region: Region, truth: _Truth) -> _Site:
    """An old site without classes, served as windows-1252."""
    source_id = "palliatief-netwerk"
    site = _Site(source_id)
    listings = [make_listing(region, s, source_id) for s in region.services_on(source_id)]
    slugs = _unique_slugs([(li.service.id, li.name) for li in listings])

    def page(title: str, main: str) -> str:
        return f"""<!DOCTYPE html>
<html lang="nl">
<head><meta charset="windows-1252"><title>{escape(title)} - Netwerk Palliatieve Zorg Lindewaard</title></head>
<body>
<p><small>Deze site gebruikt geen tracking-cookies. <a href="/privacy.html">Lees meer</a></small></p>
<h1>Netwerk Palliatieve Zorg Lindewaard</h1>
<ul><li><a href="/">Home</a></li><li><a href="/aanbod.html">Aanbod</a></li>
<li><a href="/voor-professionals.html">Voor professionals</a></li></ul>
<p><a href="/">Home</a> &gt; <a href="/aanbod.html">Aanbod</a></p>
<main>
{main}
</main>
<hr>
<p>Netwerk Palliatieve Zorg Lindewaard &ndash; coördinatie: 030 286 10 00
&ndash; info@palliatieflindewaard.nl</p>
<p>Vragen over cliëntondersteuning of financiële regelingen rond het levenseinde? Wij denken mee.</p>
</body>
</html>
"""

    items = []
    for listing in listings:
        path = f"/aanbod/{slugs[listing.service.id]}.html"
        truth.record(listing.service, source_id, page_key(f"http://site{path}"))
        items.append(
            f'<li><a href="{path}">{escape(listing.name)}</a><br>{escape(listing.organization_name)}</li>'
        )
        rows = [
            ("Aanbieder", listing.organization_name),
            ("Adres", ", ".join(p for p in (listing.street_line, listing.place_line) if p)),
            ("Telefoon", listing.phone),
            ("E-mail", listing.email),
            ("Bereikbaar", listing.service.opening_hours),
            ("Voor wie", listing.service.audience),
        ]
        details = "".join(f"<dt>{k}</dt><dd>{escape(v)}</dd>" for k, v in rows if v)
        main = f"<h2>{escape(listing.name)}</h2>\n<p>{escape(listing.description)}</p>\n<dl>{details}</dl>"
        site.add(path, page(listing.name, main))
    site.add("/aanbod.html", page("Aanbod", f"<h2>Aanbod in de regio</h2><ul>{''.join(items)}</ul>"))
    site.add(
        "/index.html",
        page(
            "Home",
            "<h2>Welkom</h2><p>Het netwerk brengt de palliatieve zorg in Brederwijk, Lindeveen en Aldermeer "
            "samen: zorg voor mensen die ongeneeslijk ziek zijn en hun naasten.</p>"
            '<p><a href="/aanbod.html">Bekijk het aanbod</a></p>',
        ),
    )
    site.add(
        "/voor-professionals.html",
        page(
            "Voor professionals",
            "<h2>Voor professionals</h2><p>Scholing en overleg voor zorgverleners in de regio.</p>",
        ),
    )
    site.add("/robots.txt", "User-agent: *\nDisallow: /cgi-bin/\n")
    return site


def _build_ggd(region: Region, truth: _Truth) -> _Site:
    source_id = "ggd-lindewaard"
    site = _Site(source_id)
    listings = [make_listing(region, s, source_id) for s in region.services_on(source_id)]
    reject_slug, dead_slug = "spreekuur-jeugdarts-op-school", "griepprik-2024"
    slugs = _unique_slugs([(li.service.id, li.name) for li in listings], taken={reject_slug, dead_slug})

    def page(title: str, main: str) -> str:
        return f"""<!DOCTYPE html>
<html lang="nl">
<head><meta charset="utf-8"><title>{escape(title)} | GGD Regio Lindewaard</title></head>
<body>
<div class="js-cookie-consent">GGD Regio Lindewaard gebruikt cookies voor statistiek.
<a href="/cookies">Lees meer</a></div>
<header class="ggd-header"><a class="ggd-header__logo" href="/">GGD Regio Lindewaard</a>
<nav class="ggd-nav"><a href="/onderwerpen/">Onderwerpen</a><a href="/over-de-ggd">Over de GGD</a>
<a href="/werken-bij">Werken bij</a></nav></header>
<div class="ggd-crumbs"><a href="/">Home</a> / <a href="/onderwerpen/">Onderwerpen</a></div>
{main}
<footer class="ggd-footer"><p>GGD Regio Lindewaard &middot; Algemeen nummer 030 276 80 00
&middot; Bij spoed: bel 112</p></footer>
</body>
</html>
"""

    def service_page(name: str, text: str, contact: str) -> str:
        return (
            f'<section class="dienst"><h1 class="dienst__titel">{escape(name)}</h1>'
            f'<div class="dienst__tekst"><p>{escape(text)}</p></div>'
            f'<ul class="contactgegevens">{contact}</ul></section>'
        )

    items = []
    for listing in listings:
        path = f"/onderwerpen/{slugs[listing.service.id]}"
        truth.record(listing.service, source_id, page_key(f"http://site{path}"))
        items.append(f'<li class="tegel"><a href="{path}"><span>{escape(listing.name)}</span></a></li>')
        contact = "".join(
            [
                _lines(
                    ", ".join(p for p in (listing.street_line, listing.place_line) if p) or None,
                    tag="li",
                    cls="adres",
                ),
                _lines(listing.phone, tag="li", cls="telefoon"),
                _lines(listing.email, tag="li", cls="email"),
                _lines(listing.service.opening_hours, tag="li", cls="tijden"),
                _lines(listing.service.audience, tag="li", cls="doelgroep"),
            ]
        )
        site.add(f"{path}.html", page(listing.name, service_page(listing.name, listing.description, contact)))
    reject_path, dead_path = f"/onderwerpen/{reject_slug}", f"/onderwerpen/{dead_slug}"
    site.add(
        f"{reject_path}.html",
        page(
            "Spreekuur jeugdarts op school",
            service_page(
                "Spreekuur jeugdarts op school",
                "De jeugdarts houdt spreekuur op school.",
                '<li class="telefoon">bel ons</li>',
            ),
        ),
    )
    items.append(
        f'<li class="tegel"><a href="{reject_path}"><span>Spreekuur jeugdarts op school</span></a></li>'
    )
    items.append(f'<li class="tegel"><a href="{dead_path}"><span>Griepprik 2024</span></a></li>')
    site.add(
        "/onderwerpen/index.html",
        page("Onderwerpen", f'<h1>Onderwerpen</h1><ul class="tegels">{"".join(items)}</ul>'),
    )
    site.add(
        "/index.html",
        page(
            "Home",
            '<h1>Gezond opgroeien en gezond leven</h1><p><a href="/onderwerpen/">Alle onderwerpen</a></p>',
        ),
    )
    site.add("/robots.txt", "User-agent: *\nDisallow: /mijn-ggd/\n")
    truth.noise.append(
        {
            "kind": "not_found",
            "source_id": source_id,
            "path": dead_path,
            "note": "linked from the topics page, returns 404",
        }
    )
    truth.expected_rejections.append(
        {
            "source_id": source_id,
            "key": page_key(f"http://site{reject_path}"),
            "why": "phone is 'bel ons' and there is no other contact channel (no number, address or email)",
        }
    )
    return site


def _build_geldzorg(region: Region, truth: _Truth) -> _Site:
    source_id = "geldzorg-lindewaard"
    site = _Site(source_id)
    listings = [make_listing(region, s, source_id) for s in region.services_on(source_id)]
    reject_slug = "lees-meer"
    slugs = _unique_slugs([(li.service.id, li.name) for li in listings], taken={reject_slug})

    def page(title: str, main: str) -> str:
        return f"""<!DOCTYPE html>
<html lang="nl">
<head><meta charset="utf-8"><title>{escape(title)} &ndash; Stichting Geldzorg Lindewaard</title></head>
<body>
<div id="cookie-notice">Wij gebruiken cookies. <a href="/privacy.html">Lees meer</a></div>
<div id="wrapper"><div id="header"><h1 class="brand"><a href="/">Geldzorg Lindewaard</a></h1>
<div id="menu"><a href="/">Home</a> | <a href="/hulp/">Onze hulp</a>
| <a href="/word-vrijwilliger.html">Word vrijwilliger</a> | <a href="/doneer.html">Doneer</a></div></div>
<div id="content">
{main}
</div>
<div id="footer">Stichting Geldzorg Lindewaard &middot; Geen geld? Geen zorgen: onze hulp is gratis
&middot; IBAN NL00 BANK 0123 4567 89</div></div>
</body>
</html>
"""

    def card(name: str, text: str, rows: list[tuple[str, str | None]]) -> str:
        table = "".join(f"<tr><th>{k}</th><td>{escape(v)}</td></tr>" for k, v in rows if v)
        return (
            f'<div class="card"><div class="card-body"><h2 class="service-title">{escape(name)}</h2>'
            f'<p class="lead">{escape(text)}</p><table class="info">{table}</table></div></div>'
        )

    items = []
    for listing in listings:
        path = f"/hulp/{slugs[listing.service.id]}.html"
        truth.record(listing.service, source_id, page_key(f"http://site{path}"))
        items.append(
            f'<div class="teaser"><h3>{escape(listing.name)}</h3><a href="{path}">Lees meer &raquo;</a></div>'
        )
        rows = [
            ("Adres", listing.street_line),
            ("Postcode en plaats", listing.place_line),
            ("Telefoon", listing.phone),
            ("E-mail", listing.email),
            ("Wanneer", listing.service.opening_hours),
            ("Voor wie", listing.service.audience),
        ]
        site.add(path, page(listing.name, card(listing.name, listing.description, rows)))
    reject_path = f"/hulp/{reject_slug}.html"
    site.add(reject_path, page("Lees meer", card("Lees meer", "Binnenkort meer informatie.", [])))
    items.append(f'<div class="teaser"><h3>Meer hulp</h3><a href="{reject_path}">Lees meer &raquo;</a></div>')
    site.add("/hulp/index.html", page("Onze hulp", f"<h2>Onze hulp</h2>{''.join(items)}"))
    site.add(
        "/index.html",
        page("Home", '<h2>Hulp bij geldzorgen</h2><p><a href="/hulp/">Bekijk onze hulp</a></p>'),
    )
    site.add("/robots.txt", "User-agent: *\nDisallow: /intern/\n")
    truth.expected_rejections.append(
        {
            "source_id": source_id,
            "key": page_key(f"http://site{reject_path}"),
            "why": "the service name is the link text 'Lees meer' and the page has no contact channel",
        }
    )
    return site


# the sociale kaart (HSDS 3.0) -----------------------------------------------------------------


def _hsds_service(region: Region, listing: Listing) -> dict:
    service = listing.service
    sid = hsds_id("service", service.id)
    organization = region.organization(service.organization)
    org_id = hsds_id("organization", organization.id)
    record: dict = {
        "id": sid,
        "organization_id": org_id,
        "name": listing.name,
        "alternate_name": None,
        "description": listing.description,
        "url": None,
        "email": listing.email,
        "status": "active",
        "eligibility_description": service.audience,
        "fees_description": {"gratis": "Gratis", "eigen_bijdrage": "Eigen bijdrage"}.get(
            service.truth.cost or ""
        ),
        "last_modified": "2026-03-02T09:00:00Z",
        "organization": {
            "id": org_id,
            "name": listing.organization_name,
            "description": None,
            "email": None,
            "website": None,
        },
        "phones": [],
        "schedules": [],
        "service_areas": [
            {"id": hsds_id("service_area", service.id), "service_id": sid, "name": service.municipality}
        ],
        "service_at_locations": [],
        "languages": [
            {"id": hsds_id("language", service.id), "service_id": sid, "name": "Nederlands", "code": "nl"}
        ],
        "attributes": [],
    }
    if listing.phone:
        record["phones"].append(
            {
                "id": hsds_id("phone", service.id),
                "service_id": sid,
                "number": listing.phone,
                "extension": None,
                "type": "voice",
                "description": service.phone_label,
            }
        )
    if service.opening_hours:
        schedule: dict = {
            "id": hsds_id("schedule", service.id),
            "service_id": sid,
            "description": service.opening_hours,
        }
        hours = regular_hours(service.opening_hours)
        if hours:
            days, opens, closes = hours
            schedule.update(
                freq="WEEKLY",
                byday=",".join(d[:2].upper() for d in days),
                opens_at=opens,
                closes_at=closes,
            )
        record["schedules"].append(schedule)
    if listing.street_line:
        location_id = hsds_id("location", service.id)
        point = coordinates(service)
        record["service_at_locations"].append(
            {
                "id": hsds_id("service_at_location", service.id),
                "service_id": sid,
                "location_id": location_id,
                "location": {
                    "id": location_id,
                    "location_type": "physical",
                    "name": listing.organization_name,
                    "latitude": float(point[0]) if point else None,
                    "longitude": float(point[1]) if point else None,
                    "addresses": [
                        {
                            "id": hsds_id("address", service.id),
                            "location_id": location_id,
                            "address_1": listing.street_line,
                            "address_2": None,
                            "city": listing.city,
                            "region": None,
                            "state_province": "Utrecht",
                            "postal_code": listing.postcode,
                            "country": "NL",
                            "address_type": "physical",
                        }
                    ],
                },
            }
        )
    for category in service.categories:
        term_id = str(uuid.uuid5(_UUID_NAMESPACE, f"taxonomy_term:{category}"))
        record["attributes"].append(
            {
                "id": hsds_id(f"attribute:{category}", service.id),
                "link_id": sid,
                "link_type": "service",
                "link_entity": "service",
                "taxonomy_term_id": term_id,
                "value": None,
                "taxonomy_term": {
                    "id": term_id,
                    "code": slugify(category),
                    "name": category,
                    "description": None,
                    "taxonomy": "sociale-kaart-categorie",
                    "language": "nl",
                },
            }
        )
    return record


def _build_sociale_kaart(region: Region, truth: _Truth) -> _Site:
    source_id = "sociale-kaart"
    site = _Site(source_id)
    records = []
    for service in region.services_on(source_id):
        listing = make_listing(region, service, source_id)
        records.append(_hsds_service(region, listing))
        truth.record(service, source_id, hsds_id("service", service.id))
    records.sort(key=lambda r: (r["name"].lower(), r["id"]))
    site.add("/hsds.json", json.dumps({"services": records}, ensure_ascii=False, indent=1) + "\n")
    site.add("/robots.txt", "User-agent: *\nDisallow:\n")
    site.add(
        "/index.html",
        """<!DOCTYPE html>
<html lang="nl"><head><meta charset="utf-8"><title>Sociale Kaart Lindewaard</title></head>
<body><h1>Sociale Kaart Lindewaard</h1><p>Alle zorg en welzijn in Brederwijk, Lindeveen en Aldermeer.
De gegevens zijn open beschikbaar via de <a href="/services">HSDS-API</a>.</p></body></html>
""",
    )
    return site


# building everything -----------------------------------------------------------------------


class _Truth:
    """The ground truth collected while the sites are rendered, so keys and pages agree."""

    def __init__(self, region: Region):
        self.region = region
        self.records: dict[str, list[dict]] = {s.id: [] for s in region.services}
        self.noise: list[dict] = []
        self.expected_rejections: list[dict] = []

    def record(self, service: Service, source_id: str, key: str) -> None:
        self.records[service.id].append({"source_id": source_id, "key": key})

    def as_json(self) -> dict:
        services = []
        for service in sorted(self.region.services, key=lambda s: s.id):
            organization = self.region.organization(service.organization)
            services.append(
                {
                    "id": service.id,
                    "name": service.name,
                    "organization": organization.name,
                    "municipality": service.municipality,
                    "domains": service.truth.domains,
                    "audiences": service.truth.audiences,
                    "sector": service.truth.sector,
                    "access": service.truth.access,
                    "cost": service.truth.cost,
                    "records": sorted(self.records[service.id], key=lambda r: r["source_id"]),
                }
            )
        return {"services": services, "noise": self.noise, "expected_rejections": self.expected_rejections}


def render_sites(region: Region) -> tuple[dict[str, dict[str, bytes]], dict]:
    """Every file of every site (site -> relative path -> bytes) and the ground truth."""
    truth = _Truth(region)
    brederwijk, brederwijk_slugs = _build_gemeente_brederwijk(region, truth)
    brederwijk.add(
        "/sc/producten.xml",
        _sc_feed(region, "gemeente-brederwijk-sc", "Brederwijk", "BRW", brederwijk_slugs, truth),
    )
    sites = [
        brederwijk,
        _build_small_gemeente(region, "gemeente-lindeveen-sc", "Lindeveen", "LVN", truth),
        _build_small_gemeente(region, "gemeente-aldermeer-sc", "Aldermeer", "ALM", truth),
        _build_welzijn(region, truth),
        _build_vrijwilligerspunt(region, truth),
        _build_palliatief(region, truth),
        _build_ggd(region, truth),
        _build_geldzorg(region, truth),
        _build_sociale_kaart(region, truth),
    ]
    files = {
        site.name: {
            path: text.encode(SITE_CHARSETS.get(site.name, "utf-8"), errors="xmlcharrefreplace")
            for path, text in sorted(site.files.items())
        }
        for site in sites
    }
    return files, truth.as_json()


def build_sites(region: Region, out_dir: Path | str) -> dict:
    """Write every site under `out_dir/<site>/` (replacing what was there) and return the ground truth."""
    out_dir = Path(out_dir)
    files, ground_truth = render_sites(region)
    for site, site_files in files.items():
        site_dir = out_dir / site
        if site_dir.exists():
            shutil.rmtree(site_dir)
        for path, content in site_files.items():
            target = site_dir / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    return ground_truth


def ground_truth_text(ground_truth: dict) -> str:
    return json.dumps(ground_truth, ensure_ascii=False, indent=1) + "\n"


def summary(ground_truth: dict) -> dict:
    """The counts a maintainer checks after a build: services, records per site, overlap."""
    per_source: dict[str, int] = {}
    for service in ground_truth["services"]:
        for record in service["records"]:
            per_source[record["source_id"]] = per_source.get(record["source_id"], 0) + 1
    services = ground_truth["services"]
    multi = sum(1 for s in services if len(s["records"]) >= 2)
    return {
        "services": len(services),
        "records": sum(per_source.values()),
        "records_per_source": dict(sorted(per_source.items())),
        "share_on_two_or_more_sites": round(multi / len(services), 3) if services else 0.0,
    }


def main() -> None:
    ground_truth = build_sites(load_region(), SITES_DIR)
    GROUND_TRUTH_PATH.write_text(ground_truth_text(ground_truth), encoding="utf-8")
    print(json.dumps(summary(ground_truth), indent=1))


if __name__ == "__main__":
    main()
