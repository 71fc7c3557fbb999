"""Reference ridge and dMMSE evaluators of `mansheej/icl-task-diversity` (``icl/models.py``,
classes ``Ridge`` and ``DiscreteMMSE``, run by ``icl/evaluate.py`` under ``jax.pmap``), in JAX.

Re-implemented for the benchmark, not the official code: written from the paper's equations
(Raventós et al. 2023, arXiv:2306.15063, Eq. 3 for ridge and Eq. 2 for dMMSE) with the same
work as the official evaluators, which loop over the context length in Python inside the
compiled function and recompute each prefix from scratch:

- ridge (Eq. 3), for every k = 1 … K−1 and every sequence: the Gram matrix X_{<k}ᵀX_{<k} + λI
  (HIGHEST matmul precision) and X_{<k}ᵀy_{<k}, then one dense D×D solve (``jnp.linalg.solve``,
  LU); ŷ_k = x_kᵀŵ_k, ŷ_1 = 0. The official solve is always in float32; here it is in the
  row's dtype (the float64 row is for information).
- dMMSE (Eq. 2), for every k = 1 … K−1: the residuals y_j − w⁽ⁱ⁾ᵀx_j of the whole prefix against
  every pool task ((n, k, M), HIGHEST precision), their Gaussian log-densities log N(r; 0, σ²)
  summed over j, a softmax over the pool and its product with the pool; ŷ_1 = x_1ᵀ mean(pool).
  Work ∝ K²·n·M·D (the official recomputes the prefix for each k).

Both are ``jax.jit``-compiled once per shape and dtype; call ``.block_until_ready()`` on the output.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp

__all__ = ["ridge_reference", "dmmse_reference"]

_HI = jax.lax.Precision.HIGHEST


@partial(jax.jit, static_argnames=())
def ridge_reference(xs, ys, lam):
    """Ridge predictions (n, K): for each k ≥ 1, solve (X_{<k}ᵀX_{<k} + λI) w = X_{<k}ᵀy_{<k}."""
    n, K, D = xs.shape
    eye = jnp.eye(D, dtype=xs.dtype)
    preds = [jnp.zeros((n,), dtype=xs.dtype)]
    for k in range(1, K):
        X = xs[:, :k]                                        # (n, k, D)
        y = ys[:, :k, None]                                  # (n, k, 1)
        Xt = jnp.swapaxes(X, 1, 2)                           # (n, D, k)
        gram = jnp.matmul(Xt, X, precision=_HI) + lam * eye  # (n, D, D)
        rhs = Xt @ y                                         # (n, D, 1)
        w = jnp.linalg.solve(gram, rhs)                      # (n, D, 1)
        preds.append((xs[:, k:k + 1] @ w)[:, 0, 0])
    return jnp.stack(preds, axis=1)


@jax.jit
def dmmse_reference(xs, ys, pool, sigma):
    """dMMSE predictions (n, K): for each k ≥ 1, softmax over the pool of Σ_{j<k} log N(y_j −
    w⁽ⁱ⁾ᵀx_j; 0, σ²), times the pool, dotted with x_k."""
    n, K, D = xs.shape
    W = pool.T                                               # (D, M)
    preds = [xs[:, 0] @ W.mean(axis=1)]
    log_norm = -jnp.log(sigma) - 0.5 * math.log(2 * math.pi)
    for k in range(1, K):
        r = ys[:, :k, None] - jnp.matmul(xs[:, :k], W, precision=_HI)   # (n, k, M)
        logp = (-0.5 * jnp.square(r / sigma) + log_norm).sum(axis=1)    # (n, M)
        w = jnp.matmul(jax.nn.softmax(logp, axis=1), W.T, precision=_HI)  # (n, D)
        preds.append((xs[:, k:k + 1] @ w[..., None])[:, 0, 0])
    return jnp.stack(preds, axis=1)
