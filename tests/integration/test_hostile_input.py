"""Hostile input against the loader on real PostgreSQL: one test per class of defect of issue 12.

Written the way the outside tester attacked the loader, not the way our generator writes files:
each hostile row sits between good rows of the same file, and a good file of another entity sits
beside it. Every test asserts what a user relies on when a file goes wrong:

* the file balances: loaded + quarantined + duplicate = read (with the exact counts);
* the bad row is quarantined with the *kind* of reason the spec documents, and no reason or
  audit error repeats the value (reasons group by kind and never leak row content);
* the good rows of the same file load, and the other entities of the landing zone still load.

Values are spelled exactly as ``config/sources/*.yml`` declares (``formats:``); anything else,
including every special input value PostgreSQL would accept (``now``, ``infinity``, ``NaN``,
``0x1F`` ...), is quarantined rather than typed by the database.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cx_warehouse.ingest.accounting import warehouse_summary
from cx_warehouse.ingest.landing import LandingZone
from cx_warehouse.ingest.loader import ensure_schema, load_entity
from cx_warehouse.ingest.service import load_landing
from cx_warehouse.ingest.sources import Entity, get_source, parse_source
from cx_warehouse.warehouse.connection import connect

CRM = get_source("crm")
CUSTOMERS = CRM.entity("customers")
ORDERS = CRM.entity("orders")
ORDER_LINES = CRM.entity("order_lines")
TICKETS = CRM.entity("tickets")
MEMBERSHIPS = CRM.entity("memberships")
POINTS = CRM.entity("points_ledger")
RESPONSES = get_source("survey").entity("responses")
MENTIONS = get_source("social").entity("mentions")

DAY = "2026-03-01"
NEXT_DAY = "2026-03-02"
HEADER = ",".join(ORDERS.column_names)
SECRET = "SECRET-PII-xyz"
"""Planted in hostile rows: it must never reach an audit error, a reason or the log."""


# --------------------------------------------------------------------------------------
# Rows and files
# --------------------------------------------------------------------------------------
def order(oid: str, **over: str) -> dict[str, str]:
    row = {"order_id": oid, "customer_id": "C1", "ordered_at": "2026-03-01T09:00:00Z", "channel": "web",
           "status": "paid", "currency": "CNY", "order_total": "10.00", "discount_total": "0",
           "updated_at": "2026-03-01T10:00:00Z"}
    return row | over


def order_line(oid: str, line: int = 1, **over: str) -> dict[str, str]:
    row = {"order_id": oid, "line_number": str(line), "product_id": "P1", "product_name": "Tea",
           "category": "food", "quantity": "1", "unit_price": "5.00", "discount": "0",
           "updated_at": "2026-03-01T10:00:00Z"}
    return row | over


def ticket(tid: str, **over: str) -> dict[str, str]:
    row = {"ticket_id": tid, "customer_id": "C1", "channel": "phone", "category": "delivery",
           "severity": "low", "is_complaint": "false", "subject": "late", "description": "parcel late",
           "created_at": "2026-03-01T08:00:00Z", "reopen_count": "0", "updated_at": "2026-03-01T10:00:00Z"}
    return row | over


def customer(cid: str, **over: str) -> dict[str, str]:
    row = {"customer_id": cid, "first_name": "Ann", "last_name": "Li", "email": f"{cid.strip()}@x.com",
           "phone": "+86 138 0000 0000", "signup_date": "2026-01-01", "signup_channel": "web",
           "marketing_opt_in": "true", "updated_at": "2026-03-01T10:00:00Z"}
    return row | over


def membership(cid: str) -> dict[str, str]:
    return {"customer_id": cid, "member_number": f"M-{cid}", "tier": "silver",
            "joined_at": "2026-01-01T00:00:00Z", "updated_at": "2026-03-01T10:00:00Z"}


def points(eid: str, **over: str) -> dict[str, str]:
    row = {"entry_id": eid, "customer_id": "C1", "entry_type": "earn", "reason": "purchase",
           "points": "100", "created_at": "2026-03-01T10:00:00Z"}
    return row | over


def response(rid: str, nps: Any = 9, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"response_id": rid, "survey_id": "S1", "submitted_at": "2026-03-01T08:00:00Z",
                           "respondent": {"customer_id": "C1"}, "channel": "app",
                           "answers": {"nps": nps, "comment": "fine"}}
    return row | over


def mention(post: str, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"platform": "weibo", "post_id": post, "author": {"handle": "h", "followers": 3},
                           "posted_at": "2026-03-01T08:00:00Z", "text": "ok", "brand_replied": False}
    return row | over


def csv_text(entity: Entity, rows: list[dict[str, str]], *, header: bool = True) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if header:
        w.writerow(entity.column_names)
    for r in rows:
        w.writerow([r.get(c, "") for c in entity.column_names])
    return buf.getvalue()


def jl(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False)


def file_path(entity: Entity, day: str = DAY, name: str | None = None) -> str:
    """The landing path of a delivery of ``entity`` on ``day``, exactly as its pattern declares."""
    rel = entity.pattern.replace("{date}", day)
    if name is None:
        return rel.replace("*", day.replace("-", ""))
    return rel.rsplit("/", 1)[0] + "/" + name


def correction_path(entity: Entity, day: str, name: str) -> str:
    return entity.correction_pattern.replace("{date}", day).rsplit("/", 1)[0] + "/" + name


def land(root: Path, rel: str, content: bytes | str) -> str:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return rel


# --------------------------------------------------------------------------------------
# Reading the warehouse
# --------------------------------------------------------------------------------------
def q(url: str, sql: str, *args: object) -> list[tuple[Any, ...]]:
    with connect(url) as conn:
        return conn.execute(sql, args).fetchall()  # type: ignore[arg-type]


def audit_row(url: str, rel: str) -> dict[str, Any]:
    """The latest audit row of one file."""
    with connect(url) as conn:
        cur = conn.execute("select * from audit.load_audit where file_path = %s order by started_at desc limit 1",
                           (rel,))
        cols = [d.name for d in cur.description or []]
        rows = cur.fetchall()
    assert rows, f"{rel} has no audit row: it was not loaded at all"
    return dict(zip(cols, rows[0], strict=True))


def assert_loaded(url: str, rel: str, read: int, loaded: int, quarantined: int, duplicate: int) -> dict[str, Any]:
    a = audit_row(url, rel)
    assert a["status"] == "loaded", (a["status"], a["error"])
    got = (a["rows_read"], a["rows_loaded"], a["rows_quarantined"], a["rows_duplicate"])
    assert a["rows_loaded"] + a["rows_quarantined"] + a["rows_duplicate"] == a["rows_read"], got
    assert got == (read, loaded, quarantined, duplicate), f"{rel}: (read, loaded, quarantined, duplicate) = {got}"
    return a


def quarantined(url: str, rel: str) -> list[tuple[int, list[str], str]]:
    return [(int(r[0]), list(r[1]), r[2]) for r in q(
        url, "select line_number, reasons, raw_payload from audit.quarantine where file_path = %s "
             "order by line_number", rel)]


def all_messages(url: str) -> list[str]:
    """Every audit error, every quarantine reason and every recorded extra column name."""
    out = [r[0] for r in q(url, "select error from audit.load_audit where error is not null")]
    out += [r[0] for r in q(url, "select unnest(reasons) from audit.quarantine")]
    out += [r[0] for r in q(url, "select unnest(extra_columns) from audit.load_audit where status = 'failed'")]
    return out


def assert_not_echoed(url: str, *values: str) -> None:
    """No reason or error repeats a value: neither quoted, nor (when not a common word) bare."""
    for msg in all_messages(url):
        assert SECRET not in msg, msg[:300]
        for v in values:
            v = v.strip()
            if not v:
                continue
            assert f"'{v}'" not in msg and f'"{v}"' not in msg, msg[:300]
            if len(v) >= 6:
                assert v not in msg, msg[:300]


def assert_balanced(url: str) -> None:
    for row in q(url, "select file_path, rows_read, rows_loaded, rows_quarantined, rows_duplicate "
                      "from audit.load_audit where status <> 'failed'"):
        assert row[2] + row[3] + row[4] == row[1], row


def keys(url: str, entity: Entity) -> list[str]:
    cols = ", ".join(entity.primary_key)
    return [r[0] if len(r) == 1 else "|".join(map(str, r))
            for r in q(url, f"select {cols} from {entity.qualified_table} order by {cols}")]


def keys_sql(entity: Entity) -> str:
    return ", ".join(entity.primary_key)


# --------------------------------------------------------------------------------------
# The landing zone: a good file of two other entities beside every attack
# --------------------------------------------------------------------------------------
BYSTANDER_MEMBERS = file_path(MEMBERSHIPS, DAY)
BYSTANDER_MENTIONS = file_path(MENTIONS, DAY, "mentions_bystander.jsonl")


@pytest.fixture
def zone(tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    land(root, BYSTANDER_MEMBERS, csv_text(MEMBERSHIPS, [membership("B1"), membership("B2")]))
    land(root, BYSTANDER_MENTIONS, "\n".join(jl(mention(p)) for p in ("BY1", "BY2")) + "\n")
    return root


def assert_bystanders_loaded(url: str) -> None:
    """Whatever the hostile file did, the other entities of the landing zone loaded."""
    assert_loaded(url, BYSTANDER_MEMBERS, 2, 2, 0, 0)
    assert_loaded(url, BYSTANDER_MENTIONS, 2, 2, 0, 0)
    assert {"B1", "B2"} <= set(keys(url, MEMBERSHIPS))
    assert {"weibo|BY1", "weibo|BY2"} <= set(keys(url, MENTIONS))


def load(url: str, root: Path) -> None:
    load_landing(url, str(root))


def attack_csv(url: str, root: Path, entity: Entity, good: Callable[[str], dict[str, str]],
               bad: dict[str, str], kind: str, value: str) -> None:
    """Good, good, bad (line 4), good: the bad row is quarantined with a reason of ``kind``."""
    rel = land(root, file_path(entity), csv_text(entity, [good("G1"), good("G2"), bad, good("G3")]))
    load(url, root)
    assert_loaded(url, rel, 4, 3, 1, 0)
    ((line, reasons, _),) = quarantined(url, rel)
    assert line == 4
    assert any(r.startswith(kind) for r in reasons), reasons
    assert_not_echoed(url, value)
    assert_balanced(url)
    assert_bystanders_loaded(url)


# --------------------------------------------------------------------------------------
# Class 2: PostgreSQL's special input values never pass typing
# --------------------------------------------------------------------------------------
BAD_TIMESTAMPS = [
    "now", "NOW", " now ", "today", "tomorrow", "yesterday", "epoch", "infinity", "-infinity", "INFINITY",
    "allballs", "0001-01-01 BC", "2026-03-01 10:00:00 BC", "2026-02-30T00:00:00Z", "10000-01-01T00:00:00Z",
    "2026-03-01",                      # a date where a timestamp is declared: no midnight is guessed
    "2026-3-1 10:00:00", "26-03-01 10:00:00", "2026/03/01 10:00:00", "03/01/2026 10:00",
    "Mar 1 2026 10:00", "J2461101", "1772359200",
    "2026-03-01T10:00:00 PST", "2026-03-01T10:00:00 Asia/Tokyo",   # zone names PostgreSQL would resolve
    "2026-03-01T24:00:00Z", "2026-03-01T10:00:60Z", "2026-03-01T10:61:00Z",  # PostgreSQL rolls these over
    "2026-03-01T10:00:00+25:00", "2026-03-01T10:00:00.1234567Z",
    "1899-12-31T23:59:59Z", "2100-06-01T00:00:00Z",                # outside the declared range
    # The canonical length with a non-digit in a digit's place: PostgreSQL reads each of these as
    # some other instant (a military zone letter, a lost offset, an empty field) instead of refusing.
    "2026-03-01T10:00:0a+08:00", "2026-03-01T10:00:0nZ", "2026----01T10:00:00Z", "2026-03-01T10:00:00+0::00",
    "2026-03-01T 9:00:00Z", "2026-03-01Tz0:00:00Z", "2026-03-01T10:00:0.Z", "2026-03--1T10:00:00Z",
]


@pytest.mark.parametrize("value", BAD_TIMESTAMPS)
def test_special_and_malformed_timestamps_are_quarantined(warehouse_url: str, zone: Path, value: str) -> None:
    attack_csv(warehouse_url, zone, ORDERS, order, order("BAD", ordered_at=value, customer_id=SECRET),
               "invalid timestamptz in ordered_at", value)
    assert keys(warehouse_url, ORDERS) == ["G1", "G2", "G3"]


@pytest.mark.parametrize("value", ["now", "infinity", "epoch", "2026-03-01"])
def test_special_values_in_the_version_column_are_quarantined(warehouse_url: str, zone: Path, value: str) -> None:
    """An ``updated_at`` of infinity could never be superseded: it must not load."""
    attack_csv(warehouse_url, zone, ORDERS, order, order("BAD", updated_at=value),
               "invalid timestamptz in updated_at", value)


BAD_NUMERICS = ["NaN", "nan", "Infinity", "-Infinity", "inf", "1e400", "1e5", "1E5", "0x1F", "1_000", "1,000",
                "12,50", "1000000000000000", "0.12345678901", "\u0661\u0662", "\uff11\uff12", "--5", SECRET]


@pytest.mark.parametrize("value", BAD_NUMERICS)
def test_special_and_malformed_numerics_are_quarantined(warehouse_url: str, zone: Path, value: str) -> None:
    attack_csv(warehouse_url, zone, ORDERS, order, order("BAD", order_total=value),
               "invalid numeric in order_total", value)


BAD_INTEGERS = ["NaN", "Infinity", "1e5", "12.5", "12.0", "99999999999999999999", "2147483648", "0x1F", "0o17",
                "0b101", "1_000", "1,000", "\u0661\u0662", "\uff11\uff12", SECRET]


@pytest.mark.parametrize("value", BAD_INTEGERS)
def test_special_and_malformed_integers_are_quarantined(warehouse_url: str, zone: Path, value: str) -> None:
    attack_csv(warehouse_url, zone, ORDER_LINES, order_line, order_line("BAD", quantity=value),
               "invalid integer in quantity", value)


BAD_BOOLEANS = ["yes", "no", "t", "f", "1", "0", "y", "on", "off", "tru", "fals", SECRET]


@pytest.mark.parametrize("value", BAD_BOOLEANS)
def test_undeclared_boolean_spellings_are_quarantined(warehouse_url: str, zone: Path, value: str) -> None:
    attack_csv(warehouse_url, zone, TICKETS, ticket, ticket("BAD", is_complaint=value),
               "invalid boolean in is_complaint", value)


BAD_DATES = ["03/04/2026", "2026/03/04", "20260304", "2026-3-4", "04.03.2026", "Mar 4 2026", "2026-02-30",
             "today", "epoch", "infinity", "-infinity", "J2461101", "0001-01-01 BC", "2026-03-04T00:00:00Z",
             "1899-12-31", "2100-01-01",
             # the shape YYYY-MM-DD with a non-digit in a digit's place: PostgreSQL reads another day
             "2026-03--4", "2026--3-14", "2026-03-1Z", "+0/6-03-14", "2 26-0J-14"]


@pytest.mark.parametrize("value", BAD_DATES)
def test_dates_in_other_shapes_or_special_are_quarantined(warehouse_url: str, zone: Path, value: str) -> None:
    """The CRM declares YYYY-MM-DD: 03/04/2026 is neither 3 April nor 4 March, it is refused."""
    attack_csv(warehouse_url, zone, CUSTOMERS, customer, customer("BAD", birth_date=value, first_name=SECRET),
               "invalid date in birth_date", value)


def test_declared_spellings_at_their_bounds_load(warehouse_url: str, zone: Path) -> None:
    """The other side of the classes above: what a source declares loads, and exactly as written."""
    lines = [order_line("L1", quantity="2147483647"), order_line("L2", quantity="-3"),
             order_line("L3", quantity=" 12 "), order_line("L4", quantity="0")]
    rel_lines = land(zone, file_path(ORDER_LINES), csv_text(ORDER_LINES, lines))
    orders = [order("O1", order_total="999999999999999"), order("O2", order_total="-0.5"),
              order("O3", order_total="0.1234567890"), order("O4", order_total="10")]
    rel_orders = land(zone, file_path(ORDERS), csv_text(ORDERS, orders))
    tickets = [ticket("T1", is_complaint="TRUE"), ticket("T2", is_complaint="True"),
               ticket("T3", is_complaint="FALSE"), ticket("T4", is_complaint="false"), ticket("T5", is_complaint="")]
    rel_tickets = land(zone, file_path(TICKETS), csv_text(TICKETS, tickets))
    custs = [customer("C1", birth_date="1900-01-01"), customer("C2", birth_date="2099-12-31"),
             customer("C3", birth_date="2026-02-28")]
    rel_custs = land(zone, file_path(CUSTOMERS), csv_text(CUSTOMERS, custs))
    load(warehouse_url, zone)
    assert_loaded(warehouse_url, rel_lines, 4, 4, 0, 0)
    assert_loaded(warehouse_url, rel_orders, 4, 4, 0, 0)
    assert_loaded(warehouse_url, rel_tickets, 5, 5, 0, 0)
    assert_loaded(warehouse_url, rel_custs, 3, 3, 0, 0)
    assert q(warehouse_url, "select order_id, quantity from raw.crm_order_lines order by 1") == [
        ("L1", 2147483647), ("L2", -3), ("L3", 12), ("L4", 0)]
    assert [(r[0], str(r[1])) for r in q(warehouse_url, "select order_id, order_total from raw.crm_orders order by 1")] == [
        ("O1", "999999999999999"), ("O2", "-0.5"), ("O3", "0.1234567890"), ("O4", "10")]
    assert q(warehouse_url, "select ticket_id, is_complaint from raw.crm_tickets order by 1") == [
        ("T1", True), ("T2", True), ("T3", False), ("T4", False), ("T5", None)]
    assert [(r[0], r[1].isoformat()) for r in q(
        warehouse_url, "select customer_id, birth_date from raw.crm_customers order by 1")] == [
        ("C1", "1900-01-01"), ("C2", "2099-12-31"), ("C3", "2026-02-28")]
    assert_bystanders_loaded(warehouse_url)


# --------------------------------------------------------------------------------------
# Class 3: times without an offset are business time, in the source's declared zone
# --------------------------------------------------------------------------------------
def test_times_without_offset_are_read_in_the_declared_zone(warehouse_url: str, zone: Path) -> None:
    spelled = {  # CRM declares Asia/Shanghai (UTC+8, no daylight saving)
        "O1": ("2026-03-01 10:00:00", "2026-03-01 02:00:00.000000"),
        "O2": ("2026-03-01T10:00:00", "2026-03-01 02:00:00.000000"),
        "O3": ("2026-03-01 10:00", "2026-03-01 02:00:00.000000"),
        "O4": ("2026-03-01T10:00:00Z", "2026-03-01 10:00:00.000000"),
        "O5": ("2026-03-01T10:00:00+08:00", "2026-03-01 02:00:00.000000"),
        "O6": ("2026-03-01T10:00:00+08", "2026-03-01 02:00:00.000000"),
        "O7": ("2026-03-01T10:00:00-05:30", "2026-03-01 15:30:00.000000"),
        "O8": ("2026-03-01T10:00:00.123456Z", "2026-03-01 10:00:00.123456"),
        "O9": ("2026-03-01 00:30:00", "2026-02-28 16:30:00.000000"),
    }
    rel = land(zone, file_path(ORDERS), csv_text(ORDERS, [order(k, ordered_at=v[0]) for k, v in spelled.items()]))
    survey = land(zone, file_path(RESPONSES),
                  jl(response("R1", submitted_at="2026-03-01 10:00:00")) + "\n")  # survey declares UTC
    load(warehouse_url, zone)
    assert_loaded(warehouse_url, rel, 9, 9, 0, 0)
    assert_loaded(warehouse_url, survey, 1, 1, 0, 0)
    utc = "to_char(%s at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
    got = dict(q(warehouse_url, f"select order_id, {utc % 'ordered_at'} from raw.crm_orders"))
    assert got == {k: v[1] for k, v in spelled.items()}
    assert q(warehouse_url, f"select {utc % 'submitted_at'} from raw.survey_responses") == [
        ("2026-03-01 10:00:00.000000",)]
    assert_bystanders_loaded(warehouse_url)


def test_local_times_that_do_not_exist_or_repeat_in_the_zone_are_quarantined(
        warehouse_url: str, tmp_path: Path) -> None:
    """A source in a zone with daylight saving: 02:30 on the spring-forward day never happened,
    02:30 on the fall-back day happened twice. Either is ambiguous, so it is not guessed."""
    shipped = get_source("survey").config_file
    assert shipped is not None
    text = shipped.read_text()
    cfg = tmp_path / "survey.yml"
    cfg.write_text(text.replace("timezone: UTC", "timezone: Europe/Berlin"))
    entity = parse_source(cfg).entity("responses")
    assert entity.formats.timezone == "Europe/Berlin"
    root = tmp_path / "landing"
    lines = [response("R1", submitted_at="2026-03-29 01:30:00"), response("R2", submitted_at="2026-03-29 03:30:00"),
             response("BAD1", submitted_at="2026-03-29 02:30:00"), response("R3", submitted_at="2026-07-01 12:00:00"),
             response("BAD2", submitted_at="2026-10-25 02:30:00"), response("R4", submitted_at="2026-10-25 03:30:00")]
    rel = land(root, file_path(entity), "\n".join(jl(x) for x in lines) + "\n")
    with connect(warehouse_url, autocommit=True) as conn:
        ensure_schema(conn, [entity])
    load_entity(entity, url=warehouse_url, landing=LandingZone(str(root)))
    assert_loaded(warehouse_url, rel, 6, 4, 2, 0)
    got = quarantined(warehouse_url, rel)
    assert [g[0] for g in got] == [3, 5]
    for _, reasons, _ in got:
        assert any(r.startswith("invalid timestamptz in submitted_at") for r in reasons), reasons
    utc = "to_char(submitted_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI')"
    assert q(warehouse_url, f"select response_id, {utc} from raw.survey_responses order by 1") == [
        ("R1", "2026-03-29 00:30"), ("R2", "2026-03-29 01:30"), ("R3", "2026-07-01 10:00"), ("R4", "2026-10-25 02:30")]


# --------------------------------------------------------------------------------------
# Class 4: keys PostgreSQL could not index, and keys that are one key
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "kind"),
    [
        (SECRET * 1800, "value too long in customer_id"),           # 25 KB: the index row limit
        ("K" * 201, "value too long in customer_id"),
        ("\u00e9" * 201, "value too long in customer_id"),           # characters, not bytes
        ("C\x07D7", "invalid key in customer_id"),                  # a control character inside a key
        ("C\x1bD7", "invalid key in customer_id"),
        ("C\tD7", "invalid key in customer_id"),                    # tab, line feed and carriage return are
        ("C\nD7", "invalid key in customer_id"),                    # control characters too (inside a key,
        ("C\rD7", "invalid key in customer_id"),                    # where trimming does not reach)
        ("C\u0085D7", "invalid key in customer_id"),                # C1 controls: next line, CSI
        ("C\u009bD7", "invalid key in customer_id"),
        ("   ", "missing required value: customer_id"),              # white space only trims to nothing
    ],
    ids=["25KB", "201-chars", "201-two-byte-chars", "bell", "escape", "tab", "line-feed", "carriage-return",
         "c1-next-line", "c1-csi", "blank"],
)
def test_hostile_primary_keys_are_quarantined_not_fatal(warehouse_url: str, zone: Path, key: str, kind: str) -> None:
    attack_csv(warehouse_url, zone, CUSTOMERS, customer, customer(key, email=SECRET), kind, key)
    assert keys(warehouse_url, CUSTOMERS) == ["G1", "G2", "G3"]


def test_hostile_part_of_a_composite_key_is_quarantined(warehouse_url: str, zone: Path) -> None:
    rel = file_path(MENTIONS, DAY, "mentions_attack.jsonl")
    lines = [mention("P1"), mention("P2"), mention(SECRET * 1800), mention("P3")]
    land(zone, rel, "\n".join(jl(x) for x in lines) + "\n")
    load(warehouse_url, zone)
    assert_loaded(warehouse_url, rel, 4, 3, 1, 0)
    ((line, reasons, _),) = quarantined(warehouse_url, rel)
    assert line == 3 and any(r.startswith("value too long in post_id") for r in reasons), reasons
    assert_not_echoed(warehouse_url)
    assert_bystanders_loaded(warehouse_url)


def test_keys_at_the_length_limit_load_whatever_their_bytes(warehouse_url: str, zone: Path) -> None:
    """200 characters is the declared limit; 200 four-byte characters still fit an index row."""
    rel = land(zone, file_path(CUSTOMERS), csv_text(CUSTOMERS, [
        customer("K" * 200), customer("\U0001f600" * 200), customer("\u738b" * 200)]))
    load(warehouse_url, zone)
    assert_loaded(warehouse_url, rel, 3, 3, 0, 0)
    assert sorted(len(k) for k in keys(warehouse_url, CUSTOMERS)) == [200, 200, 200]
    assert_bystanders_loaded(warehouse_url)


def test_keys_differing_by_surrounding_white_space_are_one_row(warehouse_url: str, zone: Path) -> None:
    rows = [customer("G1"), customer("CD7"), customer("CD7 "), customer(" CD7"), customer("CD7\t"), customer("G2")]
    rel = land(zone, file_path(CUSTOMERS), csv_text(CUSTOMERS, rows))
    later = land(zone, file_path(CUSTOMERS, NEXT_DAY), csv_text(CUSTOMERS, [
        customer("  CD7  "),                                             # the same row again: duplicate
        customer("G1 ", updated_at="2026-03-02T10:00:00Z", city="Hangzhou"),  # a newer version of G1
        customer("G3")]))
    load(warehouse_url, zone)
    assert_loaded(warehouse_url, rel, 6, 3, 0, 3)
    assert_loaded(warehouse_url, later, 3, 2, 0, 1)
    assert keys(warehouse_url, CUSTOMERS) == ["CD7", "G1", "G2", "G3"]
    assert q(warehouse_url, "select city from raw.crm_customers where customer_id = 'G1'") == [("Hangzhou",)]
    assert q(warehouse_url, "select email from raw.crm_customers where customer_id = 'CD7'") == [("CD7@x.com",)]
    assert_balanced(warehouse_url)
    assert_bystanders_loaded(warehouse_url)


UNICODE_SPACES = ["\u00a0", "\u3000", "\u0085", "\u1680", "\u2000", "\u2002", "\u2003", "\u2009", "\u200a",
                  "\u2028", "\u2029", "\u202f", "\u205f"]
"""Unicode's White_Space characters beyond ASCII (U+000B/U+000C are controls, refused in keys)."""


@pytest.mark.parametrize("space", UNICODE_SPACES, ids=[f"U+{ord(c):04X}" for c in UNICODE_SPACES])
def test_keys_differing_by_any_unicode_white_space_are_one_row(warehouse_url: str, zone: Path, space: str) -> None:
    """A no-break, thin or em space around a key is as invisible as a blank: still one customer."""
    assert space.isspace()
    rows = [customer("G1"), customer("CD7"), customer("CD7" + space), customer(space + "CD7"), customer("G2")]
    rel = land(zone, file_path(CUSTOMERS), csv_text(CUSTOMERS, rows))
    load(warehouse_url, zone)
    assert_loaded(warehouse_url, rel, 5, 3, 0, 2)
    assert keys(warehouse_url, CUSTOMERS) == ["CD7", "G1", "G2"]
    assert_bystanders_loaded(warehouse_url)


def test_keys_in_composed_and_decomposed_unicode_are_one_row(warehouse_url: str, zone: Path) -> None:
    composed, decomposed = "Caf\u00e9", "Cafe\u0301"
    assert composed != decomposed and unicodedata.normalize("NFC", decomposed) == composed
    csv_rel = land(zone, file_path(CUSTOMERS), csv_text(CUSTOMERS, [
        customer("G1"), customer(composed, email="c@x.com"), customer(decomposed, email="c@x.com"), customer("G2")]))
    json_rel = land(zone, file_path(RESPONSES), "\n".join(jl(x) for x in [
        response("R1"), response(decomposed), response(composed), response(" R1 ")]) + "\n")
    load(warehouse_url, zone)
    assert_loaded(warehouse_url, csv_rel, 4, 3, 0, 1)
    assert_loaded(warehouse_url, json_rel, 4, 2, 0, 2)
    assert keys(warehouse_url, CUSTOMERS) == sorted([composed, "G1", "G2"])
    assert sorted(keys(warehouse_url, RESPONSES)) == sorted([composed, "R1"])
    assert_bystanders_loaded(warehouse_url)


@pytest.mark.parametrize("change", ["primary_key", "column_type"])
def test_a_config_that_no_longer_matches_the_raw_table_fails_the_file_cleanly(
        warehouse_url: str, zone: Path, tmp_path: Path, change: str) -> None:
    """A key or type changed in config after the raw table was created: one clear sentence for
    the file (no traceback), a failed audit row, and the other entities still load."""
    first = land(zone, file_path(ORDERS), csv_text(ORDERS, [order("O1"), order("O2")]))
    load(warehouse_url, zone)
    assert_loaded(warehouse_url, first, 2, 2, 0, 0)

    assert CRM.config_file is not None
    text = CRM.config_file.read_text()
    if change == "primary_key":
        text = text.replace("pattern: \"crm/orders/{date}/orders_*.csv\"\n    primary_key: [order_id]",
                            "pattern: \"crm/orders/{date}/orders_*.csv\"\n    primary_key: [order_id, customer_id]")
    else:
        text = text.replace("{name: order_total, type: numeric, required: true}",
                            "{name: order_total, type: text, required: true}")
    cfg = tmp_path / "crm.yml"
    cfg.write_text(text)
    changed = parse_source(cfg).entity("orders")
    assert changed != ORDERS
    second = land(zone, file_path(ORDERS, NEXT_DAY), csv_text(ORDERS, [
        order("O1", customer_id="C2", updated_at="2026-03-02T10:00:00Z", order_total=SECRET), order("O3")]))
    result = load_entity(changed, url=warehouse_url, landing=LandingZone(str(zone)))  # must not raise
    (f,) = result.files
    if f.status == "failed":
        assert f.error is not None and f.error.startswith(f"{second}: "), f.error
        assert "\n" not in f.error and "Traceback" not in f.error
        assert audit_row(warehouse_url, second)["status"] == "failed"
    else:
        assert_balanced(warehouse_url)
    assert_not_echoed(warehouse_url)
    late = land(zone, file_path(MEMBERSHIPS, NEXT_DAY), csv_text(MEMBERSHIPS, [membership("B3")]))
    load_entity(MEMBERSHIPS, url=warehouse_url, landing=LandingZone(str(zone)))
    assert_loaded(warehouse_url, late, 1, 1, 0, 0)


def test_more_columns_than_postgresql_allows_in_a_table_fail_or_load_cleanly(warehouse_url: str, zone: Path) -> None:
    """A header with 1,700 undeclared columns: the stage table cannot have them all."""
    extra = [f"x{i}" for i in range(1700)]
    header = ",".join(list(ORDERS.column_names) + extra)
    body = "".join(",".join([order(f"O{i}").get(c, "") for c in ORDERS.column_names]
                            + [SECRET] * len(extra)) + "\n" for i in range(3))
    rel = land(zone, file_path(ORDERS), header + "\n" + body)
    load(warehouse_url, zone)
    a = audit_row(warehouse_url, rel)
    if a["status"] == "loaded":
        assert_loaded(warehouse_url, rel, 3, 3, 0, 0)
    else:
        assert a["error"].startswith(f"{rel}: "), a["error"]
    assert_not_echoed(warehouse_url)
    assert_bystanders_loaded(warehouse_url)


@pytest.mark.parametrize("where", ["line-endings", "inside-header"])
def test_carriage_returns_in_the_header_line_fail_or_load_cleanly(warehouse_url: str, zone: Path, where: str) -> None:
    """Classic Mac line endings (CR only): the whole file is one 'line' to a reader that splits on LF."""
    rows = [",".join(order(k).get(c, "") for c in ORDERS.column_names) for k in ("O1", "O2", "O3")]
    if where == "line-endings":
        text = "\r".join([HEADER, *rows]) + "\r"
    else:
        text = HEADER.replace("customer_id", "customer\r_id") + "\n" + "\n".join(rows) + "\n"
    rel = land(zone, file_path(ORDERS), text)
    load(warehouse_url, zone)                                     # must not raise
    a = audit_row(warehouse_url, rel)
    if a["status"] == "loaded":
        assert_loaded(warehouse_url, rel, 3, 3, 0, 0)
    else:
        assert a["error"].startswith(f"{rel}: ") and "\n" not in a["error"], a["error"]
    assert_not_echoed(warehouse_url)
    assert_bystanders_loaded(warehouse_url)


@pytest.mark.parametrize("text", ["line1\rline2", "line1\r\nline2", "line1\nline2", "ends\r", "\r"],
                         ids=["cr", "crlf", "lf", "trailing-cr", "only-cr"])
def test_a_quoted_field_holding_line_breaks_loads_verbatim(warehouse_url: str, zone: Path, text: str) -> None:
    """RFC 4180 allows CR and LF inside a quoted field (a ticket typed on any system): one row."""
    rel = land(zone, file_path(TICKETS), csv_text(TICKETS, [ticket("T1"), ticket("T2", description=text), ticket("T3")]))
    load(warehouse_url, zone)
    assert_loaded(warehouse_url, rel, 3, 3, 0, 0)
    assert q(warehouse_url, "select description from raw.crm_tickets where ticket_id = 'T2'") == [(text,)]
    assert_bystanders_loaded(warehouse_url)


@pytest.mark.parametrize("tail", [",", ",,", ",note,note"], ids=["one-empty", "two-empty", "repeated-undeclared"])
def test_undeclared_header_cells_are_ignored_even_when_empty_or_repeated(
        warehouse_url: str, zone: Path, tail: str) -> None:
    """Spreadsheet exports end the header with empty cells: columns the config does not declare
    are ignored and recorded, whatever their names; they do not fail the file."""
    cells = "," * tail.count(",")
    rows = [",".join(order(k).get(c, "") for c in ORDERS.column_names) + cells for k in ("O1", "O2", "O3")]
    rel = land(zone, file_path(ORDERS), HEADER + tail + "\n" + "\n".join(rows) + "\n")
    load(warehouse_url, zone)
    assert_loaded(warehouse_url, rel, 3, 3, 0, 0)
    assert keys(warehouse_url, ORDERS) == ["O1", "O2", "O3"]
    assert_bystanders_loaded(warehouse_url)


@pytest.mark.parametrize("extra", [95, 1590 - 15], ids=["110-columns", "1590-columns"])
def test_a_wide_file_with_line_breaks_in_a_field_and_a_bad_row_loads(warehouse_url: str, zone: Path, extra: int) -> None:
    """Many undeclared columns (up to the documented 1,590), a quoted line break that shifts the
    physical line numbers, and one bad row: no statement may exceed a PostgreSQL limit (100
    function arguments, 1,664 select-list entries)."""
    names = list(TICKETS.column_names) + [f"x{i}" for i in range(extra)]
    rows = [ticket("T1"), ticket("T2", description="line1\nline2"), ticket("T3", reopen_count="NaN"), ticket("T4")]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(names)
    for r in rows:
        w.writerow([r.get(c, "") for c in TICKETS.column_names] + ["v"] * extra)
    rel = land(zone, file_path(TICKETS), buf.getvalue())
    later = land(zone, file_path(TICKETS, NEXT_DAY), csv_text(TICKETS, [ticket("T9")]))  # same entity, next file
    load(warehouse_url, zone)
    assert_loaded(warehouse_url, later, 1, 1, 0, 0)      # whatever the wide file did, the next one loads
    assert_loaded(warehouse_url, rel, 4, 3, 1, 0)
    ((line, reasons, _),) = quarantined(warehouse_url, rel)
    assert line == 5 and reasons[0].startswith("invalid integer in reopen_count"), (line, reasons)
    assert keys(warehouse_url, TICKETS) == ["T1", "T2", "T4", "T9"]
    assert_bystanders_loaded(warehouse_url)


# --------------------------------------------------------------------------------------
# Class 9: JSON lines
# --------------------------------------------------------------------------------------
def test_a_bom_before_json_lines_costs_no_record(warehouse_url: str, zone: Path) -> None:
    rel = land(zone, file_path(RESPONSES), b"\xef\xbb\xbf" + (
        "\n".join(jl(response(r)) for r in ("R1", "R2", "R3")) + "\n").encode())
    load(warehouse_url, zone)
    assert_loaded(warehouse_url, rel, 3, 3, 0, 0)
    assert keys(warehouse_url, RESPONSES) == ["R1", "R2", "R3"]
    assert_bystanders_loaded(warehouse_url)


def _good_line(rid: str) -> bytes:
    return jl(response(rid)).encode()


_BASE = '"survey_id": "S1", "submitted_at": "2026-03-01T08:00:00Z"'
BAD_JSON_LINES: list[tuple[str, bytes, str, str | None]] = [
    # (id, the line, reason kind, a word the reason must also hold)
    ("nul-escape", ('{"response_id": "BAD", ' + _BASE + ', "answers": {"comment": "' + SECRET + '\\u0000"}}').encode(),
     "malformed JSON", "unicode"),
    ("lone-surrogate", ('{"response_id": "BAD", ' + _BASE + ', "answers": {"comment": "' + SECRET + '\\ud800"}}')
     .encode(), "malformed JSON", None),
    ("nan-literal", ('{"response_id": "BAD", ' + _BASE + ', "answers": {"nps": NaN, "comment": "' + SECRET + '"}}')
     .encode(), "malformed JSON", None),
    ("infinity-literal", ('{"response_id": "BAD", ' + _BASE + ', "answers": {"nps": Infinity}}').encode(),
     "malformed JSON", None),
    ("truncated", ('{"response_id": "BAD", ' + _BASE + ', "answers": {"comment": "' + SECRET + '"').encode(),
     "malformed JSON", None),
    ("single-quotes", ("{'response_id': 'BAD', 'survey_id': '" + SECRET + "'}").encode(), "malformed JSON", None),
    ("trailing-comma", ('{"response_id": "BAD", ' + _BASE + ',}').encode(), "malformed JSON", None),
    ("two-objects", ('{"response_id": "BAD", ' + _BASE + '} {"response_id": "BAD2", ' + _BASE + '}').encode(),
     "malformed JSON", None),
    ("deep-unbalanced", b"[" * 100_000, "malformed JSON", None),
    ("deep-object", ('{"response_id": "BAD", ' + _BASE + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}").encode(),
     "malformed JSON", None),
    ("deep-declared-path", ('{"response_id": "BAD", ' + _BASE + ', "answers": ' + '{"a": ' * 50_000 + "1"
                            + "}" * 50_000 + "}").encode(), "malformed JSON", None),
    ("dup-top-level", ('{"response_id": "BAD", ' + _BASE + ', "survey_id": "' + SECRET + '"}').encode(),
     "JSON object repeats a key", None),
    ("dup-key-column", ('{"response_id": "BAD", ' + _BASE + ', "response_id": "R1"}').encode(),
     "JSON object repeats a key", None),
    ("dup-declared-path", ('{"response_id": "BAD", ' + _BASE + ', "answers": {"nps": 9, "nps": 10}}').encode(),
     "JSON object repeats a key", None),
    ("dup-escaped-spelling", ('{"response_id": "BAD", ' + _BASE + ', "answers": {"nps": 9, "n\\u0070s": 10}}')
     .encode(), "JSON object repeats a key", None),
    ("dup-undeclared-path", ('{"response_id": "BAD", ' + _BASE + ', "extra": {"k": "' + SECRET + '", "k": 2}}')
     .encode(), "JSON object repeats a key", None),
    ("array", b"[1, 2, 3]", "JSON line is not an object", None),
    ("string", ('"' + SECRET + '"').encode(), "JSON line is not an object", None),
    ("number", b"42", "JSON line is not an object", None),
    ("null", b"null", "JSON line is not an object", None),
    ("true", b"true", "JSON line is not an object", None),
    ("invalid-utf8", b'{"response_id": "BAD", ' + _BASE.encode() + b', "answers": {"comment": "\xff\xfe"}}',
     "invalid UTF-8 bytes", None),
    ("utf8-encoded-surrogate", b'{"response_id": "BAD", ' + _BASE.encode() + b', "answers": {"comment": "\xed\xa0\x80"}}',
     "invalid UTF-8 bytes", None),
    ("nps-1e400", ('{"response_id": "BAD", ' + _BASE + ', "answers": {"nps": 1e400}}').encode(),
     "invalid integer in nps", None),
    ("nps-fraction", ('{"response_id": "BAD", ' + _BASE + ', "answers": {"nps": 8.5}}').encode(),
     "invalid integer in nps", None),
    ("nps-string-nan", ('{"response_id": "BAD", ' + _BASE + ', "answers": {"nps": "NaN"}}').encode(),
     "invalid integer in nps", None),
    ("nps-hex", ('{"response_id": "BAD", ' + _BASE + ', "answers": {"nps": "0x1F"}}').encode(),
     "invalid integer in nps", None),
    ("nps-boolean", ('{"response_id": "BAD", ' + _BASE + ', "answers": {"nps": true}}').encode(),
     "invalid integer in nps", None),
    ("nps-array", ('{"response_id": "BAD", ' + _BASE + ', "answers": {"nps": [9]}}').encode(),
     "invalid integer in nps", None),
    ("submitted-now", b'{"response_id": "BAD", "survey_id": "S1", "submitted_at": "now"}',
     "invalid timestamptz in submitted_at", None),
    ("submitted-epoch-number", b'{"response_id": "BAD", "survey_id": "S1", "submitted_at": 1772359200}',
     "invalid timestamptz in submitted_at", None),
    ("text-column-holds-object", ('{"response_id": "BAD", ' + _BASE.replace('"S1"', '{"id": "' + SECRET + '"}')
                                  + "}").encode(), "invalid text in survey_id", None),
    ("key-holds-array", ('{"response_id": ["' + SECRET + '"], ' + _BASE + "}").encode(),
     "invalid text in response_id", None),
]


@pytest.mark.parametrize(("line", "kind", "also"), [c[1:] for c in BAD_JSON_LINES], ids=[c[0] for c in BAD_JSON_LINES])
def test_hostile_json_lines_are_quarantined_with_their_cause(
        warehouse_url: str, zone: Path, line: bytes, kind: str, also: str | None) -> None:
    rel = land(zone, file_path(RESPONSES), b"\n".join(
        [_good_line("R1"), _good_line("R2"), line, _good_line("R3")]) + b"\n")
    load(warehouse_url, zone)
    assert_loaded(warehouse_url, rel, 4, 3, 1, 0)
    ((no, reasons, _),) = quarantined(warehouse_url, rel)
    assert no == 3
    assert any(r.startswith(kind) for r in reasons), reasons
    if also is not None:
        assert any(r.startswith(kind) and also in r.lower() and r != kind for r in reasons), reasons
    assert_not_echoed(warehouse_url)
    assert keys(warehouse_url, RESPONSES) == ["R1", "R2", "R3"]
    assert_bystanders_loaded(warehouse_url)


@pytest.mark.parametrize("value", [1, 0, "yes", "t", "1", SECRET])
def test_undeclared_boolean_spellings_in_json_are_quarantined(warehouse_url: str, zone: Path, value: object) -> None:
    rel = file_path(MENTIONS, DAY, "mentions_attack.jsonl")
    lines = [mention("P1", brand_replied=True), mention("P2", brand_replied="TRUE"),
             mention("BAD", brand_replied=value), mention("P3", brand_replied=False)]
    land(zone, rel, "\n".join(jl(x) for x in lines) + "\n")
    load(warehouse_url, zone)
    assert_loaded(warehouse_url, rel, 4, 3, 1, 0)
    ((no, reasons, _),) = quarantined(warehouse_url, rel)
    assert no == 3 and any(r.startswith("invalid boolean in brand_replied") for r in reasons), reasons
    assert_not_echoed(warehouse_url, str(value))
    assert q(warehouse_url, "select post_id, brand_replied from raw.social_mentions where post_id like 'P%%' "
                            "order by 1") == [("P1", True), ("P2", True), ("P3", False)]
    assert_bystanders_loaded(warehouse_url)


# --------------------------------------------------------------------------------------
# Class 9: CSV headers and the slow path
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [HEADER.encode(), (HEADER + "\r\n").encode(), b"\xef\xbb\xbf" + HEADER.encode(), (HEADER + "\n\n\n").encode(),
     (HEADER + "\r").encode()],
    ids=["no-final-newline", "crlf", "bom-no-newline", "trailing-blank-lines", "lone-cr"],
)
def test_a_header_only_file_loads_no_rows_without_failing(warehouse_url: str, zone: Path, content: bytes) -> None:
    rel = land(zone, file_path(ORDERS), content)
    load(warehouse_url, zone)
    assert_loaded(warehouse_url, rel, 0, 0, 0, 0)
    assert_bystanders_loaded(warehouse_url)


def test_a_headerless_file_fails_naming_the_file_but_none_of_its_values(
        warehouse_url: str, zone: Path, caplog: pytest.LogCaptureFixture) -> None:
    first = customer("CUST-8812", first_name="Wang", last_name="Fang" + SECRET, email="wang.fang@example.com",
                     phone="+86 139 1234 5678", city="Suzhou")
    rel = land(zone, file_path(CUSTOMERS), csv_text(CUSTOMERS, [first, customer("CUST-8813")], header=False))
    with caplog.at_level(logging.INFO):
        load(warehouse_url, zone)
    a = audit_row(warehouse_url, rel)
    assert a["status"] == "failed"
    assert a["error"].startswith(f"{rel}: "), a["error"]
    assert "header" in a["error"]
    values = [v for v in first.values() if len(v) >= 4]
    assert_not_echoed(warehouse_url, *values)
    for v in values:
        assert v not in caplog.text, f"the log repeats {v!r}"
    assert SECRET not in caplog.text
    assert q(warehouse_url, "select count(*) from raw.crm_customers") == [(0,)]
    assert_bystanders_loaded(warehouse_url)


def test_slow_path_quarantine_payloads_are_json_keyed_by_header(warehouse_url: str, zone: Path) -> None:
    """Rows COPY cannot parse force the row-by-row path; its payloads are JSON like the fast path's."""
    header = list(ORDERS.column_names)
    good = [",".join(order(f"G{i}").get(c, "") for c in header) for i in range(1, 5)]
    bad_utf8 = ",".join(order("BAD1", customer_id="\u738b").get(c, "") for c in header).encode("gbk")
    short = f"BAD2,{SECRET},2026-03-01T09:00:00Z,web".encode()
    long = (",".join(order("BAD3").get(c, "") for c in header) + f",{SECRET}").encode()
    typed = ",".join(order("BAD4", ordered_at="now").get(c, "") for c in header).encode()
    lines = [HEADER.encode(), good[0].encode(), bad_utf8, good[1].encode(), short, good[2].encode(), long,
             typed, good[3].encode()]
    rel = land(zone, file_path(ORDERS), b"\n".join(lines) + b"\n")
    load(warehouse_url, zone)
    a = assert_loaded(warehouse_url, rel, 8, 4, 4, 0)
    assert a["parse_mode"] == "row-by-row"
    got = quarantined(warehouse_url, rel)
    assert [(g[0], g[1][0].split(":")[0]) for g in got] == [
        (3, "invalid UTF-8 bytes"), (5, "malformed row"), (7, "malformed row"), (8, "invalid timestamptz in ordered_at")]
    for line, _, payload in got:
        obj = json.loads(payload)
        assert isinstance(obj, dict), (line, payload[:200])
        names = list(obj)
        assert names[:min(len(names), len(header))] == header[:min(len(names), len(header))], (line, names)
    by_line = {g[0]: json.loads(g[2]) for g in got}
    assert by_line[3]["order_id"] == "BAD1" and list(by_line[3]) == header
    assert by_line[5]["order_id"] == "BAD2" and by_line[5]["customer_id"] == SECRET
    assert by_line[8]["ordered_at"] == "now"
    assert keys(warehouse_url, ORDERS) == ["G1", "G2", "G3", "G4"]
    assert_not_echoed(warehouse_url, "now")
    assert_bystanders_loaded(warehouse_url)


# --------------------------------------------------------------------------------------
# Class 7: nothing a file holds reaches an error, a reason, the status or the log
# --------------------------------------------------------------------------------------
def test_no_error_reason_status_or_log_line_echoes_row_content(
        warehouse_url: str, zone: Path, caplog: pytest.LogCaptureFixture) -> None:
    header = ",".join(CUSTOMERS.column_names)
    land(zone, file_path(CUSTOMERS, DAY, "customers_headerless.csv"),
         csv_text(CUSTOMERS, [customer("X1", first_name=SECRET, email=f"{SECRET}@x.com")], header=False))
    land(zone, file_path(CUSTOMERS, DAY, "customers_wrong_header.csv"),
         header.replace("email", SECRET) + "\n" + csv_text(CUSTOMERS, [customer("X2")], header=False))
    land(zone, file_path(CUSTOMERS, DAY, "customers_values.csv"), csv_text(CUSTOMERS, [
        customer("G1"), customer(SECRET * 1800), customer("X3", signup_date=SECRET),
        customer("X4", marketing_opt_in=SECRET), customer("X5", updated_at=SECRET), customer("G2")]))
    land(zone, file_path(ORDERS, DAY, "orders_slow.csv"), (
        HEADER + "\n" + ",".join(order("G1").get(c, "") for c in ORDERS.column_names) + "\n"
        + f"X6,{SECRET}\n").encode() + f"X7,{SECRET},".encode() + "\u738b".encode("gbk") + b"\n")
    land(zone, file_path(ORDERS, DAY, "orders_delimiter.csv"), HEADER.replace(",", ";") + f"\nX8;{SECRET}\n")
    land(zone, file_path(ORDERS, DAY, "orders_not_utf8.csv"),
         (HEADER + "\n").encode() + (f"X9,{SECRET},王芳\n" * 5).encode("utf-16"))
    land(zone, file_path(RESPONSES), b"\n".join([
        _good_line("R1"), f'{{"response_id": "{SECRET}"'.encode(),
        ('{"response_id": "X10", ' + _BASE + ', "answers": {"comment": "' + SECRET + '\\u0000"}}').encode(),
        ('{"response_id": "X11", ' + _BASE + ', "answers": {"nps": "' + SECRET + '"}}').encode(),
        ('{"response_id": "X12", ' + _BASE + ', "' + SECRET + '": 1, "' + SECRET + '": 2}').encode(),
        _good_line("R2")]) + b"\n")
    with caplog.at_level(logging.DEBUG):
        load(warehouse_url, zone)
    assert_not_echoed(warehouse_url)
    status = json.dumps(warehouse_summary(), default=str)
    assert SECRET not in status
    assert SECRET not in caplog.text
    assert q(warehouse_url, "select count(*) from audit.load_audit where status = 'failed'") == [(4,)]
    assert_loaded(warehouse_url, file_path(CUSTOMERS, DAY, "customers_values.csv"), 6, 2, 4, 0)
    assert_loaded(warehouse_url, file_path(RESPONSES), 6, 2, 4, 0)
    assert_balanced(warehouse_url)
    assert_bystanders_loaded(warehouse_url)


# --------------------------------------------------------------------------------------
# Class 1: corrections land; conflicts are visible, not silently dropped
# --------------------------------------------------------------------------------------
def test_same_version_with_other_values_from_another_file_is_a_conflicting_version(
        warehouse_url: str, zone: Path) -> None:
    first = land(zone, file_path(ORDERS), csv_text(ORDERS, [order("O1"), order("O2"), order("O3")]))
    second = land(zone, file_path(ORDERS, NEXT_DAY), csv_text(ORDERS, [
        order("O4"), order("O1", order_total="4242.42", status="refunded"), order("O2"), order("O5")]))
    load(warehouse_url, zone)
    assert_loaded(warehouse_url, first, 3, 3, 0, 0)
    assert_loaded(warehouse_url, second, 4, 2, 1, 1)
    ((line, reasons, payload),) = quarantined(warehouse_url, second)
    assert line == 3 and any(r.startswith("conflicting version") for r in reasons), reasons
    assert json.loads(payload)["order_total"] == "4242.42"
    assert_not_echoed(warehouse_url, "4242.42", "refunded")
    assert [(r[0], str(r[1]), r[2]) for r in q(
        warehouse_url, "select order_id, order_total, status from raw.crm_orders order by 1")] == [
        ("O1", "10.00", "paid"), ("O2", "10.00", "paid"), ("O3", "10.00", "paid"),
        ("O4", "10.00", "paid"), ("O5", "10.00", "paid")]
    assert_bystanders_loaded(warehouse_url)


def test_the_same_values_spelled_otherwise_are_a_duplicate_not_a_conflict(warehouse_url: str, zone: Path) -> None:
    first = land(zone, file_path(ORDERS), csv_text(ORDERS, [order("O1"), order("O2"), order("O3"), order("O4")]))
    second = land(zone, file_path(ORDERS, NEXT_DAY), csv_text(ORDERS, [
        order("O1", status="paid "),                                   # trimmed: the same text
        order("O2", order_total="10.0"),                                # the same number
        order("O3", ordered_at="2026-03-01 17:00:00"),                  # 09:00Z in Shanghai time
        order("O4", updated_at="2026-03-01T18:00:00+08:00"),            # the same instant
    ]))
    load(warehouse_url, zone)
    assert_loaded(warehouse_url, first, 4, 4, 0, 0)
    assert_loaded(warehouse_url, second, 4, 0, 0, 4)
    assert_bystanders_loaded(warehouse_url)


@pytest.mark.parametrize("entity", [RESPONSES, POINTS], ids=["survey.responses", "crm.points_ledger"])
def test_an_immutable_row_with_other_values_from_another_file_is_a_conflicting_row(
        warehouse_url: str, zone: Path, entity: Entity) -> None:
    if entity is RESPONSES:
        def text(rows: list[tuple[str, int]]) -> str:
            return "\n".join(jl(response(k, nps=v)) for k, v in rows) + "\n"
        table, value = "raw.survey_responses", "nps"
    else:
        def text(rows: list[tuple[str, int]]) -> str:
            return csv_text(POINTS, [points(k, points=str(v)) for k, v in rows])
        table, value = "raw.crm_points_ledger", "points"
    first = land(zone, file_path(entity), text([("K1", 18), ("K2", 7), ("K3", 9)]))
    second = land(zone, file_path(entity, NEXT_DAY), text([("K4", 5), ("K1", 3), ("K2", 7), ("K5", 6)]))
    load(warehouse_url, zone)
    assert_loaded(warehouse_url, first, 3, 3, 0, 0)
    assert_loaded(warehouse_url, second, 4, 2, 1, 1)
    ((line, reasons, _),) = quarantined(warehouse_url, second)
    assert line == (2 if entity is RESPONSES else 3)
    assert any(r.startswith("conflicting row") for r in reasons), reasons
    assert q(warehouse_url, f"select {keys_sql(entity)}, {value} from {table} order by 1") == [
        ("K1", 18), ("K2", 7), ("K3", 9), ("K4", 5), ("K5", 6)]
    assert_bystanders_loaded(warehouse_url)


@pytest.mark.parametrize("entity", [RESPONSES, ORDERS], ids=["survey.responses", "crm.orders"])
def test_a_redelivery_of_the_same_path_supersedes_the_file(warehouse_url: str, zone: Path, entity: Entity) -> None:
    """Same name, new bytes: the file's rows are replaced and keys it no longer holds are removed;
    rows other files wrote stay."""
    if entity is RESPONSES:
        def text(rows: list[tuple[str, int]]) -> str:
            return "\n".join(jl(response(k, nps=v)) for k, v in rows) + "\n"
        value_sql = "select response_id, nps from raw.survey_responses order by 1"
    else:
        def text(rows: list[tuple[str, int]]) -> str:
            return csv_text(ORDERS, [order(k, order_total=str(v)) for k, v in rows])
        value_sql = "select order_id, order_total::int from raw.crm_orders order by 1"
    rel = land(zone, file_path(entity), text([("K1", 18), ("K2", 9), ("K3", 7)]))
    other = land(zone, file_path(entity, DAY, file_path(entity).rsplit("/", 1)[1].replace("20260301", "20260301b")),
                 text([("K9", 4)]))
    load(warehouse_url, zone)
    assert q(warehouse_url, value_sql) == [("K1", 18), ("K2", 9), ("K3", 7), ("K9", 4)]

    land(zone, rel, text([("K1", 8), ("K2", 9), ("K4", 6)]))
    load(warehouse_url, zone)
    a = audit_row(warehouse_url, rel)
    assert a["status"] == "loaded", a["error"]
    assert (a["rows_read"], a["rows_quarantined"]) == (3, 0)
    assert a["rows_loaded"] + a["rows_duplicate"] == 3
    assert q(warehouse_url, value_sql) == [("K1", 8), ("K2", 9), ("K4", 6), ("K9", 4)]
    assert_loaded(warehouse_url, other, 1, 1, 0, 0)
    assert_balanced(warehouse_url)
    assert_bystanders_loaded(warehouse_url)


@pytest.mark.parametrize("entity", [RESPONSES, ORDERS], ids=["survey.responses", "crm.orders"])
def test_a_correction_file_replaces_the_row_whatever_the_version(warehouse_url: str, zone: Path, entity: Entity) -> None:
    if entity is RESPONSES:
        first = land(zone, file_path(entity), "\n".join(jl(response(k, nps=v)) for k, v in
                                                         [("K1", 18), ("K2", 9), ("K3", 7)]) + "\n")
        fix = correction_path(entity, NEXT_DAY, "responses_fix.jsonl")
        content = "\n".join(jl(x) for x in [response("K1", nps=8), response("K7", nps=10)]) + "\n"
        value_sql = "select response_id, nps from raw.survey_responses order by 1"
    else:
        first = land(zone, file_path(entity), csv_text(ORDERS, [
            order(k, order_total=str(v), updated_at="2026-03-01T12:00:00Z") for k, v in [("K1", 18), ("K2", 9), ("K3", 7)]]))
        fix = correction_path(entity, NEXT_DAY, "orders_fix.csv")
        content = csv_text(ORDERS, [order("K1", order_total="8", updated_at="2026-03-01T11:00:00Z"),  # older version
                                    order("K7", order_total="10")])
        value_sql = "select order_id, order_total::int from raw.crm_orders order by 1"
    assert fix.split("/")[3] == "corrections", fix
    load(warehouse_url, zone)
    assert_loaded(warehouse_url, first, 3, 3, 0, 0)
    land(zone, fix, content)
    load(warehouse_url, zone)
    assert_loaded(warehouse_url, fix, 2, 2, 0, 0)
    assert q(warehouse_url, value_sql) == [("K1", 8), ("K2", 9), ("K3", 7), ("K7", 10)]
    assert_balanced(warehouse_url)
    assert_bystanders_loaded(warehouse_url)


def _responses(rows: list[tuple[str, int]]) -> str:
    return "\n".join(jl(response(k, nps=v)) for k, v in rows) + "\n"


def test_a_redelivery_keeps_a_key_another_standing_file_still_holds(warehouse_url: str, zone: Path) -> None:
    """File A wrote K1; file B (still current) holds the same K1 unchanged, counted a duplicate.
    A re-delivery of A without K1 must not delete it: B still says K1 exists."""
    a = land(zone, file_path(RESPONSES), _responses([("K1", 9), ("K2", 7)]))
    b = land(zone, file_path(RESPONSES, NEXT_DAY), _responses([("K1", 9), ("K3", 5)]))
    load(warehouse_url, zone)
    assert_loaded(warehouse_url, b, 2, 1, 0, 1)
    land(zone, a, _responses([("K2", 7)]))
    load(warehouse_url, zone)
    assert_loaded(warehouse_url, a, 1, 0, 0, 1)
    assert keys(warehouse_url, RESPONSES) == ["K1", "K2", "K3"]
    assert_bystanders_loaded(warehouse_url)


@pytest.mark.parametrize("where", ["delivery", "correction"])
def test_a_file_redelivered_back_to_its_first_version_loads_that_version(
        warehouse_url: str, zone: Path, where: str) -> None:
    """v1 (NPS 18), then v2 (NPS 8), then v1's exact bytes again (the fix is rolled back): the
    current version of the file is v1, so the row is 18 again, not skipped or refused."""
    base = land(zone, file_path(RESPONSES), _responses([("K1", 18), ("K2", 9)]))
    rel = base if where == "delivery" else correction_path(RESPONSES, DAY, "responses_fix.jsonl")
    v1 = _responses([("K1", 18), ("K2", 9)]) if where == "delivery" else _responses([("K1", 12)])
    v2 = _responses([("K1", 8), ("K2", 9)]) if where == "delivery" else _responses([("K1", 8)])
    expected = 18 if where == "delivery" else 12
    load(warehouse_url, zone)
    for step, (version, nps) in enumerate(((v1, expected), (v2, 8), (v1, expected)), start=1):
        land(zone, rel, version)
        load(warehouse_url, zone)
        a = audit_row(warehouse_url, rel)
        assert a["status"] == "loaded", (step, a["error"])
        assert q(warehouse_url, "select nps from raw.survey_responses where response_id = 'K1'") == [(nps,)], step
    assert_balanced(warehouse_url)
    assert_bystanders_loaded(warehouse_url)


def test_a_correction_landed_with_its_delivery_is_applied_after_it(warehouse_url: str, zone: Path) -> None:
    """Both arrive before the first run: the day's deliveries load first, then its corrections."""
    land(zone, file_path(RESPONSES), _responses([("K1", 18), ("K2", 9)]))
    fix = land(zone, correction_path(RESPONSES, DAY, "responses_fix.jsonl"), _responses([("K1", 8)]))
    load(warehouse_url, zone)
    assert_loaded(warehouse_url, fix, 1, 1, 0, 0)
    assert q(warehouse_url, "select response_id, nps from raw.survey_responses order by 1") == [("K1", 8), ("K2", 9)]
    assert_bystanders_loaded(warehouse_url)


def test_a_long_line_of_brackets_is_quarantined_without_stalling_the_loader(warehouse_url: str, zone: Path) -> None:
    """16 MiB of '[' (a quarter of the record limit) is refused by counting its brackets, before any
    parse (PostgreSQL's parser would exhaust its stack) and without a per-character walk (the first
    version unnested the line: minutes per line). How long it takes is for a benchmark, not a test."""
    rel = land(zone, file_path(RESPONSES), b"\n".join(
        [_good_line("R1"), b"[" * (16 << 20), _good_line("R2")]) + b"\n")
    load(warehouse_url, zone)
    assert_loaded(warehouse_url, rel, 3, 2, 1, 0)
    ((_, reasons, _),) = quarantined(warehouse_url, rel)
    assert reasons == ["malformed JSON: more than 5,000 arrays and objects (nested too deep to parse)"], reasons
    assert_bystanders_loaded(warehouse_url)


# --------------------------------------------------------------------------------------
# Issue 13: a column checked as an earlier one reuses its verdict only for the same value
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["now", "infinity", "2026-03-01T24:00:00Z", "2026-03-01T10:00:0a+08:00",
                                   "2026-03-01", "1899-12-31T23:59:59Z"])
def test_a_bad_value_repeated_in_a_column_checked_the_same_way_is_refused_in_both(
        warehouse_url: str, zone: Path, value: str) -> None:
    """updated_at is checked as ordered_at, and discount_total as order_total: where a row holds the
    same text in both, the verdict of the first is reused, so the reason must still name both."""
    rows = [order("G1", ordered_at="2026-03-01T09:00:00+08:00", updated_at="2026-03-01T09:00:00+08:00"),
            order("T1", ordered_at=value, updated_at=value),
            order("T2", ordered_at=value),
            order("T3", updated_at=value),
            order("N1", order_total="1e5", discount_total="1e5"),
            order("G2", ordered_at="2026-03-01 09:00:00", updated_at="2026-03-01 09:00:00",
                  order_total="12.50", discount_total="12.50")]
    rel = land(zone, file_path(ORDERS), csv_text(ORDERS, rows))
    load(warehouse_url, zone)
    assert_loaded(warehouse_url, rel, 6, 2, 4, 0)
    got = {line: sorted(r.split(":")[0] for r in reasons) for line, reasons, _ in quarantined(warehouse_url, rel)}
    assert got == {
        3: ["invalid timestamptz in ordered_at", "invalid timestamptz in updated_at"],
        4: ["invalid timestamptz in ordered_at"],
        5: ["invalid timestamptz in updated_at"],
        6: ["invalid numeric in discount_total", "invalid numeric in order_total"],
    }
    # the reused typed value is the one the column's own cast gives (local time in Asia/Shanghai)
    assert q(warehouse_url, "select order_id, ordered_at = updated_at, updated_at::text, discount_total::text "
                            "from raw.crm_orders order by 1") == [
        ("G1", True, "2026-03-01 01:00:00+00", "0"), ("G2", True, "2026-03-01 01:00:00+00", "12.50")]
    assert_not_echoed(warehouse_url, value)
    assert_balanced(warehouse_url)
