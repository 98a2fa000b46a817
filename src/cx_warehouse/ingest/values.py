"""How a delivered text value becomes a typed value, or a reason to quarantine its row.

PostgreSQL's own input functions accept far more than any source sends: ``now``, ``today``,
``epoch`` and ``infinity`` as timestamps (``now`` stores the load time), ``NaN``, ``1e400``,
``0x1F`` and ``1_000`` as numbers, ``yes``/``on``/``1`` as booleans, and they read a time
without an offset as the server's time zone. So a value is accepted only in the spelling its
source declares (``formats:`` in ``config/sources/<source>.yml``), inside the bounds of its
column, and is cast only after that check. Each check is one SQL ``CASE`` whose branches run in
order, so a cast never sees text that has not passed its pattern.

Reasons name the column and the rule, never the value: quarantine reasons are grouped and
printed by ``cxw status`` and the logs, and a value may be personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from cx_warehouse.ingest.sources import DATE_FORMATS, NUMERIC_DIGITS, Column, Entity

ASCII_SPACE_SQL = r"E' \t\n\r\f\v'"
WHITESPACE_SQL = ("E'" + "".join(f"\\u{cp:04x}" for cp in (
    0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200C), 0x2028, 0x2029, 0x202F,
    0x205F, 0x3000, 0xFEFF)) + "'")
"""Unicode white space, zero-width space and the BOM: trimmed around every value that is not free text."""
_CONTROL = r"[\u0001-\u001f\u007f-\u009f]"
"""C0 and C1 control characters (tab and line breaks included): never part of a key."""
TS_ISO = (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
          r"([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)?$")
"""ISO 8601 as the sources may spell it; the offset is optional (then local time in the source's zone)."""
CANONICAL_OFFSETS = ", ".join(
    ["''", "'Z'"] + [f"'{sign}{h:02d}:{m:02d}'" for sign in "+-" for h in range(15) for m in (0, 15, 30, 45)
                     if (sign == "+" and (h, m) <= (14, 0)) or (sign == "-" and (h, m) <= (12, 0))])
"""The tails of the usual spelling: none (local time), Z, or a UTC offset the world uses (quarter hours)."""
ISO_TS_HINT = "YYYY-MM-DDTHH:MM[:SS[.ffffff]] with Z or +HH:MM"


SQL_REASON = "sql:"
"""A reason starting so is an SQL expression (of ``@v@``), not a literal."""


def _reason(reason: str, v: str) -> str:
    return reason.removeprefix(SQL_REASON).replace("@v@", v) if reason.startswith(SQL_REASON) else lit(reason)


def lit(value: object) -> str:
    """A SQL string literal (values here come from config, never from files)."""
    return "'" + str(value).replace("'", "''") + "'"


@dataclass(frozen=True)
class ColumnSql:
    """The SQL of one column."""

    value: str
    """The column's text as read from the stage, trimmed unless free text, NFC-normalised for text
    that is not free text; NULL when empty. Computed once a level below the checks and the cast,
    which read it as ``@v@``."""
    checks: tuple[tuple[str, str], ...]
    """(condition, reason) pairs over the placeholder ``@v@``, in order: the first that holds
    refuses the value. A NULL value passes them all (``required`` is checked apart)."""
    cast: str
    """The typed value over ``@v@``; evaluated only for values that passed every check."""

    fast: tuple[str, tuple[tuple[str, str], ...]] | None = None
    """(condition, checks): values in the usual spelling pass the condition and are judged by
    these few checks only, instead of every branch of ``checks``."""

    def why(self, v: str) -> str | None:
        """A CASE giving the reason the value ``v`` is refused, NULL when it is accepted."""
        if not self.checks:
            return None

        def branches(checks: tuple[tuple[str, str], ...]) -> str:
            return " ".join(f"when {cond.replace('@v@', v)} then {_reason(reason, v)}" for cond, reason in checks)

        head = ""
        if self.fast is not None:
            cond, checks = self.fast
            head = f"when {cond.replace('@v@', v)} then (case {branches(checks)} end) " if checks else (
                f"when {cond.replace('@v@', v)} then null ")
        return f"case {head}{branches(self.checks)} end"

    def typed(self, v: str) -> str:
        return self.cast.replace('@v@', v)



@lru_cache(maxsize=64)
def transition_years(zone: str, first: int = 1900, last: int = 2100) -> tuple[int, ...]:
    """The years in which the zone's UTC offset changes (only there can a local time be ambiguous
    or missing): sampled every 5 days, which no daylight-saving period escapes."""
    tz = ZoneInfo(zone)
    years: set[int] = set()
    day, prev = datetime(first, 1, 1), None
    while day.year <= last:
        off = day.replace(tzinfo=tz).utcoffset()
        if prev is not None and off != prev:
            years.update({day.year, (day - timedelta(days=5)).year})
        day, prev = day + timedelta(days=5), off
    return tuple(sorted(years))


def _range(typed: str, typ: str, lo: object, hi: object, text: str | None = None) -> str:
    """Outside the bounds. The default bounds are whole years, checked on the text (which begins
    with the year) in byte order: cheap. Declared ones are checked on the typed value."""
    from cx_warehouse.ingest.sources import DEFAULT_RANGES

    if (lo, hi) == DEFAULT_RANGES[typ]:
        first = lo.year  # type: ignore[attr-defined]
        after = hi.year if typ == "timestamptz" else hi.year + 1  # type: ignore[attr-defined]
        v = f'{text or typed} collate "C"'
        return f"{v} < {lit(f'{first:04d}')} or {v} >= {lit(f'{after:04d}')}"
    op = ">=" if typ == "timestamptz" else ">"
    return f"{typed} < {lit(lo)}::{typ} or {typed} {op} {lit(hi)}::{typ}"


def column_sql(entity: Entity, c: Column, raw: str, node: str | None = None) -> ColumnSql:
    """How column ``c`` of ``entity`` is checked and cast; ``raw`` is its text in the stage row,
    ``node`` (JSON lines) the JSON value it comes from."""
    fast: tuple[str, tuple[tuple[str, str], ...]] | None = None
    if c.free_text:
        value = f"nullif({raw}, '')"
    elif c.type == "text":
        # ASCII text (byte length = length) needs only the ASCII set, far cheaper for btrim, and
        # is its own NFC form; other text is trimmed of every white space, then NFC-normalised.
        value = (f"case when octet_length({raw}) = length({raw}) then nullif(btrim({raw}, {ASCII_SPACE_SQL}), '') "
                 f"else normalize(nullif(btrim({raw}, {WHITESPACE_SQL}), ''), NFC) end")
    else:
        value = (f"nullif(case when octet_length({raw}) = length({raw}) then btrim({raw}, {ASCII_SPACE_SQL}) "
                 f"else btrim({raw}, {WHITESPACE_SQL}) end, '')")
    name, typ = c.name, c.type
    checks: list[tuple[str, str]] = []
    if node is not None:
        # A nested object or array where a value belongs would be read as its JSON text.
        checks.append((f"jsonb_typeof({node}) in ('object', 'array')",
                       f"invalid {typ} in {name}: a JSON object or array, expected a single value"))
    cast = f"@v@::{typ}"
    if typ == "text":
        limit = entity.max_length(c)
        # octet_length reads the header only; length counts characters, so only past that gate.
        checks.append((f"octet_length(@v@) > {limit} and length(@v@) > {limit}",
                       f"value too long in {name}: more than {limit:,} characters"))
        if name in entity.primary_key:
            checks.append((f"@v@ ~ {lit(_CONTROL)}", f"invalid key in {name}: control characters"))
        cast = "@v@"
    elif typ in ("integer", "bigint"):
        # PostgreSQL 16 also reads 0x1F, 0o17, 0b101 and 1_000: only digits and a sign pass here.
        checks += [
            ("@v@ ~ '[^0-9+-]'", f"invalid {typ} in {name}: not a whole number (digits only)"),
            (f"not pg_input_is_valid(@v@, {lit(typ)})", f"invalid {typ} in {name}: not a whole number in range"),
        ]
        checks += _declared_bounds(c, "@v@::numeric")
    elif typ == "numeric":
        # Only digits, a sign and a point: no NaN, Infinity, 1e5, 0x1F, 1_000 or 12,50.
        whole, frac = NUMERIC_DIGITS
        point = "strpos(@v@, '.')"
        digits = (f"(case when {point} > 0 then {point} - 1 else octet_length(@v@) end "
                  "- (@v@ like '+%%' or @v@ like '-%%')::int)")
        checks += [
            ("@v@ ~ '[^0-9.+-]' or not pg_input_is_valid(@v@, 'numeric')",
             f"invalid numeric in {name}: not a plain decimal number (digits, a point)"),
            (f"{digits} > {whole} or ({point} > 0 and length(@v@) - {point} > {frac})",
             f"invalid numeric in {name}: more than {whole} digits before the point or {frac} after it"),
        ]
        checks += _declared_bounds(c, "@v@::numeric")
    elif typ == "boolean":
        f = entity.formats
        checks.append((f"lower(@v@) not in ({', '.join(map(lit, f.true + f.false))})",
                       f"invalid boolean in {name}: expected one of {', '.join(f.true + f.false)}"))
        cast = f"(lower(@v@) in ({', '.join(map(lit, f.true))}))"
    elif typ == "date":
        fmt = c.date_format or entity.formats.date
        lo, hi = entity.bounds(c)
        if fmt == "YYYY-MM-DD":
            iso_v = "@v@"
            # LIKE's '_' is any character and PostgreSQL also reads 2026-03--4 or 2026-3-14 as dates:
            # the value must be exactly how PostgreSQL prints that date back.
            shape = ("not (@v@ like '____-__-__' and "
                     "(case when pg_input_is_valid(@v@, 'date') then @v@::date::text = @v@ else true end))")
        else:
            regex, iso = DATE_FORMATS[fmt]
            iso_v = f"regexp_replace(@v@, {lit(regex)}, {lit(iso)})"
            shape = f"@v@ !~ {lit(regex)}"
        checks += [
            (shape, f"invalid date in {name}: expected {fmt}"),
            (f"not pg_input_is_valid({iso_v}, 'date')", f"invalid date in {name}: no such calendar date"),
            (_range(iso_v, "date", lo, hi), f"invalid date in {name}: outside {lo}..{hi}"),
        ]
        cast = f"{iso_v}::date"
    elif typ == "timestamptz":
        tz = entity.formats.timezone
        lo, hi = entity.bounds(c)
        # The shape, exactly. The usual spellings (YYYY-MM-DDTHH:MM:SS, then Z or a real UTC offset
        # +HH:MM) are checked by printing the local part back (PostgreSQL also reads " 9:00",
        # "10:00:0a", "2026-03--1" or second 60, which then print differently); other spellings go
        # through the regular expression, several times the cost. %% is LIKE's % in a statement
        # run with parameters.
        shape = ("(case when @v@ like '____-__-__T__:__:__%%' and substr(@v@, 20) in (" + CANONICAL_OFFSETS + ") "
                 "then (case when pg_input_is_valid(left(@v@, 19), 'timestamp') "
                 "then replace(left(@v@, 19), 'T', ' ') = left(@v@, 19)::timestamp::text else false end) "
                 f"else @v@ ~ {lit(TS_ISO)} end)")
        local = ("not (@v@ like '%%Z' or @v@ like '%%z' or @v@ like '%%+%%' "
                 "or @v@ like '________________%%-%%')")
        as_local = f"(@v@::timestamp at time zone {lit(tz)})" if tz else "null::timestamptz"
        cast = f"(case when {local} then {as_local} else @v@::timestamptz end)"
        not_iso = f"invalid timestamptz in {name}: not ISO 8601 ({ISO_TS_HINT})"
        no_such = f"invalid timestamptz in {name}: no such date or time"
        checks.append((f"not {shape}", not_iso))
        # The usual spelling (and a valid local part): printing back, the zone and the year are all
        # that is left to judge; the branches below are for every other spelling.
        fast_cond = ("@v@ like '____-__-__T__:__:__%%' and substr(@v@, 20) in (" + CANONICAL_OFFSETS + ") "
                     "and pg_input_is_valid(left(@v@, 19), 'timestamp')")
        fast_checks: list[tuple[str, str]] = [
            ("replace(left(@v@, 19), 'T', ' ') <> left(@v@, 19)::timestamp::text",
             f"{SQL_REASON}case when @v@ ~ {lit(TS_ISO)} then {lit(no_such)} else {lit(not_iso)} end")]
        if tz is None:
            no_zone = f"invalid timestamptz in {name}: no UTC offset, and the source declares no time zone"
            fast_checks.append(("substr(@v@, 20) = ''", no_zone))
            checks.append((local, no_zone))
        # PostgreSQL reads 24:00 as the next midnight and second 60 as the next minute.
        checks.append(("not pg_input_is_valid(@v@, 'timestamptz') or @v@ like '___________24%%' "
                       "or @v@ like '_________________6%%'", no_such))
        checks.append((_range(cast, "timestamptz", lo, hi, text="@v@"),
                       f"invalid timestamptz in {name}: outside {lo}..{hi}"))
        fast_checks.append(checks[-1])
        years = transition_years(tz) if tz else ()
        if years:
            # Where the offsets a day before and a day after differ, a local time must map back
            # to itself from exactly one of them (both: it occurs twice; neither: never).
            z = lit(tz)
            inst = f"(@v@::timestamp at time zone {z})"
            o1 = f"(({inst} - interval '1 day') at time zone {z} - ({inst} - interval '1 day') at time zone 'UTC')"
            o2 = f"(({inst} + interval '1 day') at time zone {z} - ({inst} + interval '1 day') at time zone 'UTC')"
            back = "(((@v@::timestamp - {o}) at time zone 'UTC') at time zone {z} = @v@::timestamp)"
            checks.append((
                f"@v@ collate \"C\" < {lit(str(years[-1] + 1))} and {local} "
                f"and left(@v@, 4) in ({', '.join(lit(y) for y in years)}) and {o1} <> {o2} and "
                f"{back.format(o=o1, z=z)} = {back.format(o=o2, z=z)}",
                f"invalid timestamptz in {name}: a local time that occurs twice or never in {tz} "
                "(a daylight-saving change); send it with its UTC offset"))
            fast_checks.append(checks[-1])
        fast = (fast_cond, tuple(fast_checks))
    return ColumnSql(value=value, checks=tuple(checks), cast=cast, fast=fast)


def _declared_bounds(c: Column, typed: str) -> list[tuple[str, str]]:
    """The check of a number column's declared ``min``/``max`` (its type bounds it otherwise)."""
    out = []
    if c.min is not None:
        out.append((f"{typed} < {c.min}", f"invalid {c.type} in {c.name}: below {c.min}"))
    if c.max is not None:
        out.append((f"{typed} > {c.max}", f"invalid {c.type} in {c.name}: above {c.max}"))
    return out
