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
import this package do no I/O while Airflow parses them. A value that cannot work (a port
that is not a number, a warehouse URL that is not ``postgresql://``) is refused here with a
:class:`SettingsError` that names the variable and says what to set, before any component
fails on it somewhere deeper. Messages never repeat a URL, which may hold a password.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_DIR = Path(__file__).resolve().parents[3]
"""The repository root (the package is installed editable from ``src/``)."""

DEFAULT_EMBEDDED_PORT = 54329
WAREHOUSE_URL_SCHEMES = ("postgresql", "postgres")
EXAMPLE_WAREHOUSE_URL = "postgresql://user:password@host:5432/cx"


class SettingsError(ValueError):
    """An environment variable holds a value the project cannot use; the message says which and
    what to set. (A ``ValueError``, as before, so existing handlers keep working.)"""


def parse_port(text: str, what: str, fix: str = "give a free port") -> int:
    """``text`` as a TCP port (1..65535), else a :class:`SettingsError` naming ``what`` and ``fix``."""
    value = text.strip()
    if value.isascii() and value.isdigit() and 0 < int(value) < 65536:
        return int(value)
    raise SettingsError(f"{what} is {text!r}, not a TCP port number (1 to 65535): {fix}")


def check_warehouse_url(url: str) -> str:
    """``url`` when psycopg and dbt can use it; a :class:`SettingsError` that does not echo it."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises for a port that is not a number or out of range
    except ValueError:
        raise SettingsError("CX_WAREHOUSE_URL is not a valid URL (its port is not a number from 1 to 65535, "
                            f"or its host is malformed): give it as {EXAMPLE_WAREHOUSE_URL}, or unset it to "
                            "use the embedded warehouse") from None
    if parts.scheme not in WAREHOUSE_URL_SCHEMES:
        raise SettingsError(f"CX_WAREHOUSE_URL is not a postgresql:// URL: give it as {EXAMPLE_WAREHOUSE_URL}, "
                            "or unset it to use the embedded warehouse")
    return url


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
    if url is not None:
        check_warehouse_url(url)
    port_text = os.environ.get("CX_EMBEDDED_PORT") or str(DEFAULT_EMBEDDED_PORT)
    port = parse_port(port_text, "CX_EMBEDDED_PORT",
                      f"set it to a free port, or unset it for the default {DEFAULT_EMBEDDED_PORT}")
    return Settings(
        home=home,
        config_dir=config_dir,
        landing=landing,
        warehouse_url=url,
        embedded_port=port,
    )
