"""Every DAG imports cleanly, is shaped as the house style says, and parses without I/O."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cx_warehouse.ingest.sources import load_sources

DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    os.environ.setdefault("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow_home")))
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_every_dag_file_imports_without_errors(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert dagbag.import_errors == {}
    assert len(dagbag.dags) == len(list(DAGS.glob("*.py")))


def test_one_ingestion_dag_per_source_named_after_its_file(dagbag) -> None:  # type: ignore[no-untyped-def]
    expected = {f"ingest_{name}" for name in load_sources()}
    assert expected <= set(dagbag.dags)
    for dag_id, dag in dagbag.dags.items():
        assert Path(dag.fileloc).stem == dag_id


def test_ingestion_dags_have_data_intervals_retries_owners_and_assets(dagbag) -> None:  # type: ignore[no-untyped-def]
    from airflow.sdk import CronDataIntervalTimetable

    for name, source in load_sources().items():
        dag = dagbag.dags[f"ingest_{name}"]
        assert type(dag.timetable).__name__ == CronDataIntervalTimetable.__name__, "needs real data intervals"
        assert dag.catchup is False and dag.max_active_runs == 1
        assert dag.doc_md and name in dag.doc_md
        for task in dag.tasks:
            assert task.retries >= 1, task.task_id
            assert task.owner and task.owner != "airflow", task.task_id
            assert task.execution_timeout is not None, task.task_id
            assert task.on_failure_callback, task.task_id
        # Only the raw quality gate emits the raw Assets: a critical failure keeps the
        # transform (scheduled on them) from running on the data.
        gate = dag.get_task(f"quality_gate_raw_{name}")
        assert {a.name for a in gate.outlets} == {e.qualified_table for e in source.entities}
        assert all(not t.outlets for t in dag.tasks if t is not gate)
        assert gate.upstream_task_ids == {"report_loads"} and not gate.downstream_task_ids
        loads = [t for t in dag.tasks if t.task_id.startswith("load_")]
        assert {t.task_id for t in loads} == {f"load_{e.name}" for e in source.entities}
        for t in loads:
            assert t.upstream_task_ids == {"prepare_tables"}
            assert t.downstream_task_ids == {"report_loads"}


def test_one_report_dag_per_report_definition_renders_then_delivers(dagbag) -> None:  # type: ignore[no-untyped-def]
    from airflow.sdk import CronDataIntervalTimetable

    from cx_warehouse.config.business import load_business
    from cx_warehouse.reports.definitions import load_reports

    specs = load_reports()
    assert {"weekly_scorecard", "monthly_executive", "daily_at_risk", "close_the_loop"} <= set(specs)
    assert {d for d in dagbag.dags if d.startswith("report_")} == {f"report_{r}" for r in specs}
    for rid, spec in specs.items():
        dag = dagbag.dags[f"report_{rid}"]
        # a real data interval in the business time zone: the run reports on the period it covers
        assert type(dag.timetable).__name__ == CronDataIntervalTimetable.__name__
        assert dag.timetable.expression == spec.cron and str(dag.timetable.timezone) == load_business().timezone
        assert dag.catchup is False and dag.max_active_runs == 1 and rid in (dag.doc_md or "")
        render, deliver = dag.get_task("render"), dag.get_task("deliver")
        assert render.downstream_task_ids == {"deliver"} and not deliver.downstream_task_ids
        # the mail server may be down for a while: delivery keeps retrying, the archive stays
        assert deliver.retries >= 3 and deliver.retry_exponential_backoff
        for task in dag.tasks:
            assert task.owner == "cx-reporting" and task.execution_timeout and task.on_failure_callback


def test_no_cycles(dagbag) -> None:  # type: ignore[no-untyped-def]
    for dag in dagbag.dags.values():
        order = [t.task_id for t in dag.topological_sort()]
        assert len(order) == len(dag.tasks)


def test_dag_files_are_thin() -> None:
    """DAG files describe; the package does: no SQL, pandas, or database clients in them."""
    for path in DAGS.glob("*.py"):
        tree = ast.parse(path.read_text())
        imported = {
            (n.module or "") if isinstance(n, ast.ImportFrom) else a.name
            for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)
            for a in n.names
        }
        assert imported <= {"airflow.sdk", "cx_warehouse.airflow.ingest", "cx_warehouse.airflow.transform",
                            "cx_warehouse.airflow.report"}, (path.name, imported)


def test_parsing_does_no_database_or_heavy_imports(tmp_path: Path) -> None:
    """Parse every DAG with an unreachable warehouse: parsing must not notice."""
    code = (
        "import sys, runpy, pathlib\n"
        f"for p in sorted(pathlib.Path({str(DAGS)!r}).glob('*.py')): runpy.run_path(str(p))\n"
        "heavy = [m for m in ('psycopg', 'pandas', 'great_expectations', 'dbt', 'cx_warehouse.ingest.loader',"
        " 'matplotlib', 'weasyprint', 'cx_warehouse.reports.data')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    env = dict(os.environ, CX_WAREHOUSE_URL="postgresql://nobody@192.0.2.1:1/none",
               CX_HOME=str(tmp_path / "nonexistent"), AIRFLOW_HOME=str(tmp_path / "af"))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "HEAVY []" in out.stdout
    assert not (tmp_path / "nonexistent").exists()


def test_transform_dag_runs_on_every_raw_asset_with_retries(dagbag) -> None:  # type: ignore[no-untyped-def]
    dag = dagbag.dags["transform_warehouse"]
    raw = {e.qualified_table for s in load_sources().values() for e in s.entities}
    condition = dag.timetable.asset_condition
    assert type(condition).__name__ == "AssetAll"  # waits for every raw table, not any one
    assert {a.name for a in condition.objects} == raw
    assert [t.task_id for t in dag.topological_sort()][0] == "dbt_build_staging"
    for task in dag.tasks:
        assert task.retries >= 1 and task.owner != "airflow" and task.execution_timeout is not None


def test_transform_dag_follows_the_declared_steps_and_publishes_the_marts(dagbag) -> None:  # type: ignore[no-untyped-def]
    from cx_warehouse.transform.steps import TRANSFORM_STEPS, mart_models

    dag = dagbag.dags["transform_warehouse"]
    assert {t.task_id for t in dag.tasks} == (
        {s.task_id for s in TRANSFORM_STEPS} | {"quality_gate_marts", "grant_bi_access"})
    for step in TRANSFORM_STEPS:
        assert set(dag.get_task(step.task_id).upstream_task_ids) == set(step.upstream)
    # The mart gate sits between the last build step and the task that publishes the marts.
    assert dag.get_task("quality_gate_marts").upstream_task_ids == {TRANSFORM_STEPS[-1].task_id}
    assert dag.get_task("grant_bi_access").upstream_task_ids == {"quality_gate_marts"}
    assert not dag.get_task("quality_gate_marts").outlets
    outlets = {a.name for a in dag.get_task("grant_bi_access").outlets}
    assert {"marts.customer_360", "marts.cx_kpis"} <= outlets
    assert outlets == {f"marts.{m}" for m in mart_models()}
