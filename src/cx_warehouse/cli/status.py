"""``cxw status``: what landed where, what the gates found, what the marts say."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from cx_warehouse.cli.common import say

LOAD_CHECKS: list[Callable[[dict[str, Any]], bool]] = []
"""Checks a tool installed beside the runtime adds to the load summary (the demo: its ground
truth); each gets the summary printed and returns False when something needs attention."""
MART_NOTES: list[Callable[[], None]] = []
"""Lines such a tool adds after the marts summary (the demo: the churn risk's separation)."""


IGNORED_SHOWN = 20
"""Ignored files listed by ``cxw status``, one line each; the rest are counted."""


def printable(text: str) -> str:
    """``text`` safe for a terminal: file names and messages come from outside, and a name holding
    a newline, an escape sequence or undecodable bytes must not rewrite the screen."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def print_summary(reasons_per_entity: int | None = None) -> bool:
    """Print what landed where; return False when something needs attention (an unbalanced
    file, a failed file still in the landing zone, a landing zone that cannot be read)."""
    from cx_warehouse.ingest.accounting import warehouse_summary

    summ = warehouse_summary()
    ok = True
    say(f"  {'raw table':<30}{'rows':>10}")
    for t in summ["tables"]:
        say(f"  {t['table']:<30}{t['rows']:>10,}")
    say(f"\n  {'files by entity':<26}{'files':>7}{'read':>10}{'loaded':>10}{'quarant.':>10}{'duplicate':>10}")
    for f in summ["files"]:
        say(f"  {f['entity']:<26}{f['loaded']:>7}{f['read']:>10,}{f['rows_loaded']:>10,}"
             f"{f['quarantined']:>10,}{f['duplicate']:>10,}")
        if f["read"] != f["rows_loaded"] + f["quarantined"] + f["duplicate"]:
            ok = False
            say("    ^ DOES NOT BALANCE")
    if summ["quarantine_reasons"]:
        say("\n  quarantined rows by reason (audit.quarantine):")
        shown: dict[str, int] = {}
        for r in summ["quarantine_reasons"]:
            n = shown[r["entity"]] = shown.get(r["entity"], 0) + 1
            if reasons_per_entity is None or n <= reasons_per_entity:
                say(f"  {r['entity']:<26}{r['rows']:>6}  {r['reason']}")
            elif n == reasons_per_entity + 1:
                more = sum(1 for x in summ["quarantine_reasons"] if x["entity"] == r["entity"]) - reasons_per_entity
                say(f"  {r['entity']:<26}{'':>6}  ... {more} more reason(s): `make status` lists all")
    if summ.get("landing_error"):
        ok = False
        say(f"\n  LANDING ZONE {printable(summ['landing_error'])}")
    ignored = summ.get("ignored_files") or []
    if ignored:
        # Information, not a failure: the loader skipped these on purpose and says why.
        say(f"\n  ignored files (never loaded): {len(ignored)} in the landing zone")
        for i in ignored[:IGNORED_SHOWN]:
            say(f"    {printable(i['file'])}: {printable(i['reason'])}")
        if len(ignored) > IGNORED_SHOWN:
            say(f"    ... {len(ignored) - IGNORED_SHOWN} more ignored file(s)")
    for f in summ["failed_files"]:
        ok = False
        say(f"\n  FAILED FILE {printable(f['error'])}")
    for check in LOAD_CHECKS:
        ok = check(summ) and ok
    return ok


def print_quality() -> None:
    """The latest run of each quality gate, and where its evidence is."""
    from cx_warehouse.quality.gates import docs_dir, gate_runs

    runs = gate_runs(latest_per_gate=True)
    if not runs:
        return
    say("\n  quality gates (GX suites in expectations/, docs/quality.md):")
    for r in runs:
        note = f", {r['warnings']} warning(s)" if r["warnings"] else ""
        note += f", {r['critical']} CRITICAL" if r["critical"] else ""
        say(f"    {r['gate']:<11} {r['decision']:<8} {r['expectations']:>4} expectations over "
             f"{r['rows'] or 0:>7,} rows in {r['seconds']:.1f}s{note}")
    if any(r["warnings"] or r["critical"] for r in runs):
        say("    failing rows: cxw quality failures <gate run id> (cxw quality recent lists them)")
    index = docs_dir() / "index.html"
    if index.exists():
        say(f"  Data Docs (static HTML, personal data scrubbed): {index}")


def print_marts() -> None:
    """The marts in a few lines: sizes, last month's KPIs, identity, CLV fit."""
    from cx_warehouse.transform.summary import marts_summary

    m = marts_summary()
    if not m:
        return
    say(f"\n  marts (schema marts, what BI reads): {len(m['marts'])} tables; "
         f"customer_360 {m['marts'].get('customer_360', 0):,} people")
    k = m["kpis"]
    if k:
        def fmt(name: str, unit: str = "") -> str:
            cur, prev = k.get(name), k.get(f"previous_{name}")
            if cur is None:
                return f"{name} n/a"
            return f"{name} {float(cur):.2f}{unit} (prev " + (f"{float(prev):.2f}{unit})" if prev is not None else "n/a)")
        say(f"  KPIs {k['period_start']:%Y-%m} (marts.cx_kpis): " + ", ".join([
            fmt("nps") + (" significant change" if k.get("is_nps_change_significant") else ""),
            fmt("csat_pct", "%"), fmt("ces_mean"), fmt("churn_rate_pct", "%"),
            fmt("repeat_purchase_rate_pct", "%"), fmt("sla_breach_pct", "%"), fmt("sentiment_mean")]))
    if m["match_rates"]:
        say("  identity: " + ", ".join(f"{pop} {rate}% matched to CRM customers" for pop, rate in m["match_rates"]))
    if m["clv_fit"]:
        say("  CLV fit: " + ", ".join(f"{model}.{p}={v}" for model, p, v in m["clv_fit"]))
    for note in MART_NOTES:
        note()


def cmd_status(args: argparse.Namespace) -> int:
    ok = print_summary()
    print_quality()
    print_marts()
    return 0 if ok else 1


def register(sub: Any) -> None:
    st = sub.add_parser("status", help="what landed where")
    st.set_defaults(func=cmd_status)
