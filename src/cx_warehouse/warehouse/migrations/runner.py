"""Apply the numbered SQL files of ``versions/`` to a warehouse, once each, in order.

A file ``NNNN_<name>.sql`` is version ``NNNN``. Applied versions are recorded in
``audit.schema_migrations`` with the SHA-256 of their text, so a file edited after it reached a
database is refused (with the file named) instead of silently meaning two different schemas.

One run is one transaction under a transaction-level advisory lock, each version in a
savepoint of its own:

- PostgreSQL's DDL is transactional, so a failing version leaves the database at the version
  the run started from, never between two versions or with some DDL of a version but no
  bookkeeping row.
- Two tasks that start together on a fresh database queue on the lock; the second finds
  everything applied and applies nothing, and they can never interleave versions.
- ``pg_advisory_xact_lock`` (not the session-level lock) also works on a connection that is
  already in a transaction: the lock, the DDL and the bookkeeping then commit, or roll back,
  with the caller's work.

So a version cannot use statements that refuse to run in a transaction (``create index
concurrently``); none does.

Self-contained on purpose: it needs psycopg and a connection or URL, nothing of the project.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

BOOKKEEPING_TABLE = "audit.schema_migrations"
LOCK_KEY = "cx_warehouse:schema_migrations"
"""Hashed into the advisory lock every migration run holds."""

_PACKAGE = __name__.rpartition(".")[0]
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_BOOKKEEPING_DDL = """
create schema if not exists audit;
create table audit.schema_migrations (
    version integer primary key,
    name text not null,
    checksum text not null,
    applied_at timestamptz not null default now()
);
comment on table audit.schema_migrations is
    'One row per applied migration (cx_warehouse migrations/versions/NNNN_name.sql): SHA-256 of its text, when.';
"""


class MigrationError(RuntimeError):
    """The warehouse's schema cannot be brought to this release's version; the message says why."""


@dataclass(frozen=True)
class Migration:
    """One version file."""

    version: int
    name: str
    file: str
    """Path inside the package, e.g. ``versions/0001_operational_schemas.sql``: what messages name."""
    sql: str = field(repr=False)

    @property
    def checksum(self) -> str:
        """SHA-256 of the text with line endings normalised (a checkout with CRLF is the same file)."""
        return hashlib.sha256(self.sql.replace("\r\n", "\n").encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AppliedVersion:
    """One row of ``audit.schema_migrations``."""

    version: int
    name: str
    checksum: str
    applied_at: datetime


@cache
def migrations() -> tuple[Migration, ...]:
    """This release's versions, in order (read once per process from the package data)."""
    found: dict[int, Migration] = {}
    for entry in files(_PACKAGE).joinpath("versions").iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _FILE_NAME.match(entry.name)
        if match is None:
            raise MigrationError(f"versions/{entry.name}: a migration file is named NNNN_<lowercase_name>.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"versions/{entry.name} and {found[version].file} have the same version {version}")
        found[version] = Migration(version, match.group(2), f"versions/{entry.name}", entry.read_text("utf-8"))
    ordered = tuple(found[v] for v in sorted(found))
    if [m.version for m in ordered] != list(range(1, len(ordered) + 1)):
        raise MigrationError(f"migration versions must run 1, 2, 3 ... without gaps; found {sorted(found)}")
    return ordered


def latest_version() -> int:
    """The version this release brings a database to."""
    return migrations()[-1].version


def applied_versions(conn: psycopg.Connection[Any]) -> list[AppliedVersion]:
    """What ``audit.schema_migrations`` records, oldest first; [] before the first migration."""
    row = conn.execute("select to_regclass(%s) is not null", (BOOKKEEPING_TABLE,)).fetchone()
    if not (row and row[0]):
        return []
    rows = conn.execute(
        "select version, name, checksum, applied_at from audit.schema_migrations order by version").fetchall()
    return [AppliedVersion(*r) for r in rows]


def current_version(conn: psycopg.Connection[Any]) -> int:
    """The highest version applied to the database, 0 when it was never migrated."""
    return max((a.version for a in applied_versions(conn)), default=0)


def pending(conn: psycopg.Connection[Any]) -> list[Migration]:
    """This release's versions not applied yet; raises when an applied file has changed since."""
    applied = {a.version: a for a in applied_versions(conn)}
    _check_unchanged(applied)
    return [m for m in migrations() if m.version not in applied]


def _check_unchanged(applied: dict[int, AppliedVersion]) -> None:
    by_version = {m.version: m for m in migrations()}
    for a in applied.values():
        m = by_version.get(a.version)
        if m is None:
            # a newer release migrated this database; its additions are not this code's concern
            log.warning("warehouse schema has version %d (%s), which this release does not know", a.version, a.name)
        elif m.checksum != a.checksum:
            raise MigrationError(
                f"{m.file} was changed after it was applied to this warehouse on {a.applied_at:%Y-%m-%d %H:%M} UTC "
                f"(checksum then {a.checksum[:12]}, now {m.checksum[:12]}). An applied migration must never change: "
                "restore the file and put the change in a new version file."
            )


def migrate(target: psycopg.Connection[Any] | str) -> list[Migration]:
    """Apply every pending version in order; returns what this call applied ([] when current).

    Args:
        target: a warehouse URL, or an open connection (autocommit or not; when it is in a
            transaction, the migration commits with it).

    Raises:
        MigrationError: an applied file has changed, or a version failed (nothing of this run
            is kept; the message names the file and PostgreSQL's error).
    """
    if isinstance(target, str):
        import psycopg

        with psycopg.connect(target, autocommit=True) as conn:
            return migrate(conn)
    return _migrate(target)


def _migrate(conn: psycopg.Connection[Any]) -> list[Migration]:
    import psycopg

    done: list[Migration] = []
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))", (LOCK_KEY,))
        row = conn.execute("select to_regclass(%s) is not null", (BOOKKEEPING_TABLE,)).fetchone()
        if not (row and row[0]):
            conn.execute(_BOOKKEEPING_DDL)
        for m in pending(conn):  # read under the lock: what a concurrent run applied is seen here
            with conn.transaction():
                try:
                    conn.execute(m.sql.encode("utf-8"))
                except psycopg.Error as exc:
                    raise MigrationError(f"{m.file} failed, nothing of this migration run was kept: "
                                         f"{str(exc).strip()}") from exc
                conn.execute("insert into audit.schema_migrations (version, name, checksum) values (%s, %s, %s)",
                             (m.version, m.name, m.checksum))
            done.append(m)
    for m in done:
        log.info("warehouse schema: applied %s", m.file)
    return done


def ensure_current(conn: psycopg.Connection[Any]) -> list[Migration]:
    """Bring the warehouse to this release's version unless it is there; what writers call first.

    Costs two small queries when the database is current (no lock, no DDL), so every entry
    point that writes an operational table can call it. Inside a caller's transaction it runs
    in a savepoint and commits with the caller; on an idle connection it leaves no
    transaction open.

    Raises:
        MigrationError: as :func:`migrate`, also when the database is already current but an
            applied file has changed.
    """
    with conn.transaction():
        applied = {a.version: a for a in applied_versions(conn)}
        _check_unchanged(applied)
        if all(m.version in applied for m in migrations()):
            return []
        return _migrate(conn)


def migrate_command(url: str, *, check: bool = False, say: Callable[[str], None] = print) -> int:
    """``cxw warehouse migrate [--check]``: apply pending versions, or only list them.

    Args:
        url: the warehouse URL.
        check: list what is pending without applying it; exit status 1 when anything is.
        say: where the lines for the user go.

    Returns:
        The exit status.

    Raises:
        MigrationError: as :func:`migrate` (a message for the user, no traceback needed).
    """
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        before = current_version(conn)
        if check:
            todo = pending(conn)
            for m in todo:
                say(f"pending: {m.file}")
            say(f"warehouse schema at version {before}, this release's is {latest_version()}"
                + (f": {len(todo)} migration(s) pending, run `cxw warehouse migrate`" if todo else ": up to date"))
            return 1 if todo else 0
        done = migrate(conn)
        for m in done:
            say(f"applied: {m.file}")
        after = current_version(conn)
        say(f"warehouse schema at version {after}" + ("" if done else " (up to date, nothing applied)"))
    return 0
