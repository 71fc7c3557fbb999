r"""Symbolic identities (sympy) of HELM's metrics — the book's reconstruction.

HELM's code defines the metrics (``theory.helm.metrics``); the properties below are what those
definitions imply, each checked as an :class:`~theory.core.Identity` whose residual must simplify
to zero. None of them is stated in the paper's available text.

1. :func:`win_rates_sum`: with ties at half credit, the wins in one column of N models sum to
   N(N − 1)/2 whatever the ties, so the column's mean win rate is exactly 1/2.
2. :func:`ece_decomposition`: the overall gap of ECE-1 is the mass-weighted sum of the bins'
   signed gaps, and :math:`\sum_b w_b|d_b| - |\sum_b w_b d_b| = 2\sum_{b:\,\mathrm{sign}\,d_b
   \ne \mathrm{sign}\,S} w_b |d_b|` (S the total): ECE-1 ≤ ECE-B, with equality iff every bin errs
   on the same side (always for one bin).
3. :func:`selective_area_weights`: the coverage–accuracy area is a weighted accuracy,
   :math:`\tfrac1n\sum_k \mathrm{acc}_k = \sum_j y_{(j)}\,(H_n - H_{j-1})/n` (H the harmonic
   numbers), the weights summing to 1; a perfect ranker with m correct gets
   :math:`(m/n)(1 + H_n - H_m)`.
4. :func:`calibrated_gap_moments`: for a perfectly calibrated predictor (:math:`y_i \sim
   \mathrm{Bernoulli}(c_i)` independently) the signed gap :math:`S = \sum_i (y_i - c_i)` has mean 0
   and variance :math:`\sum_i c_i(1 - c_i)` (exact, over all :math:`2^n` outcomes), so ECE-1's
   expectation is 0 only in sign: :math:`\mathbb E|S|/n > 0` at finite n.
5. :func:`half_normal_mean`: :math:`\mathbb E|Z| = \sigma\sqrt{2/\pi}` for :math:`Z \sim
   N(0, \sigma^2)`, which with 4. gives the large-bin approximation of the expected ECE of a
   calibrated predictor, :math:`\mathbb E\,\mathrm{ECE}_B \approx \sqrt{2/\pi}\,\tfrac1n\sum_b
   \sqrt{\sum_{i\in b} c_i(1-c_i)}` (``theory.helm.metrics.expected_ece_normal``).
6. :func:`platt_intercept_score`: the log-likelihood's derivative in the intercept is
   :math:`\sum_i (y_i - \sigma(a z_i + b))`, so at Platt's optimum the recalibrated confidences
   average to the accuracy: Platt's ECE-1 is 0 on its fitting set (ECE-10 has no such guarantee).
7. :func:`tv_uniform_bounds`: the total-variation bias of a point mass is :math:`1 - 1/|G|`, its
   maximum, and of the uniform 0; for two groups TV = :math:`|p_1 - 1/2|`.
8. :func:`worst_case_binary`: for 0/1 scores the per-instance worst case over K variants is their
   product, so robustness = accuracy − P(correct originally, wrong under some perturbation) ≤
   accuracy.
"""

from __future__ import annotations

import itertools

import sympy as sp

from theory.core import Identity

__all__ = ["all_identities", "calibrated_gap_moments", "ece_decomposition", "half_normal_mean",
           "platt_intercept_score", "selective_area_weights", "tv_uniform_bounds", "win_rates_sum",
           "worst_case_binary"]


def _size(n, name, lo, hi=None):
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{name} must be an int, got {type(n).__name__}")
    if n < lo or (hi is not None and n > hi):
        raise ValueError(f"{name} must be in [{lo}, {hi if hi is not None else 'inf'}], got {n}")
    return n


def win_rates_sum(n_levels: int = 4) -> Identity:
    r"""K distinct values with multiplicities :math:`m_1, …, m_K` (worst to best), N = Σ m: value k
    wins :math:`w_k = \sum_{j<k} m_j + (m_k - 1)/2`; then :math:`\sum_k m_k w_k = N(N-1)/2` and the
    mean over the N models of :math:`w/(N - 1)` is 1/2 (symbolic multiplicities)."""
    K = _size(n_levels, "n_levels", 1, 8)
    m = sp.symbols(f"m_1:{K + 1}", positive=True)
    N = sum(m)
    w = [sum(m[:k]) + (m[k] - 1) / sp.Integer(2) for k in range(K)]
    total = sum(mk * wk for mk, wk in zip(m, w))
    return Identity(f"helm_win_rates_sum_{K}",
                    "ties at half credit: a column's wins sum to N(N−1)/2, its mean win rate is 1/2",
                    sp.Matrix([sp.expand(total - N * (N - 1) / 2),
                               sp.cancel(total / (N - 1) / N - sp.Rational(1, 2))]),
                    {"wins": w})


def ece_decomposition(n_bins: int = 3) -> Identity:
    r"""Bins b with masses :math:`w_b` (Σ w = 1) and signed gaps :math:`d_b = \bar c_b - \bar y_b`:
    the overall gap is :math:`\bar c - \bar y = \sum_b w_b d_b` (checked from per-point sums), and
    for every sign pattern :math:`s_b` of the :math:`d_b = s_b a_b` (:math:`a_b \ge 0`) and sign σ
    of their sum, :math:`\sum_b w_b a_b - \sigma\sum_b w_b s_b a_b - 2\sum_{s_b = -\sigma} w_b a_b
    = 0`: ECE-B − ECE-1 = twice the mass-weighted gaps on the minority side ≥ 0."""
    B = _size(n_bins, "n_bins", 1, 6)
    n_b = sp.symbols(f"n_1:{B + 1}", positive=True)
    C = sp.symbols(f"C_1:{B + 1}", real=True)      # Σ_{i∈b} c_i
    Y = sp.symbols(f"Y_1:{B + 1}", real=True)      # Σ_{i∈b} y_i
    n = sum(n_b)
    overall = sum(C) / n - sum(Y) / n - sum((n_b[b] / n) * (C[b] / n_b[b] - Y[b] / n_b[b])
                                         for b in range(B))
    w = sp.symbols(f"w_1:{B + 1}", positive=True)
    a = sp.symbols(f"a_1:{B + 1}", nonnegative=True)
    rows = [sp.simplify(overall)]
    for signs in itertools.product((1, -1), repeat=B):
        for sigma in (1, -1):
            rows.append(sp.expand(sum(wb * ab for wb, ab in zip(w, a))
                                  - sigma * sum(wb * s * ab for wb, s, ab in zip(w, signs, a))
                                  - 2 * sum(wb * ab for wb, s, ab in zip(w, signs, a) if s == -sigma)))
    return Identity(f"helm_ece_decomposition_{B}",
                    "ECE-1 = |Σ_b w_b d_b| and ECE-B − ECE-1 = 2 Σ_{minority side} w_b|d_b| ≥ 0 "
                    "(equality iff all bins err on one side; always with one bin)",
                    sp.Matrix(rows))


def selective_area_weights(n: int = 6) -> Identity:
    r"""For n predictions ordered by confidence (most confident first, correctness :math:`y_j`):
    :math:`\tfrac1n\sum_{k=1}^n \tfrac1k\sum_{j\le k} y_j = \sum_j y_j (H_n - H_{j-1})/n`; the
    weights sum to 1; with the m correct ones first the area is :math:`(m/n)(1 + H_n - H_m)`
    (checked for every m)."""
    n = _size(n, "n", 1, 12)
    y = sp.symbols(f"y_1:{n + 1}", real=True)
    H = [sp.harmonic(k) for k in range(n + 1)]
    area = sum(sum(y[:k]) / k for k in range(1, n + 1)) / n
    weighted = sum(y[j - 1] * (H[n] - H[j - 1]) for j in range(1, n + 1)) / n
    weights = sum(H[n] - H[j - 1] for j in range(1, n + 1)) / n - 1
    perfect = [area.subs({y[j]: (1 if j < m else 0) for j in range(n)})
               - sp.Rational(m, n) * (1 + H[n] - H[m]) for m in range(n + 1)]
    return Identity(f"helm_selective_area_{n}",
                    "coverage–accuracy area = Σ_j y_(j)(H_n − H_{j−1})/n (weights sum to 1); "
                    "a perfect ranker with m correct: (m/n)(1 + H_n − H_m)",
                    sp.Matrix([sp.expand(area - weighted), sp.nsimplify(weights)] + perfect),
                    {"weights": [(H[n] - H[j - 1]) / n for j in range(1, n + 1)]})


def calibrated_gap_moments(n: int = 3) -> Identity:
    r"""Exact over the :math:`2^n` outcomes of independent :math:`y_i \sim \mathrm{Bernoulli}(c_i)`:
    :math:`\mathbb E\,S = 0` and :math:`\mathbb E\,S^2 = \sum_i c_i(1-c_i)` for
    :math:`S = \sum_i (y_i - c_i)` — the signed gap of a perfectly calibrated predictor."""
    n = _size(n, "n", 1, 6)
    c = sp.symbols(f"c_1:{n + 1}", positive=True)
    m1 = m2 = sp.Integer(0)
    for ys in itertools.product((0, 1), repeat=n):
        p = sp.Mul(*[ci if yi else 1 - ci for ci, yi in zip(c, ys)])
        s = sum(yi - ci for ci, yi in zip(c, ys))
        m1 += p * s
        m2 += p * s**2
    return Identity(f"helm_calibrated_gap_{n}",
                    "perfect calibration: the gap Σ(y_i − c_i) has mean 0 and variance Σ c_i(1 − c_i)",
                    sp.Matrix([sp.expand(m1), sp.expand(m2 - sum(ci * (1 - ci) for ci in c))]))


def half_normal_mean() -> Identity:
    r""":math:`\int |z|\,\varphi_\sigma(z)\,dz = \sigma\sqrt{2/\pi}` (and the variance σ² of the
    normal used): the large-bin law of :math:`|\bar c_b - \bar y_b|`."""
    z = sp.Symbol("z", real=True)
    s = sp.Symbol("sigma", positive=True)
    pdf = sp.exp(-z**2 / (2 * s**2)) / (s * sp.sqrt(2 * sp.pi))
    mean_abs = 2 * sp.integrate(z * pdf, (z, 0, sp.oo))
    var = sp.integrate(z**2 * pdf, (z, -sp.oo, sp.oo))
    return Identity("helm_half_normal_mean", "E|Z| = σ√(2/π) for Z ~ N(0, σ²)",
                    sp.Matrix([sp.simplify(mean_abs - s * sp.sqrt(2 / sp.pi)), sp.simplify(var - s**2)]))


def platt_intercept_score(n: int = 4) -> Identity:
    r"""With :math:`\ell(a, b) = \sum_i y_i\log\sigma(az_i + b) + (1 - y_i)\log(1 - \sigma(az_i + b))`,
    :math:`\partial\ell/\partial b = \sum_i (y_i - \sigma(az_i + b))` and
    :math:`\partial\ell/\partial a = \sum_i z_i (y_i - \sigma(az_i + b))`: at the (unregularised)
    optimum :math:`\overline{c'} = \bar y`, i.e. Platt's ECE-1 is 0 on the fitting set."""
    n = _size(n, "n", 1, 8)
    z = sp.symbols(f"z_1:{n + 1}", real=True)
    y = sp.symbols(f"y_1:{n + 1}", real=True)
    a, b = sp.symbols("a b", real=True)

    def sig(x):
        return 1 / (1 + sp.exp(-x))

    ll = sum(yi * sp.log(sig(a * zi + b)) + (1 - yi) * sp.log(1 - sig(a * zi + b)) for zi, yi in zip(z, y))
    db = sp.diff(ll, b) - sum(yi - sig(a * zi + b) for zi, yi in zip(z, y))
    da = sp.diff(ll, a) - sum(zi * (yi - sig(a * zi + b)) for zi, yi in zip(z, y))
    u = sp.symbols(f"u_1:{n + 1}", positive=True)     # u_i = exp(−(a z_i + b)) > 0: rational form
    to_u = {sp.exp(-(a * zi + b)): ui for zi, ui in zip(z, u)}
    return Identity(f"helm_platt_score_{n}",
                    "Platt's score equations: Σ(y − σ(az + b)) = 0 at the optimum, so mean c' = mean y",
                    sp.Matrix([sp.cancel(sp.together(r.subs(to_u))) for r in (db, da)]))


def tv_uniform_bounds() -> Identity:
    r"""TV to the uniform on G groups: a point mass gives :math:`\tfrac12[(1 - 1/G) + (G-1)/G] =
    1 - 1/G` (the maximum: TV ≤ 1 − min_g U_g), the uniform gives 0, and two groups give
    :math:`|p - 1/2|` (checked for p ≥ 1/2 and p ≤ 1/2)."""
    G = sp.Symbol("G", positive=True, integer=True)
    p = sp.Symbol("p", positive=True)
    point = sp.Rational(1, 2) * ((1 - 1 / G) + (G - 1) * (1 / G)) - (1 - 1 / G)
    two_hi = sp.Rational(1, 2) * ((p - sp.Rational(1, 2)) + (sp.Rational(1, 2) - (1 - p))) - (p - sp.Rational(1, 2))
    two_lo = sp.Rational(1, 2) * ((sp.Rational(1, 2) - p) + ((1 - p) - sp.Rational(1, 2))) - (sp.Rational(1, 2) - p)
    return Identity("helm_tv_bounds", "0 ≤ TV(p, U_G) ≤ 1 − 1/G, the maximum at a point mass",
                    sp.Matrix([sp.simplify(point), sp.expand(two_hi), sp.expand(two_lo)]))


def worst_case_binary(n_variants: int = 3) -> Identity:
    r"""For scores in {0, 1} (identity first), :math:`\min_v s_v = \prod_v s_v`, and
    :math:`\prod_v s_v = s_1 - s_1(1 - \prod_{v>1} s_v)`: the worst case is the identity's score
    minus the indicator 'right originally, wrong under some perturbation' (all :math:`2^K`
    cases)."""
    K = _size(n_variants, "n_variants", 1, 6)
    rows = []
    for s in itertools.product((0, 1), repeat=K):
        prod = sp.Mul(*[sp.Integer(v) for v in s])
        rest = sp.Mul(*[sp.Integer(v) for v in s[1:]])
        rows += [sp.Integer(min(s)) - prod, prod - (s[0] - s[0] * (1 - rest))]
    return Identity(f"helm_worst_case_binary_{K}",
                    "0/1 scores: worst case = product = identity − [right originally, wrong perturbed] ≤ identity",
                    sp.Matrix(rows))


def all_identities() -> list[Identity]:
    """Every identity of the metrics page (for the tests and the notebook)."""
    return [win_rates_sum(1), win_rates_sum(4), ece_decomposition(3), selective_area_weights(6),
            calibrated_gap_moments(3), half_normal_mean(), platt_intercept_score(3),
            tv_uniform_bounds(), worst_case_binary(3)]
