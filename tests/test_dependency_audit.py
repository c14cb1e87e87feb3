"""The dependency audit without a vulnerability service: OSV range semantics, PEP 503 names, a
crafted advisory snapshot and its exceptions through the `check` command, the snapshot built
from an advisory-database git checkout, and the real lock against the bundled snapshot."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from packaging.version import Version
from typer.testing import CliRunner

from servicemap.dependency_audit import (
    EXCEPTIONS,
    LOCK,
    SNAPSHOT,
    Advisory,
    Affected,
    AffectedRange,
    ExceptionsFileError,
    Finding,
    LockFileError,
    Pin,
    PipAuditOutcome,
    Snapshot,
    SnapshotSource,
    audit_lock,
    cli,
    in_range,
    load_exceptions,
    load_snapshot,
    match_advisories,
    normalize_name,
    read_lock,
)

runner = CliRunner()


def affected(version: str, *events: dict[str, str]) -> bool:
    return in_range(Version(version), list(events))


def test_introduced_is_included_and_fixed_is_not():
    events = ({"introduced": "1.2"}, {"fixed": "1.4.1"})
    assert not affected("1.1.9", *events)
    assert affected("1.2", *events)
    assert affected("1.4.0", *events)
    assert not affected("1.4.1", *events)
    assert not affected("2.0", *events)


def test_introduced_zero_without_a_fix_affects_every_release():
    assert affected("0.dev1", {"introduced": "0"})  # "0" is the very first version
    assert affected("2.19.0", {"introduced": "0.7"})
    assert not affected("0.6", {"introduced": "0.7"})


def test_last_affected_is_included():
    events = ({"introduced": "0"}, {"last_affected": "3.2.0"})
    assert affected("3.2.0", *events)
    assert not affected("3.2.1", *events)


def test_several_introduced_fixed_pairs_in_one_range_in_any_order():
    # As urllib3's PYSEC-2023-192 writes it: the 2.x pair before the 1.x pair.
    events = ({"introduced": "2.0.0"}, {"fixed": "2.0.6"}, {"introduced": "0"}, {"fixed": "1.26.17"})
    assert affected("1.26.16", *events)
    assert not affected("1.26.17", *events)
    assert not affected("1.26.20", *events)
    assert affected("2.0.5", *events)
    assert not affected("2.0.6", *events)
    assert not affected("2.8.0", *events)


def test_pre_releases_order_before_their_release():
    assert affected("2.0rc1", {"introduced": "0"}, {"fixed": "2.0"})
    assert not affected("2.0rc1", {"introduced": "2.0"})
    assert not affected("19.7.0rc1", {"introduced": "0"}, {"fixed": "19.7.0rc1"})
    assert affected("19.7.0rc1", {"introduced": "0"}, {"fixed": "19.7.0"})
    assert affected("3.0.0b8", {"introduced": "3.0a0"}, {"fixed": "3.0.0b9"})
    assert not affected("2.9.0.post0", {"introduced": "0"}, {"fixed": "2.9.0"})


def test_pep_503_names():
    assert normalize_name("PyYAML") == "pyyaml"
    assert normalize_name("ruamel.yaml") == "ruamel-yaml"
    assert normalize_name("typing_extensions") == "typing-extensions"
    assert normalize_name("Foo__Bar-.baz") == "foo-bar-baz"


def advisory(
    advisory_id: str,
    package: str,
    *events: dict[str, str],
    versions: tuple[str, ...] = (),
    aliases: tuple[str, ...] = (),
    withdrawn: str | None = None,
) -> Advisory:
    ranges = [AffectedRange(events=list(events))] if events else []
    return Advisory(
        id=advisory_id,
        aliases=list(aliases),
        affected=[Affected(package=package, ranges=ranges, versions=list(versions))],
        published="2023-05-02T10:00:00Z",
        modified="2023-06-01T10:00:00Z",
        withdrawn=withdrawn,
        url=f"https://example.org/advisories/{advisory_id}",
    )


def test_an_advisory_is_matched_across_spellings_of_the_name():
    pins = [Pin(name="Ruamel_YAML", version="0.17.3")]
    found = advisory("PYSEC-9-1", "ruamel.yaml", {"introduced": "0.15"}, {"fixed": "0.17.4"})
    [finding] = match_advisories(pins, [found])
    assert (finding.package, finding.version, finding.advisory_id, finding.fixed_in) == (
        "Ruamel_YAML",
        "0.17.3",
        "PYSEC-9-1",
        ["0.17.4"],
    )


def test_a_versions_only_advisory_matches_listed_versions_only():
    listed = advisory("PYSEC-9-2", "tinylib", versions=("1.0", "1.1.0", "not a version"))
    assert match_advisories([Pin(name="tinylib", version="1.1")], [listed])  # 1.1 == 1.1.0
    assert not match_advisories([Pin(name="tinylib", version="1.2")], [listed])


def test_a_withdrawn_advisory_is_no_finding():
    gone = advisory("PYSEC-9-3", "tinylib", {"introduced": "0"}, withdrawn="2023-11-08T00:54:24Z")
    assert match_advisories([Pin(name="tinylib", version="1.0")], [gone]) == []


LOCK_TEXT = "# a lock\nTinyLib==1.4.0\nother_pkg==2.0\n"


def crafted_snapshot(packages: list[str], advisories: list[Advisory]) -> Snapshot:
    return Snapshot(
        snapshot=SnapshotSource(
            repository="https://github.com/pypa/advisory-database",
            commit="0123456789abcdef0123456789abcdef01234567",
            commit_date="2024-10-10T17:35:05+00:00",
            licence="CC-BY-4.0",
            attribution="test",
        ),
        packages=packages,
        advisories=advisories,
    )


@pytest.fixture
def audit_files(tmp_path: Path) -> dict[str, Path]:
    lock = tmp_path / "requirements.lock"
    lock.write_text(LOCK_TEXT, encoding="utf-8")
    snapshot = tmp_path / "advisories.json"
    vulnerable = advisory(
        "PYSEC-2024-77", "tinylib", {"introduced": "1.0"}, {"fixed": "1.4.2"}, aliases=("CVE-2024-0001",)
    )
    harmless = advisory("PYSEC-2020-5", "other-pkg", {"introduced": "0"}, {"fixed": "1.9"})
    snapshot.write_text(crafted_snapshot(["tinylib", "other-pkg"], [vulnerable, harmless]).model_dump_json())
    exceptions = tmp_path / "audit-exceptions.yaml"
    exceptions.write_text("exceptions: []\n", encoding="utf-8")
    return {"lock": lock, "snapshot": snapshot, "exceptions": exceptions}


def check(files: dict[str, Path]):
    args = ["check", "--offline"]
    for name, path in files.items():
        args += [f"--{name}", str(path)]
    return runner.invoke(cli, args)


def test_check_finds_a_vulnerable_pin_and_fails(audit_files):
    result = check(audit_files)
    assert result.exit_code == 1, result.output
    assert "audited 2 packages against the PyPA advisory snapshot of 2024-10-10" in result.output
    assert "advisories published later are not covered" in result.output
    assert "TinyLib 1.4.0: PYSEC-2024-77 (CVE-2024-0001), fixed in 1.4.2" in result.output
    assert "PYSEC-2020-5" not in result.output
    assert result.output.rstrip().endswith("FAILED")


def test_an_exception_silences_the_finding_by_alias(audit_files):
    audit_files["exceptions"].write_text(
        "exceptions:\n"
        "  - id: CVE-2024-0001\n"
        "    package: tinylib\n"
        "    reason: only the XML reader is affected and servicemap never calls it\n"
        "    date: 2026-11-23\n",
        encoding="utf-8",
    )
    result = check(audit_files)
    assert result.exit_code == 0, result.output
    assert "0 open finding(s)" in result.output
    assert "1 excepted finding(s)" in result.output
    assert "only the XML reader is affected" in result.output
    assert "stale" not in result.output


def test_an_exception_that_matches_nothing_is_reported_stale(audit_files):
    audit_files["lock"].write_text("TinyLib==1.4.2\nother_pkg==2.0\n", encoding="utf-8")  # the pin was raised
    audit_files["exceptions"].write_text(
        "exceptions:\n"
        "  - {id: PYSEC-2024-77, package: TinyLib, reason: 'waiting for 1.4.2, which fixes it',\n"
        "     date: 2026-10-01}\n",
        encoding="utf-8",
    )
    result = check(audit_files)
    assert result.exit_code == 0, result.output
    assert "1 stale exception(s), matching no finding: remove them" in result.output
    assert "PYSEC-2024-77 (TinyLib, 2026-10-01)" in result.output


def test_a_locked_package_missing_from_the_snapshot_fails_the_audit(audit_files):
    audit_files["lock"].write_text(LOCK_TEXT + "newcomer==0.1\n", encoding="utf-8")
    audit_files["exceptions"].write_text(
        "exceptions:\n"
        "  - {id: PYSEC-2024-77, package: tinylib, reason: 'never reached from servicemap code',\n"
        "     date: 2026-11-23}\n",
        encoding="utf-8",
    )
    result = check(audit_files)
    assert result.exit_code == 1, result.output
    assert "NOT AUDITED: newcomer are not in the advisory snapshot" in result.output


def test_pip_audit_covering_every_pin_is_the_answer():
    pins = read_lock_text(LOCK_TEXT)
    online = PipAuditOutcome(audited={"tinylib", "other-pkg"})
    snapshot = crafted_snapshot(
        ["tinylib", "other-pkg"], [advisory("PYSEC-2024-77", "tinylib", {"introduced": "0"})]
    )
    report = audit_lock(pins, snapshot, [], online)
    assert report.coverage == "audited 2 packages with pip-audit against PyPI's vulnerability data (online)"
    assert report.passed


def test_pip_audit_leaving_packages_unaudited_falls_back_to_the_snapshot():
    pins = read_lock_text(LOCK_TEXT)
    newer = Finding(
        package="other_pkg",
        version="2.0",
        advisory_id="GHSA-xxxx-yyyy-zzzz",
        aliases=["PYSEC-2025-3"],
        fixed_in=["2.1"],
        source="pip-audit",
    )
    partial = PipAuditOutcome(
        audited={"other-pkg"}, findings=[newer], problem="pip-audit could not audit 1 of 2 packages: tinylib"
    )
    known = advisory(
        "PYSEC-2024-77", "tinylib", {"introduced": "0"}, {"fixed": "1.5"}, aliases=("GHSA-aaaa",)
    )
    also_known = advisory("PYSEC-2025-3", "other-pkg", {"introduced": "0"}, {"fixed": "2.1"})
    report = audit_lock(pins, crafted_snapshot(["tinylib", "other-pkg"], [known, also_known]), [], partial)
    assert report.coverage.startswith("audited 2 packages against the PyPA advisory snapshot of 2024-10-10")
    assert report.notes == ["pip-audit could not audit 1 of 2 packages: tinylib"]
    # The same vulnerability from both sources is one finding.
    assert sorted(f.advisory_id for f in report.findings) == ["PYSEC-2024-77", "PYSEC-2025-3"]
    assert not report.passed


def read_lock_text(text: str) -> list[Pin]:
    return [
        Pin(name=n, version=v) for n, v in (line.split("==") for line in text.splitlines() if "==" in line)
    ]


def test_a_lock_line_that_is_not_a_pin_is_refused_with_its_line(tmp_path):
    lock = tmp_path / "requirements.lock"
    lock.write_text("# pins\nrequests==2.34.2\nscrapy>=2.13\nlxml==six\n", encoding="utf-8")
    with pytest.raises(LockFileError) as error:
        read_lock(lock)
    assert "requirements.lock:3: 'scrapy>=2.13' is not a pin (expected name==version)" in str(error.value)
    assert "requirements.lock:4: 'six' is not a PEP 440 version" in str(error.value)


def test_an_exception_without_a_reason_is_refused(tmp_path):
    path = tmp_path / "audit-exceptions.yaml"
    path.write_text("exceptions:\n  - {id: PYSEC-1, package: lxml, date: 2026-11-23}\n", encoding="utf-8")
    with pytest.raises(ExceptionsFileError, match=r"exceptions\[0.reason\]: Field required"):
        load_exceptions(path)


def git(repo: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
        "GIT_AUTHOR_DATE": "2024-10-10T17:35:05+00:00",
        "GIT_COMMITTER_DATE": "2024-10-10T17:35:05+00:00",
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    ).stdout


ADVISORY_FILES = {
    "vulns/pyyaml/PYSEC-2021-142.yaml": """\
id: PYSEC-2021-142
details: A long prose description that the snapshot must not copy.
aliases:
- CVE-2020-14343
modified: '2021-11-16T03:58:42.124219Z'
published: '2021-02-09T21:15:00Z'
references:
- type: ADVISORY
  url: https://example.org/ref
affected:
- package:
    name: PyYAML
    ecosystem: PyPI
  ranges:
  - type: GIT
    repo: https://github.com/yaml/pyyaml
    events:
    - introduced: '0'
    - fixed: a001f2782501ad2d24986959f0239a354675f9dc
  - type: ECOSYSTEM
    events:
    - introduced: '0'
    - fixed: '5.4'
  versions:
  - '5.3'
""",
    "vulns/oldlib/PYSEC-2015-1.yaml": """\
id: PYSEC-2015-1
details: Only a list of versions.
modified: '2021-01-01T00:00:00Z'
affected:
- package:
    name: oldlib
    ecosystem: PyPI
  ranges:
  - type: GIT
    repo: https://example.org/oldlib
    events:
    - introduced: '0'
  versions:
  - '1.0'
  - '1.1'
""",
    "vulns/unlocked/PYSEC-2022-9.yaml": """\
id: PYSEC-2022-9
modified: '2022-01-01T00:00:00Z'
affected:
- package:
    name: unlocked
    ecosystem: PyPI
  ranges:
  - type: ECOSYSTEM
    events:
    - introduced: '0'
""",
    "vulns/.id-allocator": "49801abb7dd135683c714fa03f354c02c95849f38ba3483a8f8894e1ca1f43ad\n",
}


def test_refresh_keeps_the_facts_of_the_locked_packages_only(tmp_path):
    repo = tmp_path / "advisory-database"
    for path, text in ADVISORY_FILES.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text, encoding="utf-8")
    git(repo.parent, "init", "-q", str(repo))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "advisories")
    commit = git(repo, "rev-parse", "HEAD").strip()
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo), str(bare))
    lock = tmp_path / "requirements.lock"
    lock.write_text("PyYAML==5.3\noldlib==1.1\nrequests==2.34.2\n", encoding="utf-8")

    outputs = []
    for checkout in (repo, bare):
        output = tmp_path / f"{checkout.name}.json"
        result = runner.invoke(cli, ["refresh", str(checkout), "--lock", str(lock), "--output", str(output)])
        assert result.exit_code == 0, result.output
        assert "2 advisories for 3 packages" in result.output
        outputs.append(output.read_text(encoding="utf-8"))
    assert outputs[0] == outputs[1]

    snapshot = json.loads(outputs[0])
    assert snapshot["snapshot"] == {
        "repository": "https://github.com/pypa/advisory-database",
        "commit": commit,
        "commit_date": "2024-10-10T17:35:05Z",
        "licence": "CC-BY-4.0",
        "attribution": snapshot["snapshot"]["attribution"],
    }
    assert "CC-BY-4.0" in snapshot["snapshot"]["attribution"]
    assert snapshot["packages"] == ["oldlib", "pyyaml", "requests"]
    oldlib, pyyaml = snapshot["advisories"]
    assert pyyaml["id"] == "PYSEC-2021-142"
    assert pyyaml["aliases"] == ["CVE-2020-14343"]
    assert pyyaml["affected"] == [
        {"package": "PyYAML", "ranges": [{"events": [{"introduced": "0"}, {"fixed": "5.4"}]}], "versions": []}
    ]
    assert (
        pyyaml["url"]
        == f"https://github.com/pypa/advisory-database/blob/{commit}/vulns/pyyaml/PYSEC-2021-142.yaml"
    )
    assert oldlib["affected"] == [{"package": "oldlib", "ranges": [], "versions": ["1.0", "1.1"]}]
    assert "prose" not in outputs[0] and "example.org/ref" not in outputs[0]

    report = audit_lock(read_lock(lock), load_snapshot(tmp_path / "bare.git.json"), [])
    assert sorted(f.advisory_id for f in report.findings) == ["PYSEC-2015-1", "PYSEC-2021-142"]


def test_refresh_of_a_directory_that_is_no_git_checkout_names_it(tmp_path):
    lock = tmp_path / "requirements.lock"
    lock.write_text("requests==2.34.2\n", encoding="utf-8")
    result = runner.invoke(cli, ["refresh", str(tmp_path / "nowhere"), "--lock", str(lock)])
    assert result.exit_code == 2
    assert f"{tmp_path / 'nowhere'}: git rev-parse failed" in result.output


def test_the_bundled_snapshot_covers_every_locked_package_with_no_open_finding():
    """The real lock against the bundled snapshot, offline: CI audits every pin even where no
    vulnerability service is reachable, and a new pin without a refreshed snapshot fails here."""
    pins = read_lock(LOCK)
    snapshot = load_snapshot(SNAPSHOT)
    report = audit_lock(pins, snapshot, load_exceptions(EXCEPTIONS))
    assert snapshot.snapshot.commit == "3ccb612573e2511ab5cad7dafecd838605c80cda"
    assert report.uncovered == [], report.render()
    assert report.findings == [], report.render()
    assert report.stale == [], report.render()
    assert report.passed
