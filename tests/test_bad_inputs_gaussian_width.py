"""Bad input to the Gaussian-width module of the core (issue 20): ``theory/core/_gaussian_width.py``,
every public function, a table of invalid arguments (``python tests/badinput.py
tests/test_bad_inputs_gaussian_width.py`` prints the counts), plus property tests of its closed
forms at the extremes of their legal range.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import badinput
from badinput import Fn

C = "theory.core"
R3 = np.array([0.5, 1.0, 2.0])
PTS = np.array([[1.0, 0.0], [0.0, 1.0], [-0.5, 0.5]])

TABLE = [
    Fn(C, "chi_mean", dict(k=3), dict(k="positive_int")),
    Fn(C, "width_subspace_sphere", dict(k=3, D=5), dict(k="positive_int", D="positive_int?"),
       extra=[({"D": 2}, "D")]),
    Fn(C, "width_cap", dict(theta=0.5, D=5, method="beta"),
       dict(theta="non_negative", D="positive_int", method="choice"),
       extra=[({"theta": 4.0}, "theta"), ({"D": 1}, "D")]),
    Fn(C, "width_ellipsoid", dict(radii=R3), dict(radii="positive_array"),
       skip={}),
    Fn(C, "width_ellipsoid_jensen", dict(radii=R3), dict(radii="positive_array")),
    Fn(C, "width_ellipsoid_mc", dict(radii=R3, n_samples=10, seed=0, batch_size=4),
       dict(radii="positive_array", n_samples="positive_int", seed="seed", batch_size="positive_int"),
       extra=[({"n_samples": 10**13}, "needs about"),
              ({"radii": np.ones(10**6), "n_samples": 10**7, "batch_size": 10**7}, "needs about")]),
    Fn(C, "larsen_width_sq", dict(radii=R3, R=1.0), dict(radii="positive_array", R="non_negative")),
    Fn(C, "width_from_points", dict(points=PTS, n_samples=10, seed=0, batch_size=4),
       dict(points="array", n_samples="positive_int", seed="seed", batch_size="positive_int"),
       extra=[({"n_samples": 10**13}, "needs about"),
              ({"points": np.ones((10**5, 2)), "n_samples": 10**6, "batch_size": 10**6}, "needs about")]),
    Fn(C, "width_projected_ellipsoid_mc", dict(radii=R3, R=3.0, n_samples=10, seed=0, axis=0, batch_size=4),
       dict(radii="positive_array", R="non_negative", n_samples="positive_int", seed="seed",
            axis="non_negative_int", batch_size="positive_int"),
       extra=[({"axis": 3}, "axis"), ({"radii": np.array([1.0])}, "radii"),
              ({"n_samples": 10**13}, "needs about")]),
    Fn(C, "gordon_escape_bound", dict(width=1.0, m=5), dict(width="non_negative", m="positive_int")),
    Fn(C, "gordon_threshold_codimension", dict(width=1.0, D=5), dict(width="non_negative", D="positive_int")),
    Fn(C, "gordon_threshold_dimension", dict(width=1.0, D=5), dict(width="non_negative", D="positive_int")),
    Fn(C, "cap_hit_probability", dict(k=2, D=5, theta=0.5),
       dict(k="positive_int", D="positive_int", theta="non_negative"),
       extra=[({"k": 6}, "k"), ({"theta": 4.0}, "theta")]),
    Fn(C, "cap_hit_probability_mc", dict(k=2, D=5, theta=0.5, n_samples=10, seed=0, batch_size=4),
       dict(k="positive_int", D="positive_int", theta="non_negative", n_samples="positive_int", seed="seed",
            batch_size="positive_int"),
       extra=[({"k": 6}, "k"), ({"n_samples": 10**13}, "needs about"),
              ({"D": 10**5, "k": 10**4, "batch_size": 10**3}, "needs about")]),
    Fn(C, "cap_hit_crossing", dict(D=5, theta=0.5, level=0.5),
       dict(D="positive_int", theta="positive", level="unit"),
       extra=[({"theta": 2.0}, "theta"), ({"level": 0.0}, "level"), ({"level": 1.0}, "level")]),
]
EXEMPT = {}
MODULE = "theory.core._gaussian_width."

test_bad_input = badinput.parametrize(TABLE)
test_valid_call = badinput.parametrize_valid(TABLE)


def test_table_covers_every_public_function():
    missing = badinput.check_coverage(C, TABLE, EXEMPT)
    assert [q for q in missing if q.startswith(MODULE)] == []


# ------------------------------------------------------------ the closed forms at their extremes
@settings(max_examples=100, deadline=None)
@given(st.integers(1, 10**15))
def test_chi_mean_finite_between_its_bounds(k):
    from theory.core import chi_mean

    a = chi_mean(k)
    assert np.isfinite(a) and k / math.sqrt(k + 1) * (1 - 1e-12) <= a <= math.sqrt(k) * (1 + 1e-12)


@settings(max_examples=100, deadline=None)
@given(st.floats(0.0, math.pi), st.integers(2, 10**6))
def test_width_cap_finite_between_0_and_a_D(theta, D):
    from theory.core import chi_mean, width_cap

    w = width_cap(theta, D)
    assert np.isfinite(w) and -1e-9 <= w <= chi_mean(D) * (1 + 1e-9)


@settings(max_examples=60, deadline=None)
@given(st.floats(1e-300, 1e300), st.integers(1, 6))
def test_width_ellipsoid_scales_over_the_whole_range(scale, D):
    from theory.core import chi_mean, width_ellipsoid, width_ellipsoid_jensen

    r = np.full(D, scale)
    w = width_ellipsoid(r)
    assert np.isfinite(w) and w == pytest.approx(scale * chi_mean(D), rel=1e-8)
    j = width_ellipsoid_jensen(r)
    assert np.isfinite(j) and j == pytest.approx(scale * math.sqrt(D), rel=1e-12)


@settings(max_examples=100, deadline=None)
@given(st.floats(1e-300, 1e300), st.floats(0.0, 1e300))
def test_larsen_width_sq_finite_between_0_and_D(r, R):
    from theory.core import larsen_width_sq

    v = larsen_width_sq(np.array([r, 1.0]), R)
    assert np.isfinite(v) and 0.0 <= v <= 2.0
    if R == 0:
        assert v == 2.0                                   # the whole sphere


def test_rewritten_forms_unchanged_in_the_normal_range():
    from theory.core import larsen_width_sq, width_ellipsoid_jensen

    rng = np.random.default_rng(0)
    for _ in range(50):
        r = rng.lognormal(size=7)
        R = float(rng.lognormal())
        assert larsen_width_sq(r, R) == pytest.approx(float(np.sum(r * r / (R * R + r * r))), rel=1e-14)
        assert width_ellipsoid_jensen(r) == pytest.approx(math.sqrt(np.sum(r * r)), rel=1e-14)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 200), st.integers(0, 200), st.floats(0.0, math.pi))
def test_cap_hit_probability_is_a_probability(k, extra, theta):
    from theory.core import cap_hit_probability

    p = cap_hit_probability(k, k + extra + 1, theta)
    assert np.isfinite(p) and 0.0 <= p <= 1.0


@settings(max_examples=60, deadline=None)
@given(st.floats(0.0, 1e300), st.integers(1, 10**12))
def test_gordon_quantities_finite(width, m):
    from theory.core import gordon_escape_bound, gordon_threshold_codimension

    b = gordon_escape_bound(width, m)
    assert np.isfinite(b) and 0.0 <= b <= 1.0
    assert 1 <= gordon_threshold_codimension(width, m) <= m


@pytest.mark.parametrize("k", [1, 2, 10, 999, 1000, 10**4, 10**8, 10**15])
def test_chi_mean_accurate_at_every_k(k):
    import mpmath as mp
    from scipy import special

    from theory.core import chi_mean

    with mp.workdps(40):
        exact = float(mp.sqrt(2) * mp.gamma(mp.mpf(k + 1) / 2) / mp.gamma(mp.mpf(k) / 2))
    assert chi_mean(k) == pytest.approx(exact, rel=1e-12)
    if k < 1000:                                          # unchanged where it was accurate
        old = math.exp(0.5 * math.log(2.0) + special.gammaln((k + 1) / 2) - special.gammaln(k / 2))
        assert chi_mean(k) == old
