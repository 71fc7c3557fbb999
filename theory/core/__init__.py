"""Shared core of the ``theory`` package.

Batched experiments (:class:`Sweep` → a batch of configurations → :func:`train_batched` →
:class:`Result` → xarray), per-configuration random streams (:func:`config_seed`,
:func:`counter_words`), the record schedule, devices and dtypes, progress bars, validation
(:func:`check_scalar`), the figure style, explorers, and the reproduction ledger.
"""

from theory.core._device import default_device, default_dtype, resolve_device, resolve_dtype, set_threads
from theory.core._scale import SCALES, get_scale, scaled
from theory.core._seed import seed_everything
from theory.core._plotting import COLORS, FIGURE_WIDTHS, apply_style, figure, setup_notebook
from theory.core._progress import progress
from theory.core._random import (config_seed, counter_normal, counter_uniform, counter_words,
                                 torch_generator)
from theory.core._result import Result
from theory.core._schedule import first_crossing, record_steps
from theory.core._sweep import Sweep
from theory.core._trainer import train_batched

__all__ = [
    "COLORS",
    "FIGURE_WIDTHS",
    "Result",
    "Sweep",
    "config_seed",
    "counter_normal",
    "counter_uniform",
    "counter_words",
    "figure",
    "first_crossing",
    "progress",
    "record_steps",
    "resolve_device",
    "resolve_dtype",
    "torch_generator",
    "train_batched",
    "SCALES",
    "apply_style",
    "default_device",
    "default_dtype",
    "get_scale",
    "scaled",
    "seed_everything",
    "set_threads",
    "setup_notebook",
]

from theory.core._validate import (DivergenceError, array_bytes, as_array, as_tensor, check_bool,  # noqa: E402
                                   check_choice, check_finite_state, check_memory, check_scalar,
                                   check_seed, check_seeds, memory_limit, non_negative, positive,
                                   positive_int, probability)

__all__ += ["DivergenceError", "array_bytes", "as_array", "as_tensor", "check_bool", "check_choice",
            "check_finite_state", "check_memory", "check_scalar", "check_seed", "check_seeds",
            "memory_limit", "non_negative", "positive", "positive_int", "probability"]

from theory.core._ledger import ClaimFailed, Identity, Ledger, Record, identity_holds, read_records  # noqa: E402

__all__ += ["ClaimFailed", "Identity", "Ledger", "Record", "identity_holds", "read_records"]

from theory.core._runner import (Experiment, open_result, result_path, results_dir,  # noqa: E402
                                 run_sweep, save_result, slurm_cluster, store_entries)

__all__ += ["Experiment", "open_result", "result_path", "results_dir", "run_sweep", "save_result",
            "slurm_cluster", "store_entries"]

from theory.core._explorer import EXPLORERS, Explorer, explorer  # noqa: E402

__all__ += ["EXPLORERS", "Explorer", "explorer"]

from theory.core._gaussian_width import (MCWidth, cap_hit_crossing, cap_hit_probability,  # noqa: E402
                                         cap_hit_probability_mc, chi_mean, gordon_escape_bound,
                                         gordon_threshold_codimension, gordon_threshold_dimension,
                                         larsen_width_sq, width_cap, width_ellipsoid,
                                         width_ellipsoid_jensen, width_ellipsoid_mc, width_from_points,
                                         width_projected_ellipsoid_mc, width_subspace_sphere)

__all__ += ["MCWidth", "cap_hit_crossing", "cap_hit_probability", "cap_hit_probability_mc", "chi_mean",
            "gordon_escape_bound", "gordon_threshold_codimension", "gordon_threshold_dimension",
            "larsen_width_sq", "width_cap", "width_ellipsoid", "width_ellipsoid_jensen",
            "width_ellipsoid_mc", "width_from_points", "width_projected_ellipsoid_mc",
            "width_subspace_sphere"]

from theory.core._plans import (STORED_LABELS, SweepPlan, check_configs, check_result, check_stored,  # noqa: E402
                                foreign_device, provenance_report, run_plan, stored_results, sweep_cli)

__all__ += ["STORED_LABELS", "SweepPlan", "check_configs", "check_result", "check_stored", "foreign_device",
            "provenance_report", "run_plan", "stored_results", "sweep_cli"]
