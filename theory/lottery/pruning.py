"""Global pruning: magnitude and random, one level at a time, with exact kept counts.

Level L of a schedule with per-level keep fraction α keeps ``n_kept(D, α, L) = round(α^L · D)``
of the D prunable weights, so the sparsity after L levels is 1 − α^L to within 1/(2D) (the
paper's convention: α = 0.8 is "20 % pruning", the level-L subspace has dimension α^L·D). The
lth_diet code removes ceil((1−α)·remaining) per level instead, which drifts from α^L·D by up to
one weight a level; the book rounds the target so that the schedule is exact.

Pruning from a mask m_L to m_{L+1} removes, among the surviving weights only, those with the
lowest score — |w| for magnitude pruning (Frankle & Carbin 2019; global across layers), an
independent uniform draw for random pruning — so m_{L+1} ⊂ m_L (nested) by construction. Ties
are broken by position (a stable sort), so the result is deterministic.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from theory.core import check_scalar, counter_uniform

__all__ = ["check_alpha", "n_kept", "sparsity", "prune_to", "magnitude_prune", "random_prune",
           "is_nested", "projection_length"]

METHODS = ("magnitude", "random")


def check_alpha(alpha) -> float:
    """α, the fraction of surviving weights kept per level, in the open interval (0, 1)."""
    return check_scalar(alpha, "alpha", min=0.0, max=1.0, include_min=False, include_max=False)


def n_kept(D: int, alpha: float, level: int) -> int:
    """round(α^L · D): the weights kept after ``level`` levels (at least 1)."""
    D = check_scalar(D, "D", kind="int", min=1)
    alpha = check_alpha(alpha)
    level = check_scalar(level, "level", kind="int", min=0)
    return max(1, int(round(alpha ** level * D)))


def sparsity(alpha: float, level) -> np.ndarray:
    """1 − α^L, the fraction of weights pruned after L levels (array-valued in ``level``)."""
    alpha = check_alpha(alpha)
    L = np.asarray(level)
    if not np.issubdtype(L.dtype, np.integer) or np.any(L < 0):
        raise ValueError(f"level must be non-negative integers, got {level!r}")
    return 1.0 - alpha ** L.astype(np.float64)


def _check_weights_mask(weights, mask):
    if not isinstance(weights, torch.Tensor) or weights.ndim != 2 or not weights.dtype.is_floating_point:
        raise TypeError("weights must be a floating-point tensor (G, D)")
    if not isinstance(mask, torch.Tensor) or mask.shape != weights.shape:
        raise ValueError(f"mask must be a tensor of the weights' shape {tuple(weights.shape)}, got "
                         f"{tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__}")
    if not bool(torch.all((mask == 0) | (mask == 1))):
        raise ValueError("mask must hold only zeros and ones")


def prune_to(scores: torch.Tensor, mask: torch.Tensor, keep: int) -> torch.Tensor:
    """Keep the ``keep`` highest-scoring surviving entries of each row; (G, D) float 0/1 mask.

    Every row of ``mask`` must have at least ``keep`` surviving entries.
    """
    _check_weights_mask(scores, mask)
    keep = check_scalar(keep, "keep", kind="int", min=0)
    alive = mask.sum(1)
    if bool(torch.any(alive < keep)):
        raise ValueError(f"keep={keep} is more than the {int(alive.min())} weights that survive in "
                         f"some row of mask")
    s = torch.where(mask > 0, scores.to(torch.float64), torch.full_like(scores, -math.inf,
                                                                           dtype=torch.float64))
    order = torch.argsort(s, dim=1, descending=True, stable=True)
    out = torch.zeros_like(mask, dtype=torch.float64)
    out.scatter_(1, order[:, :keep], 1.0)
    return out


def magnitude_prune(weights, mask, keep: int) -> torch.Tensor:
    """Global magnitude pruning: keep the ``keep`` surviving weights of largest |w| (per row)."""
    _check_weights_mask(weights, mask)
    return prune_to(weights.abs(), mask, keep)


def random_prune(mask, keep: int, seeds, level: int) -> torch.Tensor:
    """Random pruning: keep ``keep`` of the surviving weights drawn uniformly, row g from
    ``(seeds[g], level)`` (:func:`theory.core.counter_uniform`)."""
    if not isinstance(mask, torch.Tensor) or mask.ndim != 2:
        raise TypeError("mask must be a tensor (G, D)")
    level = check_scalar(level, "level", kind="int", min=0)
    u = counter_uniform(seeds, level, (mask.shape[1],), stream=7)
    if u.shape[0] != mask.shape[0]:
        raise ValueError(f"seeds must have one entry per row of mask ({mask.shape[0]}), got {u.shape[0]}")
    return prune_to(u, mask, keep)


def is_nested(masks) -> bool:
    """True when every mask is contained in the one before: masks (..., levels, D)."""
    m = torch.as_tensor(masks)
    return bool(torch.all(m[..., 1:, :] <= m[..., :-1, :]))


def projection_length(weights, mask) -> torch.Tensor:
    """ℓ = ‖w − m ⊙ w‖: the distance from w to its projection on the axial subspace of m, (G,)."""
    _check_weights_mask(weights, mask)
    return torch.linalg.vector_norm(weights * (1 - mask), dim=1)
