"""The sparsity conjecture's examples (theory/quasi_homogeneous/sparsity.py)."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from theory.quasi_homogeneous import plots
from theory.quasi_homogeneous import robustness as rb
from theory.quasi_homogeneous import sparsity as sp


def test_necessary_data_needs_both_paths():
    X, y = sp.necessary_data()
    z = y[:, None] * X
    assert z[:, 0].min() < 0 and z[:, 1].min() < 0  # neither feature separates alone
    lim = rb.qh_limit(X, y)
    assert lim["uses_x1"]
    assert lim["a"] == pytest.approx(1 / 0.6) and lim["w"] == pytest.approx(0.8 / 0.6)
    assert np.all(z @ np.array([lim["a"], lim["w"]]) >= 1 - 1e-12)


def test_trap_keeps_a_exactly():
    X, y = rb.two_feature_data(10, 0.3, seed=0)
    pred = sp.trap_prediction(X, y)
    run = sp.run_trap(X, y, [0.0], steps=100, progress=False)
    assert np.all(run["theta"][0, :, 1:] == 0.0)  # u = v = 0 is invariant
    at = sp.normalised_a(run)[0, -1]
    assert at == pytest.approx(pred["a_trap"], rel=1e-12)


def test_escape_time_is_exact_for_one_point():
    # one point z = (p, r): the weights are 1, a = pτ and R = rτ, so σ² e^{2rτ} r = p² τ
    p, r = 1.5, 0.6
    X, y = np.array([[p, r]]), np.array([1.0])
    sig = np.array([1e-8, 1e-32])
    tau = sp.escape_time(X, y, sig)
    assert np.allclose(sig**2 * np.exp(2 * r * tau) * r, p * p * tau, rtol=1e-6)
    with pytest.raises(ValueError, match="sigma"):
        sp.escape_time(X, y, np.array([0.0]))


def test_escape_delay_approaches_its_asymptote():
    X, y = rb.two_feature_data(10, 0.3, seed=0)
    pred = sp.trap_prediction(X, y)
    t = sp.escape_time(X, y, np.array([1e-200, 1e-300]), tau_max=3000.0)
    slope = (t[1] - t[0]) / np.log(1e200)
    assert slope == pytest.approx(1 / (2 * pred["r_star"]), rel=0.03)


def test_escape_is_delayed_by_small_seeds():
    X, y = rb.two_feature_data(10, 0.3, seed=0)
    pred = sp.trap_prediction(X, y)
    run = sp.run_trap(X, y, [1e-2, 1e-8], steps=400, progress=False)
    cross = sp.crossing_tau(run, X, y, pred["index"])
    assert np.all(np.isfinite(cross)) and cross[1] > cross[0]
    at = sp.normalised_a(run)[:, -1]
    assert np.all(at < 1e-3)  # both escape within this budget: a is discarded


def test_crossing_tau_interpolates():
    X, y = rb.two_feature_data(4, 0.5, seed=0)
    z = y[:, None] * X
    i = 1
    tau = np.array([[0.0, 1.0, 2.0]])
    a = np.array([[1.0, 1.0, 1.0]])
    w = np.array([[0.0, 0.5, 1.5]]) * z[i, 0] / z[i, 1]
    run = {"tau": tau, "beta": np.stack([a, w], -1)}
    assert sp.crossing_tau(run, X, y, i)[0] == pytest.approx(1.5)


def test_balanced_init_validation():
    assert sp.balanced_init([0.0, 2.0]).tolist() == [[0.0, 0.0, 0.0], [0.0, 2.0, 2.0]]
    with pytest.raises(ValueError, match="sigmas"):
        sp.balanced_init([-1.0])
    with pytest.raises(ValueError, match="x₁ alone"):
        sp.trap_prediction(*sp.necessary_data())


def test_sparsity_figure_renders():
    X, y = rb.two_feature_data(6, 0.3, seed=0)
    run = sp.run_trap(X, y, [1e-2, 0.0], steps=20, progress=False)
    fig = plots.sparsity_figure({"discard": (run, 0.0)},
                                trap={"run": run, "sigmas": [1e-2, 0.0], "a_trap": 1.0,
                                      "tau_pred": np.array([5.0])})
    assert len(fig.axes) == 2
    matplotlib.pyplot.close(fig)
