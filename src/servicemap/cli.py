"""`servicemap`: run the pipeline, search and inspect the published directory.

A thin layer: every command calls `servicemap` or `pipelines` and maps their errors to a
clean message and an exit code (2 bad input or config, 3 not found, 1 the run failed)."""

from __future__ import annotations

import json
import os
import sys
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

app = typer.Typer(help="The social-care service directory of a region.", no_args_is_help=True)
sources_app = typer.Typer(help="Check the sources file.", no_args_is_help=True)
evaluate_app = typer.Typer(
    help="Measure quality against the demo region's ground truth.", no_args_is_help=True
)
app.add_typer(sources_app, name="sources")
app.add_typer(evaluate_app, name="evaluate")
taxonomy_app = typer.Typer(help="Check the life-domain taxonomy.", no_args_is_help=True)
app.add_typer(taxonomy_app, name="taxonomy")

console = Console(soft_wrap=True)  # messages and ids are never broken over lines
errors = Console(stderr=True, soft_wrap=True)

EXIT_FAILED, EXIT_BAD_INPUT, EXIT_NOT_FOUND = 1, 2, 3
DEFAULT_DATABASE = "sqlite:///var/directory.sqlite"

DatabaseOption = Annotated[
    str, typer.Option("--database", envvar="SERVICEMAP_DATABASE_URL", help="Directory database URL.")
]
WorkDirOption = Annotated[Path, typer.Option("--work-dir", envvar="SERVICEMAP_WORK_DIR", help="Work files.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def fail(message: str, code: int) -> typer.Exit:
    """Print `message` as plain text ('[0]' in it stays '[0]') and return the exit to raise."""
    errors.print(Text.assemble(("error: ", "bold red"), message))
    return typer.Exit(code)


def progress_bar(total: int | None = None) -> Progress:
    """A bar on stderr, gone when the work is done: stdout keeps only the result (or its JSON).
    With `total` None the bar pulses: work whose length is not known beforehand."""
    columns = [TextColumn("{task.description}"), BarColumn()]
    if total is not None:
        columns.append(MofNCompleteColumn())
    return Progress(*columns, TimeElapsedColumn(), console=errors, transient=True)


@contextmanager
def demo_sources(work_dir: Path):
    """Serve the demo region on free local ports and write its sources.yaml for them."""
    from servicemap.demo.server import render_sources, serve_region

    with serve_region() as base_urls:
        path = work_dir / "demo" / "sources.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_sources(base_urls), encoding="utf-8")
        yield path


def dagster_home(work_dir: Path) -> Path:
    """$DAGSTER_HOME, else `work_dir/dagster`: runs with different work dirs never share stored
    asset values. The repository's dagster.yaml lays out var/dagster the same way."""
    home = Path(os.environ.get("DAGSTER_HOME") or work_dir / "dagster").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    return home


def dagster_instance(work_dir: Path):
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(dagster_home(work_dir))
    return dg.DagsterInstance.get()


@app.command()
def run(
    demo: Annotated[bool, typer.Option("--demo", help="Serve and crawl the bundled demo region.")] = False,
    sources: Annotated[Path | None, typer.Option(help="sources.yaml of the region to crawl.")] = None,
    database: DatabaseOption = DEFAULT_DATABASE,
    work_dir: WorkDirOption = Path("var"),
    as_json: JsonOption = False,
) -> None:
    """Crawl every source, merge, validate, classify and publish the directory."""
    from pipelines.resources import ServicemapSettings
    from pipelines.run import PipelineFailed, run_pipeline
    from servicemap.sources import SourcesConfigError

    if demo == (sources is not None):
        raise fail("give either --demo or --sources PATH", EXIT_BAD_INPUT)
    _ensure_sqlite_dir(database)
    with ExitStack() as stack:
        sources_path = stack.enter_context(demo_sources(work_dir)) if demo else sources
        settings = ServicemapSettings(
            sources_path=str(sources_path), database_url=database, work_dir=str(work_dir)
        )
        instance = stack.enter_context(dagster_instance(work_dir))
        try:
            # One step per source (crawl, normalise, validate), then the directory step.
            steps = len(settings.load_sources().enabled) + 1
            with progress_bar(steps) as bar:
                summary = run_pipeline(settings, instance, progress=_RunSteps(bar, steps))
        except SourcesConfigError as exc:
            raise fail(str(exc), EXIT_BAD_INPUT) from None
        except PipelineFailed as exc:
            raise fail(str(exc), EXIT_FAILED) from None
    if as_json:
        console.print_json(summary.model_dump_json())
        return
    _print_summary(summary)


class _RunSteps:
    """The run's bar: as each step starts, the ones before it are done."""

    def __init__(self, bar: Progress, total: int):
        self.bar = bar
        self.task = bar.add_task("starting", total=total)
        self.started = 0

    def __call__(self, step: str) -> None:
        what = "merging (dedup), classifying, publishing" if step == "directory" else f"crawling {step}"
        self.bar.update(self.task, completed=self.started, description=what)
        self.started += 1


def _ensure_sqlite_dir(database: str) -> None:
    if database.startswith("sqlite:///"):
        Path(database.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


def print_table(title: str | None, columns: list[str], rows, numeric: tuple[str, ...] = ()) -> None:
    """A readable table; every cell is plain text, so crawled text cannot inject Rich markup."""
    table = Table(title=title, title_justify="left", show_lines=title is None)
    for column in columns:
        table.add_column(column, justify="right" if column in numeric else "left", overflow="fold")
    for row in rows:
        table.add_row(*(Text("" if cell is None else str(cell)) for cell in row))
    console.print(table)


def _print_summary(summary) -> None:
    print_table(
        "Sources",
        ["source", "pages", "fetch errors", "records", "kept", "rejected", "problem"],
        [
            (s.source_id, s.pages_fetched, s.fetch_errors, s.crawled, s.kept, s.rejected, s.problem)
            for s in summary.sources
        ],
        numeric=("pages", "fetch errors", "records", "kept", "rejected"),
    )
    if summary.rejected_by_reason:
        print_table(
            "Rejected records by reason",
            ["reason", "records"],
            summary.rejected_by_reason.items(),
            numeric=("records",),
        )
    print_table(
        "Published services by life domain",
        ["domain", "services"],
        summary.services_by_domain.items(),
        numeric=("services",),
    )
    console.print(
        f"Sources crawled: {len(summary.sources)} · records crawled: {summary.crawled} · "
        f"rejected: {summary.rejected} · services published: {summary.services} · "
        f"directory version {summary.version}",
        highlight=False,
    )
    console.print(f"Conservation: {summary.conservation.equation()}", highlight=False)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What you look for, e.g. 'schuldhulp' or 'eenzaam ouderen'.")],
    domain: Annotated[str | None, typer.Option(help="Life domain id, e.g. finances.")] = None,
    zrm: Annotated[str | None, typer.Option(help="ZRM domain, e.g. 'Financiën'.")] = None,
    positive_health: Annotated[
        str | None, typer.Option(help="Positive Health dimension, e.g. 'Meedoen'.")
    ] = None,
    audience: Annotated[str | None, typer.Option(help="Audience term, e.g. ouderen.")] = None,
    sector: Annotated[str | None, typer.Option(help="Sector term, e.g. sociaal_domein.")] = None,
    access: Annotated[str | None, typer.Option(help="Access route, e.g. vrij_toegankelijk.")] = None,
    municipality: Annotated[str | None, typer.Option(help="Municipality name.")] = None,
    language: Annotated[str | None, typer.Option(help="Language code, e.g. nl or en.")] = None,
    age: Annotated[
        int | None, typer.Option(help="The person's age: services whose audience admits it.")
    ] = None,
    near: Annotated[str | None, typer.Option(help="Services near this postcode, e.g. '3511 AB'.")] = None,
    radius_km: Annotated[float | None, typer.Option(help="Distance from --near (default 10).")] = None,
    open_now: Annotated[bool, typer.Option("--open-now", help="Only services open now.")] = False,
    open_at: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
            help="Only services open then, Dutch time, e.g. '2026-03-02 10:30'.",
        ),
    ] = None,
    include_inactive: Annotated[
        bool, typer.Option("--include-inactive", help="Also services no longer found on their sources.")
    ] = False,
    explain: Annotated[bool, typer.Option("--explain", help="Show which words matched where.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 10,
    database: DatabaseOption = DEFAULT_DATABASE,
    as_json: JsonOption = False,
) -> None:
    """Search the published directory."""
    from servicemap.search import InvalidQuery, amsterdam_now
    from servicemap.search import search as search_directory

    if open_now and open_at is not None:
        raise fail("give --open-now or --open-at, not both", EXIT_BAD_INPUT)
    try:
        hits = search_directory(
            database,
            query,
            domain=domain,
            zrm=zrm,
            positive_health=positive_health,
            audience=audience,
            sector=sector,
            access=access,
            municipality=municipality,
            language=language,
            age=age,
            near_postcode=near,
            radius_km=radius_km,
            open_at=amsterdam_now() if open_now else open_at,
            include_inactive=include_inactive,
            explain=explain,
            limit=limit,
        )
    except InvalidQuery as exc:
        raise fail(str(exc), EXIT_BAD_INPUT) from None
    if as_json:
        console.print_json(json.dumps([hit.model_dump() for hit in hits], default=str))
        return
    if not hits:
        console.print("No services found.")
        return
    columns = ["service", "organisation", "municipality", "domains", "phone", "id"]
    rows = [
        [h.name, h.organization, h.municipality, ", ".join(h.domains), ", ".join(h.phones[:1]), h.service_id]
        for h in hits
    ]
    if near is not None:
        columns.append("km")
        for row, hit in zip(rows, hits, strict=True):
            row.append("" if hit.distance_km is None else f"{hit.distance_km:.1f}")
    if explain:
        columns.append("matched")
        for row, hit in zip(rows, hits, strict=True):
            row.append("; ".join(f"{m.word} → {', '.join(m.fields)}" for m in hit.explanation or []))
    print_table(None, columns, rows)


@app.command()
def show(
    service_id: Annotated[str, typer.Argument(help="The service's id (from `servicemap search`).")],
    database: DatabaseOption = DEFAULT_DATABASE,
    as_json: JsonOption = False,
) -> None:
    """Show one published service with its labels and the sources it was found on."""
    from servicemap.publish import NoDirectoryPublished, ServiceNotFound, read_service

    try:
        service = read_service(database, service_id)
    except (ServiceNotFound, NoDirectoryPublished) as exc:
        raise fail(str(exc), EXIT_NOT_FOUND) from None
    if as_json:
        console.print_json(service.model_dump_json())
        return
    console.print(
        Text(service.name, style="bold"), Text(f"({service.organization or 'organisation unknown'})")
    )
    lines = [service.description or ""]
    if service.address:
        lines.append(f"Address: {service.address.one_line()}")
    lines += [f"Phone: {p.number}" + (f" ({p.label})" if p.label else "") for p in service.phones]
    lines += [f"Email: {email}" for email in service.emails]
    if service.website:
        lines.append(f"Website: {service.website}")
    for line in lines:
        console.print(Text(line))
    print_table(
        "Labels",
        ["taxonomy", "term", "confidence", "evidence"],
        [(x.taxonomy, x.term_label, f"{x.confidence:.2f}", "; ".join(x.evidence)) for x in service.labels],
    )
    print_table(
        "Found on",
        ["source", "url", "fetched"],
        [(m.source_id, m.url, m.fetched_at.isoformat(timespec="seconds")) for m in service.members],
    )


@app.command()
def versions(database: DatabaseOption = DEFAULT_DATABASE, as_json: JsonOption = False) -> None:
    """List the kept directory versions, newest first, with their counts."""
    from servicemap.publish import list_versions

    kept = list_versions(database)
    if as_json:
        console.print_json(json.dumps([v.model_dump(mode="json") for v in kept]))
        return
    if not kept:
        raise fail("no directory has been published to this database yet", EXIT_NOT_FOUND)
    print_table(
        "Directory versions",
        [
            "version",
            "published",
            "run",
            "services",
            "inactive",
            "organizations",
            "records",
            "rejected",
            "checks",
            "current",
        ],
        [
            (
                v.id,
                v.published_at.isoformat(timespec="seconds"),
                v.run_id,
                v.services,
                v.inactive_services,
                v.organizations,
                v.source_records,
                v.rejected,
                "overridden" if v.overridden_checks else "passed",
                "yes" if v.is_current else "",
            )
            for v in kept
        ],
        numeric=("services", "inactive", "organizations", "records", "rejected"),
    )
    for v in kept:
        if v.overridden_checks:
            console.print(
                Text(
                    f"Version {v.id} was published although {', '.join(v.overridden_checks)} failed; "
                    f"override reason: {v.override_reason}"
                )
            )


@app.command()
def rollback(database: DatabaseOption = DEFAULT_DATABASE, as_json: JsonOption = False) -> None:
    """Make the version before the current one current again."""
    from servicemap.publish import RollbackError
    from servicemap.publish import rollback as rollback_directory

    try:
        version = rollback_directory(database)
    except RollbackError as exc:
        raise fail(str(exc), EXIT_NOT_FOUND) from None
    if as_json:
        console.print_json(version.model_dump_json())
        return
    console.print(
        f"Version {version.id} of {version.published_at:%Y-%m-%d %H:%M} ({version.services} services) "
        "is current again.",
        highlight=False,
    )


@app.command()
def changes(
    old: Annotated[
        str | None, typer.Option("--from", help="Older version id (default: the one before).")
    ] = None,
    new: Annotated[str | None, typer.Option("--to", help="Newer version id (default: the current).")] = None,
    database: DatabaseOption = DEFAULT_DATABASE,
    as_json: JsonOption = False,
) -> None:
    """What changed between two directory versions: new, changed, inactive and removed services."""
    from servicemap.publish import VersionNotFound, changes_between, list_versions

    kept = list_versions(database)  # newest first
    ids = [v.id for v in kept]
    new = new or next((v.id for v in kept if v.is_current), None)
    if old is None and new in ids and ids.index(new) + 1 < len(ids):
        old = ids[ids.index(new) + 1]
    if new is None or old is None:
        raise fail("fewer than two directory versions are kept: nothing to compare", EXIT_NOT_FOUND)
    try:
        diff = changes_between(database, old, new)
    except VersionNotFound as exc:
        raise fail(str(exc), EXIT_NOT_FOUND) from None
    if as_json:
        console.print_json(diff.model_dump_json())
        return
    rows = [
        (kind, change.name, ", ".join(change.fields), change.id)
        for kind in ("new", "changed", "inactive", "removed")
        for change in getattr(diff, kind)
    ]
    print_table(f"Changes from {old} to {new}", ["change", "service", "fields", "id"], rows)


@app.command()
def export(
    out_dir: Annotated[Path, typer.Argument(help="Directory for the HSDS files.")] = Path("var/export/hsds"),
    database: DatabaseOption = DEFAULT_DATABASE,
    as_json: JsonOption = False,
) -> None:
    """Export the current directory as Open Referral HSDS 3.0 (JSON and a tabular data package)."""
    from servicemap.hsds import export_hsds
    from servicemap.publish import NoDirectoryPublished

    try:
        # export_hsds reports no steps, so the bar pulses until the files are written.
        with progress_bar() as bar:
            bar.add_task(f"exporting to {out_dir}", total=None)
            summary = export_hsds(database, out_dir)
    except NoDirectoryPublished as exc:
        raise fail(str(exc), EXIT_NOT_FOUND) from None
    if as_json:
        console.print_json(summary.model_dump_json())
        return
    console.print(
        f"{summary.services} services of version {summary.version_id} written to {out_dir}:", highlight=False
    )
    for name in summary.files:
        console.print(Text(f"  {name}"))


@evaluate_app.command("dedup")
def evaluate_dedup(
    database: DatabaseOption = DEFAULT_DATABASE,
    ground_truth: Annotated[
        Path | None, typer.Option(help="Ground truth JSON (default: the demo's).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Pairwise and B-cubed precision/recall of the published merge against the ground truth."""
    from servicemap.evaluation import evaluate_merge, load_ground_truth
    from servicemap.publish import NoDirectoryPublished

    try:
        scores = evaluate_merge(database, load_ground_truth(ground_truth))
    except NoDirectoryPublished as exc:
        raise fail(str(exc), EXIT_NOT_FOUND) from None
    if as_json:
        console.print_json(scores.model_dump_json())
        return
    print_table(
        "Merge quality against the ground truth",
        ["measure", "precision", "recall", "F1"],
        [
            (
                "pairwise",
                f"{scores.pairwise_precision:.3f}",
                f"{scores.pairwise_recall:.3f}",
                f"{scores.pairwise_f1:.3f}",
            ),
            (
                "B-cubed",
                f"{scores.bcubed_precision:.3f}",
                f"{scores.bcubed_recall:.3f}",
                f"{scores.bcubed_f1:.3f}",
            ),
        ],
        numeric=("precision", "recall", "F1"),
    )
    console.print(
        f"{scores.records} records in both; pairs: {scores.correct_pairs} correct of "
        f"{scores.predicted_pairs} merged, {scores.true_pairs} true",
        highlight=False,
    )


@evaluate_app.command("classification")
def evaluate_classification(
    database: DatabaseOption = DEFAULT_DATABASE,
    ground_truth: Annotated[
        Path | None, typer.Option(help="Ground truth JSON (default: the demo's).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Per-label precision, recall and F1 of the published labels against the ground truth."""
    from servicemap.evaluation import evaluate_classification as evaluate
    from servicemap.evaluation import format_classification, load_ground_truth
    from servicemap.publish import NoDirectoryPublished

    try:
        scores = evaluate(database, load_ground_truth(ground_truth))
    except NoDirectoryPublished as exc:
        raise fail(str(exc), EXIT_NOT_FOUND) from None
    if as_json:
        console.print_json(json.dumps({name: _label_scores(table) for name, table in scores.items()}))
        return
    console.print(Text(format_classification(scores, markdown=False)))


def _label_scores(scores) -> dict:
    """One taxonomy's scores as `evaluate classification --json` prints them."""

    def score(s) -> dict:
        return {"precision": s.precision, "recall": s.recall, "f1": s.f1, "support": s.support}

    return {
        "items": scores.items,
        "micro": score(scores.micro),
        "per_label": {label: score(s) for label, s in scores.per_label.items()},
    }


@evaluate_app.command("search")
def evaluate_search_quality(
    database: DatabaseOption = DEFAULT_DATABASE,
    ground_truth: Annotated[
        Path | None, typer.Option(help="Ground truth JSON (default: the demo's).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Recall@5 of the search quality set (src/servicemap/demo/search_queries.yaml), per query."""
    from servicemap.evaluation import load_ground_truth
    from servicemap.publish import NoDirectoryPublished
    from servicemap.search.quality import SearchQueriesError, evaluate_search, load_search_queries

    try:
        quality = evaluate_search(database, load_search_queries(), load_ground_truth(ground_truth))
    except NoDirectoryPublished as exc:
        raise fail(str(exc), EXIT_NOT_FOUND) from None
    except SearchQueriesError as exc:
        raise fail(str(exc), EXIT_BAD_INPUT) from None
    if as_json:
        console.print_json(json.dumps({"recall_at_5": quality.recall_at_5, **quality.model_dump()}))
        return
    console.print(Text(quality.table()))
    console.print(f"recall@5: {quality.recall_at_5:.3f} over {len(quality.queries)} queries", highlight=False)


@taxonomy_app.command("check")
def taxonomy_check(
    path: Annotated[Path | None, typer.Argument(help="A taxonomy file (default: the packaged one).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Check a taxonomy file: domains, facets, ZRM and Positive Health mappings, lexicons."""
    from servicemap.classify import TaxonomyError, load_taxonomy

    try:
        taxonomy = load_taxonomy(path)
    except TaxonomyError as exc:
        raise fail(str(exc), EXIT_BAD_INPUT) from None
    if as_json:
        terms = {t.id: [term.id for term in t.terms] for t in taxonomy.taxonomies}
        console.print_json(json.dumps({"path": str(path) if path else None, "valid": True, "terms": terms}))
        return
    counts = ", ".join(f"{t.id}: {len(t.terms)} terms" for t in taxonomy.taxonomies)
    console.print(f"{path or 'the packaged taxonomy'}: valid ({counts}).", highlight=False)


def web_app(database_url: str, cors_origins: list[str]):
    """The HSDS API with the professionals' pages (/zoeken, /dienst/...) beside it."""
    from servicemap.api import create_app
    from servicemap.web import router

    application = create_app(database_url, cors_origins=cors_origins)
    application.state.database_url = database_url
    application.include_router(router, include_in_schema=False)
    return application


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    cors_origin: Annotated[list[str], typer.Option(help="An origin allowed to call the API.")] = [],  # noqa: B006
    database: Annotated[
        str,
        typer.Option(
            "--database",
            # The pipeline's URL serves a SQLite directory as well; on PostgreSQL its writer
            # role is refused below, so the read-only role's URL must be given.
            envvar=["SERVICEMAP_API_DATABASE_URL", "SERVICEMAP_DATABASE_URL"],
            help="Directory database URL to read; on PostgreSQL the read-only role's (docs/security.md).",
        ),
    ] = DEFAULT_DATABASE,
) -> None:
    """Serve the HSDS 3.0 API and the search page for professionals (http://HOST:PORT/zoeken)."""
    import uvicorn

    from servicemap.api.security import SecuritySettingsError, WritableDatabaseRole, ensure_read_only

    try:
        ensure_read_only(database)
        application = web_app(database, cors_origin)
    except (WritableDatabaseRole, SecuritySettingsError) as exc:
        raise fail(str(exc), EXIT_BAD_INPUT) from None
    uvicorn.run(application, host=host, port=port)


@app.command()
def ui(
    demo: Annotated[bool, typer.Option("--demo", help="Serve the demo region for the crawl.")] = False,
    database: DatabaseOption = DEFAULT_DATABASE,
    work_dir: WorkDirOption = Path("var"),
) -> None:
    """Start `dagster dev` on this checkout (the demo region served alongside with --demo)."""
    import subprocess

    if not Path("pyproject.toml").is_file():
        raise fail(
            "run this in the servicemap checkout: dagster dev loads its pyproject.toml", EXIT_BAD_INPUT
        )
    _ensure_sqlite_dir(database)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home(work_dir)),
        "SERVICEMAP_DATABASE_URL": database,
        "SERVICEMAP_WORK_DIR": str(work_dir),
    }
    with ExitStack() as stack:
        if demo:
            env["SERVICEMAP_SOURCES"] = str(stack.enter_context(demo_sources(work_dir)))
        dagster = Path(sys.executable).with_name("dagster")
        raise typer.Exit(subprocess.call([str(dagster), "dev"], env=env))


@sources_app.command("check")
def sources_check(
    path: Annotated[Path, typer.Argument(help="The sources file.")] = Path("sources.yaml"),
    as_json: JsonOption = False,
) -> None:
    """Check a sources file without crawling anything."""
    from servicemap.sources import SourcesConfigError, load_sources

    try:
        sources = load_sources(path)
    except SourcesConfigError as exc:
        raise fail(str(exc), EXIT_BAD_INPUT) from None
    if as_json:
        listed = [{"id": s.id, "kind": s.kind, "enabled": s.enabled} for s in sources.sources]
        console.print_json(json.dumps({"path": str(path), "valid": True, "sources": listed}))
        return
    console.print(f"{path}: {len(sources.sources)} source(s), all valid.")
