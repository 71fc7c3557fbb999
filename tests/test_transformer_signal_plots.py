"""Every figure of theory.transformer_signal.plots draws from small inputs, and the explorer
is registered with at most 64 cheap frames."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from theory.core import EXPLORERS, Sweep  # noqa: E402
from theory.transformer_signal import (iterate_map, map_tracks, plots, propagate,  # noqa: E402
                                       train_transformers, trainability_summary)

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _n_axes(fig):
    return len([ax for ax in fig.axes if ax.get_label() != "<colorbar>"])


def test_attention_and_map_figures():
    rho = np.linspace(0, 1, 5)
    fig = plots.attention_figure(rho, 0.2 + 0 * rho, 0.1 + 0 * rho, n=8, sigma_A=1.0)
    assert _n_axes(fig) == 2
    tracks = map_tracks({"a": (0.5, 0.0, 1.0), "b": (0.3, 0.9, 3.0)}, [0.2, 0.95], 25, sigma_A=1.0,
                        n=4, samples=50)
    fig = plots.map_phases_figure(tracks, {"a": -0.3, "b": 0.4}, simplex_rho=0.3)
    assert len(fig.axes[0].lines) >= 4


def test_phase_figures():
    a, s = np.linspace(0, 1, 4), np.linspace(0.5, 5, 5)
    val = np.outer(a - 0.5, s)
    fig = plots.theory_phase_figure(a, s, val, val, alpha_A=0.3)
    assert fig.axes[0].get_xlabel() == "α_M"
    fig = plots.measured_phase_figure((a, s, val), (a, s, -val), alpha_A=0.3, sigma_A=1.0, d_a=64,
                                      seeds_a=4, d_g=32, depth_g=8, seeds_g=1)
    assert "d = 64" in fig.axes[0].get_title()


def test_simulation_figures():
    aA, aM, sw = np.array([0.5, 0.3]), np.array([0.0, 0.9]), np.array([1.0, 3.0])
    mf = iterate_map(np.ones(2), np.full(2, 0.2), 6, alpha_A=aA, alpha_M=aM, sigma_w=sw,
                     sigma_A=1.0, n=4, samples=50)
    sim = propagate(aA, aM, sw, 1.0, n=4, d=16, depth=6, rho0=0.2, seeds=2, device="cpu")
    full = propagate(aA, aM, sw, 1.0, n=4, d=16, depth=3, rho0=0.2, seeds=1, method="full",
                     device="cpu")
    fig = plots.layer_by_layer_figure(mf, sim, full, names=["x", "y"], alpha_A=aA, alpha_M=aM,
                                      sigma_w=sw, d=16, n=4, sigma_A=1.0)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("2 seeds" in t for t in texts) and any("1 seeds" in t for t in texts)
    gap = 1 - np.exp(-0.3 * np.arange(10))[::-1][None].T * np.ones((1, 2)) * 0.5
    fits = [(-0.3, np.arange(3, 9)), (-0.5, np.arange(3, 9))]
    assert isinstance(plots.attention_only_figure(gap, [0.3, 0.5], fits, d=16, seeds=2), plt.Figure)
    assert isinstance(plots.simplex_width_figure([64, 256], [0.1, 0.05], seeds=2, title="t"), plt.Figure)
    m = np.random.default_rng(0).normal(size=(3, 4))
    fig = plots.angle_exponent_figure([0.1, -0.2, 0.3], [0.1, -0.2, 0.35], m, m[:, :2], d=16, n=4)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("4 seeds" in t for t in texts) and any("2 seeds" in t for t in texts)
    logs = np.zeros((5, 3, 2))
    fig = plots.gradient_figure(logs, np.zeros((5, 3)), m[:, :2], np.zeros(3), [True, False, True],
                                configs=[(0.5, 0.0, 1.0)] * 3, d=16)
    assert "L = 4" in fig.axes[1].get_title()


def test_trainability_figure():
    res = train_transformers(Sweep(alpha_M=[0.2, 0.9], sigma_w=[1.0, 3.0]), alpha_A=0.3, sigma_A=1.0,
                             seed=0, n=4, d=8, depth=2, vocab=2, steps=2, batch=2, test_batch=4,
                             device="cpu")
    fig = plots.trainability_figure(trainability_summary(res, alpha_A=0.3))
    assert _n_axes(fig) == 3


def test_signal_explorer_is_registered_with_at_most_64_frames():
    ex = plots.signal_explorer
    assert any(e is ex for e in EXPLORERS.values())
    frames = int(np.prod([len(v) for v in ex.controls.values()]))
    assert frames <= 64
    fig = ex(alpha_A=0.9, alpha_M=0.0, sigma_w=0.5)          # attention only: collapse, no simplex
    assert "ordered" in fig.axes[0].get_title()
    fig = ex(alpha_A=0.1, alpha_M=0.9, sigma_w=6.0)          # chaotic: the simplex line is drawn
    assert "chaotic" in fig.axes[0].get_title() and "simplex" in fig.axes[0].get_legend().get_texts()[-1].get_text()
