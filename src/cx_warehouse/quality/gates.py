"""Run a quality gate: GX Core validates each suite's batch in Postgres; we gate on severity.

GX marks a whole validation unsuccessful when any expectation fails, warnings included, so
the decision is ours: a gate *stops* when a ``critical`` expectation fails (or cannot be
evaluated) and *passes with warnings* otherwise. Every expectation's outcome is stored in
``audit.quality_results`` (scrubbed of personal data) before the decision is raised, so a
stopped pipeline always leaves its evidence behind, and Data Docs are published from the
same scrubbed results.

Batches are SQL that Postgres runs (GX's SQL execution engine over a query asset); no table
is pulled into pandas. The row-level and aggregate expectations of a suite are compiled into
one set-based check per batch (:mod:`.compiled`), one scan instead of several per expectation,
which GX runs and gates as one expectation per suite and severity; the gate rebuilds every
expectation's outcome from it. Expectations without a compiled form are validated by GX one by
one, in the same suite. A ``new_loads`` batch is the rows written by loads that no passing
validation of the suite has covered yet, so each load is judged once when it passes, and a
load that failed is judged again on every run until it is fixed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from cx_warehouse.quality import compiled as comp
from cx_warehouse.quality.redact import MAX_ROWS as FAILING_ROWS_KEPT
from cx_warehouse.quality.redact import scrub_result
from cx_warehouse.quality.specs import ExpectationSpec, GateSpec, SpecError, SuiteSpec, load_gates, load_suites

log = logging.getLogger(__name__)


class QualityGateFailed(RuntimeError):
    """A critical expectation failed: the message names suite, expectation and observed value."""


@dataclass(frozen=True)
class GateRun:
    """Where and when a gate runs: the Airflow run and its data interval, or the CLI."""

    run_id: str = "manual"
    as_of: datetime | None = None
    interval_start: datetime | None = None
    interval_end: datetime | None = None

    def parameters(self, gate: GateSpec) -> dict[str, Any]:
        """The named parameters query batches may use (see specs.QUERY_PARAMETERS)."""
        as_of = self.as_of or self.interval_end or datetime.now(UTC)
        end = self.interval_end or as_of
        start = self.interval_start or (end - timedelta(days=1))
        return {"run_id": self.run_id, "as_of": as_of, "interval_start": start, "interval_end": end,
                "source": gate.parameters.get("source")}


@dataclass
class Outcome:
    """One expectation's outcome, scrubbed, as stored."""

    suite: str
    spec: ExpectationSpec
    success: bool
    observed: str
    element_count: int | None
    unexpected_count: int | None
    unexpected_percent: float | None
    failing_rows: list[dict[str, Any]] | None
    failing_rows_query: str | None
    exception: str | None

    def describe(self) -> str:
        """One line a person can act on: suite, expectation, observed, allowed."""
        allowed = _allowed(self.spec)
        msg = f"{self.suite}: {self.spec.label()} observed {self.observed}"
        if allowed:
            msg += f"; allowed {allowed}"
        if self.exception:
            msg += f" (could not be evaluated: {self.exception})"
        return msg


@dataclass
class SuiteReport:
    """One suite's validation within a gate run."""

    suite: SuiteSpec
    validation_id: uuid.UUID
    batch_rows: int | None
    outcomes: list[Outcome]
    seconds: float
    gx_success: bool
    compiled_rules: int = 0
    """How many of the outcomes came from the suite's compiled check (the rest: GX one by one)."""

    @property
    def failed_critical(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and o.spec.severity == "critical"]

    @property
    def failed_warning(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and o.spec.severity == "warning"]

    @property
    def passed(self) -> bool:
        return not self.failed_critical


@dataclass
class GateReport:
    """A whole gate run: what ran, how long it took, the decision and where the evidence is."""

    gate: str
    gate_run_id: uuid.UUID
    suites: list[SuiteReport] = field(default_factory=list)
    seconds: float = 0.0
    gx_seconds: float = 0.0
    docs_index: Path | None = None
    gx_results: list[Any] = field(default_factory=list, repr=False)
    """The scrubbed GX validation results, for Data Docs."""

    @property
    def passed(self) -> bool:
        return all(s.passed for s in self.suites)

    @property
    def critical(self) -> list[Outcome]:
        return [o for s in self.suites for o in s.failed_critical]

    @property
    def warnings(self) -> list[Outcome]:
        return [o for s in self.suites for o in s.failed_warning]

    def summary(self) -> str:
        n = sum(len(s.outcomes) for s in self.suites)
        head = (f"quality gate {self.gate}: {'passed' if self.passed else 'STOPPED'}: {len(self.suites)} suites, "
                f"{n} expectations, {len(self.critical)} critical and {len(self.warnings)} warning failures "
                f"({self.seconds:.1f}s)")
        lines = [head]
        for o in self.critical:
            lines.append(f"  CRITICAL {o.describe()}")
        for o in self.warnings:
            lines.append(f"  warning  {o.describe()}")
        if self.critical or self.warnings:
            lines.append(f"  failing rows: cxw quality failures {self.gate_run_id}   "
                         f"(audit.quality_results where gate = '{self.gate}')")
        if self.docs_index:
            lines.append(f"  Data Docs: {self.docs_index}")
        return "\n".join(lines)

    def raise_if_stopped(self) -> None:
        """Raise :class:`QualityGateFailed` when a critical expectation failed."""
        if not self.passed:
            raise QualityGateFailed(self.summary())


# ---------------------------------------------------------------------------------------
# batches
# ---------------------------------------------------------------------------------------
def _uncovered_loads(conn: Any, suite: SuiteSpec) -> list[str]:
    rows = conn.execute(
        """select a.load_id::text from audit.load_audit a
           where a.target_table = %s and a.status = 'loaded'
             and not exists (select 1 from audit.quality_covered_loads c
                             where c.suite = %s and c.load_id = a.load_id)
           order by a.started_at""",
        (suite.batch.relation, suite.name)).fetchall()
    return [r[0] for r in rows]


def batch_sql(conn: Any, suite: SuiteSpec, params: dict[str, Any], load_ids: list[str] | None) -> str:
    """The SQL whose rows GX validates for this suite, with every parameter inlined.

    Inlined (client-side quoted by psycopg) so the stored query re-runs as it is, which is
    what lets an engineer list failing rows later without the gate.
    """
    from psycopg import ClientCursor, sql

    b = suite.batch
    if b.scope == "query":
        assert b.query is not None
        # GX takes only queries that start with SELECT: a WITH query becomes a subquery.
        return "select * from (" + ClientCursor(conn).mogrify(b.query.strip().rstrip(";"), params) + ") as batch"

    schema, _, name = (b.relation or "").rpartition(".")
    rel = sql.Identifier(schema, name) if schema else sql.Identifier(name)
    derived = [sql.SQL("{} as {}").format(sql.SQL(expr), sql.Identifier(col)) for col, expr in b.columns.items()]
    select = sql.SQL(", ").join([sql.SQL("t.*"), *derived])
    query = sql.SQL("select {} from {} t").format(select, rel)
    if b.scope == "new_loads":
        if load_ids:
            query += sql.SQL(" where t._load_id = any({}::uuid[])").format(sql.Literal(load_ids))
        else:
            query += sql.SQL(" where false")
    return query.as_string(conn)


# ---------------------------------------------------------------------------------------
# outcomes
# ---------------------------------------------------------------------------------------
def _allowed(spec: ExpectationSpec) -> str:
    k = spec.kwargs
    parts = []
    if "min_value" in k or "max_value" in k:
        parts.append(f"[{k.get('min_value', '-inf')}, {k.get('max_value', 'inf')}]")
    if "value_set" in k:
        parts.append(f"in {k['value_set']}")
    if "regex" in k:
        parts.append(f"matching {k['regex']}")
    mostly = k.get("mostly")
    if isinstance(mostly, int | float) and mostly < 1:
        parts.append(f"for at least {100 * mostly:g}% of rows")
    return " ".join(parts)


def _json_default(v: Any) -> Any:
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, datetime | date):
        return v.isoformat()
    return str(v)


def _observed(result: dict[str, Any]) -> str:
    if "observed_value" in result:
        v = result["observed_value"]
        return "nothing (empty batch)" if v is None else str(v)
    n, bad = result.get("element_count"), result.get("unexpected_count")
    if not n:
        return "no rows"
    if bad is None:
        return "?"
    # GX judges non-null values only; say so when nulls were skipped.
    judged = n - (result.get("missing_count") or 0)
    pct = 100.0 * bad / judged if judged else 0.0
    rows = f"{bad} of {judged} rows" + (f" (non-null of {n})" if judged != n else "")
    return f"{rows} unexpected ({pct:.2f}%)"


def _exception(info: Any) -> str | None:
    """The first line of the error GX caught while evaluating an expectation, if any."""
    info = info or {}
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "error").splitlines()[0][:300]
    # GX nests exception info per metric when several metrics failed.
    for v in info.values() if isinstance(info, dict) else []:
        if isinstance(v, dict) and v.get("raised_exception"):
            return str(v.get("exception_message") or "error").splitlines()[0][:300]
    return None


def _outcome(suite: SuiteSpec, spec: ExpectationSpec, r: Any, batch: str) -> Outcome:
    """The stored view of one (already scrubbed) GX result."""
    result = dict(r.result or {})
    query = result.get("unexpected_index_query")
    if isinstance(query, str):
        # GX writes "FROM <query>" for a query asset, which does not parse: make it a subquery.
        result["unexpected_index_query"] = query.replace(f"FROM {batch}", f"FROM ({batch}) AS failing", 1)
    return _make_outcome(suite, spec, bool(r.success), result, _exception(r.exception_info))


def _make_outcome(suite: SuiteSpec, spec: ExpectationSpec, success: bool, result: dict[str, Any],
                  exception: str | None) -> Outcome:
    """The stored view of one expectation's (already scrubbed) result, GX's or a compiled rule's."""
    rows = result.get("unexpected_index_list") or result.get("partial_unexpected_index_list")
    query = result.get("unexpected_index_query")
    pct = result.get("unexpected_percent")
    return Outcome(
        suite=suite.name, spec=spec, success=success and exception is None,
        observed=_observed(result) if exception is None else "an error",
        element_count=result.get("element_count"), unexpected_count=result.get("unexpected_count"),
        unexpected_percent=float(pct) if pct is not None else None,
        failing_rows=json.loads(json.dumps(rows, default=_json_default)) if rows else None,
        failing_rows_query=query if (isinstance(query, str) and not success) else None,
        exception=exception,
    )


def _result_format(suite: SuiteSpec) -> dict[str, Any]:
    """COMPLETE is the only format with the failing rows' keys (``unexpected_index_list``); the
    lists are cut to FAILING_ROWS_KEPT before anything is stored or published."""
    fmt: dict[str, Any] = {"result_format": "COMPLETE", "partial_unexpected_count": FAILING_ROWS_KEPT}
    if suite.batch.key:
        fmt |= {"unexpected_index_column_names": list(suite.batch.key), "return_unexpected_index_query": True}
    return fmt


def _gx_expectation(spec: ExpectationSpec) -> Any:
    """One spec as GX's own expectation."""
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
    from great_expectations.expectations.metadata_types import FailureSeverity

    return ExpectationConfiguration(type=spec.type, kwargs=dict(spec.kwargs), severity=FailureSeverity(spec.severity),
                                    notes=spec.notes or None).to_domain_obj()


# ---------------------------------------------------------------------------------------
# the gate
# ---------------------------------------------------------------------------------------
def docs_dir() -> Path:
    """Where Data Docs are published: ``<CX_HOME>/quality/data_docs`` (docs/quality.md)."""
    from cx_warehouse.config.settings import get_settings

    return get_settings().home / "quality" / "data_docs"


def run_gate(gate_name: str, run: GateRun | None = None, *, url: str | None = None,
             publish_docs: bool = True, compile_rules: bool = True) -> GateReport:
    """Validate every suite of a gate, store the results, publish Data Docs; never raises on failures.

    Call :meth:`GateReport.raise_if_stopped` to act on the decision. ``compile_rules=False``
    validates every expectation through GX one by one, as before compilation existed (the
    equivalence tests and the benchmark compare both).
    """
    from cx_warehouse.ingest.loader import ensure_schema
    from cx_warehouse.ingest.sources import load_sources
    from cx_warehouse.warehouse.connection import connect, warehouse_url

    t0 = time.perf_counter()
    gates = load_gates()
    if gate_name not in gates:
        raise SpecError(f"no quality gate {gate_name!r} in expectations/gates.yml; known: {sorted(gates)}")
    gate = gates[gate_name]
    suites = load_suites()
    run = run or GateRun()
    params = run.parameters(gate)
    report = GateReport(gate=gate.name, gate_run_id=uuid.uuid4())
    target = url or warehouse_url()

    with connect(target, autocommit=True) as conn:
        # Suites look across sources (survey respondents -> CRM customers, freshness of every
        # raw table): make sure every declared raw table exists, empty if not loaded yet. This
        # also migrates the warehouse first, so the gates' audit tables (0001) exist.
        ensure_schema(conn, [e for src in load_sources().values() for e in src.entities])
        plans = []
        for name in gate.suites:
            suite = suites[name]
            load_ids = _uncovered_loads(conn, suite) if suite.batch.scope == "new_loads" else None
            sql_text = batch_sql(conn, suite, params, load_ids)
            plans.append((suite, load_ids, sql_text, _compile(conn, suite, sql_text, compile_rules)))

    t_gx = time.perf_counter()
    with _gx_datasource(target) as (gx, datasource), connect(target) as store:
        _validate_plans(gx, datasource, store, gate, run, report, plans, params)
    report.gx_seconds = time.perf_counter() - t_gx

    if publish_docs:
        from cx_warehouse.quality.docs import publish_data_docs

        run_name = f"{gate.name}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{str(report.gate_run_id)[:8]}"
        try:
            report.docs_index = publish_data_docs(report.gx_results, docs_dir(), run_name=run_name)
        except Exception as exc:  # noqa: BLE001 - docs are a view of the stored results, never a reason to stop
            log.warning("quality gate %s: Data Docs not published: %s", gate.name, exc)
    report.seconds = time.perf_counter() - t0
    log.info("%s", report.summary())
    return report


def _validate_plans(gx: Any, datasource: Any, store: Any, gate: GateSpec, run: GateRun, report: GateReport,
                    plans: list[Any], params: dict[str, Any]) -> None:
    """Validate each planned suite and store its outcomes (one transaction per suite) as it ends."""
    for suite, load_ids, sql_text, compiled in plans:
        started = datetime.now(UTC)
        t = time.perf_counter()
        outcomes, results = _validate_suite(gx, datasource, suite, sql_text, compiled)
        rows = next((o.element_count for o in outcomes if o.element_count is not None), None)
        sr = SuiteReport(suite=suite, validation_id=uuid.uuid4(), batch_rows=rows, outcomes=outcomes,
                         seconds=time.perf_counter() - t, gx_success=all(bool(r.success) for r in results),
                         compiled_rules=len(compiled.rules))
        report.suites.append(sr)
        _store(store, gate, run, report.gate_run_id, sr, sql_text, params, load_ids or [], started)
        report.gx_results.extend(results)


def validate_batch(suite: SuiteSpec, batch: str, *, url: str | None = None,
                   compile_rules: bool = True) -> tuple[list[Outcome], comp.CompiledSuite, list[Any]]:
    """Validate one suite on one batch (an SQL query) as a gate does, storing nothing.

    Returns the outcomes (one per expectation, in the suite's order), how the suite was
    compiled, and GX's (scrubbed) results. For tests and for trying a suite by hand.
    """
    from cx_warehouse.warehouse.connection import connect, warehouse_url

    target = url or warehouse_url()
    with connect(target, autocommit=True) as conn:
        compiled = _compile(conn, suite, batch, compile_rules)
    with _gx_datasource(target) as (gx, datasource):
        outcomes, results = _validate_suite(gx, datasource, suite, batch, compiled)
    return outcomes, compiled, results


def _compile(conn: Any, suite: SuiteSpec, sql_text: str, enabled: bool) -> comp.CompiledSuite:
    """The suite's compiled checks, planned by PostgreSQL; everything plain when the batch cannot
    even be described (GX then reports the batch's error on every expectation, as it always has)."""
    if not enabled:
        return comp.compile_suite(suite, {}, enabled=False)
    try:
        columns = comp.describe_batch(conn, sql_text)
    except Exception as exc:  # noqa: BLE001 - GX evaluates the suite and reports the error
        log.info("%s: batch not described (%s); GX validates every expectation", suite.name, exc)
        return comp.compile_suite(suite, {}, enabled=False)
    return comp.plan_checks(conn, comp.compile_suite(suite, columns), sql_text)


def _validate_suite(gx: Any, datasource: Any, suite: SuiteSpec, sql_text: str,
                    compiled: comp.CompiledSuite) -> tuple[list[Outcome], list[Any]]:
    """Validate one suite's batch in GX: its compiled checks and its plain expectations together.

    Returns one outcome per expectation of the file, in its order, and the GX results (scrubbed)
    for Data Docs. A compiled check GX could not run (an error at run time, e.g. an invalid
    regex) is validated again expectation by expectation, so each reports its own error.
    """
    # A batch of a query asset added for this suite and removed after it: GX saves the context's
    # configuration (every asset, as YAML) on each change, which costs more the more assets it holds.
    asset = datasource.add_query_asset(name=suite.name, query=sql_text)
    try:
        batch = asset.get_batch(asset.build_batch_request())
        return _validate_batch(gx, batch, suite, sql_text, compiled)
    finally:
        datasource.delete_asset(suite.name)


def _validate_batch(gx: Any, batch: Any, suite: SuiteSpec, sql_text: str,
                    compiled: comp.CompiledSuite) -> tuple[list[Outcome], list[Any]]:
    """:func:`_validate_suite` on a GX batch: one GX validation, and one more if a check failed."""
    entries = comp.gx_expectations(compiled)
    plain = [(i, suite.expectations[i - 1]) for i in compiled.plain]
    result, found = _run_gx(gx, batch, suite, [e for *_, e in entries] + [_gx_expectation(spec) for _, spec in plain])
    results = [result]
    by_index: dict[int, Outcome] = {}

    fallback: list[tuple[int, ExpectationSpec]] = []
    failed_checks: set[int] = set()
    for n, (check, severity, _) in enumerate(entries):
        r = found[n]
        if _exception(r.exception_info) is not None:
            if id(check) not in failed_checks:
                failed_checks.add(id(check))
                fallback += [(rule.index, rule.spec) for rule in check.rules]
                log.warning("%s: compiled check failed (%s); GX validates its %d expectations one by one",
                            suite.name, _exception(r.exception_info), len(check.rules))
            continue
        rows = {row["rule"]: row for row in (r.result or {}).get("details", {}).get("rules", [])}
        for rule in (rule for rule in check.rules if rule.spec.severity == severity):
            if rule.index not in rows:
                raise RuntimeError(f"{suite.file_label}: the compiled check returned no row for expectation "
                                   f"{rule.index} ({rule.spec.label()})")
            success, res = comp.rule_result(rule, rows[rule.index], compiled.columns)
            if not success:
                res["unexpected_index_query"] = comp.failing_rows_query(rule, suite.batch.key, sql_text)
            res = scrub_result(res, rule.spec.column, suite.personal_data)
            by_index[rule.index] = _make_outcome(suite, rule.spec, success, res, None)
    for n, (i, spec) in enumerate(plain, start=len(entries)):
        by_index[i] = _plain_outcome(suite, spec, found[n], sql_text)

    if fallback:
        again, again_found = _run_gx(gx, batch, suite, [_gx_expectation(spec) for _, spec in fallback],
                                     suite_name=f"{suite.name} (one by one)")
        results.append(again)
        for n, (i, spec) in enumerate(fallback):
            by_index[i] = _plain_outcome(suite, spec, again_found[n], sql_text)

    # Data Docs: the compiled expectations show their failing rules from the scrubbed outcomes
    for n, (check, severity, _) in enumerate(entries):
        if id(check) not in failed_checks:
            found[n].result = _docs_result([(r.index, by_index[r.index]) for r in check.rules
                                            if r.spec.severity == severity], suite.batch.key)
    return [by_index[i] for i in range(1, len(suite.expectations) + 1)], results


DOCS_VALUES_SHOWN = 10
"""Per failing expectation of a compiled check: distinct failing values shown in Data Docs."""


def _docs_result(outcomes: list[tuple[int, Outcome]], key: tuple[str, ...]) -> dict[str, Any]:
    """What Data Docs show of a compiled expectation: its failing expectations, from the scrubbed
    outcomes (never from the check's raw rows, which hold unscrubbed failing values).

    ``partial_unexpected_counts`` is what GX's renderer turns into a table ("Sampled Unexpected
    Values"): per failing expectation a line with what was observed and allowed, then its most
    frequent failing values among the sampled rows, how many of those rows have each and the keys
    of a few, as GX shows them for an expectation of its own.
    """
    failing = [(i, o) for i, o in outcomes if not o.success]
    table: list[dict[str, Any]] = []
    for i, o in failing:
        table.append({"value": f"#{i} {o.describe().split(': ', 1)[1]}", "count": o.unexpected_count or 1})
        seen: dict[str, list[str]] = {}
        for row in o.failing_rows or []:
            shown = ", ".join(f"{c} = {v!r}" for c, v in row.items() if c not in key) or "(the key)"
            seen.setdefault(shown, []).append(", ".join(str(row.get(k)) for k in key))
        for shown, keys in sorted(seen.items(), key=lambda kv: -len(kv[1]))[:DOCS_VALUES_SHOWN]:
            table.append({"value": f"#{i} {shown}: {len(keys)} of the rows sampled ({'; '.join(keys[:3])}"
                                   f"{'; ...' if len(keys) > 3 else ''})", "count": len(keys)})
    rows = [{"expectation_index": i, "expectation": o.spec.label(), "severity": o.spec.severity,
             "observed": o.observed, "allowed": _allowed(o.spec) or None, "element_count": o.element_count,
             "unexpected_count": o.unexpected_count, "failing_rows": o.failing_rows} for i, o in failing]
    # unexpected_count 0: GX's renderer then shows the table without its "N unexpected values
    # found, x% of M rows" line, which would count expectations as if they were rows
    return {"observed_value": len(failing), "unexpected_count": 0, "partial_unexpected_counts": table,
            "details": {"unexpected_rows": rows}}


def _plain_outcome(suite: SuiteSpec, spec: ExpectationSpec, r: Any, sql_text: str) -> Outcome:
    """A GX result, scrubbed in place (Data Docs publish the same object), as an outcome."""
    r.result = scrub_result(dict(r.result or {}), spec.column, suite.personal_data)
    outcome = _outcome(suite, spec, r, sql_text)
    r.result.pop("unexpected_index_query", None)   # stored; on a web page it is just noise
    return outcome


def _run_gx(gx: Any, batch: Any, suite: SuiteSpec, expectations: list[Any],
            suite_name: str | None = None) -> tuple[Any, list[Any]]:
    """Run expectations on the batch; their results in the order given.

    ``Batch.validate`` with a suite that is not added to the context: adding suites, validation
    definitions and results to the (ephemeral) context's stores only serialises them again.
    GX returns results grouped by column, not in suite order, so each expectation carries its
    position in ``meta`` and results are matched by it, never by their order.
    """
    for n, e in enumerate(expectations):
        e.meta = {**(e.meta or {}), _POSITION: n}
    started = datetime.now(UTC)
    result = batch.validate(gx.ExpectationSuite(name=suite_name or suite.name, expectations=expectations),
                            result_format=_result_format(suite))
    result.meta["run_id"] = {"run_name": None, "run_time": started.isoformat()}
    result.meta["validation_time"] = started.isoformat()
    found = {(r.expectation_config.meta or {}).get(_POSITION): r for r in result.results}
    missing = [n for n in range(len(expectations)) if n not in found]
    if missing or len(found) != len(expectations):
        raise RuntimeError(f"{suite.file_label}: GX returned no result for {len(missing)} expectations")
    for r in result.results:
        r.expectation_config.meta.pop(_POSITION, None)
    return result, [found[n] for n in range(len(expectations))]


_POSITION = "cxw_position"


@contextlib.contextmanager
def _gx_datasource(url: str) -> Iterator[tuple[Any, Any]]:
    """GX and its Postgres datasource for one gate run; its connection pool is closed after it
    (left to the garbage collector, each pooled connection warns "deleted while still open")."""
    gx, _, datasource = _gx_context(url)
    try:
        yield gx, datasource
    finally:
        engine = getattr(getattr(datasource, "_execution_engine", None), "engine", None)
        if engine is not None:
            engine.dispose()


def _gx_context(url: str) -> tuple[Any, Any, Any]:
    """An ephemeral GX context with one Postgres datasource (suites come from our files)."""
    from cx_warehouse.quality.gx_runtime import import_gx

    gx = import_gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    sa_url = url.replace("postgresql://", "postgresql+psycopg://", 1).replace("postgres://", "postgresql+psycopg://", 1)
    datasource = context.data_sources.add_postgres(name="warehouse", connection_string=sa_url)
    return gx, context, datasource


def _store(conn: Any, gate: GateSpec, run: GateRun, gate_run_id: uuid.UUID, sr: SuiteReport, sql_text: str,
           params: dict[str, Any], load_ids: list[str], started: datetime) -> None:
    """Write one validation and its expectations' outcomes; cover its loads when it passed."""
    with conn.transaction():
        conn.execute(
            """insert into audit.quality_validations
               (validation_id, gate, gate_run_id, suite, suite_file, run_id, batch_scope, batch_sql, batch_rows,
                covered_load_ids, parameters, expectations, failed_critical, failed_warning, gx_success, passed,
                started_at, duration_ms)
               values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::uuid[], %s, %s, %s, %s, %s, %s, %s, %s)""",
            (sr.validation_id, gate.name, gate_run_id, sr.suite.name, sr.suite.file_label, run.run_id,
             sr.suite.batch.scope, sql_text, sr.batch_rows, load_ids if sr.passed else [],
             json.dumps(params, default=_json_default), len(sr.outcomes), len(sr.failed_critical),
             len(sr.failed_warning), sr.gx_success, sr.passed, started, int(sr.seconds * 1000)))
        with conn.cursor() as cur:
            cur.executemany(
                """insert into audit.quality_results
                   (validation_id, expectation_index, gate, suite, run_id, expectation_type, column_name, kwargs,
                    severity, success, observed_value, element_count, unexpected_count, unexpected_percent,
                    failing_rows, failing_rows_query, exception, notes, validated_at)
                   values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                [(sr.validation_id, i, gate.name, sr.suite.name, run.run_id, o.spec.type, o.spec.column,
                  json.dumps(o.spec.kwargs, default=_json_default), o.spec.severity, o.success, o.observed,
                  o.element_count, o.unexpected_count, o.unexpected_percent,
                  json.dumps(o.failing_rows, default=_json_default) if o.failing_rows else None,
                  o.failing_rows_query, o.exception, o.spec.notes or None, started)
                 for i, o in enumerate(sr.outcomes, start=1)])
        if sr.passed and load_ids:
            with conn.cursor() as cur:
                cur.executemany(
                    "insert into audit.quality_covered_loads (suite, load_id, validation_id) values (%s, %s, %s) "
                    "on conflict do nothing",
                    [(sr.suite.name, lid, sr.validation_id) for lid in load_ids])


def failing_rows(gate_run_or_validation: str, url: str | None = None) -> list[dict[str, Any]]:
    """The failed expectations of a gate run (or one validation) with their stored failing rows."""
    from cx_warehouse.warehouse.connection import connect

    with connect(url) as conn:
        rows = conn.execute(
            """select r.suite, r.expectation_type, r.column_name, r.severity, r.observed_value,
                      r.failing_rows, r.failing_rows_query, r.exception, v.validation_id::text
               from audit.quality_results r join audit.quality_validations v using (validation_id)
               where (v.gate_run_id::text = %(id)s or v.validation_id::text = %(id)s) and not r.success
               order by r.severity, r.suite, r.expectation_index""",
            {"id": gate_run_or_validation}).fetchall()
    keys = ("suite", "expectation", "column", "severity", "observed", "failing_rows", "query", "exception",
            "validation_id")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def gate_runs(*, latest_per_gate: bool = False, limit: int | None = None,
              url: str | None = None) -> list[dict[str, Any]]:
    """Gate runs, newest first (or the latest run of each gate, by gate): when, decision,
    failures, expectations, rows judged, seconds. Empty before any gate has run."""
    from cx_warehouse.warehouse.connection import connect, relation_exists

    with connect(url) as conn:
        if not relation_exists(conn, "audit.quality_validations"):
            return []
        rows = conn.execute(
            f"""with runs as (
                   select gate, gate_run_id::text, min(run_id) as run_id, min(started_at) as started_at,
                          case when bool_and(passed) then 'passed' else 'STOPPED' end as decision,
                          sum(failed_critical) as critical, sum(failed_warning) as warnings,
                          sum(expectations) as expectations, sum(batch_rows) as rows,
                          round(sum(duration_ms) / 1000.0, 1) as seconds
                   from audit.quality_validations
                   group by gate, gate_run_id)
               select {"distinct on (gate)" if latest_per_gate else ""} *
               from runs
               order by {"gate, started_at desc" if latest_per_gate else "started_at desc"}
               limit %s""", (limit,)).fetchall()
    keys = ("gate", "gate_run_id", "run_id", "started_at", "decision", "critical", "warnings", "expectations",
            "rows", "seconds")
    return [dict(zip(keys, r, strict=True)) for r in rows]
