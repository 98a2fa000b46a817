"""``generate``: simulate the world, deliver it as daily files, write the ground truth."""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from cx_demo.generator.faults import ALL_KINDS, FaultRates
from cx_demo.generator.model import World
from cx_demo.generator.writers import (
    ROW_KINDS,
    Delivered,
    FileWriter,
    WrittenFile,
    plan_deliveries,
    simulate_loads,
)
from cx_warehouse.files import write_private
from cx_warehouse.ingest.sources import Entity, Source, load_sources

TRUTH_VERSION = 1


class GeneratorError(ValueError):
    """The generator cannot produce what the source configuration declares."""


@dataclass
class GenerationSummary:
    """What one :func:`generate` call wrote (also in the ground-truth file)."""

    landing: Path
    truth_path: Path
    files: int
    rows: int
    bytes: int
    entities: dict[str, dict[str, int]]
    fault_counts: dict[str, int]
    seconds: float
    skipped_entities: list[str] = field(default_factory=list)


def generate(
    landing: Path,
    truth_path: Path,
    *,
    customers: int = 3000,
    days: int = 365,
    start: date = date(2025, 11, 1),
    seed: int = 42,
    faults: FaultRates | None = None,
    progress: Callable[[str], None] | None = None,
    sources: dict[str, Source] | None = None,
) -> GenerationSummary:
    """Write ``days`` days of CRM, survey and social files into ``landing``, plus the truth.

    The same arguments always give byte-identical files. ``sources`` defaults to the
    project's source configuration, which decides file locations, column names and order.
    Entities the model does not know are skipped (listed in the summary); a required
    column the model cannot fill is an error, because every row would be quarantined.
    """
    t0 = time.perf_counter()
    rates = faults if faults is not None else FaultRates()
    say = progress or (lambda _msg: None)
    landing = Path(landing)
    truth_path = Path(truth_path)
    sources = sources if sources is not None else load_sources()

    world = World(customers=customers, days=days, start=start, seed=seed, faults=rates)
    say(f"simulating {customers} customers over {days} days from {start.isoformat()}")
    world.run(say)
    instances = world.instances()

    entities: list[Entity] = [e for name in sorted(sources) for e in sources[name].entities]
    known = [e for e in entities if f"{e.source}.{e.name}" in instances]
    skipped = [f"{e.source}.{e.name}" for e in entities if f"{e.source}.{e.name}" not in instances]
    for e in known:
        _check_columns(e, instances[f"{e.source}.{e.name}"])
    if skipped:
        say(f"no model for {', '.join(skipped)}: no files written for them")

    plans = {
        f"{e.source}.{e.name}": plan_deliveries(instances[f"{e.source}.{e.name}"], e, start_ts=world.start_ts, days=days)
        for e in known
    }
    writers = {
        f"{e.source}.{e.name}": FileWriter(landing, e, rates, random.Random(f"{seed}:faults:{e.source}.{e.name}"),
                                          days, start)
        for e in known
    }
    forced = _forced_faults(plans, writers, rates, random.Random(f"{seed}:forced"), days)
    written: dict[str, list[WrittenFile]] = {name: [] for name in writers}
    month_files = 0
    for day in range(days):
        for name, writer in writers.items():
            rows = plans[name].get(day)
            if rows:
                files = writer.write_day(day, rows, forced.get((name, day)))
                written[name].extend(files)
                month_files += len(files)
        today = start + timedelta(days=day)
        if (today + timedelta(days=1)).day == 1 or day == days - 1:
            say(f"wrote {today:%Y-%m}: {month_files} files")
            month_files = 0

    entity_truth: dict[str, dict[str, int]] = {}
    all_files: list[WrittenFile] = []
    for e in known:
        name = f"{e.source}.{e.name}"
        files = written[name]
        distinct = simulate_loads(files, versioned=e.updated_at is not None)
        entity_truth[name] = {
            "files": len(files),
            "rows": sum(len(f.records) for f in files),
            "loaded": sum(f.expected["loaded"] for f in files),
            "quarantined": sum(f.expected["quarantined"] for f in files),
            "duplicate": sum(f.expected["duplicate"] for f in files),
            "distinct_keys": distinct,
        }
        all_files.extend(files)
    all_files.sort(key=lambda f: f.path)
    fault_counts = Counter(fault["kind"] for f in all_files for fault in f.faults)
    counts = {k: int(fault_counts.get(k, 0)) for k in ALL_KINDS}
    truth: dict[str, Any] = {
        "version": TRUTH_VERSION,
        "params": {"customers": customers, "days": days, "start": start.isoformat(), "seed": seed,
                   "faults": rates.as_dict()},
        "files": [f.truth() for f in all_files],
        "entities": entity_truth,
        "fault_counts": counts,
        # the behaviour each customer was simulated with, so marts can be checked against it
        # (e.g. churn risk separates "churning" from "loyal" customers)
        "customers": {c.customer_id: c.archetype for c in world.customers},
    }
    # The ground truth names every customer: private like the landing files. Its folder is only
    # created private, never tightened: it is usually CX_HOME, which the embedded server's own
    # user must still traverse to reach pgdata.
    write_private(truth_path, (json.dumps(truth, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
    summary = GenerationSummary(
        landing=landing, truth_path=truth_path, files=len(all_files),
        rows=sum(len(f.records) for f in all_files), bytes=sum(f.size for f in all_files),
        entities=entity_truth, fault_counts=counts, seconds=round(time.perf_counter() - t0, 3),
        skipped_entities=skipped,
    )
    say(f"done: {summary.files} files, {summary.rows} rows in {summary.seconds:.1f}s")
    return summary


def _forced_faults(plans: dict[str, dict[int, list[Delivered]]], writers: dict[str, FileWriter], rates: FaultRates,
                   rng: random.Random, days: int) -> dict[tuple[str, int], dict[int | str, str]]:
    """One planted instance of every writer-level fault kind whose rate is not zero.

    Rates alone leave small data sets (tests, quick demos) without some kinds; every kind
    that is switched on should be there for the checks to prove themselves on.
    Returns (entity, day) -> {row index or file kind: kind}.
    """
    forced: dict[tuple[str, int], dict[int | str, str]] = {}
    names = sorted(n for n in plans if plans[n])
    redelivered: set[tuple[str, int]] = set()
    for kind in ("duplicate_delivery", "extra_column"):
        if getattr(rates, kind) <= 0 or not names:
            continue
        name = rng.choice(names)
        options = sorted(d for d in plans[name] if kind != "duplicate_delivery" or d + 1 < days)
        if options:
            day = rng.choice(options)
            forced.setdefault((name, day), {})[kind] = kind
            if kind == "duplicate_delivery":
                redelivered.add((name, day))
    for kind in ROW_KINDS:
        if getattr(rates, kind) <= 0:
            continue
        eligible = [n for n in names if writers[n].can_plant(kind)]
        if not eligible:
            continue
        name = rng.choice(eligible)
        options = sorted(d for d in plans[name] if (name, d) not in redelivered)
        if not options:
            continue
        day = rng.choice(options)
        taken = forced.setdefault((name, day), {})
        free = [i for i, r in enumerate(plans[name][day]) if r.fault is None and i not in taken]
        if free:
            taken[rng.choice(free)] = kind
    return forced


def _check_columns(entity: Entity, instances: list[Any]) -> None:
    """Fail early when the configuration declares a required column the model never fills.

    Columns the model fills but the configuration does not declare are simply not written:
    the configuration decides what a file holds.
    """
    produced: set[str] = set()
    for inst in instances[:200]:
        for _, row in inst.versions:
            produced.update(row)
    if not instances:
        return
    missing = [c.name for c in entity.columns if c.required and c.name not in produced]
    if missing:
        raise GeneratorError(
            f"{entity.source}.{entity.name}: the generator does not produce required column(s) {missing}; "
            "teach generator/model.py to fill them")
