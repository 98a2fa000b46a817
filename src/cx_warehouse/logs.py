"""Log conventions shared by the loader, the transform and the Python models."""

PROGRESS_MARK = "[cx-load]"
"""Prefix of the one progress line per entity load or transform step, which ``make demo`` echoes."""
