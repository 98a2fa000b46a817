"""The ingestion DAGs run through Airflow itself against the real warehouse."""

from __future__ import annotations

import gzip
import json
import os
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from cx_demo.airflow_runner import run_dags
from cx_demo.generator import generate
from cx_warehouse.airflow.local import ensure_metadata_db
from cx_warehouse.config.settings import get_settings
from cx_warehouse.ingest.sources import load_sources
from cx_warehouse.warehouse.connection import connect
from tests.integration.test_ground_truth import check_against_truth

pytestmark = pytest.mark.slow
START, DAYS = date(2025, 11, 1), 20


def fingerprint(url: str) -> dict[str, str]:
    tables = [f'raw."{e.table}"' for s in load_sources().values() for e in s.entities]
    tables += ["audit.load_audit", "audit.quarantine"]
    with connect(url) as conn:
        return {
            t: conn.execute(f"select md5(coalesce(string_agg(x::text, '|' order by x::text), '')) from {t} x")
            .fetchone()[0]
            for t in tables
        }


class Inbox:
    def __init__(self) -> None:
        self.mails: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.mails.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 OK"


def check_report_dags(url: str, last_day: date, log: Path) -> None:
    """The daily report DAGs through Airflow, sending to a real SMTP server: the at-risk list and
    the close-the-loop alerts arrive, are archived, and a re-run sends nothing twice."""
    from aiosmtpd.controller import Controller

    from cx_warehouse.reports.definitions import get_report
    from tests.integration.test_reports import free_port

    inbox = Inbox()
    port = free_port()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    os.environ["AIRFLOW_CONN_CX_SMTP"] = f"smtp://127.0.0.1:{port}?security=none&sender=cx-reports%40example.com"
    # the 07:00 (Asia/Shanghai) run the morning after the last day reports on that day
    logical = f"{last_day + timedelta(days=1)}T00:00:00+00:00"
    dag_ids = ["report_close_the_loop", "report_daily_at_risk"]
    try:
        runs = run_dags(dag_ids, logical, settings=get_settings(), log_file=log)
        assert [(r.dag_id, r.state) for r in runs] == [(d, "success") for d in dag_ids], log.read_text()[-3000:]
        with connect(url) as conn:
            sent = dict(conn.execute("select report_id, count(*) from reports.outbox where status = 'sent' "
                                     "group by 1").fetchall())
            detractors = conn.execute(
                "select count(*) from marts.fct_survey_responses where nps_category = 'detractor' "
                "and response_date between %s and %s", (last_day - timedelta(days=6), last_day)).fetchone()[0]
        assert sent["daily_at_risk"] == len(get_report("daily_at_risk").recipients)
        assert sent.get("close_the_loop", 0) >= detractors * len(get_report("close_the_loop").routes[0].recipients)
        assert len(inbox.mails) == sum(sent.values())
        at_risk = [m for rcpts, m in inbox.mails if rcpts == ["account-managers@example.com"]]
        assert len(at_risk) == 1 and b"daily_at_risk_" in at_risk[0] and b"text/csv" in at_risk[0]
        archive = get_settings().home / "reports" / "archive" / "daily_at_risk" / str(last_day) / "report"
        assert (archive / "manifest.json").exists()

        again = run_dags(dag_ids, logical, settings=get_settings(), log_file=log)
        assert [r.state for r in again] == ["success"] * len(dag_ids)
        assert len(inbox.mails) == sum(sent.values()), "a re-run sent a report or an alert twice"
    finally:
        server.stop()
        os.environ.pop("AIRFLOW_CONN_CX_SMTP", None)


def test_ingestion_dags_land_everything_once(warehouse_url: str, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    os.environ["CX_LANDING"] = str(landing)
    truth_path = tmp_path / "truth.json"
    generate(landing, truth_path, customers=200, days=DAYS, start=START, seed=21)
    settings = get_settings()
    log = tmp_path / "airflow.log"
    ensure_metadata_db(settings, log)
    dag_ids = sorted(f"ingest_{n}" for n in load_sources())
    logical = (START + timedelta(days=DAYS + 2)).isoformat() + "T00:00:00+00:00"

    first = run_dags(dag_ids, logical, settings=settings, log_file=log)
    assert [(r.dag_id, r.state) for r in first] == [(d, "success") for d in dag_ids], log.read_text()[-3000:]
    check_against_truth(warehouse_url, json.loads(truth_path.read_text()))
    with connect(warehouse_url) as conn:
        intervals = conn.execute(
            "select distinct run_id like 'manual__%%', data_interval_end::date from audit.load_audit").fetchall()
    assert intervals == [(True, START + timedelta(days=DAYS + 1))]

    # the transform DAG builds the dbt project and the Python models on what landed
    (transform,) = run_dags(["transform_warehouse"], logical, settings=settings, log_file=log)
    assert transform.state == "success", log.read_text()[-3000:]
    with connect(warehouse_url) as conn:
        assert conn.execute("select count(*) from staging.stg_crm__orders").fetchone() == \
            conn.execute("select count(*) from raw.crm_orders").fetchone()
        persons = conn.execute("select count(distinct person_key) from intermediate.int_persons_resolved").fetchone()
        assert conn.execute("select count(*) from marts.customer_360").fetchone() == persons
        assert conn.execute("select count(*) from marts.cx_kpis").fetchone()[0] > 0
        scored = conn.execute("select count(*) from analytics.mention_sentiment").fetchone()[0]
        assert scored == conn.execute("select count(*) from raw.social_mentions").fetchone()[0]

    check_report_dags(warehouse_url, START + timedelta(days=DAYS - 1), log)

    # re-running the same interval changes nothing at all
    before = fingerprint(warehouse_url)
    again = run_dags(dag_ids, logical, settings=settings, log_file=log)
    assert [r.state for r in again] == ["success"] * len(dag_ids)
    assert fingerprint(warehouse_url) == before

    # a corrupt delivery fails the task with the file and the cause, and loads nothing
    bad_day = START + timedelta(days=DAYS + 2)
    bad = landing / f"crm/orders/{bad_day}/orders_{bad_day:%Y%m%d}.csv.gz"
    bad.parent.mkdir(parents=True)
    good = next(landing.glob("crm/orders/*/orders_*.csv")).read_bytes()
    bad.write_bytes(gzip.compress(good)[:-50])  # truncated in transit
    log.write_text("")
    (failed,) = run_dags(["ingest_crm"], (bad_day + timedelta(days=2)).isoformat(), settings=settings, log_file=log)
    assert failed.state == "failed"
    text = log.read_text()
    assert f"crm/orders/{bad_day}/orders_{bad_day:%Y%m%d}.csv.gz: cannot read the file" in text
    after = fingerprint(warehouse_url)
    changed = {t for t in after if after[t] != before[t]}
    assert changed == {"audit.load_audit"}
    with connect(warehouse_url) as conn:
        assert conn.execute(
            "select status, file_path from audit.load_audit where started_at = "
            "(select max(started_at) from audit.load_audit)").fetchone() == ("failed", str(bad.relative_to(landing)))
