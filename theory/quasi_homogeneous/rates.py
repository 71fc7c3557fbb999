"""Λ found from an architecture, and the Λ-seminorm's growth along gradient flow (numerical).

All of it the book's reconstruction (the paper's definitions could not be read).

**Rates from the Euler identity.** A model is Λ-quasi-homogeneous with one rate λ_g per parameter
group g exactly when the generalised Euler identity

    Σ_g λ_g (θ_g · ∂f/∂θ_g)(x; θ) = f(x; θ)          for every x and θ

holds (differentiate f(x; e^{αΛ}θ) = e^{α} f(x; θ) at α = 0 for one direction; integrate the ODE
d/dα f(e^{αΛ}θ) = f(e^{αΛ}θ) for the other). Over random inputs and parameters this is a linear
system A λ = b, A[s, g] = θ_g·∂_g f(x_s; θ_s), b[s] = f(x_s; θ_s). :func:`find_rates` solves it
with λ ≥ 0 (``scipy.optimize.nnls``), reports the relative residual ‖Aλ − b‖/‖b‖ (zero to float64
precision for a quasi-homogeneous architecture, order one otherwise) and the dimension of the
solution set, dim null(A). Λ is not unique when there are rescaling symmetries: every ν ∈ null(A)
is a direction Σ_g ν_g θ_g·∂_g f ≡ 0 — a bias-free deep linear net takes any per-layer rates with
Σ_l λ_l = 1 — and each such ν gives a quantity conserved by gradient flow, Σ_g ν_g ‖θ_g‖². The
**canonical member** (a convention of the book): groups that can be rescaled on their own without
changing f (a direction ν ≥ 0 of the family: a scale-invariant block, e.g. every layer before a
normalisation) get rate 0; then the smallest remaining rate is made as large as possible, ties
broken by the least ‖λ‖. It gives Λ = I/L for a homogeneous net of depth L, λ(W_l) = 1/L,
λ(b_l) = l/L for an MLP with biases, and 0 before a normalisation layer.

**Seminorm growth.** Along θ̇ = −∇L, L = Σ_i exp(−q_i), q_i = y_i f(x_i; θ),
d/dt ½‖θ‖²_Λ = Σ_i e^{−q_i} q_i (``derivation.seminorm_growth``). :func:`seminorm_trajectory`
integrates the flow (RK4, batched over parameter vectors) and measures both sides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import torch
from scipy.optimize import linprog, minimize, nnls

from theory.core import array_bytes, as_array, check_memory, check_seed, check_scalar, config_seed, torch_generator
from theory.quasi_homogeneous.models import QHModel, mlp

__all__ = ["RateFit", "SeminormTrajectory", "euler_design", "euler_residual", "find_rates",
           "homogeneity_residual", "rate_table", "seminorm_figure", "seminorm_trajectory", "tanh_mlp"]


def _check_model(model) -> QHModel:
    if not isinstance(model, QHModel):
        raise TypeError(f"model must be a QHModel (theory.quasi_homogeneous.models), got "
                        f"{type(model).__name__}")
    return model


def _group_rates_vector(model: QHModel, rates) -> np.ndarray:
    """Per-group rates (dict name → λ, or a (G,) sequence, or None: the model's own) → (G,)."""
    names = [n for n, _ in model.groups]
    if rates is None:
        lam = np.array([model.group_rates[n] for n in names])
    elif isinstance(rates, dict):
        if set(rates) != set(names):
            raise ValueError(f"rates must give a rate for exactly the groups {names}")
        lam = np.array([float(rates[n]) for n in names])
    else:
        lam = np.asarray(rates, dtype=np.float64)
        if lam.shape != (len(names),):
            raise ValueError(f"rates must have one entry per group ({len(names)}), got shape "
                             f"{lam.shape}")
    if not np.all(np.isfinite(lam)):
        raise ValueError("rates must be finite")
    if np.any(lam < 0):
        raise ValueError(f"rates must be >= 0 (a diagonal Λ of non-negative rates), got {lam}")
    return lam


def _draws(model: QHModel, n_inputs: int, n_draws: int, seed: int, scale: float):
    gen = torch_generator(config_seed(seed, "qh_rates_inputs", model.name))
    X = torch.randn(n_inputs, model.d_in, generator=gen, dtype=torch.float64)
    theta = model.init(n_draws, seed=config_seed(seed, "qh_rates_theta"), scale=scale)
    return X, theta


def euler_design(model, X, theta) -> tuple[np.ndarray, np.ndarray]:
    """The Euler system: A (S·n·k, G) with A[(s,i,o), g] = θ_g·∂_g f_o(x_i; θ_s), b = f (S·n·k,).

    ``theta`` (S, P), ``X`` (n, d_in); per-sample gradients by autograd (the draws are independent,
    so the gradient of Σ_s f(x_i; θ_s) holds each one's).
    """
    model = _check_model(model)
    if not isinstance(theta, torch.Tensor) or theta.ndim != 2:
        raise ValueError("theta must be a 2-D tensor (S, P) of parameter draws")
    theta = theta.detach().to(torch.float64).clone().requires_grad_(True)
    out = model.f(X, theta)                                   # (S, n) or (S, n, k)
    out = out.reshape(out.shape[0], -1)
    rows = []
    for i in range(out.shape[1]):
        (g,) = torch.autograd.grad(out[:, i].sum(), theta, retain_graph=i + 1 < out.shape[1])
        tg = (theta * g).detach()
        rows.append(torch.stack([tg[:, sl].sum(-1) for sl in model.offsets.values()], dim=-1))
    A = torch.stack(rows, dim=1).reshape(-1, len(model.groups)).numpy()
    b = out.detach().reshape(-1).numpy()
    return A, b


def _nice(v: float, tol: float = 1e-7) -> str:
    fr = Fraction(v).limit_denominator(64)
    return str(fr) if abs(float(fr) - v) <= tol else f"{v:.6g}"


@dataclass
class RateFit:
    """The rates found for one architecture (per group, in the model's group order)."""

    groups: tuple
    nnls: np.ndarray          # a non-negative solution (scipy nnls)
    nnls_residual: float      # ‖Aλ − b‖ / ‖b‖ at it
    canonical: np.ndarray     # the canonical member (see the module docstring)
    canonical_residual: float
    null_dim: int             # dim null(A): the solution set's dimension (0: Λ unique)
    family: np.ndarray        # (null_dim, G) a basis of null(A), in reduced row-echelon form
    invariant: tuple          # groups with a pure rescaling symmetry (rate 0 in the canonical member)
    singular_values: np.ndarray = field(repr=False, default=None)

    @property
    def names(self):
        return [n for n, _ in self.groups]

    def as_dict(self, which: str = "canonical") -> dict:
        lam = {"canonical": self.canonical, "nnls": self.nnls}[which]
        return dict(zip(self.names, (float(x) for x in lam)))

    def describe(self) -> str:
        """The canonical rates as fractions and the family λ + Σ c_k ν_k in words."""
        lines = ["Λ = " + ", ".join(f"λ({n}) = {_nice(v)}" for n, v in zip(self.names, self.canonical))]
        if self.null_dim == 0:
            lines.append("unique (no rescaling symmetry)")
        for nu in self.family:
            terms = " ".join(f"{'+' if v > 0 else '−'}{_nice(abs(v)) if abs(abs(v) - 1) > 1e-7 else ''}"
                             f"{n}" for n, v in zip(self.names, nu) if abs(v) > 1e-9)
            lines.append(f"plus any multiple of ({terms}) keeping λ ≥ 0; conserved by the flow: "
                         + " ".join(f"{'+' if v > 0 else '−'}{_nice(abs(v)) if abs(abs(v) - 1) > 1e-7 else ''}"
                                    f"‖{n}‖²" for n, v in zip(self.names, nu) if abs(v) > 1e-9))
        return "\n".join(lines)


def _rref(M: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    M = M.copy()
    r = 0
    for c in range(M.shape[1]):
        if r == M.shape[0]:
            break
        p = r + int(np.argmax(np.abs(M[r:, c])))
        if abs(M[p, c]) < tol:
            continue
        M[[r, p]] = M[[p, r]]
        M[r] /= M[r, c]
        for i in range(M.shape[0]):
            if i != r:
                M[i] -= M[i, c] * M[r]
        r += 1
    M[np.abs(M) < tol] = 0.0
    return M[:r]


def _canonical(lam0: np.ndarray, N: np.ndarray, tol: float):
    """The canonical member of {λ0 + N c} ∩ {λ ≥ 0}; N (G, k). Returns (λ, invariant mask)."""
    G, k = N.shape
    if k == 0:                      # unique: the least-squares solution, if it is non-negative
        lam = lam0.copy()
        lam[np.abs(lam) < tol] = 0.0
        if np.any(lam < 0):
            raise ValueError("the unique solution of the Euler system has a negative rate")
        return lam, np.zeros(G, bool)
    bounds = [(None, None)] * k
    # 1. scale-invariant groups: the union of the supports of the directions ν = N c ≥ 0 (a cone),
    #    found as max Σ_g s_g over 0 ≤ s_g ≤ min(1, ν_g), 0 ≤ ν ≤ 10³ (variables c, s).
    big = 1e3
    res = linprog(np.r_[np.zeros(k), -np.ones(G)],
                  A_ub=np.block([[-N, np.zeros((G, G))], [N, np.zeros((G, G))], [-N, np.eye(G)]]),
                  b_ub=np.r_[np.zeros(G), np.full(G, big), np.zeros(G)],
                  bounds=bounds + [(0.0, 1.0)] * G, method="highs")
    inv = (res.x[k:] > 1e-6) if res.success else np.zeros(G, bool)
    free = ~inv
    # 2. maximise t subject to λ0 + Nc ≥ t on the other groups, = 0 on the invariant ones.
    c_obj = np.r_[np.zeros(k), -1.0]
    A_ub = np.vstack([np.c_[-N[free], np.ones(free.sum())], np.c_[-N[inv], np.zeros(inv.sum())]])
    b_ub = np.r_[lam0[free], lam0[inv]]
    A_eq = np.c_[N[inv], np.zeros(inv.sum())] if inv.any() else None
    b_eq = -lam0[inv] if inv.any() else None
    res = linprog(c_obj, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq,
                  bounds=bounds + [(None, None)], method="highs")
    if not res.success:
        raise ValueError("no non-negative rates solve the Euler system (the model is not "
                         "quasi-homogeneous with one rate per group)")
    t_star = res.x[-1]
    # 3. the least ‖λ‖ among the maximin solutions.
    cons = [{"type": "ineq", "fun": lambda c: (lam0 + N @ c)[free] - t_star + 1e-12}]
    if inv.any():
        cons.append({"type": "eq", "fun": lambda c: (lam0 + N @ c)[inv]})
    sol = minimize(lambda c: np.sum((lam0 + N @ c) ** 2), res.x[:k], jac=lambda c: 2 * N.T @ (lam0 + N @ c),
                   constraints=cons, method="SLSQP", options={"ftol": 1e-15, "maxiter": 500})
    c = sol.x if sol.success else res.x[:k]
    lam = lam0 + N @ c
    lam[np.abs(lam) < tol] = 0.0
    return np.clip(lam, 0.0, None), inv


def find_rates(model, *, n_inputs: int = 8, n_draws: int = 16, seed: int = 0, scale: float = 1.0,
               rank_tol: float = 1e-9) -> RateFit:
    """Solve Σ_g λ_g θ_g·∂_g f = f for one rate per group over random inputs and parameters.

    The model's declared rates are not used (only its forward pass and groups). Inputs N(0, I),
    parameters from ``model.init(n_draws, scale=scale)``. ``rank_tol``: singular values of A (with
    unit-norm columns) below ``rank_tol`` × the largest count as zero. The book's reconstruction.
    """
    model = _check_model(model)
    n_inputs = check_scalar(n_inputs, "n_inputs", kind="int", min=1)
    n_draws = check_scalar(n_draws, "n_draws", kind="int", min=1)
    check_memory(4 * array_bytes(n_inputs, n_draws, model.n_params), f"{n_inputs} inputs × {n_draws} draws",
                 hint="reduce n_inputs or n_draws")
    seed = check_seed(seed, "seed")
    scale = check_scalar(scale, "scale", min=0.0, include_min=False)
    rank_tol = check_scalar(rank_tol, "rank_tol", min=0.0, max=1.0, include_min=False)
    X, theta = _draws(model, n_inputs, n_draws, seed, scale)
    A, b = euler_design(model, X, theta)
    nb = np.linalg.norm(b)
    if nb == 0:
        raise ValueError("f vanished on every random draw: no rates can be identified")
    col = np.linalg.norm(A, axis=0)
    scaled_cols = np.where(col > 0, col, 1.0)
    _, s, Vt = np.linalg.svd(A / scaled_cols, full_matrices=True)
    rank = int(np.sum(s > rank_tol * s.max())) if s.size and s.max() > 0 else 0
    G = A.shape[1]
    N = (Vt[rank:].T / scaled_cols[:, None])                # null(A) in the original coordinates
    family = _rref(N.T) if N.shape[1] else np.zeros((0, G))
    lam_nn, _ = nnls(A, b)
    lam0 = np.linalg.lstsq(A, b, rcond=None)[0]
    try:
        lam_c, inv = _canonical(lam0, family.T if family.size else np.zeros((G, 0)), tol=1e-9)
    except ValueError:              # not quasi-homogeneous: no member; report the nnls solution
        lam_c, inv = lam_nn.copy(), np.zeros(G, bool)
    resid = lambda lam: float(np.linalg.norm(A @ lam - b) / nb)  # noqa: E731
    names = [n for n, _ in model.groups]
    return RateFit(groups=model.groups, nnls=lam_nn, nnls_residual=resid(lam_nn), canonical=lam_c,
                   canonical_residual=resid(lam_c), null_dim=G - rank, family=family,
                   invariant=tuple(n for n, m in zip(names, inv) if m), singular_values=s)


def euler_residual(model, rates=None, *, n_inputs: int = 8, n_draws: int = 16, seed: int = 1,
                   scale: float = 1.0) -> float:
    """max |Σ_g λ_g θ_g·∂_g f − f| / max |f| on fresh random inputs and parameters.

    ``rates``: per group (a dict or a (G,) sequence; default the model's own). Zero to float64
    precision when the rates are valid. The book's reconstruction.
    """
    model = _check_model(model)
    lam = _group_rates_vector(model, rates)
    n_inputs = check_scalar(n_inputs, "n_inputs", kind="int", min=1)
    n_draws = check_scalar(n_draws, "n_draws", kind="int", min=1)
    seed = check_seed(seed, "seed")
    scale = check_scalar(scale, "scale", min=0.0, include_min=False)
    X, theta = _draws(model, n_inputs, n_draws, seed, scale)
    A, b = euler_design(model, X, theta)
    return float(np.max(np.abs(A @ lam - b)) / np.max(np.abs(b)))


def homogeneity_residual(model, rates=None, *, alphas=(-2.0, -0.5, 0.5, 2.0), n_inputs: int = 8,
                         n_draws: int = 16, seed: int = 2, scale: float = 1.0) -> float:
    """max over α of |f(x; e^{αΛ}θ) − e^{α} f(x; θ)| / (e^{α} max |f|), on random draws."""
    model = _check_model(model)
    lam = _group_rates_vector(model, rates)
    alphas = as_array(alphas, "alphas", ndim=1, nonempty=True)
    if alphas.ndim != 1 or alphas.size == 0 or not np.all(np.isfinite(alphas)):
        raise ValueError("alphas must be a non-empty 1-D sequence of finite numbers")
    X, theta = _draws(model, check_scalar(n_inputs, "n_inputs", kind="int", min=1),
                      check_scalar(n_draws, "n_draws", kind="int", min=1),
                      check_seed(seed, "seed"),
                      check_scalar(scale, "scale", min=0.0, include_min=False))
    per_param = torch.as_tensor(np.concatenate([np.full(s, l) for s, l in zip(model.sizes, lam)]))
    f0 = model.f(X, theta)
    worst = 0.0
    for a in alphas:
        fa = model.f(X, theta * torch.exp(float(a) * per_param))
        worst = max(worst, float((fa - np.exp(a) * f0).abs().max() / (np.exp(a) * f0.abs().max())))
    return worst


# --- the seminorm along gradient flow ------------------------------------------------------------
def _check_labels(X, y, model):
    from theory.quasi_homogeneous.maxmargin import _real, check_labels

    X = _real(X, "X")
    if X.ndim != 2 or X.shape[1] != model.d_in or X.shape[0] == 0:
        raise ValueError(f"X must be an (n, {model.d_in}) array with n >= 1, got shape {tuple(X.shape)}")
    y = check_labels(y)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},), got {tuple(y.shape)}")
    if not torch.all((y == 1) | (y == -1)):
        raise ValueError("y must hold labels ±1 only")
    return X.to(torch.float64), y


@dataclass
class SeminormTrajectory:
    """Gradient flow on Σ exp(−q_i), recorded: times (T,), θ (T, S, P) and the measured sides."""

    t: np.ndarray
    theta: np.ndarray
    seminorm: np.ndarray       # ½‖θ‖²_Λ, (T, S)
    rhs: np.ndarray            # Σ_i e^{−q_i} q_i, (T, S)
    growth_exact: np.ndarray   # θᵀΛθ̇ with θ̇ = −∇L at the recorded points, (T, S)
    growth_fd: np.ndarray      # central difference of ½‖θ‖²_Λ along the path, (T−2, S)
    conserved: np.ndarray      # ½Σ_g ν_g‖θ_g‖² for each family direction ν, (T, S, null_dim)
    loss: np.ndarray           # (T, S)
    integral: np.ndarray       # ∫_0^t Σ e^{−q}q dt′ integrated with the flow (same RK4), (T, S)
    margins: np.ndarray        # q_i = y_i f(x_i; θ), (T, S, n)

    def pointwise_error(self) -> float:
        """max |θᵀΛθ̇ − Σ e^{−q}q| / max |Σ e^{−q}q|: the identity at each point (float64)."""
        return float(np.max(np.abs(self.growth_exact - self.rhs)) / np.max(np.abs(self.rhs)))

    def path_error(self) -> float:
        """max |Δ(½‖θ‖²_Λ)/Δt − Σ e^{−q}q| / max |Σ e^{−q}q| along the integrated path (O(dt²))."""
        return float(np.max(np.abs(self.growth_fd - self.rhs[1:-1])) / np.max(np.abs(self.rhs)))

    def integral_error(self) -> float:
        """max_t |½‖θ(t)‖²_Λ − ½‖θ(0)‖²_Λ − ∫_0^t Σ e^{−q}q| / max_t |½‖θ(t)‖²_Λ − ½‖θ(0)‖²_Λ|.

        The integral is carried by the same RK4 steps as θ, so the gap is the integrator's
        error, O(dt⁴) on smooth stretches (O(dt) at a crossed ReLU kink).
        """
        change = self.seminorm - self.seminorm[:1]
        return float(np.max(np.abs(change - self.integral)) / np.max(np.abs(change)))

    def conserved_drift(self) -> float:
        """max |Q_ν(t) − Q_ν(0)| / max(½‖θ‖²) over the family directions (0 when there are none)."""
        if self.conserved.shape[-1] == 0:
            return 0.0
        # relative to the size of the parameters at the start
        return float(np.max(np.abs(self.conserved - self.conserved[:1]))
                     / np.max(0.5 * np.sum(self.theta**2, -1)))


def seminorm_trajectory(model, X, y, theta0, *, t_end: float = 2.0, steps: int = 2000,
                        record_every: int = 20, rates=None, family=None) -> SeminormTrajectory:
    """Integrate θ̇ = −∇L, L = Σ_i exp(−y_i f(x_i; θ)), by RK4 and record ½‖θ‖²_Λ against Σe^{−q}q.

    ``theta0`` (S, P): S trajectories at once. ``rates``: per group (default the model's).
    ``family``: (k, G) directions ν whose ½Σ_g ν_g‖θ_g‖² should be conserved (e.g.
    ``find_rates(model).family``). The book's reconstruction: d/dt ½‖θ‖²_Λ = Σ_i e^{−q_i} q_i.
    """
    model = _check_model(model)
    X, y = _check_labels(X, y, model)
    lam = _group_rates_vector(model, rates)
    if not isinstance(theta0, torch.Tensor) or theta0.ndim != 2 or theta0.shape[1] != model.n_params:
        raise ValueError(f"theta0 must be a tensor of shape (S, {model.n_params})")
    t_end = check_scalar(t_end, "t_end", min=0.0, include_min=False)
    steps = check_scalar(steps, "steps", kind="int", min=2)
    record_every = check_scalar(record_every, "record_every", kind="int", min=1, max=steps)
    G = len(model.groups)
    fam = np.zeros((0, G)) if family is None else np.asarray(family, dtype=np.float64)
    if fam.ndim != 2 or fam.shape[1] != G:
        raise ValueError(f"family must have shape (k, {G})")
    expand = lambda v: torch.as_tensor(np.concatenate(  # noqa: E731
        [np.full(s, x) for s, x in zip(model.sizes, v)]), dtype=torch.float64)
    lam_p = expand(lam)
    fam_p = torch.stack([expand(v) for v in fam]) if len(fam) else torch.zeros(0, model.n_params,
                                                                                 dtype=torch.float64)
    dt = t_end / steps

    def grad(theta):
        theta = theta.detach().requires_grad_(True)
        q = y * model.f(X, theta)
        loss = torch.exp(-q).sum(-1)
        (g,) = torch.autograd.grad(loss.sum(), theta)
        q = q.detach()
        return g.detach(), (torch.exp(-q) * q).sum(-1), (loss.detach(), q)

    theta = theta0.detach().to(torch.float64).clone()
    integral = torch.zeros(theta.shape[0], dtype=torch.float64)
    rec = {k: [] for k in ("t", "theta", "semi", "rhs", "exact", "cons", "loss", "int", "q")}

    def record(t, theta, g, rhs, loss):
        rec["t"].append(t)
        rec["theta"].append(theta.numpy().copy())
        rec["semi"].append((0.5 * lam_p * theta**2).sum(-1).numpy())
        rec["rhs"].append(rhs.numpy())
        rec["exact"].append((lam_p * theta * (-g)).sum(-1).numpy())
        rec["cons"].append((0.5 * theta[:, None, :]**2 * fam_p).sum(-1).numpy())
        rec["loss"].append(loss[0].numpy())
        rec["q"].append(loss[1].numpy())
        rec["int"].append(integral.numpy().copy())

    g1, r1, loss = grad(theta)
    record(0.0, theta, g1, r1, loss)

    for k in range(1, steps + 1):            # RK4 on (θ, ∫ Σ e^{−q}q dt) together
        g2, r2, _ = grad(theta - 0.5 * dt * g1)
        g3, r3, _ = grad(theta - 0.5 * dt * g2)
        g4, r4, _ = grad(theta - dt * g3)
        theta = theta - dt / 6 * (g1 + 2 * g2 + 2 * g3 + g4)
        integral = integral + dt / 6 * (r1 + 2 * r2 + 2 * r3 + r4)
        g1, r1, loss = grad(theta)
        if not torch.all(torch.isfinite(theta)):
            raise ValueError("the flow diverged: lower t_end/steps (dt) or the initial scale")
        if k % record_every == 0:
            record(k * dt, theta, g1, r1, loss)
    t = np.array(rec["t"])
    semi = np.array(rec["semi"])
    fd = (semi[2:] - semi[:-2]) / (t[2:] - t[:-2])[:, None]
    return SeminormTrajectory(t=t, theta=np.array(rec["theta"]), seminorm=semi,
                              rhs=np.array(rec["rhs"]), growth_exact=np.array(rec["exact"]),
                              growth_fd=fd, conserved=np.array(rec["cons"]), loss=np.array(rec["loss"]),
                              integral=np.array(rec["int"]), margins=np.array(rec["q"]))


# --- tables and the figure for the notebook --------------------------------------------------------
def rate_table(models, **kwargs):
    """One row per model: the canonical rates found, the model's declared rates, the residuals.

    Columns: model, rates (found, as fractions), declared, max |found − declared|, nnls and
    canonical residuals ‖Aλ − b‖/‖b‖, the Euler residual on fresh draws, the homogeneity residual
    max_α |f(e^{αΛ}θ) − e^α f|/(e^α max|f|), the solution set's dimension and the invariant groups.
    ``kwargs`` go to :func:`find_rates`.
    """
    import pandas as pd

    if isinstance(models, QHModel) or not hasattr(models, "__iter__"):
        raise TypeError("models must be a sequence of QHModel")
    models = list(models)
    if not models or not all(isinstance(m, QHModel) for m in models):
        raise TypeError("models must be a non-empty sequence of QHModel")
    rows, fits = [], {}
    for m in models:
        fit = find_rates(m, **kwargs)
        fits[m.name] = fit
        declared = np.array([m.group_rates[n] for n in fit.names])
        rows.append({"model": m.name,
                     "found": ", ".join(f"{n}:{_nice(v)}" for n, v in zip(fit.names, fit.canonical)),
                     "nnls": ", ".join(f"{n}:{_nice(v)}" for n, v in zip(fit.names, fit.nnls)),
                     "declared": ", ".join(f"{n}:{_nice(v)}" for n, v in zip(fit.names, declared)),
                     "max_diff": float(np.max(np.abs(fit.canonical - declared))),
                     "nnls_residual": fit.nnls_residual, "residual": fit.canonical_residual,
                     "euler_fresh": euler_residual(m, fit.canonical),
                     "homogeneity": homogeneity_residual(m, fit.canonical),
                     "null_dim": fit.null_dim, "invariant": " ".join(fit.invariant) or "-"})
    return pd.DataFrame(rows), fits


def seminorm_figure(trajectories: dict, *, title: str = ""):
    """Left: ½‖θ(t)‖²_Λ − ½‖θ(0)‖²_Λ (markers) and ∫_0^t Σ_i e^{−q_i}q_i (lines) per model and seed.
    Right: the family's conserved quantities Q_ν(t) − Q_ν(0) against the seminorm's growth (log)."""
    from theory.core import COLORS, figure

    if not isinstance(trajectories, dict) or not trajectories:
        raise ValueError("trajectories must be a non-empty dict name → SeminormTrajectory")
    bad = [k for k, v in trajectories.items() if not isinstance(v, SeminormTrajectory)]
    if bad:
        raise TypeError(f"trajectories must map names to SeminormTrajectory, not {bad[:3]}")
    if not isinstance(title, str):
        raise TypeError(f"title must be a str, got {type(title).__name__}")
    fig, (ax, bx) = figure(1, 2, width="wide")
    palette = [v for k, v in COLORS.items() if k != "theory"]
    for k, (name, tr) in enumerate(trajectories.items()):
        c = palette[k % len(palette)]
        change = tr.seminorm - tr.seminorm[:1]
        for s in range(change.shape[1]):
            ax.plot(tr.t, tr.integral[:, s], "-", color=c, lw=1,
                    label=rf"{name}: $\int_0^t \sum_i e^{{-q_i}} q_i\,dt'$" if s == 0 else None)
            ax.plot(tr.t[::2], change[::2, s], "o", color=c, ms=3, mfc="none",
                    label=rf"{name}: $\frac{{1}}{{2}}\|\theta(t)\|_\Lambda^2 - \frac{{1}}{{2}}\|\theta(0)\|_\Lambda^2$"
                    if s == 0 else None)
        bx.semilogy(tr.t[1:], np.abs(change[1:]).mean(1), "-", color=c, label=f"{name}: seminorm growth")
        if tr.conserved.shape[-1]:
            drift = np.abs(tr.conserved - tr.conserved[:1]).max(axis=(1, 2))
            bx.semilogy(tr.t[1:], np.maximum(drift[1:], 1e-18), "s", color=c, ms=3,
                        label=rf"{name}: $\max_\nu |Q_\nu(t) - Q_\nu(0)|$")
    ax.set(xlabel="time t", ylabel=r"change of $\frac{1}{2}\|\theta\|_\Lambda^2$", title=title)
    bx.set(xlabel="time t", ylabel="|change| (log scale)", title=r"conserved directions of $\Lambda$'s family")
    ax.legend(fontsize=7)
    bx.legend(fontsize=7, loc="center right")
    return fig


def tanh_mlp(widths=(3, 8, 1), *, readout: bool = False) -> QHModel:
    """A tanh MLP with one hidden layer, f = tanh(W₂ tanh(W₁x + b₁) + b₂) (``readout=False``).

    A negative control: |f| < 1, so f(x; e^{αΛ}θ) = e^{α} f(x; θ) fails for large α whenever
    f ≠ 0, and no rates solve its Euler system. With ``readout=True`` the output is linear,
    f = W₂ tanh(W₁x + b₁) + b₂, and the model *is* quasi-homogeneous with λ = 0 for (W₁, b₁) and 1
    for (W₂, b₂): every network with a linear readout (bias included) is, in this trivial way. It
    carries the ReLU MLP's rates as declared ones only so that it is a :class:`QHModel`;
    :func:`find_rates` ignores them.
    """
    base = mlp(widths)
    if len(base.groups) != 4:
        raise ValueError("widths must be (d_in, hidden, d_out): one hidden layer")
    if not isinstance(readout, bool):
        raise TypeError(f"readout must be a bool, got {type(readout).__name__}")

    def forward(p, X):
        h = torch.tanh(torch.einsum("...ij,nj->...ni", p["W1"], X) + p["b1"][..., None, :])
        out = torch.einsum("...ij,...nj->...ni", p["W2"], h) + p["b2"][..., None, :]
        return out if readout else torch.tanh(out)

    rates = ({"W1": 0.0, "b1": 0.0, "W2": 1.0, "b2": 1.0} if readout else base.group_rates)
    return QHModel(name=("tanh_readout_" if readout else "tanh_") + base.name.replace("_relu", ""),
                   groups=base.groups, group_rates=rates, forward=forward, d_in=base.d_in,
                   d_out=base.d_out, init_std=base.init_std)
