"""Tests of the paper's form of the transformer-signal chapter: the plain residual x + αf(LN x)
(the paper's Eq. 4 as third-party script E reads it), the tanh MLP, the exponents on the paper's
axes, and the switch between the two residual forms."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from theory.core import Sweep  # noqa: E402
from theory.transformer_signal import (BOOK_MODEL, PAPER_MODEL, PaperPhaseDiagram,  # noqa: E402
                                       angle_exponent, angle_exponent_one_block, block_map, chi_1,
                                       collapsed_fixed_point, collapsed_norms, gradient_exponent,
                                       gradient_exponent_finite_depth, gradient_norm_profile,
                                       measure_angle_exponent, measure_gradient_exponent,
                                       mlp_kernel, paper_phase_diagram, paper_phase_measurement,
                                       plots, propagate, simplex_fixed_point, skip_gains,
                                       train_transformers, trainability_summary)
from theory.transformer_signal.simulate import BatchedTransformer  # noqa: E402

torch.set_num_threads(1)


def test_defaults_are_the_papers_form():
    assert PAPER_MODEL == {"activation": "tanh", "residual": "plain"}
    assert BOOK_MODEL == {"activation": "erf", "residual": "scaled"}
    model = BatchedTransformer(0.5, 0.5, 1.0, 1.0, d=4, depth=1, seeds=[0], device="cpu")
    assert (model.residual, model.activation) == ("plain", "tanh")
    np.testing.assert_array_equal(skip_gains(0.6, 0.8), (1.0, 1.0))
    np.testing.assert_allclose(skip_gains(0.6, 0.8, "scaled"), (0.64, 0.36))
    with pytest.raises(ValueError, match="residual"):
        skip_gains(0.5, 0.5, "sqrt")
    with pytest.raises(TypeError, match="residual"):
        angle_exponent(0.5, 0.5, 1.0, residual=1)


def test_plain_block_is_x_plus_alpha_f():
    g = torch.Generator().manual_seed(3)
    m = BatchedTransformer(0.4, 0.7, 2.0, 1.0, d=16, depth=1, generator=g, device="cpu")
    X = torch.randn(1, 5, 16, generator=g, dtype=torch.float64)
    W = {k: w[:, 0] for k, w in m.weights.items()}
    H = 4 * X / X.norm(dim=-1, keepdim=True)
    A = torch.softmax((H @ W["W_Q"].mT) @ (H @ W["W_K"].mT).mT / 4, -1)
    Y = X + 0.4 * A @ H @ W["W_V"].mT
    H2 = 4 * Y / Y.norm(dim=-1, keepdim=True)
    out = Y + 0.7 * torch.tanh(H2 @ W["W_1"].mT) @ W["W_2"].mT
    assert torch.allclose(m.forward(X), out, atol=1e-12)


def test_tanh_kernel_is_accurate_at_the_papers_sigma_w():
    rng = np.random.default_rng(1)
    z1, z2 = rng.standard_normal((2, 1_000_000))
    for rho, s in [(0.5, 4.0), (-0.1, 3.0), (0.95, 1.0)]:
        u, v = s * z1, s * (rho * z1 + np.sqrt(1 - rho**2) * z2)
        assert mlp_kernel(rho, s)[1] == pytest.approx(np.mean(np.tanh(u) * np.tanh(v)), abs=3e-3)
    s = np.array([1.0, 2.5, 4.0])
    h = 1e-7
    V, K = mlp_kernel(1 - h, s)
    np.testing.assert_allclose((V - K) / h, chi_1(s), rtol=1e-5)
    assert np.all(chi_1(s) > mlp_kernel(1.0, s)[0])                 # Gaussian Poincaré: χ₁ ≥ V


def test_plain_norm_grows_and_has_no_fixed_point():
    aA, aM, s = 0.5, 0.7, 2.0
    V = mlp_kernel(1.0, s)[0]
    qs = collapsed_norms(aA, aM, s, 5)
    np.testing.assert_allclose(qs, 1 + np.arange(6) * (aA**2 + aM**2 * V), rtol=1e-12)
    out = block_map(2.0, 2.0, alpha_A=aA, alpha_M=aM, sigma_w=s, sigma_A=1.0, n=8, samples=200)
    assert out.q == pytest.approx(2.0 + aA**2 + aM**2 * V) and out.p == pytest.approx(out.q)
    with pytest.raises(ValueError, match="fixed point"):
        collapsed_fixed_point(aA, aM, s, residual="plain")
    with pytest.raises(ValueError, match="plain"):
        simplex_fixed_point(alpha_A=aA, alpha_M=aM, sigma_w=s, sigma_A=1.0, n=8, residual="plain")


@pytest.mark.parametrize("cfg", [(0.5, 0.0, 1.0), (0.3, 0.6, 2.0), (0.2, 0.9, 4.0), (1.0, 1.0, 3.0)])
@pytest.mark.parametrize("q", [1.0, 3.0])
def test_plain_angle_exponent_is_the_linearisation_of_the_map(cfg, q):
    aA, aM, s = cfg
    step = angle_exponent_one_block(q, 1 - 1e-7, alpha_A=aA, alpha_M=aM, sigma_w=s, sigma_A=1.0,
                                    n=8, samples=500)
    assert step == pytest.approx(angle_exponent(aA, aM, s, q=q), abs=1e-3)


def test_gradient_exponent_identity_and_sign_in_both_forms():
    a, s = np.meshgrid(np.linspace(0.05, 0.95, 7), np.linspace(1.0, 4.0, 7), indexing="ij")
    V, chi = mlp_kernel(1.0, s)[0], chi_1(s)
    for res in ("plain", "scaled"):
        q = 1.0 if res == "plain" else collapsed_fixed_point(a, a, s)[0]
        sA2, sM2 = skip_gains(a, a, res)
        qY = sA2 * q + a**2
        expected = np.log((sM2 * qY + a**2 * chi) / (sM2 * qY + a**2 * V))
        np.testing.assert_allclose(gradient_exponent(a, a, s, residual=res), expected, rtol=1e-12)
        assert np.all(gradient_exponent(a, a, s, residual=res) > 0)
        np.testing.assert_allclose(gradient_exponent(a, a, s, residual=res)
                                   - angle_exponent(a, a, s, residual=res), np.log(qY / (sA2 * q)))


def test_finite_depth_raw_and_direction():
    aA, aM, s, L, n = 0.6, 0.6, 2.0, 12, 8
    raw = gradient_exponent_finite_depth(aA, aM, s, L, n)
    direction = gradient_exponent_finite_depth(aA, aM, s, L, n, normalise=True)
    qs = collapsed_norms(aA, aM, s, L)
    assert raw - direction == pytest.approx(np.log(qs[-1] / qs[0]) / L)
    assert raw > 0 > direction                                       # ordered: direction shrinks
    prof = gradient_norm_profile(aA, aM, s, L, n)
    assert prof[0] / L == pytest.approx(raw) and prof[-1] == pytest.approx(0.0, abs=1e-12)
    # scaled form at q*: no norm growth, so raw and direction agree
    r2 = gradient_exponent_finite_depth(aA, aM, s, L, n, residual="scaled")
    assert r2 == pytest.approx(gradient_exponent_finite_depth(aA, aM, s, L, n, residual="scaled",
                                                              normalise=True), abs=1e-12)
    with pytest.raises(TypeError, match="normalise"):
        gradient_exponent_finite_depth(aA, aM, s, L, n, normalise=1)


def test_paper_phase_diagram():
    dg = paper_phase_diagram(np.linspace(0, 1, 6), np.linspace(1, 4, 7), depth=16, n=8)
    assert isinstance(dg, PaperPhaseDiagram) and dg.lambda_a.shape == (6, 7)
    np.testing.assert_allclose(dg.lambda_a[2], angle_exponent(0.4, 0.4, dg.sigma_w, q=1.0))
    assert np.all(dg.lambda_g >= 0) and np.all(dg.lambda_g_depth >= -1e-15)
    assert dg.lambda_g_direction.min() < 0 < dg.lambda_g_direction.max()
    assert np.isnan(dg.sigma_a[-1]) and 3.0 < dg.sigma_g[-1] < 4.0
    assert "plain residual, tanh MLP, L = 16" in dg.report
    fig = plots.paper_phase_figure(dg, paper_phase_diagram(np.linspace(0, 0.9, 4), [1.0, 4.0],
                                                           residual="scaled"))
    assert len(fig.axes) == 8 and "plain" in fig.axes[0].get_title()


def test_paper_phase_measurement_is_the_direct_measurements():
    al, sw = [0.3, 0.9], [1.0, 4.0]
    m = paper_phase_measurement(al, sw, 1.0, n=4, d=16, depth=3, seeds_angle=2, seeds_gradient=1,
                                seed=5, chunk=4)
    A, S = np.repeat(al, 2), np.tile(sw, 2)
    la = measure_angle_exponent(A, A, S, 1.0, n=4, d=16, seeds=2, seed=5, method="projected")
    np.testing.assert_array_equal(m.lambda_a.ravel(), la.mean(1))
    raw, _ = measure_gradient_exponent(A, A, S, 1.0, n=4, d=16, depth=3, seeds=1, seed=6, chunk=4)
    direction, _ = measure_gradient_exponent(A, A, S, 1.0, n=4, d=16, depth=3, seeds=1, seed=6,
                                             chunk=4, normalise=True)
    np.testing.assert_allclose(m.lambda_g_depth.ravel(), raw.mean(1), rtol=1e-12)
    np.testing.assert_allclose(m.lambda_g_direction.ravel(), direction.mean(1), rtol=1e-12)
    fig = plots.paper_measured_figure(m, paper_phase_diagram(al, sw, depth=3, n=4))
    assert "d = 16" in fig.axes[0].get_title()


def test_plain_simulation_follows_the_plain_map():
    from theory.transformer_signal import iterate_map
    cfg = dict(alpha_A=np.array([0.5, 0.6]), alpha_M=np.array([0.0, 0.8]), sigma_w=np.array([1.0, 3.0]))
    mf = iterate_map(np.ones(2), np.full(2, 0.3), 6, **cfg, sigma_A=1.0, n=8, samples=1000)
    tr = propagate(*cfg.values(), 1.0, n=8, d=256, depth=6, rho0=0.3, seeds=8)
    assert np.abs(tr.rho.mean(-1) - mf.rho).max() < 0.06
    np.testing.assert_allclose(tr.q.mean(-1), mf.q, rtol=0.05)


def test_plain_gradient_exponent_against_autograd():
    a, s, L = np.array([0.3, 0.8]), np.array([1.0, 3.0]), 8
    raw, _ = measure_gradient_exponent(a, a, s, 1.0, n=8, d=128, depth=L, seeds=4, seed=2)
    direction, _ = measure_gradient_exponent(a, a, s, 1.0, n=8, d=128, depth=L, seeds=4, seed=2,
                                             normalise=True)
    np.testing.assert_allclose(raw.mean(1), gradient_exponent_finite_depth(a, a, s, L, 8), atol=0.04)
    np.testing.assert_allclose(direction.mean(1),
                               gradient_exponent_finite_depth(a, a, s, L, 8, normalise=True), atol=0.04)


def test_training_on_the_papers_axes():
    sweep = Sweep(alpha=[0.3, 0.9], sigma_w=[1.0, 3.0], seed=[0, 1])
    res = train_transformers(sweep, sigma_A=1.0, n=4, d=8, depth=2, vocab=2, steps=2, batch=4,
                             test_batch=8, device="cpu")
    assert res.meta["residual"] == "plain" and res.meta["activation"] == "tanh"
    np.testing.assert_array_equal(res.params["W_Q"].shape, (8, 2, 8, 8))
    s = trainability_summary(res)
    a = np.repeat([0.3, 0.9], 2)
    sw = np.tile([1.0, 3.0], 2)
    np.testing.assert_allclose(s.lambda_a, angle_exponent(a, a, sw, q=1.0))
    np.testing.assert_allclose(s.lambda_g, gradient_exponent_finite_depth(a, a, sw, 2, 4, normalise=True))
    assert s.axis == "alpha" and "α=0.90" in s.table()
    with pytest.raises(ValueError, match="alpha_A"):
        trainability_summary(res, alpha_A=0.3)
    with pytest.raises(ValueError, match="alpha"):
        train_transformers(sweep, alpha_A=0.3, sigma_A=1.0, n=4, d=8, depth=2, steps=1)
    # a network trains the same alone as in the batch (its seed keys on α_A = α_M = α)
    alone = train_transformers(Sweep(alpha=[0.9], sigma_w=[3.0], seed=[1]), sigma_A=1.0, n=4, d=8,
                               depth=2, vocab=2, steps=2, batch=4, test_batch=8, device="cpu")
    g = sweep.configs().index({"alpha": 0.9, "sigma_w": 3.0, "seed": 1})
    assert torch.equal(torch.as_tensor(res.params["W_1"][g]), torch.as_tensor(alone.params["W_1"][0]))
