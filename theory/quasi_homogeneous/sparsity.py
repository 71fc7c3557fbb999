"""The sparsity conjecture (the paper's §6, in the book's reconstruction).

The paper's abstract: the asymmetric maximum-margin bias is "conjectured to discard unnecessary
higher-rate parameters". For the book's toy f = a·x₁ + u·v·x₂ (rates 1, ½, ½) the highest-rate
parameter is ``a``, and the limit problem (the book's reconstruction of the theorem)

    min ½ a²   s.t.   y_i (a x_{i1} + u v x_{i2}) ≥ 1

has a* = 0 exactly when x₂ alone separates the data (:func:`theory.quasi_homogeneous.robustness.
qh_limit`). Three cases, each with an exact prediction:

1. *discarded*: x₂ separates alone → the normalised ã = a/q_min → 0 (q_min = min_i y_i f(x_i)).
   Mechanism: in loss-normalised time τ, ȧ = Σ_i s_i p_i stays O(1) while the depth-2 path grows
   like ẇ = (u² + v²) Σ_i s_i r_i ≈ 2|w| Σ_i s_i r_i, i.e. exponentially; so a grows like τ and
   q_min like e^{2 r τ}.
2. *necessary*: neither feature separates alone (:func:`necessary_data`) → a* = 1/g* > 0: the
   higher-rate parameter cannot be discarded and the limit keeps it at its exact value.
3. *a trap*: the theorem gives a KKT point, not the minimum. θ = (a, 0, 0) is one (∂q/∂u = v r = 0
   at u = v = 0), and the flow started there keeps a for ever: ã → 1/min_i p_i. From u = v = σ
   (balanced, a = 0) the depth-2 path is a seed that grows like σ² e^{2 r_* τ}, with r_* the x₂
   coordinate of the x₁-support point i* = argmin_i p_i (where the softmax weights s_i
   concentrate while a alone carries the margin); it overtakes a·p_* at a time τ_× that
   :func:`escape_time` predicts from the linear flow of a alone, asymptotically
   τ_× ≈ [ln(1/σ²) + ln(p_* τ_× / r_*)] / (2 r_*): the delay grows like ln(1/σ)/r_* and exceeds
   any fixed training budget for small enough σ.
"""

from __future__ import annotations

import numpy as np
import torch

from theory.core import check_scalar
from theory.quasi_homogeneous.robustness import _real, check_data, qh_model, train_loss_normalised

__all__ = ["balanced_init", "crossing_tau", "escape_time", "necessary_data", "normalised_a",
           "run_trap", "trap_prediction"]


def necessary_data() -> tuple[np.ndarray, np.ndarray]:
    """Four points that neither feature separates alone but f = a·x₁ + u·v·x₂ does.

    y_i x_i = (−0.2, 1), (1, −0.5), (1, 1), (0.5, 0.8) with labels +1, −1, +1, −1: point 0 has
    y x₁ < 0 and point 1 has y x₂ < 0. The limit (the book's reconstruction) has w̄* = 0.8 and
    g* = 0.6, so a* = 1/0.6 and w* = 0.8/0.6: both paths are kept.
    """
    z = np.array([[-0.2, 1.0], [1.0, -0.5], [1.0, 1.0], [0.5, 0.8]])
    y = np.array([1.0, -1.0, 1.0, -1.0])
    return y[:, None] * z, y


def _check_run(run, keys=("q_min", "beta")):
    if not isinstance(run, dict) or not set(keys) <= set(run):
        raise TypeError("run must be the dict returned by train_loss_normalised (or run_trap)")
    return run


def normalised_a(run: dict) -> np.ndarray:
    """ã = a / q_min along a run of :func:`train_loss_normalised` with the toy: (S, T); NaN where
    q_min ≤ 0 (a point still misclassified: no normalisation)."""
    _check_run(run)
    q = run["q_min"]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(q > 0, run["beta"][..., 0] / np.where(q > 0, q, 1.0), np.nan)


def balanced_init(sigmas) -> torch.Tensor:
    """θ₀ = (a, u, v) = (0, σ, σ) for each σ ≥ 0: (len(sigmas), 3), float64."""
    s = _real(sigmas, "sigmas")
    if s.ndim != 1 or s.size < 1 or np.any(s < 0):
        raise ValueError(f"sigmas must be a 1-D list of finite values >= 0, got {sigmas!r}")
    return torch.from_numpy(np.stack([np.zeros_like(s), s, s], axis=1))


def trap_prediction(X, y) -> dict:
    """The trap's exact numbers: ã of the KKT point (a, 0, 0) is 1/p_*; p_*, r_* of i* = argmin p."""
    X, y = check_data(X, y)
    z = y[:, None] * X
    i = int(np.argmin(z[:, 0]))
    if z[i, 0] <= 0:
        raise ValueError("X, y: x₁ alone must separate the data for the trap (min y x₁ > 0)")
    return {"a_trap": 1.0 / z[i, 0], "p_star": float(z[i, 0]), "r_star": float(z[i, 1]),
            "index": i}


def escape_time(X, y, sigma, *, tau_max: float = 5000.0) -> np.ndarray:
    """The predicted τ_× at which the depth-2 path, started at u = v = σ (a = 0), takes over the
    x₁-support point i* (uv·r_* = a·p_*): the book's small-σ analysis, (len(sigma),).

    While uv is negligible the flow is that of the linear model a·x₁ in loss-normalised time,
    ȧ = Σ_i s_i p_i, with s = softmax(−a p); and with u = v (u² − v² = 0 is conserved) the path
    obeys d(uv)/dτ = 2 uv Σ_i s_i r_i exactly, so uv = σ² e^{2R(τ)}, Ṙ = Σ_i s_i r_i. Both ODEs are
    integrated (scipy, rtol 1e-10) and τ_× solves ln σ² + 2R(τ) + ln r_* = ln(a(τ) p_*). As the
    weights concentrate on i*, R ≈ r_* τ and τ_× ≈ [ln(1/σ²) + ln(p_* τ_×/r_*)]/(2 r_*); the delay
    grows like ln(1/σ). Neglected: the back-reaction of uv on the weights just before the crossing.
    NaN where τ_× > tau_max.
    """
    from scipy.integrate import solve_ivp

    X, y = check_data(X, y)
    s = _real(sigma, "sigma")
    if s.ndim != 1 or s.size < 1 or np.any(s <= 0) or np.any(s >= 1):
        raise ValueError(f"sigma must be a 1-D list of values in (0, 1), got {sigma!r}")
    tau_max = check_scalar(tau_max, "tau_max", min=1.0)
    pred = trap_prediction(X, y)
    z = y[:, None] * X
    p, r = z[:, 0], z[:, 1]

    def rhs(t, state):
        w = np.exp(-state[0] * (p - p.min()))
        w /= w.sum()
        return [w @ p, w @ r]

    sol = solve_ivp(rhs, (0.0, tau_max), [0.0, 0.0], rtol=1e-10, atol=1e-12, dense_output=True)
    grid = np.linspace(0.0, tau_max, 200_001)[1:]
    a, R = sol.sol(grid)
    lhs = 2 * R + np.log(pred["r_star"]) - np.log(a * pred["p_star"])  # + ln σ² ≥ 0 at τ_×
    out = np.full(s.shape, np.nan)
    for k, sig in enumerate(s):
        g = lhs + 2 * np.log(sig)
        j = np.flatnonzero((g[:-1] < 0) & (g[1:] >= 0))
        if j.size:
            i = j[-1]
            out[k] = grid[i] + (grid[i + 1] - grid[i]) * (-g[i]) / (g[i + 1] - g[i])
    return out


def crossing_tau(run: dict, X, y, index: int) -> np.ndarray:
    """The measured τ at which u·v·r_* reaches a·p_* at point ``index``: the first upward crossing
    of uv·r_* − a·p_* through 0 after it has been negative (a carrying the point), linearly
    interpolated between records; NaN if there is none: (S,)."""
    X, y = check_data(X, y)
    _check_run(run, ("tau", "beta"))
    index = check_scalar(index, "index", kind="int", min=0, max=X.shape[0] - 1)
    z = y[:, None] * X
    a, w = run["beta"][..., 0], run["beta"][..., 1]
    gap = w * z[index, 1] - a * z[index, 0]  # (S, T): > 0 once the depth-2 path carries point i*
    out = np.full(gap.shape[0], np.nan)
    for s in range(gap.shape[0]):
        tau = run["tau"][s]
        neg = np.flatnonzero(gap[s] < 0)
        if not neg.size:
            continue
        k = neg[0] + np.flatnonzero(gap[s, neg[0]:] >= 0)
        if k.size:
            j = k[0]
            t0, t1, g0, g1 = tau[j - 1], tau[j], gap[s, j - 1], gap[s, j]
            out[s] = t0 + (t1 - t0) * (-g0) / (g1 - g0)
    return out


def run_trap(X, y, sigmas, *, steps: int, record_every: int = 10, **kw) -> dict:
    """Loss-normalised GD of the toy from (0, σ, σ) for every σ (one batched run)."""
    check_data(X, y)
    record_every = check_scalar(record_every, "record_every", kind="int", min=1)
    return train_loss_normalised(qh_model(), X, y, balanced_init(sigmas), steps=steps,
                                 record_every=record_every, **kw)
