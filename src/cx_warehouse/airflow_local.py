"""Running the project's DAGs with a project-local Airflow (``<CX_HOME>/airflow``, SQLite).

``make demo`` and the end-to-end tests run the ingestion DAGs through Airflow itself,
exactly as ``airflow dags test`` does, several DAGs in one interpreter so Airflow's start-up
is paid once. ``make airflow`` starts ``airflow standalone`` over the same DAGs folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cx_warehouse.settings import PROJECT_DIR, Settings, get_settings

DAGS_DIR = PROJECT_DIR / "dags"
_RESULT_MARK = "CXW-DAG-RESULT "


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


def _airflow_bin() -> str:
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
        proc = subprocess.run([_airflow_bin(), "db", "migrate"], env=airflow_env(s),
                              stdout=out, stderr=subprocess.STDOUT)
    finally:
        if log_file:
            out.close()  # type: ignore[union-attr]
    if proc.returncode != 0:
        raise RuntimeError(f"`airflow db migrate` failed; see {log_file or 'its output'}")
    marker.write_text(datetime.now().isoformat())
    return True


@dataclass
class DagRunResult:
    dag_id: str
    state: str
    seconds: float


def run_dags(dag_ids: list[str], logical_date: str, *, settings: Settings | None = None,
             log_file: Path | None = None, on_result=None,  # type: ignore[no-untyped-def]
             on_progress=None) -> list[DagRunResult]:
    """Run each DAG once for ``logical_date`` through Airflow (``dags test``), in one process.

    Airflow's own log goes to ``log_file``; each DAG's final state comes back as a result,
    and each entity's load summary line is passed to ``on_progress`` as it happens.
    """
    from cx_warehouse.pipeline import PROGRESS_MARK

    s = settings or get_settings()
    cmd = [sys.executable, "-m", "cx_warehouse.airflow_local", logical_date, *dag_ids]
    results: list[DagRunResult] = []
    log = open(log_file, "a", encoding="utf-8") if log_file else None
    try:
        proc = subprocess.Popen(cmd, env=airflow_env(s), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, encoding="utf-8", errors="replace")
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(_RESULT_MARK):
                r = DagRunResult(**json.loads(line[len(_RESULT_MARK):]))
                results.append(r)
                if on_result:
                    on_result(r)
            else:
                if on_progress and PROGRESS_MARK in line:
                    on_progress(line.split(PROGRESS_MARK, 1)[1].split(" [cx_warehouse")[0].strip())
                if log:
                    log.write(line)
        proc.wait()
    finally:
        if log:
            log.close()
    return results


def _main(argv: list[str]) -> int:
    """In the Airflow process: ``airflow dags test <dag> <date>`` for each DAG in turn."""
    from airflow.cli import cli_parser

    logical_date, *dag_ids = argv
    parser = cli_parser.get_parser()
    failed = 0
    for dag_id in dag_ids:
        t0 = time.perf_counter()
        state = "success"
        try:
            args = parser.parse_args(["dags", "test", dag_id, logical_date])
            args.func(args)
        except SystemExit as exc:  # dags test exits when the run failed
            state = "failed" if exc.code not in (0, None) else "success"
        except Exception as exc:  # noqa: BLE001 - reported, and the next DAG still runs
            print(f"{dag_id}: {type(exc).__name__}: {exc}", file=sys.stderr)
            state = "failed"
        failed += state != "success"
        print(_RESULT_MARK + json.dumps(
            {"dag_id": dag_id, "state": state, "seconds": round(time.perf_counter() - t0, 1)}), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
