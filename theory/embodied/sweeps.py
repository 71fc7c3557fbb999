"""The chapter's paper-scale sweep through the shared runner (:func:`theory.core.run_sweep`).

The judges' power study of the page ``judges.ipynb`` (sections "The animal against itself", "The
candidates", "Power against the data budget"; the book's reconstruction of the embodied Turing
test of Zador et al. 2023, abstract and Fig. 1): the rejection rate of each judge against each
candidate at each data budget.

One point is one (candidate, judge, budget_s): :func:`~theory.embodied.judges.power` of the
candidate of :func:`~theory.embodied.plots.candidate_set` (``"sargolini"``, seed 0) against the
living half at that one budget, with the page's repeats and permutations for that judge and the
seed :func:`~theory.embodied.judges.power_grid` gives the cell, ``config_seed("embodied.judge.grid",
seed, candidate, judge) % 2**31``. Every repeat's windows, split and permutations are seeded by
``config_seed(seed, budget_s, repeat)`` (the budget's value, never its position), so a point equals
the page's ``power_grid`` entry at that budget bit for bit (asserted by the tests). Per point:
``statistic`` and ``p_value`` (repeat,), ``null`` (repeat, permutation), the scalars
``rejection_rate`` (the fraction of repeats with p ≤ 0.05) and ``n_windows`` (per side). The
repeats and permutations differ by judge; the arrays are padded with NaN to the largest.

Sizes: ``laptop`` is the page's run (10 repeats for the features and MMD judges, 3 for the
network; 99 permutations, 19 for the network), ``paper`` its ``THEORY_SCALE=paper`` run
(``scaled(10, 40)`` repeats for features and MMD, ``scaled(3, 10)`` for the network, the network's
permutations ``scaled(19, 99)``): the book's choice; the paper runs no such experiment. Both scales:
the 5 candidates of :data:`~theory.embodied.plots.EXPLORER_CANDIDATES`, the 3 judges and the budgets
of :data:`~theory.embodied.plots.EXPLORER_BUDGETS_MIN` (0.5, 1, 2, 4 minutes): 60 points.
"""

from __future__ import annotations

import functools

import numpy as np

from theory.core import (STORED_LABELS, Experiment, Sweep, SweepPlan, check_choice, check_configs,
                         check_result, check_scalar, check_seed, check_stored, config_seed, provenance_report,
                         stored_results, sweep_cli)
from theory.embodied import judges as J, plots as P

__all__ = ["POWER_SIZES", "STORED_LABELS", "main", "power_experiment", "power_plan", "power_point", "power_sweep",
           "stored_claims", "stored_power", "stored_report"]

_DESIGN = dict(source="sargolini", traj_seed=0, duration_s=None, seed=0, window_s=4.0, sampling="scattered",
               network_steps=60, alpha=0.05)
POWER_SIZES = {
    "laptop": dict(_DESIGN, reps_features=10, reps_mmd=10, reps_network=3, perms_features=99, perms_mmd=99,
                   perms_network=19),
    "paper": dict(_DESIGN, reps_features=40, reps_mmd=40, reps_network=10, perms_features=99, perms_mmd=99,
                  perms_network=99),
}
"""The sizes per scale: the page's two runs (module docstring), the book's design."""

OUTPUTS = ("statistic", "p_value", "null", "rejection_rate", "n_windows")
_FIXED = tuple(POWER_SIZES["laptop"])


@functools.lru_cache(maxsize=2)
def _trajectories(source: str, traj_seed: int, duration_s):
    """The page's trajectories (``P.candidate_set("sargolini", seed=0)``)."""
    return P.candidate_set(source, seed=traj_seed, duration_s=duration_s)


def _pad(x, shape) -> np.ndarray:
    out = np.full(shape, np.nan)
    x = np.asarray(x, dtype=np.float64)
    out[tuple(slice(0, n) for n in x.shape)] = x
    return out


def power_point(candidate, judge, budget_s, **fixed) -> dict:
    """One point (candidate, judge, budget_s): :func:`~theory.embodied.judges.power` at that budget
    with the page's sizes for the judge (``fixed``: the keys of :data:`POWER_SIZES`); the page's
    ``power_grid`` entry for the cell at that budget, bit for bit. Returns ``statistic``,
    ``p_value`` (repeat,), ``null`` (repeat, permutation) padded with NaN to the largest repeats and
    permutations of any judge, ``rejection_rate`` and ``n_windows``."""
    check_configs([fixed], _FIXED)
    candidate = check_choice(candidate, "candidate", P.EXPLORER_CANDIDATES)
    judge = check_choice(judge, "judge", J.JUDGES)
    budget_s = check_scalar(budget_s, "budget_s", min=0.0, include_min=False)
    seed = check_seed(fixed["seed"], "seed")
    reps = {j: check_scalar(fixed[f"reps_{j}"], f"reps_{j}", kind="int", min=1) for j in J.JUDGES}
    perms = {j: check_scalar(fixed[f"perms_{j}"], f"perms_{j}", kind="int", min=1) for j in J.JUDGES}
    steps = check_scalar(fixed["network_steps"], "network_steps", kind="int", min=1)
    duration = fixed["duration_s"]
    if duration is not None:
        duration = check_scalar(duration, "duration_s", min=0.0, include_min=False)
    traj = _trajectories(check_choice(fixed["source"], "source", ("sargolini",)),
                         check_seed(fixed["traj_seed"], "traj_seed"), duration)
    kw = {"network": J.NetworkSpec(steps=steps)} if judge == "network" else {}
    res = J.power(traj[candidate], traj["living"], [budget_s], judge=judge, n_repeats=reps[judge],
                  n_permutations=perms[judge], seed=config_seed("embodied.judge.grid", seed, candidate, judge) % 2**31,
                  window_s=fixed["window_s"], sampling=fixed["sampling"], alpha=fixed["alpha"], **kw)
    R, Pm = max(reps.values()), max(perms.values())
    return dict(statistic=_pad(res.statistic[0], (R,)), p_value=_pad(res.p_value[0], (R,)),
                null=_pad(res.null[0], (R, Pm)), rejection_rate=np.float64(res.rejection_rate[0]),
                n_windows=np.int64(res.n_windows[0]))


def power_sweep(scale: str = "laptop", *, judge: str | None = None, n_candidate: int | None = None,
                n_budget: int | None = None) -> Sweep:
    """Sweep(candidate, judge, budget_s): the first ``n_candidate`` candidates of
    :data:`~theory.embodied.plots.EXPLORER_CANDIDATES`, every judge (or ``judge`` alone) and the
    first ``n_budget`` budgets (seconds) of :data:`~theory.embodied.plots.EXPLORER_BUDGETS_MIN`."""
    check_choice(scale, "scale", tuple(POWER_SIZES))
    judges = J.JUDGES if judge is None else (check_choice(judge, "judge", J.JUDGES),)
    nc = len(P.EXPLORER_CANDIDATES) if n_candidate is None else check_scalar(
        n_candidate, "n_candidate", kind="int", min=1, max=len(P.EXPLORER_CANDIDATES))
    nb = len(P.EXPLORER_BUDGETS_MIN) if n_budget is None else check_scalar(
        n_budget, "n_budget", kind="int", min=1, max=len(P.EXPLORER_BUDGETS_MIN))
    return Sweep(candidate=list(P.EXPLORER_CANDIDATES[:nc]), judge=list(judges),
                 budget_s=[60.0 * b for b in P.EXPLORER_BUDGETS_MIN[:nb]])


def power_experiment(scale: str = "laptop", *, n_repeats: int | None = None, n_permutations: int | None = None,
                     duration_s: float | None = None) -> Experiment:
    """The experiment at ``scale``'s sizes; ``n_repeats``/``n_permutations`` override every judge's
    repeats/permutations, ``duration_s`` the simulated candidates' length (a reduction)."""
    scale = check_choice(scale, "scale", tuple(POWER_SIZES))
    fixed = dict(POWER_SIZES[scale])
    if n_repeats is not None:
        fixed.update({f"reps_{j}": check_scalar(n_repeats, "n_repeats", kind="int", min=1) for j in J.JUDGES})
    if n_permutations is not None:
        fixed.update({f"perms_{j}": check_scalar(n_permutations, "n_permutations", kind="int", min=1)
                      for j in J.JUDGES})
    if duration_s is not None:
        fixed["duration_s"] = check_scalar(duration_s, "duration_s", min=0.0, include_min=False)
    R = max(fixed[f"reps_{j}"] for j in J.JUDGES)
    Pm = max(fixed[f"perms_{j}"] for j in J.JUDGES)
    return Experiment("embodied.power", point=power_point,
                      dims=dict(statistic=("repeat",), p_value=("repeat",), null=("repeat", "permutation")),
                      coords={"repeat": np.arange(R), "permutation": np.arange(Pm)}, fixed=fixed)


def power_plan(scale: str = "laptop", *, judge: str | None = None, n_candidate: int | None = None,
               n_budget: int | None = None, n_repeats: int | None = None, n_permutations: int | None = None,
               duration_s: float | None = None) -> SweepPlan:
    """The sweep at ``scale`` as a :class:`~theory.core.SweepPlan`, optionally reduced."""
    exp = power_experiment(scale, n_repeats=n_repeats, n_permutations=n_permutations, duration_s=duration_s)
    sweep = power_sweep(scale, judge=judge, n_candidate=n_candidate, n_budget=n_budget)
    full = POWER_SIZES[scale]
    reduced = len(sweep) < len(power_sweep(scale)) or any(exp.fixed[k] != full[k] for k in full)
    f = exp.fixed
    grid = (f"{len(sweep.axes['candidate'])} candidates x {len(sweep.axes['judge'])} judges x "
            f"{len(sweep.axes['budget_s'])} budgets {list(sweep.axes['budget_s'])} s; repeats "
            + ", ".join(f"{j} {f['reps_' + j]}" for j in J.JUDGES) + "; permutations "
            + ", ".join(f"{j} {f['perms_' + j]}" for j in J.JUDGES))
    return SweepPlan(exp, sweep, reduced=reduced, grid=grid)


_RESULT = ("power", ("rejection_rate",), ("candidate",))
"""A stored result of this module: what it is, the variables and dimensions it holds
(:func:`theory.core.check_result`)."""


def stored_power(labels=STORED_LABELS) -> dict:
    """The stored results (``results/embodied.power-<label>.zarr``), label → Dataset."""
    return stored_results("embodied.power", labels)


def stored_report(ds) -> str:
    """One stored result in words: provenance, and the rejection rate per (judge, candidate) by
    budget (minutes)."""
    check_result(ds, *_RESULT)
    budgets = ds["budget_s"].values
    lines = [provenance_report(ds, "stored power result"),
             "  rejection rate   " + "  ".join(f"{b / 60:>5g} min" for b in budgets)]
    for j in ds["judge"].values:
        for c in ds["candidate"].values:
            r = ds["rejection_rate"].sel(judge=j, candidate=c).values
            lines.append(f"  {j:<8} {c:<10}" + "  ".join(f"{v:>9.2f}" for v in r))
    return "\n".join(lines)


def _has(ds, candidates, judges, budgets) -> bool:
    return (set(candidates) <= set(ds["candidate"].values.tolist()) and set(judges) <= set(ds["judge"].values.tolist())
            and all(np.isclose(ds["budget_s"].values, b).any() for b in budgets))


def stored_claims(stored) -> list[dict]:
    """The page's power claims (``judges.ipynb``: "The animal against itself", "The candidates",
    "Power against the data budget"), with the page's criteria, on the first stored result of
    ``stored`` (label → Dataset, as :func:`stored_power` returns) that holds every candidate, judge
    and budget: a list of keyword dicts for ``Ledger.claim`` (id, source, statement, measured and
    the bound; the caller adds origin and section), empty when there is none."""
    check_stored(stored, *_RESULT, source="stored_power")
    for label, ds in stored.items():
        if not _has(ds, P.EXPLORER_CANDIDATES, J.JUDGES, [60.0 * b for b in P.EXPLORER_BUDGETS_MIN]):
            continue
        where = f"stored {label} run of the power sweep (results/, {ds.attrs.get('grid', '')})"

        def sel(var, c, j, b):
            return ds[var].sel(candidate=c, judge=j, budget_s=b).values

        def auc(c):
            return np.array([np.nanmean(sel("statistic", c, j, 240.0)) for j in J.CLASSIFIER_JUDGES])

        rate = {(c, j, b): float(sel("rejection_rate", c, j, b)) for c in P.EXPLORER_CANDIDATES for j in J.JUDGES
                for b in ds["budget_s"].values}
        rows = [("self_median_p", "the rat's two halves are not distinguished: the median p over seeds exceeds 0.05 "
                 "for every judge at 4 minutes",
                 np.array([np.nanmedian(sel("p_value", "real", j, 240.0)) for j in J.JUDGES]), dict(at_least=0.05)),
                ("self_auc", "the classifiers' held-out AUC of the rat against itself is within 0.1 of chance at 4 "
                 "minutes", auc("real"), dict(close_to=0.5, atol=0.1))]
        rows += [(f"{n}_rejected", f"{P.CANDIDATE_LABELS[n]}: rejected in every seed by every judge at 2 and 4 "
                  "minutes", np.array([rate[n, j, b] for j in J.JUDGES for b in (120.0, 240.0)]), dict(at_least=1.0))
                 for n in ("brownian", "forager", "ratinabox")]
        rows += [("fitted_as_close_as_real", "the fitted policy's mean AUC at 4 minutes is within 0.1 of the rat's "
                  "own other half (both classifiers)", np.abs(auc("fitted") - auc("real")), dict(at_most=0.1)),
                 ("fitted_far_from_brownian", "the fitted policy's mean AUC at 4 minutes is at least 0.3 below the "
                  "Brownian walker's", auc("brownian") - auc("fitted"), dict(at_least=0.3)),
                 ("budget_matters", "the network judge rejects RatInABox's motion far more often with 4 minutes of "
                  "data than with half a minute", rate["ratinabox", "network", 240.0] - rate["ratinabox", "network", 30.0],
                  dict(at_least=0.5)),
                 ("judge_matters", "with half a minute of data the MMD judge rejects RatInABox's motion far more often "
                  "than the network judge", rate["ratinabox", "mmd", 30.0] - rate["ratinabox", "network", 30.0],
                  dict(at_least=0.5))]
        reps = {j: int(np.isfinite(ds["statistic"].sel(judge=j)).any(("candidate", "budget_s")).sum()) for j in J.JUDGES}
        return [dict(bound, id=f"embodied.judge.{cid}_stored", source=where,
                     statement=f"{label} scale (repeats {reps}): {text}", measured=np.asarray(value, dtype=float))
                for cid, text, value, bound in rows]
    return []


def main(argv=None) -> int:
    """``python -m theory.embodied.sweeps power --scale paper [--executor dask] [--set n_budget=1]``: the
    power sweep through the runner into ``results/store`` and ``results/embodied.power-<label>.zarr``
    (:func:`theory.core.sweep_cli`)."""
    return sweep_cli("python -m theory.embodied.sweeps", {"power": power_plan}, argv)


if __name__ == "__main__":
    raise SystemExit(main())
