"""The escape page's analyses (theory.lottery.escape): Monte Carlo widths against closed forms, the
rotated hitting probability against the Beta law, Gordon's table, the exact quadratic prune
fraction against a brute-force Schur complement, the Gaussian magnitude projection, the figures and
bad input."""

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from theory.core import cap_hit_probability, chi_mean, width_cap  # noqa: E402
from theory.lottery import escape as es  # noqa: E402
from theory.lottery.gordon import p_max_isotropic, projection_length_curve  # noqa: E402


@pytest.mark.parametrize("k, D", [(1, 3), (4, 10), (30, 60)])
def test_sphere_width_mc_matches_chi_mean(k, D):
    m = es.sphere_width_mc(k, D, n_samples=20_000, seed=1)
    assert abs(m.width - chi_mean(k)) <= 4 * m.stderr


@pytest.mark.parametrize("theta, D", [(0.3, 3), (1.0, 20), (math.pi / 2, 10), (2.5, 30), (math.pi, 5)])
def test_cap_width_mc_matches_closed_form(theta, D):
    m = es.cap_width_mc(theta, D, n_samples=20_000, seed=2)
    assert abs(m.width - width_cap(theta, D)) <= 4 * m.stderr + 1e-12


def test_cap_sup_formula_against_points_of_the_cap():
    # the per-draw sup ‖g‖cos(max(φ − θ, 0)) is at least the max over a dense sample of the cap, and close to it
    rng = np.random.default_rng(0)
    theta = 0.7
    x = rng.standard_normal((200_000, 3))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    cap = x[x[:, 0] >= math.cos(theta)]
    for g in rng.standard_normal((20, 3)):
        r = np.linalg.norm(g)
        sup = r * math.cos(max(math.acos(g[0] / r) - theta, 0.0))
        best = float(np.max(cap @ g))
        assert best <= sup + 1e-12 and sup - best < 0.02 * r


def test_width_table_rows_agree():
    t = es.width_table(n_samples=4000, seed=0)
    assert len(t["label"]) == t["exact"].size == 9
    assert np.all(np.abs(t["z"]) <= 4.5)


def test_rotation_mc_matches_beta_law():
    D, n = 30, 4000
    for theta in (0.5, 1.1):
        p, se = es.hit_probability_rotation_mc(D, theta, n_samples=n, seed=3)
        e = np.array([cap_hit_probability(k, D, theta) for k in range(1, D + 1)])
        assert p.shape == (D,) and p[-1] == 1.0
        assert np.all(np.abs(p - e) <= 5 * (np.sqrt(e * (1 - e) / n) + 1 / n))
    p, _ = es.hit_probability_rotation_mc(D, 2.0, n_samples=100, seed=0)      # a cap past the equator: always met
    assert np.all(p == 1.0)


def test_beta_law_checks():
    b = es.beta_law_checks(n_samples=2000, seed=0, D=60, thetas=(0.6,))
    assert b["qr"].shape == (3,) and np.all(b["z_qr"] <= 4.0) and b["z_rot"] <= 5.0


def test_gordon_table_threshold_and_bound():
    t = es.gordon_table(100, [0.3, 0.7, 1.1])
    assert np.all(np.abs(t["threshold"] - t["crossing"]) <= 0.02 * 100)
    assert np.all(t["bound"] <= t["miss_exact"] + 1e-12)
    assert np.all(t["k_bound_zero"] < t["crossing"]) and np.all(t["k_bound_half"] < t["k_bound_zero"])
    with pytest.raises(ValueError, match="thetas"):
        es.gordon_table(100, [0.3, 1.7])


def _brute_force_q(H, w, order):
    D = w.size
    q = [0.0]
    for j in range(1, D + 1):
        P, K = order[:j], order[j:]
        S = H[np.ix_(P, P)]
        if K.size:
            S = S - H[np.ix_(P, K)] @ np.linalg.solve(H[np.ix_(K, K)], H[np.ix_(K, P)])
        q.append(0.5 * w[P] @ S @ w[P])
    return np.array(q)


def test_schur_prune_curve_matches_brute_force():
    rng = np.random.default_rng(5)
    G, D = 3, 9
    A = rng.standard_normal((G, D, D))
    H = A @ A.transpose(0, 2, 1) + 0.1 * np.eye(D)
    w = rng.standard_normal((G, D))
    order = np.argsort(rng.random((G, D)), axis=1)
    q = es.schur_prune_curve(H, w, order)
    for g in range(G):
        np.testing.assert_allclose(q[g], _brute_force_q(H[g], w[g], order[g]), rtol=1e-10, atol=1e-12)
        # the minimum over the axial subspace, checked directly: no kept-coordinate move does better
        j = 4
        P, K = order[g, :j], order[g, j:]
        dK = -np.linalg.solve(H[g][np.ix_(K, K)], H[g][np.ix_(K, P)] @ -w[g, P])
        delta = np.zeros(D)
        delta[P], delta[K] = -w[g, P], dK
        assert 0.5 * delta @ H[g] @ delta == pytest.approx(q[g, j], rel=1e-10)
        for _ in range(5):
            d2 = delta.copy()
            d2[K] += 0.1 * rng.standard_normal(K.size)
            assert 0.5 * d2 @ H[g] @ d2 >= q[g, j]
    assert np.all(np.diff(q, axis=1) >= -1e-12)                              # nested pruning never helps


def test_exact_prune_fraction_isotropic_is_kappa():
    # H = I: q_j = ½ Σ_{pruned} w², so p is the largest j/D with that ≤ ε
    ex = es.exact_prune_fraction(np.ones(50), 0.05, n_seeds=4, seed=0)
    q = ex.q
    assert np.all(np.diff(q, axis=1) >= -1e-15)
    for g in range(4):
        j = round(ex.p[g] * 50)
        assert q[g, j] <= 0.05 < (q[g, j + 1] if j < 50 else np.inf)
    # mean p ≈ κ/‖w‖² = 2ε (‖w‖² ≈ 1) and far below the condition's (√(κ²+4κ) − κ)/2
    iso = es.isotropic_checks(D=100, kappas=[0.01, 1.0], kappas_exact=(0.1,), n_seeds=6, seed=0)
    np.testing.assert_allclose(iso["solver"], iso["closed"], atol=1e-9)
    assert abs(iso["exact"][0] - 0.1) < 0.04 and iso["condition"][0] == pytest.approx(p_max_isotropic(0.1))


def test_exact_prune_fraction_monotone_in_scale_and_method():
    lam = np.geomspace(1e-3, 10, 40)
    ps = [es.exact_prune_fraction(c * lam, 1e-2, n_seeds=3, seed=1).p for c in (0.1, 1.0, 10.0)]
    assert np.all(ps[0] >= ps[1]) and np.all(ps[1] >= ps[2]) and ps[0].mean() > ps[2].mean()
    r = es.exact_prune_fraction(lam, 1e-2, n_seeds=6, seed=1, method="random").p.mean()
    m = es.exact_prune_fraction(lam, 1e-2, n_seeds=6, seed=1, method="magnitude").p.mean()
    assert m > r


def test_magnitude_projection_gaussian():
    p = np.linspace(0, 1, 11)
    f = es.magnitude_projection_gaussian(p)
    assert f[0] == pytest.approx(0.0, abs=1e-15) and f[-1] == 1.0 and np.all(np.diff(f) > 0) and np.all(f <= p + 1e-15)
    assert es.magnitude_projection_gaussian(0.5) == pytest.approx(0.5 - 2 * 0.6744897501960817 * 0.3177765727, rel=1e-8)
    w = np.random.default_rng(0).standard_normal(200_000)
    emp = projection_length_curve(w, p, "magnitude") ** 2 / np.sum(w * w)
    assert np.max(np.abs(emp - f)) < 5e-3
    c = es.projection_curves(n_weights=10_000, seed=0)
    assert np.max(np.abs(c["magnitude"] - c["magnitude_limit"])) < 0.02 and np.allclose(c["random"], c["p"])


def test_larsen_table_on_a_ball_is_symmetric():
    r = np.full(20, 0.4)
    t = es.larsen_table([(r, 1.0)], n_samples=4000, seed=0)
    assert t["gap"].shape == (1, 2)
    np.testing.assert_allclose(t["gap"], t["larsen"] / t["exact"] - 1)
    cap = width_cap(math.asin(0.4), 20) ** 2                                  # projected ball = cap of angle arcsin(r/R)
    assert np.all(np.abs(t["exact"] - cap) <= 4 * t["stderr"])


def test_prune_sweep_and_figures():
    lam = np.geomspace(1e-3, 10, 30)
    sw = es.prune_sweep(lam, [0.1, 1.0, 10.0], 1e-2, n_seeds=3, seed=0, n_grid=101)
    assert sw["predicted"].shape == sw["exact"].shape == (2, 3, 3)
    assert np.all(sw["predicted"][1] >= sw["predicted"][0] - 1e-9)            # magnitude's ℓ is shorter
    assert np.all(np.diff(sw["predicted"].mean(axis=2), axis=1) < 0)
    fig = es.prune_figure(sw, es.projection_curves(1000, seed=0))
    assert [a.get_xlabel() for a in fig.axes][:2] == ["eigenvalue scale c (Hessian spectrum c·λ)", "pruned fraction p"]
    fig2 = es.hit_figure(40, (0.5, 1.0), n_samples=200, seed=0, every=5)
    assert fig2.axes[0].get_legend() is not None
    text = es.format_tables(width=es.width_table(500, 0), gordon=es.gordon_table(40, [0.5]))
    assert "Gordon D − m*" in text and "cap θ=0.5" in text
    iso = es.isotropic_checks(D=20, kappas=[0.5], kappas_exact=(0.5,), n_seeds=2, seed=0)
    text = es.format_tables(sweep=sw, iso=iso)
    assert text.count("exact:") == 2 and "isotropic" in text
    import matplotlib.pyplot as plt
    plt.close("all")


@pytest.mark.parametrize("call, match", [
    (lambda: es.sphere_width_mc(5, 3), "k must be <= D"),
    (lambda: es.cap_width_mc(4.0, 3), "theta"),
    (lambda: es.hit_probability_rotation_mc(1, 0.5), "D"),
    (lambda: es.exact_prune_fraction([1.0, -1.0], 0.1), "eigenvalues"),
    (lambda: es.exact_prune_fraction([1.0, 1.0], 0.0), "eps"),
    (lambda: es.exact_prune_fraction([1.0, 1.0], 0.1, method="lottery"), "method"),
    (lambda: es.schur_prune_curve(np.eye(3)[None], np.ones((1, 3)), np.array([[0, 0, 1]])), "permutation"),
    (lambda: es.schur_prune_curve(-np.eye(3)[None], np.ones((1, 3)), np.array([[0, 1, 2]])), "positive definite"),
    (lambda: es.schur_prune_curve(np.eye(3)[None], np.ones((1, 4)), np.array([[0, 1, 2, 3]])), "shape"),
    (lambda: es.magnitude_projection_gaussian(1.5), "p must lie"),
    (lambda: es.prune_sweep([1.0, 2.0], [0.0], 0.1), "scales"),
    (lambda: es.isotropic_checks(kappas=[-1.0]), "kappas"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
