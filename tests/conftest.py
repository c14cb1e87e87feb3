"""Shared fixtures: a directory database on SQLite and PostgreSQL, and a few realistic,
fictional Dutch services (the municipalities Brederwijk and Lindeloo do not exist)."""

from __future__ import annotations

import os

os.environ.setdefault("COLUMNS", "160")  # the CLI's tables as on a wide terminal, not folded at 80

import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import psycopg
import pytest
import yaml
from sqlmodel import SQLModel

from pipelines.resources import ServicemapSettings
from pipelines.run import run_pipeline
from servicemap.demo.server import render_sources, serve_region
from servicemap.evaluation import load_ground_truth
from servicemap.publish import DIRECTORY_TABLES, create_schema, engine_for, publish_directory, read_services
from servicemap.publish.search_index import SEARCH_TABLE
from servicemap.records import Address, ClassifiedService, Label, Phone, ScheduleRow, SourceRef
from tests.sitesserver import closed_port

POSTGRES_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/test"
# The tests drop and create the directory's tables: each pytest-xdist worker has a database.
POSTGRES_TEST_DATABASE = (
    f"test_{os.environ['PYTEST_XDIST_WORKER']}" if "PYTEST_XDIST_WORKER" in os.environ else "test"
)
POSTGRES_TEST_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{POSTGRES_TEST_DATABASE}"
FETCHED_AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

DOMAIN_LABELS = {
    "finances": "Financiën",
    "housing": "Wonen",
    "family_and_caregiving": "Gezin, relaties en mantelzorg",
    "social_participation": "Meedoen en sociaal netwerk",
    "daily_living": "Dagelijks leven en zelfredzaamheid",
    "legal_and_safety": "Recht en veiligheid",
}
AUDIENCE_LABELS = {"adults": "Volwassenen", "caregivers": "Mantelzorgers", "elderly": "Ouderen"}


def service_id(name: str) -> str:
    """The id the dedup stage would have given: a UUID, stable for a name in these tests."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://test.servicemap.nl/{name}"))


def build_service(
    name: str,
    organization: str,
    municipality: str,
    description: str,
    domains: list[str],
    audiences: list[str] = (),
    *,
    street: str = "Kerkstraat",
    house_number: str = "1",
    postcode: str = "9999 AA",
    phone: str = "+31300000100",
    source_id: str | None = None,
) -> ClassifiedService:
    source = source_id or f"{municipality.lower()}-sociaal"
    slug = name.lower().replace(" ", "-")
    page = f"https://www.{municipality.lower()}.example.nl/{slug}"
    return ClassifiedService(
        id=service_id(name),
        name=name,
        organization=organization,
        description=description,
        address=Address(
            street=street,
            house_number=house_number,
            postcode=postcode,
            city=municipality,
            municipality=municipality,
        ),
        phones=[Phone(number=phone, kind="voice", label="Algemeen")],
        emails=[f"info@{municipality.lower()}.example.nl"],
        website=page,
        schedules=[
            ScheduleRow(weekday="MO", opens_at="09:00", closes_at="12:00"),
            ScheduleRow(note="Op afspraak ook 's avonds"),
        ],
        municipality=municipality,
        language="nl",
        categories=["Zorg en ondersteuning"],
        members=[SourceRef(record_id=f"{source}:{slug}", source_id=source, url=page, fetched_at=FETCHED_AT)],
        labels=[
            Label(
                taxonomy="life_domain",
                term=d,
                term_label=DOMAIN_LABELS[d],
                confidence=0.9,
                evidence=[f"categorie: {DOMAIN_LABELS[d]}"],
            )
            for d in domains
        ]
        + [
            Label(
                taxonomy="audience",
                term=a,
                term_label=AUDIENCE_LABELS[a],
                confidence=0.8,
                evidence=["voor wie"],
            )
            for a in audiences
        ],
    )


def demo_service_list() -> list[ClassifiedService]:
    return [
        build_service(
            "Schuldhulpverlening",
            "Gemeente Brederwijk",
            "Brederwijk",
            "Heeft u geldzorgen of schulden? Een consulent zoekt samen met u naar een oplossing "
            "en maakt afspraken met schuldeisers.",
            ["finances"],
            ["adults"],
            phone="+31300000101",
        ),
        build_service(
            "Thuisadministratie",
            "Stichting Geldwijs Brederwijk",
            "Brederwijk",
            "Een vrijwillige budgetcoach helpt u thuis met post en rekeningen, ook na schuldhulp "
            "of een traject bij de kredietbank.",
            ["finances", "daily_living"],
            ["adults", "elderly"],
            street="Molenweg",
            house_number="14",
            phone="+31300000102",
        ),
        build_service(
            "Steunpunt Mantelzorg",
            "Welzijn Lindeloo",
            "Lindeloo",
            "Informatie, advies en respijtzorg voor mantelzorgers die zorgen voor een naaste.",
            ["family_and_caregiving"],
            ["caregivers"],
            street="Dorpsplein",
            house_number="3",
            postcode="9998 BB",
            phone="+31300000103",
        ),
        build_service(
            "Maatjesproject Samen Op Pad",
            "Welzijn Lindeloo",
            "Lindeloo",
            "Voelt u zich eenzaam? Een vrijwilliger komt wekelijks op bezoek of gaat met u wandelen.",
            ["social_participation"],
            ["elderly"],
            street="Dorpsplein",
            house_number="3",
            postcode="9998 BB",
            phone="+31300000104",
        ),
        build_service(
            "Wijkteam Brederwijk-Noord",
            "Gemeente Brederwijk",
            "Brederwijk",
            "Het wijkteam helpt bij vragen over zorg, wonen, opvoeding en geld.",
            ["daily_living", "housing"],
            ["adults"],
            street="Stationsstraat",
            house_number="40",
            phone="+31300000105",
        ),
        build_service(
            "Juridisch Spreekuur",
            "Sociaal Raadslieden Lindeloo",
            "Lindeloo",
            "Gratis advies over huur, uitkeringen, boetes en brieven van instanties.",
            ["legal_and_safety"],
            ["adults"],
            street="Dorpsplein",
            house_number="5",
            postcode="9998 BB",
            phone="+31300000106",
        ),
    ]


@pytest.fixture(autouse=True)
def no_shared_dagster_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """`dg.instance_for_test` (the session's demo run) exports DAGSTER_HOME; a `servicemap run`
    in a test would inherit it and write into the demo run's instance. Each test starts without
    it, so a CLI run keeps its instance under its own work dir."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)


@pytest.fixture
def demo_services() -> list[ClassifiedService]:
    return demo_service_list()


@pytest.fixture
def make_service() -> Callable[..., ClassifiedService]:
    return build_service


def _postgres_answers() -> bool:
    """Whether the server answers; this worker's test database is created on first use."""
    try:
        with psycopg.connect(POSTGRES_SERVER_URL, connect_timeout=2, autocommit=True) as admin:
            exists = "SELECT 1 FROM pg_database WHERE datname = %s"
            if not admin.execute(exists, (POSTGRES_TEST_DATABASE,)).fetchone():
                admin.execute(f"CREATE DATABASE {POSTGRES_TEST_DATABASE}")
    except psycopg.OperationalError:
        return False
    return True


def _drop_directory(url: str) -> None:
    engine = engine_for(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {SEARCH_TABLE}")
    SQLModel.metadata.drop_all(engine, tables=DIRECTORY_TABLES)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """An empty directory database: SQLite in tmp_path, and PostgreSQL when it answers
    (under CI=true a silent PostgreSQL fails the test rather than skipping it)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'directory.db'}"
        create_schema(engine_for(url))
        yield url
        engine_for(url).dispose()
        return
    if not _postgres_answers():
        message = f"PostgreSQL does not answer at {POSTGRES_TEST_URL} (start it with services-up)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    _drop_directory(POSTGRES_TEST_URL)
    create_schema(engine_for(POSTGRES_TEST_URL))
    yield POSTGRES_TEST_URL
    _drop_directory(POSTGRES_TEST_URL)


@pytest.fixture
def published_db(db_url: str, demo_services: list[ClassifiedService]) -> str:
    """A database with the demo services published as its current version."""
    publish_directory(
        db_url, demo_services, [], run_id="demo-run-1", synonyms=[["eenzaam", "eenzaamheid", "alleen"]]
    )
    return db_url


# --- The whole flow once per test session, shared by every test that reads its result ---

BROKEN_SOURCE = "buurtwijzer-offline"


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """One run of the whole flow over the demo region plus a source whose server is down."""
    work = tmp_path_factory.mktemp("run")
    (work / "dagster").mkdir()
    with serve_region() as base_urls, dg.instance_for_test(temp_dir=str(work / "dagster")) as instance:
        sources = yaml.safe_load(render_sources(base_urls))
        sources["sources"].append(
            {
                "id": BROKEN_SOURCE,
                "organization": "Buurtwijzer Lindewaard",
                "kind": "schema_org",
                "start_urls": [f"http://127.0.0.1:{closed_port()}/"],
            }
        )
        sources_path = work / "sources.yaml"
        sources_path.write_text(yaml.safe_dump(sources, allow_unicode=True), encoding="utf-8")
        # Relative paths, as `servicemap run` gets them from its default `var/`.
        relative = Path(os.path.relpath(work, Path.cwd()))
        settings = ServicemapSettings(
            sources_path=str(relative / "sources.yaml"),
            database_url=f"sqlite:///{relative / 'directory.sqlite'}",
            work_dir=str(relative),
        )
        summary = run_pipeline(settings, instance)
        yield summary, settings, instance


@pytest.fixture(scope="session")
def truth_of_service(demo_run):
    """Published service id -> the ground-truth service most of its records describe."""
    _, settings, _ = demo_run
    truth_of_record = {
        f"{r['source_id']}:{r['key']}": service["id"]
        for service in load_ground_truth()["services"]
        for r in service["records"]
    }
    mapping = {}
    for service in read_services(settings.database_url):
        votes = Counter(truth_of_record.get(m.record_id) for m in service.members)
        mapping[service.id] = votes.most_common(1)[0][0]
    return mapping
