"""The whole flow over a region where most sources are hostile: 5xx bursts, timeouts, slow
drips, resets, redirect loops and off-site redirects, 200 MB bodies, a gzip bomb, wrong and
missing charsets, broken JSON-LD, entity expansion and XXE, duplicates and conflicts, and a
list that changes while it is paged. One run through Dagster, shared by the tests: the run
finishes, each fault is in its source's fetch log with its URL, the good pages of every
source publish, and every crawled record is published or rejected."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
import yaml

from pipelines.resources import ServicemapSettings
from pipelines.run import run_pipeline
from servicemap.crawl import FetchRecord, read_jsonl
from servicemap.publish import PublishedService, current_version, read_services
from servicemap.summary import RunSummary
from tests.faults.hostile import HUGE_BODY, HostileServer
from tests.faults.sites import CRAWL, GOOD, WISSELEND, faults, mount, sources_yaml

pytestmark = pytest.mark.faults

FAULTS = {f.source_id: f for f in faults()}
RECORDED = [f.source_id for f in FAULTS.values() if f.error_kind is not None]


@dataclass
class HostileRun:
    server: HostileServer
    summary: RunSummary
    fetches: dict[str, list[FetchRecord]]
    services: list[PublishedService]
    database_url: str

    def published(self, name: str) -> list[PublishedService]:
        return [s for s in self.services if s.name == name]


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory) -> HostileRun:
    work = tmp_path_factory.mktemp("hostile")
    (work / "dagster").mkdir()
    with HostileServer() as server, dg.instance_for_test(temp_dir=str(work / "dagster")) as instance:
        found = mount(server)
        sources_path = work / "sources.yaml"
        sources_path.write_text(
            yaml.safe_dump(sources_yaml(server, found), allow_unicode=True), encoding="utf-8"
        )
        settings = ServicemapSettings(
            sources_path=str(sources_path),
            database_url=f"sqlite:///{work / 'directory.sqlite'}",
            work_dir=str(work),
        )
        summary = run_pipeline(settings, instance)
    fetches = {f.source_id: _fetch_log(work, f.source_id) for f in found}
    return HostileRun(server, summary, fetches, read_services(settings.database_url), settings.database_url)


def _fetch_log(work: Path, source_id: str) -> list[FetchRecord]:
    records, problems = read_jsonl(work / "crawl" / source_id / f"{source_id}.fetches.jsonl", FetchRecord)
    assert problems == []
    return records


def test_the_run_finishes_with_a_published_version_and_every_source_summarised(hostile_run):
    assert hostile_run.summary.version == current_version(hostile_run.database_url).id
    assert sorted(s.source_id for s in hostile_run.summary.sources) == sorted(FAULTS)


@pytest.mark.parametrize("source_id", RECORDED)
def test_the_fault_is_recorded_with_its_source_and_url(hostile_run, source_id):
    fault = FAULTS[source_id]
    url = hostile_run.server.url(fault.path)
    recorded = [f for f in hostile_run.fetches[source_id] if f.url == url and f.error_kind is not None]
    assert [f.error_kind for f in recorded] == [fault.error_kind]
    assert recorded[0].error  # a message a person can read
    [line] = [s for s in hostile_run.summary.sources if s.source_id == source_id]
    assert line.fetch_errors >= 1


@pytest.mark.parametrize("source_id", list(FAULTS))
def test_the_good_pages_of_every_source_publish(hostile_run, source_id):
    for name in FAULTS[source_id].publishes:
        [service] = hostile_run.published(name)
        assert source_id in {m.source_id for m in service.members}


def test_no_record_is_lost(hostile_run):
    conservation = hostile_run.summary.conservation
    assert conservation.holds, conservation.equation()
    assert conservation.lost == [] and conservation.duplicated == []
    assert conservation.crawled == conservation.published + conservation.rejected
    assert conservation.crawled == sum(s.crawled for s in hostile_run.summary.sources) > 0


@pytest.mark.parametrize("path", ["/f/groot/groot.html", "/f/stroom/stroom.html"])
def test_a_200_mb_body_is_refused_at_the_size_limit_not_read(hostile_run, path):
    """The crawler hangs up near the limit: what left the server is far below 200 MB."""
    assert hostile_run.server.sent(path) < 3 * CRAWL["max_response_bytes"] < HUGE_BODY


def test_entity_expansion_and_xxe_are_refused_by_the_parser(hostile_run):
    for source_id in ("sc-lachsalvo", "sc-xxe"):
        [refused] = [f for f in hostile_run.fetches[source_id] if f.error_kind == "extraction_error"]
        assert "XML refused" in refused.error
    published_text = " ".join(f"{s.name} {s.description}" for s in hostile_run.services)
    assert "lollol" not in published_text and "root:" not in published_text


def test_wrong_and_missing_charsets_publish_the_names_as_written(hostile_run):
    assert hostile_run.published(GOOD["tekenset-fout"].name)
    assert hostile_run.published(GOOD["tekenset-geen"].name)
    assert not [s.name for s in hostile_run.services if "Ã" in s.name or "\ufffd" in s.name]


def test_a_5xx_burst_shorter_than_the_retries_is_retried_until_the_page_comes(hostile_run):
    assert hostile_run.server.requests["/f/storing/spreekuur.html"] == 3  # two 503s, then the page
    assert hostile_run.server.requests["/f/storing/aanmelden.html"] == 1 + CRAWL["retry_times"]


def test_duplicate_and_conflicting_records_become_one_service_with_all_of_them_in_its_lineage(hostile_run):
    [service] = hostile_run.published(GOOD["dubbel"].name)
    members = sorted((m.source_id, m.url.rsplit("/", 1)[-1]) for m in service.members)
    assert members == [("dubbel-a", "dienst.html"), ("dubbel-b", "dienst.html")]  # twice on a page: once
    conflicting = "+31343552626"
    assert {p.number for p in service.phones} <= {"+31343552525", conflicting}


def test_a_list_that_changes_while_it_is_paged_gives_each_service_once(hostile_run):
    for service_id, name, _ in WISSELEND.values():
        assert len(hostile_run.published(name)) == 1
        assert hostile_run.server.requests[f"/f/wisselend/api/services/{service_id}"] == 1
