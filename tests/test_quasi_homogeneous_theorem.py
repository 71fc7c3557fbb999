"""The asymmetric max-margin programme (maxmargin.py) and the loss-normalised flow (flow.py)."""

import numpy as np
import pytest
import torch

from theory.quasi_homogeneous import flow, maxmargin as mm, models

X, Y = mm.theorem_data(16, seed=0)
TOY = models.mixed_depth()


@pytest.fixture(scope="module")
def solved():
    return (mm.solve_max_margin(TOY, X, Y, n_starts=3),
            mm.solve_max_margin(TOY, X, Y, n_starts=3, norm="euclidean"))


def test_normalise_puts_theta_on_the_constraint_set_by_the_qh_scaling():
    th = torch.tensor([[2.0, 0.7, 1.1], [0.3, -0.2, -0.5]], dtype=torch.float64)
    n = mm.normalise(TOY, X, Y, th)
    assert torch.allclose(mm.margins(TOY, X, Y, n).min(-1).values, torch.ones(2, dtype=torch.float64), atol=1e-12)
    alpha = -torch.log(mm.margins(TOY, X, Y, th).min(-1).values)
    assert torch.allclose(n, TOY.scale(th, alpha), atol=1e-14)
    with pytest.raises(ValueError, match="does not separate"):
        mm.normalise(TOY, X, Y, torch.tensor([-1.0, 0.0, 0.0], dtype=torch.float64))


def test_labels_and_shapes_are_validated():
    with pytest.raises(ValueError, match="y must hold labels"):
        mm.margins(TOY, X, (Y + 1) / 2, torch.zeros(3, dtype=torch.float64))
    with pytest.raises(TypeError, match="y must"):
        mm.check_labels(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="theta must have shape"):
        mm.margins(TOY, X, Y, torch.zeros(4, dtype=torch.float64))
    with pytest.raises(ValueError, match="X must have shape"):
        mm.margins(TOY, X[:3], Y, torch.zeros(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="norm must be"):
        mm.norm_mask(TOY, "l1")
    with pytest.raises(ValueError, match="y must hold labels"):
        flow.normalised_flow(TOY, X, 2 * Y, TOY.init(2, seed=0), steps=5, progress=False)


def test_jacobian_matches_finite_differences():
    th = TOY.init(2, seed=3).double()
    J = mm.jacobian(TOY, X, Y, th)
    e = 1e-6 * torch.eye(3, dtype=torch.float64)
    fd = torch.stack([(mm.margins(TOY, X, Y, th + e[j]) - mm.margins(TOY, X, Y, th - e[j])) / 2e-6
                      for j in range(3)], -1)
    assert J.shape == (2, 16, 3) and torch.allclose(J, fd, atol=1e-8)


def test_toy_programme_matches_the_exact_vertex(solved):
    s, e = solved
    a, u, v = mm.canonical(TOY, torch.from_numpy(s.theta)).numpy()
    assert abs(a - 16 / 11) < 1e-6 and abs(u * v - 10 / 11) < 1e-6 and abs(u - v) < 1e-5
    assert s.kkt.stationarity < 1e-8 and abs(s.kkt.complementary) < 1e-6 and s.kkt.euler_gap < 1e-6
    assert np.flatnonzero(s.kkt.mu > 1e-8).tolist() == [0, 1]          # the two support points
    a, u, v = e.theta
    assert abs(a - 5 / 3) < 1e-6 and abs(u * v - 5 / 9) < 1e-6
    # the two programmes' solutions differ: each is not a KKT point of the other
    other = mm.kkt_residuals(TOY, X, Y, torch.from_numpy(e.theta))
    assert max(other.stationarity, other.complementary) > 0.1
    assert mm.angle(TOY, X, Y, torch.from_numpy(s.theta), torch.from_numpy(e.theta)) > 5


def test_angle_ignores_the_mirror_symmetry_and_the_scaling():
    th = torch.tensor([1.0, 0.8, 0.9], dtype=torch.float64)
    mirror = torch.tensor([1.0, -0.8, -0.9], dtype=torch.float64)
    assert mm.angle(TOY, X, Y, th, mirror) < 1e-6
    assert mm.angle(TOY, X, Y, th, TOY.scale(th, 2.5)) < 1e-6
    assert mm.angle(TOY, X, Y, th, torch.tensor([1.0, 0.1, 0.2], dtype=torch.float64)) > 1


def test_non_separable_data_is_a_value_error():
    Xb = np.array([[1.0, 0.5], [1.0, 0.5], [0.2, -1.0]])
    with pytest.raises(ValueError, match="not separable"):
        mm.solve_max_margin(TOY, Xb, np.array([1.0, -1.0, 1.0]), n_starts=1, maxiter=40)


def test_tiny_mlp_with_biases_and_normalisation_reaches_a_kkt_point():
    net = models.mlp((2, 4, 1), bias=True, norm=True)
    s = mm.solve_max_margin(net, X, Y, n_starts=3, seed=1)
    assert s.feasible.any() and s.kkt.feasibility < 1e-7
    assert s.kkt.stationarity < 1e-5 and abs(s.kkt.complementary) < 1e-5


def test_mlp_with_biases_discards_its_output_bias():
    # λ_max = 1 is the output bias alone; the rest separates at no cost, so the minimum is 0
    net = models.mlp((2, 3, 1), bias=True)
    s = mm.solve_max_margin(net, X, Y, n_starts=2, seed=0, tie_break=False)
    assert net.max_rate_mask.sum() == 1 and s.value < 1e-8 and s.feasible.any()


def test_flow_is_batch_independent_and_converges_to_the_programme(solved):
    th0 = TOY.init(3, seed=0, scale=0.1)
    short = flow.normalised_flow(TOY, X, Y, th0, steps=200, progress=False, n_record=10)
    alone = flow.normalised_flow(TOY, X, Y, th0[1:2], steps=200, progress=False, n_record=10)
    assert np.allclose(short.theta[1], alone.theta[0], rtol=1e-12, atol=1e-12)
    r = flow.normalised_flow(TOY, X, Y, th0, steps=800, progress=False, n_record=20)
    assert r.separated.all() and np.all(np.diff(r.tau, axis=1) > 0)
    ang = flow.angles_to(TOY, X, Y, r, solved[0].theta)
    assert ang[:, -1].max() < 1.0 and flow.angles_to(TOY, X, Y, r, solved[1].theta)[:, -1].min() > 5
    k = flow.kkt_along(TOY, X, Y, r)
    assert k["stationarity"][:, -1].max() < 1e-3 and np.all(np.isnan(k["stationarity"][~(r.q_min > 0)]))
    fall = flow.fall_ratio(r, k["complementary"], tau_from=10.0)
    assert fall.shape == (3,) and np.all(fall < 0.5)
    assert np.all(np.isnan(flow.fall_ratio(r, k["complementary"], tau_from=1e9)))
    fig = flow.theorem_figure(r, ang, ang, k, solution_gap=10.5)
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 2 * 3 + 1
    with pytest.raises(ValueError, match="angle_qh"):
        flow.theorem_figure(r, ang[:, :3], ang, k)
