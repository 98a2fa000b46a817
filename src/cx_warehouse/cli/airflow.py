"""``cxw airflow``: any Airflow command with the project's AIRFLOW_HOME and DAGs, run so that
what Airflow writes (the generated admin password above all) is readable by this user only
(:func:`cx_warehouse.airflow.local.run_airflow`)."""

from __future__ import annotations

import argparse
from typing import Any

from cx_warehouse.config.settings import get_settings


def cmd_airflow(args: argparse.Namespace) -> int:
    from cx_warehouse.airflow.local import ensure_metadata_db, run_airflow

    s = get_settings()
    ensure_metadata_db(s)
    if args.airflow_args[:1] == ["standalone"]:
        # DAG tasks start the embedded warehouse on demand; start it now so the UI's first run is quick.
        from cx_warehouse.warehouse.connection import warehouse_url

        warehouse_url(s)
    return run_airflow(args.airflow_args, s)


def register(sub: Any) -> None:
    a = sub.add_parser("airflow", help="run an airflow command with the project's AIRFLOW_HOME and DAGs")
    a.add_argument("airflow_args", nargs=argparse.REMAINDER)
    a.set_defaults(func=cmd_airflow)
