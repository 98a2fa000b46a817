#!/usr/bin/env bash
# Sets up everything the project needs from PyPI alone: a private copy of uv, then the
# locked environment in .venv. Safe to run again: it only does what is missing.
#   scripts/setup.sh            core + dev tools (tests, linters)
#   scripts/setup.sh bench      also the optional benchmark group (dlt)
# Reports also need things from the OS (Debian/Ubuntu package names): Pango, which
# WeasyPrint renders PDFs with; CJK and emoji fonts, so Chinese text and the emoji customers
# write render as text and not boxes;
# and poppler-utils (pdftoppm), which turns a report's PDF into PNG pages to look at.
# They are installed with apt-get when missing and this runs as root (or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

os_packages_missing() {
  local missing=()
  fc-list ':lang=zh' 2>/dev/null | grep -q . || missing+=(fonts-noto-cjk)
  fc-list 2>/dev/null | grep -qi 'Noto Color Emoji' || missing+=(fonts-noto-color-emoji)
  command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
  ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so.0' || missing+=(libpango-1.0-0 libpangoft2-1.0-0)
  ldconfig -p 2>/dev/null | grep -q 'libharfbuzz-subset.so.0' || missing+=(libharfbuzz-subset0)
  echo "${missing[@]:-}"
}
missing="$(os_packages_missing)"
if [ -n "${missing// /}" ]; then
  SUDO=""
  if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; fi
  if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || [ -n "$SUDO" ]; }; then
    echo "==> installing OS packages for reports: $missing"
    $SUDO apt-get update -qq >/dev/null
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
  else
    echo "error: reports need these OS packages: $missing (Debian/Ubuntu names; on macOS: brew install pango poppler font-noto-sans-cjk). Install them and run again." >&2
    exit 1
  fi
fi

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
