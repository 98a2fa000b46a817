"""A project-local Airflow (``<CX_HOME>/airflow``, SQLite metadata) over this project's DAGs.

``cxw airflow <args>`` and ``make airflow`` run Airflow with this environment; a user's own
``AIRFLOW_HOME`` is never touched. (The demo's in-process DAG runner is in :mod:`cx_demo.airflow_runner`.)

The Airflow home holds secrets and personal data: ``airflow standalone`` writes the admin
password in plain text to ``simple_auth_manager_passwords.json.generated``, ``airflow.cfg``
holds the generated signing keys, the SQLite metadata holds connections and task logs hold
what tasks printed. Airflow creates them with the process umask (0644 under the usual 022),
so every Airflow process started from here runs under :data:`~cx_warehouse.files.PRIVATE_UMASK`,
and :func:`prepare_airflow_home` makes the home 0700 and tightens files an older run left
readable.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from cx_warehouse.config.settings import PROJECT_DIR, Settings, get_settings
from cx_warehouse.files import PRIVATE_UMASK, make_private, private_dir

DAGS_DIR = PROJECT_DIR / "dags"
PASSWORDS_FILE_SETTING = "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"
GENERATED_PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"
"""Where Airflow's simple auth manager keeps the passwords it generates, unless configured."""
SECRET_FILES = ("airflow.cfg", "airflow.db", "webserver_config.py")
"""Files Airflow creates in its home that hold keys, connections or credentials."""


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


def passwords_file(env: dict[str, str]) -> Path:
    """The admin password file Airflow's simple auth manager reads and generates."""
    return Path(env.get(PASSWORDS_FILE_SETTING) or Path(env["AIRFLOW_HOME"]) / GENERATED_PASSWORDS_FILE)


def prepare_airflow_home(settings: Settings | None = None) -> dict[str, str]:
    """Make the Airflow home private (0700, its secret files 0600); return the environment for
    :func:`run_airflow`. Files an earlier run wrote under a looser umask are tightened here."""
    s = settings or get_settings()
    env = airflow_env(s)
    private_dir(s.airflow_home)
    for path in (passwords_file(env), *(s.airflow_home / name for name in SECRET_FILES)):
        make_private(path)
    return env


def run_airflow(args: list[str], settings: Settings | None = None) -> int:
    """Run ``airflow <args>`` over the project's DAGs, under the private umask; its exit code."""
    env = prepare_airflow_home(settings)
    return subprocess.call([airflow_bin(), *args], env=env, umask=PRIVATE_UMASK)


def ensure_metadata_db(settings: Settings | None = None, log_file: Path | None = None) -> bool:
    """Run ``airflow db migrate`` once per Airflow version; return True when it ran."""
    import airflow

    s = settings or get_settings()
    marker = s.airflow_home / f".migrated-{airflow.__version__}"
    if marker.exists():
        return False
    env = prepare_airflow_home(s)
    out = open(log_file, "a") if log_file else subprocess.DEVNULL
    try:
        proc = subprocess.run([airflow_bin(), "db", "migrate"], env=env,
                              stdout=out, stderr=subprocess.STDOUT, umask=PRIVATE_UMASK)
    finally:
        if log_file:
            out.close()  # type: ignore[union-attr]
    if proc.returncode != 0:
        raise RuntimeError(f"`airflow db migrate` failed; see {log_file or 'its output'}")
    marker.write_text(datetime.now().isoformat())
    make_private(marker)
    return True


