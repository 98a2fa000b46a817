"""Identity-resolution benchmark (issue 13): union-find against the recursive closure it replaced.

``python -m cx_bench.identity`` builds synthetic identifier graphs of 10^4, 10^5 and 10^6 nodes
shaped like the warehouse's (mostly components of 1-20 nodes, plus one star of n/100 nodes, a
prolific respondent's e-mail; one random tree of n/100; one chain of n/500 through alternating
e-mails and CRM ids), and times, side by side on the same tables of one scratch database:

* **new**: the dbt model ``int_persons_resolved`` (``dbt run --select int_persons_resolved``;
  dbt's execution time of the model: pre-hook, build, rename, ANALYZE, without dbt's start-up),
  then the SQL dbt compiled for it as a ``create table as`` plus ANALYZE, the same footing as
  the old one (the figure compared). Its upstream relations ``int_identifiers_unioned`` and
  ``int_identity_edges`` are tables holding the synthetic graph, so only the resolution is
  measured. The union-find pass alone is timed too, on the numbered edges.
* **old**: the recursive-CTE SQL (``tests/fixtures/int_persons_resolved_recursive.sql``) as a
  ``create table as`` plus ANALYZE, under a statement timeout (it materialises the transitive
  closure, the sum of the components' sizes squared, and can run for hours at 10^6).

Runs alternate new, old, new ... per size; the old one repeats only while it stays cheap. When
the old run finishes, both tables must be identical, row for row (``except all`` both ways) and
column for column (names, types, collations). The graph's own figures are recorded beside the
times: components, the largest, the closure's size and the rounds naive min-label propagation
would need (the largest distance from a component's lowest node), where union-find makes one
pass over the edges whatever the shape.

The scratch PostgreSQL is an embedded server of its own in a temp dir, with the embedded
warehouse's settings, removed at the end. Other work on the machine makes timings noisy: load
averages are recorded at the start and the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cx_bench.suite import format_table, machine_facts, say, summarize, write_results
from cx_warehouse.config.settings import PROJECT_DIR

DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
DEFAULT_REPEAT = 3
DEFAULT_OLD_TIMEOUT_S = 600
OLD_REPEAT_BUDGET_S = 120  # the old method runs again only while its runs so far took less
DEFAULT_SEED = 13
OLD_SQL = PROJECT_DIR / "tests" / "fixtures" / "int_persons_resolved_recursive.sql"
MODEL = "int_persons_resolved"
SCHEMA = "intermediate"  # the prod target's schema, which `dbt run` builds into
NODE_TYPES = (("crm", "crm_customer", 0.40), ("survey", "survey_respondent", 0.35), ("social", "social_author", 0.25))
IDENTIFIER_TYPES = ("email", "phone", "handle", "crm_id")


# ---------------------------------------------------------------------------------------
# The synthetic graph
# ---------------------------------------------------------------------------------------
@dataclass
class Graph:
    """Nodes (node_id, node_type, customer_id), identifier groups and the star edges they make."""

    nodes: list[tuple[str, str, str | None]] = field(default_factory=list)
    groups: list[tuple[str, list[int]]] = field(default_factory=list)  # (identifier type, node indices)
    components: list[list[int]] = field(default_factory=list)  # node indices, as generated

    def identifier_rows(self) -> list[tuple[str, str, str | None, str, str]]:
        """int_identifiers_unioned's rows: each node's own id, and each identifier it carries."""
        own = {"crm_customer": "crm_id", "survey_respondent": "response_id", "social_author": "handle"}
        rows = [(nid, ntype, cid, own[ntype], nid.split(":", 1)[1]) for nid, ntype, cid in self.nodes]
        for g, (itype, members) in enumerate(self.groups):
            for m in members:
                nid, ntype, cid = self.nodes[m]
                rows.append((nid, ntype, cid, itype, f"{itype}-{g}"))
        return rows

    def edges(self) -> list[tuple[str, str, str]]:
        """int_identity_edges' rows: a star per identifier, every carrier to its lowest node."""
        out: set[tuple[str, str, str]] = set()
        for itype, members in self.groups:
            ids = [self.nodes[m][0] for m in members]
            hub = min(ids)
            out.update((i, hub, itype) for i in ids if i != hub)
        return sorted(out)


def synthetic_graph(n: int, seed: int) -> Graph:
    """A graph of ``n`` nodes shaped like the warehouse's identifier graph.

    Node ids are drawn in random order, so neither the structure nor the lowest node of a
    component follows the generation order.
    """
    rng = random.Random(seed)
    graph = Graph()
    numbers = rng.sample(range(10 * n), n)
    kinds = rng.choices(list(NODE_TYPES), weights=[k[2] for k in NODE_TYPES], k=n)
    for number, (prefix, node_type, _) in zip(numbers, kinds, strict=True):
        if prefix == "crm":
            customer_id = f"C{number:08d}"
            graph.nodes.append((f"crm:{customer_id}", node_type, customer_id))
        elif prefix == "survey":
            graph.nodes.append((f"survey:R{number:09d}", node_type, None))
        else:
            graph.nodes.append((f"social:user_{number}", node_type, None))

    start = 0

    def component(size: int, shape: str) -> None:
        nonlocal start
        members = list(range(start, start + size))
        start += size
        graph.components.append(members)
        if shape == "star":  # one identifier on every node: a prolific respondent's e-mail
            graph.groups.append(("email", members))
        elif shape == "chain":  # C1 -email- R1 -crm_id- C2 -email- R2 ...
            for j in range(1, size):
                graph.groups.append((("email", "crm_id")[j % 2], [members[j - 1], members[j]]))
        else:  # a random tree of identifiers shared by two or more nodes, a cycle now and then
            groups: list[int] = []
            for j in range(1, size):
                if groups and rng.random() < 0.3:
                    graph.groups[rng.choice(groups)][1].append(members[j])
                else:
                    groups.append(len(graph.groups))
                    graph.groups.append((rng.choice(IDENTIFIER_TYPES), [members[rng.randrange(j)], members[j]]))
            if size > 3 and rng.random() < 0.1:
                graph.groups.append((rng.choice(IDENTIFIER_TYPES), rng.sample(members, 2)))

    component(max(n // 100, 2), "star")
    component(max(n // 100, 2), "tree")
    component(max(n // 500, 2), "chain")
    while start < n:
        component(min(n - start, 20, int(rng.paretovariate(1.3))), "tree")
    return graph


def graph_figures(graph: Graph) -> dict[str, Any]:
    """Components, the largest, the closure's size and naive propagation's rounds.

    Naive min-label propagation (every node takes its neighbours' lowest label, round after
    round) needs as many rounds as the largest distance from a component's lowest node to
    any of its nodes: one breadth-first search per component from that node.
    """
    ids = [nid for nid, _, _ in graph.nodes]
    adjacency: list[list[int]] = [[] for _ in ids]
    index = {nid: i for i, nid in enumerate(ids)}
    edges = graph.edges()
    for a, b, _ in edges:
        adjacency[index[a]].append(index[b])
        adjacency[index[b]].append(index[a])
    sizes = sorted((len(c) for c in graph.components), reverse=True)
    rounds = 0
    for members in graph.components:
        root = min(members, key=lambda m: ids[m])
        depth = {root: 0}
        queue = deque([root])
        while queue:
            v = queue.popleft()
            for w in adjacency[v]:
                if w not in depth:
                    depth[w] = depth[v] + 1
                    queue.append(w)
        assert len(depth) == len(members), "a generated component is not connected"
        rounds = max(rounds, max(depth.values()))
    return {
        "nodes": len(ids),
        "edges": len(edges),
        "identifier_rows": len(graph.identifier_rows()),
        "components": len(sizes),
        "components_of_1_to_20_nodes": sum(1 for s in sizes if s <= 20),
        "largest_components": sizes[:3],
        "closure_pairs": sum(s * s for s in sizes),
        "naive_propagation_rounds": rounds,
    }


# ---------------------------------------------------------------------------------------
# The scratch database
# ---------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load_graph(url: str, graph: Graph) -> None:
    """The synthetic graph as the model's two upstream relations (tables here, views in dbt)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"drop schema if exists {SCHEMA} cascade")
        conn.execute(f"create schema {SCHEMA}")
        conn.execute(f"create table {SCHEMA}.int_identifiers_unioned (node_id text, node_type text,"
                     " customer_id text, identifier_type text, identifier_value text)")
        conn.execute(f"create table {SCHEMA}.int_identity_edges (node_id text, linked_node_id text,"
                     " identifier_type text)")
        with conn.cursor() as cur:
            with cur.copy(f"copy {SCHEMA}.int_identifiers_unioned from stdin") as copy:
                for row in graph.identifier_rows():
                    copy.write_row(row)
            with cur.copy(f"copy {SCHEMA}.int_identity_edges from stdin") as copy:
                for edge in graph.edges():
                    copy.write_row(edge)
        conn.execute(f"analyze {SCHEMA}.int_identifiers_unioned")
        conn.execute(f"analyze {SCHEMA}.int_identity_edges")
        conn.execute("checkpoint")


def run_new(url: str, work: Path) -> dict[str, Any]:
    """``dbt run --select int_persons_resolved``: dbt's execution time of the model, and the wall."""
    from cx_warehouse.transform.dbt import DBT_DIR, dbt_env

    dbt = str(Path(sys.executable).with_name("dbt"))
    t0 = time.perf_counter()
    out = subprocess.run(
        [dbt, "--no-use-colors", "run", "--select", MODEL, "--project-dir", str(DBT_DIR),
         "--target-path", str(work / "target"), "--log-path", str(work / "logs")],
        env=dbt_env(url), capture_output=True, text=True, timeout=7200)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"dbt run failed:\n{out.stdout[-3000:]}")
    results = json.loads((work / "target" / "run_results.json").read_text())
    (node,) = [r for r in results["results"] if r["unique_id"].endswith(f".{MODEL}")]
    return {"seconds": node["execution_time"], "dbt_wall_s": round(wall, 3)}


def compiled_model_sql(work: Path) -> str:
    """The model's SQL as dbt compiled it in the last run (the function exists by then)."""
    return (work / "target" / "compiled" / "cx_warehouse" / "models" / "intermediate" / "identity"
            / f"{MODEL}.sql").read_text()


def old_sql() -> str:
    return OLD_SQL.read_text().format(nodes=f"{SCHEMA}.int_identifiers_unioned", edges=f"{SCHEMA}.int_identity_edges")


def _backend_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) a local server process has used so far; None if unreadable.

    The machine is shared: wall time includes waiting for a core, CPU time much less so.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def create_table_as(url: str, table: str, sql: str, timeout_s: int) -> dict[str, Any]:
    """``create table <table> as <sql>`` + ANALYZE under a statement timeout: wall and CPU seconds.

    Without parallel workers, so the backend's CPU time is the whole of it (neither plan uses
    them here anyway: the CTEs and the recursion keep both serial).
    """
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"drop table if exists {SCHEMA}.{table}")
        conn.execute(f"set statement_timeout = '{int(timeout_s)}s'")
        conn.execute("set max_parallel_workers_per_gather = 0")
        pid = conn.info.backend_pid
        cpu0 = _backend_cpu_s(pid)
        t0 = time.perf_counter()
        try:
            conn.execute(f"create table {SCHEMA}.{table} as {sql}")
            conn.execute(f"analyze {SCHEMA}.{table}")
            timed_out = False
        except psycopg.errors.QueryCanceled:
            timed_out = True
        wall = time.perf_counter() - t0
        cpu1 = _backend_cpu_s(pid)
    cpu = None if cpu0 is None or cpu1 is None else round(cpu1 - cpu0, 2)
    if timed_out:
        return {"seconds": None, "timed_out_after_s": round(wall, 3), "cpu_s": cpu}
    return {"seconds": wall, "cpu_s": cpu}


def union_find_only(url: str) -> float:
    """The union-find pass alone, on the numbered edges (the model's function, as dbt created it)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("""
            create temp table numbered_edges as
            with vertices as (
                select node_id, (row_number() over ())::integer as node_number
                from (select distinct node_id from intermediate.int_identifiers_unioned) as n
            )
            select
                (select count(*)::integer from vertices) as node_count,
                array_agg(s.node_number) as source_nodes,
                array_agg(t.node_number) as target_nodes
            from intermediate.int_identity_edges as e
            inner join vertices as s on s.node_id = e.node_id
            inner join vertices as t on t.node_id = e.linked_node_id""")
        t0 = time.perf_counter()
        conn.execute("""
            select count(distinct r.root_node_number)
            from numbered_edges as ne
            cross join lateral intermediate.identity_connected_components(
                ne.node_count, ne.source_nodes, ne.target_nodes) as r""").fetchone()
        return time.perf_counter() - t0


def compare(url: str) -> dict[str, Any]:
    """Rows the two tables do not share (``except all`` both ways) and whether the columns agree."""
    import psycopg

    new, old = f"{SCHEMA}.{MODEL}", f"{SCHEMA}.persons_resolved_recursive"
    columns = """
        select a.attname, format_type(a.atttypid, a.atttypmod), a.attcollation
        from pg_attribute as a where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped
        order by a.attnum"""
    with psycopg.connect(url) as conn:
        only_new = conn.execute(f"select count(*) from (table {new} except all table {old}) as d").fetchone()
        only_old = conn.execute(f"select count(*) from (table {old} except all table {new}) as d").fetchone()
        same_columns = conn.execute(columns, (new,)).fetchall() == conn.execute(columns, (old,)).fetchall()
    rows_only_new = only_new[0] if only_new else None
    rows_only_old = only_old[0] if only_old else None
    return {"rows_only_in_new": rows_only_new, "rows_only_in_old": rows_only_old, "same_columns": same_columns,
            "identical": rows_only_new == 0 and rows_only_old == 0 and same_columns}


# ---------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------
def bench_size(pg: Any, n: int, *, seed: int, repeat: int, old_timeout_s: int, work: Path) -> dict[str, Any]:
    import psycopg

    say(f"{n:,} nodes: generating the graph")
    graph = synthetic_graph(n, seed)
    figures = graph_figures(graph)
    db = f"identity_{n}"
    with psycopg.connect(pg.url("postgres"), autocommit=True) as conn:
        conn.execute(f"drop database if exists {db} with (force)")
        conn.execute(f"create database {db} template template0 encoding UTF8")
    url = pg.url(db)
    say(f"{n:,} nodes: loading {figures['edges']:,} edges, {figures['identifier_rows']:,} identifier rows")
    load_graph(url, graph)
    del graph

    new_runs: list[dict[str, Any]] = []
    new_sql_runs: list[dict[str, Any]] = []
    old_runs: list[dict[str, Any]] = []
    for rep in range(repeat):
        new_runs.append(run_new(url, work))
        new_sql_runs.append(create_table_as(url, "persons_resolved_union_find", compiled_model_sql(work),
                                            old_timeout_s))
        say(f"{n:,} nodes: new run {rep + 1}: {new_runs[-1]['seconds']:.2f} s in dbt, "
            f"{new_sql_runs[-1]['seconds']:.2f} s as create table as ({new_sql_runs[-1]['cpu_s']} s CPU)")
        old_spent = sum((r["seconds"] or r["timed_out_after_s"]) for r in old_runs)
        if not any(r["seconds"] is None for r in old_runs) and old_spent < OLD_REPEAT_BUDGET_S:
            old_runs.append(create_table_as(url, "persons_resolved_recursive", old_sql(), old_timeout_s))
            took = old_runs[-1]["seconds"]
            say(f"{n:,} nodes: old run {len(old_runs)}: "
                + (f"{took:.2f} s" if took is not None else f"timed out after {old_timeout_s} s")
                + f" ({old_runs[-1]['cpu_s']} s CPU)")
    uf = [union_find_only(url) for _ in range(repeat)]
    timed_out = [r for r in old_runs if r["seconds"] is None]
    finished = [r for r in old_runs if r["seconds"] is not None]
    equality = compare(url) if finished else None
    with psycopg.connect(pg.url("postgres"), autocommit=True) as conn:
        conn.execute(f"drop database {db} with (force)")
    new = _walls_and_cpu(new_sql_runs)
    old = _walls_and_cpu(finished or timed_out, key="seconds" if finished else "timed_out_after_s")
    return {
        "graph": figures,
        "new": {"create_table_as": new,
                "in_dbt": summarize([r["seconds"] for r in new_runs]),
                "dbt_process_wall_s": [r["dbt_wall_s"] for r in new_runs],
                "union_find_pass": summarize(uf),
                "passes_over_edges": 1,
                "seconds_per_million_nodes": round(new["median_s"] / n * 1e6, 3)},
        "old": {"create_table_as": old, "runs": len(old_runs), "statement_timeout_s": old_timeout_s,
                "timed_out": bool(timed_out)},
        # when the old run timed out, its time (and CPU until cancelled) is a lower bound
        "old_vs_new": {"wall": _ratio(old["median_s"], new["median_s"]),
                       "cpu": _ratio(old["cpu_median_s"], new["cpu_median_s"]),
                       "is_lower_bound": bool(timed_out)},
        "equality": equality,
    }


def _walls_and_cpu(runs: list[dict[str, Any]], key: str = "seconds") -> dict[str, Any]:
    cpu = [r["cpu_s"] for r in runs if r["cpu_s"] is not None]
    return {**summarize([r[key] for r in runs]), "cpu_s": cpu,
            "cpu_median_s": round(statistics.median(cpu), 2) if cpu else None}


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else round(a / b, 1)


def main(argv: list[str] | None = None) -> int:
    from cx_warehouse.warehouse.embedded import EmbeddedPostgres

    p = argparse.ArgumentParser(prog="python -m cx_bench.identity", description=__doc__.split("\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    p.add_argument("--repeat", type=int, default=DEFAULT_REPEAT, help="runs of the new model per size (median)")
    p.add_argument("--old-timeout", type=int, default=DEFAULT_OLD_TIMEOUT_S, help="statement timeout of the old SQL, s")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--out", type=Path,
                   default=PROJECT_DIR / "benchmarks" / "results" / f"{datetime.now(UTC):%Y-%m-%d}-identity.json")
    args = p.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="cx-bench-identity-"))
    pg = EmbeddedPostgres(pgdata=work / "pgdata", port=_free_port())
    results: dict[str, Any] = {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m cx_bench.identity " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": machine_facts(),
        "method": __doc__,
        "seed": args.seed,
        "sizes": {},
    }
    try:
        pg.start()
        for n in args.sizes:
            results["sizes"][str(n)] = bench_size(pg, n, seed=args.seed, repeat=args.repeat,
                                                  old_timeout_s=args.old_timeout, work=work)
            write_results(results, args.out)
    finally:
        pg.stop()
        shutil.rmtree(work, ignore_errors=True)
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    write_results(results, args.out)

    rows = []
    for n, r in results["sizes"].items():
        new, old, ratio = r["new"]["create_table_as"], r["old"]["create_table_as"], r["old_vs_new"]
        bound = ">= " if ratio["is_lower_bound"] else ""
        rows.append([
            f"{int(n):,}", f"{r['graph']['edges']:,}", f"{r['graph']['largest_components'][0]:,}",
            f"{r['graph']['closure_pairs']:,}", str(r["graph"]["naive_propagation_rounds"]),
            f"{new['median_s']:.2f} ({new['cpu_median_s']})", f"{r['new']['in_dbt']['median_s']:.2f}",
            f"{r['new']['union_find_pass']['median_s']:.2f}",
            f"{bound}{old['median_s']:.2f} ({old['cpu_median_s']})" + (" timeout" if bound else ""),
            f"{bound}{ratio['wall']}x / {bound}{ratio['cpu']}x",
            "-" if r["equality"] is None else ("yes" if r["equality"]["identical"] else "NO"),
        ])
    print(format_table(["nodes", "edges", "largest", "closure pairs", "naive rounds", "new s (CPU)", "in dbt s",
                        "UF pass s", "old s (CPU)", "old/new wall / CPU", "identical"], rows))
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
