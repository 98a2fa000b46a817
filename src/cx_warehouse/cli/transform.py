"""``cxw transform``: the transform DAG's steps in order, without Airflow."""

from __future__ import annotations

import argparse
import time
from typing import Any

from cx_warehouse.cli.common import say


def cmd_transform(args: argparse.Namespace) -> int:
    """The transform DAG's steps in order, without Airflow (same code as its tasks)."""
    from cx_warehouse.transform.steps import TRANSFORM_STEPS, TransformError, run_step

    steps = [s for s in TRANSFORM_STEPS if not args.step or s.task_id in args.step]
    for step in steps:
        t0 = time.perf_counter()
        try:
            run_step(step, full_refresh=args.full_refresh)
        except TransformError as exc:
            say(f"FAILED at {step.task_id}: {exc}")
            return 1
        say(f"  {step.task_id:<24} {time.perf_counter() - t0:6.1f}s")
    return 0


def register(sub: Any) -> None:
    tr = sub.add_parser("transform", help="build the warehouse without Airflow (the transform DAG's steps)")
    tr.add_argument("--full-refresh", action="store_true", help="rebuild incremental facts from scratch")
    tr.add_argument("--step", action="append", help="run only this step (repeatable), e.g. fit_clv")
    tr.set_defaults(func=cmd_transform)
