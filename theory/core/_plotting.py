"""One plotting style for every figure of the book, and the hidden set-up cell of each notebook."""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib as mpl

from theory.core._device import default_device, set_threads
from theory.core._scale import get_scale
from theory.core._seed import seed_everything

# Colour-blind-safe palette (Okabe-Ito); theory is drawn as lines, simulation as markers.
COLORS = {
    "theory": "#000000",
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "red": "#D55E00",
    "purple": "#CC79A7",
    "sky": "#56B4E9",
    "yellow": "#F0E442",
    "grey": "#999999",
}

_STYLE = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "lines.linewidth": 1.8,
    "lines.markersize": 5,
    "image.cmap": "viridis",
    "axes.prop_cycle": mpl.cycler(
        color=[COLORS[k] for k in ("blue", "orange", "green", "red", "purple", "sky", "grey")]
    ),
}


# The one figure-size convention: widths in inches for the book's text column and for a wide
# figure; the height follows from the rows (or is given).
FIGURE_WIDTHS = {"text": 6.4, "wide": 9.6}
ROW_HEIGHT = 3.2


def figure(nrows: int = 1, ncols: int = 1, *, width: str = "text", height: float | None = None,
           **subplot_kw):
    """``(fig, axes)`` in the book's sizes: ``plt.subplots`` with width ``"text"`` (6.4 in) or
    ``"wide"`` (9.6 in) and a height of 3.2 in per row unless ``height`` is given; the book's
    style applied and a constrained layout. Extra keywords go to ``plt.subplots``."""
    import matplotlib.pyplot as plt

    from theory.core._validate import check_scalar

    nrows = check_scalar(nrows, "nrows", kind="int", min=1)
    ncols = check_scalar(ncols, "ncols", kind="int", min=1)
    if width not in FIGURE_WIDTHS:
        raise ValueError(f"width must be one of {tuple(FIGURE_WIDTHS)}, got {width!r}")
    h = ROW_HEIGHT * nrows if height is None else check_scalar(height, "height", min=0.5, max=30)
    apply_style()
    subplot_kw.setdefault("layout", "constrained")
    return plt.subplots(nrows, ncols, figsize=(FIGURE_WIDTHS[width], h), **subplot_kw)


def apply_style() -> None:
    """Apply the book's matplotlib style (rcParams) in this process."""
    mpl.rcParams.update(_STYLE)


@dataclass(frozen=True)
class NotebookSetup:
    scale: str
    device: str
    threads: int
    seed: int

    def __str__(self) -> str:
        return (
            f"scale={self.scale}  device={self.device}  torch threads={self.threads}  "
            f"seed={self.seed}"
        )


def setup_notebook(seed: int = 0, threads: int | None = None) -> NotebookSetup:
    """The hidden first cell of every notebook: style, seeds, threads; returns what was set."""
    from theory.core._validate import check_scalar, check_seed

    seed = check_seed(seed, "seed")
    if threads is not None:
        threads = check_scalar(threads, "threads", kind="int", min=1)
    apply_style()
    n = set_threads(threads)
    seed_everything(seed)
    return NotebookSetup(scale=get_scale(), device=str(default_device()), threads=n, seed=seed)
