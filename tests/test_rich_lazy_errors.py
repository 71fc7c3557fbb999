"""Bad input raises a clear error naming the argument."""

import numpy as np
import pytest

from theory.rich_lazy import (conserved_delta, gradient_descent, gradient_descent_limit,
                              gradient_flow_ode, implicit_bias, init_from_beta, kernel_distance,
                              riccati_nu, whitened_solution, whitened_trajectory)

X2, y2 = np.eye(2), np.array([0.0, 1.0])
t = np.linspace(0, 1, 5)


@pytest.mark.parametrize("kwargs, match", [
    (dict(eta_a=0.0), "eta_a"), (dict(eta_a=-1.0), "eta_a"), (dict(eta_w=0.0), "eta_w"),
    (dict(eta_w=np.nan), "eta_w"),
])
def test_learning_rates(kwargs, match):
    with pytest.raises(ValueError, match=match):
        whitened_solution(t, 1.0, np.ones(2), np.ones(2), **kwargs)
    with pytest.raises(ValueError, match=match):
        gradient_descent(X2, y2, 1.0, np.ones(2), dt=0.1, steps=3, **kwargs)


def test_nan_and_shapes():
    with pytest.raises(ValueError, match="a0"):
        whitened_solution(t, np.nan, np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="w0"):
        whitened_solution(t, 1.0, np.array([1.0, np.inf]), np.ones(2))
    with pytest.raises(ValueError, match="last dimension"):
        whitened_solution(t, 1.0, np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match="broadcast"):
        whitened_solution(t, np.ones(3), np.ones((2, 2)), np.ones(2))
    with pytest.raises(ValueError, match="t must be >= 0"):
        whitened_solution(-t, 1.0, np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="y must have"):
        whitened_trajectory(t, X2, np.ones(3), 1.0, np.ones(2))
    with pytest.raises(ValueError, match="w0 must have last dimension"):
        gradient_descent(X2, y2, 1.0, np.ones(3), dt=0.1, steps=3)
    with pytest.raises(ValueError, match="batch sizes"):
        gradient_descent(X2, y2, np.ones(3), np.ones((2, 2)), dt=0.1, steps=3)
    with pytest.raises(ValueError, match="X"):
        gradient_descent(np.ones(3), y2, 1.0, np.ones(2), dt=0.1, steps=3)
    with pytest.raises(ValueError, match="w"):
        conserved_delta(1.0, np.array([np.nan]))


def test_types():
    with pytest.raises(TypeError, match="a0"):
        whitened_solution(t, "one", np.ones(2), np.ones(2))
    with pytest.raises(TypeError, match="steps"):
        gradient_descent(X2, y2, 1.0, np.ones(2), dt=0.1, steps=2.5)
    with pytest.raises(TypeError, match="X"):
        gradient_descent(None, y2, 1.0, np.ones(2), dt=0.1, steps=3)
    with pytest.raises(TypeError, match="w0"):
        whitened_solution(t, 1.0, np.array([1 + 2j, 0]), np.ones(2))


def test_non_whitened_X_is_refused():
    X = np.array([[1.0, 0.0], [0.0, 2.0]])
    with pytest.raises(ValueError, match="whitened"):
        whitened_trajectory(t, X, y2, 1.0, np.ones(2))


def test_steps_and_dt():
    with pytest.raises(ValueError, match="dt"):
        gradient_descent(X2, y2, 1.0, np.ones(2), dt=0.0, steps=3)
    with pytest.raises(ValueError, match="steps"):
        gradient_descent(X2, y2, 1.0, np.ones(2), dt=0.1, steps=0)
    with pytest.raises(ValueError, match="record_at"):
        gradient_descent(X2, y2, 1.0, np.ones(2), dt=0.1, steps=3, record_at=[5])
    with pytest.raises(ValueError, match="levels"):
        gradient_descent_limit(X2, y2, 1.0, np.ones(2), levels=1)
    with pytest.raises(ValueError, match="rtol"):
        gradient_flow_ode(t, X2, y2, 1.0, np.ones(2), rtol=-1)


def test_other_functions():
    with pytest.raises(ValueError, match="beta0 = 0"):
        init_from_beta(np.zeros(2), -1.0)
    with pytest.raises(ValueError, match="same size"):
        kernel_distance(np.eye(2), np.eye(3))
    with pytest.raises(ValueError, match="zero kernel"):
        kernel_distance(np.zeros((2, 2)), np.eye(2))
    with pytest.raises(ValueError, match="s = "):
        riccati_nu(t, 0.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="sign"):
        implicit_bias(np.array([[1.0, 0.0]]), np.array([1.0]), 1.0, np.ones(2), sign=2)
    with pytest.raises(ValueError, match="y must have length"):
        implicit_bias(np.array([[1.0, 0.0]]), np.array([1.0, 2.0]), 1.0, np.ones(2))


# ---- every public validator of exact, simulate, plots and derivation rejects NaN and ±inf ----

import matplotlib  # noqa: E402

matplotlib.use("Agg")

from theory.rich_lazy import (RegimeMeasures, balanced_limit_distance, check_whitened,  # noqa: E402
                              downstream_limit, function_space_metric, implicit_bias_curve,
                              kernel_distance_whitened, lazy_limit, metric_coefficients, ntk_gram,
                              null_direction, regime_measures, whitened_problem)
from theory.rich_lazy import derivation as dv  # noqa: E402
from theory.rich_lazy import plots  # noqa: E402

X1, y1, b1 = np.array([[0.5, 1.0]]), np.array([1.1]), np.array([0.6, 0.1])
_tr = whitened_solution(t, np.array([1.0, 2.0]), np.array([[1.0, 0.0], [0.5, 0.0]]), y2)
_S = kernel_distance_whitened(_tr.a[:, 0], _tr.w[:, 0], _tr.a, _tr.w)


def _with(v, arr):
    """``arr`` with its first entry replaced by ``v``."""
    out = np.array(arr, dtype=float)
    out.flat[0] = v
    return out


NON_FINITE_CASES = [
    # (label, call with the bad value v, the argument the error must name)
    ("conserved_delta a", lambda v: conserved_delta(v, np.ones(2)), "a"),
    ("conserved_delta eta_a", lambda v: conserved_delta(1.0, np.ones(2), eta_a=v), "eta_a"),
    ("metric_coefficients beta_norm", lambda v: metric_coefficients(v, 1.0), "beta_norm"),
    ("metric_coefficients delta", lambda v: metric_coefficients(1.0, v), "delta"),
    ("function_space_metric beta", lambda v: function_space_metric(_with(v, [1.0, 2.0]), 0.0), "beta"),
    ("init_from_beta beta0", lambda v: init_from_beta(_with(v, [1.0, 0.0]), 1.0), "beta0"),
    ("init_from_beta delta", lambda v: init_from_beta(np.ones(2), v), "delta"),
    ("check_whitened X", lambda v: check_whitened(_with(v, np.eye(2))), "X"),
    ("check_whitened atol", lambda v: check_whitened(np.eye(2), atol=v), "atol"),
    ("whitened_solution t", lambda v: whitened_solution(_with(v, t), 1.0, np.ones(2), y2), "t"),
    ("whitened_solution beta_star", lambda v: whitened_solution(t, 1.0, np.ones(2), _with(v, y2)),
     "beta_star"),
    ("whitened_solution eta_w", lambda v: whitened_solution(t, 1.0, np.ones(2), y2, eta_w=v), "eta_w"),
    ("whitened_solution loss_offset",
     lambda v: whitened_solution(t, 1.0, np.ones(2), y2, loss_offset=v), "loss_offset"),
    ("whitened_trajectory y", lambda v: whitened_trajectory(t, X2, _with(v, y2), 1.0, np.ones(2)), "y"),
    ("whitened_trajectory atol", lambda v: whitened_trajectory(t, X2, y2, 1.0, np.ones(2), atol=v),
     "atol"),
    ("riccati_nu nu0", lambda v: riccati_nu(t, v, 1.0, 0.5), "nu0"),
    ("riccati_nu delta", lambda v: riccati_nu(t, 0.0, 1.0, v), "delta"),
    ("ntk_gram a", lambda v: ntk_gram(X2, v, np.ones(2)), "a"),
    ("kernel_distance K0", lambda v: kernel_distance(_with(v, np.eye(2)), np.eye(2)), "K0"),
    ("kernel_distance Kt", lambda v: kernel_distance(np.eye(2), _with(v, np.eye(2))), "Kt"),
    ("kernel_distance_whitened w", lambda v: kernel_distance_whitened(
        1.0, np.ones(2), np.ones(3), _with(v, np.ones((3, 2)))), "w"),
    ("implicit_bias a0", lambda v: implicit_bias(X1, y1, v, b1), "a0"),
    ("implicit_bias y", lambda v: implicit_bias(X1, _with(v, y1), 1.0, b1), "y"),
    ("lazy_limit beta0", lambda v: lazy_limit(X1, y1, _with(v, b1)), "beta0"),
    ("downstream_limit X", lambda v: downstream_limit(_with(v, X1), y1, b1), "X"),
    ("null_direction X", lambda v: null_direction(_with(v, X1)), "X"),
    ("implicit_bias_curve deltas", lambda v: implicit_bias_curve(X1, y1, b1, [0.0, v]), "deltas"),
    ("implicit_bias_curve eta_a", lambda v: implicit_bias_curve(X1, y1, b1, [0.0], eta_a=v), "eta_a"),
    ("balanced_limit_distance scales", lambda v: balanced_limit_distance(X1, y1, b1, [1.0, v]),
     "scales"),
    ("regime_measures S", lambda v: regime_measures(_tr, _with(v, _S), [1.0, 0.0], y2), "S"),
    ("regime_measures loss_level",
     lambda v: regime_measures(_tr, _S, [1.0, 0.0], y2, loss_level=v), "loss_level"),
    ("RegimeMeasures.fraction time",
     lambda v: regime_measures(_tr, _S, [1.0, 0.0], y2).fraction(v), "time"),
    ("gradient_descent a0", lambda v: gradient_descent(X2, y2, v, np.ones(2), dt=0.1, steps=3), "a0"),
    ("gradient_descent X", lambda v: gradient_descent(_with(v, X2), y2, 1.0, np.ones(2), dt=0.1,
                                                      steps=3), "X"),
    ("gradient_descent dt", lambda v: gradient_descent(X2, y2, 1.0, np.ones(2), dt=v, steps=3), "dt"),
    ("gradient_descent eta_a",
     lambda v: gradient_descent(X2, y2, 1.0, np.ones(2), eta_a=v, dt=0.1, steps=3), "eta_a"),
    ("gradient_flow_ode rtol", lambda v: gradient_flow_ode(t, X2, y2, 1.0, np.ones(2), rtol=v), "rtol"),
    ("gradient_flow_ode w0", lambda v: gradient_flow_ode(t, X2, y2, 1.0, _with(v, np.ones(2))), "w0"),
    ("gradient_descent_limit time",
     lambda v: gradient_descent_limit(X2, y2, 1.0, np.ones(2), time=v), "time"),
    ("gradient_descent_limit dt", lambda v: gradient_descent_limit(X2, y2, 1.0, np.ones(2), dt=v), "dt"),
    ("whitened_problem init_norm", lambda v: whitened_problem(4, 2, 3, init_norm=v), "init_norm"),
    ("plots.regime delta", lambda v: plots.regime(v), "delta"),
    ("plots.delta_colors deltas", lambda v: plots.delta_colors([0.0, v]), "deltas"),
    ("plots.single_neuron_explorer scale", lambda v: plots.single_neuron_explorer(scale=v), "scale"),
    ("plots.single_neuron_explorer eta_ratio",
     lambda v: plots.single_neuron_explorer(eta_ratio=v), "eta_ratio"),
    ("plots.delta_scrubber delta", lambda v: plots.delta_scrubber(delta=v), "delta"),
    ("dv.closed_forms_agree t_max", lambda v: dv.closed_forms_agree(t_max=v), "t_max"),
    ("dv.closed_forms_agree deltas", lambda v: dv.closed_forms_agree(deltas=[1.0, v]), "deltas"),
]


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("case", NON_FINITE_CASES, ids=[c[0] for c in NON_FINITE_CASES])
def test_every_validator_rejects_non_finite_input(case, value):
    _, call, name = case
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        call(value)


def test_new_functions_name_their_arguments():
    with pytest.raises(ValueError, match="one-dimensional null space"):
        null_direction(np.eye(2))
    with pytest.raises(ValueError, match="must differ"):
        regime_measures(_tr, _S, y2, y2)
    with pytest.raises(ValueError, match="S must have the shape"):
        regime_measures(_tr, _S[:, :2], [1.0, 0.0], y2)
    with pytest.raises(TypeError, match="traj"):
        regime_measures("not a trajectory", _S, [1.0, 0.0], y2)
    with pytest.raises(ValueError, match="scales must be > 0"):
        balanced_limit_distance(X1, y1, b1, [0.0, 1.0])
    with pytest.raises(ValueError, match="deltas must have one entry per run"):
        regime_measures(_tr, _S, [1.0, 0.0], y2).table([0.0])
    with pytest.raises(ValueError, match="d"):
        whitened_problem(2, 3, 1)  # d > n: no orthonormal columns
    with pytest.raises(ValueError, match="non-zero"):
        dv.closed_forms_agree(deltas=[0.0, 1.0])
    with pytest.raises(ValueError, match="branch"):
        dv.closed_forms_agree(deltas=(2.0,), ratios=(1.0,), beta0s=((0.3, 0.1),))  # tanh only
    with pytest.raises(ValueError, match="method"):
        gradient_flow_ode(t, X2, y2, 1.0, np.ones(2), method="Euler")
    with pytest.raises(ValueError, match="record_every"):
        gradient_descent(X2, y2, 1.0, np.ones(2), dt=0.1, steps=3, record_every=0)
    with pytest.raises(ValueError, match="one of the scrubber's values"):
        plots.delta_scrubber(delta=0.3)
    assert isinstance(regime_measures(_tr, _S, [1.0, 0.0], y2), RegimeMeasures)
