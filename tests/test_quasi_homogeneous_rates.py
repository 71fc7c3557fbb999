"""theory.quasi_homogeneous.derivation and .rates: the identities, Λ from an architecture, the flow."""

import numpy as np
import pytest
import torch

from theory.quasi_homogeneous import derivation as dv
from theory.quasi_homogeneous.models import mixed_depth, mlp
from theory.quasi_homogeneous.rates import (euler_residual, find_rates, homogeneity_residual,
                                            rate_table, seminorm_figure, seminorm_trajectory,
                                            tanh_mlp)


@pytest.mark.parametrize("ident", dv.all_identities(), ids=lambda d: d.name)
def test_derivations_hold(ident):
    assert ident.holds()


def test_derivation_detects_wrong_rates():
    """The symbolic check can fail: Λ = I/L is not a set of rates for an MLP with biases."""
    ex = dv._mlp((2, 2, 1))
    ex.rates = {g: dv.sp.Rational(1, 2) for g in ex.rates}
    assert not dv.quasi_homogeneity(ex).holds()
    assert not dv.euler_identity(ex).holds()


def test_layer_norm_family_is_symbolic():
    """The normalised head is quasi-homogeneous for every c₁, c₂ (a family), with c = 0 canonical."""
    ex = dv.examples()["layer_norm"]
    assert {str(s) for s in ex.rates["b2"].free_symbols} == {"c_1", "c_2"}


CANONICAL = {
    "mixed": (mixed_depth(), {"a": 1, "u": .5, "v": .5}, 1, ()),
    "mlp2": (mlp((3, 5, 1)), {"W1": .5, "b1": .5, "W2": .5, "b2": 1}, 1, ()),
    "mlp3": (mlp((3, 5, 4, 1)), {"W1": 1 / 3, "b1": 1 / 3, "W2": 1 / 3, "b2": 2 / 3, "W3": 1 / 3,
                                 "b3": 1}, 2, ()),
    "linear": (mlp((3, 4, 4, 1), bias=False, activation="linear"),
               {"W1": 1 / 3, "W2": 1 / 3, "W3": 1 / 3}, 2, ()),
    "norm": (mlp((3, 5, 4, 2), norm=True), {"W1": 0, "b1": 0, "W2": 0, "b2": 0, "W3": 1, "b3": 1},
             2, ("W1", "b1", "W2", "b2")),
}


@pytest.mark.parametrize("key", CANONICAL)
def test_find_rates_recovers_the_declared_rates(key):
    model, expected, null_dim, invariant = CANONICAL[key]
    fit = find_rates(model)
    assert fit.nnls_residual < 1e-13 and fit.canonical_residual < 1e-13
    assert fit.null_dim == null_dim
    assert fit.invariant == invariant
    assert fit.as_dict() == pytest.approx(expected, abs=1e-9)
    assert euler_residual(model, fit.canonical) < 1e-13
    assert homogeneity_residual(model, fit.canonical) < 1e-13
    for nu in fit.family:                                 # every family member is valid too
        step = 0.1 * nu / np.abs(nu).max()
        member = fit.canonical + step if np.all(fit.canonical + step >= 0) else fit.canonical - step
        assert np.all(member >= 0) and euler_residual(model, member) < 1e-12


def test_find_rates_flags_a_non_quasi_homogeneous_model():
    tanh = tanh_mlp((3, 5, 1))
    fit = find_rates(tanh)
    assert fit.nnls_residual > 1e-2
    assert euler_residual(tanh) > 1e-2 and homogeneity_residual(tanh) > 1e-2
    with pytest.raises(ValueError, match="widths"):
        tanh_mlp((3, 4, 4, 1))


def test_a_linear_readout_is_trivially_quasi_homogeneous():
    model = tanh_mlp((3, 5, 1), readout=True)
    fit = find_rates(model)
    assert fit.canonical_residual < 1e-13 and fit.null_dim == 0
    assert fit.as_dict() == pytest.approx({"W1": 0, "b1": 0, "W2": 1, "b2": 1}, abs=1e-9)
    assert homogeneity_residual(model) < 1e-13


def test_rate_table_and_figure():
    table, fits = rate_table([mixed_depth(), mlp((3, 4, 1), norm="rms")])
    assert list(table["model"]) == ["mixed_depth_1_1", "mlp_3x4x1_relu_bias_rmsnorm"]
    assert table["found"][0] == "a:1, u:1/2, v:1/2"
    assert table["max_diff"].max() < 1e-9 and set(fits) == set(table["model"])
    with pytest.raises(TypeError, match="models"):
        rate_table(mixed_depth())
    m = mixed_depth()
    X, y = _data()
    tr = seminorm_trajectory(m, X, y, m.init(2, seed=0, scale=0.5), t_end=1.0, steps=20,
                             record_every=2, family=find_rates(m).family)
    fig = seminorm_figure({"toy": tr}, title="t")
    assert len(fig.axes) == 2 and fig.axes[0].get_xlabel() == "time t"
    assert fig.axes[0].get_legend() is not None
    import matplotlib.pyplot as plt
    plt.close(fig)
    with pytest.raises(ValueError, match="trajectories"):
        seminorm_figure({})


def test_euler_residual_rejects_wrong_rates_numerically():
    model = mlp((3, 5, 4, 1))
    assert euler_residual(model, {n: 1 / 3 for n, _ in model.groups}) > 1e-2
    with pytest.raises(ValueError, match="rates"):
        euler_residual(model, {n: -0.1 for n, _ in model.groups})
    with pytest.raises(ValueError, match="rates"):
        euler_residual(model, [1.0, 2.0])
    with pytest.raises(TypeError, match="model"):
        find_rates("mlp")
    with pytest.raises(ValueError, match="n_inputs"):
        find_rates(model, n_inputs=0)


def _data():
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(6, 2, dtype=torch.float64, generator=gen)
    return X, torch.sign(X[:, 0] + 0.3 * X[:, 1])


def test_seminorm_growth_along_the_flow_is_fourth_order():
    m = mixed_depth()
    X, y = _data()
    fit = find_rates(m)
    theta0 = m.init(2, seed=0, scale=0.5)
    errs, drifts = [], []
    for steps in (100, 200):
        tr = seminorm_trajectory(m, X, y, theta0, t_end=2.0, steps=steps, record_every=10,
                                 family=fit.family)
        assert tr.pointwise_error() < 1e-14
        assert np.all(np.diff(tr.loss, axis=0) < 0)
        errs.append(tr.integral_error())
        drifts.append(tr.conserved_drift())
    assert errs[1] < errs[0] / 8 and errs[1] < 1e-4       # RK4: halving dt divides by ~16
    assert drifts[1] < drifts[0] / 8


def test_seminorm_identity_fails_with_wrong_rates():
    m = mixed_depth()
    X, y = _data()
    tr = seminorm_trajectory(m, X, y, m.init(2, seed=0, scale=0.5), t_end=1.0, steps=50,
                             record_every=10, rates={"a": 1.0, "u": 1.0, "v": 1.0})
    assert tr.pointwise_error() > 1e-2


def test_margins_recorded():
    m = mixed_depth()
    X, y = _data()
    theta0 = m.init(2, seed=0, scale=0.5)
    tr = seminorm_trajectory(m, X, y, theta0, t_end=1.0, steps=10, record_every=5)
    assert tr.margins.shape == (3, 2, 6)
    assert np.allclose(tr.margins[0], (y * m.f(X, theta0)).numpy())


@pytest.mark.parametrize("kwargs, match", [
    ({"y": [1, 0, 1, 1, -1, 1]}, "y"),
    ({"y": [1, 1]}, "y"),
    ({"X": np.zeros((6, 3))}, "X"),
    ({"theta0": torch.zeros(3)}, "theta0"),
    ({"t_end": 0.0}, "t_end"),
    ({"steps": 1}, "steps"),
    ({"family": np.zeros((1, 2))}, "family"),
])
def test_trajectory_validation(kwargs, match):
    m = mixed_depth()
    X, y = _data()
    args = {"X": X, "y": y, "theta0": m.init(1, seed=0)}
    args.update({k: v for k, v in kwargs.items() if k in args})
    opts = {k: v for k, v in kwargs.items() if k not in args}
    with pytest.raises((ValueError, TypeError), match=match):
        seminorm_trajectory(m, args["X"], args["y"], args["theta0"], steps=opts.pop("steps", 10),
                            record_every=1, **opts)
