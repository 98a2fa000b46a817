"""How ``cxw`` ends when something is wrong: one sentence on stderr, the right exit code, no traceback.

A user's mistake (a bad ``--until``, a port that is not a number, a misspelt ``CX_LANDING``, a
missing SMTP password) is one ``error: ...`` line that names the option or setting and says what
to do, exit 2. Anything unforeseen is one line naming the exception and the log that holds the
traceback (private to the user), exit 1. These run ``cxw``'s own ``main`` (and once the installed
console script) without a database: each mistake must be caught before one is needed.
"""

from __future__ import annotations

import argparse
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from cx_warehouse.cli import Parser, main
from cx_warehouse.cli.common import iso_date, port

UNREACHABLE = "postgresql://nobody@127.0.0.1:1/none"
"""A warehouse nothing listens on: a command that gets as far as connecting fails with another error."""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A CX_HOME of its own with an (empty) landing zone and an unreachable warehouse."""
    home = tmp_path / "home"
    (home / "landing").mkdir(parents=True)
    monkeypatch.setenv("CX_HOME", str(home))
    monkeypatch.setenv("CX_LANDING", str(home / "landing"))
    monkeypatch.setenv("CX_WAREHOUSE_URL", UNREACHABLE)
    for name in ("CX_EMBEDDED_PORT", "CX_CONFIG_DIR", "AIRFLOW_CONN_CX_SMTP"):
        monkeypatch.delenv(name, raising=False)
    yield home


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """``cxw argv`` in this process: its exit code and what it printed on stderr."""
    code = main(list(argv))
    return code, capsys.readouterr().err


def one_sentence(err: str) -> str:
    """The stderr of a failed command: exactly one line, ``error: ...``, no traceback."""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


# --- dates -------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["2026-13-01", "2026-02-30", "14/03/2026", "20260314", "2026-W11-2", "yesterday"])
def test_a_bad_until_date_is_one_sentence_naming_the_option(env: Path, capsys: pytest.CaptureFixture[str],
                                                            value: str) -> None:
    code, err = run(capsys, "load", "--until", value)
    line = one_sentence(err)
    assert code == 2
    assert "--until" in line and repr(value) in line and "YYYY-MM-DD" in line


def test_until_takes_a_calendar_day() -> None:
    assert iso_date("2026-03-14") == date(2026, 3, 14)
    assert iso_date(" 2026-02-28 ") == date(2026, 2, 28)


def test_a_bad_time_option_is_one_sentence(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(capsys, "quality", "run", "--as-of", "half past nine")
    line = one_sentence(err)
    assert code == 2 and "'half past nine' is not a time" in line and "ISO 8601" in line


# --- ports -------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["abc", "0", "70000", "-1", "5432x", "5 432"])
def test_a_bad_embedded_port_is_one_sentence_naming_the_setting(env: Path, capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CX_EMBEDDED_PORT", value)
    code, err = run(capsys, "warehouse", "status")
    line = one_sentence(err)
    assert code == 2
    assert f"CX_EMBEDDED_PORT is {value!r}" in line and "1 to 65535" in line and "unset it" in line


@pytest.mark.parametrize("value", ["abc", "0", "65536", ""])
def test_a_port_option_is_refused_by_argparse_in_one_line(capsys: pytest.CaptureFixture[str], value: str) -> None:
    parser = Parser(prog="cxw tool")
    parser.add_argument("--port", type=port)
    with pytest.raises(SystemExit) as done:
        parser.parse_args(["--port", value])
    line = one_sentence(capsys.readouterr().err)
    assert done.value.code == 2
    assert "--port" in line and repr(value) in line and "1 to 65535" in line
    assert parser.parse_args(["--port", "5432"]).port == 5432


@pytest.mark.parametrize("url", ["mysql://reports:s3cret-pw@db.example.com/cx",
                                 "postgresql://reports:s3cret-pw@db.example.com:54x/cx",
                                 "reports:s3cret-pw@db.example.com:5432"])
def test_a_bad_warehouse_url_is_refused_without_repeating_it(env: Path, capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("CX_WAREHOUSE_URL", url)
    code, err = run(capsys, "status")
    line = one_sentence(err)
    assert code == 2 and "CX_WAREHOUSE_URL" in line and "postgresql://" in line
    assert "s3cret-pw" not in err  # the URL holds a password


# --- the landing zone --------------------------------------------------------------------

def test_a_landing_zone_that_does_not_exist_fails_naming_cx_landing(env: Path, capsys: pytest.CaptureFixture[str],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    typo = env / "landnig"
    monkeypatch.setenv("CX_LANDING", str(typo))
    code, err = run(capsys, "load")
    line = one_sentence(err)
    assert code == 2 and f"CX_LANDING {typo} does not exist" in line


def test_a_landing_zone_that_is_a_file_fails(env: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    (env / "landing.csv").write_text("a,b\n")
    monkeypatch.setenv("CX_LANDING", str(env / "landing.csv"))
    code, err = run(capsys, "load")
    assert code == 2 and "is not a folder" in one_sentence(err)


def test_the_default_landing_zone_missing_says_cx_landing_is_unset(env: Path, capsys: pytest.CaptureFixture[str],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    (env / "landing").rmdir()
    monkeypatch.delenv("CX_LANDING")
    code, err = run(capsys, "load")
    line = one_sentence(err)
    assert code == 2 and "CX_LANDING unset" in line and str(env / "landing") in line


def test_an_unknown_source_is_one_sentence_listing_the_known_ones(env: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(capsys, "load", "--source", "crmm")
    line = one_sentence(err)
    assert code == 2 and "'crmm'" in line and "crm, social, survey" in line


# --- config files and secrets ------------------------------------------------------------

def test_a_misspelt_business_time_zone_stops_the_command_in_one_sentence(env: Path, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str],
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """``cxw dbt`` hands business.yml to dbt: the typo stops it before dbt runs a model on it."""
    import shutil

    from cx_warehouse.config.settings import PROJECT_DIR

    config = tmp_path / "config"
    shutil.copytree(PROJECT_DIR / "config", config)
    business = config / "business.yml"
    business.write_text(business.read_text().replace("Asia/Shanghai", "Asia/Shangai"))
    monkeypatch.setenv("CX_CONFIG_DIR", str(config))
    code, err = run(capsys, "dbt", "debug")
    line = one_sentence(err)
    assert code == 2 and str(business) in line and "'Asia/Shangai'" in line and "'Asia/Shanghai'" in line


def command_raising(monkeypatch: pytest.MonkeyPatch, action: Any) -> None:
    """Make ``cxw report ...`` run ``action`` instead (the command's argument parsing stays real)."""
    from cx_warehouse.cli import report

    def cmd(args: argparse.Namespace) -> int:
        action()
        return 0

    monkeypatch.setattr(report, "cmd_report", cmd)


@pytest.mark.parametrize("uri", ["smtp://reports-bot@smtp.example.com:587", "smtp://reports-bot:@smtp.example.com:587"])
def test_a_missing_smtp_password_is_one_sentence(env: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch, uri: str) -> None:
    """The real settings reader on a connection with a login but no (or an empty) password."""
    from cx_warehouse.reports.delivery.settings import SmtpSettings

    monkeypatch.setenv("AIRFLOW_CONN_CX_SMTP", uri)
    command_raising(monkeypatch, SmtpSettings.from_connection)
    code, err = run(capsys, "report", "send", "weekly_scorecard")
    line = one_sentence(err.splitlines()[-1])  # the Airflow SDK may log a warning first
    assert code == 2 and "AIRFLOW_CONN_CX_SMTP" in line and "password" in line


def test_a_landing_error_is_one_sentence(env: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from cx_warehouse.ingest import landing

    def refuse() -> None:
        raise landing.LandingError("crm/orders/2026-03-14/orders_1.csv.gz: unpacks to more than 100 times its size")

    command_raising(monkeypatch, refuse)
    code, err = run(capsys, "report", "list")
    assert code == 2 and "orders_1.csv.gz: unpacks" in one_sentence(err)


# --- the unforeseen ----------------------------------------------------------------------

def test_an_unexpected_error_is_one_line_and_its_traceback_goes_to_a_private_log(
        env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def deep_inside() -> None:
        raise ValueError("no column named churn_risk\nsecond line that is not printed")

    command_raising(monkeypatch, deep_inside)
    code, err = run(capsys, "report", "list")
    line = one_sentence(err)
    log = env / "logs" / "cxw.log"
    assert code == 1
    assert line == f"error: unexpected ValueError: no column named churn_risk; the full traceback is in {log}"
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "deep_inside" in text and "cxw report" in text
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700

    code, _ = run(capsys, "report", "list")  # a second one appends
    assert code == 1 and log.read_text().count("Traceback") == 2


def test_an_unexpected_error_keeps_its_traceback_when_the_log_cannot_be_written(
        env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    (env / "logs").write_text("a file where the log folder should be")

    def deep_inside() -> None:
        raise RuntimeError("boom")

    command_raising(monkeypatch, deep_inside)
    code, err = run(capsys, "report", "list")
    assert code == 1
    assert err.startswith("error: unexpected RuntimeError: boom; the log could not be written")
    assert "Traceback" in err and "deep_inside" in err


def test_cxw_runs_under_a_private_umask_and_restores_the_callers(env: Path, capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []

    def look() -> None:
        current = os.umask(0)
        os.umask(current)
        seen.append(current)

    command_raising(monkeypatch, look)
    before = os.umask(0o022)
    try:
        assert run(capsys, "report", "list")[0] == 0
        assert os.umask(0o022) == 0o022
    finally:
        os.umask(before)
    assert seen == [0o077]


def test_cx_home_is_made_private(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env.chmod(0o755)
    run(capsys, "load", "--until", "2026-03-14")
    assert stat.S_IMODE(env.stat().st_mode) == 0o700


# --- the installed command ---------------------------------------------------------------

@pytest.mark.parametrize(("argv", "extra_env", "expected"), [
    (["load", "--until", "2026-13-01"], {}, "argument --until: '2026-13-01' is not a date"),
    (["warehouse", "status"], {"CX_EMBEDDED_PORT": "abc"}, "CX_EMBEDDED_PORT is 'abc'"),
])
def test_the_console_script_prints_one_sentence_and_no_traceback(env: Path, argv: list[str],
                                                                  extra_env: dict[str, str], expected: str) -> None:
    cxw = Path(sys.executable).with_name("cxw")
    done = subprocess.run([str(cxw), *argv], env={**os.environ, **extra_env}, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    assert expected in one_sentence(done.stderr)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give the data directory to another user")
def test_cx_home_stays_traversable_for_an_embedded_server_of_another_user(env: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Root's embedded PostgreSQL runs as ``pgserver``: a CX_HOME of 0700 would cut it off from
    its data directory (even with CX_WAREHOUSE_URL pointing at it, as the test suite does)."""
    (env / "pgdata").mkdir(mode=0o700)
    os.chown(env / "pgdata", 65534, 65534)
    env.chmod(0o755)
    run(capsys, "load", "--until", "2026-03-14")
    assert stat.S_IMODE(env.stat().st_mode) == 0o755


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give the data directory to another user")
def test_cx_home_stays_traversable_for_any_server_folder_of_another_user(env: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """The benchmark's own server keeps its data in ``CX_HOME/bench/pgdata``: a ``cxw`` command
    the benchmark runs must not cut it off either (its server panicked on pg_control)."""
    (env / "bench" / "pgdata").mkdir(parents=True, mode=0o700)
    os.chown(env / "bench" / "pgdata", 65534, 65534)
    env.chmod(0o755)
    run(capsys, "load", "--until", "2026-03-14")
    assert stat.S_IMODE(env.stat().st_mode) == 0o755
