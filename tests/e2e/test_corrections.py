"""Corrections land: a stopped raw gate is cleared by each documented kind of correction.

docs/quality.md tells an engineer whose raw gate stopped to fix the data, in one of the ways
docs/ingestion.md ("Corrections") defines: deliver the fixed file again under the same name (a
re-delivery supersedes the earlier version), put the fixed rows in the day's ``corrections/``
folder (they replace the stored rows whatever their version), or, for CRM entities with
``updated_at``, deliver the row with a newer version. Issue 12 found the first two counted as
duplicates: the damaged row stayed and the gate stayed stopped.

Here each kind is run on a generated world through the real loader, the real GX gates and the
real dbt build. Each damaged delivery must stop its gate naming the expectation it breaks; its
correction must clear the gate and leave the corrected value in raw; and the marts built on the
corrected warehouse must be identical (:mod:`cx_demo.fingerprint`) to the marts of a fresh
warehouse loaded from the corrected data alone - the same landing zone in which each damaged
file holds its corrected content, with no correction file and no later version. A correction
that leaves a trace in the marts (a removed key still counted, an old version still joined) is
what this test exists to catch.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cx_demo.fingerprint import fingerprint
from cx_demo.generator import generate
from cx_warehouse.config.settings import PROJECT_DIR
from cx_warehouse.ingest.landing import LandingZone
from cx_warehouse.ingest.loader import load_entity
from cx_warehouse.ingest.sources import LINEAGE_COLUMNS, get_source, load_sources
from cx_warehouse.quality.gates import GateReport, GateRun, QualityGateFailed, run_gate
from cx_warehouse.transform.steps import run_transform
from cx_warehouse.warehouse.connection import connect
from tests.integration.conftest import fresh_database
from tests.integration.test_ground_truth import load_all

pytestmark = pytest.mark.slow

# Small enough to build twice in minutes, large enough that every raw gate passes on the
# generated data (smaller worlds or other seeds leave a sparse entity, e.g. campaign contacts,
# days behind the last day, which stops raw.freshness for reasons that are not this test's).
START, DAYS = date(2026, 3, 1), 60
WORLD: dict[str, Any] = {"customers": 400, "days": DAYS, "seed": 5, "start": START}
LAST_DAY = START + timedelta(days=DAYS - 1)
D1 = LAST_DAY + timedelta(days=1)   # the day the damaged files (and same-day corrections) arrive
D2 = LAST_DAY + timedelta(days=2)   # the next day's CRM export, carrying a newer version


def daily_run(day: date) -> GateRun:
    """The daily run that judges ``day``'s deliveries (run id manual: every CLI load is judged)."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return GateRun(interval_start=start, interval_end=start + timedelta(days=1))


@dataclass(frozen=True)
class Correction:
    """One damaged delivery and its fix by one kind of correction."""

    kind: str
    """The documented kind of correction (for messages)."""
    gate: str
    expectation: tuple[str, str, str]
    """(suite, expectation type, column) of the critical expectation the damage breaks."""
    damaged_key: dict[str, str]
    damaged: dict[str, str]
    """Landing path -> content, delivered first: it stops the gate."""
    fix: dict[str, str]
    """Landing path -> content, delivered to correct it."""
    clean: dict[str, str]
    """Landing path -> content of the corrected data alone (the damaged files, fixed in place)."""
    fix_kind: str
    """audit.load_audit.delivery_kind of the fix's load."""
    fix_counts: tuple[int, int, int, int, int]
    """The fix's (rows_read, rows_loaded, rows_quarantined, rows_duplicate, rows_removed)."""
    check: str
    """SQL over raw whose rows show the damaged, then the corrected, values."""
    before: list[tuple[Any, ...]]
    after: list[tuple[Any, ...]]

    @property
    def source(self) -> str:
        return self.gate.removeprefix("raw_")


# ---------------------------------------------------------------------------------------
# the generated world and the corrections delivered into it
# ---------------------------------------------------------------------------------------
def clean_records(landing: Path, truth: dict[str, Any], entity: str) -> list[tuple[str, int, str]]:
    """(path, line, text) of every generated line of ``entity`` that carries no planted fault."""
    out = []
    for f in sorted(truth["files"], key=lambda f: f["path"]):
        if f"{f['source']}.{f['entity']}" != entity or f.get("duplicate_of"):
            continue
        faulty = {x["line"] for x in f["faults"]}
        lines = (landing / f["path"]).read_text(encoding="utf-8", errors="replace").splitlines()
        out += [(f["path"], n, text) for n, text in enumerate(lines, start=1) if n not in faulty and text.strip()]
    return out


def jsonl(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records)


def csv_text(header: list[str], rows: list[dict[str, str]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def plan_corrections(landing: Path, truth: dict[str, Any]) -> list[Correction]:
    """Five damages, each cleared by one kind of correction, on keys no other case touches."""
    responses = [json.loads(t) for _, _, t in clean_records(landing, truth, "survey.responses")][-5:]
    mentions = [json.loads(t) for _, _, t in clean_records(landing, truth, "social.mentions")][-2:]
    day_file = f"crm/orders/{LAST_DAY}/orders_{LAST_DAY:%Y%m%d}.csv"
    header = next(csv.reader([(landing / day_file).read_text(encoding="utf-8").splitlines()[0]]))
    order_lines = [t for p, n, t in clean_records(landing, truth, "crm.orders") if p == day_file and n > 1]
    o1, o2 = (dict(zip(header, next(csv.reader([t])), strict=True)) for t in order_lines[:2])

    def response(i: int, rid: str, **answers: int) -> dict[str, Any]:
        r = json.loads(json.dumps(responses[i]))
        r["response_id"] = rid
        r["submitted_at"] = f"{D1}T0{i + 1}:15:00Z"
        r["answers"].update(answers)
        return r

    def mention(i: int, likes: int) -> dict[str, Any]:
        m = json.loads(json.dumps(mentions[i]))
        m["post_id"] = f"CORR-C-{i + 1}"
        m["posted_at"] = f"{D1}T1{i}:30:00Z"
        m["engagement"]["likes"] = likes
        return m

    a_path = f"survey/responses/{D1}/responses_{D1:%Y%m%d}.jsonl"
    a_fixed = jsonl([response(0, "R-CORR-A-1", nps=8), response(1, "R-CORR-A-2")])
    b_path = f"survey/responses/{D1}/responses_{D1:%Y%m%d}_kiosk.jsonl"
    b_fixed = [response(2, "R-CORR-B-1", csat=4), response(3, "R-CORR-B-2")]
    c_path = f"social/mentions/{D1}/mentions_{D1:%Y%m%d}.jsonl"
    d_path = f"crm/orders/{D1}/orders_{D1:%Y%m%d}_1.csv"
    d_damaged = o2 | {"order_total": f"-{o2['order_total']}", "updated_at": f"{D1}T11:00:00+08:00"}
    d_fixed = d_damaged | {"order_total": o2["order_total"]}
    e_path = f"crm/orders/{D1}/orders_{D1:%Y%m%d}_2.csv"
    e_fixed = o1 | {"status": "refunded", "updated_at": f"{D2}T09:00:00+08:00"}
    responses_sql = "select response_id, nps, csat from raw.survey_responses where response_id like %s order by 1"
    return [
        Correction(
            kind="re-delivery (the same name, new bytes; one key no longer delivered)",
            gate="raw_survey",
            expectation=("raw.survey_responses", "expect_column_values_to_be_between", "nps"),
            damaged_key={"response_id": "R-CORR-A-1"},
            damaged={a_path: jsonl([response(0, "R-CORR-A-1", nps=18), response(1, "R-CORR-A-2"),
                                    response(4, "R-CORR-A-3")])},
            fix={a_path: a_fixed},
            clean={a_path: a_fixed},
            fix_kind="redelivery", fix_counts=(2, 1, 0, 1, 1),
            check=responses_sql.replace("%s", "'R-CORR-A-%'"),
            before=[("R-CORR-A-1", 18, responses[0]["answers"].get("csat")),
                    ("R-CORR-A-2", responses[1]["answers"].get("nps"), responses[1]["answers"].get("csat")),
                    ("R-CORR-A-3", responses[4]["answers"].get("nps"), responses[4]["answers"].get("csat"))],
            after=[("R-CORR-A-1", 8, responses[0]["answers"].get("csat")),
                   ("R-CORR-A-2", responses[1]["answers"].get("nps"), responses[1]["answers"].get("csat"))],
        ),
        Correction(
            kind="correction file (immutable survey response)",
            gate="raw_survey",
            expectation=("raw.survey_responses", "expect_column_values_to_be_between", "csat"),
            damaged_key={"response_id": "R-CORR-B-1"},
            damaged={b_path: jsonl([response(2, "R-CORR-B-1", csat=9), b_fixed[1]])},
            fix={f"survey/responses/{D1}/corrections/responses_fix.jsonl": jsonl(b_fixed[:1])},
            clean={b_path: jsonl(b_fixed)},
            fix_kind="correction", fix_counts=(1, 1, 0, 0, 0),
            check=responses_sql.replace("%s", "'R-CORR-B-%'"),
            before=[("R-CORR-B-1", responses[2]["answers"].get("nps"), 9),
                    ("R-CORR-B-2", responses[3]["answers"].get("nps"), responses[3]["answers"].get("csat"))],
            after=[("R-CORR-B-1", responses[2]["answers"].get("nps"), 4),
                   ("R-CORR-B-2", responses[3]["answers"].get("nps"), responses[3]["answers"].get("csat"))],
        ),
        Correction(
            kind="correction file (immutable social mention)",
            gate="raw_social",
            expectation=("raw.social_mentions", "expect_column_values_to_be_between", "likes"),
            damaged_key={"platform": mentions[0]["platform"], "post_id": "CORR-C-1"},
            damaged={c_path: jsonl([mention(0, -3), mention(1, 2)])},
            fix={f"social/mentions/{D1}/corrections/mentions_fix.jsonl": jsonl([mention(0, 3)])},
            clean={c_path: jsonl([mention(0, 3), mention(1, 2)])},
            fix_kind="correction", fix_counts=(1, 1, 0, 0, 0),
            check="select post_id, likes from raw.social_mentions where post_id like 'CORR-C-%' order by 1",
            before=[("CORR-C-1", -3), ("CORR-C-2", 2)],
            after=[("CORR-C-1", 3), ("CORR-C-2", 2)],
        ),
        Correction(
            kind="correction file (CRM order, same updated_at)",
            gate="raw_crm",
            expectation=("raw.crm_orders", "expect_column_values_to_be_between", "order_total"),
            damaged_key={"order_id": o2["order_id"]},
            damaged={d_path: csv_text(header, [d_damaged])},
            fix={f"crm/orders/{D1}/corrections/orders_fix.csv": csv_text(header, [d_fixed])},
            clean={d_path: csv_text(header, [d_fixed])},
            fix_kind="correction", fix_counts=(1, 1, 0, 0, 0),
            check=f"select order_total::text from raw.crm_orders where order_id = '{o2['order_id']}'",
            before=[(f"-{o2['order_total']}",)],
            after=[(o2["order_total"],)],
        ),
        Correction(
            kind="newer version (CRM order, later updated_at in the next day's export)",
            gate="raw_crm",
            expectation=("raw.crm_orders", "expect_column_values_to_be_in_set", "status"),
            damaged_key={"order_id": o1["order_id"]},
            damaged={e_path: csv_text(header, [o1 | {"status": "pending_review",
                                                     "updated_at": f"{D1}T10:00:00+08:00"}])},
            fix={f"crm/orders/{D2}/orders_{D2:%Y%m%d}.csv": csv_text(header, [e_fixed])},
            clean={e_path: csv_text(header, [e_fixed])},
            fix_kind="delivery", fix_counts=(1, 1, 0, 0, 0),
            check=f"select status, updated_at from raw.crm_orders where order_id = '{o1['order_id']}'",
            before=[("pending_review", datetime.fromisoformat(f"{D1}T10:00:00+08:00"))],
            after=[("refunded", datetime.fromisoformat(f"{D2}T09:00:00+08:00"))],
        ),
    ]


def deliver(landing: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = landing / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))


def ingest(url: str, landing: Path, source: str) -> None:
    """What the source's ingest DAG does before its gate: load every new file of its entities."""
    for entity in get_source(source).entities:
        result = load_entity(entity, url=url, landing=LandingZone(str(landing)))
        assert not result.failed, [f.error for f in result.failed]


# ---------------------------------------------------------------------------------------
# what the warehouse says
# ---------------------------------------------------------------------------------------
def query(url: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with connect(url) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


def latest_load(url: str, path: str) -> dict[str, Any]:
    """The newest audit row of a landing path, checked for the loader's balance."""
    cols = ("load_id", "status", "delivery_kind", "rows_read", "rows_loaded", "rows_quarantined",
            "rows_duplicate", "rows_removed", "superseded_by", "error")
    rows = query(url, f"select {', '.join(cols)} from audit.load_audit where file_path = %s "
                      "order by started_at desc limit 1", (path,))
    assert rows, f"{path} was not loaded"
    row = dict(zip(cols, rows[0], strict=True))
    assert row["status"] == "loaded", row
    assert row["rows_loaded"] + row["rows_quarantined"] + row["rows_duplicate"] == row["rows_read"], row
    return row


def critical(report: GateReport) -> set[tuple[str, str, str | None]]:
    return {(o.suite, o.spec.type, o.spec.column) for o in report.critical}


def failing_keys(report: GateReport, expectation: tuple[str, str, str]) -> list[dict[str, Any]]:
    """The keys of the rows the gate names as failing ``expectation`` (stored with the value)."""
    rows = next(o.failing_rows or [] for o in report.critical if (o.suite, o.spec.type, o.spec.column) == expectation)
    return [{k: v for k, v in r.items() if k != expectation[2]} for r in rows]


def raw_contents(url: str) -> dict[str, tuple[int, str]]:
    """Row count and order-independent hash of every raw table's data columns (lineage left out:
    which file and load last wrote a row is exactly what a correction changes)."""
    out = {}
    with connect(url) as conn:
        for e in (e for s in load_sources().values() for e in s.entities):
            cols = [r[0] for r in conn.execute(
                "select column_name from information_schema.columns where table_schema = 'raw' "
                "and table_name = %s and column_name <> all(%s) order by ordinal_position",
                (e.table, list(LINEAGE_COLUMNS)))]
            select = ", ".join(f'"{c}"' for c in cols)
            out[e.table] = conn.execute(
                f"select count(*), md5(coalesce(string_agg(r, '|' order by r), '')) "
                f'from (select row({select})::text as r from raw."{e.table}") s').fetchone()
    return out


def differences(a: dict[str, Any], b: dict[str, Any]) -> dict[str, str]:
    """Relations whose fingerprints differ, with what differs."""
    out = {}
    for name in sorted(set(a["tables"]) | set(b["tables"])):
        x, y = a["tables"].get(name), b["tables"].get(name)
        if x is None or y is None:
            out[name] = f"only in the {'reference' if x is None else 'corrected'} warehouse"
            continue
        what = [k for k in ("columns", "row_count", "content_md5", "error") if x.get(k) != y.get(k)]
        if what:
            out[name] = f"{', '.join(what)} differ (rows {x.get('row_count')} vs {y.get('row_count')})"
    return out


# ---------------------------------------------------------------------------------------
# the test
# ---------------------------------------------------------------------------------------
REFERENCE_BUILD = """
import sys
from cx_warehouse.ingest.service import load_landing
from cx_warehouse.transform.steps import run_transform
url, landing = sys.argv[1:]
failed = [f.error for r in load_landing(url, landing) for f in r.failed]
if failed:
    sys.exit(f"the corrected data alone did not load: {failed}")
run_transform(url)
"""


@contextmanager
def reference_build(url: str, landing: Path, home: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Load and transform the corrected data alone in a child process, while the test goes on.

    The two builds are independent, and the reference one is most of the test's time; its own
    CX_HOME keeps dbt's target folder apart from the corrected warehouse's build.
    """
    home.mkdir()
    env = dict(os.environ, CX_HOME=str(home), CX_LANDING=str(landing), CX_WAREHOUSE_URL=url)
    with (home / "build.log").open("wb") as log, subprocess.Popen(
            [sys.executable, "-c", REFERENCE_BUILD, url, str(landing)], cwd=PROJECT_DIR, env=env,
            stdout=log, stderr=subprocess.STDOUT) as proc:
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()


def finished(proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    code = proc.wait(timeout=timeout)
    assert code == 0, "the build from the corrected data alone failed:\n" + log.read_text(errors="replace")[-3000:]


class Phases:
    """Seconds per phase of the test, printed at the end (pytest -s or -rP shows them)."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        t = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - t, 1)

    def report(self) -> str:
        return ", ".join(f"{k} {v}s" for k, v in self.seconds.items()) + \
            f"; total {time.perf_counter() - self.t0:.0f}s"


@pytest.fixture
def reference_url(pg_server: Any) -> Iterator[str]:
    """A second, empty warehouse for the build from the corrected data alone."""
    name = f"corr_reference_{int(time.time())}"
    url = fresh_database(pg_server, name)
    try:
        yield url
    finally:
        with connect(pg_server.url("postgres"), autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def test_each_kind_of_correction_clears_the_gate_and_leaves_the_marts_of_the_corrected_data(
        warehouse_url: str, reference_url: str, tmp_path: Path) -> None:
    phase = Phases()
    landing, reference = tmp_path / "landing", tmp_path / "reference"
    generate(landing, tmp_path / "truth.json", **WORLD)
    truth = json.loads((tmp_path / "truth.json").read_text())
    cases = plan_corrections(landing, truth)
    shutil.copytree(landing, reference)
    for case in cases:
        deliver(reference, case.clean)
    assert not list(reference.rglob("corrections")), "the corrected data alone has no correction files"

    with reference_build(reference_url, reference, tmp_path / "reference_home") as build:
        with phase("load"):
            load_all(warehouse_url, landing)
        # No gate runs on the generated world alone: the first run of each gate below judges the
        # whole history with the damage, and must name the damage and nothing else.

        for case in cases:
            with phase(f"{case.expectation[2]} damaged"):
                deliver(landing, case.damaged)
                ingest(warehouse_url, landing, case.source)
                for path in case.damaged:
                    assert latest_load(warehouse_url, path)["delivery_kind"] == "delivery"
                assert query(warehouse_url, case.check) == case.before, case.kind
                stopped = run_gate(case.gate, daily_run(D1), url=warehouse_url, publish_docs=False)
            assert critical(stopped) == {case.expectation}, f"{case.kind}:\n{stopped.summary()}"
            assert case.damaged_key in failing_keys(stopped, case.expectation), stopped.summary()
            suite, etype, column = case.expectation
            with pytest.raises(QualityGateFailed, match=rf"CRITICAL {suite}: {etype}\({column}\) observed"):
                stopped.raise_if_stopped()

            with phase(f"{case.expectation[2]} fixed"):
                earlier = {p: latest_load(warehouse_url, p)["load_id"] for p in case.damaged if p in case.fix}
                deliver(landing, case.fix)
                ingest(warehouse_url, landing, case.source)
                (fix_path,) = case.fix
                fixed = latest_load(warehouse_url, fix_path)
                cleared = run_gate(case.gate, daily_run(D1), url=warehouse_url, publish_docs=False)
            assert fixed["delivery_kind"] == case.fix_kind, (case.kind, fixed)
            assert (fixed["rows_read"], fixed["rows_loaded"], fixed["rows_quarantined"], fixed["rows_duplicate"],
                    fixed["rows_removed"]) == case.fix_counts, (case.kind, fixed)
            for load_id in earlier.values():   # a re-delivery supersedes the version it replaces
                assert query(warehouse_url, "select superseded_by from audit.load_audit where load_id = %s",
                             (load_id,)) == [(fixed["load_id"],)]
            assert query(warehouse_url, case.check) == case.after, case.kind
            assert cleared.passed, f"{case.kind} did not clear the gate:\n{cleared.summary()}"

        unbalanced = query(warehouse_url, "select file_path from audit.load_audit where status = 'loaded' and "
                                          "rows_loaded + rows_quarantined + rows_duplicate <> rows_read")
        assert unbalanced == []
        with phase("transform"):
            run_transform(warehouse_url)
        with phase("reference build (waited for)"):
            finished(build, tmp_path / "reference_home" / "build.log", timeout=600)

    # The corrected data alone, loaded into a fresh warehouse, holds the same raw data ...
    assert raw_contents(warehouse_url) == raw_contents(reference_url)
    # ... and builds the same marts.
    with phase("fingerprints"):
        corrected = fingerprint(warehouse_url, True, [], ["marts"])
        alone = fingerprint(reference_url, True, [], ["marts"])
    print(f"\ncorrections end to end: {phase.report()}")
    assert len(corrected["tables"]) >= 26
    assert differences(corrected, alone) == {}

    # the corrected values are what the marts hold
    assert query(warehouse_url, "select response_id, nps_score from marts.fct_survey_responses "
                                "where response_id like 'R-CORR-A-%' order by 1")[0] == ("R-CORR-A-1", 8)
    assert query(warehouse_url, "select count(*) from marts.fct_survey_responses "
                                "where response_id = 'R-CORR-A-3'") == [(0,)]
    assert query(warehouse_url, "select like_count from marts.fct_social_mentions where post_id = 'CORR-C-1'") == [(3,)]
    assert query(warehouse_url, "select count(*) from marts.fct_orders where order_amount < 0") == [(0,)]
    assert query(warehouse_url, "select status from marts.fct_orders where order_id = %s",
                 (cases[4].damaged_key["order_id"],)) == [("refunded",)]


def test_a_redelivery_clears_a_stop_on_the_quarantine_rate_of_a_broken_export(
        warehouse_url: str, tmp_path: Path) -> None:
    """A broken export (most lines not JSON) stops raw.deliveries; the export re-delivered whole
    under the same name is the documented fix, and the day must then be judged on it alone."""
    landing = tmp_path / "landing"
    generate(landing, tmp_path / "truth.json", **WORLD)
    truth = json.loads((tmp_path / "truth.json").read_text())
    load_all(warehouse_url, landing)
    base = json.loads(clean_records(landing, truth, "survey.responses")[-1][2])

    def export(broken: int) -> str:
        lines = []
        for i in range(20):
            r = json.loads(json.dumps(base)) | {"response_id": f"R-EXPORT-{i}", "submitted_at": f"{D1}T08:{i:02d}:00Z"}
            text = json.dumps(r, ensure_ascii=False, separators=(",", ":"))
            lines.append(text[:-7] if i < broken else text)   # a cut line is malformed JSON
        return "".join(line + "\n" for line in lines)

    path = f"survey/responses/{D1}/responses_{D1:%Y%m%d}.jsonl"
    deliver(landing, {path: export(broken=18)})
    ingest(warehouse_url, landing, "survey")
    assert latest_load(warehouse_url, path)["rows_quarantined"] == 18
    stopped = run_gate("raw_survey", daily_run(D1), url=warehouse_url, publish_docs=False)
    rate = ("raw.deliveries", "expect_column_values_to_be_between", "quarantine_rate_lower_bound")
    assert critical(stopped) == {rate}, stopped.summary()

    deliver(landing, {path: export(broken=0)})
    ingest(warehouse_url, landing, "survey")
    fixed = latest_load(warehouse_url, path)
    assert (fixed["delivery_kind"], fixed["rows_read"], fixed["rows_loaded"], fixed["rows_quarantined"],
            fixed["rows_duplicate"]) == ("redelivery", 20, 18, 0, 2)
    cleared = run_gate("raw_survey", daily_run(D1), url=warehouse_url, publish_docs=False)
    assert cleared.passed, cleared.summary()
