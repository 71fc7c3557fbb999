"""Exact results and simulators of theory.stochastic_collapse on cases with known answers."""

import numpy as np
import pytest
import torch

from theory.stochastic_collapse import (critical_noise, derivation as dv, em_exponent,
                                        euler_maruyama, expected_log_abs_normal,
                                        gbm_collapse_probability, label_noise_fixed_point,
                                        label_noise_sgd, label_noise_stationary_losses,
                                        linear_exponent, log_distance_drift, prototype_exponent,
                                        prototype_pathwise, simulate_prototype,
                                        stationary_density, stationary_moments, tanh_neuron_sde,
                                        tanh_neuron_sgd, tanh_sgd_exponents)


@pytest.mark.parametrize("ident", dv.all_identities(), ids=lambda d: d.name)
def test_derivations_hold(ident):
    assert ident.holds()


def test_gbm_simulator_against_exact_law():
    """Geometric Brownian motion: log θ_T is Gaussian with known mean and variance, and the
    collapse probability is Φ(...)."""
    P, a, b, T = 20_000, 0.3, 0.8, 2.0
    gen = torch.Generator().manual_seed(0)
    x0 = torch.ones(P, 1, dtype=torch.float64)
    paths = euler_maruyama(lambda x: a * x, lambda x: (b * x)[:, :, None], x0, dt=1e-3, steps=2000,
                           record_every=2000, generator=gen)
    logs = np.log(paths.x[:, -1, 0])
    mean_th = em_exponent(a, b, 1e-3) * T        # the scheme's own exponent, exact
    assert abs(logs.mean() - mean_th) < 4 * b * np.sqrt(T / P)
    assert abs(logs.std() - b * np.sqrt(T)) < 0.03
    p_th = gbm_collapse_probability(T, 1.0, a, b, 0.3)
    assert abs(np.mean(paths.x[:, -1, 0] < 0.3) - p_th) < 0.015


def test_prototype_formulas():
    assert prototype_exponent(1.5, np.sqrt(3.0)) == pytest.approx(0.0)
    assert critical_noise(1.5) == pytest.approx(np.sqrt(3.0))
    m2, m4 = stationary_moments(1.5, 1.0)
    assert m2 == pytest.approx(1.0) and m4 == pytest.approx(2.25 - 0.25)
    assert stationary_moments(1.5, 2.0)[0] == 0.0
    grid = np.linspace(-6, 6, 200_001)
    dens = stationary_density(grid, 1.5, 1.0)
    assert np.trapezoid(dens, grid) == pytest.approx(1.0, abs=1e-6)
    assert np.trapezoid(grid**2 * dens, grid) == pytest.approx(1.0, abs=1e-6)


def test_pathwise_solution_without_noise_is_the_ode():
    t = np.linspace(0, 3, 3001)
    exact = prototype_pathwise(t, np.zeros_like(t), 0.2, 1.5, 0.0)
    # dθ/dt = μθ − θ³ solved in closed form: θ² = μ/(1 + (μ/θ₀² − 1)e^{−2μt})
    np.testing.assert_allclose(exact, np.sqrt(1.5 / (1 + (1.5 / 0.04 - 1) * np.exp(-3 * t))), rtol=1e-6)


def test_em_converges_to_pathwise_solution():
    errs = []
    for steps in (400, 1600):
        p = simulate_prototype(1.5, [0.8], n_paths=50, T=2.0, steps=steps, theta0=0.5, seed=0,
                               keep_brownian=True)
        errs.append(np.abs(prototype_pathwise(p.t, p.W[0], 0.5, 1.5, 0.8) - p.x[0]).max())
    assert errs[1] < errs[0] / 1.5


def test_expected_log_abs_normal_known_values():
    # E log|Z| = −(γ + log 2)/2
    assert expected_log_abs_normal(0.0) == pytest.approx(-(np.euler_gamma + np.log(2)) / 2, abs=1e-12)
    mu = 29.9   # the series, just below the switch, agrees with the asymptotic form used above it
    asym = np.log(mu) - 1 / (2 * mu**2) - 3 / (4 * mu**4)
    assert abs(expected_log_abs_normal(mu) - asym) < 1e-8


def test_em_exponent_limit():
    assert em_exponent(0.5, 1.0, 1e-6) == pytest.approx(0.0, abs=1e-4)


def test_label_noise_formulas():
    fp = label_noise_fixed_point(np.array([-0.5, 0.1, 0.9]), 0.01, 4.0)
    np.testing.assert_allclose(fp, [-0.42, 0.02, 0.82])
    train, test = label_noise_stationary_losses(np.array([0.5]), np.array([0.5]), 0.01, 0.0)
    assert train == 0 and test == 0


def test_label_noise_sgd_noiseless_converges_to_target():
    p = label_noise_sgd(np.array([0.4, -0.7]), 0.05, [0.0], steps=4000, n_seeds=3, init=0.1,
                        record_every=4000)
    np.testing.assert_allclose(p.x[0, :, :, -1], np.broadcast_to([0.4, -0.7], (3, 2)), atol=1e-6)


def test_lyapunov_tools():
    A, C = np.array([[1.5]]), np.array([[[2.0]]])
    assert log_distance_drift(A, C, np.array([1.0])) == pytest.approx(-0.5)
    assert linear_exponent(A, C) == pytest.approx(-0.5)
    J = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert linear_exponent(0.6 * J, 0.5 * J[None]) == pytest.approx(0.6 - 0.125)
    # a non-commuting pair: the direction-process estimate against a long direct simulation
    A2 = np.array([[0.2, 1.0], [0.0, -0.5]])
    C2 = np.array([[[0.5, 0.2], [0.1, 0.4]]])
    est = linear_exponent(A2, C2, T=100.0)
    rng = np.random.default_rng(5)
    u, dt, logn = np.ones((400, 2)) / np.sqrt(2), 1e-2, np.zeros(400)
    for _ in range(10_000):
        u = u + u @ A2.T * dt + np.einsum("kij,pj,pk->pi", C2, u, rng.normal(size=(400, 1)) * np.sqrt(dt))
        nrm = np.linalg.norm(u, axis=1)
        logn += np.log(nrm)
        u /= nrm[:, None]
    assert abs(est - logn.mean() / 100.0) < 0.03


def test_tanh_sgd_exponents_small_eta_matches_sde():
    rng = np.random.default_rng(0)
    x = rng.normal(size=16)
    y = x + 0.1 * rng.normal(size=16)
    eta, zeta = 1e-3, 2.0
    lp, _ = tanh_sgd_exponents(x, y, [eta], zeta)
    sde = eta * np.mean(x * y) - eta**2 * (np.mean((x * y) ** 2) + zeta**2 * np.mean(x**2)) / 2
    assert lp[0] == pytest.approx(sde, rel=1e-2)


def test_tanh_simulators_shapes():
    x, y = np.linspace(-1, 1, 8), np.linspace(-1, 1, 8)
    p = tanh_neuron_sde(x, y, [0.5, 1.0], zeta=1.0, n_paths=3, T=1.0, dt=0.1, record_every=5)
    assert p.x.shape == (2, 3, 3, 2)
    q = tanh_neuron_sgd(x, y, [0.5], zeta=1.0, n_paths=4, steps=10, record_every=5, batch_size=2)
    assert q.x.shape == (1, 4, 3, 2)


@pytest.mark.parametrize("call, match", [
    (lambda: prototype_exponent(1.0, -1.0), "zeta"),
    (lambda: critical_noise(0.0), "mu"),
    (lambda: stationary_density(0.5, 1.0, 2.0), "no stationary density"),
    (lambda: simulate_prototype(1.0, [np.nan], n_paths=2, T=1, steps=2, theta0=1.0), "zetas"),
    (lambda: simulate_prototype(1.0, [1.0], n_paths=0, T=1, steps=2, theta0=1.0), "n_paths"),
    (lambda: label_noise_sgd([0.5], -0.1, [1.0], steps=2, n_seeds=1), "eta"),
    (lambda: label_noise_sgd([0.5], 0.1, [-1.0], steps=2, n_seeds=1), "sigmas"),
    (lambda: tanh_neuron_sde([1.0, 2.0], [1.0], [1.0], zeta=1.0, n_paths=1, T=1, dt=0.1), "same length"),
    (lambda: gbm_collapse_probability(1.0, 0.0, 0.1, 1.0, 0.1), "theta0"),
    (lambda: prototype_pathwise(np.linspace(0, 1, 3), np.zeros(4), 1.0, 1.0, 1.0), "W must have"),
    (lambda: log_distance_drift(np.eye(2), np.zeros((1, 3, 3)), np.ones(2)), "shapes"),
])
def test_bad_input(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_measured_exponent_recovers_a_known_slope():
    from theory.stochastic_collapse import measured_exponent

    t = np.linspace(0, 2, 21)
    rng = np.random.default_rng(0)
    logs = -0.7 * t + rng.normal(scale=1e-3, size=(3, 50, 21))
    slope, stderr = measured_exponent(t, logs)
    assert slope.shape == (3,) and np.all(np.abs(slope + 0.7) < 5 * stderr + 1e-12)


def test_tanh_neuron_fields_linearise_to_the_known_drift():
    from theory.stochastic_collapse import linearise, tanh_neuron_fields

    x = np.linspace(-1, 1, 6)
    y = 0.9 * x
    A, C = linearise(*tanh_neuron_fields(x, y, eta=2.0), np.zeros(2), np.eye(2))
    np.testing.assert_allclose(A, np.mean(x * y) * np.array([[0, 1], [1, 0]]), atol=1e-14)
    assert C.shape == (6, 2, 2)
