"""``cxw warehouse``: start, stop, locate, migrate or destroy the warehouse; the BI role's URL."""

from __future__ import annotations

import argparse
import subprocess
from typing import Any

from cx_warehouse.cli.common import say
from cx_warehouse.config.settings import get_settings


def cmd_warehouse(args: argparse.Namespace) -> int:
    from cx_warehouse.warehouse.connection import describe_url, warehouse_url
    from cx_warehouse.warehouse.embedded import embedded

    s = get_settings()
    if not s.is_embedded and args.action in ("start", "stop", "destroy"):
        say(f"CX_WAREHOUSE_URL is set ({describe_url(s.warehouse_url or '')}): "
             "the embedded warehouse is not used, nothing to do.")
        return 0
    pg = embedded(s)
    if args.action == "migrate":
        from cx_warehouse.warehouse.migrations import migrate_command

        return migrate_command(warehouse_url(s), check=args.check, say=say)
    if args.action == "start":
        pg.start()
        say(f"embedded warehouse running: {describe_url(pg.url())} (data in {pg.pgdata})")
        say(f"password: in {pg.secret_file}; full URL: `cxw warehouse url`")
        from cx_warehouse.warehouse.migrations import migrate_command

        return migrate_command(pg.url(), say=say)
    elif args.action == "stop":
        say("stopped" if pg.stop() else "not running")
    elif args.action == "status":
        if s.is_embedded:
            say(f"embedded warehouse {'running' if pg.is_running() else 'stopped'}: "
                 f"127.0.0.1:{pg.port}, data in {pg.pgdata}")
        else:
            say(f"external warehouse: {describe_url(s.warehouse_url or '')}")
    elif args.action == "url":
        say(warehouse_url(s))
    elif args.action == "psql":
        url = warehouse_url(s)
        psql = pg.bin_dir / "psql"
        return subprocess.call([str(psql), url])
    elif args.action == "bi-url":
        from cx_warehouse.warehouse.connection import connect, url_for_user
        from cx_warehouse.warehouse.roles import BI_ROLE, bi_password, ensure_bi_access

        url = warehouse_url(s)
        password = bi_password()
        with connect(url, autocommit=True) as conn:
            ensure_bi_access(conn, password)
        if password is None:
            say(f"role {BI_ROLE} is ready without login: set CX_BI_PASSWORD and run this again, "
                 "or give it a password yourself (see docs/bi.md)")
            return 0
        say(url_for_user(url, BI_ROLE, password))
    elif args.action == "destroy":
        pg.destroy()
        say(f"removed {pg.pgdata}")
    return 0


def register(sub: Any) -> None:
    w = sub.add_parser("warehouse", help="the embedded warehouse")
    w.add_argument("action", choices=["start", "stop", "status", "url", "bi-url", "psql", "migrate", "destroy"],
                   help="start: start the embedded warehouse and migrate it; migrate: bring the operational "
                        "schemas (audit, reports) to this release's version; bi-url: set up the read-only BI "
                        "role and print its connection URL")
    w.add_argument("--check", action="store_true", help="with migrate: only list pending migrations (exit 1 if any)")
    w.set_defaults(func=cmd_warehouse)
