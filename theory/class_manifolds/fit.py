r"""The sigmoid fit in ln d_cut, the half-way dimension d*₅₀ and the effective dimension D − d*.

The official notebook (stanislavfort/slice-dice-optimize) fits the mean best target probability
against the cut dimension with

.. math::  p(d) = a + \frac{b}{1 + \exp\!\big(-(\ln d - \ln c)/s\big)}

by ``scipy.optimize.curve_fit`` from :math:`p_0 = (0.1, 1, 50, 2)` (its D = 3072), takes
:math:`d^*_{50}` where the fitted curve crosses p = 1/2, and an error bar from the range of the
crossings of 10–50 parameter draws from the fit covariance. Solving the fit for p = ℓ,

.. math::  y = \frac{\ell - a}{b}, \qquad d^*_\ell = c \Big(\frac{y}{1-y}\Big)^{s}
           \quad (0 < y < 1; \text{ otherwise the curve never reaches } \ell).

Here (the book's choices): the fit is made in (a, b, ln c, s) so c stays positive; the start is
the official :math:`p_0` with c scaled to D, :math:`c_0 = 50 D/3072`, and, if that fit fails or
does not cross, a second start at the data's own half-way point; the error bar is the delta-method
standard deviation :math:`\sigma^2 = \nabla d^{*\top}\, \Sigma\, \nabla d^*` (Σ the fit covariance)
together with the official draw range; the effective dimension is :math:`D - d^*_{50}` (the
generic-intersection count of the 2021 text: a d-plane meets an m-manifold in R^D once d + m ≥ D).
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import numpy as np
from scipy import optimize

from theory.core import check_seed, as_array, check_scalar, config_seed

__all__ = ["SigmoidFit", "crossing", "fit_sigmoid", "sigmoid", "interpolated_crossing"]


class SigmoidFit(NamedTuple):
    """A fit of :func:`sigmoid`: its parameters and covariance, the crossing ``d50`` of ``level``
    (NaN when the curve never reaches it: ``crosses`` False), ``d50_err`` (delta method),
    ``d50_range`` (min, max over the covariance draws that cross), ``inside`` (1 ≤ d50 ≤ D: not an
    extrapolation), ``effective_dim`` = D − d50 and its error, which start converged, and
    ``status``: "crosses", "always_above" (the fitted curve lies above ``level`` everywhere: its
    lower asymptote a ≥ level, d*₅₀ below any plane) or "never_reaches" (its upper asymptote a + b
    stays below ``level``)."""

    a: float
    b: float
    c: float
    s: float
    cov: np.ndarray
    level: float
    d50: float
    d50_err: float
    d50_range: tuple
    crosses: bool
    inside: bool
    D: int
    effective_dim: float
    effective_dim_err: float
    start: str
    rms_residual: float
    status: str


def sigmoid(d, a, b, c, s):
    r""":math:`p(d) = a + b/(1 + \exp(-(\ln d - \ln c)/s))` (d > 0, c > 0, s ≠ 0)."""
    d = as_array(d, "d")
    if np.any(d <= 0):
        raise ValueError("d must be > 0 (the sigmoid is in ln d)")
    a, b, c, s = _params(a, b, c, s)
    return _model(d, a, b, math.log(c), s)


def _params(a, b, c, s):
    a, b = check_scalar(a, "a"), check_scalar(b, "b")
    c = check_scalar(c, "c", min=0.0, include_min=False)
    s = check_scalar(s, "s")
    if s == 0:
        raise ValueError("s must be non-zero (the sigmoid's width in ln d)")
    return a, b, c, s


def _model(d, a, b, logc, s):
    with np.errstate(over="ignore"):  # exp → inf gives the asymptote a, as it should
        return a + b / (1.0 + np.exp(-(np.log(d) - logc) / s))


def crossing(a, b, c, s, level=0.5) -> float:
    r"""The d at which :func:`sigmoid` equals ``level``: :math:`c\,(y/(1-y))^s`, y = (level − a)/b;
    NaN when 0 < y < 1 fails (the fitted curve never reaches ``level``) or the crossing over- or
    underflows a float."""
    a, b, c, s = _params(a, b, c, s)
    level = check_scalar(level, "level")
    if b == 0:
        return math.nan
    y = (level - a) / b
    if not 0.0 < y < 1.0:
        return math.nan
    try:
        out = float(c * (y / (1.0 - y)) ** s)
    except OverflowError:
        return math.nan
    return out if 0.0 < out < math.inf else math.nan


def interpolated_crossing(d, p, level=0.5) -> float:
    """The first d at which the piecewise-linear curve through (d, p) reaches ``level`` from below
    (the first grid d if p already starts at or above it; NaN if it never does)."""
    d = as_array(d, "d", ndim=1)
    p = as_array(p, "p", ndim=1)
    level = check_scalar(level, "level")
    if d.shape != p.shape or d.size == 0:
        raise ValueError(f"d and p must be non-empty and of one shape, got {d.shape} and {p.shape}")
    order = np.argsort(d)
    d, p = d[order], p[order]
    if p[0] >= level:
        return float(d[0])
    for i in range(1, d.size):
        if p[i] >= level:
            return float(d[i - 1] + (level - p[i - 1]) * (d[i] - d[i - 1]) / (p[i] - p[i - 1]))
    return math.nan


def _crossing_log(a, b, logc, s, level):
    """:func:`crossing` from ln c, NaN where the crossing over- or underflows (a degenerate fit)."""
    if b == 0 or s == 0 or not all(map(math.isfinite, (a, b, logc, s))):
        return math.nan
    y = (level - a) / b
    if not 0.0 < y < 1.0:
        return math.nan
    log_d = logc + s * math.log(y / (1.0 - y))
    return math.exp(log_d) if -700.0 < log_d < 700.0 else math.nan


def _grad_crossing(a, b, logc, s, level):
    """∂d*/∂(a, b, ln c, s) at a crossing, for the delta method."""
    y = (level - a) / b
    dstar = math.exp(logc) * (y / (1 - y)) ** s
    dlog_dy = s / (y * (1 - y))  # ∂ ln d*/∂y
    return dstar * np.array([dlog_dy * (-1.0 / b), dlog_dy * (-y / b), 1.0, math.log(y / (1 - y))])


def fit_sigmoid(d, p, D, *, level=0.5, sigma=None, n_draws=50, seed=0) -> SigmoidFit:
    r"""Fit :func:`sigmoid` to the curve p(d) (e.g. the repeat-mean ``best_score`` of a cutting-plane
    search) and return d*₅₀ with its error bar and the effective dimension D − d*₅₀.

    ``sigma`` (optional, like p) weights the points as in ``curve_fit`` (absolute). The draws for
    the official error range use ``config_seed(seed, "sigmoid_draws")``.
    """
    d = as_array(d, "d", ndim=1)
    p = as_array(p, "p", ndim=1)
    if d.shape != p.shape:
        raise ValueError(f"d and p must have one shape, got {d.shape} and {p.shape}")
    if d.size < 4:
        raise ValueError(f"d must hold at least 4 points to fit 4 parameters, got {d.size}")
    if np.any(d <= 0):
        raise ValueError("d must be > 0 (the fit is in ln d)")
    D = check_scalar(D, "D", kind="int", min=1)
    level = check_scalar(level, "level", min=0.0, max=1.0, include_min=False, include_max=False)
    n_draws = check_scalar(n_draws, "n_draws", kind="int", min=0)
    seed = check_seed(seed)
    if sigma is not None:
        sigma = as_array(sigma, "sigma", ndim=1)
        if sigma.shape != p.shape or np.any(sigma <= 0):
            raise ValueError("sigma must be positive and of p's shape")

    half = interpolated_crossing(d, p, 0.5 * (p.min() + p.max()))
    starts = [("official", [0.1, 1.0, math.log(50.0 * D / 3072.0), 2.0])]
    if math.isfinite(half):
        starts.append(("data", [float(p.min()), float(p.max() - p.min()), math.log(half), 0.3]))
    fit = None
    for name, p0 in starts:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optimize.OptimizeWarning)
                warnings.simplefilter("ignore", RuntimeWarning)  # overflowing covariance of a flat fit
                popt, pcov = optimize.curve_fit(_model, d, p, p0=p0, sigma=sigma,
                                                absolute_sigma=sigma is not None, maxfev=20_000)
        except (RuntimeError, ValueError):
            continue
        if not np.all(np.isfinite(popt)):
            continue
        rms = float(np.sqrt(np.mean((_model(d, *popt) - p) ** 2)))
        cross = _crossing_log(*popt, level)
        cand = (name, popt, pcov, rms, cross)
        if fit is None or (math.isfinite(cross) and not math.isfinite(fit[4])) or \
                (math.isfinite(cross) == math.isfinite(fit[4]) and rms < fit[3] - 1e-12):
            fit = cand
        if math.isfinite(cross) and name == "official":
            break
    if fit is None:
        raise RuntimeError("fit_sigmoid: curve_fit did not converge from either start")
    name, popt, pcov, rms, cross = fit
    a, b, logc, s = map(float, popt)
    crosses = math.isfinite(cross)
    err, lo_hi = math.nan, (math.nan, math.nan)
    cov_ok = np.all(np.isfinite(pcov))
    if crosses and cov_ok:
        g = _grad_crossing(a, b, logc, s, level)
        err = float(math.sqrt(max(g @ pcov @ g, 0.0)))
        if n_draws:
            rng = np.random.default_rng(config_seed(seed, "sigmoid_draws"))
            try:
                draws = rng.multivariate_normal(popt, pcov, size=n_draws, check_valid="ignore")
            except (np.linalg.LinAlgError, ValueError):
                draws = np.empty((0, 4))
            xs = np.array([_crossing_log(*q, level) for q in draws])
            xs = xs[np.isfinite(xs)]
            if xs.size:
                lo_hi = (float(xs.min()), float(xs.max()))
    inside = bool(crosses and 1.0 <= cross <= D)
    if crosses:
        status = "crosses"
    else:
        lo_end, hi_end = sorted((a, a + b))
        status = "always_above" if lo_end >= level else "never_reaches" if hi_end < level else "degenerate"
    return SigmoidFit(a, b, math.exp(logc), s, np.asarray(pcov), level, cross, err, lo_hi, crosses,
                      inside, D, D - cross if crosses else math.nan, err, name, rms, status)
