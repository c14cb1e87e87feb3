"""Where the jobs' steps run: in subprocesses of the run (Dagster's default), in the run's own
process, or on Celery workers fed through a broker such as Redis. The choice is the run's
`execution` config, so the same definitions serve `dagster dev`, a Celery cluster and the
tests, and the UI shows for every run where it ran."""

from __future__ import annotations

import multiprocessing
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat

import dagster as dg
from dagster._core.definitions.executor_definition import multi_or_in_process_executor
from dagster._core.execution.retries import RetryMode
from dagster_celery.executor import CELERY_CONFIG, CeleryExecutor

PARTITION_TAG = "dagster/partition"


def _requirements(executor_config: Mapping) -> Sequence[dg.ExecutorRequirement]:
    if "in_process" in executor_config:
        return []
    return dg.multiple_process_executor_requirements()


@dg.executor(
    name="servicemap",
    config_schema=dg.Field(
        dg.Selector(
            {
                **multi_or_in_process_executor.config_schema.config_type.fields,
                "celery": dg.Field(CELERY_CONFIG),
            }
        ),
        default_value={"multiprocess": {}},
    ),
    requirements=_requirements,
)
def servicemap_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    """`multiprocess` (default), `in_process`, or `celery` with the broker and result backend
    the workers listen on: every step, e.g. one source's crawl, becomes one Celery task."""
    celery = init_context.executor_config.get("celery")
    if celery is None:
        return multi_or_in_process_executor.executor_creation_fn(init_context)
    return CeleryExecutor(
        broker=celery.get("broker"),
        backend=celery.get("backend"),
        include=celery.get("include"),
        config_source=celery.get("config_source"),
        retries=RetryMode.from_config(celery["retries"]),
    )


def celery_execution(broker: str, backend: str) -> dict:
    """The run config that sends a run's steps to the Celery workers on `broker`."""
    return {"execution": {"config": {"celery": {"broker": broker, "backend": backend}}}}


def ingest_job() -> dg.JobDefinition:
    """The ingest job, as a Celery worker loads it: from this module, by name."""
    from pipelines.definitions import defs  # which itself imports this module's executor

    return defs.resolve_job_def("ingest_sources")


def directory_job() -> dg.JobDefinition:
    """The directory job, as a Celery worker loads it."""
    from pipelines.definitions import defs

    return defs.resolve_job_def("build_directory")


class RunsFailed(RuntimeError):
    """A run of the distributed pipeline failed; the instance's event log has its steps' errors."""


def run_distributed(
    instance: dg.DagsterInstance, source_ids: Sequence[str], run_config: dict, parallel_sources: int
) -> dict[str, str]:
    """Run every source's ingest and then the directory with `run_config`'s executor, up to
    `parallel_sources` source runs at a time, each in its own Dagster run as from the UI.

    Each source run is coordinated from its own process: Dagster sets up a run's logging in a
    way that deadlocks when two runs start in threads of one process. A failed source run does
    not stop the others or the directory, as in `servicemap run`; a failed directory run
    raises. Returns the run id of every source and of 'directory'."""
    spawn = multiprocessing.get_context("spawn")  # no fork of the caller's threads
    with ProcessPoolExecutor(max_workers=parallel_sources, mp_context=spawn) as pool:
        run_ids = dict(zip(source_ids, pool.map(_ingest, source_ids, repeat(run_config)), strict=True))
    result = dg.execute_job(dg.reconstructable(directory_job), instance, run_config=run_config)
    if not result.success:
        raise RunsFailed(f"the directory run {result.run_id} failed: see it in the Dagster UI")
    return {**run_ids, "directory": result.run_id}


def _ingest(source_id: str, run_config: dict) -> str:
    """One source's ingest run, on the instance of $DAGSTER_HOME; returns its run id."""
    with dg.DagsterInstance.get() as instance:
        result = dg.execute_job(
            dg.reconstructable(ingest_job), instance, run_config=run_config, tags={PARTITION_TAG: source_id}
        )
        return result.run_id
