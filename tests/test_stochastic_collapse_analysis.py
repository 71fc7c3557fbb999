"""The notebooks' analyses (theory.stochastic_collapse.analysis) against the calls they bundle,
on small runs with the same seeds (bit-identical), and on inputs with known answers."""

import numpy as np
import pytest

from theory.stochastic_collapse import (Paths, analysis, em_exponent, measured_exponent,
                                        prototype_exponent, simulate_prototype,
                                        stationary_moments, tanh_neuron_sde, tanh_neuron_sgd,
                                        tanh_sgd_exponents)




@pytest.fixture(scope="module")
def xy():
    return analysis.tanh_neuron_data(m=16, seed=0)


def test_collapsed_fraction_known_values():
    scalar = np.array([[[5.0, 1e-4], [5.0, 0.5], [5.0, -1e-5]]])          # (1, P=3, T=2)
    np.testing.assert_allclose(analysis.collapsed_fraction(scalar, 1e-3), [2 / 3])
    vector = np.zeros((2, 4, 3, 2))
    vector[0, :, -1] = [[1e-3, 1e-3], [1.0, 0.0], [0.0, 0.0], [3e-3, -4e-3]]   # norms: 1.4e-3, 1, 0, 5e-3
    vector[1, :, -1] = 1.0
    np.testing.assert_allclose(analysis.collapsed_fraction(vector, 1e-2), [0.75, 0.0])
    diverged = np.array([[[1.0, np.inf], [1.0, np.nan], [1.0, 0.0], [1.0, -np.inf]]])
    np.testing.assert_allclose(analysis.collapsed_fraction(diverged, 1e-3), [0.25])   # only 0 collapsed
    with pytest.raises(ValueError, match="radius"):
        analysis.collapsed_fraction(scalar, 0.0)
    with pytest.raises(ValueError, match="x"):
        analysis.collapsed_fraction(np.zeros(3), 1e-3)


def test_tanh_neuron_data_is_the_official_model():
    x, y = analysis.tanh_neuron_data(m=32, noise=0.1, seed=0)
    rng = np.random.default_rng(0)
    x0 = rng.normal(size=32)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, x0 + 0.1 * rng.normal(size=32))
    np.testing.assert_array_equal(analysis.tanh_neuron_data(m=8, noise=0.0)[1],
                                  analysis.tanh_neuron_data(m=8)[0])
    for kw, match in [({"m": 0}, "m"), ({"noise": -1.0}, "noise"), ({"seed": -1}, "seed")]:
        with pytest.raises(ValueError, match=match):
            analysis.tanh_neuron_data(**kw)


@pytest.mark.parametrize("zeta", [1.0, 2.0])
def test_tanh_linear_exponents_equal_the_closed_form(xy, zeta):
    x, y = xy
    etas = np.array([0.25, 1.0, 3.0])
    closed = np.mean(x * y) - etas * zeta**2 * np.mean(x**2) / 2
    np.testing.assert_allclose(analysis.tanh_linear_exponents(x, y, etas, zeta), closed, atol=1e-12)
    with pytest.raises(ValueError, match="etas"):
        analysis.tanh_linear_exponents(x, y, [-1.0])


def test_tanh_sde_collapse_and_exponents_bundle_the_same_runs(xy):
    x, y = xy
    etas = np.array([0.5, 4.0])
    kw = dict(zeta=1.0, n_paths=20, T=2.0, dt=0.02)
    sde = analysis.tanh_sde_collapse(x, y, etas, record_every=50, seed=1, **kw)
    ref = tanh_neuron_sde(x, y, etas, record_every=50, seed=1, **kw)
    np.testing.assert_array_equal(sde.paths.x, ref.x)
    np.testing.assert_array_equal(
        sde.collapsed, np.mean(np.linalg.norm(ref.x[:, :, -1], axis=-1) < 1e-2, axis=1))
    np.testing.assert_array_equal(sde.exponent, np.mean(x * y) - etas * np.mean(x**2) / 2)
    np.testing.assert_array_equal(sde.alpha, etas / 2)
    lin = analysis.tanh_sde_exponents(x, y, etas, init_std=1e-8, record_every=10, seed=2, **kw)
    ref = tanh_neuron_sde(x, y, etas, init_std=1e-8, record_every=10, seed=2, **kw)
    slope, stderr = measured_exponent(ref.t, np.log(np.linalg.norm(ref.x, axis=-1)))
    np.testing.assert_array_equal(lin.slope, slope)
    np.testing.assert_array_equal(lin.stderr, stderr)
    assert lin.scheme is None and lin.report().startswith("measured exponent − theory")


def test_tanh_sgd_collapse_bundles_the_same_run(xy):
    x, y = xy
    etas = np.array([0.05, 0.3])
    sgd = analysis.tanh_sgd_collapse(x, y, etas, zeta=5.0, n_paths=10, steps=50, seed=3)
    ref = tanh_neuron_sgd(x, y, etas, zeta=5.0, n_paths=10, steps=50, record_every=50, seed=3)
    np.testing.assert_array_equal(sgd.paths.x, ref.x)
    assert sgd.paths.x.shape == (2, 10, 2, 2)                     # start and end only
    np.testing.assert_array_equal(
        sgd.collapsed, np.mean(np.linalg.norm(ref.x[:, :, -1], axis=-1) < 1e-2, axis=1))
    np.testing.assert_array_equal(sgd.exponent, np.maximum(*tanh_sgd_exponents(x, y, etas, 5.0)))
    np.testing.assert_allclose(sgd.alpha, etas * 12.5)
    lines = sgd.report().splitlines()
    assert len(lines) == 3 and lines[0].startswith("ζ = 5: α:") and "collapsed" in lines[1]


def test_prototype_exponents_bundle_the_same_run():
    zetas = np.array([0.5, 2.5])
    lam = analysis.prototype_exponents(1.5, zetas, n_paths=30, T=0.5, dt=1e-3, record_every=50,
                                       seed=2)
    ref = simulate_prototype(1.5, zetas, n_paths=30, T=0.5, steps=500, theta0=1e-8,
                             record_every=50, seed=2)
    slope, stderr = measured_exponent(ref.t, np.log(np.abs(ref.x)))
    np.testing.assert_array_equal(lam.slope, slope)
    np.testing.assert_array_equal(lam.stderr, stderr)
    np.testing.assert_array_equal(lam.theory, prototype_exponent(1.5, zetas))
    np.testing.assert_array_equal(lam.scheme, em_exponent(1.5, zetas, 1e-3))
    assert lam.dt == 1e-3 and len(lam.report().splitlines()) == 2
    with pytest.raises(ValueError, match="dt"):
        analysis.prototype_exponents(1.5, zetas, n_paths=3, dt=0.0)


def test_prototype_general_exponents_equal_mu_minus_half_zeta_squared():
    zetas = np.array([0.1, 1.0, 2.0, 3.0])
    np.testing.assert_allclose(analysis.prototype_general_exponents(1.5, zetas),
                               1.5 - zetas**2 / 2, atol=1e-12)
    with pytest.raises(ValueError, match="zetas"):
        analysis.prototype_general_exponents(1.5, [-0.5])


def test_late_law_known_values():
    t = np.array([0.0, 5.0, 10.0, 15.0])
    x = np.ones((2, 3, 4))
    x[0, :, 2:] = 2.0                                       # late samples ±2 → E[θ²] = 4
    x[0, 0, 3] = -2.0
    x[1, :, 2:] = 0.5
    law = analysis.late_law(Paths(t=t, x=x), 1.5, [0.5, 1.0], t_from=10.0)
    np.testing.assert_allclose(law.simulated, [4.0, 0.25])
    np.testing.assert_array_equal(law.theory, stationary_moments(1.5, np.array([0.5, 1.0]))[0])
    samples = law.samples((0.45, 1.0))
    assert list(samples) == [0.45, 1.0] and samples[0.45].shape == (3, 2)
    np.testing.assert_array_equal(samples[1.0], 0.5)
    lines = law.report([True, False]).splitlines()
    assert lines == ["ζ =  0.5: E[θ²] simulated 4.0000, theory μ − ζ²/2 = 1.3750"]
    with pytest.raises(ValueError, match="t_from"):
        analysis.late_law(Paths(t=t, x=x), 1.5, [0.5, 1.0], t_from=20.0)
    with pytest.raises(ValueError, match="paths"):
        analysis.late_law(Paths(t=t, x=x), 1.5, [0.5], t_from=10.0)
