"""Figures and explorers of the single-neuron pages: functions of their arguments that return a
matplotlib Figure, in the book's sizes (:func:`theory.core.figure`).

Theory is drawn as lines, simulation as markers. The explorers (:func:`single_neuron_explorer`,
:func:`delta_scrubber`) are module-level :func:`theory.core.explorer` functions: live widgets in
Jupyter, a grid of pre-rendered frames in the static book.
"""

from __future__ import annotations

import functools

import matplotlib.pyplot as plt
import numpy as np

from theory.core import COLORS, as_array, check_scalar, explorer, figure
from theory.rich_lazy.exact import (AlignmentDelay, Trajectory, init_from_beta,
                                    kernel_distance_whitened, mu_phi, null_direction,
                                    whitened_solution)

__all__ = ["alignment_delay_figure", "delta_colors", "delta_scrubber", "draw_level_set",
           "function_space_figure", "implicit_bias_figure", "level_set_figure", "loss_kernel_figure",
           "mu_phi_figure", "regime", "single_neuron_explorer"]


def regime(delta: float) -> str:
    """Name of the regime of an imbalance δ, as the paper names them (Sec. 3, Fig. 2)."""
    delta = check_scalar(delta, "delta")
    if delta > 0:
        return "upstream (δ > 0): lazy as δ grows"
    if delta < 0:
        return "downstream (δ < 0): slow, delayed"
    return "balanced (δ = 0): rich"


def delta_colors(deltas) -> list:
    """A diverging colour per δ: downstream in warm colours, balanced black, upstream cool."""
    deltas = np.atleast_1d(as_array(deltas, "deltas", ndim=(0, 1), nonempty=True))
    m = max(np.max(np.abs(deltas)), 1e-12)
    cmap = plt.get_cmap("coolwarm_r")
    return [COLORS["theory"] if d == 0 else cmap(0.5 + 0.45 * np.sign(d) * (0.35 + 0.65 * abs(d) / m))
            for d in deltas]


def draw_level_set(ax, delta: float, eta_a: float = 1.0, eta_w: float = 1.0, *, extent: float = 2.5,
                   n: int = 41) -> None:
    """Draw the surface η_w a² − η_a(w₁² + w₂²) = δ on a 3-D axis (w₁, w₂, a) (paper, Fig. 2).

    δ > 0: a two-sheeted hyperboloid; δ = 0: a double cone; δ < 0: a one-sheeted hyperboloid.
    """
    if not hasattr(ax, "plot_surface"):
        raise TypeError(f"ax must be a 3-D matplotlib axis (projection='3d'), got {type(ax).__name__}")
    delta = check_scalar(delta, "delta")
    eta_a = check_scalar(eta_a, "eta_a", min=0.0, include_min=False)
    eta_w = check_scalar(eta_w, "eta_w", min=0.0, include_min=False)
    extent = check_scalar(extent, "extent", min=0.0, include_min=False)
    n = check_scalar(n, "n", kind="int", min=2)
    phi = np.linspace(0, 2 * np.pi, n)
    r = np.linspace(0, extent, n)
    R, P = np.meshgrid(r, phi)
    if delta < 0:
        rmin = np.sqrt(-delta / eta_a)
        R = rmin + R * (extent - rmin) / extent if extent > rmin else R + rmin
    A = np.sqrt(np.maximum(delta + eta_a * R**2, 0) / eta_w)
    for sheet in (A, -A):
        ax.plot_surface(R * np.cos(P), R * np.sin(P), sheet, color=COLORS["grey"], alpha=0.12,
                        linewidth=0, antialiased=False)


def _check_runs(exact, gd, deltas):
    for name, tr in (("exact", exact), ("gd", gd)):
        if not isinstance(tr, Trajectory):
            raise TypeError(f"{name} must be a Trajectory, got {type(tr).__name__}")
    deltas = as_array(deltas, "deltas", ndim=1, nonempty=True)
    for name, tr in (("exact", exact), ("gd", gd)):
        if tr.a.ndim != 2:
            raise ValueError(f"{name} must be a batch of runs, a (B, T), got a of shape {tr.a.shape}")
    if exact.a.shape[0] != deltas.size or gd.a.shape[0] != deltas.size:
        raise ValueError(f"exact and gd must hold one run per δ of deltas ({deltas.size}), got "
                         f"{exact.a.shape[0]} and {gd.a.shape[0]}")
    return deltas


def _vector2(x, name: str) -> np.ndarray:
    """A point of the plane, shape (2,) (the figures draw d = 2 problems)."""
    x = as_array(x, name, ndim=1)
    if x.shape != (2,):
        raise ValueError(f"{name} must have shape (2,): the figures draw d = 2 problems, got {x.shape}")
    return x


def level_set_figure(exact: Trajectory, gd: Trajectory, deltas, beta_star, *,
                     shown=(-1.0, 0.0, 1.0), extent: float = 1.8):
    """Parameter space (w₁, w₂, a): each run on its level set of δ, one panel per δ of ``shown``.

    ``exact``/``gd``: trajectories batched over ``deltas`` (B,), d = 2; the green curve is the
    set of global minima a w = β* (both branches), the square the start.
    """
    deltas = _check_runs(exact, gd, deltas)
    beta_star = as_array(beta_star, "beta_star", ndim=1)
    if beta_star.shape != (2,) or exact.w.shape[-1] != 2:
        raise ValueError("level_set_figure draws d = 2 problems: beta_star and w must have 2 entries")
    extent = check_scalar(extent, "extent", min=0.0, include_min=False)
    fig, axes = figure(1, len(shown), width="wide", height=3.4, subplot_kw={"projection": "3d"})
    axes = np.atleast_1d(axes)
    a_min = np.linalg.norm(beta_star) / extent  # below it ‖w‖ = ‖β*‖/|a| leaves the box
    for k, (ax, d) in enumerate(zip(axes, shown)):
        hit = np.flatnonzero(deltas == d)
        if hit.size == 0:
            raise ValueError(f"shown holds δ = {d:g}, which is not among deltas {deltas.tolist()}")
        i = int(hit[0])
        draw_level_set(ax, d, extent=extent)
        for sign in (1, -1):                          # the two branches of the minima aw = β*
            a_line = sign * np.linspace(a_min, extent, 80)
            ax.plot(beta_star[0] / a_line, beta_star[1] / a_line, a_line, color=COLORS["green"],
                    lw=1.5, label="minima aw = β*" if sign == 1 else None)
        ax.plot(exact.w[i, :, 0], exact.w[i, :, 1], exact.a[i], color=COLORS["blue"], lw=3,
                label="exact")
        ax.plot(gd.w[i, :, 0], gd.w[i, :, 1], gd.a[i], "o", ms=3, mfc="none", color="k",
                label="gradient descent")
        ax.plot([exact.w[i, 0, 0]], [exact.w[i, 0, 1]], [exact.a[i, 0]], "s", color="k", ms=5)
        lim = (-extent, extent)
        ax.set(xlabel="$w_1$", ylabel="$w_2$", zlabel="$a$", xlim=lim, ylim=lim, zlim=lim,
               title=f"δ = {d:g}: {regime(d).split(':')[0]}")
        ax.view_init(elev=22, azim=-50)
        if k == 0:
            ax.legend(loc="upper left", fontsize=7)
    return fig


def function_space_figure(exact: Trajectory, gd: Trajectory, deltas, beta0, beta_star):
    """Function space β = a w for a δ sweep from one β₀ (d = 2): exact lines, descent circles,
    over the loss contours ½‖β − β*‖² (whitened inputs)."""
    deltas = _check_runs(exact, gd, deltas)
    beta0 = _vector2(beta0, "beta0")
    beta_star = _vector2(beta_star, "beta_star")
    colors = delta_colors(deltas)
    fig, ax = figure(height=5.0)
    g = np.linspace(-0.3, 1.3, 161)
    B1, B2 = np.meshgrid(g, g)
    ax.contourf(B1, B2, 0.5 * ((B1 - beta_star[0]) ** 2 + (B2 - beta_star[1]) ** 2), levels=16,
                cmap="Greys", alpha=0.3)
    for i, d in enumerate(deltas):
        ax.plot(exact.beta[i, :, 0], exact.beta[i, :, 1], color=colors[i], label=f"δ = {d:g}")
        ax.plot(gd.beta[i, :, 0], gd.beta[i, :, 1], "o", ms=3.5, mfc="none", color=colors[i])
    ax.plot(*beta0, "s", color="k", label=r"$\beta_0$")
    ax.plot(*beta_star, "*", color=COLORS["red"], ms=14, label=r"$\beta_*$")
    ax.annotate("upstream: lazy,\nnearly straight", (0.62, 0.55), fontsize=9, color=colors[-1])
    ax.annotate("balanced: rich", (0.3, 0.22), fontsize=9)
    ax.annotate("downstream: via the origin, delayed", (-0.25, -0.2), fontsize=9, color=colors[0])
    ax.set(xlabel=r"$\beta_1$", ylabel=r"$\beta_2$", aspect="equal", xlim=(-0.3, 1.3),
           ylim=(-0.3, 1.3), title="Function space: exact (lines), gradient descent (circles)")
    ax.legend(loc="upper right", fontsize=8, ncol=2)
    return fig


def loss_kernel_figure(exact: Trajectory, S, gd: Trajectory, S_gd, deltas):
    """Loss and kernel distance S(t) against time for a δ sweep: exact lines, descent circles."""
    deltas = _check_runs(exact, gd, deltas)
    S, S_gd = as_array(S, "S", ndim=2), as_array(S_gd, "S_gd", ndim=2)
    if S.shape != exact.loss.shape:
        raise ValueError(f"S must have the shape of exact.loss {exact.loss.shape}, got {S.shape}")
    if S_gd.shape != gd.loss.shape:
        raise ValueError(f"S_gd must have the shape of gd.loss {gd.loss.shape}, got {S_gd.shape}")
    colors = delta_colors(deltas)
    fig, (ax0, ax1) = figure(1, 2, width="wide", height=3.6)
    for i, d in enumerate(deltas):
        ax0.semilogy(exact.t, exact.loss[i], color=colors[i], label=f"δ = {d:g}")
        ax0.semilogy(gd.t, gd.loss[i], "o", ms=3, mfc="none", color=colors[i])
        ax1.plot(exact.t, S[i], color=colors[i], label=f"δ = {d:g}")
        ax1.plot(gd.t, S_gd[i], "o", ms=3, mfc="none", color=colors[i])
    ax0.set(xlabel="time t", ylabel=r"loss $\mathcal{L}(t)$", ylim=(1e-10, 1), title="Loss")
    ax1.set(xlabel="time t", ylabel="kernel distance S(t)",
            title="Kernel distance from initialisation")
    ax1.annotate("downstream: frozen, then a late jump", (6, 0.82), fontsize=9, color=colors[0])
    ax1.annotate("balanced: moves early", (19, 0.23), fontsize=9)
    ax1.annotate("upstream: lazy, S ≈ 0", (19, 0.08), fontsize=9, color=colors[-1])
    ax0.legend(fontsize=8, ncol=2)
    return fig


def implicit_bias_figure(X, y, beta0, sweep, beta_inf, deltas, paths: Trajectory, end_points,
                         lazy, down):
    """Implicit bias for n < d, d = 2 (paper, Fig. 4b): function-space paths and end points of
    gradient descent over the exact curve β∞(δ) (left); the position of β∞ along the line of
    interpolants against δ (right).

    ``sweep`` (K,) and ``beta_inf`` (K, 2): the exact curve; ``deltas`` (B,), ``paths`` (a
    Trajectory batched over them) and ``end_points`` (B, 2): gradient descent; ``lazy``,
    ``down``: the δ → ±∞ limits.
    """
    X = as_array(X, "X", ndim=2, nonempty=True)
    if X.shape[1] != 2:
        raise ValueError(f"implicit_bias_figure draws d = 2 problems, got X of shape {X.shape}")
    y = as_array(y, "y", ndim=1)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have length n = {X.shape[0]} (rows of X), got {y.shape}")
    beta0, lazy, down = _vector2(beta0, "beta0"), _vector2(lazy, "lazy"), _vector2(down, "down")
    sweep = as_array(sweep, "sweep", ndim=1, nonempty=True)
    beta_inf = as_array(beta_inf, "beta_inf", ndim=2)
    if beta_inf.shape != (sweep.size, 2):
        raise ValueError(f"beta_inf must be (len(sweep), 2) = ({sweep.size}, 2), got {beta_inf.shape}")
    deltas = as_array(deltas, "deltas", ndim=1, nonempty=True)
    end_points = as_array(end_points, "end_points", ndim=2)
    if end_points.shape != (deltas.size, 2):
        raise ValueError(f"end_points must be (len(deltas), 2) = ({deltas.size}, 2), got "
                         f"{end_points.shape}")
    if not isinstance(paths, Trajectory):
        raise TypeError(f"paths must be a Trajectory, got {type(paths).__name__}")
    if paths.beta.ndim != 3 or paths.beta.shape[0] != deltas.size or paths.beta.shape[-1] != 2:
        raise ValueError(f"paths must hold one d = 2 run per δ of deltas ({deltas.size}), got beta "
                         f"of shape {paths.beta.shape}")
    beta_mn = np.linalg.pinv(X) @ y
    null = null_direction(X)
    colors = delta_colors(deltas)
    fig, (ax0, ax1) = figure(1, 2, width="wide", height=4.4)
    line = beta_mn[None, :] + np.linspace(-1.6, 1.8, 2)[:, None] * null
    ax0.plot(line[:, 0], line[:, 1], color=COLORS["grey"], lw=1, label=r"interpolants $X\beta = y$")
    ax0.plot(beta_inf[:, 0], beta_inf[:, 1], color=COLORS["theory"], lw=3, alpha=0.35,
             label=r"exact $\beta_\infty(\delta)$")
    for i in range(deltas.size):
        ax0.plot(paths.beta[i, :, 0], paths.beta[i, :, 1], ".", ms=2, color=colors[i])
        ax0.plot(*end_points[i], "o", mfc="none", ms=8, color=colors[i],
                 label="GD end points (red: δ < 0, blue: δ > 0)" if i == 0 else None)
    ax0.plot(*beta0, "s", color="k", label=r"$\beta_0$")
    ax0.plot(*beta_mn, "*", color=COLORS["red"], ms=12, label=r"$\beta_{\rm mn}$ (min norm)")
    ax0.plot(*lazy, "D", color=COLORS["blue"], label=r"lazy limit $\beta_{\rm mn} + P_{\rm null}\beta_0$")
    ax0.plot(*down, "^", color=COLORS["orange"], ms=8, label=r"downstream limit $\tau^*\beta_0$")
    ax0.plot([0, down[0]], [0, down[1]], ":", color=COLORS["orange"], lw=1)
    ax0.set(xlabel=r"$\beta_1$", ylabel=r"$\beta_2$", aspect="equal", xlim=(-0.1, 1.9),
            ylim=(-0.3, 1.3), title="Function space: descent paths (dots) and end points")
    ax0.legend(fontsize=7, loc="upper right")

    ax1.plot(sweep, (beta_inf - beta_mn) @ null, color=COLORS["theory"], label=r"exact $\beta_\infty(\delta)$")
    ax1.plot(deltas, (end_points - beta_mn) @ null, "o", mfc="none", ms=8, color=COLORS["blue"],
             label="gradient descent, extrapolated to dt → 0")
    ax1.axhline((lazy - beta_mn) @ null, ls="--", color=COLORS["blue"], label="lazy limit (δ → +∞)")
    ax1.axhline((down - beta_mn) @ null, ls="--", color=COLORS["orange"], label="downstream limit (δ → −∞)")
    ax1.axhline(0, ls=":", color=COLORS["red"], label="minimum norm")
    ax1.set_xscale("symlog", linthresh=1e-2)
    ax1.set(xlabel="imbalance δ", ylabel=r"$(\beta_\infty - \beta_{\rm mn})\cdot \hat n_{\rm null}$",
            title="Position of the interpolant along the solution line")
    ax1.set_xticks([-1e4, -1e2, -1, 0, 1, 1e2, 1e4])
    pos_down, pos_lazy = float((down - beta_mn) @ null), float((lazy - beta_mn) @ null)
    gap = 0.06 * (abs(pos_down - pos_lazy) + 1e-12)
    ax1.annotate("downstream", (-5e3, pos_down - 2 * gap if pos_down > pos_lazy else pos_down + gap),
                 fontsize=9, color=COLORS["orange"])
    ax1.annotate("upstream (lazy)", (30, pos_lazy + gap if pos_down > pos_lazy else pos_lazy - 2 * gap),
                 fontsize=9, color=COLORS["blue"])
    ax1.legend(fontsize=7, loc="lower left")
    return fig


# ----------------------------------------------------------------------------------------------
# Explorers
# ----------------------------------------------------------------------------------------------

_BETA_STAR = np.array([0.0, 1.0])  # the explorers' whitened problem: X = I₂, β* = (0, 1)
_G = np.linspace(-1.6, 1.6, 81)
_LOSS_IMAGE = 0.5 * (_G[None, :] ** 2 + (_G[:, None] - 1.0) ** 2)


def _solve(beta0, deltas, eta_ratio: float, t_max: float, n_t: int):
    """Exact trajectories from the initial function β₀ (β* = (0, 1), X = I₂) for each δ, with
    η_a/η_w = ``eta_ratio`` and η_aη_w = 1: (t, trajectory, kernel distance S(t))."""
    eta_a, eta_w = np.sqrt(eta_ratio), 1.0 / np.sqrt(eta_ratio)
    a0, w0 = init_from_beta(beta0, deltas, eta_a, eta_w)
    t = np.linspace(0.0, t_max, n_t)
    tr = whitened_solution(t, a0, w0, _BETA_STAR, eta_a, eta_w)
    return t, tr, kernel_distance_whitened(a0, w0, tr.a, tr.w, eta_a, eta_w)


@explorer(delta=[-4.0, -1.0, 0.0, 1.0, 4.0], eta_ratio=[0.1, 1.0, 10.0],
          scale=[0.1, 1.0], labels={"delta": "δ", "eta_ratio": "η_a/η_w", "scale": "‖β₀‖"})
def single_neuron_explorer(delta: float = 0.0, eta_ratio: float = 1.0, scale: float = 1.0, *,
                           angle_deg: float = 90.0, t_max: float = 20.0):
    """One whitened single-neuron problem (X = I₂, β* = (0, 1)), solved exactly (paper, Sec. 3).

    β₀ = scale·(sin θ, cos θ), θ = ``angle_deg`` the angle between β₀ and β*; its parameters
    (a₀, w₀) realise that β₀ with imbalance δ (:func:`init_from_beta`), so the initial function
    is the same for every δ. Left: β(t) in function space over the loss. Right: the kernel
    distance S(t) and the loss relative to its initial value.
    """
    delta = check_scalar(delta, "delta")
    eta_ratio = check_scalar(eta_ratio, "eta_ratio", min=0.0, include_min=False)
    scale = check_scalar(scale, "scale", min=0.0, include_min=False)
    theta = np.deg2rad(check_scalar(angle_deg, "angle_deg", min=0.0, max=180.0))
    t_max = check_scalar(t_max, "t_max", min=0.0, include_min=False)
    beta0 = scale * np.array([np.sin(theta), np.cos(theta)])
    t, tr, S = _solve(beta0, delta, eta_ratio, t_max, 600)

    # a fixed layout: every frame has the same axes, and constrained layout would cost most of
    # a frame's drawing time
    fig, (ax0, ax1) = figure(1, 2, width="wide", height=3.6, layout="none")
    fig.subplots_adjust(left=0.07, right=0.97, bottom=0.14, top=0.86, wspace=0.25)
    ax0.imshow(_LOSS_IMAGE, extent=(-1.6, 1.6, -1.6, 1.6), origin="lower", cmap="Greys",
               alpha=0.35, interpolation="bilinear")  # the loss ½‖β − β*‖², drawn cheaply
    ax0.plot(tr.beta[:, 0], tr.beta[:, 1], color=COLORS["blue"], label="β(t), exact")
    ax0.plot(*beta0, "o", color=COLORS["blue"], label="β₀")
    ax0.plot(*_BETA_STAR, "*", color=COLORS["red"], ms=12, label="β*")
    ax0.set(xlabel=r"$\beta_1$", ylabel=r"$\beta_2$", aspect="equal", xlim=(-1.6, 1.6),
            ylim=(-1.6, 1.6), title=f"function space, δ = {delta:g}")
    ax0.legend(loc="lower left")
    ax1.plot(t, S, color=COLORS["orange"], label="kernel distance S(t)")
    ax1.plot(t, tr.loss / tr.loss[0], color=COLORS["blue"], label="loss / loss(0)")
    ax1.set(xlabel="time t", ylabel="S(t), loss/loss(0)", xlim=(0, t_max), ylim=(0, 1.02))
    ax1.legend(loc="center right")
    ax1.set_title(f"{regime(delta)}\nη_a/η_w = {eta_ratio:g}, ‖β₀‖ = {scale:g}", fontsize=9)
    return fig


SCRUBBER_DELTAS = tuple(float(d) for d in np.linspace(-4.0, 4.0, 17))


@functools.lru_cache(maxsize=4)
def _scrubber_runs(t_max: float = 20.0):
    """Every δ of the scrubber solved once (β₀ = (1, 0) ⟂ β*, unit rates): (t, trajectory, S)."""
    return _solve(np.array([1.0, 0.0]), np.array(SCRUBBER_DELTAS), 1.0, t_max, 400)


@explorer(delta=list(SCRUBBER_DELTAS), play="delta", labels={"delta": "δ"})
def delta_scrubber(delta: float = 0.0):
    """Step through δ from −4 to 4 with β₀ = (1, 0) held fixed (X = I₂, β* = (0, 1), unit rates):
    the function-space path of that δ over the faint paths of all the others (left), and its
    kernel distance S(t) and loss/loss(0) (right). Exact solutions (paper, Sec. 3, Fig. 3).
    """
    delta = check_scalar(delta, "delta")
    if delta not in SCRUBBER_DELTAS:
        raise ValueError(f"delta must be one of the scrubber's values {SCRUBBER_DELTAS}, got {delta}")
    t, tr, S = _scrubber_runs()
    i = SCRUBBER_DELTAS.index(delta)
    fig, (ax0, ax1) = figure(1, 2, width="wide", height=3.4, layout="none")
    fig.subplots_adjust(left=0.07, right=0.97, bottom=0.15, top=0.9, wspace=0.25)
    for j in range(len(SCRUBBER_DELTAS)):
        ax0.plot(tr.beta[j, :, 0], tr.beta[j, :, 1], color=COLORS["grey"], lw=0.6, alpha=0.4)
    ax0.plot(tr.beta[i, :, 0], tr.beta[i, :, 1], color=COLORS["blue"], label="β(t), exact")
    ax0.plot(*_BETA_STAR, "*", color=COLORS["red"], ms=12, label="β*")
    ax0.plot(1.0, 0.0, "o", color=COLORS["grey"], label="β₀")
    ax0.set(xlabel=r"$\beta_1$", ylabel=r"$\beta_2$", xlim=(-0.2, 1.4), ylim=(-0.4, 1.2),
            aspect="equal", title=f"δ = {delta:g}: {regime(delta).split(':')[0]}")
    ax0.legend(loc="lower left")
    ax1.plot(t, S[i], color=COLORS["orange"], label="kernel distance S(t)")
    ax1.plot(t, tr.loss[i] / tr.loss[i, 0], color=COLORS["blue"], label="loss / loss(0)")
    ax1.set(xlabel="time t", ylabel="S(t), loss/loss(0)", xlim=(0, t[-1]), ylim=(0, 1),
            title="kernel distance and loss")
    ax1.legend(loc="upper right")
    return fig


def alignment_delay_figure(delay: AlignmentDelay, beta0, beta_star, eta_a: float = 1.0,
                           eta_w: float = 1.0, *, n_t: int = 400):
    """The downstream delay (paper, Sec. 3, p. 5–6): φ(t) against t/|δ| and T against |δ|.

    Left: φ(t) of the closed form for each δ of ``delay`` (lines), against the rescaled time
    t/|δ|, over the solution of the paper's reduced equation φ̇ = η_aη_w‖β*‖²|δ|⁻¹φ(1 − φ²)
    (dashed): they collapse. Right: the time to reach φ = ``delay.phi_to``, from the closed
    form (circles) and from Eq. 2 integrated numerically (crosses), against |δ| on log-log
    axes, with the reduced-equation time (line), ∝ |δ|. ``delay`` from
    :func:`theory.rich_lazy.exact.alignment_delay` with the same β₀, β*, η_a, η_w.
    """
    if not isinstance(delay, AlignmentDelay):
        raise TypeError(f"delay must be an AlignmentDelay, got {type(delay).__name__}")
    beta0 = as_array(beta0, "beta0", ndim=1)
    beta_star = as_array(beta_star, "beta_star", ndim=1)
    eta_a = check_scalar(eta_a, "eta_a", min=0.0, include_min=False)
    eta_w = check_scalar(eta_w, "eta_w", min=0.0, include_min=False)
    n_t = check_scalar(n_t, "n_t", kind="int", min=2)
    s = float(np.linalg.norm(beta_star))
    scale = float(np.max(delay.t_reduced / np.abs(delay.deltas)))  # T/|δ| of the reduced equation
    x = np.linspace(0.0, 1.6 * scale, n_t)
    colors = delta_colors(np.concatenate([delay.deltas, [-delay.deltas.min()]]))[:-1]
    fig, (ax0, ax1) = figure(1, 2, width="wide", height=3.6)
    for dl, col in zip(delay.deltas, colors):
        a0, w0 = init_from_beta(beta0, dl, eta_a, eta_w)
        _, phi = mu_phi(whitened_solution(np.abs(dl) * x, a0, w0, beta_star, eta_a, eta_w), beta_star)
        ax0.plot(x, phi, color=col, label=f"δ = {dl:g}")
    c = eta_a * eta_w * s**2
    p0 = delay.phi0
    reduced = p0 * np.exp(c * x) / np.sqrt(1 - p0**2 + p0**2 * np.exp(2 * c * x))
    ax0.plot(x, reduced, "--", color=COLORS["theory"], label="reduced equation")
    ax0.axhline(delay.phi_to, color=COLORS["grey"], lw=0.8)
    ax0.set(xlabel=r"rescaled time $t/|\delta|$", ylabel=r"alignment $\phi(t)$",
            title=r"$\phi$ against $t/|\delta|$: one curve")
    ax0.legend(fontsize=8)
    mags = np.abs(delay.deltas)
    ax1.loglog(mags, delay.t_reduced, "-", color=COLORS["theory"],
               label=r"reduced equation, $T \propto |\delta|$")
    ax1.loglog(mags, delay.t_exact, "o", mfc="none", color=colors[0], label="closed form")
    ax1.loglog(mags, delay.t_eq2, "x", color=COLORS["grey"], label="Eq. 2, integrated")
    ax1.set_xticks(mags, labels=[f"{m:g}" for m in mags])
    ax1.minorticks_off()
    ax1.set(xlabel=r"$|\delta|$",
            ylabel=rf"time $T$ to reach $\phi = {delay.phi_to:g}$",
            title=f"Delay against |δ| (slope {delay.slope:.3f})")
    ax1.legend(fontsize=8)
    return fig


def mu_phi_figure(exact: Trajectory, gd: Trajectory, deltas, beta_star):
    """The paper's Fig. 3a–b in its own variables: μ = a‖w‖ and φ = cos∠(w, β*) against time
    (Sec. 3, Eq. 2) for a δ sweep, exact lines and gradient-descent circles."""
    deltas = _check_runs(exact, gd, deltas)
    beta_star = as_array(beta_star, "beta_star", ndim=1)
    mu, phi = mu_phi(exact, beta_star)
    mu_gd, phi_gd = mu_phi(gd, beta_star)
    colors = delta_colors(deltas)
    fig, (ax0, ax1) = figure(1, 2, width="wide", height=3.4)
    for i, d in enumerate(deltas):
        ax0.plot(exact.t, mu[i], color=colors[i], label=f"δ = {d:g}")
        ax0.plot(gd.t, mu_gd[i], "o", ms=3, mfc="none", color=colors[i])
        ax1.plot(exact.t, phi[i], color=colors[i], label=f"δ = {d:g}")
        ax1.plot(gd.t, phi_gd[i], "o", ms=3, mfc="none", color=colors[i])
    ax0.set(xlabel="time t", ylabel=r"$\mu = a\|w\|$", title=r"$\mu(t)$")
    ax1.set(xlabel="time t", ylabel=r"$\phi = \cos\angle(w, \beta_*)$", title=r"$\phi(t)$")
    ax1.legend(fontsize=8, ncol=2)
    return fig


def official_region_figure(survey: dict):
    """The official notebook's closed form (re-implemented) and ours against a tight ODE, per
    random trajectory, in the (δ, z₀) plane, z₀ = (δ + 2ν₀)/D: the max abs error of each
    (colour, log scale); the region δ < 0, z₀ > 1 shaded. ``survey`` from
    :func:`theory.rich_lazy.official_formula.official_error_survey`."""
    from matplotlib.colors import LogNorm

    dl, z0 = np.asarray(survey["delta"]), np.asarray(survey["z0"])
    errs = {"official formula": np.asarray(survey["official"]), "ours": np.asarray(survey["ours"])}
    fig, axes = figure(1, 2, height=3.6)
    norm = LogNorm(1e-13, 1e1)
    lo, hi = min(dl.min(), -0.5) * 1.05, max(dl.max(), 0.5) * 1.05
    for ax, (name, err) in zip(axes, errs.items()):
        ax.fill_between([lo, 0.0], 1.0, max(z0.max(), 1.5) * 1.05, color=COLORS["red"], alpha=0.12,
                        label=r"$\delta < 0,\ z_0 > 1$")
        sc = ax.scatter(dl, z0, c=np.clip(err, 1e-13, 1e1), norm=norm, cmap="viridis", s=14)
        ax.set(xlabel=r"$\delta$", ylabel=r"$z_0 = (\delta + 2\nu_0)/D$", xlim=(lo, hi),
               title=f"{name}: max |error| vs ODE")
        ax.set_yscale("symlog", linthresh=1.0)
        ax.axhline(1.0, color="k", lw=0.6)
        ax.axhline(-1.0, color="k", lw=0.6, ls=":")
        ax.axvline(0.0, color="k", lw=0.6)
    axes[0].legend(loc="lower right", fontsize=8)
    fig.colorbar(sc, ax=axes, shrink=0.85, label="max abs error over (a, w) and t")
    return fig
