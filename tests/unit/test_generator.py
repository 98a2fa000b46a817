"""The synthetic data generator: deterministic, contract-conformant, with exact ground truth.

The ground truth is only useful if it is right, so these tests re-read the written files
independently (a small reference loader in plain Python) and check that every recorded
fault is where the truth says, and that the expected loaded / quarantined / duplicate
counts follow from the bytes on disk.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from cx_demo.generator import FaultRates, generate, write_bulk_orders
from cx_demo.generator.faults import HOSTILE_SNIPPETS, INVALID_VALUES, QUARANTINE_KINDS
from cx_demo.generator.model import Numbering, Shard, World, orphan_id_base
from cx_warehouse.ingest.sources import Entity, load_sources

CST = timezone(timedelta(hours=8))
CJK = re.compile(r"[\u4e00-\u9fff]")
BUSINESS_TS = {"orders": "ordered_at", "tickets": "created_at", "points_ledger": "created_at",
               "responses": "submitted_at", "mentions": "posted_at"}


def _entities() -> dict[str, Entity]:
    return {f"{e.source}.{e.name}": e for s in load_sources().values() for e in s.entities}


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _digest(root: Path) -> str:
    """One checksum of every file under ``root`` (landing zone and truth), names included."""
    h = hashlib.sha256()
    for rel, data in _files(root).items():
        h.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


# ---------------------------------------------------------------------------------------
# A reference reader: records with their physical start line, as the loader numbers them
# ---------------------------------------------------------------------------------------
class Rec:
    def __init__(self, line: int, raw: bytes, values: Any, problem: str | None,
                 fields: list[str] | None = None, obj: Any = None) -> None:
        self.line, self.raw, self.values, self.problem, self.fields, self.obj = line, raw, values, problem, fields, obj


def read_records(data: bytes, entity: Entity) -> tuple[list[str] | None, list[Rec]]:
    if entity.format == "jsonl":
        recs = []
        for no, raw in enumerate(data.split(b"\n"), start=1):
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                recs.append(Rec(no, raw, None, "encoding"))
                continue
            try:
                obj = json.loads(text)
            except ValueError:
                recs.append(Rec(no, raw, None, "malformed"))
                continue
            values = {}
            for c in entity.columns:
                v: Any = obj
                for p in c.path:
                    v = v.get(p) if isinstance(v, dict) else None
                values[c.name] = None if v is None else (json.dumps(v) if isinstance(v, bool) else str(v))
            recs.append(Rec(no, raw, values, None, obj=obj))
        return None, recs
    text = data.decode("utf-8", "surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    lines = data.split(b"\n")
    recs = []
    start = reader.line_num + 1
    for row in reader:
        end = reader.line_num
        raw = b"\n".join(lines[start - 1:end])
        if any("\udc80" <= ch <= "\udcff" for f in row for ch in f):
            recs.append(Rec(start, raw, None, "encoding", row))
        elif len(row) != len(header):
            recs.append(Rec(start, raw, None, "malformed", row))
        else:
            values = {n: (v if v != "" else None) for n, v in zip(header, row, strict=True)}
            recs.append(Rec(start, raw, values, None, row))
        start = end + 1
    return header, recs


def type_ok(value: str, typ: str) -> bool:
    try:
        if typ in ("integer", "bigint"):
            return re.fullmatch(r"-?[0-9]+", value.strip()) is not None
        if typ == "numeric":
            return re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", value.strip()) is not None
        if typ == "date":
            date.fromisoformat(value)
        elif typ == "timestamptz":
            return datetime.fromisoformat(value).tzinfo is not None
        elif typ == "boolean":
            return value in ("true", "false")
    except ValueError:
        return False
    return True


def problems(rec: Rec, entity: Entity) -> list[str]:
    if rec.problem:
        return [rec.problem]
    assert rec.values is not None
    out = []
    for c in entity.columns:
        v = rec.values.get(c.name)
        if v is None:
            if c.required:
                out.append(f"missing {c.name}")
        elif c.type != "text" and not type_ok(v, c.type):
            out.append(f"invalid {c.name}")
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """Small data set with raised fault rates so every kind shows up."""
    root = tmp_path_factory.mktemp("demo")
    rates = FaultRates(duplicate_delivery=0.05, duplicate_row=0.01, late_arrival=0.02, malformed_row=0.01,
                       bad_encoding=0.01, missing_required=0.01, invalid_value=0.01, extra_column=0.05,
                       email_case=0.2, hostile_text=0.02, orphan_reference=0.02)
    generate(root / "landing", root / "truth.json", customers=400, days=60, seed=11, faults=rates)
    return root / "landing", json.loads((root / "truth.json").read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------
# Determinism
# ---------------------------------------------------------------------------------------
def test_same_seed_gives_identical_bytes_and_other_seed_differs(tmp_path: Path) -> None:
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        generate(tmp_path / name / "landing", tmp_path / name / "truth.json", customers=80, days=20, seed=seed)
    a, b, c = (_files(tmp_path / n) for n in "abc")
    assert a == b
    assert a != c
    # computed with the generator before it simulated in shards (issue 13): a world of one
    # shard is still exactly what it was
    assert _digest(tmp_path / "a") == "0bcc5bc639939d6670929f06445b59cbba8cd0b06be043350cfc36a8c13f75b9"


def test_a_world_of_one_shard_is_byte_identical_to_before_sharding(demo: tuple[Path, dict[str, Any]]) -> None:
    """The demo fixture's files and truth, checksummed with the generator before issue 13.

    A change to the model, the writers or config/sources/*.yml that is meant to change the
    data changes these checksums too: recompute them then, and say so in the commit.
    """
    landing, _ = demo
    assert _digest(landing.parent) == "a7e084f4db10fbebdac5c298c30386d4970b0041ac2928f29123961523fca6d5"


# ---------------------------------------------------------------------------------------
# The source contract
# ---------------------------------------------------------------------------------------
def test_every_file_matches_its_pattern_and_declared_header(demo: tuple[Path, dict[str, Any]]) -> None:
    landing, truth = demo
    entities = _entities()
    on_disk = set(_files(landing))
    assert on_disk == {f["path"] for f in truth["files"]}
    assert {f["entity"] for f in truth["files"]} == {e.name for e in entities.values()}
    for f in truth["files"]:
        e = entities[f"{f['source']}.{f['entity']}"]
        m = e.file_regex.match(f["path"])  # the loader's own matcher
        assert m, f["path"]
        name = f["path"].rsplit("/", 1)[1]
        assert re.fullmatch(rf"{e.name}_\d{{8}}(_redelivery)?\.(csv|jsonl)", name)
        assert m.group("date") == f["delivery_date"]
        if e.format == "csv":
            header = (landing / f["path"]).read_bytes().split(b"\n", 1)[0].decode("utf-8").split(",")
            assert header == list(e.column_names) + f["extra_columns"]


def test_truth_row_counts_match_the_files(demo: tuple[Path, dict[str, Any]]) -> None:
    landing, truth = demo
    entities = _entities()
    for f in truth["files"]:
        e = entities[f"{f['source']}.{f['entity']}"]
        _, recs = read_records((landing / f["path"]).read_bytes(), e)
        assert len(recs) == f["rows"], f["path"]
        assert sum(f["expected"].values()) == f["rows"]
    for name, ent in truth["entities"].items():
        files = [f for f in truth["files"] if f"{f['source']}.{f['entity']}" == name]
        assert ent["rows"] == sum(f["rows"] for f in files)
        assert ent["loaded"] + ent["quarantined"] + ent["duplicate"] == ent["rows"]


def test_json_nesting_follows_the_column_paths(demo: tuple[Path, dict[str, Any]]) -> None:
    landing, truth = demo
    entities = _entities()
    seen_paths: set[tuple[str, ...]] = set()
    for f in truth["files"]:
        e = entities[f"{f['source']}.{f['entity']}"]
        if e.format != "jsonl":
            continue
        declared = {c.path for c in e.columns}
        prefixes = {c.path[:i] for c in e.columns for i in range(1, len(c.path))}
        _, recs = read_records((landing / f["path"]).read_bytes(), e)
        for rec in recs:
            if rec.obj is None:
                continue
            stack: list[tuple[tuple[str, ...], dict[str, Any]]] = [((), rec.obj)]
            while stack:
                path, obj = stack.pop()
                for k, v in obj.items():
                    p = path + (k,)
                    if isinstance(v, dict):
                        assert p in prefixes, (f["path"], p)
                        stack.append((p, v))
                    else:
                        assert p in declared or (len(p) == 1 and k in f["extra_columns"]), (f["path"], p)
                        seen_paths.add(p)
    for path in (("respondent", "email"), ("respondent", "customer_id"), ("answers", "nps"),
                 ("answers", "servqual", "tangibles", "expectation"), ("answers", "drivers", "product"),
                 ("answers", "perceived_value", "social"), ("author", "handle"), ("engagement", "likes")):
        assert path in seen_paths, path


# ---------------------------------------------------------------------------------------
# Ground truth
# ---------------------------------------------------------------------------------------
def test_fault_lines_point_at_the_faulty_records(demo: tuple[Path, dict[str, Any]]) -> None:
    checked = check_fault_lines(*demo)
    for kind in ("malformed_row", "bad_encoding", "missing_required", "invalid_value", "hostile_text",
                 "duplicate_row", "late_arrival", "email_case", "orphan_reference"):
        assert checked[kind] > 0, kind


def check_fault_lines(landing: Path, truth: dict[str, Any]) -> Counter[str]:
    """Every recorded fault is on the line the truth names, and every other record is clean;
    how many faults of each kind were checked."""
    entities = _entities()
    customer_ids: set[str] = set()
    for f in truth["files"]:
        if f["entity"] == "customers":
            _, recs = read_records((landing / f["path"]).read_bytes(), entities["crm.customers"])
            customer_ids.update(r.fields[0] for r in recs if r.fields)
    checked: Counter[str] = Counter()
    for f in truth["files"]:
        e = entities[f"{f['source']}.{f['entity']}"]
        header, recs = read_records((landing / f["path"]).read_bytes(), e)
        by_line = {r.line: r for r in recs}
        faulty_lines = set()
        for fault in f["faults"]:
            kind = fault["kind"]
            if fault["line"] is None:
                assert kind in ("duplicate_delivery", "extra_column")
                continue
            rec = by_line[fault["line"]]
            faulty_lines.add(fault["line"])
            checked[kind] += 1
            column = fault.get("column")
            value = rec.values.get(column) if rec.values and column else None
            if kind == "malformed_row":
                assert rec.problem == "malformed"
                if e.format == "csv":
                    assert len(rec.fields or []) != len(header or [])
            elif kind == "bad_encoding":
                assert rec.problem == "encoding"
                with pytest.raises(UnicodeDecodeError):
                    rec.raw.decode("utf-8")
            elif kind == "missing_required":
                assert rec.values is not None and value is None and e.column(column).required
            elif kind == "invalid_value":
                assert value is not None and value in INVALID_VALUES[e.column(column).type]
                assert not type_ok(value, e.column(column).type)
            elif kind == "hostile_text":
                assert value is not None and (len(value) >= 10_000 or any(s in value for s in HOSTILE_SNIPPETS))
            elif kind == "duplicate_row":
                assert rec.raw == by_line[fault["copy_of_line"]].raw
                assert fault["copy_of_line"] < fault["line"]
            elif kind == "late_arrival":
                ts = datetime.fromisoformat(rec.values[BUSINESS_TS[e.name]])
                lag = (date.fromisoformat(f["delivery_date"]) - ts.astimezone(CST).date()).days
                assert 2 <= lag <= 10 and lag == fault["days_late"]
            elif kind == "email_case":
                email = rec.values["respondent_email"]
                assert email != email.strip().lower() and email.strip() != email
            elif kind == "orphan_reference":
                assert rec.values["customer_id"] not in customer_ids
            if kind not in QUARANTINE_KINDS:
                assert problems(rec, e) == [], (f["path"], fault)
            if rec.values is not None and kind != "missing_required":
                for k, v in fault["key"].items():
                    assert rec.values[k] == str(v), (f["path"], fault)
        for rec in recs:
            if rec.line not in faulty_lines:
                assert problems(rec, e) == [], (f["path"], rec.line)
    return checked


def test_expected_counts_follow_from_the_files(demo: tuple[Path, dict[str, Any]]) -> None:
    check_expected_counts(*demo)


def check_expected_counts(landing: Path, truth: dict[str, Any]) -> None:
    """Replay the documented load rule over the bytes on disk; it must give the truth's counts."""
    entities = _entities()
    by_entity: dict[str, list[dict[str, Any]]] = {}
    for f in truth["files"]:
        by_entity.setdefault(f"{f['source']}.{f['entity']}", []).append(f)
    for name, files in by_entity.items():
        e = entities[name]
        loaded: dict[tuple[str, ...], Any] = {}
        for f in sorted(files, key=lambda f: (f["delivery_date"], f["path"].rsplit("/", 1)[1])):
            counts: Counter[str] = Counter()
            _, recs = read_records((landing / f["path"]).read_bytes(), e)
            for rec in recs:
                if problems(rec, e):
                    counts["quarantined"] += 1
                    continue
                key = tuple(rec.values[k] for k in e.primary_key)
                version = datetime.fromisoformat(rec.values[e.updated_at]) if e.updated_at else None
                if key not in loaded or (version is not None and version > loaded[key]):
                    loaded[key] = version
                    counts["loaded"] += 1
                else:
                    counts["duplicate"] += 1
            assert {k: counts[k] for k in ("loaded", "quarantined", "duplicate")} == f["expected"], f["path"]
            if f["path"].endswith(("_redelivery.csv", "_redelivery.jsonl")):
                assert f["expected"]["duplicate"] == f["rows"]
        assert truth["entities"][name]["distinct_keys"] == len(loaded)


def test_one_version_per_key_per_file_and_versions_move_forward(demo: tuple[Path, dict[str, Any]]) -> None:
    assert check_versions(*demo) > 50  # orders refunded, tickets answered and resolved, tiers changed ...


def check_versions(landing: Path, truth: dict[str, Any]) -> int:
    """A key is at most once in a file and each later version is newer; how many updates there are."""
    entities = _entities()
    last: dict[tuple[str, ...], datetime] = {}
    updated = 0
    for f in sorted(truth["files"], key=lambda f: (f["entity"], f["delivery_date"], f["path"])):
        e = entities[f"{f['source']}.{f['entity']}"]
        if "redelivery" in f["path"]:
            continue
        copies = {x["line"] for x in f["faults"] if x["kind"] == "duplicate_row"}
        _, recs = read_records((landing / f["path"]).read_bytes(), e)
        keys: Counter[tuple[str, ...]] = Counter()
        for rec in recs:
            if rec.line in copies or rec.values is None or problems(rec, e):
                continue
            key = (e.name,) + tuple(rec.values[k] for k in e.primary_key)
            keys[key] += 1
            if e.updated_at:
                version = datetime.fromisoformat(rec.values[e.updated_at])
                if key in last:
                    assert version > last[key], (f["path"], key)
                    updated += 1
                last[key] = version
        assert all(n == 1 for n in keys.values()), f["path"]
    return updated


def test_fault_rates_are_near_the_configured_rates(tmp_path: Path) -> None:
    rate = 0.02
    rates = FaultRates(duplicate_delivery=0.05, duplicate_row=rate, late_arrival=rate, malformed_row=rate,
                       bad_encoding=rate, missing_required=rate, invalid_value=rate, extra_column=0.05,
                       email_case=0.1, hostile_text=rate, orphan_reference=rate)
    s = generate(tmp_path / "l", tmp_path / "t.json", customers=600, days=60, seed=3, faults=rates)
    truth = json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))
    originals = [f for f in truth["files"] if "duplicate_of" not in f]
    rows = sum(f["rows"] for f in originals) - s.fault_counts["duplicate_row"]
    for kind in ("malformed_row", "missing_required", "invalid_value", "duplicate_row"):
        assert 0.5 * rate <= s.fault_counts[kind] / rows <= 1.5 * rate, (kind, s.fault_counts[kind], rows)
    files = len(originals)
    assert 0.4 * 0.05 <= s.fault_counts["extra_column"] / files <= 1.8 * 0.05
    assert 0.4 * 0.05 <= s.fault_counts["duplicate_delivery"] / files <= 1.8 * 0.05
    responses = sum(f["rows"] for f in originals if f["entity"] == "responses")
    assert 0.02 <= s.fault_counts["email_case"] / responses <= 0.15
    for kind in ("bad_encoding", "hostile_text", "late_arrival", "orphan_reference"):
        assert s.fault_counts[kind] > 0, kind


def test_no_faults_gives_a_clean_data_set(tmp_path: Path) -> None:
    s = generate(tmp_path / "l", tmp_path / "t.json", customers=150, days=30, seed=2, faults=FaultRates.none())
    truth = json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))
    assert all(v == 0 for v in s.fault_counts.values())
    assert all(f["faults"] == [] and f["expected"]["loaded"] == f["rows"] for f in truth["files"])
    assert not any("redelivery" in f["path"] for f in truth["files"])
    assert truth["params"]["faults"] == FaultRates.none().as_dict()


@pytest.mark.parametrize("seed", [1, 2])
def test_every_enabled_kind_is_planted_even_in_a_small_set(tmp_path: Path, seed: int) -> None:
    s = generate(tmp_path / "l", tmp_path / "t.json", customers=100, days=20, seed=seed)
    assert all(n >= 1 for n in s.fault_counts.values()), s.fault_counts
    only = FaultRates(**{**FaultRates.none().as_dict(), "hostile_text": 0.001})
    s = generate(tmp_path / "l2", tmp_path / "t2.json", customers=100, days=20, seed=seed, faults=only)
    assert {k for k, n in s.fault_counts.items() if n} == {"hostile_text"}


def test_cli_writes_landing_and_truth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cx_demo.generator.__main__ import main

    assert main(["--landing", str(tmp_path / "l"), "--truth", str(tmp_path / "t.json"), "--customers", "40",
                 "--days", "10", "--seed", "3", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    truth = json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))
    assert out["files"] == len(truth["files"]) > 0
    assert truth["params"] == {**truth["params"], "customers": 40, "days": 10, "seed": 3}


def test_fault_rates_are_validated() -> None:
    with pytest.raises(ValueError):
        FaultRates(malformed_row=1.5)
    assert FaultRates().malformed_row > 0


# ---------------------------------------------------------------------------------------
# Content
# ---------------------------------------------------------------------------------------
def test_chinese_and_english_text_is_present(demo: tuple[Path, dict[str, Any]]) -> None:
    landing, _ = demo
    customers = b"".join(p.read_bytes() for p in (landing / "crm" / "customers").rglob("*.csv")).decode(
        "utf-8", "replace")
    assert CJK.search(customers) and re.search(r"\n[^,]+,(Emily|James|Olivia|Liam|Sophia|Noah|Grace|Daniel|"
                                              r"Chloe|Ethan|Hannah|Lucas|Mia|Ryan|Zoe|Amy|Kevin|Jason),", customers)
    languages: Counter[str] = Counter()
    cjk_texts = 0
    for p in list((landing / "survey").rglob("*.jsonl")) + list((landing / "social").rglob("*.jsonl")):
        for raw in p.read_bytes().splitlines():
            try:
                obj = json.loads(raw.decode("utf-8"))
            except ValueError:
                continue
            languages[obj.get("language")] += 1
            body = obj.get("text") or (obj.get("answers") or {}).get("comment") or ""
            cjk_texts += bool(CJK.search(str(body)))
    assert languages["zh"] > languages["en"] > 0
    assert cjk_texts > 20


def test_behaviour_the_marts_should_find() -> None:
    w = World(customers=1500, days=365, start=date(2025, 11, 1), seed=4, faults=FaultRates.none())
    w.run()
    half = {a: [0, 0] for a in ("declining", "churning", "loyal")}
    per_day: Counter[int] = Counter()
    for o in w.orders:
        per_day[w.day_of(o.ts)] += 1
        if o.customer is not None and o.customer.archetype in half:
            half[o.customer.archetype][w.day_of(o.ts) >= 183] += 1
    assert half["declining"][1] < 0.8 * half["declining"][0]
    assert half["churning"][1] < 0.5 * half["churning"][0]
    assert half["loyal"][1] > 0.8 * half["loyal"][0]
    average = sum(per_day.values()) / 365
    assert per_day[(date(2025, 11, 11) - w.start).days] > 3 * average  # Double 11
    cny = (date(2026, 2, 17) - w.start).days
    assert sum(per_day[d] for d in range(cny, cny + 7)) < 0.6 * 7 * average
    rows = [i.versions[0][1] for i in w.responses]
    ids = {c.customer_id: c for c in w.customers}
    det = {True: [0, 0], False: [0, 0]}
    for r in rows:
        c = ids.get(r.get("respondent_customer_id"))
        if c is not None and "nps" in r:
            det[c.complainer][0] += r["nps"] <= 6
            det[c.complainer][1] += 1
    assert det[True][0] / det[True][1] > 1.5 * det[False][0] / det[False][1]
    # NPS follows the drivers: product matters more than relationship.
    full = [r for r in rows if "nps" in r and "driver_product" in r and "driver_relationship" in r]
    lo = [r["nps"] for r in full if r["driver_product"] <= 3]
    hi = [r["nps"] for r in full if r["driver_product"] >= 6]
    assert sum(hi) / len(hi) - sum(lo) / len(lo) > 2


# ---------------------------------------------------------------------------------------
# Worlds of several shards (issue 13): a tiny shard size keeps the world small
# ---------------------------------------------------------------------------------------
# A column that never changes between versions of a business object: two objects from two
# shards under one key would show as one key with two values.
_IMMUTABLE = {"customers": "signup_date", "orders": "ordered_at", "order_lines": "product_id",
              "tickets": "created_at", "memberships": "member_number", "tier_changes": "changed_at",
              "points_ledger": "created_at", "campaign_contacts": "contacted_at", "responses": "submitted_at",
              "mentions": "posted_at"}


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """300 customers in shards of 70 (five shards, the last one short), faults raised."""
    root = tmp_path_factory.mktemp("sharded")
    rates = FaultRates(duplicate_delivery=0.05, duplicate_row=0.01, late_arrival=0.02, malformed_row=0.01,
                       bad_encoding=0.01, missing_required=0.01, invalid_value=0.01, extra_column=0.05,
                       email_case=0.2, hostile_text=0.02, orphan_reference=0.02)
    s = generate(root / "landing", root / "truth.json", customers=300, days=45, seed=11, faults=rates, shard_size=70)
    assert s.shards == 5
    return root / "landing", json.loads((root / "truth.json").read_text(encoding="utf-8"))


def test_sharded_world_has_every_key_once_across_shards(sharded: tuple[Path, dict[str, Any]]) -> None:
    landing, truth = sharded
    entities = _entities()
    assert truth["params"]["shard_size"] == 70
    assert list(truth["customers"]) == [f"C{100_001 + i}" for i in range(300)]
    values: dict[tuple[str, ...], set[str | None]] = {}
    emails: dict[str, str] = {}
    handles: dict[str, str] = {}
    customer_ids: set[str] = set()
    owners: dict[str, set[str]] = {}
    for f in truth["files"]:
        e = entities[f"{f['source']}.{f['entity']}"]
        _, recs = read_records((landing / f["path"]).read_bytes(), e)
        for rec in recs:
            if rec.values is None or problems(rec, e):
                continue
            key = (e.name,) + tuple(rec.values[k] for k in e.primary_key)
            values.setdefault(key, set()).add(rec.values[_IMMUTABLE[e.name]])
            if "customer_id" in rec.values:
                owners.setdefault(e.name, set()).add(rec.values["customer_id"])
            if e.name == "customers":
                customer_ids.add(rec.values["customer_id"])
                for seen, column in ((emails, "email"), (handles, "social_handle")):
                    if rec.values[column]:
                        assert seen.setdefault(rec.values[column], rec.values["customer_id"]) == \
                            rec.values["customer_id"], (column, rec.values[column])
    clashes = {k: v for k, v in values.items() if len(v) > 1}
    assert not clashes
    # every shard's customers are there (but those whose only row was spoiled into the quarantine)
    assert customer_ids <= set(truth["customers"])
    assert len(customer_ids) == truth["entities"]["crm.customers"]["distinct_keys"] > 280
    for name in ("orders", "points_ledger", "campaign_contacts", "memberships"):  # each shard's customers made some
        assert {(int(c[1:]) - 100_001) // 70 for c in owners[name] if c in customer_ids} == set(range(5)), name
    assert not [p for p in landing.rglob(".*")], "a hidden (unfinished) file is left in the landing zone"


def test_sharded_world_truth_is_exact(sharded: tuple[Path, dict[str, Any]]) -> None:
    """Counts, distinct keys and fault lines follow from the bytes, across shard boundaries in a file."""
    landing, truth = sharded
    check_expected_counts(landing, truth)
    checked = check_fault_lines(landing, truth)
    for kind in ("malformed_row", "bad_encoding", "missing_required", "invalid_value", "hostile_text",
                 "duplicate_row", "late_arrival", "email_case", "orphan_reference"):
        assert checked[kind] > 0, kind
    assert check_versions(landing, truth) > 50
    counted = Counter(x["kind"] for f in truth["files"] for x in f["faults"])
    assert truth["fault_counts"] == {k: counted[k] for k in truth["fault_counts"]}
    for name, ent in truth["entities"].items():
        files = [f for f in truth["files"] if f"{f['source']}.{f['entity']}" == name]
        assert ent["files"] == len(files)
        assert ent["rows"] == sum(f["rows"] for f in files) == ent["loaded"] + ent["quarantined"] + ent["duplicate"]
        for k in ("loaded", "quarantined", "duplicate"):
            assert ent[k] == sum(f["expected"][k] for f in files), (name, k)


def test_sharded_world_is_deterministic_and_its_shard_size_matters(tmp_path: Path) -> None:
    for name, shard_size in (("a", 40), ("b", 40), ("c", 50)):
        generate(tmp_path / name / "landing", tmp_path / name / "truth.json", customers=100, days=15, seed=8,
                 shard_size=shard_size)
    a, b, c = (_files(tmp_path / n) for n in "abc")
    assert a == b
    assert a != c
    # a world that fits in one shard ignores the shard size
    for name, shard_size in (("d", 100), ("e", 1000)):
        generate(tmp_path / name / "landing", tmp_path / name / "truth.json", customers=100, days=15, seed=8,
                 shard_size=shard_size)
    assert _files(tmp_path / "d") == _files(tmp_path / "e")


def test_a_later_shard_never_draws_an_id_an_earlier_one_drew() -> None:
    """Two shards of the same customers (same seeds, same first draws): the second must draw
    every e-mail, handle, post and response id anew."""
    kw: dict[str, Any] = {"customers": 60, "days": 60, "start": date(2025, 11, 1), "seed": 3, "faults": FaultRates()}
    first = World(**kw, shard=Shard(0, 0, 60))
    first.run()
    first.record_taken()
    again = World(**kw, shard=Shard(1, 0, 60, first.taken, Numbering()))
    again.run()
    assert first._emails and first._handles and first._post_ids and first._response_ids
    assert not first._emails & again._emails
    assert not first._handles & again._handles
    assert not first._post_ids & again._post_ids
    assert not first._response_ids & again._response_ids
    assert {c.customer_id for c in first.customers} == {c.customer_id for c in again.customers}  # same people


def test_orphan_customer_ids_stay_outside_the_customer_range() -> None:
    assert orphan_id_base(3_000) == orphan_id_base(799_999) == 900_000  # the ids worlds have always had
    for customers in (800_000, 1_000_000, 9_000_000):
        assert orphan_id_base(customers) > 100_000 + customers


def test_progress_is_reported(tmp_path: Path) -> None:
    messages: list[str] = []
    generate(tmp_path / "l", tmp_path / "t.json", customers=30, days=40, seed=1, progress=messages.append)
    assert any("2025-11" in m for m in messages) and any("2025-12" in m for m in messages)


# ---------------------------------------------------------------------------------------
# Bulk orders for benchmarks
# ---------------------------------------------------------------------------------------
def test_bulk_orders_plants_and_reports_row_faults(tmp_path: Path) -> None:
    rates = FaultRates(missing_required=0.02, invalid_value=0.02, duplicate_row=0.02)
    out = write_bulk_orders(tmp_path / "orders.csv", 20_000, seed=1, faults=rates)
    e = _entities()["crm.orders"]
    header, recs = read_records((tmp_path / "orders.csv").read_bytes(), e)
    assert header == list(e.column_names)
    assert len(recs) == out["rows"] == 20_000
    bad = sum(1 for r in recs if problems(r, e))
    assert bad == out["expected"]["quarantined"] == out["faults"]["missing_required"] + out["faults"]["invalid_value"]
    keys = Counter(r.values["order_id"] for r in recs if not problems(r, e))
    assert sum(n - 1 for n in keys.values()) == out["expected"]["duplicate"] == out["faults"]["duplicate_row"]
    assert out["expected"]["loaded"] == len(keys) == out["distinct_keys"]
    for kind in ("missing_required", "invalid_value", "duplicate_row"):
        assert 0.01 < out["faults"][kind] / 20_000 < 0.03
    again = write_bulk_orders(tmp_path / "again.csv", 20_000, seed=1, faults=rates)
    assert (tmp_path / "again.csv").read_bytes() == (tmp_path / "orders.csv").read_bytes()
    assert again["faults"] == out["faults"]


def test_window_days_are_local_calendar_days() -> None:
    w = World(customers=5, days=3, start=date(2025, 11, 1), seed=1, faults=FaultRates.none())
    assert w.day_of(w.start_ts) == 0 and w.day_of(w.start_ts - 1) == -1
    assert (date(1970, 1, 1) + timedelta(seconds=w.start_ts + 8 * 3600)) == date(2025, 11, 1)
