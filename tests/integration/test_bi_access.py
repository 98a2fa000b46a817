"""The BI role reads marts and nothing else, and keeps reading them across rebuilds."""

from __future__ import annotations

import psycopg
import pytest

from cx_warehouse.ingest.loader import ensure_schema
from cx_warehouse.ingest.sources import get_source
from cx_warehouse.warehouse.connection import connect, url_for_user
from cx_warehouse.warehouse.roles import BI_ROLE, ensure_bi_access


def test_bi_role_reads_marts_only_and_survives_rebuilds(warehouse_url: str) -> None:
    password = "bi-test-password"
    with connect(warehouse_url, autocommit=True) as conn:
        ensure_schema(conn, [get_source("crm").entity("orders")])
        conn.execute("create schema if not exists staging")
        conn.execute("create table staging.stg_x as select 1 as x")
        conn.execute("create schema if not exists marts")
        conn.execute("create table marts.customer_360 as select 'P-C1'::text as person_key")
        ensure_bi_access(conn, password)
        ensure_bi_access(conn, password)  # idempotent

    bi = url_for_user(warehouse_url, BI_ROLE, password)
    with psycopg.connect(bi) as conn:
        assert conn.execute("select person_key from marts.customer_360").fetchall() == [("P-C1",)]
    for private in ("raw.crm_orders", "audit.load_audit", "audit.quarantine", "staging.stg_x"):
        with psycopg.connect(bi) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"select * from {private}")
    with psycopg.connect(bi) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("create table marts.hack (x int)")

    # dbt rebuilds a mart: drop and create. The BI role still reads it, without a new grant.
    with connect(warehouse_url, autocommit=True) as conn:
        conn.execute("drop table marts.customer_360")
        conn.execute("create table marts.customer_360 as select 'P-C2'::text as person_key")
        conn.execute("create table marts.cx_kpis as select 1 as nps")
    with psycopg.connect(bi) as conn:
        assert conn.execute("select person_key from marts.customer_360").fetchall() == [("P-C2",)]
        assert conn.execute("select nps from marts.cx_kpis").fetchall() == [(1,)]
