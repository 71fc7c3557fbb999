"""Every sympy derivation of the chapter simplifies to zero."""

import pytest

from theory.rich_lazy import derivation as dv


@pytest.mark.parametrize("make", [dv.conservation, dv.function_space_flow,
                                  dv.metric_in_delta_and_norm, dv.riccati, dv.riccati_solution,
                                  dv.bernoulli_a_squared, dv.linear_lift, dv.rate_rescaling,
                                  dv.implicit_bias_quadratic, dv.paper_mu_phi,
                                  dv.balanced_mu_phi, dv.downstream_alignment,
                                  dv.theorem_3_1_gradient])
def test_derivation_holds(make):
    d = make()
    assert d.holds(), d.name
    assert d.latex()


def test_a_wrong_identity_fails():
    d = dv.conservation()
    d.residual = d.residual + dv.eta_a  # perturb: must no longer hold
    assert not d.holds()
    with pytest.raises(AssertionError):
        d.check()


def test_all_derivations_lists_each_once():
    names = [d.name for d in dv.all_derivations()]
    assert len(names) == len(set(names)) == 13
