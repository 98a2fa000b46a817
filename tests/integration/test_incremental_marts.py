"""Running the same days incrementally gives the same marts as building them in one go.

The world of ``marts_db`` is loaded in two deliveries into a second database: the first 90
days, a transform, then the rest (which includes late-arriving records and new versions of
earlier ones), and an incremental transform. Every mart must then equal the one-go build
row for row. A second check runs ``--full-refresh`` on the incremental database.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from cx_warehouse.transform.dbt import dbt_target_dir
from cx_warehouse.transform.steps import TRANSFORM_STEPS, run_transform
from cx_warehouse.warehouse.connection import connect
from tests.integration.conftest import BuiltWarehouse, fresh_database, world_days
from tests.integration.test_ground_truth import load_all

pytestmark = pytest.mark.slow

NO_LOOKBACK = {"incremental_lookback_days": 0}
FACTS = ("fct_orders", "fct_order_lines", "fct_survey_responses", "fct_social_mentions", "fct_points_ledger")


def mart_fingerprints(url: str) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent hash of every mart table (load times left out)."""
    out: dict[str, tuple[int, str]] = {}
    with connect(url) as conn:
        tables = [r[0] for r in conn.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' "
            "and table_type = 'BASE TABLE' order by 1")]
        for t in tables:
            cols = [r[0] for r in conn.execute(
                "select column_name from information_schema.columns where table_schema = 'marts' "
                "and table_name = %s and column_name <> '_loaded_at' order by ordinal_position", (t,))]
            select = ", ".join(f'"{c}"' for c in cols)
            n, digest = conn.execute(
                f"select count(*), md5(coalesce(string_agg(r, '|' order by r), '')) "
                f'from (select ({select})::text as r from marts."{t}") s').fetchone()
            out[t] = (n, digest)
    return out


@pytest.fixture(scope="module")
def incremental_db(pg_server: Any, marts_db: BuiltWarehouse) -> dict[str, Any]:
    url = fresh_database(pg_server, "marts_incremental")
    cutoff = world_days()[0] + timedelta(days=90)
    load_all(url, marts_db.landing, until=cutoff)
    # both loads happen within minutes: a zero look-back makes only the second one new (the
    # configured days-long window would re-read everything and prove nothing)
    run_transform(url, dbt_vars=NO_LOOKBACK)
    with connect(url) as conn:
        first_orders = conn.execute("select count(*) from marts.fct_orders").fetchone()[0]
        first_loaded_max = conn.execute("select max(_loaded_at) from raw.crm_orders").fetchone()[0]
    load_all(url, marts_db.landing)
    second_started = _now(url)
    run_transform(url, dbt_vars=NO_LOOKBACK)
    results = json.loads((dbt_target_dir() / "run_results.json").read_text())["results"]
    with connect(url) as conn:
        late = conn.execute(
            "select count(*) from raw.crm_orders where _loaded_at > %s and ordered_at < %s",
            (first_loaded_max, cutoff)).fetchone()[0]
    return {"url": url, "cutoff": cutoff, "first_orders": first_orders, "late_orders": late,
            "results": {r["unique_id"].split(".")[-1]: r for r in results}, "second_started": second_started}


def _now(url: str) -> Any:
    with connect(url) as conn:
        return conn.execute("select clock_timestamp()").fetchone()[0]


def step_statuses(url: str, since: Any) -> dict[str, str]:
    """Each transform step's outcome in the runs that started after ``since``."""
    with connect(url) as conn:
        return dict(conn.execute(
            "select step, status from audit.transform_step_runs where started_at > %s order by started_at",
            (since,)).fetchall())


def test_second_delivery_brings_late_records(incremental_db: dict[str, Any]) -> None:
    # the look-back matters only if the second delivery holds orders placed before the cutoff
    assert incremental_db["late_orders"] > 0
    assert incremental_db["first_orders"] > 0


def test_facts_were_built_incrementally(incremental_db: dict[str, Any], marts_db: BuiltWarehouse) -> None:
    for fact in FACTS:
        r = incremental_db["results"][fact]
        assert r["status"] == "success", r
        inserted = int(r["adapter_response"].get("rows_affected", -1))
        total = marts_db.query(f"select count(*) from marts.{fact}")[0][0]
        # an incremental run writes only the window, never the whole fact again
        assert 0 <= inserted < total, (fact, inserted, total)


def test_incremental_marts_equal_the_one_go_build(incremental_db: dict[str, Any], marts_db: BuiltWarehouse) -> None:
    full = mart_fingerprints(marts_db.url)
    incremental = mart_fingerprints(incremental_db["url"])
    assert set(full) >= set(FACTS) | {"customer_360", "cx_kpis"}
    different = {t: (full[t], incremental.get(t)) for t in full if full[t] != incremental.get(t)}
    assert not different


def test_a_daily_run_leaves_the_unchanged_staging_views_alone(incremental_db: dict[str, Any]) -> None:
    # staging is views over raw: new rows need no rebuild, and their tests ran when the views
    # were built (the day's rows are judged by the raw gates); every step that reads data ran
    statuses = step_statuses(incremental_db["url"], incremental_db["second_started"])
    assert statuses.pop("dbt_build_staging") == "skipped"
    assert set(statuses.values()) == {"succeeded"}, statuses
    assert len(statuses) == len(TRANSFORM_STEPS) - 1


def test_a_run_with_nothing_new_skips_every_step_and_changes_nothing(incremental_db: dict[str, Any]) -> None:
    url = incremental_db["url"]
    before = mart_fingerprints(url)
    since = _now(url)
    results = run_transform(url, dbt_vars=NO_LOOKBACK)
    assert all(r["skipped"] for r in results.values()), results
    assert set(step_statuses(url, since).values()) == {"skipped"}
    assert mart_fingerprints(url) == before


def test_a_step_runs_again_when_a_relation_it_built_is_gone(incremental_db: dict[str, Any]) -> None:
    url = incremental_db["url"]
    before = mart_fingerprints(url)
    with connect(url) as conn:
        conn.execute("drop table marts.cx_kpis")
    since = _now(url)
    run_transform(url, dbt_vars=NO_LOOKBACK)
    statuses = step_statuses(url, since)
    assert statuses.pop("dbt_build_marts") == "succeeded"
    assert set(statuses.values()) == {"skipped"}
    assert mart_fingerprints(url) == before


def test_other_dbt_vars_are_other_inputs(incremental_db: dict[str, Any]) -> None:
    url = incremental_db["url"]
    since = _now(url)
    run_transform(url, dbt_vars={"incremental_lookback_days": 1}, steps=["dbt_build_staging"])
    assert step_statuses(url, since) == {"dbt_build_staging": "succeeded"}


def test_full_refresh_changes_nothing(incremental_db: dict[str, Any]) -> None:
    before = mart_fingerprints(incremental_db["url"])
    run_transform(incremental_db["url"], full_refresh=True)
    assert mart_fingerprints(incremental_db["url"]) == before


def test_a_redelivery_that_removed_rows_makes_the_next_run_rebuild(warehouse_url: str) -> None:
    """Incremental facts merge what was loaded since their last run; a raw row a re-delivery
    removed never comes through again, so the next run of each dbt step rebuilds in full, once."""
    from cx_warehouse.transform.steps import TRANSFORM_STEPS, rows_removed_since_last_run
    from cx_warehouse.warehouse.migrations import migrate

    migrate(warehouse_url)
    step = next(s for s in TRANSFORM_STEPS if s.kind == "dbt")

    def load(removed: int, at: str) -> None:
        with connect(warehouse_url) as conn:
            conn.execute(
                """insert into audit.load_audit (load_id, source, entity, target_table, file_path, status,
                       rows_read, rows_loaded, rows_quarantined, rows_duplicate, rows_removed, started_at, finished_at)
                   values (gen_random_uuid(), 'survey', 'responses', 'raw.survey_responses',
                           'survey/responses/2026-03-01/responses_' || %s || '.jsonl', 'loaded', 1, 1, 0, 0, %s,
                           %s::timestamptz, %s::timestamptz)""", (at, removed, at, at))

    def succeeded(at: str) -> None:
        with connect(warehouse_url) as conn:
            conn.execute("insert into audit.transform_step_runs values (%s, 'succeeded', %s::timestamptz, 1, null)",
                         (step.task_id, at))

    load(0, "2026-03-01T01:00:00Z")
    succeeded("2026-03-01T02:00:00Z")
    assert not rows_removed_since_last_run(warehouse_url, step)
    load(1, "2026-03-02T01:00:00Z")  # a re-delivery dropped a key
    assert rows_removed_since_last_run(warehouse_url, step)
    succeeded("2026-03-02T02:00:00Z")  # that run rebuilt: the next one is incremental again
    assert not rows_removed_since_last_run(warehouse_url, step)
