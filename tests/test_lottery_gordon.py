"""The §3.3 reconstruction: sympy identities (theory.lottery.derivation) and the prune-fraction
fixed point (theory.lottery.gordon) — closed form, monotonicity, magnitude vs random, errors."""

import math

import numpy as np
import pytest
import sympy as sp

from theory.core import larsen_width_sq
from theory.lottery import derivation as dv
from theory.lottery.gordon import (p_max_isotropic, projection_length_curve, prune_condition_rhs,
                                   prune_fraction_fixed_point)


@pytest.mark.parametrize("make", [dv.sublevel_ellipsoid, dv.schur_complement_minimum,
                                  lambda: dv.schur_complement_minimum(2, 1),
                                  dv.random_pruning_projection, lambda: dv.random_pruning_projection(4, 0),
                                  dv.fixed_point_equation, dv.isotropic_fixed_point])
def test_identity_holds(make):
    ident = make()
    assert ident.holds(), ident.name
    assert ident.statement


def test_a_wrong_identity_fails():
    ident = dv.schur_complement_minimum(1, 1)
    ident.residual = ident.residual + sp.ones(*ident.residual.shape) * sp.Symbol("h_11") / 7
    assert not ident.holds()
    iso = dv.isotropic_fixed_point()
    wrong = sp.diff(iso.extra["p_max"], dv.kappa) - iso.extra["p_max"] / (2 * iso.extra["p_max"] + dv.kappa)
    assert sp.simplify(wrong) != 0


def test_all_identities_unique_and_true():
    ids = dv.all_identities()
    assert len({i.name for i in ids}) == len(ids) == 6
    assert all(i.holds() for i in ids)


def test_schur_complement_numerically():
    """The Schur value equals a numerical minimisation over the kept weights (random SPD H)."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((6, 6))
    H = A @ A.T + 0.1 * np.eye(6)
    P, K = [0, 3], [1, 2, 4, 5]
    wP = rng.standard_normal(2)
    dK = np.linalg.solve(H[np.ix_(K, K)], H[np.ix_(K, P)] @ wP)
    delta = np.zeros(6)
    delta[P], delta[K] = -wP, dK
    S = H[np.ix_(P, P)] - H[np.ix_(P, K)] @ np.linalg.solve(H[np.ix_(K, K)], H[np.ix_(K, P)])
    assert 0.5 * delta @ H @ delta == pytest.approx(0.5 * wP @ S @ wP, rel=1e-12)
    for _ in range(5):   # any other point of the affine subspace is higher
        other = delta.copy()
        other[K] += 0.1 * rng.standard_normal(4)
        assert 0.5 * other @ H @ other > 0.5 * delta @ H @ delta


@pytest.mark.parametrize("kappa", [1e-4, 0.05, 1.0, 30.0])
def test_isotropic_solver_equals_closed_form(kappa):
    lam, W, D = 3.0, 2.5, 400
    eps = kappa * lam * W / 2
    p = prune_fraction_fixed_point(np.full(D, lam), eps, lambda q: math.sqrt(q * W))
    assert p == pytest.approx(p_max_isotropic(kappa), rel=1e-10)
    assert float(dv.isotropic_p_max().subs(dv.kappa, kappa)) == pytest.approx(p_max_isotropic(kappa), rel=1e-12)
    assert 0 < p < 1


def test_solver_returns_the_first_root():
    rng = np.random.default_rng(1)
    lam, w = rng.gamma(0.5, 2.0, 300), rng.standard_normal(300)
    grid = np.linspace(0, 1, 301)
    ell = projection_length_curve(w, grid, "magnitude")
    p = prune_fraction_fixed_point(lam, 0.05, ell, p_grid=grid)
    F = lambda q: q * lam.size - prune_condition_rhs(lam, 0.05, np.interp(q, grid, ell))  # noqa: E731
    assert abs(F(p)) < 1e-8 and F(p - 1e-3) < 0 < F(p + 1e-3)


def test_larger_eigenvalues_prune_less():
    rng = np.random.default_rng(2)
    lam, w = rng.gamma(0.5, 2.0, 200), rng.standard_normal(200)
    ell = lambda q: float(projection_length_curve(w, q, "random"))  # noqa: E731
    ps = [prune_fraction_fixed_point(s * lam, 0.1, ell) for s in (0.25, 0.5, 1.0, 2.0, 4.0)]
    assert np.all(np.diff(ps) < 0)


def test_magnitude_predicts_at_least_random():
    rng = np.random.default_rng(3)
    lam, w = rng.gamma(0.5, 2.0, 500), rng.standard_normal(500)
    grid = np.linspace(0, 1, 501)
    mag = prune_fraction_fixed_point(lam, 0.1, projection_length_curve(w, grid, "magnitude"), p_grid=grid)
    rnd = prune_fraction_fixed_point(lam, 0.1, projection_length_curve(w, grid, "random"), p_grid=grid)
    assert mag > rnd
    assert np.all(projection_length_curve(w, grid, "magnitude") <= projection_length_curve(w, grid, "random") + 1e-12)


def test_array_and_callable_agree_on_a_linear_length():
    lam = np.geomspace(0.01, 10, 50)
    grid = np.linspace(0, 1, 11)
    a = prune_fraction_fixed_point(lam, 0.2, 3.0 * grid, p_grid=grid)
    b = prune_fraction_fixed_point(lam, 0.2, lambda q: 3.0 * q)
    assert a == pytest.approx(b, rel=1e-12)


def test_rhs_is_larsen_width_and_flat_directions_count_one():
    lam, eps = np.array([0.5, 2.0, 8.0]), 0.3
    assert prune_condition_rhs(lam, eps, 0.7) == pytest.approx(larsen_width_sq(np.sqrt(2 * eps / lam), 0.7))
    assert prune_condition_rhs([0.0, 0.0], eps, 5.0) == 2.0
    assert prune_fraction_fixed_point([0.0, 0.0], eps, lambda q: q) == 1.0   # a flat valley: prune all


def test_projection_length_curve_ends():
    w = np.array([3.0, -1.0, 2.0, 0.5])
    for m in ("magnitude", "random"):
        ell = projection_length_curve(w, [0.0, 1.0], m)
        assert ell[0] == 0 and ell[1] == pytest.approx(np.linalg.norm(w))
    assert projection_length_curve(w, 0.5, "magnitude") == pytest.approx(math.sqrt(0.25 + 1.0))


@pytest.mark.parametrize("call, exc, name", [
    (lambda: prune_fraction_fixed_point([1.0, -1.0], 0.1, lambda q: q), ValueError, "eigenvalues"),
    (lambda: prune_fraction_fixed_point([], 0.1, lambda q: q), ValueError, "eigenvalues"),
    (lambda: prune_fraction_fixed_point([[1.0]], 0.1, lambda q: q), ValueError, "eigenvalues"),
    (lambda: prune_fraction_fixed_point([1.0], 0.0, lambda q: q), ValueError, "eps"),
    (lambda: prune_fraction_fixed_point([1.0], "a", lambda q: q), TypeError, "eps"),
    (lambda: prune_fraction_fixed_point([1.0], 0.1, lambda q: -1.0), ValueError, "ell_of_p"),
    (lambda: prune_fraction_fixed_point([1.0], 0.1, lambda q: "x"), TypeError, "ell_of_p"),
    (lambda: prune_fraction_fixed_point([1.0], 0.1, [0.0, 1.0]), ValueError, "p_grid"),
    (lambda: prune_fraction_fixed_point([1.0], 0.1, [0.0, 1.0], p_grid=[0.0, 0.5]), ValueError, "p_grid"),
    (lambda: prune_fraction_fixed_point([1.0], 0.1, [0.0, 1.0, 2.0], p_grid=[0.0, 0.5]), ValueError, "p_grid"),
    (lambda: prune_fraction_fixed_point([1.0], 0.1, [0.0, -1.0], p_grid=[0.0, 1.0]), ValueError, "ell_of_p"),
    (lambda: prune_fraction_fixed_point([1.0], 0.1, lambda q: q, p_grid=[0.0, 1.0]), ValueError, "p_grid"),
    (lambda: prune_fraction_fixed_point([1.0], 0.1, lambda q: q, n_scan=2), ValueError, "n_scan"),
    (lambda: p_max_isotropic(0.0), ValueError, "kappa"),
    (lambda: projection_length_curve([1.0], [1.5]), ValueError, "fractions"),
    (lambda: projection_length_curve([], [0.5]), ValueError, "weights"),
    (lambda: projection_length_curve([1.0], [0.5], "lottery"), ValueError, "method"),
    (lambda: prune_condition_rhs([1.0], 0.1, -1.0), ValueError, "ell"),
    (lambda: dv.schur_complement_minimum(0, 2), ValueError, "n_pruned"),
    (lambda: dv.random_pruning_projection(3, 4), ValueError, "n_pruned"),
    (lambda: dv.sublevel_ellipsoid(2.0), TypeError, "n"),
])
def test_validation_errors_name_the_argument(call, exc, name):
    with pytest.raises(exc, match=name):
        call()
