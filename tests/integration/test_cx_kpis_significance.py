"""The scoreboard's "is this change more than noise?" flags agree with the tests recomputed in Python.

``cx_kpis`` shows each KPI beside its previous period, and for every KPI estimated from a sample
says whether the change is significant: |change| > z_95 * sqrt(se^2 + se_prev^2), with at least
``satisfaction.min_responses`` observations in both periods, false without a previous period.
Here each KPI, its standard error, its n and its flag are recomputed from the rows below the mart
(``fct_survey_responses``, ``fct_orders``, ``fct_tickets``, ``fct_social_mentions``) with the
textbook formulas, and from the counts of the marts that own churn (``churn_rates``) and repeat
purchase (``loyalty_kpis_monthly``), on the shared ``marts_db`` warehouse (generated world, full
transform) - never by re-running the mart's SQL.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from cx_warehouse.config.business import load_business
from cx_warehouse.warehouse.connection import connect

Period = tuple[str, date]  # (period_grain, period_start)
SE_TOL = 1e-3        # the mart publishes standard errors with 4 decimals
VALUE_TOL = 0.0051   # and the KPIs with 2 (shares, rates) or 4 decimals
EDGE_TOL = 5e-4      # the CES standard error reaches cx_kpis rounded to 4 decimals (satisfaction_scores)


@dataclass(frozen=True)
class Estimate:
    """A KPI in one period: its value, standard error and the observations it rests on."""

    value: float | None
    se: float | None
    n: int


@dataclass(frozen=True)
class Kpi:
    """How one tile is recomputed: the mart's columns and the expected estimate per period."""

    name: str
    n_column: str
    expected: dict[Period, Estimate]


def rows(url: str, sql: str) -> list[dict[str, Any]]:
    with connect(url) as conn:
        cur = conn.execute(sql)
        names = [d.name for d in cur.description or []]
        return [{n: (float(v) if isinstance(v, Decimal) else v) for n, v in zip(names, r, strict=True)}
                for r in cur.fetchall()]


def period_start(grain: str, day: date) -> date:
    return day - timedelta(days=day.weekday()) if grain == "week" else day.replace(day=1)


def previous_start(grain: str, start: date) -> date:
    return start - timedelta(days=7) if grain == "week" else (start - timedelta(days=1)).replace(day=1)


def by_period(items: Iterable[dict[str, Any]], day_column: str) -> dict[Period, list[dict[str, Any]]]:
    """Rows grouped by the week and the month of ``day_column`` (each row counts in both)."""
    groups: dict[Period, list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        for grain in ("week", "month"):
            groups[(grain, period_start(grain, item[day_column]))].append(item)
    return groups


def share(successes: int, n: int) -> Estimate:
    """A percentage with its binomial standard error in % points."""
    if n == 0:
        return Estimate(None, None, 0)
    p = successes / n
    return Estimate(100 * p, 100 * math.sqrt(p * (1 - p) / n), n)


def mean(values: list[float]) -> Estimate:
    """A mean with its standard error s / sqrt(n), s the sample standard deviation."""
    if not values:
        return Estimate(None, None, 0)
    se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else None
    return Estimate(statistics.fmean(values), se, len(values))


def poisson_rate(events: int, exposure: int) -> Estimate:
    """Events per 100 units of exposure, the events counted as Poisson."""
    if exposure == 0:
        return Estimate(None, None, 0)
    return Estimate(100 * events / exposure, 100 * math.sqrt(events) / exposure, exposure)


def estimates(groups: dict[Period, list[dict[str, Any]]],
              estimate: Callable[[list[dict[str, Any]]], Estimate]) -> dict[Period, Estimate]:
    return {period: estimate(group) for period, group in groups.items()}


def close(actual: float | None, expected: float | None, tol: float) -> bool:
    if actual is None or expected is None:
        return actual is None and expected is None
    return abs(actual - expected) <= tol


# ----------------------------------------------------------------------------------------
# The facts, and the KPIs recomputed from them
# ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def thresholds() -> tuple[float, int]:
    section = load_business().raw["satisfaction"]
    assert isinstance(section, dict)
    return float(section["z_95"]), int(section["min_responses"])


@pytest.fixture(scope="module")
def mart(marts_db: Any) -> dict[Period, dict[str, Any]]:
    return {(r["period_grain"], r["period_start"]): r for r in rows(marts_db.url, "select * from marts.cx_kpis")}


@pytest.fixture(scope="module")
def kpis(marts_db: Any) -> dict[str, Kpi]:
    url = marts_db.url
    as_of = rows(url, "select as_of_date from intermediate.int_as_of_date")[0]["as_of_date"]
    responses = by_period(rows(url, "select response_date, csat_score, ces_score from marts.fct_survey_responses"),
                          "response_date")
    orders = by_period(rows(url, f"select order_date from marts.fct_orders where is_paid and order_date <= '{as_of}'"),
                       "order_date")
    tickets = by_period(rows(url, "select created_date, is_complaint, is_first_response_breached"
                                  f" from marts.fct_tickets where created_date <= '{as_of}'"), "created_date")
    mentions = by_period(rows(url, "select posted_date, sentiment_score, sentiment_label from marts.fct_social_mentions"
                                   f" where not is_brand_post and posted_date <= '{as_of}'"), "posted_date")
    churn = {("month", r["month_start"]): r for r in rows(
        url, "select month_start, customers_at_start, churned_customers from marts.churn_rates where dimension = 'all'")}
    loyalty = {("month", r["month_start"]): r for r in rows(
        url, "select month_start, buyers, returning_buyers from marts.loyalty_kpis_monthly")}

    def csat(group: list[dict[str, Any]]) -> Estimate:
        scores = [r["csat_score"] for r in group if r["csat_score"] is not None]
        return share(sum(s >= 4 for s in scores), len(scores))

    def complaints(period: Period) -> Estimate:
        paid_orders = len(orders.get(period, []))
        if period not in tickets:  # the mart leaves the rate empty, not 0, in a period without any ticket
            return Estimate(None, None, paid_orders)
        return poisson_rate(sum(t["is_complaint"] for t in tickets[period]), paid_orders)

    def scored(group: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [m for m in group if m["sentiment_label"] in ("positive", "neutral", "negative")]

    def churned(r: dict[str, Any]) -> Estimate:
        return share(r["churned_customers"], r["customers_at_start"])

    def retained(r: dict[str, Any]) -> Estimate:
        return share(r["customers_at_start"] - r["churned_customers"], r["customers_at_start"])

    return {k.name: k for k in [
        Kpi("csat_pct", "csat_responses", estimates(responses, csat)),
        Kpi("ces_mean", "ces_responses", estimates(
            responses, lambda g: mean([r["ces_score"] for r in g if r["ces_score"] is not None]))),
        Kpi("churn_rate_pct", "customers_at_start", {p: churned(r) for p, r in churn.items()}),
        Kpi("retention_rate_pct", "customers_at_start", {p: retained(r) for p, r in churn.items()}),
        Kpi("repeat_purchase_rate_pct", "buyers",
            {p: share(r["returning_buyers"], r["buyers"]) for p, r in loyalty.items()}),
        Kpi("complaint_rate_pct", "paid_orders", {p: complaints(p) for p in set(tickets) | set(orders)}),
        Kpi("sla_breach_pct", "tickets", estimates(
            tickets, lambda g: share(sum(t["is_first_response_breached"] for t in g), len(g)))),
        Kpi("sentiment_mean", "scored_mentions", estimates(
            mentions, lambda g: mean([m["sentiment_score"] for m in scored(g)]))),
        Kpi("negative_mention_pct", "scored_mentions", estimates(
            mentions, lambda g: share(sum(m["sentiment_label"] == "negative" for m in scored(g)), len(scored(g))))),
    ]}


# ----------------------------------------------------------------------------------------
# Tests
# ----------------------------------------------------------------------------------------
def test_cx_kpis_and_its_unit_tests_pass(marts_db: Any) -> None:
    results = marts_db.run_results["results"]
    mine = {r["unique_id"]: r["status"] for r in results if ".cx_kpis" in r["unique_id"]}
    assert mine.get("model.cx_warehouse.cx_kpis") == "success", mine
    units = {uid: status for uid, status in mine.items() if uid.startswith("unit_test.")}
    assert any("significance" in uid for uid in units), units
    assert set(units.values()) == {"pass"}, units


@pytest.mark.parametrize("name", ["csat_pct", "ces_mean", "churn_rate_pct", "retention_rate_pct",
                                  "repeat_purchase_rate_pct", "complaint_rate_pct", "sla_breach_pct",
                                  "sentiment_mean", "negative_mention_pct"])
def test_value_standard_error_and_n_match_python(name: str, kpis: dict[str, Kpi],
                                                 mart: dict[Period, dict[str, Any]]) -> None:
    kpi = kpis[name]
    checked = 0
    for period, row in mart.items():
        expected = kpi.expected.get(period)
        if expected is None:  # a period without this sample (or a week row of a monthly KPI)
            assert row[f"{name}_standard_error"] is None, (name, period)
            assert row[kpi.n_column] in (None, 0), (name, period, row[kpi.n_column])
            continue
        assert row[kpi.n_column] == expected.n, (name, period, row[kpi.n_column], expected)
        assert close(row[name], expected.value, VALUE_TOL), (name, period, row[name], expected)
        assert close(row[f"{name}_standard_error"], expected.se, SE_TOL), (name, period, row, expected)
        checked += 1
    assert checked >= 4, f"{name}: only {checked} periods with a sample; the world proves nothing"


@pytest.mark.parametrize("name", ["csat_pct", "ces_mean", "churn_rate_pct", "retention_rate_pct",
                                  "repeat_purchase_rate_pct", "complaint_rate_pct", "sla_breach_pct",
                                  "sentiment_mean", "negative_mention_pct"])
def test_change_flag_matches_python(name: str, kpis: dict[str, Kpi], mart: dict[Period, dict[str, Any]],
                                    thresholds: tuple[float, int]) -> None:
    z, minimum = thresholds
    kpi = kpis[name]
    compared = 0
    for (grain, start), row in mart.items():
        flag = row[f"is_{name}_change_significant"]
        assert flag is not None, (name, grain, start)
        cur = kpi.expected.get((grain, start))
        prev = kpi.expected.get((grain, previous_start(grain, start)))
        if cur is None or prev is None or None in (cur.value, prev.value, cur.se, prev.se):
            assert flag is False, (name, grain, start, "nothing to compare")
            continue
        assert cur.se is not None and prev.se is not None
        # the change the tile shows: published value minus published previous value (both checked above)
        change = abs(row[name] - row[f"previous_{name}"])
        band = z * math.sqrt(cur.se ** 2 + prev.se ** 2)
        if abs(change - band) <= EDGE_TOL and change != band:  # too close to call in floating point
            continue
        expected = change > band and cur.n >= minimum and prev.n >= minimum
        assert flag is expected, (name, grain, start, cur, prev, change, band)
        compared += 1
    assert compared >= 2, f"{name}: only {compared} period pairs compared"


def test_the_world_exercises_both_outcomes(kpis: dict[str, Kpi], mart: dict[Period, dict[str, Any]],
                                           thresholds: tuple[float, int]) -> None:
    """Over all KPIs, some change is flagged and some change on enough observations is not:
    otherwise the flag tests above could pass with a constant."""
    _, minimum = thresholds
    flagged, unflagged_on_enough = 0, 0
    for name, kpi in kpis.items():
        for (grain, start), row in mart.items():
            cur = kpi.expected.get((grain, start))
            prev = kpi.expected.get((grain, previous_start(grain, start)))
            if row[f"is_{name}_change_significant"]:
                flagged += 1
            elif cur and prev and cur.n >= minimum and prev.n >= minimum and row[f"previous_{name}"] is not None:
                unflagged_on_enough += 1
    assert flagged >= 1 and unflagged_on_enough >= 1, (flagged, unflagged_on_enough)


def test_model_output_has_no_flag(mart: dict[Period, dict[str, Any]]) -> None:
    """avg_predicted_clv is a model's output restated on every run, not a sample estimate."""
    columns = set(next(iter(mart.values())))
    assert "avg_predicted_clv" in columns
    assert not {"is_avg_predicted_clv_change_significant", "avg_predicted_clv_standard_error"} & columns
    assert "is_nps_change_significant" in columns  # the NPS keeps its own, from satisfaction_scores
