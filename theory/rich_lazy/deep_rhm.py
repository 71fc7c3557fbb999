"""Sample complexity of the random hierarchy model for an MLP from upstream and downstream starts
(Kunin et al. 2024, §5, Fig. 6c; set-up App. D.3 "Random hierarchy model", p. 40).

The paper's set-up (App. D.3): the code of Petrini et al. / Cagnetta et al. (PRX 2024), an MLP
of width 64 with three hidden layers and no biases on the flattened one-hot input (s^L × v),
grammar L = 3, n_c = 8, m = 4, s = 2, v = 8; the first layer's initialisation scaled by 1/α and
the readout's by α, α ∈ {0.03, 0.1, 0.3, 1, 3, 10} (α ≫ 1: upstream); the training-set size a
fraction of the n_c m^{(s^L−1)/(s−1)} inputs the grammar can generate; test accuracy on 20 000
held-out samples averaged over 6 seeds (each seeds the grammar, the network and the data); SGD
with momentum 0.9, 250 epochs, batch 128, learning rate 0.1 × width = 6.4 decayed with a cosine
schedule "down to 80 % of epochs", no weight decay.

The parameterisation is that of the same code base (read, not copied): weights N(0, 1), each
hidden layer h ← relu(W h / √fan_in), the readout f = W_L h / fan_in (a mean-field readout,
the scale the learning rate 0.1 × width is made for). The schedule is read here as
η(e) = η₀ · ½(1 + cos(π · min(1, e / (0.8 E)))) per epoch e of E (zero for the last 20 %):
**the book's reading** of the sentence. Training samples are drawn i.i.d. from the grammar (so a
training set may repeat an input; the paper's fraction-of-all-inputs sampling is without
replacement) and the test samples likewise, independently of them.
"""

from __future__ import annotations

import numpy as np
import torch

from theory.core import (DivergenceError, Sweep, array_bytes, as_array, check_bool, check_memory,
                         check_scalar, check_seeds, config_seed, first_crossing,
                         progress as _progress, resolve_device, resolve_dtype, torch_generator,
                         train_batched)
from theory.rich_lazy.deep import (_alpha_seed_batch, _alphas, _check_sizes, _labels,
                                   random_hierarchy, sample_hierarchy)

__all__ = ["RHM_ALPHAS", "cosine_rate", "mlp_forward", "mlp_init", "one_hot_inputs",
           "rhm_mlp_sample_complexity", "train_mlp_sgd"]

#: the paper's α grid for the random hierarchy model (App. D.3, p. 40)
RHM_ALPHAS = (0.03, 0.1, 0.3, 1.0, 3.0, 10.0)

_SALT = "rich_lazy.deep_rhm.init"


def one_hot_inputs(x, v: int) -> torch.Tensor:
    """Symbol strings (N, s^L) in [0, v) → flattened one-hot inputs (N, s^L · v), float."""
    v = check_scalar(v, "v", kind="int", min=2)
    if x is None or isinstance(x, (str, bytes, bool, np.bool_)):
        raise TypeError(f"x must be an array of integer symbols, got {type(x).__name__}")
    if not isinstance(x, torch.Tensor):
        arr = np.asarray(x)
        if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"x must hold integer symbols in [0, {v}), got dtype {arr.dtype}")
        x = torch.as_tensor(arr)
    if x.dtype == torch.bool or x.dtype.is_floating_point or x.is_complex():
        raise TypeError(f"x must hold integer symbols in [0, {v}), got {x.dtype}")
    if x.dim() != 2 or (x.numel() and (x.min() < 0 or x.max() >= v)):
        raise ValueError(f"x must be (N, length) symbols in [0, {v}), got shape {tuple(x.shape)}")
    check_memory(array_bytes(*x.shape, v), f"one-hot inputs {tuple(x.shape)} × {v}")
    return torch.nn.functional.one_hot(x.long(), v).flatten(1)


def mlp_init(alpha, seeds, *, d_in: int, width: int = 64, hidden: int = 3, d_out: int,
             device=None, dtype=torch.float32) -> list[torch.Tensor]:
    """Batched weights (G, out, in), first layer first: N(0, 1) entries from the seed's own stream
    (``torch_generator(config_seed("rich_lazy.deep_rhm.init", seed))``, the same for every α and
    in any batch), then the first layer × 1/α and the readout × α (App. D.3). The network is
    bias-free ReLU, positively homogeneous in each layer, so its function at initialisation does
    not depend on α."""
    alpha, seeds = _alpha_seed_batch(alpha, seeds)
    G = alpha.shape[0]
    d_in = check_scalar(d_in, "d_in", kind="int", min=1)
    width = check_scalar(width, "width", kind="int", min=1)
    hidden = check_scalar(hidden, "hidden", kind="int", min=1)
    d_out = check_scalar(d_out, "d_out", kind="int", min=1)
    shapes = [(width, d_in)] + [(width, width)] * (hidden - 1) + [(d_out, width)]
    dev = resolve_device(device)
    dtype = resolve_dtype(dtype)
    check_memory(sum(array_bytes(G, *sh) for sh in shapes) + 2 * max(array_bytes(*sh) for sh in shapes),
                 f"the weights of {G} MLPs of width {width} on {d_in} inputs")
    out = [torch.empty((G, *sh), dtype=dtype, device=dev) for sh in shapes]
    for g in range(G):
        gen = torch_generator(config_seed(_SALT, int(seeds[g])))
        for k, sh in enumerate(shapes):
            w = torch.randn(sh, generator=gen, dtype=torch.float64)
            w = w / float(alpha[g]) if k == 0 else w * float(alpha[g]) if k == len(shapes) - 1 else w
            out[k][g] = w.to(dtype)
    return out


def mlp_forward(W, x: torch.Tensor) -> torch.Tensor:
    """Logits (G, N, d_out): h ← relu(W_l h / √fan_in) for the hidden layers, f = W_L h / fan_in.
    ``x`` (N, d_in) shared or (G, N, d_in)."""
    W = _weights(W, "W")
    x = _features_in(x, "x", W)
    return _mlp_forward(W, x)


def _weights(W, name: str) -> list:
    """A list of float weight tensors (G, out, in), chained, one leading G."""
    if not isinstance(W, (list, tuple)) or not W or not all(
            isinstance(w, torch.Tensor) and w.dtype.is_floating_point and w.dim() == 3 for w in W):
        raise TypeError(f"{name} must be a list of float weight tensors (G, out, in) (from mlp_init)")
    if len({w.shape[0] for w in W}) != 1 or any(a.shape[1] != b.shape[2] for a, b in zip(W, W[1:])):
        raise ValueError(f"{name} must share the leading G and chain (out of one = in of the next), "
                         f"got {[tuple(w.shape) for w in W]}")
    return list(W)


def _features_in(x, name: str, W) -> torch.Tensor:
    """Inputs (N, d_in) or (G, N, d_in), finite, in the weights' dtype and device."""
    if isinstance(x, torch.Tensor):
        if x.dtype == torch.bool or x.is_complex():
            raise TypeError(f"{name} must hold real numbers, got {x.dtype}")
        t = x.to(dtype=W[0].dtype, device=W[0].device)
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"{name} must be finite (no NaN or inf)")
    else:
        t = torch.as_tensor(as_array(x, name), dtype=W[0].dtype, device=W[0].device)
    G, d_in = W[0].shape[0], W[0].shape[-1]
    if t.dim() not in (2, 3) or t.shape[-1] != d_in or t.shape[-2] == 0 or (t.dim() == 3 and t.shape[0] != G):
        raise ValueError(f"{name} must be (N, {d_in}) or (G = {G}, N, {d_in}) with N ≥ 1, got "
                         f"shape {tuple(t.shape)}")
    return t


def _mlp_forward(W, x: torch.Tensor) -> torch.Tensor:
    h = x.to(W[0].dtype)
    for k, Wl in enumerate(W):
        eq = "nk,ghk->gnh" if h.dim() == 2 else "gnk,ghk->gnh"
        last = k == len(W) - 1
        h = torch.einsum(eq, h, Wl) / (Wl.shape[-1] if last else Wl.shape[-1] ** 0.5)
        if not last:
            h = torch.relu(h)
    return h


def cosine_rate(lr0: float, epochs: int, batches: int, *, until: float = 0.8):
    """The schedule as a function of the step: η = η₀ · ½(1 + cos(π min(1, e/(until·E)))), e the
    epoch of the step (``batches`` steps an epoch, E = ``epochs``); the book's reading of App. D.3."""
    lr0 = check_scalar(lr0, "lr0", min=0.0, include_min=False)
    epochs = check_scalar(epochs, "epochs", kind="int", min=1)
    batches = check_scalar(batches, "batches", kind="int", min=1)
    until = check_scalar(until, "until", min=0.0, max=1.0, include_min=False)

    def rate(step: int) -> float:
        e = step // batches
        return lr0 * 0.5 * (1.0 + np.cos(np.pi * min(1.0, e / (until * epochs))))

    return rate


def train_mlp_sgd(W0, x_train, y_train, seeds, *, epochs: int, lr0: float, batch: int = 128,
                  momentum: float = 0.9, progress=False):
    """Mini-batch SGD with momentum (:func:`theory.core.train_batched`, no weight decay) on the mean
    cross-entropy, :func:`cosine_rate`. ``x_train`` (G, N, d_in), ``y_train`` (G, N): each
    configuration its own data; configuration g visits its data in the order of
    ``np.random.default_rng(config_seed("rich_lazy.deep_rhm.batches", seeds[g], epoch))``
    (one permutation an epoch, batches of ``batch``, the last one shorter). Returns the trained
    weights (list of tensors)."""
    W0 = _weights(W0, "W0")
    G = W0[0].shape[0]
    x_train = _features_in(x_train, "x_train", W0)
    if x_train.dim() != 3:
        raise ValueError(f"x_train must be (G, N, d_in): each configuration its own data, got shape "
                         f"{tuple(x_train.shape)}")
    N = x_train.shape[1]
    y_train = _labels(y_train, "y_train", W0[-1].shape[1], G, N, W0[0].device)
    if y_train.dim() != 2:
        raise ValueError(f"y_train must be (G, N) = ({G}, {N}), got shape {tuple(y_train.shape)}")
    seeds = check_seeds(seeds, "seeds")
    if seeds.shape not in ((1,), (G,)):
        raise ValueError(f"seeds must be one seed or one per configuration (G = {G}), got {seeds.size}")
    seeds = np.broadcast_to(seeds, (G,))
    epochs = check_scalar(epochs, "epochs", kind="int", min=1)
    batch = check_scalar(batch, "batch", kind="int", min=1)
    lr0 = check_scalar(lr0, "lr0", min=0.0, include_min=False)
    momentum = check_scalar(momentum, "momentum", min=0.0, max=1.0, include_max=False)
    progress = check_bool(progress, "progress")
    nb = -(-N // batch)
    cache: dict = {}

    def order(epoch):
        if epoch not in cache:
            cache.clear()
            perms = np.stack([np.random.default_rng(config_seed("rich_lazy.deep_rhm.batches", int(s), epoch))
                              .permutation(N) for s in seeds])
            cache[epoch] = torch.as_tensor(perms, device=y_train.device)
        return cache[epoch]

    names = [f"W{k + 1}" for k in range(len(W0))]

    def loss_fn(P, step):
        e, b = divmod(step, nb)
        idx = order(e)[:, b * batch:(b + 1) * batch]                        # (G, B)
        xb = x_train.gather(1, idx[..., None].expand(-1, -1, x_train.shape[-1]))
        if b == 0 and e > 0:                      # once an epoch: one reduction on the readout
            _check_epoch(P[names[-1]], e, step)
        logits = _mlp_forward([P[n] for n in names], xb)
        yb = y_train.gather(1, idx)
        return torch.nn.functional.cross_entropy(logits.flatten(0, 1), yb.flatten(),
                                                 reduction="none").reshape(G, -1).mean(-1)

    res = train_batched(dict(zip(names, W0)), steps=epochs * nb, lr=cosine_rate(lr0, epochs, nb),
                        loss_fn=loss_fn, optimizer="sgd", momentum=momentum, progress=progress)
    out = [torch.as_tensor(res.params[n], device=W0[0].device) for n in names]
    for w in out:
        _check_epoch(w, epochs, epochs * nb)
    return out


def _check_epoch(w: torch.Tensor, epoch: int, step: int) -> None:
    if not bool(torch.isfinite(w).all()):
        g = int(torch.nonzero(~torch.isfinite(w.flatten(1)).all(1))[0, 0])
        raise DivergenceError(f"SGD of the MLPs (train_mlp_sgd) diverged by epoch {epoch} (step "
                              f"{step}) in configuration {g}: its weights are no longer finite "
                              f"(NaN or inf); reduce the learning rate lr0", step=step,
                              what="train_mlp_sgd")


def _accuracy(W, x, y) -> np.ndarray:
    with torch.no_grad():
        out = _mlp_forward(W, x)
        return ((out.argmax(-1) == y).double().mean(-1)).cpu().numpy()


def rhm_mlp_sample_complexity(v: int = 8, n_classes: int = 8, m: int = 4, s: int = 2, L: int = 3, *,
                              sizes, alphas=RHM_ALPHAS, seeds, width: int = 64, hidden: int = 3,
                              epochs: int = 250, batch: int = 128, lr_per_width: float = 0.1,
                              n_test: int = 20_000, threshold: float = 0.5, device=None,
                              dtype=torch.float32, progress: bool = True):
    """Test accuracy of the App. D.3 MLP on the RHM over training-set sizes P, and P*.

    For each seed q: grammar ``random_hierarchy(v, n_classes, m, s, L, seed=q)``, ``n_test`` test
    samples (seed 10 000 + q), for each P the first P of one stream of training samples (seed
    20 000 + q; nested training sets), the network :func:`mlp_init` (the same draw for every P),
    trained by :func:`train_mlp_sgd` with η₀ = ``lr_per_width`` × width. All
    ``Sweep(alpha=alphas, seed=seeds)`` configurations of one P train as one batch. The paper
    plots the test accuracy against P (Fig. 6c) and states no threshold; P* here is where the
    test accuracy first reaches ``threshold``, linear in log P between the sizes (the book's
    summary), NaN if it never does. Returns an ``xarray.Dataset`` over (alpha, seed, P) with
    ``test_accuracy``, ``train_accuracy`` and ``p_star`` (alpha, seed).
    """
    sizes = _check_sizes(sizes)
    threshold = check_scalar(threshold, "threshold", min=0.0, max=1.0)
    n_test = check_scalar(n_test, "n_test", kind="int", min=1)
    lr_per_width = check_scalar(lr_per_width, "lr_per_width", min=0.0, include_min=False)
    width = check_scalar(width, "width", kind="int", min=1)
    progress = check_bool(progress, "progress")
    dtype = resolve_dtype(dtype)
    sweep = Sweep(alpha=_alphas(alphas).tolist(), seed=check_seeds(seeds, "seeds").tolist())
    A, S = sweep.column("alpha"), sweep.column("seed")
    dev = resolve_device(device)
    qs = list(sweep.axes["seed"])
    gram = {q: random_hierarchy(v, n_classes, m, s, L, seed=q) for q in qs}
    test = {q: sample_hierarchy(gram[q], n_test, seed=10_000 + q) for q in qs}
    pool = {q: sample_hierarchy(gram[q], int(sizes[-1]), seed=20_000 + q) for q in qs}

    def stack(fn):
        return torch.stack([fn(int(q)) for q in S]).to(dev)

    xte = stack(lambda q: one_hot_inputs(test[q][0], v).to(dtype))
    yte = stack(lambda q: torch.as_tensor(test[q][1]))
    W0 = mlp_init(A, S, d_in=v * s ** L, width=width, hidden=hidden, d_out=n_classes, device=dev, dtype=dtype)
    te, tr = [], []
    for P in _progress(sizes.tolist(), desc=f"RHM MLP: {len(sizes)} sizes × {len(sweep)} networks",
                       enable=progress):
        xtr = stack(lambda q: one_hot_inputs(pool[q][0][:P], v).to(dtype))
        ytr = stack(lambda q: torch.as_tensor(pool[q][1][:P]))
        W = train_mlp_sgd(W0, xtr, ytr, S, epochs=epochs, lr0=lr_per_width * width, batch=batch)
        te.append(_accuracy(W, xte, yte))
        tr.append(_accuracy(W, xtr, ytr))
    te, tr = np.stack(te, 1), np.stack(tr, 1)
    p_star = first_crossing(te, sizes, threshold, direction="above", interpolate="log")
    ds = sweep.to_dataset({"test_accuracy": te, "train_accuracy": tr, "p_star": p_star},
                          dims={"test_accuracy": ("P",), "train_accuracy": ("P",), "p_star": ()},
                          coords={"P": sizes})
    ds.attrs.update(v=v, n_classes=n_classes, m=m, s=s, L=L, width=width, hidden=hidden, epochs=epochs,
                    batch=batch, lr0=lr_per_width * width, n_test=n_test, threshold=threshold,
                    n_inputs=gram[qs[0]].n_inputs)
    return ds
