#!/usr/bin/env bash
# sqlfluff over the dbt models with the dbt templater (.sqlfluff). The templater compiles each
# model with dbt, which reads the profile's CX_DB_* variables and the business rules
# (CX_BUSINESS_CONFIG) from the environment: cx_warehouse.transform.dbt provides both. The templater
# opens a real database connection while it compiles (it fails on "dbt tried to connect to the
# database" otherwise), so this lints against CX_LINT_WAREHOUSE_URL when set (an empty database),
# else it uses an empty database cx_lint in the embedded warehouse (started for the lint and
# stopped after it when it was not running). No data is
# needed. Artefacts go to a temp dir, never to the transform's target/.
#   scripts/lint-sql.sh               lint dbt_project/models
#   scripts/lint-sql.sh fix           fix what sqlfluff can, then lint
set -euo pipefail
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
started=""
trap 'rm -rf "$tmp"; [ -z "$started" ] || .venv/bin/cxw warehouse stop >/dev/null' EXIT
url="${CX_LINT_WAREHOUSE_URL:-}"
if [ -z "$url" ]; then
  # started here, stopped here: a lint leaves the machine as it found it
  if ! .venv/bin/cxw warehouse status | grep -q running; then started=1; fi
  .venv/bin/cxw warehouse start >/dev/null
  # an empty database of its own: is_incremental() then renders the full-refresh branch
  # whatever the warehouse holds, so a lint gives the same result everywhere
  url="$(.venv/bin/python - "$(.venv/bin/cxw warehouse url)" <<'PY'
import sys
from cx_warehouse.warehouse.connection import connect
url = sys.argv[1]
with connect(url, autocommit=True) as conn:
    if not conn.execute("select 1 from pg_database where datname = 'cx_lint'").fetchone():
        conn.execute("create database cx_lint")
print(url.rsplit("/", 1)[0] + "/cx_lint")
PY
)"
fi
eval "$(.venv/bin/python - "$url" <<'PY'
import shlex, sys
from cx_warehouse.transform.dbt import dbt_env
for k, v in dbt_env(sys.argv[1]).items():
    if k.startswith(("CX_", "DBT_")):
        print(f"export {k}={shlex.quote(v)}")
PY
)"
export DBT_TARGET_PATH="$tmp/target" DBT_LOG_PATH="$tmp/logs"
if [ "${1:-}" = fix ]; then
  shift
  .venv/bin/sqlfluff fix --processes 0 dbt_project/models "$@" || true
fi
.venv/bin/sqlfluff lint --processes 0 dbt_project/models "$@"
