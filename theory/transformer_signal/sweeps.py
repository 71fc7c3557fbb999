"""The chapter's trainability grid through the shared runner (:func:`theory.core.run_sweep`).

The trainability experiment of Cowsik et al. 2024 (abstract and Fig. 4's axes as the third-party
scripts draw them: α = α_A = α_M against σ_w): deep transformers trained from a grid of
initialisation hyperparameters, the final loss set against the exponents (λ_a, λ_g) at
initialisation. One point of the sweep is one trained network (α, σ_w, seed): its final test
loss and accuracy, its recorded training curve and whether it diverged, computed by the page's
own :func:`~theory.transformer_signal.simulate.train_transformers` on a one-configuration sweep
(a configuration trains the same alone as in the page's batch, its weights and sequences coming
from its own streams — bit for bit on some CPUs, to float32 rounding on others, where the batched
matrix products round differently: one ulp in one loss of the test's tiny grid on an AVX2 machine). :func:`trainability_from_dataset` turns a stored result
back into the page's :class:`~theory.transformer_signal.simulate.Trainability`.

Sizes (``TRAINABILITY_SIZES``): the paper's task, depths, widths and steps could not be read
(``shared/reference/paper-text.md``, row 17: "not available"), so ``"paper"`` holds the page's
own ``THEORY_SCALE=paper`` sizes, the book's choice: a 6 × 6 grid α ∈ [0.1, 1], σ_w ∈ [1, 4]
(the paper's axes, ``PAPER_GRID``) × 3 seeds, depth 32, width 128, 3000 Adam steps of batch 128,
n = 8 tokens, vocabulary 4. ``"laptop"``: the page's default, 3 × 3 × 3 seeds, depth 16, width 32,
250 steps of batch 32.
"""

from __future__ import annotations

import numpy as np

from theory.core import (Experiment, Sweep, SweepPlan, check_choice, check_result, check_scalar, check_seed,
                         check_stored, foreign_device, provenance_report, stored_results, sweep_cli)
from theory.transformer_signal.exact import PAPER_MODEL
from theory.transformer_signal.simulate import Trainability, train_transformers, trainability_summary

__all__ = ["TRAINABILITY_SIZES", "main", "stored_report", "stored_trainability", "trainability_experiment",
           "trainability_from_dataset", "trainability_plan", "trainability_point", "trainability_sweep"]

TRAINABILITY_SIZES = {
    "laptop": dict(n_alpha=3, n_sigma=3, n_seed=3, depth=16, d=32, steps=250, batch=32,
                   n=8, vocab=4, sigma_A=1.0, lr=3e-3, test_batch=1024),
    "paper": dict(n_alpha=6, n_sigma=6, n_seed=3, depth=32, d=128, steps=3000, batch=128,
                  n=8, vocab=4, sigma_A=1.0, lr=3e-3, test_batch=1024),
}
"""The trainability sizes per scale: the page's ``scaled(laptop, paper)`` values (book's choice;
the paper's own sizes are not available)."""

_GRID = {"laptop": ([0.25, 0.6, 1.0], [1.0, 2.5, 4.0]),
         "paper": (list(np.linspace(0.1, 1.0, 6)), list(np.linspace(1.0, 4.0, 6)))}


def _records(steps: int) -> np.ndarray:
    every = max(1, steps // 50)
    from theory.core import record_steps

    return np.asarray(record_steps(steps, every=every))


def trainability_point(alpha, sigma_w, seed, *, n, d, depth, vocab, steps, batch, lr, sigma_A,
                       test_batch) -> dict:
    """One trained network (α = α_A = α_M, σ_w, seed): ``train_loss`` (T,) at the recorded steps,
    the final ``test_loss`` and ``test_accuracy``, ``diverged`` (0-d bool) and ``diverged_step``,
    from :func:`train_transformers` in the paper's model (plain residual, tanh)."""
    alpha = check_scalar(alpha, "alpha", min=0.0, max=1.0)
    sigma_w = check_scalar(sigma_w, "sigma_w", min=0.0, include_min=False)
    seed = check_seed(seed, "seed")
    res = train_transformers(Sweep(alpha=[alpha], sigma_w=[sigma_w], seed=[seed]), sigma_A=sigma_A,
                             n=n, d=d, depth=depth, vocab=vocab, steps=steps, batch=batch, lr=lr,
                             test_batch=test_batch, **PAPER_MODEL)
    return {"train_loss": np.asarray(res["train_loss"])[0],
            "test_loss": np.asarray(res["test_loss"])[0, -1],
            "test_accuracy": np.asarray(res["test_accuracy"])[0, -1],
            "diverged": np.asarray(res.meta["diverged"])[0],
            "diverged_step": np.asarray(res.meta["diverged_step"])[0]}


def trainability_sweep(scale: str = "laptop", *, n_alpha: int | None = None, n_sigma: int | None = None,
                       n_seed: int | None = None) -> Sweep:
    """Sweep(alpha, sigma_w, seed): the page's grid at ``scale`` (seeds 100, 101, ...); ``n_alpha``/
    ``n_sigma`` keep the first values of each axis, ``n_seed`` the first seeds."""
    scale = check_choice(scale, "scale", tuple(TRAINABILITY_SIZES))
    size = TRAINABILITY_SIZES[scale]
    a, s = _GRID[scale]
    n_alpha = size["n_alpha"] if n_alpha is None else check_scalar(n_alpha, "n_alpha", kind="int", min=1,
                                                                   max=len(a))
    n_sigma = size["n_sigma"] if n_sigma is None else check_scalar(n_sigma, "n_sigma", kind="int", min=1,
                                                                   max=len(s))
    n_seed = size["n_seed"] if n_seed is None else check_scalar(n_seed, "n_seed", kind="int", min=1)
    return Sweep(alpha=a[:n_alpha], sigma_w=s[:n_sigma], seed=[100 + k for k in range(n_seed)])


def trainability_experiment(scale: str = "laptop", *, steps: int | None = None, depth: int | None = None,
                            d: int | None = None) -> Experiment:
    """The trainability experiment at ``scale``'s sizes (``steps``, ``depth``, ``d`` override)."""
    scale = check_choice(scale, "scale", tuple(TRAINABILITY_SIZES))
    fixed = {k: v for k, v in TRAINABILITY_SIZES[scale].items() if k not in ("n_alpha", "n_sigma", "n_seed")}
    for name, v in (("steps", steps), ("depth", depth), ("d", d)):
        if v is not None:
            fixed[name] = check_scalar(v, name, kind="int", min=1)
    return Experiment("transformer_signal.trainability", point=trainability_point,
                      dims={"train_loss": ("step",)}, coords={"step": _records(fixed["steps"])},
                      fixed=fixed)


def trainability_plan(scale: str = "laptop", *, n_alpha: int | None = None, n_sigma: int | None = None,
                      n_seed: int | None = None, steps: int | None = None, depth: int | None = None,
                      d: int | None = None) -> SweepPlan:
    """The trainability grid at ``scale`` as a :class:`~theory.core.SweepPlan`, optionally reduced
    (fewer α, σ_w or seeds; fewer steps, blocks or a smaller width)."""
    exp = trainability_experiment(scale, steps=steps, depth=depth, d=d)
    sweep = trainability_sweep(scale, n_alpha=n_alpha, n_sigma=n_sigma, n_seed=n_seed)
    full = TRAINABILITY_SIZES[scale]
    f = exp.fixed
    reduced = (len(sweep) < full["n_alpha"] * full["n_sigma"] * full["n_seed"]
               or any(f[k] < full[k] for k in ("steps", "depth", "d")))
    grid = (f"{len(sweep.axes['alpha'])} alpha x {len(sweep.axes['sigma_w'])} sigma_w x "
            f"{len(sweep.axes['seed'])} seeds, depth {f['depth']}, width {f['d']}, {f['steps']} steps "
            f"of batch {f['batch']}")
    return SweepPlan(exp, sweep, reduced=reduced, grid=grid)


def trainability_from_dataset(ds) -> Trainability:
    """The page's :class:`Trainability` summary (mean over seeds, exponents at initialisation)
    from a stored trainability result."""
    from theory.core import Result

    check_result(ds, *_RESULT)
    sweep = Sweep(alpha=list(ds["alpha"].values), sigma_w=list(ds["sigma_w"].values),
                  seed=[int(s) for s in ds["seed"].values])
    G, T = len(sweep), ds.sizes["step"]
    order = ("alpha", "sigma_w", "seed")
    train = ds["train_loss"].transpose(*order, "step").values.reshape(G, T)
    last = lambda v: np.concatenate([np.full((G, T - 1), np.nan), v.reshape(G, 1)], 1)  # noqa: E731
    res = Result(steps=ds["step"].values, metrics={
        "train_loss": train, "test_loss": last(ds["test_loss"].transpose(*order).values),
        "test_accuracy": last(ds["test_accuracy"].transpose(*order).values)}, sweep=sweep,
        meta={**{k: v for k, v in __import__("json").loads(ds.attrs["fixed"]).items()}, **PAPER_MODEL})
    return trainability_summary(res)


_RESULT = ("trainability", ("test_loss", "diverged"), ("alpha",))
"""A stored result of this module: what it is, the variables and dimensions it holds
(:func:`theory.core.check_result`)."""


STORED_LABELS = ("paper", "paper-reduced", "laptop-dask")
"""The labels of stored trainability results the page looks for."""


def stored_trainability(labels=STORED_LABELS) -> dict:
    """The stored results ``results/transformer_signal.trainability-<label>.zarr``, label → Dataset,
    checked (:func:`theory.core.open_result` raises on a corrupted store); absent labels omitted."""
    return stored_results("transformer_signal.trainability", labels)


def stored_report(ds) -> str:
    """One stored trainability result in words: provenance, then per (α, σ_w) the mean final
    test loss over seeds and how many seeds diverged."""
    check_result(ds, *_RESULT)
    lines = [provenance_report(ds, "stored trainability result")]
    loss = ds["test_loss"].mean("seed")
    div = ds["diverged"].sum("seed")
    lines.append("  final test loss (mean over seeds) [diverged seeds]:")
    lines.append("  α \\ σ_w  " + "".join(f"{s:>14.2f}" for s in ds["sigma_w"].values))
    for i, a in enumerate(ds["alpha"].values):
        lines.append(f"  {a:<8.2f}" + "".join(f"{float(v):>10.4f} [{int(k)}]" for v, k in
                                              zip(loss.values[i], div.values[i])))
    return "\n".join(lines)


def stored_claims(stored, res) -> list[dict]:
    """The ledger claims the trainability page makes from its stored results (``stored``: label →
    Dataset, as :func:`stored_trainability` returns; ``res``: the page's own
    :func:`train_transformers` result): a stored grid run at the page's sizes and on its grid
    must reproduce the page's final test losses (rtol 1e-9) where it was stored on this machine's
    kind of device (:func:`theory.core.foreign_device`); a stored full paper-size grid
    (label ``paper``) is held to the page's paper-scale criterion, Spearman ≥ 0.6 between final
    loss and the distance of (λ_a, λ_g) from (0, 0). A list of keyword dicts for
    ``Ledger.claim`` (the caller adds ``section``); empty when nothing applies."""
    import json

    from theory.core import Result

    check_stored(stored, *_RESULT, source="stored_trainability")
    if not isinstance(res, Result) or res.sweep is None or "test_loss" not in res.metrics:
        raise TypeError("res must be the page's train_transformers Result")
    page = {k: res.meta[k] for k in ("steps", "depth", "d", "batch") if k in res.meta}
    sweep, out = res.sweep, []
    for label, ds in stored.items():
        kw = dict(origin="reconstruction",
                  source=f"stored {label} run of the trainability grid (results/, {ds.attrs.get('grid')})")
        fixed = json.loads(ds.attrs["fixed"])
        same = (all(fixed.get(k) == v for k, v in page.items()) and len(page) == 4
                and ds["test_loss"].shape == sweep.shape
                and np.allclose(ds["alpha"], sweep.axes["alpha"]) and np.allclose(ds["sigma_w"], sweep.axes["sigma_w"])
                and list(ds["seed"].values) == list(sweep.axes["seed"]) and foreign_device(ds) is None)
        if same:
            out.append(dict(kw, id=f"transformer_signal.stored_{label.replace('-', '_')}_reproduces", rtol=1e-9,
                            measured=ds["test_loss"].transpose("alpha", "sigma_w", "seed").values.ravel(),
                            close_to=np.asarray(res["test_loss"])[:, -1],
                            statement="the stored grid, trained point by point on Dask workers, reproduces this "
                                      "page's batched run: final test loss of every network"))
        if label == "paper":
            out.append(dict(kw, id="transformer_signal.full_grid_stored", at_least=0.6,
                            measured=trainability_from_dataset(ds).spearman,
                            statement="stored paper-size grid (6 × 6 × 3 seeds, depth 32, width 128, 3000 steps): "
                                      "Spearman ≥ 0.6 between loss and distance from (0, 0)",
                            paper_value="loss is a function of (λ_a, λ_g) (abstract; no value)"))
    return out


__all__ += ["stored_claims"]


def main(argv=None) -> int:
    """``python -m theory.transformer_signal.sweeps trainability --scale paper [--executor dask]
    [--set n_alpha=1 ...]``: the grid through the runner into ``results/store`` and
    ``results/transformer_signal.trainability-<label>.zarr`` (:func:`theory.core.sweep_cli`)."""
    return sweep_cli("python -m theory.transformer_signal.sweeps", {"trainability": trainability_plan}, argv)


if __name__ == "__main__":
    raise SystemExit(main())
