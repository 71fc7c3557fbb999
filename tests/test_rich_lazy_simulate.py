"""Gradient descent of the single neuron on the shared trainer (theory.core.train_batched)."""

import numpy as np
import torch

from theory.rich_lazy import gradient_descent, gradient_descent_limit, init_from_beta


def _reference_loop(X, y, a0, w0, eta_a, eta_w, dt, steps, every):
    """The chapter's former hand-written loop (before the move onto train_batched), kept as a
    reference: simultaneous updates a ← a − dt η_a wᵀg, w ← w − dt η_w a g, g = XᵀXβ − Xᵀy."""
    T = lambda x: torch.tensor(np.array(x), dtype=torch.float64)  # noqa: E731
    Xt, yt = T(X), T(y)
    B, d = w0.shape
    XtX = (Xt.T @ Xt).expand(B, d, d)
    Xty = (Xt.T @ yt).expand(B, d)
    a, w = T(a0).clone(), T(w0).clone()
    ea, ew = T(np.broadcast_to(eta_a, (B,))), T(np.broadcast_to(eta_w, (B,)))
    out_a, out_w, out_l = [], [], []
    for k in range(steps + 1):
        if k % every == 0:
            beta = a.unsqueeze(-1) * w
            r = (Xt @ beta.unsqueeze(-1)).squeeze(-1) - yt
            out_a.append(a.clone()), out_w.append(w.clone()), out_l.append(0.5 * (r * r).sum(-1))
        if k == steps:
            break
        g = (XtX @ (a.unsqueeze(-1) * w).unsqueeze(-1)).squeeze(-1) - Xty
        a, w = a - dt * ea * (w * g).sum(-1), w - (dt * ew * a).unsqueeze(-1) * g
    return (torch.stack(out_a, 1).numpy(), torch.stack(out_w, 1).numpy(),
            torch.stack(out_l, 1).numpy())


def _problem():
    rng = np.random.default_rng(3)
    X = np.linalg.qr(rng.normal(size=(6, 4)))[0] @ np.diag([1.0, 0.7, 1.3, 0.9])  # not whitened
    y = rng.normal(size=6)
    deltas = np.array([-3.0, -0.5, 0.0, 0.5, 3.0])
    a0, w0 = init_from_beta(0.4 * rng.normal(size=(5, 4)), deltas)
    return X, y, a0, w0, np.array([1.0, 0.5, 2.0, 1.0, 0.3]), np.array([1.0, 2.0, 0.5, 1.0, 1.5])


def test_trainer_path_agrees_with_former_loop_to_round_off():
    X, y, a0, w0, ea, ew = _problem()
    gd = gradient_descent(X, y, a0, w0, ea, ew, dt=1e-2, steps=2000, record_every=100,
                          device="cpu", progress=False)
    a, w, loss = _reference_loop(X, y, a0, w0, ea, ew, 1e-2, 2000, 100)
    assert gd.a.shape == a.shape and gd.w.shape == w.shape
    # the rate is folded into the gradient (dt·(η g) instead of (dt·η)·g): round-off only
    assert np.max(np.abs(gd.a - a)) < 1e-12
    assert np.max(np.abs(gd.w - w)) < 1e-12
    assert np.max(np.abs(gd.loss - loss)) < 1e-12
    np.testing.assert_array_equal(gd.t, np.arange(0, 2001, 100) * 1e-2)


def test_one_configuration_alone_and_in_a_batch_is_bit_identical():
    X, y, a0, w0, ea, ew = _problem()
    batch = gradient_descent(X, y, a0, w0, ea, ew, dt=1e-2, steps=500, record_every=50,
                             device="cpu", progress=False)
    for i in (0, 3):
        alone = gradient_descent(X, y, a0[i:i + 1], w0[i:i + 1], ea[i:i + 1], ew[i:i + 1],
                                 dt=1e-2, steps=500, record_every=50, device="cpu", progress=False)
        for name in ("a", "w", "loss"):
            assert torch.equal(torch.from_numpy(getattr(alone, name)[0]),
                               torch.from_numpy(getattr(batch, name)[i])), name
    # and the order of the batch does not matter either
    perm = np.array([4, 2, 0, 3, 1])
    shuffled = gradient_descent(X, y, a0[perm], w0[perm], ea[perm], ew[perm], dt=1e-2, steps=500,
                                record_every=50, device="cpu", progress=False)
    assert torch.equal(torch.from_numpy(shuffled.w), torch.from_numpy(batch.w[perm]))


def test_record_schedule_holds_start_and_end():
    X, y, a0, w0, *_ = _problem()
    gd = gradient_descent(X, y, a0, w0, dt=1e-2, steps=25, record_every=10, progress=False)
    np.testing.assert_allclose(gd.t, np.array([0, 10, 20, 25]) * 1e-2)
    gd = gradient_descent(X, y, a0, w0, dt=1e-2, steps=25, record_at=[7], progress=False)
    np.testing.assert_allclose(gd.t, np.array([0, 7, 25]) * 1e-2)
    np.testing.assert_array_equal(gd.a[:, 0], a0)


def test_descent_limit_halves_and_extrapolates():
    X, y = np.array([[0.5, 1.0]]), np.array([1.1])
    a0, w0 = init_from_beta(np.array([0.6, 0.1]), np.array([-1.0, 1.0]))
    lim = gradient_descent_limit(X, y, a0, w0, dt=1e-2, levels=2, time=20.0, progress=False)
    assert lim.beta.shape == (2, 2, 2) and lim.loss.shape == (2, 2)
    np.testing.assert_allclose(lim.extrapolated, 2 * lim.beta[1] - lim.beta[0])
    assert np.all(lim.loss < 1e-12)
