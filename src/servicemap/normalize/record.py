"""The `normalized_records` stage: every raw record in one clean form, or rejected with its reason."""

from __future__ import annotations

from servicemap.normalize.addresses import InvalidAddress, InvalidPostcode, normalize_postcode, parse_address
from servicemap.normalize.contact import (
    InvalidCoordinate,
    InvalidEmail,
    normalize_email,
    normalize_website,
    parse_coordinate,
)
from servicemap.normalize.hours import parse_opening_hours
from servicemap.normalize.phones import InvalidPhone, normalize_phones
from servicemap.normalize.text import clean_name, clean_text, detect_language
from servicemap.records import Address, NormalizedRecord, Phone, RawRecord, Rejection, StageResult
from servicemap.sources import SourceConfig, SourcesFile
from servicemap.urls import InvalidURL

STAGE = "normalize"
NO_NAME = "no service name left after cleaning (only HTML, whitespace or a link text such as 'Lees meer')"


class NotAService(ValueError):
    """A raw record with nothing left that names a service, e.g. a 'Lees meer' link caught as one."""


def normalize_record(raw: RawRecord, source: SourceConfig | None = None) -> NormalizedRecord:
    """`raw` in one clean form. A field that cannot be read is left out and noted in
    `extra['dropped']`; a record without a name raises `NotAService`."""
    name = clean_name(raw.service_name or "")
    if not name:
        raise NotAService(
            f"record {raw.record_id!r}: service name {raw.service_name!r} is empty after cleaning"
        )
    dropped: list[str] = []
    municipality = source.municipality if source else None
    description = clean_text(raw.description or "") or None
    # A page that names no provider is the site owner's own service (sources.yaml names the owner).
    organization = clean_name(raw.organization_name or "") or (source.organization if source else None)
    phones: list[Phone] = []
    for text in raw.phones:
        try:
            phones.extend(p for p in normalize_phones(text) if p.number not in {q.number for q in phones})
        except InvalidPhone as exc:
            dropped.append(f"phone: {exc}")
    emails: list[str] = []
    for text in raw.emails:
        try:
            email = normalize_email(text)
        except InvalidEmail as exc:
            dropped.append(f"email: {exc}")
            continue
        if email not in emails:
            emails.append(email)
    website = None
    if raw.website and raw.website.strip():
        try:
            website = normalize_website(raw.website)
        except InvalidURL as exc:
            dropped.append(f"website: {exc}")
    address = _address(raw, municipality, dropped)
    latitude, longitude = _coordinates(raw, dropped)
    language = detect_language(f"{name}\n{description or ''}") or _declared_language(raw.language)
    extra = dict(raw.extra)
    if dropped:
        extra["dropped"] = "; ".join(filter(None, [extra.get("dropped"), *dropped]))
    return NormalizedRecord(
        record_id=raw.record_id,
        source_id=raw.source_id,
        url=raw.url,
        fetched_at=raw.fetched_at,
        extraction=raw.extraction,
        name=name,
        organization=organization,
        description=description,
        address=address,
        phones=phones,
        emails=emails,
        website=website,
        schedules=[row for text in raw.opening_hours for row in parse_opening_hours(text)],
        audience=clean_text(raw.audience or "") or None,
        categories=list(dict.fromkeys(c for c in (clean_name(c) for c in raw.categories) if c)),
        latitude=latitude,
        longitude=longitude,
        language=language,
        municipality=municipality,
        extra=extra,
    )


def normalize_records(
    records: list[RawRecord], sources: SourcesFile | None = None
) -> StageResult[NormalizedRecord]:
    """Every record kept in clean form or rejected with its reason: kept + rejected == input."""
    by_id = {s.id: s for s in sources.sources} if sources else {}
    result: StageResult[NormalizedRecord] = StageResult()
    for raw in records:
        try:
            result.kept.append(normalize_record(raw, by_id.get(raw.source_id)))
        except NotAService:
            result.rejected.append(
                Rejection(
                    record_id=raw.record_id,
                    source_id=raw.source_id,
                    url=raw.url,
                    stage=STAGE,
                    reason=NO_NAME,
                    raw=raw.model_dump(mode="json"),
                )
            )
    return result


def _address(raw: RawRecord, municipality: str | None, dropped: list[str]) -> Address | None:
    """The visiting address; without a readable street, the postcode and city alone, which
    still place the service for a search by distance."""
    lines = [line for line in raw.address_lines if line and line.strip()]
    address = Address(city=" ".join((raw.city or "").split()) or None, municipality=municipality)
    if lines:
        try:
            address = parse_address(lines, city=raw.city, municipality=municipality)
        except (InvalidAddress, InvalidPostcode) as exc:
            dropped.append(f"address: {exc}")
    if address.postcode is None and raw.postcode and raw.postcode.strip():
        try:
            address.postcode = normalize_postcode(raw.postcode)
        except InvalidPostcode as exc:
            dropped.append(f"postcode: {exc}")
    if address.street is None and address.postcode is None and address.city is None:
        return None
    return address


def _coordinates(raw: RawRecord, dropped: list[str]) -> tuple[float | None, float | None]:
    """Both coordinates or neither: half a position places nothing."""
    if not (raw.latitude or "").strip() and not (raw.longitude or "").strip():
        return None, None
    try:
        return parse_coordinate(raw.latitude or "", "lat"), parse_coordinate(raw.longitude or "", "lon")
    except InvalidCoordinate as exc:
        dropped.append(f"coordinates: {exc}")
        return None, None


def _declared_language(value: str | None) -> str | None:
    """'nl' from the page's own 'nl-NL'; other languages are not ones the directory serves."""
    code = (value or "").strip().lower()[:2]
    return code if code in ("nl", "en") else None
