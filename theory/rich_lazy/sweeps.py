"""The chapter's paper-scale sweeps through the shared runner (:func:`theory.core.run_sweep`).

Fig. 1b (Kunin et al. 2024, App. D.1): the kernel distance and test error of two-layer ReLU
students over a (τ, δ) grid and seeds. One point of the sweep is one student (seed, τ, δ):
its teacher, data and neuron directions come from the seed, its scales from (τ, δ)
(:func:`~theory.rich_lazy.two_layer.relu_student_init`), its learning rate lr_scale/τ², so a
point trains bit for bit the same alone, in a batch of students or on any Dask worker. The batch
form trains the students that share a seed in one :func:`~theory.rich_lazy.two_layer.relu_descent`.

    exp = fig1b_experiment("paper")                 # the paper's sizes
    ds = run_sweep(exp, fig1b_sweep("paper"), store="results/store", executor="dask")
    pd = phase_diagram_from_dataset(ds, exp)        # what the page's figure code draws

The paper's grid (``scale="paper"``): 17 × 17 (τ, δ) × 16 seeds, m = 50, d = 100, n = 1000,
10⁵ steps; the laptop grid is the page's (7 × 7 × 2, d = 20, n = 100, 4000 steps).
"""

from __future__ import annotations

import numpy as np

from theory.core import (STORED_LABELS, Experiment, Result, Sweep, SweepPlan, check_choice, check_configs,
                         check_result, check_scalar, check_seed, provenance_report, stored_results, sweep_cli)
from theory.rich_lazy.two_layer import PhaseDiagram, relu_descent, relu_student_init, teacher_student

__all__ = ["FIG1B_SIZES", "fig1b_batch", "fig1b_experiment", "fig1b_plan", "fig1b_point", "fig1b_records",
           "fig1b_sweep", "main", "phase_diagram_from_dataset", "stored_fig1b", "stored_report"]

FIG1B_SIZES = {
    "laptop": dict(n_tau=7, n_seed=2, d=20, n=100, steps=4000, m=50, n_test=1000),
    "paper": dict(n_tau=17, n_seed=16, d=100, n=1000, steps=100_000, m=50, n_test=1000),
}
"""The Fig. 1b sizes per scale (the paper's App. D.1 for ``paper``; the page's for ``laptop``)."""

METRICS = ("kernel_distance", "test_loss", "train_loss", "delta_drift", "hamming_distance",
           "param_distance", "relative_param_distance")


def fig1b_records(steps: int, n_records: int = 6) -> np.ndarray:
    """The recorded steps of a Fig. 1b run: 0 and ``n_records`` log-spaced steps from 10 to ``steps``."""
    steps = check_scalar(steps, "steps", kind="int", min=10)
    n_records = check_scalar(n_records, "n_records", kind="int", min=2)
    return np.unique(np.r_[0, np.geomspace(10, steps, n_records).astype(int)])


def fig1b_batch(configs) -> list[dict]:
    """Train a list of Fig. 1b points (dicts of seed, tau, delta and the fixed sizes) in batches
    that share a seed; one dict of metric curves (T,) per point, in the order given."""
    check_configs(configs, {"seed", "tau", "delta", "d", "n", "m", "n_test", "steps", "lr_scale", "n_records"})
    out: list = [None] * len(configs)
    by_seed: dict = {}
    checked = []
    for i, c in enumerate(configs):
        c = dict(c, seed=check_seed(c["seed"], "seed"),
                 tau=check_scalar(c["tau"], "tau", min=0.0, include_min=False),
                 delta=check_scalar(c["delta"], "delta"))
        checked.append(c)
        by_seed.setdefault(c["seed"], []).append(i)
    configs = checked
    for seed, idx in by_seed.items():
        c0 = configs[idx[0]]
        d, n, m = c0["d"], c0["n"], c0["m"]
        steps, lr_scale = c0["steps"], c0["lr_scale"]
        data = teacher_student(d, n, [seed], n_test=c0["n_test"])
        tau = np.array([configs[i]["tau"] for i in idx], dtype=np.float64)
        delta = np.array([configs[i]["delta"] for i in idx], dtype=np.float64)
        a0, W0 = relu_student_init(tau, delta, m, d, np.full(len(idx), seed))
        run = relu_descent(data.X[0], data.y[0], a0, W0, lr=lr_scale / tau**2, steps=steps,
                           record=fig1b_records(steps, c0["n_records"]), X_test=data.X_test[0],
                           y_test=data.y_test[0], keep_weights=False)
        for j, i in enumerate(idx):
            out[i] = {k: run[k][j] for k in METRICS}
    return out


def fig1b_point(seed, tau, delta, **sizes) -> dict:
    """One Fig. 1b student: the metric curves (T,) of :func:`fig1b_batch` for one point."""
    return fig1b_batch([dict(sizes, seed=seed, tau=tau, delta=delta)])[0]


def fig1b_sweep(scale: str = "laptop", *, n_tau: int | None = None, n_seed: int | None = None) -> Sweep:
    """Sweep(seed, tau, delta): τ log-spaced in [0.1, 10^0.3], δ linear in [−1, 1] (the page's grid)."""
    scale = check_choice(scale, "scale", tuple(FIG1B_SIZES))
    size = FIG1B_SIZES[scale]
    n_tau = size["n_tau"] if n_tau is None else check_scalar(n_tau, "n_tau", kind="int", min=2)
    n_seed = size["n_seed"] if n_seed is None else check_scalar(n_seed, "n_seed", kind="int", min=1)
    return Sweep(seed=list(range(n_seed)), tau=list(np.logspace(-1, 0.3, n_tau)),
                 delta=list(np.linspace(-1, 1, n_tau)))


def fig1b_experiment(scale: str = "laptop", *, steps: int | None = None, lr_scale: float = 0.01,
                     n_records: int = 6) -> Experiment:
    """The Fig. 1b experiment at ``scale``'s sizes (``steps`` overrides the number of steps)."""
    scale = check_choice(scale, "scale", tuple(FIG1B_SIZES))
    size = dict(FIG1B_SIZES[scale])
    size.pop("n_tau")
    size.pop("n_seed")
    if steps is not None:
        size["steps"] = check_scalar(steps, "steps", kind="int", min=10)
    lr_scale = check_scalar(lr_scale, "lr_scale", min=0.0, include_min=False)
    n_records = check_scalar(n_records, "n_records", kind="int", min=2)
    fixed = dict(size, lr_scale=lr_scale, n_records=n_records)
    rec = fig1b_records(size["steps"], n_records)
    return Experiment("rich_lazy.fig1b", point=fig1b_point, batch=fig1b_batch,
                      dims={k: ("step",) for k in METRICS}, coords={"step": rec}, fixed=fixed)


def phase_diagram_from_dataset(ds, experiment: Experiment) -> PhaseDiagram:
    """A :class:`~theory.rich_lazy.two_layer.PhaseDiagram` from a Fig. 1b sweep result, so the
    page's figure code draws stored (paper-scale) results as it draws a fresh run."""
    for dim in ("seed", "tau", "delta"):
        if dim not in ds.dims:
            raise ValueError(f"ds must be a Fig. 1b result with dims seed, tau, delta; got {dict(ds.sizes)}")
    if not isinstance(experiment, Experiment):
        raise TypeError(f"experiment must be a theory.core.Experiment, got {type(experiment).__name__}")
    sweep = Sweep(seed=[int(s) for s in ds["seed"].values], tau=list(ds["tau"].values),
                  delta=list(ds["delta"].values))
    G = len(sweep)
    metrics = {k: ds[k].transpose("seed", "tau", "delta", "step").values.reshape(G, -1)
               for k in METRICS}
    res = Result(steps=ds["step"].values, metrics=metrics, sweep=sweep,
                 meta={"stored": True, **{k: v for k, v in ds.attrs.items() if isinstance(v, (str, int, float))}})
    return PhaseDiagram(sweep=sweep, d=int(experiment.fixed["d"]), n=int(experiment.fixed["n"]),
                        result=res)


_RESULT = ("Fig. 1b", ("kernel_distance",), ("tau", "delta"))
"""A stored result of this module: what it is, the variables and dimensions it holds
(:func:`theory.core.check_result`)."""


def stored_fig1b(labels=STORED_LABELS) -> dict:
    """The stored Fig. 1b results (``results/rich_lazy.fig1b-<label>.zarr``), label → Dataset,
    checked (:func:`theory.core.open_result` raises on a corrupted store); absent labels omitted."""
    return stored_results("rich_lazy.fig1b", labels)


def stored_report(ds) -> str:
    """One stored Fig. 1b result in words: its grid, provenance and the final kernel distance
    S (τ × δ, mean over seeds) and test MSE."""
    check_result(ds, *_RESULT)
    lines = [provenance_report(ds, "stored Fig. 1b result")]
    S = ds["kernel_distance"].isel(step=-1).mean("seed")
    test = ds["test_loss"].isel(step=-1).mean("seed")
    header = "  τ \\ δ      " + "".join(f"{d:>+12.2f}" for d in ds["delta"].values)
    lines.append("  final kernel distance S (mean over seeds):")
    lines.append(header)
    for i, t in enumerate(ds["tau"].values):
        lines.append(f"  {t:<12.3g}" + "".join(f"{v:>12.3e}" for v in S.values[i]))
    lines.append("  final test MSE:")
    lines.append(header)
    for i, t in enumerate(ds["tau"].values):
        lines.append(f"  {t:<12.3g}" + "".join(f"{v:>12.3e}" for v in test.values[i]))
    return "\n".join(lines)


def fig1b_plan(scale: str = "laptop", *, n_tau: int | None = None, n_seed: int | None = None,
               steps: int | None = None, lr_scale: float = 0.01) -> SweepPlan:
    """The Fig. 1b sweep at ``scale`` as a :class:`~theory.core.SweepPlan`, optionally reduced
    (fewer grid points per axis, seeds or steps)."""
    exp = fig1b_experiment(scale, steps=steps, lr_scale=lr_scale)
    sweep = fig1b_sweep(scale, n_tau=n_tau, n_seed=n_seed)
    full = FIG1B_SIZES[scale]
    reduced = len(sweep) < full["n_tau"] ** 2 * full["n_seed"] or exp.fixed["steps"] < full["steps"]
    grid = (f"{len(sweep.axes['tau'])} tau x {len(sweep.axes['delta'])} delta x "
            f"{len(sweep.axes['seed'])} seeds, {exp.fixed['steps']} steps")
    return SweepPlan(exp, sweep, reduced=reduced, grid=grid)


def main(argv=None) -> int:
    """``python -m theory.rich_lazy.sweeps fig1b --scale paper [--executor dask] [--set n_tau=2] ...``:
    the Fig. 1b sweep through the runner into ``results/store`` and
    ``results/rich_lazy.fig1b-<label>.zarr`` (:func:`theory.core.sweep_cli`)."""
    return sweep_cli("python -m theory.rich_lazy.sweeps", {"fig1b": fig1b_plan}, argv)


if __name__ == "__main__":
    raise SystemExit(main())
