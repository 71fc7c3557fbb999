"""Every figure of theory.transformer_signal.plots draws from small inputs, and the explorer
is registered with at most 64 cheap frames."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from theory.core import EXPLORERS, Sweep  # noqa: E402
from theory.transformer_signal import BOOK_MODEL as B  # noqa: E402  (the book's earlier model: scaled residual, erf)
from theory.transformer_signal import (AngleExponentCheck, AttentionOnlyCollapse,  # noqa: E402
                                       GradientExponentCheck, MeasuredPhaseDiagrams,
                                       SimplexScatter, SimplexFixedPoint, attention_summary,
                                       layer_by_layer, map_phases, plots, theory_phase_diagram,
                                       train_transformers, trainability_summary)

torch.set_num_threads(1)


def _n_axes(fig):
    return len([ax for ax in fig.axes if ax.get_label() != "<colorbar>"])


def test_attention_and_map_figures():
    fig = plots.attention_figure(attention_summary(1.0, 8, rho=np.linspace(0, 1, 5), samples=50))
    assert _n_axes(fig) == 2 and "n = 8" in fig.axes[0].get_title()
    phases = map_phases({"a": (0.5, 0.0, 1.0), "b": (0.3, 0.9, 3.0)}, [0.2, 0.95], 25, sigma_A=1.0,
                        n=4, samples=50, **B)
    fig = plots.map_phases_figure(phases)
    assert len(fig.axes[0].lines) >= 5                    # two tracks each and the simplex ρ*
    assert any("simplex" in t.get_text() for t in fig.axes[0].get_legend().get_texts())


def test_phase_figures():
    a, s = np.linspace(0, 1, 4), np.linspace(0.5, 5, 5)
    val = np.outer(a - 0.5, s)
    fig = plots.theory_phase_figure(theory_phase_diagram(0.3, alpha_M=a, sigma_w=s, **B), model=B)
    assert fig.axes[0].get_xlabel() == "α_M"
    m = MeasuredPhaseDiagrams(alpha_A=0.3, sigma_A=1.0, model=B, grid_angle=(a, s), lambda_a=val,
                              grid_gradient=(a, s), lambda_g=-val, d_angle=64, seeds_angle=4,
                              d_gradient=32, depth=8, seeds_gradient=1, comparison={})
    fig = plots.measured_phase_figure(m)
    assert "d = 64" in fig.axes[0].get_title() and "L = 8" in fig.axes[1].get_title()


def test_simulation_figures():
    res = layer_by_layer({"x": (0.5, 0.0, 1.0), "y": (0.3, 0.9, 3.0)}, 1.0, n=4, d=16, depth=6,
                         seeds=2, full_depth=3, full_seeds=1, **B)
    fig = plots.layer_by_layer_figure(res)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("2 seeds" in t for t in texts) and any("1 seeds" in t for t in texts)
    assert any(t.startswith("x: α_A=0.5") for t in texts)
    gap = 1 - np.exp(-0.3 * np.arange(10))[::-1][None].T * np.ones((1, 2)) * 0.5
    fits = [(-0.3, np.arange(3, 9)), (-0.5, np.arange(3, 9))]
    att = AttentionOnlyCollapse(alpha_A=np.array([0.3, 0.5]), d=16, seeds=2, rho=gap, fits=fits,
                                slopes=np.array([-0.3, -0.5]))
    assert isinstance(plots.attention_only_figure(att), plt.Figure)
    simp = SimplexScatter(config=(0.3, 0.9, 3.0), widths=np.array([64, 256]), depth=12, last=4,
                          seeds=2, final_rho=np.array([0.3, 0.3]), spread=np.array([0.1, 0.05]),
                          exponent=-0.5, fixed_point=SimplexFixedPoint(q=1.0, rho=0.3))
    fig = plots.simplex_width_figure(simp, title="t")
    assert "last 4 layers" in fig.axes[0].get_legend().get_texts()[0].get_text()
    m = np.random.default_rng(0).normal(size=(3, 4))
    chk = AngleExponentCheck(configs=np.zeros((3, 3)), d=16, n=4, q_star=np.ones(3),
                             linear=np.array([0.1, -0.2, 0.35]), step=np.array([0.1, -0.2, 0.3]),
                             projected=m, full=m[:, :2])
    fig = plots.angle_exponent_figure(chk)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("4 seeds" in t for t in texts) and any("2 seeds" in t for t in texts)
    grad = GradientExponentCheck(configs=np.array([(0.5, 0.0, 1.0)] * 3), d=16, depth=4,
                                 measured=m[:, :2], log_norms=np.zeros((5, 3, 2)),
                                 finite_depth=np.zeros(3), asymptotic=np.zeros(3),
                                 profile=np.zeros((5, 3)), ordered=np.array([True, False, True]))
    fig = plots.gradient_figure(grad)
    assert "L = 4" in fig.axes[1].get_title()


def test_trainability_figure():
    res = train_transformers(Sweep(alpha_M=[0.2, 0.9], sigma_w=[1.0, 3.0]), alpha_A=0.3, sigma_A=1.0,
                             seed=0, n=4, d=8, depth=2, vocab=2, steps=2, batch=2, test_batch=4,
                             device="cpu", **B)
    fig = plots.trainability_figure(trainability_summary(res, alpha_A=0.3))
    assert _n_axes(fig) == 3


def test_signal_explorer_is_registered_with_at_most_64_frames():
    ex = plots.signal_explorer
    assert any(e is ex for e in EXPLORERS.values())
    frames = int(np.prod([len(v) for v in ex.controls.values()]))
    assert frames <= 64
    fig = ex(alpha_A=0.9, alpha_M=0.0, sigma_w=0.5)          # attention only: collapse, no simplex
    assert "ordered" in fig.axes[0].get_title()
    fig = ex(alpha_A=0.1, alpha_M=0.9, sigma_w=6.0, residual="scaled")   # chaotic: the simplex is drawn
    assert "chaotic" in fig.axes[0].get_title() and "simplex" in fig.axes[0].get_legend().get_texts()[-1].get_text()
