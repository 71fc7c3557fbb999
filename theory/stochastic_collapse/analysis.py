"""The analyses of the quartic-well and tanh-neuron pages (Chen et al. 2023, Figs. 1–2).

Each function bundles the calls a notebook always makes together: a batched simulation from
:mod:`~theory.stochastic_collapse.simulate`, the fraction of paths that collapsed, the measured
Lyapunov exponent and the closed form it is compared with from
:mod:`~theory.stochastic_collapse.exact`. They return small frozen dataclasses; the claims
(statements and tolerances) stay in the notebooks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory.core import check_scalar, check_seed, non_negative, positive
from theory.stochastic_collapse.exact import (_paired_xy, em_exponent, linear_exponent,
                                              prototype_exponent, stationary_moments,
                                              tanh_sgd_exponents)
from theory.stochastic_collapse.simulate import (Paths, linearise, measured_exponent,
                                                 simulate_prototype, tanh_neuron_fields,
                                                 tanh_neuron_sde, tanh_neuron_sgd)

__all__ = ["Collapse", "Exponents", "LateLaw", "collapsed_fraction", "late_law",
           "prototype_exponents", "prototype_general_exponents", "tanh_linear_exponents",
           "tanh_neuron_data", "tanh_sde_collapse", "tanh_sde_exponents", "tanh_sgd_collapse"]


def collapsed_fraction(x, radius: float) -> np.ndarray:
    """Fraction of paths within ``radius`` of the origin at the last record.

    ``x`` (E, P, T) holds scalar paths (|θ_T| < radius), ``x`` (E, P, T, d) vector paths
    (‖w_T‖ < radius): an array of four or more dimensions is read as vector paths. Returns (E,).
    A path that diverged (inf or NaN) counts as not collapsed.
    """
    if isinstance(x, (str, bytes)) or x is None or isinstance(x, (bool, np.bool_)):
        raise TypeError(f"x must be an array of paths, got {type(x).__name__}")
    x = np.asarray(x)                             # non-finite entries allowed: diverged paths
    if x.dtype == bool or not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
        raise TypeError(f"x must hold real numbers (paths), got dtype {x.dtype}")
    x = x.astype(np.float64, copy=False)
    if x.ndim < 2:
        raise ValueError(f"x must have at least 2 dimensions (paths, records), got shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"x must not be empty, got shape {x.shape}")
    radius = check_scalar(radius, "radius", min=0.0, include_min=False)
    if x.ndim >= 4:
        dist = np.linalg.norm(x[..., -1, :], axis=-1)
    else:
        dist = np.abs(x[..., -1])
    return np.mean(dist < radius, axis=-1)


@dataclass(frozen=True)
class Collapse:
    """A batched run over learning rates ``etas`` at label-noise scale ``zeta``: its ``paths``,
    the fraction ``collapsed`` (E,) and the theory ``exponent`` (E,) at the origin."""

    etas: np.ndarray
    zeta: float
    paths: Paths
    collapsed: np.ndarray
    exponent: np.ndarray

    @property
    def alpha(self) -> np.ndarray:
        """The noise level α = ηζ²σ′(0)/2 of the paper's Fig. 2 (σ′(0) = 1 for tanh)."""
        return self.etas * self.zeta**2 / 2

    def report(self) -> str:
        """α, the collapse fractions and the exponents, one per line."""
        return (f"ζ = {self.zeta:g}: α: {np.round(self.alpha, 2)}\n"
                f"       collapsed: {self.collapsed}\n"
                f"       exact exponent: {np.round(self.exponent, 4)}")


@dataclass(frozen=True)
class Exponents:
    """Measured exponents ``slope`` ± ``stderr`` (slopes of E log‖θ‖) on a grid, the theory
    ``theory`` they are compared with and, where one applies, the exact exponent ``scheme`` of
    the Euler–Maruyama scheme at step ``dt``."""

    slope: np.ndarray
    stderr: np.ndarray
    theory: np.ndarray
    dt: float
    scheme: np.ndarray | None = None

    def report(self) -> str:
        """The measured − theory differences (and, with a scheme exponent, in standard errors)."""
        if self.scheme is None:
            return ("measured exponent − theory, in standard errors: "
                    f"{np.round((self.slope - self.theory) / self.stderr, 1)}")
        return (f"measured − (μ − ζ²/2): {np.round(self.slope - self.theory, 3)}\n"
                "measured − Euler–Maruyama exponent, in standard errors: "
                f"{np.round((self.slope - self.scheme) / self.stderr, 1)}")


# ------------------------------------------------------------------ the quartic well (Fig. 1)

def _zetas(x, check=non_negative, name: str = "zetas") -> np.ndarray:
    """A scalar or non-empty 1-D array of noise levels (or learning rates) as (n,)."""
    return np.atleast_1d(check(x, name, ndim=(0, 1), nonempty=True))


def prototype_exponents(mu: float, zetas, *, n_paths: int, T: float = 4.0, dt: float = 1e-3,
                        theta0: float = 1e-8, record_every: int = 40, seed: int = 0) -> Exponents:
    """The exponent of the quartic well at θ = 0, measured: paths of :func:`simulate_prototype`
    from θ₀ (tiny, so the well is linear) for ``int(T/dt)`` steps, the slope of E log|θ_t|
    (:func:`measured_exponent`), against λ = μ − ζ²/2 (Fig. 1) and the Euler–Maruyama scheme's
    exact exponent E log|1 + μ dt + ζ√dt Z|/dt (:func:`em_exponent`, the book's reconstruction).
    """
    mu = check_scalar(mu, "mu")
    T = check_scalar(T, "T", min=0.0, include_min=False)
    dt = check_scalar(dt, "dt", min=0.0, include_min=False)
    if int(T / dt) < 1:
        raise ValueError(f"dt must be <= T = {T:g} (at least one step), got dt = {dt:g}")
    zetas = _zetas(zetas, positive)
    theta0 = check_scalar(theta0, "theta0")
    if theta0 == 0:
        raise ValueError("theta0 must be non-zero (θ = 0 stays at 0: log|θ| = −∞)")
    paths = simulate_prototype(mu, zetas, n_paths=n_paths, T=T, steps=int(T / dt), theta0=theta0,
                               record_every=record_every, seed=seed)
    slope, stderr = measured_exponent(paths.t, np.log(np.abs(paths.x)))
    return Exponents(slope=slope, stderr=stderr, theory=prototype_exponent(mu, zetas), dt=dt,
                     scheme=em_exponent(mu, zetas, dt))


def prototype_general_exponents(mu: float, zetas) -> np.ndarray:
    """λ of the quartic well from the general recipe: A and C of dθ = −(θ³ − μθ)dt + ζθ dW by
    autograd at θ = 0 (:func:`linearise`), then :func:`linear_exponent` (A − C²/2 = μ − ζ²/2)."""
    mu = check_scalar(mu, "mu")
    zetas = _zetas(zetas)
    return np.array([linear_exponent(*linearise(lambda th: -(th**3 - mu * th),
                                                lambda th, z=z: (z * th)[:, None],
                                                np.zeros(1), np.eye(1))) for z in zetas])


@dataclass(frozen=True)
class LateLaw:
    """Late-time samples ``x`` (Z, P, T_late) of the quartic well at noise levels ``zetas``, their
    second moment ``simulated`` (Z,) over paths and times, and the stationary ``theory`` (Z,)."""

    zetas: np.ndarray
    x: np.ndarray
    simulated: np.ndarray
    theory: np.ndarray

    def samples(self, show) -> dict:
        """ζ → late samples (P, T_late) for the noise levels in ``show`` (nearest simulated)."""
        return {z: self.x[int(np.argmin(np.abs(self.zetas - z)))] for z in show}

    def report(self, mask) -> str:
        """One line per selected noise level: simulated E[θ²] against μ − ζ²/2."""
        mask = np.asarray(mask, dtype=bool)
        return "\n".join(f"ζ = {z:4}: E[θ²] simulated {a:.4f}, theory μ − ζ²/2 = {b:.4f}"
                         for z, a, b in zip(self.zetas[mask], self.simulated[mask],
                                            self.theory[mask]))


def late_law(paths: Paths, mu: float, zetas, *, t_from: float) -> LateLaw:
    """The stationary check of the quartic well: E[θ²] of ``paths`` (Z, P, T) over paths and the
    records with t ≥ ``t_from``, against μ − ζ²/2 (:func:`stationary_moments`)."""
    if not isinstance(paths, Paths):
        raise TypeError(f"paths must be the Paths of simulate_prototype, got {type(paths).__name__}")
    mu = check_scalar(mu, "mu", min=0.0, include_min=False)
    zetas = _zetas(zetas, positive)
    t_from = check_scalar(t_from, "t_from", min=0.0)
    if paths.x.ndim != 3 or paths.x.shape[0] != zetas.size:
        raise ValueError(f"paths must be Paths with x of shape (len(zetas) = {zetas.size}, P, T), "
                         f"got {paths.x.shape}")
    late = paths.t >= t_from
    if not late.any():
        raise ValueError(f"t_from = {t_from:g} is after the last record t = {paths.t[-1]:g}")
    x = paths.x[..., late]
    return LateLaw(zetas=zetas, x=x, simulated=np.mean(x**2, axis=(1, 2)),
                   theory=stationary_moments(mu, zetas)[0])


# ------------------------------------------------------------------ one tanh neuron (Fig. 2)

def tanh_neuron_data(m: int = 32, *, noise: float = 0.1, seed: int = 0):
    """The official notebook's data model: x ~ N(0, 1)^m, y = x + noise·N(0, 1)^m, drawn in this
    order from ``numpy.random.default_rng(seed)``. Returns (x, y)."""
    m = check_scalar(m, "m", kind="int", min=1)
    noise = check_scalar(noise, "noise", min=0.0)
    rng = np.random.default_rng(check_seed(seed, "seed"))
    x = rng.normal(size=m)
    return x, x + noise * rng.normal(size=m)


def tanh_linear_exponents(x, y, etas, zeta: float = 1.0) -> np.ndarray:
    """The exponent at w = 0 of the Fig. 2 SDE for each η, from autograd's A and C_i of
    :func:`tanh_neuron_fields` (:func:`linearise`, :func:`linear_exponent`); in closed form
    σ′(0)⟨xy⟩ − ηζ²σ′(0)²⟨x²⟩/2."""
    etas = _zetas(etas, name="etas")
    return np.array([linear_exponent(*linearise(*tanh_neuron_fields(x, y, eta=e, zeta=zeta),
                                                np.zeros(2), np.eye(2))) for e in etas])


def _sde_theory(x, y, etas, zeta):
    x, y = _paired_xy(x, y)
    return np.mean(x * y) - etas * zeta**2 * np.mean(x**2) / 2


def tanh_sde_collapse(x, y, etas, *, zeta: float, n_paths: int, T: float, dt: float,
                      record_every: int = 100, radius: float = 1e-2, seed: int = 0) -> Collapse:
    """Collapse in the Fig. 2 SDE (:func:`tanh_neuron_sde` from w₀ ~ N(0, 10⁻⁶ I)): the fraction
    of paths with ‖w_T‖ < ``radius`` per η, with the linearised exponent
    σ′(0)⟨xy⟩ − ηζ²σ′(0)²⟨x²⟩/2 (Fig. 2's threshold; σ′(0) = 1 for tanh)."""
    etas = _zetas(etas, name="etas")
    paths = tanh_neuron_sde(x, y, etas, zeta=zeta, n_paths=n_paths, T=T, dt=dt,
                            record_every=record_every, seed=seed)
    return Collapse(etas=etas, zeta=float(zeta), paths=paths,
                    collapsed=collapsed_fraction(paths.x, radius),
                    exponent=_sde_theory(x, y, etas, zeta))


def tanh_sde_exponents(x, y, etas, *, zeta: float, n_paths: int, T: float, dt: float,
                       init_std: float, record_every: int, seed: int = 0) -> Exponents:
    """The exponent of the Fig. 2 SDE measured from tiny initial conditions: slopes of
    E log‖w_t‖ over t ≤ T (:func:`measured_exponent`) against ⟨xy⟩ − ηζ²⟨x²⟩/2."""
    init_std = check_scalar(init_std, "init_std", min=0.0, include_min=False)
    etas = _zetas(etas, name="etas")
    paths = tanh_neuron_sde(x, y, etas, zeta=zeta, n_paths=n_paths, T=T, dt=dt,
                            init_std=init_std, record_every=record_every, seed=seed)
    slope, stderr = measured_exponent(paths.t, np.log(np.linalg.norm(paths.x, axis=-1)))
    return Exponents(slope=slope, stderr=stderr, theory=_sde_theory(x, y, etas, zeta), dt=dt)


def tanh_sgd_collapse(x, y, etas, *, zeta: float, n_paths: int, steps: int,
                      radius: float = 1e-2, seed: int = 0) -> Collapse:
    """Collapse in real batch-1 SGD with label noise (:func:`tanh_neuron_sgd`, only the last step
    recorded): the fraction of paths with ‖w‖ < ``radius`` after ``steps`` steps, with the exact
    per-step exponent max(λ₊, λ₋) of :func:`tanh_sgd_exponents` (the book's reconstruction)."""
    etas = _zetas(etas, name="etas")
    zeta = check_scalar(zeta, "zeta", min=0.0, include_min=False)
    paths = tanh_neuron_sgd(x, y, etas, zeta=zeta, n_paths=n_paths, steps=steps,
                            record_every=steps, seed=seed)
    return Collapse(etas=etas, zeta=float(zeta), paths=paths,
                    collapsed=collapsed_fraction(paths.x, radius),
                    exponent=np.maximum(*tanh_sgd_exponents(x, y, etas, zeta)))
