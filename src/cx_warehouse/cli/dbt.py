"""``cxw dbt``: dbt on the warehouse, credentials from the one setting."""

from __future__ import annotations

import argparse
from typing import Any


def cmd_dbt(args: argparse.Namespace) -> int:
    from cx_warehouse.transform.dbt import run_dbt

    return run_dbt(args.dbt_args)


def register(sub: Any) -> None:
    dbt = sub.add_parser("dbt", help="run dbt on the warehouse (credentials from the one setting)")
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER)
    dbt.set_defaults(func=cmd_dbt)
