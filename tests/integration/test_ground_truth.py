"""Every generated row is accounted for exactly as the generator's ground truth says."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from cx_demo.generator import FaultRates, generate
from cx_warehouse.ingest.service import load_landing
from cx_warehouse.ingest.sources import load_sources
from cx_warehouse.warehouse.connection import connect

QUARANTINE_KINDS = {"malformed_row", "bad_encoding", "missing_required", "invalid_value"}
ENTITIES = [e for s in load_sources().values() for e in s.entities]


def load_all(url: str, landing: Path, until: date | None = None) -> None:
    """Load every landed file (delivered before ``until``) of every entity into ``url``."""
    for r in load_landing(url, str(landing), until=until):
        assert not r.failed, [f.error for f in r.failed]


def check_against_truth(url: str, truth: dict) -> None:
    with connect(url) as conn:
        audit = {
            path: (read, loaded, quarantined, duplicate)
            for path, read, loaded, quarantined, duplicate in conn.execute(
                "select file_path, rows_read, rows_loaded, rows_quarantined, rows_duplicate "
                "from audit.load_audit where status = 'loaded'")
        }
        quarantined = set(conn.execute("select file_path, line_number from audit.quarantine").fetchall())
        counts = {
            f"{e.source}.{e.name}": conn.execute(f'select count(*) from raw."{e.table}"').fetchone()[0]
            for e in ENTITIES
        }
    expected_files = {
        f["path"]: (f["rows"], f["expected"]["loaded"], f["expected"]["quarantined"], f["expected"]["duplicate"])
        for f in truth["files"]
    }
    assert audit == expected_files
    planted = {(f["path"], x["line"]) for f in truth["files"] for x in f["faults"] if x["kind"] in QUARANTINE_KINDS}
    assert quarantined == planted
    assert counts == {k: v["distinct_keys"] for k, v in truth["entities"].items()}


def test_dirty_dataset_matches_ground_truth(warehouse_url: str, tmp_path: Path) -> None:
    landing, truth_path = tmp_path / "landing", tmp_path / "truth.json"
    generate(landing, truth_path, customers=300, days=30, seed=11)
    truth = json.loads(truth_path.read_text())
    kinds = {x["kind"] for f in truth["files"] for x in f["faults"]}
    assert QUARANTINE_KINDS | {"duplicate_row", "hostile_text"} <= kinds, kinds
    assert any(f["path"].endswith(("_redelivery.csv", "_redelivery.jsonl")) for f in truth["files"])
    load_all(warehouse_url, landing)
    check_against_truth(warehouse_url, truth)


@pytest.mark.parametrize("seed", [5])
def test_clean_dataset_loads_every_row(warehouse_url: str, tmp_path: Path, seed: int) -> None:
    landing, truth_path = tmp_path / "landing", tmp_path / "truth.json"
    generate(landing, truth_path, customers=200, days=20, seed=seed, faults=FaultRates.none())
    truth = json.loads(truth_path.read_text())
    load_all(warehouse_url, landing)
    check_against_truth(warehouse_url, truth)
    with connect(warehouse_url) as conn:
        assert conn.execute("select count(*) from audit.quarantine").fetchone() == (0,)
        assert conn.execute("select sum(rows_read) = sum(rows_loaded) from audit.load_audit").fetchone() == (True,)
