"""CLV models (cx_warehouse.analytics.clv) against the published CDNOW results, plus properties.

The reference data is the CDNOW sample (2,357 customers who made their first purchase in the
first quarter of 1997, 78 weeks of history, 39-week calibration) used by Fader, Hardie & Lee in
both papers. We read the copy shipped inside the ``lifetimes`` package (a dev dependency, used
for nothing else: the fits here are ours):

* ``cdnow_customers_summary.csv``: ``ID, frequency, recency, T`` (weeks).
* ``cdnow_customers_summary_with_transactions.csv``: ``ID, x, t_x, T, zbar``; the same customers
  plus ``zbar``, the mean value of each customer's repeat purchases in the calibration period
  (the paper's monetary summary, so no re-derivation from the transaction log is needed).

Published numbers checked:

* BG/NBD ("Counting your customers the easy way", 2005): r = 0.243, alpha = 4.414, a = 0.793,
  b = 2.426, LL = -9582.4. Our fit: r = 0.2426, alpha = 4.4135, a = 0.7929, b = 2.4258,
  LL = -9582.43; every value agrees to the published rounding.
* Conditional expectation, the paper's worked example (customer ID 1, x = 2, t_x = 30.43,
  T = 38.86): 1.226 purchases in the next 39 weeks. We get 1.2259.
* Unconditional E[X(t)] for t in {0.1429, 1, 3, 31.8571, 32, 78} weeks, from the spreadsheet
  that accompanies the paper (as quoted in lifetimes' own test suite): agree within 4e-4.
* Gamma-Gamma ("RFM and CLV: using iso-value curves", 2005; Fader & Hardie 2013 note), fitted on
  the 946 repeat customers: p = 6.25, q = 3.74, gamma = 15.44. Our fit: p = 6.2488,
  q = 3.7446, gamma = 15.4477, within 0.01 of each published value. (We do not assert a
  published Gamma-Gamma log-likelihood: we have not checked the figure against the source.)

No database here: the warehouse task (score_customers) is tested on simulated customers in
tests/integration/test_analytics_models.py.
"""

from __future__ import annotations

import csv
import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.special import hyp2f1

from cx_warehouse.analytics import clv
from cx_warehouse.analytics.clv import BgNbdParams, GammaGammaParams

PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_BGNBD_LL = -9582.4
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def _lifetimes_dataset(name: str) -> Path:
    # find the package's folder without importing it (its __init__ pulls in pandas and autograd)
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the lifetimes package (dev dependency, for its CDNOW copy) is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / name
    if not path.is_file():
        pytest.skip(f"{path} not found in the installed lifetimes package")
    return path


def _read_columns(path: Path) -> dict[str, np.ndarray]:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {name: np.array([float(row[name]) for row in rows]) for name in rows[0]}


@pytest.fixture(scope="module")
def cdnow() -> dict[str, np.ndarray]:
    return _read_columns(_lifetimes_dataset("cdnow_customers_summary.csv"))


@pytest.fixture(scope="module")
def cdnow_spend() -> dict[str, np.ndarray]:
    return _read_columns(_lifetimes_dataset("cdnow_customers_summary_with_transactions.csv"))


@pytest.fixture(scope="module")
def bg(cdnow: dict[str, np.ndarray]) -> BgNbdParams:
    return clv.fit_bgnbd(cdnow["frequency"], cdnow["recency"], cdnow["T"])


@pytest.fixture(scope="module")
def gg(cdnow_spend: dict[str, np.ndarray]) -> GammaGammaParams:
    repeat = cdnow_spend["x"] > 0
    return clv.fit_gamma_gamma(cdnow_spend["x"][repeat], cdnow_spend["zbar"][repeat])


# ---------------------------------------------------------------------------------------------
# published results
# ---------------------------------------------------------------------------------------------


def test_cdnow_files_are_the_papers_sample(cdnow: dict[str, np.ndarray], cdnow_spend: dict[str, np.ndarray]) -> None:
    assert cdnow["frequency"].size == 2357
    assert int(np.sum(cdnow["frequency"] > 0)) == 946
    # the two files describe the same customers in the same order
    np.testing.assert_array_equal(cdnow["frequency"], cdnow_spend["x"])
    np.testing.assert_array_equal(cdnow["recency"], cdnow_spend["t_x"])
    np.testing.assert_array_equal(cdnow["T"], cdnow_spend["T"])


def test_bgnbd_reproduces_published_estimates(bg: BgNbdParams) -> None:
    assert bg.converged
    assert bg.n == 2357
    for name, published in PUBLISHED_BGNBD.items():
        # published to 3 decimals: agreement to the rounding, i.e. within 1e-3 absolute
        assert getattr(bg, name) == pytest.approx(published, abs=1e-3), name
    assert bg.log_likelihood == pytest.approx(PUBLISHED_BGNBD_LL, abs=0.5)


def test_bgnbd_log_likelihood_matches_the_textbook_product_form() -> None:
    r, alpha, a, b = 0.3, 5.0, 0.8, 2.5
    x = np.array([0.0, 1.0, 2.0, 7.0])
    t_x = np.array([0.0, 3.0, 20.0, 30.0])
    T = np.array([10.0, 25.0, 38.0, 39.0])
    beta = math.gamma(a) * math.gamma(b) / math.gamma(a + b)
    expected = []
    for xi, txi, Ti in zip(x, t_x, T, strict=True):
        common = math.gamma(r + xi) * alpha**r / math.gamma(r)
        beta_alive = math.gamma(a) * math.gamma(b + xi) / math.gamma(a + b + xi) / beta
        value = beta_alive * common / (alpha + Ti) ** (r + xi)
        if xi > 0:
            beta_dead = math.gamma(a + 1) * math.gamma(b + xi - 1) / math.gamma(a + b + xi) / beta
            value += beta_dead * common / (alpha + txi) ** (r + xi)
        expected.append(math.log(value))
    np.testing.assert_allclose(clv.bgnbd_log_likelihood(r, alpha, a, b, x, t_x, T), expected, rtol=1e-12)


def test_conditional_expectation_matches_papers_example(bg: BgNbdParams) -> None:
    # customer ID 1 of the paper: 2 repeat purchases, last at week 30.43, observed 38.86 weeks
    assert clv.expected_purchases(bg, 39.0, [2], [30.43], [38.86])[0] == pytest.approx(1.226, abs=1e-3)


def test_unconditional_expectation_matches_papers_spreadsheet(bg: BgNbdParams) -> None:
    # E[X(t)] for a new customer is the conditional expectation given x = t_x = T = 0
    weeks = np.array([0.1429, 1.0, 3.00, 31.8571, 32.00, 78.00])
    published = np.array([0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576])
    zero = np.zeros_like(weeks)
    np.testing.assert_allclose(clv.expected_purchases(bg, weeks, zero, zero, zero), published, atol=1e-3)


def test_euler_transformed_expectation_equals_the_papers_formula(bg: BgNbdParams) -> None:
    r, alpha, a, b = bg.r, bg.alpha, bg.a, bg.b
    x = np.array([0.0, 1.0, 3.0, 10.0])
    t_x = np.array([0.0, 5.0, 20.0, 36.0])
    T = np.array([30.0, 30.0, 38.0, 38.0])
    t = 39.0
    direct = (
        (a + b + x - 1)
        / (a - 1)
        * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t)))
    )
    odds = np.where(x > 0, a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x), 0.0)
    np.testing.assert_allclose(clv.expected_purchases(bg, t, x, t_x, T), direct / (1 + odds), rtol=1e-9)


def test_gamma_gamma_reproduces_published_estimates(gg: GammaGammaParams) -> None:
    assert gg.converged
    assert gg.n == 946
    for name, published in PUBLISHED_GG.items():
        # published to 2 decimals; our estimates agree within 0.01 (largest gap: gamma, 0.008)
        assert getattr(gg, name) == pytest.approx(published, abs=0.01), name


# ---------------------------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------------------------


def test_p_alive_is_a_probability_and_one_without_repeats(bg: BgNbdParams, cdnow: dict[str, np.ndarray]) -> None:
    alive = clv.p_alive(bg, cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert np.all((alive >= 0) & (alive <= 1))
    np.testing.assert_array_equal(alive[cdnow["frequency"] == 0], 1.0)
    # extreme histories stay finite: many purchases, then a long silence, means gone
    extreme = clv.p_alive(bg, [500, 500], [1.0, 39.0], [39.0, 39.0])
    assert extreme[0] == pytest.approx(0.0, abs=1e-12)
    assert extreme[1] > 0.9


@pytest.mark.parametrize("x", [1, 2, 5, 20])
def test_p_alive_falls_as_the_silence_since_the_last_purchase_grows(bg: BgNbdParams, x: int) -> None:
    T = 52.0
    recency = np.linspace(0.0, T, 27)  # later last purchase = shorter silence
    alive = clv.p_alive(bg, np.full_like(recency, x), recency, np.full_like(recency, T))
    assert np.all(np.diff(alive) > 0)
    # and, for a fixed last purchase, it falls as the customer ages
    ages = np.linspace(10.0, 100.0, 19)
    alive_by_age = clv.p_alive(bg, np.full_like(ages, x), np.full_like(ages, 10.0), ages)
    assert np.all(np.diff(alive_by_age) < 0)


def test_expected_purchases_grow_with_the_horizon(bg: BgNbdParams, cdnow: dict[str, np.ndarray]) -> None:
    x, t_x, T = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    previous = np.zeros_like(x)
    for horizon in (0.5, 4.0, 13.0, 39.0, 104.0, 520.0):
        current = clv.expected_purchases(bg, horizon, x, t_x, T)
        assert np.all(np.isfinite(current))
        assert np.all(current > previous)
        previous = current
    assert np.all(clv.expected_purchases(bg, 0.0, x, t_x, T) == 0)


def test_expected_order_value_shrinks_towards_the_population_mean(gg: GammaGammaParams) -> None:
    population = gg.p * gg.gamma / (gg.q - 1)
    assert clv.expected_order_value(gg, [0], [math.nan])[0] == pytest.approx(population)
    spend = 100.0
    values = clv.expected_order_value(gg, [1, 2, 5, 20, 200], [spend] * 5)
    # between the population mean and the customer's own average, closer to it with more orders
    assert np.all((values > population) & (values < spend))
    assert np.all(np.diff(values) > 0)


def test_clv_is_discounted_purchases_times_value(bg: BgNbdParams, gg: GammaGammaParams) -> None:
    x, t_x, T = np.array([0.0, 2.0, 6.0]), np.array([0.0, 30.43, 35.0]), np.array([38.86, 38.86, 38.86])
    zbar = np.array([math.nan, 22.35, 40.0])
    purchases, value, undiscounted = clv.predicted_clv(
        bg, gg, x, t_x, T, zbar, horizon_days=365, annual_discount_rate=0.0, time_unit_days=7.0
    )
    np.testing.assert_allclose(purchases, clv.expected_purchases(bg, 365 / 7, x, t_x, T))
    np.testing.assert_allclose(undiscounted, purchases * value)
    _, _, discounted = clv.predicted_clv(
        bg, gg, x, t_x, T, zbar, horizon_days=365, annual_discount_rate=0.10, time_unit_days=7.0
    )
    # a year at 10 %: every month-end factor lies between 1/1.1 and 1
    assert np.all((discounted < undiscounted) & (discounted > undiscounted / 1.1))
    _, _, longer = clv.predicted_clv(
        bg, gg, x, t_x, T, zbar, horizon_days=730, annual_discount_rate=0.10, time_unit_days=7.0
    )
    assert np.all(longer > discounted)


def test_penalizer_shrinks_the_parameters(cdnow: dict[str, np.ndarray], bg: BgNbdParams) -> None:
    penalised = clv.fit_bgnbd(cdnow["frequency"], cdnow["recency"], cdnow["T"], penalizer=0.01)
    size = sum(getattr(penalised, name) ** 2 for name in PUBLISHED_BGNBD)
    assert size < sum(getattr(bg, name) ** 2 for name in PUBLISHED_BGNBD)
    assert penalised.log_likelihood < bg.log_likelihood


def test_inconsistent_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="recency"):
        clv.fit_bgnbd([1, 2], [5.0, 12.0], [10.0, 10.0])
    with pytest.raises(ValueError, match="positive"):
        clv.fit_gamma_gamma([1, 2], [10.0, 0.0])
