"""Figures and explorers of the chapter ``book/icl_regression`` (Raventós et al. 2023).

Every function takes its data as explicit arguments and returns a matplotlib Figure drawn with
:func:`theory.core.figure` (the book's sizes): theory and exact estimators as lines, Monte
Carlo and trained models as markers. The two explorers are module-level functions of their
controls only; the position explorer reads the trained sweep from
:func:`theory.icl_regression.paper_run.trained_sweep`, which trains it once per scale and seed
and caches it, so a frame costs a plot, never a training run.
"""

from __future__ import annotations

import math

import numpy as np

from theory.core import COLORS, explorer, figure
from theory.icl_regression.data import is_infinite, sample_pool, sample_sequences
from theory.icl_regression.estimators import dmmse_posterior, dmmse_predict, ridge_predict
from theory.icl_regression.paper_run import paper_settings, trained_sweep
from theory.icl_regression.risks import (BaselineRisks, DimensionStudy, PathLosses, PoolSizeSweep,
                                         SweepEval)

__all__ = ["dimension_figure", "paper_scale_figure", "paths_figure", "pool_size_figure",
           "stopping_figure", "threshold_figure",
           "position_explorer", "posterior_explorer", "sweep_figure", "training_figure"]

_MODEL_COLORS = ("blue", "green", "orange", "red", "purple", "sky", "grey")


def M_label(M) -> str:
    """"∞" for M = inf, else the integer."""
    return "∞" if is_infinite(M) else str(int(M))


def _check(obj, cls, name):
    if not isinstance(obj, cls):
        raise TypeError(f"{name} must be a {cls.__name__}, got {type(obj).__name__}")


# ------------------------------------------------------------------ bayes_estimators.ipynb

def pool_size_figure(sweep: PoolSizeSweep):
    """Left: dMMSE's and ridge's losses against M on the pool and on new tasks (Fig. 2, left
    column). Right: Δ(dMMSE, Ridge) (Eq. 4) against M on each."""
    _check(sweep, PoolSizeSweep, "sweep")
    Ms = sweep.Ms
    fig, (ax0, ax1) = figure(1, 2, width="wide", height=3.6)
    ax0.plot(Ms, sweep.dmmse_pool, "o-", color=COLORS["blue"], label=r"dMMSE on $T_{\rm Pretrain}$")
    ax0.plot(Ms, sweep.ridge_pool, "s--", color=COLORS["orange"], label=r"Ridge on $T_{\rm Pretrain}$")
    ax0.plot(Ms, sweep.dmmse_new, "o-", color=COLORS["red"], label=r"dMMSE on $T_{\rm True}$")
    ax0.plot(Ms, sweep.ridge_new, "s--", color=COLORS["green"], label=r"Ridge on $T_{\rm True}$")
    ax0.set(xlabel="number of pretraining tasks $M$", ylabel="loss $L/D$",
            title=f"Bayes estimators, D={sweep.D}, K={sweep.K}, σ²={sweep.sigma2}")
    ax0.set_xscale("log", base=2)
    ax0.legend(fontsize=8)
    ax1.plot(Ms, sweep.delta_new, "o-", color=COLORS["purple"],
             label=r"$\Delta^{T_{\rm True}}_{\rm dMMSE,Ridge}$")
    ax1.plot(Ms, sweep.delta_pool, "s-", color=COLORS["sky"],
             label=r"$\Delta^{T_{\rm Pretrain}}_{\rm dMMSE,Ridge}$")
    ax1.set(xlabel="number of pretraining tasks $M$", ylabel=r"distance $\Delta$ (Eq. 4)",
            yscale="log", title="dMMSE tends to ridge as the pool grows")
    ax1.set_xscale("log", base=2)
    ax1.legend(fontsize=8)
    return fig


def dimension_figure(study: DimensionStudy):
    """Left: Δ^{T_True}(dMMSE, Ridge) against M for each D (K = 2D, σ² = D/32; Sec. 3.2).
    Middle: dMMSE and ridge per position on new tasks (markers) with ridge's exact risk (line).
    Right: dMMSE − ridge on new tasks against the noise σ² (:class:`DimensionStudy`)."""
    _check(study, DimensionStudy, "study")
    Ms, Ds, deltas, positions = study.Ms, study.Ds, study.deltas, study.positions
    ridge_theory, sigma2s, gaps = study.ridge_theory, study.sigma2s, study.gaps
    if deltas.shape != (len(Ds), len(Ms)):
        raise ValueError(f"deltas must be (len(Ds), len(Ms)) = ({len(Ds)}, {len(Ms)}), got "
                         f"{deltas.shape}")
    _check(positions, BaselineRisks, "positions")
    if len(sigma2s) != len(gaps):
        raise ValueError("sigma2s and gaps must have one length")
    fig, axes = figure(1, 3, width="wide", height=3.4)
    for D, row, c in zip(Ds, deltas, ("blue", "orange", "red", "green", "purple")):
        axes[0].plot(Ms, row, "o-", color=COLORS[c], label=f"D = {D}, K = {2 * D}")
    axes[0].set(xlabel="$M$", ylabel=r"$\Delta^{T_{\rm True}}_{\rm dMMSE,Ridge}$", yscale="log",
                title="distance grows with D at fixed M")
    axes[0].set_xscale("log", base=2)
    axes[0].legend(fontsize=8)
    k = np.arange(1, positions.dmmse_new.size + 1)
    axes[1].plot(k, positions.dmmse_new, "o", color=COLORS["red"], label="dMMSE, new tasks")
    axes[1].plot(k, positions.ridge_new, "s", color=COLORS["green"], mfc="none",
                 label="ridge, new tasks")
    axes[1].plot(k, ridge_theory, "-", color=COLORS["theory"],
                 label=r"ridge: $(\sigma^2 + {\rm tr}\,\Sigma_k)/D$")
    axes[1].set(xlabel="position $k$", ylabel="loss $L/D$", yscale="log", title="per position")
    axes[1].legend(fontsize=8)
    axes[2].plot(sigma2s, gaps, "o-", color=COLORS["purple"], label="dMMSE − ridge, new tasks")
    axes[2].set(xlabel=r"noise $\sigma^2$", ylabel=r"$L^{\rm dMMSE}/D - L^{\rm Ridge}/D$",
                xscale="log", title="against the noise")
    axes[2].legend(fontsize=8)
    return fig


@explorer(log2_M=[0, 3, 6, 9, 12], k=[1, 2, 4, 16], sigma2=[0.1, 0.5],
          labels={"log2_M": "log₂ M", "k": "position k", "sigma2": "σ²"})
def posterior_explorer(log2_M=6, k=4, sigma2=0.1, seed=0):
    """The dMMSE posterior over a pool of M = 2^log2_M tasks in D = 2 (marker area) after
    k − 1 examples of one new task (the star), with the dMMSE (Eq. 2) and ridge (Eq. 3)
    estimates ŵ_k. Pool seed ``seed``, sequence seed ``seed + 1``."""
    M = 2 ** int(log2_M)
    pool = sample_pool(M, 2, seed=seed)
    s = sample_sequences(1, 16, sigma2, D=2, seed=seed + 1)
    post = dmmse_posterior(s.xs, s.ys, pool, sigma2)[0, k - 1].numpy()
    _, w_d = dmmse_predict(s.xs, s.ys, pool, sigma2, return_w=True)
    _, w_r = ridge_predict(s.xs, s.ys, sigma2, return_w=True)
    fig, ax = figure(width="text", height=4.2)
    ax.scatter(pool[:, 0], pool[:, 1], s=4 + 400 * post, color=COLORS["blue"], alpha=0.6,
               label=f"pool tasks (area ∝ posterior), M = {M}")
    ax.plot(*s.ws[0].numpy(), "*", ms=14, color=COLORS["theory"], label="true task $w$")
    ax.plot(*w_d[0, k - 1].numpy(), "o", ms=9, color=COLORS["red"], label=r"dMMSE $\hat w_k$")
    ax.plot(*w_r[0, k - 1].numpy(), "s", ms=8, color=COLORS["green"], label=r"ridge $\hat w_k$")
    ax.set(xlabel="$w_1$", ylabel="$w_2$", xlim=(-3, 3), ylim=(-3, 3), aspect="equal",
           title=f"after k − 1 = {k - 1} examples, σ² = {sigma2}")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return fig


# ------------------------------------------------------------------ task_diversity.ipynb

def _colors(G):
    return [COLORS[_MODEL_COLORS[g % len(_MODEL_COLORS)]] for g in range(G)]


def training_figure(run):
    """Each model's training loss per dimension (``run["train_loss"]``) against the step."""
    from theory.icl_regression.transformer import SweepRun
    _check(run, SweepRun, "run")
    fig, ax = figure(height=3.6)
    for g, (M, c) in enumerate(zip(run.Ms, _colors(len(run.Ms)))):
        ax.plot(run.steps, run["train_loss"][g], "o", ms=3, color=c, label=f"M = {M_label(M)}")
    cfg = run.config
    ax.set(xlabel="training step", ylabel=f"training loss $L/D$ (batch of {run.meta['batch_size']})",
           yscale="log", title=f"D={cfg.D}, K={cfg.K}, {cfg.n_layer} layers × {cfg.n_embd}")
    ax.legend(fontsize=8, ncol=2)
    return fig


def sweep_figure(run, ev: SweepEval):
    """Losses of the transformer (markers), dMMSE and ridge (lines) on pool and new tasks
    against M, and the four distances of Eq. 4 (Figs. 2–3 of the paper)."""
    from theory.icl_regression.transformer import SweepRun
    _check(run, SweepRun, "run")
    _check(ev, SweepEval, "ev")
    if list(ev.Ms) != list(run.Ms):
        raise ValueError("ev must be the SweepEval of run (evaluate_sweep(run))")
    labels = [M_label(M) for M in ev.Ms]
    x = np.arange(len(labels))
    fig, axes = figure(1, 3, width="wide", height=3.4)
    for ax, (pt, dm, ri, where) in zip(axes[:2], (
            (ev.pt_pool, ev.dmmse_pool, ev.ridge_pool, r"$T_{\rm Pretrain}$ (pool tasks)"),
            (ev.pt_new, ev.dmmse_new, ev.ridge_new, r"$T_{\rm True}$ (new tasks)"))):
        ax.plot(x, dm, "-", color=COLORS["blue"], label="dMMSE (exact)")
        ax.plot(x, ri, "--", color=COLORS["green"], label="Ridge (exact)")
        ax.plot(x, pt, "o", ms=7, color=COLORS["red"], label="transformer")
        ax.set(xticks=x, xticklabels=labels, xlabel="number of pretraining tasks $M$",
               ylabel="loss $L/D$", title=f"on {where}")
        ax.legend(fontsize=8)
    for key, fmt, c, mfc, lab in (
            ("d_pt_dmmse_new", "o-", "blue", None, r"$\Delta^{T_{\rm True}}_{\rm PT,dMMSE}$"),
            ("d_pt_ridge_new", "s-", "green", None, r"$\Delta^{T_{\rm True}}_{\rm PT,Ridge}$"),
            ("d_pt_dmmse_pool", "o:", "blue", "none", r"$\Delta^{T_{\rm Pretrain}}_{\rm PT,dMMSE}$"),
            ("d_pt_ridge_pool", "s:", "green", "none", r"$\Delta^{T_{\rm Pretrain}}_{\rm PT,Ridge}$")):
        axes[2].plot(x, getattr(ev, key), fmt, color=COLORS[c], mfc=mfc, label=lab)
    axes[2].set(xticks=x, xticklabels=labels, xlabel="number of pretraining tasks $M$",
                ylabel=r"distance $\Delta$ (Eq. 4)", yscale="log", title="whom the transformer imitates")
    axes[2].legend(fontsize=7)
    return fig


def paths_figure(Ms, paths):
    """Losses along the Eq. 5 paths, one panel per model: dMMSE (line; none at M = ∞), ridge
    (dashed) and the transformer (markers, ± 2 s.e.)."""
    from theory.icl_regression.risks import _check_paths, _check_pool_sizes
    Ms = _check_pool_sizes(Ms)
    _check_paths(Ms, paths)
    G = len(Ms)
    fig, axes = figure(1, G, width="wide", height=2.8, sharey=True)
    axes = np.atleast_1d(axes)
    for ax, M, p in zip(axes, Ms, paths):
        if not is_infinite(M):
            ax.plot(p.alpha, p.dmmse, "-", color=COLORS["blue"], label="dMMSE")
        ax.plot(p.alpha, p.ridge, "--", color=COLORS["green"], label="Ridge")
        ax.errorbar(p.alpha, p.pt, yerr=2 * p.se_pt, fmt="o", ms=3, color=COLORS["red"],
                    label="transformer")
        ax.set(xlabel=r"$\alpha$", title=f"M = {M_label(M)}", yscale="log")
    axes[0].set_ylabel(r"loss $L/D$ on tasks $w_\alpha$")
    axes[0].legend(fontsize=7)
    return fig


_POSITION_MODELS = [M_label(M) for M in paper_settings()["Ms"]]


@explorer(model=_POSITION_MODELS, tasks=["new tasks", "pool tasks"],
          labels={"model": "M", "tasks": "evaluated on"})
def position_explorer(model=_POSITION_MODELS[-1], tasks="new tasks", seed=0):
    """Per-position losses of one model of the chapter's trained sweep (pool size ``model``) on
    new or on its own pool's tasks, against ridge and that pool's dMMSE (Eqs. 1–3). The sweep is
    :func:`~theory.icl_regression.paper_run.trained_sweep` at the active scale and ``seed``
    (trained once, then cached)."""
    run, ev = trained_sweep(seed)
    labels = [M_label(M) for M in run.Ms]
    if model not in labels:
        raise ValueError(f"model must be one of {labels}, got {model!r}")
    if tasks not in ("new tasks", "pool tasks"):
        raise ValueError(f"tasks must be 'new tasks' or 'pool tasks', got {tasks!r}")
    g = labels.index(model)
    where = "new" if tasks == "new tasks" else "pool"
    pt = ev.pt_new_per_k[g] if where == "new" else ev.pt_pool_per_k[g]
    ridge = ev.ridge_new_per_k if where == "new" else ev.ridge_pool_per_k[g]
    dmmse = ev.dmmse_new_per_k[g] if where == "new" else ev.dmmse_pool_per_k[g]
    k = np.arange(1, pt.size + 1)
    fig, ax = figure(height=3.4)
    ax.plot(k, ridge, "--", color=COLORS["green"], label="Ridge (exact)")
    if np.all(np.isfinite(dmmse)):
        ax.plot(k, dmmse, "-", color=COLORS["blue"], label="dMMSE of this pool (exact)")
    ax.plot(k, pt, "o", color=COLORS["red"], label="transformer")
    ax.set(xlabel="position $k$ (examples seen: $k-1$)", ylabel=f"loss $L/D$ on {tasks}",
           yscale="log", ylim=(0.01, 3.0), title=f"M = {model}, D = {run.config.D}, seed {seed}")
    ax.legend(fontsize=8)
    return fig


def paper_scale_figure(res: dict):
    """The distances Δ^{T_True}(PT, dMMSE) and Δ^{T_True}(PT, Ridge) of a paper-scale run, one
    line per batch size (the paper's 256 and 512, Sec. 3.1, Fig. 2), from the JSON that
    :mod:`theory.icl_regression.paper_run` writes (files without ``batch``: one batch size)."""
    if not isinstance(res, dict) or not {"M", "d_pt_dmmse_new", "d_pt_ridge_new"} <= set(res):
        raise ValueError("res must be the dict of a paper_run results file")
    batch = res.get("batch", [None] * len(res["M"]))
    if len(batch) != len(res["M"]):
        raise ValueError("res['batch'] must have one entry per model (res['M'])")
    for key in ("d_pt_dmmse_new", "d_pt_ridge_new"):
        if len(res[key]) != len(res["M"]):
            raise ValueError(f"res[{key!r}] must have one entry per model (res['M'])")
    sizes = list(dict.fromkeys(batch))
    xl = list(dict.fromkeys(str(m) for m in res["M"]))
    fig, ax = figure(width="wide", height=3.4)
    styles = ("o-", "s--", "^:")
    for i, b in enumerate(sizes):
        rows = [j for j, bj in enumerate(batch) if bj == b]
        xp = [xl.index(str(res["M"][j])) for j in rows]
        tag = "" if b is None else f", B = {b}"
        for key, c, lab in (("d_pt_dmmse_new", "blue", r"$\Delta^{T_{\rm True}}_{\rm PT,dMMSE}$"),
                            ("d_pt_ridge_new", "green", r"$\Delta^{T_{\rm True}}_{\rm PT,Ridge}$")):
            vals = np.array([math.nan if res[key][j] is None else res[key][j] for j in rows],
                            dtype=float)
            ax.plot(xp, vals, styles[i % 3], color=COLORS[c], alpha=1.0 if i else 0.55,
                    label=lab + tag)
    xp = np.arange(len(xl))
    cross = res.get("crossover") or {}
    title = f"paper scale ({res.get('seconds', math.nan) / 3600:.1f} h on {res.get('device', '?')})"
    if cross.get("M_star") is not None:
        title += f"; crossover M* ≈ 2^{math.log2(cross['M_star']):.2f}"
    ax.set(xticks=xp, xticklabels=xl, xlabel="$M$", ylabel=r"$\Delta$", yscale="log", title=title)
    ax.legend(fontsize="small")
    return fig


# ------------------------------------------------------------------ threshold.ipynb

def _check_study(study):
    from theory.icl_regression.threshold import ThresholdStudy
    _check(study, ThresholdStudy, "study")


def _M_positions(Ms):
    """x positions for pool sizes with ∞ last: log₂ M, and ∞ two octaves past the largest."""
    finite = [math.log2(M) for M in Ms if not is_infinite(M)]
    top = max(finite) if finite else 0.0
    return np.array([top + 2 if is_infinite(M) else math.log2(M) for M in Ms])


def threshold_figure(study):
    """Left: Δ^{T_True}_{PT,Ridge} (Eq. 4) at the end of training against M for the two batch
    sizes (no weight decay), with Δ^{T_True}_{dMMSE,Ridge} for reference; the paper's Fig. 2
    bottom right. Right: the criterion's gap log(Δ_2B/Δ_B) against M for each weight decay,
    and where it crosses 0 (the threshold, Sec. 3.1; its move with weight decay, Fig. 7 left)."""
    _check_study(study)
    Ms, (b0, b1) = study.Ms, study.batch_sizes
    x = _M_positions(Ms)
    fig, (ax0, ax1) = figure(1, 2, width="wide", height=3.6)
    for b, style, fill in ((b0, "o--", "none"), (b1, "o-", None)):
        d = study.delta_new(b, 0.0, Ms=Ms)
        ax0.plot(x, d, style, color=COLORS["green"], mfc=fill, label=f"PT, batch {b}")
    g = [study.index(M, b0, 0.0) for M in Ms]
    dd = [study.ev.d_pt_dmmse_new[i] + 0 for i in g]
    ax0.plot(x, dd, "^:", color=COLORS["blue"], mfc="none", label=rf"$\Delta_{{\rm PT,dMMSE}}$, batch {b0}")
    ax0.set(xticks=x, xticklabels=[M_label(M) for M in Ms], xlabel="number of pretraining tasks $M$",
            ylabel=r"$\Delta^{T_{\rm True}}_{\rm PT,Ridge}$ (Eq. 4)", yscale="log",
            title="batch doubling at fixed steps")
    ax0.legend(fontsize="small")
    colors = ("green", "orange", "red", "purple")
    for i, wd in enumerate(study.weight_decays):
        c = study.crossover(wd)
        ax1.plot(np.log2(c.Ms), c.gap, "o-", color=COLORS[colors[i % 4]], label=f"weight decay {wd:g}")
        if c.status == "crossing":
            ax1.axvline(c.log2_star, color=COLORS[colors[i % 4]], ls=":", lw=1)
    ax1.axhline(0.0, color="k", lw=0.8)
    ax1.set(xlabel=r"$\log_2 M$", ylabel=rf"$\log\,\Delta_{{\rm PT,Ridge}}({b1})/\Delta_{{\rm PT,Ridge}}({b0})$",
            title="> 0: towards dMMSE; < 0: towards ridge")
    ax1.legend(fontsize="small")
    return fig


def stopping_figure(study, name: str = "d_ridge_pool"):
    """Left: the recorded learning curves Δ_PT,Ridge (``name``: "d_ridge_pool" on T_Pretrain,
    the Fig. 4 caption's; "d_ridge_new" on T_True) of the larger batch, one per M, with t*
    (their minima) marked. Right: t* against M (markers; open where the minimum is the last
    record) with the fit t* ∝ M^α and the paper's slope 0.47 through the same centre."""
    _check_study(study)
    from theory.icl_regression.threshold import PAPER_ALPHA
    if name not in ("d_ridge_pool", "d_ridge_new"):
        raise ValueError(f"name must be 'd_ridge_pool' or 'd_ridge_new', got {name!r}")
    curves = study.curves(name)
    t, interior = study.stopping(name)
    steps = np.asarray(study.run.steps, dtype=float)
    fig, (ax0, ax1) = figure(1, 2, width="wide", height=3.6)
    for i, M in enumerate(study.Ms):
        col = COLORS[_MODEL_COLORS[i % len(_MODEL_COLORS)]]
        ax0.plot(steps, curves[i], "-", color=col, lw=1.2, label=f"M = {M_label(M)}")
        j = int(np.argmin(curves[i]))
        ax0.plot(steps[j], curves[i, j], "o", color=col, mfc="none" if not interior[i] else col)
    tasks = r"T_{\rm Pretrain}" if name == "d_ridge_pool" else r"T_{\rm True}"
    ax0.set(xlabel="training step", ylabel=rf"$\Delta^{{{tasks}}}_{{\rm PT,Ridge}}$", yscale="log",
            title=f"learning curves (batch {study.batch_sizes[-1]})")
    ax0.legend(fontsize="small", ncol=2)
    try:
        fit = study.alpha(name)
    except ValueError:                   # fewer than two interior minima: no line to fit
        fit = None
    fin = [i for i, M in enumerate(study.Ms) if not is_infinite(M)]
    Mf = np.array([study.Ms[i] for i in fin], dtype=float)
    ax1.plot(Mf, t[fin], "o", color=COLORS["blue"], mfc="none", label="t* (minimum at the last record)")
    keep = [i for i in fin if interior[i]]
    ax1.plot([study.Ms[i] for i in keep], t[keep], "o", color=COLORS["blue"], label="t* (interior)")
    if fit is not None:
        grid = np.geomspace(fit.Ms.min(), fit.Ms.max(), 20)
        ax1.plot(grid, fit.predict(grid), "-", color=COLORS["red"], label=f"fit, α = {fit.alpha:.2f}")
        centre = np.exp(np.mean(np.log(fit.Ms)))
        ref = np.exp(np.mean(np.log(fit.t_star))) * (grid / centre) ** PAPER_ALPHA
        ax1.plot(grid, ref, "--", color=COLORS["grey"], label=f"paper's slope {PAPER_ALPHA}")
    ax1.set(xscale="log", yscale="log", xlabel="number of pretraining tasks $M$",
            ylabel="early-stopping step $t^*$", title=r"$t^* \propto M^\alpha$")
    from matplotlib.ticker import NullFormatter
    for axis in (ax1.xaxis, ax1.yaxis):              # less than a decade: no minor labels
        axis.set_minor_formatter(NullFormatter())
    ax1.legend(fontsize="small")
    return fig
