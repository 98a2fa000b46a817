"""Declarative source definitions: ``config/sources/<source>.yml``.

A source system (crm, survey, social) delivers one or more entities as daily files into
the landing zone. Everything downstream is generated from these definitions: the raw
table DDL, the loader's typing and validation SQL, the Airflow DAG and its Assets. Adding
a source or an entity is a YAML block plus tests, not new code.

Every name that reaches SQL (source, entity, column) is checked here against a strict
identifier pattern, and is still quoted with :class:`psycopg.sql.Identifier` where used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from cx_warehouse.config.settings import get_settings

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
"""Lower-case SQL identifiers only: anything else in a config or a file header is rejected."""

COLUMN_TYPES = ("text", "integer", "bigint", "numeric", "boolean", "date", "timestamptz")
FORMATS = ("csv", "jsonl")
LINEAGE_COLUMNS = ("_source_file", "_load_id", "_loaded_at")
EXTENSIONS = {"csv": ".csv", "jsonl": ".jsonl"}
"""The name every file of a format ends with (then, optionally, ``.gz``)."""
CORRECTIONS_FOLDER = "corrections"
"""Beside each delivery day's files: files whose rows replace the stored rows with their keys."""
DATE_FORMATS: dict[str, tuple[str, str]] = {
    # declared format -> (regex with groups year, month, day in any order, replacement giving ISO)
    "YYYY-MM-DD": (r"^(\d{4})-(\d{2})-(\d{2})$", r"\1-\2-\3"),
    "YYYYMMDD": (r"^(\d{4})(\d{2})(\d{2})$", r"\1-\2-\3"),
    "DD/MM/YYYY": (r"^(\d{2})/(\d{2})/(\d{4})$", r"\3-\2-\1"),
    "MM/DD/YYYY": (r"^(\d{2})/(\d{2})/(\d{4})$", r"\3-\1-\2"),
    "DD.MM.YYYY": (r"^(\d{2})\.(\d{2})\.(\d{4})$", r"\3-\2-\1"),
}
"""Date spellings a source may declare. No format guesses: a value in any other shape is
quarantined, so ``03/04/2026`` is 3 April only where the source says days come first."""
TIMESTAMP_FORMATS = ("iso8601",)
"""``YYYY-MM-DD[T ]HH:MM[:SS[.ffffff]]`` then ``Z``/``±HH[:MM]``; without an offset the value is a
local time in the source's declared time zone (quarantined when it declares none)."""
DEFAULT_RANGES: dict[str, tuple[object, object]] = {
    "integer": (None, None),
    "bigint": (None, None),
    "numeric": (None, None),
    "date": (date(1900, 1, 1), date(2099, 12, 31)),
    "timestamptz": (date(1900, 1, 1), date(2100, 1, 1)),
}
"""Bounds of dates and times unless a column declares ``min``/``max`` (numbers are bounded by
their type and ``NUMERIC_DIGITS``): far from PostgreSQL's own limits, so no later cast, sum or
gate can overflow, and no ``0001-01-01 BC``."""
NUMERIC_DIGITS = (15, 10)
"""A numeric value is plain decimal: at most this many digits before and after the point."""
KEY_MAX_LENGTH = 200
"""Characters a primary-key text value may hold unless declared: far below the index-row limit
(about 2,700 bytes for the whole key), so an oversized key is a quarantined row, not a failed file."""
TEXT_MAX_LENGTH = 16 * 1024 * 1024
"""Characters any other text value may hold unless declared (PostgreSQL's own limit is 1 GB)."""
INDEX_ROW_BYTES = 2600
"""What the declared key lengths, at 4 bytes a character, must stay under (btree limit ~2,704)."""


class SourceConfigError(ValueError):
    """A source definition is invalid; the message names the file and the field."""


@dataclass(frozen=True)
class Formats:
    """How a source spells its values (``formats:`` in the source file; columns may override)."""

    timezone: str | None = None
    """IANA zone of times delivered without an offset; None quarantines such times."""
    date: str = "YYYY-MM-DD"
    timestamp: str = "iso8601"
    true: tuple[str, ...] = ("true",)
    false: tuple[str, ...] = ("false",)
    """Accepted boolean spellings, compared case-insensitively."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = False
    pii: bool = False
    path: tuple[str, ...] = ()
    """For JSON lines: the keys leading to the value (defaults to ``(name,)``)."""
    free_text: bool = False
    """Stored verbatim; other text values are trimmed of surrounding white space and NFC-normalised."""
    min: object = None
    max: object = None
    max_length: int | None = None
    date_format: str | None = None
    """Overrides the source's date format for this column."""


@dataclass(frozen=True)
class Entity:
    source: str
    name: str
    description: str
    format: str
    pattern: str
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...]
    updated_at: str | None = None
    keep_payload: bool = False
    formats: Formats = field(default_factory=Formats)

    @property
    def table(self) -> str:
        """Name of the raw table, in schema ``raw``: ``<source>_<entity>``."""
        return f"{self.source}_{self.name}"

    @property
    def qualified_table(self) -> str:
        return f"raw.{self.table}"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def correction_pattern(self) -> str:
        """Where correction files of this entity land: a ``corrections`` folder in the day folder."""
        folder, _, name = self.pattern.rpartition("/")
        return f"{folder}/{CORRECTIONS_FOLDER}/{name}"

    @cached_property
    def file_regex(self) -> re.Pattern[str]:
        """The paths of this entity's delivery files (group ``date``; ``.gz`` allowed)."""
        return pattern_regex(self.pattern)

    @cached_property
    def correction_regex(self) -> re.Pattern[str]:
        return pattern_regex(self.correction_pattern)

    @property
    def folder(self) -> str:
        """The folder above the delivery-date folders: everything below it belongs to this entity."""
        return self.pattern.split("{date}")[0].rstrip("/")

    def bounds(self, c: Column) -> tuple[object, object]:
        lo, hi = DEFAULT_RANGES.get(c.type, (None, None))
        return (lo if c.min is None else c.min), (hi if c.max is None else c.max)

    def max_length(self, c: Column) -> int:
        if c.max_length is not None:
            return c.max_length
        return KEY_MAX_LENGTH if c.name in self.primary_key else TEXT_MAX_LENGTH


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """A file pattern as an anchored regex: ``{date}`` is ``YYYY-MM-DD`` (group ``date``), ``*``
    stays inside one folder, and the name may end in ``.gz``. Nothing else matches: not
    ``orders_1.csv.tmp``, not ``Orders_1.CSV``, not a file in a ``corrections`` folder."""
    out = []
    for part in re.split(r"(\{date\}|\*)", pattern):
        if part == "{date}":
            out.append(r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})")
        elif part == "*":
            out.append(r"[^/]*")
        else:
            out.append(re.escape(part))
    return re.compile("^" + "".join(out) + r"(?P<gz>\.gz)?\Z")


@dataclass(frozen=True)
class Source:
    name: str
    description: str
    owner: str
    schedule: str
    format: str
    entities: tuple[Entity, ...] = field(default_factory=tuple)
    config_file: Path | None = None

    def entity(self, name: str) -> Entity:
        for e in self.entities:
            if e.name == name:
                return e
        raise KeyError(f"source {self.name!r} has no entity {name!r}")


def _ident(value: object, where: str) -> str:
    if not isinstance(value, str) or not IDENTIFIER.match(value):
        raise SourceConfigError(f"{where}: {value!r} is not a valid name (lower-case letters, digits, _)")
    return value


def _parse_formats(spec: object, where: str) -> Formats:
    if spec is None:
        return Formats()
    if not isinstance(spec, dict):
        raise SourceConfigError(f"{where}: formats: expected a mapping")
    unknown = sorted(set(spec) - {"timezone", "date", "timestamp", "boolean"})
    if unknown:
        raise SourceConfigError(f"{where}: formats: unknown key(s) {unknown}")
    tz = spec.get("timezone")
    if tz is not None:
        try:
            ZoneInfo(str(tz))
        except (ZoneInfoNotFoundError, ValueError):
            raise SourceConfigError(f"{where}: formats: timezone {tz!r} is not an IANA time zone "
                                    "(e.g. Asia/Shanghai, UTC)") from None
    date_fmt = str(spec.get("date", "YYYY-MM-DD"))
    if date_fmt not in DATE_FORMATS:
        raise SourceConfigError(f"{where}: formats: date {date_fmt!r} is not one of {sorted(DATE_FORMATS)}")
    ts_fmt = str(spec.get("timestamp", "iso8601"))
    if ts_fmt not in TIMESTAMP_FORMATS:
        raise SourceConfigError(f"{where}: formats: timestamp {ts_fmt!r} is not one of {TIMESTAMP_FORMATS}")
    boolean = spec.get("boolean") or {"true": ["true"], "false": ["false"]}
    if isinstance(boolean, dict):  # YAML reads the keys true/false as booleans
        boolean = {str(k).lower(): v for k, v in boolean.items()}
    if not isinstance(boolean, dict) or set(boolean) != {"true", "false"}:
        raise SourceConfigError(f"{where}: formats: boolean must map true and false to lists of spellings")
    spell = {k: tuple(str(v).lower() for v in (boolean[k] if isinstance(boolean[k], list) else [boolean[k]]))
             for k in ("true", "false")}
    if set(spell["true"]) & set(spell["false"]) or not spell["true"] or not spell["false"]:
        raise SourceConfigError(f"{where}: formats: boolean spellings must be non-empty and distinct")
    return Formats(timezone=None if tz is None else str(tz), date=date_fmt, timestamp=ts_fmt,
                   true=spell["true"], false=spell["false"])


def _check_pattern(pattern: object, fmt: str, where: str) -> str:
    ext = EXTENSIONS[fmt]
    if not isinstance(pattern, str) or pattern.count("{date}") != 1:
        raise SourceConfigError(f"{where}: pattern must contain {{date}} once, got {pattern!r}")
    parts = pattern.split("/")
    if "{date}" not in parts:
        raise SourceConfigError(f"{where}: pattern: {{date}} must be a whole folder name, got {pattern!r}")
    if any(ch in pattern for ch in "?[]\\") or "**" in pattern or "*" in "".join(parts[:-1]):
        raise SourceConfigError(f"{where}: pattern: only one folder level of '*' in the file name is allowed, "
                                f"got {pattern!r}")
    if parts.index("{date}") != len(parts) - 2:
        raise SourceConfigError(f"{where}: pattern: files must sit directly in the {{date}} folder, got {pattern!r}")
    if not parts[-1].endswith(ext) or parts[-1].endswith("*"):
        raise SourceConfigError(f"{where}: pattern must end in {ext!r} (a .gz copy is matched too), got {pattern!r}")
    return pattern


def _bound(value: object, typ: str, where: str) -> object:
    if value is None:
        return None
    try:
        if typ in ("integer", "bigint", "numeric"):
            return float(value) if typ == "numeric" else int(value)  # type: ignore[arg-type, call-overload]
        if typ in ("date", "timestamptz"):
            return value if isinstance(value, date) else date.fromisoformat(str(value))
    except (TypeError, ValueError):
        pass
    raise SourceConfigError(f"{where}: bound {value!r} is not a valid {typ}")


def _parse_entity(source: str, fmt: str, name: str, spec: dict, where: str,
                  formats: Formats = Formats()) -> Entity:
    where = f"{where}: entity {name}"
    _ident(name, where)
    if not isinstance(spec, dict):
        raise SourceConfigError(f"{where}: expected a mapping")
    entity_fmt = spec.get("format", fmt)
    if entity_fmt not in FORMATS:
        raise SourceConfigError(f"{where}: format {entity_fmt!r} is not one of {FORMATS}")
    pattern = _check_pattern(spec.get("pattern"), entity_fmt, where)
    columns = []
    for i, col in enumerate(spec.get("columns") or []):
        cwhere = f"{where}: columns[{i}]"
        if not isinstance(col, dict):
            raise SourceConfigError(f"{cwhere}: expected a mapping")
        cname = _ident(col.get("name"), cwhere)
        if cname.startswith("_"):
            raise SourceConfigError(f"{cwhere}: names starting with _ are reserved for lineage")
        ctype = col.get("type", "text")
        if ctype not in COLUMN_TYPES:
            raise SourceConfigError(f"{cwhere}: type {ctype!r} is not one of {COLUMN_TYPES}")
        path = tuple(str(col.get("path", cname)).split("."))
        unknown = sorted(set(col) - {"name", "type", "required", "pii", "path", "free_text", "min", "max",
                                     "max_length", "date_format"})
        if unknown:
            raise SourceConfigError(f"{cwhere}: unknown key(s) {unknown}")
        if ("min" in col or "max" in col) and ctype not in DEFAULT_RANGES:
            raise SourceConfigError(f"{cwhere}: min/max apply to numbers, dates and timestamps, not {ctype}")
        max_length = col.get("max_length")
        if max_length is not None and (ctype != "text" or not isinstance(max_length, int) or max_length < 1):
            raise SourceConfigError(f"{cwhere}: max_length must be a positive integer on a text column")
        date_format = col.get("date_format")
        if date_format is not None and (ctype != "date" or date_format not in DATE_FORMATS):
            raise SourceConfigError(f"{cwhere}: date_format must be one of {sorted(DATE_FORMATS)} on a date column")
        columns.append(
            Column(
                name=cname,
                type=ctype,
                required=bool(col.get("required", False)),
                pii=bool(col.get("pii", False)),
                path=path,
                free_text=bool(col.get("free_text", False)),
                min=_bound(col.get("min"), ctype, cwhere),
                max=_bound(col.get("max"), ctype, cwhere),
                max_length=max_length,
                date_format=date_format,
            )
        )
    if not columns:
        raise SourceConfigError(f"{where}: no columns declared")
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        raise SourceConfigError(f"{where}: duplicate column names")
    if "payload" in names and spec.get("keep_payload"):
        raise SourceConfigError(f"{where}: 'payload' is reserved when keep_payload is set")
    pk = tuple(spec.get("primary_key") or ())
    if not pk:
        raise SourceConfigError(f"{where}: primary_key is required")
    for k in pk:
        if k not in names:
            raise SourceConfigError(f"{where}: primary key column {k!r} is not declared")
    updated_at = spec.get("updated_at")
    if updated_at is not None and updated_at not in names:
        raise SourceConfigError(f"{where}: updated_at column {updated_at!r} is not declared")
    # Key columns and the version column must be present on every row; keys are never free text.
    columns = [
        replace(c, required=True, free_text=False) if c.name in pk or c.name == updated_at else c
        for c in columns
    ]
    key_bytes = sum(4 * (c.max_length or KEY_MAX_LENGTH) for c in columns if c.name in pk and c.type == "text")
    if key_bytes > INDEX_ROW_BYTES:
        raise SourceConfigError(f"{where}: the key's declared max_length allows {key_bytes} bytes; an index row "
                                f"holds at most {INDEX_ROW_BYTES}")
    return Entity(
        source=source,
        name=name,
        description=str(spec.get("description", "")),
        format=entity_fmt,
        pattern=pattern,
        primary_key=pk,
        columns=tuple(columns),
        updated_at=updated_at,
        keep_payload=bool(spec.get("keep_payload", False)),
        formats=formats,
    )


def parse_source(path: Path) -> Source:
    """Parse and validate one ``<source>.yml``."""
    where = str(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SourceConfigError(f"{where}: not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise SourceConfigError(f"{where}: expected a mapping at the top level")
    name = _ident(doc.get("source"), f"{where}: source")
    fmt = doc.get("format", "csv")
    entities_spec = doc.get("entities") or {}
    if not isinstance(entities_spec, dict) or not entities_spec:
        raise SourceConfigError(f"{where}: entities must be a non-empty mapping")
    formats = _parse_formats(doc.get("formats"), where)
    entities = tuple(_parse_entity(name, fmt, en, spec, where, formats) for en, spec in entities_spec.items())
    return Source(
        name=name,
        description=" ".join(str(doc.get("description", "")).split()),
        owner=str(doc.get("owner", "data-engineering")),
        schedule=str(doc.get("schedule", "0 2 * * *")),
        format=fmt,
        entities=entities,
        config_file=path,
    )


@lru_cache(maxsize=8)
def _load_sources(config_dir: Path) -> dict[str, Source]:
    sources: dict[str, Source] = {}
    for path in sorted((config_dir / "sources").glob("*.yml")):
        src = parse_source(path)
        if src.name in sources:
            raise SourceConfigError(f"{path}: source {src.name!r} is defined twice")
        sources[src.name] = src
    return sources


def load_sources(config_dir: Path | None = None) -> dict[str, Source]:
    """All sources defined under ``<config_dir>/sources``, by name."""
    return _load_sources((config_dir or get_settings().config_dir).resolve())


def get_source(name: str, config_dir: Path | None = None) -> Source:
    sources = load_sources(config_dir)
    try:
        return sources[name]
    except KeyError:
        raise SourceConfigError(f"no source named {name!r}; defined: {sorted(sources)}") from None
