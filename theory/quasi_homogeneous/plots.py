"""Figures and the explorer of the quasi-homogeneous chapter's robustness and sparsity pages.

Exact predictions are drawn as lines, training as markers (the book's convention). Every model,
data set and number here is the book's reconstruction (the paper's examples could not be read).
"""

from __future__ import annotations

import functools

import numpy as np

from theory.core import COLORS as _NAMED, check_scalar, explorer, figure
from theory.quasi_homogeneous import robustness as rb

__all__ = ["limit_explorer", "robustness_figure", "sparsity_figure"]

COLORS = [_NAMED[k] for k in ("blue", "orange", "green", "red", "purple", "sky")]
MARGINS_X2 = (-0.3, 0.01, 0.05, 0.3, 1.0)
DEPTHS_X1 = (1, 2)
DEPTHS = (1, 2, 3)


def _boundary(ax, beta, lim, **kw):
    """The decision boundary β·x = 0 (a line through the origin) in the box [−lim, lim]²."""
    d = np.array([-beta[1], beta[0]]) / np.hypot(*beta)
    t = np.array([-2 * lim, 2 * lim])
    ax.plot(t * d[0], t * d[1], **kw)


def _data_panel(ax, X, y, betas, lim=None, plain=False):
    z = y[:, None] * X
    lim = lim or 1.15 * float(np.abs(z).max())
    ax.scatter(z[:, 0], z[:, 1], s=14, color="k", zorder=3,
               label="points z = y·x" if plain else r"$z_i = y_i x_i$")
    for beta, kw in betas:
        _boundary(ax, beta, lim, **kw)
    ax.set_xlim(-0.3 * lim, lim)
    ax.set_ylim(-0.6 * lim, lim)
    ax.axhline(0, color="0.85", lw=0.6, zorder=0)
    ax.axvline(0, color="0.85", lw=0.6, zorder=0)
    ax.set_xlabel("y·x₁" if plain else r"$y\,x_1$")
    ax.set_ylabel("y·x₂" if plain else r"$y\,x_2$")


def robustness_figure(X, y, runs: dict, radii: dict, exact: dict):
    """Three panels: (a) the data and the limit boundaries; (b) the ℓ₂ radius (attack) against
    loss-normalised time; (c) the normalised a/q_min of the toy.

    ``runs``: label → a run of :func:`robustness.train_loss_normalised`; ``radii``: label → the
    output of :func:`robustness.attack_run` on it (``tau``, ``radius``); ``exact``: label → the exact
    limit radius. Labels: "linear" and "quasi-homogeneous".
    """
    rb.check_data(X, y)
    for name, d in (("runs", runs), ("radii", radii), ("exact", exact)):
        if not isinstance(d, dict) or not d:
            raise TypeError(f"{name} must be a non-empty dict label → value, got {type(d).__name__}")
    for label, run in runs.items():
        if not isinstance(run, dict) or not {"beta", "tau", "q_min"} <= set(run):
            raise TypeError(f"runs[{label!r}] must be a run of train_loss_normalised")
        if label not in radii or not isinstance(radii[label], dict) or not {"tau", "radius"} <= set(radii[label]):
            raise TypeError(f"radii[{label!r}] must be the output of attack_run (tau, radius)")
        if label not in exact:
            raise TypeError(f"exact must hold the limit radius of every run, missing {label!r}")
    exact = {k: check_scalar(v, f"exact[{k!r}]") for k, v in exact.items()}
    colors = {"linear": COLORS[0], "quasi-homogeneous": COLORS[1]}
    fig, axes = figure(1, 3, width="wide", height=3.2)
    svm, qh = rb.svm_limit(X, y), rb.qh_limit(X, y)
    _data_panel(axes[0], X, y, [
        (svm[0], dict(color=colors["linear"], lw=1.5, label="SVM limit (f = w·x)")),
        (qh["beta"], dict(color=colors["quasi-homogeneous"], lw=1.5,
                          label="Λmax limit (f = a x₁ + uv x₂)"))])
    for label, run in runs.items():
        b = run["beta"][:, -1]
        for s in range(b.shape[0]):
            _boundary(axes[0], b[s], 3.0, color=colors[label], lw=0.8, ls=":", alpha=0.8)
    axes[0].legend(loc="lower right", fontsize=7)
    axes[0].set_title("(a) data and limit boundaries", fontsize=9)
    for label, run in runs.items():
        tau, r = radii[label]["tau"], radii[label]["radius"]
        for s in range(r.shape[0]):
            axes[1].plot(tau[s], r[s], "o", ms=2.5, color=colors[label], alpha=0.5,
                         label=f"{label}: attack" if s == 0 else None)
        axes[1].axhline(exact[label], color=colors[label], lw=1.2,
                        label=f"{label}: exact limit {exact[label]:.3g}")
    axes[1].set_xscale("log")
    axes[1].set_xlabel(r"loss-normalised time $\tau$")
    axes[1].set_ylabel(r"$\ell_2$ radius $\min_i \|\delta_i\|$")
    axes[1].set_ylim(bottom=0)
    axes[1].legend(fontsize=7)
    axes[1].set_title("(b) adversarial radius", fontsize=9)
    run = runs["quasi-homogeneous"]
    ratio = np.abs(run["beta"][..., 0] / np.where(run["q_min"] > 0, run["q_min"], np.nan))
    for s in range(ratio.shape[0]):
        ok = run["q_min"][s] > 0
        axes[2].plot(run["tau"][s][ok], ratio[s][ok], "o", ms=2.5, color=colors["quasi-homogeneous"],
                     alpha=0.5, label=r"$a/q_{\min}$ (training)" if s == 0 else None)
    axes[2].set_xscale("log")
    axes[2].set_yscale("log")
    axes[2].set_xlabel(r"loss-normalised time $\tau$")
    axes[2].set_ylabel(r"$a / q_{\min}$   (limit $a^\ast = 0$)")
    axes[2].legend(fontsize=7)
    axes[2].set_title("(c) the highest-rate parameter", fontsize=9)
    return fig


def sparsity_figure(cases: dict, trap: dict | None = None):
    """ã = a/q_min against τ for each case (markers) with its exact limit a* (line); optionally a
    panel of the trap (runs from (0, σ, σ)) with the predicted escape times.

    ``cases``: label → (run, a_star). ``trap``: {"run", "sigmas", "a_trap", "tau_pred"}.
    """
    if not isinstance(cases, dict) or not cases:
        raise TypeError(f"cases must be a non-empty dict label → (run, a_star), got {type(cases).__name__}")
    for label, case in cases.items():
        if not isinstance(case, tuple) or len(case) != 2 or not isinstance(case[0], dict):
            raise TypeError(f"cases[{label!r}] must be a pair (run, a_star)")
        check_scalar(case[1], f"cases[{label!r}] a_star")
    if trap is not None and (not isinstance(trap, dict) or not {"run", "sigmas", "a_trap", "tau_pred"} <= set(trap)):
        raise TypeError("trap must be a dict with run, sigmas, a_trap and tau_pred")
    ncols = 2 if trap is not None else 1
    fig, axes = figure(1, ncols, width="wide" if trap is not None else "text", height=3.2)
    axes = np.atleast_1d(axes)
    ax = axes[0]
    for c, (label, (run, a_star)) in enumerate(cases.items()):
        q = run["q_min"]
        at = run["beta"][..., 0] / np.where(q > 0, q, np.nan)
        for s in range(at.shape[0]):
            ok = q[s] > 0
            ax.plot(run["tau"][s][ok], np.abs(at[s][ok]), "o", ms=2.5, color=COLORS[c], alpha=0.5,
                    label=f"{label} (training)" if s == 0 else None)
        if a_star > 0:
            ax.axhline(a_star, color=COLORS[c], lw=1.2, label=f"{label}: exact a* = {a_star:.4g}")
        else:
            ax.plot([], [], color=COLORS[c], lw=1.2, label=f"{label}: exact a* = 0")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"loss-normalised time $\tau$")
    ax.set_ylabel(r"$|a| / q_{\min}$")
    ax.set_ylim(1e-12, 30)
    ax.legend(fontsize=7, loc="lower left")
    ax.set_title("(a) discarded when possible, kept when necessary", fontsize=9)
    if trap is not None:
        ax = axes[1]
        run = trap["run"]
        q = run["q_min"]
        at = run["beta"][..., 0] / np.where(q > 0, q, np.nan)
        for s, sig in enumerate(trap["sigmas"]):
            ax.plot(run["tau"][s], at[s], "-", lw=1.2, color=COLORS[s % len(COLORS)],
                    label=f"σ = {sig:g}")
            if s < len(trap["tau_pred"]) and np.isfinite(trap["tau_pred"][s]):
                ax.axvline(trap["tau_pred"][s], color=COLORS[s % len(COLORS)], lw=0.8, ls="--")
        ax.axhline(trap["a_trap"], color="0.4", lw=0.8, ls=":", label="KKT point (a, 0, 0)")
        ax.set_yscale("log")
        ax.set_ylim(1e-12, 10)
        ax.set_xlabel(r"loss-normalised time $\tau$")
        ax.set_ylabel(r"$a / q_{\min}$")
        ax.legend(fontsize=7, loc="lower left")
        ax.set_title("(b) the trap: escape at the predicted τ× (dashed)", fontsize=9)
    return fig


@functools.lru_cache(maxsize=None)
def _margin_curves(depth_x1: int, depth_x2: int) -> tuple[tuple, tuple]:
    """The limit's and the SVM's ℓ₂ margins over MARGINS_X2 (cached: shared by the frames)."""
    lim, svm = [], []
    for m in MARGINS_X2:
        X, y = rb.two_feature_data(16, m, seed=0)
        lim.append(rb.path_limit(X, y, depth_x1, depth_x2)["radius"])
        svm.append(rb.svm_limit(X, y)[1])
    return tuple(lim), tuple(svm)


@explorer(depth_x1=list(DEPTHS_X1), depth_x2=list(DEPTHS), margin_x2=list(MARGINS_X2),
          labels={"depth_x1": "depth of the x₁ path", "depth_x2": "depth of the x₂ path",
                  "margin_x2": "margin γ₂ of x₂ (γ₁ = 1)"})
def limit_explorer(depth_x1=1, depth_x2=2, margin_x2=0.05):
    """The limit direction and its ℓ₂ margin for two diagonal paths of depths k₁, k₂ (rates 1/k₁,
    1/k₂) on the two-feature data (n = 16, seed 0), against the SVM: the book's reconstruction of
    the Λmax-constrained limit (:func:`robustness.path_limit`)."""
    fig, axes = figure(1, 2, width="wide", height=3.2)
    X, y = rb.two_feature_data(16, margin_x2, seed=0)
    lim = rb.path_limit(X, y, depth_x1, depth_x2)
    svm = rb.svm_limit(X, y)
    _data_panel(axes[0], X, y, [
        (svm[0], dict(color=COLORS[0], lw=1.2, ls="--", label=f"SVM, margin {svm[1]:.3g}")),
        (lim["beta"], dict(color=COLORS[1], lw=1.6,
                           label=f"limit, margin {lim['radius']:.3g}"))], lim=2.3, plain=True)
    axes[0].legend(loc="lower right", fontsize=7)
    axes[0].set_title(f"rates λ₁ = {1 / depth_x1:.3g}, λ₂ = {1 / depth_x2:.3g}", fontsize=9)
    radii, svms = _margin_curves(depth_x1, depth_x2)
    pos = np.arange(len(MARGINS_X2))
    axes[1].plot(pos, svms, "--", color=COLORS[0], label="SVM (homogeneous, depth 1)")
    axes[1].plot(pos, radii, "-o", ms=3, color=COLORS[1], label="Λmax limit")
    axes[1].plot([MARGINS_X2.index(margin_x2)], [lim["radius"]], "o", ms=8, mfc="none", color="k")
    axes[1].set_xticks(pos, [f"{m:g}" for m in MARGINS_X2])
    axes[1].set_xlabel("margin of x₂ alone, γ₂ = min y·x₂")
    axes[1].set_ylabel("ℓ₂ margin of the limit")
    axes[1].set_ylim(0, 1.6)
    axes[1].legend(fontsize=7, loc="upper left")
    return fig
