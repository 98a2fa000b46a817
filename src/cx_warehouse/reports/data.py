"""What each report section shows, read from the marts: no metric is computed here.

Every number a report prints is a column of a mart row (``cx_kpis``, ``satisfaction_*``,
``loyalty_*``, ``churn_*``), selected for the period; this module only picks rows, orders
them and draws them. A section function returns its template context and its charts (PNG
bytes by name). ``tests/integration/test_reports.py`` reads the marts and the rendered
report and compares.

Breakdowns (by channel, touchpoint, SERVQUAL, drivers, complaint handling, points) are
monthly marts; a weekly report shows the latest complete month, and says which.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from cx_warehouse.reports.definitions import Period, ReportSpec


@dataclass
class SectionResult:
    context: dict[str, Any]
    charts: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class Kpi:
    """How a ``cx_kpis`` column is shown on a tile."""

    column: str
    label: str
    unit: str
    decimals: int
    higher_is_better: bool
    monthly_only: bool = False
    low_sample_column: str | None = None
    note: str = ""


KPIS: dict[str, Kpi] = {k.column: k for k in (
    Kpi("nps", "NPS", "", 1, True, low_sample_column="is_nps_low_sample", note="-100 to 100"),
    Kpi("csat_pct", "CSAT", "%", 1, True, note="share scoring 4-5"),
    Kpi("ces_mean", "Customer effort", "", 2, False, note="1-7, lower is better"),
    Kpi("churn_rate_pct", "Churn", "%", 2, False, monthly_only=True, note="of active customers"),
    Kpi("retention_rate_pct", "Retention", "%", 2, True, monthly_only=True),
    Kpi("repeat_purchase_rate_pct", "Repeat purchase", "%", 1, True, monthly_only=True, note="of buyers"),
    Kpi("complaint_rate_pct", "Complaint rate", "", 2, False, note="per 100 paid orders"),
    Kpi("sla_breach_pct", "SLA breach", "%", 1, False, note="first response late"),
    Kpi("sentiment_mean", "Social sentiment", "", 3, True, note="-1 to 1"),
    Kpi("negative_mention_pct", "Negative mentions", "%", 1, False),
    Kpi("avg_predicted_clv", "Predicted CLV", "", 0, True, note="per paid order"),
)}


def _plain(v: Any) -> Any:
    return float(v) if isinstance(v, Decimal) else v


def rows(conn: Any, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    cur = conn.execute(sql, params or {})
    names = [d.name for d in cur.description]
    return [{n: _plain(v) for n, v in zip(names, r, strict=True)} for r in cur.fetchall()]


def one(conn: Any, sql: str, params: dict[str, Any] | None = None) -> dict[str, Any] | None:
    found = rows(conn, sql, params)
    return found[0] if found else None


def breakdown_month(period: Period) -> Period:
    """The latest calendar month that has ended by the period's last day."""
    month = Period.containing("month", period.end)
    return month if month.end <= period.end else month.previous()


def _kpi_row(conn: Any, grain: str, start: date) -> dict[str, Any] | None:
    return one(conn, "select * from marts.cx_kpis where period_grain = %(g)s and period_start = %(s)s",
               {"g": grain, "s": start})


def tile(kpi: Kpi, row: dict[str, Any] | None, period_label: str) -> dict[str, Any]:
    """One KPI tile: the mart's value, previous value and significance flag, and how to read them."""
    value = row.get(kpi.column) if row else None
    previous = row.get(f"previous_{kpi.column}") if row else None
    significant = row.get(f"is_{kpi.column}_change_significant") if row else None
    low_sample = bool(row.get(kpi.low_sample_column)) if row and kpi.low_sample_column else False
    change = None if value is None or previous is None else value - previous
    verdict = "no comparison"
    if change is not None:
        if significant is None:
            verdict = "not tested"
        elif not significant:
            verdict = "within noise"
        else:
            verdict = "better" if (change > 0) == kpi.higher_is_better else "worse"
    return {"key": kpi.column, "label": kpi.label, "unit": kpi.unit, "decimals": kpi.decimals, "note": kpi.note,
            "value": value, "previous": previous, "change": change, "significant": significant,
            "low_sample": low_sample, "verdict": verdict, "period_label": period_label,
            "responses": row.get("nps_responses") if row and kpi.column == "nps" else None,
            "ci": (row.get("nps_ci_low"), row.get("nps_ci_high")) if row and kpi.column == "nps" else None}


def kpi_tiles(conn: Any, spec: ReportSpec, period: Period, keys: list[str] | None = None) -> SectionResult:
    keys = keys or list(spec.option("kpis", ["nps", "csat_pct", "ces_mean", "churn_rate_pct", "retention_rate_pct",
                                             "repeat_purchase_rate_pct", "complaint_rate_pct", "sla_breach_pct",
                                             "sentiment_mean"]))
    row = _kpi_row(conn, period.grain, period.start)
    month = period if period.grain == "month" else breakdown_month(period)
    month_row = row if period.grain == "month" else _kpi_row(conn, "month", month.start)
    tiles = []
    for key in keys:
        kpi = KPIS[key]
        if kpi.monthly_only and period.grain != "month":
            tiles.append(tile(kpi, month_row, month.label))
        else:
            tiles.append(tile(kpi, row, period.label))
    return SectionResult({"tiles": tiles, "row": row, "month_label": month.label})


def _trend_rows(conn: Any, grain: str, last_start: date, count: int) -> list[dict[str, Any]]:
    found = rows(conn, """select * from marts.cx_kpis where period_grain = %(g)s and period_start <= %(s)s
                          order by period_start desc limit %(n)s""", {"g": grain, "s": last_start, "n": count})
    return list(reversed(found))


def trends(conn: Any, spec: ReportSpec, period: Period) -> SectionResult:
    from cx_warehouse.reports import charts

    count = int(spec.option("trend_periods", 12))
    history = _trend_rows(conn, period.grain, period.start, count)
    x = [r["period_start"] for r in history]
    unit_word = {"week": "weekly", "month": "monthly", "day": "daily"}[period.grain]
    nps = [None if r["is_nps_low_sample"] else r["nps"] for r in history]
    out = {
        "trend_nps": charts.trend_chart(
            f"NPS, {unit_word}, with 95% interval (low-sample periods left out)", x, {"NPS": nps},
            band=([None if r["is_nps_low_sample"] else r["nps_ci_low"] for r in history],
                  [None if r["is_nps_low_sample"] else r["nps_ci_high"] for r in history])),
        "trend_csat": charts.trend_chart(f"CSAT %, {unit_word}", x, {"CSAT %": [r["csat_pct"] for r in history]},
                                         unit="%"),
        "trend_service": charts.trend_chart(
            f"Service, {unit_word}", x, {"SLA breach %": [r["sla_breach_pct"] for r in history],
                                         "Complaints per 100 orders": [r["complaint_rate_pct"] for r in history]}),
    }
    return SectionResult({"periods": len(history), "first": x[0] if x else None, "last": x[-1] if x else None},
                         out)


def _nps_breakdown(conn: Any, period: Period, dimension: str, title: str) -> SectionResult:
    from cx_warehouse.reports import charts

    month = period if period.grain == "month" else breakdown_month(period)
    params = {"s": month.start, "d": dimension}
    cells = rows(conn, """select dimension_value, nps_responses, nps, nps_ci_low, nps_ci_high, is_low_sample
                          from marts.satisfaction_scores
                          where period_grain = 'month' and period_start = %(s)s and dimension = %(d)s
                          order by nps_responses desc, dimension_value""", params)
    overall = one(conn, """select nps, nps_responses from marts.satisfaction_scores
                           where period_grain = 'month' and period_start = %(s)s and dimension = 'overall'""", params)
    chart = charts.interval_chart(
        f"{title}, {month.label} (95% interval)", [c["dimension_value"] for c in cells],
        [c["nps"] for c in cells], [c["nps_ci_low"] for c in cells], [c["nps_ci_high"] for c in cells],
        counts=[c["nps_responses"] for c in cells], flagged=[bool(c["is_low_sample"]) for c in cells],
        reference=overall["nps"] if overall else None, xlim=(-100, 100))
    return SectionResult({"cells": cells, "overall": overall, "month_label": month.label},
                         {f"nps_by_{dimension}": chart})


def nps_by_channel(conn: Any, spec: ReportSpec, period: Period) -> SectionResult:
    return _nps_breakdown(conn, period, "channel", "NPS by survey channel")


def nps_by_touchpoint(conn: Any, spec: ReportSpec, period: Period) -> SectionResult:
    return _nps_breakdown(conn, period, "touchpoint", "NPS by touchpoint")


def servqual_gaps(conn: Any, spec: ReportSpec, period: Period) -> SectionResult:
    from cx_warehouse.reports import charts

    month = period if period.grain == "month" else breakdown_month(period)
    gaps = rows(conn, """select servqual_dimension, responses, expectation_mean, perception_mean, gap_mean,
                                gap_standard_error, is_low_sample
                         from marts.satisfaction_servqual_gaps where response_month = %(s)s
                         order by gap_mean""", {"s": month.start})
    chart = charts.diverging_bar_chart(
        f"SERVQUAL gap (perception - expectation), {month.label}", [g["servqual_dimension"] for g in gaps],
        [g["gap_mean"] for g in gaps], errors=[1.96 * g["gap_standard_error"] if g["gap_standard_error"] is not None
                                               else None for g in gaps])
    return SectionResult({"gaps": gaps, "month_label": month.label}, {"servqual_gaps": chart})


def key_drivers(conn: Any, spec: ReportSpec, period: Period) -> SectionResult:
    from cx_warehouse.reports import charts

    month = period if period.grain == "month" else breakdown_month(period)
    drivers = rows(conn, """select predictor, importance_pct, importance_rank, r_squared, responses
                            from marts.satisfaction_key_drivers
                            where analysis = 'drivers' and period_month = %(s)s order by importance_rank""",
                   {"s": month.start})
    scope = month.label
    if not drivers:  # the month had too few complete responses for its own analysis
        drivers = rows(conn, """select predictor, importance_pct, importance_rank, r_squared, responses
                                from marts.satisfaction_key_drivers
                                where analysis = 'drivers' and period_month is null order by importance_rank""")
        scope = "all responses to date"
    chart = charts.bar_chart(f"What drives likelihood to recommend, {scope} (share of explained variance)",
                             [d["predictor"] for d in drivers], [d["importance_pct"] for d in drivers], unit="%",
                             highlight=drivers[0]["predictor"] if drivers else None)
    return SectionResult({"drivers": drivers, "scope": scope,
                          "r_squared": drivers[0]["r_squared"] if drivers else None,
                          "responses": drivers[0]["responses"] if drivers else None}, {"key_drivers": chart})


def complaint_handling(conn: Any, spec: ReportSpec, period: Period) -> SectionResult:
    from cx_warehouse.config.business import SEVERITIES, load_business
    from cx_warehouse.reports import charts

    month = period if period.grain == "month" else breakdown_month(period)
    found = {r["severity"]: r for r in rows(
        conn, """select * from marts.satisfaction_complaint_handling
                 where created_month = %(s)s and category = 'all' and channel = 'all'""", {"s": month.start})}
    targets = load_business().first_response_target_hours
    lines = [{**found[s], "target_hours": targets[s]} for s in SEVERITIES if s in found]
    chart = charts.grouped_bar_chart(
        f"First response by severity, {month.label}: median hours vs target", [x["severity"] for x in lines],
        {"median hours": [x["first_response_hours_median"] for x in lines],
         "target hours": [x["target_hours"] for x in lines]}, unit="h")
    return SectionResult({"lines": lines, "total": found.get("all"), "month_label": month.label},
                         {"complaint_handling": chart})


def loyalty(conn: Any, spec: ReportSpec, period: Period) -> SectionResult:
    from cx_warehouse.reports import charts

    month = period if period.grain == "month" else breakdown_month(period)
    tiers = rows(conn, """select t.recorded_tier as tier, count(*) as members,
                                 count(*) filter (where t.tier_status = 'due_upgrade') as due_upgrade,
                                 count(*) filter (where t.tier_status = 'due_downgrade') as due_downgrade
                          from marts.loyalty_member_tiers as t
                          group by 1 order by min(t.recorded_tier_rank) nulls last, 1""")
    points = one(conn, "select * from marts.loyalty_points_monthly where month_start = %(s)s", {"s": month.start})
    moves = rows(conn, """select migration_type, sum(members) as members from marts.loyalty_tier_migrations
                          where change_month = %(s)s group by 1 order by 1""", {"s": month.start})
    chart = charts.bar_chart("Members by tier (CRM tier today)", [t["tier"] or "unknown" for t in tiers],
                             [t["members"] for t in tiers], value_format="{:,.0f}")
    return SectionResult({"tiers": tiers, "points": points, "moves": moves, "month_label": month.label},
                         {"loyalty_tiers": chart})


def at_risk(conn: Any, spec: ReportSpec, period: Period) -> SectionResult:
    from cx_warehouse.reports import charts

    levels = rows(conn, """select risk_level, suggested_action, count(*) as customers
                           from marts.churn_customer_risk where not is_churned
                           group by 1, 2 order by 1, 2""")
    reasons = rows(conn, """select reason, population_customers, top_reason_customers, top_reason_share_pct,
                                   signal_prevalence_pct
                            from marts.churn_reasons where population = 'high_risk'
                            order by top_reason_share_pct desc, signal_order""")
    chart = charts.bar_chart("Why high-risk customers are at risk (share with this top reason)",
                             [r["reason"] for r in reasons], [r["top_reason_share_pct"] for r in reasons], unit="%")
    by_level: dict[str, int] = {}
    for r in levels:
        by_level[r["risk_level"]] = by_level.get(r["risk_level"], 0) + r["customers"]
    return SectionResult({"levels": levels, "by_level": by_level, "reasons": reasons}, {"churn_reasons": chart})


def social_sentiment(conn: Any, spec: ReportSpec, period: Period) -> SectionResult:
    from cx_warehouse.reports import charts

    history = _trend_rows(conn, period.grain, period.start, int(spec.option("trend_periods", 12)))
    x = [r["period_start"] for r in history]
    chart = charts.trend_chart("Social sentiment (mean, -1 to 1)", x,
                               {"sentiment": [r["sentiment_mean"] for r in history]})
    negative = charts.trend_chart("Negative mentions %", x, {"negative %": [r["negative_mention_pct"] for r in history]},
                                  unit="%")
    current = history[-1] if history and history[-1]["period_start"] == period.start else None
    return SectionResult({"current": current}, {"social_sentiment": chart, "social_negative": negative})


def verbatims(conn: Any, spec: ReportSpec, period: Period) -> SectionResult:
    """A few comments per (promoter, detractor) x (zh, en): chosen by a hash of the response id,
    so the choice is stable on re-render and not the author's or the analyst's pick."""
    per_group = int(spec.option("verbatims_per_group", 2))
    found = rows(conn, """select response_id, response_date, channel, touchpoint, language, nps_score, nps_category,
                                 comment
                          from (select *, row_number() over (partition by nps_category, language
                                                             order by md5(response_id)) as pick
                                from marts.fct_survey_responses
                                where response_date between %(s)s and %(e)s
                                  and nps_category in ('promoter', 'detractor')
                                  and language in ('zh', 'en')
                                  and length(btrim(comment)) >= 8) as c
                          where pick <= %(n)s
                          order by nps_category desc, language desc, pick""",
                 {"s": period.start, "e": period.end, "n": per_group})
    return SectionResult({"comments": found})


def data_quality(conn: Any, spec: ReportSpec, period: Period) -> SectionResult:
    from cx_warehouse.quality.gates import gate_runs
    from cx_warehouse.reports.readiness import marts_as_of

    return SectionResult({"gates": gate_runs(latest_per_gate=True), "as_of": marts_as_of(conn)})


def executive_kpis(conn: Any, spec: ReportSpec, period: Period) -> SectionResult:
    keys = list(spec.option("kpis", ["nps", "csat_pct", "churn_rate_pct", "repeat_purchase_rate_pct",
                                     "complaint_rate_pct", "sla_breach_pct", "sentiment_mean", "avg_predicted_clv"]))
    result = kpi_tiles(conn, spec, period, keys)
    business = one(conn, "select * from marts.loyalty_kpis_monthly where month_start = %(s)s", {"s": period.start})
    previous = one(conn, "select * from marts.loyalty_kpis_monthly where month_start = %(s)s",
                   {"s": period.previous().start})
    result.context.update({"business": business, "business_previous": previous})
    return result


def headlines(conn: Any, spec: ReportSpec, period: Period) -> SectionResult:
    """Sentences for the KPIs whose change is significant, worst first; the executive page's lead."""
    from cx_warehouse.reports import charts

    tiles = kpi_tiles(conn, spec, period, list(spec.option("kpis", list(KPIS)))).context["tiles"]
    moved = [t for t in tiles if t["verdict"] in ("better", "worse")]
    moved.sort(key=lambda t: (t["verdict"] != "worse", t["label"]))
    history = _trend_rows(conn, "month", period.start, 12)
    chart = charts.trend_chart("NPS by month, with 95% interval", [r["period_start"] for r in history],
                               {"NPS": [None if r["is_nps_low_sample"] else r["nps"] for r in history]},
                               band=([None if r["is_nps_low_sample"] else r["nps_ci_low"] for r in history],
                                     [None if r["is_nps_low_sample"] else r["nps_ci_high"] for r in history]))
    steady = [t["label"] for t in tiles if t["verdict"] == "within noise"]
    return SectionResult({"moved": moved, "steady": steady}, {"exec_nps_trend": chart})


SECTION_QUERIES: dict[str, Callable[[Any, ReportSpec, Period], SectionResult]] = {
    "kpi_tiles": kpi_tiles, "trends": trends, "nps_by_channel": nps_by_channel,
    "nps_by_touchpoint": nps_by_touchpoint, "servqual_gaps": servqual_gaps, "key_drivers": key_drivers,
    "complaint_handling": complaint_handling, "loyalty": loyalty, "at_risk": at_risk,
    "social_sentiment": social_sentiment, "verbatims": verbatims, "data_quality": data_quality,
    "executive_kpis": executive_kpis, "headlines": headlines,
}
