"""Simulations of the single neuron f(x) = a wᵀx: batched gradient descent in torch and an
independent ODE reference from ``scipy.integrate.solve_ivp`` (Kunin et al. 2024, Section 3).

Gradient descent with step ``dt`` on L = ½‖Xβ − y‖² and layer learning rates η_a, η_w:

    a ← a − dt η_a wᵀXᵀr,   w ← w − dt η_w a Xᵀr,   r = Xβ − y,

so that step k sits at time t = k·dt of the gradient flow it discretises. δ changes by
dt² η_aη_w(η_a (wᵀXᵀr)² − η_w a²‖Xᵀr‖²) per step: it is conserved to O(dt) over a fixed time.

A step size too large for the problem makes descent diverge; :func:`gradient_descent` then
raises :class:`theory.core.DivergenceError` (a ``ValueError``) with the step, never a silent
inf/NaN trajectory.
"""


from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.integrate import solve_ivp

from theory.core import (array_bytes, as_array, check_choice, check_finite_state, check_memory,
                         check_scalar, check_seed, positive, record_steps, resolve_device,
                         resolve_dtype, train_batched)
from theory.rich_lazy.exact import Trajectory

# Steps between two divergence checks inside the descent loop (one reduction over the batch).
_CHECK_EVERY = 32

__all__ = ["DescentLimit", "gradient_descent", "gradient_descent_limit", "gradient_flow_ode",
           "whitened_problem"]


def whitened_problem(n: int, d: int, n_inits: int, *, init_norm: float = 0.5, seed: int = 1):
    """A random whitened regression problem and initial functions (the book's test problem).

    From ``numpy.random.default_rng(seed)``, in this order: X (n, d) with orthonormal columns
    (the Q of a Gaussian matrix, so XᵀX = I_d; needs n ≥ d), y ~ N(0, I_n), and ``n_inits``
    initial functions β₀ (n_inits, d) of norm ``init_norm`` in uniformly random directions.
    Returns (X, y, beta0).
    """
    n = check_scalar(n, "n", kind="int", min=1)
    d = check_scalar(d, "d", kind="int", min=1, max=n)
    n_inits = check_scalar(n_inits, "n_inits", kind="int", min=1)
    init_norm = check_scalar(init_norm, "init_norm", min=0.0, include_min=False)
    seed = check_seed(seed, "seed")
    check_memory(array_bytes(3 * n * d + n + n_inits * d), f"a whitened problem with n = {n}, "
                 f"d = {d}, n_inits = {n_inits}", hint="use smaller n, d or n_inits")
    rng = np.random.default_rng(seed)
    X = np.linalg.qr(rng.normal(size=(n, d)))[0]
    y = rng.normal(size=n)
    beta0 = rng.normal(size=(n_inits, d))
    return X, y, init_norm * beta0 / np.linalg.norm(beta0, axis=1, keepdims=True)


def _schedule(steps: int, record_every, record_at, row_bytes: int = 0) -> np.ndarray:
    """The recorded steps: :func:`theory.core.record_steps` (0 and ``steps`` always included).

    ``row_bytes``: the bytes one record takes (the whole batch); the records' memory is checked
    before the schedule is built.
    """
    if record_every is not None:
        record_every = check_scalar(record_every, "record_every", kind="int", min=1)
        n_rec = steps // record_every + 2 + (0 if record_at is None else np.size(record_at))
        check_memory(array_bytes(n_rec) + n_rec * row_bytes,
                     f"recording {n_rec} steps (steps = {steps}, record_every = {record_every})",
                     hint="record less often (a larger record_every)")
    if record_at is not None:
        at = np.atleast_1d(np.asarray(record_at))
        if at.ndim != 1 or at.size == 0 or not np.issubdtype(at.dtype, np.integer):
            raise TypeError("record_at must be a non-empty 1-D array of integer step indices")
        if at.min() < 0 or at.max() > steps:
            raise ValueError(f"record_at must lie in [0, steps={steps}], got {at.min()} … {at.max()}")
        record_at = at
    if record_every is None and record_at is None:
        return record_steps(steps)
    return record_steps(steps, every=record_every, at=record_at)


def gradient_descent(X, y, a0, w0, eta_a=1.0, eta_w=1.0, *, dt: float, steps: int,
                     record_every: int | None = None, record_at=None, device=None,
                     dtype=torch.float64, progress=None) -> Trajectory:
    """Full-batch gradient descent, batched over parameter vectors (δ, seeds, rates).

    The update (Kunin et al. 2024, Sec. 3, discretised with step dt) is
    a ← a − dt·η_a wᵀXᵀr, w ← w − dt·η_w a Xᵀr, r = Xβ − y, run by
    :func:`theory.core.train_batched` with these exact gradients (``grad_fn``, the layer rates
    folded into them, learning rate dt), one configuration per row of the batch.

    Parameters
    ----------
    X : (n, d) or (B, n, d); y : (n,) or (B, n).
    a0 : (B,) or scalar; w0 : (B, d) or (d,); eta_a, eta_w : positive, scalar or (B,).
    dt : step size (time per step); steps : number of steps.
    record_every / record_at : record every k-th step and/or at the given step indices; the
        schedule is :func:`theory.core.record_steps`, which always holds step 0 and ``steps``.
    device : torch device (default: cuda when available); dtype: float64 by default.
    progress : passed to ``train_batched`` (None: a bar from 200 steps on).

    Returns a :class:`~theory.rich_lazy.exact.Trajectory` of numpy arrays with t = k·dt;
    a (B, T), w (B, T, d), beta (B, T, d), loss (B, T), delta (B,) at initialisation.
    Raises :class:`theory.core.DivergenceError` (a ``ValueError`` naming the step) when dt is
    too large and the parameters turn non-finite (checked every 32 steps and at the end).
    """
    X = as_array(X, "X", ndim=(2, 3), nonempty=True)
    y = as_array(y, "y", ndim=(1, 2), nonempty=True)
    n, d = X.shape[-2:]
    if y.shape[-1] != n:
        raise ValueError(f"y must have last dimension n = {n} (rows of X), got {y.shape[-1]}")
    a0 = np.atleast_1d(as_array(a0, "a0", ndim=(0, 1)))
    w0 = np.atleast_2d(as_array(w0, "w0", ndim=(1, 2)))
    if w0.shape[-1] != d:
        raise ValueError(f"w0 must have last dimension d = {d} (columns of X), got {w0.shape[-1]}")
    eta_a = np.atleast_1d(positive(eta_a, "eta_a"))
    eta_w = np.atleast_1d(positive(eta_w, "eta_w"))
    for name, arr in (("eta_a", eta_a), ("eta_w", eta_w)):
        if arr.ndim != 1:
            raise ValueError(f"{name} must be a scalar or a 1-D array over the batch")
    dt = check_scalar(dt, "dt", min=0.0, include_min=False)
    steps = check_scalar(steps, "steps", kind="int", min=1)
    try:
        B = np.broadcast_shapes(a0.shape, w0.shape[:1], eta_a.shape, eta_w.shape,
                                X.shape[:-2] or (1,), y.shape[:-1] or (1,))[0]
    except ValueError:
        raise ValueError(
            f"batch sizes do not match: a0 {a0.shape}, w0 {w0.shape}, eta_a {eta_a.shape}, "
            f"eta_w {eta_w.shape}, X {X.shape}, y {y.shape}") from None
    rec = _schedule(steps, record_every, record_at, row_bytes=8 * B * (d + 2))
    device = resolve_device(device)
    dtype = resolve_dtype(dtype)
    what = f"gradient descent on the single neuron (dt = {dt:g})"

    def T(x):
        return torch.tensor(np.array(x), dtype=dtype, device=device)

    Xt, yt = T(X), T(y)
    XtX = Xt.transpose(-1, -2) @ Xt                       # (.., d, d)
    Xty = (Xt.transpose(-1, -2) @ yt.unsqueeze(-1)).squeeze(-1)  # (.., d)
    XtX = XtX.expand(B, d, d) if XtX.dim() == 2 else XtX
    Xty = Xty.expand(B, d) if Xty.dim() == 1 else Xty
    ea = T(np.broadcast_to(eta_a, (B,)))
    ew = T(np.broadcast_to(eta_w, (B,)))
    params = {"a": T(np.broadcast_to(a0, (B,))), "w": T(np.broadcast_to(w0, (B, d)))}

    def grad_fn(p, step):  # the layer rates times ∂L/∂a = wᵀXᵀr and ∂L/∂w = a Xᵀr
        a, w = p["a"], p["w"]
        g = (XtX @ (a.unsqueeze(-1) * w).unsqueeze(-1)).squeeze(-1) - Xty  # Xᵀr
        ga = ea * (w * g).sum(-1)
        if step % _CHECK_EVERY == 0:
            check_finite_state(ga, what=what, step=step, hint="reduce dt")
        return {"a": ga, "w": (ew * a).unsqueeze(-1) * g}

    def metrics(p, step):  # ½‖Xβ − y‖² from the residual itself (no cancellation near 0)
        beta = p["a"].unsqueeze(-1) * p["w"]
        r = (Xt @ beta.unsqueeze(-1)).squeeze(-1) - yt
        return {"a": p["a"].clone(), "w": p["w"].clone(), "train_loss": 0.5 * (r * r).sum(-1)}

    res = train_batched(params, steps=steps, lr=dt, grad_fn=grad_fn, record=rec,
                        metrics=metrics, progress=progress, device=device)
    for k in ("a", "w"):
        check_finite_state(res.params[k], what=what, step=steps, hint="reduce dt")
    a_np, w_np = res["a"], res["w"]
    delta = np.broadcast_to(eta_w * a0**2 - eta_a * np.sum(w0**2, axis=-1), (B,)).copy()
    return Trajectory(t=res.steps * dt, a=a_np, w=w_np, beta=a_np[..., None] * w_np,
                      loss=res["train_loss"], delta=delta,
                      eta_a=np.broadcast_to(eta_a, (B,)).copy(),
                      eta_w=np.broadcast_to(eta_w, (B,)).copy())


def gradient_flow_ode(t, X, y, a0, w0, eta_a=1.0, eta_w=1.0, *, rtol: float = 1e-10,
                      atol: float = 1e-12, method: str = "Radau") -> Trajectory:
    """Gradient flow integrated by ``scipy.integrate.solve_ivp``: an independent reference.

    One parameter vector (a0 scalar, w0 (d,)); returns a Trajectory with a (T,), w (T, d).
    The default method is the implicit Radau IIA: at large |δ| the flow is stiff, and there
    DOP853 at rtol 1e-10 drifts to ~1e-8 global error where Radau stays near 1e-11.
    """
    t = as_array(t, "t", ndim=1, nonempty=True)
    if np.any(t < 0) or np.any(np.diff(t) < 0):
        raise ValueError("t must be non-negative and non-decreasing")
    X = as_array(X, "X", ndim=2, nonempty=True)
    y = as_array(y, "y", ndim=1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have length n = {X.shape[0]}, got {y.shape[0]}")
    a0 = float(as_array(a0, "a0", ndim=0))
    w0 = as_array(w0, "w0", ndim=1)
    if w0.shape[0] != X.shape[1]:
        raise ValueError(f"w0 must have length d = {X.shape[1]}, got {w0.shape[0]}")
    ea = check_scalar(eta_a, "eta_a", min=0.0, include_min=False)
    ew = check_scalar(eta_w, "eta_w", min=0.0, include_min=False)
    rtol = check_scalar(rtol, "rtol", min=0.0, include_min=False)
    atol = check_scalar(atol, "atol", min=0.0, include_min=False)
    check_choice(method, "method", ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA"))
    XtX, Xty = X.T @ X, X.T @ y

    def rhs(_, z):
        a, w = z[0], z[1:]
        g = XtX @ (a * w) - Xty
        return np.concatenate([[-ea * (w @ g)], -ew * a * g])

    sol = solve_ivp(rhs, (0.0, float(t[-1])), np.concatenate([[a0], w0]), t_eval=t,
                    method=method, rtol=rtol, atol=atol)
    if not sol.success:  # pragma: no cover - solver failure is reported, not hidden
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    a, w = sol.y[0], sol.y[1:].T
    beta = a[:, None] * w
    r = beta @ X.T - y
    return Trajectory(t=t, a=a, w=w, beta=beta, loss=0.5 * np.sum(r**2, axis=-1),
                      delta=np.asarray(ew * a0**2 - ea * w0 @ w0), eta_a=np.asarray(ea),
                      eta_w=np.asarray(ew))


@dataclass(frozen=True)
class DescentLimit:
    """Where gradient descent ends, at several step sizes, and its extrapolation to dt → 0.

    dts (K,), beta (K, B, d) and loss (K, B) at the end of each run; ``extrapolated`` (B, d) is
    the Richardson extrapolation 2β(dt_K) − β(dt_{K−1}) of the two smallest steps.
    """

    dts: np.ndarray
    beta: np.ndarray
    loss: np.ndarray
    extrapolated: np.ndarray


def gradient_descent_limit(X, y, a0, w0, eta_a=1.0, eta_w=1.0, *, dt: float = 2e-3,
                           levels: int = 2, time: float = 40.0, device=None,
                           progress=None) -> DescentLimit:
    """Run gradient descent to convergence at dt, dt/2, …, dt/2^{levels−1} (batched over a0, w0).

    Gradient descent does not conserve δ exactly: each step moves it by O(dt²), so the point
    it converges to differs from the gradient-flow limit by O(dt). Halving dt halves that
    difference, and the Richardson extrapolation 2β(dt/2) − β(dt) removes its leading term;
    the implicit-bias notebook compares the exact gradient-flow formula with both.
    """
    levels = check_scalar(levels, "levels", kind="int", min=2)
    dt = check_scalar(dt, "dt", min=0.0, include_min=False)
    time = check_scalar(time, "time", min=0.0, include_min=False)
    dts = dt / 2.0 ** np.arange(levels)
    betas, losses = [], []
    for h in dts:
        steps = int(np.ceil(time / h))
        run = gradient_descent(X, y, a0, w0, eta_a, eta_w, dt=h, steps=steps, record_at=[steps],
                               device=device, progress=progress)
        betas.append(run.beta[:, -1])
        losses.append(run.loss[:, -1])
    beta = np.stack(betas)
    return DescentLimit(dts=dts, beta=beta, loss=np.stack(losses),
                        extrapolated=2 * beta[-1] - beta[-2])
