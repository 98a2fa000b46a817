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
* **A run when nothing new arrived.** After the last cycle's full refresh, a load that finds
  no new file and a transform over the same data. Goal: the transform at most 3% of the
  full refresh.
* **Scorecard KPIs from the marts vs from staging.** The KPI query a report makes on
  ``marts.cx_kpis`` against a query computing the same numbers from the staging views
  (the numbers must agree). Goal: the marts at least 100x faster.

Every component runs in a process of its own, as in production (the generator, each
``cxw load``, each gate, each ``cxw transform``), so each one's time includes its start-up
and its peak resident memory (``ru_maxrss`` of that process) is recorded beside it.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, timedelta
from pathlib import Path
from typing import Any

GOAL_INCREMENTAL_VS_FULL = 0.10
GOAL_KPI_SPEEDUP = 100.0
GOAL_GATES_SHARE = 0.15
GOAL_NOTHING_NEW_VS_FULL = 0.03
GOAL_PEAK_RSS_MIB = 4096
DEFAULT_CUSTOMERS = 50_000
DEFAULT_DAYS = 365
DEFAULT_DAILY_DAYS = 4
DEFAULT_CYCLES = 2
DEFAULT_KPI_REPEAT = 5
WORLD_START = date(2025, 11, 1)


def run_process(args: list[str], url: str, what: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``python -m cx_warehouse.cli <args>`` against ``url``; its seconds, peak RSS and output.

    Exit code 1 is returned, not raised (a gate that stopped is still a measured run); any
    other failure raises with the process's last output.
    """
    import os
    import subprocess
    import sys
    import tempfile

    env = dict(os.environ, CX_WAREHOUSE_URL=url, **(env or {}))
    with tempfile.TemporaryFile("w+") as log_file:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "cx_warehouse.cli", *args], env=env, text=True,
                                stdout=log_file, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)  # reaped here, so its rusage is this process's own
        seconds = time.perf_counter() - t0
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        log_file.seek(0)
        out = log_file.read()
    if code not in (0, 1):
        raise RuntimeError(f"{what} failed (exit {code}):\n{out[-3000:]}")
    return {"seconds": seconds, "exit": code, "output": out, "peak_rss_mib": _peak_rss_mib(usage)}


def _peak_rss_mib(usage: Any) -> float:
    return round(usage.ru_maxrss / 1024, 1)  # Linux reports KiB


def _load_until(url: str, landing: Path, until: date | None) -> dict[str, Any]:
    """``cxw load --until`` in its own process; its seconds, peak RSS and the rows it loaded."""
    from cx_warehouse.warehouse.connection import connect, relation_exists

    def loaded() -> int:
        with connect(url) as conn:
            if not relation_exists(conn, "audit.load_audit"):
                return 0
            row = conn.execute("select coalesce(sum(rows_loaded), 0) from audit.load_audit "
                               "where status = 'loaded' and superseded_by is null").fetchone()
        return int(row[0]) if row else 0

    before = loaded()
    run = run_process(["load", *(["--until", until.isoformat()] if until else [])], url, "the load",
                      env={"CX_LANDING": str(landing)})
    if run["exit"] != 0:
        raise RuntimeError(f"benchmark load failed:\n{run['output'][-3000:]}")
    return {"seconds": run["seconds"], "peak_rss_mib": run["peak_rss_mib"], "rows": loaded() - before}


def run_gates(url: str, gates: list[str], *, interval_start: date, interval_end: date,
              run_id: str) -> dict[str, float]:
    """Run each quality gate in a fresh process (as its Airflow task would); seconds per gate."""
    return {g: r["seconds"] for g, r in run_gates_measured(
        url, gates, interval_start=interval_start, interval_end=interval_end, run_id=run_id).items()}


def run_gates_measured(url: str, gates: list[str], *, interval_start: date, interval_end: date,
                       run_id: str) -> dict[str, dict[str, Any]]:
    """Each gate in its own process: seconds and peak RSS per gate."""
    out = {}
    for gate in gates:
        run = run_process(["quality", "run", gate, "--run-id", run_id, "--interval-start",
                           interval_start.isoformat(), "--interval-end", interval_end.isoformat()],
                          url, f"quality gate {gate}")
        if run["exit"] == 1:
            if "STOPPED" not in run["output"]:
                raise RuntimeError(f"quality gate {gate} could not run:\n{run['output'][-3000:]}")
            print(run["output"][-1500:])
        out[gate] = {"seconds": run["seconds"], "peak_rss_mib": run["peak_rss_mib"]}
    return out


def run_transform_process(url: str, *, full_refresh: bool = False) -> dict[str, Any]:
    """``cxw transform`` in its own process (one dbt start-up); seconds, peak RSS and each
    step's seconds and whether it was skipped, from ``audit.transform_step_runs``."""
    import json

    from cx_warehouse.warehouse.connection import connect

    with connect(url) as conn:
        row = conn.execute("select now()").fetchone()
    since = row[0] if row else None
    args = ["transform", "--vars", json.dumps(BENCH_VARS), *(["--full-refresh"] if full_refresh else [])]
    run = run_process(args, url, "the transform")
    if run["exit"] != 0:
        raise RuntimeError(f"the transform failed:\n{run['output'][-3000:]}")
    with connect(url) as conn:
        steps = conn.execute(
            "select step, status, seconds from audit.transform_step_runs where started_at >= %s "
            "order by started_at", (since,)).fetchall()
    startup = next((float(line.split()[-1].rstrip("s")) for line in run["output"].splitlines()
                    if line.strip().startswith("dbt start-up")), None)
    return {"seconds": run["seconds"], "peak_rss_mib": run["peak_rss_mib"], "dbt_startup_s": startup,
            "steps_s": {st: float(sec) for st, _, sec in steps},
            "skipped": [st for st, status, _ in steps if status == "skipped"],
            "last_dbt_step": last_dbt_nodes(since)}


def last_dbt_nodes(since: Any, top: int = 15) -> dict[str, Any] | None:
    """Where the last dbt invocation's time went (its ``run_results.json``), when it ran after
    ``since``: seconds by resource type and the slowest nodes. The marts step is the last."""
    import json

    from cx_warehouse.transform.dbt import dbt_target_dir

    path = dbt_target_dir() / "run_results.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    generated = data.get("metadata", {}).get("generated_at", "")
    if since is not None and generated and generated < since.astimezone(UTC).isoformat():
        return None   # written by an earlier run: this one's last dbt step was skipped
    results = data.get("results", [])
    by_type: dict[str, float] = {}
    for r in results:
        kind = r["unique_id"].split(".", 1)[0]
        by_type[kind] = round(by_type.get(kind, 0.0) + float(r.get("execution_time") or 0), 1)
    slowest = sorted(results, key=lambda r: -float(r.get("execution_time") or 0))[:top]
    return {"elapsed_s": round(float(data.get("elapsed_time") or 0), 1), "nodes": len(results),
            "seconds_by_type": by_type,
            "slowest": [[r["unique_id"].split(".", 2)[-1], round(float(r.get("execution_time") or 0), 1)]
                        for r in slowest]}


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


def _generate(world: Path, *, customers: int, days: int, seed: int) -> dict[str, Any]:
    """The generator in its own process (cached in ``world``); its seconds and peak RSS."""
    import os
    import subprocess
    import sys

    code = ("import sys, datetime; from pathlib import Path; from cx_demo.generator import generate; "
            "w = Path(sys.argv[1]); generate(w / 'landing', w / 'truth.json', customers=int(sys.argv[2]), "
            "days=int(sys.argv[3]), start=datetime.date.fromisoformat(sys.argv[4]), seed=int(sys.argv[5]))")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, str(world), str(customers), str(days),
                             WORLD_START.isoformat(), str(seed)])
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"the generator failed (exit {proc.returncode})")
    return {"seconds": time.perf_counter() - t0, "peak_rss_mib": _peak_rss_mib(usage)}


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
    """Run the incremental-vs-full, nothing-new and marts-vs-staging comparisons (see the module doc)."""
    world = bench_dir / "data" / f"world-{customers}c-{days}d-s{seed}"
    landing = world / "landing"
    generated = None
    if not (world / "truth.json").exists():
        progress(f"transform: generating {customers:,} customers x {days} days (cached in {world})")
        generated = _generate(world, customers=customers, days=days, seed=seed)
        progress(f"transform: generated in {generated['seconds']:.0f} s, peak RSS {generated['peak_rss_mib']:.0f} MiB")
    last = WORLD_START + timedelta(days=days - 1)
    # deliveries of day d arrive in files dated d (re-deliveries d+1): `until` is exclusive
    first_cut = last - timedelta(days=daily_days * cycles) + timedelta(days=1)
    progress(f"transform: loading deliveries before {first_cut}")
    first_load = _load_until(url, landing, first_cut)
    base_rows = first_load["rows"]
    raw_gates = run_gates_measured(url, RAW_GATES, interval_start=first_cut - timedelta(days=1),
                                   interval_end=first_cut, run_id="bench-history")
    progress(f"transform: {base_rows:,} rows loaded in {first_load['seconds']:.1f} s, raw gates "
             f"{sum(g['seconds'] for g in raw_gates.values()):.1f} s; first build")
    first = run_transform_process(url)
    mart_gate = run_gates_measured(url, ["marts"], interval_start=first_cut - timedelta(days=1),
                                   interval_end=first_cut, run_id="bench-history")
    gates_runs = [_gate_share("first build", first_load, raw_gates, first, mart_gate)]
    progress(f"transform: first build {first['seconds']:.1f} s, mart gate {mart_gate['marts']['seconds']:.1f} s")
    runs: list[dict[str, Any]] = []
    total = base_rows
    full: dict[str, Any] = {}
    for cycle in range(cycles):
        cut = first_cut + timedelta(days=daily_days * (cycle + 1))
        if cycle == cycles - 1:
            cut = last + timedelta(days=3)  # and the re-deliveries after the last day
        load = _load_until(url, landing, cut)
        total += load["rows"]
        # the gates judge the cycle's delivery days (not the re-delivery days after the last)
        judged = (first_cut + timedelta(days=daily_days * cycle), min(cut, last + timedelta(days=1)))
        raw_gates = run_gates_measured(url, RAW_GATES, interval_start=judged[0], interval_end=judged[1],
                                       run_id=f"bench-cycle-{cycle + 1}")
        incremental = run_transform_process(url)
        mart_gate = run_gates_measured(url, ["marts"], interval_start=judged[0], interval_end=judged[1],
                                       run_id=f"bench-cycle-{cycle + 1}")
        gates_runs.append(_gate_share(f"daily cycle {cycle + 1}", load, raw_gates, incremental, mart_gate))
        full = run_transform_process(url, full_refresh=True)
        runs.append({"cycle": cycle + 1, "new_rows": load["rows"], "total_rows": total,
                     "new_share": load["rows"] / total, "load_s": load["seconds"],
                     "incremental_s": incremental["seconds"], "full_refresh_s": full["seconds"],
                     "ratio": incremental["seconds"] / full["seconds"],
                     "dbt_startup_s": {"incremental": incremental["dbt_startup_s"], "full": full["dbt_startup_s"]},
                     "skipped": incremental["skipped"],
                     "peak_rss_mib": {"incremental": incremental["peak_rss_mib"], "full": full["peak_rss_mib"]},
                     "marts_step_nodes": {"incremental": incremental["last_dbt_step"],
                                          "full": full["last_dbt_step"]},
                     "steps_s": {"incremental": incremental["steps_s"], "full": full["steps_s"]}})
        progress(f"transform: cycle {cycle + 1}: +{load['rows']:,} rows ({100 * load['rows'] / total:.2f}%), "
                 f"incremental {incremental['seconds']:.1f} s, full refresh {full['seconds']:.1f} s "
                 f"({incremental['seconds'] / full['seconds']:.2f}x); gates {gates_runs[-1]['gates_s']:.1f} s = "
                 f"{gates_runs[-1]['share']:.1%} of the daily run")
    # nothing new: the same cut again, right after the last full refresh
    idle_load = _load_until(url, landing, last + timedelta(days=3))
    idle = run_transform_process(url)
    nothing_new = {"load_s": idle_load["seconds"], "load_rows": idle_load["rows"], "transform_s": idle["seconds"],
                   "full_refresh_s": full["seconds"], "ratio": idle["seconds"] / full["seconds"],
                   "skipped": idle["skipped"], "steps_s": idle["steps_s"]}
    progress(f"transform: nothing new: load {idle_load['seconds']:.1f} s ({idle_load['rows']} rows), transform "
             f"{idle['seconds']:.1f} s = {nothing_new['ratio']:.1%} of the full refresh")
    ratio = statistics.median(float(r["ratio"]) for r in runs)
    kpis = kpi_comparison(url, kpi_repeat)
    progress(f"transform: KPI query marts {kpis['marts_median_s'] * 1000:.1f} ms vs staging "
             f"{kpis['staging_median_s'] * 1000:.0f} ms")
    rss = {"generator": generated["peak_rss_mib"] if generated else None,
           "loader": max(first_load["peak_rss_mib"], *(g["load_peak_rss_mib"] for g in gates_runs)),
           "transform (dbt and the Python models)": max(first["peak_rss_mib"], *(
               v for r in runs for v in r["peak_rss_mib"].values())),
           "quality gates": max(g["gates_peak_rss_mib"] for g in gates_runs)}
    return {
        "customers": customers, "days": days, "seed": seed, "daily_days": daily_days,
        "rows": total, "generate_s": generated["seconds"] if generated else None,
        "first_load_s": first_load["seconds"], "first_build_s": first["seconds"],
        "first_build_steps_s": first["steps_s"], "dbt_startup_s": first["dbt_startup_s"],
        "cycles": runs, "incremental_vs_full": ratio, "nothing_new": nothing_new,
        "nothing_new_vs_full": nothing_new["ratio"], "kpis": kpis, "peak_rss_mib": rss,
        "gates": gates_runs, "gates_share_daily": statistics.median(
            float(g["share"]) for g in gates_runs if g["run"].startswith("daily")),
    }


def transform_goals(res: dict[str, Any], goal: Callable[..., dict[str, Any]]) -> list[dict[str, Any]]:
    """The transform benchmark's goals, as the suite's ``goal()`` records them."""
    peak = max((v for v in res["peak_rss_mib"].values() if v is not None), default=None)
    return [
        goal(f"daily incremental run <= {GOAL_INCREMENTAL_VS_FULL:.0%} of a full refresh",
             res["incremental_vs_full"], GOAL_INCREMENTAL_VS_FULL, at_most=True),
        goal(f"a run when nothing new arrived <= {GOAL_NOTHING_NEW_VS_FULL:.0%} of a full refresh",
             res["nothing_new_vs_full"], GOAL_NOTHING_NEW_VS_FULL, at_most=True),
        goal(f"scorecard KPIs from marts >= {GOAL_KPI_SPEEDUP:.0f}x faster than from staging",
             res["kpis"]["speedup"] if res["kpis"]["numbers_agree"] else None, GOAL_KPI_SPEEDUP, at_most=False),
        goal(f"quality gates < {GOAL_GATES_SHARE:.0%} of the daily pipeline run",
             res["gates_share_daily"], GOAL_GATES_SHARE, at_most=True),
        goal(f"peak RSS of every process <= {GOAL_PEAK_RSS_MIB} MiB", peak, GOAL_PEAK_RSS_MIB, at_most=True),
    ]


def _gate_share(run: str, load: dict[str, Any], raw_gates: dict[str, dict[str, Any]],
                transform: dict[str, Any], mart_gate: dict[str, dict[str, Any]]) -> dict[str, Any]:
    gates = {**raw_gates, **mart_gate}
    gates_s = sum(g["seconds"] for g in gates.values())
    total = load["seconds"] + transform["seconds"] + gates_s
    return {"run": run, "load_s": load["seconds"], "transform_s": transform["seconds"], "gates_s": gates_s,
            "per_gate_s": {k: g["seconds"] for k, g in gates.items()}, "pipeline_s": total,
            "share": gates_s / total, "load_peak_rss_mib": load["peak_rss_mib"],
            "gates_peak_rss_mib": max(g["peak_rss_mib"] for g in gates.values())}


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
              + ", ".join(f"{t} {inc[t]:.1f}/{full.get(t, 0.0):.1f}" for t in inc)
              + (f"; skipped: {', '.join(r['skipped'])}" if r["skipped"] else ""))
    n = res["nothing_new"]
    print(f"nothing new: load {n['load_s']:.1f} s, transform {n['transform_s']:.1f} s = {n['ratio']:.1%} of the "
          f"full refresh ({n['full_refresh_s']:.1f} s); skipped {len(n['skipped'])} of {len(n['steps_s'])} steps")
    print(f"dbt start-up (import + parse, once per transform run): {res['dbt_startup_s']} s; peak RSS MiB: "
          + ", ".join(f"{k} {v}" for k, v in res["peak_rss_mib"].items()))
    print("quality gates (each in its own process, as Airflow runs them):")
    for g in res.get("gates", []):
        per = ", ".join(f"{k} {v:.1f}" for k, v in g["per_gate_s"].items())
        print(f"  {g['run']:<14} load {g['load_s']:6.1f} s + transform {g['transform_s']:6.1f} s + gates "
              f"{g['gates_s']:5.1f} s ({per}) -> gates {g['share']:.1%} of {g['pipeline_s']:.1f} s")
    k = res["kpis"]
    agree = "numbers agree" if k["numbers_agree"] else "NUMBERS DIFFER"
    print(f"KPI query for {k['month']}: marts {k['marts_median_s'] * 1000:.2f} ms, staging "
          f"{k['staging_median_s'] * 1000:.1f} ms -> {k['speedup']:.0f}x ({agree})")
