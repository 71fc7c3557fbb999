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

from theory.core import as_array, check_scalar, check_seed

__all__ = ["official_error_survey", "official_region", "official_trajectory"]


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
    t = as_array(t, "t", ndim=1, nonempty=True)
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
    if np.any(a0 == 0):
        raise ValueError("a0 must be non-zero (ν₀ = w₀ᵀβ*/a₀)")
    w0 = as_array(w0, "w0", min_ndim=1, nonempty=True)
    beta_star = as_array(beta_star, "beta_star", min_ndim=1, nonempty=True)
    if w0.shape[-1] != beta_star.shape[-1]:
        raise ValueError(f"w0 and beta_star must have the same last dimension d, got shapes "
                         f"{w0.shape} and {beta_star.shape}")
    try:
        np.broadcast_shapes(a0.shape, w0.shape[:-1], beta_star.shape[:-1])
    except ValueError:
        raise ValueError(f"the batch shapes do not broadcast: a0 {a0.shape}, w0 {w0.shape[:-1]} "
                         f"(+d), beta_star {beta_star.shape[:-1]} (+d)") from None
    delta = a0**2 - np.sum(w0**2, axis=-1)
    nu0 = np.sum(w0 * beta_star, axis=-1) / a0
    D = np.sqrt(delta**2 + 4.0 * np.sum(beta_star**2, axis=-1))
    return (delta < 0) & ((delta + 2.0 * nu0) / D > 1)


def official_error_survey(n: int = 120, *, seed: int = 0, t_max: float = 5.0, n_t: int = 60) -> dict:
    """The official formula and ours against a tight ODE on ``n`` random trajectories (d = 2).

    Draw i (``numpy.random.default_rng(seed)``): a₀ = |N(0,1)|·U(0.2, 2) + 10⁻³, w₀ = N(0, I₂)·U(0.2, 2),
    β* = N(0, I₂); times ``n_t`` points on [0, ``t_max``]. The reference is ``solve_ivp`` DOP853 at
    rtol = atol = 10⁻¹² on ẇ = −a(aw − β*), ȧ = −wᵀ(aw − β*). Returns arrays (n,): ``delta``,
    ``z0`` = (δ + 2ν₀)/D, ``region`` (:func:`official_region`), ``crosses`` (δ < 0, z₀ < −1: a
    passes through zero, which the formula's a = √−δ sinh θ ≥ 0 cannot follow), and the max
    abs errors over (a, w) and time of ``official`` (NaN entries, where the notebook's
    √(1 − c₂²) rounds below zero, left out) and ``ours``.
    """
    from scipy.integrate import solve_ivp

    from theory.rich_lazy.exact import whitened_solution

    n = check_scalar(n, "n", kind="int", min=1)
    rng = np.random.default_rng(check_seed(seed, "seed"))
    t_max = check_scalar(t_max, "t_max", min=0.0, include_min=False)
    n_t = check_scalar(n_t, "n_t", kind="int", min=2)
    t = np.linspace(0.0, t_max, n_t)
    out = {k: [] for k in ("delta", "z0", "region", "crosses", "official", "ours")}
    for _ in range(n):
        a0 = abs(rng.normal()) * rng.uniform(0.2, 2.0) + 1e-3
        w0 = rng.normal(size=2) * rng.uniform(0.2, 2.0)
        bs = rng.normal(size=2)

        def rhs(_, th, bs=bs):
            r = th[-1] * th[:-1] - bs
            return np.concatenate((-th[-1] * r, [-(th[:-1] @ r)]))

        sol = solve_ivp(rhs, (0.0, t[-1]), np.concatenate((w0, [a0])), t_eval=t,
                        method="DOP853", rtol=1e-12, atol=1e-12)
        ref = sol.y.T[:, [2, 0, 1]]
        with np.errstate(all="ignore"):
            oa, ow = official_trajectory(t, a0, w0, bs)
        tr = whitened_solution(t, a0, w0, bs)
        dl = a0 * a0 - w0 @ w0
        z0 = (dl + 2.0 * (w0 @ bs) / a0) / np.sqrt(dl * dl + 4.0 * bs @ bs)
        out["delta"].append(dl)
        out["z0"].append(z0)
        out["region"].append(bool(dl < 0 and z0 > 1))
        out["crosses"].append(bool(dl < 0 and z0 < -1))
        out["official"].append(float(np.nanmax(np.abs(np.c_[oa, ow] - ref))))
        out["ours"].append(float(np.max(np.abs(np.c_[tr.a, tr.w] - ref))))
    return {k: np.array(v) for k, v in out.items()}
