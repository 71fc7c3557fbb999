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


def test_figures_of_a_run_and_of_a_dataset():
    import xarray as xr

    from theory.core import Result, Sweep
    from theory.rich_lazy import deep

    sweep = Sweep(alpha=ALPHAS.tolist(), seed=[0, 1])
    steps = np.arange(0, 41, 10)
    acc = np.sort(RNG.uniform(size=(10, 5)), axis=1)
    acc[:, -1] = 1.0                                                  # every run memorises
    run = Result(steps=steps, metrics={"train_accuracy": acc, "test_accuracy": acc}, sweep=sweep)
    times = deep.grokking_times(run, 0.5)
    fig = deep_plots.grokking_run_figure(run, times, delta_bar=[1, 1, -1, -1, -1], alpha0=0.6, p=7)
    assert len(fig.axes) == 2 and "p = 7" in fig.axes[0].get_title()
    _close(fig)
    with pytest.raises(ValueError, match="Sweep"):
        deep_plots.grokking_run_figure(Result(steps=steps, metrics=run.metrics), times,
                                       delta_bar=np.ones(5), alpha0=0.6, p=7)
    ds = xr.Dataset({"test_accuracy": (("alpha", "seed", "P"), RNG.uniform(size=(3, 2, 4))),
                     "p_star": (("alpha", "seed"), RNG.uniform(16, 128, size=(3, 2)))},
                    coords={"alpha": [0.1, 1.0, 10.0], "seed": [0, 1], "P": [16, 32, 64, 128]},
                    attrs=dict(v=4, n_classes=4, m=2, s=2, L=2, threshold=0.5))
    fig = deep_plots.rhm_dataset_figure(ds)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and len(ax.get_legend().get_texts()) == 5
    assert "v = 4, m = 2, s = 2, L = 2" in ax.get_title()
    _close(fig)


def test_colours_follow_the_papers_alpha():
    from theory.core import COLORS
    five = deep_plots.alpha_colors(ALPHAS)
    assert five[0] == COLORS["red"] and five[-1] == COLORS["blue"]       # α = 0.1 down, 10 up
    six = deep_plots.alpha_colors([0.03, 0.1, 0.3, 1.0, 3.0, 10.0])
    assert len(set(six)) == 6 and six[-1] == COLORS["blue"] and six[3] == COLORS["grey"]


def test_cnn_kernel_figure_with_smoothness_and_large_filters():
    S = RNG.uniform(size=(5, 3))
    fig = deep_plots.cnn_kernel_figure(ALPHAS, S, S, S + 0.1, steps=10, smoothness=S, smoothness0=S + 1)
    assert len(fig.axes) == 3 and fig.axes[2].get_xscale() == "log"
    _close(fig)
    with pytest.raises(ValueError, match="smoothness"):
        deep_plots.cnn_kernel_figure(ALPHAS, S, S, S, steps=10, smoothness=S[:2])
    fig = deep_plots.cnn_filters_figure({"a": RNG.normal(size=(8, 1, 5, 5)), "b": RNG.normal(size=(6, 5, 5))})
    assert len(fig.axes) == 16 and fig.axes[0].get_images()[0].get_array().shape == (5, 5)
    _close(fig)
    with pytest.raises(ValueError, match="rows"):
        deep_plots.cnn_filters_figure({"a": RNG.normal(size=(8, 5, 4))})


def test_grok_grid_figure():
    from theory.core import Result, Sweep
    from theory.rich_lazy import deep_transformer as tr
    sw = Sweep(alpha=[0.1, 1.0, 10.0], tau=[0.5, 1.0], seed=[0, 1])
    steps = np.arange(0, 41, 10)
    acc = np.sort(RNG.uniform(size=(len(sw), len(steps))), axis=1)
    acc[:, -1] = 1.0
    acc[0, :] = 0.2                                                     # a run that never grokked
    res = Result(steps=steps, metrics={"train_accuracy": acc, "val_accuracy": acc}, sweep=sw)
    grid = tr.grok_grid(res)
    fig = deep_plots.grok_grid_figure(res, grid, tau=1.0, p=7)
    assert len(fig.axes) == 2 and fig.axes[1].get_xscale() == "log"
    assert len(fig.axes[0].get_lines()) == 2 * 3 + 1                      # val, train per α; threshold
    _close(fig)
    with pytest.raises(ValueError, match="tau"):
        deep_plots.grok_grid_figure(res, grid, tau=2.0, p=7)
    with pytest.raises(ValueError, match="Sweep"):
        deep_plots.grok_grid_figure(Result(steps=steps, metrics=res.metrics), grid, p=7)
