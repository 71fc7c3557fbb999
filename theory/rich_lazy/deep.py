"""Deep finite-width networks from upstream and downstream initialisations (Kunin et al. 2024,
the deep-network experiments, Section 5 by our reading, and their four-panel figure: kernel
distance, first-layer CNN filters, sample complexity on hierarchical data, time to grokking).

The paper's text could not be read for this chapter (the panels are known from its abstract and
a third-party summary; section numbers are unverified), and its deep-network code is not public,
so the set-ups here are the book's own reconstruction at laptop scale.

One knob sets the initialisation everywhere: starting from a standard draw, the **first** layer
is multiplied by ``alpha`` and the **readout** by ``1/alpha``.
The networks are bias-free ReLU networks, which are positively homogeneous in each layer, so the
initial function is *identical* for every ``alpha`` (same seed); only the balance between the
layers changes. In the two-layer case each hidden neuron i carries the imbalance of the paper's
two-layer piecewise-linear analysis (Section 4 by our reading),

    δ_i = ‖a_i‖² − ‖w_i‖²        (η_a = η_w = 1),

with a_i its readout column and w_i its input weights: ``alpha < 1`` moves every δ_i up
(**upstream**: small first layer, large readout, the first layer learns relatively faster) and
``alpha > 1`` moves it down (**downstream**). :func:`mean_imbalance` measures it.

Everything is batched: B models (seeds × values of ``alpha`` × training-set sizes) are one tensor
program whose weights carry a leading batch axis, and the training loss is the *sum* of the B
per-model losses, so each model's gradient is its own. Adam, AdamW and gradient descent act
elementwise, hence a batched run equals B separate runs (``tests/test_rich_lazy_deep.py`` checks this).

Contents
--------
- data: :func:`modular_addition`, :func:`random_hierarchy`, :func:`sample_hierarchy`,
  :func:`digits`;
- models (functional, batched weights): ``mlp`` (one hidden layer on one-hot pairs),
  ``cnn`` (two 3×3 convolutions on 8×8 images), ``hcnn`` (hierarchical CNN with patch = stride =
  s for the random hierarchy model); :func:`init_params`, :func:`forward`;
- training: :func:`train` (full-batch Adam/AdamW, or gradient descent with one step size per
  model; cross-entropy; per-model sample masks);
- metrics: :func:`kernel_distance`, :func:`ntk_gram`, :func:`feature_gram`, :func:`accuracy`,
  :func:`first_crossing`, :func:`mean_imbalance`.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np
import torch

from theory.core import as_array, default_device, positive, positive_int

__all__ = ["ARCHITECTURES", "Hierarchy", "ModularData", "TrainResult", "accuracy", "digits",
           "feature_gram", "first_crossing", "forward", "init_params", "kernel_distance",
           "mean_imbalance", "modular_addition", "ntk_gram", "random_hierarchy",
           "sample_hierarchy", "train"]

ARCHITECTURES = ("mlp", "cnn", "hcnn")


def _seed_int(seed, name: str = "seed") -> int:
    if isinstance(seed, bool) or not isinstance(seed, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"{name} must be non-negative, got {seed}")
    return int(seed)


def _fraction(x, name: str) -> float:
    x = float(as_array(x, name, ndim=0))
    if not 0.0 < x < 1.0:
        raise ValueError(f"{name} must lie strictly between 0 and 1, got {x}")
    return x


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
    p = positive_int(p, "p")
    if p < 2:
        raise ValueError(f"p must be at least 2, got {p}")
    frac = _fraction(train_fraction, "train_fraction")
    rng = np.random.default_rng(_seed_int(seed))
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    pairs = np.stack([a.ravel(), b.ravel()], axis=1).astype(np.int64)
    labels = (pairs[:, 0] + pairs[:, 1]) % p
    perm = rng.permutation(p * p)
    n_train = max(1, int(frac * p * p))
    if n_train >= p * p:
        raise ValueError(f"train_fraction = {frac} leaves no test pairs for p = {p}")
    return ModularData(p=p, pairs=pairs, labels=labels, train=np.sort(perm[:n_train]),
                       test=np.sort(perm[n_train:]))


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
    v, n_classes, m = positive_int(v, "v"), positive_int(n_classes, "n_classes"), positive_int(m, "m")
    s, L = positive_int(s, "s"), positive_int(L, "L")
    if v < 2:
        raise ValueError(f"v must be at least 2, got {v}")
    if s < 2:
        raise ValueError(f"s must be at least 2 (patches of one symbol make no hierarchy), got {s}")
    if m * max(v, n_classes) > v ** s:
        raise ValueError(f"need m·max(v, n_classes) ≤ v^s for distinct rules, got m = {m}, v = {v}, "
                         f"n_classes = {n_classes}, s = {s}")
    rng = np.random.default_rng(_seed_int(seed))
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
    n = positive_int(n, "n")
    rng = np.random.default_rng(_seed_int(seed))
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

    n_train = positive_int(n_train, "n_train")
    data = load_digits()
    if n_train >= len(data.target):
        raise ValueError(f"n_train must be below {len(data.target)}, got {n_train}")
    x = (data.images / 16.0).astype(np.float64)[:, None]
    perm = np.random.default_rng(_seed_int(seed)).permutation(len(x))
    x, y = x[perm], data.target[perm].astype(np.int64)
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


# ----------------------------------------------------------------------------------------------
# Models: functional, weights with a leading batch axis B
# ----------------------------------------------------------------------------------------------
def _shapes(arch: str, dims: dict) -> list[tuple[int, ...]]:
    """Per-model weight shapes, first layer first, readout last."""
    if arch == "mlp":
        return [(dims["width"], dims["d_in"]), (dims["d_out"], dims["width"])]
    if arch == "cnn":
        c1, c2 = dims["channels"]
        return [(c1, 1, 3, 3), (c2, c1, 3, 3), (dims["d_out"], c2)]
    s, L, v, h = dims["s"], dims["L"], dims["v"], dims["width"]
    return [(h, s * v)] + [(h, s * h)] * (L - 1) + [(dims["d_out"], h)]


def _check_dims(arch: str, dims: dict) -> dict:
    if arch not in ARCHITECTURES:
        raise ValueError(f"arch must be one of {ARCHITECTURES}, got {arch!r}")
    need = {"mlp": ("d_in", "width", "d_out"), "cnn": ("channels", "d_out"),
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
            out[k] = (positive_int(ch[0], "channels[0]"), positive_int(ch[1], "channels[1]"))
        else:
            out[k] = positive_int(dims[k], k)
    return out


def init_params(arch: str, dims: dict, alpha, seeds, *, device=None,
                dtype: torch.dtype = torch.float32) -> list[torch.Tensor]:
    """Batched initial weights: model b draws a He-normal standard initialisation from
    ``seeds[b]`` (std √(2/fan_in) for hidden layers, √(1/fan_in) for the readout), then its first
    layer is multiplied by ``alpha[b]`` and its readout by ``1/alpha[b]``.

    Two models with the same seed compute the same function at initialisation whatever their
    ``alpha`` (bias-free ReLU networks are positively homogeneous layer by layer). ``alpha`` and
    ``seeds`` broadcast against each other to the batch size B. Returns a list of tensors of
    shapes (B, *shape) for the shapes of ``arch`` (first layer first, readout last).

    dims: ``mlp``: d_in, width, d_out; ``cnn``: channels=(c1, c2), d_out;
    ``hcnn``: v, s, L, width, d_out.
    """
    dims = _check_dims(arch, dims)
    alpha = np.atleast_1d(positive(alpha, "alpha"))
    seeds = np.atleast_1d(np.asarray(seeds))
    if seeds.ndim != 1 or not np.issubdtype(seeds.dtype, np.integer) or np.any(seeds < 0):
        raise TypeError("seeds must be a non-negative int or a 1-D array of non-negative ints")
    if alpha.ndim != 1:
        raise ValueError("alpha must be a positive scalar or 1-D array")
    try:
        B = np.broadcast_shapes(alpha.shape, seeds.shape)[0]
    except ValueError:
        raise ValueError(f"alpha {alpha.shape} and seeds {seeds.shape} do not broadcast") from None
    alpha, seeds = np.broadcast_to(alpha, (B,)), np.broadcast_to(seeds, (B,))
    device = torch.device(device) if device is not None else default_device()
    shapes = _shapes(arch, dims)
    out = [torch.empty((B, *sh), dtype=dtype, device=device) for sh in shapes]
    for b in range(B):
        gen = torch.Generator().manual_seed(int(seeds[b]))
        for k, sh in enumerate(shapes):
            fan_in = int(np.prod(sh[1:]))
            std = np.sqrt((1.0 if k == len(shapes) - 1 else 2.0) / fan_in)
            w = torch.randn(sh, generator=gen, dtype=torch.float64) * std
            if k == 0:
                w = w * float(alpha[b])
            elif k == len(shapes) - 1:
                w = w / float(alpha[b])
            out[k][b] = w.to(dtype)
    return out


def _features(arch: str, params, x: torch.Tensor) -> torch.Tensor:
    """Last hidden layer, (B, N, width), for inputs x shared by all models or batched (B, N, ...)."""
    W = params
    B = W[0].shape[0]
    if arch == "mlp":            # x: (N, 2) index pairs (a, b), or (B, N, 2)
        p = W[0].shape[-1] // 2
        onehot = torch.cat([torch.nn.functional.one_hot(x[..., 0], p),
                            torch.nn.functional.one_hot(x[..., 1], p)], dim=-1).to(W[0].dtype)
        eq = "nd,bhd->bnh" if x.dim() == 2 else "bnd,bhd->bnh"
        return torch.relu(torch.einsum(eq, onehot, W[0]))             # relu(W (e_a ⊕ e_b))
    if arch == "cnn":            # x: (N, 1, 8, 8) shared, grouped convolutions over the B models
        conv = torch.nn.functional.conv2d
        c1, c2 = W[0].shape[1], W[1].shape[1]
        h = x.repeat(1, B, 1, 1) if x.dim() == 4 else x.transpose(0, 1).flatten(1, 2)
        h = torch.relu(conv(h, W[0].reshape(B * c1, 1, 3, 3), padding=1, groups=B))
        h = torch.nn.functional.avg_pool2d(h, 2)                         # 8×8 → 4×4
        h = torch.relu(conv(h, W[1].reshape(B * c2, c1, 3, 3), padding=1, groups=B))
        return h.mean(dim=(2, 3)).reshape(-1, B, c2).transpose(0, 1)  # global average pooling
    # hcnn: x (N, s^L) symbols shared, or (B, N, s^L); the first layer sees one-hot patches
    n_pos = x.shape[-1]
    # s from the second layer's fan-in (s·H) when there is one, else the input is one patch
    s = W[1].shape[-1] // W[1].shape[-2] if len(W) > 2 else n_pos
    v = W[0].shape[-1] // s
    onehot = torch.nn.functional.one_hot(x, v).to(W[0].dtype)          # (.., N, s^L, v)
    onehot = onehot.reshape(*x.shape[:-1], n_pos // s, s * v)           # patches (position, symbol)
    eq = "npk,bhk->bnph" if x.dim() == 2 else "bnpk,bhk->bnph"
    h = torch.relu(torch.einsum(eq, onehot, W[0]))                      # (B, N, s^{L−1}, H)
    for Wl in W[1:-1]:
        Bn, N, P, H = h.shape
        h = h.reshape(Bn, N, P // s, s * H)
        h = torch.relu(torch.einsum("bnpk,bhk->bnph", h, Wl))
    return h.squeeze(2)


def forward(arch: str, params, x: torch.Tensor) -> torch.Tensor:
    """Logits (B, N, d_out) of the B models on inputs x (shared, or batched with leading B).

    ``mlp``: f(x) = A relu(W x) on x = e_a ⊕ e_b given as index pairs (N, 2);
    ``cnn``: conv 3×3 (c1) → ReLU → 2×2 average pool → conv 3×3 (c2) → ReLU → global average
    pool → linear, on (N, 1, 8, 8) images (all maps positively homogeneous, no biases);
    ``hcnn``: L layers of a convolution with patch = stride = s and ReLU,
    then a linear readout, on (N, s^L) symbol strings (the input layer acts on one-hot symbols).
    """
    if arch not in ARCHITECTURES:
        raise ValueError(f"arch must be one of {ARCHITECTURES}, got {arch!r}")
    phi = _features(arch, params, x)
    return torch.einsum("bnh,bch->bnc", phi, params[-1])


# ----------------------------------------------------------------------------------------------
# Training
# ----------------------------------------------------------------------------------------------
@dataclass
class TrainResult:
    """What :func:`train` returns: the weights at the end, and at each evaluated step the
    per-model train/test accuracy and train loss, arrays of shape (B, T)."""

    params: list
    steps: np.ndarray
    train_acc: np.ndarray
    test_acc: np.ndarray
    train_loss: np.ndarray


def accuracy(logits: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Fraction of correct argmax predictions per model: logits (B, N, C), y (N,) or (B, N)."""
    correct = (logits.argmax(-1) == y).to(logits.dtype)
    if mask is None:
        return correct.mean(-1)
    return (correct * mask).sum(-1) / mask.sum(-1)


def train(arch: str, params, x_train, y_train, x_test, y_test, *, steps: int, lr,
          weight_decay: float = 0.0, optimizer: str = "adam", train_mask=None, eval_every: int = 10,
          stop_at_test_acc: float | None = None, progress: bool = False) -> TrainResult:
    """Full-batch training of the B models at once on the sum over models of each model's mean
    cross-entropy, with ``optimizer``:

    - ``"adam"``: Adam (``weight_decay = 0``) or AdamW (decoupled weight decay), scalar ``lr``;
    - ``"gd"``: plain gradient descent θ_b ← θ_b − lr_b ∇L_b, with ``lr`` a scalar or one step
      size per model (B,), so that models of very different kernel scales can each take a stable
      step (no weight decay).

    ``train_mask`` (B, N_train) of 0/1 lets model b train on its own subset of the training
    inputs (the sample-complexity sweep batches several training-set sizes this way); inputs and
    labels may also be batched with a leading B axis. Every ``eval_every`` steps (and at 0 and
    ``steps``) the per-model train accuracy (on its own mask), test accuracy and train loss are
    recorded. ``stop_at_test_acc`` ends training early once every model has reached it.
    """
    if arch not in ARCHITECTURES:
        raise ValueError(f"arch must be one of {ARCHITECTURES}, got {arch!r}")
    steps = positive_int(steps, "steps")
    if optimizer not in ("adam", "gd"):
        raise ValueError(f"optimizer must be 'adam' or 'gd', got {optimizer!r}")
    lr = positive(lr, "lr")
    if optimizer == "adam" and lr.ndim != 0:
        raise ValueError("lr must be a scalar for optimizer='adam'")
    wd = float(as_array(weight_decay, "weight_decay", ndim=0))
    if wd < 0:
        raise ValueError(f"weight_decay must be >= 0, got {wd}")
    eval_every = positive_int(eval_every, "eval_every")
    if not isinstance(params, (list, tuple)) or not all(isinstance(p, torch.Tensor) for p in params):
        raise TypeError("params must be a list of tensors (from init_params)")
    params = [p.detach().clone().requires_grad_(True) for p in params]
    B, dtype = params[0].shape[0], params[0].dtype
    n_train = y_train.shape[-1]
    if train_mask is None:
        mask = torch.ones((B, n_train), dtype=dtype, device=params[0].device)
    else:
        mask = torch.as_tensor(train_mask, dtype=dtype, device=params[0].device)
        if mask.shape != (B, n_train):
            raise ValueError(f"train_mask must have shape (B, N_train) = {(B, n_train)}, "
                             f"got {tuple(mask.shape)}")
        if torch.any(mask.sum(-1) == 0):
            raise ValueError("train_mask leaves a model with no training inputs")
    if optimizer == "gd":
        if wd > 0:
            raise ValueError("weight_decay is only available with optimizer='adam'")
        if lr.ndim > 1 or (lr.ndim == 1 and lr.shape[0] != B):
            raise ValueError(f"lr must be a scalar or have shape (B,) = ({B},), got {lr.shape}")
        lr_b = torch.as_tensor(np.broadcast_to(lr, (B,)).copy(), dtype=dtype, device=params[0].device)
        opt = None
    else:
        opt = (torch.optim.AdamW(params, lr=float(lr), weight_decay=wd) if wd > 0
               else torch.optim.Adam(params, lr=float(lr)))
    count = mask.sum(-1)
    rec_steps, tr_acc, te_acc, tr_loss = [], [], [], []

    def loss_and_logits():
        logits = forward(arch, params, x_train)
        ce = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]),
            (y_train if y_train.dim() == 2 else y_train.expand(B, -1)).reshape(-1),
            reduction="none").reshape(B, -1)
        return (ce * mask).sum(-1) / count, logits

    if progress:
        from tqdm.auto import tqdm
        it = tqdm(range(steps + 1), desc=f"{arch}: {B} models", leave=False)
    else:
        it = range(steps + 1)
    for k in it:
        per_model, logits = loss_and_logits()
        if k % eval_every == 0 or k == steps:
            with torch.no_grad():
                rec_steps.append(k)
                tr_loss.append(per_model.detach().cpu().numpy())
                tr_acc.append(accuracy(logits, y_train, mask).cpu().numpy())
                te = accuracy(forward(arch, params, x_test), y_test).cpu().numpy()
                te_acc.append(te)
            if stop_at_test_acc is not None and np.all(te >= stop_at_test_acc):
                break
        if k == steps:
            break
        if opt is None:
            grads = torch.autograd.grad(per_model.sum(), params)
            with torch.no_grad():
                for p_, g in zip(params, grads):
                    p_.sub_(lr_b.reshape(-1, *[1] * (p_.dim() - 1)) * g)
        else:
            opt.zero_grad(set_to_none=True)
            per_model.sum().backward()
            opt.step()
    return TrainResult(params=[p.detach() for p in params], steps=np.array(rec_steps),
                       train_acc=np.stack(tr_acc, 1), test_acc=np.stack(te_acc, 1),
                       train_loss=np.stack(tr_loss, 1))


# ----------------------------------------------------------------------------------------------
# Metrics
# ----------------------------------------------------------------------------------------------
def first_crossing(values, steps, threshold: float, *, log_interpolate: bool = False) -> np.ndarray:
    """For each row of ``values`` (B, T), where it first reaches ``threshold`` along ``steps``
    (T,), increasing: the first entry of ``steps`` with value ≥ threshold, or with
    ``log_interpolate`` the point between that entry and the one before it where the straight
    line in (log step, value) crosses the threshold. ``nan`` where the row never reaches it.
    Used for steps-to-generalise (test accuracy against step) and for the sample complexity
    (test accuracy against training-set size)."""
    values = np.atleast_2d(as_array(values, "values", ndim=(1, 2)))
    steps = as_array(steps, "steps", ndim=1)
    if values.shape[-1] != steps.shape[0]:
        raise ValueError(f"values has {values.shape[-1]} columns but steps has {steps.shape[0]} entries")
    if np.any(np.diff(steps) <= 0):
        raise ValueError("steps must be strictly increasing")
    if log_interpolate and np.any(steps <= 0):
        raise ValueError("log_interpolate needs positive steps")
    threshold = float(as_array(threshold, "threshold", ndim=0))
    hit = values >= threshold
    first = np.argmax(hit, axis=1)
    out = np.where(hit.any(axis=1), steps[first], np.nan)
    if log_interpolate:
        for b in np.flatnonzero(hit.any(axis=1) & (first > 0)):
            k = first[b]
            v0, v1 = values[b, k - 1], values[b, k]
            frac = (threshold - v0) / (v1 - v0)
            out[b] = np.exp(np.log(steps[k - 1]) + frac * (np.log(steps[k]) - np.log(steps[k - 1])))
    return out


def kernel_distance(K0, Kt, *, center: bool = False) -> np.ndarray:
    """Kernel distance S = 1 − ⟨K₀, K_t⟩_F / (‖K₀‖_F ‖K_t‖_F) (Fortuin et al. 2020; the
    paper's Section 3 and Fig. 1b use it for the NTK), batched over leading axes: 0 when the
    kernel only rescales, up to 1 when it turns orthogonal.

    ``center=True`` first centres both Gram matrices, K ← HKH with H = I − 11ᵀ/N (the distance
    then equals one minus the centred kernel alignment). Kernels of non-negative features, such
    as pooled ReLU maps, share a large constant component that the uncentred distance is
    dominated by; centring removes it.
    """
    K0 = as_array(K0, "K0", min_ndim=2)
    Kt = as_array(Kt, "Kt", min_ndim=2)
    if K0.shape != Kt.shape or K0.shape[-1] != K0.shape[-2]:
        raise ValueError(f"K0 and Kt must be square Gram matrices of one shape, got {K0.shape}, {Kt.shape}")
    if not isinstance(center, bool):
        raise TypeError(f"center must be a bool, got {type(center).__name__}")
    if center:
        n = K0.shape[-1]
        H = np.eye(n) - np.full((n, n), 1.0 / n)
        K0, Kt = H @ K0 @ H, H @ Kt @ H
    num = np.sum(K0 * Kt, axis=(-2, -1))
    den = np.linalg.norm(K0, axis=(-2, -1)) * np.linalg.norm(Kt, axis=(-2, -1))
    if np.any(den == 0):
        raise ValueError("a kernel is identically zero: the kernel distance is undefined")
    return 1.0 - num / den


def feature_gram(arch: str, params, x) -> np.ndarray:
    """Conjugate (last-hidden-layer) kernel K_φ(x, x') = φ(x)·φ(x') per model, (B, N, N)."""
    with torch.no_grad():
        phi = _features(arch, params, x)
        return (phi @ phi.transpose(1, 2)).cpu().numpy().astype(np.float64)


def ntk_gram(arch: str, params, x) -> np.ndarray:
    """Empirical neural tangent kernel, traced over the outputs, per model:

        Θ(x, x') = Σ_c Σ_θ ∂f_c(x)/∂θ · ∂f_c(x')/∂θ,   shape (B, N, N),

    all layers' weights θ included. Computed network by network from its full Jacobian (N·C
    rows): a single Jacobian of the whole batch would also hold the B² − B zero blocks between
    different networks, and is slower (``benchmarks/bench_rich_lazy_deep.py``). Keep the probe
    set x small.
    """
    from torch.func import jacrev

    out = []
    for b in range(params[0].shape[0]):
        pb = [p[b:b + 1].detach() for p in params]

        def f(*q):
            return forward(arch, list(q), x)[0]                              # (N, C)

        jac = jacrev(f, argnums=tuple(range(len(pb))))(*pb)                  # (N, C, 1, *shape)
        J = torch.cat([j.flatten(2) for j in jac], dim=-1)                   # (N, C, P)
        out.append(torch.einsum("ncp,mcp->nm", J, J).cpu().numpy().astype(np.float64))
    return np.stack(out)


def mean_imbalance(params) -> np.ndarray:
    """For a two-layer network (first layer W (B, H, d), readout A (B, C, H)), the mean over
    hidden neurons of δ_i = ‖a_i‖² − ‖w_i‖² (η = 1), the per-neuron quantity that gradient flow
    conserves in bias-free two-layer ReLU networks (the paper's Section 4 by our reading).
    Positive: upstream; negative: downstream. Shape (B,)."""
    if len(params) != 2:
        raise ValueError(f"mean_imbalance needs a two-layer network, got {len(params)} layers")
    W, A = params
    with torch.no_grad():
        d = (A**2).sum(1) - (W.flatten(2) ** 2).sum(-1)                    # (B, H)
    return d.mean(-1).cpu().numpy().astype(np.float64)
