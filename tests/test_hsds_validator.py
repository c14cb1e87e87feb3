import copy
import csv
import json

import pytest

from servicemap.hsds import export_hsds
from servicemap.hsds.validator import validate_export, validate_service

ORG_ID = "8905df17-5698-5468-88b6-18226f4657e9"
SERVICE_ID = "0e7144e9-21de-52cf-9deb-19bc6b87ddf1"
LOCATION_ID = "20f91528-6c55-5232-8042-0f4b6ef0154a"
TERM_ID = "525c2a3f-2280-5ed4-b090-b73777a65b3d"
TAXONOMY_ID = "4ff5b7df-fe80-5014-80b6-644dc06c44f3"

# A service as a downstream app receives it: fictional, nested the way HSDS 3.0 nests it.
VALID_SERVICE = {
    "id": SERVICE_ID,
    "organization_id": ORG_ID,
    "name": "Schuldhulpverlening",
    "description": "Heeft u geldzorgen of schulden? Een consulent zoekt samen met u naar een oplossing.",
    "url": "https://www.brederwijk.example.nl/schuldhulpverlening",
    "email": "info@brederwijk.example.nl",
    "status": "active",
    "assured_date": "2026-03-02",
    "last_modified": "2026-03-02T09:30:00+00:00",
    "municipality": "Brederwijk",  # an extension: HSDS 3.0 allows fields it does not define
    "organization": {"id": ORG_ID, "name": "Gemeente Brederwijk", "description": ""},
    "phones": [{"id": "1859a306-55e8-596f-9e6f-5f364d0b7433", "number": "+31300000101", "type": "voice"}],
    "schedules": [
        {
            "id": "02c70b2c-8a38-55b8-8393-fda3cd257b27",
            "freq": "WEEKLY",
            "byday": "MO",
            "opens_at": "09:00",
            "closes_at": "12:00",
        }
    ],
    "service_at_locations": [
        {
            "id": "e4326f18-2a28-550d-b166-790f04e3401c",
            "service_id": SERVICE_ID,
            "location_id": LOCATION_ID,
            "location": {
                "id": LOCATION_ID,
                "location_type": "physical",
                "latitude": 52.09,
                "addresses": [
                    {
                        "id": "317f4d1f-d829-56f4-8539-a56416aefee9",
                        "address_1": "Stationsstraat 40",
                        "city": "Brederwijk",
                        "state_province": "",
                        "postal_code": "9999 AA",
                        "country": "NL",
                        "address_type": "physical",
                    }
                ],
            },
        }
    ],
    "attributes": [
        {
            "id": "54fa1cff-687a-5b9c-aafd-97c0a2c0ae97",
            "link_id": SERVICE_ID,
            "link_entity": "service",
            "taxonomy_term_id": TERM_ID,
            "value": "0.900",
            "taxonomy_term": {
                "id": TERM_ID,
                "code": "finances",
                "name": "Financiën",
                "description": "Financiën",
                "taxonomy_detail": {
                    "id": TAXONOMY_ID,
                    "name": "life_domain",
                    "description": "Levensdomeinen",
                },
            },
        }
    ],
    "metadata": [
        {
            "id": "a6a12e7a-b49a-5120-8ce9-0f400e988252",
            "resource_id": SERVICE_ID,
            "resource_type": "service",
            "last_action_date": "2026-03-02",
            "last_action_type": "crawled",
            "field_name": "",
            "previous_value": "",
            "replacement_value": "https://www.brederwijk.example.nl/schuldhulpverlening",
            "updated_by": "gemeente-brederwijk",
        }
    ],
}


def broken(change) -> dict:
    service = copy.deepcopy(VALID_SERVICE)
    change(service)
    return service


def test_a_complete_service_with_an_extension_field_is_valid():
    assert validate_service(VALID_SERVICE) == []


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (lambda s: s.pop("status"), "service.status", "lacks required field 'status'"),
        (
            lambda s: s["service_at_locations"][0]["location"]["addresses"][0].pop("city"),
            "service.service_at_locations[0].location.addresses[0].city",
            "lacks required field 'city'",
        ),
        (
            lambda s: s["phones"][0].update(id="telefoon-1"),
            "service.phones[0].id",
            "'telefoon-1' is not of format",
        ),
        (lambda s: s.update(organization_id="42"), "service.organization_id", "'42' is not of format 'uuid'"),
        (lambda s: s.update(status="open"), "service.status", "'open' is not an allowed value"),
        (
            lambda s: s["schedules"][0].update(freq="DAILY"),
            "service.schedules[0].freq",
            "'DAILY' is not an allowed value",
        ),
        (
            lambda s: s.update(email="info(at)brederwijk.example.nl"),
            "service.email",
            "is not of format 'email'",
        ),
        (lambda s: s.update(url="www.brederwijk.example.nl"), "service.url", "is not of format 'uri'"),
        (lambda s: s.update(organization=[s["organization"]]), "service.organization", "is a list"),
        (lambda s: s.update(phones=s["phones"][0]), "service.phones", "is an object"),
        (lambda s: s.update(description=None), "service.description", "is null"),
        (
            lambda s: s["service_at_locations"][0]["location"].update(latitude="52,09"),
            "service.service_at_locations[0].location.latitude",
            "is str '52,09'",
        ),
        (
            lambda s: s["metadata"][0].update(last_action_date="2026-03-02T09:30:00+00:00"),
            "service.metadata[0].last_action_date",
            "is not of format 'date'",
        ),
        (
            lambda s: s.update(last_modified="2026-03-02T09:30:00"),
            "service.last_modified",
            "is not of format 'date-time'",
        ),
        (
            lambda s: s["attributes"][0]["taxonomy_term"]["taxonomy_detail"].pop("name"),
            "service.attributes[0].taxonomy_term.taxonomy_detail.name",
            "lacks required field 'name'",
        ),
    ],
)
def test_a_broken_service_fails_naming_the_path(change, path, message):
    problems = validate_service(broken(change))

    assert [p.path for p in problems] == [path]
    assert message in problems[0].message
    assert path in str(problems[0])


def test_a_service_that_is_not_an_object_fails():
    [problem] = validate_service(["Schuldhulpverlening"])

    assert str(problem) == "service: is a list (expected a service object)"


def test_the_export_of_a_published_directory_is_valid_hsds(published_db, tmp_path):
    summary = export_hsds(published_db, tmp_path / "hsds")

    assert validate_export(summary.out_dir) == []
    package = json.loads((summary.out_dir / "datapackage.json").read_text(encoding="utf-8"))
    paths = {r["name"]: r["path"] for r in package["resources"]}
    assert paths["service"] == "services.csv" and paths["taxonomy"] == "taxonomies.csv"


def test_the_export_of_the_whole_demo_run_is_valid_hsds(demo_run, tmp_path):
    _, settings, _ = demo_run
    summary = export_hsds(settings.database_url, tmp_path / "hsds")
    services = json.loads((summary.out_dir / "services.json").read_text(encoding="utf-8"))

    assert len(services) == summary.services > 20
    assert [p for s in services for p in validate_service(s)] == []
    assert validate_export(summary.out_dir) == []


def rewrite_csv(path, change) -> None:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    header, rows = change(list(rows[0]), rows)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def set_first(column, value):
    def change(header, rows):
        rows[0][column] = value
        return header, rows

    return change


def drop_column(column):
    def change(header, rows):
        return [c for c in header if c != column], rows

    return change


@pytest.mark.parametrize(
    ("file", "change", "path", "message"),
    [
        (
            "phones.csv",
            set_first("service_id", "5b0e8c1a-0000-4000-8000-000000000000"),
            "phones.csv:2.service_id",
            "is no service id",
        ),
        ("services.csv", set_first("id", "dienst-1"), "services.csv:2.id", "is not of format 'uuid'"),
        ("services.csv", set_first("status", "gesloten"), "services.csv:2.status", "not an allowed value"),
        ("addresses.csv", drop_column("city"), "addresses.csv", "lacks required column 'city'"),
        (
            "attributes.csv",
            set_first("taxonomy_term_id", ""),
            "attributes.csv:2.taxonomy_term_id",
            "is empty",
        ),
    ],
)
def test_a_broken_data_package_fails_naming_file_line_and_column(
    published_db, tmp_path, file, change, path, message
):
    summary = export_hsds(published_db, tmp_path / "hsds")
    rewrite_csv(summary.out_dir / file, change)

    problems = [p for p in validate_export(summary.out_dir) if p.path == path]

    assert problems and message in problems[0].message


def test_a_table_under_another_file_name_than_hsds_gives_it_fails(published_db, tmp_path):
    summary = export_hsds(published_db, tmp_path / "hsds")
    descriptor = summary.out_dir / "datapackage.json"
    package = json.loads(descriptor.read_text(encoding="utf-8"))
    for resource in package["resources"]:
        if resource["name"] == "service":
            resource["path"] = "service.csv"
    descriptor.write_text(json.dumps(package), encoding="utf-8")

    problems = [str(p) for p in validate_export(summary.out_dir)]

    assert (
        "datapackage.json.resources[1].path: service is at 'service.csv' (expected 'services.csv')"
        in problems
    )
    assert "service.csv: is missing (expected the CSV file the data package names)" in problems
