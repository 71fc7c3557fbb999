"""The two Bayes estimators of the paper, exact: dMMSE (Eq. 2) and ridge (Eq. 3).

Raventós, Paul, Chen, Ganguli (2023), arXiv:2306.15063, Sec. 3. Both map a batch of sequences
xs (n, K, D), ys (n, K) to the predictions (n, K) of every y_k from its context
S_k = (x₁, y₁, …, x_{k−1}, y_{k−1}, x_k), all K context lengths at once.

- dMMSE, the posterior mean under T_Pretrain = Uniform{w⁽¹⁾…w⁽ᴹ⁾} (Eq. 2):
  ŵ_k = Σ_i softmax_i(−(1/2σ²) Σ_{j<k} (y_j − w⁽ⁱ⁾ᵀx_j)²) w⁽ⁱ⁾, so ŵ₁ is the pool mean.
  The log-weights come from the prefix statistics Σ y_j x_j and Σ x_j x_jᵀ of each sequence,
  one matrix product against the pool for all k at once, then a softmax over the pool; chunked
  over sequences so that pools of 2¹⁶ tasks fit in memory.
- ridge, the posterior mean under T_True = N(0, τ² I_D) (Eq. 3):
  ŵ_k = (Σ_{j<k} x_j x_jᵀ + (σ²/τ²) I)⁻¹ Σ_{j<k} y_j x_j, so ŵ₁ = 0, by recursive least
  squares over k (rank-one updates of the inverse).

Both compute in float64 whatever the input's dtype and return the input's dtype.

``dmmse_naive`` and ``ridge_naive`` are slow, independent references for tests: explicit
likelihood products normalised in a Python loop, and Gaussian conditioning of (w, y) in its
kernel form τ²Xᵀ(τ²XXᵀ + σ²I)⁻¹y.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from theory.core import array_bytes, check_bool, check_memory, check_scalar
from theory.icl_regression.data import _tensor

__all__ = ["dmmse_naive", "dmmse_posterior", "dmmse_predict", "ridge_naive", "ridge_predict"]


def _check_xy(xs, ys):
    for x, name in ((xs, "xs"), (ys, "ys")):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"xs and ys must be torch tensors, got {name} of type {type(x).__name__}")
    if xs.ndim != 3:
        _tensor(xs, "xs")
        raise ValueError(f"xs must have shape (n, K, D), got {tuple(xs.shape)}")
    _tensor(xs, "xs", ndim=3)
    _tensor(ys, "ys")
    if ys.shape != xs.shape[:2]:
        raise ValueError(f"xs must have shape (n, K, D) and ys (n, K): ys must have shape "
                         f"{tuple(xs.shape[:2])}, got {tuple(ys.shape)}")


def _check_pool(pool, D):
    _tensor(pool, "pool")
    if pool.ndim != 2 or pool.shape[1] != D:
        raise ValueError(f"pool must have shape (M, D={D}) with M >= 1, got {tuple(pool.shape)}")


#: The smallest λ = σ²/τ² the ridge recursion uses: P₁ = I/λ must stay far from overflow. The
#: ridge solution is continuous as λ → 0 (the minimum-norm interpolant, then least squares), so
#: below it the answer is the same to float64 precision; above 1/_LAM_MIN, ŵ is 0 to it.
_LAM_MIN = 1e-250


def _ridge_lambda(sigma2, task_scale):
    """λ = σ²/τ² (validated), clamped to [_LAM_MIN, 1/_LAM_MIN] (see :data:`_LAM_MIN`)."""
    sigma2 = check_scalar(sigma2, "sigma2", min=0.0, include_min=False)
    ts = check_scalar(task_scale, "task_scale", min=0.0, include_min=False)
    t2 = ts * ts                                  # may overflow to inf or underflow to 0
    lam = sigma2 / t2 if t2 > 0 else math.inf
    return min(max(lam, _LAM_MIN), 1.0 / _LAM_MIN)


def _dmmse_logits(xs, ys, pool, sigma2):
    """Log-weights (n, K, M) of the pool tasks given each prefix (exclusive of position k)."""
    res2 = (ys[..., None] - xs @ pool.T) ** 2                 # (n, K, M)
    cum = torch.cumsum(res2, dim=1)[:, :-1]
    # shifted by each row's smallest residual before the division (the softmax does not see a
    # shift): at tiny σ² the best task's log-weight is exactly 0, never −inf for all of them
    cum = cum - cum.amin(dim=-1, keepdim=True)
    logits = torch.zeros(cum.shape[0], cum.shape[1] + 1, cum.shape[2], dtype=cum.dtype,
                         device=cum.device)
    logits[:, 1:] = -cum / (2 * sigma2)
    return logits


def dmmse_posterior(xs, ys, pool, sigma2) -> torch.Tensor:
    """Posterior probabilities (n, K, M) of the pool tasks given the first k−1 pairs (Eq. 2)."""
    _check_xy(xs, ys)
    _check_pool(pool, xs.shape[2])
    sigma2 = check_scalar(sigma2, "sigma2", min=0.0, include_min=False)
    n, K, _ = xs.shape
    check_memory(4 * array_bytes(n, K, pool.shape[0], itemsize=xs.element_size()),
                 f"the posterior of n={n} sequences of K={K} over M={pool.shape[0]} tasks",
                 hint="take fewer sequences at a time")
    return torch.softmax(_dmmse_logits(xs, ys, pool.to(xs.dtype), sigma2), dim=-1)


def dmmse_predict(xs, ys, pool, sigma2, *, return_w: bool = False, max_elements: int = 2**18):
    """dMMSE predictions (n, K) (Eq. 2); with ``return_w`` also the estimates ŵ_k (n, K, D).

    The log-weight of task i given the first k pairs needs only the prefix statistics
    S_k = Σ_{j≤k} y_j x_j and C_k = Σ_{j≤k} x_j x_jᵀ of the sequence:
    −(1/2σ²) Σ_{j≤k} (y_j − w⁽ⁱ⁾ᵀx_j)² = (1/σ²) w⁽ⁱ⁾ᵀS_k − (1/2σ²) w⁽ⁱ⁾ᵀC_k w⁽ⁱ⁾ + (a term
    that does not depend on i and cancels in the softmax). So the log-weights of every
    (sequence, k) against the whole pool are one matrix product of the features
    (S_k, the upper triangle of C_k) (D + D(D+1)/2 wide) with the pool's (w/σ², −w_a w_b/2σ²
    with the off-diagonal doubled), followed by a softmax over the pool and a product with the
    pool: ŵ_{k+1} = Σ_i softmax_i w⁽ⁱ⁾, normalised after the product (Σ_i u_i w⁽ⁱ⁾ / Σ_i u_i with
    u_i = e^{ℓ_i − max ℓ}, each ℓ_i − max ℓ floored at −700, where u_i < 1e-304). Computed in
    float64 (whatever the input's dtype) in blocks of 4096 sequences, the log-weights in chunks of
    at most ``max_elements`` (to stay in cache); returned in the input's dtype.
    """
    _check_xy(xs, ys)
    _check_pool(pool, xs.shape[2])
    sigma2 = check_scalar(sigma2, "sigma2", min=0.0, include_min=False)
    return_w = check_bool(return_w, "return_w")
    max_elements = check_scalar(max_elements, "max_elements", kind="int", min=1)
    n, K, D = xs.shape
    M, F = pool.shape[0], D + D * (D + 1) // 2
    rows = max(1, max_elements // M)
    b = min(n, _BLOCK)
    check_memory(array_bytes(F, M) + array_bytes(b, max(K - 1, 1), F) + array_bytes(min(rows, b * K), M)
                 + 2 * array_bytes(b, K, D) + array_bytes(n, K, D if return_w else 1),
                 f"dMMSE over M={M} tasks in D={D} (features {F} wide)",
                 hint="use a smaller pool or dimension")
    f64 = dict(dtype=torch.float64, device=xs.device)
    pool = pool.to(**f64)
    iu = torch.triu_indices(D, D, device=xs.device)                    # the upper triangle
    off = torch.where(iu[0] == iu[1], 1.0, 2.0).to(**f64)
    psi = torch.cat([pool / sigma2, pool[:, iu[0]] * pool[:, iu[1]] * (off * (-0.5 / sigma2))],
                    dim=1).T.contiguous()                              # (D + D(D+1)/2, M)
    if not bool(torch.isfinite(psi).all()):
        raise ValueError(f"sigma2={sigma2!r} is too small for this pool: the log-weights w/σ² "
                         f"overflow float64 (use dmmse_posterior, which is shift-stable)")
    out = _blocked(xs, ys, return_w, lambda x, y: _dmmse_block(x, y, pool, psi, rows))
    if not bool(torch.isfinite(out[0] if return_w else out).all()):
        raise ValueError(f"sigma2={sigma2!r} is too small for these sequences: the prefix "
                         f"log-weights overflow float64")
    return out


_BLOCK = 4096   # sequences per block: the evaluators' float64 work arrays stay a few MB


def _blocked(xs, ys, return_w, kernel):
    """Apply ``kernel(xs_block, ys_block) -> ŵ (b, K, D) float64`` over blocks of sequences;
    return the predictions x_kᵀŵ_k (n, K) (and ŵ) in the input's dtype."""
    n, K, D = xs.shape
    pred = torch.empty(n, K, dtype=xs.dtype, device=xs.device)
    w_all = torch.empty(n, K, D, dtype=xs.dtype, device=xs.device) if return_w else None
    for s in range(0, n, _BLOCK):
        xb, yb = xs[s:s + _BLOCK], ys[s:s + _BLOCK]
        w_hat = kernel(xb, yb)
        pred[s:s + _BLOCK] = (w_hat * xb.to(torch.float64)).sum(-1)
        if return_w:
            w_all[s:s + _BLOCK] = w_hat
    return (pred, w_all) if return_w else pred


def _dmmse_block(xs, ys, pool, psi, rows):
    """ŵ_k (b, K, D) in float64 for one block of sequences (see :func:`dmmse_predict`)."""
    n, K, D = xs.shape
    f64 = dict(dtype=torch.float64, device=xs.device)
    w_hat = torch.empty(n, K, D, **f64)
    w_hat[:, 0] = pool.mean(0)
    if K == 1:
        return w_hat
    x = xs[:, :-1].to(**f64)
    feats = torch.empty(n, K - 1, psi.shape[0], **f64)
    torch.mul(x, ys[:, :-1, None].to(**f64), out=feats[..., :D])
    col = D
    for a in range(D):                                                 # x_a x_b for b >= a
        torch.mul(x[..., a:a + 1], x[..., a:], out=feats[..., col:col + D - a])
        col += D - a
    feats = feats.cumsum_(dim=1).view(n * (K - 1), -1)
    res = torch.empty(n * (K - 1), D + 1, **f64)          # Σ_i u_i w⁽ⁱ⁾ and Σ_i u_i per row
    poolT = pool.T.contiguous()
    logits = torch.empty(min(rows, n * (K - 1)), pool.shape[0], **f64)
    on_cpu = logits.device.type == "cpu"
    for s in range(0, n * (K - 1), rows):
        e = min(s + rows, n * (K - 1))
        lg = logits[:e - s]
        torch.mm(feats[s:e], psi, out=lg)
        # u = e^{ℓ − max ℓ}, the softmax unnormalised: the normalisation is applied to the D-wide
        # mean, not to the M-wide weights. ℓ − max ℓ is clamped at _LOGW_FLOOR: a task that far
        # below the best weighs < 1e-304 either way, nothing next to the best's 1, and it keeps
        # every argument in the range where numpy's vectorised float64 exp stays on its fast path
        # (0.55 ns an element here, against 1.1 below −708 and 1.4 for torch's)
        lg.sub_(lg.amax(dim=1, keepdim=True)).clamp_(min=_LOGW_FLOOR)
        if on_cpu:
            u = lg.numpy()
            np.exp(u, out=u)
        else:
            lg.exp_()
        # the posterior mean as poolᵀ uᵀ: an output D wide is a slow GEMM shape on the CPU
        # (16 against 30 GFLOP/s at D = 8, M = 1024)
        res[s:e, :D] = torch.mm(poolT, lg.T).T
        torch.sum(lg, dim=1, keepdim=True, out=res[s:e, D:])
    w_hat[:, 1:] = (res[:, :D] / res[:, D:]).view(n, K - 1, D)
    return w_hat


_LOGW_FLOOR = -700.0
"""The floor of a shifted dMMSE log-weight ℓ − max ℓ (see :func:`_dmmse_block`): e^{−700} ≈ 1e-304."""


def ridge_predict(xs, ys, sigma2, *, task_scale: float = 1.0, return_w: bool = False):
    """Ridge predictions (n, K) with λ = σ²/τ² (Eq. 3); with ``return_w`` also ŵ_k (n, K, D).

    All sequences at once, one context length after another, by recursive least squares (the
    Sherman–Morrison update of the inverse): with P_1 = I/λ and ŵ_1 = 0,
    g = P_k x_k / (1 + x_kᵀP_k x_k), ŵ_{k+1} = ŵ_k + g (y_k − x_kᵀŵ_k),
    P_{k+1} = P_k − g (P_k x_k)ᵀ, so that P_k = (Σ_{j<k} x_j x_jᵀ + λI)⁻¹ and ŵ_k is the ridge
    solution of Eq. 3 on the first k − 1 pairs: O(K·D²) per sequence instead of O(K·D³).
    The recursion runs in float64 whatever the input's dtype (it is a small part of the work),
    and the result is returned in the input's dtype.
    """
    _check_xy(xs, ys)
    lam = _ridge_lambda(sigma2, task_scale)
    return_w = check_bool(return_w, "return_w")
    n, K, D = xs.shape
    b = min(n, _BLOCK)
    check_memory(array_bytes(b, D, D) + 4 * array_bytes(b, K, D) + array_bytes(n, K, D if return_w else 1),
                 f"ridge in D={D} ({b} inverses of D × D at a time)",
                 hint="use a smaller dimension")
    return _blocked(xs, ys, return_w, lambda x, y: _ridge_block(x, y, lam))


def _ridge_block(xs, ys, lam):
    """ŵ_k (b, K, D) in float64 for one block of sequences (see :func:`ridge_predict`)."""
    n, K, D = xs.shape
    xk = xs.transpose(0, 1).to(torch.float64, memory_format=torch.contiguous_format)  # (K, n, D)
    yk = ys.T.to(torch.float64, memory_format=torch.contiguous_format)                 # (K, n)
    P = torch.eye(D, dtype=torch.float64, device=xs.device).div_(lam).repeat(n, 1, 1)
    w_hat = torch.zeros(K, n, D, dtype=torch.float64, device=xs.device)
    for k in range(K - 1):
        x = xk[k]
        Px = torch.bmm(P, x[:, :, None])[..., 0]                   # (n, D)
        g = Px / (1.0 + (x * Px).sum(-1, keepdim=True))
        err = yk[k] - (x * w_hat[k]).sum(-1)
        torch.addcmul(w_hat[k], g, err[:, None], out=w_hat[k + 1])
        if k < K - 2:
            P.addcmul_(g[:, :, None], Px[:, None, :], value=-1.0)
    return w_hat.transpose(0, 1)


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
            if not total > 0:
                raise ValueError(f"sigma2={sigma2!r} is too small for the plain likelihoods of "
                                 f"dmmse_naive (they underflow to 0): use dmmse_posterior")
            w = sum(lik[i] / total * pool[i].double() for i in range(pool.shape[0]))
            out[b, k] = float(w @ xs[b, k].double())
    return out


def ridge_naive(xs, ys, sigma2, *, task_scale: float = 1.0) -> torch.Tensor:
    """Reference ridge: E[w | X, y] = τ²Xᵀ(τ²XXᵀ + σ²I)⁻¹y for w ~ N(0, τ²I), one prefix at a time."""
    _check_xy(xs, ys)
    sigma2 = check_scalar(sigma2, "sigma2", min=0.0, include_min=False)
    ts = check_scalar(task_scale, "task_scale", min=0.0, include_min=False)
    t2 = ts * ts
    scaled = not (0 < t2 < math.inf and 0 < sigma2 / t2 < math.inf)
    if scaled:           # τ² or λ = σ²/τ² not representable: the same formula divided by τ²
        t2, sigma2 = 1.0, _ridge_lambda(sigma2, ts)
    n, K = xs.shape[:2]
    out = torch.zeros(n, K, dtype=torch.float64)
    for b in range(n):
        for k in range(1, K):
            X, y = xs[b, :k].double(), ys[b, :k].double()
            cov_y = t2 * X @ X.T + sigma2 * torch.eye(k, dtype=torch.float64)
            w = t2 * X.T @ torch.linalg.solve(cov_y, y)
            out[b, k] = float(w @ xs[b, k].double())
    return out
