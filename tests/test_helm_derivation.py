"""Every sympy identity of HELM's metrics simplifies to zero (theory/helm/derivation.py)."""

import numpy as np
import pytest
import sympy as sp

from theory.helm import derivation as dv
from theory.helm import metrics as M


@pytest.mark.parametrize("ident", dv.all_identities(), ids=lambda d: d.name)
def test_identity_holds(ident):
    assert ident.holds(), ident.name
    assert ident.statement


def test_a_wrong_identity_fails():
    d = dv.win_rates_sum(3)
    d.residual = d.residual + sp.Matrix([sp.Rational(1, 2), 0])   # full credit for ties: no longer N(N−1)/2
    assert not d.holds()


def test_names_unique_and_sizes_validated():
    names = [d.name for d in dv.all_identities()]
    assert len(names) == len(set(names)) == 9
    with pytest.raises(TypeError, match="n_bins"):
        dv.ece_decomposition(2.0)
    with pytest.raises(ValueError, match="n"):
        dv.selective_area_weights(0)


def test_selective_weights_match_the_metric():
    rng = np.random.default_rng(0)
    c, y = rng.uniform(size=6), rng.integers(0, 2, 6).astype(float)
    w = np.array([float(x) for x in dv.selective_area_weights(6).extra["weights"]])
    order = np.argsort(-c, kind="stable")
    assert M.selective_coverage_accuracy_area(c, y) == pytest.approx(float(w @ y[order]))


def test_win_rate_identity_matches_the_metric():
    table = np.array([[1.0], [1.0], [2.0], [3.0], [3.0], [3.0]])
    assert M.mean_win_rate(table, [True]).mean() == pytest.approx(0.5)
