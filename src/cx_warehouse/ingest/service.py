"""Entry points that DAG tasks and the CLI call: thin wrappers over loading.

They resolve the settings, the warehouse and the landing zone at call time (never at
import), so the same function runs inside an Airflow task, from ``cxw load`` and in tests.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from cx_warehouse.config.settings import get_settings
from cx_warehouse.ingest.landing import LandingZone
from cx_warehouse.ingest.loader import (
    EntityResult,
    FileResult,
    LoadError,
    RunContext,
    ensure_schema,
    load_entity,
    result_dict,
)
from cx_warehouse.ingest.sources import get_source, load_sources
from cx_warehouse.logs import PROGRESS_MARK
from cx_warehouse.warehouse.connection import connect, warehouse_url

log = logging.getLogger(__name__)


def prepare_warehouse(source_names: list[str] | None = None) -> list[str]:
    """Create the audit tables and the raw tables of the given sources (all by default)."""
    sources = load_sources()
    names = source_names or sorted(sources)
    entities = [e for n in names for e in get_source(n).entities]
    with connect(warehouse_url(), autocommit=True) as conn:
        ensure_schema(conn, entities)
    return [e.qualified_table for e in entities]


def load_landing(url: str, landing: str, *, until: date | None = None, rehash: bool = False) -> list[EntityResult]:
    """Load every entity of every source from ``landing`` into ``url`` (files delivered before
    ``until``), outside Airflow: benchmarks and tests load whole worlds with it."""
    entities = [e for s in load_sources().values() for e in s.entities]
    with connect(url, autocommit=True) as conn:
        ensure_schema(conn, entities)
    zone = LandingZone(landing)
    return [load_entity(e, url=url, landing=zone, until=until, rehash=rehash) for e in entities]


def load_source_entity(source: str, entity: str, *, until: date | None = None,
                       run: RunContext | None = None,
                       progress: Callable[[FileResult], None] | None = None,
                       raise_on_failure: bool = True, rehash: bool = False) -> dict[str, Any]:
    """Load every not-yet-loaded file of one entity delivered before ``until``.

    ``rehash`` hashes every landed file already loaded instead of trusting an unchanged size and
    modification time (see :func:`~cx_warehouse.ingest.loader.load_entity`).

    Raises :class:`LoadError` after loading the other files when any file failed, so
    the task fails with every bad file named while good files still land.
    """
    ent = get_source(source).entity(entity)
    settings = get_settings()
    result: EntityResult = load_entity(
        ent, url=warehouse_url(settings), landing=LandingZone(settings.landing),
        until=until, run=run, progress=progress, rehash=rehash)
    summary = result_dict(result)
    log.info("%s %s.%s: %s new file(s), %s row(s) loaded, %s quarantined, %s duplicate; %s already loaded",
             PROGRESS_MARK, source, entity, summary["files_loaded"], summary["rows_loaded"],
             summary["rows_quarantined"], summary["rows_duplicate"], summary["files_skipped"])
    if raise_on_failure and result.failed:
        lines = "\n".join(f"  - {f.error}" for f in result.failed)
        raise LoadError(f"{len(result.failed)} file(s) of {source}.{entity} could not be loaded:\n{lines}")
    return summary


def interval_until(data_interval_end: datetime | None) -> date | None:
    """Files delivered on days before the end of the data interval belong to it."""
    return data_interval_end.date() if data_interval_end is not None else None
