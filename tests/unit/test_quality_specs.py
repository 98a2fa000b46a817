"""The suite and gate files under expectations/: complete, well-formed, and failing clearly when not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cx_warehouse.ingest.sources import load_sources
from cx_warehouse.quality.redact import scrub_result, shape
from cx_warehouse.quality.specs import SpecError, SuiteSpec, load_gates, load_suites, parse_suite
from cx_warehouse.transform.steps import mart_models


def test_every_raw_table_and_every_mart_has_exactly_one_suite_with_known_gx_types() -> None:
    suites = load_suites(check_types=True)
    relations = [s.batch.relation for s in suites.values() if s.batch.relation]
    raw = {e.qualified_table for src in load_sources().values() for e in src.entities}
    marts = {f"marts.{m}" for m in mart_models()}
    assert sorted(relations) == sorted(raw | marts)
    for s in suites.values():
        assert s.batch.relation is None or s.name == s.batch.relation, s.file_label
        assert s.batch.scope == ("new_loads" if s.name.startswith("raw.") and s.batch.relation else
                                 "table" if s.name.startswith("marts.") else "query"), s.name


def test_each_gate_covers_its_layer() -> None:
    suites, gates = load_suites(), load_gates()
    for name, src in load_sources().items():
        gate = gates[f"raw_{name}"]
        assert gate.parameters == {"source": name}
        tables = {e.qualified_table for e in src.entities}
        assert {s for s in gate.suites if suites[s].batch.relation} == tables
        assert {"raw.deliveries", "raw.freshness"} <= set(gate.suites)
    assert set(gates["marts"].suites) == {f"marts.{m}" for m in mart_models()}
    gated = {s for g in gates.values() for s in g.suites}
    assert gated == set(suites), "a suite no gate runs is a suite nobody reads"


def test_every_expectation_says_why_when_it_is_critical() -> None:
    for s in load_suites().values():
        assert s.description, s.file_label
        for e in s.expectations:
            assert e.severity in ("critical", "warning")


def test_freshness_query_names_every_raw_table() -> None:
    query = load_suites()["raw.freshness"].batch.query or ""
    for src in load_sources().values():
        for e in src.entities:
            assert f"'{e.qualified_table}'" in query, e.qualified_table


@pytest.mark.parametrize(("text", "message"), [
    ("suite: raw.x\nbatch: {scope: new_loads, relation: raw.x}\nexpectations:\n"
     "  - {type: expect_column_values_to_not_be_null, kwargs: {column: a}}\n", "severity must be one of"),
    ("suite: raw.x\nbatch: {scope: nightly, relation: raw.x}\nexpectations: []\n", "batch.scope must be one of"),
    ("suite: raw.x\nbatch: {scope: table, relation: raw.x}\nexpectations:\n"
     "  - {type: expect_column_values_to_not_be_null, column: a, severity: critical}\n", "GX arguments go under kwargs"),
    ("suite: raw.x\nbatch: {scope: table, relation: raw.x}\nexpectations:\n"
     "  - {type: expect_the_unexpected, severity: critical}\n", "GX has no expectation type"),
    ("suite: raw.x\nbatch: {scope: query, query: 'select %(today)s'}\nexpectations:\n"
     "  - {type: expect_table_row_count_to_be_between, kwargs: {min_value: 1}, severity: critical}\n", "%(today)s"),
    ("suite: Raw Orders\nbatch: {scope: table, relation: raw.x}\n", "'suite' must be a name"),
])
def test_a_malformed_suite_file_fails_naming_the_file_and_the_entry(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "broken.yml"
    path.write_text(text, encoding="utf-8")
    known = {"expect_column_values_to_not_be_null", "expect_table_row_count_to_be_between"}
    with pytest.raises(SpecError) as err:
        parse_suite(path, known)
    assert str(path) in str(err.value) and message in str(err.value)


def test_personal_values_are_stored_as_their_shape_only() -> None:
    assert shape("Jane.Doe88@mail.com") == "<personal data, shape A.A9@a.a>"
    assert shape("+86 138 0013 8000") == "<personal data, shape +9 9 9 9>"
    result = {
        "element_count": 3, "unexpected_count": 1,
        "partial_unexpected_list": ["jane@@mail"],
        "partial_unexpected_counts": [{"value": "jane@@mail", "count": 1}],
        "unexpected_index_list": [{"customer_id": "C1", "email": "jane@@mail"}],
    }
    scrubbed = scrub_result(result, "email", ["email", "phone"])
    assert "jane" not in repr(scrubbed)
    assert scrubbed["unexpected_index_list"] == [{"customer_id": "C1", "email": "<personal data, shape a@@a>"}]
    # a non-personal column keeps its values (they are what an engineer needs to see)
    kept = scrub_result({"partial_unexpected_list": [11]}, "nps", ["email"])
    assert kept["partial_unexpected_list"] == [11]


def _referenced_columns(suite: SuiteSpec) -> dict[str, str]:
    names = set(suite.batch.key)
    for e in suite.expectations:
        k = e.kwargs
        names |= {str(c) for c in (k.get("column"), k.get("column_A"), k.get("column_B")) if c}
        names |= {str(c) for c in k.get("column_list") or []}
    return dict.fromkeys(names, "numeric")


def test_every_expectation_of_every_suite_is_compiled_into_its_suites_one_scan() -> None:
    """The gates' cost rests on this: a suite is one query on its batch, whatever its size.

    An expectation type without a compiled form still works (GX evaluates it on its own, with
    several full scans of the batch); this test names it so that the cost is a decision.
    """
    from cx_warehouse.quality.compiled import compile_suite

    for suite in load_suites().values():
        compiled = compile_suite(suite, _referenced_columns(suite))
        assert not compiled.plain, (suite.file_label, compiled.reasons)
        assert len(compiled.checks) == 1 and len(compiled.rules) == len(suite.expectations)


def test_the_check_reaches_gx_with_braces_doubled_colons_escaped_and_one_batch_placeholder() -> None:
    from cx_warehouse.quality.compiled import compile_suite
    from cx_warehouse.quality.specs import BatchSpec, ExpectationSpec

    suite = SuiteSpec(name="raw.x", description="", batch=BatchSpec(scope="table", relation="raw.x", key=("id",)),
                      expectations=(
                          ExpectationSpec("expect_column_values_to_match_regex", {"column": "c", "regex": "^[A-Z]{3}$"},
                                          "critical"),
                          ExpectationSpec("expect_column_values_to_be_in_set", {"column": "c", "value_set": [" :x"]},
                                          "warning")))
    (check,) = compile_suite(suite, {"id": "text", "c": "text"}).checks
    query = check.gx_query()
    assert query.count("{batch}") == 1
    formatted = query.format(batch="(select 1) as b")     # what GX does before running it
    assert "'^[A-Z]{3}$'" in formatted and "' \\:x'" in formatted   # SQLAlchemy's text() unescapes \\:
    assert check.severities() == ["critical", "warning"]
    assert "from (select 1) as batch" in check.sql("select 1") and "{" not in check.sql("select 1").replace(
        "{3}", "")


def test_an_unknown_type_or_argument_is_left_to_gx_with_the_reason() -> None:
    from cx_warehouse.quality.compiled import compile_suite
    from cx_warehouse.quality.specs import BatchSpec, ExpectationSpec

    suite = SuiteSpec(name="raw.x", description="", batch=BatchSpec(scope="table", relation="raw.x", key=("id",)),
                      expectations=(
                          ExpectationSpec("expect_column_median_to_be_between", {"column": "c", "min_value": 0},
                                          "critical"),
                          ExpectationSpec("expect_column_values_to_be_between",
                                          {"column": "c", "min_value": 0, "row_condition": "c > 1"}, "critical"),
                          ExpectationSpec("expect_column_values_to_be_between", {"column": "c"}, "critical"),
                          ExpectationSpec("expect_column_values_to_not_be_null", {"column": "c"}, "warning")))
    compiled = compile_suite(suite, {"id": "text", "c": "numeric"})
    assert compiled.plain == (1, 2, 3) and [r.index for r in compiled.rules] == [4]
    assert "no compiled form" in compiled.reasons[1] and "row_condition" in compiled.reasons[2]
    assert "neither min_value nor max_value" in compiled.reasons[3]
    # without a key to name failing rows by, nothing row-level is compiled
    keyless = SuiteSpec(name="raw.x", description="", batch=BatchSpec(scope="table", relation="raw.x"),
                        expectations=suite.expectations[3:])
    assert compile_suite(keyless, {"c": "numeric"}).plain == (1,)


def test_gx_is_imported_without_the_libraries_only_an_unused_expectation_needs() -> None:
    code = """
import sys
from cx_warehouse.quality.gx_runtime import import_gx
import_gx()
deferred = type(sys.modules["scipy.stats"]).__name__
from scipy import stats
assert abs(stats.entropy([0.5, 0.5], [0.9, 0.1]) - 0.5108256) < 1e-6      # works on first use
import altair
assert altair.Chart
sys.exit(0 if deferred == "_Deferred" else 3)
"""
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
