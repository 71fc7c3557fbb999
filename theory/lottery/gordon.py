r"""The largest fraction prunable in one step, from the Hessian spectrum and the projection length
(the book's reconstruction of the paper's §3.3, derived in :mod:`theory.lottery.derivation`).

Pruning a fraction p of D weights, then retraining the rest, searches the axial subspace of
dimension (1 − p)D at distance ℓ(p) (the projection length) from the solution. By Gordon's escape
through a mesh with Larsen et al.'s (2022) width of the ε-sublevel ellipsoid (radii
:math:`r_i = \sqrt{2\varepsilon/\lambda_i}`) seen from distance ℓ, the subspace reaches loss
L* + ε iff

.. math::  pD \;\le\; \sum_i \frac{r_i^2}{r_i^2 + \ell(p)^2}
           \;=\; \sum_i \frac{2\varepsilon}{2\varepsilon + \lambda_i\,\ell(p)^2},

and :math:`p_{\max}` is the first p where equality holds (:func:`prune_fraction_fixed_point`).
For a non-decreasing ℓ the left side grows and the right side falls, so the root is unique.
Random pruning has :math:`\ell(p)^2 = p\lVert w\rVert^2` in expectation, magnitude pruning the sum
of the pD smallest :math:`w_i^2` (:func:`projection_length_curve`) — never more, so its predicted
:math:`p_{\max}` is at least random pruning's.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import optimize

from theory.core import as_array, check_scalar

__all__ = ["p_max_isotropic", "projection_length_curve", "prune_condition_rhs",
           "prune_fraction_fixed_point"]


def _eigenvalues(eigenvalues):
    lam = as_array(eigenvalues, "eigenvalues", ndim=1)
    if lam.size == 0:
        raise ValueError("eigenvalues must hold at least one eigenvalue (one per prunable weight)")
    if np.any(lam < 0):
        raise ValueError(f"eigenvalues must be >= 0 (the Hessian at a minimum; clip or drop negative "
                         f"eigenvalues first), got min {lam.min()!r}")
    return lam


def _eps(eps):
    return check_scalar(eps, "eps", min=0.0, include_min=False)


def prune_condition_rhs(eigenvalues, eps, ell):
    r""":math:`\sum_i 2\varepsilon/(2\varepsilon + \lambda_i \ell^2)` (= Larsen et al.'s
    :math:`\sum_i r_i^2/(r_i^2 + \ell^2)` with :math:`r_i^2 = 2\varepsilon/\lambda_i`; a zero
    eigenvalue counts 1), for a scalar or an array of projection lengths ℓ ≥ 0."""
    lam = _eigenvalues(eigenvalues)
    eps = _eps(eps)
    ell = as_array(ell, "ell")
    if np.any(ell < 0):
        raise ValueError("ell must be >= 0 (a length)")
    # 1/(1 + (λ/ε)ℓ²/2), a zero λ or ℓ counting 1 exactly: finite for every finite ε > 0 and ℓ
    # (2ε/(2ε + λℓ²) gave inf/inf = NaN for ε > 9e307, and 0·inf for λ = 0 with a huge ℓ)
    with np.errstate(over="ignore", invalid="ignore"):
        e = ell[..., None]
        x = ((lam * e) / eps) * e / 2              # this order: no 0·inf for any finite inputs
    x = np.where((lam == 0) | (ell[..., None] == 0), 0.0, x)
    out = np.sum(1.0 / (1.0 + x), axis=-1)
    return float(out) if out.ndim == 0 else out


def p_max_isotropic(kappa) -> float:
    r"""The isotropic closed form :math:`p_{\max} = (\sqrt{\kappa^2 + 4\kappa} - \kappa)/2
    = 2/(1 + \sqrt{1 + 4/\kappa})`, :math:`\kappa = 2\varepsilon/(\lambda\lVert w\rVert^2)` (H = λI,
    random pruning; :func:`theory.lottery.derivation.isotropic_fixed_point`)."""
    kappa = check_scalar(kappa, "kappa", min=0.0, include_min=False)
    # = 2√κ / (√κ + √(κ + 4)): no cancellation, and no overflow of 4/κ for a subnormal κ
    # (where 2/(1 + √(1 + 4/κ)) gave 0 instead of ≈ √κ)
    r = math.sqrt(kappa)
    return 2.0 * r / (r + math.sqrt(kappa + 4.0))


def projection_length_curve(weights, fractions, method: str = "magnitude") -> np.ndarray:
    r"""ℓ(p), the distance from w to its pruned projection, at each fraction p in ``fractions``.

    ``"magnitude"``: :math:`\ell(p)^2 = \sum_{j \le pD} w_{(j)}^2` over the smallest |w| first,
    linearly interpolated between whole counts (so ℓ is continuous and non-decreasing);
    ``"random"``: the expectation :math:`\ell(p)^2 = p\lVert w\rVert^2`.
    """
    w = as_array(weights, "weights", ndim=1)
    if w.size == 0:
        raise ValueError("weights must hold at least one weight")
    f = as_array(fractions, "fractions", ndim=(0, 1))
    if np.any((f < 0) | (f > 1)):
        raise ValueError("fractions must lie in [0, 1]")
    if method == "random":
        ell2 = f * float(np.sum(w * w))
    elif method == "magnitude":
        cum = np.concatenate([[0.0], np.cumsum(np.sort(w * w))])
        ell2 = np.interp(f * w.size, np.arange(w.size + 1, dtype=np.float64), cum)
    else:
        raise ValueError(f"method must be 'magnitude' or 'random', got {method!r}")
    return np.sqrt(ell2)


def _ell_function(ell_of_p, p_grid) -> Callable[[float], float]:
    if callable(ell_of_p):
        if p_grid is not None:
            raise ValueError("p_grid is only for an array ell_of_p (a callable is evaluated directly)")

        def ell(p):
            try:
                v = float(ell_of_p(p))
            except (TypeError, ValueError) as exc:
                raise TypeError(f"ell_of_p must return a real number for p in [0, 1]: {exc}") from None
            if not math.isfinite(v) or v < 0:
                raise ValueError(f"ell_of_p must return a finite length >= 0, got {v!r} at p = {p}")
            return v
        return ell
    values = as_array(ell_of_p, "ell_of_p", ndim=1)
    if p_grid is None:
        raise ValueError("p_grid is required when ell_of_p is an array (ℓ on that grid of fractions)")
    grid = as_array(p_grid, "p_grid", ndim=1)
    if grid.shape != values.shape or grid.size < 2:
        raise ValueError(f"p_grid must have ell_of_p's length (>= 2), got {grid.shape} and {values.shape}")
    if grid[0] != 0.0 or grid[-1] != 1.0 or np.any(np.diff(grid) <= 0):
        raise ValueError("p_grid must increase strictly from 0 to 1")
    if np.any(values < 0):
        raise ValueError("ell_of_p must hold lengths >= 0")
    return lambda p: float(np.interp(p, grid, values))


def prune_fraction_fixed_point(eigenvalues, eps, ell_of_p, *, p_grid=None, n_scan: int = 1025) -> float:
    r"""The predicted largest fraction prunable in one step: the first root in (0, 1] of

    .. math::  F(p) = pD - \sum_i \frac{2\varepsilon}{2\varepsilon + \lambda_i\,\ell(p)^2},

    D = len(eigenvalues) (the Hessian's eigenvalues over the prunable weights, all ≥ 0), ε > 0 the
    loss tolerance, ℓ(p) the projection length — a callable p ↦ ℓ, or an array of ℓ on ``p_grid``
    (from 0 to 1, linearly interpolated). F(0) < 0 always; the first sign change on ``n_scan``
    equally spaced fractions is refined by Brent's method (bisection-safe). Returns 1.0 when F stays
    ≤ 0 up to p = 1 (ℓ(1) = 0 or a flat spectrum: everything prunable). The book's reconstruction.
    """
    lam = _eigenvalues(eigenvalues)
    eps = _eps(eps)
    n_scan = check_scalar(n_scan, "n_scan", kind="int", min=3)
    ell = _ell_function(ell_of_p, p_grid)
    D = lam.size
    two_eps = 2.0 * eps

    def F(p):
        return p * D - float(np.sum(two_eps / (two_eps + lam * ell(p) ** 2)))

    ps = np.linspace(0.0, 1.0, n_scan)
    prev_p = 0.0                                  # F(0) = −Σ 2ε/(2ε + λ_i ℓ(0)²) < 0
    for q in ps[1:]:
        Fq = F(float(q))
        if Fq >= 0:
            if Fq == 0:
                return float(q)
            return float(optimize.brentq(F, prev_p, float(q), xtol=1e-14, rtol=4 * np.finfo(float).eps))
        prev_p = float(q)
    return 1.0
