"""The declarative source configs: the shipped ones are valid, bad ones fail with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from cx_warehouse.ingest.sources import SourceConfigError, load_sources, parse_source

VALID = """
source: shop
format: csv
entities:
  orders:
    pattern: "shop/orders/{date}/orders_*.csv"
    primary_key: [order_id]
    updated_at: updated_at
    columns:
      - {name: order_id, type: text}
      - {name: total, type: numeric, required: true}
      - {name: updated_at, type: timestamptz}
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "shop.yml"
    p.write_text(text)
    return p


def test_shipped_sources_cover_crm_survey_and_social() -> None:
    sources = load_sources()
    assert set(sources) == {"crm", "survey", "social"}
    crm = {e.name for e in sources["crm"].entities}
    assert crm == {"customers", "orders", "order_lines", "tickets", "memberships", "tier_changes",
                   "points_ledger", "campaign_contacts"}
    for src in sources.values():
        for e in src.entities:
            assert e.description, e.table
            assert all(e.column(k).required for k in e.primary_key)
            assert e.qualified_table == f"raw.{src.name}_{e.name}"


def test_key_and_version_columns_become_required(tmp_path: Path) -> None:
    e = parse_source(write(tmp_path, VALID)).entity("orders")
    assert e.column("order_id").required and e.column("updated_at").required
    assert e.column("total").type == "numeric"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("name: order_id, type: text", 'name: "order-id; drop", type: text', "not a valid name"),
        ("type: numeric", "type: money", "type 'money' is not one of"),
        ("primary_key: [order_id]", "primary_key: [id]", "primary key column 'id' is not declared"),
        ('"shop/orders/{date}/orders_*.csv"', '"shop/orders/orders_*.csv"', "pattern must contain {date}"),
        ("updated_at: updated_at", "updated_at: changed", "updated_at column 'changed'"),
        ("name: total", "name: _total", "reserved for lineage"),
    ],
)
def test_invalid_config_is_rejected_naming_file_and_field(tmp_path: Path, old: str, new: str, message: str) -> None:
    path = write(tmp_path, VALID.replace(old, new))
    with pytest.raises(SourceConfigError) as err:
        parse_source(path)
    assert str(path) in str(err.value) and message in str(err.value)
