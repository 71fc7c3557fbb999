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
