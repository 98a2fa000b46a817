"""What landed where: summaries of the load audit for DAG logs, the CLI and the demo."""

from __future__ import annotations

import logging
from typing import Any

from cx_warehouse.ingest.sources import load_sources
from cx_warehouse.warehouse.connection import connect, relation_exists, warehouse_url

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
