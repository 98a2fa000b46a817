"""Fingerprint a CX warehouse: per relation, the columns (name + type), the row count and an
order-independent content hash over the columns that are deterministic for the same landed data.

It proves that a change which should not change behaviour (a refactor, a new layout) builds the
same warehouse from the same landed data. It never imports cx_warehouse, so the same code
fingerprints a warehouse built by any release:

    python -m cx_demo.fingerprint take --url "$(cxw warehouse url)" --out before.json --mask-prefix "$CX_HOME"
    ... rebuild from the same landing zone with the new code ...
    python -m cx_demo.fingerprint take --url ... --out after.json --mask-prefix "$CX_HOME"
    python -m cx_demo.fingerprint compare before.json after.json -v

Content hash of a relation:
    md5(string_agg(h, '' order by h)) over h = md5(row(<kept, normalised columns>)::text)
i.e. independent of physical row order, sensitive to every kept value (and to duplicates).

Two kinds of rule keep the hash stable between two runs of the same code on the same landing:
  * exclude   - the column is left out of the hash (still listed under "columns");
  * normalise - the column is hashed after a regexp_replace that masks run-specific tokens
                (run ids with a wall-clock time, uuid4 load ids, CX_HOME paths), keeping the rest.
Every rule that applied is written per table with the reason, and the full rule set is written
at the top of the JSON, so a reviewer can see exactly what was not compared.

Session settings are pinned (TimeZone=UTC, DateStyle=ISO, IntervalStyle=postgres,
extra_float_digits) so the text form of values does not depend on the client or server defaults.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")
RELKINDS = {"r": "table", "p": "partitioned table", "v": "view", "m": "materialized view", "f": "foreign table"}

UUID_RE = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# Airflow run ids: manual__2026-12-03T12:20:41.038546+00:00, scheduled__..., backfill__..., dataset_triggered__...
RUN_ID_RE = r"(manual|scheduled|backfill|dataset_triggered|asset_triggered)__[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.+-]+"

# Each rule: match on schema / table / column (anchored regexes, case-insensitive) and/or the
# column's type; action exclude or normalise. First matching rule wins, in this order.
RULES: list[dict[str, str]] = [
    # --- wall-clock timestamps and durations written by the loader / gates / transform runner
    {"id": "load-time", "action": "exclude", "column": r"_loaded_at|loaded_at|quarantined_at|validated_at|applied_at",
     "why": "wall-clock time the row was loaded / quarantined / validated (now() at load time)"},
    {"id": "run-timing", "action": "exclude",
     "column": r"started_at|finished_at|duration_ms|timings_ms|seconds|elapsed.*|.*_seconds",
     "why": "wall-clock start/end and measured durations of a load, gate or transform step"},
    {"id": "outbox-times", "action": "exclude", "schema": r"reports", "table": r"outbox",
     "column": r"created_at|updated_at|sent_at|rendered_at|last_error|attempts|message_id",
     "why": "times and delivery bookkeeping of report sending (wall clock, SMTP message ids)"},
    {"id": "rendered-at", "action": "exclude", "column": r"rendered_at|generated_at|sha256_rendered|rendered_sha256|html_sha256|pdf_sha256",
     "why": "render time, or a hash of a rendered file that embeds the render time"},
    # --- floating point: the order rows reach avg()/sum() depends on the plan, and float
    # addition is not associative, so the 15th significant digit can move between two builds
    {"id": "float-digits", "action": "round", "type": r"double precision|real",
     "why": "float8/float4 compared at 12 significant digits: an aggregate's summation order follows the "
            "query plan, which can move the last digits (seen: 2 of 6,801 avg_sentiment_score values)"},
    # --- random identifiers minted per run (uuid4): load ids, validation ids, gate-run ids
    {"id": "uuid-type", "action": "exclude", "type": r"uuid|uuid\[\]",
     "why": "uuid4 minted per run (load_id, _load_id, validation_id, gate_run_id, covered_load_ids): "
            "random, so different on every rebuild; the rows they key are still compared by their other columns"},
    {"id": "uuid-name", "action": "exclude", "column": r"_load_id|load_id|validation_id|gate_run_id|covered_load_ids",
     "why": "per-run random identifier stored as text"},
    # --- surrogate keys whose values depend on the order independent Airflow tasks ran in
    {"id": "serial-by-task-order", "action": "exclude", "schema": r"audit", "table": r"quarantine",
     "column": r"quarantine_id",
     "why": "bigserial handed out in load order; the ingest_crm entity tasks are independent and Airflow "
            "runs them in no fixed order, so which entity gets ids 1..n changes between runs (the natural key "
            "source, entity, file_path, line_number is still hashed)"},
    # --- text that embeds run ids / load ids / CX_HOME: normalised, not dropped
    {"id": "run-id", "action": "normalise", "column": r"run_id|dag_run_id",
     "why": "Airflow run id embeds the wall-clock time the DAG was triggered (manual__<now>); masked to manual__<ts>"},
    {"id": "embedded-run-tokens", "action": "normalise",
     "column": r"batch_sql|failing_rows_query|parameters|kwargs|notes|observed_value|exception|error|failing_rows",
     "why": "SQL / JSON written by the quality gates embeds the run id and the uuid4 load ids of the batch; "
            "run ids -> manual__<ts>, uuids -> <uuid>"},
    {"id": "paths", "action": "normalise", "column": r"path|.*_path|.*_file|file_name|definition",
     "why": "file paths may be absolute (contain CX_HOME or the checkout dir); everything up to and including "
            "'/landing/', '/reports/archive/', CX_HOME or the repo root is masked"},
]


def rule_matches(rule: dict[str, str], schema: str, table: str, column: str, coltype: str) -> bool:
    for key, value in (("schema", schema), ("table", table), ("column", column), ("type", coltype)):
        pat = rule.get(key)
        if pat is not None and not re.fullmatch(pat, value, flags=re.IGNORECASE):
            return False
    return True


def normalised_expr(col: sql.Composable, coltype: str, path_prefixes: list[str]) -> sql.Composable:
    """Text of the value with run-specific tokens masked. NULL stays NULL."""
    e = sql.SQL("({})::text").format(col)
    e = sql.SQL("regexp_replace({}, {}, {}, 'g')").format(e, sql.Literal(RUN_ID_RE), sql.Literal(r"\1__<ts>"))
    e = sql.SQL("regexp_replace({}, {}, {}, 'g')").format(e, sql.Literal(UUID_RE), sql.Literal("<uuid>"))
    for p in path_prefixes:
        e = sql.SQL("replace({}, {}, {})").format(e, sql.Literal(p), sql.Literal("<root>/"))
    # any absolute path that still reaches into a landing zone or report archive
    e = sql.SQL("regexp_replace({}, {}, {}, 'g')").format(
        e, sql.Literal(r"(/[^\s'\",]*)?/(landing|reports/archive)/"), sql.Literal(r"<\2>/"))
    return e


def fingerprint(url: str, include_views: bool, path_prefixes: list[str], schemas: list[str] | None) -> dict[str, Any]:
    t0 = time.time()
    out: dict[str, Any] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("set TimeZone = 'UTC'")
        conn.execute("set DateStyle = 'ISO, YMD'")
        conn.execute("set IntervalStyle = 'postgres'")
        conn.execute("set extra_float_digits = 0")  # 15 significant digits for float8, 6 for float4
        conn.execute("set max_parallel_workers_per_gather = 0")  # identical plans / float sums
        conn.execute("set statement_timeout = '10min'")
        version = conn.execute("select version()").fetchone()
        server = version[0] if version else ""
        kinds = [k for k in RELKINDS if include_views or k not in ("v", "m")]
        rels = conn.execute(
            """
            select n.nspname, c.relname, c.relkind
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where c.relkind = any(%s)
              and n.nspname <> all(%s) and n.nspname not like 'pg_temp%%' and n.nspname not like 'pg_toast%%'
            order by 1, 2
            """, (kinds, list(SYSTEM_SCHEMAS))).fetchall()
        if schemas:
            rels = [r for r in rels if r[0] in schemas]
        tables: dict[str, Any] = {}
        for schema, rel, kind in rels:
            cols = conn.execute(
                """
                select a.attname, format_type(a.atttypid, a.atttypmod)
                from pg_attribute a
                where a.attrelid = (quote_ident(%s) || '.' || quote_ident(%s))::regclass
                  and a.attnum > 0 and not a.attisdropped
                order by a.attnum
                """, (schema, rel)).fetchall()
            columns, excluded, normalised = [], {}, {}
            exprs: list[sql.Composable] = []
            for name, coltype in cols:
                columns.append({"name": name, "type": coltype})
                rule = next((r for r in RULES if rule_matches(r, schema, rel, name, coltype)), None)
                ident = sql.Identifier(name)
                if rule and rule["action"] == "exclude":
                    excluded[name] = f"[{rule['id']}] {rule['why']}"
                    continue
                if rule and rule["action"] == "round":
                    normalised[name] = f"[{rule['id']}] {rule['why']}"
                    exprs.append(sql.SQL(
                        "case when t.{c} is null or t.{c} = 0 or t.{c} in ('NaN', 'Infinity', '-Infinity') "
                        "then t.{c}::text else round(t.{c}::numeric, 11 - floor(log(abs(t.{c}::numeric)))::int)::text end"
                    ).format(c=ident))
                elif rule and rule["action"] == "normalise":
                    normalised[name] = f"[{rule['id']}] {rule['why']}"
                    exprs.append(normalised_expr(sql.SQL("t.{}").format(ident), coltype, path_prefixes))
                else:
                    exprs.append(sql.SQL("t.{}").format(ident))
            row = sql.SQL("row({})::text").format(sql.SQL(", ").join(exprs)) if exprs else sql.SQL("''")
            q = sql.SQL(
                "select count(*), md5(coalesce(string_agg(h, '' order by h), '')) "
                "from (select md5({row}) as h from {rel} t) s"
            ).format(row=row, rel=sql.Identifier(schema, rel))
            t1 = time.time()
            try:
                n, digest = conn.execute(q).fetchone() or (None, None)
                err = None
            except psycopg.Error as exc:  # a broken view must not hide the other tables
                n, digest, err = None, None, f"{type(exc).__name__}: {str(exc).strip()}"
            entry = {
                "kind": RELKINDS[kind],
                "columns": columns,
                "row_count": n,
                "content_md5": digest,
                "hashed_columns": len(exprs),
                "excluded_columns": dict(sorted(excluded.items())),
                "normalised_columns": dict(sorted(normalised.items())),
            }
            if err:
                entry["error"] = err
            tables[f"{schema}.{rel}"] = entry
            print(f"  {schema}.{rel:<45} {n if n is not None else 'ERROR':>8} rows "
                  f"{digest or err}  ({time.time() - t1:.1f}s)", file=sys.stderr)
    out["tool"] = {
        "name": "fingerprint_warehouse.py",
        "hash": "md5(string_agg(md5(row(<kept columns, normalised>)::text), '' order by 1)); "
                "order-independent, duplicate-sensitive",
        "session": {"TimeZone": "UTC", "DateStyle": "ISO, YMD", "IntervalStyle": "postgres",
                    "extra_float_digits": 0, "max_parallel_workers_per_gather": 0},
        "include_views": include_views,
        "path_prefixes_masked": path_prefixes,
        "rules": RULES,
        "uuid_regex": UUID_RE,
        "run_id_regex": RUN_ID_RE,
    }
    # informational only (not compared by compare.py)
    out["meta"] = {"server": server, "taken_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
                   "seconds": round(time.time() - t0, 1)}
    out["summary"] = {
        "tables": len(tables),
        "rows": sum(t["row_count"] or 0 for t in tables.values()),
        "by_schema": {s: sum(1 for k in tables if k.split(".", 1)[0] == s)
                      for s in sorted({k.split(".", 1)[0] for k in tables})},
        "errors": sorted(k for k, t in tables.items() if "error" in t),
    }
    out["tables"] = tables
    return out


def take(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m cx_demo.fingerprint take", description="Fingerprint every relation of a warehouse into a JSON file.")
    p.add_argument("--url", required=True, help="PostgreSQL URL of the warehouse (cxw warehouse url)")
    p.add_argument("--out", required=True, help="JSON file to write")
    p.add_argument("--no-views", action="store_true", help="skip views (staging, some intermediate)")
    p.add_argument("--schema", action="append", help="only these schemas (repeatable; default: all non-system)")
    p.add_argument("--mask-prefix", action="append", default=[],
                   help="an absolute path prefix to mask in path-like columns (e.g. $CX_HOME/, the repo root); repeatable")
    a = p.parse_args(argv)
    prefixes = sorted({x.rstrip("/") + "/" for x in a.mask_prefix}, key=len, reverse=True)
    fp = fingerprint(a.url, not a.no_views, prefixes, a.schema)
    Path(a.out).write_text(json.dumps(fp, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    s = fp["summary"]
    print(f"{s['tables']} relations, {s['rows']:,} rows -> {a.out}"
          + (f"; ERRORS in {', '.join(s['errors'])}" if s["errors"] else ""), file=sys.stderr)
    return 1 if s["errors"] else 0



def cols(t: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["name"], c["type"]) for c in t.get("columns", [])]


def compare(argv: list[str]) -> int:
    """One line per relation; exit 0 only when every relation is identical."""
    p = argparse.ArgumentParser(prog="python -m cx_demo.fingerprint compare", description="Compare two fingerprint files.")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("-v", "--verbose", action="store_true", help="say what differs for each difference")
    args = p.parse_args(argv)
    A, B = (json.loads(Path(f).read_text(encoding="utf-8")) for f in (args.a, args.b))
    ta, tb = A.get("tables", {}), B.get("tables", {})
    names = sorted(set(ta) | set(tb))
    w = max([len(n) for n in names] + [5])
    print(f"{'table':<{w}}  {'rows a':>9}  {'rows b':>9}  equal?  what differs")
    print("-" * (w + 40))
    same = 0
    for n in names:
        x, y = ta.get(n), tb.get(n)
        why: list[str] = []
        if x is None or y is None:
            why.append(f"only in {'b' if x is None else 'a'}")
        else:
            ca, cb = cols(x), cols(y)
            if ca != cb:
                da, db = dict(ca), dict(cb)
                gone = [c for c in da if c not in db]
                new = [c for c in db if c not in da]
                retyped = [f"{c} {da[c]}->{db[c]}" for c in da if c in db and da[c] != db[c]]
                if gone:
                    why.append("columns only in a: " + ", ".join(gone))
                if new:
                    why.append("columns only in b: " + ", ".join(new))
                if retyped:
                    why.append("retyped: " + ", ".join(retyped))
                if not (gone or new or retyped):
                    why.append("column order differs")
            if x.get("excluded_columns") != y.get("excluded_columns") or \
               x.get("normalised_columns") != y.get("normalised_columns"):
                why.append("different exclusion/normalisation rules applied")
            if x.get("row_count") != y.get("row_count"):
                why.append("row count")
            if x.get("content_md5") != y.get("content_md5"):
                why.append("content hash")
            for side, t in (("a", x), ("b", y)):
                if t.get("error"):
                    why.append(f"error in {side}: {t['error'][:80]}")
        ok = not why
        same += ok
        ra = "-" if x is None else x.get("row_count")
        rb = "-" if y is None else y.get("row_count")
        detail = "" if ok else ("; ".join(why) if args.verbose or len("; ".join(why)) < 90 else "; ".join(why)[:87] + "...")
        print(f"{n:<{w}}  {str(ra):>9}  {str(rb):>9}  {'yes' if ok else 'NO':<6}  {detail}")
    if A.get("tool", {}).get("rules") != B.get("tool", {}).get("rules"):
        print("note: the two files were written with different rule sets (tool.rules differ)")
    print(f"\n{same} of {len(names)} tables identical")
    return 0 if same == len(names) else 1



def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in ("take", "compare"):
        print("usage: python -m cx_demo.fingerprint take --url URL --out FILE | compare A.json B.json [-v]",
              file=sys.stderr)
        return 2
    return take(args[1:]) if args[0] == "take" else compare(args[1:])


if __name__ == "__main__":
    sys.exit(main())
