"""What every ``cxw`` command shares: the error a user can fix, and how to print."""

from __future__ import annotations

from datetime import UTC, datetime


class CliError(RuntimeError):
    """A problem the user can fix; printed without a traceback."""


def say(msg: str = "") -> None:
    print(msg, flush=True)


def step(n: int, total: int, msg: str) -> None:
    say(f"\n[{n}/{total}] {msg}")


def timestamp(text: str | None) -> datetime | None:
    if not text:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
