"""Shared core of the ``theory`` package: devices, seeds, scale, threads, validation, style."""

from theory.core._device import default_device, default_dtype, set_threads
from theory.core._scale import SCALES, get_scale, scaled
from theory.core._seed import seed_everything
from theory.core._plotting import COLORS, apply_style, offline_jshtml, setup_notebook

__all__ = [
    "COLORS",
    "SCALES",
    "apply_style",
    "offline_jshtml",
    "default_device",
    "default_dtype",
    "get_scale",
    "scaled",
    "seed_everything",
    "set_threads",
    "setup_notebook",
]

from theory.core._validate import as_array, non_negative, positive, positive_int  # noqa: E402

__all__ += ["as_array", "non_negative", "positive", "positive_int"]

from theory.core._ledger import ClaimFailed, Ledger, Record, identity_holds, read_records  # noqa: E402

__all__ += ["ClaimFailed", "Ledger", "Record", "identity_holds", "read_records"]

from theory.core._explorer import EXPLORERS, Explorer, explorer  # noqa: E402

__all__ += ["EXPLORERS", "Explorer", "explorer"]
