"""Migrations of the operational schemas, on a real PostgreSQL.

What a user relies on: an empty database gets every table the pipeline writes; a database the
previous release built (``tests/fixtures/previous_release_*.sql``, a ``pg_dump`` of what that
release created at run time) is adopted without losing a row and ends up with the same schema
as a fresh one; running again, or twice at once, applies nothing twice; an applied file that
was edited, or a version that fails, leaves the database as it was and names the file.
Expected tables are read back from the catalog (``information_schema``, ``pg_indexes``), never
compared with the SQL text of the migrations.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from cx_warehouse.warehouse import migrations
from cx_warehouse.warehouse.connection import connect
from cx_warehouse.warehouse.embedded import EmbeddedPostgres
from cx_warehouse.warehouse.migrations import runner
from cx_warehouse.warehouse.migrations.runner import LOCK_KEY, Migration, MigrationError

FIXTURES = Path(__file__).parents[1] / "fixtures"
OWNED_SCHEMAS = ("raw", "audit", "reports", "analytics")

# column name, information_schema data_type, "!" when not null
ALL_VERSIONS = [(m.version, m.name) for m in migrations.migrations()]
"""This release's versions: every test below expects a database to end at all of them."""
EXPECTED_COLUMNS = {
    "audit.load_audit": (
        "load_id uuid!, source text!, entity text!, target_table text!, file_path text!, file_size bigint, "
        "file_sha256 text, delivery_date date, status text!, rows_read bigint, rows_loaded bigint, "
        "rows_inserted bigint, rows_updated bigint, rows_quarantined bigint, rows_duplicate bigint, "
        "extra_columns ARRAY, parse_mode text, duplicate_of text, run_id text, "
        "data_interval_start timestamp with time zone, data_interval_end timestamp with time zone, "
        "started_at timestamp with time zone!, finished_at timestamp with time zone!, duration_ms integer, "
        "timings_ms jsonb, error text, delivery_kind text!, rows_removed bigint!, superseded_by uuid, "
        "file_mtime_ns bigint, file_version text"),
    "audit.quarantine": (
        "quarantine_id bigint!, load_id uuid!, source text!, entity text!, file_path text!, line_number bigint, "
        "reasons ARRAY!, raw_payload text, quarantined_at timestamp with time zone!"),
    "audit.quality_validations": (
        "validation_id uuid!, gate text!, gate_run_id uuid!, suite text!, suite_file text, run_id text!, "
        "batch_scope text!, batch_sql text!, batch_rows bigint, covered_load_ids ARRAY!, parameters jsonb!, "
        "expectations integer!, failed_critical integer!, failed_warning integer!, gx_success boolean!, "
        "passed boolean!, started_at timestamp with time zone!, duration_ms integer!"),
    "audit.quality_results": (
        "validation_id uuid!, expectation_index integer!, gate text!, suite text!, run_id text!, "
        "expectation_type text!, column_name text, kwargs jsonb!, severity text!, success boolean!, "
        "observed_value text, element_count bigint, unexpected_count bigint, unexpected_percent numeric, "
        "failing_rows jsonb, failing_rows_query text, exception text, notes text, "
        "validated_at timestamp with time zone!"),
    "audit.quality_covered_loads": "suite text!, load_id uuid!, validation_id uuid!",
    "audit.transform_step_runs": (
        "step text!, status text!, started_at timestamp with time zone!, seconds numeric!, error text, "
        "inputs_fingerprint text, code_fingerprint text, relations ARRAY"),
    "audit.schema_migrations": "version integer!, name text!, checksum text!, applied_at timestamp with time zone!",
    "audit.shared_keys": "source text!, entity text!, key_values ARRAY!, file_path text!, load_id uuid!",
    "reports.at_risk_lists": "list_date date!, customer_id text!, risk_score numeric!",
    "reports.outbox": (
        "report_id text!, period_key text!, kind text!, recipient text!, status text!, message_id text!, "
        "subject text!, archive_path text!, attempts integer!, last_error text, "
        "created_at timestamp with time zone!, updated_at timestamp with time zone!, sent_at timestamp with time zone"),
}
EXPECTED_CONSTRAINTS = {
    ("audit.load_audit", "load_audit_pkey", "PRIMARY KEY"), ("audit.load_audit", "load_audit_status_check", "CHECK"),
    ("audit.load_audit", "load_audit_rows_balance", "CHECK"),
    ("audit.load_audit", "load_audit_delivery_kind", "CHECK"), ("audit.quarantine", "quarantine_pkey", "PRIMARY KEY"),
    ("audit.quality_validations", "quality_validations_pkey", "PRIMARY KEY"),
    ("audit.quality_results", "quality_results_pkey", "PRIMARY KEY"),
    ("audit.quality_results", "quality_results_severity_check", "CHECK"),
    ("audit.quality_results", "quality_results_validation_id_fkey", "FOREIGN KEY"),
    ("audit.quality_covered_loads", "quality_covered_loads_pkey", "PRIMARY KEY"),
    ("audit.quality_covered_loads", "quality_covered_loads_validation_id_fkey", "FOREIGN KEY"),
    ("audit.transform_step_runs", "transform_step_runs_pkey", "PRIMARY KEY"),
    ("audit.transform_step_runs", "transform_step_runs_status_check", "CHECK"),
    ("audit.schema_migrations", "schema_migrations_pkey", "PRIMARY KEY"),
    ("audit.shared_keys", "shared_keys_pkey", "PRIMARY KEY"),
    ("reports.at_risk_lists", "at_risk_lists_pkey", "PRIMARY KEY"),
    ("reports.outbox", "outbox_pkey", "PRIMARY KEY"), ("reports.outbox", "outbox_kind_check", "CHECK"),
    ("reports.outbox", "outbox_status_check", "CHECK"),
}
EXPECTED_INDEXES = {
    "audit.load_audit": {"load_audit_pkey", "load_audit_current_file", "load_audit_sha"},
    "audit.quarantine": {"quarantine_pkey", "quarantine_load", "quarantine_entity"},
    "audit.quality_validations": {"quality_validations_pkey", "quality_validations_suite"},
    "audit.quality_results": {"quality_results_pkey", "quality_results_failed"},
    "audit.quality_covered_loads": {"quality_covered_loads_pkey"},
    "audit.transform_step_runs": {"transform_step_runs_pkey"},
    "audit.schema_migrations": {"schema_migrations_pkey"},
    "audit.shared_keys": {"shared_keys_pkey", "shared_keys_key"},
    "reports.at_risk_lists": {"at_risk_lists_pkey"},
    "reports.outbox": {"outbox_pkey"},
}
MODEL_OUTPUTS = ("analytics.mention_sentiment", "analytics.customer_clv", "analytics.clv_model_fit",
                 "analytics.key_drivers")
"""In the previous release's database; owned by the Python models, so the migration leaves them be."""


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def another_database(pg_server: EmbeddedPostgres) -> Iterator[str]:
    """A second empty database, for comparing two warehouses side by side."""
    name = f"t_{os.getpid()}_{_free_port()}_b"
    with connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute(f'create database "{name}" template template0 encoding UTF8')
    try:
        yield pg_server.url(name)
    finally:
        with connect(pg_server.url("postgres"), autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def fetch(url: str, query: str, params: Any = None) -> list[tuple[Any, ...]]:
    with connect(url) as conn:
        return conn.execute(query, params).fetchall()


def columns(url: str) -> dict[str, str]:
    rows = fetch(url, """
        select table_schema || '.' || table_name, column_name, data_type, is_nullable
        from information_schema.columns
        where table_schema = any(%s) and table_schema || '.' || table_name <> all(%s)
        order by table_schema, table_name, ordinal_position""", (list(OWNED_SCHEMAS), list(MODEL_OUTPUTS)))
    out: dict[str, list[str]] = {}
    for table, column, data_type, nullable in rows:
        out.setdefault(table, []).append(f"{column} {data_type}{'!' if nullable == 'NO' else ''}")
    return {t: ", ".join(cols) for t, cols in out.items()}


def constraints(url: str) -> set[tuple[str, str, str]]:
    rows = fetch(url, """
        select table_schema || '.' || table_name, constraint_name, constraint_type
        from information_schema.table_constraints
        where table_schema = any(%s) and constraint_name not like '%%_not_null'""", (list(OWNED_SCHEMAS),))
    return {tuple(r) for r in rows}  # type: ignore[misc]


def indexes(url: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for table, name in fetch(url, "select schemaname || '.' || tablename, indexname from pg_indexes "
                                  "where schemaname = any(%s)", (list(OWNED_SCHEMAS),)):
        out.setdefault(table, set()).add(name)
    return out


def schema_snapshot(url: str) -> dict[str, Any]:
    """Everything about the owned schemas that a migration could change, from the catalog:
    columns with types, defaults and nullability, constraint and index definitions, sequences
    and comments. The model outputs are left out (their shape is the models')."""
    return {
        "schemas": fetch(url, "select nspname, obj_description(oid, 'pg_namespace') from pg_namespace "
                              "where nspname = any(%s) order by 1", (list(OWNED_SCHEMAS),)),
        "columns": fetch(url, """
            select attrelid::regclass::text, attnum, attname, format_type(atttypid, atttypmod), attnotnull,
                   pg_get_expr(d.adbin, d.adrelid)
            from pg_attribute a join pg_class c on c.oid = a.attrelid
            left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
            where c.relnamespace::regnamespace::text = any(%s) and c.relkind = 'r' and attnum > 0
              and not attisdropped and attrelid::regclass::text <> all(%s)
            order by 1, 2""", (list(OWNED_SCHEMAS), list(MODEL_OUTPUTS))),
        "constraints": fetch(url, """
            select conrelid::regclass::text, conname, pg_get_constraintdef(oid) from pg_constraint
            where connamespace::regnamespace::text = any(%s) order by 1, 2""", (list(OWNED_SCHEMAS),)),
        "indexes": fetch(url, "select schemaname, tablename, indexname, indexdef from pg_indexes "
                              "where schemaname = any(%s) order by 1, 2, 3", (list(OWNED_SCHEMAS),)),
        "sequences": fetch(url, """
            select s.oid::regclass::text, format_type(seqtypid, null), seqstart, seqincrement,
                   d.refobjid::regclass::text
            from pg_sequence q join pg_class s on s.oid = q.seqrelid
            left join pg_depend d on d.objid = s.oid and d.deptype = 'a'
            where s.relnamespace::regnamespace::text = any(%s) order by 1""", (list(OWNED_SCHEMAS),)),
        "comments": fetch(url, """
            select c.oid::regclass::text, obj_description(c.oid, 'pg_class') from pg_class c
            where c.relnamespace::regnamespace::text = any(%s) and c.relkind = 'r'
              and c.oid::regclass::text <> all(%s) order by 1""", (list(OWNED_SCHEMAS), list(MODEL_OUTPUTS))),
    }


def every_row(url: str, like: dict[str, list[str]] | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Each table of the owned schemas, its rows as text, sorted (so order never matters).

    With ``like`` (table -> columns), a table's rows are read as those columns only: the rows of an
    older schema, compared after later versions added columns.
    """
    tables = [r[0] for r in fetch(url, "select schemaname || '.' || tablename from pg_tables "
                                       "where schemaname = any(%s) order by 1", (list(OWNED_SCHEMAS),))]
    out = {}
    for t in tables:
        cols = (like or {}).get(t)
        select = f"row({', '.join(cols)})::text" if cols else "t::text"
        out[t] = sorted(fetch(url, f"select {select} from {t} as t"))
    return out


def column_names(url: str) -> dict[str, list[str]]:
    rows = fetch(url, "select table_schema || '.' || table_name, column_name from information_schema.columns "
                      "where table_schema = any(%s) order by ordinal_position", (list(OWNED_SCHEMAS),))
    out: dict[str, list[str]] = {}
    for t, c in rows:
        out.setdefault(t, []).append(f'"{c}"')
    return out


def build_previous_release(url: str) -> None:
    """The database as the previous release left it: its schema, then its rows."""
    for name in ("previous_release_schema.sql", "previous_release_rows.sql"):
        with psycopg.connect(url, autocommit=True) as conn:  # the dumps reset search_path: a fresh session each
            conn.execute((FIXTURES / name).read_bytes())


def version_rows(url: str) -> list[tuple[int, str]]:
    return fetch(url, "select version, name from audit.schema_migrations order by version")


# ---------------------------------------------------------------------------------------
# (a) an empty database
# ---------------------------------------------------------------------------------------
def test_an_empty_database_migrates_to_the_current_version(warehouse_url: str) -> None:
    applied = migrations.migrate(warehouse_url)

    assert [m.file for m in applied] == [m.file for m in migrations.migrations()]
    with connect(warehouse_url) as conn:
        assert migrations.current_version(conn) == migrations.latest_version() == len(ALL_VERSIONS)
    assert columns(warehouse_url) == EXPECTED_COLUMNS
    assert constraints(warehouse_url) == EXPECTED_CONSTRAINTS
    assert indexes(warehouse_url) == EXPECTED_INDEXES
    schemas = {r[0] for r in fetch(warehouse_url, "select nspname from pg_namespace")}
    assert set(OWNED_SCHEMAS) <= schemas
    assert version_rows(warehouse_url) == ALL_VERSIONS


def test_a_database_never_migrated_is_at_version_0(warehouse_url: str) -> None:
    with connect(warehouse_url) as conn:
        assert migrations.current_version(conn) == 0
        assert [m.version for m in migrations.pending(conn)] == [v for v, _ in ALL_VERSIONS]


WRITERS: dict[str, Callable[[str], None]] = {}


def _writer(name: str) -> Callable[[Callable[[str], None]], Callable[[str], None]]:
    def register(fn: Callable[[str], None]) -> Callable[[str], None]:
        WRITERS[name] = fn
        return fn
    return register


@_writer("loading.ensure_schema")
def _load_schema(url: str) -> None:
    from cx_warehouse.ingest.loader import ensure_schema
    from cx_warehouse.ingest.sources import get_source

    with connect(url, autocommit=True) as conn:
        ensure_schema(conn, [get_source("crm").entity("orders")])


@_writer("quality.gates.run_gate's schema step")
def _quality_schema(url: str) -> None:
    from cx_warehouse.ingest.loader import ensure_schema
    from cx_warehouse.ingest.sources import load_sources

    with connect(url, autocommit=True) as conn:  # what run_gate does before it validates
        ensure_schema(conn, [e for src in load_sources().values() for e in src.entities])


@_writer("transform._record_step_run")
def _step_run(url: str) -> None:
    from cx_warehouse.transform.steps import TRANSFORM_STEPS, _record_step_run

    _record_step_run(url, TRANSFORM_STEPS[0], datetime(2026, 3, 16, tzinfo=UTC), 1.5, "succeeded", None)


@_writer("reports.selections._ensure_lists")
def _at_risk_lists(url: str) -> None:
    from cx_warehouse.reports.selections import _ensure_lists

    with connect(url) as conn:  # not autocommit, as the render task's connection
        _ensure_lists(conn)
        conn.execute("insert into reports.at_risk_lists values (%s, 'C1', 0.9)", (date(2026, 3, 16),))


@_writer("reports.delivery.ensure_outbox")
def _outbox(url: str) -> None:
    from cx_warehouse.reports.delivery import ensure_outbox

    with connect(url, autocommit=True) as conn:
        ensure_outbox(conn)


@_writer("analytics.store.replace_table")
def _model_output(url: str) -> None:
    from cx_warehouse.analytics.store import replace_table

    with connect(url) as conn:
        replace_table(conn, "key_drivers", [("predictor", "text"), ("raw_weight", "double precision")],
                      [("service_rating", 0.1)])


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_every_writer_works_on_an_empty_database(warehouse_url: str, writer: str) -> None:
    """What used to create its table on first use now migrates first, and still just works."""
    WRITERS[writer](warehouse_url)
    assert version_rows(warehouse_url) == ALL_VERSIONS
    # raw tables are the loader's, from config/sources/*.yml
    assert {t: c for t, c in columns(warehouse_url).items() if not t.startswith("raw.")} == EXPECTED_COLUMNS


# ---------------------------------------------------------------------------------------
# (b) a database the previous release built
# ---------------------------------------------------------------------------------------
def test_a_previous_release_database_is_adopted_without_losing_a_row(warehouse_url: str,
                                                                     another_database: str) -> None:
    build_previous_release(warehouse_url)
    before = every_row(warehouse_url)
    old_columns = column_names(warehouse_url)
    assert all(before[t] for t in before), "the fixture has rows in every table"
    outputs_before = {t: sorted(fetch(warehouse_url, f"select t::text from {t} as t")) for t in MODEL_OUTPUTS}

    applied = migrations.migrate(warehouse_url)

    assert [m.version for m in applied] == [v for v, _ in ALL_VERSIONS]
    after = every_row(warehouse_url, like=old_columns)
    assert after.pop("audit.schema_migrations") == sorted(fetch(warehouse_url, "select t::text from "
                                                                               "audit.schema_migrations t"))
    for new_table in set(after) - set(before) - {"audit.schema_migrations"}:
        assert after.pop(new_table) == [], f"{new_table} is new in this release: it starts empty"
    assert after == before
    assert {t: sorted(fetch(warehouse_url, f"select t::text from {t} as t")) for t in MODEL_OUTPUTS} == outputs_before
    migrations.migrate(another_database)
    assert schema_snapshot(warehouse_url) == schema_snapshot(another_database)
    # the adopted sequence carries on where the previous release left it
    (next_id,) = fetch(warehouse_url, """
        insert into audit.quarantine (load_id, source, entity, file_path, reasons)
        values ('6f0c2a1e-0000-4000-8000-000000000001', 'crm', 'orders', 'f.csv', '{x}') returning quarantine_id""")[0]
    assert next_id == 3


# ---------------------------------------------------------------------------------------
# (c) idempotent and safe to run concurrently
# ---------------------------------------------------------------------------------------
def test_a_second_run_applies_nothing(warehouse_url: str) -> None:
    assert migrations.migrate(warehouse_url)
    snapshot = schema_snapshot(warehouse_url)
    assert migrations.migrate(warehouse_url) == []
    with connect(warehouse_url) as conn:
        assert migrations.ensure_current(conn) == []
    assert version_rows(warehouse_url) == ALL_VERSIONS
    assert schema_snapshot(warehouse_url) == snapshot


def test_two_runs_at_once_apply_each_version_once(warehouse_url: str) -> None:
    """Both runs are made to wait on the lock together, then released at the same moment."""
    results: dict[str, list[Migration] | BaseException] = {}

    def run(name: str) -> None:
        try:
            results[name] = migrations.migrate(warehouse_url)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            results[name] = exc

    with connect(warehouse_url, autocommit=True) as holder:
        holder.execute("select pg_advisory_lock(hashtextextended(%s, 0))", (LOCK_KEY,))
        threads = [threading.Thread(target=run, args=(n,)) for n in ("first", "second")]
        for t in threads:
            t.start()
        for _ in range(200):
            (waiting,) = holder.execute("select count(*) from pg_locks where locktype = 'advisory' "
                                        "and not granted").fetchone()  # type: ignore[misc]
            if waiting == 2:
                break
            threading.Event().wait(0.05)
        assert waiting == 2, "both runs should be waiting on the migration lock"
        holder.execute("select pg_advisory_unlock(hashtextextended(%s, 0))", (LOCK_KEY,))
        for t in threads:
            t.join(timeout=60)

    applied = sorted(len(r) if isinstance(r, list) else -1 for r in results.values())
    assert applied == [0, len(ALL_VERSIONS)], results
    assert version_rows(warehouse_url) == ALL_VERSIONS


# ---------------------------------------------------------------------------------------
# (d) an applied file that changed, a version that fails
# ---------------------------------------------------------------------------------------
def test_a_changed_applied_migration_is_refused_naming_the_file(warehouse_url: str,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    migrations.migrate(warehouse_url)
    first, *later = runner.migrations()
    edited = Migration(first.version, first.name, first.file, first.sql + "\ncreate table audit.sneaked_in (a int);\n")
    monkeypatch.setattr(runner, "migrations", lambda: (edited, *later))

    message = r"versions/0001_operational_schemas\.sql was changed after it was applied"
    with pytest.raises(MigrationError, match=message):
        migrations.migrate(warehouse_url)
    with connect(warehouse_url) as conn, pytest.raises(MigrationError, match=message):
        migrations.ensure_current(conn)
    assert fetch(warehouse_url, "select to_regclass('audit.sneaked_in')") == [(None,)]


def test_a_failing_version_keeps_nothing_and_names_the_file(warehouse_url: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = runner.migrations()
    nxt = migrations.latest_version() + 1
    broken = Migration(nxt, "broken", f"versions/{nxt:04d}_broken.sql",
                       "create table audit.half_done (a int);\nselect 1 / 0;\n")
    monkeypatch.setattr(runner, "migrations", lambda: (*shipped, broken))

    with pytest.raises(MigrationError, match=rf"versions/{nxt:04d}_broken\.sql failed.*division by zero"):
        migrations.migrate(warehouse_url)
    # one run is one transaction: not even the shipped versions of this run were kept
    assert fetch(warehouse_url, "select to_regclass('audit.half_done'), to_regclass('audit.schema_migrations')") \
        == [(None, None)]


def test_migrate_command_checks_then_applies(warehouse_url: str) -> None:
    lines: list[str] = []
    files = [m.file for m in migrations.migrations()]
    n = len(files)
    assert migrations.migrate_command(warehouse_url, check=True, say=lines.append) == 1
    assert lines == [*(f"pending: {f}" for f in files),
                     f"warehouse schema at version 0, this release's is {n}: {n} migration(s) pending, "
                     "run `cxw warehouse migrate`"]
    lines.clear()
    assert migrations.migrate_command(warehouse_url, say=lines.append) == 0
    assert lines == [*(f"applied: {f}" for f in files), f"warehouse schema at version {n}"]
    lines.clear()
    assert migrations.migrate_command(warehouse_url, check=True, say=lines.append) == 0
    assert lines == [f"warehouse schema at version {n}, this release's is {n}: up to date"]
