"""A read-only role for BI tools: the ``marts`` schema and nothing else.

``cx_bi`` may connect and read every table and view in ``marts``. It has no rights on
``raw``, ``audit`` (personal data, quarantine), ``staging`` or ``intermediate``. Default privileges
make tables that dbt creates later readable too, so the grants survive every rebuild; the
transform DAG also re-applies them after each build.

Its password comes from ``CX_BI_PASSWORD``; for the embedded warehouse one is generated into
``<CX_HOME>/bi.secret`` (mode 600). Against an external warehouse without that setting the
role is created without login, for an administrator to finish.
"""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING

from cx_warehouse.config.settings import get_settings

if TYPE_CHECKING:
    import psycopg

BI_ROLE = "cx_bi"
MARTS_SCHEMA = "marts"
PRIVATE_SCHEMAS = ("raw", "audit", "staging", "intermediate")


def bi_password() -> str | None:
    """``CX_BI_PASSWORD``, or the embedded warehouse's generated one, or None."""
    s = get_settings()
    if os.environ.get("CX_BI_PASSWORD"):
        return os.environ["CX_BI_PASSWORD"]
    if not s.is_embedded:
        return None
    secret = s.home / "bi.secret"
    if not secret.exists():
        secret.parent.mkdir(parents=True, exist_ok=True)
        secret.write_text(secrets.token_urlsafe(24) + "\n")
        secret.chmod(0o600)
    return secret.read_text().strip()


def ensure_bi_access(conn: psycopg.Connection, password: str | None) -> None:
    """Create or update the BI role and its grants (idempotent)."""
    from psycopg import sql

    role = sql.Identifier(BI_ROLE)
    marts = sql.Identifier(MARTS_SCHEMA)
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtextextended('cx_warehouse:bi_access', 0))")
        exists = conn.execute("select 1 from pg_roles where rolname = %s", (BI_ROLE,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("create role {} nologin").format(role))
        if password:
            conn.execute(sql.SQL("alter role {} login password {}").format(role, sql.Literal(password)))
        database = conn.execute("select current_database()").fetchone()[0]  # type: ignore[index]
        conn.execute(sql.SQL("grant connect on database {} to {}").format(sql.Identifier(database), role))
        conn.execute(sql.SQL("create schema if not exists {}").format(marts))
        conn.execute(sql.SQL("grant usage on schema {} to {}").format(marts, role))
        conn.execute(sql.SQL("grant select on all tables in schema {} to {}").format(marts, role))
        conn.execute(sql.SQL("alter default privileges in schema {} grant select on tables to {}").format(marts, role))
        for schema in PRIVATE_SCHEMAS:
            if conn.execute("select 1 from pg_namespace where nspname = %s", (schema,)).fetchone():
                conn.execute(sql.SQL("revoke all on schema {} from {}").format(sql.Identifier(schema), role))
                conn.execute(sql.SQL("revoke all on all tables in schema {} from {}").format(
                    sql.Identifier(schema), role))
