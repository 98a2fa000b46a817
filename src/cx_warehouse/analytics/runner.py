"""Run one Python model on the warehouse: the body of a transform DAG task.

Each model reads its inputs from ``intermediate`` (built by dbt just before) and replaces
its table in ``analytics`` (joined into the marts by dbt just after). Rules such as the CLV
horizon come from ``config/business.yml``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from cx_warehouse.logs import PROGRESS_MARK

log = logging.getLogger(__name__)

MODELS = ("sentiment", "clv", "drivers")


def run_model(name: str, url: str | None = None) -> dict[str, Any]:
    """Fit or score the model ``name`` (one of :data:`MODELS`) and write its table."""
    from cx_warehouse.config.business import load_business
    from cx_warehouse.warehouse.connection import connect

    if name not in MODELS:
        raise ValueError(f"unknown analytics model {name!r}; expected one of {MODELS}")
    t0 = time.perf_counter()
    with connect(url) as conn:
        if name == "sentiment":
            from cx_warehouse.analytics.sentiment import score_mentions

            result = score_mentions(conn)
        elif name == "clv":
            from cx_warehouse.analytics.clv import score_customers

            clv = load_business().raw["clv"]
            assert isinstance(clv, dict)
            result = score_customers(conn, horizon_days=int(clv["horizon_days"]),
                                     annual_discount_rate=float(clv["annual_discount_rate"]))
        else:
            from cx_warehouse.analytics.drivers import key_drivers

            result = key_drivers(conn)
    log.info("%s analytics %s: done in %.1f s", PROGRESS_MARK, name, time.perf_counter() - t0)
    return {"model": name, **result}
