"""The `validated_records` gate: the Great Expectations suite run once over the whole batch."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import great_expectations as gx
import pandas as pd
from great_expectations.data_context.types.base import ProgressBarsConfig
from pydantic import BaseModel, Field

from servicemap.records import NormalizedRecord, Rejection, StageResult
from servicemap.reporting import markdown_table

STAGE = "validate"
SUITE_PATH = Path(__file__).with_name("normalized_records.suite.json")
COLUMNS = (
    "record_id",
    "source_id",
    "url",
    "extraction",
    "name",
    "description",
    "postcode",
    "phones",
    "phone_kinds",
    "emails",
    "website",
    "schedule_hours",
    "language",
    "latitude",
    "longitude",
    "contact_channels",
)


class SuiteError(RuntimeError):
    """The expectation suite itself is broken (a bad expectation or a missing column)."""


class ExpectationOutcome(BaseModel):
    """One expectation of the suite over the batch: what it guards, and how many of how many
    records failed it (`unexpected_count` of `element_count`)."""

    name: str
    reason: str
    success: bool
    unexpected_count: int
    element_count: int = 0


class Validation(BaseModel):
    """The gate's verdict: records kept or rejected with every reason, and each expectation's outcome."""

    result: StageResult[NormalizedRecord]
    expectations: list[ExpectationOutcome] = Field(default_factory=list)
    statistics: dict[str, int | float] = Field(default_factory=dict)
    data_docs_index: Path | None = None

    def expectations_markdown(self) -> str:
        """A small table for Dagster metadata: expectation, passed, records failing it, why it matters."""
        return markdown_table(
            ["expectation", "passed", "failing records", "why it matters"],
            [
                (o.name, "yes" if o.success else "**no**", o.unexpected_count, o.reason)
                for o in self.expectations
            ],
        )


@lru_cache(maxsize=1)
def load_suite(path: Path = SUITE_PATH) -> dict[str, Any]:
    """The suite as data; every expectation must carry a `meta.reason` an operator understands."""
    suite = json.loads(path.read_text(encoding="utf-8"))
    missing = [
        _name(e["type"], e.get("kwargs", {}))
        for e in suite["expectations"]
        if not e.get("meta", {}).get("reason")
    ]
    if missing:
        raise SuiteError(f"{path}: expectations without meta.reason: {', '.join(missing)}")
    return suite


def records_frame(records: list[NormalizedRecord]) -> pd.DataFrame:
    """One row per record, lists joined with ';', plus `contact_channels` (phones, emails,
    website and a street address count one each)."""
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    for record in records:
        address = record.address
        hours = [f"{s.weekday} {s.opens_at}-{s.closes_at}" for s in record.schedules if s.note is None]
        values = (
            record.record_id,
            record.source_id,
            record.url,
            record.extraction,
            record.name,
            record.description,
            address.postcode if address else None,
            ";".join(p.number for p in record.phones) or None,
            ";".join(p.kind for p in record.phones) or None,
            ";".join(record.emails) or None,
            record.website,
            ";".join(hours) or None,
            record.language,
            record.latitude,
            record.longitude,
            bool(record.phones)
            + bool(record.emails)
            + bool(record.website)
            + bool(address and address.street),
        )
        for name, value in zip(COLUMNS, values, strict=True):
            columns[name].append(value)
    frame = pd.DataFrame(columns)
    frame["latitude"] = frame["latitude"].astype("float64")
    frame["longitude"] = frame["longitude"].astype("float64")
    return frame


def validate_records(records: list[NormalizedRecord], data_docs_dir: Path | None = None) -> Validation:
    """Run the suite once over the batch; a record failing any expectation is rejected with the
    reasons of all it failed.

    With `data_docs_dir`, GX writes its Data Docs site there: the front page is
    `data_docs_dir / "index.html"` (returned as `Validation.data_docs_index`), the suite under
    `expectations/`, and this batch's result under `validations/normalized_records/`. An empty
    batch writes no Data Docs: there is nothing to validate.
    """
    suite = load_suite()
    if data_docs_dir is not None:
        data_docs_dir = Path(data_docs_dir).resolve()  # GX refuses a relative site directory
    if not records:
        outcomes = [
            ExpectationOutcome(
                name=_name(e["type"], e["kwargs"]),
                reason=e["meta"]["reason"],
                success=True,
                unexpected_count=0,
            )
            for e in suite["expectations"]
        ]
        return Validation(
            result=StageResult(),
            expectations=outcomes,
            statistics=_statistics(len(suite["expectations"]), 0, 0, 0),
        )
    frame = records_frame(records)
    results = _run(suite, frame, data_docs_dir)
    reasons: dict[int, list[str]] = {}
    outcomes = []
    for outcome in results.results:
        config = outcome.expectation_config
        name = _name(config.type, config.kwargs)
        if outcome.exception_info and outcome.exception_info.get("raised_exception"):
            raise SuiteError(
                f"expectation {name} could not run: {outcome.exception_info.get('exception_message')}"
            )
        failing = outcome.result.get("unexpected_index_list") or []
        for index in failing:
            reasons.setdefault(int(index), []).append(config.meta["reason"])
        outcomes.append(
            ExpectationOutcome(
                name=name,
                reason=config.meta["reason"],
                success=bool(outcome.success),
                unexpected_count=int(outcome.result.get("unexpected_count") or len(failing)),
                element_count=int(outcome.result.get("element_count") or len(records)),
            )
        )
    result: StageResult[NormalizedRecord] = StageResult()
    for index, record in enumerate(records):
        if index in reasons:
            result.rejected.append(
                Rejection(
                    record_id=record.record_id,
                    source_id=record.source_id,
                    url=record.url,
                    stage=STAGE,
                    reason="; ".join(dict.fromkeys(reasons[index])),
                    raw=record.model_dump(mode="json"),
                )
            )
        else:
            result.kept.append(record)
    failed = sum(not o.success for o in outcomes)
    return Validation(
        result=result,
        expectations=outcomes,
        statistics=_statistics(len(outcomes), failed, len(result.kept), len(result.rejected)),
        data_docs_index=Path(data_docs_dir) / "index.html" if data_docs_dir is not None else None,
    )


def _run(suite: dict[str, Any], frame: pd.DataFrame, data_docs_dir: Path | None):
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (
        context.data_sources.add_pandas(name="servicemap")
        .add_dataframe_asset(name="normalized_records")
        .add_batch_definition_whole_dataframe("batch")
    )
    expectation_suite = context.suites.add(
        gx.ExpectationSuite(
            name=suite["name"], expectations=suite["expectations"], meta=suite.get("meta", {})
        )
    )
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name="normalized_records", data=batch, suite=expectation_suite)
    )
    result_format = {"result_format": "COMPLETE", "partial_unexpected_count": 20}
    if data_docs_dir is None:
        return definition.run(batch_parameters={"dataframe": frame}, result_format=result_format)
    context.add_data_docs_site(
        "servicemap",
        {
            "class_name": "SiteBuilder",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(data_docs_dir),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name="normalized_records",
            validation_definitions=[definition],
            actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs", site_names=["servicemap"])],
            result_format=result_format,
        )
    )
    run = checkpoint.run(batch_parameters={"dataframe": frame})
    [validation] = run.run_results.values()
    return validation


def _name(kind: str, kwargs: dict[str, Any]) -> str:
    """'expect_column_values_to_match_regex(postcode)': which rule, on which column."""
    column = kwargs.get("column")
    return f"{kind}({column})" if column else kind


def _statistics(evaluated: int, failed: int, kept: int, rejected: int) -> dict[str, int | float]:
    total = kept + rejected
    return {
        "evaluated_expectations": evaluated,
        "unsuccessful_expectations": failed,
        "records": total,
        "kept": kept,
        "rejected": rejected,
        "rejection_rate": rejected / total if total else 0.0,
    }
