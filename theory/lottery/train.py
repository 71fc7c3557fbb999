"""Masked, batched SGD with rewinding, on :func:`theory.core.train_batched`.

Configuration g trains the effective parameters θ ⊙ m̂_g (m̂ = the weight mask extended by ones
over the biases) from ``theta0[g]`` at absolute step ``start[g]`` for ``n_steps[g]`` updates of
SGD with momentum on the minibatch cross-entropy. The minibatch at absolute step s is drawn with
replacement from the stream of ``data_seeds[g]`` (:func:`theory.core.counter_words`), so a run
rewound to step k and retrained replays exactly the batches the dense run saw from step k on —
the data order of IMP with rewinding (Frankle et al. 2020). A fresh optimiser starts at every
call; the learning rate is a constant. Configurations with fewer steps than the longest are
frozen (learning rate zero) once their steps are done, so rewind points of different lengths
share one batch.
"""

from __future__ import annotations

import numpy as np
import torch

from theory.core import (DivergenceError, array_bytes, check_bool, check_memory, check_scalar,
                         check_seeds, counter_words, train_batched)
from theory.lottery._checks import as_mask, as_tensor, check_instance, check_int_list
from theory.lottery.data import Split
from theory.lottery.nets import MLP, _as_theta

__all__ = ["train_masked"]


def _per_config_int(x, name: str, G: int, *, min_value: int = 0) -> np.ndarray:
    if x is None or isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be an int or (G,) = ({G},) ints, got {type(x).__name__}")
    arr = np.asarray(x)
    if arr.ndim == 0:
        arr = np.full(G, arr)
    if arr.shape != (G,) or arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must be an int or (G,) = ({G},) ints, got {x!r}")
    if np.any(arr < min_value):
        raise ValueError(f"{name} must be >= {min_value}, got min {arr.min()}")
    return arr.astype(np.int64)


def train_masked(net: MLP, theta0, mask, split, *, data_seeds, start=0, n_steps, lr,
                 batch_size: int = 64, momentum: float = 0.9, weight_decay: float = 0.0,
                 record=None, progress=False):
    """Train G masked configurations; return (θ_final (G, P) with θ ⊙ m̂ applied, snapshots).

    ``theta0`` (G, P); ``mask`` (G, D) or None (dense); ``split`` a :class:`~theory.lottery.Split`;
    ``data_seeds`` (G,) ints, the minibatch streams; ``start``, ``n_steps``: ints or (G,) ints
    (absolute start step and number of updates). ``record``: absolute steps at which to keep
    θ (only for a batch with one common ``start``); the snapshots come back as a dict step →
    (G, P). Gradients are exact per configuration (the trainer differentiates the sum).
    """
    if not isinstance(net, MLP):
        raise TypeError(f"net must be a theory.lottery.MLP, got {type(net).__name__}")
    theta0 = _as_theta(as_tensor(theta0, "theta0", ndim=2, nonempty=True), net.n_params, "theta0")
    G = theta0.shape[0]
    check_instance(split, "split", Split, "a theory.lottery.Split")
    if split.n_features != net.widths[0]:
        raise ValueError(f"split has {split.n_features} features but net takes {net.widths[0]} inputs")
    if mask is None:
        m = torch.ones(G, net.n_weights, dtype=torch.float64)
    else:
        m = net.check_mask(as_mask(mask, "mask", ndim=2), G)
    mhat = net.full_mask(m).to(theta0.dtype)
    seeds = check_seeds(data_seeds, "data_seeds")
    if seeds.shape != (G,):
        raise ValueError(f"data_seeds must be (G,) = ({G},) ints, got {data_seeds!r}")
    start = _per_config_int(start, "start", G)
    n_steps = _per_config_int(n_steps, "n_steps", G)
    batch_size = check_scalar(batch_size, "batch_size", kind="int", min=1)
    lr = check_scalar(lr, "lr", min=0.0, include_min=False)
    momentum = check_scalar(momentum, "momentum", min=0.0, max=1.0, include_max=False)
    weight_decay = check_scalar(weight_decay, "weight_decay", min=0.0)
    check_bool(progress, "progress")
    total = int(n_steps.max())
    if total < 1:
        raise ValueError("n_steps must be at least 1 for some configuration")
    check_memory(array_bytes(total, G, batch_size) + 2 * array_bytes(G, batch_size, net.widths[0])
                 + 2 * array_bytes(G, batch_size, max(net.widths)),
                 f"{G} configurations × {total} steps of minibatches of {batch_size}",
                 hint="reduce batch_size or n_steps")
    snaps = {}
    rec = []
    if record is not None:
        if len(set(start.tolist())) != 1:
            raise ValueError("record= needs one common start step for the batch")
        rec = sorted({int(s) for s in check_int_list(record, "record", lo=0)})
        s0 = int(start[0])
        bad = [s for s in rec if not s0 <= s <= s0 + total]
        if bad:
            raise ValueError(f"record steps {bad} lie outside the run [{s0}, {s0 + total}]")
    X, y = split.X_train.to(theta0.dtype), split.y_train
    n = X.shape[0]

    # Every configuration's minibatch indices for all its steps at once: (total, G, B).
    idx = torch.empty(total, G, batch_size, dtype=torch.int64)
    offsets = torch.arange(total, dtype=torch.int64)
    for s0 in np.unique(start):
        rows = np.flatnonzero(start == s0)
        idx[:, torch.as_tensor(rows)] = counter_words(seeds[rows], int(s0) + offsets, (batch_size,)) % n

    def batch(step: int):
        i = idx[step]
        return X[i], y[i]

    def loss_fn(P, step):
        Xb, yb = batch(step)
        theta = P["theta"] * mhat
        z = net.logits(theta, Xb)                                   # (G, B, c)
        lp = torch.log_softmax(z, dim=-1)
        return -lp.gather(-1, yb.unsqueeze(-1)).squeeze(-1).mean(-1)

    if np.all(n_steps == total):
        rate = lr
    else:
        def rate(step):
            return np.where(step < n_steps, lr, 0.0)

    def metrics(P, step):
        return {"theta": (P["theta"] * mhat).clone()}

    res = train_batched({"theta": theta0 * mhat}, steps=total, lr=rate, loss_fn=loss_fn,
                        optimizer="sgd", momentum=momentum, weight_decay=weight_decay,
                        record=[s - int(start[0]) for s in rec] if rec else [total],
                        metrics=metrics, progress=progress)
    if rec:
        for i, s in enumerate(rec):
            snaps[s] = torch.as_tensor(res["theta"][:, list(res.steps).index(s - int(start[0]))])
    theta = torch.as_tensor(res.params["theta"]) * mhat
    if not bool(torch.isfinite(theta).all()):
        bad = np.flatnonzero(~torch.isfinite(theta).all(1).numpy()).tolist()
        raise DivergenceError(f"masked SGD diverged: the parameters of configurations {bad[:8]} are no "
                              f"longer finite (NaN or inf) after {total} steps; reduce the learning rate "
                              f"lr={lr!r}", step=total, what="masked SGD")
    return theta, snaps
