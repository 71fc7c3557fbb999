"""Wide and deep linear networks (Kunin et al. 2024, Sec. 4): conserved matrices and aligned modes.

For f(x) = W_L ⋯ W_1 x trained by gradient flow W_ℓ' = −η_ℓ ∂L/∂W_ℓ, adjacent layers satisfy
W_{ℓ+1}ᵀ ∂L/∂W_{ℓ+1} = ∂L/∂W_ℓ W_ℓᵀ, so every

    Δ_ℓ = η_ℓ W_{ℓ+1}ᵀ W_{ℓ+1} − η_{ℓ+1} W_ℓ W_ℓᵀ

is conserved (for the single neuron, W_1 = wᵀ and W_2 = a, it is δ = η_w a² − η_a‖w‖²).
With whitened inputs and an initialisation aligned with the singular vectors of the target
β* = U S Vᵀ, W_1 = R diag(w) Vᵀ, W_2 = U diag(a) Rᵀ, each mode (a_i, w_i) is a single neuron with
target s_i, solved in closed form by :func:`theory.rich_lazy.exact.whitened_solution`.
:func:`square_flow` integrates the reduced function-space flow of a square network with Δ = δI,
:func:`linear_descent` is batched descent of many networks at once, and
:func:`linear_kernel_distance` the NTK distance without forming the nk×nk kernel.
Book page: ``book/rich_lazy/linear_networks``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.integrate import solve_ivp

from theory.core import as_array, default_device, positive, positive_int
from theory.rich_lazy.exact import whitened_solution
from theory.rich_lazy.two_layer import init_scales

__all__ = ["LinearRun", "SquareFlow", "aligned_two_layer_solution", "conserved_matrices",
           "linear_descent", "linear_kernel_distance", "linear_network_flow", "linear_network_gd",
           "square_flow", "square_init", "square_metric"]


def _check_chain(weights) -> list[np.ndarray]:
    if not isinstance(weights, (list, tuple)) or len(weights) < 2:
        raise TypeError("weights must be a list of at least two 2-D arrays [W_1, …, W_L]")
    Ws = [as_array(W, f"weights[{i}]", ndim=2) for i, W in enumerate(weights)]
    for i in range(len(Ws) - 1):
        if Ws[i + 1].shape[1] != Ws[i].shape[0]:
            raise ValueError(f"weights[{i + 1}] has {Ws[i + 1].shape[1]} columns but weights[{i}] "
                             f"has {Ws[i].shape[0]} rows: the product W_L ⋯ W_1 is undefined")
    return Ws


def _check_etas(etas, layers: int) -> np.ndarray:
    etas = np.atleast_1d(positive(etas, "etas"))
    if etas.shape != (layers,):
        raise ValueError(f"etas must have one learning rate per layer ({layers}), got {etas.shape}")
    return etas


def conserved_matrices(weights, etas) -> list[np.ndarray]:
    """[Δ_1, …, Δ_{L−1}] with Δ_ℓ = η_ℓ W_{ℓ+1}ᵀW_{ℓ+1} − η_{ℓ+1} W_ℓW_ℓᵀ (paper, Sec. 4)."""
    Ws = _check_chain(weights)
    etas = _check_etas(etas, len(Ws))
    return [etas[i] * Ws[i + 1].T @ Ws[i + 1] - etas[i + 1] * Ws[i] @ Ws[i].T
            for i in range(len(Ws) - 1)]


def _check_problem(weights, X, Y, etas):
    """Validate a regression problem for the chain [W_1, …, W_L]: shapes and one η per layer."""
    Ws = _check_chain(weights)
    X, Y = as_array(X, "X", ndim=2), as_array(Y, "Y", ndim=2)
    if X.shape[1] != Ws[0].shape[1] or Y.shape != (X.shape[0], Ws[-1].shape[0]):
        raise ValueError(f"X must be (n, {Ws[0].shape[1]}) and Y (n, {Ws[-1].shape[0]}); got "
                         f"{X.shape} and {Y.shape}")
    etas = _check_etas(etas, len(Ws))
    return Ws, X, Y, etas


def linear_network_gd(X, Y, weights, etas, *, dt: float, steps: int, record_every: int | None = None,
                      device=None) -> list[list[np.ndarray]]:
    """Full-batch gradient descent on L = ½‖X W_1ᵀ ⋯ W_Lᵀ − Y‖²_F (rows of X are samples).

    W_ℓ ← W_ℓ − dt η_ℓ ∂L/∂W_ℓ in float64; returns the weights at the recorded steps
    (every ``record_every`` steps, default only the last), each a list [W_1, …, W_L].
    """
    Ws, X, Y, etas = _check_problem(weights, X, Y, etas)
    dt = float(positive(dt, "dt"))
    steps = positive_int(steps, "steps")
    every = positive_int(record_every if record_every is not None else steps, "record_every")
    device = torch.device(device) if device is not None else default_device()
    Xt = torch.tensor(X, dtype=torch.float64, device=device)
    Yt = torch.tensor(Y, dtype=torch.float64, device=device)
    params = [torch.tensor(W, dtype=torch.float64, device=device, requires_grad=True) for W in Ws]
    out = [[W.copy() for W in Ws]]
    for n in range(1, steps + 1):
        h = Xt
        for W in params:
            h = h @ W.T
        loss = 0.5 * ((h - Yt) ** 2).sum()
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for W, g, eta in zip(params, grads, etas):
                W -= dt * float(eta) * g
        if n % every == 0:
            out.append([W.detach().cpu().numpy().copy() for W in params])
    return out


def linear_network_flow(t, X, Y, weights, etas, *, rtol: float = 1e-10, atol: float = 1e-12):
    """Gradient flow Ẇ_ℓ = −η_ℓ ∂L/∂W_ℓ of L = ½‖X W_1ᵀ⋯W_Lᵀ − Y‖²_F by ``solve_ivp`` (Radau).

    An independent reference for descent. Returns the weights at the times t: a list over t of
    [W_1, …, W_L].
    """
    Ws, X, Y, etas = _check_problem(weights, X, Y, etas)
    t = as_array(t, "t", ndim=1)
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
    from the aligned start W_1 = R diag(w0) Vᵀ, W_2 = U diag(a0) Rᵀ (paper, Sec. 4).

    R (h, r) has orthonormal columns (default: I_r, hidden width = rank r). Mode i obeys the single
    neuron's flow ẇ_i = −η_1 a_i(a_iw_i − s_i), ȧ_i = −η_2 w_i(a_iw_i − s_i), i.e.
    ``whitened_solution`` with η_w = η_1, η_a = η_2 and d = 1, and keeps δ_i = η_1a_i² − η_2w_i²;
    Δ = R diag(δ) Rᵀ. Returns arrays W1 (T, h, d), W2 (T, k, h).
    """
    t = as_array(t, "t", ndim=1)
    U, V = as_array(U, "U", ndim=2), as_array(V, "V", ndim=2)
    s = as_array(s, "s", ndim=1)
    a0, w0 = as_array(a0, "a0", ndim=1), as_array(w0, "w0", ndim=1)
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


@dataclass(frozen=True)
class LinearRun:
    """Batched gradient descent of B linear networks, recorded at ``steps`` (T,).

    weights: [W_1, …, W_L], each (B, T, out, in); loss (B, T) = ½‖XW_1ᵀ⋯W_Lᵀ − Y‖²_F;
    kernel_distance (B, T) of the NTK on X from step 0; delta_drift (B, T): the largest entry of
    |Δ_ℓ(step) − Δ_ℓ(0)| over every adjacent pair ℓ.
    """

    steps: np.ndarray
    weights: list
    loss: np.ndarray
    kernel_distance: np.ndarray
    delta_drift: np.ndarray


def _batched_chain(weights) -> list[np.ndarray]:
    if not isinstance(weights, (list, tuple)) or len(weights) < 2:
        raise TypeError("weights must be a list of at least two arrays [W_1, …, W_L], each (B, out, in)")
    Ws = [as_array(W, f"weights[{i}]", ndim=(2, 3)) for i, W in enumerate(weights)]
    Ws = [W[None] if W.ndim == 2 else W for W in Ws]
    B = max(W.shape[0] for W in Ws)
    for i, W in enumerate(Ws):
        if W.shape[0] not in (1, B):
            raise ValueError(f"weights[{i}] has batch size {W.shape[0]}, others {B}")
    Ws = [np.broadcast_to(W, (B,) + W.shape[1:]) for W in Ws]
    for i in range(len(Ws) - 1):
        if Ws[i + 1].shape[2] != Ws[i].shape[1]:
            raise ValueError(f"weights[{i + 1}] has {Ws[i + 1].shape[2]} columns but weights[{i}] "
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
    X = as_array(X, "X", ndim=2)
    W0s, Wts = _batched_chain(weights0), _batched_chain(weights)
    if [W.shape[1:] for W in W0s] != [W.shape[1:] for W in Wts]:
        raise ValueError("weights0 and weights must have the same shapes")
    if X.shape[1] != W0s[0].shape[2]:
        raise ValueError(f"X must have {W0s[0].shape[2]} columns, got {X.shape[1]}")
    B = max(W0s[0].shape[0], Wts[0].shape[0])
    etas = np.atleast_1d(positive(etas, "etas"))
    etas = np.broadcast_to(etas, (B, len(W0s)) if etas.ndim == 1 else etas.shape)
    t = lambda x: torch.tensor(np.array(x), dtype=torch.float64)  # noqa: E731
    W0s = [t(np.broadcast_to(W, (B,) + W.shape[1:])) for W in W0s]
    Wts = [t(np.broadcast_to(W, (B,) + W.shape[1:])) for W in Wts]
    G = t(X.T @ X).expand(B, X.shape[1], X.shape[1])
    return _kron_distance(_ntk_terms(W0s, t(etas)), _ntk_terms(Wts, t(etas)), G).numpy()


def linear_descent(X, Y, weights, etas, *, lr: float, steps: int, record_at=None, device=None,
                   dtype: torch.dtype = torch.float64, progress: bool = False) -> LinearRun:
    """Full-batch gradient descent of B linear networks at once, with explicit backpropagation.

    L = ½‖X W_1ᵀ⋯W_Lᵀ − Y‖²_F; with h_0 = X, h_ℓ = h_{ℓ−1}W_ℓᵀ, r = h_L − Y, g_L = r and
    g_{ℓ−1} = g_ℓW_ℓ, the gradient is ∂L/∂W_ℓ = g_ℓᵀh_{ℓ−1} and W_ℓ ← W_ℓ − lr η_ℓ ∂L/∂W_ℓ.
    X (n, d) shared; Y (n, k) or (B, n, k); weights: list of (B, out, in); etas (L,) or (B, L).
    Records weights, loss, NTK distance and the drift of every Δ_ℓ (paper, Sec. 4) at ``record_at``
    (default: 0 and ``steps``).
    """
    Ws = _batched_chain(weights)
    B, L = Ws[0].shape[0], len(Ws)
    X = as_array(X, "X", ndim=2)
    Y = as_array(Y, "Y", ndim=(2, 3))
    n, k = X.shape[0], Ws[-1].shape[1]
    if X.shape[1] != Ws[0].shape[2] or Y.shape[-2:] != (n, k) or (Y.ndim == 3 and Y.shape[0] != B):
        raise ValueError(f"X must be (n, {Ws[0].shape[2]}) and Y (n, {k}) or ({B}, n, {k}); "
                         f"got {X.shape} and {Y.shape}")
    etas = np.atleast_1d(positive(etas, "etas"))
    if etas.shape[-1] != L or etas.ndim > 2:
        raise ValueError(f"etas must have one learning rate per layer ({L}), got shape {etas.shape}")
    etas = np.broadcast_to(etas, (B, L))
    lr = float(positive(lr, "lr"))
    steps = positive_int(steps, "steps")
    rec = np.array([0, steps]) if record_at is None else np.unique(np.asarray(record_at))
    if rec.ndim != 1 or not np.issubdtype(rec.dtype, np.integer) or rec[0] < 0 or rec[-1] > steps:
        raise ValueError(f"record_at must be integer steps in [0, steps={steps}]")
    device = torch.device(device) if device is not None else default_device()

    def T(x):
        return torch.tensor(np.array(x), dtype=dtype, device=device)

    Xt, Yt = T(X), T(np.broadcast_to(Y, (B, n, k)))
    G = (Xt.T @ Xt).expand(B, X.shape[1], X.shape[1])
    params = [T(W) for W in Ws]
    eta_t = T(etas)
    steps_l = [(lr * eta_t[:, l])[:, None, None] for l in range(L)]

    def deltas(P):
        return [eta_t[:, l, None, None] * P[l + 1].transpose(1, 2) @ P[l + 1]
                - eta_t[:, l + 1, None, None] * P[l] @ P[l].transpose(1, 2) for l in range(L - 1)]

    D0, K0 = deltas(params), _ntk_terms(params, eta_t)
    R = rec.size
    out_W = [torch.empty((B, R) + P.shape[1:], dtype=dtype, device=device) for P in params]
    out_loss, out_S, out_drift = (torch.empty(B, R, dtype=dtype, device=device) for _ in range(3))
    it = range(steps + 1)
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(it, desc=f"{B} linear networks, batched", mininterval=1.0)
    j = 0
    with torch.no_grad():
        for s in it:
            hs = [Xt.expand(B, n, X.shape[1])]
            for P in params:
                hs.append(hs[-1] @ P.transpose(1, 2))
            r = hs[-1] - Yt
            if j < R and rec[j] == s:
                out_loss[:, j] = 0.5 * (r * r).sum((1, 2))
                out_S[:, j] = _kron_distance(K0, _ntk_terms(params, eta_t), G)
                out_drift[:, j] = torch.stack([(D - D_0).abs().amax((1, 2))
                                               for D, D_0 in zip(deltas(params), D0)]).amax(0)
                for l, P in enumerate(params):
                    out_W[l][:, j] = P
                j += 1
            if s == steps:
                break
            g, grads = r, [None] * L
            for l in range(L - 1, -1, -1):
                grads[l] = g.transpose(1, 2) @ hs[l]
                g = g @ params[l]
            params = [P - st * gr for P, st, gr in zip(params, steps_l, grads)]
    return LinearRun(steps=rec, weights=[W.cpu().numpy() for W in out_W],
                     loss=out_loss.cpu().numpy(), kernel_distance=out_S.cpu().numpy(),
                     delta_drift=out_drift.cpu().numpy())


def square_init(beta0, delta, eta_1: float = 1.0, eta_2: float = 1.0, *, R=None):
    """Square weights (W_1, W_2) with W_2W_1 = β₀ and Δ = η_1W_2ᵀW_2 − η_2W_1W_1ᵀ = δI.

    The matrix analogue of the single neuron's ``init_from_beta``: W_1 = R (B̃₀/η_2)^{1/2} and
    W_2 = β₀W_1⁻¹, with B̃₀ = (−δI + √(δ²I + 4η_1η_2β₀ᵀβ₀))/2 (:func:`square_metric`) and R an
    orthogonal matrix (default I). So the initial function is held fixed while δ varies, as in
    the paper's figures. beta0 (B, d, d) full rank, delta scalar or (B,) → W1, W2 (B, d, d).
    """
    beta0 = as_array(beta0, "beta0", ndim=(2, 3))
    beta0 = beta0[None] if beta0.ndim == 2 else beta0
    Bn, d = beta0.shape[:2]
    if beta0.shape[2] != d:
        raise ValueError(f"beta0 must be square, got {beta0.shape[1:]}")
    delta = np.broadcast_to(np.atleast_1d(as_array(delta, "delta")), (Bn,)).copy()
    eta_2 = float(positive(eta_2, "eta_2"))
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
    matrix analogue of the single neuron's u, v). beta (B, d, d), delta (B,) → two (B, d, d).
    """
    beta = as_array(beta, "beta", ndim=(2, 3))
    beta = beta[None] if beta.ndim == 2 else beta
    if beta.shape[1] != beta.shape[2]:
        raise ValueError(f"beta must be square (the closed form needs square layers), got {beta.shape[1:]}")
    delta = np.broadcast_to(np.atleast_1d(as_array(delta, "delta")), beta.shape[:1])
    c = float(positive(eta_1, "eta_1") * positive(eta_2, "eta_2"))
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
    t = as_array(t, "t", ndim=1)
    if np.any(np.diff(t) < 0) or t[0] < 0:
        raise ValueError("t must be non-negative and increasing")
    X, Y = as_array(X, "X", ndim=2), as_array(Y, "Y", ndim=2)
    beta0 = as_array(beta0, "beta0", ndim=(2, 3))
    beta0 = beta0[None] if beta0.ndim == 2 else beta0
    Bn, d = beta0.shape[0], beta0.shape[1]
    if beta0.shape[2] != d or X.shape[1] != d or Y.shape != (X.shape[0], d):
        raise ValueError(f"need beta0 (B, d, d), X (n, d), Y (n, d); got {beta0.shape}, {X.shape}, {Y.shape}")
    delta = np.broadcast_to(np.atleast_1d(as_array(delta, "delta")), (Bn,))
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
