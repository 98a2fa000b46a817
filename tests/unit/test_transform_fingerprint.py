"""What makes a transform step run again: its code, its rules, its dbt vars (no database needed)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from cx_warehouse.config import settings
from cx_warehouse.transform import steps


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the code the fingerprint reads, as the project folder."""
    for top in steps.CODE_PATHS:
        src = settings.PROJECT_DIR / top
        if src.is_file():
            (tmp_path / top).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, tmp_path / top)
        else:
            shutil.copytree(src, tmp_path / top, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(settings.get_settings().config_dir, tmp_path / "config")
    monkeypatch.setattr(settings, "PROJECT_DIR", tmp_path)
    monkeypatch.setenv("CX_CONFIG_DIR", str(tmp_path / "config"))
    yield tmp_path


def test_the_same_code_has_the_same_fingerprint(project: Path) -> None:
    assert steps.code_fingerprint() == steps.code_fingerprint()
    assert steps.code_fingerprint({"a": 1, "b": 2}) == steps.code_fingerprint({"b": 2, "a": 1})


@pytest.mark.parametrize("path", ["dbt_project/models/staging/crm/stg_crm__orders.sql",
                                  "dbt_project/macros/business.sql",
                                  "dbt_project/snapshots/snap_crm__customers.yml",
                                  "config/sources/crm.yml",
                                  "src/cx_warehouse/analytics/clv.py"])
def test_a_changed_file_changes_it(project: Path, path: str) -> None:
    before = steps.code_fingerprint()
    with (project / path).open("a") as f:
        f.write("\n-- a change\n" if not path.endswith(".py") else "\n# a change\n")
    assert steps.code_fingerprint() != before


def test_a_new_model_changes_it(project: Path) -> None:
    before = steps.code_fingerprint()
    (project / "dbt_project/models/marts/kpis/new_mart.sql").write_text("select 1 as x\n")
    assert steps.code_fingerprint() != before


def test_dbt_vars_target_and_rules_change_it(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = steps.code_fingerprint()
    assert steps.code_fingerprint({"as_of_date": "2026-06-30"}) != before
    monkeypatch.setenv("CX_DBT_TARGET", "dev")
    assert steps.code_fingerprint() != before
    monkeypatch.delenv("CX_DBT_TARGET")
    monkeypatch.setattr("cx_warehouse.config.business.as_env", lambda: '{"timezone": "UTC"}')
    assert steps.code_fingerprint() != before
