"""Keep personal data out of stored quality results and Data Docs.

A failed format check on ``email`` would otherwise copy the failing e-mail addresses into
``audit.quality_results`` and onto a static web page. Values of a suite's
``personal_data`` columns are replaced by their *shape* (letters become ``a``/``A``, digits
``9``, runs collapsed), which still shows why a value broke a format (``a@a`` has no dot,
``+99 9`` is too short) without showing the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_MAX_TEXT = 200
MAX_ROWS = 50
"""Failing values and rows kept per expectation; the stored query lists them all."""


def shape(value: object) -> str:
    """``jane.doe@mail.com`` -> ``a.a@a.a``; ``+86 138 0013`` -> ``+9 9 9``."""
    text = str(value)
    text = re.sub(r"[^\W\d_]+", lambda m: "A" if m.group(0)[0].isupper() else "a", text)
    text = re.sub(r"\d+", "9", text)
    return f"<personal data, shape {text[:40]}>"


def _truncate(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _MAX_TEXT:
        return value[:_MAX_TEXT] + "…"
    return value


def scrub_result(result: dict[str, Any], column: str | None, personal: Iterable[str]) -> dict[str, Any]:
    """A copy of a GX result dict with personal values replaced by their shape.

    ``column`` is the expectation's column: its values in the unexpected lists are personal
    when the column is. Index rows (``{key: ..., column: value}``) are scrubbed per field.
    Long texts are cut, since the stored copy is for finding the row, not reading it.
    """
    personal = set(personal)
    column_is_personal = column in personal

    def value(v: Any) -> Any:
        return shape(v) if column_is_personal and v is not None else _truncate(v)

    def row(r: Any) -> Any:
        if isinstance(r, dict):
            return {k: (shape(v) if k in personal and v is not None else _truncate(v)) for k, v in r.items()}
        return value(r)

    out: dict[str, Any] = {}
    for k, v in result.items():
        if k in ("partial_unexpected_list", "unexpected_list") and isinstance(v, list):
            out[k] = [value(x) for x in v[:MAX_ROWS]]
        elif k == "partial_unexpected_counts" and isinstance(v, list):
            out[k] = [{**c, "value": value(c.get("value"))} if isinstance(c, dict) else c for c in v[:MAX_ROWS]]
        elif k in ("partial_unexpected_index_list", "unexpected_index_list") and isinstance(v, list):
            out[k] = [row(x) for x in v[:MAX_ROWS]]
        elif k == "observed_value":
            out[k] = value(v)
        elif k == "unexpected_index_query":
            out[k] = v
        else:
            out[k] = v
    return out
