"""The chapter's paper-scale sweep through the shared runner (:func:`theory.core.run_sweep`).

The task-diversity sweep of Raventós et al. 2023 (Sec. 3.1, Figs. 2–3): transformers pretrained
on regression sequences from pools of M tasks at D = 8, each M at the paper's two batch sizes
(256 and 512) for 500k steps, evaluated for their ICL risk on new tasks (T_True) against ridge
and the pool's dMMSE (Eqs. 1 and 4); the threshold is "the cross-over point in
Δ^{T_True}_{PT,Ridge} between batch sizes 256 and 512" (:func:`~theory.icl_regression.
threshold.batch_crossover`). One point of the sweep is one trained transformer (seed, M, batch):
its initial weights, pool and data streams come from (seed, M) (:func:`~theory.icl_regression.
transformer.train_sweep`, seeds keyed by M, never by position), so a point trains bit for bit
the same alone, in a batch of points or on any Dask worker, and equals the same model of the
threshold page's :func:`~theory.icl_regression.threshold.threshold_study`. The batch form trains
the points that share a seed and sizes as one :func:`train_sweep` program (as the page does).

A point stores the T_True quantities of :func:`~theory.icl_regression.evaluate_sweep` (the
transformer's, ridge's and dMMSE's loss on new tasks, Δ_{PT,Ridge} and Δ_{PT,dMMSE}) and the
learning curves (training loss; Δ_{PT,Ridge} on ``track`` fixed new-task and own-pool
sequences). The T_Pretrain evaluation of ``evaluate_sweep`` is left out: its sequence seeds
depend on the model's position in the batch, not on its configuration.

Sizes (:data:`TASK_DIVERSITY_SIZES`): ``paper`` is the paper's base model (the opening of
Sec. 3, App. B; the book's ``threshold_settings`` at ``THEORY_SCALE=paper``): D = 8, K = 16,
σ² = 0.25, 8 layers × 128, 2 heads, M = 2⁰ … 2¹⁵ and ∞, batch 256 and 512, 500k steps,
evaluation on 2²⁰ sequences (official ``eval.n_samples``); the peak learning rate 1e-3 is the
official example configuration's (the paper takes the largest stable one), one seed, the tracked
4096 sequences and the record every 5000 steps are the book's choices. ``laptop`` is the
threshold page's (D = 2, K = 8, 2 layers × 32, M ∈ {4, 16, 64, ∞}, batch 32 and 64, 800 steps).

    python -m theory.icl_regression.sweeps task_diversity --scale paper --set steps=200 ...
"""

from __future__ import annotations

import math

import numpy as np

from theory.core import (Experiment, Sweep, SweepPlan, check_choice, check_configs, check_result, check_scalar,
                         check_seed, check_stored, foreign_device, provenance_report, record_steps, stored_results,
                         sweep_cli)

__all__ = ["TASK_DIVERSITY_SIZES", "main", "stored_report", "stored_task_diversity",
           "task_diversity_batch", "task_diversity_crossover", "task_diversity_experiment",
           "task_diversity_plan", "task_diversity_point", "task_diversity_sweep"]

TASK_DIVERSITY_SIZES = {
    "laptop": dict(Ms=(4, 16, 64, math.inf), batches=(32, 64), n_seed=1, D=2, K=8, n_layer=2,
                   n_embd=32, n_head=2, sigma2=0.0625, steps=800, lr=3e-3, track=256,
                   record_every=20, n_eval=2048),
    "paper": dict(Ms=tuple(2**k for k in range(16)) + (math.inf,), batches=(256, 512), n_seed=1,
                  D=8, K=16, n_layer=8, n_embd=128, n_head=2, sigma2=0.25, steps=500_000, lr=1e-3,
                  track=4096, record_every=5000, n_eval=2**20),
}
"""The sweep's sizes per scale (the paper's Sec. 3 / App. B for ``paper``; the threshold page's
for ``laptop``); see the module docstring for which numbers are the book's choices."""

SCALARS = ("pt_new", "ridge_new", "dmmse_new", "d_pt_ridge_new", "d_pt_dmmse_new")
CURVES = ("train_loss", "d_ridge_new", "d_ridge_pool")
_FIXED = ("D", "K", "n_layer", "n_embd", "n_head", "sigma2", "steps", "lr", "track",
          "record_every", "n_eval", "pool_seed")


def _M_label(M) -> str:
    return "inf" if math.isinf(M) else str(int(M))


def _pool_size(M):
    """A pool size from an axis value: "inf" (or math.inf) for a fresh task per sequence, else a
    whole number >= 1 (int or its decimal string; the sweep's M axis holds strings, since a
    Sweep axis cannot hold inf)."""
    if isinstance(M, str):
        if M == "inf":
            return math.inf
        if not M.isdigit():
            raise ValueError(f"M must be a pool size (an int >= 1, its string, or 'inf'), got {M!r}")
        M = int(M)
    if isinstance(M, (float, np.floating)) and M == math.inf:
        return math.inf
    return check_scalar(M, "M", kind="int", min=1)


def task_diversity_batch(configs) -> list[dict]:
    """Train a list of points (dicts of seed, M, batch and the fixed sizes) in programs that
    share a seed and sizes (:func:`~theory.icl_regression.transformer.train_sweep`, then
    :func:`~theory.icl_regression.evaluate_sweep`); one dict per point, in the order given:
    the T_True scalars (Eqs. 1, 4) and the learning curves (T,)."""
    from theory.icl_regression.risks import evaluate_sweep
    from theory.icl_regression.transformer import ModelConfig, train_sweep

    check_configs(configs, ({"seed", "M", "batch"} | set(_FIXED)))
    groups: dict = {}
    checked = []
    for i, c in enumerate(configs):
        c = dict(c, seed=check_seed(c["seed"], "seed"), M=_pool_size(c["M"]),
                 batch=check_scalar(c["batch"], "batch", kind="int", min=1))
        checked.append(c)
        groups.setdefault(tuple(c[k] for k in ("seed",) + _FIXED), []).append(i)
    out: list = [None] * len(configs)
    for idx in groups.values():
        c0 = checked[idx[0]]
        config = ModelConfig(D=c0["D"], K=c0["K"], n_layer=c0["n_layer"], n_embd=c0["n_embd"],
                             n_head=c0["n_head"])
        run = train_sweep([checked[i]["M"] for i in idx], config, sigma2=c0["sigma2"],
                          steps=c0["steps"], batch_size=[checked[i]["batch"] for i in idx],
                          lr=c0["lr"], seed=c0["seed"], pool_seed=c0["pool_seed"],
                          record_every=c0["record_every"], track=c0["track"], progress=False)
        ev = evaluate_sweep(run, n=c0["n_eval"])
        for j, i in enumerate(idx):
            out[i] = {**{k: np.asarray(getattr(ev, k)[j], dtype=np.float64) for k in SCALARS},
                      **{k: np.asarray(run[k][j], dtype=np.float64) for k in CURVES}}
    return out


def task_diversity_point(seed, M, batch, **sizes) -> dict:
    """One trained transformer (seed, M, batch): the dict of :func:`task_diversity_batch`."""
    return task_diversity_batch([dict(sizes, seed=seed, M=M, batch=batch)])[0]


def task_diversity_sweep(scale: str = "laptop", *, n_M: int | None = None,
                         n_seed: int | None = None) -> Sweep:
    """Sweep(seed, M, batch): the scale's pool sizes as strings ("1", …, "inf"; ``n_M``: the last n_M of them, ∞ and the
    largest finite ones) × its two batch sizes × ``n_seed`` seeds."""
    scale = check_choice(scale, "scale", tuple(TASK_DIVERSITY_SIZES))
    size = TASK_DIVERSITY_SIZES[scale]
    Ms = [_M_label(M) for M in size["Ms"]]
    n_M = len(Ms) if n_M is None else check_scalar(n_M, "n_M", kind="int", min=1, max=len(Ms))
    n_seed = size["n_seed"] if n_seed is None else check_scalar(n_seed, "n_seed", kind="int", min=1)
    return Sweep(seed=list(range(n_seed)), M=Ms[len(Ms) - n_M:], batch=list(size["batches"]))


def task_diversity_experiment(scale: str = "laptop", *, steps: int | None = None,
                              n_eval: int | None = None, track: int | None = None,
                              record_every: int | None = None, pool_seed: int = 1) -> Experiment:
    """The task-diversity experiment at ``scale``'s sizes (``steps``, ``n_eval``, ``track``,
    ``record_every`` override them); pool seed 1, as the chapter's pages."""
    scale = check_choice(scale, "scale", tuple(TASK_DIVERSITY_SIZES))
    size = {k: TASK_DIVERSITY_SIZES[scale][k] for k in _FIXED if k != "pool_seed"}
    for name, value in (("steps", steps), ("n_eval", n_eval), ("track", track),
                        ("record_every", record_every)):
        if value is not None:
            size[name] = check_scalar(value, name, kind="int", min=1)
    fixed = dict(size, pool_seed=check_seed(pool_seed, "pool_seed"))
    rec = record_steps(fixed["steps"], every=fixed["record_every"])
    return Experiment("icl_regression.task_diversity", point=task_diversity_point,
                      batch=task_diversity_batch, dims={k: ("step",) for k in CURVES},
                      coords={"step": np.asarray(rec)}, fixed=fixed)


def task_diversity_plan(scale: str = "laptop", *, n_M: int | None = None, n_seed: int | None = None,
                        steps: int | None = None, n_eval: int | None = None, track: int | None = None,
                        record_every: int | None = None) -> SweepPlan:
    """The sweep at ``scale`` as a :class:`~theory.core.SweepPlan`, optionally reduced (fewer
    pool sizes or seeds, steps, evaluation or tracked sequences)."""
    exp = task_diversity_experiment(scale, steps=steps, n_eval=n_eval, track=track,
                                    record_every=record_every)
    sweep = task_diversity_sweep(scale, n_M=n_M, n_seed=n_seed)
    full = TASK_DIVERSITY_SIZES[scale]
    f = exp.fixed
    reduced = (len(sweep) < len(full["Ms"]) * 2 * full["n_seed"]
               or any(f[k] < full[k] for k in ("steps", "n_eval", "track")))
    Ms = ", ".join(sweep.axes["M"])
    grid = (f"M in {{{Ms}}} x batch {list(sweep.axes['batch'])} x {len(sweep.axes['seed'])} seed(s); "
            f"D={f['D']} K={f['K']} {f['n_layer']} layers x {f['n_embd']}, {f['steps']} steps "
            f"(full {full['steps']}), n_eval={f['n_eval']} (full {full['n_eval']}), "
            f"track={f['track']} (full {full['track']})")
    return SweepPlan(exp, sweep, reduced=reduced, grid=grid)


def task_diversity_crossover(ds, seed: int = 0):
    """The paper's threshold criterion (Sec. 3.1) on a stored sweep: the batch-doubling
    crossover of Δ^{T_True}_{PT,Ridge} over its finite M
    (:func:`~theory.icl_regression.threshold.batch_crossover`), at one seed."""
    from theory.icl_regression.threshold import batch_crossover

    check_result(ds, *_RESULT)
    seed = check_seed(seed, "seed")
    if seed not in [int(s) for s in ds["seed"].values]:
        raise ValueError(f"seed {seed} is not in the result (seeds {ds['seed'].values.tolist()})")
    d = ds["d_pt_ridge_new"].sel(seed=seed)
    finite = sorted((str(M) for M in d["M"].values if str(M) != "inf"), key=int)
    if len(finite) < 2 or d.sizes["batch"] != 2:
        raise ValueError("ds must hold at least two finite M and two batch sizes for the crossover")
    b = sorted(d["batch"].values)
    return batch_crossover([int(M) for M in finite], d.sel(M=finite, batch=b[0]).values,
                           d.sel(M=finite, batch=b[1]).values)


_RESULT = ("task-diversity", ("d_pt_ridge_new",), ("M", "batch"))
"""A stored result of this module: what it is, the variables and dimensions it holds
(:func:`theory.core.check_result`)."""


STORED_LABELS = ("paper", "paper-reduced", "laptop-dask")
"""The labels of stored results the page looks for, the full paper grid first."""


def stored_task_diversity(labels=STORED_LABELS) -> dict:
    """The stored results (``results/icl_regression.task_diversity-<label>.zarr``), label →
    Dataset, checked (:func:`theory.core.open_result`); absent labels omitted."""
    return stored_results("icl_regression.task_diversity", labels)


def stored_report(ds) -> str:
    """One stored result in words: provenance, then per (M, batch) the T_True losses of the
    transformer, ridge and dMMSE and Δ_{PT,Ridge}, Δ_{PT,dMMSE} (seed 0), and the crossover."""
    check_result(ds, *_RESULT)
    s0 = int(ds["seed"].values[0])
    lines = [provenance_report(ds, "stored task-diversity result"),
             f"  seed {s0}, T_True:      M  batch     PT loss   ridge   dMMSE   Δ_PT,Ridge  Δ_PT,dMMSE"]
    for M in ds["M"].values:
        for b in ds["batch"].values:
            p = ds.sel(seed=s0, M=M, batch=b)
            lines.append(f"  {str(M):>26} {int(b):>6} {float(p['pt_new']):>11.4f} {float(p['ridge_new']):>7.4f} "
                         f"{float(p['dmmse_new']):>7.4f} {float(p['d_pt_ridge_new']):>12.4e} "
                         f"{float(p['d_pt_dmmse_new']):>11.4e}")
    try:
        lines.append("  " + task_diversity_crossover(ds, s0).table().replace("\n", "\n  "))
    except ValueError as err:
        lines.append(f"  no crossover: {err}")
    return "\n".join(lines)


def stored_claims(stored, study, settings) -> list[dict]:
    """The ledger claims the threshold page makes from its stored results (``stored``: label →
    Dataset, as :func:`stored_task_diversity` returns; ``study``: the page's
    :func:`~theory.icl_regression.threshold.threshold_study`; ``settings``: its
    ``threshold_settings()``): a stored sweep at the page's sizes and pool sizes must reproduce
    the page's Δ^{T_True}_{PT,Ridge} at every (M, B) without weight decay (rtol 1e-9), where it
    was stored on this machine's kind of device (:func:`theory.core.foreign_device`); a stored
    full paper-size sweep (label ``paper``) is held to the paper's criterion (Sec. 3.1): the
    batch-doubling gap crosses zero at a finite M*. A list of keyword dicts for
    ``Ledger.claim`` (the caller adds ``section``); empty when nothing applies."""
    import json

    from theory.icl_regression.threshold import ThresholdStudy

    check_stored(stored, *_RESULT, source="stored_task_diversity")
    if not isinstance(study, ThresholdStudy):
        raise TypeError(f"study must be the page's ThresholdStudy, got {type(study).__name__}")
    keys = ("steps", "n_eval", "track", "sigma2", "lr", "Ms", "batch_sizes")
    if not isinstance(settings, dict) or not all(k in settings for k in keys):
        raise TypeError(f"settings must be the page's threshold_settings() dict (with {', '.join(keys)})")
    out = []
    for label, ds in stored.items():
        kw = dict(origin="reconstruction",
                  source=f"stored {label} run of the task-diversity sweep (results/, {ds.attrs.get('grid')})")
        fixed = json.loads(ds.attrs["fixed"])
        if (all(fixed[k] == settings[k] for k in keys[:5]) and 0 in ds["seed"].values and foreign_device(ds) is None
                and set(ds["M"].values) == {_M_label(M) for M in settings["Ms"]}
                and set(int(b) for b in ds["batch"].values) == set(settings["batch_sizes"])):
            pts = [(M, b) for M in settings["Ms"] for b in settings["batch_sizes"]]
            out.append(dict(kw, id=f"icl_regression.stored_{label.replace('-', '_')}_reproduces", rtol=1e-9,
                            measured=[ds["d_pt_ridge_new"].sel(seed=0, M=_M_label(M), batch=b).item() for M, b in pts],
                            close_to=[study.ev.d_pt_ridge_new[study.index(M, b, 0.0)] for M, b in pts],
                            statement="the stored sweep, trained point by point on Dask workers, reproduces this "
                                      "page's batched program: Δ_PT,Ridge on new tasks at every (M, B)"))
        if label == "paper":
            c = task_diversity_crossover(ds, int(ds["seed"].values[0]))
            out.append(dict(kw, id="icl_regression.threshold_paper_stored", at_least=1.0,
                            measured=c.M_star if c.status == "crossing" else 0.0,
                            statement="stored paper-size sweep (D = 8, M = 2⁰ … 2¹⁵, batch 256 and 512, 500k "
                                      "steps): the batch-doubling gap crosses zero at a finite M*",
                            paper_value="a crossover between batch sizes 256 and 512 defines the threshold (Sec. 3.1)"))
    return out


__all__ += ["stored_claims"]


def main(argv=None) -> int:
    """``python -m theory.icl_regression.sweeps task_diversity --scale paper [--executor dask]
    [--set steps=200] ...``: the sweep through the runner into ``results/store`` and
    ``results/icl_regression.task_diversity-<label>.zarr`` (:func:`theory.core.sweep_cli`)."""
    return sweep_cli("python -m theory.icl_regression.sweeps", {"task_diversity": task_diversity_plan}, argv)


if __name__ == "__main__":
    raise SystemExit(main())
