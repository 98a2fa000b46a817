"""The analytics models' warehouse tasks, run on a real PostgreSQL.

``score_mentions`` (sentiment), ``score_customers`` (CLV) and ``key_drivers`` each read one
input relation and replace their ``analytics`` table(s). Every test gets an empty database
of its own (``warehouse_url``), creates the input as a plain table with the columns the
task's ``INPUT_QUERY`` reads, runs the task on a real connection and reads the output back
with SQL: column names and types, the rows, that a re-run writes an identical table, and that
a failed run leaves the previous table as it was.

A failure in the middle of a write is made by the database itself: an event trigger that
refuses to create the task's table, which fires after the task has dropped the old one in
its transaction.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import psycopg
import pytest

from cx_warehouse.analytics import clv, drivers, sentiment
from cx_warehouse.analytics.drivers import ANALYSES, MIN_RESPONSES, key_drivers
from cx_warehouse.analytics.sentiment import analyse, score_mentions
from cx_warehouse.warehouse.connection import connect


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------
def execute(url: str, statement: str, rows: Sequence[Sequence[Any]] | None = None) -> None:
    """Run ``statement`` (once, or once per row of ``rows``) and commit."""
    with connect(url) as conn, conn.cursor() as cur:
        if rows is None:
            cur.execute(statement)
        else:
            cur.executemany(statement, rows)


def fetch(url: str, query: str, params: Any = None) -> list[tuple[Any, ...]]:
    with connect(url) as conn:
        return conn.execute(query, params).fetchall()


def table(url: str, name: str) -> list[tuple[Any, ...]]:
    """Every row of ``analytics.<name>``, ordered by all its columns."""
    (n,) = fetch(url, "select count(*) from information_schema.columns where table_schema = 'analytics' "
                      "and table_name = %s", (name,))[0]
    order = ", ".join(str(i) for i in range(1, n + 1))
    return fetch(url, f"select * from analytics.{name} order by {order}")


def column_types(url: str, name: str) -> list[tuple[str, str]]:
    """``(column, type)`` of ``analytics.<name>`` in column order, types as PostgreSQL writes them."""
    return fetch(url, "select attname::text, format_type(atttypid, atttypmod) from pg_attribute "
                      "where attrelid = %s::regclass and attnum > 0 and not attisdropped order by attnum",
                 (f"analytics.{name}",))


def table_comment(url: str, name: str) -> str | None:
    return fetch(url, "select obj_description(%s::regclass, 'pg_class')", (f"analytics.{name}",))[0][0]


def exists(url: str, name: str) -> bool:
    return bool(fetch(url, "select to_regclass(%s) is not null", (f"analytics.{name}",))[0][0])


def run(url: str, task: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    """Run ``task`` as the transform's runner does: on a new connection, committed when it closes."""
    with connect(url) as conn:
        return task(conn, **kwargs)


def run_failing(url: str, task: Callable[..., dict[str, Any]], error: type[Exception], match: str,
                **kwargs: Any) -> None:
    """Run ``task``, which must raise; the connection is then committed anyway, so whatever the
    task left behind would persist."""
    with connect(url) as conn:
        with pytest.raises(error, match=match):
            task(conn, **kwargs)
        conn.commit()


def refuse_to_create(url: str, name: str) -> None:
    """Make the database refuse to create ``analytics.<name>`` (an event trigger raises)."""
    execute(url, f"""
        create function public.refuse_{name}() returns event_trigger language plpgsql as $$
        begin
            if exists (select 1 from pg_event_trigger_ddl_commands()
                       where object_identity = 'analytics.{name}') then
                raise exception 'refused to create analytics.{name}';
            end if;
        end $$;
        create event trigger refuse_{name} on ddl_command_end when tag in ('CREATE TABLE')
            execute function public.refuse_{name}();
    """)


# ---------------------------------------------------------------------------------------
# sentiment: staging.stg_social__mentions -> analytics.mention_sentiment
# ---------------------------------------------------------------------------------------
MENTIONS = [
    ("weibo", "5001", "青岚退款拖了半个月，再也不买了 😡", "zh"),
    ("x", "1801", "Loving my new Wool Scarf from Qinglan 😍", "en"),
    ("xiaohongshu", "abc", None, None),
    ("douyin", "7001", "质量很好，非常满意", None),
]
EXPECTED_SENTIMENT = {
    ("weibo", "5001"): ("negative", "snownlp+emoji"),
    ("x", "1801"): ("positive", "vader+emoji"),
    ("xiaohongshu", "abc"): ("neutral", "none"),
    ("douyin", "7001"): ("positive", "snownlp"),
}


def create_mentions(url: str, mentions: Sequence[tuple[Any, ...]] = MENTIONS) -> None:
    """The staging relation with the columns the task reads plus two it must ignore."""
    execute(url, "create schema staging; create table staging.stg_social__mentions ("
                 "mention_id text, platform text, post_id text, posted_at timestamptz default now(), "
                 "mention_text text, language text)")
    execute(url, "insert into staging.stg_social__mentions (mention_id, platform, post_id, mention_text, language) "
                 "values (%s || ':' || %s, %s, %s, %s, %s)",
            [(p, i, p, i, text, lang) for p, i, text, lang in mentions])


def sentiment_by_post(url: str) -> dict[tuple[str, str], tuple[Any, ...]]:
    """``(platform, post_id) -> (score, label, analyzer, scored_text_md5)``."""
    return {(r[0], r[1]): r[2:] for r in table(url, "mention_sentiment")}


def test_score_mentions_writes_one_row_per_mention(warehouse_url: str) -> None:
    create_mentions(warehouse_url)
    summary = run(warehouse_url, score_mentions)

    assert column_types(warehouse_url, "mention_sentiment") == list(sentiment.MENTION_COLUMNS)
    assert [c for c, _ in sentiment.MENTION_COLUMNS] == ["platform", "post_id", "sentiment_score", "sentiment_label",
                                                         "analyzer", "scored_text_md5"]
    assert "score_mentions" in (table_comment(warehouse_url, "mention_sentiment") or "")
    out = sentiment_by_post(warehouse_url)
    assert sorted(out) == sorted(m[:2] for m in MENTIONS)
    for platform, post_id, text, language in MENTIONS:
        score, label, analyzer, digest = out[(platform, post_id)]
        assert (label, analyzer) == EXPECTED_SENTIMENT[(platform, post_id)]
        assert score == analyse(text, language).score  # the double survives the round trip exactly
        assert re.fullmatch("[0-9a-f]{32}", digest)
    assert len({row[3] for row in out.values()}) == len(MENTIONS)
    assert summary["mentions"] == summary["mentions_written"] == 4
    assert summary["reused_scores"] == 0
    assert summary["labels"] == {"negative": 1, "neutral": 1, "positive": 2}


def test_score_mentions_reads_a_repeated_text_once_and_scores_every_copy(warehouse_url: str) -> None:
    copies = [("weibo", f"60{i}", MENTIONS[0][2], "zh") for i in range(5)]
    create_mentions(warehouse_url, [*MENTIONS, *copies])
    summary = run(warehouse_url, score_mentions)
    assert summary["mentions_written"] == len(MENTIONS) + 5
    assert summary["texts_analysed"] == len(MENTIONS)  # the five re-posts were not read again
    out = sentiment_by_post(warehouse_url)
    assert {out[c[:2]] for c in copies} == {out[MENTIONS[0][:2]]}


def test_score_mentions_rerun_reuses_every_score_and_writes_the_same_table(warehouse_url: str) -> None:
    create_mentions(warehouse_url)
    run(warehouse_url, score_mentions)
    first = table(warehouse_url, "mention_sentiment")

    summary = run(warehouse_url, score_mentions)
    assert summary["reused_scores"] == summary["mentions"] == len(MENTIONS)
    assert summary["labels"] == {"negative": 1, "neutral": 1, "positive": 2}
    assert table(warehouse_url, "mention_sentiment") == first

    # the reused score is the one stored in the table, not a fresh reading of the text
    execute(warehouse_url, "update analytics.mention_sentiment set sentiment_score = 0.123456 "
                           "where platform = 'x' and post_id = '1801'")
    assert run(warehouse_url, score_mentions)["reused_scores"] == len(MENTIONS)
    assert sentiment_by_post(warehouse_url)[("x", "1801")][0] == 0.123456


def test_score_mentions_rescores_only_an_edited_mention(warehouse_url: str) -> None:
    create_mentions(warehouse_url)
    run(warehouse_url, score_mentions)
    before = sentiment_by_post(warehouse_url)

    execute(warehouse_url, "update staging.stg_social__mentions set mention_text = '太差了，再也不买了' "
                           "where platform = 'douyin' and post_id = '7001'")
    summary = run(warehouse_url, score_mentions)
    assert summary["reused_scores"] == len(MENTIONS) - 1
    assert summary["labels"] == {"negative": 2, "neutral": 1, "positive": 1}
    after = sentiment_by_post(warehouse_url)
    score, label, analyzer, digest = after[("douyin", "7001")]
    assert (label, analyzer) == ("negative", "snownlp")
    assert score == analyse("太差了，再也不买了", None).score
    assert digest != before[("douyin", "7001")][3]
    assert {k: v for k, v in after.items() if k != ("douyin", "7001")} == {
        k: v for k, v in before.items() if k != ("douyin", "7001")}

    # a changed declared language is a different reading too
    execute(warehouse_url, "update staging.stg_social__mentions set language = 'en' "
                           "where platform = 'xiaohongshu' and post_id = 'abc'")
    assert run(warehouse_url, score_mentions)["reused_scores"] == len(MENTIONS) - 1


def test_score_mentions_new_deleted_and_rescored_mentions(warehouse_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    create_mentions(warehouse_url)
    run(warehouse_url, score_mentions)
    before = sentiment_by_post(warehouse_url)

    execute(warehouse_url, "delete from staging.stg_social__mentions where platform = 'weibo'")
    execute(warehouse_url, "insert into staging.stg_social__mentions (platform, post_id, mention_text, language) "
                           "values ('weibo', '5002', '客服电话一直打不通，差评', 'zh')")
    summary = run(warehouse_url, score_mentions)
    assert summary["mentions"] == summary["mentions_written"] == len(MENTIONS)
    assert summary["reused_scores"] == len(MENTIONS) - 1
    after = sentiment_by_post(warehouse_url)
    assert ("weibo", "5001") not in after and after[("weibo", "5002")][1] == "negative"

    # a new scorer version re-scores everything (same analysers here, so the same scores)
    monkeypatch.setattr(sentiment, "SCORER_VERSION", sentiment.SCORER_VERSION + "-next")
    summary = run(warehouse_url, score_mentions)
    assert summary["reused_scores"] == 0
    rescored = sentiment_by_post(warehouse_url)
    assert {k: v[:3] for k, v in rescored.items()} == {k: v[:3] for k, v in after.items()}
    assert all(rescored[k][3] != after[k][3] for k in after)
    assert {k: v[:3] for k, v in rescored.items() if k in before} == {
        k: v[:3] for k, v in before.items() if k in rescored}


def test_score_mentions_replaces_a_table_without_text_digests(warehouse_url: str) -> None:
    """A table written before the digest column existed is scored afresh and gets the column."""
    create_mentions(warehouse_url)
    execute(warehouse_url, "create schema analytics; create table analytics.mention_sentiment ("
                           "platform text, post_id text, sentiment_score double precision, "
                           "sentiment_label text, analyzer text)")
    execute(warehouse_url, "insert into analytics.mention_sentiment values (%s, %s, 0.5, 'positive', 'old')",
            [m[:2] for m in MENTIONS])
    summary = run(warehouse_url, score_mentions)
    assert summary["reused_scores"] == 0
    assert column_types(warehouse_url, "mention_sentiment") == list(sentiment.MENTION_COLUMNS)
    out = sentiment_by_post(warehouse_url)
    assert {k: v[1:3] for k, v in out.items()} == EXPECTED_SENTIMENT


def test_score_mentions_failed_write_keeps_the_previous_table(warehouse_url: str) -> None:
    create_mentions(warehouse_url)
    run(warehouse_url, score_mentions)
    first = table(warehouse_url, "mention_sentiment")

    execute(warehouse_url, "update staging.stg_social__mentions set mention_text = 'Terrible, never again 👎'")
    refuse_to_create(warehouse_url, "mention_sentiment")
    run_failing(warehouse_url, score_mentions, psycopg.errors.RaiseException, "refused")
    assert table(warehouse_url, "mention_sentiment") == first
    assert column_types(warehouse_url, "mention_sentiment") == list(sentiment.MENTION_COLUMNS)


# ---------------------------------------------------------------------------------------
# CLV: intermediate.int_clv_inputs -> analytics.customer_clv + analytics.clv_model_fit
# ---------------------------------------------------------------------------------------
def _simulate(n: int, seed: int, *, r: float, alpha_days: float, a: float, b: float) -> list[tuple[Any, ...]]:
    """Rows of ``int_clv_inputs`` drawn from the BG/NBD generative story (whole days, as the dbt
    model gives them), Gamma-Gamma spend."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[Any, ...]] = []
    for i in range(n):
        tenure = float(rng.uniform(60, 720))
        rate = rng.gamma(r, 1 / alpha_days)
        dropout = rng.beta(a, b)
        nu = rng.gamma(4.0, 1 / 150.0)  # Gamma-Gamma: q = 4, gamma = 150 -> mean value ~ 50 with p = 1
        now, x, last, spend = 0.0, 0, 0.0, 0.0
        while True:
            now += rng.exponential(1 / rate)
            if now > tenure:
                break
            x, last = x + 1, now
            spend += rng.gamma(1.0, 1 / nu)
            if rng.random() < dropout:  # BG/NBD: may drop out right after each repeat purchase
                break
        # rounding is monotone, so recency <= tenure still holds
        rows.append((f"C{i:05d}", x, round(last), round(tenure), round(spend / x, 2) if x else None))
    return rows


def create_clv_inputs(url: str, rows: Sequence[tuple[Any, ...]]) -> None:
    execute(url, "create schema intermediate; create table intermediate.int_clv_inputs ("
                 "customer_id text, frequency integer, recency_days integer, tenure_days integer, "
                 "avg_order_value numeric)")
    execute(url, "insert into intermediate.int_clv_inputs values (%s, %s, %s, %s, %s)", rows)


def score_customers(conn: Any) -> dict[str, Any]:
    return clv.score_customers(conn, horizon_days=365, annual_discount_rate=0.10)


def clv_tables(url: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    return table(url, "customer_clv"), table(url, "clv_model_fit")


def test_score_customers_fits_and_writes_both_tables(warehouse_url: str) -> None:
    rows = _simulate(4000, seed=7, r=0.5, alpha_days=30.0, a=0.8, b=2.5)
    create_clv_inputs(warehouse_url, rows)
    summary = run(warehouse_url, score_customers)
    assert summary["reason"] is None
    assert summary["customers"] == summary["customers_scored"] == summary["customers_written"] == 4000

    # the generating parameters come back (alpha converted from days to weeks)
    fitted = summary["bg_nbd"]
    assert fitted["r"] == pytest.approx(0.5, rel=0.2)
    assert fitted["alpha"] == pytest.approx(30.0 / 7, rel=0.25)
    assert fitted["a"] == pytest.approx(0.8, rel=0.35)
    assert fitted["b"] == pytest.approx(2.5, rel=0.35)
    spend = summary["gamma_gamma"]
    assert spend["p"] == pytest.approx(1.0, rel=0.2)
    assert spend["q"] == pytest.approx(4.0, rel=0.3)

    assert column_types(warehouse_url, "customer_clv") == list(clv.CLV_COLUMNS)
    assert [name for name, _ in clv.CLV_COLUMNS] == [
        "customer_id",
        "p_alive",
        "expected_purchases",
        "expected_order_value",
        "predicted_clv",
        "historical_frequency",
    ]
    assert column_types(warehouse_url, "clv_model_fit") == list(clv.FIT_COLUMNS)
    assert "score_customers" in (table_comment(warehouse_url, "customer_clv") or "")
    assert "score_customers" in (table_comment(warehouse_url, "clv_model_fit") or "")

    customers = table(warehouse_url, "customer_clv")
    assert len(customers) == 4000
    assert [c[0] for c in customers] == sorted(row[0] for row in rows)
    frequency_of = {row[0]: row[1] for row in rows}
    for customer_id, alive, purchases, value, clv_value, frequency in customers:
        assert isinstance(customer_id, str) and isinstance(frequency, int)
        assert frequency == frequency_of[customer_id]
        assert 0 <= alive <= 1 and purchases > 0 and value > 0 and clv_value >= 0
        assert isinstance(clv_value, Decimal) and clv_value.as_tuple().exponent == -2

    fit_rows = fetch(warehouse_url, "select model, parameter, value, log_likelihood, customers "
                                    "from analytics.clv_model_fit")
    assert sorted((model, name) for model, name, *_ in fit_rows) == sorted([
        ("bg_nbd", "r"),
        ("bg_nbd", "alpha"),
        ("bg_nbd", "a"),
        ("bg_nbd", "b"),
        ("gamma_gamma", "p"),
        ("gamma_gamma", "q"),
        ("gamma_gamma", "gamma"),
    ])
    assert {(model, name): value for model, name, value, *_ in fit_rows} == {
        **{("bg_nbd", k): v for k, v in fitted.items() if k in ("r", "alpha", "a", "b")},
        **{("gamma_gamma", k): v for k, v in spend.items() if k in ("p", "q", "gamma")},
    }
    repeat = sum(1 for row in rows if row[1] > 0)
    assert {row[4] for row in fit_rows} == {4000, repeat}


def test_score_customers_with_too_few_repeat_buyers_writes_nulls(warehouse_url: str) -> None:
    rows = [(f"C{i:02d}", 1 if i < 5 else 0, 10 if i < 5 else 0, 100, 25.0 if i < 5 else None) for i in range(30)]
    create_clv_inputs(warehouse_url, rows)
    summary = run(warehouse_url, score_customers)
    assert summary["bg_nbd"] is None and summary["gamma_gamma"] is None
    assert summary["customers_scored"] == 0 and summary["customers_written"] == 30
    assert "only 5 customers with a repeat purchase" in summary["reason"]
    customers = table(warehouse_url, "customer_clv")
    assert len(customers) == 30
    assert all(row[1:5] == (None, None, None, None) for row in customers)
    assert [row[5] for row in customers[:6]] == [1, 1, 1, 1, 1, 0]
    assert exists(warehouse_url, "clv_model_fit") and table(warehouse_url, "clv_model_fit") == []


def test_score_customers_rerun_writes_identical_tables(warehouse_url: str) -> None:
    create_clv_inputs(warehouse_url, _simulate(1000, seed=11, r=0.5, alpha_days=30.0, a=0.8, b=2.5))
    first_summary = run(warehouse_url, score_customers)
    first = clv_tables(warehouse_url)
    assert len(first[0]) == 1000 and len(first[1]) == 7
    second_summary = run(warehouse_url, score_customers)
    assert clv_tables(warehouse_url) == first
    assert second_summary["bg_nbd"] == first_summary["bg_nbd"]
    assert second_summary["gamma_gamma"] == first_summary["gamma_gamma"]


def test_score_customers_rejects_recency_beyond_tenure_and_keeps_the_tables(warehouse_url: str) -> None:
    create_clv_inputs(warehouse_url, [("C1", 2, 120, 100, 10.0)])
    run_failing(warehouse_url, score_customers, ValueError, "recency")
    assert not exists(warehouse_url, "customer_clv") and not exists(warehouse_url, "clv_model_fit")

    execute(warehouse_url, "truncate intermediate.int_clv_inputs")
    execute(warehouse_url, "insert into intermediate.int_clv_inputs values (%s, %s, %s, %s, %s)",
            _simulate(1000, seed=11, r=0.5, alpha_days=30.0, a=0.8, b=2.5))
    run(warehouse_url, score_customers)
    first = clv_tables(warehouse_url)

    execute(warehouse_url, "insert into intermediate.int_clv_inputs values ('C99999', 2, 120, 100, 10.0)")
    run_failing(warehouse_url, score_customers, ValueError, "recency")
    assert clv_tables(warehouse_url) == first


def test_score_customers_failed_write_keeps_the_previous_tables(warehouse_url: str) -> None:
    create_clv_inputs(warehouse_url, _simulate(1000, seed=11, r=0.5, alpha_days=30.0, a=0.8, b=2.5))
    run(warehouse_url, score_customers)
    first = clv_tables(warehouse_url)

    execute(warehouse_url, "delete from intermediate.int_clv_inputs where customer_id >= 'C00500'")
    refuse_to_create(warehouse_url, "customer_clv")
    run_failing(warehouse_url, score_customers, psycopg.errors.RaiseException, "refused")
    assert clv_tables(warehouse_url) == first


# ---------------------------------------------------------------------------------------
# key drivers: intermediate.int_driver_inputs -> analytics.key_drivers
# ---------------------------------------------------------------------------------------
def survey_rows(seed: int = 4) -> list[tuple[Any, ...]]:
    """Responses over three months (120, 80 and 30 of them) with 1-5 ratings; service drives
    NPS, reliability drives it among the SERVQUAL scores; a quarter skip SERVQUAL."""
    rng = np.random.default_rng(seed)
    rows = []
    n = 0
    for month, count in ((date(2025, 9, 1), 120), (date(2025, 10, 1), 80), (date(2025, 11, 1), 30)):
        for _ in range(count):
            mood = rng.normal()
            d = np.clip(np.round(3 + mood * 0.6 + rng.normal(size=6) * 0.9), 1, 5)
            s = np.clip(np.round(4 + mood * 0.5 + rng.normal(size=5) * 0.9), 1, 7)
            nps = int(np.clip(np.round(1.6 * d[1] + 0.9 * s[1] + 0.3 * d[0] + rng.normal() * 1.2 - 3), 0, 10))
            servqual: list[int | None] = [int(v) for v in s] if rng.random() > 0.25 else [None] * 5
            n += 1
            rows.append((f"R{n:05d}", month, nps, *[int(v) for v in d], *servqual))
    rows[3] = (*rows[3][:3], None, *rows[3][4:])  # one driver left unanswered
    return rows


DRIVER_INPUT_COLUMNS = ["response_id", "response_month", "nps_score"] + [
    column for predictors in ANALYSES.values() for column, _ in predictors]


def create_driver_inputs(url: str, rows: Sequence[tuple[Any, ...]]) -> None:
    types = ["text", "date"] + ["integer"] * (len(DRIVER_INPUT_COLUMNS) - 2)
    execute(url, "create schema intermediate; create table intermediate.int_driver_inputs ("
                 + ", ".join(f"{c} {t}" for c, t in zip(DRIVER_INPUT_COLUMNS, types, strict=True)) + ")")
    if rows:
        placeholders = ", ".join(["%s"] * len(DRIVER_INPUT_COLUMNS))
        execute(url, f"insert into intermediate.int_driver_inputs values ({placeholders})", rows)


def replace_driver_inputs(url: str, rows: Sequence[tuple[Any, ...]]) -> None:
    execute(url, "drop schema intermediate cascade")
    create_driver_inputs(url, rows)


def test_key_drivers_table(warehouse_url: str) -> None:
    rows = survey_rows()
    create_driver_inputs(warehouse_url, rows)
    summary = run(warehouse_url, key_drivers)
    assert column_types(warehouse_url, "key_drivers") == list(drivers.DRIVER_COLUMNS)
    assert [c for c, _ in drivers.DRIVER_COLUMNS] == ["analysis", "period_month", "predictor", "raw_weight",
                                                      "importance_pct", "importance_rank", "r_squared", "responses"]
    assert "key_drivers" in (table_comment(warehouse_url, "key_drivers") or "")
    out = table(warehouse_url, "key_drivers")
    scopes = {(r[0], r[1]) for r in out}
    # drivers: all + Sep (120) + Oct (79 complete); Nov (30) is too small
    assert scopes == {("drivers", None), ("drivers", date(2025, 9, 1)), ("drivers", date(2025, 10, 1)),
                      ("servqual", None), ("servqual", date(2025, 9, 1)), ("servqual", date(2025, 10, 1))}
    assert summary["analyses"]["drivers"]["months_skipped"] == ["2025-11-01"]
    for analysis, period in scopes:
        scope = [r for r in out if (r[0], r[1]) == (analysis, period)]
        assert sorted(r[2] for r in scope) == sorted(name for _, name in ANALYSES[analysis])
        assert sorted(r[5] for r in scope) == list(range(1, len(scope) + 1))
        assert math.fsum(r[3] for r in scope) == pytest.approx(scope[0][6], abs=1e-12)
        assert math.fsum(r[4] for r in scope) == pytest.approx(100.0, abs=1e-9)
        assert len({r[6] for r in scope}) == len({r[7] for r in scope}) == 1
        assert scope[0][7] >= MIN_RESPONSES
    top = {(r[0], r[1]): r[2] for r in out if r[5] == 1}
    assert top[("drivers", None)] == "service"
    assert top[("servqual", None)] == "reliability"
    all_drivers = [r for r in out if r[:2] == ("drivers", None)]
    assert all_drivers[0][7] == len(rows) - 1  # the one incomplete response is left out
    assert summary["analyses"]["drivers"]["ranking"][0] == "service"
    assert summary["analyses"]["drivers"]["ranking"] == [r[2] for r in sorted(all_drivers, key=lambda r: r[5])]
    assert summary["rows_written"] == len(out)


def test_key_drivers_is_deterministic_and_skips_small_sets(warehouse_url: str) -> None:
    rows = survey_rows()
    create_driver_inputs(warehouse_url, rows)
    run(warehouse_url, key_drivers)
    first = table(warehouse_url, "key_drivers")
    assert first
    run(warehouse_url, key_drivers)
    assert table(warehouse_url, "key_drivers") == first

    replace_driver_inputs(warehouse_url, rows[:MIN_RESPONSES - 1])
    summary = run(warehouse_url, key_drivers)
    assert table(warehouse_url, "key_drivers") == []
    assert summary["analyses"]["drivers"]["r_squared"] is None

    replace_driver_inputs(warehouse_url, [])
    summary = run(warehouse_url, key_drivers)
    assert table(warehouse_url, "key_drivers") == [] and summary["responses"] == 0
    assert column_types(warehouse_url, "key_drivers") == list(drivers.DRIVER_COLUMNS)


def test_key_drivers_failed_write_keeps_the_previous_table(warehouse_url: str) -> None:
    rows = survey_rows()
    create_driver_inputs(warehouse_url, rows)
    run(warehouse_url, key_drivers)
    first = table(warehouse_url, "key_drivers")

    replace_driver_inputs(warehouse_url, rows[:150])
    refuse_to_create(warehouse_url, "key_drivers")
    run_failing(warehouse_url, key_drivers, psycopg.errors.RaiseException, "refused")
    assert table(warehouse_url, "key_drivers") == first
