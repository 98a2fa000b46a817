"""The ingestion DAG kind: one ``ingest_<source>`` DAG per ``config/sources/<source>.yml``.

Shape: ``prepare_tables`` -> one ``load_<entity>`` per entity -> ``report_loads`` (row accounting)
-> ``quality_gate_raw_<source>``, whose outlets are the raw tables' Assets.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, CronDataIntervalTimetable, dag, task

from cx_warehouse.airflow.assets import raw_asset
from cx_warehouse.airflow.common import DEFAULT_ARGS, START_DATE, quality_gate
from cx_warehouse.ingest.sources import get_source


@task
def prepare_tables(source: str) -> list[str]:
    """Create the audit tables and this source's raw tables (idempotent)."""
    from cx_warehouse.ingest.service import prepare_warehouse

    return prepare_warehouse([source])


@task
def load_entity_files(source: str, entity: str, **context: Any) -> dict[str, Any]:
    """Load every landed file of one entity not yet loaded, up to the interval's end.

    A file that cannot be loaded fails the task at once, without retries: the same bytes
    would fail again. Connection trouble and the like still retry.
    """
    from airflow.sdk.exceptions import AirflowFailException

    from cx_warehouse.ingest.loader import LoadError, RunContext
    from cx_warehouse.ingest.service import interval_until, load_source_entity

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
    from cx_warehouse.ingest.accounting import check_run_accounting

    return check_run_accounting(source, str(context.get("run_id") or "manual"), summaries)


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


