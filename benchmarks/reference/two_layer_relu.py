"""The official two-layer ReLU teacher-student step and kernel-distance record, re-implemented.

Re-implemented for the benchmark, not the official code. The official code is
``allanraventos/getrichquick``, ``two-layer-relu/utils.py``: ``fit_nn_gd`` (full-batch numpy
gradient descent of one student f(x) = Σ_i a_i relu(w_iᵀx) on the mean squared error
L = (1/n) Σ_k (f(x_k) − y_k)², Kunin et al. 2024, Sec. 5 and App. D.1) and the kernel record
(``get_features_two_layer_relu``, ``get_kernel_trajectory``, ``kernel_distance_from_initial``).
Written here from those equations:

- step (one student, float64): P = X Wᵀ (n, m), Φ = relu(P), f = Φ a, ρ = 2(y − f);
  ∂L/∂a = −Φᵀρ/n, ∂L/∂W = −(diag(a) ρ-weighted activation pattern)ᵀ X / n, i.e.
  ∂L/∂w_i = −(a_i/n) Σ_k ρ_k 1[w_iᵀx_k ≥ 0] x_k; then a ← a − lr ∂L/∂a, W ← W − lr ∂L/∂W.
  (MSE without the ½: its lr is half of ``theory``'s ``relu_descent`` lr on ½-MSE; the
  activation derivative at exactly 0 is 1 there, 0 in ``theory``, a measure-zero event.)
- kernel record: the per-example gradient features F = [relu(XWᵀ), (a ⊙ 1[XWᵀ ≥ 0]) ⊗ x] of
  width m + m·d, built row by row in float32 as the official code does, K = F Fᵀ (n, n), and
  S = 1 − ⟨K/‖K‖_F, K₀/‖K₀‖_F⟩_F against the step-0 kernel K₀ (Kunin et al., Sec. 2).
"""

from __future__ import annotations

import numpy as np


def gd_step(W: np.ndarray, a: np.ndarray, X: np.ndarray, y: np.ndarray, lr: float) -> None:
    """One official full-batch step of one student, in place: W (m, d), a (m,), X (n, d), y (n,)."""
    n = X.shape[0]
    pre = X @ W.T                                        # (n, m)
    phi = np.maximum(pre, 0.0)
    rho = 2.0 * (y - phi @ a)                            # (n,)
    grad_a = -(phi.T @ rho)
    gate = (pre.T >= 0).astype(X.dtype)                  # (m, n) activation derivative
    grad_W = -((a[:, None] * rho[None, :]) * gate) @ X
    W -= (lr / n) * grad_W
    a -= (lr / n) * grad_a


def fit_nn_gd(W0, a0, X, y, *, lr: float, n_iter: int):
    """``n_iter`` official steps from (W0, a0); returns (W, a, [MSE at start, MSE at end])."""
    W, a = np.array(W0, dtype=np.float64), np.array(a0, dtype=np.float64).reshape(-1)
    mse = lambda: float(np.mean((np.maximum(X @ W.T, 0.0) @ a - y) ** 2))  # noqa: E731
    losses = [mse()]
    for _ in range(n_iter):
        gd_step(W, a, X, y, lr)
    losses.append(mse())
    return W, a, losses


def features(W, a, X) -> np.ndarray:
    """The per-example NTK features (n, m + m·d), float32, one row per example as the official
    code builds them: [relu(W x_k), vec((a ⊙ 1[W x_k ≥ 0]) x_kᵀ)]."""
    n, d = X.shape
    m = W.shape[0]
    F = np.zeros((n, m + m * d), dtype=np.float32)
    F[:, :m] = np.maximum(X @ W.T, 0.0)
    for k in range(n):
        gate = (W @ X[k] >= 0).astype(np.float64)
        F[k, m:] = np.outer(a * gate, X[k]).reshape(-1)
    return F


def kernel(W, a, X) -> np.ndarray:
    """K = F Fᵀ (n, n), float32 (the official kernel of one checkpoint)."""
    F = features(W, a, X)
    return F @ F.T


def kernel_distance(K0, K) -> float:
    """S = 1 − ⟨K/‖K‖, K₀/‖K₀‖⟩_F, normalising each kernel first (the official order)."""
    K0n = K0 / np.sqrt((K0 ** 2).sum())
    Kn = K / np.sqrt((K ** 2).sum())
    return float(1.0 - (Kn * K0n).sum())
