"""Customer lifetime value for non-contractual customers: BG/NBD + Gamma-Gamma.

Our customers can stop buying at any time without telling us, so "churned" is never observed;
it has to be inferred from the gap since their last purchase relative to how often they used to
buy. The BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers the easy way", Marketing
Science 24(2)) does exactly that from three numbers per customer:

* ``x``: repeat purchases (purchases after the first one),
* ``t_x``: time from the first to the last purchase (recency),
* ``T``: time from the first purchase to the end of the data (age).

While alive, a customer buys as a Poisson process with rate ``lambda ~ Gamma(r, alpha)``; after
each purchase they drop out with probability ``p ~ Beta(a, b)``. The spend per purchase is modelled
separately by the Gamma-Gamma model (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value
curves", JMR 42(4); Fader & Hardie 2013, "The Gamma-Gamma model of monetary value"): order values
are ``Gamma(p, nu)`` around a customer-specific ``nu ~ Gamma(q, gamma)``, independent of the
purchase process. Both are fitted by maximum likelihood with numpy/scipy (tests check the fits
against the published CDNOW estimates).

Time is handled in abstract "units" (weeks by default): the models are scale-free, but the
optimiser behaves best when ``alpha`` is O(1)-O(100), which days would not give for a long history.
Parameters (``alpha`` in particular) are therefore in the unit of the data they were fitted on.

:func:`score_customers` is the warehouse entry point: it reads ``intermediate.int_clv_inputs``,
fits both models and replaces ``analytics.customer_clv`` and ``analytics.clv_model_fit``.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from scipy.special import expit, gammaln, hyp2f1

from cx_warehouse.analytics.store import replace_table

log = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]

#: Below this many customers with a repeat purchase the parameters are not identified well enough
#: to publish per-customer scores; the tables are still written, with nulls.
MIN_REPEAT_CUSTOMERS = 20

#: Discounting step of :func:`predicted_clv`: an average calendar month, in days.
DAYS_PER_MONTH = 365.25 / 12
DAYS_PER_YEAR = 365.25

INPUT_QUERY = (
    "select customer_id, frequency, recency_days, tenure_days, avg_order_value from intermediate.int_clv_inputs"
)

CLV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("customer_id", "text"),
    ("p_alive", "double precision"),
    ("expected_purchases", "double precision"),
    ("expected_order_value", "numeric(12,2)"),
    ("predicted_clv", "numeric(14,2)"),
    ("historical_frequency", "integer"),
)
FIT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("model", "text"),
    ("parameter", "text"),
    ("value", "double precision"),
    ("log_likelihood", "double precision"),
    ("customers", "integer"),
)


@dataclass(frozen=True)
class BgNbdParams:
    """Fitted BG/NBD parameters.

    Attributes:
        r: shape of the Gamma distribution of purchase rates across customers.
        alpha: scale of that Gamma distribution, in the fit's time unit (mean rate is r/alpha).
        a: first shape of the Beta distribution of the drop-out probability after a purchase.
        b: second shape of that Beta distribution (mean drop-out probability is a/(a+b)).
        log_likelihood: maximised log-likelihood (without the penalty), summed over customers.
        n: number of customers fitted.
        converged: whether the optimiser reported convergence to a finite optimum.
    """

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    n: int
    converged: bool

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (for logs, XCom and the task summary)."""
        return asdict(self)


@dataclass(frozen=True)
class GammaGammaParams:
    """Fitted Gamma-Gamma spend parameters.

    Attributes:
        p: shape of the Gamma distribution of one order's value around the customer's mean.
        q: shape of the Gamma distribution of the customers' scale parameters ``nu``.
        gamma: scale of that distribution (population mean order value is p*gamma/(q-1), q > 1).
        log_likelihood: maximised log-likelihood (without the penalty), summed over customers.
        n: number of (repeat) customers fitted.
        converged: whether the optimiser reported convergence to a finite optimum.
    """

    p: float
    q: float
    gamma: float
    log_likelihood: float
    n: int
    converged: bool

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (for logs, XCom and the task summary)."""
        return asdict(self)


# --------------------------------------------------------------------------------------------
# BG/NBD
# --------------------------------------------------------------------------------------------


def _as_float(values: ArrayLike) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


def bgnbd_log_likelihood(
    r: float, alpha: float, a: float, b: float, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> FloatArray:
    """Per-customer BG/NBD log-likelihood (Fader, Hardie & Lee 2005, eq. 6).

    The likelihood is a sum of two terms (still alive at T, or dropped out right after the last
    purchase). Each term is computed in logs with ``gammaln`` and combined with log-sum-exp, so
    large ``x`` or ``T`` neither overflows nor underflows, unlike the textbook product form.

    Args:
        r, alpha, a, b: BG/NBD parameters (all > 0).
        x: repeat purchases per customer.
        t_x: recency per customer (same time unit as ``alpha``).
        T: age per customer.

    Returns:
        ``log L_i`` per customer.
    """
    x, t_x, T = _as_float(x), _as_float(t_x), _as_float(T)
    with np.errstate(all="ignore"):
        a1 = gammaln(r + x) - gammaln(r) + r * math.log(alpha)
        a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
        a3 = -(r + x) * np.log(alpha + T)
        # the drop-out term exists only after a repeat purchase (delta_{x>0} in the paper);
        # B(a+1, b+x-1) / B(a, b+x) simplifies to a / (b+x-1)
        repeat = x > 0
        a4 = np.full_like(x, -np.inf)
        a4[repeat] = math.log(a) - np.log(b + x[repeat] - 1) - (r + x[repeat]) * np.log(alpha + t_x[repeat])
        return np.asarray(a1 + a2 + np.logaddexp(a3, a4), dtype=np.float64)


def _validate_rft(x: FloatArray, t_x: FloatArray, T: FloatArray) -> None:
    if not (x.shape == t_x.shape == T.shape and x.ndim == 1):
        raise ValueError("frequency, recency and T must be 1-d arrays of the same length")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(t_x)) and np.all(np.isfinite(T))):
        raise ValueError("frequency, recency and T must be finite")
    if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > T) or np.any(x != np.round(x)):
        raise ValueError("need integer frequency >= 0 and 0 <= recency <= T for every customer")


def _minimise(objective: Any, start: FloatArray) -> tuple[FloatArray, bool]:
    """Nelder-Mead in log-parameter space, restarted once from its own optimum.

    Nelder-Mead needs no gradients and is robust to the flat ridges these likelihoods have; the
    restart (a fresh simplex around the first optimum) guards against the simplex collapsing
    early, which is a known failure mode of the method.
    """
    options = {"maxiter": 20_000, "maxfev": 40_000, "xatol": 1e-8, "fatol": 1e-11}
    first = minimize(objective, start, method="Nelder-Mead", options=options)
    second = minimize(objective, first.x, method="Nelder-Mead", options=options)
    converged = bool(second.success) and bool(np.isfinite(second.fun)) and bool(np.all(np.isfinite(second.x)))
    return np.asarray(second.x, dtype=np.float64), converged


def fit_bgnbd(frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, *, penalizer: float = 0.0) -> BgNbdParams:
    """Fit the BG/NBD model by maximum likelihood.

    Customers with identical ``(x, t_x, T)`` share one likelihood term, weighted by their count
    (with daily data most non-repeat customers of a cohort coincide), which keeps the fit fast on
    large bases. The optimiser works on ``log(params)`` so every step stays in the valid region.

    Args:
        frequency: repeat purchases ``x`` per customer.
        recency: ``t_x`` per customer (time of the last purchase since the first).
        T: age per customer (time from the first purchase to the end of the data).
        penalizer: optional L2 penalty ``penalizer * sum(params**2)`` added to the *mean*
            negative log-likelihood (so its strength does not depend on the number of
            customers); a small value (e.g. 0.001) stabilises fits on thin data. 0 gives the
            plain MLE.

    Returns:
        The fitted parameters and the (unpenalised) maximised log-likelihood.
    """
    x, t_x, t_age = _as_float(frequency), _as_float(recency), _as_float(T)
    _validate_rft(x, t_x, t_age)
    if x.size == 0:
        raise ValueError("no customers to fit")
    rows, counts = np.unique(np.column_stack([x, t_x, t_age]), axis=0, return_counts=True)
    ux, utx, uT = rows[:, 0], rows[:, 1], rows[:, 2]
    weights = counts.astype(np.float64)
    total = float(weights.sum())

    def objective(log_params: FloatArray) -> float:
        with np.errstate(all="ignore"):
            r, alpha, a, b = np.exp(log_params)
            ll = float(np.dot(weights, bgnbd_log_likelihood(r, alpha, a, b, ux, utx, uT)))
            value = -ll / total + penalizer * float(np.sum(np.exp(2 * log_params)))
        return value if math.isfinite(value) else math.inf

    # r = 1 and alpha matching the observed purchase rate; a = b = 1 is a uniform drop-out prior
    rate = max(float(x.mean()), 1e-3) / max(float(t_age.mean()), 1e-3)
    start = np.log(np.array([1.0, 1.0 / rate, 1.0, 1.0]))
    log_params, converged = _minimise(objective, start)
    r, alpha, a, b = (float(v) for v in np.exp(log_params))
    ll = float(np.dot(weights, bgnbd_log_likelihood(r, alpha, a, b, ux, utx, uT)))
    converged = converged and math.isfinite(ll)
    return BgNbdParams(r=r, alpha=alpha, a=a, b=b, log_likelihood=ll, n=int(x.size), converged=converged)


def _log_dropout_odds(params: BgNbdParams, x: FloatArray, t_x: FloatArray, T: FloatArray) -> FloatArray:
    """log of ``a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x)``; -inf where x = 0."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    out = np.full_like(x, -np.inf)
    repeat = x > 0
    xr = x[repeat]
    out[repeat] = (
        math.log(a) - np.log(b + xr - 1) + (r + xr) * (np.log(alpha + T[repeat]) - np.log(alpha + t_x[repeat]))
    )
    return out


def p_alive(params: BgNbdParams, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
    """Probability that each customer is still alive at ``T`` (Fader, Hardie & Lee 2005, eq. 11).

    Computed as ``expit(-log odds)`` so a customer with many purchases and a long silence gets a
    clean 0 instead of an overflow. By the model's construction a customer can only drop out right
    after a purchase, so a customer with no repeat purchase (x = 0) has P(alive) = 1 exactly; this
    is the paper's result, not a bug, and is why one-time buyers look "alive" here.

    Args:
        params: fitted BG/NBD parameters.
        frequency: repeat purchases ``x``.
        recency: ``t_x``, in the fit's time unit.
        T: age, in the fit's time unit.

    Returns:
        P(alive) per customer, in [0, 1].
    """
    x, t_x, t_age = _as_float(frequency), _as_float(recency), _as_float(T)
    with np.errstate(all="ignore"):
        return np.asarray(expit(-_log_dropout_odds(params, x, t_x, t_age)), dtype=np.float64)


def expected_purchases(
    params: BgNbdParams, t: float | ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> FloatArray:
    """Expected purchases in ``(T, T + t]`` given each customer's history (Fader, Hardie & Lee 2005, eq. 10).

    The paper's form multiplies ``((alpha+T)/(alpha+T+t))^(r+x)`` by
    ``2F1(r+x, b+x; a+b+x-1; z)``, ``z = t/(alpha+T+t)``; for large ``x`` the hypergeometric
    factor explodes while the power vanishes. We apply Euler's transformation
    ``2F1(A, B; C; z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z)``, which turns the product into
    ``((alpha+T)/(alpha+T+t))^(a-1) * 2F1(a+b-1-r, a-1; a+b+x-1; z)``: small upper parameters, a
    fast-converging series, the same value. (Undefined at exactly a = 1, a removable singularity
    that a continuous fit never lands on.)

    Args:
        params: fitted BG/NBD parameters.
        t: horizon length, in the fit's time unit (scalar or per customer).
        frequency: repeat purchases ``x``.
        recency: ``t_x``.
        T: age.

    Returns:
        Conditional expected number of purchases per customer.
    """
    x, t_x, t_age = _as_float(frequency), _as_float(recency), _as_float(T)
    horizon = np.broadcast_to(_as_float(t), x.shape)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    with np.errstate(all="ignore"):
        z = horizon / (alpha + t_age + horizon)
        tail = ((alpha + t_age) / (alpha + t_age + horizon)) ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
        alive_expectation = (a + b + x - 1) / (a - 1) * (1 - tail)
        return np.asarray(alive_expectation * expit(-_log_dropout_odds(params, x, t_x, t_age)), dtype=np.float64)


# --------------------------------------------------------------------------------------------
# Gamma-Gamma
# --------------------------------------------------------------------------------------------


def gamma_gamma_log_likelihood(
    p: float, q: float, gamma: float, frequency: ArrayLike, avg_value: ArrayLike
) -> FloatArray:
    """Per-customer Gamma-Gamma log-likelihood of the mean order value ``zbar`` over ``x`` orders.

    The mean of ``x`` Gamma(p, nu) values is Gamma(px, nu x); integrating ``nu ~ Gamma(q, gamma)``
    out gives (Fader & Hardie 2013, eq. 4)
    ``Gamma(px+q) / (Gamma(px) Gamma(q)) * gamma^q x^(px) zbar^(px-1) / (gamma + x zbar)^(px+q)``,
    evaluated here in logs.

    Args:
        p, q, gamma: Gamma-Gamma parameters (all > 0).
        frequency: number of orders behind each mean (x > 0).
        avg_value: mean order value ``zbar`` (> 0).

    Returns:
        ``log L_i`` per customer.
    """
    x, zbar = _as_float(frequency), _as_float(avg_value)
    with np.errstate(all="ignore"):
        px = p * x
        return np.asarray(
            gammaln(px + q)
            - gammaln(px)
            - gammaln(q)
            + q * math.log(gamma)
            + px * np.log(x)
            + (px - 1) * np.log(zbar)
            - (px + q) * np.log(gamma + x * zbar),
            dtype=np.float64,
        )


def fit_gamma_gamma(frequency: ArrayLike, avg_value: ArrayLike, *, penalizer: float = 0.0) -> GammaGammaParams:
    """Fit the Gamma-Gamma spend model by maximum likelihood on repeat customers.

    Only customers with ``x > 0`` and a positive mean value carry information (the first
    purchase is excluded from the mean, as in the paper, because it often differs in kind).

    Args:
        frequency: repeat purchases ``x`` (each > 0).
        avg_value: mean value of those repeat purchases (each > 0).
        penalizer: optional L2 penalty on the parameters added to the mean negative
            log-likelihood, as in :func:`fit_bgnbd`.

    Returns:
        The fitted parameters and the (unpenalised) maximised log-likelihood.
    """
    x, zbar = _as_float(frequency), _as_float(avg_value)
    if x.shape != zbar.shape or x.ndim != 1 or x.size == 0:
        raise ValueError("frequency and avg_value must be non-empty 1-d arrays of the same length")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(zbar)) and np.all(x > 0) and np.all(zbar > 0)):
        raise ValueError("Gamma-Gamma needs frequency > 0 and a positive, finite average value")

    def objective(log_params: FloatArray) -> float:
        with np.errstate(all="ignore"):
            p, q, gamma = np.exp(log_params)
            value = -float(np.mean(gamma_gamma_log_likelihood(p, q, gamma, x, zbar)))
            value += penalizer * float(np.sum(np.exp(2 * log_params)))
        return value if math.isfinite(value) else math.inf

    # start at the moment-free neutral point p = q = 1 with gamma on the scale of the data
    start = np.log(np.array([1.0, 1.0, max(float(np.median(zbar)), 1e-6)]))
    log_params, converged = _minimise(objective, start)
    p, q, gamma = (float(v) for v in np.exp(log_params))
    ll = float(np.sum(gamma_gamma_log_likelihood(p, q, gamma, x, zbar)))
    converged = converged and math.isfinite(ll)
    return GammaGammaParams(p=p, q=q, gamma=gamma, log_likelihood=ll, n=int(x.size), converged=converged)


def expected_order_value(params: GammaGammaParams, frequency: ArrayLike, avg_value: ArrayLike) -> FloatArray:
    """Conditional expected value of a customer's future orders (Fader & Hardie 2013, eq. 5).

    ``E[M | x, zbar] = p (gamma + x zbar) / (p x + q - 1)``: a weighted average of the population
    mean ``p gamma / (q - 1)`` and the customer's own ``zbar``, the weight on ``zbar`` growing with
    ``x``. Customers with no usable history (x = 0, or a missing/non-positive ``zbar``) get the
    population mean. It is infinite (returned as NaN) when the population mean does not exist
    (q <= 1) and the customer has no history to lean on.

    Args:
        params: fitted Gamma-Gamma parameters.
        frequency: repeat purchases ``x``.
        avg_value: mean repeat order value (NaN allowed where x = 0).

    Returns:
        Expected order value per customer.
    """
    x, zbar = _as_float(frequency), _as_float(avg_value)
    usable = (x > 0) & np.isfinite(zbar) & (zbar > 0)
    x_used = np.where(usable, x, 0.0)
    z_used = np.where(usable, zbar, 0.0)
    p, q, gamma = params.p, params.q, params.gamma
    with np.errstate(all="ignore"):
        denominator = p * x_used + q - 1
        value = p * (gamma + x_used * z_used) / denominator
    return np.asarray(np.where(denominator > 0, value, np.nan), dtype=np.float64)


# --------------------------------------------------------------------------------------------
# CLV
# --------------------------------------------------------------------------------------------


def predicted_clv(
    bgnbd: BgNbdParams,
    gamma_gamma: GammaGammaParams | None,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    avg_value: ArrayLike,
    *,
    horizon_days: int,
    annual_discount_rate: float,
    time_unit_days: float = 7.0,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Discounted expected spend over the next ``horizon_days`` per customer.

    Approach (deliberately simple): the horizon is cut into calendar-month steps of
    365.25/12 days (the last one partial). For each step, the purchases expected in it
    (``E[Y(end)] - E[Y(start)]`` from the BG/NBD) are valued at the customer's Gamma-Gamma
    expected order value and discounted to today from the *end* of the step with
    ``(1 + annual_discount_rate) ** (-end_days / 365.25)`` (the rate read as an effective yearly
    rate, applied at each month end). Summing the steps gives the CLV. The BG/NBD expectation already
    includes the chance the customer is no longer alive, so no separate retention factor is
    applied. Margins are not applied: the value is revenue, not profit.

    Args:
        bgnbd: fitted BG/NBD parameters (in units of ``time_unit_days`` days).
        gamma_gamma: fitted Gamma-Gamma parameters, or None (values and CLV are then NaN).
        frequency: repeat purchases ``x``.
        recency: ``t_x`` in fit units.
        T: age in fit units.
        avg_value: mean repeat order value (NaN where x = 0).
        horizon_days: length of the horizon in days (> 0).
        annual_discount_rate: yearly discount rate (0.10 for 10 %).
        time_unit_days: days per fit unit (7 when the fit was in weeks).

    Returns:
        ``(expected purchases over the horizon, expected order value, discounted CLV)``.
    """
    if horizon_days <= 0:
        raise ValueError("horizon_days must be positive")
    if annual_discount_rate <= -1:
        raise ValueError("annual_discount_rate must be > -1")
    x = _as_float(frequency)
    ends_days = np.minimum(np.arange(1, math.ceil(horizon_days / DAYS_PER_MONTH) + 1) * DAYS_PER_MONTH, horizon_days)
    discount = (1.0 + annual_discount_rate) ** (-ends_days / DAYS_PER_YEAR)
    previous = np.zeros_like(x)
    discounted_purchases = np.zeros_like(x)
    for end, factor in zip(ends_days, discount, strict=True):
        cumulative = expected_purchases(bgnbd, float(end) / time_unit_days, x, recency, T)
        discounted_purchases += (cumulative - previous) * factor
        previous = cumulative
    if gamma_gamma is None:
        value = np.full_like(x, np.nan)
    else:
        value = expected_order_value(gamma_gamma, x, avg_value)
    return previous, value, discounted_purchases * value


# --------------------------------------------------------------------------------------------
# Warehouse task
# --------------------------------------------------------------------------------------------


def _finite_or_none(value: float, digits: int | None = None) -> float | None:
    if not math.isfinite(value):
        return None
    return round(value, digits) if digits is not None else value


def score_customers(
    conn: Any, *, horizon_days: int, annual_discount_rate: float, time_unit_days: float = 7.0
) -> dict[str, Any]:
    """Fit BG/NBD + Gamma-Gamma on ``intermediate.int_clv_inputs`` and write the CLV tables.

    Days are converted to ``time_unit_days`` units (weeks by default) before fitting, for the
    optimiser's numerical scale. ``analytics.customer_clv`` gets one row per customer and
    ``analytics.clv_model_fit`` one row per fitted parameter; both are replaced in their own
    transaction (see :func:`cx_warehouse.analytics.store.replace_table`), so a re-run for the same
    data gives the same tables.

    With fewer than :data:`MIN_REPEAT_CUSTOMERS` repeat customers the models are not fitted (the
    estimates would be noise): every customer is still written, with null scores, and the reason
    is logged and returned. The same happens to the spend columns alone when the Gamma-Gamma model
    cannot be fitted.

    Args:
        conn: an open psycopg connection (not in autocommit).
        horizon_days: CLV and expected-purchase horizon in days.
        annual_discount_rate: yearly discount rate for the CLV (0.10 for 10 %).
        time_unit_days: days per model time unit.

    Returns:
        Summary: customers read and scored, repeat customers, fitted parameters with
        log-likelihoods (None when not fitted), the reason scores are missing (None when all
        fine) and the fit time.

    Raises:
        ValueError: on invalid arguments or inconsistent inputs (e.g. recency > tenure), which
            the upstream dbt model should make impossible.
    """
    if horizon_days <= 0 or time_unit_days <= 0 or annual_discount_rate <= -1:
        raise ValueError("need horizon_days > 0, time_unit_days > 0 and annual_discount_rate > -1")
    # in a transaction block of its own, so the read does not leave one open (a later
    # conn.transaction() would then only be a savepoint and replace_table would not commit)
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(INPUT_QUERY)
        records = cur.fetchall()

    ids = [str(rec[0]) for rec in records]
    x = np.array([int(rec[1]) for rec in records], dtype=np.float64)
    t_x = np.array([float(rec[2]) for rec in records], dtype=np.float64) / time_unit_days
    t_age = np.array([float(rec[3]) for rec in records], dtype=np.float64) / time_unit_days
    zbar = np.array([math.nan if rec[4] is None else float(rec[4]) for rec in records], dtype=np.float64)
    _validate_rft(x, t_x, t_age)

    n_customers = len(ids)
    n_repeat = int(np.sum(x > 0))
    started = time.perf_counter()
    bg: BgNbdParams | None = None
    gg: GammaGammaParams | None = None
    reasons: list[str] = []
    correlation: float | None = None
    nan = np.full(n_customers, np.nan)
    alive, purchases, value, clv = nan, nan, nan, nan

    if n_repeat < MIN_REPEAT_CUSTOMERS:
        reasons.append(
            f"only {n_repeat} customers with a repeat purchase (< {MIN_REPEAT_CUSTOMERS}); models not fitted"
        )
    else:
        bg = fit_bgnbd(x, t_x, t_age)
        if not bg.converged:
            log.warning("BG/NBD optimiser did not report convergence: %s", bg)
        alive = p_alive(bg, x, t_x, t_age)
        spend = (x > 0) & np.isfinite(zbar) & (zbar > 0)
        dropped = n_repeat - int(spend.sum())
        if dropped:
            log.warning("%d repeat customers without a positive average order value: population mean used", dropped)
        if int(spend.sum()) < MIN_REPEAT_CUSTOMERS:
            reasons.append(f"only {int(spend.sum())} repeat customers with a positive order value; no spend model")
        else:
            gg = fit_gamma_gamma(x[spend], zbar[spend])
            if not gg.converged:
                log.warning("Gamma-Gamma optimiser did not report convergence: %s", gg)
            if gg.q <= 1:
                reasons.append(f"Gamma-Gamma q = {gg.q:.3f} <= 1: no finite mean for customers without repeats")
            if int(spend.sum()) > 2:
                # the model assumes spend is independent of frequency; report how far from that we are
                correlation = float(np.corrcoef(x[spend], zbar[spend])[0, 1])
                log.info("correlation of frequency and average order value: %.3f", correlation)
        purchases, value, clv = predicted_clv(
            bg,
            gg,
            x,
            t_x,
            t_age,
            zbar,
            horizon_days=horizon_days,
            annual_discount_rate=annual_discount_rate,
            time_unit_days=time_unit_days,
        )
    fit_seconds = time.perf_counter() - started

    rows = [
        (
            ids[i],
            _finite_or_none(float(alive[i])),
            _finite_or_none(float(purchases[i])),
            _finite_or_none(float(value[i]), 2),
            _finite_or_none(float(clv[i]), 2),
            int(x[i]),
        )
        for i in range(n_customers)
    ]
    fit_rows: list[tuple[str, str, float, float, int]] = []
    if bg is not None:
        fit_rows += [("bg_nbd", name, getattr(bg, name), bg.log_likelihood, bg.n) for name in ("r", "alpha", "a", "b")]
    if gg is not None:
        fit_rows += [("gamma_gamma", name, getattr(gg, name), gg.log_likelihood, gg.n) for name in ("p", "q", "gamma")]

    unit = f"time unit {time_unit_days:g} days"
    # both tables in one transaction: scores and the parameters behind them never disagree
    with conn.transaction():
        written = replace_table(
            conn,
            "customer_clv",
            CLV_COLUMNS,
            rows,
            comment=(
                f"BG/NBD P(alive), expected purchases and Gamma-Gamma CLV over {horizon_days} days "
                f"(annual discount {annual_discount_rate:g}); written by cx_warehouse.analytics.clv.score_customers"
            ),
        )
        replace_table(
            conn,
            "clv_model_fit",
            FIT_COLUMNS,
            fit_rows,
            comment=f"CLV model parameters ({unit}); written by cx_warehouse.analytics.clv.score_customers",
        )
    reason = "; ".join(reasons) or None
    if reason:
        log.warning("CLV scores incomplete: %s", reason)
    summary: dict[str, Any] = {
        "customers": n_customers,
        "customers_written": written,
        "customers_scored": int(np.sum(np.isfinite(alive))),
        "repeat_customers": n_repeat,
        "bg_nbd": bg.as_dict() if bg else None,
        "gamma_gamma": gg.as_dict() if gg else None,
        "frequency_value_correlation": correlation,
        "horizon_days": horizon_days,
        "annual_discount_rate": annual_discount_rate,
        "time_unit_days": time_unit_days,
        "fit_seconds": round(fit_seconds, 3),
        "reason": reason,
    }
    log.info("CLV scored: %s", summary)
    return summary
