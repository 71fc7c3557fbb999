"""Gaussian width and Gordon's escape (theory.core._gaussian_width): closed forms against Monte Carlo,
limits, the exact Beta law of random subspaces meeting a cap, Gordon's bound and threshold, errors."""

import math

import numpy as np
import pytest
from scipy import integrate, stats

from theory.core import _gaussian_width as gw
from theory.core import (cap_hit_crossing, cap_hit_probability, cap_hit_probability_mc, chi_mean,
                         gordon_escape_bound, gordon_threshold_codimension, gordon_threshold_dimension,
                         larsen_width_sq, width_cap, width_ellipsoid, width_ellipsoid_jensen,
                         width_ellipsoid_mc, width_from_points, width_projected_ellipsoid_mc,
                         width_subspace_sphere)

Z = 4.0  # Monte Carlo agreement: within 4 standard errors


def _uniform_sphere(rng, n, D):
    x = rng.standard_normal((n, D))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# ------------------------------------------------------------------------- subspace spheres
@pytest.mark.parametrize("k", [1, 2, 5, 40])
def test_chi_mean_matches_monte_carlo_and_bounds(k):
    rng = np.random.default_rng(k)
    norms = np.linalg.norm(rng.standard_normal((200_000, k)), axis=1)
    a = chi_mean(k)
    assert abs(a - norms.mean()) < Z * norms.std() / math.sqrt(norms.size)
    assert k / math.sqrt(k + 1) <= a <= math.sqrt(k)
    assert chi_mean(1) == pytest.approx(math.sqrt(2 / math.pi), rel=1e-14)


def test_chi_mean_large_k_is_finite_and_near_sqrt_k():
    a = chi_mean(10**6)
    assert math.isfinite(a) and abs(a - math.sqrt(10**6 - 0.5)) < 1e-6


def test_subspace_sphere_width_from_points():
    """The unit circle of a 2-plane in R^6, sampled densely: its sample width is a_2 from below."""
    D, k = 6, 2
    basis = np.linalg.qr(np.random.default_rng(3).standard_normal((D, k)))[0]
    ang = np.linspace(0, 2 * np.pi, 2000, endpoint=False)
    pts = np.stack([np.cos(ang), np.sin(ang)], 1) @ basis.T
    est = width_from_points(pts, 40_000, seed=1)
    assert width_subspace_sphere(k, D) == chi_mean(k)
    assert abs(est.width - chi_mean(k)) < Z * est.stderr + 1e-5   # 1 − cos(π/2000) ≈ 1.2e-6


# ------------------------------------------------------------------------------ the cap
@pytest.mark.parametrize("D", [2, 3, 10, 200, 5000])
@pytest.mark.parametrize("theta", [0.0, 0.3, 1.0, math.pi / 2, 2.0, math.pi])
def test_cap_closed_form_equals_quadrature(D, theta):
    assert width_cap(theta, D) == pytest.approx(width_cap(theta, D, method="quad"), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("D, theta", [(3, 0.5), (10, 0.8), (10, 2.2), (50, 1.2)])
def test_cap_width_matches_monte_carlo(D, theta):
    """sup over the cap = ‖g‖ cos(max(φ − θ, 0)), averaged over draws of g."""
    rng = np.random.default_rng(D)
    g = rng.standard_normal((200_000, D))
    norm = np.linalg.norm(g, axis=1)
    phi = np.arccos(np.clip(g[:, 0] / norm, -1, 1))
    sups = norm * np.cos(np.maximum(phi - theta, 0.0))
    assert abs(width_cap(theta, D) - sups.mean()) < Z * sups.std() / math.sqrt(sups.size)


def test_cap_width_sample_of_points_is_a_lower_bound():
    """Points sampled inside a cap (D = 3) have a width at most the cap's, and close to it when dense."""
    D, theta = 3, 0.7
    pts = _uniform_sphere(np.random.default_rng(0), 200_000, D)
    pts = pts[pts[:, 0] >= math.cos(theta)]
    est = width_from_points(pts, 4000, seed=2)
    assert est.width < width_cap(theta, D) + Z * est.stderr
    assert est.width > width_cap(theta, D) - 0.02 - Z * est.stderr


@pytest.mark.parametrize("D", [2, 5, 100])
def test_cap_width_limits(D):
    a_D = chi_mean(D)
    assert width_cap(0.0, D) == 0.0                      # a single point
    assert width_cap(math.pi, D) == pytest.approx(a_D, rel=1e-14)   # the whole sphere
    ratio = math.exp(2 * math.lgamma(D / 2) - math.lgamma((D - 1) / 2) - math.lgamma((D + 1) / 2))
    assert width_cap(math.pi / 2, D) == pytest.approx(a_D * (1 + ratio) / 2, rel=1e-12)  # hemisphere
    thetas = np.linspace(0, math.pi, 40)
    ws = np.array([width_cap(t, D) for t in thetas])
    assert np.all(np.diff(ws) >= 0)                       # growing with the angle, strictly up to
    assert np.all(np.diff(ws[thetas <= math.pi / 2]) > 0)  # π/2 (beyond, by less than float eps at D = 100)
    # small angles: w ≈ a_{D-1} sin θ (the cap is nearly a (D−1)-ball of radius sin θ)
    assert width_cap(1e-4, D) == pytest.approx(chi_mean(D - 1) * math.sin(1e-4), rel=1e-3)


# ------------------------------------------------------------------------------ ellipsoids
@pytest.mark.parametrize("radii", [[1.0] * 7, [0.1, 1.0, 5.0], list(np.geomspace(1e-3, 10, 60))])
def test_ellipsoid_quadrature_monte_carlo_and_jensen(radii):
    w = width_ellipsoid(radii)
    mc = width_ellipsoid_mc(radii, 100_000, seed=4)
    assert abs(w - mc.width) < Z * mc.stderr
    assert w <= width_ellipsoid_jensen(radii) and mc.width <= width_ellipsoid_jensen(radii)
    assert mc.mean_sq == pytest.approx(np.sum(np.square(radii)), rel=0.02)   # E Q = Σ r²


def test_ellipsoid_equal_radii_is_a_scaled_sphere():
    assert width_ellipsoid([2.5] * 11) == pytest.approx(2.5 * chi_mean(11), rel=1e-10)
    assert width_ellipsoid([3.0]) == pytest.approx(3.0 * math.sqrt(2 / math.pi), rel=1e-10)


def test_ellipsoid_from_boundary_points_2d():
    r = np.array([2.0, 0.5])
    ang = np.linspace(0, 2 * np.pi, 4000, endpoint=False)
    est = width_from_points(np.stack([r[0] * np.cos(ang), r[1] * np.sin(ang)], 1), 50_000, seed=5)
    assert abs(est.width - width_ellipsoid(r)) < Z * est.stderr + 1e-5


# ------------------------------------------------------------------------- projected ellipsoid
@pytest.mark.parametrize("D, r, R", [(3, 0.5, 1.0), (30, 0.3, 1.0), (30, 0.9, 1.0)])
def test_projected_ball_is_a_cap(D, r, R):
    """A ball of radius r seen from distance R fills the cap of angle arcsin(r/R)."""
    mc = width_projected_ellipsoid_mc([r] * D, R, 20_000, seed=6)
    assert abs(mc.width - width_cap(math.asin(r / R), D)) < Z * mc.stderr


def test_projected_ellipsoid_exact_sup_against_brute_force_3d():
    """Per draw of g, the cone computation equals the max over a fine mesh of the projected surface."""
    r, R = np.array([0.4, 0.7, 0.2]), 1.0
    p = np.array([R, 0.0, 0.0])
    u, v = np.meshgrid(np.linspace(0, np.pi, 500), np.linspace(0, 2 * np.pi, 1000, endpoint=False))
    x = np.stack([r[0] * np.cos(u), r[1] * np.sin(u) * np.cos(v), r[2] * np.sin(u) * np.sin(v)], -1)
    x = x.reshape(-1, 3) - p
    dirs = x / np.linalg.norm(x, axis=1, keepdims=True)
    g = np.random.default_rng(7).standard_normal((300, 3))
    brute = (g @ dirs.T).max(axis=1)
    exact = gw._sup_elliptic_cone(-g[:, 0], g[:, 1:], r[1:] / math.sqrt(R * R - r[0] ** 2))
    assert np.all(exact >= brute - 1e-9)              # the mesh lies in the set
    assert np.max(exact - brute) < 2e-4               # and comes within the mesh spacing
    assert np.any(exact < 0) and np.any(exact > 0)    # both branches (g in the polar cone or not)


def test_projected_ellipsoid_point_inside_or_on_boundary():
    whole = width_projected_ellipsoid_mc([2.0, 1.0, 1.0], 1.0, 20_000, seed=8)
    assert abs(whole.width - chi_mean(3)) < Z * whole.stderr
    half = width_projected_ellipsoid_mc([1.0, 3.0, 0.2], 1.0, 20_000, seed=8)
    assert abs(half.width - width_cap(math.pi / 2, 3)) < Z * half.stderr


def test_larsen_approximation_against_exact_projection():
    """Larsen et al.'s w² ≈ Σ r²/(R² + r²) — an approximation; for a small ellipsoid far away it is
    close to the exact on-axis width² (both ≈ Σ r²/R²), and R = 0 gives D."""
    radii = np.geomspace(0.01, 0.2, 40)
    mc = width_projected_ellipsoid_mc(radii, 1.0, 20_000, seed=9, axis=0)
    approx = larsen_width_sq(radii, 1.0)
    assert abs(mc.mean_sq - approx) < 0.1 * approx + 1.0   # E sup² and w² differ by ≤ 1 (Poincaré)
    assert larsen_width_sq(radii, 0.0) == pytest.approx(40.0)
    assert larsen_width_sq([1.0] * 4, 1.0) == pytest.approx(2.0)


# ------------------------------------------------------------------------- finite sets
def test_width_from_points_exact_finite_sets():
    D = 8
    est = width_from_points(np.eye(D), 100_000, seed=10)          # E max of D standard normals
    exact = integrate.quad(lambda x: x * D * stats.norm.pdf(x) * stats.norm.cdf(x) ** (D - 1),
                           -np.inf, np.inf)[0]
    assert abs(est.width - exact) < Z * est.stderr
    x = np.array([[3.0, 4.0], [-3.0, -4.0]])                     # {x, −x}: E|⟨g, x⟩| = ‖x‖ √(2/π)
    est = width_from_points(x, 100_000, seed=11)
    assert abs(est.width - 5 * math.sqrt(2 / math.pi)) < Z * est.stderr
    assert width_from_points(x, 100, seed=3).width == width_from_points(x, 100, seed=3).width


# ------------------------------------------------------------------------- Gordon and the cap
@pytest.mark.parametrize("D, k, theta", [(20, 5, 0.9), (20, 15, 1.2), (40, 1, 0.3)])
def test_beta_hitting_probability_matches_random_subspaces(D, k, theta):
    p, se, proj = cap_hit_probability_mc(k, D, theta, 4000, seed=12)
    exact = cap_hit_probability(k, D, theta)
    assert abs(p - exact) < Z * math.sqrt(exact * (1 - exact) / 4000)
    assert stats.kstest(proj, stats.beta(k / 2, (D - k) / 2).cdf).pvalue > 1e-3


def test_cap_hit_probability_edge_cases():
    assert cap_hit_probability(3, 10, math.pi / 2) == 1.0 and cap_hit_probability(3, 10, 2.5) == 1.0
    assert cap_hit_probability(10, 10, 0.0) == 1.0 and cap_hit_probability(9, 10, 0.0) == 0.0
    ps = [cap_hit_probability(k, 50, 0.7) for k in range(1, 51)]
    assert np.all(np.diff(ps) >= 0) and ps[0] < 1e-6 and ps[-2] > 1 - 1e-6


@pytest.mark.parametrize("D, theta, informative", [(50, 0.3, False), (200, 1.0, False), (200, 0.3, True),
                                                    (200, 0.5, True), (500, 0.8, True)])
def test_gordon_bound_is_a_lower_bound_on_the_exact_miss_probability(D, theta, informative):
    """Valid on every k; informative (> 1/2 somewhere) only once a_{D-1} − w > √(18 ln 7) ≈ 5.9."""
    w = width_cap(theta, D)
    bounds = np.array([gordon_escape_bound(w, D - k) for k in range(1, D)])
    miss = np.array([1 - cap_hit_probability(k, D, theta) for k in range(1, D)])
    assert np.all(miss >= bounds - 1e-12)
    assert (chi_mean(D - 1) - w > math.sqrt(18 * math.log(7))) == informative
    assert np.any(bounds > 0.5) == informative


@pytest.mark.parametrize("theta", [0.2, 0.6, 1.0, 1.4])
def test_gordon_threshold_near_the_exact_crossing_D200(theta):
    """Gordon's threshold dimension D − m*(w) against where the exact Beta probability crosses 1/2:
    stated tolerance 0.02·D = 4 dimensions (w² vs E sup² ≤ 1, a_m² vs m ≤ 1/2, integer m)."""
    D = 200
    k_gordon = gordon_threshold_dimension(width_cap(theta, D), D)
    assert abs(k_gordon - cap_hit_crossing(D, theta)) <= 0.02 * D
    assert abs(cap_hit_crossing(D, theta) - D * math.cos(theta) ** 2) <= 0.02 * D


def test_gordon_threshold_codimension_definition():
    for w in (0.0, 0.5, 3.0, 9.7):
        m = gordon_threshold_codimension(w, 500)
        assert chi_mean(m) >= w and (m == 1 or chi_mean(m - 1) < w)
        assert abs(m - w * w) <= 1.5
    assert gordon_threshold_codimension(100.0, 50) == 50 and gordon_threshold_dimension(100.0, 50) == 0
    assert gordon_escape_bound(5.0, 10) == 0.0                         # w ≥ a_10: no guarantee
    assert 0 < gordon_escape_bound(1.0, 400) < 1


# ------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("call, exc, name", [
    (lambda: chi_mean(0), ValueError, "k"),
    (lambda: chi_mean(2.0), TypeError, "k"),
    (lambda: chi_mean(True), TypeError, "k"),
    (lambda: width_subspace_sphere(5, 3), ValueError, "D"),
    (lambda: width_cap(-0.1, 5), ValueError, "theta"),
    (lambda: width_cap(4.0, 5), ValueError, "theta"),
    (lambda: width_cap(float("nan"), 5), ValueError, "theta"),
    (lambda: width_cap(0.5, 1), ValueError, "D"),
    (lambda: width_cap(0.5, 5, method="mc"), ValueError, "method"),
    (lambda: width_ellipsoid([1.0, 0.0]), ValueError, "radii"),
    (lambda: width_ellipsoid([1.0, np.inf]), ValueError, "radii"),
    (lambda: width_ellipsoid([]), ValueError, "radii"),
    (lambda: width_ellipsoid([[1.0]]), ValueError, "radii"),
    (lambda: width_ellipsoid("abc"), TypeError, "radii"),
    (lambda: width_ellipsoid_jensen([-1.0]), ValueError, "radii"),
    (lambda: width_ellipsoid_mc([1.0], 0), ValueError, "n_samples"),
    (lambda: width_ellipsoid_mc([1.0], 10, seed=-1), ValueError, "seed"),
    (lambda: width_ellipsoid_mc([1.0], 10, seed=1.5), TypeError, "seed"),
    (lambda: larsen_width_sq([1.0], -1.0), ValueError, "R"),
    (lambda: width_from_points(np.zeros(3), 10), ValueError, "points"),
    (lambda: width_from_points(np.zeros((0, 3)), 10), ValueError, "points"),
    (lambda: width_from_points([[np.nan, 1.0]], 10), ValueError, "points"),
    (lambda: width_from_points(np.eye(2), 10, batch_size=0), ValueError, "batch_size"),
    (lambda: width_projected_ellipsoid_mc([1.0, 1.0], 2.0, axis=2), ValueError, "axis"),
    (lambda: width_projected_ellipsoid_mc([1.0], 2.0), ValueError, "radii"),
    (lambda: width_projected_ellipsoid_mc([1.0, 1.0], float("inf")), ValueError, "R"),
    (lambda: gordon_escape_bound(-1.0, 3), ValueError, "width"),
    (lambda: gordon_escape_bound(1.0, 0), ValueError, "m"),
    (lambda: gordon_threshold_codimension(1.0, 0), ValueError, "D"),
    (lambda: gordon_threshold_dimension(1.0, 2.5), TypeError, "D"),
    (lambda: cap_hit_probability(11, 10, 0.5), ValueError, "k"),
    (lambda: cap_hit_probability(0, 10, 0.5), ValueError, "k"),
    (lambda: cap_hit_probability(3, 10, 3.5), ValueError, "theta"),
    (lambda: cap_hit_probability_mc(3, 10, 0.5, n_samples=0), ValueError, "n_samples"),
    (lambda: cap_hit_crossing(10, 0.0), ValueError, "theta"),
    (lambda: cap_hit_crossing(10, 0.5, level=1.0), ValueError, "level"),
])
def test_validation_errors_name_the_argument(call, exc, name):
    with pytest.raises(exc, match=name):
        call()
