"""Figures of the rich/lazy chapter: pure functions of their arguments that draw on matplotlib.

Each one runs alone (the static book calls it once) and is what the notebook's widgets call.
Theory is drawn as lines, simulation as markers.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from theory.core import COLORS
from theory.rich_lazy.exact import (init_from_beta, kernel_distance_whitened,
                                    whitened_solution)

__all__ = ["delta_colors", "draw_level_set", "explorer_figure", "regime", "scrubber_animation"]


def regime(delta: float) -> str:
    """Name of the regime of an imbalance δ, as the paper names them."""
    if delta > 0:
        return "upstream (δ > 0): lazy as δ grows"
    if delta < 0:
        return "downstream (δ < 0): slow, delayed"
    return "balanced (δ = 0): rich"


def delta_colors(deltas) -> list:
    """A diverging colour per δ: downstream in warm colours, balanced black, upstream cool."""
    deltas = np.asarray(deltas, dtype=float)
    m = max(np.max(np.abs(deltas)), 1e-12)
    cmap = plt.get_cmap("coolwarm_r")
    return [COLORS["theory"] if d == 0 else cmap(0.5 + 0.45 * np.sign(d) * (0.35 + 0.65 * abs(d) / m))
            for d in deltas]


def draw_level_set(ax, delta: float, eta_a: float = 1.0, eta_w: float = 1.0, *, extent: float = 2.5,
                   n: int = 41) -> None:
    """Draw the surface η_w a² − η_a(w₁² + w₂²) = δ on a 3-D axis (w₁, w₂, a).

    δ > 0: a two-sheeted hyperboloid; δ = 0: a double cone; δ < 0: a one-sheeted hyperboloid.
    """
    phi = np.linspace(0, 2 * np.pi, n)
    r = np.linspace(0, extent, n)
    R, P = np.meshgrid(r, phi)
    if delta >= 0:
        A = np.sqrt((delta + eta_a * R**2) / eta_w)
        sheets = (A, -A)
    else:
        rmin = np.sqrt(-delta / eta_a)
        R = rmin + R * (extent - rmin) / extent if extent > rmin else R + rmin
        A = np.sqrt(np.maximum(delta + eta_a * R**2, 0) / eta_w)
        sheets = (A, -A)
    for A_ in sheets:
        ax.plot_surface(R * np.cos(P), R * np.sin(P), A_, color=COLORS["grey"], alpha=0.12,
                        linewidth=0, antialiased=False)


def _solve(beta0, deltas, eta_ratio: float, t_max: float, n_t: int):
    """Exact trajectories from the initial function β₀ (target β* = (0, 1), X = I₂) for each δ,
    with η_a/η_w = ``eta_ratio``: (t, trajectory, kernel distance S(t))."""
    eta_a, eta_w = np.sqrt(eta_ratio), 1.0 / np.sqrt(eta_ratio)
    a0, w0 = init_from_beta(beta0, deltas, eta_a, eta_w)
    t = np.linspace(0.0, t_max, n_t)
    tr = whitened_solution(t, a0, w0, np.array([0.0, 1.0]), eta_a, eta_w)
    return t, tr, kernel_distance_whitened(a0, w0, tr.a, tr.w, eta_a, eta_w)


def explorer_figure(delta: float = 0.0, eta_ratio: float = 1.0, scale: float = 1.0, *,
                    angle_deg: float = 90.0, t_max: float = 20.0):
    """The chapter's explorer: one whitened single-neuron problem (β* = (0, 1), X = I₂).

    β₀ = scale·(sin θ, cos θ), θ = ``angle_deg`` the angle between β₀ and β*; its parameters
    (a₀, w₀) realise that β₀ with imbalance δ, so the initial function is the same for every δ.
    Left: β(t) in function space over the loss. Right: loss and kernel distance S(t).
    Returns the figure.
    """
    beta_star = np.array([0.0, 1.0])
    theta = np.deg2rad(angle_deg)
    beta0 = scale * np.array([np.sin(theta), np.cos(theta)])
    t, tr, S = _solve(beta0, delta, eta_ratio, t_max, 600)

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4.2))
    g = np.linspace(-1.6, 1.6, 121)
    B1, B2 = np.meshgrid(g, g)
    ax0.contourf(B1, B2, 0.5 * (B1**2 + (B2 - 1) ** 2), levels=20, cmap="Greys", alpha=0.35)
    ax0.plot(tr.beta[:, 0], tr.beta[:, 1], color=COLORS["blue"], label="β(t), exact")
    ax0.plot(*beta0, "o", color=COLORS["blue"], label="β₀")
    ax0.plot(*beta_star, "*", color=COLORS["red"], ms=12, label="β*")
    ax0.set(xlabel=r"$\beta_1$", ylabel=r"$\beta_2$", aspect="equal", xlim=(-1.6, 1.6),
            ylim=(-1.6, 1.6), title=f"function space, δ = {delta:g}")
    ax0.legend(loc="lower left")
    ax1.semilogy(t, tr.loss, color=COLORS["blue"], label=r"loss $\mathcal{L}(t)$")
    ax1.set(xlabel="time t", ylabel=r"loss $\mathcal{L}$", ylim=(1e-8, 2))
    ax2 = ax1.twinx()
    ax2.plot(t, S, color=COLORS["orange"], label="kernel distance S(t)")
    ax2.set(ylabel="kernel distance S", ylim=(0, 1))
    ax2.grid(False)
    lines = ax1.get_lines() + ax2.get_lines()
    ax1.legend(lines, [ln.get_label() for ln in lines], loc="upper right")
    ax1.set_title(f"{regime(delta)}\nη_a/η_w = {eta_ratio:g}, ‖β₀‖ = {scale:g}")
    fig.tight_layout()
    return fig


def scrubber_animation(deltas, *, eta_ratio: float = 1.0, scale: float = 1.0, t_max: float = 20.0):
    """A matplotlib animation over δ (function-space path and S(t)), for ``to_jshtml``.

    It is the static book's stand-in for the explorer: a self-contained scrubber that needs no
    kernel. Returns (animation, figure).
    """
    from matplotlib.animation import FuncAnimation

    deltas = np.asarray(deltas, dtype=float)
    beta_star = np.array([0.0, 1.0])
    beta0 = np.array([scale, 0.0])
    t, tr, S = _solve(beta0, deltas, eta_ratio, t_max, 400)

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(9, 3.8))
    ax0.plot(*beta_star, "*", color=COLORS["red"], ms=12, label="β*")
    ax0.plot(*beta0, "o", color=COLORS["grey"], label="β₀")
    (path,) = ax0.plot([], [], color=COLORS["blue"], label="β(t), exact")
    ax0.set(xlabel=r"$\beta_1$", ylabel=r"$\beta_2$", xlim=(-0.2, 1.4), ylim=(-0.4, 1.2),
            aspect="equal")
    ax0.legend(loc="lower left")
    (s_line,) = ax1.plot([], [], color=COLORS["orange"], label="S(t)")
    (l_line,) = ax1.plot([], [], color=COLORS["blue"], label="loss")
    ax1.set(xlabel="time t", ylabel="S(t), loss", xlim=(0, t_max), ylim=(0, 1))
    ax1.legend(loc="upper right")
    fig.tight_layout()

    def frame(i):
        path.set_data(tr.beta[i, :, 0], tr.beta[i, :, 1])
        s_line.set_data(t, S[i])
        l_line.set_data(t, tr.loss[i] / tr.loss[i, 0])
        ax0.set_title(f"δ = {deltas[i]:g}: {regime(deltas[i]).split(':')[0]}")
        ax1.set_title("S(t) and loss/loss(0)")
        return path, s_line, l_line

    anim = FuncAnimation(fig, frame, frames=len(deltas), interval=400, blit=False)
    return anim, fig
