"""The asymmetric max-margin programme, solved directly, and the KKT residuals of any θ.

The theorem, as this book reconstructs it (the paper's statement could not be read; its
abstract and introduction say only that gradient flow reaches "a max-margin solution under a norm
constraint on a subset of the parameters"): past separability, gradient flow on an exponential
loss converges in direction to a KKT point of

    minimise  ½‖θ‖²_{Λmax} = ½ Σ_{j: λ_j = λ_max} θ_j²   subject to   q_i(θ) = y_i f(x_i; θ) ≥ 1,

whose KKT conditions are: there are μ_i ≥ 0 with

    θ_j = Σ_i μ_i ∂q_i/∂θ_j   (λ_j = λ_max),      0 = Σ_i μ_i ∂q_i/∂θ_j   (λ_j < λ_max),
    μ_i (q_i − 1) = 0,         q_i ≥ 1.

"In direction" means after the quasi-homogeneous scaling ψ_α(θ) = e^{αΛ}θ that puts θ on the
constraint set: α = −log min_i q_i, so that min_i q_i(ψ_α θ) = 1 (:func:`normalise`). Contracting
stationarity with λ_j θ_j and using the generalised Euler identity Σ_j λ_j θ_j ∂_j q_i = q_i gives
Σ_i μ_i = λ_max ‖θ‖²_{Λmax} at every KKT point (:attr:`KKTResiduals.euler_gap` checks it).

``norm="euclidean"`` gives the homogeneous programme of Lyu & Li (2020), min ½‖θ‖² s.t. q_i ≥ 1,
on the same model and data, for contrast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from theory.core import array_bytes, as_tensor, check_bool, check_memory, check_seed, check_scalar, config_seed

__all__ = ["KKTResiduals", "MaxMarginSolution", "angle", "canonical", "check_labels", "jacobian",
           "kkt_residuals", "margins", "norm_mask", "normalise", "solve_max_margin",
           "theorem_data"]

NORMS = ("lambda_max", "euclidean")


# --- validation ---------------------------------------------------------------------------------
def check_labels(y) -> torch.Tensor:
    """``y`` as a (n,) float64 tensor of labels ±1, or a ValueError/TypeError naming ``y``."""
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    if y is None or isinstance(y, (str, bytes)):
        raise TypeError(f"y must hold the labels -1 and +1, got {type(y).__name__}")
    arr = np.asarray(y)
    if arr.dtype == object or arr.dtype == bool or np.iscomplexobj(arr) or not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"y must hold the labels -1 and +1, got dtype {arr.dtype}")
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"y must be a non-empty 1-D array of labels ±1, got shape {arr.shape}")
    if not np.all(np.isin(arr, (-1, 1))):
        bad = np.unique(arr[~np.isin(arr, (-1, 1))])[:5]
        raise ValueError(f"y must hold labels in {{-1, +1}} only, got also {bad.tolist()}")
    return torch.as_tensor(arr.astype(np.float64))


def _check_model(model):
    for attr in ("f", "rates", "n_params"):
        if not hasattr(model, attr):
            raise TypeError(f"model must be a QHModel (with f, rates, n_params), got "
                            f"{type(model).__name__}")
    return model


def _data(model, X, y) -> tuple[torch.Tensor, torch.Tensor]:
    _check_model(model)
    y = check_labels(y)
    X = _real(X, "X")
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise ValueError(f"X must have shape (n, d) with n = len(y) = {y.shape[0]}, got "
                         f"{tuple(X.shape)}")
    return X, y


def _real(x, name: str) -> torch.Tensor:
    """A tensor or array of finite reals as a float64 tensor, or an error naming ``name``."""
    return as_tensor(x.detach() if isinstance(x, torch.Tensor) else x, name, dtype=torch.float64)


def _theta(model, theta, name: str = "theta") -> torch.Tensor:
    theta = _real(theta, name)
    if theta.ndim < 1 or theta.shape[-1] != model.n_params:
        raise ValueError(f"{name} must have shape (..., {model.n_params}), got {tuple(theta.shape)}")
    return theta


def norm_mask(model, norm: str = "lambda_max") -> np.ndarray:
    """(P,) bool: the parameters the programme's norm charges (λ_j = λ_max, or all)."""
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    rates = np.asarray(_check_model(model).rates, dtype=np.float64)
    return np.ones(rates.shape, bool) if norm == "euclidean" else rates == rates.max()


# --- margins and the scaling --------------------------------------------------------------------
def margins(model, X, y, theta) -> torch.Tensor:
    """q_i(θ) = y_i f(x_i; θ), (..., n) for θ (..., P)."""
    X, y = _data(model, X, y)
    return y * model.f(X, _theta(model, theta))


def normalise(model, X, y, theta) -> torch.Tensor:
    """ψ_α(θ) = e^{αΛ}θ with α = −log min_i q_i(θ), so that min_i q_i = 1 (batched over θ's leading dims).

    The book's reconstruction of the theorem's normalisation. ValueError if θ does not separate
    the data (min_i q_i ≤ 0) for some configuration.
    """
    theta = _theta(_check_model(model), theta).detach()
    with torch.no_grad():
        qmin = margins(model, X, y, theta).min(-1).values
    if torch.any(~(qmin > 0)):
        raise ValueError(f"theta does not separate the data (min_i y_i f(x_i; θ) ≤ 0 for "
                         f"{int((~(qmin > 0)).sum())} of {qmin.numel()} configurations): the "
                         f"normalisation needs min_i q_i > 0")
    lam = torch.as_tensor(np.asarray(model.rates, dtype=np.float64))
    return theta * torch.exp(-torch.log(qmin)[..., None] * lam)


def canonical(model, theta) -> torch.Tensor:
    """θ with the sign symmetry (u_k, v_k) → (−u_k, −v_k) of a mixed-depth model fixed to v_k ≥ 0.

    f depends on u ⊙ v only through the product, so a flow and a solver can end on either of
    two mirror points; angles are measured between canonical representatives. Models without
    groups ``u`` and ``v`` are returned unchanged.
    """
    _check_model(model)
    theta = _theta(model, theta).detach().clone()
    names = [g[0] for g in getattr(model, "groups", ())]
    if "u" in names and "v" in names and hasattr(model, "offsets"):
        u, v = model.offsets["u"], model.offsets["v"]
        sign = torch.where(theta[..., v] < 0, -1.0, 1.0).to(theta.dtype)
        theta[..., u] *= sign
        theta[..., v] *= sign
    return theta


def angle(model, X, y, theta_a, theta_b) -> np.ndarray:
    """The angle in degrees between θ_a and θ_b, each normalised to min_i q_i = 1 and made
    :func:`canonical` (broadcast over leading dimensions)."""
    _check_model(model)
    theta_a, theta_b = _theta(model, theta_a, "theta_a"), _theta(model, theta_b, "theta_b")
    a = canonical(model, normalise(model, X, y, theta_a))
    b = canonical(model, normalise(model, X, y, theta_b))
    cos = (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1))
    return np.degrees(np.arccos(np.clip(cos.numpy(), -1.0, 1.0)))


def jacobian(model, X, y, theta) -> torch.Tensor:
    """∂q_i/∂θ_j, (..., n, P) for θ (..., P), by autograd in one backward pass.

    θ is repeated n times along a new axis, the i-th copy is differentiated through q_i only
    (the diagonal of the (..., n, n) margins), so the gradient of the copies is the Jacobian.
    """
    X, y = _data(model, X, y)
    theta = _theta(model, theta).detach()
    n = X.shape[0]
    rep = theta[..., None, :].expand(*theta.shape[:-1], n, theta.shape[-1]).clone()
    rep.requires_grad_(True)
    q = y * model.f(X, rep)
    (J,) = torch.autograd.grad(torch.diagonal(q, dim1=-2, dim2=-1).sum(), rep)
    return J


# --- KKT residuals ------------------------------------------------------------------------------
@dataclass(frozen=True)
class KKTResiduals:
    """The KKT residuals of θ (batched: every field has θ's leading shape, or that shape + (n,)/(P,)).

    ``theta``: θ normalised to min_i q_i = 1; ``q``: its margins; ``mu``: the multipliers, by
    non-negative least squares on the stationarity equations; ``stationarity``:
    ‖θ_max − J_maxᵀμ‖ ⊕ ‖J_otherᵀμ‖ divided by ‖θ_max‖; ``complementary``: Σ_i μ_i (q_i − 1) ≥ 0;
    ``feasibility``: max_i (1 − q_i)⁺ (0 up to rounding after the normalisation); ``seminorm``:
    ‖θ_max‖; ``euler_gap``: |Σ μ_i − λ_max‖θ_max‖²| / (λ_max‖θ_max‖²), zero at a KKT point.
    """

    theta: np.ndarray
    q: np.ndarray
    mu: np.ndarray
    stationarity: np.ndarray
    complementary: np.ndarray
    feasibility: np.ndarray
    seminorm: np.ndarray
    euler_gap: np.ndarray


def kkt_residuals(model, X, y, theta, *, norm: str = "lambda_max") -> KKTResiduals:
    """The KKT residuals of the max-margin programme at θ (..., P), after normalising θ.

    The book's reconstruction: μ = argmin_{μ ≥ 0} ‖Aμ − b‖² + Σ_i (μ_i(q_i − 1)/‖θ_max‖)² with
    A = Jᵀ (P × n, J = ∂q/∂θ at the normalised θ) and b = (θ_j for charged j, 0 for the others)
    (scipy ``nnls``; the slackness rows, in the units of the first, pick among multipliers that
    fit stationarity equally well those on the active constraints — without them a degenerate
    stationarity system, such as u = v in the toy, lets ``nnls`` put weight on inactive points).
    The stationarity residual is ‖Aμ − b‖/‖θ_max‖, the complementary one Σ_i μ_i(q_i − 1). ``norm="euclidean"``: every parameter is charged
    (Lyu & Li's programme).
    """
    from scipy.optimize import nnls

    mask = norm_mask(model, norm)
    th = normalise(model, X, y, theta)
    lead = th.shape[:-1]
    flat = th.reshape(-1, th.shape[-1])
    J = jacobian(model, X, y, flat).numpy()
    q = margins(model, X, y, flat).detach().numpy()
    t = flat.numpy()
    lam_max = float(np.asarray(model.rates)[mask].max())
    mus, stat, comp, semi, gap = [], [], [], [], []
    for k in range(t.shape[0]):
        b = np.where(mask, t[k], 0.0)
        s = float(np.linalg.norm(b))
        slack = np.diag(q[k] - 1.0) / max(s, 1e-300)       # μ_i(q_i − 1) rows, in units of θ
        mu, _ = nnls(np.vstack([J[k].T, slack]), np.concatenate([b, np.zeros(q.shape[1])]),
                     maxiter=50 * J.shape[1])
        mus.append(mu)
        stat.append(float(np.linalg.norm(J[k].T @ mu - b)) / s if s > 0 else np.inf)
        comp.append(float(mu @ (q[k] - 1.0)))
        semi.append(s)
        gap.append(abs(mu.sum() - lam_max * s**2) / (lam_max * s**2) if s > 0 else np.inf)
    shape = tuple(lead)
    return KKTResiduals(theta=t.reshape(*shape, -1), q=q.reshape(*shape, -1),
                        mu=np.array(mus).reshape(*shape, -1),
                        stationarity=np.array(stat).reshape(shape),
                        complementary=np.array(comp).reshape(shape),
                        feasibility=np.maximum(1.0 - q.min(-1), 0.0).reshape(shape),
                        seminorm=np.array(semi).reshape(shape), euler_gap=np.array(gap).reshape(shape))


# --- the programme, solved ----------------------------------------------------------------------
@dataclass(frozen=True)
class MaxMarginSolution:
    """The best of several seeded SLSQP starts on min ½‖θ‖²_norm s.t. q_i ≥ 1.

    ``theta`` (P,): the solution; ``value``: ½‖θ_max‖² there; ``values``/``feasible``: every
    start's value and whether it ended feasible (min_i q_i ≥ 1 − 1e-7); ``kkt``: its residuals.
    """

    theta: np.ndarray
    value: float
    values: np.ndarray
    feasible: np.ndarray
    kkt: KKTResiduals
    norm: str


def _slsqp(fun, jac, cons, x0, maxiter):
    from scipy.optimize import minimize

    return minimize(fun, x0, jac=jac, method="SLSQP", constraints=cons,
                    options={"maxiter": maxiter, "ftol": 1e-14})


def solve_max_margin(model, X, y, *, norm: str = "lambda_max", n_starts: int = 8, seed: int = 0,
                     init_scale: float = 1.0, maxiter: int = 500,
                     tie_break: bool = True) -> MaxMarginSolution:
    """Solve min ½‖θ‖²_{Λmax} s.t. y_i f(x_i; θ) ≥ 1 directly (the book's reconstruction of the theorem).

    SLSQP (scipy) in float64 with analytic gradients (autograd: the objective's is θ on the charged
    parameters, the constraints' is the Jacobian ∂q/∂θ), from ``n_starts`` seeded Gaussian starts
    (std ``init_scale``; a start that separates the data is first normalised to min q = 1). The
    programme charges only the highest-rate parameters, so its minimisers can form a set (for
    a·x₁ + u·v·x₂ only the product uv is fixed): with ``tie_break`` a second SLSQP solve picks,
    among the points of the best value, the one of least ‖θ_rest‖ over the other parameters of
    positive rate (rate-0 ones are scale-invariant and have no least representative; for that toy the balanced
    u = v, the point gradient flow reaches: u² − v² is conserved and the normalisation sends
    it to 0). ValueError when no start reaches the constraint set: the data are not separable
    by the model (from these starts).
    """
    X, y = _data(model, X, y)
    mask = norm_mask(model, norm)
    n_starts = check_scalar(n_starts, "n_starts", kind="int", min=1)
    seed = check_seed(seed, "seed")
    init_scale = check_scalar(init_scale, "init_scale", min=0.0, include_min=False)
    maxiter = check_scalar(maxiter, "maxiter", kind="int", min=1)
    m = mask.astype(np.float64)

    def q_np(t):
        with torch.no_grad():
            return margins(model, X, y, torch.from_numpy(t)).numpy() - 1.0

    def J_np(t):
        return jacobian(model, X, y, torch.from_numpy(t)).numpy()

    cons = [{"type": "ineq", "fun": q_np, "jac": J_np}]
    P = int(model.n_params)
    results = []
    for k in range(n_starts):
        rng = np.random.default_rng(config_seed(seed, k, "max_margin_start", P))
        x0 = init_scale * rng.standard_normal(P)
        if q_np(x0).min() > -1.0:
            x0 = normalise(model, X, y, torch.from_numpy(x0)).numpy()
        r = _slsqp(lambda t: 0.5 * float(np.sum(m * t * t)), lambda t: m * t, cons, x0, maxiter)
        results.append((r.x, 0.5 * float(np.sum(m * r.x**2)), bool(q_np(r.x).min() >= -1e-7)))
    values = np.array([v for _, v, _ in results])
    feasible = np.array([f for _, _, f in results])
    if not feasible.any():
        best_q = max(q_np(x).min() + 1.0 for x, _, _ in results)
        raise ValueError(f"X, y: the data are not separable by the model {getattr(model, 'name', '')}"
                         f" (no start of {n_starts} reached min_i y_i f(x_i) ≥ 1; best min margin "
                         f"{best_q:.3g})")
    k = int(np.argmin(np.where(feasible, values, np.inf)))
    theta, value = results[k][0], values[k]
    rest = ((~mask) & (np.asarray(model.rates) > 0)).astype(np.float64)
    if check_bool(tie_break, "tie_break") and rest.any():
        cons2 = cons + [{"type": "ineq", "fun": lambda t: value * (1 + 1e-9) + 1e-14
                         - 0.5 * np.sum(m * t * t), "jac": lambda t: -m * t}]
        r = _slsqp(lambda t: 0.5 * float(np.sum(rest * t * t)), lambda t: rest * t, cons2,
                   theta, maxiter)
        if q_np(r.x).min() >= -1e-7 and 0.5 * np.sum(m * r.x**2) <= value * (1 + 1e-7) + 1e-12:
            theta = r.x
    kkt = kkt_residuals(model, X, y, torch.from_numpy(theta), norm=norm)
    return MaxMarginSolution(theta=kkt.theta, value=0.5 * float(kkt.seminorm**2), values=values,
                             feasible=feasible, kkt=kkt, norm=norm)


# --- data ---------------------------------------------------------------------------------------
def theorem_data(n: int = 16, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The book's data for the theorem's toy a·x₁ + u·v·x₂: X (n, 2), y (n,) = ±1 alternating.

    With z_i = y_i x_i: z_{i1} ~ U(1.2, 2.2) and z_{i2} ~ U(−0.6, 0.6), except point 0,
    z = (0.5, 0.3) (small margin along x₁, helped by x₂), and point 1, z = (1, −0.5) (hurt by x₂).
    So x₁ alone separates, x₂ alone does not, and the best margin uses both: the highest-rate
    parameter a is needed and min ½a² is not degenerate. Its solution is at the vertex of points
    0 and 1: w̄ = uv/a = 5/8, margin 11/16, a* = 16/11, (uv)* = 10/11; the Euclidean programme
    min ½(a² + u² + v²) instead slides along point 0's constraint to a = 5/3, uv = 5/9.
    """
    n = check_scalar(n, "n", kind="int", min=2)
    seed = check_seed(seed, "seed")
    check_memory(4 * array_bytes(n, 2), f"{n} data points", hint="reduce n")
    rng = np.random.default_rng(config_seed(seed, "theorem_data", n))
    z = np.stack([rng.uniform(1.2, 2.2, n), rng.uniform(-0.6, 0.6, n)], axis=1)
    z[0], z[1] = (0.5, 0.3), (1.0, -0.5)
    y = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    return y[:, None] * z, y
