"""Chapter 6 of the book's order of work: the asymmetric maximum-margin bias of quasi-homogeneous
networks (Kunin, Yamamura, Ma, Ganguli, ICLR 2023, arXiv:2210.03820).

Modules (import them directly, e.g. ``from theory.quasi_homogeneous import models``):
``models`` (quasi-homogeneous models with flat parameters and their rates), ``derivation``
(sympy), ``rates`` (Λ found from an architecture), ``maxmargin`` (the constrained problem and its
KKT residuals), ``flow`` (loss-normalised gradient descent on an exponential loss), ``robustness``,
``sparsity``, ``collapse`` (neural collapse) and ``plots``.
"""
