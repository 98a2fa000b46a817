"""The one owner of the warehouse's operational schemas: versioned migrations.

The tables that hold what no run can recompute (what every landed file became, the quality
gates' evidence, every transform step's outcome, each day's at-risk list, who was mailed what)
were created by whichever task touched them first, each module with its own
``create ... if not exists``. A column added to one of them then reached only databases where
the table did not exist yet. Now each change is a numbered SQL file in ``versions/``, applied
once per database in order and recorded in ``audit.schema_migrations``.

Entry points that write those tables call :func:`ensure_current` first (cheap when the
database is current); ``cxw warehouse migrate`` runs :func:`migrate_command`. Not owned here:
the ``raw.<source>_<entity>`` tables, which ``config/sources/*.yml`` generate
(:func:`cx_warehouse.ingest.loader.ensure_schema`), the ``analytics`` model outputs, whose columns
the Python models own and replace whole, dbt's schemas and the BI role.
"""

from cx_warehouse.warehouse.migrations.runner import (
    BOOKKEEPING_TABLE,
    AppliedVersion,
    Migration,
    MigrationError,
    applied_versions,
    current_version,
    ensure_current,
    latest_version,
    migrate,
    migrate_command,
    migrations,
    pending,
)

__all__ = [
    "BOOKKEEPING_TABLE",
    "AppliedVersion",
    "Migration",
    "MigrationError",
    "applied_versions",
    "current_version",
    "ensure_current",
    "latest_version",
    "migrate",
    "migrate_command",
    "migrations",
    "pending",
]
