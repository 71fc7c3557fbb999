"""Neural collapse on the shared trainer (theory.quasi_homogeneous.collapse): the NC metrics on
exactly collapsed and on generic features, the last layer's KKT residual at a solved max-margin
programme and away from it, the normalisation's scale invariance, batching independence, the
figure and bad input."""

import numpy as np
import pytest
import torch

from theory.core import Result
from theory.quasi_homogeneous import collapse as nc


def simplex(K, d, seed=0):
    """K centred unit-norm vectors in R^d with pairwise cosines −1/(K−1) (a simplex ETF)."""
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.normal(size=(d, K)))
    E = np.eye(K) - 1.0 / K
    M = E @ U.T
    return M / np.linalg.norm(M, axis=1, keepdims=True)


def test_metrics_vanish_at_collapse():
    K, d, per = 4, 6, 5
    M = simplex(K, d)
    y = np.repeat(np.arange(K), per)
    h = torch.tensor(3.0 * M[y] + 0.7)[None]                     # collapsed, shifted mean
    W = torch.tensor(2.0 * M)[None]
    logits = h @ W.transpose(1, 2)
    out = nc.nc_metrics(h, logits, torch.tensor(y), W, K)
    for m in ("nc1", "nc2_norm", "nc2_angle", "nc3"):
        assert out[m].item() < 1e-12, m
    assert out["nc4"].item() == 1.0


def test_nc1_matches_direct_formula():
    rng = np.random.default_rng(1)
    K, d, per = 3, 5, 20
    y = np.repeat(np.arange(K), per)
    h = rng.normal(size=(K * per, d)) + 2 * rng.normal(size=(K, d))[y]
    W = rng.normal(size=(K, d))
    mu = np.stack([h[y == k].mean(0) for k in range(K)])
    within = h - mu[y]
    Sw = within.T @ within / h.shape[0]
    Mc = mu - mu.mean(0)
    Sb = Mc.T @ Mc / K
    want = np.trace(Sw @ np.linalg.pinv(Sb, rcond=1e-10)) / K
    out = nc.nc_metrics(torch.tensor(h)[None], torch.tensor(h @ W.T)[None], torch.tensor(y),
                        torch.tensor(W)[None], K)
    assert out["nc1"].item() == pytest.approx(want, rel=1e-8)
    cos = (Mc / np.linalg.norm(Mc, axis=1, keepdims=True)) @ (Mc / np.linalg.norm(Mc, axis=1, keepdims=True)).T
    off = ~np.eye(K, dtype=bool)
    assert out["nc2_angle"].item() == pytest.approx(np.abs(cos[off] + 1 / (K - 1)).mean(), rel=1e-10)
    assert out["nc3"].item() > 0.1


def solve_svm(h, y, K):
    """The multiclass max-margin programme solved directly (SLSQP)."""
    from scipy.optimize import minimize

    n, d = h.shape
    rows = []
    for i in range(n):
        for k in range(K):
            if k != y[i]:
                g = np.zeros((K, d + 1))
                g[y[i], :d] += h[i]
                g[k, :d] -= h[i]
                g[y[i], d] += 1
                g[k, d] -= 1
                rows.append(g.ravel())
    A = np.array(rows)
    res = minimize(lambda t: 0.5 * t @ t, np.linalg.lstsq(A, np.ones(len(A)), rcond=None)[0] * 3,
                   jac=lambda t: t, constraints=[{"type": "ineq", "fun": lambda t: A @ t - 1,
                                                  "jac": lambda t: A}],
                   method="SLSQP", options={"ftol": 1e-14, "maxiter": 500})
    assert res.success
    t = res.x.reshape(K, d + 1)
    return t[:, :d], t[:, d]


def test_kkt_residual_small_at_solution_and_not_elsewhere():
    rng = np.random.default_rng(2)
    K, d, per = 3, 4, 8
    y = np.repeat(np.arange(K), per)
    h = 3 * simplex(K, d, seed=3)[y] + 0.5 * rng.normal(size=(K * per, d))
    W, b = solve_svm(h, y, K)
    at = nc.last_layer_kkt(h, y, 5.0 * W, 5.0 * b)               # any point of the ray
    assert at["stationarity"] < 1e-5 and abs(at["slackness"]) < 1e-5
    assert at["margin"] == pytest.approx(1 / np.sqrt((W ** 2).sum() + (b ** 2).sum()), rel=1e-5)
    off = nc.last_layer_kkt(h, y, W + 0.05 * rng.normal(size=W.shape), b)
    assert off["stationarity"] > 1e-3 and off["margin"] < at["margin"]
    bad = nc.last_layer_kkt(h, y, -W, b)                          # not separating
    assert np.isnan(bad["stationarity"]) and bad["n_active"] == 0


def test_etf_features_kkt_solution_is_the_means():
    K, d, per = 5, 7, 3
    M = simplex(K, d, seed=4)
    y = np.repeat(np.arange(K), per)
    out = nc.last_layer_kkt(2 * M[y], y, M, np.zeros(K))
    assert out["stationarity"] < 1e-10


def test_normalisation_is_scale_invariant():
    P = nc.init_mlp([0, 1], 5, 8, 3, dtype=torch.float64)
    x = torch.randn(7, 5, dtype=torch.float64)
    c = 3.0
    Q = dict(P, W1=c * P["W1"], b1=c * P["b1"], W2=c * P["W2"], b2=c * c * P["b2"])
    for norm in ("layer", "rms"):
        h, f = nc.mlp_forward(P, x, norm)
        hq, fq = nc.mlp_forward(Q, x, norm)
        assert torch.allclose(h, hq, atol=1e-5) and torch.allclose(f, fq, atol=1e-5)
    h, f = nc.mlp_forward(Q, x, "none")
    h0, f0 = nc.mlp_forward(P, x, "none")
    assert torch.allclose(h, c ** 2 * h0)
    R = dict(P, W3=c * P["W3"], b3=c * P["b3"])                   # degree 1 in (W3, b3)
    assert torch.allclose(nc.mlp_forward(R, x, "layer")[1], c * nc.mlp_forward(P, x, "layer")[1])


@pytest.fixture(scope="module")
def small():
    data = nc.load_data("digits", per_class=6)
    setup = nc.CollapseSetup(seeds=(0, 1), hidden=16, steps=60, n_records=4, dtype="float64", lr=0.1)
    return data, setup, nc.train_collapse(data, setup, progress=False)


def test_training_learns_and_is_batch_independent(small):
    data, setup, res = small
    assert isinstance(res, Result) and res.sweep.dims == ("norm", "seed")
    assert res["train_loss"].shape == (4, res.steps.size)
    assert np.all(res["train_loss"][:, -1] < res["train_loss"][:, 0])
    alone = nc.train_collapse(data, setup, seeds=1, progress=False)
    both = res.sweep.unflatten(res.params["W3"])[:, 1]
    np.testing.assert_allclose(alone.sweep.unflatten(alone.params["W3"])[:, 0], both, rtol=1e-10, atol=1e-12)
    ch = nc.terminal_change(res, "nc1")
    assert set(ch) == {"none", "layer"} and ch["layer"].shape == (2,)
    assert "digits" in nc.collapse_report({"digits": res})
    fig = nc.collapse_figure({"digits": res})
    assert len(fig.axes) == len(nc.NC_METRICS)


def test_mnist1d_loads():
    d = nc.load_data("mnist1d", per_class=3)
    assert d.x.shape == (30, 40) and np.bincount(d.y).tolist() == [3] * 10
    assert abs(d.x.mean()) < 1.0


def test_bad_input():
    with pytest.raises(ValueError, match="name"):
        nc.load_data("cifar")
    with pytest.raises(ValueError, match="norms"):
        nc.CollapseSetup(norms=("batch",))
    with pytest.raises(ValueError, match="seeds"):
        nc.CollapseSetup(seeds=(0, 0))
    with pytest.raises(ValueError, match="dtype"):
        nc.CollapseSetup(dtype="float16")
    with pytest.raises(TypeError, match="data"):
        nc.train_collapse("digits", nc.CollapseSetup())
    with pytest.raises(ValueError, match="y must"):
        nc.last_layer_kkt(np.zeros((3, 2)), np.array([0, 1, 5]), np.zeros((2, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="h must"):
        nc.last_layer_kkt(np.zeros((3, 2)), np.array([0, 1, 1]), np.zeros((2, 3)), np.zeros(2))
    with pytest.raises(ValueError, match="norms"):
        nc.mlp_forward(nc.init_mlp([0], 2, 3, 2), torch.zeros(1, 2), "batch")
    with pytest.raises(TypeError, match="result"):
        nc.terminal_change(Result(np.arange(2)), "nc1")


def test_cross_entropy_is_accurate_far_past_separation():
    z = torch.randn(2, 7, 4, dtype=torch.float64)
    y = torch.randint(0, 4, (7,))
    ref = torch.nn.functional.cross_entropy(z.reshape(-1, 4), y.repeat(2), reduction="none")
    torch.testing.assert_close(nc.cross_entropy(z, y), ref.reshape(2, -1).mean(1))
    torch.testing.assert_close(nc.log_cross_entropy(z, y).exp(), nc.cross_entropy(z, y))
    far = torch.zeros(1, 2, 3)                                    # float32, margins 150 and 200
    far[0, 0, 0], far[0, 1, 0] = 200.0, 150.0
    far.requires_grad_(True)
    nc.log_cross_entropy(far, torch.tensor([0, 0])).sum().backward()
    g = far.grad[0, 1]                                            # the least-separated point
    assert torch.isfinite(far.grad).all() and g[0].item() == pytest.approx(-1.0, rel=1e-5) and g[1:].sum().item() == pytest.approx(1.0, rel=1e-5)
    assert nc.cross_entropy(far.detach().double(), torch.tensor([0, 0])).item() > 0
