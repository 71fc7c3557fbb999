"""theory.embodied.candidates: the artificial animals (seeds, arena, speed, likelihoods)."""

import numpy as np
import pytest

from theory.embodied import candidates as C
from theory.embodied import data as D

BOX = (0.0, 1.0, 0.0, 1.0)
OFFSET = (1.0, 2.5, -1.0, 0.0)          # a non-square arena away from the origin


@pytest.fixture(scope="module")
def halves():
    return D.split_halves(D.load_real("sargolini"))


@pytest.fixture(scope="module")
def policy(halves):
    return C.fit_policy(halves[0])


def _inside(tr, arena):
    return (tr.xy[:, 0].min() >= arena[0] and tr.xy[:, 0].max() <= arena[1]
            and tr.xy[:, 1].min() >= arena[2] and tr.xy[:, 1].max() <= arena[3])


@pytest.mark.parametrize("arena", [BOX, OFFSET])
def test_brownian_speed_seed_arena(arena):
    tr = C.brownian(600, arena, 0.12, seed=3)
    assert tr.arena == arena and _inside(tr, arena) and tr.dt == D.DT and len(tr) == 6001
    # mean speed matched to within 3 % (reflections shorten a few steps)
    assert tr.speeds().mean() == pytest.approx(0.12, rel=0.03)
    np.testing.assert_array_equal(tr.xy, C.brownian(600, arena, 0.12, seed=3).xy)
    assert not np.array_equal(tr.xy, C.brownian(600, arena, 0.12, seed=4).xy)


def test_reflected_density_integrates_to_one():
    b = np.linspace(0.0, 1.0, 20001)
    for a in (0.0, 0.02, 0.5, 0.97):
        dens = np.exp(C._reflected_logpdf(np.full_like(b, a), b, 0.0, 1.0, 0.03))
        assert np.trapezoid(dens, b) == pytest.approx(1.0, abs=1e-6)


def test_brownian_fit_recovers_sigma():
    walker = C.Brownian.from_speed(0.12)
    tr = walker.simulate(600, seed=0, arena=BOX)
    fit = C.Brownian.fit(tr)
    assert fit.sigma == pytest.approx(walker.sigma, rel=0.03)
    # the true sigma scores the data better than a wrong one
    assert walker.log_likelihood(tr) > C.Brownian(sigma=2 * walker.sigma).log_likelihood(tr)


@pytest.mark.parametrize("arena", [BOX, OFFSET])
def test_forager(arena):
    tr = C.forager(300, arena, seed=1, speed=0.12)
    s = tr.speeds()
    assert _inside(tr, arena) and np.median(s) == pytest.approx(0.12, rel=1e-9)
    assert s.max() <= 0.12 + 1e-9 and s.mean() == pytest.approx(0.12, rel=0.01)
    assert tr.meta["rewards"] > 10
    np.testing.assert_array_equal(tr.xy, C.forager(300, arena, seed=1, speed=0.12).xy)


def test_ratinabox_default_seed_and_state():
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    a = C.ratinabox_default(10, OFFSET, seed=5)
    assert np.array_equal(np.random.get_state()[1], before)      # global state restored
    b = C.ratinabox_default(10, OFFSET, seed=5)
    c = C.ratinabox_default(2, OFFSET, seed=6)
    np.testing.assert_array_equal(a.xy, b.xy)
    assert not np.array_equal(a.xy[:len(c)], c.xy)
    assert len(a) == 101 and a.arena == OFFSET and _inside(a, OFFSET) and a.source == "ratinabox"
    assert 0.03 < a.speeds().mean() < 0.2      # its default speed_mean is 0.08 m/s


def test_fit_policy_deterministic_and_held_out(halves, policy):
    train, test = halves
    again = C.fit_policy(train)
    assert again == policy
    ll_fit = policy.log_likelihood(test)
    ll_brown = C.Brownian.fit(train).log_likelihood(test, first=policy.first)
    assert ll_fit > ll_brown + 0.5               # nats per step, held out
    assert np.isfinite(policy.log_likelihood(test, reduce="none")).all()
    n = len(test) - policy.first
    assert policy.log_likelihood(test, reduce="sum") == pytest.approx(n * ll_fit)


def test_policy_simulation(halves, policy):
    train, _ = halves
    tr = policy.simulate(600, seed=2)
    assert tr.arena == train.arena and _inside(tr, train.arena) and len(tr) == 6001
    # its mean speed within 10 % of the training rat's (the spread over 600 s is ~3 %)
    assert tr.speeds().mean() == pytest.approx(train.speeds().mean(), rel=0.10)
    np.testing.assert_array_equal(policy.simulate(20, seed=2).xy, policy.simulate(20, seed=2).xy)
    big = policy.simulate(30, seed=2, arena=D.REAL["tanni"]["arena"])
    assert big.arena == D.REAL["tanni"]["arena"] and _inside(big, big.arena)


def test_wall_terms_scalar_matches_vectorised():
    rng = np.random.default_rng(0)
    pts, phis = rng.uniform(0, 1, (50, 2)), rng.uniform(-np.pi, np.pi, 50)
    vec = C._wall_terms(pts, phis, BOX, 0.1)
    sca = np.array([C._wall_terms_scalar(x, y, f, *BOX, 0.1) for (x, y), f in zip(pts, phis)])
    np.testing.assert_allclose(sca, vec, rtol=1e-12, atol=1e-12)


def test_policy_scores_itself_above_brownian(policy):
    sim = policy.simulate(100, seed=9)
    assert policy.log_likelihood(sim) > C.Brownian.fit(sim).log_likelihood(sim, first=policy.first)


def test_validation(halves, policy):
    with pytest.raises(ValueError, match="T_s"):
        C.brownian(0, BOX, 0.1, 0)
    with pytest.raises(ValueError, match="speed"):
        C.brownian(10, BOX, -0.1, 0)
    with pytest.raises(ValueError, match="seed"):
        C.brownian(10, BOX, 0.1, -1)
    with pytest.raises(TypeError, match="seed"):
        C.forager(10, BOX, 0.5, speed=0.1)
    with pytest.raises(ValueError, match="arena"):
        C.forager(10, (1, 0, 0, 1), 0, speed=0.1)
    with pytest.raises(ValueError, match="start"):
        C.brownian(10, BOX, 0.1, 0, start=(2.0, 0.5))
    with pytest.raises(TypeError, match="traj_train"):
        C.fit_policy(halves[0].xy)
    with pytest.raises(ValueError, match="traj_train"):
        C.fit_policy(C.brownian(10, BOX, 0.1, 0))
    coarse = D.load_real("sargolini", dt=0.2)
    with pytest.raises(ValueError, match="dt"):
        policy.log_likelihood(coarse)
    with pytest.raises(ValueError, match="reduce"):
        policy.log_likelihood(halves[1], reduce="max")
    with pytest.raises(TypeError, match="params"):
        C.ratinabox_default(1, BOX, 0, params=[1])


def test_gram_without_blas_matches_matmul():
    rng = np.random.default_rng(0)
    A, B, w = rng.standard_normal((500, 4)), rng.standard_normal((500, 3)), rng.random(500)
    np.testing.assert_allclose(C._gram(A, w, B), (A * w[:, None]).T @ B, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(C._gram(A, w), A.T @ w, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(C._mv(A, w[:4]), A @ w[:4], rtol=1e-12, atol=1e-12)
