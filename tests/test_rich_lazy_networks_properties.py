"""Linear and two-layer ReLU networks: properties (hypothesis), batch independence, validation,
the page experiments at small size, the derivations, and the figures."""

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from theory.core import identity_holds  # noqa: E402
from theory.rich_lazy import network_derivation as nd  # noqa: E402
from theory.rich_lazy import network_plots as npl  # noqa: E402
from theory.rich_lazy.linear_networks import (aligned_modes_experiment, width_regime_experiment,  # noqa: E402
                                              aligned_two_layer_solution,
                                              conservation_experiment, conserved_matrices,
                                              linear_descent, linear_kernel_distance,
                                              linear_network_flow, linear_network_gd, square_flow,
                                              square_grid_experiment, square_init, square_metric,
                                              square_problem)
from theory.rich_lazy.two_layer import (fig1a_experiment, init_scales,  # noqa: E402
                                        kernel_distance_batched, linearised_descent,
                                        neuron_imbalance, phase_diagram, relu_descent,
                                        relu_ntk_gram, relu_student_init, tau_rich,
                                        teacher_student)

SETTINGS = settings(max_examples=25, deadline=None)


# ---- the kernel distance -----------------------------------------------------------------------

def _psd(seed, n, batch=()):
    A = np.random.default_rng(seed).normal(size=batch + (n, n))
    return A @ np.swapaxes(A, -1, -2) + 1e-3 * np.eye(n)


@SETTINGS
@given(seed=st.integers(0, 10**6), n=st.integers(1, 6), c0=st.floats(1e-3, 1e3),
       c=st.floats(1e-3, 1e3))
def test_kernel_distance_is_scale_invariant_and_zero_against_itself(seed, n, c0, c):
    K0, K = _psd(seed, n, (2,)), _psd(seed + 1, n, (2,))
    S = kernel_distance_batched(K0, K)
    np.testing.assert_allclose(kernel_distance_batched(c0 * K0, c * K), S, atol=1e-12)
    np.testing.assert_allclose(kernel_distance_batched(K, K), 0.0, atol=1e-12)
    np.testing.assert_allclose(kernel_distance_batched(K, c * K), 0.0, atol=1e-12)
    assert np.all(S >= -1e-12) and np.all(S <= 1 + 1e-12)


def test_kernel_distance_rejects_zero_kernels_and_mismatched_shapes():
    with pytest.raises(ValueError, match="K0 contains a zero kernel"):
        kernel_distance_batched(np.zeros((3, 3)), np.eye(3))
    with pytest.raises(ValueError, match="K contains a zero kernel"):
        kernel_distance_batched(np.eye(3), np.stack([np.eye(3), np.zeros((3, 3))]))
    with pytest.raises(ValueError, match=r"K0 and K must have the same last two axes.*\(3, 3\).*\(2, 2\)"):
        kernel_distance_batched(np.eye(3), np.eye(2))
    with pytest.raises(ValueError, match="batch shapes of K0"):
        kernel_distance_batched(np.ones((2, 3, 3)), np.ones((4, 3, 3)))
    with pytest.raises(ValueError, match="K0"):
        kernel_distance_batched(np.eye(3)[0], np.eye(3))


@SETTINGS
@given(seed=st.integers(0, 10**6), c=st.floats(1e-2, 1e2))
def test_linear_kernel_distance_is_invariant_under_eta_scale_and_zero_at_start(seed, c):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(5, 3))
    W0 = [rng.normal(size=(4, 3)), rng.normal(size=(2, 4))]
    W1 = [W + 0.3 * rng.normal(size=W.shape) for W in W0]
    etas = np.array([0.5, 2.0])
    S = linear_kernel_distance(X, W0, W1, etas)
    np.testing.assert_allclose(linear_kernel_distance(X, W0, W1, c * etas), S, atol=1e-12)
    np.testing.assert_allclose(linear_kernel_distance(X, W0, W0, etas), 0.0, atol=1e-12)


# ---- conservation laws -------------------------------------------------------------------------

@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10**6), widths=st.lists(st.integers(1, 4), min_size=3, max_size=4),
       etas=st.lists(st.floats(0.3, 2.0), min_size=3, max_size=3))
def test_conserved_matrices_stay_constant_along_the_flow(seed, widths, etas):
    rng = np.random.default_rng(seed)
    L = len(widths) - 1
    etas = np.array(etas[:L])
    X, Y = rng.normal(size=(6, widths[0])), rng.normal(size=(6, widths[-1]))
    Ws = [0.5 * rng.normal(size=(widths[l + 1], widths[l])) for l in range(L)]
    out = linear_network_flow([0.0, 0.5, 1.0], X, Y, Ws, etas)
    D0 = conserved_matrices(out[0], etas)
    for Wt in out[1:]:
        for A, B in zip(D0, conserved_matrices(Wt, etas)):
            assert np.max(np.abs(A - B)) < 1e-7


@SETTINGS
@given(tau=st.floats(0.01, 3.0), delta=st.floats(-3.0, 3.0), eta_a=st.floats(0.2, 5.0),
       eta_w=st.floats(0.2, 5.0))
def test_init_scales_realise_any_tau_and_delta(tau, delta, eta_a, eta_w):
    w, a = init_scales(tau, delta, eta_a=eta_a, eta_w=eta_w)
    assert a * w == pytest.approx(tau**2, rel=1e-10)
    assert eta_w * a**2 - eta_a * w**2 == pytest.approx(delta, abs=1e-10 * max(1.0, abs(delta)))


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10**6), perm_seed=st.integers(0, 10**6))
def test_ntk_gram_is_invariant_under_permuting_neurons(seed, perm_seed):
    rng = np.random.default_rng(seed)
    X, a, W = rng.normal(size=(5, 3)), rng.normal(size=(1, 6)), rng.normal(size=(1, 6, 3))
    p = np.random.default_rng(perm_seed).permutation(6)
    np.testing.assert_allclose(relu_ntk_gram(X, a[:, p], W[:, p]), relu_ntk_gram(X, a, W), atol=1e-12)


def test_derivations_hold_and_catch_a_wrong_law():
    res = nd.deep_delta_residuals((2, 2, 1, 2))
    assert res.shape == (2 * 2 + 1 * 1, 1) and identity_holds(res)
    assert identity_holds(nd.square_metric_residuals())
    assert identity_holds(nd.neuron_delta_rate(2, 2))
    # the residual machinery is not vacuous: the "balanced" combination without learning rates
    # is not conserved when η₁ ≠ η₂
    import sympy as sp
    w, a, x, r = sp.symbols("w a x r")
    e1, e2 = sp.Rational(1, 2), 2
    wd, ad = -e1 * a * x * r, -e2 * w * x * r
    assert not identity_holds(sp.expand(2 * a * ad - 2 * w * wd))
    with pytest.raises(TypeError, match="dims"):
        nd.deep_delta_residuals((2, 2))
    with pytest.raises(ValueError, match=r"dims\[1\]"):
        nd.deep_delta_residuals((2, 0, 2))


# ---- batch independence (bit for bit) ----------------------------------------------------------

def test_linear_descent_config_is_bit_identical_alone_and_in_a_batch():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(7, 3)), rng.normal(size=(7, 2))
    Ws = [rng.normal(size=(5, 4, 3)), rng.normal(size=(5, 2, 4))]
    big = linear_descent(X, Y, Ws, [0.7, 1.3], lr=1e-2, steps=40, record=[0, 10, 40])
    one = linear_descent(X, Y, [W[3:4] for W in Ws], [0.7, 1.3], lr=1e-2, steps=40,
                         record=[0, 10, 40])
    for name in ("W1", "W2", "train_loss", "delta_drift", "kernel_distance"):
        assert np.array_equal(one[name][0], big[name][3]), name


def test_relu_descent_config_is_bit_identical_alone_and_in_a_batch():
    ts = teacher_student(3, 12, [0, 1], n_test=7)
    a0, W0 = relu_student_init([0.2, 0.5, 1.0], [0.3, -0.2, 0.0], 6, 3, seeds=[4, 5, 6])
    A0, WW0 = np.stack([a0, a0]), np.stack([W0, W0])
    lr = np.array([[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]])
    big = relu_descent(ts.X, ts.y, A0, WW0, lr=lr, steps=30, record=[0, 5, 30],
                       X_test=ts.X_test, y_test=ts.y_test)
    one = relu_descent(ts.X[1], ts.y[1], a0[2:3], W0[2:3], lr=0.1, steps=30, record=[0, 5, 30],
                       X_test=ts.X_test[1], y_test=ts.y_test[1])
    for name in ("a", "W", "train_loss", "test_loss", "delta_drift", "kernel_distance"):
        assert np.array_equal(one[name][0], big[name][5]), name      # data set 1, run 2


# ---- validators reject non-finite input --------------------------------------------------------

def _non_finite_calls(bad):
    """(argument named in the error, call) for every public validator of the networks modules."""
    X, Y, W = np.eye(2), np.eye(2), [np.eye(2), np.eye(2)]
    ts = teacher_student(2, 4, [0], n_test=3)
    a0, W0 = relu_student_init(0.1, 0.0, 4, 2, 0)
    return [
        ("weights[0]", lambda: conserved_matrices([np.full((2, 2), bad), np.eye(2)], [1.0, 1.0])),
        ("etas", lambda: conserved_matrices(W, [1.0, bad])),
        ("dt", lambda: linear_network_gd(X, Y, W, [1.0, 1.0], dt=bad, steps=2)),
        ("X", lambda: linear_network_flow([0.0, 1.0], np.full((2, 2), bad), Y, W, [1.0, 1.0])),
        ("rtol", lambda: linear_network_flow([0.0, 1.0], X, Y, W, [1.0, 1.0], rtol=bad)),
        ("t", lambda: aligned_two_layer_solution([0.0, bad], np.eye(2), [1.0, 1.0], np.eye(2),
                                                 [1.0, 1.0], [1.0, 1.0])),
        ("lr", lambda: linear_descent(X, Y, W, [1.0, 1.0], lr=bad, steps=2)),
        ("Y", lambda: linear_descent(X, np.full((2, 2), bad), W, [1.0, 1.0], lr=0.1, steps=2)),
        ("beta0", lambda: square_init(np.full((2, 2), bad), 0.0)),
        ("delta", lambda: square_metric(np.eye(2), bad)),
        ("eta_1", lambda: square_metric(np.eye(2), 0.0, eta_1=bad)),
        ("atol", lambda: square_flow([0.0, 1.0], X, Y, np.eye(2), 0.0, atol=bad)),
        ("t_end", lambda: conservation_experiment(t_end=bad)),
        ("b0", lambda: aligned_modes_experiment(b0=bad)),
        ("taus", lambda: square_grid_experiment([0.1, bad], [0.0], 1)),
        ("singular_values", lambda: square_problem(singular_values=[1.0, 1.0, 1.0, bad])),
        ("tau", lambda: init_scales(bad, 0.0)),
        ("eta_a", lambda: init_scales(0.1, 0.0, eta_a=bad)),
        ("K0", lambda: kernel_distance_batched(np.full((2, 2), bad), np.eye(2))),
        ("K", lambda: kernel_distance_batched(np.eye(2), np.full((2, 2), bad))),
        ("W", lambda: neuron_imbalance(np.ones(2), np.full((2, 3), bad))),
        ("a", lambda: relu_ntk_gram(X, np.full((1, 2), bad), np.ones((1, 2, 2)))),
        ("r0", lambda: linearised_descent(np.eye(2), [bad, 0.0], lr=0.1, n=2, steps=[1])),
        ("lr", lambda: linearised_descent(np.eye(2), [1.0, 0.0], lr=bad, n=2, steps=[1])),
        ("S", lambda: tau_rich([0.1, bad], [0.1, 1.0], 0.01)),
        ("threshold", lambda: tau_rich([0.1, 0.01], [0.1, 1.0], bad)),
        ("lr", lambda: fig1a_experiment(lr=bad)),
        ("lr_scale", lambda: phase_diagram(lr_scale=bad)),
        ("y", lambda: relu_descent(ts.X[0], np.full(4, bad), a0, W0, lr=0.1, steps=2)),
        ("lr", lambda: relu_descent(ts.X[0], ts.y[0], a0, W0, lr=bad, steps=2)),
        ("delta", lambda: relu_student_init(0.1, bad, 4, 2, 0)),
        ("tau", lambda: npl.linear_explorer(delta=0.0, tau=bad)),
        ("delta", lambda: npl.relu_explorer(tau=0.1, delta=bad)),
        ("threshold", lambda: npl.phase_diagram_figure(_TINY_PD, threshold=bad)),
    ]


_TINY_PD = None


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_validators_reject_non_finite_input(bad):
    global _TINY_PD
    if _TINY_PD is None:
        _TINY_PD = phase_diagram(n_tau=2, n_seed=1, d=3, n=6, steps=10, m=4, n_test=5, n_records=2)
    for name, call in _non_finite_calls(bad):
        with pytest.raises(ValueError, match=rf"(^|\W){re.escape(name)}\W"):
            call()


def test_figures_reject_the_wrong_result_type():
    for fig_fn, arg in ((npl.phase_diagram_figure, "pd"), (npl.fig1a_figure, "exp"), (npl.fig5b_figure, "pd"),
                        (npl.square_grid_figure, "grid"), (npl.aligned_modes_figure, "res")):
        with pytest.raises(TypeError, match=arg):
            fig_fn(None)


# ---- the page experiments, small -----------------------------------------------------------------

def test_tau_rich_is_the_log_log_crossing():
    taus = np.logspace(-1, 0.3, 5)
    S = np.array([[0.3, 0.1, 0.02, 0.004, 1e-4],         # crosses 0.01 between τ_2 and τ_3
                  [0.3, 0.1, 0.05, 0.02, 0.011],         # above at the largest τ
                  [0.005, 0.004, 0.003, 0.002, 1e-3],    # never
                  [0.3, 0.001, 0.05, 0.001, 1e-4]])      # non-monotone: the LARGEST τ above
    got = tau_rich(S, taus, 0.01)
    f = np.log(0.02 / 0.01) / np.log(0.02 / 0.004)
    assert got[0] == pytest.approx(np.exp(np.log(taus[2]) + f * np.log(taus[3] / taus[2])), rel=1e-12)
    assert got[1] == pytest.approx(taus[-1]) and np.isnan(got[2])
    assert taus[2] < got[3] < taus[3]


def test_experiments_small(monkeypatch):
    cons = conservation_experiment(t_end=0.5, lrs=(2e-2, 1e-2))
    assert cons.flow_drift < 1e-8 and cons.moved > 0.01
    assert np.all((1.7 < cons.ratio) & (cons.ratio < 2.3))
    am = aligned_modes_experiment(t_end=2.0, lr=2e-3, record_every=250, n_fine=20)
    assert am.sv_gd.shape == (3, 5, 3) and am.sv_exact.shape == (3, 20, 3)
    assert np.all(am.beta_error < 5e-3) and am.delta_error[0] < 1e-10
    grid = square_grid_experiment([0.3, 1.0], [-1.0, 0.0, 1.0], 2, lr=5e-3, t_end=2.0, n_records=4)
    assert grid.kernel_distance.shape == (2, 3, 2, 5) and grid.t_fit.shape == (2, 3, 2)
    assert grid.init_delta_error < 1e-8 and grid.kernel_error < 1e-2 and grid.beta_error < 2e-2
    np.testing.assert_array_equal(grid.kernel_distance[..., 0], 0.0)
    fig = npl.square_grid_figure(grid)
    assert isinstance(fig, Figure)
    plt.close(fig)
    fig = npl.aligned_modes_figure(am)
    assert isinstance(fig, Figure)
    plt.close(fig)
    wr = width_regime_experiment((-2.0, 0.0, 2.0), steps=600, lr=0.02)
    assert wr.S_t.shape == (2, 3, wr.t.size) and wr.t_fit.shape == (2, 3)
    lazy, late = wr.sides()
    assert list(lazy) == [2, 0] and list(late) == [0, 2]
    assert np.all(wr.S_end[[0, 1], lazy] < 0.1 * wr.S_end[[0, 1], late])   # Sec. 4, p. 7
    np.testing.assert_allclose(wr.S_t[..., 0], 0.0, atol=1e-12)
    fig = npl.width_regime_figure(wr)
    assert isinstance(fig, Figure)
    plt.close(fig)
    with pytest.raises(TypeError, match="w must be"):
        npl.width_regime_figure(None)


def test_relu_experiments_small():
    e = fig1a_experiment(seeds=(0, 1), steps=200, n_records=10, n_test=30)
    assert e.S_end.shape == (2, 4) and e.lin_loss.shape == (2, 4, e.result.steps.size)
    # the lazy run (τ = 2) follows its linearisation far more closely than the small balanced one
    assert np.all(e.lin_gap[:, 1] < e.lin_gap[:, 0])
    np.testing.assert_allclose(e.lin_loss[..., 0], e.metric("train_loss")[..., 0], rtol=1e-12)
    pd = phase_diagram(n_tau=3, n_seed=2, d=4, n=15, steps=60, n_test=20, n_records=3)
    assert pd.S.shape == (3, 3) and pd.S_t.shape == (3, 3, pd.steps.size) and pd.train.shape == (2, 3, 3)
    assert pd.tau_rich(0.01).shape == (3,)
    for grid in (pd.hamming_t, pd.param_t, pd.relative_param_t):
        assert grid.shape == (3, 3, pd.steps.size) and np.all(grid[..., 0] == 0) and np.all(grid >= 0)
    assert np.all(pd.hamming_t <= 1) and "Hamming" in pd.fig5b_summary()
    for fig in (npl.fig1a_figure(e, seed_index=1), npl.phase_diagram_figure(pd), npl.fig5b_figure(pd)):
        assert isinstance(fig, Figure)
        plt.close(fig)
    with pytest.raises(ValueError, match="seed_index"):
        npl.fig1a_figure(e, seed_index=2)


def test_relu_explorer_frames_come_from_one_batched_run():
    index, out = npl._relu_explorer_runs()
    assert len(index) == 25 and out[1].shape[0] == 25
    fig = npl.relu_explorer(tau=0.3, delta=-0.5)
    assert isinstance(fig, Figure)
    plt.close(fig)
    assert npl._relu_explorer_runs.cache_info().misses == 1
