"""Quality gates on a real warehouse: a clean world passes; each planted defect stops the right gate.

A clean world (no planted faults) is generated and loaded once into a template database; each
test validates its own copy, so the gates' bookkeeping (covered loads) starts from nothing.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cx_demo.generator import generate
from cx_demo.generator.faults import FaultRates
from cx_warehouse.ingest.service import load_landing
from cx_warehouse.quality.gates import GateReport, GateRun, Outcome, run_gate
from cx_warehouse.warehouse.connection import connect
from tests.integration.conftest import fresh_database

WORLD = {"customers": 6000, "days": 42, "seed": 31, "start": date(2026, 3, 1)}
LAST_DAY: date = WORLD["start"] + timedelta(days=WORLD["days"] - 1)  # type: ignore[operator]


def at(day: date, hour: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def daily_run(day: date = LAST_DAY, *, as_of: datetime | None = None, run_id: str = "manual") -> GateRun:
    """The daily run that judges ``day``'s deliveries (and, with run_id manual, every CLI-loaded day)."""
    return GateRun(run_id=run_id, interval_start=at(day), interval_end=at(day + timedelta(days=1)), as_of=as_of)


def failures(report: GateReport, severity: str) -> dict[tuple[str, str, str | None], Outcome]:
    outs = report.critical if severity == "critical" else report.warnings
    return {(o.suite, o.spec.type, o.spec.column): o for o in outs}


@pytest.fixture(scope="module")
def clean_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("quality_world")
    generate(tmp / "landing", tmp / "truth.json", faults=FaultRates.none(), **WORLD)  # type: ignore[arg-type]
    return tmp / "landing"


@pytest.fixture(scope="module")
def clean_template(pg_server: Any, clean_landing: Path) -> str:
    name = f"quality_clean_{uuid.uuid4().hex[:6]}"
    url = fresh_database(pg_server, name)
    for r in load_landing(url, str(clean_landing)):
        assert not r.failed
    return name


@pytest.fixture
def db(pg_server: Any, clean_template: str) -> Iterator[str]:
    """A copy of the loaded clean world, never validated before."""
    name = f"q_{uuid.uuid4().hex[:8]}"
    with connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute(f'create database "{name}" template "{clean_template}"')
    try:
        yield str(pg_server.url(name))
    finally:
        with connect(pg_server.url("postgres"), autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def gate(name: str, url: str, run: GateRun | None = None, docs: bool = False) -> GateReport:
    return run_gate(name, run or daily_run(), url=url, publish_docs=docs)


def execute(url: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with connect(url) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


def test_a_clean_world_passes_every_raw_gate_and_everything_is_stored(db: str) -> None:
    for name in ("raw_crm", "raw_survey", "raw_social"):
        report = gate(name, db)
        assert report.passed, report.summary()
        assert not report.warnings, report.summary()
        # every suite judged real rows: the whole history on this first run
        assert all((s.batch_rows or 0) > 0 for s in report.suites), report.summary()
    stored = execute(db, "select gate, count(*), count(*) filter (where success), "
                         "count(distinct severity) from audit.quality_results group by gate order by gate")
    assert [(g, n == ok) for g, n, ok, _ in stored] == [("raw_crm", True), ("raw_social", True), ("raw_survey", True)]
    # every load was judged once and is now covered: the next run's row batches are empty
    uncovered = execute(db, """select count(*) from audit.load_audit a where status = 'loaded' and not exists
                               (select 1 from audit.quality_covered_loads c where c.load_id = a.load_id)""")
    assert uncovered == [(0,)]
    again = gate("raw_crm", db)
    assert again.passed and {s.suite.name: s.batch_rows for s in again.suites}["raw.crm_orders"] == 0


def test_the_marts_of_the_shared_world_pass_the_mart_gate(marts_db: Any) -> None:
    report = run_gate("marts", GateRun(run_id="test"), url=marts_db.url, publish_docs=False)
    assert report.passed, report.summary()
    assert len(report.suites) == 26 and all(s.batch_rows for s in report.suites if s.suite.name != "marts.churn_win_back")


def test_nulls_in_a_key_stop_the_crm_gate_and_name_the_rows(db: str) -> None:
    planted = [r[0] for r in execute(db, "select order_id from raw.crm_orders order by order_id limit 3")]
    execute(db, "update raw.crm_orders set customer_id = null where order_id = any(%s)", (planted,))
    report = gate("raw_crm", db)
    assert not report.passed
    bad = failures(report, "critical")
    outcome = bad[("raw.crm_orders", "expect_column_values_to_not_be_null", "customer_id")]
    assert outcome.unexpected_count == 3
    assert sorted(r["order_id"] for r in outcome.failing_rows or []) == planted
    with pytest.raises(RuntimeError) as err:
        report.raise_if_stopped()
    assert "raw.crm_orders: expect_column_values_to_not_be_null(customer_id) observed 3 of" in str(err.value)
    # the evidence is in the warehouse, with the query that lists every failing row
    (query,) = execute(db, """select failing_rows_query from audit.quality_results where suite = 'raw.crm_orders'
                              and column_name = 'customer_id' and not success""")[0]
    assert sorted(r[0] for r in execute(db, query)) == planted
    # the loads that failed are not covered: the next run judges them again
    assert not gate("raw_crm", db).passed


def write_responses(landing: Path, source: Path, day: date, nps: int, n: int = 2) -> list[str]:
    """Deliver ``n`` copies of real responses on ``day`` with a changed id and NPS."""
    lines = source.read_text(encoding="utf-8").splitlines()[:n]
    out = landing / f"survey/responses/{day}/responses_{day:%Y%m%d}.jsonl"
    out.parent.mkdir(parents=True)
    ids = []
    rows = []
    for i, line in enumerate(lines):
        rec = json.loads(line)
        rec["response_id"] = f"R-PLANTED-{day:%Y%m%d}-{i}"
        rec["submitted_at"] = f"{day}T10:00:00+00:00"
        rec["answers"]["nps"] = nps
        ids.append(rec["response_id"])
        rows.append(json.dumps(rec, ensure_ascii=False))
    out.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return ids


def test_an_out_of_range_score_in_a_new_delivery_stops_the_survey_gate_until_fixed(
        db: str, clean_landing: Path, tmp_path: Path) -> None:
    assert gate("raw_survey", db).passed          # the history, judged and covered
    day = LAST_DAY + timedelta(days=1)
    source = next(clean_landing.glob(f"survey/responses/{LAST_DAY}/*.jsonl"))
    planted = write_responses(tmp_path / "landing", source, day, nps=11)
    load_landing(db, str(tmp_path / "landing"))

    report = gate("raw_survey", db, daily_run(day))
    outcome = failures(report, "critical")[("raw.survey_responses", "expect_column_values_to_be_between", "nps")]
    assert (outcome.element_count, outcome.unexpected_count) == (2, 2)   # only the new load was judged
    assert sorted(r["response_id"] for r in outcome.failing_rows or []) == planted
    assert {r["nps"] for r in outcome.failing_rows or []} == {11}
    assert not gate("raw_survey", db, daily_run(day)).passed          # still failing: not covered

    execute(db, "update raw.survey_responses set nps = 10 where response_id = any(%s)", (planted,))
    fixed = gate("raw_survey", db, daily_run(day))
    assert fixed.passed, fixed.summary()


def test_a_missing_delivery_is_a_volume_collapse(db: str) -> None:
    day = LAST_DAY + timedelta(days=1)          # nothing was delivered for this day
    report = gate("raw_crm", db, daily_run(day, as_of=at(day, 6)))
    outcome = failures(report, "critical")[("raw.deliveries", "expect_column_values_to_be_between",
                                            "volume_ratio_if_significant")]
    collapsed = {r["entity"] for r in outcome.failing_rows or []}
    assert {"orders", "order_lines"} <= collapsed
    assert all(r["delivery_date"] == day.isoformat() and r["volume_ratio_if_significant"] == 0
               for r in outcome.failing_rows or [])
    # batchy entities (campaign sends, membership updates) are not judged on daily volume
    assert not collapsed & {"campaign_contacts", "memberships", "tier_changes"}
    assert report.summary().count("CRITICAL raw.deliveries") == 1


def test_a_stale_source_warns_after_its_warn_limit_and_stops_after_its_error_limit(db: str) -> None:
    # newest mention: LAST_DAY; warn after 48 h, error after 96 h (expectations/raw/_freshness.yml)
    late = gate("raw_social", db, daily_run(LAST_DAY, as_of=at(LAST_DAY + timedelta(days=3))))
    assert late.passed
    assert set(failures(late, "warning")) == {("raw.freshness", "expect_column_values_to_be_between", "hours_past_warn")}

    stale = gate("raw_social", db, daily_run(LAST_DAY, as_of=at(LAST_DAY + timedelta(days=7))))
    outcome = failures(stale, "critical")[("raw.freshness", "expect_column_values_to_be_between", "hours_past_error")]
    assert [r["relation"] for r in outcome.failing_rows or []] == ["raw.social_mentions"]
    assert not stale.passed


@pytest.mark.parametrize(("share", "stops"), [(0.20, True), (0.04, False)])
def test_a_broken_relationship_stops_or_warns_by_its_match_rate(db: str, share: float, stops: bool) -> None:
    execute(db, "update raw.crm_orders set customer_id = 'GONE-' || order_id where random() < %s", (share,))
    report = gate("raw_crm", db)
    key = ("raw.crm_orders", "expect_column_values_to_be_in_set", "has_customer")
    assert report.passed is not stops
    assert (key in failures(report, "critical")) is stops
    assert key in failures(report, "warning")          # the 98% warning fires in both cases (critical: 90%)
    rows = failures(report, "warning")[key].failing_rows or []
    assert rows and all(r["has_customer"] is False for r in rows)


def test_an_out_of_range_mart_value_stops_the_mart_gate(marts_db: Any) -> None:
    (key, nps) = marts_db.query("select kpi_period_id, nps from marts.cx_kpis where period_grain = 'month' "
                                "and nps is not null order by period_start limit 1")[0]
    execute(marts_db.url, "update marts.cx_kpis set nps = 140 where kpi_period_id = %s", (key,))
    try:
        report = run_gate("marts", GateRun(run_id="test"), url=marts_db.url, publish_docs=False)
    finally:
        execute(marts_db.url, "update marts.cx_kpis set nps = %s where kpi_period_id = %s", (nps, key))
    critical = failures(report, "critical")
    outcome = critical[("marts.cx_kpis", "expect_column_values_to_be_between", "nps")]
    assert [r["kpi_period_id"] for r in outcome.failing_rows or []] == [key]
    assert {o.suite for o in report.critical} == {"marts.cx_kpis"}


def test_stored_results_and_data_docs_carry_no_personal_data_or_live_markup(db: str, cx_home: Path) -> None:
    planted = execute(db, """update raw.crm_customers set email = 'jane.planted.at.example.com'
                             where customer_id in (select customer_id from raw.crm_customers
                                                   order by customer_id limit 300)
                             returning customer_id""")
    execute(db, """update raw.crm_customers set signup_channel = '<script>alert(1)</script>'
                   where customer_id = (select max(customer_id) from raw.crm_customers)""")
    docs = cx_home / "quality" / "data_docs"
    shutil.rmtree(docs, ignore_errors=True)
    report = gate("raw_crm", db, docs=True)
    assert report.passed                                  # both are warnings
    email = failures(report, "warning")[("raw.crm_customers", "expect_column_values_to_match_regex", "email")]
    assert email.unexpected_count == len(planted)
    # the stored sample names the rows (50 of them; the stored query lists all)
    assert len(email.failing_rows or []) == 50
    assert {r["customer_id"] for r in email.failing_rows or []} <= {p[0] for p in planted}
    assert {r["email"] for r in email.failing_rows or []} == {"<personal data, shape a.a.a.a.a>"}
    stored = execute(db, "select string_agg(t::text, ' ') from audit.quality_results t")[0][0]
    assert "jane.planted" not in stored
    assert report.docs_index is not None and report.docs_index.exists()
    pages = [p.read_text(encoding="utf-8", errors="replace") for p in docs.rglob("*.html")]
    assert len(pages) > 1
    text = "\n".join(pages)
    assert "raw.crm_customers" in text
    assert "jane.planted" not in text
    assert "<script>alert(1)" not in text and "&lt;script&gt;alert(1)" in text
