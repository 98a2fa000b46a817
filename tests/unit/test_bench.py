"""The benchmark's pure helpers, and a tiny run of its three ways on a real PostgreSQL."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from cx_bench import suite as bench


# -- pure helpers -----------------------------------------------------------------------
def test_ratio_handles_missing_and_zero() -> None:
    assert bench.ratio(3.0, 2.0) == 1.5
    assert bench.ratio(None, 2.0) is None
    assert bench.ratio(1.0, None) is None
    assert bench.ratio(1.0, 0.0) is None


def test_goal_verdicts() -> None:
    at_most = bench.goal("loader <= 1.5x COPY", 1.4999, 1.5, at_most=True)
    assert at_most["passed"] is True and at_most["rule"] == "<= 1.5x"
    assert bench.goal("x", 1.51, 1.5, at_most=True)["passed"] is False
    assert bench.goal("dlt >= 5x loader", 5.0, 5.0, at_most=False)["passed"] is True
    assert bench.goal("dlt >= 5x loader", 4.9, 5.0, at_most=False)["passed"] is False
    skipped = bench.goal("dlt >= 5x loader", None, 5.0, at_most=False)
    assert skipped["passed"] is None and skipped["value"] is None
    assert [bench.verdict(g) for g in (at_most, skipped)] == ["met", "not measured"]
    assert bench.verdict(bench.goal("x", 2.0, 1.5, at_most=True)) == "MISSED"


def test_formatting() -> None:
    assert bench.fmt_ratio(None) == "-"
    assert bench.fmt_ratio(1.234) == "1.23x"
    assert bench.fmt_seconds(12.345) == "12.35"
    assert bench.fmt_rate(2_000_000, 10.0) == "200,000"
    assert bench.fmt_rate(0, 1.0) == "-"
    table = bench.format_table(["way", "median s"], [["loader", "12.00"], ["copy", "8.00"]])
    lines = table.splitlines()
    assert lines[0].split() == ["way", "median", "s"]
    assert set(lines[1]) <= {"-", " "}
    assert lines[2].startswith("loader") and lines[2].endswith("12.00")
    assert lines[3].startswith("copy") and lines[3].endswith("8.00")  # right-aligned number


def test_summarize_and_median() -> None:
    s = bench.summarize([3.0, 1.0, 2.0])
    assert s == {"seconds": [3.0, 1.0, 2.0], "median_s": 2.0, "min_s": 1.0, "max_s": 3.0}
    assert bench.summarize([])["median_s"] is None
    assert bench.median([]) is None


def test_schedule_interleaves_and_respects_repeats() -> None:
    plan = bench.schedule({"loader": 3, "copy": 3, "dlt": 1})
    assert plan == [
        (0, "loader"), (0, "copy"), (0, "dlt"),
        (1, "copy"), (1, "loader"),
        (2, "loader"), (2, "copy"),
    ]
    assert bench.schedule({"loader": 2, "copy": 2, "dlt": 0}) == [
        (0, "loader"), (0, "copy"), (1, "copy"), (1, "loader")]


def test_write_results_is_json(tmp_path: Path) -> None:
    out = bench.write_results({"machine": bench.machine_facts(), "when": bench.datetime.now()},
                              tmp_path / "b" / "results.json")
    data = json.loads(out.read_text())
    assert data["machine"]["cpu_count"] >= 1
    assert "psycopg" in data["machine"]["packages"]


def test_parser_flags() -> None:
    args = bench.build_parser().parse_args(
        ["--rows", "1000", "--repeat", "2", "--skip-dlt", "--only", "loader", "--out", "x.json"])
    assert (args.rows, args.repeat, args.skip_dlt, args.only, args.out) == (1000, 2, True, "loader", Path("x.json"))
    defaults = bench.build_parser().parse_args([])
    assert (defaults.rows, defaults.repeat, defaults.dlt_repeat) == (2_000_000, 3, 1)


def test_dlt_columns_follow_the_declared_types() -> None:
    hints = bench.dlt_columns(bench.orders_entity())
    assert hints["order_total"]["data_type"] == "decimal"
    assert hints["ordered_at"]["data_type"] == "timestamp"
    assert hints["order_id"] == {"data_type": "text", "nullable": False}
    assert hints["updated_at"]["dedup_sort"] == "desc"


# -- a tiny real run ---------------------------------------------------------------------
ROWS = 3000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def bench_pg(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from cx_warehouse.warehouse.embedded import EmbeddedPostgres

    root = tmp_path_factory.mktemp("bench")
    pg = EmbeddedPostgres(pgdata=root / "pgdata", port=_free_port())
    pg.start()
    try:
        yield pg, root
    finally:
        pg.destroy()


def test_tiny_run_loader_and_copy_end_with_the_same_rows(bench_pg) -> None:  # type: ignore[no-untyped-def]
    pg, root = bench_pg
    messages: list[str] = []
    res = bench.loader_benchmark(pg.url(), root, rows=ROWS, repeat=1, dlt_repeat=0,
                                 progress=messages.append)
    expected = res["data"]["generator"]["expected"]
    loader, copy = res["ways"]["loader"], res["ways"]["copy"]
    assert loader["rows_input"] == ROWS
    assert loader["runs"][0]["rows_read"] == ROWS
    assert loader["rows_loaded"] == expected["loaded"] == res["data"]["clean_rows"]
    assert loader["runs"][0]["rows_quarantined"] == expected["quarantined"]
    assert loader["runs"][0]["rows_duplicate"] == expected["duplicate"]
    assert copy["rows_loaded"] == expected["loaded"]
    assert res["ways"]["dlt"]["repetitions"] == 0
    assert res["row_counts_agree"] is True
    assert res["ratios"]["loader_vs_copy"] is not None and res["ratios"]["dlt_vs_loader"] is None
    assert [g["passed"] for g in res["goals"]][1] is None  # dlt not measured
    assert any("loader" in m for m in messages)
    # The clean copy holds exactly the loaded rows, with the declared header.
    clean = Path(res["data"]["clean_file"])
    header = clean.read_text().splitlines()[0].split(",")
    assert header == list(bench.orders_entity().column_names)
    # A second run reuses the cached files.
    again = bench.loader_benchmark(pg.url(), root, rows=ROWS, repeat=1, dlt_repeat=0, progress=messages.append)
    assert any("reusing" in m for m in messages)
    assert again["ways"]["loader"]["rows_loaded"] == expected["loaded"]


def test_tiny_run_dlt_ends_with_the_same_rows(bench_pg) -> None:  # type: ignore[no-untyped-def]
    # dlt is an optional dependency for users; `make test` installs it so this never skips.
    pg, root = bench_pg
    res = bench.loader_benchmark(pg.url(), root, rows=ROWS, repeat=1, dlt_repeat=1, progress=lambda m: None)
    expected = res["data"]["generator"]["expected"]
    assert res["ways"]["dlt"]["rows_loaded"] == expected["loaded"]
    assert res["row_counts_agree"] is True
    assert res["ratios"]["dlt_vs_loader"] is not None


def test_parser_takes_the_ingest_benchmark_flags() -> None:
    args = bench.build_parser().parse_args(["--only", "ingest", "--history", "30", "365", "--compare-with", "/x"])
    assert (args.only, args.history, args.compare_with) == ("ingest", [30, 365], Path("/x"))


def test_tiny_ingest_run_reads_new_days_only_and_compares_two_checkouts(bench_pg) -> None:  # type: ignore[no-untyped-def]
    from cx_warehouse.config.settings import PROJECT_DIR

    pg, root = bench_pg
    res = bench.ingest_benchmark(pg, root, customers=40, history=(2, 4), repeat=1, compare_with=PROJECT_DIR,
                                 progress=lambda m: None)
    assert set(res["checkouts"]) == {"current", "compare"}
    assert res["checkouts"]["compare"]["package"].startswith(str(PROJECT_DIR))
    for h in ("2", "4"):
        zone = res["zones"][h]
        assert zone["days"] == int(h) and zone["files"] > 0
        for code in ("current", "compare"):
            assert zone["initial_load"][code]["files_loaded"] == zone["files"]
            (new,) = res["runs"][f"{code}/{h}d/new_day"]
            (idle,) = res["runs"][f"{code}/{h}d/nothing_new"]
            assert new["files_loaded"] == zone["new_day_files"][0]["files"] > 0
            assert new["files_skipped"] == zone["files"]
            assert (idle["files_loaded"], idle["files_skipped"]) == (0, zone["files"] + new["files_loaded"])
    assert res["ratios"]["current/nothing_new: 4d vs 2d of history"] is not None
    assert res["ratios"]["4d/nothing_new: compare vs current"] is not None
    assert [g["passed"] is not None for g in res["goals"]] == [True, True]
    bench.print_ingest_report(res)
