"""Stakeholder reports from the real marts: numbers, PDF pages, escaping, CSV, alerts, delays, sending.

Every test renders from the shared marts world (``marts_db``), copied into a database of its
own when the test changes data, and sends mail to a real SMTP server (aiosmtpd) on loopback.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from cx_warehouse.reports import service
from cx_warehouse.reports.definitions import Period, get_report
from cx_warehouse.reports.render import read_manifest
from cx_warehouse.warehouse.connection import connect

HOSTILE = [
    "<script>alert('x')</script> terrible service",
    "<img src=x onerror=alert(1)> never again",
    '<a href="javascript:alert(1)">click</a> 差评',
    "{{7*7}} {% raw %} ${7*7} 太慢了",
]


# --- helpers ---------------------------------------------------------------------------

class Elements(HTMLParser):
    """Every element with its attributes, and the text, as a browser's parser would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Elements:
    p = Elements()
    p.feed(html)
    return p


def execute(url: str, sql: str, params: Any = None) -> None:
    with connect(url, autocommit=True) as conn:
        conn.execute(sql, params)


def query(url: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def tile_values(html: str) -> dict[str, str]:
    return {a["data-kpi"] or "": a.get("data-value") or "" for t, a in parse(html).tags
            if t == "td" and "data-kpi" in a}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def shown(value: Any, decimals: int) -> str:
    return f"{float(value):,.{decimals}f}"


def terminate_other_sessions(conn: Any, database: str) -> None:
    """Idle pooled connections (GX's engines, left by earlier gate runs) would keep a database
    from being used as a template."""
    conn.execute("select pg_terminate_backend(pid) from pg_stat_activity where datname = %s "
                 "and pid <> pg_backend_pid()", (database,))


@pytest.fixture(scope="module")
def reports_db(pg_server: Any, marts_db: Any) -> str:
    """The shared marts world, copied, with the mart gate run on it: data a report may use."""
    from cx_warehouse.quality.gates import GateRun, run_gate

    source = marts_db.url.rsplit("/", 1)[1].split("?")[0]
    with connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute('drop database if exists "reports_base" with (force)')
        terminate_other_sessions(conn, source)
        conn.execute(f'create database "reports_base" template "{source}"')
    url = str(pg_server.url("reports_base"))
    report = run_gate("marts", GateRun(run_id="reports-test"), url=url, publish_docs=False)
    assert report.passed, report.summary()
    return url


@pytest.fixture
def copy_db(pg_server: Any, reports_db: str) -> Iterator[str]:
    """A copy of ``reports_db`` this test may change."""
    name = f"reports_{datetime.now(UTC):%H%M%S%f}"
    with connect(pg_server.url("postgres"), autocommit=True) as conn:
        terminate_other_sessions(conn, "reports_base")
        conn.execute(f'create database "{name}" template "reports_base"')
    yield str(pg_server.url(name))
    with connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def fresh_archive(cx_home: Path) -> Iterator[Path]:
    """Each test starts from an empty archive (it lives under the session's CX_HOME)."""
    root = cx_home / "reports" / "archive"
    shutil.rmtree(root, ignore_errors=True)
    yield root
    shutil.rmtree(root, ignore_errors=True)


class Inbox:
    """Messages a real SMTP server on loopback accepted: (envelope recipients, raw bytes)."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.messages.append((list(envelope.rcpt_tos), bytes(envelope.original_content or envelope.content)))
        return "250 OK"

    def recipients(self) -> list[str]:
        return sorted(r for rcpts, _ in self.messages for r in rcpts)


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, Any]]:
    from aiosmtpd.controller import Controller

    from cx_warehouse.reports.delivery import SmtpSettings

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings = SmtpSettings(host="127.0.0.1", port=port, security="none", username=None, password=None,
                            sender="cx-reports@example.com", timeout=5)
    try:
        yield inbox, settings
    finally:
        controller.stop()


# --- the weekly scorecard --------------------------------------------------------------

def test_weekly_scorecard_shows_the_marts_numbers_and_renders_a_pdf(reports_db: str, fresh_archive: Path,
                                                                    tmp_path: Path) -> None:
    period = service.latest_complete_period("weekly_scorecard", url=reports_db)
    rendered = service.render("weekly_scorecard", period, url=reports_db)
    assert rendered.kind == "report", rendered.describe()
    manifest = read_manifest(rendered.directory)
    message = manifest["messages"][0]
    html = (rendered.directory / message["html"]).read_text(encoding="utf-8")
    page = (rendered.directory / "report.html").read_text(encoding="utf-8")

    # KPI tiles: the week's cx_kpis row, or the latest complete month's for monthly measures
    week = query(reports_db, "select * from marts.cx_kpis where period_grain = 'week' and period_start = %s",
                 (period.start,))
    cols = [r[0] for r in query(reports_db, """select column_name from information_schema.columns
        where table_schema = 'marts' and table_name = 'cx_kpis' order by ordinal_position""")]
    week_row = dict(zip(cols, week[0], strict=True))
    month = query(reports_db, """select * from marts.cx_kpis where period_grain = 'month'
                                 and period_end_date <= %s order by period_start desc limit 1""", (period.end,))
    month_row = dict(zip(cols, month[0], strict=True))
    from cx_warehouse.reports.data import KPIS

    tiles = tile_values(html)
    assert set(tiles) == set(get_report("weekly_scorecard").option("kpis", list(tiles)))
    checked = 0
    for key, text in tiles.items():
        kpi = KPIS[key]
        row = month_row if kpi.monthly_only else week_row
        if key == "nps" and row["is_nps_low_sample"]:
            assert text == "", "a low-sample NPS must not be shown"
            continue
        assert text == ("" if row[key] is None else shown(row[key], kpi.decimals)), key
        checked += text != ""
    assert checked >= 6

    # NPS by channel: the month's satisfaction_scores cells; low-sample cells show no score
    month_start = month_row["period_start"]
    cells = query(reports_db, """select dimension_value, nps, is_low_sample from marts.satisfaction_scores
                                 where period_grain = 'month' and period_start = %s and dimension = 'channel'""",
                  (month_start,))
    section = html.split('id="nps_by_channel"')[1].split("</section>")[0]
    for value, nps, low in cells:
        row_html = section.split(f'data-cell="{value}"')[1].split("</tr>")[0]
        if low:
            assert "too few" in row_html
        else:
            assert f">{shown(nps, 1)}<" in row_html, value

    # charts: every cid: in the e-mail is an inline image; the page and the e-mail load nothing
    cids = set(re.findall(r'src="cid:([^"]+)"', html))
    assert cids and cids == {i["cid"] for i in message["images"]}
    for doc in (html, page):
        for tag, attrs in parse(doc).tags:
            for name in ("src", "href"):
                target = attrs.get(name) or ""
                assert not re.match(r"(https?:)?//", target), f"external resource <{tag} {name}={target}>"
    assert "cid:" not in page

    # the PDF: opens, A4, the same number of pages that pdftoppm renders to PNG
    from pypdf import PdfReader

    pdf_file = rendered.directory / message["attachments"][0]["file"]
    reader = PdfReader(str(pdf_file))
    pages = len(reader.pages)
    assert 2 <= pages <= 12
    assert abs(float(reader.pages[0].mediabox.width) - 595.3) < 1
    text = "".join(p.extract_text() or "" for p in reader.pages)
    assert "Weekly CX scorecard" in text and period.label.split(":")[0] in text
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf_file), str(tmp_path / "page")], check=True)
    assert len(list(tmp_path.glob("page-*.png"))) == pages


def test_the_monthly_executive_summary_is_one_page(reports_db: str, fresh_archive: Path) -> None:
    from pypdf import PdfReader

    period = service.latest_complete_period("monthly_executive", url=reports_db)
    rendered = service.render("monthly_executive", period, url=reports_db)
    manifest = read_manifest(rendered.directory)
    pdf = rendered.directory / manifest["messages"][0]["attachments"][0]["file"]
    assert len(PdfReader(str(pdf)).pages) == 1
    html = (rendered.directory / manifest["messages"][0]["html"]).read_text(encoding="utf-8")
    row = query(reports_db, "select nps, is_nps_low_sample, churn_rate_pct from marts.cx_kpis "
                            "where period_grain = 'month' and period_start = %s", (period.start,))[0]
    tiles = tile_values(html)
    assert tiles["churn_rate_pct"] == shown(row[2], 2)
    assert tiles["nps"] == ("" if row[1] else shown(row[0], 1))


# --- safety ----------------------------------------------------------------------------

def test_customer_text_is_shown_as_text_and_never_runs(copy_db: str, fresh_archive: Path) -> None:
    period = service.latest_complete_period("weekly_scorecard", url=copy_db)
    ids = [r[0] for r in query(copy_db, """select response_id from marts.fct_survey_responses
        where response_date between %s and %s and nps_category in ('promoter', 'detractor')
        order by response_id limit 40""", (period.start, period.end))]
    assert len(ids) >= 8
    for i, rid in enumerate(ids):
        execute(copy_db, "update marts.fct_survey_responses set comment = %s, language = %s where response_id = %s",
                (HOSTILE[i % len(HOSTILE)], "en" if i % 2 else "zh", rid))
    weekly = service.render("weekly_scorecard", period, url=copy_db)
    alerts = service.render("close_the_loop", Period("day", period.end), url=copy_db)
    docs = [(weekly.directory / "report.html").read_text(encoding="utf-8")]
    docs += [(weekly.directory / m["html"]).read_text(encoding="utf-8")
             for m in read_manifest(weekly.directory)["messages"]]
    alert_messages = read_manifest(alerts.directory)["messages"]
    docs += [(alerts.directory / m["html"]).read_text(encoding="utf-8") for m in alert_messages]
    shown_hostile = 0
    for doc in docs:
        elements = parse(doc)
        assert not [t for t, _ in elements.tags if t == "script"], "a <script> element made it into the HTML"
        for tag, attrs in elements.tags:
            assert not [a for a in attrs if a.startswith("on")], f"event handler on <{tag}>"
            assert not (attrs.get("href") or "").lower().startswith("javascript:")
            assert not (tag == "img" and attrs.get("src") == "x")
        text = "".join(elements.text)
        shown_hostile += sum(text.count(h) for h in HOSTILE)  # the exact characters, as text
        # evaluated as a template, the planted "{{7*7}} {% raw %} ${7*7}" would read "49  ${7*7}"
        assert "49  ${7*7}" not in text and "49 ${7*7}" not in text
    assert shown_hostile >= 4


def test_the_at_risk_csv_is_the_churn_mart_and_neutralises_formulas(copy_db: str, fresh_archive: Path) -> None:
    day = service.latest_complete_period("daily_at_risk", url=copy_db)
    expected = {r[0]: r[1:] for r in query(copy_db, """select customer_id, risk_score, top_reason, suggested_action
        from marts.churn_customer_risk where risk_level = 'high' and not is_churned""")}
    assert len(expected) >= 2
    target = sorted(expected)[0]
    execute(copy_db, "update marts.customer_360 set first_name = %s, last_name = %s where customer_id = %s",
            ('=HYPERLINK("http://evil.test","x")', "@SUM(A1)", target))
    rendered = service.render("daily_at_risk", day, url=copy_db)
    manifest = read_manifest(rendered.directory)
    attachment = manifest["messages"][0]["attachments"][0]
    raw = (rendered.directory / attachment["file"]).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and attachment["mime_type"] == "text/csv"
    records = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert {r["customer_id"] for r in records} == set(expected)
    for r in records:
        score, reason, action = expected[r["customer_id"]]
        assert float(r["risk_score"]) == pytest.approx(float(score))
        assert (r["top_reason"], r["suggested_action"]) == (reason or "", action)
        assert set(r) >= {"customer_id", "first_name", "suggested_action"} and "email" not in r and "phone" not in r
    planted = next(r for r in records if r["customer_id"] == target)
    assert planted["first_name"] == "'" + '=HYPERLINK("http://evil.test","x")'
    assert planted["last_name"] == "'@SUM(A1)"
    assert all(r["is_new_on_list"] == "True" for r in records)  # the first list: everyone is new

    # the next day's list marks only customers who were not on this one as new
    execute(copy_db, """update marts.churn_customer_risk set risk_level = 'high', risk_score = 0.9
                        where customer_id = (select customer_id from marts.churn_customer_risk
                                             where risk_level = 'low' and not is_churned order by customer_id limit 1)""")
    riser = query(copy_db, """select customer_id from marts.churn_customer_risk where risk_level = 'high'
                               and not is_churned and not (customer_id = any(%s))""", (list(expected),))
    assert [r[0] for r in riser]
    from datetime import timedelta

    nxt = service.render("daily_at_risk", Period("day", day.start + timedelta(days=1)), url=copy_db, force=True)
    nxt_manifest = read_manifest(nxt.directory)
    nxt_csv = (nxt.directory / nxt_manifest["messages"][0]["attachments"][0]["file"]).read_bytes()
    new = {r["customer_id"] for r in csv.DictReader(io.StringIO(nxt_csv.decode("utf-8-sig")))
           if r["is_new_on_list"] == "True"}
    assert new == {r[0] for r in riser}


# --- close-the-loop alerts -------------------------------------------------------------

def test_close_the_loop_alerts_each_case_once(copy_db: str, fresh_archive: Path, smtp: tuple[Inbox, Any]) -> None:
    inbox, settings = smtp
    spec = get_report("close_the_loop")
    day = service.latest_complete_period("close_the_loop", url=copy_db)
    since = day.start.toordinal() - int(spec.option("lookback_days")) + 1
    from datetime import date

    detractors = {r[0] for r in query(copy_db, """select response_id from marts.fct_survey_responses
        where nps_category = 'detractor' and response_date between %s and %s""",
                                     (date.fromordinal(since), day.end))}
    # a critical complaint that got no answer at all, created on the day: it breaches its 1-hour target
    execute(copy_db, """insert into marts.fct_tickets (ticket_id, customer_id, channel, category, severity, is_complaint,
            created_at, created_date, first_response_at, resolved_at, is_resolved, first_response_target_hours,
            resolution_target_hours, is_first_response_breached, is_resolution_breached, reopen_count, is_reopened,
            compensation_amount)
        select 'T-ALERT-1', customer_id, 'phone', 'delivery', 'critical', true,
               (%s::date + time '10:00') at time zone 'Asia/Shanghai', %s, null, null, false, 1, 24, true, false, 0,
               false, 0
        from marts.churn_customer_risk order by customer_id limit 1""", (day.end, day.end))
    rendered = service.render("close_the_loop", day, url=copy_db)
    manifest = read_manifest(rendered.directory)
    keys = {m["outbox_key"] for m in manifest["messages"]}
    assert keys == {f"detractor:{d}" for d in detractors} | {"critical_complaint_breach:T-ALERT-1"}
    routes = {r.alert: list(r.recipients) for r in spec.routes}
    for m in manifest["messages"]:
        assert m["recipients"] == routes[m["outbox_key"].split(":")[0]]

    result = service.deliver(rendered.directory, url=copy_db, settings=settings)
    assert result["sent"] == sum(len(m["recipients"]) for m in manifest["messages"])
    first = len(inbox.messages)
    # the same run again, and the next day's run: nothing already sent is alerted again
    again = service.render("close_the_loop", day, url=copy_db)
    assert read_manifest(again.directory)["messages"] == []
    assert service.deliver(again.directory, url=copy_db, settings=settings)["sent"] == 0
    assert len(inbox.messages) == first


# --- data delayed ----------------------------------------------------------------------

def test_a_period_the_marts_do_not_cover_sends_the_owners_a_delay_notice(reports_db: str, fresh_archive: Path) -> None:
    period = service.latest_complete_period("weekly_scorecard", url=reports_db).previous()
    future = Period("week", period.start.fromordinal(period.start.toordinal() + 7 * 3))
    rendered = service.render("weekly_scorecard", future, url=reports_db)
    assert rendered.kind == "delayed"
    manifest = read_manifest(rendered.directory)
    assert manifest["messages"][0]["recipients"] == list(get_report("weekly_scorecard").owners)
    text = (rendered.directory / manifest["messages"][0]["text"]).read_text(encoding="utf-8")
    assert "hold data up to" in text and future.label in text
    assert not (rendered.directory.parent / "report").exists()


def test_a_failed_build_or_a_stopped_mart_gate_delays_the_report(copy_db: str, fresh_archive: Path) -> None:
    from cx_warehouse.quality.gates import GateRun, run_gate
    from cx_warehouse.transform.steps import TRANSFORM_STEPS, _record_step_run

    period = service.latest_complete_period("weekly_scorecard", url=copy_db)
    marts_step = next(s for s in TRANSFORM_STEPS if s.task_id == "dbt_build_marts")
    _record_step_run(copy_db, marts_step, datetime.now(UTC), 1.0, "failed",
                     "dbt build --select intermediate marts failed ({'error': 1}):\n  - model.cx.cx_kpis: boom")
    rendered = service.render("weekly_scorecard", period, url=copy_db)
    assert rendered.kind == "delayed"
    text = (rendered.directory / "email.txt").read_text(encoding="utf-8")
    assert "dbt_build_marts" in text and "model.cx.cx_kpis: boom" not in text.split("For the data team")[0]

    _record_step_run(copy_db, marts_step, datetime.now(UTC), 1.0, "succeeded", None)
    assert service.render("weekly_scorecard", period, url=copy_db).kind == "report"

    execute(copy_db, "update marts.cx_kpis set nps = 140 where period_grain = 'week' and period_start = %s",
            (period.start,))
    assert not run_gate("marts", GateRun(run_id="stopped"), url=copy_db, publish_docs=False).passed
    rendered = service.render("weekly_scorecard", Period("week", period.start), url=copy_db)
    assert rendered.kind == "delayed"
    text = (rendered.directory / "email.txt").read_text(encoding="utf-8")
    assert "'marts' stopped" in text and "cx_kpis" in text


# --- delivery: archive first, retry, no duplicates ------------------------------------

def test_a_mail_server_outage_keeps_the_archive_and_a_rerun_sends_no_duplicates(
        reports_db: str, fresh_archive: Path, smtp: tuple[Inbox, Any]) -> None:
    from dataclasses import replace

    from cx_warehouse.reports.delivery import DeliveryError

    inbox, settings = smtp
    period = service.latest_complete_period("monthly_executive", url=reports_db)
    rendered = service.render("monthly_executive", period, url=reports_db)
    files = {p: p.read_bytes() for p in rendered.directory.rglob("*") if p.is_file()}
    closed_port = replace(settings, port=1 if settings.port != 1 else 2)
    with pytest.raises(DeliveryError):
        service.deliver(rendered.directory, url=reports_db, settings=closed_port)
    assert {p: p.read_bytes() for p in rendered.directory.rglob("*") if p.is_file()} == files
    assert inbox.messages == []

    result = service.deliver(rendered.directory, url=reports_db, settings=settings)
    recipients = list(get_report("monthly_executive").recipients)
    assert result["sent"] == len(recipients) and inbox.recipients() == sorted(recipients)
    # a re-run: render again (the sent rendering is kept, not replaced) and deliver again
    again = service.render("monthly_executive", period, url=reports_db)
    assert again.reused and again.directory == rendered.directory
    assert service.deliver(again.directory, url=reports_db, settings=settings)["already_sent"] == len(recipients)
    assert inbox.recipients() == sorted(recipients)
    raw = inbox.messages[0][1]
    assert b"Content-Type: application/pdf" in raw and b"multipart/related" in raw
