"""The fingerprint tool that proves a refactor builds the same warehouse: it must see a changed
value, a dropped column and a missing table, and must not see what differs by run only."""

from __future__ import annotations

from pathlib import Path

from cx_demo.fingerprint import compare, take
from cx_warehouse.warehouse.connection import connect


def _fingerprint(url: str, out: Path) -> Path:
    assert take(["--url", url, "--out", str(out), "--schema", "marts", "--schema", "audit"]) == 0
    return out


def test_fingerprints_see_content_and_shape_but_not_run_noise(warehouse_url: str, tmp_path: Path) -> None:
    with connect(warehouse_url, autocommit=True) as conn:
        conn.execute("create schema marts; create schema audit")
        conn.execute("create table marts.m (customer_id text, nps numeric, _loaded_at timestamptz)")
        conn.execute("insert into marts.m values ('c1', 10, now()), ('c2', -5, now())")
        conn.execute("create table audit.a (load_id uuid, run_id text)")
        conn.execute("insert into audit.a values (gen_random_uuid(), 'manual__2026-01-01T00:00:00+00:00')")
    a = _fingerprint(warehouse_url, tmp_path / "a.json")
    with connect(warehouse_url, autocommit=True) as conn:  # what differs by run only
        conn.execute("update marts.m set _loaded_at = now() + interval '1 day'")
        conn.execute("update audit.a set load_id = gen_random_uuid(), run_id = 'manual__2026-02-02T00:00:00+00:00'")
    assert compare([str(a), str(_fingerprint(warehouse_url, tmp_path / "b.json"))]) == 0
    with connect(warehouse_url, autocommit=True) as conn:
        conn.execute("update marts.m set nps = 11 where customer_id = 'c1'")
    assert compare([str(a), str(_fingerprint(warehouse_url, tmp_path / "c.json"))]) == 1
    with connect(warehouse_url, autocommit=True) as conn:
        conn.execute("update marts.m set nps = 10 where customer_id = 'c1'")
        conn.execute("alter table marts.m drop column nps")
    assert compare([str(a), str(_fingerprint(warehouse_url, tmp_path / "d.json"))]) == 1
    with connect(warehouse_url, autocommit=True) as conn:
        conn.execute("drop table audit.a")
    assert compare([str(a), str(_fingerprint(warehouse_url, tmp_path / "e.json"))]) == 1
