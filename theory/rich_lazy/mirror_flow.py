"""Implicit biases of wide and deep linear networks: Theorems B.6 and B.10 of Kunin et al. (2024).

**Theorem B.6** (App. B, Eqs. 118–119). For a two-layer linear network f(x) = AᵀWx,
W ∈ ℝ^{h×d}, A ∈ ℝ^{h×c}, β = WᵀA, trained by gradient flow with η_a = η_w = 1 from
Δ = AAᵀ − WWᵀ = δ I_h (δ ≠ 0, the isotropic Assumption B.2), the singular values λ of β follow
the mirror flow

    λ̇ = −(∇²Φ_δ(λ))⁻¹ ∇_λ L,   Φ_δ(λ) = Σ_i q_δ(λ_i),
    q_δ(x) = ¼(2x·sinh⁻¹(2x/|δ|) − √(4x² + δ²) + |δ|)        (the hyperbolic entropy),

i.e. λ̇_i = −√(4λ_i² + δ²) ∂L/∂λ_i, with ∂L/∂λ_i = u_iᵀ(∂L/∂β)v_i. q_δ is ℓ¹-like as δ → 0
(q_δ(x)/log(1/|δ|) → |x|/2) and ℓ²-like as δ → ±∞ (|δ| q_δ(x) → x²/2).

**Theorem B.10** (App. B, Eq. 123). For a depth-(L+1) linear network f(x) = Aᵀ W_L ⋯ W_1 x of
square width (W_ℓ ∈ ℝ^{d×d}, A ∈ ℝ^d, β = W_1ᵀ ⋯ W_Lᵀ A) from an isotropic initialisation
(W_{ℓ+1}ᵀW_{ℓ+1} = W_ℓW_ℓᵀ, AAᵀ − W_LW_Lᵀ = δ I), in the limit δ → 0, an interpolating
gradient-flow solution is

    β(∞) = argmin_β  Q(β) = ((L+1)/(L+2))‖β‖^{(L+2)/(L+1)} − ‖β₀‖^{−L/(L+1)} β₀ᵀβ   s.t. Xβ = y.

In this module's chain convention (that of :mod:`theory.rich_lazy.linear_networks`: weights
[W_1, …, W_K], f(x) = W_K ⋯ W_1 x, L = ½‖X W_1ᵀ⋯W_Kᵀ − Y‖²_F) the paper's A is W_{L+1}ᵀ and
its β is (W_{L+1} ⋯ W_1)ᵀ. The numerical checks integrate the weights' gradient flow
(:func:`theory.rich_lazy.linear_networks.linear_network_flow`, float64) and compare. Book page:
``book/rich_lazy/linear_bias``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp
from scipy.optimize import brentq

from theory.core import as_array, check_bool, check_scalar, check_seed, positive, progress
from theory.rich_lazy.linear_networks import conserved_matrices, linear_network_flow

__all__ = ["DeepBias", "MirrorFlowCheck", "deep_bias_experiment", "deep_bias_potential",
           "deep_bias_two_layer_identity",
           "deep_isotropic_init", "deep_rich_interpolant", "hyperbolic_entropy",
           "hyperbolic_entropy_identities", "hyperbolic_entropy_limits", "isotropic_two_layer",
           "min_norm_interpolant", "mirror_flow_experiment", "mirror_flow_rate",
           "q_delta_symbolic", "singular_value_rates"]


# ---- the hyperbolic entropy (Eq. 119), symbolic and numeric ------------------------------------

def q_delta_symbolic(x=None, delta=None):
    """q_δ(x) of Eq. 119 as a sympy expression in the given (or new real) symbols x, δ."""
    x = sp.Symbol("x", real=True) if x is None else x
    delta = sp.Symbol("delta", real=True, nonzero=True) if delta is None else delta
    D = sp.Abs(delta)
    return sp.Rational(1, 4) * (2 * x * sp.asinh(2 * x / D) - sp.sqrt(4 * x**2 + delta**2) + D)


def hyperbolic_entropy_identities() -> sp.Matrix:
    """Residuals (each simplifies to 0) of the facts behind Theorem B.6, with η_a = η_w = 1:

    1. q_δ'(x) = ½ sinh⁻¹(2x/|δ|) (so q_δ'(0) = 0 and q_δ is the Bregman-free potential at 0);
    2. q_δ''(x) = 1/√(4x² + δ²) (the Hessian of Φ_δ is diagonal with these entries);
    3. the mirror-flow rate 1/q_δ''(λ) equals the book's per-mode rate ã(λ) + b̃(λ), where
       ã = ½(δ + √(δ² + 4λ²)) and b̃ = ½(−δ + √(δ² + 4λ²)) are the eigenvalues of W₂W₂ᵀ and
       W₁ᵀW₁ on the mode λ (``linear_networks.square_metric``), so λ̇ = −(ã + b̃) ∂L/∂λ is Eq. 118;
    4. q_δ(−x) = q_δ(x) and q_δ(0) = 0.

    For δ > 0 and δ < 0 (two symbols), stacked as one column.
    """
    x, lam = sp.Symbol("x", real=True), sp.Symbol("lambda", positive=True)
    rows = []
    for delta in (sp.Symbol("delta", positive=True), -sp.Symbol("D", positive=True)):
        q = q_delta_symbolic(x, delta)
        root = sp.sqrt(delta**2 + 4 * lam**2)
        a_t, b_t = (delta + root) / 2, (-delta + root) / 2
        q2 = sp.diff(q, x, 2).subs(x, lam)
        rows += [sp.diff(q, x) - sp.asinh(2 * x / sp.Abs(delta)) / 2,
                 sp.diff(q, x, 2) - 1 / sp.sqrt(4 * x**2 + delta**2),
                 1 / q2 - (a_t + b_t),
                 q.subs(x, -x) - q,
                 q.subs(x, 0)]
    return sp.Matrix([sp.simplify(r) for r in rows])


def hyperbolic_entropy_limits() -> sp.Matrix:
    """Residuals of the two limits of q_δ (App. B after Theorem B.6), for x > 0 (q_δ is even):

    ℓ² (lazy): lim_{δ→+∞} |δ| q_δ(x) − x²/2 and lim_{δ→−∞} |δ| q_δ(x) − x²/2;
    ℓ¹ (rich): lim_{δ→0±} q_δ(x)/log(1/|δ|) − x/2 (the potential diverges like ½|x| log(1/|δ|),
    so normalised by log(1/|δ|) it is |x|/2).
    """
    x, D = sp.Symbol("x", positive=True), sp.Symbol("D", positive=True)
    q_pos, q_neg = q_delta_symbolic(x, D), q_delta_symbolic(x, -D)
    return sp.Matrix([sp.limit(D * q_pos, D, sp.oo) - x**2 / 2,
                      sp.limit(D * q_neg, D, sp.oo) - x**2 / 2,
                      sp.limit(q_pos / sp.log(1 / D), D, 0, "+") - x / 2,
                      sp.limit(q_neg / sp.log(1 / D), D, 0, "+") - x / 2])


def deep_bias_two_layer_identity() -> sp.Expr:
    """Residual of Ψ₀(β) − ψ₀ β̂₀ᵀβ − √2·Q_{L=1}(β) (simplifies to 0): at L = 1 (two layers) the
    deep bias of Eq. 123 is √2 times the single neuron's Theorem 3.1 objective (Eq. 5) at δ = 0,
    Ψ₀ = ⅓√(4‖β‖²)·√(√(4‖β‖²)), ψ₀ = √(√(4‖β₀‖²)), so the two theorems pick the same interpolant.
    In terms of r = ‖β‖, r₀ = ‖β₀‖ and c = β̂₀ᵀβ."""
    r, r0 = sp.symbols("r r_0", positive=True)
    c = sp.Symbol("c", real=True)
    psi_big = sp.Rational(1, 3) * sp.sqrt(4 * r**2) * sp.sqrt(sp.sqrt(4 * r**2))
    psi_small = sp.sqrt(sp.sqrt(4 * r0**2))
    Q1 = sp.Rational(2, 3) * r ** sp.Rational(3, 2) - r0 ** sp.Rational(-1, 2) * (r0 * c)
    return sp.simplify(psi_big - psi_small * c - sp.sqrt(2) * Q1)


def hyperbolic_entropy(x, delta) -> np.ndarray:
    """q_δ(x) = ¼(2x sinh⁻¹(2x/|δ|) − √(4x² + δ²) + |δ|) (Eq. 119), elementwise, δ ≠ 0.

    Evaluated as ¼(2x sinh⁻¹(2x/|δ|) − 2|x|·2|x|/(hypot(2x, δ) + |δ|)) to avoid cancellation at
    large |δ| and overflow at large |x|; where 2x/|δ| overflows, sinh⁻¹ is taken in log form,
    log(2|x|) − log|δ| + log(1 + √(1 + (δ/2x)²)). Finite wherever q_δ(x) is representable.
    """
    x, delta = as_array(x, "x"), as_array(delta, "delta")
    if np.any(delta == 0):
        raise ValueError("delta must be non-zero (q_δ diverges as δ → 0; Theorem B.6 assumes δ ≠ 0)")
    try:
        np.broadcast_shapes(x.shape, delta.shape)
    except ValueError:
        raise ValueError(f"x {x.shape} and delta {delta.shape} do not broadcast") from None
    D = np.abs(delta)
    ax = 2.0 * np.abs(x)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        z = ax / D
        big = ~np.isfinite(z) | (z > 1e150)
        zs = np.where(big, 1.0, z)
        r = np.where(big, D / np.where(ax > 0, ax, 1.0), 0.0)
        asinh = np.where(big, np.log(ax) - np.log(D) + np.log1p(np.sqrt(1.0 + r * r)),
                         np.arcsinh(zs))
    return 0.25 * (ax * asinh - ax * (ax / (np.hypot(ax, D) + D)))


def mirror_flow_rate(lam, grad, delta) -> np.ndarray:
    """λ̇ = −(q_δ''(λ))⁻¹ ∂L/∂λ = −√(4λ² + δ²) ∂L/∂λ (Eqs. 118–119), elementwise."""
    lam, grad, delta = as_array(lam, "lam"), as_array(grad, "grad"), as_array(delta, "delta")
    try:
        np.broadcast_shapes(lam.shape, grad.shape, delta.shape)
    except ValueError:
        raise ValueError(f"lam {lam.shape}, grad {grad.shape} and delta {delta.shape} do not "
                         f"broadcast") from None
    return -np.hypot(2.0 * lam, delta) * grad          # √(4λ² + δ²) without overflow


# ---- Theorem B.6 on a simulated network --------------------------------------------------------

def _orthonormal_rows(rows: int, cols: int, rng) -> np.ndarray:
    Q, _ = np.linalg.qr(rng.normal(size=(cols, rows)))
    return Q.T                                                 # (rows, cols), Q Qᵀ = I


def _psd_sqrt(M):
    lam, V = np.linalg.eigh(0.5 * (M + M.T))
    return (V * np.sqrt(np.maximum(lam, 0.0))) @ V.T


def isotropic_two_layer(d: int, h: int, c: int, delta: float, *, scale: float = 0.5,
                        seed: int = 0) -> list[np.ndarray]:
    """Weights [W (h, d), Aᵀ (c, h)] with Δ = AAᵀ − WWᵀ = δ I_h exactly (Assumption B.2, η = 1).

    δ > 0: W random (entries N(0, scale²/d)), A = (δI + WWᵀ)^{1/2} Q with Q (h, c) of orthonormal
    rows, which needs h ≤ c; δ < 0: A random, W = (AAᵀ + |δ|I)^{1/2} Q, which needs h ≤ d
    (App. B, p. 30). numpy ``default_rng(seed)``.
    """
    d, h, c = (check_scalar(v, k, kind="int", min=1) for v, k in ((d, "d"), (h, "h"), (c, "c")))
    delta = check_scalar(delta, "delta")
    if delta == 0:
        raise ValueError("delta must be non-zero (Theorem B.6 assumes δ ≠ 0)")
    if delta > 0 and h > c:
        raise ValueError(f"delta > 0 needs h ≤ c (AAᵀ ≻ 0), got h = {h}, c = {c}")
    if delta < 0 and h > d:
        raise ValueError(f"delta < 0 needs h ≤ d (WWᵀ ≻ 0), got h = {h}, d = {d}")
    scale = check_scalar(scale, "scale", min=0.0, include_min=False)
    rng = np.random.default_rng(check_seed(seed, "seed"))
    if delta > 0:
        W = rng.normal(scale=scale / np.sqrt(d), size=(h, d))
        A = _psd_sqrt(delta * np.eye(h) + W @ W.T) @ _orthonormal_rows(h, c, rng)
    else:
        A = rng.normal(scale=scale / np.sqrt(c), size=(h, c))
        W = _psd_sqrt(-delta * np.eye(h) + A @ A.T) @ _orthonormal_rows(h, d, rng)
    return [W, A.T]


def singular_value_rates(X, Y, weights):
    """(λ, λ̇, ∂L/∂λ) of β = (W₂W₁)ᵀ for L = ½‖XW₁ᵀW₂ᵀ − Y‖²_F under the flow Ẇ = −∇L (η = 1).

    λ̇_i = u_iᵀ β̇ v_i is the exact rate of a simple singular value, β̇ from the weights'
    gradients (no use of Δ); ∂L/∂λ_i = u_iᵀ G v_i with G = Xᵀ(Xβ − Y). Only the min(d, c)
    leading singular values are returned.
    """
    X = as_array(X, "X", ndim=2, nonempty=True)
    Y = as_array(Y, "Y", ndim=2, nonempty=True)
    if not isinstance(weights, (list, tuple)) or len(weights) != 2:
        raise TypeError("weights must be [W1 (h, d), W2 (c, h)]")
    W1 = as_array(weights[0], "weights[0] (W1)", ndim=2, nonempty=True)
    W2 = as_array(weights[1], "weights[1] (W2)", ndim=2, nonempty=True)
    if W2.shape[1] != W1.shape[0] or X.shape[1] != W1.shape[1] or Y.shape != (X.shape[0], W2.shape[0]):
        raise ValueError(f"shapes do not chain: X {X.shape}, Y {Y.shape}, W1 {W1.shape}, W2 {W2.shape}")
    beta = (W2 @ W1).T                                        # (d, c)
    G = X.T @ (X @ beta - Y)                                  # ∂L/∂β
    dW1 = -(W2.T @ G.T)                                       # −∂L/∂W1 = −W2ᵀ Gᵀ
    dW2 = -(G.T @ W1.T)                                       # −∂L/∂W2 = −Gᵀ W1ᵀ
    beta_dot = (dW2 @ W1 + W2 @ dW1).T
    U, lam, Vt = np.linalg.svd(beta, full_matrices=False)
    lam_dot = np.einsum("di,dc,ic->i", U, beta_dot, Vt)
    grad = np.einsum("di,dc,ic->i", U, G, Vt)
    return lam, lam_dot, grad


@dataclass(frozen=True)
class MirrorFlowCheck:
    """Theorem B.6 along simulated flows (:func:`mirror_flow_experiment`).

    deltas (P,); t (T,); lam (P, T, r) singular values along each flow; error (P, T): max over
    modes of |λ̇ − λ̇_mirror| / max|λ̇| with λ̇ exact from the weights; fd_error (P,): the same with
    λ̇ from central differences of the recorded flow (step ``eps``); delta_error (P,): the largest
    entry of Δ − δI along the flow; control_error (T,): the error of the same formula for a network
    whose Δ is not isotropic (random Gaussian weights, δ := the mean eigenvalue of Δ).
    """

    deltas: np.ndarray
    t: np.ndarray
    lam: np.ndarray
    error: np.ndarray
    fd_error: np.ndarray
    delta_error: np.ndarray
    control_error: np.ndarray
    eps: float
    shape: tuple

    def summary(self) -> str:
        d, h, c, n = self.shape
        rows = [f"two-layer linear network d = {d}, h = {h}, c = {c}, n = {n}, η = 1, t ≤ {self.t[-1]:g}"]
        for p, dl in enumerate(self.deltas):
            rows.append(f"δ = {dl:+g}: max |Δ − δI| = {self.delta_error[p]:.1e}; λ(0) = "
                        f"{np.round(self.lam[p, 0], 3)} → λ(end) = {np.round(self.lam[p, -1], 3)}; "
                        f"mirror-flow rate error {self.error[p].max():.1e} (exact λ̇), "
                        f"{self.fd_error[p]:.1e} (finite differences)")
        rows.append(f"control (Gaussian init, Δ not ∝ I): error of the same formula "
                    f"{self.control_error.min():.2f} … {self.control_error.max():.2f}")
        return "\n".join(rows)


def _rate_error(X, Y, Ws, delta):
    lam, lam_dot, grad = singular_value_rates(X, Y, Ws)
    return np.max(np.abs(lam_dot - mirror_flow_rate(lam, grad, delta))) / np.max(np.abs(lam_dot)), lam


def mirror_flow_experiment(deltas=(-1.0, -0.1, 0.1, 1.0), *, d: int = 5, h: int = 3, c: int = 3,
                           n: int = 8, t_end: float = 4.0, n_t: int = 9, eps: float = 1e-4,
                           seed: int = 0, progress_bar: bool = False) -> MirrorFlowCheck:
    """Theorem B.6 on gradient flows of a d → h → c linear network (h = min(d, c), as the theorem's
    Δ = δI and h ≥ min(d, c) together require) for each δ: random X (n, d) with N(0, 1/n) entries,
    Y = Xβ* for a random β*, weights from :func:`isotropic_two_layer` (scale 0.3); the flow by
    ``solve_ivp`` (Radau, rtol 1e-11). At n_t times in [eps, t_end] the exact λ̇ is compared with
    −√(4λ² + δ²) ∂L/∂λ, and at the same times central differences of the flow with step ``eps``.
    ``progress_bar``: a progress bar over the flows."""
    deltas = as_array(deltas, "deltas", ndim=1, nonempty=True)
    if np.any(deltas == 0):
        raise ValueError("deltas must be non-zero (Theorem B.6 assumes δ ≠ 0)")
    d, h, c = (check_scalar(v, k, kind="int", min=1) for v, k in ((d, "d"), (h, "h"), (c, "c")))
    if h != min(d, c):
        raise ValueError(f"h must be min(d, c) = {min(d, c)} (Δ = δI with h ≥ min(d, c)), got h = {h}")
    t_end = check_scalar(t_end, "t_end", min=0.0, include_min=False)
    n_t = check_scalar(n_t, "n_t", kind="int", min=2)
    eps = check_scalar(eps, "eps", min=0.0, include_min=False, max=t_end / (4 * n_t))
    n = check_scalar(n, "n", kind="int", min=1)
    seed = check_seed(seed, "seed")
    progress_bar = check_bool(progress_bar, "progress_bar")
    rng = np.random.default_rng(seed)
    X = rng.normal(scale=1 / np.sqrt(n), size=(n, d))
    Y = X @ rng.normal(size=(d, c))
    t = np.linspace(2 * eps, t_end, n_t)
    t_all = np.sort(np.concatenate([t - eps, t, t + eps]))
    P, r = deltas.size, min(d, c)
    lam, err = np.empty((P, n_t, r)), np.empty((P, n_t))
    fd_err, d_err = np.empty(P), np.empty(P)
    for p, delta in progress(list(enumerate(deltas)), desc="Theorem B.6 flows", enable=progress_bar):
        W0 = isotropic_two_layer(d, h, c, float(delta), scale=0.3, seed=seed + 1 + p)
        path = linear_network_flow(t_all, X, Y, W0, [1.0, 1.0], rtol=1e-11, atol=1e-13)
        d_err[p] = max(np.abs(conserved_matrices(Ws, [1.0, 1.0])[0] - delta * np.eye(h)).max()
                       for Ws in path)
        worst_fd = 0.0
        for k in range(n_t):
            Wm, Wk, Wp = path[3 * k], path[3 * k + 1], path[3 * k + 2]
            err[p, k], lam[p, k] = _rate_error(X, Y, Wk, delta)
            lam_k, _, grad = singular_value_rates(X, Y, Wk)
            fd = (singular_value_rates(X, Y, Wp)[0] - singular_value_rates(X, Y, Wm)[0]) / (2 * eps)
            mirror = mirror_flow_rate(lam_k, grad, delta)
            worst_fd = max(worst_fd, np.max(np.abs(fd - mirror)) / np.max(np.abs(mirror)))
        fd_err[p] = worst_fd
    # control: a random (non-isotropic) start, the same formula with δ the mean eigenvalue of Δ
    ctrl = np.random.default_rng(seed + 100)
    Wc = [ctrl.normal(scale=0.6, size=(h, d)), ctrl.normal(scale=0.6, size=(c, h))]
    delta_c = float(np.trace(conserved_matrices(Wc, [1.0, 1.0])[0]) / h)
    path_c = linear_network_flow(t, X, Y, Wc, [1.0, 1.0], rtol=1e-11, atol=1e-13)
    ctrl_err = np.array([_rate_error(X, Y, Ws, delta_c)[0] for Ws in path_c])
    return MirrorFlowCheck(deltas=deltas, t=t, lam=lam, error=err, fd_error=fd_err,
                           delta_error=d_err, control_error=ctrl_err, eps=eps, shape=(d, h, c, n))


# ---- Theorem B.10: the rich-limit bias of deep linear networks ---------------------------------

def deep_isotropic_init(beta0, L: int, delta: float = 0.0, *, seed: int = 0) -> list[np.ndarray]:
    """Weights [W_1, …, W_L (d, d), Aᵀ (1, d)] of a depth-(L+1) network with β = W_1ᵀ⋯W_LᵀA = β₀
    and the isotropic conserved quantities of Theorem B.10: W_{ℓ+1}ᵀW_{ℓ+1} = W_ℓW_ℓᵀ and
    AAᵀ − W_LW_Lᵀ = δ I, δ ≤ 0 (δ > 0 would need the rank-one AAᵀ to dominate δI, impossible for
    d > 1). W_ℓ = U_{ℓ+1} Σ U_ℓᵀ with random orthogonal U_ℓ (U_1 e_1 = β̂₀, U_{L+1} e_1 = Â),
    Σ² = diag(‖A‖² + |δ|, |δ|, …, |δ|), and ‖A‖ solves ‖A‖(‖A‖² + |δ|)^{L/2} = ‖β₀‖. At δ = 0 every
    layer is rank one (the balanced network). numpy ``default_rng(seed)`` for the U_ℓ.
    """
    beta0 = as_array(beta0, "beta0", ndim=1)
    d = beta0.size
    b0 = float(np.linalg.norm(beta0))
    if b0 == 0:
        raise ValueError("beta0 must be non-zero (Theorem B.10 assumes ‖β(t)‖ > 0)")
    L = check_scalar(L, "L", kind="int", min=1)
    delta = check_scalar(delta, "delta", max=0.0)
    D = -delta
    rng = np.random.default_rng(check_seed(seed, "seed"))
    Us = []
    for ell in range(L + 1):
        first = beta0 / b0 if ell == 0 else rng.normal(size=d)
        M = np.column_stack([first, rng.normal(size=(d, d - 1))])
        Q, R = np.linalg.qr(M)
        Us.append(Q * np.sign(np.diag(R)))                    # first column ∝ `first`, positive
    a_norm = b0 ** (1 / (L + 1)) if D == 0 else brentq(
        lambda s: s * (s**2 + D) ** (L / 2) - b0, 0.0, b0 ** (1 / (L + 1)) + 1.0, xtol=1e-15, rtol=1e-15)
    sig = np.full(d, np.sqrt(D))
    sig[0] = np.sqrt(a_norm**2 + D)
    Ws = [Us[ell + 1] @ np.diag(sig) @ Us[ell].T for ell in range(L)]
    return Ws + [a_norm * Us[L][:, :1].T]


def deep_bias_potential(beta, beta0, L: int) -> float:
    """Q(β) = ((L+1)/(L+2))‖β‖^{(L+2)/(L+1)} − ‖β₀‖^{−L/(L+1)} β₀ᵀβ (Theorem B.10, Eq. 123)."""
    beta, beta0 = as_array(beta, "beta", ndim=1), as_array(beta0, "beta0", ndim=1, nonempty=True)
    if beta.shape != beta0.shape:
        raise ValueError(f"beta and beta0 must have the same shape (d,), got {beta.shape} and "
                         f"{beta0.shape}")
    if not np.any(beta0):
        raise ValueError("beta0 must be non-zero (Q uses ‖β₀‖^{−L/(L+1)})")
    L = check_scalar(L, "L", kind="int", min=1)
    p = (L + 2) / (L + 1)
    return float(np.linalg.norm(beta) ** p / p
                 - np.linalg.norm(beta0) ** (-L / (L + 1)) * beta0 @ beta)


def min_norm_interpolant(X, y) -> np.ndarray:
    """argmin ‖β‖ s.t. Xβ = y: Xᵀ(XXᵀ)⁻¹y (the lazy, δ → ±∞ limit)."""
    X, y = as_array(X, "X", ndim=2, nonempty=True), as_array(y, "y", ndim=1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have length n = {X.shape[0]} (rows of X), got {y.shape[0]}")
    if np.linalg.matrix_rank(X) < X.shape[0]:
        raise ValueError(f"X must have full row rank n = {X.shape[0]} (XXᵀ invertible), got rank "
                         f"{np.linalg.matrix_rank(X)}")
    return X.T @ np.linalg.solve(X @ X.T, y)


def deep_rich_interpolant(X, y, beta0, L: int, *, tol: float = 1e-14, max_iter: int = 200):
    """argmin Q(β) s.t. Xβ = y (Eq. 123) by Newton's method on the dual, returning (β, residual).

    Q = Φ − ∇Φ(β₀)ᵀβ with Φ = ‖β‖^p/p, p = (L+2)/(L+1), ∇Φ(β₀) = ‖β₀‖^{−L/(L+1)}β₀ =: g₀. The
    optimum has ∇Φ(β) = g₀ + Xᵀν, i.e. β = ‖v‖^L v with v = g₀ + Xᵀν, and ν minimises the smooth
    convex dual ‖g₀ + Xᵀν‖^{L+2}/(L+2) − yᵀν (Φ's conjugate is ‖v‖^{L+2}/(L+2)). residual:
    ‖Xβ − y‖ at the returned β (the KKT stationarity holds by construction).
    """
    X, y = as_array(X, "X", ndim=2, nonempty=True), as_array(y, "y", ndim=1, nonempty=True)
    beta0 = as_array(beta0, "beta0", ndim=1, nonempty=True)
    if X.shape != (y.size, beta0.size):
        raise ValueError(f"X must be (n, d) with y (n,) and beta0 (d,): got X {X.shape}, y "
                         f"{y.shape}, beta0 {beta0.shape}")
    if not np.any(beta0):
        raise ValueError("beta0 must be non-zero (Q uses ‖β₀‖^{−L/(L+1)})")
    L = check_scalar(L, "L", kind="int", min=1)
    tol = check_scalar(tol, "tol", min=0.0, include_min=False)
    max_iter = check_scalar(max_iter, "max_iter", kind="int", min=1)
    g0 = np.linalg.norm(beta0) ** (-L / (L + 1)) * beta0
    nu = np.zeros(y.size)

    def dual(nu_):
        v = g0 + X.T @ nu_
        return np.linalg.norm(v) ** (L + 2) / (L + 2) - y @ nu_

    for _ in range(max_iter):
        v = g0 + X.T @ nu
        r = np.linalg.norm(v)
        grad = X @ (r**L * v) - y
        if np.linalg.norm(grad) <= tol * max(1.0, np.linalg.norm(y)):
            break
        H = X @ (r**L * np.eye(v.size) + L * r ** (L - 2) * np.outer(v, v)) @ X.T
        step = np.linalg.solve(H, grad)
        f0, s = dual(nu), 1.0
        while dual(nu - s * step) > f0 - 0.25 * s * grad @ step and s > 1e-12:
            s /= 2                                            # backtracking: monotone dual descent
        nu = nu - s * step
    v = g0 + X.T @ nu
    beta = np.linalg.norm(v) ** L * v
    return beta, float(np.linalg.norm(X @ beta - y))


@dataclass(frozen=True)
class DeepBias:
    """Theorem B.10 on simulated flows (:func:`deep_bias_experiment`); arrays (depth, δ, ...).

    depths (K,) the theorem's L (the network has L + 1 layers); deltas (P,) ≤ 0; beta0 (d,);
    beta_flow (K, P, d) the flow's end; residual (K, P) ‖Xβ − y‖ there; beta_Q (K, d) argmin Q;
    beta_mn (d,) min-norm; error (K, P) ‖β_flow − β_Q‖/‖β_Q‖; mn_gap (K,) ‖β_Q − β_mn‖/‖β_Q‖;
    wrong_depth (K, K) ‖β_flow(δ = deltas[0]) of depth i − argmin Q of depth j‖/‖β_Q‖;
    cons_error (K, P) the largest entry of the conserved quantities' drift from their start.
    """

    depths: np.ndarray
    deltas: np.ndarray
    beta0: np.ndarray
    beta_flow: np.ndarray
    residual: np.ndarray
    beta_Q: np.ndarray
    beta_mn: np.ndarray
    error: np.ndarray
    mn_gap: np.ndarray
    wrong_depth: np.ndarray
    cons_error: np.ndarray
    t_end: float
    shape: tuple

    def summary(self) -> str:
        n, d = self.shape
        rows = [f"underdetermined regression n = {n} < d = {d}, ‖β₀‖ = {np.linalg.norm(self.beta0):.3g}, "
                f"flow to t = {self.t_end:g} (Radau, rtol 1e-11)"]
        for k, L in enumerate(self.depths):
            errs = ", ".join(f"δ = {dl:g}: {self.error[k, p]:.1e}" for p, dl in enumerate(self.deltas))
            rows.append(f"L = {L} (depth {L + 1}): ‖β − β_Q‖/‖β_Q‖ {errs}; residual ≤ "
                        f"{self.residual[k].max():.1e}; min-norm is {self.mn_gap[k]:.3f} away; "
                        f"conserved drift ≤ {self.cons_error[k].max():.1e}")
        rows.append("flow of depth L (rows) against argmin Q of depth L' (columns), δ = "
                    f"{self.deltas[0]:g}:\n" + np.array2string(self.wrong_depth, precision=4))
        return "\n".join(rows)


def deep_bias_experiment(depths=(1, 2, 3), deltas=(0.0, -1e-3, -1e-2), *, d: int = 6, n: int = 3,
                         b0: float = 0.05, t_end: float = 300.0, seed: int = 0,
                         progress_bar: bool = False) -> DeepBias:
    """Theorem B.10: depth-(L+1) square linear networks (d → d → … → 1) on one underdetermined
    regression (X (n, d) with N(0, 1/d) entries, y = X β_t for a random β_t; numpy ``seed``), from
    :func:`deep_isotropic_init` with ‖β₀‖ = b0 along a random direction, each L and δ; the
    weights' gradient flow by ``solve_ivp`` (Radau, rtol 1e-11) to ``t_end``, compared with
    :func:`deep_rich_interpolant` and :func:`min_norm_interpolant`. ``progress_bar``: a progress
    bar over the flows."""
    depths = np.asarray(depths)
    if depths.ndim != 1 or depths.size == 0 or not np.issubdtype(depths.dtype, np.integer) or np.any(depths < 1):
        raise ValueError(f"depths must be a 1-D list of integers ≥ 1, got {depths!r}")
    deltas = as_array(deltas, "deltas", ndim=1, nonempty=True)
    if np.any(deltas > 0):
        raise ValueError("deltas must be ≤ 0 (the isotropic deep initialisation needs δ ≤ 0)")
    d, n = check_scalar(d, "d", kind="int", min=2), check_scalar(n, "n", kind="int", min=1)
    if n >= d:
        raise ValueError(f"n must be < d for an underdetermined regression, got n = {n}, d = {d}")
    b0 = check_scalar(b0, "b0", min=0.0, include_min=False)
    t_end = check_scalar(t_end, "t_end", min=0.0, include_min=False)
    seed = check_seed(seed, "seed")
    progress_bar = check_bool(progress_bar, "progress_bar")
    rng = np.random.default_rng(seed)
    X = rng.normal(scale=1 / np.sqrt(d), size=(n, d))
    y = X @ rng.normal(size=d)
    u = rng.normal(size=d)
    beta0 = b0 * u / np.linalg.norm(u)
    K, P = depths.size, deltas.size
    beta_flow, res = np.empty((K, P, d)), np.empty((K, P))
    cons = np.empty((K, P))
    beta_Q = np.stack([deep_rich_interpolant(X, y, beta0, int(L))[0] for L in depths])
    beta_mn = min_norm_interpolant(X, y)
    runs = [(k, p) for k in range(K) for p in range(P)]
    for k, p in progress(runs, desc="Theorem B.10 flows", enable=progress_bar):
        L, delta = depths[k], deltas[p]
        W0 = deep_isotropic_init(beta0, int(L), float(delta), seed=seed + 1 + k)
        etas = np.ones(len(W0))
        Ws = linear_network_flow([0.0, t_end], X, y[:, None], W0, etas, rtol=1e-11, atol=1e-14)[-1]
        prod = Ws[0]
        for W in Ws[1:]:
            prod = W @ prod
        beta_flow[k, p] = prod[0]
        res[k, p] = np.linalg.norm(X @ prod[0] - y)
        cons[k, p] = max(np.abs(a - b).max() for a, b in zip(conserved_matrices(Ws, etas),
                                                              conserved_matrices(W0, etas)))
    norm_Q = np.linalg.norm(beta_Q, axis=-1)
    err = np.linalg.norm(beta_flow - beta_Q[:, None], axis=-1) / norm_Q[:, None]
    mn_gap = np.linalg.norm(beta_Q - beta_mn, axis=-1) / norm_Q
    wrong = np.linalg.norm(beta_flow[:, 0][:, None] - beta_Q[None], axis=-1) / norm_Q[None]
    return DeepBias(depths=depths, deltas=deltas, beta0=beta0, beta_flow=beta_flow, residual=res,
                    beta_Q=beta_Q, beta_mn=beta_mn, error=err, mn_gap=mn_gap, wrong_depth=wrong,
                    cons_error=cons, t_end=t_end, shape=(n, d))
