"""Airflow glue: builds the ingestion DAGs from the declarative source configs.

Imported by the files in ``dags/`` at parse time, so it imports only ``airflow.sdk`` and
reads only the small YAML source definitions; the loader, psycopg and the database are
touched inside task bodies.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import DAG, Asset, CronDataIntervalTimetable, dag, task

from cx_warehouse.sources import Entity, get_source, load_sources

log = logging.getLogger(__name__)

START_DATE = datetime(2025, 1, 1, tzinfo=UTC)


def raw_asset(entity: Entity) -> Asset:
    """The Asset that stands for ``raw.<source>_<entity>``; downstream DAGs schedule on it."""
    return Asset(name=entity.qualified_table, uri=entity.asset_uri, group="raw")


def notify_failure(context: dict[str, Any]) -> None:
    """Log one line a person can act on; alert channels hook in here."""
    ti = context.get("task_instance")
    exc = context.get("exception")
    log.error(
        "cx-warehouse: task %s.%s failed for the interval %s - %s (try %s): %s",
        getattr(ti, "dag_id", "?"), getattr(ti, "task_id", "?"),
        context.get("data_interval_start"), context.get("data_interval_end"),
        getattr(ti, "try_number", "?"), exc,
    )


DEFAULT_ARGS: dict[str, Any] = {
    "owner": "data-engineering",
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "execution_timeout": timedelta(hours=1),
    "on_failure_callback": notify_failure,
}


@task
def prepare_tables(source: str) -> list[str]:
    """Create the audit tables and this source's raw tables (idempotent)."""
    from cx_warehouse.pipeline import prepare_warehouse

    return prepare_warehouse([source])


@task
def load_entity_files(source: str, entity: str, **context: Any) -> dict[str, Any]:
    """Load every landed file of one entity not yet loaded, up to the interval's end.

    A file that cannot be loaded fails the task at once, without retries: the same bytes
    would fail again. Connection trouble and the like still retry.
    """
    from airflow.sdk.exceptions import AirflowFailException

    from cx_warehouse.loading import LoadError, RunContext
    from cx_warehouse.pipeline import interval_until, load_source_entity

    run = RunContext(
        run_id=str(context.get("run_id") or "manual"),
        interval_start=context.get("data_interval_start"),
        interval_end=context.get("data_interval_end"),
    )
    try:
        return load_source_entity(source, entity, until=interval_until(run.interval_end), run=run)
    except LoadError as exc:
        raise AirflowFailException(str(exc)) from None


@task
def report_loads(source: str, summaries: Any, **context: Any) -> dict[str, Any]:
    """Log what this run landed where, and prove the row accounting for its files."""
    from cx_warehouse.reporting import check_run_accounting

    return check_run_accounting(source, str(context.get("run_id") or "manual"), summaries)


@task
def run_transform_step(task_id: str) -> dict[str, Any]:
    """Run one step of the transform (a dbt layer or a Python model); failures name the node."""
    from cx_warehouse.transform import TRANSFORM_STEPS, run_step

    return run_step(next(s for s in TRANSFORM_STEPS if s.task_id == task_id))


@task
def quality_gate(gate: str, **context: Any) -> dict[str, Any]:
    """Validate the gate's GX suites; a critical failure fails the task, without retries.

    The same data fails the same way on a retry, so the task fails at once; its Assets are
    not emitted, so nothing downstream runs on the data. Fix the data (or the suite, in a
    reviewed commit) and clear the task. Warnings are logged and stored, and do not block.
    """
    from airflow.sdk.exceptions import AirflowFailException

    from cx_warehouse.quality.gates import GateRun, run_gate

    run = GateRun(run_id=str(context.get("run_id") or "manual"),
                  interval_start=context.get("data_interval_start"),
                  interval_end=context.get("data_interval_end"))
    report = run_gate(gate, run)
    if not report.passed:
        raise AirflowFailException(report.summary())
    return {"gate": gate, "gate_run_id": str(report.gate_run_id), "warnings": len(report.warnings),
            "seconds": round(report.seconds, 2), "data_docs": str(report.docs_index or "")}


@task
def grant_bi_access() -> str:
    """Re-apply the BI role's read-only grants on marts after the build."""
    from cx_warehouse.bi_access import BI_ROLE, bi_password, ensure_bi_access
    from cx_warehouse.warehouse import connect

    with connect(autocommit=True) as conn:
        ensure_bi_access(conn, bi_password())
    return BI_ROLE


def mart_asset(model: str) -> Asset:
    """The Asset that stands for ``marts.<model>``; report DAGs schedule on these."""
    return Asset(name=f"marts.{model}", uri=f"postgres://warehouse/marts/{model}", group="marts")


def build_transform_dag() -> DAG:
    """The transform as one DAG, run whenever every raw table has been refreshed.

    Tasks and their order come from :data:`cx_warehouse.transform.TRANSFORM_STEPS`, the same
    plan ``cxw transform`` runs, so the DAG and the CLI cannot drift apart.
    """
    from cx_warehouse.transform import TRANSFORM_STEPS, mart_models

    raw_assets = [raw_asset(e) for s in load_sources().values() for e in s.entities]
    marts = [mart_asset(m) for m in mart_models()]
    steps = "\n".join(f"- `{s.task_id}`: {s.doc}" for s in TRANSFORM_STEPS)

    @dag(
        dag_id="transform_warehouse",
        schedule=raw_assets,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["transform", "dbt"],
        doc_md=(
            "### Transform the warehouse\n\nRuns after every raw table has been refreshed by the "
            "ingestion DAGs (its schedule is their Assets). Each dbt task runs `dbt build` on its "
            "selection (models, snapshots and their tests), so a failing test stops the tasks "
            "after it; the Python tasks fit and score models between the layers:\n\n"
            f"{steps}\n\nRetry a failed task from here; dbt's log is in the task log and its "
            "artefacts in `<CX_HOME>/dbt/target`. Then `quality_gate_marts` validates the marts "
            "with the GX suites of `expectations/marts/` (docs/quality.md): a critical failure stops "
            "the run there. Last, `grant_bi_access` re-applies the read-only BI role's grants on "
            "`marts` (docs/bi.md); the marts' Assets are its outlets, so reports only see marts "
            "that passed the gate."
        ),
    )
    def transform() -> None:
        tasks: dict[str, Any] = {}
        for step in TRANSFORM_STEPS:
            tasks[step.task_id] = run_transform_step.override(task_id=step.task_id, doc_md=step.doc)(step.task_id)
            for upstream in step.upstream:
                tasks[upstream] >> tasks[step.task_id]
        gate = quality_gate.override(
            task_id="quality_gate_marts",
            doc_md="GX suites of every mart (`expectations/marts/`); a critical failure stops the "
                   "run here, before the BI grants and the marts' Assets that reports schedule on.",
        )("marts")
        grant = grant_bi_access.override(task_id="grant_bi_access", outlets=marts)()
        tasks[TRANSFORM_STEPS[-1].task_id] >> gate >> grant

    return transform()


def build_ingest_dag(source_name: str) -> DAG:
    """One ingestion DAG per source system, entirely from ``config/sources/<source>.yml``."""
    src = get_source(source_name)
    entity_lines = "\n".join(
        f"| `{e.name}` | `{e.pattern}` | `{e.qualified_table}` | {', '.join(e.primary_key)} |"
        for e in src.entities)
    doc = (
        f"### Ingest {src.name}\n\n{src.description}\n\n"
        "Each run loads every landed file delivered before the end of its data interval that "
        "is not loaded yet (by path and SHA-256), so the first run takes the whole history and "
        "re-runs change nothing. Rows failing typing or required fields go to "
        "`audit.quarantine`; every file is recorded in `audit.load_audit`. Then "
        f"`quality_gate_raw_{src.name}` validates the new rows with the GX suites of "
        "`expectations/raw/` (docs/quality.md); the raw tables' Assets, which the transform "
        "schedules on, are emitted only when no critical expectation failed.\n\n"
        "| entity | files | raw table | key |\n|---|---|---|---|\n" + entity_lines
        + f"\n\nGenerated from `{src.config_file.name if src.config_file else ''}`."
    )

    @dag(
        dag_id=f"ingest_{src.name}",
        schedule=CronDataIntervalTimetable(src.schedule, timezone="UTC"),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args={**DEFAULT_ARGS, "owner": src.owner},
        tags=["ingest", src.name],
        doc_md=doc,
    )
    def ingest() -> None:
        prepared = prepare_tables.override(task_id="prepare_tables")(src.name)
        loads = []
        for e in src.entities:
            loaded = load_entity_files.override(
                task_id=f"load_{e.name}",
                doc_md=f"Load `{e.pattern}` into `{e.qualified_table}`.",
            )(src.name, e.name)
            prepared >> loaded
            loads.append(loaded)
        reported = report_loads.override(task_id="report_loads")(src.name, loads)
        gate = quality_gate.override(
            task_id=f"quality_gate_raw_{src.name}", outlets=[raw_asset(e) for e in src.entities],
            doc_md=f"GX suites of the {src.name} raw tables, their deliveries and freshness "
                   f"(gate `raw_{src.name}` in `expectations/gates.yml`).",
        )(f"raw_{src.name}")
        reported >> gate

    return ingest()


@task
def render_report(report_id: str, **context: Any) -> str:
    """Render the run's period into the archive (or the owners' "data delayed" notice)."""
    from cx_warehouse.reports.service import period_for_run, render

    period = period_for_run(report_id, context["data_interval_start"])
    rendered = render(report_id, period)
    log.info("%s", rendered.describe())
    return str(rendered.directory)


@task
def deliver_report(directory: str) -> dict[str, Any]:
    """Send what the render task archived; retried while the mail server is unreachable.

    Each try sends only to recipients the outbox does not record as sent, so a retry or a
    re-run never sends anyone the same report twice, and the archive is never re-rendered here.
    """
    from pathlib import Path

    from cx_warehouse.reports.service import deliver

    return deliver(Path(directory))


DELIVERY_ARGS: dict[str, Any] = {"retries": 5, "retry_delay": timedelta(minutes=5), "retry_exponential_backoff": True,
                                 "max_retry_delay": timedelta(hours=1)}


def build_report_dag(report_id: str) -> DAG:
    """One DAG per report definition (``reports/<report_id>/report.yml``), on its cron in the
    business time zone: render into the archive, then deliver."""
    from cx_warehouse.business import load_business
    from cx_warehouse.reports.definitions import get_report

    spec = get_report(report_id)
    timezone = load_business().timezone
    recipients = ", ".join(spec.recipients or tuple(a for r in spec.routes for a in r.recipients))

    @dag(
        dag_id=f"report_{spec.id}",
        schedule=CronDataIntervalTimetable(spec.cron, timezone=timezone),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args={**DEFAULT_ARGS, "owner": "cx-reporting"},
        tags=["report", spec.schedule],
        doc_md=(
            f"### {spec.title}\n\n{spec.description}\n\n"
            f"Runs `{spec.cron}` ({timezone}) and reports on the {spec.grain} the data interval starts in. "
            f"For: {', '.join(spec.audience)}. To: {recipients}.\n\n"
            "`render` checks the data first: when the marts do not cover the period, a quality gate "
            "stopped or a transform step failed, the report's owners get a short \"data delayed\" "
            "notice saying why instead, and the report follows when this run is cleared after the fix. "
            "Everything rendered is archived under `<CX_HOME>/reports/archive/` before `deliver` sends "
            "it; `deliver` retries while the mail server is down and skips recipients the outbox "
            "(`reports.outbox`) records as sent. Mail goes through the Airflow connection `cx_smtp`.\n\n"
            f"Defined in `reports/{spec.id}/report.yml` (docs/reports.md)."
        ),
    )
    def report() -> None:
        rendered = render_report.override(task_id="render")(spec.id)
        deliver_report.override(task_id="deliver", **DELIVERY_ARGS)(rendered)  # type: ignore[arg-type]

    return report()
