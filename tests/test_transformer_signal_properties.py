"""Property tests of theory.transformer_signal (hypothesis), and non-finite input everywhere.

The central property (issue 11): the mean-field map of the token geometry keeps the cosine
ρ = p/q of n equiangular tokens in [−1/(n−1), 1], the range of a Gram matrix of n vectors
(‖Σᵢ xᵢ‖² ≥ 0 gives the lower end), for every residual strength, weight scale, number of tokens
and start. The simulated model keeps it too, exactly, whatever its width.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from theory.core import Sweep
from theory.transformer_signal import BOOK_MODEL as B  # noqa: E402  (the book's earlier model: scaled residual, erf)
from theory.transformer_signal import (BatchedTransformer, angle_exponent, angle_exponent_one_block,
                                       attention_flatness, attention_moments, attention_output,
                                       attention_summary, one_block_exponents, theory_phase_diagram,
                                       block_map, chi_1, chi_1_finite_difference,
                                       collapsed_fixed_point, fit_log_gap_slope, gap_rate,
                                       gradient_exponent, gradient_exponent_finite_depth,
                                       gradient_norm_profile, iterate_map, map_tracks,
                                       measure_angle_exponent, measure_gradient_exponent,
                                       measured_phase_diagram, mlp_kernel, propagate,
                                       sample_tokens, simplex_fixed_point, simplex_scatter,
                                       token_geometry, train_transformers, trainability_summary)

torch.set_num_threads(1)

unit = st.floats(0.0, 1.0)
alphas = st.floats(0.0, 1.0)
sigma_ws = st.floats(0.1, 6.0)
sigma_As = st.floats(0.0, 3.0)
FAST = settings(max_examples=25, deadline=None)


# --- the map keeps ρ in [−1/(n−1), 1] -------------------------------------------------------

@FAST
@given(alpha_A=alphas, alpha_M=alphas, sigma_w=sigma_ws, sigma_A=sigma_As, n=st.integers(2, 12),
       q0=st.floats(0.05, 20.0), u=unit, depth=st.integers(1, 4),
       activation=st.sampled_from(["erf", "relu"]))
def test_map_keeps_rho_in_the_gram_range(alpha_A, alpha_M, sigma_w, sigma_A, n, q0, u, depth,
                                         activation):
    lo = -1.0 / (n - 1)
    rho0 = lo + u * (1.0 - lo)
    tr = iterate_map(q0, rho0, depth, alpha_A=alpha_A, alpha_M=alpha_M, sigma_w=sigma_w,
                     sigma_A=sigma_A, n=n, activation=activation, samples=200)
    assert np.all(np.isfinite(tr.q)) and np.all(tr.q > 0)
    assert np.all(tr.rho >= lo - 1e-12) and np.all(tr.rho <= 1 + 1e-12)


def _near_singular(alpha_A, sigma_A, u):
    """Near the one point where the scaled-residual block map is undefined: α_A = 1 (no skip
    path), σ_A = 0 (uniform attention) and ρ = −1/(n−1) (tokens that sum to zero)."""
    return alpha_A > 1 - 1e-9 and sigma_A < 1e-3 and u < 1e-6


@pytest.mark.parametrize("n", [2, 3, 7])
def test_block_map_refuses_its_singular_point(n):
    # uniform attention over tokens that sum to zero gives zero, and nothing skips it
    with pytest.raises(ValueError, match="vanishes"):
        block_map(1.0, -1.0 / (n - 1), alpha_A=1.0, alpha_M=0.5, sigma_w=1.0, sigma_A=0.0, n=n,
                  samples=200, **B)
    out = block_map(1.0, -1.0 / (n - 1), alpha_A=0.9, alpha_M=0.5, sigma_w=1.0, sigma_A=0.0,
                    n=n, samples=200, **B)                  # a skip path: defined and finite
    assert out.q > 0 and np.isfinite(out.p)


@FAST
@given(alpha_A=alphas, alpha_M=alphas, sigma_w=sigma_ws, sigma_A=sigma_As, n=st.integers(2, 10),
       u=unit)
def test_one_block_keeps_the_intermediate_state_in_range_too(alpha_A, alpha_M, sigma_w, sigma_A,
                                                              n, u):
    lo = -1.0 / (n - 1)
    rho = lo + u * (1.0 - lo)
    try:
        out = block_map(1.0, rho, alpha_A=alpha_A, alpha_M=alpha_M, sigma_w=sigma_w,
                        sigma_A=sigma_A, n=n, samples=200, **B)
    except ValueError as exc:   # only at the map's singular point (see the test below)
        assert "vanishes" in str(exc) and _near_singular(alpha_A, sigma_A, u)
        return
    for q, p in ((out.q_mid, out.p_mid), (out.q, out.p)):
        assert q > 0 and lo - 1e-12 <= p / q <= 1 + 1e-12


@FAST
@given(alpha_A=alphas, alpha_M=alphas, sigma_w=sigma_ws, sigma_A=sigma_As, n=st.integers(2, 6),
       d=st.integers(4, 24), rho=unit, depth=st.integers(1, 3), seed=st.integers(0, 2**31))
def test_random_transformer_keeps_rho_in_the_gram_range(alpha_A, alpha_M, sigma_w, sigma_A, n, d,
                                                        rho, depth, seed):
    g = torch.Generator().manual_seed(seed)
    X = sample_tokens(1, n, d, rho, generator=g, device="cpu")
    model = BatchedTransformer(alpha_A, alpha_M, sigma_w, sigma_A, d=d, depth=depth, generator=g,
                               device="cpu", **B)
    for Xl in model.forward(X, keep=True):
        q, p, _ = token_geometry(Xl)
        r = float(p / q)
        assert -1 / (n - 1) - 1e-12 <= r <= 1 + 1e-12


# --- kernels, attention moments, exponents ----------------------------------------------------

@FAST
@given(rho=st.floats(-1.0, 1.0), sigma_w=sigma_ws, activation=st.sampled_from(["erf", "relu"]))
def test_mlp_kernel_is_a_bounded_increasing_covariance(rho, sigma_w, activation):
    V, K = mlp_kernel(rho, sigma_w, activation)
    assert abs(K) <= V * (1 + 1e-12)                      # Cauchy–Schwarz
    V1, K1 = mlp_kernel(1.0, sigma_w, activation)
    assert K1 == pytest.approx(V1, rel=1e-12) and V == pytest.approx(V1, rel=1e-12)
    _, K2 = mlp_kernel(min(1.0, rho + 1e-3), sigma_w, activation)
    assert K2 >= K - 1e-12                                 # K′ = σ² E φ′φ′ ≥ 0 (Price)


@FAST
@given(rho=unit, sigma_A=sigma_As, n=st.integers(2, 10))
def test_attention_moments_are_those_of_a_stochastic_matrix(rho, sigma_A, n):
    a2, a11 = attention_moments(rho, sigma_A, n, samples=200)
    assert 1 / n - 1e-12 <= a2 <= 1 + 1e-12               # Σ_j A_ij² ∈ [1/n, 1]
    assert a11 <= a2 + 1e-12 and a11 >= -1e-15            # Cauchy–Schwarz; entries ≥ 0
    qA, pA = attention_output(rho, sigma_A, n, samples=200)
    assert pA <= qA + 1e-12


@FAST
@given(alpha_A=alphas.filter(lambda a: a < 1), alpha_M=alphas.filter(lambda a: a < 1),
       sigma_w=sigma_ws, activation=st.sampled_from(["erf", "relu"]))
def test_gradient_exponent_is_at_least_the_angle_exponent(alpha_A, alpha_M, sigma_w, activation):
    la = angle_exponent(alpha_A, alpha_M, sigma_w, activation, "scaled")
    lg = gradient_exponent(alpha_A, alpha_M, sigma_w, activation, "scaled")
    assert lg >= la - 1e-12          # attention's common-mode gain α_A²/q* ≥ 0 only adds
    if alpha_M == 0:
        assert la == pytest.approx(math.log(1 - alpha_A**2), abs=1e-12)


@FAST
@given(alpha_A=alphas.filter(lambda a: 0 < a < 1), alpha_M=alphas, sigma_w=sigma_ws)
def test_collapsed_point_is_a_fixed_point_of_the_map(alpha_A, alpha_M, sigma_w):
    q, _ = collapsed_fixed_point(alpha_A, alpha_M, sigma_w, **B)
    out = block_map(q, q, alpha_A=alpha_A, alpha_M=alpha_M, sigma_w=sigma_w, sigma_A=1.0, n=4,
                    samples=50, **B)
    assert out.q == pytest.approx(q, rel=1e-10) and out.p == pytest.approx(q, rel=1e-10)


@FAST
@given(alpha_A=alphas.filter(lambda a: a < 1), alpha_M=alphas.filter(lambda a: a < 1),
       sigma_w=sigma_ws, depth=st.integers(1, 200), n=st.integers(2, 64))
def test_finite_depth_gradient_exponent_lies_between_the_two_rates(alpha_A, alpha_M, sigma_w,
                                                                   depth, n):
    la = angle_exponent(alpha_A, alpha_M, sigma_w, **B)
    lg = gradient_exponent(alpha_A, alpha_M, sigma_w, **B)
    fin = gradient_exponent_finite_depth(alpha_A, alpha_M, sigma_w, depth, n, **B)
    assert la - 1e-9 - math.log(n) / depth <= fin <= lg + 1e-9


# --- every validator rejects NaN and inf, naming the argument ----------------------------------

def _kw(**kw):
    return kw


MAP = _kw(alpha_A=0.3, alpha_M=0.5, sigma_w=1.0, sigma_A=1.0, n=4)
CASES = [
    (mlp_kernel, _kw(rho=0.5, sigma_w=1.0), ["rho", "sigma_w"]),
    (chi_1, _kw(sigma_w=1.0), ["sigma_w"]),
    (attention_moments, _kw(rho=0.5, sigma_A=1.0, n=4, samples=10), ["rho", "sigma_A"]),
    (attention_output, _kw(rho=0.5, sigma_A=1.0, n=4, samples=10), ["rho", "sigma_A"]),
    (attention_flatness, _kw(sigma_A=1.0, n=4, gaps=[1e-2], samples=10), ["sigma_A", "gaps"]),
    (attention_summary, _kw(sigma_A=1.0, n=4, rho=[0.5], gaps=[1e-2], samples=10),
     ["sigma_A", "rho", "gaps"]),
    (one_block_exponents, _kw(configs=[(0.3, 0.5, 1.0)], sigma_A=1.0, n=4, rho0=0.9, samples=10),
     ["sigma_A", "rho0"]),
    (theory_phase_diagram, _kw(alpha_A=0.3, alpha_M=[0.5], sigma_w=[1.0]),
     ["alpha_A", "alpha_M", "sigma_w"]),
    (block_map, _kw(q=1.0, p=0.5, samples=10, **MAP), ["q", "p", "alpha_A", "alpha_M", "sigma_w",
                                                       "sigma_A"]),
    (iterate_map, _kw(q0=1.0, rho0=0.5, depth=1, samples=10, **MAP), ["q0", "rho0", "alpha_A"]),
    (collapsed_fixed_point, _kw(alpha_A=0.3, alpha_M=0.5, sigma_w=1.0),
     ["alpha_A", "alpha_M", "sigma_w"]),
    (angle_exponent, _kw(alpha_A=0.3, alpha_M=0.5, sigma_w=1.0), ["alpha_A", "alpha_M", "sigma_w"]),
    (gradient_exponent, _kw(alpha_A=0.3, alpha_M=0.5, sigma_w=1.0), ["alpha_A", "alpha_M", "sigma_w"]),
    (gradient_exponent_finite_depth, _kw(alpha_A=0.3, alpha_M=0.5, sigma_w=1.0, depth=4, n=4),
     ["alpha_A", "sigma_w"]),
    (gradient_norm_profile, _kw(alpha_A=0.3, alpha_M=0.5, sigma_w=1.0, depth=4, n=4),
     ["alpha_M", "sigma_w"]),
    (angle_exponent_one_block, _kw(q=1.0, rho=0.5, samples=10, **MAP), ["q", "rho", "sigma_A"]),
    (simplex_fixed_point, _kw(samples=10, **MAP), ["alpha_A", "sigma_w", "sigma_A"]),
    (chi_1_finite_difference, _kw(sigma_w=1.0, activation="erf", h=1e-4), ["sigma_w", "h"]),
    (gap_rate, _kw(rho=[0.5, 0.6, 0.7], start=0, stop=2), ["rho"]),
    (map_tracks, _kw(cases={"a": (0.3, 0.5, 1.0)}, rho0=[0.5], depth=1, sigma_A=1.0, n=4,
                     samples=10), ["rho0", "sigma_A"]),
    (sample_tokens, _kw(batch=1, n=3, d=4, rho=0.5, q=1.0, device="cpu"), ["rho", "q"]),
    (propagate, _kw(rho0=0.5, q0=1.0, d=4, depth=1, device="cpu", **MAP),
     ["rho0", "q0", "alpha_A", "alpha_M", "sigma_w", "sigma_A"]),
    (measure_angle_exponent, _kw(q0=1.0, d=4, seeds=1, device="cpu", **MAP), ["q0", "rho0", "sigma_A"]),
    (measure_gradient_exponent, _kw(q0=1.0, d=4, depth=1, seeds=1, device="cpu", **MAP),
     ["q0", "rho0", "alpha_M"]),
    (BatchedTransformer, _kw(alpha_A=0.3, alpha_M=0.5, sigma_w=1.0, sigma_A=1.0, d=4, depth=1,
                             device="cpu"), ["alpha_A", "alpha_M", "sigma_w", "sigma_A"]),
    (fit_log_gap_slope, _kw(rho=[0.0, 0.5, 0.75, 0.875], floor=1e-9, skip=0), ["rho", "floor"]),
    (simplex_scatter, _kw(alpha_A=0.3, alpha_M=0.5, sigma_w=1.0, sigma_A=1.0, widths=[4], n=3,
                          depth=1, seeds=1, seed=0, last=1), ["alpha_A", "sigma_w"]),
    (measured_phase_diagram, _kw(alpha_A=0.3, alpha_M=[0.5], sigma_w=[1.0], sigma_A=1.0, n=3, d=4,
                                 seeds=1, seed=0), ["alpha_M", "sigma_w", "sigma_A"]),
    (train_transformers, _kw(sweep=Sweep(seed=[0]), alpha_A=0.3, alpha_M=0.5, sigma_w=1.0,
                             sigma_A=1.0, n=3, d=4, depth=1, steps=1, batch=1, test_batch=1,
                             lr=1e-3, device="cpu"), ["alpha_A", "alpha_M", "sigma_w", "sigma_A", "lr"]),
]
PARAMS = [pytest.param(fn, kw, arg, bad, id=f"{fn.__name__}-{arg}-{bad}")
          for fn, kw, args in CASES for arg in args for bad in (math.nan, math.inf)]


@pytest.mark.parametrize("fn, kw, arg, bad", PARAMS)
def test_validators_reject_non_finite_input(fn, kw, arg, bad):
    kw = dict(kw)
    old = kw.get(arg, 0.99)                     # rho0's default for the measurements
    kw[arg] = [bad] if isinstance(old, list) else bad
    with pytest.raises(ValueError, match=arg):
        fn(**kw)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_the_trainability_summary_rejects_non_finite_alpha(bad):
    res = train_transformers(Sweep(alpha_M=[0.5], sigma_w=[1.0]), alpha_A=0.3, sigma_A=1.0, seed=0,
                             n=3, d=4, depth=1, steps=1, batch=1, test_batch=1, device="cpu", **B)
    with pytest.raises(ValueError, match="alpha_A"):
        trainability_summary(res, alpha_A=bad)


@pytest.mark.parametrize("arg", ["n", "d", "depth", "seeds", "seed", "chunk"])
@pytest.mark.parametrize("bad", [math.nan, math.inf, 2.0])
def test_integer_arguments_reject_floats(arg, bad):
    kw = dict(rho0=0.5, d=4, depth=1, device="cpu", **MAP)
    kw[arg] = bad
    with pytest.raises(TypeError, match=arg):
        propagate(**kw)
