"""Running the project's DAGs through Airflow itself, as ``airflow dags test`` does, for the demo
and the end-to-end tests: several DAGs in one interpreter so Airflow's start-up is paid once.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from cx_warehouse.airflow.local import airflow_env
from cx_warehouse.config.settings import Settings, get_settings

_RESULT_MARK = "CXW-DAG-RESULT "


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
    from cx_warehouse.logs import PROGRESS_MARK

    s = settings or get_settings()
    cmd = [sys.executable, "-m", "cx_demo.airflow_runner", logical_date, *dag_ids]
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
