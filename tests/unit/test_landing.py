"""Finding landed files by pattern and delivery date, locally and on an fsspec filesystem."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

import fsspec

from cx_warehouse.ingest.landing import LandingZone
from cx_warehouse.ingest.sources import get_source

ORDERS = get_source("crm").entity("orders")


def test_finds_files_by_pattern_in_delivery_order(tmp_path: Path) -> None:
    for rel in ["crm/orders/2025-11-02/orders_20251102.csv", "crm/orders/2025-11-01/orders_20251101.csv.gz",
                "crm/orders/2025-11-02/orders_20251101_redelivery.csv", "crm/orders/2025-11-01/notes.txt",
                "crm/orders/not-a-date/orders_x.csv", "crm/customers/2025-11-01/customers_20251101.csv"]:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(gzip.compress(b"x") if rel.endswith(".gz") else b"x")
    lz = LandingZone(str(tmp_path))
    assert [f.path for f in lz.find(ORDERS)] == [
        "crm/orders/2025-11-01/orders_20251101.csv.gz",
        "crm/orders/2025-11-02/orders_20251101_redelivery.csv",
        "crm/orders/2025-11-02/orders_20251102.csv",
    ]
    assert [f.path for f in lz.find(ORDERS, until=date(2025, 11, 2))] == [
        "crm/orders/2025-11-01/orders_20251101.csv.gz"]
    (gz,) = lz.find(ORDERS, until=date(2025, 11, 2))
    assert b"".join(lz.chunks(gz)) == b"x"


def test_object_storage_urls_work_through_fsspec() -> None:
    fs = fsspec.filesystem("memory")
    fs.pipe("/lz/crm/orders/2025-11-01/orders_20251101.csv", b"a,b\n")
    lz = LandingZone("memory://lz")
    (f,) = lz.find(ORDERS)
    assert f.delivery_date == date(2025, 11, 1) and f.size == 4
    assert len(lz.sha256(f)) == 64
