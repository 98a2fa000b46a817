"""config/business.yml: the one home of SLA targets, tiers and the business time zone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cx_warehouse.business import BusinessConfigError, as_env, load_business, parse

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


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("critical: 1, high: 4,", "high: 4,", "no target for ['critical']"),
        ("{name: gold, min_spend_12m: 3000}", "{name: gold, min_spend_12m: 500}", "rise in order"),
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
    from cx_warehouse.business import load_business
    from cx_warehouse.generator import text

    configured = set(load_business().raw["social"]["brand_handles"])  # type: ignore[index]
    generated = {h.strip().lstrip("@").lower() for h in text.BRAND_HANDLES.values()}
    assert configured == generated
