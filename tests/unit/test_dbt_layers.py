"""The dbt project keeps its layers: checked on the manifest of ``dbt parse`` (no database).

Staging reads sources only; intermediate reads staging, intermediate and snapshots; marts read
intermediate, staging, snapshots and marts; no intermediate model or mart reads a ``source()``
(the Python models' outputs enter through ``staging/analytics``). Every model has one YAML
(``_<folder>__models.yml``, one per folder), a description with its grain ("One row per ...")
and a primary-key test (``unique`` + ``not_null`` on one column, or
``unique_combination_of_columns``). :func:`layer_violations` is the check; the test runs it on
the real project and on small manifests that break each rule, so it provably can fail.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from cx_warehouse.transform.dbt import DBT_DIR, dbt_env

LAYERS = ("staging", "intermediate", "marts")
MAY_READ: dict[str, set[str]] = {
    "staging": {"source"},
    "intermediate": {"staging", "intermediate", "snapshot"},
    "marts": {"intermediate", "staging", "snapshot", "marts"},
}
"""Which layers (or ``source``) a model of each layer may read."""


def _layer(node: dict[str, Any]) -> str:
    if node["resource_type"] == "source":
        return "source"
    if node["resource_type"] == "snapshot":
        return "snapshot"
    parts = PurePosixPath(node["original_file_path"]).parts
    return next((p for p in parts[1:2] if p in LAYERS), "unknown")


def _has_primary_key_test(model_id: str, tests: list[dict[str, Any]]) -> bool:
    by_column: dict[str, set[str]] = {}
    for t in tests:
        if t.get("attached_node") != model_id:
            continue
        name = (t.get("test_metadata") or {}).get("name")
        if name == "unique_combination_of_columns":
            return True
        if name in ("unique", "not_null") and t.get("column_name"):
            by_column.setdefault(t["column_name"], set()).add(name)
    return any(names == {"unique", "not_null"} for names in by_column.values())


def layer_violations(manifest: dict[str, Any]) -> list[str]:
    """Every breach of the layer and documentation rules in a dbt manifest, one line each."""
    nodes = {**manifest.get("nodes", {}), **manifest.get("sources", {})}
    models = {uid: n for uid, n in nodes.items() if n["resource_type"] == "model"}
    tests = [n for n in nodes.values() if n["resource_type"] == "test"]
    problems: list[str] = []
    yamls_per_folder: dict[str, set[str]] = {}
    for uid, m in sorted(models.items()):
        name, layer = m["name"], _layer(m)
        if layer == "unknown":
            problems.append(f"{name}: not under models/staging, models/intermediate or models/marts")
            continue
        for parent_id in m.get("depends_on", {}).get("nodes", []):
            parent = nodes.get(parent_id)
            if parent is None:
                continue
            parent_layer = _layer(parent)
            if parent_layer not in MAY_READ[layer]:
                what = f"source('{parent['source_name']}', '{parent['name']}')" if parent_layer == "source" \
                    else f"{parent['name']} ({parent_layer})"
                problems.append(f"{name} ({layer}) reads {what}: {layer} may read only {sorted(MAY_READ[layer])}")
        if "one row per" not in (m.get("description") or "").lower():
            problems.append(f"{name}: the description has no grain sentence ('One row per ...')")
        if not _has_primary_key_test(uid, tests):
            problems.append(f"{name}: no primary-key test (unique + not_null, or unique_combination_of_columns)")
        folder = str(PurePosixPath(m["original_file_path"]).parent)
        patch = m.get("patch_path")
        if not patch:
            problems.append(f"{name}: no YAML ({folder}/_{PurePosixPath(folder).name}__models.yml)")
            continue
        yml = patch.split("://", 1)[-1]
        yamls_per_folder.setdefault(folder, set()).add(yml)
        expected = f"_{PurePosixPath(folder).name}__models.yml"
        if PurePosixPath(yml).name != expected:
            problems.append(f"{name}: described in {yml}; the folder's YAML is {expected}")
    for folder, ymls in sorted(yamls_per_folder.items()):
        if len(ymls) > 1:
            problems.append(f"{folder}: {len(ymls)} model YAML files ({', '.join(sorted(ymls))}); one per folder")
    return problems


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``dbt parse`` of the real project; the profile's variables point nowhere (no connection)."""
    target = tmp_path_factory.mktemp("dbt_parse")
    dbt = str(Path(sys.executable).with_name("dbt"))
    out = subprocess.run(
        [dbt, "--no-use-colors", "parse", "--project-dir", str(DBT_DIR),
         "--target-path", str(target / "target"), "--log-path", str(target / "logs")],
        env=dbt_env("postgresql://parse:parse@127.0.0.1:1/parse"), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:]
    return json.loads((target / "target" / "manifest.json").read_text())


def test_no_model_reads_above_its_layer_and_every_model_is_documented_and_keyed(manifest: dict[str, Any]) -> None:
    assert len([n for n in manifest["nodes"].values() if n["resource_type"] == "model"]) > 50
    assert layer_violations(manifest) == []


def _model(name: str, path: str, parents: list[str], *, description: str = "One row per thing.",
           patch: str | None = "auto") -> dict[str, Any]:
    folder = str(PurePosixPath(path).parent)
    return {"resource_type": "model", "name": name, "original_file_path": path,
            "depends_on": {"nodes": parents}, "description": description,
            "patch_path": f"cx://{folder}/_{PurePosixPath(folder).name}__models.yml" if patch == "auto" else patch}


def _pk(model_id: str, column: str = "id") -> dict[str, dict[str, Any]]:
    return {f"test.{model_id}.{kind}": {"resource_type": "test", "attached_node": model_id, "column_name": column,
                                        "test_metadata": {"name": kind}} for kind in ("unique", "not_null")}


def _synthetic(**overrides: dict[str, Any]) -> dict[str, Any]:
    """A three-layer project that keeps every rule; ``overrides`` replace or add models."""
    models = {
        "model.p.stg_a__things": _model("stg_a__things", "models/staging/a/stg_a__things.sql", ["source.p.a.things"]),
        "model.p.int_things_joined": _model("int_things_joined", "models/intermediate/x/int_things_joined.sql",
                                            ["model.p.stg_a__things"]),
        "model.p.fct_things": _model("fct_things", "models/marts/core/fct_things.sql", ["model.p.int_things_joined"]),
    }
    models.update({f"model.p.{k}": v for k, v in overrides.items()})
    nodes: dict[str, Any] = dict(models)
    for uid in models:
        nodes.update(_pk(uid))
    sources = {"source.p.a.things": {"resource_type": "source", "source_name": "a", "name": "things",
                                     "original_file_path": "models/staging/a/_a__sources.yml"}}
    return {"nodes": nodes, "sources": sources}


def test_the_check_passes_a_project_that_keeps_the_rules() -> None:
    assert layer_violations(_synthetic()) == []


def test_the_check_fails_an_intermediate_model_that_reads_a_mart() -> None:
    upwards = _model("int_things_joined", "models/intermediate/x/int_things_joined.sql", ["model.p.fct_things"])
    assert layer_violations(_synthetic(int_things_joined=upwards)) == [
        "int_things_joined (intermediate) reads fct_things (marts): intermediate may read only "
        "['intermediate', 'snapshot', 'staging']"]


@pytest.mark.parametrize(("model", "message"), [
    (_model("fct_things", "models/marts/core/fct_things.sql", ["source.p.a.things"]),
     "fct_things (marts) reads source('a', 'things')"),
    (_model("stg_a__things", "models/staging/a/stg_a__things.sql", ["model.p.int_things_joined"]),
     "stg_a__things (staging) reads int_things_joined (intermediate)"),
    (_model("fct_things", "models/marts/core/fct_things.sql", ["model.p.int_things_joined"],
            description="The things."), "fct_things: the description has no grain sentence"),
    (_model("fct_things", "models/marts/core/fct_things.sql", ["model.p.int_things_joined"], patch=None),
     "fct_things: no YAML"),
    (_model("fct_things", "models/marts/core/fct_things.sql", ["model.p.int_things_joined"],
            patch="cx://models/marts/core/fct_things.yml"), "models/marts/core: 2 model YAML files"),
])
def test_the_check_fails_each_broken_rule(model: dict[str, Any], message: str) -> None:
    manifest = _synthetic(**{model["name"]: model})
    if "2 model YAML" in message:  # a second model keeps the folder's own YAML
        manifest["nodes"]["model.p.dim_things"] = _model("dim_things", "models/marts/core/dim_things.sql",
                                                         ["model.p.int_things_joined"])
        manifest["nodes"].update(_pk("model.p.dim_things"))
    assert any(p.startswith(message) for p in layer_violations(manifest)), layer_violations(manifest)


def test_the_check_fails_a_model_without_a_primary_key_test() -> None:
    manifest = _synthetic()
    del manifest["nodes"]["test.model.p.fct_things.not_null"]
    assert layer_violations(manifest) == [
        "fct_things: no primary-key test (unique + not_null, or unique_combination_of_columns)"]
