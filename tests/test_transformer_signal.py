"""Tests of theory.transformer_signal: the map, its fixed points and exponents, the derivations,
the simulated model against the map, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from theory.core import Result, Sweep, identity_holds
from theory.transformer_signal import BOOK_MODEL as B  # noqa: E402  (the book's earlier model: scaled residual, erf)
from theory.transformer_signal import (MAP_CONFIGS, MAP_STACKS, SIMULATION_CONFIGS,
                                       SIMULATION_STACKS, angle_exponent, angle_exponent_check,
                                       angle_exponent_one_block, attention_flatness,
                                       attention_only_collapse, attention_summary,
                                       compare_phase_diagrams, gradient_exponent_check,
                                       in_gram_range, layer_by_layer, map_phases,
                                       measured_phase_diagrams, one_block_exponents,
                                       theory_phase_diagram,
                                       attention_moments, attention_output, attention_table, block_map, chi_1,
                                       chi_1_finite_difference, collapsed_fixed_point, derivation,
                                       fit_log_gap_slope, gap_rate, gradient_exponent,
                                       gradient_exponent_finite_depth, gradient_norm_profile,
                                       histogram_task, iterate_map, map_tracks,
                                       measure_angle_exponent, measure_gradient_exponent,
                                       measured_phase_diagram, mlp_kernel, propagate,
                                       sample_tokens, simplex_fixed_point, simplex_scatter,
                                       token_geometry, token_wise_baseline, train_transformers,
                                       trainability_summary)
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
        q, qY = collapsed_fixed_point(aA, aM, s, **B)
        out = block_map(q, q, alpha_A=aA, alpha_M=aM, sigma_w=s, sigma_A=1.0, n=8, **B)
        assert out.q == pytest.approx(q, rel=1e-12) and out.p == pytest.approx(q, rel=1e-12)
        assert out.q_mid == pytest.approx(qY, rel=1e-12)


@pytest.mark.parametrize("params", [(0.5, 0.0, 1.0), (0.3, 0.6, 2.0), (0.3, 0.9, 3.0), (0.8, 0.8, 2.0)])
def test_angle_exponent_is_the_linearisation_of_the_map(params):
    aA, aM, s = params
    q, _ = collapsed_fixed_point(aA, aM, s, **B)
    step = angle_exponent_one_block(q, 1 - 1e-7, alpha_A=aA, alpha_M=aM, sigma_w=s, sigma_A=1.0, n=8, **B)
    assert step == pytest.approx(angle_exponent(aA, aM, s, **B), abs=1e-3)


def test_attention_only_collapses_at_log_one_minus_alpha_squared():
    for a in (0.2, 0.6, 0.9):
        assert angle_exponent(a, 0.0, 1.0, **B) == pytest.approx(np.log(1 - a**2))
    for a in (0.5, 0.7):
        tr = iterate_map(1.0, 0.3, 40, alpha_A=a, alpha_M=0.0, sigma_w=1.0, sigma_A=1.0, n=8, **B)
        assert np.all(np.diff(tr.rho) > 0)
        late = np.log((1 - tr.rho[-1]) / (1 - tr.rho[-2]))
        if 1 - tr.rho[-1] > 1e-12:
            assert late == pytest.approx(np.log(1 - a**2), abs=2e-3)


def test_simplex_fixed_point_exists_iff_chaotic():
    assert simplex_fixed_point(alpha_A=0.3, alpha_M=0.5, sigma_w=1.0, sigma_A=1.0, n=8, **B) is None
    fp = simplex_fixed_point(alpha_A=0.3, alpha_M=0.9, sigma_w=3.0, sigma_A=1.0, n=8, **B)
    assert angle_exponent(0.3, 0.9, 3.0, **B) > 0 and fp is not None and fp.rho < 1
    out = block_map(fp.q, fp.rho * fp.q, alpha_A=0.3, alpha_M=0.9, sigma_w=3.0, sigma_A=1.0, n=8, **B)
    assert out.q == pytest.approx(fp.q, abs=1e-9) and out.p / out.q == pytest.approx(fp.rho, abs=1e-9)
    tr = iterate_map([1.0, 1.0], [0.05, 0.97], 80, alpha_A=0.3, alpha_M=0.9, sigma_w=3.0, sigma_A=1.0, n=8, **B)
    np.testing.assert_allclose(tr.rho[-1], fp.rho, atol=1e-4)


def test_gradient_exponent_limits():
    # attention only with q* = 1: common-mode gain is exactly 1
    assert gradient_exponent(0.7, 0.0, 1.0, **B) == pytest.approx(0.0, abs=1e-12)
    # finite depth interpolates: → λ_g for large L, ≥ both log-weighted rates
    a = gradient_exponent_finite_depth(0.3, 0.6, 2.0, 10_000, 8, **B)
    assert a == pytest.approx(gradient_exponent(0.3, 0.6, 2.0, **B), abs=1e-3)
    assert gradient_exponent(0.3, 0.6, 2.0, **B) >= angle_exponent(0.3, 0.6, 2.0, **B)


def test_derivations_hold():
    assert all(identity_holds(r) for r in derivation.linearised_block().values())
    assert identity_holds(derivation.collapsed_fixed_point_residual())
    assert all(identity_holds(r) for r in derivation.arcsine_kernel_slope())
    assert all(identity_holds(r) for r in derivation.relu_kernel_slope())
    checks = derivation.checks()
    assert len(checks) == 13 and len({c[0] for c in checks}) == 13
    assert all(identity_holds(residual) for *_, residual in checks)


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
    mf = iterate_map(np.ones(2), np.full(2, 0.2), 6, **cfg, sigma_A=1.0, n=8, **B)
    for method, seeds in (("projected", 8), ("full", 2)):
        tr = propagate(*cfg.values(), 1.0, n=8, d=256, depth=6, rho0=0.2, seeds=seeds, method=method, **B)
        assert np.abs(tr.rho.mean(-1) - mf.rho).max() < 0.08, method


def test_measured_angle_exponent_matches_theory():
    aA, aM, s = np.array([0.5, 0.3]), np.array([0.0, 0.9]), np.array([1.0, 3.0])
    q, _ = collapsed_fixed_point(aA, aM, s, **B)
    m = measure_angle_exponent(aA, aM, s, 1.0, n=8, d=512, q0=q, seeds=32, method="projected", **B)
    step = angle_exponent_one_block(q, 0.99, alpha_A=aA, alpha_M=aM, sigma_w=s, sigma_A=1.0, n=8, **B)
    np.testing.assert_allclose(m.mean(1), step, atol=0.06)


def test_measured_gradient_exponent_attention_only():
    lg, logs = measure_gradient_exponent(0.5, 0.0, 1.0, 1.0, n=8, d=128, depth=8, seeds=4, **B)
    assert logs.shape == (9, 1, 4) and np.allclose(logs[-1], 0.0)
    assert lg.mean() == pytest.approx(gradient_exponent_finite_depth(0.5, 0.0, 1.0, 8, 8, **B), abs=0.05)


def test_gradient_matches_finite_differences():
    g = torch.Generator().manual_seed(1)
    model = BatchedTransformer(0.4, 0.6, 1.5, 1.0, d=16, depth=2, generator=g, device="cpu", **B)
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
    sweep = Sweep(alpha_M=[0.2, 0.9], sigma_w=[1.0])
    res = train_transformers(sweep, alpha_A=0.3, sigma_A=1.0, seed=0, n=4, d=8, depth=2, vocab=2,
                             steps=3, batch=4, test_batch=16, device="cpu", **B)
    assert isinstance(res, Result) and res.sweep is sweep
    np.testing.assert_array_equal(res.steps, [0, 1, 2, 3])
    assert res["train_loss"].shape == (2, 4) and res["test_loss"].shape == (2, 4)
    assert np.all(np.isnan(res["test_loss"][:, :-1])) and np.all(np.isfinite(res.final("test_loss")))
    assert set(res.params) == {"W_Q", "W_K", "W_V", "W_1", "W_2", "emb", "out"}
    assert res.params["W_Q"].shape == (2, 2, 8, 8)


def test_training_is_bit_identical_alone_and_in_a_batch():
    """A configuration's initial transformer, its sequences and its training do not depend on
    what it is batched with (per-configuration seeds, counter-based data)."""
    kw = dict(alpha_A=0.3, sigma_A=1.0, n=4, d=8, depth=2, vocab=3, steps=4, batch=4,
              test_batch=8, lr=1e-2, device="cpu", dtype="float64")
    big = train_transformers(Sweep(alpha_M=[0.2, 0.9], sigma_w=[1.0, 2.5], seed=[0, 1]), **kw)
    alone = train_transformers(Sweep(alpha_M=[0.9], sigma_w=[2.5], seed=[1]), **kw)
    g = big.sweep.configs().index({"alpha_M": 0.9, "sigma_w": 2.5, "seed": 1})
    for k in big.params:
        assert torch.equal(torch.as_tensor(big.params[k][g]), torch.as_tensor(alone.params[k][0])), k
    for k in big.metrics:
        assert np.array_equal(big[k][g], alone[k][0], equal_nan=True), k
    # and the batch order does not matter either: the sweep's axes reversed
    rev = train_transformers(Sweep(seed=[1, 0], sigma_w=[2.5, 1.0], alpha_M=[0.9, 0.2]), **kw)
    h = rev.sweep.configs().index({"alpha_M": 0.9, "sigma_w": 2.5, "seed": 1})
    assert torch.equal(torch.as_tensor(rev.params["W_1"][h]), torch.as_tensor(alone.params["W_1"][0]))
    # different seeds give different networks
    assert not np.array_equal(big.params["W_1"][g], big.params["W_1"][g - 1])


def test_trainability_summary_averages_seeds():
    res = train_transformers(Sweep(alpha_M=[0.2, 0.9], sigma_w=[1.0, 3.0], seed=[0, 1]),
                             alpha_A=0.3, sigma_A=1.0, n=4, d=8, depth=2, vocab=2, steps=2,
                             batch=4, test_batch=8, device="cpu", **B)
    s = trainability_summary(res, alpha_A=0.3)
    final = res.final("test_loss").reshape(2, 2, 2).mean(-1).ravel()
    np.testing.assert_allclose(s.test_loss, final, rtol=1e-6)
    np.testing.assert_allclose(s.lambda_a, angle_exponent(0.3, [0.2, 0.2, 0.9, 0.9], [1.0, 3.0, 1.0, 3.0], **B))
    assert s.train_loss.shape == (4, 3) and -1 <= s.spearman <= 1
    assert s.spearman_per_seed.shape == (2,)
    assert "2 seed(s)" in s.describe and "α_M=0.90" in s.table()


def test_token_wise_baseline_is_the_entropy_of_the_count():
    # n = 2, vocab = 2: the other token matches with probability 1/2: entropy log 2
    assert token_wise_baseline(2, 2) == pytest.approx(np.log(2))
    assert token_wise_baseline(8, 4) == pytest.approx(1.5, abs=0.1)


def test_batched_transformer_seeds_make_slices_independent():
    one = BatchedTransformer(0.3, 0.6, 1.5, 1.0, d=6, depth=2, seeds=[7], device="cpu", **B)
    two = BatchedTransformer([0.5, 0.3], 0.6, [1.0, 1.5], 1.0, d=6, depth=2, seeds=[3, 7], device="cpu", **B)
    for k in one.weights:
        assert torch.equal(one.weights[k][0], two.weights[k][1])
    with pytest.raises(ValueError, match="seeds"):
        BatchedTransformer(0.3, 0.6, 1.5, 1.0, d=6, depth=2, seeds=[1, 2], device="cpu", **B)


# --- analyses ---------------------------------------------------------------------------------

def test_attention_output_and_flatness():
    qA, pA = attention_output(np.array([0.0, 0.5, 1.0]), 1.0, 6, samples=500)
    a2, a11 = attention_moments(np.array([0.0, 0.5, 1.0]), 1.0, 6, samples=500)
    np.testing.assert_allclose(qA, [a2[0], 0.5 + 0.5 * a2[1], 1.0])
    assert np.all(qA >= pA)
    ratio = attention_flatness(1.0, 8)
    assert np.all(ratio[1:] / ratio[:-1] < 0.2)


def test_attention_table_interpolates_the_moments_for_the_map():
    table = attention_table(1.0, 8, points=41, samples=500)
    a2, a11 = attention_moments(table.rho[5:8], 1.0, 8, samples=500)
    np.testing.assert_array_equal(table(table.rho[5:8])[0], a2)     # exact at the nodes
    np.testing.assert_array_equal(table(table.rho[5:8])[1], a11)
    assert table(1.0)[0] == pytest.approx(1 / 8)
    kw = dict(alpha_A=0.3, alpha_M=0.9, sigma_w=3.0, sigma_A=1.0, n=8, samples=500)
    tab, mc = iterate_map(1.0, 0.3, 10, moments=table, **kw), iterate_map(1.0, 0.3, 10, **kw)
    np.testing.assert_allclose(tab.rho, mc.rho, atol=5e-3)
    fp_tab = simplex_fixed_point(moments=table, **kw)
    assert fp_tab.rho == pytest.approx(simplex_fixed_point(**kw).rho, abs=5e-3)
    with pytest.raises(ValueError, match="tabulated"):
        block_map(1.0, 0.5, alpha_A=0.3, alpha_M=0.5, sigma_w=1.0, sigma_A=2.0, n=8, moments=table, **B)
    with pytest.raises(TypeError, match="moments"):
        block_map(1.0, 0.5, alpha_A=0.3, alpha_M=0.5, sigma_w=1.0, sigma_A=1.0, n=8, moments="x", **B)


def test_chi_1_finite_difference_and_gap_rate():
    np.testing.assert_allclose(chi_1_finite_difference([0.5, 1.5], "erf", 1e-7),
                               chi_1(np.array([0.5, 1.5]), "erf"), rtol=1e-5)
    rho = 1 - 0.5 * np.exp(-0.3 * np.arange(10))
    assert gap_rate(rho, 2, 7) == pytest.approx(-0.3)
    with pytest.raises(ValueError, match="stop"):
        gap_rate(rho, 5, 5)


def test_gradient_norm_profile_ends_at_zero_and_matches_finite_depth():
    prof = gradient_norm_profile(np.array([0.3, 0.5]), np.array([0.6, 0.0]), np.array([2.0, 1.0]), 12, 8, **B)
    assert prof.shape == (13, 2)
    np.testing.assert_allclose(prof[-1], 0.0, atol=1e-12)
    np.testing.assert_allclose(prof[0] / 12, gradient_exponent_finite_depth([0.3, 0.5], [0.6, 0.0],
                                                                            [2.0, 1.0], 12, 8, **B))


def test_map_tracks_and_fit_log_gap_slope():
    tracks = map_tracks({"att": (0.5, 0.0, 1.0)}, [0.2, 0.9], 5, sigma_A=1.0, n=8, samples=500, **B)
    direct = iterate_map(np.ones(2), [0.2, 0.9], 5, alpha_A=0.5, alpha_M=0.0, sigma_w=1.0,
                         sigma_A=1.0, n=8, samples=500, **B)
    np.testing.assert_array_equal(tracks["att"].rho, direct.rho)
    rho = 1 - 0.5 * np.exp(-0.4 * np.arange(60))          # 1 − ρ below 1e-9 from layer 51 on
    slope, layers = fit_log_gap_slope(rho, floor=1e-9, skip=3)
    assert slope == pytest.approx(-0.4, abs=1e-8)
    assert layers[0] == 3 and layers[-1] == np.flatnonzero(1 - rho > 1e-9)[-1]
    with pytest.raises(ValueError, match="cases"):
        map_tracks({"bad": (0.5, 0.0)}, [0.2], 3, sigma_A=1.0, n=8, **B)


def test_measured_phase_diagram_shapes_and_seeds():
    la = measured_phase_diagram(0.3, [0.0, 0.9], [1.0, 3.0, 5.0], 1.0, n=4, d=32, seeds=2, seed=0, **B)
    assert la.shape == (2, 3)
    q0, _ = collapsed_fixed_point(0.3, np.repeat([0.0, 0.9], 3), np.tile([1.0, 3.0, 5.0], 2), **B)
    direct = measure_angle_exponent(0.3, np.repeat([0.0, 0.9], 3), np.tile([1.0, 3.0, 5.0], 2), 1.0,
                                    n=4, d=32, q0=q0, seeds=2, seed=0, method="projected", **B)
    np.testing.assert_array_equal(la.ravel(), direct.mean(1))    # C order: σ_w fastest
    lg = measured_phase_diagram(0.3, [0.0, 0.9], [1.0], 1.0, n=4, d=16, seeds=1, seed=0,
                                kind="gradient", depth=2, chunk=1, **B)
    alone, _ = measure_gradient_exponent(0.3, 0.9, 1.0, 1.0, n=4, d=16, depth=2, seeds=1, seed=1,
                                         q0=collapsed_fixed_point(0.3, 0.9, 1.0, **B)[0], **B)
    assert lg.shape == (2, 1) and lg[1, 0] == pytest.approx(alone.mean())


def test_layer_by_layer_and_gram_range():
    stacks = {"a": (0.5, 0.0, 1.0), "b": (0.3, 0.9, 3.0)}
    res = layer_by_layer(stacks, 1.0, n=4, d=32, depth=4, seeds=2, seed=1, full_depth=2,
                         full_seeds=1, full_seed=2, **B)
    mf, sim, full = res.map, res.projected, res.full
    assert mf.rho.shape == (5, 2) and sim.rho.shape == (5, 2, 2) and full.rho.shape == (3, 2, 1)
    assert res.names == ["a", "b"] and res.configs.shape == (2, 3) and (res.d, res.n) == (32, 4)
    np.testing.assert_array_equal(res.dev, np.abs(sim.rho.mean(-1) - mf.rho).max(0))
    np.testing.assert_array_equal(res.dev_full, np.abs(full.rho.mean(-1) - mf.rho[:3]).max(0))
    direct = propagate([0.5, 0.3], [0.0, 0.9], [1.0, 3.0], 1.0, n=4, d=32, depth=4, rho0=0.2,
                       seeds=2, seed=1, **B)
    np.testing.assert_array_equal(sim.rho, direct.rho)               # the stacks in dict order
    assert res.report.startswith("largest |ρ_sim − ρ_map| over layers, per stack: [")
    assert "  full weights: [" in res.report
    assert in_gram_range(sim.rho, 4).all()
    np.testing.assert_array_equal(in_gram_range([-1 / 3, -0.34, 1.0, 1.01], 4), [True, False, True, False])
    with pytest.raises(ValueError, match="full_depth"):
        layer_by_layer({"a": (0.5, 0.0, 1.0)}, 1.0, n=4, d=8, depth=2, full_depth=3, **B)
    with pytest.raises(TypeError, match="stacks"):
        layer_by_layer([(0.5, 0.0, 1.0)], 1.0, n=4, d=8, depth=2, **B)
    with pytest.raises(ValueError, match="stacks"):
        layer_by_layer({"a": (0.5, 0.0)}, 1.0, n=4, d=8, depth=2, **B)


def test_the_chapters_named_configurations():
    assert list(SIMULATION_STACKS) == ["attention only", "ordered", "near the edge", "chaotic"]
    signs = [np.sign(angle_exponent(*v, **B)) for v in SIMULATION_STACKS.values()]
    assert signs == [-1, -1, 1, 1]
    assert list(MAP_STACKS) == ["attention only", "ordered", "chaotic"]
    assert [np.sign(angle_exponent(*v, **B)) for v in MAP_STACKS.values()] == [-1, -1, 1]
    assert MAP_CONFIGS.shape == (6, 3) and SIMULATION_CONFIGS.shape == (7, 3)
    la = angle_exponent(*SIMULATION_CONFIGS.T, **B)
    assert (la < 0).any() and (la > 0).any()                        # both phases are sampled


def test_attention_summary_is_the_moments_the_output_and_the_flatness():
    rho = np.linspace(0.0, 1.0, 5)
    s = attention_summary(1.0, 4, rho=rho, gaps=[1e-2, 2e-3], samples=200)
    a2, a11 = attention_moments(rho, 1.0, 4, samples=200)
    np.testing.assert_array_equal(s.a2, a2)
    np.testing.assert_array_equal(s.a11, a11)
    qA, pA = attention_output(rho, 1.0, 4, samples=200)
    np.testing.assert_allclose(s.q_A, qA, rtol=1e-15)
    np.testing.assert_allclose(s.p_A, pA, rtol=1e-15)
    np.testing.assert_array_equal(s.flatness, attention_flatness(1.0, 4, [1e-2, 2e-3], samples=200))
    assert s.report.startswith("(a₂ − a₁₁)/(1 − ρ) at 1 − ρ = 1e-2, 2e-3: [")
    with pytest.raises(ValueError, match="rho"):
        attention_summary(1.0, 4, rho=[0.5, 1.5])
    with pytest.raises(ValueError, match="sigma_A"):
        attention_summary(-1.0, 4, rho=[0.5])


def test_one_block_exponents_and_map_phases():
    cfg = np.array([(0.5, 0.0, 1.0), (0.3, 0.9, 3.0)])
    one = one_block_exponents(cfg, sigma_A=1.0, n=4, rho0=0.9, samples=200, **B)
    q_star, _ = collapsed_fixed_point(cfg[:, 0], cfg[:, 1], cfg[:, 2], **B)
    np.testing.assert_array_equal(one.q_star, q_star)
    np.testing.assert_array_equal(one.linear, angle_exponent(*cfg.T, **B))
    np.testing.assert_array_equal(one.step, angle_exponent_one_block(
        q_star, 0.9, alpha_A=cfg[:, 0], alpha_M=cfg[:, 1], sigma_w=cfg[:, 2], sigma_A=1.0, n=4,
        samples=200, **B))
    lines = one.report.splitlines()
    assert len(lines) == 2 and lines[0].startswith("α_A = 0.50, α_M = 0.00, σ_w = 1.0:  map ")
    with pytest.raises(ValueError, match="rho0"):
        one_block_exponents(cfg, sigma_A=1.0, n=4, rho0=1.0, **B)
    with pytest.raises(ValueError, match="configs"):
        one_block_exponents(cfg[:, :2], sigma_A=1.0, n=4, rho0=0.9, **B)
    stacks = {"att": (0.5, 0.0, 1.0), "chaos": (0.3, 0.9, 3.0)}
    ph = map_phases(stacks, [0.2, 0.9], 30, sigma_A=1.0, n=4, samples=200, **B)
    direct = map_tracks(stacks, [0.2, 0.9], 30, sigma_A=1.0, n=4, samples=200, **B)
    np.testing.assert_array_equal(ph.tracks["chaos"].rho, direct["chaos"].rho)
    assert list(ph.simplex) == ["chaos"] and ph.exponents["att"] == angle_exponent(0.5, 0.0, 1.0, **B)
    fp = simplex_fixed_point(alpha_A=0.3, alpha_M=0.9, sigma_w=3.0, sigma_A=1.0, n=4, samples=200, **B)
    assert ph.simplex["chaos"] == fp
    assert ph.report.startswith(f"simplex fixed point: ρ* = {fp.rho:.4f}, q* = {fp.q:.4f}; map after 30")
    two = map_phases({"x": (0.3, 0.9, 3.0), "y": (0.1, 0.95, 5.0)}, [0.5], 2, sigma_A=1.0, n=4,
                     samples=200, **B)
    assert [line.split(":")[0] for line in two.report.splitlines()] == ["x", "y"]


def test_theory_phase_diagram_broadcasts_the_closed_forms():
    am, sw = np.array([0.0, 0.5, 0.9]), np.array([0.5, 3.0])
    ph = theory_phase_diagram(0.3, alpha_M=am, sigma_w=sw, **B)
    assert ph.lambda_a.shape == ph.lambda_g.shape == (3, 2)
    assert ph.lambda_a[2, 1] == angle_exponent(0.3, 0.9, 3.0, **B)
    assert ph.lambda_g[1, 0] == gradient_exponent(0.3, 0.5, 0.5, **B)
    with pytest.raises(ValueError, match="alpha_A"):
        theory_phase_diagram(1.5, alpha_M=am, sigma_w=sw, **B)
    with pytest.raises(ValueError, match="alpha_M"):
        theory_phase_diagram(0.3, alpha_M=[[0.1]], sigma_w=sw, **B)


def test_angle_exponent_check_and_phase_comparison():
    cfg = np.array([(0.5, 0.0, 1.0), (0.3, 0.9, 3.0)])
    chk = angle_exponent_check(cfg, 1.0, n=4, d=32, seeds_projected=3, seed_projected=5,
                               seeds_full=2, seed_full=6, **B)
    assert chk.projected.shape == (2, 3) and chk.full.shape == (2, 2) and (chk.d, chk.n) == (32, 4)
    np.testing.assert_allclose(chk.linear, angle_exponent(cfg[:, 0], cfg[:, 1], cfg[:, 2], **B))
    one = one_block_exponents(cfg, sigma_A=1.0, n=4, rho0=0.99, **B)
    np.testing.assert_array_equal(chk.step, one.step)
    direct = measure_angle_exponent(cfg[:, 0], cfg[:, 1], cfg[:, 2], 1.0, n=4, d=32, q0=one.q_star,
                                    seeds=2, seed=6, method="full", **B)
    np.testing.assert_array_equal(chk.full, direct)
    assert chk.report.count("\n") == 1
    with pytest.raises(ValueError, match="configs"):
        angle_exponent_check(cfg[:, :2], 1.0, n=4, d=8, **B)
    am, sw = np.array([0.0, 0.9]), np.array([1.0, 5.0])
    la = angle_exponent(0.3, am[:, None], sw[None, :], **B)
    lg = gradient_exponent_finite_depth(0.3, am[:, None], sw[None, :], 8, 4, **B)
    cmp = compare_phase_diagrams(0.3, la, am, sw, lg, am, sw, depth=8, n=4, **B)
    assert cmp["sign_agree"] == 1.0 and cmp["lg_close"] == 1.0 and cmp["la_max_dev"] == 0.0
    cmp = compare_phase_diagrams(0.3, -la, am, sw, lg + 1, am, sw, depth=8, n=4, **B)
    assert cmp["sign_agree"] == 0.0 and cmp["lg_close"] == 0.0 and "λ_g" in cmp["report"]


def test_simplex_scatter_shrinks_with_width():
    res = simplex_scatter(0.3, 0.9, 3.0, 1.0, widths=[64, 256], n=6, depth=12, seeds=2, seed=0,
                          last=4, activation="erf")
    assert res.final_rho.shape == res.spread.shape == (2,)
    assert res.spread[1] < res.spread[0] and res.exponent < 0
    fp = simplex_fixed_point(alpha_A=0.3, alpha_M=0.9, sigma_w=3.0, sigma_A=1.0, n=6, **B)
    assert res.fixed_point == fp
    assert res.report.startswith(f"simplex fixed point ρ* = {fp.rho:.4f}; mean cosine over layers 9–12: [")
    assert res.report.endswith(f"spread ∝ d^{res.exponent:.2f}")


def test_attention_only_collapse_fits_the_seed_mean():
    res = attention_only_collapse([0.5, 0.7], 1.0, n=4, d=32, depth=12, seeds=2, seed=3)
    tr = propagate([0.5, 0.7], 0.0, 1.0, 1.0, n=4, d=32, depth=12, rho0=0.2, seeds=2, seed=3, **B)
    np.testing.assert_array_equal(res.rho, tr.rho.mean(-1))
    slope, layers = fit_log_gap_slope(tr.rho[:, 1].mean(-1), floor=1e-9, skip=3)
    assert res.slopes[1] == slope and np.array_equal(res.fits[1][1], layers)
    np.testing.assert_allclose(res.slopes, np.log(1 - np.array([0.5, 0.7])**2), atol=0.1)
    with pytest.raises(ValueError, match="alpha_A"):
        attention_only_collapse([[0.5]], 1.0, n=4, d=8, depth=4, seeds=1, seed=0)


def test_gradient_exponent_check_measures_from_the_collapsed_point():
    cfg = np.array([(0.5, 0.0, 1.0), (0.3, 0.9, 3.0)])
    chk = gradient_exponent_check(cfg, 1.0, n=4, d=16, depth=3, seeds=2, seed=7, **B)
    q_star, _ = collapsed_fixed_point(*cfg.T, **B)
    lg, logs = measure_gradient_exponent(*cfg.T, 1.0, n=4, d=16, depth=3, q0=q_star, seeds=2, seed=7, **B)
    np.testing.assert_array_equal(chk.measured, lg)
    np.testing.assert_array_equal(chk.log_norms, logs)
    np.testing.assert_array_equal(chk.lambda_g, lg.mean(1))
    np.testing.assert_array_equal(chk.finite_depth, gradient_exponent_finite_depth(*cfg.T, 3, 4, **B))
    np.testing.assert_array_equal(chk.profile, gradient_norm_profile(*cfg.T, 3, 4, **B))
    np.testing.assert_array_equal(chk.ordered, [True, False])
    assert chk.report.splitlines()[1].startswith("theory (L=3): [")
    with pytest.raises(ValueError, match="configs"):
        gradient_exponent_check(cfg[:, :2], 1.0, n=4, d=8, depth=2, seeds=1, seed=0, **B)


def test_measured_phase_diagrams_are_both_kinds_and_their_comparison():
    grid = (np.array([0.0, 0.9]), np.array([1.0, 4.0]))
    res = measured_phase_diagrams(0.3, 1.0, n=4, d_angle=16, seeds_angle=2, seed_angle=8,
                                  d_gradient=8, depth=2, seeds_gradient=1, seed_gradient=9,
                                  grid_angle=grid, grid_gradient=grid, chunk=2, **B)
    la = measured_phase_diagram(0.3, *grid, 1.0, n=4, d=16, seeds=2, seed=8, **B)
    lg = measured_phase_diagram(0.3, *grid, 1.0, n=4, d=8, seeds=1, seed=9, kind="gradient",
                                depth=2, chunk=2, **B)
    np.testing.assert_array_equal(res.lambda_a, la)
    np.testing.assert_array_equal(res.lambda_g, lg)
    cmp = compare_phase_diagrams(0.3, la, *grid, lg, *grid, depth=2, n=4, **B)
    assert res.sign_agree == cmp["sign_agree"] and res.lg_close == cmp["lg_close"]
    assert res.report == cmp["report"]


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
    (lambda: angle_exponent(1.2, 0.5, 1.0, **B), ValueError, "alpha_A"),
    (lambda: angle_exponent(0.2, "x", 1.0, **B), TypeError, "alpha_M"),
    (lambda: block_map(1.0, 1.5, alpha_A=0.3, alpha_M=0.3, sigma_w=1.0, sigma_A=1.0, n=4, **B), ValueError, "p/q"),
    (lambda: block_map(-1.0, 0.5, alpha_A=0.3, alpha_M=0.3, sigma_w=1.0, sigma_A=1.0, n=4, **B), ValueError, "q"),
    (lambda: iterate_map(1.0, 0.5, 0, alpha_A=0.3, alpha_M=0.3, sigma_w=1.0, sigma_A=1.0, n=4, **B), ValueError, "depth"),
    (lambda: angle_exponent_one_block(1.0, 1.0, alpha_A=0.3, alpha_M=0.3, sigma_w=1.0, sigma_A=1.0, n=4, **B), ValueError, "rho"),
    (lambda: simplex_fixed_point(alpha_A=0.0, alpha_M=0.0, sigma_w=1.0, sigma_A=1.0, n=4, **B), ValueError, "alpha"),
    (lambda: propagate(0.3, 0.3, 1.0, 1.0, n=4, d=8, depth=2, rho0=0.5, method="exact", **B), ValueError, "method"),
    (lambda: propagate([0.3, 0.4], [0.3, 0.3, 0.3], 1.0, 1.0, n=4, d=8, depth=2, rho0=0.5, **B), ValueError, "broadcast"),
    (lambda: propagate(0.3, 0.3, 1.0, 1.0, n=4, d=8, depth=2, rho0=1.5, **B), ValueError, "rho"),
    (lambda: sample_tokens(2, 4, 0, 0.5), ValueError, "d"),
    (lambda: token_geometry(np.zeros((2, 3, 4))), TypeError, "X"),
    (lambda: histogram_task(4, 1, 3), ValueError, "n"),
    (lambda: train_transformers(Sweep(seed=[0]), alpha_A=0.3, alpha_M=0.3, sigma_w=1.0, sigma_A=1.0,
                                n=4, d=8, depth=2, lr=-1.0, steps=1, **B), ValueError, "lr"),
    (lambda: train_transformers(Sweep(seed=[0]), alpha_A=0.3, alpha_M=0.3, sigma_w=1.0, n=4, d=8,
                                depth=2, steps=1, **B), ValueError, "sigma_A"),
    (lambda: train_transformers(Sweep(seed=[0], width=[2]), alpha_A=0.3, alpha_M=0.3, sigma_w=1.0,
                                sigma_A=1.0, n=4, d=8, depth=2, steps=1, **B), ValueError, "axes"),
    (lambda: train_transformers(Sweep(seed=[0]), alpha_A=0.3, alpha_M=0.3, sigma_w=1.0, sigma_A=1.0,
                                seed=1, n=4, d=8, depth=2, steps=1, **B), ValueError, "seed"),
    (lambda: train_transformers([0.3], alpha_A=0.3, n=4, d=8, depth=2, **B), TypeError, "sweep"),
    (lambda: propagate(0.3, 0.3, 1.0, 1.0, n=4, d=8, depth=2, rho0=0.5, seed=1.5, **B), TypeError, "seed"),
    (lambda: attention_moments(0.5, 1.0, 3, seed=-1), ValueError, "seed"),
    (lambda: measured_phase_diagram(0.3, [0.5], [1.0], 1.0, n=4, d=8, seeds=1, seed=0, kind="x", **B),
     ValueError, "kind"),
    (lambda: fit_log_gap_slope(np.ones(5)), ValueError, "floor"),
    (lambda: trainability_summary("x", alpha_A=0.3), TypeError, "res"),
])
def test_bad_input_raises_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
