"""Johnson's relative weights against OLS and exact dominance analysis (no database; the
key-driver table written to the warehouse is tested in tests/integration/test_analytics_models.py)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from cx_warehouse.analytics import drivers
from cx_warehouse.analytics.drivers import relative_weights


def ols_r2(x: np.ndarray, y: np.ndarray) -> float:
    """R^2 of the OLS regression of y on x with an intercept, by least squares."""
    design = np.column_stack([np.ones(len(y)), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    return float(1.0 - resid @ resid / ((y - y.mean()) @ (y - y.mean())))


def general_dominance(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Exact general dominance weights (Azen & Budescu 2003) by brute force over all subsets:
    for each predictor, the mean over subset sizes k of the mean R^2 gain of adding it to the
    subsets of size k of the other predictors."""
    p = x.shape[1]

    def r2(cols: tuple[int, ...]) -> float:
        return ols_r2(x[:, list(cols)], y) if cols else 0.0

    out = np.zeros(p)
    for j in range(p):
        others = [i for i in range(p) if i != j]
        per_size = []
        for k in range(p):
            gains = [r2(tuple(sorted((*s, j)))) - r2(s) for s in itertools.combinations(others, k)]
            per_size.append(np.mean(gains))
        out[j] = np.mean(per_size)
    return out


def correlated_example(n: int = 3000, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Four predictors sharing a common factor (pairwise correlations 0.13-0.46), unequal effects."""
    rng = np.random.default_rng(seed)
    common = rng.normal(size=n)
    loadings = np.array([0.8, 0.6, 0.5, 0.3])
    x = common[:, None] * loadings + rng.normal(size=(n, 4)) * np.sqrt(1 - loadings**2)
    y = x @ np.array([0.5, 0.3, 0.0, 0.2]) + rng.normal(size=n)
    return x, y


def test_weights_sum_to_r2_and_r2_is_the_ols_r2() -> None:
    x, y = correlated_example()
    weights, r2 = relative_weights(x, y)
    assert r2 == pytest.approx(ols_r2(x, y), abs=1e-10)
    assert weights.sum() == pytest.approx(r2, abs=1e-10)
    assert (weights >= 0).all()


def test_uncorrelated_predictors_get_their_squared_correlations() -> None:
    """With orthogonal predictors R is the identity: each weight is the squared correlation
    with y, which is also the squared standardised beta."""
    rng = np.random.default_rng(2)
    n = 500
    raw = rng.normal(size=(n, 3))
    raw -= raw.mean(axis=0)
    x, _ = np.linalg.qr(raw)  # orthonormal, still centred: sample correlations exactly 0
    y = x @ np.array([3.0, -2.0, 0.5]) + rng.normal(size=n) * 0.05
    weights, r2 = relative_weights(x, y)
    r_xy = np.array([np.corrcoef(x[:, j], y)[0, 1] for j in range(3)])
    zx = (x - x.mean(axis=0)) / x.std(axis=0)
    beta, *_ = np.linalg.lstsq(zx, (y - y.mean()) / y.std(), rcond=None)
    np.testing.assert_allclose(weights, r_xy**2, atol=1e-10)
    np.testing.assert_allclose(weights, beta**2, atol=1e-10)
    assert r2 == pytest.approx(float((r_xy**2).sum()), abs=1e-10)


def test_close_to_exact_general_dominance() -> None:
    """Johnson's weights approximate general dominance weights: measured max absolute
    difference 0.0026 in R^2 units here (R^2 0.36), with the same ranking. The gap grows with
    collinearity: with correlations up to 0.86 it reached 0.009, so 0.01 is not loose."""
    x, y = correlated_example()
    weights, r2 = relative_weights(x, y)
    dominance = general_dominance(x, y)
    assert dominance.sum() == pytest.approx(r2, abs=1e-10)  # dominance weights also add up to R^2
    assert np.abs(weights - dominance).max() < 0.01
    assert list(np.argsort(-weights)) == list(np.argsort(-dominance))


def test_a_planted_strongest_driver_ranks_first() -> None:
    rng = np.random.default_rng(3)
    n = 2000
    common = rng.normal(size=n)
    x = common[:, None] * 0.6 + rng.normal(size=(n, 6)) * 0.8
    y = 2.0 * x[:, 4] + 0.5 * x[:, 0] + 0.5 * x[:, 1] + rng.normal(size=n)
    weights, _ = relative_weights(x, y)
    assert int(np.argmax(weights)) == 4
    assert drivers._ranks(weights)[4] == 1
    assert sorted(drivers._ranks(weights)) == list(range(1, 7))


def test_constant_column_gets_zero_weight_without_warnings() -> None:
    x, y = correlated_example(n=500)
    with_constant = np.column_stack([x[:, :2], np.full(len(y), 7.0), x[:, 2:]])
    weights, r2 = relative_weights(with_constant, y)
    ref_weights, ref_r2 = relative_weights(x, y)
    assert weights[2] == 0.0
    np.testing.assert_allclose(np.delete(weights, 2), ref_weights, atol=1e-12)
    assert r2 == pytest.approx(ref_r2, abs=1e-12)


def test_degenerate_inputs() -> None:
    # rows with NaN are dropped
    x, y = correlated_example(n=400)
    x_nan = x.copy()
    x_nan[:10, 1] = np.nan
    y_nan = y.copy()
    y_nan[20:25] = np.nan
    keep = np.ones(len(y), bool)
    keep[:10] = keep[20:25] = False
    w_nan, r2_nan = relative_weights(x_nan, y_nan)
    w_ref, r2_ref = relative_weights(x[keep], y[keep])
    np.testing.assert_allclose(w_nan, w_ref, atol=1e-12)
    assert r2_nan == pytest.approx(r2_ref, abs=1e-12)
    # constant outcome, everything constant, too few rows: no signal, no crash
    assert relative_weights(x, np.ones(len(y)))[1] == 0.0
    assert relative_weights(np.ones((10, 3)), np.arange(10.0))[0].tolist() == [0.0, 0.0, 0.0]
    assert relative_weights(x[:1], y[:1])[1] == 0.0
    # an exact duplicate column: the pair shares the weight, the sum is still R^2
    dup = np.column_stack([x, x[:, 0]])
    w_dup, r2_dup = relative_weights(dup, y)
    assert r2_dup == pytest.approx(ols_r2(x, y), abs=1e-9)
    assert w_dup.sum() == pytest.approx(r2_dup, abs=1e-9)
    assert w_dup[0] == pytest.approx(w_dup[4], abs=1e-9)
    with pytest.raises(ValueError):
        relative_weights(x[:, 0], y)
    with pytest.raises(ValueError):
        relative_weights(x, y[:-1])
