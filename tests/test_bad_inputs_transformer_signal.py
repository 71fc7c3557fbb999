"""Bad input to theory.transformer_signal (issue 20): every public function, a table of invalid
arguments, and the legal extremes of the closed forms.

The battery is :mod:`badinput`; ``python tests/badinput.py tests/test_bad_inputs_transformer_signal.py``
prints the counts.
"""

import dataclasses
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
from theory.core import Sweep  # noqa: E402

X = "theory.transformer_signal.exact"
S = "theory.transformer_signal.simulate"
P = "theory.transformer_signal.plots"
E = dict(activation="erf")                     # closed-form kernel: cheap valid calls
BC = "broadcasts: an array of one more dimension is legal"


def bc(*names):
    """skip entries: the arguments that broadcast take an extra dimension legally."""
    return {(n, "one more dimension"): BC for n in names}


Q0L = {("q0", "list"): "rho0 and q0 are scalars or one per configuration: a list broadcasts"}
ALPHAS = dict(alpha_A="unit", alpha_M="unit")
MODEL = dict(activation="choice", residual="choice")
A1 = np.array([0.3])
SW1 = np.array([1.5])
SA1 = np.array([1.0])
MAP = dict(alpha_A=0.3, alpha_M=0.5, sigma_w=SW1, sigma_A=SA1, n=4, samples=20, **E)
MAP_KINDS = dict(alpha_A="unit", alpha_M="unit", sigma_w="positive_array", sigma_A="array",
                 n="positive_int", samples="positive_int", activation="choice",
                 residual="choice", moments="callable?")
NEG_SA = ({"sigma_A": -1.0}, "sigma_A")


def _tiny(**kw):
    base = dict(n=3, d=4, device="cpu")
    base.update(kw)
    return base


# --- exact ------------------------------------------------------------------------------------
TABLE = [
    Fn(X, "mlp_kernel", dict(rho=np.array([0.5]), sigma_w=SW1),
       dict(rho="array", sigma_w="positive_array", activation="choice", resolution="positive"),
       extra=[({"rho": 1.5}, "rho"), ({"rho": np.ones(2) * 0.5, "sigma_w": np.ones(3)}, "broadcast"),
              ({"sigma_w": 1e6}, "needs about")],
       skip=bc("rho", "sigma_w")),
    Fn(X, "chi_1", dict(sigma_w=SW1),
       dict(sigma_w="positive_array", activation="choice", resolution="positive"),
       extra=[({"sigma_w": 1e12}, "needs about")], skip=bc("sigma_w")),
    Fn(X, "attention_moments", dict(rho=np.array([0.5]), sigma_A=SA1, n=3, samples=10),
       dict(rho="array", sigma_A="array", n="positive_int", samples="positive_int", seed="seed"),
       extra=[NEG_SA, ({"rho": -0.9}, "rho"), ({"samples": 10**9, "n": 100}, "needs about"),
              ({"rho": np.ones(2) * 0.5, "sigma_A": np.ones(3)}, "broadcast")],
       skip=bc("rho", "sigma_A")),
    Fn(X, "attention_table", dict(sigma_A=1.0, n=3, points=3, samples=10),
       dict(sigma_A="non_negative", n="positive_int", points="positive_int", samples="positive_int"),
       extra=[({"points": 10**10}, "needs about")]),
    Fn(X, "skip_gains", dict(alpha_A=A1, alpha_M=A1, residual="scaled"),
       dict(alpha_A="unit", alpha_M="unit", residual="choice"),
       extra=[({"alpha_A": np.ones(2) * 0.3, "alpha_M": np.ones(3) * 0.3}, "broadcast")]),
    Fn(X, "block_map", dict(q=np.array([1.0]), p=np.array([0.5]), **MAP),
       dict(q="positive_array?", p="array", **MAP_KINDS),
       extra=[NEG_SA, ({"p": 1.5}, "p"), ({"q": np.ones(2), "p": np.ones(3) * 0.5}, "broadcast")],
       skip=bc("q", "p", "sigma_w", "sigma_A")),
    Fn(X, "iterate_map", dict(q0=np.array([1.0]), rho0=np.array([0.5]), depth=2, **MAP),
       dict(q0="positive_array?", rho0="array", depth="positive_int", **MAP_KINDS),
       extra=[NEG_SA, ({"rho0": 1.5}, "rho0"), ({"depth": 10**13}, "needs about"),
              ({"q0": np.ones(2), "rho0": np.ones(3) * 0.5}, "broadcast")],
       skip=bc("q0", "rho0", "sigma_w", "sigma_A")),
    Fn(X, "collapsed_fixed_point", dict(alpha_A=A1, alpha_M=A1, sigma_w=SW1, residual="scaled", **E),
       dict(**ALPHAS, sigma_w="positive_array", **MODEL),
       extra=[({"residual": "plain"}, "residual")], skip=bc("sigma_w")),
    Fn(X, "angle_exponent", dict(alpha_A=A1, alpha_M=A1, sigma_w=SW1, q=np.array([1.0]), **E),
       dict(**ALPHAS, sigma_w="positive_array", q="positive_array?", **MODEL),
       extra=[({"alpha_A": np.ones(2) * 0.3, "alpha_M": np.ones(3) * 0.3}, "broadcast")],
       skip=bc("sigma_w", "q")),
    Fn(X, "gradient_exponent", dict(alpha_A=A1, alpha_M=A1, sigma_w=SW1, q=np.array([1.0]), **E),
       dict(**ALPHAS, sigma_w="positive_array", q="positive_array?", **MODEL),
       skip=bc("sigma_w", "q")),
    Fn(X, "collapsed_norms", dict(alpha_A=A1, alpha_M=A1, sigma_w=SW1, depth=3, q0=np.array([1.0]), **E),
       dict(**ALPHAS, sigma_w="positive_array", depth="positive_int", q0="positive_array?", **MODEL),
       extra=[({"depth": 10**13}, "needs about")], skip=bc("sigma_w", "q0")),
    Fn(X, "gradient_exponent_finite_depth", dict(alpha_A=A1, alpha_M=A1, sigma_w=SW1, depth=3, n=4, q0=np.array([1.0]), **E),
       dict(**ALPHAS, sigma_w="positive_array", depth="positive_int", n="positive_int",
            q0="positive_array?", normalise="bool", **MODEL),
       extra=[({"depth": 10**13}, "needs about")], skip=bc("sigma_w", "q0")),
    Fn(X, "gradient_norm_profile", dict(alpha_A=A1, alpha_M=A1, sigma_w=SW1, depth=3, n=4, q0=np.array([1.0]), **E),
       dict(**ALPHAS, sigma_w="positive_array", depth="positive_int", n="positive_int",
            q0="positive_array?", **MODEL),
       extra=[({"depth": 10**13}, "needs about")], skip=bc("sigma_w", "q0")),
    Fn(X, "angle_exponent_one_block", dict(q=np.array([1.0]), rho=np.array([0.9]), **MAP),
       dict(q="positive_array?", rho="array", **MAP_KINDS),
       extra=[NEG_SA, ({"rho": 1.0}, "rho")], skip=bc("q", "rho", "sigma_w", "sigma_A")),
    Fn(X, "simplex_fixed_point", dict(alpha_A=0.3, alpha_M=0.9, sigma_w=3.0, sigma_A=1.0, n=4,
                                      samples=20, residual="scaled", **E),
       dict(alpha_A="unit", alpha_M="unit", sigma_w="positive", sigma_A="non_negative",
            n="positive_int", samples="positive_int", activation="choice", residual="choice",
            moments="callable?"),
       extra=[({"residual": "plain"}, "residual")]),
    Fn(X, "attention_output", dict(rho=np.array([0.5]), sigma_A=SA1, n=3, samples=10),
       dict(rho="array", sigma_A="array", n="positive_int", samples="positive_int"),
       extra=[NEG_SA, ({"rho": -0.9}, "rho")], skip=bc("rho", "sigma_A")),
    Fn(X, "attention_flatness", dict(sigma_A=1.0, n=3, gaps=np.array([1e-2, 1e-3]), samples=10),
       dict(sigma_A="non_negative", n="positive_int", gaps="positive_array", samples="positive_int"),
       extra=[({"gaps": [1.5]}, "gaps")]),
    Fn(X, "chi_1_finite_difference", dict(sigma_w=SW1, h=1e-4, **E),
       dict(sigma_w="positive_array", activation="choice", h="positive", resolution="positive"),
       extra=[({"h": 0.9}, "h")], skip=bc("sigma_w")),
    Fn(X, "gap_rate", dict(rho=np.array([0.1, 0.5, 0.8]), start=0, stop=2),
       dict(rho="array", start="non_negative_int", stop="positive_int"),
       extra=[({"stop": 5}, "stop"), ({"rho": np.array([0.1, 1.0, 1.0])}, "rho")],
       ),
    Fn(X, "map_tracks", dict(cases={"a": (0.5, 0.0, 1.0)}, rho0=np.array([0.2]), depth=2,
                             sigma_A=1.0, n=4, samples=10, **E),
       dict(rho0="array", depth="positive_int", sigma_A="non_negative", n="positive_int",
            samples="positive_int", **MODEL),
       extra=[({"cases": None}, "cases"), ({"cases": {}}, "cases"), ({"cases": {"a": (0.5, 0.0)}}, "cases"),
              ({"cases": {"a": (0.5, 0.0, float("nan"))}}, "sigma_w")]),
    Fn(X, "attention_summary", dict(sigma_A=1.0, n=3, rho=np.array([0.0, 0.5]), gaps=np.array([1e-2]),
                                    samples=10),
       dict(sigma_A="non_negative", n="positive_int", rho="array", gaps="positive_array",
            samples="positive_int")),
    Fn(X, "one_block_exponents", dict(configs=np.array([(0.5, 0.0, 1.0)]), sigma_A=1.0, n=3, rho0=0.9,
                                      samples=10, **E),
       dict(configs="array", sigma_A="non_negative", n="positive_int", rho0="real",
            samples="positive_int", **MODEL),
       extra=[({"configs": np.ones((1, 2))}, "configs"), ({"rho0": 1.0}, "rho0")]),
    Fn(X, "map_phases", dict(stacks={"a": (0.5, 0.0, 1.0)}, rho0=np.array([0.2]), depth=2, sigma_A=1.0,
                             n=4, samples=10, **E),
       dict(rho0="array", depth="positive_int", sigma_A="non_negative", n="positive_int",
            samples="positive_int", **MODEL),
       extra=[({"stacks": None}, "stacks"), ({"stacks": {"a": (0.5,)}}, "stacks")]),
    Fn(X, "theory_phase_diagram", dict(alpha_A=0.3, alpha_M=np.array([0.1, 0.5]),
                                       sigma_w=np.array([1.0, 2.0]), **E),
       dict(alpha_A="unit", alpha_M="array", sigma_w="positive_array", **MODEL),
       extra=[({"alpha_M": [1.5]}, "alpha_M")]),
    Fn(X, "paper_phase_diagram", dict(alpha=np.array([0.1, 0.5]), sigma_w=np.array([1.0, 2.0]), depth=2,
                                      n=3, **E),
       dict(alpha="array", sigma_w="positive_array", depth="positive_int", n="positive_int", **MODEL),
       extra=[({"alpha": [1.5]}, "alpha"), ({"depth": 10**13}, "needs about")]),
]

# --- simulate ---------------------------------------------------------------------------------
SIMK = dict(alpha_A="unit", alpha_M="unit", sigma_w="positive_array", sigma_A="array")
SIMV = dict(alpha_A=0.3, alpha_M=0.5, sigma_w=SW1, sigma_A=SA1)
RUN = dict(n="positive_int", d="positive_int", seeds="positive_int", seed="seed",
           activation="choice", residual="choice", chunk="positive_int", device="device?",
           dtype="dtype?")
_res_cache = {}


def _train_result():
    if "res" not in _res_cache:
        from theory.transformer_signal import train_transformers
        _res_cache["res"] = train_transformers(Sweep(alpha_M=[0.2, 0.9], sigma_w=[1.0]), alpha_A=0.3,
                                               sigma_A=1.0, seed=0, n=3, d=4, depth=1, vocab=2,
                                               steps=2, batch=2, test_batch=4, device="cpu", **E)
    return _res_cache["res"]


TABLE += [
    Fn(S, "sample_tokens", dict(batch=2, n=3, d=4, rho=0.5, device="cpu"),
       dict(batch="positive_int", n="positive_int", d="positive_int", rho="unit", q="positive",
            device="device?", dtype="dtype?"),
       extra=[({"batch": 10**6, "n": 10**3, "d": 10**4}, "needs about"),
              ({"generator": 3}, "generator")],
       skip={("q", "list"): "one norm per cloud: a list of batch = 2 norms is legal"}),
    Fn(S, "token_geometry", dict(X=torch.ones(2, 3, 4, dtype=torch.float64)), dict(X="array"),
       extra=[({"X": torch.ones(2, 1, 4)}, "X"), ({"X": torch.ones(2, 3)}, "X"),
              ({"X": torch.ones(2, 3, 4, dtype=torch.int64)}, "X")]),
    Fn(S, "propagate", dict(**SIMV, depth=2, rho0=0.5, **_tiny()),
       dict(**SIMK, depth="positive_int", rho0="unit", q0="positive", method="choice",
            progress="bool", **RUN),
       extra=[NEG_SA, ({"seeds": 10**6, "depth": 10**6}, "needs about"),
              ({"d": 10**5, "method": "full", "depth": 10}, "needs about"),
              ({"alpha_A": [0.3, 0.4], "alpha_M": [0.3, 0.3, 0.3]}, "broadcast")],
       skip={**bc("sigma_w", "sigma_A"), **Q0L}),
    Fn(S, "measure_angle_exponent", dict(**SIMV, seeds=2, **_tiny()),
       dict(**SIMK, rho0="unit", q0="positive", method="choice", **RUN),
       extra=[NEG_SA, ({"rho0": 1.0}, "rho0")], skip={**bc("sigma_w", "sigma_A"), **Q0L}),
    Fn(S, "measure_gradient_exponent", dict(**SIMV, depth=2, seeds=1, **_tiny()),
       dict(**SIMK, depth="positive_int", rho0="unit", q0="positive", normalise="bool", **RUN),
       extra=[NEG_SA, ({"d": 10**5, "depth": 10}, "needs about")],
       skip={**bc("sigma_w", "sigma_A"), **Q0L}),
    Fn(S, "fit_log_gap_slope", dict(rho=1 - 0.5 * np.exp(-0.3 * np.arange(8)), skip=1),
       dict(rho="array", floor="unit", skip="non_negative_int"),
       extra=[({"rho": np.ones(5)}, "floor"), ({"floor": 0.0}, "floor")]),
    Fn(S, "layer_by_layer", dict(stacks={"a": (0.5, 0.0, 1.0)}, sigma_A=1.0, n=3, d=4, depth=2,
                                 rho0=0.2, seeds=1, seed=1, full_depth=1, full_seeds=1, full_seed=2, **E),
       dict(sigma_A="non_negative", n="positive_int", d="positive_int", depth="positive_int",
            rho0="unit", seeds="positive_int", seed="seed", full_depth="positive_int",
            full_seeds="positive_int", full_seed="seed", **MODEL),
       extra=[({"full_depth": 3}, "full_depth"), ({"stacks": [(0.5, 0.0, 1.0)]}, "stacks"),
              ({"stacks": {"a": (0.5, 0.0)}}, "stacks")]),
    Fn(S, "attention_only_collapse", dict(alpha_A=np.array([0.5]), sigma_A=1.0, n=3, d=4, depth=6,
                                          seeds=1, seed=0, skip=0, floor=1e-9),
       dict(alpha_A="array", sigma_A="non_negative", n="positive_int", d="positive_int",
            depth="positive_int", rho0="unit", seeds="positive_int", seed="seed", floor="positive",
            skip="non_negative_int", residual="choice"),
       extra=[({"alpha_A": [1.5]}, "alpha_A")]),
    Fn(S, "simplex_scatter", dict(alpha_A=0.3, alpha_M=0.9, sigma_w=3.0, sigma_A=1.0, widths=[4, 8],
                                  n=3, depth=3, seeds=1, seed=0, last=2, activation="erf"),
       dict(alpha_A="unit", alpha_M="unit", sigma_w="positive", sigma_A="non_negative",
            n="positive_int", depth="positive_int", seeds="positive_int", seed="seed",
            last="positive_int", activation="choice"),
       extra=[({"widths": None}, "widths"), ({"widths": [4.5]}, "widths"), ({"widths": [0]}, "widths"),
              ({"widths": []}, "widths"), ({"last": 5}, "last")]),
    Fn(S, "measured_phase_diagram", dict(alpha_A=0.3, alpha_M=np.array([0.5]), sigma_w=np.array([1.0]),
                                         sigma_A=1.0, n=3, d=4, seeds=1, seed=0, **E),
       dict(alpha_A="unit", alpha_M="array", sigma_w="positive_array", sigma_A="non_negative",
            n="positive_int", d="positive_int", seeds="positive_int", seed="seed", kind="choice",
            depth="positive_int", chunk="positive_int", progress="bool", **MODEL),
       extra=[({"alpha_M": [1.5]}, "alpha_M")]),
    Fn(S, "angle_exponent_table", dict(configs=np.array([(0.5, 0.0, 1.0)]), lam_lin=np.array([0.1]),
                                       lam_step=np.array([0.1]), measured_proj=np.ones((1, 2)),
                                       measured_full=np.ones((1, 2))),
       dict(configs="array", lam_lin="array", lam_step="array", measured_proj="array",
            measured_full="array"),
       extra=[({"lam_lin": np.ones(3)}, "lam_lin"), ({"measured_full": np.ones((2, 2))}, "measured_full")]),
    Fn(S, "in_gram_range", dict(rho=np.array([0.1, 0.5]), n=3),
       dict(rho="array", n="positive_int", tol="non_negative"),
       skip={("rho", "one more dimension"): "elementwise: any shape is legal"}),
    Fn(S, "compare_phase_diagrams", dict(alpha_A=0.3, la_measured=np.zeros((2, 2)), alpha_M=np.array([0.0, 0.9]),
                                         sigma_w=np.array([1.0, 5.0]), lg_measured=np.zeros((2, 2)),
                                         alpha_M_g=np.array([0.0, 0.9]), sigma_w_g=np.array([1.0, 5.0]),
                                         depth=2, n=3, **E),
       dict(alpha_A="unit", la_measured="array", alpha_M="array", sigma_w="positive_array",
            lg_measured="array", alpha_M_g="array", sigma_w_g="positive_array", depth="positive_int",
            n="positive_int", margin="non_negative", tol="positive", **MODEL),
       extra=[({"la_measured": np.zeros((3, 2))}, "la_measured")]),
    Fn(S, "angle_exponent_check", dict(configs=np.array([(0.5, 0.0, 1.0)]), sigma_A=1.0, n=3, d=4,
                                       seeds_projected=1, seeds_full=1, **E),
       dict(configs="array", sigma_A="non_negative", n="positive_int", d="positive_int", rho0="unit",
            seeds_projected="positive_int", seed_projected="seed", seeds_full="positive_int",
            seed_full="seed", **MODEL),
       extra=[({"configs": np.ones((1, 2))}, "configs"), ({"rho0": 1.0}, "rho0")]),
    Fn(S, "gradient_exponent_check", dict(configs=np.array([(0.5, 0.0, 1.0)]), sigma_A=1.0, n=3, d=4,
                                          depth=2, seeds=1, seed=0, **E),
       dict(configs="array", sigma_A="non_negative", n="positive_int", d="positive_int",
            depth="positive_int", rho0="unit", seeds="positive_int", seed="seed", **MODEL),
       extra=[({"configs": np.ones((1, 2))}, "configs")]),
    Fn(S, "measured_phase_diagrams",
       dict(alpha_A=0.3, sigma_A=1.0, n=3, d_angle=4, seeds_angle=1, seed_angle=0, d_gradient=4, depth=1,
            seeds_gradient=1, seed_gradient=1, grid_angle=(np.array([0.5]), np.array([1.0])),
            grid_gradient=(np.array([0.5]), np.array([1.0])), **E),
       dict(alpha_A="unit", sigma_A="non_negative", n="positive_int", d_angle="positive_int",
            seeds_angle="positive_int", seed_angle="seed", d_gradient="positive_int",
            depth="positive_int", seeds_gradient="positive_int", seed_gradient="seed",
            chunk="positive_int", progress="bool", **MODEL),
       extra=[({"grid_angle": None}, "grid_angle"), ({"grid_gradient": (np.array([0.5]),)}, "grid_gradient")]),
    Fn(S, "histogram_task", dict(batch=2, n=3, vocab=2, device="cpu"),
       dict(batch="positive_int", n="positive_int", vocab="positive_int", device="device?"),
       extra=[({"batch": 10**9, "n": 10**4}, "needs about"), ({"generator": 3}, "generator")]),
    Fn(S, "train_transformers", lambda: dict(sweep=Sweep(alpha_M=[0.5]), alpha_A=0.3, sigma_w=1.0,
                                             sigma_A=1.0, seed=0, n=3, d=4, depth=1, vocab=2, steps=1,
                                             batch=2, test_batch=2, device="cpu", **E),
       dict(alpha_A="unit?", sigma_w="positive?", sigma_A="non_negative?", seed="seed?",
            n="positive_int", d="positive_int", depth="positive_int", vocab="positive_int",
            steps="positive_int", batch="positive_int", lr="positive", test_batch="positive_int",
            record_every="positive_int?", activation="choice", residual="choice", device="device?",
            dtype="dtype?", progress="bool"),
       extra=[({"sweep": None}, "sweep"), ({"sigma_A": None}, "sigma_A"),
              ({"batch": 10**8, "d": 10**4}, "needs about")],
       skip={("sigma_A", "None"): "covered by the extra case (sigma_A is needed here)"}),
    Fn(S, "token_wise_baseline", dict(n=3, vocab=2), dict(n="positive_int", vocab="positive_int")),
    Fn(S, "trainability_summary", lambda: dict(res=_train_result(), alpha_A=0.3),
       dict(alpha_A="unit?"), extra=[({"res": None}, "res"), ({"res": 3}, "res")]),
    Fn(S, "paper_phase_measurement", dict(alpha=np.array([0.5]), sigma_w=np.array([1.0]), sigma_A=1.0,
                                          n=3, d=4, depth=1, seeds_angle=1, seeds_gradient=1, seed=0, **E),
       dict(alpha="array", sigma_w="positive_array", sigma_A="non_negative", n="positive_int",
            d="positive_int", depth="positive_int", seeds_angle="positive_int",
            seeds_gradient="positive_int", seed="seed", chunk="positive_int", progress="bool", **MODEL),
       extra=[({"alpha": [1.5]}, "alpha")]),
]


# --- plots: each takes a result object; None and an int are refused naming it ------------------

def _objects():
    import theory.transformer_signal as ts
    if "obj" in _res_cache:
        return _res_cache["obj"]
    a, s = np.linspace(0, 1, 3), np.linspace(0.5, 5, 3)
    val = np.outer(a - 0.5, s)
    m = np.random.default_rng(0).normal(size=(3, 4))
    gap = 1 - 0.5 * np.exp(-0.3 * np.arange(10))[:, None] * np.ones((1, 2))
    obj = dict(
        summary=ts.attention_summary(1.0, 3, rho=np.linspace(0, 1, 3), gaps=[1e-2], samples=10),
        phases=ts.map_phases({"a": (0.5, 0.0, 1.0), "b": (0.3, 0.9, 3.0)}, [0.2, 0.95], 4, sigma_A=1.0,
                             n=3, samples=10, activation="erf", residual="scaled"),
        diagram=ts.theory_phase_diagram(0.3, alpha_M=a, sigma_w=s, **E),
        measured=ts.MeasuredPhaseDiagrams(alpha_A=0.3, sigma_A=1.0, model=dict(residual="plain", **E),
                                          grid_angle=(a, s), lambda_a=val, grid_gradient=(a, s),
                                          lambda_g=-val, d_angle=4, seeds_angle=1, d_gradient=4,
                                          depth=2, seeds_gradient=1, comparison={}),
        layers=ts.layer_by_layer({"x": (0.5, 0.0, 1.0)}, 1.0, n=3, d=4, depth=2, seeds=1, full_depth=1,
                                 full_seeds=1, **E),
        attention=ts.AttentionOnlyCollapse(alpha_A=np.array([0.3, 0.5]), d=4, seeds=1, rho=gap,
                                           fits=[(-0.3, np.arange(3, 9)), (-0.5, np.arange(3, 9))],
                                           slopes=np.array([-0.3, -0.5])),
        simplex=ts.SimplexScatter(config=(0.3, 0.9, 3.0), widths=np.array([4, 8]), depth=3, last=2,
                                  seeds=1, final_rho=np.array([0.3, 0.3]), spread=np.array([0.1, 0.05]),
                                  exponent=-0.5, fixed_point=ts.SimplexFixedPoint(q=1.0, rho=0.3)),
        angle=ts.AngleExponentCheck(configs=np.zeros((3, 3)), d=4, n=3, q_star=np.ones(3),
                                    linear=np.array([0.1, -0.2, 0.35]), step=np.array([0.1, -0.2, 0.3]),
                                    projected=m, full=m[:, :2]),
        gradient=ts.GradientExponentCheck(configs=np.array([(0.5, 0.0, 1.0)] * 3), d=4, depth=4,
                                          measured=m[:, :2], log_norms=np.zeros((5, 3, 2)),
                                          finite_depth=np.zeros(3), asymptotic=np.zeros(3),
                                          profile=np.zeros((5, 3)), ordered=np.array([True, False, True])),
        trainability=ts.trainability_summary(_train_result(), alpha_A=0.3),
        paper=ts.paper_phase_diagram(np.linspace(0, 1, 4), np.linspace(1, 4, 4), depth=2, n=3),
    )
    obj["paper_measured"] = ts.PaperPhaseMeasurement(
        alpha=np.linspace(0, 1, 3), sigma_w=np.linspace(1, 4, 3), model=dict(residual="plain", activation="tanh"),
        sigma_A=1.0, n=3, d=4, depth=2, seeds_angle=1, seeds_gradient=1, lambda_a=val,
        lambda_g_depth=val, lambda_g_direction=-val)
    _res_cache["obj"] = obj
    return obj


def _plot(name, arg, key, kinds=None, extra=(), **more):
    def valid():
        kw = {arg: _objects()[key]}
        kw.update({k: (v() if callable(v) else v) for k, v in more.items()})
        return kw
    return Fn(P, name, valid, kinds or {},
              extra=[({arg: None}, arg), ({arg: 3}, arg), *extra])


def _axes():
    fig, ax = plt.subplots()
    return ax


_PA = np.linspace(0, 1, 3)


def _paper_phase_figure(diagrams, vmax=0.3):
    """plots.paper_phase_figure(*diagrams, vmax=vmax): the battery passes keywords only."""
    from theory.transformer_signal import plots
    return plots.paper_phase_figure(*diagrams, vmax=vmax)


def _as_plots_function(f):
    # named as the plots function it drives, so that check_coverage counts it as covered
    from theory.transformer_signal import plots
    f.__module__, f.__name__ = plots.paper_phase_figure.__module__, "paper_phase_figure"
    return f


paper_phase_figure = _as_plots_function(_paper_phase_figure)
TABLE += [
    _plot("attention_figure", "summary", "summary"),
    _plot("map_phases_figure", "phases", "phases", dict(fit_from="non_negative_int"),
          extra=[({"fit_from": 99}, "fit_from")], fit_from=1),
    _plot("theory_phase_figure", "diagram", "diagram", extra=[({"model": None}, "model")],
          model=dict(residual="plain", **E)),
    _plot("measured_phase_figure", "diagrams", "measured"),
    _plot("layer_by_layer_figure", "result", "layers"),
    _plot("attention_only_figure", "result", "attention"),
    _plot("simplex_width_figure", "result", "simplex", dict(title="str"), title="t"),
    _plot("angle_exponent_figure", "check", "angle"),
    _plot("gradient_figure", "check", "gradient"),
    _plot("trainability_figure", "summary", "trainability"),
    Fn("test_bad_inputs_transformer_signal", "paper_phase_figure", lambda: dict(diagrams=(_objects()["paper"],), vmax=0.3),
       dict(vmax="positive"), extra=[({"diagrams": (None,)}, "diagrams"), ({"diagrams": ()}, "diagrams")]),
    _plot("paper_measured_figure", "measured", "paper_measured", dict(vmax="positive"),
          extra=[({"theory": None}, "theory")], theory=lambda: _objects()["paper"]),
    Fn(P, "phase_axes", lambda: dict(ax=_axes(), alphas=_PA, sigma_ws=_PA + 1, values=np.outer(_PA - 0.5, _PA + 1),
                                     alpha_A=0.3, label="x", model=dict(residual="plain", **E)),
       dict(alphas="array", sigma_ws="positive_array", values="array", alpha_A="unit", label="str",
            vmax="positive?"),
       extra=[({"ax": None}, "ax"), ({"values": np.ones((2, 3))}, "values")]),
    Fn(P, "phase_figure", lambda: dict(left=(_PA, _PA + 1, np.outer(_PA - 0.5, _PA + 1)),
                                       right=(_PA, _PA + 1, np.outer(0.5 - _PA, _PA + 1)), alpha_A=0.3,
                                       labels=("a", "b"), titles=("c", "d"), suptitle="e",
                                       model=dict(residual="plain", **E)),
       dict(alpha_A="unit", suptitle="str", vmax="positive"),
       extra=[({"left": None}, "left"), ({"right": (1, 2)}, "right"), ({"labels": ("a",)}, "labels"),
              ({"titles": None}, "titles")]),
]

# the trainability grid through the runner (theory.transformer_signal.sweeps)
W = "theory.transformer_signal.sweeps"
_TINY = dict(n=4, d=4, depth=1, vocab=2, steps=2, batch=2, lr=1e-3, sigma_A=1.0, test_batch=4)


def _tiny_result():
    from theory.core import run_sweep
    from theory.transformer_signal import sweeps

    exp = sweeps.trainability_experiment("laptop", steps=2, depth=1, d=4)
    exp = dataclasses.replace(exp, fixed=dict(exp.fixed, **_TINY))
    return run_sweep(exp, sweeps.trainability_sweep("laptop", n_alpha=1, n_sigma=2, n_seed=1), progress=False)


@functools.lru_cache(maxsize=None)
def _tiny_page():
    from theory.core import Sweep
    from theory.transformer_signal import PAPER_MODEL, train_transformers

    return train_transformers(Sweep(alpha=[0.25], sigma_w=[1.0, 2.5], seed=[100]), **_TINY, **PAPER_MODEL)


TABLE += [
    Fn(W, "trainability_point", dict(alpha=0.5, sigma_w=1.0, seed=0, **_TINY),
       dict(alpha="unit", sigma_w="positive", seed="seed")),
    Fn(W, "trainability_sweep", dict(scale="laptop", n_alpha=2, n_sigma=1, n_seed=1),
       dict(scale="choice", n_alpha="positive_int?", n_sigma="positive_int?", n_seed="positive_int?")),
    Fn(W, "trainability_experiment", dict(scale="laptop", steps=5, depth=2, d=4),
       dict(scale="choice", steps="positive_int?", depth="positive_int?", d="positive_int?")),
    Fn(W, "trainability_plan", dict(scale="laptop", n_alpha=1, n_sigma=1, n_seed=1, steps=5, depth=2, d=4),
       dict(scale="choice", n_alpha="positive_int?", n_sigma="positive_int?", n_seed="positive_int?",
            steps="positive_int?", depth="positive_int?", d="positive_int?")),
    Fn(W, "stored_trainability", dict(labels=("paper",)), extra=[({"labels": "paper"}, "labels"),
                                                                 ({"labels": [3]}, "labels")]),
    Fn(W, "stored_report", lambda: dict(ds=_tiny_result()), extra=[({"ds": None}, "ds"), ({"ds": 3}, "ds")]),
    Fn(W, "trainability_from_dataset", lambda: dict(ds=_tiny_result()),
       extra=[({"ds": None}, "ds"), ({"ds": 3}, "ds")]),
    Fn(W, "stored_claims", lambda: dict(stored={"laptop-dask": _tiny_result()}, res=_tiny_page()),
       extra=[({"stored": None}, "stored"), ({"stored": {"x": 3}}, "stored"), ({"res": None}, "res"),
              ({"res": 3}, "res")]),
]

# derivations: sympy identities with no arguments (tests/test_transformer_signal.py asserts them)
EXEMPT = {
    "alpha_symbols": "no arguments (sympy symbols)",
    "arcsine_kernel_slope": "no arguments (a sympy derivation)",
    "checks": "no arguments (the list of the module's sympy identities)",
    "collapsed_fixed_point_residual": "no arguments (a sympy derivation)",
    "gradient_exponent_identity": "no arguments (a sympy derivation)",
    "linearised_block": "no arguments (a sympy derivation)",
    "linearised_block_plain": "no arguments (a sympy derivation)",
    "relu_kernel_slope": "no arguments (a sympy derivation)",
    "main": "the command line: bad options exit through argparse (tested in tests/test_transformer_signal_sweeps.py)",
    "signal_explorer": "the explorer: a frame of fixed controls (tests/test_transformer_signal_plots.py)",
}

test_bad_input = badinput.parametrize(TABLE)
test_valid_call = badinput.parametrize_valid(TABLE)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_table_covers_every_public_function():
    assert badinput.check_coverage("theory.transformer_signal", TABLE, EXEMPT) == []


# --- the known bugs -------------------------------------------------------------------

@pytest.mark.parametrize("method", ["projected", "full"])
def test_propagate_works_with_fewer_coordinates_than_tokens(method):
    from theory.transformer_signal import propagate
    tr = propagate(0.3, 0.5, 1.5, 1.0, n=6, d=2, depth=3, rho0=0.5, seeds=2, method=method,
                   device="cpu")
    assert tr.rho.shape == (4, 1, 2) and np.all(np.isfinite(tr.rho)) and np.all(tr.q > 0)


def test_random_linear_draws_as_before_when_d_is_at_least_n():
    """d >= n: the same n·d normals as before the d < n fix (bit for bit), the law of T Wᵀ."""
    from theory.transformer_signal.simulate import _random_linear
    T = torch.randn(3, 4, 7, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    std = torch.full((3, 1, 1), 0.5, dtype=torch.float64)
    out = _random_linear(T, std, torch.Generator().manual_seed(1))
    U, R = torch.linalg.qr(T.transpose(-1, -2))
    G = torch.randn(3, 7, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert torch.equal(out, R.transpose(-1, -2) @ (std * G).transpose(-1, -2))
    few = _random_linear(T[..., :2], std, torch.Generator().manual_seed(1))   # d = 2 < n = 4
    assert few.shape == (3, 4, 2) and torch.all(torch.isfinite(few))


@pytest.mark.parametrize("seed", ["3", 3.9, 3.0, -1, True, 2**64])
def test_seeds_are_ints_in_range_everywhere(seed):
    from theory.transformer_signal import attention_moments, measured_phase_diagram, propagate
    from theory.transformer_signal.simulate import BatchedTransformer
    calls = [lambda: propagate(0.3, 0.5, 1.5, 1.0, n=3, d=4, depth=1, rho0=0.5, seed=seed),
             lambda: attention_moments(0.5, 1.0, 3, samples=5, seed=seed),
             lambda: measured_phase_diagram(0.3, [0.5], [1.0], 1.0, n=3, d=4, seeds=1, seed=seed),
             lambda: BatchedTransformer(0.3, 0.5, 1.5, 1.0, d=4, depth=1, seeds=[seed], device="cpu")]
    for call in calls:
        with pytest.raises((TypeError, ValueError), match="seed"):
            call()


def test_trainability_divergence_is_flagged_not_raised():
    """A learning rate that blows every network up: NaN records, flagged per configuration."""
    from theory.transformer_signal import train_transformers, trainability_summary
    res = train_transformers(Sweep(alpha_M=[0.2, 0.9], sigma_w=[1.0, 3.0]), alpha_A=0.3, sigma_A=1.0,
                             seed=0, n=3, d=4, depth=1, vocab=2, steps=3, batch=2, test_batch=4,
                             lr=1e38, device="cpu", **E)
    assert res.meta["diverged"].tolist() == [True] * 4
    assert np.all(res.meta["diverged_step"] >= 1)
    s = trainability_summary(res, alpha_A=0.3)
    assert s.diverged.tolist() == [True] * 4 and s.best == -1 and np.isnan(s.spearman)
    # one diverged setting among finite ones: flagged, and left out of the correlation
    ok = _train_result()
    assert not ok.meta["diverged"].any()
    bad = ok.with_sweep(ok.sweep)
    bad.metrics = {k: v.copy() for k, v in ok.metrics.items()}
    bad.metrics["train_loss"][1, 1:] = np.nan
    bad.metrics["test_loss"][1, -1] = np.nan
    s = trainability_summary(bad, alpha_A=0.3)
    assert s.diverged.tolist() == [False, True] and s.best == 0


# --- the closed forms stay finite over their legal range ----------------------------------------

unit = st.floats(0.0, 1.0)
sigma = st.floats(1e-6, 1e6)
cosine = st.floats(-1.0, 1.0)


@settings(max_examples=60, deadline=None)
@given(rho=cosine, sigma_w=sigma, activation=st.sampled_from(["erf", "relu"]))
def test_closed_form_kernels_are_finite(rho, sigma_w, activation):
    from theory.transformer_signal import chi_1, mlp_kernel
    V, K = mlp_kernel(rho, sigma_w, activation)
    assert np.isfinite(V) and np.isfinite(K) and abs(K) <= V * (1 + 1e-12) + 1e-300
    assert np.isfinite(chi_1(sigma_w, activation)) and chi_1(sigma_w, activation) >= 0


@settings(max_examples=20, deadline=None)
@given(rho=cosine, sigma_w=st.floats(1e-3, 20.0))
def test_tanh_kernel_is_finite(rho, sigma_w):
    from theory.transformer_signal import chi_1, mlp_kernel
    V, K = mlp_kernel(rho, sigma_w)
    assert np.isfinite(V) and np.isfinite(K) and abs(K) <= V + 1e-12
    assert np.isfinite(chi_1(sigma_w)) and np.isfinite(chi_1(1e3 * sigma_w))


@settings(max_examples=60, deadline=None)
@given(aA=unit, aM=unit, sigma_w=sigma, activation=st.sampled_from(["erf", "relu"]),
       q=st.floats(1e-6, 1e6))
def test_plain_residual_exponents_are_finite_everywhere(aA, aM, sigma_w, activation, q):
    from theory.transformer_signal import (angle_exponent, gradient_exponent,
                                           gradient_exponent_finite_depth, gradient_norm_profile)
    M = dict(activation=activation, residual="plain")
    for f in (angle_exponent, gradient_exponent):
        assert np.isfinite(f(aA, aM, sigma_w, q=q, **M))
    assert np.isfinite(gradient_exponent_finite_depth(aA, aM, sigma_w, 4, 3, q0=q, **M))
    assert np.all(np.isfinite(gradient_norm_profile(aA, aM, sigma_w, 4, 3, q0=q, **M)))


@settings(max_examples=60, deadline=None)
@given(aA=st.floats(0.0, 1.0, exclude_max=True), aM=unit, sigma_w=sigma,
       activation=st.sampled_from(["erf", "relu"]))
def test_scaled_residual_exponents_are_finite_below_alpha_A_one(aA, aM, sigma_w, activation):
    """Scaled residual: finite for α_A < 1; at α_A = 1 the skip path is gone and λ_a = −inf
    (the spread is annihilated in one block) — the mathematics, not an overflow."""
    from theory.transformer_signal import angle_exponent, collapsed_fixed_point, gradient_exponent
    M = dict(activation=activation, residual="scaled")
    q, qY = collapsed_fixed_point(aA, aM, sigma_w, **M)
    assert np.isfinite(q) and q > 0 and np.isfinite(qY)
    assert np.isfinite(angle_exponent(aA, aM, sigma_w, **M))
    assert np.isfinite(gradient_exponent(aA, aM, sigma_w, **M))


@settings(max_examples=15, deadline=None)
@given(rho=st.floats(-0.5, 1.0), sigma_A=st.floats(0.0, 50.0))
def test_attention_moments_are_finite_probabilities(rho, sigma_A):
    from theory.transformer_signal import attention_moments
    a2, a11 = attention_moments(rho, sigma_A, 3, samples=50)
    assert 1 / 3 - 1e-12 <= a2 <= 1 + 1e-12 and 0 <= a11 <= 1 + 1e-12


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=1e-300, max_value=1e308), st.floats(min_value=-1.0, max_value=1.0))
def test_erf_closed_forms_finite_up_to_the_largest_sigma_w(sigma_w, rho):
    """χ₁ = σ²/√(1 + πσ²) ≈ σ/√π and the arcsine kernel stay finite where σ_w² overflows."""
    import warnings

    from theory.transformer_signal.exact import chi_1, mlp_kernel

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        chi = chi_1(sigma_w, "erf")
        V, K = mlp_kernel(rho, sigma_w, "erf")
    assert np.isfinite(chi) and 0 <= chi <= sigma_w / np.sqrt(np.pi) * (1 + 1e-12) + 1e-300
    assert np.isfinite(V) and np.isfinite(K) and 0 <= V <= 1 and abs(K) <= V + 1e-15
