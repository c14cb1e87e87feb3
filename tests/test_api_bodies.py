"""Service bodies as the publish stored them (SQLite and PostgreSQL): the same bytes as the
HSDS export's service objects, one version's rows only, in one snapshot, one read each."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from servicemap.api import create_app, queries
from servicemap.hsds.export import export_hsds
from servicemap.publish import current_version, publish_directory
from servicemap.publish.db import request_engine
from tests.test_api import serving


def exported_bodies(url: str, out_dir: Path) -> list[bytes]:
    """The export's service objects of the current version, as orjson writes them."""
    export_hsds(url, out_dir)
    return [orjson.dumps(s) for s in json.loads((out_dir / "services.json").read_text(encoding="utf-8"))]


def test_every_service_is_sent_as_the_exported_hsds_object_byte_for_byte(published_db, tmp_path):
    expected = exported_bodies(published_db, tmp_path)
    with serving(create_app(published_db)) as base, httpx.Client(base_url=base) as api:
        sent = [api.get(f"/services/{orjson.loads(body)['id']}") for body in expected]
    assert [r.status_code for r in sent] == [200] * 6
    assert [r.content for r in sent] == expected


def test_pages_of_bodies_come_in_the_asked_order_without_unknown_ids(published_db, tmp_path):
    expected = exported_bodies(published_db, tmp_path)
    ids = [orjson.loads(body)["id"] for body in expected]
    version = current_version(published_db).id
    with request_engine(published_db).connect() as connection:
        # Three ids and six: IN lists padded to four and eight, none read before.
        first = queries.service_bodies(connection, published_db, version, ids[2::-1])
        rest = queries.service_bodies(
            connection, published_db, version, ["no-such-service", *ids[3:], *ids[:3]]
        )
    assert first == expected[2::-1]
    assert rest == expected[3:] + expected[:3]


def test_an_older_kept_version_reads_its_own_rows_and_the_current_its_own(db_url, demo_services, tmp_path):
    """Phones, hours, links and terms are read by service id across versions: each body must
    hold only its version's, as the export of that version had them."""
    publish_directory(db_url, demo_services, [], run_id="bodies-run-1")
    first_version, first = current_version(db_url).id, exported_bodies(db_url, tmp_path / "first")
    for service in demo_services:
        service.description = f"{service.description} Nieuw: ook op zaterdag."
        service.phones = []
    publish_directory(db_url, demo_services, [], run_id="bodies-run-2")
    second_version, second = current_version(db_url).id, exported_bodies(db_url, tmp_path / "second")
    ids = [orjson.loads(body)["id"] for body in first]
    with request_engine(db_url).connect() as connection:
        older = queries.service_bodies(connection, db_url, first_version, ids)
        newer = [queries.service_body(connection, db_url, second_version, i) for i in ids]
    assert older == first
    assert sorted(newer) == sorted(second)
    assert all(orjson.loads(body)["phones"] == [] for body in newer)


def test_a_read_keeps_its_snapshot_while_publishes_prune_its_version(db_url, demo_services):
    publish_directory(db_url, demo_services, [], run_id="snapshot-run-1")
    version = current_version(db_url).id
    one, two, three, four = (s.id for s in demo_services[:4])
    with request_engine(db_url).connect() as connection:
        assert queries.service_body(connection, db_url, version, one) is not None  # terms now kept
    with request_engine(db_url).connect() as connection:
        first = queries.service_body(connection, db_url, version, two)
        for run in (2, 3):
            publish_directory(db_url, demo_services, [], run_id=f"snapshot-run-{run}", keep_versions=2)
        later = queries.service_body(connection, db_url, version, three)
    assert orjson.loads(first)["id"] == two
    assert later is not None and orjson.loads(later)["id"] == three
    with request_engine(db_url).connect() as connection:
        assert queries.service_body(connection, db_url, version, four) is None  # pruned meanwhile


def test_a_body_not_sent_before_is_one_read_of_its_stored_document(demo_services, tmp_path):
    """Traced on SQLite, whose driver reports every statement; both backends run this code."""
    url = f"sqlite:///{tmp_path / 'documents.db'}"
    version = publish_directory(url, demo_services, [], run_id="documents-run-1").id
    ids = sorted(s.id for s in demo_services)
    engine = create_engine(url)
    with engine.connect() as connection:
        statements: list[str] = []
        connection.connection.driver_connection.set_trace_callback(statements.append)
        page = queries.service_bodies(connection, url, version, ids[:3])
        one = queries.service_body(connection, url, version, ids[3])
    engine.dispose()
    assert [orjson.loads(body)["id"] for body in [*page, one]] == ids[:4]
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 2, statements
    assert all("FROM service_document" in s for s in reads), statements


def test_a_driver_error_is_raised_as_sqlalchemys_naming_the_table(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    engine = create_engine(url)
    with engine.connect() as connection, pytest.raises(OperationalError, match="no such table: service"):
        queries.service_body(connection, url, "some-version", "some-service")
    engine.dispose()
