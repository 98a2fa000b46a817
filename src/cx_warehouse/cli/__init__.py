"""``cxw``: the project's command line, a thin layer over the package, one module per command.

Every subcommand reads the same settings (:mod:`cx_warehouse.config.settings`), so
``CX_WAREHOUSE_URL`` moves all of them at once. Development tools add their own commands
when they are installed beside the runtime (a checkout: ``cxw demo``, ``cxw generate`` from
:mod:`cx_demo`, ``cxw bench`` from :mod:`cx_bench`); the runtime image has neither.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType

from cx_warehouse.cli import airflow, dbt, load, quality, report, status, transform, warehouse
from cx_warehouse.cli.common import CliError

COMMANDS: tuple[ModuleType, ...] = (load, status, warehouse, airflow, dbt, transform, quality, report)
DEV_TOOLS = ("cx_demo.cli", "cx_bench.cli")
"""Modules of the development packages that register commands when they are importable."""
PASSTHROUGH = {"bench": "bench_args", "airflow": "airflow_args", "dbt": "dbt_args"}
"""Commands that hand every argument, --help included, to the wrapped tool."""


def _dev_tools() -> list[ModuleType]:
    found = []
    for name in DEV_TOOLS:
        try:
            found.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name != name.split(".")[0]:  # a missing dependency of an installed tool is a bug
                raise
    return found


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cxw", description="CX warehouse: ingestion, marts, quality, reports.")
    sub = p.add_subparsers(dest="command", required=True)
    for module in (*_dev_tools(), *COMMANDS):
        module.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    from cx_warehouse.ingest.loader import LoadError
    from cx_warehouse.ingest.sources import SourceConfigError
    from cx_warehouse.quality.specs import SpecError
    from cx_warehouse.reports.definitions import ReportSpecError
    from cx_warehouse.warehouse.embedded import WarehouseError
    from cx_warehouse.warehouse.migrations import MigrationError

    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in PASSTHROUGH:
        args = build_parser().parse_args(argv[:1])
        setattr(args, PASSTHROUGH[argv[0]], argv[1:])
    else:
        args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (CliError, WarehouseError, SourceConfigError, LoadError, SpecError, ReportSpecError,
            MigrationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
