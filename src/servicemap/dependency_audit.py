"""The audit of `requirements.lock`: every pin against known vulnerabilities, with pip-audit
when PyPI's vulnerability data answers, else against a dated snapshot of the PyPA advisory
database kept in the repository, so that CI audits every package even without that service.

    python -m servicemap.dependency_audit check      # the report; exit 1 on an unexcepted finding
    python -m servicemap.dependency_audit refresh PATH/TO/advisory-database
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Literal

import typer
import yaml
from packaging.version import InvalidVersion, Version
from pydantic import BaseModel, Field, ValidationError, field_validator

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCK = REPO_ROOT / "requirements.lock"
SNAPSHOT = REPO_ROOT / "security" / "advisories.json"
EXCEPTIONS = REPO_ROOT / "security" / "audit-exceptions.yaml"

ADVISORY_REPOSITORY = "https://github.com/pypa/advisory-database"
ADVISORY_LICENCE = "CC-BY-4.0"
ATTRIBUTION = (
    "Facts (ids, aliases, affected versions, dates) from the Python Packaging Advisory Database, "
    "https://github.com/pypa/advisory-database, licensed CC-BY-4.0; advisory text left out."
)
EventKind = Literal["introduced", "fixed", "last_affected", "limit"]

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)\s*$")
_ADVISORY_PATH = re.compile(r"^vulns/[^/]+/[^/]+\.yaml$")


class DependencyAuditError(ValueError):
    """An input of the audit (lock file, snapshot, exceptions, advisory checkout) that is not
    what the audit expects."""


class LockFileError(DependencyAuditError):
    """A lock file line that is not a `name==version` pin."""


class SnapshotError(DependencyAuditError):
    """An advisory snapshot or advisory checkout that cannot be read."""


class ExceptionsFileError(DependencyAuditError):
    """An audit-exceptions file with a missing or malformed entry."""


def normalize_name(name: str) -> str:
    """The PEP 503 form of a project name: 'PyYAML', 'pyyaml' and 'py_yaml' are one project."""
    return re.sub(r"[-_.]+", "-", name).lower()


class Pin(BaseModel, frozen=True):
    """One `name==version` line of the lock file."""

    name: str
    version: str

    @property
    def key(self) -> str:
        return normalize_name(self.name)


def read_lock(path: Path) -> list[Pin]:
    """The pins of a `pip freeze`-style lock file; any other line is refused, since an
    unpinned or URL requirement could not be audited."""
    problems: list[str] = []
    pins: list[Pin] = []
    try:
        text_lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise LockFileError(f"lock file {path} does not exist") from None
    for number, line in enumerate(text_lines, start=1):
        text = line.split(" #", 1)[0].strip()
        if not text or text.startswith("#"):
            continue
        match = _PIN.match(text)
        if match is None:
            problems.append(f"{path.name}:{number}: {text!r} is not a pin (expected name==version)")
            continue
        try:
            Version(match.group(2))
        except InvalidVersion:
            problems.append(f"{path.name}:{number}: {match.group(2)!r} is not a PEP 440 version")
            continue
        pins.append(Pin(name=match.group(1), version=match.group(2)))
    if problems:
        raise LockFileError("; ".join(problems))
    return pins


class AffectedRange(BaseModel):
    """An OSV range of type ECOSYSTEM, its events in the advisory's order."""

    events: list[dict[EventKind, str]]

    @field_validator("events")
    @classmethod
    def _one_kind_per_event(cls, events: list[dict[str, str]]) -> list[dict[str, str]]:
        for event in events:
            if len(event) != 1:
                raise ValueError(
                    f"an event has exactly one of introduced/fixed/last_affected/limit, not {event}"
                )
        return events


class Affected(BaseModel):
    """The versions of one package an advisory affects: ECOSYSTEM ranges, or only a list of
    versions when the advisory gives no such range."""

    package: str
    ranges: list[AffectedRange] = Field(default_factory=list)
    versions: list[str] = Field(default_factory=list)


class Advisory(BaseModel):
    """The facts of one advisory, restricted to the locked packages it affects."""

    id: str
    aliases: list[str] = Field(default_factory=list)
    affected: list[Affected]
    published: datetime | None = None
    modified: datetime
    withdrawn: datetime | None = None
    url: str


class SnapshotSource(BaseModel):
    """Where the snapshot's facts come from, and the licence they are used under."""

    repository: str
    commit: str
    commit_date: datetime
    licence: str
    attribution: str


class Snapshot(BaseModel):
    """The advisories of the locked packages at one commit of the advisory database."""

    snapshot: SnapshotSource
    packages: list[str]
    advisories: list[Advisory]

    @property
    def date(self) -> str:
        return self.snapshot.commit_date.date().isoformat()


def load_snapshot(path: Path) -> Snapshot:
    try:
        return Snapshot.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise SnapshotError(f"advisory snapshot {path} does not exist (build it with `refresh`)") from None
    except ValidationError as error:
        raise SnapshotError(f"advisory snapshot {path} is not a snapshot: {error}") from None


def _version(value: str, where: str) -> Version:
    try:
        return Version(value)
    except InvalidVersion:
        raise SnapshotError(f"{where}: {value!r} is not a PEP 440 version") from None


def _event_order(kind: str) -> int:
    # At an equal version an introduction comes before the fix that ends it.
    return {"introduced": 0, "last_affected": 1, "fixed": 2, "limit": 3}[kind]


def in_range(version: Version, events: list[dict[str, str]], where: str = "range") -> bool:
    """Whether `version` lies in an OSV ECOSYSTEM range: from an `introduced` up to, not
    including, the next `fixed`, or up to and including a `last_affected`; one range may hold
    several introduced/fixed pairs, e.g. 0 to 1.26.17 and 2.0.0 to 2.0.6."""
    ordered: list[tuple[Version | None, int, str]] = []
    for event in events:
        [(kind, value)] = event.items()
        bound = None if kind == "introduced" and value == "0" else _version(value, where)
        ordered.append((bound, _event_order(kind), kind))
    ordered.sort(key=lambda item: (item[0] is not None, item[0] or Version("0"), item[1]))
    affected = False
    for bound, _, kind in ordered:
        if bound is not None and version < bound:
            continue  # an event above `version` says nothing about it
        if kind == "introduced":
            affected = True
        elif kind != "last_affected" or version != bound:
            affected = False  # a fix or limit at or below it, or a last affected version below it
    return affected


def _listed(version: Version, versions: list[str]) -> bool:
    for listed in versions:
        try:
            if Version(listed) == version:
                return True
        except InvalidVersion:
            continue  # a legacy, non-PEP 440 version can never be an installed pin
    return False


class Finding(BaseModel):
    """A locked package at a version an advisory affects."""

    package: str
    version: str
    advisory_id: str
    aliases: list[str] = Field(default_factory=list)
    fixed_in: list[str] = Field(default_factory=list)
    source: Literal["snapshot", "pip-audit"]
    url: str | None = None

    @property
    def ids(self) -> set[str]:
        return {self.advisory_id, *self.aliases}

    def line(self) -> str:
        fix = f"fixed in {', '.join(self.fixed_in)}" if self.fixed_in else "no fixed release"
        also = f" ({', '.join(self.aliases)})" if self.aliases else ""
        return f"{self.package} {self.version}: {self.advisory_id}{also}, {fix} [{self.source}]"


def _fixes_after(version: Version, affected: Affected, where: str) -> list[str]:
    return sorted(
        {
            value
            for rng in affected.ranges
            for event in rng.events
            for kind, value in event.items()
            if kind == "fixed" and _version(value, where) > version
        },
        key=Version,
    )


def match_advisories(pins: list[Pin], advisories: list[Advisory]) -> list[Finding]:
    """Every (pin, advisory) where the pinned version is affected; withdrawn advisories are
    not findings."""
    by_package: dict[str, list[tuple[Advisory, Affected]]] = {}
    for advisory in advisories:
        if advisory.withdrawn is not None:
            continue
        for affected in advisory.affected:
            by_package.setdefault(normalize_name(affected.package), []).append((advisory, affected))
    findings: list[Finding] = []
    for pin in pins:
        version = Version(pin.version)
        for advisory, affected in by_package.get(pin.key, []):
            where = f"advisory {advisory.id} ({affected.package})"
            if affected.ranges:
                hit = any(in_range(version, rng.events, where) for rng in affected.ranges)
            else:
                hit = _listed(version, affected.versions)
            if hit:
                findings.append(
                    Finding(
                        package=pin.name,
                        version=pin.version,
                        advisory_id=advisory.id,
                        aliases=advisory.aliases,
                        fixed_in=_fixes_after(version, affected, where),
                        source="snapshot",
                        url=advisory.url,
                    )
                )
    return findings


class AuditException(BaseModel):
    """A finding accepted on purpose: which advisory, in which package, why, and since when."""

    id: str = Field(min_length=1)
    package: str = Field(min_length=1)
    reason: str = Field(min_length=20)
    date: date

    def covers(self, finding: Finding) -> bool:
        return normalize_name(self.package) == normalize_name(finding.package) and self.id in finding.ids


class _ExceptionsFile(BaseModel):
    exceptions: list[AuditException] = Field(default_factory=list)


def load_exceptions(path: Path) -> list[AuditException]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExceptionsFileError(f"audit exceptions file {path} does not exist") from None
    except yaml.YAMLError as error:
        raise ExceptionsFileError(f"audit exceptions file {path} is not YAML: {error}") from None
    try:
        return _ExceptionsFile.model_validate(data or {}).exceptions
    except ValidationError as error:
        problems = "; ".join(
            f"exceptions[{'.'.join(str(p) for p in e['loc'][1:])}]: {e['msg']}" for e in error.errors()
        )
        raise ExceptionsFileError(
            f"audit exceptions file {path}: {problems} (expected id, package, a reason of at least 20 "
            "characters, and a date YYYY-MM-DD)"
        ) from None


class PipAuditOutcome(BaseModel):
    """What pip-audit could say: the findings in the packages it audited, and why it did not
    audit the rest."""

    audited: set[str] = Field(default_factory=set)
    findings: list[Finding] = Field(default_factory=list)
    problem: str | None = None


def run_pip_audit(lock: Path, timeout: float = 600) -> PipAuditOutcome:
    """pip-audit over the pins as they are (`--no-deps --disable-pip`): PyPI's vulnerability
    data, newer than any snapshot, when this machine can reach it."""
    executable = shutil.which("pip-audit", path=str(Path(sys.executable).parent)) or shutil.which("pip-audit")
    if executable is None:
        return PipAuditOutcome(problem="pip-audit is not installed")
    command = [executable, "-r", str(lock), "--no-deps", "--disable-pip", "--progress-spinner", "off"]
    command += ["--format", "json"]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return PipAuditOutcome(problem=f"pip-audit did not finish within {timeout:.0f} s")
    try:
        dependencies = json.loads(result.stdout)["dependencies"]
    except (json.JSONDecodeError, KeyError, TypeError):
        return PipAuditOutcome(problem=f"pip-audit could not run: {result.stderr.strip()[-300:]}")
    outcome = PipAuditOutcome()
    skipped: list[str] = []
    for dependency in dependencies:
        if "skip_reason" in dependency:
            skipped.append(dependency["skip_reason"])
            continue
        outcome.audited.add(normalize_name(dependency["name"]))
        outcome.findings.extend(
            Finding(
                package=dependency["name"],
                version=dependency["version"],
                advisory_id=vuln["id"],
                aliases=vuln.get("aliases", []),
                fixed_in=vuln.get("fix_versions", []),
                source="pip-audit",
            )
            for vuln in dependency.get("vulns", [])
        )
    if skipped:
        outcome.problem = (
            f"pip-audit could not audit {len(skipped)} of {len(dependencies)} packages: {skipped[0]}"
        )
    return outcome


class AuditReport(BaseModel):
    """The audit's answer: what was audited against what, and the findings sorted into those
    still open, those excepted with a reason, and exceptions that no longer match anything."""

    coverage: str
    notes: list[str] = Field(default_factory=list)
    uncovered: list[str] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    excepted: list[tuple[Finding, AuditException]] = Field(default_factory=list)
    stale: list[AuditException] = Field(default_factory=list)

    @property
    def passed(self) -> bool:
        """No open finding and no package left unaudited. A stale exception does not fail
        the audit: offline it may be for an advisory newer than the snapshot."""
        return not self.findings and not self.uncovered

    def render(self) -> str:
        lines = [self.coverage, *self.notes]
        if self.uncovered:
            lines.append(
                f"NOT AUDITED: {', '.join(self.uncovered)} are not in the advisory snapshot "
                "(run `python -m servicemap.dependency_audit refresh` after changing the lock)"
            )
        lines.append(
            f"{len(self.findings)} open finding(s): raise the pin, or record an exception with a reason"
        )
        lines.extend(f"  {finding.line()}" for finding in self.findings)
        lines.append(f"{len(self.excepted)} excepted finding(s)")
        lines.extend(
            f"  {finding.line()}: excepted {rule.date}: {rule.reason}" for finding, rule in self.excepted
        )
        if self.stale:
            lines.append(f"{len(self.stale)} stale exception(s), matching no finding: remove them")
            lines.extend(f"  {rule.id} ({rule.package}, {rule.date})" for rule in self.stale)
        lines.append("PASSED" if self.passed else "FAILED")
        return "\n".join(lines)


def _merge(first: list[Finding], second: list[Finding]) -> list[Finding]:
    """`first`, then each finding of `second` not already there under one of its ids."""
    merged = list(first)
    for finding in second:
        key = normalize_name(finding.package)
        if not any(normalize_name(f.package) == key and f.ids & finding.ids for f in merged):
            merged.append(finding)
    return merged


def audit_lock(
    pins: list[Pin],
    snapshot: Snapshot,
    exceptions: list[AuditException],
    pip_audit: PipAuditOutcome | None = None,
) -> AuditReport:
    """Audit the pins with pip-audit's outcome when it covered every pin; otherwise against the
    snapshot (plus whatever pip-audit did find), saying so with the snapshot's date."""
    keys = {pin.key for pin in pins}
    notes: list[str] = []
    uncovered: list[str] = []
    if pip_audit is not None and pip_audit.problem is None and keys <= pip_audit.audited:
        coverage = f"audited {len(pins)} packages with pip-audit against PyPI's vulnerability data (online)"
        findings = pip_audit.findings
    else:
        if pip_audit is None:
            notes.append("pip-audit was not run (offline)")
        else:
            notes.append(pip_audit.problem or "pip-audit did not audit every locked package")
        coverage = (
            f"audited {len(pins)} packages against the PyPA advisory snapshot of {snapshot.date} "
            f"(commit {snapshot.snapshot.commit[:12]}): advisories published later are not covered"
        )
        covered = {normalize_name(name) for name in snapshot.packages}
        uncovered = sorted(pin.name for pin in pins if pin.key not in covered)
        findings = _merge(
            match_advisories(pins, snapshot.advisories), pip_audit.findings if pip_audit else []
        )
    open_findings: list[Finding] = []
    excepted: list[tuple[Finding, AuditException]] = []
    for finding in findings:
        rule = next((rule for rule in exceptions if rule.covers(finding)), None)
        if rule is None:
            open_findings.append(finding)
        else:
            excepted.append((finding, rule))
    stale = [rule for rule in exceptions if not any(rule.covers(finding) for finding in findings)]
    return AuditReport(
        coverage=coverage,
        notes=notes,
        uncovered=uncovered,
        findings=open_findings,
        excepted=excepted,
        stale=stale,
    )


def _git(checkout: Path, *args: str, stdin: bytes | None = None) -> bytes:
    try:
        result = subprocess.run(
            ["git", "-C", str(checkout), *args], input=stdin, capture_output=True, check=True
        )
    except FileNotFoundError:
        raise SnapshotError("git is not installed: the advisory checkout is read with git") from None
    except subprocess.CalledProcessError as error:
        message = error.stderr.decode(errors="replace").strip()
        raise SnapshotError(
            f"{checkout}: git {args[0]} failed ({message}); expected a checkout or bare git directory "
            "of the PyPA advisory database"
        ) from None
    return result.stdout


def _read_blobs(checkout: Path, rev: str, paths: list[str]) -> dict[str, bytes]:
    """The files at `rev`, read in one `git cat-file --batch`: a working tree and a bare
    mirror are read alike, and exactly as committed."""
    out = _git(checkout, "cat-file", "--batch", stdin="".join(f"{rev}:{path}\n" for path in paths).encode())
    blobs: dict[str, bytes] = {}
    position = 0
    for path in paths:
        end = out.index(b"\n", position)
        header = out[position:end].split()
        if len(header) != 3:
            raise SnapshotError(f"{checkout}: {rev}:{path} could not be read ({header!r})")
        size = int(header[2])
        blobs[path] = out[end + 1 : end + 1 + size]
        position = end + 2 + size
    return blobs


def _load_yaml(text: bytes):
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def build_snapshot(checkout: Path, pins: list[Pin], rev: str = "HEAD") -> Snapshot:
    """The facts of every advisory in `checkout` at `rev` that affects a locked package: ids,
    aliases, ECOSYSTEM ranges (or the version list when there is none), dates and a link to
    the advisory at that commit. The advisories' prose is not copied."""
    commit = _git(checkout, "rev-parse", "--verify", f"{rev}^{{commit}}").decode().strip()
    commit_date = datetime.fromisoformat(_git(checkout, "log", "-1", "--format=%cI", commit).decode().strip())
    listing = _git(checkout, "ls-tree", "-r", "--name-only", commit, "vulns/").decode().splitlines()
    paths = [path for path in listing if _ADVISORY_PATH.match(path)]
    if not paths:
        raise SnapshotError(
            f"{checkout}: no vulns/<package>/<id>.yaml at {commit[:12]} (not the advisory database?)"
        )
    wanted = {pin.key for pin in pins}
    advisories: list[Advisory] = []
    problems: list[str] = []
    for path, blob in _read_blobs(checkout, commit, paths).items():
        try:
            document = _load_yaml(blob)
            advisory = _advisory_facts(document, wanted, f"{ADVISORY_REPOSITORY}/blob/{commit}/{path}")
        except (yaml.YAMLError, ValidationError, KeyError, TypeError, AttributeError) as error:
            problems.append(f"{path}: {type(error).__name__}: {str(error)[:200]}")
            continue
        if advisory is not None:
            advisories.append(advisory)
    if problems:
        raise SnapshotError(
            f"{checkout} at {commit[:12]}: {len(problems)} advisories unreadable: {'; '.join(problems)}"
        )
    advisories.sort(key=lambda a: (normalize_name(a.affected[0].package), a.id))
    return Snapshot(
        snapshot=SnapshotSource(
            repository=ADVISORY_REPOSITORY,
            commit=commit,
            commit_date=commit_date,
            licence=ADVISORY_LICENCE,
            attribution=ATTRIBUTION,
        ),
        packages=sorted(wanted),
        advisories=advisories,
    )


def _advisory_facts(document: dict, wanted: set[str], url: str) -> Advisory | None:
    affected: list[Affected] = []
    for entry in document.get("affected") or []:
        package = entry["package"]
        if package.get("ecosystem") != "PyPI" or normalize_name(package["name"]) not in wanted:
            continue
        ranges = [
            AffectedRange(events=[{str(k): str(v) for k, v in event.items()} for event in rng["events"]])
            for rng in entry.get("ranges") or []
            if rng.get("type") == "ECOSYSTEM"
        ]
        versions = [] if ranges else [str(version) for version in entry.get("versions") or []]
        affected.append(Affected(package=package["name"], ranges=ranges, versions=versions))
    if not affected:
        return None
    return Advisory(
        id=document["id"],
        aliases=document.get("aliases") or [],
        affected=affected,
        published=document.get("published"),
        modified=document["modified"],
        withdrawn=document.get("withdrawn"),
        url=url,
    )


def write_snapshot(snapshot: Snapshot, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(snapshot.model_dump_json(indent=1) + "\n", encoding="utf-8")


cli = typer.Typer(help="Audit requirements.lock for known vulnerabilities.", no_args_is_help=True)
LockOption = Annotated[Path, typer.Option("--lock", help="The lock file of pinned dependencies.")]
SnapshotOption = Annotated[Path, typer.Option("--snapshot", help="The bundled advisory snapshot.")]


@cli.command()
def check(
    lock: LockOption = LOCK,
    snapshot: SnapshotOption = SNAPSHOT,
    exceptions: Annotated[
        Path, typer.Option("--exceptions", help="Findings accepted with a reason.")
    ] = EXCEPTIONS,
    offline: Annotated[
        bool, typer.Option("--offline", help="Skip pip-audit; use the snapshot only.")
    ] = False,
) -> None:
    """Print the audit report; exit 1 on an open finding or an unaudited package."""
    try:
        pins = read_lock(lock)
        loaded = load_snapshot(snapshot)
        rules = load_exceptions(exceptions)
    except DependencyAuditError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    outcome = None if offline else run_pip_audit(lock)
    report = audit_lock(pins, loaded, rules, outcome)
    typer.echo(report.render())
    raise typer.Exit(0 if report.passed else 1)


@cli.command()
def refresh(
    checkout: Annotated[
        Path, typer.Argument(help="A checkout or bare git directory of pypa/advisory-database.")
    ],
    lock: LockOption = LOCK,
    output: Annotated[Path, typer.Option("--output", help="Where to write the snapshot.")] = SNAPSHOT,
    rev: Annotated[str, typer.Option("--rev", help="The commit to read.")] = "HEAD",
) -> None:
    """Rebuild the snapshot from an advisory-database checkout, for the packages of the lock."""
    try:
        built = build_snapshot(checkout, read_lock(lock), rev)
    except DependencyAuditError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    write_snapshot(built, output)
    typer.echo(
        f"{output}: {len(built.advisories)} advisories for {len(built.packages)} packages, "
        f"{built.snapshot.repository} at {built.snapshot.commit[:12]} ({built.date})"
    )


if __name__ == "__main__":
    cli()
