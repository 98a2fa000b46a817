"""dbt reads the warehouse from the same one setting as everything else.

``dbt_project/profiles.yml`` holds no credentials: it reads ``CX_DB_*`` environment
variables, which this module derives from :func:`cx_warehouse.warehouse.connection.warehouse_url`
whenever the project runs dbt (``cxw dbt ...``, the transform DAG). The business rules of
``config/business.yml`` travel the same way, as ``CX_BUSINESS_CONFIG``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

from cx_warehouse.config.business import as_env
from cx_warehouse.config.settings import PROJECT_DIR, get_settings

DBT_DIR = PROJECT_DIR / "dbt_project"


def dbt_target_dir() -> Path:
    """dbt's artefacts (manifest, run_results) live under CX_HOME, so dbt_project/ may be
    read-only (docker-compose mounts it so)."""
    return get_settings().home / "dbt" / "target"


def dbt_env(url: str) -> dict[str, str]:
    """Environment for a dbt process pointed at ``url``."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError(f"the warehouse URL must be postgresql://..., got scheme {parts.scheme!r}")
    env = dict(os.environ)
    env.update(
        CX_DB_HOST=parts.hostname or "127.0.0.1",
        CX_DB_PORT=str(parts.port or 5432),
        CX_DB_USER=unquote(parts.username or ""),
        CX_DB_PASSWORD=unquote(parts.password or ""),
        CX_DB_NAME=(parts.path or "/").lstrip("/") or "postgres",
        DBT_PROFILES_DIR=str(DBT_DIR),
        DBT_PROJECT_DIR=str(DBT_DIR),
        DBT_TARGET_PATH=str(dbt_target_dir()),
        DBT_LOG_PATH=str(dbt_target_dir().parent / "logs"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="False",
        CX_BUSINESS_CONFIG=as_env(),
    )
    # profiles.yml target (dbt reads DBT_TARGET): prod, the schemas everything reads, unless
    # CX_DBT_TARGET chooses dev or ci
    env["DBT_TARGET"] = os.environ.get("CX_DBT_TARGET") or "prod"
    return env


def run_dbt(args: list[str], url: str | None = None, cwd: Path | None = None) -> int:
    """Run the dbt CLI of this environment with the warehouse's credentials."""
    from cx_warehouse.warehouse.connection import warehouse_url

    dbt = str(Path(sys.executable).with_name("dbt"))
    return subprocess.call([dbt, *args], env=dbt_env(url or warehouse_url()), cwd=cwd or DBT_DIR)
