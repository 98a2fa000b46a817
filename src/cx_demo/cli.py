"""``cxw demo`` and ``cxw generate``: the pipeline end to end on synthetic data (what ``make demo`` runs)."""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from cx_warehouse.cli.common import CliError, say, step
from cx_warehouse.cli.status import LOAD_CHECKS, MART_NOTES, print_marts, print_quality, print_summary
from cx_warehouse.config.settings import get_settings

DEMO_DEFAULTS = {"customers": 3000, "days": 365, "start": "2025-11-01", "seed": 42}


def _truth_path() -> Path:
    return get_settings().home / "ground_truth.json"


def _generate(customers: int, days: int, start: str, seed: int, *, force: bool = False) -> bool:
    """Generate the demo dataset unless the same one is already landed; True if it ran."""
    from cx_demo.generator import generate

    s = get_settings()
    landing = Path(s.landing)
    # Beside the ground truth, not in the landing zone: the loader reports every file there that
    # no source declares, and this one is the demo's own note of what it landed where.
    marker = s.home / "demo_generated.json"
    params = {"customers": customers, "days": days, "start": start, "seed": seed}
    if marker.exists() and not force and json.loads(marker.read_text()).get("landing") == str(landing):
        previous = {k: v for k, v in json.loads(marker.read_text()).items() if k != "landing"}
        if previous == params:
            return False
        raise CliError(
            f"{landing} already holds demo data generated with {previous}, not {params}. "
            "Use the same parameters, or `make clean` to start over.")
    landing.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    summary = generate(landing, _truth_path(), customers=customers, days=days,
                       start=date.fromisoformat(start), seed=seed,
                       progress=lambda m: say(f"      {m}"))
    marker.write_text(json.dumps({**params, "landing": str(landing)}))
    planted = ", ".join(f"{n} {k}" for k, n in sorted(summary.fault_counts.items()) if n)
    say(f"      {summary.files:,} files, {summary.rows:,} rows in {time.perf_counter() - t0:.1f}s; "
         f"planted faults (ground truth in {_truth_path()}): {planted}")
    return True


def cmd_generate(args: argparse.Namespace) -> int:
    if args.landing:
        os.environ["CX_LANDING"] = args.landing
    ran = _generate(args.customers, args.days, args.start, args.seed, force=args.force)
    if not ran:
        say("demo data already generated with these parameters")
    return 0


def check_truth(summ: dict[str, Any]) -> bool:
    """The loader's totals against the generator's ground truth (True when there is none to check)."""
    return _compare_truth(_truth_path(), summ) if _truth_path().exists() else True


def print_churn_separation() -> None:
    """How well the churn risk separates the customers the generator made churn from its loyal ones."""
    from cx_demo.truth import churn_separation

    truth_path = _truth_path()
    archetypes = json.loads(truth_path.read_text()).get("customers") if truth_path.exists() else None
    result = churn_separation(archetypes) if archetypes else None
    if result and result[0] is not None:
        auc, pos, neg = result
        say(f"  churn risk separates the generator's churning ({pos}) from loyal ({neg}) customers: AUC {auc:.3f}")


def _compare_truth(truth_path: Path, summ: dict[str, Any]) -> bool:
    """Set the loader's totals beside the generator's ground truth."""
    truth = json.loads(truth_path.read_text())
    expected: dict[str, dict[str, int]] = {}
    for f in truth.get("files", []):
        e = expected.setdefault(f"{f['source']}.{f['entity']}", {"loaded": 0, "quarantined": 0, "duplicate": 0})
        for k in e:
            e[k] += int(f.get("expected", {}).get(k, 0))
    actual = {f["entity"]: f for f in summ["files"]}
    mismatches = []
    for ent, exp in sorted(expected.items()):
        act = actual.get(ent, {"rows_loaded": 0, "quarantined": 0, "duplicate": 0})
        got = {"loaded": act["rows_loaded"], "quarantined": act["quarantined"], "duplicate": act["duplicate"]}
        if got != exp:
            mismatches.append(f"{ent}: expected {exp}, got {got}")
    planted = sum(v["quarantined"] for v in expected.values())
    dupes = sum(v["duplicate"] for v in expected.values())
    if mismatches:
        say("\n  ground truth check: MISMATCH")
        for m in mismatches:
            say(f"    {m}")
        return False
    say(f"\n  ground truth check: all {planted} planted bad rows quarantined, all {dupes} planted "
         "duplicates counted, every other row loaded")
    return True


def cmd_demo(args: argparse.Namespace) -> int:
    from cx_demo.airflow_runner import run_dags
    from cx_warehouse.airflow.local import ensure_metadata_db
    from cx_warehouse.ingest.sources import load_sources
    from cx_warehouse.warehouse.connection import describe_url, warehouse_url
    from cx_warehouse.warehouse.embedded import embedded

    s = get_settings()
    t_start = time.perf_counter()
    total = 6
    logs = s.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)

    step(1, total, "Warehouse")
    url = warehouse_url(s)
    where = f"embedded PostgreSQL, data in {s.pgdata}" if s.is_embedded else "CX_WAREHOUSE_URL"
    say(f"      {describe_url(url)} ({where})")
    from cx_warehouse.warehouse.migrations import migrate_command

    migrate_command(url, say=lambda line: say(f"      {line}"))

    step(2, total, f"Demo data in the landing zone {s.landing}")
    ran = _generate(args.customers, args.days, args.start, args.seed)
    if not ran:
        say("      already generated with these parameters: reusing it")

    step(3, total, f"Airflow metadata DB ({s.airflow_home})")
    airflow_log = logs / "airflow.log"
    say("      migrating (first run only) ..." if ensure_metadata_db(s, airflow_log) else "      ready")

    last_day = date.fromisoformat(args.start) + timedelta(days=args.days - 1)
    # The daily run whose data interval ends at 02:00-03:00 the day after the last delivery
    # day: it loads every file (the first run takes the whole history) and its quality gates
    # judge the last delivery day as the day's run in production would.
    logical = f"{(last_day + timedelta(days=1)).isoformat()}T03:00:00+00:00"
    dag_ids = [f"ingest_{n}" for n in sorted(load_sources())] + ["transform_warehouse"]
    step(4, total, f"Running the DAGs through Airflow for {logical[:10]} (log: {airflow_log})")
    say(f"      {', '.join(dag_ids[:-1])}: the first run loads the whole history, later runs only "
         "new files; then transform_warehouse builds the dbt project")

    def on_result(r: Any) -> None:
        say(f"      {r.dag_id:<20} {r.state:<8} {r.seconds:>6.1f}s")

    results = run_dags(dag_ids, logical, settings=s, log_file=airflow_log, on_result=on_result,
                       on_progress=lambda line: say(f"        {line}"))
    failed = [r.dag_id for r in results if r.state != "success"]
    if len(results) != len(dag_ids):
        failed += [d for d in dag_ids if d not in {r.dag_id for r in results}]

    step(5, total, "What landed where, and what the marts say")
    ok = print_summary(reasons_per_entity=3)
    print_quality()
    if not failed:
        print_marts()
        step(6, total, "Stakeholder reports for the demo period (rendered and archived; nothing is sent)")
        ok &= print_reports()
    say(f"\nDone in {time.perf_counter() - t_start:.0f}s.")
    if failed:
        say(f"FAILED: {', '.join(failed)}. Look for 'ERROR' in {airflow_log}; fix, then run `make demo` "
             "again: it resumes where it stopped.")
    say("Explore: `make psql` (SQL shell), `make status` (this summary), `make airflow` (Airflow UI).")
    if s.is_embedded and not args.keep_running:
        embedded(s).stop()
        say("The embedded warehouse is stopped; `make warehouse` starts it again with all data kept.")
    return 0 if ok and not failed else 1


def print_reports() -> bool:
    """Render every report for the latest period the marts cover and print where it is."""
    import logging

    from cx_warehouse.reports import service
    from cx_warehouse.reports.definitions import load_reports

    logging.getLogger("cx_warehouse.reports").setLevel(logging.WARNING)  # the lines below say it
    ok = True
    for rid in load_reports():
        t0 = time.perf_counter()
        try:
            rendered = service.render(rid, service.latest_complete_period(rid))
        except Exception as exc:  # noqa: BLE001 - one report failing must not hide the others
            say(f"      {rid}: FAILED: {exc}")
            ok = False
            continue
        say(f"      {rendered.describe()} ({time.perf_counter() - t0:.1f}s)")
        for f in service.archived_files(rendered.directory):
            say(f"        {f}")
    say("      Send them: `cxw report send <id>` with AIRFLOW_CONN_CX_SMTP set (docs/reports.md); with "
         "docker compose, Mailpit shows the mails on http://localhost:8025.")
    return ok


def register(sub: Any) -> None:
    # `cxw status` (and the demo's own summary) also check the demo data against its ground truth
    if check_truth not in LOAD_CHECKS:
        LOAD_CHECKS.append(check_truth)
    if print_churn_separation not in MART_NOTES:
        MART_NOTES.append(print_churn_separation)

    def demo_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--customers", type=int, default=DEMO_DEFAULTS["customers"])
        sp.add_argument("--days", type=int, default=DEMO_DEFAULTS["days"])
        sp.add_argument("--start", default=DEMO_DEFAULTS["start"], help="first day of history (YYYY-MM-DD)")
        sp.add_argument("--seed", type=int, default=DEMO_DEFAULTS["seed"])

    d = sub.add_parser("demo", help="the pipeline end to end on demo data (what `make demo` runs)")
    demo_args(d)
    d.add_argument("--keep-running", action="store_true", help="leave the embedded warehouse running")
    d.set_defaults(func=cmd_demo)

    g = sub.add_parser("generate", help="write the synthetic source exports into the landing zone")
    demo_args(g)
    g.add_argument("--landing", help="landing zone (default: CX_LANDING or .cx/landing)")
    g.add_argument("--force", action="store_true", help="generate even if data is already there")
    g.set_defaults(func=cmd_generate)
