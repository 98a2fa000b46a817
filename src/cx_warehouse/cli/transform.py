"""``cxw transform``: the transform DAG's steps in order, without Airflow."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from cx_warehouse.cli.common import say


def cmd_transform(args: argparse.Namespace) -> int:
    """The transform DAG's steps in order, without Airflow (same code as its tasks, one dbt start-up)."""
    from cx_warehouse.transform.steps import TRANSFORM_STEPS, TransformError, run_transform

    unknown = sorted(set(args.step or []) - {s.task_id for s in TRANSFORM_STEPS})
    if unknown:
        say(f"no transform step {', '.join(unknown)}; the steps are {', '.join(s.task_id for s in TRANSFORM_STEPS)}")
        return 2

    done: list[str] = []

    def progress(task_id: str, result: dict[str, Any]) -> None:
        done.append(task_id)
        note = "  skipped: nothing it reads changed" if result.get("skipped") else ""
        say(f"  {task_id:<24} {result['seconds']:6.1f}s{note}")

    try:
        dbt_vars = json.loads(args.vars) if args.vars else None
        if dbt_vars is not None and not isinstance(dbt_vars, dict):
            raise ValueError("not an object")
    except ValueError as exc:
        say(f"--vars must be a JSON object such as '{{\"as_of_date\": \"2026-06-30\"}}' ({exc})")
        return 2
    t0 = time.perf_counter()
    try:
        results = run_transform(full_refresh=args.full_refresh, dbt_vars=dbt_vars, steps=args.step,
                                force=args.force, progress=progress)
    except TransformError as exc:
        failed = next(s.task_id for s in TRANSFORM_STEPS
                      if s.task_id not in done and (not args.step or s.task_id in args.step))
        say(f"FAILED at {failed}: {exc}")
        return 1
    say(f"  {'total':<24} {time.perf_counter() - t0:6.1f}s")
    startup = next((r["dbt_startup_s"] for r in results.values() if r.get("dbt_startup_s")), None)
    if startup is not None:
        say(f"  dbt start-up (import and parse, once for the run) {startup:.1f}s")
    return 0


def register(sub: Any) -> None:
    tr = sub.add_parser("transform", help="build the warehouse without Airflow (the transform DAG's steps)")
    tr.add_argument("--full-refresh", action="store_true", help="rebuild incremental facts from scratch")
    tr.add_argument("--step", action="append", help="run only this step (repeatable), e.g. fit_clv")
    tr.add_argument("--force", action="store_true",
                    help="run every step even when nothing it reads changed since it last succeeded")
    tr.add_argument("--vars", help="dbt vars as a JSON object, e.g. '{\"as_of_date\": \"2026-06-30\"}'")
    tr.set_defaults(func=cmd_transform)
