"""Robustness of the asymmetric max-margin limit (theory/quasi_homogeneous/robustness.py, plots.py)."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from scipy.optimize import linprog

from theory.quasi_homogeneous import plots
from theory.quasi_homogeneous import robustness as rb


def _grid_svm_margin(X, y, n=200_001):
    z = y[:, None] * X
    phi = np.linspace(-np.pi, np.pi, n)
    u = np.stack([np.cos(phi), np.sin(phi)], 1)
    return (u @ z.T).min(1).max()


@pytest.mark.parametrize("m2", [-0.3, 0.05, 1.0])
def test_svm_limit_is_the_max_margin(m2):
    X, y = rb.two_feature_data(12, m2, seed=3)
    beta, margin = rb.svm_limit(X, y)
    assert np.isclose(np.linalg.norm(beta), 1.0)
    assert margin == pytest.approx(rb.radius(X, y, beta), abs=1e-12)
    n = 200_001
    grid = _grid_svm_margin(X, y, n)
    lipschitz = np.linalg.norm(X, axis=1).max()  # min_i z_i·u(φ) is max‖z‖-Lipschitz in φ
    assert grid <= margin + 1e-12 and margin - grid <= lipschitz * np.pi / (n - 1)


def test_qh_limit_discards_a_when_x2_separates():
    X, y = rb.two_feature_data(16, 0.05, seed=0)
    lim = rb.qh_limit(X, y)
    assert lim["a"] == 0.0 and not lim["uses_x1"]
    assert lim["radius"] == pytest.approx(0.05)
    assert lim["w"] == pytest.approx(1 / 0.05)
    assert rb.svm_limit(X, y)[1] > 1.0  # the homogeneous model keeps the large margin


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_qh_limit_matches_a_linear_programme(seed):
    X, y = rb.two_feature_data(10, -0.2, seed=seed)
    z = y[:, None] * X
    lp = linprog([1.0, 0.0], A_ub=-z, b_ub=-np.ones(len(z)), bounds=[(None, None)] * 2)
    lim = rb.qh_limit(X, y)
    assert lp.status == 0
    assert lim["a"] == pytest.approx(lp.x[0], rel=1e-7)
    assert rb.path_limit(X, y, 1, 2)["radius"] == pytest.approx(lim["radius"], abs=1e-7)


def test_path_limit_special_cases():
    X, y = rb.two_feature_data(16, 0.05, seed=0)
    assert rb.path_limit(X, y, 1, 1)["radius"] == pytest.approx(rb.svm_limit(X, y)[1], abs=1e-8)
    out = rb.path_limit(X, y, 2, 1)  # x₂'s path now has the highest rate: it is discarded
    assert np.allclose(out["beta"], [1.0, 0.0]) and out["radius"] == pytest.approx(1.0)
    assert rb.path_limit(X, y, 1, 3)["radius"] == pytest.approx(0.05, abs=1e-9)


def test_models_are_quasi_homogeneous():
    qh, lin = rb.qh_model(), rb.linear_model()
    assert np.allclose(qh.rates, [1.0, 0.5, 0.5]) and np.allclose(lin.rates, [1.0, 1.0])
    X = torch.randn(5, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    for m in (qh, lin):
        th = m.init(3, seed=1)
        lhs = m.f(X, m.scale(th, 0.7))
        assert torch.allclose(lhs, np.exp(0.7) * m.f(X, th), rtol=1e-12)
        assert np.allclose(rb.function_weights(m, th) @ X.numpy().T, m.f(X, th).numpy())


@pytest.mark.parametrize("which", ["qh", "linear"])
def test_log_loss_derivatives_match_autograd(which):
    m = rb.qh_model() if which == "qh" else rb.linear_model()
    X, y = rb.two_feature_data(8, -0.1, seed=2)
    th = m.init(3, seed=4)
    g, H = rb.log_loss_derivatives(m, X, y, th)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    f = lambda t: torch.logsumexp(-yt * m.f(Xt, t), -1)  # noqa: E731
    for s in range(3):
        assert torch.allclose(torch.autograd.functional.jacobian(f, th[s]), g[s], atol=1e-12)
        assert torch.allclose(torch.autograd.functional.hessian(f, th[s]), H[s], atol=1e-12)


def test_training_linear_approaches_svm_and_is_batch_independent():
    X, y = rb.two_feature_data(12, 0.05, seed=0)
    lin = rb.linear_model()
    th0 = lin.init(3, seed=0, scale=0.5)
    run = rb.train_loss_normalised(lin, X, y, th0, steps=300, progress=False)
    beta_svm = rb.svm_limit(X, y)[0]
    b = run["beta"]
    cos = (b @ beta_svm) / np.linalg.norm(b, axis=-1)
    assert np.all(cos[:, -1] > cos[:, 1]) and np.all(1 - cos[:, -1] < 1e-3)
    assert np.all(np.diff(run["tau"], axis=1) > 0)
    alone = rb.train_loss_normalised(lin, X, y, th0[1:2], steps=300, progress=False)
    assert np.array_equal(alone["theta"][0], run["theta"][1])


def test_training_qh_discards_a():
    X, y = rb.two_feature_data(12, 0.3, seed=0)
    qh = rb.qh_model()
    run = rb.train_loss_normalised(qh, X, y, qh.init(2, seed=0, scale=0.5), steps=300, progress=False)
    at = run["beta"][:, -1, 0] / run["q_min"][:, -1]
    assert np.all(at < 1e-3)
    w = run["beta"][:, -1, 1] / run["q_min"][:, -1]
    assert np.allclose(w, rb.qh_limit(X, y)["w"], rtol=1e-3)


@pytest.mark.parametrize("which", ["qh", "linear"])
def test_attack_finds_the_exact_radius(which):
    m = rb.qh_model() if which == "qh" else rb.linear_model()
    X, y = rb.two_feature_data(6, 0.1, seed=1)
    th = m.init(3, seed=2)
    beta = rb.function_weights(m, th)
    # a misclassified point needs no perturbation: radius max(y β·x, 0)/‖β‖
    exact = np.maximum(beta @ (y[:, None] * X).T, 0) / np.linalg.norm(beta, axis=1, keepdims=True)
    assert exact.min() == 0 and exact.max() > 0  # both kinds of points are tested
    eps_max = 2 * float(exact.max()) + 1.0
    found = rb.l2_attack(m, X, y, th, eps_max=eps_max)
    assert np.allclose(found, exact, atol=eps_max * 2.0**-35)


def test_attack_run_shapes():
    X, y = rb.two_feature_data(6, 0.1, seed=1)
    m = rb.linear_model()
    run = rb.train_loss_normalised(m, X, y, m.init(2, seed=0), steps=30, n_record=10, progress=False)
    att = rb.attack_run(m, X, y, run, every=4)
    T = run["steps"].size
    assert att["index"][-1] == T - 1 and att["radius"].shape == (2, att["index"].size)
    assert np.allclose(att["found"], att["exact"], atol=4.0 * 2.0**-35)


def test_validation():
    X, y = rb.two_feature_data(6, 0.1, seed=1)
    with pytest.raises(ValueError, match="y must hold labels"):
        rb.qh_limit(X, np.array([1, -1, 2, 1, -1, 1]))
    with pytest.raises(ValueError, match="X must have shape"):
        rb.svm_limit(X[:, :1], y)
    with pytest.raises(ValueError, match="not separable"):
        rb.qh_limit(np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([1, -1]))
    with pytest.raises(ValueError, match="not linearly separable"):
        rb.svm_limit(np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([1, -1]))
    with pytest.raises(ValueError, match="margin_x1"):
        rb.two_feature_data(6, 0.1, margin_x1=-1.0)
    with pytest.raises(TypeError, match="model"):
        rb.train_loss_normalised(rb.mixed_depth(2, 1), X, y, torch.zeros(1, 4), steps=2)
    with pytest.raises(ValueError, match="theta0"):
        rb.train_loss_normalised(rb.qh_model(), X, y, torch.zeros(1, 2), steps=2)
    with pytest.raises(ValueError, match="depth_x1"):
        rb.path_limit(X, y, 0, 1)


def test_explorer_grid_and_corners():
    ex = plots.limit_explorer
    assert ex.n_frames <= 64
    for kw in ex.corners():
        fig = ex(**kw)
        assert fig.axes[0].get_xlabel() and fig.axes[1].get_ylabel()
        matplotlib.pyplot.close(fig)


def test_figures_render():
    X, y = rb.two_feature_data(8, 0.1, seed=0)
    runs = {"linear": rb.train_loss_normalised(rb.linear_model(), X, y, rb.linear_model().init(2, seed=0),
                                               steps=20, n_record=5, progress=False),
            "quasi-homogeneous": rb.train_loss_normalised(rb.qh_model(), X, y, rb.qh_model().init(2, seed=0),
                                                          steps=20, n_record=5, progress=False)}
    radii = {k: {"tau": r["tau"], "radius": np.ones_like(r["q_min"])} for k, r in runs.items()}
    fig = plots.robustness_figure(X, y, runs, radii, {"linear": 1.0, "quasi-homogeneous": 0.1})
    assert len(fig.axes) == 3
    matplotlib.pyplot.close(fig)


def test_qh_limit_agrees_with_the_slsqp_programme():
    # the theorem page's programme (maxmargin.solve_max_margin, SLSQP) on its own data
    from theory.quasi_homogeneous import maxmargin as mm

    X, y = mm.theorem_data()
    lim = rb.qh_limit(X, y)
    sol = mm.solve_max_margin(rb.qh_model(), X, y, n_starts=2)
    a, u, v = sol.theta
    assert lim["a"] == pytest.approx(a, rel=1e-6) and lim["w"] == pytest.approx(u * v, rel=1e-6)
