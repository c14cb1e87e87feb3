"""Samenwerkende Catalogi (Logius SC 4.x): a municipality's product feed, or the national SC
search service's SRU response that wraps the same `scproduct` elements."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from xml.etree.ElementTree import Element, ParseError

import lxml.html
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from servicemap.extract.base import ExtractionError, squash, squash_all, visible_text
from servicemap.records import RawFields
from servicemap.urls import page_key

DC = "{http://purl.org/dc/terms/}"
OVERHEID = "{http://standaarden.overheid.nl/owms/terms/}"
PRODUCT = "{http://standaarden.overheid.nl/product/terms/}"
SRU = "{http://www.loc.gov/zing/srw/}"
RESOURCE_ID = "resourceIdentifier"

# A Dutch number ('030 - 286 00 00', '+31 30 2860000', '0900-1234') or a municipality's
# 14 + area code number ('14 0123'); dots are left out so that '08.30 - 17.00' is no phone.
_PHONE = re.compile(r"(?<![\w+])(?:(?:\+31|0031|0)[\d ()-]{6,14}\d|14 ?0\d{2,3})(?![\w])")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_POSTCODE_LINE = re.compile(r"\b[1-9]\d{3}\s?[A-Za-z]{2}\b")
_STREET_LINE = re.compile(r"^[A-Za-zÀ-ÿ' .-]{3,}\s\d+\s?[A-Za-z]?(?:[\s-]\w+)?$")
_HOURS_LINE = re.compile(
    r"\b(maandag|dinsdag|woensdag|donderdag|vrijdag|zaterdag|zondag|ma|di|wo|do|vr|za|zo)\b.*\d{1,2}[.:]\d{2}",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class CatalogPage:
    """The products in one SC document, and the next SRU page's URL if the response has one."""

    products: list[RawFields]
    next_url: str | None


def extract_products(body: str | bytes, url: str) -> CatalogPage:
    """Every `scproduct` in an SC feed or SRU response; the entity-expanding XML tricks are refused."""
    root = _parse(body, url)
    products = [_product(element, url) for element in root.iter(f"{PRODUCT}scproduct")]
    if not products and root.tag != f"{SRU}searchRetrieveResponse":
        raise ExtractionError(url, f"no scproduct found (root element {root.tag!r})")
    return CatalogPage(products, _next_sru_url(root, url))


def _parse(body: str | bytes, url: str) -> Element:
    data = body.encode("utf-8") if isinstance(body, str) else body
    try:
        return fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise ExtractionError(
            url, f"XML refused: it declares entities or external references ({exc})"
        ) from None
    except ParseError as exc:
        raise ExtractionError(url, f"not well-formed XML ({exc})") from None


def _product(element: Element, url: str) -> RawFields:
    identifier = _text(element, f".//{DC}identifier")
    title = _text(element, f".//{DC}title")
    if not identifier or not title:
        raise ExtractionError(url, "an scproduct has no dcterms:identifier or dcterms:title")
    body_text = _product_html_text(element)
    lines = squash_all(body_text.split("\n")) if body_text else []
    upl = element.find(f".//{PRODUCT}uniformeProductnaam")
    extra: dict[str, str] = {}
    if upl is not None and squash(upl.text):
        extra["upl"] = squash(upl.text)
        if upl.get(RESOURCE_ID):
            extra["upl_uri"] = upl.get(RESOURCE_ID).strip()
    modified = _text(element, f".//{DC}modified")
    if modified:
        extra["modified"] = modified
    product_id = _text(element, f".//{PRODUCT}productID")
    if product_id:
        extra["product_id"] = product_id
    postcode_lines = [line for line in lines if _POSTCODE_LINE.search(line)]
    postcode_match = _POSTCODE_LINE.search(postcode_lines[0]) if postcode_lines else None
    return RawFields(
        key=page_key(identifier),
        service_name=title,
        organization_name=_text(element, f".//{OVERHEID}authority"),
        description=_text(element, f".//{DC}abstract") or squash(body_text),
        address_lines=[line for line in lines if _STREET_LINE.match(line)] + postcode_lines[:1],
        postcode=postcode_match.group(0) if postcode_match else None,
        city=squash(postcode_lines[0][postcode_match.end() :]) if postcode_match else None,
        phones=_unique(m.group(0).strip() for m in _PHONE.finditer(body_text)),
        emails=_unique(m.group(0) for m in _EMAIL.finditer(body_text)),
        website=identifier,
        opening_hours=[line for line in lines if _HOURS_LINE.search(line)],
        audience=", ".join(squash_all([a.text for a in element.iter(f"{DC}audience")])) or None,
        categories=[extra["upl"]] if "upl" in extra else [],
        language=_text(element, f".//{DC}language"),
        extra=extra,
    )


def _product_html_text(element: Element) -> str:
    """The text of `productHTML` (escaped HTML or CDATA), one line per block or <br>."""
    html = element.find(f".//{PRODUCT}productHTML")
    if html is None or not (html.text or "").strip():
        return ""
    return visible_text(lxml.html.fragment_fromstring(html.text, create_parent="div"))


def _next_sru_url(root: Element, url: str) -> str | None:
    position = root.find(f"{SRU}nextRecordPosition")
    if position is None or not (position.text or "").strip():
        return None
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query["startRecord"] = position.text.strip()
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def _text(element: Element, path: str) -> str | None:
    found = element.find(path)
    return squash(found.text) if found is not None else None


def _unique(values) -> list[str]:
    return list(dict.fromkeys(values))
