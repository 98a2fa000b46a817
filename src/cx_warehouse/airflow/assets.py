"""The Assets that connect the DAGs: one per raw table (ingestion -> transform) and one per mart
(transform -> reports). Their URIs are built here and nowhere else."""

from __future__ import annotations

from airflow.sdk import Asset

from cx_warehouse.ingest.sources import Entity


def _uri(schema: str, table: str) -> str:
    return f"postgres://warehouse/{schema}/{table}"


def raw_asset(entity: Entity) -> Asset:
    """The Asset that stands for ``raw.<source>_<entity>``; downstream DAGs schedule on it."""
    return Asset(name=entity.qualified_table, uri=_uri("raw", entity.table), group="raw")



def mart_asset(model: str) -> Asset:
    """The Asset that stands for ``marts.<model>``; report DAGs schedule on these."""
    return Asset(name=f"marts.{model}", uri=_uri("marts", model), group="marts")


