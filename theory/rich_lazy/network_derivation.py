"""Sympy derivations of the networks pages (linear networks, two-layer ReLU), each a residual
that must simplify to zero.

- :func:`deep_delta_residuals`: dΔ_ℓ/dt = 0 for every adjacent pair of a deep linear network
  (paper, Sec. 4 and App. B; the gradients are derived entry by entry, the chain rule is not
  assumed);
- :func:`square_metric_residuals`: with Δ = δI, η₁η₂ββᵀ = Ã² − δÃ and η₁η₂βᵀβ = B̃² + δB̃, in
  non-commuting symbols (the book's reconstruction of the square-network metric);
- :func:`neuron_delta_rate`: dδ_i/dt for one neuron of a piecewise-linear network, which
  simplifies to 0 (paper, Sec. 5, Eqs. 9–10).

Book pages: ``book/rich_lazy/linear_networks`` and ``book/rich_lazy/two_layer_relu``.
"""

from __future__ import annotations

import sympy as sp

from theory.core import check_scalar

__all__ = ["deep_delta_residuals", "neuron_delta_rate", "square_metric_residuals"]


def deep_delta_residuals(dims=(3, 2, 3, 2)) -> sp.Matrix:
    """Every entry of dΔ_1/dt, …, dΔ_{L−1}/dt (expanded; one column) for f(x) = W_L⋯W_1x with
    symbolic weights.

    Δ_ℓ = η_ℓW_{ℓ+1}ᵀW_{ℓ+1} − η_{ℓ+1}W_ℓW_ℓᵀ (paper, Sec. 4) under Ẇ_ℓ = −η_ℓ∇_{W_ℓ}L for any
    loss of P = W_L⋯W_1: ∇_{W_ℓ}L is the derivative of ⟨G, P⟩ with a symbolic G = ∂L/∂P, taken
    entry by entry. ``dims`` = (d, h_1, …, k), layer widths from input to output (at least three
    entries, each a positive int). The column is zero when the law holds.
    """
    if not isinstance(dims, (list, tuple)) or len(dims) < 3:
        raise TypeError(f"dims must be a list of at least three widths (d, h, …, k), got {dims!r}")
    dims = [check_scalar(n, f"dims[{i}]", kind="int", min=1) for i, n in enumerate(dims)]
    L = len(dims) - 1
    Ws = [sp.Matrix(dims[l + 1], dims[l], lambda i, j, l=l: sp.Symbol(f"w{l + 1}_{i}_{j}"))
          for l in range(L)]
    G = sp.Matrix(dims[-1], dims[0], lambda i, j: sp.Symbol(f"g_{i}_{j}"))
    eta = sp.symbols(f"eta1:{L + 1}", positive=True)
    P = Ws[0]
    for W in Ws[1:]:
        P = W * P
    proxy = sum(G[i, j] * P[i, j] for i in range(P.rows) for j in range(P.cols))
    dW = [-eta[l] * sp.Matrix(W.rows, W.cols, lambda i, j, W=W: sp.diff(proxy, W[i, j]))
          for l, W in enumerate(Ws)]
    out = []
    for l in range(L - 1):
        rate = (eta[l] * (dW[l + 1].T * Ws[l + 1] + Ws[l + 1].T * dW[l + 1])
                - eta[l + 1] * (dW[l] * Ws[l].T + Ws[l] * dW[l].T))
        out.extend(sp.expand(e) for e in rate)
    return sp.Matrix(out)


def square_metric_residuals() -> sp.Matrix:
    """[η₁η₂ββᵀ − (Ã² − δÃ), η₁η₂βᵀβ − (B̃² + δB̃)] with β = W₂W₁, Ã = η₁W₂W₂ᵀ, B̃ = η₂W₁ᵀW₁.

    Uses Δ = η₁W₂ᵀW₂ − η₂W₁W₁ᵀ = δI to eliminate W₁W₁ᵀ and W₂ᵀW₂; W₁, W₂ and their transposes
    are non-commuting symbols, so the identities hold for matrices of any (square) size
    (the book's reconstruction; the paper's Theorem 4.2 was not available).
    """
    W1, W2, W1t, W2t = sp.symbols("W1 W2 W1^T W2^T", commutative=False)
    e1, e2, dl = sp.symbols("eta_1 eta_2 delta", positive=True)
    W1W1t = (e1 * W2t * W2 - dl) / e2                   # Δ = δI solved for W₁W₁ᵀ
    W2tW2 = (e2 * W1 * W1t + dl) / e1                   # … and for W₂ᵀW₂
    A, B = e1 * W2 * W2t, e2 * W1t * W1
    res_A = sp.expand(e1 * e2 * W2 * W1W1t * W2t - (A**2 - dl * A))
    res_B = sp.expand(e1 * e2 * W1t * W2tW2 * W1 - (B**2 + dl * B))
    return sp.Matrix([res_A, res_B])


def neuron_delta_rate(d: int = 3, n: int = 3):
    """dδ_i/dt = 2η_w a ȧ − 2η_a wᵀẇ for one neuron a σ(wᵀx) of a piecewise-linear network.

    L = (1/2n)Σ_k r_k², so ȧ = −(η_a/n)Σ_k r_k σ(wᵀx_k) and ẇ = −(η_w/n)Σ_k r_k a σ'(wᵀx_k) x_k;
    on each linear piece σ(z) = s z with a symbolic slope s_k per sample (paper, Sec. 5, Eqs. 9–10).
    w, x_k ∈ ℝᵈ, the residuals r_k and slopes are symbols; other neurons enter only through r_k,
    so the result covers any width. Returns the simplified expression (0 when δ_i is conserved).
    """
    d = check_scalar(d, "d", kind="int", min=1)
    n = check_scalar(n, "n", kind="int", min=1)
    w = sp.Matrix(sp.symbols(f"w0:{d}"))
    a, eta_a, eta_w = sp.symbols("a eta_a eta_w", positive=True)
    xs = [sp.Matrix(sp.symbols(f"x{k}_0:{d}")) for k in range(n)]
    r = sp.symbols(f"r0:{n}")
    slope = sp.symbols(f"s0:{n}")
    sigma = [slope[k] * (w.T * xs[k])[0] for k in range(n)]
    a_dot = -eta_a * sum(r[k] * sigma[k] for k in range(n)) / n
    w_dot = -eta_w * sum((r[k] * a * slope[k] * xs[k] for k in range(n)), sp.zeros(d, 1)) / n
    return sp.simplify(2 * eta_w * a * a_dot - 2 * eta_a * (w.T * w_dot)[0])
