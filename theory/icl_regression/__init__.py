"""In-context linear regression and pretraining task diversity.

Raventós, Paul, Chen, Ganguli (2023), "Pretraining task diversity and the emergence of
non-Bayesian in-context learning for regression", NeurIPS 2023, arXiv:2306.15063.
Book chapter: ``book/icl_regression``.

- :mod:`~theory.icl_regression.data`: sequences, task pools, the token layout, Eq. 5 paths;
- :mod:`~theory.icl_regression.estimators`: dMMSE (Eq. 2) and ridge (Eq. 3), exact and batched,
  with slow brute-force references;
- :mod:`~theory.icl_regression.risks`: losses and distances (Eqs. 1, 4), closed-form risks,
  baseline sweeps, and the evaluation of trained transformers (losses, the crossing, paths);
- :mod:`~theory.icl_regression.transformer`: a GPT-2-style model batched over a sweep of pool
  sizes, trained with Adam and the triangle schedule on :func:`theory.core.train_batched`;
- :mod:`~theory.icl_regression.plots`: the chapter's figures and explorers.
"""

from theory.icl_regression.data import (Sequences, interpolation_path, is_infinite, sample_pool,
                                        sample_sequences, to_tokens, tokens_to_targets)
from theory.icl_regression.estimators import (dmmse_naive, dmmse_posterior, dmmse_predict,
                                              ridge_naive, ridge_predict)
from theory.icl_regression.risks import (PAPER_THRESHOLD_LOG2, PATH_ALPHA, BaselineRisks, DimensionStudy,
                                         PathLosses, PoolSizeSweep, PosteriorConcentration,
                                         ReferenceErrors, RiskChecks, SweepEval, Transition,
                                         baseline_risks, dimension_study, dimension_sweep,
                                         distance, dmmse_first_risk, evaluate_sweep, loss,
                                         noise_sweep, path_losses, path_table, pool_size_sweep,
                                         posterior_concentration, reference_errors,
                                         ridge_risk_given_inputs, risk_checks, sweep_paths,
                                         transition)
from theory.icl_regression.transformer import (DECAYED, ModelConfig, SweepRun, forward, init_params,
                                               model_seeds, predict, train_sweep, triangle_lr)

__all__ = ["BaselineRisks", "DECAYED", "DimensionStudy", "ModelConfig", "PAPER_THRESHOLD_LOG2", "PATH_ALPHA",
           "PathLosses", "PoolSizeSweep", "PosteriorConcentration", "ReferenceErrors", "RiskChecks",
           "Sequences", "SweepEval", "SweepRun", "Transition", "baseline_risks",
           "dimension_study", "dimension_sweep", "distance", "dmmse_first_risk", "dmmse_naive", "dmmse_posterior",
           "dmmse_predict", "evaluate_sweep", "forward", "init_params", "interpolation_path",
           "is_infinite", "loss", "model_seeds", "noise_sweep", "path_losses", "path_table",
           "pool_size_sweep", "posterior_concentration", "predict", "reference_errors",
           "ridge_naive", "ridge_predict", "ridge_risk_given_inputs", "risk_checks", "sample_pool",
           "sample_sequences", "sweep_paths", "to_tokens", "tokens_to_targets", "train_sweep",
           "transition", "triangle_lr"]
