"""The class-manifold theory page's package code: the sympy identities (derivation.py), the ball's
exact-vs-Monte-Carlo and transition tables, the ground-truth summary and the figures (plots.py)."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import sympy as sp  # noqa: E402

from theory.class_manifolds import derivation as dv, ground_truth as gt, plots as pl  # noqa: E402
from theory.core import cap_hit_probability, identity_holds, width_cap  # noqa: E402


@pytest.mark.parametrize("make", [dv.generic_intersection, dv.ball_as_cap, dv.beta_concentration,
                                  dv.cap_width_leading_order])
def test_identities_hold(make):
    ident = make()
    assert ident.name.startswith("class_manifolds_")
    assert ident.holds()


def test_identities_can_fail():
    # the intersection count is max(0, d + k − D), not d + k − D: the latter leaves nonzero residuals
    ident = dv.generic_intersection(4)
    wrong = [x + max(0, 4 - dd - kk) for x, (dd, kk) in
             zip(list(ident.residual)[::2], [(a, b) for a in range(1, 4) for b in range(1, 4)])]
    assert not identity_holds(sp.Matrix(wrong))
    # a variance off by a factor is caught
    assert not identity_holds(dv.beta_concentration().extra["variance"] * 2 - dv.beta_concentration().extra["variance"])
    assert len(dv.all_identities()) == 4


def test_generic_intersection_validates():
    with pytest.raises(ValueError, match="D_num"):
        dv.generic_intersection(1)
    with pytest.raises(TypeError):
        dv.generic_intersection(4.5)


def test_ball_mc_table_agrees_with_exact_and_distinguishes_radii():
    t = pl.ball_mc_table(D=8, ratios=(0.5, 0.8), d_values=(2, 4, 6), n_planes=600, seed=0)
    assert t.z.shape == (2, 3)
    assert float(np.abs(t.z).max()) <= 4.0
    for rho in (0.5, 0.8):
        for d in (2, 4, 6):
            assert float(t.exact.sel(ratio=rho, d=d)) == pytest.approx(
                cap_hit_probability(d, 8, math.asin(rho)), abs=1e-12)
    # the Monte Carlo of one radius is far from the exact law of another
    z_cross = (t.mc.sel(ratio=0.5) - t.exact.sel(ratio=0.8)) / t.stderr.sel(ratio=0.8)
    assert float(np.abs(z_cross).max()) > 10


def test_transition_table():
    tr = pl.transition_table(Ds=(32, 256), ratios=(0.5,))
    assert float(tr.d50.sel(ratio=0.5, D=32)) == pytest.approx(23.674, abs=1e-3)
    assert float(tr.gordon.sel(ratio=0.5, D=32)) == pytest.approx(32 - width_cap(math.asin(0.5), 32) ** 2)
    gap = tr.gap.sel(ratio=0.5).values
    assert np.all((gap > 0.5) & (gap < 1.0))
    wr = tr.width_ratio.sel(ratio=0.5).values
    assert np.all(wr < 1) and wr[1] > wr[0]
    assert float(tr.beta_step.sel(ratio=0.5, D=256)) == pytest.approx(192.0)


def test_tables_validate():
    with pytest.raises(ValueError, match="ratios"):
        pl.ball_mc_table(D=8, ratios=(1.2,))
    with pytest.raises(ValueError, match="d_values"):
        pl.ball_mc_table(D=8, d_values=(9,))
    with pytest.raises(ValueError, match="Ds"):
        pl.transition_table(Ds=())
    with pytest.raises(TypeError, match="tables"):
        pl.ground_truth_summary([])
    with pytest.raises(TypeError, match="tables"):
        pl.ground_truth_figure({})
    with pytest.raises(TypeError):
        pl.ball_figure(None, None)


def test_ground_truth_summary_and_figures():
    D = 8
    tab, _ = gt.run_ground_truth([gt.ball(D, 0.5, 1.0)], list(range(1, D + 1)), 4, seed=0, steps=40)
    tab2, _ = gt.run_ground_truth([gt.ball(D, 0.5, 1.0)], list(range(1, D + 1)), 4, seed=0, steps=40,
                                  orthonormal=True)
    df = pl.ground_truth_summary({"official": tab, "orthonormal": tab2})
    assert isinstance(df, pd.DataFrame) and len(df) == 2
    assert df["measured − exact"].iloc[0] == pytest.approx(float(tab.measured_d50[0] - tab.exact_d50[0]))
    fig = pl.ground_truth_figure({"official": tab, "orthonormal": tab2})
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) >= 3
    plt.close(fig)
    mc = pl.ball_mc_table(D=8, ratios=(0.5,), d_values=(2, 4, 6), n_planes=50)
    fig = pl.ball_figure(mc, pl.transition_table(Ds=(8, 16), ratios=(0.5,)))
    assert len(fig.axes) == 2
    plt.close(fig)


def test_explorer_moved_and_reexported():
    assert gt.ball_explorer is pl.ball_explorer
    assert pl.ball_explorer.func.__module__ == "theory.class_manifolds.plots"
    fig = pl.ball_explorer(D=16, ratio=0.85)
    assert fig.axes[0].get_xlabel() == "d / D"
    plt.close(fig)
