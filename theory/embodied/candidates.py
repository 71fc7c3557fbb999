"""Candidate artificial animals of rising sophistication, each returning a
:class:`~theory.embodied.data.Trajectory` in a given rectangular arena on the book's grid ``dt``.

1. :func:`brownian` — an isotropic random walk with reflecting walls, matched in mean speed;
2. :func:`ratinabox_default` — RatInABox's default smooth random motion (an Ornstein–Uhlenbeck
   speed and rotational-velocity process with wall repulsion and thigmotaxis, whose defaults its
   code says were fitted to Sargolini et al.'s data);
3. :func:`fit_policy` — an autoregressive policy of speed and heading change with wall terms,
   fitted here by maximum likelihood to half of a real recording (behavioural cloning);
4. :func:`forager` — a reward-optimal forager: runs straight to each reward at constant speed
   (best at the task, not animal-like).

The paper (Zador et al. 2023) names no candidates: these four and their models are the book's
reconstruction of its embodied Turing test. Every sampler takes an int ``seed`` and draws from
``numpy.random.default_rng(config_seed(<candidate>, seed))``, so a seed gives the same path in any
process; RatInABox draws from numpy's global generator, which :func:`ratinabox_default` seeds and
restores.
"""

from __future__ import annotations

import bisect
import contextlib
import math
from dataclasses import dataclass, field

import numpy as np

from theory.core import array_bytes, check_memory, check_scalar, check_seed, config_seed
from theory.embodied.data import DT, Trajectory, _check_arena, resample

__all__ = ["ARPolicy", "Brownian", "brownian", "fit_policy", "forager", "ratinabox_default"]

_RAYLEIGH_MEAN = math.sqrt(math.pi / 2)   # E|ξ| for ξ ~ N(0, I_2)


def _seed(seed) -> int:
    return check_seed(seed)


def _duration(T_s, dt) -> int:
    T_s = check_scalar(T_s, "T_s", min=0.0, include_min=False)
    n = int(round(T_s / dt)) + 1
    if n < 2:
        raise ValueError(f"T_s = {T_s} s is shorter than one step dt = {dt} s")
    check_memory(array_bytes(n, 2) * 8, f"a trajectory of T_s = {T_s:g} s at dt = {dt:g} s ({n} steps)",
                 hint="reduce T_s")
    return n


def _start(start, arena, rng) -> np.ndarray:
    xmin, xmax, ymin, ymax = arena
    if start is None:
        return np.array([rng.uniform(xmin, xmax), rng.uniform(ymin, ymax)])
    p = np.asarray(start, dtype=np.float64)
    if p.shape != (2,) or not np.all(np.isfinite(p)) or not (xmin <= p[0] <= xmax and ymin <= p[1] <= ymax):
        raise ValueError(f"start must be a finite point (x, y) inside the arena {arena}, got {start!r}")
    return p


def _reflect(v: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Fold ``v`` into [lo, hi] by mirror reflections at both ends (any number of them)."""
    w = hi - lo
    u = np.mod(v - lo, 2 * w)
    return lo + np.where(u > w, 2 * w - u, u)


def _check_traj(traj, name="traj") -> Trajectory:
    if not isinstance(traj, Trajectory):
        raise TypeError(f"{name} must be a Trajectory, got {type(traj).__name__}")
    return traj


# --------------------------------------------------------------------------------------------
# 1. Brownian walker
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Brownian:
    """Isotropic Gaussian steps ``x_{k+1} = R(x_k + σ ξ_k)``, ``ξ_k ~ N(0, I_2)``, with ``R`` the
    mirror reflection at the walls. Its mean step speed is ``σ √(π/2) / dt`` away from walls
    (the book's reconstruction)."""

    sigma: float        # per-coordinate step standard deviation (metres per step)
    dt: float = DT

    @classmethod
    def from_speed(cls, speed: float, dt: float = DT) -> "Brownian":
        """The walker whose mean step speed is ``speed``: ``σ = speed · dt / √(π/2)``."""
        speed = check_scalar(speed, "speed", min=0.0, include_min=False)
        dt = check_scalar(dt, "dt", min=0.0, include_min=False)
        return cls(sigma=speed * dt / _RAYLEIGH_MEAN, dt=dt)

    @classmethod
    def fit(cls, traj: Trajectory) -> "Brownian":
        """Maximum likelihood (walls ignored): ``σ² = mean |x_{k+1} − x_k|² / 2``."""
        traj = _check_traj(traj)
        d = np.diff(traj.xy, axis=0)
        return cls(sigma=float(np.sqrt((d ** 2).sum(1).mean() / 2)), dt=traj.dt)

    @property
    def speed(self) -> float:
        return self.sigma * _RAYLEIGH_MEAN / self.dt

    def simulate(self, T_s: float, seed: int, *, arena, start=None) -> Trajectory:
        arena = _check_arena(arena)
        n = _duration(T_s, self.dt)
        rng = np.random.default_rng(config_seed("embodied.brownian", _seed(seed)))
        p0 = _start(start, arena, rng)
        path = p0 + np.cumsum(np.vstack([np.zeros(2), self.sigma * rng.standard_normal((n - 1, 2))]), axis=0)
        xy = np.column_stack([_reflect(path[:, 0], arena[0], arena[1]), _reflect(path[:, 1], arena[2], arena[3])])
        return Trajectory(t=self.dt * np.arange(n), xy=xy, dt=self.dt, arena=arena, source="brownian",
                          meta=dict(candidate="brownian", sigma=self.sigma, speed=self.speed, seed=seed))

    def log_likelihood(self, traj: Trajectory, reduce: str = "mean", *, first: int = 1):
        """``log p(x_j | x_{j−1})`` of the reflected walk for the positions ``j ≥ first``, exactly
        by the method of images (:func:`_reflected_logpdf`, per coordinate); ``first =``
        :attr:`ARPolicy.first` scores the same positions as :meth:`ARPolicy.log_likelihood`.
        ``reduce`` = "mean" (nats per step), "sum" or "none"."""
        traj = _check_traj(traj)
        if abs(traj.dt - self.dt) > 1e-12:
            raise ValueError(f"traj.dt = {traj.dt} must equal the walker's dt = {self.dt}")
        first = check_scalar(first, "first", kind="int", min=1, max=len(traj) - 1)
        x0, x1 = traj.xy[first - 1:-1], traj.xy[first:]
        total = (_reflected_logpdf(x0[:, 0], x1[:, 0], traj.arena[0], traj.arena[1], self.sigma)
                 + _reflected_logpdf(x0[:, 1], x1[:, 1], traj.arena[2], traj.arena[3], self.sigma))
        return _reduce(total, reduce)


def _reflected_logpdf(a, b, lo: float, hi: float, sigma: float) -> np.ndarray:
    """``log p(b | a)`` of one coordinate's Gaussian step ``N(a, σ²)`` folded into [lo, hi]: the
    sum over the images ``a + 2mw`` and ``2lo − a + 2mw`` (``|m| ≤ 1``, ``w = hi − lo``), exact
    while ``σ ≪ w``."""
    w = hi - lo
    images = [a + 2 * m * w for m in (-1, 0, 1)] + [2 * lo - a + 2 * m * w for m in (-1, 0, 1)]
    z = np.stack([-(b - m) ** 2 / (2 * sigma ** 2) for m in images])
    top = z.max(axis=0)
    return top + np.log(np.exp(z - top).sum(axis=0)) - 0.5 * np.log(2 * np.pi * sigma ** 2)


def _reduce(values: np.ndarray, reduce: str):
    if reduce == "mean":
        return float(values.mean())
    if reduce == "sum":
        return float(values.sum())
    if reduce == "none":
        return values
    raise ValueError(f"reduce must be 'mean', 'sum' or 'none', got {reduce!r}")


def brownian(T_s: float, arena, speed: float, seed: int, *, dt: float = DT, start=None) -> Trajectory:
    """A Brownian walker of mean step speed ``speed`` (m/s) for ``T_s`` seconds in ``arena``
    (reflecting walls): :meth:`Brownian.from_speed` then :meth:`Brownian.simulate`."""
    return Brownian.from_speed(speed, dt).simulate(T_s, seed, arena=arena, start=start)


# --------------------------------------------------------------------------------------------
# 2. RatInABox's default random motion
# --------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _numpy_global_seed(seed: int):
    state = np.random.get_state()
    np.random.seed(seed % 2**32)
    try:
        yield
    finally:
        np.random.set_state(state)


def ratinabox_default(T_s: float, arena, seed: int, *, dt: float = DT, agent_dt: float = 0.05,
                      params: dict | None = None) -> Trajectory:
    """RatInABox's ``Agent`` with its default motion parameters (speed mean 0.08 m/s, coherence
    0.7 s, rotational velocity std 120°/s, thigmotaxis 0.5, ...) in a rectangular
    ``Environment`` the size of ``arena``, updated every ``agent_dt`` seconds (its default 0.05 s)
    and bin-averaged onto the grid ``dt`` by :func:`~theory.embodied.data.resample`, as the real
    recordings are. ``params`` overrides Agent parameters. numpy's global generator (which
    RatInABox uses) is seeded from ``seed`` and restored afterwards. Cost: about 1.4 ms of CPU per
    update, 8 s for 300 s of motion (6,000 updates; measured on this book's 2-core machine).
    """
    arena = _check_arena(arena)
    dt = check_scalar(dt, "dt", min=0.0, include_min=False)
    agent_dt = check_scalar(agent_dt, "agent_dt", min=0.0, include_min=False, max=dt)
    n = _duration(T_s, dt)
    seed = _seed(seed)
    if params is not None and not isinstance(params, dict):
        raise TypeError(f"params must be a dict of RatInABox Agent parameters, got {type(params).__name__}")
    import ratinabox
    from ratinabox.Agent import Agent
    from ratinabox.Environment import Environment

    width, height = arena[1] - arena[0], arena[3] - arena[2]
    steps = int(math.ceil((n - 1) * dt / agent_dt + 0.5 * dt / agent_dt)) + 1
    verbose = ratinabox.verbose
    try:
        ratinabox.verbose = False
        with _numpy_global_seed(config_seed("embodied.ratinabox", seed)):
            env = Environment(params={"scale": height, "aspect": width / height})
            agent = Agent(env, params=dict(params or {}, dt=agent_dt))
            times, pos = [agent.t], [np.array(agent.pos, dtype=np.float64)]
            for _ in range(steps):
                agent.update()
                times.append(agent.t)
                pos.append(np.array(agent.pos, dtype=np.float64))
    finally:
        ratinabox.verbose = verbose
    pos = np.asarray(pos) + np.array([arena[0], arena[2]])
    t, xy, info = resample(np.asarray(times), pos, dt, arena)
    t, xy = t[:n] - t[0], xy[:n]
    if len(t) < n:  # pragma: no cover - steps is chosen to cover n bins
        raise RuntimeError("ratinabox_default: the simulation came up short")
    return Trajectory(t=t, xy=xy, dt=dt, arena=arena, source="ratinabox",
                      meta=dict(info, candidate="ratinabox", seed=seed, agent_dt=agent_dt,
                                params=dict(params or {})))


# --------------------------------------------------------------------------------------------
# 3. The fitted autoregressive policy
# --------------------------------------------------------------------------------------------
_WALL_NORMALS = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])   # inward
_NORMAL_ANGLES = np.arctan2(_WALL_NORMALS[:, 1], _WALL_NORMALS[:, 0])


def _wall_terms(xy: np.ndarray, heading: np.ndarray, arena, scale: float) -> np.ndarray:
    """(..., 4): proximity ``exp(−d_min/λ)``, approach ``−Σ_w e_w cos δ_w``, and the turning
    terms ``Σ_w e_w sin δ_w``, ``Σ_w e_w sin 2δ_w``, with ``e_w = exp(−d_w/λ)`` and ``δ_w`` the
    angle from the heading to wall ``w``'s inward normal."""
    xmin, xmax, ymin, ymax = arena
    x, y = xy[..., 0], xy[..., 1]
    d = np.stack([x - xmin, xmax - x, y - ymin, ymax - y], axis=-1)
    e = np.exp(-d / scale)
    delta = _NORMAL_ANGLES - heading[..., None]
    return np.stack([np.exp(-d.min(axis=-1) / scale), -(e * np.cos(delta)).sum(-1),
                     (e * np.sin(delta)).sum(-1), (e * np.sin(2 * delta)).sum(-1)], axis=-1)


def _wall_terms_scalar(x, y, phi, xmin, xmax, ymin, ymax, scale):
    """:func:`_wall_terms` for one point, in plain floats (the simulation's inner loop)."""
    cp, sp = math.cos(phi), math.sin(phi)
    prox = app = sin1 = sin2 = 0.0
    # (distance, inward normal) of the left, right, bottom, top walls
    for dist, nx, ny in ((x - xmin, 1.0, 0.0), (xmax - x, -1.0, 0.0), (y - ymin, 0.0, 1.0), (ymax - y, 0.0, -1.0)):
        e = math.exp(-dist / scale)
        cd, sd = nx * cp + ny * sp, ny * cp - nx * sp          # cos δ, sin δ, δ = angle(n) − φ
        prox = max(prox, e)
        app -= e * cd
        sin1 += e * sd
        sin2 += 2 * e * sd * cd
    return prox, app, sin1, sin2


def _design(xy: np.ndarray, dt: float, arena, scale: float, s0: float, lags: int):
    """Per-step quantities for the steps k = first … T−2, ``first = max(2, lags)``."""
    d = np.diff(xy, axis=0)
    s = np.maximum(np.linalg.norm(d, axis=1) / dt, 1e-12)
    ell = np.log(s + s0)
    phi = np.arctan2(d[:, 1], d[:, 0])
    turn = np.angle(np.exp(1j * np.diff(phi)))               # turn[k-1] = φ_k − φ_{k−1}
    k = np.arange(max(2, lags), len(d))
    walls = _wall_terms(xy[k], phi[k - 1], arena, scale)
    return dict(k=k, s=s[k], ell_all=ell, ell=ell[k], ell1=ell[k - 1], turn=turn[k - 1],
                turn1=turn[k - 2], walls=walls)


def _gauss_map(ell, knots_ell, knots_u):
    """The monotone piecewise-linear map ``u = g(ℓ)`` through the knots (linear beyond the
    ends) and ``log g'(ℓ)``."""
    slopes = np.diff(knots_u) / np.diff(knots_ell)
    seg = np.clip(np.searchsorted(knots_ell, ell, side="right") - 1, 0, len(slopes) - 1)
    u = knots_u[seg] + slopes[seg] * (ell - knots_ell[seg])
    return u, np.log(slopes[seg])


def _gauss_unmap(u, knots_ell, knots_u):
    slopes = np.diff(knots_ell) / np.diff(knots_u)
    seg = np.clip(np.searchsorted(knots_u, u, side="right") - 1, 0, len(slopes) - 1)
    return knots_ell[seg] + slopes[seg] * (u - knots_u[seg])


def _speed_X(u_all: np.ndarray, k: np.ndarray, walls: np.ndarray, lags: int) -> np.ndarray:
    return np.column_stack([u_all[k - j] for j in range(1, lags + 1)] + [walls[:, 0], walls[:, 1]])


def _turn_terms(z, b, c):
    mu = b[0] * z["turn1"] + b[1] * z["walls"][:, 2] + b[2] * z["walls"][:, 3]
    log_kappa = c[0] + c[1] * z["ell"] + c[2] * z["ell1"]
    return mu, log_kappa


def _von_mises_logpdf(x, mu, log_kappa):
    from scipy.special import i0e

    kappa = np.exp(log_kappa)
    return kappa * (np.cos(x - mu) - 1.0) - np.log(2 * np.pi * i0e(kappa))


def _mixture_logpdf(r, offsets, scales, weights):
    lp = np.log(weights) - 0.5 * ((r[:, None] - offsets) / scales) ** 2 - np.log(scales * np.sqrt(2 * np.pi))
    top = lp.max(axis=1)
    return top + np.log(np.exp(lp - top[:, None]).sum(axis=1))


@dataclass(frozen=True)
class ARPolicy:
    """An autoregressive policy of speed and heading change, the book's reconstruction.

    With step ``k``'s speed ``s_k``, ``ℓ_k = log(s_k + s_0)``, heading ``φ_k``, turn
    ``Δφ_k = φ_k − φ_{k−1}`` and wall terms ``W_k`` of the position ``x_k`` and previous heading
    (:func:`_wall_terms`, length scale ``λ``):

    - speed: ``u_k = g(ℓ_k)`` is log-speed mapped to a standard normal marginal by a monotone
      piecewise-linear ``g`` through the training quantiles (a Gaussian copula), and
      ``u_k = Σ_{j≤p} a_j u_{k−j} + a_prox W_k^prox + a_app W_k^approach + m_J + σ_J ε_k``,
      ``ε_k ~ N(0, 1)``, ``J ~ Categorical(π)`` (a Gaussian mixture: stops and starts make the
      innovations heavy-tailed);
    - heading: ``Δφ_k ~ VonMises(μ_k, κ_k)``, ``μ_k = b_1 Δφ_{k−1} + b_2 W_k^sin + b_3 W_k^sin2``,
      ``log κ_k = c_0 + c_1 ℓ_k + c_2 ℓ_{k−1}``.

    The density of the step ``d_k = x_{k+1} − x_k = dt s_k (cos φ_k, sin φ_k)`` in the plane is
    ``p(u_k) g'(ℓ_k) p(Δφ_k) / ((s_k + s_0) s_k dt²)``, so :meth:`log_likelihood` is a density of
    positions, comparable with :meth:`Brownian.log_likelihood` over the same steps.
    """

    a: tuple            # slopes on (u_{k−1}, …, u_{k−p}, W^prox, W^approach)
    offsets: tuple      # m_j
    scales: tuple       # σ_j
    weights: tuple      # π_j
    b: tuple
    c: tuple
    knots_ell: tuple
    knots_u: tuple
    lags: int
    dt: float
    arena: tuple
    wall_scale: float = 0.1
    s0: float = 0.01
    meta: dict = field(default_factory=dict, compare=False)

    @property
    def first(self) -> int:
        """The index of the first position scored by :meth:`log_likelihood`: ``max(2, p) + 1``
        (its step needs ``max(2, p)`` earlier steps)."""
        return max(2, self.lags) + 1

    def log_likelihood(self, traj: Trajectory, reduce: str = "mean"):
        """``log p(x_j | x_{<j})`` for the positions ``j ≥`` :attr:`first` (nats per step by
        default; ``reduce`` = "mean", "sum" or "none"), in ``traj``'s own arena (which may differ
        from the training arena). ``traj.dt`` must equal the policy's ``dt``."""
        traj = _check_traj(traj)
        if abs(traj.dt - self.dt) > 1e-12:
            raise ValueError(f"traj.dt = {traj.dt} must equal the policy's dt = {self.dt}")
        if len(traj) < self.first + 1:
            raise ValueError(f"traj must hold at least {self.first + 1} samples, got {len(traj)}")
        ke, ku = np.asarray(self.knots_ell), np.asarray(self.knots_u)
        z = _design(traj.xy, traj.dt, traj.arena, self.wall_scale, self.s0, self.lags)
        u_all, log_slope_all = _gauss_map(z["ell_all"], ke, ku)
        X = _speed_X(u_all, z["k"], z["walls"], self.lags)
        lp_u = _mixture_logpdf(u_all[z["k"]] - _mv(X, np.asarray(self.a)), np.asarray(self.offsets),
                               np.asarray(self.scales), np.asarray(self.weights))
        mu, log_kappa = _turn_terms(z, self.b, self.c)
        lp_turn = _von_mises_logpdf(z["turn"], mu, log_kappa)
        jac = np.log(z["s"] + self.s0) + np.log(z["s"]) + 2 * np.log(traj.dt)
        return _reduce(lp_u + log_slope_all[z["k"]] + lp_turn - jac, reduce)

    def simulate(self, T_s: float, seed: int, *, arena=None, start=None, burn_in_s: float = 10.0) -> Trajectory:
        """Run the policy for ``T_s`` seconds in ``arena`` (default: the training arena), from
        ``start`` (default: a uniform point), after ``burn_in_s`` seconds discarded. A step that
        would leave the arena is mirrored at the wall, heading included."""
        arena = self.arena if arena is None else _check_arena(arena)
        n = _duration(T_s, self.dt)
        burn = int(round(check_scalar(burn_in_s, "burn_in_s", min=0.0) / self.dt))
        rng = np.random.default_rng(config_seed("embodied.ar_policy", _seed(seed)))
        p = _start(start, arena, rng)
        xmin, xmax, ymin, ymax = arena
        a, b, c = (np.asarray(v, dtype=float) for v in (self.a, self.b, self.c))
        ke, ku = np.asarray(self.knots_ell), np.asarray(self.knots_u)
        m, sd = np.asarray(self.offsets), np.asarray(self.scales)
        P = self.lags
        total = burn + n - 1
        comp = rng.choice(len(m), size=total, p=np.asarray(self.weights) / np.sum(self.weights))
        eps = m[comp] + sd[comp] * rng.standard_normal(total)
        u_hist = np.zeros(P + total)                  # u_{−P}, …: the stationary mean 0 to start
        ell1 = float(_gauss_unmap(np.zeros(1), ke, ku)[0])
        phi, turn1 = rng.uniform(-np.pi, np.pi), 0.0
        out = np.empty((total + 1, 2))
        out[0] = p
        scale, dt, s0 = self.wall_scale, self.dt, self.s0
        a_lag = a[:P][::-1]                           # aligned with u_hist[k : k + P]
        ke_l, ku_l = ke.tolist(), ku.tolist()
        inv_slopes = (np.diff(ke) / np.diff(ku)).tolist()
        a_lag, a_prox, a_app = a_lag.tolist(), float(a[P]), float(a[P + 1])
        b1, b2, b3 = (float(v) for v in b)
        c0, c1, c2 = (float(v) for v in c)
        u_hist = u_hist.tolist()
        x, y = float(p[0]), float(p[1])
        for k in range(total):
            w = _wall_terms_scalar(x, y, phi, xmin, xmax, ymin, ymax, scale)
            u = sum(ai * ui for ai, ui in zip(a_lag, u_hist[k:k + P])) + a_prox * w[0] + a_app * w[1] + eps[k]
            u_hist[k + P] = u
            seg = min(max(bisect.bisect_right(ku_l, u) - 1, 0), len(inv_slopes) - 1)
            ell = ke_l[seg] + inv_slopes[seg] * (u - ku_l[seg])
            mu = b1 * turn1 + b2 * w[2] + b3 * w[3]
            kappa = math.exp(min(c0 + c1 * ell + c2 * ell1, 700.0))
            turn = math.remainder(mu + rng.vonmises(0.0, kappa), 2 * math.pi)
            phi = phi + turn
            s = max(math.exp(ell) - s0, 0.0)
            x, y = x + dt * s * math.cos(phi), y + dt * s * math.sin(phi)
            if x < xmin or x > xmax:
                x = float(_reflect(x, xmin, xmax))
                phi = math.pi - phi
            if y < ymin or y > ymax:
                y = float(_reflect(y, ymin, ymax))
                phi = -phi
            phi = math.remainder(phi, 2 * math.pi)
            out[k + 1] = (x, y)
            ell1, turn1 = ell, turn
        return Trajectory(t=dt * np.arange(n), xy=out[burn:], dt=dt, arena=arena, source="fitted",
                          meta=dict(candidate="fitted", seed=seed, trained_on=self.meta.get("trained_on")))


def _gram(A, w, B=None):
    """``Σ_i w_i A_i B_iᵀ`` (or ``Σ_i A_i w_i`` without ``B``) by numpy's own loops, not BLAS: the
    same sums in the same order at any thread count, so a fit is bit-identical everywhere."""
    if B is None:
        return np.einsum("ij,i->j", A, w, optimize=False)
    return np.einsum("ij,i,ik->jk", A, w, B, optimize=False)


def _mv(X, beta):
    """``X β`` without BLAS (see :func:`_gram`)."""
    return np.einsum("ij,j->i", X, beta, optimize=False)


def _mixture_regression(X, y, n_components: int, iters: int = 100, tol: float = 1e-7):
    """Maximum likelihood by EM for ``y = X β + m_J + σ_J ε``, ``J ~ Categorical(π)``: shared
    slopes ``β`` (``X`` without a constant column), component offsets ``m_j``, scales ``σ_j``.
    Starts deterministically from least squares with offsets at the residuals' quantiles; stops
    when the mean log-likelihood gains less than ``tol`` nats or after ``iters`` iterations."""
    n, p = X.shape
    K = n_components
    A = np.column_stack([np.ones(n), X])
    coef = np.linalg.solve(_gram(A, np.ones(n), A), _gram(A, y))
    beta = coef[1:]
    r0 = y - _mv(X, beta)
    m = np.quantile(r0, (np.arange(K) + 0.5) / K)
    sd = np.full(K, r0.std() / np.sqrt(K))
    pi = np.full(K, 1.0 / K)
    prev = -np.inf
    for _ in range(iters):
        r = (y - _mv(X, beta))[:, None] - m[None, :]
        logp = np.log(pi) - 0.5 * (r / sd) ** 2 - np.log(sd * np.sqrt(2 * np.pi))
        top = logp.max(axis=1, keepdims=True)
        ll = top[:, 0] + np.log(np.exp(logp - top).sum(axis=1))
        resp = np.exp(logp - ll[:, None])
        pi = resp.mean(axis=0)
        w = resp / sd ** 2                                  # (n, K)
        # weighted least squares in (β, m): normal equations of Σ_ij w_ij (y_i − x_i β − m_j)²
        wt = w.sum(axis=1)
        Xw = _gram(X, np.ones(n), w)
        G = np.block([[_gram(X, wt, X), Xw], [Xw.T, np.diag(w.sum(axis=0))]])
        h = np.concatenate([_gram(X, wt * y), _gram(w, y)])
        sol = np.linalg.solve(G, h)
        beta, m = sol[:p], sol[p:]
        r = (y - _mv(X, beta))[:, None] - m[None, :]
        sd = np.sqrt(np.maximum((resp * r ** 2).sum(axis=0) / np.maximum(resp.sum(axis=0), 1e-300), 1e-8))
        if ll.mean() - prev < tol:
            break
        prev = ll.mean()
    order = np.argsort(m)
    return beta, m[order], sd[order], pi[order]


def fit_policy(traj_train: Trajectory, *, lags: int = 10, n_components: int = 3, n_knots: int = 32,
               wall_scale: float = 0.1, s0: float = 0.01) -> ARPolicy:
    """Fit :class:`ARPolicy` to ``traj_train`` by maximum likelihood (behavioural cloning), the
    book's reconstruction: the Gaussian-copula map ``g`` from ``n_knots`` quantiles of the
    training log-speeds; the speed innovations (a mixture of ``n_components`` Gaussians with
    shared slopes on ``lags`` past values and the wall terms) by EM; the turning part by L-BFGS
    on the von Mises negative log-likelihood (6 parameters, from b = 0, c = 0). Deterministic."""
    from scipy.optimize import minimize
    from scipy.stats import norm

    traj = _check_traj(traj_train, "traj_train")
    lags = check_scalar(lags, "lags", kind="int", min=1, max=100)
    n_components = check_scalar(n_components, "n_components", kind="int", min=1, max=10)
    n_knots = check_scalar(n_knots, "n_knots", kind="int", min=2, max=1000)
    wall_scale = check_scalar(wall_scale, "wall_scale", min=0.0, include_min=False)
    s0 = check_scalar(s0, "s0", min=0.0, include_min=False)
    if len(traj) < 10 * (lags + n_knots):
        raise ValueError(f"traj_train must hold at least 10 (lags + n_knots) = {10 * (lags + n_knots)} "
                         f"samples, got {len(traj)}")
    z = _design(traj.xy, traj.dt, traj.arena, wall_scale, s0, lags)
    probs = (np.arange(n_knots) + 0.5) / n_knots
    ke = np.quantile(z["ell_all"], probs)
    ke = ke + 1e-9 * np.arange(n_knots)                     # strictly increasing
    ku = norm.ppf(probs)
    u_all, _ = _gauss_map(z["ell_all"], ke, ku)
    X = _speed_X(u_all, z["k"], z["walls"], lags)
    beta, m, sd, pi = _mixture_regression(X, u_all[z["k"]], n_components)

    def nll(theta):
        mu, log_kappa = _turn_terms(z, theta[:3], theta[3:])
        return -_von_mises_logpdf(z["turn"], mu, np.clip(log_kappa, -20, 20)).mean()

    res = minimize(nll, np.zeros(6), method="L-BFGS-B")
    if not np.all(np.isfinite(res.x)):  # pragma: no cover
        raise RuntimeError(f"fit_policy: the turning fit failed: {res.message}")
    f = lambda v: tuple(map(float, v))  # noqa: E731
    return ARPolicy(a=f(beta), offsets=f(m), scales=f(sd), weights=f(pi), b=f(res.x[:3]), c=f(res.x[3:]),
                    knots_ell=f(ke), knots_u=f(ku), lags=lags, dt=traj.dt, arena=traj.arena,
                    wall_scale=wall_scale, s0=s0,
                    meta=dict(trained_on=traj.source, n_train=len(traj), turn_fit=bool(res.success),
                              turn_nll=float(res.fun)))


# --------------------------------------------------------------------------------------------
# 4. The reward-optimal forager
# --------------------------------------------------------------------------------------------
def forager(T_s: float, arena, seed: int, *, speed: float, dt: float = DT, start=None) -> Trajectory:
    """A forager for rewards that appear one at a time at uniform random points of ``arena`` (a
    new one when the last is eaten, as in a random-foraging session): the reward-optimal policy at
    top speed ``speed`` runs the straight line to each reward at constant speed, so its path is a
    polyline sampled every ``dt`` at arc length ``speed · k · dt``. ``meta['rewards']`` counts the
    rewards eaten. The book's reconstruction.
    """
    arena = _check_arena(arena)
    speed = check_scalar(speed, "speed", min=0.0, include_min=False)
    dt = check_scalar(dt, "dt", min=0.0, include_min=False)
    n = _duration(T_s, dt)
    rng = np.random.default_rng(config_seed("embodied.forager", _seed(seed)))
    p0 = _start(start, arena, rng)
    length = speed * dt * (n - 1)
    pts, total = [p0], 0.0
    while total <= length:
        q = np.array([rng.uniform(arena[0], arena[1]), rng.uniform(arena[2], arena[3])])
        total += float(np.linalg.norm(q - pts[-1]))
        pts.append(q)
    pts = np.asarray(pts)
    cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    s = speed * dt * np.arange(n)
    xy = np.column_stack([np.interp(s, cum, pts[:, 0]), np.interp(s, cum, pts[:, 1])])
    rewards = int(np.searchsorted(cum, s[-1], side="right") - 1)
    return Trajectory(t=dt * np.arange(n), xy=xy, dt=dt, arena=arena, source="forager",
                      meta=dict(candidate="forager", seed=seed, speed=speed, rewards=rewards,
                                reward_rate_per_min=rewards / (T_s / 60)))
