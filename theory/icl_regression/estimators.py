"""The two Bayes estimators of the paper, exact: dMMSE (Eq. 2) and ridge (Eq. 3).

Raventós, Paul, Chen, Ganguli (2023), arXiv:2306.15063, Sec. 3. Both map a batch of sequences
xs (n, K, D), ys (n, K) to the predictions (n, K) of every y_k from its context
S_k = (x₁, y₁, …, x_{k−1}, y_{k−1}, x_k), all K context lengths at once.

- dMMSE, the posterior mean under T_Pretrain = Uniform{w⁽¹⁾…w⁽ᴹ⁾} (Eq. 2):
  ŵ_k = Σ_i softmax_i(−(1/2σ²) Σ_{j<k} (y_j − w⁽ⁱ⁾ᵀx_j)²) w⁽ⁱ⁾, so ŵ₁ is the pool mean.
  The log-weights are prefix sums over j of squared residuals; the softmax is a stable
  log-sum-exp. Work is chunked over sequences so that pools of 2¹⁶ tasks fit in memory.
- ridge, the posterior mean under T_True = N(0, τ² I_D) (Eq. 3):
  ŵ_k = (Σ_{j<k} x_j x_jᵀ + (σ²/τ²) I)⁻¹ Σ_{j<k} y_j x_j, so ŵ₁ = 0.

``dmmse_naive`` and ``ridge_naive`` are slow, independent references for tests: explicit
likelihood products normalised in a Python loop, and Gaussian conditioning of (w, y) in its
kernel form τ²Xᵀ(τ²XXᵀ + σ²I)⁻¹y.
"""

from __future__ import annotations

import math

import torch

from theory.core import check_scalar

__all__ = ["dmmse_naive", "dmmse_posterior", "dmmse_predict", "ridge_naive", "ridge_predict"]


def _check_xy(xs, ys):
    if not isinstance(xs, torch.Tensor) or not isinstance(ys, torch.Tensor):
        raise TypeError("xs and ys must be torch tensors")
    if xs.ndim != 3 or ys.shape != xs.shape[:2]:
        raise ValueError(f"xs must have shape (n, K, D) and ys (n, K); got {tuple(xs.shape)} "
                         f"and {tuple(ys.shape)}")
    if not (torch.isfinite(xs).all() and torch.isfinite(ys).all()):
        raise ValueError("xs and ys must be finite")


def _check_pool(pool, D):
    if not isinstance(pool, torch.Tensor):
        raise TypeError("pool must be a torch tensor of shape (M, D)")
    if pool.ndim != 2 or pool.shape[0] == 0 or pool.shape[1] != D:
        raise ValueError(f"pool must have shape (M, D={D}) with M >= 1, got {tuple(pool.shape)}")
    if not torch.isfinite(pool).all():
        raise ValueError("pool must be finite (no NaN or inf)")


def _dmmse_logits(xs, ys, pool, sigma2):
    """Log-weights (n, K, M) of the pool tasks given each prefix (exclusive of position k)."""
    res2 = (ys[..., None] - xs @ pool.T) ** 2                 # (n, K, M)
    cum = torch.cumsum(res2, dim=1)
    logits = torch.zeros_like(cum)
    logits[:, 1:] = -cum[:, :-1] / (2 * sigma2)
    return logits


def dmmse_posterior(xs, ys, pool, sigma2) -> torch.Tensor:
    """Posterior probabilities (n, K, M) of the pool tasks given the first k−1 pairs (Eq. 2)."""
    _check_xy(xs, ys)
    _check_pool(pool, xs.shape[2])
    sigma2 = check_scalar(sigma2, "sigma2", min=0.0, include_min=False)
    return torch.softmax(_dmmse_logits(xs, ys, pool.to(xs.dtype), sigma2), dim=-1)


def dmmse_predict(xs, ys, pool, sigma2, *, return_w: bool = False, max_elements: int = 2**21):
    """dMMSE predictions (n, K) (Eq. 2); with ``return_w`` also the estimates ŵ_k (n, K, D).

    Computed in chunks of sequences holding at most ``max_elements`` log-weights each, with
    one working array per chunk updated in place (residuals, their prefix sums, the shifted
    exponentials): ŵ_{k+1} = Σ_i e^{ℓ_i − max ℓ} w⁽ⁱ⁾ / Σ_i e^{ℓ_i − max ℓ}.
    """
    _check_xy(xs, ys)
    _check_pool(pool, xs.shape[2])
    sigma2 = check_scalar(sigma2, "sigma2", min=0.0, include_min=False)
    max_elements = check_scalar(max_elements, "max_elements", kind="int", min=1)
    n, K, D = xs.shape
    pool = pool.to(device=xs.device, dtype=xs.dtype)
    w_hat = torch.empty(n, K, D, dtype=xs.dtype, device=xs.device)
    w_hat[:, 0] = pool.mean(0)
    if K > 1:
        chunk = max(1, max_elements // ((K - 1) * pool.shape[0]))
        for s in range(0, n, chunk):
            a = xs[s:s + chunk, :-1] @ pool.T                    # (b, K−1, M)
            a.sub_(ys[s:s + chunk, :-1, None]).square_()
            a.cumsum_(dim=1).mul_(-0.5 / sigma2)                 # log-weights given j ≤ k
            a.sub_(a.amax(dim=-1, keepdim=True)).exp_()
            w_hat[s:s + chunk, 1:] = (a @ pool) / a.sum(dim=-1, keepdim=True)
    pred = (w_hat * xs).sum(-1)
    return (pred, w_hat) if return_w else pred


def ridge_predict(xs, ys, sigma2, *, task_scale: float = 1.0, return_w: bool = False):
    """Ridge predictions (n, K) with λ = σ²/τ² (Eq. 3); with ``return_w`` also ŵ_k (n, K, D).

    All prefixes at once: prefix sums of x_j x_jᵀ and y_j x_j, then one batched Cholesky solve.
    """
    _check_xy(xs, ys)
    sigma2 = check_scalar(sigma2, "sigma2", min=0.0, include_min=False)
    lam = sigma2 / check_scalar(task_scale, "task_scale", min=0.0, include_min=False) ** 2
    D = xs.shape[2]
    outer = torch.cumsum(xs[..., :, None] * xs[..., None, :], dim=1)        # (n, K, D, D)
    xy = torch.cumsum(xs * ys[..., None], dim=1)                             # (n, K, D)
    A = torch.zeros_like(outer)
    b = torch.zeros_like(xy)
    A[:, 1:], b[:, 1:] = outer[:, :-1], xy[:, :-1]
    A = A + lam * torch.eye(D, dtype=xs.dtype, device=xs.device)
    w_hat = torch.cholesky_solve(b[..., None], torch.linalg.cholesky(A))[..., 0]
    pred = (w_hat * xs).sum(-1)
    return (pred, w_hat) if return_w else pred


def dmmse_naive(xs, ys, pool, sigma2) -> torch.Tensor:
    """Reference dMMSE (tiny sizes only): for each sequence and k, the posterior weight of task i
    is Π_{j<k} N(y_j; w⁽ⁱ⁾ᵀx_j, σ²) normalised over the pool, computed with plain exp."""
    _check_xy(xs, ys)
    _check_pool(pool, xs.shape[2])
    sigma2 = check_scalar(sigma2, "sigma2", min=0.0, include_min=False)
    n, K = xs.shape[:2]
    out = torch.zeros(n, K, dtype=torch.float64)
    for b in range(n):
        for k in range(K):
            lik = []
            for i in range(pool.shape[0]):
                p = 1.0
                for j in range(k):
                    r = float(ys[b, j] - pool[i] @ xs[b, j])
                    p *= math.exp(-r * r / (2 * sigma2)) / math.sqrt(2 * math.pi * sigma2)
                lik.append(p)
            total = sum(lik)
            w = sum(lik[i] / total * pool[i].double() for i in range(pool.shape[0]))
            out[b, k] = float(w @ xs[b, k].double())
    return out


def ridge_naive(xs, ys, sigma2, *, task_scale: float = 1.0) -> torch.Tensor:
    """Reference ridge: E[w | X, y] = τ²Xᵀ(τ²XXᵀ + σ²I)⁻¹y for w ~ N(0, τ²I), one prefix at a time."""
    _check_xy(xs, ys)
    sigma2 = check_scalar(sigma2, "sigma2", min=0.0, include_min=False)
    t2 = check_scalar(task_scale, "task_scale", min=0.0, include_min=False) ** 2
    n, K = xs.shape[:2]
    out = torch.zeros(n, K, dtype=torch.float64)
    for b in range(n):
        for k in range(1, K):
            X, y = xs[b, :k].double(), ys[b, :k].double()
            cov_y = t2 * X @ X.T + sigma2 * torch.eye(k, dtype=torch.float64)
            w = t2 * X.T @ torch.linalg.solve(cov_y, y)
            out[b, k] = float(w @ xs[b, k].double())
    return out
