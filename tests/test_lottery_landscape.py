"""theory.lottery.landscape: the Hessian at a solution, the Schur, Gordon and retraining answers to
"how much can be pruned in one step" (the book's reconstruction of Paul et al. 2023, §3.3)."""

import numpy as np
import pytest
import torch

from theory.lottery import MLP, load_split
from theory.lottery.gordon import projection_length_curve, prune_condition_rhs
from theory.lottery.landscape import (SmoothMLP, first_crossing_p, gordon_increase, gordon_p_max,
                                      landscape_study, objective, p_max_vs_eps, prune_masks, retrain_increase,
                                      schur_increase, solve_minimum, spectrum_checks, weight_hessian)

KAPPA = 1e-2


@pytest.fixture(scope="module")
def tiny():
    split = load_split("digits", n_train=120)
    net = SmoothMLP((64, 5, 10))
    theta, g = solve_minimum(net, split, (0,), adam_steps=300, weight_decay=KAPPA)
    H = weight_hessian(net, theta[0], split, weight_decay=KAPPA)
    return net, split, theta, g, H


def _spd(n, seed=0):
    A = np.random.default_rng(seed).normal(size=(n, n))
    return A @ A.T / n + 0.1 * np.eye(n)


def test_smooth_mlp_is_the_spines_layout_with_softplus():
    net, relu = SmoothMLP((4, 3, 2)), MLP((4, 3, 2))
    assert net.n_params == relu.n_params and net.n_weights == relu.n_weights
    th = net.init(np.array([3]))
    assert torch.equal(th, relu.init(np.array([3])))
    X = torch.randn(5, 4, dtype=torch.float64)
    Ws, bs = net.split(th[0])
    want = torch.nn.functional.softplus(X @ Ws[0] + bs[0]) @ Ws[1] + bs[1]
    assert torch.allclose(net.logits(th[0], X), want, atol=1e-14)
    with pytest.raises(ValueError, match="features"):
        net.logits(th[0], torch.zeros(5, 3, dtype=torch.float64))


def test_minimum_is_genuine_and_hessian_exact(tiny):
    net, split, theta, g, H = tiny
    assert g[0] < 1e-5
    D = net.n_weights
    b = theta[0, D:]
    ref = torch.func.hessian(lambda w: objective(net, torch.cat([w, b]), split.X_train, split.y_train, KAPPA))(theta[0, :D])
    assert torch.allclose(H, ref, atol=1e-12, rtol=0)
    c = spectrum_checks(H)
    assert c["asymmetry"] < 1e-12
    assert c["eig_sum"] == pytest.approx(c["trace"], rel=1e-12)
    assert c["eigenvalues"][0] > 0                     # a strict minimum in the weights
    with pytest.raises(ValueError, match="square"):
        spectrum_checks(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="theta"):
        weight_hessian(net, theta, split)


def test_schur_equals_the_inverse_formula_and_brute_force():
    H, w = _spd(12), np.random.default_rng(1).normal(size=12)
    m = np.ones((2, 12))
    m[0, [1, 5, 7]] = 0
    m[1, :6] = 0
    got = schur_increase(H, w, m)
    for row, val in zip(m, got):
        P, K = row == 0, row == 1
        # S = ((H^{-1})_PP)^{-1}, an independent identity for the Schur complement
        S = np.linalg.inv(np.linalg.inv(H)[np.ix_(P, P)])
        assert val == pytest.approx(0.5 * w[P] @ S @ w[P], rel=1e-10)
        # brute force: the minimiser over δ_K solves H_KK δ_K = H_KP w_P; nothing does better
        dK = np.linalg.solve(H[np.ix_(K, K)], H[np.ix_(K, P)] @ w[P])
        d = np.zeros(12)
        d[P], d[K] = -w[P], dK
        assert val == pytest.approx(0.5 * d @ H @ d, rel=1e-10)
        d2 = d.copy()
        d2[K] += 0.01
        assert 0.5 * d2 @ H @ d2 > val
    bad = -np.eye(12)
    with pytest.raises(ValueError, match="positive definite"):
        schur_increase(bad, w, m)
    with pytest.raises(ValueError, match="masks"):
        schur_increase(H, w, m[:, :5])


def test_gordon_curve_inverts_the_condition():
    lam = np.geomspace(1e-3, 2.0, 300)
    f = np.array([0.05, 0.2, 0.6])
    ell = np.array([0.5, 1.0, 3.0])
    e = gordon_increase(lam, ell, f)
    for p, l, ep in zip(f, ell, e):
        assert prune_condition_rhs(lam, ep, l) == pytest.approx(p * lam.size, rel=1e-9)
    # p_max of the fixed point is where the curve reaches ε
    w = np.random.default_rng(0).normal(size=300)
    for method in ("random", "magnitude"):
        pm = gordon_p_max(lam, 0.01, w, method)
        assert 0 < pm < 1
        l = float(projection_length_curve(w, pm, method))
        assert gordon_increase(lam, [l], [pm])[0] == pytest.approx(0.01, rel=1e-6)
    assert gordon_p_max(lam, 0.01, w, "magnitude") > gordon_p_max(lam, 0.01, w, "random")
    with pytest.raises(ValueError, match="eigenvalues"):
        gordon_increase(np.r_[lam, 0.0], ell, f)
    with pytest.raises(ValueError, match="method"):
        gordon_p_max(lam, 0.01, w, "movement")


def test_first_crossing():
    f = np.array([0.1, 0.2, 0.4])
    assert first_crossing_p(f, [1e-3, 1e-2, 1e-1], 1e-2) == (0.2, True)
    p, ok = first_crossing_p(f, [1e-3, 1e-1, 1.0], 1e-2)   # log-linear: halfway
    assert ok and p == pytest.approx(0.15)
    assert first_crossing_p(f, [0.02, 0.1, 1.0], 0.01) == (pytest.approx(0.05), True)
    assert first_crossing_p(f, [1e-4, 1e-3, 1e-3], 1e-2) == (0.4, False)
    with pytest.raises(ValueError, match="fractions"):
        first_crossing_p([0.3, 0.2], [1, 2], 1.0)
    with pytest.raises(ValueError, match="increase"):
        first_crossing_p(f, [1, 2], 1.0)
    with pytest.raises(ValueError, match="eps"):
        first_crossing_p(f, [1, 2, 3], 0.0)


def test_prune_masks():
    w = torch.tensor([0.5, -0.1, 2.0, 0.05, -1.0, 0.3, 0.0, 0.7, -0.2, 1.5], dtype=torch.float64)
    m = prune_masks(w, [0.2, 0.5], "magnitude")
    assert m.sum(1).tolist() == [8, 5]
    assert m[0, [3, 6]].sum() == 0                      # the two smallest |w| go first
    r = prune_masks(w, [0.2, 0.5], "random", seed=4)
    assert r.sum(1).tolist() == [8, 5]
    assert torch.equal(r, prune_masks(w, [0.2, 0.5], "random", seed=4))
    with pytest.raises(ValueError, match="method"):
        prune_masks(w, [0.2], "movement")
    with pytest.raises(ValueError, match="fractions"):
        prune_masks(w, [0.0, 0.5], "random")


def test_retraining_matches_schur_in_the_quadratic_regime(tiny):
    net, split, theta, g, H = tiny
    D = net.n_weights
    w = theta[0, :D]
    f = np.array([0.2, 0.25])
    masks = torch.cat([torch.ones(1, D, dtype=torch.float64), prune_masks(w, f, "magnitude")])
    dF, gr, th = retrain_increase(net, theta[0].expand(3, -1), masks, split, weight_decay=KAPPA, steps=400)
    assert abs(dF[0]) < 1e-9                            # nothing pruned: stays at the minimum
    assert torch.all(th[:, :D][masks == 0] == 0) and torch.equal(th[:, D:], theta[0, D:].expand(3, -1))
    S = schur_increase(H, w, masks[1:])
    assert np.all(S > 0)
    gap = np.abs(dF[1:] / S - 1)
    assert gap[0] < 0.01                                # a small magnitude-pruning move is quadratic
    assert gap[1] > gap[0]                              # and the model's error grows with the move
    assert np.all(gr[1:] < 1e-4)


def test_study_end_to_end():
    split = load_split("digits", n_train=100)
    st = landscape_study(SmoothMLP((64, 4, 10)), split, seeds=(0,), fractions=(0.05, 0.2, 0.5, 0.8),
                         adam_steps=200, retrain_steps=150, progress=False)
    assert st.eps[0] == pytest.approx(0.05 * st.L_star[0])
    for m in ("random", "magnitude"):
        for k in ("schur", "gordon", "measured"):
            assert st.curves[m][k].shape == (1, 4)
            assert 0 < st.p_max[m][k][0] <= 1
    assert st.p_max["magnitude"]["gordon"][0] >= st.p_max["random"]["gordon"][0]
    assert np.all(st.curves["magnitude"]["ell"] <= st.curves["random"]["ell"] + 1e-12)  # smallest pD first
    with pytest.raises(ValueError, match="fractions"):
        landscape_study(SmoothMLP((64, 4, 10)), split, fractions=(0.5, 0.2), progress=False)
    with pytest.raises(ValueError, match="inputs"):
        landscape_study(SmoothMLP((40, 4, 10)), split, progress=False)


def test_p_max_vs_eps_is_monotone():
    split = load_split("digits", n_train=100)
    st = landscape_study(SmoothMLP((64, 4, 10)), split, seeds=(0,), fractions=(0.05, 0.2, 0.5, 0.8),
                         adam_steps=200, retrain_steps=150, progress=False)
    v = p_max_vs_eps(st, (0.02, 0.05, 0.2))
    assert v["gordon"].shape == (1, 3)
    for k in ("schur", "gordon", "measured"):
        assert np.all(np.diff(v[k], axis=1) >= -1e-12)  # a larger tolerance never prunes less
    assert v["gordon"][0, 1] == pytest.approx(st.p_max["random"]["gordon"][0])
    with pytest.raises(TypeError, match="study"):
        p_max_vs_eps({}, (0.1,))
    with pytest.raises(ValueError, match="eps_fractions"):
        p_max_vs_eps(st, (0.0,))
