import csv
import json
import uuid

import pytest

from servicemap.hsds import export_hsds
from servicemap.publish import NoDirectoryPublished, current_version, publish_directory

HSDS_SERVICE_STATUSES = {"active", "inactive", "defunct", "temporarily closed"}


def is_uuid(value: str) -> bool:
    return str(uuid.UUID(value)) == value.lower()


@pytest.fixture
def exported(published_db, tmp_path):
    summary = export_hsds(published_db, tmp_path / "hsds")
    return summary, json.loads((tmp_path / "hsds" / "services.json").read_text(encoding="utf-8"))


def test_every_exported_service_has_the_hsds_required_fields(exported):
    summary, services = exported

    assert summary.services == len(services) == 6
    for service in services:
        assert is_uuid(service["id"]) and service["name"] and service["status"] in HSDS_SERVICE_STATUSES
        assert is_uuid(service["organization"]["id"]) and service["organization"]["name"]
        for phone in service["phones"]:
            assert is_uuid(phone["id"]) and phone["number"]
        for link in service["service_at_locations"]:
            assert is_uuid(link["id"]) and link["location"]["location_type"] == "physical"
            for address in link["location"]["addresses"]:
                assert address["address_1"] and address["city"] and address["postal_code"]
                assert address["country"] == "NL"


def test_a_service_object_nests_what_the_hsds_api_would_return(exported):
    _, services = exported
    [service] = [s for s in services if s["name"] == "Schuldhulpverlening"]

    assert service["organization"]["name"] == "Gemeente Brederwijk"
    assert service["url"] == "https://www.brederwijk.example.nl/schuldhulpverlening"
    [link] = service["service_at_locations"]
    assert link["location"]["addresses"][0]["address_1"] == "Kerkstraat 1"
    assert [(s.get("byday"), s.get("opens_at"), s.get("closes_at")) for s in service["schedules"]][0] == (
        "MO",
        "09:00",
        "12:00",
    )
    terms = {(a["taxonomy_term"]["taxonomy"], a["taxonomy_term"]["code"]) for a in service["attributes"]}
    assert terms == {("life_domain", "finances"), ("audience", "adults")}
    domain = next(a for a in service["attributes"] if a["taxonomy_term"]["code"] == "finances")
    assert domain["taxonomy_term"]["name"] == "Financiën"
    assert domain["taxonomy_term"]["taxonomy_detail"]["name"] == "life_domain"
    [provenance] = service["metadata"]
    assert provenance["replacement_value"] == "https://www.brederwijk.example.nl/schuldhulpverlening"


def test_the_data_package_describes_every_csv(exported):
    summary, _ = exported
    package = json.loads((summary.out_dir / "datapackage.json").read_text(encoding="utf-8"))

    assert package["version"] == summary.version_id
    names = {r["name"] for r in package["resources"]}
    assert {
        "service",
        "organization",
        "location",
        "service_at_location",
        "address",
        "phone",
        "schedule",
        "taxonomy",
        "taxonomy_term",
        "attribute",
        "service_domain",
    } <= names
    for resource in package["resources"]:
        with (summary.out_dir / resource["path"]).open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        assert rows[0] == [f["name"] for f in resource["schema"]["fields"]]
        assert "directory_version_id" not in rows[0]
    fields = {r["name"]: {f["name"]: f["type"] for f in r["schema"]["fields"]} for r in package["resources"]}
    assert fields["service_domain"]["confidence"] == "number"
    assert fields["service_domain"]["evidence"] == "array"
    assert fields["source_record"]["fetched_at"] == "datetime"
    assert fields["service"]["field_lineage"] == "object"
    assert fields["service"]["status"] == "string"
    with (summary.out_dir / "services.csv").open(encoding="utf-8", newline="") as handle:
        services = list(csv.DictReader(handle))
    assert len(services) == 6 and all(is_uuid(row["id"]) for row in services)


def test_the_export_is_of_the_current_version_only(published_db, demo_services, tmp_path):
    publish_directory(published_db, demo_services[:2], [], run_id="run-2")

    summary = export_hsds(published_db, tmp_path / "hsds")

    services = json.loads((tmp_path / "hsds" / "services.json").read_text(encoding="utf-8"))
    assert summary.version_id == current_version(published_db).id
    assert sorted(s["status"] for s in services).count("inactive") == 4
    assert len(services) == 6


def test_export_before_any_publish_says_so(db_url, tmp_path):
    with pytest.raises(NoDirectoryPublished):
        export_hsds(db_url, tmp_path / "hsds")
