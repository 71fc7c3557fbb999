"""Rows of the performance table for the single neuron (issue 19, rows 1–3).

(a) one trajectory on 1,000 times, the Fig. 2 set-up of the official notebook (β* = (0, 1),
    β₀ = (−1, 0), a₀ > 0 from δ, t ∈ [0, 20]): ours (``whitened_solution``) against the official
    closed form, at δ = −2 and at δ = 0 (the notebook's ``balanced_theory``); and ours' fixed
    cost per call (one time).
(b) 10⁴ random trajectories × 100 times: the official closed form looped against ours batched.
(c) ours batched against ``solve_ivp`` RK45, rtol 1e-6, per trajectory (the official ODE route).

Elementwise counts: the (B, T) passes of ours' kernel (``theory.rich_lazy.exact``) per time
point, d = 2; the agreement is measured on the timed calls' outputs.
"""

from __future__ import annotations

import numpy as np

from _perf import PerfRow, paired, per_call
from reference.single_neuron import official_formula, official_ode
from theory.rich_lazy.exact import _whitened_one, init_from_beta, whitened_solution

REF = "official notebook closed form, re-implemented (benchmarks/reference/single_neuron.py)"
ODE = "official solve_ivp RK45 rtol 1e-6 on the gradient, re-implemented"
# elementwise passes per (trajectory, time) point of ours, d = 2 (see exact._whitened_kernel):
# 5 transcendental (e^{−Dτ}, expm1, e^{−(D+δ)τ/2}, expm1 of −|δ|τ, the square root of the
# denominator) and 37 simple ones (3 outer products, the denominator's 8 passes and its inverse,
# a and p 3 each, f⊥ 1, w and β 5 per component, the loss 8).
TRANSCENDENTAL, SIMPLE = 5, 37
PER_POINT = TRANSCENDENTAL + SIMPLE


def _kernel_model(rates, points):
    """Seconds for ``points`` (trajectory, time) points if every pass ran at this run's measured
    rate for its kind (exp for the exponentials, sqrt for the root, mul for the rest)."""
    op = rates.op["float64"]
    return points * (4 / op["exp"] + 1 / op["sqrt"] + SIMPLE / op["mul"])


def _first_touch(nbytes):
    """Seconds to allocate and first write ``nbytes`` (the page faults every fresh output pays)."""
    import time
    t0 = time.perf_counter()
    np.empty(nbytes // 8).fill(0.0)
    return time.perf_counter() - t0


def _maxdiff(ours, ref):
    return float(np.nanmax(np.abs(np.asarray(ours) - np.asarray(ref))))


def _random_batch(n, seed=0):
    rng = np.random.default_rng(seed)
    a0 = np.abs(rng.normal(size=n)) + 0.1
    w0 = rng.normal(size=(n, 2))
    bs = rng.normal(size=(n, 2))
    return a0, w0, bs


def rows(rates, quick=False):
    out = []
    # microsecond calls: many short rounds, so that one burst of host noise is less likely to set a row
    short = dict(repeat=3 if quick else 25, min_time=0.02)
    bs = np.array([0.0, 1.0])
    beta0 = np.array([-1.0, 0.0])
    t = np.linspace(0.0, 20.0, 1000)
    for delta in (-2.0, 0.0):
        a0, w0 = init_from_beta(beta0, delta)
        a0 = float(a0)
        tr = whitened_solution(t, a0, w0, bs)
        ra, rw = official_formula(t, a0, w0, bs)
        agree = max(_maxdiff(tr.a, ra), _maxdiff(tr.w, rw))
        o, r = paired(lambda: whitened_solution(t, a0, w0, bs),
                      lambda: official_formula(t, a0, w0, bs), **short)
        out.append(PerfRow(f"single neuron, one trajectory, 1,000 times, Fig. 2 set-up, δ = {delta:g}",
                           o, r, REF, "float64", f"max abs diff (a, w) {agree:.1e}",
                           elementwise=PER_POINT * t.size, target=3.0,
                           limit=f"the fixed cost per call (the next row) and ≈ 30 numpy calls on "
                                 f"(≤ 4, T) rows; 3× needs {r / 3 * 1e6:.0f} µs"))
    t1 = np.array([0.5])
    a0, w0 = init_from_beta(beta0, -2.0)
    a0 = float(a0)
    tr = whitened_solution(t1, a0, w0, bs)
    ra, rw = official_formula(t1, a0, w0, bs)
    o, r = paired(lambda: whitened_solution(t1, a0, w0, bs),
                  lambda: official_formula(t1, a0, w0, bs), **short)
    kernel = per_call(lambda: _whitened_one(t1, a0, w0, bs, 1.0, 1.0, 0.0), **short)
    out.append(PerfRow("single neuron, fixed cost per call (one time, δ = −2; target ≤ 50 µs: "
                       + ("✓)" if o <= 50e-6 else "✗)"),
                       o, r, REF, "float64",
                       f"max abs diff {max(_maxdiff(tr.a, ra), _maxdiff(tr.w, rw)):.1e}",
                       elementwise=PER_POINT,
                       limit=f"the validation of the arguments, {(o - kernel) * 1e6:.0f} µs, then "
                             f"the kernel (_whitened_one), {kernel * 1e6:.0f} µs: ≈ 30 numpy calls "
                             f"on one-element rows after the coefficients in Python floats"))

    # (b) 10⁴ × 100, the official formula looped
    n = 500 if quick else 10_000
    a0, w0, bs_b = _random_batch(n)
    t = np.linspace(0.0, 10.0, 100)

    def ref_loop():
        return [official_formula(t, a0[i], w0[i], bs_b[i]) for i in range(n)]

    tr = whitened_solution(t, a0, w0, bs_b)
    ref = ref_loop()
    delta = a0**2 - np.sum(w0**2, -1)
    D = np.sqrt(delta**2 + 4 * np.sum(bs_b**2, -1))
    z0 = (delta + 2 * np.sum(w0 * bs_b, -1) / a0) / D
    good = ~(((delta < 0) & (np.abs(z0) > 1)))  # outside the official formula's failing region
    agree = max(max(_maxdiff(tr.a[i], ref[i][0]), _maxdiff(tr.w[i], ref[i][1]))
                for i in np.flatnonzero(good))
    o, r = paired(lambda: whitened_solution(t, a0, w0, bs_b), ref_loop, repeat=2 if quick else 3,
                  min_time=0.0)
    model = _kernel_model(rates, n * t.size)
    touch = min(_first_touch(8 * 6 * n * t.size) for _ in range(3))
    limit = (f"the passes: {TRANSCENDENTAL} transcendental + {SIMPLE} simple per point, "
             f"{model * 1e3:.1f} ms at this run's exp/sqrt/mul rates (ours reaches "
             f"{100 * model / o:.0f} % of that), and the first touch of the {48 * n * t.size / 1e6:.0f} MB "
             f"of output (a, w, β, loss), {touch * 1e3:.1f} ms; {50:g}× needs {r / 50 * 1e3:.1f} ms")
    out.append(PerfRow(f"single neuron, {n:,} trajectories × 100 times, batched vs looped",
                       o, r, REF, "float64",
                       f"max abs diff {agree:.1e} on the {good.sum()} trajectories outside δ < 0, "
                       f"|z₀| > 1 (where the official formula fails)",
                       elementwise=PER_POINT * n * t.size, target=50.0,
                       limit=limit))

    # (c) against solve_ivp RK45 rtol 1e-6, per trajectory
    k = 10 if quick else 50
    tr_c = whitened_solution(t, a0, w0, bs_b)

    def ode_loop():
        return [official_ode(t, a0[i], w0[i], bs_b[i]) for i in range(k)]

    ref = ode_loop()
    agree = max(max(_maxdiff(tr_c.a[i], ref[i][0]), _maxdiff(tr_c.w[i], ref[i][1]))
                for i in range(k))
    o, r = paired(lambda: whitened_solution(t, a0, w0, bs_b), ode_loop, repeat=2 if quick else 3,
                  min_time=0.0)
    out.append(PerfRow(f"single neuron vs ODE, per trajectory (100 times; ours batched over {n:,}, "
                       f"ODE on {k})", o / n, r / k, ODE, "float64",
                       f"max abs diff {agree:.1e} (the ODE's rtol 1e-6)",
                       elementwise=PER_POINT * t.size, target=1000.0,
                       limit=f"the same kernel as the row above ({1000:g}× needs "
                             f"{r / k / 1000 * 1e6:.2f} µs per trajectory)"))
    return out
