"""The CPU kernel of relu_descent and its Gram-identity kernel distance against slow references:
the batched torch path (the previous implementation), and the NTK from autograd Jacobians."""

import numpy as np
import pytest
import torch

from theory.rich_lazy import two_layer
from theory.rich_lazy.two_layer import (kernel_distance_batched, relu_descent, relu_student_init,
                                        teacher_student)

NAMES = ("a", "W", "train_loss", "test_loss", "kernel_distance", "delta_drift", "hamming_distance",
         "param_distance", "relative_param_distance")


def _run(monkeypatch, fast, *args, **kw):
    monkeypatch.setattr(two_layer, "_CPU_KERNEL", fast)
    return relu_descent(*args, **kw)


@pytest.mark.parametrize("layout", ["shared", "grid"])
def test_cpu_kernel_matches_the_batched_torch_path(monkeypatch, layout):
    ts = teacher_student(5, 40, [0, 1], n_test=9)
    a0, W0 = relu_student_init([0.2, 0.6, 1.5], [0.5, -0.5, 0.0], 8, 5, seeds=[0, 1, 2])
    kw = dict(lr=0.4, eta_a=[1.0, 2.0, 0.5], eta_w=[0.7, 1.0, 1.3], steps=150,
              record=[0, 1, 20, 150])
    if layout == "shared":
        args = (ts.X[0], ts.y[0], a0, W0)
        kw.update(X_test=ts.X_test[0], y_test=ts.y_test[0])
    else:
        args = (ts.X, ts.y, np.stack([a0, a0]), np.stack([W0, W0]))
        kw.update(eta_a=[[1.0, 2.0, 0.5]] * 2, eta_w=[[0.7, 1.0, 1.3]] * 2, X_test=ts.X_test,
                  y_test=ts.y_test)
    fast, slow = _run(monkeypatch, True, *args, **kw), _run(monkeypatch, False, *args, **kw)
    np.testing.assert_array_equal(fast.steps, slow.steps)
    for name in NAMES:
        assert fast[name].shape == slow[name].shape, name
        np.testing.assert_allclose(fast[name], slow[name], rtol=1e-11, atol=1e-14, err_msg=name)
    assert np.all(fast["kernel_distance"][:, -1] > 1e-6)               # the distance has moved
    for k in ("a", "W"):
        np.testing.assert_allclose(fast.params[k], slow.params[k], rtol=1e-11, atol=1e-14)


def _jacobian_gram(X, a, W, eta_a, eta_w):
    """The NTK Σ_θ η_θ ∂f/∂θ ∂f/∂θᵀ from per-parameter autograd Jacobians (the naive way)."""
    Xt = torch.tensor(X)
    Ja, JW = torch.autograd.functional.jacobian(lambda a_, W_: torch.relu(Xt @ W_.T) @ a_,
                                                (torch.tensor(a), torch.tensor(W)))
    JW = JW.reshape(X.shape[0], -1)
    return (eta_a * Ja @ Ja.T + eta_w * JW @ JW.T).numpy()


def test_recorded_kernel_distance_matches_jacobian_ntk():
    ts = teacher_student(4, 25, [3], n_test=5)
    a0, W0 = relu_student_init([0.15, 0.8], [0.9, -0.9], 6, 4, seeds=[1, 2])
    eta_a, eta_w = np.array([1.5, 0.5]), np.array([0.8, 2.0])
    run = relu_descent(ts.X[0], ts.y[0], a0, W0, lr=0.3, eta_a=eta_a, eta_w=eta_w, steps=400,
                       record=[0, 40, 400])
    for b in range(2):
        K0 = _jacobian_gram(ts.X[0], a0[b], W0[b], eta_a[b], eta_w[b])
        for t in range(3):
            K = _jacobian_gram(ts.X[0], run["a"][b, t], run["W"][b, t], eta_a[b], eta_w[b])
            np.testing.assert_allclose(run["kernel_distance"][b, t], kernel_distance_batched(K0, K),
                                       rtol=1e-10, atol=1e-14)
    assert run["kernel_distance"][0, -1] > 1e-3                        # the small run goes rich


def test_gram_identity_matches_jacobian_ntk():
    rng = np.random.default_rng(4)
    X, a, W = rng.normal(size=(9, 3)), rng.normal(size=7), rng.normal(size=(7, 3))
    K = two_layer._gram_np(X, X @ X.T, a, W, 0.3, 1.9)
    np.testing.assert_allclose(K, _jacobian_gram(X, a, W, 0.3, 1.9), rtol=1e-12, atol=1e-12)
