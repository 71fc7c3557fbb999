"""Tests of theory.transformer_signal: the map, its fixed points and exponents, the derivations,
the simulated model against the map, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from theory.core import identity_holds
from theory.transformer_signal import (angle_exponent, angle_exponent_one_block, attention_moments,
                                       block_map, chi_1, collapsed_fixed_point, derivation,
                                       gradient_exponent, gradient_exponent_finite_depth,
                                       histogram_task, iterate_map, measure_angle_exponent,
                                       measure_gradient_exponent, mlp_kernel, propagate,
                                       sample_tokens, simplex_fixed_point, token_geometry,
                                       train_transformers)
from theory.transformer_signal.simulate import BatchedTransformer, _random_linear

torch.set_num_threads(1)


# --- kernels ---------------------------------------------------------------------------------

@pytest.mark.parametrize("activation", ["tanh", "erf", "relu"])
def test_kernel_against_monte_carlo(activation):
    rng = np.random.default_rng(0)
    z1, z2 = rng.standard_normal((2, 400_000))
    for rho, s in [(0.3, 1.0), (0.8, 2.0), (-0.2, 0.7)]:
        u, v = s * z1, s * (rho * z1 + np.sqrt(1 - rho**2) * z2)
        phi = {"tanh": np.tanh, "relu": lambda x: np.maximum(x, 0),
               "erf": lambda x: __import__("scipy.special", fromlist=["erf"]).erf(np.sqrt(np.pi) / 2 * x)}[activation]
        V, K = mlp_kernel(rho, s, activation)
        assert abs(K - np.mean(phi(u) * phi(v))) < 6e-3 * max(1.0, s**2)
        assert abs(V - np.mean(phi(u) ** 2)) < 6e-3 * max(1.0, s**2)


@pytest.mark.parametrize("activation", ["tanh", "erf", "relu"])
def test_kernel_at_one_and_slope_is_chi1(activation):
    s = np.array([0.5, 1.0, 2.0])
    V, K = mlp_kernel(1.0, s, activation)
    np.testing.assert_allclose(K, V, rtol=1e-12)
    h = 1e-6
    V, K = mlp_kernel(1 - h, s, activation)
    np.testing.assert_allclose((V - K) / h, chi_1(s, activation), rtol=1e-3)


def test_relu_is_marginal_and_odd_activations_expand():
    s = np.linspace(0.2, 5, 9)
    np.testing.assert_allclose(chi_1(s, "relu") / mlp_kernel(1.0, s, "relu")[0], 1.0)
    for act in ("erf", "tanh"):
        s2 = s[s <= 2] if act == "tanh" else s
        assert np.all(chi_1(s2, act) / mlp_kernel(1.0, s2, act)[0] >= 1 - 1e-9)  # Gaussian Poincaré


# --- attention --------------------------------------------------------------------------------

def test_attention_moments_limits():
    a2, a11 = attention_moments(1.0, 1.3, 6)
    assert a2 == a11 == pytest.approx(1 / 6)
    a2, a11 = attention_moments(0.4, 0.0, 6)       # σ_A = 0: uniform attention
    assert a2 == a11 == pytest.approx(1 / 6)
    a2, a11 = attention_moments(np.linspace(0, 0.99, 5), 1.0, 8)
    assert np.all(a2 >= a11) and np.all(a2 >= 1 / 8)   # Σ_j A_ij² ≥ 1/n


def test_attention_moments_against_direct_softmax():
    """Independent check: logits from explicit random queries/keys at large width."""
    n, d, rho, sA = 5, 4000, 0.5, 1.0
    g = torch.Generator().manual_seed(0)
    vals2, vals11 = [], []
    for _ in range(300):
        H = sample_tokens(1, n, d, rho, generator=g, device="cpu")[0]
        H = np.sqrt(d) * H / H.norm(dim=-1, keepdim=True)
        Wq = torch.randn(d, d // 8, generator=g, dtype=torch.float64) * np.sqrt(sA / d)
        Wk = torch.randn(d, d // 8, generator=g, dtype=torch.float64) * np.sqrt(sA / d)
        S = (H @ Wq) @ (H @ Wk).T / np.sqrt(d // 8)       # same logit law with d/8 key dims
        A = torch.softmax(S, -1).numpy()
        AA = A @ A.T
        vals2.append(np.mean(np.diag(AA)))
        vals11.append(AA[~np.eye(n, dtype=bool)].mean())
    a2, a11 = attention_moments(rho, sA, n, samples=20000)
    assert abs(np.mean(vals2) - a2) < 0.01
    assert abs(np.mean(vals11) - a11) < 0.01


# --- the map, fixed points and exponents -----------------------------------------------------

def test_collapsed_point_is_fixed():
    for aA, aM, s in [(0.3, 0.5, 1.0), (0.8, 0.2, 3.0), (0.5, 0.0, 1.0)]:
        q, qY = collapsed_fixed_point(aA, aM, s)
        out = block_map(q, q, alpha_A=aA, alpha_M=aM, sigma_w=s, sigma_A=1.0, n=8)
        assert out.q == pytest.approx(q, rel=1e-12) and out.p == pytest.approx(q, rel=1e-12)
        assert out.q_mid == pytest.approx(qY, rel=1e-12)


@pytest.mark.parametrize("params", [(0.5, 0.0, 1.0), (0.3, 0.6, 2.0), (0.3, 0.9, 3.0), (0.8, 0.8, 2.0)])
def test_angle_exponent_is_the_linearisation_of_the_map(params):
    aA, aM, s = params
    q, _ = collapsed_fixed_point(aA, aM, s)
    step = angle_exponent_one_block(q, 1 - 1e-7, alpha_A=aA, alpha_M=aM, sigma_w=s, sigma_A=1.0, n=8)
    assert step == pytest.approx(angle_exponent(aA, aM, s), abs=1e-3)


def test_attention_only_collapses_at_log_one_minus_alpha_squared():
    for a in (0.2, 0.6, 0.9):
        assert angle_exponent(a, 0.0, 1.0) == pytest.approx(np.log(1 - a**2))
    for a in (0.5, 0.7):
        tr = iterate_map(1.0, 0.3, 40, alpha_A=a, alpha_M=0.0, sigma_w=1.0, sigma_A=1.0, n=8)
        assert np.all(np.diff(tr.rho) > 0)
        late = np.log((1 - tr.rho[-1]) / (1 - tr.rho[-2]))
        if 1 - tr.rho[-1] > 1e-12:
            assert late == pytest.approx(np.log(1 - a**2), abs=2e-3)


def test_simplex_fixed_point_exists_iff_chaotic():
    assert simplex_fixed_point(alpha_A=0.3, alpha_M=0.5, sigma_w=1.0, sigma_A=1.0, n=8) is None
    fp = simplex_fixed_point(alpha_A=0.3, alpha_M=0.9, sigma_w=3.0, sigma_A=1.0, n=8)
    assert angle_exponent(0.3, 0.9, 3.0) > 0 and fp is not None and fp.rho < 1
    out = block_map(fp.q, fp.rho * fp.q, alpha_A=0.3, alpha_M=0.9, sigma_w=3.0, sigma_A=1.0, n=8)
    assert out.q == pytest.approx(fp.q, abs=1e-9) and out.p / out.q == pytest.approx(fp.rho, abs=1e-9)
    tr = iterate_map([1.0, 1.0], [0.05, 0.97], 80, alpha_A=0.3, alpha_M=0.9, sigma_w=3.0, sigma_A=1.0, n=8)
    np.testing.assert_allclose(tr.rho[-1], fp.rho, atol=1e-4)


def test_gradient_exponent_limits():
    # attention only with q* = 1: common-mode gain is exactly 1
    assert gradient_exponent(0.7, 0.0, 1.0) == pytest.approx(0.0, abs=1e-12)
    # finite depth interpolates: → λ_g for large L, ≥ both log-weighted rates
    a = gradient_exponent_finite_depth(0.3, 0.6, 2.0, 10_000, 8)
    assert a == pytest.approx(gradient_exponent(0.3, 0.6, 2.0), abs=1e-3)
    assert gradient_exponent(0.3, 0.6, 2.0) >= angle_exponent(0.3, 0.6, 2.0)


def test_derivations_hold():
    assert all(identity_holds(r) for r in derivation.linearised_block().values())
    assert identity_holds(derivation.collapsed_fixed_point_residual())
    assert all(identity_holds(r) for r in derivation.arcsine_kernel_slope())
    assert all(identity_holds(r) for r in derivation.relu_kernel_slope())


# --- simulation against the map ---------------------------------------------------------------

def test_random_linear_has_the_law_of_a_full_matrix():
    g = torch.Generator().manual_seed(0)
    T = torch.randn(200, 4, 64, generator=g, dtype=torch.float64)
    std = torch.full((200, 1, 1), 0.3, dtype=torch.float64)
    out = _random_linear(T, std, g)
    full = T @ (torch.randn(200, 64, 64, generator=g, dtype=torch.float64) * 0.3).transpose(-1, -2)
    # the Gram of the outputs over output coordinates equals std² T Tᵀ on average
    gram_p = (out @ out.transpose(-1, -2) / 64).mean(0)
    gram_f = (full @ full.transpose(-1, -2) / 64).mean(0)
    target = (0.09 * T @ T.transpose(-1, -2)).mean(0)
    assert torch.allclose(gram_p, target, atol=0.25) and torch.allclose(gram_f, target, atol=0.25)


def test_projected_and_full_weights_agree_with_the_map():
    cfg = dict(alpha_A=np.array([0.5, 0.3]), alpha_M=np.array([0.0, 0.9]), sigma_w=np.array([1.0, 3.0]))
    mf = iterate_map(np.ones(2), np.full(2, 0.2), 6, **cfg, sigma_A=1.0, n=8)
    for method, seeds in (("projected", 8), ("full", 2)):
        tr = propagate(*cfg.values(), 1.0, n=8, d=256, depth=6, rho0=0.2, seeds=seeds, method=method)
        assert np.abs(tr.rho.mean(-1) - mf.rho).max() < 0.08, method


def test_measured_angle_exponent_matches_theory():
    aA, aM, s = np.array([0.5, 0.3]), np.array([0.0, 0.9]), np.array([1.0, 3.0])
    q, _ = collapsed_fixed_point(aA, aM, s)
    m = measure_angle_exponent(aA, aM, s, 1.0, n=8, d=512, q0=q, seeds=32, method="projected")
    step = angle_exponent_one_block(q, 0.99, alpha_A=aA, alpha_M=aM, sigma_w=s, sigma_A=1.0, n=8)
    np.testing.assert_allclose(m.mean(1), step, atol=0.06)


def test_measured_gradient_exponent_attention_only():
    lg, logs = measure_gradient_exponent(0.5, 0.0, 1.0, 1.0, n=8, d=128, depth=8, seeds=4)
    assert logs.shape == (9, 1, 4) and np.allclose(logs[-1], 0.0)
    assert lg.mean() == pytest.approx(gradient_exponent_finite_depth(0.5, 0.0, 1.0, 8, 8), abs=0.05)


def test_gradient_matches_finite_differences():
    g = torch.Generator().manual_seed(1)
    model = BatchedTransformer(0.4, 0.6, 1.5, 1.0, d=16, depth=2, generator=g, device="cpu")
    X = sample_tokens(1, 4, 16, 0.5, generator=g, device="cpu").requires_grad_(True)
    R = torch.randn(1, 4, 16, generator=g, dtype=torch.float64)
    f = lambda x: (model.forward(x) * R).sum()  # noqa: E731
    (grad,) = torch.autograd.grad(f(X), X)
    E = torch.randn_like(X)
    h = 1e-6
    fd = (f(X + h * E) - f(X - h * E)) / (2 * h)
    assert float(fd.detach()) == pytest.approx(float((grad * E).sum()), rel=1e-6)


def test_token_geometry_of_a_simplex():
    n = 5
    X = torch.eye(n, dtype=torch.float64)[None] * np.sqrt(n)
    q, p, spread = token_geometry(X)
    assert float(q) == pytest.approx(1.0) and float(p) == 0.0 and float(spread) == 0.0


def test_histogram_task_and_training_runs():
    x, y = histogram_task(3, 6, 2, generator=torch.Generator().manual_seed(0), device="cpu")
    assert torch.equal(y, (x[:, :, None] == x[:, None, :]).sum(-1) - 1)
    res = train_transformers([0.3, 0.3], [0.2, 0.9], [1.0, 1.0], 1.0, n=4, d=8, depth=2, vocab=2,
                             steps=3, batch=4, test_batch=16, device="cpu")
    assert res.train_loss.shape == (3, 2) and res.test_loss.shape == (2,)
    assert np.all(np.isfinite(res.test_loss))


# --- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize("call, exc, match", [
    (lambda: mlp_kernel(0.5, 1.0, "gelu"), ValueError, "activation"),
    (lambda: mlp_kernel(0.5, 1.0, 3), TypeError, "activation"),
    (lambda: mlp_kernel(1.5, 1.0), ValueError, "rho"),
    (lambda: mlp_kernel(0.5, -1.0), ValueError, "sigma_w"),
    (lambda: attention_moments(0.5, 1.0, 1), ValueError, "n"),
    (lambda: attention_moments(-0.7, 1.0, 3), ValueError, "rho"),
    (lambda: attention_moments(0.5, -1.0, 3), ValueError, "sigma_A"),
    (lambda: attention_moments(0.5, 1.0, 3.0), TypeError, "n"),
    (lambda: angle_exponent(1.2, 0.5, 1.0), ValueError, "alpha_A"),
    (lambda: angle_exponent(0.2, "x", 1.0), TypeError, "alpha_M"),
    (lambda: block_map(1.0, 1.5, alpha_A=0.3, alpha_M=0.3, sigma_w=1.0, sigma_A=1.0, n=4), ValueError, "p/q"),
    (lambda: block_map(-1.0, 0.5, alpha_A=0.3, alpha_M=0.3, sigma_w=1.0, sigma_A=1.0, n=4), ValueError, "q"),
    (lambda: iterate_map(1.0, 0.5, 0, alpha_A=0.3, alpha_M=0.3, sigma_w=1.0, sigma_A=1.0, n=4), ValueError, "depth"),
    (lambda: angle_exponent_one_block(1.0, 1.0, alpha_A=0.3, alpha_M=0.3, sigma_w=1.0, sigma_A=1.0, n=4), ValueError, "rho"),
    (lambda: simplex_fixed_point(alpha_A=0.0, alpha_M=0.0, sigma_w=1.0, sigma_A=1.0, n=4), ValueError, "alpha"),
    (lambda: propagate(0.3, 0.3, 1.0, 1.0, n=4, d=8, depth=2, rho0=0.5, method="exact"), ValueError, "method"),
    (lambda: propagate([0.3, 0.4], [0.3, 0.3, 0.3], 1.0, 1.0, n=4, d=8, depth=2, rho0=0.5), ValueError, "broadcast"),
    (lambda: propagate(0.3, 0.3, 1.0, 1.0, n=4, d=8, depth=2, rho0=1.5), ValueError, "rho"),
    (lambda: sample_tokens(2, 4, 0, 0.5), ValueError, "d"),
    (lambda: token_geometry(np.zeros((2, 3, 4))), TypeError, "X"),
    (lambda: histogram_task(4, 1, 3), ValueError, "n"),
    (lambda: train_transformers(0.3, 0.3, 1.0, 1.0, n=4, d=8, depth=2, lr=-1.0, steps=1), ValueError, "lr"),
])
def test_bad_input_raises_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
