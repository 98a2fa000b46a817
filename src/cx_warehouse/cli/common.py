"""What every ``cxw`` command shares: the error a user can fix, how to print, and the checks of
option values.

An option's value is checked by its ``type=`` converter while argparse reads the command line,
so a bad ``--until`` or port ends the command before it touches the warehouse, with one
sentence that names the option and the form it wants (:class:`argparse.ArgumentTypeError`).
"""

from __future__ import annotations

import argparse
import re
from datetime import UTC, date, datetime

from cx_warehouse.config.settings import SettingsError, parse_port

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
EXAMPLE_DATE = "2026-03-14"
EXAMPLE_TIMESTAMP = "2026-03-14T08:00:00+08:00"


class CliError(RuntimeError):
    """A problem the user can fix; printed without a traceback."""


def say(msg: str = "") -> None:
    print(msg, flush=True)


def step(n: int, total: int, msg: str) -> None:
    say(f"\n[{n}/{total}] {msg}")


def iso_date(text: str) -> date:
    """A ``YYYY-MM-DD`` option value (``type=`` converter).

    Only that one form: ``date.fromisoformat`` would also take ``20260314`` or ``2026-W11-2``,
    which a person typing a delivery date does not mean.
    """
    try:
        if _ISO_DATE.fullmatch(text.strip()):
            return date.fromisoformat(text.strip())
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"{text!r} is not a date: give a real day as YYYY-MM-DD, e.g. {EXAMPLE_DATE}")


def port(text: str) -> int:
    """A TCP port option value, 1 to 65535 (``type=`` converter)."""
    try:
        return parse_port(text, "the port")
    except SettingsError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port number: give a number from 1 to 65535") from None


def iso_timestamp(text: str) -> datetime:
    """An ISO 8601 time option value, UTC when it has no offset (``type=`` converter)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time: give it in ISO 8601, e.g. {EXAMPLE_TIMESTAMP} (UTC when no offset is given)"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def timestamp(text: str | datetime | None) -> datetime | None:
    """An ISO 8601 time given on the command line (UTC without an offset), or None when empty.

    Takes a value already converted by :func:`iso_timestamp` as it is; a bad text raises
    :class:`CliError` (one sentence, no traceback) for commands that convert it themselves.
    """
    if not text:
        return None
    if isinstance(text, datetime):
        return text if text.tzinfo else text.replace(tzinfo=UTC)
    try:
        return iso_timestamp(text)
    except argparse.ArgumentTypeError as exc:
        raise CliError(str(exc)) from None
