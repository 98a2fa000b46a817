"""``cxw``: the project's command line, a thin layer over the package.

``cxw demo`` is what ``make demo`` runs. Every subcommand reads the same settings
(:mod:`cx_warehouse.settings`), so ``CX_WAREHOUSE_URL`` moves all of them at once.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from cx_warehouse.settings import get_settings

DEMO_DEFAULTS = {"customers": 3000, "days": 365, "start": "2025-11-01", "seed": 42}


class CliError(RuntimeError):
    """A problem the user can fix; printed without a traceback."""


def _say(msg: str = "") -> None:
    print(msg, flush=True)


def _step(n: int, total: int, msg: str) -> None:
    _say(f"\n[{n}/{total}] {msg}")


# ---------------------------------------------------------------------------------------
# warehouse
# ---------------------------------------------------------------------------------------
def cmd_warehouse(args: argparse.Namespace) -> int:
    from cx_warehouse.warehouse import describe_url, embedded, warehouse_url

    s = get_settings()
    if not s.is_embedded and args.action in ("start", "stop", "destroy"):
        _say(f"CX_WAREHOUSE_URL is set ({describe_url(s.warehouse_url or '')}): "
             "the embedded warehouse is not used, nothing to do.")
        return 0
    pg = embedded(s)
    if args.action == "start":
        pg.start()
        _say(f"embedded warehouse running: {describe_url(pg.url())} (data in {pg.pgdata})")
        _say(f"password: in {pg.secret_file}; full URL: `cxw warehouse url`")
    elif args.action == "stop":
        _say("stopped" if pg.stop() else "not running")
    elif args.action == "status":
        if s.is_embedded:
            _say(f"embedded warehouse {'running' if pg.is_running() else 'stopped'}: "
                 f"127.0.0.1:{pg.port}, data in {pg.pgdata}")
        else:
            _say(f"external warehouse: {describe_url(s.warehouse_url or '')}")
    elif args.action == "url":
        _say(warehouse_url(s))
    elif args.action == "psql":
        url = warehouse_url(s)
        psql = pg.bin_dir / "psql"
        return subprocess.call([str(psql), url])
    elif args.action == "bi-url":
        from cx_warehouse.bi_access import BI_ROLE, bi_password, ensure_bi_access
        from cx_warehouse.warehouse import connect, url_for_user

        url = warehouse_url(s)
        password = bi_password()
        with connect(url, autocommit=True) as conn:
            ensure_bi_access(conn, password)
        if password is None:
            _say(f"role {BI_ROLE} is ready without login: set CX_BI_PASSWORD and run this again, "
                 "or give it a password yourself (see docs/bi.md)")
            return 0
        _say(url_for_user(url, BI_ROLE, password))
    elif args.action == "destroy":
        pg.destroy()
        _say(f"removed {pg.pgdata}")
    return 0


# ---------------------------------------------------------------------------------------
# generate / load / status
# ---------------------------------------------------------------------------------------
def _truth_path() -> Path:
    return get_settings().home / "ground_truth.json"


def _generate(customers: int, days: int, start: str, seed: int, *, force: bool = False) -> bool:
    """Generate the demo dataset unless the same one is already landed; True if it ran."""
    from cx_warehouse.generator import generate

    s = get_settings()
    landing = Path(s.landing)
    marker = landing / ".generated.json"
    params = {"customers": customers, "days": days, "start": start, "seed": seed}
    if marker.exists() and not force:
        previous = json.loads(marker.read_text())
        if previous == params:
            return False
        raise CliError(
            f"{landing} already holds demo data generated with {previous}, not {params}. "
            "Use the same parameters, or `make clean` to start over.")
    landing.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    summary = generate(landing, _truth_path(), customers=customers, days=days,
                       start=date.fromisoformat(start), seed=seed,
                       progress=lambda m: _say(f"      {m}"))
    marker.write_text(json.dumps(params))
    planted = ", ".join(f"{n} {k}" for k, n in sorted(summary.fault_counts.items()) if n)
    _say(f"      {summary.files:,} files, {summary.rows:,} rows in {time.perf_counter() - t0:.1f}s; "
         f"planted faults (ground truth in {_truth_path()}): {planted}")
    return True


def cmd_generate(args: argparse.Namespace) -> int:
    if args.landing:
        os.environ["CX_LANDING"] = args.landing
    ran = _generate(args.customers, args.days, args.start, args.seed, force=args.force)
    if not ran:
        _say("demo data already generated with these parameters")
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    """Load without Airflow (development aid); same code path the DAG tasks call."""
    from cx_warehouse.pipeline import load_source_entity, prepare_warehouse
    from cx_warehouse.sources import load_sources

    sources = load_sources()
    names = args.source or sorted(sources)
    prepare_warehouse(names)
    until = date.fromisoformat(args.until) if args.until else None
    failed = 0
    for n in names:
        for e in sources[n].entities:
            summary = load_source_entity(n, e.name, until=until, raise_on_failure=False)
            failed += summary["files_failed"]
            _say(f"{summary['table']:<28} files {summary['files_loaded']:>5} new, "
                 f"{summary['files_skipped']:>5} already loaded; rows {summary['rows_loaded']:>8} loaded, "
                 f"{summary['rows_quarantined']:>5} quarantined, {summary['rows_duplicate']:>5} duplicate")
            for f in summary["failures"]:
                _say(f"   FAILED {f['error']}")
    return 1 if failed else 0


def print_summary(truth: Path | None = None, reasons_per_entity: int | None = None) -> bool:
    """Print what landed where; return False when something needs attention."""
    from cx_warehouse.reporting import warehouse_summary

    summ = warehouse_summary()
    ok = True
    _say(f"  {'raw table':<30}{'rows':>10}")
    for t in summ["tables"]:
        _say(f"  {t['table']:<30}{t['rows']:>10,}")
    _say(f"\n  {'files by entity':<26}{'files':>7}{'read':>10}{'loaded':>10}{'quarant.':>10}{'duplicate':>10}")
    for f in summ["files"]:
        _say(f"  {f['entity']:<26}{f['loaded']:>7}{f['read']:>10,}{f['rows_loaded']:>10,}"
             f"{f['quarantined']:>10,}{f['duplicate']:>10,}")
        if f["read"] != f["rows_loaded"] + f["quarantined"] + f["duplicate"]:
            ok = False
            _say("    ^ DOES NOT BALANCE")
    if summ["quarantine_reasons"]:
        _say("\n  quarantined rows by reason (audit.quarantine):")
        shown: dict[str, int] = {}
        for r in summ["quarantine_reasons"]:
            n = shown[r["entity"]] = shown.get(r["entity"], 0) + 1
            if reasons_per_entity is None or n <= reasons_per_entity:
                _say(f"  {r['entity']:<26}{r['rows']:>6}  {r['reason']}")
            elif n == reasons_per_entity + 1:
                more = sum(1 for x in summ["quarantine_reasons"] if x["entity"] == r["entity"]) - reasons_per_entity
                _say(f"  {r['entity']:<26}{'':>6}  ... {more} more reason(s): `make status` lists all")
    for f in summ["failed_files"]:
        ok = False
        _say(f"\n  FAILED FILE {f['error']}")
    if truth and truth.exists():
        ok = _compare_truth(truth, summ) and ok
    return ok


def print_marts(truth: Path | None = None) -> None:
    """The marts in a few lines: sizes, last month's KPIs, identity, CLV fit, churn separation."""
    from cx_warehouse.reporting import marts_summary

    archetypes = json.loads(truth.read_text()).get("customers") if truth and truth.exists() else None
    m = marts_summary(archetypes)
    if not m:
        return
    _say(f"\n  marts (schema marts, what BI reads): {len(m['marts'])} tables; "
         f"customer_360 {m['marts'].get('customer_360', 0):,} people")
    k = m["kpis"]
    if k:
        def fmt(name: str, unit: str = "") -> str:
            cur, prev = k.get(name), k.get(f"previous_{name}")
            if cur is None:
                return f"{name} n/a"
            return f"{name} {float(cur):.2f}{unit} (prev " + (f"{float(prev):.2f}{unit})" if prev is not None else "n/a)")
        _say(f"  KPIs {k['period_start']:%Y-%m} (marts.cx_kpis): " + ", ".join([
            fmt("nps") + (" significant change" if k.get("is_nps_change_significant") else ""),
            fmt("csat_pct", "%"), fmt("ces_mean"), fmt("churn_rate_pct", "%"),
            fmt("repeat_purchase_rate_pct", "%"), fmt("sla_breach_pct", "%"), fmt("sentiment_mean")]))
    if m["match_rates"]:
        _say("  identity: " + ", ".join(f"{pop} {rate}% matched to CRM customers" for pop, rate in m["match_rates"]))
    if m["clv_fit"]:
        _say("  CLV fit: " + ", ".join(f"{model}.{p}={v}" for model, p, v in m["clv_fit"]))
    if m.get("churn_auc") and m["churn_auc"][0] is not None:
        auc, pos, neg = m["churn_auc"]
        _say(f"  churn risk separates the generator's churning ({pos}) from loyal ({neg}) customers: AUC {auc:.3f}")


def print_quality() -> None:
    """The latest run of each quality gate, and where its evidence is."""
    from cx_warehouse.quality.gates import docs_dir, gate_runs

    runs = gate_runs(latest_per_gate=True)
    if not runs:
        return
    _say("\n  quality gates (GX suites in expectations/, docs/quality.md):")
    for r in runs:
        note = f", {r['warnings']} warning(s)" if r["warnings"] else ""
        note += f", {r['critical']} CRITICAL" if r["critical"] else ""
        _say(f"    {r['gate']:<11} {r['decision']:<8} {r['expectations']:>4} expectations over "
             f"{r['rows'] or 0:>7,} rows in {r['seconds']:.1f}s{note}")
    if any(r["warnings"] or r["critical"] for r in runs):
        _say("    failing rows: cxw quality failures <gate run id> (cxw quality recent lists them)")
    index = docs_dir() / "index.html"
    if index.exists():
        _say(f"  Data Docs (static HTML, personal data scrubbed): {index}")


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
        _say("\n  ground truth check: MISMATCH")
        for m in mismatches:
            _say(f"    {m}")
        return False
    _say(f"\n  ground truth check: all {planted} planted bad rows quarantined, all {dupes} planted "
         "duplicates counted, every other row loaded")
    return True


def cmd_status(args: argparse.Namespace) -> int:
    ok = print_summary(_truth_path())
    print_quality()
    print_marts(_truth_path())
    return 0 if ok else 1


# ---------------------------------------------------------------------------------------
# demo
# ---------------------------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace) -> int:
    from cx_warehouse.airflow_local import ensure_metadata_db, run_dags
    from cx_warehouse.sources import load_sources
    from cx_warehouse.warehouse import describe_url, embedded, warehouse_url

    s = get_settings()
    t_start = time.perf_counter()
    total = 6
    logs = s.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)

    _step(1, total, "Warehouse")
    url = warehouse_url(s)
    where = f"embedded PostgreSQL, data in {s.pgdata}" if s.is_embedded else "CX_WAREHOUSE_URL"
    _say(f"      {describe_url(url)} ({where})")

    _step(2, total, f"Demo data in the landing zone {s.landing}")
    ran = _generate(args.customers, args.days, args.start, args.seed)
    if not ran:
        _say("      already generated with these parameters: reusing it")

    _step(3, total, f"Airflow metadata DB ({s.airflow_home})")
    airflow_log = logs / "airflow.log"
    _say("      migrating (first run only) ..." if ensure_metadata_db(s, airflow_log) else "      ready")

    last_day = date.fromisoformat(args.start) + timedelta(days=args.days - 1)
    # The daily run whose data interval ends at 02:00-03:00 the day after the last delivery
    # day: it loads every file (the first run takes the whole history) and its quality gates
    # judge the last delivery day as the day's run in production would.
    logical = f"{(last_day + timedelta(days=1)).isoformat()}T03:00:00+00:00"
    dag_ids = [f"ingest_{n}" for n in sorted(load_sources())] + ["transform_warehouse"]
    _step(4, total, f"Running the DAGs through Airflow for {logical[:10]} (log: {airflow_log})")
    _say(f"      {', '.join(dag_ids[:-1])}: the first run loads the whole history, later runs only "
         "new files; then transform_warehouse builds the dbt project")

    def on_result(r: Any) -> None:
        _say(f"      {r.dag_id:<20} {r.state:<8} {r.seconds:>6.1f}s")

    results = run_dags(dag_ids, logical, settings=s, log_file=airflow_log, on_result=on_result,
                       on_progress=lambda line: _say(f"        {line}"))
    failed = [r.dag_id for r in results if r.state != "success"]
    if len(results) != len(dag_ids):
        failed += [d for d in dag_ids if d not in {r.dag_id for r in results}]

    _step(5, total, "What landed where, and what the marts say")
    ok = print_summary(_truth_path(), reasons_per_entity=3)
    print_quality()
    if not failed:
        print_marts(_truth_path())
        _step(6, total, "Stakeholder reports for the demo period (rendered and archived; nothing is sent)")
        ok &= print_reports()
    _say(f"\nDone in {time.perf_counter() - t_start:.0f}s.")
    if failed:
        _say(f"FAILED: {', '.join(failed)}. Look for 'ERROR' in {airflow_log}; fix, then run `make demo` "
             "again: it resumes where it stopped.")
    _say("Explore: `make psql` (SQL shell), `make status` (this summary), `make airflow` (Airflow UI).")
    if s.is_embedded and not args.keep_running:
        embedded(s).stop()
        _say("The embedded warehouse is stopped; `make warehouse` starts it again with all data kept.")
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
            _say(f"      {rid}: FAILED: {exc}")
            ok = False
            continue
        _say(f"      {rendered.describe()} ({time.perf_counter() - t0:.1f}s)")
        for f in service.archived_files(rendered.directory):
            _say(f"        {f}")
    _say("      Send them: `cxw report send <id>` with AIRFLOW_CONN_CX_SMTP set (docs/reports.md); with "
         "docker compose, Mailpit shows the mails on http://localhost:8025.")
    return ok


def cmd_airflow(args: argparse.Namespace) -> int:
    from cx_warehouse.airflow_local import _airflow_bin, airflow_env, ensure_metadata_db

    s = get_settings()
    ensure_metadata_db(s)
    if args.airflow_args[:1] == ["standalone"]:
        # DAG tasks start the embedded warehouse on demand; start it now so the UI's first run is quick.
        from cx_warehouse.warehouse import warehouse_url

        warehouse_url(s)
    return subprocess.call([_airflow_bin(), *args.airflow_args], env=airflow_env(s))


def cmd_dbt(args: argparse.Namespace) -> int:
    from cx_warehouse.dbt_env import run_dbt

    return run_dbt(args.dbt_args)


def cmd_transform(args: argparse.Namespace) -> int:
    """The transform DAG's steps in order, without Airflow (same code as its tasks)."""
    from cx_warehouse.transform import TRANSFORM_STEPS, TransformError, run_step

    steps = [s for s in TRANSFORM_STEPS if not args.step or s.task_id in args.step]
    for step in steps:
        t0 = time.perf_counter()
        try:
            run_step(step, full_refresh=args.full_refresh)
        except TransformError as exc:
            _say(f"FAILED at {step.task_id}: {exc}")
            return 1
        _say(f"  {step.task_id:<24} {time.perf_counter() - t0:6.1f}s")
    return 0


def _timestamp(text: str | None) -> datetime | None:
    if not text:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def cmd_quality(args: argparse.Namespace) -> int:
    from cx_warehouse.quality import gates

    if args.action == "run":
        names = args.gate or list(gates.load_gates())
        stopped = False
        for name in names:
            run = gates.GateRun(run_id=args.run_id, as_of=_timestamp(args.as_of),
                                interval_start=_timestamp(args.interval_start),
                                interval_end=_timestamp(args.interval_end))
            report = gates.run_gate(name, run)
            _say(report.summary())
            stopped |= not report.passed
        return 1 if stopped else 0
    if args.action == "failures":
        if not args.gate:
            raise CliError("usage: cxw quality failures <gate run id or validation id> (printed by the gate)")
        failures = gates.failing_rows(args.gate[0])
        if not failures:
            _say("no failed expectations for that id")
        for f in failures:
            _say(f"{f['severity']:<8} {f['suite']}: {f['expectation']}({f['column'] or ''}) observed {f['observed']}")
            if f["exception"]:
                _say(f"         error: {f['exception']}")
            for row in f["failing_rows"] or []:
                _say(f"         {json.dumps(row, ensure_ascii=False, default=str)}")
            if f["query"]:
                _say(f"         all failing rows: {' '.join(f['query'].split())}")
        return 0
    if args.action == "docs":
        _say(str(gates.docs_dir() / "index.html"))
        return 0
    for r in gates.gate_runs(limit=args.limit):
        _say(f"{r['started_at']:%Y-%m-%d %H:%M:%S}  {r['gate']:<11} {r['decision']:<8} {r['critical']} critical, "
             f"{r['warnings']} warning(s), {r['rows'] or 0:,} rows, {r['seconds']} s  {r['gate_run_id']}  {r['run_id']}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from cx_warehouse.reports import service
    from cx_warehouse.reports.definitions import Period, get_report, load_reports

    if args.action == "list":
        for spec in load_reports().values():
            to = spec.recipients or tuple(a for r in spec.routes for a in r.recipients)
            _say(f"{spec.id:<18} {spec.schedule:<8} {spec.cron:<12} {spec.kind:<13} {', '.join(spec.formats):<20} "
                 f"to {', '.join(to)}")
        return 0
    if args.action == "outbox":
        from cx_warehouse.reports.delivery import outbox_status

        rows = outbox_status(args.report, args.period)
        if not rows:
            _say("the outbox is empty: nothing has been sent" + (f" for {args.report}" if args.report else ""))
        for r in rows:
            _say("  ".join(str(r.get(k) if r.get(k) is not None else "") for k in
                           ("report_id", "period_key", "kind", "recipient", "status", "attempts", "sent_at",
                            "last_error")))
        return 0
    if not args.report:
        raise CliError(f"usage: cxw report {args.action} <report id|all> [--period P]; `cxw report list` lists them")
    ids = list(load_reports()) if args.report == "all" else [args.report]
    failed = 0
    for rid in ids:
        spec = get_report(rid)
        try:
            period = Period.parse(spec.grain, args.period) if args.period else service.latest_complete_period(rid)
        except ValueError as exc:
            raise CliError(f"{rid}: {exc}") from None
        rendered = service.render(rid, period, force=args.force)
        _say(rendered.describe())
        for f in service.archived_files(rendered.directory):
            _say(f"      {f}")
        if args.action == "send":
            from cx_warehouse.reports.delivery import DeliveryError, SmtpConfigError

            try:
                result = service.deliver(rendered.directory)
            except SmtpConfigError as exc:
                raise CliError(f"cannot send: {exc}") from None
            except DeliveryError as exc:
                _say(f"      not delivered: {exc}")
                failed += 1
                continue
            _say(f"      sent {result['sent']}, already sent earlier {result['already_sent']}")
    return 1 if failed else 0


def cmd_bench(args: argparse.Namespace) -> int:
    from cx_warehouse import bench

    return bench.main(args.bench_args)


# ---------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cxw", description="CX warehouse: ingestion, marts, quality, reports.")
    sub = p.add_subparsers(dest="command", required=True)

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

    ld = sub.add_parser("load", help="load landed files without Airflow (same code as the DAG tasks)")
    ld.add_argument("--source", action="append", help="source name (repeatable; default all)")
    ld.add_argument("--until", help="only files delivered before this date (YYYY-MM-DD)")
    ld.set_defaults(func=cmd_load)

    st = sub.add_parser("status", help="what landed where")
    st.set_defaults(func=cmd_status)

    w = sub.add_parser("warehouse", help="the embedded warehouse")
    w.add_argument("action", choices=["start", "stop", "status", "url", "bi-url", "psql", "destroy"],
                   help="bi-url: set up the read-only BI role and print its connection URL")
    w.set_defaults(func=cmd_warehouse)

    a = sub.add_parser("airflow", help="run an airflow command with the project's AIRFLOW_HOME and DAGs")
    a.add_argument("airflow_args", nargs=argparse.REMAINDER)
    a.set_defaults(func=cmd_airflow)

    dbt = sub.add_parser("dbt", help="run dbt on the warehouse (credentials from the one setting)")
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER)
    dbt.set_defaults(func=cmd_dbt)

    tr = sub.add_parser("transform", help="build the warehouse without Airflow (the transform DAG's steps)")
    tr.add_argument("--full-refresh", action="store_true", help="rebuild incremental facts from scratch")
    tr.add_argument("--step", action="append", help="run only this step (repeatable), e.g. fit_clv")
    tr.set_defaults(func=cmd_transform)

    q = sub.add_parser("quality", help="data-quality gates: GX suites from expectations/ (docs/quality.md)")
    q.add_argument("action", choices=["run", "failures", "recent", "docs"],
                   help="run [GATE ...]: validate (default every gate); failures ID: the failing rows of a gate "
                        "run; recent: the latest gate runs; docs: where Data Docs are")
    q.add_argument("gate", nargs="*", help="gate names (run) or a gate run / validation id (failures)")
    q.add_argument("--as-of", help="judge freshness against this time (default: the interval end, else now)")
    q.add_argument("--interval-start", help="first day judged for delivery volume (default: a day before the end)")
    q.add_argument("--interval-end", help="end of the data interval (default: --as-of)")
    q.add_argument("--run-id", default="manual", help="run id whose loaded delivery days are judged")
    q.add_argument("--limit", type=int, default=20)
    q.set_defaults(func=cmd_quality)

    r = sub.add_parser("report", help="stakeholder reports and alerts from reports/ (docs/reports.md)")
    r.add_argument("action", choices=["list", "render", "send", "outbox"],
                   help="list: the definitions; render ID|all: into the archive, nothing sent; send ID|all: "
                        "render, then deliver through the cx_smtp connection (AIRFLOW_CONN_CX_SMTP); "
                        "outbox [ID]: what was sent to whom")
    r.add_argument("report", nargs="?", help="report id (a folder of reports/), or all")
    r.add_argument("--period", help="2026-10-31 (day), 2026-W43 (week) or 2026-10 (month); default: the "
                                    "latest period the marts fully cover")
    r.add_argument("--force", action="store_true", help="render even when the data is not ready (marked so)")
    r.set_defaults(func=cmd_report)

    b = sub.add_parser("bench", help="benchmarks (see BENCHMARKS.md)", add_help=False)
    b.add_argument("bench_args", nargs=argparse.REMAINDER)
    b.set_defaults(func=cmd_bench)
    return p


def main(argv: list[str] | None = None) -> int:
    from cx_warehouse.loading import LoadError
    from cx_warehouse.quality.specs import SpecError
    from cx_warehouse.reports.definitions import ReportSpecError
    from cx_warehouse.sources import SourceConfigError
    from cx_warehouse.warehouse import WarehouseError

    argv = sys.argv[1:] if argv is None else argv
    # Pass-through commands hand every argument, --help included, to the wrapped tool.
    passthrough = {"bench": "bench_args", "airflow": "airflow_args", "dbt": "dbt_args"}
    if argv and argv[0] in passthrough:
        args = build_parser().parse_args(argv[:1])
        setattr(args, passthrough[argv[0]], argv[1:])
    else:
        args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (CliError, WarehouseError, SourceConfigError, LoadError, SpecError, ReportSpecError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
