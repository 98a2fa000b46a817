"""Data Docs publishing: real GX results in, GX's static site out, customer text never live markup."""

from __future__ import annotations

import html
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from cx_warehouse.quality.docs import RESULTS_DIRNAME, publish_data_docs

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
LINK = '<a href="javascript:alert(1)">x</a>'
PLANTED = (SCRIPT, IMG, LINK)
IN_KWARGS = "<img src=x onerror=alert(2)>"  # only in the expectation's value_set, never in the data
SUITE = "raw_crm.reviews"
LIVE = ("<script>alert(", "<img src=x onerror", '<a href="javascript:')


@pytest.fixture(scope="module")
def results() -> list[Any]:
    """One real GX suite result over a dataframe whose text column carries markup."""
    import great_expectations as gx
    import pandas as pd
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (
        context.data_sources.add_pandas("memory")
        .add_dataframe_asset("reviews")
        .add_batch_definition_whole_dataframe("all")
    )
    suite = context.suites.add(gx.ExpectationSuite(name=SUITE))
    suite.add_expectation(
        gx.expectations.ExpectColumnValuesToBeInSet(column="comment", value_set=["fine", "ok", IN_KWARGS])
    )
    # every value occurs once, so all of them are "most common": observed_value lists them
    suite.add_expectation(gx.expectations.ExpectColumnMostCommonValueToBeInSet(column="comment", value_set=["fine"]))
    validation = context.validation_definitions.add(gx.ValidationDefinition(name="reviews", data=batch, suite=suite))
    frame = pd.DataFrame({"review_id": range(5), "comment": ["fine", "ok", *PLANTED]})
    result = validation.run(
        batch_parameters={"dataframe": frame},
        # index values by the text column, so the planted strings reach partial_unexpected_index_list too
        result_format={"result_format": "SUMMARY", "unexpected_index_column_names": ["comment"]},
    )

    # the test means something only if GX really carries the strings in each of these fields
    in_set, most_common = (r.result for r in result.results)
    assert set(in_set["partial_unexpected_list"]) == set(PLANTED)
    assert {c["value"] for c in in_set["partial_unexpected_counts"]} == set(PLANTED)
    assert {i["comment"] for i in in_set["partial_unexpected_index_list"]} == set(PLANTED)
    assert set(PLANTED) <= set(most_common["observed_value"])
    return [result]


def _pages(site: Path) -> list[Path]:
    return sorted((site / "validations").rglob("*.html"))


def _all_text(site: Path) -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8", errors="replace") for p in site.rglob("*") if p.is_file()}


def test_index_links_the_validation_page(results: list[Any], tmp_path: Path) -> None:
    index = publish_data_docs(results, tmp_path, run_name="raw_crm-2026-11-22T10:00:00")

    assert index == tmp_path.resolve() / "index.html"
    assert index.is_file()
    (page,) = _pages(tmp_path)
    assert page.relative_to(tmp_path).parts[:4] == ("validations", "raw_crm", "reviews", "raw_crm-2026-11-22T10:00:00")
    assert urllib.parse.quote(page.relative_to(tmp_path).as_posix()) in index.read_text()
    text = page.read_text()
    assert SUITE in text
    assert "values must belong to this set" in text  # GX's own rendering of the expectation


def test_customer_text_is_escaped_everywhere(results: list[Any], tmp_path: Path) -> None:
    publish_data_docs(results, tmp_path, run_name="raw_crm-2026-11-22T10:00:00")

    (page,) = _pages(tmp_path)
    text = page.read_text()
    for planted in (*PLANTED, IN_KWARGS):
        assert html.escape(planted) in text, planted
    # escaped exactly once: GX's own escaping of template params must not stack on ours
    assert "&amp;lt;" not in text
    for path, content in _all_text(tmp_path).items():
        for live in LIVE:
            assert live not in content, (path, live)


def test_input_results_are_not_modified(results: list[Any], tmp_path: Path) -> None:
    before = results[0].to_json_dict()
    publish_data_docs(results, tmp_path, run_name="raw_crm-2026-11-22T10:00:00")
    assert results[0].to_json_dict() == before


def test_runs_accumulate_and_republishing_is_harmless(results: list[Any], tmp_path: Path) -> None:
    publish_data_docs(results, tmp_path, run_name="raw_crm-2026-11-22T10:00:00")
    (first,) = _pages(tmp_path)
    first_html = first.read_text()

    publish_data_docs(results, tmp_path, run_name="raw_crm-2026-11-23T10:00:00")
    index = publish_data_docs(results, tmp_path, run_name="raw_crm-2026-11-23T10:00:00")

    pages = _pages(tmp_path)
    assert len(pages) == 2
    assert first in pages and first.read_text() == first_html
    index_html = index.read_text()
    for page in pages:
        assert urllib.parse.quote(page.relative_to(tmp_path).as_posix()) in index_html
    assert "raw_crm-2026-11-22T10:00:00" in index_html
    assert "raw_crm-2026-11-23T10:00:00" in index_html
    assert (tmp_path / RESULTS_DIRNAME).is_dir()


def test_empty_results_still_write_the_index(tmp_path: Path) -> None:
    index = publish_data_docs([], tmp_path / "site", run_name="nothing")
    assert index.is_file()


@pytest.mark.parametrize("run_name", ["", "a/b", "<b>x</b>", "run name"])
def test_rejects_run_names_unfit_for_paths_and_html(tmp_path: Path, run_name: str) -> None:
    with pytest.raises(ValueError, match="run_name"):
        publish_data_docs([], tmp_path, run_name=run_name)


def test_module_import_does_not_import_gx() -> None:
    code = "import sys, cx_warehouse.quality.docs; sys.exit('great_expectations' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
