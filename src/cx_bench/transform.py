"""Transform benchmark (``cxw bench --only transform``): incremental vs full refresh, marts vs staging.

Measured side by side in one run, on the benchmark's own PostgreSQL:

* **Daily incremental run vs full refresh.** A generated world is loaded up to a cut-off
  and built once. Then, for each cycle, the next ``daily_days`` days of deliveries (about
  1% of the rows) are loaded, the transform runs incrementally (timed), and right after it
  the same data is rebuilt with ``--full-refresh`` (timed). The incremental run and the full
  refresh of a cycle see the same data, and the cycles interleave them. Goal: incremental
  at most 10% of the full refresh.
* **Quality gates vs the pipeline.** Each load is followed by the raw gates and each build by
  the mart gate, each gate in a process of its own as an Airflow task runs it (GX's import
  included). Their time is reported as a share of the whole run (load + raw gates +
  transform + mart gate), for the first build and for each daily cycle. Goal: under 15%.
* **Scorecard KPIs from the marts vs from staging.** The KPI query a report makes on
  ``marts.cx_kpis`` against a query computing the same numbers from the staging views
  (the numbers must agree). Goal: the marts at least 100x faster.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

GOAL_INCREMENTAL_VS_FULL = 0.10
GOAL_KPI_SPEEDUP = 100.0
GOAL_GATES_SHARE = 0.15
DEFAULT_CUSTOMERS = 50_000
DEFAULT_DAYS = 365
DEFAULT_DAILY_DAYS = 4
DEFAULT_CYCLES = 2
DEFAULT_KPI_REPEAT = 5
WORLD_START = date(2025, 11, 1)


def _load_until(url: str, landing: Path, until: date | None) -> int:
    """Load every entity's files delivered before ``until``; returns rows loaded."""
    from cx_warehouse.ingest.service import load_landing

    results = load_landing(url, str(landing), until=until)
    failed = [f.error for r in results for f in r.failed]
    if failed:
        raise RuntimeError(f"benchmark load failed: {failed}")
    return sum(f.rows_loaded for r in results for f in r.files)


def run_gates(url: str, gates: list[str], *, interval_start: date, interval_end: date,
              run_id: str) -> dict[str, float]:
    """Run each quality gate in a fresh process (as its Airflow task would); seconds per gate."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, CX_WAREHOUSE_URL=url)
    seconds = {}
    for gate in gates:
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "cx_warehouse.cli", "quality", "run", gate, "--run-id", run_id,
             "--interval-start", interval_start.isoformat(), "--interval-end", interval_end.isoformat()],
            env=env, capture_output=True, text=True)
        seconds[gate] = time.perf_counter() - t0
        if proc.returncode not in (0, 1):  # 1 = a gate stopped: still a measured run
            raise RuntimeError(f"quality gate {gate} could not run: {proc.stderr[-2000:]}")
        if proc.returncode == 1:
            print(proc.stdout[-1500:])
    return seconds


RAW_GATES = ["raw_crm", "raw_survey", "raw_social"]


def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# The loads of a cycle happen minutes apart, so the configured look-back (days, by load
# time) would re-read everything; with 0 the incremental run reads what the cycle loaded.
# In production a 3-day look-back re-reads about three days of loads.
BENCH_VARS = {"incremental_lookback_days": 0}


KPI_COLUMNS = ("nps", "csat_pct", "ces_mean", "repeat_purchase_rate_pct", "complaint_rate_pct",
               "sla_breach_pct", "sentiment_mean", "negative_mention_pct")

# What a scorecard asks for one month.
KPI_FROM_MARTS = (
    f"select {', '.join(KPI_COLUMNS)} from marts.cx_kpis "
    "where period_grain = 'month' and period_start = %(month)s"
)

# The same numbers from the staging views, by the marts' definitions (bench only: the
# warehouse's own SQL lives in dbt). Churn and retention are left out: from staging they
# need the whole month-by-customer history, which is what the marts exist to avoid.
KPI_FROM_STAGING = """
with
as_of as (
    select max(d) as as_of_date from (
        select max(order_date) as d from staging.stg_crm__orders
        union all select max(response_date) from staging.stg_survey__responses
        union all select max(posted_date) from staging.stg_social__mentions
    ) as days
),
responses as (
    select * from staging.stg_survey__responses
    where date_trunc('month', response_date)::date = %(month)s
),
survey as (
    select
        100.0 * (count(*) filter (where nps_score >= 9) - count(*) filter (where nps_score between 0 and 6))
            / nullif(count(nps_score), 0) as nps,
        100.0 * count(*) filter (where csat_score >= 4) / nullif(count(csat_score), 0) as csat_pct,
        avg(ces_score) as ces_mean
    from responses
),
paid as (
    select o.customer_id, o.order_date
    from staging.stg_crm__orders as o cross join as_of
    where o.is_paid and o.order_date <= as_of.as_of_date
),
buyers as (
    select distinct p.customer_id
    from paid as p inner join staging.stg_crm__customers as c on c.customer_id = p.customer_id
    where date_trunc('month', p.order_date)::date = %(month)s
),
repeat_rate as (
    select 100.0 * count(*) filter (where exists (
        select 1 from paid as p where p.customer_id = b.customer_id and p.order_date < %(month)s))
        / nullif(count(*), 0) as repeat_purchase_rate_pct
    from buyers as b
),
targets (severity, hours) as (values %(targets)s),
tickets as (
    select t.*, (as_of.as_of_date + 1)::timestamp at time zone %(tz)s as as_of_end_at, tg.hours
    from staging.stg_crm__tickets as t
    cross join as_of
    left join targets as tg on tg.severity = t.severity
    where date_trunc('month', t.created_date)::date = %(month)s and t.created_date <= as_of.as_of_date
),
service as (
    select
        100.0 * count(*) filter (where is_complaint)
            / nullif((select count(*) from paid where date_trunc('month', order_date)::date = %(month)s), 0)
            as complaint_rate_pct,
        100.0 * count(*) filter (where coalesce(first_response_at, as_of_end_at) > created_at + hours * interval '1 hour')
            / nullif(count(*), 0) as sla_breach_pct
    from tickets
),
social as (
    select
        avg(s.sentiment_score) as sentiment_mean,
        100.0 * count(*) filter (where s.sentiment_label = 'negative') / nullif(count(s.sentiment_label), 0)
            as negative_mention_pct
    from staging.stg_social__mentions as m
    cross join as_of
    left join analytics.mention_sentiment as s on s.platform = m.platform and s.post_id = m.post_id
    where not m.is_brand_post and date_trunc('month', m.posted_date)::date = %(month)s
        and m.posted_date <= as_of.as_of_date
)
select nps, csat_pct, ces_mean, repeat_purchase_rate_pct, complaint_rate_pct, sla_breach_pct,
       sentiment_mean, negative_mention_pct
from survey, repeat_rate, service, social
"""


def _staging_kpi_sql() -> tuple[str, dict[str, Any]]:
    """KPI_FROM_STAGING with the business rules it needs inlined (SLA targets, time zone)."""
    from psycopg import sql

    from cx_warehouse.config.business import load_business

    rules = load_business()
    targets = sql.SQL(", ").join(
        sql.SQL("({}, {})").format(sql.Literal(sev), sql.Literal(hours))
        for sev, hours in rules.first_response_target_hours.items())
    query = sql.SQL(KPI_FROM_STAGING.replace("%(targets)s", "{targets}")).format(targets=targets)
    return query.as_string(None), {"tz": rules.timezone}


def kpi_comparison(url: str, repeat: int) -> dict[str, Any]:
    """Time the scorecard's KPI query on the marts against the same numbers from staging."""
    from cx_warehouse.warehouse.connection import connect

    staging_sql, staging_params = _staging_kpi_sql()

    times: dict[str, list[float]] = {"marts": [], "staging": []}
    rows: dict[str, Any] = {}
    with connect(url) as conn:
        row = conn.execute("select max(period_start) from marts.cx_kpis where period_grain = 'month'").fetchone()
        month = row[0] if row else None
        for rep in range(repeat):
            order = ("marts", "staging") if rep % 2 == 0 else ("staging", "marts")
            for way in order:
                query = KPI_FROM_MARTS if way == "marts" else staging_sql
                t0 = time.perf_counter()
                result = conn.execute(query, {"month": month, **staging_params}).fetchall()
                times[way].append(time.perf_counter() - t0)
                rows[way] = result
    agree = _kpis_agree(rows["marts"], rows["staging"])
    m, s = statistics.median(times["marts"]), statistics.median(times["staging"])
    return {"month": str(month), "repeat": repeat, "marts_median_s": m, "staging_median_s": s,
            "speedup": s / m if m else None, "numbers_agree": agree,
            "marts_row": [str(v) for v in rows["marts"][0]] if rows["marts"] else None}


def _kpis_agree(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]]) -> bool:
    if len(a) != len(b):
        return False
    for ra, rb in zip(a, b, strict=True):
        for va, vb in zip(ra, rb, strict=True):
            if va is None or vb is None:
                if va is not vb:
                    return False
            elif abs(float(va) - float(vb)) > 0.005:  # the marts round to 2-4 decimals
                return False
    return True


def transform_benchmark(
    url: str,
    bench_dir: Path,
    *,
    customers: int = DEFAULT_CUSTOMERS,
    days: int = DEFAULT_DAYS,
    seed: int = 42,
    daily_days: int = DEFAULT_DAILY_DAYS,
    cycles: int = DEFAULT_CYCLES,
    kpi_repeat: int = DEFAULT_KPI_REPEAT,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the incremental-vs-full and marts-vs-staging comparisons (see the module doc)."""
    from cx_demo.generator import generate
    from cx_warehouse.transform.steps import run_transform

    world = bench_dir / "data" / f"world-{customers}c-{days}d-s{seed}"
    landing = world / "landing"
    if not (world / "truth.json").exists():
        progress(f"transform: generating {customers:,} customers x {days} days (cached in {world})")
        t = _timed(lambda: generate(landing, world / "truth.json", customers=customers, days=days,
                                    start=WORLD_START, seed=seed))
        progress(f"transform: generated in {t:.0f} s")
    last = WORLD_START + timedelta(days=days - 1)
    # deliveries of day d arrive in files dated d (re-deliveries d+1): `until` is exclusive
    first_cut = last - timedelta(days=daily_days * cycles) + timedelta(days=1)
    progress(f"transform: loading deliveries before {first_cut}")
    t0 = time.perf_counter()
    base_rows = _load_until(url, landing, first_cut)
    first_load = time.perf_counter() - t0
    raw_gates = run_gates(url, RAW_GATES, interval_start=first_cut - timedelta(days=1), interval_end=first_cut,
                          run_id="bench-history")
    progress(f"transform: {base_rows:,} rows loaded in {first_load:.1f} s, raw gates "
             f"{sum(raw_gates.values()):.1f} s; first build")
    first_build = _timed(lambda: run_transform(url, dbt_vars=BENCH_VARS))
    mart_gate = run_gates(url, ["marts"], interval_start=first_cut - timedelta(days=1), interval_end=first_cut,
                          run_id="bench-history")
    gates_runs = [_gate_share("first build", first_load, raw_gates, first_build, mart_gate)]
    progress(f"transform: first build {first_build:.1f} s, mart gate {mart_gate['marts']:.1f} s")
    runs: list[dict[str, Any]] = []
    total = base_rows
    for cycle in range(cycles):
        cut = first_cut + timedelta(days=daily_days * (cycle + 1))
        if cycle == cycles - 1:
            cut = last + timedelta(days=3)  # and the re-deliveries after the last day
        t0 = time.perf_counter()
        new_rows = _load_until(url, landing, cut)
        load_s = time.perf_counter() - t0
        total += new_rows
        # the gates judge the cycle's delivery days (not the re-delivery days after the last)
        judged = (first_cut + timedelta(days=daily_days * cycle), min(cut, last + timedelta(days=1)))
        raw_gates = run_gates(url, RAW_GATES, interval_start=judged[0], interval_end=judged[1],
                              run_id=f"bench-cycle-{cycle + 1}")
        steps: dict[str, dict[str, Any]] = {}
        t0 = time.perf_counter()
        steps["incremental"] = run_transform(url, dbt_vars=BENCH_VARS)
        incremental = time.perf_counter() - t0
        mart_gate = run_gates(url, ["marts"], interval_start=judged[0], interval_end=judged[1],
                              run_id=f"bench-cycle-{cycle + 1}")
        gates_runs.append(_gate_share(f"daily cycle {cycle + 1}", load_s, raw_gates, incremental, mart_gate))
        t0 = time.perf_counter()
        steps["full"] = run_transform(url, full_refresh=True, dbt_vars=BENCH_VARS)
        full = time.perf_counter() - t0
        runs.append({"cycle": cycle + 1, "new_rows": new_rows, "total_rows": total,
                     "new_share": new_rows / total, "incremental_s": incremental, "full_refresh_s": full,
                     "ratio": incremental / full,
                     "steps_s": {k: {t: r.get("seconds") for t, r in v.items()} for k, v in steps.items()}})
        progress(f"transform: cycle {cycle + 1}: +{new_rows:,} rows ({100 * new_rows / total:.2f}%), "
                 f"incremental {incremental:.1f} s, full refresh {full:.1f} s ({incremental / full:.2f}x); "
                 f"gates {gates_runs[-1]['gates_s']:.1f} s = {gates_runs[-1]['share']:.1%} of the daily run")
    ratio = statistics.median(float(r["ratio"]) for r in runs)
    kpis = kpi_comparison(url, kpi_repeat)
    progress(f"transform: KPI query marts {kpis['marts_median_s'] * 1000:.1f} ms vs staging "
             f"{kpis['staging_median_s'] * 1000:.0f} ms")
    return {
        "customers": customers, "days": days, "seed": seed, "daily_days": daily_days,
        "first_build_s": first_build, "cycles": runs,
        "incremental_vs_full": ratio, "kpis": kpis,
        "gates": gates_runs, "gates_share_daily": statistics.median(
            float(g["share"]) for g in gates_runs if g["run"].startswith("daily")),
    }


def _gate_share(run: str, load_s: float, raw_gates: dict[str, float], transform_s: float,
                mart_gate: dict[str, float]) -> dict[str, Any]:
    gates_s = sum(raw_gates.values()) + sum(mart_gate.values())
    total = load_s + transform_s + gates_s
    return {"run": run, "load_s": load_s, "transform_s": transform_s, "gates_s": gates_s,
            "per_gate_s": {**raw_gates, **mart_gate}, "pipeline_s": total, "share": gates_s / total}


def print_transform_report(res: dict[str, Any]) -> None:
    print()
    print(f"Transform benchmark: {res['customers']:,} customers x {res['days']} days; "
          f"first build {res['first_build_s']:.1f} s")
    print("cycle  new rows   share   incremental s  full refresh s  ratio")
    for r in res["cycles"]:
        print(f"{r['cycle']:>5}  {r['new_rows']:>8,}  {100 * r['new_share']:5.2f}%  {r['incremental_s']:>13.1f}  "
              f"{r['full_refresh_s']:>14.1f}  {r['ratio']:.3f}")
    for r in res["cycles"]:
        inc, full = r["steps_s"]["incremental"], r["steps_s"]["full"]
        print(f"  cycle {r['cycle']} by step (incremental / full refresh, s): "
              + ", ".join(f"{t} {inc[t]:.1f}/{full[t]:.1f}" for t in inc))
    print("quality gates (each in its own process, as Airflow runs them):")
    for g in res.get("gates", []):
        per = ", ".join(f"{k} {v:.1f}" for k, v in g["per_gate_s"].items())
        print(f"  {g['run']:<14} load {g['load_s']:6.1f} s + transform {g['transform_s']:6.1f} s + gates "
              f"{g['gates_s']:5.1f} s ({per}) -> gates {g['share']:.1%} of {g['pipeline_s']:.1f} s")
    k = res["kpis"]
    agree = "numbers agree" if k["numbers_agree"] else "NUMBERS DIFFER"
    print(f"KPI query for {k['month']}: marts {k['marts_median_s'] * 1000:.2f} ms, staging "
          f"{k['staging_median_s'] * 1000:.1f} ms -> {k['speedup']:.0f}x ({agree})")
