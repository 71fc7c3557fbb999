"""The chapter's paper-scale sweep through the shared runner (:func:`theory.core.run_sweep`).

The asymmetric maximum-margin experiment (Kunin et al. 2023; the book's reconstruction of the
theorem, see the page ``theorem.ipynb``, section "Checks"): the toy quasi-homogeneous model
f = a·x₁ + u·v·x₂ (:func:`~theory.quasi_homogeneous.models.mixed_depth`) trained long by the
loss-normalised flow (:func:`~theory.quasi_homogeneous.flow.normalised_flow`) on the separable
data :func:`~theory.quasi_homogeneous.maxmargin.theorem_data`, measuring the normalised margin
min qᵢ, the direction θ at convergence (normalised to min qᵢ = 1), its angles to the solved Λmax
and Euclidean max-margin programmes and the KKT stationarity residual.

One point is one (seed, init_scale): θ₀ is row ``seed`` of ``toy.init(·, seed=1, scale=init_scale)``
(a row depends only on (1, seed)), flowed alone, so a point equals the page's batched run row for
row bit for bit. The batch form flows all the configurations of a call in one
:func:`normalised_flow` (the same numbers bit for bit: the flow is row-wise).

Sizes: the paper's own sizes for this experiment are not known (only its abstract and
introduction could be read, ``paper-text.md``, paper 9), so ``paper`` is the book's choice: the
page's own ``scaled(3000, 30000)`` paper-scale step count (30000 steps), its 8 seeds and n = 16
points, over 4 initialisation scales (0.03, 0.1, 0.3, 1); ``laptop`` is the page's run (3000
steps, 8 seeds, init scale 0.1).
"""

from __future__ import annotations

import functools

import numpy as np

from theory.core import (STORED_LABELS, Experiment, Sweep, SweepPlan, check_choice, check_configs,
                         check_result, check_scalar, check_seed, check_stored, foreign_device,
                         provenance_report, record_steps, stored_results, sweep_cli)
from theory.quasi_homogeneous import flow, maxmargin as mm, models

__all__ = ["MAXMARGIN_SIZES", "main", "maxmargin_batch", "maxmargin_experiment", "maxmargin_plan",
           "maxmargin_point", "maxmargin_sweep", "stored_claims", "stored_maxmargin", "stored_report"]

MAXMARGIN_SIZES = {
    "laptop": dict(n_seed=8, init_scales=(0.1,), steps=3000, n=16, n_record=50),
    "paper": dict(n_seed=8, init_scales=(0.03, 0.1, 0.3, 1.0), steps=30000, n=16, n_record=50),
}
"""The sizes per scale (the book's choice for both, module docstring; the paper's are unknown)."""

CURVES = ("tau", "q_min", "log_loss", "angle_qh", "angle_eu", "stationarity")
INIT_SEED = 1  # the page's toy.init(8, seed=1, ...)


@functools.lru_cache(maxsize=4)
def _problem(n: int):
    """The data, the toy model and the two solved programmes (as the page solves them)."""
    X, y = mm.theorem_data(n, seed=0)
    toy = models.mixed_depth(1, 1)
    qh = mm.solve_max_margin(toy, X, y, n_starts=8, seed=0)
    eu = mm.solve_max_margin(toy, X, y, n_starts=8, seed=0, norm="euclidean")
    return X, y, toy, qh, eu


def maxmargin_batch(configs) -> list[dict]:
    """Flow a list of points (dicts of seed, init_scale and the fixed sizes n, steps, n_record)
    sharing their sizes in one :func:`normalised_flow`; per point: the curves (T,) of τ, min qᵢ,
    log L, the angles (°) to the Λmax and Euclidean solutions, the stationarity residual, and the
    final normalised direction (P,)."""
    check_configs(configs, {"seed", "init_scale", "n", "steps", "n_record"})
    checked = []
    for i, c in enumerate(configs):
        checked.append(dict(c, seed=check_seed(c["seed"], "seed"),
                            init_scale=check_scalar(c["init_scale"], "init_scale", min=0.0, include_min=False),
                            n=check_scalar(c["n"], "n", kind="int", min=2),
                            steps=check_scalar(c["steps"], "steps", kind="int", min=10),
                            n_record=check_scalar(c["n_record"], "n_record", kind="int", min=2)))
    c0 = checked[0]
    for i, c in enumerate(checked):
        if (c["n"], c["steps"], c["n_record"]) != (c0["n"], c0["steps"], c0["n_record"]):
            raise ValueError(f"configs[{i}] has other sizes (n, steps, n_record) than configs[0]")
    X, y, toy, qh, eu = _problem(c0["n"])
    import torch

    theta0 = torch.cat([toy.init(c["seed"] + 1, seed=INIT_SEED, scale=c["init_scale"])[c["seed"]:]
                        for c in checked])
    run = flow.normalised_flow(toy, X, y, theta0, steps=c0["steps"], n_record=c0["n_record"], progress=False)
    ang_qh = flow.angles_to(toy, X, y, run, qh.theta)
    ang_eu = flow.angles_to(toy, X, y, run, eu.theta)
    kkt = flow.kkt_along(toy, X, y, run)
    curves = dict(tau=run.tau, q_min=run.q_min, log_loss=run.log_loss, angle_qh=ang_qh, angle_eu=ang_eu,
                  stationarity=kkt["stationarity"])
    return [dict({k: curves[k][j] for k in CURVES}, direction=run.direction[j, -1])
            for j in range(len(checked))]


def maxmargin_point(seed, init_scale, **sizes) -> dict:
    """One point (seed, init_scale): the arrays of :func:`maxmargin_batch` for it alone."""
    return maxmargin_batch([dict(sizes, seed=seed, init_scale=init_scale)])[0]


def maxmargin_sweep(scale: str = "laptop", *, n_seed: int | None = None, n_scale: int | None = None) -> Sweep:
    """Sweep(seed, init_scale): the first ``n_seed`` seeds and ``n_scale`` initialisation scales."""
    scale = check_choice(scale, "scale", tuple(MAXMARGIN_SIZES))
    size = MAXMARGIN_SIZES[scale]
    n_seed = size["n_seed"] if n_seed is None else check_scalar(n_seed, "n_seed", kind="int", min=1)
    scales = size["init_scales"]
    n_scale = len(scales) if n_scale is None else check_scalar(n_scale, "n_scale", kind="int", min=1,
                                                               max=len(scales))
    return Sweep(seed=list(range(n_seed)), init_scale=list(scales[:n_scale]))


def maxmargin_experiment(scale: str = "laptop", *, steps: int | None = None) -> Experiment:
    """The experiment at ``scale``'s sizes (``steps`` overrides the number of flow steps)."""
    scale = check_choice(scale, "scale", tuple(MAXMARGIN_SIZES))
    size = MAXMARGIN_SIZES[scale]
    st = size["steps"] if steps is None else check_scalar(steps, "steps", kind="int", min=10)
    fixed = dict(n=size["n"], steps=st, n_record=size["n_record"])
    rec = record_steps(st, n_log=size["n_record"])
    return Experiment("quasi_homogeneous.maxmargin", point=maxmargin_point, batch=maxmargin_batch,
                      dims=dict({k: ("step",) for k in CURVES}, direction=("param",)),
                      coords={"step": np.asarray(rec), "param": np.array(["a", "u", "v"])}, fixed=fixed)


def maxmargin_plan(scale: str = "laptop", *, n_seed: int | None = None, n_scale: int | None = None,
                   steps: int | None = None) -> SweepPlan:
    """The sweep at ``scale`` as a :class:`~theory.core.SweepPlan`, optionally reduced."""
    exp = maxmargin_experiment(scale, steps=steps)
    sweep = maxmargin_sweep(scale, n_seed=n_seed, n_scale=n_scale)
    full = MAXMARGIN_SIZES[scale]
    reduced = (len(sweep) < full["n_seed"] * len(full["init_scales"]) or exp.fixed["steps"] < full["steps"])
    grid = (f"{len(sweep.axes['seed'])} seeds x {len(sweep.axes['init_scale'])} init scales "
            f"{list(sweep.axes['init_scale'])}, {exp.fixed['steps']} steps, n = {exp.fixed['n']}")
    return SweepPlan(exp, sweep, reduced=reduced, grid=grid)


_RESULT = ("max-margin", ("angle_qh",), ("init_scale",))
"""A stored result of this module: what it is, the variables and dimensions it holds
(:func:`theory.core.check_result`)."""


def stored_maxmargin(labels=STORED_LABELS) -> dict:
    """The stored results (``results/quasi_homogeneous.maxmargin-<label>.zarr``), label → Dataset."""
    return stored_results("quasi_homogeneous.maxmargin", labels)


def stored_report(ds) -> str:
    """One stored result in words: provenance, and per init scale the final τ, min qᵢ and the
    worst seed's final angles to the Λmax and Euclidean solutions and stationarity residual."""
    check_result(ds, *_RESULT)
    lines = [provenance_report(ds, "stored max-margin result"),
             "  init scale   final τ (min)   min qᵢ (min)   angle to Λmax (max °)   angle to Euclid (min °)   stationarity (max)"]
    last = ds.isel(step=-1)
    for s in ds["init_scale"].values:
        p = last.sel(init_scale=s)
        lines.append(f"  {s:<12.3g} {float(p['tau'].min()):<15.4g} {float(p['q_min'].min()):<14.4g} "
                     f"{float(p['angle_qh'].max()):<23.4g} {float(p['angle_eu'].min()):<25.4g} "
                     f"{float(p['stationarity'].max()):.3g}")
    return "\n".join(lines)


_SRC = "the book's reconstruction of the theorem (the paper's text for it could not be read)"


def stored_claims(stored, steps: int, live_angle: float) -> list[dict]:
    """The page's claims on its stored results (``theorem.ipynb``, "Stored runs across initial
    scales"): keyword dicts for ``Ledger.claim`` (the caller adds ``section``). On the first stored
    result (``stored``: label → Dataset in :func:`stored_maxmargin`'s order, the full grid first):
    from every seed and initial scale the final direction is within 1° of the Λmax solution and
    more than 5° from the Euclidean one. On the first stored result flowed ``steps`` steps that
    holds seed 0 at scale 0.1 and was stored on this machine's kind of device
    (:func:`theory.core.foreign_device`): its final angle to Λmax equals the page's live flow's,
    ``live_angle`` (°), to 1e-6."""
    import json

    check_stored(stored, *_RESULT, source="stored_maxmargin")
    steps = check_scalar(steps, "steps", kind="int", min=1)
    live = check_scalar(live_angle, "live_angle", min=0.0)
    out = []
    for i, (label, ds) in enumerate(stored.items()):
        kw = dict(origin="reconstruction", source=f"stored {label} run of the max-margin sweep (results/, "
                                                  f"{ds.attrs.get('grid')}); {_SRC}")
        if i == 0:
            out += [dict(kw, id="quasi_homogeneous.theorem_any_init_scale", measured=ds["angle_qh"].isel(step=-1).values,
                         at_most=1.0, statement="from every stored seed and initial scale (0.03 to 1) the flow's "
                                                "direction ends within 1° of the Λmax solution"),
                    dict(kw, id="quasi_homogeneous.theorem_any_init_scale_not_euclidean", at_least=5.0,
                         measured=ds["angle_eu"].isel(step=-1).values,
                         statement="…and more than 5° from the Euclidean programme's solution")]
        if (json.loads(ds.attrs["fixed"])["steps"] == steps and 0 in ds["seed"] and 0.1 in ds["init_scale"]
                and foreign_device(ds) is None and not any(c["id"].endswith("reproduces") for c in out)):
            out.append(dict(kw, id="quasi_homogeneous.theorem_stored_reproduces", close_to=live, atol=1e-6,
                            measured=ds["angle_qh"].sel(seed=0, init_scale=0.1).isel(step=-1).item(),
                            statement="the stored point (seed 0, scale 0.1) reproduces this page's live flow: "
                                      "its final angle to Λmax (°)"))
    return out


def main(argv=None) -> int:
    """``python -m theory.quasi_homogeneous.sweeps maxmargin --scale paper [--executor dask] [--set n_seed=2]``."""
    return sweep_cli("python -m theory.quasi_homogeneous.sweeps", {"maxmargin": maxmargin_plan}, argv)


if __name__ == "__main__":
    raise SystemExit(main())
