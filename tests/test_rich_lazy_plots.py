"""Figures and explorers of the single-neuron pages (theory.rich_lazy.plots)."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from theory.core import EXPLORERS  # noqa: E402
from theory.rich_lazy import (gradient_descent, implicit_bias_curve, init_from_beta,  # noqa: E402
                              kernel_distance_whitened, lazy_limit, downstream_limit,
                              whitened_trajectory)
from theory.rich_lazy import plots  # noqa: E402

X, y = np.eye(2), np.array([0.0, 1.0])
beta0 = np.array([1.0, 0.0])
deltas = np.array([-1.0, 0.0, 1.0])
a0, w0 = init_from_beta(beta0, deltas)
gd = gradient_descent(X, y, a0, w0, dt=1e-2, steps=400, record_every=40, progress=False)
exact = whitened_trajectory(np.linspace(0, 4, 81), X, y, a0, w0)
S = kernel_distance_whitened(a0, w0, exact.a, exact.w)
S_gd = kernel_distance_whitened(a0, w0, gd.a, gd.w)


def test_regime_names_and_colours():
    assert plots.regime(2.0).startswith("upstream")
    assert plots.regime(0.0).startswith("balanced")
    assert plots.regime(-0.5).startswith("downstream")
    colours = plots.delta_colors(deltas)
    assert len(colours) == 3 and colours[1] == "#000000" and colours[0] != colours[2]


def test_level_set_figure_draws_each_run_on_its_surface():
    fig = plots.level_set_figure(exact, gd, deltas, y, shown=(-1.0, 0.0, 1.0))
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    for ax, i in zip(fig.axes, range(3)):
        exact_line = [ln for ln in ax.get_lines() if ln.get_label() == "exact"][0]
        w1, w2, a = exact_line.get_data_3d()
        np.testing.assert_allclose(a**2 - w1**2 - w2**2, deltas[i], atol=1e-12)
    with pytest.raises(ValueError, match="not among deltas"):
        plots.level_set_figure(exact, gd, deltas, y, shown=(2.0,))


def test_function_space_and_loss_figures():
    fig = plots.function_space_figure(exact, gd, deltas, beta0, y)
    ax = fig.axes[0]
    exact_lines = [ln for ln in ax.get_lines() if ln.get_label().startswith("δ =")]
    assert len(exact_lines) == 3
    np.testing.assert_allclose(exact_lines[1].get_xydata(), exact.beta[1])
    fig = plots.loss_kernel_figure(exact, S, gd, S_gd, deltas)
    assert len(fig.axes) == 2
    with pytest.raises(ValueError, match="one run per δ"):
        plots.loss_kernel_figure(exact, S, gd, S_gd, deltas[:2])
    with pytest.raises(TypeError, match="gd must be a Trajectory"):
        plots.function_space_figure(exact, "gd", deltas, beta0, y)


def test_implicit_bias_figure():
    X1, y1, b1 = np.array([[0.5, 1.0]]), np.array([1.1]), np.array([0.6, 0.1])
    sweep = np.array([-10.0, -1.0, 0.0, 1.0, 10.0])
    curve = implicit_bias_curve(X1, y1, b1, sweep)
    a0_, w0_ = init_from_beta(b1, sweep)
    paths = gradient_descent(X1, y1, a0_, w0_, dt=1e-2, steps=200, record_every=50, progress=False)
    fig = plots.implicit_bias_figure(X1, y1, b1, sweep, curve, sweep, paths, curve,
                                     lazy_limit(X1, y1, b1), downstream_limit(X1, y1, b1))
    assert len(fig.axes) == 2
    with pytest.raises(ValueError, match="d = 2"):
        plots.implicit_bias_figure(np.ones((1, 3)), y1, b1, sweep, curve, sweep, paths, curve,
                                   np.ones(2), np.ones(2))


def _pixels(fig):
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba()).copy()


def test_explorers_are_registered_within_the_frame_budget_and_respond():
    for exp in (plots.single_neuron_explorer, plots.delta_scrubber):
        assert EXPLORERS[exp.name] is exp
        assert exp.n_frames <= 64
    assert plots.delta_scrubber.play == ("delta",)
    assert set(plots.single_neuron_explorer.controls) == {"delta", "eta_ratio", "scale"}
    # every control changes the figure
    base = _pixels(plots.single_neuron_explorer())
    for kw in (dict(delta=4.0), dict(eta_ratio=10.0), dict(scale=0.1)):
        assert not np.array_equal(base, _pixels(plots.single_neuron_explorer(**kw))), kw
    assert not np.array_equal(_pixels(plots.delta_scrubber(delta=-4.0)),
                              _pixels(plots.delta_scrubber(delta=4.0)))


def test_explorer_realises_the_same_initial_function_for_every_delta():
    paths = []
    for d in (-4.0, 0.0, 4.0):
        fig = plots.single_neuron_explorer(delta=d, scale=0.5)
        line = [ln for ln in fig.axes[0].get_lines() if ln.get_label() == "β(t), exact"][0]
        paths.append(line.get_xydata())
    for p in paths:
        np.testing.assert_allclose(p[0], [0.5, 0.0], atol=1e-12)  # β₀ ⟂ β*, ‖β₀‖ = scale
    assert not np.allclose(paths[0], paths[2])
