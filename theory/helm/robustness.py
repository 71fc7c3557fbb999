"""Robustness and fairness of the evaluated models, per instance: the analyses and figures of the
page ``book/helm/robustness_fairness.ipynb`` (the book's reconstruction).

HELM's robustness (fairness) of a model on a scenario is the mean over test instances of the
per-instance worst case over {identity} ∪ the robustness (fairness) perturbations (HELM code,
``metrics/metric.py``; :func:`theory.helm.metrics.worst_case`):

.. math:: \\mathrm{robustness} = \\frac1n \\sum_i \\min_{v \\in \\{\\mathrm{id}\\} \\cup R} s_i(v),
          \\qquad s_i(v) \\in [0, 1] \\text{ the score of instance } i \\text{ under } v,

so per instance it never exceeds the accuracy :math:`s_i(\\mathrm{id})`. This module recomputes it
from the per-instance scores of an :class:`~theory.helm.evaluate.Evaluation` (independently of
:func:`theory.helm.metrics.summarize`, which the page checks it against), the per-perturbation
worst case, subgroup accuracies with their gaps (female- vs male-named, white- vs black-American
names), and draws the figures.

- :func:`perturbation_examples`: one instance under each perturbation (a table);
- :func:`instance_frame`: per (model, scenario, instance, perturbation) scores with demographics;
- :func:`worst_cases`: per-instance accuracy, robustness and fairness;
- :func:`per_perturbation`: the mean worst case over {identity, p} for each perturbation p;
- :func:`subgroup_gaps`: accuracy by a demographic attribute, the gap and its standard error;
  :func:`disparities`: the page's two comparisons stacked, with z = gap / s.e.;
- :func:`accuracy_robustness_fairness`: the (model, scenario) means, and the figures
  :func:`scatter_figure` and :func:`drop_figure`.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np

from theory.helm._checks import check_str, sequence, str_list
from theory.helm.schema import Instance, Scenario

__all__ = ["SUBGROUPS", "accuracy_robustness_fairness", "disparities", "drop_figure",
           "instance_frame", "per_perturbation",
           "perturbation_examples", "scatter_figure", "subgroup_gaps", "worst_cases"]


def perturbation_examples(instance: Instance, names: Sequence[str] | None = None, *,
                          seed: int = 0):
    """A DataFrame (index: perturbation) with the ``input`` of ``instance`` under each of
    ``names`` (default: every perturbation of :mod:`theory.helm.perturbations`) and whether it
    changed."""
    import pandas as pd

    from theory.helm import perturbations as P

    if not isinstance(instance, Instance):
        raise TypeError(f"instance must be an Instance, got {type(instance).__name__}")
    names = P.PERTURBATIONS if names is None else tuple(str_list(names, "names", nonempty=False))
    if not names:
        raise ValueError("names must not be empty")
    rows = []
    for n in names:
        text = P.perturb(instance, n, seed=seed).input
        rows.append((n, text, text != instance.input))
    return pd.DataFrame(rows, columns=["perturbation", "input", "changed"]).set_index("perturbation")


def _default_runs(evaluation, scenarios: Sequence[str] | None):
    from theory.helm.evaluate import Evaluation

    if not isinstance(evaluation, Evaluation):
        raise TypeError(f"evaluation must be an Evaluation, got {type(evaluation).__name__}")
    if scenarios is not None:
        scenarios = str_list(scenarios, "scenarios")
    runs = [r for r in evaluation.runs.values() if r.is_default and r.complete
            and (scenarios is None or r.scenario.name in scenarios)]
    if not runs:
        raise ValueError("the evaluation has no complete run under a default adaptation"
                         + (f" on {list(scenarios)}" if scenarios is not None else ""))
    return runs


def instance_frame(evaluation, scenarios: Sequence[str] | None = None):
    """Per-instance scores, long form: a DataFrame with columns model, scenario, instance,
    perturbation, family (``identity``, ``robustness`` or ``fairness``), score (the scenario's
    main metric, :func:`theory.helm.metrics.instance_scores`), gender, race (the original
    instance's metadata; empty when absent). One row per (complete default run, instance,
    perturbation of the scenario)."""
    import pandas as pd

    from theory.helm import metrics

    rows = []
    for run in _default_runs(evaluation, scenarios):
        s = run.scenario
        if s.main_metric not in ("exact_match", "quasi_exact_match", "f1"):
            continue
        fam = {"identity": "identity", **{n: "robustness" for n in s.robustness},
               **{n: "fairness" for n in s.fairness}}
        for pert, preds in run.predictions.items():
            scores = metrics.instance_scores(s, list(preds))
            for inst, sc in zip(s.test, scores):
                rows.append((run.model.name, s.name, inst.id, pert, fam[pert], float(sc),
                             inst.get("gender", ""), inst.get("race", "")))
    if not rows:
        raise ValueError("no run with a per-instance accuracy metric (exact match, quasi-exact "
                         "match or F1)")
    return pd.DataFrame(rows, columns=["model", "scenario", "instance", "perturbation", "family",
                                       "score", "gender", "race"])


def _check_frame(frame, columns, name: str = "frame", source: str = "instance_frame"):
    import pandas as pd

    for c in columns:
        if not isinstance(c, str):
            raise TypeError(f"column names must be str, got {type(c).__name__} {c!r}")
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame ({source}), got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks the columns {missing} (use {source})")
    if frame.empty:
        raise ValueError(f"{name} is empty")


def worst_cases(frame):
    """Per (model, scenario, instance): ``accuracy`` = the identity score, ``robustness`` = the
    minimum over {identity} ∪ robustness perturbations, ``fairness`` likewise (NaN where the
    scenario has no such perturbation), plus gender and race. A DataFrame."""
    _check_frame(frame, ["model", "scenario", "instance", "family", "score"])
    keys = ["model", "scenario", "instance"]
    ident = frame[frame["family"] == "identity"].set_index(keys)
    if ident.index.duplicated().any():
        raise ValueError("frame has more than one identity score for an instance")
    out = ident[["score", "gender", "race"]].rename(columns={"score": "accuracy"})
    for fam in ("robustness", "fairness"):
        sub = frame[frame["family"].isin(["identity", fam])]
        has = frame[frame["family"] == fam].groupby(keys)["score"].size()
        worst = sub.groupby(keys)["score"].min()
        out[fam] = worst.where(worst.index.isin(has.index)).reindex(out.index)
    return out.reset_index()


def per_perturbation(frame):
    """The mean per-instance worst case over {identity, p} for each perturbation p (HELM's
    per-perturbation robustness/fairness), beside the accuracy: a DataFrame indexed by (model,
    scenario) with one column per perturbation and ``accuracy``."""
    _check_frame(frame, ["model", "scenario", "instance", "perturbation", "score"])
    keys = ["model", "scenario", "instance"]
    ident = frame[frame["perturbation"] == "identity"].set_index(keys)["score"]
    out = {"accuracy": ident.groupby(level=[0, 1], sort=False).mean()}
    for p in dict.fromkeys(frame["perturbation"]):
        if p == "identity":
            continue
        sc = frame[frame["perturbation"] == p].set_index(keys)["score"]
        worst = np.minimum(sc, ident.reindex(sc.index))
        out[p] = worst.groupby(level=[0, 1], sort=False).mean()
    import pandas as pd

    return pd.DataFrame(out).reindex(out["accuracy"].index)


def subgroup_gaps(worst, attribute: str, groups: tuple[str, str], metric: str = "accuracy"):
    """Accuracy (or ``metric``: robustness, fairness) by subgroup of ``attribute`` (``gender``
    or ``race``) per (model, scenario): the two groups' means, their sizes, the gap
    ``mean(groups[0]) − mean(groups[1])`` and its standard error
    :math:`\\sqrt{v_0/n_0 + v_1/n_1}` (sample variances of the per-instance scores). The book's
    subgroup disparity (HELM reports performance disparities by subgroup; this is not one of
    its metrics)."""
    import pandas as pd

    check_str(attribute, "attribute")
    check_str(metric, "metric")
    _check_frame(worst, ["model", "scenario"], "worst", "worst_cases")
    for name, col in (("attribute", attribute), ("metric", metric)):
        if col not in worst.columns:
            raise ValueError(f"{name} {col!r} is not a column of worst ({list(worst.columns)})")
    if not (isinstance(groups, tuple) and len(groups) == 2 and groups[0] != groups[1]):
        raise ValueError(f"groups must be a pair of distinct group names, got {groups!r}")
    rows = []
    for (m, s), df in worst.groupby(["model", "scenario"], sort=False):
        vals = [df.loc[df[attribute] == g, metric].dropna().to_numpy(dtype=float) for g in groups]
        if min(v.size for v in vals) < 2:
            raise ValueError(f"{m} × {s}: fewer than 2 instances in a group of {attribute} "
                             f"{groups} (sizes {[v.size for v in vals]})")
        means = [float(v.mean()) for v in vals]
        se = math.sqrt(sum(float(v.var(ddof=1)) / v.size for v in vals))
        rows.append((m, s, means[0], means[1], vals[0].size, vals[1].size, means[0] - means[1], se))
    g0, g1 = groups
    return pd.DataFrame(rows, columns=["model", "scenario", g0, g1, f"n_{g0}", f"n_{g1}", "gap",
                                       "se"])


#: The subgroup comparisons of the page: (attribute, (first group, second group)).
SUBGROUPS = (("gender", ("female", "male")), ("race", ("white_american", "black_american")))


def disparities(worst, comparisons=SUBGROUPS, metric: str = "accuracy"):
    """:func:`subgroup_gaps` for each (attribute, groups) of ``comparisons``, stacked: a DataFrame
    with columns model, scenario, attribute, first, second (the group names), acc_first,
    acc_second, n_first, n_second, gap, se and z = gap / se (NaN when se = 0)."""
    import pandas as pd

    comparisons = tuple(sequence(comparisons, "comparisons", nonempty=True))
    for c in comparisons:
        if not (isinstance(c, (tuple, list)) and len(c) == 2 and isinstance(c[0], str)
                and isinstance(c[1], (tuple, list)) and len(c[1]) == 2):
            raise ValueError(f"comparisons must hold (attribute, (group, group)) pairs, got {c!r}")
    comparisons = tuple((a, tuple(g)) for a, g in comparisons)
    parts = []
    for attribute, groups in comparisons:
        g = subgroup_gaps(worst, attribute, groups, metric)
        g0, g1 = groups
        parts.append(pd.DataFrame({
            "model": g["model"], "scenario": g["scenario"], "attribute": attribute,
            "first": g0, "second": g1, "acc_first": g[g0], "acc_second": g[g1],
            "n_first": g[f"n_{g0}"], "n_second": g[f"n_{g1}"], "gap": g["gap"], "se": g["se"]}))
    out = pd.concat(parts, ignore_index=True)
    out["z"] = out["gap"] / out["se"].where(out["se"] > 0)
    return out


def accuracy_robustness_fairness(worst):
    """The (model, scenario) means of the per-instance accuracy, robustness and fairness."""
    _check_frame(worst, ["model", "scenario", "accuracy", "robustness", "fairness"], "worst", "worst_cases")
    return worst.groupby(["model", "scenario"], sort=False)[["accuracy", "robustness",
                                                             "fairness"]].mean()


_MARKERS = ("o", "s", "^", "D", "v", "P")


def _model_colors(models: Iterable[str]) -> dict:
    from theory.core import COLORS

    palette = [COLORS[c] for c in ("blue", "orange", "green", "red", "purple", "sky")]
    return {m: palette[k % len(palette)] for k, m in enumerate(models)}


def scatter_figure(arf):
    """Two panels: accuracy (x) against robustness and against fairness (y) for each (model,
    scenario) of :func:`accuracy_robustness_fairness`; colour = model, marker = scenario, the
    dashed diagonal y = x (no point can lie above it)."""
    from theory.core import figure

    import pandas as pd

    if not isinstance(arf, pd.DataFrame):
        raise TypeError(f"arf must be a pandas DataFrame (accuracy_robustness_fairness), got "
                        f"{type(arf).__name__}")
    if (arf.index.nlevels != 2 or arf.empty
            or not {"accuracy", "robustness", "fairness"} <= set(arf.columns)):
        raise ValueError("arf must be the non-empty (model, scenario) frame of "
                         "accuracy_robustness_fairness")
    models = list(dict.fromkeys(arf.index.get_level_values(0)))
    scens = list(dict.fromkeys(arf.index.get_level_values(1)))
    colors = _model_colors(models)
    fig, axes = figure(1, 2, width="wide")
    lo = float(np.nanmin(arf.to_numpy())) - 0.03
    for ax, metric in zip(axes, ("robustness", "fairness")):
        ax.plot([lo, 1.0], [lo, 1.0], ls="--", color="0.6", lw=1, label="y = x")
        for (m, s), row in arf.iterrows():
            ax.scatter(row["accuracy"], row[metric], color=colors[m],
                       marker=_MARKERS[scens.index(s) % len(_MARKERS)], s=45, zorder=3)
        ax.set_xlim(lo, 1.01)
        ax.set_ylim(lo, 1.01)
        ax.set_xlabel("accuracy (exact match, originals)")
        ax.set_ylabel(f"{metric} (per-instance worst case)")
        ax.set_title(f"accuracy vs {metric}")
    for m in models:
        axes[1].scatter([], [], color=colors[m], marker="o", label=m)
    for k, s in enumerate(scens):
        axes[1].scatter([], [], color="0.3", marker=_MARKERS[k % len(_MARKERS)], label=s)
    axes[1].legend(fontsize=7, loc="lower right")
    return fig


def drop_figure(per_pert):
    """One panel per scenario: the accuracy lost to each perturbation's worst case (accuracy −
    mean worst case over {identity, p}), grouped by model (bars)."""
    from theory.core import figure

    import pandas as pd

    if not isinstance(per_pert, pd.DataFrame):
        raise TypeError(f"per_pert must be a pandas DataFrame (per_perturbation), got "
                        f"{type(per_pert).__name__}")
    if "accuracy" not in per_pert.columns or per_pert.empty or per_pert.index.nlevels != 2:
        raise ValueError("per_pert must be the frame of per_perturbation")
    scens = list(dict.fromkeys(per_pert.index.get_level_values(1)))
    models = list(dict.fromkeys(per_pert.index.get_level_values(0)))
    colors = _model_colors(models)
    fig, axes = figure(1, len(scens), width="wide", squeeze=False, sharey=True)
    for ax, s in zip(axes[0], scens):
        sub = per_pert.xs(s, level=1)
        perts = [c for c in sub.columns if c != "accuracy" and sub[c].notna().any()]
        width = 0.8 / max(len(models), 1)
        for k, m in enumerate(models):
            if m not in sub.index:
                continue
            drop = [float(sub.loc[m, "accuracy"] - sub.loc[m, p]) for p in perts]
            ax.bar(np.arange(len(perts)) + (k - (len(models) - 1) / 2) * width, drop, width,
                   color=colors[m], label=m)
        ax.set_xticks(np.arange(len(perts)), perts, rotation=20, fontsize=8)
        ax.set_title(s)
        ax.set_xlabel("perturbation")
        if ax is axes[0][0]:
            ax.set_ylabel("accuracy − worst case")
        ax.axhline(0, color="0.3", lw=0.8)
    axes[0][-1].legend(fontsize=7)
    return fig
