"""Bad input to the stochastic-collapse chapter (issue 20): every public function, a table of
invalid arguments, plus property tests of the exact solutions over their legal range.

The battery is :mod:`badinput`; ``python tests/badinput.py
tests/test_bad_inputs_stochastic_collapse.py`` prints the counts. Arguments that are results of
other functions (a ``Result``, ``Paths``, a ``DeepSetup``, dicts of runs) have no kind in the
harness: they are tried as ``extra`` cases (None, a number), each expected to name the argument.
"""

import functools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import badinput  # noqa: E402
from badinput import Fn  # noqa: E402
from theory.core import DivergenceError, Sweep  # noqa: E402

P = "theory.stochastic_collapse"
A = f"{P}.analysis"
D = f"{P}.deep"
X = f"{P}.deep_experiments"
V = f"{P}.derivation"
E = f"{P}.exact"
G = f"{P}.general_teacher_student"
PL = f"{P}.plots"
S = f"{P}.simulate"
SW = f"{P}.sweeps"
_SW_SIZES = dict(hidden=4, steps=2, weight_decay=0.0, lr=0.1)


@functools.cache
def _sw_ds():
    from theory.core import run_sweep
    from theory.stochastic_collapse import sweeps

    exp = sweeps.collapse_experiment("laptop", steps=2)
    exp = type(exp)(**{**exp.__dict__, "fixed": dict(exp.fixed, hidden=4)})
    return run_sweep(exp, sweeps.collapse_sweep("laptop", n_batch=2, n_seed=1), progress=False)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ------------------------------------------------------------------ cheap inputs, made once

XS = np.linspace(-1.0, 1.0, 6)
YS = 0.8 * XS + 0.1
A2 = np.array([[-1.0, 0.2], [0.2, -0.5]])
C2 = np.array([[[0.3, 0.0], [0.0, 0.1]]])
W_CAT = np.random.default_rng(0).normal(size=(5, 4))


@functools.cache
def _digits():
    from theory.stochastic_collapse.deep import load_digits_data

    return load_digits_data()


@functools.cache
def _setup():
    from theory.stochastic_collapse.deep_experiments import DeepSetup

    return DeepSetup(seeds=np.arange(2), hidden=4, steps=40, weight_decay=5e-3, lr=0.2,
                     batch_size=4, lrs=np.array([0.1, 0.2, 0.5]), batches=np.array([4, 8]),
                     noises=np.array([0.0, 0.3]), t1=np.array([10, 20]), t2=10)


@functools.cache
def _runs():
    from theory.stochastic_collapse import deep_experiments as dx

    return dx.collapse_sweeps(_digits(), _setup())


@functools.cache
def _two():
    from theory.stochastic_collapse import deep_experiments as dx

    return dx.two_phase(_digits(), _setup())


@functools.cache
def _mlp_result():
    from theory.stochastic_collapse.deep import train_mlp

    return train_mlp(_digits(), lr=0.1, batch_size=4, steps=2, hidden=4, progress=False)


@functools.cache
def _ts_data():
    from theory.stochastic_collapse.general_teacher_student import teacher_student_data

    return teacher_student_data(N=16, n=4, m=3, rank=2)


@functools.cache
def _ts_result():
    from theory.stochastic_collapse.general_teacher_student import train_teacher_student

    return train_teacher_student(_ts_data(), Sweep(batch_size=[2, 16], seed=[0, 1]), steps=10,
                                 progress=False)


@functools.cache
def _paths3():
    from theory.stochastic_collapse.simulate import simulate_prototype

    return simulate_prototype(1.5, [0.5, 1.0], n_paths=4, T=1.0, steps=20, theta0=1.0)


@functools.cache
def _lns_run():
    from theory.stochastic_collapse.simulate import label_noise_sgd

    return label_noise_sgd(np.array([0.5, 1.0]), 0.05, [0.0, 1.0], steps=200, n_seeds=2,
                           record_every=20)


@functools.cache
def _mlp_sets():
    from theory.stochastic_collapse.simulate import mlp_on_invariant_sets

    return mlp_on_invariant_sets(n=8, d=3, h=10)


def _fields():
    from theory.stochastic_collapse.simulate import tanh_neuron_fields

    return tanh_neuron_fields(XS, YS)


def _em_valid():
    return dict(drift=lambda x: -x, diffusion=lambda x: 0.1 * x[:, :, None],
                x0=torch.ones(3, 1, dtype=torch.float64), dt=0.01, steps=5)


def _obj(*names, bad=(None, 3)):
    """extra cases: each object argument in ``names`` replaced by None and by a number."""
    return [({n: v}, n) for n in names for v in bad]


def _bcast(*names, why="elementwise: arrays of any shape broadcast (by design)"):
    """skip: "one more dimension" is a legal shape for these arguments."""
    return {(n, "one more dimension"): why for n in names}


BATCH = "leading axes are a batch of layers (..., h, d), by design"
PATHWISE_BATCH = _bcast("W", "theta0", "mu", "zeta",
                        why="leading axes are a batch of paths (..., T), parameters broadcast")

NOT_AN_ARRAY = {("x", "NaN entry"): "diverged paths are data here (counted as not collapsed)",
                ("x", "inf entry"): "diverged paths are data here (counted as not collapsed)",
                ("x", "one more dimension"): "(1, E, P, T) is read as vector paths (E, P, T, d) "
                                             "by design"}

TABLE = [
    # ------------------------------------------------------------------ exact
    Fn(E, "prototype_exponent", dict(mu=1.0, zeta=0.5), dict(mu="array", zeta="positive_array"),
       skip=_bcast("mu", "zeta")),
    Fn(E, "critical_noise", dict(mu=1.0), dict(mu="positive_array"), skip=_bcast("mu")),
    Fn(E, "gbm_collapse_probability", dict(t=1.0, theta0=0.1, rate=0.5, zeta=1.0, eps=1e-2),
       dict(t="positive_array", theta0="array", rate="array", zeta="positive_array",
            eps="positive_array"), extra=[({"theta0": 0.0}, "theta0"),
                                          ({"t": np.ones(3), "zeta": np.ones(2)}, "broadcast")],
       skip=_bcast("t", "theta0", "rate", "zeta", "eps")),
    Fn(E, "stationary_moments", dict(mu=1.0, zeta=0.5), dict(mu="positive_array",
                                                             zeta="positive_array"),
       skip=_bcast("mu", "zeta")),
    Fn(E, "stationary_density", dict(theta=np.linspace(-1, 1, 4), mu=1.0, zeta=0.5),
       dict(theta="array", mu="positive", zeta="positive"), extra=[({"zeta": 2.0}, "zeta")],
       skip=_bcast("theta")),
    Fn(E, "prototype_pathwise",
       dict(t=np.linspace(0, 1, 5), W=np.array([0.0, 0.1, -0.2, 0.3, 0.1]), theta0=0.5, mu=1.0,
            zeta=0.5),
       dict(t="array", W="array", theta0="array", mu="array", zeta="positive_array"),
       extra=[({"theta0": 0.0}, "theta0"), ({"W": np.zeros(4)}, "W"),
              ({"W": np.ones(5)}, "W[..., 0]"), ({"t": np.array([0.0, 0.5, 0.4, 0.8, 1.0])}, "t"),
              ({"t": np.linspace(1, 2, 5)}, "t")],
       skip=PATHWISE_BATCH),
    Fn(E, "label_noise_fixed_point", dict(s_star=np.array([0.5, -1.0]), eta=0.1, sigma=1.0),
       dict(s_star="array", eta="positive_array", sigma="positive_array"),
       skip=_bcast("s_star", "eta", "sigma")),
    Fn(E, "label_noise_stationary_losses",
       dict(s_target=np.array([0.5, 1.0]), s_true=np.array([0.4, 1.0]), eta=0.1, sigma=1.0),
       dict(s_target="array", s_true="array", eta="positive", sigma="positive_array"),
       extra=[({"s_true": np.ones(3)}, "s_true")]),
    Fn(E, "log_distance_drift", dict(A=A2, C=C2, u=np.array([[1.0, 0.0], [0.6, 0.8]])),
       dict(A="array", C="array", u="array"),
       extra=[({"u": np.zeros(2)}, "u"), ({"C": np.zeros((1, 3, 3))}, "C")],
       skip=_bcast("u", why="u (..., d): any batch of directions, by design")),
    Fn(E, "attractivity_bound", dict(A=A2, C=C2, n_directions=50, seed=0),
       dict(A="array", C="array", n_directions="positive_int", seed="seed"),
       extra=[({"C": np.zeros((1, 3, 3))}, "C"), ({"n_directions": 10**12}, "needs about")]),
    Fn(E, "expected_log_abs_normal", dict(mu=np.array([0.0, 1.0, 40.0])), dict(mu="array"),
       skip=_bcast("mu")),
    Fn(E, "tanh_sgd_exponents", dict(x=XS, y=YS, etas=np.array([0.1, 0.5]), zeta=1.0),
       dict(x="array", y="array", etas="positive_array", zeta="positive"),
       extra=[({"y": np.ones(3)}, "y")]),
    Fn(E, "tanh_sde_threshold", dict(x=XS, y=YS), dict(x="array", y="array"),
       extra=[({"y": np.ones(3)}, "y"), ({"x": np.zeros(6)}, "x")]),
    Fn(E, "linear_exponent", dict(A=A2, C=np.array([[[0.0, 0.3], [0.1, 0.0]]]), n_paths=4, T=0.1,
                                  dt=0.01, seed=0),
       dict(A="array", C="array", n_paths="positive_int", T="positive", dt="positive",
            seed="seed"),
       extra=[({"dt": 1.0}, "dt"), ({"C": np.zeros((1, 3, 3))}, "C"),
              ({"n_paths": 10**10, "T": 1.0}, "needs about")]),
    Fn(E, "em_exponent", dict(rate=1.0, zeta=0.5, dt=0.01),
       dict(rate="array", zeta="positive_array", dt="positive_array"),
       skip=_bcast("rate", "zeta", "dt")),
    # ------------------------------------------------------------------ simulate
    Fn(S, "euler_maruyama", _em_valid,
       dict(drift="callable", diffusion="callable", dt="positive", steps="positive_int",
            record_every="positive_int", keep_brownian="bool", progress="bool?"),
       extra=_obj("x0") + [({"x0": torch.ones(3)}, "x0"),
                           ({"x0": torch.tensor([[np.nan]])}, "x0"),
                           ({"generator": 3}, "generator"),
                           ({"drift": lambda x: x * 1e3, "dt": 1.0, "steps": 200}, "diverged"),
                           ({"drift": lambda x: x[:, :0]}, "drift"),
                           ({"diffusion": lambda x: x}, "diffusion")]),
    Fn(S, "simulate_prototype", dict(mu=1.0, zetas=[0.5, 1.0], n_paths=3, T=0.1, steps=5,
                                     theta0=0.5),
       dict(mu="real", zetas="positive_array", n_paths="positive_int", T="positive",
            steps="positive_int", theta0="array", record_every="positive_int", seed="seed",
            device="device?", dtype="dtype?", keep_brownian="bool", progress="bool?"),
       extra=[({"theta0": np.ones(2)}, "theta0"), ({"T": 10.0, "steps": 10, "theta0": 5.0},
                                                   "diverged"),
              ({"n_paths": 10**7, "steps": 10**4}, "needs about")]),
    Fn(S, "label_noise_sgd", dict(s_target=np.array([0.5, 1.0]), eta=0.05, sigmas=[0.0, 1.0],
                                  steps=20, n_seeds=2, record_every=5),
       dict(s_target="array", eta="positive", sigmas="positive_array", steps="positive_int",
            n_seeds="positive_int", init="positive", record_every="positive_int", seed="seed",
            device="device?", dtype="dtype?", progress="bool?"),
       extra=[({"eta": 5.0, "init": 1.0}, "diverged"), ({"lr_drop": (5,)}, "lr_drop"),
              ({"lr_drop": (0, 0.1)}, "lr_drop"), ({"lr_drop": (5, -1.0)}, "lr_drop"),
              ({"lr_drop": 3}, "lr_drop"),
              ({"n_seeds": 10**6, "steps": 10**4, "record_every": 1}, "needs about")]),
    Fn(S, "measured_exponent", dict(t=np.linspace(0, 1, 4), log_norm=np.zeros((2, 3, 4))),
       dict(t="array", log_norm="array"), extra=[({"log_norm": np.zeros((2, 3, 5))}, "log_norm")],
       skip=_bcast("log_norm", why="log_norm (..., P, T): leading axes are a batch, by design")),
    Fn(S, "tanh_neuron_fields", dict(x=XS, y=YS, eta=1.0, zeta=1.0),
       dict(x="array", y="array", eta="non_negative", zeta="non_negative"),
       extra=[({"y": np.ones(3)}, "y")]),
    Fn(S, "tanh_neuron_sde", dict(x=XS, y=YS, etas=[0.5, 1.0], zeta=1.0, n_paths=2, T=0.05,
                                  dt=0.01, record_every=2),
       dict(x="array", y="array", etas="positive_array", zeta="non_negative",
            n_paths="positive_int", T="positive", dt="positive", init_std="non_negative",
            record_every="positive_int", seed="seed", device="device?", dtype="dtype?",
            progress="bool?"),
       extra=[({"y": np.ones(3)}, "y"), ({"dt": 1.0}, "dt")]),
    Fn(S, "tanh_neuron_sgd", dict(x=XS, y=YS, etas=[0.5, 1.0], zeta=1.0, n_paths=2, steps=5,
                                  record_every=2),
       dict(x="array", y="array", etas="positive_array", zeta="non_negative",
            n_paths="positive_int", steps="positive_int", batch_size="positive_int",
            init_std="non_negative", record_every="positive_int", seed="seed",
            device="device?", dtype="dtype?", progress="bool?"),
       extra=[({"y": np.ones(3)}, "y")]),
    Fn(S, "linearise", lambda: dict(drift=_fields()[0], noise=_fields()[1],
                                    theta_star=np.zeros(2), normal=np.eye(2)),
       dict(drift="callable", noise="callable", theta_star="array", normal="array"),
       extra=[({"normal": np.eye(3)}, "normal")]),
    Fn(S, "mlp_per_sample_grads", lambda: dict(params=_mlp_sets()[0], X=_mlp_sets()[1].numpy(),
                                               y=_mlp_sets()[2].numpy()),
       dict(X="array", y="array", activation="callable"),
       extra=_obj("params") + [({"params": {"W1": 1}}, "params"), ({"y": np.zeros(3)}, "y"),
                               ({"X": np.zeros((8, 5))}, "X")]),
    Fn(S, "mlp_on_invariant_sets", dict(n=4, d=2, h=10),
       dict(n="positive_int", d="positive_int", h="positive_int", seed="seed"),
       extra=[({"h": 9}, "h")]),
    Fn(S, "invariant_set_normals", lambda: dict(g=dict(_mlp_sets()[0])), {},
       extra=_obj("g") + [({"g": {"W1": 0}}, "g")]),
    Fn(S, "sgd_on_invariant_sets", lambda: dict(params=_mlp_sets()[0], X=_mlp_sets()[1],
                                                y=_mlp_sets()[2], steps=2, batch_size=2),
       dict(steps="positive_int", batch_size="positive_int", lr="positive", seed="seed"),
       extra=_obj("params", "X", "y") + [({"lr": 1e6, "steps": 50}, "diverged")]),
    Fn(S, "label_noise_summary",
       lambda: dict(run=_lns_run(), s_data=np.array([0.5, 1.0]), s_true=np.array([0.5, 1.0]),
                    eta=0.05, sigmas=[0.0, 1.0], t_start=2.0, t_end=10.0),
       dict(s_data="array", s_true="array", eta="positive", sigmas="positive_array",
            t_start="non_negative", t_end="positive"),
       extra=_obj("run") + [({"t_start": 20.0, "t_end": 30.0}, "window"), ({"s_true": np.ones(3)}, "s_true")]),
    Fn(S, "pathwise_errors", dict(mu=1.0, zeta=0.5, theta0=0.5, T=0.1, steps=(5, 10), n_paths=2),
       dict(mu="real", zeta="non_negative", theta0="real", T="positive", steps="seeds",
            n_paths="positive_int", seed="seed"),
       extra=[({"steps": (0, 10)}, "steps"), ({"theta0": 0.0}, "theta0")],
       ),
    # ------------------------------------------------------------------ analysis
    Fn(A, "collapsed_fraction", dict(x=np.ones((2, 3, 4)), radius=0.1),
       dict(x="array", radius="positive"), skip=NOT_AN_ARRAY),
    Fn(A, "late_law", lambda: dict(paths=_paths3(), mu=1.5, zetas=[0.5, 1.0], t_from=0.5),
       dict(mu="positive", zetas="positive_array", t_from="non_negative"),
       extra=_obj("paths") + [({"t_from": 5.0}, "t_from"), ({"zetas": [0.5]}, "paths")]),
    Fn(A, "prototype_exponents", dict(mu=1.0, zetas=[0.5, 1.0], n_paths=2, T=0.04, dt=0.01,
                                      record_every=1),
       dict(mu="real", zetas="positive_array", n_paths="positive_int", T="positive",
            dt="positive", theta0="real", record_every="positive_int", seed="seed"),
       extra=[({"dt": 1.0}, "dt"), ({"theta0": 0.0}, "theta0")]),
    Fn(A, "prototype_general_exponents", dict(mu=1.0, zetas=[0.5, 1.0]),
       dict(mu="real", zetas="positive_array")),
    Fn(A, "tanh_neuron_data", dict(m=4), dict(m="positive_int", noise="non_negative",
                                             seed="seed")),
    Fn(A, "tanh_linear_exponents", dict(x=XS, y=YS, etas=[0.5, 1.0]),
       dict(x="array", y="array", etas="positive_array", zeta="non_negative"),
       extra=[({"y": np.ones(3)}, "y")]),
    Fn(A, "tanh_sde_collapse", dict(x=XS, y=YS, etas=[0.5, 1.0], zeta=1.0, n_paths=2, T=0.05,
                                    dt=0.01, record_every=2),
       dict(x="array", y="array", etas="positive_array", zeta="non_negative",
            n_paths="positive_int", T="positive", dt="positive", record_every="positive_int",
            radius="positive", seed="seed"),
       extra=[({"y": np.ones(3)}, "y")]),
    Fn(A, "tanh_sde_exponents", dict(x=XS, y=YS, etas=[0.5, 1.0], zeta=1.0, n_paths=2, T=0.05,
                                     dt=0.01, init_std=1e-3, record_every=1),
       dict(x="array", y="array", etas="positive_array", zeta="non_negative",
            n_paths="positive_int", T="positive", dt="positive", init_std="positive",
            record_every="positive_int", seed="seed"),
       extra=[({"y": np.ones(3)}, "y")]),
    Fn(A, "tanh_sgd_collapse", dict(x=XS, y=YS, etas=[0.5, 1.0], zeta=1.0, n_paths=2, steps=3),
       dict(x="array", y="array", etas="positive_array", zeta="positive",
            n_paths="positive_int", steps="positive_int", radius="positive", seed="seed"),
       extra=[({"y": np.ones(3)}, "y")]),
    # ------------------------------------------------------------------ deep
    Fn(D, "load_digits_data", dict(test_fraction=0.25, seed=0),
       dict(test_fraction="unit", seed="seed"), extra=[({"test_fraction": 1e-6}, "test_fraction")]),
    Fn(D, "neuron_vectors", dict(W_in=np.ones((3, 2)), b_in=np.ones(3), W_out=np.ones((4, 3))),
       dict(W_in="array", b_in="array", W_out="array"),
       extra=[({"b_in": np.ones(2)}, "b_in"), ({"W_out": np.ones((4, 2))}, "W_out")]),
    Fn(D, "vanishing_neurons", dict(w_cat=W_CAT), dict(w_cat="array", threshold="positive"),
       skip=_bcast("w_cat", why=BATCH)),
    Fn(D, "identical_pairs", dict(w_cat=W_CAT), dict(w_cat="array", threshold="positive",
                                                     eps="non_negative"),
       skip=_bcast("w_cat", why=BATCH)),
    Fn(D, "count_independent", dict(w_cat=W_CAT),
       dict(w_cat="array", vanish_threshold="positive", identical_threshold="positive"),
       skip=_bcast("w_cat", why=BATCH)),
    Fn(D, "effective_rank", dict(w_cat=W_CAT), dict(w_cat="array", eps="non_negative"),
       skip=_bcast("w_cat", why=BATCH)),
    Fn(D, "collapse_stats", dict(weights=[np.ones((3, 2)), np.ones((1, 3))],
                                 biases=[np.ones(3), np.ones(1)]),
       dict(vanish_threshold="positive", identical_threshold="positive"),
       extra=_obj("weights", "biases") + [({"biases": [np.ones(3)]}, "biases"),
                                          ({"weights": [np.ones((3, 2)), np.ones((1, 4))]},
                                           "weights[1]"),
                                          ({"weights": [np.ones((3, 2)), np.full((1, 3), np.nan)]},
                                           "weights")]),
    Fn(D, "mlp_layers", lambda: dict(result=_mlp_result()), {},
       extra=_obj("result")),
    Fn(D, "train_mlp", lambda: dict(data=_digits(), lr=0.1, batch_size=4, steps=2, hidden=4,
                                    progress=False),
       dict(lr="positive_array", batch_size="positive_int", steps="positive_int",
            label_noise="unit", label_smoothing="unit", seed="seed", hidden="positive_int",
            depth="positive_int", activation="choice", momentum="unit",
            weight_decay="non_negative", record_every="positive_int?", group_batches="bool",
            chunk="positive_int", device="device?", dtype="dtype?", progress="bool"),
       extra=_obj("data") + [({"lr": [0.1, 0.2], "seed": [0, 1, 2]}, "equal lengths"),
                             ({"momentum": 1.0}, "momentum"), ({"seed": 2**40}, "seed"),
                             ({"lr_late": 0.1}, "switch_step"),
                             ({"lr_late": 0.1, "switch_step": -1}, "switch_step"),
                             ({"stop_step": 5}, "stop_step"), ({"stop_step": 0}, "stop_step"),
                             ({"lr": 1e4, "steps": 50}, "diverged"),
                             ({"batch_size": 10**9}, "needs about"),
                             ({"sweep": 3}, "sweep"), ({"batch_size": 2.5}, "batch_size")],
       skip={("batch_size", "list"): "a list is one batch size per configuration (by design)",
             ("seed", "list"): "a list is one seed per configuration (by design)"}),
    # ------------------------------------------------------------------ deep experiments
    Fn(X, "setup_report", lambda: dict(setup=_setup(), data=_digits()), {},
       extra=_obj("setup", "data")),
    Fn(X, "collapse_sweeps", lambda: dict(data=_digits(), setup=_setup()), {},
       extra=_obj("setup", "data")),
    Fn(X, "two_phase", lambda: dict(data=_digits(), setup=_setup()), {},
       extra=_obj("setup", "data")),
    Fn(X, "independent_table", lambda: dict(result=_runs()["lr"]),
       dict(step="int", layer="int?", measure="choice"),
       extra=_obj("result") + [({"layer": 5}, "layer"), ({"step": 100}, "step")]),
    Fn(X, "final_table", lambda: dict(result=_runs()["lr"], name="test_accuracy"),
       dict(name="str"), extra=_obj("result") + [({"name": "bogus"}, "name")]),
    Fn(X, "per_seed_spearman", dict(levels=[1.0, 2.0, 3.0], table=np.eye(3)),
       dict(levels="array", table="array"), extra=[({"table": np.eye(2)}, "table")]),
    Fn(X, "collapse_trends", lambda: dict(runs=_runs()), dict(measure="choice"),
       extra=_obj("runs") + [({"runs": {}}, "runs")]),
    Fn(X, "rank_report", lambda: dict(runs=_runs()), {}, extra=_obj("runs")),
    Fn(X, "trends_report", dict(rho={"lr": np.array([0.5, 1.0])}), {},
       extra=_obj("rho") + [({"rho": {"depth": np.zeros(2)}}, "rho")]),
    Fn(X, "noise_controls", lambda: dict(runs=_runs(), steps=40), dict(steps="positive_int"),
       extra=_obj("runs")),
    Fn(X, "two_phase_trend", lambda: dict(two=_two()), {}, extra=_obj("two")),
    Fn(X, "equal_time_gap", lambda: dict(lr_result=_runs()["lr"], steps=40),
       dict(steps="positive_int"), extra=_obj("lr_result")),
    Fn(X, "noise_beyond_mean", lambda: dict(noise_result=_runs()["label_noise"],
                                            smoothing_result=_runs()["label_smoothing"]), {},
       extra=_obj("noise_result", "smoothing_result")),
    Fn(X, "sweep_report", lambda: dict(runs=_runs()), dict(timing="bool"), extra=_obj("runs")),
    Fn(X, "controls_report",
       lambda: dict(gap={"tau": 8.0, "per_seed": np.zeros(2), "share": 0.0},
                    noise={"diff": np.zeros((1, 2)), "share": 0.0}, lrs=[0.1, 0.2]),
       dict(lrs="array"), extra=_obj("gap", "noise") + [({"gap": {}}, "gap")]),
    Fn(X, "two_phase_report", lambda: dict(two=_two()), {}, extra=_obj("two")),
    Fn(X, "training_time", lambda: dict(runs=_runs(), two=_two()), {}, extra=_obj("runs", "two")),
    Fn(X, "levels_text", dict(levels=[0.05, 0.5]), dict(levels="array")),
    # ------------------------------------------------------------------ general teacher–student
    Fn(G, "teacher_student_data", dict(N=8, n=3, m=2, rank=1),
       dict(N="positive_int", n="positive_int", m="positive_int", rank="positive_int",
            s_min="non_negative", s_max="non_negative", label_noise="non_negative",
            init_scale="positive", seed="seed"),
       extra=[({"rank": 3}, "rank"), ({"N": 10**6, "n": 10**5}, "needs about")]),
    Fn(G, "general_lr", dict(step=3, steps=20), dict(step="array", steps="positive_int",
                                                    peak="positive"),
       extra=[({"step": -1}, "step"), ({"steps": 5}, "steps")],
       skip={("step", "empty"): "an empty array of steps gives an empty array (legal)"}),
    Fn(G, "neuron_matrix", dict(V=np.eye(3), U=np.ones((3, 2))), dict(V="array", U="array"),
       extra=[({"U": np.ones((2, 2))}, "U")]),
    Fn(G, "train_teacher_student",
       lambda: dict(data=_ts_data(), sweep=Sweep(batch_size=[2], seed=[0]), steps=10,
                    progress=False),
       dict(steps="positive_int", peak_lr="positive", record_every="positive_int?",
            chunk="positive_int", device="device?", dtype="dtype?", progress="bool"),
       extra=_obj("data", "sweep") + [({"sweep": Sweep(batch_size=[2.5], seed=[0])},
                                       "batch_size"),
                                      ({"sweep": Sweep(batch_size=[2], seed=[-1])}, "seed"),
                                      ({"steps": 5}, "steps")]),
    Fn(G, "batch_trends", lambda: dict(result=_ts_result()), {}, extra=_obj("result")),
    Fn(G, "general_report", lambda: dict(result=_ts_result()), {}, extra=_obj("result")),
    # ------------------------------------------------------------------ plots
    Fn(PL, "prototype_paths_figure",
       lambda: dict(t=_paths3().t, x=_paths3().x, zetas=[0.5, 1.0], mu=1.5, show=(0.5,),
                    n_show=2),
       dict(t="array", x="array", zetas="array", mu="real", n_show="positive_int"),
       extra=[({"show": (0.7,)}, "simulated values"), ({"t": np.ones(3)}, "t")]),
    Fn(PL, "prototype_threshold_figure",
       dict(zetas=[0.1, 1.0, 2.5], collapsed=[0.0, 0.0, 1.0], slope=[1.5, 1.0, -1.6],
            stderr=[0.1] * 3, mu=1.5, dt=1e-3),
       dict(zetas="positive_array", collapsed="array", slope="array", stderr="array",
            mu="positive", dt="positive"),
       extra=[({"slope": [1.0, 2.0]}, "slope")]),
    Fn(PL, "prototype_stationary_figure", dict(samples={0.5: np.ones(5)}, mu=1.5),
       dict(mu="positive"), extra=_obj("samples") + [({"samples": {0.5: "a"}}, "samples")]),
    Fn(PL, "tanh_collapse_figure",
       dict(x=XS, y=YS, alpha_sde=np.linspace(0.25, 2, 4), p_sde=[0, 0, 1, 1],
            slope=[0.1, 0, -0.1, -0.2], stderr=[0.01] * 4, alpha_sgd=np.linspace(0.25, 2, 4),
            p_sgd=[0, 0, 1, 1], lam_sgd=[0.01, 0.005, -0.01, -0.02],
            eta_sgd=np.linspace(0.25, 2, 4) / 12.5, p_sgd_paper_noise=[0] * 4, alpha_star=1.0),
       dict(x="array", y="array", alpha_sde="array", p_sde="array", slope="array",
            stderr="array", alpha_sgd="array", p_sgd="array", lam_sgd="array",
            eta_sgd="positive_array", p_sgd_paper_noise="array", alpha_star="real", note="str"),
       extra=[({"p_sde": [0, 1]}, "p_sde")]),
    Fn(PL, "soft_threshold_figure", dict(s_data=[0.5, -0.2], mean_s=np.zeros((2, 2)),
                                         sigmas=[0.0, 1.0], eta=0.05),
       dict(s_data="array", mean_s="array", sigmas="array", eta="positive"),
       extra=[({"mean_s": np.zeros((3, 2))}, "mean_s")]),
    Fn(PL, "learning_curves_figure",
       lambda: dict(t=_lns_run().t, s=_lns_run().x, s_data=[0.5, 1.0], fixed=np.zeros((2, 2)),
                    sigmas=[0.0, 1.0], modes=[0, 1], t_drop=5.0, panels=(0, 1)),
       dict(t="array", s="array", s_data="array", fixed="array", sigmas="array",
            t_drop="real"),
       extra=[({"panels": (0, 5)}, "panels"), ({"modes": [7]}, "modes"),
              ({"t": np.ones(3)}, "t")]),
    Fn(PL, "stationary_losses_figure",
       dict(sigmas=[0.0, 1.0], train_exact=[0, 1], test_exact=[1, 0], train_sim=[0, 1],
            test_sim=[1, 0], train_end=np.ones((2, 3)), test_end=np.ones((2, 3))),
       dict(sigmas="array", train_exact="array", test_exact="array", train_sim="array",
            test_sim="array", train_end="array", test_end="array"),
       extra=[({"train_sim": [0, 1, 2]}, "train_sim")]),
    Fn(PL, "collapse_sweeps_figure", lambda: dict(runs=_runs(), setup=_setup()), {},
       extra=_obj("runs", "setup")),
    Fn(PL, "noise_controls_figure",
       lambda: dict(lr_run=_runs()["lr"], noise_diff=np.zeros((1, 2)), setup=_setup()),
       dict(noise_diff="array"), extra=_obj("lr_run", "setup")),
    Fn(PL, "two_phase_figure", lambda: dict(two=_two(), setup=_setup(), n_test=100),
       dict(n_test="positive_int"), extra=_obj("two", "setup")),
    Fn(PL, "effective_rank_figure", lambda: dict(runs=_runs(), two=_two(), setup=_setup()), {},
       extra=_obj("runs", "two", "setup")),
    Fn(PL, "general_teacher_student_figure",
       lambda: dict(result=_ts_result(), s_teacher=_ts_data().s_teacher),
       dict(s_teacher="array"), extra=_obj("result")),
    # ------------------------------------------------------------------ derivation
    Fn(V, "tanh_neuron_threshold", dict(m=1), dict(m="positive_int")),
    # ------------------------------------------------------------------ sweeps (issue 21)
    Fn(SW, "collapse_point", dict(seed=0, batch_size=4, **_SW_SIZES),
       dict(seed="seed", batch_size="positive_int", hidden="positive_int", steps="positive_int",
            weight_decay="non_negative", lr="positive")),
    Fn(SW, "collapse_batch", dict(configs=[dict(seed=0, batch_size=4, **_SW_SIZES)]), {},
       extra=[({"configs": []}, "configs"), ({"configs": [3]}, "configs"),
              ({"configs": None}, "configs"), ({"configs": [dict(seed=0)]}, "configs")]),
    Fn(SW, "collapse_sweep", dict(scale="laptop", n_batch=2, n_seed=1),
       dict(scale="choice", n_batch="positive_int?", n_seed="positive_int?")),
    Fn(SW, "collapse_experiment", dict(scale="laptop", steps=5),
       dict(scale="choice", steps="positive_int?")),
    Fn(SW, "collapse_plan", dict(scale="laptop", n_batch=1, n_seed=1, steps=5),
       dict(scale="choice", n_batch="positive_int?", n_seed="positive_int?", steps="positive_int?")),
    Fn(SW, "stored_collapse", dict(labels=("no-such-label",)), {},
       extra=[({"labels": "paper"}, "labels"), ({"labels": 3}, "labels"), ({"labels": [""]}, "labels")]),
    Fn(SW, "stored_report", lambda: dict(ds=_sw_ds()), {}, extra=_obj("ds")),
    Fn(SW, "stored_claims", lambda: dict(stored={"paper": _sw_ds()}), {},
       extra=_obj("stored") + [({"stored": {"paper": 3}}, "stored")]),
]

EXEMPT = {
    "all_identities": "a sympy derivation without arguments",
    "invariant_sets": "a sympy derivation without arguments",
    "ito_log": "a sympy derivation without arguments",
    "label_noise_mode": "a sympy derivation without arguments",
    "prototype_linearisation": "a sympy derivation without arguments",
    f"{V}.prototype_pathwise": "a sympy derivation without arguments (the numpy solution "
                               "exact.prototype_pathwise is in the table)",
    "prototype_stationary": "a sympy derivation without arguments",
    "general_setup": "no arguments (reads the scale)",
    f"{SW}.main": "the command line: bad options exit through argparse (tested in "
                  "tests/test_stochastic_collapse_sweeps.py)",
}

test_bad_input = badinput.parametrize(TABLE)
test_valid_call = badinput.parametrize_valid(TABLE)


def test_table_covers_every_public_function():
    assert badinput.check_coverage(P, TABLE, EXEMPT) == []


# ------------------------------------------------------------------ the exact solutions, stable

def _pathwise_rescaled(t, W, theta0, mu, zeta):
    """The former implementation of exact.prototype_pathwise (rescaled by the largest exponent),
    kept as the reference where it was finite."""
    expo = (2 * mu - zeta**2) * t + 2 * zeta * W
    top = np.max(expo, axis=-1, keepdims=True)
    e = np.exp(expo - top)
    integral = np.concatenate([np.zeros(e.shape[:-1] + (1,)),
                               np.cumsum((e[..., 1:] + e[..., :-1]) / 2 * np.diff(t), axis=-1)],
                              axis=-1)
    return np.sign(theta0) * np.sqrt(e / (np.exp(-top) / theta0**2 + 2 * integral))


def _brownian(seed, n_paths, t):
    rng = np.random.default_rng(seed)
    dW = rng.normal(size=(n_paths, t.size - 1)) * np.sqrt(np.diff(t))
    return np.concatenate([np.zeros((n_paths, 1)), np.cumsum(dW, axis=-1)], axis=-1)


def test_prototype_pathwise_is_finite_on_long_paths():
    """The issue's case: μ = 1, ζ = 0.5, t up to 1000 gave NaN from θ(0) on (0/0)."""
    from theory.stochastic_collapse.exact import prototype_pathwise

    t = np.linspace(0.0, 1000.0, 20_001)
    W = _brownian(0, 4, t)
    theta = prototype_pathwise(t, W, 0.5, 1.0, 0.5)
    assert np.all(np.isfinite(theta))
    np.testing.assert_allclose(theta[:, 0], 0.5, rtol=1e-15)
    with np.errstate(all="ignore"):
        old = _pathwise_rescaled(t, W, 0.5, 1.0, 0.5)
    assert np.isnan(old[:, 0]).all()                   # the bug this replaces
    # late in the path the old formula was finite and accurate: the same to float64 rounding
    expo = 1.75 * t + W
    fine = np.isfinite(old) & (expo - expo.max(-1, keepdims=True) > -600)
    assert fine.sum() > 1000
    np.testing.assert_allclose(theta[fine], old[fine], rtol=1e-11)
    # and the stationary law is reached: E θ² over the late half ≈ μ − ζ²/2
    assert abs(np.mean(theta[:, 10_000:] ** 2) - 0.875) < 0.1


@settings(max_examples=40, deadline=None)
@given(mu=st.floats(-3.0, 3.0), zeta=st.floats(0.0, 2.0), seed=st.integers(0, 2**32 - 1),
       theta0=st.floats(0.05, 5.0), sign=st.sampled_from([-1.0, 1.0]),
       T=st.floats(0.1, 20.0))
def test_prototype_pathwise_agrees_with_the_rescaled_form_where_it_was_finite(mu, zeta, seed,
                                                                             theta0, sign, T):
    from theory.stochastic_collapse.exact import prototype_pathwise

    t = np.linspace(0.0, T, 401)
    W = _brownian(seed, 3, t)
    new = prototype_pathwise(t, W, sign * theta0, mu, zeta)
    with np.errstate(all="ignore"):
        old = _pathwise_rescaled(t, W, sign * theta0, mu, zeta)
    assert np.all(np.isfinite(old))                    # short paths: the old form was fine
    np.testing.assert_allclose(new, old, rtol=1e-12, atol=1e-300)


@settings(max_examples=60, deadline=None)
@given(mu=st.floats(-50.0, 50.0), zeta=st.floats(0.0, 20.0), seed=st.integers(0, 2**32 - 1),
       log_theta0=st.floats(-150.0, 150.0), sign=st.sampled_from([-1.0, 1.0]),
       T=st.floats(1e-6, 1e4), n=st.integers(2, 300), repeat=st.booleans())
def test_prototype_pathwise_is_finite_over_the_legal_range(mu, zeta, seed, log_theta0, sign, T,
                                                           n, repeat):
    from theory.stochastic_collapse.exact import prototype_pathwise

    t = np.linspace(0.0, T, n)
    if repeat and n > 2:
        t[1] = t[2]                                    # a repeated time (dt = 0) is legal
    W = _brownian(seed, 2, np.maximum.accumulate(t + 1e-300 * np.arange(n)))
    theta0 = sign * 10.0**log_theta0
    theta = prototype_pathwise(t, W, theta0, mu, zeta)
    assert np.all(np.isfinite(theta))
    assert np.all(np.sign(theta[theta != 0]) == sign)
    np.testing.assert_allclose(theta[:, 0], theta0, rtol=1e-14)


@settings(max_examples=60, deadline=None)
@given(mu=st.floats(1e-3, 1e2), ratio=st.floats(1e-3, 0.999), theta=st.floats(1e-3, 1e3),
       sign=st.sampled_from([-1.0, 1.0]))
def test_stationary_density_is_finite_off_the_origin(mu, ratio, theta, sign):
    from theory.stochastic_collapse.exact import stationary_density

    zeta = np.sqrt(2 * mu * ratio)                     # ζ² < 2μ: a stationary law exists
    p = stationary_density(np.array([sign * theta]), mu, zeta)
    assert np.all(np.isfinite(p)) and np.all(p >= 0)


@settings(max_examples=60, deadline=None)
@given(t=st.floats(0.0, 1e6), theta0=st.floats(1e-200, 1e200), rate=st.floats(-1e3, 1e3),
       zeta=st.floats(1e-6, 1e3), eps=st.floats(1e-200, 1e200))
def test_gbm_collapse_probability_is_a_probability(t, theta0, rate, zeta, eps):
    from theory.stochastic_collapse.exact import gbm_collapse_probability

    p = gbm_collapse_probability(t, theta0, rate, zeta, eps)
    assert np.isfinite(p) and 0.0 <= p <= 1.0


@settings(max_examples=60, deadline=None)
@given(mu=st.floats(-1e8, 1e8), rate=st.floats(-10.0, 10.0), zeta=st.floats(1e-3, 10.0),
       dt=st.floats(1e-8, 1.0))
def test_log_normal_expectations_are_finite(mu, rate, zeta, dt):
    from theory.stochastic_collapse.exact import em_exponent, expected_log_abs_normal

    assert np.isfinite(expected_log_abs_normal(mu))
    assert np.isfinite(em_exponent(rate, zeta, dt))


@settings(max_examples=40, deadline=None)
@given(s=st.lists(st.floats(-10.0, 10.0), min_size=1, max_size=5), eta=st.floats(1e-6, 10.0),
       sigma=st.floats(0.0, 100.0))
def test_label_noise_closed_forms_are_finite(s, eta, sigma):
    from theory.stochastic_collapse.exact import (label_noise_fixed_point,
                                                  label_noise_stationary_losses)

    s = np.array(s)
    assert np.all(np.isfinite(label_noise_fixed_point(s, eta, sigma)))
    train, test = label_noise_stationary_losses(s, 0.9 * s, eta, sigma)
    assert np.isfinite(train) and np.isfinite(test) and train >= 0 and test >= 0


# ------------------------------------------------------------------ seeds, steps, divergence

def test_linear_exponent_and_attractivity_bound_are_deterministic_and_refuse_none():
    from theory.stochastic_collapse.exact import attractivity_bound, linear_exponent

    C = np.array([[[0.0, 0.3], [0.1, 0.0]]])
    a = linear_exponent(A2, C, n_paths=4, T=0.5, dt=0.01)
    assert a == linear_exponent(A2, C, n_paths=4, T=0.5, dt=0.01)
    A3, C3 = -np.eye(3), np.random.default_rng(1).normal(size=(2, 3, 3))
    assert attractivity_bound(A3, C3, n_directions=100) == \
        attractivity_bound(A3, C3, n_directions=100)
    for fn, kw in ((linear_exponent, dict(n_paths=4, T=0.5, dt=0.01)),
                   (attractivity_bound, dict(n_directions=100))):
        with pytest.raises(TypeError, match="seed"):
            fn(A3, C3, seed=None, **kw)
    with pytest.raises(ValueError, match="dt"):
        linear_exponent(A2, C, T=0.5, dt=1.0)


def test_simulators_raise_divergence_with_the_step():
    from theory.stochastic_collapse.simulate import label_noise_sgd, simulate_prototype

    with pytest.raises(DivergenceError, match="diverged at step") as info:
        simulate_prototype(1.0, [0.5], n_paths=3, T=10.0, steps=10, theta0=5.0)
    assert 1 <= info.value.step <= 10
    with pytest.raises(DivergenceError, match="eta") as info:
        label_noise_sgd(np.array([0.5, 1.0]), 5.0, [0.0, 1.0], steps=20, n_seeds=2, init=1.0,
                        record_every=5)
    assert 1 <= info.value.step <= 20


def test_a_diverging_teacher_student_is_flagged_not_raised():
    """Divergence is a result of the batch-size sweep: NaN measures and meta["diverged"]."""
    from theory.stochastic_collapse.general_teacher_student import train_teacher_student

    run = train_teacher_student(_ts_data(), Sweep(batch_size=[2, 16], seed=[0]), steps=40,
                                peak_lr=1e4, progress=False)
    assert run.meta["diverged"].tolist() == [True, True]
    assert np.isnan(run["test_loss"][:, -1]).all()
    assert not _ts_result().meta["diverged"].any()


def test_train_mlp_divergence_names_the_learning_rate():
    from theory.stochastic_collapse.deep import train_mlp

    with pytest.raises(DivergenceError, match="lr") as info:
        train_mlp(_digits(), lr=[0.1, 1e4], batch_size=4, steps=50, hidden=4, progress=False)
    assert info.value.step == 50 and "[1]" in str(info.value)


def test_tanh_neuron_sgd_flags_blown_up_paths_instead_of_raising():
    """single_neuron.ipynb counts the paths that blow up at ζ = 1, large η, as not collapsed."""
    from theory.stochastic_collapse.analysis import collapsed_fraction
    from theory.stochastic_collapse.simulate import tanh_neuron_sgd

    run = tanh_neuron_sgd(XS, YS, [0.1, 1e3], zeta=5.0, n_paths=4, steps=200, record_every=200,
                          init_std=1.0)
    assert run.diverged.shape == (2, 4)
    assert np.all(run.diverged[0] == -1) and np.all(np.isfinite(run.x[0]))
    blown = run.diverged[1] > 0
    assert blown.any() and not np.isfinite(run.x[1, blown, -1]).all()
    assert np.all(run.diverged[1][blown] <= 200)
    assert collapsed_fraction(run.x, 1e-2)[1] <= 1 - blown.mean()
