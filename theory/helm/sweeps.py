"""The chapter's paper-scale sweep through the shared runner (:func:`theory.core.run_sweep`).

HELM's evaluation grid (Liang, Bommasani, Lee et al. 2022, §3–§4 and the leaderboard of its
abstract; the page ``leaderboard.ipynb``): every model of :func:`~theory.helm.models.default_models`
on every core scenario of :func:`~theory.helm.scenarios.core_scenarios`, under the scenario's
default adaptation, every test instance as it is and under each perturbation that changes it.
One point of the sweep is one (model, scenario) evaluation, computed exactly as the page computes
it: :func:`theory.helm.evaluate.evaluate` of the one model on the one scenario, reading and
filling the chapter's store (:mod:`theory.helm.store`; ``store=None`` is its
:func:`~theory.helm.store.default_store`, the one ``make helm-store`` fills), then
``Evaluation.table()`` and :func:`~theory.helm.evaluate.headline_table`. A cell of the page's
table depends only on its own (model, scenario) run, so the point's numbers are the page's row
for that pair bit for bit (asserted by the tests). Per point:

- ``headline`` (group,): the value per HELM metric group (accuracy, calibration, robustness,
  fairness, efficiency, bias, toxicity) as the page's headline table gives it, NaN where not
  measured;
- the scalars ``accuracy``, ``ece_10_bin``, ``robustness``, ``fairness``, ``bits_per_byte``
  (the table's columns the page's claims read; NaN where absent), ``measured`` (1 when the model
  supports the scenario, else 0 and every metric NaN) and ``n_test`` (the scenario's test
  instances).

Sizes: ``laptop`` is the page's default run (50 test instances per scored scenario, 10
language-modelling excerpts, 20 open-generation prompts; 400 training reviews or comments for the
classifiers); ``paper`` is the chapter's ``THEORY_SCALE=paper`` sizes (``scaled(laptop, paper)``
in :mod:`theory.helm.scenarios`: 1000 test instances, 2000 training ones, 100 excerpts, every
fact question and every prompt), the book's choice: HELM's own grid (30 models × 16 core
scenarios, up to 1000 instances each) is out of reach of the miniature's offline models.
"""

from __future__ import annotations

import numpy as np

from theory.core import (STORED_LABELS, Experiment, Sweep, SweepPlan, check_choice, check_configs,
                         check_result, check_scalar, check_seed, check_stored, provenance_report,
                         stored_results, sweep_cli)
from theory.helm import evaluate as E, scenarios as S

__all__ = ["GRID_SIZES", "METRICS", "STORED_LABELS", "grid_experiment", "grid_plan", "grid_point", "grid_sweep",
           "main", "stored_claims", "stored_grid", "stored_report"]

MODELS = ("SmolLM2-135M", "MiniLM+LR", "TF-IDF+LR", "Lexicon", "ByteNgram-5")
SCENARIOS = ("sentiment", "toxicity_detection", "knowledge", "reasoning", "language_modeling", "open_generation")
_BUILDERS = {"sentiment": S.sentiment, "toxicity_detection": S.toxicity_detection, "knowledge": S.knowledge,
             "reasoning": S.reasoning, "language_modeling": S.language_modeling,
             "open_generation": S.open_generation}
_WITH_TRAIN = ("sentiment", "toxicity_detection")
GRID_SIZES = {
    "laptop": dict(n_test=dict(sentiment=50, toxicity_detection=50, knowledge=50, reasoning=50,
                               language_modeling=10, open_generation=20), n_train=400),
    "paper": dict(n_test=dict(sentiment=1000, toxicity_detection=1000, knowledge=236, reasoning=1000,
                              language_modeling=100, open_generation=140), n_train=2000),
}
"""The sizes per scale: test instances per scenario and the classifiers' training set (module
docstring; knowledge 236 and open generation 140 are every question and prompt available)."""

METRICS = ("accuracy", "ece_10_bin", "robustness", "fairness", "bits_per_byte")
GROUPS = tuple(E.METRIC_GROUPS)


def _model(name: str):
    from theory.helm.models import default_models

    return {m.name: m for m in default_models()}[name]


def grid_point(model, scenario, *, sizes="laptop", n_test=None, seed=0, store=None) -> dict:
    """One (model, scenario) evaluation of the page's grid (HELM §3–§4, the leaderboard): the
    scenario built at ``sizes``'s sizes (``n_test``: at most this many test instances), evaluated
    by :func:`theory.helm.evaluate.evaluate` through the chapter's ``store`` (a folder; None: the
    default store); the headline values per metric group and the metric scalars (module docstring)."""
    model = check_choice(model, "model", MODELS)
    scenario = check_choice(scenario, "scenario", SCENARIOS)
    sizes = check_choice(sizes, "sizes", tuple(GRID_SIZES))
    seed = check_seed(seed, "seed")
    if store is not None and not isinstance(store, str):
        raise TypeError(f"store must be a folder (str) or None, got {type(store).__name__}")
    n = GRID_SIZES[sizes]["n_test"][scenario]
    if n_test is not None:
        n = min(n, check_scalar(n_test, "n_test", kind="int", min=1))
    kw = dict(n_train=GRID_SIZES[sizes]["n_train"]) if scenario in _WITH_TRAIN else {}
    scen = _BUILDERS[scenario](n_test=n, seed=seed, **kw)
    ev = E.evaluate([_model(model)], [scen], store=store, progress=False)
    out = {"headline": np.full(len(GROUPS), np.nan), **{m: np.float64(np.nan) for m in METRICS},
           "measured": np.int64(len(ev.runs) > 0), "n_test": np.int64(len(scen.test))}
    if ev.runs:
        table = ev.table()
        head = E.headline_table(table)
        for j, g in enumerate(GROUPS):
            if (scenario, g) in head.columns:
                out["headline"][j] = float(head.loc[model, (scenario, g)])
        for m in METRICS:
            if (scenario, m) in table.columns:
                out[m] = np.float64(table.loc[model, (scenario, m)])
    return out


def grid_sweep(scale: str = "laptop", *, model: str = "all", scenario: str = "all") -> Sweep:
    """Sweep(model, scenario): the five models × six core scenarios (or one ``model`` /
    ``scenario``); the grid is the same at both scales, only the sizes differ."""
    check_choice(scale, "scale", tuple(GRID_SIZES))
    model = check_choice(model, "model", ("all",) + MODELS)
    scenario = check_choice(scenario, "scenario", ("all",) + SCENARIOS)
    return Sweep(model=list(MODELS) if model == "all" else [model],
                 scenario=list(SCENARIOS) if scenario == "all" else [scenario])


def grid_experiment(scale: str = "laptop", *, n_test: int | None = None, seed: int = 0,
                    store: str | None = None) -> Experiment:
    """The grid experiment at ``scale``'s sizes; ``n_test`` caps every scenario's test
    instances, ``seed`` is the scenarios' seed (the page's 0), ``store`` the chapter's store."""
    scale = check_choice(scale, "scale", tuple(GRID_SIZES))
    if n_test is not None:
        n_test = check_scalar(n_test, "n_test", kind="int", min=1)
    seed = check_seed(seed, "seed")
    if store is not None and not isinstance(store, str):
        raise TypeError(f"store must be a folder (str) or None, got {type(store).__name__}")
    return Experiment("helm.grid", point=grid_point, dims={"headline": ("group",)},
                      coords={"group": np.asarray(GROUPS)},
                      fixed=dict(sizes=scale, n_test=n_test, seed=seed, store=store))


def grid_plan(scale: str = "laptop", *, model: str = "all", scenario: str = "all", n_test: int | None = None,
              seed: int = 0, store: str | None = None) -> SweepPlan:
    """The grid at ``scale`` as a :class:`~theory.core.SweepPlan`; ``reduced`` when it departs
    from the page's grid (one model or scenario, fewer test instances, another seed)."""
    exp = grid_experiment(scale, n_test=n_test, seed=seed, store=store)
    sweep = grid_sweep(scale, model=model, scenario=scenario)
    full = GRID_SIZES[scale]["n_test"]
    reduced = (len(sweep) < len(MODELS) * len(SCENARIOS) or exp.fixed["seed"] != 0
               or (n_test is not None and n_test < max(full.values())))
    cap = f", at most {n_test} test instances" if n_test is not None else ""
    grid = (f"{len(sweep.axes['model'])} models x {len(sweep.axes['scenario'])} scenarios, {scale} sizes "
            f"({', '.join(f'{s} {full[s]}' for s in sweep.axes['scenario'])} test instances{cap}), seed {seed}")
    return SweepPlan(exp, sweep, reduced=reduced, grid=grid)


_RESULT = ("grid", ("headline",), ("model", "scenario"))
"""A stored result of this module: what it is, the variables and dimensions it holds
(:func:`theory.core.check_result`)."""


def stored_grid(labels=STORED_LABELS) -> dict:
    """The stored grid results (``results/helm.grid-<label>.zarr``), label → Dataset."""
    return stored_results("helm.grid", labels)


def _table(ds):
    """The stored metric scalars as the page's table: models × (scenario, metric)."""
    import pandas as pd

    cols, data = [], []
    for s in ds["scenario"].values.tolist():
        for m in METRICS:
            v = ds[m].sel(scenario=s).values.astype(float)
            if np.isfinite(v).any():
                cols.append((s, m))
                data.append(v)
    return pd.DataFrame(np.array(data).T.reshape(ds.sizes["model"], len(cols)),
                        index=pd.Index(ds["model"].values.tolist(), name="model"),
                        columns=pd.MultiIndex.from_tuples(cols, names=["scenario", "metric"]))


def _numbers(ds) -> dict:
    acc = ds["accuracy"].values
    excess = [np.nanmax(ds[m].values - acc) for m in ("robustness", "fairness")
              if np.isfinite(ds[m].values - acc).any()]
    rho, n = E.spearman(_table(ds), "accuracy", "ece_10_bin") if np.isfinite(ds["ece_10_bin"].values).sum() >= 3 \
        else (float("nan"), 0)
    return dict(excess=float(max(excess)) if excess else float("nan"), rho=float(rho), n_pairs=int(n),
                coverage=float(ds["measured"].values.mean()))


def stored_report(ds) -> str:
    """One stored grid result in words: provenance; the (model, scenario) pairs measured; per
    scenario its test instances and each model's accuracy; the largest excess of robustness or
    fairness over accuracy and Spearman ρ(accuracy, ECE-10), the numbers the page's claims need."""
    check_result(ds, *_RESULT)
    k = _numbers(ds)
    lines = [provenance_report(ds, "stored HELM grid result"),
             f"  (model, scenario) pairs measured: {int(ds['measured'].values.sum())} of {ds['measured'].size} "
             f"({k['coverage']:.1%})"]
    for s in ds["scenario"].values.tolist():
        p = ds.sel(scenario=s)
        accs = ", ".join(f"{m} {float(a):.3f}" for m, a in zip(p["model"].values.tolist(), p["accuracy"].values)
                         if np.isfinite(a))
        lines.append(f"  {s}: n = {int(np.max(p['n_test'].values))}; accuracy {accs or 'not measured'}")
    lines.append(f"  robustness/fairness − accuracy: max {k['excess']:+.4f}; Spearman ρ(accuracy, ECE-10) = "
                 f"{k['rho']:+.3f} over {k['n_pairs']} pairs")
    return "\n".join(lines)


def stored_claims(stored) -> list[dict]:
    """The page's leaderboard claims (``leaderboard.ipynb``, "The table" and "Accuracy against
    calibration"), with the page's criteria, on the first stored result of ``stored`` (label →
    Dataset, as :func:`stored_grid` returns) that holds at least two measured pairs: keyword
    dicts for ``Ledger.claim`` (id, origin, source, statement, measured, bound, as the page's own
    claims; the caller adds the section), empty when there is none."""
    check_stored(stored, *_RESULT, source="stored_grid")
    for label, ds in stored.items():
        if int(ds["measured"].values.sum()) < 2:
            continue
        k = _numbers(ds)
        where = f"stored {label} run of the grid sweep (results/, {ds.attrs.get('grid', '')})"
        out = []
        if np.isfinite(k["excess"]):
            out.append(dict(id="helm.board.worst_case_below_accuracy_stored", origin="official code",
                            source=f"{where}; HELM code, metrics/metric.py",
                            statement=f"{label} scale: in every (model, scenario) cell, robustness and fairness do "
                                      "not exceed accuracy (largest excess)", measured=k["excess"], at_most=0.0))
        if np.isfinite(k["rho"]):
            out.append(dict(id="helm.board.calibration_not_monotone_in_accuracy_stored", origin="reconstruction",
                            source=where,
                            statement=f"{label} scale: accuracy does not order ECE-10 across the {k['n_pairs']} "
                                      "(model, scenario) pairs (|Spearman ρ| below 0.95)",
                            measured=abs(k["rho"]), at_most=0.95))
        return out
    return []


def main(argv=None) -> int:
    """``python -m theory.helm.sweeps grid --scale paper [--executor dask] [--set n_test=100]``:
    the grid through the runner into ``results/store`` and ``results/helm.grid-<label>.zarr``
    (:func:`theory.core.sweep_cli`); the model outputs go to the chapter's store as on the page."""
    return sweep_cli("python -m theory.helm.sweeps", {"grid": grid_plan}, argv)


if __name__ == "__main__":
    raise SystemExit(main())
