"""The project's one place for settings.

Every component (loader, DAGs, dbt profile, GX datasource, reports) asks this module for
the warehouse URL and the landing zone instead of reading the environment itself, so one
environment variable moves the whole project:

* ``CX_WAREHOUSE_URL``: a ``postgresql://`` URL of an external warehouse. When unset, the
  project starts its own embedded PostgreSQL under ``CX_HOME`` (see :mod:`cx_warehouse.warehouse`).
* ``CX_HOME``: project-local state (embedded database, Airflow home, demo data);
  default ``<project>/.cx``.
* ``CX_LANDING``: the landing zone the source systems deliver into; a local path or an
  fsspec URL (``s3://bucket/prefix`` with ``s3fs`` installed); default ``<CX_HOME>/landing``.
* ``CX_CONFIG_DIR``: the declarative configuration (sources ...); default ``<project>/config``.
* ``CX_EMBEDDED_PORT``: TCP port of the embedded PostgreSQL on 127.0.0.1; default 54329.

Settings are read when a function is called, never at import time, so DAG files that
import this package do no I/O while Airflow parses them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[3]
"""The repository root (the package is installed editable from ``src/``)."""

DEFAULT_EMBEDDED_PORT = 54329


@dataclass(frozen=True)
class Settings:
    """A snapshot of the environment-driven settings."""

    home: Path
    config_dir: Path
    landing: str
    warehouse_url: str | None
    embedded_port: int

    @property
    def is_embedded(self) -> bool:
        """True when no external warehouse is configured."""
        return self.warehouse_url is None

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def airflow_home(self) -> Path:
        return self.home / "airflow"


def get_settings() -> Settings:
    """Read the settings from the environment (cheap; call it where needed)."""
    home = Path(os.environ.get("CX_HOME") or PROJECT_DIR / ".cx").resolve()
    config_dir = Path(os.environ.get("CX_CONFIG_DIR") or PROJECT_DIR / "config").resolve()
    landing = os.environ.get("CX_LANDING") or str(home / "landing")
    url = os.environ.get("CX_WAREHOUSE_URL") or None
    port_text = os.environ.get("CX_EMBEDDED_PORT") or str(DEFAULT_EMBEDDED_PORT)
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"CX_EMBEDDED_PORT must be a port number, got {port_text!r}") from None
    return Settings(
        home=home,
        config_dir=config_dir,
        landing=landing,
        warehouse_url=url,
        embedded_port=port,
    )
