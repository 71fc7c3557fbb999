"""One result type for every batched run of the book: configurations first."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from theory.core._sweep import Sweep

__all__ = ["Result"]


@dataclass
class Result:
    """What a batched run returns.

    ``steps`` (T,): the recorded steps (0 = initialisation). ``metrics``: name → array
    (G, T, ...), configuration first, record second; the chapters use the names
    ``train_loss``, ``test_loss``, ``train_accuracy``, ``test_accuracy`` where they apply.
    ``params``: the final parameters, name → (G, ...). ``sweep``: the configurations, when the
    run came from a :class:`Sweep`. ``meta``: anything else (settings, timings).
    """

    steps: np.ndarray
    metrics: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    sweep: Sweep | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        self.steps = np.asarray(self.steps)
        if self.steps.ndim != 1:
            raise ValueError(f"steps must be 1-D, got shape {self.steps.shape}")
        sizes = set()
        for name, arr in self.metrics.items():
            arr = np.asarray(arr)
            self.metrics[name] = arr
            if arr.ndim < 2 or arr.shape[1] != self.steps.size:
                raise ValueError(f"metric {name!r} must be (G, T={self.steps.size}, ...), got "
                                 f"shape {arr.shape}")
            sizes.add(arr.shape[0])
        for name, arr in self.params.items():
            self.params[name] = np.asarray(arr)
            sizes.add(self.params[name].shape[0])
        if len(sizes) > 1:
            raise ValueError(f"metrics and params disagree on the number of configurations: {sizes}")
        if self.sweep is not None and sizes and sizes != {len(self.sweep)}:
            raise ValueError(f"the sweep has {len(self.sweep)} configurations but the arrays "
                             f"have {sizes.pop()}")

    @property
    def n_configs(self) -> int:
        for arr in list(self.metrics.values()) + list(self.params.values()):
            return int(arr.shape[0])
        return len(self.sweep) if self.sweep is not None else 0

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.metrics:
            raise KeyError(f"no metric {name!r}; recorded: {sorted(self.metrics)}")
        return self.metrics[name]

    def __contains__(self, name: str) -> bool:
        return name in self.metrics

    def final(self, name: str) -> np.ndarray:
        """The metric at the last record: (G, ...)."""
        return self[name][:, -1]

    def with_sweep(self, sweep: Sweep) -> "Result":
        """The same result labelled by ``sweep`` (its size must match)."""
        return Result(self.steps, dict(self.metrics), dict(self.params), sweep, dict(self.meta))

    def select(self, index) -> "Result":
        """The configurations ``index`` (an int array or boolean mask over G), unlabelled."""
        idx = np.asarray(index)
        return Result(self.steps, {k: v[idx] for k, v in self.metrics.items()},
                      {k: v[idx] for k, v in self.params.items()}, None, dict(self.meta))

    def to_dataset(self, dims: dict | None = None, coords: dict | None = None):
        """The metrics as an ``xarray.Dataset`` with dims (*sweep.dims, "step", ...)."""
        if self.sweep is None:
            import xarray as xr

            variables = {}
            for name, arr in self.metrics.items():
                extra = tuple((dims or {}).get(name, ())) or tuple(
                    f"{name}_dim_{i}" for i in range(arr.ndim - 2))
                variables[name] = (("config", "step") + extra, arr)
            c = {"config": np.arange(self.n_configs), "step": self.steps}
            c.update(coords or {})
            return xr.Dataset(variables, coords=c, attrs=_attrs(self.meta))
        d = {name: ("step",) + tuple((dims or {}).get(name, ())) for name in self.metrics}
        c = {"step": self.steps}
        c.update(coords or {})
        return self.sweep.to_dataset(self.metrics, dims=d, coords=c, attrs=_attrs(self.meta))


def _attrs(meta: dict) -> dict:
    """The scalar entries of ``meta`` (what netCDF/zarr attributes can hold)."""
    return {k: v for k, v in meta.items() if isinstance(v, (str, int, float, bool))}
