"""A batch with malformed records of several kinds, through every stage to the published
directory without Dagster: each bad record is rejected with its reason, the rest publish,
and the counts add up."""

from datetime import UTC, datetime

from servicemap.classify import classify_services, load_taxonomy
from servicemap.conservation import check_conservation
from servicemap.dedup import deduplicate
from servicemap.normalize import normalize_records
from servicemap.publish import create_schema, engine_for, publish_directory, read_services
from servicemap.records import RawRecord, StageResult
from servicemap.sources import SourceConfig, SourcesFile
from servicemap.validate import validate_records

FETCHED_AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
SOURCES = SourcesFile(
    sources=[
        SourceConfig(
            id="welzijn-vechtmond",
            organization="Stichting Welzijn Vechtmond",
            municipality="Vechtmond",
            kind="schema_org",
            start_urls=["https://www.welzijnvechtmond.example.nl/"],
        )
    ]
)


def raw(key: str, **fields) -> RawRecord:
    return RawRecord(
        source_id="welzijn-vechtmond",
        key=key,
        url=f"https://www.welzijnvechtmond.example.nl{key}",
        fetched_at=FETCHED_AT,
        extraction="schema_org",
        organization_name="Stichting Welzijn Vechtmond",
        **fields,
    )


GOOD = [
    raw(
        "/formulierenhulp",
        service_name="Formulierenhulp",
        description="Vrijwilligers helpen u met formulieren van de Belastingdienst en toeslagen.",
        phones=["0343 - 47 55 20"],
        address_lines=["Dorpsstraat 21", "3562 KB Vechtmond"],
    ),
    raw(
        "/maatjesproject",
        service_name="Maatjesproject",
        description="Een maatje voor wie zich "
        "eenzaam voelt: samen wandelen, koffie drinken of naar de markt.",
        emails=["maatje@welzijnvechtmond.example.nl"],
    ),
    raw(
        "/taalcafe",
        service_name="Taalcafé",
        description="Elke woensdag Nederlands oefenen met "
        "buurtgenoten, voor nieuwkomers en iedereen die wil leren.",
        website="www.taalcafevechtmond.example.nl",
    ),
]
MALFORMED = {
    "/lees-meer": raw("/lees-meer", service_name="Lees meer »", phones=["0343 - 47 55 21"]),
    "/leeg": raw("/leeg", service_name="<p>&nbsp;</p>", description="<div></div>"),
    "/bel-ons": raw("/bel-ons", service_name="Spreekuur jeugdarts", phones=["bel ons"]),
    "/buiten-nederland": raw("/buiten-nederland", service_name="Inloop Oost", phones=["0343 - 47 55 30"],
                             latitude="48.8566", longitude="2.3522"),
}  # fmt: skip


def test_malformed_records_are_rejected_with_their_reason_and_the_rest_publish(tmp_path):
    crawled = GOOD + list(MALFORMED.values())

    normalized = normalize_records(crawled, SOURCES)
    validation = validate_records(normalized.kept)
    kept = validation.result.kept
    rejected = normalized.rejected + validation.result.rejected
    services = classify_services(deduplicate(kept).services, load_taxonomy())
    url = f"sqlite:///{tmp_path / 'directory.db'}"
    create_schema(engine_for(url))
    version = publish_directory(url, services, rejected, run_id="malformed-batch")

    reasons = {r.record_id.split(":", 1)[1]: r.reason for r in rejected}
    assert set(reasons) == set(MALFORMED)
    assert "no service name" in reasons["/lees-meer"] and "no service name" in reasons["/leeg"]
    assert "cannot reach this service" in reasons["/bel-ons"]
    assert "Netherlands" in reasons["/buiten-nederland"]
    assert all(r.raw for r in rejected)  # kept raw, to re-run a fixed stage without re-crawling
    assert sorted(s.name for s in read_services(url)) == ["Formulierenhulp", "Maatjesproject", "Taalcafé"]
    assert (version.services, version.rejected) == (3, 4)
    conservation = check_conservation([r.record_id for r in crawled], services, rejected)
    assert conservation.holds and (conservation.crawled, conservation.published, conservation.rejected) == (
        7,
        3,
        4,
    )


def test_an_empty_batch_passes_through_every_stage():
    normalized = normalize_records([], SOURCES)
    assert normalized == StageResult()
    assert validate_records(normalized.kept).result == StageResult()
    assert deduplicate([]).services == []
