"""theory.embodied.judges: the classifier two-sample tests (logistic regression on features, a
small conv network on raw windows), the MMD test, their batched permutation p-values, and power
against the data budget — on synthetic samples made here."""

from __future__ import annotations

import numpy as np
import pytest

from theory.embodied import judges as J

DT = 0.05
BIG = (-5.0, 5.0, -5.0, 5.0)   # an arena that holds every synthetic window


def ou_windows(n, L, *, seed, tau_steps=8.0, sigma=0.15):
    """n independent windows (n, L, 2) of a smooth walker: an Ornstein–Uhlenbeck velocity."""
    rng = np.random.default_rng(seed)
    a = np.exp(-1 / tau_steps)
    v = sigma * rng.standard_normal((n, 2))
    out = np.empty((n, L, 2))
    x = rng.uniform(0, 1, (n, 2))
    for t in range(L):
        v = a * v + np.sqrt(1 - a * a) * sigma * rng.standard_normal((n, 2))
        x = x + v * DT
        out[:, t] = x
    return out


def brownian_windows(n, L, *, seed, sigma=0.15):
    """n windows of a Brownian walker of the same mean-square velocity per step."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (n, 1, 2)) + np.cumsum(sigma * DT * rng.standard_normal((n, L, 2)), axis=1)


def gaussian_halves(n, F, *, seed, shift=0.0):
    """Two halves of one i.i.d. Gaussian feature process (shift moves the second half)."""
    z = np.random.default_rng(seed).standard_normal((2 * n, F))
    z[n:, 0] += shift
    return z[:n], z[n:]


SMALL_NET = J.NetworkSpec(channels=4, steps=40)


# ----------------------------------------------------------------------------- null calibration
def test_features_judge_on_two_halves_of_one_process_keeps_its_level():
    aucs, ps = [], []
    for s in range(20):
        a, b = gaussian_halves(60, 8, seed=100 + s)
        r = J.classifier_test(a, b, n_permutations=99, seed=s)
        aucs.append(r.auc)
        ps.append(r.p_value)
    ps = np.array(ps)
    assert abs(np.mean(aucs) - 0.5) < 0.05
    # false positives at α = 0.05 over 20 seeds: Binomial(20, 0.05), P(≥ 5) = 0.003
    assert np.sum(ps <= 0.05) <= 4
    assert 0.3 < ps.mean() < 0.7


def test_mmd_on_two_halves_of_one_process_keeps_its_level():
    ps, stats = [], []
    for s in range(20):
        a, b = gaussian_halves(60, 8, seed=200 + s)
        r = J.mmd_test(a, b, n_permutations=99, seed=s)
        ps.append(r.p_value)
        stats.append(r.statistic)
    ps = np.array(ps)
    assert np.sum(ps <= 0.05) <= 4
    assert 0.3 < ps.mean() < 0.7
    assert abs(np.mean(stats)) < 3 * np.std(stats) / np.sqrt(20) + 1e-3   # unbiased: mean ≈ 0


def test_network_judge_on_two_halves_of_one_process_keeps_its_level():
    ps, aucs = [], []
    for s in range(10):
        w = ou_windows(60, 25, seed=300 + s)
        r = J.classifier_test(w[:30], w[30:], judge="network", dt=DT, n_permutations=19, seed=s,
                              network=SMALL_NET)
        ps.append(r.p_value)
        aucs.append(r.auc)
    # Binomial(10, 0.05): P(≥ 3) = 0.012
    assert np.sum(np.array(ps) <= 0.05) <= 2
    assert abs(np.mean(aucs) - 0.5) < 0.1


# ----------------------------------------------------------------------------------------- power
def test_clearly_different_processes_are_distinguished():
    a, b = gaussian_halves(80, 8, seed=1, shift=1.5)
    r = J.classifier_test(a, b, n_permutations=99, seed=0)
    assert r.auc > 0.8 and r.p_value == 0.01
    m = J.mmd_test(a, b, n_permutations=99, seed=0)
    assert m.p_value == 0.01 and m.statistic > 0
    wa, wb = ou_windows(40, 25, seed=5), brownian_windows(40, 25, seed=6)
    n = J.classifier_test(wa, wb, judge="network", dt=DT, n_permutations=19, seed=0, network=SMALL_NET)
    assert n.auc > 0.9 and n.p_value == 0.05


def test_power_grows_with_the_budget():
    wa, wb = ou_windows(200, 20, seed=7), brownian_windows(200, 20, seed=8)
    window_s = 20 * DT
    res = J.power(wa, wb, [4 * window_s, 100 * window_s], judge="mmd", n_repeats=6, seed=0,
                  window_s=window_s, dt=DT, n_permutations=49, arena=BIG)
    assert res.statistic.shape == res.p_value.shape == (2, 6) and res.null.shape == (2, 6, 49)
    assert list(res.n_windows) == [4, 100]
    assert res.rejection_rate[1] == 1.0 and res.rejection_rate[0] < 1.0
    np.testing.assert_array_equal(res.rejection_rate, (res.p_value <= 0.05).mean(1))
    with pytest.raises(ValueError, match="no AUC"):
        res.auc
    assert res.at(100 * window_s) == 1


def test_power_on_trajectories_cuts_contiguous_stretches():
    from theory.embodied.data import Trajectory

    path = ou_windows(1, 1200, seed=23)[0]
    walk = brownian_windows(1, 1200, seed=24)[0]
    t = DT * np.arange(1200)
    a = Trajectory(t=t, xy=path, dt=DT, arena=BIG, source="ou")
    b = Trajectory(t=t, xy=walk, dt=DT, arena=BIG, source="brownian")
    res = J.power(a, b, [10.0, 60.0], judge="features", n_repeats=3, seed=0, window_s=1.0, n_permutations=19)
    assert (res.candidate, res.real) == ("ou", "brownian")
    assert list(res.n_windows) == [10, 60]
    assert res.auc.shape == (2, 3) and res.minutes[1] == 1.0
    with pytest.raises(ValueError, match="budgets_s"):
        J.power(a, b, [70.0], judge="features", n_repeats=1, window_s=1.0)
    with pytest.raises(ValueError, match="dt"):
        J.power(a, Trajectory(t=2 * t, xy=walk, dt=2 * DT, arena=BIG, source="slow"), [10.0], window_s=1.0)


def test_power_draws_scattered_or_contiguous_windows(monkeypatch):
    w = np.arange(30 * 4 * 2, dtype=float).reshape(30, 4, 2)     # window i holds the values 8i … 8i + 7
    seen = []

    def spy(a, b, **kw):
        seen.append((a[:, 0, 0] / 8).astype(int))
        return J.JudgeResult("mmd", 0.0, 1.0, np.zeros(3), len(a), len(b), 0, 0, 3, 0)

    monkeypatch.setattr(J, "judge_test", spy)
    for sampling in ("contiguous", "scattered"):
        seen.clear()
        J.power(w, w + 1, [10 * 0.4], judge="mmd", n_repeats=3, window_s=0.4, dt=0.1, n_permutations=3,
                sampling=sampling)
        for idx in seen:
            assert len(idx) == 10 and np.all(np.diff(idx) > 0)
        if sampling == "contiguous":
            assert all(np.all(np.diff(idx) == 1) for idx in seen)
        else:
            assert any(np.any(np.diff(idx) > 1) for idx in seen)
    with pytest.raises(ValueError, match="sampling"):
        J.power(w, w, [4.0], judge="mmd", window_s=0.4, dt=0.1, sampling="random")


def test_power_is_deterministic_and_validates():
    wa, wb = ou_windows(40, 20, seed=9), ou_windows(40, 20, seed=10)
    kw = dict(judge="features", n_repeats=2, seed=3, window_s=1.0, dt=DT, n_permutations=19)
    r1, r2 = (J.power(wa, wb, [10.0], **kw, arena=BIG) for _ in range(2))
    np.testing.assert_array_equal(r1.statistic, r2.statistic)
    np.testing.assert_array_equal(r1.null, r2.null)
    with pytest.raises(ValueError, match="budgets_s"):
        J.power(wa, wb, [100.0], **kw)
    with pytest.raises(ValueError, match="budgets_s"):
        J.power(wa, wb, [1.0], **kw)     # one window per side
    with pytest.raises(ValueError, match="judge"):
        J.power(wa, wb, [10.0], **{**kw, "judge": "oracle"})


# ------------------------------------------------------------------ batched = loop, determinism
@pytest.mark.parametrize("judge", ["features", "network", "mmd"])
def test_batched_permutations_equal_a_loop_of_single_permutations(judge):
    if judge == "network":
        a, b = ou_windows(20, 25, seed=11), brownian_windows(20, 25, seed=12)
        kw = dict(dt=DT, network=SMALL_NET, n_permutations=9)
    else:
        a, b = gaussian_halves(50, 6, seed=13, shift=0.3)
        kw = dict(n_permutations=49)
    batched = J.judge_test(a, b, judge=judge, seed=4, **kw)
    looped = J.judge_test(a, b, judge=judge, seed=4, perm_batch=1, **kw)
    chunked = J.judge_test(a, b, judge=judge, seed=4, perm_batch=7, **kw)
    for other in (looped, chunked):
        assert other.statistic == pytest.approx(batched.statistic, rel=0, abs=1e-12)
        assert other.p_value == batched.p_value
        np.testing.assert_allclose(other.null, batched.null, rtol=0, atol=1e-12)
        if judge != "mmd":   # AUCs are rank statistics: identical
            assert other.statistic == batched.statistic
            np.testing.assert_array_equal(other.null, batched.null)


@pytest.mark.parametrize("judge", ["features", "mmd"])
def test_same_seed_same_numbers_other_seed_other_null(judge):
    a, b = gaussian_halves(40, 5, seed=14)
    r1, r2 = (J.judge_test(a, b, judge=judge, seed=1, n_permutations=29) for _ in range(2))
    r3 = J.judge_test(a, b, judge=judge, seed=2, n_permutations=29)
    assert r1.statistic == r2.statistic and r1.p_value == r2.p_value
    np.testing.assert_array_equal(r1.null, r2.null)
    assert not np.array_equal(r1.null, r3.null)


def test_p_value_is_one_plus_the_count_over_one_plus_p():
    a, b = gaussian_halves(30, 4, seed=15, shift=0.5)
    for r in (J.classifier_test(a, b, n_permutations=39, seed=0), J.mmd_test(a, b, n_permutations=39, seed=0)):
        assert r.null.shape == (39,)
        assert r.p_value == (1 + np.sum(r.null >= r.statistic)) / 40


# ------------------------------------------------------------------------ the pieces, checked
def test_logistic_regression_matches_scikit_learn():
    from sklearn.linear_model import LogisticRegression

    a, b = gaussian_halves(60, 5, seed=16, shift=1.0)
    r = J.classifier_test(a, b, n_permutations=1, seed=0, l2=2.0)
    assert r.extra["max_gradient_norm"] < 1e-8
    # refit the observed split by scikit-learn: objective C·Σ loss + ½‖w‖², C = 1/λ, intercept free
    import torch

    X = np.concatenate([a, b])
    y = np.r_[np.ones(60), np.zeros(60)]
    mu, sd = X.mean(0), X.std(0)
    Xs = (X - mu) / sd
    scores, _ = J._logistic_scores(torch.as_tensor(Xs), torch.as_tensor(y[None]), torch.as_tensor(Xs), 2.0, 25)
    clf = LogisticRegression(C=0.5, tol=1e-12, max_iter=10_000).fit(Xs, y)
    np.testing.assert_allclose(scores.numpy()[0], clf.decision_function(Xs), atol=1e-6)


def test_auc_matches_scikit_learn_with_ties():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(17)
    s = np.round(rng.standard_normal((3, 40)), 1)   # many ties
    y = rng.permuted(np.tile(np.r_[np.ones(20), np.zeros(20)], (3, 1)), axis=1).astype(bool)
    np.testing.assert_allclose(J._auc(s, y), [roc_auc_score(y[i], s[i]) for i in range(3)], atol=1e-14)


def test_mmd_equals_the_unbiased_formula_term_by_term():
    rng = np.random.default_rng(18)
    a, b = rng.standard_normal((7, 3)), rng.standard_normal((5, 3)) + 0.4
    r = J.mmd_test(a, b, n_permutations=3, seed=0, bandwidth=1.3)
    Z = np.concatenate([a, b])
    Z = (Z - Z.mean(0)) / Z.std(0)
    x, y = Z[:7], Z[7:]

    def k(u, v):
        return np.exp(-np.sum((u - v) ** 2) / (2 * 1.3**2))

    kxx = sum(k(x[i], x[j]) for i in range(7) for j in range(7) if i != j) / 42
    kyy = sum(k(y[i], y[j]) for i in range(5) for j in range(5) if i != j) / 20
    kxy = sum(k(x[i], y[j]) for i in range(7) for j in range(5)) / 35
    assert r.statistic == pytest.approx(kxx + kyy - 2 * kxy, abs=1e-12)
    med = J.mmd_test(a, b, n_permutations=3, seed=0)
    d = np.sqrt(((Z[:, None] - Z[None]) ** 2).sum(-1))[np.triu_indices(12, 1)]
    assert med.extra["bandwidth"] == pytest.approx(np.median(d), rel=1e-12)


def test_classes_are_balanced_and_split():
    a, b = gaussian_halves(50, 3, seed=19)
    r = J.classifier_test(a, b[:20], n_permutations=5, seed=0, test_fraction=0.25)
    assert (r.n_a, r.n_b, r.n_test, r.n_train) == (20, 20, 10, 30)
    r = J.classifier_test(a, b, n_permutations=5, seed=0, split="ordered")
    assert r.n_test == 50


# ---------------------------------------------------------------------------------- validation
def test_bad_input_gets_a_clear_error():
    a, b = gaussian_halves(10, 3, seed=20)
    w = ou_windows(6, 10, seed=21)
    with pytest.raises(ValueError, match="windows_b.*at least two"):
        J.classifier_test(a, b[:1])
    with pytest.raises(ValueError, match="windows_a.*at least two"):
        J.mmd_test(a[:1], b)
    bad = a.copy()
    bad[3, 1] = np.nan
    for fn in (J.classifier_test, J.mmd_test):
        with pytest.raises(ValueError, match="windows_a.*finite"):
            fn(bad, b)
    with pytest.raises(ValueError, match="windows_b.*window lengths"):
        J.classifier_test(w, ou_windows(6, 12, seed=22), judge="network")
    with pytest.raises(ValueError, match="windows_a.*different lengths"):
        J.classifier_test([w[0], w[1, :5]], w, judge="network")
    with pytest.raises(ValueError, match="windows_b.*feature dimensions"):
        J.mmd_test(a, b[:, :2])
    with pytest.raises(ValueError, match="windows_a.*3 dimension"):
        J.classifier_test(a, b, judge="network")        # the network needs raw windows
    with pytest.raises(ValueError, match="arena"):
        J.classifier_test(w, w)                         # features of raw windows need the arena
    with pytest.raises(ValueError, match="judge"):
        J.classifier_test(a, b, judge="mmd")
    with pytest.raises(ValueError, match="n_permutations"):
        J.classifier_test(a, b, n_permutations=0)
    with pytest.raises(ValueError, match="test_fraction"):
        J.classifier_test(a, b, test_fraction=1.0)
    with pytest.raises(ValueError, match="split"):
        J.classifier_test(a, b, split="halves")
    with pytest.raises(ValueError, match="kernel"):
        J.mmd_test(a, b, kernel="cosine")
    with pytest.raises(ValueError, match="bandwidth"):
        J.mmd_test(a, b, bandwidth=-1.0)
    with pytest.raises(TypeError, match="network"):
        J.classifier_test(w, w, judge="network", network={"channels": 3})
    with pytest.raises(ValueError, match="channels"):
        J.NetworkSpec(channels=0)


def test_network_gradient_by_hand_equals_autograd():
    import torch

    rng = np.random.default_rng(25)
    spec = J.NetworkSpec(channels=3, weight_decay=0.01)
    n, l, f, B = 7, 5, 4, 3
    P = torch.as_tensor(rng.standard_normal((n, l, f)))
    Y = torch.as_tensor(rng.integers(0, 2, (B, n)).astype(float))
    params = [torch.as_tensor(rng.standard_normal(s)) for s in ((f, B * 3), (B * 3,), (B, 3), (B,))]
    grads, _ = J._network_grads(P.reshape(n * l, f), P.reshape(n * l, f).T.contiguous(), Y, params, n, l,
                                spec.weight_decay)
    leaves = [p.clone().requires_grad_(True) for p in params]
    auto = torch.autograd.grad(J._network_loss(P, Y, leaves, spec), leaves)
    for g, a in zip(grads, auto):
        torch.testing.assert_close(g, a, rtol=1e-12, atol=1e-12)
