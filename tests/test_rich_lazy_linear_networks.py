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
