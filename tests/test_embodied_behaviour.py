"""theory.embodied.behaviour: the candidates and generalisation pages' analyses and figures."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from theory.embodied import behaviour as B  # noqa: E402
from theory.embodied import candidates as C  # noqa: E402
from theory.embodied import data as D  # noqa: E402

BOX = (0.0, 1.0, 0.0, 1.0)


@pytest.fixture(scope="module")
def small():
    real = C.brownian(120, BOX, 0.1, seed=0)
    trajs = {"brownian": C.brownian(120, BOX, 0.1, seed=1), "forager": C.forager(120, BOX, 0, speed=0.1)}
    return real, trajs


def test_step_statistics_known_path():
    tr = D.Trajectory(t=[0, 0.1, 0.2, 0.3], xy=[[0.5, 0.5], [0.6, 0.5], [0.6, 0.6], [0.6, 0.7]], dt=0.1,
                      arena=BOX, source="x")
    st = B.step_statistics(tr)
    np.testing.assert_allclose(st["speed"], [1.0, 1.0, 1.0])
    np.testing.assert_allclose(st["turn"], [np.pi / 2, 0.0], atol=1e-12)
    np.testing.assert_allclose(st["wall"], [0.5, 0.4, 0.4, 0.3])


def test_distance_table(small):
    real, trajs = small
    t = B.distance_table(real, {**trajs, "same": real})
    assert list(t.index) == ["brownian", "forager", "same"]
    np.testing.assert_allclose(t.loc["same"].values, 0.0, atol=1e-12)
    # the forager's turns (≈ 0) are far from a random walk's; another Brownian seed is close
    assert t.loc["forager", "W1 turn (rad)"] > 5 * t.loc["brownian", "W1 turn (rad)"]
    with pytest.raises(ValueError, match="arena"):
        B.distance_table(real, {"other": C.brownian(10, (0, 2, 0, 1), 0.1, 0)})
    with pytest.raises(TypeError, match="trajs"):
        B.distance_table(real, [real])


def test_feature_table_and_effects(small):
    real, trajs = small
    ft = B.feature_table({"real": real, **trajs}, 4.0)
    assert ft.loc["real", "windows"] == 30 and set(D.FEATURE_NAMES) <= set(ft.columns)
    ef = B.effects(real, {**trajs, "same": real}, 4.0)
    np.testing.assert_allclose(ef.loc["same"].values, 0.0, atol=1e-12)
    assert ef.loc["forager", "turn_cos_mean"] > 3          # straight lines: cos Δφ ≈ 1


def test_judge_table(small):
    real, trajs = small
    jt = B.judge_table(trajs, real, 4.0, judges=("mmd", "features"), seeds=(0, 1), n_permutations=49)
    assert jt.loc[("forager", "features"), "statistic"] > 0.95
    assert jt.loc[("forager", "mmd"), "rejected"] == 1.0
    assert 0.0 <= jt.loc[("brownian", "features"), "p_median"] <= 1.0
    with pytest.raises(ValueError, match="seeds"):
        B.judge_table(trajs, real, 4.0, seeds=())


def test_likelihood_table():
    a, b = D.split_halves(D.load_real("sargolini"))
    pol = C.fit_policy(a)
    lt = B.likelihood_table({"fitted": pol, "brownian": C.Brownian.fit(a)}, {"held-out": b})
    assert lt.loc["fitted", "held-out"] == pytest.approx(pol.log_likelihood(b))
    assert lt.loc["brownian", "held-out"] == pytest.approx(C.Brownian.fit(a).log_likelihood(b, first=pol.first))
    assert lt.loc["fitted", "held-out"] > lt.loc["brownian", "held-out"]


def test_figures(small):
    real, trajs = small
    for fig in (B.trajectories_figure({"real": real, **trajs}, 30), B.statistics_figure(real, trajs),
                B.effects_figure(B.effects(real, trajs, 4.0))):
        assert fig.axes
        plt.close(fig)
    with pytest.raises(ValueError, match="seconds"):
        B.trajectories_figure(trajs, 0)


def test_transfer_small():
    st = B.transfer((20.0,), n_repeats=1, n_permutations=19, judges=("mmd",), sim_T_s=60.0, fit_s=400.0)
    assert st.sims["box policy in the arena"].arena == D.REAL["tanni"]["arena"]
    assert st.policy_box.arena == BOX and st.policy_arena.arena == D.REAL["tanni"]["arena"]
    pt = B.power_table(st)
    assert len(pt) == len(B.Transfer.SETTINGS)
    # the arena's own policy explains the arena better than the box's
    assert st.likelihood.loc["arena policy", "arena rat, second half"] > st.likelihood.loc["box policy", "arena rat, second half"]
    fig = B.transfer_figure(st, judge="mmd")
    assert len(fig.axes) == 3
    plt.close(fig)
    with pytest.raises(TypeError, match="study"):
        B.transfer_figure(None)
