"""Rich and lazy learning in the exactly solvable single neuron.

Kunin, Raventós, Dominé, Chen, Klindt, Saxe, Ganguli (2024), "Get rich quick: exact solutions
reveal how unbalanced initializations promote rapid feature learning", Section 3.
Book chapter: ``book/rich_lazy``.

- :mod:`theory.rich_lazy.derivation`: sympy derivations, each with an asserted residual;
- :mod:`theory.rich_lazy.exact`: closed forms (numpy), vectorised over time and parameters;
- :mod:`theory.rich_lazy.simulate`: batched gradient descent (torch) and a ``solve_ivp`` reference.
"""

from theory.rich_lazy import derivation
from theory.rich_lazy.exact import *  # noqa: F401,F403
from theory.rich_lazy.exact import __all__ as _exact_all
from theory.rich_lazy.simulate import (DescentLimit, gradient_descent, gradient_descent_limit,
                                       gradient_flow_ode, whitened_problem)

__all__ = ["DescentLimit", "derivation", "gradient_descent", "gradient_descent_limit",
           "gradient_flow_ode", "whitened_problem", *_exact_all]

# Deep finite-width networks (the deep-network experiments): batched training, data, metrics.
from theory.rich_lazy import deep  # noqa: E402
from theory.rich_lazy.deep import modular_addition, random_hierarchy, sample_hierarchy  # noqa: E402

__all__ += ["deep", "modular_addition", "random_hierarchy", "sample_hierarchy"]

# Wide/deep linear and two-layer ReLU networks (Section 4, Fig. 1).
from theory.rich_lazy import linear_networks, two_layer  # noqa: E402

__all__ += ["linear_networks", "two_layer"]
