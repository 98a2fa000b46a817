"""The transform: dbt layers and the Python models between them, in one declared order.

:data:`TRANSFORM_STEPS` is the single description of the order. The transform DAG turns each
step into a task, and :func:`run_transform` (CLI, tests, benchmarks) runs them in sequence,
so both always do the same thing. dbt's artefacts and logs go under ``<CX_HOME>/dbt`` (see
:mod:`cx_warehouse.transform.dbt`).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

# Imported by the transform DAG at parse time: the dbt/loader modules load inside functions.

log = logging.getLogger(__name__)


class TransformError(RuntimeError):
    """dbt reported failures; the message lists the failing nodes and why."""


@dataclass(frozen=True)
class Step:
    """One unit of the transform: a ``dbt build`` of a selection, or a Python model."""

    task_id: str
    kind: Literal["dbt", "analytics"]
    target: str
    """dbt selector, or the name of a model in :mod:`cx_warehouse.analytics.runner`."""
    upstream: tuple[str, ...] = ()
    exclude: str | None = None
    """dbt ``--exclude`` (nodes an earlier step already built and tested)."""
    doc: str = ""


TRANSFORM_STEPS: tuple[Step, ...] = (
    Step("dbt_build_staging", "dbt", "staging", exclude="tag:model_output",
         doc="staging views over raw (rename, cast, normalise) and their tests"),
    # one dbt process at a time from here on: concurrent dbt runs would share target/
    Step("dbt_snapshot", "dbt", "resource_type:snapshot", ("dbt_build_staging",),
         doc="SCD2 history of customer profiles and membership tiers"),
    Step("dbt_build_model_inputs", "dbt", "+tag:model_input", ("dbt_snapshot",), exclude="staging",
         doc="the Python models' inputs (intermediate models tagged model_input)"),
    Step("score_sentiment", "analytics", "sentiment", ("dbt_build_model_inputs",),
         doc="offline zh/en sentiment per social mention -> analytics.mention_sentiment"),
    Step("fit_clv", "analytics", "clv", ("dbt_build_model_inputs",),
         doc="BG/NBD + Gamma-Gamma CLV per customer -> analytics.customer_clv"),
    Step("rank_key_drivers", "analytics", "drivers", ("dbt_build_model_inputs",),
         doc="Johnson's relative weights of drivers on NPS -> analytics.key_drivers"),
    Step("dbt_build_marts", "dbt", "tag:model_output intermediate marts",
         ("score_sentiment", "fit_clv", "rank_key_drivers"), exclude="+tag:model_input",
         doc="identity resolution and the other intermediate models, the facts (incremental), "
             "customer_360 and the satisfaction, loyalty, churn and KPI marts"),
)


def dbt_build(
    select: str,
    url: str | None = None,
    *,
    exclude: str | None = None,
    full_refresh: bool = False,
    dbt_vars: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``dbt build --select <select>``; returns counts per status, raises on any failure."""
    from cx_warehouse.logs import PROGRESS_MARK
    from cx_warehouse.transform.dbt import DBT_DIR, dbt_env, dbt_target_dir
    from cx_warehouse.warehouse.connection import warehouse_url

    dbt = str(Path(sys.executable).with_name("dbt"))
    # "buildable": a test runs in the step that builds the last of its parents, so a
    # relationships test from a mart to a staging model waits for the mart's step
    cmd = [dbt, "--no-use-colors", "build", "--select", *select.split(), "--indirect-selection", "buildable",
           "--project-dir", str(DBT_DIR)]
    if exclude:
        cmd += ["--exclude", *exclude.split()]
    if full_refresh:
        cmd.append("--full-refresh")
    if dbt_vars:
        cmd += ["--vars", json.dumps(dbt_vars)]
    results_file = dbt_target_dir() / "run_results.json"
    results_file.unlink(missing_ok=True)  # never report a previous run's results
    proc = subprocess.run(cmd, env=dbt_env(url or warehouse_url()), capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        log.info("dbt | %s", line)
    results = json.loads(results_file.read_text())["results"] if results_file.exists() else []
    counts: dict[str, int] = {}
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    failed = [r for r in results if r["status"] in ("error", "fail", "runtime error")]
    if proc.returncode != 0 or failed:
        detail = "\n".join(f"  - {r['unique_id']}: {(r.get('message') or '').strip()[:300]}" for r in failed)
        tail = "" if failed else "\n" + "\n".join(proc.stdout.splitlines()[-15:])
        raise TransformError(f"dbt build --select {select} failed ({counts}):\n{detail}{tail}")
    others = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()) if status not in ("success", "pass"))
    log.info("%s dbt %s: %d node(s) built, %d test(s) passed%s", PROGRESS_MARK, select,
             counts.get("success", 0), counts.get("pass", 0), f", {others}" if others else "")
    return {"select": select, "counts": counts}


def run_step(step: Step, url: str | None = None, *, full_refresh: bool = False,
             dbt_vars: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one step; what a transform DAG task does. Its result carries ``seconds``, and every
    outcome is recorded in ``audit.transform_step_runs``, so reports can tell "the build
    failed" from "not run yet"."""
    import time

    started = datetime.now(UTC)
    t0 = time.perf_counter()
    try:
        if step.kind == "dbt":
            from cx_warehouse.logs import PROGRESS_MARK

            if not full_refresh and rows_removed_since_last_run(url, step):
                # Incremental facts merge the rows loaded since their last run: a row a
                # re-delivery removed from raw never comes through again, so only a rebuild drops it.
                log.info("%s %s: a re-delivery removed raw rows since the last run; rebuilding its "
                         "incremental models in full", PROGRESS_MARK, step.task_id)
                full_refresh = True
            result = dbt_build(step.target, url, exclude=step.exclude, full_refresh=full_refresh, dbt_vars=dbt_vars)
        else:
            from cx_warehouse.analytics.runner import run_model

            result = run_model(step.target, url)
    except Exception as exc:
        _record_step_run(url, step, started, time.perf_counter() - t0, "failed", str(exc))
        raise
    result["seconds"] = round(time.perf_counter() - t0, 3)
    _record_step_run(url, step, started, result["seconds"], "succeeded", None)
    return result


def rows_removed_since_last_run(url: str | None, step: Step) -> bool:
    """Whether any load removed raw rows (``load_audit.rows_removed``) after the step last succeeded."""
    from cx_warehouse.warehouse.connection import connect, relation_exists
    from cx_warehouse.warehouse.migrations import ensure_current

    with connect(url, autocommit=True) as conn:
        if not relation_exists(conn, "audit.load_audit"):
            return False
        ensure_current(conn)
        row = conn.execute(
            """select exists (select 1 from audit.load_audit where status = 'loaded' and rows_removed > 0
                   and finished_at > coalesce((select max(started_at) from audit.transform_step_runs
                                               where step = %s and status = 'succeeded'), '-infinity'))""",
            (step.task_id,)).fetchone()
    return bool(row and row[0])


def _record_step_run(url: str | None, step: Step, started: datetime, seconds: float, status: str,
                     error: str | None) -> None:
    from cx_warehouse.warehouse.connection import connect
    from cx_warehouse.warehouse.migrations import ensure_current

    with connect(url, autocommit=True) as conn:
        ensure_current(conn)  # audit.transform_step_runs is migrations' own (0001)
        conn.execute("insert into audit.transform_step_runs values (%s, %s, %s, %s, %s)",
                     (step.task_id, status, started, round(seconds, 3), (error or "")[:4000] or None))


def transform_failures(url: str | None = None) -> list[dict[str, Any]]:
    """Steps whose latest run failed: what a "data delayed" notice quotes. Empty when the
    latest run of every step succeeded."""
    from cx_warehouse.warehouse.connection import connect, relation_exists

    with connect(url) as conn:
        if not relation_exists(conn, "audit.transform_step_runs"):
            return []
        rows = conn.execute(
            """select step, started_at, error from (
                   select distinct on (step) * from audit.transform_step_runs order by step, started_at desc) latest
               where status = 'failed'
               order by started_at""").fetchall()
    return [{"step": s, "failed_at": at, "error": e} for s, at, e in rows]


def run_transform(url: str | None = None, *, full_refresh: bool = False,
                  dbt_vars: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Every step in order, outside Airflow (CLI ``cxw transform``, tests, benchmarks).

    Args:
        url: warehouse URL (default: the project's one setting).
        full_refresh: rebuild incremental facts and snapshots from scratch.
        dbt_vars: dbt ``--vars`` (e.g. ``as_of_date``, ``incremental_lookback_days``).
    """
    return {step.task_id: run_step(step, url, full_refresh=full_refresh, dbt_vars=dbt_vars)
            for step in TRANSFORM_STEPS}


def mart_models() -> list[str]:
    """Names of the dbt models in ``marts`` (cheap: a directory listing, for DAG parsing)."""
    from cx_warehouse.config.settings import PROJECT_DIR

    return sorted(p.stem for p in (PROJECT_DIR / "dbt_project" / "models" / "marts").rglob("*.sql"))
