"""Import Great Expectations without the two libraries only one unused expectation needs.

``import great_expectations`` imports every core expectation module, and one of them
(``expect_column_kl_divergence_to_be_less_than``) imports ``scipy.stats`` and ``altair`` at
module level, for use inside its methods only. The two are about a quarter of GX's import time
(more without bytecode caches), which every gate task pays, and no suite here uses that
expectation (``expectations/`` is checked against the types GX knows, not against this).

:func:`import_gx` puts a placeholder module under each of those names first. The placeholder
imports the real module on the first attribute anyone reads from it (``stats.entropy``,
``alt.Chart``, a submodule import), then behaves as that module, so code that does use them
works unchanged; only the import moves from GX's import to first use. Nothing is deferred once
the real module has been imported in this process.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

DEFERRED = ("scipy.stats", "altair")


class _Deferred(types.ModuleType):
    """Stands for a module until something reads from it; then imports it and becomes its copy."""

    def __getattr__(self, attr: str) -> Any:
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        real = importlib.import_module(name)   # also rebinds the parent package's attribute
        self.__dict__.update(real.__dict__)    # holders of the placeholder now read the real names
        return getattr(real, attr)


def _defer(name: str) -> None:
    if name in sys.modules:
        return
    parent, _, child = name.rpartition(".")
    try:
        if importlib.util.find_spec(name) is None:
            return
    except (ImportError, ValueError):
        return
    placeholder = _Deferred(name)
    sys.modules[name] = placeholder
    if parent:
        # ``from scipy import stats`` reads the package's attribute before it would import
        setattr(importlib.import_module(parent), child, placeholder)


def import_gx() -> Any:
    """``great_expectations``, imported with :data:`DEFERRED` left for first use."""
    if "great_expectations" not in sys.modules:
        for name in DEFERRED:
            _defer(name)
    import great_expectations

    return great_expectations
