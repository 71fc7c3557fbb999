"""Figures of the networks pages of the rich/lazy chapter (linear networks, two-layer ReLU).

Pure functions of their arguments: each runs alone (the static book calls it once with its
defaults) and is what the notebooks' widgets call. Theory is drawn as lines, simulation as markers.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from theory.core import COLORS
from theory.rich_lazy.linear_networks import square_flow, square_init
from theory.rich_lazy.two_layer import relu_descent, relu_student_init, teacher_student

__all__ = ["linear_explorer_figure", "relu_explorer_figure", "square_problem"]


def square_problem(d: int = 4, seed: int = 0, singular_values=(2.0, 1.5, 1.0, 0.5)):
    """The linear-networks page's task: whitened X (2d × d, orthonormal columns), a target
    β* = U diag(s) Vᵀ with the given singular values, and a random direction G (d × d, entries
    N(0, 1/d)) for the initial function β₀ = τ²G. Returns (X, Y, beta_star, G)."""
    s = np.asarray(singular_values, dtype=float)
    if s.shape != (d,):
        raise ValueError(f"singular_values must have d = {d} entries, got {s.shape}")
    rng = np.random.default_rng(seed)
    X = np.linalg.qr(rng.normal(size=(2 * d, d)))[0]
    U = np.linalg.qr(rng.normal(size=(d, d)))[0]
    V = np.linalg.qr(rng.normal(size=(d, d)))[0]
    beta_star = U @ np.diag(s) @ V.T
    G = rng.normal(size=(d, d)) / np.sqrt(d)
    return X, X @ beta_star.T, beta_star, G


def linear_explorer_figure(delta: float = 0.0, tau: float = 0.3, *, t_max: float = 30.0):
    """Square two-layer linear network with Δ = δI from β₀ = τ²G (:func:`square_problem`):
    singular values of β(t) against those of β*, the loss and the kernel distance S(t), from the
    exact function-space flow. Returns the figure."""
    X, Y, beta_star, G = square_problem()
    t = np.linspace(0.0, t_max, 301)
    fl = square_flow(t, X, Y, tau**2 * G, delta, rtol=1e-8, atol=1e-10)
    sv = np.linalg.svd(fl.beta[0], compute_uv=False)
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4))
    target = np.linalg.svd(beta_star, compute_uv=False)
    for i in range(sv.shape[1]):
        ax0.plot(t, sv[:, i], color=plt.cm.viridis(i / sv.shape[1]), label=f"σ_{i + 1}(β(t))")
        ax0.axhline(target[i], color=plt.cm.viridis(i / sv.shape[1]), ls=":", lw=1)
    ax0.set(xlabel="time t", ylabel="singular values of β", yscale="log", ylim=(1e-3, 10),
            title=f"δ = {delta:g}, τ = {tau:g} (dotted: target)")
    ax0.legend(fontsize=8, loc="lower right")
    ax1.semilogy(t, fl.loss[0] / fl.loss[0, 0], color=COLORS["blue"], label="loss / loss(0)")
    ax1.set(xlabel="time t", ylabel="loss / loss(0)", ylim=(1e-8, 2))
    ax2 = ax1.twinx()
    ax2.plot(t, fl.kernel_distance[0], color=COLORS["orange"], label="kernel distance S(t)")
    ax2.set(ylabel="kernel distance S", ylim=(0, 0.4))
    ax2.grid(False)
    lines = ax1.get_lines() + ax2.get_lines()
    ax1.legend(lines, [ln.get_label() for ln in lines], loc="upper right")
    ax1.set_title("exact function-space flow, d = 4")
    fig.tight_layout()
    return fig


def relu_explorer_figure(tau: float = 0.1, delta: float = 0.0, *, steps: int = 4000,
                         lr: float = 0.02, seed: int = 0):
    """The paper's Fig. 1a task (d = 2, n = 20, m = 50 student, 3-neuron teacher) for one (τ, δ):
    left, each student neuron's path a_i w_i in the input plane (dots: the end, blue a > 0, red
    a < 0) with the teacher neurons; right, training loss and kernel distance against steps.
    Gradient descent, float64. Returns the figure."""
    ts = teacher_student(2, 20, [seed], n_test=200)
    a0, W0 = relu_student_init(tau, delta, 50, 2, seed)
    rec = np.unique(np.geomspace(1, steps, 60).astype(int))
    run = relu_descent(ts.X[0], ts.y[0], a0, W0, lr=lr, steps=steps, record_at=np.r_[0, rec])
    path = np.abs(run.a[0])[..., None] * run.W[0]            # (T, m, 2): |a_i| w_i
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4.2))
    for i in range(path.shape[1]):
        ax0.plot(path[:, i, 0], path[:, i, 1], color="k", lw=0.5, alpha=0.5)
    end_sign = np.sign(run.a[0, -1])
    ax0.scatter(path[-1, :, 0], path[-1, :, 1], s=10, c=np.where(end_sign > 0, COLORS["blue"],
                                                                 COLORS["red"]), zorder=3)
    lim = 1.15 * np.abs(path).max()
    for w in ts.teacher_W[0]:                                  # teacher directions, as rays
        ax0.plot([0, 2 * lim * w[0]], [0, 2 * lim * w[1]], color=COLORS["green"], lw=1.5, zorder=1)
    ax0.plot([], [], color=COLORS["green"], lw=2, label="teacher directions")
    ax0.plot([], [], "o", color=COLORS["blue"], label="student, a > 0")
    ax0.plot([], [], "o", color=COLORS["red"], label="student, a < 0")
    ax0.set(xlabel=r"$|a_i|\,w_{i,1}$", ylabel=r"$|a_i|\,w_{i,2}$", aspect="equal",
            xlim=(-lim, lim), ylim=(-lim, lim), title=f"τ = {tau:g}, δ = {delta:g}")
    ax0.legend(fontsize=8, loc="lower left")
    k = np.maximum(run.steps, 1)
    ax1.loglog(k, run.loss[0], "o", ms=3, color=COLORS["blue"], label="training loss")
    ax1.set(xlabel="step", ylabel="loss (½ MSE)")
    ax2 = ax1.twinx()
    ax2.semilogx(k, run.kernel_distance[0], "s", ms=3, color=COLORS["orange"],
                 label="kernel distance S")
    ax2.set(ylabel="kernel distance S", ylim=(0, 0.3))
    ax2.grid(False)
    lines = ax1.get_lines() + ax2.get_lines()
    ax1.legend(lines, [ln.get_label() for ln in lines], loc="center left", fontsize=8)
    ax1.set_title(f"gradient descent, lr = {lr:g}, seed {seed}")
    fig.tight_layout()
    return fig
