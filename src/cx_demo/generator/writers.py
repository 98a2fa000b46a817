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

The files hold (synthetic) personal data, written the way a real export must be: folders 0700
and files 0600 from the landing zone's root down, each file whole or not at all
(:mod:`cx_warehouse.files`).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from cx_demo.generator.faults import (
    EXTRA_COLUMNS,
    INVALID_VALUES,
    QUARANTINE_KINDS,
    FaultRates,
    hostile_text,
)
from cx_demo.generator.model import DAY, Instance, format_ts
from cx_warehouse.files import private_dir, write_private
from cx_warehouse.ingest.sources import Entity

ROW_KINDS = ("malformed_row", "bad_encoding", "missing_required", "invalid_value", "hostile_text", "duplicate_row")
"""Faults the writer plants per row (the model plants late_arrival, orphan_reference, email_case)."""

_UTC_PLATFORMS = ("x", "instagram")
_GBK_POOL = ("王芳", "上海市浦东新区", "质量很好，物流很快", "客服态度差", "张伟")
_LATIN1_POOL = ("Renée Müller", "Café crème", "São Paulo", "Zoë Brontë")
_BAD_PLACEHOLDER = "@@BAD-BYTES@@"


@dataclass
class Delivered:
    """One row as delivered in one daily file."""

    values: dict[str, Any]
    key: tuple[Any, ...]
    version: int
    """The version timestamp (updated_at, or the business timestamp when there is none)."""
    fault: str | None = None
    days_late: int = 0


@dataclass
class Record:
    """What the loader will see for one data record (for the expectation simulation)."""

    key: tuple[Any, ...]
    version: int | None
    quarantined: bool


@dataclass
class WrittenFile:
    path: str
    source: str
    entity: str
    delivery_date: str
    records: list[Record]
    faults: list[dict[str, Any]]
    extra_columns: list[str] = field(default_factory=list)
    duplicate_of: str | None = None
    size: int = 0
    expected: dict[str, int] = field(default_factory=dict)

    def truth(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path, "source": self.source, "entity": self.entity,
            "delivery_date": self.delivery_date, "rows": len(self.records), "expected": self.expected,
            "faults": self.faults, "extra_columns": self.extra_columns,
        }
        if self.duplicate_of:
            out["duplicate_of"] = self.duplicate_of
        return out


def plan_deliveries(instances: list[Instance], entity: Entity, *, start_ts: int, days: int) -> dict[int, list[Delivered]]:
    """Spread every instance's versions over the daily files (see the module docstring)."""
    by_day: dict[int, list[Delivered]] = {}
    versioned = entity.updated_at is not None
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
                row, inst.key, ts if versioned else inst.business_ts, fault,
                inst.late_days if fault == "late_arrival" else 0))
            first = False
    for rows in by_day.values():
        rows.sort(key=lambda r: (r.version, r.key))
    return by_day


class FileWriter:
    """Writes one entity's daily files, planting faults from one seeded generator."""

    def __init__(self, landing: Path, entity: Entity, rates: FaultRates, rng: random.Random, days: int,
                 start: date) -> None:
        self.landing = landing
        self.entity = entity
        self.full = f"{entity.source}.{entity.name}"
        self.rates = rates
        self.rng = rng
        self.days = days
        self.start = start
        self.cols = entity.columns
        self.names = entity.column_names
        self.pk = entity.primary_key
        self.required = [i for i, c in enumerate(self.cols) if c.required]
        self.typed = [i for i, c in enumerate(self.cols) if c.type != "text"]
        # hostile text goes where the source declares free text (kept verbatim by the loader)
        self.free_text = [i for i, c in enumerate(self.cols) if c.free_text]
        self.plain_text = [i for i, c in enumerate(self.cols) if c.type == "text" and c.name not in self.pk]
        self.ext = "jsonl" if entity.format == "jsonl" else "csv"
        self.prefix = entity.pattern.split("{date}")[0]
        self.pattern = entity.file_regex
        self._private_dirs: set[Path] = set()  # made private already: checked once, not per file

    # -- paths --------------------------------------------------------------------------
    def rel_path(self, delivery: date, name: str) -> str:
        rel = f"{self.prefix}{delivery.isoformat()}/{name}"
        if not self.pattern.match(rel):
            raise ValueError(f"{rel} does not match the pattern {self.entity.pattern}")
        return rel

    # -- values -------------------------------------------------------------------------
    def _utc(self, values: dict[str, Any]) -> bool:
        if self.entity.source == "survey":
            return True
        if self.entity.source == "social":
            return values.get("platform") in _UTC_PLATFORMS
        return False

    def _text(self, value: Any, typ: str, utc: bool) -> str:
        if value is None:
            return ""
        if typ == "timestamptz" and isinstance(value, int):
            return format_ts(value, utc)
        if typ == "boolean" or isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def _json(self, value: Any, typ: str, utc: bool) -> Any:
        if typ == "timestamptz" and isinstance(value, int) and not isinstance(value, bool):
            return format_ts(value, utc)
        if typ in ("integer", "bigint", "boolean"):
            return value
        return str(value)

    # -- one daily file -----------------------------------------------------------------
    def write_day(self, day: int, rows: list[Delivered], forced: dict[int | str, str] | None = None) -> list[WrittenFile]:
        """Write the file of window day ``day`` (and its re-delivery, if one is planted).

        ``forced`` plants a fault regardless of the dice: row index -> row fault kind, and
        the keys ``"duplicate_delivery"`` / ``"extra_column"`` for the file kinds.
        """
        rng = self.rng
        forced = forced or {}
        delivery = self.start + timedelta(days=day)
        stamp = delivery.strftime("%Y%m%d")
        redeliver = rng.random() < self.rates.duplicate_delivery or "duplicate_delivery" in forced
        redeliver = redeliver and day + 1 < self.days
        extra: tuple[str, str] | None = None
        if rng.random() < self.rates.extra_column or "extra_column" in forced:
            name, fmt = rng.choice(EXTRA_COLUMNS)
            extra = (name, fmt.format(n=rng.randrange(1, 999_999)) if "{n" in fmt else fmt)

        # Decide each row's fault: at most one per row; none that quarantines in a file that
        # will be re-delivered (so every re-delivered row is a plain duplicate).
        kinds: list[str | None] = []
        bad_encodings = 0
        for i, r in enumerate(rows):
            kind = r.fault
            if kind is None:
                kind = self._draw_fault(allow_quarantine=not redeliver)
                if kind is None and i in forced and not (redeliver and forced[i] in QUARANTINE_KINDS):
                    kind = forced[i]
                if kind == "bad_encoding":
                    # The loader calls a file "not UTF-8" when most records are undecodable.
                    if bad_encodings + 1 > 1 and bad_encodings + 1 > 0.4 * len(rows):
                        kind = None
                    else:
                        bad_encodings += 1
            kinds.append(kind)
        copies_after: dict[int, list[int]] = {}
        for i, kind in enumerate(kinds):
            if kind == "duplicate_row":
                j = min(len(rows) - 1, i + rng.randint(1, 5))
                copies_after.setdefault(j, []).append(i)

        line = 2 if self.ext == "csv" else 1
        chunks: list[bytes] = []
        if self.ext == "csv":
            header = list(self.names) + ([extra[0]] if extra else [])
            chunks.append((",".join(header) + "\n").encode("utf-8"))
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
        name = f"{self.entity.name}_{stamp}.{self.ext}"
        rel = self.rel_path(delivery, name)
        file_faults = []
        if extra:
            file_faults.append({"line": None, "kind": "extra_column", "key": None, "column": extra[0]})
        out = [WrittenFile(rel, self.entity.source, self.entity.name, delivery.isoformat(), records,
                           file_faults + faults, [extra[0]] if extra else [], size=len(content))]
        self._write(rel, content)
        if redeliver:
            next_day = delivery + timedelta(days=1)
            rel2 = self.rel_path(next_day, f"{self.entity.name}_{stamp}_redelivery.{self.ext}")
            self._write(rel2, content)
            copy_faults = [{"line": None, "kind": "duplicate_delivery", "key": None, "original": rel}]
            if extra:
                copy_faults.append(dict(file_faults[0]))
            out.append(WrittenFile(rel2, self.entity.source, self.entity.name, next_day.isoformat(),
                                   [Record(x.key, x.version, x.quarantined) for x in records], copy_faults,
                                   [extra[0]] if extra else [], duplicate_of=rel, size=len(content)))
        return out

    def _write(self, rel: str, content: bytes) -> None:
        path = self.landing / rel
        if path.parent not in self._private_dirs:
            private_dir(path.parent, root=self.landing)
            self._private_dirs.add(path.parent)
        write_private(path, content)

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
        fields = [self._text(r.values.get(c.name), c.type, utc) for c in self.cols]
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
        for c in self.cols:
            v = r.values.get(c.name)
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
