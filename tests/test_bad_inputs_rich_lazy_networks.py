"""Bad input to the networks modules of the rich/lazy chapter (issue 20): two_layer, deep,
deep_rhm, deep_transformer, deep_plots, network_plots, network_derivation.

The battery is :mod:`badinput`; ``python tests/badinput.py
tests/test_bad_inputs_rich_lazy_networks.py`` prints the counts. The other rich_lazy modules
(exact, derivation, plots, simulate, official_formula, linear_networks, mirror_flow) have their
own table.
"""

import functools

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import badinput  # noqa: E402
from badinput import Fn  # noqa: E402
from theory.core import DivergenceError, Result, Sweep  # noqa: E402
from theory.rich_lazy import deep, deep_rhm, deep_transformer, two_layer  # noqa: E402

TL = "theory.rich_lazy.two_layer"
D = "theory.rich_lazy.deep"
DP = "theory.rich_lazy.deep_plots"
DR = "theory.rich_lazy.deep_rhm"
DT = "theory.rich_lazy.deep_transformer"
NP = "theory.rich_lazy.network_plots"
HUGE = "needs about"


# ---- cheap fixtures (cached: the valid calls are rebuilt for every case) ----------------------

@functools.lru_cache(maxsize=None)
def _ts():
    return two_layer.teacher_student(2, 4, [0], n_test=3)


@functools.lru_cache(maxsize=None)
def _student():
    return two_layer.relu_student_init(0.5, 0.0, 4, 2, 0)


@functools.lru_cache(maxsize=None)
def _divergent():
    """A task on which a large step size overflows (in R^2 the students die first instead)."""
    ts = two_layer.teacher_student(5, 20, [0], n_test=3)
    a0, W0 = two_layer.relu_student_init(0.5, 0.0, 10, 5, 0)
    return dict(X=ts.X[0], y=ts.y[0], a0=a0, W0=W0, lr=1e4, steps=50)


def _relu_descent_kw():
    ts = _ts()
    a0, W0 = _student()
    return dict(X=ts.X[0], y=ts.y[0], a0=a0, W0=W0, lr=0.05, steps=3)


@functools.lru_cache(maxsize=None)
def _fig1a():
    return two_layer.fig1a_experiment(seeds=(0,), steps=3, n_records=2, n=4, m=4, n_test=3)


@functools.lru_cache(maxsize=None)
def _pd():
    return two_layer.phase_diagram(n_tau=2, n_seed=1, d=3, n=6, steps=10, m=4, n_test=5,
                                   n_records=2)


@functools.lru_cache(maxsize=None)
def _aligned():
    from theory.rich_lazy.linear_networks import aligned_modes_experiment
    return aligned_modes_experiment(t_end=0.5, lr=2e-3, record_every=50, n_fine=5)


@functools.lru_cache(maxsize=None)
def _square_grid():
    from theory.rich_lazy.linear_networks import square_grid_experiment
    return square_grid_experiment([0.3, 1.0], [0.0, 1.0], 1, lr=5e-3, t_end=0.5, n_records=2)


@functools.lru_cache(maxsize=None)
def _width():
    from theory.rich_lazy.linear_networks import width_regime_experiment
    return width_regime_experiment((-1.0, 1.0), steps=20, lr=0.02)


@functools.lru_cache(maxsize=None)
def _mirror():
    from theory.rich_lazy.mirror_flow import mirror_flow_experiment
    return mirror_flow_experiment((-0.5, 0.5), t_end=1.0, n_t=3)


@functools.lru_cache(maxsize=None)
def _deep_bias():
    from theory.rich_lazy.mirror_flow import deep_bias_experiment
    return deep_bias_experiment(depths=(1, 2), deltas=(0.0, -1e-2), d=4, n=2, t_end=1000.0)


CNN = dict(channels=(2, 2), d_out=2)
LENET = dict(channels=(2, 2), kernel=3, hidden=3, d_out=2)
MLP = dict(d_in=6, width=3, d_out=3)


@functools.lru_cache(maxsize=None)
def _cnn():
    return deep.init_params("cnn", CNN, [1.0, 2.0], [0, 0], dtype=torch.float64)


@functools.lru_cache(maxsize=None)
def _cnn1():
    return [p * 1.1 for p in _cnn()]


@functools.lru_cache(maxsize=None)
def _lenet():
    return deep.init_params("lenet", LENET, [1.0], [0], dtype=torch.float64)


@functools.lru_cache(maxsize=None)
def _mlp():
    return deep.init_params("mlp", MLP, [1.0], [0], dtype=torch.float64)


def _images(n=2):
    return torch.as_tensor(np.random.default_rng(0).uniform(size=(n, 1, 8, 8)))


@functools.lru_cache(maxsize=None)
def _digits():
    return deep.digits(1790, seed=0)


def _acc_result(names=("train_accuracy", "test_accuracy"), **axes):
    sweep = Sweep(**axes) if axes else Sweep(alpha=[0.1, 1.0], seed=[0])
    G = len(sweep)
    acc = np.tile(np.array([0.0, 0.6, 1.0]), (G, 1))
    return Result(steps=np.arange(0, 30, 10), metrics={n: acc for n in names}, sweep=sweep)


@functools.lru_cache(maxsize=None)
def _rhm_ds():
    return deep.rhm_sample_complexity(2, 2, 2, 2, 1, sizes=[2, 4], alphas=[1.0], seeds=[0],
                                      width=2, steps=2, lr=0.01, n_test=4, progress=False,
                                      dtype=torch.float64)


@functools.lru_cache(maxsize=None)
def _grammar():
    return deep.random_hierarchy(2, 2, 2, 2, 1, seed=0)


@functools.lru_cache(maxsize=None)
def _transformer():
    return deep_transformer.init_transformer([1.0], [0], p=3, d_model=4, n_heads=1,
                                             dtype=torch.float64)


@functools.lru_cache(maxsize=None)
def _sequences():
    return deep_transformer.modular_sequences(3, 0.5, [0])


@functools.lru_cache(maxsize=None)
def _grok_result():
    return _acc_result(("train_accuracy", "val_accuracy"), alpha=[1.0], tau=[1.0], seed=[0])


def _rhm_inputs():
    x, y = deep.sample_hierarchy(_grammar(), 4, seed=0)
    return deep_rhm.one_hot_inputs(x, 2).double()[None], torch.as_tensor(y)[None]


@functools.lru_cache(maxsize=None)
def _mlp_rhm():
    return deep_rhm.mlp_init([1.0], [0], d_in=4, width=3, hidden=1, d_out=2, dtype=torch.float64)


K2 = np.array([[2.0, 0.5], [0.5, 1.0]])
ALPHAS = np.array([0.1, 1.0, 10.0])
ACC = np.tile(np.linspace(0, 1, 3), (3, 2, 1))           # (n_α, n_seed, T)
TIMES = np.full((3, 2), 10.0)
TABLE = [
    # ---- two_layer ----
    Fn(TL, "paper_alpha", dict(tau=np.array([0.5]), delta=np.array([0.1])),
       dict(tau="positive_array", delta="array"),
       extra=[({"delta": np.zeros(3), "tau": np.ones(2)}, "broadcast")],
       skip={("tau", "one more dimension"): "broadcasts", ("delta", "one more dimension"): "broadcasts",
             ("delta", "empty"): "an empty grid is legal"}),
    Fn(TL, "init_scales", dict(tau=np.array([0.5]), delta=np.array([0.1]), eta_a=1.0, eta_w=1.0),
       dict(tau="positive_array", delta="array", eta_a="positive", eta_w="positive"),
       extra=[({"delta": np.zeros(3), "tau": np.ones(2)}, "broadcast")],
       skip={("tau", "one more dimension"): "broadcasts", ("delta", "one more dimension"): "broadcasts",
             ("delta", "empty"): "an empty grid is legal"}),
    Fn(TL, "sphere_points", lambda: dict(n=3, d=2, generator=torch.Generator().manual_seed(0)),
       dict(n="positive_int", d="positive_int", generator="callable", dtype="dtype"),
       extra=[({"n": 10**7, "d": 10**6}, HUGE)]),
    Fn(TL, "teacher_student", dict(d=2, n=3, seeds=[0], n_test=2, m0=2),
       dict(d="positive_int", n="positive_int", seeds="seeds", n_test="positive_int",
            m0="positive_int"),
       extra=[({"n": 10**7, "d": 10**6}, HUGE)]),
    Fn(TL, "relu_student_init", dict(tau=0.5, delta=0.0, m=4, d=2, seeds=0),
       dict(tau="positive", delta="real", m="positive_int", d="positive_int", seeds="seeds",
            eta_a="positive", eta_w="positive", symmetric="bool"),
       extra=[({"m": 3}, "even"), ({"m": 10**6, "d": 10**7}, HUGE)],
       skip={("tau", "list"): "a list of τ is a batch", ("delta", "list"): "a batch"}),
    Fn(TL, "neuron_imbalance", dict(a=np.ones((2, 3)), W=np.ones((2, 3, 2))),
       dict(a="array", W="array", eta_a="positive", eta_w="positive"),
       extra=[({"W": np.ones((2, 4, 2))}, "W")],
       skip={("a", "empty"): "an empty batch is legal", ("W", "empty"): "mismatch: W named",
             ("a", "one more dimension"): "a batch axis is legal (W then mismatches)"}),
    Fn(TL, "relu_ntk_gram", dict(X=np.ones((3, 2)), a=np.ones((1, 2)), W=np.ones((1, 2, 2))),
       dict(X="array", a="array", W="array", eta_a="positive", eta_w="positive"),
       extra=[({"W": np.ones((1, 3, 2))}, "W"), ({"X": np.ones((2, 3, 2))}, "X"),
              ({"eta_a": np.ones(2)}, "eta_a")],
       skip={("X", "one more dimension"): "X (B, n, d) with B = 1 is legal"}),
    Fn(TL, "kernel_distance_batched", dict(K0=K2, K=K2 + 0.1),
       dict(K0="array", K="array"),
       extra=[({"K": np.eye(3)}, "K"), ({"K": np.zeros((2, 2))}, "zero kernel"),
              ({"K0": np.stack([K2] * 3), "K": np.stack([K2] * 2)}, "broadcast")],
       skip={("K0", "one more dimension"): "a batch axis", ("K", "one more dimension"): "a batch axis"}),
    Fn(TL, "relu_descent", _relu_descent_kw,
       dict(X="array", y="array", a0="array", W0="array", lr="positive", steps="positive_int",
            eta_a="positive", eta_w="positive", keep_weights="bool", device="device",
            dtype="dtype", progress="bool"),
       extra=[(_divergent(), "diverged"), ({"record": [7]}, "record"),
              ({"y": np.ones(5)}, "y"), ({"X_test": np.ones((3, 2))}, "y_test"),
              ({"sweep": 3}, "sweep"), ({"W0": np.ones((1, 4, 3))}, "W0")],
       skip={("lr", "list"): "per-run lr: a batch of one refuses the shape (covered by the "
                              "'lr' name anyway)"}),
    Fn(TL, "linearised_descent", dict(K0=K2, r0=np.array([1.0, -1.0]), lr=0.1, n=2,
                                      steps=np.array([0.0, 1.0, 5.0])),
       dict(K0="array", r0="array", lr="positive", n="positive_int", steps="array"),
       extra=[({"lr": 100.0}, "unstable"), ({"steps": np.array([-1.0])}, "steps"),
              ({"K_test": np.ones((2, 2))}, "f0_test"),
              ({"K_test": np.ones((2, 3)), "f0_test": np.ones(2)}, "K_test")],
       skip={("steps", "empty"): "no steps: an empty answer"}),
    Fn(TL, "tau_rich", dict(S=np.array([0.3, 0.01, 1e-4]), taus=np.array([0.1, 0.5, 1.0]),
                            threshold=0.05),
       dict(S="array", taus="positive_array", threshold="positive"),
       extra=[({"taus": np.array([1.0, 0.5, 0.1])}, "increasing")],
       skip={("S", "one more dimension"): "a batch axis"}),
    Fn(TL, "fig1a_experiment", dict(seeds=(0,), lr=0.02, steps=3, n_records=2, d=2, n=4, m=4,
                                    n_test=3),
       dict(seeds="seeds", lr="positive", steps="positive_int", n_records="positive_int",
            d="positive_int", n="positive_int", m="positive_int", n_test="positive_int",
            progress="bool"),
       extra=[({"lr": 1e4, "steps": 50, "d": 5, "n": 20, "m": 10}, "diverged"), ({"m": 3}, "even")]),
    Fn(TL, "phase_diagram", dict(n_tau=2, n_seed=1, d=3, n=6, steps=10, m=4, n_test=5, n_records=2),
       dict(n_tau="positive_int", n_seed="positive_int", d="positive_int", n="positive_int",
            steps="positive_int", m="positive_int", n_test="positive_int", lr_scale="positive",
            n_records="positive_int", progress="bool", device="device?"),
       extra=[({"lr_scale": 1e4, "steps": 50}, "diverged"), ({"n_tau": 1}, "n_tau")]),
    # ---- deep: data ----
    Fn(D, "modular_addition", dict(p=3, train_fraction=0.5, seed=0),
       dict(p="positive_int", train_fraction="unit", seed="seed"),
       extra=[({"p": 1}, "p"), ({"p": 10**6}, HUGE), ({"train_fraction": 0.0}, "train_fraction")]),
    Fn(D, "modular_batch", dict(p=3, train_fraction=0.5, seeds=[0, 1]),
       dict(p="positive_int", train_fraction="unit", seeds="seeds", device="device?")),
    Fn(D, "random_hierarchy", dict(v=2, n_classes=2, m=2, s=2, L=1, seed=0),
       dict(v="positive_int", n_classes="positive_int", m="positive_int", s="positive_int",
            L="positive_int", seed="seed"),
       extra=[({"m": 3}, "distinct"), ({"v": 1000, "s": 6, "m": 1}, HUGE)]),
    Fn(D, "sample_hierarchy", lambda: dict(rhm=_grammar(), n=3, seed=0),
       dict(rhm="callable", n="positive_int", seed="seed"),
       extra=[({"n": 10**12}, HUGE)]),
    Fn(D, "digits", dict(n_train=1790, seed=0), dict(n_train="positive_int", seed="seed"),
       extra=[({"n_train": 1797}, "n_train")]),
    # ---- deep: models ----
    Fn(D, "init_params", dict(arch="cnn", dims=CNN, alpha=np.array([1.0, 2.0]), seeds=[0, 1]),
       dict(arch="choice", alpha="positive_array", seeds="seeds", device="device?", dtype="dtype"),
       extra=[({"dims": dict(channels=(2,), d_out=2)}, "channels"), ({"dims": 3}, "dims"),
              ({"dims": dict(d_out=2)}, "dims"), ({"alpha": np.ones(3)}, "broadcast"),
              ({"arch": "mlp", "dims": dict(d_in=10**6, width=10**5, d_out=2)}, HUGE)]),
    Fn(D, "layers", lambda: dict(params=_cnn()), dict(device="device?", dtype="dtype?"),
       extra=[({"params": None}, "params"), ({"params": [torch.ones(2, 3), torch.ones(3, 3)]},
                                               "params")]),
    Fn(D, "forward", lambda: dict(arch="cnn", params=_cnn(), x=_images()),
       dict(arch="choice", x="array"),
       extra=[({"params": None}, "params")],
       names={"x": ("x", "images")}),
    Fn(D, "activation_change", lambda: dict(params0=_lenet(), params1=_lenet(), x=_images()),
       dict(x="array"), extra=[({"params0": _cnn()}, "lenet")],
       skip={("x", "one more dimension"): "x (G, N, 1, 8, 8) with G = 1 is legal"}),
    Fn(D, "feature_gram", lambda: dict(arch="cnn", params=_cnn(), x=_images()),
       dict(arch="choice", x="array")),
    Fn(D, "ntk_gram", lambda: dict(arch="cnn", params=_cnn(), x=_images()),
       dict(arch="choice", x="array")),
    # ---- deep: training and metrics ----
    Fn(D, "accuracy", dict(logits=torch.ones(1, 3, 2), y=torch.tensor([0, 1, 0])),
       dict(logits="array"),
       extra=[({"y": torch.tensor([0, 1])}, "y"), ({"y": torch.tensor([0.5, 1.0, 0.0])}, "y"),
              ({"mask": torch.zeros(1, 3)}, "mask"),
              ({"mask": torch.full((1, 3), float("nan"))}, "mask")]),
    Fn(D, "train", lambda: dict(arch="cnn", params=_cnn(), x_train=_images(3),
                                y_train=torch.tensor([0, 1, 0]), x_test=_images(2),
                                y_test=torch.tensor([1, 0]), steps=2, lr=1e-3, eval_every=1),
       dict(arch="choice", x_train="array", x_test="array", steps="positive_int", lr="positive",
            weight_decay="non_negative", optimizer="choice", eval_every="positive_int",
            progress="bool"),
       extra=[({"lr": 1e120, "steps": 3}, "diverged"),
              ({"y_train": torch.tensor([0, 1])}, "y_train"),
              ({"y_train": torch.tensor([0, 1, 5])}, "y_train"),
              ({"train_mask": torch.zeros(2, 3)}, "train_mask"),
              ({"optimizer": "gd", "weight_decay": 0.1}, "weight_decay"),
              ({"sweep": 3}, "sweep")],
       skip={("lr", "list"): "a per-model lr of the 2 models is legal"}),
    Fn(D, "kernel_distance", dict(K0=K2, Kt=K2 + 0.1),
       dict(K0="array", Kt="array", center="bool"),
       extra=[({"Kt": np.eye(3)}, "Kt"), ({"Kt": np.zeros((2, 2))}, "zero")],
       skip={("K0", "one more dimension"): "a batch axis (Kt then mismatches: covered)",
             ("Kt", "one more dimension"): "mismatch"}),
    Fn(D, "filter_smoothness", dict(filters=np.arange(9.0).reshape(3, 3)), dict(filters="array"),
       extra=[({"filters": np.zeros((3, 3))}, "zero"), ({"filters": np.ones((2, 2))}, "3×3")],
       skip={("filters", "one more dimension"): "a batch of filters"}),
    Fn(D, "mean_imbalance", lambda: dict(params=_mlp()), {},
       extra=[({"params": None}, "params"), ({"params": _lenet()}, "two-layer")]),
    Fn(D, "balanced_alpha", lambda: dict(params=_mlp(), alpha=np.array([1.0])),
       dict(alpha="positive_array"), extra=[({"params": None}, "params")]),
    Fn(D, "initial_spread", lambda: dict(arch="cnn", params=_cnn(), x=_images(),
                                         alpha=np.array([1.0, 2.0]), seeds=[0, 0]),
       dict(arch="choice", x="array", alpha="positive_array", seeds="seeds", reference="positive"),
       extra=[({"reference": 3.0}, "reference")]),
    Fn(D, "parameter_movement", lambda: dict(params0=_cnn(), params1=_cnn1()), {},
       extra=[({"params0": None}, "params"), ({"params1": _lenet()}, "params")]),
    Fn(D, "layer_movement", lambda: dict(params0=_cnn(), params1=_cnn1(), layer=0),
       dict(layer="int"), extra=[({"layer": 5}, "layer")]),
    Fn(D, "kernel_movement", lambda: dict(arch="cnn", params0=_cnn(), params1=_cnn1(), x=_images()),
       dict(arch="choice", x="array")),
    Fn(D, "ntk_step_size", dict(ntk=K2[None]), dict(ntk="array", factor="positive"),
       extra=[({"ntk": np.zeros((1, 2, 2))}, "zero"), ({"ntk": np.ones((1, 2, 3))}, "ntk")]),
    Fn(D, "crossing_steps", lambda: dict(result=_acc_result(), metric="test_accuracy", threshold=0.5),
       dict(metric="str", threshold="real"),
       extra=[({"result": None}, "result"), ({"metric": "nope"}, "metric"),
              ({"sweep": 3}, "sweep")]),
    Fn(D, "seed_table", dict(columns={"a": np.ones((3, 2))}, index=ALPHAS),
       dict(index="array", index_name="str"),
       extra=[({"columns": {"a": np.ones(3)}}, "columns"), ({"columns": None}, "columns")],
       skip={("index", "str"): "labels may be strings", ("index", "strings"): "labels may be strings",
             ("index", "NaN entry"): "a label", ("index", "inf entry"): "a label",
             ("index", "bools"): "a label", ("index", "complex"): "a label"}),
    Fn(D, "time_ratio", dict(t_num=np.array([10.0, 20.0]), t_den=np.array([5.0, 5.0]), budget=30.0),
       dict(t_num="array", t_den="array", budget="positive", bound="choice", reduce="choice"),
       extra=[({"t_num": np.array([40.0, 1.0])}, "t_num"), ({"t_den": np.ones(3)}, "broadcast")],
       skip={("t_num", "NaN entry"): "NaN: never crossed", ("t_den", "NaN entry"): "NaN: never",
             ("t_num", "one more dimension"): "broadcasts", ("t_den", "one more dimension"): "broadcasts"}),
    Fn(D, "rhm_sample_complexity",
       dict(v=2, n_classes=2, m=2, s=2, L=1, sizes=[2, 4], alphas=np.array([1.0]), seeds=[0],
            width=2, steps=2, lr=0.01, n_test=4, progress=False, dtype=torch.float64),
       dict(v="positive_int", n_classes="positive_int", m="positive_int", s="positive_int",
            L="positive_int", sizes="array", alphas="positive_array", seeds="seeds",
            width="positive_int", steps="positive_int", lr="positive", n_test="positive_int",
            threshold="unit", device="device?", dtype="dtype", progress="bool"),
       extra=[({"sizes": [4, 2]}, "sizes"), ({"sizes": [2.5, 4]}, "sizes")]),
    Fn(D, "float32_device", dict(device="cpu"), dict(device="device?")),
    Fn(D, "cnn_kernel_study",
       lambda: dict(sweep=Sweep(alpha=[1.0], seed=[0]), data=_digits(), probe=_images(),
                    steps=1, lr=1e-3, dims=dict(channels=(2, 2), d_out=10), dtype=torch.float64),
       dict(steps="positive_int", lr="positive?", optimizer="choice", arch="choice",
            device="device?", dtype="dtype", progress="bool"),
       extra=[({"lr": None, "ntk_factor": 1.0}, "optimizer"), ({"ntk_factor": 1.0}, "lr"),
              ({"lr": None, "optimizer": "gd", "ntk_factor": -1.0}, "ntk_factor"),
              ({"sweep": Sweep(tau=[1.0])}, "sweep"), ({"data": (1, 2)}, "data"),
              ({"probe": np.full((2, 1, 8, 8), np.nan)}, "probe"),
              ({"dims": CNN}, "y_train")]),
    Fn(D, "rhm_report", lambda: dict(ds=_rhm_ds()), {}, extra=[({"ds": None}, "ds")]),
    Fn(D, "rhm_table", lambda: dict(ds=_rhm_ds()), {}, extra=[({"ds": None}, "ds")]),
    Fn(D, "imbalance_report", dict(alphas=ALPHAS, delta_bar=np.array([-1.0, 0.0, 1.0])),
       dict(alphas="array", delta_bar="array"), extra=[({"delta_bar": np.ones(2)}, "delta_bar")],
       skip={("alphas", "empty"): "delta_bar then mismatches (named)"}),
    Fn(D, "grokking_times", lambda: dict(result=_acc_result(), threshold=0.9),
       dict(threshold="unit", memorised="unit", onset="unit"),
       extra=[({"result": None}, "result"),
              ({"result": _acc_result(alpha=[1.0, 0.1], seed=[0])}, "increasing")]),
    # ---- deep_rhm ----
    Fn(DR, "one_hot_inputs", dict(x=np.array([[0, 1], [1, 0]]), v=2),
       dict(x="array", v="positive_int"),
       extra=[({"x": np.array([[0, 2]])}, "x"), ({"v": 1}, "v")],
       skip={("x", "empty"): "no inputs: an empty batch (0, length)"}),
    Fn(DR, "mlp_init", dict(alpha=np.array([1.0]), seeds=[0], d_in=4, width=3, hidden=1, d_out=2),
       dict(alpha="positive_array", seeds="seeds", d_in="positive_int", width="positive_int",
            hidden="positive_int", d_out="positive_int", device="device?", dtype="dtype"),
       extra=[({"d_in": 10**6, "width": 10**5}, HUGE)]),
    Fn(DR, "mlp_forward", lambda: dict(W=_mlp_rhm(), x=torch.ones(3, 4, dtype=torch.float64)),
       dict(x="array"), extra=[({"W": None}, "W"), ({"x": np.ones((3, 5))}, "x")],
       skip={("x", "one more dimension"): "x (G, N, d_in) with G = 1 is legal"}),
    Fn(DR, "cosine_rate", dict(lr0=0.1, epochs=3, batches=2),
       dict(lr0="positive", epochs="positive_int", batches="positive_int", until="unit"),
       extra=[({"until": 0.0}, "until")]),
    Fn(DR, "train_mlp_sgd",
       lambda: dict(W0=_mlp_rhm(), x_train=_rhm_inputs()[0], y_train=_rhm_inputs()[1], seeds=[0],
                    epochs=2, lr0=0.1, batch=2),
       dict(x_train="array", seeds="seeds", epochs="positive_int", lr0="positive",
            batch="positive_int", momentum="unit", progress="bool"),
       extra=[({"lr0": 1e200, "epochs": 5}, "diverged"), ({"momentum": 1.0}, "momentum"),
              ({"y_train": torch.tensor([[0, 1]])}, "y_train"), ({"W0": None}, "W0"),
              ({"y_train": torch.tensor([[0, 1, 5, 0]])}, "y_train")]),
    Fn(DR, "rhm_mlp_sample_complexity",
       dict(v=2, n_classes=2, m=2, s=2, L=1, sizes=[2, 4], alphas=np.array([1.0]), seeds=[0],
            width=2, hidden=1, epochs=1, batch=2, n_test=3, progress=False, dtype=torch.float64),
       dict(v="positive_int", n_classes="positive_int", m="positive_int", s="positive_int",
            L="positive_int", sizes="array", alphas="positive_array", seeds="seeds",
            width="positive_int", hidden="positive_int", epochs="positive_int",
            batch="positive_int", lr_per_width="positive", n_test="positive_int",
            threshold="unit", device="device?", dtype="dtype", progress="bool")),
    # ---- deep_transformer ----
    Fn(DT, "modular_sequences", dict(p=3, train_fraction=0.5, seeds=[0]),
       dict(p="positive_int", train_fraction="unit", seeds="seeds", device="device?"),
       extra=[({"p": 10**6}, HUGE)]),
    Fn(DT, "init_transformer", dict(alpha=np.array([1.0]), seeds=[0], p=3, d_model=4, n_heads=1),
       dict(alpha="positive_array", seeds="seeds", p="positive_int", d_model="positive_int",
            n_heads="positive_int", d_mlp="positive_int?", device="device?", dtype="dtype"),
       extra=[({"n_heads": 3}, "n_heads"), ({"d_model": 10**6}, HUGE)]),
    Fn(DT, "transformer_logits", lambda: dict(params=_transformer(), x=_sequences()[0], tau=1.0),
       dict(tau="positive"),
       extra=[({"params": None}, "params"), ({"x": torch.zeros(1, 2, 2, dtype=torch.long)}, "x"),
              ({"x": torch.full((1, 2, 3), 9)}, "x"), ({"x": np.zeros((1, 2, 3))}, "x")]),
    Fn(DT, "train_transformer", lambda: dict(params=_transformer(), data=_sequences(), tau=1.0,
                                             steps=2, lr=1e-3, weight_decay=0.0, eval_every=1),
       dict(tau="positive", steps="positive_int", lr="positive", weight_decay="non_negative",
            eval_every="positive_int", progress="bool"),
       extra=[({"data": (1, 2)}, "data"), ({"params": None}, "params"), ({"sweep": 3}, "sweep"),
              ({"betas": (0.9, 1.5)}, "betas")],
       skip={("tau", "list"): "a per-configuration tau (G = 1 refuses the shape; named)"}),
    Fn(DT, "grok_grid", lambda: dict(result=_grok_result(), threshold=0.9),
       dict(threshold="unit"), extra=[({"result": None}, "result")]),
    # ---- deep_plots ----
    Fn(DP, "alpha_colors", dict(alphas=ALPHAS), dict(alphas="positive_array")),
    Fn(DP, "grokking_figure",
       dict(steps=np.array([0.0, 10.0, 20.0]), train_accuracy=ACC, test_accuracy=ACC,
            t_generalise=TIMES, t_memorise=TIMES, alphas=ALPHAS, delta_bar=np.array([-1.0, 0.0, 1.0]),
            alpha0=0.5, threshold=0.9, p=5),
       dict(steps="array", train_accuracy="array", test_accuracy="array", t_generalise="array",
            t_memorise="array", alphas="positive_array", delta_bar="array", alpha0="positive",
            threshold="unit", p="positive_int"),
       extra=[({"test_accuracy": ACC[:2]}, "test_accuracy"), ({"delta_bar": np.ones(2)}, "delta_bar"),
              ({"train_accuracy": ACC[..., :2]}, "train_accuracy")],
       skip={("t_generalise", "NaN entry"): "NaN: never crossed",
             ("t_memorise", "NaN entry"): "NaN: never crossed"}),
    Fn(DP, "cnn_kernel_figure", dict(alphas=ALPHAS, ntk=TIMES / 20, feature=TIMES / 20,
                                     first_layer=TIMES / 20, steps=10),
       dict(alphas="positive_array", ntk="array", feature="array", first_layer="positive_array",
            steps="positive_int"),
       extra=[({"ntk": TIMES[:2]}, "ntk"), ({"smoothness": np.ones((2, 2))}, "smoothness"),
              ({"smoothness": np.full((3, 2), np.nan)}, "smoothness")]),
    Fn(DP, "cnn_filters_figure", dict(rows={"a": np.ones((2, 1, 3, 3))}), {},
       extra=[({"rows": {}}, "rows"), ({"rows": {"a": np.ones((2, 3, 4))}}, "rows"),
              ({"rows": {"a": np.full((2, 3, 3), np.nan)}}, "rows")]),
    Fn(DP, "rhm_figure", dict(sizes=np.array([2.0, 4.0]), test_accuracy=ACC[..., :2], p_star=TIMES,
                              alphas=ALPHAS, n_classes=2, m=2, L=1, v=2, s=2),
       dict(sizes="positive_array", test_accuracy="array", p_star="array", alphas="positive_array",
            n_classes="positive_int", m="positive_int", L="positive_int", v="positive_int",
            s="positive_int", threshold="unit"),
       extra=[({"test_accuracy": ACC[..., :1]}, "test_accuracy")],
       skip={("p_star", "NaN entry"): "NaN: never crossed"}),
    Fn(DP, "grokking_run_figure",
       lambda: dict(run=_acc_result(alpha=[0.1, 1.0, 10.0], seed=[0]),
                    times=deep.grokking_times(_acc_result(alpha=[0.1, 1.0, 10.0], seed=[0]), 0.5),
                    delta_bar=np.array([-1.0, 0.0, 1.0]), alpha0=0.5, p=3),
       dict(delta_bar="array", alpha0="positive", p="positive_int"),
       extra=[({"run": None}, "run"), ({"times": None}, "times")]),
    Fn(DP, "rhm_dataset_figure", lambda: dict(ds=_rhm_ds()), {}, extra=[({"ds": None}, "ds")]),
    Fn(DP, "grok_grid_figure", lambda: dict(result=_grok_result(), grid=deep_transformer.grok_grid(
        _grok_result(), 0.5), p=3), dict(tau="positive", p="positive_int"),
       extra=[({"result": None}, "result"), ({"grid": None}, "grid"), ({"tau": 2.0}, "tau")]),
    # ---- network_plots ----
    Fn(NP, "mirror_flow_figure", lambda: dict(check=_mirror(), q_deltas=np.array([1e-2, 1.0])),
       dict(q_deltas="array"),
       extra=[({"check": None}, "check"), ({"q_deltas": np.array([0.0, 1.0])}, "q_deltas")]),
    Fn(NP, "deep_bias_figure", lambda: dict(bias=_deep_bias()), {}, extra=[({"bias": None}, "bias")]),
    Fn(NP, "aligned_modes_figure", lambda: dict(res=_aligned()), dict(every="positive_int"),
       extra=[({"res": None}, "res")]),
    Fn(NP, "width_regime_figure", lambda: dict(w=_width()), {}, extra=[({"w": None}, "w")]),
    Fn(NP, "square_grid_figure", lambda: dict(grid=_square_grid()), {},
       extra=[({"grid": None}, "grid")]),
    Fn(NP, "fig1a_figure", lambda: dict(exp=_fig1a()), dict(seed_index="non_negative_int"),
       extra=[({"exp": None}, "exp"), ({"seed_index": 1}, "seed_index")]),
    Fn(NP, "phase_diagram_figure", lambda: dict(pd=_pd()), dict(threshold="positive"),
       extra=[({"pd": None}, "pd")]),
    Fn(NP, "fig5b_figure", lambda: dict(pd=_pd()), {}, extra=[({"pd": None}, "pd")]),
]

EXEMPT = {
    "theory.rich_lazy.network_derivation.square_metric_residuals": "no arguments (a sympy "
                                                                    "derivation)",
    "theory.rich_lazy.network_derivation.deep_delta_residuals":
        "a sympy derivation; dims is validated (tests/test_rich_lazy_networks_properties.py and "
        "test_derivation_dims_are_validated below)",
    "theory.rich_lazy.network_derivation.neuron_delta_rate":
        "a sympy derivation of two small ints (validated; test_derivation_dims_are_validated)",
}
_MINE = ("theory.rich_lazy.deep", "theory.rich_lazy.two_layer.", "theory.rich_lazy.network_")

test_bad_input = badinput.parametrize(TABLE)
test_valid_call = badinput.parametrize_valid(TABLE)


def test_table_covers_every_public_function():
    missing = badinput.check_coverage("theory.rich_lazy", TABLE, EXEMPT)
    assert [q for q in missing if q.startswith(_MINE)] == []


def test_derivation_dims_are_validated():
    from theory.rich_lazy import network_derivation as nd
    for bad in (None, "3", True, 2.5, float("nan"), 0, -1):
        with pytest.raises((TypeError, ValueError), match="d"):
            nd.neuron_delta_rate(d=bad)
        with pytest.raises((TypeError, ValueError), match="dims"):
            nd.deep_delta_residuals(dims=(3, bad, 2))
    with pytest.raises(TypeError, match="dims"):
        nd.deep_delta_residuals(dims=None)


# ---- divergence ----------------------------------------------------------------------------------

def test_relu_descent_divergence_names_the_step_and_both_paths_agree():
    kw = _divergent() | dict(steps=40, record=[0, 10, 20, 40])
    with pytest.raises(DivergenceError) as cpu:
        two_layer.relu_descent(**kw)
    assert cpu.value.step is not None and 0 < cpu.value.step <= 40
    old = two_layer._CPU_KERNEL
    try:
        two_layer._CPU_KERNEL = False
        with pytest.raises(DivergenceError):
            two_layer.relu_descent(**kw)
    finally:
        two_layer._CPU_KERNEL = old


def test_relu_descent_at_a_stable_lr_is_unchanged_by_the_check():
    res = two_layer.relu_descent(**_relu_descent_kw() | dict(steps=50))
    assert np.all(np.isfinite(res["train_loss"])) and res["train_loss"][0, -1] < res["train_loss"][0, 0]


# ---- the closed forms stay finite over their legal range -----------------------------------------

FIN = st.floats(-1e150, 1e150, allow_nan=False)
POS = st.floats(1e-150, 1e150, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(tau=POS, delta=FIN)
def test_paper_alpha_is_finite_and_positive(tau, delta):
    a = two_layer.paper_alpha(tau, delta)
    assert np.isfinite(a) and a > 0


@settings(max_examples=60, deadline=None)
@given(tau=st.floats(1e-50, 1e50), delta=st.floats(-1e50, 1e50), eta_a=st.floats(1e-6, 1e6),
       eta_w=st.floats(1e-6, 1e6))
def test_init_scales_are_finite_and_positive(tau, delta, eta_a, eta_w):
    w, a = two_layer.init_scales(tau, delta, eta_a, eta_w)
    assert np.isfinite(w) and np.isfinite(a) and w > 0 and a > 0


@settings(max_examples=40, deadline=None)
@given(c0=POS, c=POS, seed=st.integers(0, 1000))
def test_kernel_distances_are_finite_for_any_scale(c0, c, seed):
    A = np.random.default_rng(seed).normal(size=(3, 3))
    K = A @ A.T + np.eye(3)
    for S in (two_layer.kernel_distance_batched(c0 * K, c * np.eye(3)),
              deep.kernel_distance(c0 * K, c * np.eye(3))):
        assert np.isfinite(S) and -1e-12 <= S <= 1 + 1e-12


@settings(max_examples=40, deadline=None)
@given(lam=st.floats(0.0, 1e6), lr=st.floats(1e-6, 1.0), k=st.integers(0, 10**9))
def test_linearised_descent_is_finite_in_its_stable_range(lam, lr, k):
    n = 2
    K = np.diag([lam, lam / 2])
    if lr * lam / n >= 2:
        return
    resid, f = two_layer.linearised_descent(K, np.ones(2), lr=lr, n=n, steps=[k], K_test=K,
                                            f0_test=np.zeros(2))
    assert np.all(np.isfinite(resid)) and np.all(np.isfinite(f))


@settings(max_examples=30, deadline=None)
@given(lr0=POS, e=st.integers(0, 10**6))
def test_cosine_rate_is_finite_and_in_range(lr0, e):
    r = deep_rhm.cosine_rate(lr0, 100, 3)(e)
    assert np.isfinite(r) and 0 <= r <= lr0


def test_the_log_space_closed_forms_agree_with_the_direct_ones_where_both_hold():
    rng = np.random.default_rng(0)
    tau = np.exp(rng.uniform(np.log(1e-3), np.log(1e3), 200))
    delta = rng.normal(size=200) * np.exp(rng.uniform(-5, 5, 200))
    np.testing.assert_allclose(two_layer._paper_alpha_log(tau, delta),
                               two_layer.paper_alpha(tau, delta), rtol=1e-12)
    for eta_a, eta_w in ((1.0, 1.0), (0.3, 2.0)):
        w_log, a_log = two_layer._init_scales_log(tau, delta, eta_a, eta_w)
        w, a = two_layer.init_scales(tau, delta, eta_a, eta_w)
        np.testing.assert_allclose(w_log, w, rtol=1e-11)
        np.testing.assert_allclose(a_log, a, rtol=1e-11)


def test_the_closed_forms_at_the_float_range_ends():
    tau = np.array([1e-200, 1e-200, 1e200, 1e-160, 3.0])
    delta = np.array([1e100, -1e100, 0.0, 0.0, -1e250])
    alpha = two_layer.paper_alpha(tau, delta)
    assert np.all(np.isfinite(alpha)) and np.all(alpha > 0)
    assert alpha[2] == 1.0 and alpha[3] == 1.0
    np.testing.assert_allclose(np.log10(alpha[0]), 250.0, rtol=1e-12)     # α = √(δ/τ²) = √1e500 = 1e250
    w, a = two_layer.init_scales(np.array([1e-100, 1e100, 1e-100]), np.array([0.0, 0.0, 1e150]))
    assert np.all(np.isfinite(w)) and np.all(np.isfinite(a)) and np.all(w > 0) and np.all(a > 0)
    np.testing.assert_allclose(a[:2] * w[:2], [1e-200, 1e200], rtol=1e-12)   # |a|·‖w‖ = τ²
