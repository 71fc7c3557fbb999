"""Precision and recall of a kept set against ground-truth duplicate groups (the book's measure).

A ground-truth group is an original and its injected copies (exact, shifted, noised,
paraphrased): a group of size g holds g − 1 redundant points, whichever g − 1 they are. A removal
counts as *redundant* up to g − 1 per group:
removing the whole group is one removal too many.

    precision = Σ_groups min(r_g, g − 1) / Σ_groups r_g,    recall = Σ_groups min(r_g, g − 1) / Σ_groups (g − 1)

with r_g the group's removed points. Precision is NaN when nothing is removed and recall is NaN
when there are no duplicates (0/0, documented rather than guessed).
"""

from __future__ import annotations

import numpy as np

__all__ = ["duplicate_precision_recall"]


def duplicate_precision_recall(kept, group) -> tuple[float, float]:
    """(precision, recall) of the removals ``~kept`` against duplicate groups ``group`` (see module)."""
    kept = np.asarray(kept)
    group = np.asarray(group)
    if kept.ndim != 1 or kept.dtype != bool:
        raise TypeError("kept must be a 1-D bool array (True = kept)")
    if group.shape != kept.shape or not np.issubdtype(group.dtype, np.integer):
        raise ValueError(f"group must be an integer array of the same shape as kept {kept.shape}, "
                         f"got {group.shape} {group.dtype}")
    _, inverse, sizes = np.unique(group, return_inverse=True, return_counts=True)
    removed = np.bincount(inverse, weights=~kept, minlength=len(sizes))
    useful = np.minimum(removed, sizes - 1).sum()
    total_removed, redundant = removed.sum(), (sizes - 1).sum()
    precision = useful / total_removed if total_removed else float("nan")
    recall = useful / redundant if redundant else float("nan")
    return float(precision), float(recall)
