r"""Class manifolds of trained classifiers: per-class d*₅₀, k-class boundaries, a clamp ablation.

The measurement (the official notebook's, stanislavfort/slice-dice-optimize, on the book's
laptop set-ups): for a target class set S (k = |S|; k = 1 a class manifold, k > 1 a k-class
low-confidence boundary) and plane dimension d_cut, random affine d_cut-planes through anchors
X₀ of other classes (:func:`theory.class_manifolds.class_anchors`) are searched by Adam for the
minimum of the cross-entropy to the uniform distribution over S,
:math:`L = -\frac1k\sum_{c\in S}\log p_c(x)` (:func:`theory.class_manifolds.classifier_objective`).

The success score (the book's reconstruction) is

.. math::  \mathrm{score}(x) = e^{\ln k - L(x)} = k\,\Big(\prod_{c \in S} p_c(x)\Big)^{1/k} \in [0, 1],

k times the geometric mean of the target probabilities: 1 exactly at the uniform distribution
over S, and for k = 1 the target probability p_c itself (the official score). score ≥ ½ means
L is within ln 2 of its optimum ln k. (The official notebook's other option, the *summed* target
probability, gets easier as k grows — any one of the k classes suffices — so it does not measure a
boundary.) The best score over a search, averaged over repeats, is the curve p(d_cut) fitted by
:func:`theory.class_manifolds.fit_sigmoid`; d*₅₀ is its ½-crossing and D − d*₅₀ the effective
dimension. The probability of *reaching* a confidence τ is the fraction of planes whose best
score is ≥ τ (the explorer's curves).

``clamp=True`` (an ablation; the official code does not clamp) evaluates the network at
``x.clamp(lo, hi)``, the data's valid range, so only points inside the pixel box count (the
gradient through a clipped coordinate is 0).

Problems are run one d_cut at a time (``chunk_size`` = all problems of one d): the groundwork pads
θ to the largest d of a chunk, and on a CPU the padded plane product dominates a small network's
cost, so chunks of one d are ≈ 1.4× faster with identical results.
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
import torch
import xarray as xr

from theory.core import check_seed, COLORS, check_scalar, explorer, figure, scaled
from theory.class_manifolds.cutting_plane import (PlaneObjective, _target_sets, class_anchors,
                                                  classifier_objective, cutting_plane_search)
from theory.class_manifolds.fit import SigmoidFit, fit_sigmoid, interpolated_crossing, sigmoid
from theory.class_manifolds.models import Classifiers, load_data, train_classifiers

__all__ = ["CutStudy", "EXPLORER_MODELS", "boundary_objective", "classifier_explorer", "curves_figure",
           "cut_study", "d_cut_grid", "d_star_figure", "k_class_sets", "k_class_table", "monotonicity",
           "setup", "use_in_explorer"]

TAUS = (0.5, 0.9, 0.99)
EXPLORER_MODELS = ("digits", "digits, clamped", "mnist1d")


def setup():
    """The page's sizes, by ``scaled(laptop, paper)``: hidden widths, training steps and seeds of
    the classifiers (the search uses member 0), cutting-plane repeats, the first classes of the
    k-class target sets, and whether the upsampled digits (D = 256) run (at both scales)."""
    return dict(hidden=scaled((128, 128), (256, 256)), steps=scaled(500, 1500), seeds=scaled((0,), (0, 1, 2)),
                repeats=scaled(8, 32), starts=scaled((0, 3, 6), tuple(range(10))),
                upsampled=True, lr=2e-3, batch_size=128)


def d_cut_grid(D: int) -> list[int]:
    """The plane dimensions searched: 1, 2, 4, 6, 8, 12, 16, 24, 32, then doublings, below D, and D
    (dense where the classifiers' transitions lie, sparse above: the padded plane costs ∝ d)."""
    D = check_scalar(D, "D", kind="int", min=1)
    base = [1, 2, 4, 6, 8, 12, 16, 24, 32] + [32 * 2 ** i for i in range(1, 12)]
    return sorted({d for d in base if d < D} | {D})


def k_class_sets(n_classes: int = 10, ks=(1, 2, 3, 4), starts=(0, 2, 4, 6, 8)) -> list[tuple]:
    """Target sets of k consecutive classes (mod ``n_classes``) starting at each of ``starts``, for
    each k in ``ks``: k = 1 the class manifolds, k > 1 the k-class boundaries."""
    n_classes = check_scalar(n_classes, "n_classes", kind="int", min=2)
    ks = [check_scalar(k, "ks", kind="int", min=1, max=n_classes - 1) for k in ks]
    starts = [check_scalar(s, "starts", kind="int", min=0, max=n_classes - 1) for s in starts]
    return [tuple((s + j) % n_classes for j in range(k)) for k in ks for s in starts]


def boundary_objective(logits_fn, target_sets, n_classes, D, *, clamp=None) -> PlaneObjective:
    r"""The classifier objective with the score :math:`e^{\ln k - L}` (module docstring) and, with
    ``clamp=(lo, hi)``, the network evaluated at ``x.clamp(lo, hi)``."""
    if clamp is not None:
        if not (isinstance(clamp, (tuple, list)) and len(clamp) == 2):
            raise TypeError(f"clamp must be None or a pair (lo, hi), got {clamp!r}")
        lo, hi = check_scalar(clamp[0], "clamp[0]"), check_scalar(clamp[1], "clamp[1]")
        if not lo < hi:
            raise ValueError(f"clamp must have lo < hi, got {clamp!r}")
        inner = logits_fn
        logits_fn = lambda x: inner(x.clamp(lo, hi))  # noqa: E731
    base = classifier_objective(logits_fn, target_sets, n_classes, D)
    floor = torch.tensor(base.loss_floor, dtype=torch.float64)

    def fn(x, target):
        loss, _ = base.fn(x, target)
        return loss, torch.exp(floor.to(loss)[target] - loss)

    return PlaneObjective(fn, base.D, base.keys, loss_floor=base.loss_floor, name="boundary",
                          extra={**base.extra, "clamp": clamp})


@dataclass
class CutStudy:
    r"""The cutting-plane search of one classifier over target sets: ``search`` (d_cut, repeat,
    target) as :func:`theory.class_manifolds.cutting_plane_search` returns it (``best_score`` the
    best :math:`e^{\ln k - L}`), one :class:`SigmoidFit` per target, and the set-up."""

    label: str
    D: int
    sets: list
    search: xr.Dataset
    fits: list
    test_accuracy: float
    clamp: tuple | None
    seconds: float

    @property
    def d_cuts(self) -> np.ndarray:
        return self.search["d_cut"].values.astype(float)

    @property
    def curves(self) -> np.ndarray:
        """(d_cut, target): the repeat-mean best score p(d_cut)."""
        return self.search["best_score"].mean("repeat").values

    def reach(self, tau: float) -> np.ndarray:
        """(d_cut, target): the fraction of planes whose best score reaches ``tau``."""
        tau = check_scalar(tau, "tau", min=0.0, max=1.0, include_min=False)
        return (self.search["best_score"] >= tau).mean("repeat").values

    def table(self) -> pd.DataFrame:
        """One row per target set: k, d*₅₀ (NaN unless the fit crosses ½ inside 1…D), its draw
        range, the piecewise-linear ½-crossing, D − d*₅₀, the fit's status and p at d = 1 and D."""
        rows = []
        for j, (s, f) in enumerate(zip(self.sets, self.fits)):
            rows.append(dict(model=self.label, target="+".join(map(str, s)), k=len(s), d50=f.d50,
                             d50_lo=f.d50_range[0], d50_hi=f.d50_range[1],
                             interp=interpolated_crossing(self.d_cuts, self.curves[:, j], 0.5),
                             effective_dim=f.effective_dim, status=f.status,
                             p_first=self.curves[0, j], p_D=self.curves[-1, j]))
        return pd.DataFrame(rows)

    def d_star(self, *, below_grid: float | None = None) -> np.ndarray:
        """Per target: d*₅₀ from the fit; where the curve is above ½ from the first plane on
        ("always_above") ``below_grid`` (default NaN) stands in."""
        out = np.array([f.d50 for f in self.fits])
        if below_grid is not None:
            out[[f.status == "always_above" for f in self.fits]] = below_grid
        return out


def cut_study(model: Classifiers, member=0, *, target_sets=None, d_cuts=None, n_repeats: int = 8,
              seed: int = 0, clamp: bool = False, steps: int = 300, early_stop: bool = True,
              label: str | None = None, show_progress: bool = False) -> CutStudy:
    """Search ``model``'s member (or ensemble, a list) for every target set (default: each class),
    every d_cut (default :func:`d_cut_grid`) and ``n_repeats`` anchors/planes, with the official
    Adam (lr 5·10⁻², ≤ ``steps``, early stop), anchors from the training set; fit each curve."""
    import time

    if not isinstance(model, Classifiers):
        raise TypeError(f"model must be a Classifiers (train_classifiers), got {type(model).__name__}")
    if not isinstance(clamp, bool):
        raise TypeError(f"clamp must be a bool, got {type(clamp).__name__}")
    data = model.data
    C, D = data.n_classes, data.D
    sets, _ = _target_sets(list(range(C)) if target_sets is None else target_sets, C)
    ds = d_cut_grid(D) if d_cuts is None else list(d_cuts)
    n_repeats = check_scalar(n_repeats, "n_repeats", kind="int", min=1)
    seed = check_seed(seed)
    fn = model.logits_fn(member)
    box = (data.lo, data.hi) if clamp else None
    obj = boundary_objective(fn, sets, C, D, clamp=box)
    anchors = class_anchors(data.X_train, data.y_train.numpy(), sets, n_repeats, C, seed=seed)
    t0 = time.perf_counter()
    res = cutting_plane_search(obj, anchors, ds, n_repeats, seed=seed, steps=steps, early_stop=early_stop,
                               chunk_size=n_repeats * len(sets), show_progress=show_progress)
    seconds = time.perf_counter() - t0
    p = res["best_score"].mean("repeat").values
    d = res["d_cut"].values.astype(float)
    fits = [_fit(d, p[:, j], D, seed) for j in range(len(sets))]
    acc = model.accuracy(data.X_test, data.y_test, member)
    name = label or (data.name + (", clamped" if clamp else ""))
    return CutStudy(name, D, sets, res, fits, acc, box, seconds)


def _fit(d, p, D, seed=0) -> SigmoidFit:
    """:func:`fit_sigmoid`, or an all-NaN fit with status "no_fit" where curve_fit fails from both
    starts or the grid has fewer than 4 points (the study keeps its curves either way)."""
    if len(d) >= 4:
        try:
            return fit_sigmoid(d, p, D, seed=seed)
        except RuntimeError:
            pass
    nan = math.nan
    return SigmoidFit(nan, nan, nan, nan, np.full((4, 4), nan), 0.5, nan, nan, (nan, nan), False, False, D,
                      nan, nan, "none", nan, "no_fit")


def _study(study, name="study"):
    if not isinstance(study, CutStudy):
        raise TypeError(f"{name} must be a CutStudy (cut_study), got {type(study).__name__}")
    return study


def _studies(studies):
    if isinstance(studies, CutStudy) or not isinstance(studies, Sequence) or not studies:
        raise TypeError(f"studies must be a non-empty sequence of CutStudy, got {type(studies).__name__}")
    for st in studies:
        _study(st, "studies")
    return studies


def monotonicity(study: CutStudy, *, targets=None) -> dict:
    r"""The check "the best target probability is non-decreasing in d_cut on average": the mean
    best score over the targets (default all) and repeats at each d_cut, its standard error
    (planes at different d are independent draws), and each step's
    :math:`z_i = (m_{i+1} - m_i)/\sqrt{se_i^2 + se_{i+1}^2}` (non-decreasing within noise: every
    :math:`z_i \ge -2`); ``rise`` = m(D) − m(d_min)."""
    _study(study)
    best = study.search["best_score"].values  # (d, repeat, target)
    if targets is not None:
        best = best[:, :, list(targets)]
    flat = best.reshape(best.shape[0], -1)
    m = flat.mean(1)
    se = flat.std(1, ddof=1) / math.sqrt(flat.shape[1])
    z = np.diff(m) / np.sqrt(se[1:] ** 2 + se[:-1] ** 2 + 1e-300)
    return dict(mean=m, se=se, z=z, min_z=float(z.min()), rise=float(m[-1] - m[0]), p_D=float(m[-1]))


def k_class_table(study: CutStudy) -> pd.DataFrame:
    """Per k: the number of target sets, how many fits cross ½ inside the grid, and the mean and
    standard error of d*₅₀ over the sets (a set whose curve starts above ½ counts as d*₅₀ = 1,
    the smallest plane: an upper bound)."""
    _study(study)
    t = study.table()
    d = study.d_star(below_grid=1.0)
    t = t.assign(d50_used=d)
    g = t.groupby("k")
    out = pd.DataFrame({"sets": g.size(), "crossing": g["status"].apply(lambda s: int((s == "crosses").sum())),
                        "d50_mean": g["d50_used"].mean(), "d50_se": g["d50_used"].std(ddof=1) / np.sqrt(g.size()),
                        "effective_dim": study.D - g["d50_used"].mean()})
    return out.reset_index()


# ------------------------------------------------------------------------------------- figures
def _class_colors(n):
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]


def curves_figure(studies: Sequence[CutStudy]):
    """One panel per study: the repeat-mean best target probability against d_cut (log axis), one
    line per class with markers, its sigmoid fit dashed, d*₅₀ marked on the ½ line."""
    _studies(studies)
    n = len(studies)
    fig, axes = figure(1, n, width="wide", height=3.3, sharey=True)
    axes = np.atleast_1d(axes)
    for ax, st in zip(axes, studies):
        k1 = [j for j, s in enumerate(st.sets) if len(s) == 1]
        cols = _class_colors(len(k1))
        dd = np.geomspace(1, st.D, 200)
        for col, j in zip(cols, k1):
            f = st.fits[j]
            ax.plot(st.d_cuts, st.curves[:, j], "o", ms=2.5, color=col, label=str(st.sets[j][0]))
            if f.status != "no_fit":
                ax.plot(dd, sigmoid(dd, f.a, f.b, f.c, f.s), "--", lw=0.9, color=col)
            if f.inside:
                ax.plot([f.d50], [0.5], "|", ms=9, color=col)
        ax.axhline(0.5, color=COLORS["grey"], lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.set(xlabel="plane dimension d_cut", title=f"{st.label} (D = {st.D}), test acc {st.test_accuracy:.0%}")
    axes[0].set_ylabel("best target probability (mean over planes)")
    axes[-1].legend(title="class", fontsize=7, ncol=2, loc="lower right")
    return fig


def d_star_figure(studies: Sequence[CutStudy]):
    """Left: d*₅₀ per class for each study (bars: the fit's covariance-draw range, cut at ½; a
    class whose curve starts above ½ is drawn at d = 1, open). Right: the effective dimension as a fraction
    of D, (D − d*₅₀)/D."""
    _studies(studies)
    fig, (ax0, ax1) = figure(1, 2, width="wide", height=3.2)
    n = len(studies)
    for i, st in enumerate(studies):
        col = f"C{i}"
        k1 = [j for j, s in enumerate(st.sets) if len(s) == 1]
        x = np.array([st.sets[j][0] for j in k1]) + (i - (n - 1) / 2) * 0.15
        d = st.d_star(below_grid=1.0)[k1]
        lo = np.array([st.fits[j].d50_range[0] for j in k1])
        hi = np.array([st.fits[j].d50_range[1] for j in k1])
        above = np.array([st.fits[j].status == "always_above" for j in k1])
        lo = np.clip(np.nan_to_num(lo, nan=d), 0.5, None)  # a draw range reaching below d = ½ is cut there
        err = np.vstack([np.clip(d - lo, 0, None), np.clip(np.nan_to_num(hi, nan=d) - d, 0, None)])
        ax0.errorbar(x[~above], d[~above], yerr=err[:, ~above], fmt="o", ms=4, color=col, capsize=2,
                     label=f"{st.label} (D = {st.D})")
        if above.any():
            ax0.plot(x[above], d[above], "o", ms=4, mfc="none", color=col)
        ax1.plot(x, (st.D - d) / st.D, "o", ms=4, color=col, label=st.label)
    ax0.set_yscale("log")
    ax0.set(xlabel="target class", ylabel="d*₅₀ (fitted ½-crossing)", xticks=range(10))
    ax1.set(xlabel="target class", ylabel="effective dimension (D − d*₅₀)/D", xticks=range(10))
    ax0.legend(fontsize=7)
    return fig


def k_class_figure(study: CutStudy):
    """Left: d*₅₀ of every target set against k (points) with the mean ± standard error over sets.
    Right: the mean best score curve over the sets of each k against d_cut."""
    fig, (ax0, ax1) = figure(1, 2, width="wide", height=3.2)
    t = k_class_table(study)
    ks = np.array([len(s) for s in study.sets])
    d = study.d_star(below_grid=1.0)
    jitter = np.zeros(len(ks))
    for k in set(ks):
        jitter[ks == k] = np.linspace(-0.12, 0.12, int((ks == k).sum()))
    ax0.plot(ks + jitter, d, "o", ms=3, color=COLORS["grey"], label="one target set")
    ax0.errorbar(t["k"], t["d50_mean"], yerr=t["d50_se"], fmt="s-", ms=6, capsize=3, color="C0",
                 label="mean ± s.e. over sets")
    ax0.set(xlabel="k (classes in the target set)", ylabel="d*₅₀", xticks=sorted(set(ks)))
    ax0.legend(fontsize=8)
    for i, k in enumerate(sorted(set(ks))):
        ax1.plot(study.d_cuts, study.curves[:, ks == k].mean(1), "o-", ms=3, color=f"C{i}", label=f"k = {k}")
    ax1.axhline(0.5, color=COLORS["grey"], lw=0.8, ls=":")
    ax1.set_xscale("log")
    ax1.set(xlabel="plane dimension d_cut", ylabel="best score k·(Π p_c)^{1/k}, mean")
    ax1.legend(fontsize=8)
    return fig


# ------------------------------------------------------------------------------------- explorer
_EXPLORER: dict = {}


@functools.lru_cache(maxsize=len(EXPLORER_MODELS))
def _default_study(model: str) -> CutStudy:
    """A small stand-in study (one hidden layer of 32, 150 steps, 3 repeats, 100 Adam steps) when no
    page has handed the explorer its own."""
    data = load_data("mnist1d" if model == "mnist1d" else "digits")
    clf = train_classifiers(data, hidden=(32,), seeds=(0,), steps=150, lr=5e-3, progress=False)
    grid = [d for d in d_cut_grid(data.D) if d in (1, 4, 8, 16, 32, data.D)]
    return cut_study(clf, 0, d_cuts=grid, n_repeats=3, steps=100, clamp="clamped" in model, label=model)


def use_in_explorer(studies: Sequence[CutStudy]):
    """Make :data:`classifier_explorer` draw these studies (labels from :data:`EXPLORER_MODELS`)
    and return it."""
    for st in studies:
        if not isinstance(st, CutStudy):
            raise TypeError(f"studies must hold CutStudy objects, got {type(st).__name__}")
        if st.label not in EXPLORER_MODELS:
            raise ValueError(f"a study's label must be one of {EXPLORER_MODELS}, got {st.label!r}")
        if not all((c,) in st.sets for c in range(10)):
            raise ValueError(f"study {st.label!r} must hold the ten single-class targets")
        _EXPLORER[st.label] = st
    return classifier_explorer


@explorer(model=list(EXPLORER_MODELS), target_class=list(range(10)),
          labels={"model": "classifier", "target_class": "target class"})
def classifier_explorer(model: str = "digits", target_class: int = 0):
    """The probability that a random affine d_cut-plane through an anchor of another class holds a
    point where the classifier gives ``target_class`` probability ≥ τ (τ = 0.5, 0.9, 0.99; the
    fraction of planes whose best point reaches τ), against d_cut; the mean best probability
    (black) with its sigmoid fit (dashed) and d*₅₀. Studies not handed over by
    :func:`use_in_explorer` are a small stand-in computed on first use."""
    st = _EXPLORER.get(model) or _default_study(model)
    j = st.sets.index((int(target_class),))
    fig, ax = figure(1, 1, width="text", height=3.4, layout=None)
    fig.subplots_adjust(left=0.14, right=0.97, bottom=0.15, top=0.88)
    for tau, col in zip(TAUS, ("C0", "C1", "C3")):
        ax.plot(st.d_cuts, st.reach(tau)[:, j], "o-", ms=3, lw=1.2, color=col, label=f"P(reach τ = {tau:g})")
    f = st.fits[j]
    dd = np.geomspace(1, st.D, 100)
    ax.plot(st.d_cuts, st.curves[:, j], "s", ms=3, color="k", label="mean best probability")
    if f.status != "no_fit":
        ax.plot(dd, sigmoid(dd, f.a, f.b, f.c, f.s), "--", lw=1, color="k")
    d50 = f"d*₅₀ = {f.d50:.1f}, D − d* = {f.effective_dim:.1f}" if f.inside else f"fit: {f.status}"
    if f.inside:
        ax.axvline(f.d50, color=COLORS["grey"], ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_xlim(0.8, st.D * 1.25)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xticks([d for d in (1, 2, 4, 8, 16, 32, 64, 128, 256) if d <= st.D])
    ax.set_xticklabels([str(d) for d in (1, 2, 4, 8, 16, 32, 64, 128, 256) if d <= st.D])
    ax.set(xlabel="plane dimension d_cut", ylabel="probability",
           title=f"{st.label} (D = {st.D}), class {target_class}: {d50}")
    ax.title.set_fontsize(8)
    ax.legend(fontsize=7, loc="lower right")
    return fig
