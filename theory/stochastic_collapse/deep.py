"""Stochastic collapse in deep networks on real data, at laptop scale.

Chen, Kunin, Yamamura, Ganguli (2023), "Stochastic collapse: how gradient noise attracts SGD
dynamics towards simpler subnetworks", arXiv:2306.04251, Figs. 3–4 and 6. The figure numbers
follow the official repository's notebooks (``nbs/FIG3_FIG4.ipynb``, ``nbs/FIG6.ipynb`` of
``ccffccffcc/stochastic_collapse``), where the analysis code this module re-implements lives.
Book chapter: ``book/stochastic_collapse/deep_networks.ipynb``.

The paper trains VGG-16 and ResNet-18 on CIFAR; here an MLP 64 → h → … → h → 10 with GELU
(or tanh; both have σ(0) = 0, so a neuron whose weights vanish stays vanished) learns
scikit-learn's 8×8 digits. Two pieces:

- :func:`train_mlp`: SGD batched over many configurations in one tensor program. Parameters
  are stacked along a leading configuration axis, every layer is one ``torch.baddbmm`` and
  back-propagation is batched matmuls; each configuration has its own learning rate (and a
  two-phase schedule), batch size, label-noise level and seed. Nothing in the training step
  loops over configurations (configurations of different batch sizes run as one program per
  size, or as one masked program).
- :func:`collapse_stats` and its parts: the paper's count of *independent neurons*. For each
  hidden neuron, its incoming weights, bias and outgoing weights are concatenated into one
  vector w; a neuron is *vanishing* when ‖w‖ / max‖w‖ < 0.1 over its layer; two of the others
  are *identical* when 2‖wᵢ − wⱼ‖² / (‖wᵢ‖² + ‖wⱼ‖²) < 0.1; identical neurons are grouped
  greedily, and a layer's independent neurons are its groups (non-vanishing neurons that are
  not duplicates). These are the two invariant sets of the paper (sign- and permutation-
  invariant): both are fixed by SGD, and gradient noise attracts the dynamics towards them.
  :func:`effective_rank` is the official notebooks' second measure of the same matrices, the
  entropy of their normalised singular values (``compute_eff_rnk``).

Label noise follows the official ``cifar10labelnoise`` data set: every time a training
example is drawn, its label is, with probability ``label_noise``, replaced by a class drawn
uniformly among the *other* classes. The noise is fresh at every draw (the same example gets
a different label next time); that is what keeps injecting gradient noise all through
training, the mechanism of the paper. A fixed corruption of the data set would instead be a
different, deterministic problem. ``label_smoothing`` trains on the *mean* of that noise (the
expected target), a control that tells the noise apart from its average effect on the loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from theory.core import (DivergenceError, Result, Sweep, array_bytes, as_array, check_memory,
                         check_scalar, check_seed, counter_uniform, counter_words, record_steps,
                         resolve_device, resolve_dtype, torch_generator, train_batched)

__all__ = ["CollapseStats", "DigitsData", "collapse_stats", "count_independent",
           "effective_rank", "identical_pairs", "load_digits_data", "mlp_layers", "neuron_vectors", "train_mlp",
           "vanishing_neurons"]

VANISH_THRESHOLD = 0.1      # ‖w‖ / max‖w‖ below this: vanishing (FIG3_FIG4.ipynb, `threshold`)
IDENTICAL_THRESHOLD = 0.1   # 2‖wᵢ − wⱼ‖²/(‖wᵢ‖² + ‖wⱼ‖²) below this: identical (`threshold2`)
_ACTIVATIONS = ("gelu", "tanh")


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DigitsData:
    """scikit-learn's digits (1797 images of 8×8 pixels, 10 classes), split and standardised.

    X_train (n_train, 64) and X_test (n_test, 64) are float32, standardised per pixel with the
    training set's mean and standard deviation (pixels constant on the training set are only
    centred); y_train, y_test are int64 class labels.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int = 10

    @property
    def n_train(self) -> int:
        return int(self.X_train.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])


def load_digits_data(test_fraction: float = 0.25, seed: int = 0) -> DigitsData:
    """Load ``sklearn.datasets.load_digits`` (bundled, offline) and split it at random.

    ``test_fraction`` of the 1797 images (rounded) is held out; ``seed`` fixes the split.
    """
    from sklearn.datasets import load_digits

    frac = check_scalar(test_fraction, "test_fraction", min=0.0, max=1.0, include_min=False,
                        include_max=False)
    seed = check_seed(seed, "seed")
    X, y = load_digits(return_X_y=True)
    n_test = int(round(frac * len(y)))
    if not 0 < n_test < len(y):
        raise ValueError(f"test_fraction={test_fraction!r} leaves an empty train or test set")
    order = np.random.default_rng(seed).permutation(len(y))
    test, train = order[:n_test], order[n_test:]
    mean = X[train].mean(axis=0)
    std = X[train].std(axis=0)
    std = np.where(std > 0, std, 1.0)

    def prep(rows):
        return ((X[rows] - mean) / std).astype(np.float32)

    return DigitsData(X_train=prep(train), y_train=y[train].astype(np.int64),
                      X_test=prep(test), y_test=y[test].astype(np.int64))


# --------------------------------------------------------------------------------------------
# The collapse metric (FIG3_FIG4.ipynb, FIG6.ipynb)
# --------------------------------------------------------------------------------------------

def neuron_vectors(W_in, b_in, W_out) -> np.ndarray:
    """Each hidden neuron's incoming weights, bias and outgoing weights, concatenated.

    W_in (..., h, d_in) maps the previous layer to this one, b_in (..., h) is its bias and
    W_out (..., d_out, h) maps this layer to the next (torch's ``Linear`` layout). Returns
    (..., h, d_in + 1 + d_out): row i is the vector wᵢ that the paper's analysis compares.
    """
    W_in = as_array(W_in, "W_in", min_ndim=2, nonempty=True)
    b_in = as_array(b_in, "b_in", min_ndim=1, nonempty=True)
    W_out = as_array(W_out, "W_out", min_ndim=2, nonempty=True)
    h = W_in.shape[-2]
    if b_in.shape != W_in.shape[:-1]:
        raise ValueError(f"b_in must have shape {W_in.shape[:-1]} (W_in without its last axis), "
                         f"got {b_in.shape}")
    if W_out.shape[-1] != h or W_out.shape[:-2] != W_in.shape[:-2]:
        raise ValueError(f"W_out must have shape (..., d_out, {h}) with the leading axes of W_in "
                         f"{W_in.shape[:-2]}, got {W_out.shape}")
    return np.concatenate([W_in, b_in[..., None], np.swapaxes(W_out, -1, -2)], axis=-1)


def _neuron_array(w_cat, name: str = "w_cat") -> np.ndarray:
    return as_array(w_cat, name, min_ndim=2, nonempty=True)


def _threshold(value, name: str) -> float:
    return check_scalar(value, name, min=0.0, include_min=False)


def vanishing_neurons(w_cat, threshold: float = VANISH_THRESHOLD) -> np.ndarray:
    """Boolean (..., h): neurons whose ‖wᵢ‖ is below ``threshold`` times the layer's largest.

    ``w_cat`` (..., h, d) holds one row per neuron (:func:`neuron_vectors`). A layer whose
    vectors are all zero is all vanishing (the paper's code would divide 0 by 0 there).
    """
    return _vanishing(_neuron_array(w_cat), _threshold(threshold, "threshold"))


def _vanishing(w: np.ndarray, t: float) -> np.ndarray:
    norms = np.linalg.norm(w, axis=-1)
    top = norms.max(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(top > 0, norms / np.where(top > 0, top, 1.0), 0.0)
    return ratio < t


def identical_pairs(w_cat, threshold: float = IDENTICAL_THRESHOLD,
                    eps: float = 1e-8) -> np.ndarray:
    """Boolean (..., h, h): pairs with 2‖wᵢ − wⱼ‖² / (ε + ‖wᵢ‖² + ‖wⱼ‖²) < ``threshold``.

    Symmetric, with a False diagonal. ``eps`` is the paper's ε = 1e-8 (FIG3_FIG4.ipynb).
    """
    w = _neuron_array(w_cat).astype(np.float64, copy=False)
    t = _threshold(threshold, "threshold")
    eps = check_scalar(eps, "eps", min=0.0)
    return _identical(w, t, eps)


def _identical(w: np.ndarray, t: float, eps: float) -> np.ndarray:
    sq = np.sum(w * w, axis=-1)
    gram = w @ np.swapaxes(w, -1, -2)
    dist2 = np.maximum(sq[..., :, None] + sq[..., None, :] - 2.0 * gram, 0.0)
    denom = eps + sq[..., :, None] + sq[..., None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(denom > 0, 2.0 * dist2 / np.where(denom > 0, denom, 1.0), 0.0)
    same = rel < t
    h = w.shape[-2]
    same[..., np.arange(h), np.arange(h)] = False
    return same


def _greedy_groups(same: np.ndarray) -> int:
    """Number of groups formed by the paper's greedy pass over identical pairs.

    Pairs (i, j), i < j, are visited in lexicographic order. A pair whose j is already in a
    group is skipped; otherwise i and j are marked grouped and i heads a group. Neurons never
    grouped are groups of their own. This reproduces ``compute_ind_node`` of the official
    notebooks, including its one quirk: when identity is not transitive (i ~ j and j ~ k but
    not i ~ k) a neuron that joined an earlier group can head a new one.
    """
    m = same.shape[0]
    grouped = np.zeros(m, dtype=bool)
    heads = np.zeros(m, dtype=bool)
    ii, jj = np.nonzero(np.triu(same, 1))          # row-major: lexicographic (i, j)
    for i, j in zip(ii.tolist(), jj.tolist()):
        if grouped[j]:
            continue
        grouped[i] = grouped[j] = True
        heads[i] = True
    return int(heads.sum() + (~grouped).sum())


def count_independent(w_cat, vanish_threshold: float = VANISH_THRESHOLD,
                      identical_threshold: float = IDENTICAL_THRESHOLD) -> np.ndarray:
    """Number of independent neurons of each layer in ``w_cat`` (..., h, d): int array (...).

    Vanishing neurons (:func:`vanishing_neurons`) are dropped; the rest are grouped greedily by
    :func:`identical_pairs`, and the count is the number of groups (Chen et al. 2023, Figs. 3–4;
    ``compute_ind_node`` in FIG3_FIG4.ipynb).
    """
    w = _neuron_array(w_cat)
    vanish = _vanishing(w, _threshold(vanish_threshold, "vanish_threshold"))
    same = _identical(w.astype(np.float64, copy=False),
                      _threshold(identical_threshold, "identical_threshold"), 1e-8)
    lead = w.shape[:-2]
    out = np.zeros(lead, dtype=np.int64)
    for idx in np.ndindex(*lead):
        keep = ~vanish[idx]
        out[idx] = _greedy_groups(same[idx][np.ix_(keep, keep)])
    return out


def effective_rank(w_cat, eps: float = 1e-8) -> np.ndarray:
    """The official notebooks' *effective rank* of a layer: H = −Σₖ pₖ log(pₖ + ε), pₖ = sₖ/Σⱼsⱼ.

    sₖ are the singular values of the layer's neuron matrix ``w_cat`` (..., h, d), one row per
    hidden neuron (its incoming weights, bias and outgoing weights, :func:`neuron_vectors`), and
    ε = 1e-8. This is ``compute_eff_rnk(w_cat, epsilon=1e-8)`` of ``nbs/FIG3_FIG4.ipynb`` and
    ``nbs/FIG6.ipynb`` (official repository ``ccffccffcc/stochastic_collapse``), applied there to
    the same ``w_cat`` as the independent-neuron count: the Shannon entropy, in nats, of the
    normalised singular values (Chen et al. 2023, Figs. 3–4; the paper's own text for it is not
    available). It is the *entropy itself*, not its exponential: exp(H) would be Roy and
    Vetterli's effective rank, a number of directions between 1 and min(h, d); H lies between 0
    (rank one) and log min(h, d) (all singular values equal). Vanishing neurons and copies of
    one another both lower it; a uniform shrinkage of the layer (weight decay) does not.

    Returns the entropy for each matrix: shape ``w_cat.shape[:-2]`` (a float for one matrix). A
    matrix of zeros (no direction at all) gets H = 0.
    """
    w = _neuron_array(w_cat).astype(np.float64, copy=False)
    eps = check_scalar(eps, "eps", min=0.0)
    return _effective_rank(w, eps)


def _effective_rank(w: np.ndarray, eps: float) -> np.ndarray:
    s = np.linalg.svd(w, compute_uv=False)
    total = s.sum(axis=-1, keepdims=True)
    p = np.where(total > 0, s / np.where(total > 0, total, 1.0), 0.0)
    return -(p * np.log(p + eps)).sum(axis=-1)


@dataclass(frozen=True)
class CollapseStats:
    """Collapse of each hidden layer: arrays (..., L) over L hidden layers.

    independent: fraction of the layer's neurons that are independent (groups / width);
    vanishing: fraction that are vanishing; n_independent: the counts; width: (L,) widths;
    effective_rank: the official notebooks' entropy of the normalised singular values of the
    layer's neuron matrix (:func:`effective_rank`).
    """

    independent: np.ndarray
    vanishing: np.ndarray
    n_independent: np.ndarray
    width: np.ndarray
    effective_rank: np.ndarray


def _check_layers(weights, biases):
    if not isinstance(weights, (list, tuple)) or not isinstance(biases, (list, tuple)):
        raise TypeError("weights and biases must be lists (or tuples) of arrays, one per layer")
    if len(weights) != len(biases):
        raise ValueError(f"weights and biases must have one entry per layer, got {len(weights)} "
                         f"and {len(biases)}")
    if len(weights) < 2:
        raise ValueError("a network with hidden neurons has at least two layers of weights")


def collapse_stats(weights, biases, vanish_threshold: float = VANISH_THRESHOLD,
                   identical_threshold: float = IDENTICAL_THRESHOLD) -> CollapseStats:
    """Independent and vanishing fractions of every hidden layer of an MLP (or a batch of them).

    ``weights[l]`` (..., d_{l+1}, d_l) and ``biases[l]`` (..., d_{l+1}) are the layers, input
    first; hidden layer l's neurons are the rows of ``weights[l]`` and the columns of
    ``weights[l+1]``. Leading axes (configurations) are kept.
    """
    _check_layers(weights, biases)
    weights = [as_array(w, f"weights[{l}]", min_ndim=2, nonempty=True)
               for l, w in enumerate(weights)]
    biases = [as_array(b, f"biases[{l}]", min_ndim=1, nonempty=True)
              for l, b in enumerate(biases)]
    for l in range(len(weights)):
        if biases[l].shape != weights[l].shape[:-1]:
            raise ValueError(f"biases[{l}] must have shape {weights[l].shape[:-1]} (weights[{l}] "
                             f"without its last axis), got {biases[l].shape}")
        if l and weights[l].shape[-1] != weights[l - 1].shape[-2]:
            raise ValueError(f"weights[{l}] must take the {weights[l - 1].shape[-2]} outputs of "
                             f"weights[{l - 1}] (shape (..., d, {weights[l - 1].shape[-2]})), "
                             f"got {weights[l].shape}")
    ind, van, cnt, width, erank = [], [], [], [], []
    for l in range(len(weights) - 1):
        w_cat = neuron_vectors(weights[l], biases[l], weights[l + 1])
        erank.append(_effective_rank(w_cat.astype(np.float64, copy=False), 1e-8))
        h = w_cat.shape[-2]
        n = count_independent(w_cat, vanish_threshold, identical_threshold)
        cnt.append(n)
        ind.append(n / h)
        van.append(_vanishing(w_cat, _threshold(vanish_threshold, "vanish_threshold"))
                   .mean(axis=-1))
        width.append(h)
    return CollapseStats(independent=np.stack(ind, -1), vanishing=np.stack(van, -1),
                         n_independent=np.stack(cnt, -1), width=np.array(width),
                         effective_rank=np.stack(erank, -1))


# --------------------------------------------------------------------------------------------
# Batched SGD on the MLP, on theory.core.train_batched
# --------------------------------------------------------------------------------------------

def _int_configs(x, name: str, minimum: int) -> np.ndarray:
    """A scalar or 1-D array of integers >= minimum, as int64 (no floats, no bools)."""
    if isinstance(x, (bool, np.bool_)) or x is None or isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be an int or a 1-D array of ints, got {type(x).__name__}")
    arr = np.asarray(x)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}")
    if arr.ndim > 1:
        raise ValueError(f"{name} must be a scalar or a 1-D array over configurations, "
                         f"got shape {arr.shape}")
    if np.any(arr < minimum):
        raise ValueError(f"{name} must be >= {minimum}, got {x!r}")
    return np.atleast_1d(arr.astype(np.int64))


def _float_configs(x, name: str, *, low: float, high: float | None = None,
                   low_open: bool = False) -> np.ndarray:
    arr = as_array(x, name, ndim=(0, 1))
    bad_low = np.any(arr <= low) if low_open else np.any(arr < low)
    if bad_low or (high is not None and np.any(arr > high)):
        interval = f"{'(' if low_open else '['}{low:g}, {'∞)' if high is None else f'{high:g}]'}"
        raise ValueError(f"{name} must lie in {interval}, got {x!r}")
    return np.atleast_1d(arr)


def _mlp_forward(params: list[torch.Tensor], x: torch.Tensor, act) -> torch.Tensor:
    """Logits (C, B, K) of C stacked MLPs on inputs x (C, B, d): one baddbmm per layer."""
    h = x
    n_layers = len(params) // 2
    for l in range(n_layers):
        W, b = params[2 * l], params[2 * l + 1]
        h = torch.baddbmm(b.unsqueeze(1), h, W.transpose(1, 2))
        if l < n_layers - 1:
            h = act(h)
    return h


def _mlp_grads(params: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor,
               smoothing: torch.Tensor | None, weight: torch.Tensor,
               activation: str) -> list[torch.Tensor]:
    """Gradients of Σ_c Σ_j weight[c, j]·CE(logits[c, j], target[c, j]) for C stacked MLPs.

    Back-propagation written out (batched matmuls), which on a CPU runs faster than autograd
    for networks this small; ``tests/test_stochastic_collapse_deep.py`` checks it against
    autograd. target = e_y, or (1 − s)·e_y + s·(1 − e_y)/(K − 1) with ``smoothing`` s (C,).
    """
    n_layers = len(params) // 2
    acts, pre = [x], []
    h = x
    for l in range(n_layers):
        z = torch.baddbmm(params[2 * l + 1].unsqueeze(1), h, params[2 * l].transpose(1, 2))
        if l < n_layers - 1:
            pre.append(z)
            h = F.gelu(z) if activation == "gelu" else torch.tanh(z)
            acts.append(h)
    K = z.shape[-1]
    q = F.one_hot(y, K).to(z.dtype)
    if smoothing is not None:
        s = (smoothing / (K - 1))[:, None, None]
        q = q * (1 - smoothing[:, None, None] - s) + s
    dz = (torch.softmax(z, -1) - q) * weight.unsqueeze(-1)
    grads: list[torch.Tensor] = [None] * len(params)  # type: ignore[list-item]
    for l in reversed(range(n_layers)):
        grads[2 * l] = torch.bmm(dz.transpose(1, 2), acts[l])
        grads[2 * l + 1] = dz.sum(1)
        if l > 0:
            da = torch.bmm(dz, params[2 * l])
            if activation == "gelu":     # da·GELU'(z), GELU'(z) = Φ(z) + z φ(z), fused
                dz = torch.ops.aten.gelu_backward(da, pre[l - 1])
            else:
                dz = da * (1.0 - acts[l] * acts[l])
    return grads


def mlp_layers(result: Result) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The final weights [W_0, W_1, …] (G, d_{l+1}, d_l) and biases [b_0, …] (G, d_{l+1}) of a
    :func:`train_mlp` result, input layer first (its ``params`` ``"W0"``, ``"b0"``, …)."""
    if not isinstance(result, Result):
        raise TypeError(f"result must be a theory.core.Result from train_mlp, got "
                        f"{type(result).__name__}")
    n = sum(1 for k in result.params if k.startswith("W"))
    if n < 2 or any(f"W{l}" not in result.params or f"b{l}" not in result.params
                    for l in range(n)):
        raise ValueError("result must hold the parameters W0, b0, W1, b1, … of an MLP "
                         "(a train_mlp result)")
    return ([result.params[f"W{l}"] for l in range(n)],
            [result.params[f"b{l}"] for l in range(n)])


_CONFIG_ARGS = ("lr", "batch_size", "label_noise", "label_smoothing", "seed", "lr_late",
                "switch_step", "stop_step")


def train_mlp(data: DigitsData, *, lr=None, batch_size=None, steps: int, label_noise=0.0,
              label_smoothing=0.0, seed=0, lr_late=None, switch_step=None, stop_step=None,
              sweep: Sweep | None = None, hidden: int = 64, depth: int = 2,
              activation: str = "gelu", momentum: float = 0.0, weight_decay: float = 0.0,
              record_every: int | None = None, group_batches: bool = True, chunk: int = 64,
              device=None, dtype=torch.float32, progress: bool = True) -> Result:
    """Train G MLPs 64 → hidden (× depth) → 10 by SGD at once, one configuration each.

    Every configuration argument is a scalar or a 1-D array; they broadcast to G configurations.
    Or give a ``sweep`` (:class:`theory.core.Sweep`) whose axes are configuration arguments
    (e.g. ``Sweep(lr=[0.1, 0.2], seed=[0, 1])``): its columns fill those arguments, the result
    carries it (``result.to_dataset()`` is labelled by its axes), and the other configuration
    arguments are scalars or arrays over its G configurations. The training step is one tensor
    program over all configurations, run by :func:`theory.core.train_batched` with the
    hand-written gradients of :func:`_mlp_grads` (``grad_fn``).

    Parameters
    ----------
    data : :class:`DigitsData`.
    lr : learning rate η > 0, per configuration (the paper's Fig. 3 axis).
    batch_size : minibatch size, per configuration (Fig. 3). Configurations with different
        sizes are handled in one of two ways, with identical minibatches:

        - ``group_batches=True`` (default): one batched program per distinct batch size, run
          one after the other. A loop over the few distinct sizes, never over configurations;
          compute is Σ_g batch_size[g] per step.
        - ``group_batches=False``: a single program; each configuration draws
          max(batch_size) examples a step and weights the first batch_size[g] of them by
          1/batch_size[g], the rest by 0. Compute is G·max(batch_size) per step.

        Slot j of a step is the same draw whatever the batch size, so a configuration's
        minibatch is the same in both modes (the sums differ in rounding only).
    steps : number of SGD steps.
    label_noise : probability p ∈ [0, 1] that a drawn label is replaced by another class,
        uniformly, fresh at each draw (the official ``cifar10labelnoise``; Fig. 4).
    label_smoothing : s ∈ [0, 1]; trains on the target (1 − s)·e_y + s·(1 − e_y)/(K − 1),
        which is the *mean* of label noise s: the expected loss of label noise without its
        noise, a control that separates the two.
    seed : per configuration, an int in [0, 2³²); fixes the initialisation (Kaiming normal,
        zero biases, as the paper's models; :func:`theory.core.torch_generator`), the
        minibatches and the label flips (:func:`theory.core.counter_words` of (seed, step,
        slot), streams 0–2). Configurations with the same seed share their initialisation and
        data order: a sweep over η, batch size or p at fixed seeds compares runs on common
        random numbers, and a configuration trains bit for bit the same alone and in a batch.
    lr_late, switch_step : a two-phase schedule (Fig. 6): η until ``switch_step``, then
        ``lr_late``. stop_step : the step at which a configuration stops (its learning rate is
        0 from then on; default ``steps``), so that phases of different lengths fit one batch.
    hidden, depth : width and number of hidden layers. activation : ``"gelu"`` or ``"tanh"``.
    momentum, weight_decay : as in ``torch.optim.SGD`` (b ← μb + g + λθ, θ ← θ − ηb), shared.
    record_every : also record at every k-th step (default: only the first and last step;
        :func:`theory.core.record_steps`).
    chunk : steps whose random draws are made at once. device : default
        :func:`theory.core.resolve_device`. dtype : float32 by default (no theory to compare
        here; :func:`theory.core.resolve_dtype` accepts "float32"/"float64").
    progress : a progress bar over the steps (one per batch-size group).

    Returns
    -------
    :class:`theory.core.Result`: ``steps`` (T,) the recorded steps; metrics (G, T)
    ``test_accuracy``, ``train_accuracy``, ``train_loss`` (cross-entropy on the clean training
    labels) and (G, T, L) ``independent``, ``vanishing``, ``effective_rank``: the collapse of
    each hidden layer (:func:`collapse_stats`); ``params`` ``W0``, ``b0``, … the final weights (:func:`mlp_layers`);
    ``meta["config"]`` the configuration arrays (G,), ``meta["activation"]``; ``sweep``.

    The loss is the softmax cross-entropy averaged over each configuration's minibatch (the
    paper's ``soft_cross_entropy`` on one-hot targets). Minibatches are drawn with replacement.
    """
    if not isinstance(data, DigitsData):
        raise TypeError(f"data must be a DigitsData (see load_digits_data), got "
                        f"{type(data).__name__}")
    steps = check_scalar(steps, "steps", kind="int", min=1)
    hidden = check_scalar(hidden, "hidden", kind="int", min=1)
    depth = check_scalar(depth, "depth", kind="int", min=1)
    chunk = check_scalar(chunk, "chunk", kind="int", min=1)
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {_ACTIVATIONS}, got {activation!r}")
    mom = check_scalar(momentum, "momentum", min=0.0, max=1.0, include_max=False)
    wd = check_scalar(weight_decay, "weight_decay", min=0.0)
    if record_every is not None:
        record_every = check_scalar(record_every, "record_every", kind="int", min=1)
    if not isinstance(group_batches, (bool, np.bool_)):
        raise TypeError(f"group_batches must be a bool, got {type(group_batches).__name__}")
    if not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"progress must be a bool, got {type(progress).__name__}")
    dtype = resolve_dtype(dtype)

    given = dict(lr=lr, batch_size=batch_size, label_noise=label_noise,
                 label_smoothing=label_smoothing, seed=seed, lr_late=lr_late,
                 switch_step=switch_step, stop_step=stop_step)
    if sweep is not None:
        if not isinstance(sweep, Sweep):
            raise TypeError(f"sweep must be a theory.core.Sweep, got {type(sweep).__name__}")
        for name in sweep.dims:
            if name not in _CONFIG_ARGS:
                raise ValueError(f"sweep axes must be configuration arguments {_CONFIG_ARGS}, "
                                 f"got {name!r}")
            if name not in ("label_noise", "label_smoothing", "seed") and given[name] is not None:
                raise ValueError(f"{name} is an axis of the sweep: do not also pass it")
            given[name] = sweep.column(name)
    for name in ("lr", "batch_size"):
        if given[name] is None:
            raise TypeError(f"train_mlp needs {name}= (or a sweep with a {name!r} axis)")
    cfg = {
        "lr": _float_configs(given["lr"], "lr", low=0.0, low_open=True),
        "batch_size": _int_configs(given["batch_size"], "batch_size", 1),
        "label_noise": _float_configs(given["label_noise"], "label_noise", low=0.0, high=1.0),
        "label_smoothing": _float_configs(given["label_smoothing"], "label_smoothing", low=0.0,
                                          high=1.0),
        "seed": _int_configs(given["seed"], "seed", 0),
    }
    if (given["lr_late"] is None) != (given["switch_step"] is None):
        raise ValueError("lr_late and switch_step go together (a two-phase schedule): give both")
    cfg["lr_late"] = (cfg["lr"].copy() if given["lr_late"] is None
                      else _float_configs(given["lr_late"], "lr_late", low=0.0, low_open=True))
    cfg["switch_step"] = (np.array([steps]) if given["switch_step"] is None
                          else _int_configs(given["switch_step"], "switch_step", 0))
    cfg["stop_step"] = (np.array([steps]) if given["stop_step"] is None
                        else _int_configs(given["stop_step"], "stop_step", 1))
    lengths = {k: v.shape[0] for k, v in cfg.items() if v.shape[0] != 1}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"configuration arrays must have equal lengths (or be scalars), got "
                         f"{lengths}")
    G = max(lengths.values(), default=1)
    if sweep is not None and G != len(sweep):
        raise ValueError(f"configuration arrays must have the sweep's {len(sweep)} entries, got "
                         f"{lengths}")
    cfg = {k: np.broadcast_to(v, (G,)).copy() for k, v in cfg.items()}
    if np.any(cfg["stop_step"] > steps):
        raise ValueError(f"stop_step must be <= steps = {steps}, got {cfg['stop_step']}")
    if np.any(cfg["seed"] >= 2**32):
        raise ValueError(f"seed must be in [0, 2**32), got {given['seed']!r}")
    if np.any(cfg["switch_step"] > steps):
        raise ValueError(f"switch_step must be <= steps = {steps}, got {cfg['switch_step']}")
    B_max = int(cfg["batch_size"].max())
    n_feat = data.n_features
    # per step of a chunk: the draws (3 int64 words per slot), then the batch X (G, B, 64) and
    # its activations (G, B, hidden) per layer, forward and backward
    check_memory(array_bytes(chunk, G, B_max) * 3
                 + array_bytes(G, B_max, n_feat + 4 * hidden * depth + 20) * 2,
                 f"train_mlp with {G} configurations of batch {B_max}",
                 hint="use smaller batch_size, fewer configurations or a smaller chunk")

    device = resolve_device(device)
    rec = record_steps(steps, every=record_every) if record_every else record_steps(steps, at=[])
    sizes = [data.n_features] + [hidden] * depth + [data.n_classes]
    groups = ([np.flatnonzero(cfg["batch_size"] == b) for b in np.unique(cfg["batch_size"])]
              if group_batches else [np.arange(G)])
    parts = []
    for members in groups:
        sub = {k: v[members] for k, v in cfg.items()}
        parts.append(_train_group(data, sub, steps=steps, sizes=sizes, activation=activation,
                                  mom=mom, wd=wd, rec=rec, chunk=chunk, device=device,
                                  dtype=dtype, progress=progress))
    order = np.argsort(np.concatenate(groups), kind="stable")   # back to the callers' order
    return Result(
        steps=rec,
        metrics={k: np.concatenate([p.metrics[k] for p in parts])[order] for k in parts[0].metrics},
        params={k: np.concatenate([p.params[k] for p in parts])[order] for k in parts[0].params},
        sweep=sweep,
        meta={"activation": activation, "steps": steps, "hidden": hidden, "depth": depth,
              "momentum": mom, "weight_decay": wd, "config": cfg})


def _init_params(seeds: np.ndarray, sizes: list[int], activation: str) -> list[np.ndarray]:
    """Kaiming-normal weights (gain √2 for GELU, 5/3 for tanh) and zero biases, per seed.

    One ``torch.Generator`` per configuration (:func:`theory.core.torch_generator`): a loop
    over configurations, run once before training (never in the training step), so that a
    configuration's initialisation depends on its seed alone. Returns [W_0, b_0, W_1, b_1, ...]
    stacked on a leading axis, float64.
    """
    gain = np.sqrt(2.0) if activation == "gelu" else 5.0 / 3.0
    G = seeds.shape[0]
    out = []
    for l in range(len(sizes) - 1):
        out += [np.empty((G, sizes[l + 1], sizes[l])), np.zeros((G, sizes[l + 1]))]
    for c in range(G):
        g = torch_generator(int(seeds[c]))
        for l in range(len(sizes) - 1):
            W = torch.randn(sizes[l + 1], sizes[l], generator=g, dtype=torch.float64)
            out[2 * l][c] = (gain / np.sqrt(sizes[l])) * W.numpy()
    return out


def _train_group(data: DigitsData, cfg: dict, *, steps, sizes, activation, mom, wd, rec, chunk,
                 device, dtype, progress) -> Result:
    """The configurations ``cfg`` (arrays (G,)) of one batch size: one train_batched call."""
    G = cfg["lr"].shape[0]
    act = F.gelu if activation == "gelu" else torch.tanh
    n_layers = len(sizes) - 1
    names = [f"{kind}{l}" for l in range(n_layers) for kind in ("W", "b")]

    def T(x, dt=dtype):
        return torch.tensor(np.asarray(x), dtype=dt, device=device)

    params = {k: T(p) for k, p in zip(names, _init_params(cfg["seed"], sizes, activation))}
    X_train, y_train = T(data.X_train), T(data.y_train, torch.int64)
    X_test, y_test = T(data.X_test), T(data.y_test, torch.int64)
    n, K = data.n_train, data.n_classes
    B_max = int(cfg["batch_size"].max())

    seed_t = T(cfg["seed"], torch.int64)
    slots = torch.arange(B_max, dtype=torch.int64, device=device)
    weight = (slots[None, :] < T(cfg["batch_size"], torch.int64)[:, None]).to(dtype)
    weight = weight / T(cfg["batch_size"])[:, None]                          # (G, B_max)
    p_flip = T(cfg["label_noise"], torch.float64)
    any_noise = bool(np.any(cfg["label_noise"] > 0))
    smooth = T(cfg["label_smoothing"]) if np.any(cfg["label_smoothing"] > 0) else None
    draws = {}

    def grad_fn(P, t):
        k = t % chunk
        if k == 0 or "idx" not in draws:      # random draws for the next `chunk` steps
            t0 = t - k
            t_idx = torch.arange(t0, min(t0 + chunk, steps), dtype=torch.int64, device=device)
            idx = counter_words(seed_t, t_idx, (B_max,), 0) % n                # (T, G, B_max)
            y = y_train[idx]
            if any_noise:
                u = counter_uniform(seed_t, t_idx, (B_max,), 1)
                other = counter_words(seed_t, t_idx, (B_max,), 2) % (K - 1)
                y = torch.where(u < p_flip[None, :, None], (y + 1 + other) % K, y)
            draws["idx"], draws["y"] = idx, y
        grads = _mlp_grads([P[name] for name in names], X_train[draws["idx"][k]],
                           draws["y"][k], smooth, weight, activation)
        return dict(zip(names, grads))

    def metrics(P, t):
        plist = [P[name] for name in names]
        bad = ~torch.stack([torch.isfinite(p).flatten(1).all(1) for p in plist]).all(0)
        if bool(bad.any()):
            which = np.flatnonzero(bad.cpu().numpy())
            raise DivergenceError(
                f"SGD on the digits MLP diverged by step {t}: the weights of configuration(s) "
                f"{which.tolist()} (lr {cfg['lr'][which].tolist()}) are no longer finite; reduce "
                f"the learning rate lr", step=t, what="train_mlp")
        out = {}
        for X, y, kind in ((X_test, y_test, "test"), (X_train, y_train, "train")):
            logits = _mlp_forward(plist, X.unsqueeze(0).expand(G, -1, -1), act)
            out[f"{kind}_accuracy"] = (logits.argmax(-1) == y).double().mean(-1)
            if kind == "train":
                ce = torch.logsumexp(logits, -1) - logits.gather(
                    -1, y.expand(G, -1).unsqueeze(-1)).squeeze(-1)
                out["train_loss"] = ce.double().mean(-1)
        stats = collapse_stats([p.cpu().numpy() for p in plist[0::2]],
                               [p.cpu().numpy() for p in plist[1::2]])
        out["independent"] = torch.as_tensor(stats.independent)
        out["vanishing"] = torch.as_tensor(stats.vanishing)
        out["effective_rank"] = torch.as_tensor(stats.effective_rank)
        return out

    if np.all(cfg["switch_step"] >= steps) and np.all(cfg["stop_step"] >= steps):
        lr = cfg["lr"]
    else:
        def lr(t):                                   # the two-phase schedule, then a stop
            return np.where(t < cfg["switch_step"], cfg["lr"], cfg["lr_late"]) * (
                t < cfg["stop_step"])
    desc = (f"SGD, batch {B_max}" if np.all(cfg["batch_size"] == B_max)
            else f"SGD, batch ≤ {B_max}") + f", {G} configurations"
    return train_batched(params, steps=steps, lr=lr, grad_fn=grad_fn, momentum=mom,
                         weight_decay=wd, record=rec, metrics=metrics,
                         progress=desc if progress else False, device=device)
