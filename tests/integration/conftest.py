"""A warehouse with every layer built, shared by the mart tests (building it is the slow part).

``marts_db`` generates a small world, loads it, and runs the whole transform (dbt layers
and the Python models, the same steps as the transform DAG) once per test session.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from cx_demo.generator import generate
from cx_warehouse.transform.dbt import dbt_target_dir
from cx_warehouse.warehouse.connection import connect

MARTS_WORLD = {"customers": 400, "days": 120, "seed": 23, "start": date(2026, 3, 1)}


@dataclass
class BuiltWarehouse:
    url: str
    landing: Path
    truth: dict[str, Any]
    run_results: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, Any] = field(default_factory=dict)

    def query(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        with connect(self.url) as conn:
            return conn.execute(sql, params).fetchall()


def fresh_database(pg_server: Any, name: str) -> str:
    with connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}" template template0 encoding UTF8')
    return str(pg_server.url(name))


@pytest.fixture(scope="session")
def marts_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The generated landing zone and ground truth the mart tests share."""
    tmp = tmp_path_factory.mktemp("marts_world")
    generate(tmp / "landing", tmp / "truth.json", **MARTS_WORLD)
    return tmp / "landing", json.loads((tmp / "truth.json").read_text())


@pytest.fixture(scope="session")
def marts_db(pg_server: Any, marts_world: tuple[Path, dict[str, Any]]) -> BuiltWarehouse:
    """Every layer built (full build) from the shared world."""
    from cx_warehouse.transform.steps import run_transform
    from tests.integration.test_ground_truth import load_all

    landing, truth = marts_world
    url = fresh_database(pg_server, "marts_full")
    load_all(url, landing)
    steps = run_transform(url)
    run_results = json.loads((dbt_target_dir() / "run_results.json").read_text())
    shutil.copy(dbt_target_dir() / "run_results.json", landing.parent / "marts_run_results.json")
    return BuiltWarehouse(url=url, landing=landing, truth=truth, run_results=run_results, steps=steps)


def world_days() -> list[date]:
    start: date = MARTS_WORLD["start"]  # type: ignore[assignment]
    return [start + timedelta(days=i) for i in range(int(MARTS_WORLD["days"]))]  # type: ignore[call-overload]
