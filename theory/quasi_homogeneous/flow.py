"""Gradient flow on the exponential loss in loss-normalised time, batched over seeds.

The theorem (the book's reconstruction, :mod:`theory.quasi_homogeneous.maxmargin`) is about the
direction gradient flow on L(θ) = Σ_i exp(−q_i(θ)), q_i = y_i f(x_i; θ), reaches as t → ∞. In
real time that takes exponentially long (the margins grow like log t); in the loss-normalised
time dτ = dt·L the same path is traversed with

    dθ/dτ = −∇L/L = −∇ log L,

so that the margins grow like τ. Gradient descent on log L (evaluated as a log-sum-exp, finite
however large the margins) with a positive step h_k per configuration discretises this path:
θ_{k+1} = θ_k − h_k ∇ log L(θ_k), τ_{k+1} = τ_k + h_k. The curvature of log L grows with the
parameters (for a depth-2 path like the scale of u·v), so a fixed step eventually oscillates;
h_k = min(η, c/ℓ_k) with ℓ_k a running estimate of the local Lipschitz constant of ∇ log L,
ℓ_k = max(‖g_k − g_{k−1}‖/‖θ_k − θ_{k−1}‖, 0.9 ℓ_{k−1}), keeps it stable (a choice of the
discretisation, the book's: any positive step is the same flow reparametrised in time).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from theory.core import DivergenceError, check_bool, check_scalar, figure, record_steps, train_batched
from theory.quasi_homogeneous import maxmargin as mm

__all__ = ["FlowResult", "angles_to", "fall_ratio", "kkt_along", "normalised_flow", "theorem_figure"]


@dataclass(frozen=True)
class FlowResult:
    """A batch of flows recorded at log-spaced steps (configurations first).

    ``steps`` (T,); ``tau`` (S, T): the loss-normalised time Σ h_k; ``theta`` (S, T, P);
    ``direction`` (S, T, P): θ normalised to min_i q_i = 1 by e^{αΛ} (NaN where θ does not yet
    separate the data); ``log_loss`` and ``q_min`` (S, T); ``step`` (S, T): the step h_k in use;
    ``separated`` (S,): whether the last record separates the data.
    """

    steps: np.ndarray
    tau: np.ndarray
    theta: np.ndarray
    direction: np.ndarray
    log_loss: np.ndarray
    q_min: np.ndarray
    step: np.ndarray
    separated: np.ndarray


def normalised_flow(model, X, y, theta0, *, steps: int, eta: float = 1.0, safety: float = 0.5,
                    n_record: int = 60, progress=True) -> FlowResult:
    """Loss-normalised gradient descent θ ← θ − h_k ∇L/L on the exponential loss, batched over θ₀'s rows.

    ``theta0`` (S, P): one configuration per row (float64). ``eta``: the largest step; ``safety``:
    c in h_k = min(η, c/ℓ_k) (module docstring). Records 0, ``steps`` and ``n_record`` log-spaced
    steps, through :func:`theory.core.train_batched` (its progress bar). The book's reconstruction
    of the setting of the theorem: gradient flow on Σ_i exp(−y_i f(x_i; θ)), reparametrised in time.
    """
    X, y = mm._data(model, X, y)
    mm._check_model(model)
    theta0 = mm._theta(model, theta0, "theta0").detach()
    if not isinstance(progress, str):
        check_bool(progress, "progress")
    if theta0.ndim != 2 or theta0.shape[0] == 0:
        raise ValueError(f"theta0 must have shape (S, {model.n_params}) with S >= 1, got {tuple(theta0.shape)}")
    steps = check_scalar(steps, "steps", kind="int", min=1)
    eta = check_scalar(eta, "eta", min=0.0, include_min=False)
    safety = check_scalar(safety, "safety", min=0.0, include_min=False, max=2.0)
    n_record = check_scalar(n_record, "n_record", kind="int", min=2)
    S = theta0.shape[0]
    state = {"g": None, "theta": None, "ell": torch.zeros(S, dtype=torch.float64),
             "h": torch.full((S,), eta, dtype=torch.float64), "tau": torch.zeros(S, dtype=torch.float64)}

    def log_loss(theta):
        return torch.logsumexp(-y * model.f(X, theta), dim=-1)

    def grad_fn(P, step):
        th = P["theta"]
        with torch.enable_grad():
            t = th.detach().clone().requires_grad_(True)
            (g,) = torch.autograd.grad(log_loss(t).sum(), t)
        if state["g"] is not None:
            dth = (th - state["theta"]).norm(dim=-1)
            est = torch.where(dth > 0, (g - state["g"]).norm(dim=-1) / dth.clamp_min(1e-300),
                              state["ell"])
            state["ell"] = torch.maximum(est, 0.9 * state["ell"])
        h = torch.minimum(torch.full_like(state["ell"], eta), safety / state["ell"].clamp_min(1e-300))
        state.update(g=g, theta=th.clone(), h=h, tau=state["tau"] + h)
        return {"theta": h[:, None] * g}

    def metrics(P, step):
        th = P["theta"]
        q = y * model.f(X, th)
        return {"theta": th.clone(), "log_loss": torch.logsumexp(-q, -1), "q_min": q.min(-1).values,
                "tau": state["tau"].clone(), "step": state["h"].clone()}

    desc = progress if isinstance(progress, str) else f"loss-normalised flow ({S} seeds)"
    res = train_batched({"theta": theta0.clone()}, steps=steps, lr=1.0, grad_fn=grad_fn,
                        record=record_steps(steps, n_log=n_record), metrics=metrics,
                        progress=desc if progress else False)
    theta, q_min = res["theta"], res["q_min"]
    if not np.all(np.isfinite(theta)):
        bad = np.flatnonzero(~np.isfinite(theta).all(axis=(1, 2))).tolist()
        raise DivergenceError(f"the loss-normalised flow diverged: seeds {bad[:8]} are no longer finite "
                              f"(NaN or inf); reduce eta={eta!r} or safety={safety!r}", what="normalised flow")
    direction = np.full_like(theta, np.nan)
    ok = q_min > 0
    if ok.any():
        direction[ok] = mm.normalise(model, X, y, torch.from_numpy(theta[ok])).numpy()
    return FlowResult(steps=res.steps, tau=res["tau"], theta=theta, direction=direction,
                      log_loss=res["log_loss"], q_min=q_min, step=res["step"],
                      separated=q_min[:, -1] > 0)


def _nan_ok(x, name):
    """Real numbers as float64, NaN allowed (it marks the records before separation)."""
    if x is None or isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be an array of real numbers, got {type(x).__name__}")
    arr = np.asarray(x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x)
    if arr.dtype == bool or np.iscomplexobj(arr) or not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if np.any(np.isinf(arr)):
        raise ValueError(f"{name} must not hold inf (NaN marks records before separation)")
    return arr


def _check_result(result):
    if not isinstance(result, FlowResult):
        raise TypeError(f"result must be a FlowResult (from normalised_flow), got {type(result).__name__}")
    return result


def angles_to(model, X, y, result: FlowResult, theta_ref) -> np.ndarray:
    """(S, T) degrees between each recorded direction and θ_ref (:func:`maxmargin.angle`); NaN
    before separation."""
    _check_result(result)
    mm._data(model, X, y)
    theta_ref = mm._theta(model, theta_ref, "theta_ref")
    out = np.full(result.q_min.shape, np.nan)
    ok = result.q_min > 0
    if ok.any():
        ref = torch.as_tensor(np.asarray(theta_ref, dtype=np.float64))
        out[ok] = mm.angle(model, X, y, torch.from_numpy(result.theta[ok]), ref)
    return out


def kkt_along(model, X, y, result: FlowResult, *, norm: str = "lambda_max") -> dict:
    """The KKT residuals (:func:`maxmargin.kkt_residuals`) at every record: name → (S, T), NaN
    before separation. Names: ``stationarity``, ``complementary``, ``seminorm``, ``euler_gap``."""
    _check_result(result)
    mm._data(model, X, y)
    if norm not in mm.NORMS:
        raise ValueError(f"norm must be one of {mm.NORMS}, got {norm!r}")
    names = ("stationarity", "complementary", "seminorm", "euler_gap")
    out = {k: np.full(result.q_min.shape, np.nan) for k in names}
    ok = result.q_min > 0
    if ok.any():
        r = mm.kkt_residuals(model, X, y, torch.from_numpy(result.theta[ok]), norm=norm)
        for k in names:
            out[k][ok] = getattr(r, k)
    return out


def fall_ratio(result: FlowResult, values, *, tau_from: float) -> np.ndarray:
    """(S,) |value at the last record| / |value at the first record with τ ≥ ``tau_from``|: how
    far a residual fell over the rest of the run (NaN for a seed that never reaches τ_from)."""
    _check_result(result)
    tau_from = check_scalar(tau_from, "tau_from", min=0.0)
    v = np.abs(_nan_ok(values, "values"))
    if v.shape != result.tau.shape:
        raise ValueError(f"values must have shape {result.tau.shape} (seeds, records), got {v.shape}")
    reached = result.tau >= tau_from
    j = np.argmax(reached, axis=1)
    start = v[np.arange(v.shape[0]), j]
    return np.where(reached.any(axis=1), v[:, -1] / start, np.nan)


def theorem_figure(result: FlowResult, angle_qh, angle_euclid, kkt: dict, *, solution_gap=None):
    """Left: the angle to the solved Λmax programme (and to the Euclidean one) against τ, with
    ``solution_gap`` (the angle between the two programmes' solutions) as a dashed line; right:
    the stationarity and complementary-slackness residuals against τ. Markers: the seeds."""
    _check_result(result)
    if not isinstance(kkt, dict) or not {"stationarity", "complementary"} <= set(kkt):
        raise TypeError("kkt must be the dict returned by kkt_along")
    if solution_gap is not None:
        solution_gap = check_scalar(solution_gap, "solution_gap", min=0.0)
    for name, arr in (("angle_qh", angle_qh), ("angle_euclid", angle_euclid)):
        arr = _nan_ok(arr, name)
        if np.shape(arr) != result.q_min.shape:
            raise ValueError(f"{name} must have shape {result.q_min.shape} (seeds, records)")
    fig, (ax1, ax2) = figure(1, 2, width="wide")
    tau = result.tau
    for s in range(tau.shape[0]):
        lab = s == 0
        ax1.loglog(tau[s, 1:], angle_qh[s, 1:], "o", ms=3, color="C0", alpha=0.6,
                   label="to the Λmax programme (seeds)" if lab else None)
        ax1.loglog(tau[s, 1:], angle_euclid[s, 1:], "s", ms=3, color="C3", alpha=0.6,
                   label="to the Euclidean programme (seeds)" if lab else None)
        ax2.loglog(tau[s, 1:], kkt["stationarity"][s, 1:], "o", ms=3, color="C0", alpha=0.6,
                   label="stationarity ‖θ_max − Jᵀμ‖/‖θ_max‖" if lab else None)
        ax2.loglog(tau[s, 1:], np.abs(kkt["complementary"][s, 1:]), "^", ms=3, color="C2",
                   alpha=0.6, label="complementary slackness Σμᵢ(qᵢ − 1)" if lab else None)
    if solution_gap is not None:
        ax1.axhline(check_scalar(solution_gap, "solution_gap", min=0.0), color="C3", ls="--", lw=1,
                    label="angle between the two solutions")
    ax1.set(xlabel="loss-normalised time τ", ylabel="angle (degrees)",
            title="direction of θ (normalised to min qᵢ = 1)")
    ax2.set(xlabel="loss-normalised time τ", ylabel="residual", title="KKT residuals of the Λmax programme")
    ax1.legend(fontsize=8)
    ax2.legend(fontsize=8)
    return fig
