"""What landed where: summaries of the load audit for DAG logs, the CLI and the demo."""

from __future__ import annotations

import logging
from typing import Any

from cx_warehouse.sources import load_sources
from cx_warehouse.warehouse import connect, relation_exists, warehouse_url

log = logging.getLogger(__name__)

# A reason's detail (": 'abc'", ": expected 10 fields, found 8") is dropped so reasons
# group by kind and column.
_REASON_KIND = r"regexp_replace(r, ': (''.*|expected \d+ fields, found \d+)$', '')"


class AccountingError(RuntimeError):
    """The load audit does not balance: rows were lost or doubled."""


def check_run_accounting(source: str, run_id: str, summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """Verify loaded + quarantined + duplicate = read for every file of this run, and log it."""
    with connect(warehouse_url()) as conn:
        rows = conn.execute(
            """select entity, count(*) filter (where status = 'loaded'), count(*) filter (where status = 'failed'),
                      coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0),
                      coalesce(sum(rows_quarantined), 0), coalesce(sum(rows_duplicate), 0),
                      count(*) filter (where status = 'loaded'
                          and rows_loaded + rows_quarantined + rows_duplicate <> rows_read)
               from audit.load_audit where source = %s and run_id = %s group by entity order by entity""",
            (source, run_id)).fetchall()
    out: dict[str, Any] = {"source": source, "run_id": run_id, "entities": {}}
    unbalanced = 0
    for entity, files, failed, read, loaded, quarantined, duplicate, bad in rows:
        unbalanced += bad
        out["entities"][entity] = {
            "files_loaded": files, "files_failed": failed, "rows_read": read, "rows_loaded": loaded,
            "rows_quarantined": quarantined, "rows_duplicate": duplicate}
        log.info("%s.%s: %s files, %s read = %s loaded + %s quarantined + %s duplicate",
                 source, entity, files, read, loaded, quarantined, duplicate)
    if unbalanced:
        raise AccountingError(f"{unbalanced} file(s) of {source} in run {run_id} do not balance")
    if not rows:
        log.info("%s: no new files in this run (%d entities checked)", source, len(summaries))
    return out


def warehouse_summary() -> dict[str, Any]:
    """Rows per raw table, files per status, quarantined rows by reason."""
    entities = [e for s in load_sources().values() for e in s.entities]
    with connect(warehouse_url()) as conn:
        tables = []
        for e in entities:
            count = 0
            if relation_exists(conn, e.qualified_table):
                count = conn.execute(
                    f'select count(*) from raw."{e.table}"').fetchone()[0]  # type: ignore[index]
            tables.append({"table": e.qualified_table, "rows": count})
        audit = conn.execute(
            """select source || '.' || entity, count(*) filter (where status = 'loaded'),
                      count(*) filter (where status = 'failed'),
                      coalesce(sum(rows_read) filter (where status = 'loaded'), 0),
                      coalesce(sum(rows_loaded) filter (where status = 'loaded'), 0),
                      coalesce(sum(rows_quarantined) filter (where status = 'loaded'), 0),
                      coalesce(sum(rows_duplicate) filter (where status = 'loaded'), 0)
               from audit.load_audit group by 1 order by 1""").fetchall()
        reasons = conn.execute(
            f"""select source || '.' || entity, {_REASON_KIND} as reason, count(*)
                from audit.quarantine, unnest(reasons) r group by 1, 2 order by 1, 3 desc""").fetchall()
        failures = conn.execute(
            """select distinct on (file_path) file_path, error from audit.load_audit a
               where status = 'failed' and not exists (
                   select 1 from audit.load_audit b where b.file_path = a.file_path and b.status = 'loaded')
               order by file_path, started_at desc""").fetchall()
    return {
        "tables": tables,
        "files": [dict(zip(("entity", "loaded", "failed", "read", "rows_loaded", "quarantined", "duplicate"), r, strict=True))
                  for r in audit],
        "quarantine_reasons": [{"entity": a, "reason": b, "rows": c} for a, b, c in reasons],
        "failed_files": [{"file": a, "error": b} for a, b in failures],
    }


def churn_risk_auc(scores: dict[str, float], archetypes: dict[str, str],
                   positive: str = "churning", negative: str = "loyal") -> tuple[float | None, int, int]:
    """AUC (Mann-Whitney) of risk scores separating two generator archetypes; ties count half.

    Returns (auc, positives, negatives); auc is None when either group is empty.
    """
    pos = [s for c, s in scores.items() if archetypes.get(c) == positive]
    neg = [s for c, s in scores.items() if archetypes.get(c) == negative]
    if not pos or not neg:
        return None, len(pos), len(neg)
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg)), len(pos), len(neg)


def _scalar(conn: Any, query: str) -> Any:
    row = conn.execute(query).fetchone()
    return row[0] if row else None


def marts_summary(archetypes: dict[str, str] | None = None) -> dict[str, Any]:
    """What the marts hold: sizes, the latest complete month's KPIs, identity, CLV fit, churn AUC."""
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
        scores = dict(conn.execute("select customer_id, risk_score::float from marts.churn_customer_risk").fetchall())
    if archetypes:
        out["churn_auc"] = churn_risk_auc(scores, archetypes)
    return out
