"""Mean-field geometry of n tokens in a deep random transformer: the two-dimensional map.

Cowsik, Nebabu, Qi, Ganguli (2024), "Geometric dynamics of signal propagation predict
trainability of transformers", arXiv:2403.02579. Book chapter: ``book/transformer_signal``.

What is the paper's and what is the book's. Verified from the paper's public abstract and a
summary quoting it: the architecture of its Section 2 (single-head self-attention, then a
token-wise MLP, each on a residual branch, with layer normalisation); the reduction, under a
permutation-symmetric ansatz, to a map of the diagonal and off-diagonal entries (q, p) of the
token Gram matrix; the collapsed fixed point p = q and the simplex fixed point; the angle
exponent λ_a as the linearisation at the collapsed point, with the edge-of-chaos conjecture
λ_a = 0 (its Subsection 3.3); the gradient exponent λ_g. The paper's own equations could not
be read. Every formula below is therefore **the book's own reconstruction**, derived in
``theory.transformer_signal.derivation`` and checked against the simulated model of
``theory.transformer_signal.simulate``, which uses exactly these definitions:

    LN(x) = √d x/‖x‖                        (no gain or bias: the identity at initialisation)
    Y  = √(1−α_A²) X + α_A Attn(LN X),     Attn(H) = softmax(H W_Qᵀ W_K Hᵀ/√d) H W_Vᵀ
    X' = √(1−α_M²) Y + α_M W_2 φ(W_1 LN Y)

with W_Q, W_K entries N(0, σ_A/d) (attention logits of variance σ_A² on normalised tokens),
W_V entries N(0, 1/d), W_1 entries N(0, σ_w²/d), W_2 entries N(0, 1/d_ff), d_ff = d,
acausal attention and no biases, and by default φ(u) = erf(√π u/2) (slope 1 at the origin and
saturating, like tanh, but with every Gaussian integral of the MLP in closed form; ``tanh`` by
Gauss–Hermite quadrature, accurate for σ_w ≲ 2, and ``relu`` are available).

State: q = ‖x_i‖²/d (per-coordinate norm), p = x_i·x_j/d (i ≠ j), cosine ρ = p/q. At infinite
width, for a permutation-symmetric input, one block maps

    attention branch:  q_A = ρ + (1−ρ) a₂(ρ),   p_A = ρ + (1−ρ) a₁₁(ρ),
        a₂ = E Σ_j A_ij²,  a₁₁ = E Σ_j A_ij A_kj (i ≠ k), logits Gaussian with
        Cov(S_ij, S_kl) = σ_A² C_ik C_jl, C = (1−ρ)I + ρ11ᵀ;
    q_Y = (1−α_A²) q + α_A² q_A,   p_Y = (1−α_A²) p + α_A² p_A,   ρ_Y = p_Y/q_Y;
    MLP branch:        q_M = V(σ_w) = E φ(σ_w z)²,   p_M = K(σ_w, ρ_Y) = E φ(u)φ(u′),
        (u, u′) Gaussian, variance σ_w², correlation ρ_Y;
    q′ = (1−α_M²) q_Y + α_M² q_M,   p′ = (1−α_M²) p_Y + α_M² p_M.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.optimize import brentq

from theory.core import as_array, check_scalar, non_negative, positive

__all__ = [
    "ACTIVATIONS",
    "AttentionSummary",
    "AttentionTable",
    "MAP_CONFIGS",
    "MAP_STACKS",
    "MapPhases",
    "MapTrajectory",
    "OneBlockExponents",
    "PhaseDiagram",
    "SimplexFixedPoint",
    "angle_exponent",
    "angle_exponent_one_block",
    "attention_flatness",
    "attention_moments",
    "attention_output",
    "attention_summary",
    "attention_table",
    "block_map",
    "chi_1",
    "chi_1_finite_difference",
    "collapsed_fixed_point",
    "gap_rate",
    "gradient_exponent",
    "gradient_exponent_finite_depth",
    "gradient_norm_profile",
    "iterate_map",
    "map_phases",
    "map_tracks",
    "mlp_kernel",
    "one_block_exponents",
    "simplex_fixed_point",
    "theory_phase_diagram",
]

ACTIVATIONS = ("tanh", "erf", "relu")
_ERF_SCALE = np.sqrt(np.pi) / 2  # φ(u) = erf(√π u/2): slope 1 at the origin, like tanh


def _activation(activation) -> str:
    if not isinstance(activation, str):
        raise TypeError(f"activation must be a string, one of {ACTIVATIONS}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    return activation


def _alpha(x, name: str) -> np.ndarray:
    arr = as_array(x, name)
    if np.any((arr < 0) | (arr > 1)):
        raise ValueError(f"{name} must lie in [0, 1] (a residual strength), got {x!r}")
    return arr


def _n_tokens(n) -> int:
    return check_scalar(n, "n", kind="int", min=2)


def _rho(rho, n: int | None = None, name: str = "rho") -> np.ndarray:
    arr = as_array(rho, name)
    lo = -1.0 if n is None else -1.0 / (n - 1)
    if np.any((arr < lo - 1e-12) | (arr > 1 + 1e-12)):
        raise ValueError(f"{name} must lie in [{lo:g}, 1] (a cosine of n = {n} equiangular "
                         f"tokens), got values in [{arr.min():g}, {arr.max():g}]")
    return np.clip(arr, lo, 1.0)


# ---------------------------------------------------------------------------------------------
# MLP branch: the Gaussian kernel of the activation
# ---------------------------------------------------------------------------------------------

@lru_cache(maxsize=4)
def _hermite(n_quad: int):
    z, w = np.polynomial.hermite_e.hermegauss(n_quad)
    return z, w / w.sum()


def _phi(u, activation):
    if activation == "tanh":
        return np.tanh(u)
    if activation == "erf":
        from scipy.special import erf
        return erf(_ERF_SCALE * u)
    return np.maximum(u, 0.0)


def mlp_kernel(rho, sigma_w, activation: str = "erf", n_quad: int = 200):
    """(V, K): V = E φ(σ_w z)², K = E φ(u)φ(u′) with Var u = Var u′ = σ_w², corr(u, u′) = ρ.

    Closed forms: ``relu`` the arc-cosine kernel, K = σ_w²[√(1−ρ²) + (π − arccos ρ)ρ]/(2π);
    ``erf`` (φ(u) = erf(√π u/2)) the arcsine kernel, K = (2/π) arcsin(πσ_w²ρ/(2 + πσ_w²)).
    ``tanh``: a tensor-product Gauss–Hermite rule with ``n_quad`` nodes per axis (200 nodes: the
    slope at ρ = 1 to 1e-5 relative for σ_w ≤ 2, 2e-3 at σ_w = 3; tanh(σ_w z) becomes too steep
    for the rule beyond).
    The MLP branch output of the block has per-coordinate second moment V and overlap K
    (book's reconstruction of the paper's MLP update; W_2 entries N(0, 1/d_ff)).
    Broadcasts over ``rho`` and ``sigma_w``.
    """
    activation = _activation(activation)
    rho = _rho(rho)
    s2 = positive(sigma_w, "sigma_w") ** 2
    rho, s2 = np.broadcast_arrays(rho, s2)
    if activation == "relu":
        V = s2 / 2
        K = s2 * (np.sqrt(np.clip(1 - rho**2, 0, None)) + (np.pi - np.arccos(rho)) * rho) / (2 * np.pi)
        return V, K
    if activation == "erf":
        c = np.pi * s2 / (2 + np.pi * s2)
        return (2 / np.pi) * np.arcsin(c), (2 / np.pi) * np.arcsin(c * rho)
    n_quad = check_scalar(n_quad, "n_quad", kind="int", min=1)
    z, w = _hermite(n_quad)
    s = np.sqrt(s2)[..., None, None]
    r = rho[..., None, None]
    u1 = s * z[:, None]
    u2 = s * (r * z[:, None] + np.sqrt(np.clip(1 - r**2, 0, None)) * z[None, :])
    W = w[:, None] * w[None, :]
    K = np.sum(W * np.tanh(u1) * np.tanh(u2), axis=(-2, -1))
    V = np.sum(w * np.tanh(np.sqrt(s2)[..., None] * z) ** 2, axis=-1)
    return V, K


def chi_1(sigma_w, activation: str = "erf", n_quad: int = 200):
    """χ₁ = σ_w² E φ′(σ_w z)² = ∂K/∂ρ at ρ = 1 (Price's theorem): the MLP's slope at collapse.

    ``relu``: σ_w²/2; ``erf``: σ_w²/√(1 + πσ_w²); ``tanh``: Gauss–Hermite quadrature.
    """
    activation = _activation(activation)
    s2 = positive(sigma_w, "sigma_w") ** 2
    if activation == "relu":
        return s2 / 2
    if activation == "erf":
        return s2 / np.sqrt(1 + np.pi * s2)
    z, w = _hermite(check_scalar(n_quad, "n_quad", kind="int", min=1))
    return s2 * np.sum(w * (1 - np.tanh(np.sqrt(s2)[..., None] * z) ** 2) ** 2, axis=-1)


# ---------------------------------------------------------------------------------------------
# Attention branch: softmax averaged over Gaussian logits (Monte Carlo, fixed seed, float64)
# ---------------------------------------------------------------------------------------------

@lru_cache(maxsize=8)
def _logit_noise(n: int, samples: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((samples, n, n))


def attention_moments(rho, sigma_A, n: int, *, samples: int = 4000, seed: int = 0):
    """(a₂, a₁₁) = (E Σ_j A_ij², E Σ_j A_ij A_kj, i ≠ k) for A = softmax of Gaussian logits.

    At infinite width the logits S_ij = h_iᵀW_QᵀW_K h_j/√d of normalised, permutation-symmetric
    tokens are jointly Gaussian with Cov(S_ij, S_kl) = σ_A² C_ik C_jl, C = (1−ρ)I + ρ11ᵀ, i.e.
    S = σ_A C^{1/2} G C^{1/2} with G an n×n standard Gaussian matrix (book's derivation). The
    expectation is a Monte Carlo average over ``samples`` matrices G drawn once with ``seed``
    (the same G for every ρ, so the result is a smooth function of ρ), averaged over all rows
    and row pairs. At ρ = 1 the logits are constant and a₂ = a₁₁ = 1/n exactly.
    Broadcasts over ``rho`` and ``sigma_A``; returns two arrays of the broadcast shape.
    """
    n = _n_tokens(n)
    rho = _rho(rho, n)
    sA = non_negative(sigma_A, "sigma_A")
    samples = check_scalar(samples, "samples", kind="int", min=1)
    seed = check_scalar(seed, "seed", kind="int", min=0)
    rho, sA = np.broadcast_arrays(rho, sA)
    G = _logit_noise(n, samples, int(seed))
    a2 = np.empty(rho.shape)
    a11 = np.empty(rho.shape)
    off = ~np.eye(n, dtype=bool)
    for idx in np.ndindex(rho.shape):
        r, s = float(rho[idx]), float(sA[idx])
        if r >= 1.0 or s == 0.0:
            a2[idx] = a11[idx] = 1.0 / n
            continue
        # C^{1/2} of (1−ρ)I + ρ11ᵀ: eigenvalues 1−ρ (on 1^⊥) and 1−ρ+nρ (on 1)
        lam_perp, lam_one = np.sqrt(1 - r), np.sqrt(max(1 - r + n * r, 0.0))
        root = lam_perp * np.eye(n) + (lam_one - lam_perp) / n * np.ones((n, n))
        S = s * root @ G @ root
        S -= S.max(axis=-1, keepdims=True)
        A = np.exp(S)
        A /= A.sum(axis=-1, keepdims=True)
        AAt = A @ np.swapaxes(A, -1, -2)
        a2[idx] = np.mean(np.diagonal(AAt, axis1=-2, axis2=-1))
        a11[idx] = np.mean(AAt[:, off])
    return a2, a11


@dataclass(frozen=True)
class AttentionTable:
    """:func:`attention_moments` tabulated once on a grid of ρ for one (σ_A, n, samples) and
    interpolated linearly: a cheap stand-in for the Monte Carlo average where a map is iterated
    many times (the chapter's explorer). Exact at the nodes, and at ρ = 1 (a₂ = a₁₁ = 1/n)."""

    sigma_A: float
    n: int
    rho: np.ndarray
    a2: np.ndarray
    a11: np.ndarray

    def __call__(self, rho):
        rho = np.asarray(rho, float)
        return np.interp(rho, self.rho, self.a2), np.interp(rho, self.rho, self.a11)


def attention_table(sigma_A: float, n: int, *, points: int = 201, samples: int = 4000) -> AttentionTable:
    """An :class:`AttentionTable` on ``points`` equally spaced ρ in [−1/(n−1), 1]."""
    n = _n_tokens(n)
    sigma_A = check_scalar(sigma_A, "sigma_A", min=0.0)
    points = check_scalar(points, "points", kind="int", min=2)
    rho = np.linspace(-1 / (n - 1), 1.0, points)
    a2, a11 = attention_moments(rho, sigma_A, n, samples=samples)
    return AttentionTable(sigma_A=sigma_A, n=n, rho=rho, a2=a2, a11=a11)


def _moments(rho, sigma_A, n, samples, moments):
    if moments is None:
        return attention_moments(rho, sigma_A, n, samples=samples)
    if not isinstance(moments, AttentionTable):
        raise TypeError(f"moments must be an AttentionTable or None, got {type(moments).__name__}")
    if moments.n != n or moments.sigma_A != float(np.asarray(sigma_A)):
        raise ValueError(f"moments was tabulated for sigma_A={moments.sigma_A}, n={moments.n}; "
                         f"the map has sigma_A={sigma_A}, n={n}")
    return moments(rho)


# ---------------------------------------------------------------------------------------------
# The two-dimensional map, its fixed points and exponents
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BlockOutput:
    q: np.ndarray
    p: np.ndarray
    q_mid: np.ndarray
    p_mid: np.ndarray


def block_map(q, p, *, alpha_A, alpha_M, sigma_w, sigma_A, n: int, activation: str = "erf",
              samples: int = 4000, moments=None) -> BlockOutput:
    """One transformer block of the mean-field map (q, p) → (q′, p′); see the module docstring.

    Returns the output (q, p) and the state after the attention sub-block (q_mid, p_mid) =
    (q_Y, p_Y). Book's reconstruction of the paper's update map (permutation-symmetric
    ansatz). Broadcasts over every numeric argument. ``moments``: optional
    :class:`AttentionTable` for this (σ_A, n), used instead of the Monte Carlo average.
    """
    q = positive(q, "q")
    p = as_array(p, "p")
    n = _n_tokens(n)
    aA, aM = _alpha(alpha_A, "alpha_A"), _alpha(alpha_M, "alpha_M")
    rho = p / q
    if np.any(rho > 1 + 1e-9) or np.any(rho < -1 / (n - 1) - 1e-9):
        raise ValueError("p/q must lie in [-1/(n-1), 1]: (q, p) is not a Gram matrix of n tokens")
    rho = np.clip(rho, -1 / (n - 1), 1.0)
    a2, a11 = _moments(rho, sigma_A, n, samples, moments)
    qA, pA = rho + (1 - rho) * a2, rho + (1 - rho) * a11
    qY = (1 - aA**2) * q + aA**2 * qA
    pY = (1 - aA**2) * p + aA**2 * pA
    V, K = mlp_kernel(np.clip(pY / qY, -1.0, 1.0), sigma_w, activation)
    return BlockOutput(q=(1 - aM**2) * qY + aM**2 * V, p=(1 - aM**2) * pY + aM**2 * K,
                       q_mid=qY, p_mid=pY)


@dataclass(frozen=True)
class MapTrajectory:
    """(q, p, ρ) at layers 0..L (arrays of shape (L+1, *batch))."""

    q: np.ndarray
    p: np.ndarray

    @property
    def rho(self) -> np.ndarray:
        return self.p / self.q


def iterate_map(q0, rho0, depth: int, **params) -> MapTrajectory:
    """Iterate :func:`block_map` ``depth`` times from (q0, ρ0 q0); params as for block_map."""
    depth = check_scalar(depth, "depth", kind="int", min=1)
    q = positive(q0, "q0")
    p = q * as_array(rho0, "rho0")
    qs, ps = [np.asarray(q, float)], [np.asarray(p, float)]
    for _ in range(depth):
        out = block_map(q, p, **params)
        q, p = out.q, out.p
        qs.append(q)
        ps.append(p)
    return MapTrajectory(q=np.stack(qs), p=np.stack(ps))


def collapsed_fixed_point(alpha_A, alpha_M, sigma_w, activation: str = "erf"):
    """(q*, q_Y*) of the collapsed fixed point p = q (all tokens on one line).

    At ρ = 1 the attention output is one vector for all tokens, q_A = 1, and q_M = V(σ_w), so
    q* solves q = (1−α_M²)[(1−α_A²)q + α_A²] + α_M² V:
    q* = [(1−α_M²)α_A² + α_M² V]/[1 − (1−α_A²)(1−α_M²)],  q_Y* = (1−α_A²)q* + α_A².
    With α_A = α_M = 0 the block is the identity and q* = 1 is returned by convention.
    """
    aA, aM = _alpha(alpha_A, "alpha_A"), _alpha(alpha_M, "alpha_M")
    V, _ = mlp_kernel(1.0, sigma_w, activation)
    den = 1 - (1 - aA**2) * (1 - aM**2)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.where(den > 0, ((1 - aM**2) * aA**2 + aM**2 * V) / np.where(den > 0, den, 1), 1.0)
    return q, (1 - aA**2) * q + aA**2


def angle_exponent(alpha_A, alpha_M, sigma_w, activation: str = "erf"):
    """λ_a = log(1−α_A²) + log[(1−α_M²) + α_M² χ₁/q_Y*] at the collapsed fixed point.

    The growth rate per block of 1 − ρ near ρ = 1 (paper: the angle Lyapunov exponent,
    Subsec. 3.3; this closed form is the book's derivation for the model above). Attention
    contributes only log(1−α_A²): its output is collapsed to first order in 1 − ρ. So without
    MLPs (α_M = 0) λ_a = log(1−α_A²) < 0: attention-only stacks collapse to a line.
    """
    aA, aM = _alpha(alpha_A, "alpha_A"), _alpha(alpha_M, "alpha_M")
    _, qY = collapsed_fixed_point(aA, aM, sigma_w, activation)
    with np.errstate(divide="ignore"):
        return np.log(1 - aA**2) + np.log((1 - aM**2) + aM**2 * chi_1(sigma_w, activation) / qY)


def gradient_exponent(alpha_A, alpha_M, sigma_w, activation: str = "erf"):
    """λ_g = log[(1−α_A²) + α_A²/q*] + log[(1−α_M²) + α_M² χ₁/q_Y*] (book's derivation).

    Per-block growth rate of the squared norm of backpropagated gradients at the collapsed
    fixed point, for the token-common component of the gradient, which dominates at depth:
    there the attention Jacobian acts as one linear map W_V on normalised tokens (mean-square
    gain 1/q through the layer norm), whereas on token-differential components attention gives
    zero and the rate is λ_a. The MLP branch multiplies both by the same factor.
    """
    aA, aM = _alpha(alpha_A, "alpha_A"), _alpha(alpha_M, "alpha_M")
    q, qY = collapsed_fixed_point(aA, aM, sigma_w, activation)
    return (np.log((1 - aA**2) + aA**2 / q)
            + np.log((1 - aM**2) + aM**2 * chi_1(sigma_w, activation) / qY))


def gradient_exponent_finite_depth(alpha_A, alpha_M, sigma_w, depth: int, n: int,
                                   activation: str = "erf"):
    """(1/L) log(E‖∂(X_L·R)/∂X_0‖²/‖R‖²) at the collapsed point for R with i.i.d. entries.

    A fraction 1/n of ‖R‖² is token-common (rate λ_g) and 1 − 1/n token-differential
    (rate λ_a): λ_g(L) = (1/L) log[e^{Lλ_g}/n + (1 − 1/n) e^{Lλ_a}] → λ_g as L → ∞.
    """
    depth, n = check_scalar(depth, "depth", kind="int", min=1), _n_tokens(n)
    la = angle_exponent(alpha_A, alpha_M, sigma_w, activation)
    lg = gradient_exponent(alpha_A, alpha_M, sigma_w, activation)
    with np.errstate(divide="ignore"):
        return np.logaddexp(depth * lg - np.log(n), depth * la + np.log1p(-1 / n)) / depth


def angle_exponent_one_block(q, rho, **params):
    """log[(1 − ρ′)/(1 − ρ)] of one block of the map from (q, ρq): the finite-step exponent."""
    rho = as_array(rho, "rho")
    if np.any(rho >= 1):
        raise ValueError("rho must be < 1 to measure a growth rate of 1 − ρ")
    q = positive(q, "q")
    out = block_map(q, rho * q, **params)
    return np.log((1 - out.p / out.q) / (1 - rho))


@dataclass(frozen=True)
class SimplexFixedPoint:
    """The non-collapsed fixed point: tokens equiangular with cosine ``rho`` < 1, norm ``q``."""

    q: float
    rho: float


def simplex_fixed_point(*, alpha_A, alpha_M, sigma_w, sigma_A, n: int, activation: str = "erf",
                        samples: int = 4000, moments=None) -> SimplexFixedPoint | None:
    """The fixed point with ρ* < 1 of the two-dimensional map, or None if there is none.

    For a given ρ the q-equation is linear (q_M = V does not depend on ρ):
    q(ρ) = [(1−α_M²)α_A² q_A(ρ) + α_M² V]/[1 − (1−α_A²)(1−α_M²)]; then ρ* is a root of
    ρ′(q(ρ), ρ) − ρ on [−1/(n−1), 1), found by bisection (Brent) from below the collapsed root.
    """
    n = _n_tokens(n)
    aA, aM = float(_alpha(alpha_A, "alpha_A")), float(_alpha(alpha_M, "alpha_M"))
    den = 1 - (1 - aA**2) * (1 - aM**2)
    if den <= 0:
        raise ValueError("alpha_A = alpha_M = 0 makes every state a fixed point")
    V = float(mlp_kernel(1.0, sigma_w, activation)[0])
    params = dict(alpha_A=aA, alpha_M=aM, sigma_w=sigma_w, sigma_A=sigma_A, n=n,
                  activation=activation, samples=samples, moments=moments)

    def q_of(r):
        a2, _ = _moments(r, sigma_A, n, samples, moments)
        qA = r + (1 - r) * a2
        return ((1 - aM**2) * aA**2 * qA + aM**2 * V) / den

    def F(r):
        q = q_of(r)
        out = block_map(q, r * q, **params)
        return float(out.p / out.q - r)

    lo, hi = -1 / (n - 1) + 1e-9, 1 - 1e-6
    if not (F(lo) > 0 > F(hi)):
        return None
    r = brentq(F, lo, hi, xtol=1e-12)
    return SimplexFixedPoint(q=float(q_of(r)), rho=float(r))


# ---------------------------------------------------------------------------------------------
# Analyses the chapter's notebooks report (each a few lines over the functions above)
# ---------------------------------------------------------------------------------------------

def attention_output(rho, sigma_A, n: int, *, samples: int = 4000):
    """(q_A, p_A) = (ρ + (1−ρ)a₂, ρ + (1−ρ)a₁₁): the mean Gram entries of the attention
    branch's output A C Aᵀ for input cosine ρ (book's reconstruction, module docstring)."""
    rho = _rho(rho, _n_tokens(n))
    a2, a11 = attention_moments(rho, sigma_A, n, samples=samples)
    return rho + (1 - rho) * a2, rho + (1 - rho) * a11


def attention_flatness(sigma_A, n: int, gaps=(1e-2, 1e-3, 1e-4), *, samples: int = 4000):
    """(a₂ − a₁₁)/(1 − ρ) at 1 − ρ = ``gaps``: it tends to 0 as ρ → 1 when the attention
    output is collapsed to first order (q_A − p_A = (1−ρ)(a₂ − a₁₁) = O((1−ρ)²))."""
    gaps = as_array(gaps, "gaps", ndim=1)
    if np.any((gaps <= 0) | (gaps >= 1)):
        raise ValueError(f"gaps must lie in (0, 1), got {gaps}")
    a2, a11 = attention_moments(1 - gaps, sigma_A, n, samples=samples)
    return (a2 - a11) / gaps


def chi_1_finite_difference(sigma_w, activation: str = "tanh", h: float = 1e-5, n_quad: int = 200):
    """(V − K(1 − h))/h: a one-sided finite difference of the kernel at ρ = 1, which tends to
    χ₁ = ∂K/∂ρ|_{ρ=1} as h → 0 (an independent check of :func:`chi_1`'s quadrature)."""
    h = check_scalar(h, "h", min=0.0, max=0.5, include_min=False)
    V, K = mlp_kernel(1 - h, sigma_w, activation, n_quad)
    return (V - K) / h


def gap_rate(rho, start: int, stop: int):
    """log[(1 − ρ_stop)/(1 − ρ_start)]/(stop − start): the mean growth rate per layer of 1 − ρ
    between two layers of a trajectory ``rho`` (layers first). Equals λ_a on the collapsing
    tail of an ordered stack (linearisation of the map, Subsec. 3.3)."""
    rho = as_array(rho, "rho", min_ndim=1)
    start = check_scalar(start, "start", kind="int", min=0, max=rho.shape[0] - 1)
    stop = check_scalar(stop, "stop", kind="int", min=start + 1, max=rho.shape[0] - 1)
    if np.any(rho[[start, stop]] >= 1):
        raise ValueError("rho must be < 1 at both layers to measure a rate of 1 − ρ")
    return np.log((1 - rho[stop]) / (1 - rho[start])) / (stop - start)


def gradient_norm_profile(alpha_A, alpha_M, sigma_w, depth: int, n: int, activation: str = "erf"):
    """Theory for log(‖∂(X_L·R)/∂X_ℓ‖²/‖R‖²) at ℓ = 0..L: (L+1, *broadcast shape).

    The L − ℓ blocks above layer ℓ multiply the token-common 1/n of ‖R‖² by e^{λ_g} each and
    the token-differential rest by e^{λ_a} (book's derivation; see
    :func:`gradient_exponent_finite_depth`, its value at ℓ = 0 divided by L).
    """
    depth, n = check_scalar(depth, "depth", kind="int", min=1), _n_tokens(n)
    la = np.asarray(angle_exponent(alpha_A, alpha_M, sigma_w, activation))
    lg = np.asarray(gradient_exponent(alpha_A, alpha_M, sigma_w, activation))
    above = (depth - np.arange(depth + 1)).reshape((-1,) + (1,) * la.ndim)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.logaddexp(above * lg - np.log(n), above * la + np.log1p(-1 / n))


def map_tracks(cases: dict, rho0, depth: int, *, sigma_A, n: int, activation: str = "erf",
               samples: int = 4000) -> dict:
    """name → :class:`MapTrajectory` of ``depth`` blocks from q₀ = 1 and each ρ₀ in ``rho0``,
    for named stacks ``cases`` = {name: (α_A, α_M, σ_w)}."""
    if not isinstance(cases, dict) or not cases:
        raise TypeError("cases must be a non-empty dict name → (alpha_A, alpha_M, sigma_w)")
    rho0 = as_array(rho0, "rho0", ndim=1)
    out = {}
    for name, cfg in cases.items():
        if len(cfg) != 3:
            raise ValueError(f"cases[{name!r}] must be (alpha_A, alpha_M, sigma_w), got {cfg!r}")
        aA, aM, sw = cfg
        out[name] = iterate_map(np.ones_like(rho0), rho0, depth, alpha_A=aA, alpha_M=aM,
                                sigma_w=sw, sigma_A=sigma_A, n=n, activation=activation,
                                samples=samples)
    return out


# ---------------------------------------------------------------------------------------------
# The theory notebook's configurations and analyses (each a small result with a printable report)
# ---------------------------------------------------------------------------------------------

#: The three named stacks (α_A, α_M, σ_w) of the theory notebook's "Collapse, order and chaos"
#: section: attention only, an ordered stack with MLPs and a chaotic one (λ_a < 0, < 0, > 0).
MAP_STACKS = {"attention only": (0.5, 0.0, 1.0), "ordered": (0.3, 0.5, 1.0),
              "chaotic": (0.3, 0.9, 3.0)}

#: The six (α_A, α_M, σ_w) rows at which the theory notebook checks λ_a against one block of
#: the map: both phases, with and without MLPs, small and large σ_w.
MAP_CONFIGS = np.array([(0.5, 0.0, 1.0), (0.3, 0.5, 1.0), (0.3, 0.6, 2.0), (0.3, 0.9, 3.0),
                        (0.8, 0.8, 2.0), (0.1, 0.95, 5.0)])


def _configs_table(configs) -> np.ndarray:
    cfg = as_array(configs, "configs", ndim=2)
    if cfg.shape[1] != 3:
        raise ValueError(f"configs must be (C, 3) rows (alpha_A, alpha_M, sigma_w), got {cfg.shape}")
    return cfg


def _short_float(x: float) -> str:
    """1e-2 rather than 0.01: a power of ten (times a mantissa) as it is written in the text."""
    e = int(np.floor(np.log10(abs(x))))
    return f"{x / 10.0**e:g}e{e}"


@dataclass(frozen=True)
class AttentionSummary:
    """The attention branch at infinite width over a grid of input cosines ``rho``: the softmax
    moments ``a2``, ``a11``, the output Gram entries ``q_A``, ``p_A`` (module docstring) and
    the flatness (a₂ − a₁₁)/(1 − ρ) at 1 − ρ = ``gaps``; for (σ_A, n) = (``sigma_A``, ``n``)."""

    sigma_A: float
    n: int
    rho: np.ndarray
    a2: np.ndarray
    a11: np.ndarray
    q_A: np.ndarray
    p_A: np.ndarray
    gaps: np.ndarray
    flatness: np.ndarray

    @property
    def report(self) -> str:
        gaps = ", ".join(_short_float(g) for g in self.gaps)
        return f"(a₂ − a₁₁)/(1 − ρ) at 1 − ρ = {gaps}: {np.round(self.flatness, 5)}"


def attention_summary(sigma_A: float, n: int, *, rho, gaps=(1e-2, 1e-3, 1e-4),
                      samples: int = 4000) -> AttentionSummary:
    """:func:`attention_moments` on the grid ``rho``, the output (q_A, p_A) = (ρ + (1−ρ)a₂,
    ρ + (1−ρ)a₁₁) and :func:`attention_flatness` at ``gaps`` (book's reconstruction)."""
    n = _n_tokens(n)
    sigma_A = check_scalar(sigma_A, "sigma_A", min=0.0)
    rho = _rho(as_array(rho, "rho", ndim=1), n)
    a2, a11 = attention_moments(rho, sigma_A, n, samples=samples)
    gaps = as_array(gaps, "gaps", ndim=1)
    return AttentionSummary(sigma_A=sigma_A, n=n, rho=rho, a2=a2, a11=a11,
                            q_A=rho + (1 - rho) * a2, p_A=rho + (1 - rho) * a11, gaps=gaps,
                            flatness=attention_flatness(sigma_A, n, gaps, samples=samples))


@dataclass(frozen=True)
class OneBlockExponents:
    """Per (α_A, α_M, σ_w) row of ``configs``: q* of the collapsed fixed point, the closed-form
    λ_a (``linear``) and the map's one-block exponent from (q*, ``rho0``) (``step``)."""

    configs: np.ndarray
    rho0: float
    q_star: np.ndarray
    linear: np.ndarray
    step: np.ndarray

    @property
    def report(self) -> str:
        return "\n".join(f"α_A = {c[0]:.2f}, α_M = {c[1]:.2f}, σ_w = {c[2]:.1f}:  map {m:+.5f}   "
                         f"λ_a {t:+.5f}" for c, m, t in zip(self.configs, self.step, self.linear))


def one_block_exponents(configs, *, sigma_A: float, n: int, rho0: float,
                        samples: int = 4000) -> OneBlockExponents:
    """λ_a two ways at each row of ``configs``: :func:`angle_exponent` and
    :func:`angle_exponent_one_block` from q₀ = q* and ``rho0`` (book's derivation: they agree
    as ρ₀ → 1, the linearisation of Subsec. 3.3)."""
    cfg = _configs_table(configs)
    rho0 = check_scalar(rho0, "rho0", min=-1.0, max=1.0, include_max=False)
    aA, aM, sw = cfg.T
    q_star, _ = collapsed_fixed_point(aA, aM, sw)
    step = angle_exponent_one_block(q_star, rho0, alpha_A=aA, alpha_M=aM, sigma_w=sw,
                                    sigma_A=sigma_A, n=n, samples=samples)
    return OneBlockExponents(configs=cfg, rho0=rho0, q_star=q_star,
                             linear=angle_exponent(aA, aM, sw), step=step)


@dataclass(frozen=True)
class MapPhases:
    """The map through ``depth`` blocks for named stacks: ``tracks`` (name →
    :class:`MapTrajectory`, one column per ρ₀), ``exponents`` (name → λ_a) and ``simplex``
    (name → :class:`SimplexFixedPoint`, for the stacks with λ_a > 0)."""

    depth: int
    tracks: dict
    exponents: dict
    simplex: dict

    @property
    def report(self) -> str:
        lines = []
        for name, fp in self.simplex.items():
            head = f"{name}: " if len(self.simplex) > 1 else ""
            lines.append(f"{head}simplex fixed point: ρ* = {fp.rho:.4f}, q* = {fp.q:.4f}; map after "
                         f"{self.depth} blocks: {self.tracks[name].rho[-1]}")
        return "\n".join(lines)


def map_phases(stacks: dict, rho0, depth: int, *, sigma_A: float, n: int,
               samples: int = 4000) -> MapPhases:
    """:func:`map_tracks` for ``stacks`` = {name: (α_A, α_M, σ_w)} from q₀ = 1 and each ρ₀,
    their λ_a, and :func:`simplex_fixed_point` of every chaotic (λ_a > 0) stack."""
    tracks = map_tracks(stacks, rho0, depth, sigma_A=sigma_A, n=n, samples=samples)
    exponents = {k: angle_exponent(*v) for k, v in stacks.items()}
    simplex = {}
    for k, (aA, aM, sw) in stacks.items():
        fp = None
        if exponents[k] > 0:
            fp = simplex_fixed_point(alpha_A=aA, alpha_M=aM, sigma_w=sw, sigma_A=sigma_A, n=n,
                                     samples=samples)
        if fp is not None:
            simplex[k] = fp
    return MapPhases(depth=depth, tracks=tracks, exponents=exponents, simplex=simplex)


@dataclass(frozen=True)
class PhaseDiagram:
    """Closed-form λ_a and λ_g on the grid ``alpha_M`` × ``sigma_w`` at fixed ``alpha_A``."""

    alpha_A: float
    alpha_M: np.ndarray
    sigma_w: np.ndarray
    lambda_a: np.ndarray
    lambda_g: np.ndarray


def theory_phase_diagram(alpha_A: float, *, alpha_M, sigma_w) -> PhaseDiagram:
    """:func:`angle_exponent` and :func:`gradient_exponent` over (α_M, σ_w) by broadcasting:
    arrays (len(alpha_M), len(sigma_w))."""
    alpha_A = check_scalar(alpha_A, "alpha_A", min=0.0, max=1.0)
    am, sw = as_array(alpha_M, "alpha_M", ndim=1), as_array(sigma_w, "sigma_w", ndim=1)
    return PhaseDiagram(alpha_A=alpha_A, alpha_M=am, sigma_w=sw,
                        lambda_a=angle_exponent(alpha_A, am[:, None], sw[None, :]),
                        lambda_g=gradient_exponent(alpha_A, am[:, None], sw[None, :]))
