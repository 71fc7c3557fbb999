"""Figures and the explorer of the transformer-signal chapter (``book/transformer_signal``).

Every function takes explicit arguments (the data it draws, computed by
:mod:`theory.transformer_signal.exact` or :mod:`~theory.transformer_signal.simulate`), sizes its
figure with :func:`theory.core.figure` and returns the ``matplotlib`` Figure. Theory is drawn as
lines, simulation as markers.
"""

from __future__ import annotations

from functools import lru_cache

import matplotlib.pyplot as plt
import numpy as np

from theory.core import COLORS, as_array, check_scalar, explorer, figure
from theory.transformer_signal import exact as _exact
from theory.transformer_signal import simulate as _simulate
from theory.transformer_signal.exact import (angle_exponent, attention_table, gradient_exponent,
                                             iterate_map, simplex_fixed_point)

__all__ = [
    "angle_exponent_figure",
    "attention_figure",
    "attention_only_figure",
    "gradient_figure",
    "layer_by_layer_figure",
    "map_phases_figure",
    "measured_phase_figure",
    "paper_measured_figure",
    "paper_phase_figure",
    "phase_axes",
    "phase_figure",
    "simplex_width_figure",
    "theory_phase_figure",
    "signal_explorer",
    "trainability_figure",
]

_CASE_COLORS = (COLORS["blue"], COLORS["orange"], COLORS["green"], COLORS["red"], COLORS["purple"],
                COLORS["sky"], COLORS["grey"])


def _result(x, name: str, cls):
    """``x`` when it is a ``cls`` (the result the figure draws), else a TypeError naming ``name``."""
    if not isinstance(x, cls):
        raise TypeError(f"{name} must be a {cls.__module__}.{cls.__name__}, got {type(x).__name__}")
    return x


def _model(model, name: str = "model") -> dict:
    if not isinstance(model, dict) or not {"activation", "residual"} <= set(model):
        raise TypeError(f"{name} must be a dict with 'activation' and 'residual' (e.g. PAPER_MODEL), "
                        f"got {model!r}")
    return model


def _text(x, name: str) -> str:
    if not isinstance(x, str):
        raise TypeError(f"{name} must be a str, got {type(x).__name__}")
    return x


def _pair(x, name: str):
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise TypeError(f"{name} must be a pair of two entries, got {x!r}")
    return x


def _colors(k: int):
    return [_CASE_COLORS[i % len(_CASE_COLORS)] for i in range(k)]


# --- theory.ipynb ---------------------------------------------------------------------------

def attention_figure(summary):
    """Left: the softmax moments a₂(ρ), a₁₁(ρ) against 1/n. Right: the attention output cosine
    ρ_A = p_A/q_A, with q_A = ρ + (1−ρ)a₂ and p_A = ρ + (1−ρ)a₁₁, against the identity.
    ``summary``: an :class:`~theory.transformer_signal.exact.AttentionSummary`."""
    _result(summary, "summary", _exact.AttentionSummary)
    rho, a2, a11 = (np.asarray(v, float) for v in (summary.rho, summary.a2, summary.a11))
    n, sigma_A = summary.n, summary.sigma_A
    fig, (ax0, ax1) = figure(1, 2, width="wide")
    ax0.plot(rho, a2, label=r"$a_2 = \mathbb{E}\sum_j A_{ij}^2$")
    ax0.plot(rho, a11, label=r"$a_{11} = \mathbb{E}\sum_j A_{ij}A_{kj}$")
    ax0.axhline(1 / n, color=COLORS["grey"], ls=":", label="1/n")
    ax0.set(xlabel=r"cosine $\rho$", ylabel="softmax moment",
            title=f"Attention moments, n = {n}, σ_A = {sigma_A:g}")
    ax0.legend()
    qA, pA = rho + (1 - rho) * a2, rho + (1 - rho) * a11
    ax1.plot(rho, pA / qA, label=r"attention output $\rho_A = p_A/q_A$")
    ax1.plot(rho, rho, color=COLORS["grey"], ls=":", label="identity")
    ax1.set(xlabel=r"input cosine $\rho$", ylabel="output cosine",
            title="Attention pulls tokens together")
    ax1.legend()
    return fig


def map_phases_figure(phases, *, fit_from: int = 20):
    """ρ_ℓ of the map for each named stack (solid: from the first ρ₀, dashed: the second) and
    1 − ρ_ℓ on a log scale, with the slope λ_a (dotted) for the collapsing stacks and the
    simplex fixed point ρ* of each chaotic one.

    ``phases``: a :class:`~theory.transformer_signal.exact.MapPhases` (tracks with two starts).
    """
    _result(phases, "phases", _exact.MapPhases)
    fit_from = check_scalar(fit_from, "fit_from", kind="int", min=0, max=phases.depth)
    tracks, exponents = phases.tracks, phases.exponents
    fig, (ax0, ax1) = figure(1, 2, width="wide")
    for (name, tr), col in zip(tracks.items(), _colors(len(tracks))):
        lam = float(exponents[name])
        depth = tr.rho.shape[0] - 1
        ax0.plot(tr.rho[:, 0], color=col, label=f"{name}: λ_a = {lam:+.2f}")
        ax0.plot(tr.rho[:, 1], color=col, ls="--")
        ax1.semilogy(np.clip(1 - tr.rho[:, 0], 1e-16, None), color=col, label=name)
        if lam < 0:
            ell = np.arange(depth + 1)
            ax1.semilogy(ell, (1 - tr.rho[fit_from, 0]) * np.exp(lam * (ell - fit_from)), color=col,
                         ls=":", lw=1)
    for name, fp in phases.simplex.items():
        head = f"{name}: " if len(phases.simplex) > 1 else ""
        ax0.axhline(fp.rho, color=COLORS["grey"], lw=1,
                    label=f"{head}simplex fixed point ρ* = {fp.rho:.3f}")
    ax0.set(xlabel="layer ℓ", ylabel=r"cosine $\rho_\ell$",
            title="The map from ρ₀ = 0.2 (solid) and 0.95 (dashed)")
    ax1.set(xlabel="layer ℓ", ylabel=r"$1-\rho_\ell$", ylim=(1e-9, 2),
            title="Distance from collapse; dotted: slope λ_a")
    ax0.legend(fontsize=8)
    ax1.legend(fontsize=8)
    return fig


def phase_axes(ax, alphas, sigma_ws, values, *, alpha_A: float, label: str,
               vmax: float | None = None, model: dict | None = None):
    """Heat map of ``values`` (len(alphas) × len(sigma_ws)) over (α_M, σ_w) at fixed α_A,
    diverging about 0, with the theoretical zero contours of λ_a (solid) and λ_g (dashed)."""
    from matplotlib.colors import TwoSlopeNorm

    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    alphas = as_array(alphas, "alphas", ndim=1, nonempty=True)
    sigma_ws = as_array(sigma_ws, "sigma_ws", ndim=1, nonempty=True)
    if np.any(sigma_ws <= 0):
        raise ValueError("sigma_ws must be > 0")
    values = as_array(values, "values", shape=(alphas.size, sigma_ws.size))
    alpha_A = check_scalar(alpha_A, "alpha_A", min=0.0, max=1.0)
    _text(label, "label")
    if vmax is not None:
        vmax = check_scalar(vmax, "vmax", min=0.0, include_min=False)
    model = _model(model) if model is not None else None
    vmax = vmax or float(np.nanmax(np.abs(values))) or 1.0
    im = ax.pcolormesh(alphas, sigma_ws, values.T, cmap="RdBu_r", shading="nearest",
                       norm=TwoSlopeNorm(0.0, -vmax, vmax))
    plt.colorbar(im, ax=ax, label=label)
    fa = np.linspace(alphas.min(), alphas.max(), 120)
    fs = np.linspace(sigma_ws.min(), sigma_ws.max(), 120)
    A, S = np.meshgrid(fa, fs, indexing="ij")
    model = model or {}
    ax.contour(A, S, angle_exponent(alpha_A, A, S, **model), levels=[0], colors="k", linewidths=1.8)
    ax.contour(A, S, gradient_exponent(alpha_A, A, S, **model), levels=[0], colors="k", linewidths=1.8,
               linestyles="--")
    ax.plot([], [], "k-", label="theory λ_a = 0")
    ax.plot([], [], "k--", label="theory λ_g = 0")
    ax.set(xlabel="α_M", ylabel="σ_w")
    return im


def phase_figure(left, right, *, alpha_A: float, labels, titles, suptitle: str, vmax: float = 1.0,
                 model: dict | None = None):
    """Two :func:`phase_axes` panels side by side. ``left``/``right``: (alphas, sigma_ws, values).

    :func:`theory_phase_figure` and :func:`measured_phase_figure` are the chapter's two uses."""
    for name, panel in (("left", left), ("right", right)):
        if not isinstance(panel, (tuple, list)) or len(panel) != 3:
            raise TypeError(f"{name} must be a triple (alphas, sigma_ws, values), got {panel!r}")
    labels, titles = _pair(labels, "labels"), _pair(titles, "titles")
    _text(suptitle, "suptitle")
    vmax = check_scalar(vmax, "vmax", min=0.0, include_min=False)
    alpha_A = check_scalar(alpha_A, "alpha_A", min=0.0, max=1.0)
    fig, axes = figure(1, 2, width="wide", height=4.2)
    for ax, (al, sw, val), lab, tit in zip(axes, (left, right), labels, titles):
        phase_axes(ax, al, sw, val, alpha_A=alpha_A, label=lab, vmax=vmax, model=model)
        ax.set_title(tit)
    axes[0].legend(loc="upper left", fontsize=8)
    fig.suptitle(suptitle)
    return fig


def theory_phase_figure(diagram, *, model: dict):
    """The closed-form λ_a and λ_g over (α_M, σ_w) at fixed α_A (theory notebook); ``diagram``:
    a :class:`~theory.transformer_signal.exact.PhaseDiagram`, ``model`` the activation and
    residual it was computed with (for the contours)."""
    _result(diagram, "diagram", _exact.PhaseDiagram)
    model = _model(model)
    grid, alpha_A = (diagram.alpha_M, diagram.sigma_w), diagram.alpha_A
    return phase_figure((*grid, diagram.lambda_a), (*grid, diagram.lambda_g), alpha_A=alpha_A,
                        model=model,
                        labels=(r"$\lambda_a$ (theory)", r"$\lambda_g$ (theory)"),
                        titles=("Angle exponent: ordered (blue) | chaotic (red)", "Gradient exponent"),
                        suptitle=f"Theory at α_A = {alpha_A:g}, σ_A = 1, {model['activation']} MLP, "
                                 f"{model['residual']} residual (closed form)")


def measured_phase_figure(diagrams):
    """Measured λ_a and λ_g over (α_M, σ_w); ``diagrams``: a
    :class:`~theory.transformer_signal.simulate.MeasuredPhaseDiagrams`."""
    m = _result(diagrams, "diagrams", _simulate.MeasuredPhaseDiagrams)
    return phase_figure((*m.grid_angle, m.lambda_a), (*m.grid_gradient, m.lambda_g),
                        alpha_A=m.alpha_A, model=m.model,
                        labels=(r"measured $\lambda_a$", r"measured $\lambda_g$"),
                        titles=(f"λ_a: one block, d = {m.d_angle}, {m.seeds_angle} seeds",
                                f"λ_g: autograd, L = {m.depth}, d = {m.d_gradient}, "
                                f"{m.seeds_gradient} seed(s)"),
                        suptitle=f"Measured exponents over (α_M, σ_w) at α_A = {m.alpha_A:g}, "
                                 f"σ_A = {m.sigma_A:g}; lines: theory zero contours")


# --- simulation.ipynb -----------------------------------------------------------------------

def layer_by_layer_figure(result):
    """ρ_ℓ and q_ℓ: map (lines), mean of projected-weight simulations (circles, every second
    layer) and of full-weight ones (crosses). ``result``: a
    :class:`~theory.transformer_signal.simulate.LayerByLayer`."""
    _result(result, "result", _simulate.LayerByLayer)
    mf, sim, full, names = result.map, result.projected, result.full, result.names
    alpha_A, alpha_M, sigma_w = result.configs.T
    d, n, sigma_A = result.d, result.n, result.sigma_A
    depth = mf.rho.shape[0] - 1
    la = angle_exponent(alpha_A, alpha_M, sigma_w, **result.model)
    fig, (ax0, ax1) = figure(1, 2, width="wide", height=4.0)
    ell = np.arange(depth + 1)
    seeds, seeds_full = sim.rho.shape[-1], full.rho.shape[-1]
    for k, col in enumerate(_colors(len(names))):
        lab = (f"{names[k]}: α_A={alpha_A[k]:g}, α_M={alpha_M[k]:g}, σ_w={sigma_w[k]:g} "
               f"(λ_a={la[k]:+.2f})")
        ax0.plot(ell, mf.rho[:, k], color=col, label=lab)
        ax0.plot(ell[::2], sim.rho[::2, k].mean(-1), "o", ms=3.5, mfc="none", color=col)
        ax0.plot(np.arange(full.rho.shape[0]), full.rho[:, k].mean(-1), "x", ms=4, color=col)
        ax1.plot(ell, mf.q[:, k], color=col)
        ax1.plot(ell[::2], sim.q[::2, k].mean(-1), "o", ms=3.5, mfc="none", color=col)
    ax0.plot([], [], "ko", mfc="none", label=f"simulation (projected weights, {seeds} seeds)")
    ax0.plot([], [], "kx", label=f"simulation (full weights, {seeds_full} seeds)")
    ax0.set(xlabel="layer ℓ", ylabel=r"cosine $\rho_\ell$", ylim=(-0.02, 1.05))
    ax1.set(xlabel="layer ℓ", ylabel=r"norm $q_\ell$")
    ax0.legend(fontsize=7, loc="center right")
    fig.suptitle(f"Map (lines) against random transformers (markers): d = {d}, n = {n}, "
                 f"σ_A = {sigma_A:g}, float64")
    return fig


def attention_only_figure(result):
    """1 − ρ_ℓ of attention-only stacks (markers, mean over seeds) and the theory slope
    log(1 − α_A²) (lines) from the first fitted layer. ``result``: an
    :class:`~theory.transformer_signal.simulate.AttentionOnlyCollapse`."""
    _result(result, "result", _simulate.AttentionOnlyCollapse)
    rho_mean, alphas, fits = np.asarray(result.rho, float), result.alpha_A, result.fits
    d, seeds = result.d, result.seeds
    fig, ax = figure()
    for k, (a, (slope, ok), col) in enumerate(zip(alphas, fits, _colors(len(alphas)))):
        gap = 1 - rho_mean[:, k]
        ax.semilogy(np.arange(gap.size), gap, "o", ms=3.5, mfc="none", color=col,
                    label=f"α_A = {a:g}: fitted {slope:+.3f}")
        ax.semilogy(ok, gap[ok[0]] * np.exp(np.log(1 - a**2) * (ok - ok[0])), color=col,
                    label=f"theory log(1−α_A²) = {np.log(1 - a**2):+.3f}")
    ax.set(xlabel="layer ℓ", ylabel=r"$1-\rho_\ell$", ylim=(1e-12, 2),
           title=f"Attention only: collapse to a line (d = {d}, {seeds} seeds)")
    ax.legend(fontsize=8, ncol=1)
    return fig


def simplex_width_figure(result, *, title: str):
    """Scatter of the pairwise cosines against width (markers) and the d^{-1/2} law (line).
    ``result``: a :class:`~theory.transformer_signal.simulate.SimplexScatter`."""
    _result(result, "result", _simulate.SimplexScatter)
    _text(title, "title")
    widths, spread = np.asarray(result.widths, float), np.asarray(result.spread, float)
    seeds = result.seeds
    fig, ax = figure(height=3.8)
    ax.loglog(widths, spread, "o", color=COLORS["red"],
              label=f"std of pairwise cosines, last {result.last} layers")
    ax.loglog(widths, spread[0] * np.sqrt(widths[0] / widths), color=COLORS["theory"],
              label=r"$\propto d^{-1/2}$")
    ax.set(xlabel="width d", ylabel="spread of cosines", title=f"{title}: {seeds} seeds")
    ax.legend()
    return fig


def angle_exponent_figure(check):
    """Measured one-block exponents (mean ± s.e. over seeds; projected circles, full crosses)
    against the map's one-block value, and (squares) against the linear λ_a. ``check``: an
    :class:`~theory.transformer_signal.simulate.AngleExponentCheck`."""
    _result(check, "check", _simulate.AngleExponentCheck)
    lam_step, lam_lin, d, n = check.step, check.linear, check.d, check.n
    m_proj, m_full = np.asarray(check.projected, float), np.asarray(check.full, float)
    sp, sf = m_proj.shape[1], m_full.shape[1]
    fig, ax = figure(height=4.4)
    lim = [-1.0, 1.2]
    ax.plot(lim, lim, color=COLORS["theory"], label="measured = theory")
    ax.errorbar(lam_step, m_proj.mean(1), yerr=m_proj.std(1) / np.sqrt(sp), fmt="o", mfc="none",
                color=COLORS["blue"], label=f"vs one-block map, projected ({sp} seeds)")
    ax.errorbar(lam_step, m_full.mean(1), yerr=m_full.std(1) / np.sqrt(sf), fmt="x",
                color=COLORS["red"], label=f"vs one-block map, full weights ({sf} seeds)")
    ax.plot(lam_lin, m_proj.mean(1), "s", ms=4, mfc="none", color=COLORS["grey"],
            label="vs linear λ_a, projected")
    ax.axhline(0, color=COLORS["grey"], lw=0.8)
    ax.axvline(0, color=COLORS["grey"], lw=0.8)
    ax.set(xlabel="theory", ylabel=r"measured $\log[(1-\rho_1)/(1-\rho_0)]$", xlim=lim, ylim=lim,
           title=f"Angle exponent, one block from ρ₀ = 0.99, d = {d}, n = {n}")
    ax.legend(fontsize=8)
    return fig


def gradient_figure(check):
    """Left: log backpropagated gradient norms per layer (markers: mean over seeds; lines:
    theory). Right: measured λ_g against the finite-depth theory, ordered and chaotic stacks.
    ``check``: a :class:`~theory.transformer_signal.simulate.GradientExponentCheck`."""
    _result(check, "check", _simulate.GradientExponentCheck)
    log_norms, theory_norms, lg_meas = check.log_norms, check.profile, check.measured
    lg_theory, ordered, d = check.finite_depth, check.ordered, check.d
    labels = [f"α_A={a:g}, α_M={m:g}, σ_w={s:g}" for a, m, s in np.asarray(check.configs, float)]
    log_norms, lg_meas = np.asarray(log_norms, float), np.asarray(lg_meas, float)
    depth, seeds = log_norms.shape[0] - 1, log_norms.shape[-1]
    ordered = np.asarray(ordered, bool)
    fig, (ax0, ax1) = figure(1, 2, width="wide", height=4.0)
    lay = np.arange(depth + 1)
    for k, lab in enumerate(labels):
        c = plt.get_cmap("tab10")(k)
        ax0.plot(lay, log_norms[:, k].mean(-1), "o", ms=3.5, mfc="none", color=c)
        ax0.plot(lay, theory_norms[:, k], color=c, label=lab)
    ax0.set(xlabel="layer ℓ", ylabel=r"$\log(\|\partial(X_L\cdot R)/\partial X_\ell\|^2/\|R\|^2)$",
            title="Backpropagated gradient norms (lines: theory)")
    ax0.legend(fontsize=7)
    lims = [-0.3, 1.2]
    ax1.plot(lims, lims, color=COLORS["theory"], label="measured = theory")
    se = lg_meas.std(1) / np.sqrt(seeds)
    ax1.errorbar(lg_theory[ordered], lg_meas.mean(1)[ordered], yerr=se[ordered], fmt="o",
                 color=COLORS["blue"], label="ordered (λ_a < 0)")
    ax1.errorbar(lg_theory[~ordered], lg_meas.mean(1)[~ordered], yerr=se[~ordered], fmt="s",
                 mfc="none", color=COLORS["red"], label="chaotic (λ_a > 0)")
    ax1.set(xlabel=rf"theory $\lambda_g(L={depth})$", ylabel=r"measured $\lambda_g$",
            title=f"d = {d}, L = {depth}, {seeds} seeds")
    ax1.legend(fontsize=8)
    return fig


# --- trainability.ipynb ---------------------------------------------------------------------

def trainability_figure(summary):
    """Left: trained networks in the (λ_a, λ_g) plane coloured by final test loss. Middle: test
    loss against √(λ_a² + λ_g²) with the token-wise baseline. Right: training curves coloured
    by that distance. ``summary``: a :class:`~theory.transformer_signal.simulate.Trainability`."""
    s = _result(summary, "summary", _simulate.Trainability)
    fig, (ax0, ax1, ax2) = figure(1, 3, width="wide", height=4.0)
    sc = ax0.scatter(s.lambda_a, s.lambda_g, c=s.test_loss, cmap="viridis", s=80, edgecolor="k",
                     vmin=0, vmax=s.baseline)
    plt.colorbar(sc, ax=ax0, label="final test loss")
    ax0.axvline(0, color=COLORS["grey"], lw=1)
    ax0.axhline(0, color=COLORS["grey"], lw=1)
    ax0.plot([0], [0], "*", color=COLORS["red"], ms=14, label="λ_a = λ_g = 0")
    ax0.set(xlabel=r"$\lambda_a$ at initialisation", ylabel=r"$\lambda_g$ at initialisation",
            title="Trained networks in the exponent plane")
    ax0.legend(fontsize=8)
    ax1.plot(s.distance, s.test_loss, "o", color=COLORS["blue"], label="trained networks")
    ax1.axhline(s.baseline, color=COLORS["grey"], ls=":", label="token-wise baseline")
    ax1.set(xlabel=r"$\sqrt{\lambda_a^2+\lambda_g^2}$", ylabel="final test loss (nats)",
            title=s.describe)
    ax1.legend(fontsize=8)
    for k in np.argsort(s.distance):
        ax2.plot(s.steps, s.train_loss[k], color=plt.get_cmap("viridis")(min(s.distance[k], 1.0)),
                 lw=1.2)
    ax2.set(xlabel="step", ylabel="train loss", yscale="log",
            title="Training curves, coloured by distance (dark = near 0)")
    return fig


# --- explorer -------------------------------------------------------------------------------

_EXPLORER_RHO0 = (0.05, 0.3, 0.6, 0.9, 0.99)


@lru_cache(maxsize=4)
def _explorer_table(sigma_A: float, n: int):
    """The attention moments of the explorer's (σ_A, n), tabulated once (a few seconds)."""
    return attention_table(sigma_A, n, points=161, samples=2000)


@lru_cache(maxsize=128)
def _explorer_map(alpha_A: float, alpha_M: float, sigma_w: float, sigma_A: float, n: int,
                  depth: int, residual: str):
    """The map's trajectories from the explorer's five starting cosines, and (scaled residual,
    chaotic phase) the simplex ρ*. The erf MLP: its kernel is in closed form, so a frame is
    cheap (the tanh kernel is a 2-D quadrature)."""
    rho0 = np.array(_EXPLORER_RHO0)
    params = dict(alpha_A=alpha_A, alpha_M=alpha_M, sigma_w=sigma_w, sigma_A=sigma_A, n=n,
                  moments=_explorer_table(sigma_A, n), activation="erf", residual=residual)
    tr = iterate_map(np.ones_like(rho0), rho0, depth, **params)
    la = float(angle_exponent(alpha_A, alpha_M, sigma_w, "erf", residual))
    fp = None
    if residual == "scaled" and la > 0 and (alpha_A > 0 or alpha_M > 0):
        fp = simplex_fixed_point(**params)
    return tr, fp


@explorer(alpha_A=[0.1, 0.5, 0.9], alpha_M=[0.0, 0.5, 0.9], sigma_w=[0.5, 2.0, 6.0],
          residual=["plain", "scaled"],
          labels={"alpha_A": "α_A", "alpha_M": "α_M", "sigma_w": "σ_w", "residual": "residual"})
def signal_explorer(alpha_A: float = 0.5, alpha_M: float = 0.5, sigma_w: float = 6.0,
                    residual: str = "plain"):
    """ρ_ℓ and q_ℓ through 32 blocks of the mean-field map (n = 8 tokens, σ_A = 1, erf MLP) from
    five starting cosines, with λ_a, λ_g (at q = 1 for the plain residual x + αf, the paper's
    Eq. 4 per script E; at q* for the scaled one) and, scaled and chaotic, the simplex ρ*.

    The book's reconstruction of the paper's update map (Subsec. 3.3), with the attention
    moments tabulated once at 161 cosines (2000 fixed-seed logit matrices each) and
    interpolated, so that a frame costs a few hundredths of a second before drawing.
    """
    n, depth, sigma_A = 8, 32, 1.0
    tr, fp = _explorer_map(float(alpha_A), float(alpha_M), float(sigma_w), sigma_A, n, depth,
                           str(residual))
    la = float(angle_exponent(alpha_A, alpha_M, sigma_w, "erf", residual))
    lg = float(gradient_exponent(alpha_A, alpha_M, sigma_w, "erf", residual))
    fig, (ax0, ax1) = figure(1, 2, width="wide", height=3.4)
    layers = np.arange(depth + 1)
    colors = plt.get_cmap("viridis")(np.linspace(0.1, 0.9, len(_EXPLORER_RHO0)))
    for k, r0 in enumerate(_EXPLORER_RHO0):
        ax0.plot(layers, tr.rho[:, k], color=colors[k], label=f"ρ₀ = {r0:g}")
        ax1.plot(layers, tr.q[:, k], color=colors[k])
    if fp is not None:
        ax0.axhline(fp.rho, color=COLORS["red"], ls="--", lw=1, label=f"simplex ρ* = {fp.rho:.3f}")
    phase = "chaotic" if la > 0 else "ordered"
    ax0.set(xlabel="layer ℓ", ylabel=r"cosine $\rho_\ell$", ylim=(-0.05, 1.02),
            title=f"λ_a = {la:+.3f}, λ_g = {lg:+.3f} ({phase})")
    ax1.set(xlabel="layer ℓ", ylabel=r"norm $q_\ell$", title="per-coordinate token norm")
    ax0.legend(fontsize=7, loc="lower right")
    fig.suptitle(f"Mean-field map ({residual} residual, erf MLP), n = {n}, σ_A = {sigma_A:g}: "
                 f"α_A = {alpha_A:g}, α_M = {alpha_M:g}, σ_w = {sigma_w:g}")
    return fig


# --- the paper's axes (theory.ipynb, simulation.ipynb) --------------------------------------

def _paper_panel(ax, alpha, sigma_w, values, *, label: str, contours, vmax: float):
    """Heat map over (α, σ_w) diverging about 0, with zero contours ``contours`` = list of
    (alpha, sigma_w, field, linestyle, legend label) drawn in black."""
    from matplotlib.colors import TwoSlopeNorm

    values = np.clip(np.asarray(values, float), -vmax, vmax)
    im = ax.pcolormesh(alpha, sigma_w, values.T, cmap="RdBu_r", shading="nearest",
                       norm=TwoSlopeNorm(0.0, -vmax, vmax))
    plt.colorbar(im, ax=ax, label=label)
    for al, sw, field, ls, lab in contours:
        field = np.nan_to_num(np.asarray(field, float), neginf=-1e3)
        if field.min() < 0 < field.max():
            ax.contour(al, sw, field.T, levels=[0], colors="k", linewidths=1.6, linestyles=ls)
        ax.plot([], [], "k", ls=ls, label=lab)
    ax.set(xlabel=r"$\alpha = \alpha_A = \alpha_M$", ylabel=r"$\sigma_w$")


def paper_phase_figure(*diagrams, vmax: float = 0.3):
    """For each :class:`~theory.transformer_signal.exact.PaperPhaseDiagram` (one row per
    model): λ_a from q₀ = 1 (left) and the finite-depth λ_g of the tokens' direction (right)
    over the paper's axes, each with the zero contours of λ_a (solid) and λ_g(L) (dashed)."""
    if not diagrams:
        raise TypeError("diagrams: give at least one PaperPhaseDiagram")
    for k, dg in enumerate(diagrams):
        _result(dg, f"diagrams[{k}]", _exact.PaperPhaseDiagram)
    vmax = check_scalar(vmax, "vmax", min=0.0, include_min=False)
    fig, axes = figure(len(diagrams), 2, width="wide", height=3.6 * len(diagrams))
    axes = np.atleast_2d(axes)
    for row, dg in zip(axes, diagrams):
        m = dg.model
        cont = [(dg.alpha, dg.sigma_w, dg.lambda_a, "-", "λ_a = 0"),
                (dg.alpha, dg.sigma_w, dg.lambda_g_direction, "--", f"λ_g(L={dg.depth}) = 0")]
        _paper_panel(row[0], dg.alpha, dg.sigma_w, dg.lambda_a, label=r"$\lambda_a$ (theory)",
                     contours=cont, vmax=vmax)
        _paper_panel(row[1], dg.alpha, dg.sigma_w, dg.lambda_g_direction,
                     label=rf"$\lambda_g(L={dg.depth})$ (theory)", contours=cont, vmax=vmax)
        row[0].set_title(f"{m['residual']} residual, {m['activation']}: angle exponent")
        row[1].set_title(f"{m['residual']}: gradient exponent, direction, L = {dg.depth}, n = {dg.n}")
        row[0].legend(loc="lower left", fontsize=7)
    fig.suptitle("The paper's axes (Fig. 4 per the scripts), closed forms at ρ → 1 from q₀ = 1, "
                 "σ_A plays no part")
    return fig


def paper_measured_figure(measured, theory, *, vmax: float = 0.3):
    """Measured λ_a and λ_g(L) of the direction on the paper's axes (``measured``: a
    :class:`~theory.transformer_signal.simulate.PaperPhaseMeasurement`) with the zero contours
    of the closed forms (``theory``: a :class:`~theory.transformer_signal.exact.PaperPhaseDiagram`
    of the same model, depth and n, on a finer grid)."""
    m = _result(measured, "measured", _simulate.PaperPhaseMeasurement)
    t = _result(theory, "theory", _exact.PaperPhaseDiagram)
    vmax = check_scalar(vmax, "vmax", min=0.0, include_min=False)
    fig, axes = figure(1, 2, width="wide", height=4.0)
    cont = [(t.alpha, t.sigma_w, t.lambda_a, "-", "theory λ_a = 0"),
            (t.alpha, t.sigma_w, t.lambda_g_direction, "--", f"theory λ_g(L={t.depth}) = 0")]
    _paper_panel(axes[0], m.alpha, m.sigma_w, m.lambda_a, label=r"measured $\lambda_a$",
                 contours=cont, vmax=vmax)
    _paper_panel(axes[1], m.alpha, m.sigma_w, m.lambda_g_direction,
                 label=rf"measured $\lambda_g(L={m.depth})$", contours=cont, vmax=vmax)
    axes[0].set_title(f"λ_a: one block, d = {m.d}, {m.seeds_angle} seeds")
    axes[1].set_title(f"λ_g: autograd, L = {m.depth}, d = {m.d}, {m.seeds_gradient} seed(s)")
    axes[0].legend(loc="lower left", fontsize=7)
    fig.suptitle(f"Measured on the paper's axes: {m.model['residual']} residual, "
                 f"{m.model['activation']} MLP, n = {m.n}, σ_A = {m.sigma_A:g}, float64")
    return fig
