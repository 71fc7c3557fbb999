r"""How the effective dimension of a class manifold depends on the model: the paper's factors.

Fort, Cubuk, Ganguli, Schoenholz (2022), abstract: the dimension of class manifolds (CMs) is
studied against "dataset, architecture, ..., stage of training, class, width, ensemble size, label
randomization, training-set size, and robustness to data corruption"; "higher performing and more
robust models have higher dimensional class manifolds", and ensembling is viewed as intersecting
class manifolds. The set-ups, the comparisons and every direction measured here are **the book's
reconstruction** at laptop scale.

Method (the groundwork's, :mod:`theory.class_manifolds.cutting_plane`): for each model m, class c,
plane dimension d and repeat r, a random affine d-plane through an anchor (a test example of
another class) is searched by Adam for a point of high p_c; the repeat-mean best p_c(d) is fitted
by the 4-parameter sigmoid in ln d (:func:`theory.class_manifolds.fit.fit_sigmoid`) and
:math:`d^*_{50}` is its crossing of 1/2; the effective dimension is :math:`D - d^*_{50}`.

All models of the page share one search (:func:`factor_search`): the target of a problem is a
(model, class) pair, its rows are routed to that model's network, so one Adam loop runs every
problem of every factor. Every model sees the same anchors (one test example per class and
repeat); the planes are drawn per (model, class) key.

Comparison (the book's rule, fixed before measuring): for two models A → B of a factor, the
per-class paired difference :math:`\Delta_c = (D - d^*_{B,c}) - (D - d^*_{A,c})`; its mean over
classes with a 95 % bootstrap interval over classes (resampled with replacement). The measured
direction is "up" when the interval lies above 0, "down" below 0, "flat" when it contains 0. A
crossing below the smallest d or above D is clipped there and counted (``censored``).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
import xarray as xr

from theory.class_manifolds.cutting_plane import PlaneObjective, class_anchors, cutting_plane_search
from theory.class_manifolds.fit import fit_sigmoid
from theory.core import as_array, check_bool, check_scalar, check_seed, non_negative, positive, config_seed, figure, torch_generator

__all__ = ["Comparison", "FACTORS", "FactorModels", "compare", "curves_figure", "direction_test", "factor_models", "factor_objective", "factor_search", "noisy_accuracy",
           "per_class_dstar", "summary_table", "dependence_figure"]

# factor → (the paper's direction of D − d* along the factor's order, where that direction comes from).
# The abstract gives one sentence ("higher performing and more robust models have higher dimensional
# class manifolds") and one view (ensembling as intersecting class manifolds); reading them into a
# direction per factor is the book's, and the notes' [M] items are unverified.
FACTORS = {
    "training stage": ("up", "abstract (a trained net performs better); notes [M], unverified: grows during training"),
    "label randomisation": ("down", "abstract (random labels: chance test accuracy); notes [M], unverified"),
    "training-set size": ("up", "abstract (more data performs better); notes [M], unverified"),
    "width": ("up", "abstract (higher performing), where the wider net performs better"),
    "ensemble size": ("down", "abstract: ensembling as intersecting class manifolds (an intersection is lower-dimensional)"),
    "noise augmentation": ("up", "abstract: more robust models"),
}


# ------------------------------------------------------------------------------------ the models
@dataclass
class FactorModels:
    """The page's models: ``fns`` label → logits_fn, ``levels`` factor → labels in the factor's
    order, ``accuracy`` label → (train accuracy on its own (possibly random) labels or NaN, test
    accuracy), and the trained :class:`~theory.class_manifolds.models.Classifiers` in ``nets``."""

    fns: dict
    levels: dict
    accuracy: dict
    nets: dict


def factor_models(data, *, hidden=(64, 64), narrow=16, wide=128, steps=600, label_steps=1500,
                  early_step=20, input_noise=1.0, fractions=(0.1, 0.5), ensembles=(3, 5), seed=0,
                  progress=True) -> FactorModels:
    """Train every model of the page in four :func:`train_classifiers` calls (the book's set-up).

    (1) A batch of width ``hidden``, ``steps`` steps: member 0 is the base net "end" (seed ``seed``,
    all training data, true labels, no noise; snapshots "init" at step 0 and "early" at
    ``early_step``), members 1…max(ensembles)−1 the base with seeds seed+1, … (the ensembles'
    members), then the base's seed with each training fraction and with input noise ``input_noise``
    (standardised units). (2) A pair of the base's seed, true and 100 % random labels, trained
    ``label_steps`` steps (long enough to fit random labels; both the same, so the pair differs only
    in the labels). (3, 4) The base at widths ``narrow`` and ``wide``. Members with the base's seed
    and widths share its initialisation (the models module's per-seed streams).
    """
    from theory.class_manifolds.models import train_classifiers

    check_scalar(steps, "steps", kind="int", min=2)
    narrow = check_scalar(narrow, "narrow", kind="int", min=1)
    wide = check_scalar(wide, "wide", kind="int", min=1)
    seed = check_seed(seed)
    progress = check_bool(progress, "progress")
    check_scalar(early_step, "early_step", kind="int", min=1, max=steps - 1)
    check_scalar(label_steps, "label_steps", kind="int", min=1)
    if not ensembles or min(ensembles) < 2:
        raise ValueError(f"ensembles must list sizes ≥ 2, got {ensembles!r}")
    k, F = max(ensembles), len(fractions)
    base = train_classifiers(data, hidden=tuple(hidden), seeds=[seed + i for i in range(k)] + [seed] * (F + 1),
                             steps=steps, train_fraction=[1.0] * k + list(fractions) + [1.0],
                             input_noise=[0.0] * (k + F) + [input_noise], snapshot_steps=(0, early_step),
                             progress=progress)
    nets = {"base": base, "labels": train_classifiers(data, hidden=tuple(hidden), seeds=(seed, seed),
                                                      steps=label_steps, label_randomisation=[0.0, 1.0],
                                                      progress=progress)}
    for name, h in (("narrow", narrow), ("wide", wide)):
        nets[name] = train_classifiers(data, hidden=(h,) * len(hidden), seeds=(seed,), steps=steps,
                                       progress=progress)
    lab_f = [f"{round(100 * f)} % data" for f in fractions]
    lab_n, lab_w = f"noise σ={input_noise:g}", [f"width {narrow}", f"width {wide}"]
    where = {"end": (base, 0), "true labels": (nets["labels"], 0), "random labels": (nets["labels"], 1),
             **{lab: (base, k + i) for i, lab in enumerate(lab_f)}, lab_n: (base, k + F),
             lab_w[0]: (nets["narrow"], 0), lab_w[1]: (nets["wide"], 0)}
    fns = {"init": base.logits_fn(0, step=0), "early": base.logits_fn(0, step=early_step)}
    fns.update({lab: net.logits_fn(g) for lab, (net, g) in where.items()})
    fns.update({f"ensemble {e}": [base.logits_fn(g) for g in range(e)] for e in ensembles})
    acc = {lab: (math.nan, base.accuracy(data.X_test, data.y_test, member=0 if lab in ("init", "early")
                                        else list(range(int(lab.split()[1])))))
           for lab in fns if lab in ("init", "early") or lab.startswith("ensemble")}
    with torch.no_grad():
        for lab in ("init", "early"):
            acc[lab] = (math.nan, float((fns[lab](data.X_test).argmax(-1) == data.y_test).double().mean()))
    acc.update({lab: (float(net.train_accuracy[g]), float(net.test_accuracy[g])) for lab, (net, g) in where.items()})
    levels = {"training stage": ["init", "early", "end"], "label randomisation": ["true labels", "random labels"],
              "training-set size": lab_f + ["end"], "width": [lab_w[0], "end", lab_w[1]],
              "ensemble size": ["end"] + [f"ensemble {e}" for e in ensembles], "noise augmentation": ["end", lab_n]}
    return FactorModels(fns, levels, {lab: acc[lab] for lab in fns}, nets)


# ------------------------------------------------------------------------------------ the search
def _models(models):
    if isinstance(models, dict):
        models = list(models.items())
    if not isinstance(models, Sequence) or not models:
        raise TypeError("models must be a non-empty dict or sequence of (label, logits_fn or list of them)")
    labels = [str(m[0]) for m in models]
    if len(set(labels)) != len(labels):
        raise ValueError(f"models must have distinct labels, got {labels}")
    fns = []
    for lab, fn in ((m[0], m[1]) for m in models):
        members = list(fn) if isinstance(fn, (list, tuple)) else [fn]
        if not members or not all(callable(f) for f in members):
            raise TypeError(f"model {lab!r} must be a logits_fn or a non-empty list of them (an ensemble)")
        fns.append(members)
    return labels, fns


def _classes(classes, n_classes):
    n_classes = check_scalar(n_classes, "n_classes", kind="int", min=2)
    out = [check_scalar(c, "classes", kind="int", min=0, max=n_classes - 1) for c in classes]
    if not out or len(set(out)) != len(out):
        raise ValueError(f"classes must be distinct class indices, got {out}")
    return out, n_classes


def factor_objective(models, classes, n_classes, D) -> PlaneObjective:
    r"""One :class:`PlaneObjective` over every (model, class) pair: target t = (m, c) routes its rows
    to model m and scores the class manifold of c with the official objective, the loss
    :math:`L = -\frac1{|E|}\sum_{g \in E} \log \mathrm{softmax}(f_g(x))_c` (floor 0) and the score
    :math:`\frac1{|E|}\sum_{g \in E} \mathrm{softmax}(f_g(x))_c`: for a single net (|E| = 1) the
    cross-entropy and the probability of c; for an ensemble E (a list of logits_fns) the official
    notebook's ensemble mode, the members' mean log-probability as the loss and their mean
    probability (the ensemble's prediction) as the score. ``models``: dict or sequence of
    (label, logits_fn or list of logits_fns); keys are ``"label|c"``."""
    labels, fns = _models(models)
    classes, n_classes = _classes(classes, n_classes)
    D = check_scalar(D, "D", kind="int", min=1)
    C = len(classes)
    cls = torch.tensor(classes, dtype=torch.int64)

    def fn(x, target):
        m_of, c_of = target // C, cls.to(target.device)[target % C]
        loss = torch.empty(x.shape[0], dtype=x.dtype, device=x.device)
        score = torch.empty_like(loss)
        for m, members in enumerate(fns):
            rows = (m_of == m).nonzero()[:, 0]
            if rows.numel():
                xr_, c = x[rows], c_of[rows, None]
                lp = torch.stack([torch.log_softmax(f(xr_).to(x.dtype), dim=-1).gather(1, c)[:, 0]
                                  for f in members])
                loss = loss.index_put((rows,), -lp.mean(0))
                score = score.index_put((rows,), lp.exp().mean(0))
        return loss, score

    keys = tuple(f"{lab}|{c}" for lab in labels for c in classes)
    return PlaneObjective(fn, D, keys, loss_floor=(0.0,) * len(keys), name="factor",
                          extra={"labels": labels, "classes": classes})


def factor_search(models, X, y, classes, n_classes, d_cuts, n_repeats, *, seed=0, steps=300,
                  early_stop=True, show_progress=False, n_chunks=1):
    """Run every (model, class, d, repeat) problem as one :func:`cutting_plane_search` (split into
    ``n_chunks`` equal chunks run one after another, for a progress bar or memory); anchors are
    :func:`class_anchors` of (X, y), the same for every model. Returns the search's Dataset with
    its ``target`` axis split into ``model`` × ``cls``."""
    labels, _ = _models(models)
    classes, n_classes = _classes(classes, n_classes)
    n_chunks = check_scalar(n_chunks, "n_chunks", kind="int", min=1)
    n_d = 1 if isinstance(d_cuts, numbers.Integral) else len(d_cuts)
    chunk_size = -(-len(labels) * len(classes) * n_d * check_scalar(n_repeats, "n_repeats", kind="int", min=1)
                   // n_chunks)
    obj = factor_objective(models, classes, n_classes, X.shape[1])
    a = class_anchors(X, y, classes, n_repeats, n_classes, seed=seed)
    anchors = a.repeat(len(labels), 1, 1)
    ds = cutting_plane_search(obj, anchors, d_cuts, n_repeats, seed=seed, steps=steps,
                              early_stop=early_stop, show_progress=show_progress, chunk_size=chunk_size)
    ds = ds.assign_coords(model=("target", np.repeat(labels, len(classes))),
                          cls=("target", np.tile(classes, len(labels))))
    return ds.set_index(target=["model", "cls"]).unstack("target")


def _dataset(ds, name="ds"):
    if not isinstance(ds, xr.Dataset) or "best_score" not in ds or not {"model", "cls"} <= set(ds.dims):
        raise TypeError(f"{name} must be a factor_search Dataset (best_score over d_cut, repeat, model, cls), "
                        f"got {type(ds).__name__}")
    return ds


def _comparisons(comparisons, name="comparisons"):
    if isinstance(comparisons, Comparison) or not isinstance(comparisons, Sequence) or \
            not all(isinstance(c, Comparison) for c in comparisons):
        raise TypeError(f"{name} must be a sequence of Comparison (compare), got {comparisons!r:.60}")
    return comparisons


def per_class_dstar(ds, *, level=0.5):
    """d*₅₀ per (model, class) from the repeat-mean best score, clipped to [d_min, D]; returns
    (labels, classes, d* (M, C), censored (M, C) bool)."""
    _dataset(ds)
    level = check_scalar(level, "level", min=0.0, max=1.0, include_min=False, include_max=False)
    D = int(ds.attrs["D"])
    d = ds["d_cut"].values.astype(float)
    p = ds["best_score"].mean("repeat")
    labels, classes = list(ds["model"].values), list(ds["cls"].values)
    out = np.empty((len(labels), len(classes)))
    cens = np.zeros_like(out, dtype=bool)
    for i, m in enumerate(labels):
        for j, c in enumerate(classes):
            curve = p.sel(model=m, cls=c).values
            f = fit_sigmoid(d, curve, D, level=level)
            if f.status == "crosses":
                v = f.d50
            else:
                v = d.min() if f.status == "always_above" or curve.min() >= level else float(D)
            out[i, j] = min(max(v, d.min()), D)
            cens[i, j] = not (f.status == "crosses" and d.min() <= f.d50 <= D)
    return labels, classes, out, cens


# ------------------------------------------------------------------------------- the comparisons
@dataclass
class Comparison:
    """One factor: effective dimensions per model (class mean and its bootstrap 95 % interval), the
    paired per-class change between consecutive models, and the measured direction."""

    factor: str
    labels: list
    eff: np.ndarray            # (M, C) D − d*
    censored: np.ndarray       # (M, C)
    mean: np.ndarray           # (M,)
    interval: np.ndarray       # (M, 2)
    steps: list = field(default_factory=list)   # (A, B, mean Δ, lo, hi, direction)
    extra: dict = field(default_factory=dict)

    @property
    def direction(self) -> str:
        """The factor's direction: the first-to-last step's."""
        return self.steps[-1][5] if self.steps else "flat"


def _boot_mean(x, n_boot, seed, key):
    rng = np.random.default_rng(config_seed(seed, "dependence_bootstrap", key))
    idx = rng.integers(0, x.shape[-1], size=(n_boot, x.shape[-1]))
    means = x[..., idx].mean(-1)
    return np.quantile(means, [0.025, 0.975], axis=-1).T


def compare(factor, ds_or_dstar, labels, *, D=None, n_boot=2000, seed=0, extra=None) -> Comparison:
    """The comparison of ``labels`` (in the factor's order) from a :func:`factor_search` Dataset
    (or from the tuple of :func:`per_class_dstar`): consecutive steps and first → last."""
    if not isinstance(factor, str):
        raise TypeError("factor must be a string")
    n_boot = check_scalar(n_boot, "n_boot", kind="int", min=1)
    seed = check_seed(seed)
    if not isinstance(ds_or_dstar, (tuple, xr.Dataset)):
        raise TypeError(f"ds_or_dstar must be a factor_search Dataset or per_class_dstar's tuple, "
                        f"got {type(ds_or_dstar).__name__}")
    all_labels, _, dstar, cens = (ds_or_dstar if isinstance(ds_or_dstar, tuple)
                                  else per_class_dstar(ds_or_dstar))
    D = int(ds_or_dstar.attrs["D"]) if D is None else check_scalar(D, "D", kind="int", min=1)
    missing = [lab for lab in labels if lab not in all_labels]
    if missing or len(labels) < 2:
        raise ValueError(f"labels must name at least two searched models; unknown: {missing}")
    ix = [all_labels.index(lab) for lab in labels]
    eff = D - dstar[ix]
    mean, interval = eff.mean(1), _boot_mean(eff, n_boot, seed, factor + "|levels")
    pairs = list(zip(range(len(ix) - 1), range(1, len(ix))))
    if len(ix) > 2:
        pairs.append((0, len(ix) - 1))
    steps = []
    for a, b in pairs:
        delta = eff[b] - eff[a]
        lo, hi = _boot_mean(delta[None], n_boot, seed, f"{factor}|{a}|{b}")[0]
        direction = "up" if lo > 0 else "down" if hi < 0 else "flat"
        steps.append((labels[a], labels[b], float(delta.mean()), float(lo), float(hi), direction))
    return Comparison(factor, list(labels), eff, cens[ix], mean, interval, steps, dict(extra or {}))


def summary_table(comparisons: Sequence[Comparison], accuracy: dict | None = None) -> str:
    """A markdown table: factor, models (test accuracy), the paper's direction of D − d*, the
    measured first → last change with its 95 % interval, the measured direction, holds."""
    _comparisons(comparisons)
    rows = ["| factor | models (test accuracy) | D − d*₅₀ per model | paper's direction | "
            "Δ first → last [95 %] | measured | holds |", "|---|---|---|---|---|---|---|"]
    for cmp in comparisons:
        paper = FACTORS.get(cmp.factor, ("?", ""))[0]
        _, _, m, lo, hi, direction = cmp.steps[-1]
        labs = " → ".join(f"{lab} ({accuracy[lab][1]:.3f})" if accuracy else lab for lab in cmp.labels)
        eff = " → ".join(f"{v:.1f}" for v in cmp.mean)
        rows.append(f"| {cmp.factor} | {labs} | {eff} | {paper} | {m:+.2f} [{lo:+.2f}, {hi:+.2f}] | {direction} "
                    f"| {'yes' if direction == paper else 'no'} |")
    return "\n".join(rows)


def direction_test(cmp: Comparison, direction: str) -> dict:
    """The ledger comparison for "D − d* moves ``direction`` from the factor's first to its last
    model": the 95 % interval of the mean paired change lies above 0 (``measured`` = its lower end,
    ``at_least`` = 0) for "up", below 0 for "down" (its upper end, ``at_most`` = 0)."""
    if not isinstance(cmp, Comparison):
        raise TypeError(f"cmp must be a Comparison (compare), got {type(cmp).__name__}")
    if direction not in ("up", "down"):
        raise ValueError(f"direction must be 'up' or 'down', got {direction!r}")
    _, _, _, lo, hi, _ = cmp.steps[-1]
    return {"measured": lo, "at_least": 0.0} if direction == "up" else {"measured": hi, "at_most": 0.0}


# ------------------------------------------------------------------------------- robustness proxy
def noisy_accuracy(logits_fn: Callable, X, y, sigmas, *, scale=1.0, n_draws=4, seed=0) -> np.ndarray:
    r"""Test accuracy under additive Gaussian noise :math:`x + \sigma\,s\,\varepsilon`,
    ε ~ N(0, I), for each σ in ``sigmas`` (s = ``scale``: a number, or one positive scale per
    feature, e.g. the training data's per-feature std (a net's ``norm["scale"]``), so σ is in
    standardised units), averaged over ``n_draws`` noise draws from ``config_seed(seed,
    "test_noise", σ, draw)``."""
    if not callable(logits_fn):
        raise TypeError("logits_fn must be callable")
    X = torch.from_numpy(as_array(X.cpu().numpy() if isinstance(X, torch.Tensor) else X, "X", ndim=2,
                                  nonempty=True))
    y = np.asarray(y.cpu() if isinstance(y, torch.Tensor) else y)
    if y.shape != (X.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be ({X.shape[0]},) int labels matching X, got shape {y.shape} dtype {y.dtype}")
    y = torch.from_numpy(y.astype(np.int64))
    sigmas = non_negative(sigmas, "sigmas", ndim=1, nonempty=True)
    scale = positive(scale.detach().cpu().numpy() if isinstance(scale, torch.Tensor) else scale, "scale")
    if scale.ndim > 1 or (scale.ndim == 1 and scale.shape[0] != X.shape[1]):
        raise ValueError(f"scale must be a number or one scale per feature ({X.shape[1]},), got shape "
                         f"{scale.shape}")
    scale = torch.from_numpy(scale) if scale.ndim else float(scale)
    n_draws = check_scalar(n_draws, "n_draws", kind="int", min=1)
    seed = check_seed(seed)
    out = []
    with torch.no_grad():
        for s in sigmas.tolist():
            acc = 0.0
            for k in range(n_draws):
                eps = torch.randn(X.shape, generator=torch_generator(config_seed(seed, "test_noise", s, k)),
                                  dtype=torch.float64)
                acc += float((logits_fn(X + s * scale * eps).argmax(-1) == y).double().mean())
            out.append(acc / n_draws)
    return np.array(out)


# ----------------------------------------------------------------------------------------- figure
def dependence_figure(comparisons: Sequence[Comparison], *, D: int):
    """One panel per factor: each model's D − d* per class (dots) and its class mean with the
    bootstrap 95 % interval (bar)."""
    _comparisons(comparisons)
    D = check_scalar(D, "D", kind="int", min=1)
    n = len(comparisons)
    ncols = 3
    fig, axes = figure(math.ceil(n / ncols), ncols, width="wide")
    axes = np.atleast_1d(axes).ravel()
    rng = np.random.default_rng(0)
    for ax, cmp in zip(axes, comparisons):
        M, C = cmp.eff.shape
        for i in range(M):
            jit = i + rng.uniform(-0.12, 0.12, C)
            ax.scatter(jit, cmp.eff[i], s=10, color="0.6", zorder=1,
                       label="per class" if i == 0 else None)
            first = cmp.censored[i].any() and not cmp.censored[:i].any()
            ax.scatter(jit[cmp.censored[i]], cmp.eff[i, cmp.censored[i]], s=40, facecolors="none",
                       edgecolors="C3", linewidths=1.2, zorder=2, label="censored (clipped)" if first else None)
        lo, hi = cmp.interval.T
        ax.errorbar(np.arange(M), cmp.mean, yerr=[cmp.mean - lo, hi - cmp.mean], fmt="o-", color="C0",
                    capsize=3, zorder=3, label="class mean, 95 %")
        ax.set_xticks(np.arange(M), cmp.labels, fontsize=7)
        ax.set_title(f"{cmp.factor}: {cmp.direction}", fontsize=9)
        ax.set_ylabel(f"D − d*₅₀ (D = {D})")
    for ax in axes[n:]:
        ax.set_visible(False)
    for ax in axes[:n]:
        if any(h.get_label() == "censored (clipped)" for h in ax.collections):
            ax.legend(fontsize=7, loc="lower right")
    axes[0].legend(fontsize=7, loc="lower right")
    return fig


def curves_figure(ds, levels: dict):
    """One panel per factor: the class-mean (over classes and repeats) best target probability
    against d_cut for each model of the factor, with the level 1/2."""
    _dataset(ds)
    if not isinstance(levels, dict) or not levels:
        raise TypeError(f"levels must be a non-empty dict factor -> model labels, got {levels!r:.60}")
    known = set(ds["model"].values.tolist())
    for factor, labs in levels.items():
        missing = [lab for lab in labs if lab not in known]
        if missing:
            raise ValueError(f"levels[{factor!r}] names models not in ds: {missing}")
    n = len(levels)
    fig, axes = figure(math.ceil(n / 3), 3, width="wide", sharey=True)
    axes = np.atleast_1d(axes).ravel()
    p = ds["best_score"].mean(("repeat", "cls"))
    d = ds["d_cut"].values
    for ax, (factor, labels) in zip(axes, levels.items()):
        for i, lab in enumerate(labels):
            ax.plot(d, p.sel(model=lab).values, "o-", ms=3, color=f"C{i}", label=lab)
        ax.axhline(0.5, color="0.5", ls=":", lw=1)
        ax.set_xscale("log")
        ax.set_title(factor, fontsize=9)
        ax.set_xlabel("d_cut")
        ax.legend(fontsize=7)
    for ax in axes[::3]:
        ax.set_ylabel("best target probability")
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig
