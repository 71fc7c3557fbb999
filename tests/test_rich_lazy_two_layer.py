"""Two-layer ReLU networks: init mapping, batched descent, NTK, per-neuron δ, linearised model."""

import numpy as np
import pytest
import torch

from theory.rich_lazy.two_layer import (init_scales, kernel_distance_batched, linearised_descent,
                                        neuron_imbalance, paper_alpha, relu_descent, relu_ntk_gram,
                                        relu_student_init, teacher_student)


@pytest.mark.parametrize("tau", [0.1, 0.7, 2.0])
@pytest.mark.parametrize("delta", [-1.0, -1e-3, 0.0, 0.5, 1.0])
def test_init_scales_realise_tau_and_delta(tau, delta):
    w, a = init_scales(tau, delta, eta_a=0.5, eta_w=2.0)
    assert a * w == pytest.approx(tau**2, rel=1e-12)
    assert 2.0 * a**2 - 0.5 * w**2 == pytest.approx(delta, abs=1e-12)


@pytest.mark.parametrize("tau", [0.1, 0.3, 2.0])
@pytest.mark.parametrize("delta", [-1.0, -0.4, 0.0, 0.4, 1.0])
def test_init_scales_is_the_papers_alpha_mapping(tau, delta):
    """Fig. 1 caption: ‖w‖ = τ/α, |a| = ατ with δ = τ²(α² − α⁻²); the old α_b is 1/α."""
    alpha = paper_alpha(tau, delta)
    assert tau**2 * (alpha**2 - alpha**-2) == pytest.approx(delta, abs=1e-12)
    w, a = init_scales(tau, delta)
    assert w == pytest.approx(tau / alpha, rel=1e-12) and a == pytest.approx(tau * alpha, rel=1e-12)
    r = delta / tau**2
    alpha_b = np.sqrt((np.sqrt(4 + r**2) - r) / 2)            # the book's former α (official get_alpha)
    assert alpha_b == pytest.approx(1 / alpha, rel=1e-12)
    assert (alpha > 1) == (delta > 0) and (alpha < 1) == (delta < 0)


def test_paper_alpha_no_cancellation_and_validation():
    assert paper_alpha(0.1, -1.0) == pytest.approx(0.1, rel=1e-3)     # α ≈ τ/√|δ| for δ ≪ −τ²
    assert paper_alpha(0.1, 1.0) == pytest.approx(10.0, rel=1e-3)
    np.testing.assert_allclose(paper_alpha(1.0, np.array([-3.0, 3.0])).prod(), 1.0, rtol=1e-12)
    with pytest.raises(ValueError, match="tau"):
        paper_alpha(0.0, 0.5)


def test_hamming_and_parameter_distance_match_direct_computation():
    ts = teacher_student(3, 15, [0], n_test=5)
    a0, W0 = relu_student_init([0.1, 0.1, 2.0], [1.0, -1.0, 0.0], 6, 3, seeds=[0, 0, 0])
    run = relu_descent(ts.X[0], ts.y[0], a0, W0, lr=0.5, steps=300, record=[0, 30, 300])
    for t in range(3):
        a, W = run["a"][:, t], run["W"][:, t]
        start = np.einsum("nd,bmd->bnm", ts.X[0], W0) > 0
        now = np.einsum("nd,bmd->bnm", ts.X[0], W) > 0
        np.testing.assert_allclose(run["hamming_distance"][:, t], (now != start).mean((1, 2)), atol=0)
        moved = np.sqrt(((a - a0) ** 2).sum(-1) + ((W - W0) ** 2).sum((-1, -2)))
        np.testing.assert_allclose(run["param_distance"][:, t], moved, rtol=1e-12, atol=1e-15)
        norm0 = np.sqrt((a0**2).sum(-1) + (W0**2).sum((-1, -2)))
        np.testing.assert_allclose(run["relative_param_distance"][:, t], moved / norm0, rtol=1e-12,
                                   atol=1e-15)
    assert np.all(run["hamming_distance"][:, 0] == 0) and np.all(run["param_distance"][:, 0] == 0)
    assert run["hamming_distance"][0, -1] > 0                          # the small upstream run re-patterns


def test_student_init_symmetric_pairs_and_shared_directions():
    a0, W0 = relu_student_init([0.1, 2.0], [0.5, -0.5], 8, 3, seeds=[7, 7])
    assert a0.shape == (2, 8) and W0.shape == (2, 8, 3)
    np.testing.assert_allclose(W0[:, :4], W0[:, 4:])
    np.testing.assert_allclose(a0[:, :4], -a0[:, 4:])
    dirs = W0 / np.linalg.norm(W0, axis=-1, keepdims=True)
    np.testing.assert_allclose(dirs[0], dirs[1], atol=1e-12)         # same seed, same directions
    np.testing.assert_allclose(neuron_imbalance(a0, W0), [[0.5] * 8, [-0.5] * 8], atol=1e-12)
    X = np.random.default_rng(0).normal(size=(5, 3))
    f = np.einsum("bnm,bm->bn", np.maximum(np.einsum("nd,bmd->bnm", X, W0), 0), a0)
    assert np.max(np.abs(f)) < 1e-15                                   # f ≡ 0 at initialisation


def _autograd_step(X, y, a, W, lr, eta_a, eta_w):
    a_t = torch.tensor(a, requires_grad=True)
    W_t = torch.tensor(W, requires_grad=True)
    loss = 0.5 * ((torch.relu(torch.tensor(X) @ W_t.T) @ a_t - torch.tensor(y)) ** 2).mean()
    ga, gW = torch.autograd.grad(loss, (a_t, W_t))
    return a - lr * eta_a * ga.numpy(), W - lr * eta_w * gW.numpy()


@pytest.mark.parametrize("layout", ["shared", "per_run", "grid"])
def test_batched_descent_matches_autograd(layout):
    ts = teacher_student(4, 15, [0, 1], n_test=10)
    a0, W0 = relu_student_init([0.5, 1.0, 0.3], [0.2, -0.3, 0.0], 6, 4, seeds=[3, 4, 5])
    lr, eta_a, eta_w, steps = 0.05, 0.7, 1.3, 5
    if layout == "shared":
        run = relu_descent(ts.X[0], ts.y[0], a0, W0, lr=lr, eta_a=eta_a, eta_w=eta_w, steps=steps)
        data = [0, 0, 0]
        got_a, got_W = run["a"][:, -1], run["W"][:, -1]
    elif layout == "per_run":
        idx = [0, 1, 0]
        run = relu_descent(ts.X[idx], ts.y[idx], a0, W0, lr=lr, eta_a=eta_a, eta_w=eta_w, steps=steps)
        data = idx
        got_a, got_W = run["a"][:, -1], run["W"][:, -1]
    else:                                   # (S = 2 data sets, G = 3 runs each)
        A0, WW0 = np.stack([a0, a0]), np.stack([W0, W0])
        run = relu_descent(ts.X, ts.y, A0, WW0, lr=lr, eta_a=eta_a, eta_w=eta_w, steps=steps)
        assert run["a"].shape == (6, 2, 6) and run["kernel_distance"].shape == (6, 2)
        data = [1, 1, 1]                     # runs 3, 4, 5: data set 1 (data set first)
        got_a, got_W = run["a"][3:, -1], run["W"][3:, -1]
    for b in range(3):
        a, W = a0[b], W0[b]
        for _ in range(steps):
            a, W = _autograd_step(ts.X[data[b]], ts.y[data[b]], a, W, lr, eta_a, eta_w)
        np.testing.assert_allclose(got_a[b], a, atol=1e-13)
        np.testing.assert_allclose(got_W[b], W, atol=1e-13)


def test_ntk_gram_matches_autograd_jacobian():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(7, 3))
    a, W = rng.normal(size=5), rng.normal(size=(5, 3))

    def f(a_, W_):
        return torch.relu(torch.tensor(X) @ W_.T) @ a_

    Ja, JW = torch.autograd.functional.jacobian(f, (torch.tensor(a), torch.tensor(W)))
    K = 0.4 * Ja @ Ja.T + 1.7 * JW.reshape(7, -1) @ JW.reshape(7, -1).T
    np.testing.assert_allclose(relu_ntk_gram(X, a[None], W[None], 0.4, 1.7)[0], K.numpy(), atol=1e-12)


def test_per_neuron_delta_drift_is_order_lr():
    ts = teacher_student(3, 20, [2], n_test=10)
    a0, W0 = relu_student_init([0.2, 0.5], [0.3, -0.2], 10, 3, seeds=[0, 1])
    drifts = []
    for lr in (0.04, 0.02):
        run = relu_descent(ts.X[0], ts.y[0], a0, W0, lr=lr, steps=int(round(40 / lr)),
                           keep_weights=True)
        delta = neuron_imbalance(run["a"][:, -1], run["W"][:, -1])
        np.testing.assert_allclose(np.abs(delta - neuron_imbalance(a0, W0)).max(-1),
                                   run["delta_drift"][:, -1], atol=1e-14)
        drifts.append(run["delta_drift"][:, -1].max())
    assert drifts[1] < 1e-3 and 1.7 < drifts[0] / drifts[1] < 2.3


def test_linearised_descent_matches_linear_model_descent():
    rng = np.random.default_rng(2)
    Phi = rng.normal(size=(8, 12))                    # a linear model f = Φθ: K = ΦΦᵀ
    y, theta = rng.normal(size=8), np.zeros(12)
    Phi_t = rng.normal(size=(5, 12))
    lr, n = 0.3, 8
    K = Phi @ Phi.T
    lr = 1.5 * n / np.linalg.eigvalsh(K).max()        # lr·λ_max/n = 1.5: an oscillating mode
    resid, f_test = linearised_descent(K, -y, lr=lr, n=n, steps=[0, 1, 7, 30], K_test=Phi_t @ Phi.T,
                                       f0_test=np.zeros(5))
    out = {}
    for k in range(31):
        out[k] = (Phi @ theta - y, Phi_t @ theta)
        theta = theta - lr * Phi.T @ (Phi @ theta - y) / n
    for j, k in enumerate([0, 1, 7, 30]):
        np.testing.assert_allclose(resid[j], out[k][0], atol=1e-10)
        np.testing.assert_allclose(f_test[j], out[k][1], atol=1e-10)
    with pytest.raises(ValueError, match="unstable"):
        linearised_descent(K, -y, lr=2.5 * n / np.linalg.eigvalsh(K).max(), n=n, steps=[1])


def test_kernel_distance_batched():
    K = np.stack([np.eye(3), 2 * np.eye(3)])
    np.testing.assert_allclose(kernel_distance_batched(K[0], K), [0.0, 0.0], atol=1e-15)
    assert kernel_distance_batched(np.eye(2), np.ones((2, 2)))[()] == pytest.approx(1 - 2 / (np.sqrt(2) * 2))


def test_bad_input():
    with pytest.raises(ValueError, match="tau"):
        init_scales(-1.0, 0.0)
    with pytest.raises(ValueError, match="even"):
        relu_student_init(0.1, 0.0, 5, 2, 0)
    with pytest.raises(TypeError, match="seeds"):
        relu_student_init(0.1, 0.0, 4, 2, 0.5)
    with pytest.raises(TypeError, match="seeds"):
        teacher_student(2, 5, [0.5])
    with pytest.raises(ValueError, match="W must have shape"):
        neuron_imbalance(np.ones(3), np.ones((2, 2)))
    ts = teacher_student(2, 5, [0], n_test=3)
    a0, W0 = relu_student_init(0.1, 0.0, 4, 2, 0)
    with pytest.raises(ValueError, match="lr"):
        relu_descent(ts.X[0], ts.y[0], a0, W0, lr=0.0, steps=3)
    with pytest.raises(ValueError, match="lr"):
        relu_descent(ts.X[0], ts.y[0], a0, W0, lr=[0.1, 0.2], steps=3)
    with pytest.raises(ValueError, match="record"):
        relu_descent(ts.X[0], ts.y[0], a0, W0, lr=0.1, steps=3, record=[4])
    with pytest.raises(ValueError, match="X must be"):
        relu_descent(np.ones((5, 3)), ts.y[0], a0, W0, lr=0.1, steps=3)
    with pytest.raises(TypeError, match="steps"):
        relu_descent(ts.X[0], ts.y[0], a0, W0, lr=0.1, steps=2.5)


def test_recorded_kernel_distance_matches_gram_of_recorded_weights():
    ts = teacher_student(3, 12, [0, 1], n_test=5)
    a0, W0 = relu_student_init([0.2, 0.2, 1.0], [0.5, -0.5, 0.0], 6, 3, seeds=[0, 1, 2])
    A0, WW0 = np.stack([a0, a0]), np.stack([W0, W0])
    run = relu_descent(ts.X, ts.y, A0, WW0, lr=0.5, eta_a=[[1.0, 2.0, 1.0]] * 2, steps=200,
                       record=[0, 50, 200])
    a, W, S = (run[k].reshape((2, 3) + run[k].shape[1:]) for k in ("a", "W", "kernel_distance"))
    for s in range(2):
        K0 = relu_ntk_gram(ts.X[s], a0, W0, eta_a=[1.0, 2.0, 1.0])
        K = relu_ntk_gram(ts.X[s], a[s, :, -1], W[s, :, -1], eta_a=[1.0, 2.0, 1.0])
        np.testing.assert_allclose(S[s, :, -1], kernel_distance_batched(K0, K), atol=1e-13)
    assert np.all(S[..., -1] > 1e-6)
