"""The chapter's paper-scale sweep through the shared runner (:func:`theory.core.run_sweep`).

Fort, Cubuk, Ganguli, Schoenholz 2022 (arXiv 2210.05546; the cutting-plane measurement of the
official notebook stanislavfort/slice-dice-optimize): the effective dimension of the
high-certainty class manifold of a trained classifier. One point of the sweep is one
(target class, seed) cutting-plane measurement: an MLP trained from ``seed``
(:func:`~theory.class_manifolds.models.train_classifiers`) is searched for its class ``target``
over the plane dimensions :func:`~theory.class_manifolds.classifiers.d_cut_grid` (D) with
``n_repeats`` anchors/planes (:func:`~theory.class_manifolds.classifiers.cut_study`, the page's
own function, search seed = ``seed``); stored: the best score (d_cut, repeat), its repeat mean
p(d_cut), the fitted d*₅₀ and D − d*₅₀, and the classifier's test accuracy.

Sizes. The paper's own per-dataset sizes are not in the verified text (reference notes §8: only
the official notebook's demo is verified), so ``paper`` is the page's ``THEORY_SCALE=paper``
set-up (:func:`~theory.class_manifolds.classifiers.setup`: hidden (256, 256), 1500 training
steps, 32 repeats, seeds 0, 1, 2) and the official notebook's search (Adam lr 5·10⁻², ≤ 300
steps, early stop) on the 8×8 digits (D = 64), all ten classes: 10 × 3 = 30 points. ``laptop``
is the page's default (hidden (128, 128), 500 steps, 8 repeats, seed 0): 10 points. Both are the
book's choices, not the paper's numbers.

    exp = class_dim_experiment("paper")
    ds = run_sweep(exp, class_dim_sweep("paper"), executor="dask")
"""

from __future__ import annotations

import functools

import numpy as np

from theory.core import (STORED_LABELS, Experiment, Sweep, SweepPlan, check_choice, check_result, check_scalar,
                         check_seed, provenance_report, stored_results, sweep_cli)

__all__ = ["CLASS_DIM_SIZES", "class_dim_experiment", "class_dim_plan", "class_dim_point", "class_dim_sweep",
           "main", "stored_class_dim", "stored_report"]

CLASS_DIM_SIZES = {
    "laptop": dict(n_class=10, n_seed=1, hidden=(128, 128), train_steps=500, n_repeats=8, steps=300),
    "paper": dict(n_class=10, n_seed=3, hidden=(256, 256), train_steps=1500, n_repeats=32, steps=300),
}
"""The sizes per scale: the page's ``setup()`` at ``laptop`` and ``paper`` (the book's choice; the
paper's own sizes are not in the verified text); 300 search steps from the official notebook."""

DATASETS = ("digits", "mnist1d")


@functools.lru_cache(maxsize=8)
def _classifier(dataset, hidden, train_steps, lr, batch_size, seed):
    from theory.class_manifolds.models import load_data, train_classifiers

    return train_classifiers(load_data(dataset), hidden=hidden, seeds=(seed,), steps=train_steps, lr=lr,
                             batch_size=batch_size, progress=False)


def class_dim_point(seed, target, *, dataset="digits", hidden=(128, 128), train_steps=500, lr=2e-3,
                    batch_size=128, n_repeats=8, steps=300) -> dict:
    """One (class, seed) cutting-plane measurement (Fort et al. 2022, d*₅₀ and D − d*₅₀ of the
    class manifold {p_target ≥ ½}): the page's :func:`~theory.class_manifolds.classifiers.cut_study`
    of the classifier trained from ``seed`` for the target set (``target``,), search seed ``seed``."""
    from theory.class_manifolds.classifiers import cut_study

    seed = check_seed(seed, "seed")
    target = check_scalar(target, "target", kind="int", min=0, max=9)
    dataset = check_choice(dataset, "dataset", DATASETS)
    hidden = tuple(check_scalar(h, "hidden", kind="int", min=1) for h in hidden)
    train_steps = check_scalar(train_steps, "train_steps", kind="int", min=1)
    lr = check_scalar(lr, "lr", min=0.0, include_min=False)
    batch_size = check_scalar(batch_size, "batch_size", kind="int", min=1)
    n_repeats = check_scalar(n_repeats, "n_repeats", kind="int", min=1)
    steps = check_scalar(steps, "steps", kind="int", min=1)
    clf = _classifier(dataset, hidden, train_steps, lr, batch_size, seed)
    st = cut_study(clf, 0, target_sets=[(target,)], n_repeats=n_repeats, seed=seed, steps=steps)
    f = st.fits[0]
    return dict(best_score=st.search["best_score"].values[:, :, 0].astype(np.float64),
                curve=st.curves[:, 0].astype(np.float64), d50=np.float64(f.d50),
                effective_dim=np.float64(f.effective_dim), test_accuracy=np.float64(st.test_accuracy))


def class_dim_sweep(scale: str = "laptop", *, n_class: int | None = None, n_seed: int | None = None) -> Sweep:
    """Sweep(seed, target): seeds 0..n_seed−1, classes 0..n_class−1."""
    scale = check_choice(scale, "scale", tuple(CLASS_DIM_SIZES))
    size = CLASS_DIM_SIZES[scale]
    n_class = size["n_class"] if n_class is None else check_scalar(n_class, "n_class", kind="int", min=1, max=10)
    n_seed = size["n_seed"] if n_seed is None else check_scalar(n_seed, "n_seed", kind="int", min=1)
    return Sweep(seed=list(range(n_seed)), target=list(range(n_class)))


def class_dim_experiment(scale: str = "laptop", *, dataset: str = "digits", n_repeats: int | None = None,
                         train_steps: int | None = None, steps: int | None = None) -> Experiment:
    """The class-manifold experiment at ``scale``'s sizes (overrides: repeats, training or search steps)."""
    from theory.class_manifolds.classifiers import d_cut_grid
    from theory.class_manifolds.models import load_data

    scale = check_choice(scale, "scale", tuple(CLASS_DIM_SIZES))
    dataset = check_choice(dataset, "dataset", DATASETS)
    size = dict(CLASS_DIM_SIZES[scale])
    size.pop("n_class")
    size.pop("n_seed")
    for k, v in (("n_repeats", n_repeats), ("train_steps", train_steps), ("steps", steps)):
        if v is not None:
            size[k] = check_scalar(v, k, kind="int", min=1)
    fixed = dict(size, dataset=dataset, lr=2e-3, batch_size=128)
    grid = np.array(d_cut_grid(load_data(dataset).D))
    return Experiment("class_manifolds.class_dim", point=class_dim_point,
                      dims={"best_score": ("d_cut", "repeat"), "curve": ("d_cut",)},
                      coords={"d_cut": grid, "repeat": np.arange(size["n_repeats"])}, fixed=fixed)


def class_dim_plan(scale: str = "laptop", *, n_class: int | None = None, n_seed: int | None = None,
                   n_repeats: int | None = None, train_steps: int | None = None, steps: int | None = None,
                   dataset: str = "digits") -> SweepPlan:
    """The sweep at ``scale`` as a :class:`~theory.core.SweepPlan`, optionally reduced (fewer
    classes, seeds, repeats, training or search steps)."""
    exp = class_dim_experiment(scale, dataset=dataset, n_repeats=n_repeats, train_steps=train_steps, steps=steps)
    sweep = class_dim_sweep(scale, n_class=n_class, n_seed=n_seed)
    full = CLASS_DIM_SIZES[scale]
    f = exp.fixed
    reduced = (len(sweep) < full["n_class"] * full["n_seed"] or f["n_repeats"] < full["n_repeats"]
               or f["train_steps"] < full["train_steps"] or f["steps"] < full["steps"])
    grid = (f"{len(sweep.axes['target'])} classes x {len(sweep.axes['seed'])} seeds, {dataset}, "
            f"hidden {tuple(f['hidden'])}, {f['train_steps']} training steps, {f['n_repeats']} repeats, "
            f"{f['steps']} search steps")
    return SweepPlan(exp, sweep, reduced=reduced, grid=grid)


_RESULT = ("class-manifold", ("d50",), ("target",))
"""A stored result of this module: what it is, the variables and dimensions it holds
(:func:`theory.core.check_result`)."""


def stored_class_dim(labels=STORED_LABELS) -> dict:
    """The stored results ``results/class_manifolds.class_dim-<label>.zarr``, label → Dataset."""
    return stored_results("class_manifolds.class_dim", labels)


def stored_report(ds) -> str:
    """A stored result in words: provenance, then per class d*₅₀ and D − d*₅₀ (mean over seeds) and
    the test accuracy."""
    check_result(ds, *_RESULT)
    lines = [provenance_report(ds, "stored class-manifold result")]
    d50 = ds["d50"].mean("seed").values
    eff = ds["effective_dim"].mean("seed").values
    lines.append(f"  test accuracy (mean over seeds) {float(ds['test_accuracy'].mean()):.3f}")
    lines.append("  class   d*50    D - d*50")
    for c, a, b in zip(ds["target"].values, d50, eff):
        lines.append(f"  {int(c):>5d} {a:>7.2f} {b:>10.2f}")
    lines.append(f"  mean d*50 {np.nanmean(d50):.2f}, mean effective dim {np.nanmean(eff):.2f}, "
                 f"D = {int(ds['d_cut'].values.max())}")
    return "\n".join(lines)


def main(argv=None) -> int:
    """``python -m theory.class_manifolds.sweeps class_dim --scale paper [--executor dask] [--set n_seed=1]``."""
    return sweep_cli("python -m theory.class_manifolds.sweeps", {"class_dim": class_dim_plan}, argv)


if __name__ == "__main__":
    raise SystemExit(main())
