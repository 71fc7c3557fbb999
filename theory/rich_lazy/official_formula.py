"""The official notebook's single-neuron closed form, re-implemented from its equations.

This is **not** the official code: it is the book's re-implementation of the formulas of the
authors' notebook (``allanraventos/getrichquick``, ``single-neuron/Single_Neuron.ipynb``,
functions ``theory``, ``a_w_norm``, ``get_w_theory`` and, at δ = 0, ``balanced_theory``), kept
so that the book can compare it with its own solution (:func:`theory.rich_lazy.exact.whitened_solution`)
and the benchmarks can time it. Unit learning rates, whitened inputs (XᵀX = I), a₀ > 0, as in
the notebook.

The notebook's route (δ = a₀² − ‖w₀‖² ≠ 0, s = ‖β*‖, D = √(δ² + 4s²)):

1. ν = wᵀβ*/a solves the Riccati equation ν̇ = s² − δν − ν² (the paper's Sec. 3 dynamics in
   this variable): ν(t) = ½(−δ + D tanh Q), Q = Dt/2 + artanh((δ + 2ν₀)/D), with artanh taken
   over the complex numbers so that |z₀| > 1 continues into coth.
2. The hyperbolic angle θ of (a, ‖w‖) on the hyperbola a² − ‖w‖² = δ: a = √δ cosh θ,
   ‖w‖ = √δ sinh θ for δ > 0; a = √−δ sinh θ, ‖w‖ = √−δ cosh θ for δ < 0. Its function
   φ = cosh θ (δ > 0) or sinh θ (δ < 0), φ₀ = a₀/√|δ|, is given by the notebook as

       φ² = 4s² / Λ(t),  Λ = sech²Q · [4s²k φ₀² − D²(s²‖w₀‖² − ν₀²a₀²)/|δ| · e^{−δt}
                                       − δ k φ₀² (δ cosh 2Q − D sinh 2Q)] / (k φ₀²),
       k = s² − ν₀(δ + ν₀),

   (for δ < 0 Λ is negative and φ = 2s/√(−Λ)), then θ = arccosh φ or arcsinh φ.
3. μ = ŵᵀβ* = ν ‖w‖⁻¹a: ν coth θ (δ > 0), ν tanh θ (δ < 0); a, ‖w‖ from θ (``a_w_norm``).
4. w = ‖w‖(c₁ ê⊥ + c₂ β̂*), c₂ = μ/s, c₁ = +√(1 − c₂²) (the notebook always takes the positive
   root), ê⊥ the unit part of ŵ₀ normal to β̂*; when ŵ₀ ∥ β̂* (to 1e-9) w = ‖w‖c₂β̂*.

At δ = 0 (``balanced_theory``): with u = artanh(μ₀) + s t, μ₀ = cos∠(w₀, β*), the norm
‖β‖ = s(cosh 2u + 1)/(2u + sinh 2u + c s), c fixed by ‖β(0)‖ = a₀‖w₀‖; the direction
β/‖β‖ = c_v sech u + (β*/s) tanh u with c_v fixed at t = 0; a = sign(a₀)‖β‖^{1/2}, w = β/a.

:func:`official_region` is the part of the domain where this formula departs from the gradient
flow (the book's finding, see the derivation page): δ < 0 and (δ + 2ν₀)/D > 1.
"""

from __future__ import annotations

import numpy as np

from theory.core import as_array

__all__ = ["official_region", "official_trajectory"]


def _official_unbalanced(t, a0, w0, beta_star, delta):
    """Steps 1–4 above for one trajectory (δ ≠ 0); returns (a (T,), w (T, d))."""
    s = np.sqrt(beta_star @ beta_star)
    wn0 = np.sqrt(w0 @ w0)
    phi0 = np.cosh(np.arctanh(wn0 / a0)) if delta > 0 else np.sinh(np.arctanh(a0 / wn0))
    nu0 = (w0 / a0) @ beta_star
    D = np.sqrt(4.0 * s * s + delta * delta)
    Q = 0.5 * t * D + np.arctanh((delta + 2.0 * nu0) / D + 0j)
    nu = 0.5 * (-delta + D * np.tanh(Q).real)
    k = s * s - nu0 * (delta + nu0)
    if delta < 0:
        middle = (s * s + (s * s - nu0 * nu0) * phi0 * phi0)
    else:
        middle = (-nu0 * nu0 * phi0 * phi0 + s * s * (phi0 * phi0 - 1.0))
    lam = (1.0 / np.cosh(Q)) ** 2 * (
        4.0 * s * s * k * phi0 * phi0
        - D * D * middle * np.exp(-delta * t)
        - delta * k * phi0 * phi0 * (delta * np.cosh(2.0 * Q) - D * np.sinh(2.0 * Q))
    ) / (k * phi0 * phi0)
    if delta < 0:
        phi = (2.0 * s / np.sqrt(lam) * 1j).real
        theta = np.arcsinh(phi)
        mu = np.tanh(theta) * nu
        a = np.sqrt(-delta) * np.sinh(theta)
        w_norm = np.sqrt(-delta) * np.cosh(theta)
    else:
        phi = (2.0 * s / np.sqrt(lam)).real
        theta = np.arccosh(phi)
        mu = nu / np.tanh(theta)
        a = np.sqrt(delta) * np.cosh(theta)
        w_norm = np.sqrt(delta) * np.sinh(theta)
    b_hat = beta_star / s
    w0_hat = w0 / wn0
    c2 = mu / s
    cos0 = w0_hat @ b_hat
    if abs(cos0 * cos0 - 1.0) <= 1e-9:
        return a, (c2 * w_norm)[:, None] * b_hat
    c1 = np.sqrt(1.0 - c2 * c2)
    e_perp = (w0_hat - cos0 * b_hat) / np.sqrt(1.0 - cos0 * cos0)
    w = (c1 * w_norm)[:, None] * e_perp + (c2 * w_norm)[:, None] * b_hat
    return a, w


def _official_balanced(t, a0, w0, beta_star):
    """The δ = 0 formula above (``balanced_theory``); returns (a (T,), w (T, d))."""
    beta0 = a0 * w0
    norm0 = a0 * np.sqrt(w0 @ w0)
    s = np.sqrt(beta_star @ beta_star)
    mu0 = (w0 @ beta_star) / (np.sqrt(w0 @ w0) * s)
    u0 = np.arctanh(mu0)
    u = u0 + s * t
    num0, den0 = s * (np.cosh(2.0 * u0) + 1.0), 2.0 * u0 + np.sinh(2.0 * u0)
    c = (num0 - norm0 * den0) / (norm0 * s)
    norm = s * (np.cosh(2.0 * u) + 1.0) / (2.0 * u + np.sinh(2.0 * u) + c * s)
    cv = (beta0 / norm0 - beta_star * np.tanh(u0) / s) * np.cosh(u0)
    beta = (cv[None, :] / np.cosh(u)[:, None] + beta_star[None, :] * (np.tanh(u) / s)[:, None]) \
        * norm[:, None]
    a = np.sign(a0) * np.sqrt(np.abs(norm))
    return a, beta / a[:, None]


def official_trajectory(t, a0, w0, beta_star, delta=None) -> tuple[np.ndarray, np.ndarray]:
    """(a(t), w(t)) of the official notebook's closed form (re-implemented; see the module text).

    ``t`` (T,) times ≥ 0 (for δ = 0, as in the notebook, t[0] must be 0: the constants are fixed
    at the first time), a₀ > 0 scalar, ``w0`` and ``beta_star`` (d,), unit rates, XᵀX = I.
    ``delta``: the imbalance a₀² − ‖w₀‖² the formula is given, as the notebook passes its nominal
    δ; by default computed from a₀, w₀, and taken as 0 when |δ| ≤ 1e-12 (a₀² + ‖w₀‖²) (the
    notebook's δ = 0 branch). Returns a (T,) and w (T, d). Outside the region of :func:`official_region` it agrees with
    the gradient flow; inside it does not (the book's finding).
    """
    t = as_array(t, "t", ndim=1)
    if np.any(t < 0):
        raise ValueError("t must be >= 0")
    a0 = float(as_array(a0, "a0", ndim=0))
    if not a0 > 0:
        raise ValueError("a0 must be > 0 (the official formula assumes a positive readout)")
    w0 = as_array(w0, "w0", ndim=1)
    beta_star = as_array(beta_star, "beta_star", ndim=1)
    if w0.shape != beta_star.shape:
        raise ValueError(f"w0 and beta_star must have the same shape, got {w0.shape} and "
                         f"{beta_star.shape}")
    if not np.any(w0) or not np.any(beta_star):
        raise ValueError("w0 and beta_star must be non-zero")
    if delta is None:
        delta = a0 * a0 - w0 @ w0
        if abs(delta) <= 1e-12 * (a0 * a0 + w0 @ w0):
            delta = 0.0
    delta = float(as_array(delta, "delta", ndim=0))
    if delta == 0:
        if t[0] != 0:
            raise ValueError("at delta = 0 the official formula needs t[0] = 0")
        return _official_balanced(t, a0, w0, beta_star)
    return _official_unbalanced(t, a0, w0, beta_star, delta)


def official_region(a0, w0, beta_star) -> np.ndarray:
    """True where δ < 0 and z₀ = (δ + 2ν₀)/D > 1, ν₀ = w₀ᵀβ*/a₀, D = √(δ² + 4‖β*‖²) (unit rates).

    ``a0`` (...), ``w0`` and ``beta_star`` (..., d), broadcasting. The region in which the
    official formula departs from the gradient flow (the book's finding).
    """
    a0 = as_array(a0, "a0")
    w0 = as_array(w0, "w0", min_ndim=1)
    beta_star = as_array(beta_star, "beta_star", min_ndim=1)
    delta = a0**2 - np.sum(w0**2, axis=-1)
    nu0 = np.sum(w0 * beta_star, axis=-1) / a0
    D = np.sqrt(delta**2 + 4.0 * np.sum(beta_star**2, axis=-1))
    return (delta < 0) & ((delta + 2.0 * nu0) / D > 1)
