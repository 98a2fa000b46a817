"""Benchmarks: the loader against bare COPY and dlt, and the DAG files' parse time.

``cxw bench`` (``make bench``) measures two claims the project makes:

1. **Loader.** One generated ``orders`` CSV (default 2,000,000 rows, with row-level faults:
   missing required values, invalid values, duplicate rows) is loaded, in one run into one
   PostgreSQL, each way on a fresh table:

   * ``loader``: :func:`cx_warehouse.ingest.loader.load_entity` over a landing zone holding only
     that file, on fresh ``raw``/``audit`` schemas: checksum, COPY into a stage, typing
     and validation, quarantine, one version per key, upsert into ``raw.crm_orders``, audit row.
   * ``copy`` (the floor): a bare ``COPY ... FROM STDIN (FORMAT csv, HEADER)`` of the *clean
     copy* of the file into ``bench_copy.crm_orders``, a table with the same declared columns
     and types, the same lineage columns (filled by constant defaults) and the same primary
     key. The clean copy holds exactly the rows the loader keeps: rows with every required
     value present and every value valid for its type, one per ``order_id`` (latest
     ``updated_at``, then last in file), in file order. A typed COPY of the faulty file
     would fail, so this is the least any loader must do to end with the same table.
   * ``dlt``: a dlt pipeline (postgres destination, ``write_disposition="merge"``,
     ``primary_key="order_id"``, column types declared from ``config/sources/crm.yml``)
     whose resource reads the same clean copy with :class:`csv.DictReader` (empty fields as
     null), into dataset ``bench_dlt`` of the same database. Handing dlt the clean rows
     spares it the faults the loader handles, so the comparison favours dlt.

   The ways are interleaved across repetitions (median reported) to reduce drift. Goals:
   loader <= 1.5x COPY, dlt >= 5x loader.

2. **DAG parse.** Each file in ``dags/`` is run in a fresh interpreter, timing everything
   from before its first import to the end of the file (as Airflow's DAG processor would
   import it), against a trivial DAG file (one ``@dag``, one ``@task``) whose time is
   essentially importing Airflow. Goal: each DAG file <= 1.3x the trivial one.

The loader benchmark runs its own embedded PostgreSQL in ``<CX_HOME>/bench/pgdata`` so the
demo warehouse is untouched. Results go to ``<CX_HOME>/bench/results.json``. A missed goal
is printed as MISSED but is not an error: this is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cx_warehouse.config.settings import PROJECT_DIR, get_settings

if TYPE_CHECKING:
    from cx_warehouse.ingest.sources import Entity
    from cx_warehouse.warehouse.embedded import EmbeddedPostgres

DEFAULT_ROWS = 2_000_000
DEFAULT_SEED = 7
DEFAULT_REPEAT = 3
DEFAULT_DLT_REPEAT = 1
DEFAULT_PARSE_REPEAT = 5
DEFAULT_PORT = 54339

GOAL_LOADER_VS_COPY = 1.5
"""The loader may take at most this many times as long as bare COPY."""
GOAL_DLT_VS_LOADER = 5.0
"""dlt should take at least this many times as long as the loader."""
GOAL_PARSE_VS_TRIVIAL = 1.3
"""A DAG file may take at most this many times as long to parse as a trivial DAG."""

WAYS = ("loader", "copy", "dlt")
SOURCE, ENTITY = "crm", "orders"
DELIVERY_DATE = "2025-01-01"
COPY_SCHEMA = "bench_copy"
DLT_DATASET = "bench_dlt"
DLT_PIPELINE = "cx_bench_orders"

# dlt's data types for the project's column types.
DLT_TYPES = {
    "text": "text",
    "integer": "bigint",
    "bigint": "bigint",
    "numeric": "decimal",
    "boolean": "bool",
    "date": "date",
    "timestamptz": "timestamp",
}

TRIVIAL_DAG = '''\
"""The floor of DAG parsing: importing Airflow and declaring one DAG with one task."""
from datetime import datetime

from airflow.sdk import dag, task


@dag(schedule=None, start_date=datetime(2025, 1, 1), catchup=False)
def trivial():
    @task
    def hello():
        return 1

    hello()


trivial_dag = trivial()
'''

# Run in a fresh interpreter: time the whole execution of a DAG file, imports included.
_PARSE_SNIPPET = """\
import json, sys, time
t0 = time.perf_counter()
import runpy
ns = runpy.run_path(sys.argv[1], run_name="__cx_bench_dag__")
elapsed = time.perf_counter() - t0
from airflow.sdk import DAG
print(json.dumps({"seconds": elapsed, "dags": sum(isinstance(v, DAG) for v in ns.values())}))
"""


# ---------------------------------------------------------------------------------------
# Pure helpers
# ---------------------------------------------------------------------------------------
def say(message: str) -> None:
    """A progress line (these runs take minutes)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or None when either is missing or the denominator is 0."""
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def goal(name: str, value: float | None, limit: float, *, at_most: bool) -> dict[str, Any]:
    """One goal's verdict: ``value <= limit`` (``at_most``) or ``value >= limit``.

    ``passed`` is None when the value could not be measured (a way was skipped).
    """
    if value is None:
        passed = None
    else:
        passed = value <= limit if at_most else value >= limit
    return {
        "goal": name,
        "value": None if value is None else round(value, 3),
        "limit": limit,
        "rule": f"<= {limit}x" if at_most else f">= {limit}x",
        "passed": passed,
    }


def verdict(g: dict[str, Any]) -> str:
    return {True: "met", False: "MISSED", None: "not measured"}[g["passed"]]


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def fmt_seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def fmt_rate(rows: int | None, seconds: float | None) -> str:
    if not rows or not seconds:
        return "-"
    return f"{rows / seconds:,.0f}"


def format_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A plain-text table; numbers and ratios right-aligned, text left-aligned."""
    body = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        out = []
        for i, c in enumerate(cells):
            numeric = bool(c) and (c[0].isdigit() or c[0] in "-.") and i > 0
            out.append(c.rjust(widths[i]) if numeric else c.ljust(widths[i]))
        return "  ".join(out).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(list(headers)), sep, *(line(r) for r in body)])


def schedule(repeats: dict[str, int]) -> list[tuple[int, str]]:
    """(repetition, way) in run order: each repetition runs the ways in a rotated order.

    Rotating spreads each way over the start, middle and end of the run, so slow drift
    of this machine (thermal, page cache, autovacuum) does not always hit the same way.
    """
    order = [w for w in WAYS if repeats.get(w, 0) > 0]
    out = []
    for rep in range(max(repeats.values(), default=0)):
        k = rep % len(order) if order else 0
        for way in order[k:] + order[:k]:
            if rep < repeats[way]:
                out.append((rep, way))
    return out


def summarize(times: Sequence[float]) -> dict[str, Any]:
    return {
        "seconds": [round(t, 3) for t in times],
        "median_s": None if not times else round(statistics.median(times), 3),
        "min_s": None if not times else round(min(times), 3),
        "max_s": None if not times else round(max(times), 3),
    }


def machine_facts() -> dict[str, Any]:
    """CPU, memory, OS, Python and the versions of the packages compared."""
    from importlib import metadata

    model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for dist in ("apache-airflow", "dlt", "psycopg", "pgserver"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": model or platform.processor() or None,
        "memory_gib": mem_gib,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average": _load_average(),
        "packages": versions,
    }


def _load_average() -> list[float] | None:
    """1, 5 and 15 minute load averages: other work on the machine makes timings noisy."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def write_results(results: dict[str, Any], out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    tmp.replace(out)
    return out


# ---------------------------------------------------------------------------------------
# The benchmark's own PostgreSQL
# ---------------------------------------------------------------------------------------
def _free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise RuntimeError("no free TCP port on 127.0.0.1")


def bench_server(pgdata: Path, port: int | None = None) -> tuple[EmbeddedPostgres, bool]:
    """The benchmark's embedded server, started if needed; (server, started_by_us)."""
    from cx_warehouse.warehouse.embedded import EmbeddedPostgres

    pid_file = pgdata / "postmaster.pid"
    if pid_file.exists():
        lines = pid_file.read_text().splitlines()
        if len(lines) > 3 and lines[3].strip().isdigit():
            running = EmbeddedPostgres(pgdata=pgdata, port=int(lines[3]))
            if running.is_running():
                return running, False
    pg = EmbeddedPostgres(pgdata=pgdata, port=_free_port(port or DEFAULT_PORT))
    pg.start()
    return pg, True


# ---------------------------------------------------------------------------------------
# Data: the faulty file (generated once, cached) and its clean copy
# ---------------------------------------------------------------------------------------
def data_dir(bench_dir: Path, rows: int, seed: int) -> Path:
    return bench_dir / "data" / f"orders-{rows}-s{seed}"


def landing_root(bench_dir: Path, rows: int, seed: int) -> Path:
    """A landing zone holding only the generated file, as the loader finds it."""
    return data_dir(bench_dir, rows, seed) / "landing"


def faulty_file(bench_dir: Path, rows: int, seed: int) -> Path:
    return landing_root(bench_dir, rows, seed) / SOURCE / ENTITY / DELIVERY_DATE / f"{ENTITY}_bench.csv"


def clean_file(bench_dir: Path, rows: int, seed: int) -> Path:
    return data_dir(bench_dir, rows, seed) / f"{ENTITY}_clean.csv"


def _count_lines(path: Path) -> int:
    n = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            n += chunk.count(b"\n")
    return n


def orders_entity() -> Entity:
    from cx_warehouse.ingest.sources import get_source

    return get_source(SOURCE).entity(ENTITY)


def _stream(path: Path) -> Iterable[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            yield chunk


def derive_clean_copy(url: str, entity: Entity, src: Path, dst: Path) -> int:
    """Write the rows the loader keeps from ``src`` to ``dst`` (CSV with header); return their count.

    The same rules as the loader, evaluated by PostgreSQL on an all-text stage: every
    required value present, every non-text value valid for its type
    (``pg_input_is_valid``), then one row per primary key (latest ``updated_at``, then
    last in file). Rows are written in file order with their original text.
    """
    from psycopg import sql

    from cx_warehouse.warehouse.connection import connect

    with src.open("rb") as fh:
        header = next(csv.reader([fh.readline().decode("utf-8-sig")]))
    names = [h.strip().lower() for h in header]
    missing = [c for c in entity.column_names if c not in names]
    if missing:
        raise RuntimeError(f"{src}: header lacks {missing}")
    pos = {c: f"c{names.index(c) + 1}" for c in entity.column_names}
    ident = lambda n: sql.Identifier(n).as_string(None)  # noqa: E731
    checks = []
    for c in entity.columns:
        v = f"nullif({pos[c.name]}, '')"
        if c.required:
            checks.append(f"{v} is not null")
        if c.type != "text":
            checks.append(f"({v} is null or pg_input_is_valid({v}, '{c.type}'))")
    pk = ", ".join(pos[k] for k in entity.primary_key)
    order = pk
    if entity.updated_at:
        order += f", nullif({pos[entity.updated_at]}, '')::{entity.column(entity.updated_at).type} desc"
    order += ", _rec desc"
    out_cols = ", ".join(f"nullif({pos[c]}, '') as {ident(c)}" for c in entity.column_names)
    stage_cols = ", ".join(f"c{i + 1} text" for i in range(len(names)))
    copy_in = ", ".join(f"c{i + 1}" for i in range(len(names)))
    query = (
        f"copy (select {out_cols} from ("
        f"select distinct on ({pk}) * from bench_stage where {' and '.join(checks) or 'true'} "
        f"order by {order}) w order by _rec) to stdout with (format csv, header)"
    )
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(".tmp")
    with connect(url, autocommit=True) as conn:
        conn.execute("set work_mem = '256MB'")
        with conn.transaction():
            conn.execute(f"create temp table bench_stage ({stage_cols}, "
                         "_rec bigint generated always as identity) on commit drop")
            with conn.cursor() as cur:
                with cur.copy(f"copy bench_stage ({copy_in}) from stdin with (format csv, header)") as cp:
                    for chunk in _stream(src):
                        cp.write(chunk)
                with tmp.open("wb") as out, cur.copy(query) as cp:
                    for block in cp:
                        out.write(block)
    tmp.replace(dst)
    return _count_lines(dst) - 1


def prepare_data(bench_dir: Path, rows: int, seed: int, url: str, entity: Entity,
                 progress: Callable[[str], None] = say) -> dict[str, Any]:
    """Generate (or reuse) the faulty file and its clean copy; return their facts."""
    ddir = data_dir(bench_dir, rows, seed)
    meta_file = ddir / "meta.json"
    if meta_file.exists():
        meta = json.loads(meta_file.read_text())
        if (meta.get("rows") == rows and meta.get("seed") == seed
                and faulty_file(bench_dir, rows, seed).exists() and clean_file(bench_dir, rows, seed).exists()):
            progress(f"reusing the cached data in {ddir}")
            meta["faulty_file"] = str(faulty_file(bench_dir, rows, seed))
            meta["clean_file"] = str(clean_file(bench_dir, rows, seed))
            return dict(meta)
    from cx_demo.generator import write_bulk_orders

    shutil.rmtree(ddir, ignore_errors=True)
    faulty = faulty_file(bench_dir, rows, seed)
    faulty.parent.mkdir(parents=True, exist_ok=True)
    progress(f"generating {rows:,} order rows (seed {seed}) into {faulty} ...")
    t0 = time.perf_counter()
    generated = write_bulk_orders(faulty, rows, seed=seed)
    progress(f"  written in {time.perf_counter() - t0:.1f} s ({faulty.stat().st_size / 1e6:,.0f} MB)")
    progress("deriving the clean copy (the rows the loader keeps) for the COPY floor and dlt ...")
    t0 = time.perf_counter()
    clean = clean_file(bench_dir, rows, seed)
    clean_rows = derive_clean_copy(url, entity, faulty, clean)
    progress(f"  {clean_rows:,} clean rows in {time.perf_counter() - t0:.1f} s")
    meta = {
        "rows": rows,
        "seed": seed,
        "faulty_file": str(faulty),
        "faulty_bytes": faulty.stat().st_size,
        "faulty_records": _count_lines(faulty) - 1,
        "generator": generated,
        "clean_file": str(clean),
        "clean_bytes": clean.stat().st_size,
        "clean_rows": clean_rows,
    }
    meta_file.write_text(json.dumps(meta, indent=2, default=str) + "\n")
    return meta


# ---------------------------------------------------------------------------------------
# The three ways
# ---------------------------------------------------------------------------------------
def _checkpoint(conn: Any) -> None:
    """Flush the previous way's dirty pages so the next way does not pay for them."""
    import psycopg

    try:
        conn.execute("checkpoint")
    except psycopg.Error:  # not allowed for this role: carry on without
        pass


def run_loader(url: str, landing: Path, entity: Entity, rep: int) -> dict[str, Any]:
    """One timed ``load_entity`` on fresh ``raw`` and ``audit`` schemas."""
    from cx_warehouse.ingest.landing import LandingZone
    from cx_warehouse.ingest.loader import RunContext, ensure_schema, load_entity
    from cx_warehouse.warehouse.connection import connect

    with connect(url, autocommit=True) as conn:
        conn.execute("drop schema if exists raw cascade")
        conn.execute("drop schema if exists audit cascade")
        ensure_schema(conn, [entity])
        _checkpoint(conn)
    zone = LandingZone(str(landing))
    t0 = time.perf_counter()
    result = load_entity(entity, url=url, landing=zone, run=RunContext(run_id=f"bench-{rep}"))
    seconds = time.perf_counter() - t0
    if result.failed or not result.files:
        raise RuntimeError(f"the loader did not load the benchmark file: {result.summary()}")
    f = result.files[0]
    with connect(url) as conn:
        timings = conn.execute(
            "select timings_ms, duration_ms from audit.load_audit where load_id = %s", (f.load_id,)
        ).fetchone()
    return {
        "seconds": seconds,
        "rows_read": f.rows_read,
        "rows_loaded": f.rows_loaded,
        "rows_quarantined": f.rows_quarantined,
        "rows_duplicate": f.rows_duplicate,
        "parse_mode": f.parse_mode,
        "timings_ms": timings[0] if timings else None,
        "duration_ms": timings[1] if timings else None,
    }


def copy_table_ddl(entity: Entity, schema: str = COPY_SCHEMA) -> str:
    """The loader's raw table, in another schema: same columns, types, lineage, key and indexes.

    The lineage columns get constant defaults so a bare COPY of the declared columns
    fills them, as the loader does. The lineage indexes the loader's raw tables have
    (:data:`cx_warehouse.ingest.loader.LINEAGE_INDEXED`) are created too: the floor writes the
    same table the loader does.
    """
    from psycopg import sql

    ident = lambda n: sql.Identifier(n).as_string(None)  # noqa: E731
    cols = [f"{ident(c.name)} {c.type}" for c in entity.columns]
    cols += [
        "_source_file text not null default 'bench/orders_clean.csv'",
        f"_load_id uuid not null default '{uuid.uuid4()}'",
        f"_loaded_at timestamptz not null default '{datetime.now(UTC).isoformat()}'",
        f"constraint {ident(entity.table + '_pkey')} primary key "
        f"({', '.join(ident(k) for k in entity.primary_key)})",
    ]
    from cx_warehouse.ingest.loader import LINEAGE_INDEXED

    table = f"{ident(schema)}.{ident(entity.table)}"
    indexes = "".join(f"; create index {ident(entity.table + '_' + c.lstrip('_'))} on {table} ({ident(c)})"
                      for c in LINEAGE_INDEXED)
    return f"create table {table} ({', '.join(cols)}){indexes}"


def run_copy(url: str, clean: Path, entity: Entity, rep: int) -> dict[str, Any]:
    """One timed bare ``COPY FROM STDIN`` of the clean copy into a fresh typed table."""
    from psycopg import sql

    from cx_warehouse.warehouse.connection import connect

    ident = lambda n: sql.Identifier(n).as_string(None)  # noqa: E731
    with connect(url, autocommit=True) as conn:
        conn.execute(f"drop schema if exists {COPY_SCHEMA} cascade")
        conn.execute(f"create schema {COPY_SCHEMA}")
        conn.execute(copy_table_ddl(entity))
        _checkpoint(conn)
        cols = ", ".join(ident(c) for c in entity.column_names)
        statement = (f"copy {COPY_SCHEMA}.{ident(entity.table)} ({cols}) "
                     "from stdin with (format csv, header)")
        t0 = time.perf_counter()
        with conn.cursor() as cur:
            with cur.copy(statement) as cp:
                for chunk in _stream(clean):
                    cp.write(chunk)
            rows = cur.rowcount
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows_loaded": rows}


def dlt_columns(entity: Entity) -> dict[str, dict[str, Any]]:
    """dlt column hints from the declared columns: types, nullability, latest-wins dedup."""
    hints: dict[str, dict[str, Any]] = {}
    for c in entity.columns:
        h: dict[str, Any] = {"data_type": DLT_TYPES[c.type], "nullable": not c.required}
        if c.name == entity.updated_at:
            h["dedup_sort"] = "desc"
        hints[c.name] = h
    return hints


def dlt_resource(path: Path, entity: Entity, page_size: int = 10_000) -> Any:
    """A dlt resource yielding the CSV's rows as dicts (empty fields as null), in pages."""
    import dlt

    hints: Any = dlt_columns(entity)

    @dlt.resource(name=entity.table, write_disposition="merge", primary_key=list(entity.primary_key),
                  columns=hints)
    def rows() -> Iterable[list[dict[str, str | None]]]:
        with path.open(newline="", encoding="utf-8") as fh:
            page: list[dict[str, str | None]] = []
            for row in csv.DictReader(fh):
                page.append({k: (v if v != "" else None) for k, v in row.items()})
                if len(page) >= page_size:
                    yield page
                    page = []
            if page:
                yield page

    return rows


def run_dlt(url: str, clean: Path, entity: Entity, rep: int, pipelines_dir: Path) -> dict[str, Any]:
    """One timed dlt pipeline run (extract, normalize, load with merge) on a fresh dataset."""
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    import dlt

    from cx_warehouse.warehouse.connection import connect

    with connect(url, autocommit=True) as conn:
        conn.execute(f"drop schema if exists {DLT_DATASET} cascade")
        conn.execute(f"drop schema if exists {DLT_DATASET}_staging cascade")
        _checkpoint(conn)
    shutil.rmtree(pipelines_dir / DLT_PIPELINE, ignore_errors=True)
    t0 = time.perf_counter()
    pipeline = dlt.pipeline(
        pipeline_name=DLT_PIPELINE,
        pipelines_dir=str(pipelines_dir),
        destination=dlt.destinations.postgres(credentials=url),
        dataset_name=DLT_DATASET,
    )
    pipeline.run(dlt_resource(clean, entity))
    seconds = time.perf_counter() - t0
    steps: dict[str, float] = {}
    for step in getattr(pipeline.last_trace, "steps", None) or []:
        started, finished = getattr(step, "started_at", None), getattr(step, "finished_at", None)
        if started and finished:
            steps[str(step.step)] = round((finished - started).total_seconds(), 3)
    with connect(url) as conn:
        row = conn.execute(f'select count(*) from {DLT_DATASET}."{entity.table}"').fetchone()
    return {"seconds": seconds, "rows_loaded": int(row[0]) if row else 0, "steps_s": steps}


def loader_benchmark(url: str, bench_dir: Path, *, rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED,
                     repeat: int = DEFAULT_REPEAT, dlt_repeat: int = DEFAULT_DLT_REPEAT,
                     progress: Callable[[str], None] = say) -> dict[str, Any]:
    """Run the loader, COPY and dlt ways, interleaved; return timings, ratios and goals."""
    from cx_warehouse.warehouse.connection import connect

    entity = orders_entity()
    data = prepare_data(bench_dir, rows, seed, url, entity, progress)
    faulty = Path(data["faulty_file"])
    clean = Path(data["clean_file"])
    for path in (faulty, clean):  # warm the page cache: every way reads from memory
        for _ in _stream(path):
            pass
    with connect(url) as conn:
        pg_version = conn.execute("show server_version").fetchone()[0]  # type: ignore[index]
    repeats = {"loader": repeat, "copy": repeat, "dlt": dlt_repeat}
    if dlt_repeat > 0:
        try:
            import dlt  # noqa: F401
        except ImportError:
            progress("dlt is not installed (`make bench` installs it): skipping the dlt way")
            repeats["dlt"] = 0
    plan = schedule(repeats)
    runs: dict[str, list[dict[str, Any]]] = {w: [] for w in WAYS}
    for i, (rep, way) in enumerate(plan, start=1):
        slow = " (row by row in Python: minutes)" if way == "dlt" else ""
        progress(f"[{i}/{len(plan)}] {way} (repetition {rep + 1}){slow} ...")
        if way == "loader":
            r = run_loader(url, landing_root(bench_dir, rows, seed), entity, rep)
            extra = (f"read {r['rows_read']:,}, loaded {r['rows_loaded']:,}, quarantined "
                     f"{r['rows_quarantined']:,}, duplicate {r['rows_duplicate']:,}; "
                     f"timings {r['timings_ms']}")
        elif way == "copy":
            r = run_copy(url, clean, entity, rep)
            extra = f"loaded {r['rows_loaded']:,}"
        else:
            r = run_dlt(url, clean, entity, rep, bench_dir / "dlt")
            extra = f"loaded {r['rows_loaded']:,}; steps {r['steps_s']}"
        r["repetition"] = rep + 1
        r["order"] = i
        runs[way].append(r)
        progress(f"    {r['seconds']:.2f} s: {extra}")

    with connect(url, autocommit=True) as conn:  # free the disk: the numbers are what we keep
        for schema in ("raw", "audit", COPY_SCHEMA, DLT_DATASET, f"{DLT_DATASET}_staging"):
            conn.execute(f"drop schema if exists {schema} cascade")

    ways: dict[str, Any] = {}
    for way in WAYS:
        times = [r["seconds"] for r in runs[way]]
        entry = {"repetitions": len(times), **summarize(times), "runs": runs[way]}
        if runs[way]:
            entry["rows_loaded"] = runs[way][0]["rows_loaded"]
            entry["rows_input"] = data["faulty_records"] if way == "loader" else data["clean_rows"]
            if entry["median_s"]:
                entry["rows_per_s"] = round(entry["rows_input"] / entry["median_s"])
        ways[way] = entry
    ways["loader"]["loads"] = (
        f"load_entity over a landing zone holding only {faulty.name} ({data['faulty_records']:,} records "
        f"with planted faults {data.get('generator', {}).get('faults')}): checksum, COPY to a stage, typing and validation, "
        "quarantine, one version per key, upsert into raw.crm_orders, audit row; fresh raw/audit schemas "
        "each repetition")
    ways["copy"]["loads"] = (
        f"bare COPY FROM STDIN (FORMAT csv, HEADER) of {clean.name} ({data['clean_rows']:,} rows: exactly "
        "the rows the loader keeps, original text, file order) into a fresh bench_copy.crm_orders with "
        "the same columns, types, lineage columns (constant defaults) and primary key")
    ways["dlt"]["loads"] = (
        f"dlt pipeline, postgres destination, merge on order_id (dedup_sort updated_at desc), column "
        f"types declared, a resource reading {clean.name} with csv.DictReader in pages of 10,000 rows "
        f"(empty -> null), default loader file format, into a fresh dataset {DLT_DATASET}")
    loader_m, copy_m, dlt_m = (ways[w].get("median_s") for w in WAYS)
    ratios = {
        "loader_vs_copy": ratio(loader_m, copy_m),
        "dlt_vs_loader": ratio(dlt_m, loader_m),
    }
    goals = [
        goal("loader <= 1.5x COPY", ratios["loader_vs_copy"], GOAL_LOADER_VS_COPY, at_most=True),
        goal("dlt >= 5x loader", ratios["dlt_vs_loader"], GOAL_DLT_VS_LOADER, at_most=False),
    ]
    expected = (data.get("generator") or {}).get("expected") or {}
    counts = {ways[w]["rows_loaded"] for w in WAYS if runs[w]} | {data["clean_rows"]}
    if "loaded" in expected:
        counts.add(expected["loaded"])
    counts_agree = len(counts) == 1
    if runs["loader"] and expected:
        r0 = runs["loader"][0]
        counts_agree = counts_agree and (r0["rows_quarantined"], r0["rows_duplicate"]) == (
            expected.get("quarantined"), expected.get("duplicate"))
    stage = [r["timings_ms"].get("stage") for r in runs["loader"] if r.get("timings_ms")]
    validate = [r["timings_ms"].get("validate") for r in runs["loader"] if r.get("timings_ms")]
    merge = [r["timings_ms"].get("merge") for r in runs["loader"] if r.get("timings_ms")]
    breakdown = None
    if stage and merge:
        breakdown = {"stage_ms_median": statistics.median(stage), "merge_ms_median": statistics.median(merge),
                     "validate_ms_median": statistics.median(v for v in validate if v is not None)
                     if any(v is not None for v in validate) else None,
                     "note": "stage = checksum + header + COPY into the stage; validate = typing and checking "
                             "every value once, quarantine; merge = DISTINCT ON and the write into raw"}
    return {
        "rows": rows,
        "seed": seed,
        "postgres_version": pg_version,
        "data": data,
        "repeats": repeats,
        "run_order": [f"{way}#{rep + 1}" for rep, way in plan],
        "ways": ways,
        "loader_breakdown": breakdown,
        "row_counts_agree": counts_agree,
        "generator_expected": expected or None,
        "ratios": {k: None if v is None else round(v, 3) for k, v in ratios.items()},
        "goals": goals,
    }


def print_loader_report(res: dict[str, Any]) -> None:
    ways = res["ways"]
    base = ways["copy"].get("median_s")
    rows = []
    for way in WAYS:
        w = ways[way]
        if not w["repetitions"]:
            rows.append([way, "skipped", "", "", "", "", "", "", ""])
            continue
        rows.append([
            way, str(w["repetitions"]), fmt_seconds(w["median_s"]), fmt_seconds(w["min_s"]),
            fmt_seconds(w["max_s"]), f"{w['rows_input']:,}", f"{w['rows_loaded']:,}",
            fmt_rate(w["rows_input"], w["median_s"]), fmt_ratio(ratio(w["median_s"], base)),
        ])
    print()
    print(f"Loader benchmark: {res['rows']:,} order rows, PostgreSQL {res['postgres_version']}")
    print(format_table(["way", "reps", "median s", "min s", "max s", "rows in", "rows loaded",
                        "rows/s", "vs COPY"], rows))
    print(f"run order: {' '.join(res['run_order'])}")
    if res.get("loader_breakdown"):
        b = res["loader_breakdown"]
        validate = "" if b.get("validate_ms_median") is None else f"validate {b['validate_ms_median'] / 1000:.2f} s, "
        print(f"loader stages (median): stage {b['stage_ms_median'] / 1000:.2f} s, {validate}"
              f"merge {b['merge_ms_median'] / 1000:.2f} s")
    if not res["row_counts_agree"]:
        print("WARNING: the ways did not end with the same rows, or the loader's accounting differs "
              f"from what the generator planted ({res.get('generator_expected')})")
    print(f"loader/COPY = {fmt_ratio(res['ratios']['loader_vs_copy'])}, "
          f"dlt/loader = {fmt_ratio(res['ratios']['dlt_vs_loader'])}")
    for g in res["goals"]:
        print(f"  goal {g['goal']}: {fmt_ratio(g['value'])} -> {verdict(g)}")


# ---------------------------------------------------------------------------------------
# Ingest over a year of history
# ---------------------------------------------------------------------------------------
INGEST_DEFAULT_CUSTOMERS = 20_000
INGEST_DEFAULT_HISTORY = (30, 365)
INGEST_SEED = 42
INGEST_WORLD_START = datetime(2025, 11, 1).date()
GOAL_INGEST_HISTORY_GROWTH = 1.5
"""A run over the longest history may take at most this many times a run over the shortest."""
_RESULT_MARK = "CXBENCH-RESULT "

# A long-lived interpreter that runs load_landing on request and answers with its wall time, so
# the loader of this checkout and of another one (--compare-with) are timed the same way,
# interleaved, each with its imports warm.
_INGEST_WORKER = """\
import json, sys, time
from datetime import date
import cx_warehouse
from cx_warehouse.ingest.service import load_landing
MARK = sys.argv[1]
print(MARK + json.dumps({"package": cx_warehouse.__file__}), flush=True)
for line in sys.stdin:
    cmd = json.loads(line)
    until = date.fromisoformat(cmd["until"]) if cmd.get("until") else None
    t0 = time.perf_counter()
    results = load_landing(cmd["url"], cmd["landing"], until=until)
    seconds = time.perf_counter() - t0
    files = [f for r in results for f in r.files]
    print(MARK + json.dumps({
        "seconds": seconds,
        "files_loaded": sum(1 for f in files if f.status == "loaded"),
        "files_failed": [f.error for f in files if f.status == "failed"],
        "files_skipped": sum(r.skipped for r in results),
        "rows_read": sum(f.rows_read for f in files),
        "rows_loaded": sum(f.rows_loaded for f in files),
    }), flush=True)
"""


class IngestWorker:
    """One interpreter running ``load_landing`` of one checkout (this one, or ``src`` of another)."""

    def __init__(self, name: str, checkout: Path | None = None) -> None:
        env = dict(os.environ)
        if checkout is not None:
            env["PYTHONPATH"] = str(checkout / "src")
            env["CX_CONFIG_DIR"] = str(checkout / "config")
        self.name = name
        self.proc = subprocess.Popen([sys.executable, "-c", _INGEST_WORKER, _RESULT_MARK], env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.package = str(self._answer()["package"])

    def _answer(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(_RESULT_MARK):
                return dict(json.loads(line[len(_RESULT_MARK):]))
        raise RuntimeError(f"the {self.name} ingest worker stopped (exit {self.proc.wait()})")

    def load(self, url: str, landing: Path, until: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"url": url, "landing": str(landing), "until": str(until)}) + "\n")
        self.proc.stdin.flush()
        answer = self._answer()
        if answer["files_failed"]:
            raise RuntimeError(f"{self.name}: files failed to load: {answer['files_failed'][:3]}")
        return answer

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


def _day_folders(world: Path) -> dict[Any, list[Path]]:
    """Every landed file of the world by its delivery-date folder (the day it arrives)."""
    from datetime import date

    def day_of(part: str) -> date | None:
        try:
            return date.fromisoformat(part) if len(part) == 10 else None
        except ValueError:
            return None

    days: dict[Any, list[Path]] = {}
    for p in sorted(world.rglob("*")):
        if p.is_file():
            day = next((d for d in map(day_of, p.relative_to(world).parts) if d is not None), None)
            if day is not None:
                days.setdefault(day, []).append(p)
    return days


def _deliver(world: Path, zone: Path, files: list[Path], day: Any) -> int:
    """Copy a day's files into ``zone`` as a delivery: a copy of its own (never a link), timed
    at noon of its delivery day, as a real landing zone would hold it. Returns the bytes."""
    total = 0
    noon = int(datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp() * 1e9)
    for src in files:
        dst = zone / src.relative_to(world)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        os.utime(dst, ns=(noon, noon))
        total += dst.stat().st_size
    return total


def ingest_benchmark(server: EmbeddedPostgres, bench_dir: Path, *, customers: int = INGEST_DEFAULT_CUSTOMERS,
                     history: Sequence[int] = INGEST_DEFAULT_HISTORY, repeat: int = DEFAULT_REPEAT,
                     compare_with: Path | None = None, seed: int = INGEST_SEED,
                     progress: Callable[[str], None] = say) -> dict[str, Any]:
    """A daily ingest over landing zones holding ``history`` days: nothing new vs one new day.

    One generated world of ``max(history) + repeat`` days. For each history length, a landing
    zone holds the ``h`` days before the cut-off (the same last days for every length) and a
    database of its own has them loaded. Then each repetition times, on every zone and for
    every checkout (this one, and ``compare_with``'s loader on databases of its own), in rotated
    order: a run after the next day's files arrived (one new day), then a run with nothing new.
    The new days are the same files for every zone.
    """
    from datetime import timedelta

    from cx_demo.generator import generate
    from cx_warehouse.warehouse.connection import connect

    history = sorted(set(history))
    world_days = max(history) + repeat
    world = bench_dir / "data" / f"ingest-world-{customers}c-{world_days}d-s{seed}"
    if not (world / "truth.json").exists():
        progress(f"ingest: generating {customers:,} customers x {world_days} days (cached in {world})")
        t0 = time.perf_counter()
        generate(world / "landing", world / "truth.json", customers=customers, days=world_days,
                 start=INGEST_WORLD_START, seed=seed)
        progress(f"ingest: generated in {time.perf_counter() - t0:.0f} s")
    by_day = _day_folders(world / "landing")
    cut = INGEST_WORLD_START + timedelta(days=max(history))  # the first new day
    new_days = [cut + timedelta(days=k) for k in range(repeat)]
    codes = {"current": None} | ({"compare": compare_with} if compare_with is not None else {})
    workers = {code: IngestWorker(code, path) for code, path in codes.items()}
    try:
        zones: dict[int, dict[str, Any]] = {}
        for h in history:
            zone = bench_dir / "ingest-zones" / f"history-{h}d"
            shutil.rmtree(zone, ignore_errors=True)
            zone.mkdir(parents=True)
            days = [d for d in sorted(by_day) if cut - timedelta(days=h) <= d < cut]
            files = sum(len(by_day[d]) for d in days)
            size = sum(_deliver(world / "landing", zone, by_day[d], d) for d in days)
            zones[h] = {"path": zone, "days": len(days), "files": files, "bytes": size, "initial_load": {}}
            for code, worker in workers.items():
                db = f"bench_ingest_{code}_{h}"
                with connect(server.url("postgres"), autocommit=True) as conn:
                    conn.execute(f"drop database if exists {db} with (force)")
                    conn.execute(f"create database {db} template template0 encoding UTF8")
                progress(f"ingest: {code}: loading {h} days of history ({files:,} files, {size / 1e6:,.0f} MB)")
                r = worker.load(server.url(db), zone, cut)
                zones[h]["initial_load"][code] = r
                progress(f"    {r['seconds']:.1f} s: {r['files_loaded']:,} files, {r['rows_loaded']:,} rows")
        configs = [(code, h) for h in history for code in workers]
        runs: dict[str, list[dict[str, Any]]] = {f"{code}/{h}d/{kind}": [] for code, h in configs
                                                 for kind in ("new_day", "nothing_new")}
        order: list[str] = []
        for rep, day in enumerate(new_days):
            for h in history:
                zones[h].setdefault("new_day_files", []).append(
                    {"day": str(day), "files": len(by_day.get(day, [])),
                     "bytes": _deliver(world / "landing", zones[h]["path"], by_day.get(day, []), day)})
            k = rep % len(configs)
            rotated = configs[k:] + configs[:k]
            for kind in ("new_day", "nothing_new"):
                for code, h in rotated:
                    name = f"{code}/{h}d/{kind}"
                    r = workers[code].load(server.url(f"bench_ingest_{code}_{h}"), zones[h]["path"],
                                           day + timedelta(days=1))
                    r["repetition"] = rep + 1
                    runs[name].append(r)
                    order.append(name)
                    progress(f"[rep {rep + 1}/{repeat}] {name}: {r['seconds']:.3f} s "
                             f"({r['files_loaded']} loaded, {r['files_skipped']:,} skipped)")
        packages = {code: w.package for code, w in workers.items()}
    finally:
        for w in workers.values():
            w.close()
    with connect(server.url("postgres"), autocommit=True) as conn:  # free the disk
        for code, h in configs:
            conn.execute(f"drop database if exists bench_ingest_{code}_{h} with (force)")

    medians = {name: median([r["seconds"] for r in rs]) for name, rs in runs.items()}
    short, long_ = history[0], history[-1]
    ratios: dict[str, float | None] = {}
    for code in workers:
        for h in history:
            ratios[f"{code}/{h}d: new_day vs nothing_new"] = ratio(
                medians[f"{code}/{h}d/new_day"], medians[f"{code}/{h}d/nothing_new"])
        for kind in ("nothing_new", "new_day"):
            ratios[f"{code}/{kind}: {long_}d vs {short}d of history"] = ratio(
                medians[f"{code}/{long_}d/{kind}"], medians[f"{code}/{short}d/{kind}"])
    if "compare" in workers:
        for h in history:
            for kind in ("nothing_new", "new_day"):
                ratios[f"{h}d/{kind}: compare vs current"] = ratio(
                    medians[f"compare/{h}d/{kind}"], medians[f"current/{h}d/{kind}"])
    goals = [goal(f"a daily run ({kind.replace('_', ' ')}) over {long_} days of history <= "
                  f"{GOAL_INGEST_HISTORY_GROWTH}x the same over {short} days",
                  ratios[f"current/{kind}: {long_}d vs {short}d of history"], GOAL_INGEST_HISTORY_GROWTH,
                  at_most=True) for kind in ("nothing_new", "new_day")]
    return {
        "customers": customers, "seed": seed, "history_days": history, "repeat": repeat,
        "new_days": [str(d) for d in new_days],
        "method": ("load_landing (ensure_schema, then every entity: list, decide what is loaded, load the "
                   "rest), timed inside a long-lived interpreter per checkout; each repetition delivers the "
                   "next day's files (copies, mtime at noon of the day), then runs every zone and checkout "
                   "with the new day, then again with nothing new, in rotated order"),
        "checkouts": {code: {"path": str(path) if path else "this checkout", "package": packages[code]}
                      for code, path in codes.items()},
        "zones": {str(h): {k: (str(v) if k == "path" else v) for k, v in z.items()} for h, z in zones.items()},
        "runs": runs, "run_order": order,
        "medians_s": {k: None if v is None else round(v, 4) for k, v in medians.items()},
        "ratios": {k: None if v is None else round(v, 3) for k, v in ratios.items()},
        "goals": goals,
    }


def print_ingest_report(res: dict[str, Any]) -> None:
    print()
    print(f"Ingest benchmark: {res['customers']:,} customers, history {res['history_days']} days, "
          f"{res['repeat']} new days")
    rows = []
    for name, m in res["medians_s"].items():
        rs = res["runs"][name]
        rows.append([name, str(len(rs)), fmt_seconds(m), fmt_seconds(min(r["seconds"] for r in rs)),
                     fmt_seconds(max(r["seconds"] for r in rs)), f"{rs[0]['files_loaded']:,}",
                     f"{rs[0]['files_skipped']:,}"])
    print(format_table(["run", "reps", "median s", "min s", "max s", "files loaded", "files skipped"], rows))
    for k, v in res["ratios"].items():
        print(f"  {k}: {fmt_ratio(v)}")
    for g in res["goals"]:
        print(f"  goal {g['goal']}: {fmt_ratio(g['value'])} -> {verdict(g)}")


# ---------------------------------------------------------------------------------------
# DAG parse
# ---------------------------------------------------------------------------------------
def parse_once(path: Path, env: dict[str, str]) -> dict[str, Any]:
    """Execute one DAG file in a fresh interpreter; its time from first import to last line."""
    proc = subprocess.run([sys.executable, "-c", _PARSE_SNIPPET, str(path)], env=env,
                          capture_output=True, text=True, timeout=300, cwd=str(path.parent))
    if proc.returncode != 0:
        raise RuntimeError(f"parsing {path} failed:\n{proc.stderr.strip()[-2000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def parse_benchmark(dags_dir: Path, *, repeat: int = DEFAULT_PARSE_REPEAT,
                    progress: Callable[[str], None] = say) -> dict[str, Any]:
    """Median parse time of each DAG file against a trivial DAG, interleaved, fresh interpreters."""
    files = sorted(p for p in dags_dir.glob("*.py") if not p.name.startswith("_"))
    with tempfile.TemporaryDirectory(prefix="cx-bench-parse-") as tmp_name:
        tmp = Path(tmp_name)
        trivial = tmp / "dags" / "trivial_dag.py"
        trivial.parent.mkdir()
        trivial.write_text(TRIVIAL_DAG)
        env = dict(os.environ)
        env.update({
            "AIRFLOW_HOME": str(tmp / "airflow"),
            "CX_HOME": str(tmp / "cx"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_dir),
        })
        env.pop("CX_WAREHOUSE_URL", None)
        # As in a deployment, modules are imported from bytecode caches (the warm-up writes
        # them when missing), not compiled on every parse.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        targets = [("trivial", trivial)] + [(p.name, p) for p in files]
        progress(f"DAG parse: warming up ({len(targets)} files; bytecode caches)")
        dags_found: dict[str, int] = {}
        for name, path in targets:
            dags_found[name] = parse_once(path, env)["dags"]
        times: dict[str, list[float]] = {name: [] for name, _ in targets}
        for rep in range(repeat):
            k = rep % len(targets)
            order = targets[k:] + targets[:k]
            for name, path in order:
                times[name].append(parse_once(path, env)["seconds"])
            progress(f"DAG parse: repetition {rep + 1}/{repeat} done")
    floor = statistics.median(times["trivial"])
    per_file: dict[str, Any] = {}
    goals = []
    for name, _ in targets:
        s = summarize(times[name])
        s["dags"] = dags_found[name]
        s["vs_trivial"] = round(s["median_s"] / floor, 3) if name != "trivial" else 1.0
        per_file[name] = s
        if name != "trivial":
            goals.append(goal(f"parse {name} <= {GOAL_PARSE_VS_TRIVIAL}x trivial DAG", s["vs_trivial"],
                              GOAL_PARSE_VS_TRIVIAL, at_most=True))
    return {
        "repeat": repeat,
        "method": ("each file executed with runpy in a fresh interpreter (AIRFLOW_HOME and CX_HOME in a "
                   "temp dir, no database); time from before its first import to the end of the file; "
                   "bytecode caches on; one untimed warm-up per file, then repetitions interleaved in rotated order"),
        "trivial_dag": TRIVIAL_DAG,
        "files": per_file,
        "goals": goals,
    }


def print_parse_report(res: dict[str, Any]) -> None:
    rows = [
        [name, str(f["dags"]), fmt_seconds(f["median_s"]), fmt_seconds(f["min_s"]), fmt_seconds(f["max_s"]),
         fmt_ratio(f["vs_trivial"])]
        for name, f in res["files"].items()
    ]
    print()
    print(f"DAG parse benchmark: fresh interpreter per parse, median of {res['repeat']}")
    print(format_table(["file", "dags", "median s", "min s", "max s", "vs trivial"], rows))
    for g in res["goals"]:
        print(f"  goal {g['goal']}: {fmt_ratio(g['value'])} -> {verdict(g)}")


# ---------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cxw bench",
        description="Benchmark the loader against bare COPY and dlt, and the DAG files' parse time.",
    )
    p.add_argument("--rows", type=int, default=DEFAULT_ROWS,
                   help=f"rows in the generated orders file (default {DEFAULT_ROWS:,})")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="generator seed (default %(default)s)")
    p.add_argument("--repeat", type=int, default=DEFAULT_REPEAT,
                   help="repetitions of the loader and COPY ways (default %(default)s; median reported)")
    p.add_argument("--dlt-repeat", type=int, default=DEFAULT_DLT_REPEAT,
                   help="repetitions of the dlt way (default %(default)s: it is slow)")
    p.add_argument("--parse-repeat", type=int, default=DEFAULT_PARSE_REPEAT,
                   help="repetitions of each DAG parse (default %(default)s)")
    p.add_argument("--skip-dlt", action="store_true", help="do not run the dlt way")
    p.add_argument("--only", choices=("loader", "parse", "transform", "ingest"),
                   help="run only one of the benchmarks")
    p.add_argument("--customers", type=int, default=None,
                   help="transform benchmark: customers in the generated world (default 50,000)")
    p.add_argument("--days", type=int, default=None, help="transform benchmark: days (default 365)")
    p.add_argument("--daily-days", type=int, default=None,
                   help="transform benchmark: days of deliveries per incremental cycle (default 4, about 1%%)")
    p.add_argument("--cycles", type=int, default=None,
                   help="transform benchmark: daily cycles, each an incremental run and a full refresh (default 2)")
    p.add_argument("--history", type=int, nargs="+", default=None, metavar="DAYS",
                   help="ingest benchmark: days of history in the landing zones compared (default "
                        f"{' '.join(map(str, INGEST_DEFAULT_HISTORY))}); --customers sets the world "
                        f"(default {INGEST_DEFAULT_CUSTOMERS:,}), --repeat the new days")
    p.add_argument("--compare-with", type=Path, default=None, metavar="CHECKOUT",
                   help="ingest benchmark: also time the loader of another checkout (e.g. a git worktree of an "
                        "earlier commit), side by side on databases of its own")
    p.add_argument("--port", type=int, default=None,
                   help=f"port of the benchmark's own PostgreSQL (default {DEFAULT_PORT} or a free one)")
    p.add_argument("--out", type=Path, default=None, help="results file (default <CX_HOME>/bench/results.json)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.rows < 1 or args.repeat < 1 or args.dlt_repeat < 0 or args.parse_repeat < 1:
        print("cxw bench: --rows, --repeat and --parse-repeat must be positive", file=sys.stderr)
        return 2
    settings = get_settings()
    bench_dir = settings.home / "bench"
    out = args.out or bench_dir / "results.json"
    started = datetime.now(UTC)
    results: dict[str, Any] = {
        "timestamp": started.isoformat(timespec="seconds"),
        "command": "cxw bench " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine_facts(),
        "goals_definition": {
            "loader_vs_copy_at_most": GOAL_LOADER_VS_COPY,
            "dlt_vs_loader_at_least": GOAL_DLT_VS_LOADER,
            "parse_vs_trivial_at_most": GOAL_PARSE_VS_TRIVIAL,
        },
    }
    goals: list[dict[str, Any]] = []
    load = results["machine"]["load_average"]
    if load and load[0] > 0.5 * (os.cpu_count() or 1):
        say(f"note: the machine is busy (load average {load[0]}); timings will be noisy")
    if args.only in (None, "loader"):
        say(f"loader benchmark: {args.rows:,} rows; loader and COPY x{args.repeat}, "
            f"dlt x{0 if args.skip_dlt else args.dlt_repeat}; own PostgreSQL in {bench_dir / 'pgdata'}")
        pg, started_here = bench_server(bench_dir / "pgdata", args.port)
        say(f"benchmark PostgreSQL on 127.0.0.1:{pg.port}")
        try:
            res = loader_benchmark(
                pg.url(), bench_dir, rows=args.rows, seed=args.seed, repeat=args.repeat,
                dlt_repeat=0 if args.skip_dlt else args.dlt_repeat)
        finally:
            if started_here:
                pg.stop()
        results["loader"] = res
        results["rows"] = args.rows
        results["machine"]["postgres_version"] = res["postgres_version"]
        goals += res["goals"]
        print_loader_report(res)
        write_results({**results, "finished": datetime.now(UTC).isoformat(timespec="seconds"),
                       "goals": goals}, out)  # keep the loader numbers if the parse run fails
    if args.only in (None, "transform"):
        from cx_bench import transform as bt

        customers = args.customers or bt.DEFAULT_CUSTOMERS
        say(f"transform benchmark: {customers:,} customers; own PostgreSQL in {bench_dir / 'pgdata'}")
        pg, started_here = bench_server(bench_dir / "pgdata", args.port)
        try:
            from cx_warehouse.warehouse.connection import connect

            with connect(pg.url("postgres"), autocommit=True) as conn:
                conn.execute("drop database if exists bench_transform with (force)")
                conn.execute("create database bench_transform template template0 encoding UTF8")
            res = bt.transform_benchmark(
                pg.url("bench_transform"), bench_dir, customers=customers,
                days=args.days or bt.DEFAULT_DAYS, daily_days=args.daily_days or bt.DEFAULT_DAILY_DAYS,
                cycles=args.cycles or bt.DEFAULT_CYCLES, progress=say)
        finally:
            if started_here:
                pg.stop()
        res["goals"] = bt.transform_goals(res, goal)
        results["transform"] = res
        goals += res["goals"]
        bt.print_transform_report(res)
        write_results({**results, "finished": datetime.now(UTC).isoformat(timespec="seconds"),
                       "goals": goals}, out)
    if args.only == "ingest":  # not in the default run: it generates and loads a year of files
        say(f"ingest benchmark: own PostgreSQL in {bench_dir / 'pgdata'}")
        pg, started_here = bench_server(bench_dir / "pgdata", args.port)
        try:
            res = ingest_benchmark(pg, bench_dir, customers=args.customers or INGEST_DEFAULT_CUSTOMERS,
                                   history=args.history or INGEST_DEFAULT_HISTORY, repeat=args.repeat,
                                   compare_with=args.compare_with)
        finally:
            if started_here:
                pg.stop()
        results["ingest"] = res
        goals += res["goals"]
        print_ingest_report(res)
    if args.only in (None, "parse"):
        say("DAG parse benchmark")
        res = parse_benchmark(PROJECT_DIR / "dags", repeat=args.parse_repeat)
        results["parse"] = res
        goals += res["goals"]
        print_parse_report(res)
    results["goals"] = goals
    results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["machine"]["load_average_at_end"] = _load_average()
    write_results(results, out)
    missed = [g for g in goals if g["passed"] is False]
    print()
    for g in goals:
        print(f"{verdict(g):>12}  {g['goal']} (measured {fmt_ratio(g['value'])})")
    if missed:
        print(f"MISSED {len(missed)} of {len(goals)} goal(s) (a benchmark, so the exit code stays 0)")
    print(f"results written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
