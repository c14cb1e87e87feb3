"""Least privilege on PostgreSQL: the migrations create a read-only role, the API serves with
it, and that role cannot change the directory; the writer's role is refused by `serve`.
Database URLs never show their password in a message."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Table, select, text
from sqlalchemy.exc import ProgrammingError
from typer.testing import CliRunner

import servicemap.migrations
from servicemap.api.security import WritableDatabaseRole, ensure_read_only
from servicemap.cli import app as cli
from servicemap.cli import web_app
from servicemap.publish import (
    DIRECTORY_TABLES,
    NoDirectoryPublished,
    current_version,
    engine_for,
    migrate,
    publish_directory,
)
from servicemap.web.reports import submit_report
from tests.conftest import demo_service_list, service_id
from tests.test_api import serving
from tests.test_security import UNLIMITED, environment, private_postgres

DATABASE = "servicemap_least_privilege_test"
READER = "servicemap_reader"
PASSWORD = "Wachtw00rd-geheim"  # trust authentication ignores it; no message may show it


def reader_migration():
    path = Path(servicemap.migrations.__file__).parent / "versions" / "0004_reader_role.py"
    spec = importlib.util.spec_from_file_location("reader_role_migration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def writer_url() -> Iterator[str]:
    url = private_postgres(DATABASE)
    migrate(url)
    publish_directory(url, demo_service_list(), [], run_id="least-privilege-run-1")
    yield url
    engine_for(url).dispose()


@pytest.fixture(scope="module")
def reader_url(writer_url: str) -> Iterator[str]:
    url = writer_url.replace("postgres@", f"{READER}@")
    yield url
    engine_for(url).dispose()


def attempts(table: Table) -> dict[str, str]:
    """One write of each kind against `table`, each of which the reader must be refused."""
    column = next(iter(table.c)).name
    return {
        "INSERT": f"INSERT INTO {table.name} DEFAULT VALUES",
        "UPDATE": f"UPDATE {table.name} SET {column} = {column}",
        "DELETE": f"DELETE FROM {table.name}",
        "TRUNCATE": f"TRUNCATE {table.name}",
        "DROP": f"DROP TABLE {table.name}",
    }


def test_the_reader_role_cannot_change_any_directory_table(reader_url: str, writer_url: str):
    refused = []
    for table in DIRECTORY_TABLES:
        for kind, statement in attempts(table).items():
            with engine_for(reader_url).connect() as connection:
                with pytest.raises(ProgrammingError, match="permission denied|must be owner"):
                    connection.execute(text(statement))
                connection.rollback()
            refused.append((table.name, kind))
    with (
        engine_for(reader_url).connect() as connection,
        pytest.raises(ProgrammingError, match="permission denied"),
    ):
        connection.execute(text("CREATE TABLE gekaapt (id int)"))

    assert len(refused) == 5 * len(DIRECTORY_TABLES)
    assert current_version(reader_url) == current_version(writer_url)


def test_the_api_and_pages_serve_with_the_reader_role(reader_url: str):
    ensure_read_only(reader_url)  # what `servicemap serve` checks before it starts
    with environment(UNLIMITED), serving(web_app(reader_url, [])) as base:
        listed = httpx.get(f"{base}/services", params={"search": "schuldhulp"})
        page = httpx.get(f"{base}/zoeken", params={"q": "mantelzorg"})
        report = httpx.post(
            f"{base}/dienst/{service_id('Steunpunt Mantelzorg')}/meld-een-fout",
            data={"bericht": "Het telefoonnummer is veranderd.", "email": "assistent@praktijk.example.nl"},
        )
    assert listed.status_code == 200 and listed.json()["total_items"] >= 1
    assert page.status_code == 200 and "Steunpunt Mantelzorg" in page.text
    assert report.status_code == 303  # a report may be added...


def test_the_reader_may_add_a_report_but_not_read_who_sent_one(reader_url: str, writer_url: str):
    report = submit_report(
        reader_url,
        service_id("Juridisch Spreekuur"),
        "Het spreekuur is verhuisd naar de bibliotheek.",
        "balie@praktijk.example.nl",
        client="192.0.2.7",
    )
    with engine_for(reader_url).connect() as connection:
        with pytest.raises(ProgrammingError, match="permission denied"):
            connection.execute(text("SELECT contact, message FROM problem_report"))
        connection.rollback()
        with pytest.raises(ProgrammingError, match="permission denied"):
            connection.execute(text("DELETE FROM problem_report"))
    with engine_for(writer_url).connect() as connection:
        contact = connection.execute(
            text("SELECT contact FROM problem_report WHERE id = :id"), {"id": report.id}
        ).scalar_one()
    assert contact == "balie@praktijk.example.nl"


def test_a_table_made_after_the_migration_is_readable_but_not_writable(reader_url: str, writer_url: str):
    with engine_for(writer_url).begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS later_table"))
        connection.execute(text("CREATE TABLE later_table (id text)"))
        connection.execute(text("INSERT INTO later_table VALUES ('een')"))
    with engine_for(reader_url).connect() as connection:
        assert connection.execute(select(text("id")).select_from(text("later_table"))).scalars().all() == [
            "een"
        ]
        with pytest.raises(ProgrammingError, match="permission denied"):
            connection.execute(text("INSERT INTO later_table VALUES ('twee')"))


@pytest.mark.parametrize("variable", ["SERVICEMAP_API_DATABASE_URL", "SERVICEMAP_DATABASE_URL"])
def test_the_writer_role_is_refused_for_the_api(writer_url: str, variable: str):
    with pytest.raises(WritableDatabaseRole, match="database role 'postgres' can change tables"):
        ensure_read_only(writer_url)
    with_password = writer_url.replace("postgres@", f"postgres:{PASSWORD}@")
    result = CliRunner().invoke(cli, ["serve"], env={variable: with_password})
    assert result.exit_code == 2
    assert "SERVICEMAP_API_DATABASE_URL" in result.output
    assert PASSWORD not in result.output


def test_a_sqlite_directory_has_no_roles_to_check(tmp_path):
    ensure_read_only(f"sqlite:///{tmp_path / 'directory.db'}")


def test_a_bad_reader_role_name_is_refused_naming_it(monkeypatch):
    monkeypatch.setenv("SERVICEMAP_READER_ROLE", "reader; DROP TABLE service")
    with pytest.raises(ValueError, match=r"SERVICEMAP_READER_ROLE='reader; DROP TABLE service': expected"):
        reader_migration().reader_role()


def test_messages_about_a_database_never_show_its_password(writer_url: str):
    empty = private_postgres("servicemap_least_privilege_empty")
    with_password = empty.replace("postgres@", f"postgres:{PASSWORD}@")
    with pytest.raises(NoDirectoryPublished) as caught:
        current_version(with_password)
    assert PASSWORD not in str(caught.value)
    assert "postgres:***@127.0.0.1:5432/servicemap_least_privilege_empty" in str(caught.value)
    engine_for(with_password).dispose()
