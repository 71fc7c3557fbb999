"""Wide and deep linear networks (Kunin et al. 2024, Sec. 4 and App. B): conserved matrices, aligned modes.

For f(x) = W_L ⋯ W_1 x trained by gradient flow W_ℓ' = −η_ℓ ∂L/∂W_ℓ, adjacent layers satisfy
W_{ℓ+1}ᵀ ∂L/∂W_{ℓ+1} = ∂L/∂W_ℓ W_ℓᵀ, so every

    Δ_ℓ = η_ℓ W_{ℓ+1}ᵀ W_{ℓ+1} − η_{ℓ+1} W_ℓ W_ℓᵀ

is conserved (for the single neuron, W_1 = wᵀ and W_2 = a, it is δ = η_w a² − η_a‖w‖²).
With whitened inputs and an initialisation aligned with the singular vectors of the target
β* = U S Vᵀ, W_1 = R diag(w) Vᵀ, W_2 = U diag(a) Rᵀ, each mode (a_i, w_i) is a single neuron with
target s_i, solved in closed form by :func:`theory.rich_lazy.exact.whitened_solution`.
:func:`square_flow` integrates the reduced function-space flow of a square network with Δ = δI,
:func:`linear_descent` is batched descent of many networks at once (on
:func:`theory.core.train_batched`, exact gradients), and :func:`linear_kernel_distance` the NTK
distance without forming the nk×nk kernel. The page's three experiments are
:func:`conservation_experiment`, :func:`aligned_modes_experiment` and
:func:`square_grid_experiment`. Book page: ``book/rich_lazy/linear_networks``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.integrate import solve_ivp

from theory.core import (Result, Sweep, array_bytes, as_array, check_bool, check_finite_state,
                         check_memory, check_scalar, check_seed, first_crossing, positive,
                         record_steps, resolve_device, resolve_dtype, train_batched)
from theory.rich_lazy.exact import whitened_solution

# Steps between two divergence checks inside a descent loop (one reduction over the batch).
_CHECK_EVERY = 32

__all__ = ["AlignedModes", "ConservationCheck", "SquareFlow", "SquareGrid",
           "aligned_modes_experiment", "aligned_two_layer_solution", "conservation_experiment",
           "conserved_matrices", "linear_descent", "linear_kernel_distance", "linear_network_flow",
           "linear_network_gd", "square_flow", "square_grid_experiment", "square_init",
           "square_metric", "square_problem", "WIDTH_SHAPES", "WidthRegimes",
           "width_regime_experiment"]


def _check_chain(weights, name: str = "weights") -> list[np.ndarray]:
    if not isinstance(weights, (list, tuple)) or len(weights) < 2:
        raise TypeError(f"{name} must be a list of at least two 2-D arrays [W_1, …, W_L]")
    Ws = [as_array(W, f"{name}[{i}]", ndim=2, nonempty=True) for i, W in enumerate(weights)]
    for i in range(len(Ws) - 1):
        if Ws[i + 1].shape[1] != Ws[i].shape[0]:
            raise ValueError(f"{name}[{i + 1}] has {Ws[i + 1].shape[1]} columns but {name}[{i}] "
                             f"has {Ws[i].shape[0]} rows: the product W_L ⋯ W_1 is undefined")
    return Ws


def _check_etas(etas, layers: int) -> np.ndarray:
    etas = np.atleast_1d(positive(etas, "etas"))
    if etas.shape != (layers,):
        raise ValueError(f"etas must have one learning rate per layer ({layers}), got {etas.shape}")
    return etas


def conserved_matrices(weights, etas) -> list[np.ndarray]:
    """[Δ_1, …, Δ_{L−1}] with Δ_ℓ = η_ℓ W_{ℓ+1}ᵀW_{ℓ+1} − η_{ℓ+1} W_ℓW_ℓᵀ (paper, App. B; its deep form p. 33)."""
    Ws = _check_chain(weights)
    etas = _check_etas(etas, len(Ws))
    return [etas[i] * Ws[i + 1].T @ Ws[i + 1] - etas[i + 1] * Ws[i] @ Ws[i].T
            for i in range(len(Ws) - 1)]


def _check_problem(weights, X, Y, etas):
    """Validate a regression problem for the chain [W_1, …, W_L]: shapes and one η per layer."""
    Ws = _check_chain(weights)
    X, Y = as_array(X, "X", ndim=2, nonempty=True), as_array(Y, "Y", ndim=2, nonempty=True)
    if X.shape[1] != Ws[0].shape[1] or Y.shape != (X.shape[0], Ws[-1].shape[0]):
        raise ValueError(f"X must be (n, {Ws[0].shape[1]}) and Y (n, {Ws[-1].shape[0]}); got "
                         f"{X.shape} and {Y.shape}")
    etas = _check_etas(etas, len(Ws))
    return Ws, X, Y, etas


def linear_network_gd(X, Y, weights, etas, *, dt: float, steps: int, record_every: int | None = None,
                      device=None) -> list[list[np.ndarray]]:
    """Full-batch gradient descent on L = ½‖X W_1ᵀ ⋯ W_Lᵀ − Y‖²_F (rows of X are samples).

    W_ℓ ← W_ℓ − dt η_ℓ ∂L/∂W_ℓ in float64, the gradients by autograd (an independent reference
    for the hand-written backpropagation of :func:`linear_descent`), on
    :func:`theory.core.train_batched`. Returns the weights at steps 0, ``record_every``,
    2·``record_every``, … and ``steps`` (default: 0 and ``steps``), each a list [W_1, …, W_L].
    Raises :class:`theory.core.DivergenceError` when dt is too large (the loss turns non-finite).
    """
    Ws, X, Y, etas = _check_problem(weights, X, Y, etas)
    dt = check_scalar(dt, "dt", min=0.0, include_min=False)
    steps = check_scalar(steps, "steps", kind="int", min=1)
    every = check_scalar(record_every if record_every is not None else steps, "record_every",
                         kind="int", min=1)
    n_rec = steps // every + 2
    check_memory(n_rec * array_bytes(sum(W.size for W in Ws)),
                 f"recording {n_rec} steps of the weights", hint="record less often")
    device = resolve_device(device)
    Xt = torch.tensor(X, dtype=torch.float64, device=device)
    Yt = torch.tensor(Y, dtype=torch.float64, device=device)
    names = [f"W{l + 1}" for l in range(len(Ws))]

    what = f"gradient descent on the linear network (dt = {dt:g})"

    def grad_fn(P, step):
        with torch.enable_grad():
            h = Xt
            for name in names:
                h = h @ P[name][0].T
            loss = 0.5 * ((h - Yt) ** 2).sum()
            if step % _CHECK_EVERY == 0:
                check_finite_state(loss.detach(), what=what, step=step, hint="reduce dt")
            grads = torch.autograd.grad(loss, [P[name] for name in names])
        return {name: float(eta) * g for name, eta, g in zip(names, etas, grads)}

    params = {name: torch.tensor(W[None], dtype=torch.float64, device=device)
              for name, W in zip(names, Ws)}
    res = train_batched(params, steps=steps, lr=dt, grad_fn=_requires_grad(grad_fn),
                        record=record_steps(steps, every=every), progress=False,
                        metrics=lambda P, step: {name: P[name] for name in names})
    for name in names:
        check_finite_state(res.params[name], what=what, step=steps, hint="reduce dt")
    return [[res[name][0, j] for name in names] for j in range(res.steps.size)]


def _requires_grad(grad_fn):
    """``grad_fn`` on parameters that autograd tracks (the trainer hands over plain tensors)."""
    def wrapped(P, step):
        return grad_fn({k: p.detach().requires_grad_(True) for k, p in P.items()}, step)
    return wrapped


def linear_network_flow(t, X, Y, weights, etas, *, rtol: float = 1e-10, atol: float = 1e-12):
    """Gradient flow Ẇ_ℓ = −η_ℓ ∂L/∂W_ℓ of L = ½‖X W_1ᵀ⋯W_Lᵀ − Y‖²_F by ``solve_ivp`` (Radau).

    An independent reference for descent. Returns the weights at the times t: a list over t of
    [W_1, …, W_L].
    """
    Ws, X, Y, etas = _check_problem(weights, X, Y, etas)
    t = as_array(t, "t", ndim=1, nonempty=True)
    if t.size == 0 or t[0] < 0 or np.any(np.diff(t) < 0):
        raise ValueError("t must be a non-empty, non-negative, non-decreasing array of times")
    rtol = check_scalar(rtol, "rtol", min=0.0, include_min=False)
    atol = check_scalar(atol, "atol", min=0.0, include_min=False)
    shapes = [W.shape for W in Ws]
    cuts = np.cumsum([0] + [W.size for W in Ws])

    def unpack(z):
        return [z[cuts[i]:cuts[i + 1]].reshape(shapes[i]) for i in range(len(shapes))]

    def rhs(_, z):
        P = unpack(z)
        hs = [X]
        for W in P:
            hs.append(hs[-1] @ W.T)
        g, grads = hs[-1] - Y, [None] * len(P)
        for i in range(len(P) - 1, -1, -1):
            grads[i] = g.T @ hs[i]
            g = g @ P[i]
        return np.concatenate([(-e * gr).ravel() for e, gr in zip(etas, grads)])

    sol = solve_ivp(rhs, (0.0, t[-1]), np.concatenate([W.ravel() for W in Ws]), t_eval=t,
                    method="Radau", rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    return [unpack(z) for z in sol.y.T]


def aligned_two_layer_solution(t, U, s, V, a0, w0, eta_1: float = 1.0, eta_2: float = 1.0, *, R=None):
    """Exact W_1(t), W_2(t) of f = W_2W_1x for whitened inputs and a target β* = U diag(s) Vᵀ,
    from the aligned start W_1 = R diag(w0) Vᵀ, W_2 = U diag(a0) Rᵀ (the book's reconstruction; the
    paper, App. B after Theorem B.6, states only that such modes decouple).

    R (h, r) has orthonormal columns (default: I_r, hidden width = rank r). Mode i obeys the single
    neuron's flow ẇ_i = −η_1 a_i(a_iw_i − s_i), ȧ_i = −η_2 w_i(a_iw_i − s_i), i.e.
    ``whitened_solution`` with η_w = η_1, η_a = η_2 and d = 1, and keeps δ_i = η_1a_i² − η_2w_i²;
    Δ = R diag(δ) Rᵀ. Returns arrays W1 (T, h, d), W2 (T, k, h).
    """
    t = as_array(t, "t", ndim=1, nonempty=True)
    if np.any(t < 0):
        raise ValueError("t must be >= 0")
    U, V = as_array(U, "U", ndim=2, nonempty=True), as_array(V, "V", ndim=2, nonempty=True)
    s = positive(s, "s", ndim=1, nonempty=True)
    a0, w0 = as_array(a0, "a0", ndim=1), as_array(w0, "w0", ndim=1)
    eta_1 = check_scalar(eta_1, "eta_1", min=0.0, include_min=False)
    eta_2 = check_scalar(eta_2, "eta_2", min=0.0, include_min=False)
    r = s.size
    if U.shape[1] != r or V.shape[1] != r or a0.size != r or w0.size != r:
        raise ValueError("U (k, r), V (d, r), s, a0 and w0 (r,) must share the rank r")
    R = np.eye(r) if R is None else as_array(R, "R", ndim=2)
    if R.shape[1] != r or R.shape[0] < r or not np.allclose(R.T @ R, np.eye(r), atol=1e-10):
        raise ValueError(f"R must be (h, r = {r}) with h >= r and orthonormal columns, got {R.shape}")
    tr = whitened_solution(t, a0, w0[:, None], s[:, None], eta_a=eta_2, eta_w=eta_1)
    a, w = tr.a, tr.w[..., 0]                                # (r, T)
    W1 = np.einsum("hi,it,di->thd", R, w, V)
    W2 = np.einsum("ki,it,hi->tkh", U, a, R)
    return W1, W2


# ----------------------------------------------------------------------------------------------
# Batched descent, the NTK of a linear network, and the square network with Δ = δI
# ----------------------------------------------------------------------------------------------


def _batched_chain(weights, name: str = "weights") -> list[np.ndarray]:
    if not isinstance(weights, (list, tuple)) or len(weights) < 2:
        raise TypeError(f"{name} must be a list of at least two arrays [W_1, …, W_L], each (B, out, in)")
    Ws = [as_array(W, f"{name}[{i}]", ndim=(2, 3), nonempty=True) for i, W in enumerate(weights)]
    Ws = [W[None] if W.ndim == 2 else W for W in Ws]
    B = max(W.shape[0] for W in Ws)
    for i, W in enumerate(Ws):
        if W.shape[0] not in (1, B):
            raise ValueError(f"{name}[{i}] has batch size {W.shape[0]}, others {B}")
    Ws = [np.broadcast_to(W, (B,) + W.shape[1:]) for W in Ws]
    for i in range(len(Ws) - 1):
        if Ws[i + 1].shape[2] != Ws[i].shape[1]:
            raise ValueError(f"{name}[{i + 1}] has {Ws[i + 1].shape[2]} columns but {name}[{i}] "
                             f"has {Ws[i].shape[1]} rows: the product W_L ⋯ W_1 is undefined")
    return Ws


def _ntk_terms(Ws, etas):
    """[(η_ℓ A_ℓ, B_ℓ)]: K = Σ_ℓ η_ℓ A_ℓ ⊗ X B_ℓ Xᵀ, A_ℓ = P_{>ℓ}P_{>ℓ}ᵀ, B_ℓ = P_{<ℓ}ᵀP_{<ℓ}."""
    L = len(Ws)
    B, k, d = Ws[0].shape[0], Ws[-1].shape[1], Ws[0].shape[2]
    eye_d = torch.eye(d, dtype=Ws[0].dtype, device=Ws[0].device).expand(B, d, d)
    eye_k = torch.eye(k, dtype=Ws[0].dtype, device=Ws[0].device).expand(B, k, k)
    below = [eye_d]                                     # P_{<ℓ}, ℓ = 1..L
    for W in Ws[:-1]:
        below.append(W @ below[-1])
    above = [eye_k]                                     # P_{>ℓ}, ℓ = L..1
    for W in Ws[:0:-1]:
        above.append(above[-1] @ W)
    above = above[::-1]
    return [(etas[:, l, None, None] * (above[l] @ above[l].transpose(1, 2)),
             below[l].transpose(1, 2) @ below[l]) for l in range(L)]


def _kron_inner(terms0, terms1, G):
    """⟨Σ A⊗XBXᵀ, Σ A'⊗XB'Xᵀ⟩_F = Σ tr(AA') tr(BGB'G), G = XᵀX (batched)."""
    out = 0.0
    for A0, B0 in terms0:
        for A1, B1 in terms1:
            out = out + (A0 * A1.transpose(1, 2)).sum((1, 2)) * \
                ((B0 @ G) * (B1 @ G).transpose(1, 2)).sum((1, 2))
    return out


def _kron_distance(terms0, terms, G):
    inner = _kron_inner(terms0, terms, G)
    return 1.0 - inner / torch.sqrt(_kron_inner(terms0, terms0, G) * _kron_inner(terms, terms, G))


def linear_kernel_distance(X, weights0, weights, etas) -> np.ndarray:
    """Kernel distance S = 1 − ⟨K₀, K⟩_F/(‖K₀‖_F‖K‖_F) of the NTK of f(x) = W_L⋯W_1x on the rows of X.

    The NTK is K = Σ_ℓ η_ℓ (P_{>ℓ}P_{>ℓ}ᵀ) ⊗ (X P_{<ℓ}ᵀP_{<ℓ} Xᵀ) with P_{>ℓ} = W_L⋯W_{ℓ+1} and
    P_{<ℓ} = W_{ℓ−1}⋯W_1, so the Frobenius products reduce to traces of k×k and d×d matrices and
    no nk×nk matrix is formed. weights0, weights: lists of (B, out, in) or (out, in) → S (B,).
    """
    X = as_array(X, "X", ndim=2, nonempty=True)
    W0s, Wts = _batched_chain(weights0, "weights0"), _batched_chain(weights, "weights")
    if [W.shape[1:] for W in W0s] != [W.shape[1:] for W in Wts]:
        raise ValueError("weights0 and weights must have the same shapes, got "
                         f"{[W.shape[1:] for W in W0s]} and {[W.shape[1:] for W in Wts]}")
    if X.shape[1] != W0s[0].shape[2]:
        raise ValueError(f"X must have {W0s[0].shape[2]} columns, got {X.shape[1]}")
    B0, Bt = W0s[0].shape[0], Wts[0].shape[0]
    if B0 != Bt and 1 not in (B0, Bt):
        raise ValueError(f"weights0 and weights must have the same batch size B (or 1), got "
                         f"{B0} and {Bt}")
    B, L = max(B0, Bt), len(W0s)
    etas = np.atleast_1d(positive(etas, "etas", nonempty=True))
    if etas.ndim > 2 or etas.shape[-1] != L or (etas.ndim == 2 and etas.shape[0] not in (1, B)):
        raise ValueError(f"etas must have one learning rate per layer: shape ({L},) or ({B}, {L}), "
                         f"got {etas.shape}")
    etas = np.broadcast_to(etas, (B, L))
    t = lambda x: torch.tensor(np.array(x), dtype=torch.float64)  # noqa: E731
    W0s = [t(np.broadcast_to(W, (B,) + W.shape[1:])) for W in W0s]
    Wts = [t(np.broadcast_to(W, (B,) + W.shape[1:])) for W in Wts]
    G = t(X.T @ X).expand(B, X.shape[1], X.shape[1])
    terms0, terms = _ntk_terms(W0s, t(etas)), _ntk_terms(Wts, t(etas))
    for name, tm in (("weights0", terms0), ("weights", terms)):
        if bool((_kron_inner(tm, tm, G) <= 0).any()):
            raise ValueError(f"kernel distance undefined: {name} give a zero kernel on X (the NTK "
                             f"is 0, e.g. all layers zero); S needs ‖K‖_F > 0")
    return _kron_distance(terms0, terms, G).numpy()


def linear_descent(X, Y, weights, etas, *, lr: float, steps: int, record=None, device=None,
                   dtype=None, progress: bool = False) -> Result:
    """Full-batch gradient descent of G linear networks at once, with explicit backpropagation.

    L = ½‖X W_1ᵀ⋯W_Lᵀ − Y‖²_F; with h_0 = X, h_ℓ = h_{ℓ−1}W_ℓᵀ, r = h_L − Y, g_L = r and
    g_{ℓ−1} = g_ℓW_ℓ, the gradient is ∂L/∂W_ℓ = g_ℓᵀh_{ℓ−1} and W_ℓ ← W_ℓ − lr η_ℓ ∂L/∂W_ℓ
    (:func:`theory.core.train_batched` with ``grad_fn``). X (n, d) shared; Y (n, k) or (G, n, k);
    weights: list of (G, out, in); etas (L,) or (G, L). ``record``: the steps recorded
    (:func:`theory.core.record_steps`; default 0 and ``steps``).

    Returns a :class:`theory.core.Result` whose metrics are (G, T, ...): ``train_loss``
    ½‖XW_1ᵀ⋯W_Lᵀ − Y‖²_F, ``kernel_distance`` of the NTK on X from step 0
    (:func:`linear_kernel_distance`), ``delta_drift`` the largest entry of |Δ_ℓ(step) − Δ_ℓ(0)|
    over every adjacent pair (paper, App. B), and the weights ``W1`` … ``WL``.

    Raises :class:`theory.core.DivergenceError` (a ``ValueError`` naming the step) when lr is
    too large and the networks' outputs turn non-finite (checked every 32 steps and at the end);
    the records' memory is checked before training.
    """
    Ws = _batched_chain(weights)
    B, L = Ws[0].shape[0], len(Ws)
    X = as_array(X, "X", ndim=2, nonempty=True)
    Y = as_array(Y, "Y", ndim=(2, 3), nonempty=True)
    n, k = X.shape[0], Ws[-1].shape[1]
    if X.shape[1] != Ws[0].shape[2] or Y.shape[-2:] != (n, k) or (Y.ndim == 3 and Y.shape[0] != B):
        raise ValueError(f"X must be (n, {Ws[0].shape[2]}) and Y (n, {k}) or ({B}, n, {k}); "
                         f"got {X.shape} and {Y.shape}")
    etas = np.atleast_1d(positive(etas, "etas", nonempty=True))
    if etas.shape[-1] != L or etas.ndim > 2 or (etas.ndim == 2 and etas.shape[0] not in (1, B)):
        raise ValueError(f"etas must have one learning rate per layer: shape ({L},) or ({B}, {L}), "
                         f"got shape {etas.shape}")
    etas = np.broadcast_to(etas, (B, L))
    lr = check_scalar(lr, "lr", min=0.0, include_min=False)
    steps = check_scalar(steps, "steps", kind="int", min=1)
    progress = check_bool(progress, "progress")
    n_rec = 2 + (0 if record is None else len(record) if hasattr(record, "__len__")
                 else int(np.size(record)))
    row = B * (sum(W[0].size for W in Ws) + 3)
    check_memory(array_bytes(n_rec, row), f"recording {n_rec} steps of {B} networks",
                 hint="record fewer steps")
    try:
        rec = record_steps(steps, at=[] if record is None else record)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"record must be integer steps in [0, steps={steps}]: {exc}") from None
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    what = f"gradient descent on {B} linear networks (lr = {lr:g})"

    def T(x):
        return torch.tensor(np.array(x), dtype=dtype, device=device)

    Xt, Yt = T(X), T(np.broadcast_to(Y, (B, n, k)))
    Xb = Xt.expand(B, n, X.shape[1])
    G = (Xt.T @ Xt).expand(B, X.shape[1], X.shape[1])
    eta_t = T(etas)
    names = [f"W{l + 1}" for l in range(L)]
    params = {name: T(W) for name, W in zip(names, Ws)}

    def forward(P):
        hs = [Xb]
        for name in names:
            hs.append(hs[-1] @ P[name].transpose(1, 2))
        return hs

    def deltas(Ps):
        return [eta_t[:, l, None, None] * Ps[l + 1].transpose(1, 2) @ Ps[l + 1]
                - eta_t[:, l + 1, None, None] * Ps[l] @ Ps[l].transpose(1, 2) for l in range(L - 1)]

    def grad_fn(P, step):
        hs = forward(P)
        g, grads = hs[-1] - Yt, {}
        if step % _CHECK_EVERY == 0:
            check_finite_state(g, what=what, step=step, hint="reduce lr")
        for l in range(L - 1, -1, -1):
            grads[names[l]] = eta_t[:, l, None, None] * (g.transpose(1, 2) @ hs[l])
            g = g @ P[names[l]]
        return grads

    Ps0 = [params[name] for name in names]
    D0, K0 = deltas(Ps0), _ntk_terms(Ps0, eta_t)

    def metrics(P, step):
        Ps = [P[name] for name in names]
        r = forward(P)[-1] - Yt
        drift = torch.stack([(D - D_0).abs().amax((1, 2)) for D, D_0 in zip(deltas(Ps), D0)])
        return {"train_loss": 0.5 * (r * r).sum((1, 2)),
                "kernel_distance": _kron_distance(K0, _ntk_terms(Ps, eta_t), G),
                "delta_drift": drift.amax(0), **{name: P[name] for name in names}}

    res = train_batched(params, steps=steps, lr=lr, grad_fn=grad_fn, record=rec, metrics=metrics,
                        progress=f"{B} linear networks, batched" if progress else False)
    for name in names:
        check_finite_state(res.params[name], what=what, step=steps, hint="reduce lr")
    return res


def square_init(beta0, delta, eta_1: float = 1.0, eta_2: float = 1.0, *, R=None):
    """Square weights (W_1, W_2) with W_2W_1 = β₀ and Δ = η_1W_2ᵀW_2 − η_2W_1W_1ᵀ = δI.

    The matrix analogue of the single neuron's ``init_from_beta``: W_1 = R (B̃₀/η_2)^{1/2} and
    W_2 = β₀W_1⁻¹, with B̃₀ = (−δI + √(δ²I + 4η_1η_2β₀ᵀβ₀))/2 (:func:`square_metric`) and R an
    orthogonal matrix (default I). So the initial function is held fixed while δ varies, as in
    the paper's figures. beta0 (B, d, d) full rank, delta scalar or (B,) → W1, W2 (B, d, d).
    """
    beta0 = as_array(beta0, "beta0", ndim=(2, 3), nonempty=True)
    beta0 = beta0[None] if beta0.ndim == 2 else beta0
    Bn, d = beta0.shape[:2]
    if beta0.shape[2] != d:
        raise ValueError(f"beta0 must be square, got {beta0.shape[1:]}")
    delta = np.broadcast_to(_batch_delta(delta, Bn), (Bn,)).copy()
    eta_1 = check_scalar(eta_1, "eta_1", min=0.0, include_min=False)
    eta_2 = check_scalar(eta_2, "eta_2", min=0.0, include_min=False)
    sv = np.linalg.svd(beta0, compute_uv=False)
    if np.any(sv[:, -1] <= 1e-12 * np.maximum(sv[:, 0], 1e-300)):
        raise ValueError("beta0 must be full rank (every W_1 with Δ = δI is then invertible)")
    _, Bt = square_metric(beta0, delta, eta_1, eta_2)
    lam, V = np.linalg.eigh(Bt / eta_2)
    W1 = (V * np.sqrt(np.maximum(lam, 0.0))[:, None, :]) @ np.swapaxes(V, 1, 2)
    if R is not None:
        R = as_array(R, "R", ndim=(2, 3))
        if R.shape[-2:] != (d, d) or not np.allclose(R @ np.swapaxes(R, -1, -2), np.eye(d), atol=1e-10):
            raise ValueError(f"R must be an orthogonal {d}×{d} matrix (or a batch of them)")
        W1 = R @ W1
    W2 = beta0 @ np.linalg.inv(W1)
    return W1, W2


def _batch_delta(delta, B: int) -> np.ndarray:
    """δ as a (1,) or (B,) array: a scalar, or one value per matrix of the batch."""
    delta = np.atleast_1d(as_array(delta, "delta", ndim=(0, 1), nonempty=True))
    if delta.shape[0] not in (1, B):
        raise ValueError(f"delta must be a scalar or have one entry per matrix ({B}), got shape "
                         f"{delta.shape}")
    return delta


def _psd_sqrt_shift(M, delta, sign):
    """(sign·δ I + √(δ² I + 4M))/2 for symmetric PSD M (batched numpy), without cancellation."""
    lam, V = np.linalg.eigh(M)
    lam = np.maximum(lam, 0.0)
    dl = np.abs(delta)[:, None]
    root = np.sqrt(dl**2 + 4.0 * lam)
    with np.errstate(divide="ignore", invalid="ignore"):
        small = np.where(dl + root > 0, 2.0 * lam / (dl + root), 0.0)
    e = np.where(sign * delta[:, None] >= 0, (dl + root) / 2.0, small)
    return (V * e[:, None, :]) @ np.swapaxes(V, 1, 2)


def square_metric(beta, delta, eta_1: float = 1.0, eta_2: float = 1.0):
    """(Ã, B̃) with β̇ = −(Ã ∇_βL + ∇_βL B̃) for f = W_2W_1x when Δ = δI and the layers are square.

    Ã = η_1W_2W_2ᵀ = (δI + √(δ²I + 4η_1η_2ββᵀ))/2 and B̃ = η_2W_1ᵀW_1 = (−δI + √(δ²I + 4η_1η_2βᵀβ))/2,
    since η_1η_2ββᵀ = Ã² − δÃ and η_1η_2βᵀβ = B̃² + δB̃ (derived in the linear-networks notebook; the
    matrix analogue of the single neuron's u, v; the book's reconstruction, standing in for the paper's
    Theorem 4.2, whose statement is not available). beta (B, d, d), delta (B,) → two (B, d, d).
    """
    beta = as_array(beta, "beta", ndim=(2, 3), nonempty=True)
    beta = beta[None] if beta.ndim == 2 else beta
    if beta.shape[1] != beta.shape[2]:
        raise ValueError(f"beta must be square (the closed form needs square layers), got {beta.shape[1:]}")
    delta = np.broadcast_to(_batch_delta(delta, beta.shape[0]), beta.shape[:1])
    c = (check_scalar(eta_1, "eta_1", min=0.0, include_min=False)
         * check_scalar(eta_2, "eta_2", min=0.0, include_min=False))
    bT = np.swapaxes(beta, 1, 2)
    return _psd_sqrt_shift(c * beta @ bT, delta, +1.0), _psd_sqrt_shift(c * bT @ beta, delta, -1.0)


@dataclass(frozen=True)
class SquareFlow:
    """Function-space gradient flow of a square two-layer linear network with Δ = δI.

    t (T,); beta (B, T, d, d); loss (B, T); kernel_distance (B, T) of the NTK on X from t = 0.
    """

    t: np.ndarray
    beta: np.ndarray
    loss: np.ndarray
    kernel_distance: np.ndarray


def square_flow(t, X, Y, beta0, delta, eta_1: float = 1.0, eta_2: float = 1.0, *,
                rtol: float = 1e-10, atol: float = 1e-12) -> SquareFlow:
    """Integrate β̇ = −(Ã(β)∇L + ∇L B̃(β)), ∇L = (βXᵀ − Yᵀ)X, with ``solve_ivp`` (DOP853).

    The reduced (function-space) equation of :func:`square_metric`: it needs β₀ and δ only, not
    the weights. beta0 (B, d, d) or (d, d), delta scalar or (B,); X (n, d), Y (n, d).
    """
    t = as_array(t, "t", ndim=1, nonempty=True)
    if t.size == 0 or np.any(np.diff(t) < 0) or t[0] < 0:
        raise ValueError("t must be non-negative and increasing")
    rtol = check_scalar(rtol, "rtol", min=0.0, include_min=False)
    atol = check_scalar(atol, "atol", min=0.0, include_min=False)
    eta_1 = check_scalar(eta_1, "eta_1", min=0.0, include_min=False)
    eta_2 = check_scalar(eta_2, "eta_2", min=0.0, include_min=False)
    X, Y = as_array(X, "X", ndim=2, nonempty=True), as_array(Y, "Y", ndim=2, nonempty=True)
    beta0 = as_array(beta0, "beta0", ndim=(2, 3), nonempty=True)
    beta0 = beta0[None] if beta0.ndim == 2 else beta0
    Bn, d = beta0.shape[0], beta0.shape[1]
    if beta0.shape[2] != d or X.shape[1] != d or Y.shape != (X.shape[0], d):
        raise ValueError(f"need beta0 (B, d, d), X (n, d), Y (n, d); got {beta0.shape}, {X.shape}, {Y.shape}")
    delta = np.broadcast_to(_batch_delta(delta, Bn), (Bn,))
    G, YX = X.T @ X, Y.T @ X
    betas = np.empty((Bn, t.size, d, d))
    for i in range(Bn):
        def rhs(_, z, i=i):
            b = z.reshape(d, d)
            A, Bm = square_metric(b, delta[i], eta_1, eta_2)
            grad = b @ G - YX
            return -(A[0] @ grad + grad @ Bm[0]).ravel()
        sol = solve_ivp(rhs, (t[0], t[-1]), beta0[i].ravel(), t_eval=t, method="DOP853",
                        rtol=rtol, atol=atol)
        if not sol.success:
            raise RuntimeError(f"solve_ivp failed for run {i}: {sol.message}")
        betas[i] = sol.y.T.reshape(t.size, d, d)
    resid = np.einsum("nd,btkd->btnk", X, betas) - Y
    loss = 0.5 * np.sum(resid**2, axis=(-1, -2))
    flat = betas.reshape(-1, d, d)
    A, Bm = square_metric(flat, np.repeat(delta, t.size), eta_1, eta_2)
    tt = lambda x: torch.tensor(x)  # noqa: E731
    eye = torch.eye(d, dtype=torch.float64).expand(flat.shape[0], d, d)
    terms = [(tt(A), eye), (eye, tt(Bm))]
    first = np.arange(Bn) * t.size
    terms0 = [(a_[first].repeat_interleave(t.size, 0), b_[first].repeat_interleave(t.size, 0))
              for a_, b_ in terms]
    S = _kron_distance(terms0, terms, tt(G).expand(flat.shape[0], d, d)).numpy()
    return SquareFlow(t=t, beta=betas, loss=loss, kernel_distance=S.reshape(Bn, t.size))


# ----------------------------------------------------------------------------------------------
# The page's experiments: conservation, aligned modes, the square-network grid
# ----------------------------------------------------------------------------------------------


def square_problem(d: int = 4, seed: int = 0, singular_values=(2.0, 1.5, 1.0, 0.5)):
    """The square-network task of the linear-networks page: whitened X (2d × d, orthonormal
    columns), a target β* = U diag(s) Vᵀ with the given singular values, and a random direction
    G (d × d, entries N(0, 1/d)) for the initial function β₀ = τ²G; numpy ``default_rng(seed)``.
    Returns (X, Y = Xβ*ᵀ, beta_star, G)."""
    d = check_scalar(d, "d", kind="int", min=1)
    seed = check_seed(seed, "seed")
    s = positive(singular_values, "singular_values", ndim=1)
    if s.shape != (d,):
        raise ValueError(f"singular_values must have d = {d} entries, got {s.shape}")
    rng = np.random.default_rng(seed)
    X = np.linalg.qr(rng.normal(size=(2 * d, d)))[0]
    U = np.linalg.qr(rng.normal(size=(d, d)))[0]
    V = np.linalg.qr(rng.normal(size=(d, d)))[0]
    beta_star = U @ np.diag(s) @ V.T
    G = rng.normal(size=(d, d)) / np.sqrt(d)
    return X, X @ beta_star.T, beta_star, G


def _page_problems(seed: int):
    """The random problems of the page's first two experiments, drawn in the page's order from
    one ``default_rng(seed)``: a 5→8→6→3 regression with 8 random networks, then the aligned
    5→7→4 network's U (4×3), V (5×3), R (7×3) and whitened X (12×5)."""
    rng = np.random.default_rng(seed)
    shapes = [(8, 5), (6, 8), (3, 6)]
    X, Y = rng.normal(size=(20, 5)) / np.sqrt(5), rng.normal(size=(20, 3))
    W_init = [0.6 * rng.normal(size=(8,) + s) / np.sqrt(s[1]) for s in shapes]
    U = np.linalg.qr(rng.normal(size=(4, 3)))[0]
    V = np.linalg.qr(rng.normal(size=(5, 3)))[0]
    R = np.linalg.qr(rng.normal(size=(7, 3)))[0]
    Xa = np.linalg.qr(rng.normal(size=(12, 5)))[0]
    return (X, Y, W_init), (U, V, R, Xa)


@dataclass(frozen=True)
class ConservationCheck:
    """Δ_ℓ along gradient flow and descent of a 5→8→6→3 network (:func:`conservation_experiment`).

    flow_drift: max entry of |Δ_ℓ(t_end) − Δ_ℓ(0)| under the flow (first network); moved: the
    largest weight change over the flow; lrs (2,); descent_drift (2, 8): that drift after descent
    to t_end at each lr, per network; ratio (8,): descent_drift[0]/descent_drift[1].
    """

    t_end: float
    etas: np.ndarray
    flow_drift: float
    moved: float
    lrs: np.ndarray
    descent_drift: np.ndarray
    ratio: np.ndarray

    def summary(self) -> str:
        """The numbers the page prints."""
        return (f"flow: max |Δ(t) − Δ(0)| = {self.flow_drift:.1e} while the weights moved by up to "
                f"{self.moved:.2f}\ndescent, {self.ratio.size} networks, t = {self.t_end:g}: drift at "
                f"lr = {self.lrs[0]:g}: {self.descent_drift[0].max():.2e}, at {self.lrs[1]:g}: "
                f"{self.descent_drift[1].max():.2e}; ratios {self.ratio.min():.3f} … {self.ratio.max():.3f}")


def conservation_experiment(*, seed: int = 0, t_end: float = 3.0, lrs=(4e-3, 2e-3),
                            etas=(0.5, 1.0, 2.0)) -> ConservationCheck:
    """dΔ_ℓ/dt = 0 (paper, App. B) checked numerically on a wide, deep 5→8→6→3 network.

    The flow (:func:`linear_network_flow`, Radau, rtol 1e-11) of the first of 8 random networks
    conserves Δ_1, Δ_2 to integration error; descent (:func:`linear_descent`, all 8 batched) moves
    them by O(lr²) a step, O(lr) to a fixed time, so the drift ratio between the two ``lrs`` is
    their ratio.
    """
    seed = check_seed(seed, "seed")
    t_end = check_scalar(t_end, "t_end", min=0.0, include_min=False)
    lrs = positive(lrs, "lrs")
    if lrs.shape != (2,):
        raise ValueError(f"lrs must be two learning rates, got shape {lrs.shape}")
    if np.any(lrs > t_end):
        raise ValueError(f"lrs must be <= t_end = {t_end:g} (at least one step), got {lrs.tolist()}")
    etas = positive(etas, "etas", ndim=1)
    if etas.shape != (3,):
        raise ValueError(f"etas must be three learning rates (one per layer of the 5→8→6→3 "
                         f"network), got shape {etas.shape}")
    (X, Y, W_init), _ = _page_problems(seed)
    flow = linear_network_flow([0.0, t_end], X, Y, [W[0] for W in W_init], etas,
                               rtol=1e-11, atol=1e-12)
    flow_drift = max(np.abs(D1 - D0).max() for D0, D1 in
                     zip(conserved_matrices(flow[0], etas), conserved_matrices(flow[-1], etas)))
    moved = max(np.abs(W1 - W0).max() for W0, W1 in zip(flow[0], flow[-1]))
    drift = np.stack([linear_descent(X, Y, W_init, etas, lr=float(lr),
                                     steps=int(round(t_end / lr)))["delta_drift"][:, -1]
                      for lr in lrs])
    return ConservationCheck(t_end=t_end, etas=etas, flow_drift=float(flow_drift),
                             moved=float(moved), lrs=lrs, descent_drift=drift,
                             ratio=drift[0] / drift[1])


@dataclass(frozen=True)
class AlignedModes:
    """Exact aligned-mode solution against descent of a 5→7→4 network (:func:`aligned_modes_experiment`).

    s (r,): the target's singular values; patterns (P, r): δ_i per mode for each run; t (T,):
    the recorded descent times; t_fine (T_f,); sv_exact (P, T_f, r) and sv_gd (P, T, r): the
    singular values of β(t) = W₂W₁, exact and by descent; beta_error (P,): max |β_GD − β_exact|
    over the records; delta_error (P,): max |Δ_GD(t_end) − R diag(δ)Rᵀ|.
    """

    s: np.ndarray
    patterns: np.ndarray
    lr: float
    t: np.ndarray
    t_fine: np.ndarray
    sv_exact: np.ndarray
    sv_gd: np.ndarray
    beta_error: np.ndarray
    delta_error: np.ndarray

    def summary(self) -> str:
        """The numbers the page prints."""
        return "\n".join(f"δ pattern {p}: max |β_GD − β_exact| = {e:.2e}, |Δ_GD(T) − R diag(δ) Rᵀ| = "
                         f"{de:.1e}" for p, e, de in zip(self.patterns, self.beta_error, self.delta_error))


def aligned_modes_experiment(*, seed: int = 0, s=(2.0, 1.0, 0.5),
                             patterns=((0.0, 0.0, 0.0), (1.0, 1.0, 1.0), (-1.0, 0.0, 1.0)),
                             b0: float = 1e-2, lr: float = 1e-3, t_end: float = 12.0,
                             record_every: int = 200, n_fine: int = 400) -> AlignedModes:
    """Whitened inputs, target β* = U diag(s)Vᵀ, aligned start W_1 = R diag(w)Vᵀ, W_2 = U diag(a)Rᵀ
    with a_iw_i = b0 and a_i² − w_i² = δ_i: :func:`aligned_two_layer_solution` (each mode a single
    neuron; the book's reconstruction) against :func:`linear_descent` of the full network, all patterns in one
    batch. U, V, R and X (n = 12) come from the page's random stream (seed)."""
    seed = check_seed(seed, "seed")
    s = positive(s, "s")
    patterns = as_array(patterns, "patterns", ndim=2, nonempty=True)
    if s.ndim != 1 or patterns.shape[1] != s.size or s.size != 3:
        raise ValueError(f"s must be 3 singular values and patterns (P, 3), got {s.shape}, "
                         f"{patterns.shape}")
    b0 = check_scalar(b0, "b0", min=0.0, include_min=False)
    lr = check_scalar(lr, "lr", min=0.0, include_min=False)
    t_end = check_scalar(t_end, "t_end", min=0.0, include_min=False)
    if lr > t_end:
        raise ValueError(f"lr must be <= t_end = {t_end:g} (at least one step), got {lr:g}")
    record_every = check_scalar(record_every, "record_every", kind="int", min=1)
    n_fine = check_scalar(n_fine, "n_fine", kind="int", min=2)
    _, (U, V, R, X) = _page_problems(seed)
    Y = X @ (U @ np.diag(s) @ V.T).T
    a_init = np.sqrt((patterns + np.sqrt(patterns**2 + 4 * b0**2)) / 2)   # a_i w_i = b0, δ_i
    w_init = b0 / a_init
    W1_0 = np.einsum("hi,pi,di->phd", R, w_init, V)
    W2_0 = np.einsum("ki,pi,hi->pkh", U, a_init, R)
    steps = int(round(t_end / lr))
    run = linear_descent(X, Y, [W1_0, W2_0], [1.0, 1.0], lr=lr, steps=steps,
                         record=record_steps(steps, every=record_every))
    t, t_fine, r = run.steps * lr, np.linspace(0, t_end, n_fine), s.size
    out = {k: [] for k in ("err", "sv_exact", "sv_gd", "delta")}
    for p in range(len(patterns)):
        W1e, W2e = aligned_two_layer_solution(t, U, s, V, a_init[p], w_init[p], R=R)
        beta_gd = run["W2"][p] @ run["W1"][p]
        out["err"].append(np.abs(beta_gd - W2e @ W1e).max())
        W1f, W2f = aligned_two_layer_solution(t_fine, U, s, V, a_init[p], w_init[p], R=R)
        out["sv_exact"].append(np.linalg.svd(W2f @ W1f, compute_uv=False)[:, :r])
        out["sv_gd"].append(np.linalg.svd(beta_gd, compute_uv=False)[:, :r])
        D = conserved_matrices([run["W1"][p, -1], run["W2"][p, -1]], [1.0, 1.0])[0]
        out["delta"].append(np.abs(D - R @ np.diag(patterns[p]) @ R.T).max())
    return AlignedModes(s=s, patterns=patterns, lr=lr, t=t, t_fine=t_fine,
                        sv_exact=np.stack(out["sv_exact"]), sv_gd=np.stack(out["sv_gd"]),
                        beta_error=np.array(out["err"]), delta_error=np.array(out["delta"]))


@dataclass(frozen=True)
class SquareGrid:
    """Square networks with Δ = δI over a (τ, δ, seed) sweep (:func:`square_grid_experiment`).

    sweep: Sweep(tau, delta, seed); t (T,) the recorded times; kernel_distance (τ, δ, seed, T)
    by descent, flow_kernel_distance (τ, δ, T) by the reduced flow (seed 0); t_fit (τ, δ, seed):
    the first recorded time with loss ≤ fit_fraction·loss(0) (inf: never); init_delta_error:
    max |Δ − δI| at initialisation; beta_error, kernel_error: max |β_GD − β_flow| and
    |S_GD − S_flow| (seed 0); metric_error: max |η₁W₂W₂ᵀ − Ã(β)| along descent (seed 0).
    """

    sweep: Sweep
    lr: float
    t: np.ndarray
    kernel_distance: np.ndarray
    flow_kernel_distance: np.ndarray
    t_fit: np.ndarray
    init_delta_error: float
    beta_error: float
    kernel_error: float
    metric_error: float

    @property
    def taus(self) -> np.ndarray:
        return np.array(self.sweep.axes["tau"])

    @property
    def deltas(self) -> np.ndarray:
        return np.array(self.sweep.axes["delta"])

    @property
    def S_end(self) -> np.ndarray:
        """Kernel distance at the end, (τ, δ, seed)."""
        return self.kernel_distance[..., -1]

    @property
    def S_mean(self) -> np.ndarray:
        """Kernel distance at the end, mean over seeds, (τ, δ)."""
        return self.S_end.mean(-1)

    @property
    def t_fit_median(self) -> np.ndarray:
        """Median over seeds of the time to fit, (τ, δ)."""
        return np.median(self.t_fit, axis=-1)

    @property
    def balanced(self) -> int:
        """The index of δ = 0 on the δ axis."""
        hits = np.flatnonzero(self.deltas == 0)
        if hits.size == 0:
            raise ValueError("the sweep has no δ = 0")
        return int(hits[0])

    def checks(self) -> str:
        """The comparison of descent with the reduced flow, as the page prints it."""
        return (f"{len(self.sweep)} networks; init: max |Δ − δI| = {self.init_delta_error:.1e};  "
                f"reduced flow vs descent: max |Δβ| = {self.beta_error:.2e}, max |ΔS| = "
                f"{self.kernel_error:.2e}, max |W₂W₂ᵀ − Ã(β)| = {self.metric_error:.2e}")

    def summary(self) -> str:
        """S(t_end) per τ over δ and the median times to fit, as the page prints them."""
        j0, med = self.balanced, self.t_fit_median
        rows = [f"τ = {tau:.3g}: S({self.t[-1]:g}) over δ = {np.round(S, 3)}"
                for tau, S in zip(self.taus, self.S_mean)]
        rows.append(f"median time to fit over δ at τ = {self.taus[0]:.2g}: {np.round(med[0], 2)}")
        rows.append(f"median time to fit at δ = 0 over τ: {np.round(med[:, j0], 2)}; runs not fitted "
                    f"by t = {self.t[-1]:g}: {int(np.isinf(self.t_fit).sum())}")
        return "\n".join(rows)


def square_grid_experiment(taus=tuple(np.logspace(-1, 0.3, 5)),
                           deltas=(-4.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 4.0), n_seeds: int = 3,
                           *, lr: float = 2e-3, t_end: float = 40.0,
                           n_records: int = 80, fit_fraction: float = 1e-3,
                           progress: bool = False) -> SquareGrid:
    """Descent of square two-layer networks (:func:`square_problem`, d = 4) from β₀ = τ²G_seed with
    Δ = δI (:func:`square_init`), over Sweep(tau, delta, seed), all in one batch, against the
    reduced flow β̇ = −(Ã∇L + ∇LB̃) (:func:`square_flow`, the book's reconstruction) for seed 0.
    Records every ``steps // n_records`` steps; G_seed = ``square_problem(seed=seed)``'s G."""
    n_seeds = check_scalar(n_seeds, "n_seeds", kind="int", min=1)
    lr = check_scalar(lr, "lr", min=0.0, include_min=False)
    t_end = check_scalar(t_end, "t_end", min=0.0, include_min=False)
    n_records = check_scalar(n_records, "n_records", kind="int", min=1)
    fit_fraction = check_scalar(fit_fraction, "fit_fraction", min=0.0, max=1.0, include_min=False)
    progress = check_bool(progress, "progress")
    if lr > t_end:
        raise ValueError(f"lr must be <= t_end = {t_end:g} (at least one step), got {lr:g}")
    sweep = Sweep(tau=positive(taus, "taus", ndim=1, nonempty=True),
                  delta=as_array(deltas, "deltas", ndim=1, nonempty=True), seed=np.arange(n_seeds))
    X, Y, _, _ = square_problem()
    d = X.shape[1]
    G_init = np.stack([square_problem(seed=s)[3] for s in range(n_seeds)])
    tau, delta, seed = sweep.column("tau"), sweep.column("delta"), sweep.column("seed")
    beta0 = tau[:, None, None] ** 2 * G_init[seed]
    W1_0, W2_0 = square_init(beta0, delta)
    init_err = max(np.abs(conserved_matrices([W1_0[i], W2_0[i]], [1.0, 1.0])[0]
                          - delta[i] * np.eye(d)).max() for i in range(len(sweep)))
    steps = int(round(t_end / lr))
    grid = linear_descent(X, Y, [W1_0, W2_0], [1.0, 1.0], lr=lr, steps=steps,
                          record=record_steps(steps, every=max(1, steps // n_records)),
                          progress=progress)
    t = grid.steps * lr
    first = seed == 0
    flows = square_flow(t, X, Y, beta0[first], delta[first], rtol=1e-9, atol=1e-11)
    beta_gd = grid["W2"][first] @ grid["W1"][first]
    W2 = grid["W2"][first]
    A_th, _ = square_metric(beta_gd.reshape(-1, d, d), np.repeat(delta[first], t.size))
    metric_err = np.abs((W2 @ np.swapaxes(W2, -1, -2)).reshape(-1, d, d) - A_th).max()
    loss = grid["train_loss"]
    t_fit = first_crossing(loss / loss[:, :1], t, fit_fraction, direction="below")
    shape = sweep.shape
    return SquareGrid(sweep=sweep, lr=lr, t=t,
                      kernel_distance=grid["kernel_distance"].reshape(shape + (t.size,)),
                      flow_kernel_distance=flows.kernel_distance.reshape(shape[:2] + (t.size,)),
                      t_fit=np.where(np.isnan(t_fit), np.inf, t_fit).reshape(shape),
                      init_delta_error=float(init_err),
                      beta_error=float(np.abs(beta_gd - flows.beta).max()),
                      kernel_error=float(np.abs(grid["kernel_distance"][first]
                                                - flows.kernel_distance).max()),
                      metric_error=float(metric_err))


# ---- narrowing and expanding networks: the delayed rich regime (paper, Sec. 4, p. 7) ----------

WIDTH_SHAPES = {"narrowing": (4, 2, 1), "expanding": (1, 2, 4)}
"""(d, h, c) of the two networks of :func:`width_regime_experiment`: min(d, c) ≤ h < max(d, c)."""


@dataclass(frozen=True)
class WidthRegimes:
    """:func:`width_regime_experiment`: per shape (narrowing, expanding) and δ, arrays (shape, δ, ...).

    deltas (P,); t (T,) the recorded times; S_t (2, P, T) kernel distance from t = 0; loss_t
    (2, P, T); S_end (2, P); t_fit (2, P) the time at which the loss first falls below 10⁻³ of its
    start (NaN if never); :meth:`sides` gives, per shape, the index of the largest |δ| on the
    lazy side and on the delayed side (narrowing: lazy δ > 0; expanding: lazy δ < 0)."""

    deltas: np.ndarray
    t: np.ndarray
    S_t: np.ndarray
    loss_t: np.ndarray
    tau: float

    shapes = tuple(WIDTH_SHAPES)

    @property
    def S_end(self) -> np.ndarray:
        return self.S_t[..., -1]

    @property
    def t_fit(self) -> np.ndarray:
        rel = self.loss_t / self.loss_t[..., :1]
        return np.array([[first_crossing(rel[s, p], self.t, 1e-3, direction="below")
                          for p in range(self.deltas.size)] for s in range(2)])

    def sides(self) -> tuple[np.ndarray, np.ndarray]:
        """(lazy, delayed): the δ index of each per shape, at the largest |δ|."""
        hi, lo = int(np.argmax(self.deltas)), int(np.argmin(self.deltas))
        return np.array([hi, lo]), np.array([lo, hi])

    def summary(self) -> str:
        rows = [f"τ = {self.tau:g}, whitened X, δ = {self.deltas}"]
        for s, name in enumerate(self.shapes):
            d, h, c = WIDTH_SHAPES[name]
            rows.append(f"{name} {d}→{h}→{c}: S(end) = {np.round(self.S_end[s], 4)}; "
                        f"time to fit = {np.round(self.t_fit[s], 2)}")
        return "\n".join(rows)


def width_regime_experiment(deltas=(-4.0, -1.0, 0.0, 1.0, 4.0), *, tau: float = 0.1,
                            lr: float = 0.01, steps: int = 8000, n: int = 8,
                            seed: int = 0) -> WidthRegimes:
    """The delayed rich regime of Sec. 4, p. 7: a narrowing 4→2→1 and an expanding 1→2→4 network
    (min(d, c) ≤ h < max(d, c)), whitened inputs (n points), a unit-norm random target, neurons
    with random directions, ‖a_k‖‖w_k‖ = τ² and δ_k = ‖a_k‖² − ‖w_k‖² = δ for every k (η = 1), all δ
    of a shape in one :func:`linear_descent` batch. The paper: narrowing networks are lazy for all
    δ_k ≫ 0 and expanding ones for all δ_k ≪ 0; with the opposite signs β* is outside the span of
    M at initialisation and learning is delayed and rich. numpy ``default_rng(seed)``."""
    deltas = as_array(deltas, "deltas", ndim=1, nonempty=True)
    tau = check_scalar(tau, "tau", min=0.0, include_min=False)
    lr = check_scalar(lr, "lr", min=0.0, include_min=False)
    steps = check_scalar(steps, "steps", kind="int", min=2)
    n = check_scalar(n, "n", kind="int", min=4)
    seed = check_seed(seed, "seed")
    rec = np.unique(np.r_[0, np.geomspace(1, steps, 60).astype(int)])
    S_t, loss_t = [], []
    for d, h, c in WIDTH_SHAPES.values():
        rng = np.random.default_rng(seed)
        X = np.linalg.qr(rng.normal(size=(n, d)))[0]               # XᵀX = I
        beta = rng.normal(size=(c, d))
        Y = X @ (beta / np.linalg.norm(beta)).T
        u = rng.normal(size=(h, d))
        v = rng.normal(size=(c, h))
        u, v = u / np.linalg.norm(u, axis=1, keepdims=True), v / np.linalg.norm(v, axis=0, keepdims=True)
        r = deltas / tau**2
        alpha2 = np.where(r >= 0, (r + np.sqrt(r * r + 4)) / 2, 2 / (np.sqrt(r * r + 4) - r))
        W1 = u[None] * (tau / np.sqrt(alpha2))[:, None, None]        # ‖w_k‖ = τ/α
        W2 = v[None] * (tau * np.sqrt(alpha2))[:, None, None]        # ‖a_k‖ = τα
        res = linear_descent(X, Y, [W1, W2], [1.0, 1.0], lr=lr, steps=steps, record=rec)
        S_t.append(res["kernel_distance"])
        loss_t.append(res["train_loss"])
    return WidthRegimes(deltas=deltas, t=res.steps * lr, S_t=np.stack(S_t), loss_t=np.stack(loss_t),
                        tau=tau)
