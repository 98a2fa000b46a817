"""Report definitions (``reports/<report>/report.yml``) and the periods reports cover.

A report is a reviewable file, like a suite: who it is for, who receives it, when it runs,
which sections it has and in which formats it goes out. Recipients come only from these
files, never from data. The files are checked here, so a typo fails with the file and the
field that is wrong rather than deep inside a DAG run.

Periods follow the business calendar (``business.yml: timezone``) and the marts' grains:
a day, a week from Monday (as ``cx_kpis`` and ``satisfaction_scores`` count weeks), or a
calendar month.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import yaml

from cx_warehouse.config.settings import PROJECT_DIR

Grain = Literal["day", "week", "month"]
SCHEDULES: dict[str, Grain] = {"daily": "day", "weekly": "week", "monthly": "month"}
KINDS = ("report", "at_risk_list", "alerts")
FORMATS = ("html_email", "pdf", "csv")
SECTIONS = ("kpi_tiles", "trends", "nps_by_channel", "nps_by_touchpoint", "servqual_gaps", "key_drivers",
            "complaint_handling", "loyalty", "at_risk", "social_sentiment", "verbatims", "data_quality",
            "executive_kpis", "headlines")
"""Sections a ``kind: report`` may list; each is a query in :mod:`.data` and a template in
``reports/_shared/sections/``."""

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
# one plain addr-spec: delivery re-checks strictly before sending
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


class ReportSpecError(ValueError):
    """A report definition is malformed; the message names the file and the field."""


def reports_dir() -> Path:
    """``CX_REPORTS_DIR`` (a deployment's own definitions and recipients) or ``<project>/reports``."""
    return Path(os.environ.get("CX_REPORTS_DIR") or PROJECT_DIR / "reports").resolve()


@dataclass(frozen=True)
class Route:
    """Close-the-loop alerts of one kind go to one owning team."""

    alert: str
    team: str
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class ReportSpec:
    """One report, as its ``report.yml`` declares it."""

    id: str
    title: str
    description: str
    kind: str
    schedule: str
    cron: str
    audience: tuple[str, ...]
    recipients: tuple[str, ...]
    owners: tuple[str, ...]
    sections: tuple[str, ...]
    formats: tuple[str, ...]
    options: dict[str, Any]
    routes: tuple[Route, ...]
    directory: Path
    file: Path

    @property
    def grain(self) -> Grain:
        return SCHEDULES[self.schedule]

    @property
    def template(self) -> str:
        return str(self.options.get("template", "template.html.j2"))

    def option(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)


def _addresses(value: Any, where: str, field_name: str, *, required: bool = True) -> tuple[str, ...]:
    items = value or []
    if not isinstance(items, list) or not all(isinstance(a, str) for a in items):
        raise ReportSpecError(f"{where}: {field_name} must be a list of e-mail addresses")
    bad = [a for a in items if not _ADDRESS.match(a)]
    if bad:
        raise ReportSpecError(f"{where}: {field_name} has invalid address(es) {bad}: one plain address each")
    if required and not items:
        raise ReportSpecError(f"{where}: {field_name} is empty")
    return tuple(items)


def parse_spec(file: Path) -> ReportSpec:
    """Read and check one ``report.yml``."""
    where = str(file)
    try:
        doc = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ReportSpecError(f"{where}: not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise ReportSpecError(f"{where}: expected a mapping of report fields")
    known = {"id", "title", "description", "kind", "schedule", "cron", "audience", "recipients", "owners",
             "sections", "formats", "options", "routes"}
    unknown = sorted(set(doc) - known)
    if unknown:
        raise ReportSpecError(f"{where}: unknown field(s) {unknown}; allowed: {sorted(known)}")
    rid = str(doc.get("id") or "")
    if not _ID.match(rid) or rid != file.parent.name:
        raise ReportSpecError(f"{where}: id {rid!r} must be snake_case and equal the folder name {file.parent.name!r}")
    kind = str(doc.get("kind", "report"))
    if kind not in KINDS:
        raise ReportSpecError(f"{where}: kind {kind!r} is not one of {KINDS}")
    schedule = str(doc.get("schedule") or "")
    if schedule not in SCHEDULES:
        raise ReportSpecError(f"{where}: schedule {schedule!r} is not one of {sorted(SCHEDULES)}")
    cron = str(doc.get("cron") or "")
    if len(cron.split()) != 5:
        raise ReportSpecError(f"{where}: cron {cron!r} must be a five-field cron expression (business time zone)")
    sections = tuple(doc.get("sections") or ())
    bad_sections = [s for s in sections if s not in SECTIONS]
    if bad_sections:
        raise ReportSpecError(f"{where}: unknown section(s) {bad_sections}; known: {list(SECTIONS)}")
    if kind == "report" and not sections:
        raise ReportSpecError(f"{where}: a report needs sections")
    formats = tuple(doc.get("formats") or ())
    bad_formats = [f for f in formats if f not in FORMATS]
    if bad_formats or not formats:
        raise ReportSpecError(f"{where}: formats {list(formats)} must be a non-empty subset of {list(FORMATS)}")
    routes = []
    for i, r in enumerate(doc.get("routes") or []):
        if not isinstance(r, dict) or not r.get("alert") or not r.get("team"):
            raise ReportSpecError(f"{where}: routes[{i}] needs alert, team and recipients")
        routes.append(Route(str(r["alert"]), str(r["team"]),
                            _addresses(r.get("recipients"), where, f"routes[{i}].recipients")))
    if kind == "alerts" and not routes:
        raise ReportSpecError(f"{where}: alerts need routes (which team gets which alert)")
    recipients = _addresses(doc.get("recipients"), where, "recipients", required=kind != "alerts")
    owners = _addresses(doc.get("owners"), where, "owners", required=False) or recipients
    options = doc.get("options") or {}
    if not isinstance(options, dict):
        raise ReportSpecError(f"{where}: options must be a mapping")
    return ReportSpec(
        id=rid, title=str(doc.get("title") or rid), description=str(doc.get("description") or "").strip(),
        kind=kind, schedule=schedule, cron=cron, audience=tuple(map(str, doc.get("audience") or ())),
        recipients=recipients, owners=owners, sections=sections, formats=formats, options=dict(options),
        routes=tuple(routes), directory=file.parent, file=file)


@cache
def _load_all(root: Path) -> dict[str, ReportSpec]:
    specs = {}
    for file in sorted(root.glob("*/report.yml")):
        spec = parse_spec(file)
        specs[spec.id] = spec
    return specs


def load_reports(root: Path | None = None) -> dict[str, ReportSpec]:
    """Every report definition, by id (cached per folder)."""
    return _load_all((root or reports_dir()).resolve())


def get_report(report_id: str, root: Path | None = None) -> ReportSpec:
    specs = load_reports(root)
    if report_id not in specs:
        raise ReportSpecError(f"no report {report_id!r} in {(root or reports_dir())}; known: {sorted(specs)}")
    return specs[report_id]


@dataclass(frozen=True)
class Period:
    """The business-calendar period a report covers: [start, end] inclusive."""

    grain: Grain
    start: date
    end: date = field(init=False)

    def __post_init__(self) -> None:
        if self.grain == "day":
            end = self.start
        elif self.grain == "week":
            if self.start.weekday() != 0:
                raise ValueError(f"a week starts on a Monday, not {self.start:%A} {self.start}")
            end = self.start + timedelta(days=6)
        else:
            if self.start.day != 1:
                raise ValueError(f"a month starts on its first day, not {self.start}")
            end = _next_month(self.start) - timedelta(days=1)
        object.__setattr__(self, "end", end)

    @property
    def key(self) -> str:
        """Stable key for paths and the outbox: ``2026-10-31``, ``2026-W43``, ``2026-10``."""
        if self.grain == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        if self.grain == "month":
            return f"{self.start:%Y-%m}"
        return self.start.isoformat()

    @property
    def label(self) -> str:
        """How people read it: ``Sat 31 Oct 2026``, ``week 43: 19-25 Oct 2026``, ``October 2026``."""
        if self.grain == "week":
            first = f"{self.start.day} {self.start:%b}" if self.start.month != self.end.month else str(self.start.day)
            return f"week {self.start.isocalendar()[1]}: {first}-{self.end.day} {self.end:%b %Y}"
        if self.grain == "month":
            return f"{self.start:%B %Y}"
        return f"{self.start:%a} {self.start.day} {self.start:%b %Y}"

    def previous(self) -> Period:
        if self.grain == "day":
            return Period("day", self.start - timedelta(days=1))
        if self.grain == "week":
            return Period("week", self.start - timedelta(days=7))
        return Period("month", (self.start - timedelta(days=1)).replace(day=1))

    @classmethod
    def containing(cls, grain: Grain, day: date) -> Period:
        if grain == "week":
            return cls("week", day - timedelta(days=day.weekday()))
        if grain == "month":
            return cls("month", day.replace(day=1))
        return cls("day", day)

    @classmethod
    def parse(cls, grain: Grain, text: str) -> Period:
        """``2026-10-31`` (any day in the period), ``2026-W43`` or ``2026-10``."""
        text = text.strip()
        try:
            m = re.fullmatch(r"(\d{4})-W(\d{1,2})", text)
            if m:
                return cls.containing(grain, date.fromisocalendar(int(m[1]), int(m[2]), 1))
            if re.fullmatch(r"\d{4}-\d{2}", text):
                return cls.containing(grain, date.fromisoformat(text + "-01"))
            return cls.containing(grain, date.fromisoformat(text))
        except ValueError as exc:
            raise ValueError(f"period {text!r} ({exc}): use a day (2026-10-31), an ISO week (2026-W43) or a month "
                             "(2026-10)") from None

    @classmethod
    def for_interval(cls, grain: Grain, interval_start: datetime, timezone: str) -> Period:
        """The period a scheduled run reports on: the one its data interval starts in, in the
        business time zone (the interval of a run at 07:00 on 1 Nov is 31 Oct 07:00 - 1 Nov 07:00,
        so it reports on 31 Oct; the Monday run reports on the week before)."""
        return cls.containing(grain, interval_start.astimezone(ZoneInfo(timezone)).date())


def _next_month(d: date) -> date:
    return date(d.year + (d.month // 12), d.month % 12 + 1, 1)
