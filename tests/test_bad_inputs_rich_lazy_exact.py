"""Bad input to the single-neuron and linear-network modules of theory.rich_lazy (issue 20).

Modules: exact, derivation, plots, simulate, official_formula, linear_networks, mirror_flow (the
deep*, two_layer and network_* modules have their own table). The battery is :mod:`badinput`;
``python tests/badinput.py tests/test_bad_inputs_rich_lazy_exact.py`` prints the counts.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import badinput  # noqa: E402
from badinput import Fn  # noqa: E402
from theory.core import DivergenceError  # noqa: E402
from theory.rich_lazy import exact as ex  # noqa: E402

E = "theory.rich_lazy.exact"
DV = "theory.rich_lazy.derivation"
PL = "theory.rich_lazy.plots"
SI = "theory.rich_lazy.simulate"
OF = "theory.rich_lazy.official_formula"
LN = "theory.rich_lazy.linear_networks"
MF = "theory.rich_lazy.mirror_flow"
MODULES = (E, DV, PL, SI, OF, LN, MF)

# ---- small fixtures: whitened d = 2 problems, one n < d problem, trajectories ----------------
T5 = np.linspace(0.0, 1.0, 5)
I2 = np.eye(2)
Y2 = np.array([0.0, 1.0])
X1, Y1, B1 = np.array([[0.5, 1.0]]), np.array([1.1]), np.array([0.6, 0.1])   # n = 1 < d = 2
BS = np.array([0.0, 1.5])
DELTAS3 = np.array([-1.0, 0.0, 1.0])


def _runs():
    a0, w0 = ex.init_from_beta(np.array([0.3, 0.1]), DELTAS3)
    return ex.whitened_solution(T5, a0, w0, Y2), a0, w0


TR, A0S, W0S = _runs()
S_TR = ex.kernel_distance_whitened(A0S, W0S, TR.a, TR.w)


def _delay():
    return ex.alignment_delay([-1.0, -2.0], [0.8, 0.3], BS, n_t=50)


# argument-kind shorthands
ETA = dict(eta_a="positive_array", eta_w="positive_array")
ETA12 = dict(eta_1="positive", eta_2="positive")
LEGAL_BATCH = "a leading batch dimension of size 1 broadcasts (legal)"


def _batch_ok(*args):
    """Skips for the derived 'one more dimension' of broadcasting arguments: legal by design."""
    return {(a, "one more dimension"): LEGAL_BATCH for a in args}


def _ax3d():
    fig = plt.figure()
    return fig.add_subplot(projection="3d")


W_NET = [np.full((3, 2), 0.3), np.full((1, 3), 0.2)]      # a 2 → 3 → 1 chain
X_NET = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
Y_NET = np.array([[1.0], [0.5], [0.2]])

TABLE = [
    # ---------------------------------------------------------------- exact
    Fn(E, "conserved_delta", dict(a=1.0, w=np.array([0.5, 0.2])),
       dict(a="array", w="array", **ETA), skip=_batch_ok("a", "w", "eta_a", "eta_w"),
       extra=[({"a": np.ones(3), "w": np.ones((2, 2))}, "broadcast")]),
    Fn(E, "metric_coefficients", dict(beta_norm=1.0, delta=0.5),
       dict(beta_norm="positive_array", delta="array", **ETA),
       skip={**_batch_ok("beta_norm", "delta", "eta_a", "eta_w")},
       extra=[({"beta_norm": np.ones(3), "delta": np.ones(2)}, "broadcast")]),
    Fn(E, "function_space_metric", dict(beta=np.array([0.3, 0.4]), delta=0.5),
       dict(beta="array", delta="array", **ETA), skip=_batch_ok("beta", "delta", "eta_a", "eta_w"),
       extra=[({"beta": np.ones((3, 2)), "delta": np.ones(2)}, "broadcast")]),
    Fn(E, "init_from_beta", dict(beta0=np.array([0.3, 0.1]), delta=0.5),
       dict(beta0="array", delta="array", **ETA), skip=_batch_ok("beta0", "delta", "eta_a", "eta_w"),
       extra=[({"beta0": np.zeros(2), "delta": -1.0}, "delta > 0"),
              ({"beta0": np.ones((3, 2)), "delta": np.ones(2)}, "broadcast")]),
    Fn(E, "check_whitened", dict(X=I2), dict(X="array", atol="non_negative"),
       extra=[({"X": np.array([[1.0, 0.0], [0.0, 2.0]])}, "whitened")]),
    Fn(E, "whitened_solution", dict(t=T5, a0=1.0, w0=np.array([0.5, 0.2]), beta_star=BS),
       dict(t="positive_array", a0="array", w0="array", beta_star="array", **ETA,
            loss_offset="array"),
       skip={**_batch_ok("a0", "w0", "beta_star", "eta_a", "eta_w", "loss_offset"),
             ("t", "negative entry"): "covered: t must be >= 0 (the message names t)"},
       extra=[({"w0": np.ones(3)}, "last dimension"),
              ({"a0": np.ones(3), "w0": np.ones((2, 2))}, "broadcast"),
              ({"a0": np.ones(2), "loss_offset": np.ones(3)}, "loss_offset")]),
    Fn(E, "whitened_trajectory", dict(t=T5, X=I2, y=Y2, a0=1.0, w0=np.array([0.5, 0.2])),
       dict(t="positive_array", X="array", y="array", a0="array", w0="array", **ETA,
            atol="non_negative"),
       skip=_batch_ok("a0", "w0", "eta_a", "eta_w"),
       extra=[({"y": np.ones(3)}, "y must have"), ({"w0": np.ones(3)}, "last dimension")]),
    Fn(E, "riccati_nu", dict(t=T5, nu0=0.2, s=1.0, delta=0.5),
       dict(t="positive_array", nu0="array", s="positive_array", delta="array", **ETA),
       skip=_batch_ok("nu0", "s", "delta", "eta_a", "eta_w"),
       extra=[({"nu0": np.ones(3), "s": np.ones(2)}, "broadcast")]),
    Fn(E, "ntk_gram", dict(X=I2, a=1.0, w=np.array([0.5, 0.2])),
       dict(X="array", a="array", w="array", **ETA), skip=_batch_ok("a", "w", "eta_a", "eta_w"),
       extra=[({"w": np.ones(3)}, "last dimension"),
              ({"a": np.ones(3), "w": np.ones((2, 2))}, "broadcast")]),
    Fn(E, "kernel_distance", dict(K0=I2, Kt=np.array([[1.0, 0.5], [0.5, 1.0]])),
       dict(K0="array", Kt="array"), skip=_batch_ok("K0", "Kt"),
       extra=[({"Kt": np.eye(3)}, "same size"), ({"K0": np.zeros((2, 2))}, "zero kernel"),
              ({"K0": np.ones((3, 2, 2)), "Kt": np.ones((2, 2, 2))}, "broadcast")]),
    Fn(E, "kernel_distance_whitened",
       dict(a0=np.array([1.0]), w0=np.array([[0.5, 0.2]]), a=np.array([[1.0, 0.9]]),
            w=np.array([[[0.5, 0.2], [0.6, 0.3]]])),
       dict(a0="array", w0="array", a="array", w="array", **ETA),
       skip=_batch_ok("a0", "w0", "a", "w", "eta_a", "eta_w"),
       extra=[({"w0": np.ones((1, 3))}, "w0"), ({"a": np.ones((1, 3))}, "a"),
              ({"a0": np.ones(4), "w0": np.ones((3, 2))}, "a0"),
              ({"a0": np.zeros(1), "w0": np.zeros((1, 2))}, "zero kernel"),
              ({"a": np.zeros((1, 2)), "w": np.zeros((1, 2, 2))}, "zero kernel")]),
    Fn(E, "implicit_bias", dict(X=X1, y=Y1, a0=1.0, w0=B1),
       dict(X="array", y="array", a0="real", w0="array", eta_a="positive", eta_w="positive",
            sign="choice?"),
       extra=[({"y": np.ones(2)}, "y must have"), ({"w0": np.ones(3)}, "w0")]),
    Fn(E, "lazy_limit", dict(X=X1, y=Y1, beta0=B1), dict(X="array", y="array", beta0="array"),
       extra=[({"y": np.ones(2)}, "y"), ({"beta0": np.ones(3)}, "beta0")]),
    Fn(E, "downstream_limit", dict(X=X1, y=Y1, beta0=B1), dict(X="array", y="array", beta0="array"),
       extra=[({"y": np.ones(2)}, "y"), ({"beta0": np.ones(3)}, "beta0")]),
    Fn(E, "null_direction", dict(X=X1), dict(X="array"),
       extra=[({"X": I2}, "one-dimensional null space")]),
    Fn(E, "implicit_bias_curve", dict(X=X1, y=Y1, beta0=B1, deltas=np.array([0.5, 1.0])),
       dict(X="array", y="array", beta0="array", deltas="array", eta_a="positive",
            eta_w="positive"),
       extra=[({"beta0": np.ones(3)}, "beta0")]),
    Fn(E, "balanced_limit_distance", dict(X=X1, y=Y1, beta0=B1, scales=np.array([0.1, 1.0])),
       dict(X="array", y="array", beta0="array", scales="positive_array"),
       extra=[({"beta0": np.ones(3)}, "beta0")]),
    Fn(E, "regime_measures", dict(traj=TR, S=S_TR, beta0=np.array([0.3, 0.1]), beta_star=Y2),
       dict(S="array", beta0="array", beta_star="array", loss_level="positive"),
       extra=[({"traj": None}, "traj"), ({"S": np.ones((3, 4))}, "S"),
              ({"beta0": Y2}, "beta0"), ({"beta0": np.ones(3)}, "beta0")]),
    Fn(E, "mu_phi", dict(traj=TR, beta_star=Y2), dict(beta_star="array"),
       skip=_batch_ok("beta_star"),
       extra=[({"traj": None}, "traj"), ({"beta_star": np.zeros(2)}, "beta_star"),
              ({"beta_star": np.ones(3)}, "beta_star")]),
    Fn(E, "mu_phi_rhs", dict(mu=0.5, phi=0.3, s=1.0, delta=0.5),
       dict(mu="array", phi="array", s="positive_array", delta="array", **ETA),
       skip=_batch_ok("mu", "phi", "s", "delta", "eta_a", "eta_w"),
       extra=[({"phi": 1.5}, "phi"), ({"mu": np.ones(3), "phi": np.ones(2)}, "broadcast")]),
    Fn(E, "solve_mu_phi", dict(t=T5, mu0=0.5, phi0=0.3, s=1.5, delta=0.5),
       dict(t="array", mu0="real", phi0="real", s="positive", delta="real", eta_a="positive",
            eta_w="positive", method="choice", rtol="positive", atol="positive"),
       extra=[({"phi0": 1.5}, "phi0"), ({"t": np.array([0.5, 1.0])}, "t")]),
    Fn(E, "downstream_alignment_time", dict(delta=-1.0, phi_from=0.3, phi_to=0.9, s=1.0),
       dict(delta="array", phi_from="array", phi_to="array", s="positive_array", **ETA),
       skip=_batch_ok("delta", "phi_from", "phi_to", "s", "eta_a", "eta_w"),
       extra=[({"delta": 1.0}, "delta"), ({"phi_from": 0.95}, "phi_from"),
              ({"delta": -np.ones(3), "s": np.ones(2)}, "broadcast")]),
    Fn(E, "alignment_delay", dict(deltas=np.array([-1.0, -2.0]), beta0=np.array([0.8, 0.3]),
                                  beta_star=BS, n_t=50),
       dict(deltas="array", beta0="array", beta_star="array", eta_a="positive", eta_w="positive",
            phi_to="unit", n_t="positive_int"),
       extra=[({"deltas": np.array([1.0])}, "deltas"), ({"beta0": np.ones(3)}, "beta0"),
              ({"beta0": np.array([0.3, -0.8])}, "φ₀"), ({"n_t": 10**9}, "needs about")]),
    Fn(E, "theorem_3_1_objective", dict(beta=np.array([0.3, 0.4]), beta0=B1, delta=0.5),
       dict(beta="array", beta0="array", delta="real"), skip=_batch_ok("beta"),
       extra=[({"beta0": np.zeros(2)}, "beta0"), ({"beta": np.ones(3)}, "beta")]),
    Fn(E, "theorem_3_1_argmin", dict(X=X1, y=Y1, beta0=B1, delta=0.5),
       dict(X="array", y="array", beta0="array", delta="real"),
       extra=[({"y": np.ones(2)}, "y"), ({"beta0": np.ones(3)}, "beta0"), ({"X": I2, "y": np.ones(2)}, "null space")]),
    Fn(E, "theorem_3_1_check", dict(X=X1, y=Y1, beta0=B1, delta=0.5),
       dict(X="array", y="array", beta0="array", delta="real", eta_a="positive", eta_w="positive"),
       extra=[({"y": np.ones(2)}, "y"), ({"beta0": np.ones(3)}, "beta0")]),
    Fn(E, "theorem_3_1_agreement", dict(n_problems=1, deltas=(0.5,), rates=((1.0, 1.0),)),
       dict(n_problems="positive_int", seed="seed", deltas="array", rates="positive_array"),
       extra=[({"rates": ((1.0, 2.0, 3.0),)}, "rates")]),
    # ---------------------------------------------------------------- simulate
    Fn(SI, "whitened_problem", dict(n=3, d=2, n_inits=2),
       dict(n="positive_int", d="positive_int", n_inits="positive_int", init_norm="positive",
            seed="seed"),
       extra=[({"d": 4}, "d"), ({"n": 10**6, "d": 10**5}, "needs about")]),
    Fn(SI, "gradient_descent", dict(X=I2, y=Y2, a0=1.0, w0=np.array([0.5, 0.2]), dt=0.1, steps=3,
                                    device="cpu"),
       dict(X="array", y="array", a0="array", w0="array", **ETA, dt="positive",
            steps="positive_int", record_every="positive_int?", device="device?", dtype="dtype?"),
       skip={("a0", "one more dimension"): "covered: a0 (1, 1) is refused as not 0-/1-D",
             ("w0", "one more dimension"): "covered: w0 (1, 1, 2) is refused as not 1-/2-D",
             ("X", "one more dimension"): "X (B, n, d) with B = 1: a batch of problems (legal)",
             ("y", "one more dimension"): "y (B, n) with B = 1: a batch of targets (legal)"},
       extra=[({"y": np.ones(3)}, "y must have"), ({"w0": np.ones(3)}, "w0 must have"),
              ({"a0": np.ones(3), "w0": np.ones((2, 2))}, "batch sizes"),
              ({"record_at": [1.5]}, "record_at"), ({"record_at": [7]}, "record_at"),
              ({"dt": 50.0, "steps": 40}, "diverged"),
              ({"steps": 10**12, "record_every": 1}, "needs about"),
              ({"a0": np.ones(10**5), "w0": np.ones((10**5, 2)), "steps": 10**7,
                "record_every": 1}, "needs about")]),
    Fn(SI, "gradient_descent_limit", dict(X=I2, y=Y2, a0=1.0, w0=np.array([0.5, 0.2]), dt=0.1,
                                          time=0.5, device="cpu"),
       dict(X="array", y="array", a0="array", w0="array", **ETA, dt="positive",
            levels="positive_int", time="positive", device="device?"),
       skip={("a0", "one more dimension"): "covered: a0 (1, 1) is refused as not 0-/1-D",
             ("w0", "one more dimension"): "covered: w0 (1, 1, 2) is refused as not 1-/2-D",
             ("X", "one more dimension"): "X (B, n, d) with B = 1: a batch of problems (legal)",
             ("y", "one more dimension"): "y (B, n) with B = 1: a batch of targets (legal)"},
       extra=[({"levels": 1}, "levels"), ({"dt": 50.0, "time": 2000.0}, "diverged")]),
    Fn(SI, "gradient_flow_ode", dict(t=T5, X=I2, y=Y2, a0=1.0, w0=np.array([0.5, 0.2])),
       dict(t="positive_array", X="array", y="array", a0="real", w0="array", eta_a="positive",
            eta_w="positive", rtol="positive", atol="positive", method="choice"),
       skip={("t", "negative entry"): "covered: t must be non-negative (named)"},
       extra=[({"y": np.ones(3)}, "y must have"), ({"w0": np.ones(3)}, "w0 must have"),
              ({"t": np.array([1.0, 0.5])}, "t")]),
    # ---------------------------------------------------------------- official_formula
    Fn(OF, "official_trajectory", dict(t=T5, a0=1.0, w0=np.array([0.5, 0.2]), beta_star=BS),
       dict(t="positive_array", a0="positive", w0="array", beta_star="array", delta="real?"),
       skip={("t", "negative entry"): "covered: t must be >= 0 (named)"},
       extra=[({"w0": np.ones(3)}, "same shape"), ({"w0": np.zeros(2)}, "w0"),
              ({"t": np.array([0.5, 1.0]), "delta": 0.0}, "t[0]")]),
    Fn(OF, "official_region", dict(a0=1.0, w0=np.array([0.5, 0.2]), beta_star=BS),
       dict(a0="array", w0="array", beta_star="array"), skip=_batch_ok("a0", "w0", "beta_star"),
       extra=[({"a0": 0.0}, "a0"), ({"w0": np.ones(3)}, "w0"),
              ({"a0": np.ones(3), "w0": np.ones((2, 2))}, "broadcast")]),
    Fn(OF, "official_error_survey", dict(n=2, t_max=1.0, n_t=5),
       dict(n="positive_int", seed="seed", t_max="positive", n_t="positive_int")),
    # ---------------------------------------------------------------- derivation
    Fn(DV, "closed_forms_agree", dict(deltas=(0.5,), ratios=(1.0,), beta0s=((0.3, 0.1), (0.2, 3.0)),
                                      t_max=1.0, n_t=5),
       dict(deltas="array", ratios="positive_array", beta0s="array", beta_star="array",
            t_max="positive", n_t="positive_int"),
       extra=[({"deltas": (0.0,)}, "deltas"), ({"beta0s": ((0.3, 0.1, 0.2),)}, "beta0s")]),
    Fn(DV, "eq2_agreement", dict(deltas=(0.5,), rates=((2.0, 0.5),), beta0s=((0.3, 0.1),), t_max=1.0,
                                 n_t=5),
       dict(deltas="array", rates="positive_array", beta0s="array", beta_star="array",
            t_max="positive", n_t="positive_int"),
       extra=[({"rates": ((1.0, 1.0),)}, "eta_a != eta_w"), ({"beta0s": ((0.3, 0.1, 0.2),)}, "beta0s")]),
    # ---------------------------------------------------------------- plots
    Fn(PL, "regime", dict(delta=0.5), dict(delta="real")),
    Fn(PL, "delta_colors", dict(deltas=DELTAS3), dict(deltas="array")),
    Fn(PL, "draw_level_set", lambda: dict(ax=_ax3d(), delta=0.5, n=5),
       dict(delta="real", eta_a="positive", eta_w="positive", extent="positive", n="positive_int"),
       extra=[({"ax": None}, "ax")]),
    Fn(PL, "level_set_figure", dict(exact=TR, gd=TR, deltas=DELTAS3, beta_star=Y2),
       dict(deltas="array", beta_star="array", extent="positive"),
       extra=[({"exact": None}, "exact"), ({"deltas": np.ones(2)}, "deltas"),
              ({"shown": (5.0,)}, "shown")]),
    Fn(PL, "function_space_figure", dict(exact=TR, gd=TR, deltas=DELTAS3,
                                         beta0=np.array([0.3, 0.1]), beta_star=Y2),
       dict(deltas="array", beta0="array", beta_star="array"),
       extra=[({"gd": None}, "gd"), ({"beta0": np.ones(3)}, "beta0")]),
    Fn(PL, "loss_kernel_figure", dict(exact=TR, S=S_TR, gd=TR, S_gd=S_TR, deltas=DELTAS3),
       dict(S="array", S_gd="array", deltas="array"),
       extra=[({"exact": None}, "exact"), ({"S": np.ones((3, 4))}, "S")]),
    Fn(PL, "mu_phi_figure", dict(exact=TR, gd=TR, deltas=DELTAS3, beta_star=Y2),
       dict(deltas="array", beta_star="array"),
       extra=[({"exact": None}, "exact"), ({"beta_star": np.zeros(2)}, "beta_star")]),
    Fn(PL, "implicit_bias_figure",
       lambda: dict(X=X1, y=Y1, beta0=B1, sweep=DELTAS3, beta_inf=np.ones((3, 2)), deltas=DELTAS3,
                    paths=TR, end_points=np.ones((3, 2)), lazy=np.ones(2), down=np.ones(2)),
       dict(X="array", y="array", beta0="array", sweep="array", beta_inf="array", deltas="array",
            end_points="array", lazy="array", down="array"),
       extra=[({"paths": None}, "paths"), ({"X": np.ones((1, 3))}, "d = 2"),
              ({"beta_inf": np.ones((2, 2))}, "beta_inf"), ({"end_points": np.ones((2, 2))}, "end_points")]),
    Fn(PL, "alignment_delay_figure", lambda: dict(delay=_delay(), beta0=np.array([0.8, 0.3]),
                                                  beta_star=BS, n_t=5),
       dict(beta0="array", beta_star="array", eta_a="positive", eta_w="positive",
            n_t="positive_int"),
       extra=[({"delay": None}, "delay")]),
    # ---------------------------------------------------------------- linear_networks
    Fn(LN, "conserved_matrices", dict(weights=W_NET, etas=np.array([1.0, 2.0])),
       dict(etas="positive_array"),
       extra=[({"weights": None}, "weights"), ({"weights": [np.ones((3, 2)), np.ones((1, 2))]}, "weights"),
              ({"etas": np.ones(3)}, "etas"), ({"weights": [np.ones((3, 2)), np.array([[np.nan, 1, 1]])]},
                                              "weights[1]")]),
    Fn(LN, "linear_network_gd", dict(X=X_NET, Y=Y_NET, weights=W_NET, etas=np.ones(2), dt=0.01, steps=2,
                                     device="cpu"),
       dict(X="array", Y="array", etas="positive_array", dt="positive", steps="positive_int",
            record_every="positive_int?", device="device?"),
       extra=[({"Y": np.ones((3, 2))}, "Y"), ({"weights": None}, "weights"),
              ({"dt": 100.0, "steps": 50}, "diverged")]),
    Fn(LN, "linear_network_flow", dict(t=T5, X=X_NET, Y=Y_NET, weights=W_NET, etas=np.ones(2)),
       dict(t="positive_array", X="array", Y="array", etas="positive_array", rtol="positive",
            atol="positive"),
       extra=[({"Y": np.ones((3, 2))}, "Y"), ({"t": np.array([1.0, 0.5])}, "t")]),
    Fn(LN, "aligned_two_layer_solution", dict(t=T5, U=np.eye(2), s=np.array([2.0, 1.0]), V=np.eye(2),
                                              a0=np.array([0.5, 0.5]), w0=np.array([0.3, 0.3])),
       dict(t="positive_array", U="array", s="positive_array", V="array", a0="array", w0="array",
            **ETA12),
       skip={("t", "negative entry"): "covered: t must be >= 0 (named)"},
       extra=[({"a0": np.ones(3)}, "rank"), ({"R": np.ones((2, 2))}, "R")]),
    Fn(LN, "linear_kernel_distance", dict(X=X_NET, weights0=W_NET, weights=[0.9 * W for W in W_NET],
                                          etas=np.ones(2)),
       dict(X="array", etas="positive_array"),
       skip={("etas", "one more dimension"): "etas (B, L) with B = 1 (legal)"},
       extra=[({"weights": [np.ones((2, 2)), np.ones((1, 2))]}, "same shapes"),
              ({"X": np.ones((3, 5))}, "X"), ({"etas": np.ones(3)}, "etas"),
              ({"weights0": [np.ones((4, 3, 2)), np.ones((4, 1, 3))],
                "weights": [np.ones((2, 3, 2)), np.ones((2, 1, 3))]}, "batch"),
              ({"weights0": [np.zeros((3, 2)), np.zeros((1, 3))]}, "zero kernel")]),
    Fn(LN, "linear_descent", dict(X=X_NET, Y=Y_NET, weights=W_NET, etas=np.ones(2), lr=0.01, steps=3,
                                  device="cpu"),
       dict(X="array", Y="array", etas="positive_array", lr="positive", steps="positive_int",
            device="device?", dtype="dtype?", progress="bool"),
       skip={("Y", "one more dimension"): "Y (G, n, k) with G = 1: one target per network (legal)",
             ("etas", "one more dimension"): "etas (G, L) with G = 1: rates per network (legal)"},
       extra=[({"Y": np.ones((3, 2))}, "Y"), ({"weights": None}, "weights"),
              ({"record": [1.5]}, "record"), ({"record": [9]}, "record"),
              ({"lr": 100.0, "steps": 50}, "diverged"),
              ({"steps": 10**10, "record": range(0, 10**10)}, "needs about")]),
    Fn(LN, "square_init", dict(beta0=np.eye(2), delta=0.5),
       dict(beta0="array", delta="array", **ETA12),
       skip={("delta", "one more dimension"): "a batch of one δ per β₀ (legal)",
             ("beta0", "one more dimension"): "beta0 (B, d, d) with B = 1 (legal)"},
       extra=[({"beta0": np.ones((2, 3))}, "square"), ({"beta0": np.zeros((2, 2))}, "full rank"),
              ({"R": np.ones((2, 2))}, "R"), ({"delta": np.ones(3)}, "delta")]),
    Fn(LN, "square_metric", dict(beta=np.eye(2), delta=0.5), dict(beta="array", delta="array", **ETA12),
       skip={("delta", "one more dimension"): "a batch of one δ per β (legal)",
             ("beta", "one more dimension"): "beta (B, d, d) with B = 1 (legal)"},
       extra=[({"beta": np.ones((2, 3))}, "square"), ({"delta": np.ones(3)}, "delta")]),
    Fn(LN, "square_flow", dict(t=np.linspace(0, 0.2, 3), X=np.eye(2), Y=np.eye(2), beta0=np.eye(2),
                               delta=0.5),
       dict(t="positive_array", X="array", Y="array", beta0="array", delta="array", **ETA12,
            rtol="positive", atol="positive"),
       skip={("delta", "one more dimension"): "a batch of one δ per β₀ (legal)",
             ("beta0", "one more dimension"): "beta0 (B, d, d) with B = 1 (legal)"},
       extra=[({"Y": np.ones((3, 2))}, "Y"), ({"t": np.array([1.0, 0.5])}, "t"),
              ({"delta": np.ones(3)}, "delta")]),
    Fn(LN, "square_problem", dict(d=2, singular_values=(1.0, 0.5)),
       dict(d="positive_int", seed="seed", singular_values="positive_array"),
       extra=[({"singular_values": (1.0, 0.5, 0.2)}, "singular_values")]),
    Fn(LN, "conservation_experiment", dict(t_end=0.02, lrs=(0.01, 0.005)),
       dict(seed="seed", t_end="positive", lrs="positive_array", etas="positive_array"),
       extra=[({"etas": (1.0, 1.0)}, "etas"), ({"lrs": (0.01,)}, "lrs"),
              ({"lrs": (5.0, 4.0)}, "lrs")]),
    Fn(LN, "aligned_modes_experiment", dict(patterns=((0.0, 0.0, 0.0),), lr=0.01, t_end=0.05,
                                            record_every=2, n_fine=3),
       dict(seed="seed", s="positive_array", patterns="array", b0="positive", lr="positive",
            t_end="positive", record_every="positive_int", n_fine="positive_int"),
       extra=[({"s": (1.0, 2.0)}, "s"), ({"lr": 50.0, "t_end": 2000.0}, "diverged")]),
    Fn(LN, "square_grid_experiment", dict(taus=(0.5,), deltas=(0.0, 1.0), n_seeds=1, lr=0.01, t_end=0.05,
                                          n_records=2),
       dict(taus="positive_array", deltas="array", n_seeds="positive_int", lr="positive",
            t_end="positive", n_records="positive_int", fit_fraction="unit", progress="bool"),
       extra=[({"lr": 50.0, "t_end": 2500.0}, "diverged")]),
    Fn(LN, "width_regime_experiment", dict(deltas=(0.0, 1.0), steps=3, n=4),
       dict(deltas="array", tau="positive", lr="positive", steps="positive_int", n="positive_int",
            seed="seed"),
       extra=[({"n": 2}, "n"), ({"lr": 100.0, "steps": 50}, "diverged")]),
    # ---------------------------------------------------------------- mirror_flow
    Fn(MF, "hyperbolic_entropy", dict(x=0.5, delta=0.5), dict(x="array", delta="array"),
       skip=_batch_ok("x", "delta"),
       extra=[({"delta": 0.0}, "delta"), ({"x": np.ones(3), "delta": np.ones(2)}, "broadcast")]),
    Fn(MF, "mirror_flow_rate", dict(lam=0.5, grad=0.2, delta=0.5),
       dict(lam="array", grad="array", delta="array"), skip=_batch_ok("lam", "grad", "delta"),
       extra=[({"lam": np.ones(3), "grad": np.ones(2)}, "broadcast")]),
    Fn(MF, "isotropic_two_layer", dict(d=3, h=2, c=2, delta=0.5),
       dict(d="positive_int", h="positive_int", c="positive_int", delta="real", scale="positive",
            seed="seed"),
       extra=[({"delta": 0.0}, "delta"), ({"h": 3}, "h"), ({"delta": -0.5, "d": 1}, "h")]),
    Fn(MF, "singular_value_rates", dict(X=X_NET, Y=np.ones((3, 2)), weights=[np.ones((2, 2)), np.eye(2)]),
       dict(X="array", Y="array"),
       extra=[({"weights": None}, "weights"), ({"Y": np.ones((3, 3))}, "shapes"),
              ({"weights": [np.ones((2, 2)), np.array([[np.nan, 1.0], [1.0, 1.0]])]}, "W2")]),
    Fn(MF, "mirror_flow_experiment", dict(deltas=(1.0,), d=3, h=2, c=2, n=4, t_end=0.4, n_t=2, eps=1e-3),
       dict(deltas="array", d="positive_int", h="positive_int", c="positive_int", n="positive_int",
            t_end="positive", n_t="positive_int", eps="positive", seed="seed", progress_bar="bool"),
       extra=[({"deltas": (0.0,)}, "deltas"), ({"eps": 1.0}, "eps"), ({"h": 3}, "h")]),
    Fn(MF, "deep_isotropic_init", dict(beta0=np.array([0.3, 0.1]), L=2, delta=-0.1),
       dict(beta0="array", L="positive_int", delta="real", seed="seed"),
       extra=[({"delta": 0.5}, "delta"), ({"beta0": np.zeros(2)}, "beta0")]),
    Fn(MF, "deep_bias_potential", dict(beta=np.array([0.3, 0.4]), beta0=B1, L=2),
       dict(beta="array", beta0="array", L="positive_int"),
       extra=[({"beta0": np.zeros(2)}, "beta0"), ({"beta": np.ones(3)}, "beta")]),
    Fn(MF, "min_norm_interpolant", dict(X=X1, y=Y1), dict(X="array", y="array"),
       extra=[({"y": np.ones(2)}, "y"), ({"X": np.array([[1.0, 1.0], [2.0, 2.0]]), "y": np.ones(2)}, "rank")]),
    Fn(MF, "deep_rich_interpolant", dict(X=X1, y=Y1, beta0=B1, L=2),
       dict(X="array", y="array", beta0="array", L="positive_int", tol="positive",
            max_iter="positive_int"),
       extra=[({"beta0": np.zeros(2)}, "beta0"), ({"y": np.ones(2)}, "X")]),
    Fn(MF, "deep_bias_experiment", dict(depths=(1,), deltas=(0.0,), d=3, n=1, t_end=1.0),
       dict(deltas="array", d="positive_int", n="positive_int", b0="positive", t_end="positive",
            seed="seed", progress_bar="bool"),
       extra=[({"depths": (0,)}, "depths"), ({"depths": (1.5,)}, "depths"), ({"depths": None}, "depths"),
              ({"deltas": (0.5,)}, "deltas"), ({"n": 3}, "n")]),
]



def _with_defaults(fn: Fn) -> Fn:
    """Fill the array arguments a row leaves out with the function's own defaults (the battery
    derives the invalid variants of an array argument from its valid value)."""
    import inspect

    params = inspect.signature(fn.resolve()).parameters
    missing = {a: params[a].default for a, k in fn.args.items()
               if k.rstrip("?") in badinput.ARRAY_KINDS and params[a].default is not inspect._empty}
    if not missing or callable(fn.valid):
        return fn
    fn.valid = {**missing, **fn.valid}
    return fn


TABLE = [_with_defaults(fn) for fn in TABLE]

EXEMPT = {
    # sympy derivations without arguments (each asserts its own residual)
    **{name: "a sympy derivation without arguments" for name in (
        "all_derivations", "balanced_mu_phi", "bernoulli_a_squared", "conservation",
        "downstream_alignment", "function_space_flow", "implicit_bias_quadratic", "linear_lift",
        "metric_in_delta_and_norm", "paper_mu_phi", "rate_rescaling", "riccati",
        "riccati_solution", "theorem_3_1_gradient", "deep_bias_two_layer_identity",
        "hyperbolic_entropy_identities", "hyperbolic_entropy_limits")},
    "display_form": "formats any sympy expression for display (accepts anything sympify takes)",
    "q_delta_symbolic": "builds a sympy expression from any sympy symbols or expressions by design",
}

test_bad_input = badinput.parametrize(TABLE)
test_valid_call = badinput.parametrize_valid(TABLE)


def _mine(name: str) -> bool:
    return name.startswith(tuple(m + "." for m in MODULES))


def test_table_covers_every_public_function():
    missing = badinput.check_coverage("theory.rich_lazy", TABLE, EXEMPT)
    assert [q for q in missing if _mine(q)] == []


# ---- the issue's known bugs ------------------------------------------------------------------

def test_kernel_distance_whitened_refuses_mismatched_shapes_and_zero_kernels():
    from theory.rich_lazy.exact import kernel_distance_whitened

    a0, w0 = np.array([1.0]), np.array([[0.5, 0.2]])
    a, w = np.array([[1.0, 0.9]]), np.array([[[0.5, 0.2], [0.6, 0.3]]])
    with pytest.raises(ValueError, match="number of times T"):
        kernel_distance_whitened(a0, w0, np.ones((1, 3)), w)          # used to broadcast
    with pytest.raises(ValueError, match="last dimension"):
        kernel_distance_whitened(a0, np.ones((1, 3)), a, w)
    with pytest.raises(ValueError, match="zero kernel"):
        kernel_distance_whitened(0.0, np.zeros(2), a, w)              # used to return NaN
    with pytest.raises(ValueError, match="zero kernel"):
        kernel_distance_whitened(a0, w0, np.zeros((1, 2)), np.zeros((1, 2, 2)))
    # a = 0 alone (w ≠ 0) is a legal, non-zero kernel: S is finite there
    S = kernel_distance_whitened(a0, w0, np.array([[0.0, 1.0]]), w)
    assert np.all(np.isfinite(S))


def test_linear_kernel_distance_refuses_mismatched_batches_and_zero_kernels():
    from theory.rich_lazy.linear_networks import linear_kernel_distance

    W0 = [np.full((3, 2), 0.3), np.full((1, 3), 0.2)]
    with pytest.raises(ValueError, match="batch"):
        linear_kernel_distance(X_NET, [np.ones((4, 3, 2)), np.ones((4, 1, 3))],
                               [np.ones((2, 3, 2)), np.ones((2, 1, 3))], np.ones(2))
    with pytest.raises(ValueError, match="etas"):
        linear_kernel_distance(X_NET, W0, W0, np.ones(3))            # used to broadcast
    with pytest.raises(ValueError, match="zero kernel"):
        linear_kernel_distance(X_NET, [np.zeros((3, 2)), np.zeros((1, 3))], W0, np.ones(2))
    assert linear_kernel_distance(X_NET, W0, W0, np.ones(2))[0] == pytest.approx(0.0, abs=1e-12)


def test_gradient_descent_raises_divergence_with_the_step():
    from theory.rich_lazy.simulate import gradient_descent

    with pytest.raises(DivergenceError, match="diverged") as info:
        gradient_descent(I2, Y2, 1.0, np.array([0.5, 0.2]), dt=50.0, steps=200, device="cpu",
                         progress=False)
    assert info.value.step is not None and info.value.step <= 200
    ok = gradient_descent(I2, Y2, 1.0, np.array([0.5, 0.2]), dt=0.1, steps=200, device="cpu",
                          progress=False)
    assert np.all(np.isfinite(ok.a)) and ok.loss[0, -1] < 1e-6


def test_linear_descent_raises_divergence_with_the_step():
    from theory.rich_lazy.linear_networks import linear_descent, linear_network_gd

    with pytest.raises(DivergenceError, match="diverged"):
        linear_descent(X_NET, Y_NET, W_NET, np.ones(2), lr=100.0, steps=200, device="cpu")
    with pytest.raises(DivergenceError, match="diverged"):
        linear_network_gd(X_NET, Y_NET, W_NET, np.ones(2), dt=100.0, steps=200, device="cpu")
    ok = linear_descent(X_NET, Y_NET, W_NET, np.ones(2), lr=0.05, steps=50, device="cpu")
    assert np.all(np.isfinite(ok["train_loss"]))


# ---- exact solutions: finite over the legal range, unchanged where they were finite ---------

LOG = st.floats(-8.0, 8.0)


@settings(max_examples=60, deadline=None)
@given(log_delta=LOG, sign=st.sampled_from([-1.0, 0.0, 1.0]), log_norm=st.floats(-8.0, 3.0),
       log_ratio=st.floats(-3.0, 3.0), log_t=st.floats(-3.0, 6.0), angle=st.floats(0.0, 6.283))
def test_whitened_solution_is_finite_at_the_legal_extremes(log_delta, sign, log_norm, log_ratio,
                                                           log_t, angle):
    ea, ew = 10.0 ** (log_ratio / 2), 10.0 ** (-log_ratio / 2)
    beta0 = 10.0 ** log_norm * np.array([np.cos(angle), np.sin(angle)])
    delta = sign * 10.0 ** log_delta
    a0, w0 = ex.init_from_beta(beta0, delta, ea, ew)
    assert np.isfinite(a0) and a0 > 0 and np.all(np.isfinite(w0))
    tr = ex.whitened_solution(np.array([0.0, 10.0 ** log_t]), a0, w0, BS, ea, ew)
    for x in (tr.a, tr.w, tr.beta, tr.loss):
        assert np.all(np.isfinite(x))
    assert tr.loss[-1] <= tr.loss[0] * (1 + 1e-9) + 1e-12     # gradient flow never raises the loss


def _metric_old(b, delta, ea=1.0, ew=1.0):
    prod = 4.0 * ea * ew * b**2
    root = np.sqrt(delta**2 + prod)
    big = np.abs(delta) + root
    small = prod / (2.0 * big) if big > 0 else 0.0
    return (big / 2, small) if delta >= 0 else (small, big / 2)


@settings(max_examples=80, deadline=None)
@given(log_b=st.floats(-300.0, 300.0), log_d=st.floats(-300.0, 300.0),
       sign=st.sampled_from([-1.0, 1.0]))
def test_metric_coefficients_and_init_from_beta_are_finite_at_the_extremes(log_b, log_d, sign):
    b, delta = 10.0 ** log_b, sign * 10.0 ** log_d
    u, v = ex.metric_coefficients(b, delta)
    assert np.isfinite(u) and np.isfinite(v) and u >= 0 and v >= 0
    if abs(log_b) < 100 and abs(log_d) < 100:                 # where the old form was finite
        u0, v0 = _metric_old(b, delta)
        assert u == pytest.approx(u0, rel=1e-14) and v == pytest.approx(v0, rel=1e-14)
    a0, w0 = ex.init_from_beta(np.array([b, 0.0]), delta)
    assert np.isfinite(a0) and np.all(np.isfinite(w0))


def _q_old(x, delta):
    D = abs(delta)
    return 0.25 * (2 * x * np.arcsinh(2 * x / D) - 4 * x**2 / (np.sqrt(4 * x**2 + D**2) + D))


@settings(max_examples=80, deadline=None)
@given(log_x=st.floats(-300.0, 300.0), log_d=st.floats(-300.0, 300.0),
       sx=st.sampled_from([-1.0, 1.0]), sd=st.sampled_from([-1.0, 1.0]))
def test_hyperbolic_entropy_and_mirror_rate_are_finite_at_the_extremes(log_x, log_d, sx, sd):
    from theory.rich_lazy.mirror_flow import hyperbolic_entropy, mirror_flow_rate

    x, delta = sx * 10.0 ** log_x, sd * 10.0 ** log_d
    q = float(hyperbolic_entropy(x, delta))
    assert np.isfinite(q) and q >= 0
    assert np.isfinite(mirror_flow_rate(x, 1.0, delta))
    if abs(log_x) < 100 and abs(log_d) < 100:
        assert q == pytest.approx(_q_old(x, delta), rel=1e-12, abs=1e-300)


@settings(max_examples=60, deadline=None)
@given(log_p0=st.floats(-300.0, -0.01), gap=st.floats(-16.0, -0.01), log_d=st.floats(-8.0, 8.0))
def test_downstream_alignment_time_is_finite_near_the_ends(log_p0, gap, log_d):
    p0, p1 = 10.0 ** log_p0, 1.0 - 10.0 ** gap
    if not p0 < p1:
        return
    T = float(ex.downstream_alignment_time(-10.0 ** log_d, p0, p1, 1.0))
    assert np.isfinite(T) and T > 0
    if log_p0 > -100 and gap > -8:                              # the old form was finite there
        old = 10.0 ** log_d / 2.0 * np.log(p1**2 * (1 - p0**2) / (p0**2 * (1 - p1**2)))
        assert T == pytest.approx(old, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(log_r=st.floats(-150.0, 150.0), log_d=st.floats(-150.0, 150.0),
       sd=st.sampled_from([-1.0, 1.0]))
def test_theorem_3_1_objective_is_finite_at_the_extremes(log_r, log_d, sd):
    beta = 10.0 ** log_r * np.array([0.6, 0.8])
    obj, grad = ex.theorem_3_1_objective(beta, np.array([1.0, 0.0]), sd * 10.0 ** log_d)
    assert np.isfinite(obj) and np.all(np.isfinite(grad))


@settings(max_examples=60, deadline=None)
@given(log0=st.floats(-150.0, 150.0), log1=st.floats(-150.0, 150.0), seed=st.integers(0, 50),
       log_ratio=st.floats(-3.0, 3.0))
def test_kernel_distance_whitened_is_finite_and_scale_free(log0, log1, seed, log_ratio):
    rng = np.random.default_rng(seed)
    a0, w0, a1, w1 = rng.normal(), rng.normal(size=2), rng.normal(), rng.normal(size=2)
    ea, ew = 10.0 ** (log_ratio / 2), 10.0 ** (-log_ratio / 2)
    S = ex.kernel_distance_whitened(a0 * 10.0**log0, w0 * 10.0**log0, np.array([a1]) * 10.0**log1,
                                    np.array([w1]) * 10.0**log1, ea, ew)[0]
    assert np.isfinite(S) and 0.0 <= S <= 1.0
    ref = ex.kernel_distance(ex.ntk_gram(I2, a0, w0, ea, ew), ex.ntk_gram(I2, a1, w1, ea, ew))
    assert S == pytest.approx(ref, abs=1e-12)
