"""Noisy linear regression sequences, task pools, the token layout and the interpolation paths.

Raventós, Paul, Chen, Ganguli (2023), "Pretraining task diversity and the emergence of
non-Bayesian in-context learning for regression", NeurIPS 2023, arXiv:2306.15063, Sec. 2.
Book chapter: ``book/icl_regression``.

A sequence holds K pairs (x_k, y_k) with x_k ~ N(0, I_D) and y_k = wᵀx_k + ε_k,
ε_k ~ N(0, σ²). The task w comes from one of two priors:

- T_Pretrain = Uniform{w⁽¹⁾, …, w⁽ᴹ⁾}: a pool of M tasks drawn once, w⁽ⁱ⁾ ~ N(0, I_D);
- T_True = N(0, I_D): a fresh task per sequence (the pretraining distribution at M = ∞).

Tokens (the paper's layout, Sec. 2): the sequence becomes 2K tokens of width D + 1,
(0, x₁), (y₁, 0…0), (0, x₂), (y₂, 0…0), …; the model's prediction of y_k is read at the token
(0, x_k), channel 0 of the read-out, so it sees x₁, y₁, …, x_{k−1}, y_{k−1}, x_k (Eq. 1).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
import torch

from theory.core import (array_bytes, as_array, as_tensor, check_memory, check_scalar, check_seed,
                         resolve_dtype, torch_generator)

__all__ = ["Sequences", "interpolation_path", "is_infinite", "sample_pool", "sample_sequences",
           "tokens_to_targets", "to_tokens"]


def is_infinite(M) -> bool:
    """True for ``M = math.inf`` (a fresh task per sequence)."""
    return isinstance(M, float) and math.isinf(M) and M > 0


def _check_M(M, name: str = "M"):
    if is_infinite(M):
        return M
    if isinstance(M, float) and not math.isfinite(M):
        raise ValueError(f"{name} must be a positive int or math.inf, got {M}")
    if isinstance(M, bool) or not isinstance(M, numbers.Integral):
        raise TypeError(f"{name} must be a positive int or math.inf, got {type(M).__name__}")
    if M <= 0:
        raise ValueError(f"{name} must be a positive int or math.inf, got {M}")
    return int(M)


def _generator(seed) -> torch.Generator:
    return torch_generator(check_seed(seed, "seed"))


def _tensor(x, name: str, *, ndim=None, min_ndim: int = 0, nonempty: bool = True) -> torch.Tensor:
    """``x`` when it is a finite floating-point torch tensor of the given rank, else a
    ``TypeError``/``ValueError`` naming ``name`` (the chapter's arrays are tensors). One pass
    over the data (the finiteness): call it at the public entry, never inside a loop."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch tensor, got {type(x).__name__}")
    if not (x.dtype.is_floating_point or x.dtype == torch.bool or x.is_complex()):
        raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
    return as_tensor(x, name, ndim=ndim, min_ndim=min_ndim, nonempty=nonempty)


def sample_pool(M: int, D: int, *, seed: int = 0, task_scale: float = 1.0,
                dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The pretraining pool: M tasks w⁽ⁱ⁾ ~ N(0, task_scale² I_D), shape (M, D) (Sec. 2)."""
    M = _check_M(M)
    if is_infinite(M):
        raise ValueError("M must be finite to draw a pool (M = inf means a fresh task per sequence)")
    D = check_scalar(D, "D", kind="int", min=1)
    scale = check_scalar(task_scale, "task_scale", min=0.0)
    dtype = resolve_dtype(dtype)
    check_memory(2 * array_bytes(M, D), f"a pool of M={M} tasks in D={D}")
    return scale * torch.randn(M, D, generator=_generator(seed), dtype=torch.float64).to(dtype)


@dataclass(frozen=True)
class Sequences:
    """A batch of regression sequences: xs (n, K, D), ys (n, K), tasks ws (n, D); ``task_index``
    (n,) is the pool index of each sequence's task, or None for fresh tasks."""

    xs: torch.Tensor
    ys: torch.Tensor
    ws: torch.Tensor
    task_index: torch.Tensor | None
    sigma2: float

    @property
    def n(self) -> int:
        return int(self.xs.shape[0])

    @property
    def K(self) -> int:
        return int(self.xs.shape[1])

    @property
    def D(self) -> int:
        return int(self.xs.shape[2])

    def tokens(self) -> torch.Tensor:
        return to_tokens(self.xs, self.ys)


def sample_sequences(n: int, K: int, sigma2: float, *, pool: torch.Tensor | None = None,
                     D: int | None = None, seed: int = 0, task_scale: float = 1.0,
                     dtype: torch.dtype = torch.float64) -> Sequences:
    """n sequences of K noisy regression pairs (Sec. 2).

    With ``pool`` (M, D): each sequence's task is a uniform draw from the pool (T_Pretrain);
    without it: a fresh task w ~ N(0, task_scale² I_D) per sequence (T_True; give ``D``).
    """
    n, K = check_scalar(n, "n", kind="int", min=1), check_scalar(K, "K", kind="int", min=1)
    sigma2 = check_scalar(sigma2, "sigma2", min=0.0)
    scale = check_scalar(task_scale, "task_scale", min=0.0)
    dtype = resolve_dtype(dtype)
    g = _generator(seed)
    if pool is not None:
        pool = _tensor(pool, "pool", ndim=2)
        if D is not None and check_scalar(D, "D", kind="int", min=1) != pool.shape[1]:
            raise ValueError(f"D={D} disagrees with the pool's dimension {pool.shape[1]}")
        D = int(pool.shape[1])
    else:
        if D is None:
            raise ValueError("give D when no pool is given (fresh tasks)")
        D = check_scalar(D, "D", kind="int", min=1)
    check_memory(4 * array_bytes(n, K, D), f"n={n} sequences of K={K} pairs in D={D}",
                 hint="draw fewer or shorter sequences")
    if pool is not None:
        idx = torch.randint(pool.shape[0], (n,), generator=g)
        ws = pool.to(torch.float64)[idx]
    else:
        idx = None
        ws = scale * torch.randn(n, D, generator=g, dtype=torch.float64)
    xs = torch.randn(n, K, D, generator=g, dtype=torch.float64)
    ys = torch.einsum("nkd,nd->nk", xs, ws) + math.sqrt(sigma2) * torch.randn(
        n, K, generator=g, dtype=torch.float64)
    return Sequences(xs.to(dtype), ys.to(dtype), ws.to(dtype), idx, sigma2)


def to_tokens(xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """The paper's layout: (…, K, D) inputs and (…, K) targets → (…, 2K, D + 1) tokens
    (0, x₁), (y₁, 0), (0, x₂), (y₂, 0), … (Sec. 2; official ``icl/utils.py:to_seq``)."""
    xs = _tensor(xs, "xs", min_ndim=2)
    ys = _tensor(ys, "ys", min_ndim=1)
    if xs.shape[:-1] != ys.shape:
        raise ValueError(f"xs must be (..., K, D) and ys (..., K): ys must have shape "
                         f"{tuple(xs.shape[:-1])}, got {tuple(ys.shape)}")
    return _to_tokens(xs, ys)


def _to_tokens(xs, ys):
    """:func:`to_tokens` without the checks (the trainer's and predict's inner loops)."""
    *lead, K, D = xs.shape
    tok = xs.new_zeros(*lead, K, 2, D + 1)
    tok[..., 0, 1:] = xs
    tok[..., 1, 0] = ys
    return tok.reshape(*lead, 2 * K, D + 1)


def tokens_to_targets(out: torch.Tensor) -> torch.Tensor:
    """Read-out (…, 2K) or (…, 2K, 1) → predictions (…, K) at the x tokens (even positions)."""
    out = _tensor(out, "out", min_ndim=1)
    if out.shape[-1] == 1 and out.ndim >= 2:
        out = out[..., 0]
    if out.shape[-1] % 2:
        raise ValueError(f"out's sequence length (last axis) must be even (2K), got "
                         f"{out.shape[-1]}")
    return out[..., 0::2]


def interpolation_path(w_i, w_j, alpha) -> np.ndarray:
    """Eq. 5: w_α = ½(‖w_i‖ + ‖w_j‖)·(αw_i + (1 − α)w_j)/‖αw_i + (1 − α)w_j‖.

    The path runs from w_j (α = 0) to w_i (α = 1) along the direction of the straight line,
    with the norm fixed at the endpoints' mean norm. Returns (len(alpha), D).
    """
    w_i = as_array(w_i, "w_i", ndim=1)
    w_j = as_array(w_j, "w_j", ndim=1)
    if w_i.shape != w_j.shape:
        raise ValueError(f"w_i and w_j must have the same shape, got {w_i.shape} and {w_j.shape}")
    a = as_array(alpha, "alpha", ndim=(0, 1), nonempty=True).reshape(-1)
    if np.any((a < 0) | (a > 1)):
        raise ValueError("alpha must lie in [0, 1]")
    if w_i.size == 0:
        raise ValueError("w_i and w_j must not be empty")
    # the formula is homogeneous of degree 1 in (w_i, w_j): at scales whose squares would
    # overflow or underflow, compute on the rescaled tasks and scale back
    top = max(np.abs(w_i).max(), np.abs(w_j).max())
    scale = top if (top > 1e150 or 0 < top < 1e-150) else 1.0
    w_i, w_j = w_i / scale, w_j / scale
    line = a[:, None] * w_i + (1 - a[:, None]) * w_j
    norm = np.linalg.norm(line, axis=1, keepdims=True)
    if np.any(norm == 0):
        raise ValueError("the straight line between w_i and w_j passes through 0 (antipodal "
                         "tasks, or w_i = w_j = 0)")
    return (0.5 * (np.linalg.norm(w_i) + np.linalg.norm(w_j)) * line / norm) * scale
