"""Business rules from ``config/business.yml``: SLA targets, service hours, loyalty tiers.

The generator, dbt (through :func:`as_env`) and reports read the same file, so a rule has
one home. Read on first use and cached, never at import time. Every rule is checked when
the file is read, so a typo (a time zone ``Asia/Shangai``) stops the first command that
reads the rules with the file, the field and the closest valid value, rather than a dbt
model or a report deep in a run.
"""

from __future__ import annotations

import difflib
import json
import zoneinfo
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import yaml

from cx_warehouse.config.settings import get_settings

SEVERITIES = ("critical", "high", "medium", "low")


class BusinessConfigError(ValueError):
    """``config/business.yml`` is missing a rule or holds an impossible one."""


@dataclass(frozen=True)
class Tier:
    name: str
    min_spend_12m: float
    min_orders_12m: int = 0


@dataclass(frozen=True)
class BusinessRules:
    timezone: str
    currency: str
    first_response_target_hours: dict[str, float]
    resolution_target_hours: dict[str, float]
    business_hours: dict[str, object]
    holidays: tuple[date, ...]
    tiers: tuple[Tier, ...]
    points_validity_days: int
    raw: dict[str, object]

    def tier_for(self, spend_12m: float, orders_12m: int | None = None) -> str:
        """The highest tier whose spend threshold ``spend_12m`` and whose paid-order threshold
        ``orders_12m`` both reach. Without ``orders_12m`` only spend counts (the generator's
        simulation of the CRM's own, spend-based tiering)."""
        best = self.tiers[0].name
        for t in self.tiers:
            if spend_12m >= t.min_spend_12m and (orders_12m is None or orders_12m >= t.min_orders_12m):
                best = t.name
        return best

    def tier_threshold(self, name: str) -> float:
        for t in self.tiers:
            if t.name == name:
                return t.min_spend_12m
        raise KeyError(name)


def _targets(section: dict, key: str, where: str) -> dict[str, float]:
    values = section.get(key) or {}
    missing = [s for s in SEVERITIES if s not in values]
    if missing:
        raise BusinessConfigError(f"{where}: service.{key} has no target for {missing}")
    if any(float(values[s]) <= 0 for s in SEVERITIES):
        raise BusinessConfigError(f"{where}: service.{key} targets must be positive hours")
    return {s: float(values[s]) for s in SEVERITIES}


def _timezone(value: object, where: str) -> str:
    """An IANA time zone name that this machine's time zone database holds."""
    name = str(value).strip()
    zones = zoneinfo.available_timezones()
    if name in zones:
        return name
    if not zones:  # no database to list (neither the system's nor tzdata): accept what loads
        try:
            zoneinfo.ZoneInfo(name)
            return name
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    by_lower = {z.lower(): z for z in zones}
    close = difflib.get_close_matches(name.lower(), sorted(by_lower), n=1, cutoff=0.6)
    hint = (f"did you mean {by_lower[close[0]]!r}?" if close
            else "give an IANA name such as 'Asia/Shanghai' or 'UTC'")
    raise BusinessConfigError(f"{where}: timezone {value!r} is not a known time zone; {hint}")


def parse(path: Path) -> BusinessRules:
    where = str(path)
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    service = doc.get("service") or {}
    loyalty = doc.get("loyalty") or {}
    tiers = tuple(
        Tier(str(t["name"]), float(t["min_spend_12m"]), int(t.get("min_orders_12m", 0)))
        for t in loyalty.get("tiers") or []
    )
    if not tiers:
        raise BusinessConfigError(f"{where}: loyalty.tiers is empty")
    for field in ("min_spend_12m", "min_orders_12m"):
        values = [getattr(t, field) for t in tiers]
        if values != sorted(values) or values[0] != 0:
            raise BusinessConfigError(f"{where}: loyalty.tiers {field} must start at 0 and rise in order")
    return BusinessRules(
        timezone=_timezone(doc.get("timezone", "UTC"), where),
        currency=str(doc.get("currency", "CNY")),
        first_response_target_hours=_targets(service, "first_response_target_hours", where),
        resolution_target_hours=_targets(service, "resolution_target_hours", where),
        business_hours=dict(service.get("business_hours") or {}),
        holidays=tuple(date.fromisoformat(str(d)) for d in service.get("holidays") or []),
        tiers=tiers,
        points_validity_days=int(loyalty.get("points_validity_days", 365)),
        raw=doc,
    )


@lru_cache(maxsize=4)
def _load(path: Path) -> BusinessRules:
    return parse(path)


def load_business(config_dir: Path | None = None) -> BusinessRules:
    return _load(((config_dir or get_settings().config_dir) / "business.yml").resolve())


def as_env(config_dir: Path | None = None) -> str:
    """The rules as JSON, for dbt's ``env_var('CX_BUSINESS_CONFIG')``."""
    return json.dumps(load_business(config_dir).raw, default=str, ensure_ascii=False)
