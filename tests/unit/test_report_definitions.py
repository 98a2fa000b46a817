"""Report definitions, periods, templates and CSV safety: no database needed."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from cx_warehouse.reports.definitions import SECTIONS, Period, ReportSpecError, load_reports, parse_spec, reports_dir
from cx_warehouse.reports.render import FORMULA_PREFIXES, environment, neutralise_cell, to_csv


def write_spec(tmp_path: Path, text: str, name: str = "weekly_test") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "report.yml").write_text(text, encoding="utf-8")
    return folder / "report.yml"


GOOD = """
id: weekly_test
title: Test
kind: report
schedule: weekly
cron: "0 8 * * 1"
recipients: [a@example.com]
sections: [kpi_tiles]
formats: [html_email, pdf]
"""


def test_every_shipped_report_parses_and_names_known_sections() -> None:
    specs = load_reports()
    assert {"weekly_scorecard", "monthly_executive", "daily_at_risk", "close_the_loop"} <= set(specs)
    for spec in specs.values():
        assert set(spec.sections) <= set(SECTIONS)
        assert spec.recipients or spec.routes
        assert spec.owners
    weekly = specs["weekly_scorecard"]
    assert weekly.grain == "week" and "pdf" in weekly.formats
    assert {"kpi_tiles", "nps_by_channel", "nps_by_touchpoint", "servqual_gaps", "key_drivers", "verbatims",
            "data_quality"} <= set(weekly.sections)


@pytest.mark.parametrize(("change", "message"), [
    ("schedule: weekly", "schedule: hourly"),
    ("cron: \"0 8 * * 1\"", "cron: every monday"),
    ("sections: [kpi_tiles]", "sections: [kpi_tile]"),
    ("recipients: [a@example.com]", "recipients: [\"a@example.com, b@evil.test\"]"),
    ("recipients: [a@example.com]", "recipients: [\"a@example.com\\r\\nBcc: b@evil.test\"]"),
    ("formats: [html_email, pdf]", "formats: [docx]"),
    ("id: weekly_test", "id: other_name"),
    ("title: Test", "title: Test\nrecipient: [x@example.com]"),
])
def test_a_malformed_definition_fails_naming_the_file(tmp_path: Path, change: str, message: str) -> None:
    file = write_spec(tmp_path, GOOD.replace(change, message))
    with pytest.raises(ReportSpecError, match=re.escape(str(file))):
        parse_spec(file)


def test_recipients_come_only_from_the_file(tmp_path: Path) -> None:
    spec = parse_spec(write_spec(tmp_path, GOOD))
    assert spec.recipients == ("a@example.com",) and spec.owners == spec.recipients


@pytest.mark.parametrize(("grain", "text", "start", "end", "key"), [
    ("day", "2026-10-31", date(2026, 10, 31), date(2026, 10, 31), "2026-10-31"),
    ("week", "2026-10-22", date(2026, 10, 19), date(2026, 10, 25), "2026-W43"),
    ("week", "2026-W43", date(2026, 10, 19), date(2026, 10, 25), "2026-W43"),
    ("week", "2026-W01", date(2025, 12, 29), date(2026, 1, 4), "2026-W01"),
    ("month", "2026-02", date(2026, 2, 1), date(2026, 2, 28), "2026-02"),
    ("month", "2026-12-15", date(2026, 12, 1), date(2026, 12, 31), "2026-12"),
])
def test_periods_follow_the_marts_grains(grain: str, text: str, start: date, end: date, key: str) -> None:
    p = Period.parse(grain, text)  # type: ignore[arg-type]
    assert (p.start, p.end, p.key) == (start, end, key)
    assert Period.parse(grain, p.key) == p  # type: ignore[arg-type]


def test_a_scheduled_run_reports_on_the_period_its_interval_starts_in_business_time() -> None:
    # the daily 07:00 Asia/Shanghai run on 1 Nov: interval 31 Oct 07:00 - 1 Nov 07:00 (23:00 UTC on 30 Oct)
    assert Period.for_interval("day", datetime(2026, 10, 30, 23, 0, tzinfo=UTC), "Asia/Shanghai").start == \
        date(2026, 10, 31)
    # the Monday 08:00 run on 26 Oct covers the week from Monday 19 Oct
    week = Period.for_interval("week", datetime(2026, 10, 19, 0, 0, tzinfo=UTC), "Asia/Shanghai")
    assert (week.start, week.label) == (date(2026, 10, 19), "week 43: 19-25 Oct 2026")
    assert Period.for_interval("month", datetime(2026, 9, 30, 16, 0, tzinfo=UTC), "Asia/Shanghai").key == "2026-10"


@pytest.mark.parametrize("value", ["=1+1", "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("http://x")'])
def test_formula_cells_are_neutralised(value: str) -> None:
    assert neutralise_cell(value) == "'" + value
    cell = next(csv.reader(io.StringIO(to_csv(["c"], [[value]]).decode("utf-8-sig"))))
    assert cell == ["c"]
    rows = list(csv.reader(io.StringIO(to_csv(["c"], [[value]]).decode("utf-8-sig"))))
    assert rows[1][0].startswith("'") and not rows[1][0].startswith(FORMULA_PREFIXES)


def test_numbers_and_plain_text_pass_unchanged() -> None:
    assert neutralise_cell(-0.5) == -0.5
    assert neutralise_cell("张伟") == "张伟"
    data = to_csv(["name", "score"], [["李娜, \"Lina\"", 0.75], [None, -1]])
    assert data.startswith(b"\xef\xbb\xbf")
    assert list(csv.reader(io.StringIO(data.decode("utf-8-sig")))) == [
        ["name", "score"], ['李娜, "Lina"', "0.75"], ["", "-1"]]


def test_templates_escape_everything_and_never_mark_data_safe() -> None:
    env = environment()
    hostile = "<script>alert(1)</script>{{7*7}}"
    assert env.from_string("{{ x }}").render(x=hostile) == \
        "&lt;script&gt;alert(1)&lt;/script&gt;{{7*7}}"
    for template in reports_dir().rglob("*.j2"):
        text = template.read_text(encoding="utf-8")
        assert "|safe" not in text.replace(" ", ""), template
        assert "autoescape false" not in text.replace(" ", " ").lower(), template
        assert "Markup(" not in text, template
