"""Exact solutions of the single-neuron model f(x) = a wᵀx (Kunin et al. 2024, Section 3).

Gradient flow on L = ½‖Xβ − y‖² with β = a w and layer learning rates η_a, η_w:

    ẇ = −η_w a Xᵀr,   ȧ = −η_a wᵀXᵀr,   r = Xβ − y.

Everything here is closed form (numpy, float64) and vectorised: leading "batch" dimensions of
the parameters broadcast against each other, and time is the last axis of every trajectory.

How the whitened trajectory is solved
-------------------------------------
With XᵀX = I the rescaling ã = a/α, w̃ = αw, α = (η_a/η_w)^{1/4}, and time τ = √(η_aη_w) t maps
any (η_a, η_w) onto unit rates with δ̃ = δ/√(η_aη_w) (``theory.rich_lazy.derivation`` proves
it). For unit rates the stacked vector q = (w, a) ∈ ℝ^{d+1} obeys

    q̇ = G q − ½‖q‖² q,   G = [[−δ/2 I, β*], [β*ᵀ, δ/2]],

whose solution is q(t) = e^{Gt} q₀ / √(1 + ∫₀ᵗ ‖e^{Gs} q₀‖² ds). G has eigenvalues ±D/2,
D = √(δ² + 4‖β*‖²), on span{β̂*, e_a} and −δ/2 on the rest of w-space, so the integral is a sum
of three exponentials. We evaluate it with every exponential rescaled by the fastest growing
one (expm1 throughout, D ± δ computed without cancellation), so the result is finite and
accurate for |δ| from 1e-8 to 1e8 and for any t ≥ 0, including a passing through zero, where
the Riccati form ν = wᵀβ*/a has a pole. The Riccati/tanh solution is :func:`riccati_nu` (the
book's reconstruction, the route the authors' notebook also takes at unit rates); the derivation
notebook checks that the two agree.

The paper's own form of the solution is in μ = a‖w‖ and φ = cos∠(w, β*), Eq. 2 (App. A.2):
:func:`mu_phi` reads them off a trajectory, :func:`mu_phi_rhs` and :func:`solve_mu_phi` give
and integrate Eq. 2, and :func:`alignment_delay` measures the downstream delay that Eq. 2's
reduced form makes proportional to |δ| (Sec. 3). Theorem 3.1 (Eq. 5), the interpolant as an
argmin, is :func:`theorem_3_1_objective`, checked against the book's closed form
:func:`implicit_bias` by :func:`theorem_3_1_check`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from theory.core import (array_bytes, as_array, check_choice, check_memory, check_scalar,
                         check_seed, first_crossing, positive)

__all__ = [
    "AlignmentDelay",
    "ImplicitBias",
    "RegimeMeasures",
    "Theorem31Agreement",
    "Trajectory",
    "alignment_delay",
    "balanced_limit_distance",
    "check_whitened",
    "conserved_delta",
    "downstream_alignment_time",
    "downstream_limit",
    "function_space_metric",
    "implicit_bias",
    "implicit_bias_curve",
    "init_from_beta",
    "kernel_distance",
    "kernel_distance_whitened",
    "lazy_limit",
    "metric_coefficients",
    "mu_phi",
    "mu_phi_rhs",
    "ntk_gram",
    "null_direction",
    "regime_measures",
    "riccati_nu",
    "solve_mu_phi",
    "theorem_3_1_agreement",
    "theorem_3_1_argmin",
    "theorem_3_1_check",
    "theorem_3_1_objective",
    "whitened_solution",
    "whitened_trajectory",
]


def _batch(what: str, **shapes) -> tuple:
    """The broadcast of the named batch shapes, or a ValueError naming every argument's shape."""
    try:
        return np.broadcast_shapes(*shapes.values())
    except ValueError:
        listed = ", ".join(f"{k} {v}" for k, v in shapes.items())
        raise ValueError(f"{what}: the batch shapes do not broadcast: {listed}") from None


def _same_d(d: int, **arrays) -> None:
    """Every array's last dimension must be d (the dimension of the input space)."""
    for name, arr in arrays.items():
        if arr.shape[-1] != d:
            raise ValueError(f"{name} must have last dimension d = {d}, got shape {arr.shape}")


def _pm_root(delta, c):
    """(κ, κ + |δ|, c²/(κ + |δ|)) with κ = √(δ² + c²), c ≥ 0: no overflow (hypot) and no cancellation.

    κ − |δ| = c²/(κ + |δ|) is written as c·(c/(κ + |δ|)) so that it neither overflows nor
    underflows before the true value does.
    """
    kappa = np.hypot(delta, c)
    big = np.abs(delta) + kappa
    with np.errstate(invalid="ignore", divide="ignore"):
        small = np.where(big > 0, c * (c / np.where(big > 0, big, 1.0)), 0.0)
    return kappa, big, small


def _norm(x: np.ndarray) -> np.ndarray:
    """‖x‖ over the last axis, scaled by max |x_i| so that it neither underflows nor overflows."""
    scale = np.max(np.abs(x), axis=-1)
    safe = np.where(scale > 0, scale, 1.0)
    return scale * np.linalg.norm(x / safe[..., None], axis=-1)


def _g(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(1 − e^{−x t}) / x for x ≥ 0, with the limit t at x = 0, evaluated without cancellation."""
    x = np.asarray(x, dtype=np.float64)
    safe = np.where(x > 0, x, 1.0)
    return np.where(x > 0, -np.expm1(-safe * t) / safe, t)


def conserved_delta(a, w, eta_a=1.0, eta_w=1.0) -> np.ndarray:
    """The conserved quantity δ = η_w a² − η_a ‖w‖² (paper, Sec. 3 and the caption of Fig. 2).

    ``a`` has shape (...), ``w`` shape (..., d). δ > 0 is *upstream* (the first layer w moves
    faster), δ = 0 *balanced*, δ < 0 *downstream*.
    """
    a = as_array(a, "a")
    w = as_array(w, "w", min_ndim=1, nonempty=True)
    eta_a, eta_w = positive(eta_a, "eta_a"), positive(eta_w, "eta_w")
    _batch("conserved_delta", a=a.shape, w=w.shape[:-1], eta_a=eta_a.shape, eta_w=eta_w.shape)
    return eta_w * a**2 - eta_a * np.sum(w**2, axis=-1)


def metric_coefficients(beta_norm, delta, eta_a=1.0, eta_w=1.0) -> tuple[np.ndarray, np.ndarray]:
    """(u, v) with M = u I + v β̂β̂ᵀ: u = η_w a², v = η_a ‖w‖² written in δ and ‖β‖ alone.

    u = (δ + √(δ² + 4η_aη_w‖β‖²))/2 and v = (−δ + √(δ² + 4η_aη_w‖β‖²))/2 (paper, Sec. 3, Eq. 4),
    each evaluated in the form free of cancellation.
    """
    b = as_array(beta_norm, "beta_norm")
    if np.any(b < 0):
        raise ValueError("beta_norm must be >= 0")
    delta = as_array(delta, "delta")
    eta_a, eta_w = positive(eta_a, "eta_a"), positive(eta_w, "eta_w")
    _batch("metric_coefficients", beta_norm=b.shape, delta=delta.shape, eta_a=eta_a.shape,
           eta_w=eta_w.shape)
    _, big, small = _pm_root(delta, 2.0 * np.sqrt(eta_a * eta_w) * b)  # big: the sum, no cancellation
    u = np.where(delta >= 0, big / 2.0, small / 2.0)
    v = np.where(delta >= 0, small / 2.0, big / 2.0)
    return u, v


def function_space_metric(beta, delta, eta_a=1.0, eta_w=1.0) -> np.ndarray:
    """M(β) = u I + v β̂β̂ᵀ, so that β̇ = −M(β) Xᵀ(Xβ − y) (paper, Sec. 3, Eqs. 3–4). Shape (..., d, d)."""
    beta = as_array(beta, "beta", min_ndim=1, nonempty=True)
    norm = np.linalg.norm(beta, axis=-1)
    u, v = metric_coefficients(norm, delta, eta_a, eta_w)
    if u.shape != norm.shape:
        raise ValueError(f"delta, eta_a and eta_w must broadcast to the batch shape of beta "
                         f"{beta.shape[:-1]}, got {u.shape}")
    d = beta.shape[-1]
    hat = np.divide(beta, norm[..., None], out=np.zeros_like(beta), where=norm[..., None] > 0)
    eye = np.eye(d)
    return u[..., None, None] * eye + v[..., None, None] * hat[..., :, None] * hat[..., None, :]


def init_from_beta(beta0, delta, eta_a=1.0, eta_w=1.0) -> tuple[np.ndarray, np.ndarray]:
    """Parameters (a₀ > 0, w₀) that realise the initial function β₀ with imbalance δ.

    η_w a₀² = u(‖β₀‖, δ) from :func:`metric_coefficients` and w₀ = β₀/a₀; this is how the
    paper's figures hold β₀ fixed while δ varies. β₀ = 0 needs δ > 0 (then w₀ = 0).
    """
    beta0 = as_array(beta0, "beta0", min_ndim=1, nonempty=True)
    delta = as_array(delta, "delta")
    eta_a, eta_w = positive(eta_a, "eta_a"), positive(eta_w, "eta_w")
    norm = _norm(beta0)
    _batch("init_from_beta", beta0=beta0.shape[:-1], delta=delta.shape, eta_a=eta_a.shape,
           eta_w=eta_w.shape)
    if np.any((norm == 0) & (np.broadcast_to(delta, np.broadcast(norm, delta).shape) <= 0)):
        raise ValueError("beta0 = 0 needs delta > 0: with delta <= 0 the direction of w0 is undefined")
    # η_w a₀² = u: for δ ≥ 0, u = (|δ| + κ)/2; for δ < 0, u = c²/(2(|δ| + κ)), c = 2√(η_aη_w)‖β₀‖,
    # so a₀ = c/√(2η_w(|δ| + κ)), which does not underflow where a₀ itself is representable
    c = 2.0 * np.sqrt(eta_a * eta_w) * norm
    _, big, _ = _pm_root(delta, c)
    with np.errstate(invalid="ignore", divide="ignore"):
        up = delta >= 0
        a0 = np.where(up, np.sqrt(big / (2.0 * eta_w)),
                      c / np.sqrt(2.0 * eta_w * np.where(big > 0, big, 1.0)))
        # w₀ = β₀/a₀ upstream; downstream ‖w₀‖ = √(v/η_a), v = (|δ| + κ)/2, along β̂₀ (finite
        # even where a₀ underflows)
        w0 = np.where(up[..., None], beta0 / np.where(up, a0, 1.0)[..., None],
                      beta0 / np.where(norm > 0, norm, 1.0)[..., None]
                      * np.sqrt(big / (2.0 * eta_a))[..., None])
    return a0, w0


def check_whitened(X, *, atol: float = 1e-10) -> np.ndarray:
    """Return X as an (n, d) array after checking XᵀX = I_d, else raise ``ValueError``."""
    X = as_array(X, "X", ndim=2, nonempty=True)
    atol = check_scalar(atol, "atol", min=0.0)
    n, d = X.shape
    gram = X.T @ X
    err = np.max(np.abs(gram - np.eye(d)))
    if err > atol:
        raise ValueError(
            f"X must be whitened (XᵀX = I) for the closed-form solver; max |XᵀX − I| = {err:.3g} "
            f"> atol={atol:g}. Use theory.rich_lazy.simulate for general X."
        )
    return X


@dataclass(frozen=True)
class Trajectory:
    """A trajectory of the single neuron; time is the last axis of a and loss (second to last of w, beta).

    Shapes: t (T,), a (..., T), w (..., T, d), beta (..., T, d), loss (..., T), delta (...).
    """

    t: np.ndarray
    a: np.ndarray
    w: np.ndarray
    beta: np.ndarray
    loss: np.ndarray
    delta: np.ndarray
    eta_a: np.ndarray
    eta_w: np.ndarray


def whitened_solution(t, a0, w0, beta_star, eta_a=1.0, eta_w=1.0, *, loss_offset=0.0) -> Trajectory:
    """Closed-form gradient-flow trajectory for whitened inputs, XᵀX = I (paper, Sec. 3 and App. A).

    Parameters
    ----------
    t : (T,) non-negative times.
    a0 : (...) initial readout weights; w0 : (..., d) initial first-layer weights.
    beta_star : (..., d) the least-squares solution β* = Xᵀy.
    eta_a, eta_w : positive layer learning rates, broadcastable to a0.
    loss_offset : ½(‖y‖² − ‖β*‖²), the part of the loss no β can remove (0 when realisable).

    Returns a :class:`Trajectory`; the loss is ½‖β − β*‖² + loss_offset.
    """
    t = as_array(t, "t", ndim=1, nonempty=True)
    if t.min() < 0:
        raise ValueError("t must be >= 0")
    a0 = as_array(a0, "a0")
    w0 = as_array(w0, "w0", min_ndim=1, nonempty=True)
    beta_star = as_array(beta_star, "beta_star", min_ndim=1)
    # unit rates and a zero offset (the common call) are Python floats: checked as such
    if not (type(eta_a) is float and eta_a > 0 and math.isfinite(eta_a)):
        eta_a_in, eta_a = eta_a, as_array(eta_a, "eta_a")
        if (eta_a <= 0).any():
            positive(eta_a_in, "eta_a")
    if not (type(eta_w) is float and eta_w > 0 and math.isfinite(eta_w)):
        eta_w_in, eta_w = eta_w, as_array(eta_w, "eta_w")
        if (eta_w <= 0).any():
            positive(eta_w_in, "eta_w")
    loss_offset = as_array(loss_offset, "loss_offset")
    if w0.shape[-1] != beta_star.shape[-1]:
        raise ValueError(f"w0 and beta_star must have the same last dimension d, got "
                         f"{w0.shape[-1]} and {beta_star.shape[-1]}")
    shapes = (a0.shape, w0.shape[:-1], beta_star.shape[:-1], np.shape(eta_a), np.shape(eta_w),
              loss_offset.shape)
    if not any(shapes):                          # one trajectory
        one = _whitened_one(t, float(a0), w0, beta_star, float(eta_a), float(eta_w),
                            float(loss_offset))
        if one is not None:
            return one
    eta_a, eta_w = np.asarray(eta_a, dtype=float), np.asarray(eta_w, dtype=float)
    try:
        batch = np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(
            f"batch shapes do not broadcast: a0 {a0.shape}, w0 {w0.shape[:-1]} (+d), beta_star "
            f"{beta_star.shape[:-1]} (+d), eta_a {eta_a.shape}, eta_w {eta_w.shape}, loss_offset "
            f"{loss_offset.shape}") from None
    n_out = math.prod(batch) * t.shape[0] * (2 * w0.shape[-1] + 2)
    if n_out > 1 << 24:          # only large requests pay for the memory check
        check_memory(array_bytes(2 * n_out), f"whitened_solution on {math.prod(batch)} "
                     f"trajectories × {t.shape[0]} times (d = {w0.shape[-1]})",
                     hint="use fewer times or trajectories per call")
    return _whitened_kernel(t, a0, w0, beta_star, eta_a, eta_w, loss_offset, batch)


def _whitened_one(t, a0, w0, bs, ea, ew, off) -> Trajectory | None:
    """:func:`_whitened_kernel` for one trajectory (batch shape ()), its coefficients in Python
    floats and its passes over the T times only: the same expressions, without the ≈ 100 numpy
    calls on one-element arrays that set up a batch (the fixed cost of a call). It agrees with the
    batched kernel to rounding (the sums over d run in another order than einsum's). Returns None
    for the cases the fast kernel does not take (c₊ = 0 or D = 0), which go the batched way."""
    d = w0.shape[0]
    alpha = (ea / ew) ** 0.25
    rate = math.sqrt(ea * ew)
    at0 = a0 / alpha
    w0l, bsl = w0.tolist(), bs.tolist()
    wt0 = [x * alpha for x in w0l]
    dl = at0 * at0 - sum(x * x for x in wt0)
    s2 = sum(x * x for x in bsl)
    s = math.sqrt(s2)
    e = [x / s for x in bsl] if s > 0 else [0.0] * d
    p0 = sum(x * y for x, y in zip(wt0, e))
    wp = [x - p0 * y for x, y in zip(wt0, e)]
    rho2 = sum(x * x for x in wp)
    D = math.sqrt(dl * dl + 4.0 * s2)
    big = abs(dl) + D
    small = 4.0 * s2 / big if big > 0 else 0.0
    pos = dl >= 0
    d_plus, d_minus = (big, small) if pos else (small, big)
    vp_p, vp_a = (s, 0.5 * d_plus) if pos else (0.5 * d_minus, s)
    nv = float(np.hypot(vp_p, vp_a))            # libm's hypot, as the batched kernel's
    if nv == 0:
        vp_p, vp_a = 0.0, 1.0
    else:
        vp_p, vp_a = vp_p / nv, vp_a / nv
    c_plus = vp_p * p0 + vp_a * at0
    c_minus = -vp_a * p0 + vp_p * at0
    if not (c_plus != 0 and D > 0):
        return None
    adl = abs(dl)
    zero_dl = adl == 0
    k_D, k_P = -(D * rate), -(d_plus * rate)
    k_G = -(1.0 if zero_dl else adl) * rate
    perp_w = rho2 * rate if zero_dl else rho2 / adl
    A_a, B_a = alpha * c_plus * vp_a, alpha * c_minus * vp_p
    A_p, B_p = c_plus * vp_p / alpha, -c_minus * vp_a / alpha
    # the batched kernel's passes, with rows stacked so that one numpy call does several:
    # the exponentials in two calls, the denominator's linear part and the numerators of a and
    # p/α in two more, the three quotients in one, w and the loss as small products
    perp = rho2 > 0
    with np.errstate(under="ignore", over="ignore", invalid="ignore"):
        Y = np.multiply.outer([k_D, 0.5 * k_P, k_D, k_G] if perp else [k_D, k_D], t)
        h = Y.shape[0] // 2
        np.exp(Y[:h], out=Y[:h])                        # e^{−Dτ} (, e^{−(D+δ)τ/2})
        np.expm1(Y[h:], out=Y[h:])                      # −(1 − e^{−Dτ}) (, −(1 − e^{−|δ|τ}))
        E = Y[0]
        Z = np.empty((4 if perp else 3, t.shape[0]))
        np.multiply.outer([c_minus ** 2 / -D, B_a, B_p], E, out=Z[:3])
        Z[:3] += [[c_plus ** 2 / -D], [A_a], [A_p]]
        S = Z[0]
        S *= Y[h]                                       # (c₊² + c₋²E)(1 − E)/D
        S += E
        if perp:
            Q = Y[1]
            if zero_dl:
                H = t * perp_w
            else:
                H = Y[3]
                H *= -perp_w                            # (1 − e^{−|δ|τ}) ρ²/|δ|
            if dl < 0:
                H *= Q
                H *= Q                                  # × e^{−(D+δ)τ}
            else:
                H *= E
            S += H
            Z[3] = Q
        np.sqrt(S, out=S)
        np.divide(1.0, S, out=S)                        # 1/den
        F = Z[1:]
        F *= S                                          # a, p/α (, f⊥)
        a = F[0]
        # w = (p/α) ê + (f⊥/α) w⊥₀ as one (T, 2) × (2, d) product
        w = F[1:].T @ np.array([e, [x / alpha for x in wp]]) if perp else np.multiply.outer(F[1], e)
        beta = w * a[:, None]
        # loss = ½[(a p − s)² + (a f⊥)² ρ²] + offset  (ρ, p, f⊥ in the original scale)
        G = F[1:]
        G *= a
        G[0] -= s
        np.square(G, out=G)
        loss = (np.array([0.5, 0.5 * rho2 / (alpha * alpha)]) @ G if perp else 0.5 * G[0])
        if off:
            loss += off
    delta = np.float64(ew * a0 ** 2 - ea * sum(x * x for x in w0l))
    return Trajectory(t=t, a=a, w=w, beta=beta, loss=loss, delta=np.asarray(delta),
                      eta_a=np.asarray(ea), eta_w=np.asarray(ew))


# Rows of (batch × time) points processed at once by the fast kernel: the (rows, T) temporaries
# of a chunk stay in the core's cache (16,384 points: ≈ 10 arrays of 128 kB; 8,192 and 32,768
# were 5–15 % slower on the benchmark's 10⁴ × 100 batch).
_CHUNK_POINTS = 16384


def _whitened_kernel(t, a0, w0, beta_star, eta_a, eta_w, loss_offset, batch) -> Trajectory:
    """The private kernel of :func:`whitened_solution` (arguments validated, batch known).

    The same solution as :func:`_whitened_general`, written for speed: the per-trajectory
    coefficients are computed once, and the (trajectory, time) points of the generic case
    (c₊ ≠ 0, D > 0: the fastest exponential is e^{Dτ/2}) take a few elementwise passes, in
    chunks that stay in cache:

        E = e^{−Dτ},  den² = E + (c₊² + c₋²E)(1 − E)/D + ρ²·[e^{−(D+δ)τ} or E]·g(|δ|, τ),
        f₊ = c₊/den,  f₋ = c₋E/den,  f⊥ = e^{−(D+δ)τ/2}/den,

    with 1 − E and g from expm1. The loss uses β − β* = (a p − s) β̂* + a f⊥ w⊥₀ (the two parts are
    orthogonal). The other trajectories (c₊ = 0, or s = δ = 0) go to :func:`_whitened_general`.
    """
    d = w0.shape[-1]
    T = t.shape[0]
    B = math.prod(batch)
    def flat(x, tail=()):
        if x.shape == batch + tail:                 # already the batch's shape: no broadcast
            return x.reshape((B,) + tail)
        return np.broadcast_to(x, batch + tail).reshape((B,) + tail)

    a0f, w0f, bsf = flat(a0), flat(w0, (d,)), flat(beta_star, (d,))
    ea, ew = flat(eta_a), flat(eta_w)
    # per-trajectory coefficients (B,)
    alpha = (ea / ew) ** 0.25
    rate = np.sqrt(ea * ew)
    at0 = a0f / alpha
    wt0 = w0f * alpha[:, None]
    dl = at0 * at0 - np.einsum("bi,bi->b", wt0, wt0)
    s2 = np.einsum("bi,bi->b", bsf, bsf)
    s = np.sqrt(s2)
    with np.errstate(invalid="ignore", divide="ignore"):
        e = np.where(s[:, None] > 0, bsf / s[:, None], 0.0)
        p0 = np.einsum("bi,bi->b", wt0, e)
        w_perp0 = wt0 - p0[:, None] * e
        rho2 = np.einsum("bi,bi->b", w_perp0, w_perp0)
        D = np.sqrt(dl * dl + 4.0 * s2)
        big = np.abs(dl) + D
        small = np.where(big > 0, 4.0 * s2 / big, 0.0)
        pos = dl >= 0
        d_plus = np.where(pos, big, small)
        d_minus = np.where(pos, small, big)
        vp_p = np.where(pos, s, 0.5 * d_minus)
        vp_a = np.where(pos, 0.5 * d_plus, s)
        nv = np.hypot(vp_p, vp_a)
        degenerate = nv == 0
        nv[degenerate] = 1.0
        vp_p = np.where(degenerate, 0.0, vp_p / nv)
        vp_a = np.where(degenerate, 1.0, vp_a / nv)
        c_plus = vp_p * p0 + vp_a * at0
        c_minus = -vp_a * p0 + vp_p * at0
    fast = (c_plus != 0) & (D > 0)
    a = np.empty((B, T))
    w = np.empty((B, T, d))
    beta = np.empty((B, T, d))
    loss = np.empty((B, T))
    off = flat(loss_offset)
    all_fast = bool(fast.all())
    idx = np.arange(B) if all_fast else np.flatnonzero(fast)
    if idx.size:
        # coefficients of the fast rows, in the chunk loop's terms
        k_D = -(D * rate)[idx]                                 # −Dτ = k_D t
        k_P = -(d_plus * rate)[idx]                            # −(D + δ)τ
        adl = np.abs(dl)[idx]
        zero_dl = adl == 0
        k_G = -np.where(zero_dl, 1.0, adl) * rate[idx]          # −|δ|τ
        inv_D = -1.0 / D[idx]
        cp2, cm2 = c_plus[idx] ** 2, c_minus[idx] ** 2
        perp_w = np.where(zero_dl, rho2[idx] * rate[idx], rho2[idx] / np.where(zero_dl, 1.0, adl))
        neg = dl[idx] < 0
        al = alpha[idx]
        A_a, B_a = al * c_plus[idx] * vp_a[idx], al * c_minus[idx] * vp_p[idx]
        A_p, B_p = c_plus[idx] * vp_p[idx] / al, -c_minus[idx] * vp_a[idx] / al
        # f⊥/α's 1/α folded into the coefficients of w⊥₀ and of the loss's perpendicular part
        e_f, wp_f, s_f, off_f = e[idx], w_perp0[idx] / al[:, None], s[idx], off[idx]
        rho2_f = rho2[idx] / (al * al)
        any_perp = bool(np.any(rho2_f > 0))
        any_off = bool(np.any(off_f != 0))
        neg_perp_w = -perp_w
        step = max(1, _CHUNK_POINTS // max(T, 1))
        with np.errstate(under="ignore", over="ignore", invalid="ignore"):
            for lo in range(0, idx.size, step):
                sl = slice(lo, min(lo + step, idx.size))
                rows = sl if all_fast else idx[sl]
                col = lambda x: x[sl, None]  # noqa: E731
                X = np.multiply.outer(k_D[sl], t)
                E = np.exp(X)
                np.expm1(X, out=X)
                X *= col(inv_D)                                # (1 − E)/D
                S = cm2[sl, None] * E
                S += col(cp2)
                S *= X
                S += E
                if any_perp:
                    Q = np.exp(np.multiply.outer(0.5 * k_P[sl], t))   # e^{−(D+δ)τ/2}
                    H = np.multiply.outer(k_G[sl], t)
                    np.expm1(H, out=H)                         # −(1 − e^{−|δ|τ})
                    if np.any(zero_dl[sl]):
                        zr = np.flatnonzero(zero_dl[sl])
                        H[zr] = -t
                    negs = neg[sl]
                    if negs.all():
                        H *= Q
                        H *= Q                                 # e^{−(D+δ)τ}
                    elif negs.any():
                        H *= np.where(negs[:, None], Q * Q, E)
                    else:
                        H *= E
                    H *= col(neg_perp_w)
                    S += H
                np.sqrt(S, out=S)
                np.divide(1.0, S, out=S)                       # 1/den
                ar = np.multiply(B_a[sl, None], E, out=a[rows] if all_fast else None)
                ar += col(A_a)
                ar *= S
                pr = B_p[sl, None] * E
                pr += col(A_p)
                pr *= S                                        # p/α
                if not all_fast:
                    a[rows] = ar
                if any_perp:
                    Q *= S                                     # f⊥ (its 1/α in wp_f, rho2_f)
                # w and β one component at a time: contiguous (rows, T) passes, one strided
                # write each (a broadcast over a last axis of d is several times slower)
                ww = w[rows] if all_fast else np.empty((pr.shape[0], T, d))
                bb = beta[rows] if all_fast else np.empty((pr.shape[0], T, d))
                wi = np.empty_like(pr)
                tmp = np.empty_like(pr) if any_perp else None
                for i in range(d):
                    np.multiply(pr, e_f[sl, i, None], out=wi)
                    if any_perp:
                        np.multiply(Q, wp_f[sl, i, None], out=tmp)
                        wi += tmp
                    ww[:, :, i] = wi
                    np.multiply(wi, ar, out=bb[:, :, i])
                if not all_fast:
                    w[rows], beta[rows] = ww, bb
                # loss = ½[(a p − s)² + (a f⊥)² ρ²] + offset  (ρ, p, f⊥ in the original scale)
                pr *= ar
                pr -= col(s_f)
                np.square(pr, out=pr)
                if any_perp:
                    Q *= ar
                    np.square(Q, out=Q)
                    Q *= col(rho2_f)
                    pr += Q
                out = loss[rows] if all_fast else pr
                np.multiply(pr, 0.5, out=out)
                if any_off:
                    out += col(off_f)
                if not all_fast:
                    loss[rows] = out
    rest = np.flatnonzero(~fast)
    if rest.size:
        g = _whitened_general(t, a0f[rest], w0f[rest], bsf[rest], ea[rest], ew[rest], off[rest])
        a[rest], w[rest], beta[rest], loss[rest] = g.a, g.w, g.beta, g.loss
    delta = ew * a0f**2 - ea * np.einsum("bi,bi->b", w0f, w0f)
    return Trajectory(t=t, a=a.reshape(batch + (T,)), w=w.reshape(batch + (T, d)),
                      beta=beta.reshape(batch + (T, d)), loss=loss.reshape(batch + (T,)),
                      delta=delta.reshape(batch), eta_a=np.broadcast_to(eta_a, batch),
                      eta_w=np.broadcast_to(eta_w, batch))


def _whitened_general(t, a0, w0, beta_star, eta_a, eta_w, loss_offset) -> Trajectory:
    """Every case of the whitened solution, one array expression per quantity (the slow path).

    The solution of :func:`whitened_solution` in each of the three cases of the fastest growing
    exponential (c₊ ≠ 0: e^{Dτ/2}; c₊ = 0, δ < 0, ρ > 0: e^{−δτ/2}; else none); leading
    dimensions already broadcast to one batch shape.
    """
    batch = a0.shape
    d = w0.shape[-1]
    a0 = np.broadcast_to(a0, batch)
    w0 = np.broadcast_to(w0, batch + (d,))
    beta_star = np.broadcast_to(beta_star, batch + (d,))
    eta_a = np.broadcast_to(eta_a, batch)
    eta_w = np.broadcast_to(eta_w, batch)

    # 1. Unit rates: ã = a/α, w̃ = αw, τ = √(η_aη_w) t, δ̃ = δ/√(η_aη_w).
    alpha = (eta_a / eta_w) ** 0.25
    rate = np.sqrt(eta_a * eta_w)
    at0 = a0 / alpha
    wt0 = w0 * alpha[..., None]
    delta_unit = at0**2 - np.sum(wt0**2, axis=-1)
    tau = rate[..., None] * t  # (..., T)

    # 2. Split w̃ into its component along β̂* and the rest.
    s = np.linalg.norm(beta_star, axis=-1)
    e = np.divide(beta_star, s[..., None], out=np.zeros_like(beta_star), where=s[..., None] > 0)
    p0 = np.sum(wt0 * e, axis=-1)
    w_perp0 = wt0 - p0[..., None] * e
    rho2 = np.sum(w_perp0**2, axis=-1)

    # 3. The 2×2 block B = [[−δ/2, s], [s, δ/2]] on (p, ã): eigenvalues ±D/2.
    dl = delta_unit
    D = np.sqrt(dl**2 + 4.0 * s**2)
    big = np.abs(dl) + D
    small = np.divide(4.0 * s**2, big, out=np.zeros_like(big), where=big > 0)
    d_plus = np.where(dl >= 0, big, small)    # D + δ ≥ 0
    d_minus = np.where(dl >= 0, small, big)   # D − δ ≥ 0
    # unit eigenvector of +D/2 in (p, a) coordinates, with a non-negative a-component
    vp_p = np.where(dl >= 0, s, d_minus / 2.0)
    vp_a = np.where(dl >= 0, d_plus / 2.0, s)
    nv = np.hypot(vp_p, vp_a)
    degenerate = nv == 0  # s = 0 and δ = 0: B = 0, any basis
    nv = np.where(degenerate, 1.0, nv)
    vp_p = np.where(degenerate, 0.0, vp_p / nv)
    vp_a = np.where(degenerate, 1.0, vp_a / nv)
    vm_p, vm_a = -vp_a, vp_p
    c_plus = vp_p * p0 + vp_a * at0
    c_minus = vm_p * p0 + vm_a * at0

    # 4. Normalise by the fastest-growing exponential e^{κτ}. Case 0: c₊ ≠ 0, κ = D. Case 1:
    #    c₊ = 0 and the part of w̃ normal to β* grows (δ < 0), κ = −δ. Case 2: κ = 0. In each
    #    case every exponent below is ≤ 0, and D ± δ come from their cancellation-free forms.
    case = np.where(c_plus != 0, 0, np.where((dl < 0) & (rho2 > 0), 1, 2))[..., None]
    Dx, dx = D[..., None], dl[..., None]
    dpx, dmx = d_plus[..., None], d_minus[..., None]
    zero = np.zeros_like(Dx)
    kappa = np.select([case == 0, case == 1], [Dx, -dx], zero)
    # e^{−κτ}·∫₀^τ e^{−δσ}dσ = e^{(max(−δ, 0) − κ)τ} g(|δ|, τ); its exponent per case:
    # (case 2: δ ≥ 0 gives 0, and δ < 0 there has ρ = 0, so 0 avoids an inf·0).
    perp_int = np.where(case == 0, np.where(dx < 0, -dpx, -Dx), zero)
    # numerator exponents (÷τ) of the c₋ and w⊥ parts; the c₊ part has exponent 0 in case 0.
    n_minus = np.select([case == 0, case == 1], [-Dx, -dmx / 2.0], -Dx / 2.0)
    n_perp = np.select([case == 0, case == 1], [-dpx / 2.0, zero],
                       np.where(dx < 0, zero, -dx / 2.0))  # ρ = 0 whenever δ < 0 in case 2


    with np.errstate(under="ignore"):
        den = np.sqrt(np.exp(-kappa * tau)
                      + np.where(case == 0, c_plus[..., None] ** 2 * _g(Dx, tau), 0.0)
                      + c_minus[..., None] ** 2 * np.exp(-kappa * tau) * _g(Dx, tau)
                      + rho2[..., None] * np.exp(perp_int * tau) * _g(np.abs(dx), tau))
        f_plus = np.where(case == 0, c_plus[..., None] / den, 0.0)
        f_minus = np.exp(n_minus * tau) * c_minus[..., None] / den
        f_perp = np.exp(n_perp * tau) / den

    p = f_plus * vp_p[..., None] + f_minus * vm_p[..., None]
    at = f_plus * vp_a[..., None] + f_minus * vm_a[..., None]
    wt = p[..., None] * e[..., None, :] + f_perp[..., None] * w_perp0[..., None, :]

    # 5. Back to the original rates.
    a = at * alpha[..., None]
    w = wt / alpha[..., None, None]
    beta = at[..., None] * wt
    loss = 0.5 * np.sum((beta - beta_star[..., None, :]) ** 2, axis=-1) + loss_offset[..., None]
    delta = eta_w * a0**2 - eta_a * np.sum(w0**2, axis=-1)
    return Trajectory(t=t, a=a, w=w, beta=beta, loss=loss, delta=delta, eta_a=eta_a, eta_w=eta_w)


def whitened_trajectory(t, X, y, a0, w0, eta_a=1.0, eta_w=1.0, *, atol: float = 1e-10) -> Trajectory:
    """:func:`whitened_solution` from data: checks XᵀX = I, sets β* = Xᵀy and the loss offset."""
    X = check_whitened(X, atol=atol)
    y = as_array(y, "y", ndim=1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have length n = {X.shape[0]} (rows of X), got {y.shape[0]}")
    beta_star = X.T @ y
    offset = 0.5 * (y @ y - beta_star @ beta_star)
    return whitened_solution(t, a0, w0, beta_star, eta_a, eta_w, loss_offset=max(offset, 0.0))


def riccati_nu(t, nu0, s, delta, eta_a=1.0, eta_w=1.0) -> np.ndarray:
    """ν(t) = wᵀβ*/a, the solution of the Riccati equation ν̇ = η_w s² − δν − η_a ν² (the book's
    reconstruction of the whitened solution of Sec. 3; the paper's is in μ, φ, Eq. 2).

    ν(t) = [−δ + D z(t)]/(2η_a), D = √(δ² + 4η_aη_w s²), z₀ = (δ + 2η_aν₀)/D, and
    z(t) = tanh(Dt/2 + artanh z₀) for |z₀| < 1, coth(Dt/2 + arcoth z₀) for |z₀| > 1.
    For z₀ < −1 the coth branch passes through a pole at a finite time: there a crosses zero
    and ν is infinite (use :func:`whitened_solution`, which has no such pole).
    Shapes broadcast; time is the last axis.
    """
    t = as_array(t, "t", ndim=1, nonempty=True)
    if np.any(t < 0):
        raise ValueError("t must be >= 0")
    nu0, s, delta = as_array(nu0, "nu0"), as_array(s, "s"), as_array(delta, "delta")
    eta_a, eta_w = positive(eta_a, "eta_a"), positive(eta_w, "eta_w")
    if np.any(s <= 0):
        raise ValueError("s = ‖β*‖ must be > 0 for the Riccati form")
    _batch("riccati_nu", nu0=nu0.shape, s=s.shape, delta=delta.shape, eta_a=eta_a.shape,
           eta_w=eta_w.shape)
    D = np.sqrt(delta**2 + 4 * eta_a * eta_w * s**2)
    z0 = (delta + 2 * eta_a * nu0) / D
    Dx, z0x = D[..., None], z0[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = np.abs(z0x) < 1
        z_in = np.tanh(Dx * t / 2 + np.arctanh(np.where(inside, z0x, 0.0)))
        arg = Dx * t / 2 + np.arctanh(1.0 / np.where(inside, 2.0, z0x))
        z_out = 1.0 / np.tanh(arg)
        z = np.where(inside, z_in, np.where(np.abs(z0x) == 1, z0x, z_out))
    return (-delta[..., None] + Dx * z) / (2 * eta_a[..., None])


def ntk_gram(X, a, w, eta_a=1.0, eta_w=1.0) -> np.ndarray:
    """NTK Gram matrix on the inputs X: K = X M Xᵀ, M = η_w a² I + η_a w wᵀ (paper, Sec. 3, Eq. 3).

    ``a`` (...), ``w`` (..., d) → K (..., n, n).
    """
    X = as_array(X, "X", ndim=2, nonempty=True)
    a, w = as_array(a, "a"), as_array(w, "w", min_ndim=1)
    eta_a, eta_w = positive(eta_a, "eta_a"), positive(eta_w, "eta_w")
    if w.shape[-1] != X.shape[1]:
        raise ValueError(f"w must have last dimension d = {X.shape[1]}, got {w.shape[-1]}")
    _batch("ntk_gram", a=a.shape, w=w.shape[:-1], eta_a=eta_a.shape, eta_w=eta_w.shape)
    Xw = w @ X.T  # (..., n)
    return (np.asarray(eta_w * a**2)[..., None, None] * (X @ X.T)
            + np.asarray(eta_a)[..., None, None] * Xw[..., :, None] * Xw[..., None, :])


def kernel_distance(K0, Kt) -> np.ndarray:
    """S = 1 − ⟨K₀, K_t⟩_F / (‖K₀‖_F ‖K_t‖_F), the kernel distance of the paper (Sec. 2; Fig. 3).

    Broadcasts over leading dimensions of the (n, n) Gram matrices.
    """
    K0 = as_array(K0, "K0", min_ndim=2, nonempty=True)
    Kt = as_array(Kt, "Kt", min_ndim=2, nonempty=True)
    if K0.shape[-2:] != Kt.shape[-2:]:
        raise ValueError(f"K0 and Kt must be Gram matrices of the same size, got {K0.shape} and {Kt.shape}")
    _batch("kernel_distance", K0=K0.shape[:-2], Kt=Kt.shape[:-2])
    inner = np.sum(K0 * Kt, axis=(-2, -1))
    n0 = np.sqrt(np.sum(K0**2, axis=(-2, -1)))
    nt = np.sqrt(np.sum(Kt**2, axis=(-2, -1)))
    if np.any(n0 == 0) or np.any(nt == 0):
        raise ValueError("kernel_distance is undefined for a zero kernel: K0 and Kt must be "
                         "non-zero (‖K‖_F > 0)")
    return 1.0 - inner / (n0 * nt)


def kernel_distance_whitened(a0, w0, a, w, eta_a=1.0, eta_w=1.0) -> np.ndarray:
    """Kernel distance S for whitened X from the parameters alone, with no d×d or n×n matrix.

    With XᵀX = I, ⟨K₀, K_t⟩_F = tr(M₀M_t), and for M = uI + η_a wwᵀ (u = η_w a²)
    tr(M₀M_t) = d u₀u_t + η_a(u₀‖w_t‖² + u_t‖w₀‖²) + η_a²(w₀·w_t)².
    Shapes: a0 (...), w0 (..., d), a (..., T), w (..., T, d) → S (..., T); the leading
    dimensions broadcast, T and d must agree. S is undefined where a kernel is zero (a = 0 and
    w = 0: M = 0), and such parameters are refused.
    """
    a0, w0 = as_array(a0, "a0", nonempty=True), as_array(w0, "w0", min_ndim=1, nonempty=True)
    a, w = as_array(a, "a", min_ndim=1, nonempty=True), as_array(w, "w", min_ndim=2, nonempty=True)
    eta_a, eta_w = positive(eta_a, "eta_a"), positive(eta_w, "eta_w")
    d = w0.shape[-1]
    if w.shape[-1] != d:
        raise ValueError(f"w must have the last dimension d = {d} of w0, got shape {w.shape}")
    if a.shape[-1] != w.shape[-2]:
        raise ValueError(f"a (..., T) and w (..., T, d) must have the same number of times T, got "
                         f"a {a.shape} and w {w.shape}")
    _batch("kernel_distance_whitened", a0=a0.shape, w0=w0.shape[:-1], a=a.shape[:-1],
           w=w.shape[:-2], eta_a=eta_a.shape, eta_w=eta_w.shape)
    if np.any((a0 == 0) & np.all(w0 == 0, axis=-1)):
        raise ValueError("kernel distance undefined: a0 = 0 and w0 = 0 give a zero kernel (M₀ = 0)")
    if np.any((a == 0) & np.all(w == 0, axis=-1)):
        raise ValueError("kernel distance undefined: a = 0 and w = 0 give a zero kernel (M = 0)")
    # S is invariant under M → cM, so each kernel is divided by the square of its scale
    # max(√η_w|a|, √η_a max|w_i|) first: M/s² = û I + ŵŵᵀ with û, ‖ŵ‖ ≤ √d, and nothing
    # overflows or underflows however large or small the parameters are
    ra, rw = np.sqrt(eta_a), np.sqrt(eta_w)
    A0, W0 = rw * a0, ra[..., None] * w0
    At, Wt = rw[..., None] * a, ra[..., None, None] * w
    s0 = np.maximum(np.abs(A0), np.max(np.abs(W0), axis=-1))
    st = np.maximum(np.abs(At), np.max(np.abs(Wt), axis=-1))
    A0, W0 = A0 / s0, W0 / s0[..., None]
    At, Wt = At / st, Wt / st[..., None]
    u0, ut = (A0**2)[..., None], At**2
    n0 = np.sum(W0**2, axis=-1)[..., None]
    nt = np.sum(Wt**2, axis=-1)
    cross = np.sum(W0[..., None, :] * Wt, axis=-1)
    inner = d * u0 * ut + (u0 * nt + ut * n0) + cross**2
    f0 = np.sqrt(d * u0**2 + 2 * u0 * n0 + n0**2)
    ft = np.sqrt(d * ut**2 + 2 * ut * nt + nt**2)
    return np.clip(1.0 - inner / (f0 * ft), 0.0, 2.0)


# ----------------------------------------------------------------------------------------------
# Implicit bias in the underdetermined case (n < d)
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImplicitBias:
    """The interpolant reached by gradient flow from (a₀, w₀) when n < d (paper, Theorem 3.1).

    beta_inf = beta_mn + a_inf P_null w₀, with a_inf² the positive root of
    η_w A² − b A − η_a‖β_mn‖² = 0, b = δ + η_a‖P_null w₀‖².
    """

    beta_inf: np.ndarray
    a_inf: np.ndarray
    beta_mn: np.ndarray
    null_w0: np.ndarray
    b: np.ndarray
    sign: np.ndarray


def _projections(X):
    X = as_array(X, "X", ndim=2, nonempty=True)
    n, d = X.shape
    pinv = np.linalg.pinv(X)
    p_row = pinv @ X
    return X, pinv, p_row, np.eye(d) - p_row


_NO_BETA0 = object()


def _problem(X, y, beta0=_NO_BETA0):
    """(X, pinv, p_row, p_null, y, beta0) of a regression problem: X (n, d), y (n,), β₀ (d,)."""
    X, pinv, p_row, p_null = _projections(X)
    n, d = X.shape
    y = as_array(y, "y", ndim=1)
    if y.shape[0] != n:
        raise ValueError(f"y must have length n = {n} (rows of X), got {y.shape[0]}")
    if beta0 is not _NO_BETA0:
        beta0 = as_array(beta0, "beta0", ndim=1)
        if beta0.shape[0] != d:
            raise ValueError(f"beta0 must have length d = {d} (columns of X), got {beta0.shape[0]}")
    return X, pinv, p_row, p_null, y, beta0


def _flow_sign(X, y, a0, w0, eta_a, eta_w) -> float:
    """sign(a∞) by integrating the flow (only needed when a can cross zero, b ≤ 0)."""
    def rhs(_, z):
        a, w = z[0], z[1:]
        g = X.T @ (X @ (a * w) - y)
        return np.concatenate([[-eta_a * (w @ g)], -eta_w * a * g])

    z0 = np.concatenate([[a0], w0])
    t_end = 10.0
    for _ in range(12):
        sol = solve_ivp(rhs, (0, t_end), z0, method="LSODA", rtol=1e-10, atol=1e-12)
        a = sol.y[0, -1]
        r = X @ (a * sol.y[1:, -1]) - y
        if 0.5 * r @ r < 1e-10 and abs(a) > 1e-8:
            return float(np.sign(a))
        z0, t_end = sol.y[:, -1], t_end * 4
    raise RuntimeError("gradient flow did not converge while determining sign(a_inf)")  # pragma: no cover


def implicit_bias(X, y, a0, w0, eta_a=1.0, eta_w=1.0, *, sign=None) -> ImplicitBias:
    """β∞ = β_mn + a∞ P_null w₀ for the underdetermined single neuron (paper, Sec. 3).

    The book's closed form of the paper's Theorem 3.1 (Eq. 5, an argmin over the interpolants),
    derived in :func:`theory.rich_lazy.derivation.implicit_bias_quadratic`.

    P_null w₀ is conserved (ẇ lies in the row space of X); δ = η_w a² − η_a‖w‖² is conserved;
    at convergence a∞ P_row w∞ = β_mn = X⁺y. Together these give
    a∞² = [b + √(b² + 4η_wη_a‖β_mn‖²)]/(2η_w), b = δ + η_a‖P_null w₀‖² = η_w a₀² − η_a‖P_row w₀‖².

    The sign of a∞: for b > 0, η_w a² ≥ b > 0 along the flow, so a keeps the sign of a₀. For
    b ≤ 0, a may pass through zero (the "basins" of the paper's appendix); then ``sign=None``
    integrates the flow once with ``solve_ivp`` to read it. Pass ``sign=±1`` to impose it.
    One parameter vector at a time: a0 scalar, w0 (d,).
    """
    X, pinv, p_row, p_null, y, _ = _problem(X, y)
    n, d = X.shape
    a0 = float(as_array(a0, "a0", ndim=0))
    w0 = as_array(w0, "w0", ndim=1)
    if w0.shape[0] != d:
        raise ValueError(f"w0 must have length d = {d}, got {w0.shape[0]}")
    eta_a = check_scalar(eta_a, "eta_a", min=0.0, include_min=False)
    eta_w = check_scalar(eta_w, "eta_w", min=0.0, include_min=False)
    beta_mn = pinv @ y
    if np.linalg.norm(X @ beta_mn - y) > 1e-8 * max(1.0, np.linalg.norm(y)):
        raise ValueError("X y has no interpolating solution (X must have full row rank, n <= d)")
    null_w0 = p_null @ w0
    b = eta_w * a0**2 - eta_a * np.sum((p_row @ w0) ** 2)
    c = 4 * eta_w * eta_a * (beta_mn @ beta_mn)
    root = np.sqrt(b * b + c)
    A = (b + root) / (2 * eta_w) if b >= 0 else c / (2 * eta_w * (root - b))
    if sign is None:
        sgn = np.sign(a0) if b > 0 else _flow_sign(X, y, a0, w0, eta_a, eta_w)
    else:
        if isinstance(sign, (bool, np.bool_)) or sign not in (-1, 1):
            raise ValueError(f"sign must be +1, -1 or None, got {sign!r}")
        sgn = float(sign)
    a_inf = sgn * np.sqrt(A)
    return ImplicitBias(beta_inf=beta_mn + a_inf * null_w0, a_inf=np.asarray(a_inf),
                        beta_mn=beta_mn, null_w0=null_w0, b=np.asarray(b), sign=np.asarray(sgn))


def lazy_limit(X, y, beta0) -> np.ndarray:
    """δ → +∞ limit of β∞: β_mn + P_null β₀, the interpolant closest to the initial function."""
    X, pinv, _, p_null, y, beta0 = _problem(X, y, beta0)
    return pinv @ y + p_null @ beta0


def downstream_limit(X, y, beta0) -> np.ndarray:
    """δ → −∞ limit of β∞ with β₀ held fixed: β_mn + σ (‖β_mn‖/‖P_row β₀‖) P_null β₀.

    σ = sign⟨Xβ₀, y⟩. For one data point (n = 1) this is exactly τ*β₀ with
    τ* = ‖β_mn‖²/⟨β_mn, β₀⟩: β moves along β₀ only (paper, Fig. 4).
    """
    X, pinv, p_row, p_null, y, beta0 = _problem(X, y, beta0)
    beta_mn = pinv @ y
    row = np.linalg.norm(p_row @ beta0)
    if row == 0:
        raise ValueError("beta0 has no component in the row space of X: the limit is undefined")
    sigma = np.sign((X @ beta0) @ y) or 1.0
    return beta_mn + sigma * np.linalg.norm(beta_mn) / row * (p_null @ beta0)


def null_direction(X) -> np.ndarray:
    """The unit vector spanning the null space of X when it is one-dimensional (d − rank X = 1).

    Its sign is fixed so that its first non-zero component is positive. The interpolants
    {β : Xβ = y} then form the line β_mn + c·n̂, and c = (β − β_mn)·n̂ is a position on it.
    """
    X, _, _, p_null = _projections(X)
    vals, vecs = np.linalg.eigh(p_null)
    keep = vals > 0.5
    if keep.sum() != 1:
        raise ValueError(f"X must have a one-dimensional null space, got dimension {int(keep.sum())}")
    n_hat = vecs[:, keep][:, 0]
    first = n_hat[np.flatnonzero(np.abs(n_hat) > 1e-12)[0]]
    return n_hat * np.sign(first)


def implicit_bias_curve(X, y, beta0, deltas, eta_a=1.0, eta_w=1.0) -> np.ndarray:
    """β∞(δ) for each δ of ``deltas`` with the initial function β₀ held fixed (paper, Thm 3.1).

    For each δ, (a₀, w₀) = :func:`init_from_beta` (β₀, δ) and β∞ = :func:`implicit_bias`;
    returns (K, d) for K values of δ (the curve drawn in the paper's Fig. 4b).
    """
    X, _, _, _, y, beta0 = _problem(X, y, beta0)
    deltas = as_array(deltas, "deltas", ndim=(0, 1), nonempty=True)
    eta_a = check_scalar(eta_a, "eta_a", min=0.0, include_min=False)
    eta_w = check_scalar(eta_w, "eta_w", min=0.0, include_min=False)
    a0, w0 = init_from_beta(beta0, np.atleast_1d(deltas), eta_a, eta_w)
    return np.array([implicit_bias(X, y, a0[i], w0[i], eta_a, eta_w).beta_inf
                     for i in range(a0.shape[0])])


def balanced_limit_distance(X, y, beta0, scales) -> np.ndarray:
    """|β∞ − β_mn| at δ = 0 from the initial functions c·β₀, one per scale c (the book's result).

    As c → 0, a∞² → ‖β_mn‖ and P_null w₀ → 0, so β∞ → β_mn; the implicit-bias notebook fits the
    rate, ∝ c^{1/2}. Unit learning rates.
    """
    X, pinv, _, _, y, beta0 = _problem(X, y, beta0)
    scales = as_array(scales, "scales", ndim=1, nonempty=True)
    if np.any(scales <= 0):
        raise ValueError("scales must be > 0")
    beta_mn = pinv @ y
    out = []
    for c in scales:
        a0, w0 = init_from_beta(c * beta0, 0.0)
        out.append(np.linalg.norm(implicit_bias(X, y, float(a0), w0).beta_inf - beta_mn))
    return np.array(out)


@dataclass(frozen=True)
class RegimeMeasures:
    """How lazy or rich each run of a δ sweep is, measured on its trajectory (paper, Sec. 3, Fig. 3).

    ``S_end`` (B,): the kernel distance at the last time, S(∞). ``off_line`` (B,): the largest
    distance of β(t) from the straight line through β₀ and β* (0 for a linear model).
    ``t_loss`` (B,): the first recorded time with loss ≤ ``loss_level`` (NaN if never).
    """

    t: np.ndarray
    S: np.ndarray
    S_end: np.ndarray
    off_line: np.ndarray
    t_loss: np.ndarray
    loss_level: float

    def fraction(self, time: float) -> np.ndarray:
        """S(t)/S(∞) at the first recorded t ≥ ``time``, per run: how far the kernel has moved."""
        time = check_scalar(time, "time", min=0.0, max=float(self.t[-1]))
        return self.S[:, int(np.searchsorted(self.t, time))] / self.S_end

    def table(self, deltas, names=None):
        """A pandas table, one row per δ: S(∞), distance from the segment, time to the loss level."""
        import pandas as pd

        deltas = as_array(deltas, "deltas", ndim=1)
        if deltas.shape[0] != self.S_end.shape[0]:
            raise ValueError(f"deltas must have one entry per run ({self.S_end.shape[0]}), "
                             f"got {deltas.shape[0]}")
        df = pd.DataFrame({"δ": deltas, "S(∞)": self.S_end, "max distance from segment": self.off_line,
                           f"t(loss ≤ {self.loss_level:g})": self.t_loss})
        if names is not None:
            df["regime"] = list(names)
        return df


def regime_measures(traj: Trajectory, S, beta0, beta_star, *, loss_level: float = 1e-3) -> RegimeMeasures:
    """The measures of :class:`RegimeMeasures` for a batch of trajectories (B, T) from one β₀.

    ``traj`` is a :class:`Trajectory` with a (B, T), beta (B, T, d), loss (B, T); ``S`` (B, T) its
    kernel distance from :func:`kernel_distance_whitened`; β₀, β* (d,) with β₀ ≠ β*.
    """
    if not isinstance(traj, Trajectory):
        raise TypeError(f"traj must be a Trajectory, got {type(traj).__name__}")
    t = as_array(traj.t, "traj.t", ndim=1)
    beta = as_array(traj.beta, "traj.beta", ndim=3)
    loss = as_array(traj.loss, "traj.loss", ndim=2)
    S = as_array(S, "S", ndim=2)
    if S.shape != loss.shape:
        raise ValueError(f"S must have the shape of traj.loss {loss.shape}, got {S.shape}")
    beta0 = as_array(beta0, "beta0", ndim=1)
    beta_star = as_array(beta_star, "beta_star", ndim=1)
    _same_d(beta.shape[-1], beta0=beta0, beta_star=beta_star)
    loss_level = check_scalar(loss_level, "loss_level", min=0.0, include_min=False)
    seg = beta_star - beta0
    if np.linalg.norm(seg) == 0:
        raise ValueError("beta0 and beta_star must differ: the segment between them is a point")
    seg = seg / np.linalg.norm(seg)
    rel = beta - beta0
    perp = rel - (rel @ seg)[..., None] * seg
    off_line = np.max(np.linalg.norm(perp, axis=-1), axis=-1)
    t_loss = first_crossing(loss, t, loss_level, direction="below")
    return RegimeMeasures(t=t, S=S, S_end=S[:, -1], off_line=off_line, t_loss=t_loss,
                          loss_level=loss_level)


# ----------------------------------------------------------------------------------------------
# The paper's own variables: μ = a‖w‖ and φ = cos∠(w, β*) (Eq. 2, App. A.2)
# ----------------------------------------------------------------------------------------------


def mu_phi(traj: Trajectory, beta_star) -> tuple[np.ndarray, np.ndarray]:
    """The paper's coordinates of a trajectory: μ = a‖w‖ and φ = wᵀβ*/(‖w‖‖β*‖) (Sec. 3, Eq. 2).

    ``traj`` a :class:`Trajectory` (a (..., T), w (..., T, d)); ``beta_star`` (..., d) with
    β* ≠ 0. Returns (μ, φ), each (..., T). φ is undefined where w = 0 (``ValueError``).
    """
    if not isinstance(traj, Trajectory):
        raise TypeError(f"traj must be a Trajectory, got {type(traj).__name__}")
    beta_star = as_array(beta_star, "beta_star", min_ndim=1)
    _same_d(traj.w.shape[-1], beta_star=beta_star)
    _batch("mu_phi", traj=traj.w.shape[:-2], beta_star=beta_star.shape[:-1])
    s = np.linalg.norm(beta_star, axis=-1)
    if np.any(s == 0):
        raise ValueError("beta_star must be non-zero: φ = cos∠(w, β*) needs a direction")
    norm_w = np.linalg.norm(traj.w, axis=-1)
    if np.any(norm_w == 0):
        raise ValueError("w = 0 somewhere on the trajectory: φ is undefined there")
    proj = np.sum(traj.w * beta_star[..., None, :], axis=-1)
    return traj.a * norm_w, proj / (norm_w * s[..., None])


def _kappa_minus_delta(mu2, delta, eta_a, eta_w):
    """κ − δ with κ = √(δ² + 4η_aη_wμ²), without cancellation (= 2η_a‖w‖² on the level set)."""
    prod = 4.0 * eta_a * eta_w * mu2
    root = np.sqrt(delta**2 + prod)
    return np.where(delta > 0, prod / np.where(root + delta > 0, root + delta, 1.0), root - delta)


def mu_phi_rhs(mu, phi, s, delta, eta_a=1.0, eta_w=1.0) -> tuple[np.ndarray, np.ndarray]:
    """The right-hand side of the paper's Eq. 2 (Sec. 3; solved in App. A.2):

        μ̇ = √(δ² + 4η_aη_wμ²) (φ‖β*‖ − μ),
        φ̇ = 2η_aη_w μ‖β*‖ (1 − φ²) / (√(δ² + 4η_aη_wμ²) − δ),

    with s = ‖β*‖ > 0. The denominator κ − δ is evaluated as 4η_aη_wμ²/(κ + δ) for δ > 0.
    Broadcasts; returns (μ̇, φ̇).
    """
    mu, phi = as_array(mu, "mu"), as_array(phi, "phi")
    if np.any(np.abs(phi) > 1):
        raise ValueError("phi = cos∠(w, β*) must lie in [-1, 1]")
    s, delta = positive(s, "s"), as_array(delta, "delta")
    eta_a, eta_w = positive(eta_a, "eta_a"), positive(eta_w, "eta_w")
    _batch("mu_phi_rhs", mu=mu.shape, phi=phi.shape, s=s.shape, delta=delta.shape,
           eta_a=eta_a.shape, eta_w=eta_w.shape)
    kappa = np.sqrt(delta**2 + 4.0 * eta_a * eta_w * mu**2)
    km = _kappa_minus_delta(mu**2, delta, eta_a, eta_w)
    if np.any(km == 0):
        raise ValueError("κ − δ = 0 (μ = 0 with δ ≥ 0): w = 0 there and φ is undefined")
    return kappa * (phi * s - mu), 2.0 * eta_a * eta_w * mu * s * (1.0 - phi**2) / km


_IVP_METHODS = ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA")


def solve_mu_phi(t, mu0, phi0, s, delta, eta_a=1.0, eta_w=1.0, *, method: str = "DOP853",
                 rtol: float = 1e-11, atol: float = 1e-13) -> tuple[np.ndarray, np.ndarray]:
    """μ(t), φ(t) by integrating the paper's Eq. 2 numerically (``scipy.integrate.solve_ivp``).

    An independent route to the paper's exact solution (App. A.2), used to check the book's
    closed form against Eq. 2. One start (scalars), times ``t`` (T,) increasing from 0;
    ``method`` any of ``solve_ivp``'s ("Radau" or "LSODA" for large |δ|, where Eq. 2 is stiff).
    Returns (μ, φ), each (T,).
    """
    t = as_array(t, "t", ndim=1, nonempty=True)
    if t[0] != 0 or np.any(np.diff(t) <= 0):
        raise ValueError("t must start at 0 and increase strictly")
    mu0 = check_scalar(mu0, "mu0")
    phi0 = float(check_scalar(phi0, "phi0", min=-1.0, max=1.0))
    s = check_scalar(s, "s", min=0.0, include_min=False)
    delta = float(check_scalar(delta, "delta"))
    eta_a = check_scalar(eta_a, "eta_a", min=0.0, include_min=False)
    eta_w = check_scalar(eta_w, "eta_w", min=0.0, include_min=False)
    if not isinstance(method, str):
        raise TypeError(f"method must be a solve_ivp method name, got {type(method).__name__}")
    check_choice(method, "method", _IVP_METHODS)
    rtol = check_scalar(rtol, "rtol", min=0.0, include_min=False)
    atol = check_scalar(atol, "atol", min=0.0, include_min=False)

    c = 4.0 * eta_a * eta_w

    def rhs(_, z):  # Eq. 2 in plain floats (the validated form is mu_phi_rhs)
        m, p = z
        kappa = math.sqrt(delta * delta + c * m * m)
        km = c * m * m / (kappa + delta) if delta > 0 else kappa - delta
        return [kappa * (p * s - m), 0.5 * c * m * s * (1.0 - p * p) / km]

    sol = solve_ivp(rhs, (0.0, float(t[-1])), [mu0, phi0], t_eval=t, method=method,
                    rtol=rtol, atol=atol)
    if not sol.success:  # pragma: no cover - solve_ivp failure
        raise RuntimeError(f"solve_ivp failed on Eq. 2: {sol.message}")
    return sol.y[0], sol.y[1]


def downstream_alignment_time(delta, phi_from, phi_to, s, eta_a=1.0, eta_w=1.0) -> np.ndarray:
    """Time for φ to go from ``phi_from`` to ``phi_to`` in the paper's downstream alignment phase.

    The paper (Sec. 3, p. 5–6, "Downstream"): after the fast phase μ ≈ φ‖β*‖, and Eq. 2 reduces
    to the Bernoulli equation φ̇ = η_aη_w‖β*‖²|δ|⁻¹ φ(1 − φ²). Its solution gives

        T = |δ| / (2η_aη_w s²) · ln[φ_to²(1 − φ_from²) / (φ_from²(1 − φ_to²))],

    proportional to |δ| (derived in :func:`theory.rich_lazy.derivation.downstream_alignment`).
    Needs δ < 0 and 0 < phi_from < phi_to < 1. Broadcasts.
    """
    delta = as_array(delta, "delta")
    if np.any(delta >= 0):
        raise ValueError("delta must be < 0: the alignment phase is the downstream one")
    p0, p1 = as_array(phi_from, "phi_from"), as_array(phi_to, "phi_to")
    if np.any(p0 <= 0) or np.any(p1 >= 1) or np.any(p0 >= p1):
        raise ValueError("need 0 < phi_from < phi_to < 1")
    s = positive(s, "s")
    eta_a, eta_w = positive(eta_a, "eta_a"), positive(eta_w, "eta_w")
    _batch("downstream_alignment_time", delta=delta.shape, phi_from=p0.shape, phi_to=p1.shape,
           s=s.shape, eta_a=eta_a.shape, eta_w=eta_w.shape)
    # the logarithm of the ratio as a sum of logarithms: finite for φ₀ near 0 and φ₁ near 1
    log_ratio = (2.0 * (np.log(p1) - np.log(p0)) + np.log1p(-p0) + np.log1p(p0)
                 - np.log1p(-p1) - np.log1p(p1))
    return np.abs(delta) / (2.0 * eta_a * eta_w) / s / s * log_ratio


@dataclass(frozen=True)
class AlignmentDelay:
    """Downstream alignment times over a sweep of δ < 0 (the book's measure of the paper's delay).

    ``t_exact`` (K,): first time φ(t) = ``phi_to`` on the closed-form trajectory;
    ``t_eq2`` (K,): the same on Eq. 2 integrated numerically (:func:`solve_mu_phi`);
    ``t_reduced`` (K,): :func:`downstream_alignment_time` from φ₀ (the paper's reduced equation);
    ``slope``: least-squares slope of log t_exact against log |δ|.
    """

    deltas: np.ndarray
    phi0: float
    phi_to: float
    t_exact: np.ndarray
    t_eq2: np.ndarray
    t_reduced: np.ndarray
    slope: float


def alignment_delay(deltas, beta0, beta_star, eta_a=1.0, eta_w=1.0, *, phi_to: float = 0.9,
                    n_t: int = 4001) -> AlignmentDelay:
    """How long the downstream neuron takes to align, for each δ < 0, with β₀ held fixed.

    For each δ: (a₀, w₀) = :func:`init_from_beta` (β₀, δ); φ(t) of :func:`whitened_solution`
    on a grid of ``n_t`` times up to 1.5× the reduced prediction (plus a margin), the crossing
    of ``phi_to`` refined by ``scipy.optimize.brentq`` on the closed form; the same crossing on
    Eq. 2 integrated by :func:`solve_mu_phi` (LSODA); and the reduced-equation time from φ₀.
    Needs 0 < φ₀ < ``phi_to`` < 1, with φ₀ = cos∠(β₀, β*) (φ₀ = 0 is the saddle of the reduced
    equation, where the delay grows like |δ| log|δ| instead).
    """
    from scipy.optimize import brentq

    deltas = as_array(deltas, "deltas", ndim=1, nonempty=True)
    if np.any(deltas >= 0):
        raise ValueError("deltas must all be < 0 (downstream)")
    beta0 = as_array(beta0, "beta0", ndim=1)
    beta_star = as_array(beta_star, "beta_star", ndim=1)
    if beta0.shape != beta_star.shape:
        raise ValueError(f"beta0 and beta_star must have the same shape, got {beta0.shape} and "
                         f"{beta_star.shape}")
    eta_a = float(check_scalar(eta_a, "eta_a", min=0.0, include_min=False))
    eta_w = float(check_scalar(eta_w, "eta_w", min=0.0, include_min=False))
    phi_to = float(check_scalar(phi_to, "phi_to", min=0.0, max=1.0, include_min=False,
                                include_max=False))
    n_t = check_scalar(n_t, "n_t", kind="int", min=10)
    check_memory(array_bytes(n_t, 4 * beta0.shape[0] + 16), f"alignment_delay on n_t = {n_t} times",
                 hint="use fewer times n_t")
    s = float(np.linalg.norm(beta_star))
    if s == 0 or np.linalg.norm(beta0) == 0:
        raise ValueError("beta0 and beta_star must be non-zero")
    phi0 = float(beta0 @ beta_star / (np.linalg.norm(beta0) * s))
    if not 0 < phi0 < phi_to:
        raise ValueError(f"need 0 < φ₀ < phi_to, got φ₀ = {phi0:.3g}, phi_to = {phi_to:g}")
    t_exact, t_eq2 = [], []
    t_red = downstream_alignment_time(deltas, phi0, phi_to, s, eta_a, eta_w)
    for dl, tr in zip(deltas, t_red):
        a0, w0 = init_from_beta(beta0, dl, eta_a, eta_w)
        grid = np.linspace(0.0, 1.5 * tr + 10.0, n_t)

        def phi_at(tt, a0=a0, w0=w0):
            tr_ = whitened_solution(np.atleast_1d(tt), a0, w0, beta_star, eta_a, eta_w)
            return mu_phi(tr_, beta_star)[1]

        phi = phi_at(grid)
        k = int(np.argmax(phi >= phi_to))
        if phi[k] < phi_to:
            raise RuntimeError(f"φ did not reach {phi_to} by t = {grid[-1]:.3g} at δ = {dl:g}")  # pragma: no cover
        t_exact.append(brentq(lambda tt: phi_at(tt)[0] - phi_to, grid[k - 1], grid[k],
                              xtol=1e-12, rtol=1e-14))
        mu_e, phi_e = solve_mu_phi(grid, float(np.linalg.norm(beta0)), phi0, s, dl, eta_a, eta_w,
                                   method="LSODA", rtol=1e-10, atol=1e-12)
        j = int(np.argmax(phi_e >= phi_to))
        # linear interpolation between the two grid points that bracket the crossing
        t_eq2.append(grid[j - 1] + (phi_to - phi_e[j - 1]) * (grid[j] - grid[j - 1])
                     / (phi_e[j] - phi_e[j - 1]))
    t_exact, t_eq2 = np.array(t_exact), np.array(t_eq2)
    slope = float(np.polyfit(np.log(np.abs(deltas)), np.log(t_exact), 1)[0])
    return AlignmentDelay(deltas=deltas, phi0=phi0, phi_to=phi_to, t_exact=t_exact, t_eq2=t_eq2,
                          t_reduced=t_red, slope=slope)


# ----------------------------------------------------------------------------------------------
# Theorem 3.1 (Eq. 5): the interpolant as an argmin
# ----------------------------------------------------------------------------------------------


def theorem_3_1_objective(beta, beta0, delta) -> tuple[np.ndarray, np.ndarray]:
    """The objective of the paper's Theorem 3.1 (Eq. 5), unit learning rates, and its gradient:

        Ψ_δ(β) − ψ_δ β̂₀ᵀβ,   Ψ_δ(β) = ⅓(√(δ² + 4‖β‖²) − 2δ) √(√(δ² + 4‖β‖²) + δ),
        ψ_δ = √(√(δ² + 4‖β₀‖²) − δ);   ∇Ψ_δ(β) = 2β / √(√(δ² + 4‖β‖²) + δ).

    ``beta`` (..., d), ``beta0`` (d,) ≠ 0, δ scalar. √(κ ± δ) are computed without
    cancellation. Returns (objective (...), gradient (..., d)).
    """
    beta = as_array(beta, "beta", min_ndim=1, nonempty=True)
    beta0 = as_array(beta0, "beta0", ndim=1)
    if beta0.size == 0:
        raise ValueError("beta0 must not be empty")
    _same_d(beta0.shape[0], beta=beta)
    delta = float(check_scalar(delta, "delta"))
    n0 = float(_norm(beta0))
    if n0 == 0:
        raise ValueError("beta0 must be non-zero (Theorem 3.1 needs its direction)")
    r = _norm(beta)

    def sqrt_plus_minus(x):
        """(κ, √(κ + δ), √(κ − δ)) at ‖β‖ = x: hypot (no overflow), and √(κ ∓ |δ|) as
        2x/√(κ ± |δ|) (no cancellation, no underflow)."""
        kappa, big, _ = _pm_root(delta, 2.0 * x)
        root_big = np.sqrt(big)
        with np.errstate(invalid="ignore", divide="ignore"):
            root_small = np.where(big > 0, 2.0 * x / np.where(big > 0, root_big, 1.0), 0.0)
        return (kappa, root_big, root_small) if delta >= 0 else (kappa, root_small, root_big)

    kappa, sqrt_kp, _ = sqrt_plus_minus(r)
    _, _, sqrt_km0 = sqrt_plus_minus(n0)
    if np.any(sqrt_kp == 0):
        raise ValueError("β = 0 with δ ≤ 0: Ψ_δ is not differentiable there")
    psi = (kappa - 2.0 * delta) * sqrt_kp / 3.0
    obj = psi - sqrt_km0 * (beta @ beta0) / n0
    grad = 2.0 * beta / sqrt_kp[..., None] - sqrt_km0 * beta0 / n0
    return obj, grad


def theorem_3_1_argmin(X, y, beta0, delta) -> np.ndarray:
    """argmin of :func:`theorem_3_1_objective` over {β : Xβ = y}, found numerically (Eq. 5).

    β = β_mn + N c with N an orthonormal basis of the null space of X, minimised over c by
    ``scipy.optimize.minimize`` (BFGS, analytic gradient, from c = 0). The objective is strictly
    convex on the affine set, so the minimiser is unique. An independent check of
    :func:`implicit_bias` (the book's closed form); unit rates.
    """
    from scipy.optimize import minimize

    X, pinv, _, _, y, beta0 = _problem(X, y, beta0)
    beta_mn = pinv @ y
    _, sv, vt = np.linalg.svd(X)
    rank = int(np.sum(sv > 1e-12 * sv.max()))
    N = vt[rank:].T
    if N.shape[1] == 0:
        raise ValueError("X has a trivial null space: the interpolant is unique (n >= d)")

    def fun(c):
        obj, grad = theorem_3_1_objective(beta_mn + N @ c, beta0, delta)
        return float(obj), N.T @ grad

    res = minimize(fun, np.zeros(N.shape[1]), jac=True, method="BFGS",
                   options={"gtol": 1e-13, "maxiter": 10_000})
    return beta_mn + N @ res.x


def theorem_3_1_check(X, y, beta0, delta, eta_a=1.0, eta_w=1.0) -> dict[str, float]:
    """The book's closed-form interpolant against the paper's Theorem 3.1 (Eq. 5), one problem.

    Returns ``kkt``: |P_null ∇(objective)(β∞)| (zero at the constrained minimiser; the
    objective is strictly convex), ``argmin``: |β∞ − :func:`theorem_3_1_argmin`|, and
    ``crosses``: 1.0 when a passes through zero on the way (sign a∞ ≠ sign a₀, so β(t) = 0
    at some t, which Theorem 3.1 excludes), else 0.0. For η_a ≠ η_w Eq. 5 is applied with
    δ/√(η_aη_w), the imbalance of the unit-rate flow that :func:`~theory.rich_lazy.derivation.rate_rescaling`
    maps the problem onto (β is unchanged by that map: the book's extension of Eq. 5).
    """
    X, _, _, p_null, y, beta0 = _problem(X, y, beta0)
    delta = float(check_scalar(delta, "delta"))
    eta_a = float(check_scalar(eta_a, "eta_a", min=0.0, include_min=False))
    eta_w = float(check_scalar(eta_w, "eta_w", min=0.0, include_min=False))
    a0, w0 = init_from_beta(beta0, delta, eta_a, eta_w)
    ib = implicit_bias(X, y, float(a0), w0, eta_a, eta_w)
    d_unit = delta / np.sqrt(eta_a * eta_w)
    _, grad = theorem_3_1_objective(ib.beta_inf, beta0, d_unit)
    return {"kkt": float(np.linalg.norm(p_null @ grad)),
            "argmin": float(np.abs(ib.beta_inf - theorem_3_1_argmin(X, y, beta0, d_unit)).max()),
            "crosses": float(ib.sign != np.sign(a0))}


@dataclass(frozen=True)
class Theorem31Agreement:
    """:func:`theorem_3_1_check` over a set of problems, one entry per run (problem × δ × rates).

    ``kkt``, ``argmin``, ``crosses`` as in :func:`theorem_3_1_check`; ``delta``; ``unit_rates``
    (η_a = η_w = 1, the paper's statement). The properties split the runs as the notebook
    reports them.
    """

    kkt: np.ndarray
    argmin: np.ndarray
    crosses: np.ndarray
    delta: np.ndarray
    unit_rates: np.ndarray

    @property
    def _kept(self) -> np.ndarray:
        return self.crosses == 0

    @property
    def paper(self) -> tuple[np.ndarray, np.ndarray]:
        """(first-order residuals, |β∞ − argmin|) of the runs the theorem covers: unit rates, a ≠ 0."""
        m = self._kept & self.unit_rates
        return self.kkt[m], self.argmin[m]

    @property
    def other_rates(self) -> np.ndarray:
        """Both errors of the runs with η_a ≠ η_w (Eq. 5 at δ/√(η_aη_w)), a ≠ 0, concatenated."""
        m = self._kept & ~self.unit_rates
        return np.concatenate([self.kkt[m], self.argmin[m]])

    @property
    def crossed_kkt(self) -> np.ndarray:
        """The first-order residuals of the runs in which a passes through zero."""
        return self.kkt[~self._kept]

    def summary(self) -> str:
        kkt, arg = self.paper
        crossed = sorted(set(self.delta[~self._kept].tolist()))
        return (f"{self.kkt.size} runs, {int((~self._kept).sum())} with a passing through zero "
                f"(δ = {crossed}); unit rates ({kkt.size} runs): first-order residual ≤ "
                f"{kkt.max():.1e}, |β∞ − argmin| ≤ {arg.max():.1e}")


def theorem_3_1_agreement(n_problems: int = 8, *, seed: int = 0, deltas=(-3.0, -0.3, 0.3, 3.0),
                          rates=((1.0, 1.0), (2.0, 1.0))) -> Theorem31Agreement:
    """:func:`theorem_3_1_check` over random underdetermined problems (the book's test set).

    Problem i draws from ``numpy.random.default_rng(config_seed(seed, "theorem_3_1", i))``:
    d ∈ {2, …, 5}, n ∈ {1, …, d − 1}, X (n, d) and y (n,) Gaussian, β₀ (d,) Gaussian. Each is
    solved for every δ of ``deltas`` and every pair of rates (η_a, η_w). Returns a
    :class:`Theorem31Agreement`.
    """
    from theory.core import config_seed

    n_problems = check_scalar(n_problems, "n_problems", kind="int", min=1)
    seed = check_seed(seed, "seed")
    deltas = as_array(deltas, "deltas", ndim=1, nonempty=True)
    rates = as_array(rates, "rates", ndim=2, nonempty=True)
    if rates.shape[1] != 2 or np.any(rates <= 0):
        raise ValueError("rates must be (K, 2) pairs (eta_a, eta_w) of positive numbers")
    out = {k: [] for k in ("kkt", "argmin", "crosses", "delta", "unit_rates")}
    for i in range(n_problems):
        rng = np.random.default_rng(config_seed(seed, "theorem_3_1", i))
        d = int(rng.integers(2, 6))
        n = int(rng.integers(1, d))
        X, y, beta0 = rng.normal(size=(n, d)), rng.normal(size=n), rng.normal(size=d)
        for dl in deltas:
            for ea, ew in rates:
                res = theorem_3_1_check(X, y, beta0, dl, ea, ew)
                for k in ("kkt", "argmin", "crosses"):
                    out[k].append(res[k])
                out["delta"].append(dl)
                out["unit_rates"].append(ea == 1.0 and ew == 1.0)
    return Theorem31Agreement(**{k: np.array(v) for k, v in out.items()})
