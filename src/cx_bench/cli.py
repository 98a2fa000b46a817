"""``cxw bench``: the benchmarks (BENCHMARKS.md), registered in ``cxw`` when this package is installed."""

from __future__ import annotations

import argparse
from typing import Any


def cmd_bench(args: argparse.Namespace) -> int:
    from cx_bench import suite

    return suite.main(args.bench_args)


def register(sub: Any) -> None:
    b = sub.add_parser("bench", help="benchmarks (see BENCHMARKS.md)", add_help=False)
    b.add_argument("bench_args", nargs=argparse.REMAINDER)
    b.set_defaults(func=cmd_bench)
