"""Turning mart rows into what stakeholders read: HTML e-mail, PDF, CSV, archived first.

Safety is built into the one Jinja2 environment every template goes through: autoescape is on
for every HTML template, undefined names fail, and no template marks data ``|safe`` (a test
checks), so a customer's ``<script>``, ``<img onerror>``, ``javascript:`` or ``{{7*7}}``
prints as text. Data is only ever a value passed to a template, never template source.
WeasyPrint renders the PDF with a fetcher that allows ``data:`` URLs only: nothing is
fetched from anywhere. CSV cells that a spreadsheet would run as a formula are neutralised.

Everything rendered goes into the archive (``<CX_HOME>/reports/archive/<report>/<period>/
<kind>/``) with a ``manifest.json`` before anything is sent; delivery reads the archive, so
a retry after a mail-server outage sends exactly what was rendered. The archive holds
customers' names, contacts and complaint text, so it is private: folders 0700 from
``<CX_HOME>/reports`` down, files 0600 (:mod:`cx_warehouse.files`), whatever the umask of the
process that renders (a CLI, an Airflow worker).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from cx_warehouse.config.settings import get_settings
from cx_warehouse.files import private_dir, write_private
from cx_warehouse.reports.definitions import ReportSpec, reports_dir

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""Cell starts that make Excel, LibreOffice or Sheets evaluate a cell (OWASP CSV injection)."""

FONT_STACK = "'Noto Sans CJK SC', 'Noto Sans SC', 'PingFang SC', 'Microsoft YaHei', 'Helvetica Neue', Arial, sans-serif"
"""Chinese first (the PDF has Noto Sans CJK from the setup script; mail clients their own). No
emoji font here: Pango would draw digits with it; it falls back to one per character anyway."""


def archive_root() -> Path:
    return get_settings().home / "reports" / "archive"


def archive_dir(spec: ReportSpec, period_key: str, kind: str) -> Path:
    """``<archive>/<report>/<period key>/<kind>``: dated, one folder per thing sent."""
    return archive_root() / spec.id / period_key / kind


# --- formatting (template filters) -----------------------------------------------------

def fmt_num(value: Any, decimals: int = 1, unit: str = "") -> str:
    """``1,234.5`` with the unit; an en dash for a missing value."""
    if value is None:
        return "\u2013"
    return f"{float(value):,.{decimals}f}{unit}"


def fmt_signed(value: Any, decimals: int = 1, unit: str = "") -> str:
    if value is None:
        return "\u2013"
    v = float(value)
    sign = "+" if v > 0 else ("\u2212" if v < 0 else "\u00b1")
    return f"{sign}{abs(v):,.{decimals}f}{unit}"


def fmt_date(value: Any, pattern: str = "%d %b %Y", timezone: str = "UTC") -> str:
    """A day as ``31 Oct 2026``; a moment in the business time zone, ``25 Oct 2026 13:53 CST``."""
    if value is None:
        return "\u2013"
    if isinstance(value, datetime):
        from zoneinfo import ZoneInfo

        return value.astimezone(ZoneInfo(timezone)).strftime(pattern + " %H:%M %Z")
    return value.strftime(pattern) if isinstance(value, date) else str(value)


def humanise(value: Any) -> str:
    """``win_back_coupon`` -> ``win back coupon`` (codes from the marts, for readers)."""
    return str(value).replace("_", " ") if value is not None else "\u2013"


def person_name(first: Any, last: Any) -> str:
    """``Cindy Lim``, but ``郭欣怡``: Chinese names put the family name first, with no space."""
    first, last = (str(first or "").strip(), str(last or "").strip())
    if any("\u3400" <= ch <= "\u9fff" for ch in first + last):
        return last + first
    return " ".join(p for p in (first, last) if p)


def environment(spec: ReportSpec | None = None) -> Any:
    """The one Jinja2 environment: autoescape on for HTML (all but ``*.txt.j2``), strict undefined."""
    import jinja2
    import markupsafe

    paths = ([str(spec.directory)] if spec else []) + [str(reports_dir() / "_shared")]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(paths),
        autoescape=jinja2.select_autoescape(disabled_extensions=("txt.j2",), default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    from cx_warehouse.config.business import load_business

    timezone = load_business().timezone
    env.filters.update(num=fmt_num, signed=fmt_signed, human=humanise,
                       day=lambda v, pattern="%d %b %Y": fmt_date(v, pattern, timezone))
    env.globals.update(person_name=person_name)
    # our own constant, not data: marked safe so autoescape does not turn its quotes into
    # entities, which are not decoded inside <style>
    env.globals.update(font_stack=markupsafe.Markup(FONT_STACK))
    return env


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def render_pdf(page_html: str) -> bytes:
    """HTML to PDF with WeasyPrint, fetching nothing but ``data:`` URLs (no network, no files)."""
    import logging

    # WeasyPrint logs each layout step (from its import on) and fontTools each subsetting step
    # at INFO; a task log needs none of it
    for name in ("weasyprint", "weasyprint.progress", "fontTools"):
        logging.getLogger(name).setLevel(logging.WARNING)
    from weasyprint import HTML, URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"})
    return bytes(HTML(string=page_html, url_fetcher=fetcher, base_url=None).write_pdf())


def neutralise_cell(value: Any) -> Any:
    """A text cell that starts like a formula gets a leading apostrophe; numbers pass as numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def to_csv(header: list[str], records: list[list[Any]]) -> bytes:
    """UTF-8 with BOM (so Excel reads Chinese names right), CRLF lines, every text cell neutralised."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    for rec in records:
        writer.writerow(["" if v is None else neutralise_cell(v) for v in rec])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


# --- the archive -----------------------------------------------------------------------

@dataclass
class Message:
    """One e-mail in an archive: its parts are files beside the manifest."""

    outbox_key: str
    kind: str
    recipients: list[str]
    subject: str
    html: str
    text: str
    images: dict[str, bytes]
    attachments: list[tuple[str, bytes, str]]


def write_archive(target: Path, manifest: dict[str, Any], messages: list[Message],
                  extra_files: dict[str, bytes] | None = None) -> Path:
    """Write the rendered files and the manifest into ``target`` atomically (a half-written
    archive never exists under the final name), replacing an earlier unsent rendering."""
    tmp = target.with_name(f".{target.name}.tmp-{datetime.now(UTC):%Y%m%dT%H%M%S%f}")
    root = archive_root().parent
    private_dir(target.parent, root=root if root in target.parents else None)
    tmp.mkdir()  # fails if it exists: one rendering per temporary folder
    private_dir(tmp)
    files: dict[str, str] = {}

    def put(rel: str, content: bytes) -> str:
        path = tmp / rel
        private_dir(path.parent)
        write_private(path, content)
        files[rel] = hashlib.sha256(content).hexdigest()
        return rel

    entries = []
    for i, m in enumerate(messages):
        base = "" if len(messages) == 1 else f"messages/{i:03d}-"
        entries.append({
            "outbox_key": m.outbox_key, "kind": m.kind, "recipients": m.recipients, "subject": m.subject,
            "html": put(f"{base}email.html", m.html.encode("utf-8")),
            "text": put(f"{base}email.txt", m.text.encode("utf-8")),
            "images": [{"cid": cid, "file": put(f"charts/{cid}.png", png)} for cid, png in m.images.items()],
            "attachments": [{"file": put(name, content), "mime_type": mime} for name, content, mime in m.attachments],
        })
    for rel, content in (extra_files or {}).items():
        put(rel, content)
    manifest = {**manifest, "messages": entries, "files": files}
    write_private(tmp / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False, default=str))
    if target.exists():
        shutil.rmtree(target)
    tmp.rename(target)
    return target


def read_manifest(directory: Path) -> dict[str, Any]:
    file = directory / "manifest.json"
    if not file.exists():
        raise FileNotFoundError(f"no rendered report in {directory} (manifest.json missing): render it first")
    return dict(json.loads(file.read_text(encoding="utf-8")))
