"""The chapter's paper-scale sweep through the shared runner (:func:`theory.core.run_sweep`).

Chen, Kunin, Yamamura, Ganguli (2023), Fig. 3 (batch-size panel; the paper's main text is not
available, the figure is known from the official notebook ``FIG3_FIG4.ipynb``): the fraction of
independent (neither vanishing nor duplicate) neurons at the end of SGD training against the
batch size B. One point is one network (batch_size, seed) of the book's digits MLP
(:func:`theory.stochastic_collapse.deep.train_mlp`, η = 0.2, no label noise): its
initialisation, minibatches and label draws come from the seed alone, so a point trains bit for
bit the same alone, in a batch of networks or on any Dask worker, and equal to the page's
``collapse_sweeps(...)["batch_size"]`` (:mod:`theory.stochastic_collapse.deep_experiments`).

    exp = collapse_experiment("paper")
    ds = run_sweep(exp, collapse_sweep("paper"), store="results/store", executor="dask")

Sizes. The paper trains VGG-16 on CIFAR-10 (official config ``train_sce_gelu.yaml``: B = 128,
η = 0.02, momentum 0.9, λ = 5·10⁻⁴, 3·10⁶ batches; the notebooks read 10⁵-batch checkpoints) and
ResNet-18 on CIFAR-100; the batch sizes of the figure are 32–512. Those networks are not the
book's: ``paper`` here is the book's own paper scale of the page (``DeepSetup`` at
``THEORY_SCALE=paper``: MLP 64→128→128→10, 80 000 steps, λ = 5·10⁻⁴, B ∈ {32, …, 512} — the
paper's B range —, 8 seeds), ``laptop`` the page's default (width 64, 8000 steps, λ = 5·10⁻³,
B ∈ {16, 32, 64, 128}, 4 seeds). Both are the book's choices, the B range the paper's.
"""

from __future__ import annotations

import numpy as np

from theory.core import (STORED_LABELS, Experiment, Sweep, SweepPlan, check_choice, check_configs,
                         check_result, check_scalar, check_seed, check_stored, provenance_report, stored_results,
                         sweep_cli)
from theory.stochastic_collapse.deep import load_digits_data, train_mlp

__all__ = ["COLLAPSE_SIZES", "collapse_batch", "collapse_experiment", "collapse_plan", "collapse_point",
           "collapse_sweep", "main", "stored_claims", "stored_collapse", "stored_report"]

COLLAPSE_SIZES = {
    "laptop": dict(batches=[16, 32, 64, 128], n_seed=4, hidden=64, steps=8000, weight_decay=5e-3,
                   lr=0.2),
    "paper": dict(batches=[32, 64, 128, 256, 512], n_seed=8, hidden=128, steps=80_000,
                  weight_decay=5e-4, lr=0.2),
}
"""The batch-size sweep's sizes per scale: the page's ``DeepSetup`` at each scale (the book's
choices; the batch range of ``paper`` is the paper's Fig. 3, 32–512)."""

METRICS = ("independent", "vanishing", "effective_rank", "test_accuracy", "train_accuracy",
           "train_loss")
_KEYS = {"seed", "batch_size", "hidden", "steps", "weight_decay", "lr"}


def collapse_batch(configs) -> list[dict]:
    """Train a list of Fig. 3 points (dicts of seed, batch_size and the fixed sizes hidden,
    steps, weight_decay, lr) in one :func:`train_mlp` call per shared (hidden, steps, λ, η);
    one dict per point, in the order given: ``independent``, ``vanishing``, ``effective_rank``
    (2, L) at the first and last step, ``test_accuracy``, ``train_accuracy``, ``train_loss`` (2,)."""
    check_configs(configs, _KEYS)
    groups: dict = {}
    checked = []
    for i, c in enumerate(configs):
        c = dict(c, seed=check_seed(c["seed"], "seed"),
                 batch_size=check_scalar(c["batch_size"], "batch_size", kind="int", min=1),
                 hidden=check_scalar(c["hidden"], "hidden", kind="int", min=1),
                 steps=check_scalar(c["steps"], "steps", kind="int", min=1),
                 weight_decay=check_scalar(c["weight_decay"], "weight_decay", min=0.0),
                 lr=check_scalar(c["lr"], "lr", min=0.0, include_min=False))
        checked.append(c)
        groups.setdefault((c["hidden"], c["steps"], c["weight_decay"], c["lr"]), []).append(i)
    data = load_digits_data(test_fraction=0.25, seed=0)          # the page's split
    out: list = [None] * len(configs)
    for (hidden, steps, wd, lr), idx in groups.items():
        res = train_mlp(data, lr=lr, batch_size=np.array([checked[i]["batch_size"] for i in idx]),
                        seed=np.array([checked[i]["seed"] for i in idx]), steps=steps, hidden=hidden,
                        weight_decay=wd, progress=False)
        for j, i in enumerate(idx):
            out[i] = {k: np.asarray(res[k][j]) for k in METRICS}
    return out


def collapse_point(seed, batch_size, **sizes) -> dict:
    """One Fig. 3 network (batch_size, seed): the arrays of :func:`collapse_batch` for one point."""
    return collapse_batch([dict(sizes, seed=seed, batch_size=batch_size)])[0]


def collapse_sweep(scale: str = "laptop", *, n_batch: int | None = None,
                   n_seed: int | None = None) -> Sweep:
    """Sweep(batch_size, seed): the scale's batch sizes (the first ``n_batch``) and seeds 0…n_seed−1."""
    scale = check_choice(scale, "scale", tuple(COLLAPSE_SIZES))
    size = COLLAPSE_SIZES[scale]
    nb = len(size["batches"])
    n_batch = nb if n_batch is None else check_scalar(n_batch, "n_batch", kind="int", min=1, max=nb)
    n_seed = size["n_seed"] if n_seed is None else check_scalar(n_seed, "n_seed", kind="int", min=1)
    return Sweep(batch_size=list(size["batches"][:n_batch]), seed=list(range(n_seed)))


def collapse_experiment(scale: str = "laptop", *, steps: int | None = None) -> Experiment:
    """The Fig. 3 batch-size experiment at ``scale``'s sizes (``steps`` overrides the steps)."""
    scale = check_choice(scale, "scale", tuple(COLLAPSE_SIZES))
    size = dict(COLLAPSE_SIZES[scale])
    size.pop("batches")
    size.pop("n_seed")
    if steps is not None:
        size["steps"] = check_scalar(steps, "steps", kind="int", min=1)
    dims = {k: ("step", "layer") for k in ("independent", "vanishing", "effective_rank")}
    dims.update({k: ("step",) for k in ("test_accuracy", "train_accuracy", "train_loss")})
    return Experiment("stochastic_collapse.collapse", point=collapse_point, batch=collapse_batch,
                      dims=dims, coords={"step": np.array([0, size["steps"]]), "layer": np.array([0, 1])},
                      fixed=size)


def collapse_plan(scale: str = "laptop", *, n_batch: int | None = None, n_seed: int | None = None,
                  steps: int | None = None) -> SweepPlan:
    """The Fig. 3 batch-size sweep at ``scale`` as a :class:`~theory.core.SweepPlan`, optionally
    reduced (fewer batch sizes, seeds or steps)."""
    exp = collapse_experiment(scale, steps=steps)
    sweep = collapse_sweep(scale, n_batch=n_batch, n_seed=n_seed)
    full = COLLAPSE_SIZES[scale]
    reduced = (len(sweep) < len(full["batches"]) * full["n_seed"]
               or exp.fixed["steps"] < full["steps"])
    bs = sweep.axes["batch_size"]
    grid = (f"B in {list(map(int, bs))} x {len(sweep.axes['seed'])} seeds, width "
            f"{exp.fixed['hidden']}, {exp.fixed['steps']} steps (of {full['steps']})")
    return SweepPlan(exp, sweep, reduced=reduced, grid=grid)


_RESULT = ("collapse", ("independent",), ("batch_size",))
"""A stored result of this module: what it is, the variables and dimensions it holds
(:func:`theory.core.check_result`)."""


def stored_collapse(labels=STORED_LABELS) -> dict:
    """The stored results (``results/stochastic_collapse.collapse-<label>.zarr``), label → Dataset,
    checked (:func:`theory.core.open_result`); absent labels omitted."""
    return stored_results("stochastic_collapse.collapse", labels)


def stored_report(ds) -> str:
    """One stored result in words: provenance, then per batch size the final independent
    fraction (mean of the layers, mean ± sd over seeds) and test accuracy, and the per-seed
    Spearman ρ(B, independent) that the page's claim uses."""
    from theory.stochastic_collapse.deep_experiments import per_seed_spearman

    check_result(ds, *_RESULT)
    lines = [provenance_report(ds, "stored Fig. 3 batch-size result")]
    ind = ds["independent"].isel(step=-1).mean("layer").transpose("batch_size", "seed").values
    acc = ds["test_accuracy"].isel(step=-1).transpose("batch_size", "seed").values
    for b, row, a in zip(ds["batch_size"].values, ind, acc):
        lines.append(f"  B = {int(b):<4d} independent {row.mean():.3f} ± {row.std():.3f}   "
                     f"test accuracy {a.mean():.3f}")
    if ind.shape[0] >= 2:
        rho = per_seed_spearman(ds["batch_size"].values.astype(float), ind)
        lines.append(f"  per-seed Spearman ρ(B, independent): {np.round(rho, 2)}")
    return "\n".join(lines)


_PAPER_VALUE = "more independent neurons from B = 32 to 512 (VGG-16 CIFAR-10, ResNet-18 CIFAR-100)"


def stored_claims(stored) -> list[dict]:
    """The page's claims on its stored batch-size results (``deep_networks.ipynb``, "Stored runs
    at the paper's sizes"): keyword dicts for ``Ledger.claim`` (the caller adds ``section``), for
    each stored paper-size result (labels ``paper`` and ``paper-reduced`` of ``stored``, label →
    Dataset as :func:`stored_collapse` returns) with at least two batch sizes. The final independent fraction (mean over layers) is ranked against B:
    ``..._<label>``, Spearman ρ of the seed-mean curve > 0; with at least two seeds,
    ``..._per_seed_<label>``, ρ > 0 for every seed — on the stored ``paper`` grid a known failure,
    whose account gives the per-seed values."""
    from theory.stochastic_collapse.deep_experiments import levels_text, per_seed_spearman

    check_stored(stored, *_RESULT, source="stored_collapse")
    out = []
    for label, ds in stored.items():
        if label not in ("paper", "paper-reduced") or ds.sizes["batch_size"] < 2:
            continue
        bs = ds["batch_size"].values.astype(float)
        ind = ds["independent"].isel(step=-1).mean("layer").transpose("batch_size", "seed").values
        kw = dict(origin="reconstruction", paper_value=_PAPER_VALUE,
                  source=f"stored {label} run of the batch-size sweep (results/, {ds.attrs.get('grid')})")
        tag = label.replace("-", "_")
        out.append(dict(kw, id=f"stochastic_collapse.deep_batch_more_independent_{tag}", sign=1,
                        measured=per_seed_spearman(bs, ind.mean(1, keepdims=True)),
                        statement=f"a larger batch leaves more independent neurons at the paper's sizes: Spearman "
                                  f"ρ(B, seed-mean independent fraction) > 0 over {ds.sizes['seed']} seeds, "
                                  f"B = {levels_text(bs)}"))
        if ds.sizes["seed"] >= 2:
            rho = per_seed_spearman(bs, ind)
            why = (f"per seed, ρ(B, independent) is {', '.join(f'{r:+.2f}' for r in rho)} over the {rho.size} seeds "
                   f"({int((rho <= 0).sum())} not positive): at these sizes the seed-to-seed spread of the independent "
                   "fraction is as large as its rise with B, so only the seed-mean curve orders the batch sizes")
            out.append(dict(kw, id=f"stochastic_collapse.deep_batch_more_independent_per_seed_{tag}", sign=1,
                            measured=rho, known_failure=why if label == "paper" else None,
                            statement=f"…and for every seed on its own (Spearman ρ > 0 per seed, {rho.size} seeds)"))
    return out


def main(argv=None) -> int:
    """``python -m theory.stochastic_collapse.sweeps collapse --scale paper [--executor dask]
    [--set n_batch=2] [--set steps=...]``: the sweep through the runner into ``results/store`` and
    ``results/stochastic_collapse.collapse-<label>.zarr`` (:func:`theory.core.sweep_cli`)."""
    return sweep_cli("python -m theory.stochastic_collapse.sweeps", {"collapse": collapse_plan}, argv)


if __name__ == "__main__":
    raise SystemExit(main())
