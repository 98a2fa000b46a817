"""Row-level selections from the marts: the daily at-risk list and close-the-loop alerts.

Both go to people who act on single customers, so they carry the customer id, the name to
address the customer by, and the facts behind the alert; never e-mail addresses, phone
numbers or ages (the CRM has those, behind its own access control).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from cx_warehouse.reports.data import rows
from cx_warehouse.reports.definitions import ReportSpec

AT_RISK_COLUMNS = ["customer_id", "first_name", "last_name", "membership_tier", "lifecycle_stage", "risk_score",
                   "risk_level", "top_reason", "suggested_action", "days_since_last_order", "last_order_date",
                   "predicted_clv", "is_new_on_list"]
"""The at-risk CSV's columns, in order: what an account manager needs to call or send a coupon."""

RISK_LEVELS = ("low", "medium", "high")


def _ensure_lists(conn: Any) -> None:
    """``reports.at_risk_lists`` is migrations' own (``0001``): migrate the warehouse if it is behind."""
    from cx_warehouse.warehouse.migrations import ensure_current

    ensure_current(conn)


def at_risk_list(conn: Any, spec: ReportSpec, day: date) -> dict[str, Any]:
    """Customers at or above the report's risk level (``options.min_risk_level``, default high,
    as ``churn_risk.levels`` in business.yml defines it), not yet churned unless asked.

    The list of each day is kept in ``reports.at_risk_lists``; ``is_new_on_list`` marks who was
    not on the previous day's list, i.e. whose risk crossed the threshold since. Rendering the
    same day again replaces that day's list (idempotent).
    """
    level = str(spec.option("min_risk_level", "high"))
    if level not in RISK_LEVELS:
        raise ValueError(f"{spec.file}: options.min_risk_level {level!r} is not one of {RISK_LEVELS}")
    levels = list(RISK_LEVELS[RISK_LEVELS.index(level):])
    include_churned = bool(spec.option("include_churned", False))
    _ensure_lists(conn)
    previous = conn.execute("select max(list_date) from reports.at_risk_lists where list_date < %s",
                            (day,)).fetchone()[0]
    found = rows(conn, """
        select r.customer_id, c.first_name, c.last_name, c.membership_tier, r.lifecycle_stage, r.risk_score,
               r.risk_level, r.top_reason, r.suggested_action, r.days_since_last_order, r.last_order_date,
               c.predicted_clv,
               (%(previous)s::date is null or not exists (
                    select 1 from reports.at_risk_lists p
                    where p.list_date = %(previous)s and p.customer_id = r.customer_id)) as is_new_on_list
        from marts.churn_customer_risk as r
        left join marts.customer_360 as c on c.customer_id = r.customer_id
        where r.risk_level = any(%(levels)s) and (%(churned)s or not r.is_churned)
        order by is_new_on_list desc, r.risk_score desc, c.predicted_clv desc nulls last, r.customer_id""",
                 {"previous": previous, "levels": levels, "churned": include_churned})
    conn.execute("delete from reports.at_risk_lists where list_date = %s", (day,))
    with conn.cursor() as cur:
        cur.executemany("insert into reports.at_risk_lists values (%s, %s, %s)",
                        [(day, r["customer_id"], r["risk_score"]) for r in found])
    return {"customers": found, "previous_list": previous, "levels": levels, "include_churned": include_churned}


@dataclass(frozen=True)
class Alert:
    """One case for a team to close: its key is the outbox key, so it is sent once per recipient."""

    key: str
    alert: str
    event_date: date
    facts: dict[str, Any]


def close_the_loop_alerts(conn: Any, spec: ReportSpec, day: date, timezone: str) -> list[Alert]:
    """Detractor responses and critical complaints past their first-response target, up to ``day``.

    A case is looked for over the last ``options.lookback_days`` (default 7) so a response or
    ticket that arrives late still alerts; one already sent to every recipient of its route is
    left out, so each case alerts once however often the run repeats.
    """
    lookback = int(spec.option("lookback_days", 7))
    since = day - timedelta(days=lookback - 1)
    params = {"since": since, "day": day, "tz": timezone, "report": spec.id}
    sent = """not exists (select 1 from reports.outbox o where o.report_id = %(report)s
                          and o.period_key = {key} and o.status = 'sent')"""
    detractors = rows(conn, f"""
        select r.response_id, r.submitted_at, r.response_date, r.channel, r.touchpoint, r.journey_stage, r.language,
               r.nps_score, r.csat_score, r.ces_score, r.comment, r.respondent_customer_id as customer_id,
               c.first_name, c.last_name, c.membership_tier, c.lifecycle_stage
        from marts.fct_survey_responses as r
        left join marts.customer_360 as c on c.customer_id = r.respondent_customer_id
        where r.nps_category = 'detractor' and r.response_date between %(since)s and %(day)s
          and {sent.format(key="'detractor:' || r.response_id")}
        order by r.submitted_at, r.response_id""", params)
    breaches = rows(conn, f"""
        select t.ticket_id, t.customer_id, t.channel, t.category, t.severity, t.created_at, t.first_response_at,
               t.first_response_target_hours, t.first_response_hours, t.is_resolved, t.reopen_count,
               c.first_name, c.last_name, c.membership_tier, c.lifecycle_stage,
               ((t.created_at + make_interval(secs => t.first_response_target_hours * 3600))
                    at time zone %(tz)s)::date as breached_date
        from marts.fct_tickets as t
        left join marts.customer_360 as c on c.customer_id = t.customer_id
        where t.severity = 'critical' and t.is_complaint and t.is_first_response_breached
          and ((t.created_at + make_interval(secs => t.first_response_target_hours * 3600))
                    at time zone %(tz)s)::date between %(since)s and %(day)s
          and {sent.format(key="'critical_complaint_breach:' || t.ticket_id")}
        order by t.created_at, t.ticket_id""", params)
    alerts = [Alert(f"detractor:{d['response_id']}", "detractor", d["response_date"], d) for d in detractors]
    alerts += [Alert(f"critical_complaint_breach:{b['ticket_id']}", "critical_complaint_breach", b["breached_date"], b)
               for b in breaches]
    return alerts
