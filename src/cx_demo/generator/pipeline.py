"""``generate``: simulate the world, deliver it as daily files, write the ground truth.

Memory is bounded by the shard size, not by the world: a world of more than ``shard_size``
customers is simulated one shard after the other (see :mod:`cx_demo.generator.model`). Each
shard is planned entity by entity and freed once planned; its rows are appended to the daily
files and its share of every file's expected counts is simulated before the next shard
starts. Files are assembled hidden beside their place and put there whole at the end; the
truth is streamed from a fault spool and a customer spool. A world of at most ``shard_size``
customers is one shard, and its files and truth are what they were before sharding.
"""

from __future__ import annotations

import functools
import json
import math
import os
import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

from cx_demo.generator.faults import ALL_KINDS, FaultRates
from cx_demo.generator.model import ENTITIES, MAX_CUSTOMERS, Instance, Shard, World
from cx_demo.generator.writers import (
    ROW_KINDS,
    DailyFile,
    Delivered,
    FaultSpool,
    FileWriter,
    plan_deliveries,
)
from cx_warehouse.files import PRIVATE_FILE_MODE, private_dir
from cx_warehouse.ingest.sources import Entity, Source, load_sources

TRUTH_VERSION = 1
SHARD_SIZE = 100_000
"""Customers simulated at a time. Up to this many, a world is one shard: the demo (3,000), the
tests and the transform benchmark (10,000 to 100,000) keep their files byte for byte. A shard
of 100,000 peaks near 2 GiB."""


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
    shards: int = 1


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
    shard_size: int = SHARD_SIZE,
) -> GenerationSummary:
    """Write ``days`` days of CRM, survey and social files into ``landing``, plus the truth.

    The same arguments always give byte-identical files. ``sources`` defaults to the
    project's source configuration, which decides file locations, column names and order.
    Entities the model does not know are skipped (listed in the summary); a required
    column the model cannot fill is an error, because every row would be quarantined.
    ``shard_size`` customers are simulated at a time (memory grows with it, not with
    ``customers``); it is part of the arguments, recorded in the truth when there is more
    than one shard.
    """
    t0 = time.perf_counter()
    if not 1 <= customers <= MAX_CUSTOMERS:
        raise ValueError(f"customers must be between 1 and {MAX_CUSTOMERS}")
    if shard_size < 1:
        raise ValueError("shard_size must be at least 1")
    rates = faults if faults is not None else FaultRates()
    say = progress or (lambda _msg: None)
    landing = Path(landing)
    truth_path = Path(truth_path)
    sources = sources if sources is not None else load_sources()
    n_shards = math.ceil(customers / shard_size)

    entities: list[Entity] = [e for name in sorted(sources) for e in sources[name].entities]
    known = [e for e in entities if f"{e.source}.{e.name}" in ENTITIES]
    skipped = [f"{e.source}.{e.name}" for e in entities if f"{e.source}.{e.name}" not in ENTITIES]
    if skipped:
        say(f"no model for {', '.join(skipped)}: no files written for them")
    if not truth_path.parent.is_dir():
        private_dir(truth_path.parent)

    say(f"simulating {customers} customers over {days} days from {start.isoformat()}"
        + (f" in {n_shards} shards of {shard_size}" if n_shards > 1 else ""))
    with FaultSpool(truth_path.parent) as spool, tempfile.TemporaryFile(dir=truth_path.parent) as archetypes:
        writers = {f"{e.source}.{e.name}": FileWriter(landing, e, rates, seed, days, start, spool) for e in known}
        shard = Shard(total_customers=customers)  # what earlier shards drew and numbered, shared
        try:
            for index in range(n_shards):
                first = index * shard_size
                shard = Shard(index, first, customers, shard.taken, shard.numbering)
                world = World(customers=min(shard_size, customers - first), days=days, start=start, seed=seed,
                              faults=rates, shard=shard)
                _write_shard(world, known, writers, archetypes, last=index + 1 == n_shards,
                             say=functools.partial(_prefixed, say, f"shard {index + 1}/{n_shards}: ")
                             if n_shards > 1 else say)
            for w in writers.values():
                w.finish()
        except BaseException:
            for w in writers.values():
                w.discard()
            raise
        entity_truth = {w.full: w.truth() for w in writers.values()}
        month_files: Counter[str] = Counter()
        for w in writers.values():
            for f in w.files.values():
                month_files[f.delivery_date[:7]] += 2 if f.redelivery else 1
        for month, n in sorted(month_files.items()):
            say(f"wrote {month}: {n} files")
        fault_counts: Counter[str] = Counter()
        for w in writers.values():
            fault_counts.update(w.all_fault_counts())
        counts = {k: int(fault_counts.get(k, 0)) for k in ALL_KINDS}
        params: dict[str, Any] = {"customers": customers, "days": days, "start": start.isoformat(), "seed": seed,
                                  "faults": rates.as_dict()}
        if n_shards > 1:
            params["shard_size"] = shard_size
        daily = [f for w in writers.values() for f in w.files.values()]
        # The ground truth names every customer: private like the landing files. Its folder is only
        # created private, never tightened: it is usually CX_HOME, which the embedded server's own
        # user must still traverse to reach pgdata.
        with _private_stream(truth_path) as out:
            _write_truth(out, params, daily, spool, entity_truth, counts, archetypes)
    summary = GenerationSummary(
        landing=landing, truth_path=truth_path, files=sum(e["files"] for e in entity_truth.values()),
        rows=sum(e["rows"] for e in entity_truth.values()),
        bytes=sum(f.size * (2 if f.redelivery else 1) for f in daily),
        entities=entity_truth, fault_counts=counts, seconds=round(time.perf_counter() - t0, 3),
        skipped_entities=skipped, shards=n_shards,
    )
    say(f"done: {summary.files} files, {summary.rows} rows in {summary.seconds:.1f}s")
    return summary


def _write_shard(world: World, known: list[Entity], writers: dict[str, FileWriter], archetypes: IO[bytes], *,
                 last: bool, say: Callable[[str], None]) -> None:
    """Simulate one shard, plan it entity by entity, free the world, append its rows to the files."""
    world.run(say)
    # the behaviour each customer was simulated with, so marts can be checked against it
    # (e.g. churn risk separates "churning" from "loyal" customers)
    archetypes.write("".join(f"{json.dumps(c.customer_id)}: {json.dumps(c.archetype)}\n"
                             for c in world.customers).encode("utf-8"))
    index = world.shard.index
    plans: dict[str, dict[int, list[Delivered]]] = {}
    instances: list[Instance] = []
    for e in known:
        name = f"{e.source}.{e.name}"
        instances = world.instances(name)
        if index == 0:
            _check_columns(e, instances)
        plans[name] = plan_deliveries(instances, e, start_ts=world.start_ts, days=world.days)
        world.release(name)
    del instances
    if not last:
        world.record_taken()
    forced = {}
    if index == 0:
        forced = _forced_faults(plans, writers, world.faults, random.Random(f"{world.seed}:forced"), world.days)
    world.discard()  # the plans hold every row now; the world would double them
    rows = 0
    for name in list(plans):
        rows += writers[name].write_shard(index, plans.pop(name), forced)
    say(f"wrote {rows} rows")


def _prefixed(say: Callable[[str], None], prefix: str, msg: str) -> None:
    say(prefix + msg)


def _dumps(obj: Any, level: int) -> str:
    """``obj`` as ``json.dumps(..., indent=1)`` writes it ``level`` levels deep in a document."""
    return json.dumps(obj, ensure_ascii=False, indent=1).replace("\n", "\n" + " " * level)


def _write_truth(out: IO[str], params: dict[str, Any], daily: list[DailyFile], spool: FaultSpool,
                 entities: dict[str, dict[str, int]], counts: dict[str, int], archetypes: IO[bytes]) -> None:
    """The truth, streamed: the same text as ``json.dumps(truth, ensure_ascii=False, indent=1)``
    of the whole document, one file's entry and one customer at a time."""
    out.write(f'{{\n "version": {TRUTH_VERSION},\n "params": {_dumps(params, 1)},\n "files": [')
    entries = sorted([(f.path, False, f) for f in daily] + [(f.redelivery, True, f) for f in daily if f.redelivery],
                     key=lambda t: t[0])
    for n, (_, copy, f) in enumerate(entries):
        out.write(("," if n else "") + "\n  " + _dumps(f.truth(spool, copy=copy), 2))
    out.write("\n ]" if entries else "]")
    out.write(f',\n "entities": {_dumps(entities, 1)},\n "fault_counts": {_dumps(counts, 1)},\n "customers": {{')
    archetypes.seek(0)
    first = True
    for line in archetypes:
        out.write(("\n  " if first else ",\n  ") + line.decode("utf-8").rstrip("\n"))
        first = False
    out.write("\n }\n}\n" if not first else "}\n}\n")


@contextmanager
def _private_stream(path: Path) -> Iterator[IO[str]]:
    """A text file written beside ``path`` (0600 from the start) that replaces it when the block
    ends without an error: readers see the old truth or the whole new one (as write_private)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", buffering=1 << 20) as fh:
            yield fh
        os.chmod(tmp, PRIVATE_FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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


def _check_columns(entity: Entity, instances: list[Instance]) -> None:
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
