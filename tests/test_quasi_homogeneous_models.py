"""theory.quasi_homogeneous.models: f(x; e^{αΛ}θ) = e^α f(x; θ), layouts, batching, validation."""

import math

import numpy as np
import pytest
import torch

from theory.quasi_homogeneous.models import QHModel, mixed_depth, mlp

MODELS = {
    "mixed_1_1": lambda: mixed_depth(),
    "mixed_2_3": lambda: mixed_depth(2, 3),
    "mlp_bias": lambda: mlp((3, 5, 4, 1)),
    "mlp_nobias": lambda: mlp((3, 5, 4, 1), bias=False),
    "mlp_layernorm": lambda: mlp((3, 5, 4, 1), norm=True),
    "mlp_rmsnorm_multi": lambda: mlp((3, 6, 5, 3), norm="rms"),
    "mlp_leaky_deep": lambda: mlp((2, 4, 4, 4, 1), activation="leaky_relu"),
    "mlp_one_layer": lambda: mlp((4, 1)),
}


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("alpha", [-1.3, 0.4, 2.0])
def test_quasi_homogeneity(name, alpha):
    m = MODELS[name]()
    theta = m.init(6, seed=1).reshape(2, 3, -1)
    X = torch.randn(9, m.d_in, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    f = m.f(X, theta)
    g = m.f(X, m.scale(theta, alpha))
    assert torch.allclose(g, math.exp(alpha) * f, rtol=1e-12, atol=1e-13 * f.abs().max().item())


def test_wrong_rates_break_quasi_homogeneity():
    """The test above can fail: an MLP with biases is not homogeneous under Λ = I/L."""
    m = mlp((3, 5, 4, 1))
    bad = QHModel(name="bad", groups=m.groups, group_rates={n: 1 / 3 for n, _ in m.groups},
                  forward=m.forward, d_in=3)
    theta = m.init(2, seed=0)
    X = torch.randn(9, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    err = (bad.f(X, bad.scale(theta, 1.0)) - math.e * bad.f(X, theta)).abs().max()
    assert err > 1e-3


def test_rates_of_each_family():
    m = mixed_depth(2, 3)
    assert m.n_params == 8 and m.rates.tolist() == [1, 1, .5, .5, .5, .5, .5, .5]
    L = mlp((3, 5, 4, 1))
    assert L.group_rates == pytest.approx({"W1": 1 / 3, "b1": 1 / 3, "W2": 1 / 3, "b2": 2 / 3,
                                           "W3": 1 / 3, "b3": 1.0})
    assert L.n_params == 15 + 5 + 20 + 4 + 4 + 1 and L.rates.shape == (L.n_params,)
    N = mlp((3, 5, 4, 2), norm=True)
    assert [n for n, r in N.group_rates.items() if r > 0] == ["W3", "b3"]
    assert N.max_rate_mask.sum() == 4 * 2 + 2 and N.lambda_max == 1.0


def test_mixed_depth_formula_and_layout():
    m = mixed_depth()
    theta = torch.tensor([[2.0, 3.0, -0.5]], dtype=torch.float64)
    X = torch.tensor([[1.0, 2.0], [-1.0, 0.5]], dtype=torch.float64)
    assert torch.allclose(m.f(X, theta), torch.tensor([[2 - 3.0, -2 - 0.75]], dtype=torch.float64))
    p = m.unflatten(theta)
    assert set(p) == {"a", "u", "v"} and p["u"].shape == (1, 1)
    assert torch.equal(m.flatten(p), theta)


def test_mlp_matches_torch_modules():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 1)).double()
    m = mlp((3, 5, 1))
    theta = m.flatten({"W1": net[0].weight, "b1": net[0].bias, "W2": net[2].weight,
                       "b2": net[2].bias}).detach()
    X = torch.randn(4, 3, dtype=torch.float64)
    assert torch.allclose(m.f(X, theta), net(X)[:, 0].detach(), atol=1e-14)


def test_layer_norm_is_scale_invariant_in_early_layers():
    m = mlp((3, 8, 6, 1), norm=True)
    theta = m.init(3, seed=4)
    X = torch.randn(10, 3, dtype=torch.float64)
    p = {k: v.clone() for k, v in m.unflatten(theta).items()}
    s, t = 7.5, 0.3       # h1 → s h1 and the pre-norm features → s t: f unchanged
    p["W1"] *= s; p["b1"] *= s; p["W2"] *= t; p["b2"] *= s * t
    assert torch.allclose(m.f(X, m.flatten(p)), m.f(X, theta), atol=1e-12)
    p["b2"] *= 2.0        # not a rescaling symmetry: f changes
    assert not torch.allclose(m.f(X, m.flatten(p)), m.f(X, theta), atol=1e-3)


def test_batched_equals_loop_and_init_rows_independent_of_batch():
    m = mlp((2, 4, 1))
    theta = m.init(5, seed=3)
    assert torch.equal(m.init(2, seed=3), theta[:2])
    assert not torch.equal(m.init(2, seed=4), theta[:2])
    X = torch.randn(6, 2, dtype=torch.float64)
    batched = m.f(X, theta)
    assert batched.shape == (5, 6)
    for i in range(5):
        assert torch.allclose(batched[i], m.f(X, theta[i]), atol=0, rtol=0)
    assert m.f(X, theta[0]).shape == (6,)


def test_seminorm():
    m = mixed_depth()
    theta = torch.tensor([2.0, 3.0, -1.0], dtype=torch.float64)
    assert m.seminorm_sq(theta).item() == pytest.approx(4 + 0.5 * 9 + 0.5 * 1)


@pytest.mark.parametrize("call, match", [
    (lambda: mixed_depth(0), "d1"),
    (lambda: mixed_depth(1, 1.5), "d2"),
    (lambda: mlp((3,)), "widths"),
    (lambda: mlp("34"), "widths"),
    (lambda: mlp((3, 0, 1)), "widths"),
    (lambda: mlp((3, 4, 1), activation="tanh"), "activation"),
    (lambda: mlp((3, 4, 1), norm="batch"), "norm"),
    (lambda: mlp((3, 1), norm=True), "widths"),
    (lambda: mlp((3, 4, 1), bias=1), "bias"),
    (lambda: QHModel(name="x", groups=(("w", (2,)),), group_rates={"w": -0.5},
                     forward=lambda p, X: X, d_in=2), "rates"),
    (lambda: QHModel(name="x", groups=(("w", (2,)),), group_rates={"v": 1.0},
                     forward=lambda p, X: X, d_in=2), "group_rates"),
    (lambda: QHModel(name="x", groups=(("w", (2,)),), group_rates={"w": 0.0},
                     forward=lambda p, X: X, d_in=2), "rates"),
    (lambda: mixed_depth().f(torch.zeros(3, 3, dtype=torch.float64), torch.zeros(3)), "X"),
    (lambda: mixed_depth().f(torch.zeros(3, 2), torch.zeros(4, dtype=torch.float64)), "theta"),
    (lambda: mixed_depth().f(torch.zeros(3, 2), [0.0, 1.0, 2.0]), "theta"),
    (lambda: mixed_depth().f(torch.zeros(3, 2), torch.zeros(3, dtype=torch.int64)), "theta"),
    (lambda: mixed_depth().init(0, seed=0), "n_seeds"),
    (lambda: mixed_depth().init(2, seed=-1), "seed"),
    (lambda: mixed_depth().init(2, seed=0, scale=0.0), "scale"),
])
def test_validation(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_numpy_inputs_accepted():
    m = mixed_depth()
    out = m.f(np.ones((2, 2)), np.array([1.0, 2.0, 3.0]))
    assert torch.allclose(out, torch.tensor([7.0, 7.0], dtype=torch.float64))
