"""The paper's own forms of the single-neuron results: Eq. 2 (μ, φ), the downstream delay
∝ |δ|, and Theorem 3.1 (Eq. 5) against the book's closed forms."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import sympy as sp  # noqa: E402

from theory.rich_lazy import derivation as dv  # noqa: E402
from theory.rich_lazy import plots  # noqa: E402
from theory.rich_lazy.exact import (AlignmentDelay, alignment_delay, downstream_alignment_time,  # noqa: E402
                                    implicit_bias, init_from_beta, mu_phi, mu_phi_rhs,
                                    solve_mu_phi, theorem_3_1_agreement, theorem_3_1_argmin,
                                    theorem_3_1_check, theorem_3_1_objective, whitened_solution)

BETA_STAR = np.array([0.0, 1.5])


@pytest.mark.parametrize("make", [dv.paper_mu_phi, dv.balanced_mu_phi, dv.downstream_alignment,
                                  dv.theorem_3_1_gradient])
def test_paper_derivations_hold(make):
    d = make()
    assert d.holds(), d.name
    assert d.display_latex()


def test_a_wrong_eq2_fails():
    """Eq. 2 with κ + δ in place of κ − δ in the φ equation must not hold."""
    d = dv.paper_mu_phi()
    w, adot, wdot, mu, phi, dl, kappa = dv._mu_phi_symbols()
    wrong = 2 * dv.eta_a * dv.eta_w * mu * dv.s * (1 - phi**2) / (kappa + dl)
    right = 2 * dv.eta_a * dv.eta_w * mu * dv.s * (1 - phi**2) / (kappa - dl)
    d.residual = sp.Matrix([d.residual[0], d.residual[1] + right - wrong])
    assert not d.holds()


@pytest.mark.parametrize("delta", [-2.0, 0.0, 1.5])
@pytest.mark.parametrize("rates", [(2.0, 0.5), (0.5, 3.0)])
def test_eq2_rhs_is_the_time_derivative_of_the_closed_form(delta, rates):
    """Central differences of μ(t), φ(t) of the closed form equal Eq. 2's right-hand side
    (independent of any ODE solver)."""
    a0, w0 = init_from_beta(np.array([0.7, 0.4]), delta, *rates)
    h = 1e-5
    t = np.array([0.3, 0.3 - h, 0.3 + h, 1.7, 1.7 - h, 1.7 + h])
    mu, phi = mu_phi(whitened_solution(t, a0, w0, BETA_STAR, *rates), BETA_STAR)
    for k in (0, 3):
        m_dot, p_dot = mu_phi_rhs(mu[k], phi[k], 1.5, delta, *rates)
        assert abs((mu[k + 2] - mu[k + 1]) / (2 * h) - m_dot) < 1e-7 * max(1, abs(m_dot))
        assert abs((phi[k + 2] - phi[k + 1]) / (2 * h) - p_dot) < 1e-7 * max(1, abs(p_dot))


def test_eq2_denominator_has_no_cancellation():
    """For δ ≫ 0 and small μ, κ − δ is computed as 4η_aη_wμ²/(κ + δ): φ̇ stays accurate."""
    mu, delta = 1e-6, 1e6
    _, p_dot = mu_phi_rhs(mu, 0.5, 1.0, delta)
    exact = 2 * mu * 0.75 / (4 * mu**2 / (np.sqrt(delta**2 + 4 * mu**2) + delta))
    assert p_dot == pytest.approx(exact, rel=1e-12)


def test_eq2_agreement_small_grid_and_its_guard():
    res = dv.eq2_agreement(deltas=(-1.0, 0.0, 1.0), rates=((2.0, 0.5),), beta0s=((0.3, 0.1),),
                           t_max=4.0, n_t=81)
    assert res["runs"] == 3 and res["mu"] < 1e-8 and res["phi"] < 1e-8
    with pytest.raises(ValueError, match="eta_a != eta_w"):
        dv.eq2_agreement(rates=((1.0, 1.0),))
    with pytest.raises(ValueError, match="rates"):
        dv.eq2_agreement(rates=((1.0, -1.0),))


def test_solve_mu_phi_and_mu_phi_validate():
    t = np.linspace(0, 1, 5)
    with pytest.raises(ValueError, match="t must start at 0"):
        solve_mu_phi(t + 1, 1.0, 0.2, 1.0, -1.0)
    with pytest.raises(ValueError, match="phi0"):
        solve_mu_phi(t, 1.0, 1.5, 1.0, -1.0)
    with pytest.raises(ValueError, match="s"):
        solve_mu_phi(t, 1.0, 0.2, 0.0, -1.0)
    with pytest.raises(TypeError, match="method"):
        solve_mu_phi(t, 1.0, 0.2, 1.0, -1.0, method=3)
    with pytest.raises(ValueError, match="κ − δ = 0"):
        mu_phi_rhs(0.0, 0.2, 1.0, 1.0)
    a0, w0 = init_from_beta(np.array([0.7, 0.4]), -1.0)
    traj = whitened_solution(t, a0, w0, BETA_STAR)
    with pytest.raises(ValueError, match="non-zero"):
        mu_phi(traj, np.zeros(2))
    with pytest.raises(TypeError, match="Trajectory"):
        mu_phi((traj.a, traj.w), BETA_STAR)


def test_downstream_alignment_time_is_the_sympy_formula_and_linear_in_delta():
    d = dv.downstream_alignment()
    f0, f1, D = sp.symbols("phi_0 phi_1 D", positive=True)
    vals = {f0: 0.2, f1: 0.9, D: 40.0, dv.s: 1.5, dv.eta_a: 2.0, dv.eta_w: 0.5}
    assert downstream_alignment_time(-40.0, 0.2, 0.9, 1.5, 2.0, 0.5) == pytest.approx(
        float(d.extra["T"].subs(vals)), rel=1e-13)
    t1, t2 = downstream_alignment_time(np.array([-10.0, -20.0]), 0.2, 0.9, 1.0)
    assert t2 == pytest.approx(2 * t1, rel=1e-14)
    with pytest.raises(ValueError, match="delta must be < 0"):
        downstream_alignment_time(1.0, 0.2, 0.9, 1.0)
    with pytest.raises(ValueError, match="phi_from < phi_to"):
        downstream_alignment_time(-1.0, 0.9, 0.2, 1.0)


def test_alignment_delay_is_proportional_to_delta_far_downstream():
    b0, bs = np.array([np.sqrt(0.96), 0.2]), np.array([0.0, 1.0])
    delay = alignment_delay(np.array([-32.0, -64.0, -128.0]), b0, bs, 2.0, 1.0, n_t=1001)
    assert isinstance(delay, AlignmentDelay) and delay.phi0 == pytest.approx(0.2)
    assert abs(delay.slope - 1) < 5e-3
    np.testing.assert_allclose(delay.t_exact / delay.t_reduced, 1, atol=5e-3)
    np.testing.assert_allclose(delay.t_eq2, delay.t_exact, rtol=1e-5)
    # the measured time at a moderate δ is visibly not yet proportional (the check can fail)
    near = alignment_delay(np.array([-1.0, -2.0]), b0, bs, 2.0, 1.0, n_t=1001)
    assert abs(near.t_exact[0] / near.t_reduced[0] - 1) > 0.05


def test_alignment_delay_validates():
    bs = np.array([0.0, 1.0])
    with pytest.raises(ValueError, match="deltas must all be < 0"):
        alignment_delay(np.array([-1.0, 1.0]), np.array([1.0, 0.2]), bs)
    with pytest.raises(ValueError, match="0 < φ₀"):
        alignment_delay(np.array([-4.0]), np.array([1.0, 0.0]), bs)  # φ₀ = 0: the saddle
    with pytest.raises(ValueError, match="same shape"):
        alignment_delay(np.array([-4.0]), np.array([1.0, 0.2, 0.0]), bs)


def test_theorem_3_1_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    beta, beta0 = rng.normal(size=3), rng.normal(size=3)
    for delta in (-2.0, 0.0, 1.5):
        _, grad = theorem_3_1_objective(beta, beta0, delta)
        h = 1e-6
        fd = [(theorem_3_1_objective(beta + h * e, beta0, delta)[0]
               - theorem_3_1_objective(beta - h * e, beta0, delta)[0]) / (2 * h) for e in np.eye(3)]
        np.testing.assert_allclose(grad, fd, rtol=1e-7, atol=1e-9)


def test_theorem_3_1_argmin_is_the_closed_form():
    X, y, beta0 = np.array([[0.5, 1.0]]), np.array([1.1]), np.array([0.4, 0.05])
    for delta in (-3.0, 0.5, 4.0):
        a0, w0 = init_from_beta(beta0, delta)
        closed = implicit_bias(X, y, float(a0), w0).beta_inf
        np.testing.assert_allclose(theorem_3_1_argmin(X, y, beta0, delta), closed, atol=1e-7)
        res = theorem_3_1_check(X, y, beta0, delta)
        assert res["kkt"] < 1e-12 and res["crosses"] == 0.0


def test_theorem_3_1_fails_where_a_crosses_zero():
    """Theorem 3.1 assumes β(t) ≠ 0; where a passes through zero the end point is not the argmin."""
    res = theorem_3_1_agreement(8, seed=0, deltas=(-10.0,), rates=((1.0, 1.0), (2.0, 1.0)))
    crossed = res.crosses == 1
    assert crossed.any() and (~crossed).any()
    assert res.kkt[crossed].min() > 1e-3 and res.kkt[~crossed].max() < 1e-12
    kkt, arg = res.paper
    assert kkt.size + res.other_rates.size // 2 + res.crossed_kkt.size == res.kkt.size
    assert arg.max() < 1e-7 and res.crossed_kkt.min() > 1e-3
    assert "with a passing through zero" in res.summary()


def test_theorem_3_1_validates():
    with pytest.raises(ValueError, match="beta0 must be non-zero"):
        theorem_3_1_objective(np.ones(2), np.zeros(2), 1.0)
    with pytest.raises(ValueError, match="trivial null space"):
        theorem_3_1_argmin(np.eye(2), np.ones(2), np.ones(2), 1.0)
    with pytest.raises(ValueError, match="rates"):
        theorem_3_1_agreement(1, rates=((1.0,),))


def test_alignment_delay_figure():
    b0, bs = np.array([np.sqrt(0.96), 0.2]), np.array([0.0, 1.0])
    delay = alignment_delay(np.array([-16.0, -32.0]), b0, bs, n_t=401)
    fig = plots.alignment_delay_figure(delay, b0, bs, n_t=50)
    assert len(fig.axes) == 2 and fig.axes[1].get_xscale() == "log"
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes)
    with pytest.raises(TypeError, match="AlignmentDelay"):
        plots.alignment_delay_figure((1, 2), b0, bs)
    plt.close("all")


def test_mu_phi_figure_draws_the_papers_variables():
    from theory.rich_lazy import gradient_descent, whitened_trajectory

    X, y = np.eye(2), np.array([0.0, 1.0])
    deltas = np.array([-1.0, 0.0, 1.0])
    a0, w0 = init_from_beta(np.array([1.0, 0.0]), deltas)
    gd = gradient_descent(X, y, a0, w0, dt=1e-2, steps=200, record_every=50, progress=False)
    exact = whitened_trajectory(np.linspace(0, 2, 41), X, y, a0, w0)
    fig = plots.mu_phi_figure(exact, gd, deltas, y)
    assert len(fig.axes) == 2
    mu_line = fig.axes[0].get_lines()[0].get_ydata()
    np.testing.assert_allclose(mu_line, exact.a[0] * np.linalg.norm(exact.w[0], axis=-1))
    with pytest.raises(ValueError, match="one run per δ"):
        plots.mu_phi_figure(exact, gd, deltas[:2], y)
    plt.close("all")
