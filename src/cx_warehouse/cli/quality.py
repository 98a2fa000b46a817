"""``cxw quality``: run the gates, list failing rows, recent runs, where Data Docs are."""

from __future__ import annotations

import argparse
import json
from typing import Any

from cx_warehouse.cli.common import CliError, say, timestamp


def cmd_quality(args: argparse.Namespace) -> int:
    from cx_warehouse.quality import gates

    if args.action == "run":
        names = args.gate or list(gates.load_gates())
        stopped = False
        for name in names:
            run = gates.GateRun(run_id=args.run_id, as_of=timestamp(args.as_of),
                                interval_start=timestamp(args.interval_start),
                                interval_end=timestamp(args.interval_end))
            report = gates.run_gate(name, run)
            say(report.summary())
            stopped |= not report.passed
        return 1 if stopped else 0
    if args.action == "failures":
        if not args.gate:
            raise CliError("usage: cxw quality failures <gate run id or validation id> (printed by the gate)")
        failures = gates.failing_rows(args.gate[0])
        if not failures:
            say("no failed expectations for that id")
        for f in failures:
            say(f"{f['severity']:<8} {f['suite']}: {f['expectation']}({f['column'] or ''}) observed {f['observed']}")
            if f["exception"]:
                say(f"         error: {f['exception']}")
            for row in f["failing_rows"] or []:
                say(f"         {json.dumps(row, ensure_ascii=False, default=str)}")
            if f["query"]:
                say(f"         all failing rows: {' '.join(f['query'].split())}")
        return 0
    if args.action == "docs":
        say(str(gates.docs_dir() / "index.html"))
        return 0
    for r in gates.gate_runs(limit=args.limit):
        say(f"{r['started_at']:%Y-%m-%d %H:%M:%S}  {r['gate']:<11} {r['decision']:<8} {r['critical']} critical, "
             f"{r['warnings']} warning(s), {r['rows'] or 0:,} rows, {r['seconds']} s  {r['gate_run_id']}  {r['run_id']}")
    return 0


def register(sub: Any) -> None:
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
