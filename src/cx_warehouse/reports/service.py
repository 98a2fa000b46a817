"""Render a report for a period into the archive, and deliver what the archive holds.

These two steps are the two tasks of every report in the report DAGs, and what ``cxw report``
runs on demand. Rendering checks the data first (:mod:`.readiness`): when the period is not
ready, the owners' "data delayed" notice is rendered instead of the report. Delivery never
renders: it sends the archived files, so a retry after a mail-server outage sends the same
report, and the outbox keeps anyone from getting it twice.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cx_warehouse.reports.definitions import Period, ReportSpec, get_report
from cx_warehouse.reports.render import (
    Message,
    archive_dir,
    data_uri,
    environment,
    read_manifest,
    render_pdf,
    to_csv,
    write_archive,
)

log = logging.getLogger(__name__)

PRINT_CSS = "@page { size: A4; margin: 12mm 12mm 14mm 12mm; }"


@dataclass
class Rendered:
    """What a render produced: where, what kind, for whom."""

    report_id: str
    period_key: str
    kind: str
    directory: Path
    messages: int
    reasons: list[str] = field(default_factory=list)
    reused: bool = False

    def describe(self) -> str:
        what = {"report": "report", "delayed": "data-delayed notice", "alerts": f"{self.messages} alert(s)"}
        text = f"{self.report_id} {self.period_key}: {what.get(self.kind, self.kind)} in {self.directory}"
        if self.reused:
            text += " (already sent to some recipients: kept as sent, not re-rendered)"
        if self.reasons:
            text += " - delayed because " + "; ".join(self.reasons)
        return text


def _sent_to_anyone(report_id: str, period_key: str, url: str | None) -> bool:
    from cx_warehouse.reports.delivery import outbox_status

    return any(r["kind"] == "report" and r["status"] == "sent" for r in outbox_status(report_id, period_key, url))


def _context(spec: ReportSpec, period: Period, status: Any) -> dict[str, Any]:
    return {"spec": spec, "period": period, "status": status, "generated_at": datetime.now(UTC),
            "as_of": status.as_of if status else None}


def _email_html(env: Any, template: str, ctx: dict[str, Any]) -> str:
    """The template for e-mail: charts by ``cid:``, the inline attachments' ids."""
    return str(env.get_template(template).render(**ctx, mode="email", chart=lambda name: f"cid:{name}"))


def _page_html(env: Any, template: str, ctx: dict[str, Any], charts: dict[str, bytes]) -> str:
    """The same template as a page: charts inline as ``data:`` URLs; what the PDF and the
    archive's ``report.html`` are made from."""
    return str(env.get_template(template).render(**ctx, mode="page", chart=lambda name: data_uri(charts[name]),
                                                 print_css=PRINT_CSS))


def render(report_id: str, period: Period, *, url: str | None = None, force: bool = False) -> Rendered:
    """Render ``report_id`` for ``period`` into the archive.

    Args:
        report_id: a folder of ``reports/``.
        period: the period to report on (its grain must be the report's).
        url: warehouse URL (default: the project's one setting).
        force: render even when the data is not ready (on demand, to look at it); the
            report then says which checks it skipped.
    """
    from cx_warehouse.reports.readiness import data_status

    spec = get_report(report_id)
    if period.grain != spec.grain:
        raise ValueError(f"{report_id} reports on a {spec.grain}, not a {period.grain}")
    status = data_status(period, url=url)
    ready = status.ready or force
    if ready and spec.kind != "alerts" and _sent_to_anyone(spec.id, period.key, url):
        target = archive_dir(spec, period.key, "report")
        return Rendered(spec.id, period.key, "report", target, 1, reused=True)
    if not ready:
        return _render_delayed(spec, period, status)
    if spec.kind == "report":
        return _render_report(spec, period, status, url)
    if spec.kind == "at_risk_list":
        return _render_at_risk(spec, period, status, url)
    return _render_alerts(spec, period, status, url)


def _render_report(spec: ReportSpec, period: Period, status: Any, url: str | None) -> Rendered:
    from cx_warehouse.reports.data import SECTION_QUERIES
    from cx_warehouse.warehouse.connection import connect

    sections: dict[str, Any] = {}
    charts: dict[str, bytes] = {}
    with connect(url) as conn:
        for name in spec.sections:
            result = SECTION_QUERIES[name](conn, spec, period)
            sections[name] = result.context
            charts.update(result.charts)
    env = environment(spec)
    first_tiles = sections.get("kpi_tiles") or sections.get("executive_kpis") or {}
    ctx = {**_context(spec, period, status), "sections": sections, "text_tiles": first_tiles.get("tiles", [])}
    email_html, page_html = _email_html(env, spec.template, ctx), _page_html(env, spec.template, ctx, charts)
    text = env.get_template("report.txt.j2").render(**ctx)
    attachments = []
    extra = {"report.html": page_html.encode("utf-8")}
    if "pdf" in spec.formats:
        pdf = render_pdf(page_html)
        attachments.append((f"{spec.id}_{period.key}.pdf", pdf, "application/pdf"))
    message = Message(outbox_key=period.key, kind="report", recipients=list(spec.recipients),
                      subject=f"{spec.title}: {period.label}", html=email_html, text=text, images=charts,
                      attachments=attachments)
    target = write_archive(archive_dir(spec, period.key, "report"), _manifest(spec, period, "report", status),
                           [message], extra)
    log.info("rendered %s for %s into %s", spec.id, period.key, target)
    return Rendered(spec.id, period.key, "report", target, 1)


def _render_at_risk(spec: ReportSpec, period: Period, status: Any, url: str | None) -> Rendered:
    from cx_warehouse.reports.selections import AT_RISK_COLUMNS, at_risk_list
    from cx_warehouse.warehouse.connection import connect

    with connect(url) as conn:
        listing = at_risk_list(conn, spec, period.start)
        conn.commit()
    customers = listing["customers"]
    csv_bytes = to_csv(AT_RISK_COLUMNS, [[c[k] for k in AT_RISK_COLUMNS] for c in customers])
    env = environment(spec)
    summary = {
        "total": len(customers), "new": sum(1 for c in customers if c["is_new_on_list"]),
        "by_action": _most_common(customers, "suggested_action"),
        "by_reason": _most_common(customers, "top_reason"),
        "previous_list": listing["previous_list"], "levels": listing["levels"],
    }
    ctx = {**_context(spec, period, status), "summary": summary}
    email_html = _email_html(env, spec.template, ctx)
    text = env.get_template("at_risk.txt.j2").render(**ctx)
    name = f"{spec.id}_{period.key}.csv"
    message = Message(outbox_key=period.key, kind="report", recipients=list(spec.recipients),
                      subject=f"{spec.title}: {period.label} ({summary['total']} customers, {summary['new']} new)",
                      html=email_html, text=text, images={}, attachments=[(name, csv_bytes, "text/csv")])
    target = write_archive(archive_dir(spec, period.key, "report"), _manifest(spec, period, "report", status),
                           [message])
    return Rendered(spec.id, period.key, "report", target, 1)


def _render_alerts(spec: ReportSpec, period: Period, status: Any, url: str | None) -> Rendered:
    from cx_warehouse.config.business import load_business
    from cx_warehouse.reports.delivery import ensure_outbox
    from cx_warehouse.reports.selections import close_the_loop_alerts
    from cx_warehouse.warehouse.connection import connect

    with connect(url) as conn:
        ensure_outbox(conn)
        conn.commit()
        alerts = close_the_loop_alerts(conn, spec, period.start, load_business().timezone)
    env = environment(spec)
    routes = {r.alert: r for r in spec.routes}
    messages = []
    for alert in alerts:
        route = routes.get(alert.alert)
        if route is None:
            log.warning("%s: no route for alert %s (%s); add one to %s", spec.id, alert.alert, alert.key, spec.file)
            continue
        ctx = {**_context(spec, period, status), "alert": alert, "route": route}
        html = env.get_template(f"alert_{alert.alert}.html.j2").render(**ctx, mode="email")
        text = env.get_template(f"alert_{alert.alert}.txt.j2").render(**ctx)
        subject = env.get_template(f"alert_{alert.alert}.subject.txt.j2").render(**ctx).strip()
        messages.append(Message(outbox_key=alert.key, kind="alert", recipients=list(route.recipients),
                                subject=subject, html=html, text=text, images={}, attachments=[]))
    target = write_archive(archive_dir(spec, period.key, "alerts"), _manifest(spec, period, "alerts", status),
                           messages)
    return Rendered(spec.id, period.key, "alerts", target, len(messages))


def _render_delayed(spec: ReportSpec, period: Period, status: Any) -> Rendered:
    env = environment(spec)
    ctx = _context(spec, period, status)
    html = env.get_template("delayed.html.j2").render(**ctx, mode="email")
    text = env.get_template("delayed.txt.j2").render(**ctx)
    message = Message(outbox_key=period.key, kind="delayed", recipients=list(spec.owners),
                      subject=f"Data delayed: {spec.title} for {period.label} is not sent yet",
                      html=html, text=text, images={}, attachments=[])
    target = write_archive(archive_dir(spec, period.key, "delayed"), _manifest(spec, period, "delayed", status),
                           [message])
    log.warning("%s for %s is delayed: %s", spec.id, period.key, "; ".join(status.reasons))
    return Rendered(spec.id, period.key, "delayed", target, 1, reasons=list(status.reasons))


def _most_common(items: list[dict[str, Any]], key: str) -> list[tuple[str, int]]:
    """Values of ``key`` with their counts, most frequent first (ties by value, so stable)."""
    counts = Counter(str(item[key]) for item in items)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def _manifest(spec: ReportSpec, period: Period, kind: str, status: Any) -> dict[str, Any]:
    return {"report_id": spec.id, "title": spec.title, "kind": kind, "period": {
        "grain": period.grain, "start": period.start, "end": period.end, "key": period.key, "label": period.label},
        "rendered_at": datetime.now(UTC), "data_as_of": status.as_of if status else None,
        "data_ready": bool(status and status.ready), "reasons": list(status.reasons) if status else [],
        "definition": str(spec.file)}


def deliver(directory: Path, *, url: str | None = None, settings: Any = None) -> dict[str, Any]:
    """Send every message of an archived rendering; recipients who already have it are skipped.

    Raises :class:`cx_warehouse.reports.delivery.DeliveryError` when some recipient could not
    be reached, after trying all of them; the outbox keeps those pending for the retry.
    """
    from cx_warehouse.reports.delivery import Attachment, DeliveryError, DeliveryResult, Email, InlineImage
    from cx_warehouse.reports.delivery import deliver as send

    manifest = read_manifest(directory)
    totals: dict[str, Any] = {"sent": 0, "already_sent": 0, "failed": {}, "messages": len(manifest["messages"]),
                              "directory": str(directory)}
    errors = []
    pending = DeliveryResult(sent=[], already_sent=[], failed={})
    for m in manifest["messages"]:
        email = Email(
            subject=m["subject"],
            html=(directory / m["html"]).read_text(encoding="utf-8"),
            text=(directory / m["text"]).read_text(encoding="utf-8"),
            inline_images=tuple(InlineImage(cid=i["cid"], content=(directory / i["file"]).read_bytes(),
                                            filename=Path(i["file"]).name) for i in m["images"]),
            attachments=tuple(Attachment(filename=Path(a["file"]).name, content=(directory / a["file"]).read_bytes(),
                                         mime_type=a["mime_type"]) for a in m["attachments"]),
        )
        try:
            result = send(report_id=manifest["report_id"], period_key=m["outbox_key"], kind=m["kind"],
                          recipients=list(m["recipients"]), email=email, archive_path=str(directory),
                          settings=settings, url=url)
        except DeliveryError as exc:
            errors.append(str(exc))
            pending.sent += exc.result.sent
            pending.failed.update(exc.result.failed)
            continue
        totals["sent"] += len(result.sent)
        totals["already_sent"] += len(result.already_sent)
        totals["failed"].update(result.failed)
    if errors:
        raise DeliveryError(f"{len(errors)} of {len(manifest['messages'])} message(s) of {directory} not delivered "
                            f"(the archive is kept; a retry sends only what is pending): {errors[0]}", pending)
    log.info("delivered %s: %s sent, %s already sent earlier", directory, totals["sent"], totals["already_sent"])
    return totals


def period_for_run(report_id: str, interval_start: datetime) -> Period:
    """The period a scheduled run of ``report_id`` reports on (see :meth:`Period.for_interval`)."""
    from cx_warehouse.config.business import load_business

    return Period.for_interval(get_report(report_id).grain, interval_start, load_business().timezone)


def latest_complete_period(report_id: str, url: str | None = None) -> Period:
    """The newest period of the report's grain that the marts fully cover (on-demand default)."""
    from cx_warehouse.reports.readiness import marts_as_of
    from cx_warehouse.warehouse.connection import connect

    spec = get_report(report_id)
    with connect(url) as conn:
        as_of = marts_as_of(conn)
    if as_of is None:
        raise ValueError("the warehouse has not been built yet: run `make demo` or `cxw transform` first")
    period = Period.containing(spec.grain, as_of)
    return period if period.end <= as_of else period.previous()


def archived_files(directory: Path) -> list[Path]:
    """The files a person opens: the page, the PDF, CSVs; or the e-mails of alerts and notices."""
    names = ("report.html", "*.pdf", "*.csv")
    found = [p for pattern in names for p in sorted(directory.glob(pattern))]
    return found or sorted(directory.glob("**/*email.html"))[:3]
