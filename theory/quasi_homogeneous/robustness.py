"""Robustness of the asymmetric maximum margin (the paper's §5, in the book's reconstruction).

The paper's abstract says that the asymmetric norm of the theorem "can degrade the robustness" of
quasi-homogeneous models. The example here is the book's own (the paper's examples could not be
read): two features, each of which separates the data on its own,

    z_i = y_i x_i = (p_i, r_i),   p_i ≥ γ₁ = 1 (large margin),   r_i ≥ γ₂ (tiny margin),

and two models that are both *linear in the input*, so that their ℓ₂ adversarial radius at x_i
is exactly |f(x_i)| / ‖β‖ with β the function-space weight:

- the homogeneous linear model f = w·x (β = w, all rates 1) converges in direction to the
  Euclidean SVM solution (Soudry et al. 2018; Lyu & Li 2020): radius = the SVM margin ≥ γ₁;
- the quasi-homogeneous model f = a·x₁ + u·v·x₂ (β = (a, uv); rates λ_a = 1, λ_u = λ_v = ½),
  whose limit (the book's reconstruction of the theorem) is a KKT point of

      min ½ a²   subject to   a p_i + u v r_i ≥ 1   for all i,

  the seminorm of the highest-rate parameters only (λ_max = 1 is ``a`` alone). Writing w = uv and
  w̄ = w/a, the minimum is a* = 1/g*, g* = sup_w̄ g(w̄), g(w̄) = min_i (p_i + w̄ r_i): a concave
  piecewise-linear function of one variable, so the solution is exact (:func:`qh_limit`). When x₂
  alone separates (all r_i > 0), g* = ∞: a* = 0, the highest-rate parameter is discarded and
  the classifier uses the *tiny-margin* feature x₂; its ℓ₂ radius is min_i r_i = γ₂. The norm the
  theorem constrains is the one the limit *spends least of*: the limit favours the low-rate path.

Training is loss-normalised gradient descent θ ← θ − η_k ∇L/L = θ − η_k ∇ log L on the
exponential loss L = Σ_i exp(−q_i) (:func:`train_loss_normalised`, with a curvature-adapted step),
i.e. gradient flow in the loss-normalised time τ = Σ_k η_k; the ℓ₂ radius is measured by an attack that knows nothing of the linearity
(:func:`l2_attack`: bisection on ε around projected gradient ascent in the ε-ball).
"""

from __future__ import annotations

import numpy as np
import torch

from theory.core import (array_bytes, as_array, check_bool, check_memory, check_scalar, check_seed, config_seed,
                         record_steps, train_batched)
from theory.quasi_homogeneous.models import QHModel, mixed_depth

__all__ = ["angle_to", "attack_run", "check_data", "function_weights", "l2_attack", "linear_model",
           "log_loss_derivatives", "path_limit", "qh_limit", "qh_model", "radius", "svm_limit",
           "train_loss_normalised", "two_feature_data"]


# --- data ---------------------------------------------------------------------------------------
def _real(x, name: str, **kw) -> np.ndarray:
    """A tensor or array of finite reals as float64 numpy (no bools, complex, NaN), naming ``name``."""
    if isinstance(x, torch.Tensor):
        if x.dtype == torch.bool or x.is_complex():
            raise TypeError(f"{name} must hold real numbers, got dtype {x.dtype}")
        x = x.detach().cpu().numpy()
    return as_array(x, name, **kw)


def _theta(model, theta, name: str = "theta") -> torch.Tensor:
    th = _real(theta, name, min_ndim=1, nonempty=True)
    if th.shape[-1] != model.n_params:
        raise ValueError(f"{name} must have shape (..., {model.n_params}), got {th.shape}")
    return torch.from_numpy(np.ascontiguousarray(th))


def _check_qh(model):
    if not isinstance(model, QHModel):
        raise TypeError(f"model must be a QHModel, got {type(model).__name__}")
    return model


def check_data(X, y) -> tuple[np.ndarray, np.ndarray]:
    """Validate a 2-D data set: X (n, 2) finite reals, y (n,) labels in {−1, +1}."""
    X = _real(X, "X")
    y = _real(y, "y")
    if X.ndim != 2 or X.shape[1] != 2 or X.shape[0] < 1:
        raise ValueError(f"X must have shape (n, 2) with n >= 1, got {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X must be finite")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape (n,) = ({X.shape[0]},), got {y.shape}")
    if not np.all(np.isin(y, (-1, 1))):
        raise ValueError(f"y must hold labels in {{-1, +1}}, got values {np.unique(y)[:5]}")
    return X.astype(np.float64), y.astype(np.float64)


def two_feature_data(n: int = 16, margin_x2: float = 0.05, *, margin_x1: float = 1.0,
                     spread: float = 1.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The book's two-feature data: y_i x_i = (p_i, r_i), p_i = γ₁ + spread·U_i, r_i = γ₂ + spread·U'_i.

    U, U' ~ Uniform(0, 1) independent, except that point 0 has r = γ₂ (``margin_x2``) and point 1
    has p = γ₁ (``margin_x1``) exactly, so min_i y_i x_{i1} = γ₁ and min_i y_i x_{i2} = γ₂. Labels
    alternate +1, −1. γ₂ > 0: x₂ alone separates (with margin γ₂); γ₂ ≤ 0: it does not.
    """
    n = check_scalar(n, "n", kind="int", min=2)
    g2 = check_scalar(margin_x2, "margin_x2")
    g1 = check_scalar(margin_x1, "margin_x1", min=0.0, include_min=False)
    spread = check_scalar(spread, "spread", min=0.0)
    seed = check_seed(seed, "seed")
    check_memory(6 * array_bytes(n, 2), f"{n} data points", hint="reduce n")
    rng = np.random.default_rng(config_seed(seed, "two_feature_data", n))
    p = g1 + spread * rng.uniform(size=n)
    r = g2 + spread * rng.uniform(size=n)
    r[0], p[1] = g2, g1
    y = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    return y[:, None] * np.stack([p, r], axis=1), y


# --- exact limits -------------------------------------------------------------------------------
def svm_limit(X, y) -> tuple[np.ndarray, float]:
    """The hard-margin SVM through the origin, exactly: (unit β (2,), margin min_i y_i β·x_i).

    In two dimensions the solution has one support vector (β = z_i/‖z_i‖, margin ‖z_i‖) or two
    (β ⟂ z_i − z_j); every candidate is enumerated, the feasible ones kept, the best returned.
    The limit direction of gradient descent on the exponential loss for f = w·x (Soudry et al.
    2018). Raises ValueError if no direction separates the data.
    """
    X, y = check_data(X, y)
    z = y[:, None] * X
    cands = [z / np.linalg.norm(z, axis=1, keepdims=True)]
    i, j = np.triu_indices(len(z), 1)
    d = z[i] - z[j]
    perp = np.stack([-d[:, 1], d[:, 0]], axis=1)
    nrm = np.linalg.norm(perp, axis=1)
    perp = perp[nrm > 0] / nrm[nrm > 0, None]
    cands += [perp, -perp]
    cands = np.concatenate(cands)
    margins = (cands @ z.T).min(axis=1)
    k = int(np.argmax(margins))
    if margins[k] <= 0:
        raise ValueError("X, y are not linearly separable through the origin: no SVM limit")
    return cands[k], float(margins[k])


def qh_limit(X, y) -> dict:
    """The Λmax-constrained max-margin limit of f = a·x₁ + u·v·x₂ (the book's reconstruction), exactly.

    min ½a² s.t. a p_i + w r_i ≥ 1 (w = uv free) is a* = 1/g*, with g* = sup_w̄ min_i (p_i + w̄ r_i).
    g is concave and piecewise linear, so a finite maximum sits where an increasing piece (r_i > 0)
    meets a decreasing one (r_j < 0); if every r_i > 0 (or every r_i < 0) g* = ∞ and a* = 0.
    Returns ``w_bar`` (w/a; ±inf when a* = 0), ``beta`` (the unit function-space direction of
    (a, w)), ``radius`` (its ℓ₂ margin min_i y_i β·x_i, the adversarial radius), ``a`` and ``w``
    (the limit of a/q_min and uv/q_min, with q_min = min_i y_i f(x_i)), and ``uses_x1`` (a* > 0).
    The normalised u and v tend to ±√|w| (u² − v² is conserved by the flow).
    """
    X, y = check_data(X, y)
    p, r = (y[:, None] * X).T
    if np.all(r > 0) or np.all(r < 0):
        s = 1.0 if r[0] > 0 else -1.0
        rmin = float(np.min(s * r))
        beta = np.array([0.0, s])
        return {"w_bar": s * np.inf, "beta": beta, "radius": rmin, "a": 0.0, "w": s / rmin,
                "uses_x1": False}
    pos, neg = np.flatnonzero(r > 0), np.flatnonzero(r < 0)
    cands = [0.0]
    if pos.size and neg.size:
        P, N = np.meshgrid(pos, neg, indexing="ij")
        cands = np.concatenate([[0.0], ((p[N] - p[P]) / (r[P] - r[N])).ravel()])
    cands = np.asarray(cands, dtype=np.float64)
    g = (p[None, :] + cands[:, None] * r[None, :]).min(axis=1)
    k = int(np.argmax(g))
    if g[k] <= 0:
        raise ValueError("X, y are not separable by f = a·x₁ + u·v·x₂ (g* ≤ 0): no max-margin limit")
    wb, gs = float(cands[k]), float(g[k])
    beta = np.array([1.0, wb]) / np.hypot(1.0, wb)
    return {"w_bar": wb, "beta": beta, "radius": gs / np.hypot(1.0, wb), "a": 1.0 / gs,
            "w": wb / gs, "uses_x1": True}


def path_limit(X, y, depth_x1: int = 1, depth_x2: int = 2, *, n_grid: int = 4001) -> dict:
    """The limit of f = (θ₁⋯θ_{k₁})·x₁ + (φ₁⋯φ_{k₂})·x₂ (two diagonal paths of depths k₁, k₂).

    Rates 1/k₁ and 1/k₂ (each path's factors scaled by s^{1/k} multiply f by s), so λ_max belongs to
    the shallower path (both when k₁ = k₂, the homogeneous case). With balanced factors a path of
    depth k costs k|β|^{2/k}, and the book's reconstruction of the theorem gives

        min Σ_{paths with rate λ_max} k_p |β_p|^{2/k_p}   s.t.   β·z_i ≥ 1,

    solved on the unit circle: β = u(φ)/g(φ), g(φ) = min_i z_i·u(φ), over a grid of ``n_grid``
    directions (the axes included exactly) refined by bounded Brent search. (k₁, k₂) = (1, 1) is
    the SVM (:func:`svm_limit`), (1, 2) the toy (:func:`qh_limit`); for k ≥ 3 the objective is
    not convex and this is its global minimum, which the flow (a KKT point) need not reach.
    Returns ``beta`` (unit direction), ``radius`` (ℓ₂ margin) and ``objective``.
    """
    from scipy.optimize import minimize_scalar

    X, y = check_data(X, y)
    k1 = check_scalar(depth_x1, "depth_x1", kind="int", min=1, max=8)
    k2 = check_scalar(depth_x2, "depth_x2", kind="int", min=1, max=8)
    n_grid = check_scalar(n_grid, "n_grid", kind="int", min=16)
    check_memory(8 * array_bytes(n_grid, X.shape[0]), f"a grid of {n_grid} points", hint="reduce n_grid")
    z = y[:, None] * X
    k = np.array([k1, k2], dtype=np.float64)
    on = k == k.min()

    def objective(phi):
        u = np.stack([np.cos(phi), np.sin(phi)], axis=-1)
        g = u @ z.T
        g = g.min(axis=-1)
        beta = u / np.where(g > 0, g, np.nan)[..., None]
        val = (on * k * np.abs(beta) ** (2 / k)).sum(-1)
        return np.where(g > 0, val, np.inf)

    phis = np.concatenate([np.linspace(-np.pi, np.pi, n_grid, endpoint=False),
                           [0.0, np.pi / 2, np.pi, -np.pi / 2]])
    vals = objective(phis)
    j = int(np.argmin(vals))
    if not np.isfinite(vals[j]):
        raise ValueError("X, y are not linearly separable through the origin: no limit")
    best, h = phis[j], 2 * np.pi / n_grid
    res = minimize_scalar(lambda t: float(objective(np.array(t))), bounds=(best - h, best + h),
                          method="bounded", options={"xatol": 1e-12})
    if res.fun < vals[j]:
        best = res.x
    u = np.array([np.cos(best), np.sin(best)])
    return {"beta": u, "radius": float((z @ u).min()), "objective": float(objective(np.array(best)))}


def radius(X, y, beta) -> np.ndarray:
    """Exact ℓ₂ adversarial radius of the linear-in-x classifier sign(β·x) on the data.

    beta (..., 2) → (...,): min_i y_i β·x_i / ‖β‖ (negative if some point is misclassified).
    """
    X, y = check_data(X, y)
    beta = _real(beta, "beta", min_ndim=1)
    if beta.shape[-1] != 2:
        raise ValueError(f"beta must have shape (..., 2), got {beta.shape}")
    if np.any(np.linalg.norm(beta, axis=-1) == 0):
        raise ValueError("beta must be non-zero (a direction)")
    z = y[:, None] * X
    return (beta @ z.T).min(axis=-1) / np.linalg.norm(beta, axis=-1)


# --- models and training ------------------------------------------------------------------------
def linear_model() -> QHModel:
    """f = w·x on R², the homogeneous baseline (rate 1 for both weights)."""
    return QHModel(name="linear_2", groups=(("w", (2,)),), group_rates={"w": 1.0},
                   forward=lambda p, X: torch.einsum("...d,nd->...n", p["w"], X)[..., None], d_in=2,
                   init_std={"w": 1.0})


def qh_model() -> QHModel:
    """f = a·x₁ + u·v·x₂ (``models.mixed_depth(1, 1)``): rates (1, ½, ½)."""
    return mixed_depth(1, 1)


def function_weights(model: QHModel, theta) -> np.ndarray:
    """β (..., 2) of a model that is linear in x, read off as f at the unit inputs e₁, e₂."""
    theta = _theta(_check_qh(model), theta)
    with torch.no_grad():
        return model.f(torch.eye(2, dtype=torch.float64), theta).numpy()


def _structure(model: QHModel, theta: torch.Tensor):
    """β(θ) (S, 2), J = ∂β/∂θ (S, 2, P) and ∇²β₂ (P, P) for the two models linear in x
    (∇²β₁ = 0 for both): f = w·x (β = w) and f = a·x₁ + u·v·x₂ (β = (a, uv))."""
    S = theta.shape[0]
    if model.name == "linear_2":
        J = torch.eye(2, dtype=theta.dtype).expand(S, 2, 2)
        return theta, J, torch.zeros(2, 2, dtype=theta.dtype)
    if model.name == "mixed_depth_1_1":
        a, u, v = theta.unbind(-1)
        zero, one = torch.zeros_like(a), torch.ones_like(a)
        J = torch.stack([torch.stack([one, zero, zero], -1), torch.stack([zero, v, u], -1)], -2)
        H2 = torch.tensor([[0.0, 0, 0], [0, 0, 1], [0, 1, 0]], dtype=theta.dtype)
        return torch.stack([a, u * v], -1), J, H2
    raise TypeError(f"model must be linear_model() or qh_model(), got {model.name!r}")


def log_loss_derivatives(model: QHModel, X, y, theta) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact gradient (S, P) and Hessian (S, P, P) of log L(θ) = log Σ_i exp(−β(θ)·z_i), z_i = y_i x_i.

    With softmax weights s_i ∝ exp(−q_i): ∇_β log L = −Σ s_i z_i =: g, ∇²_β log L = Cov_s(z);
    so ∇_θ = Jᵀg and ∇²_θ = Jᵀ Cov_s(z) J + g₂ ∇²β₂ (the chain rule; ∇²β₁ = 0 here).
    """
    X, y = check_data(X, y)
    theta = _theta(_check_qh(model), theta)
    return _derivatives(model, torch.from_numpy(y[:, None] * X), theta)


def _derivatives(model: QHModel, Z: torch.Tensor, theta: torch.Tensor):
    beta, J, H2 = _structure(model, theta)
    s = torch.softmax(-(beta @ Z.T), dim=-1)  # (S, n)
    mean = s @ Z  # (S, 2)
    cov = torch.einsum("sn,ni,nj->sij", s, Z, Z) - mean[:, :, None] * mean[:, None, :]
    g_beta = -mean
    grad = torch.einsum("sij,si->sj", J, g_beta)
    hess = J.transpose(1, 2) @ cov @ J + g_beta[:, 1, None, None] * H2
    return grad, hess


def train_loss_normalised(model: QHModel, X, y, theta0, *, steps: int, lr: float = 0.5,
                          max_step: float = 1.0, n_record: int = 60,
                          record_every: int | None = None, progress=None) -> dict:
    """Loss-normalised gradient descent on the exponential loss, batched over the rows of theta0.

    θ ← θ − η_k ∇ log L(θ), L(θ) = Σ_i exp(−y_i f(x_i; θ)) (∇ log L = ∇L/L: the loss-normalised
    gradient), through :func:`theory.core.train_batched` (explicit gradients). The step adapts to
    the local curvature, η_k = min(max_step, lr / ρ(∇² log L(θ_k))) per configuration (ρ: the
    spectral radius of the exact Hessian, :func:`log_loss_derivatives`): for the depth-2 path the
    curvature grows like |uv|·Var_s(r), so a fixed step would eventually diverge where the flow
    does not. A per-step scalar only reparametrises time: while the steps are small against the
    growth rates (η·r ≪ 1) the iterates track the gradient flow of log L, i.e. the exponential-loss
    flow in loss-normalised time τ_k = Σ_{j<k} η_j (lower ``max_step`` to track it closely; the
    limit does not depend on it). Recorded at
    ``n_record`` log-spaced steps (plus every ``record_every``-th). Returns ``steps`` (T,),
    ``tau`` (S, T), ``theta`` (S, T, P), ``q_min`` (S, T) = min_i y_i f(x_i), ``beta`` (S, T, 2)
    (function-space weights). log L is a log-sum-exp, finite however large the margins grow.
    """
    X, y = check_data(X, y)
    if not isinstance(model, QHModel) or model.d_in != 2:
        raise TypeError("model must be a QHModel on 2-D inputs")
    theta0 = _theta(model, theta0, "theta0")
    if progress is not None and not isinstance(progress, str):     # a string is the bar's label
        check_bool(progress, "progress")
    if theta0.ndim != 2 or theta0.shape[1] != model.n_params:
        raise ValueError(f"theta0 must have shape (S, {model.n_params}), got {tuple(theta0.shape)}")
    steps = check_scalar(steps, "steps", kind="int", min=1)
    n_record = check_scalar(n_record, "n_record", kind="int", min=2)
    lr = check_scalar(lr, "lr", min=0.0, include_min=False, max=1.9)
    max_step = check_scalar(max_step, "max_step", min=0.0, include_min=False)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    E = torch.eye(2, dtype=torch.float64)
    tau = torch.zeros(theta0.shape[0], dtype=torch.float64)
    Z = Xt * yt[:, None]
    _structure(model, theta0)  # the two models this trainer knows (TypeError otherwise)

    def grad_fn(P, step):
        nonlocal tau
        g, H = _derivatives(model, Z, P["theta"])
        rho = torch.linalg.eigvalsh(H).abs().max(-1).values
        eta = torch.clamp(lr / rho.clamp_min(1e-300), max=max_step)
        tau = tau + eta
        return {"theta": eta[:, None] * g}

    def metrics(P, step):
        th = P["theta"]
        return {"theta": th.clone(), "q_min": (yt * model.f(Xt, th)).min(-1).values,
                "beta": model.f(E, th), "tau": tau.clone()}

    if record_every is not None:
        record_every = check_scalar(record_every, "record_every", kind="int", min=1)
    rec = record_steps(steps, n_log=n_record, every=record_every)
    res = train_batched({"theta": theta0.clone()}, steps=steps, lr=1.0, grad_fn=grad_fn,
                        record=rec, metrics=metrics, progress=progress)
    return {"steps": res.steps, "tau": res["tau"], "theta": res["theta"], "q_min": res["q_min"],
            "beta": res["beta"]}


# --- the attack ---------------------------------------------------------------------------------
def l2_attack(model: QHModel, X, y, theta, *, bisections: int = 36, pgd_steps: int = 3,
              eps_max: float | None = None) -> np.ndarray:
    """The smallest ℓ₂ perturbation that flips each point, found by attack: (S, n) radii.

    For each model (row of theta) and point, bisection on ε ∈ [0, eps_max]: inside the ε-ball,
    ``pgd_steps`` steps of projected gradient ascent on −y f(x + δ) (normalised gradient steps of
    length ε, projected back onto ‖δ‖ ≤ ε); ε is an upper bound when the point is flipped. Uses
    only f and its input gradient (autograd), not the linearity; for a model linear in x the first
    step already lands on the optimum, so the result equals |f(x)|/‖β‖ to the bisection's
    resolution eps_max·2^−bisections. Points that do not flip within eps_max get eps_max.
    """
    X, y = check_data(X, y)
    bisections = check_scalar(bisections, "bisections", kind="int", min=1, max=60)
    pgd_steps = check_scalar(pgd_steps, "pgd_steps", kind="int", min=1)
    theta = _theta(_check_qh(model), theta)
    if theta.ndim != 2 or theta.shape[1] != model.n_params:
        raise ValueError(f"theta must have shape (S, {model.n_params}), got {tuple(theta.shape)}")
    if eps_max is None:
        eps_max = 2.0 * float(np.linalg.norm(X, axis=1).max())
    eps_max = check_scalar(eps_max, "eps_max", min=0.0, include_min=False)
    S, n = theta.shape[0], X.shape[0]
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def score(delta):  # (S, n, 2) → (S, n): y_i f(x_i + δ_{s,i}; θ_s)
        return yt * _rowwise_f(model, Xt[None] + delta, theta)

    def flipped(eps):  # eps (S, n) → bool (S, n)
        delta = torch.zeros(S, n, 2, dtype=torch.float64)
        for _ in range(pgd_steps):
            delta.requires_grad_(True)
            s = score(delta)
            (g,) = torch.autograd.grad(s.sum(), delta)
            with torch.no_grad():
                gn = g.norm(dim=-1, keepdim=True).clamp_min(1e-300)
                delta = delta - eps[..., None] * g / gn
                dn = delta.norm(dim=-1, keepdim=True)
                delta = delta * torch.clamp(eps[..., None] / dn.clamp_min(1e-300), max=1.0)
        with torch.no_grad():
            return score(delta) <= 0

    lo = torch.zeros(S, n, dtype=torch.float64)
    hi = torch.full((S, n), eps_max, dtype=torch.float64)
    for _ in range(bisections):
        mid = 0.5 * (lo + hi)
        f = flipped(mid)
        hi = torch.where(f, mid, hi)
        lo = torch.where(f, lo, mid)
    return hi.numpy()


def _rowwise_f(model: QHModel, Z: torch.Tensor, theta: torch.Tensor, block: int = 48) -> torch.Tensor:
    """f(z_{s,i}; θ_s) for inputs Z (S, n, 2) that differ per model: (S, n). Blocks of ``block``
    models in one call each (every model of the block on every input of the block, then the
    matching rows), so the cost is linear in S."""
    S, n, _ = Z.shape
    out = []
    for start in range(0, S, block):
        zb, tb = Z[start:start + block], theta[start:start + block]
        b = zb.shape[0]
        fb = model.f(zb.reshape(b * n, 2), tb).reshape(b, b, n)
        idx = torch.arange(b)
        out.append(fb[idx, idx])
    return torch.cat(out)


def attack_run(model: QHModel, X, y, run: dict, *, every: int = 1, eps_max: float = 4.0, **kw) -> dict:
    """:func:`l2_attack` on every seed at every ``every``-th record of a run (and the last):
    ``index`` (R,) the records attacked, ``tau`` (S, R), ``radius`` (S, R) (the minimum over
    points: the model's adversarial radius), ``found`` (S·R, n) per point, and ``exact`` (S·R, n)
    = y_i β·x_i/‖β‖ clipped to [0, eps_max] (a misclassified point has radius 0)."""
    X, y = check_data(X, y)
    _check_qh(model)
    every = check_scalar(every, "every", kind="int", min=1)
    if not isinstance(run, dict) or not {"theta", "beta"} <= set(run):
        raise TypeError("run must be the dict returned by train_loss_normalised")
    S, T, P = run["theta"].shape
    idx = np.unique(np.r_[np.arange(0, T, every), T - 1])
    R = idx.size
    found = l2_attack(model, X, y, run["theta"][:, idx].reshape(S * R, P), eps_max=eps_max, **kw)
    beta = run["beta"][:, idx].reshape(S * R, 2)
    exact = (beta @ (y[:, None] * X).T) / np.linalg.norm(beta, axis=1, keepdims=True)
    return {"index": idx, "tau": run["tau"][:, idx], "radius": found.min(axis=1).reshape(S, R),
            "found": found, "exact": np.clip(exact, 0.0, eps_max)}


def angle_to(run: dict, beta) -> np.ndarray:
    """The angle (radians) between each seed's final function-space direction and ``beta``: (S,)."""
    if not isinstance(run, dict) or "beta" not in run:
        raise TypeError("run must be the dict returned by train_loss_normalised")
    b = run["beta"][:, -1]
    beta = _real(beta, "beta", shape=(2,))
    if not np.any(beta != 0):
        raise ValueError("beta must be non-zero (a direction)")
    cos = (b @ beta) / (np.linalg.norm(b, axis=1) * np.linalg.norm(beta))
    return np.arccos(np.clip(cos, -1.0, 1.0))
