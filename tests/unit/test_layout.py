"""The layout keeps runtime and tooling apart: what the wheel and the image ship is runtime only.

The demo (``cx_demo``) and the benchmarks (``cx_bench``) are development tools: the runtime
package never imports them, and an environment synced without the dev and bench groups
(``uv sync --no-dev``, as the image does) holds none of their dependencies.
"""

from __future__ import annotations

import ast
import tomllib

from cx_warehouse.config.settings import PROJECT_DIR

RUNTIME = PROJECT_DIR / "src" / "cx_warehouse"
TOOLING_ONLY = {"dlt", "astronomer-cosmos", "pytest", "lifetimes", "aiosmtpd", "trustme"}


def _runtime_closure() -> set[str]:
    """Every package ``uv sync --no-dev`` installs, from uv.lock (markers ignored: a superset)."""
    lock = tomllib.loads((PROJECT_DIR / "uv.lock").read_text())
    packages = {p["name"]: p for p in lock["package"]}
    seen: set[str] = set()
    todo: list[tuple[str, tuple[str, ...]]] = [("cx-warehouse", ())]
    while todo:
        name, extras = todo.pop()
        key = f"{name}[{','.join(sorted(extras))}]"
        if key in seen:
            continue
        seen.add(key)
        pkg = packages[name]
        deps = list(pkg.get("dependencies", []))
        for extra in extras:
            deps += pkg.get("optional-dependencies", {}).get(extra, [])
        todo += [(d["name"], tuple(d.get("extra", ()))) for d in deps]
    return {k.split("[")[0] for k in seen}


def test_runtime_environment_holds_no_tooling_dependency() -> None:
    closure = _runtime_closure()
    assert {"apache-airflow", "dbt-core", "great-expectations", "psycopg"} <= closure  # the walk works
    assert not closure & TOOLING_ONLY, sorted(closure & TOOLING_ONLY)


def test_tooling_dependencies_are_in_their_groups() -> None:
    project = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())
    runtime = " ".join(project["project"]["dependencies"])
    assert "dlt" not in runtime and "cosmos" not in runtime
    groups = project["dependency-groups"]
    assert any(d.startswith("dlt") for d in groups["bench"])
    assert any(d.startswith("astronomer-cosmos") for d in groups["bench"])


def test_the_wheel_ships_the_runtime_package_only() -> None:
    project = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())
    assert project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["src/cx_warehouse"]
    dockerfile = (PROJECT_DIR / "docker" / "Dockerfile").read_text()
    assert "COPY src/cx_warehouse ./src/cx_warehouse" in dockerfile
    assert "COPY src ./src" not in dockerfile


def test_runtime_package_never_imports_the_demo_or_the_benchmarks() -> None:
    offenders = []
    for path in RUNTIME.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.relative_to(RUNTIME)}: {n}" for n in names
                          if n.split(".")[0] in ("cx_demo", "cx_bench")]
    assert offenders == []


def test_no_demo_or_benchmark_code_under_the_runtime_package() -> None:
    names = {p.stem for p in RUNTIME.rglob("*.py")} | {p.name for p in RUNTIME.rglob("*") if p.is_dir()}
    assert not {n for n in names if n.startswith("bench") or n in ("generator", "demo")}
