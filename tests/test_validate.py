import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from servicemap.normalize import normalize_records
from servicemap.records import Address, NormalizedRecord, Phone, RawRecord, ScheduleRow
from servicemap.validate import SUITE_PATH, load_suite, records_frame, validate_records

FETCHED_AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def record(key: str, **fields) -> NormalizedRecord:
    values = {
        "record_id": f"brederwijk-sociaal:{key}",
        "source_id": "brederwijk-sociaal",
        "url": f"https://www.brederwijk.example.nl{key}",
        "fetched_at": FETCHED_AT,
        "extraction": "schema_org",
        "name": "Buurtteam Noord",
        "phones": [Phone(number="+31301234567", kind="landline", label="spreekuur")],
        "language": "nl",
    }
    values.update(fields)
    return NormalizedRecord(**values)


GOOD = [
    record("/buurtteam"),
    record(
        "/taalcafe",
        name="Taalcafé",
        phones=[],
        emails=["info@taalcafe.example.nl"],
        website="https://www.taalcafe.example.nl/",
        address=Address(street="Kerkstraat", house_number="14", postcode="3512 KL", city="Brederwijk"),
        schedules=[
            ScheduleRow(weekday="MO", opens_at="09:00", closes_at="17:00"),
            ScheduleRow(note="op afspraak"),
        ],
        latitude=52.09,
        longitude=5.12,
        language="en",
    ),
    record(
        "/crisis", phones=[Phone(number="112", kind="emergency"), Phone(number="+3114030", kind="municipal")]
    ),
    record("/inloop", phones=[], address=Address(street="Dorpsstraat", house_number="1"), language=None),
]

# key, changed fields, the reason it must be rejected with
BAD = [
    ("/onbereikbaar", {"phones": []}, "no phone, email, website or address"),
    ("/alleen-postcode", {"phones": [], "address": Address(postcode="3511 AB")}, "no phone, email, website"),
    ("/kort", {"name": "ab"}, "service name shorter than 3"),
    ("/lang", {"name": "Buurtteam " * 30}, "longer than 200 characters"),
    ("/pagina", {"description": "Tekst. " * 800}, "description longer than 5000"),
    (
        "/postcode",
        {"address": Address(street="Kerkstraat", house_number="1", postcode="3511ab")},
        "postcode not",
    ),
    ("/telefoon", {"phones": [Phone(number="030-1234567", kind="landline")]}, "not in E.164 form"),
    ("/soort", {"phones": [Phone(number="+31301234567", kind="fax")]}, "a phone of an unknown kind"),
    ("/email", {"emails": ["Info@Buurtteam.nl"]}, "email address that is not lowercase"),
    ("/website", {"website": "www.buurtteam.nl"}, "website is not an http(s) address"),
    (
        "/uren",
        {"schedules": [ScheduleRow(weekday="MA", opens_at="9:00", closes_at="17:00")]},
        "opening hours not",
    ),
    ("/taal", {"language": "de"}, "language other than Dutch or English"),
    ("/luxemburg", {"latitude": 49.61, "longitude": 6.13}, "latitude outside the Netherlands"),
    ("/berlijn", {"latitude": 52.52, "longitude": 13.40}, "longitude outside the Netherlands"),
    ("/bron", {"extraction": "pdf"}, "unknown extraction method"),
    ("/url", {"url": "ftp://brederwijk.example.nl/x"}, "page URL is not an http(s) address"),
]


@pytest.fixture(scope="module")
def validation():
    batch = GOOD + [record(key, **fields) for key, fields, _ in BAD]
    batch.append(record("/buurtteam", name="Buurtteam Noord (dubbel)"))  # same record id as GOOD[0]
    return validate_records(batch)


def test_valid_records_are_kept(validation):
    kept = [r.record_id for r in validation.result.kept]
    assert kept == [r.record_id for r in GOOD[1:]]


@pytest.mark.parametrize(("key", "reason"), [(key, reason) for key, _, reason in BAD])
def test_each_failing_record_is_rejected_with_the_reason_of_its_expectation(validation, key, reason):
    [rejection] = [r for r in validation.result.rejected if r.record_id == f"brederwijk-sociaal:{key}"]
    assert rejection.stage == "validate"
    assert reason in rejection.reason
    assert rejection.raw["record_id"] == rejection.record_id


def test_a_record_failing_several_expectations_gets_every_reason():
    [rejection] = validate_records([record("/x", name="ab", phones=[], language="fr")]).result.rejected
    assert rejection.reason.count(";") == 2
    for reason in ("shorter than 3", "language other than", "no phone, email"):
        assert reason in rejection.reason


def test_duplicate_record_ids_are_both_rejected(validation):
    duplicates = [r for r in validation.result.rejected if r.record_id == "brederwijk-sociaal:/buurtteam"]
    assert len(duplicates) == 2
    assert all("appears more than once" in r.reason for r in duplicates)


def test_nothing_is_lost(validation):
    assert len(validation.result.kept) + len(validation.result.rejected) == len(GOOD) + len(BAD) + 1
    assert validation.statistics["records"] == len(GOOD) + len(BAD) + 1
    assert validation.statistics["rejected"] == len(BAD) + 2


def test_outcomes_count_failing_records_per_expectation(validation):
    outcomes = {o.name: o for o in validation.expectations}
    assert len(outcomes) == len(load_suite()["expectations"])
    assert {o.element_count for o in validation.expectations} == {len(GOOD) + len(BAD) + 1}
    assert outcomes["expect_column_values_to_be_between(contact_channels)"].unexpected_count == 2
    assert outcomes["expect_column_values_to_be_between(contact_channels)"].success is False
    assert outcomes["expect_column_values_to_not_be_null(record_id)"].success is True
    assert (
        "| expect_column_values_to_be_in_set(language) | **no** | 1 |" in validation.expectations_markdown()
    )


def test_every_expectation_explains_itself_to_an_operator():
    suite = json.loads(SUITE_PATH.read_text(encoding="utf-8"))
    assert all(len(e["meta"]["reason"]) > 20 for e in suite["expectations"])


def test_contact_channels_count_a_street_address_but_not_a_postcode_alone():
    frame = records_frame(
        [
            record("/a", emails=["a@b.nl"], website="https://b.nl/"),
            record("/b", phones=[], address=Address(postcode="3511 AB")),
            record("/c", phones=[], address=Address(street="Kerkstraat", house_number="1")),
        ]
    )
    assert frame["contact_channels"].tolist() == [3, 0, 1]
    assert frame["phones"].tolist()[0] == "+31301234567"


def test_without_a_directory_no_data_docs_are_promised():
    assert validate_records(GOOD[:1]).data_docs_index is None


def test_an_empty_batch_passes():
    validation = validate_records([])
    assert validation.result.kept == [] and validation.result.rejected == []
    assert all(o.success for o in validation.expectations)


def test_data_docs_are_written_when_asked(tmp_path):
    validation = validate_records(GOOD[:1] + [record("/x", phones=[])], data_docs_dir=tmp_path)
    assert len(validation.result.rejected) == 1
    assert validation.data_docs_index == tmp_path / "index.html"
    assert "normalized_records" in validation.data_docs_index.read_text(encoding="utf-8")
    pages = list((tmp_path / "validations").rglob("*.html"))
    assert pages and "contact_channels" in pages[0].read_text(encoding="utf-8")


def test_normalize_then_validate_accounts_for_every_crawled_record():
    def raw(key: str, **fields) -> RawRecord:
        return RawRecord(
            source_id="lindeloo-welzijn",
            key=key,
            url=f"https://www.lindeloo.example.nl{key}",
            fetched_at=FETCHED_AT,
            extraction="html",
            **fields,
        )

    crawled = [
        raw(
            "/maatje", service_name="Maatjesproject", phones=["0317-412345"], address_lines=["Dorpsstraat 1"]
        ),
        raw("/taal", service_name="Taalcafé", emails=["mailto:Taal@Lindeloo.example.nl"]),
        raw("/lees-meer", service_name="Lees meer »", phones=["0317-412345"]),
        raw("/alleen-naam", service_name="Inloopochtend"),
        raw("/kapot-nummer", service_name="Klusdienst", phones=["12345"]),
        raw(
            "/berlijn",
            service_name="Repair café",
            website="repair.example.nl",
            latitude="52.52",
            longitude="13.40",
        ),
        raw("/hele-pagina", service_name="Welkom " * 60, phones=["0317-412345"]),
    ]
    normalized = normalize_records(crawled)
    validation = validate_records(normalized.kept)
    rejected = {r.record_id.split(":")[1]: r for r in normalized.rejected + validation.result.rejected}
    assert [r.record_id.split(":")[1] for r in validation.result.kept] == ["/maatje", "/taal"]
    assert rejected["/lees-meer"].stage == "normalize"
    assert "no phone, email, website or address" in rejected["/alleen-naam"].reason
    assert "no phone, email, website or address" in rejected["/kapot-nummer"].reason
    assert "'12345' is not a Dutch phone number" in rejected["/kapot-nummer"].raw["extra"]["dropped"]
    assert "longitude outside the Netherlands" in rejected["/berlijn"].reason
    assert "longer than 200 characters" in rejected["/hele-pagina"].reason
    assert len(validation.result.kept) + len(rejected) == len(crawled)


def test_data_docs_land_under_a_relative_directory_too(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the pipeline passes its work dir as written, e.g. var/gx/<source>
    validation = validate_records(GOOD[:1], data_docs_dir=Path("var/gx/brederwijk"))
    assert validation.data_docs_index == tmp_path / "var/gx/brederwijk/index.html"
    assert validation.data_docs_index.is_file()
