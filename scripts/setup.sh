#!/usr/bin/env bash
# Sets up everything the project needs from PyPI alone: a private copy of uv, then the
# locked environment in .venv. Safe to run again: it only does what is missing.
#   scripts/setup.sh            core + dev tools (tests, linters)
#   scripts/setup.sh bench      also the optional benchmark group (dlt)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for candidate in python3.11 python3.12 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then PYTHON="$candidate"; break; fi
  done
fi
if [ -z "$PYTHON" ] || ! "$PYTHON" -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] < (3, 13) else 1)' 2>/dev/null; then
  echo "error: Python 3.11 or 3.12 is needed (found: ${PYTHON:-none}). Install it, or run: make PYTHON=/path/to/python3.11 ..." >&2
  exit 1
fi

CX_HOME="${CX_HOME:-$PWD/.cx}"
TOOLS="$CX_HOME/tools"
UV="$TOOLS/bin/uv"
if [ ! -x "$UV" ]; then
  echo "==> installing uv (package manager) into $TOOLS"
  "$PYTHON" -m venv "$TOOLS"
  "$TOOLS/bin/python" -m pip install --quiet --disable-pip-version-check "uv>=0.5,<1"
fi

export UV_PYTHON_DOWNLOADS=never      # use the Python that is here; never download one
export UV_PROJECT_ENVIRONMENT="$PWD/.venv"
groups=(--group dev)
if [ "${1:-}" = "bench" ]; then groups+=(--group bench); fi
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv from uv.lock (first run: about a minute)"
fi
"$UV" sync --frozen --inexact --python "$PYTHON" "${groups[@]}" --quiet
