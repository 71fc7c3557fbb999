"""Theorems B.6 and B.10 (theory.rich_lazy.mirror_flow): potentials, initialisations, checks."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import mpmath  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import sympy as sp  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from theory.core import identity_holds  # noqa: E402
from theory.rich_lazy import mirror_flow as mf  # noqa: E402
from theory.rich_lazy import network_plots as npl  # noqa: E402
from theory.rich_lazy.linear_networks import conserved_matrices, linear_network_flow  # noqa: E402


def test_symbolic_identities_and_limits_hold_and_a_wrong_potential_fails():
    assert identity_holds(mf.hyperbolic_entropy_identities())
    assert identity_holds(mf.hyperbolic_entropy_limits())
    assert identity_holds(mf.deep_bias_two_layer_identity())
    x, D = sp.Symbol("x", real=True), sp.Symbol("D", positive=True)
    wrong = sp.Rational(1, 2) * (2 * x * sp.asinh(2 * x / D) - sp.sqrt(4 * x**2 + D**2) + D)
    assert not identity_holds(sp.Matrix([sp.diff(wrong, x, 2) - 1 / sp.sqrt(4 * x**2 + D**2)]))


@pytest.mark.parametrize("delta", [-50.0, -1.0, -1e-3, 1e-3, 0.3, 1e4])
def test_hyperbolic_entropy_numeric_matches_symbolic_and_derivatives(delta):
    x = np.linspace(-3, 3, 13)
    q = mf.hyperbolic_entropy(x, delta)
    xs, ds = sp.Symbol("x", real=True), sp.Symbol("delta", real=True, nonzero=True)
    f = sp.lambdify((xs, ds), mf.q_delta_symbolic(xs, ds), "mpmath")
    with mpmath.workdps(40):                          # the reference at 40 digits (Eq. 119 as written)
        ref = np.array([float(f(mpmath.mpf(v), mpmath.mpf(delta))) for v in x])
    np.testing.assert_allclose(q, ref, rtol=1e-12, atol=1e-300)
    h = 1e-2 * min(1.0, abs(delta))                  # q_δ curves on the scale |δ| near 0
    second = (mf.hyperbolic_entropy(x + h, delta) - 2 * q + mf.hyperbolic_entropy(x - h, delta)) / h**2
    np.testing.assert_allclose(second, 1 / np.sqrt(4 * x**2 + delta**2), rtol=1e-3)
    assert np.all(q >= 0) and mf.hyperbolic_entropy(0.0, delta) == 0
    np.testing.assert_allclose(mf.hyperbolic_entropy(-x, delta), q, rtol=0, atol=0)


def test_hyperbolic_entropy_limits_numerically():
    x = np.array([0.3, 1.0, 2.0])
    np.testing.assert_allclose(1e8 * mf.hyperbolic_entropy(x, 1e8), x**2 / 2, rtol=1e-8)
    D = 1e-200
    np.testing.assert_allclose(mf.hyperbolic_entropy(x, D) / np.log(1 / D), x / 2, rtol=1e-2)
    with pytest.raises(ValueError, match="delta"):
        mf.hyperbolic_entropy(x, 0.0)


@pytest.mark.parametrize("delta,dims", [(0.7, (5, 3, 3)), (-0.7, (3, 3, 5)), (2.0, (4, 2, 3)),
                                        (-0.2, (6, 4, 2))])
def test_isotropic_two_layer_realises_delta_identity(delta, dims):
    d, h, c = dims
    W = mf.isotropic_two_layer(d, h, c, delta, seed=3)
    assert W[0].shape == (h, d) and W[1].shape == (c, h)
    np.testing.assert_allclose(conserved_matrices(W, [1.0, 1.0])[0], delta * np.eye(h), atol=1e-12)


def test_isotropic_two_layer_rejects_impossible_widths():
    with pytest.raises(ValueError, match="h ≤ c"):
        mf.isotropic_two_layer(5, 4, 3, 0.5)
    with pytest.raises(ValueError, match="h ≤ d"):
        mf.isotropic_two_layer(3, 4, 5, -0.5)
    with pytest.raises(ValueError, match="non-zero"):
        mf.isotropic_two_layer(3, 3, 3, 0.0)


def test_singular_value_rates_match_finite_differences_of_the_flow():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(7, 4)), rng.normal(size=(7, 3))
    W = [rng.normal(scale=0.5, size=(3, 4)), rng.normal(scale=0.5, size=(3, 3))]
    eps = 1e-5
    Wm, W0, Wp = linear_network_flow([1.0 - eps, 1.0, 1.0 + eps], X, Y, W, [1.0, 1.0], rtol=1e-12,
                                     atol=1e-14)
    lam, lam_dot, grad = mf.singular_value_rates(X, Y, W0)
    fd = (mf.singular_value_rates(X, Y, Wp)[0] - mf.singular_value_rates(X, Y, Wm)[0]) / (2 * eps)
    np.testing.assert_allclose(lam_dot, fd, rtol=1e-5, atol=1e-8)
    with pytest.raises(ValueError, match="shapes"):
        mf.singular_value_rates(X, Y, [W[0], W[1][:, :2]])


def test_mirror_flow_experiment_small_holds_and_the_control_fails():
    m = mf.mirror_flow_experiment((-0.5, 0.5), t_end=1.0, n_t=3)
    assert m.error.shape == (2, 3) and m.lam.shape == (2, 3, 3)
    assert m.error.max() < 1e-10 and m.delta_error.max() < 1e-10 and m.fd_error.max() < 1e-5
    assert m.control_error.min() > 1e-2
    assert "mirror-flow rate error" in m.summary()
    fig = npl.mirror_flow_figure(m)
    assert isinstance(fig, Figure)
    plt.close(fig)
    with pytest.raises(ValueError, match="non-zero"):
        mf.mirror_flow_experiment((0.0, 1.0))


@pytest.mark.parametrize("L", [1, 2, 4])
@pytest.mark.parametrize("delta", [0.0, -0.3])
def test_deep_isotropic_init_has_the_theorems_conserved_quantities(L, delta):
    beta0 = np.array([0.3, -0.1, 0.2, 0.05])
    Ws = mf.deep_isotropic_init(beta0, L, delta, seed=2)
    assert len(Ws) == L + 1 and Ws[-1].shape == (1, 4)
    prod = Ws[0]
    for W in Ws[1:]:
        prod = W @ prod
    np.testing.assert_allclose(prod[0], beta0, atol=1e-13)            # β = W_1ᵀ⋯W_LᵀA = β₀
    cons = conserved_matrices(Ws, np.ones(L + 1))
    for C in cons[:-1]:
        np.testing.assert_allclose(C, 0.0, atol=1e-13)                 # W_{l+1}ᵀW_{l+1} = W_lW_lᵀ
    np.testing.assert_allclose(cons[-1], delta * np.eye(4), atol=1e-13)   # AAᵀ − W_LW_Lᵀ = δI
    with pytest.raises(ValueError, match="delta"):
        mf.deep_isotropic_init(beta0, L, 0.1)


@pytest.mark.parametrize("L", [1, 2, 3])
def test_deep_rich_interpolant_is_the_constrained_minimum(L):
    rng = np.random.default_rng(L)
    X, y = rng.normal(size=(2, 5)), rng.normal(size=2)
    beta0 = 0.1 * rng.normal(size=5)
    beta, res = mf.deep_rich_interpolant(X, y, beta0, L)
    assert res < 1e-12
    N = np.linalg.svd(X)[2][2:].T                                     # null space of X
    q0 = mf.deep_bias_potential(beta, beta0, L)
    for _ in range(50):                                                # feasible perturbations
        z = 1e-3 * rng.normal(size=N.shape[1])
        assert mf.deep_bias_potential(beta + N @ z, beta0, L) > q0
    g = np.linalg.norm(beta) ** (1 / (L + 1)) * beta / np.linalg.norm(beta) \
        - np.linalg.norm(beta0) ** (-L / (L + 1)) * beta0                  # ∇Q ⟂ null space
    np.testing.assert_allclose(N.T @ g, 0.0, atol=1e-10)
    mn = mf.min_norm_interpolant(X, y)
    np.testing.assert_allclose(X @ mn, y, atol=1e-12)
    assert np.linalg.norm(beta - mn) > 1e-3


def test_deep_bias_experiment_small():
    b = mf.deep_bias_experiment(depths=(1, 2), deltas=(0.0, -1e-2), d=4, n=2, t_end=1000.0)
    assert b.error.shape == (2, 2) and b.wrong_depth.shape == (2, 2)
    assert b.error[:, 0].max() < 1e-6 and b.residual.max() < 1e-6
    assert np.all(b.error[:, 1] > b.error[:, 0]) and b.mn_gap.min() > 1e-2
    assert b.cons_error.max() < 1e-10 and "L = 2" in b.summary()
    fig = npl.deep_bias_figure(b)
    assert isinstance(fig, Figure)
    plt.close(fig)
    for kw, match in (({"deltas": (0.1,)}, "deltas"), ({"n": 6, "d": 6}, "underdetermined"),
                      ({"depths": (0,)}, "depths"), ({"b0": 0.0}, "b0")):
        with pytest.raises(ValueError, match=match):
            mf.deep_bias_experiment(**kw)


def test_figures_reject_the_wrong_result_type():
    for fig_fn, arg in ((npl.mirror_flow_figure, "check"), (npl.deep_bias_figure, "bias")):
        with pytest.raises(TypeError, match=arg):
            fig_fn(None)
