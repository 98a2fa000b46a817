"""One large orders CSV for load benchmarks, streamed so memory stays flat.

The behaviour model is far too slow for millions of rows and irrelevant to a throughput
test; this writer only needs realistic-looking orders with the row-level faults a loader
must handle (missing required values, unparseable values, duplicate rows), in known
numbers so the benchmark can assert the loader's accounting.
"""

from __future__ import annotations

import calendar
import random
import time
from datetime import date
from pathlib import Path
from typing import Any

from cx_demo.generator.faults import INVALID_VALUES, FaultRates
from cx_demo.generator.model import DAY, LOCAL_OFFSET, format_ts
from cx_demo.generator.writers import _quote
from cx_warehouse.ingest.sources import Entity, get_source

_CHUNK_ROWS = 20_000
_CANONICAL = ("order_id", "customer_id", "ordered_at", "channel", "store_id", "status", "currency", "order_total",
              "discount_total", "updated_at")
"""The orders columns this writer knows; a reordered or extended config is still honoured."""


def write_bulk_orders(path: Path, rows: int, *, seed: int = 7, faults: FaultRates | None = None,
                      entity: Entity | None = None, customers: int = 200_000) -> dict[str, Any]:
    """Write one orders CSV with ``rows`` data records (duplicate copies included).

    Only ``missing_required``, ``invalid_value`` and ``duplicate_row`` of ``faults`` apply
    (defaults: :class:`FaultRates` defaults). Returns what was planted and what a loader
    must report: ``{"path", "rows", "bytes", "faults": {kind: n},
    "expected": {"loaded", "quarantined", "duplicate"}, "distinct_keys", "seconds"}``.
    """
    t0 = time.perf_counter()
    rates = faults if faults is not None else FaultRates()
    entity = entity or get_source("crm").entity("orders")
    names = list(entity.column_names)
    required = [i for i, c in enumerate(entity.columns) if c.required]
    typed = [i for i, c in enumerate(entity.columns) if c.type != "text"]
    types = [c.type for c in entity.columns]
    rng = random.Random(f"bulk-orders:{seed}")
    start_ts = calendar.timegm(date(2025, 1, 1).timetuple()) - LOCAL_OFFSET
    span = 365 * DAY
    channels = ("web", "app", "app", "store", "web", "phone")
    stores = tuple(f"ST-{c}-0{n}" for c in ("SH", "BJ", "GZ", "SZ", "HZ", "CD") for n in (1, 2))
    p_missing, p_invalid, p_dup = rates.missing_required, rates.invalid_value, rates.duplicate_row
    counts = {"missing_required": 0, "invalid_value": 0, "duplicate_row": 0}
    pending: dict[int, list[str]] = {}
    written = 0
    originals = 0
    size = 0
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    canonical = names == list(_CANONICAL)
    rand = rng.random
    # Rows are assembled from pools of pre-formatted pieces: formatting each value per row
    # would make the writer several times slower, and a benchmark needs volume, not variety.
    customer_pool = [f"C{100_001 + n:06d}" for n in range(customers)]
    middle_pool = []
    for n in range(1_000):
        channel = channels[n % 6]
        store = stores[(n // 6) % 12] if channel == "store" else ""
        status = "paid" if n % 100 < 95 else "refunded" if n % 100 < 98 else "cancelled"
        middle_pool.append(f"{channel},{store},{status},CNY")
    rng.shuffle(middle_pool)
    money_pool = []
    for _ in range(20_000):
        total = 1_900 + int(rand() * 298_100)
        disc = total // 10 if rand() < 0.3 else 0
        money_pool.append(f"{total // 100}.{total % 100:02d},{disc // 100}.{disc % 100:02d}")
    time_pool = [f"{m:02d}:{sec:02d}+08:00" for m in range(60) for sec in range(60)]
    n_customers, n_middle, n_money = len(customer_pool), len(middle_pool), len(money_pool)
    hour_key, hour_prefix = -1, ""
    step = span / max(rows, 1)
    with path.open("wb", buffering=1 << 20) as fh:
        header = (",".join(names) + "\n").encode("utf-8")
        fh.write(header)
        size += len(header)
        buf: list[str] = []
        while written < rows:
            i = originals
            originals += 1
            ts = start_ts + int(i * step + rand() * 600)
            hour, secs = divmod(ts, 3600)
            if hour != hour_key:  # consecutive rows share the hour: format its prefix once
                hour_key = hour
                hour_prefix = format_ts(hour * 3600, False)[:14]
            stamp = hour_prefix + time_pool[secs]
            line = (f"BO{i:010d},{customer_pool[int(rand() * n_customers)]},{stamp},"
                    f"{middle_pool[int(rand() * n_middle)]},{money_pool[int(rand() * n_money)]},{stamp}\n")
            if not canonical:
                by_name = dict(zip(_CANONICAL, line[:-1].split(","), strict=True))
                line = ",".join(by_name.get(n, "") for n in names) + "\n"
            u = rand()
            if u < p_missing + p_invalid:
                values = line[:-1].split(",")
                if u < p_missing:
                    values[rng.choice(required)] = ""
                    counts["missing_required"] += 1
                else:
                    j = rng.choice(typed)
                    values[j] = _quote(rng.choice(INVALID_VALUES[types[j]]))
                    counts["invalid_value"] += 1
                line = ",".join(values) + "\n"
            buf.append(line)
            written += 1
            if p_missing + p_invalid <= u < p_missing + p_invalid + p_dup:
                pending.setdefault(i + rng.randint(1, 5), []).append(line)
            if pending:
                for copy in pending.pop(i, ()):
                    if written < rows:
                        buf.append(copy)
                        written += 1
                        counts["duplicate_row"] += 1
            if len(buf) >= _CHUNK_ROWS:
                data = "".join(buf).encode("utf-8")
                fh.write(data)
                size += len(data)
                buf.clear()
        if buf:
            data = "".join(buf).encode("utf-8")
            fh.write(data)
            size += len(data)
    quarantined = counts["missing_required"] + counts["invalid_value"]
    return {
        "path": str(path),
        "rows": written,
        "bytes": size,
        "faults": counts,
        "expected": {"loaded": originals - quarantined, "quarantined": quarantined, "duplicate": counts["duplicate_row"]},
        "distinct_keys": originals - quarantined,
        "seconds": round(time.perf_counter() - t0, 3),
    }
