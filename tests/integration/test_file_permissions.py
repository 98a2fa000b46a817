"""Files that hold personal data are readable by their owner only: folders 0700, files 0600.

The report archive (HTML, text, PDF, CSV, charts, manifest) from a real report run on the
shared marts world, the generator's landing files and ground truth, the log, ``CX_HOME`` and
the Airflow home with the admin password ``airflow standalone`` generates. Every writer runs
here under the usual umask 022, so a private mode comes from the code, not from the test.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cx_warehouse.config.settings import get_settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def loose(root: Path) -> list[str]:
    """Everything under ``root`` (itself included) that is not private, with its mode."""
    found = []
    for path in [root, *root.rglob("*")]:
        wanted = 0o700 if path.is_dir() else 0o600
        if mode(path) != wanted:
            found.append(f"{path.relative_to(root.parent)} {mode(path):o}")
    return found


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The umask most systems give a user: without our code, new files would be 0644."""
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


# --- the report archive --------------------------------------------------------------------

@pytest.fixture
def empty_reports(cx_home: Path) -> Iterator[Path]:
    """``<CX_HOME>/reports`` as an earlier release left it: there, and world-readable."""
    root = cx_home / "reports"
    shutil.rmtree(root, ignore_errors=True)
    (root / "archive").mkdir(parents=True, mode=0o755)
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("report_id", ["weekly_scorecard", "daily_at_risk"])
def test_a_report_run_writes_a_private_archive(marts_db: Any, empty_reports: Path, umask_022: None,
                                               report_id: str) -> None:
    """The scorecard (e-mail HTML and text, page, PDF, chart PNGs) and the at-risk list (CSV of
    customers' names and contacts), rendered by the same service the DAG task calls."""
    from cx_warehouse.reports import service

    period = service.latest_complete_period(report_id, url=marts_db.url)
    rendered = service.render(report_id, period, url=marts_db.url, force=True)
    files = [p.name for p in rendered.directory.rglob("*") if p.is_file()]
    expected = {"weekly_scorecard": {".html", ".txt", ".pdf", ".png", ".json"},
                "daily_at_risk": {".csv", ".html", ".txt", ".json"}}[report_id]
    assert expected <= {Path(f).suffix for f in files}, files
    assert loose(empty_reports) == []
    assert not [f for f in files if f.endswith(".tmp")]  # no temporary file left beside them

    again = service.render(report_id, period, url=marts_db.url, force=True)  # replaces the unsent one
    assert again.directory == rendered.directory and loose(empty_reports) == []


def test_a_delay_notice_is_private_too(pg_server: Any, warehouse_url: str, empty_reports: Path,
                                       umask_022: None) -> None:
    """An empty warehouse: the report is delayed, and the notice to its owners is archived."""
    from cx_warehouse.reports import service
    from cx_warehouse.reports.definitions import Period

    rendered = service.render("weekly_scorecard", Period.parse("week", "2026-W10"), url=warehouse_url)
    assert rendered.kind == "delayed"
    assert loose(empty_reports) == []


# --- the generator -------------------------------------------------------------------------

def test_generated_landing_files_are_private(tmp_path: Path, umask_022: None) -> None:
    from cx_demo.generator import generate

    landing = tmp_path / "zone" / "landing"
    summary = generate(landing, tmp_path / "truth.json", customers=60, days=6, seed=5)
    assert summary.files > 10
    assert loose(landing) == []
    assert not list(landing.rglob("*.tmp"))


def test_the_ground_truth_is_private_but_its_folder_is_left_as_it_is(tmp_path: Path, umask_022: None) -> None:
    """The truth lands in CX_HOME, which the embedded server's own user (pgserver, under root)
    must still traverse to reach pgdata: tightening it stalled `make demo` on a fresh clone."""
    from cx_demo.generator import generate

    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    generate(home / "landing", home / "ground_truth.json", customers=60, days=6, seed=5)
    assert stat.S_IMODE((home / "ground_truth.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o755


def test_cxw_generate_keeps_the_ground_truth_and_cx_home_private(tmp_path: Path, umask_022: None,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the command: the ground truth (every customer's simulated behaviour) and the
    landing marker are written under cxw's private umask."""
    from cx_warehouse.cli import main

    home = tmp_path / "home"
    monkeypatch.setenv("CX_HOME", str(home))
    monkeypatch.delenv("CX_LANDING", raising=False)
    assert main(["generate", "--customers", "60", "--days", "6", "--seed", "5"]) == 0
    assert (home / "ground_truth.json").is_file() and (home / "demo_generated.json").is_file()
    assert loose(home) == []


# --- the Airflow home ----------------------------------------------------------------------

GENERATE_PASSWORD = """#!{python}
# Stands in for the `airflow` binary: runs what `airflow standalone` runs to make the admin's
# password (the real simple auth manager), in the environment and umask the launcher gives it.
import sys
from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager
SimpleAuthManager().init()
sys.exit(0 if sys.argv[1:] == ["standalone"] else 3)
"""


@pytest.fixture
def airflow_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CX_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", raising=False)
    monkeypatch.delenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", raising=False)
    monkeypatch.delenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", raising=False)
    return get_settings().airflow_home


def test_the_launcher_tightens_what_an_earlier_airflow_left_readable(airflow_home: Path, umask_022: None) -> None:
    from cx_warehouse.airflow.local import GENERATED_PASSWORDS_FILE, prepare_airflow_home

    airflow_home.mkdir(parents=True, mode=0o755)
    airflow_home.chmod(0o755)
    for name in (GENERATED_PASSWORDS_FILE, "airflow.cfg", "airflow.db"):
        (airflow_home / name).write_text("{}\n")
        (airflow_home / name).chmod(0o644)
    env = prepare_airflow_home()
    assert env["AIRFLOW_HOME"] == str(airflow_home)
    assert mode(airflow_home) == 0o700
    assert {name: mode(airflow_home / name) for name in (GENERATED_PASSWORDS_FILE, "airflow.cfg", "airflow.db")} == {
        GENERATED_PASSWORDS_FILE: 0o600, "airflow.cfg": 0o600, "airflow.db": 0o600}


def test_the_launcher_tightens_a_configured_password_file(airflow_home: Path, tmp_path: Path, umask_022: None,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from cx_warehouse.airflow.local import prepare_airflow_home

    configured = tmp_path / "auth" / "passwords.json"
    configured.parent.mkdir()
    configured.write_text('{"admin": "x"}\n')
    configured.chmod(0o644)
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(configured))
    prepare_airflow_home()
    assert mode(configured) == 0o600


def test_airflow_started_by_the_launcher_generates_a_private_admin_password(
        airflow_home: Path, tmp_path: Path, umask_022: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from cx_warehouse.airflow import local

    fake = tmp_path / "airflow"
    fake.write_text(GENERATE_PASSWORD.format(python=sys.executable))
    fake.chmod(0o755)
    monkeypatch.setattr(local, "airflow_bin", lambda: str(fake))
    assert local.run_airflow(["standalone"]) == 0
    generated = airflow_home / local.GENERATED_PASSWORDS_FILE
    assert '"admin"' in generated.read_text()  # the real auth manager wrote it
    assert mode(generated) == 0o600
    assert mode(airflow_home) == 0o700
