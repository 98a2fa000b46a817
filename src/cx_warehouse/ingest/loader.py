"""Bulk loading of landed files into ``raw.<source>_<entity>``.

One file is one transaction, so a file is either wholly accounted for or not loaded at all:

1. ``COPY`` the file into a temporary stage table whose columns are positional (``c1..cN``):
   names from the file header are compared with the declared columns in Python and never
   reach SQL.
2. Type and validate in one set-based statement (``pg_input_is_valid``, PostgreSQL 16+):
   rows that miss a required value or hold an unparseable one go to ``audit.quarantine``
   with their reasons, file, line and raw payload.
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
import io
import logging
import time
import uuid
import zlib
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from cx_warehouse.ingest.landing import LandedFile, LandingZone
from cx_warehouse.ingest.sources import LINEAGE_COLUMNS, Column, Entity

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
def ensure_schema(conn: psycopg.Connection, entities: Iterable[Entity]) -> None:
    """Migrate the warehouse (``raw`` and the audit tables are migrations' own), then create each
    entity's raw table and add newly declared columns: those follow ``config/sources/*.yml``.

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
    """Parse and check a CSV header line; return (file columns, extra columns)."""
    if first.startswith(b"\xef\xbb\xbf"):
        first = first[3:]
    try:
        text = first.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise LoadError(f"{path}: the header line is not UTF-8 ({exc.reason} at byte {exc.start}); "
                        "the file must be exported as UTF-8 CSV") from None
    if not text.strip():
        raise LoadError(f"{path}: the file is empty or its first line is blank; expected a header row "
                        f"with {', '.join(entity.column_names)}")
    names = [n.strip().lower() for n in next(csv.reader([text]))]
    declared = list(entity.column_names)
    if len(names) == 1 and len(declared) > 1:
        for delim in (";", "\t", "|"):
            if delim in names[0]:
                raise LoadError(
                    f"{path}: wrong delimiter: the header is one column that contains {delim!r}; "
                    "expected comma-separated values")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise LoadError(f"{path}: the header repeats column(s) {dupes}")
    missing = [c for c in declared if c not in names]
    if missing:
        raise LoadError(
            f"{path}: the header does not match the declared columns of {entity.source}.{entity.name}: "
            f"missing {missing}; found {names[:20]}{' ...' if len(names) > 20 else ''}")
    extra = [n for n in names if n not in declared]
    return names, extra


def _raw_value(entity: Entity, c: Column, file_columns: list[str] | None) -> str:
    """SQL giving one declared column's raw text value from the stage row ``s`` (empty -> NULL)."""
    if file_columns is not None:  # CSV: the positional stage column holding this header name
        return f"nullif(s.c{file_columns.index(c.name) + 1}, '')"
    path = "{" + ",".join('"' + p.replace('"', "") + '"' for p in c.path) + "}"
    return f"nullif(s.j #>> '{path}', '')"


def _ident(name: str) -> str:
    from psycopg import sql

    return sql.Identifier(name).as_string(None)


@dataclass(frozen=True)
class _Statements:
    """The set-based statements that turn the stage into quarantine rows and raw rows.

    Each value is validated once (``pg_input_is_valid``) and cast once; reasons are built
    only for the few failing rows, which are all that is materialised besides the stage.
    """

    bad: str
    quarantine: str
    src: str
    insert_all: str
    materialise_src: str
    update: str | None
    insert_new: str


def _statements(entity: Entity, file_columns: list[str] | None, embedded_newlines: bool) -> _Statements:
    raw = [_raw_value(entity, c, file_columns) for c in entity.columns]
    vcols = [f"v{i}" for i in range(len(entity.columns))]
    jsonl = file_columns is None
    if jsonl:
        # Fenced (offset 0) so each line is parsed as JSON once, not once per column.
        stage_src = ("(select _rec, _line, line, case when pg_input_is_valid(line, 'jsonb') "
                     "then line::jsonb end as j from stage "
                     "where line is not null and btrim(line) <> '' offset 0) s")
    else:
        stage_src = "stage s"

    # -- rows that fail: validity flags once per value, reasons only for failing rows ----
    flags, conditions, reasons = [], [], []
    for i, (v, c) in enumerate(zip(vcols, entity.columns, strict=True)):
        if c.required:
            conditions.append(f"{v} is not null")
            reasons.append(f"case when {v} is null then 'missing required value: {c.name}' end")
        if c.type != "text":
            flags.append(f"pg_input_is_valid({v}, '{c.type}') as ok{i}")
            conditions.append(f"coalesce(ok{i}, true)")
            reasons.append(f"case when not ok{i} then 'invalid {c.type} in {c.name}: ' "
                           f"|| quote_literal(left({v}, 40)) end")
    reason_array = "array_remove(array[" + ", ".join(reasons or ["null::text"]) + "]::text[], null)"
    ok = " and ".join(conditions) or "true"
    if jsonl:
        not_object = ("case when y.j is null then 'malformed JSON' "
                      "when jsonb_typeof(y.j) <> 'object' then 'JSON line is not an object' end")
        reason_array = (f"case when y.j is null or jsonb_typeof(y.j) <> 'object' then array[{not_object}] "
                        f"else {reason_array} end")
        ok = f"y.j is not null and jsonb_typeof(y.j) = 'object' and {ok}"
    values = ", ".join(f"{e} as {v}" for e, v in zip(raw, vcols, strict=True))
    if jsonl:
        payload = "y.line"
    else:
        payload = "json_object(%(header)s::text[], array[" + ", ".join(
            f"y.c{i + 1}" for i in range(len(file_columns or []))) + "])::text"
    bad = f"""
create temp table bad on commit drop as
select y._rec, y._line, {reason_array} as reasons, {payload} as raw_payload
from (select x.*{''.join(', ' + f for f in flags)}
      from (select s.*, {values} from {stage_src} offset 0) x
      offset 0) y
where not ({ok})"""

    # -- quarantine: the failing rows with their file line and raw payload -----------------
    if jsonl:
        line_expr, prefix = "coalesce(b._line, b._rec)", ""
    elif not embedded_newlines:
        line_expr, prefix = "coalesce(b._line, b._rec + 1)", ""
    else:
        # A record's physical line also counts the newlines inside quoted fields before it.
        allcols = "concat(" + ", ".join(f"s.c{i + 1}" for i in range(len(file_columns or []))) + ")"
        prefix = (f"with nl as materialized (select _rec, length(t) - length(replace(t, E'\\n', '')) as n "
                  f"from (select s._rec, {allcols} as t from stage s) x where strpos(t, E'\\n') > 0) ")
        line_expr = ("coalesce(b._line, b._rec + 1 + "
                     "(select coalesce(sum(nl.n), 0) from nl where nl._rec < b._rec))")
    quarantine = f"""{prefix}
insert into audit.quarantine (load_id, source, entity, file_path, line_number, reasons, raw_payload)
select %(load_id)s, %(source)s, %(entity)s, %(file_path)s, {line_expr}, b.reasons, b.raw_payload
from bad b"""

    # -- one version per key: latest updated_at, then last in file ------------------------
    casts = [
        f"{e}::{c.type} as {_ident(c.name)}" if c.type != "text" else f"{e} as {_ident(c.name)}"
        for e, c in zip(raw, entity.columns, strict=True)
    ]
    if entity.keep_payload:
        casts.append("s.j as payload")
    # Byte order ("C") sorts far faster than the locale and de-duplicates identically.
    keys = [f"{_ident(k)} collate \"C\"" if entity.column(k).type == "text" else _ident(k)
            for k in entity.primary_key]
    order = ", ".join(keys)
    if entity.updated_at:
        order += f", {_ident(entity.updated_at)} desc"
    src = f"""
select distinct on ({", ".join(keys)}) *
from (select s._rec, {", ".join(casts)}
      from {stage_src}
      where not exists (select 1 from bad b where b._rec = s._rec)) t
order by {order}, _rec desc"""

    # -- write: plain insert into an empty table; else update newer versions, insert new keys
    table = f"raw.{_ident(entity.table)}"
    data_cols = list(entity.column_names) + (["payload"] if entity.keep_payload else [])
    target = ", ".join(_ident(n) for n in data_cols + list(LINEAGE_COLUMNS))
    selected = ", ".join(f"src.{_ident(n)}" for n in data_cols) + ", %(file_path)s, %(load_id)s, now()"
    same_key = " and ".join(f"t.{_ident(k)} = src.{_ident(k)}" for k in entity.primary_key)
    update = None
    if entity.updated_at:
        sets = ", ".join(f"{_ident(n)} = src.{_ident(n)}" for n in data_cols if n not in entity.primary_key)
        update = (f"update {table} t set {sets}, _source_file = %(file_path)s, _load_id = %(load_id)s, "
                  f"_loaded_at = now() from src where {same_key} "
                  f"and t.{_ident(entity.updated_at)} < src.{_ident(entity.updated_at)}")
    return _Statements(
        bad=bad,
        quarantine=quarantine,
        src=src,
        insert_all=f"insert into {table} ({target}) select {selected} from ({src}) src",
        materialise_src=f"create temp table src on commit drop as {src}",
        update=update,
        insert_new=(f"insert into {table} ({target}) select {selected} from src "
                    f"where not exists (select 1 from {table} t where {same_key})"),
    )


class _FastPathRejected(Exception):
    """COPY could not parse the file as declared: fall back to parsing row by row."""


def _copy_fast(cur: psycopg.Cursor, landing: LandingZone, f: LandedFile,
               ncols: int | None, skip_header: bool) -> tuple[int, str | None]:
    """Stream the file into the stage table with COPY (no Python per row).

    Returns the number of data lines (for line numbers) and, for an uncompressed file,
    its SHA-256, hashed on the way so the file is read once.
    """
    if ncols is None:
        copy = ("copy stage (line) from stdin with (format csv, delimiter E'\\x01', "
                "quote E'\\x02', encoding 'UTF8')")
    else:
        cols = ", ".join(f"c{i + 1}" for i in range(ncols))
        copy = f"copy stage ({cols}) from stdin with (format csv, encoding 'UTF8')"
    digest = None if f.compressed else hashlib.sha256()
    lines = 0
    tail = b"\n"
    header_done = not skip_header
    last = b""
    with cur.copy(copy) as cp:
        for chunk in landing.chunks(f):
            if digest is not None:
                digest.update(chunk)
            if not header_done:
                nl = chunk.find(b"\n")
                if nl < 0:
                    raise LoadError(f"{f.path}: header line is longer than 1 MiB")
                chunk = chunk[nl + 1 :]
                header_done = True
            # COPY treats a line holding only "\." as the end of data: never let it.
            probe = tail + chunk[:4]
            if b"\n\\.\n" in probe or b"\n\\.\r" in probe or b"\n\\.\n" in chunk or b"\n\\.\r" in chunk:
                raise _FastPathRejected("end-of-data marker")
            tail = chunk[-3:] if len(chunk) >= 3 else tail[-(3 - len(chunk)):] + chunk
            lines += chunk.count(b"\n")
            if chunk:
                last = chunk[-1:]
            cp.write(chunk)
    if last and last != b"\n":
        lines += 1
    if ncols is None:
        staged = cur.execute("select count(*) from stage").fetchone()[0]  # type: ignore[index]
        if staged != lines:
            raise _FastPathRejected(f"COPY saw {staged} lines, the file has {lines}")
    return lines, digest.hexdigest() if digest is not None else None


def _read_all(landing: LandingZone, f: LandedFile) -> bytes:
    with landing.open(f) as fh:
        return fh.read()


def _copy_rows(cur: psycopg.Cursor, landing: LandingZone, f: LandedFile,
               ncols: int | None) -> tuple[list[tuple[int, str, str]], str]:
    """Parse row by row; stage the good rows; return (line, reason, payload) for the rest
    and the SHA-256 of the bytes as read."""
    data = _read_all(landing, f)
    digest = hashlib.sha256(data).hexdigest()
    rejects: list[tuple[int, str, str]] = []
    good = 0
    undecodable = 0

    def shown(text: str) -> str:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")

    if ncols is None:
        with cur.copy("copy stage (line, _line) from stdin") as cp:
            for no, raw in enumerate(data.split(b"\n"), start=1):
                raw = raw.rstrip(b"\r")
                if not raw.strip():
                    continue
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    undecodable += 1
                    rejects.append((no, "invalid UTF-8 bytes", raw.decode("utf-8", "backslashreplace")))
                    continue
                if "\x00" in line:
                    rejects.append((no, "NUL byte in line", line.replace("\x00", "\\x00")))
                    continue
                cp.write_row((line, no))
                good += 1
    else:
        csv.field_size_limit(1 << 30)
        text = data.decode("utf-8", "surrogateescape")
        if text.startswith("\ufeff"):
            text = text[1:]
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            next(reader)  # header, already checked
        except StopIteration:
            return rejects, digest
        cols = ", ".join(f"c{i + 1}" for i in range(ncols))
        with cur.copy(f"copy stage ({cols}, _line) from stdin") as cp:
            start = reader.line_num + 1
            try:
                for row in reader:
                    end = reader.line_num
                    if not row or (len(row) == 1 and not row[0].strip()):
                        start = end + 1
                        continue
                    joined = "\x1f".join(row)
                    payload = shown(",".join(row))
                    try:
                        joined.encode("utf-8")
                    except UnicodeEncodeError:
                        undecodable += 1
                        rejects.append((start, "invalid UTF-8 bytes", payload))
                    else:
                        if len(row) != ncols:
                            rejects.append(
                                (start, f"malformed row: expected {ncols} fields, found {len(row)}", payload))
                        elif "\x00" in joined:
                            rejects.append((start, "NUL byte in row", payload.replace("\x00", "\\x00")))
                        else:
                            cp.write_row((*row, start))
                            good += 1
                    start = end + 1
            except csv.Error as exc:
                raise LoadError(f"{f.path}: not parseable as CSV near line {reader.line_num}: {exc}") from None
    total = good + len(rejects)
    if undecodable > 1 and undecodable > _UNREADABLE_SHARE * total:
        first = next(line for line, reason, _ in rejects if reason == "invalid UTF-8 bytes")
        raise LoadError(
            f"{f.path}: the file is not UTF-8 text ({undecodable} of {total} records have invalid "
            f"bytes, the first at line {first}); re-export it as UTF-8")
    return rejects, digest


class _AlreadyLoaded(Exception):
    """Another run loaded these exact bytes while this one was reading them."""


def load_file(conn: psycopg.Connection, landing: LandingZone, entity: Entity, f: LandedFile,
              run: RunContext) -> FileResult:
    """Load one landed file in one transaction; see the module docstring."""
    import psycopg

    started = datetime.now().astimezone()
    t0 = time.perf_counter()
    timings: dict[str, int] = {}
    load_id = str(uuid.uuid4())
    result = FileResult(file_path=f.path, status="loaded", load_id=load_id)
    # A compressed file is hashed up front; a plain one while it streams into COPY.
    sha: str | None = landing.sha256(f) if f.compressed else None
    params: dict[str, Any] = {"source": entity.source, "entity": entity.name, "file_path": f.path,
                              "load_id": load_id}

    def seen_before(digest: str) -> bool:
        """True when these bytes are already loaded from this path; notes a copy elsewhere."""
        rows = conn.execute(
            "select file_path from audit.load_audit where source = %s and entity = %s "
            "and file_sha256 = %s and status = 'loaded' order by file_path <> %s, started_at",
            (entity.source, entity.name, digest, f.path)).fetchall()
        if rows and rows[0][0] == f.path:
            return True
        result.duplicate_of = rows[0][0] if rows else None
        return False

    try:
        with conn.transaction():
            conn.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"cx_load:{entity.table}",))
            if sha is not None and seen_before(sha):
                raise _AlreadyLoaded

            file_columns: list[str] | None = None
            if entity.format == "csv":
                with landing.open(f) as fh:
                    first = fh.readline(1 << 20)
                file_columns, result.extra_columns = _csv_header(first, entity, f.path)
                params["header"] = file_columns
                cols = ", ".join(f"c{i + 1} text" for i in range(len(file_columns)))
            else:
                cols = "line text"
            conn.execute(f"create temp table stage ({cols}, _line bigint, "
                         "_rec bigint generated always as identity) on commit drop")
            ncols = len(file_columns) if file_columns is not None else None
            rejects: list[tuple[int, str, str]] = []
            data_lines = -1
            with conn.cursor() as cur:
                try:
                    with conn.transaction():
                        data_lines, streamed = _copy_fast(cur, landing, f, ncols, skip_header=ncols is not None)
                    result.parse_mode = "copy"
                except (_FastPathRejected, psycopg.errors.DataError, psycopg.errors.ProgrammingError) as exc:
                    if isinstance(exc, psycopg.Error) and type(exc).__name__ not in _ROW_LEVEL_COPY_ERRORS:
                        raise
                    conn.execute("truncate stage")
                    conn.execute("alter table stage alter column _rec restart")
                    rejects, read_sha = _copy_rows(cur, landing, f, ncols)
                    streamed = None if f.compressed else read_sha
                    result.parse_mode = "row-by-row"
            if sha is None:
                sha = streamed
                if sha is not None and seen_before(sha):
                    raise _AlreadyLoaded
            staged = conn.execute(
                "select count(*) from stage where line is not null and btrim(line) <> ''" if ncols is None
                else "select count(*) from stage").fetchone()[0]  # type: ignore[index]
            timings["stage"] = int((time.perf_counter() - t0) * 1000)

            t1 = time.perf_counter()
            st = _statements(entity, file_columns, embedded_newlines=data_lines != staged)
            conn.execute(st.bad, params)
            if staged > _ANALYZE_ABOVE:
                # Temp tables have no statistics: tell the planner how few rows failed so
                # it hashes them instead of sorting the whole stage.
                conn.execute("analyze bad")
            quarantined = conn.execute(st.quarantine, params).rowcount
            timings["validate"] = int((time.perf_counter() - t1) * 1000)

            t2 = time.perf_counter()
            inserted = updated = 0
            empty = conn.execute(f"select not exists (select 1 from {entity.qualified_table})").fetchone()[0]  # type: ignore[index]
            if empty:
                inserted = conn.execute(st.insert_all, params).rowcount
            else:
                conn.execute(st.materialise_src, params)
                if st.update is not None:
                    updated = conn.execute(st.update, params).rowcount
                inserted = conn.execute(st.insert_new, params).rowcount
            timings["merge"] = int((time.perf_counter() - t2) * 1000)

            if rejects:
                with conn.cursor() as cur, cur.copy(
                    "copy audit.quarantine (load_id, source, entity, file_path, line_number, reasons, raw_payload) "
                    "from stdin") as cp:
                    for line, reason, payload in rejects:
                        cp.write_row((load_id, entity.source, entity.name, f.path, line, [reason],
                                      payload.replace("\x00", "\\x00")))
            result.rows_read = staged + len(rejects)
            result.rows_quarantined = quarantined + len(rejects)
            result.rows_inserted = inserted
            result.rows_updated = updated
            result.rows_loaded = inserted + updated
            result.rows_duplicate = result.rows_read - result.rows_loaded - result.rows_quarantined
            result.duration_ms = int((time.perf_counter() - t0) * 1000)
            _write_audit(conn, entity, f, sha or "", result, run, started, timings)
    except _AlreadyLoaded:
        result.status = "skipped"
        return result
    except LoadError as exc:
        return _record_failure(conn, landing, entity, f, sha, result, run, started, str(exc))
    except (OSError, EOFError, zlib.error) as exc:
        return _record_failure(conn, landing, entity, f, sha, result, run, started,
                               f"{f.path}: cannot read the file ({type(exc).__name__}: {exc}); "
                               "it may be truncated or not the format its name says")
    except psycopg.errors.DataError as exc:
        return _record_failure(conn, landing, entity, f, sha, result, run, started,
                               f"{f.path}: the database rejected the data: {str(exc).splitlines()[0]}")
    return result


def _write_audit(conn: psycopg.Connection, entity: Entity, f: LandedFile, sha: str | None, r: FileResult,
                 run: RunContext, started: datetime, timings: dict[str, int] | None, error: str | None = None) -> None:
    from psycopg.types.json import Jsonb

    conn.execute(
        """insert into audit.load_audit (load_id, source, entity, target_table, file_path, file_size,
               file_sha256, delivery_date, status, rows_read, rows_loaded, rows_inserted, rows_updated,
               rows_quarantined, rows_duplicate, extra_columns, parse_mode, duplicate_of, run_id,
               data_interval_start, data_interval_end, started_at, finished_at, duration_ms, timings_ms, error)
           values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                   clock_timestamp(), %s, %s, %s)""",
        (r.load_id, entity.source, entity.name, f"raw.{entity.table}", f.path, f.size, sha, f.delivery_date,
         r.status, r.rows_read, r.rows_loaded, r.rows_inserted, r.rows_updated, r.rows_quarantined,
         r.rows_duplicate, r.extra_columns, r.parse_mode or None, r.duplicate_of, run.run_id,
         run.interval_start, run.interval_end, started, r.duration_ms,
         Jsonb(timings) if timings is not None else None, error))


def _record_failure(conn: psycopg.Connection, landing: LandingZone, entity: Entity, f: LandedFile,
                    sha: str | None, r: FileResult, run: RunContext, started: datetime,
                    message: str) -> FileResult:
    """The file's transaction is rolled back; keep a trace of the attempt and why it failed."""
    if sha is None:
        try:
            sha = landing.sha256(f)
        except OSError:
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
def load_entity(entity: Entity, *, url: str, landing: LandingZone, until: date | None = None,
                run: RunContext | None = None,
                progress: Callable[[FileResult], None] | None = None) -> EntityResult:
    """Load every landed file of ``entity`` delivered before ``until`` and not yet loaded.

    A file already loaded with the same checksum is skipped, so re-running a data
    interval or retrying a task changes nothing. Files that fail are recorded and the
    remaining files still load; the caller decides whether failures fail the task.
    """
    from cx_warehouse.warehouse.connection import connect

    run = run or RunContext()
    out = EntityResult(entity.source, entity.name, entity.table)
    files = landing.find(entity, until)
    with connect(url, autocommit=True) as conn:
        conn.execute("set work_mem = '256MB'")
        conn.execute("set maintenance_work_mem = '256MB'")
        # A commit lost in a crash takes its file's audit row with it, so the next run
        # simply loads that file again: no need to wait for each of thousands of fsyncs.
        conn.execute("set synchronous_commit = off")
        loaded = {
            (p, s) for p, s in conn.execute(
                "select file_path, file_sha256 from audit.load_audit "
                "where source = %s and entity = %s and status = 'loaded'",
                (entity.source, entity.name)).fetchall()
        }
        loaded_paths = {p for p, _ in loaded}
        for f in files:
            if f.path in loaded_paths and (f.path, landing.sha256(f)) in loaded:
                out.skipped += 1
                continue
            r = load_file(conn, landing, entity, f, run)
            if r.status == "skipped":
                out.skipped += 1
                continue
            out.files.append(r)
            if progress:
                progress(r)
    return out


def result_dict(r: EntityResult) -> dict[str, Any]:
    d = r.summary()
    d["failures"] = [asdict(f) for f in r.failed]
    return d
