"""``cxw report``: list, render, send the stakeholder reports; who got what (the outbox)."""

from __future__ import annotations

import argparse
from typing import Any

from cx_warehouse.cli.common import CliError, say


def cmd_report(args: argparse.Namespace) -> int:
    from cx_warehouse.reports import service
    from cx_warehouse.reports.definitions import Period, get_report, load_reports

    if args.action == "list":
        for spec in load_reports().values():
            to = spec.recipients or tuple(a for r in spec.routes for a in r.recipients)
            say(f"{spec.id:<18} {spec.schedule:<8} {spec.cron:<12} {spec.kind:<13} {', '.join(spec.formats):<20} "
                 f"to {', '.join(to)}")
        return 0
    if args.action == "outbox":
        from cx_warehouse.reports.delivery import outbox_status

        rows = outbox_status(args.report, args.period)
        if not rows:
            say("the outbox is empty: nothing has been sent" + (f" for {args.report}" if args.report else ""))
        for r in rows:
            say("  ".join(str(r.get(k) if r.get(k) is not None else "") for k in
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
        say(rendered.describe())
        for f in service.archived_files(rendered.directory):
            say(f"      {f}")
        if args.action == "send":
            from cx_warehouse.reports.delivery import DeliveryError, SmtpConfigError

            try:
                result = service.deliver(rendered.directory)
            except SmtpConfigError as exc:
                raise CliError(f"cannot send: {exc}") from None
            except DeliveryError as exc:
                say(f"      not delivered: {exc}")
                failed += 1
                continue
            say(f"      sent {result['sent']}, already sent earlier {result['already_sent']}")
    return 1 if failed else 0


def register(sub: Any) -> None:
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
