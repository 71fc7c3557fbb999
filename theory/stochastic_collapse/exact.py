"""Exact results for stochastic collapse (Chen, Kunin, Yamamura, Ganguli 2023), in numpy.

The quartic well dθ = −(θ³ − μθ)dt + ζθ dW (the paper's Fig. 1 prototype) is solved here in
full: its linear exponent at θ = 0 (μ − ζ²/2), its stationary law (θ² ~ Gamma), and its pathwise
solution given the Brownian path. The diagonal linear teacher–student under label noise reduces,
mode by mode, to the same well with μ = s*, ζ² = ησ² (``derivation.label_noise_mode``), which
gives the soft-thresholded fixed point max(0, s* − ησ²/2) and exact stationary losses.
The general sufficient condition for stochastic attractivity of an invariant set is
:func:`log_distance_drift` / :func:`attractivity_bound`.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln, ndtr

from theory.core import (DivergenceError, array_bytes, as_array, check_memory, check_scalar,
                         check_seed, non_negative, positive)

__all__ = [
    "attractivity_bound",
    "critical_noise",
    "em_exponent",
    "expected_log_abs_normal",
    "gbm_collapse_probability",
    "label_noise_fixed_point",
    "label_noise_stationary_losses",
    "linear_exponent",
    "log_distance_drift",
    "prototype_exponent",
    "prototype_pathwise",
    "stationary_density",
    "stationary_moments",
    "tanh_sde_threshold",
    "tanh_sgd_exponents",
]


def _broadcast(**arrays) -> tuple:
    """The common shape of the named arrays, or a ValueError naming them all."""
    try:
        return np.broadcast_shapes(*(np.shape(a) for a in arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{k} {np.shape(v)}" for k, v in arrays.items())
        raise ValueError(f"the shapes must broadcast together: {shapes}") from None


def prototype_exponent(mu, zeta) -> np.ndarray:
    """Lyapunov exponent μ − ζ²/2 of the quartic well linearised at θ = 0 (paper, Fig. 1).

    θ = 0 is a maximum of U = θ⁴/4 − μθ²/2 for μ > 0, yet attractive when the exponent is < 0.
    """
    mu, zeta = as_array(mu, "mu", nonempty=True), non_negative(zeta, "zeta", nonempty=True)
    _broadcast(mu=mu, zeta=zeta)
    return mu - zeta**2 / 2


def critical_noise(mu) -> np.ndarray:
    """The noise ζ_c = √(2μ) above which θ = 0 attracts (collapse iff ζ² > 2μ)."""
    return np.sqrt(2 * positive(mu, "mu", nonempty=True))


def gbm_collapse_probability(t, theta0, rate, zeta, eps) -> np.ndarray:
    """P(|θ_t| < ε) for the geometric Brownian motion dθ = rate·θ dt + ζθ dW from θ₀ ≠ 0.

    log|θ_t| = log|θ₀| + (rate − ζ²/2)t + ζW_t is Gaussian, so the probability is
    Φ((log ε − log|θ₀| − (rate − ζ²/2)t)/(ζ√t)). Shapes broadcast.
    """
    t = non_negative(t, "t", nonempty=True)
    theta0 = as_array(theta0, "theta0", nonempty=True)
    rate = as_array(rate, "rate", nonempty=True)
    zeta, eps = positive(zeta, "zeta", nonempty=True), positive(eps, "eps", nonempty=True)
    if np.any(theta0 == 0):
        raise ValueError("theta0 must be non-zero")
    _broadcast(t=t, theta0=theta0, rate=rate, zeta=zeta, eps=eps)
    lam = rate - zeta**2 / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (np.log(eps) - np.log(np.abs(theta0)) - lam * t) / (zeta * np.sqrt(t))
    return np.where(t > 0, ndtr(z), (np.abs(theta0) < eps).astype(float))


def stationary_moments(mu, zeta) -> tuple[np.ndarray, np.ndarray]:
    """(E[θ²], E[θ⁴]) under the stationary law of the quartic well, or (0, 0) when it collapses.

    p(θ) ∝ |θ|^{2μ/ζ² − 2} e^{−θ²/ζ²} is normalisable iff ζ² < 2μ; then θ² is Gamma-distributed
    with shape μ/ζ² − ½ and scale ζ², so E[θ²] = μ − ζ²/2 and E[θ⁴] = μ² − ζ⁴/4.
    """
    mu, zeta = positive(mu, "mu", nonempty=True), positive(zeta, "zeta", nonempty=True)
    _broadcast(mu=mu, zeta=zeta)
    alive = zeta**2 < 2 * mu
    m2 = np.where(alive, mu - zeta**2 / 2, 0.0)
    m4 = np.where(alive, mu**2 - zeta**4 / 4, 0.0)
    return m2, m4


def stationary_density(theta, mu, zeta) -> np.ndarray:
    """The normalised stationary density of the quartic well on θ ∈ ℝ (requires ζ² < 2μ)."""
    theta = as_array(theta, "theta", nonempty=True)
    mu = check_scalar(mu, "mu", min=0.0, include_min=False)
    zeta = check_scalar(zeta, "zeta", min=0.0, include_min=False)
    if zeta**2 >= 2 * mu:
        raise ValueError(f"no stationary density: zeta² = {zeta**2:g} >= 2 mu = {2 * mu:g} (collapse)")
    k = 2 * mu / zeta**2 - 2
    log_norm = (k + 1) * np.log(zeta) + gammaln((k + 1) / 2)
    with np.errstate(divide="ignore"):
        return np.exp(k * np.log(np.abs(theta)) - theta**2 / zeta**2 - log_norm)


def prototype_pathwise(t, W, theta0, mu, zeta) -> np.ndarray:
    """The exact solution of dθ = −(θ³ − μθ)dt + ζθ dW along a given Brownian path.

    θ_t² = e^{(2μ−ζ²)t + 2ζW_t} / (θ₀⁻² + 2∫₀ᵗ e^{(2μ−ζ²)s + 2ζW_s} ds), with the sign of θ₀
    (``derivation.prototype_pathwise``). ``t`` (T,) non-decreasing from t[0] = 0; ``W`` (..., T)
    with W[..., 0] = 0; the integral is taken by the trapezoid rule on the grid.

    Everything is computed in log-space: θ_t = θ₀·e^r, r = ½(E_t − log(1 + 2I_tθ₀²)), E_t the
    exponent, log I_t a running log-sum-exp of the trapezoid terms and log(1 + ·) a softplus.
    Neither e^{E_t} nor θ₀⁻² is ever formed, so long paths (|E_t| in the thousands, where the
    exponentials overflow or underflow and a rescaled ratio becomes 0/0) stay finite; where the
    former rescaled formula was finite the two agree to float64 rounding.
    """
    t = as_array(t, "t", ndim=1, nonempty=True)
    W = as_array(W, "W", min_ndim=1)
    if W.shape[-1] != t.shape[0]:
        raise ValueError(f"W must have last dimension len(t) = {t.shape[0]}, got {W.shape[-1]}")
    if t[0] != 0:
        raise ValueError(f"t must start at t[0] = 0 (the time of theta0), got t[0] = {t[0]:g}")
    if np.any(np.diff(t) < 0):
        raise ValueError("t must be non-decreasing")
    if np.any(W[..., 0] != 0):
        raise ValueError("W must be a Brownian path from 0: W[..., 0] = 0")
    theta0 = as_array(theta0, "theta0")
    mu, zeta = as_array(mu, "mu"), non_negative(zeta, "zeta")
    if np.any(theta0 == 0):
        raise ValueError("theta0 must be non-zero (θ = 0 is a fixed point)")
    mu_, zeta_ = mu[..., None], zeta[..., None]
    expo = (2 * mu_ - zeta_**2) * t + 2 * zeta_ * W                      # E_t, (..., T)
    with np.errstate(divide="ignore"):
        log_dt = np.log(np.diff(t))                                      # −inf for dt = 0
    log_half = np.log(0.5)
    terms = np.logaddexp(expo[..., 1:], expo[..., :-1]) + log_half + log_dt   # trapezoids
    log_int = np.logaddexp.accumulate(terms, axis=-1) if terms.shape[-1] else terms
    log_int = np.concatenate([np.full(log_int.shape[:-1] + (1,), -np.inf), log_int], axis=-1)
    theta0 = theta0[..., None]
    log_abs0 = np.log(np.abs(theta0))
    # θ_t = θ₀·e^r with r = ½(E_t − log(1 + 2I_tθ₀²)); the softplus keeps θ(0) = θ₀ exactly
    r = 0.5 * (expo - np.logaddexp(0.0, np.log(2.0) + log_int + 2.0 * log_abs0))
    direct = np.abs(r) < 700.0                       # e^r neither overflows nor underflows
    return np.where(direct, theta0 * np.exp(np.where(direct, r, 0.0)),
                    np.sign(theta0) * np.exp(np.where(direct, 0.0, log_abs0 + r)))


def label_noise_fixed_point(s_star, eta, sigma) -> np.ndarray:
    """E[s] at stationarity for one mode under label-noise SGD: sign(s*)·max(0, |s*| − ησ²/2)
    (paper, Fig. 5). Modes weaker than ησ²/2 collapse to zero; the rest shrink by ησ²/2: soft
    thresholding. (The dynamics is symmetric under v → −v, s → −s.)"""
    s_star = as_array(s_star, "s_star", nonempty=True)
    eta = positive(eta, "eta", nonempty=True)
    sigma = non_negative(sigma, "sigma", nonempty=True)
    _broadcast(s_star=s_star, eta=eta, sigma=sigma)
    return np.sign(s_star) * np.maximum(0.0, np.abs(s_star) - eta * sigma**2 / 2)


def label_noise_stationary_losses(s_target, s_true, eta, sigma) -> tuple[np.ndarray, np.ndarray]:
    """Stationary expected train and test losses, summed over modes, under label-noise SGD.

    Each mode's |s| relaxes to the quartic well's law with μ = |s_target| (the training data's
    least-squares mode) and ζ² = ησ², so E|s| = μ − ζ²/2 and Var[s] = (μ − ζ²/2)ζ² when it
    survives, s = 0 when it collapses. Returns ½ΣE[(s − s_target)²] (train, against the data)
    and ½ΣE[(s − s_true)²] (test, against the clean teacher); σ may be an array (leading axis).
    """
    s_target = as_array(s_target, "s_target", ndim=1, nonempty=True)
    s_true = as_array(s_true, "s_true", ndim=1, nonempty=True)
    if s_target.shape != s_true.shape:
        raise ValueError(f"s_target and s_true must have the same shape, got {s_target.shape} "
                         f"and {s_true.shape}")
    eta = check_scalar(eta, "eta", min=0.0, include_min=False)
    sigma = non_negative(sigma, "sigma", ndim=(0, 1), nonempty=True)
    zeta2 = (eta * np.asarray(sigma) ** 2)[..., None]
    mean = label_noise_fixed_point(s_target, eta, np.sqrt(zeta2 / eta))
    var = np.abs(mean) * zeta2
    train = 0.5 * np.sum(var + (mean - s_target) ** 2, axis=-1)
    test = 0.5 * np.sum(var + (mean - s_true) ** 2, axis=-1)
    return train, test


def log_distance_drift(A, C, u) -> np.ndarray:
    """Drift of log‖u‖ for du = Au dt + Σ_k C_k u dW_k, at the unit direction(s) u.

    λ(u) = uᵀAu + ½Σ_k‖C_k u‖² − Σ_k (uᵀC_k u)² (Itô). Near an invariant set, u is the normal
    displacement, A = −P H P (curvature of the loss normal to the set) and C_k = the linearised
    noise columns (per-sample gradients' normal parts, ∝ P∇²ℓ_k P): curvature and noise compete.
    ``A`` (d, d), ``C`` (K, d, d), ``u`` (..., d) normalised here.
    """
    A, C = _linear_system(A, C)
    u = as_array(u, "u", min_ndim=1, nonempty=True)
    d = A.shape[0]
    if u.shape[-1] != d:
        raise ValueError(f"u must have shape (..., d) with d = {d} (A is {A.shape}), got {u.shape}")
    norm = np.linalg.norm(u, axis=-1, keepdims=True)
    if np.any(norm == 0):
        raise ValueError("u must hold non-zero directions (a zero row has no direction)")
    return _drift(A, C, u / norm)


def _linear_system(A, C) -> tuple[np.ndarray, np.ndarray]:
    """A (d, d) and C (K, d, d) as finite float arrays, or an error naming the one at fault."""
    A = as_array(A, "A", ndim=2, nonempty=True)
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be square (d, d), got {A.shape}")
    C = as_array(C, "C", ndim=3, nonempty=True)
    if C.shape[1:] != A.shape:
        raise ValueError(f"the shapes must match: C must be (K, d, d) = (K, {A.shape[0]}, "
                         f"{A.shape[0]}) for A {A.shape}, got {C.shape}")
    return A, C


def _drift(A: np.ndarray, C: np.ndarray, u: np.ndarray) -> np.ndarray:
    """λ(u) of :func:`log_distance_drift` for validated A, C and unit rows u."""
    Au = np.einsum("ij,...j->...i", A, u)
    Cu = np.einsum("kij,...j->...ki", C, u)
    quad = np.einsum("...i,...ki->...k", u, Cu)
    return np.sum(u * Au, -1) + 0.5 * np.sum(Cu**2, axis=(-2, -1)) - np.sum(quad**2, -1)


def attractivity_bound(A, C, *, n_directions: int = 20_000, seed: int = 0) -> float:
    """max over unit u of :func:`log_distance_drift`: if < 0, the invariant set is attractive.

    The top Lyapunov exponent of the linearised dynamics is a time average of λ(u_t) along the
    direction process, so it is at most this maximum: a sufficient condition for stochastic
    attractivity. Estimated by dense random directions (exact on the circle for d = 2, where the
    directions form a fine grid).
    """
    A, C = _linear_system(A, C)
    n_directions = check_scalar(n_directions, "n_directions", kind="int", min=1)
    seed = check_seed(seed, "seed")
    d, K = A.shape[0], C.shape[0]
    check_memory(array_bytes(n_directions, 3 * d + 2 * K * d + K),
                 f"attractivity_bound with {n_directions} directions in d = {d}",
                 hint="use fewer n_directions")
    if d == 1:
        u = np.ones((1, 1))
    elif d == 2:
        phi = np.linspace(0, np.pi, n_directions, endpoint=False)
        u = np.stack([np.cos(phi), np.sin(phi)], axis=-1)
    else:
        u = np.random.default_rng(seed).normal(size=(n_directions, d))
    u = u / np.linalg.norm(u, axis=-1, keepdims=True)
    return float(np.max(_drift(A, C, u)))


def _paired_xy(x, y) -> tuple[np.ndarray, np.ndarray]:
    """x and y as 1-D float arrays of the same length (the data of the tanh neuron)."""
    x = as_array(x, "x", ndim=1, nonempty=True)
    y = as_array(y, "y", ndim=1, nonempty=True)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, got {x.shape} and {y.shape}")
    return x, y


def expected_log_abs_normal(mu) -> np.ndarray:
    """E log|μ + Z| for Z ~ N(0, 1), exactly: (μ + Z)² is non-central χ²₁ with λ = μ², a Poisson
    mixture of χ²_{1+2j}, so E log|μ + Z| = ½[log 2 + Σ_j Pois(j; μ²/2) ψ(½ + j)]. For |μ| > 30
    the series is replaced by log|μ| − 1/(2μ²) − 3/(4μ⁴) (error below 1e-8)."""
    from scipy.special import digamma, gammaln

    mu = np.abs(as_array(mu, "mu", nonempty=True))
    lam = mu**2 / 2
    small = mu <= 30
    jmax = int(np.ceil(np.max(lam[small], initial=0.0) + 12 * np.sqrt(np.max(lam[small], initial=0.0)) + 40))
    j = np.arange(jmax + 1)
    lam_s = np.where(small, lam, 0.0)[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        logw = np.where(lam_s > 0, j * np.log(np.where(lam_s > 0, lam_s, 1.0)), np.where(j == 0, 0.0, -np.inf)) \
            - lam_s - gammaln(j + 1)
    series = 0.5 * (np.log(2) + np.sum(np.exp(logw) * digamma(0.5 + j), axis=-1))
    with np.errstate(divide="ignore"):
        asym = np.log(np.where(small, 1.0, mu)) - 1 / (2 * np.where(small, 1.0, mu) ** 2) \
            - 3 / (4 * np.where(small, 1.0, mu) ** 4)
    return np.where(small, series, asym)


def tanh_sgd_exponents(x, y, etas, zeta) -> tuple[np.ndarray, np.ndarray]:
    """Exact per-step Lyapunov exponents of batch-1 label-noise SGD at the origin of w₂tanh(w₁x).

    Linearised at w = 0, one SGD step on sample i with label noise ξ ~ N(0, ζ²) multiplies
    u± = w₁ ± w₂ by (1 ± η c), c = x_i(y_i + ξ) (the two directions decouple exactly). The
    exponents per step are λ± = (1/m)Σ_i E_ξ log|1 ± η x_i(y_i + ξ)|, each expectation in closed
    form (:func:`expected_log_abs_normal`). The origin attracts iff max(λ₊, λ₋) < 0. For small η
    this tends to the SDE's η⟨xy⟩ − η²(⟨x²y²⟩ + ζ²⟨x²⟩)/2 per step.
    """
    x, y = _paired_xy(x, y)
    etas = np.atleast_1d(non_negative(etas, "etas", ndim=(0, 1), nonempty=True))
    zeta = check_scalar(zeta, "zeta", min=0.0, include_min=False)
    out = []
    for sign in (1.0, -1.0):
        a = sign * etas[:, None] * x * y          # 1 + a + bZ, Z ~ N(0, 1)
        b = sign * etas[:, None] * x * zeta
        safe_b = np.where(b == 0, 1.0, b)
        val = np.where(b == 0, np.log(np.abs(1 + a)),
                       np.log(np.abs(safe_b)) + expected_log_abs_normal((1 + a) / safe_b))
        out.append(val.mean(axis=-1))
    return out[0], out[1]


def tanh_sde_threshold(x, y) -> float:
    """The SDE model's collapse threshold for the tanh neuron (paper, Fig. 2):
    collapse iff α = ηζ²σ′(0)/2 > Σx_iy_i / Σx_i² (σ′(0) = 1 for tanh)."""
    x, y = _paired_xy(x, y)
    if not np.any(x):
        raise ValueError("x must not be all zero (the threshold Σxy/Σx² is 0/0)")
    return float(x @ y / (x @ x))


def linear_exponent(A, C, *, n_paths: int = 256, T: float = 200.0, dt: float = 1e-2,
                    seed: int = 0) -> float:
    """Top Lyapunov exponent of du = Au dt + Σ_k C_k u dW_k (the linearisation at an invariant set).

    If A and every C_k commute, it is exactly max over their common eigenvectors e of
    λ(e) = a − ½Σ_k c_k² (:func:`log_distance_drift`). Otherwise it is the average of λ(u_t)
    along the direction process u_t = u/‖u‖ (Khasminskii), estimated here by simulating that
    process for ``n_paths`` paths over time T and averaging.
    """
    A, C = _linear_system(A, C)
    n_paths = check_scalar(n_paths, "n_paths", kind="int", min=1)
    T = check_scalar(T, "T", min=0.0, include_min=False)
    dt = check_scalar(dt, "dt", min=0.0, include_min=False)
    if dt > T:
        raise ValueError(f"dt must be <= T = {T:g} (at least one step), got dt = {dt:g}")
    seed = check_seed(seed, "seed")
    d, K = A.shape[0], C.shape[0]
    check_memory(array_bytes(n_paths, 4 * d + 2 * K + K * d),
                 f"linear_exponent with {n_paths} paths in d = {d}", hint="use fewer n_paths")
    mats = [A, *C]
    if all(np.allclose(M1 @ M2, M2 @ M1, atol=1e-12) for M1 in mats for M2 in mats):
        # a generic combination has simple eigenvalues shared by the commuting family
        rng = np.random.default_rng(seed)
        combo = sum(rng.normal() * M for M in mats)
        _, vecs = np.linalg.eig(combo)
        vecs = np.real_if_close(vecs)
        if np.isrealobj(vecs):
            vecs = vecs.T / np.linalg.norm(vecs.T, axis=-1, keepdims=True)
            return float(np.max(_drift(A, C, vecs)))
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(n_paths, d))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    steps = int(round(T / dt))
    acc = np.zeros(n_paths)
    for n in range(steps):
        acc += _drift(A, C, u)
        dW = rng.normal(size=(n_paths, K)) * np.sqrt(dt)
        u = u + (u @ A.T) * dt + np.einsum("kij,pj,pk->pi", C, u, dW)
        norm = np.linalg.norm(u, axis=1, keepdims=True)
        if (n + 1) % 64 == 0 or n + 1 == steps:          # cheap: one reduction every 64 steps
            if not (np.all(np.isfinite(norm)) and np.all(norm > 0)):
                raise DivergenceError(f"the direction process of linear_exponent diverged at "
                                      f"step {n + 1} (a direction became 0, inf or NaN); reduce "
                                      f"dt", step=n + 1, what="linear_exponent")
        u /= norm
    return float(np.mean(acc) / steps)


def em_exponent(rate, zeta, dt) -> np.ndarray:
    """Exact Lyapunov exponent (per unit time) of Euler–Maruyama for dθ = rate·θdt + ζθdW:
    E log|1 + rate·dt + ζ√dt Z| / dt, Z ~ N(0, 1). It tends to rate − ζ²/2 as dt → 0; the
    difference is the scheme's O(dt) bias, which grows like ζ⁴dt."""
    rate, zeta = as_array(rate, "rate", nonempty=True), positive(zeta, "zeta", nonempty=True)
    dt = positive(dt, "dt", nonempty=True)
    _broadcast(rate=rate, zeta=zeta, dt=dt)
    b = zeta * np.sqrt(dt)
    return (np.log(b) + expected_log_abs_normal((1 + rate * dt) / b)) / dt
