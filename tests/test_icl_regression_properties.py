"""Property tests for theory.icl_regression (issue 11): the dMMSE posterior is a distribution,
dMMSE tends to ridge as the pool grows, and every public validator rejects non-finite input
with a ValueError that names the argument."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from theory.icl_regression import (ModelConfig, baseline_risks, dimension_sweep, distance,
                                   dmmse_first_risk, dmmse_posterior, dmmse_predict,
                                   evaluate_sweep, forward, init_params, interpolation_path,
                                   loss, noise_sweep, path_losses, pool_size_sweep, predict,
                                   ridge_predict, ridge_risk_given_inputs, risk_checks,
                                   sample_pool, sample_sequences, train_sweep, transition,
                                   triangle_lr)

small = settings(max_examples=25, deadline=None)


@small
@given(D=st.integers(1, 4), K=st.integers(1, 6), M=st.integers(1, 40),
       sigma2=st.floats(0.01, 2.0), seed=st.integers(0, 2**20))
def test_dmmse_posterior_is_a_distribution(D, K, M, sigma2, seed):
    pool = sample_pool(M, D, seed=seed)
    s = sample_sequences(3, K, sigma2, pool=pool, seed=seed + 1)
    post = dmmse_posterior(s.xs, s.ys, pool, sigma2)
    assert post.shape == (3, K, M)
    assert torch.all(post >= 0)
    assert torch.allclose(post.sum(-1), torch.ones(3, K, dtype=torch.float64), atol=1e-12)
    # with no examples seen the posterior is the uniform prior over the pool
    assert torch.allclose(post[:, 0], torch.full((3, M), 1.0 / M, dtype=torch.float64))
    # and the dMMSE estimate is the posterior average of the pool tasks
    _, w = dmmse_predict(s.xs, s.ys, pool, sigma2, return_w=True)
    assert torch.allclose(w, post @ pool, atol=1e-10)


@small
@given(D=st.integers(1, 3), K=st.integers(2, 6), sigma2=st.floats(0.1, 1.0),
       seed=st.integers(0, 2**20))
def test_dmmse_tends_to_ridge_as_the_pool_grows(D, K, sigma2, seed):
    # pools drawn from the Gaussian prior N(0, I_D): a large pool's dMMSE is close to ridge on
    # new tasks, a tiny pool's is not
    s = sample_sequences(256, K, sigma2, D=D, seed=seed)
    ridge = ridge_predict(s.xs, s.ys, sigma2)
    d = {M: distance(dmmse_predict(s.xs, s.ys, sample_pool(M, D, seed=seed + M), sigma2),
                     ridge, D) for M in (2, 2**13)}
    assert d[2**13] < 0.25 * d[2]
    assert d[2**13] < 0.05


# ------------------------------------------------------------------ non-finite input

def _seqs():
    pool = sample_pool(3, 2, seed=0)
    return pool, sample_sequences(2, 3, 0.1, pool=pool, seed=1)


def _tiny_run():
    cfg = ModelConfig(D=2, K=3, n_layer=1, n_embd=8, n_head=2)
    return train_sweep([2, 4, math.inf], cfg, sigma2=0.1, steps=2, batch_size=2,
                       progress=False, device="cpu")


_RUN = None


def run():
    global _RUN
    if _RUN is None:
        _RUN = _tiny_run()
    return _RUN


def _calls(bad):
    """(argument name, callable) for every scalar or array argument of the public functions."""
    pool, s = _seqs()
    cfg = ModelConfig(D=2, K=3, n_layer=1, n_embd=8, n_head=2)
    xs_bad, pool_bad = s.xs.clone(), pool.clone()
    xs_bad[0, 0, 0], pool_bad[0, 0] = bad, bad
    yield "sigma2", lambda: sample_sequences(2, 3, bad, D=2)
    yield "task_scale", lambda: sample_sequences(2, 3, 0.1, D=2, task_scale=bad)
    yield "task_scale", lambda: sample_pool(2, 2, task_scale=bad)
    yield "M", lambda: sample_pool(bad, 2)
    yield "pool", lambda: sample_sequences(2, 3, 0.1, pool=pool_bad)
    yield "sigma2", lambda: dmmse_predict(s.xs, s.ys, pool, bad)
    yield "sigma2", lambda: dmmse_posterior(s.xs, s.ys, pool, bad)
    yield "pool", lambda: dmmse_predict(s.xs, s.ys, pool_bad, 0.1)
    yield "xs", lambda: dmmse_predict(xs_bad, s.ys, pool, 0.1)
    yield "sigma2", lambda: ridge_predict(s.xs, s.ys, bad)
    yield "task_scale", lambda: ridge_predict(s.xs, s.ys, 0.1, task_scale=bad)
    yield "xs", lambda: ridge_predict(xs_bad, s.ys, 0.1)
    yield "sigma2", lambda: ridge_risk_given_inputs(s.xs, bad)
    yield "xs", lambda: ridge_risk_given_inputs(xs_bad, 0.1)
    yield "sigma2", lambda: dmmse_first_risk(pool, bad)
    yield "pool", lambda: dmmse_first_risk(pool_bad, 0.1)
    yield "sigma2", lambda: baseline_risks(pool, 3, bad, n=4)
    yield "pool", lambda: baseline_risks(pool_bad, 3, 0.1, n=4)
    yield "sigma2", lambda: risk_checks(pool, 3, bad, n=4)
    yield "sigma2", lambda: pool_size_sweep([1, 2], 2, 3, bad, n=4)
    yield "sigma2s entry", lambda: noise_sweep(pool, 3, [0.1, bad], n=4)
    yield "Ds entry", lambda: dimension_sweep([bad], [1], n=4)
    yield "alpha", lambda: interpolation_path([1.0, 0.0], [0.0, 1.0], [0.5, bad])
    yield "w_i", lambda: interpolation_path([bad, 0.0], [0.0, 1.0], [0.5])
    yield "peak", lambda: triangle_lr(1, 10, bad)
    yield "warmup_frac", lambda: triangle_lr(1, 10, 1e-3, bad)
    yield "sigma2", lambda: train_sweep([2], cfg, sigma2=bad, steps=2, progress=False)
    yield "lr", lambda: train_sweep([2], cfg, lr=bad, steps=2, progress=False)
    yield "warmup_frac", lambda: train_sweep([2], cfg, warmup_frac=bad, steps=2, progress=False)
    if not bad == math.inf:                       # M = inf is a valid pool size (fresh tasks)
        yield "Ms entry", lambda: train_sweep([bad], cfg, steps=2, progress=False)
    yield "n_head", lambda: forward(init_params(cfg, [0], device="cpu"),
                                    torch.zeros(1, 1, 6, 3), bad)
    yield "D", lambda: loss(s.ys, s.ys, bad)
    yield "D", lambda: distance(s.ys, s.ys, bad)
    yield "n", lambda: evaluate_sweep(run(), n=bad)
    yield "n_pairs", lambda: path_losses(run(), 1, [0.5], n_pairs=bad)
    yield "alpha", lambda: path_losses(run(), 1, [0.5, bad])
    yield "n", lambda: transition(run(), evaluate_sweep(run(), n=8), n=bad)
    yield "chunk", lambda: predict(run().params, s.xs[None], s.ys[None], 2, chunk=bad)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_every_validator_rejects_non_finite_input(bad):
    checked = 0
    for name, call in _calls(bad):
        with pytest.raises((ValueError, TypeError)) as err:
            call()
        assert name in str(err.value), (name, str(err.value))
        # scalars that should be numbers: a ValueError (int-typed arguments may raise TypeError
        # for a float NaN, which is also a clear rejection naming the argument)
        if name not in ("Ds entry", "n_head", "D", "n", "n_pairs", "chunk"):
            assert err.type is ValueError, (name, err.type)
        checked += 1
    assert checked >= 36
