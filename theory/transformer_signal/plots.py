"""Figures of the transformer-signal chapter: pure functions that draw on matplotlib.

Each runs alone (the static book calls it once with defaults) and is what the widgets call.
Theory is drawn as lines, simulation as markers.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from theory.core import COLORS
from theory.transformer_signal.exact import (angle_exponent, gradient_exponent, iterate_map,
                                             simplex_fixed_point)

__all__ = ["explorer_figure", "phase_axes"]


def explorer_figure(alpha_A: float = 0.3, alpha_M: float = 0.6, sigma_w: float = 3.0,
                    sigma_A: float = 1.0, n: int = 8, depth: int = 48, simulate: bool = False,
                    d: int = 256):
    """ρ and q against depth from the mean-field map for several starting cosines ρ₀.

    Prints λ_a, λ_g and the simplex fixed point; with ``simulate=True`` also draws random
    transformers of width ``d`` (markers, 2 seeds, projected sampling).
    """
    rho0 = np.array([0.05, 0.3, 0.6, 0.9, 0.99])
    params = dict(alpha_A=alpha_A, alpha_M=alpha_M, sigma_w=sigma_w, sigma_A=sigma_A, n=n)
    tr = iterate_map(np.ones_like(rho0), rho0, depth, **params, samples=1000)
    la, lg = float(angle_exponent(alpha_A, alpha_M, sigma_w)), float(gradient_exponent(alpha_A, alpha_M, sigma_w))
    fp = simplex_fixed_point(**params, samples=1000) if la > 0 else None
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 3.8))
    layers = np.arange(depth + 1)
    colors = plt.get_cmap("viridis")(np.linspace(0.1, 0.9, rho0.size))
    for k, r0 in enumerate(rho0):
        ax0.plot(layers, tr.rho[:, k], color=colors[k], label=f"map, ρ₀ = {r0:g}")
        ax1.plot(layers, tr.q[:, k], color=colors[k])
    if simulate:
        from theory.transformer_signal.simulate import propagate
        sim = propagate(alpha_A, alpha_M, sigma_w, sigma_A, n=n, d=d, depth=depth, rho0=rho0,
                        seeds=2)
        for k in range(rho0.size):
            ax0.plot(layers[::3], sim.rho[::3, k].mean(-1), "o", ms=3.5, mfc="none", color=colors[k])
            ax1.plot(layers[::3], sim.q[::3, k].mean(-1), "o", ms=3.5, mfc="none", color=colors[k])
    if fp is not None:
        ax0.axhline(fp.rho, color=COLORS["red"], ls="--", lw=1, label=f"simplex ρ* = {fp.rho:.3f}")
    ax0.set(xlabel="layer ℓ", ylabel="cosine ρ", ylim=(-0.05, 1.02),
            title=f"λ_a = {la:+.3f}, λ_g = {lg:+.3f} ({'chaotic' if la > 0 else 'ordered'})")
    ax1.set(xlabel="layer ℓ", ylabel="norm q", title="per-coordinate token norm")
    ax0.legend(fontsize=7, loc="lower right")
    fig.suptitle(f"Mean-field map, n = {n}: α_A = {alpha_A:g}, α_M = {alpha_M:g}, σ_w = {sigma_w:g}, "
                 f"σ_A = {sigma_A:g}" + (f"; markers: width {d}, 2 seeds" if simulate else ""))
    fig.tight_layout()
    return fig


def phase_axes(ax, alphas, sigma_ws, values, *, alpha_A: float, label: str,
               vmax: float | None = None):
    """Heat map of ``values`` (len(alphas) × len(sigma_ws)) over (α_M, σ_w) at fixed α_A,
    diverging about 0, with the theoretical zero contours of λ_a (solid) and λ_g (dashed)."""
    from matplotlib.colors import TwoSlopeNorm

    values = np.asarray(values, float)
    vmax = vmax or float(np.nanmax(np.abs(values)))
    im = ax.pcolormesh(alphas, sigma_ws, values.T, cmap="RdBu_r", shading="nearest",
                       norm=TwoSlopeNorm(0.0, -vmax, vmax))
    plt.colorbar(im, ax=ax, label=label)
    fa, fs = np.linspace(alphas.min(), alphas.max(), 120), np.linspace(sigma_ws.min(), sigma_ws.max(), 120)
    A, S = np.meshgrid(fa, fs, indexing="ij")
    ax.contour(A, S, angle_exponent(alpha_A, A, S), levels=[0], colors="k", linewidths=1.8)
    ax.contour(A, S, gradient_exponent(alpha_A, A, S), levels=[0], colors="k", linewidths=1.8,
               linestyles="--")
    ax.plot([], [], "k-", label="theory λ_a = 0")
    ax.plot([], [], "k--", label="theory λ_g = 0")
    ax.set(xlabel="α_M", ylabel="σ_w")
    return im
