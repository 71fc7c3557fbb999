"""The official notebook's closed form (re-implemented) against ours and a tight ODE; the fast
kernel of whitened_solution against its general path and the ODE."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from theory.rich_lazy import exact
from theory.rich_lazy.official_formula import official_region, official_trajectory


def _ode(t, a0, w0, bs):
    def rhs(_, th):
        w, a = th[:-1], th[-1]
        r = a * w - bs
        return np.concatenate((-a * r, [-(w @ r)]))

    sol = solve_ivp(rhs, (0.0, t[-1]), np.concatenate((w0, [a0])), t_eval=t, method="DOP853",
                    rtol=1e-12, atol=1e-12)
    return sol.y[-1], sol.y[:-1].T


def _draws(n, seed):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        a0 = abs(rng.normal()) * rng.uniform(0.2, 2.0) + 1e-3
        w0 = rng.normal(size=2) * rng.uniform(0.2, 2.0)
        yield a0, w0, rng.normal(size=2)


T = np.linspace(0.0, 5.0, 60)


def _z0(a0, w0, bs):
    dl = a0**2 - w0 @ w0
    return dl, (dl + 2 * (w0 @ bs) / a0) / np.sqrt(dl**2 + 4 * bs @ bs)


def test_official_agrees_outside_the_region():
    checked = 0
    for a0, w0, bs in _draws(60, 1):
        dl, z0 = _z0(a0, w0, bs)
        if dl < 0 and abs(z0) > 1:  # inside the region, or a passes through zero
            continue
        oa, ow = official_trajectory(T, a0, w0, bs)
        tr = exact.whitened_solution(T, a0, w0, bs)
        ok = np.isfinite(ow).all(axis=1)  # the notebook's √(1 − c₂²) can round to NaN at c₂ ≈ 1
        np.testing.assert_allclose(oa, tr.a, atol=1e-6)
        np.testing.assert_allclose(ow[ok], tr.w[ok], atol=1e-6)
        checked += 1
    assert checked > 20


def test_official_differs_inside_the_region():
    errs = []
    for a0, w0, bs in _draws(200, 2):
        if not official_region(a0, w0, bs):
            continue
        oa, ow = official_trajectory(T, a0, w0, bs)
        a, w = _ode(T, a0, w0, bs)
        errs.append(np.nanmax(np.abs(np.c_[oa - a, ow - w])))
        tr = exact.whitened_solution(T, a0, w0, bs)
        np.testing.assert_allclose(tr.a, a, atol=1e-8)
        np.testing.assert_allclose(tr.w, w, atol=1e-8)
    assert len(errs) > 10
    assert min(errs) > 0.1  # every sampled trajectory of the region is wrong


def test_official_region_formula():
    assert official_region(0.3, np.array([2.0, 0.0]), np.array([1.0, 0.0]))       # δ < 0, z₀ > 1
    assert not official_region(0.3, np.array([-2.0, 0.0]), np.array([1.0, 0.0]))  # z₀ < −1
    assert not official_region(2.0, np.array([1.0, 0.0]), np.array([1.0, 0.0]))   # δ > 0


def test_official_balanced_matches_ours():
    a0, w0 = exact.init_from_beta(np.array([-1.0, 0.3]), 0.0)
    bs = np.array([0.0, 1.0])
    oa, ow = official_trajectory(T, float(a0), w0, bs)
    tr = exact.whitened_solution(T, a0, w0, bs)
    np.testing.assert_allclose(oa, tr.a, atol=1e-10)
    np.testing.assert_allclose(ow, tr.w, atol=1e-10)


def test_official_validates():
    with pytest.raises(ValueError, match="a0"):
        official_trajectory(T, -1.0, np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="same shape"):
        official_trajectory(T, 1.0, np.ones(2), np.ones(3))


def test_fast_kernel_matches_ode():
    for a0, w0, bs in _draws(15, 3):
        a, w = _ode(T, a0, w0, bs)
        tr = exact.whitened_solution(T, a0, w0, bs)
        np.testing.assert_allclose(tr.a, a, atol=1e-8)
        np.testing.assert_allclose(tr.w, w, atol=1e-8)


def test_fast_kernel_matches_general_path_on_mixed_batches():
    rng = np.random.default_rng(4)
    n = 400
    a0 = rng.normal(size=n) * rng.uniform(0.01, 3, n)
    w0 = rng.normal(size=(n, 3)) * rng.uniform(0.01, 3, (n, 1))
    bs = rng.normal(size=(n, 3))
    ea, ew = rng.uniform(0.2, 3, n), rng.uniform(0.2, 3, n)
    a0[:10] = 0.0                      # c₊ = 0 rows: the general path
    w0[10:20] = 0.0
    bs[20:30] = 0.0
    w0[30:40] = 0.7 * bs[30:40]        # ρ = 0
    a0[40:50] = np.linalg.norm(w0[40:50], axis=1) * np.sqrt(ea[40:50] / ew[40:50])  # δ = 0
    t = np.r_[0.0, np.geomspace(1e-9, 1e3, 80)]
    fast = exact.whitened_solution(t, a0, w0, bs, ea, ew, loss_offset=0.3)
    slow = exact._whitened_general(t, a0, w0, bs, ea, ew, np.full(n, 0.3))
    for name in ("a", "w", "beta", "loss"):
        x, y = getattr(fast, name), getattr(slow, name)
        scale = np.max(np.abs(y), axis=tuple(range(1, y.ndim)), keepdims=True)
        assert np.all(np.abs(x - y) <= 1e-12 * scale + 1e-300), name
