"""Key-driver analysis: which rating moves likelihood-to-recommend most.

CX teams ask "what should we fix first to raise NPS?". Regression coefficients answer it
badly: driver ratings are strongly correlated (a customer happy with service tends to rate
everything higher), so betas flip sign and share credit arbitrarily. Johnson's relative
weights (Johnson 2000, "A heuristic method for estimating the relative weight of predictor
variables in multiple regression", Multivariate Behavioral Research 35(1)), which commercial
CX suites use for their driver charts, split the model's R^2 among the predictors instead:

1. standardise predictors and outcome; ``R`` is the predictors' correlation matrix and
   ``r`` their correlations with the outcome;
2. ``R = V diag(lambda) V^T``; ``Lambda = V diag(sqrt(lambda)) V^T`` is the symmetric square
   root of ``R``: it maps the predictors onto their closest orthogonal counterparts;
3. regress the outcome on those orthogonal variables, ``beta = Lambda^-1 r``;
4. each predictor's raw weight is ``sum_k Lambda_jk^2 beta_k^2``. The weights are
   non-negative and add up to the R^2 of the OLS regression.

They approximate general dominance weights (the average R^2 gain of a predictor over all
subsets of the others, which cost 2^p regressions) closely; the tests check both that and
the R^2 identity.

:func:`key_drivers` is the warehouse entry point: it reads ``intermediate.int_driver_inputs``
and replaces ``analytics.key_drivers`` for two predictor sets (the six driver ratings and the
five SERVQUAL perception scores), over all responses and per month.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cx_warehouse.analytics.store import replace_table

log = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]

#: A scope (all responses or one month) is analysed only with at least this many responses
#: that answered NPS and every predictor of the set: below it the weights are mostly noise.
MIN_RESPONSES = 50

#: Eigenvalues of the correlation matrix below this fraction of the largest are treated as
#: zero (exact collinearity); the weights then come from the pseudo-inverse.
EIGEN_RTOL = 1e-10

#: Predictor sets: analysis name -> (input column, predictor name) pairs, in output order.
ANALYSES: dict[str, tuple[tuple[str, str], ...]] = {
    "drivers": tuple(
        (f"driver_{name}", name)
        for name in ("product", "service", "price", "convenience", "brand", "relationship")
    ),
    "servqual": tuple(
        (f"servqual_{name}_perception", name)
        for name in ("tangibles", "reliability", "responsiveness", "assurance", "empathy")
    ),
}

OUTCOME = "nps_score"

_INPUT_COLUMNS = ("response_id", "response_month", OUTCOME) + tuple(
    column for predictors in ANALYSES.values() for column, _ in predictors
)
# ordered so the floating-point sums, and so the table, are the same on every run
INPUT_QUERY = f"select {', '.join(_INPUT_COLUMNS)} from intermediate.int_driver_inputs order by response_id"

DRIVER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("analysis", "text"),
    ("period_month", "date"),
    ("predictor", "text"),
    ("raw_weight", "double precision"),
    ("importance_pct", "double precision"),
    ("importance_rank", "integer"),
    ("r_squared", "double precision"),
    ("responses", "integer"),
)


def relative_weights(X: ArrayLike, y: ArrayLike) -> tuple[FloatArray, float]:
    """Johnson's relative weights of the columns of ``X`` for predicting ``y``.

    Rows with a NaN in ``X`` or ``y`` are dropped first (None becomes NaN). A constant column
    explains nothing and would make the correlation matrix undefined, so it gets weight 0 and
    is left out of the decomposition; exactly collinear columns share their weight through
    the pseudo-inverse (see :data:`EIGEN_RTOL`). With fewer than two complete rows or a
    constant outcome, every weight and R^2 are 0.

    Args:
        X: predictors, shape ``(n, p)``.
        y: outcome, shape ``(n,)``.

    Returns:
        The raw weights (shape ``(p,)``, non-negative, summing to R^2) and the R^2 of the OLS
        regression of ``y`` on ``X`` with an intercept (the same on standardised predictors).

    Raises:
        ValueError: if ``X`` is not two-dimensional or its rows do not match ``y``.
    """
    x_all = np.asarray(X, dtype=np.float64)
    y_all = np.asarray(y, dtype=np.float64)
    if x_all.ndim != 2 or y_all.ndim != 1 or x_all.shape[0] != y_all.shape[0]:
        raise ValueError(f"need X of shape (n, p) and y of shape (n,), got {x_all.shape} and {y_all.shape}")
    complete = np.isfinite(x_all).all(axis=1) & np.isfinite(y_all)
    x, yv = x_all[complete], y_all[complete]
    n, p = x.shape
    weights = np.zeros(p)
    if n < 2:
        return weights, 0.0

    x_sd = x.std(axis=0)
    y_sd = float(yv.std())
    active = x_sd > 1e-12 * np.maximum(1.0, np.abs(x.mean(axis=0)))
    if y_sd <= 1e-12 * max(1.0, abs(float(yv.mean()))) or not active.any():
        return weights, 0.0

    z = (x[:, active] - x[:, active].mean(axis=0)) / x_sd[active]
    zy = (yv - yv.mean()) / y_sd
    corr_xx = z.T @ z / n
    corr_xy = z.T @ zy / n

    eigvals, eigvecs = np.linalg.eigh(corr_xx)
    keep = eigvals > EIGEN_RTOL * eigvals.max()
    root = np.sqrt(np.where(keep, eigvals, 0.0))
    inv_root = np.where(keep, 1.0 / np.where(keep, root, 1.0), 0.0)
    lam = (eigvecs * root) @ eigvecs.T
    beta = (eigvecs * inv_root) @ eigvecs.T @ corr_xy
    weights[active] = (lam**2) @ beta**2
    return weights, float(beta @ beta)


def _ranks(values: FloatArray) -> list[int]:
    """1 for the largest value; ties go to the earlier predictor, so ranks are a permutation."""
    order = sorted(range(len(values)), key=lambda i: (-float(values[i]), i))
    ranks = [0] * len(values)
    for rank, i in enumerate(order, start=1):
        ranks[i] = rank
    return ranks


def _driver_rows(
    analysis: str, period: date | None, names: Sequence[str], x: FloatArray, y: FloatArray
) -> list[tuple[Any, ...]]:
    raw, r2 = relative_weights(x, y)
    ranks = _ranks(raw)
    return [
        (analysis, period, name, float(raw[j]), float(raw[j] / r2 * 100.0) if r2 > 0 else None, ranks[j], r2, len(y))
        for j, name in enumerate(names)
    ]


def key_drivers(conn: Any) -> dict[str, Any]:
    """Relative weights of each predictor set on NPS, overall and per month, into ``analytics.key_drivers``.

    For each set of :data:`ANALYSES`, only responses that answered NPS and every predictor of
    the set count (a response from a survey that did not ask a set is simply not in it). The
    scope ``all`` (``period_month`` null) pools every month; a month gets its own rows when it
    has at least :data:`MIN_RESPONSES` such responses, and so does ``all``. Each scope writes
    one row per predictor: raw weight, its share of R^2 in percent, rank (1 = strongest),
    the scope's R^2 and response count. The table is replaced in one transaction (see
    :func:`cx_warehouse.analytics.store.replace_table`); inputs are read in a fixed order, so
    a re-run on the same data writes the same table.

    Args:
        conn: an open psycopg connection (not in autocommit).

    Returns:
        Summary: responses read, and per analysis the months analysed and skipped, the
        overall R^2 and the predictors of the ``all`` scope in rank order.
    """
    # in a transaction block of its own, so the read does not leave one open (a later
    # conn.transaction() would then only be a savepoint and replace_table would not commit)
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(INPUT_QUERY)
        records = cur.fetchall()

    started = time.perf_counter()
    months = [rec[1] for rec in records]
    # None -> NaN; the outcome is column 0, then every predictor column in ANALYSES order
    values = np.array([rec[2:] for rec in records], dtype=np.float64).reshape(len(records), len(_INPUT_COLUMNS) - 2)
    y_all = values[:, 0]
    rows: list[tuple[Any, ...]] = []
    summary: dict[str, Any] = {"responses": len(records), "analyses": {}}
    offset = 1
    for analysis, predictors in ANALYSES.items():
        names = [name for _, name in predictors]
        x_all = values[:, offset : offset + len(predictors)]
        offset += len(predictors)
        complete = np.isfinite(x_all).all(axis=1) & np.isfinite(y_all)
        info: dict[str, Any] = {"complete_responses": int(complete.sum()), "months": [], "months_skipped": [],
                                "r_squared": None, "ranking": []}
        if complete.sum() >= MIN_RESPONSES:
            overall = _driver_rows(analysis, None, names, x_all[complete], y_all[complete])
            rows += overall
            info["r_squared"] = overall[0][6]
            info["ranking"] = [r[2] for r in sorted(overall, key=lambda r: r[5])]
            log.info("key drivers %s (all, n=%d, R^2=%.3f): %s", analysis, overall[0][7], overall[0][6],
                     ", ".join(f"{r[2]} {r[4]:.0f}%" if r[4] is not None else r[2] for r in
                               sorted(overall, key=lambda r: r[5])))
        else:
            log.warning("key drivers %s: only %d complete responses (< %d), nothing written", analysis,
                        int(complete.sum()), MIN_RESPONSES)
        by_month: dict[date, list[int]] = defaultdict(list)
        for i in np.flatnonzero(complete):
            if months[i] is not None:
                by_month[months[i]].append(int(i))
        for month in sorted(by_month):
            idx = by_month[month]
            if len(idx) < MIN_RESPONSES:
                info["months_skipped"].append(month.isoformat())
                continue
            rows += _driver_rows(analysis, month, names, x_all[idx], y_all[idx])
            info["months"].append(month.isoformat())
        if info["months_skipped"]:
            log.info("key drivers %s: %d month(s) with fewer than %d complete responses skipped: %s", analysis,
                     len(info["months_skipped"]), MIN_RESPONSES, ", ".join(info["months_skipped"]))
        summary["analyses"][analysis] = info

    written = replace_table(
        conn,
        "key_drivers",
        DRIVER_COLUMNS,
        rows,
        comment=(
            "Key drivers of NPS by Johnson's relative weights (raw weights sum to R^2), for the driver ratings "
            f"and the SERVQUAL perceptions, over all responses and per month with >= {MIN_RESPONSES} complete "
            "responses; written by cx_warehouse.analytics.drivers.key_drivers"
        ),
    )
    summary["rows_written"] = written
    summary["fit_seconds"] = round(time.perf_counter() - started, 3)
    return summary
