"""The leaderboard's figures and the chapter's explorer: pick a metric and a scenario, see the
models ranked.

Every function takes the models × (scenario, metric) table of
:meth:`theory.helm.evaluate.Evaluation.table` (or what it derives: win rates, coverage, pairs).
:data:`leaderboard_explorer` draws the table a page handed over with :func:`use_in_explorer`;
without one it draws a small stand-in computed on first use from the cheap models only
(TF-IDF + logistic regression and the lexicon rule on 20 test instances of sentiment and
toxicity detection, in a temporary store; no language model, no encoder). The book's
reconstruction of HELM's leaderboard views (its web front-end ranks models per scenario and
metric group).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from theory.core import COLORS, check_scalar, explorer, figure
from theory.helm._checks import check_str
from theory.helm.evaluate import METRIC_GROUPS, _check_table, group_columns

__all__ = ["EXPLORER_METRICS", "EXPLORER_SCENARIOS", "accuracy_calibration_figure", "coverage_figure",
           "heatmap_figure", "leaderboard_explorer", "ranking", "standin_table", "use_in_explorer",
           "win_rate_figure"]

#: The explorer's metric control: HELM's seven metric groups.
EXPLORER_METRICS = tuple(METRIC_GROUPS)
#: The explorer's scenario control: the book's core scenarios.
EXPLORER_SCENARIOS = ("sentiment", "toxicity_detection", "knowledge", "reasoning", "language_modeling",
                      "open_generation")

_NAMES = {"accuracy": "accuracy", "bits_per_byte": "bits per byte", "ece_10_bin": "ECE (10 bins)",
          "robustness": "robustness (worst case)", "fairness": "fairness (worst case)",
          "inference_runtime": "runtime per request (s)", "toxic_frac": "toxic fraction"}

_EXPLORER: dict = {}


def _label(metric: str) -> str:
    return _NAMES.get(metric, metric.replace("_", " "))


def ranking(table, metric: str, scenario: str):
    """The models ranked on ``scenario`` by metric group ``metric`` (one of
    :data:`EXPLORER_METRICS`): a DataFrame with columns model, value, measured (bool), best first,
    then the models not measured. The group's value is its one column (``accuracy``, or
    ``bits_per_byte`` for language modelling; ``ece_10_bin``; ``robustness``; ``fairness``;
    ``inference_runtime``; ``toxic_frac``) or, for bias, the mean of the scenario's ``bias_*``
    scores. ``.attrs`` holds the value's label (None: the group is not defined for the
    scenario), ``higher_is_better``, ``metric`` and ``scenario``."""
    import pandas as pd

    _check_table(table)
    if metric not in METRIC_GROUPS:
        raise ValueError(f"metric must be one of {list(METRIC_GROUPS)}, got {metric!r}")
    if not isinstance(scenario, str):
        raise TypeError(f"scenario must be a str, got {type(scenario).__name__}")
    cols = [(c, h) for c, h in group_columns(table, metric) if c[0] == scenario]
    if cols:
        values = table[[c for c, _ in cols]].astype(float).mean(axis=1, skipna=True)
        higher = cols[0][1]
        label = _label(cols[0][0][1]) if len(cols) == 1 else f"mean of {len(cols)} bias scores (TV distance)"
    else:
        values = pd.Series(np.nan, index=table.index)
        higher = METRIC_GROUPS[metric][next(iter(METRIC_GROUPS[metric]))]
        in_table = any(c[0] == scenario for c in table.columns)
        label = None if in_table else "(no model measured on this scenario in this table)"
    df = pd.DataFrame({"model": list(table.index), "value": values.to_numpy(dtype=float)})
    df["measured"] = df["value"].notna()
    key = df["value"] if not higher else -df["value"]
    df = df.assign(_k=key).sort_values(["measured", "_k"], ascending=[False, True], kind="stable")
    df = df.drop(columns="_k").reset_index(drop=True)
    df.attrs.update(label=label, higher_is_better=bool(higher), metric=metric, scenario=scenario)
    return df


def use_in_explorer(table):
    """Make :data:`leaderboard_explorer` draw ``table`` (an :meth:`Evaluation.table`) and return
    the explorer."""
    _check_table(table)
    if table.empty or len(table.index) == 0:
        raise ValueError("table must have at least one model")
    _EXPLORER["table"] = table
    _EXPLORER["note"] = ""
    return leaderboard_explorer


@functools.lru_cache(maxsize=1)
def standin_table():
    """The explorer's stand-in table: TF-IDF + logistic regression and the lexicon rule on small
    sentiment and toxicity-detection scenarios (20 test, 40 training instances, seed 0),
    evaluated into a temporary store (a few seconds; the other scenarios are "not measured")."""
    import shutil
    import tempfile

    from theory.helm.evaluate import evaluate
    from theory.helm.models import Lexicon, TfidfLR
    from theory.helm.scenarios import sentiment, toxicity_detection

    root = tempfile.mkdtemp(prefix="helm_explorer_")
    try:
        scen = [sentiment(n_test=20, n_train=40, seed=0), toxicity_detection(n_test=20, n_train=40, seed=0)]
        ev = evaluate([TfidfLR(), Lexicon()], scen, store=root, progress=False, toxicity_scorer=None)
        return ev.table()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _current_table():
    if "table" not in _EXPLORER:
        return standin_table(), " (stand-in: 2 cheap models, 20 instances)"
    return _EXPLORER["table"], _EXPLORER.get("note", "")


@explorer(metric=list(EXPLORER_METRICS), scenario=list(EXPLORER_SCENARIOS),
          labels={"metric": "metric group", "scenario": "scenario"})
def leaderboard_explorer(metric: str = "accuracy", scenario: str = "sentiment"):
    """The models ranked on one scenario by one metric group (HELM's leaderboard in miniature):
    horizontal bars, best on top; models without a value (the model does not support the
    scenario, or the metric does not apply) listed as "not measured". Draws the table handed over
    by :func:`use_in_explorer`, else the cheap-model stand-in (:func:`standin_table`)."""
    table, note = _current_table()
    return _ranking_figure(ranking(table, metric, scenario), note)


def _ranking_figure(df, note: str = ""):
    n = len(df)
    fig, ax = figure(1, 1, width="text", height=max(2.4, 0.42 * n + 1.3))
    measured = df[df["measured"]]
    y = np.arange(n)[::-1]
    colors = [COLORS["blue"], COLORS["orange"], COLORS["green"], COLORS["red"], COLORS["purple"],
              COLORS["sky"], COLORS["yellow"]]
    vmax = float(np.nanmax(np.abs(measured["value"]))) if len(measured) else 1.0
    vmax = vmax if vmax > 0 else 1.0
    for i, row in df.iterrows():
        if row["measured"]:
            ax.barh(y[i], row["value"], color=colors[i % len(colors)], height=0.6)
            ax.text(row["value"] + 0.01 * vmax, y[i], f"{row['value']:.3g}", va="center", fontsize=8)
        else:  # a hatched band across the axes: no value for this model
            ax.barh(y[i], vmax * 1.22, height=0.6, color="#f4f4f4", hatch="///", edgecolor="#d0d0d0",
                    linewidth=0)
            ax.text(0.02 * vmax, y[i], "not measured", va="center", fontsize=8, color="#555555",
                    style="italic")
    ax.set_yticks(y)
    ax.set_yticklabels(df["model"])
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_xlim(min(0.0, float(np.nanmin(measured["value"])) * 1.1) if len(measured) else 0.0,
                vmax * 1.22)
    a = df.attrs
    label = a.get("label") or f"{a['metric']}: not defined for this scenario"
    arrow = "higher is better" if a["higher_is_better"] else "lower is better"
    ax.set_xlabel(f"{label} — {arrow}")
    ax.set_title(f"{a['scenario']}: {a['metric']}{note}", fontsize=9)
    ax.grid(axis="y", visible=False)
    return fig


def _annotated(ax, vals, rows, cols, *, vmin=None, vmax=None, cmap="viridis", fmt="{:.3g}"):
    """An annotated heatmap of ``vals`` (NaN: a light grey cell marked "—")."""
    import matplotlib

    cm = matplotlib.colormaps[cmap].with_extremes(bad="#eeeeee")
    im = ax.imshow(np.ma.masked_invalid(vals), aspect="auto", cmap=cm, vmin=vmin, vmax=vmax)
    lo = np.nanmin(vals) if vmin is None and np.isfinite(vals).any() else (vmin or 0.0)
    hi = np.nanmax(vals) if vmax is None and np.isfinite(vals).any() else (vmax or 1.0)
    for i in range(vals.shape[0]):
        for j in range(vals.shape[1]):
            v = vals[i, j]
            dark = not math.isnan(v) and hi > lo and (v - lo) / (hi - lo) < 0.5
            ax.text(j, i, "—" if math.isnan(v) else fmt.format(v), ha="center", va="center",
                    fontsize=8, color="w" if dark else "k")
    ax.set_xticks(range(len(cols)))
    ax.set_xticklabels(cols, rotation=20, ha="right")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(rows)
    ax.grid(False)
    return im


def heatmap_figure(table, metric: str = "accuracy", *, title: str | None = None):
    """Models × scenarios of one metric group (the value :func:`ranking` ranks), annotated;
    "—": not measured."""
    _check_table(table)
    if metric not in METRIC_GROUPS:
        raise ValueError(f"metric must be one of {list(METRIC_GROUPS)}, got {metric!r}")
    if title is not None:
        check_str(title, "title")
    scen = list(dict.fromkeys(c[0] for c in table.columns))
    vals = np.full((len(table.index), len(scen)), np.nan)
    for j, s in enumerate(scen):
        r = ranking(table, metric, s).set_index("model")["value"]
        vals[:, j] = [r[m] for m in table.index]
    fig, ax = figure(1, 1, width="wide", height=0.45 * len(table.index) + 1.6)
    im = _annotated(ax, vals, list(table.index), scen)
    fig.colorbar(im, ax=ax, label=metric)
    ax.set_title(title or f"{metric} per scenario (—: not measured)", fontsize=10)
    return fig


def win_rate_figure(rates):
    """Mean win rate per metric group (a DataFrame models × groups, :func:`win_rates`) as an
    annotated heatmap on [0, 1]; "—": no column of the group ranks the model."""
    import pandas as pd

    if not isinstance(rates, pd.DataFrame) or rates.empty:
        raise TypeError("rates must be a non-empty DataFrame models × metric groups (win_rates)")
    fig, ax = figure(1, 1, width="text", height=0.42 * len(rates.index) + 1.5)
    im = _annotated(ax, rates.to_numpy(dtype=float), list(rates.index), list(rates.columns),
                    vmin=0.0, vmax=1.0, fmt="{:.2f}")
    fig.colorbar(im, ax=ax, label="mean win rate")
    ax.set_title("mean win rate per metric group (ties at half credit; —: not ranked)", fontsize=9)
    return fig


def coverage_figure(coverage):
    """Which model was measured on which scenario (a boolean DataFrame models × scenarios,
    :meth:`Evaluation.coverage`)."""
    import pandas as pd

    if not isinstance(coverage, pd.DataFrame) or coverage.empty:
        raise TypeError("coverage must be a non-empty boolean DataFrame models × scenarios")
    v = coverage.to_numpy(dtype=float)
    fig, ax = figure(1, 1, width="text", height=0.4 * len(coverage.index) + 1.6)
    ax.imshow(v, cmap="Blues", vmin=0, vmax=1.6, aspect="auto")
    for i in range(v.shape[0]):
        for j in range(v.shape[1]):
            ax.text(j, i, "✓" if v[i, j] else "·", ha="center", va="center", fontsize=9)
    ax.set_xticks(range(v.shape[1]))
    ax.set_xticklabels(coverage.columns, rotation=20, ha="right")
    ax.set_yticks(range(v.shape[0]))
    ax.set_yticklabels(coverage.index)
    ax.grid(False)
    ax.set_title(f"measured: {int(v.sum())} of {v.size} (model, scenario) pairs ({100 * v.mean():.1f} %)")
    return fig


def accuracy_calibration_figure(pairs_df, rho: float | None = None, metric_a: str = "accuracy",
                                metric_b: str = "ece_10_bin"):
    """Accuracy against calibration error across (model, scenario) pairs (:func:`pairs`):
    markers per model, colours per scenario; Spearman's ρ in the title when given."""
    import pandas as pd

    check_str(metric_a, "metric_a")
    check_str(metric_b, "metric_b")
    if rho is not None:
        rho = check_scalar(rho, "rho", min=-1.0, max=1.0)
    if not isinstance(pairs_df, pd.DataFrame):
        raise TypeError(f"pairs_df must be a DataFrame (pairs), got {type(pairs_df).__name__}")
    for name, col in (("metric_a", metric_a), ("metric_b", metric_b)):
        if col not in pairs_df.columns:
            raise ValueError(f"{name} {col!r} is not a column of pairs_df ({list(pairs_df.columns)})")
    if not {"model", "scenario"} <= set(pairs_df):
        raise ValueError("pairs_df must have the columns model and scenario (pairs)")
    if pairs_df.empty:
        raise ValueError("pairs_df has no (model, scenario) pair")
    fig, ax = figure(1, 1, width="text", height=3.6)
    markers = "osD^vP*X"
    cycle = ["blue", "orange", "green", "red", "purple", "sky"]
    models = list(dict.fromkeys(pairs_df["model"]))
    scen = list(dict.fromkeys(pairs_df["scenario"]))
    for _, r in pairs_df.iterrows():
        ax.plot(r[metric_a], r[metric_b], markers[models.index(r["model"]) % 8], ms=7, ls="none",
                color=COLORS[cycle[scen.index(r["scenario"]) % 6]])
    for k, m in enumerate(models):
        ax.plot([], [], markers[k % 8], color="k", ls="none", label=m)
    for k, s in enumerate(scen):
        ax.plot([], [], "s", color=COLORS[cycle[k % 6]], ls="none", label=s)
    ax.set_xlabel(_label(metric_a))
    ax.set_ylabel(_label(metric_b))
    ax.legend(fontsize=7, loc="best", ncol=2)
    if rho is not None:
        ax.set_title(f"{len(pairs_df)} (model, scenario) pairs; Spearman ρ = {rho:+.2f}", fontsize=9)
    return fig
