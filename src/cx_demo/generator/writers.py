"""Daily files in the landing zone, with planted faults and the exact expected outcome.

Delivery rules (what a source system's nightly export does):

* a version lands in the file of its local (UTC+8) calendar day; versions from before the
  window land in the first file (the initial export);
* a key appears at most once per daily file: when it changed several times that day, the
  file holds the last version;
* a late-arriving record's first delivery is held back; everything that happened to it in
  the meantime arrives collapsed into that one delayed version.

Files are written as bytes so a fault can put exactly the bytes it wants on a line (GBK in
a UTF-8 file, a truncated JSON object). While writing, every planted fault is recorded with
the physical line its record starts on; afterwards the loader is simulated file by file to
get the exact number of rows that must be loaded, quarantined or counted as duplicates.

A world simulated in shards (see :mod:`cx_demo.generator.model`) appends each shard's rows
of a day to that day's file. What belongs to the file (whether it gets an extra column or a
re-delivery) is decided when it is opened; rows are spoiled by the shard's own random
generator. The loader is simulated shard by shard, which is exact because no key is in two
shards, so memory holds one shard's records, never the world's; the faults go to a spool
on disk until the truth is written.

The files hold (synthetic) personal data, written the way a real export must be: folders 0700
and files 0600 from the landing zone's root down, each file whole or not at all
(:mod:`cx_warehouse.files`).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

from cx_demo.generator.faults import (
    EXTRA_COLUMNS,
    INVALID_VALUES,
    QUARANTINE_KINDS,
    FaultRates,
    hostile_text,
)
from cx_demo.generator.model import DAY, Instance, format_ts
from cx_warehouse.files import PRIVATE_FILE_MODE, private_dir
from cx_warehouse.ingest.sources import Entity

ROW_KINDS = ("malformed_row", "bad_encoding", "missing_required", "invalid_value", "hostile_text", "duplicate_row")
"""Faults the writer plants per row (the model plants late_arrival, orphan_reference, email_case)."""

_UTC_PLATFORMS = ("x", "instagram")
_GBK_POOL = ("王芳", "上海市浦东新区", "质量很好，物流很快", "客服态度差", "张伟")
_LATIN1_POOL = ("Renée Müller", "Café crème", "São Paulo", "Zoë Brontë")
_BAD_PLACEHOLDER = "@@BAD-BYTES@@"


@dataclass(slots=True)
class Delivered:
    """One row as delivered in one daily file."""

    values: tuple[Any, ...]
    """In the order of the entity's columns: a fraction of the memory of the row dict it comes from."""
    key: tuple[Any, ...]
    version: int
    """The version timestamp (updated_at, or the business timestamp when there is none)."""
    fault: str | None = None
    days_late: int = 0


@dataclass(slots=True)
class Record:
    """What the loader will see for one data record (for the expectation simulation)."""

    key: tuple[Any, ...]
    version: int | None
    quarantined: bool


@dataclass
class WrittenFile:
    """One shard's rows of one file (the whole file in a world of one shard), for
    :func:`simulate_loads`."""

    path: str
    delivery_date: str
    records: list[Record]
    expected: dict[str, int] = field(default_factory=dict)


@dataclass
class DailyFile:
    """One daily file of one entity: its state while shards append to it, then its truth."""

    path: str
    source: str
    entity: str
    delivery_date: str
    staged: Path
    """Where the bytes collect (hidden, beside the file) until :meth:`FileWriter.finish`."""
    line: int
    """The physical line the next record starts on."""
    size: int
    extra: tuple[str, str] | None = None
    redelivery: str | None = None
    """The path of its re-delivered copy (in the next day's folder), when one is planted."""
    redelivery_date: str | None = None
    rows: int = 0
    bad_encodings: int = 0
    expected: Counter[str] = field(default_factory=Counter)
    redelivery_expected: Counter[str] = field(default_factory=Counter)
    fault_spans: list[tuple[int, int]] = field(default_factory=list)

    def truth(self, spool: FaultSpool, *, copy: bool = False) -> dict[str, Any]:
        """The file's entry in the ground truth, or (``copy``) its re-delivery's."""
        extra = [self.extra[0]] if self.extra else []
        file_faults = [{"line": None, "kind": "extra_column", "key": None, "column": self.extra[0]}] if self.extra else []
        if not copy:
            return {
                "path": self.path, "source": self.source, "entity": self.entity, "delivery_date": self.delivery_date,
                "rows": self.rows, "expected": _counts(self.expected),
                "faults": file_faults + spool.read(self.fault_spans), "extra_columns": extra,
            }
        return {
            "path": self.redelivery, "source": self.source, "entity": self.entity,
            "delivery_date": self.redelivery_date, "rows": self.rows, "expected": _counts(self.redelivery_expected),
            "faults": [{"line": None, "kind": "duplicate_delivery", "key": None, "original": self.path}] + file_faults,
            "extra_columns": extra, "duplicate_of": self.path,
        }


def _counts(c: Counter[str]) -> dict[str, int]:
    return {k: c[k] for k in ("loaded", "quarantined", "duplicate")}


class FaultSpool:
    """The planted faults of every file, on disk until the truth is written.

    A 1M-customer world plants over half a million faults; held as dicts until the end they
    would take hundreds of MB. Each shard's faults of a file are one JSON line; a file keeps
    the (offset, length) of its lines. The spool is an unnamed temporary file (0600).
    """

    def __init__(self, folder: Path | None = None) -> None:
        self._fh: IO[bytes] = tempfile.TemporaryFile(dir=folder)
        self._end = 0

    def append(self, faults: list[dict[str, Any]]) -> tuple[int, int]:
        data = json.dumps(faults, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
        self._fh.seek(self._end)
        self._fh.write(data)
        span = (self._end, len(data))
        self._end += len(data)
        return span

    def read(self, spans: list[tuple[int, int]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for offset, length in spans:
            self._fh.seek(offset)
            out.extend(json.loads(self._fh.read(length)))
        return out

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> FaultSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def plan_deliveries(instances: list[Instance], entity: Entity, *, start_ts: int, days: int) -> dict[int, list[Delivered]]:
    """Spread every instance's versions over the daily files (see the module docstring)."""
    by_day: dict[int, list[Delivered]] = {}
    versioned = entity.updated_at is not None
    names = entity.column_names
    for inst in instances:
        late_day = (inst.business_ts - start_ts) // DAY + inst.late_days if inst.late_days else -1
        chosen: dict[int, tuple[int, dict[str, Any]]] = {}
        for ts, row in inst.versions:
            day = max(0, (ts - start_ts) // DAY, late_day)
            chosen[day] = (ts, row)
        first = True
        for day in sorted(chosen):
            if day >= days:
                break
            ts, row = chosen[day]
            fault = inst.fault
            if fault == "late_arrival" and not first:
                fault = None
            by_day.setdefault(day, []).append(Delivered(
                tuple(map(row.get, names)), inst.key, ts if versioned else inst.business_ts, fault,
                inst.late_days if fault == "late_arrival" else 0))
            first = False
    for rows in by_day.values():
        rows.sort(key=lambda r: (r.version, r.key))
    return by_day


class FileWriter:
    """Writes one entity's daily files, planting faults from seeded generators.

    The first shard (a world's only one, up to the shard size) draws everything from the
    entity's generator, ``{seed}:faults:{source}.{entity}``, in the order of the days. A later
    shard spoils its rows with a generator of its own, and a file it is the first to open
    draws its file-level faults from one of the file's own, so no shard's dice depend on how
    the ones before it used theirs.
    """

    def __init__(self, landing: Path, entity: Entity, rates: FaultRates, seed: int, days: int,
                 start: date, spool: FaultSpool) -> None:
        self.landing = landing
        self.entity = entity
        self.full = f"{entity.source}.{entity.name}"
        self.rates = rates
        self._label = f"{seed}:faults:{self.full}"
        self._first_rng = random.Random(self._label)
        self.rng = self._first_rng
        self.shard = 0
        self.days = days
        self.start = start
        self.spool = spool
        self.cols = entity.columns
        self.names = entity.column_names
        self.pk = entity.primary_key
        self.required = [i for i, c in enumerate(self.cols) if c.required]
        self.typed = [i for i, c in enumerate(self.cols) if c.type != "text"]
        # hostile text goes where the source declares free text (kept verbatim by the loader)
        self.free_text = [i for i, c in enumerate(self.cols) if c.free_text]
        self.plain_text = [i for i, c in enumerate(self.cols) if c.type == "text" and c.name not in self.pk]
        self._platform = self.names.index("platform") if "platform" in self.names else None
        self._types = [c.type for c in self.cols]
        self.ext = "jsonl" if entity.format == "jsonl" else "csv"
        self.prefix = entity.pattern.split("{date}")[0]
        self.pattern = entity.file_regex
        self.files: dict[int, DailyFile] = {}
        self.fault_counts: Counter[str] = Counter()
        """Row faults planted so far; the file-level ones are counted from :attr:`files`."""
        self.distinct_keys = 0
        self._private_dirs: set[Path] = set()  # made private already: checked once, not per file

    # -- paths --------------------------------------------------------------------------
    def rel_path(self, delivery: date, name: str) -> str:
        rel = f"{self.prefix}{delivery.isoformat()}/{name}"
        if not self.pattern.match(rel):
            raise ValueError(f"{rel} does not match the pattern {self.entity.pattern}")
        return rel

    # -- values -------------------------------------------------------------------------
    def _utc(self, values: tuple[Any, ...]) -> bool:
        if self.entity.source == "survey":
            return True
        if self.entity.source == "social":
            return self._platform is not None and values[self._platform] in _UTC_PLATFORMS
        return False

    def _json(self, value: Any, typ: str, utc: bool) -> Any:
        if typ == "timestamptz" and isinstance(value, int) and not isinstance(value, bool):
            return format_ts(value, utc)
        if typ in ("integer", "bigint", "boolean"):
            return value
        return str(value)

    # -- one shard ----------------------------------------------------------------------
    def write_shard(self, index: int, plan: dict[int, list[Delivered]],
                    forced: dict[tuple[str, int], dict[int | str, str]] | None = None) -> int:
        """Append shard ``index``'s rows to the daily files and account for them; its row count.

        The expected loaded / quarantined / duplicate counts of each file grow by what the
        loader will do with this shard's rows, and :attr:`distinct_keys` by its keys. ``plan``
        is emptied day by day, so a day's rows are freed once they are written.
        """
        self.shard = index
        self.rng = self._first_rng if index == 0 else random.Random(f"{self._label}:shard:{index}")
        portions: list[WrittenFile] = []
        for day in sorted(plan):
            portions.extend(self.write_day(day, plan.pop(day), (forced or {}).get((self.full, day))))
        self.distinct_keys += simulate_loads(portions, versioned=self.entity.updated_at is not None)
        by_path = {f.path: f for f in self.files.values()}
        by_copy = {f.redelivery: f for f in self.files.values() if f.redelivery}
        rows = 0
        for p in portions:
            if p.path in by_path:
                by_path[p.path].expected.update(p.expected)
                rows += len(p.records)
            else:
                by_copy[p.path].redelivery_expected.update(p.expected)
        return rows

    # -- one daily file -----------------------------------------------------------------
    def write_day(self, day: int, rows: list[Delivered], forced: dict[int | str, str] | None = None) -> list[WrittenFile]:
        """Append rows to the file of window day ``day``; the records for the load simulation
        (a second set for the re-delivery, if one is planted).

        ``forced`` plants a fault regardless of the dice: row index -> row fault kind, and
        the keys ``"duplicate_delivery"`` / ``"extra_column"`` for the file kinds (which only
        take effect when this call opens the file).
        """
        rng = self.rng
        forced = forced or {}
        f = self.files.get(day)
        if f is None:
            f = self._open(day, forced)
        redeliver = f.redelivery is not None
        extra = f.extra

        # Decide each row's fault: at most one per row; none that quarantines in a file that
        # will be re-delivered (so every re-delivered row is a plain duplicate).
        kinds: list[str | None] = []
        bad_encodings = f.bad_encodings
        in_file = f.rows + len(rows)
        for i, r in enumerate(rows):
            kind = r.fault
            if kind is None:
                kind = self._draw_fault(allow_quarantine=not redeliver)
                if kind is None and i in forced and not (redeliver and forced[i] in QUARANTINE_KINDS):
                    kind = forced[i]
                if kind == "bad_encoding":
                    # The loader calls a file "not UTF-8" when most records are undecodable.
                    if bad_encodings + 1 > 1 and bad_encodings + 1 > 0.4 * in_file:
                        kind = None
                    else:
                        bad_encodings += 1
            kinds.append(kind)
        f.bad_encodings = bad_encodings
        copies_after: dict[int, list[int]] = {}
        for i, kind in enumerate(kinds):
            if kind == "duplicate_row":
                j = min(len(rows) - 1, i + rng.randint(1, 5))
                copies_after.setdefault(j, []).append(i)

        line = f.line
        chunks: list[bytes] = []
        records: list[Record] = []
        faults: list[dict[str, Any]] = []
        lines_of: dict[int, int] = {}
        for i, r in enumerate(rows):
            kind = kinds[i]
            data, column = self._render(r, kind if kind != "duplicate_row" else None, extra)
            lines_of[i] = line
            if kind is not None:
                entry: dict[str, Any] = {"line": line, "kind": kind, "key": dict(zip(self.pk, r.key, strict=True))}
                if column:
                    entry["column"] = column
                if kind == "late_arrival":
                    entry["days_late"] = r.days_late
                if kind != "duplicate_row":
                    faults.append(entry)
            chunks.append(data)
            records.append(Record(r.key, r.version, kind in QUARANTINE_KINDS))
            line += data.count(b"\n")
            for src in copies_after.get(i, ()):
                copy, _ = self._render(rows[src], None, extra)
                faults.append({"line": line, "kind": "duplicate_row", "key": dict(zip(self.pk, rows[src].key, strict=True)),
                               "copy_of_line": lines_of[src]})
                chunks.append(copy)
                records.append(Record(rows[src].key, rows[src].version, False))
                line += copy.count(b"\n")
        content = b"".join(chunks)
        with f.staged.open("ab") as fh:
            fh.write(content)
        f.line = line
        f.size += len(content)
        f.rows += len(records)
        if faults:
            f.fault_spans.append(self.spool.append(faults))
            self.fault_counts.update(x["kind"] for x in faults)
        out = [WrittenFile(f.path, f.delivery_date, records)]
        if f.redelivery and f.redelivery_date:
            out.append(WrittenFile(f.redelivery, f.redelivery_date,
                                   [Record(x.key, x.version, x.quarantined) for x in records]))
        return out

    def _open(self, day: int, forced: dict[int | str, str]) -> DailyFile:
        """Start the file of ``day``: decide its file-level faults, write its header."""
        rng = self.rng if self.shard == 0 else random.Random(f"{self._label}:day:{day}")
        delivery = self.start + timedelta(days=day)
        stamp = delivery.strftime("%Y%m%d")
        redeliver = rng.random() < self.rates.duplicate_delivery or "duplicate_delivery" in forced
        redeliver = redeliver and day + 1 < self.days
        extra: tuple[str, str] | None = None
        if rng.random() < self.rates.extra_column or "extra_column" in forced:
            name, fmt = rng.choice(EXTRA_COLUMNS)
            extra = (name, fmt.format(n=rng.randrange(1, 999_999)) if "{n" in fmt else fmt)
        rel = self.rel_path(delivery, f"{self.entity.name}_{stamp}.{self.ext}")
        header = b""
        if self.ext == "csv":
            header = (",".join(list(self.names) + ([extra[0]] if extra else [])) + "\n").encode("utf-8")
        f = DailyFile(rel, self.entity.source, self.entity.name, delivery.isoformat(), self._stage(rel, header),
                      line=2 if self.ext == "csv" else 1, size=len(header), extra=extra)
        if redeliver:
            next_day = delivery + timedelta(days=1)
            f.redelivery = self.rel_path(next_day, f"{self.entity.name}_{stamp}_redelivery.{self.ext}")
            f.redelivery_date = next_day.isoformat()
        self.files[day] = f
        return f

    def _folder(self, rel: str) -> Path:
        path = self.landing / rel
        if path.parent not in self._private_dirs:
            private_dir(path.parent, root=self.landing)
            self._private_dirs.add(path.parent)
        return path

    def _stage(self, rel: str, header: bytes) -> Path:
        """A hidden file beside ``rel`` that collects its bytes (never loaded: see write_private)."""
        path = self._folder(rel)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(header)
        return Path(tmp)

    def finish(self) -> None:
        """Put every file in place, whole (0600), and its re-delivery beside the next day's files."""
        for f in self.files.values():
            os.chmod(f.staged, PRIVATE_FILE_MODE)
            os.replace(f.staged, self.landing / f.path)
            if f.redelivery:
                copy = self._stage(f.redelivery, b"")
                with (self.landing / f.path).open("rb") as src, copy.open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                os.chmod(copy, PRIVATE_FILE_MODE)
                os.replace(copy, self.landing / f.redelivery)

    def discard(self) -> None:
        """Remove the files still being assembled (after a failure: no half-written files stay)."""
        for f in self.files.values():
            f.staged.unlink(missing_ok=True)

    def truth(self) -> dict[str, int]:
        """The entity's totals over all its files (re-deliveries included), as the truth holds them."""
        copies = [(f, f.expected) for f in self.files.values()]
        copies += [(f, f.redelivery_expected) for f in self.files.values() if f.redelivery]
        return {
            "files": len(copies),
            "rows": sum(f.rows for f, _ in copies),
            "loaded": sum(e["loaded"] for _, e in copies),
            "quarantined": sum(e["quarantined"] for _, e in copies),
            "duplicate": sum(e["duplicate"] for _, e in copies),
            "distinct_keys": self.distinct_keys,
        }

    def all_fault_counts(self) -> Counter[str]:
        """Every fault in this entity's files, as the truth lists them (re-deliveries included)."""
        counts = Counter(self.fault_counts)
        for f in self.files.values():
            copies = 2 if f.redelivery else 1
            if f.extra:
                counts["extra_column"] += copies
            if f.redelivery:
                counts["duplicate_delivery"] += 1
        return counts

    def can_plant(self, kind: str) -> bool:
        """Whether this entity has a column the row fault ``kind`` can be planted in."""
        if kind == "hostile_text":
            return bool(self.free_text)
        if kind == "invalid_value":
            return bool(self.typed)
        if kind == "bad_encoding":
            return bool(self.plain_text)
        return True

    def _draw_fault(self, allow_quarantine: bool) -> str | None:
        u = self.rng.random()
        for kind in ROW_KINDS:
            rate = getattr(self.rates, kind)
            if u < rate:
                if kind in QUARANTINE_KINDS and not allow_quarantine:
                    return None
                return kind if self.can_plant(kind) else None
            u -= rate
        return None

    def _render(self, r: Delivered, kind: str | None, extra: tuple[str, str] | None) -> tuple[bytes, str | None]:
        """Bytes of one record with fault ``kind`` applied; also the column it damaged."""
        if self.ext == "csv":
            return self._render_csv(r, kind, extra)
        return self._render_json(r, kind, extra)

    def _choose(self, kind: str, values: list[Any]) -> int:
        rng = self.rng
        if kind == "missing_required":
            return rng.choice(self.required)
        if kind == "invalid_value":
            return rng.choice(self.typed)
        if kind == "hostile_text":
            return rng.choice(self.free_text)
        # bad_encoding: prefer free text, then any non-empty text column
        filled = [i for i in self.free_text if values[i] not in (None, "")]
        filled = filled or [i for i in self.plain_text if values[i] not in (None, "")] or self.plain_text
        return rng.choice(filled)

    def _render_csv(self, r: Delivered, kind: str | None, extra: tuple[str, str] | None) -> tuple[bytes, str | None]:
        utc = self._utc(r.values)
        # a value as CSV text (inline: this runs once per field of every row)
        fields = ["" if v is None
                  else format_ts(v, utc) if t == "timestamptz" and isinstance(v, int)
                  else ("true" if v else "false") if t == "boolean" or isinstance(v, bool)
                  else str(v)
                  for v, t in zip(r.values, self._types, strict=True)]
        if extra:
            fields.append(extra[1])
        column = None
        bad: tuple[int, bytes] | None = None
        if kind in ("missing_required", "invalid_value", "hostile_text", "bad_encoding"):
            i = self._choose(kind, fields)
            column = self.names[i]
            if kind == "missing_required":
                fields[i] = ""
            elif kind == "invalid_value":
                fields[i] = self.rng.choice(INVALID_VALUES[self.cols[i].type])
            elif kind == "hostile_text":
                fields[i] = hostile_text(self.rng)
            else:
                bad = (i, _bad_bytes(fields[i], self.rng, csv=True))
        quoted = [_quote(f) for f in fields]
        if kind == "malformed_row":
            if self.rng.random() < 0.6 and len(quoted) > 2:
                quoted = quoted[: len(quoted) - self.rng.randint(1, min(3, len(quoted) - 2))]
            else:
                quoted += ["unexpected"] * self.rng.randint(1, 2)
        if bad is None:
            return (",".join(quoted) + "\n").encode("utf-8"), column
        parts = [q.encode("utf-8") if j != bad[0] else bad[1] for j, q in enumerate(quoted)]
        return b",".join(parts) + b"\n", column

    def _render_json(self, r: Delivered, kind: str | None, extra: tuple[str, str] | None) -> tuple[bytes, str | None]:
        utc = self._utc(r.values)
        obj: dict[str, Any] = {}
        for v, c in zip(r.values, self.cols, strict=True):
            if v is not None:
                _put(obj, c.path, self._json(v, c.type, utc))
        if extra:
            obj[extra[0]] = extra[1]
        column = None
        bad = None
        if kind in ("missing_required", "invalid_value", "hostile_text", "bad_encoding"):
            values = [_get(obj, c.path) for c in self.cols]
            i = self._choose(kind, values)
            column = self.names[i]
            path = self.cols[i].path
            if kind == "missing_required":
                _drop(obj, path)
            elif kind == "invalid_value":
                _put(obj, path, self.rng.choice(INVALID_VALUES[self.cols[i].type]))
            elif kind == "hostile_text":
                _put(obj, path, hostile_text(self.rng))
            else:
                bad = _bad_bytes(values[i], self.rng, csv=False)
                _put(obj, path, _BAD_PLACEHOLDER)
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        if kind == "malformed_row":
            cut = self.rng.randint(max(2, len(text) // 3), len(text) - 2)
            text = text[:cut]
            try:
                json.loads(text)
            except ValueError:
                pass
            else:  # pragma: no cover - a prefix of an object is never a complete object
                text += "}}"
        data = text.encode("utf-8")
        if bad is not None:
            data = data.replace(_BAD_PLACEHOLDER.encode(), bad, 1)
        return data + b"\n", column


def _quote(value: str) -> str:
    """Minimal CSV quoting, as the csv module does it."""
    if '"' in value or "," in value or "\n" in value or "\r" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def _bad_bytes(value: Any, rng: random.Random, *, csv: bool) -> bytes:
    """The text encoded as GBK or latin-1: bytes that are not valid UTF-8.

    The bytes must not contain anything that changes the record's structure (quote,
    comma, newline, backslash), so only the encoding is wrong.
    """
    forbidden = b'",\n\r\\'
    candidates = [str(value)] if value not in (None, "") else []
    candidates += [rng.choice(_GBK_POOL), rng.choice(_LATIN1_POOL)]
    for cand in candidates:
        for enc in ("gbk", "latin-1"):
            try:
                raw = cand.encode(enc)
            except UnicodeEncodeError:
                continue
            if any(b in forbidden for b in raw):
                continue
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return raw
    return "王芳".encode("gbk")


def _put(obj: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    d = obj
    for p in path[:-1]:
        nxt = d.get(p)
        if not isinstance(nxt, dict):
            nxt = {}
            d[p] = nxt
        d = nxt
    d[path[-1]] = value


def _get(obj: dict[str, Any], path: tuple[str, ...]) -> Any:
    d: Any = obj
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


def _drop(obj: dict[str, Any], path: tuple[str, ...]) -> None:
    d: Any = obj
    for p in path[:-1]:
        d = d.get(p) if isinstance(d, dict) else None
        if d is None:
            return
    if isinstance(d, dict):
        d.pop(path[-1], None)


def simulate_loads(files: list[WrittenFile], versioned: bool) -> int:
    """Fill in each file's expected counts by replaying the loader; return distinct keys.

    Files load in (delivery date, file name) order. A non-quarantined row loads when its key
    is new, or (entities with ``updated_at``) when its version is strictly newer than the
    loaded one; otherwise it is a duplicate. Within a file the same rule applies row by row.
    """
    loaded: dict[tuple[Any, ...], int | None] = {}
    for f in sorted(files, key=lambda f: (f.delivery_date, f.path.rsplit("/", 1)[-1])):
        counts = {"loaded": 0, "quarantined": 0, "duplicate": 0}
        for rec in f.records:
            if rec.quarantined:
                counts["quarantined"] += 1
                continue
            if rec.key not in loaded:
                loaded[rec.key] = rec.version
                counts["loaded"] += 1
            elif versioned and rec.version is not None and rec.version > (loaded[rec.key] or 0):
                loaded[rec.key] = rec.version
                counts["loaded"] += 1
            else:
                counts["duplicate"] += 1
        f.expected = counts
    return len(loaded)
