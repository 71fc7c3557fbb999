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

from theory.core import check_scalar, check_seeds, counter_uniform
from theory.lottery._checks import as_mask, as_tensor

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
    L = np.asarray(level) if level is not None and not isinstance(level, str) else np.asarray(0.5)
    if L.dtype == bool or not np.issubdtype(L.dtype, np.integer) or np.any(L < 0):
        raise ValueError(f"level must be non-negative integers, got {level!r}")
    return 1.0 - alpha ** L.astype(np.float64)


def _check_weights_mask(weights, mask, name: str = "weights"):
    """(weights, mask) as tensors: weights (G, D) finite floats, mask 0/1 of the same shape."""
    w = as_tensor(weights, name, ndim=2)
    m = as_mask(mask, "mask", ndim=2, nonempty=False)
    if m.shape != w.shape:
        raise ValueError(f"mask must have the shape of {name} {tuple(w.shape)}, got {tuple(m.shape)}")
    return w, m


def _check_keep(keep, mask):
    keep = check_scalar(keep, "keep", kind="int", min=0)
    alive = mask.sum(1)
    if alive.numel() and bool(torch.any(alive < keep)):
        raise ValueError(f"keep={keep} is more than the {int(alive.min())} weights that survive in "
                         f"some row of mask")
    return keep


def _prune_to(scores, mask, keep):
    s = torch.where(mask > 0, scores.to(torch.float64), torch.full_like(scores, -math.inf,
                                                                           dtype=torch.float64))
    order = torch.argsort(s, dim=1, descending=True, stable=True)
    out = torch.zeros_like(mask, dtype=torch.float64)
    out.scatter_(1, order[:, :keep], 1.0)
    return out


def prune_to(scores, mask, keep: int) -> torch.Tensor:
    """Keep the ``keep`` highest-scoring surviving entries of each row; (G, D) float 0/1 mask.

    Every row of ``mask`` must have at least ``keep`` surviving entries. ``scores`` and ``mask``:
    tensors or arrays (G, D); a mask may be bool.
    """
    scores, mask = _check_weights_mask(scores, mask, "scores")
    return _prune_to(scores, mask, _check_keep(keep, mask))


def magnitude_prune(weights, mask, keep: int) -> torch.Tensor:
    """Global magnitude pruning: keep the ``keep`` surviving weights of largest |w| (per row)."""
    weights, mask = _check_weights_mask(weights, mask)
    return _prune_to(weights.abs(), mask, _check_keep(keep, mask))


def random_prune(mask, keep: int, seeds, level: int) -> torch.Tensor:
    """Random pruning: keep ``keep`` of the surviving weights drawn uniformly, row g from
    ``(seeds[g], level)`` (:func:`theory.core.counter_uniform`)."""
    mask = as_mask(mask, "mask", ndim=2, nonempty=False)
    keep = _check_keep(keep, mask)
    level = check_scalar(level, "level", kind="int", min=0)
    seeds = check_seeds(seeds, "seeds")
    if seeds.shape[0] != mask.shape[0]:
        raise ValueError(f"seeds must have one entry per row of mask ({mask.shape[0]}), got {seeds.shape[0]}")
    u = counter_uniform(seeds, level, (mask.shape[1],), stream=7)
    return _prune_to(u, mask, keep)


def is_nested(masks) -> bool:
    """True when every mask is contained in the one before: masks (..., levels, D)."""
    m = as_mask(masks, "masks", min_ndim=2)
    return bool(torch.all(m[..., 1:, :] <= m[..., :-1, :]))


def projection_length(weights, mask) -> torch.Tensor:
    """ℓ = ‖w − m ⊙ w‖: the distance from w to its projection on the axial subspace of m, (G,)."""
    weights, mask = _check_weights_mask(weights, mask)
    return torch.linalg.vector_norm(weights * (1 - mask.to(weights.dtype)), dim=1)
