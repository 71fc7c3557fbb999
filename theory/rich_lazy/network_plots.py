"""Figures and explorers of the networks pages of the rich/lazy chapter (linear networks,
two-layer ReLU).

Every function takes its data explicitly (the result of an experiment of
:mod:`theory.rich_lazy.linear_networks` or :mod:`theory.rich_lazy.two_layer`) and returns the
Figure, sized by :func:`theory.core.figure`. Theory is drawn as lines, simulation as markers.
The two explorers are module-level :func:`theory.core.explorer` functions: ``linear_explorer``
(the exact function-space flow of a square network, cached per frame) and ``relu_explorer``
(one student of the Fig. 1a task per frame, all frames trained in one batched run, cached).
"""

from __future__ import annotations

import functools

import matplotlib.pyplot as plt
import numpy as np

from theory.core import COLORS, as_array, check_scalar, explorer, figure
from theory.rich_lazy.linear_networks import (WIDTH_SHAPES, AlignedModes, SquareGrid, WidthRegimes,
                                             square_flow, square_problem)
from theory.rich_lazy.mirror_flow import DeepBias, MirrorFlowCheck, hyperbolic_entropy
from theory.rich_lazy.two_layer import (Fig1a, PhaseDiagram, relu_descent, relu_student_init,
                                        teacher_student)

__all__ = ["RELU_EXPLORER_GRID", "aligned_modes_figure", "deep_bias_figure", "fig1a_figure",
           "fig5b_figure", "linear_explorer", "mirror_flow_figure", "phase_diagram_figure",
           "relu_explorer", "square_grid_figure", "width_regime_figure"]

_MODE_COLORS = (COLORS["blue"], COLORS["orange"], COLORS["green"], COLORS["red"])


def _check(obj, cls, name):
    if not isinstance(obj, cls):
        raise TypeError(f"{name} must be a {cls.__name__} (from the experiment function), got "
                        f"{type(obj).__name__}")


def _twin_legend(ax1, ax2, **kw):
    ax2.grid(False)
    lines = ax1.get_lines() + ax2.get_lines()
    lines = [ln for ln in lines if not ln.get_label().startswith("_")]
    ax1.legend(lines, [ln.get_label() for ln in lines], **kw)


# ---- linear networks ---------------------------------------------------------------------------


def mirror_flow_figure(check: MirrorFlowCheck, *, q_deltas=(1e-8, 1e-2, 1.0, 1e2)):
    """Theorem B.6. Left: the hyperbolic entropy q_δ(x)/q_δ(1) (Eq. 119) for several δ (lines)
    against |x| (ℓ¹) and x² (ℓ²) (dashed). Right: the relative error of the mirror-flow rate
    −√(4λ² + δ²)∂L/∂λ against λ̇ of the simulated network along each flow (markers), and for the
    non-isotropic control (squares)."""
    _check(check, MirrorFlowCheck, "check")
    q_deltas = np.atleast_1d(as_array(q_deltas, "q_deltas", ndim=(0, 1), nonempty=True))
    if np.any(q_deltas == 0):
        raise ValueError("q_deltas must be non-zero finite values of δ")
    fig, (ax0, ax1) = figure(1, 2, width="wide", height=3.3)
    x = np.linspace(-2, 2, 401)
    colors = [plt.cm.viridis(i / max(len(q_deltas) - 1, 1) * 0.9) for i in range(len(q_deltas))]
    for dl, c in zip(q_deltas, colors):
        ax0.plot(x, hyperbolic_entropy(x, dl) / hyperbolic_entropy(1.0, dl), color=c,
                 label=f"|δ| = {abs(dl):g}")
    ax0.plot(x, np.abs(x), "--", color=COLORS["grey"], label="|x| (ℓ¹, δ → 0)")
    ax0.plot(x, x**2, ":", color=COLORS["grey"], label="x² (ℓ², δ → ±∞)")
    ax0.set(xlabel="singular value x", ylabel="q_δ(x) / q_δ(1)", ylim=(0, 4),
            title="hyperbolic entropy, Eq. 119")
    ax0.legend(fontsize=6)
    floor = 1e-17
    for p, dl in enumerate(check.deltas):
        ax1.semilogy(check.t, np.maximum(check.error[p], floor), "o", ms=4,
                     color=_MODE_COLORS[p % len(_MODE_COLORS)], label=f"Δ = δI, δ = {dl:+g}")
    ax1.semilogy(check.t, check.control_error, "s", ms=4, color=COLORS["grey"],
                 label="control: Gaussian init, Δ ≠ δI")
    ax1.set(xlabel="time t", ylabel="max |λ̇ − λ̇_mirror| / max |λ̇|", ylim=(floor, 10),
            title="mirror flow (Eq. 118) along simulated flows")
    ax1.legend(fontsize=6, loc="center right")
    return fig


def deep_bias_figure(bias: DeepBias):
    """Theorem B.10. Left: the entries of the flow's interpolant (markers) and of argmin Q
    (Eq. 123, lines) per depth, minus those of the minimum-norm interpolant (grey, zero). Right: the relative
    distance of the flow's interpolant from argmin Q against |δ| (δ < 0 markers; the δ = 0 value
    as a dotted line)."""
    _check(bias, DeepBias, "bias")
    fig, (ax0, ax1) = figure(1, 2, width="wide", height=3.3)
    idx = np.arange(bias.beta0.size)
    for k, L in enumerate(bias.depths):
        c = _MODE_COLORS[k % len(_MODE_COLORS)]
        ax0.plot(idx, bias.beta_Q[k] - bias.beta_mn, "-", color=c, label=f"argmin Q, L = {L}")
        ax0.plot(idx, bias.beta_flow[k, 0] - bias.beta_mn, "o", mfc="none", color=c)
    ax0.axhline(0.0, ls="--", color=COLORS["grey"], label="minimum norm")
    ax0.plot([], [], "o", mfc="none", color="k", label=f"gradient flow, δ = {bias.deltas[0]:g}")
    ax0.set(xlabel="coordinate j", ylabel="β_j − β_mn,j at interpolation",
            title="interpolants, relative to the minimum-norm one")
    ax0.legend(fontsize=6)
    neg = bias.deltas < 0
    for k, L in enumerate(bias.depths):
        c = _MODE_COLORS[k % len(_MODE_COLORS)]
        if neg.any():
            ax1.loglog(-bias.deltas[neg], bias.error[k, neg], "o-", color=c, label=f"L = {L}")
        zero = bias.deltas == 0
        if zero.any():
            ax1.axhline(max(bias.error[k, zero][0], 1e-16), color=c, ls=":")
    ax1.plot([], [], ":", color="k", label="δ = 0")
    ax1.set(xlabel="|δ| (δ < 0)", ylabel="‖β_flow − β_Q‖ / ‖β_Q‖", title="rich limit δ → 0")
    ax1.legend(fontsize=6)
    return fig


def aligned_modes_figure(res: AlignedModes, *, every: int = 3):
    """Singular values of β(t) = W₂W₁ for each δ pattern: exact mode solutions (lines) and
    gradient descent (circles, every ``every``-th record)."""
    _check(res, AlignedModes, "res")
    every = check_scalar(every, "every", kind="int", min=1)
    P, r = res.patterns.shape
    fig, axes = figure(1, P, width="wide", height=3.2, sharey=True)
    for p, ax in enumerate(np.atleast_1d(axes)):
        for i in range(r):
            c = _MODE_COLORS[i % len(_MODE_COLORS)]
            ax.plot(res.t_fine, res.sv_exact[p][:, i], color=c, label=f"mode {i + 1}: s = {res.s[i]:g}")
            ax.plot(res.t[::every], res.sv_gd[p][::every, i], "o", ms=4, mfc="none", color=c)
        ax.set(xlabel="time t", yscale="log", ylim=(5e-3, 3),
               title="δ per mode = (" + ", ".join(f"{x:g}" for x in res.patterns[p]) + ")")
    axes[0].set_ylabel("singular values of β = W₂W₁")
    axes[0].plot([], [], "o", mfc="none", color="k", label=f"descent, lr = {res.lr:g}")
    axes[0].legend(fontsize=7, loc="lower right")
    return fig


def width_regime_figure(w: WidthRegimes):
    """Sec. 4, p. 7: kernel distance S(t) of the narrowing and the expanding network for each δ
    (gradient descent, markers joined by thin lines), with each run's time to fit (triangle)."""
    _check(w, WidthRegimes, "w")
    fig, axes = figure(1, 2, width="wide", height=3.2, sharey=True)
    colors = [plt.cm.coolwarm(i / max(len(w.deltas) - 1, 1)) for i in range(len(w.deltas))]
    t = np.maximum(w.t, w.t[1])
    for s, (ax, name) in enumerate(zip(axes, w.shapes)):
        d, h, c = WIDTH_SHAPES[name]
        for p, (dl, col) in enumerate(zip(w.deltas, colors)):
            ax.semilogx(t, w.S_t[s, p], "o-", ms=2.5, lw=0.6, color=col, label=f"δ = {dl:+g}")
            if np.isfinite(w.t_fit[s, p]):
                ax.plot(w.t_fit[s, p], np.interp(w.t_fit[s, p], t, w.S_t[s, p]), "v", ms=7,
                        color=col, mec="k", mew=0.5)
        ax.set(xlabel="time t = lr · step", title=f"{name}: {d} → {h} → {c}")
    axes[0].set_ylabel("kernel distance S(0, t)")
    axes[0].plot([], [], "v", color="k", label="time to fit (loss/10³)")
    axes[0].legend(fontsize=6, loc="upper left")
    return fig


def square_grid_figure(grid: SquareGrid):
    """Left: S(t_end) against δ per τ, reduced flow (lines, seed 0) and descent (circles, seed 0).
    Right: median over seeds of the time to fit against δ (never-fitted runs not drawn)."""
    _check(grid, SquareGrid, "grid")
    taus, deltas = grid.taus, grid.deltas
    colors = [plt.cm.viridis(i / max(len(taus) - 1, 1) * 0.9) for i in range(len(taus))]
    fig, (ax0, ax1) = figure(1, 2, width="wide", height=3.4)
    for i, tau in enumerate(taus):
        ax0.plot(deltas, grid.flow_kernel_distance[i, :, -1], color=colors[i], label=f"τ = {tau:.2g}")
        ax0.plot(deltas, grid.S_end[i, :, 0], "o", mfc="none", color=colors[i])
        ax1.plot(deltas, grid.t_fit_median[i], "o-", color=colors[i], label=f"τ = {tau:.2g}")
    ax0.plot([], [], "o", mfc="none", color="k", label="gradient descent")
    ax0.set(xlabel="imbalance δ", ylabel=f"kernel distance S(t = {grid.t[-1]:g})",
            title="reduced flow (lines), descent (circles)")
    ax1.set(xlabel="imbalance δ", ylabel="time to fit", yscale="log",
            title=f"median of {grid.sweep.shape[2]} random G")
    ax0.legend(fontsize=7)
    ax1.legend(fontsize=7)
    return fig


@functools.lru_cache(maxsize=64)
def _square_flow_frame(delta: float, tau: float, t_max: float):
    X, Y, beta_star, G = square_problem()
    t = np.linspace(0.0, t_max, 301)
    fl = square_flow(t, X, Y, tau**2 * G, delta, rtol=1e-8, atol=1e-10)
    return t, np.linalg.svd(fl.beta[0], compute_uv=False), fl.loss[0], fl.kernel_distance[0], \
        np.linalg.svd(beta_star, compute_uv=False)


@explorer(delta=[-4.0, -2.0, -1.0, 0.0, 1.0, 2.0, 4.0], tau=[0.1, 0.5, 2.0],
          labels={"delta": "δ", "tau": "τ"})
def linear_explorer(delta: float = 0.0, tau: float = 0.5, t_max: float = 30.0):
    """Square two-layer linear network with Δ = δI from β₀ = τ²G (:func:`square_problem`, d = 4):
    the singular values of β(t) against those of β* (dotted), and the loss and kernel distance
    S(t), from the exact function-space flow (:func:`square_flow`; cached per frame)."""
    delta = check_scalar(delta, "delta")
    tau = check_scalar(tau, "tau", min=0.0, include_min=False)
    t_max = check_scalar(t_max, "t_max", min=0.0, include_min=False)
    t, sv, loss, S, target = _square_flow_frame(delta, tau, t_max)
    fig, (ax0, ax1) = figure(1, 2, width="wide", height=3.2)
    for i in range(sv.shape[1]):
        c = plt.cm.viridis(i / sv.shape[1])
        ax0.plot(t, sv[:, i], color=c, label=f"σ{i + 1}(β(t))")
        ax0.axhline(target[i], color=c, ls=":", lw=1)
    ax0.set(xlabel="time t", ylabel="singular values of β", yscale="log", ylim=(1e-3, 10),
            title=f"δ = {delta:g}, τ = {tau:g} (dotted: target)")
    ax0.legend(fontsize=7, loc="lower right")
    ax1.semilogy(t, loss / loss[0], color=COLORS["blue"], label="loss / loss(0)")
    ax1.set(xlabel="time t", ylabel="loss / loss(0)", ylim=(1e-8, 2), title="exact flow, d = 4")
    ax2 = ax1.twinx()
    ax2.plot(t, S, color=COLORS["orange"], label="kernel distance S(t)")
    ax2.set(ylabel="kernel distance S", ylim=(0, 0.4))
    _twin_legend(ax1, ax2, loc="upper right", fontsize=7)
    return fig


# ---- two-layer ReLU ----------------------------------------------------------------------------


def _paths_panel(ax, a, W, teacher_W, title):
    """Paths |a_i|w_i (T, m, 2) of every neuron, end points coloured by sign(a_i), teacher rays."""
    path = np.abs(a)[..., None] * W
    for i in range(path.shape[1]):
        ax.plot(path[:, i, 0], path[:, i, 1], color="k", lw=0.5, alpha=0.4)
    ax.scatter(path[-1, :, 0], path[-1, :, 1], s=8, zorder=3,
               c=np.where(a[-1] > 0, COLORS["blue"], COLORS["red"]))
    lim = 1.15 * np.abs(path).max()
    for w in teacher_W:
        ax.plot([0, 2 * lim * w[0]], [0, 2 * lim * w[1]], color=COLORS["green"], lw=1.5, zorder=1)
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", xlabel=r"$|a_i|\,w_{i,1}$",
           title=title)


def _path_legend(ax):
    ax.plot([], [], color=COLORS["green"], lw=2, label="teacher directions")
    ax.plot([], [], "o", color=COLORS["blue"], label="a_i > 0 (end)")
    ax.plot([], [], "o", color=COLORS["red"], label="a_i < 0 (end)")
    ax.legend(fontsize=6, loc="lower left")


def fig1a_figure(exp: Fig1a, *, seed_index: int = 0):
    """Fig. 1a for one seed: top, the paths |a_i|w_i of every student neuron with the teacher's
    directions; bottom, training loss of the network (circles) and of its linearisation (line),
    and the kernel distance S (squares), against steps."""
    _check(exp, Fig1a, "exp")
    S = exp.sweep.shape[0]
    seed_index = check_scalar(seed_index, "seed_index", kind="int", min=0, max=S - 1)
    a, W = exp.metric("a")[seed_index], exp.metric("W")[seed_index]
    loss, dist = exp.metric("train_loss")[seed_index], exp.metric("kernel_distance")[seed_index]
    k = np.maximum(exp.result.steps, 1)
    G = len(exp.names)
    fig, axes = figure(2, G, width="wide", height=5.4)
    for g, name in enumerate(exp.names):
        _paths_panel(axes[0, g], a[g], W[g], exp.data.teacher_W[seed_index],
                     f"τ = {exp.tau[g]:g}, δ = {exp.delta[g]:g}\n{name}")
        ax1 = axes[1, g]
        ax1.loglog(k, exp.lin_loss[seed_index, g], color=COLORS["theory"], label="linearised (exact)")
        ax1.loglog(k, loss[g], "o", ms=3, mfc="none", color=COLORS["blue"], label="network loss")
        ax1.set(xlabel="step", ylim=(1e-10, 1))
        ax2 = ax1.twinx()
        ax2.semilogx(k, dist[g], "s", ms=3, color=COLORS["orange"], label="kernel distance S")
        ax2.set(ylim=(0, 0.25))
        ax2.grid(False)
        if g == G - 1:
            ax2.set_ylabel("kernel distance S")
        if g == 0:
            _twin_legend(ax1, ax2, fontsize=6, loc="lower left")
    axes[0, 0].set_ylabel(r"$|a_i|\,w_{i,2}$")
    axes[1, 0].set_ylabel("training loss")
    _path_legend(axes[0, 0])
    return fig


def phase_diagram_figure(pd: PhaseDiagram, *, threshold: float = 0.01):
    """Fig. 1b: the kernel distance S and log₁₀ test MSE over (τ, δ) (seed means), with the
    boundary τ_rich(δ) of S = threshold; right, S against τ at δ = −1, 0, +1 (markers)."""
    _check(pd, PhaseDiagram, "pd")
    threshold = check_scalar(threshold, "threshold", min=0.0, include_min=False)
    taus, deltas = pd.taus, pd.deltas
    nt, nd = taus.size, deltas.size
    tau_c = pd.tau_rich(threshold)
    fig, axes = figure(1, 3, width="wide", height=3.2)
    ext = [deltas[0] - 1 / nd, deltas[-1] + 1 / nd, 0, nt]
    for ax, Z, title, cmap in ((axes[0], pd.S, "kernel distance S", "magma"),
                               (axes[1], np.log10(pd.test), "log₁₀ test MSE", "viridis_r")):
        im = ax.imshow(Z, origin="lower", aspect="auto", extent=ext, cmap=cmap)
        ax.set_yticks(np.arange(nt) + 0.5, [f"{x:.2g}" for x in taus])
        ax.set(xlabel="imbalance δ", ylabel="initial scale τ", title=title)
        ax.grid(False)
        fig.colorbar(im, ax=ax)
    axes[0].plot(deltas, np.interp(np.log(tau_c), np.log(taus), np.arange(nt)) + 0.5, "o-",
                 color=COLORS["sky"], label=f"τ_rich(δ): S = {threshold:g}")
    axes[0].legend(fontsize=6, loc="upper right", framealpha=0.95, frameon=True)
    for j, c in zip((0, nd // 2, nd - 1), (COLORS["red"], COLORS["theory"], COLORS["blue"])):
        axes[2].loglog(taus, pd.S[:, j], "o", color=c, label=f"δ = {deltas[j]:+g}")
    axes[2].axhline(threshold, color=COLORS["grey"], ls=":", label=f"S = {threshold:g}")
    axes[2].set(xlabel="initial scale τ", ylabel="kernel distance S", title="S against τ")
    axes[2].legend(fontsize=6)
    return fig


def fig5b_figure(pd: PhaseDiagram):
    """Fig. 5b on the Fig. 1b sweep: the Hamming distance of the activation patterns from step 0
    (left) and the parameter distance ‖θ − θ₀‖ (middle) at the end over (τ, δ), seed means; right,
    one against the other through training (markers at the records, joined in time order) at the
    smallest τ for δ = −1, 0, +1 and at the largest τ for δ = 0."""
    _check(pd, PhaseDiagram, "pd")
    taus, deltas = pd.taus, pd.deltas
    nt, nd = taus.size, deltas.size
    fig, axes = figure(1, 3, width="wide", height=3.2)
    ext = [deltas[0] - 1 / nd, deltas[-1] + 1 / nd, 0, nt]
    for ax, Z, title, cmap in ((axes[0], pd.hamming_t[..., -1], "Hamming distance H", "magma"),
                               (axes[1], pd.param_t[..., -1], "parameter distance ‖θ − θ₀‖",
                                "viridis")):
        im = ax.imshow(Z, origin="lower", aspect="auto", extent=ext, cmap=cmap)
        ax.set_yticks(np.arange(nt) + 0.5, [f"{x:.2g}" for x in taus])
        ax.set(xlabel="imbalance δ", ylabel="initial scale τ", title=title)
        ax.grid(False)
        fig.colorbar(im, ax=ax)
    runs = [(0, 0, COLORS["red"], "o"), (0, nd // 2, COLORS["theory"], "o"),
            (0, nd - 1, COLORS["blue"], "o"), (nt - 1, nd // 2, COLORS["grey"], "s")]
    for i, j, c, mk in runs:
        axes[2].plot(pd.param_t[i, j], pd.hamming_t[i, j], mk + "-", ms=4, lw=0.8, color=c,
                     label=f"τ = {taus[i]:.2g}, δ = {deltas[j]:+g}")
    axes[2].set(xlabel="parameter distance ‖θ − θ₀‖", ylabel="Hamming distance H",
                title="through training (records)")
    axes[2].legend(fontsize=6)
    return fig


RELU_EXPLORER_GRID = {"tau": (0.05, 0.1, 0.3, 1.0, 2.0), "delta": (-1.0, -0.5, 0.0, 0.5, 1.0)}
"""The (τ, δ) values of :func:`relu_explorer`: 25 frames, trained together once."""

_RELU_TASK = {"d": 2, "n": 20, "m": 50, "steps": 4000, "lr": 0.02, "seed": 0}


def _relu_students(taus, deltas):
    """Train one Fig. 1a student per (τ, δ) (one batched run on the seed's data); returns the
    recorded steps, a (B, T, m), W (B, T, m, 2), loss and kernel distance (B, T), teacher W."""
    c = _RELU_TASK
    ts = teacher_student(c["d"], c["n"], [c["seed"]], n_test=10)
    a0, W0 = relu_student_init(np.asarray(taus), np.asarray(deltas), c["m"], c["d"], c["seed"])
    rec = np.r_[0, np.unique(np.geomspace(1, c["steps"], 60).astype(int))]
    run = relu_descent(ts.X[0], ts.y[0], a0, W0, lr=c["lr"], steps=c["steps"], record=rec)
    return run.steps, run["a"], run["W"], run["train_loss"], run["kernel_distance"], ts.teacher_W[0]


@functools.lru_cache(maxsize=1)
def _relu_explorer_runs():
    """Every student of :data:`RELU_EXPLORER_GRID`, trained in ONE batched run (cached)."""
    T, D = np.meshgrid(RELU_EXPLORER_GRID["tau"], RELU_EXPLORER_GRID["delta"], indexing="ij")
    out = _relu_students(T.ravel(), D.ravel())
    index = {(float(t), float(d)): i for i, (t, d) in enumerate(zip(T.ravel(), D.ravel()))}
    return index, out


@functools.lru_cache(maxsize=16)
def _relu_single_run(tau: float, delta: float):
    return _relu_students([tau], [delta])


@explorer(tau=list(RELU_EXPLORER_GRID["tau"]), delta=list(RELU_EXPLORER_GRID["delta"]),
          labels={"tau": "τ", "delta": "δ"})
def relu_explorer(tau: float = 0.1, delta: float = 0.0):
    """One student of the paper's Fig. 1a task (d = 2, n = 20, m = 50, 3-neuron teacher, seed 0,
    lr = 0.02, 4000 steps, float64) at (τ, δ): left, each neuron's path |a_i|w_i with the
    teacher's directions; right, training loss (circles) and kernel distance (squares) against
    steps. The grid's students are trained once, together; other (τ, δ) are trained alone."""
    tau = check_scalar(tau, "tau", min=0.0, include_min=False)
    delta = check_scalar(delta, "delta")
    index, out = _relu_explorer_runs()
    if (tau, delta) in index:
        i = index[(tau, delta)]
    else:
        i, out = 0, _relu_single_run(tau, delta)
    steps, a, W, loss, dist, teacher = out
    fig, (ax0, ax1) = figure(1, 2, width="wide", height=3.4)
    _paths_panel(ax0, a[i], W[i], teacher, f"τ = {tau:g}, δ = {delta:g}")
    ax0.set_ylabel(r"$|a_i|\,w_{i,2}$")
    _path_legend(ax0)
    k = np.maximum(steps, 1)
    ax1.loglog(k, loss[i], "o", ms=3, color=COLORS["blue"], label="training loss")
    ax1.set(xlabel="step", ylabel="loss (½ MSE)", title=f"descent, lr = {_RELU_TASK['lr']:g}, seed 0")
    ax2 = ax1.twinx()
    ax2.semilogx(k, dist[i], "s", ms=3, color=COLORS["orange"], label="kernel distance S")
    ax2.set(ylabel="kernel distance S", ylim=(0, 0.3))
    _twin_legend(ax1, ax2, loc="center left", fontsize=7)
    return fig
