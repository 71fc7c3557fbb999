"""The official single-neuron routes, re-implemented for the benchmark, not the official code.

Official source: ``allanraventos/getrichquick``, ``single-neuron/Single_Neuron.ipynb``.

- :func:`official_formula`: the notebook's closed form (``theory``, ``a_w_norm``,
  ``get_w_theory``; ``balanced_theory`` at δ = 0), one trajectory per call, from its equations
  (the Riccati solution ν(t) = ½(−δ + D tanh Q) in ν = wᵀβ*/a, the hyperbolic angle θ of
  (a, ‖w‖), then w from μ = ŵᵀβ*). The re-implementation lives in the package,
  :mod:`theory.rich_lazy.official_formula` (the derivation page uses it); this module only
  names it for the benchmark.
- :func:`official_ode`: the notebook's numerical route, ``scipy.integrate.solve_ivp`` (RK45,
  rtol 1e-6, scipy's default atol) on the gradient ẇ = −a(β − β*), ȧ = −wᵀ(β − β*)
  (``get_gradient`` with XᵀX = I), here evaluated at the requested times (``t_eval``).
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from theory.rich_lazy.official_formula import official_trajectory as official_formula

__all__ = ["official_formula", "official_ode"]


def official_ode(t, a0, w0, beta_star, *, method: str = "RK45", rtol: float = 1e-6,
                 atol: float | None = None):
    """(a (T,), w (T, d)) by solve_ivp on the gradient flow, unit rates, XᵀX = I."""
    t = np.asarray(t, dtype=float)
    bs = np.asarray(beta_star, dtype=float)

    def rhs(_, theta):
        w, a = theta[:-1], theta[-1]
        r = a * w - bs
        return np.concatenate((-a * r, [-(w @ r)]))

    kw = {} if atol is None else {"atol": atol}
    sol = solve_ivp(rhs, (0.0, float(t[-1])), np.concatenate((w0, [a0])), t_eval=t,
                    method=method, rtol=rtol, **kw)
    return sol.y[-1], sol.y[:-1].T
