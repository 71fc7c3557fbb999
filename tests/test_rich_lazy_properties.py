"""Property tests (hypothesis): conservation of δ and the ODE residual of the closed form."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from theory.rich_lazy import conserved_delta, whitened_solution

finite = st.floats(-3, 3, allow_nan=False, allow_infinity=False)
rates = st.floats(0.1, 10.0)


@st.composite
def problems(draw):
    d = draw(st.integers(1, 4))
    a0 = draw(finite)
    w0 = np.array([draw(finite) for _ in range(d)])
    bs = np.array([draw(finite) for _ in range(d)])
    return a0, w0, bs, draw(rates), draw(rates)


def _flow(a, w, bs, ea, ew):
    g = a[..., None] * w - bs
    return -ea * np.sum(w * g, axis=-1), -ew * a[..., None] * g


@settings(max_examples=150, deadline=None)
@given(problems(), st.floats(0.0, 20.0))
def test_conservation(problem, t_end):
    a0, w0, bs, ea, ew = problem
    t = np.linspace(0.0, t_end, 21)
    tr = whitened_solution(t, a0, w0, bs, ea, ew)
    delta0 = ew * a0**2 - ea * w0 @ w0
    scale = max(1.0, abs(delta0), ew * np.max(tr.a**2), ea * np.max(np.sum(tr.w**2, -1)))
    assert np.max(np.abs(conserved_delta(tr.a, tr.w, ea, ew) - delta0)) <= 1e-12 * scale


@settings(max_examples=150, deadline=None)
@given(problems(), st.floats(0.0, 5.0))
def test_ode_residual(problem, t_mid):
    """The closed form satisfies the gradient-flow ODE: central differences of a(t), w(t)
    against the right-hand side evaluated on the closed form, to O(h²)."""
    a0, w0, bs, ea, ew = problem
    h = 1e-4
    t = np.array([t_mid, t_mid + h, t_mid + 2 * h])
    tr = whitened_solution(t, a0, w0, bs, ea, ew)
    da = (tr.a[2] - tr.a[0]) / (2 * h)
    dw = (tr.w[2] - tr.w[0]) / (2 * h)
    fa, fw = _flow(tr.a[1:2], tr.w[1:2], bs, ea, ew)
    scale = 1.0 + abs(fa[0]) + np.linalg.norm(fw[0]) + abs(tr.a[1]) + np.linalg.norm(tr.w[1])
    assert abs(da - fa[0]) <= 1e-5 * scale**3
    assert np.linalg.norm(dw - fw[0]) <= 1e-5 * scale**3


# ---- invariances of the closed forms and of the kernel distance ----

from theory.rich_lazy import (implicit_bias, init_from_beta, kernel_distance,  # noqa: E402
                              kernel_distance_whitened, metric_coefficients, ntk_gram)

gram_entries = st.floats(-2, 2, allow_nan=False, allow_infinity=False)


@st.composite
def grams(draw, n=None):
    """A non-zero symmetric n×n matrix (a Gram matrix need not be definite for the identities)."""
    n = n or draw(st.integers(1, 4))
    A = np.array([[draw(gram_entries) for _ in range(n)] for _ in range(n)])
    K = A @ A.T + np.eye(n) * draw(st.floats(1e-3, 1.0))
    return K


@settings(max_examples=25, deadline=None)
@given(grams(), st.floats(1e-6, 1e6), st.floats(1e-6, 1e6))
def test_kernel_distance_scale_invariant_and_zero_against_itself(K, c0, c1):
    assert abs(kernel_distance(K, K)) <= 1e-12
    assert abs(kernel_distance(c0 * K, c1 * K)) <= 1e-12
    L = K + np.diag(np.arange(K.shape[0], dtype=float))
    S = kernel_distance(K, L)
    assert abs(kernel_distance(c0 * K, c1 * L) - S) <= 1e-12
    assert abs(kernel_distance(L, K) - S) <= 1e-15 * max(1.0, abs(S))  # symmetric
    assert -1e-15 <= S <= 1.0 + 1e-15  # positive semi-definite kernels: ⟨K₀, K_t⟩ ≥ 0


@settings(max_examples=25, deadline=None)
@given(problems(), st.floats(0.0, 10.0))
def test_whitened_kernel_distance_equals_the_gram_form(problem, t_end):
    """For XᵀX = I the parameter-only formula equals S of the NTK Grams X M Xᵀ."""
    a0, w0, bs, ea, ew = problem
    d = w0.size
    X = np.linalg.qr(np.random.default_rng(d).normal(size=(d + 2, d)))[0]
    tr = whitened_solution(np.array([0.0, t_end]), a0, w0, bs, ea, ew)
    K0 = ntk_gram(X, a0, w0, ea, ew)
    if np.linalg.norm(K0) < 1e-6 or np.linalg.norm(ntk_gram(X, tr.a[-1], tr.w[-1], ea, ew)) < 1e-6:
        return  # the kernel distance is undefined for a zero kernel
    S_gram = kernel_distance(K0, ntk_gram(X, tr.a[-1], tr.w[-1], ea, ew))
    S_par = kernel_distance_whitened(a0, w0, tr.a, tr.w, ea, ew)[-1]
    assert abs(S_gram - S_par) <= 1e-9
    assert abs(kernel_distance_whitened(a0, w0, tr.a, tr.w, ea, ew)[0]) <= 1e-12  # S(0) = 0


@settings(max_examples=25, deadline=None)
@given(problems(), st.floats(0.0, 20.0), st.floats(0.1, 10.0))
def test_delta_invariant_along_whitened_solution_and_under_rate_rescaling(problem, t_end, c):
    """δ(t) = δ(0) along the closed form, and rescaling both rates by c rescales δ by c while
    the trajectory is the same one run c times faster: β(t; cη) = β(ct; η)."""
    a0, w0, bs, ea, ew = problem
    t = np.linspace(0.0, t_end, 11)
    tr = whitened_solution(t, a0, w0, bs, ea, ew)
    delta = conserved_delta(tr.a, tr.w, ea, ew)
    scale = max(1.0, abs(delta[0]), ew * np.max(tr.a**2), ea * np.max(np.sum(tr.w**2, -1)))
    assert np.max(np.abs(delta - delta[0])) <= 1e-12 * scale
    fast = whitened_solution(t, a0, w0, bs, c * ea, c * ew)
    slow = whitened_solution(c * t, a0, w0, bs, ea, ew)
    assert abs(fast.delta - c * tr.delta) <= 1e-12 * c * scale
    b_scale = 1.0 + np.max(np.abs(slow.beta))
    assert np.max(np.abs(fast.beta - slow.beta)) <= 1e-9 * b_scale


@settings(max_examples=25, deadline=None)
@given(st.floats(0.05, 3.0), st.floats(-5, 5), st.floats(0.1, 10.0), st.floats(0.1, 10.0))
def test_metric_coefficients_reproduce_delta_and_norm(b, delta, ea, ew):
    """u − v = δ and u v = η_aη_w‖β‖² for u = η_w a², v = η_a‖w‖² (Eq. 4), without cancellation."""
    u, v = metric_coefficients(b, delta, ea, ew)
    assert u >= 0 and v >= 0
    assert abs((u - v) - delta) <= 1e-12 * max(1.0, abs(delta), u)
    assert abs(u * v - ea * ew * b**2) <= 1e-12 * max(1.0, u * v)


@settings(max_examples=25, deadline=None)
@given(st.floats(-3, 3), st.floats(0.2, 2.0), st.floats(-1.0, 1.0), st.floats(0.3, 3.0))
def test_init_from_beta_realises_beta0_with_the_asked_delta(delta, r, angle, ratio):
    beta0 = r * np.array([np.cos(angle), np.sin(angle)])
    ea, ew = np.sqrt(ratio), 1 / np.sqrt(ratio)
    a0, w0 = init_from_beta(beta0, delta, ea, ew)
    np.testing.assert_allclose(a0 * w0, beta0, rtol=1e-12, atol=1e-14)
    assert abs(conserved_delta(a0, w0, ea, ew) - delta) <= 1e-12 * max(1.0, abs(delta))


@settings(max_examples=25, deadline=None)
@given(st.floats(0.2, 3.0), st.floats(-1.5, 1.5), st.floats(0.5, 2.0))
def test_implicit_bias_interpolates_and_keeps_the_null_component(delta, x1, y0):
    """β∞ interpolates (Xβ∞ = y), and β∞ − β_mn lies along P_null w₀ (upstream δ > 0, a > 0)."""
    X = np.array([[x1, 1.0, 0.5]])
    y = np.array([y0])
    a0, w0 = init_from_beta(np.array([0.4, -0.2, 0.3]), delta)
    ib = implicit_bias(X, y, float(a0), w0)
    np.testing.assert_allclose(X @ ib.beta_inf, y, rtol=1e-10, atol=1e-12)
    resid = ib.beta_inf - ib.beta_mn
    cross = np.linalg.norm(np.cross(resid, ib.null_w0))
    assert cross <= 1e-10 * max(1.0, np.linalg.norm(resid) * np.linalg.norm(ib.null_w0))
    assert ib.a_inf > 0
