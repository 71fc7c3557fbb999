"""Figures of the deep-network pages (``deep_grokking``, ``deep_cnn_hierarchy``): pure functions of
their arguments, each returning a matplotlib Figure in the book's sizes
(:func:`theory.core.figure`). The α is the paper's (Fig. 6 caption, App. D.3): the first layer (or
the embeddings) ÷ α, the readout × α, so large α is upstream (blue) and small α downstream (red).
"""

from __future__ import annotations

import numpy as np

from theory.core import COLORS, as_array, check_scalar, figure

__all__ = ["alpha_colors", "cnn_filters_figure", "cnn_kernel_figure", "grok_grid_figure",
           "grokking_figure", "grokking_run_figure", "rhm_dataset_figure", "rhm_figure"]

_FIVE = ("red", "orange", "grey", "sky", "blue")
_SIX = ("red", "orange", "yellow", "grey", "sky", "blue")


def alpha_colors(alphas) -> list[str]:
    """One colour per α (ascending), downstream (small α) red to upstream (large α) blue, the
    standard α = 1 grey: a five-colour scale for five values (six for six), its ends and middle
    for three."""
    alphas = _alphas(alphas)
    if len(alphas) == 5:
        return [COLORS[k] for k in _FIVE]
    if len(alphas) == 6:
        return [COLORS[k] for k in _SIX]
    if len(alphas) == 3:
        return [COLORS[k] for k in (_FIVE[0], _FIVE[2], _FIVE[4])]
    return [COLORS["red"] if a < 1 else COLORS["grey"] if a == 1 else COLORS["blue"] for a in alphas]


def _alphas(alphas) -> np.ndarray:
    a = as_array(alphas, "alphas", ndim=1, nonempty=True)
    if np.any(a <= 0):
        raise ValueError(f"alphas must be > 0, got {a}")
    return a


def _grid(name: str, arr, shape: tuple, *, ndim: int | None = None, nan_ok: bool = False) -> np.ndarray:
    """``arr`` as a finite float array with leading shape ``shape`` (and ``ndim`` dimensions);
    with ``nan_ok`` NaN is allowed (a run that never crossed a threshold), inf never."""
    if nan_ok:
        if arr is None or isinstance(arr, (str, bytes, bool, np.bool_)):
            raise TypeError(f"{name} must be an array of numbers, got {type(arr).__name__}")
        raw = np.asarray(arr)
        if raw.dtype == bool or not np.issubdtype(raw.dtype, np.number) or np.iscomplexobj(raw):
            raise TypeError(f"{name} must hold real numbers (NaN: never), got dtype {raw.dtype}")
        a = raw.astype(float)
        if np.any(np.isinf(a)):
            raise ValueError(f"{name} must not be infinite (NaN marks a run that never crossed)")
    else:
        a = as_array(arr, name)
    if a.shape[:len(shape)] != shape or (ndim is not None and a.ndim != ndim) or a.size == 0:
        want = f"{ndim}-d, " if ndim is not None else ""
        raise ValueError(f"{name} must be {want}non-empty with leading shape {shape}, got {a.shape}")
    return a


def _int(x, name: str) -> int:
    return check_scalar(x, name, kind="int", min=1)


def _pos(x, name: str) -> float:
    return check_scalar(x, name, min=0.0, include_min=False)


def _unit(x, name: str) -> float:
    return check_scalar(x, name, min=0.0, max=1.0)


def grokking_figure(steps, train_accuracy, test_accuracy, t_generalise, t_memorise, *, alphas,
                    delta_bar, alpha0: float, threshold: float, p: int):
    """Left: test (solid) and train (dotted) accuracy over steps, mean over seeds with the range
    as a band, one colour per α. Right: steps to ``threshold`` test accuracy per seed (circles;
    a cross at the last step for a seed that never reached it) and, where every seed reached it,
    their mean ± s.d. (squares) against α, the steps to memorise (train ≥ 99 %), and the
    balanced α₀. Accuracies (n_α, n_seed, T); times (n_α, n_seed), NaN for never; ``delta_bar``
    (n_α,) labels each α up- or downstream."""
    alphas = _alphas(alphas)
    steps = as_array(steps, "steps", ndim=1, nonempty=True)
    n_a = len(alphas)
    tr = _grid("train_accuracy", train_accuracy, (n_a,), ndim=3)
    if tr.shape[-1] != steps.size:
        raise ValueError(f"train_accuracy must have the {steps.size} steps on its last axis, got {tr.shape}")
    te = _grid("test_accuracy", test_accuracy, tr.shape, ndim=3)
    t_gen = _grid("t_generalise", t_generalise, tr.shape[:2], ndim=2, nan_ok=True)
    t_mem = _grid("t_memorise", t_memorise, tr.shape[:2], ndim=2, nan_ok=True)
    delta_bar = as_array(delta_bar, "delta_bar", shape=(n_a,))
    alpha0, threshold, p = _pos(alpha0, "alpha0"), _unit(threshold, "threshold"), _int(p, "p")
    colors = alpha_colors(alphas)
    fig, (ax0, ax1) = figure(1, 2, width="wide", height=3.6)
    for i, a in enumerate(alphas):
        lab = f"α = {a:g} ({'up' if delta_bar[i] > 0 else 'down'}stream)"
        ax0.plot(steps, te[i].mean(0), color=colors[i], label=lab)
        ax0.fill_between(steps, te[i].min(0), te[i].max(0), color=colors[i], alpha=0.2)
        ax0.plot(steps, tr[i].mean(0), ls=":", color=colors[i])
    ax0.axhline(threshold, color="k", lw=0.8, ls="--")
    ax0.set(xlabel="step", ylabel="accuracy (test: solid, train: dotted)", ylim=(0, 1.02),
            title=f"Modular addition, p = {p}: mean and range over {te.shape[1]} seeds")
    ax0.legend(fontsize=7, loc="lower right")
    never = np.isnan(t_gen)
    for i, a in enumerate(alphas):
        ax1.plot(np.full(t_gen.shape[1], a), t_gen[i], "o", mfc="none", color=colors[i])
        if never[i].any():
            ax1.plot(np.full(never[i].sum(), a), np.full(never[i].sum(), steps[-1]), "x", ms=8,
                     color=colors[i])
        else:
            ax1.errorbar([a], [t_gen[i].mean()], yerr=[[t_gen[i].std()]], fmt="s", color=colors[i],
                         capsize=4)
    if never.any():
        ax1.plot([], [], "x", color="k", label=f"not reached within {steps[-1]:.0f} steps")
    ax1.plot(alphas, np.nanmean(t_mem, 1), "^--", color=COLORS["grey"], label="memorised (train ≥ 99 %)")
    ax1.axvline(alpha0, color="k", lw=0.8, ls="--", label=f"balanced α₀ = {alpha0:.2f}")
    ax1.set(xscale="log", xlabel="balance α (first layer ÷ α, readout × α)",
            ylabel=f"steps to test accuracy ≥ {threshold:.0%}",
            title="Steps to generalise: seeds (○), mean ± s.d. (■)")
    ax1.legend(fontsize=7, loc="center right")
    return fig


def cnn_kernel_figure(alphas, ntk, feature, first_layer, *, steps: int, smoothness=None,
                      smoothness0=None):
    """Left: the paper's (uncentred) kernel distance S(0, T) of the NTK (circles) and of the
    feature kernel (squares) against α, single seeds coloured, mean ± s.d. in black. Middle:
    relative movement of the first-layer filters ‖W₁(T) − W₁(0)‖/‖W₁(0)‖ against α (log–log).
    Right (when ``smoothness`` is given): the Eq. 132 measure of the trained filters (large =
    rough), its value at initialisation ``smoothness0`` dashed. Arrays (n_α, n_seed)."""
    alphas = _alphas(alphas)
    n_a = len(alphas)
    ntk = _grid("ntk", ntk, (n_a,), ndim=2)
    feature = _grid("feature", feature, ntk.shape, ndim=2)
    move = _grid("first_layer", first_layer, ntk.shape, ndim=2)
    if np.any(move <= 0):
        raise ValueError("first_layer must be > 0 (drawn on a log scale)")
    steps = _int(steps, "steps")
    sm = None if smoothness is None else _grid("smoothness", smoothness, ntk.shape, ndim=2)
    sm0 = None if smoothness0 is None else _grid("smoothness0", smoothness0, ntk.shape, ndim=2)
    colors = alpha_colors(alphas)
    fig, axes = figure(1, 2 if sm is None else 3, width="wide", height=3.6)
    ax0, ax1 = axes[0], axes[1]
    for S, mk, lab in ((ntk, "o", "NTK Θ"), (feature, "s", "feature kernel φ·φ")):
        for i, a in enumerate(alphas):
            ax0.plot(np.full(S.shape[1], a), S[i], mk, mfc="none", color=colors[i], alpha=0.6)
        ax0.errorbar(alphas, S.mean(1), yerr=S.std(1), fmt=mk + "-", color="k", mfc="white",
                     capsize=3, label=f"{lab}: mean ± s.d.")
    ax0.set(xscale="log", xlabel="balance α (first layer ÷ α, readout × α)",
            ylabel="kernel distance S(0, T) (uncentred)",
            title=f"Digits CNN, {steps} Adam steps, {ntk.shape[1]} seeds")
    ax0.annotate("downstream", (alphas[0], 0.02), fontsize=9, color=colors[0])
    ax0.annotate("upstream", (alphas[-1] * 0.4, 0.02), fontsize=9, color=colors[-1])
    ax0.set_ylim(bottom=0)
    ax0.legend(fontsize=8)
    for i, a in enumerate(alphas):
        ax1.plot(np.full(move.shape[1], a), move[i], "o", mfc="none", color=colors[i])
    ax1.errorbar(alphas, move.mean(1), yerr=move.std(1), fmt="s-", color="k", mfc="white",
                 capsize=3, label="mean ± s.d. over seeds")
    ax1.set(xscale="log", yscale="log", xlabel="balance α",
            ylabel=r"$\|W_1(T) - W_1(0)\|_F / \|W_1(0)\|_F$",
            title="How far the first-layer filters move")
    ax1.legend(fontsize=8)
    if sm is not None:
        ax2 = axes[2]
        for i, a in enumerate(alphas):
            ax2.plot(np.full(sm.shape[1], a), sm[i], "o", mfc="none", color=colors[i])
        ax2.errorbar(alphas, sm.mean(1), yerr=sm.std(1), fmt="s-", color="k", mfc="white", capsize=3,
                     label="trained: mean ± s.d.")
        if sm0 is not None:
            ax2.plot(alphas, sm0.mean(1), "k--", lw=1,
                     label="at initialisation")
        ax2.set(xscale="log", xlabel="balance α", ylabel=r"$\|(w/\|w\|) * \Delta\|_2^2$ (Eq. 132)",
                title="Roughness of the first-layer filters")
        ax2.set_ylim(bottom=0)
        ax2.legend(fontsize=8)
    return fig


def cnn_filters_figure(rows: dict):
    """The first-layer k×k filters, one row per entry of ``rows`` (label → array (c, 1, k, k) or
    (c, k, k)), each filter scaled to its own largest absolute value (blue negative, red
    positive)."""
    if not isinstance(rows, dict) or not rows:
        raise TypeError("rows must be a non-empty dict label → filters (c, k, k)")
    filt = {}
    for name, v in rows.items():
        a = as_array(v, f"rows[{name!r}]", nonempty=True)
        k = a.shape[-1] if a.ndim else 0
        if a.ndim not in (3, 4) or a.shape[-2] != k or (a.ndim == 4 and a.shape[1] != 1):
            raise ValueError(f"rows[{name!r}] must be filters (c, k, k) or (c, 1, k, k), got {a.shape}")
        filt[name] = a.reshape(len(a), k, k)
    n_c = max(len(v) for v in filt.values())
    fig, axes = figure(len(filt), n_c, width="text", height=0.8 * len(filt) + 0.4, squeeze=False)
    for r, (name, f) in enumerate(filt.items()):
        for c in range(n_c):
            ax = axes[r, c]
            if c < len(f):
                ax.imshow(f[c] / max(np.abs(f[c]).max(), 1e-300), cmap="RdBu_r", vmin=-1, vmax=1)
            ax.set_xticks([]), ax.set_yticks([])
            ax.grid(False)
        axes[r, 0].set_ylabel(name, fontsize=7)
    return fig


def rhm_figure(sizes, test_accuracy, p_star, *, alphas, n_classes: int, m: int, L: int, v: int,
               s: int, threshold: float = 0.5):
    """Test accuracy against training-set size P on the random hierarchy model, mean over seeds
    (line) and range (band) per α, each seed's P* as a tick on the threshold line, chance and
    n_c m^L marked. ``test_accuracy`` (n_α, n_seed, n_P), ``p_star`` (n_α, n_seed)."""
    alphas = _alphas(alphas)
    sizes = as_array(sizes, "sizes", ndim=1, nonempty=True)
    if np.any(sizes <= 0):
        raise ValueError(f"sizes must be > 0 (a log axis), got {sizes}")
    acc = _grid("test_accuracy", test_accuracy, (len(alphas),), ndim=3)
    if acc.shape[-1] != sizes.size:
        raise ValueError(f"test_accuracy must have the {sizes.size} sizes on its last axis, got {acc.shape}")
    ps = _grid("p_star", p_star, acc.shape[:2], ndim=2, nan_ok=True)
    n_classes, m, L, v, s = (_int(x, k) for x, k in ((n_classes, "n_classes"), (m, "m"), (L, "L"),
                                                      (v, "v"), (s, "s")))
    threshold = _unit(threshold, "threshold")
    colors = alpha_colors(alphas)
    fig, ax = figure(1, 1, width="text", height=3.8)
    for i, a in enumerate(alphas):
        ax.plot(sizes, acc[i].mean(0), "o-", color=colors[i], label=f"α = {a:g}: mean over seeds")
        ax.fill_between(sizes, acc[i].min(0), acc[i].max(0), color=colors[i], alpha=0.2)
        ax.plot(ps[i], np.full(ps.shape[1], threshold), "|", ms=14, color=colors[i])
    ax.axhline(1 / n_classes, color=COLORS["grey"], ls=":", label="chance")
    ax.axhline(threshold, color="k", lw=0.8, ls="--")
    ax.axvline(n_classes * m ** L, color=COLORS["green"], lw=1, label="$n_c m^L$")
    ax.set(xscale="log", xlabel="training-set size P", ylabel="test accuracy", ylim=(0, 1),
           title=f"RHM v = {v}, m = {m}, s = {s}, L = {L}: {acc.shape[1]} seeds (band: range; ticks: P*)")
    ax.legend(fontsize=8, loc="upper left")
    return fig


def grokking_run_figure(run, times, *, delta_bar, alpha0: float, p: int):
    """:func:`grokking_figure` of a grokking run: ``run`` a :class:`theory.core.Result` over
    ``Sweep(alpha=…, seed=…)`` with ``train_accuracy`` and ``test_accuracy``, ``times`` its
    :func:`theory.rich_lazy.deep.grokking_times` (α, the threshold and the times read from it)."""
    from theory.core import Result
    from theory.rich_lazy.deep import GrokkingTimes

    if not isinstance(run, Result):
        raise TypeError(f"run must be a theory.core.Result, got {type(run).__name__}")
    if run.sweep is None:
        raise ValueError("run must be a Result labelled by its Sweep(alpha=…, seed=…)")
    if not isinstance(times, GrokkingTimes):
        raise TypeError(f"times must be the GrokkingTimes of grokking_times, got {type(times).__name__}")
    acc = {k: run.sweep.unflatten(run[k]) for k in ("train_accuracy", "test_accuracy")}
    return grokking_figure(run.steps, acc["train_accuracy"], acc["test_accuracy"], times.generalise,
                           times.memorise, alphas=times.alphas, delta_bar=delta_bar, alpha0=alpha0,
                           threshold=times.threshold, p=p)


def rhm_dataset_figure(ds):
    """:func:`rhm_figure` of the Dataset of :func:`theory.rich_lazy.deep.rhm_sample_complexity`
    (sizes, accuracies, P*, α, the grammar's parameters and the threshold read from it)."""
    from theory.rich_lazy.deep import _check_rhm_dataset

    a = _check_rhm_dataset(ds, ("test_accuracy", "p_star")).attrs
    return rhm_figure(ds["P"].values, ds["test_accuracy"].values, ds["p_star"].values,
                      alphas=ds["alpha"].values, n_classes=a["n_classes"], m=a["m"], L=a["L"],
                      v=a["v"], s=a["s"], threshold=a["threshold"])


def grok_grid_figure(result, grid, *, tau: float = 1.0, p: int):
    """The grokking grid of the transformer page. Left: validation (solid) and train (dotted)
    accuracy over steps at logit scale ``tau``, mean over seeds, one colour per α. Right: steps
    to validation accuracy ≥ the threshold against α, one line per τ (mean over seeds, a run that
    never crossed counted at the budget), each run a marker (a cross at the budget: never).
    ``result``: the :func:`theory.rich_lazy.deep_transformer.train_transformer` Result over
    ``Sweep(alpha, tau, seed)``; ``grid``: its :func:`~theory.rich_lazy.deep_transformer.grok_grid`."""
    from theory.rich_lazy.deep_transformer import GrokGrid

    sw = getattr(result, "sweep", None)
    if sw is None or sw.dims != ("alpha", "tau", "seed"):
        raise ValueError("result must be labelled by a Sweep(alpha=…, tau=…, seed=…)")
    if not isinstance(grid, GrokGrid):
        raise TypeError(f"grid must be the GrokGrid of grok_grid, got {type(grid).__name__}")
    tau, p = _pos(tau, "tau"), _int(p, "p")
    taus = np.array(sw.axes["tau"], dtype=float)
    if not np.any(np.isclose(taus, tau)):
        raise ValueError(f"tau must be one of the sweep's {taus.tolist()}, got {tau!r}")
    j = int(np.argmin(np.abs(taus - tau)))
    alphas, colors = grid.alphas, alpha_colors(grid.alphas)
    acc = {k: sw.unflatten(result[f"{k}_accuracy"])[:, j] for k in ("train", "val")}   # (n_α, n_s, T)
    fig, (ax0, ax1) = figure(1, 2, width="wide", height=3.6)
    for i, a in enumerate(alphas):
        ax0.plot(result.steps, acc["val"][i].mean(0), color=colors[i], label=f"α = {a:g}")
        ax0.plot(result.steps, acc["train"][i].mean(0), ":", color=colors[i])
    ax0.axhline(grid.threshold, color="k", lw=0.8, ls="--")
    ax0.set(xlabel="step", ylabel="accuracy (validation: solid, train: dotted)", ylim=(0, 1.02),
            title=f"p = {p}, τ = {taus[j]:g}: mean over {acc['val'].shape[1]} seeds")
    ax0.legend(fontsize=7, loc="lower right")
    mean = grid.censored_mean("grokked")
    marks = ("o", "s", "^", "D", "v")
    for k, t in enumerate(taus):
        ax1.plot(alphas, mean[:, k], marks[k % 5] + "-", color=COLORS["grey"] if len(taus) > 1 else "k",
                 mfc="white", label=f"τ = {t:g}: mean (never: at the budget)")
        for i, a in enumerate(alphas):
            g = grid.grokked[i, k]
            ax1.plot(np.full(g.shape, a), np.where(np.isnan(g), grid.budget, g),
                     "x" if np.isnan(g).all() else marks[k % 5], color=colors[i], mfc="none", alpha=0.7)
    ax1.set(xscale="log", xlabel="balance α (embeddings ÷ α)",
            ylabel=f"steps to validation accuracy ≥ {grid.threshold:.0%}",
            title="Steps to grok (runs: markers)")
    ax1.legend(fontsize=7)
    return fig
