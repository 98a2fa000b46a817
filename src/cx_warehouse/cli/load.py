"""``cxw load``: load landed files without Airflow, through the code the DAG tasks call."""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from cx_warehouse.cli.common import say


def cmd_load(args: argparse.Namespace) -> int:
    """Load without Airflow (development aid); same code path the DAG tasks call."""
    from cx_warehouse.ingest.service import load_source_entity, prepare_warehouse
    from cx_warehouse.ingest.sources import load_sources

    sources = load_sources()
    names = args.source or sorted(sources)
    prepare_warehouse(names)
    until = date.fromisoformat(args.until) if args.until else None
    failed = 0
    for n in names:
        for e in sources[n].entities:
            summary = load_source_entity(n, e.name, until=until, raise_on_failure=False)
            failed += summary["files_failed"]
            say(f"{summary['table']:<28} files {summary['files_loaded']:>5} new, "
                 f"{summary['files_skipped']:>5} already loaded; rows {summary['rows_loaded']:>8} loaded, "
                 f"{summary['rows_quarantined']:>5} quarantined, {summary['rows_duplicate']:>5} duplicate")
            for f in summary["failures"]:
                say(f"   FAILED {f['error']}")
    return 1 if failed else 0


def register(sub: Any) -> None:
    ld = sub.add_parser("load", help="load landed files without Airflow (same code as the DAG tasks)")
    ld.add_argument("--source", action="append", help="source name (repeatable; default all)")
    ld.add_argument("--until", help="only files delivered before this date (YYYY-MM-DD)")
    ld.set_defaults(func=cmd_load)
