"""Deep finite-width networks from upstream and downstream initialisations (Kunin et al. 2024,
the deep-network experiments, §5 and App. D.3, Fig. 6: kernel distance, first-layer CNN
filters, sample complexity on hierarchical data, time to grokking).

The paper's deep-network code is not public. App. D.3's CNN set-ups (LeNet-5 on MNIST, a small
ResNet on CIFAR-10 with 15×15 first-layer kernels) need data that cannot be had offline, so the
CNNs here (``cnn``, ``lenet``, on scikit-learn's 8×8 digits) are **the book's reconstruction**;
the paper's own set-ups for the random hierarchy model (an MLP trained by SGD with momentum)
and for grokking (a one-layer transformer) are in :mod:`theory.rich_lazy.deep_rhm` and
:mod:`theory.rich_lazy.deep_transformer`. The ``mlp`` and ``hcnn`` models below are the book's
earlier stand-ins for those two, kept for their tests and benchmarks.

One knob sets the initialisation everywhere, **the paper's α** (Fig. 6 caption, App. D.3):
starting from a standard draw, the **first** layer is divided by ``alpha`` and the **readout**
multiplied by ``alpha`` (the networks here have no normalisation layers), so α ≫ 1 is
upstream and α ≪ 1 downstream. (Before issue 12 the book used the reciprocal, first layer × α:
the book's old α = 0.1 is the paper's and the present α = 10.)
The networks are bias-free ReLU networks, which are positively homogeneous in each layer, so the
initial function is *identical* for every ``alpha`` (same seed); only the balance between the
layers changes. In the two-layer case each hidden neuron i carries the imbalance of the paper's
piecewise-linear analysis (§5, Eqs. 9–10),

    δ_i = ‖a_i‖² − ‖w_i‖²        (η_a = η_w = 1),

with a_i its readout column and w_i its input weights: ``alpha > 1`` moves every δ_i up
(**upstream**: small first layer, large readout, the first layer learns relatively faster) and
``alpha < 1`` moves it down (**downstream**). :func:`mean_imbalance` measures it.

Everything is batched: G configurations (values of ``alpha`` × seeds, a
:class:`theory.core.Sweep`) are one tensor program whose weights carry a leading configuration
axis, trained by :func:`theory.core.train_batched` on per-configuration losses, so each model's
gradient and optimiser state are its own, and a configuration trains bit for bit the same alone
and inside a larger batch (``tests/test_rich_lazy_deep.py`` checks this).

Contents
--------
- data: :func:`modular_addition`, :func:`modular_batch`, :func:`random_hierarchy`,
  :func:`sample_hierarchy`, :func:`digits`;
- models (functional, batched weights): ``mlp`` (one hidden layer on one-hot pairs),
  ``cnn`` (two 3×3 convolutions on 8×8 images), ``lenet`` (a LeNet-like CNN with a k×k first
  layer on 8×8 images), ``hcnn`` (hierarchical CNN with patch = stride =
  s for the random hierarchy model); :func:`init_params`, :func:`forward`, :func:`layers`;
- training: :func:`train` (full-batch Adam/AdamW, or gradient descent with one step size per
  model; cross-entropy; per-model sample masks), returning a :class:`theory.core.Result`;
- metrics: :func:`kernel_distance`, :func:`filter_smoothness`, :func:`activation_change`, :func:`ntk_gram`, :func:`feature_gram`, :func:`accuracy`,
  :func:`mean_imbalance`, :func:`balanced_alpha`, :func:`initial_spread`,
  :func:`layer_movement`, :func:`kernel_movement`, :func:`ntk_step_size`;
- experiments: :func:`crossing_steps` (steps to a threshold, per configuration),
  :func:`rhm_sample_complexity` (test accuracy over training-set sizes, and P*),
  :func:`time_ratio` (ratios of crossing times when some runs never crossed),
  :func:`seed_table` (mean ± s.d. over seeds, for the printed summaries);
- the pages' set-ups and analyses: :data:`ALPHAS`, :data:`CONTROL_ALPHAS`, :func:`float32_device`,
  :func:`cnn_kernel_study` (a :class:`KernelStudy`), :func:`rhm_report`, :func:`rhm_table`,
  :func:`imbalance_report`, :func:`grokking_times` (a :class:`GrokkingTimes`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import torch

from theory.core import (DivergenceError, Result, Sweep, array_bytes, as_array, check_bool,
                         check_choice, check_memory, check_scalar, check_seed, check_seeds,
                         config_seed, first_crossing, progress as _progress, resolve_device,
                         resolve_dtype, torch_generator, train_batched)

__all__ = ["ALPHAS", "ARCHITECTURES", "CONTROL_ALPHAS", "GrokkingTimes", "Hierarchy", "LAPLACIAN",
           "activation_change", "filter_smoothness", "parameter_movement",
           "KernelStudy", "ModularData", "accuracy", "balanced_alpha", "cnn_kernel_study",
           "crossing_steps", "digits", "feature_gram", "float32_device", "forward",
           "grokking_times", "imbalance_report", "init_params", "initial_spread",
           "kernel_distance", "kernel_movement", "layer_movement", "layers", "mean_imbalance",
           "modular_addition", "modular_batch", "ntk_gram", "ntk_step_size", "random_hierarchy",
           "rhm_report", "rhm_sample_complexity", "rhm_table", "sample_hierarchy", "seed_table",
           "time_ratio", "train"]

ARCHITECTURES = ("mlp", "cnn", "lenet", "hcnn")

#: the salt of the initial-weight streams: configuration seed s draws from config_seed(_INIT_SALT, s)
_INIT_SALT = "rich_lazy.deep.init_params"


def _fraction(x, name: str) -> float:
    return check_scalar(x, name, min=0.0, max=1.0, include_min=False, include_max=False)


def _check_arch(arch) -> str:
    if not isinstance(arch, str) or arch not in ARCHITECTURES:
        raise ValueError(f"arch must be one of {ARCHITECTURES}, got {arch!r}")
    return arch


# ----------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModularData:
    """All p² pairs (a, b) with label (a + b) mod p, split into train and test index sets.

    ``pairs`` (p², 2) int64, ``labels`` (p²,), ``train``/``test`` index arrays into them.
    """

    p: int
    pairs: np.ndarray
    labels: np.ndarray
    train: np.ndarray
    test: np.ndarray


def modular_addition(p: int, train_fraction: float = 0.5, *, seed: int = 0) -> ModularData:
    """The modular-addition task of the grokking literature: learn (a, b) ↦ (a + b) mod p.

    A uniformly random ``train_fraction`` of the p² pairs (rounded down, at least one) is the
    training set, the rest the test set. The network sees the pair one-hot, x = e_a ⊕ e_b ∈ ℝ^{2p}.
    """
    p = check_scalar(p, "p", kind="int", min=2)
    frac = _fraction(train_fraction, "train_fraction")
    check_memory(array_bytes(p * p, 5), f"the {p}² pairs of modular addition mod {p}")
    rng = np.random.default_rng(check_seed(seed))
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    pairs = np.stack([a.ravel(), b.ravel()], axis=1).astype(np.int64)
    labels = (pairs[:, 0] + pairs[:, 1]) % p
    perm = rng.permutation(p * p)
    n_train = max(1, int(frac * p * p))
    if n_train >= p * p:
        raise ValueError(f"train_fraction = {frac} leaves no test pairs for p = {p}")
    return ModularData(p=p, pairs=pairs, labels=labels, train=np.sort(perm[:n_train]),
                       test=np.sort(perm[n_train:]))


def modular_batch(p: int, train_fraction: float, seeds, *, device=None) -> tuple[torch.Tensor, ...]:
    """The modular-addition splits of a batch of configurations, stacked: configuration g trains
    and tests on ``modular_addition(p, train_fraction, seed=seeds[g])``.

    ``seeds`` (G,) non-negative ints (e.g. ``sweep.column("seed")``): configurations with one seed
    share a split whatever their other settings. Returns ``(x_train, y_train, x_test, y_test)``
    as int64 tensors of shapes (G, N_train, 2), (G, N_train), (G, N_test, 2), (G, N_test).
    """
    seeds = _seed_array(seeds)
    device = resolve_device(device)
    splits = {s: modular_addition(p, train_fraction, seed=s) for s in dict.fromkeys(seeds.tolist())}
    parts = [[d.pairs[d.train], d.labels[d.train], d.pairs[d.test], d.labels[d.test]]
             for d in (splits[s] for s in seeds.tolist())]
    return tuple(torch.as_tensor(np.stack(col), device=device) for col in zip(*parts))


@dataclass(frozen=True)
class Hierarchy:
    """A random hierarchy model: ``rules[k]`` has shape (symbols at level L − k, m, s).

    Level L holds the ``n_classes`` labels, levels L − 1, …, 0 hold ``v`` symbols each; a symbol at
    level ℓ rewrites into one of its m s-tuples of level-(ℓ − 1) symbols, and no s-tuple serves two
    symbols of the same level. ``rules[0]`` rewrites the labels, ``rules[-1]`` produces the input.
    The input is a string of s^L level-0 symbols.
    """

    v: int
    n_classes: int
    m: int
    s: int
    L: int
    rules: tuple = field(repr=False)

    @property
    def input_length(self) -> int:
        return self.s ** self.L

    @property
    def n_inputs(self) -> int:
        """Number of distinct inputs, n_c · m^{(s^L − 1)/(s − 1)}: each of the s^ℓ symbols of
        level L − ℓ, ℓ = 0, …, L − 1, picks one of its m rules."""
        return self.n_classes * self.m ** ((self.s ** self.L - 1) // (self.s - 1))


def random_hierarchy(v: int, n_classes: int, m: int, s: int, L: int, *, seed: int = 0) -> Hierarchy:
    """Draw the production rules of the random hierarchy model (RHM).

    Definition (Cagnetta, Petrini, Tomasini, Favero, Wyart 2024, "How deep neural networks learn
    compositional data: the random hierarchy model", Phys. Rev. X 14, 031001): at every level
    the m·(number of symbols) right-hand sides are drawn uniformly *without replacement* from the
    v^s possible s-tuples, so the grammar is unambiguous; this needs m·v ≤ v^s and
    m·n_classes ≤ v^s.
    """
    v = check_scalar(v, "v", kind="int", min=2)
    n_classes = check_scalar(n_classes, "n_classes", kind="int", min=1)
    m = check_scalar(m, "m", kind="int", min=1)
    s = check_scalar(s, "s", kind="int", min=2)  # s = 1: patches of one symbol, no hierarchy
    L = check_scalar(L, "L", kind="int", min=1)
    if m * max(v, n_classes) > v ** s:
        raise ValueError(f"need m·max(v, n_classes) ≤ v^s for distinct rules, got m = {m}, v = {v}, "
                         f"n_classes = {n_classes}, s = {s}")
    check_memory(array_bytes(v ** s) + array_bytes(L, max(v, n_classes), m, s + 1),
                 f"the rules of a random hierarchy over the {v}^{s} s-tuples")
    rng = np.random.default_rng(check_seed(seed))
    rules = []
    for level in range(L):
        n_sym = n_classes if level == 0 else v
        codes = rng.choice(v ** s, size=n_sym * m, replace=False)      # distinct s-tuples
        digits_ = np.stack([(codes // v ** (s - 1 - j)) % v for j in range(s)], axis=-1)
        rules.append(digits_.reshape(n_sym, m, s).astype(np.int64))
    return Hierarchy(v=v, n_classes=n_classes, m=m, s=s, L=L, rules=tuple(rules))


def sample_hierarchy(rhm: Hierarchy, n: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` i.i.d. samples of the RHM: labels uniform, every rewrite uniform among its m rules.

    Returns ``(x, y)``: x (n, s^L) int64 symbols in [0, v), y (n,) labels in [0, n_classes).
    Samples are drawn with replacement from the n_inputs distinct strings.
    """
    if not isinstance(rhm, Hierarchy):
        raise TypeError(f"rhm must be a Hierarchy, got {type(rhm).__name__}")
    n = check_scalar(n, "n", kind="int", min=1)
    check_memory(3 * array_bytes(n, rhm.input_length), f"{n} samples of length {rhm.input_length}")
    rng = np.random.default_rng(check_seed(seed))
    y = rng.integers(rhm.n_classes, size=n)
    sym = y[:, None]
    for rule in rhm.rules:
        pick = rng.integers(rhm.m, size=sym.shape)
        sym = rule[sym, pick].reshape(n, -1)
    return sym, y


def digits(n_train: int = 1000, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8×8 digits (1797 images, 10 classes), scaled to [0, 1], shuffled
    with ``seed`` and split into ``n_train`` training and the rest test images.

    Returns ``(x_train, y_train, x_test, y_test)`` with x of shape (N, 1, 8, 8).
    """
    from sklearn.datasets import load_digits

    n_train = check_scalar(n_train, "n_train", kind="int", min=1)
    data = load_digits()
    if n_train >= len(data.target):
        raise ValueError(f"n_train must be below {len(data.target)}, got {n_train}")
    x = (data.images / 16.0).astype(np.float64)[:, None]
    perm = np.random.default_rng(check_seed(seed)).permutation(len(x))
    x, y = x[perm], data.target[perm].astype(np.int64)
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


# ----------------------------------------------------------------------------------------------
# Models: functional, weights with a leading configuration axis G
# ----------------------------------------------------------------------------------------------
def _seed_array(seeds, name: str = "seeds") -> np.ndarray:
    """``seeds`` as a 1-D int64 array of seeds (:func:`theory.core.check_seeds`)."""
    return check_seeds(seeds, name)


def _alpha_seed_batch(alpha, seeds) -> tuple[np.ndarray, np.ndarray]:
    """α (each > 0) and seeds broadcast against each other to one entry per configuration:
    ``(alpha (G,), seeds (G,))``, with errors that name the argument."""
    alpha = np.atleast_1d(as_array(alpha, "alpha", ndim=(0, 1), nonempty=True))
    if np.any(alpha <= 0):
        raise ValueError(f"alpha must be > 0, got {alpha}")
    seeds = _seed_array(seeds)
    try:
        G = np.broadcast_shapes(alpha.shape, seeds.shape)[0]
    except ValueError:
        raise ValueError(f"alpha {alpha.shape} and seeds {seeds.shape} do not broadcast") from None
    return np.broadcast_to(alpha, (G,)), np.broadcast_to(seeds, (G,))


def _alphas(alphas, name: str = "alphas") -> np.ndarray:
    """A non-empty 1-D array of balance parameters α > 0."""
    a = as_array(alphas, name, ndim=1, nonempty=True)
    if np.any(a <= 0):
        raise ValueError(f"{name} must be > 0, got {a}")
    return a


def _check_sizes(sizes) -> np.ndarray:
    """Training-set sizes: a strictly increasing 1-D array of positive ints."""
    if isinstance(sizes, (str, bytes)) or sizes is None:
        raise TypeError(f"sizes must be a 1-D list of positive ints, got {type(sizes).__name__}")
    sizes = np.atleast_1d(np.asarray(sizes))
    if (sizes.ndim != 1 or sizes.size == 0 or sizes.dtype == bool
            or not np.issubdtype(sizes.dtype, np.integer) or np.any(sizes < 1)):
        raise ValueError(f"sizes must be a 1-D list of positive ints, got {sizes!r}")
    if np.any(np.diff(sizes) <= 0):
        raise ValueError("sizes must be strictly increasing")
    return sizes


def _shapes(arch: str, dims: dict) -> list[tuple[int, ...]]:
    """Per-model weight shapes, first layer first, readout last."""
    if arch == "mlp":
        return [(dims["width"], dims["d_in"]), (dims["d_out"], dims["width"])]
    if arch == "cnn":
        c1, c2 = dims["channels"]
        return [(c1, 1, 3, 3), (c2, c1, 3, 3), (dims["d_out"], c2)]
    if arch == "lenet":
        (c1, c2), k = dims["channels"], dims["kernel"]
        return [(c1, 1, k, k), (c2, c1, 3, 3), (dims["hidden"], c2 * 4), (dims["d_out"], dims["hidden"])]
    s, L, v, h = dims["s"], dims["L"], dims["v"], dims["width"]
    return [(h, s * v)] + [(h, s * h)] * (L - 1) + [(dims["d_out"], h)]


def _check_dims(arch: str, dims: dict) -> dict:
    _check_arch(arch)
    if not isinstance(dims, dict):
        raise TypeError(f"dims must be a dict, got {type(dims).__name__}")
    need = {"mlp": ("d_in", "width", "d_out"), "cnn": ("channels", "d_out"),
            "lenet": ("channels", "kernel", "hidden", "d_out"),
            "hcnn": ("v", "s", "L", "width", "d_out")}[arch]
    missing = [k for k in need if k not in dims]
    extra = [k for k in dims if k not in need]
    if missing or extra:
        raise ValueError(f"arch {arch!r} needs dims {need}; missing {missing}, unexpected {extra}")
    out = {}
    for k in need:
        if k == "channels":
            ch = tuple(dims[k]) if isinstance(dims[k], (tuple, list)) else None
            if ch is None or len(ch) != 2:
                raise ValueError(f"channels must be a pair (c1, c2), got {dims[k]!r}")
            out[k] = (check_scalar(ch[0], "channels[0]", kind="int", min=1),
                      check_scalar(ch[1], "channels[1]", kind="int", min=1))
        else:
            out[k] = check_scalar(dims[k], k, kind="int", min=1)
    if arch == "lenet" and out["kernel"] % 2 == 0:
        raise ValueError(f"kernel must be odd (a centred 'same' convolution), got {out['kernel']}")
    return out


def init_params(arch: str, dims: dict, alpha, seeds, *, device=None,
                dtype: torch.dtype = torch.float32) -> list[torch.Tensor]:
    """Batched initial weights: model g draws a He-normal standard initialisation (std
    √(2/fan_in) for hidden layers, √(1/fan_in) for the readout) from its own stream,
    ``torch_generator(config_seed("rich_lazy.deep.init_params", seeds[g]))``, then its first
    layer is **divided** by ``alpha[g]`` and its readout **multiplied** by ``alpha[g]`` (the
    paper's α, Fig. 6 caption and App. D.3: α ≫ 1 upstream).

    The stream depends on the seed only, never on the batch: a configuration gets the same
    weights alone and inside any batch, and two models with the same seed compute the same
    function at initialisation whatever their ``alpha`` (bias-free ReLU networks are positively
    homogeneous layer by layer). ``alpha`` and ``seeds`` broadcast against each other to the
    batch size G. The draw is made in float64 on the CPU and then cast, so it is the same on
    every device. Returns a list of tensors of shapes (G, *shape) for the shapes of ``arch``
    (first layer first, readout last).

    dims: ``mlp``: d_in, width, d_out; ``cnn``: channels=(c1, c2), d_out; ``lenet``:
    channels=(c1, c2), kernel (odd), hidden, d_out;
    ``hcnn``: v, s, L, width, d_out.
    """
    dims = _check_dims(arch, dims)
    alpha, seeds = _alpha_seed_batch(alpha, seeds)
    G = alpha.shape[0]
    device = resolve_device(device)
    dtype = resolve_dtype(dtype)
    shapes = _shapes(arch, dims)
    check_memory(sum(array_bytes(G, *sh) for sh in shapes) + 2 * max(array_bytes(*sh) for sh in shapes),
                 f"the weights of {G} {arch} networks {dims}")
    out = [torch.empty((G, *sh), dtype=dtype, device=device) for sh in shapes]
    for g in range(G):
        gen = torch_generator(config_seed(_INIT_SALT, int(seeds[g])))
        for k, sh in enumerate(shapes):
            fan_in = int(np.prod(sh[1:]))
            std = np.sqrt((1.0 if k == len(shapes) - 1 else 2.0) / fan_in)
            w = torch.randn(sh, generator=gen, dtype=torch.float64) * std
            if k == 0:
                w = w / float(alpha[g])
            elif k == len(shapes) - 1:
                w = w * float(alpha[g])
            out[k][g] = w.to(dtype)
    return out


def _layer_names(n: int) -> list[str]:
    return [f"W{k + 1}" for k in range(n)]


def layers(params, *, device=None, dtype=None) -> list[torch.Tensor]:
    """The weights as a list of tensors (G, ...), first layer first, from a list of tensors, a
    dict ``{"W1": …, "W2": …}`` (the parameters of a :class:`theory.core.Result`) or a
    :class:`~theory.core.Result` itself; moved to ``device``/``dtype`` when they are given."""
    if isinstance(params, Result):
        params = params.params
    if isinstance(params, dict):
        names = _layer_names(len(params))
        if sorted(params) != sorted(names):
            raise ValueError(f"params must name its layers {names}, got {sorted(params)}")
        params = [params[n] for n in names]
    if not isinstance(params, (list, tuple)) or len(params) < 2:
        raise TypeError("params must be a list of at least two weight tensors (from init_params), "
                        "a dict of them or a Result")
    if device is not None:
        device = resolve_device(device)
    if dtype is not None:
        dtype = resolve_dtype(dtype)
    out = []
    for k, p in enumerate(params):
        if not isinstance(p, (torch.Tensor, np.ndarray)):
            raise TypeError(f"params[{k}] must be a tensor or an array, got {type(p).__name__}")
        t = torch.as_tensor(p)
        if not t.dtype.is_floating_point or t.dim() < 2:
            raise TypeError(f"params[{k}] must be a float weight array (G, ...), got {t.dtype} of "
                            f"shape {tuple(t.shape)}")
        if device is not None or dtype is not None:
            t = t.to(device=device if device is not None else t.device,
                     dtype=dtype if dtype is not None else t.dtype)
        out.append(t)
    if len({t.shape[0] for t in out}) != 1:
        raise ValueError("params must share their leading configuration axis")
    return out


def _lenet(W, x: torch.Tensor):
    """The ``lenet`` features (G, N, hidden) and its three ReLU layers' pre-activations, each
    flattened to (G, N, units)."""
    conv, pool = torch.nn.functional.conv2d, torch.nn.functional.avg_pool2d
    B = W[0].shape[0]
    c1, c2, k = W[0].shape[1], W[1].shape[1], W[0].shape[-1]
    N = x.shape[0] if x.dim() == 4 else x.shape[1]
    flat = lambda z: z.reshape(N, B, -1).transpose(0, 1)                        # noqa: E731
    h = x.repeat(1, B, 1, 1) if x.dim() == 4 else x.transpose(0, 1).flatten(1, 2)
    z1 = conv(h, W[0].reshape(B * c1, 1, k, k), padding=k // 2, groups=B)
    z2 = conv(pool(torch.relu(z1), 2), W[1].reshape(B * c2, c1, 3, 3), padding=1, groups=B)
    h = pool(torch.relu(z2), 2).reshape(N, B, c2 * 4).transpose(0, 1)           # (G, N, 4·c2)
    z3 = torch.einsum("bnk,bhk->bnh", h, W[2])
    return torch.relu(z3), [flat(z1), flat(z2), z3]


def activation_change(params0, params1, x) -> np.ndarray:
    """For the ``lenet`` networks, the fraction of (ReLU unit, probe input) pairs whose activation
    state (pre-activation > 0) differs between ``params0`` and ``params1``: the normalised Hamming
    distance between activation patterns of the paper's Fig. 5b and §5 reading of Fig. 6a
    ("movement linked to changes in activation patterns"), over all three ReLU layers. (G,)."""
    W0, W1 = layers(params0), layers(params1)
    if len(W0) != 4 or len(W1) != 4 or W0[0].dim() != 5:
        raise ValueError("activation_change needs two lenet networks (4 layers, conv first) as "
                         "params0 and params1")
    x = _inputs("lenet", x, W0)
    W1 = [w.to(x.device) for w in W1]
    with torch.no_grad():
        p0 = torch.cat([z > 0 for z in _lenet(W0, x)[1]], -1)
        p1 = torch.cat([z > 0 for z in _lenet(W1, x)[1]], -1)
    return (p0 != p1).double().mean((1, 2)).cpu().numpy()


def _features(arch: str, params, x: torch.Tensor) -> torch.Tensor:
    """Last hidden layer, (G, N, width), for inputs x shared by all models or batched (G, N, ...)."""
    W = params
    B = W[0].shape[0]
    if arch == "mlp":            # x: (N, 2) index pairs (a, b), or (G, N, 2)
        # W (e_a ⊕ e_b) = W[:, a] + W[:, p + b]: the one-hot product read as two column lookups
        # (the same sums, without the 2p-long dot products of zeros)
        p = W[0].shape[-1] // 2
        if x.min() < 0 or x.max() >= p:
            raise ValueError(f"x must hold residues in [0, {p}) for this network")
        cols = W[0].transpose(1, 2)                                       # (G, 2p, H)
        if x.dim() == 2:
            return torch.relu(cols[:, x[:, 0]] + cols[:, p + x[:, 1]])    # (G, N, H)
        idx = lambda j: x[..., j, None].expand(-1, -1, cols.shape[-1])    # noqa: E731
        return torch.relu(cols.gather(1, idx(0)) + cols.gather(1, p + idx(1)))
    if arch == "cnn":            # x: (N, 1, 8, 8) shared, grouped convolutions over the G models
        conv = torch.nn.functional.conv2d
        c1, c2 = W[0].shape[1], W[1].shape[1]
        h = x.repeat(1, B, 1, 1) if x.dim() == 4 else x.transpose(0, 1).flatten(1, 2)
        h = torch.relu(conv(h, W[0].reshape(B * c1, 1, 3, 3), padding=1, groups=B))
        h = torch.nn.functional.avg_pool2d(h, 2)                         # 8×8 → 4×4
        h = torch.relu(conv(h, W[1].reshape(B * c2, c1, 3, 3), padding=1, groups=B))
        return h.mean(dim=(2, 3)).reshape(-1, B, c2).transpose(0, 1)  # global average pooling
    if arch == "lenet":          # x: (N, 1, 8, 8) shared or (G, N, 1, 8, 8)
        return _lenet(W, x)[0]
    # hcnn: x (N, s^L) symbols shared, or (G, N, s^L); the first layer sees one-hot patches
    n_pos = x.shape[-1]
    # s from the second layer's fan-in (s·H) when there is one, else the input is one patch
    s = W[1].shape[-1] // W[1].shape[-2] if len(W) > 2 else n_pos
    v = W[0].shape[-1] // s
    onehot = torch.nn.functional.one_hot(x, v).to(W[0].dtype)          # (.., N, s^L, v)
    onehot = onehot.reshape(*x.shape[:-1], n_pos // s, s * v)           # patches (position, symbol)
    eq = "npk,bhk->bnph" if x.dim() == 2 else "bnpk,bhk->bnph"
    h = torch.relu(torch.einsum(eq, onehot, W[0]))                      # (G, N, s^{L−1}, H)
    for Wl in W[1:-1]:
        Bn, N, P, H = h.shape
        h = h.reshape(Bn, N, P // s, s * H)
        h = torch.relu(torch.einsum("bnpk,bhk->bnph", h, Wl))
    return h.squeeze(2)


def forward(arch: str, params, x: torch.Tensor) -> torch.Tensor:
    """Logits (G, N, d_out) of the G models on inputs x (shared, or batched with leading G).

    ``mlp``: f(x) = A relu(W x) on x = e_a ⊕ e_b given as index pairs (N, 2);
    ``cnn``: conv 3×3 (c1) → ReLU → 2×2 average pool → conv 3×3 (c2) → ReLU → global average
    pool → linear, on (N, 1, 8, 8) images (all maps positively homogeneous, no biases);
    ``lenet``: conv k×k (c1, 'same') → ReLU → 2×2 average pool → conv 3×3 (c2) → ReLU → 2×2
    average pool → linear (hidden) → ReLU → linear, on (N, 1, 8, 8) images (LeNet-5's pattern of
    two convolutions and two dense layers, scaled to 8×8 digits; no biases);
    ``hcnn``: L layers of a convolution with patch = stride = s and ReLU,
    then a linear readout, on (N, s^L) symbol strings (the input layer acts on one-hot symbols).
    The book's reconstruction (App. D.3 uses LeNet-5, a ResNet and an MLP).
    """
    _check_arch(arch)
    params = layers(params)
    return _forward(arch, params, _inputs(arch, x, params))


def _forward(arch: str, params, x: torch.Tensor) -> torch.Tensor:
    """:func:`forward` without the checks (the training loops' path; inputs checked once)."""
    phi = _features(arch, params, x)
    return torch.einsum("bnh,bch->bnc", phi, params[-1])


def _inputs(arch: str, x, params, name: str = "x") -> torch.Tensor:
    """Inputs of ``arch`` as a tensor on the weights' device, checked once: integer symbols or
    index pairs (``mlp``: (N, 2) or (G, N, 2) residues in [0, p); ``hcnn``: (N, s^L) or
    (G, N, s^L) symbols in [0, v)) or finite images (N, 1, 8, 8) or (G, N, 1, 8, 8) in the
    weights' dtype (``cnn``, ``lenet``)."""
    W0 = params[0]
    G = W0.shape[0]
    if isinstance(x, (str, bytes)) or x is None or isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be a tensor or array of inputs, got {type(x).__name__}")
    if arch in ("mlp", "hcnn"):
        t = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x)) \
            if np.issubdtype(np.asarray(x).dtype, np.number) else None
        if t is None or t.dtype == torch.bool or t.dtype.is_floating_point or t.is_complex():
            raise TypeError(f"{name} must hold integer symbols for the {arch} network, got "
                            f"{getattr(t, 'dtype', np.asarray(x).dtype)}")
        if t.dim() not in (2, 3) or (t.dim() == 3 and t.shape[0] != G) or t.shape[-2] == 0:
            raise ValueError(f"{name} must be (N, length) or (G = {G}, N, length) with N ≥ 1, got "
                             f"shape {tuple(t.shape)}")
        if arch == "mlp":
            p = W0.shape[-1] // 2
            if t.shape[-1] != 2 or t.min() < 0 or t.max() >= p:
                raise ValueError(f"{name} must hold index pairs (a, b) with residues in [0, {p}) "
                                 f"for this network, got shape {tuple(t.shape)}")
        else:
            s = params[1].shape[-1] // params[1].shape[-2] if len(params) > 2 else t.shape[-1]
            v = W0.shape[-1] // s
            if t.shape[-1] != s ** (len(params) - 1) or t.min() < 0 or t.max() >= v:
                raise ValueError(f"{name} must hold strings of {s ** (len(params) - 1)} symbols in "
                                 f"[0, {v}) for this network, got shape {tuple(t.shape)}")
        return t.to(W0.device).long()
    if isinstance(x, torch.Tensor):
        if x.dtype == torch.bool or x.is_complex():
            raise TypeError(f"{name} must hold real images, got {x.dtype}")
        t = x.to(device=W0.device, dtype=W0.dtype)
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"{name} must be finite (no NaN or inf)")
    else:
        t = torch.as_tensor(as_array(x, name), dtype=W0.dtype, device=W0.device)
    if t.dim() not in (4, 5) or tuple(t.shape[-3:]) != (1, 8, 8) or t.shape[-4] == 0 \
            or (t.dim() == 5 and t.shape[0] != G):
        raise ValueError(f"{name} must be images (N, 1, 8, 8) or (G = {G}, N, 1, 8, 8) with N ≥ 1, "
                         f"got shape {tuple(t.shape)}")
    return t


def _labels(y, name: str, n_classes: int, G: int, N: int, device) -> torch.Tensor:
    """Class labels (N,) or (G, N) as an int64 tensor, each in [0, n_classes)."""
    if isinstance(y, (str, bytes)) or y is None or isinstance(y, (bool, np.bool_)):
        raise TypeError(f"{name} must be a tensor or array of integer labels, got {type(y).__name__}")
    t = y if isinstance(y, torch.Tensor) else torch.as_tensor(np.asarray(y))
    if t.dtype == torch.bool or t.dtype.is_floating_point or t.is_complex():
        raise TypeError(f"{name} must hold integer class labels, got {t.dtype}")
    if t.shape not in ((N,), (G, N)):
        raise ValueError(f"{name} must have shape (N,) = ({N},) or (G, N) = ({G}, {N}), got "
                         f"{tuple(t.shape)}")
    if t.numel() and (t.min() < 0 or t.max() >= n_classes):
        raise ValueError(f"{name} must hold class labels in [0, {n_classes}), got "
                         f"[{int(t.min())}, {int(t.max())}]")
    return t.to(device).long()


# ----------------------------------------------------------------------------------------------
# Training
# ----------------------------------------------------------------------------------------------
def accuracy(logits: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Fraction of correct argmax predictions per model: logits (G, N, C), y (N,) or (G, N);
    ``mask`` (G, N) of non-negative weights (0/1: a subset per model), each row not all zero."""
    if isinstance(logits, torch.Tensor):
        if not logits.dtype.is_floating_point:
            raise TypeError(f"logits must be a float tensor, got {logits.dtype}")
        if not bool(torch.isfinite(logits).all()):
            raise ValueError("logits must be finite (no NaN or inf)")
    else:
        logits = torch.as_tensor(as_array(logits, "logits"))
    if logits.dim() != 3 or 0 in logits.shape:
        raise ValueError(f"logits must be (G, N, C), non-empty, got shape {tuple(logits.shape)}")
    G, N, C = logits.shape
    y = _labels(y, "y", C, G, N, logits.device)
    correct = (logits.argmax(-1) == y).to(logits.dtype)
    if mask is None:
        return correct.mean(-1)
    mask = _mask(mask, "mask", G, N, logits)
    return (correct * mask).sum(-1) / mask.sum(-1)


def _mask(mask, name: str, G: int, N: int, like: torch.Tensor) -> torch.Tensor:
    m = torch.as_tensor(as_array(mask.detach().cpu().numpy() if isinstance(mask, torch.Tensor)
                                 else mask, name), dtype=like.dtype, device=like.device)
    if m.shape != (G, N):
        raise ValueError(f"{name} must have shape (G, N) = {(G, N)}, got {tuple(m.shape)}")
    if torch.any(m < 0):
        raise ValueError(f"{name} must be >= 0 (0/1 weights)")
    if torch.any(m.sum(-1) == 0):
        raise ValueError(f"{name} leaves a model with no inputs (a row of zeros)")
    return m


def train(arch: str, params, x_train, y_train, x_test, y_test, *, steps: int, lr,
          weight_decay: float = 0.0, optimizer: str = "adam", train_mask=None, eval_every: int = 10,
          progress: bool = False, sweep: Sweep | None = None) -> Result:
    """Full-batch training of the G models at once with :func:`theory.core.train_batched`, each
    on its own mean cross-entropy, with ``optimizer``:

    - ``"adam"``: Adam (``weight_decay = 0``) or AdamW (decoupled weight decay, Loshchilov &
      Hutter 2019, in PyTorch's order: θ ← θ(1 − ηλ) − η·Adam step, the Adam step taken from the
      gradient at the undecayed θ);
    - ``"gd"``: plain gradient descent θ_g ← θ_g − η_g ∇L_g (no weight decay).

    ``lr`` is a number or one step size per model (G,), so that models of very different kernel
    scales can each take a stable step. ``train_mask`` (G, N_train) of 0/1 lets model g train on
    its own subset of the training inputs (the sample-complexity sweep batches several
    training-set sizes this way); inputs and labels may also be batched with a leading G axis.
    Every ``eval_every`` steps (and at 0 and ``steps``) the per-model ``train_loss``,
    ``train_accuracy`` (on its own mask) and ``test_accuracy`` are recorded: a
    :class:`theory.core.Result` with metrics (G, T) and final parameters ``{"W1": …, "WL": …}``
    (first layer first; :func:`layers` turns them back into tensors). ``sweep`` labels it.
    """
    _check_arch(arch)
    steps = check_scalar(steps, "steps", kind="int", min=1)
    check_choice(optimizer, "optimizer", ("adam", "gd"))
    progress = check_bool(progress, "progress")
    wd = check_scalar(weight_decay, "weight_decay", min=0.0)
    if optimizer == "gd" and wd > 0:
        raise ValueError("weight_decay is only available with optimizer='adam'")
    eval_every = check_scalar(eval_every, "eval_every", kind="int", min=1)
    if sweep is not None and not isinstance(sweep, Sweep):
        raise TypeError(f"sweep must be a theory.core.Sweep or None, got {type(sweep).__name__}")
    W0 = layers(params)
    G, dtype, device = W0[0].shape[0], W0[0].dtype, W0[0].device
    if sweep is not None and len(sweep) != G:
        raise ValueError(f"sweep must label the {G} models, got {len(sweep)} configurations")
    x_train, x_test = _inputs(arch, x_train, W0, "x_train"), _inputs(arch, x_test, W0, "x_test")
    C = W0[-1].shape[-2]
    y_train = _labels(y_train, "y_train", C, G, x_train.shape[-4 if arch in ("cnn", "lenet") else -2], device)
    y_test = _labels(y_test, "y_test", C, G, x_test.shape[-4 if arch in ("cnn", "lenet") else -2], device)
    lr_arr = np.atleast_1d(as_array(lr, "lr", ndim=(0, 1)))
    if np.any(lr_arr <= 0):
        raise ValueError(f"lr must be > 0, got {lr}")
    if lr_arr.shape not in ((1,), (G,)):
        raise ValueError(f"lr must be a number or have shape (G,) = ({G},), got shape {lr_arr.shape}")
    lr_arr = np.broadcast_to(lr_arr, (G,)).copy()
    n_train = y_train.shape[-1]
    if train_mask is None:
        mask = torch.ones((G, n_train), dtype=dtype, device=device)
    else:
        mask = _mask(train_mask, "train_mask", G, n_train, W0[0])
    count = mask.sum(-1)
    names = _layer_names(len(W0))
    y_rows = y_train if y_train.dim() == 2 else y_train.expand(G, -1)
    decay = torch.as_tensor(1.0 - lr_arr * wd, dtype=dtype, device=device)

    def per_model(W):
        logits = _forward(arch, W, x_train)
        ce = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                               y_rows.reshape(-1), reduction="none").reshape(G, -1)
        return (ce * mask).sum(-1) / count, logits

    def loss_fn(P, step):
        if wd == 0:
            return per_model([P[n] for n in names])[0]
        # AdamW: the loss (and so the gradient) at the undecayed θ, read through a copy; then
        # θ ← θ(1 − ηλ) in place, before the trainer's Adam step (PyTorch's AdamW order).
        loss = per_model([P[n].clone() for n in names])[0]
        with torch.no_grad():
            for n in names:
                P[n].mul_(decay.reshape(-1, *[1] * (P[n].dim() - 1)))
        return loss

    def metrics(P, step):
        W = [P[n] for n in names]
        loss, logits = per_model(W)
        if not bool(torch.isfinite(loss).all()):            # once per record, one reduction
            g = int(torch.nonzero(~torch.isfinite(loss))[0, 0])
            raise DivergenceError(f"training of the {arch} networks (train) diverged by step {step} "
                                  f"in model {g} (lr = {lr_arr[g]:g}): its loss is no longer finite "
                                  f"(NaN or inf); reduce the learning rate lr", step=step,
                                  what="train")
        return {"train_loss": loss, "train_accuracy": _accuracy(logits, y_train, mask),
                "test_accuracy": _accuracy(_forward(arch, W, x_test), y_test)}

    res = train_batched(dict(zip(names, W0)), steps=steps, lr=lr_arr, loss_fn=loss_fn,
                        optimizer="adam" if optimizer == "adam" else "sgd",
                        record=np.arange(0, steps + 1, eval_every), metrics=metrics,
                        progress=f"{arch}: {G} models" if progress else False)
    res.meta.update(arch=arch, optimizer=optimizer if wd == 0 else "adamw", weight_decay=wd)
    return res.with_sweep(sweep) if sweep is not None else res


def _accuracy(logits, y, mask=None):
    correct = (logits.argmax(-1) == y).to(logits.dtype)
    if mask is None:
        return correct.mean(-1)
    return (correct * mask).sum(-1) / mask.sum(-1)


# ----------------------------------------------------------------------------------------------
# Metrics
# ----------------------------------------------------------------------------------------------
def kernel_distance(K0, Kt, *, center: bool = False) -> np.ndarray:
    """Kernel distance S = 1 − ⟨K₀, K_t⟩_F / (‖K₀‖_F ‖K_t‖_F) (Fortuin et al. 2020; the
    paper's §2 defines it, uncentred, and Fig. 1b and Fig. 6a use it for the NTK), batched over
    leading axes: 0 when the kernel only rescales, up to 1 when it turns orthogonal.

    ``center=True`` first centres both Gram matrices, K ← HKH with H = I − 11ᵀ/N (the distance
    then equals one minus the centred kernel alignment; this is the book's choice, not the
    paper's). Kernels of non-negative features, such as pooled ReLU maps, share a large
    constant component that the uncentred distance is dominated by; centring removes it.
    """
    K0 = as_array(K0, "K0", min_ndim=2)
    Kt = as_array(Kt, "Kt", min_ndim=2)
    if K0.shape != Kt.shape or K0.shape[-1] != K0.shape[-2]:
        raise ValueError(f"K0 and Kt must be square Gram matrices of one shape, got {K0.shape}, {Kt.shape}")
    center = check_bool(center, "center")
    raw = np.linalg.norm(K0, axis=(-2, -1)), np.linalg.norm(Kt, axis=(-2, -1))
    if np.any(raw[0] == 0) or np.any(raw[1] == 0):
        raise ValueError("K0 or Kt is identically zero: the kernel distance is undefined")
    if center:
        n = K0.shape[-1]
        H = np.eye(n) - np.full((n, n), 1.0 / n)
        K0, Kt = H @ K0 @ H, H @ Kt @ H
        n0, nt = np.linalg.norm(K0, axis=(-2, -1)), np.linalg.norm(Kt, axis=(-2, -1))
        if np.any(n0 <= 1e-12 * raw[0]) or np.any(nt <= 1e-12 * raw[1]):
            raise ValueError("K0 or Kt is constant (zero after centring, to rounding): the centred "
                             "kernel distance is undefined")
    else:
        n0, nt = raw
    return 1.0 - np.sum(K0 * Kt, axis=(-2, -1)) / (n0 * nt)


#: the Laplacian kernel of App. D.3, Eq. 133
LAPLACIAN = np.array([[-0.25, -0.5, -0.25], [-0.5, 2.0, -0.5], [-0.25, -0.5, -0.25]])


def filter_smoothness(filters) -> np.ndarray:
    """The paper's filter measure (App. D.3, Eqs. 132–133), per filter:

        smoothness(w) = ‖ (w / ‖w‖₂) ∗ Δ ‖₂²,   Δ = [[−¼, −½, −¼], [−½, 2, −½], [−¼, −½, −¼]],

    the squared norm of the unit-normalised filter convolved with the Laplacian kernel (here the
    'valid' 2-D correlation; Δ is symmetric, so correlation and convolution agree; the paper does
    not state the boundary handling). Despite its name it is **large for rough filters** and
    small for smooth ones. Δ as printed in Eq. 133 sums to −1, not 0 (a discrete Laplacian would
    have centre 3), so a constant filter does not score 0; it is used as printed. ``filters`` (..., k, k), k ≥ 3; returns the leading shape (...)."""
    w = as_array(filters, "filters", min_ndim=2, nonempty=True)
    k = w.shape[-1]
    if w.shape[-2] != k or k < 3:
        raise ValueError(f"filters must be square and at least 3×3, got {w.shape[-2:]}")
    norm = np.linalg.norm(w.reshape(*w.shape[:-2], -1), axis=-1)
    if np.any(norm == 0):
        raise ValueError("a filter is identically zero: its normalised Laplacian is undefined")
    u = w / norm[..., None, None]
    out = sum(LAPLACIAN[i, j] * u[..., i:k - 2 + i, j:k - 2 + j] for i in range(3) for j in range(3))
    return np.sum(out ** 2, axis=(-2, -1))


def feature_gram(arch: str, params, x) -> np.ndarray:
    """Conjugate (last-hidden-layer) kernel K_φ(x, x') = φ(x)·φ(x') per model, (G, N, N).

    ``params``: a list of weight tensors, a dict of them or a :class:`~theory.core.Result`."""
    _check_arch(arch)
    W = layers(params)
    x = _inputs(arch, x, W)
    with torch.no_grad():
        phi = _features(arch, W, x)
        return (phi @ phi.transpose(1, 2)).cpu().numpy().astype(np.float64)


def ntk_gram(arch: str, params, x) -> np.ndarray:
    """Empirical neural tangent kernel, traced over the outputs, per model:

        Θ(x, x') = Σ_c Σ_θ ∂f_c(x)/∂θ · ∂f_c(x')/∂θ,   shape (G, N, N),

    all layers' weights θ included (the paper's §2 kernel, traced over outputs). Computed network
    by network from its full Jacobian (N·C rows): a single Jacobian of the whole batch would also
    hold the G² − G zero blocks between different networks, and is slower
    (``benchmarks/bench_rich_lazy_deep.py``). Keep the probe set x small.
    """
    from torch.func import jacrev

    _check_arch(arch)
    W = layers(params)
    x = _inputs(arch, x, W)
    out = []
    for b in range(W[0].shape[0]):
        pb = [p[b:b + 1].detach() for p in W]

        def f(*q):
            return _forward(arch, list(q), x)[0]                              # (N, C)

        jac = jacrev(f, argnums=tuple(range(len(pb))))(*pb)                  # (N, C, 1, *shape)
        J = torch.cat([j.flatten(2) for j in jac], dim=-1)                   # (N, C, P)
        out.append(torch.einsum("ncp,mcp->nm", J, J).cpu().numpy().astype(np.float64))
    return np.stack(out)


def mean_imbalance(params) -> np.ndarray:
    """For a two-layer network (first layer W (G, H, d), readout A (G, C, H)), the mean over
    hidden neurons of δ_i = ‖a_i‖² − ‖w_i‖² (η = 1), the per-neuron quantity that gradient flow
    conserves in bias-free two-layer ReLU networks (the paper's §5, Eqs. 9–10).
    Positive: upstream; negative: downstream. Shape (G,)."""
    W = layers(params)
    if len(W) != 2:
        raise ValueError(f"mean_imbalance needs a two-layer network, got {len(W)} layers")
    W, A = W
    with torch.no_grad():
        d = (A**2).sum(1) - (W.flatten(2) ** 2).sum(-1)                    # (G, H)
    return d.mean(-1).cpu().numpy().astype(np.float64)


def balanced_alpha(params, alpha) -> float:
    """The first-layer scale α₀ at which a two-layer network of :func:`init_params` is balanced
    on average, δ̄(α₀) = 0.

    With the standard draw's mean squared norms ā² = mean_i ‖a_i‖² and w̄² = mean_i ‖w_i‖² (over
    neurons and over all G models, each first brought back to α = 1: a ← a/α, w ← αw),
    δ̄(α) = α² ā² − α⁻² w̄², so α₀ = (w̄²/ā²)^{1/4} (the book's reconstruction).
    ``alpha``: (G,) the scale each model was drawn with.
    """
    W = layers(params)
    if len(W) != 2:
        raise ValueError(f"balanced_alpha needs a two-layer network, got {len(W)} layers")
    G = W[0].shape[0]
    alpha = _per_model(alpha, "alpha", G)
    a = torch.tensor(alpha, dtype=torch.float64, device=W[0].device)
    with torch.no_grad():
        a2 = ((W[1].double() / a[:, None, None]) ** 2).sum(1).mean()
        w2 = ((W[0].double() * a[:, None, None]) ** 2).flatten(2).sum(-1).mean()
    return float((w2 / a2) ** 0.25)


def _per_model(v, name: str, G: int) -> np.ndarray:
    """A positive number or one per model, (G,)."""
    v = np.atleast_1d(as_array(v, name, ndim=(0, 1)))
    if v.shape not in ((1,), (G,)):
        raise ValueError(f"{name} must be a number or have shape (G,) = ({G},), got shape {v.shape}")
    if np.any(v <= 0):
        raise ValueError(f"{name} must be > 0, got {v}")
    return np.broadcast_to(v, (G,))


def initial_spread(arch: str, params, x, alpha, seeds, *, reference: float = 1.0) -> float:
    """How far the initial function depends on α: max over configurations of
    |f_g(x) − f_ref(x)|, divided by max |f_ref(x)|, where f_ref is the model with the same seed
    at α = ``reference``. Zero up to rounding for the bias-free ReLU networks of
    :func:`init_params` (positive homogeneity); ``x`` is shared or batched (G, N, ...).
    """
    _check_arch(arch)
    W = layers(params)
    G = W[0].shape[0]
    alpha = _per_model(alpha, "alpha", G)
    seeds = _seed_array(seeds)
    if seeds.shape not in ((1,), (G,)):
        raise ValueError(f"seeds must be one seed or one per model (G = {G}), got {seeds.size}")
    seeds = np.broadcast_to(seeds, (G,))
    reference = check_scalar(reference, "reference", min=0.0, include_min=False)
    with torch.no_grad():
        f = _forward(arch, W, _inputs(arch, x, W))
    ref = {}
    for g in range(G):
        if alpha[g] == reference:
            ref.setdefault(int(seeds[g]), g)
    if set(ref) != set(int(s) for s in seeds):
        raise ValueError(f"every seed needs a configuration at alpha = reference = {reference}")
    idx = torch.as_tensor([ref[int(s)] for s in seeds], device=f.device)
    ref_idx = torch.as_tensor(sorted(ref.values()), device=f.device)
    return float((f - f[idx]).abs().max() / f[ref_idx].abs().max())


def parameter_movement(params0, params1) -> np.ndarray:
    """‖θ(T) − θ(0)‖ / ‖θ(0)‖ per model, (G,), over all layers' weights together (the parameter
    distance of the paper's Fig. 5b, relative to the initial norm)."""
    W0, W1 = layers(params0), layers(params1)
    if len(W0) != len(W1) or any(a.shape != b.shape for a, b in zip(W0, W1)):
        raise ValueError("params0 and params1 must have the same layers and shapes")
    d = sum(((b.detach().cpu().double() - a.detach().cpu().double()) ** 2).flatten(1).sum(1)
            for a, b in zip(W0, W1))
    n = sum((a.detach().cpu().double() ** 2).flatten(1).sum(1) for a in W0)
    return torch.sqrt(d / n).numpy()


def layer_movement(params0, params1, layer: int = 0) -> np.ndarray:
    """‖W_ℓ(T) − W_ℓ(0)‖_F / ‖W_ℓ(0)‖_F per model, (G,), for layer ``layer`` (0: the first)."""
    W0, W1 = layers(params0), layers(params1)
    if len(W0) != len(W1):
        raise ValueError(f"params0 has {len(W0)} layers but params1 has {len(W1)}")
    layer = check_scalar(layer, "layer", kind="int", min=-len(W0), max=len(W0) - 1)
    a = W0[layer].detach().cpu().double().flatten(1)
    b = W1[layer].detach().cpu().double().flatten(1)
    if a.shape != b.shape:
        raise ValueError(f"layer {layer} has shape {tuple(a.shape)} in params0, {tuple(b.shape)} in params1")
    return (torch.linalg.norm(b - a, dim=1) / torch.linalg.norm(a, dim=1)).numpy()


def kernel_movement(arch: str, params0, params1, x) -> dict[str, np.ndarray]:
    """How far training moved each model's kernels on the probe inputs ``x``, per model (G,):

    - ``ntk``: the paper's (§2, App. D.1) uncentred :func:`kernel_distance` between the NTKs
      (:func:`ntk_gram`) at 0 and T;
    - ``ntk_centred``: the same between the centred Gram matrices HKH (the book's variant);
    - ``feature``: uncentred distance between the feature kernels (:func:`feature_gram`);
    - ``first_layer``: :func:`layer_movement` of the first layer.
    """
    K0, K1 = ntk_gram(arch, params0, x), ntk_gram(arch, params1, x)
    return {"ntk": kernel_distance(K0, K1),
            "ntk_centred": kernel_distance(K0, K1, center=True),
            "feature": kernel_distance(feature_gram(arch, params0, x), feature_gram(arch, params1, x)),
            "first_layer": layer_movement(params0, params1, 0)}


def ntk_step_size(ntk, factor: float = 4.0) -> np.ndarray:
    """One gradient-descent step size per model, η = factor / λ̂ with λ̂ = λ_max(Θ)/N the largest
    eigenvalue of its NTK on the N probe inputs divided by N (the scale of the Hessian of a mean
    loss in the kernel regime; the book's choice). ``ntk`` (G, N, N); returns (G,)."""
    K = as_array(ntk, "ntk", ndim=3, nonempty=True)
    if K.shape[1] != K.shape[2]:
        raise ValueError(f"ntk must be (G, N, N), got shape {K.shape}")
    factor = check_scalar(factor, "factor", min=0.0, include_min=False)
    lam = np.linalg.eigvalsh(K)[:, -1] / K.shape[1]
    if np.any(lam <= 0):
        raise ValueError("ntk has a model whose kernel is zero: no step size")
    return factor / lam


# ----------------------------------------------------------------------------------------------
# Experiments
# ----------------------------------------------------------------------------------------------
def crossing_steps(result: Result, metric: str, threshold: float, *, sweep: Sweep | None = None) -> np.ndarray:
    """The first recorded step at which ``result[metric]`` reaches ``threshold`` (≥), per
    configuration (:func:`theory.core.first_crossing`), NaN where it never does; reshaped to
    the sweep's shape when the result carries a sweep (or ``sweep`` is given)."""
    if not isinstance(result, Result):
        raise TypeError(f"result must be a theory.core.Result, got {type(result).__name__}")
    if not isinstance(metric, str):
        raise TypeError(f"metric must be a str (a metric's name), got {type(metric).__name__}")
    if metric not in result.metrics:
        raise ValueError(f"metric must be one of the recorded {sorted(result.metrics)}, got {metric!r}")
    if sweep is not None and (not isinstance(sweep, Sweep) or len(sweep) != result.n_configs):
        raise ValueError(f"sweep must be a Sweep of the {result.n_configs} configurations, got {sweep!r}")
    t = first_crossing(result[metric], result.steps, threshold, direction="above")
    sweep = sweep if sweep is not None else result.sweep
    return sweep.unflatten(t) if sweep is not None else t


def seed_table(columns: dict, index, *, index_name: str = "α"):
    """A printable summary over seeds: ``columns`` maps a column name to an array
    (n_index, n_seed) (NaN ignored: a run that never crossed), one row per value of ``index``;
    each cell reads "mean ± s.d." (3 significant digits). Returns a ``pandas.DataFrame``."""
    import pandas as pd

    if not isinstance(index_name, str):
        raise TypeError(f"index_name must be a str, got {type(index_name).__name__}")
    if index is None or isinstance(index, (str, bytes)):
        raise TypeError(f"index must be a 1-D array of row labels, got {type(index).__name__}")
    index = np.asarray(index)
    if index.ndim != 1 or index.size == 0:
        raise ValueError(f"index must be 1-D and non-empty, got shape {index.shape}")
    if not isinstance(columns, dict) or not columns:
        raise TypeError("columns must be a non-empty dict name → array (n_index, n_seed)")
    out = {}
    for name, arr in columns.items():
        a = np.asarray(arr, dtype=float)
        if a.ndim != 2 or a.shape[0] != len(index):
            raise ValueError(f"columns[{name!r}] must have shape ({len(index)}, n_seed), got {a.shape}")
        if np.any(np.isinf(a)):
            raise ValueError(f"columns[{name!r}] must not be infinite")
        with warnings.catch_warnings():                       # an all-NaN row reads "nan ± nan"
            warnings.simplefilter("ignore", RuntimeWarning)
            m, sd = np.nanmean(a, 1), np.nanstd(a, 1)
        out[name] = [f"{mi:.3g} ± {si:.2g}" for mi, si in zip(m, sd)]
    return pd.DataFrame(out, index=pd.Index([f"{v:g}" if isinstance(v, (float, np.floating)) else v
                                             for v in index.tolist()], name=index_name))


def time_ratio(t_num, t_den, budget, *, bound: str = "upper", reduce: str = "max") -> float:
    """A bound on the ratio of times to a threshold, t_num / t_den, when some runs never crossed
    within the step ``budget`` (NaN in :func:`crossing_steps`): their time is only known to
    exceed the budget.

    ``bound="upper"``: a never-crossed numerator counts as +∞, a never-crossed denominator as the
    budget, so the result is at least the true ratio (a claim "ratio ≤ x" tested on it is
    conservative); ``bound="lower"``: the reverse (for "ratio ≥ x"). ``reduce``: ``"max"`` or
    ``"min"`` of the elementwise ratios (paired runs: same seed), or ``"mean"``, the ratio of the
    means. ``t_num`` and ``t_den`` broadcast against each other. The book's analysis.
    """
    budget = check_scalar(budget, "budget", min=0.0, include_min=False)
    if bound not in ("upper", "lower"):
        raise ValueError(f"bound must be 'upper' or 'lower', got {bound!r}")
    if reduce not in ("max", "min", "mean"):
        raise ValueError(f"reduce must be 'max', 'min' or 'mean', got {reduce!r}")
    num, den = _times(t_num, "t_num"), _times(t_den, "t_den")
    try:
        np.broadcast_shapes(num.shape, den.shape)
    except ValueError:
        raise ValueError(f"t_num {num.shape} and t_den {den.shape} do not broadcast") from None
    for name, t in (("t_num", num), ("t_den", den)):
        if np.any(np.isinf(t)) or np.any(t[np.isfinite(t)] <= 0) or np.any(t[np.isfinite(t)] > budget):
            raise ValueError(f"{name} must hold crossing steps in (0, budget] or NaN (never crossed)")
    hi, lo = (np.inf, budget) if bound == "upper" else (budget, np.inf)
    num, den = np.where(np.isnan(num), hi, num), np.where(np.isnan(den), lo, den)
    if reduce == "mean":
        return float(np.mean(num) / np.mean(den))
    r = np.broadcast_arrays(num, den)
    with np.errstate(invalid="ignore"):
        ratio = r[0] / r[1]
    return float(np.max(ratio) if reduce == "max" else np.min(ratio))


def _times(t, name: str) -> np.ndarray:
    """Crossing times: a non-empty real array, NaN allowed (never crossed)."""
    if t is None or isinstance(t, (str, bytes, bool, np.bool_)):
        raise TypeError(f"{name} must be an array of crossing steps, got {type(t).__name__}")
    arr = np.asarray(t)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise TypeError(f"{name} must hold real crossing steps (NaN: never), got dtype {arr.dtype}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    return arr.astype(float)


def rhm_sample_complexity(v: int, n_classes: int, m: int, s: int, L: int, *, sizes, alphas, seeds,
                          width: int, steps: int, lr: float, n_test: int, threshold: float = 0.5,
                          device=None, dtype: torch.dtype = torch.float32, progress: bool = True):
    """Test accuracy of the hierarchical CNN on the random hierarchy model over training-set
    sizes P, and the sample complexity P* (the book's reconstruction of App. D.3's
    hierarchical-data panel, Fig. 6c).

    For each seed s: grammar ``random_hierarchy(..., seed=s)``, ``n_test`` test samples
    (seed 10 000 + s) and, for each P, P training samples (seed 20 000 + s). For each P the
    configurations ``Sweep(alpha=alphas, seed=seeds)`` train together with full-batch Adam
    (``lr``, ``steps``) from :func:`init_params` (a new draw for each P, the same for every P).
    P* is where the test accuracy first reaches ``threshold``, interpolated linearly in log P
    between the measured sizes (NaN if it never does).

    Returns an ``xarray.Dataset`` over (alpha, seed, P): ``test_accuracy`` and
    ``train_accuracy`` (after training), and ``p_star`` over (alpha, seed).
    """
    sizes = _check_sizes(sizes)
    threshold = check_scalar(threshold, "threshold", min=0.0, max=1.0)
    n_test = check_scalar(n_test, "n_test", kind="int", min=1)
    width = check_scalar(width, "width", kind="int", min=1)
    steps = check_scalar(steps, "steps", kind="int", min=1)
    lr = check_scalar(lr, "lr", min=0.0, include_min=False)
    progress = check_bool(progress, "progress")
    dtype = resolve_dtype(dtype)
    sweep = Sweep(alpha=_alphas(alphas).tolist(), seed=_seed_array(seeds).tolist())
    A, S = sweep.column("alpha"), sweep.column("seed")
    device = resolve_device(device)
    seed_list = list(sweep.axes["seed"])
    grammars = {q: random_hierarchy(v, n_classes, m, s, L, seed=q) for q in seed_list}
    tests = {q: sample_hierarchy(grammars[q], n_test, seed=10_000 + q) for q in seed_list}

    def stack(sets, j):
        return torch.as_tensor(np.stack([sets[int(q)][j] for q in S]), device=device)

    dims = dict(v=v, s=s, L=L, width=width, d_out=n_classes)
    test_acc, train_acc = [], []
    for P in _progress(sizes.tolist(), desc=f"RHM: {len(sizes)} sizes × {len(sweep)} networks",
                       enable=progress):
        trains = {q: sample_hierarchy(grammars[q], int(P), seed=20_000 + q) for q in seed_list}
        prm = init_params("hcnn", dims, A, S, device=device, dtype=dtype)
        res = train("hcnn", prm, stack(trains, 0), stack(trains, 1), stack(tests, 0), stack(tests, 1),
                    steps=steps, lr=lr, eval_every=steps)
        test_acc.append(res.final("test_accuracy"))
        train_acc.append(res.final("train_accuracy"))
    test_acc, train_acc = np.stack(test_acc, 1), np.stack(train_acc, 1)        # (G, n_P)
    p_star = first_crossing(test_acc, sizes, threshold, direction="above", interpolate="log")
    ds = sweep.to_dataset({"test_accuracy": test_acc, "train_accuracy": train_acc, "p_star": p_star},
                          dims={"test_accuracy": ("P",), "train_accuracy": ("P",), "p_star": ()},
                          coords={"P": sizes})
    ds.attrs.update(v=v, n_classes=n_classes, m=m, s=s, L=L, width=width, steps=steps, lr=lr,
                    n_test=n_test, threshold=threshold)
    return ds


# ----------------------------------------------------------------------------------------------
# The pages' set-ups and analyses (deep_cnn_hierarchy, deep_grokking)
# ----------------------------------------------------------------------------------------------
#: The five balance parameters α of the deep pages (the paper's α: first layer ÷ α, readout × α),
#: downstream (0.1) to upstream (10).
ALPHAS = (0.1, 0.3, 1.0, 3.0, 10.0)
#: The three values of the control runs (gradient descent on the CNN): the most downstream, the
#: standard and the most upstream start.
CONTROL_ALPHAS = (0.1, 1.0, 10.0)


def float32_device(device=None) -> torch.device:
    """``resolve_device(device)`` (None: the default device, cuda when a GPU is visible), with
    TF32 turned off for CUDA matrix products and cuDNN convolutions, so that the pages' float32
    runs are full float32 on GPUs too. The two switches are global (``torch.backends``)."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    return resolve_device(device)


def _check_sweep(sweep) -> Sweep:
    if not isinstance(sweep, Sweep):
        raise TypeError(f"sweep must be a theory.core.Sweep, got {type(sweep).__name__}")
    if set(sweep.dims) != {"alpha", "seed"}:
        raise ValueError(f"sweep must have the axes alpha and seed, got {sweep.dims}")
    return sweep


@dataclass(frozen=True)
class KernelStudy:
    """What :func:`cnn_kernel_study` measured. Per-configuration arrays have the sweep's shape
    (n_α, n_seed) (``sweep.dims == ("alpha", "seed")``, α slowest):

    - ``ntk`` (the paper's uncentred S), ``ntk_centred``, ``feature``, ``first_layer``:
      :func:`kernel_movement`;
    - ``smoothness``: the seed's mean over first-layer filters of :func:`filter_smoothness`
      after training (Eq. 132; large = rough), ``smoothness0`` the same at initialisation;
    - ``lam_hat``: λ̂ = λ_max(Θ₀)/N of :func:`ntk_step_size` (gradient descent), else None;
    - ``activation``, ``parameters`` (``lenet`` only, else None): :func:`activation_change` on
      the probe and :func:`parameter_movement`;
    - ``initial_spread``: :func:`initial_spread` of the initial networks against α = 1;
    - ``result``: the training :class:`~theory.core.Result`; ``params0``/``params``: the initial
      and trained weights (lists of tensors (G, ...), first layer first).
    """

    sweep: Sweep
    result: Result = field(repr=False)
    params0: list = field(repr=False)
    params: list = field(repr=False)
    initial_spread: float
    ntk: np.ndarray
    ntk_centred: np.ndarray
    feature: np.ndarray
    first_layer: np.ndarray
    smoothness: np.ndarray
    smoothness0: np.ndarray
    lam_hat: np.ndarray | None = None
    activation: np.ndarray | None = None
    parameters: np.ndarray | None = None

    @property
    def alphas(self) -> np.ndarray:
        return np.array(self.sweep.axes["alpha"])

    def table(self):
        """Mean ± s.d. over seeds per α (:func:`seed_table`): under Adam the final train and test
        accuracy, the (uncentred) NTK distance, its centred variant, the feature-kernel distance,
        the first layer's relative movement and its filters' Eq. 132 measure; under gradient
        descent λ̂, the final training loss, the NTK distance and the first layer's movement."""
        final = {k: self.sweep.unflatten(self.result.final(k))
                 for k in ("train_accuracy", "test_accuracy", "train_loss")}
        if self.lam_hat is None:
            cols = {"train acc.": final["train_accuracy"], "test acc.": final["test_accuracy"],
                    "NTK S": self.ntk, "centred": self.ntk_centred, "feature S": self.feature,
                    "‖ΔW₁‖/‖W₁(0)‖": self.first_layer, "Eq. 132": self.smoothness}
            if self.activation is not None:
                cols |= {"patterns changed": self.activation, "‖Δθ‖/‖θ(0)‖": self.parameters}
        else:
            cols = {"λ̂": self.lam_hat, "train loss": final["train_loss"], "NTK S": self.ntk,
                    "‖ΔW₁‖/‖W₁(0)‖": self.first_layer}
        return seed_table(cols, self.alphas)

    def filters(self, alpha: float, seed: int = 0) -> dict:
        """The first-layer filters of the network (``alpha``, ``seed``) at initialisation and after
        training, ``{"α = …, init": (c, 1, k, k), "α = …, trained": …}`` as numpy arrays (the rows
        of :func:`theory.rich_lazy.deep_plots.cnn_filters_figure`)."""
        A, S = self.sweep.column("alpha"), self.sweep.column("seed")
        hit = np.flatnonzero((A == alpha) & (S == seed))
        if hit.size == 0:
            raise ValueError(f"no configuration alpha = {alpha!r}, seed = {seed!r} in the sweep")
        g = int(hit[0])
        return {f"α = {alpha:g}, init": self.params0[0][g].cpu().numpy(),
                f"α = {alpha:g}, trained": self.params[0][g].cpu().numpy()}


def cnn_kernel_study(sweep: Sweep, data, probe, *, steps: int, lr=None, ntk_factor=None,
                     optimizer: str = "adam", arch: str = "cnn", dims=None, device=None,
                     dtype: torch.dtype = torch.float32, progress: bool = False) -> KernelStudy:
    """The digits-CNN experiment of the deep page (the book's reconstruction of App. D.3's
    kernel-distance and filter panels, Fig. 6a–b): the CNNs ``Sweep(alpha=…, seed=…)`` from
    :func:`init_params` (``arch``, ``dims``; default the ``cnn`` with channels (8, 16); 10
    classes), checked for the α-invariance of their initial
    function (:func:`initial_spread` against α = 1, which the sweep must hold), trained
    full-batch (:func:`train`, recorded at 0 and ``steps``), and their kernels' movement on the
    ``probe`` images measured (:func:`kernel_movement`).

    ``data``: ``(x_train, y_train, x_test, y_test)`` as from :func:`digits` (arrays or tensors;
    images are cast to ``dtype`` on ``device``). The step size is ``lr`` (a number, or (G,)), or,
    with ``ntk_factor`` (gradient descent only), one per network, η_g = ntk_factor / λ̂_g
    (:func:`ntk_step_size` of the initial NTK on the probe). Returns a :class:`KernelStudy`.
    """
    sweep = _check_sweep(sweep)
    progress = check_bool(progress, "progress")
    steps = check_scalar(steps, "steps", kind="int", min=1)
    check_choice(optimizer, "optimizer", ("adam", "gd"))
    dtype = resolve_dtype(dtype)
    if (lr is None) == (ntk_factor is None):
        raise ValueError("give exactly one of lr and ntk_factor")
    if ntk_factor is not None and optimizer != "gd":
        raise ValueError("ntk_factor sets gradient-descent steps: it needs optimizer='gd'")
    if not isinstance(data, (tuple, list)) or len(data) != 4:
        raise TypeError("data must be a tuple (x_train, y_train, x_test, y_test)")
    device = resolve_device(device)
    check_choice(arch, "arch", ("cnn", "lenet"))
    xtr, xte = data[0], data[2]
    ytr, yte = data[1], data[3]
    A, S = sweep.column("alpha"), sweep.column("seed")
    dims = dict(channels=(8, 16), d_out=10) if dims is None else dims
    params0 = init_params(arch, dims, A, S, device=device, dtype=dtype)
    probe = _inputs(arch, probe, params0, "probe")
    spread = initial_spread(arch, params0, probe, A, S)
    lam_hat = None
    if ntk_factor is not None:
        ntk_factor = check_scalar(ntk_factor, "ntk_factor", min=0.0, include_min=False)
        lr = ntk_step_size(ntk_gram(arch, params0, probe), ntk_factor)
        lam_hat = sweep.unflatten(ntk_factor / lr)
    res = train(arch, params0, xtr, ytr, xte, yte, steps=steps, lr=lr, optimizer=optimizer,
                eval_every=steps, progress=progress, sweep=sweep)
    params = layers(res, device=device)
    km = {k: sweep.unflatten(v) for k, v in kernel_movement(arch, params0, params, probe).items()}
    smooth = [sweep.unflatten(filter_smoothness(p[0].detach().cpu().double().numpy()[:, :, 0]).mean(1))
              for p in (params, params0)]
    return KernelStudy(sweep=sweep, result=res, params0=params0, params=params, initial_spread=spread,
                       ntk=km["ntk"], ntk_centred=km["ntk_centred"], feature=km["feature"],
                       first_layer=km["first_layer"], smoothness=smooth[0], smoothness0=smooth[1],
                       lam_hat=lam_hat,
                       activation=sweep.unflatten(activation_change(params0, params, probe))
                       if arch == "lenet" else None,
                       parameters=sweep.unflatten(parameter_movement(params0, params))
                       if arch == "lenet" else None)


def _check_rhm_dataset(ds, need=("test_accuracy", "train_accuracy", "p_star")):
    """``ds`` if it is the Dataset of :func:`rhm_sample_complexity`, else a TypeError naming it."""
    if not (hasattr(ds, "attrs") and hasattr(ds, "data_vars")
            and all(k in ds.data_vars for k in need)
            and all(k in ds.attrs for k in ("v", "n_classes", "m", "s", "L", "threshold"))):
        raise TypeError(f"ds must be the xarray.Dataset of rhm_sample_complexity (variables {need}), "
                        f"got {type(ds).__name__}")
    return ds


def rhm_report(ds) -> str:
    """The printed summary of :func:`rhm_sample_complexity`'s Dataset: the grammar of the first
    seed with its input length, number of distinct inputs and n_c m^L; the number of networks
    below 99 % train accuracy at each P; P* per seed (rows α, columns seed)."""
    a = _check_rhm_dataset(ds).attrs
    g = random_hierarchy(a["v"], a["n_classes"], a["m"], a["s"], a["L"], seed=int(ds["seed"].values[0]))
    return "\n".join([
        f"{g} input length {g.input_length}, {g.n_inputs:,} distinct inputs, "
        f"n_c m^L = {a['n_classes'] * a['m'] ** a['L']}",
        f"networks below 99 % train accuracy at each P: {(ds['train_accuracy'].values < 0.99).sum((0, 1))}",
        f"P* per seed: {np.array2string(ds['p_star'].values, precision=0)} ; test accuracy at each P "
        "and P*, mean ± s.d.:"])


def rhm_table(ds):
    """Mean ± s.d. over seeds per α (:func:`seed_table`) of the test accuracy at each training-set
    size P and of P*, from :func:`rhm_sample_complexity`'s Dataset."""
    acc = _check_rhm_dataset(ds)["test_accuracy"].values
    cols = {f"P = {P}": acc[..., k] for k, P in enumerate(ds["P"].values)}
    return seed_table(cols | {"P*": ds["p_star"].values}, ds["alpha"].values)


def imbalance_report(alphas, delta_bar) -> str:
    """One line per α: the mean imbalance δ̄ (:func:`mean_imbalance`) and the side of balance it
    puts the start on (δ̄ > 0: upstream)."""
    alphas = as_array(alphas, "alphas", ndim=1)
    delta_bar = as_array(delta_bar, "delta_bar", ndim=1)
    if delta_bar.shape != alphas.shape:
        raise ValueError(f"delta_bar must have shape {alphas.shape}, got {delta_bar.shape}")
    side = ["upstream" if d > 0 else "downstream" for d in delta_bar]
    return "\n".join(f"  α = {a:5.1f}:  mean imbalance δ̄ = {d:+8.3f}  ({w})"
                     for a, d, w in zip(alphas, delta_bar, side))


@dataclass(frozen=True)
class GrokkingTimes:
    """Steps to the thresholds of the grokking page, per configuration (n_α, n_seed), NaN where a
    run never got there within ``budget`` steps (:func:`crossing_steps`): ``memorise`` (train
    accuracy ≥ ``memorised``), ``generalise`` (test accuracy ≥ ``threshold``) and ``onset``
    (test accuracy ≥ ``onset_level``); ``alphas`` (n_α,) ascending."""

    alphas: np.ndarray
    memorise: np.ndarray
    generalise: np.ndarray
    onset: np.ndarray
    threshold: float
    budget: float
    memorised: float = 0.99
    onset_level: float = 0.5

    def table(self):
        """Mean ± s.d. over seeds per α of the three times (:func:`seed_table`; NaN ignored)."""
        return seed_table({f"memorised (train ≥ {100 * self.memorised:g} %)": self.memorise,
                           f"generalised (test ≥ {self.threshold:.0%})": self.generalise,
                           f"test ≥ {100 * self.onset_level:g} %": self.onset}, self.alphas)

    @property
    def ratios(self) -> dict:
        """Conservative bounds (:func:`time_ratio`, budget ``budget``) on the ratios of times, the
        most upstream α (the last, largest) over the most downstream (the first) or the standard
        α = 1:

        - ``"mean"``, ``"seed"``: steps to ``threshold``, ratio of the means, largest per-seed
          ratio (upper bounds); ``"onset"``: the same for ``onset``, ratio of the means;
        - ``"standard"``, ``"standard_seed"``: steps to ``threshold`` against α = 1 (upper);
        - ``"gap"``: the smallest ratio generalise / memorise over all runs (a lower bound).
        """
        std = np.flatnonzero(self.alphas == 1.0)
        if std.size == 0:
            raise ValueError("the ratios need the standard alpha = 1 among the alphas")
        up, down, std, B = len(self.alphas) - 1, 0, int(std[0]), self.budget
        g = self.generalise
        return {"mean": time_ratio(g[up], g[down], B, reduce="mean"),
                "seed": time_ratio(g[up], g[down], B, reduce="max"),
                "onset": time_ratio(self.onset[up], self.onset[down], B, reduce="mean"),
                "standard": time_ratio(g[up], g[std], B, reduce="mean"),
                "standard_seed": time_ratio(g[up], g[std], B, reduce="max"),
                "gap": time_ratio(g, self.memorise, B, bound="lower", reduce="min")}

    def report(self) -> str:
        """The printed summary of :attr:`ratios`, one line each for the onset, the comparison with
        the standard start and the comparison with the most downstream start."""
        r, up, down = self.ratios, f"{self.alphas[-1]:g}", f"{self.alphas[0]:g}"
        return "\n".join([
            f"mean steps to {100 * self.onset_level:g} %, α = {up} over α = {down}: {r['onset']:.2f}",
            f"steps to {self.threshold:.0%}, α = {up} over the standard α = 1: mean {r['standard']:.2f}, "
            f"largest per-seed ratio {r['standard_seed']:.2f}",
            f"mean steps, α = {up} over α = {down}: {r['mean']:.2f};  largest per-seed ratio: "
            f"{r['seed']:.2f};  smallest generalise/memorise ratio: {r['gap']:.1f}"])


def grokking_times(result: Result, threshold: float, *, memorised: float = 0.99,
                   onset: float = 0.5) -> GrokkingTimes:
    """:func:`crossing_steps` of a grokking run over ``Sweep(alpha=…, seed=…)``: steps to train
    accuracy ≥ ``memorised``, to test accuracy ≥ ``threshold`` and to test accuracy ≥ ``onset``,
    with the step budget (the last recorded step). Returns a :class:`GrokkingTimes`."""
    if not isinstance(result, Result):
        raise TypeError(f"result must be a theory.core.Result, got {type(result).__name__}")
    _check_sweep(result.sweep)
    if result.sweep.dims != ("alpha", "seed"):
        raise ValueError(f"the result's sweep must have the axes (alpha, seed) in that order, "
                         f"got {result.sweep.dims}")
    alphas = np.array(result.sweep.axes["alpha"], dtype=float)
    if np.any(np.diff(alphas) <= 0):
        raise ValueError(f"the sweep's alphas must be increasing, got {alphas}")
    for name, v in (("threshold", threshold), ("memorised", memorised), ("onset", onset)):
        check_scalar(v, name, min=0.0, max=1.0)
    return GrokkingTimes(alphas=alphas, memorise=crossing_steps(result, "train_accuracy", memorised),
                         generalise=crossing_steps(result, "test_accuracy", threshold),
                         onset=crossing_steps(result, "test_accuracy", onset), threshold=threshold,
                         budget=float(result.steps[-1]), memorised=memorised, onset_level=onset)
