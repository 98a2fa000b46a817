"""``python -m cx_demo.generator``: write a synthetic landing zone and its ground truth."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from cx_demo.generator import FaultRates, generate, write_bulk_orders
from cx_demo.generator.pipeline import SHARD_SIZE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cx_demo.generator",
        description="Generate daily CRM, survey and social files with planted faults and a ground-truth JSON.")
    parser.add_argument("--landing", type=Path, help="landing zone directory to write into")
    parser.add_argument("--truth", type=Path, help="where to write the ground-truth JSON")
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 11, 1), help="first day, YYYY-MM-DD")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--shard-size", type=int, default=SHARD_SIZE,
                        help="customers simulated at a time (memory grows with it; default %(default)s)")
    parser.add_argument("--clean", action="store_true", help="plant no faults")
    parser.add_argument("--bulk-orders", type=Path, metavar="CSV",
                        help="instead: write one large orders CSV for benchmarks")
    parser.add_argument("--rows", type=int, default=2_000_000, help="rows of --bulk-orders")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    faults = FaultRates.none() if args.clean else None
    if args.bulk_orders:
        result = write_bulk_orders(args.bulk_orders, args.rows, seed=args.seed, faults=faults)
        print(json.dumps(result, indent=1))
        return 0
    if not args.landing or not args.truth:
        parser.error("--landing and --truth are required (or use --bulk-orders)")
    say = None if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    summary = generate(args.landing, args.truth, customers=args.customers, days=args.days, start=args.start,
                       seed=args.seed, faults=faults, progress=say, shard_size=args.shard_size)
    print(json.dumps({"files": summary.files, "rows": summary.rows, "bytes": summary.bytes,
                      "seconds": summary.seconds, "shards": summary.shards, "fault_counts": summary.fault_counts,
                      "entities": summary.entities}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
