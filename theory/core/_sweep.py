"""A sweep: named axes of hyper-parameters and seeds, flattened to one batch of configurations.

    sweep = Sweep(alpha=[0.1, 1.0, 10.0], seed=[0, 1, 2])   # 9 configurations
    lr = sweep.column("alpha")                              # (9,), one value per configuration
    seeds = sweep.seeds("init")                             # (9,), one stream per configuration
    ...                                                      # train all 9 in one batch
    ds = sweep.to_dataset({"test_loss": loss})              # loss (9, T) → dims (alpha, seed, step)

Configurations are laid out in C order (the last axis varies fastest), so ``unflatten`` is a
reshape, and every per-configuration seed is computed from that configuration's own values
(:func:`theory.core.config_seed`), never from its position in the batch.
"""

from __future__ import annotations

import itertools
import numbers

import numpy as np

from theory.core._random import config_seed

__all__ = ["Sweep"]


def _axis_values(name: str, values) -> tuple:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"axis {name!r} must be a list of values, got {type(values).__name__}")
    vals = tuple(v.item() if isinstance(v, np.generic) else v for v in values)
    if not vals:
        raise ValueError(f"axis {name!r} must hold at least one value")
    for v in vals:
        if isinstance(v, numbers.Real) and not isinstance(v, bool) and not np.isfinite(v):
            raise ValueError(f"axis {name!r} must hold finite values, got {v!r}")
        if not isinstance(v, (numbers.Number, str, bool)):
            raise TypeError(f"axis {name!r} must hold numbers or strings, got {type(v).__name__}")
    if len(set(vals)) != len(vals):
        raise ValueError(f"axis {name!r} holds repeated values: {vals}")
    return vals


class Sweep:
    """Named axes → a flat batch of G configurations → labelled results (xarray)."""

    def __init__(self, **axes):
        if not axes:
            raise ValueError("a Sweep needs at least one named axis")
        for name in axes:
            if name in ("step", "config"):
                raise ValueError(f"{name!r} is reserved for result dimensions; rename the axis")
        self.axes: dict[str, tuple] = {name: _axis_values(name, v) for name, v in axes.items()}

    @property
    def dims(self) -> tuple[str, ...]:
        return tuple(self.axes)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.axes.values())

    def __len__(self) -> int:
        return int(np.prod(self.shape))

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={list(v)}" for k, v in self.axes.items())
        return f"Sweep({inner}; {len(self)} configurations)"

    def configs(self) -> list[dict]:
        """The configurations, flat, in C order (last axis fastest)."""
        return [dict(zip(self.dims, combo)) for combo in itertools.product(*self.axes.values())]

    def column(self, name: str) -> np.ndarray:
        """The value of axis ``name`` for each configuration: (G,)."""
        if name not in self.axes:
            raise ValueError(f"name must be one of the sweep's axes {self.dims}, got {name!r}")
        k = self.dims.index(name)
        grid = np.array(self.axes[name])
        reps = int(np.prod(self.shape[k + 1:]))
        tiles = int(np.prod(self.shape[:k]))
        return np.tile(np.repeat(grid, reps), tiles)

    def seeds(self, *salt, axes=None) -> np.ndarray:
        """One 63-bit seed per configuration: (G,) int64.

        Each is ``config_seed(*salt, (name, value) for the configuration's axes)``, over all axes
        (``axes=None``) or only those named in ``axes`` (e.g. ``axes=("seed",)`` to give every
        hyper-parameter setting of one seed the same initial weights, a paired comparison).
        """
        use = self.dims if axes is None else tuple(axes)
        for name in use:
            if name not in self.axes:
                raise ValueError(f"axes must name the sweep's axes {self.dims}, got {name!r}")
        out = []
        for cfg in self.configs():
            keys = list(salt)
            for name in use:
                keys += [name, cfg[name]]
            out.append(config_seed(*keys))
        return np.array(out, dtype=np.int64)

    def unflatten(self, arr) -> np.ndarray:
        """(G, ...) → (*shape, ...)."""
        a = np.asarray(arr)
        if a.ndim < 1 or a.shape[0] != len(self):
            raise ValueError(f"arr must have the sweep's {len(self)} configurations on its first "
                             f"axis, got shape {a.shape}")
        return a.reshape(*self.shape, *a.shape[1:])

    def coords(self) -> dict[str, np.ndarray]:
        return {name: np.array(vals) for name, vals in self.axes.items()}

    def to_dataset(self, data: dict, dims: dict | None = None, coords: dict | None = None, attrs=None):
        """A dict of (G, ...) arrays as an ``xarray.Dataset`` over the sweep's axes.

        ``dims`` names each variable's trailing dimensions (default ``dim_1, dim_2, …``);
        ``coords`` gives coordinates for trailing dimensions (e.g. ``{"step": steps}``).
        """
        import xarray as xr

        if not isinstance(data, dict) or not data:
            raise TypeError("data must be a non-empty dict name → array (G, ...)")
        dims = dims or {}
        variables = {}
        for name, arr in data.items():
            a = self.unflatten(np.asarray(arr))
            extra = a.ndim - len(self.shape)
            names = tuple(dims.get(name, ())) or tuple(f"{name}_dim_{i}" for i in range(extra))
            if len(names) != extra:
                raise ValueError(f"dims[{name!r}] names {len(names)} trailing dimensions but the "
                                 f"array has {extra}")
            variables[name] = (self.dims + names, a)
        all_coords = self.coords()
        all_coords.update({k: np.asarray(v) for k, v in (coords or {}).items()})
        return xr.Dataset(variables, coords=all_coords, attrs=dict(attrs or {}))
