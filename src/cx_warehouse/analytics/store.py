"""Write a model's output table back to the warehouse, all or nothing.

Every scoring task replaces its whole table in one transaction: a re-run for the same data
gives the same table (idempotent), and readers never see a half-written one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

SCHEMA = "analytics"


def replace_table(
    conn: Any,
    table: str,
    columns: Sequence[tuple[str, str]],
    rows: Iterable[Sequence[Any]],
    *,
    comment: str | None = None,
) -> int:
    """Replace ``analytics.<table>`` with ``rows``, all or nothing.

    The drop, create and COPY run in one transaction block: a transaction of its own on an
    idle connection, or a savepoint inside the caller's transaction (as under
    :func:`cx_warehouse.warehouse.connection.connect`, which commits when its block ends), so a failure
    leaves the previous table in place either way.

    Args:
        conn: an open psycopg connection (not in autocommit).
        table: table name inside the ``analytics`` schema.
        columns: ``(name, postgres type)`` pairs, in row order.
        rows: the rows to write.
        comment: table comment (what the table is and which task writes it).

    Returns:
        The number of rows written.
    """
    from psycopg import sql

    from cx_warehouse.warehouse.migrations import ensure_current

    ident = sql.Identifier(SCHEMA, table)
    col_defs = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(type_)) for name, type_ in columns
    )
    col_names = sql.SQL(", ").join(sql.Identifier(name) for name, _ in columns)
    count = 0
    with conn.transaction(), conn.cursor() as cur:
        ensure_current(conn)  # the analytics schema is migrations' own; its tables are the models'
        # drop + create (not truncate) so a changed column list never leaves a stale shape
        cur.execute(sql.SQL("drop table if exists {}").format(ident))
        cur.execute(sql.SQL("create table {} ({})").format(ident, col_defs))
        if comment:
            cur.execute(sql.SQL("comment on table {} is {}").format(ident, sql.Literal(comment)))
        with cur.copy(sql.SQL("copy {} ({}) from stdin").format(ident, col_names)) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    return count
