"""dbt's staging layer builds on loaded generator data, and its normalisation does its job."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cx_demo.generator import generate
from cx_warehouse.ingest.sources import load_sources
from cx_warehouse.transform.dbt import DBT_DIR, dbt_env
from cx_warehouse.warehouse.connection import connect
from tests.integration.test_ground_truth import load_all

STAGING = {  # raw table -> staging model
    "crm_customers": "stg_crm__customers", "crm_orders": "stg_crm__orders",
    "crm_order_lines": "stg_crm__order_lines", "crm_tickets": "stg_crm__tickets",
    "crm_memberships": "stg_crm__memberships", "crm_tier_changes": "stg_crm__tier_changes",
    "crm_points_ledger": "stg_crm__points_ledger_entries", "crm_campaign_contacts": "stg_crm__campaign_contacts",
    "survey_responses": "stg_survey__responses", "social_mentions": "stg_social__mentions",
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, pg_server):  # type: ignore[no-untyped-def]
    from cx_warehouse.warehouse.connection import connect as _connect

    tmp = tmp_path_factory.mktemp("dbt")
    url = pg_server.url("postgres").rsplit("/", 1)[0] + "/dbt_staging"
    with _connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute("drop database if exists dbt_staging with (force)")
        conn.execute("create database dbt_staging template template0 encoding UTF8")
    generate(tmp / "landing", tmp / "truth.json", customers=300, days=30, seed=17)
    load_all(url, tmp / "landing")
    dbt = str(Path(sys.executable).with_name("dbt"))
    out = subprocess.run(
        [dbt, "--no-use-colors", "build", "--select", "staging", "--exclude", "tag:model_output",
         "--indirect-selection", "buildable",
         "--project-dir", str(DBT_DIR),
         "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs")],
        env=dbt_env(url), capture_output=True, text=True, timeout=600)
    run_results = json.loads((tmp / "target" / "run_results.json").read_text()) if out.returncode == 0 else {}
    return url, json.loads((tmp / "truth.json").read_text()), out, run_results


def test_every_staging_model_and_test_passes(built) -> None:  # type: ignore[no-untyped-def]
    _, _, out, run_results = built
    assert out.returncode == 0, out.stdout[-4000:]
    results = run_results["results"]
    models = {r["unique_id"].split(".")[-1] for r in results
              if r["unique_id"].startswith("model.") and r["status"] == "success"}
    tests = [r for r in results if r["unique_id"].startswith("test.")]
    assert models == set(STAGING.values())
    assert len(tests) >= 2 * len(STAGING)  # at least unique + not_null on every key
    assert {r["status"] for r in tests} == {"pass"}


def test_staging_has_one_model_per_raw_table_with_every_row(built) -> None:  # type: ignore[no-untyped-def]
    url, _, _, _ = built
    raw_tables = {e.table for s in load_sources().values() for e in s.entities}
    assert set(STAGING) == raw_tables
    with connect(url) as conn:
        for raw, stg in STAGING.items():
            n_raw = conn.execute(f'select count(*) from raw."{raw}"').fetchone()
            n_stg = conn.execute(f'select count(*) from staging."{stg}"').fetchone()
            assert n_raw == n_stg and n_raw[0] > 0, (raw, n_raw, n_stg)


def test_email_case_and_spacing_faults_match_crm_after_normalising(built) -> None:  # type: ignore[no-untyped-def]
    url, truth, _, _ = built
    planted = [x["key"]["response_id"] for f in truth["files"] for x in f["faults"]
               if x["kind"] == "email_case" and x.get("key")]
    assert planted
    with connect(url) as conn:
        rows = conn.execute(
            """select r.response_id, raw.respondent_email, r.respondent_email,
                      exists (select 1 from staging.stg_crm__customers c where c.email = r.respondent_email)
               from staging.stg_survey__responses r
               join raw.survey_responses raw using (response_id)
               where r.response_id = any(%s)""", (planted,)).fetchall()
    assert rows
    for response_id, raw_email, email, matches_crm in rows:
        assert raw_email != email, response_id           # the fault changed case or spacing
        assert email == email.strip().lower(), response_id
        assert matches_crm, (response_id, raw_email)     # and normalising undoes it


def test_business_dates_use_the_configured_time_zone(built) -> None:  # type: ignore[no-untyped-def]
    from cx_warehouse.config.business import load_business

    url, _, _, _ = built
    tz = load_business().timezone
    with connect(url) as conn:
        wrong, shifted = conn.execute(
            "select count(*) filter (where order_date <> (ordered_at at time zone %s)::date), "
            "count(*) filter (where order_date <> (ordered_at at time zone 'UTC')::date) "
            "from staging.stg_crm__orders", (tz,)).fetchone()
    assert wrong == 0
    assert shifted > 0  # some orders fall on another day in UTC: the zone really applies


def test_phones_and_handles_are_normalised(built) -> None:  # type: ignore[no-untyped-def]
    url, _, _, _ = built
    with connect(url) as conn:
        bad_phones = conn.execute(
            "select count(*) from staging.stg_crm__customers where phone !~ '^[0-9]+$'").fetchone()
        bad_handles = conn.execute(
            "select count(*) from staging.stg_social__mentions "
            "where author_handle like '@%%' or author_handle <> lower(author_handle)").fetchone()
        mentions_matching_crm = conn.execute(
            "select count(*) from staging.stg_social__mentions m "
            "join staging.stg_crm__customers c on c.social_handle = m.author_handle").fetchone()
    assert bad_phones == (0,) and bad_handles == (0,)
    assert mentions_matching_crm[0] > 0
