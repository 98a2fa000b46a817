"""The transform: dbt layers and the Python models between them, in one declared order.

:data:`TRANSFORM_STEPS` is the single description of the order. The transform DAG turns each
step into a task, and :func:`run_transform` (CLI, tests, benchmarks) runs them in sequence,
so both always do the same thing. dbt's artefacts and logs go under ``<CX_HOME>/dbt`` (see
:mod:`cx_warehouse.transform.dbt`).

What a run costs follows what changed:

* dbt runs in the step's own process (:class:`~cx_warehouse.transform.dbt.DbtSession`), and
  :func:`run_transform` shares one session across its steps: one dbt start-up per run.
* A step whose inputs did not change since it last succeeded is **skipped**
  (:func:`inputs_fingerprint`): the project's code and rules, and for steps that read data,
  every load recorded in ``audit.load_audit``. The staging views depend on code only, so a
  daily run does not re-create them or re-run their tests (the day's new rows are judged by
  the raw gates); a run when nothing was loaded skips every step. A step is never skipped
  when anything it built is missing, or on a full refresh.
"""

from __future__ import annotations

import json
import logging
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
    reads_data: bool = True
    """False for a step whose output depends on code alone (views): new loads do not make it run."""
    builds: tuple[str, ...] = ()
    """Relations a Python step writes (dbt steps record theirs from dbt's results)."""


TRANSFORM_STEPS: tuple[Step, ...] = (
    Step("dbt_build_staging", "dbt", "staging", exclude="tag:model_output", reads_data=False,
         doc="staging views over raw (rename, cast, normalise) and their tests; skipped while "
             "their code is unchanged"),
    # one dbt process at a time from here on: concurrent dbt runs would share target/
    Step("dbt_snapshot", "dbt", "resource_type:snapshot", ("dbt_build_staging",),
         doc="SCD2 history of customer profiles and membership tiers"),
    Step("dbt_build_model_inputs", "dbt", "+tag:model_input", ("dbt_snapshot",), exclude="staging",
         doc="the Python models' inputs (intermediate models tagged model_input)"),
    Step("score_sentiment", "analytics", "sentiment", ("dbt_build_model_inputs",),
         builds=("analytics.mention_sentiment",),
         doc="offline zh/en sentiment per social mention -> analytics.mention_sentiment"),
    Step("fit_clv", "analytics", "clv", ("dbt_build_model_inputs",),
         builds=("analytics.customer_clv", "analytics.clv_model_fit"),
         doc="BG/NBD + Gamma-Gamma CLV per customer -> analytics.customer_clv"),
    Step("rank_key_drivers", "analytics", "drivers", ("dbt_build_model_inputs",),
         builds=("analytics.key_drivers",),
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
    session: Any = None,
) -> dict[str, Any]:
    """``dbt build --select <select>`` in this process; returns counts per status and the
    relations built, raises :class:`TransformError` on any failure.

    ``session`` (a :class:`~cx_warehouse.transform.dbt.DbtSession`) shares dbt's start-up
    with other steps of the same run; without one, this call starts dbt itself.
    """
    from cx_warehouse.logs import PROGRESS_MARK
    from cx_warehouse.transform.dbt import DbtSession, dbt_target_dir

    session = session or DbtSession(url, dbt_vars)
    # "buildable": a test runs in the step that builds the last of its parents, so a
    # relationships test from a mart to a staging model waits for the mart's step
    args = ["build", "--select", *select.split(), "--indirect-selection", "buildable"]
    if exclude:
        args += ["--exclude", *exclude.split()]
    if full_refresh:
        args.append("--full-refresh")
    (dbt_target_dir() / "run_results.json").unlink(missing_ok=True)  # never report a previous run's
    outcome = session.invoke(args)
    results = list(getattr(outcome.result, "results", None) or [])
    counts: dict[str, int] = {}
    for r in results:
        counts[str(r.status)] = counts.get(str(r.status), 0) + 1
    failed = [r for r in results if str(r.status) in ("error", "fail", "runtime error")]
    if not outcome.success or failed:
        detail = "\n".join(f"  - {r.node.unique_id}: {(r.message or '').strip()[:300]}" for r in failed)
        if not failed:
            detail = f"  {outcome.exception or 'dbt stopped; its log above says why'}"
        raise TransformError(f"dbt build --select {select} failed ({counts}):\n{detail}")
    built = sorted(f"{r.node.schema}.{r.node.alias}" for r in results
                   if r.node.resource_type in ("model", "snapshot") and str(r.status) == "success"
                   and r.node.config.materialized != "ephemeral")
    others = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()) if status not in ("success", "pass"))
    log.info("%s dbt %s: %d node(s) built, %d test(s) passed%s", PROGRESS_MARK, select,
             counts.get("success", 0), counts.get("pass", 0), f", {others}" if others else "")
    return {"select": select, "counts": counts, "relations": built,
            "dbt_startup_s": session.startup_seconds}


def run_step(step: Step, url: str | None = None, *, full_refresh: bool = False,
             dbt_vars: dict[str, Any] | None = None, session: Any = None, force: bool = False) -> dict[str, Any]:
    """Run one step, or skip it when nothing it reads changed; what a transform DAG task does.

    Its result carries ``seconds`` (and ``skipped``), and every outcome is recorded in
    ``audit.transform_step_runs`` with the step's inputs fingerprint, so reports can tell
    "the build failed" from "not run yet" and the next run can tell what changed.
    """
    import time

    from cx_warehouse.logs import PROGRESS_MARK

    started = datetime.now(UTC)
    t0 = time.perf_counter()
    code = code_fingerprint(dbt_vars)
    fingerprint = inputs_fingerprint(step, url, code)
    if not (full_refresh or force):
        unchanged_since = _unchanged_since(url, step, fingerprint)
        if unchanged_since is not None:
            seconds = round(time.perf_counter() - t0, 3)
            log.info("%s %s: skipped: nothing it reads changed since its run of %s, and all it built is there",
                     PROGRESS_MARK, step.task_id, f"{unchanged_since:%Y-%m-%d %H:%M:%S %Z}")
            _record_step_run(url, step, started, seconds, "skipped", None, (fingerprint, code), None)
            return {"skipped": True, "seconds": seconds}
    try:
        if step.kind == "dbt":
            if not full_refresh and rows_removed_since_last_run(url, step):
                # Incremental facts merge the rows loaded since their last run: a row a
                # re-delivery removed from raw never comes through again, so only a rebuild drops it.
                log.info("%s %s: a re-delivery removed raw rows since the last run; rebuilding its "
                         "incremental models in full", PROGRESS_MARK, step.task_id)
                full_refresh = True
            exclude = step.exclude
            if not (full_refresh or force or _code_changed(url, step, code)):
                # dbt's unit tests check the models' logic on fixed inputs: they run when the
                # code changes (and in `make test`), not on every day's data
                exclude = " ".join(filter(None, [exclude, "resource_type:unit_test"]))
            result = dbt_build(step.target, url, exclude=exclude, full_refresh=full_refresh,
                               dbt_vars=dbt_vars, session=session)
        else:
            from cx_warehouse.analytics.runner import run_model

            result = run_model(step.target, url)
            result["relations"] = list(step.builds)
    except Exception as exc:
        _record_step_run(url, step, started, time.perf_counter() - t0, "failed", str(exc), (fingerprint, code), None)
        raise
    result["seconds"] = round(time.perf_counter() - t0, 3)
    result["skipped"] = False
    _record_step_run(url, step, started, result["seconds"], "succeeded", None, (fingerprint, code),
                     result["relations"])
    return result


# ---------------------------------------------------------------------------------------
# what a step reads: its fingerprint, and whether it changed
# ---------------------------------------------------------------------------------------
CODE_PATHS = ("dbt_project/dbt_project.yml", "dbt_project/profiles.yml", "dbt_project/models",
              "dbt_project/macros", "dbt_project/snapshots", "dbt_project/tests", "src/cx_warehouse/analytics")
"""The transform's code, under the project folder. The source definitions (``<config>/sources``)
and the business rules (``CX_BUSINESS_CONFIG``, from ``<config>/business.yml``) count too."""


def code_fingerprint(dbt_vars: dict[str, Any] | None = None) -> str:
    """sha256 over the transform's code, the source definitions, the rules, dbt vars and target."""
    import hashlib
    import os

    from cx_warehouse.config import settings
    from cx_warehouse.config.business import as_env

    def files(root: Path) -> list[Path]:
        if root.is_file():
            return [root]
        return sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)

    h = hashlib.sha256()
    roots = [(settings.PROJECT_DIR, settings.PROJECT_DIR / top) for top in CODE_PATHS]
    config_dir = settings.get_settings().config_dir
    roots.append((config_dir, config_dir / "sources"))
    for base, root in roots:
        for f in files(root):
            h.update(str(f.relative_to(base)).encode() + b"\0" + f.read_bytes() + b"\0")
    h.update(as_env().encode())
    h.update(json.dumps(dbt_vars or {}, sort_keys=True, default=str).encode())
    h.update((os.environ.get("CX_DBT_TARGET") or "prod").encode())
    return h.hexdigest()


def data_fingerprint(conn: Any) -> str:
    """What has been loaded: every load that wrote or removed raw rows, and its current standing."""
    row = conn.execute(
        """select count(*), coalesce(max(finished_at)::text, ''), coalesce(sum(rows_loaded), 0),
                  coalesce(sum(rows_removed), 0), count(superseded_by)
           from audit.load_audit where status = 'loaded'""").fetchone()
    return "|".join(str(v) for v in row)


def inputs_fingerprint(step: Step, url: str | None, code: str) -> str:
    """The fingerprint of everything ``step`` reads: its code (``code``, a :func:`code_fingerprint`),
    and the loaded data if it reads data."""
    import hashlib

    from cx_warehouse.warehouse.connection import connect, relation_exists
    from cx_warehouse.warehouse.migrations import ensure_current

    parts = [step.task_id, step.target, step.exclude or "", code]
    if step.reads_data:
        with connect(url, autocommit=True) as conn:
            ensure_current(conn)
            parts.append(data_fingerprint(conn) if relation_exists(conn, "audit.load_audit") else "no loads")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _code_changed(url: str | None, step: Step, code: str) -> bool:
    """Whether the step's code differs from its last successful run's (or it never succeeded)."""
    from cx_warehouse.warehouse.connection import connect

    with connect(url, autocommit=True) as conn:
        row = conn.execute(
            """select code_fingerprint from audit.transform_step_runs
               where step = %s and status = 'succeeded' order by started_at desc limit 1""",
            (step.task_id,)).fetchone()
    return row is None or row[0] != code


def _unchanged_since(url: str | None, step: Step, fingerprint: str) -> datetime | None:
    """When the step's latest run (succeeded or skipped) saw the same inputs and everything it
    built still exists; ``None`` when it must run."""
    from cx_warehouse.warehouse.connection import connect
    from cx_warehouse.warehouse.migrations import ensure_current

    with connect(url, autocommit=True) as conn:
        ensure_current(conn)
        latest = conn.execute(
            """select status, inputs_fingerprint, started_at from audit.transform_step_runs
               where step = %s order by started_at desc limit 1""", (step.task_id,)).fetchone()
        if latest is None or latest[0] not in ("succeeded", "skipped") or latest[1] != fingerprint:
            return None
        # what it built: recorded by the latest run that did build (a skip builds nothing)
        built = conn.execute(
            """select relations from audit.transform_step_runs
               where step = %s and status = 'succeeded' order by started_at desc limit 1""",
            (step.task_id,)).fetchone()
        if built is None or built[0] is None:
            return None
        missing = conn.execute(
            "select count(*) from unnest(%s::text[]) as r(name) where to_regclass(r.name) is null",
            (built[0],)).fetchone()
    return latest[2] if missing is not None and missing[0] == 0 else None


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
                     error: str | None, fingerprints: tuple[str | None, str | None] = (None, None),
                     relations: list[str] | None = None) -> None:
    """One row of audit.transform_step_runs. A row without fingerprints never matches a later
    run's, so the step after it always runs (what a hand-recorded or pre-0003 row should do)."""
    from cx_warehouse.warehouse.connection import connect
    from cx_warehouse.warehouse.migrations import ensure_current

    with connect(url, autocommit=True) as conn:
        ensure_current(conn)  # audit.transform_step_runs is migrations' own (0001, 0003)
        conn.execute(
            """insert into audit.transform_step_runs
               (step, status, started_at, seconds, error, inputs_fingerprint, code_fingerprint, relations)
               values (%s, %s, %s, %s, %s, %s, %s, %s)""",
            (step.task_id, status, started, round(seconds, 3), (error or "")[:4000] or None, *fingerprints,
             relations))


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
                  dbt_vars: dict[str, Any] | None = None, steps: list[str] | None = None,
                  force: bool = False, progress: Any = None) -> dict[str, dict[str, Any]]:
    """Every step in order, outside Airflow (CLI ``cxw transform``, tests, benchmarks), with
    one dbt start-up for all of them.

    Args:
        url: warehouse URL (default: the project's one setting).
        full_refresh: rebuild incremental facts and snapshots from scratch.
        dbt_vars: dbt ``--vars`` (e.g. ``as_of_date``, ``incremental_lookback_days``).
        steps: only these task ids (default: all).
        force: run every step even when nothing it reads changed.
        progress: called with each step's id and result as it finishes.
    """
    from cx_warehouse.transform.dbt import DbtSession

    session = DbtSession(url, dbt_vars)
    out: dict[str, dict[str, Any]] = {}
    for step in TRANSFORM_STEPS:
        if steps and step.task_id not in steps:
            continue
        out[step.task_id] = run_step(step, url, full_refresh=full_refresh, dbt_vars=dbt_vars, session=session,
                                     force=force)
        if progress is not None:
            progress(step.task_id, out[step.task_id])
    return out


def mart_models() -> list[str]:
    """Names of the dbt models in ``marts`` (cheap: a directory listing, for DAG parsing)."""
    from cx_warehouse.config.settings import PROJECT_DIR

    return sorted(p.stem for p in (PROJECT_DIR / "dbt_project" / "models" / "marts").rglob("*.sql"))
