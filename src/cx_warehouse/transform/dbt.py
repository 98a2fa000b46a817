"""dbt reads the warehouse from the same one setting as everything else.

``dbt_project/profiles.yml`` holds no credentials: it reads ``CX_DB_*`` environment
variables, which this module derives from :func:`cx_warehouse.warehouse.connection.warehouse_url`
whenever the project runs dbt (``cxw dbt ...``, the transform DAG). The business rules of
``config/business.yml`` travel the same way, as ``CX_BUSINESS_CONFIG``.

The transform runs dbt in its own process (:class:`DbtSession`, dbt's programmatic runner):
one import and one parse serve every dbt step of a run. ``cxw dbt ...`` runs the dbt CLI.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from cx_warehouse.config.business import as_env
from cx_warehouse.config.settings import PROJECT_DIR, get_settings

DBT_DIR = PROJECT_DIR / "dbt_project"

log = logging.getLogger(__name__)


def dbt_target_dir() -> Path:
    """dbt's artefacts (manifest, run_results) live under CX_HOME, so dbt_project/ may be
    read-only (docker-compose mounts it so)."""
    return get_settings().home / "dbt" / "target"


def dbt_env(url: str) -> dict[str, str]:
    """Environment for a dbt process pointed at ``url``."""
    return {**os.environ, **dbt_settings(url)}


def dbt_settings(url: str) -> dict[str, str]:
    """The variables dbt reads (profile, paths, business rules, target) for ``url``."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError(f"the warehouse URL must be postgresql://..., got scheme {parts.scheme!r}")
    env: dict[str, str] = {}
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


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` for the duration (dbt reads its settings from there)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _log_event(msg: Any) -> None:
    """dbt's events as this module's log lines (the Airflow task log, ``cxw``'s output)."""
    level = _LEVELS.get(msg.info.level)
    if level is not None and msg.info.msg:
        log.log(level, "dbt | %s", msg.info.msg)


_LEVELS = {"info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}


class DbtSession:
    """dbt in this process, started once for any number of commands.

    The first command imports dbt and parses the project (partial parsing makes a re-parse
    of an unchanged project take about a second); every later command gets that manifest
    (``dbtRunner(manifest=...)``) and only compiles and runs what it selects. A whole
    ``cxw transform`` (four dbt steps) therefore pays dbt's start-up once instead of four
    times in four processes. dbt's output goes to this module's log.
    """

    def __init__(self, url: str | None = None, dbt_vars: dict[str, Any] | None = None) -> None:
        from cx_warehouse.warehouse.connection import warehouse_url

        self.url = url or warehouse_url()
        self.dbt_vars = dict(dbt_vars or {})
        self.manifest: Any = None
        self.startup_seconds: float | None = None
        """Import and parse, paid by the first command (``None`` until then)."""

    def _settings(self) -> dict[str, str]:
        # dbt's own stdout logger off: every event reaches _log_event instead
        return {**dbt_settings(self.url), "DBT_LOG_LEVEL": "none", "DBT_USE_COLORS": "False"}

    def _vars(self) -> list[str]:
        return ["--vars", json.dumps(self.dbt_vars)] if self.dbt_vars else []

    def invoke(self, args: list[str]) -> Any:
        """Run one dbt command (``["build", "--select", ...]``); dbt's ``dbtRunnerResult``."""
        with _environment(self._settings()):
            t0 = time.perf_counter()
            from dbt.cli.main import dbtRunner

            if self.manifest is None:
                parsed = dbtRunner(callbacks=[_log_event]).invoke(["parse", *self._vars()])
                if not parsed.success or parsed.result is None:
                    from cx_warehouse.transform.steps import TransformError

                    raise TransformError(f"dbt could not parse {DBT_DIR}: {parsed.exception or 'see the log above'}")
                self.manifest = parsed.result
                self.startup_seconds = round(time.perf_counter() - t0, 3)
                log.info("dbt started in %.1f s (import and parse; once for this run)", self.startup_seconds)
            return dbtRunner(manifest=self.manifest, callbacks=[_log_event]).invoke([*args, *self._vars()])
