"""``cxw load``: load landed files without Airflow, through the code the DAG tasks call.

Before it touches the warehouse it checks what a person may have mistyped: the ``--until``
date (argparse, :func:`~cx_warehouse.cli.common.iso_date`), the source names, and that the
landing zone exists. A misspelt ``CX_LANDING`` used to find no files, load nothing and exit 0,
which reads as "nothing new arrived"; now it is an error that names the setting.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from cx_warehouse.cli.common import CliError, iso_date, say
from cx_warehouse.config.settings import Settings, get_settings


def check_landing(settings: Settings) -> None:
    """Refuse a landing zone that does not exist (a local folder is checked here; a URL such as
    ``s3://`` by the landing zone itself when it offers a check)."""
    from cx_warehouse.ingest.landing import LandingZone

    source = "CX_LANDING" if os.environ.get("CX_LANDING") else "the default landing zone (CX_LANDING unset)"
    if "://" not in settings.landing and not Path(settings.landing).is_dir():
        what = "does not exist" if not Path(settings.landing).exists() else "is not a folder"
        raise CliError(f"{source} {settings.landing} {what}: set CX_LANDING to the folder the source "
                       "systems deliver into, then run `cxw load` again")
    LandingZone(settings.landing).check()  # LandingError when a URL cannot be reached


def cmd_load(args: argparse.Namespace) -> int:
    """Load without Airflow (development aid); same code path the DAG tasks call."""
    from cx_warehouse.ingest.landing import LandingError
    from cx_warehouse.ingest.loader import LoadError
    from cx_warehouse.ingest.service import load_source_entity, prepare_warehouse
    from cx_warehouse.ingest.sources import load_sources

    sources = load_sources()
    unknown = [n for n in args.source or [] if n not in sources]
    if unknown:
        raise CliError(f"no source {', '.join(map(repr, unknown))} in {get_settings().config_dir / 'sources'}: "
                       f"--source takes one of {', '.join(sorted(sources))}")
    check_landing(get_settings())
    names = args.source or sorted(sources)
    prepare_warehouse(names)
    failed = 0
    for n in names:
        for e in sources[n].entities:
            try:
                summary = load_source_entity(n, e.name, until=args.until, raise_on_failure=False,
                                             rehash=args.rehash)
            except (LoadError, LandingError) as exc:
                # One entity that cannot load (the warehouse went away and never answered again,
                # a landing zone that stopped answering) does not stop the others.
                failed += 1
                say(f"{e.qualified_table:<28} FAILED {exc}")
                continue
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
    ld.add_argument("--until", type=iso_date, help="only files delivered before this date (YYYY-MM-DD)")
    ld.add_argument("--rehash", action="store_true",
                    help="hash every landed file already loaded, even one whose size and modification time "
                         "are unchanged (finds bytes rewritten with the time set back; reads the whole history)")
    ld.set_defaults(func=cmd_load)
