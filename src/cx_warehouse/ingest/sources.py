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
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from cx_warehouse.config.settings import get_settings

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
"""Lower-case SQL identifiers only: anything else in a config or a file header is rejected."""

COLUMN_TYPES = ("text", "integer", "bigint", "numeric", "boolean", "date", "timestamptz")
FORMATS = ("csv", "jsonl")
LINEAGE_COLUMNS = ("_source_file", "_load_id", "_loaded_at")


class SourceConfigError(ValueError):
    """A source definition is invalid; the message names the file and the field."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = False
    pii: bool = False
    path: tuple[str, ...] = ()
    """For JSON lines: the keys leading to the value (defaults to ``(name,)``)."""


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


def _parse_entity(source: str, fmt: str, name: str, spec: dict, where: str) -> Entity:
    where = f"{where}: entity {name}"
    _ident(name, where)
    if not isinstance(spec, dict):
        raise SourceConfigError(f"{where}: expected a mapping")
    entity_fmt = spec.get("format", fmt)
    if entity_fmt not in FORMATS:
        raise SourceConfigError(f"{where}: format {entity_fmt!r} is not one of {FORMATS}")
    pattern = spec.get("pattern")
    if not isinstance(pattern, str) or pattern.count("{date}") != 1:
        raise SourceConfigError(f"{where}: pattern must contain {{date}} once, got {pattern!r}")
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
        columns.append(
            Column(
                name=cname,
                type=ctype,
                required=bool(col.get("required", False)),
                pii=bool(col.get("pii", False)),
                path=path,
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
    # Key columns and the version column must be present on every row.
    columns = [
        Column(c.name, c.type, True, c.pii, c.path) if c.name in pk or c.name == updated_at else c
        for c in columns
    ]
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
    entities = tuple(_parse_entity(name, fmt, en, spec, where) for en, spec in entities_spec.items())
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
