"""Unit tests of theory.class_manifolds: the cutting-plane search, the sigmoid fit, the ground truth.

Recovery tolerance (stated before measuring, not tuned): the search's sigmoid-fit d*₅₀ lies within
1.0 dimension of the exact half-way crossing (D = 32, 32 repeats per d: the binomial noise of the
crossing is ≈ 0.15–0.3 dimensions).
"""

import math

import numpy as np
import pytest
import torch

from theory.core import cap_hit_probability
from theory.class_manifolds import (PlaneObjective, ball, ball_hit_probability, class_anchors,
                                    classifier_objective, crossing, cutting_plane_search, ellipsoid,
                                    exact_hit_probability, exact_plane_minimum, fit_sigmoid,
                                    interpolated_crossing, plane_basis, quadratic_objective,
                                    run_ground_truth, sigmoid, subspace_tube, union_of_subspaces)

D = 32
TOL = 1.0
GRID = [1, 4, 8, 12, 16] + list(range(18, 33))


@pytest.fixture(scope="module")
def convex_truth():
    targets = [ball(D, 0.5, 1.0), ellipsoid(np.linspace(0.3, 1.2, D), 1.5, width_samples=2000)]
    return run_ground_truth(targets, d_cuts=GRID, n_repeats=32, n_planes=1000)


@pytest.fixture(scope="module")
def subspace_truth():
    targets = [subspace_tube(D, 8, 0.02), union_of_subspaces(D, (4, 8), 0.02)]
    return run_ground_truth(targets, d_cuts=GRID, n_repeats=32, n_planes=1000, orthonormal=True)


# ------------------------------------------------------------------------------- exact answers
def test_ball_probability_is_the_cores_cap_probability_and_rises():
    for d in (1, 5, 16, 24, 31, 32):
        assert ball_hit_probability(d, D, 0.5, 1.0) == pytest.approx(
            cap_hit_probability(d, D, math.asin(0.5)), rel=1e-12, abs=1e-300)
    p = ball_hit_probability(np.linspace(0.5, D, 200), D, 0.5, 1.0)
    assert np.all(np.diff(p) > 0) and p[-1] == 1.0
    assert ball_hit_probability(3, D, 2.0, 1.0) == 1.0  # anchor inside


def test_exact_plane_minimum_monte_carlo_matches_the_closed_forms():
    import dataclasses
    for t in (ball(D, 0.5, 1.0), subspace_tube(D, 8, 0.3)):
        mc = dataclasses.replace(t, exact=None)
        p_mc, se = exact_hit_probability(mc, [20, 23, 24], n_planes=3000, seed=1)
        p = t.exact(np.array([20, 23, 24]))
        assert np.all(np.abs(p_mc - p) <= 4 * np.sqrt(p * (1 - p) / 3000) + 1e-3), (p_mc, p)
    # the tube: a plane below D − k meets a thin tube with probability O(ε^(D−k−d)), every plane from D − k does
    thin = subspace_tube(D, 8, 1e-6)
    assert thin.exact(23) < 1e-5 and thin.exact(22) < 1e-10 and thin.exact(24) == 1.0


# ---------------------------------------------------------------------------------- recovery
def test_recovers_ball_and_ellipsoid_d_star(convex_truth):
    table, search = convex_truth
    for name in table.target.values:
        row = table.sel(target=name)
        assert abs(float(row.measured_d50) - float(row.exact_d50)) <= TOL, (name, row.measured_d50.item(),
                                                                            row.exact_d50.item())
        # problem by problem the optimiser finds the intersection whenever one exists
        assert float(row.verdict_agreement) >= 0.98


def test_recovers_subspace_d_star(subspace_truth):
    table, _ = subspace_truth
    tube, union = table.target.values
    row = table.sel(target=tube)
    assert float(row.limit_d_star) == D - 8
    assert abs(float(row.measured_d50) - float(row.exact_d50)) <= TOL
    assert abs(float(row.measured_d50) - (D - 8)) <= TOL
    # the union of a 4- and an 8-dimensional subspace: d* = D − max k
    assert float(table.sel(target=union).limit_d_star) == D - 8
    assert abs(float(table.sel(target=union).measured_d50) - (D - 8)) <= TOL
    # below D − k − 1 a 2 %-of-R tube is never met
    p = table.sel(target=tube).measured_p.values
    assert np.all(p[np.asarray(GRID) < D - 9] == 0.0)


def test_best_score_non_decreasing_in_d_on_average(convex_truth):
    _, search = convex_truth
    p = search.best_score.mean(("repeat", "target")).values
    n = search.sizes["repeat"] * search.sizes["target"]
    slack = 3 * np.sqrt(2 * np.maximum(p * (1 - p), 1 / n) / n)
    assert np.all(np.diff(p) >= -slack[1:]), p
    assert p[0] == 0.0 and p[-1] == 1.0


# ---------------------------------------------------------------------------------- batching
def _mlp(D_in, seed=0):
    g = torch.Generator().manual_seed(seed)
    W1 = torch.randn(D_in, 16, generator=g, dtype=torch.float64) / math.sqrt(D_in)
    W2 = torch.randn(16, 4, generator=g, dtype=torch.float64) * 3.0
    return lambda x: torch.tanh(x @ W1) @ W2


@pytest.mark.parametrize("early_stop", [False, True])
def test_batched_search_equals_per_problem_runs(early_stop):
    Din = 12
    logits = _mlp(Din)
    sets = [0, (1, 2), 3]
    obj = classifier_objective(logits, sets, 4, Din)
    X = torch.randn(40, Din, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    y = torch.argmax(logits(X), 1).numpy()
    anchors = class_anchors(X, y, sets, 3, 4, seed=2)
    ds = [1, 3, 7, 12]
    kw = dict(steps=60, seed=5, early_stop=early_stop)
    batch = cutting_plane_search(obj, anchors, ds, 3, **kw)
    for t, s in enumerate(sets):
        one = classifier_objective(logits, [s], 4, Din)
        for r in (0, 2):
            for d in (1, 7, 12):
                alone = cutting_plane_search(one, anchors[t:t + 1, r:r + 1], [d], [r], **kw)
                for v in ("best_score", "min_loss", "final_loss", "n_steps"):
                    a = float(alone[v].item())
                    b = float(batch[v].sel(d_cut=d, repeat=r).isel(target=t))
                    assert abs(a - b) <= 1e-12 * max(1.0, abs(a)), (v, s, r, d, a, b)
    if early_stop:
        assert int(batch.n_steps.min()) < 60
    # chunking gives the same answer
    chunked = cutting_plane_search(obj, anchors, ds, 3, chunk_size=7, **kw)
    np.testing.assert_allclose(chunked.best_score.values, batch.best_score.values, rtol=0, atol=1e-12)


def test_classifier_objective_and_anchors():
    Din = 6
    W = torch.randn(Din, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    obj = classifier_objective(lambda x: x @ W, [(0, 1), 2], 4, Din)
    assert obj.keys == ("0+1", "2") and obj.loss_floor == pytest.approx((math.log(2), 0.0))
    x = torch.zeros(3, Din, dtype=torch.float64)  # uniform softmax
    loss, score = obj.fn(x, torch.tensor([0, 1, 0]))
    np.testing.assert_allclose(loss.numpy(), [math.log(4)] * 3, atol=1e-14)
    np.testing.assert_allclose(score.numpy(), [0.5, 0.25, 0.5], atol=1e-14)
    X = np.random.default_rng(0).normal(size=(30, Din))
    y = np.arange(30) % 4
    A = class_anchors(X, y, [(0, 1), 2], 5, 4)
    for i, s in enumerate([(0, 1), (2,)]):
        for r in range(5):
            row = int(np.flatnonzero(np.all(np.isclose(X, A[i, r].numpy()), axis=1))[0])
            assert y[row] not in s
    # at d = D the plane is the whole space: the search reaches high confidence
    res = cutting_plane_search(obj, A, [1, Din], 5, steps=150)
    assert float(res.best_score.sel(d_cut=Din).min()) > 0.9
    assert float(res.best_score.sel(d_cut=Din).mean()) >= float(res.best_score.sel(d_cut=1).mean())


def test_plane_basis_rows():
    M = plane_basis(0, 5, 1, "a", 20)
    np.testing.assert_allclose(M.norm(dim=1).numpy(), 1.0, atol=1e-14)
    Q = plane_basis(0, 5, 1, "a", 20, orthonormal=True)
    np.testing.assert_allclose((Q @ Q.T).numpy(), np.eye(5), atol=1e-13)
    # the same plane: Q's rows lie in the span of M's
    proj = Q @ torch.linalg.pinv(M) @ M
    np.testing.assert_allclose(proj.numpy(), Q.numpy(), atol=1e-12)
    assert not torch.equal(M, plane_basis(0, 5, 2, "a", 20))


# ------------------------------------------------------------------------------------- fit
def test_sigmoid_fit_recovers_known_parameters():
    d = np.array([1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64], float)
    true = (0.05, 0.9, 20.0, 0.3)
    p = sigmoid(d, *true)
    f = fit_sigmoid(d, p, 64)
    np.testing.assert_allclose([f.a, f.b, f.c, f.s], true, rtol=1e-5, atol=1e-6)
    assert f.d50 == pytest.approx(crossing(*true), rel=1e-6) and f.crosses and f.inside
    assert f.effective_dim == pytest.approx(64 - f.d50)
    # with noise: the delta-method error bar matches the spread of refits
    rng = np.random.default_rng(0)
    d50s, errs = [], []
    for _ in range(40):
        fn = fit_sigmoid(d, p + rng.normal(0, 0.02, d.size), 64, sigma=np.full(d.size, 0.02))
        d50s.append(fn.d50)
        errs.append(fn.d50_err)
    assert abs(np.mean(d50s) - crossing(*true)) < 3 * np.std(d50s) / math.sqrt(40) + 0.05
    assert 0.5 < np.median(errs) / np.std(d50s) < 2.0
    lo, hi = fn.d50_range
    assert lo <= fn.d50 <= hi


def test_sigmoid_fit_flags_a_curve_that_never_crosses():
    d = np.array([1, 2, 4, 8, 16, 32], float)
    f = fit_sigmoid(d, sigmoid(d, 0.0, 0.3, 8.0, 0.5), 32)
    assert not f.crosses and math.isnan(f.d50) and math.isnan(f.effective_dim)
    assert f.status == "never_reaches"
    f = fit_sigmoid(d, sigmoid(d, 0.6, 0.3, 8.0, 0.5), 32)
    assert not f.crosses and f.status == "always_above"
    assert math.isnan(crossing(0.0, 0.3, 8.0, 0.5))
    assert interpolated_crossing([1, 2, 3], [0.0, 0.2, 0.4]) != interpolated_crossing([1, 2, 3], [0.0, 0.2, 0.4])
    assert interpolated_crossing([1, 2, 3], [0.0, 0.4, 0.8]) == pytest.approx(2.25)


# ------------------------------------------------------------------------------ validation
def test_validation_errors():
    t = ball(8, 0.5, 1.0)
    obj = quadratic_objective([t])
    a = torch.from_numpy(t.anchor)
    with pytest.raises(ValueError, match="d_cuts"):
        cutting_plane_search(obj, a, [9], 2)
    with pytest.raises(ValueError, match="d_cuts"):
        cutting_plane_search(obj, a, [0, 3], 2)
    with pytest.raises(TypeError, match="d_cuts"):
        cutting_plane_search(obj, a, [2.5], 2)
    with pytest.raises(ValueError, match="anchors"):
        cutting_plane_search(obj, torch.full((8,), math.nan, dtype=torch.float64), [2], 2)
    with pytest.raises(ValueError, match="anchors"):
        cutting_plane_search(obj, torch.zeros(7, dtype=torch.float64), [2], 2)
    with pytest.raises(ValueError, match="anchors"):
        cutting_plane_search(obj, torch.zeros(3, 8, dtype=torch.float64), [2], 2)
    with pytest.raises(TypeError, match="anchors"):
        cutting_plane_search(obj, [0.0] * 8, [2], 2)
    with pytest.raises(TypeError, match="objective"):
        cutting_plane_search(lambda x, t: x, a, [2], 2)
    with pytest.raises(ValueError, match="adam"):
        cutting_plane_search(obj, a, [2], 2, adam="sgd")
    with pytest.raises(ValueError, match="repeats"):
        cutting_plane_search(obj, a, [2], [1, 1])
    with pytest.raises(ValueError, match="lr"):
        cutting_plane_search(obj, a, [2], 2, lr=0.0)
    with pytest.raises(TypeError, match="fn"):
        PlaneObjective(3, 8, ("a",))
    logits = lambda x: x[:, :3]  # noqa: E731
    with pytest.raises(ValueError, match="out of range"):
        classifier_objective(logits, [0, 3], 3, 8)
    with pytest.raises(ValueError, match="out of range"):
        classifier_objective(logits, [-1], 3, 8)
    with pytest.raises(TypeError, match="target_sets"):
        classifier_objective(logits, [1.5], 3, 8)
    with pytest.raises(ValueError, match="target_sets"):
        classifier_objective(logits, [(0, 1, 2)], 3, 8)
    with pytest.raises(TypeError, match="logits_fn"):
        classifier_objective(None, [0], 3, 8)
    X = np.zeros((5, 8))
    with pytest.raises(ValueError, match="out of range"):
        class_anchors(X, np.zeros(5, int), [4], 2, 3)
    with pytest.raises(ValueError, match="X must be finite"):
        class_anchors(np.full((5, 8), np.inf), np.ones(5, int), [0], 2, 3)
    with pytest.raises(ValueError, match="y must be"):
        class_anchors(X, np.zeros(4, int), [0], 2, 3)
    with pytest.raises(ValueError, match="no example"):
        class_anchors(X, np.zeros(5, int), [0], 2, 3)
    bad = classifier_objective(lambda x: x[:, :2], [0], 3, 8)
    with pytest.raises(ValueError, match="logits_fn"):
        cutting_plane_search(bad, torch.zeros(8, dtype=torch.float64), [2], 1, steps=1)
    with pytest.raises(ValueError, match="radius"):
        ball(8, 1.0, 1.0)
    with pytest.raises(ValueError, match="d must lie"):
        ball_hit_probability(9, 8, 0.5, 1.0)
    with pytest.raises(ValueError, match="ks"):
        union_of_subspaces(8, (4, 4), 0.1)
    with pytest.raises(ValueError, match="M must be"):
        exact_plane_minimum(t, np.zeros((2, 3, 7)))
    with pytest.raises(ValueError, match="at least 4"):
        fit_sigmoid([1, 2, 3], [0, 0.5, 1], 8)
    with pytest.raises(ValueError, match="d must be > 0"):
        fit_sigmoid([0, 1, 2, 3], [0, 0.2, 0.5, 1], 8)
    with pytest.raises(ValueError, match="level"):
        fit_sigmoid([1, 2, 3, 4], [0, 0.2, 0.5, 1], 8, level=1.0)


def test_sigmoid_fit_survives_a_step_and_degenerate_draws():
    d = np.array([1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64], float)
    p = np.where(d >= 4, 1.0, 0.0)
    f = fit_sigmoid(d, p, 64)
    assert not f.crosses or 3.0 <= f.d50 <= 4.0
    p = np.array([0.0, 0.01, 0.02, 0.02, 0.03, 0.8, 1, 1, 1, 1, 1, 1])
    f = fit_sigmoid(d, p, 64)
    assert f.crosses and 6.0 <= f.d50 <= 8.0
