"""schema.org on a page: JSON-LD (with @graph and @id references), microdata and RDFa, read
into one shape so that all three give the same fields."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import lxml.html
from lxml import etree

from servicemap.extract.base import ExtractionError, squash, squash_all, visible_text
from servicemap.records import RawFields
from servicemap.urls import page_key

SERVICE_TYPES = frozenset({"Service", "GovernmentService", "FinancialProduct", "BroadcastService"})
ORGANIZATION_TYPES = frozenset(
    {
        "Organization",
        "LocalBusiness",
        "Place",
        "GovernmentOrganization",
        "NGO",
        "CivicStructure",
        "GovernmentOffice",
        "MedicalOrganization",
        "MedicalClinic",
        "Physician",
        "LegalService",
        "CommunityHealth",
        "EducationalOrganization",
        "Library",
        "ProfessionalService",
    }
)
# lxml refuses a str that declares its encoding; XHTML pages often start with one.
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_DAYS = {
    "monday": "Mo",
    "tuesday": "Tu",
    "wednesday": "We",
    "thursday": "Th",
    "friday": "Fr",
    "saturday": "Sa",
    "sunday": "Su",
    "publicholidays": "PH",
}


def extract_services(html: str, page_url: str) -> list[RawFields]:
    """Services described by schema.org data in `html`, as found (no cleaning). A page with a
    Service gives its services; a page with only an organisation or place gives that."""
    try:
        document = lxml.html.document_fromstring(_XML_DECLARATION.sub("", html, count=1))
    except etree.ParserError:  # an empty document or only a comment
        return []
    items = [*_json_ld_items(document, page_url), *_microdata_items(document), *_rdfa_items(document)]
    # Nodes by @id, so that a reference ({"@id": ...}) reads as the node it names.
    index = {n["@id"]: n for n in _all_nodes(items) if isinstance(n.get("@id"), str) and len(n) > 1}
    services = [i for i in items if _types(i) & SERVICE_TYPES]
    chosen = services or [i for i in items if _types(i) & ORGANIZATION_TYPES]
    key = page_key(page_url)
    records: list[RawFields] = []
    for item in chosen:
        fields = _fields(item, index)
        # The same service told twice on one page (JSON-LD beside microdata, or a template
        # that repeats a block) is one service; the dedup stage keeps one source's entries apart.
        if fields.service_name and all(fields != r.model_copy(update={"key": None}) for r in records):
            fields.key = key if not records else f"{key}#{len(records) + 1}"
            records.append(fields)
    return records


def _json_ld_items(document, url: str) -> Iterator[dict]:
    for script in document.xpath('//script[@type="application/ld+json"]'):
        text = (script.text or "").strip()
        if not text:
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ExtractionError(url, f"broken JSON-LD ({exc.msg} at line {exc.lineno})") from None
        for node in data if isinstance(data, list) else [data]:
            if isinstance(node, dict) and isinstance(node.get("@graph"), list):
                yield from (n for n in node["@graph"] if isinstance(n, dict))
            elif isinstance(node, dict):
                yield node


def _microdata_items(document) -> Iterator[dict]:
    for element in document.xpath("//*[@itemscope and not(@itemprop)]"):
        yield _microdata_item(element)


def _microdata_item(element) -> dict:
    """An itemscope as a JSON-LD-like dict: its type and every itemprop below it, not crossing
    into nested items (which become nested dicts)."""
    item: dict = {"@type": [t.rsplit("/", 1)[-1] for t in (element.get("itemtype") or "").split()]}
    for prop_element in _props_of(element, "itemprop", "itemscope"):
        value = _microdata_value(prop_element)
        for name in prop_element.get("itemprop").split():
            _add_value(item, name, value)
    return item


def _props_of(element, property_attribute: str, scope_attribute: str) -> Iterator:
    """The property elements of one item, not crossing into nested items (microdata's
    itemprop/itemscope, RDFa's property/typeof)."""
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if child.get(property_attribute) is not None:
            yield child
        if child.get(scope_attribute) is None:
            yield from _props_of(child, property_attribute, scope_attribute)


def _add_value(item: dict, name: str, value: object) -> None:
    """Set a property; a repeated one becomes a list, as in JSON-LD."""
    if name in item:
        existing = item[name] if isinstance(item[name], list) else [item[name]]
        item[name] = [*existing, value]
    else:
        item[name] = value


def _microdata_value(element) -> object:
    if element.get("itemscope") is not None:
        return _microdata_item(element)
    tag = element.tag
    if tag == "meta":
        return element.get("content", "")
    if tag in ("a", "link", "area") and element.get("href"):
        return element.get("href")
    if tag in ("img", "audio", "video", "source", "iframe", "embed") and element.get("src"):
        return element.get("src")
    if tag in ("data", "meter") and element.get("value"):
        return element.get("value")
    if tag == "time" and element.get("datetime"):
        return element.get("datetime")
    if element.get("content") is not None:
        return element.get("content")
    return visible_text(element)


# RDFa's initial context: 'schema:' works without a prefix declaration.
_RDFA_DEFAULT_PREFIXES = {"schema": "http://schema.org/"}


def _rdfa_items(document) -> Iterator[dict]:
    """Top-level RDFa resources (`typeof` not under a `property`) with a schema.org type."""
    for element in document.xpath("//*[@typeof and not(@property)]"):
        item = _rdfa_item(element)
        if item["@type"]:
            yield item


def _rdfa_item(element) -> dict:
    """A `typeof` element as a JSON-LD-like dict, as `_microdata_item` does for an itemscope;
    terms outside schema.org (another vocab or prefix) are left out."""
    vocab, prefixes = _rdfa_context(element)
    types = [_rdfa_term(t, vocab, prefixes) for t in element.get("typeof").split()]
    item: dict = {"@type": [t for t in types if t]}
    if identifier := element.get("resource") or element.get("about"):
        item["@id"] = identifier
    for prop_element in _props_of(element, "property", "typeof"):
        value = _rdfa_value(prop_element)
        prop_vocab, prop_prefixes = _rdfa_context(prop_element)
        for term in prop_element.get("property").split():
            name = _rdfa_term(term, prop_vocab, prop_prefixes)
            if name is not None:
                _add_value(item, name, value)
    return item


def _rdfa_value(element) -> object:
    """RDFa Lite's value of a `property`: a nested resource, `content`, a link, or the text."""
    if element.get("typeof") is not None:
        return _rdfa_item(element)
    if element.get("content") is not None:
        return element.get("content")
    if element.get("resource"):
        return {"@id": element.get("resource")}  # a reference, read through the @id index
    for attribute in ("href", "src"):
        if element.get(attribute):
            return element.get(attribute)
    if element.tag == "time" and element.get("datetime"):
        return element.get("datetime")
    return visible_text(element)


def _rdfa_context(element) -> tuple[str | None, dict[str, str]]:
    """The `vocab` and `prefix` declarations in force at `element` (the nearest wins)."""
    vocab, prefixes = None, dict(_RDFA_DEFAULT_PREFIXES)
    declared: list[dict[str, str]] = []
    for ancestor in element.iterancestors():
        vocab = vocab or ancestor.get("vocab")
        declared.append(_prefix_map(ancestor.get("prefix")))
    vocab = element.get("vocab") or vocab
    for mapping in reversed(declared):
        prefixes.update(mapping)
    prefixes.update(_prefix_map(element.get("prefix")))
    return vocab, prefixes


def _prefix_map(declaration: str | None) -> dict[str, str]:
    """'schema: https://schema.org/ dc: http://purl.org/dc/terms/' as {prefix: IRI}."""
    parts = (declaration or "").split()
    return {
        name.rstrip(":"): iri
        for name, iri in zip(parts[::2], parts[1::2], strict=False)
        if name.endswith(":")
    }


def _rdfa_term(term: str, vocab: str | None, prefixes: dict[str, str]) -> str | None:
    """'Service' under a schema.org vocab, 'schema:Service' or 'https://schema.org/Service' as
    'Service'; None for a term of another vocabulary."""
    if "://" in term:
        base, _, name = term.rpartition("/")
        return name if _is_schema_org(base + "/") else None
    if ":" in term:
        prefix, _, name = term.partition(":")
        return name if _is_schema_org(prefixes.get(prefix)) else None
    return term if _is_schema_org(vocab) else None


def _is_schema_org(iri: str | None) -> bool:
    return iri is not None and iri.split("://", 1)[-1].removeprefix("www.").rstrip("/") == "schema.org"


def _types(node: dict) -> set[str]:
    value = node.get("@type")
    names = value if isinstance(value, list) else [value]
    return {n.rsplit("/", 1)[-1].rsplit(":", 1)[-1] for n in names if isinstance(n, str)}


def _all_nodes(value: object) -> Iterator[dict]:
    if isinstance(value, dict):
        yield value
        for child in value.values():
            yield from _all_nodes(child)
    elif isinstance(value, list):
        for child in value:
            yield from _all_nodes(child)


def _get(node: dict, path: str, index: dict[str, dict]) -> list:
    """Every value at a dotted path, through lists and @id references."""
    values: list = [node]
    for step in path.split("."):
        found: list = []
        for value in values:
            if isinstance(value, dict):
                if set(value) == {"@id"} and value["@id"] in index:
                    value = index[value["@id"]]
                child = value.get(step)
                found.extend(child if isinstance(child, list) else [child])
        values = [
            index.get(v["@id"], v) if isinstance(v, dict) and set(v) == {"@id"} else v
            for v in found
            if v is not None
        ]
    return values


def _texts(node: dict, paths: tuple[str, ...], index: dict[str, dict]) -> list[str]:
    out: list[str] = []
    for path in paths:
        for value in _get(node, path, index):
            if isinstance(value, dict):
                value = value.get("name") or value.get("@value")
            if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                out.append(str(value))
    return list(dict.fromkeys(squash_all(out)))


def _nearest(node: dict, paths: tuple[str, ...], index: dict[str, dict]) -> list[str]:
    """The values of the first path that has any: a service's own phone before its provider's."""
    for path in paths:
        if texts := _texts(node, (path,), index):
            return texts
    return []


def _first(node: dict, paths: tuple[str, ...], index: dict[str, dict]) -> str | None:
    texts = _texts(node, paths, index)
    return texts[0] if texts else None


_PLACES = ("", "serviceLocation.", "availableChannel.serviceLocation.", "location.", "provider.")
_PHONE_PATHS = ("telephone", "availableChannel.servicePhone.telephone", "contactPoint.telephone") + tuple(
    p + "telephone" for p in _PLACES[1:]
)
_EMAIL_PATHS = ("email", "contactPoint.email", "availableChannel.servicePhone.email") + tuple(
    p + "email" for p in _PLACES[1:]
)


def _fields(node: dict, index: dict[str, dict]) -> RawFields:
    is_service = bool(_types(node) & SERVICE_TYPES)
    address = next(
        (a for prefix in _PLACES for a in _get(node, prefix + "address", index) if a not in ("", None)), None
    )
    geo = next(
        (g for prefix in _PLACES for g in _get(node, prefix + "geo", index) if isinstance(g, dict)), {}
    )
    if isinstance(address, dict):
        address_lines = squash_all([_as_text(address.get("streetAddress"))])
        postcode, city = (
            squash(_as_text(address.get("postalCode"))),
            squash(_as_text(address.get("addressLocality"))),
        )
    else:
        address_lines, postcode, city = squash_all([_as_text(address)]), None, None
    organization_paths = ("provider", "serviceOperator", "broker") if is_service else ("parentOrganization",)
    return RawFields(
        service_name=_first(node, ("name",), index),
        organization_name=_first(node, organization_paths, index),
        description=_first(node, ("description",), index),
        address_lines=address_lines,
        postcode=postcode,
        city=city,
        phones=_nearest(node, _PHONE_PATHS, index),
        emails=_nearest(node, _EMAIL_PATHS, index),
        website=_first(node, ("url", "availableChannel.serviceUrl", "provider.url"), index),
        opening_hours=_opening_hours(node, index),
        audience=_first(node, ("audience.audienceType", "audience"), index),
        categories=_texts(node, ("serviceType", "category"), index),
        latitude=squash(_as_text(geo.get("latitude"))),
        longitude=squash(_as_text(geo.get("longitude"))),
        language=_first(node, ("inLanguage", "availableChannel.availableLanguage"), index),
    )


def _opening_hours(node: dict, index: dict[str, dict]) -> list[str]:
    """'Mo,Tu 09:00-12:00' for each OpeningHoursSpecification; `openingHours` strings as written."""
    hours: list[str] = []
    for prefix in _PLACES[:-1]:
        for spec_path in ("hoursAvailable", "openingHoursSpecification"):
            hours.extend(_spec_text(s) for s in _get(node, prefix + spec_path, index) if isinstance(s, dict))
        hours.extend(_texts(node, (prefix + "openingHours",), index))
    return list(dict.fromkeys(squash_all(hours)))


def _spec_text(spec: dict) -> str:
    days = spec.get("dayOfWeek")
    names = [
        _DAYS.get(str(d).rsplit("/", 1)[-1].lower(), str(d))
        for d in (days if isinstance(days, list) else [days])
        if d
    ]
    opens, closes = _as_text(spec.get("opens")), _as_text(spec.get("closes"))
    times = f"{opens}-{closes}" if opens and closes else (opens or closes or "")
    return " ".join(p for p in (",".join(names), times) if p)


def _as_text(value: object) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("@value") or value.get("name")
    return None if value is None or isinstance(value, bool) else str(value)
