"""Property tests (hypothesis) for theory.stochastic_collapse, and non-finite input everywhere.

- the independent-neuron count is invariant under permuting a layer's neurons (when the
  identical-neuron relation is transitive: see the last test for the official greedy pass's
  order dependence when it is not) and under rescaling a layer;
- the quartic well's stationary density is normalised with E[θ²] = μ − ζ²/2;
- soft thresholding shrinks every mode and is monotone in the noise;
- every public validator of the chapter rejects NaN and ±inf with a ValueError naming the
  argument.
"""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from theory.stochastic_collapse import (count_independent, critical_noise, exact, identical_pairs,
                                        label_noise_fixed_point, neuron_vectors,
                                        prototype_exponent, stationary_density, vanishing_neurons)
from theory.stochastic_collapse import deep, simulate


@st.composite
def clustered_layers(draw):
    """A layer of h neurons in d dimensions: k well-separated clusters of near-copies, plus
    some vanishing neurons. Cluster centres are random Gaussian vectors in d ≥ 24 dimensions
    (pairwise relative distances ≈ 2, far above the 0.1 threshold) and copies differ from their
    centre by at most 1% (relative distance < 1e-3): identity is transitive."""
    d = draw(st.integers(24, 40))
    k = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d))
    sizes = [draw(st.integers(1, 4)) for _ in range(k)]
    rows = []
    for c, n in zip(centres, sizes):
        for _ in range(n):
            rows.append(c * (1 + 0.01 * rng.uniform(-1, 1)) + 1e-3 * rng.normal(size=d))
    n_dead = draw(st.integers(0, 3))
    rows += [1e-4 * rng.normal(size=d) for _ in range(n_dead)]
    return np.array(rows), k


@settings(max_examples=25, deadline=None)
@given(clustered_layers(), st.randoms(use_true_random=False))
def test_count_is_invariant_under_permuting_neurons(layer, rnd):
    w, k = layer
    order = list(range(w.shape[0]))
    rnd.shuffle(order)
    n = count_independent(w)
    assert n == k                                         # one group per cluster
    assert count_independent(w[order]) == n
    np.testing.assert_array_equal(vanishing_neurons(w[order]), vanishing_neurons(w)[order])
    same = identical_pairs(w)
    np.testing.assert_array_equal(identical_pairs(w[order]), same[np.ix_(order, order)])


@settings(max_examples=25, deadline=None)
@given(clustered_layers(), st.floats(1e-2, 1e2))
def test_count_is_invariant_under_rescaling_a_layer(layer, scale):
    w, k = layer
    assert count_independent(scale * w) == count_independent(w) == k


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 6), st.integers(1, 4), st.integers(1, 4), st.integers(0, 2**32 - 1),
       st.randoms(use_true_random=False))
def test_permuting_hidden_units_of_a_network_permutes_neuron_vectors(h, d_in, d_out, seed, rnd):
    # Permuting the hidden units (rows of W_in and b_in, columns of W_out) computes the same
    # function and permutes the neuron vectors, so every count is unchanged.
    rng = np.random.default_rng(seed)
    W_in, b_in, W_out = rng.normal(size=(h, d_in)), rng.normal(size=h), rng.normal(size=(d_out, h))
    order = list(range(h))
    rnd.shuffle(order)
    w = neuron_vectors(W_in, b_in, W_out)
    wp = neuron_vectors(W_in[order], b_in[order], W_out[:, order])
    np.testing.assert_array_equal(wp, w[order])
    assert count_independent(wp) == count_independent(w)


def test_greedy_count_depends_on_order_when_identity_is_not_transitive():
    # The official compute_ind_node is a greedy pass: with 1 ~ 0, 1 ~ 2, 1 ~ 3 and no other
    # pair identical it finds 2 groups in the order (0, 1, 2, 3) and 1 group with neuron 1
    # first. The permutation invariance above therefore needs transitive identity.
    base = np.array([10.0, 0.0, 0.0])
    ang = np.deg2rad([0.0, 120.0, 240.0])
    off = 2.5 * np.stack([0 * ang, np.cos(ang), np.sin(ang)], 1)
    w = np.stack([base + off[0], base, base + off[1], base + off[2]])
    assert count_independent(w) == 2
    assert count_independent(w[[1, 0, 2, 3]]) == 1


@settings(max_examples=25, deadline=None)
@given(st.floats(0.2, 3.0), st.floats(0.05, 0.95))
def test_stationary_density_is_normalised(mu, frac):
    zeta = frac * critical_noise(mu)                       # ζ² < 2μ: a stationary law exists
    top = np.sqrt(mu + 12 * zeta**2 + 4 * mu)
    grid = np.linspace(-top, top, 400_000)                 # even: θ = 0 is not on the grid
    dens = stationary_density(grid, mu, zeta)
    assert np.all(dens >= 0)
    m2 = np.trapezoid(grid**2 * dens, grid)                # θ²p is continuous at 0
    assert m2 == pytest.approx(mu - zeta**2 / 2, rel=1e-3)
    if zeta**2 <= mu / 1.2:      # |θ|^{2μ/ζ²−2} bounded near 0: the trapezoid rule is accurate
        assert np.trapezoid(dens, grid) == pytest.approx(1.0, abs=1e-3)
    assert prototype_exponent(mu, zeta) > 0


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(-2, 2), min_size=1, max_size=8), st.floats(1e-3, 1.0),
       st.floats(0.0, 5.0), st.floats(0.0, 5.0))
def test_soft_threshold_shrinks_and_is_monotone_in_noise(s_star, eta, sig1, sig2):
    s = np.array(s_star)
    lo, hi = sorted((sig1, sig2))
    a, b = label_noise_fixed_point(s, eta, lo), label_noise_fixed_point(s, eta, hi)
    assert np.all(np.abs(a) <= np.abs(s)) and np.all(np.abs(b) <= np.abs(a))
    assert np.all(a * s >= 0)                              # never changes sign
    np.testing.assert_allclose(np.abs(s) - np.abs(a), np.minimum(np.abs(s), eta * lo**2 / 2), atol=1e-12)


# ---------------------------------------------------------------- non-finite input

_NONFINITE = [np.nan, np.inf, -np.inf]
_X = np.linspace(-1, 1, 6)


def _exact_cases():
    """(call, argument name): call(bad) passes ``bad`` as that argument of a public function."""
    A, C = -np.eye(2), np.zeros((1, 2, 2))
    return [
        (lambda v: exact.prototype_exponent(v, 1.0), "mu"),
        (lambda v: exact.prototype_exponent(1.5, v), "zeta"),
        (lambda v: exact.critical_noise(v), "mu"),
        (lambda v: exact.gbm_collapse_probability(v, 1.0, 0.1, 1.0, 0.1), "t"),
        (lambda v: exact.gbm_collapse_probability(1.0, v, 0.1, 1.0, 0.1), "theta0"),
        (lambda v: exact.gbm_collapse_probability(1.0, 1.0, v, 1.0, 0.1), "rate"),
        (lambda v: exact.gbm_collapse_probability(1.0, 1.0, 0.1, v, 0.1), "zeta"),
        (lambda v: exact.gbm_collapse_probability(1.0, 1.0, 0.1, 1.0, v), "eps"),
        (lambda v: exact.stationary_moments(v, 1.0), "mu"),
        (lambda v: exact.stationary_moments(1.5, v), "zeta"),
        (lambda v: exact.stationary_density(v, 1.5, 1.0), "theta"),
        (lambda v: exact.stationary_density(0.5, v, 1.0), "mu"),
        (lambda v: exact.stationary_density(0.5, 1.5, v), "zeta"),
        (lambda v: exact.prototype_pathwise([0.0, 1.0], [0.0, v], 1.0, 1.5, 1.0), "W"),
        (lambda v: exact.prototype_pathwise([0.0, v], [0.0, 0.1], 1.0, 1.5, 1.0), "t"),
        (lambda v: exact.prototype_pathwise([0.0, 1.0], [0.0, 0.1], v, 1.5, 1.0), "theta0"),
        (lambda v: exact.label_noise_fixed_point(v, 0.1, 1.0), "s_star"),
        (lambda v: exact.label_noise_fixed_point(1.0, v, 1.0), "eta"),
        (lambda v: exact.label_noise_fixed_point(1.0, 0.1, v), "sigma"),
        (lambda v: exact.label_noise_stationary_losses([v, 1.0], [0.0, 1.0], 0.1, 1.0), "s_target"),
        (lambda v: exact.label_noise_stationary_losses([1.0, 1.0], [v, 1.0], 0.1, 1.0), "s_true"),
        (lambda v: exact.log_distance_drift(A + v, C, [1.0, 0.0]), "A"),
        (lambda v: exact.log_distance_drift(A, C + v, [1.0, 0.0]), "C"),
        (lambda v: exact.log_distance_drift(A, C, [v, 0.0]), "u"),
        (lambda v: exact.expected_log_abs_normal(v), "mu"),
        (lambda v: exact.tanh_sgd_exponents(_X * v, _X, [0.1], 1.0), "x"),
        (lambda v: exact.tanh_sgd_exponents(_X, _X, [v], 1.0), "etas"),
        (lambda v: exact.tanh_sgd_exponents(_X, _X, [0.1], v), "zeta"),
        (lambda v: exact.tanh_sde_threshold(_X, _X + v), "y"),
        (lambda v: exact.em_exponent(v, 1.0, 1e-3), "rate"),
        (lambda v: exact.em_exponent(1.0, v, 1e-3), "zeta"),
        (lambda v: exact.em_exponent(1.0, 1.0, v), "dt"),
        (lambda v: exact.linear_exponent(A, C, T=v), "T"),
        (lambda v: exact.linear_exponent(A, C, dt=v), "dt"),
        (lambda v: exact.linear_exponent(A + v, C), "A"),
        (lambda v: exact.attractivity_bound(A + v, C), "A"),
    ]


def _simulate_cases():
    x0 = torch.ones(2, 1, dtype=torch.float64)
    em = dict(dt=0.1, steps=2)
    return [
        (lambda v: simulate.euler_maruyama(lambda x: x, lambda x: x[:, :, None], x0,
                                           **(em | {"dt": v})), "dt"),
        (lambda v: simulate.simulate_prototype(v, [1.0], n_paths=2, T=1.0, steps=2, theta0=1.0), "mu"),
        (lambda v: simulate.simulate_prototype(1.5, [v], n_paths=2, T=1.0, steps=2, theta0=1.0), "zetas"),
        (lambda v: simulate.simulate_prototype(1.5, [1.0], n_paths=2, T=v, steps=2, theta0=1.0), "T"),
        (lambda v: simulate.simulate_prototype(1.5, [1.0], n_paths=2, T=1.0, steps=2, theta0=v), "theta0"),
        (lambda v: simulate.label_noise_sgd([v], 0.1, [1.0], steps=2, n_seeds=1), "s_target"),
        (lambda v: simulate.label_noise_sgd([1.0], v, [1.0], steps=2, n_seeds=1), "eta"),
        (lambda v: simulate.label_noise_sgd([1.0], 0.1, [v], steps=2, n_seeds=1), "sigmas"),
        (lambda v: simulate.label_noise_sgd([1.0], 0.1, [1.0], steps=2, n_seeds=1, init=v), "init"),
        (lambda v: simulate.tanh_neuron_sde(_X, _X, [v], zeta=1.0, n_paths=2, T=0.1, dt=0.05), "etas"),
        (lambda v: simulate.tanh_neuron_sde(_X, _X, [1.0], zeta=v, n_paths=2, T=0.1, dt=0.05), "zeta"),
        (lambda v: simulate.tanh_neuron_sde(_X, _X, [1.0], zeta=1.0, n_paths=2, T=v, dt=0.05), "T"),
        (lambda v: simulate.tanh_neuron_sgd(_X, _X, [v], zeta=1.0, n_paths=2, steps=2), "etas"),
        (lambda v: simulate.tanh_neuron_sgd(_X, _X, [1.0], zeta=v, n_paths=2, steps=2), "zeta"),
        (lambda v: simulate.tanh_neuron_fields(_X, _X, eta=v), "eta"),
        (lambda v: simulate.measured_exponent([0.0, v], np.zeros((2, 2))), "t"),
        (lambda v: simulate.measured_exponent([0.0, 1.0], np.full((2, 2), v)), "log_norm"),
        (lambda v: simulate.linearise(lambda t: -t, lambda t: t[:, None], [v], np.eye(1)), "theta_star"),
        (lambda v: simulate.tanh_neuron_sde(_X, _X, [1.0], zeta=1.0, n_paths=2, T=0.1, dt=0.05,
                                            init_std=v), "init_std"),
        (lambda v: simulate.label_noise_sgd([1.0], 0.1, [1.0], steps=2, n_seeds=1,
                                            lr_drop=(1, v)), "lr_drop"),
    ]


def _deep_cases():
    w = np.random.default_rng(0).normal(size=(4, 5))
    return [
        (lambda v: deep.neuron_vectors(w * v, np.ones(4), np.ones((2, 4))), "W_in"),
        (lambda v: deep.neuron_vectors(w, np.full(4, v), np.ones((2, 4))), "b_in"),
        (lambda v: deep.neuron_vectors(w, np.ones(4), np.full((2, 4), v)), "W_out"),
        (lambda v: deep.vanishing_neurons(w * v), "w_cat"),
        (lambda v: deep.vanishing_neurons(w, threshold=v), "threshold"),
        (lambda v: deep.identical_pairs(w, threshold=v), "threshold"),
        (lambda v: deep.identical_pairs(w, eps=v), "eps"),
        (lambda v: deep.count_independent(w * v), "w_cat"),
        (lambda v: deep.count_independent(w, vanish_threshold=v), "vanish_threshold"),
        (lambda v: deep.count_independent(w, identical_threshold=v), "identical_threshold"),
        (lambda v: deep.collapse_stats([w.T, w], [np.ones(5), np.ones(4)], vanish_threshold=v),
         "vanish_threshold"),
        (lambda v: deep.collapse_stats([w.T, w], [np.ones(5), np.ones(4)], identical_threshold=v),
         "identical_threshold"),
        (lambda v: deep.load_digits_data(test_fraction=v), "test_fraction"),
    ]


_CASES = _exact_cases() + _simulate_cases() + _deep_cases()


@pytest.mark.parametrize("bad", _NONFINITE, ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("call, name", _CASES, ids=[f"{i}-{n}" for i, (_, n) in enumerate(_CASES)])
def test_validators_reject_non_finite_input(call, name, bad):
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        call(bad)


@pytest.mark.parametrize("bad", _NONFINITE, ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("arg", ["lr", "label_noise", "label_smoothing", "momentum",
                                 "weight_decay", "lr_late"])
def test_train_mlp_rejects_non_finite_input(bad, arg):
    data = deep.load_digits_data()
    kwargs = dict(lr=0.1, batch_size=4, steps=2, progress=False) | {arg: bad}
    if arg == "lr_late":
        kwargs["switch_step"] = 1
    with pytest.raises(ValueError, match=rf"\b{arg}\b"):
        deep.train_mlp(data, **kwargs)


def test_simulators_record_the_last_step_and_check_progress():
    # theory.core.record_steps: step 0, every record_every-th step and always the last one
    run = simulate.label_noise_sgd([1.0], 0.1, [0.5], steps=250, n_seeds=2, record_every=100)
    np.testing.assert_allclose(run.t, 0.1 * np.array([0, 100, 200, 250]))
    sgd = simulate.tanh_neuron_sgd(_X, _X, [0.1], zeta=1.0, n_paths=2, steps=25, record_every=10)
    np.testing.assert_array_equal(sgd.t, [0, 10, 20, 25])
    with pytest.raises(TypeError, match="progress"):
        simulate.label_noise_sgd([1.0], 0.1, [0.5], steps=2, n_seeds=1, progress="yes")
    with pytest.raises(TypeError, match="lr_drop"):
        simulate.label_noise_sgd([1.0], 0.1, [0.5], steps=2, n_seeds=1, lr_drop=[1, 0.5])
