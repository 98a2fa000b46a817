"""Compile a suite's expectations into one set-based SQL check per batch, which GX runs and gates.

GX evaluates every expectation on its own: a row count, a null count, an unexpected count, the
unexpected values and the failing rows' keys are separate queries, each a full scan of the
batch, plus 60-80 ms of GX's own work per expectation (metric resolution, result building). A
mart suite of 30 expectations over a million-row mart is then about a hundred full scans.

Here every expectation of a type listed in :data:`COMPILED_TYPES` becomes a *rule*: a few
aggregates (``count(column)``, ``sum``, ``avg``, its failing rows by
``array_agg(...) filter (where <fails>)``, whose length is the unexpected count) in **one**
``select ... from batch``. Its result is one row per rule: rule index, severity, failed, the
counts GX would report and the first failing rows by key (sorted after the scan, failing rows
only). GX still runs and gates it: the query is the
``unexpected_rows_query`` of a :func:`CompiledRulesExpectation` (an ``UnexpectedRowsExpectation``)
per suite and severity, and that expectation fails when a rule of its severity failed. The
critical and the warning expectation ask GX for the same metric, which GX computes once, so
the batch is scanned once. The gate then rebuilds one outcome per rule (:func:`rule_result`,
the same fields GX's own result for that expectation has), so ``audit.quality_results`` keeps
one row per expectation of the file.

The SQL reproduces GX 1.x's own semantics (checked against GX by
``tests/integration/test_quality_gates.py``): column-value expectations skip nulls (their
``element_count`` counts every row, ``missing_count`` the nulls, ``mostly`` applies to the non-null
values), uniqueness ignores nulls and flags every row of a repeated value, a column pair or a
compound key skips rows by ``ignore_row_if``, regexes use PostgreSQL's ``~``, numeric bounds
decide as a float8 comparison does (GX binds them as floats; :func:`_compare`), aggregates and
``mostly`` are judged as GX judges them.

An expectation that cannot be compiled faithfully is left to plain GX in the same suite:
any type or argument not listed here, and any rule whose SQL PostgreSQL rejects when planning it
(a missing column, a regex on a number), so GX reports that expectation's error as it always has.

GX is imported inside functions only: DAG files import this package at parse time.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, localcontext
from functools import cache
from typing import Any

from cx_warehouse.quality.redact import MAX_ROWS as FAILING_ROWS_KEPT
from cx_warehouse.quality.specs import ExpectationSpec, SuiteSpec

ROW_LEVEL_TYPES = {
    "expect_column_values_to_be_between": {"column", "min_value", "max_value", "strict_min", "strict_max", "mostly"},
    "expect_column_values_to_be_in_set": {"column", "value_set", "mostly"},
    "expect_column_values_to_not_be_null": {"column", "mostly"},
    "expect_column_values_to_match_regex": {"column", "regex", "mostly"},
    "expect_column_values_to_be_unique": {"column", "mostly"},
    "expect_compound_columns_to_be_unique": {"column_list", "ignore_row_if", "mostly"},
    "expect_column_pair_values_a_to_be_greater_than_b": {"column_A", "column_B", "or_equal", "ignore_row_if",
                                                          "mostly"},
}
"""Row-level types and the kwargs compiled for each; any other kwarg leaves the expectation to GX."""

_BOUNDS = {"min_value", "max_value", "strict_min", "strict_max"}
AGGREGATE_TYPES = {
    "expect_table_row_count_to_be_between": set(_BOUNDS),
    "expect_table_row_count_to_equal": {"value"},
    "expect_column_sum_to_be_between": {"column"} | _BOUNDS,
    "expect_column_mean_to_be_between": {"column"} | _BOUNDS,
    "expect_column_proportion_of_non_null_values_to_be_between": {"column"} | _BOUNDS,
}
COMPILED_TYPES = {**ROW_LEVEL_TYPES, **AGGREGATE_TYPES}

MAX_RULES_PER_CHECK = 200
"""GX's ``unexpected_rows_query.table`` metric fetches at most 200 rows; a larger suite gets more checks."""

_BATCH = "\x00batch\x00"
"""Where ``{batch}`` goes; a token no SQL literal contains, so brace-doubling for GX cannot touch it."""

_NULL_WHEN_EMPTY = {"expect_column_values_to_be_between", "expect_column_values_to_be_in_set",
                    "expect_column_values_to_not_be_null", "expect_column_values_to_match_regex"}
"""Types whose unexpected_count GX reports as None, not 0, on an empty batch (the others count
through a subquery that yields 0)."""
_TEMPORAL = {"date", "timestamp", "timestamptz", "time", "timetz"}
RULE_FIELDS = ("rule", "expectation", "severity", "failed", "element_count", "missing_count",
               "unexpected_count", "observed", "observed_type", "failing_rows")
"""The columns of a check's result, one row per rule (each row casts its values, see _row)."""


class NotCompilable(ValueError):
    """This expectation's arguments have no faithful SQL here; GX evaluates it instead."""


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: Any) -> str:
    """A SQL literal for a YAML scalar (strings untyped, so PostgreSQL reads them as the column's type,
    as it reads GX's string parameters)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotCompilable(f"non-finite number {value!r}")
        return f"{value!r}::float8"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise NotCompilable(f"no SQL literal for {type(value).__name__} {value!r}")


def _float(value: Any) -> str:
    """A bound as GX binds it: pydantic makes a float of every number, so the comparison is float8."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise NotCompilable(f"bound {value!r} is not a number")
    return literal(float(value))


@dataclass(frozen=True)
class Rule:
    """One expectation as SQL: what the one aggregate pass computes for it and its row of the result."""

    index: int
    """1-based position in the suite file (``audit.quality_results.expectation_index``)."""
    spec: ExpectationSpec
    totals: tuple[str, ...]
    """Select-list items of the aggregate pass over the batch."""
    result_row: str
    """This rule's row of the ``values`` list (columns :data:`RULE_FIELDS`)."""
    windows: tuple[str, ...] = ()
    """Columns added to every row of the batch first (uniqueness: rows per value)."""
    unexpected: str | None = None
    """Row-level rules: the condition a failing row meets (over the batch's columns and windows)."""
    domain: tuple[str, ...] = ()
    """Row-level rules: the columns GX names in a failing row besides the suite's key."""
    reads: tuple[str, ...] = ()
    """Aggregates: the batch column it reads (row-level rules read their domain)."""

    @property
    def row_level(self) -> bool:
        return self.unexpected is not None


@dataclass(frozen=True)
class Check:
    """Rules evaluated together in one scan of the batch."""

    rules: tuple[Rule, ...]
    key: tuple[str, ...]

    def sql(self, batch: str) -> str:
        """The check over ``batch`` (an SQL query), runnable as it is."""
        return self._sql().replace(_BATCH, f"({batch}) as batch")

    def gx_query(self) -> str:
        """The check as an ``unexpected_rows_query``: GX substitutes ``{batch}`` with ``str.format``
        (so literal braces are doubled) and runs it through SQLAlchemy's ``text()`` (so a colon
        that would read as a bind parameter is escaped)."""
        text = self._sql().replace("{", "{{").replace("}", "}}")
        text = re.sub(r"(?<![:\w\\]):(?=\w)", r"\\:", text)
        return text.replace(_BATCH, "{batch}")

    def _sql(self) -> str:
        # Only the columns the rules read, behind offset 0: PostgreSQL would otherwise inline a
        # derived column (often a subquery) into every aggregate that reads it, and with
        # ``select *`` it would build every column of every row, read or not.
        reads = dict.fromkeys([*self.key, *(c for r in self.rules for c in (*r.domain, *r.reads))])
        columns = [ident(c) for c in reads] + [w for r in self.rules for w in r.windows]
        totals = ["count(*) as total", *(t for r in self.rules for t in r.totals)]
        rows = ",\n    ".join(r.result_row for r in self.rules)
        # a rule's failing rows are collected anyway: their count is the array's length, not a
        # second aggregate evaluating the same condition on every row
        counts = [f"coalesce(cardinality(s{r.index}), 0) as u{r.index}" for r in self.rules if r.row_level]
        return (f"with batch as (\n  select {', '.join(columns)}\n  from {_BATCH}\n  offset 0\n),\n"
                f"totals as (\n  select {(',' + chr(10) + '         ').join(totals)}\n  from batch\n),\n"
                f"counted as (\n  select {', '.join(['*', *counts])}\n  from totals\n)\n"
                f"select r.* from counted, lateral (values\n    {rows}\n) as r({', '.join(RULE_FIELDS)})\n"
                f"order by r.rule")

    def severities(self) -> list[str]:
        return [s for s in ("critical", "warning") if any(r.spec.severity == s for r in self.rules)]

    def description(self, suite: str, severity: str) -> str:
        """What the GX expectation checks, for Data Docs (GX renders it instead of the query)."""
        mine = [r for r in self.rules if r.spec.severity == severity]
        listed = "; ".join(f"#{r.index} {r.spec.label()}" for r in mine)
        return (f"{len(mine)} {severity} expectations of {suite} in one scan of the batch, "
                f"failing when one of them fails: {listed}")


@dataclass(frozen=True)
class CompiledSuite:
    """A suite split into checks of compiled rules and the expectations left to plain GX."""

    suite: SuiteSpec
    checks: tuple[Check, ...]
    plain: tuple[int, ...]
    """1-based indices of the expectations GX evaluates one by one."""
    columns: dict[str, str] = field(default_factory=dict)
    """The batch's columns and their PostgreSQL type names."""
    reasons: dict[int, str] = field(default_factory=dict)
    """Why each plain expectation was not compiled."""

    @property
    def rules(self) -> list[Rule]:
        return [r for c in self.checks for r in c.rules]


# ---------------------------------------------------------------------------------------
# compiling one expectation
# ---------------------------------------------------------------------------------------
def _mostly(spec: ExpectationSpec) -> str:
    mostly = spec.kwargs.get("mostly", 1)
    if isinstance(mostly, bool) or not isinstance(mostly, int | float) or not 0 <= mostly <= 1:
        raise NotCompilable(f"mostly {mostly!r}")
    return literal(float(mostly))


def _columns(names: Sequence[Any]) -> list[str]:
    if not all(isinstance(n, str) and n for n in names):
        raise NotCompilable("column names must be strings")
    return [str(n) for n in names]


def _bounds(spec: ExpectationSpec, value: str, *, column_type: str | None = None) -> str:
    """``value`` against min/max with GX's strictness; both bounds None is an error in GX.

    ``column_type`` is given for a column's values (strings may bound a date column there) and
    picks the cheapest comparison that decides as GX's float8 one does (:func:`_compare`);
    without it (an aggregate, computed once) the value is compared as a float8.
    """
    k = spec.kwargs
    lo, hi = k.get("min_value"), k.get("max_value")
    if lo is None and hi is None:
        raise NotCompilable("neither min_value nor max_value")
    for b in (lo, hi):
        if b is not None and (isinstance(b, bool) or not isinstance(b, int | float | str)
                              or (isinstance(b, str) and column_type is None)):
            raise NotCompilable(f"bound {b!r} is not a number")
    if lo is not None and hi is not None and isinstance(lo, str) != isinstance(hi, str):
        raise NotCompilable("min_value and max_value of different kinds")
    if lo is not None and hi is not None and lo > hi:
        raise NotCompilable("min_value above max_value (GX raises)")
    for flag in ("strict_min", "strict_max"):
        if flag in k and not isinstance(k[flag], bool):
            raise NotCompilable(f"{flag} {k[flag]!r}")
    parts = []
    for b, op in ((lo, ">" if k.get("strict_min") else ">="), (hi, "<" if k.get("strict_max") else "<=")):
        if b is None:
            continue
        if isinstance(b, str):
            parts.append(f"{value} {op} {literal(b)}")   # a date or time: GX parses it, PostgreSQL reads the column's type
        elif column_type is None:
            parts.append(f"{value} {op} {_float(b)}")
        else:
            parts.append(_compare(value, op, float(b), column_type))
    return " and ".join(parts)


def _compare(value: str, op: str, bound: float, column_type: str) -> str:
    """``value::float8 <op> bound`` (what GX's float parameter asks), without a cast per row.

    A float column compares with the float. An integer ``n`` (below 2**53, exact as a float)
    compares with the bound rounded to an integer. A numeric ``x`` converts to the nearest float
    (ties to even), so ``x::float8 >= b`` holds exactly when ``x`` lies above the midpoint between
    ``b`` and the float below it (or on it, when ``b``'s mantissa is even): comparing ``x`` with
    that midpoint, written out exactly in decimal, decides the same way. Casting each numeric to a
    float cost more than the rest of a check's work together.
    """
    if column_type in ("int2", "int4", "int8") and abs(bound) < 2.0**53:
        if op == ">=":
            return f"{value} >= {math.ceil(bound)}"
        if op == ">":
            return f"{value} >= {math.floor(bound) + 1}"
        if op == "<=":
            return f"{value} <= {math.floor(bound)}"
        return f"{value} <= {math.ceil(bound) - 1}"
    if column_type == "numeric" and bound != 0 and math.isfinite(bound):
        below, above = math.nextafter(bound, -math.inf), math.nextafter(bound, math.inf)
        if op in (">=", "<"):
            mid, even = _midpoint(below, bound), _even(bound) if op == ">=" else _even(below)
            if op == ">=":
                return f"{value} {'>=' if even else '>'} {mid}"
            return f"{value} {'<=' if even else '<'} {mid}"
        mid = _midpoint(bound, above)
        if op == ">":
            return f"{value} {'>=' if _even(above) else '>'} {mid}"
        return f"{value} {'<=' if _even(bound) else '<'} {mid}"
    if column_type == "numeric" and bound == 0:
        # 0 itself: exact but for |x| < 2**-1074 (no numeric a warehouse computes is that small)
        return f"{value} {op} 0"
    return f"{value} {op} {_float(bound)}"


def _midpoint(a: float, b: float) -> str:
    """The exact decimal halfway between two neighbouring floats."""
    with localcontext() as ctx:
        ctx.prec = 1200
        mid = (Decimal(a) + Decimal(b)) / 2
    return format(mid, "f")


def _even(x: float) -> bool:
    return (struct.unpack("<q", struct.pack("<d", x))[0] & 1) == 0


def _sample(i: int, keys: Sequence[str], domain: Sequence[str], unexpected: str) -> str:
    """The failing rows (key and judged columns), in no order: an ``order by`` inside the aggregate
    would make PostgreSQL 16 sort the whole batch by the key first, for every rule's few rows."""
    pairs = ", ".join(f"{literal(c)}, {ident(c)}" for c in dict.fromkeys([*keys, *domain]))
    return f"array_agg(jsonb_build_object({pairs})) filter (where {unexpected}) as s{i}"


def _first(i: int, keys: Sequence[str]) -> str:
    """The first :data:`FAILING_ROWS_KEPT` failing rows by key, sorted after the scan (failing rows only)."""
    order = ", ".join(f"x -> {literal(k)}" for k in keys)
    return (f"(select jsonb_agg(x order by {order}) from (select x from unnest(s{i}) as x "
            f"order by {order} limit {FAILING_ROWS_KEPT}) as first)")


def _row(i: int, spec: ExpectationSpec, *, success: str, element: str, missing: str, unexpected: str,
         observed: str = "null", observed_type: str = "null", sample: str = "null") -> str:
    return (f"({i}, {literal(spec.label())}, {literal(spec.severity)}, not coalesce({success}, false), "
            f"{element}::bigint, {missing}::bigint, {unexpected}::bigint, {observed}::text, "
            f"{observed_type}::text, {sample}::jsonb)")


def compile_expectation(index: int, spec: ExpectationSpec, key: Sequence[str],
                        columns: dict[str, str]) -> Rule:
    """One expectation as a :class:`Rule`; :class:`NotCompilable` when GX should evaluate it."""
    allowed = COMPILED_TYPES.get(spec.type)
    if allowed is None:
        raise NotCompilable(f"{spec.type} has no compiled form")
    extra = set(spec.kwargs) - allowed
    if extra:
        raise NotCompilable(f"kwargs {sorted(extra)} are not compiled")
    if not key and spec.type in ROW_LEVEL_TYPES:
        raise NotCompilable("the suite has no batch.key to name failing rows by")
    if spec.type in ROW_LEVEL_TYPES:
        return _row_level(index, spec, key, columns)
    return _aggregate(index, spec, columns)


def _row_level(i: int, spec: ExpectationSpec, key: Sequence[str], columns: dict[str, str]) -> Rule:
    k = spec.kwargs
    mostly = _mostly(spec)
    windows: tuple[str, ...] = ()
    t = spec.type
    if t in ("expect_column_pair_values_a_to_be_greater_than_b", "expect_compound_columns_to_be_unique"):
        if t == "expect_column_pair_values_a_to_be_greater_than_b":
            domain = _columns([k.get("column_A"), k.get("column_B")])
            a, b = (ident(c) for c in domain)
            ignore = k.get("ignore_row_if", "both_values_are_missing")
            skip = {"both_values_are_missing": f"{a} is null and {b} is null",
                    "either_value_is_missing": f"{a} is null or {b} is null", "neither": None}
            if not isinstance(k.get("or_equal", False), bool):
                raise NotCompilable(f"or_equal {k['or_equal']!r}")
            expected = f"({a} >= {b} or ({a} is null and {b} is null))" if k.get("or_equal") else f"{a} > {b}"
        else:
            cols = k.get("column_list")
            if not isinstance(cols, list) or not cols:
                raise NotCompilable("column_list must be a non-empty list")
            domain = _columns(cols)
            quoted = [ident(c) for c in domain]
            ignore = k.get("ignore_row_if", "all_values_are_missing")
            skip = {"all_values_are_missing": " and ".join(f"{c} is null" for c in quoted),
                    "any_value_is_missing": " or ".join(f"{c} is null" for c in quoted), "never": None}
            dups = f"__cxw_dups_{i}"
            windows = (f"count(*) over (partition by {', '.join(quoted)}) as {dups}",)
            # GX counts each combination by a join on equality: a row with a null in it never matches
            expected = f"not ({' and '.join(f'{c} is not null' for c in quoted)} and {dups} >= 2)"
        if ignore not in skip:
            raise NotCompilable(f"ignore_row_if {ignore!r}")
        judged = f"not ({skip[ignore]})" if skip[ignore] else "true"
        unexpected = f"({judged}) and not ({expected})"
        totals = (f"count(*) filter (where {judged}) as j{i}",
                  _sample(i, key, domain, unexpected))
        success = f"(total = 0 or j{i} = 0 or (j{i} - u{i})::float8 / j{i} >= {mostly})"
        row = _row(i, spec, success=success, element="total", missing=f"total - j{i}", unexpected=f"u{i}",
                   sample=_first(i, key))
        return Rule(i, spec, totals, row, windows, unexpected, tuple(domain))

    (column,) = _columns([k.get("column")])
    col = ident(column)
    if t == "expect_column_values_to_not_be_null":
        unexpected = f"{col} is null"
        nulls = (_sample(i, key, [column], unexpected),)
        success = f"(total = 0 or (total - u{i})::float8 / total >= {mostly})"
        row = _row(i, spec, success=success, element="total", missing="null", unexpected=f"u{i}", sample=_first(i, key))
        return Rule(i, spec, nulls, row, (), unexpected, (column,))

    if t == "expect_column_values_to_be_between":
        expected = _bounds(spec, col, column_type=columns.get(column, 'other'))
    elif t == "expect_column_values_to_be_in_set":
        values = k.get("value_set")
        if not isinstance(values, list) or not values:
            raise NotCompilable("value_set must be a non-empty list")
        kinds = {bool if isinstance(v, bool) else (int if isinstance(v, int | float) else type(v)) for v in values}
        if len(kinds) != 1 or kinds - {bool, int, str}:
            raise NotCompilable("value_set must hold strings, booleans or numbers, one kind")
        expected = f"{col} in ({', '.join(literal(v) for v in values)})"
    elif t == "expect_column_values_to_match_regex":
        regex = k.get("regex")
        if not isinstance(regex, str):
            raise NotCompilable("regex must be a string")
        expected = f"{col} ~ {literal(regex)}"
    else:  # expect_column_values_to_be_unique
        dups = f"__cxw_dups_{i}"
        windows = (f"count(*) over (partition by {col}) as {dups}",)
        expected = f"{dups} < 2"
    unexpected = f"{col} is not null and not ({expected})"
    totals = (f"count({col}) as j{i}",
              _sample(i, key, [column], unexpected))
    success = f"(total = 0 or j{i} = 0 or (j{i} - u{i})::float8 / j{i} >= {mostly})"
    row = _row(i, spec, success=success, element="total", missing=f"total - j{i}", unexpected=f"u{i}",
               sample=_first(i, key))
    return Rule(i, spec, totals, row, windows, unexpected, (column,))


def _aggregate(i: int, spec: ExpectationSpec, columns: dict[str, str]) -> Rule:
    k = spec.kwargs
    t = spec.type
    if t == "expect_table_row_count_to_equal":
        value = k.get("value")
        if isinstance(value, bool) or not isinstance(value, int):
            raise NotCompilable(f"value {value!r}")
        row = _row(i, spec, success=f"total = {value}", element="null", missing="null", unexpected="null",
                   observed="total", observed_type="'bigint'")
        return Rule(i, spec, (), row)
    if t == "expect_table_row_count_to_be_between":
        row = _row(i, spec, success=_bounds(spec, "total"), element="null", missing="null",
                   unexpected="null", observed="total", observed_type="'bigint'")
        return Rule(i, spec, (), row)

    (column,) = _columns([k.get("column")])
    col = ident(column)
    if t == "expect_column_proportion_of_non_null_values_to_be_between":
        # GX divides in Python (a float), and returns the integer 0 for an empty batch
        totals: tuple[str, ...] = (f"count({col}) as j{i}",)
        value = f"(case when total = 0 then 0 else j{i}::float8 / total end)"
        row = _row(i, spec, success=_bounds(spec, value), element="null", missing="null",
                   unexpected="null", observed=f"case when total = 0 then '0' else (j{i}::float8 / total)::text end",
                   observed_type="case when total = 0 then 'integer' else 'double precision' end")
        return Rule(i, spec, totals, row, reads=(column,))

    # GX: avg(1.0 * column) and sum(column); a null or NaN result fails, numbers compare as floats
    agg = f"avg(1.0 * {col})" if t == "expect_column_mean_to_be_between" else f"sum({col})"
    if columns.get(column) == "float4":
        agg = f"({agg})::float8"     # psycopg reads a real as the double nearest it, as GX sees it
    totals = (f"{agg} as v{i}",)
    value = f"v{i}::float8"
    success = f"(v{i} is not null and {value} <> 'NaN'::float8 and {_bounds(spec, value)})"
    row = _row(i, spec, success=success, element="null", missing="null", unexpected="null",
               observed=f"v{i}", observed_type=f"pg_typeof(v{i})")
    return Rule(i, spec, totals, row, reads=(column,))


# ---------------------------------------------------------------------------------------
# compiling a suite
# ---------------------------------------------------------------------------------------
def describe_batch(conn: Any, batch: str) -> dict[str, str]:
    """The batch's columns and their type names (``limit 0``: planned, not run)."""
    cur = conn.execute(f"select * from ({batch}) as batch limit 0")
    out = {}
    for d in cur.description or []:
        info = conn.adapters.types.get(d.type_code)
        out[d.name] = info.name if info is not None else "other"
    return out


def compile_suite(suite: SuiteSpec, columns: dict[str, str], *, enabled: bool = True) -> CompiledSuite:
    """Split a suite into checks of compiled rules and the expectations left to GX.

    ``columns`` are the batch's columns (:func:`describe_batch`); when the suite's key is not
    among them nothing is compiled, so GX reports the problem as it always has.
    """
    rules: list[Rule] = []
    plain: list[int] = []
    reasons: dict[int, str] = {}
    key = tuple(suite.batch.key)
    missing_key = [k for k in key if k not in columns]
    for i, spec in enumerate(suite.expectations, start=1):
        if not enabled or missing_key:
            plain.append(i)
            reasons[i] = "compilation off" if not enabled else f"key columns {missing_key} not in the batch"
            continue
        try:
            rules.append(compile_expectation(i, spec, key, columns))
        except NotCompilable as exc:
            plain.append(i)
            reasons[i] = str(exc)
    checks = tuple(Check(tuple(rules[n:n + MAX_RULES_PER_CHECK]), key)
                   for n in range(0, len(rules), MAX_RULES_PER_CHECK))
    return CompiledSuite(suite, checks, tuple(plain), dict(columns), reasons)


def plan_checks(conn: Any, compiled: CompiledSuite, batch: str) -> CompiledSuite:
    """Let PostgreSQL plan each check (``explain``: nothing runs); a rule it rejects goes to GX.

    A missing column, a regex on a number or a sum of text fails here, before GX runs, so GX
    can evaluate that one expectation and report its error while the others stay compiled.
    """
    def plans(rules: Sequence[Rule]) -> bool:
        try:
            conn.execute("explain " + Check(tuple(rules), compiled.suite.batch.key).sql(batch))
        except Exception:  # noqa: BLE001 - any planning error means: GX evaluates it
            return False
        return True

    if all(plans(c.rules) for c in compiled.checks):
        return compiled
    ok: list[Rule] = []
    plain = list(compiled.plain)
    reasons = dict(compiled.reasons)
    for rule in compiled.rules:
        if plans([rule]):
            ok.append(rule)
        else:
            plain.append(rule.index)
            reasons[rule.index] = "PostgreSQL rejects its SQL (GX reports the error)"
    checks = tuple(Check(tuple(ok[n:n + MAX_RULES_PER_CHECK]), compiled.suite.batch.key)
                   for n in range(0, len(ok), MAX_RULES_PER_CHECK))
    return CompiledSuite(compiled.suite, checks, tuple(sorted(plain)), compiled.columns, reasons)


# ---------------------------------------------------------------------------------------
# from a rule's row to the result GX gives that expectation
# ---------------------------------------------------------------------------------------
def _value(v: Any, pgtype: str | None) -> Any:
    """A failing row's value as GX's result holds it after the gate's JSON round trip."""
    if v is None:
        return None
    if pgtype in ("numeric", "float4", "float8") and isinstance(v, int | float) and not isinstance(v, bool):
        return float(v)     # JSON writes 3.0 as 3; GX's value is a float (numeric: via the gate's JSON)
    if pgtype in _TEMPORAL and isinstance(v, str):
        try:
            if pgtype == "date":
                return date.fromisoformat(v).isoformat()
            if pgtype in ("time", "timetz"):
                return time.fromisoformat(v).isoformat()
            return datetime.fromisoformat(v).isoformat()
        except ValueError:
            return v    # infinity and the like: PostgreSQL's spelling
    return v


def _observed(text: str | None, pgtype: str | None) -> Any:
    """An aggregate as GX returns it: numeric becomes a float, integers stay integers."""
    if text is None:
        return None
    if pgtype in ("bigint", "integer", "smallint"):
        return int(text)
    if pgtype in ("numeric", "double precision", "real"):
        return float(Decimal(text)) if pgtype == "numeric" else float(text)
    return text


def rule_result(rule: Rule, row: dict[str, Any], columns: dict[str, str]) -> tuple[bool, dict[str, Any]]:
    """``(success, result)`` with ``result`` shaped as GX's own result for this expectation
    (COMPLETE format, the fields the gate stores): counts and failing rows, or the observed value."""
    success = not row["failed"]
    if not rule.row_level:
        return success, {"observed_value": _observed(row["observed"], row["observed_type"])}
    element, missing, unexpected = row["element_count"], row["missing_count"], row["unexpected_count"]
    if element == 0 and rule.spec.type in _NULL_WHEN_EMPTY:
        unexpected = None   # GX sums a case expression for these: over no rows the sum is null
    # GX's _format_map_output: a percentage of the non-null values, of every row when nulls count
    pct: float | None = None
    if element > 0:
        if missing is None:
            pct = unexpected / element * 100
        elif element - missing > 0:
            pct = unexpected / (element - missing) * 100
    result: dict[str, Any] = {"element_count": element, "unexpected_count": unexpected, "unexpected_percent": pct}
    if missing is not None:
        result["missing_count"] = missing
    samples = row["failing_rows"] or []
    result["unexpected_index_list"] = [{c: _value(v, columns.get(c)) for c, v in r.items()} for r in samples]
    return success, result


def failing_rows_query(rule: Rule, key: Sequence[str], batch: str) -> str | None:
    """A runnable query listing every failing row of a row-level rule: the key and the columns judged."""
    if not rule.row_level:
        return None
    cols = ", ".join(ident(c) for c in dict.fromkeys([*key, *rule.domain]))
    source = f"({batch}) as batch"
    if rule.windows:
        source = f"(select *, {', '.join(rule.windows)} from {source}) as batch"
    order = ", ".join(ident(k) for k in key)
    return f"select {cols} from {source} where {rule.unexpected} order by {order}"


# ---------------------------------------------------------------------------------------
# the GX expectation
# ---------------------------------------------------------------------------------------
@cache
def expectation_class() -> type:
    """:class:`CompiledRulesExpectation`, defined (and registered with GX) on first use."""
    from cx_warehouse.quality.gx_runtime import import_gx

    import_gx()
    from great_expectations.expectations import UnexpectedRowsExpectation

    class CompiledRulesExpectation(UnexpectedRowsExpectation):  # type: ignore[misc]
        """An ``UnexpectedRowsExpectation`` over a compiled check: one row per rule, failing rules
        of this expectation's severity are its unexpected rows.

        It asks only for the query's rows (``unexpected_rows_query.table``), not also for their
        count, which GX would compute by running the query a second time; the critical and the
        warning expectation of a check ask for the same metric, so GX runs the query once.
        """

        metric_dependencies = ("unexpected_rows_query.table",)

        def _validate(self, metrics: dict[str, Any], runtime_configuration: dict[str, Any] | None = None,
                      execution_engine: Any = None) -> dict[str, Any]:
            rows = metrics["unexpected_rows_query.table"]
            severity = getattr(self.severity, "value", self.severity)
            mine = [r for r in rows if r["severity"] == severity]
            failing = [r for r in mine if r["failed"]]
            return {"success": not failing,
                    "result": {"observed_value": len(failing),
                               "details": {"unexpected_rows": failing, "rules": mine}}}

    return CompiledRulesExpectation


def gx_expectations(compiled: CompiledSuite) -> list[tuple[Check, str, Any]]:
    """``(check, severity, GX expectation)`` for every check and severity it holds."""
    from great_expectations.expectations.metadata_types import FailureSeverity

    cls = expectation_class()
    out = []
    for check in compiled.checks:
        query = check.gx_query()
        for severity in check.severities():
            out.append((check, severity, cls(unexpected_rows_query=query, severity=FailureSeverity(severity),
                                             description=check.description(compiled.suite.name, severity))))
    return out
