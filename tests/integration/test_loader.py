"""The loader against the real embedded PostgreSQL: clean, dirty, hostile and unreadable files."""

from __future__ import annotations

import gzip
import json
import os
import threading
from pathlib import Path

import pytest

from cx_warehouse.ingest.landing import LandedFile, LandingZone
from cx_warehouse.ingest.loader import LINEAGE_INDEXED, ensure_schema, load_entity
from cx_warehouse.ingest.sources import get_source
from cx_warehouse.warehouse.connection import connect

ORDERS = get_source("crm").entity("orders")
CUSTOMERS = get_source("crm").entity("customers")
POINTS = get_source("crm").entity("points_ledger")
RESPONSES = get_source("survey").entity("responses")
HEADER = ",".join(ORDERS.column_names)


def order(oid: str, cust: str = "C1", total: str = "10.00", updated: str = "2025-11-01T10:00:00Z",
          status: str = "paid", channel: str = "web") -> str:
    return f"{oid},{cust},2025-11-01T09:00:00Z,{channel},,{status},CNY,{total},0,{updated}"


def customer(cid: str, first: str = "Ann", last: str = "Li", signup: str = "2025-01-01") -> str:
    def esc(v: str) -> str:
        return '"' + v.replace('"', '""') + '"'

    values = {"customer_id": cid, "first_name": esc(first), "last_name": esc(last), "email": f"{cid}@x.com",
              "signup_date": signup, "signup_channel": "web", "marketing_opt_in": "true",
              "updated_at": "2025-11-01T00:00:00Z"}
    return ",".join(values.get(c, "") for c in CUSTOMERS.column_names)


def land(root: Path, entity_dir: str, day: str, name: str, content: bytes | str) -> Path:
    path = root / entity_dir / day / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def orders_file(root: Path, day: str, rows: list[str], name: str | None = None, header: str = HEADER) -> Path:
    name = name or f"orders_{day.replace('-', '')}.csv"
    return land(root, "crm/orders", day, name, header + "\n" + "".join(r + "\n" for r in rows))


@pytest.fixture(autouse=True, params=["temporary", "unlogged"])
def work_tables(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test twice: small files are staged in temporary tables, large ones in unlogged
    tables of schema load_stage that parallel workers can read; both must behave the same."""
    from cx_warehouse.ingest import loader

    if request.param == "unlogged":
        monkeypatch.setattr(loader, "_PARALLEL_MIN_BYTES", 0)
    return str(request.param)


@pytest.fixture
def db(warehouse_url: str) -> str:
    with connect(warehouse_url, autocommit=True) as conn:
        ensure_schema(conn, [ORDERS, CUSTOMERS, POINTS, RESPONSES])
    return warehouse_url


def q(url: str, sql: str, *args: object) -> list[tuple]:
    with connect(url) as conn:
        return conn.execute(sql, args).fetchall()  # type: ignore[arg-type]


def table_fingerprint(url: str, table: str) -> str:
    return q(url, f"select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from {table} t")[0][0]


def audit(url: str, path_like: str = "%") -> list[dict]:
    with connect(url) as conn:
        cur = conn.execute(
            "select * from audit.load_audit where file_path like %s order by started_at", (path_like,))
        cols = [d.name for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def assert_balanced(url: str) -> None:
    for a in audit(url):
        if a["status"] == "loaded":
            assert a["rows_loaded"] + a["rows_quarantined"] + a["rows_duplicate"] == a["rows_read"], a


# --------------------------------------------------------------------------------------
def test_clean_file_loads_every_row_with_lineage(db: str, tmp_path: Path) -> None:
    orders_file(tmp_path, "2025-11-01", [order(f"O{i}", total=f"{i}.50") for i in range(1, 101)])
    r = load_entity(ORDERS, url=db, landing=LandingZone(str(tmp_path)))
    assert r.summary()["rows_loaded"] == 100
    rows = q(db, "select count(*), count(distinct _load_id), min(_source_file), sum(order_total) from raw.crm_orders")
    assert rows[0][:3] == (100, 1, "crm/orders/2025-11-01/orders_20251101.csv")
    assert float(rows[0][3]) == sum(i + 0.5 for i in range(1, 101))
    (a,) = audit(db)
    assert (a["status"], a["rows_read"], a["rows_loaded"], a["rows_quarantined"], a["rows_duplicate"]) == (
        "loaded", 100, 100, 0, 0)
    assert a["parse_mode"] == "copy" and len(a["file_sha256"]) == 64


def test_bad_values_are_quarantined_with_reason_line_and_payload(db: str, tmp_path: Path) -> None:
    rows = [
        order("O1"),
        order("O2", total='"12,50"'),        # line 3: not a number
        order("O3", cust=""),                # line 4: required value missing
        '"O4","C4","2025-11-01T09:00:00Z","web","","paid","CNY","1","0","2025-13-45T00:00:00Z"',  # line 5
        order("O5"),
    ]
    orders_file(tmp_path, "2025-11-01", rows)
    load_entity(ORDERS, url=db, landing=LandingZone(str(tmp_path)))
    got = q(db, "select line_number, reasons, raw_payload from audit.quarantine order by line_number")
    assert [g[0] for g in got] == [3, 4, 5]
    assert got[0][1] == ["invalid numeric in order_total: not a plain decimal number (digits, a point)"]
    assert not any("12,50" in r for g in got for r in g[1])  # reasons never quote the value
    assert got[1][1] == ["missing required value: customer_id"]
    assert got[2][1][0].startswith("invalid timestamptz in updated_at")
    assert json.loads(got[0][2])["order_id"] == "O2"
    assert [r[0] for r in q(db, "select order_id from raw.crm_orders order by 1")] == ["O1", "O5"]
    assert_balanced(db)


def test_line_numbers_count_newlines_inside_quoted_fields(db: str, tmp_path: Path) -> None:
    header = ",".join(CUSTOMERS.column_names)
    good = customer("C1", last="multi\nline\nname")
    bad = customer("C2", signup="not-a-date")
    land(tmp_path, "crm/customers", "2025-11-01", "customers_20251101.csv", f"{header}\n{good}\n{bad}\n")
    load_entity(CUSTOMERS, url=db, landing=LandingZone(str(tmp_path)))
    # header = line 1, the first record spans lines 2-4, the bad one starts on line 5
    assert q(db, "select line_number from audit.quarantine") == [(5,)]
    assert q(db, "select last_name from raw.crm_customers") == [("multi\nline\nname",)]


def test_malformed_and_badly_encoded_rows_are_quarantined_not_fatal(db: str, tmp_path: Path) -> None:
    content = (HEADER + "\n" + order("O1") + "\n"
               + "O2,C2,2025-11-01T09:00:00Z,web\n"                      # line 3: too few fields
               + order("O3") + ",surplus\n").encode()                     # line 4: too many
    content += order("O4", cust="\u738b\u82b3").encode("gbk") + b"\n"    # line 5: GBK bytes
    content += (order("O5") + "\n").encode()
    orders_file_path = land(tmp_path, "crm/orders", "2025-11-01", "orders_20251101.csv", content)
    r = load_entity(ORDERS, url=db, landing=LandingZone(str(tmp_path)))
    assert not r.failed, r.failed
    got = q(db, "select line_number, reasons[1] from audit.quarantine order by 1")
    assert got == [
        (3, "malformed row: expected 10 fields, found 4"),
        (4, "malformed row: expected 10 fields, found 11"),
        (5, "invalid UTF-8 bytes"),
    ]
    assert [x[0] for x in q(db, "select order_id from raw.crm_orders order by 1")] == ["O1", "O5"]
    (a,) = audit(db)
    assert a["parse_mode"] == "row-by-row" and a["rows_read"] == 5
    assert orders_file_path.exists()


def test_duplicates_and_latest_updated_at_wins(db: str, tmp_path: Path) -> None:
    lz = LandingZone(str(tmp_path))
    orders_file(tmp_path, "2025-11-01", [
        order("O1", updated="2025-11-01T10:00:00Z"),
        order("O1", updated="2025-11-01T10:00:00Z"),                     # exact duplicate
        order("O2", status="paid", updated="2025-11-01T10:00:00Z"),
    ])
    load_entity(ORDERS, url=db, landing=lz)
    orders_file(tmp_path, "2025-11-02", [
        order("O2", status="refunded", updated="2025-11-02T10:00:00Z"),  # newer: wins
        order("O3"),
    ])
    orders_file(tmp_path, "2025-11-03", [
        order("O2", status="cancelled", updated="2025-11-01T12:00:00Z"),  # older than loaded: duplicate
    ])
    load_entity(ORDERS, url=db, landing=lz)
    assert q(db, "select order_id, status from raw.crm_orders order by 1") == [
        ("O1", "paid"), ("O2", "refunded"), ("O3", "paid")]
    counts = [(a["rows_read"], a["rows_inserted"], a["rows_updated"], a["rows_duplicate"]) for a in audit(db)]
    assert counts == [(3, 2, 0, 1), (2, 1, 1, 0), (1, 0, 0, 1)]


def test_immutable_entities_count_a_resent_key_as_duplicate_and_a_changed_one_as_conflict(
        db: str, tmp_path: Path) -> None:
    header = ",".join(POINTS.column_names)
    row = "E1,C1,earn,purchase,100,O1,2025-11-01T00:00:00Z,"
    land(tmp_path, "crm/points_ledger", "2025-11-01", "points_ledger_20251101.csv", f"{header}\n{row}\n")
    land(tmp_path, "crm/points_ledger", "2025-11-02", "points_ledger_20251102.csv",
         f"{header}\n{row}\nE2,C1,redeem,,-50,,2025-11-02T00:00:00Z,\n{row.replace('100', '999')}\n")
    load_entity(POINTS, url=db, landing=LandingZone(str(tmp_path)))
    assert q(db, "select entry_id, points from raw.crm_points_ledger order by 1") == [("E1", 100), ("E2", -50)]
    # second file: E1 as stored, E2 new, then E1 with other points (its last row for E1: a conflict,
    # not silently dropped; the earlier E1 row of the file is a duplicate of it)
    assert [(a["rows_loaded"], a["rows_quarantined"], a["rows_duplicate"]) for a in audit(db)] == [(1, 0, 0), (1, 1, 1)]
    (reason,) = q(db, "select reasons[1] from audit.quarantine")[0]
    assert reason.startswith("conflicting row: same key as the row loaded from "
                             "crm/points_ledger/2025-11-01/points_ledger_20251101.csv")


def test_rerun_and_redelivery_leave_the_warehouse_unchanged(db: str, tmp_path: Path) -> None:
    lz = LandingZone(str(tmp_path))
    orders_file(tmp_path, "2025-11-01", [order(f"O{i}") for i in range(50)] + [order("BAD", total="x")])
    load_entity(ORDERS, url=db, landing=lz)
    before = {t: table_fingerprint(db, t) for t in ("raw.crm_orders", "audit.quarantine", "audit.load_audit")}
    r = load_entity(ORDERS, url=db, landing=lz)  # same interval again / task retry
    assert r.skipped == 1 and not r.files
    assert {t: table_fingerprint(db, t) for t in before} == before

    # the same file delivered again under another name the next day
    src = tmp_path / "crm/orders/2025-11-01/orders_20251101.csv"
    land(tmp_path, "crm/orders", "2025-11-02", "orders_20251101_redelivery.csv", src.read_bytes())
    r = load_entity(ORDERS, url=db, landing=lz)
    (f,) = r.files
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined, f.rows_duplicate) == (51, 0, 1, 50)
    assert f.duplicate_of == "crm/orders/2025-11-01/orders_20251101.csv"
    assert table_fingerprint(db, "raw.crm_orders") == before["raw.crm_orders"]


def test_until_limits_files_to_the_data_interval(db: str, tmp_path: Path) -> None:
    from datetime import date

    lz = LandingZone(str(tmp_path))
    for day in ("2025-11-01", "2025-11-02", "2025-11-03"):
        orders_file(tmp_path, day, [order(f"O{day}")])
    r = load_entity(ORDERS, url=db, landing=lz, until=date(2025, 11, 3))
    assert len(r.files) == 2
    r = load_entity(ORDERS, url=db, landing=lz)
    assert len(r.files) == 1 and r.skipped == 2


def test_extra_column_is_recorded_and_hostile_names_never_reach_sql(db: str, tmp_path: Path) -> None:
    hostile = '"x""; drop table raw.crm_orders; --"'
    header = HEADER + ",legacy_code," + hostile
    rows = [order("O1") + ",L1,boom", order("O2") + ",L2,bang"]
    orders_file(tmp_path, "2025-11-01", rows, header=header)
    r = load_entity(ORDERS, url=db, landing=LandingZone(str(tmp_path)))
    (f,) = r.files
    assert f.status == "loaded" and f.rows_loaded == 2
    # a header name that is not a valid name may be data (a file without its header): counted only
    assert f.extra_columns == ["legacy_code", "(1 more, not valid names)"]
    assert q(db, "select count(*) from raw.crm_orders") == [(2,)]


def test_hostile_text_is_stored_verbatim(db: str, tmp_path: Path) -> None:
    header = ",".join(CUSTOMERS.column_names)
    texts = ["<script>alert(1)</script>", "'); DROP TABLE raw.crm_customers;--", "{{7*7}}",
             "王芳 😀, \"quoted\"", "x" * 100_000, "\\.", "tab\there"]
    lines = [customer(f"C{i}", first=t) for i, t in enumerate(texts)]
    land(tmp_path, "crm/customers", "2025-11-01", "customers_20251101.csv", header + "\n" + "\n".join(lines) + "\n")
    r = load_entity(CUSTOMERS, url=db, landing=LandingZone(str(tmp_path)))
    assert not r.failed
    assert [x[0] for x in q(db, "select first_name from raw.crm_customers order by customer_id")] == texts


@pytest.mark.parametrize(
    ("name", "content", "cause"),
    [
        ("orders_20251101.csv", HEADER.replace(",", ";") + "\nO1;C1\n", "wrong delimiter"),
        ("orders_20251101.csv", "order_id,customer,total\nO1,C1,1\n", "missing ['customer_id'"),
        ("orders_20251101.csv", "", "the file is empty"),
        ("orders_20251101.csv.gz", gzip.compress((HEADER + "\n" + (order("O1") + "\n") * 200).encode())[:-40],
         "cannot read the file"),
        ("orders_20251101.csv.gz", b"\x1f\x8b\x08\x00garbage-not-deflate", "cannot read the file"),
        ("orders_20251101.csv", (HEADER + "\n").encode() + "王,芳,李\n".encode("utf-16") * 5, "not UTF-8"),
        ("orders_20251101.csv", HEADER.encode("utf-16") + b"\n", "header line is not UTF-8"),
    ],
    ids=["delimiter", "header", "empty", "truncated-gzip", "corrupt-gzip", "utf16-rows", "utf16-header"],
)
def test_unreadable_file_fails_cleanly_naming_file_and_cause(
        db: str, tmp_path: Path, name: str, content: bytes | str, cause: str) -> None:
    orders_file(tmp_path, "2025-10-31", [order("KEEP")])
    land(tmp_path, "crm/orders", "2025-11-01", name, content)
    r = load_entity(ORDERS, url=db, landing=LandingZone(str(tmp_path)))
    (failed,) = r.failed
    assert failed.error is not None
    assert failed.error.startswith(f"crm/orders/2025-11-01/{name}: ")
    assert cause in failed.error
    # no partial load: only the good file's row, no quarantine rows from the bad file
    assert q(db, "select order_id from raw.crm_orders") == [("KEEP",)]
    assert q(db, "select count(*) from audit.quarantine") == [(0,)]
    statuses = [(a["file_path"].split("/")[-1], a["status"]) for a in audit(db)]
    assert statuses == [("orders_20251031.csv", "loaded"), (name, "failed")]


def test_json_lines_nested_paths_and_broken_lines(db: str, tmp_path: Path) -> None:
    good = {"response_id": "R1", "survey_id": "S1", "submitted_at": "2025-11-01T08:00:00+08:00",
            "respondent": {"email": " Ann@X.com "}, "channel": "app",
            "answers": {"nps": 9, "servqual": {"empathy": {"expectation": 6, "perception": 4}},
                        "comment": "很好 😀 <b>bold</b>"}, "unexpected": {"k": 1}}
    lines = [
        json.dumps(good, ensure_ascii=False),                                   # 1
        '{"response_id": "R2", "survey_id": "S1"',                              # 2 truncated
        "",                                                                     # blank: not a row
        json.dumps({"response_id": "R3", "survey_id": "S1", "submitted_at": "2025-11-01T00:00:00Z",
                    "answers": {"nps": "ten"}}),                                 # 4 bad type
        "[1, 2, 3]",                                                            # 5 not an object
        "\\.",                                                                  # 6 COPY's end marker
        json.dumps({"response_id": "R7", "survey_id": "S1", "submitted_at": "2025-11-01T00:00:00Z"}),  # 7
    ]
    land(tmp_path, "survey/responses", "2025-11-01", "responses_20251101.jsonl", "\n".join(lines) + "\n")
    r = load_entity(RESPONSES, url=db, landing=LandingZone(str(tmp_path)))
    (f,) = r.files
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (6, 2, 4)
    got = q(db, "select line_number, reasons[1] from audit.quarantine order by 1")
    assert got == [(2, "malformed JSON: invalid input syntax for type json"),
                   (4, "invalid integer in nps: not a whole number (digits only)"),
                   (5, "JSON line is not an object"), (6, "malformed JSON: invalid input syntax for type json")]
    row = q(db, "select respondent_email, nps, servqual_empathy_gap, comment, payload->'unexpected' "
                "from (select *, servqual_empathy_perception - servqual_empathy_expectation as servqual_empathy_gap "
                "from raw.survey_responses where response_id = 'R1') x")
    # identifiers are trimmed (" CD7" and "CD7" are one key); free text is kept verbatim
    assert row == [("Ann@X.com", 9, -2, "很好 😀 <b>bold</b>", {"k": 1})]
    assert q(db, "select submitted_at::text from raw.survey_responses where response_id = 'R1'") == [
        ("2025-11-01 00:00:00+00",)]


def test_concurrent_loads_of_one_entity_do_not_double(db: str, tmp_path: Path) -> None:
    for d in range(1, 6):
        orders_file(tmp_path, f"2025-11-0{d}", [order(f"O{d}-{i}") for i in range(200)])
    results = []

    def run() -> None:
        results.append(load_entity(ORDERS, url=db, landing=LandingZone(str(tmp_path))))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert q(db, "select count(*) from raw.crm_orders") == [(1000,)]
    assert sum(len(r.files) for r in results) == 5
    assert sum(r.skipped for r in results) == 10
    assert q(db, "select count(*) from audit.load_audit") == [(5,)]


# -- a daily run reads only new and changed files -------------------------------------------
@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The landed files the loader opens (hashing or loading), in order."""
    paths: list[str] = []
    real = LandingZone._open_raw

    def spy(self: LandingZone, f: LandedFile):  # type: ignore[no-untyped-def]
        paths.append(f.path)
        return real(self, f)

    monkeypatch.setattr(LandingZone, "_open_raw", spy)
    return paths


def set_mtime(path: Path, seconds_ago: float) -> int:
    """Give ``path`` an old modification time (a delivery from earlier); returns it in ns."""
    st = path.stat()
    mtime = st.st_mtime_ns - int(seconds_ago * 1e9)
    os.utime(path, ns=(st.st_atime_ns, mtime))
    return mtime


def stamps(url: str) -> list[tuple]:
    return q(url, "select file_path, file_size, file_mtime_ns, superseded_by is null from audit.load_audit "
                  "where status = 'loaded' order by started_at")


def test_a_loaded_file_whose_size_and_mtime_did_not_change_is_not_opened_again(
        db: str, tmp_path: Path, opened: list[str]) -> None:
    lz = LandingZone(str(tmp_path))
    days = ["2025-11-01", "2025-11-02", "2025-11-03"]
    files = [orders_file(tmp_path, d, [order(f"O{d}-{i}") for i in range(20)]) for d in days]
    mtimes = [set_mtime(p, 3600) for p in files]
    load_entity(ORDERS, url=db, landing=lz)
    assert stamps(db) == [(f"crm/orders/{d}/orders_{d.replace('-', '')}.csv", p.stat().st_size, m, True)
                          for d, p, m in zip(days, files, mtimes, strict=True)]
    before = {t: table_fingerprint(db, t) for t in ("raw.crm_orders", "audit.load_audit")}
    opened.clear()
    r = load_entity(ORDERS, url=db, landing=lz)
    assert (r.skipped, r.files, opened) == (3, [], [])  # nothing new: no file is read
    assert {t: table_fingerprint(db, t) for t in before} == before

    # the next day's delivery: only that file is read, the history is not
    new = orders_file(tmp_path, "2025-11-04", [order("O4")])
    set_mtime(new, 3600)
    r = load_entity(ORDERS, url=db, landing=lz)
    assert opened == ["crm/orders/2025-11-04/orders_20251104.csv"] * len(opened) and opened
    assert [f.file_path for f in r.files] == ["crm/orders/2025-11-04/orders_20251104.csv"] and r.skipped == 3


def test_a_redelivery_of_the_same_size_with_a_new_mtime_is_read_and_supersedes(
        db: str, tmp_path: Path, opened: list[str]) -> None:
    lz = LandingZone(str(tmp_path))
    path = orders_file(tmp_path, "2025-11-01", [order("O1", total="10.00"), order("O2")])
    set_mtime(path, 3600)
    load_entity(ORDERS, url=db, landing=lz)
    size = path.stat().st_size
    orders_file(tmp_path, "2025-11-01", [order("O1", total="20.00"), order("O2")])  # same size, other bytes
    assert path.stat().st_size == size
    set_mtime(path, 1800)
    opened.clear()
    r = load_entity(ORDERS, url=db, landing=lz)
    (f,) = r.files
    assert f.delivery_kind == "redelivery" and f.rows_updated == 1 and opened
    assert q(db, "select order_id, order_total::text from raw.crm_orders order by 1") == [
        ("O1", "20.00"), ("O2", "10.00")]
    assert [s[3] for s in stamps(db)] == [False, True]  # the first version is superseded


def test_a_touched_file_is_hashed_once_skipped_and_its_new_mtime_recorded(
        db: str, tmp_path: Path, opened: list[str]) -> None:
    lz = LandingZone(str(tmp_path))
    path = orders_file(tmp_path, "2025-11-01", [order("O1")])
    set_mtime(path, 3600)
    load_entity(ORDERS, url=db, landing=lz)
    touched = set_mtime(path, -1800)  # same bytes, another time (a copy tool, a restore)
    opened.clear()
    r = load_entity(ORDERS, url=db, landing=lz)
    assert (r.skipped, r.files) == (1, []) and opened == [f"{path.relative_to(tmp_path)}"]
    assert stamps(db) == [(str(path.relative_to(tmp_path)), path.stat().st_size, touched, True)]
    opened.clear()
    assert load_entity(ORDERS, url=db, landing=lz).skipped == 1 and opened == []


def test_an_mtime_too_recent_to_vouch_for_the_bytes_is_not_recorded(
        db: str, tmp_path: Path, opened: list[str]) -> None:
    """A same-size rewrite within the clock's step keeps the time: such a time is not trusted,
    and the file is hashed again on the next run (as a row of a release without stamps is)."""
    lz = LandingZone(str(tmp_path))
    path = orders_file(tmp_path, "2025-11-01", [order("O1")])  # written just now
    load_entity(ORDERS, url=db, landing=lz)
    assert stamps(db)[0][2] is None
    orders_file(tmp_path, "2025-11-01", [order("O1", total="99.00")])  # same size, same clock step
    opened.clear()
    (f,) = load_entity(ORDERS, url=db, landing=lz).files
    assert f.delivery_kind == "redelivery" and opened
    assert q(db, "select order_total::text from raw.crm_orders") == [("99.00",)]
    # once it is older, its time is recorded when it is next hashed, and then trusted
    mtime = set_mtime(path, 3600)
    opened.clear()
    assert load_entity(ORDERS, url=db, landing=lz).skipped == 1 and opened
    assert stamps(db)[-1][2] == mtime
    opened.clear()
    assert load_entity(ORDERS, url=db, landing=lz).skipped == 1 and opened == []


def test_bytes_rewritten_with_size_and_mtime_forced_back_are_found_only_by_rehash(
        db: str, tmp_path: Path, opened: list[str]) -> None:
    """The documented limitation (touch -r after an in-place rewrite), and its remedy."""
    lz = LandingZone(str(tmp_path))
    path = orders_file(tmp_path, "2025-11-01", [order("O1", total="10.00")])
    mtime = set_mtime(path, 3600)
    load_entity(ORDERS, url=db, landing=lz)
    orders_file(tmp_path, "2025-11-01", [order("O1", total="30.00")])
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, mtime))  # touch -r: the old time back
    opened.clear()
    assert load_entity(ORDERS, url=db, landing=lz).skipped == 1 and opened == []
    (f,) = load_entity(ORDERS, url=db, landing=lz, rehash=True).files
    assert f.delivery_kind == "redelivery"
    assert q(db, "select order_total::text from raw.crm_orders") == [("30.00",)]


def test_object_store_files_are_skipped_unopened_by_their_listed_stamp(db: str, opened: list[str]) -> None:
    import uuid
    from datetime import UTC, datetime, timedelta

    import fsspec

    fs, root = fsspec.filesystem("memory"), f"/lz-{uuid.uuid4().hex}"
    rel = "crm/orders/2025-11-01/orders_20251101.csv"
    try:
        fs.pipe(f"{root}/{rel}", (HEADER + "\n" + order("O1") + "\n").encode())
        fs.store[f"{root}/{rel}"].created = datetime.now(UTC) - timedelta(hours=1)
        lz = LandingZone(f"memory://{root}")
        load_entity(ORDERS, url=db, landing=lz)
        assert stamps(db)[0][2] is not None
        opened.clear()
        assert load_entity(ORDERS, url=db, landing=lz).skipped == 1 and opened == []
        fs.pipe(f"{root}/{rel}", (HEADER + "\n" + order("O1", total="11.00") + "\n").encode())  # a new object
        (f,) = load_entity(ORDERS, url=db, landing=lz).files
        assert f.delivery_kind == "redelivery" and opened
    finally:
        fs.rm(root, recursive=True)


def _indexes(url: str, table: str) -> dict[str, str]:
    return dict(q(url, "select indexname, indexdef from pg_indexes where schemaname = 'raw' and tablename = %s",
                  table))


def test_raw_tables_are_indexed_on_load_id_and_loaded_at_new_and_existing(db: str, tmp_path: Path) -> None:
    """The raw gates' new-loads batch (`_load_id = any(...)`) and dbt's incremental reads
    (`_loaded_at > ...`) find the day's rows without scanning the history."""
    for e in (ORDERS, CUSTOMERS, POINTS, RESPONSES):
        got = _indexes(db, e.table)
        for column in LINEAGE_INDEXED:
            assert f"{e.table}_{column.lstrip('_')}" in got, got
            assert got[f"{e.table}_{column.lstrip('_')}"].endswith(f"USING btree ({column})")
    # a raw table created by an earlier release (no such index) gets them from ensure_schema
    orders_file(tmp_path, "2025-11-01", [order(f"O{i}") for i in range(50)])
    load_entity(ORDERS, url=db, landing=LandingZone(str(tmp_path)))
    with connect(db, autocommit=True) as conn:
        conn.execute("drop index raw.crm_orders_load_id")
        conn.execute("drop index raw.crm_orders_loaded_at")
        ensure_schema(conn, [ORDERS])
        assert {"crm_orders_load_id", "crm_orders_loaded_at"} <= set(_indexes(db, ORDERS.table))
        conn.execute("set enable_seqscan = off")
        plan = "\n".join(r[0] for r in conn.execute(
            "explain select * from raw.crm_orders where _load_id = any(%s::uuid[])",
            ([str(a["load_id"]) for a in audit(db)],)).fetchall())
        assert "crm_orders_load_id" in plan


@pytest.mark.parametrize("work_tables", ["unlogged"], indirect=True)  # temporary ones are private by definition
def test_a_loads_work_tables_are_its_own_and_never_outlive_it(
        db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, work_tables: str) -> None:
    """A large file's stage and typed tables are regular (unlogged) tables so parallel workers can
    read them; no other session may see them, and none may be left behind, loaded or failed."""
    from cx_warehouse.ingest import loader

    assert work_tables == "unlogged"
    seen_inside: list[int] = []

    seen: list[int] = []
    real = loader._copy_fast

    def copy_then_look(*args, **kwargs):  # type: ignore[no-untyped-def]
        out = real(*args, **kwargs)
        seen.append(q(db, "select count(*) from pg_tables where schemaname = 'load_stage'")[0][0])
        cur = args[0]  # the loader's own cursor, inside the file's transaction: its stage is there
        seen_inside.append(cur.execute("select count(*) from pg_tables where schemaname = 'load_stage'").fetchone()[0])
        return out

    monkeypatch.setattr(loader, "_copy_fast", copy_then_look)
    orders_file(tmp_path, "2025-11-01", [order(f"O{i}") for i in range(10)])
    land(tmp_path, "crm/orders", "2025-11-02", "orders_20251102.csv.gz", b"\x1f\x8b\x08\x00garbage")
    orders_file(tmp_path, "2025-11-03", [order("O1", updated="2025-11-03T10:00:00Z") + ",v"], header=HEADER + ",x")
    r = load_entity(ORDERS, url=db, landing=LandingZone(str(tmp_path)))
    assert [f.status for f in r.files] == ["loaded", "failed", "loaded"]
    assert seen == [0, 0]  # another session, while the stage held the file: nothing to see
    assert seen_inside == [1, 1]  # the load's own: its stage (the typed table comes next)
    assert q(db, "select count(*) from pg_tables where schemaname = 'load_stage'") == [(0,)]
    assert q(db, "select count(*) from raw.crm_orders") == [(10,)]
