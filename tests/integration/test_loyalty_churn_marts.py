"""The loyalty and churn marts against values recomputed in Python from staging and fact rows
(tiers, points liability, retention cohorts, RFM scores, lifecycle stages, churn rates,
win-back returns, the churn signals), and the planted behaviour: the churn risk score must
separate the generator's 'churning' customers from its 'loyal' ones."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cx_warehouse.config.business import load_business
from cx_warehouse.warehouse.connection import connect

INTERMEDIATE = ("int_customers_orders_summarised", "int_customers_rfm_scored", "int_customers_points",
                "int_customer_months_summarised", "int_customers_churn_signals")
LOYALTY = ("loyalty_member_tiers", "loyalty_tier_migrations", "loyalty_points_monthly", "loyalty_kpis_monthly",
           "loyalty_retention_cohorts", "loyalty_rfm_segments", "loyalty_customer_value")
CHURN = ("churn_customer_risk", "churn_rates", "churn_reasons", "churn_win_back")
MODELS = INTERMEDIATE + LOYALTY + CHURN

# Measured: 0.939 on the shared marts world (400 customers, 120 days, seed 23: 14 churning vs
# 38 loyal customers, so one churning customer moves the AUC by up to 0.07) and 0.935 on the
# demo data (3000 customers, 365 days). The floor leaves room for that granularity.
AUC_FLOOR = 0.85

# The RFM segment map, written out as the grid it is: rows R 5..1, columns FM 1..5.
SEGMENT_GRID = {
    5: ("new", "potential_loyalist", "potential_loyalist", "champions", "champions"),
    4: ("promising", "potential_loyalist", "potential_loyalist", "loyal", "loyal"),
    3: ("about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"),
    2: ("hibernating", "hibernating", "at_risk", "at_risk", "cannot_lose"),
    1: ("lost", "lost", "at_risk", "at_risk", "cannot_lose"),
}


def _q(url: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def _round(value: Decimal | float, places: int) -> Decimal:
    """Postgres round(): half away from zero."""
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _year_before(d: date) -> date:
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year - 1, day=28)


def _month_starts(first: date, last: date) -> list[date]:
    months, m = [], first.replace(day=1)
    while m <= last:
        months.append(m)
        m = (m + timedelta(days=32)).replace(day=1)
    return months


def _month_end(m: date) -> date:
    return (m + timedelta(days=32)).replace(day=1) - timedelta(days=1)


@dataclass
class World:
    """The lower-level rows every check recomputes from."""

    url: str
    as_of: date
    tz: ZoneInfo
    rules: dict[str, Any]
    customers: dict[str, tuple[date | None, str | None]]      # id -> (signup_date, signup_channel)
    orders: list[tuple[Any, ...]]                               # paid, up to the as-of day, any customer id
    crm_orders: dict[str, list[tuple[Any, ...]]]               # CRM customer -> paid orders by time

    def day_end(self, d: date) -> datetime:
        return datetime.combine(d + timedelta(days=1), time(), tzinfo=self.tz)

    def local_date(self, ts: datetime) -> date:
        return ts.astimezone(self.tz).date()


@pytest.fixture(scope="module")
def world(marts_db: Any) -> World:
    url = marts_db.url
    business = load_business()
    (as_of,), = _q(url, "select as_of_date from intermediate.int_as_of_date")
    customers = {cid: (signup, channel) for cid, signup, channel in _q(
        url, "select customer_id, signup_date, signup_channel from staging.stg_crm__customers")}
    orders = _q(url, """select order_id, customer_id, ordered_at, order_date, channel, order_amount, discount_amount
                        from staging.stg_crm__orders where is_paid and order_date <= %s
                        order by ordered_at, order_id""", (as_of,))
    crm_orders: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for o in orders:
        if o[1] in customers:
            crm_orders[o[1]].append(o)
    return World(url=url, as_of=as_of, tz=ZoneInfo(business.timezone), rules=business.raw,
                 customers=customers, orders=orders, crm_orders=dict(crm_orders))


def test_models_unit_tests_and_data_tests_pass(marts_db: Any) -> None:
    results = marts_db.run_results["results"]
    built = {r["unique_id"].split(".")[-1]: r["status"] for r in results if r["unique_id"].startswith("model.")}
    assert {m: built.get(m) for m in MODELS} == {m: "success" for m in MODELS}
    mine = [r for r in results if r["unique_id"].split(".")[0] in ("test", "unit_test")
            and any(m in r["unique_id"] for m in MODELS)]
    unit = [r for r in mine if r["unique_id"].startswith("unit_test.")]
    assert len(unit) >= 14
    assert {r["unique_id"]: r["status"] for r in mine if r["status"] != "pass"} == {}


def test_lifecycle_stages_follow_the_customer_rules(world: World) -> None:
    rule = world.rules["customer"]
    expected = {}
    for cid in world.customers:
        orders = world.crm_orders.get(cid, [])
        days = [o[3] for o in orders]
        if not orders:
            stage = "prospect"
        else:
            since = (world.as_of - days[-1]).days
            gaps = [(b - a).days for a, b in zip(days, days[1:], strict=False)]
            if since >= rule["churn_after_days"]:
                stage = "churned"
            elif since >= rule["at_risk_after_days"]:
                stage = "at_risk"
            elif gaps and max(gaps) >= rule["won_back_gap_days"]:
                stage = "won_back"
            elif len(orders) >= rule["loyal_min_orders"]:
                stage = "loyal"
            else:
                stage = "repeat" if len(orders) > 1 else "first_time"
        year_ago = _year_before(world.as_of)
        expected[cid] = (stage, len(orders), sum((o[5] for o in orders), Decimal(0)),
                         sum((o[5] for o in orders if o[3] > year_ago), Decimal(0)))
    actual = {r[0]: tuple(r[1:]) for r in _q(world.url, """
        select customer_id, lifecycle_stage, paid_order_count, total_spend, spend_12m
        from intermediate.int_customers_orders_summarised""")}
    assert actual == expected
    assert len({v[0] for v in expected.values()}) >= 4  # the check sees several stages


def test_rfm_scores_and_segments(world: World) -> None:
    measures = {cid: ((world.as_of - o[-1][3]).days, len(o), sum((x[5] for x in o), Decimal(0)))
                for cid, o in world.crm_orders.items()}
    n = len(measures)

    def scores(values: dict[str, Any], better_is_higher: bool) -> dict[str, int]:
        # rank from the worst value, ties sharing the lowest rank
        worse = sorted(values.values(), reverse=not better_is_higher)
        first_rank = {}
        for i, v in enumerate(worse, start=1):
            first_rank.setdefault(v, i)
        return {cid: 1 + (5 * (first_rank[v] - 1)) // n for cid, v in values.items()}

    r = scores({c: m[0] for c, m in measures.items()}, better_is_higher=False)
    f = scores({c: m[1] for c, m in measures.items()}, better_is_higher=True)
    m = scores({c: m[2] for c, m in measures.items()}, better_is_higher=True)
    expected = {}
    for cid in measures:
        fm = math.floor((f[cid] + m[cid]) / 2 + 0.5)
        expected[cid] = (r[cid], f[cid], m[cid], f"{r[cid]}{f[cid]}{m[cid]}", SEGMENT_GRID[r[cid]][fm - 1])
    actual = {row[0]: tuple(row[1:]) for row in _q(world.url, """
        select customer_id, r_score, f_score, m_score, rfm_cell, rfm_segment from intermediate.int_customers_rfm_scored""")}
    assert actual == expected
    assert Counter(v[0] for v in expected.values()).keys() == {1, 2, 3, 4, 5}


def test_member_tiers_follow_the_spend_and_orders_rule(world: World) -> None:
    business = load_business()
    year_ago = _year_before(world.as_of)
    spend: dict[str, Decimal] = defaultdict(Decimal)
    paid_orders: Counter[str] = Counter()
    for o in world.orders:
        if o[3] > year_ago:
            spend[o[1]] += o[5]
            paid_orders[o[1]] += 1
    recorded = dict(_q(world.url, "select customer_id, tier from staging.stg_crm__memberships"))
    expected = {}
    for cid, tier in recorded.items():
        rule_tier = business.tier_for(float(spend[cid]), paid_orders[cid])
        expected[cid] = (spend[cid], paid_orders[cid], rule_tier, rule_tier == tier)
    actual = {r[0]: tuple(r[1:]) for r in _q(world.url, """
        select customer_id, spend_12m, orders_12m, rule_tier, is_tier_agreed from marts.loyalty_member_tiers""")}
    assert actual == expected
    agreed = Counter(v[3] for v in expected.values())
    assert agreed[True] and agreed[False]  # both outcomes occur, so the comparison is exercised
    # the order threshold decides some tiers (spend alone would give a higher one)
    assert any(business.tier_for(float(spend[cid])) != v[2] for cid, v in expected.items())


def test_points_balances_and_monthly_liability(world: World) -> None:
    validity = timedelta(days=int(world.rules["loyalty"]["points_validity_days"]))
    ledger = _q(world.url, """select customer_id, entry_type, reason, points, created_at, expires_at
                              from staging.stg_crm__points_ledger_entries""")
    ledger = [e for e in ledger if world.local_date(e[4]) <= world.as_of]

    def outstanding_at(end: datetime) -> dict[str, int]:
        balance: dict[str, int] = defaultdict(int)
        valid: dict[str, int] = defaultdict(int)
        for cid, kind, _, points, created, expires in ledger:
            if created < end:
                balance[cid] += points
                if kind == "earn" and (expires or created + validity) > end:
                    valid[cid] += points
        return {cid: max(0, min(b, valid[cid])) for cid, b in balance.items()}

    per_customer = outstanding_at(world.day_end(world.as_of))
    actual = dict(_q(world.url, "select customer_id, unexpired_points from intermediate.int_customers_points"))
    assert actual == per_customer
    members = dict(_q(world.url, "select customer_id, unexpired_points from marts.loyalty_member_tiers"))
    assert members == {cid: per_customer.get(cid, 0) for cid in members}

    first = min(world.local_date(e[4]) for e in ledger)
    expected_months = {}
    for m in _month_starts(first, world.as_of):
        end = min(_month_end(m), world.as_of)
        in_month = [e for e in ledger if world.local_date(e[4]).replace(day=1) == m]
        expected_months[m] = (
            sum(e[3] for e in in_month if e[1] == "earn"),
            sum(-e[3] for e in in_month if e[1] == "redeem"),
            sum(-e[3] for e in in_month if e[1] == "expire"),
            sum(e[3] for e in in_month if e[1] == "earn" and e[2] == "referral"),
            sum(outstanding_at(world.day_end(end)).values()),
        )
    actual_months = {r[0]: tuple(r[1:]) for r in _q(world.url, """
        select month_start, points_earned, points_redeemed, points_expired, referral_points_earned, outstanding_points
        from marts.loyalty_points_monthly""")}
    assert actual_months == expected_months
    assert any(v[2] for v in expected_months.values()) or len(expected_months) < 7  # expiries once lots age


def test_retention_cohorts(world: World) -> None:
    active: dict[tuple[date, date], set[str]] = defaultdict(set)
    cohort_of = {cid: o[0][3].replace(day=1) for cid, o in world.crm_orders.items()}
    for cid, orders in world.crm_orders.items():
        for o in orders:
            active[(cohort_of[cid], o[3].replace(day=1))].add(cid)
    sizes = Counter(cohort_of.values())
    expected = {}
    for cohort, size in sizes.items():
        for k, m in enumerate(_month_starts(cohort, world.as_of)):
            n = len(active[(cohort, m)])
            expected[(cohort, k)] = (size, n, _round(Decimal(100 * n) / size, 2))
    actual = {(r[0], r[1]): tuple(r[2:]) for r in _q(world.url, """
        select cohort_month, months_since_first_order, cohort_size, active_customers, retention_pct
        from marts.loyalty_retention_cohorts""")}
    assert actual == expected
    assert any(v[1] < v[0] for v in expected.values())


def test_monthly_kpis(world: World) -> None:
    first_month = {cid: o[0][3].replace(day=1) for cid, o in world.crm_orders.items()}
    by_month: dict[date, list[tuple[Any, ...]]] = defaultdict(list)
    for orders in world.crm_orders.values():
        for o in orders:
            by_month[o[3].replace(day=1)].append(o)
    expected = {}
    for m, orders in by_month.items():
        buyers = {o[1] for o in orders}
        returning = {c for c in buyers if first_month[c] < m}
        revenue = sum((o[5] for o in orders), Decimal(0))
        expected[m] = (len(buyers), len(returning), _round(Decimal(100 * len(returning)) / len(buyers), 2),
                       len(orders), _round(Decimal(len(orders)) / len(buyers), 4), revenue,
                       _round(revenue / len(orders), 2))
    actual = {r[0]: tuple(r[1:]) for r in _q(world.url, """
        select month_start, buyers, returning_buyers, repeat_purchase_rate_pct, paid_orders, purchase_frequency,
               revenue, avg_order_value
        from marts.loyalty_kpis_monthly where buyers > 0""")}
    assert actual == expected


def test_monthly_churn_rates(world: World) -> None:
    churn_days = int(world.rules["customer"]["churn_after_days"])
    first = min(o[0][3] for o in world.crm_orders.values())
    expected = {}
    for m in _month_starts(first, world.as_of):
        end = min(_month_end(m), world.as_of)
        at_start = churned = 0
        for orders in world.crm_orders.values():
            days = [o[3] for o in orders]
            before = [d for d in days if d < m]
            if not before or before[-1] + timedelta(days=churn_days) < m:
                continue
            at_start += 1
            churn_day = before[-1] + timedelta(days=churn_days)
            if churn_day <= end and not any(m <= d <= churn_day for d in days):
                churned += 1
        rate = _round(Decimal(100 * churned) / at_start, 2) if at_start else None
        expected[m] = (at_start, churned, rate)
    actual = {r[0]: tuple(r[1:]) for r in _q(world.url, """
        select month_start, customers_at_start, churned_customers, churn_rate_pct
        from marts.churn_rates where dimension = 'all'""")}
    assert actual == expected
    per_dimension = _q(world.url, """
        select month_start, dimension, sum(customers_at_start), sum(churned_customers)
        from marts.churn_rates group by 1, 2""")
    for month, _, at_start, churned in per_dimension:  # each breakdown partitions the customers
        assert (at_start, churned) == expected[month][:2]


def test_win_back_returns(world: World) -> None:
    return_days = timedelta(days=int(world.rules["churn_risk"]["win_back_return_days"]))
    contacts = _q(world.url, """select customer_id, campaign_type, contacted_at from staging.stg_crm__campaign_contacts
                                where campaign_type in ('win_back_coupon', 'care_call')""")
    end = world.day_end(world.as_of)
    first_contact: dict[tuple[str, date, str], datetime] = {}
    for cid, kind, at in contacts:
        if at < end:
            key = (kind, world.local_date(at).replace(day=1), cid)
            first_contact[key] = min(at, first_contact.get(key, at))
    paid_at: dict[str, list[datetime]] = defaultdict(list)
    for o in _q(world.url, "select customer_id, ordered_at from staging.stg_crm__orders where is_paid"):
        if o[1] < end:
            paid_at[o[0]].append(o[1])
    expected: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0])
    for (kind, month, cid), at in first_contact.items():
        expected[(kind, month)][0] += 1
        expected[(kind, month)][1] += any(at < t <= at + return_days for t in paid_at[cid])
    actual = {(r[0], r[1]): [r[2], r[3]] for r in _q(world.url, """
        select campaign_type, contact_month, contacted_customers, returned_customers from marts.churn_win_back""")}
    assert actual == dict(expected)


def test_churn_signals_and_risk_score(world: World) -> None:
    cr = world.rules["churn_risk"]
    weights: dict[str, float] = cr["weights"]
    recent_days = int(cr["recent_days"])
    at_risk_days = int(world.rules["customer"]["at_risk_after_days"])
    window_start = world.as_of - timedelta(days=recent_days - 1)
    history_start = min(o[3] for o in world.orders)
    url = world.url
    person = dict(_q(url, "select node_id, person_key from intermediate.int_persons_resolved"))
    answers: dict[str, list[int]] = defaultdict(list)
    for rid, score in _q(url, """select response_id, nps_score from marts.fct_survey_responses
                                 where nps_score is not null and response_date between %s and %s""",
                         (window_start, world.as_of)):
        answers[person.get(f"survey:{rid}", "")].append(score)
    negative: dict[str, set[str]] = defaultdict(set)
    for mid, handle in _q(url, """select mention_id, author_handle from marts.fct_social_mentions
                                  where sentiment_label = 'negative' and posted_date between %s and %s""",
                          (window_start, world.as_of)):
        negative[person.get(f"social:{handle}", "")].add(mid)
    tickets: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for t in _q(url, """select customer_id, is_complaint, is_resolved, reopen_count,
                               is_first_response_breached or is_resolution_breached
                        from marts.fct_tickets where created_date between %s and %s""", (window_start, world.as_of)):
        tickets[t[0]].append(t)

    def clamp(x: float) -> float:
        return min(1.0, max(0.0, x))

    gaps = {}
    for cid, orders in world.crm_orders.items():
        order_days = sorted({o[3] for o in orders})
        if len(order_days) > 1:
            gaps[cid] = _round(Decimal((order_days[-1] - order_days[0]).days) / (len(order_days) - 1), 2)
    ordered_gaps = sorted(gaps.values())
    population_gap = float(ordered_gaps[(len(ordered_gaps) - 1) // 2]) if gaps else at_risk_days  # lower median
    expected = {}
    for cid, orders in world.crm_orders.items():
        days = [o[3] for o in orders]
        signup = world.customers[cid][0]
        gap = float(gaps[cid]) if cid in gaps else population_gap
        since = (world.as_of - days[-1]).days
        start = min(days[0], max(signup or history_start, history_start))
        earlier_days = max((window_start - start).days, 0)
        recent = [o for o in orders if o[3] >= window_start]
        earlier = [o for o in orders if o[3] < window_start]

        def falling(recent_amount: float, earlier_amount: float, earlier_days: int = earlier_days) -> float:
            if earlier_days >= recent_days and earlier_amount > 0:
                return clamp(1 - recent_amount / (earlier_amount * recent_days / earlier_days))
            return 0.0

        mine = answers.get(person[f"crm:{cid}"], [])
        complaints = [t for t in tickets.get(cid, []) if t[1]]
        signals = {
            "inactivity": clamp((since / max(gap, 30) - 1) / 2),
            "falling_frequency": falling(len(recent), len(earlier)),
            "falling_spend": falling(float(sum(o[5] for o in recent)), float(sum(o[5] for o in earlier))),
            "recent_detractor": sum(s <= 6 for s in mine) / len(mine) if mine else 0.0,
            "complaints": (1.0 if any(not t[2] or t[3] > 0 for t in complaints) or len(complaints) >= 2
                           else 0.5 if complaints else 0.0),
            "sla_breaches": min(1.0, sum(bool(t[4]) for t in tickets.get(cid, [])) / 2),
            "negative_social": min(1.0, len(negative.get(person[f"crm:{cid}"], ())) / 2),
        }
        expected[cid] = signals
    rows = _q(url, f"""select customer_id, risk_score, risk_level, top_reason,
                              {', '.join(f'{s}_signal' for s in weights)} from marts.churn_customer_risk""")
    assert {r[0] for r in rows} == set(expected)
    levels = cr["levels"]
    for cid, score, level, top, *values in rows:
        signals = expected[cid]
        assert [float(v) for v in values] == pytest.approx([signals[s] for s in weights], abs=6e-5), cid
        total = sum(weights[s] * signals[s] for s in weights)
        assert float(score) == pytest.approx(total, abs=6e-5), cid
        if min(abs(total - levels["high"]), abs(total - levels["medium"])) > 1e-6:
            assert level == ("high" if total >= levels["high"] else "medium" if total >= levels["medium"] else "low")
        contributions = sorted(((weights[s] * signals[s], s) for s in weights), reverse=True)
        if total == 0:
            assert top is None
        elif contributions[0][0] - contributions[1][0] > 1e-9:
            assert top == contributions[0][1], cid


def _auc(positive: list[float], negative: list[float]) -> float:
    """Mann-Whitney AUC: P(a positive scores above a negative), ties counting half."""
    wins = sum((p > q) + 0.5 * (p == q) for p in positive for q in negative)
    return wins / (len(positive) * len(negative))


def test_risk_score_separates_churning_from_loyal_customers(marts_db: Any) -> None:
    archetype: dict[str, str] = marts_db.truth["customers"]
    scores = {cid: float(score) for cid, score in _q(
        marts_db.url, "select customer_id, risk_score from marts.churn_customer_risk")}
    churning = [s for cid, s in scores.items() if archetype.get(cid) == "churning"]
    loyal = [s for cid, s in scores.items() if archetype.get(cid) == "loyal"]
    assert len(churning) >= 10 and len(loyal) >= 10
    auc = _auc(churning, loyal)
    print(f"churn risk AUC churning vs loyal: {auc:.3f} ({len(churning)} vs {len(loyal)} customers)")
    assert auc >= AUC_FLOOR
