"""Quality gates inside the DAGs, run through Airflow: a critical failure stops the pipeline there.

The raw gate is the task that emits the raw tables' Assets, which the transform DAG schedules
on; when it fails the Assets are not emitted, so the transform (and the reports after it) do
not run on the data. A warning is recorded and the Assets are emitted.
"""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest

from cx_demo.airflow_runner import run_dags
from cx_demo.generator import generate
from cx_warehouse.airflow.local import ensure_metadata_db
from cx_warehouse.config.settings import get_settings
from cx_warehouse.warehouse.connection import connect

pytestmark = pytest.mark.slow
START, DAYS = date(2026, 1, 5), 21


def asset_events(airflow_db: Path, name: str) -> int:
    with sqlite3.connect(airflow_db) as db:
        return int(db.execute("select count(*) from asset_event e join asset a on a.id = e.asset_id "
                              "where a.name = ?", (name,)).fetchone()[0])


def task_states(airflow_db: Path, dag_id: str) -> dict[str, str]:
    """The states of the tasks of the DAG's latest run."""
    with sqlite3.connect(airflow_db) as db:
        rows = db.execute(
            "select task_id, state from task_instance where dag_id = ? and run_id = "
            "(select run_id from dag_run where dag_id = ? order by id desc limit 1)", (dag_id, dag_id)).fetchall()
    return dict(rows)


def deliver(landing: Path, day: date, *, channel: str | None = None, nps: int | None = None) -> None:
    """The day's survey export: 20 earlier responses again with new ids, some values changed."""
    lines = [line for f in sorted(landing.glob("survey/responses/*/responses_*.jsonl"))
             for line in f.read_text(encoding="utf-8", errors="replace").splitlines()]
    out = landing / f"survey/responses/{day}/responses_{day:%Y%m%d}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue                  # the generator plants malformed lines; not this test's subject
        i = len(rows)
        if i == 20:
            break
        rec["response_id"] = f"R-{day:%Y%m%d}-{i}"
        rec["submitted_at"] = f"{day}T09:00:00+00:00"
        if channel:
            rec["channel"] = channel
        if nps is not None:
            rec["answers"]["nps"] = nps
        rows.append(json.dumps(rec, ensure_ascii=False))
    out.write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_a_critical_failure_stops_the_dag_at_its_gate_and_a_warning_does_not(
        warehouse_url: str, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    os.environ["CX_LANDING"] = str(landing)
    generate(landing, tmp_path / "truth.json", customers=300, days=DAYS, start=START, seed=5)
    settings = get_settings()
    log = tmp_path / "airflow.log"
    ensure_metadata_db(settings, log)
    airflow_db = settings.airflow_home / "airflow.db"
    last = START + timedelta(days=DAYS - 1)

    def run_day(day: date) -> str:
        """The daily run that loads ``day``'s files (its interval ends at 02:30 the day after)."""
        (result,) = run_dags(["ingest_survey"], f"{day + timedelta(days=1)}T03:00:00+00:00",
                             settings=settings, log_file=log)
        return result.state

    # the history: loaded, judged, Asset emitted
    before = asset_events(airflow_db, "raw.survey_responses")
    assert run_day(last) == "success", log.read_text()[-3000:]
    assert asset_events(airflow_db, "raw.survey_responses") == before + 1

    # a day whose export has an unknown channel everywhere: a warning, recorded, not blocking
    day = last + timedelta(days=1)
    deliver(landing, day, channel="carrier_pigeon")
    assert run_day(day) == "success", log.read_text()[-3000:]
    assert asset_events(airflow_db, "raw.survey_responses") == before + 2
    with connect(warehouse_url) as conn:
        warned = conn.execute("""select severity, observed_value from audit.quality_results
                                 where suite = 'raw.survey_responses' and column_name = 'channel'
                                 and not success""").fetchall()
    assert [w[0] for w in warned] == ["warning"]

    # a day with an NPS of 11: the gate fails the DAG, the Asset is not emitted
    day += timedelta(days=1)
    deliver(landing, day, nps=11)
    log.write_text("")
    assert run_day(day) == "failed"
    states = task_states(airflow_db, "ingest_survey")
    assert states["load_responses"] == "success" and states["report_loads"] == "success"
    assert states["quality_gate_raw_survey"] == "failed"
    assert asset_events(airflow_db, "raw.survey_responses") == before + 2
    text = log.read_text()
    assert "quality gate raw_survey: STOPPED" in text
    assert "CRITICAL raw.survey_responses: expect_column_values_to_be_between(nps) observed " in text
    assert "cxw quality failures" in text
