"""A project-local Airflow (``<CX_HOME>/airflow``, SQLite metadata) over this project's DAGs.

``cxw airflow <args>`` and ``make airflow`` run Airflow with this environment; a user's own
``AIRFLOW_HOME`` is never touched. (The demo's in-process DAG runner is in :mod:`cx_demo.airflow_runner`.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from cx_warehouse.config.settings import PROJECT_DIR, Settings, get_settings

DAGS_DIR = PROJECT_DIR / "dags"


def airflow_env(settings: Settings | None = None) -> dict[str, str]:
    """The environment for an Airflow process over this project's DAGs."""
    s = settings or get_settings()
    env = dict(os.environ)
    # Project-local on purpose: a user's own AIRFLOW_HOME is never touched.
    env["AIRFLOW_HOME"] = str(s.airflow_home)
    env["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS_DIR)
    env.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    env.setdefault("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "True")
    env.setdefault("AIRFLOW__LOGGING__COLORED_CONSOLE_LOG", "False")
    # The components read the same settings as this process (CX_* pass through as is).
    # `airflow standalone` starts its components as `airflow ...` found on PATH.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["CX_HOME"] = str(s.home)
    env["CX_CONFIG_DIR"] = str(s.config_dir)
    env["CX_LANDING"] = s.landing
    return env


def airflow_bin() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def ensure_metadata_db(settings: Settings | None = None, log_file: Path | None = None) -> bool:
    """Run ``airflow db migrate`` once per Airflow version; return True when it ran."""
    import airflow

    s = settings or get_settings()
    marker = s.airflow_home / f".migrated-{airflow.__version__}"
    if marker.exists():
        return False
    s.airflow_home.mkdir(parents=True, exist_ok=True)
    out = open(log_file, "a") if log_file else subprocess.DEVNULL
    try:
        proc = subprocess.run([airflow_bin(), "db", "migrate"], env=airflow_env(s),
                              stdout=out, stderr=subprocess.STDOUT)
    finally:
        if log_file:
            out.close()  # type: ignore[union-attr]
    if proc.returncode != 0:
        raise RuntimeError(f"`airflow db migrate` failed; see {log_file or 'its output'}")
    marker.write_text(datetime.now().isoformat())
    return True


