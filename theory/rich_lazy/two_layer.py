"""Two-layer piecewise-linear (ReLU) networks: per-neuron imbalance, teacher-student, phase diagram.

Kunin et al. (2024), Sec. 5 (Eqs. 9–10) and Fig. 1. The student is f(x) = Σ_i a_i σ(w_iᵀx) with σ = ReLU,
trained by full-batch gradient descent on L = (1/2n) Σ_k (f(x_k) − y_k)² with layer learning
rates η_a (readout) and η_w (first layer):

    ẇ_i = −η_w a_i ∂L/∂(a_iw_i),   ȧ_i = −η_a w_iᵀ ∂L/∂(a_iw_i)   (σ positively homogeneous),

so every neuron keeps its own imbalance δ_i = η_w a_i² − η_a‖w_i‖² under gradient flow; gradient
descent with step ``lr`` changes it by O(lr²) a step. The paper's Fig. 1 sets the initialisation
by a scale τ and an imbalance δ: every neuron starts with |a_i|·‖w_i‖ = τ² and δ_i = δ, in ± pairs
of equal w_i and opposite a_i so that f ≡ 0 at initialisation.

Everything is batched: the weights of B runs (grid points × seeds) are one tensor, and one step
of all of them is a handful of ``bmm`` calls (:func:`theory.core.train_batched` with exact
gradients). The loss here is half the mean squared error; the paper's code descends the mean
squared error itself, i.e. its learning rate is half of ``lr``. The page's experiments are
:func:`fig1a_experiment` (Fig. 1a) and :func:`phase_diagram` (Fig. 1b). Piecewise-linear
networks are the paper's Sec. 5 (Eqs. 9–10); Fig. 1's settings are its App. D.1.
Book page: ``book/rich_lazy/two_layer_relu``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch

from theory.core import (DivergenceError, Result, Sweep, array_bytes, as_array, check_bool,
                         check_memory, check_scalar, check_seeds,
                         first_crossing, non_negative, positive, record_steps, resolve_device,
                         resolve_dtype, train_batched)

__all__ = [
    "FIG1A_RUNS",
    "Fig1a",
    "PhaseDiagram",
    "TeacherStudent",
    "fig1a_experiment",
    "init_scales",
    "kernel_distance_batched",
    "linearised_descent",
    "neuron_imbalance",
    "paper_alpha",
    "phase_diagram",
    "relu_descent",
    "relu_ntk_gram",
    "relu_student_init",
    "sphere_points",
    "tau_rich",
    "teacher_student",
]


_CPU_KERNEL = True
"""Whether :func:`relu_descent` runs float64 on the CPU through :func:`_descent_cpu` (else the
batched torch path of :func:`theory.core.train_batched`, kept for other devices and dtypes; the
tests compare the two)."""


def _tensor(x, device, dtype):
    return torch.as_tensor(np.asarray(x), dtype=dtype, device=device)


def paper_alpha(tau, delta) -> np.ndarray:
    """The paper's relative scale α > 0 of Fig. 1 (caption): δ = τ²(α² − α⁻²), i.e.
    α² = (δ/τ² + √((δ/τ²)² + 4))/2, evaluated without cancellation for either sign of δ.

    The student then starts at w_i ~ Unif(S^{d−1}(τ/α)) and a_i = ±ατ (Fig. 1 caption), so α > 1
    is upstream (δ > 0) and α < 1 downstream. Until issue 12 the book used α_b = 1/α (‖w‖ = τα_b,
    |a| = τ/α_b), which is also the official code's ``get_alpha``; App. D.1's "δ² = τ²(α² − α⁻²)"
    is a typo for the caption's δ (the sweep takes δ of both signs).
    """
    tau = positive(tau, "tau", nonempty=True)
    delta = as_array(delta, "delta")
    _broadcast(tau=tau, delta=delta)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        r = delta / tau**2
        root = np.sqrt(r**2 + 4.0)
        big = (np.abs(r) + root) / 2.0                     # α² if r ≥ 0, else 1/α²
        alpha = np.sqrt(np.where(r >= 0, big, 1.0 / big))
    far = ~((tau > 1e-140) & (np.abs(r) < 1e150))         # r or r² out of float range
    if np.any(far):
        alpha = np.where(far, _paper_alpha_log(tau, delta), alpha)
    return alpha


def _paper_alpha_log(tau, delta):
    """:func:`paper_alpha` through log|r| = log|δ| − 2 log τ, for δ/τ² or its square out of the
    float range (there α² = |r|·(1 + √(1 + 4/r²))/2 = |r| to float precision when |r| > 1e100)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        log_r = np.log(np.abs(delta)) - 2.0 * np.log(tau)
        r_mid = np.exp(np.minimum(log_r, 300.0))
        log_big = np.where(log_r > np.log(1e100), log_r,
                           np.log((r_mid + np.sqrt(r_mid**2 + 4.0)) / 2.0))
        out = np.exp(np.where(delta >= 0, 0.5, -0.5) * log_big)
    return np.where(delta == 0, 1.0, out)


def _broadcast(**arrays):
    """The common shape of the named arrays, or a ValueError naming them."""
    try:
        return np.broadcast_shapes(*(np.shape(v) for v in arrays.values()))
    except ValueError:
        raise ValueError(" and ".join(f"{k} {np.shape(v)}" for k, v in arrays.items())
                         + " do not broadcast to one shape") from None


def init_scales(tau, delta, eta_a=1.0, eta_w=1.0) -> tuple[np.ndarray, np.ndarray]:
    """(‖w₀‖, |a₀|) of a neuron with |a₀|‖w₀‖ = τ² and η_w a₀² − η_a‖w₀‖² = δ (paper, Fig. 1).

    η_w a₀² = (δ + √(δ² + 4η_aη_wτ⁴))/2, evaluated without cancellation for either sign of δ.
    With η_a = η_w = 1 this is the paper's ‖w₀‖ = τ/α, |a₀| = ατ with δ = τ²(α² − α⁻²)
    (Fig. 1 caption; :func:`paper_alpha`).
    """
    tau = positive(tau, "tau", nonempty=True)
    delta = as_array(delta, "delta")
    _broadcast(tau=tau, delta=delta)
    eta_a = check_scalar(eta_a, "eta_a", min=0.0, include_min=False)
    eta_w = check_scalar(eta_w, "eta_w", min=0.0, include_min=False)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        prod = 4.0 * eta_a * eta_w * tau**4
        root = np.sqrt(delta**2 + prod)
        big = (np.abs(delta) + root) / 2.0
        small = prod / (4.0 * big)
        u = np.where(delta >= 0, big, small)              # η_w a₀²
        a_abs = np.sqrt(u / eta_w)
        w_norm = tau**2 / a_abs
    # outside these the squares and fourth powers leave the float range: the same in logs
    far = ~((tau > 1e-60) & (tau < 1e60) & (np.abs(delta) < 1e120)
            & (1e-100 < eta_a * eta_w) & (eta_a * eta_w < 1e100))
    if np.any(far):
        w_log, a_log = _init_scales_log(tau, delta, eta_a, eta_w)
        w_norm, a_abs = np.where(far, w_log, w_norm), np.where(far, a_log, a_abs)
    return w_norm, a_abs


def _init_scales_log(tau, delta, eta_a, eta_w):
    """:func:`init_scales` in log space: with c = 2√(η_aη_w)τ² and m = max(|δ|, c),
    η_w a₀² = m(δ/m + hypot(δ/m, c/m))/2 for δ ≥ 0 and c²/(2m(|δ|/m + hypot)) for δ < 0, so no
    square or fourth power leaves the float range."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        log_c = np.log(2.0) + 0.5 * (np.log(eta_a) + np.log(eta_w)) + 2.0 * np.log(tau)
        log_d = np.log(np.abs(delta))
        log_m = np.maximum(log_c, log_d)
        d_m, c_m = np.exp(log_d - log_m), np.exp(log_c - log_m)
        log_big = log_m + np.log((d_m + np.hypot(d_m, c_m)) / 2.0)      # (|δ| + √(δ² + c²))/2
        log_u = np.where(delta >= 0, log_big, 2.0 * log_c - np.log(4.0) - log_big)
        log_a = 0.5 * (log_u - np.log(eta_w))
        return np.exp(2.0 * np.log(tau) - log_a), np.exp(log_a)


def sphere_points(n: int, d: int, generator: torch.Generator, *, dtype=torch.float64) -> torch.Tensor:
    """n points drawn uniformly on the unit sphere of ℝᵈ (normalised Gaussians), on the CPU."""
    n = check_scalar(n, "n", kind="int", min=1)
    d = check_scalar(d, "d", kind="int", min=1)
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    dtype = resolve_dtype(dtype)
    check_memory(2 * array_bytes(n, d), f"{n} points on the sphere of R^{d}")
    x = torch.randn(n, d, generator=generator, dtype=dtype)
    return x / x.norm(dim=1, keepdim=True)


@dataclass(frozen=True)
class TeacherStudent:
    """Data of one teacher per seed (float64 numpy). Shapes: X (S, n, d), y (S, n),
    X_test (S, n_test, d), y_test (S, n_test), teacher_W (S, m0, d), teacher_a (S, m0)."""

    X: np.ndarray
    y: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    teacher_W: np.ndarray
    teacher_a: np.ndarray
    seeds: np.ndarray


def teacher_student(d: int, n: int, seeds, *, n_test: int = 1000, m0: int = 3) -> TeacherStudent:
    """The paper's Fig. 1 task: a ReLU teacher with m0 unit-norm first-layer vectors and ±1
    readouts, n training and n_test test inputs uniform on the unit sphere, one set per seed."""
    d, n = check_scalar(d, "d", kind="int", min=1), check_scalar(n, "n", kind="int", min=1)
    n_test = check_scalar(n_test, "n_test", kind="int", min=1)
    m0 = check_scalar(m0, "m0", kind="int", min=1)
    seeds = check_seeds(seeds, "seeds")
    check_memory(3 * array_bytes(seeds.size, n + n_test + m0, d),
                 f"{seeds.size} teacher-student sets of {n} + {n_test} points in R^{d}")
    out = {k: [] for k in ("X", "y", "X_test", "y_test", "W", "a")}
    for s in seeds:
        g = torch.Generator().manual_seed(int(s))           # s: checked by check_seeds
        W = sphere_points(m0, d, g)
        a = torch.sign(torch.randn(m0, generator=g, dtype=torch.float64))
        X, Xt = sphere_points(n, d, g), sphere_points(n_test, d, g)
        out["X"].append(X)
        out["X_test"].append(Xt)
        out["y"].append(torch.relu(X @ W.T) @ a)
        out["y_test"].append(torch.relu(Xt @ W.T) @ a)
        out["W"].append(W)
        out["a"].append(a)
    st = {k: torch.stack(v).numpy() for k, v in out.items()}
    return TeacherStudent(X=st["X"], y=st["y"], X_test=st["X_test"], y_test=st["y_test"],
                          teacher_W=st["W"], teacher_a=st["a"], seeds=seeds.copy())


def relu_student_init(tau, delta, m: int, d: int, seeds, eta_a=1.0, eta_w=1.0,
                      *, symmetric: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Initial (a₀ (B, m), W₀ (B, m, d)) for B runs, broadcasting tau, delta and seeds to (B,).

    Neuron directions are uniform on the sphere and readout signs ±1, drawn from the run's seed
    (runs that share a seed share them, so a grid over (τ, δ) varies the scales alone); norms
    from :func:`init_scales`. ``symmetric``: neurons m/2..m−1 copy w of neurons 0..m/2−1 with
    the opposite a, so that f ≡ 0 at initialisation (the paper's code does this).
    """
    m, d = check_scalar(m, "m", kind="int", min=1), check_scalar(d, "d", kind="int", min=1)
    if symmetric and m % 2:
        raise ValueError(f"m must be even when symmetric=True, got {m}")
    symmetric = check_bool(symmetric, "symmetric")
    tau = np.atleast_1d(positive(tau, "tau", nonempty=True))
    delta = np.atleast_1d(as_array(delta, "delta", nonempty=True))
    seeds = check_seeds(seeds, "seeds")
    eta_a = check_scalar(eta_a, "eta_a", min=0.0, include_min=False)
    eta_w = check_scalar(eta_w, "eta_w", min=0.0, include_min=False)
    try:
        B = np.broadcast_shapes(tau.shape, delta.shape, seeds.shape)
    except ValueError:
        raise ValueError(f"tau {tau.shape}, delta {delta.shape} and seeds {seeds.shape} "
                         f"must broadcast to one batch shape") from None
    if len(B) != 1:
        raise ValueError("tau, delta and seeds must be scalars or 1-D")
    tau, delta, seeds = (np.broadcast_to(x, B) for x in (tau, delta, seeds))
    check_memory(3 * array_bytes(B[0], m, d), f"{B[0]} students of {m} neurons in R^{d}")
    w_norm, a_abs = init_scales(tau, delta, eta_a, eta_w)
    dirs, signs = {}, {}
    half = m // 2 if symmetric else m
    for s in np.unique(seeds):
        g = torch.Generator().manual_seed(int(s))
        u = sphere_points(half, d, g).numpy()
        sg = torch.sign(torch.randn(half, generator=g, dtype=torch.float64)).numpy()
        if symmetric:
            u, sg = np.concatenate([u, u]), np.concatenate([sg, -sg])
        dirs[s], signs[s] = u, sg
    U = np.stack([dirs[s] for s in seeds])
    S = np.stack([signs[s] for s in seeds])
    return S * a_abs[:, None], U * w_norm[:, None, None]


def neuron_imbalance(a, W, eta_a=1.0, eta_w=1.0) -> np.ndarray:
    """δ_i = η_w a_i² − η_a‖w_i‖² for every neuron: a (..., m), W (..., m, d) → (..., m)."""
    a = as_array(a, "a", min_ndim=1)
    W = as_array(W, "W", min_ndim=2)
    if W.shape[:-1] != a.shape:
        raise ValueError(f"W must have shape a.shape + (d,) = {a.shape} + (d,), got {W.shape}")
    eta_a = check_scalar(eta_a, "eta_a", min=0.0, include_min=False)
    eta_w = check_scalar(eta_w, "eta_w", min=0.0, include_min=False)
    return eta_w * a**2 - eta_a * np.sum(W**2, axis=-1)


def _gram(X, a, W, eta_a, eta_w):
    """Batched NTK Gram: η_a ΦΦᵀ + η_w (D diag(a²) Dᵀ) ⊙ XXᵀ, Φ = σ(XWᵀ), D = 1[XWᵀ > 0]."""
    pre = X @ W.transpose(-1, -2)
    phi = torch.relu(pre)
    act = (pre > 0).to(X.dtype)
    K = eta_a[:, None, None] * (phi @ phi.transpose(-1, -2))
    K = K + eta_w[:, None, None] * ((act * a[:, None, :] ** 2) @ act.transpose(-1, -2)) \
        * (X @ X.transpose(-1, -2))
    return K


def relu_ntk_gram(X, a, W, eta_a=1.0, eta_w=1.0) -> np.ndarray:
    """The neural tangent kernel Σ_θ η_θ ∂f(x)/∂θ ∂f(x')/∂θ on the rows of X.

    K(x, x') = η_a Σ_i σ(w_iᵀx)σ(w_iᵀx') + η_w Σ_i a_i² 1[w_iᵀx > 0]1[w_iᵀx' > 0] xᵀx'.
    X (n, d) or (B, n, d), a (B, m), W (B, m, d) → (B, n, n).
    """
    a = np.atleast_2d(as_array(a, "a", ndim=(1, 2)))
    W = as_array(W, "W", ndim=(2, 3))
    W = W[None] if W.ndim == 2 else W
    X = as_array(X, "X", ndim=(2, 3))
    if W.shape[:2] != a.shape or X.shape[-1] != W.shape[-1]:
        raise ValueError(f"need a (B, m), W (B, m, d), X (.., n, d); got {a.shape}, {W.shape}, {X.shape}")
    if X.shape[-2] == 0:
        raise ValueError(f"X must hold at least one input, got shape {X.shape}")
    B = a.shape[0]
    if X.ndim == 3 and X.shape[0] not in (1, B):
        raise ValueError(f"X (B, n, d) must have B = {B} (the runs of a), got shape {X.shape}")

    def per_run(v, name):
        v = np.atleast_1d(positive(v, name, ndim=(0, 1)))
        if v.shape not in ((1,), (B,)):
            raise ValueError(f"{name} must be a number or have shape (B,) = ({B},), got {v.shape}")
        return np.broadcast_to(v, (B,))

    eta_a, eta_w = per_run(eta_a, "eta_a"), per_run(eta_w, "eta_w")
    t = lambda x: torch.tensor(np.array(x), dtype=torch.float64)  # noqa: E731
    Xt = t(np.broadcast_to(X, (B,) + X.shape[-2:]))
    return _gram(Xt, t(a), t(W), t(eta_a), t(eta_w)).numpy()


def _kdist(K0, K):
    num = (K0 * K).sum((-1, -2))
    return 1.0 - num / (K0.norm(dim=(-1, -2)) * K.norm(dim=(-1, -2)))


def kernel_distance_batched(K0, K) -> np.ndarray:
    """S = 1 − ⟨K₀, K⟩_F / (‖K₀‖_F‖K‖_F) over the last two axes (paper, Sec. 2 and Fig. 1b).

    K0 (..., n, n) and K (..., n, n) must have the same last two axes and batch shapes that
    broadcast. S is undefined for a zero kernel (0/0), which raises a ``ValueError``; S is
    invariant under K → cK for c > 0 and S(K, K) = 0.
    """
    K0, K = as_array(K0, "K0", min_ndim=2), as_array(K, "K", min_ndim=2)
    if K0.shape[-2:] != K.shape[-2:]:
        raise ValueError(f"K0 and K must have the same last two axes (n, n), got K0 {K0.shape} "
                         f"and K {K.shape}")
    try:
        np.broadcast_shapes(K0.shape[:-2], K.shape[:-2])
    except ValueError:
        raise ValueError(f"the batch shapes of K0 {K0.shape} and K {K.shape} do not "
                         f"broadcast") from None
    for name, M in (("K0", K0), ("K", K)):
        if np.any(np.all(M == 0, axis=(-1, -2))):
            raise ValueError(f"{name} contains a zero kernel (shape {M.shape}): the kernel "
                             f"distance of a zero kernel is undefined")
    return _kdist(torch.as_tensor(K0), torch.as_tensor(K)).numpy()


def _layout(X, y, a0, W0, name):
    """Shapes (S, n, d), (S, n), (S, G, m), (S, G, m, d) from the accepted layouts."""
    a0 = as_array(a0, "a0", ndim=(1, 2, 3))
    a0 = a0[None] if a0.ndim == 1 else a0
    W0 = as_array(W0, "W0", ndim=(2, 3, 4))
    W0 = W0[None] if W0.ndim == 2 else W0
    if W0.shape[:-1] != a0.shape:
        raise ValueError(f"W0 must have shape a0.shape + (d,) = {a0.shape} + (d,), got {W0.shape}")
    X = as_array(X, name[0], ndim=(2, 3))
    y = as_array(y, name[1], ndim=(1, 2))
    d = W0.shape[-1]
    if X.shape[-1] != d or y.shape[-1] != X.shape[-2] or X.ndim - 1 != y.ndim:
        raise ValueError(f"{name[0]} must be (n, {d}) or (S, n, {d}) (d = {d} from W0 {W0.shape}) "
                         f"and {name[1]} (n,) or (S, n); got {X.shape} and {y.shape}")
    if X.ndim == 2:
        X, y = X[None], y[None]
    if a0.ndim == 3:
        if a0.shape[0] != X.shape[0]:
            raise ValueError(f"a0 (S, G, m) needs S = {X.shape[0]} data sets, got {a0.shape}")
        return X, y, a0, W0
    B = a0.shape[0]
    if X.shape[0] == 1:                       # one data set shared by all B runs: S = 1, G = B
        return X, y, a0[None], W0[None]
    if X.shape[0] != B:
        raise ValueError(f"{name[0]} has {X.shape[0]} data sets but a0 has {B} runs")
    return X, y, a0[:, None], W0[:, None]     # one data set per run: S = B, G = 1


def relu_descent(X, y, a0, W0, *, lr, steps: int, record=None, eta_a=1.0, eta_w=1.0,
                 X_test=None, y_test=None, keep_weights: bool = True, device=None,
                 dtype=None, progress: bool = False, sweep: Sweep | None = None) -> Result:
    """Full-batch gradient descent of many students f(x) = Σ_i a_i σ(w_iᵀx) at once (paper, Fig. 1).

    Each step: r = f(X) − y, a ← a − lr η_a Φᵀr/n, w_i ← w_i − lr η_w a_i Σ_k r_k 1[w_iᵀx_k > 0] x_k/n,
    i.e. descent on L = (1/2n)‖r‖² (:func:`theory.core.train_batched` with these exact gradients)
    with per-run ``lr``, ``eta_a``, ``eta_w`` (scalars or arrays of the batch shape).

    Layouts: a0 (B, m), W0 (B, m, d) with X (n, d), y (n,) shared by all runs or X (B, n, d),
    y (B, n) one per run; or a0 (S, G, m), W0 (S, G, m, d) with X (S, n, d), y (S, n): S data sets
    (seeds), G runs on each (grid points), flattened data set first (run s·G + g). Every run is
    its own slice of one batched matrix product, so it trains bit for bit the same alone and in
    any batch. On the CPU in float64 the runs are trained one after another, each in place with
    its (m, n) intermediates in cache (:func:`_descent_cpu`), and the kernel distance comes from
    the NTK Gram identity of :func:`relu_ntk_gram` with K₀ kept; other devices and dtypes take
    the batched torch path. X_test, y_test likewise. ``record``: the steps recorded (default 0 and ``steps``).

    Returns a :class:`theory.core.Result` over the flattened runs (``sweep`` labels it, if given):
    metrics (runs, T, ...) ``train_loss`` (½-MSE), ``test_loss`` (MSE on the test set, with test
    data), ``kernel_distance`` of the training-set NTK from step 0, ``delta_drift``
    max_i |δ_i(step) − δ_i(0)|, ``hamming_distance`` the fraction of the n·m activation entries
    c_ik = 1[w_iᵀx_k > 0] on the training inputs that differ from step 0 (the official code's
    Hamming distance, which sums the per-neuron fractions, is m times it), ``param_distance``
    ‖θ − θ₀‖ over all of (a, W) (the official code's parameter distance) and
    ``relative_param_distance`` ‖θ − θ₀‖/‖θ₀‖ (paper, Fig. 5b), and with ``keep_weights`` ``a`` (runs, T, m) and ``W``
    (runs, T, m, d); ``meta`` holds the per-run ``lr``, ``eta_a``, ``eta_w``.

    A run whose residual turns non-finite (a step size beyond the stable range) raises a
    :class:`theory.core.DivergenceError` naming the run and the record step by which it diverged
    (checked at every record and at the end, never inside the step loop).
    """
    keep_weights = check_bool(keep_weights, "keep_weights")
    progress = check_bool(progress, "progress")
    shape_in = np.shape(a0)[:-1]
    X, y, a0, W0 = _layout(X, y, a0, W0, ("X", "y"))
    S, G, m, d = W0.shape
    n, B = X.shape[1], S * G
    has_test = X_test is not None or y_test is not None
    if has_test:
        X_test, y_test, _, _ = _layout(X_test, y_test, a0, W0, ("X_test", "y_test"))
        if X_test.shape[0] != S:
            X_test = np.broadcast_to(X_test, (S,) + X_test.shape[1:])
            y_test = np.broadcast_to(y_test, (S,) + y_test.shape[1:])
    steps = check_scalar(steps, "steps", kind="int", min=1)
    try:
        rec = record_steps(steps, at=[] if record is None else record)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"record must be integer steps in [0, steps={steps}]: {exc}") from None
    if sweep is not None and (not isinstance(sweep, Sweep) or len(sweep) != B):
        raise ValueError(f"sweep must be a Sweep of the {B} runs, got {sweep!r}")

    def per_run(v, name):
        v = positive(v, name)
        try:
            return np.broadcast_to(np.reshape(v, np.shape(v)), shape_in).reshape(B).copy()
        except ValueError:
            raise ValueError(f"{name} must be a scalar or have the batch shape {shape_in}, "
                             f"got {np.shape(v)}") from None

    lr, eta_a, eta_w = per_run(lr, "lr"), per_run(eta_a, "eta_a"), per_run(eta_w, "eta_w")
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    T_rec = len(rec)
    check_memory(array_bytes(B, n, d) * (S > 1) + array_bytes(B, T_rec, m, d + 1) * keep_weights
                 + array_bytes(B, T_rec, 8) + 4 * array_bytes(B, m, d + 1),
                 f"{B} students of {m} neurons on {n} inputs in R^{d}, {T_rec} records",
                 hint="record fewer steps or pass keep_weights=False")

    def T(x):
        return torch.tensor(np.array(x), dtype=dtype, device=device)

    data = np.repeat(np.arange(S), G)                          # the data set of each run
    Xs = T(X)
    Xb = Xs.expand(B, n, d) if S == 1 else Xs[torch.as_tensor(data, device=device)]
    yb = T(y)[torch.as_tensor(data, device=device)]            # (B, n)
    if has_test:
        Xts, yts = T(X_test), T(y_test)
    ea, ew = T(eta_a), T(eta_w)
    a_init, W_init = T(a0.reshape(B, m)), T(W0.reshape(B, m, d))
    delta0 = ew[:, None] * a_init**2 - ea[:, None] * (W_init**2).sum(-1)
    chunk = max(1, int(2**24 // (n * n)))             # runs per Gram batch: ≤ 16M entries (128 MiB)

    def forward(Xd, W, a):
        pre = torch.bmm(Xd, W.transpose(1, 2))                            # (B, n, m)
        act = torch.relu(pre)
        return pre, act, (act * a[:, None, :]).sum(-1)                     # f (B, n)

    def grad_fn(P, step):
        a, W = P["a"], P["W"]
        pre, act, f = forward(Xb, W, a)
        r = f - yb                                                        # (B, n)
        grad_a = (act * r[..., None]).sum(1)                              # Φᵀr, (B, m)
        back = (pre > 0).to(dtype) * r[..., None]                         # (B, n, m)
        grad_w = torch.bmm(back.transpose(1, 2), Xb) * a[..., None]       # (B, m, d)
        return {"a": (ea / n)[:, None] * grad_a, "W": (ew / n)[:, None, None] * grad_w}

    def kernel_distance_now(a, W):
        """S of every run against its step-0 NTK, in chunks of runs (K₀ is recomputed, not stored)."""
        out = torch.empty(B, dtype=dtype, device=device)
        for g0 in range(0, B, chunk):
            sl = slice(g0, min(B, g0 + chunk))
            K_0 = _gram(Xb[sl], a_init[sl], W_init[sl], ea[sl], ew[sl])
            out[sl] = _kdist(K_0, _gram(Xb[sl], a[sl], W[sl], ea[sl], ew[sl]))
        return out

    norm0_sq = (a_init**2).sum(-1) + (W_init**2).sum((-1, -2))

    def hamming_now(W):
        """Fraction of the n·m activation entries 1[w_iᵀx_k > 0] that differ from step 0."""
        out = torch.empty(B, dtype=dtype, device=device)
        step_ = max(1, int(2**24 // (n * m)))
        for g0 in range(0, B, step_):
            sl = slice(g0, min(B, g0 + step_))
            now = torch.bmm(Xb[sl], W[sl].transpose(1, 2)) > 0
            start = torch.bmm(Xb[sl], W_init[sl].transpose(1, 2)) > 0
            out[sl] = (now != start).to(dtype).mean((1, 2))
        return out

    def metrics(P, step):
        a, W = P["a"], P["W"]
        r = forward(Xb, W, a)[2] - yb
        if not bool(torch.isfinite(r).all()):
            _diverged(int(torch.nonzero(~torch.isfinite(r).all(1))[0, 0]), step, lr)
        delta = ew[:, None] * a**2 - ea[:, None] * (W**2).sum(-1)
        moved = ((a - a_init) ** 2).sum(-1) + ((W - W_init) ** 2).sum((-1, -2))
        out = {"train_loss": 0.5 * (r * r).mean(1), "kernel_distance": kernel_distance_now(a, W),
               "delta_drift": (delta - delta0).abs().amax(-1),
               "hamming_distance": hamming_now(W), "param_distance": moved.sqrt(),
               "relative_param_distance": (moved / norm0_sq).sqrt()}
        if has_test:
            test = torch.empty(B, dtype=dtype, device=device)
            for s_ in range(S):                        # one data set at a time: no copies of X_test
                sl = slice(s_ * G, (s_ + 1) * G)
                ft = forward(Xts[s_].expand(G, *Xts.shape[1:]), W[sl], a[sl])[2]
                test[sl] = ((ft - yts[s_]) ** 2).mean(1)
            out["test_loss"] = test
        if keep_weights:
            out["a"], out["W"] = a, W
        return out

    if _CPU_KERNEL and device.type == "cpu" and dtype == torch.float64:
        with np.errstate(over="ignore", invalid="ignore"):    # divergence: checked at records
            res = _descent_cpu(Xs.numpy(), data, yb.numpy(), a_init.numpy(), W_init.numpy(), lr,
                               eta_a, eta_w, steps, rec,
                               (Xts.numpy(), yts.numpy(), G) if has_test else None,
                               keep_weights, progress)
        res.meta.update(lr=lr, eta_a=eta_a, eta_w=eta_w, batch_shape=tuple(shape_in))
        return res.with_sweep(sweep) if sweep is not None else res
    res = train_batched({"a": a_init, "W": W_init}, steps=steps, lr=lr, grad_fn=grad_fn,
                        record=rec, metrics=metrics,
                        progress=f"{B} students, batched" if progress else False)
    res.meta.update(lr=lr, eta_a=eta_a, eta_w=eta_w, batch_shape=tuple(shape_in))
    return res.with_sweep(sweep) if sweep is not None else res


def _gram_np(X, XXt, a, W, eta_a, eta_w):
    """One student's NTK Gram (n, n) from the Gram identity
    K = η_a ΦΦᵀ + η_w (D diag(a²) Dᵀ) ⊙ XXᵀ, Φ = σ(XWᵀ), D = 1[XWᵀ > 0] (no Jacobians)."""
    pre = X @ W.T
    phi = np.maximum(pre, 0.0)
    phi *= np.sqrt(eta_a)
    A = (pre > 0) * (np.sqrt(eta_w) * np.abs(a))           # √η_w D diag(|a|), (n, m)
    K = A @ A.T                                            # symmetric products (syrk)
    K *= XXt
    K += phi @ phi.T
    return K


def _descent_cpu(Xs, data, yb, a_init, W_init, lr, eta_a, eta_w, steps, rec, test, keep_weights,
                 progress):
    """The CPU kernel of :func:`relu_descent` (arguments validated there): one student at a time,
    all steps in place, so each student's (n, m) intermediates stay in cache whatever the batch
    size, and every student trains bit for bit the same alone and in any batch. The update is
    that of :func:`relu_descent` (½-MSE, Sec. 5). Its records: the NTK Gram from the identity of
    :func:`relu_ntk_gram` (:func:`_gram_np`), with the student's K₀ and XXᵀ kept while it trains."""
    B, m, d = W_init.shape
    n = Xs.shape[1]
    rec_list = [int(s) for s in rec]
    rec_set = set(rec_list)
    T = len(rec_list)
    names = ["train_loss", "kernel_distance", "delta_drift", "hamming_distance", "param_distance",
             "relative_param_distance"] + (["test_loss"] if test is not None else [])
    out = {k: np.empty((B, T)) for k in names}
    if keep_weights:
        out["a"], out["W"] = np.empty((B, T, m)), np.empty((B, T, m, d))
    pre = np.empty((m, n))                                 # (m, n): rows are neurons
    phi = np.empty((m, n))
    mask = np.empty((m, n), dtype=bool)
    gW = np.empty((m, d))
    t_pre, t_phi, t_gW = torch.from_numpy(pre), torch.from_numpy(phi), torch.from_numpy(gW)
    gram_cache = {}
    a_end, W_end = np.empty((B, m)), np.empty((B, m, d))
    bar = _progress_students(B, progress)
    for b in bar:
        X, y = Xs[data[b]], yb[b]
        if data[b] not in gram_cache:                      # XXᵀ once per data set
            gram_cache.clear()
            gram_cache[data[b]] = (X @ X.T, np.ascontiguousarray(X.T))
        XXt, XT = gram_cache[data[b]]
        a, W = a_init[b].copy(), W_init[b].copy()
        # the two GEMMs of a step through torch's BLAS (MKL: ≈ 1.4× numpy's OpenBLAS at these
        # narrow shapes), on tensors that share memory with the numpy arrays updated in place
        tW, tXT, tX = torch.from_numpy(W), torch.from_numpy(XT), torch.from_numpy(X)
        ea, ew = float(eta_a[b]), float(eta_w[b])
        ca, cw = float(lr[b]) * ea / n, float(lr[b]) * ew / n
        delta0 = ew * a**2 - ea * (W**2).sum(-1)
        norm0_sq = (a**2).sum() + (W**2).sum()
        start = W @ XT > 0
        K0 = _gram_np(X, XXt, a, W, ea, ew)
        K0_norm = np.sqrt(np.vdot(K0, K0))
        a0c, W0c = a.copy(), W.copy()
        j = 0
        for step in range(steps + 1):
            torch.mm(tW, tXT, out=t_pre)                   # W Xᵀ, (m, n)
            torch.clamp_min(t_pre, 0.0, out=t_phi)         # φ = relu(W Xᵀ)
            r = a @ phi                                    # r = f − y, (n,)
            r -= y
            if step in rec_set:
                loss = 0.5 * np.mean(r * r)
                if not math.isfinite(loss):                # the one check: at records only
                    _diverged(b, step, lr)
                out["train_loss"][b, j] = loss
                if step == 0:
                    out["kernel_distance"][b, j] = 1.0 - np.vdot(K0, K0) / (K0_norm * K0_norm)
                else:
                    K = _gram_np(X, XXt, a, W, ea, ew)
                    out["kernel_distance"][b, j] = 1.0 - np.vdot(K0, K) / (K0_norm * np.sqrt(np.vdot(K, K)))
                delta = ew * a**2 - ea * (W**2).sum(-1)
                out["delta_drift"][b, j] = np.abs(delta - delta0).max()
                np.greater(pre, 0.0, out=mask)
                out["hamming_distance"][b, j] = np.mean(mask != start)
                moved = ((a - a0c) ** 2).sum() + ((W - W0c) ** 2).sum()
                out["param_distance"][b, j] = np.sqrt(moved)
                out["relative_param_distance"][b, j] = np.sqrt(moved / norm0_sq)
                if test is not None:
                    Xts, yts, G = test
                    ft = np.maximum(Xts[b // G] @ W.T, 0.0) @ a
                    out["test_loss"][b, j] = np.mean((ft - yts[b // G]) ** 2)
                if keep_weights:
                    out["a"][b, j], out["W"][b, j] = a, W
                j += 1
            if step == steps:
                break
            ga = phi @ r                                   # Φᵀr, (m,)
            torch.gt(t_pre, 0.0, out=t_pre)                # 1[w_iᵀx_k > 0] in place (torch's
            t_pre.mul_(torch.from_numpy(r))                # compare and multiply: ≈ 0.6× numpy's)
            torch.mm(t_pre, tX, out=t_gW)                  # Σ_k r_k 1[w_iᵀx_k > 0] x_k, (m, d)
            gW *= (cw * a)[:, None]
            W -= gW
            ga *= ca
            a -= ga
        if not (np.isfinite(a).all() and np.isfinite(W).all()):
            _diverged(b, steps, lr)
        a_end[b], W_end[b] = a, W
    return Result(steps=np.asarray(rec_list), metrics=out, params={"a": a_end, "W": W_end},
                  meta={"optimizer": "sgd", "steps": steps, "configurations": B})


def _diverged(b, step, lr):
    """Raise the :class:`DivergenceError` of :func:`relu_descent` for run ``b`` at ``step``."""
    raise DivergenceError(f"gradient descent of the ReLU students (relu_descent) diverged by step "
                          f"{step} in run {b} (lr = {float(lr[b]):g}): its residual or weights are "
                          f"no longer finite (NaN or inf); reduce the learning rate lr",
                          step=step, what="relu_descent")


def _progress_students(B, progress):
    if not progress:
        return range(B)
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return range(B)
    return tqdm(range(B), desc=f"{B} students, one at a time")


def linearised_descent(K0, r0, *, lr: float, n: int, steps, K_test=None, f0_test=None):
    """Exact gradient descent of the model linearised at initialisation (the lazy limit).

    With f_lin(θ) = f(θ₀) + ∇f(θ₀)(θ − θ₀) and the same loss and step, the training residual
    obeys r_k = (I − lr K₀/n)^k r₀, and the prediction at other inputs is
    f_k(x) = f₀(x) − K₀(x, X) Σ_j v_j [1 − (1 − lr λ_j/n)^k]/λ_j v_jᵀr₀ (K₀ = Σ_j λ_j v_jv_jᵀ).
    K0 (n, n), r0 (n,), steps (T,); K_test (n_test, n), f0_test (n_test,).
    Returns residuals (T, n) and, with K_test, test predictions (T, n_test).
    """
    K0 = as_array(K0, "K0", ndim=2)
    r0 = as_array(r0, "r0", ndim=1)
    if K0.shape != (r0.size, r0.size):
        raise ValueError(f"K0 must be (n, n) with n = r0.size = {r0.size}, got {K0.shape}")
    lr = check_scalar(lr, "lr", min=0.0, include_min=False)
    n = check_scalar(n, "n", kind="int", min=1)
    steps = np.atleast_1d(non_negative(steps, "steps", ndim=(0, 1)))
    if K_test is not None or f0_test is not None:
        if K_test is None or f0_test is None:
            raise ValueError("give both K_test and f0_test (the test predictions need both)")
        K_test = as_array(K_test, "K_test", ndim=2)
        f0_test = as_array(f0_test, "f0_test", ndim=1)
        if K_test.shape != (f0_test.size, r0.size):
            raise ValueError(f"K_test must be (n_test, n) = ({f0_test.size}, {r0.size}) for "
                             f"f0_test ({f0_test.size},) and r0 ({r0.size},), got {K_test.shape}")
    lam, V = np.linalg.eigh(0.5 * (K0 + K0.T))
    lam = np.maximum(lam, 0.0)
    rate = lr * lam / n
    if np.any(rate >= 2.0):
        raise ValueError(f"lr = {lr:g} is unstable for the linearised model: lr·λ_max/n = "
                         f"{rate.max():.3g} ≥ 2")
    base = 1.0 - rate                                      # in (−1, 1]
    k = steps[:, None]
    with np.errstate(divide="ignore"):
        log_abs = np.log(np.abs(base))[None, :]
    parity = np.where((base[None, :] < 0) & (np.mod(k, 2) == 1), -1.0, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        decay = parity * np.where(k > 0, np.exp(k * log_abs), 1.0)      # (1 − lr λ/n)^k, (T, n)
        # 1 − (1 − lr λ/n)^k, without cancellation where lr λ/n is small
        one_minus = np.where(base[None, :] > 0, -np.expm1(k * np.log1p(-np.minimum(rate, 1.0))[None, :]),
                             1.0 - decay)
    coef = V.T @ r0
    resid = (decay * coef) @ V.T
    if K_test is None:
        return resid
    # [1 − (1 − lr λ/n)^k]/λ, with its limit k·lr/n at λ = 0
    safe = np.where(lam > 0, lam, 1.0)
    gain = np.where(lam[None, :] > 0, one_minus / safe, k * lr / n)
    c = (gain * coef) @ V.T                                # (T, n)
    return resid, f0_test[None, :] - c @ K_test.T


# ----------------------------------------------------------------------------------------------
# The page's experiments: Fig. 1a (four runs against their linearisations), Fig. 1b (phase diagram)
# ----------------------------------------------------------------------------------------------

FIG1A_RUNS = {"small, balanced": (0.1, 0.0), "large, balanced": (2.0, 0.0),
              "small, upstream": (0.1, 0.9999), "small, downstream": (0.1, -0.9999)}
"""The four (τ, δ) of the paper's Fig. 1a (its code's ±0.9999 for δ = ±1; App. D.1)."""


@dataclass(frozen=True)
class Fig1a:
    """The Fig. 1a runs over Sweep(seed, run) (:func:`fig1a_experiment`); arrays (seed, run, ...).

    result: the descent at ``lr`` (flat runs, weights kept); result_half: at lr/2 for twice the
    steps (ends only); data: the teacher-student sets; tau, delta (run,); lin_loss (seed, run, T):
    the training loss of the model linearised at initialisation, exact; lin_gap (seed, run):
    ‖f_network − f_linearised‖/‖y‖ on the test points at the end; S_end, test_end, drift,
    drift_half, fit_ratio (final/initial training loss) (seed, run).
    """

    sweep: Sweep
    lr: float
    result: Result
    result_half: Result
    data: TeacherStudent
    tau: np.ndarray
    delta: np.ndarray
    lin_loss: np.ndarray
    lin_gap: np.ndarray

    def _grid(self, res: Result, name: str) -> np.ndarray:
        return self.sweep.unflatten(res[name])

    @property
    def names(self) -> tuple:
        return self.sweep.axes["run"]

    def metric(self, name: str) -> np.ndarray:
        """A metric of ``result`` as (seed, run, T, ...)."""
        return self._grid(self.result, name)

    @property
    def S_end(self) -> np.ndarray:
        return self.metric("kernel_distance")[..., -1]

    @property
    def test_end(self) -> np.ndarray:
        return self.metric("test_loss")[..., -1]

    @property
    def drift(self) -> np.ndarray:
        return self.metric("delta_drift")[..., -1]

    @property
    def drift_half(self) -> np.ndarray:
        return self._grid(self.result_half, "delta_drift")[..., -1]

    @property
    def fit_ratio(self) -> np.ndarray:
        loss = self.metric("train_loss")
        return loss[..., -1] / loss[..., 0]

    def init_summary(self) -> str:
        """The initial imbalances and products |a_i|‖w_i‖ (every neuron of a run shares them)."""
        a, W = self.metric("a")[:, :, 0], self.metric("W")[:, :, 0]
        return (f"initial δ_i: {np.unique(np.round(neuron_imbalance(a, W), 6))} (every neuron of a "
                f"run shares its δ)\n|a_i|·‖w_i‖ at init: "
                f"{np.unique(np.round(np.abs(a) * np.linalg.norm(W, axis=-1), 8))}")

    def summary(self) -> str:
        """Per run (over seeds): S at the end, training and test loss, the gap to the linearised
        model; then the δ_i drift at lr and lr/2."""
        loss = self.metric("train_loss")[..., -1]
        rows = [f"{name:18s} τ = {self.tau[g]:4g}, δ = {self.delta[g]:+7.4f}: S(end) = "
                f"{np.round(self.S_end[:, g], 4)}, train loss ≤ {loss[:, g].max():.1e}, test MSE = "
                f"{np.round(self.test_end[:, g], 4)}, network vs linearised on test = "
                f"{np.round(self.lin_gap[:, g], 3)}" for g, name in enumerate(self.names)]
        r = self.drift / self.drift_half
        rows.append(f"δ_i drift over the run: max {self.drift.max():.2e} at lr = {self.lr:g}, "
                    f"{self.drift_half.max():.2e} at lr/2; ratio over runs {r.min():.2f} … {r.max():.2f}")
        return "\n".join(rows)


def fig1a_experiment(*, seeds=(0, 1, 2, 3), lr: float = 0.02, steps: int = 20_000,
                     n_records: int = 50, d: int = 2, n: int = 20, m: int = 50,
                     n_test: int = 1000, progress: bool = False) -> Fig1a:
    """The paper's Fig. 1a task (App. D.1): a 3-neuron teacher, n points on the sphere in ℝᵈ, a
    student of m neurons in ± pairs, for the four :data:`FIG1A_RUNS` × ``seeds`` (teacher, data and
    student directions from each seed), one batch. Recorded at 0 and ``n_records`` log-spaced steps.
    Also: the same runs at lr/2 for 2·steps (the O(lr) drift of δ_i), and the exact descent of each
    run's linearisation at initialisation (:func:`linearised_descent`, the lazy limit)."""
    seeds = check_seeds(seeds, "seeds")
    lr = check_scalar(lr, "lr", min=0.0, include_min=False)
    steps = check_scalar(steps, "steps", kind="int", min=1)
    n_records = check_scalar(n_records, "n_records", kind="int", min=2)
    progress = check_bool(progress, "progress")
    sweep = Sweep(seed=seeds.tolist(), run=list(FIG1A_RUNS))
    S, G = sweep.shape
    data = teacher_student(d, n, np.asarray(sweep.axes["seed"]), n_test=n_test)
    tau = np.array([FIG1A_RUNS[r][0] for r in sweep.axes["run"]])
    delta = np.array([FIG1A_RUNS[r][1] for r in sweep.axes["run"]])
    a0, W0 = relu_student_init(np.tile(tau, S), np.tile(delta, S), m, d, sweep.column("seed"))
    a0, W0 = a0.reshape(S, G, m), W0.reshape(S, G, m, d)
    rec = np.unique(np.r_[0, np.geomspace(1, steps, n_records).astype(int)])
    run = relu_descent(data.X, data.y, a0, W0, lr=lr, steps=steps, record=rec, X_test=data.X_test,
                       y_test=data.y_test, progress=progress, sweep=sweep)
    half = relu_descent(data.X, data.y, a0, W0, lr=lr / 2, steps=2 * steps, keep_weights=False,
                        sweep=sweep)
    lin_loss = np.empty((S, G, run.steps.size))
    lin_gap = np.empty((S, G))
    a_end, W_end = sweep.unflatten(run["a"])[:, :, -1], sweep.unflatten(run["W"])[:, :, -1]
    for s in range(S):
        Xcat = np.concatenate([data.X_test[s], data.X[s]])
        for g in range(G):
            K0 = relu_ntk_gram(data.X[s], a0[s, g][None], W0[s, g][None])[0]
            Kt = relu_ntk_gram(Xcat, a0[s, g][None], W0[s, g][None])[0][:n_test, n_test:]
            resid, f_test = linearised_descent(K0, -data.y[s], lr=lr, n=n, steps=run.steps,
                                               K_test=Kt, f0_test=np.zeros(n_test))
            lin_loss[s, g] = 0.5 * np.mean(resid**2, axis=1)
            f_net = np.maximum(data.X_test[s] @ W_end[s, g].T, 0) @ a_end[s, g]
            lin_gap[s, g] = np.linalg.norm(f_net - f_test[-1]) / np.linalg.norm(data.y_test[s])
    return Fig1a(sweep=sweep, lr=lr, result=run, result_half=half, data=data, tau=tau,
                 delta=delta, lin_loss=lin_loss, lin_gap=lin_gap)


def tau_rich(S, taus, threshold: float) -> np.ndarray:
    """The largest τ at which the kernel distance S(τ) ≥ threshold, log S linear in log τ between
    records (:func:`theory.core.first_crossing` scanning τ downwards); NaN where S < threshold at
    every τ, taus[-1] where S ≥ threshold at the largest τ. S (..., n_tau), taus (n_tau,)
    increasing, > 0. The book's boundary of the rich region (the paper's Fig. 1b shows it by eye).
    """
    taus = positive(taus, "taus")
    if taus.ndim != 1 or np.any(np.diff(taus) <= 0):
        raise ValueError("taus must be a 1-D increasing array")
    S = as_array(S, "S", min_ndim=1)
    if S.shape[-1] != taus.size:
        raise ValueError(f"S must have the {taus.size} values of taus on its last axis, got {S.shape}")
    threshold = check_scalar(threshold, "threshold", min=0.0, include_min=False)
    logS = np.log(np.maximum(S[..., ::-1], 1e-300))
    x = first_crossing(logS, -np.log(taus[::-1]), np.log(threshold), direction="above",
                       interpolate="linear")
    return np.exp(-x)


@dataclass(frozen=True)
class PhaseDiagram:
    """The Fig. 1b sweep (:func:`phase_diagram`): Sweep(seed, tau, delta), one batch.

    result: the descent (flat runs); S (τ, δ): kernel distance at the end, mean over seeds;
    test (τ, δ): test MSE at the end, mean over seeds; train (seed, τ, δ): training loss at the
    end; S_t (τ, δ, T): kernel distance at every record, mean over seeds; drift (τ, δ): the largest
    δ_i drift at the end over seeds.
    """

    sweep: Sweep
    d: int
    n: int
    result: Result

    def _grid(self, name: str) -> np.ndarray:
        return self.sweep.unflatten(self.result[name])          # (seed, τ, δ, T)

    @property
    def taus(self) -> np.ndarray:
        return np.array(self.sweep.axes["tau"])

    @property
    def deltas(self) -> np.ndarray:
        return np.array(self.sweep.axes["delta"])

    @property
    def steps(self) -> np.ndarray:
        return self.result.steps

    @property
    def S_t(self) -> np.ndarray:
        return self._grid("kernel_distance").mean(0)

    @property
    def S(self) -> np.ndarray:
        return self.S_t[..., -1]

    @property
    def test(self) -> np.ndarray:
        return self._grid("test_loss")[..., -1].mean(0)

    @property
    def train(self) -> np.ndarray:
        return self._grid("train_loss")[..., -1]

    @property
    def train_start(self) -> float:
        return float(self.result["train_loss"][:, 0].mean())

    @property
    def drift(self) -> np.ndarray:
        return self._grid("delta_drift")[..., -1].max(0)

    @property
    def hamming_t(self) -> np.ndarray:
        """Hamming distance of the activation patterns from step 0, mean over seeds (τ, δ, T)."""
        return self._grid("hamming_distance").mean(0)

    @property
    def param_t(self) -> np.ndarray:
        """‖θ − θ₀‖, mean over seeds (τ, δ, T)."""
        return self._grid("param_distance").mean(0)

    @property
    def relative_param_t(self) -> np.ndarray:
        """‖θ − θ₀‖/‖θ₀‖, mean over seeds (τ, δ, T)."""
        return self._grid("relative_param_distance").mean(0)

    def fig5b_summary(self) -> str:
        """The Fig. 5b tables: Hamming distance and ‖θ − θ₀‖ (and relative) at the end over (τ, δ),
        and at the smallest τ their ratio for δ = −1, 0, +1."""
        fmt = functools.partial(np.array2string, precision=4, suppress_small=True, max_line_width=150)
        nd = len(self.deltas)
        cols = [0, nd // 2, nd - 1]
        ratio = self.hamming_t[0, cols, -1] / self.param_t[0, cols, -1]
        return "\n".join([
            f"τ = {np.round(self.taus, 3)} (rows);  δ = {np.round(self.deltas, 3)} (columns)",
            "Hamming distance of the activation patterns from step 0 (fraction of n·m), end, seed mean:\n"
            + fmt(self.hamming_t[..., -1]),
            "parameter distance ‖θ − θ₀‖, end, seed mean:\n" + fmt(self.param_t[..., -1]),
            "relative parameter distance ‖θ − θ₀‖/‖θ₀‖, end, seed mean:\n"
            + fmt(self.relative_param_t[..., -1]),
            f"at τ = {self.taus[0]:.2g}, δ = −1, 0, +1: Hamming / ‖θ − θ₀‖ = {np.round(ratio, 4)}"])

    def tau_rich(self, threshold: float) -> np.ndarray:
        """:func:`tau_rich` of the seed-mean S for every δ: (n_delta,)."""
        return tau_rich(self.S.T, self.taus, threshold)

    def summary(self) -> str:
        """The tables the page prints: S and test MSE over (τ, δ), S against step at the smallest
        τ (δ = −1, 0, +1), the δ_i drift, and per δ the S and test MSE at the two ends of τ."""
        n_seed, nt, nd = self.sweep.shape
        fmt = functools.partial(np.array2string, precision=4, suppress_small=True, max_line_width=150)
        cols = [0, nd // 2, nd - 1]
        rows = [f"{len(self.sweep)} students, {self.steps[-1]} steps; training loss: start "
                f"{self.train_start:.3g}, end ≤ {self.train.max():.2e}; largest δ_i drift "
                f"{self.result['delta_drift'].max():.2e}",
                f"τ = {np.round(self.taus, 3)} (rows);  δ = {np.round(self.deltas, 3)} (columns)",
                "kernel distance S, mean over seeds:\n" + fmt(self.S),
                "test MSE, mean over seeds:\n" + fmt(self.test),
                f"at τ = {self.taus[0]:.2g}, S against step (rows δ = −1, 0, +1; steps {self.steps}):\n"
                + fmt(self.S_t[0, cols]),
                "largest δ_i drift per (τ, δ):\n" + fmt(self.drift)]
        rows += [f"δ = {self.deltas[j]:+.3f}: S at τ = {self.taus[0]:.2g}: {self.S[0, j]:.4f}, at τ = "
                 f"{self.taus[-1]:.2g}: {self.S[-1, j]:.2e};  test MSE {self.test[0, j]:.4f} vs "
                 f"{self.test[-1, j]:.4f}" for j in range(nd)]
        return "\n".join(rows)


def phase_diagram(*, n_tau: int = 7, n_seed: int = 2, d: int = 20, n: int = 100,
                  steps: int = 4000, m: int = 50, n_test: int = 1000, lr_scale: float = 0.01,
                  n_records: int = 6, progress: bool = False, device=None) -> PhaseDiagram:
    """The paper's Fig. 1b set-up (App. D.1) on an n_tau × n_tau grid: τ log-spaced in [0.1, 2],
    δ linear in [−1, 1], ``n_seed`` seeds (teacher, data, student directions), lr = lr_scale/τ²
    (the paper's 5·10⁻³/τ² on the mean squared error is lr_scale = 0.01 here), all students in one
    batch; recorded at 0 and ``n_records`` log-spaced steps from 10 to ``steps``."""
    n_tau = check_scalar(n_tau, "n_tau", kind="int", min=2)
    n_seed = check_scalar(n_seed, "n_seed", kind="int", min=1)
    steps = check_scalar(steps, "steps", kind="int", min=10)
    lr_scale = check_scalar(lr_scale, "lr_scale", min=0.0, include_min=False)
    n_records = check_scalar(n_records, "n_records", kind="int", min=2)
    progress = check_bool(progress, "progress")
    device = resolve_device(device)
    sweep = Sweep(seed=np.arange(n_seed), tau=np.logspace(-1, 0.3, n_tau),
                  delta=np.linspace(-1, 1, n_tau))
    data = teacher_student(d, n, np.arange(n_seed), n_test=n_test)
    tau = sweep.column("tau")
    a0, W0 = relu_student_init(tau, sweep.column("delta"), m, d, sweep.column("seed"))
    G = n_tau * n_tau
    rec = np.unique(np.r_[0, np.geomspace(10, steps, n_records).astype(int)])
    run = relu_descent(data.X, data.y, a0.reshape(n_seed, G, m), W0.reshape(n_seed, G, m, d),
                       lr=(lr_scale / tau**2).reshape(n_seed, G), steps=steps, record=rec,
                       X_test=data.X_test, y_test=data.y_test, keep_weights=False,
                       progress=progress, sweep=sweep, device=device)
    return PhaseDiagram(sweep=sweep, d=d, n=n, result=run)
