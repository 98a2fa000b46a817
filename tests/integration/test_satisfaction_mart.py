"""The satisfaction marts agree with the metrics recomputed in Python from the facts below them.

Every expected value here is computed from fct/staging rows with plain Python (zoneinfo for
business hours, the textbook NPS variance), never by re-running the marts' SQL, on the shared
``marts_db`` warehouse (generated world, full transform).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cx_warehouse.config.business import BusinessRules, load_business
from cx_warehouse.warehouse.connection import connect

SATISFACTION_MODELS = {
    "fct_tickets", "satisfaction_scores", "satisfaction_servqual_gaps", "satisfaction_ratings_monthly",
    "satisfaction_key_drivers", "satisfaction_complaint_handling", "satisfaction_social_daily",
}
TOL = 1e-3  # the marts keep 4 decimals


def rows(url: str, sql: str, params: Any = None) -> list[dict[str, Any]]:
    with connect(url) as conn:
        cur = conn.execute(sql, params)
        names = [d.name for d in cur.description or []]
        return [{n: (float(v) if isinstance(v, Decimal) else v) for n, v in zip(names, r, strict=True)}
                for r in cur.fetchall()]


@pytest.fixture(scope="module")
def rules() -> BusinessRules:
    return load_business()


@pytest.fixture(scope="module")
def satisfaction(rules: BusinessRules) -> dict[str, float]:
    section = rules.raw["satisfaction"]
    assert isinstance(section, dict)
    return {"min_responses": float(section["min_responses"]), "z": float(section["z_95"])}


# ----------------------------------------------------------------------------------------
# Independent implementations
# ----------------------------------------------------------------------------------------
def nps_stats(scores: Iterable[int], z: float) -> dict[str, float] | None:
    """NPS, its standard error and clamped 95% interval from raw 0-10 scores."""
    scores = list(scores)
    n = len(scores)
    if n == 0:
        return None
    p = sum(s >= 9 for s in scores) / n
    d = sum(s <= 6 for s in scores) / n
    nps = 100 * (p - d)
    se = 100 * math.sqrt(max(p + d - (p - d) ** 2, 0.0) / n)
    return {"n": n, "nps": nps, "se": se, "low": max(-100.0, nps - z * se), "high": min(100.0, nps + z * se)}


def local_instant(day: date, clock: object, tz: ZoneInfo) -> datetime:
    """``day`` at ``clock`` ("HH:MM", "24:00" = the next midnight) in ``tz``."""
    hh, mm = (int(x) for x in str(clock).split(":"))
    return datetime.combine(day, time(0), tz) + timedelta(hours=hh, minutes=mm) if hh == 24 else \
        datetime.combine(day, time(hh, mm), tz)


def business_hours(start: datetime, end: datetime, rules: BusinessRules) -> float:
    """Seconds of [start, end) inside service hours on service days that are not holidays, in hours."""
    tz = ZoneInfo(rules.timezone)
    bh = rules.business_hours
    days = {int(d) for d in bh["days"]}  # type: ignore[attr-defined]
    holidays = set(rules.holidays)
    total = 0.0
    day = start.astimezone(tz).date()
    while day <= end.astimezone(tz).date():
        if day.isoweekday() in days and day not in holidays:
            window_start = local_instant(day, bh["start"], tz)
            window_end = local_instant(day, bh["end"], tz)
            total += max(0.0, (min(end, window_end) - max(start, window_start)).total_seconds())
        day += timedelta(days=1)
    return total / 3600


def hours(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else (end - start).total_seconds() / 3600


def close(actual: float | None, expected: float | None, tol: float = TOL) -> bool:
    if actual is None or expected is None:
        return actual is None and expected is None
    return abs(actual - expected) <= tol


# ----------------------------------------------------------------------------------------
# Fixtures over the built warehouse
# ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def url(marts_db: Any) -> str:
    return str(marts_db.url)


@pytest.fixture(scope="module")
def responses(url: str) -> list[dict[str, Any]]:
    return rows(url, "select response_id, response_date, response_month, channel, nps_score, csat_score, ces_score"
                     " from marts.fct_survey_responses")


@pytest.fixture(scope="module")
def scores(url: str) -> dict[tuple[str, date, str, str], dict[str, Any]]:
    out = rows(url, "select * from marts.satisfaction_scores")
    return {(r["period_grain"], r["period_start"], r["dimension"], r["dimension_value"]): r for r in out}


@pytest.fixture(scope="module")
def tickets(url: str, rules: BusinessRules) -> list[dict[str, Any]]:
    """Staging tickets with their measures computed here, beside the fct_tickets row."""
    as_of = rows(url, "select as_of_date from intermediate.int_as_of_date")[0]["as_of_date"]
    as_of_end = datetime.combine(as_of + timedelta(days=1), time(0), ZoneInfo(rules.timezone))
    staged = rows(url, "select ticket_id, severity, created_at, first_response_at, resolved_at, reopen_count"
                       " from staging.stg_crm__tickets")
    fct = {r["ticket_id"]: r for r in rows(url, "select * from marts.fct_tickets")}
    out = []
    for t in staged:
        fr_target = rules.first_response_target_hours[t["severity"]]
        res_target = rules.resolution_target_hours[t["severity"]]
        created, answered, resolved = t["created_at"], t["first_response_at"], t["resolved_at"]
        out.append({
            **t,
            "month": created.astimezone(ZoneInfo(rules.timezone)).date().replace(day=1),
            "fr_hours": hours(created, answered),
            "fr_bh": None if answered is None else business_hours(created, answered, rules),
            "res_hours": hours(created, resolved),
            "res_bh": None if resolved is None else business_hours(created, resolved, rules),
            "fr_breached": ((answered or as_of_end) - created).total_seconds() > fr_target * 3600,
            "res_breached": ((resolved or as_of_end) - created).total_seconds() > res_target * 3600,
            "fct": fct.get(t["ticket_id"]),
        })
    return out


# ----------------------------------------------------------------------------------------
# Tests
# ----------------------------------------------------------------------------------------
def test_satisfaction_models_and_their_tests_pass(marts_db: Any) -> None:
    results = marts_db.run_results["results"]
    built = {r["unique_id"].split(".")[-1] for r in results
             if r["unique_id"].startswith("model.") and r["status"] == "success"}
    assert SATISFACTION_MODELS <= built
    mine = [r for r in results if r["unique_id"].startswith(("test.", "unit_test."))
            and any(m in r["unique_id"] for m in SATISFACTION_MODELS)]
    assert any(r["unique_id"].startswith("unit_test.") for r in mine)
    assert {r["status"] for r in mine} <= {"pass", "warn"}, [r["unique_id"] for r in mine if r["status"] != "pass"]


def test_monthly_overall_nps_and_interval_match_python(responses, scores, satisfaction) -> None:  # type: ignore[no-untyped-def]
    by_month: dict[date, list[int]] = defaultdict(list)
    for r in responses:
        if r["nps_score"] is not None:
            by_month[r["response_month"]].append(r["nps_score"])
    assert len(by_month) >= 3
    for month, month_scores in by_month.items():
        expected = nps_stats(month_scores, satisfaction["z"])
        assert expected is not None
        cell = scores[("month", month, "overall", "all")]
        assert cell["nps_responses"] == expected["n"]
        assert close(cell["nps"], expected["nps"]), (month, cell["nps"], expected)
        assert close(cell["nps_standard_error"], expected["se"]), (month, cell, expected)
        assert close(cell["nps_ci_low"], expected["low"]) and close(cell["nps_ci_high"], expected["high"])
        assert cell["is_low_sample"] == (expected["n"] < satisfaction["min_responses"])


def test_one_channel_nps_csat_and_ces_match_python(responses, scores, satisfaction) -> None:  # type: ignore[no-untyped-def]
    counts: dict[str, int] = defaultdict(int)
    for r in responses:
        counts[r["channel"]] += 1
    channel = max(counts, key=lambda c: counts[c])
    cells: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for r in responses:
        if r["channel"] == channel:
            cells[r["response_month"]].append(r)
    for month, month_rows in cells.items():
        cell = scores[("month", month, "channel", channel)]
        expected = nps_stats([r["nps_score"] for r in month_rows if r["nps_score"] is not None], satisfaction["z"])
        if expected is None:
            assert cell["nps"] is None and cell["nps_responses"] == 0
        else:
            assert close(cell["nps"], expected["nps"]) and close(cell["nps_standard_error"], expected["se"])
            assert close(cell["nps_ci_low"], expected["low"]) and close(cell["nps_ci_high"], expected["high"])
        csat = [r["csat_score"] for r in month_rows if r["csat_score"] is not None]
        ces = [r["ces_score"] for r in month_rows if r["ces_score"] is not None]
        assert cell["responses"] == len(month_rows)
        assert cell["csat_responses"] == len(csat) and cell["ces_responses"] == len(ces)
        assert close(cell["csat_pct"], 100 * sum(s >= 4 for s in csat) / len(csat) if csat else None)
        assert close(cell["csat_mean"], sum(csat) / len(csat) if csat else None)
        assert close(cell["ces_mean"], sum(ces) / len(ces) if ces else None)


def test_overall_csat_and_ces_by_month_match_python(responses, scores) -> None:  # type: ignore[no-untyped-def]
    by_month: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for r in responses:
        by_month[r["response_month"]].append(r)
    for month, month_rows in by_month.items():
        cell = scores[("month", month, "overall", "all")]
        csat = [r["csat_score"] for r in month_rows if r["csat_score"] is not None]
        ces = [r["ces_score"] for r in month_rows if r["ces_score"] is not None]
        assert close(cell["csat_pct"], 100 * sum(s >= 4 for s in csat) / len(csat) if csat else None)
        assert close(cell["ces_mean"], sum(ces) / len(ces) if ces else None)


def test_month_over_month_change_and_significance_match_python(responses, scores, satisfaction) -> None:  # type: ignore[no-untyped-def]
    z, minimum = satisfaction["z"], satisfaction["min_responses"]
    by_month: dict[date, list[int]] = defaultdict(list)
    for r in responses:
        if r["nps_score"] is not None:
            by_month[r["response_month"]].append(r["nps_score"])
    months = sorted(by_month)
    for prev, cur in zip(months, months[1:], strict=False):
        if (cur - timedelta(days=1)).replace(day=1) != prev:
            continue
        a, b = nps_stats(by_month[prev], z), nps_stats(by_month[cur], z)
        assert a is not None and b is not None
        change = b["nps"] - a["nps"]
        se = math.sqrt(a["se"] ** 2 + b["se"] ** 2)
        significant = abs(change) > z * se and a["n"] >= minimum and b["n"] >= minimum
        cell = scores[("month", cur, "overall", "all")]
        assert close(cell["nps_change"], change) and close(cell["nps_change_se"], se)
        if abs(abs(change) - z * se) > TOL:  # not on the knife's edge of rounding
            assert cell["is_nps_change_significant"] == significant, (cur, change, se)


def test_low_sample_flags_and_nps_range(scores, satisfaction) -> None:  # type: ignore[no-untyped-def]
    minimum = satisfaction["min_responses"]
    assert any(c["is_low_sample"] for c in scores.values())
    assert any(not c["is_low_sample"] for c in scores.values())
    for key, c in scores.items():
        assert c["is_low_sample"] == (c["nps_responses"] < minimum), key
        assert c["is_csat_low_sample"] == (c["csat_responses"] < minimum), key
        if c["is_low_sample"] or c["previous_nps"] is None:
            assert not c["is_nps_change_significant"], key
        if c["nps"] is not None:
            assert -100 <= c["nps"] <= 100, key
            assert -100 <= c["nps_ci_low"] <= c["nps"] + TOL and c["nps"] - TOL <= c["nps_ci_high"] <= 100, key
            assert c["promoters"] + c["passives"] + c["detractors"] == c["nps_responses"], key


def test_every_response_counts_once_per_grain_and_dimension(responses, scores) -> None:  # type: ignore[no-untyped-def]
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for (grain, _, dimension, _), c in scores.items():
        totals[(grain, dimension)] += c["responses"]
    assert set(totals.values()) == {len(responses)}


def test_business_and_clock_hours_of_every_ticket_match_zoneinfo(tickets) -> None:  # type: ignore[no-untyped-def]
    assert len(tickets) > 50
    assert any(t["fr_bh"] is not None and t["fr_hours"] is not None and t["fr_bh"] < t["fr_hours"] - 1
               for t in tickets), "no ticket spans closed hours: the test proves nothing"
    for t in tickets:
        f = t["fct"]
        assert f is not None, t["ticket_id"]
        assert close(f["first_response_hours"], t["fr_hours"]), t["ticket_id"]
        assert close(f["first_response_business_hours"], t["fr_bh"]), (t["ticket_id"], f, t)
        assert close(f["resolution_hours"], t["res_hours"]), t["ticket_id"]
        assert close(f["resolution_business_hours"], t["res_bh"]), (t["ticket_id"], f, t)
        assert f["is_first_response_breached"] == t["fr_breached"], t["ticket_id"]
        assert f["is_resolution_breached"] == t["res_breached"], t["ticket_id"]
        assert f["is_reopened"] == (t["reopen_count"] > 0)


def test_business_hours_python_reference_itself(rules: BusinessRules) -> None:
    """The reference implementation on hand-checked intervals (09:00-21:00 local, UTC+8)."""
    tz = ZoneInfo(rules.timezone)
    if (rules.timezone, rules.business_hours.get("start"), rules.business_hours.get("end")) != (
            "Asia/Shanghai", "09:00", "21:00"):
        pytest.skip("hand-checked values assume the shipped service hours")
    day = date(2026, 3, 2)
    assert day not in rules.holidays
    start = datetime.combine(day, time(20), tz)
    assert business_hours(start, start + timedelta(hours=13, minutes=30), rules) == pytest.approx(1.5)
    assert business_hours(start, start + timedelta(days=1), rules) == pytest.approx(12.0)


def test_complaint_handling_breach_rates_match_python(url, tickets) -> None:  # type: ignore[no-untyped-def]
    mart = {(r["created_month"], r["severity"]): r for r in rows(
        url, "select * from marts.satisfaction_complaint_handling where category = 'all' and channel = 'all'")}
    groups: dict[tuple[date, str], list[dict[str, Any]]] = defaultdict(list)
    for t in tickets:
        groups[(t["month"], t["severity"])].append(t)
        groups[(t["month"], "all")].append(t)
    assert set(groups) == set(mart)
    for key, group in groups.items():
        m = mart[key]
        assert m["tickets"] == len(group)
        assert close(m["first_response_breach_pct"], 100 * sum(t["fr_breached"] for t in group) / len(group)), key
        assert close(m["resolution_breach_pct"], 100 * sum(t["res_breached"] for t in group) / len(group)), key
        answered = sorted(t["fr_hours"] for t in group if t["fr_hours"] is not None)
        if answered:
            mid = len(answered) // 2
            median = answered[mid] if len(answered) % 2 else (answered[mid - 1] + answered[mid]) / 2
            assert close(m["first_response_hours_median"], median), key


def test_social_share_negative_matches_python(url) -> None:  # type: ignore[no-untyped-def]
    mentions = rows(url, "select posted_date, platform, sentiment_label, has_brand_replied, is_brand_post "
                         "from marts.fct_social_mentions")
    brand_posts = [m for m in mentions if m["is_brand_post"]]
    assert brand_posts, "the generator's brand replies should be in the export"
    mentions = [m for m in mentions if not m["is_brand_post"]]  # the brand's own posts are not mentions
    scored = [m for m in mentions if m["sentiment_label"] != "unscored"]
    assert scored, "the sentiment task scored no mention"
    groups: dict[tuple[date, str], list[dict[str, Any]]] = defaultdict(list)
    for m in mentions:
        groups[(m["posted_date"], m["platform"])].append(m)
        groups[(m["posted_date"], "all")].append(m)
    mart = {(r["posted_date"], r["platform"]): r for r in rows(url, "select * from marts.satisfaction_social_daily")}
    assert set(groups) == set(mart)
    for key, group in groups.items():
        m = mart[key]
        n_scored = sum(x["sentiment_label"] in ("positive", "neutral", "negative") for x in group)
        negative = [x for x in group if x["sentiment_label"] == "negative"]
        assert m["mentions"] == len(group) and m["scored_mentions"] == n_scored, key
        assert close(m["negative_mention_pct"], 100 * len(negative) / n_scored if n_scored else None), key
        answered = sum(x["has_brand_replied"] for x in negative)
        assert close(m["negative_answered_pct"], 100 * answered / len(negative) if negative else None), key
