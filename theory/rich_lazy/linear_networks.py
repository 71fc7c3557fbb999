"""Wide and deep linear networks (Kunin et al. 2024, Sec. 4): conserved matrices and aligned modes.

For f(x) = W_L ⋯ W_1 x trained by gradient flow W_ℓ' = −η_ℓ ∂L/∂W_ℓ, adjacent layers satisfy
W_{ℓ+1}ᵀ ∂L/∂W_{ℓ+1} = ∂L/∂W_ℓ W_ℓᵀ, so every

    Δ_ℓ = η_ℓ W_{ℓ+1}ᵀ W_{ℓ+1} − η_{ℓ+1} W_ℓ W_ℓᵀ

is conserved (for the single neuron, W_1 = wᵀ and W_2 = a, it is δ = η_w a² − η_a‖w‖²).
With whitened inputs and an initialisation aligned with the singular vectors of the target
β* = U S Vᵀ, W_1 = R diag(w) Vᵀ, W_2 = U diag(a) Rᵀ, each mode (a_i, w_i) is a single neuron with
target s_i, solved in closed form by :func:`theory.rich_lazy.exact.whitened_solution`.
(Started for issue 6; its notebook is not written yet.)
"""

from __future__ import annotations

import numpy as np
import torch

from theory.core import as_array, default_device, positive, positive_int
from theory.rich_lazy.exact import whitened_solution

__all__ = ["aligned_two_layer_solution", "conserved_matrices", "linear_network_gd"]


def _check_chain(weights) -> list[np.ndarray]:
    if not isinstance(weights, (list, tuple)) or len(weights) < 2:
        raise TypeError("weights must be a list of at least two 2-D arrays [W_1, …, W_L]")
    Ws = [as_array(W, f"weights[{i}]", ndim=2) for i, W in enumerate(weights)]
    for i in range(len(Ws) - 1):
        if Ws[i + 1].shape[1] != Ws[i].shape[0]:
            raise ValueError(f"weights[{i + 1}] has {Ws[i + 1].shape[1]} columns but weights[{i}] "
                             f"has {Ws[i].shape[0]} rows: the product W_L ⋯ W_1 is undefined")
    return Ws


def conserved_matrices(weights, etas) -> list[np.ndarray]:
    """[Δ_1, …, Δ_{L−1}] with Δ_ℓ = η_ℓ W_{ℓ+1}ᵀW_{ℓ+1} − η_{ℓ+1} W_ℓW_ℓᵀ (paper, Sec. 4)."""
    Ws = _check_chain(weights)
    etas = np.atleast_1d(positive(etas, "etas"))
    if etas.shape != (len(Ws),):
        raise ValueError(f"etas must have one learning rate per layer ({len(Ws)}), got {etas.shape}")
    return [etas[i] * Ws[i + 1].T @ Ws[i + 1] - etas[i + 1] * Ws[i] @ Ws[i].T
            for i in range(len(Ws) - 1)]


def linear_network_gd(X, Y, weights, etas, *, dt: float, steps: int, record_every: int | None = None,
                      device=None) -> list[list[np.ndarray]]:
    """Full-batch gradient descent on L = ½‖X W_1ᵀ ⋯ W_Lᵀ − Y‖²_F (rows of X are samples).

    W_ℓ ← W_ℓ − dt η_ℓ ∂L/∂W_ℓ in float64; returns the weights at the recorded steps
    (every ``record_every`` steps, default only the last), each a list [W_1, …, W_L].
    """
    Ws = _check_chain(weights)
    X = as_array(X, "X", ndim=2)
    Y = as_array(Y, "Y", ndim=2)
    if X.shape[1] != Ws[0].shape[1] or Y.shape != (X.shape[0], Ws[-1].shape[0]):
        raise ValueError(f"X must be (n, {Ws[0].shape[1]}) and Y (n, {Ws[-1].shape[0]}); got "
                         f"{X.shape} and {Y.shape}")
    etas = np.atleast_1d(positive(etas, "etas"))
    if etas.shape != (len(Ws),):
        raise ValueError(f"etas must have one learning rate per layer ({len(Ws)}), got {etas.shape}")
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


def aligned_two_layer_solution(t, U, s, V, a0, w0, eta_1: float = 1.0, eta_2: float = 1.0):
    """Exact W_1(t), W_2(t) of f = W_2W_1x for whitened inputs and a target β* = U diag(s) Vᵀ,
    from the aligned start W_1 = diag(w0) Vᵀ, W_2 = U diag(a0) (hidden width = rank).

    Mode i obeys the single neuron's flow with ẇ_i = −η_1 a_i(a_iw_i − s_i), ȧ_i = −η_2 w_i(a_iw_i − s_i),
    i.e. ``whitened_solution`` with η_w = η_1, η_a = η_2 and d = 1. Returns arrays W1 (T, r, d),
    W2 (T, k, r).
    """
    t = as_array(t, "t", ndim=1)
    U, V = as_array(U, "U", ndim=2), as_array(V, "V", ndim=2)
    s = as_array(s, "s", ndim=1)
    a0, w0 = as_array(a0, "a0", ndim=1), as_array(w0, "w0", ndim=1)
    r = s.size
    if U.shape[1] != r or V.shape[1] != r or a0.size != r or w0.size != r:
        raise ValueError("U (k, r), V (d, r), s, a0 and w0 (r,) must share the rank r")
    tr = whitened_solution(t, a0, w0[:, None], s[:, None], eta_a=eta_2, eta_w=eta_1)
    a, w = tr.a, tr.w[..., 0]                                # (r, T)
    W1 = np.einsum("it,di->tid", w, V)
    W2 = np.einsum("ki,it->tki", U, a)
    return W1, W2
