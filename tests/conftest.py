"""Shared fixtures: a real embedded PostgreSQL for the whole session.

The suite never touches the developer's ``.cx`` folder: it starts its own server in a
temporary directory on a free port and points every component at it through
``CX_WAREHOUSE_URL``, the same setting a user sets for an external warehouse.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from cx_warehouse.warehouse.connection import connect
from cx_warehouse.warehouse.embedded import EmbeddedPostgres


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def cx_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("cx_home")
    os.environ["CX_HOME"] = str(home)
    os.environ["CX_LANDING"] = str(home / "landing")
    return home


@pytest.fixture(scope="session")
def pg_server(cx_home: Path) -> Iterator[EmbeddedPostgres]:
    pg = EmbeddedPostgres(pgdata=cx_home / "pgdata", port=_free_port())
    pg.start()
    os.environ["CX_WAREHOUSE_URL"] = pg.url()
    try:
        yield pg
    finally:
        pg.stop()


@pytest.fixture
def warehouse_url(pg_server: EmbeddedPostgres) -> Iterator[str]:
    """An empty warehouse database of its own for one test."""
    name = f"t_{os.getpid()}_{_free_port()}"
    with connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute(f'create database "{name}" template template0 encoding UTF8')
    url = pg_server.url(name)
    old = os.environ.get("CX_WAREHOUSE_URL")
    os.environ["CX_WAREHOUSE_URL"] = url
    try:
        yield url
    finally:
        if old is not None:
            os.environ["CX_WAREHOUSE_URL"] = old
        with connect(pg_server.url("postgres"), autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')
