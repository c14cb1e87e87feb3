"""'Meld een fout': a professional's report that a service's details are wrong.

Reports live in their own table, beside the directory and never in it: a report is a claim
for an operator to check, not a correction. Each is validated, length-limited and
rate-limited per client, counted in the database so that every server worker shares the limit.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, func, select
from sqlmodel import Field, SQLModel

from servicemap.publish import current_version, directory_engine, read_service
from servicemap.publish.tables import UTCDateTime
from servicemap.reporting import markdown_table

MIN_MESSAGE = 10
MAX_MESSAGE = 2000
MAX_CONTACT = 200
REPORTS_PER_HOUR = 5
EXCERPT_LENGTH = 120
QUEUE_ROWS = 50
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_EMAIL_IN_TEXT = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Markdown that could turn a reporter's text into a link, an image or HTML in Dagster's UI.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>!#])")


class InvalidReport(ValueError):
    """A report that cannot be stored as sent; the message, in Dutch, is shown on the form."""


class TooManyReports(RuntimeError):
    """A client that sent more reports in the last hour than a person plausibly writes."""


class ProblemReport(SQLModel, table=True):
    __tablename__ = "problem_report"

    id: str = Field(primary_key=True)
    service_id: str = Field(index=True)
    service_name: str
    directory_version_id: str
    message: str = Field(max_length=MAX_MESSAGE)
    contact: str | None = Field(default=None, max_length=MAX_CONTACT)
    # A hash, not the address: enough to rate-limit, nothing to identify the reporter by.
    client_hash: str = Field(index=True)
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    status: str = "nieuw"


def _checked(message: str, contact: str) -> tuple[str, str | None]:
    message = message.strip()
    contact = contact.strip()
    problems = []
    if len(message) < MIN_MESSAGE:
        problems.append(f"Beschrijf de fout in minstens {MIN_MESSAGE} tekens (nu {len(message)}).")
    if len(message) > MAX_MESSAGE:
        problems.append(f"Het bericht is {len(message)} tekens lang; er passen er {MAX_MESSAGE}.")
    if len(contact) > MAX_CONTACT:
        problems.append(f"Het e-mailadres is {len(contact)} tekens lang; er passen er {MAX_CONTACT}.")
    elif contact and not _EMAIL.match(contact):
        problems.append(
            f"{contact!r} is geen e-mailadres (bijv. naam@praktijk.nl); "
            "laat het leeg als u geen antwoord wilt."
        )
    if problems:
        raise InvalidReport(" ".join(problems))
    return message, contact or None


def submit_report(
    url: str, service_id: str, message: str, contact: str = "", client: str = "", now: datetime | None = None
) -> ProblemReport:
    """Store a report on a service of the current directory; the directory itself is untouched.

    Raises ServiceNotFound for an unknown service, InvalidReport for a bad form and
    TooManyReports when `client` already sent REPORTS_PER_HOUR reports in the hour before `now`.
    """
    message, contact_value = _checked(message, contact)
    service = read_service(url, service_id)
    version = current_version(url)
    now = now or datetime.now(UTC)
    client_hash = hashlib.sha256(client.encode()).hexdigest()
    engine = directory_engine(url)
    ProblemReport.__table__.create(engine, checkfirst=True)
    with engine.begin() as connection:
        table = ProblemReport.__table__
        recent = connection.execute(
            select(func.count())
            .select_from(table)
            .where(table.c.client_hash == client_hash, table.c.received_at > now - timedelta(hours=1))
        ).scalar_one()
        if recent >= REPORTS_PER_HOUR:
            raise TooManyReports(
                f"U heeft het afgelopen uur al {recent} meldingen gestuurd; probeer het later opnieuw."
            )
        report = ProblemReport(
            id=str(uuid.uuid4()),
            service_id=service.id,
            service_name=service.name,
            directory_version_id=version.id,
            message=message,
            contact=contact_value,
            client_hash=client_hash,
            received_at=now,
        )
        connection.execute(table.insert().values(**report.model_dump()))
    return report


def list_reports(url: str, status: str | None = "nieuw") -> list[ProblemReport]:
    """The review queue: reports with `status` (all when None), oldest first."""
    engine = directory_engine(url)
    ProblemReport.__table__.create(engine, checkfirst=True)
    table = ProblemReport.__table__
    query = select(table).order_by(table.c.received_at)
    if status is not None:
        query = query.where(table.c.status == status)
    with engine.connect() as connection:
        return [ProblemReport.model_validate(dict(row)) for row in connection.execute(query).mappings()]


def excerpt(message: str, length: int = EXCERPT_LENGTH) -> str:
    """The message on one line, cut at `length`, with any e-mail address in it masked: the
    review queue shows what is wrong, not who wrote it ('mail piet@x.nl' -> 'mail [e-mailadres]')."""
    text = _EMAIL_IN_TEXT.sub("[e-mailadres]", " ".join(message.split()))
    if len(text) > length:
        text = text[:length].rsplit(" ", 1)[0] + " …"
    return text


def _as_text(value: str) -> str:
    """`value` shown as written in Dagster's markdown, never as a link, image or HTML."""
    return _MARKDOWN.sub(r"\\\1", value)


def review_queue_markdown(reports: list[ProblemReport], rows: int = QUEUE_ROWS) -> str:
    """The newest `rows` reports as a table: when, which service, what is wrong. The reporter's
    address and client hash are left out; an operator opens the report itself to answer."""
    newest = sorted(reports, key=lambda r: r.received_at, reverse=True)
    table = markdown_table(
        ["received (UTC)", "service", "service id", "message"],
        [
            (
                r.received_at.strftime("%Y-%m-%d %H:%M"),
                _as_text(r.service_name),
                r.service_id,
                _as_text(excerpt(r.message)),
            )
            for r in newest[:rows]
        ],
        empty="no open reports",
    )
    if len(newest) > rows:
        table += f"\n\n{len(newest) - rows} older reports are not shown."
    return table
