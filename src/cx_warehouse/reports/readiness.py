"""Is the data for a report's period ready? If not, why not.

A report goes out only when the marts cover the whole period, the latest mart quality gate
passed and no transform step's latest run failed (a failed ``dbt build`` can leave some marts
rebuilt and others not). Otherwise its owners get a short "data delayed" notice built from
the same facts: what the marts cover, which gate stopped and on what, which step failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from cx_warehouse.reports.definitions import Period

MAX_FAILURES_QUOTED = 3


@dataclass
class DataStatus:
    """What a report may say about its data, and whether it may go out."""

    period: Period
    as_of: date | None
    gates: list[dict[str, Any]]
    reasons: list[str] = field(default_factory=list)
    """Why the report is not ready, each a sentence a stakeholder can read."""
    details: list[str] = field(default_factory=list)
    """Supporting facts for the data team (failing expectations, dbt errors)."""

    @property
    def ready(self) -> bool:
        return not self.reasons


def marts_as_of(conn: Any) -> date | None:
    """The day the marts treat as today (``intermediate.int_as_of_date``); None before a build."""
    from cx_warehouse.warehouse.connection import relation_exists

    if not relation_exists(conn, "intermediate.int_as_of_date"):
        return None
    row = conn.execute("select as_of_date from intermediate.int_as_of_date").fetchone()
    return row[0] if row else None


def _when(ts: datetime | None) -> str:
    return f"{ts:%Y-%m-%d %H:%M} UTC" if ts else "an unknown time"


def data_status(period: Period, url: str | None = None) -> DataStatus:
    """Check the period's data: coverage, the latest gate decisions and transform failures."""
    from cx_warehouse.quality.gates import failing_rows, gate_runs
    from cx_warehouse.transform.steps import transform_failures
    from cx_warehouse.warehouse.connection import connect

    with connect(url) as conn:
        as_of = marts_as_of(conn)
    gates = gate_runs(latest_per_gate=True, url=url)
    status = DataStatus(period=period, as_of=as_of, gates=gates)
    if as_of is None:
        status.reasons.append("the warehouse has not been built yet")
    elif as_of < period.end:
        status.reasons.append(
            f"the marts hold data up to {as_of:%d %b %Y}, and the period runs to {period.end:%d %b %Y}")
    marts_gate = next((g for g in gates if g["gate"] == "marts"), None)
    if marts_gate is None:
        status.reasons.append("the marts have not passed a data-quality check yet")
    for g in gates:
        if g["decision"] == "passed":
            continue
        stopped = (f"the data-quality gate '{g['gate']}' stopped the pipeline on {_when(g['started_at'])} "
                   f"({g['critical']} critical check(s) failed)")
        # a stopped raw gate explains why the marts are behind; a stopped mart gate alone
        # means the marts must not be used
        if g["gate"] != "marts" and not status.reasons:
            continue
        status.reasons.append(stopped)
        critical = [f for f in failing_rows(str(g["gate_run_id"]), url=url) if f["severity"] == "critical"]
        status.details += [f"{f['suite']}: {f['expectation']} observed {f['observed']}"
                           for f in critical[:MAX_FAILURES_QUOTED]]
    for failure in transform_failures(url):
        status.reasons.append(f"the warehouse build step '{failure['step']}' failed on {_when(failure['failed_at'])}")
        first_line = next((ln.strip() for ln in (failure["error"] or "").splitlines() if ln.strip()), "")
        if first_line:
            status.details.append(f"{failure['step']}: {first_line[:300]}")
    return status
