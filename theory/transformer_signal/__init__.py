"""Geometric dynamics of signal propagation in deep random transformers.

Cowsik, Nebabu, Qi, Ganguli (2024), "Geometric dynamics of signal propagation predict
trainability of transformers", arXiv:2403.02579. Book chapter: ``book/transformer_signal``.

- :mod:`theory.transformer_signal.derivation`: sympy derivations, each with an asserted residual;
- :mod:`theory.transformer_signal.exact`: the mean-field map of the token geometry, its fixed
  points and its angle and gradient exponents (numpy, scipy, fixed-seed Monte Carlo);
- :mod:`theory.transformer_signal.simulate`: the same model in torch, batched over
  configurations and seeds, autograd gradient exponents, and training on the shared batched
  trainer (:func:`theory.core.train_batched`, a :class:`theory.core.Sweep` in, a
  :class:`theory.core.Result` out);
- :mod:`theory.transformer_signal.plots`: every figure of the chapter and its explorer
  (``signal_explorer``).

The model's definitions are the book's reconstruction (the paper's text could not be read):
see the docstring of :mod:`theory.transformer_signal.exact`. Defaults are the paper's form as
third-party scripts read it (``PAPER_MODEL``: plain residual x + αf(LN x), tanh); the book's
earlier model is ``BOOK_MODEL`` (scaled residual √(1−α²)x + αf, erf).
"""

from theory.transformer_signal import derivation
from theory.transformer_signal.exact import *  # noqa: F401,F403
from theory.transformer_signal.exact import __all__ as _exact_all
from theory.transformer_signal.simulate import *  # noqa: F401,F403
from theory.transformer_signal.simulate import __all__ as _sim_all

__all__ = ["derivation", *_exact_all, *_sim_all]
