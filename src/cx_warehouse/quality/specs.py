"""The suite and gate files under ``expectations/``: parsing and checking them.

Suites are hand-written YAML, one per validated relation, in GX's own vocabulary (an
expectation is its GX ``type`` plus ``kwargs``) with two things GX does not gate on but we do:
``severity`` (``critical`` stops the pipeline, ``warning`` is recorded and shown) and the
``batch`` the suite validates. Gates (``expectations/gates.yml``) name the suites that run
together at one point of the pipeline; each becomes a GX Checkpoint at run time.

The files are checked here, before GX sees them, so a typo fails with the file and the
entry that is wrong instead of a pydantic trace from inside GX.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from cx_warehouse.config.settings import PROJECT_DIR

SEVERITIES = ("critical", "warning")
SCOPES = ("new_loads", "table", "query")
QUERY_PARAMETERS = ("source", "as_of", "interval_start", "interval_end", "run_id")
"""Named parameters a query batch may use, as ``%(name)s``; the gate fills them in."""

_NAME = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$")


class SpecError(ValueError):
    """A suite or gate file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class ExpectationSpec:
    """One expectation: GX type and kwargs, our severity, and why it exists."""

    type: str
    kwargs: dict[str, Any]
    severity: str
    notes: str = ""

    @property
    def column(self) -> str | None:
        col = self.kwargs.get("column")
        return str(col) if col is not None else None

    def label(self) -> str:
        """``type(column)`` or ``type(a, b)``: how messages and tables name it."""
        cols = self.kwargs.get("column") or self.kwargs.get("column_list") or (
            [self.kwargs["column_A"], self.kwargs["column_B"]] if "column_A" in self.kwargs else None)
        if isinstance(cols, list):
            cols = ", ".join(map(str, cols))
        return f"{self.type}({cols})" if cols else self.type


@dataclass(frozen=True)
class BatchSpec:
    """What a suite validates.

    * ``new_loads``: the rows of ``relation`` written by loads that no passing validation of
      this suite has covered yet (raw tables: each load is judged once, and a load that failed
      is judged again on the next run until it passes);
    * ``table``: the whole relation (marts, rebuilt every run);
    * ``query``: the rows of a SQL query in the file, with named parameters.
    """

    scope: str
    relation: str | None = None
    query: str | None = None
    key: tuple[str, ...] = ()
    columns: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SuiteSpec:
    """One suite file."""

    name: str
    description: str
    batch: BatchSpec
    expectations: tuple[ExpectationSpec, ...]
    personal_data: tuple[str, ...] = ()
    path: Path | None = None

    @property
    def file_label(self) -> str:
        if self.path is None:
            return self.name
        try:
            return str(self.path.relative_to(PROJECT_DIR))
        except ValueError:
            return str(self.path)


@dataclass(frozen=True)
class GateSpec:
    """A gate: the suites validated together at one point of the pipeline."""

    name: str
    description: str
    suites: tuple[str, ...]
    parameters: dict[str, Any] = field(default_factory=dict)


def expectations_dir() -> Path:
    return PROJECT_DIR / "expectations"


def _gx_expectation_types() -> set[str]:
    """Every expectation type GX Core knows (imported lazily: GX is heavy)."""
    from cx_warehouse.quality.gx_runtime import import_gx

    import_gx()
    from great_expectations.expectations.registry import list_registered_expectation_implementations

    return set(list_registered_expectation_implementations())


def parse_suite(path: Path, known_types: set[str] | None = None) -> SuiteSpec:
    """Read one suite file; raise :class:`SpecError` naming the file and the problem."""
    try:
        where = str(path.resolve().relative_to(PROJECT_DIR))
    except ValueError:
        where = str(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpecError(f"{where}: not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise SpecError(f"{where}: expected a mapping with suite, batch and expectations")
    unknown = set(doc) - {"suite", "description", "batch", "expectations", "personal_data"}
    if unknown:
        raise SpecError(f"{where}: unknown keys {sorted(unknown)}")
    name = doc.get("suite")
    if not isinstance(name, str) or not _NAME.match(name):
        raise SpecError(f"{where}: 'suite' must be a name like raw.crm_orders, got {name!r}")

    b = doc.get("batch") or {}
    scope = b.get("scope")
    if scope not in SCOPES:
        raise SpecError(f"{where}: batch.scope must be one of {SCOPES}, got {scope!r}")
    if scope == "query" and not b.get("query"):
        raise SpecError(f"{where}: batch.scope query needs batch.query")
    if scope != "query" and not b.get("relation"):
        raise SpecError(f"{where}: batch.scope {scope} needs batch.relation")
    query = b.get("query")
    if query:
        for p in re.findall(r"%\((\w+)\)s", query):
            if p not in QUERY_PARAMETERS:
                raise SpecError(f"{where}: batch.query uses %({p})s; known: {QUERY_PARAMETERS}")
    batch = BatchSpec(
        scope=scope,
        relation=b.get("relation"),
        query=query,
        key=tuple(b.get("key") or ()),
        columns=dict(b.get("columns") or {}),
    )

    exps = []
    for i, e in enumerate(doc.get("expectations") or [], start=1):
        at = f"{where}: expectation {i}"
        if not isinstance(e, dict) or "type" not in e:
            raise SpecError(f"{at}: needs 'type' (a GX expectation type such as expect_column_values_to_not_be_null)")
        extra = set(e) - {"type", "kwargs", "severity", "notes"}
        if extra:
            raise SpecError(f"{at} ({e['type']}): unknown keys {sorted(extra)}; GX arguments go under kwargs")
        if known_types is not None and e["type"] not in known_types:
            raise SpecError(f"{at}: GX has no expectation type {e['type']!r}")
        severity = e.get("severity")
        if severity not in SEVERITIES:
            raise SpecError(f"{at} ({e['type']}): severity must be one of {SEVERITIES}, got {severity!r}")
        exps.append(ExpectationSpec(type=e["type"], kwargs=dict(e.get("kwargs") or {}),
                                    severity=severity, notes=str(e.get("notes") or "").strip()))
    if not exps:
        raise SpecError(f"{where}: a suite needs at least one expectation")
    return SuiteSpec(
        name=name,
        description=str(doc.get("description") or "").strip(),
        batch=batch,
        expectations=tuple(exps),
        personal_data=tuple(doc.get("personal_data") or ()),
        path=path,
    )


@cache
def _load_all(root: Path, check_types: bool) -> tuple[dict[str, SuiteSpec], dict[str, GateSpec]]:
    known = _gx_expectation_types() if check_types else None
    suites: dict[str, SuiteSpec] = {}
    for path in sorted(root.rglob("*.yml")):
        if path.name == "gates.yml":
            continue
        s = parse_suite(path, known)
        if s.name in suites:
            raise SpecError(f"{path}: suite {s.name} is also defined in {suites[s.name].path}")
        suites[s.name] = s

    gates_file = root / "gates.yml"
    doc = yaml.safe_load(gates_file.read_text(encoding="utf-8")) or {}
    gates: dict[str, GateSpec] = {}
    for gname, g in (doc.get("gates") or {}).items():
        names = tuple(g.get("suites") or ())
        missing = [n for n in names if n not in suites]
        if missing:
            raise SpecError(f"{gates_file}: gate {gname} names suites with no file: {missing}")
        gates[gname] = GateSpec(name=gname, description=str(g.get("description") or "").strip(),
                                suites=names, parameters=dict(g.get("parameters") or {}))
    return suites, gates


def load_suites(root: Path | None = None, *, check_types: bool = False) -> dict[str, SuiteSpec]:
    """Every suite under ``expectations/`` by name."""
    return _load_all((root or expectations_dir()).resolve(), check_types)[0]


def load_gates(root: Path | None = None) -> dict[str, GateSpec]:
    """Every gate in ``expectations/gates.yml`` by name."""
    return _load_all((root or expectations_dir()).resolve(), False)[1]
