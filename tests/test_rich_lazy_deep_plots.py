"""theory.rich_lazy.deep_plots: each figure builds from explicit arrays, in the book's sizes, and
rejects arrays of the wrong shape."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from theory.core import FIGURE_WIDTHS  # noqa: E402
from theory.rich_lazy import deep_plots  # noqa: E402

ALPHAS = np.array([0.1, 0.3, 1.0, 3.0, 10.0])
RNG = np.random.default_rng(0)


def _close(fig):
    plt.close(fig)


def test_alpha_colors():
    assert len(set(deep_plots.alpha_colors(ALPHAS))) == 5
    three = deep_plots.alpha_colors([0.1, 1.0, 10.0])
    assert three[0] == deep_plots.alpha_colors(ALPHAS)[0] and three[2] == deep_plots.alpha_colors(ALPHAS)[4]
    assert len(deep_plots.alpha_colors([0.5, 2.0])) == 2


def test_grokking_figure():
    steps = np.arange(0, 101, 10)
    acc = RNG.uniform(size=(5, 3, len(steps)))
    t_gen = RNG.uniform(100, 200, size=(5, 3))
    t_gen[1, 2] = np.nan                                                  # a seed that never crossed
    fig = deep_plots.grokking_figure(steps, acc, acc, t_gen, t_gen / 10, alphas=ALPHAS,
                                     delta_bar=[1, 1, -1, -1, -1], alpha0=0.6, threshold=0.9, p=7)
    assert len(fig.axes) == 2 and fig.get_size_inches()[0] == FIGURE_WIDTHS["wide"]
    assert fig.axes[1].get_xscale() == "log"
    _close(fig)
    with pytest.raises(ValueError, match="test_accuracy"):
        deep_plots.grokking_figure(steps, acc, acc[:3], t_gen, t_gen, alphas=ALPHAS,
                                   delta_bar=np.ones(5), alpha0=0.6, threshold=0.9, p=7)


def test_cnn_figures():
    S = RNG.uniform(size=(5, 3))
    fig = deep_plots.cnn_kernel_figure(ALPHAS, S, S, S + 0.1, steps=10)
    assert len(fig.axes) == 2 and fig.axes[1].get_yscale() == "log"
    _close(fig)
    rows = {f"row {k}": RNG.normal(size=(8, 1, 3, 3)) for k in range(4)}
    fig = deep_plots.cnn_filters_figure(rows)
    assert len(fig.axes) == 32 and fig.get_size_inches()[0] == FIGURE_WIDTHS["text"]
    _close(fig)
    with pytest.raises(TypeError):
        deep_plots.cnn_filters_figure({})
    with pytest.raises(ValueError, match="ntk"):
        deep_plots.cnn_kernel_figure(ALPHAS, S[:2], S, S, steps=10)


def test_rhm_figure():
    sizes = np.array([16, 32, 64, 128])
    acc = RNG.uniform(size=(3, 2, 4))
    fig = deep_plots.rhm_figure(sizes, acc, RNG.uniform(16, 128, size=(3, 2)), alphas=[0.1, 1.0, 10.0],
                                n_classes=4, m=2, L=2, v=4, s=2)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and len(ax.get_legend().get_texts()) == 5
    _close(fig)
