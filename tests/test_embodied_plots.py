"""theory.embodied.plots: the figures and the chapter's explorer, drawn from small synthetic results
(the explorer's own stand-in is exercised by tests/test_explorers.py)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from theory.embodied import plots as P  # noqa: E402
from theory.embodied.data import Trajectory  # noqa: E402
from theory.embodied.judges import power_grid, summary  # noqa: E402

ARENA = (0.0, 1.0, 0.0, 1.0)
DT = 0.1


def walk(seed, T=3001, smooth=0.9):
    """A reflected random walk in the unit box (smooth: AR(1) velocity)."""
    rng = np.random.default_rng(seed)
    v, x, out = np.zeros(2), np.array([0.5, 0.5]), np.empty((T, 2))
    for k in range(T):
        v = smooth * v + 0.02 * rng.standard_normal(2)
        x = x + v
        x = np.where(x < 0, -x, x)
        x = np.where(x > 1, 2 - x, x)
        v = np.where((x <= 0) | (x >= 1), -v, v)
        out[k] = np.clip(x, 0, 1)
    return Trajectory(t=DT * np.arange(T), xy=out, dt=DT, arena=ARENA, source=f"walk{seed}")


@pytest.fixture(scope="module")
def page():
    traj = {"living": walk(0), "real": walk(1), "fitted": walk(2), "ratinabox": walk(3, smooth=0.95),
            "brownian": walk(4, smooth=0.0), "forager": walk(5, smooth=0.99)}
    budgets = [60 * b for b in P.EXPLORER_BUDGETS_MIN]
    cands = {k: v for k, v in traj.items() if k != "living"}
    res = power_grid(cands, traj["living"], budgets, judges=("features", "mmd"), n_repeats=2, n_permutations=19)
    return res, traj


@pytest.fixture
def handed(page):
    res, traj = page
    yield P.use_in_explorer(res, traj)
    P._EXPLORER.clear()


def _texts(fig):
    return " ".join(t.get_text() for ax in fig.axes for t in [ax.title, ax.xaxis.label, ax.yaxis.label]) + \
        " " + (fig._suptitle.get_text() if fig._suptitle else "")


def test_explorer_draws_the_handed_over_results(handed, page):
    res, _ = page
    for kw in handed.corners():
        if kw["judge"] == "network":
            continue
        fig = handed(**kw)
        r = res[kw["candidate"], kw["judge"]]
        i = r.at(60 * kw["budget"])
        text = _texts(fig)
        assert f"p = {r.p_value[i, 0]:.3g}" in text and "stand-in" not in text
        assert any(f"{r.statistic[i, 0]:.3g}" in t.get_text() for t in fig.axes[0].get_legend().get_texts())
        plt.close(fig)
    fig = handed(candidate="real", judge="network", budget=4.0)   # a judge the page did not run
    assert "not in the stand-in" in " ".join(t.get_text() for t in fig.axes[0].texts)
    plt.close(fig)


def test_explorer_without_a_candidates_path_says_so(page):
    """Results handed over for some candidates only: the others draw a note, not a KeyError."""
    res, traj = page
    only = {k: v for k, v in res.items() if k[0] == "fitted"}
    exp = P.use_in_explorer(only, {"fitted": traj["fitted"], "living": traj["living"]})
    try:
        fig = exp(candidate="real", judge="features", budget=0.5)
        assert "no path handed over" in " ".join(t.get_text() for t in fig.axes[1].texts)
        assert fig.axes[2].has_data()
        plt.close(fig)
    finally:
        P._EXPLORER.clear()


def test_use_in_explorer_validates(page):
    res, traj = page
    with pytest.raises(ValueError, match="living"):
        P.use_in_explorer(res, {k: v for k, v in traj.items() if k != "living"})
    with pytest.raises(ValueError, match="candidates"):
        P.use_in_explorer({("oracle", "mmd"): res["real", "mmd"]}, traj)
    short = power_grid({"real": traj["real"]}, traj["living"], [30.0], judges=("mmd",), n_repeats=1,
                       n_permutations=5)
    with pytest.raises(ValueError, match="budget_s"):
        P.use_in_explorer(short, traj)
    with pytest.raises(TypeError, match="PowerResult"):
        P.use_in_explorer({("real", "mmd"): 0.5}, traj)
    assert not P._EXPLORER


def test_power_and_trajectory_figures(page):
    res, traj = page
    fig = P.power_figure(res)
    assert len(fig.axes) == 4   # the two judges run: statistic and rejection rate
    assert len(fig.legends) == 1 and len(fig.legends[0].get_texts()) == 5
    labels = [ax.yaxis.label.get_text() for ax in fig.axes]
    assert "held-out AUC" in labels and "MMD²ᵤ" in labels
    assert all(ax.xaxis.label.get_text() == "minutes of behaviour per animal" for ax in fig.axes[2:])
    plt.close(fig)
    fig = P.trajectories_figure(traj, seconds=30)
    assert sum(ax.get_visible() for ax in fig.axes) == 6
    assert "living rat (held-out half): 30 s" in _texts(fig)
    plt.close(fig)
    with pytest.raises(TypeError, match="trajectories"):
        P.trajectories_figure([])
    with pytest.raises(ValueError, match="judges"):
        P.power_figure(res, judges=("network",))


def test_summary_has_one_row_per_candidate_judge_and_budget(page):
    res, _ = page
    df = summary(res)
    assert len(df) == 5 * 2 * 4
    row = df[(df.candidate == "brownian") & (df.judge == "mmd") & (df.minutes == 4.0)].iloc[0]
    r = res["brownian", "mmd"]
    assert row.rejection_rate == r.rejection_rate[-1] and row.stat_mean == pytest.approx(r.statistic[-1].mean())
    assert row.n_windows == 60 and row.statistic == "MMD²"
    with pytest.raises(ValueError, match="judge_kw"):
        power_grid({"real": page[1]["real"]}, page[1]["living"], [60.0], judge_kw={"network": 1, "x": {}})
