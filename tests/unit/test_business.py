"""config/business.yml: the one home of SLA targets, tiers and the business time zone."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cx_warehouse.config.business import BusinessConfigError, as_env, load_business, parse

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "business.yml"


def test_shipped_rules_parse_and_tiers_follow_spend() -> None:
    rules = load_business()
    assert set(rules.first_response_target_hours) == {"critical", "high", "medium", "low"}
    assert rules.first_response_target_hours["critical"] < rules.first_response_target_hours["low"]
    assert [t.name for t in rules.tiers] == ["bronze", "silver", "gold", "platinum"]
    assert rules.tier_for(0) == "bronze"
    assert rules.tier_for(rules.tier_threshold("gold")) == "gold"
    assert rules.tier_for(rules.tier_threshold("gold") - 0.01) == "silver"
    assert json.loads(as_env())["timezone"] == rules.timezone


def test_tiers_need_both_spend_and_paid_orders() -> None:
    """A member's tier is the highest whose spend AND paid-order thresholds they both reach;
    without an order count only spend counts (the generator's CRM simulation)."""
    rules = load_business()
    assert [(t.min_spend_12m, t.min_orders_12m) for t in rules.tiers] == [(0, 0), (1000, 2), (3000, 4), (8000, 6)]
    assert rules.tier_for(3000, 4) == "gold"  # both thresholds inclusive
    assert rules.tier_for(3000, 3) == "silver"  # spend says gold, orders only silver
    assert rules.tier_for(2999.99, 10) == "silver"  # orders say platinum, spend only silver
    assert rules.tier_for(50_000, 1) == "bronze"  # one big order is not enough for silver
    assert rules.tier_for(8000, 6) == "platinum"
    assert rules.tier_for(0, 0) == "bronze"
    assert rules.tier_for(50_000) == rules.tier_for(50_000, None) == "platinum"  # spend only


def test_tiers_without_an_order_threshold_default_to_0(tmp_path: Path) -> None:
    path = tmp_path / "business.yml"
    path.write_text(re.sub(r", min_orders_12m: \d+", "", SHIPPED.read_text()))
    rules = parse(path)
    assert [t.min_orders_12m for t in rules.tiers] == [0, 0, 0, 0]
    assert rules.tier_for(3000, 0) == "gold"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("critical: 1, high: 4,", "high: 4,", "no target for ['critical']"),
        (
            "{name: gold, min_spend_12m: 3000,",
            "{name: gold, min_spend_12m: 500,",
            "min_spend_12m must start at 0 and rise in order",
        ),
        (
            "{name: gold, min_spend_12m: 3000, min_orders_12m: 4}",
            "{name: gold, min_spend_12m: 3000, min_orders_12m: 1}",
            "min_orders_12m must start at 0 and rise in order",
        ),
        (
            "{name: bronze, min_spend_12m: 0, min_orders_12m: 0}",
            "{name: bronze, min_spend_12m: 0, min_orders_12m: 1}",
            "min_orders_12m must start at 0",
        ),
        ("critical: 24,", "critical: 0,", "must be positive"),
    ],
)
def test_impossible_rules_are_rejected(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = SHIPPED.read_text()
    assert old in text
    path = tmp_path / "business.yml"
    path.write_text(text.replace(old, new))
    with pytest.raises(BusinessConfigError) as err:
        parse(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_brand_handles_match_the_generators_brand_accounts() -> None:
    """Staging flags the brand's own posts by business.yml's handles; the demo brand posts as these."""
    from cx_demo.generator import text
    from cx_warehouse.config.business import load_business

    configured = set(load_business().raw["social"]["brand_handles"])  # type: ignore[index]
    generated = {h.strip().lstrip("@").lower() for h in text.BRAND_HANDLES.values()}
    assert configured == generated


@pytest.mark.parametrize(("typo", "closest"), [("Asia/Shangai", "Asia/Shanghai"), ("asia/shanghai", "Asia/Shanghai"),
                                               ("Europe/Londn", "Europe/London")])
def test_a_misspelt_time_zone_is_refused_with_the_closest_valid_one(tmp_path: Path, typo: str, closest: str) -> None:
    """Refused when the rules are read, not later by a dbt model or a report's period."""
    path = tmp_path / "business.yml"
    path.write_text(SHIPPED.read_text().replace("timezone: Asia/Shanghai", f"timezone: {typo}"))
    with pytest.raises(BusinessConfigError) as err:
        parse(path)
    message = str(err.value)
    assert str(path) in message and f"timezone {typo!r}" in message and f"did you mean {closest!r}" in message


@pytest.mark.parametrize("value", ["Mars/Olympus_Mons", "8", "../../etc/passwd", "''"])
def test_a_time_zone_with_nothing_close_names_the_form_wanted(tmp_path: Path, value: str) -> None:
    path = tmp_path / "business.yml"
    path.write_text(SHIPPED.read_text().replace("timezone: Asia/Shanghai", f"timezone: {value}"))
    with pytest.raises(BusinessConfigError, match="is not a known time zone; give an IANA name such as"):
        parse(path)


def test_the_shipped_time_zone_is_valid_and_utc_is_the_default(tmp_path: Path) -> None:
    assert parse(SHIPPED).timezone == "Asia/Shanghai"
    path = tmp_path / "business.yml"
    path.write_text(re.sub(r"^timezone:.*$", "", SHIPPED.read_text(), flags=re.M))
    assert parse(path).timezone == "UTC"
