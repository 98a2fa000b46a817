"""What landed where: summaries of the load audit for DAG logs, the CLI and the demo.

The summary joins the audit with the landing zone as it is now: a failed file needs attention
only while it is still there unchanged (removing it, or re-delivering it so it loads, clears it),
and files the loader never takes (wrong name, link, bad date folder) are listed with the reason.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from cx_warehouse.config.settings import get_settings
from cx_warehouse.ingest.landing import LandingError, LandingZone
from cx_warehouse.ingest.sources import Entity, load_sources
from cx_warehouse.warehouse.connection import connect, relation_exists, warehouse_url

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

# Reasons name a kind and a column and never carry the value, so they group as they are. Rows
# quarantined before that quoted the value ("invalid integer in nps: '18x'"): that tail is dropped
# so old and new rows group together; no current reason has that shape.
_REASON_KIND = r"regexp_replace(r, '^(invalid [a-z]+ in [a-z_][a-z0-9_]*): E?''.*$', '\1')"


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


def landing_state(entities: list[Entity]) -> dict[str, Any]:
    """What is in the landing zone now: the entities' files (key -> size), the ignored files, or
    why the zone cannot be read (then ``present`` is None)."""
    try:
        scan = LandingZone(get_settings().landing).scan(entities)
    except (LandingError, OSError) as exc:
        return {"present": None, "ignored": [], "error": str(exc)}
    present = {(e.source, e.name, f.path): f.size for e in entities for f in scan.files.get(e.table, [])}
    return {"present": present, "ignored": [{"file": i.path, "reason": i.reason} for i in scan.ignored],
            "error": None}


def _still_waiting(present: dict[tuple[str, str, str], int] | None, key: tuple[str, str, str],
                   size: int | None) -> bool:
    """A failed file needs attention while the version that failed is still in the landing zone."""
    if present is None:
        return True  # the zone cannot be read: show every failure rather than none
    if key not in present:
        return False  # removed
    return size is None or present[key] == size  # else a new version awaits its first attempt


def _has_column(conn: psycopg.Connection[Any], schema: str, table: str, column: str) -> bool:
    return bool(conn.execute(
        "select exists (select 1 from information_schema.columns "
        "where table_schema = %s and table_name = %s and column_name = %s)",
        (schema, table, column)).fetchone()[0])  # type: ignore[index]


def warehouse_summary() -> dict[str, Any]:
    """Rows per raw table, files per status, quarantined rows by reason, the files that failed
    and are still waiting in the landing zone, and the files there that are never loaded."""
    entities = [e for s in load_sources().values() for e in s.entities]
    landing = landing_state(entities)
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
        # A superseded file version's quarantined rows are history: its re-delivery replaced them.
        current = ("join audit.load_audit a on a.load_id = q.load_id and a.superseded_by is null"
                   if _has_column(conn, "audit", "load_audit", "superseded_by") else "")
        reasons = conn.execute(
            f"""select q.source || '.' || q.entity, {_REASON_KIND} as reason, count(*)
                from audit.quarantine q {current} cross join lateral unnest(q.reasons) r
                group by 1, 2 order by 1, 3 desc, 2""").fetchall()
        # The latest attempt at each path; it is a failure to fix only while that file is there.
        latest = conn.execute(
            """select source, entity, file_path, file_size, error from (
                   select distinct on (source, entity, file_path) source, entity, file_path, file_size,
                          status, error
                   from audit.load_audit order by source, entity, file_path, started_at desc) l
               where status = 'failed' order by file_path""").fetchall()
    failures = [{"file": path, "error": error} for source, entity, path, size, error in latest
                if _still_waiting(landing["present"], (source, entity, path), size)]
    return {
        "tables": tables,
        "files": [dict(zip(("entity", "loaded", "failed", "read", "rows_loaded", "quarantined", "duplicate"), r, strict=True))
                  for r in audit],
        "quarantine_reasons": [{"entity": a, "reason": b, "rows": c} for a, b, c in reasons],
        "failed_files": failures,
        "ignored_files": landing["ignored"],
        "landing_error": landing["error"],
    }
