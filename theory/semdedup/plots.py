"""Figures and the explorer of the algorithm page (``book/semdedup/algorithm.ipynb``).

The explorer's toy is one cluster on the unit circle (:func:`theory.semdedup.toy.toy_cluster`),
where a pair is a semantic duplicate (e_i·e_j > 1 − ε) iff the angle between them is below
arccos(1 − ε) ≈ √(2ε). The book's illustrations, not figures of the paper.
"""

from __future__ import annotations

import numpy as np

from theory.core._explorer import explorer
from theory.core._plotting import COLORS, figure
from theory.core._validate import as_array, check_scalar, check_seed
from theory.semdedup._dedup import KEEP_RULES, SEMANTICS, _check_choice, semdedup
from theory.semdedup.toy import toy_cluster

__all__ = ["TOY_EPS", "cost_figure", "kept_fraction_figure", "rule_explorer", "rule_figure"]

TOY_EPS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1)


def rule_figure(points, eps: float, *, semantics: str = "greedy", keep: str = "hard",
                eps_grid=TOY_EPS, seed: int = 1234):
    """Left: the toy cluster's points by angle, kept or removed at ε, the duplicate pairs joined,
    each point numbered by its place in the keep order. Right: the kept fraction against ε for both
    semantics, the current ε marked."""
    from theory.semdedup._dedup import _check_eps
    from theory.semdedup.algorithm import _points

    semantics = _check_choice(semantics, "semantics", SEMANTICS)
    keep = _check_choice(keep, "keep", KEEP_RULES)
    points = _points(points, "points")
    if points.shape[1] != 2:
        raise ValueError(f"points must be (n, 2) points on the unit circle, got shape {points.shape}")
    eps = check_scalar(eps, "eps", min=0.0, max=1.0, include_min=False, include_max=False)
    eps_grid = as_array(eps_grid, "eps_grid", ndim=1, nonempty=True)
    _check_eps(tuple(eps_grid.tolist()))
    seed = check_seed(seed)
    grid = tuple(sorted(set(eps_grid.tolist()) | {eps}))
    res = {s: semdedup(points, 1, grid, keep=keep, semantics=s, seed=seed) for s in SEMANTICS}
    r = res[semantics]
    kept = r.kept_mask(eps)
    fig, (ax, ax2) = figure(ncols=2, width="wide", height=3.6)
    arc = np.linspace(0, 2 * np.pi, 400)
    ax.plot(np.cos(arc), np.sin(arc), color="0.85", lw=1, zorder=1)
    S = points @ points.T
    for i, j in zip(*np.nonzero(np.triu(S > np.float32(1.0 - eps), 1))):
        ax.plot(points[[i, j], 0], points[[i, j], 1], color=COLORS["orange"], lw=3, alpha=0.6,
                zorder=2)
    ax.plot([], [], color=COLORS["orange"], lw=3, alpha=0.6, label="pair with cos > 1 − ε")
    ax.scatter(*points[kept].T, s=45, color=COLORS["blue"], zorder=3, label="kept")
    ax.scatter(*points[~kept].T, s=45, facecolors="white", edgecolors=COLORS["red"],
               linewidths=1.5, zorder=3, label="removed")
    for i, p in enumerate(points):
        ax.annotate(str(r.rank[i] + 1), p * 1.13, ha="center", va="center", fontsize=7)
    ax.set_aspect("equal")
    ax.set_xlim(-1.35, 1.35)
    ax.set_ylim(-1.35, 1.35)
    ax.set_xlabel("e₁  (numbers: place in the keep order)")
    ax.set_ylabel("e₂")
    ax.set_title(f"ε = {eps:g}, {semantics}, keep {keep}: {kept.sum()} of {len(kept)} kept",
                 fontsize=9)
    ax.legend(loc="center", fontsize=7, frameon=False)
    for s, marker in zip(SEMANTICS, ("o", "s")):
        ax2.plot(grid, [res[s].kept_fraction(e) for e in grid], marker=marker, ms=4,
                 label=s, color=COLORS["blue"] if s == "greedy" else COLORS["green"])
    ax2.axvline(eps, color="0.5", ls=":", lw=1)
    ax2.set_xscale("log")
    ax2.set_xlabel("ε")
    ax2.set_ylabel("kept fraction")
    ax2.legend(fontsize=7)
    return fig


_TOY = None


@explorer(eps=list(TOY_EPS), semantics=list(SEMANTICS), keep=list(KEEP_RULES),
          labels={"eps": "ε", "semantics": "semantics", "keep": "keep"})
def rule_explorer(eps: float = 0.01, semantics: str = "greedy", keep: str = "hard"):
    """The rule on one toy cluster: which points go as ε, the semantics and the keep rule change."""
    global _TOY
    if _TOY is None:
        _TOY = toy_cluster()
    return rule_figure(_TOY, eps, semantics=semantics, keep=keep)


def kept_fraction_figure(result, eps_grid, reference: dict | None = None, *, title=None):
    """Kept fraction against ε: the greedy rule's curve from M (line) and the O(n²) reference
    at a few ε (markers), with the paper-scale pairs of the official ``constants.py`` left out
    (a different data set)."""
    from theory.semdedup._dedup import SemDeDupResult

    if not isinstance(result, SemDeDupResult):
        raise TypeError(f"result must be a SemDeDupResult (semdedup), got {type(result).__name__}")
    eps_grid = as_array(eps_grid, "eps_grid", ndim=1, nonempty=True)
    if np.any(eps_grid <= 0) or np.any(eps_grid >= 1):
        raise ValueError(f"eps_grid must hold values in (0, 1), got {eps_grid}")
    fig, ax = figure()
    ax.plot(eps_grid, result.kept_fraction(eps_grid), color=COLORS["blue"],
            label="pipeline: #{M ≤ 1 − ε} / n")
    if reference:
        e = sorted(reference)
        ax.plot(e, [reference[x] for x in e], "o", color=COLORS["red"], ms=5,
                label="O(n²) reference")
    ax.set_xlabel("ε")
    ax.set_ylabel("kept fraction")
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend()
    return fig


def cost_figure(sizes_by_k: dict, n: int):
    """Pairwise comparisons inside clusters, Σ n_c², as a fraction of n², against k, with the
    balanced-cluster line 1/k (the least possible, by Cauchy–Schwarz)."""
    if not isinstance(sizes_by_k, dict) or not sizes_by_k:
        raise TypeError(f"sizes_by_k must be a non-empty dict k -> cluster sizes, got {type(sizes_by_k).__name__}")
    n = check_scalar(n, "n", kind="int", min=1)
    ks = np.array(sorted(sizes_by_k))
    frac = np.array([np.sum(np.asarray(sizes_by_k[k], float) ** 2) / n ** 2 for k in ks])
    fig, ax = figure()
    ax.loglog(ks, 1.0 / ks, color=COLORS["blue"], label="1/k (equal clusters)")
    ax.loglog(ks, frac, "o", color=COLORS["red"], label="Σ n_c² / n² (measured)")
    ax.set_xlabel("number of clusters k")
    ax.set_ylabel("comparisons / n²")
    ax.legend()
    return fig
