"""The landing zone: what counts as an entity's file, what is refused and why, bounded reading.

Locally (tmp dirs, where links, pipes and swaps are real) and on an fsspec filesystem (memory://).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tracemalloc
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import fsspec
import pytest

from cx_warehouse.ingest import landing
from cx_warehouse.ingest.landing import CHUNK, LandedFile, LandingError, LandingZone, Line, trusted_mtime, unchanged
from cx_warehouse.ingest.sources import get_source, load_sources

ORDERS = get_source("crm").entity("orders")
RESPONSES = get_source("survey").entity("responses")
ENTITIES = [e for s in load_sources().values() for e in s.entities]
DAY = "crm/orders/2026-03-14"


def put(root: Path, rel: str, data: bytes = b"a,b\n") -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p


def gzip_of_zeros(path: Path, unpacked: int, tail: bytes = b"") -> Path:
    """A gzip of ``unpacked`` NUL bytes, written in pieces (the test must not hold it either)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    block = bytes(CHUNK)
    with gzip.open(path, "wb", compresslevel=9) as gz:
        for _ in range(unpacked // CHUNK):
            gz.write(block)
        gz.write(tail)
    return path


@pytest.fixture
def mem() -> Iterator[str]:
    root = f"/lz-{uuid.uuid4().hex}"
    yield root
    fs = fsspec.filesystem("memory")
    if fs.exists(root):
        fs.rm(root, recursive=True)


# -- what is a file of an entity -----------------------------------------------------------
def test_finds_files_by_pattern_in_delivery_order(tmp_path: Path) -> None:
    for rel in ["crm/orders/2025-11-02/orders_20251102.csv", "crm/orders/2025-11-01/orders_20251101.csv.gz",
                "crm/orders/2025-11-02/orders_20251101_redelivery.csv", "crm/orders/2025-11-01/notes.txt",
                "crm/orders/not-a-date/orders_x.csv", "crm/customers/2025-11-01/customers_20251101.csv"]:
        put(tmp_path, rel, gzip.compress(b"x") if rel.endswith(".gz") else b"x")
    lz = LandingZone(str(tmp_path))
    assert [f.path for f in lz.find(ORDERS)] == [
        "crm/orders/2025-11-01/orders_20251101.csv.gz",
        "crm/orders/2025-11-02/orders_20251101_redelivery.csv",
        "crm/orders/2025-11-02/orders_20251102.csv",
    ]
    assert [f.path for f in lz.find(ORDERS, until=date(2025, 11, 2))] == [
        "crm/orders/2025-11-01/orders_20251101.csv.gz"]
    (gz,) = lz.find(ORDERS, until=date(2025, 11, 2))
    assert gz.compressed and gz.kind == "delivery"
    assert b"".join(lz.chunks(gz)) == b"x"


def test_object_storage_urls_work_through_fsspec(mem: str) -> None:
    fs = fsspec.filesystem("memory")
    fs.pipe(f"{mem}/crm/orders/2025-11-01/orders_20251101.csv", b"a,b\n")
    fs.pipe(f"{mem}/crm/orders/2025-11-01/orders_20251101.csv.tmp", b"a,")
    lz = LandingZone(f"memory://{mem}")
    (f,) = lz.find(ORDERS)
    assert f.delivery_date == date(2025, 11, 1) and f.size == 4
    assert lz.sha256(f) == hashlib.sha256(b"a,b\n").hexdigest()
    assert [i.path for i in lz.scan(ENTITIES).ignored] == ["crm/orders/2025-11-01/orders_20251101.csv.tmp"]


def test_corrections_are_found_and_load_after_their_days_deliveries(mem: str) -> None:
    fs = fsspec.filesystem("memory")
    for rel in [f"{DAY}/orders_1.csv", f"{DAY}/corrections/orders_fix.csv", f"{DAY}/corrections/orders_fix2.csv.gz",
                "crm/orders/2026-03-15/orders_2.csv", "crm/orders/2026-03-13/corrections/orders_early.csv"]:
        fs.pipe(f"{mem}/{rel}", b"x")
    lz = LandingZone(f"memory://{mem}")
    found = lz.find(ORDERS)
    assert [(f.path, f.kind) for f in found] == [
        ("crm/orders/2026-03-13/corrections/orders_early.csv", "correction"),
        (f"{DAY}/orders_1.csv", "delivery"),  # "corrections/" sorts before "orders_" by name: not by load order
        (f"{DAY}/corrections/orders_fix.csv", "correction"),
        (f"{DAY}/corrections/orders_fix2.csv.gz", "correction"),
        ("crm/orders/2026-03-15/orders_2.csv", "delivery"),
    ]
    assert sorted(reversed(found)) == found
    assert [f.path for f in lz.find(ORDERS, until=date(2026, 3, 15))][-1] == f"{DAY}/corrections/orders_fix2.csv.gz"
    assert lz.scan(ENTITIES).files["crm_orders"] == found


def test_order_key_is_date_then_deliveries_before_corrections_then_path() -> None:
    d = LandedFile(date(2026, 3, 14), "crm/orders/2026-03-14/orders_z.csv", 1)
    c = LandedFile(date(2026, 3, 14), "crm/orders/2026-03-14/corrections/orders_a.csv", 1, "correction")
    assert d.order_key == (date(2026, 3, 14), False, d.path) and c.is_correction
    assert sorted([c, d]) == [d, c] and d < c and not c < d


NEVER_LOADED = {
    f"{DAY}/orders_x.csv.tmp": "a half-written upload (.tmp) is never loaded",
    f"{DAY}/orders_x.csv.gz.part": "a half-written upload (.part) is never loaded",
    f"{DAY}/orders_x.csv.bak": "a backup (.bak) is never loaded",
    f"{DAY}/orders_x.csv~": "a backup (~) is never loaded",
    f"{DAY}/orders_x.csv.bz2": "another compression (.bz2) is never loaded",
    f"{DAY}/orders_x.csv.gz.xz": "another compression (.xz) is never loaded",
    f"{DAY}/Orders_1.CSV": "names are case-sensitive: did you mean orders_*.csv?",
    f"{DAY}/orders_1.CSV.gz": "names are case-sensitive: did you mean orders_*.csv?",
    "crm/Orders/2026-03-14/orders_1.csv": "names are case-sensitive: did you mean crm/orders/{date}/orders_*.csv?",
    f"{DAY}/Corrections/orders_1.csv": "names are case-sensitive: did you mean crm/orders/{date}/corrections/",
    "crm/orders/2026-02-30/orders_1.csv": "folder 2026-02-30 is not a calendar date",
    "crm/orders/2026-13-01/corrections/orders_1.csv": "folder 2026-13-01 is not a calendar date",
    "crm/orders/2026-3-14/orders_1.csv": "folder 2026-3-14 is not a delivery date (YYYY-MM-DD)",
    "crm/orders/orders_1.csv": "not in a delivery-date folder",
    f"{DAY}/orders_1.txt": "not named like crm/orders/{date}/orders_*.csv (or .csv.gz)",
    f"{DAY}/customers_1.csv": "not named like crm/orders/{date}/orders_*.csv (or .csv.gz)",
    f"{DAY}/.orders_1.csv.A1b2C3": "a hidden file (name starts with '.') is never loaded",
    f"{DAY}/archive/orders_1.csv": "in a sub-folder of a delivery-date folder",
    f"{DAY}/corrections/notes.txt": "not named like crm/orders/{date}/corrections/orders_*.csv",
    f"{DAY}/orders_1.csv\n": "not named like",  # a regex `$` would take the trailing newline
    "survey/responses/2026-03-14/responses_1.csv": "not named like survey/responses/{date}/responses_*.jsonl",
    "exports/orders_1.csv": "not under any declared entity folder",
    ".generated.json": "hidden file",
}


def test_every_other_file_is_ignored_with_a_reason(mem: str) -> None:
    fs = fsspec.filesystem("memory")
    for rel in [*NEVER_LOADED, f"{DAY}/orders_ok.csv", "survey/responses/2026-03-14/responses_1.jsonl.gz"]:
        fs.pipe(f"{mem}/{rel}", b"x")
    lz = LandingZone(f"memory://{mem}")
    result = lz.scan(ENTITIES)
    assert [f.path for f in result.files["crm_orders"]] == [f"{DAY}/orders_ok.csv"]
    assert [f.path for f in result.files["survey_responses"]] == ["survey/responses/2026-03-14/responses_1.jsonl.gz"]
    assert set(result.files) == {e.table for e in ENTITIES}
    reasons = {i.path: i.reason for i in result.ignored}
    assert set(reasons) == set(NEVER_LOADED)
    for path, expected in NEVER_LOADED.items():
        assert expected in reasons[path], (path, reasons[path])
    assert [f.path for f in lz.find(ORDERS)] == [f"{DAY}/orders_ok.csv"]


def test_classification_is_the_same_on_a_local_folder(tmp_path: Path) -> None:
    for rel in NEVER_LOADED:
        if "\n" not in rel:
            put(tmp_path, rel)
    put(tmp_path, f"{DAY}/orders_ok.csv")
    result = LandingZone(str(tmp_path)).scan(ENTITIES)
    assert {i.path for i in result.ignored} == {p for p in NEVER_LOADED if "\n" not in p}
    assert [f.path for f in result.files["crm_orders"]] == [f"{DAY}/orders_ok.csv"]


# -- nothing outside the zone ------------------------------------------------------------
def test_symlinked_file_is_refused(tmp_path: Path) -> None:
    outside = put(tmp_path, "outside/passwd", b"root:x:0:0:root:/root:/bin/bash\n")
    root = tmp_path / "lz"
    put(root, f"{DAY}/orders_1.csv")
    (root / DAY / "orders_2.csv").symlink_to(outside)
    (root / DAY / "orders_3.csv").symlink_to(root / DAY / "orders_1.csv")  # even one pointing inside
    lz = LandingZone(str(root))
    assert [f.path for f in lz.find(ORDERS)] == [f"{DAY}/orders_1.csv"]
    reasons = {i.path: i.reason for i in lz.scan(ENTITIES).ignored}
    assert reasons[f"{DAY}/orders_2.csv"].startswith("symbolic link: refused")
    assert reasons[f"{DAY}/orders_3.csv"].startswith("symbolic link: refused")


@pytest.mark.parametrize("linked", ["crm", "crm/orders", DAY, f"{DAY}/corrections"])
def test_symlinked_folder_is_refused_at_every_level(tmp_path: Path, linked: str) -> None:
    outside = tmp_path / "outside"
    put(outside, f"{DAY}/corrections/orders_1.csv")
    root = tmp_path / "lz"
    root.mkdir()
    link = root / linked
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(outside / linked, target_is_directory=True)
    lz = LandingZone(str(root))
    assert lz.find(ORDERS) == []
    result = lz.scan(ENTITIES)
    assert result.files["crm_orders"] == []
    assert [(i.path, i.reason.split(":")[0]) for i in result.ignored] == [(linked, "symbolic link to a folder")]


def test_a_dot_dot_link_escaping_the_zone_is_refused(tmp_path: Path) -> None:
    put(tmp_path, "secret/orders_9.csv", b"order_id\nSECRET\n")
    root = tmp_path / "lz"
    (root / DAY).mkdir(parents=True)
    os.symlink("../../../../secret/orders_9.csv", root / DAY / "orders_9.csv")
    os.symlink("../../../secret", root / "crm/orders/2026-03-15")
    lz = LandingZone(str(root))
    assert lz.find(ORDERS) == []
    assert {i.path for i in lz.scan(ENTITIES).ignored} == {f"{DAY}/orders_9.csv", "crm/orders/2026-03-15"}
    with pytest.raises(LandingError, match="symbolic link"):
        lz.sha256(LandedFile(date(2026, 3, 14), f"{DAY}/orders_9.csv", 0))
    with pytest.raises(LandingError, match=r"'\.\.' part: refused"):
        lz.sha256(LandedFile(date(2026, 3, 14), f"{DAY}/../../../../secret/orders_9.csv", 0))


def test_a_file_swapped_for_a_link_after_listing_is_refused_on_open(tmp_path: Path) -> None:
    outside = put(tmp_path, "outside/orders_1.csv", b"order_id\nSECRET\n")
    root = tmp_path / "lz"
    path = put(root, f"{DAY}/orders_1.csv")
    put(root, "crm/orders/2026-03-15/orders_2.csv")
    lz = LandingZone(str(root))
    first, second = lz.find(ORDERS)
    path.unlink()
    path.symlink_to(outside)
    for read in (lz.sha256, lambda f: b"".join(lz.chunks(f)), lambda f: lz.open(f).read(10)):
        with pytest.raises(LandingError, match=f"{first.path}: is a symbolic link or under one: refused"):
            read(first)
    # a folder on the way swapped for a link to a copy outside
    put(tmp_path, "outside/day/orders_2.csv")
    (root / "crm/orders/2026-03-15/orders_2.csv").unlink()
    (root / "crm/orders/2026-03-15").rmdir()
    (root / "crm/orders/2026-03-15").symlink_to(tmp_path / "outside/day")
    with pytest.raises(LandingError, match="symbolic link or under one"):
        lz.sha256(second)


def test_hard_links_pipes_and_devices_are_refused_without_stalling(tmp_path: Path) -> None:
    outside = put(tmp_path, "outside/orders_1.csv")
    root = tmp_path / "lz"
    put(root, f"{DAY}/orders_ok.csv")
    os.link(outside, root / DAY / "orders_hard.csv")
    os.mkfifo(root / DAY / "orders_pipe.csv")
    lz = LandingZone(str(root))
    assert [f.path for f in lz.find(ORDERS)] == [f"{DAY}/orders_ok.csv"]
    reasons = {i.path: i.reason for i in lz.scan(ENTITIES).ignored}
    assert reasons[f"{DAY}/orders_hard.csv"].startswith("hard link (the file has 2 names): refused")
    assert reasons[f"{DAY}/orders_pipe.csv"].startswith("not a regular file (a named pipe")
    # opening the pipe by name does not wait for a writer
    with pytest.raises(LandingError, match="orders_pipe.csv: not a regular file"):
        lz.sha256(LandedFile(date(2026, 3, 14), f"{DAY}/orders_pipe.csv", 0))
    with pytest.raises(LandingError, match="orders_hard.csv: hard link"):
        lz.open(LandedFile(date(2026, 3, 14), f"{DAY}/orders_hard.csv", 0))


def test_a_landing_root_that_is_itself_a_link_is_followed(tmp_path: Path) -> None:
    put(tmp_path, f"real/{DAY}/orders_1.csv")
    (tmp_path / "lz").symlink_to(tmp_path / "real", target_is_directory=True)
    lz = LandingZone(str(tmp_path / "lz"))
    (f,) = lz.find(ORDERS)
    assert lz.sha256(f) == hashlib.sha256(b"a,b\n").hexdigest()


# -- the root ------------------------------------------------------------------------------
def test_missing_root_is_a_clear_error(tmp_path: Path, mem: str) -> None:
    missing = str(tmp_path / "landnig")
    for url in (missing, f"memory://{mem}"):
        for call in (LandingZone(url).check, lambda u=url: LandingZone(u).find(ORDERS),
                     lambda u=url: LandingZone(u).scan(ENTITIES)):
            with pytest.raises(LandingError, match=f"^CX_LANDING={url} does not exist.*: set CX_LANDING to "
                                                   "the folder or URL source systems deliver into$"):
                call()
    put(tmp_path, "file")
    with pytest.raises(LandingError, match="is a file, not a folder"):
        LandingZone(str(tmp_path / "file")).scan(ENTITIES)
    (tmp_path / "empty").mkdir()
    assert LandingZone(str(tmp_path / "empty")).find(ORDERS) == []


def test_an_unreadable_folder_is_reported_not_fatal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    put(tmp_path, f"{DAY}/orders_1.csv")
    put(tmp_path, "crm/orders/2026-03-15/orders_2.csv")
    locked = tmp_path / "crm/orders/2026-03-15"
    locked.chmod(0)
    if os.geteuid() == 0:  # root lists every folder: the refusal a user would get, raised as the OS would
        real = os.scandir

        def scandir(path: Any = ".") -> Any:
            if Path(path) == locked:
                raise PermissionError(13, "Permission denied", str(path))
            return real(path)

        monkeypatch.setattr(os, "scandir", scandir)
    try:
        result = LandingZone(str(tmp_path)).scan(ENTITIES)
    finally:
        locked.chmod(0o755)
    assert [f.path for f in result.files["crm_orders"]] == [f"{DAY}/orders_1.csv"]
    assert [(i.path, i.reason.split(" (")[0]) for i in result.ignored] == [
        ("crm/orders/2026-03-15", "folder cannot be listed")]


# -- bounded reading -----------------------------------------------------------------------
def test_gzip_bomb_is_refused_naming_the_file_with_memory_bounded(tmp_path: Path) -> None:
    gzip_of_zeros(tmp_path / DAY / "orders_bomb.csv.gz", 200 << 20)  # 200 MiB in ~200 KB: ratio ~1000
    lz = LandingZone(str(tmp_path))  # the defaults: refused after RATIO_FLOOR (64 MiB)
    (f,) = lz.find(ORDERS)
    assert f.size < 1 << 20
    tracemalloc.start()
    try:
        read = 0
        with pytest.raises(LandingError, match=rf"^{f.path}: unpacks to more than 64 MiB, over 100 times its "
                                               r"compressed size \([\d.]+ KiB\): refused as a likely decompression bomb"):
            for chunk in lz.chunks(f):
                read += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert 64 << 20 <= read + CHUNK and read <= 65 << 20
    assert peak < 12 * CHUNK, f"reading the bomb allocated {peak:,} bytes"


def test_gzip_limits_can_be_lowered_and_genuine_files_pass(tmp_path: Path) -> None:
    bomb = gzip_of_zeros(tmp_path / DAY / "orders_bomb.csv.gz", 8 << 20)
    lz = LandingZone(str(tmp_path), max_ratio=100, ratio_floor=1 << 20)
    (f,) = lz.find(ORDERS)
    with pytest.raises(LandingError, match="orders_bomb.csv.gz: unpacks to more than 1 MiB, over 100 times"):
        lz.open(f).read(CHUNK * 3)
    with pytest.raises(LandingError, match="orders_bomb.csv.gz: unpacks to more than 1 MiB, over 100 times"):
        list(lz.lines(f, 1 << 20))
    # the same file under a generous ratio, and a plain file of the same size, read in full
    assert sum(map(len, LandingZone(str(tmp_path), max_ratio=10_000, ratio_floor=1 << 20).chunks(f))) == 8 << 20
    bomb.unlink()
    put(tmp_path, f"{DAY}/orders_plain.csv", bytes(8 << 20))
    (plain,) = lz.find(ORDERS)
    assert [len(c) for c in lz.chunks(plain)] == [CHUNK] * 8  # CHUNK-sized pieces


def test_absolute_cap_applies_to_every_file(tmp_path: Path) -> None:
    put(tmp_path, f"{DAY}/orders_big.csv", bytes(3 << 20))
    gzip_of_zeros(tmp_path / DAY / "orders_big2.csv.gz", 3 << 20)
    lz = LandingZone(str(tmp_path), max_ratio=1e9, max_bytes=2 << 20)
    plain, gz = lz.find(ORDERS)
    with pytest.raises(LandingError, match=f"^{plain.path}: is larger than 2 MiB, the most the loader reads"):
        b"".join(lz.chunks(plain))
    with pytest.raises(LandingError, match=f"^{gz.path}: unpacks to more than 2 MiB, the most the loader reads"):
        b"".join(lz.chunks(gz))


def test_corrupt_gzip_is_an_os_error(tmp_path: Path) -> None:
    put(tmp_path, f"{DAY}/orders_1.csv.gz", gzip.compress(b"a,b\n1,2\n" * 1000)[:-20])
    lz = LandingZone(str(tmp_path))
    (f,) = lz.find(ORDERS)
    with pytest.raises((OSError, EOFError)):
        b"".join(lz.chunks(f))


# -- lines ---------------------------------------------------------------------------------
def lines_of(tmp_path: Path, data: bytes, max_line: int = 10, gz: bool = False) -> list[Line]:
    name = "orders_1.csv.gz" if gz else "orders_1.csv"
    put(tmp_path, f"{DAY}/{name}", gzip.compress(data) if gz else data)
    lz = LandingZone(str(tmp_path))
    (f,) = lz.find(ORDERS)
    return list(lz.lines(f, max_line))


def test_header_only_file_without_final_newline_reads(tmp_path: Path) -> None:
    assert lines_of(tmp_path, b"order_id,customer_id", max_line=1 << 20) == [Line(1, b"order_id,customer_id")]


@pytest.mark.parametrize("data, expected", [
    (b"", []),
    (b"\n", [Line(1, b"")]),
    (b"a\nb\n", [Line(1, b"a"), Line(2, b"b")]),
    (b"a\r\n\nb", [Line(1, b"a\r"), Line(2, b""), Line(3, b"b")]),
    (b"0123456789\n", [Line(1, b"0123456789")]),  # exactly max_line: not too long
    (b"0123456789X\nok\n", [Line(1, b"0123456789", True), Line(2, b"ok")]),
    (b"ok\n" + b"y" * 100, [Line(1, b"ok"), Line(2, b"y" * 10, True)]),
])
def test_lines_contract(tmp_path: Path, data: bytes, expected: list[Line]) -> None:
    assert lines_of(tmp_path, data) == expected
    (tmp_path / DAY / "orders_1.csv").unlink()
    assert lines_of(tmp_path, data, gz=True) == expected


def test_long_line_is_a_marker_and_never_held(tmp_path: Path) -> None:
    # one 48 MiB line (in a ~48 KB gzip), then a short one, across many chunk boundaries
    gzip_of_zeros(tmp_path / DAY / "orders_1.csv.gz", 48 << 20, tail=b"\nlast,line\n")
    lz = LandingZone(str(tmp_path))
    (f,) = lz.find(ORDERS)
    tracemalloc.start()
    try:
        got = [(n.number, len(n.data), n.too_long) for n in lz.lines(f, 1 << 20)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got == [(1, 1 << 20, True), (2, 9, False)]
    assert peak < 12 * CHUNK, f"a long line allocated {peak:,} bytes"


def test_lines_split_across_chunks_keep_their_numbers(tmp_path: Path) -> None:
    rows = [f"{i},{'x' * (i % 97)}".encode() for i in range(40_000)]  # > 2 chunks
    got = lines_of(tmp_path, b"\n".join(rows) + b"\n", max_line=200)
    assert [line.data for line in got] == rows
    assert [line.number for line in got] == list(range(1, 40_001))
    assert not any(line.too_long for line in got)


# -- telling an unchanged file without reading it -----------------------------------------
def test_the_listing_carries_size_and_mtime_locally_and_the_object_version_on_a_store(
        tmp_path: Path, mem: str) -> None:
    p = put(tmp_path, f"{DAY}/orders_1.csv", b"a,b\n")
    os.utime(p, ns=(0, 1_700_000_000_123_456_789))
    (f,) = LandingZone(str(tmp_path)).find(ORDERS)
    assert (f.size, f.mtime_ns, f.version) == (4, 1_700_000_000_123_456_789, None)
    assert LandingZone(str(tmp_path)).scan(ENTITIES).files["crm_orders"][0].mtime_ns == f.mtime_ns

    fs = fsspec.filesystem("memory")
    fs.pipe(f"{mem}/{DAY}/orders_1.csv", b"a,b\n")
    (m,) = LandingZone(f"memory://{mem}").find(ORDERS)
    assert m.mtime_ns is not None and m.version is None  # memory:// gives a creation time only
    # what object stores call them (s3fs, gcsfs, adlfs)
    assert landing._info_version({"ETag": '"9a0364b9e99bb480dd25e1f0284c8555"', "size": 1}) == (
        "ETag:9a0364b9e99bb480dd25e1f0284c8555")
    assert landing._info_version({"VersionId": "v7", "ETag": '"x"'}) == "VersionId:v7"
    assert landing._info_version({"generation": 1712, "etag": "CJ"}) == "generation:1712"
    assert landing._info_version({"size": 1}) is None
    assert landing._info_mtime_ns({"LastModified": datetime(2026, 3, 14, 1, 2, 3, 4, tzinfo=UTC)}) == (
        1773450123000004000)
    assert landing._info_mtime_ns({"updated": "2026-03-14T01:02:03.000004Z"}) == 1773450123000004000
    assert landing._info_mtime_ns({"mtime": 1773450123.5}) == 1773450123500000000
    assert landing._info_mtime_ns({"mtime": "yesterday"}) is None


def test_unchanged_needs_the_same_size_and_then_the_same_version_or_mtime() -> None:
    f = LandedFile(date(2026, 3, 14), f"{DAY}/orders_1.csv", 10, mtime_ns=5)
    assert unchanged(f, 10, 5, None)
    assert not unchanged(f, 11, 5, None)     # size
    assert not unchanged(f, 10, 6, None)     # modification time
    assert not unchanged(f, 10, None, None)  # recorded by a release without stamps, or too recent
    assert not unchanged(f, None, 5, None)
    s3 = LandedFile(date(2026, 3, 14), f"{DAY}/orders_1.csv", 10, mtime_ns=5, version="ETag:a")
    assert unchanged(s3, 10, 9, "ETag:a")    # the object's version decides where there is one
    assert not unchanged(s3, 10, 5, "ETag:b")
    assert not unchanged(s3, 10, 5, None)
    # LandedFile equality is the file's identity, not its stamp
    assert f == LandedFile(date(2026, 3, 14), f"{DAY}/orders_1.csv", 10)


def test_an_mtime_within_the_settle_time_of_the_read_is_not_trusted() -> None:
    read = 1_800_000_000 * 10**9
    old = LandedFile(date(2026, 3, 14), "x", 1, mtime_ns=read - int(landing.SETTLE_SECONDS * 1e9) - 1)
    fresh = LandedFile(date(2026, 3, 14), "x", 1, mtime_ns=read - int(landing.SETTLE_SECONDS * 1e9) + 1)
    future = LandedFile(date(2026, 3, 14), "x", 1, mtime_ns=read + 10**9)
    assert trusted_mtime(old, read) == old.mtime_ns
    assert trusted_mtime(fresh, read) is None and trusted_mtime(future, read) is None
    assert trusted_mtime(LandedFile(date(2026, 3, 14), "x", 1), read) is None
