"""Open Referral HSDS 3.x API: the paged `/services` list and each full `/services/{id}`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from servicemap.extract.base import ExtractionError, squash, squash_all
from servicemap.records import RawFields

_DAYS = {"MO": "Mo", "TU": "Tu", "WE": "We", "TH": "Th", "FR": "Fr", "SA": "Sa", "SU": "Su"}


@dataclass(frozen=True)
class ServiceListPage:
    """One page of `/services`: the full services to fetch, and the next page if any."""

    service_urls: list[str]
    next_url: str | None


def parse_service_list(body: str, url: str) -> ServiceListPage:
    """The services on one list page and the next page's URL (from page_number/total_pages)."""
    data = _load(body, url)
    contents = data.get("contents") if isinstance(data, dict) else None
    if not isinstance(contents, list):
        raise ExtractionError(url, "not an HSDS service list: no 'contents' array")
    parts = urlsplit(url)
    base = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + "/", "", ""))
    ids = [str(item["id"]) for item in contents if isinstance(item, dict) and item.get("id")]
    if len(ids) != len(contents):
        raise ExtractionError(url, "an entry of 'contents' has no 'id'")
    page, pages = data.get("page_number"), data.get("total_pages")
    next_url = None
    if isinstance(page, int) and isinstance(pages, int) and page < pages:
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        query["page"] = str(page + 1)
        next_url = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))
    return ServiceListPage([urljoin(base, i) for i in ids], next_url)


def extract_service(body: str, url: str) -> list[RawFields]:
    """One full HSDS service as found: its first location gives the address and coordinates."""
    data = _load(body, url)
    if not isinstance(data, dict) or not data.get("id") or not squash(_str(data.get("name"))):
        raise ExtractionError(url, "not an HSDS service: 'id' or 'name' missing")
    organization = data.get("organization") if isinstance(data.get("organization"), dict) else {}
    location = _first_location(data)
    address = _first(location.get("addresses")) or _first(data.get("addresses")) or {}
    phones = _list(data.get("phones")) + _list(location.get("phones"))
    schedules = _list(data.get("schedules")) or _list(location.get("schedules"))
    for link in _list(data.get("service_at_locations")):
        schedules = schedules or _list(link.get("schedules"))
    return [
        RawFields(
            key=str(data["id"]),
            service_name=squash(_str(data.get("name"))),
            organization_name=squash(_str(organization.get("name"))),
            description=squash(_str(data.get("description"))),
            address_lines=squash_all([_str(address.get("address_1")), _str(address.get("address_2"))]),
            postcode=squash(_str(address.get("postal_code"))),
            city=squash(_str(address.get("city"))),
            phones=squash_all([_str(p.get("number")) for p in phones]),
            emails=squash_all([_str(data.get("email"))]),
            website=squash(_str(data.get("url"))),
            opening_hours=squash_all([_schedule_text(s) for s in schedules]),
            audience=squash(_str(data.get("eligibility_description"))),
            categories=squash_all([_term_name(a) for a in _list(data.get("attributes"))]),
            latitude=squash(_str(location.get("latitude"))),
            longitude=squash(_str(location.get("longitude"))),
            language=", ".join(
                squash_all(
                    [_str(lang.get("code") or lang.get("name")) for lang in _list(data.get("languages"))]
                )
            )
            or None,
        )
    ]


def _load(body: str, url: str) -> object:
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise ExtractionError(url, f"not JSON ({exc})") from None


def _str(value: object) -> str | None:
    return None if value is None or isinstance(value, (dict, list)) else str(value)


def _list(value: object) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _first(value: object) -> dict | None:
    items = _list(value)
    return items[0] if items else None


def _first_location(service: dict) -> dict:
    for link in _list(service.get("service_at_locations")):
        if isinstance(link.get("location"), dict):
            return link["location"]
    return _first(service.get("locations")) or {}


def _schedule_text(schedule: dict) -> str | None:
    """'Mo,Tu 09:00-17:00' from byday/opens_at/closes_at, else the schedule's own description."""
    days = _str(schedule.get("byday"))
    opens, closes = _str(schedule.get("opens_at")), _str(schedule.get("closes_at"))
    if days and opens and closes:
        named = ",".join(_DAYS.get(d.strip().upper(), d.strip()) for d in days.split(","))
        return f"{named} {opens}-{closes}"
    return _str(schedule.get("description")) or _str(schedule.get("notes"))


def _term_name(attribute: dict) -> str | None:
    term = attribute.get("taxonomy_term")
    if isinstance(term, dict):
        return _str(term.get("name") or term.get("term") or term.get("code"))
    return _str(attribute.get("value"))
