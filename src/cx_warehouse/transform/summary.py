"""What the marts hold, in a few numbers: for ``cxw status`` and the end of ``make demo``."""

from __future__ import annotations

from typing import Any

from cx_warehouse.warehouse.connection import connect, relation_exists, warehouse_url


def _scalar(conn: Any, query: str) -> Any:
    row = conn.execute(query).fetchone()
    return row[0] if row else None


def marts_summary() -> dict[str, Any]:
    """What the marts hold: sizes, the latest complete month's KPIs, identity match rates, CLV fit."""
    out: dict[str, Any] = {}
    with connect(warehouse_url()) as conn:
        if not relation_exists(conn, "marts.cx_kpis"):
            return {}
        marts = [r[0] for r in conn.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1")]
        out["marts"] = {t: _scalar(conn, f'select count(*) from marts."{t}"') for t in marts}
        cur = conn.execute(
            "select * from marts.cx_kpis where period_grain = 'month' and is_complete_period "
            "order by period_start desc limit 1")
        row = cur.fetchone()
        out["kpis"] = dict(zip([d.name for d in cur.description or []], row, strict=True)) if row else {}
        out["match_rates"] = conn.execute(
            "select population, round(100 * match_rate, 1) from intermediate.int_identity_match_rates "
            "order by 1").fetchall() if relation_exists(conn, "intermediate.int_identity_match_rates") else []
        out["clv_fit"] = conn.execute(
            "select model, parameter, round(value::numeric, 3) from analytics.clv_model_fit order by 1, 2").fetchall()
    return out
