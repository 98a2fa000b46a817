"""Data Docs for quality-gate results: GX's own static HTML site, safe to open in a browser.

Gates validate in an *ephemeral* GX context, so nothing GX would normally keep on disk
(validation-results store, Data Docs site) exists. :func:`publish_data_docs` gives GX the
two things its site builder needs, at ``site_dir``: a filesystem validation-results store
(``site_dir/.gx_validation_results``; the index is rebuilt from it, which is how earlier
runs stay listed) and the HTML site itself (``index.html``, ``validations/``, ``static/``),
then lets GX's ``SiteBuilder`` render the pages.

Why two stores: GX's section builder lists every result of its store to pick the pages to
render, and its index builder loads every stored result, so a site that keeps every run made
each publish slower than the last (about 1.5 ms per stored result; a year of daily gates is
15,000 results). The pages of a call are rendered from a temporary store of that call's
results, and the site's store keeps of each result what the index page reads (success,
statistics, meta), not its expectation results, which live on in the rendered page and in
``audit.quality_results``.

Why the escaping: GX 1.x escapes only *some* of what it renders. Template parameters
(e.g. a ``value_set``) are escaped, but unexpected-value tables, observed values and the
index page's table cells (built client-side by bootstrap-table from a ``<script>`` block)
are emitted raw. Customer text in a result would therefore run as markup in whoever opens
the docs. So every string of a result is HTML-escaped exactly once here, before GX sees it,
and the validation pages use a view that skips GX's own template-parameter escaping, which
would otherwise show those values double-escaped (``&amp;lt;``).

The pages are GX's templates unchanged, so they load jQuery, Bootstrap, bootstrap-table and
Vega from public CDNs (GX has no offline mode): offline, the pages are unstyled and the
index page's run list, which bootstrap-table builds in the browser, stays empty.

GX is imported inside functions only: DAG files import this package at parse time.
"""

from __future__ import annotations

import fcntl
import html
import logging
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cx_warehouse.quality.compiled import expectation_class

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuiteValidationResult
    from great_expectations.render.view import DefaultJinjaPageView

RESULTS_DIRNAME = ".gx_validation_results"
"""Under ``site_dir``: the (escaped) results GX rebuilds the index from. Not linked from any page."""

_STORE_NAME = "cxw_data_docs_results"
_PAGES_STORE = "cxw_data_docs_this_run"
_SITE_NAME = "cx-warehouse quality gates"
# run_name becomes a directory name and an index cell GX does not escape: plain characters only.
_RUN_NAME = re.compile(r"[\w.:+-]+")
_PATH_UNSAFE = re.compile(r"[/\\]")
# INFO chatter on every import / ephemeral context ("Skipping registering function ...",
# "Created temporary directory ...", "Loading 'datasources' ..."); render errors still show.
_NOISY_GX_LOGGERS = (
    "great_expectations._docs_decorators",
    "great_expectations.data_context.types.base",
    "great_expectations.datasource.fluent.config",
)


def publish_data_docs(results: list[ExpectationSuiteValidationResult], site_dir: Path, *, run_name: str) -> Path:
    """Publish GX Data Docs (static HTML) for these validation results under site_dir; return the index.html path.

    One page per result (``validations/<suite>/<run_name>/<run_time>/<batch>.html``) and an
    ``index.html`` listing every run ever published to ``site_dir``. Publishing the same
    results under the same ``run_name`` again overwrites their pages.

    Args:
        results: Suite validation results from ``ValidationDefinition.run``, already scrubbed
            of personal data. They are not modified.
        site_dir: Directory of the Data Docs site; created if missing, shared by all runs.
        run_name: Identifies the gate run, e.g. ``"raw_crm-2026-11-22T10:00:00"``; letters,
            digits and ``_ . : + -`` only.

    Returns:
        Path of the site's ``index.html``.

    Raises:
        ValueError: ``run_name`` is empty or has other characters.
    """
    if not _RUN_NAME.fullmatch(run_name):
        raise ValueError(f"run_name must match {_RUN_NAME.pattern!r}, got {run_name!r}")
    for name in _NOISY_GX_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)  # GX itself pins one of them to INFO

    from cx_warehouse.quality.gx_runtime import import_gx

    gx = import_gx()
    expectation_class()   # registered, so GX can render the compiled checks' results
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )
    from great_expectations.render.renderer.site_builder import SiteBuilder

    site_dir = Path(site_dir).resolve()
    site_dir.mkdir(parents=True, exist_ok=True)

    context = gx.get_context(mode="ephemeral")
    with tempfile.TemporaryDirectory(prefix="cxw-docs-") as this_run:
        # The pages come from a store holding this call's results only: GX's section builder
        # lists (and compares with the keys asked for) every result of its store, so building
        # them from the site's whole history made every publish slower than the one before.
        pages = _site_builder(context, SiteBuilder, site_dir, _add_store(context, _PAGES_STORE, Path(this_run)))
        pages.site_section_builders["validations"].view_class = _pre_escaped_page_view()
        index = _site_builder(context, SiteBuilder, site_dir, _add_store(context, _STORE_NAME,
                                                                          site_dir / RESULTS_DIRNAME))

        # Gates run in parallel: one publisher at a time, or an index may miss another's run.
        with _locked(site_dir / ".publish.lock"):
            keys = []
            for result in results:
                safe = _escaped_copy(result, run_name)
                key = ValidationResultIdentifier(
                    expectation_suite_identifier=ExpectationSuiteIdentifier(name=safe.suite_name),
                    run_id=safe.meta["run_id"],
                    batch_identifier=_batch_identifier(safe),
                )
                context.stores[_PAGES_STORE].set(key, safe)
                # The index reads a result's success and meta only; what it keeps of each run is that.
                context.stores[_STORE_NAME].set(key, _index_copy(safe))
                keys.append(key)
            if keys:
                pages.build(resource_identifiers=keys, build_index=False)
            else:
                pages.target_store.copy_static_assets()
            # The index lists every run ever published to the site: rebuilt from the results store.
            index.site_index_builder.build()
    return site_dir / "index.html"


def _add_store(context: Any, name: str, directory: Path) -> str:
    """A filesystem validation-results store in this context; its name."""
    context.add_store(name, {
        "class_name": "ValidationResultsStore",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(directory)},
    })
    return name


def _site_builder(context: Any, site_builder: Any, site_dir: Path, store: str) -> Any:
    """GX's site builder writing to ``site_dir``, reading validation results from ``store``."""
    return site_builder(
        data_context=context,
        store_backend={"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site_dir)},
        site_name=_SITE_NAME,
        show_how_to_buttons=False,
        site_section_builders={
            # suites live in our YAML, not in this context; profiling is not used
            "expectations": "None",
            "profiling": "None",
            # GX's default filter hides runs whose name contains "profiling"
            "validations": {"source_store_name": store, "run_name_filter": {"matches_regex": "."}},
        },
    )


def _index_copy(result: ExpectationSuiteValidationResult) -> ExpectationSuiteValidationResult:
    """What the index page reads of a result: success, statistics and meta, without the results."""
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResult

    return ExpectationSuiteValidationResult(success=result.success, results=[], suite_name=result.suite_name,
                                            statistics=result.statistics, meta=result.meta,
                                            batch_id=result.batch_id)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing) for the ``with`` block."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _escaped_copy(result: ExpectationSuiteValidationResult, run_name: str) -> ExpectationSuiteValidationResult:
    """A copy of ``result`` with every string (values and keys) HTML-escaped and our run id in its meta."""
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResultSchema
    from great_expectations.core.run_identifier import RunIdentifier

    data = _escape_strings(result.to_json_dict())
    data["meta"]["run_id"] = RunIdentifier(run_name=run_name, run_time=_run_time(data["meta"]))
    return ExpectationSuiteValidationResultSchema().load(data)


def _escape_strings(value: Any) -> Any:
    """Deep copy of a JSON-like value with ``html.escape`` applied to every string, dict keys included."""
    if isinstance(value, str):
        return html.escape(value, quote=True)
    if isinstance(value, dict):
        return {_escape_strings(k): _escape_strings(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_escape_strings(v) for v in value]
    return value


def _run_time(meta: dict[str, Any]) -> datetime:
    """When the validation ran (so re-publishing the same result hits the same key), else now."""
    run_id = meta.get("run_id")
    stamp = run_id.get("run_time") if isinstance(run_id, dict) else None
    stamp = stamp or meta.get("validation_time")
    if isinstance(stamp, str):
        try:
            parsed = datetime.fromisoformat(stamp)
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return datetime.now(UTC)


def _batch_identifier(result: ExpectationSuiteValidationResult) -> str:
    """The id of the validated batch, as GX names it (``datasource-asset[-param_value...]``).

    GX writes it into each expectation's kwargs only; rebuilt from the meta when there are none.
    """
    batch_id = next((r.expectation_config.kwargs.get("batch_id") for r in result.results if r.expectation_config), None)
    if not batch_id:
        batch = result.meta.get("active_batch_definition") or {}
        parts = [batch.get("datasource_name"), batch.get("data_asset_name")]
        if not all(parts):
            return "__none__"
        params = result.meta.get("batch_parameters") or {}
        parts += [f"{k}_{v}" for k, v in params.items() if k not in ("path", "dataframe")]
        batch_id = "-".join(map(str, parts))
    # a "/" would split the key into extra path levels of the stores
    return _PATH_UNSAFE.sub("_", str(batch_id))


def _pre_escaped_page_view() -> DefaultJinjaPageView:
    """GX's page view minus its template-parameter escaping: our input is escaped already."""
    from great_expectations.render.view import DefaultJinjaPageView

    class PreEscapedPageView(DefaultJinjaPageView):
        @staticmethod
        def _escape_template_param_value(value: Any) -> Any:
            return value

    return PreEscapedPageView()
