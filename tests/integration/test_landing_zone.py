"""``cxw status`` against the landing zone as it is now, on a real PostgreSQL.

A failed file needs attention only while the version that failed is still there; files the loader
never takes are listed with the reason and are information, not a failure. The audit rows are
written as the loader writes them, so these tests do not depend on the loader's internals.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cx_warehouse.cli import status
from cx_warehouse.ingest.accounting import warehouse_summary
from cx_warehouse.warehouse.connection import connect
from cx_warehouse.warehouse.migrations.runner import migrate

DAY = "crm/orders/2026-03-14"
T0 = datetime(2026, 3, 15, 2, 0, tzinfo=UTC)


@pytest.fixture
def lz(warehouse_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    migrate(warehouse_url)
    root = tmp_path / "landing"
    root.mkdir()
    monkeypatch.setenv("CX_LANDING", str(root))
    monkeypatch.setattr(status, "LOAD_CHECKS", [])  # a demo's ground-truth checks are not ours
    return root


def land(root: Path, rel: str, data: bytes = b"order_id\nO1\n") -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p


def attempt(url: str, path: str, status_: str, minutes: int, size: int, error: str | None = None,
            superseded_by: str | None = None) -> str:
    load_id = str(uuid.uuid4())
    at = T0 + timedelta(minutes=minutes)
    with connect(url) as conn:
        conn.execute(
            """insert into audit.load_audit (load_id, source, entity, target_table, file_path, file_size,
                   file_sha256, delivery_date, status, rows_read, rows_loaded, rows_quarantined, rows_duplicate,
                   started_at, finished_at, error, superseded_by)
               values (%s, 'crm', 'orders', 'raw.crm_orders', %s, %s, %s, '2026-03-14', %s, 1, 1, 0, 0,
                       %s, %s, %s, %s)""",
            (load_id, path, size, load_id.replace('-', ''), status_, at, at, error, superseded_by))
    return load_id


def test_failed_files_are_those_still_waiting_in_the_landing_zone(lz: Path, warehouse_url: str,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    waiting = land(lz, f"{DAY}/orders_waiting.csv")
    attempt(warehouse_url, f"{DAY}/orders_waiting.csv", "failed", 0, waiting.stat().st_size,
            f"{DAY}/orders_waiting.csv: cannot read the file")
    # failed, then removed
    attempt(warehouse_url, f"{DAY}/orders_removed.csv", "failed", 0, 12, "removed since")
    # failed, then re-delivered and loaded
    fixed = land(lz, f"{DAY}/orders_fixed.csv")
    attempt(warehouse_url, f"{DAY}/orders_fixed.csv", "failed", 0, 99, "old version failed")
    attempt(warehouse_url, f"{DAY}/orders_fixed.csv", "loaded", 5, fixed.stat().st_size)
    # loaded, then a re-delivery that failed and is still there: needs attention
    again = land(lz, f"{DAY}/orders_again.csv", b"order_id\nO1\nO2\n")
    attempt(warehouse_url, f"{DAY}/orders_again.csv", "loaded", 0, 12)
    attempt(warehouse_url, f"{DAY}/orders_again.csv", "failed", 5, again.stat().st_size, "re-delivery failed")
    # failed, then re-delivered (another size) and not tried yet: the next load tries it
    land(lz, f"{DAY}/orders_pending.csv", b"order_id\nO1\nO2\nO3\n")
    attempt(warehouse_url, f"{DAY}/orders_pending.csv", "failed", 0, 3, "old version failed")

    summary = warehouse_summary()
    assert summary["failed_files"] == [
        {"file": f"{DAY}/orders_again.csv", "error": "re-delivery failed"},
        {"file": f"{DAY}/orders_waiting.csv", "error": f"{DAY}/orders_waiting.csv: cannot read the file"},
    ]
    assert summary["ignored_files"] == [] and summary["landing_error"] is None
    assert status.print_summary() is False
    assert "FAILED FILE re-delivery failed" in capsys.readouterr().out

    waiting.unlink()
    again.unlink()
    assert warehouse_summary()["failed_files"] == []
    assert status.print_summary() is True


def test_ignored_files_are_listed_with_their_reason_and_do_not_fail_status(
        lz: Path, warehouse_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    land(lz, f"{DAY}/orders_1.csv")
    land(lz, f"{DAY}/orders_1.csv.tmp")
    land(lz, "crm/orders/2026-02-30/orders_1.csv")
    land(lz, "outside/passwd", b"root:x:0:0\n")
    (lz / DAY / "orders_2.csv").symlink_to(lz / "outside/passwd")
    land(lz, f"{DAY}/orders_\x1b[2J.csv.bak")  # a name that would clear the screen
    for i in range(25):
        land(lz, f"crm/orders/2026-03-15/orders_{i:02}.csv.part")

    summary = warehouse_summary()
    ignored = {i["file"]: i["reason"] for i in summary["ignored_files"]}
    assert len(ignored) == 30
    assert "a half-written upload (.tmp) is never loaded" in ignored[f"{DAY}/orders_1.csv.tmp"]
    assert ignored["crm/orders/2026-02-30/orders_1.csv"].startswith("folder 2026-02-30 is not a calendar date")
    assert ignored[f"{DAY}/orders_2.csv"].startswith("symbolic link: refused")
    assert ignored["outside/passwd"].startswith("not under any declared entity folder")

    assert status.print_summary() is True
    out = capsys.readouterr().out
    assert "ignored files (never loaded): 30 in the landing zone" in out
    assert f"    {DAY}/orders_1.csv.tmp: not named like crm/orders/{{date}}/orders_*.csv" in out
    assert "orders_\\x1b[2J.csv.bak" in out and "\x1b" not in out
    assert "... 10 more ignored file(s)" in out
    assert "root:x" not in out


def test_a_landing_zone_that_does_not_exist_is_said_and_fails_status(
        lz: Path, warehouse_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CX_LANDING", str(lz.parent / "landnig"))
    attempt(warehouse_url, f"{DAY}/orders_1.csv", "failed", 0, 12, "it failed")
    summary = warehouse_summary()
    assert summary["landing_error"] == (f"CX_LANDING={lz.parent / 'landnig'} does not exist: set CX_LANDING to "
                                        "the folder or URL source systems deliver into")
    assert summary["failed_files"] == [{"file": f"{DAY}/orders_1.csv", "error": "it failed"}]  # cannot tell: all
    assert status.print_summary() is False
    assert f"LANDING ZONE CX_LANDING={lz.parent / 'landnig'} does not exist" in capsys.readouterr().out


def test_quarantine_reasons_group_whole_and_superseded_loads_drop_out(lz: Path, warehouse_url: str) -> None:
    old = attempt(warehouse_url, f"{DAY}/orders_1.csv", "loaded", 0, 10)
    with connect(warehouse_url) as conn:  # as the loader does: the old version first gives way
        conn.execute("update audit.load_audit set superseded_by = gen_random_uuid() where load_id = %s", (old,))
    new = attempt(warehouse_url, f"{DAY}/orders_1.csv", "loaded", 5, 10)
    with connect(warehouse_url) as conn:
        conn.execute("update audit.load_audit set superseded_by = %s where load_id = %s", (new, old))
        rows = [
            (old, ["invalid integer in nps: out of range"]),  # superseded: no longer stands
            (new, ["invalid integer in nps: out of range"]),
            (new, ["invalid integer in nps: out of range", "missing required value: order_id"]),
            (new, ["malformed row: expected 10 fields, found 8"]),
            (new, ["malformed row: expected 10 fields, found 12"]),
            (new, ["invalid integer in nps: '18x'"]),  # quarantined by an earlier release, value quoted
            (new, ["invalid integer in nps: E'a\\\\b'"]),
        ]
        for load_id, reasons in rows:
            conn.execute("insert into audit.quarantine (load_id, source, entity, file_path, line_number, reasons) "
                         "values (%s, 'crm', 'orders', %s, 2, %s)", (load_id, f"{DAY}/orders_1.csv", reasons))
    assert warehouse_summary()["quarantine_reasons"] == [
        {"entity": "crm.orders", "reason": "invalid integer in nps", "rows": 2},
        {"entity": "crm.orders", "reason": "invalid integer in nps: out of range", "rows": 2},
        {"entity": "crm.orders", "reason": "malformed row: expected 10 fields, found 12", "rows": 1},
        {"entity": "crm.orders", "reason": "malformed row: expected 10 fields, found 8", "rows": 1},
        {"entity": "crm.orders", "reason": "missing required value: order_id", "rows": 1},
    ]
