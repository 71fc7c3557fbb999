"""Wide and deep linear networks: conserved matrices and the aligned-mode exact solution."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from theory.rich_lazy.linear_networks import (aligned_two_layer_solution, conserved_matrices,
                                              linear_network_gd)


def _flow(shapes, etas, X, Y):
    sizes = [np.prod(s) for s in shapes]

    def rhs(_, z):
        Ws, k = [], 0
        for s, n in zip(shapes, sizes):
            Ws.append(z[k:k + n].reshape(s))
            k += n
        h = [X]
        for W in Ws:
            h.append(h[-1] @ W.T)
        R = h[-1] - Y                       # (n, k)
        grads, back = [], R
        for i in range(len(Ws) - 1, -1, -1):
            grads.append(back.T @ h[i])
            back = back @ Ws[i]
        grads = grads[::-1]
        return np.concatenate([(-eta * g).ravel() for eta, g in zip(etas, grads)])

    return rhs


def test_conserved_matrices_under_gradient_flow():
    rng = np.random.default_rng(0)
    shapes = [(4, 3), (5, 4), (2, 5)]       # a deep, wide linear network 3 → 4 → 5 → 2
    etas = np.array([0.7, 1.3, 0.9])
    X, Y = rng.normal(size=(10, 3)), rng.normal(size=(10, 2))
    Ws = [0.5 * rng.normal(size=s) for s in shapes]
    sol = solve_ivp(_flow(shapes, etas, X, Y), (0, 3), np.concatenate([W.ravel() for W in Ws]),
                    method="Radau", rtol=1e-11, atol=1e-12)
    z, k, Wend = sol.y[:, -1], 0, []
    for s in shapes:
        Wend.append(z[k:k + np.prod(s)].reshape(s))
        k += np.prod(s)
    for D0, D1 in zip(conserved_matrices(Ws, etas), conserved_matrices(Wend, etas)):
        assert np.max(np.abs(D1 - D0)) < 1e-8
    assert any(np.max(np.abs(W1 - W0)) > 0.1 for W0, W1 in zip(Ws, Wend))   # it did move


def test_conserved_matrices_drift_order_dt_under_descent():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    Ws = [0.5 * rng.normal(size=(4, 3)), 0.5 * rng.normal(size=(2, 4))]
    etas = np.array([1.0, 2.0])
    drift = []
    for dt in (2e-3, 1e-3):
        end = linear_network_gd(X, Y, Ws, etas, dt=dt, steps=int(round(1.0 / dt)))[-1]
        drift.append(np.max(np.abs(conserved_matrices(end, etas)[0] - conserved_matrices(Ws, etas)[0])))
    assert 1.8 < drift[0] / drift[1] < 2.2


def test_single_neuron_is_the_one_by_one_case():
    a, w = 1.3, np.array([0.2, -0.7, 0.4])
    D = conserved_matrices([w[None, :], np.array([[a]])], [0.5, 2.0])[0]
    assert D.shape == (1, 1) and D[0, 0] == pytest.approx(0.5 * a**2 - 2.0 * w @ w)


def test_aligned_modes_match_gradient_descent():
    rng = np.random.default_rng(2)
    d, k, r = 4, 3, 2
    U = np.linalg.qr(rng.normal(size=(k, r)))[0]
    V = np.linalg.qr(rng.normal(size=(d, r)))[0]
    s = np.array([1.5, 0.6])
    X = np.eye(d)                                   # whitened: n = d samples, XᵀX = I
    Y = X @ (U @ np.diag(s) @ V.T).T
    a0, w0 = np.array([0.3, -0.2]), np.array([0.1, 0.4])
    W1_0, W2_0 = np.diag(w0) @ V.T, U @ np.diag(a0)
    dt, steps = 1e-3, 4000
    gd = linear_network_gd(X, Y, [W1_0, W2_0], [1.5, 0.5], dt=dt, steps=steps, record_every=1000)
    W1, W2 = aligned_two_layer_solution(np.arange(0, steps + 1, 1000) * dt, U, s, V, a0, w0, 1.5, 0.5)
    for i, (G1, G2) in enumerate(gd):
        assert np.max(np.abs(G2 @ G1 - W2[i] @ W1[i])) < 3e-3


def test_bad_input():
    with pytest.raises(TypeError, match="weights"):
        conserved_matrices(np.eye(2), [1.0])
    with pytest.raises(ValueError, match="undefined"):
        conserved_matrices([np.eye(2), np.ones((2, 3))], [1.0, 1.0])
    with pytest.raises(ValueError, match="one learning rate per layer"):
        conserved_matrices([np.eye(2), np.eye(2)], [1.0])
    with pytest.raises(ValueError, match="etas"):
        conserved_matrices([np.eye(2), np.eye(2)], [1.0, -1.0])


# ---- batched descent, NTK distance, square networks with Δ = δI ----------------------------------

import torch  # noqa: E402

from theory.rich_lazy.linear_networks import (linear_descent, linear_kernel_distance,  # noqa: E402
                                              linear_network_flow, square_flow, square_init,
                                              square_metric)


def test_batched_descent_matches_autograd_descent():
    rng = np.random.default_rng(3)
    shapes, etas = [(4, 3), (5, 4), (2, 5)], np.array([0.7, 1.3, 0.9])
    X, Y = rng.normal(size=(10, 3)), rng.normal(size=(10, 2))
    nets = [[0.5 * rng.normal(size=s) for s in shapes] for _ in range(3)]
    run = linear_descent(X, Y, [np.stack([n[l] for n in nets]) for l in range(3)], etas,
                         lr=1e-3, steps=150)
    for b, net in enumerate(nets):
        ref = linear_network_gd(X, Y, net, etas, dt=1e-3, steps=150)[-1]
        for l in range(3):
            assert np.max(np.abs(run[f"W{l + 1}"][b, -1] - ref[l])) < 1e-13
            np.testing.assert_array_equal(run.params[f"W{l + 1}"][b], run[f"W{l + 1}"][b, -1])


def test_kernel_distance_matches_autograd_ntk():
    rng = np.random.default_rng(4)
    shapes, etas = [(4, 3), (5, 4), (2, 5)], np.array([0.7, 1.3, 0.9])
    X = rng.normal(size=(6, 3))
    W0 = [rng.normal(size=s) for s in shapes]
    W1 = [W + 0.3 * rng.normal(size=W.shape) for W in W0]

    def ntk(Ws):
        P = tuple(torch.tensor(W, requires_grad=True) for W in Ws)

        def f(*P):
            h = torch.tensor(X)
            for W in P:
                h = h @ W.T
            return h

        J = torch.autograd.functional.jacobian(f, P)
        return sum(e * torch.einsum("nkp,mlp->nkml", j.reshape(6, 2, -1), j.reshape(6, 2, -1))
                   for e, j in zip(etas, J)).reshape(12, 12).numpy()

    K0, K1 = ntk(W0), ntk(W1)
    S = 1 - np.sum(K0 * K1) / np.linalg.norm(K0) / np.linalg.norm(K1)
    assert linear_kernel_distance(X, W0, W1, etas)[0] == pytest.approx(S, rel=1e-10)
    assert linear_kernel_distance(X, W0, W0, etas)[0] == pytest.approx(0.0, abs=1e-12)


def test_flow_conserves_every_delta():
    rng = np.random.default_rng(5)
    shapes, etas = [(6, 4), (5, 6), (3, 5)], np.array([0.5, 1.0, 2.0])
    X, Y = rng.normal(size=(12, 4)), rng.normal(size=(12, 3))
    Ws = [0.6 * rng.normal(size=s) / np.sqrt(s[1]) for s in shapes]
    out = linear_network_flow([0.0, 2.0], X, Y, Ws, etas)
    for D0, D1 in zip(conserved_matrices(out[0], etas), conserved_matrices(out[-1], etas)):
        assert np.max(np.abs(D1 - D0)) < 1e-8


@pytest.mark.parametrize("delta", [-2.0, 0.0, 0.7])
def test_square_init_and_metric(delta):
    rng = np.random.default_rng(6)
    beta0 = rng.normal(size=(2, 3, 3))
    W1, W2 = square_init(beta0, delta, eta_1=0.5, eta_2=2.0)
    assert np.max(np.abs(W2 @ W1 - beta0)) < 1e-12
    for i in range(2):
        D = conserved_matrices([W1[i], W2[i]], [0.5, 2.0])[0]
        assert np.max(np.abs(D - delta * np.eye(3))) < 1e-10
    A, B = square_metric(beta0, delta, 0.5, 2.0)
    assert np.max(np.abs(A - 0.5 * W2 @ np.swapaxes(W2, 1, 2))) < 1e-10
    assert np.max(np.abs(B - 2.0 * np.swapaxes(W1, 1, 2) @ W1)) < 1e-10


def test_square_flow_matches_descent():
    rng = np.random.default_rng(7)
    d = 3
    X = np.linalg.qr(rng.normal(size=(6, d)))[0]
    Y = X @ rng.normal(size=(d, d)).T
    beta0 = 0.1 * rng.normal(size=(3, d, d))
    deltas = np.array([-1.0, 0.0, 1.0])
    W1, W2 = square_init(beta0, deltas)
    errs = []
    for lr in (2e-3, 1e-3):
        steps = int(round(3.0 / lr))
        run = linear_descent(X, Y, [W1, W2], [1.0, 1.0], lr=lr, steps=steps)
        fl = square_flow(np.array([0.0, 3.0]), X, Y, beta0, deltas)
        errs.append(np.max(np.abs(run["W2"][:, -1] @ run["W1"][:, -1] - fl.beta[:, -1])))
        assert np.max(np.abs(run["kernel_distance"][:, -1] - fl.kernel_distance[:, -1])) < 5e-3
    assert errs[1] < 6e-3 and 1.6 < errs[0] / errs[1] < 2.4       # O(lr) convergence to the flow


def test_aligned_solution_with_wide_hidden_layer():
    rng = np.random.default_rng(8)
    d, h, k, r = 4, 6, 3, 2
    U = np.linalg.qr(rng.normal(size=(k, r)))[0]
    V = np.linalg.qr(rng.normal(size=(d, r)))[0]
    R = np.linalg.qr(rng.normal(size=(h, r)))[0]
    s = np.array([1.2, 0.5])
    a0, w0 = np.array([0.4, 0.1]), np.array([0.05, 0.3])
    W1, W2 = aligned_two_layer_solution(np.array([0.0, 2.0]), U, s, V, a0, w0, R=R)
    assert W1.shape == (2, h, d) and W2.shape == (2, k, h)
    run = linear_descent(np.eye(d), np.eye(d) @ (U @ np.diag(s) @ V.T).T, [W1[:1], W2[:1]],
                         [1.0, 1.0], lr=5e-4, steps=4000)
    assert np.max(np.abs(run["W2"][0, -1] @ run["W1"][0, -1] - W2[1] @ W1[1])) < 2e-3


def test_batched_bad_input():
    with pytest.raises(ValueError, match="full rank"):
        square_init(np.zeros((2, 2)), 1.0)
    with pytest.raises(ValueError, match="square"):
        square_metric(np.ones((2, 3)), 0.0)
    with pytest.raises(ValueError, match="one learning rate per layer"):
        linear_descent(np.eye(2), np.eye(2), [np.eye(2), np.eye(2)], [1.0, 1.0, 1.0], lr=0.1, steps=2)
    with pytest.raises(ValueError, match="record"):
        linear_descent(np.eye(2), np.eye(2), [np.eye(2), np.eye(2)], [1.0, 1.0], lr=0.1, steps=2,
                       record=[5])
    with pytest.raises(ValueError, match="lr"):
        linear_descent(np.eye(2), np.eye(2), [np.eye(2), np.eye(2)], [1.0, 1.0], lr=-1.0, steps=2)
    with pytest.raises(ValueError, match="orthonormal"):
        aligned_two_layer_solution([0.0], np.eye(2), [1.0, 1.0], np.eye(2), [1.0, 1.0], [1.0, 1.0],
                                   R=np.ones((3, 2)))
