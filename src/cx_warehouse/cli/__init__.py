"""``cxw``: the project's command line, a thin layer over the package, one module per command.

Every subcommand reads the same settings (:mod:`cx_warehouse.config.settings`), so
``CX_WAREHOUSE_URL`` moves all of them at once. Development tools add their own commands
when they are installed beside the runtime (a checkout: ``cxw demo``, ``cxw generate`` from
:mod:`cx_demo`, ``cxw bench`` from :mod:`cx_bench`); the runtime image has neither.

How a command ends, so that a person never has to read a traceback:

* a bad option value (a date, a port) is refused by argparse with one line, exit 2;
* an error the user can fix (:data:`KNOWN_ERRORS`: a setting, a config file, the warehouse
  unreachable, a file the loader refused) prints its one sentence, exit 2;
* anything else is a bug or an outage we did not foresee: one line naming the exception and
  the log file that holds the traceback (``<CX_HOME>/logs/cxw.log``, private), exit 1.

Everything ``cxw`` writes is private to the user running it (umask 077, see
:mod:`cx_warehouse.files`): the data it handles is the customers'.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import NoReturn

from cx_warehouse.cli import airflow, dbt, load, quality, report, status, transform, warehouse
from cx_warehouse.files import make_private, open_private_log, private_umask

COMMANDS: tuple[ModuleType, ...] = (load, status, warehouse, airflow, dbt, transform, quality, report)
DEV_TOOLS = ("cx_demo.cli", "cx_bench.cli")
"""Modules of the development packages that register commands when they are importable."""
PASSTHROUGH = {"bench": "bench_args", "airflow": "airflow_args", "dbt": "dbt_args"}
"""Commands that hand every argument, --help included, to the wrapped tool."""
KNOWN_ERRORS = (
    ("cx_warehouse.cli.common", "CliError"),
    ("cx_warehouse.config.settings", "SettingsError"),
    ("cx_warehouse.config.business", "BusinessConfigError"),
    ("cx_warehouse.warehouse.embedded", "WarehouseError"),
    ("cx_warehouse.warehouse.migrations.runner", "MigrationError"),
    ("cx_warehouse.ingest.sources", "SourceConfigError"),
    ("cx_warehouse.ingest.landing", "LandingError"),
    ("cx_warehouse.ingest.loader", "LoadError"),
    ("cx_warehouse.quality.specs", "SpecError"),
    ("cx_warehouse.reports.definitions", "ReportSpecError"),
    ("cx_warehouse.reports.delivery.settings", "SmtpConfigError"),
    ("cx_demo.generator.pipeline", "GeneratorError"),
)
"""Errors whose message is one sentence for the user (what, which setting or file, what to do).
Named rather than imported: an exception can only be an instance of a class whose module is
already loaded, so :func:`known_error` looks in :data:`sys.modules` and never imports (a module
that does not exist yet, or a development tool that is not installed, is simply skipped)."""
LOG_NAME = "cxw.log"
FIRST_LINE_CHARS = 300


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error in one line (argparse prints the whole usage first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (`{self.prog} --help` lists the options)\n")


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
    p = Parser(prog="cxw", description="CX warehouse: ingestion, marts, quality, reports.")
    sub = p.add_subparsers(dest="command", required=True)  # subparsers are Parsers too
    for module in (*_dev_tools(), *COMMANDS):
        module.register(sub)
    return p


def known_error(exc: BaseException) -> bool:
    """Whether ``exc`` is one of :data:`KNOWN_ERRORS` (printed as is, exit 2)."""
    for module_name, class_name in KNOWN_ERRORS:
        cls = getattr(sys.modules.get(module_name), class_name, None)
        if isinstance(cls, type) and isinstance(exc, cls):
            return True
    return False


def log_path() -> Path:
    """``<CX_HOME>/logs/cxw.log``: the tracebacks of unexpected errors."""
    from cx_warehouse.config.settings import get_settings

    return get_settings().home / "logs" / LOG_NAME


def report_unexpected(exc: BaseException, command: str) -> None:
    """One line on stderr; the traceback in the private log (on stderr only if that fails)."""
    lines = str(exc).strip().splitlines()
    first = lines[0][:FIRST_LINE_CHARS] if lines else ""
    what = f"unexpected {type(exc).__name__}" + (f": {first}" if first else "")
    try:
        path = log_path()
        with os.fdopen(open_private_log(path), "a", encoding="utf-8") as log:
            log.write(f"--- {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} cxw {command}: {what}\n")
            log.write("".join(traceback.format_exception(exc)))
    except Exception as log_exc:  # noqa: BLE001 - the traceback must not be lost with the log
        print(f"error: {what}; the log could not be written ({type(log_exc).__name__}: {log_exc}), "
              "so the traceback follows", file=sys.stderr)
        traceback.print_exception(exc)
        return
    print(f"error: {what}; the full traceback is in {path}", file=sys.stderr)


def _private_home() -> None:
    """Tighten an existing ``CX_HOME`` to 0700 (a new one is created so under the umask).

    Not when the embedded warehouse's data directory in it belongs to another user: as root,
    PostgreSQL runs as the ``pgserver`` user, which must traverse ``CX_HOME`` to reach
    ``pgdata`` (pgserver opens it on each start, and a running server that loses it panics).
    That holds whether or not ``CX_WAREHOUSE_URL`` points at that server. The folders inside
    stay 0700 either way.
    """
    from cx_warehouse.config.settings import get_settings

    s = get_settings()
    try:
        if s.pgdata.stat().st_uid != os.geteuid() or _holds_foreign_folder(s.home, depth=3):
            return
    except FileNotFoundError:
        if _holds_foreign_folder(s.home, depth=3):
            return
    except OSError:
        return  # cannot even look: leave it as it is
    try:
        make_private(s.home)
    except OSError:
        pass  # not ours to change (a shared folder set up by an administrator)


def _holds_foreign_folder(root: Path, depth: int) -> bool:
    """Whether a folder within ``depth`` levels of ``root`` belongs to another user: another
    server's data directory (the benchmark's ``bench/pgdata``, a second warehouse), which
    tightening ``root`` would cut off."""
    if depth <= 0:
        return False
    me = os.geteuid()
    try:
        with os.scandir(root) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if entry.stat(follow_symlinks=False).st_uid != me:
                        return True
                    if _holds_foreign_folder(Path(entry.path), depth - 1):
                        return True
    except FileNotFoundError:
        return False
    except OSError:
        return True  # cannot look inside: assume something there must stay reachable
    return False


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = argv[0] if argv else ""
    with private_umask():
        try:
            try:
                if argv and argv[0] in PASSTHROUGH:
                    args = build_parser().parse_args(argv[:1])
                    setattr(args, PASSTHROUGH[argv[0]], argv[1:])
                else:
                    args = build_parser().parse_args(argv)
            except SystemExit as done:  # --help (0) or a usage error (2, one line printed)
                return done.code if isinstance(done.code, int) else 0 if done.code is None else 2
            _private_home()
            return int(args.func(args) or 0)
        except KeyboardInterrupt:
            print("interrupted; run the same command again to resume", file=sys.stderr)
            return 130
        except Exception as exc:  # noqa: BLE001 - the one place every error of a command ends
            if known_error(exc):
                print(f"error: {exc}", file=sys.stderr)
                return 2
            report_unexpected(exc, command)
            return 1


if __name__ == "__main__":
    sys.exit(main())
