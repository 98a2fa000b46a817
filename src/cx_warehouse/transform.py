"""Running dbt for the transform DAG and the CLI: one layer per call, failures named.

dbt's artefacts and logs go under ``<CX_HOME>/dbt`` (see :mod:`cx_warehouse.dbt_env`).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

from cx_warehouse.dbt_env import DBT_DIR, dbt_env, dbt_target_dir
from cx_warehouse.pipeline import PROGRESS_MARK

log = logging.getLogger(__name__)


class TransformError(RuntimeError):
    """dbt reported failures; the message lists the failing nodes and why."""


def dbt_build(select: str, url: str | None = None) -> dict[str, Any]:
    """``dbt build --select <select>``; returns counts per status, raises on any failure."""
    from cx_warehouse.warehouse import warehouse_url

    dbt = str(Path(sys.executable).with_name("dbt"))
    cmd = [dbt, "--no-use-colors", "build", "--select", select, "--project-dir", str(DBT_DIR)]
    results_file = dbt_target_dir() / "run_results.json"
    results_file.unlink(missing_ok=True)  # never report a previous run's results
    proc = subprocess.run(cmd, env=dbt_env(url or warehouse_url()), capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        log.info("dbt | %s", line)
    results = json.loads(results_file.read_text())["results"] if results_file.exists() else []
    counts: dict[str, int] = {}
    for r in results:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    failed = [r for r in results if r["status"] in ("error", "fail", "runtime error")]
    if proc.returncode != 0 or failed:
        detail = "\n".join(f"  - {r['unique_id']}: {(r.get('message') or '').strip()[:300]}" for r in failed)
        tail = "" if failed else "\n" + "\n".join(proc.stdout.splitlines()[-15:])
        raise TransformError(f"dbt build --select {select} failed ({counts}):\n{detail}{tail}")
    others = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()) if status not in ("success", "pass"))
    log.info("%s dbt %s: %d model(s) built, %d test(s) passed%s", PROGRESS_MARK, select,
             counts.get("success", 0), counts.get("pass", 0), f", {others}" if others else "")
    return {"select": select, "counts": counts}
