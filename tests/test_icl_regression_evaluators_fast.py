"""The fast ridge and dMMSE evaluators (issue 19): recursive least squares and prefix
statistics, in float64 inside, blocked over sequences; against independent references."""

import mpmath
import pytest
import torch

from theory.icl_regression import estimators
from theory.icl_regression import dmmse_naive, dmmse_predict, ridge_naive, ridge_predict, sample_pool
from theory.icl_regression.data import sample_sequences


def _exact_ridge(xs, ys, lam, dps=40):
    """ŷ_k = x_kᵀ(X_{<k}ᵀX_{<k} + λI)⁻¹X_{<k}ᵀy_{<k} in 40-digit arithmetic."""
    mpmath.mp.dps = dps
    n, K, D = xs.shape
    out = torch.zeros(n, K, dtype=torch.float64)
    for b in range(n):
        for k in range(1, K):
            X = mpmath.matrix(xs[b, :k].tolist())
            y = mpmath.matrix(ys[b, :k].tolist())
            w = mpmath.lu_solve(X.T * X + lam * mpmath.eye(D), X.T * y)
            out[b, k] = float((mpmath.matrix(xs[b, k].tolist()).T * w)[0])
    return out


@pytest.mark.parametrize("sigma2", [0.25, 1e-4, 1e-8])
def test_ridge_recursion_matches_40_digit_solve(sigma2):
    s = sample_sequences(3, 12, sigma2, D=4, seed=5)
    exact = _exact_ridge(s.xs, s.ys, sigma2)
    err = (ridge_predict(s.xs, s.ys, sigma2) - exact).abs().max() / exact.pow(2).mean().sqrt()
    assert err < 1e-9 if sigma2 < 1e-6 else err < 1e-12


def test_ridge_with_task_scale_matches_kernel_form():
    s = sample_sequences(5, 9, 0.3, D=3, seed=2)
    fast = ridge_predict(s.xs, s.ys, 0.3, task_scale=2.0)
    slow = ridge_naive(s.xs, s.ys, 0.3, task_scale=2.0)
    assert torch.allclose(fast, slow, atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("fn", ["ridge", "dmmse"])
def test_float32_input_is_computed_in_float64_and_blocked(fn, monkeypatch):
    pool = sample_pool(64, 4, seed=1)
    s = sample_sequences(50, 10, 0.25, pool=pool, seed=4)
    x32, y32 = s.xs.float(), s.ys.float()
    if fn == "ridge":
        call = lambda x, y, **kw: ridge_predict(x, y, 0.25, **kw)  # noqa: E731
    else:
        call = lambda x, y, **kw: dmmse_predict(x, y, pool.float(), 0.25, **kw)  # noqa: E731
    p32, w32 = call(x32, y32, return_w=True)
    assert p32.dtype == torch.float32 and w32.dtype == torch.float32
    ref = call(x32.double(), y32.double())                  # same inputs, float64 all through
    assert torch.equal(p32, ref.float())
    monkeypatch.setattr(estimators, "_BLOCK", 7)            # blocks of 7 sequences, one short
    p_blocked, w_blocked = call(x32, y32, return_w=True)
    assert torch.allclose(p_blocked, p32, atol=1e-6) and torch.allclose(w_blocked, w32, atol=1e-6)


def test_dmmse_prefix_statistics_match_naive_at_sharp_posteriors():
    # σ² small: the log-weights are large and differ by hundreds; the softmax stays exact
    pool = sample_pool(6, 3, seed=3)
    s = sample_sequences(3, 7, 0.01, pool=pool, seed=6)
    fast = dmmse_predict(s.xs, s.ys, pool, 0.01)
    slow = dmmse_naive(s.xs[:, :4], s.ys[:, :4], pool, 0.01)   # plain exp underflows beyond 4
    assert torch.allclose(fast[:, :4], slow, atol=1e-10, rtol=1e-8)
