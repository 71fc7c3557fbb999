"""Closed forms of the single neuron against an independent ODE reference and gradient descent."""

import numpy as np
import pytest

from theory.rich_lazy import (conserved_delta, downstream_limit, function_space_metric,
                              gradient_descent, gradient_descent_limit, gradient_flow_ode, implicit_bias, init_from_beta,
                              kernel_distance, kernel_distance_whitened, lazy_limit,
                              metric_coefficients, ntk_gram, riccati_nu, whitened_solution,
                              whitened_trajectory)


def _rotation(d, seed):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return q


def _grid():
    """δ ∈ {−3, −0.5, 0, 0.5, 3} × η_a/η_w ∈ {0.25, 1, 4} × initial conditions that put
    ν₀ = wᵀβ*/a on both sides of the stable fixed point, and negative a₀."""
    beta_star = np.array([0.6, -0.8, 0.0])  # s = 1
    cases = []
    for delta in (-3.0, -0.5, 0.0, 0.5, 3.0):
        for ratio in (0.25, 1.0, 4.0):
            eta_a, eta_w = np.sqrt(ratio), 1 / np.sqrt(ratio)
            for beta0 in (np.array([0.1, 0.0, 0.05]),    # small, nearly orthogonal
                          np.array([1.5, -2.0, 0.3]),    # past β*: ν₀ above the fixed point
                          np.array([-0.3, 0.4, 0.2])):   # anti-aligned
                for sign in (1.0, -1.0):
                    a0, w0 = init_from_beta(beta0, delta, eta_a, eta_w)
                    cases.append((delta, eta_a, eta_w, sign * a0, sign * w0, beta_star))
    return cases


GRID = _grid()


@pytest.mark.parametrize("case", GRID, ids=[f"d{c[0]}_ea{c[1]:.2f}_a{c[3]:+.2f}_{i}"
                                            for i, c in enumerate(GRID)])
def test_closed_form_matches_solve_ivp(case):
    delta, eta_a, eta_w, a0, w0, beta_star = case
    X = _rotation(3, 1)  # XᵀX = I
    y = X @ beta_star
    t = np.linspace(0, 12, 61)
    cf = whitened_trajectory(t, X, y, a0, w0, eta_a, eta_w)
    ref = gradient_flow_ode(t, X, y, a0, w0, eta_a, eta_w, rtol=1e-10, atol=1e-12)
    q_cf = np.concatenate([cf.a[:, None], cf.w], axis=1)
    q_ref = np.concatenate([ref.a[:, None], ref.w], axis=1)
    rel = np.linalg.norm(q_cf - q_ref, axis=1) / np.linalg.norm(q_ref, axis=1)
    assert rel.max() < 1e-8, rel.max()
    np.testing.assert_allclose(cf.loss, ref.loss, rtol=1e-8, atol=1e-14)
    assert abs(cf.delta - delta) < 1e-12 * max(1, abs(delta))


def test_nu_on_both_sides_of_fixed_point_in_grid():
    """The grid really contains ν₀ above and below the stable root ν₊ of the Riccati equation."""
    above = below = False
    for delta, eta_a, eta_w, a0, w0, bs in GRID:
        nu0 = w0 @ bs / a0
        nu_plus = (-delta + np.sqrt(delta**2 + 4 * eta_a * eta_w)) / (2 * eta_a)
        above |= nu0 > nu_plus
        below |= nu0 < nu_plus
    assert above and below
    assert any(c[3] < 0 for c in GRID) and any(c[0] == 0 for c in GRID)


def test_delta_conserved_exactly_by_closed_form():
    t = np.linspace(0, 50, 501)
    for delta, eta_a, eta_w, a0, w0, bs in GRID:
        tr = whitened_solution(t, a0, w0, bs, eta_a, eta_w)
        drift = conserved_delta(tr.a, tr.w, eta_a, eta_w) - delta
        assert np.max(np.abs(drift)) < 1e-12 * max(1.0, abs(delta), np.max(tr.a**2))


def test_delta_conserved_to_order_step_by_gradient_descent():
    X, y = np.eye(2), np.array([0.0, 1.0])
    deltas = np.array([-4.0, -1.0, 0.0, 1.0, 4.0])
    a0, w0 = init_from_beta(np.array([1.0, 0.0]), deltas)
    drifts = []
    for dt in (4e-3, 2e-3, 1e-3):
        steps = int(round(5 / dt))
        gd = gradient_descent(X, y, a0, w0, dt=dt, steps=steps, record_every=steps)
        drifts.append(np.max(np.abs(conserved_delta(gd.a[:, -1], gd.w[:, -1]) - deltas)))
    drifts = np.array(drifts)
    ratios = drifts[:-1] / drifts[1:]
    assert np.all(np.abs(ratios - 2) < 0.1), ratios  # halving dt halves the drift: O(dt)
    assert drifts[-1] < 5e-3


def test_gradient_descent_converges_to_closed_form():
    X, y = np.eye(2), np.array([0.0, 1.0])
    deltas = np.array([-2.0, 0.0, 2.0])
    a0, w0 = init_from_beta(np.array([0.5, 0.1]), deltas)
    errs = []
    for dt in (2e-3, 1e-3):
        steps = int(round(8 / dt))
        gd = gradient_descent(X, y, a0, w0, dt=dt, steps=steps, record_every=steps // 40)
        cf = whitened_trajectory(gd.t, X, y, a0, w0)
        errs.append(np.max(np.abs(gd.beta - cf.beta)))
    assert errs[1] < 2e-3 and 1.8 < errs[0] / errs[1] < 2.2, errs


@pytest.mark.parametrize("delta", [1e-8, -1e-8, 1e-4, -1e-4, 1.0, -1.0, 1e4, -1e4, 1e8, -1e8, 0.0])
@pytest.mark.parametrize("eta_ratio", [0.01, 1.0, 100.0])
def test_finite_over_extreme_delta_and_time(delta, eta_ratio):
    eta_a, eta_w = np.sqrt(eta_ratio), 1 / np.sqrt(eta_ratio)
    beta_star = np.array([0.0, 1.0, 0.0])
    a0, w0 = init_from_beta(np.array([0.3, 0.1, -0.2]), delta, eta_a, eta_w)
    t = np.concatenate([[0.0], np.logspace(-12, 14, 300)])
    tr = whitened_solution(t, a0, w0, beta_star, eta_a, eta_w)
    for name in ("a", "w", "beta", "loss"):
        assert np.all(np.isfinite(getattr(tr, name))), name
    assert tr.loss[-1] < 1e-12
    scale = max(1.0, abs(delta), np.max(eta_w * tr.a**2))
    assert np.max(np.abs(conserved_delta(tr.a, tr.w, eta_a, eta_w) - delta)) < 1e-12 * scale
    assert np.all(np.diff(tr.loss) <= 1e-15 * max(1.0, tr.loss[0]))  # gradient flow descends


def test_degenerate_initial_conditions():
    bs = np.array([1.0, 0.0])
    t = np.linspace(0, 5, 11)
    # a₀ = 0, w₀ ⊥ β*: a saddle, nothing moves
    tr = whitened_solution(t, 0.0, np.array([0.0, 1.0]), bs)
    assert np.all(tr.a == 0) and np.allclose(tr.w, [0.0, 1.0])
    # the origin is a fixed point; zero target
    tr = whitened_solution(t, 0.0, np.zeros(2), bs)
    assert np.all(tr.beta == 0)
    tr = whitened_solution(t, 0.5, np.array([0.3, 0.2]), np.zeros(2))
    ref = gradient_flow_ode(t, np.eye(2), np.zeros(2), 0.5, np.array([0.3, 0.2]))
    np.testing.assert_allclose(tr.a, ref.a, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(tr.w, ref.w, rtol=1e-8, atol=1e-12)


def test_batched_matches_single():
    bs = np.array([0.3, 1.0])
    a0 = np.array([0.5, -1.0, 2.0])
    w0 = np.array([[0.1, 0.2], [1.0, -0.5], [0.0, 0.3]])
    eta_a = np.array([1.0, 2.0, 0.5])
    t = np.linspace(0, 3, 7)
    batch = whitened_solution(t, a0, w0, bs, eta_a, 1.0)
    for i in range(3):
        # one trajectory takes the scalar-coefficient path (_whitened_one): equal to rounding,
        # relative to each array's scale (a component that is 0 in one may be 1e-17 in the other)
        one = whitened_solution(t, a0[i], w0[i], bs, eta_a[i], 1.0)
        for name in ("a", "w", "beta", "loss"):
            x, y = getattr(batch, name)[i], getattr(one, name)
            np.testing.assert_allclose(x, y, rtol=0, atol=1e-14 * np.abs(y).max(), err_msg=name)
    assert batch.a.shape == (3, 7) and batch.w.shape == (3, 7, 2) and batch.loss.shape == (3, 7)


def test_riccati_matches_closed_form():
    bs = np.array([0.0, 2.0])
    for delta in (-1.5, 0.0, 2.0):
        for nu_side in (0.1, 5.0):  # below and above the fixed point; a stays positive
            beta0 = np.array([1.0, nu_side])
            a0, w0 = init_from_beta(beta0, delta)
            t = np.linspace(0, 4, 41)
            tr = whitened_solution(t, a0, w0, bs)
            nu = riccati_nu(t, w0 @ bs / a0, 2.0, delta)
            np.testing.assert_allclose(nu, tr.w @ bs / tr.a, rtol=1e-9)


def test_metric_and_kernels():
    rng = np.random.default_rng(0)
    X = _rotation(4, 3)
    for delta in (-2.0, 0.0, 3.0):
        a, w = init_from_beta(rng.normal(size=4), delta, 0.7, 1.3)
        beta = a * w
        M = function_space_metric(beta, delta, 0.7, 1.3)
        np.testing.assert_allclose(M, 1.3 * a**2 * np.eye(4) + 0.7 * np.outer(w, w), rtol=1e-12)
        u, v = metric_coefficients(np.linalg.norm(beta), delta, 0.7, 1.3)
        assert abs(u - v - delta) < 1e-12 * max(1, abs(delta))
        a1, w1 = a * 1.3, w + 0.2
        K0, K1 = ntk_gram(X, a, w, 0.7, 1.3), ntk_gram(X, a1, w1, 0.7, 1.3)
        S = kernel_distance(K0, K1)
        S_w = kernel_distance_whitened(a, w, np.array([a1]), np.array([w1]), 0.7, 1.3)[0]
        assert abs(S - S_w) < 1e-12 and 0 <= S <= 1
        assert abs(kernel_distance(K0, K0)) < 1e-14


def test_implicit_bias_against_long_gradient_descent():
    X = np.array([[0.5, 1.0, 0.0], [0.0, 0.3, 1.0]])  # n = 2 < d = 3, not orthonormal
    y = np.array([1.1, -0.4])
    beta0 = np.array([0.3, -0.2, 0.4])
    deltas = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    a0, w0 = init_from_beta(beta0, deltas)
    lim = gradient_descent_limit(X, y, a0, w0, dt=2e-3, levels=2, time=40.0)
    exact = np.array([implicit_bias(X, y, a0[i], w0[i]).beta_inf for i in range(len(deltas))])
    assert lim.loss.max() < 1e-20  # converged
    err = np.abs(lim.beta - exact).max(axis=(1, 2))
    assert 1.8 < err[0] / err[1] < 2.2, err  # GD's own O(dt) bias from the drift of δ
    np.testing.assert_allclose(lim.extrapolated, exact, atol=1e-6)


def test_implicit_bias_limits():
    X = np.array([[0.5, 1.0]])
    y = np.array([1.1 * (0.25 + 1.0)])  # y = 1.1·X·X ᵀ as in the paper's Fig. 4b set-up
    beta0 = np.array([0.4, -0.1])
    lazy = lazy_limit(X, y, beta0)
    down = downstream_limit(X, y, beta0)
    a0, w0 = init_from_beta(beta0, 1e6)
    np.testing.assert_allclose(implicit_bias(X, y, a0, w0).beta_inf, lazy, atol=1e-5)
    a0, w0 = init_from_beta(beta0, -1e6)
    np.testing.assert_allclose(implicit_bias(X, y, a0, w0).beta_inf, down, atol=1e-5)
    # n = 1: the downstream limit lies on the ray through β₀
    tau = (np.linalg.pinv(X) @ y) @ (np.linalg.pinv(X) @ y) / ((np.linalg.pinv(X) @ y) @ beta0)
    np.testing.assert_allclose(down, tau * beta0, rtol=1e-12)
    # the lazy limit is the interpolant closest to β₀
    assert np.allclose(X @ lazy, y)
    null = np.array([1.0, -0.5]) / np.linalg.norm([1.0, -0.5])
    assert abs((lazy - beta0) @ null) < 1e-12


def test_implicit_bias_sign_flip_orthonormal_rows():
    """b ≤ 0: a crosses zero; the sign read from the flow matches the exact trajectory."""
    X = np.array([[1.0, 0.0, 0.0]])
    y = np.array([1.0])
    a0, w0 = -0.05, np.array([2.0, 0.3, 0.1])  # δ < 0 and a pulled through zero
    ib = implicit_bias(X, y, a0, w0)
    # in the row space the dynamics are the whitened ones with δ_row = b (exact solver)
    tr = whitened_solution(np.array([0.0, 1e3]), a0, w0[:1], np.array([1.0]))
    assert np.sign(tr.a[-1]) == ib.sign == 1.0
    np.testing.assert_allclose(ib.a_inf, tr.a[-1], rtol=1e-10)


def test_one_trajectory_path_matches_batched_kernel():
    """whitened_solution on one trajectory (scalar coefficients, _whitened_one) against the
    batched kernel on the same start, to rounding, over random starts of every kind the fast
    kernel takes (ρ = 0, δ = 0, both signs of δ, d from 1 to 5, unequal rates, an offset), and
    the cases it hands back (β* = 0) through the batched path."""
    from theory.rich_lazy import exact

    rng = np.random.default_rng(7)
    t = np.linspace(0, 20, 50)
    took = 0
    for i in range(200):
        d = int(rng.integers(1, 6))
        a0, w0, bs = float(rng.normal()), rng.normal(size=d), rng.normal(size=d)
        ea, ew = float(np.exp(rng.normal())), float(np.exp(rng.normal()))
        if i % 7 == 0:
            w0 = bs * rng.normal()                                   # ρ = 0
        if i % 11 == 0:
            a0 = float(np.sqrt(ea / ew) * np.linalg.norm(w0))       # δ = 0 to rounding
        if i % 13 == 0:
            bs = np.zeros(d)                                         # s = 0
        one = whitened_solution(t, a0, w0, bs, ea, ew, loss_offset=0.2)
        took += exact._whitened_one(t, a0, w0, bs, ea, ew, 0.2) is not None
        ref = exact._whitened_kernel(t, np.array([a0]), w0[None], bs[None], np.array([ea]),
                                     np.array([ew]), np.array([0.2]), (1,))
        for name in ("a", "w", "beta", "loss"):
            x, y = getattr(one, name), getattr(ref, name)[0]
            assert x.shape == y.shape
            np.testing.assert_allclose(x, y, rtol=0, atol=1e-13 * np.abs(y).max(), err_msg=name)
        assert one.delta.shape == () and one.eta_a.shape == () and one.eta_w.shape == ()
    assert 150 < took < 200                   # most take the scalar path, some are handed back
