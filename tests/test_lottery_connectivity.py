"""theory.lottery.connectivity: successive-level barriers, the iff statistics, the noise copies and
the perturbation experiment, on a tiny IMP run (one seed, three levels)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from theory.lottery import MLP, IMPSettings, barrier, interpolation_curve, load_split, matching, run_imp  # noqa: E402
from theory.lottery import connectivity as cn  # noqa: E402


@pytest.fixture(scope="module")
def tiny():
    net = MLP((64, 8, 10))
    split = load_split("digits", n_train=300)
    settings = IMPSettings(steps=60, lr=0.05, batch_size=16, levels=3)
    run = run_imp(net, split, settings, seeds=(0,), rewind_steps=(0, 5), progress=False)
    return net, split, run


def test_barrier_with_itself_is_exactly_zero(tiny):
    net, split, run = tiny
    theta = run.theta.reshape(-1, net.n_params)
    c = np.linspace(0, 1, 11)
    for X, y in ((split.X_train, split.y_train), (split.X_test, split.y_test)):
        E = cn.segment_errors(net, theta, theta, X, y, c)
        assert np.all(E == E[:, :1])
        assert np.all(barrier(E, c) == 0.0)


def test_segment_errors_match_the_spine(tiny):
    net, split, run = tiny
    a, b = run.theta[:, 1].double(), run.theta[:, 2].double()
    c = np.linspace(0, 1, 7)
    _, ref = interpolation_curve(net, a, b, split.X_test, split.y_test, c)
    ours = cn.segment_errors(net, a, b, split.X_test, split.y_test, c)
    assert np.array_equal(ours, ref)


def test_successive_lmc_shapes_endpoints_and_matching(tiny):
    net, split, run = tiny
    lmc = cn.successive_lmc(run, split, np.linspace(0, 1, 5))
    G, L = run.theta.shape[0], run.theta.shape[1] - 1
    assert lmc.curves["test"].shape == (G, L, 5) and lmc.barriers["train"].shape == (G, L)
    # the segment's ends are the two levels' own solutions, evaluated as the run evaluated them
    assert np.array_equal(lmc.curves["test"][..., 0], run.test_error[:, :-1])
    assert np.array_equal(lmc.curves["test"][..., -1], run.test_error[:, 1:])
    assert np.array_equal(lmc.curves["train"][..., -1], run.train_error[:, 1:])
    assert np.all(lmc.barriers["test"] >= 0)
    m = matching(run, 0.01)
    assert np.array_equal(lmc.matching, m[:, :-1] & m[:, 1:])
    assert np.allclose(lmc.sparsity, 1 - 0.8 ** np.arange(1, L + 1), atol=1 / net.n_weights)
    with pytest.raises(TypeError, match="run must be an IMPRun"):
        cn.successive_lmc("run", split)
    with pytest.raises(TypeError, match="split must be"):
        cn.successive_lmc(run, None)


def test_iff_statistics_counts_both_directions():
    B = np.array([0.0, 0.001, 0.05, 0.0, 0.2, 0.3])
    M = np.array([True, True, True, False, False, False])
    st = cn.iff_statistics(B, M, 0.01)
    assert (st["matching_connected"], st["matching_barrier"], st["failing_connected"],
            st["failing_barrier"]) == (2, 1, 1, 2)
    assert st["p_connected_given_matching"] == pytest.approx(2 / 3)
    assert st["p_matching_given_connected"] == pytest.approx(2 / 3)
    sub = cn.iff_statistics(B, M, 0.01, where=np.array([False, False, False, True, True, True]))
    assert sub["n"] == 3 and np.isnan(sub["p_connected_given_matching"])
    assert sub["p_matching_given_connected"] == 0.0
    with pytest.raises(ValueError, match="matching_pairs must be booleans"):
        cn.iff_statistics(B, M.astype(int), 0.01)
    with pytest.raises(ValueError, match="tolerance"):
        cn.iff_statistics(B, M, -1.0)
    with pytest.raises(ValueError, match="where must be booleans"):
        cn.iff_statistics(B, M, 0.01, where=np.ones(3, bool))


def test_noise_copies_and_the_tolerance_rule(tiny):
    net, split, run = tiny
    nc = cn.noise_copies(run, split, n_copies=2, coefficients=np.linspace(0, 1, 5))
    R = len(nc["rows"])
    assert R == 2 and nc["test"].shape == (R, 2) and np.all(nc["test"] >= 0)
    tol = cn.noise_tolerance(nc, split)
    n_test = len(split.y_test)
    assert tol["test"] >= nc["test"].max() and tol["test"] * n_test == pytest.approx(round(tol["test"] * n_test))
    assert tol["test"] - nc["test"].max() < 1 / n_test
    assert cn.example_tolerance(2, split) == pytest.approx(2 / n_test)
    with pytest.raises(ValueError, match="which must be"):
        cn.example_tolerance(2, split, "val")
    with pytest.raises(ValueError, match="n_copies"):
        cn.noise_copies(run, split, n_copies=0)


def test_perturbation_moves_the_start_by_s_times_the_successive_distance(tiny):
    net, split, run = tiny
    pert = cn.perturbation_study(run, split, levels=[1, 3], multiples=(1.0, 4.0),
                                 coefficients=np.linspace(0, 1, 5), progress=False)
    rows = np.flatnonzero(run.sweep.column("pruning") == "magnitude")
    assert np.array_equal(pert.rows, rows)
    D = net.n_weights
    w_k = run.rewind_theta[rows, :D].double()
    for j, L in enumerate([1, 3]):
        d = torch.linalg.vector_norm((run.masks[rows, L - 1] - run.masks[rows, L]) * w_k, dim=1)
        assert np.allclose(pert.distance[:, j], d.numpy(), rtol=1e-12)
    assert np.allclose(pert.offset, pert.multiples * pert.distance[..., None], rtol=1e-10)
    assert pert.barriers["test"].shape == (len(rows), 2, 2) and np.all(pert.barriers["train"] >= 0)
    table = cn.robustness_table(pert, {"train": 0.01, "test": 0.01})
    assert len(table) == 4
    for bad in ([0], [4], [1.5], []):
        with pytest.raises(ValueError, match="levels must be"):
            cn.perturbation_study(run, split, levels=bad, progress=False)
    with pytest.raises(ValueError, match="multiples must be"):
        cn.perturbation_study(run, split, levels=[1], multiples=(0.0,), progress=False)


def test_tables_figures_and_explorer_guard(tiny):
    net, split, run = tiny
    lmc = cn.successive_lmc(run, split, np.linspace(0, 1, 5))
    tol = {"train": 0.01, "test": 0.01}
    tab = cn.iff_table(lmc, {"τ": tol}, 0.3)
    assert set(tab.index.get_level_values("pruning")) == {"magnitude", "random"}
    fig = cn.barrier_figure(lmc, tol, 0.3)
    assert len(fig.axes) == 3 and all(ax.has_data() for ax in fig.axes)
    plt.close(fig)
    with pytest.raises(ValueError, match="tolerance must be a dict"):
        cn.barrier_figure(lmc, 0.01, 0.3)
    with pytest.raises(ValueError, match="the explorer needs"):
        cn.use_in_explorer(lmc)      # three levels: fewer than the explorer's grid
    assert cn.lmc_explorer.n_frames <= 60
