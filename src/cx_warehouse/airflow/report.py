"""The report DAG kind: one ``report_<id>`` DAG per ``reports/<id>/report.yml``.

Shape: ``render`` (check readiness, render into the archive, or a "data delayed" notice) -> ``deliver``.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, CronDataIntervalTimetable, dag, task

from cx_warehouse.airflow.common import DEFAULT_ARGS, START_DATE

log = logging.getLogger(__name__)


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
    from cx_warehouse.config.business import load_business
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
