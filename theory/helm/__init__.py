"""Liang, Bommasani, Lee et al. (2022; TMLR 2023), "Holistic Evaluation of Language Models" (HELM)
— the taxonomy of scenarios × metrics × models measured densely under standard conditions, in
miniature: HELM's metric definitions (accuracy, calibration, robustness, fairness, bias, toxicity,
efficiency, the mean win rate), scenarios built offline, models that run offline here
(SmolLM2-135M-Instruct, MiniLM + logistic regression, TF-IDF + logistic regression, a lexicon
baseline, a byte n-gram language model), and the evaluation as a resumable tool
(``python -m theory.helm``).
"""

from theory.helm.schema import (ADAPTATION_METHODS, TASKS, Adaptation, Instance, Model, Prediction,
                                Scenario, content_key)

__all__ = ["ADAPTATION_METHODS", "TASKS", "Adaptation", "Instance", "Model", "Prediction", "Scenario",
           "content_key"]

_SUBMODULES = ("derivation", "evaluate", "lexicons", "metrics", "models", "perturbations", "plots",
               "scenarios", "store")


def __getattr__(name):
    """The chapter's modules, imported on first use (the language model loads only when asked)."""
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"theory.helm.{name}")
    raise AttributeError(f"module 'theory.helm' has no attribute {name!r}")
