"""Analyses and figures of the IMP page (book/lottery/imp.ipynb): the sparsity schedule, the
highest matching sparsity per pruning method and rewind step, and whether retraining finds new
small weights (Paul et al. 2023, abstract: "retraining finds new small weights to prune").

Everything here reads an :class:`~theory.lottery.IMPRun` (configurations first, levels second)
and returns plain arrays or a ``pandas.DataFrame``; the criteria are the book's reconstruction
(the paper's matching tolerance is not in the text available here).
"""

from __future__ import annotations

import numpy as np
import torch

from theory.core import COLORS, check_scalar, figure
from theory.lottery.imp import IMPRun, matching
from theory.lottery.pruning import magnitude_prune

__all__ = ["schedule_deviation", "highest_matching_level", "select", "matching_table",
           "new_small_weights", "surviving_weights", "error_vs_sparsity_figure", "weights_figure"]

METHOD_COLORS = {"magnitude": COLORS["blue"], "random": COLORS["orange"], "one-shot": COLORS["green"]}


def _check_run(run, name: str = "run") -> IMPRun:
    if not isinstance(run, IMPRun):
        raise TypeError(f"{name} must be an IMPRun (from run_imp or run_one_shot), got {type(run).__name__}")
    return run


def _check_runs(runs) -> list[IMPRun]:
    if isinstance(runs, IMPRun):
        return [runs]
    if not isinstance(runs, (list, tuple)) or not runs:
        raise TypeError("runs must be an IMPRun or a non-empty list of them")
    return [_check_run(r, f"runs[{i}]") for i, r in enumerate(runs)]


def schedule_deviation(run: IMPRun) -> np.ndarray:
    """(G, L+1) |s_measured − (1 − α^L)|: the measured sparsity (fraction of weights masked) against
    the schedule. Level L keeps round(α^L·D) weights, so every entry is at most 1/(2D)."""
    run = _check_run(run)
    L = run.levels.astype(np.float64)
    return np.abs(run.sparsity - (1.0 - run.settings.alpha ** L)[None, :])


def highest_matching_level(run: IMPRun, tolerance: float = 0.01, *, split: str = "test") -> np.ndarray:
    """(G,) the largest level L* at which a configuration is matching (its ``split`` error at most
    its own dense error + ``tolerance``, :func:`~theory.lottery.matching`); 0 when no pruned level
    matches. The book's criterion: the last matching level, not the first failure, so that one
    noisy level early on (a test example is 1/449 of the digits test set) does not end the count.
    The highest matching sparsity is 1 − α^{L*}."""
    m = matching(_check_run(run), tolerance, split=split)
    lv = np.where(m, run.levels[None, :], 0)
    return lv.max(axis=1)


def select(run: IMPRun, pruning: str, rewind: int) -> np.ndarray:
    """Indices of the configurations of ``run`` with this pruning method and rewind step, in the
    order of the run's seeds (so that two runs on the same seeds pair up)."""
    run = _check_run(run)
    methods = tuple(run.sweep.axes["pruning"])
    rewinds = tuple(int(r) for r in run.sweep.axes["rewind"])
    if pruning not in methods:
        raise ValueError(f"pruning must be one of the run's methods {methods}, got {pruning!r}")
    if isinstance(rewind, bool) or not isinstance(rewind, (int, np.integer)) or int(rewind) not in rewinds:
        raise ValueError(f"rewind must be one of the run's rewind steps {rewinds}, got {rewind!r}")
    p, r, s = (run.sweep.column(a) for a in ("pruning", "rewind", "seed"))
    idx = np.flatnonzero((p == pruning) & (r.astype(np.int64) == int(rewind)))
    return idx[np.argsort(s[idx].astype(np.int64), kind="stable")]


def matching_table(runs, tolerance: float = 0.01):
    """One row per (pruning method, rewind step) of ``runs``: the number of seeds, the mean dense
    and last-level test error (%), the highest matching level L* over the seeds (min, median,
    max) and the sparsity 1 − α^{L*} at the median (%). A ``pandas.DataFrame``."""
    import pandas as pd

    rows = []
    for run in _check_runs(runs):
        top = highest_matching_level(run, tolerance)
        a = run.settings.alpha
        for method in run.sweep.axes["pruning"]:
            for k in run.sweep.axes["rewind"]:
                i = select(run, str(method), int(k))
                med = float(np.median(top[i]))
                rows.append({"pruning": str(method), "rewind": int(k), "seeds": len(i),
                             "dense error %": 100 * run.test_error[i, 0].mean(),
                             f"error % at L={run.levels[-1]}": 100 * run.test_error[i, -1].mean(),
                             "L* min": int(top[i].min()), "L* median": med, "L* max": int(top[i].max()),
                             "sparsity % at median L*": 100 * (1 - a ** med)})
    return pd.DataFrame(rows).set_index(["pruning", "rewind"])


def _ranks(x: torch.Tensor) -> torch.Tensor:
    r = torch.empty_like(x, dtype=torch.float64)
    r[torch.argsort(x, stable=True)] = torch.arange(x.numel(), dtype=torch.float64)
    return r


def new_small_weights(run: IMPRun, pruning: str = "magnitude") -> dict:
    """Does retraining find new small weights? For every configuration of ``pruning`` and level
    L = 0 … levels−1 (the book's reconstruction of the abstract's statement):

    - P_{L+1} = m_L \\ m_{L+1}: the weights IMP prunes, the smallest |w| of the retrained level-L
      solution θ_L among the n_L survivors;
    - S_{L+1}: the same number p_L of smallest |w| among the survivors at the rewind point
      (m_L ⊙ θ_k, before retraining) — what pruning would remove without retraining;
    - ``fraction_new`` = |P_{L+1} \\ S_{L+1}| / p_L: the pruned weights that were not small before
      retraining. 0 when retraining keeps the order of the magnitudes; ``chance`` = 1 − p_L/n_L
      (≈ α) when P is unrelated to the rewind point (E|P ∩ S| = p_L²/n_L);
    - ``rank_correlation``: Spearman's ρ between |θ_k| and |θ_L| over the survivors.

    Returns ``fraction_new`` and ``rank_correlation`` (G', L), ``chance`` (L,), ``index`` (G',)
    (the configurations used) and ``rewind`` (G',).
    """
    run = _check_run(run)
    methods = tuple(run.sweep.axes["pruning"])
    if pruning not in methods:
        raise ValueError(f"pruning must be one of the run's methods {methods}, got {pruning!r}")
    idx = np.flatnonzero(run.sweep.column("pruning") == pruning)
    D, nL = run.net.n_weights, run.theta.shape[1] - 1
    if nL < 1:
        raise ValueError("run must have at least one pruned level")
    wk = run.rewind_theta[idx, :D].to(torch.float64)
    frac = np.zeros((len(idx), nL))
    rho = np.zeros((len(idx), nL))
    chance = np.zeros(nL)
    for L in range(nL):
        mL, mN = run.masks[idx, L], run.masks[idx, L + 1]
        n, keep = int(mL[0].sum()), int(mN[0].sum())
        p = n - keep
        if p < 1:
            raise ValueError(f"level {L + 1} prunes no weight (n = {n}); nothing to compare")
        before = magnitude_prune(wk, mL, keep)
        pruned, small_before = (mL - mN) > 0, (mL - before) > 0
        frac[:, L] = 1.0 - (pruned & small_before).sum(1).numpy() / p
        chance[L] = 1.0 - p / n
        wL = run.theta[idx, L, :D].to(torch.float64)
        for j in range(len(idx)):
            alive = mL[j] > 0
            a, b = _ranks(wk[j, alive].abs()), _ranks(wL[j, alive].abs())
            a, b = a - a.mean(), b - b.mean()
            rho[j, L] = float((a * b).sum() / torch.sqrt((a * a).sum() * (b * b).sum()))
    return {"fraction_new": frac, "chance": chance, "rank_correlation": rho, "index": idx,
            "rewind": run.sweep.column("rewind")[idx].astype(np.int64)}


def surviving_weights(run: IMPRun, config: int, level: int) -> dict:
    """The survivors of m_L of configuration ``config``: |w| at the rewind point (before
    retraining) and in the level-L solution (after), and which of them level L+1 prunes."""
    run = _check_run(run)
    config = check_scalar(config, "config", kind="int", min=0, max=len(run.sweep) - 1)
    level = check_scalar(level, "level", kind="int", min=0, max=run.theta.shape[1] - 2)
    D = run.net.n_weights
    alive = run.masks[config, level] > 0
    pruned = (run.masks[config, level] - run.masks[config, level + 1])[alive] > 0
    return {"before": run.rewind_theta[config, :D][alive].abs().double().numpy(),
            "after": run.theta[config, level, :D][alive].abs().double().numpy(),
            "pruned_next": pruned.numpy()}


def _plain_log(ax, axis: str, ticks) -> None:
    from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter

    getattr(ax, f"set_{axis}scale")("log")
    a = ax.xaxis if axis == "x" else ax.yaxis
    a.set_major_locator(FixedLocator(ticks))
    a.set_major_formatter(ScalarFormatter())
    a.set_minor_formatter(NullFormatter())


def error_vs_sparsity_figure(runs, tolerance: float = 0.01):
    """Test error (%) against the fraction of weights remaining α^L (log axis, sparsity growing to
    the right), one panel per rewind step, one curve per pruning method: the mean over seeds with
    the min–max band; a marker is filled where at least half the seeds are matching. The dotted
    line is the mean dense error + ``tolerance``."""
    runs = _check_runs(runs)
    tol = check_scalar(tolerance, "tolerance", min=0.0)
    rewinds = sorted({int(k) for r in runs for k in r.sweep.axes["rewind"]})
    fig, axes = figure(1, len(rewinds), width="wide" if len(rewinds) > 1 else "text", sharey=True)
    axes = np.atleast_1d(axes)
    for ax, k in zip(axes, rewinds):
        dense = []
        for run in runs:
            if k not in [int(x) for x in run.sweep.axes["rewind"]]:
                continue
            m = matching(run, tol)
            x = 100 * run.settings.alpha ** run.levels.astype(np.float64)
            for method in run.sweep.axes["pruning"]:
                i = select(run, str(method), k)
                e = 100 * run.test_error[i]
                c = METHOD_COLORS.get(str(method), COLORS["grey"])
                ax.fill_between(x, e.min(0), e.max(0), color=c, alpha=0.15, lw=0)
                ax.plot(x, e.mean(0), "-", color=c, lw=1.2, label=str(method))
                ok = m[i].mean(0) >= 0.5
                ax.plot(x[ok], e.mean(0)[ok], "o", color=c)
                ax.plot(x[~ok], e.mean(0)[~ok], "o", mfc="white", color=c)
                dense.append(e[:, 0])
        ax.axhline(np.concatenate(dense).mean() + 100 * tol, color=COLORS["theory"], ls=":", lw=1,
                   label=f"dense + {100 * tol:g} pp")
        _plain_log(ax, "x", (100, 50, 20, 10, 5, 2, 1))
        ax.invert_xaxis()
        _plain_log(ax, "y", (2, 3, 5, 10, 20, 50, 100))
        ax.set_xlabel(r"weights remaining $\alpha^L$ (%)")
        ax.set_title(f"rewind to step k = {k}")
    axes[0].set_ylabel("test error (%)")
    axes[0].legend(loc="upper left")
    return fig


def weights_figure(run: IMPRun, stats: dict, config: int, level: int):
    """(a) The survivors' |w| at the rewind point against after retraining (level ``level`` of
    configuration ``config``; dotted: the p-th smallest before, dashed: after), the weights that
    level+1 prunes in colour — blue if they were also small before, red if new; (b) the fraction of
    pruned weights that were not small before retraining, per level and rewind step (mean over
    seeds, min–max band) against chance; (c) Spearman's ρ between |w| before and after."""
    run = _check_run(run)
    if not isinstance(stats, dict) or not {"fraction_new", "chance", "rank_correlation", "rewind"} <= set(stats):
        raise TypeError("stats must be the dict returned by new_small_weights")
    sw = surviving_weights(run, config, level)
    fig, (a, b, c) = figure(1, 3, width="wide")
    p = int(sw["pruned_next"].sum())
    cut_before = np.sort(sw["before"])[p - 1] if p else 0.0
    cut_after = np.sort(sw["after"])[p - 1] if p else 0.0
    small_before = sw["before"] <= cut_before
    for sel, col, name in ((~sw["pruned_next"], COLORS["grey"], "kept at L+1"),
                           (sw["pruned_next"] & small_before, COLORS["blue"], "pruned, small before"),
                           (sw["pruned_next"] & ~small_before, COLORS["red"], "pruned, new small")):
        a.loglog(sw["before"][sel], sw["after"][sel], ".", ms=3, color=col, alpha=0.6,
                 label=f"{name} ({int(sel.sum())})")
    a.axvline(cut_before, color=COLORS["theory"], ls=":", lw=1)
    a.axhline(cut_after, color=COLORS["theory"], ls="--", lw=1)
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    a.xaxis.set_minor_formatter(NullFormatter())
    a.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    a.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    a.yaxis.set_minor_formatter(NullFormatter())
    a.set_xlabel(r"$|w|$ at the rewind point (before)")
    a.set_ylabel(r"$|w|$ retrained, level $L$ (after)")
    a.set_title(f"survivors of level L = {level}")
    a.legend(fontsize=7, loc="lower right")
    L = np.arange(stats["chance"].size)
    for k, col in zip(sorted(set(stats["rewind"].tolist())), (COLORS["blue"], COLORS["purple"], COLORS["sky"])):
        r = stats["rewind"] == k
        for ax, key in ((b, "fraction_new"), (c, "rank_correlation")):
            v = stats[key][r]
            ax.fill_between(L, v.min(0), v.max(0), color=col, alpha=0.2, lw=0)
            ax.plot(L, v.mean(0), "o-", color=col, label=f"k = {k}")
    b.plot(L, stats["chance"], color=COLORS["theory"], ls="--", label=r"chance $1 - p_L/n_L$")
    b.axhline(0, color=COLORS["grey"], lw=1)
    b.set_ylim(-0.05, 1)
    b.set_xlabel("level L")
    b.set_ylabel("pruned at L+1, not small before")
    b.legend(fontsize=8)
    c.axhline(0, color=COLORS["grey"], lw=1)
    c.set_xlabel("level L")
    c.set_ylabel(r"Spearman $\rho$ of $|w|$ before vs after")
    c.legend(fontsize=8)
    return fig
