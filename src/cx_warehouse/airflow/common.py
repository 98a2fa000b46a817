"""What every DAG shares: start date, default arguments, the failure callback and the quality-gate task."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import task

log = logging.getLogger(__name__)

START_DATE = datetime(2025, 1, 1, tzinfo=UTC)


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


