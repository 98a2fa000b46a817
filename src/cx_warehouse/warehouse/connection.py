"""The one warehouse URL every component uses, and connections to it.

``CX_WAREHOUSE_URL`` names an external PostgreSQL; unset, the embedded server
(:mod:`cx_warehouse.warehouse.embedded`) is started on demand, so any task runs on a fresh machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

from cx_warehouse.config.settings import Settings, get_settings

if TYPE_CHECKING:
    import psycopg

from cx_warehouse.warehouse.embedded import WarehouseError, embedded


def warehouse_url(settings: Settings | None = None, *, start: bool = True) -> str:
    """The one warehouse URL every component uses.

    ``CX_WAREHOUSE_URL`` when set; otherwise the embedded server's URL, starting the
    server first when ``start`` is true (so any task can run on a fresh machine).
    """
    s = settings or get_settings()
    if s.warehouse_url:
        return s.warehouse_url
    pg = embedded(s)
    if start:
        pg.start()
    elif not pg.secret_file.exists():
        raise WarehouseError("the embedded warehouse has never been started: run `make demo` first")
    return pg.url()


def describe_url(url: str) -> str:
    """The URL without its password, for logs and messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{parts.username}@{host}" if parts.username else host
    if parts.port:
        netloc += f":{parts.port}"
    return f"{parts.scheme}://{netloc}{parts.path}"


def url_for_user(url: str, user: str, password: str) -> str:
    """The same server and database as ``url``, as another role (e.g. the BI role)."""
    parts = urlsplit(url)
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{parts.hostname}:{parts.port or 5432}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def relation_exists(conn: psycopg.Connection[Any], name: str) -> bool:
    """Whether ``schema.name`` exists yet: summaries and audits read tables a first run creates."""
    row = conn.execute("select to_regclass(%s) is not null", (name,)).fetchone()
    return bool(row and row[0])


@contextmanager
def connect(url: str | None = None, **kwargs: object) -> Iterator[psycopg.Connection]:
    """A psycopg connection to the warehouse with UTC session time zone."""
    import psycopg

    target = url or warehouse_url()
    try:
        conn = psycopg.connect(target, **kwargs)  # type: ignore[arg-type]
    except psycopg.OperationalError as exc:
        raise WarehouseError(
            f"cannot connect to the warehouse at {describe_url(target)}: {str(exc).strip()}\n"
            "Check CX_WAREHOUSE_URL, or unset it to use the embedded warehouse."
        ) from None
    with conn:
        conn.execute("set time zone 'UTC'")
        yield conn
