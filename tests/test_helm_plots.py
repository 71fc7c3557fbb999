"""theory.helm.plots: the ranking behind the explorer (directions, bias mean, not measured),
the explorer on a handed-over table, and the leaderboard figures."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from theory.helm import plots  # noqa: E402
from theory.helm.evaluate import pairs, win_rates  # noqa: E402


def table():
    cols = pd.MultiIndex.from_tuples([("sentiment", "accuracy"), ("sentiment", "ece_10_bin"),
                                      ("language_modeling", "accuracy"),
                                      ("language_modeling", "bits_per_byte"),
                                      ("open_generation", "bias_representation_gender"),
                                      ("open_generation", "bias_association_gender_adjective"),
                                      ("open_generation", "toxic_frac")], names=["scenario", "metric"])
    return pd.DataFrame([[0.7, 0.10, 1.5, 1.5, np.nan, np.nan, 0.0],
                         [0.9, 0.20, 2.0, 2.0, 0.3, 0.1, 0.1],
                         [np.nan, np.nan, np.nan, np.nan, 0.1, 0.5, 0.1]],
                        index=pd.Index(["x", "y", "z"], name="model"), columns=cols)


def test_ranking_orders_by_direction_and_lists_unmeasured_models_last():
    r = plots.ranking(table(), "accuracy", "sentiment")
    assert list(r["model"]) == ["y", "x", "z"] and list(r["measured"]) == [True, True, False]
    assert r.attrs["higher_is_better"] and r.attrs["label"] == "accuracy"
    lm = plots.ranking(table(), "accuracy", "language_modeling")      # bits per byte: lower first
    assert list(lm["model"][:2]) == ["x", "y"] and not lm.attrs["higher_is_better"]
    assert lm.attrs["label"] == "bits per byte"
    cal = plots.ranking(table(), "calibration", "sentiment")
    assert list(cal["model"]) == ["x", "y", "z"]
    bias = plots.ranking(table(), "bias", "open_generation")          # mean of the two TV scores
    assert list(bias["model"]) == ["y", "z", "x"]
    assert bias["value"][0] == pytest.approx(0.2) and bias["value"][1] == pytest.approx(0.3)
    assert "mean of 2 bias scores" in bias.attrs["label"]
    none = plots.ranking(table(), "fairness", "sentiment")
    assert not none["measured"].any() and none.attrs["label"] is None
    absent = plots.ranking(table(), "accuracy", "knowledge")
    assert not absent["measured"].any() and "no model measured" in absent.attrs["label"]


def test_explorer_draws_the_handed_over_table_at_its_corners():
    exp = plots.use_in_explorer(table())
    assert exp is plots.leaderboard_explorer
    assert exp.controls["metric"] == plots.EXPLORER_METRICS and len(plots.EXPLORER_METRICS) == 7
    assert exp.n_frames <= 64
    try:
        for corner in exp.corners():
            fig = exp(**corner)
            assert isinstance(fig, Figure)
            labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
            assert sorted(labels) == ["x", "y", "z"]
            plt.close(fig)
        fig = exp(metric="accuracy", scenario="sentiment")
        texts = [t.get_text() for t in fig.axes[0].texts]
        assert texts.count("not measured") == 1 and "0.9" in texts
        plt.close(fig)
    finally:
        plots._EXPLORER.clear()


def test_leaderboard_figures():
    t = table()
    for fig in (plots.heatmap_figure(t, "accuracy"), plots.win_rate_figure(win_rates(t)),
                plots.coverage_figure(t.notna().T.groupby(level=0).any().T),
                plots.accuracy_calibration_figure(pairs(t, "accuracy", "ece_10_bin"), rho=1.0)):
        assert isinstance(fig, Figure) and fig.axes[0].get_title()
        plt.close(fig)
    cov = plots.coverage_figure(pd.DataFrame([[True, False]], index=["m"], columns=["a", "b"]))
    assert "1 of 2" in cov.axes[0].get_title()
    plt.close(cov)


def test_bad_input():
    with pytest.raises(ValueError, match="metric must be one of"):
        plots.ranking(table(), "speed", "sentiment")
    with pytest.raises(TypeError, match="scenario"):
        plots.ranking(table(), "accuracy", 3)
    with pytest.raises(TypeError, match="DataFrame"):
        plots.use_in_explorer(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="scenario, metric"):
        plots.use_in_explorer(pd.DataFrame({"a": [1.0]}))
    with pytest.raises(TypeError, match="rates"):
        plots.win_rate_figure(pd.DataFrame())
    with pytest.raises(ValueError, match="no \\(model, scenario\\) pair"):
        plots.accuracy_calibration_figure(pd.DataFrame(columns=["model", "scenario", "accuracy", "ece_10_bin"]))
    assert math.isnan(plots.ranking(table(), "toxicity", "sentiment")["value"][0])
