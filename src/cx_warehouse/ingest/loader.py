"""Bulk loading of landed files into ``raw.<source>_<entity>``.

One file is one transaction, so a file is either wholly accounted for or not loaded at all:

1. ``COPY`` the file into a stage table whose columns are positional (``c1..cN``):
   names from the file header are compared with the declared columns in Python and never
   reach SQL. The stage is an unlogged table of this load, created and dropped in its
   transaction, so that the next step can run in parallel workers.
2. Type and validate in one set-based scan into a typed table (``pg_input_is_valid``,
   PostgreSQL 16+): rows that miss a required value or hold an unparseable one go to
   ``audit.quarantine`` with their reasons, file, line and raw payload.
3. Merge the valid rows: one version per primary key (latest ``updated_at``, then last in
   file), upserted so the newest ``updated_at`` wins; a key whose version is already loaded
   counts as a duplicate.
4. Record the file in ``audit.load_audit``, whose CHECK constraint holds the invariant
   ``loaded + quarantined + duplicate = read``.

Rows that ``COPY`` cannot parse at all (wrong field count, bytes that are not UTF-8) make
the fast path give way to a row-by-row parse of that file, which quarantines exactly
those rows. A file that cannot be read at all (corrupt gzip, wrong delimiter, a header
that does not match, mostly undecodable bytes) raises :class:`LoadError` naming the file
and the cause, and leaves nothing behind but a ``failed`` audit row.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import IO, TYPE_CHECKING, Any

from cx_warehouse.ingest.landing import LandedFile, LandingError, LandingZone, trusted_mtime, unchanged
from cx_warehouse.ingest.sources import CORRECTIONS_FOLDER, IDENTIFIER, LINEAGE_COLUMNS, Column, Entity
from cx_warehouse.ingest.values import ColumnSql, column_sql

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

# Errors of COPY that mean "some rows are not parseable as declared": parse row by row.
_ROW_LEVEL_COPY_ERRORS = (
    "BadCopyFileFormat",
    "CharacterNotInRepertoire",
    "UntranslatableCharacter",
    "InvalidTextRepresentation",
)
STAGE_SCHEMA = "load_stage"
"""Where a load's work tables live while its transaction runs (migration 0004 creates it)."""
_PARALLEL_MIN_BYTES = 8 << 20
"""Files from this size on are staged where parallel workers can read them (PostgreSQL's
``min_parallel_table_scan_size`` is 8 MB: a smaller stage is scanned by one process anyway)."""
_GZIP_RATIO = 5
"""What a gzip is taken to unpack to, times its size, for that choice (CSV exports reach 10-20)."""
_PARALLEL_ABOVE = 50_000
"""Staged rows above which the typing scan is offered to parallel workers."""
_ANALYZE_ABOVE = 50_000
"""Staged rows above which the planner is given statistics (too costly for small files)."""
_UNREADABLE_SHARE = 0.5
"""Above this share of undecodable records a file is called not UTF-8, not quarantined."""


class LoadError(RuntimeError):
    """A file could not be loaded; the message names the file and the cause."""


@dataclass
class RunContext:
    """Who asked for the load: an Airflow run and its data interval, or the CLI."""

    run_id: str = "manual"
    interval_start: datetime | None = None
    interval_end: datetime | None = None


@dataclass
class FileResult:
    file_path: str
    status: str
    load_id: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    rows_removed: int = 0
    delivery_kind: str = "delivery"
    extra_columns: list[str] = field(default_factory=list)
    parse_mode: str = ""
    duplicate_of: str | None = None
    duration_ms: int = 0
    error: str | None = None


@dataclass
class EntityResult:
    source: str
    entity: str
    table: str
    files: list[FileResult] = field(default_factory=list)
    skipped: int = 0

    def total(self, attr: str) -> int:
        return sum(int(getattr(f, attr)) for f in self.files if f.status == "loaded")

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "failed"]

    def summary(self) -> dict[str, Any]:
        return {
            "table": f"raw.{self.table}",
            "files_loaded": sum(1 for f in self.files if f.status == "loaded"),
            "files_skipped": self.skipped,
            "files_failed": len(self.failed),
            **{k: self.total(k) for k in (
                "rows_read", "rows_loaded", "rows_quarantined", "rows_duplicate")},
        }


# ---------------------------------------------------------------------------------------
# DDL
# ---------------------------------------------------------------------------------------
LINEAGE_INDEXED = ("_load_id", "_loaded_at")
"""Lineage columns every raw table has an index on (``raw.<table>_load_id``, ``..._loaded_at``)."""


def ensure_schema(conn: psycopg.Connection, entities: Iterable[Entity]) -> None:
    """Migrate the warehouse (``raw`` and the audit tables are migrations' own), then create each
    entity's raw table, its lineage indexes (:data:`LINEAGE_INDEXED`) and newly declared columns:
    those follow ``config/sources/*.yml``.

    Safe to run concurrently from several tasks (serialised by advisory locks).
    """
    from psycopg import sql

    from cx_warehouse.warehouse.migrations import ensure_current

    with conn.transaction():
        ensure_current(conn)
        conn.execute("select pg_advisory_xact_lock(hashtextextended('cx_warehouse:ddl', 0))")
        for e in entities:
            cols: list[sql.Composable] = [
                sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.type)) for c in e.columns]
            if e.keep_payload:
                cols.append(sql.SQL("payload jsonb"))
            cols += [
                sql.SQL("_source_file text not null"),
                sql.SQL("_load_id uuid not null"),
                sql.SQL("_loaded_at timestamptz not null"),
                sql.SQL("constraint {} primary key ({})").format(
                    sql.Identifier(f"{e.table}_pkey"),
                    sql.SQL(", ").join(map(sql.Identifier, e.primary_key)),
                ),
            ]
            table = sql.Identifier("raw", e.table)
            conn.execute(sql.SQL("create table if not exists {} ({})").format(table, sql.SQL(", ").join(cols)))
            # The daily batch: the raw gates read `_load_id = any(new loads)`, dbt's incremental
            # models `_loaded_at > last run - look-back`. Without these both scan the whole history.
            # On a table of an earlier release this builds them once (writes wait meanwhile).
            for column in LINEAGE_INDEXED:
                conn.execute(sql.SQL("create index if not exists {} on {} ({})").format(
                    sql.Identifier(f"{e.table}_{column.lstrip('_')}"), table, sql.Identifier(column)))
            for c in e.columns:
                conn.execute(
                    sql.SQL("alter table {} add column if not exists {} {}").format(
                        table, sql.Identifier(c.name), sql.SQL(c.type)
                    )
                )
                note = f"{c.type}{', required' if c.required else ''}{'; personal data' if c.pii else ''}"
                conn.execute(sql.SQL("comment on column {} is {}").format(
                    sql.Identifier("raw", e.table, c.name), sql.Literal(note)))
            conn.execute(sql.SQL("comment on table {} is {}").format(
                table, sql.Literal(f"{e.description} Landed as {e.pattern}; key ({', '.join(e.primary_key)}).")))


# ---------------------------------------------------------------------------------------
# One file
# ---------------------------------------------------------------------------------------
def _csv_header(first: bytes, entity: Entity, path: str) -> tuple[list[str], list[str]]:
    """Parse and check a CSV header line; return (file columns, extra columns).

    Messages name declared columns only: a file without its header row has data in its first
    line, and that must not reach the audit table or the logs.
    """
    if first.startswith(b"\xef\xbb\xbf"):
        first = first[3:]
    try:
        text = first.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise LoadError(f"{path}: the header line is not UTF-8 (invalid byte at position {exc.start}); "
                        "the file must be exported as UTF-8 CSV") from None
    if not text.strip():
        raise LoadError(f"{path}: the file is empty or its first line is blank; expected a header row "
                        f"with {', '.join(entity.column_names)}")
    try:
        names = [n.strip().lower() for n in next(csv.reader([text]))]
    except csv.Error:
        raise LoadError(f"{path}: the header line holds a line break inside it (a carriage return?); lines "
                        "must end in LF or CRLF: convert a file with CR-only line endings") from None
    declared = list(entity.column_names)
    if len(names) > MAX_FILE_COLUMNS:
        raise LoadError(f"{path}: the header has {len(names):,} columns; a file may have at most "
                        f"{MAX_FILE_COLUMNS:,} (PostgreSQL's limit for the stage table)")
    if len(names) == 1 and len(declared) > 1:
        for delim in (";", "\t", "|"):
            if delim in names[0]:
                raise LoadError(
                    f"{path}: wrong delimiter: the header is one column that contains {delim!r}; "
                    "expected comma-separated values")
    dupes = sorted({n for n in names if names.count(n) > 1 and n in declared})
    if dupes:
        raise LoadError(f"{path}: the header repeats column(s) {dupes}")
    missing = [c for c in declared if c not in names]
    if missing:
        known = sum(1 for n in names if n in declared)
        hint = (" Is the header row missing? The first line holds none of the declared names."
                if known == 0 else "")
        raise LoadError(
            f"{path}: the header does not match the declared columns of {entity.source}.{entity.name}: "
            f"missing {missing}; the first line has {len(names)} field(s), {known} of them declared.{hint}")
    extra = [n for n in names if n not in declared]
    return names, [n for n in extra if IDENTIFIER.match(n)] + (
        [f"({sum(1 for n in extra if not IDENTIFIER.match(n))} more, not valid names)"]
        if any(not IDENTIFIER.match(n) for n in extra) else [])


def _ident(name: str) -> str:
    from psycopg import sql

    return sql.Identifier(name).as_string(None)


def _json_path(c: Column) -> str:
    return "'{" + ",".join('"' + p.replace('"', "").replace("'", "") + '"' for p in c.path) + "}'"


MAX_FILE_COLUMNS = 1590
"""Columns a CSV file may have: its stage table holds them plus three of its own, and a
PostgreSQL table holds at most 1,600."""
JSON_MAX_NESTING = 5000
"""JSON lines with more arrays and objects than this (outside strings) are quarantined unparsed.
PostgreSQL's JSON parser recurses, and some 10^4-10^5 levels exhaust the server's stack: an error no
soft check can catch, which would fail the whole file. Their count bounds the depth from above."""
MAX_RECORD_BYTES = 64 * 1024 * 1024
"""A physical line (CSV) or JSON line longer than this is quarantined (jsonb's own limit is 256 MB)."""

# Arrays and objects outside strings; counted only on lines with that many brackets at all.
_NESTING = ("(select length(u) - length(translate(u, '[{', '')) from (select regexp_replace(line, "
            "'\"(?:[^\"\\\\]|\\\\.)*\"', '', 'g') as u) z)")
# Repeated keys: jsonb keeps the last of them, so the colons outside its text are fewer than in
# the line (a value's colons are in both). Exact walk over the json value only where they differ.
_COLONS = "(length({t}) - length(replace({t}, ':', '')))"
_REPEATS = ("exists (with recursive w(v) as (select x.line::json union all select e.value from w, lateral ("
            "select value from json_each(case when json_typeof(w.v) = 'object' then w.v end) union all "
            "select value from json_array_elements(case when json_typeof(w.v) = 'array' then w.v end)) e) "
            "select 1 from w where json_typeof(w.v) = 'object' and "
            "(select count(*) - count(distinct k) from json_object_keys(w.v) k) > 0)")


@dataclass(frozen=True)
class _Statements:
    """The set-based statements that turn the stage into quarantine rows and raw rows.

    Each value is trimmed, checked (:mod:`.values`) and cast once, in one scan of the stage
    (:attr:`typed`, which parallel workers can share); reasons are built only for the few
    failing rows.
    """

    typed: str
    """Create the typed table: per staged row ``_rec, _line, _reasons`` (NULL when every value
    passed), the key's text for failing rows (``_k_<key>``) and the cast values for the others."""
    bad: str
    quarantine: str
    """Insert the rows of a temp table ``{table}`` (``_rec, _line, reasons, raw_payload``) into the quarantine."""
    src: str
    insert_all: str
    materialise_src: str
    classify: str
    conflicts: str
    update: str
    insert_new: str
    share: str
    gone: str
    retract: str


_FENCE = "clock_timestamp() as _f{n}"
"""Keeps a subquery from being inlined into the query above it, so each value it computes is
computed once however often it is read: PostgreSQL never pulls up a subquery whose select list
calls a volatile function. ``offset 0`` does the same but keeps the level out of parallel
workers; a set-returning function (``generate_series(1, 1)``) keeps them but evaluates the
whole level twice per row (ProjectSet asks the function for a second row). This costs one
clock read per row and level."""


def _statements(entity: Entity, file_columns: list[str] | None, embedded_newlines: bool,
                stage: str = "stage", typed: str = "typed", temporary: bool = True) -> _Statements:
    """The statements for one file: ``stage`` is its stage table, ``typed`` the table
    :attr:`_Statements.typed` creates (both qualified, quoted as needed), a temporary table
    unless ``temporary`` is false (then an unlogged one the caller drops)."""
    jsonl = file_columns is None
    cols = entity.columns
    vcols = [f"v{i}" for i in range(len(cols))]
    specs = []
    for c in cols:
        if jsonl:
            specs.append(column_sql(entity, c, f"s.j #>> {_json_path(c)}", node=f"x.j #> {_json_path(c)}"))
        else:
            specs.append(column_sql(entity, c, f"s.c{(file_columns or []).index(c.name) + 1}"))
    if jsonl:
        # Fenced so each line is parsed as JSON once, not once per column.
        line_why = (f"case when octet_length(line) > {MAX_RECORD_BYTES} then 'record too long: more than "
                    f"{MAX_RECORD_BYTES:,} bytes' when length(line) - length(translate(line, '[{{', '')) > "
                    f"{JSON_MAX_NESTING} and {_NESTING} > {JSON_MAX_NESTING} then 'malformed JSON: more than "
                    f"{JSON_MAX_NESTING:,} arrays and objects (nested too deep to parse)' when not pg_input_is_valid(line, 'jsonb') then 'malformed JSON: ' "
                    "|| (pg_input_error_info(line, 'jsonb')).message end")
        stage_src = (f"(select p.*, case when p.line_why is null then p.line::jsonb end as j, {_FENCE.format(n='p')} "
                     f"from (select _rec, _line, line, {line_why} as line_why, {_FENCE.format(n='l')} from {stage} "
                     "where line is not null and btrim(line) <> '') p) s")
    else:
        stage_src = f"{stage} s"
    # One fenced level: each value trimmed (and normalised) once, read by every check and cast.
    carried = "s._rec, s._line" + (", s.line, s.j, s.line_why" if jsonl else "")
    values = ", ".join(f"{sp.value} as {v}" for sp, v in zip(specs, vcols, strict=True))
    valued = f"(select {carried}, {values}, {_FENCE.format(n='v')} from {stage_src})"

    # -- every value checked and cast once: reasons only for failing rows -------------------
    # A column checked exactly as an earlier one (updated_at as ordered_at, say) whose value
    # equals that one's in a row reuses its verdict and typed value: the check runs only where
    # they differ (or the earlier one failed, so the reason names this column).
    follows = _same_checks(entity, specs)
    whys, late_whys, conditions, reasons = [], [], [], []
    for i, (v, c, sp) in enumerate(zip(vcols, cols, specs, strict=True)):
        if c.required:
            conditions.append(f"y.{v} is not null")
            reasons.append(f"case when z.{v} is null then 'missing required value: {c.name}' end")
        if i in follows:
            j = follows[i]
            late_whys.append(f"case when y1.{v} = y1.v{j} and y1.w{j} is null then null "
                             f"else {sp.why(f'y1.{v}')} end as w{i}")
        elif (why := sp.why(f"x.{v}")) is not None:
            whys.append(f"{why} as w{i}")
        if sp.why("x") is not None:
            conditions.append(f"y.w{i} is null")
            reasons.append(f"z.w{i}")
    reason_array = "array_remove(array[" + ", ".join(reasons or ["null::text"]) + "]::text[], null)"
    ok = " and ".join(conditions) or "true"
    if jsonl:
        line_problem = ("case when x.line_why is not null then x.line_why "
                        "when jsonb_typeof(x.j) <> 'object' then 'JSON line is not an object' "
                        f"when {_COLONS.format(t='x.line')} <> {_COLONS.format(t='x.j::text')} "
                        "or strpos(lower(x.line), '\\u003a') > 0 then "
                        f"case when {_REPEATS} then 'JSON object repeats a key' end end")
        whys.append(f"{line_problem} as lp")
        reason_array = f"case when z.lp is not null then array[z.lp] else {reason_array} end"
        ok = f"y.lp is null and {ok}"
    checked = f"(select x.*{''.join(', ' + w for w in whys)}, {_FENCE.format(n='w')} from {valued} x)"
    if late_whys:
        checked = f"(select y1.*, {', '.join(late_whys)}, {_FENCE.format(n='w2')} from {checked} y1)"
    # A cast reads only values whose row passed every check (so never text its check refused).
    casts, same = [], []
    for i, (sp, v, c) in enumerate(zip(specs, vcols, cols, strict=True)):
        if i in follows:
            same.append(f"coalesce(z.{v} = z.v{follows[i]}, false) as _same_{i}")
            casts.append(f"case when z._ok and not coalesce(z.{v} = z.v{follows[i]}, false) "
                         f"then {sp.typed('z.' + v)} end as {_ident(c.name)}")
        else:
            casts.append(f"case when z._ok then {sp.typed('z.' + v)} end as {_ident(c.name)}")
    if entity.keep_payload:
        casts.append("case when z._ok then z.j end as payload")
    key_values = ", ".join(f"case when not z._ok then z.{vcols[entity.column_names.index(k)]} end as _k_{k}"
                           for k in entity.primary_key)
    typed_sql = f"""
create {"temp" if temporary else "unlogged"} table {typed}{" on commit drop" if temporary else ""} as
select z._rec, z._line, case when not z._ok then {reason_array} end as _reasons, {key_values},
       {", ".join(same + casts)}
from (select y.*, {ok} as _ok, {_FENCE.format(n='ok')}
      from {checked} y) z"""
    bad = f"""
create temp table bad on commit drop as
select _rec, _line, _reasons as reasons, {", ".join(f"_k_{k} as k_{k}" for k in entity.primary_key)}
from {typed} where _reasons is not null"""

    # -- quarantine: failing rows with their file line and raw payload ---------------------
    # The raw payload comes from the stage by _rec: only these rows pay for building it.
    payload = "s.line" if jsonl else "json_object(%(header)s::text[], array[" + ", ".join(
        f"s.c{i + 1}" for i in range(len(file_columns or []))) + "])::text"
    if jsonl:
        line_expr, prefix = "coalesce(b._line, b._rec)", ""
    elif not embedded_newlines:
        line_expr, prefix = "coalesce(b._line, b._rec + 1)", ""
    else:
        # A record's physical line also counts the newlines inside quoted fields before it.
        allcols = "array_to_string(array[" + ", ".join(f"s.c{i + 1}" for i in range(len(file_columns or []))) + "], '')"
        prefix = (f"with nl as materialized (select _rec, length(t) - length(replace(t, E'\\n', '')) as n "
                  f"from (select s._rec, {allcols} as t from {stage} s) x where strpos(t, E'\\n') > 0) ")
        line_expr = ("coalesce(b._line, b._rec + 1 + "
                     "(select coalesce(sum(nl.n), 0) from nl where nl._rec < b._rec))")
    quarantine = f"""{prefix}
insert into audit.quarantine (load_id, source, entity, file_path, line_number, reasons, raw_payload)
select %(load_id)s, %(source)s, %(entity)s, %(file_path)s, {line_expr}, b.reasons, {payload}
from {{table}} b join {stage} s using (_rec)"""

    # -- one version per key: latest updated_at, then last in file ------------------------
    # Byte order ("C") sorts far faster than the locale and de-duplicates identically; the sort
    # also hands the rows to the primary key's index in its order.
    keys = [f"{_ident(k)} collate \"C\"" if entity.column(k).type == "text" else _ident(k)
            for k in entity.primary_key]
    order = ", ".join(keys)
    if entity.updated_at:
        order += f", {_ident(entity.updated_at)} desc"
    data_cols = list(entity.column_names) + (["payload"] if entity.keep_payload else [])
    kept = ", ".join(
        f"case when t._same_{i} then t.{_ident(cols[follows[i]].name)} else t.{_ident(c.name)} end as {_ident(c.name)}"
        if i in follows else f"t.{_ident(c.name)}" for i, c in enumerate(cols))
    src = f"""
select distinct on ({", ".join(keys)}) *
from (select t._rec, {kept}{", t.payload" if entity.keep_payload else ""}
      from {typed} t where t._reasons is null) t
order by {order}, _rec desc"""

    # -- write ---------------------------------------------------------------------------
    table = f"raw.{_ident(entity.table)}"
    target = ", ".join(_ident(n) for n in data_cols + list(LINEAGE_COLUMNS))
    selected = ", ".join(f"src.{_ident(n)}" for n in data_cols) + ", %(file_path)s, %(load_id)s, now()"
    same_key = " and ".join(f"t.{_ident(k)} = src.{_ident(k)}" for k in entity.primary_key)
    first_key = _ident(entity.primary_key[0])
    # Declared columns only: a field the config does not declare (an export timestamp, say) is
    # no reason to call a re-sent row a conflict.
    same_values = (f"({', '.join('t.' + _ident(n) for n in entity.column_names)}) is not distinct from "
                   f"({', '.join('src.' + _ident(n) for n in entity.column_names)})")
    version_rule = ""
    if entity.updated_at:
        u = _ident(entity.updated_at)
        version_rule = f"when t.{u} < src.{u} then 'update' when t.{u} > src.{u} then 'duplicate' "
    # A row is new, the same as stored (a duplicate), a replacement (a correction file; a
    # re-delivery of the file that wrote the stored row; a newer version), an older version
    # (a duplicate), or a conflict: same key and version, other values, from another file.
    classify = f"""
create temp table cls on commit drop as
select src._rec, case
    when t.{first_key} is null then 'insert'
    when {same_values} then 'duplicate'
    when %(replace_any)s or (%(redelivery)s and t._source_file = %(file_path)s) then 'update'
    {version_rule}else 'conflict' end as action, t._source_file as stored_file
from src left join {table} t on {same_key}"""
    what = "same key and updated_at" if entity.updated_at else "same key"
    conflicts = f"""
create temp table conflicts on commit drop as
select s._rec, s._line, array['conflicting {"version" if entity.updated_at else "row"}: {what} as the row '
       || 'loaded from ' || c.stored_file || ', different values; to correct it, deliver it in the day''s '
       || '{CORRECTIONS_FOLDER}/ folder{", or with a newer updated_at" if entity.updated_at else ""}, or '
       || 're-deliver that file'] as reasons
from cls c join {stage} s using (_rec) where c.action = 'conflict'"""
    sets = ", ".join(f"{_ident(n)} = src.{_ident(n)}" for n in data_cols if n not in entity.primary_key)
    update = (f"update {table} t set {sets}, _source_file = %(file_path)s, _load_id = %(load_id)s, "
              f"_loaded_at = now() from src join cls using (_rec) where cls.action = 'update' and {same_key}")
    insert_new = (f"insert into {table} ({target}) select {selected} from src join cls using (_rec) "
                  "where cls.action = 'insert'")
    bad_key = " and ".join(f"t.{_ident(k)}::text = b.k_{k}" for k in entity.primary_key)
    key_text = "array[" + ", ".join(f"{{a}}.{_ident(k)}::text" for k in entity.primary_key) + "]"
    # A key this file holds unchanged while another file's row is stored: remembered, so that
    # a re-delivery of that other file without the key does not remove a row this one still holds.
    share = (f"insert into audit.shared_keys (source, entity, key_values, file_path, load_id) "
             f"select %(source)s, %(entity)s, {key_text.format(a='src')}, %(file_path)s, %(load_id)s "
             "from src join cls using (_rec) where cls.action = 'duplicate' and cls.stored_file <> %(file_path)s")
    # Keys the superseded version wrote and this one does not hold: removed, unless a standing
    # file still holds them, which then becomes the row's source.
    gone = (f"create temp table gone on commit drop as select t.ctid as row_id, held.file_path as holder "
            f"from {table} t left join lateral (select k.file_path from audit.shared_keys k "
            "join audit.load_audit a on a.load_id = k.load_id and a.status = 'loaded' and a.superseded_by is null "
            f"where k.source = %(source)s and k.entity = %(entity)s and k.key_values = {key_text.format(a='t')} "
            "and k.file_path <> %(file_path)s order by a.started_at desc limit 1) held on true "
            "where t._source_file = %(file_path)s "
            f"and not exists (select 1 from src where {same_key}) "
            f"and not exists (select 1 from bad b where {bad_key})")
    retract = (f"update {table} t set _source_file = g.holder from gone g where t.ctid = g.row_id "
               f"and g.holder is not null; delete from {table} t using gone g where t.ctid = g.row_id "
               "and g.holder is null")
    return _Statements(
        typed=typed_sql,
        bad=bad,
        quarantine=quarantine,
        src=src,
        insert_all=f"insert into {table} ({target}) select {selected} from ({src}) src",
        materialise_src=f"create temp table src on commit drop as {src}",
        classify=classify,
        conflicts=conflicts,
        update=update,
        insert_new=insert_new,
        share=share,
        gone=gone,
        retract=retract,
    )


def _same_checks(entity: Entity, specs: list[ColumnSql]) -> dict[int, int]:
    """Column index -> the earlier column whose values are checked and cast exactly the same way
    (the reasons aside, which name the column). Only typed columns: a text column's check (its
    length) costs less than the comparison; keys are left out."""
    first: dict[tuple[str, str], int] = {}
    out: dict[int, int] = {}
    for i, (c, sp) in enumerate(zip(entity.columns, specs, strict=True)):
        why = sp.why("@v@")
        if why is None or c.type == "text" or c.name in entity.primary_key:
            continue
        sig = (why.replace(f" in {c.name}: ", " in @name@: "), sp.typed("@v@"))
        if sig in first:
            out[i] = first[sig]
        else:
            first[sig] = i
    return out


class _FastPathRejected(Exception):
    """COPY could not parse the file as declared: fall back to parsing row by row."""


def _copy_fast(cur: psycopg.Cursor, landing: LandingZone, f: LandedFile,
               ncols: int | None, header_bytes: int, stage: str) -> tuple[int, str | None]:
    """Stream the file into the stage table with COPY (no Python per row).

    ``header_bytes`` of the start are skipped (the CSV header line as read). Returns the number
    of data lines (for line numbers) and, for an uncompressed file, its SHA-256, hashed on the
    way so the file is read once.
    """
    if ncols is None:
        copy = (f"copy {stage} (line) from stdin with (format csv, delimiter E'\\x01', "
                "quote E'\\x02', encoding 'UTF8')")
    else:
        cols = ", ".join(f"c{i + 1}" for i in range(ncols))
        copy = f"copy {stage} ({cols}) from stdin with (format csv, encoding 'UTF8')"
    digest = None if f.compressed else hashlib.sha256()
    lines = 0
    tail = b"\n"
    skip = header_bytes
    first = True
    last = b""
    since_newline = 0
    with cur.copy(copy) as cp:
        for chunk in landing.chunks(f):
            if digest is not None:
                digest.update(chunk)
            if skip:
                taken = min(skip, len(chunk))
                chunk, skip = chunk[taken:], skip - taken
            if first and chunk:
                first = False
                if ncols is None and chunk.startswith(b"\xef\xbb\xbf"):
                    chunk = chunk[3:]  # a BOM before the first JSON line
            if not chunk:
                continue
            # COPY treats a line holding only "\." as the end of data: never let it.
            probe = tail + chunk[:4]
            if b"\n\\.\n" in probe or b"\n\\.\r" in probe or b"\n\\.\n" in chunk or b"\n\\.\r" in chunk:
                raise _FastPathRejected("end-of-data marker")
            tail = chunk[-3:] if len(chunk) >= 3 else tail[-(3 - len(chunk)):] + chunk
            newlines = chunk.count(b"\n")
            since_newline = len(chunk) - chunk.rfind(b"\n") - 1 if newlines else since_newline + len(chunk)
            if since_newline > MAX_RECORD_BYTES:
                raise _FastPathRejected("a line longer than the record limit")
            lines += newlines
            last = chunk[-1:]
            cp.write(chunk)
    if last and last != b"\n":
        lines += 1
    if ncols is None:
        staged = cur.execute(f"select count(*) from {stage}").fetchone()[0]  # type: ignore[index]
        if staged != lines:
            raise _FastPathRejected(f"COPY saw {staged} lines, the file has {lines}")
    return lines, digest.hexdigest() if digest is not None else None


_BARE_CR = "\ue000"
"""Stands in for a CR inside a line while csv.reader parses it (a private-use character)."""


def _physical_lines(fh: IO[bytes], limit: int) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes) of each physical line, streamed: memory holds one line at most.

    A line longer than ``limit`` is read to its end and dropped: it is yielded as ``None``.
    """
    no = 0
    while True:
        line = fh.readline(limit + 1)
        if not line:
            return
        no += 1
        if len(line) > limit and not line.endswith(b"\n"):
            while (rest := fh.readline(1 << 20)) and not rest.endswith(b"\n"):
                pass
            yield no, None
            continue
        yield no, line


def _shown(text: str) -> str:
    """Text with undecodable bytes (kept as surrogates) shown as ``\\xNN``, NUL as ``\\x00``."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace").replace("\x00", "\\x00")


def _csv_payload(header: list[str], row: list[str]) -> str:
    """A CSV record as the JSON object the quarantine documents: header name -> value."""
    obj = {name: _shown(v) for name, v in zip(header, row, strict=False)}
    for i, v in enumerate(row[len(header):], start=1):
        obj[f"_extra_{i}"] = _shown(v)
    return json.dumps(obj, ensure_ascii=False)


def _copy_rows(cur: psycopg.Cursor, landing: LandingZone, f: LandedFile,
               header: list[str] | None, stage: str) -> list[tuple[int, str, str]]:
    """Parse row by row, streaming; stage the good rows; return (line, reason, payload) for the rest."""
    rejects: list[tuple[int, str, str]] = []
    good = 0
    undecodable = 0
    too_long = f"record too long: more than {MAX_RECORD_BYTES:,} bytes"
    with landing.open(f) as fh:
        lines = _physical_lines(fh, MAX_RECORD_BYTES)
        if header is None:
            with cur.copy(f"copy {stage} (line, _line) from stdin") as cp:
                for no, raw in lines:
                    if raw is None:
                        rejects.append((no, too_long, ""))
                        continue
                    if no == 1 and raw.startswith(b"\xef\xbb\xbf"):
                        raw = raw[3:]
                    raw = raw.rstrip(b"\r\n")
                    if not raw.strip():
                        continue
                    try:
                        line = raw.decode("utf-8")
                    except UnicodeDecodeError:
                        undecodable += 1
                        rejects.append((no, "invalid UTF-8 bytes", raw.decode("utf-8", "backslashreplace")))
                        continue
                    if "\x00" in line:
                        rejects.append((no, "NUL byte in line", _shown(line)))
                        continue
                    cp.write_row((line, no))
                    good += 1
        else:
            ncols = len(header)
            csv.field_size_limit(MAX_RECORD_BYTES)
            state = {"no": 0}

            def text_lines() -> Iterator[str]:
                for no, raw in lines:
                    state["no"] = no
                    if no == 1:
                        continue  # the header, already checked
                    if raw is None:
                        rejects.append((no, too_long, ""))
                        continue
                    text = raw.decode("utf-8", "surrogateescape")
                    body, end = (text[:-2], "\r\n") if text.endswith("\r\n") else (
                        (text[:-1], "\n") if text.endswith("\n") else (text, ""))
                    if "\r" in body and _BARE_CR not in body:
                        # A lone CR inside a line (unquoted in a field, as Python's own csv writer
                        # leaves it) is data in a file whose lines end in LF; csv.reader would stop.
                        body = body.replace("\r", _BARE_CR)
                    yield body + end

            reader = (r if not any(_BARE_CR in v for v in r) else [v.replace(_BARE_CR, "\r") for v in r]
                      for r in csv.reader(text_lines()))
            cols = ", ".join(f"c{i + 1}" for i in range(ncols))
            with cur.copy(f"copy {stage} ({cols}, _line) from stdin") as cp:
                start = 2
                try:
                    for row in reader:
                        end = state["no"]
                        if not row or (len(row) == 1 and not row[0].strip()):
                            start = end + 1
                            continue
                        joined = "\x1f".join(row)
                        try:
                            joined.encode("utf-8")
                        except UnicodeEncodeError:
                            undecodable += 1
                            rejects.append((start, "invalid UTF-8 bytes", _csv_payload(header, row)))
                        else:
                            if len(row) != ncols:
                                rejects.append((start, f"malformed row: expected {ncols} fields, found {len(row)}",
                                                _csv_payload(header, row)))
                            elif "\x00" in joined:
                                rejects.append((start, "NUL byte in row", _csv_payload(header, row)))
                            else:
                                cp.write_row((*row, start))
                                good += 1
                        start = end + 1
                except csv.Error as exc:
                    raise LoadError(f"{f.path}: not parseable as CSV near line {state['no']} ({exc}); "
                                    "check the quoting of that record") from None
    total = good + len(rejects)
    if undecodable > 1 and undecodable > _UNREADABLE_SHARE * total:
        first = next(line for line, reason, _ in rejects if reason == "invalid UTF-8 bytes")
        raise LoadError(
            f"{f.path}: the file is not UTF-8 text ({undecodable} of {total} records have invalid "
            f"bytes, the first at line {first}); re-export it as UTF-8")
    return rejects


class _AlreadyLoaded(Exception):
    """Another run loaded these exact bytes while this one was reading them."""


def _failure_message(f: LandedFile, exc: BaseException) -> str:
    """One sentence for an operational failure: what, which file, what to do. PostgreSQL's own
    text is left to the log: its messages and details may quote the row."""
    import psycopg

    kind = type(exc).__name__
    if isinstance(exc, LandingError):
        return str(exc)
    if isinstance(exc, (OSError, EOFError, zlib.error)):
        return (f"{f.path}: cannot read the file ({kind}); it may be truncated, still being written, "
                "or not the format its name says; deliver it again")
    if isinstance(exc, psycopg.errors.ProgramLimitExceeded):
        return (f"{f.path}: a value exceeds a PostgreSQL limit ({kind}); nothing of the file was written; "
                "declare a smaller max_length for the column in the source's config")
    if isinstance(exc, psycopg.OperationalError) and not isinstance(exc, psycopg.errors.AdminShutdown | psycopg.errors.CrashShutdown) and getattr(exc, "sqlstate", None):
        state = exc.sqlstate
        return (f"{f.path}: the warehouse could not load the file ({kind}, SQLSTATE {state}): a limit or "
                "resource of the server; nothing of it was written; the log has the details")
    if isinstance(exc, psycopg.OperationalError):
        return (f"{f.path}: the warehouse connection was lost while loading it ({kind}); nothing of the "
                "file was written; load again once the warehouse is up")
    if isinstance(exc, psycopg.Error):
        state = getattr(exc, "sqlstate", None) or "?"
        return (f"{f.path}: the warehouse refused the file ({kind}, SQLSTATE {state}); nothing of it "
                "was written; the log has the details")
    return f"{f.path}: the load failed ({kind}); nothing of the file was written; the log has the details"


def load_file(conn: psycopg.Connection, landing: LandingZone, entity: Entity, f: LandedFile,
              run: RunContext) -> FileResult:
    """Load one landed file in one transaction; see the module docstring."""
    import psycopg

    started = datetime.now().astimezone()
    read_started = time.time_ns()  # before the file is first opened: see trusted_mtime
    t0 = time.perf_counter()
    timings: dict[str, int] = {}
    load_id = str(uuid.uuid4())
    result = FileResult(file_path=f.path, status="loaded", load_id=load_id)
    sha: str | None = None
    params: dict[str, Any] = {"source": entity.source, "entity": entity.name, "file_path": f.path,
                              "load_id": load_id, "replace_any": f.kind == "correction", "redelivery": False}

    def seen_before(digest: str) -> bool:
        """True when these bytes are the current version of this path; notes a copy elsewhere."""
        rows = conn.execute(
            "select file_path from audit.load_audit where source = %s and entity = %s "
            "and file_sha256 = %s and status = 'loaded' and superseded_by is null "
            "order by file_path <> %s, started_at",
            (entity.source, entity.name, digest, f.path)).fetchall()
        if rows and rows[0][0] == f.path:
            return True
        result.duplicate_of = rows[0][0] if rows else None
        return False

    try:
        # A compressed file is hashed up front; a plain one while it streams into COPY.
        sha = landing.sha256(f) if f.compressed else None
        with conn.transaction():
            conn.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"cx_load:{entity.table}",))
            if sha is not None and seen_before(sha):
                raise _AlreadyLoaded

            file_columns: list[str] | None = None
            header_bytes = 0
            if entity.format == "csv":
                with landing.open(f) as fh:
                    first = fh.readline(1 << 20)
                if len(first) >= 1 << 20 and not first.endswith(b"\n"):
                    raise LoadError(f"{f.path}: the header line is longer than 1 MiB; is this a CSV file?")
                file_columns, result.extra_columns = _csv_header(first, entity, f.path)
                header_bytes = len(first)
                params["header"] = file_columns
                cols = ", ".join(f"c{i + 1} text" for i in range(len(file_columns)))
            else:
                cols = "line text"
            # The file's work tables. For a large file: unlogged (no WAL) but not temporary, so
            # parallel workers can read them; created, used and dropped inside this transaction,
            # under names of this load, so no other session ever sees them and a load that dies
            # takes them with it. A small file is typed by one process anyway, and temporary
            # tables cost less to create and drop (no relation files shared with the server).
            parallel = f.size * (_GZIP_RATIO if f.compressed else 1) >= _PARALLEL_MIN_BYTES
            if parallel:
                work = "w_" + load_id.replace("-", "")
                stage, typed = (f"{STAGE_SCHEMA}.{_ident(f'{work}_{part}')}" for part in ("stage", "typed"))
            else:
                stage, typed = "stage", "typed"
            conn.execute(f"create {'unlogged' if parallel else 'temp'} table {stage} ({cols}, _line bigint, "
                         f"_rec bigint generated always as identity){'' if parallel else ' on commit drop'}")
            ncols = len(file_columns) if file_columns is not None else None
            rejects: list[tuple[int, str, str]] = []
            data_lines = -1
            with conn.cursor() as cur:
                try:
                    with conn.transaction():
                        data_lines, streamed = _copy_fast(cur, landing, f, ncols, header_bytes, stage)
                    result.parse_mode = "copy"
                except (_FastPathRejected, psycopg.errors.DataError, psycopg.errors.ProgrammingError) as exc:
                    if isinstance(exc, psycopg.Error) and type(exc).__name__ not in _ROW_LEVEL_COPY_ERRORS:
                        raise
                    conn.execute(f"truncate {stage}")
                    conn.execute(f"alter table {stage} alter column _rec restart")
                    rejects = _copy_rows(cur, landing, f, file_columns, stage)
                    streamed = None if f.compressed else landing.sha256(f)
                    result.parse_mode = "row-by-row"
            if sha is None:
                sha = streamed
                if sha is not None and seen_before(sha):
                    raise _AlreadyLoaded
            params["redelivery"] = conn.execute(
                "select exists (select 1 from audit.load_audit where source = %s and entity = %s "
                "and file_path = %s and status = 'loaded' and superseded_by is null)",
                (entity.source, entity.name, f.path)).fetchone()[0]  # type: ignore[index]
            kind = "correction" if f.kind == "correction" else "redelivery" if params["redelivery"] else "delivery"
            staged = conn.execute(
                f"select count(*) from {stage} where line is not null and btrim(line) <> ''" if ncols is None
                else f"select count(*) from {stage}").fetchone()[0]  # type: ignore[index]
            timings["stage"] = int((time.perf_counter() - t0) * 1000)

            t1 = time.perf_counter()
            st = _statements(entity, file_columns, embedded_newlines=data_lines != staged, stage=stage, typed=typed,
                             temporary=not parallel)
            if parallel and staged > _PARALLEL_ABOVE:
                # The planner prices expressions as nearly free, so it would never split the typing
                # scan (the costly part) over workers: tell it handing rows over costs nothing.
                conn.execute("set local parallel_setup_cost = 0")
                conn.execute("set local parallel_tuple_cost = 0")
            conn.execute(st.typed, params)
            conn.execute(st.bad, params)
            if staged > _ANALYZE_ABOVE:
                # Temp tables have no statistics: tell the planner how few rows failed so
                # it hashes them instead of sorting the whole stage.
                conn.execute("analyze bad")
            quarantined = conn.execute(st.quarantine.format(table="bad"), params).rowcount
            timings["validate"] = int((time.perf_counter() - t1) * 1000)

            t2 = time.perf_counter()
            inserted = updated = removed = conflicts = 0
            empty = conn.execute(f"select not exists (select 1 from {entity.qualified_table})").fetchone()[0]  # type: ignore[index]
            if empty:
                inserted = conn.execute(st.insert_all, params).rowcount
            else:
                conn.execute(st.materialise_src, params)
                conn.execute(st.classify, params)
                conn.execute(st.conflicts, params)
                conflicts = conn.execute(st.quarantine.format(table="conflicts"), params).rowcount
                updated = conn.execute(st.update, params).rowcount
                inserted = conn.execute(st.insert_new, params).rowcount
                conn.execute(st.share, params)
                if kind == "redelivery":
                    conn.execute(st.gone, params)
                    update_sql, delete_sql = st.retract.split("; ")
                    conn.execute(update_sql, params)
                    removed = conn.execute(delete_sql, params).rowcount
            timings["merge"] = int((time.perf_counter() - t2) * 1000)
            if parallel:
                conn.execute(f"drop table {stage}, {typed}")

            if rejects:
                with conn.cursor() as cur, cur.copy(
                    "copy audit.quarantine (load_id, source, entity, file_path, line_number, reasons, raw_payload) "
                    "from stdin") as cp:
                    for line, reason, payload in rejects:
                        cp.write_row((load_id, entity.source, entity.name, f.path, line, [reason],
                                      payload.replace("\x00", "\\x00")))
            result.rows_read = staged + len(rejects)
            result.rows_quarantined = quarantined + conflicts + len(rejects)
            result.rows_inserted = inserted
            result.rows_updated = updated
            result.rows_loaded = inserted + updated
            result.rows_duplicate = result.rows_read - result.rows_loaded - result.rows_quarantined
            result.rows_removed = removed
            result.delivery_kind = kind
            result.duration_ms = int((time.perf_counter() - t0) * 1000)
            if params["redelivery"]:
                # Earlier versions of this file (a delivery or a correction) stop standing (before this load's audit row
                # takes the current-version slot of the unique index).
                conn.execute(
                    "update audit.load_audit set superseded_by = %s where source = %s and entity = %s "
                    "and file_path = %s and status = 'loaded' and superseded_by is null",
                    (load_id, entity.source, entity.name, f.path))
            _write_audit(conn, entity, f, sha or "", result, run, started, timings,
                         mtime_ns=trusted_mtime(f, read_started))
            # The commit that acknowledges a file waits for the disk, whatever the server or
            # role default: "N loaded" must survive a crash (one fsync per file, not per row).
            conn.execute("set local synchronous_commit = on")
    except _AlreadyLoaded:
        result.status = "skipped"
        return result
    except LoadError as exc:
        return _record_failure(conn, landing, entity, f, sha, result, run, started, str(exc))
    except psycopg.OperationalError as exc:
        log.error("loading %s failed", f.path, exc_info=True)
        if conn.broken or conn.closed:
            raise _ConnectionLost(_failure_message(f, exc)) from exc
        # Classes 53-58 (limits, resources, operator intervention) are OperationalError too.
        return _record_failure(conn, landing, entity, f, sha, result, run, started, _failure_message(f, exc))
    except (LandingError, OSError, EOFError, zlib.error, psycopg.Error) as exc:
        log.error("loading %s failed", f.path, exc_info=True)
        return _record_failure(conn, landing, entity, f, sha, result, run, started, _failure_message(f, exc))
    return result


class _ConnectionLost(Exception):
    """The warehouse went away during a file: its transaction is gone; the caller reconnects."""


def _write_audit(conn: psycopg.Connection, entity: Entity, f: LandedFile, sha: str | None, r: FileResult,
                 run: RunContext, started: datetime, timings: dict[str, int] | None, error: str | None = None,
                 mtime_ns: int | None = None) -> None:
    """One ``audit.load_audit`` row. ``file_size``, ``file_mtime_ns`` and ``file_version`` are the
    file as listed before it was read; ``mtime_ns`` is None when that time cannot vouch for the
    bytes (:func:`~cx_warehouse.ingest.landing.trusted_mtime`)."""
    from psycopg.types.json import Jsonb

    conn.execute(
        """insert into audit.load_audit (load_id, source, entity, target_table, file_path, file_size,
               file_sha256, delivery_date, status, rows_read, rows_loaded, rows_inserted, rows_updated,
               rows_quarantined, rows_duplicate, extra_columns, parse_mode, duplicate_of, run_id,
               data_interval_start, data_interval_end, started_at, finished_at, duration_ms, timings_ms, error,
               delivery_kind, rows_removed, file_mtime_ns, file_version)
           values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                   clock_timestamp(), %s, %s, %s, %s, %s, %s, %s)""",
        (r.load_id, entity.source, entity.name, f"raw.{entity.table}", f.path, f.size, sha, f.delivery_date,
         r.status, r.rows_read, r.rows_loaded, r.rows_inserted, r.rows_updated, r.rows_quarantined,
         r.rows_duplicate, r.extra_columns, r.parse_mode or None, r.duplicate_of, run.run_id,
         run.interval_start, run.interval_end, started, r.duration_ms,
         Jsonb(timings) if timings is not None else None, error,
         r.delivery_kind if r.status == "loaded" else ("correction" if f.kind == "correction" else "delivery"),
         r.rows_removed, mtime_ns, f.version))


def _record_failure(conn: psycopg.Connection, landing: LandingZone, entity: Entity, f: LandedFile,
                    sha: str | None, r: FileResult, run: RunContext, started: datetime,
                    message: str) -> FileResult:
    """The file's transaction is rolled back; keep a trace of the attempt and why it failed."""
    if sha is None:
        try:
            sha = landing.sha256(f)
        except (OSError, EOFError, zlib.error, LandingError):
            sha = None
    failed = FileResult(file_path=f.path, status="failed", load_id=str(uuid.uuid4()), error=message,
                        extra_columns=r.extra_columns)
    with conn.transaction():
        _write_audit(conn, entity, f, sha, failed, run, started, None, error=message)
    log.error("%s", message)
    return failed


# ---------------------------------------------------------------------------------------
# One entity
# ---------------------------------------------------------------------------------------
_PG_TYPES = {"timestamptz": "timestamp with time zone"}


def schema_problem(conn: psycopg.Connection, entity: Entity) -> str | None:
    """Why the raw table cannot take this entity as configured (a changed key or type), or None.

    ``ensure_schema`` adds new columns but never rewrites a key or a type: the stored rows were
    de-duplicated on the old key and typed by the old type, so that is a decision for a person.
    """
    table = entity.qualified_table
    rows = conn.execute(
        """select a.attname, format_type(a.atttypid, a.atttypmod),
                  coalesce(array_position(c.conkey, a.attnum), 0)
           from pg_attribute a left join pg_constraint c on c.conrelid = a.attrelid and c.contype = 'p'
           where a.attrelid = to_regclass(%s) and a.attnum > 0 and not a.attisdropped""", (table,)).fetchall()
    if not rows:
        return None
    where = entity_config_file(entity)
    pk = [name for name, _, pos in sorted(rows, key=lambda r: r[2]) if pos]
    if pk != list(entity.primary_key):
        return (f"{table} has primary key ({', '.join(pk)}) but {where} declares ({', '.join(entity.primary_key)}): "
                "stored rows were de-duplicated on the old key, so nothing is loaded with the new one; "
                "docs/ingestion.md ('Changing a key or a type') says how to reload under it")
    types = {name: typ for name, typ, _ in rows}
    for c in entity.columns:
        stored = types.get(c.name)
        if stored is not None and stored != _PG_TYPES.get(c.type, c.type):
            return (f"{table}.{c.name} is {stored} but {where} declares {c.type}: nothing is loaded until "
                    "they agree; docs/ingestion.md ('Changing a key or a type') says how")
    return None


def entity_config_file(entity: Entity) -> str:
    return f"config/sources/{entity.source}.yml"


RECONNECT_ATTEMPTS = (1.0, 3.0, 9.0)
"""Seconds to wait before each attempt to reach the warehouse again after it went away."""


@dataclass(frozen=True)
class _Loaded:
    """The current (loaded, not superseded) version of one path, as ``audit.load_audit`` has it."""

    load_id: str
    sha256: str | None
    size: int | None
    mtime_ns: int | None
    version: str | None


def load_entity(entity: Entity, *, url: str, landing: LandingZone, until: date | None = None,
                run: RunContext | None = None,
                progress: Callable[[FileResult], None] | None = None,
                rehash: bool = False) -> EntityResult:
    """Load every landed file of ``entity`` delivered before ``until`` and not yet loaded.

    A file whose current version (same path, same checksum) is loaded is skipped, so
    re-running a data interval or retrying a task changes nothing. Whether it is that version
    is decided without opening it when the listing shows the size, modification time (and
    object version) recorded for it (:func:`~cx_warehouse.ingest.landing.unchanged`): a daily
    run reads only new and changed files, not the history. A file whose stamp changed is hashed;
    the same bytes are skipped (and the new stamp recorded), other bytes are a re-delivery.
    ``rehash`` hashes every loaded file whatever its stamp (``cxw load --rehash``). Files that fail are
    recorded and the remaining files still load; the caller decides whether failures fail
    the task. If the warehouse goes away mid-file, that file's transaction is lost whole; the
    failure is recorded once the warehouse answers again and the entity stops there (the next
    run resumes), raising :class:`LoadError` if it never answers.
    """
    from cx_warehouse.warehouse.connection import connect

    run = run or RunContext()
    out = EntityResult(entity.source, entity.name, entity.table)
    files = landing.find(entity, until)
    with connect(url, autocommit=True) as conn:
        conn.execute("set work_mem = '256MB'")
        conn.execute("set maintenance_work_mem = '256MB'")
        # Dates and times are checked by printing them back (values.py): in ISO, whatever the server says.
        conn.execute("set datestyle = 'ISO, YMD'")
        # One query for the entity, not one per file: what each path's current version is.
        current = {
            path: _Loaded(str(load_id), sha, size, mtime, version) for path, load_id, sha, size, mtime, version
            in conn.execute(
                "select file_path, load_id, file_sha256, file_size, file_mtime_ns, file_version "
                "from audit.load_audit where source = %s and entity = %s "
                "and status = 'loaded' and superseded_by is null",
                (entity.source, entity.name)).fetchall()
        }
        problem = schema_problem(conn, entity)
        verified: list[tuple[int, int | None, str | None, str]] = []
        for f in files:
            loaded = current.get(f.path)
            if loaded is not None and not rehash and unchanged(f, loaded.size, loaded.mtime_ns, loaded.version):
                out.skipped += 1  # not opened: the listing shows the version that was loaded
                continue
            try:
                if loaded is not None:
                    read_started = time.time_ns()
                    if landing.sha256(f) == loaded.sha256:
                        out.skipped += 1  # touched, or loaded by a release that kept no stamp
                        verified.append((f.size, trusted_mtime(f, read_started), f.version, loaded.load_id))
                        continue
            except (LandingError, OSError, EOFError, zlib.error):
                pass  # load_file records why the file cannot be read
            if problem is not None:
                r = _record_failure(conn, landing, entity, f, None, FileResult(f.path, "failed"), run,
                                    datetime.now().astimezone(), f"{f.path}: not loaded: {problem}")
            else:
                try:
                    r = load_file(conn, landing, entity, f, run)
                except _ConnectionLost as lost:
                    out.files.append(_record_after_reconnect(url, landing, entity, f, run, str(lost)))
                    return out
            if r.status == "skipped":
                out.skipped += 1
                continue
            out.files.append(r)
            if progress:
                progress(r)
        if verified:
            # The same bytes under a new stamp: remember it, so the next run need not read them.
            with conn.cursor() as cur:
                cur.executemany(
                    "update audit.load_audit set file_size = %s, file_mtime_ns = %s, file_version = %s "
                    "where load_id = %s and status = 'loaded'", verified)
    return out


def _record_after_reconnect(url: str, landing: LandingZone, entity: Entity, f: LandedFile, run: RunContext,
                            message: str) -> FileResult:
    """Record a failure caused by a lost connection, once the warehouse answers again."""
    import psycopg

    from cx_warehouse.warehouse.connection import connect

    started = datetime.now().astimezone()
    for wait in RECONNECT_ATTEMPTS:
        time.sleep(wait)
        try:
            with connect(url, autocommit=True) as conn:
                return _record_failure(conn, landing, entity, f, None, FileResult(f.path, "failed"), run,
                                       started, message)
        except psycopg.OperationalError:
            continue
    raise LoadError(f"{message}. The warehouse did not answer again, so this failure is not in "
                    "audit.load_audit either")


def result_dict(r: EntityResult) -> dict[str, Any]:
    d = r.summary()
    d["failures"] = [asdict(f) for f in r.failed]
    return d
