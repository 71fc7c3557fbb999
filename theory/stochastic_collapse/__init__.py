"""Stochastic collapse: gradient noise attracts SGD towards simpler subnetworks.

Chen, Kunin, Yamamura, Ganguli (2023), "Stochastic collapse: how gradient noise attracts SGD
dynamics towards simpler subnetworks", arXiv:2306.04251. Book chapter: ``book/stochastic_collapse``.

- :mod:`~theory.stochastic_collapse.derivation`: sympy derivations (Itô exponents, the stationary
  law and pathwise solution of the quartic well, invariant sets, label-noise modes);
- :mod:`~theory.stochastic_collapse.exact`: closed forms in numpy;
- :mod:`~theory.stochastic_collapse.simulate`: batched Euler–Maruyama and SGD in torch;
- :mod:`~theory.stochastic_collapse.analysis`: the quartic-well and tanh-neuron analyses of the
  notebooks (a simulation, its collapse fractions and exponents, and the theory, in one call);
- :mod:`~theory.stochastic_collapse.deep`: batched SGD on a digits MLP and the official
  notebooks' two collapse measures (independent neurons, effective rank);
- :mod:`~theory.stochastic_collapse.general_teacher_student`: the official
  ``run_teacher_student_general.py`` set-up and its batch-size sweep.
"""

from theory.stochastic_collapse import analysis, deep_experiments, derivation, general_teacher_student
from theory.stochastic_collapse.analysis import *  # noqa: F401,F403
from theory.stochastic_collapse.analysis import __all__ as _analysis_all
from theory.stochastic_collapse.deep import (CollapseStats, DigitsData, collapse_stats,
                                             count_independent, effective_rank, identical_pairs,
                                             load_digits_data,
                                             mlp_layers,
                                             neuron_vectors, train_mlp, vanishing_neurons)
from theory.stochastic_collapse.exact import *  # noqa: F401,F403
from theory.stochastic_collapse.exact import __all__ as _exact_all
from theory.stochastic_collapse.simulate import (Paths, euler_maruyama, label_noise_sgd, linearise,
                                                 measured_exponent, mlp_per_sample_grads,
                                                 tanh_neuron_fields, invariant_set_normals,
                                                 label_noise_summary, mlp_on_invariant_sets,
                                                 pathwise_errors,
                                                 sgd_on_invariant_sets,
                                                 simulate_prototype, tanh_neuron_sde,
                                                 tanh_neuron_sgd)

__all__ = ["CollapseStats", "DigitsData", "collapse_stats", "count_independent", "effective_rank",
           "mlp_layers",
           "identical_pairs", "load_digits_data", "neuron_vectors", "train_mlp", "vanishing_neurons",
           "Paths", "derivation", "euler_maruyama", "label_noise_sgd", "linearise", "measured_exponent",
           "mlp_per_sample_grads", "tanh_neuron_fields", "deep_experiments", "general_teacher_student",
           "invariant_set_normals", "label_noise_summary", "mlp_on_invariant_sets", "pathwise_errors",
           "sgd_on_invariant_sets",
           "simulate_prototype", "tanh_neuron_sde", "tanh_neuron_sgd", "analysis", *_analysis_all,
           *_exact_all]
