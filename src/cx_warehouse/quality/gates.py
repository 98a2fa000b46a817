"""Run a quality gate: GX Core validates each suite's batch in Postgres; we gate on severity.

GX marks a whole validation unsuccessful when any expectation fails, warnings included, so
the decision is ours: a gate *stops* when a ``critical`` expectation fails (or cannot be
evaluated) and *passes with warnings* otherwise. Every expectation's outcome is stored in
``audit.quality_results`` (scrubbed of personal data) before the decision is raised, so a
stopped pipeline always leaves its evidence behind, and Data Docs are published from the
same scrubbed results.

Batches are SQL that Postgres runs (GX's SQL execution engine over a query asset); no table
is pulled into pandas. A ``new_loads`` batch is the rows written by loads that no passing
validation of the suite has covered yet, so each load is judged once when it passes, and a
load that failed is judged again on every run until it is fixed.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

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


def _outcome(suite: SuiteSpec, spec: ExpectationSpec, r: Any, batch: str) -> Outcome:
    """The stored view of one (already scrubbed) GX result."""
    result = dict(r.result or {})
    info = r.exception_info or {}
    exception = None
    if info.get("raised_exception"):
        exception = str(info.get("exception_message") or "error").splitlines()[0][:300]
    else:
        # GX nests exception info per metric when several metrics failed.
        for v in info.values() if isinstance(info, dict) else []:
            if isinstance(v, dict) and v.get("raised_exception"):
                exception = str(v.get("exception_message") or "error").splitlines()[0][:300]
                break
    rows = result.get("unexpected_index_list") or result.get("partial_unexpected_index_list")
    query = result.get("unexpected_index_query")
    if isinstance(query, str):
        # GX writes "FROM <query>" for a query asset, which does not parse: make it a subquery.
        query = query.replace(f"FROM {batch}", f"FROM ({batch}) AS failing", 1)
    pct = result.get("unexpected_percent")
    return Outcome(
        suite=suite.name, spec=spec, success=bool(r.success) and exception is None,
        observed=_observed(result) if exception is None else "an error",
        element_count=result.get("element_count"), unexpected_count=result.get("unexpected_count"),
        unexpected_percent=float(pct) if pct is not None else None,
        failing_rows=json.loads(json.dumps(rows, default=_json_default)) if rows else None,
        failing_rows_query=query if (isinstance(query, str) and not r.success) else None,
        exception=exception,
    )


def _result_format(suite: SuiteSpec) -> dict[str, Any]:
    """COMPLETE is the only format with the failing rows' keys (``unexpected_index_list``); the
    lists are cut to FAILING_ROWS_KEPT before anything is stored or published."""
    fmt: dict[str, Any] = {"result_format": "COMPLETE", "partial_unexpected_count": FAILING_ROWS_KEPT}
    if suite.batch.key:
        fmt |= {"unexpected_index_column_names": list(suite.batch.key), "return_unexpected_index_query": True}
    return fmt


def _gx_suite(gx: Any, suite: SuiteSpec) -> Any:
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
    from great_expectations.expectations.metadata_types import FailureSeverity

    expectations = [
        ExpectationConfiguration(type=spec.type, kwargs=dict(spec.kwargs), severity=FailureSeverity(spec.severity),
                                 notes=spec.notes or None).to_domain_obj()
        for spec in suite.expectations]
    return gx.ExpectationSuite(name=suite.name, expectations=expectations)


# ---------------------------------------------------------------------------------------
# the gate
# ---------------------------------------------------------------------------------------
def docs_dir() -> Path:
    """Where Data Docs are published: ``<CX_HOME>/quality/data_docs`` (docs/quality.md)."""
    from cx_warehouse.config.settings import get_settings

    return get_settings().home / "quality" / "data_docs"


def run_gate(gate_name: str, run: GateRun | None = None, *, url: str | None = None,
             publish_docs: bool = True) -> GateReport:
    """Validate every suite of a gate, store the results, publish Data Docs; never raises on failures.

    Call :meth:`GateReport.raise_if_stopped` to act on the decision.
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
            plans.append((suite, load_ids, batch_sql(conn, suite, params, load_ids)))

    t_gx = time.perf_counter()
    gx, context, datasource = _gx_context(target)
    for suite, load_ids, sql_text in plans:
        started = datetime.now(UTC)
        t = time.perf_counter()
        asset = datasource.add_query_asset(name=suite.name, query=sql_text)
        batch_def = asset.add_batch_definition_whole_table(f"{suite.name}-batch")
        gx_suite = context.suites.add(_gx_suite(gx, suite))
        vd = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{gate.name}:{suite.name}", data=batch_def, suite=gx_suite))
        result = vd.run(result_format=_result_format(suite))
        pairs = _pair_results(suite, gx_suite, result)
        # Scrubbed in place, once: both the stored outcomes and Data Docs read these results.
        for spec, r in pairs:
            r.result = scrub_result(dict(r.result or {}), spec.column, suite.personal_data)
        outcomes = [_outcome(suite, spec, r, sql_text) for spec, r in pairs]
        rows = next((o.element_count for o in outcomes if o.element_count is not None), None)
        sr = SuiteReport(suite=suite, validation_id=uuid.uuid4(), batch_rows=rows, outcomes=outcomes,
                         seconds=time.perf_counter() - t, gx_success=bool(result.success))
        report.suites.append(sr)
        _store(target, gate, run, report.gate_run_id, sr, sql_text, params, load_ids or [], started)
        for _, r in pairs:
            r.result.pop("unexpected_index_query", None)   # stored; on a web page it is just noise
        report.gx_results.append(result)
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


def _gx_context(url: str) -> tuple[Any, Any, Any]:
    """An ephemeral GX context with one Postgres datasource (suites come from our files)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    sa_url = url.replace("postgresql://", "postgresql+psycopg://", 1).replace("postgres://", "postgresql+psycopg://", 1)
    datasource = context.data_sources.add_postgres(name="warehouse", connection_string=sa_url)
    return gx, context, datasource


def _pair_results(suite: SuiteSpec, gx_suite: Any, result: Any) -> list[tuple[ExpectationSpec, Any]]:
    """Each spec with its GX result, in the file's order.

    GX returns results grouped by column, not in suite order, so they are matched by the id
    GX gave each expectation when the suite was added, never by position.
    """
    by_id = {str(e.id): spec for e, spec in zip(gx_suite.expectations, suite.expectations, strict=True)}
    found = {str(r.expectation_config.id): r for r in result.results}
    missing = [spec.label() for i, spec in by_id.items() if i not in found]
    if missing or len(found) != len(by_id):
        raise RuntimeError(f"{suite.file_label}: GX returned no result for {missing}")
    return [(spec, found[i]) for i, spec in by_id.items()]


def _store(url: str, gate: GateSpec, run: GateRun, gate_run_id: uuid.UUID, sr: SuiteReport, sql_text: str,
           params: dict[str, Any], load_ids: list[str], started: datetime) -> None:
    """Write one validation and its expectations' outcomes; cover its loads when it passed."""
    from cx_warehouse.warehouse.connection import connect

    with connect(url) as conn:
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
