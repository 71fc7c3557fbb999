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
