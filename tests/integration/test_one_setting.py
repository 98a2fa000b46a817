"""One setting moves every component: the loader, dbt and the CLI read CX_WAREHOUSE_URL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cx_warehouse.transform.dbt import DBT_DIR, dbt_env
from cx_warehouse.warehouse.connection import warehouse_url as resolve_url


def test_the_url_setting_wins_over_the_embedded_warehouse(warehouse_url: str) -> None:
    assert resolve_url() == warehouse_url


def test_dbt_connects_through_the_same_setting(warehouse_url: str, tmp_path: Path) -> None:
    dbt = str(Path(sys.executable).with_name("dbt"))
    out = subprocess.run([dbt, "--no-use-colors", "debug", "--project-dir", str(DBT_DIR), "--log-path", str(tmp_path)],
                         env=dbt_env(warehouse_url), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:]
    assert "Connection test: [OK connection ok]" in out.stdout
    assert warehouse_url.rsplit("/", 1)[1] in out.stdout  # the per-test database, not a default


def test_profiles_hold_no_credentials() -> None:
    text = (DBT_DIR / "profiles.yml").read_text()
    assert "env_var('CX_DB_PASSWORD')" in text
    assert "password: \"{{ env_var('CX_DB_PASSWORD') }}\"" in text


def test_cli_status_reads_the_setting(warehouse_url: str) -> None:
    cxw = str(Path(sys.executable).with_name("cxw"))
    out = subprocess.run([cxw, "warehouse", "status"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "external warehouse: postgresql://cx@127.0.0.1" in out.stdout
    assert "@" in out.stdout and ":" + warehouse_url.split(":")[2].split("@")[0] not in out.stdout  # no password
