"""The transform DAG kind: ``transform_warehouse``, scheduled on every raw table's Asset.

Shape: one task per step of :data:`cx_warehouse.transform.steps.TRANSFORM_STEPS` -> ``quality_gate_marts``
-> ``grant_bi_access``, whose outlets are the marts' Assets.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, dag, task

from cx_warehouse.airflow.assets import mart_asset, raw_asset
from cx_warehouse.airflow.common import DEFAULT_ARGS, START_DATE, quality_gate
from cx_warehouse.ingest.sources import load_sources


@task
def run_transform_step(task_id: str) -> dict[str, Any]:
    """Run one step of the transform (a dbt layer or a Python model); failures name the node."""
    from cx_warehouse.transform.steps import TRANSFORM_STEPS, run_step

    return run_step(next(s for s in TRANSFORM_STEPS if s.task_id == task_id))


@task
def grant_bi_access() -> str:
    """Re-apply the BI role's read-only grants on marts after the build."""
    from cx_warehouse.warehouse.connection import connect
    from cx_warehouse.warehouse.roles import BI_ROLE, bi_password, ensure_bi_access

    with connect(autocommit=True) as conn:
        ensure_bi_access(conn, bi_password())
    return BI_ROLE


def build_transform_dag() -> DAG:
    """The transform as one DAG, run whenever every raw table has been refreshed.

    Tasks and their order come from :data:`cx_warehouse.transform.steps.TRANSFORM_STEPS`, the same
    plan ``cxw transform`` runs, so the DAG and the CLI cannot drift apart.
    """
    from cx_warehouse.transform.steps import TRANSFORM_STEPS, mart_models

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
            f"{steps}\n\nA step whose inputs did not change since it last succeeded (the dbt "
            "project and rules, and for steps that read data, the loaded files) finishes at once and "
            "says so in its log: the staging views are rebuilt only when their code changes, and a "
            "run after a day with no new files builds nothing. Each dbt task runs dbt in its own "
            "process (no dbt subprocess). Retry a failed task from here; dbt's log is in the task "
            "log and its artefacts in `<CX_HOME>/dbt/target`. Then `quality_gate_marts` validates the marts "
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


