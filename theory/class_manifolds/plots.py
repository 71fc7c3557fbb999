r"""Tables, figures and the explorer of the class-manifold chapter's theory page (the book's reconstruction).

- :func:`ball_mc_table`: the exact probability that a random affine d-plane through the anchor
  meets a ball, :math:`1 - I_{1-r^2/R^2}(d/2, (D-d)/2)` (``ground_truth.ball_hit_probability``),
  against a Monte Carlo of the geometry itself: uniformly random planes (Gaussian bases), each
  judged by the exact least-squares distance from the centre to the plane
  (``ground_truth.exact_plane_minimum``), so the Monte Carlo does not use the Beta law.
- :func:`transition_table`: where that probability crosses ½ (the exact d*₅₀, real d) against
  Gordon's :math:`D - w^2` (w the width of the cap of angle arcsin(r/R), the core's
  ``width_cap``) and the large-D limit :math:`D(1 - r^2/R^2)`, and the ratio
  :math:`w^2/(D r^2/R^2)` of the exact squared width to its leading order.
- :func:`ground_truth_summary`: a printable table of ``run_ground_truth`` results, one per basis.
- Figures :func:`ball_figure` and :func:`ground_truth_figure`, and the chapter's explorer
  :func:`ball_explorer`.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from theory.core import array_bytes, check_memory, check_seed, COLORS, as_array, check_scalar, config_seed, explorer, figure, width_cap
from theory.class_manifolds.ground_truth import _exact_crossing, ball, ball_hit_probability, exact_plane_minimum

__all__ = ["ball_explorer", "ball_figure", "ball_mc_table", "ground_truth_figure", "ground_truth_summary",
           "transition_table"]

_PALETTE = [COLORS["blue"], COLORS["orange"], COLORS["green"], COLORS["red"], COLORS["purple"]]


def _ratios(ratios):
    r = as_array(ratios, "ratios", ndim=1)
    if r.size == 0 or np.any(r <= 0) or np.any(r >= 1):
        raise ValueError(f"ratios must hold values r/R in (0, 1), got {ratios!r}")
    return r


def ball_mc_table(D=32, ratios=(0.3, 0.5, 0.7), d_values=None, *, n_planes=2000, seed=0) -> xr.Dataset:
    """Exact hitting probability against the geometric Monte Carlo over ``n_planes`` random planes
    per (ratio, d), seeds ``config_seed(seed, "ball_mc", ratio, d)``. Returns a Dataset over
    (ratio, d) with ``exact``, ``mc``, ``stderr`` (binomial, from the exact p) and ``z`` =
    (mc − exact)/stderr (0 where the exact p is 0 or 1 and the Monte Carlo agrees)."""
    D = check_scalar(D, "D", kind="int", min=2)
    rs = _ratios(ratios)
    ds = np.arange(1, D) if d_values is None else as_array(d_values, "d_values", ndim=1)
    if ds.size == 0 or np.any(ds < 1) or np.any(ds > D) or np.any(ds != np.round(ds)):
        raise ValueError(f"d_values must be integers in 1..D = 1..{D}")
    ds = ds.astype(int)
    n_planes = check_scalar(n_planes, "n_planes", kind="int", min=10)
    seed = check_seed(seed)
    check_memory(array_bytes(n_planes, int(ds.max()), D) * 3 + array_bytes(D, D) * 2,
                 f"{n_planes} random {int(ds.max())}-planes in R^{D}", hint="reduce D, d_values or n_planes")
    exact = np.empty((rs.size, ds.size))
    mc = np.empty_like(exact)
    for i, rho in enumerate(rs):
        t = ball(D, float(rho), 1.0)
        exact[i] = ball_hit_probability(ds.astype(float), D, float(rho), 1.0)
        for j, d in enumerate(ds):
            rng = np.random.default_rng(config_seed(seed, "ball_mc", float(rho), int(d)))
            M = rng.standard_normal((n_planes, int(d), D))
            mc[i, j] = np.mean(exact_plane_minimum(t, M) <= 1.0)
    se = np.sqrt(exact * (1 - exact) / n_planes)
    z = np.where(se > 0, (mc - exact) / np.where(se > 0, se, 1.0), np.where(mc == exact, 0.0, np.inf))
    out = xr.Dataset({"exact": (("ratio", "d"), exact), "mc": (("ratio", "d"), mc),
                      "stderr": (("ratio", "d"), se), "z": (("ratio", "d"), z)},
                     coords={"ratio": rs, "d": ds})
    out.attrs.update(D=D, n_planes=n_planes, seed=seed)
    return out


def transition_table(Ds=(32, 128, 512, 2048), ratios=(0.3, 0.5, 0.7)) -> xr.Dataset:
    r"""Over (ratio, D): the exact half-way dimension ``d50`` (real d), Gordon's ``gordon`` =
    :math:`D - w^2`, the limit ``beta_step`` = :math:`D(1 - r^2/R^2)`, ``gap`` = gordon − d50, and
    ``width_ratio`` = :math:`w^2/(D r^2/R^2)`."""
    Ds = [check_scalar(x, "Ds", kind="int", min=2) for x in Ds]
    if not Ds:
        raise ValueError("Ds must hold at least one dimension")
    rs = _ratios(ratios)
    keys = ("d50", "gordon", "beta_step", "gap", "width_ratio")
    vals = {k: np.empty((rs.size, len(Ds))) for k in keys}
    for i, rho in enumerate(rs):
        for j, D in enumerate(Ds):
            w2 = width_cap(math.asin(float(rho)), D) ** 2
            half = _exact_crossing(ball(D, float(rho), 1.0), None)
            for k, v in zip(keys, (half, D - w2, D * (1 - rho ** 2), D - w2 - half, w2 / (D * rho ** 2))):
                vals[k][i, j] = v
    return xr.Dataset({k: (("ratio", "D"), v) for k, v in vals.items()}, coords={"ratio": rs, "D": Ds})


def ball_figure(mc: xr.Dataset, transitions: xr.Dataset):
    """Left: exact hitting probability (lines) against the geometric Monte Carlo (markers ± 1 s.e.)
    at the table's D, with Gordon's D − w² (dotted) per ratio. Right: Gordon's D − w² minus the
    exact half-way point against D (markers; log axis), per ratio."""
    if not isinstance(mc, xr.Dataset) or not isinstance(transitions, xr.Dataset):
        raise TypeError("mc and transitions must be the Datasets of ball_mc_table and transition_table")
    D = int(mc.attrs["D"])
    fig, (ax, bx) = figure(1, 2, width="wide", height=3.4)
    dd = np.linspace(0.2, D, 400)
    for i, rho in enumerate(mc.ratio.values):
        c = _PALETTE[i % len(_PALETTE)]
        ax.plot(dd, ball_hit_probability(dd, D, float(rho), 1.0), "-", color=c, lw=1.5,
                label=f"exact, r/R = {rho:g}")
        ax.errorbar(mc.d.values, mc.mc.sel(ratio=rho), yerr=mc.stderr.sel(ratio=rho), fmt="o", ms=3.5,
                    color=c, mfc="white", lw=0.8,
                    label=f"Monte Carlo ({mc.attrs['n_planes']} planes each)" if i == 0 else None)
        g = D - width_cap(math.asin(float(rho)), D) ** 2
        ax.axvline(g, color=c, ls=":", lw=1.2)
    ax.plot([], [], ":", color="grey", label="Gordon's D − w²")
    ax.set(xlabel="plane dimension d", ylabel="P(plane meets the ball)", title=f"D = {D}", xlim=(0, D))
    ax.legend(fontsize=7, loc="upper left")
    for i, rho in enumerate(transitions.ratio.values):
        bx.plot(transitions.D.values, transitions.gap.sel(ratio=rho), "o-", color=_PALETTE[i % len(_PALETTE)],
                ms=4, label=f"r/R = {rho:g}")
    bx.set_xscale("log")
    bx.set(xlabel="input dimension D", ylabel="(D − w²) − exact d*₅₀", ylim=(0, 1.2),
           title="Gordon's threshold vs the exact half-way point")
    bx.legend(fontsize=8)
    return fig


def ground_truth_summary(tables: Mapping[str, xr.Dataset]) -> pd.DataFrame:
    """One row per (basis label, target): exact d*₅₀, measured d*₅₀ ± error, measured − exact, the
    ε → 0 limit, Gordon's D − w² and the per-problem verdict agreement."""
    if not isinstance(tables, Mapping) or not tables:
        raise TypeError("tables must map a basis label to a run_ground_truth table")
    rows = []
    for label, t in tables.items():
        for name in t.target.values:
            s = t.sel(target=name)
            rows.append({"basis": label, "target": str(name).split("(")[0], "exact d*50": float(s.exact_d50),
                         "measured": float(s.measured_d50), "± (delta)": float(s.measured_d50_err),
                         "measured − exact": float(s.measured_d50 - s.exact_d50),
                         "ε→0 limit": float(s.limit_d_star), "D − w²": float(s.gordon_d),
                         "verdict agreement": float(s.verdict_agreement)})
    return pd.DataFrame(rows).set_index(["basis", "target"])


def ground_truth_figure(tables: Mapping[str, xr.Dataset], *, tolerance=1.0):
    """One panel per target of the first table: the exact hitting probability (line), the search's
    repeat-mean best score per basis that ran the target (markers), the exact d*₅₀ (solid vertical) with the ±``tolerance`` band."""
    if not isinstance(tables, Mapping) or not tables:
        raise TypeError("tables must map a basis label to a run_ground_truth table")
    tolerance = check_scalar(tolerance, "tolerance", min=0.0)
    first = next(iter(tables.values()))
    names = list(first.target.values)
    fig, axes = figure(1, len(names), width="wide", height=3.0, sharey=True)
    axes = np.atleast_1d(axes)
    marks = ["o", "s", "^", "D"]
    for ax, name in zip(axes, names):
        s0 = first.sel(target=name)
        ax.plot(first.d_cut, s0.exact_p, "-", color="k", lw=1.4, label="exact")
        x0 = float(s0.exact_d50)
        ax.axvspan(x0 - tolerance, x0 + tolerance, color=COLORS["grey"], alpha=0.25, lw=0,
                   label=f"exact d*₅₀ ± {tolerance:g}")
        ax.axvline(x0, color="k", lw=0.8)
        for k, (label, t) in enumerate(tables.items()):
            if name not in t.target.values:
                continue
            ax.plot(t.d_cut, t.measured_p.sel(target=name), marks[k % 4], ms=3.5, mfc="none",
                    color=_PALETTE[k % len(_PALETTE)], label=f"search, {label}")
        ax.set(title=str(name).replace(", eps/R=0.02", ", ε=0.02R"), xlabel="d_cut",
               xlim=(float(first.d_cut.min()) - 0.5, first.attrs["D"] + 0.5))
        ax.title.set_fontsize(8)
    axes[0].set_ylabel("P(plane reaches the set)")
    axes[-1].legend(fontsize=7, loc="lower right")
    return fig


# --------------------------------------------------------------------------------- explorer
@explorer(D=[16, 32, 64, 256], ratio=[0.2, 0.35, 0.5, 0.7, 0.85],
          labels={"D": "input dimension D", "ratio": "r/R (ball radius / anchor distance)"})
def ball_explorer(D: int = 32, ratio: float = 0.5):
    """The exact probability that a random affine d-plane through the anchor meets a ball of radius
    r at distance R, against d/D, with its half-way point, D(1 − r²/R²) and Gordon's D − w² (w the
    width of the cap of angle arcsin(r/R) the ball subtends) marked."""
    d = np.linspace(0.25, D, 400)
    p = ball_hit_probability(d, D, ratio, 1.0)
    half = _exact_crossing(ball(D, ratio, 1.0), None)
    gordon = D - width_cap(math.asin(ratio), D) ** 2
    fig, ax = figure(height=3.0, layout=None)
    fig.subplots_adjust(left=0.1, right=0.97, bottom=0.16, top=0.9)
    ax.plot(d / D, p, "-", color=COLORS["blue"], lw=1.8,
            label="exact 1 − I_x(d/2, (D−d)/2), x = 1 − r²/R²")
    ax.axvline(half / D, color="k", ls="-", lw=0.8, label=f"half-way d = {half:.1f}")
    ax.axvline(1 - ratio ** 2, color="grey", ls="--", lw=1, label=f"D(1 − r²/R²) = {D * (1 - ratio ** 2):.1f}")
    ax.axvline(gordon / D, color="grey", ls=":", lw=1.2, label=f"D − w² = {gordon:.1f}")
    ax.set(xlabel="d / D", ylabel="P(plane meets the ball)", xlim=(0, 1), ylim=(-0.02, 1.02),
           title=f"D = {D}, r/R = {ratio:g}")
    ax.legend(fontsize=8, loc="upper left")
    return fig
