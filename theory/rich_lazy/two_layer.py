"""Two-layer piecewise-linear (ReLU) networks: per-neuron imbalance, teacher-student, phase diagram.

Kunin et al. (2024), Sec. 4 and Fig. 1. The student is f(x) = Σ_i a_i σ(w_iᵀx) with σ = ReLU,
trained by full-batch gradient descent on L = (1/2n) Σ_k (f(x_k) − y_k)² with layer learning
rates η_a (readout) and η_w (first layer):

    ẇ_i = −η_w a_i ∂L/∂(a_iw_i),   ȧ_i = −η_a w_iᵀ ∂L/∂(a_iw_i)   (σ positively homogeneous),

so every neuron keeps its own imbalance δ_i = η_w a_i² − η_a‖w_i‖² under gradient flow; gradient
descent with step ``lr`` changes it by O(lr²) a step. The paper's Fig. 1 sets the initialisation
by a scale τ and an imbalance δ: every neuron starts with |a_i|·‖w_i‖ = τ² and δ_i = δ, in ± pairs
of equal w_i and opposite a_i so that f ≡ 0 at initialisation.

Everything is batched: the weights of B runs (grid points × seeds) are one tensor, and one step
of all of them is a handful of ``bmm`` calls. The loss here is half the mean squared error; the
paper's code descends the mean squared error itself, i.e. its learning rate is half of ``lr``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from theory.core import as_array, default_device, non_negative, positive, positive_int

__all__ = [
    "ReluRun",
    "TeacherStudent",
    "init_scales",
    "kernel_distance_batched",
    "linearised_descent",
    "neuron_imbalance",
    "relu_descent",
    "relu_ntk_gram",
    "relu_student_init",
    "sphere_points",
    "teacher_student",
]


def _tensor(x, device, dtype):
    return torch.as_tensor(np.asarray(x), dtype=dtype, device=device)


def init_scales(tau, delta, eta_a=1.0, eta_w=1.0) -> tuple[np.ndarray, np.ndarray]:
    """(‖w₀‖, |a₀|) of a neuron with |a₀|‖w₀‖ = τ² and η_w a₀² − η_a‖w₀‖² = δ (paper, Fig. 1).

    η_w a₀² = (δ + √(δ² + 4η_aη_wτ⁴))/2, evaluated without cancellation for either sign of δ.
    With η_a = η_w = 1 this is the paper's ‖w₀‖ = τα, |a₀| = τ/α, α² = (√(4 + (δ/τ²)²) − δ/τ²)/2.
    """
    tau = positive(tau, "tau")
    delta = as_array(delta, "delta")
    eta_a, eta_w = positive(eta_a, "eta_a"), positive(eta_w, "eta_w")
    prod = 4.0 * eta_a * eta_w * tau**4
    root = np.sqrt(delta**2 + prod)
    big = (np.abs(delta) + root) / 2.0
    small = prod / (4.0 * big)
    u = np.where(delta >= 0, big, small)                  # η_w a₀²
    a_abs = np.sqrt(u / eta_w)
    return tau**2 / a_abs, a_abs


def sphere_points(n: int, d: int, generator: torch.Generator, *, dtype=torch.float64) -> torch.Tensor:
    """n points drawn uniformly on the unit sphere of ℝᵈ (normalised Gaussians), on the CPU."""
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
    d, n = positive_int(d, "d"), positive_int(n, "n")
    n_test, m0 = positive_int(n_test, "n_test"), positive_int(m0, "m0")
    seeds = np.atleast_1d(np.asarray(seeds))
    if seeds.ndim != 1 or not np.issubdtype(seeds.dtype, np.integer):
        raise TypeError("seeds must be an int or a 1-D array of ints")
    out = {k: [] for k in ("X", "y", "X_test", "y_test", "W", "a")}
    for s in seeds:
        g = torch.Generator().manual_seed(int(s))
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
    m, d = positive_int(m, "m"), positive_int(d, "d")
    if symmetric and m % 2:
        raise ValueError(f"m must be even when symmetric=True, got {m}")
    tau, delta = np.atleast_1d(positive(tau, "tau")), np.atleast_1d(as_array(delta, "delta"))
    seeds = np.atleast_1d(np.asarray(seeds))
    if not np.issubdtype(seeds.dtype, np.integer):
        raise TypeError("seeds must be an int or an array of ints")
    try:
        B = np.broadcast_shapes(tau.shape, delta.shape, seeds.shape)
    except ValueError:
        raise ValueError(f"tau {tau.shape}, delta {delta.shape} and seeds {seeds.shape} "
                         f"must broadcast to one batch shape") from None
    if len(B) != 1:
        raise ValueError("tau, delta and seeds must be scalars or 1-D")
    tau, delta, seeds = (np.broadcast_to(x, B) for x in (tau, delta, seeds))
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
    eta_a, eta_w = positive(eta_a, "eta_a"), positive(eta_w, "eta_w")
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
    B = a.shape[0]
    eta_a = np.broadcast_to(np.atleast_1d(positive(eta_a, "eta_a")), (B,))
    eta_w = np.broadcast_to(np.atleast_1d(positive(eta_w, "eta_w")), (B,))
    t = lambda x: torch.tensor(np.array(x), dtype=torch.float64)  # noqa: E731
    Xt = t(np.broadcast_to(X, (B,) + X.shape[-2:]))
    return _gram(Xt, t(a), t(W), t(eta_a), t(eta_w)).numpy()


def _kdist(K0, K):
    num = (K0 * K).sum((-1, -2))
    return 1.0 - num / (K0.norm(dim=(-1, -2)) * K.norm(dim=(-1, -2)))


def kernel_distance_batched(K0, K) -> np.ndarray:
    """S = 1 − ⟨K₀, K⟩_F / (‖K₀‖_F‖K‖_F) over the last two axes (paper, Fig. 1b)."""
    K0, K = as_array(K0, "K0", min_ndim=2), as_array(K, "K", min_ndim=2)
    return _kdist(torch.as_tensor(K0), torch.as_tensor(K)).numpy()


@dataclass(frozen=True)
class ReluRun:
    """Batched gradient descent of two-layer ReLU students, recorded at the given steps.

    With B = the batch shape of ``a0`` (``(B,)`` or ``(S, G)``): steps (T,); a (*B, T, m) and
    W (*B, T, m, d) where ``keep_weights`` (else None); loss, test_loss (*B, T): ½-MSE on the
    training set and the MSE on the test set (None without test data); kernel_distance (*B, T)
    of the training-set NTK from step 0; delta_drift (*B, T): max_i |δ_i(step) − δ_i(0)|;
    lr, eta_a, eta_w (*B).
    """

    steps: np.ndarray
    a: np.ndarray | None
    W: np.ndarray | None
    loss: np.ndarray
    test_loss: np.ndarray | None
    kernel_distance: np.ndarray
    delta_drift: np.ndarray
    lr: np.ndarray
    eta_a: np.ndarray
    eta_w: np.ndarray


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
        raise ValueError(f"{name[0]} must be (n, {d}) or (S, n, {d}) and {name[1]} (n,) or (S, n); "
                         f"got {X.shape} and {y.shape}")
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


def relu_descent(X, y, a0, W0, *, lr, steps: int, record_at=None, eta_a=1.0, eta_w=1.0,
                 X_test=None, y_test=None, keep_weights: bool = True, device=None,
                 dtype: torch.dtype = torch.float64, progress: bool = False) -> ReluRun:
    """Full-batch gradient descent of many students f(x) = Σ_i a_i σ(w_iᵀx) at once (paper, Fig. 1).

    Each step: r = f(X) − y, a ← a − lr η_a Φᵀr/n, w_i ← w_i − lr η_w a_i Σ_k r_k 1[w_iᵀx_k > 0] x_k/n,
    i.e. descent on L = (1/2n)‖r‖² with per-run ``lr``, ``eta_a``, ``eta_w`` (scalars or arrays
    of the batch shape).

    Layouts: a0 (B, m), W0 (B, m, d) with X (n, d), y (n,) shared by all runs or X (B, n, d),
    y (B, n) one per run; or a0 (S, G, m), W0 (S, G, m, d) with X (S, n, d), y (S, n): S data sets
    (seeds), G runs on each (grid points). All runs on one data set are stacked side by side, so
    a step is two large matrix products per data set, not G small ones. X_test, y_test likewise.
    ``record_at``: step indices to record (default: 0 and ``steps``); the NTK distance from step 0,
    the losses and the per-neuron δ drift are measured there.
    """
    shape_in = np.shape(a0)[:-1]
    X, y, a0, W0 = _layout(X, y, a0, W0, ("X", "y"))
    S, G, m, d = W0.shape
    n = X.shape[1]
    has_test = X_test is not None or y_test is not None
    if has_test:
        X_test, y_test, _, _ = _layout(X_test, y_test, a0, W0, ("X_test", "y_test"))
        if X_test.shape[0] != S:
            X_test = np.broadcast_to(X_test, (S,) + X_test.shape[1:])
            y_test = np.broadcast_to(y_test, (S,) + y_test.shape[1:])
    steps = positive_int(steps, "steps")
    rec = np.array([0, steps]) if record_at is None else np.unique(np.asarray(record_at))
    if rec.ndim != 1 or not np.issubdtype(rec.dtype, np.integer) or rec[0] < 0 or rec[-1] > steps:
        raise ValueError(f"record_at must be integer steps in [0, steps={steps}]")

    def per_run(v, name):
        v = positive(v, name)
        try:
            return np.broadcast_to(np.reshape(v, np.shape(v)), shape_in).reshape(S, G).copy()
        except ValueError:
            raise ValueError(f"{name} must be a scalar or have the batch shape {shape_in}, "
                             f"got {np.shape(v)}") from None

    lr, eta_a, eta_w = per_run(lr, "lr"), per_run(eta_a, "eta_a"), per_run(eta_w, "eta_w")
    device = torch.device(device) if device is not None else default_device()

    def T(x):
        return torch.tensor(np.array(x), dtype=dtype, device=device)

    Xt, yt = T(X), T(y)
    XtT = Xt.transpose(1, 2).contiguous()
    if has_test:
        Xs, ys = T(X_test), T(y_test)
    a, W = T(a0), T(W0)
    ea, ew, lrt = T(eta_a), T(eta_w), T(lr)
    step_a, step_w = (lrt * ea / n)[..., None], (lrt * ew / n)[..., None, None]
    delta0 = ew[..., None] * a**2 - ea[..., None] * (W**2).sum(-1)
    a_init, W_init = a.clone(), W.clone()
    chunk = max(1, int(2**24 // (n * n)))             # runs per Gram batch: ≤ 16M entries (128 MiB)

    def kernel_distance_now(a_, W_):
        """S of every run against its step-0 NTK, in chunks of runs (K₀ is recomputed, not stored)."""
        out_S = torch.empty(S, G, dtype=dtype, device=device)
        for s_ in range(S):
            for g0 in range(0, G, chunk):
                g1 = min(G, g0 + chunk)
                Xc = Xt[s_].expand(g1 - g0, n, d)
                e_a, e_w = ea[s_, g0:g1], ew[s_, g0:g1]
                K_0 = _gram(Xc, a_init[s_, g0:g1], W_init[s_, g0:g1], e_a, e_w)
                out_S[s_, g0:g1] = _kdist(K_0, _gram(Xc, a_[s_, g0:g1], W_[s_, g0:g1], e_a, e_w))
        return out_S

    def forward(Xd, W_, a_):
        pre = Xd @ W_.reshape(S, G * m, d).transpose(1, 2)                  # (S, n, G·m)
        act = torch.relu(pre)
        f = (act.view(S, -1, G, m) * a_[:, None]).sum(-1)                   # (S, n, G)
        return pre, act, f

    R = rec.size
    out = {k: torch.empty(S, G, R, dtype=dtype, device=device) for k in ("loss", "S", "drift", "test")}
    if keep_weights:
        out["a"] = torch.empty(S, G, R, m, dtype=dtype, device=device)
        out["W"] = torch.empty(S, G, R, m, d, dtype=dtype, device=device)
    it = range(steps + 1)
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(it, desc=f"{S * G} students, batched", mininterval=1.0)
    j = 0
    with torch.no_grad():
        for k in it:
            pre, act, f = forward(Xt, W, a)
            r = f - yt[..., None]                                             # (S, n, G)
            if j < R and rec[j] == k:
                out["loss"][..., j] = 0.5 * (r * r).mean(1)
                out["S"][..., j] = kernel_distance_now(a, W)
                delta = ew[..., None] * a**2 - ea[..., None] * (W**2).sum(-1)
                out["drift"][..., j] = (delta - delta0).abs().amax(-1)
                if has_test:
                    ft = forward(Xs, W, a)[2]
                    out["test"][..., j] = ((ft - ys[..., None]) ** 2).mean(1)
                if keep_weights:
                    out["a"][..., j, :], out["W"][..., j, :, :] = a, W
                j += 1
            if k == steps:
                break
            grad_a = (act.view(S, n, G, m) * r[..., None]).sum(1)               # Φᵀr, (S, G, m)
            back = ((pre > 0).view(S, n, G, m) * r[..., None]).view(S, n, G * m)
            grad_w = (XtT @ back).transpose(1, 2).reshape(S, G, m, d) * a[..., None]
            a = a - step_a * grad_a
            W = W - step_w * grad_w

    def np_(x):
        return x.cpu().numpy().reshape(shape_in + x.shape[2:])

    return ReluRun(steps=rec, a=np_(out["a"]) if keep_weights else None,
                   W=np_(out["W"]) if keep_weights else None, loss=np_(out["loss"]),
                   test_loss=np_(out["test"]) if has_test else None,
                   kernel_distance=np_(out["S"]), delta_drift=np_(out["drift"]),
                   lr=lr.reshape(shape_in), eta_a=eta_a.reshape(shape_in),
                   eta_w=eta_w.reshape(shape_in))


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
    lr = float(positive(lr, "lr"))
    n = positive_int(n, "n")
    steps = np.atleast_1d(non_negative(steps, "steps"))
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
    K_test = as_array(K_test, "K_test", ndim=2)
    f0_test = as_array(f0_test, "f0_test", ndim=1)
    # [1 − (1 − lr λ/n)^k]/λ, with its limit k·lr/n at λ = 0
    safe = np.where(lam > 0, lam, 1.0)
    gain = np.where(lam[None, :] > 0, one_minus / safe, k * lr / n)
    c = (gain * coef) @ V.T                                # (T, n)
    return resid, f0_test[None, :] - c @ K_test.T
