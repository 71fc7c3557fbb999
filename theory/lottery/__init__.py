"""Paul et al. (ICLR 2023), "Unmasking the lottery ticket hypothesis: what's encoded in a winning
ticket's mask?" — iterative magnitude pruning with rewinding, the error barrier between
successive levels, SGD's robustness to perturbations of the rewind point, and the book's
reconstruction of the Hessian/Gordon theory of how much can be pruned in one step.
"""

from theory.lottery.data import Split, load_split
from theory.lottery.nets import MLP
from theory.lottery.pruning import (check_alpha, is_nested, magnitude_prune, n_kept, projection_length,
                                    prune_to, random_prune, sparsity)
from theory.lottery.train import train_masked
from theory.lottery.imp import IMPRun, IMPSettings, dense_run, matching, run_imp, run_one_shot
from theory.lottery.barrier import barrier, default_coefficients, interpolation_curve

__all__ = ["analysis", "connectivity", "derivation", "escape", "gordon", "landscape",
           "IMPRun", "IMPSettings", "MLP", "Split", "barrier", "check_alpha", "default_coefficients",
           "dense_run", "interpolation_curve", "is_nested", "load_split", "magnitude_prune", "matching", "n_kept",
           "projection_length", "prune_to", "random_prune", "run_imp", "run_one_shot", "sparsity",
           "train_masked"]

_SUBMODULES = ("analysis", "connectivity", "derivation", "escape", "gordon", "landscape")


def __getattr__(name):
    """The pages' modules (analyses, derivations, figures), imported on first use."""
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"theory.lottery.{name}")
    raise AttributeError(f"module 'theory.lottery' has no attribute {name!r}")
