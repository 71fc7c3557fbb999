r"""Offline data and batched MLP classifiers for the class-manifold chapter (the shared API).

Data (:func:`load_data`), all float64 and in the data's own units (the cutting-plane search runs
there; ``lo``/``hi`` give the valid input range for a clamp):

- ``"digits"``: scikit-learn's 8×8 digits, D = 64, pixels 0..16;
- ``"digits"`` with ``upsample=n``: each image resized bilinearly to n×n (D = n², e.g. 16×16 =
  256; ``torch.nn.functional.interpolate``, ``align_corners=True``, so the values stay in 0..16);
- ``"mnist1d"``: MNIST-1D (Greydanus 2020) made offline by ``mnist1d.data.make_dataset(
  get_dataset_args())`` (its 4000 + 1000 examples pooled), D = 40; lo/hi its observed range.

Each is split into train and test by a permutation from ``config_seed(seed, "split", name)``.

Classifiers (:func:`train_classifiers`, the book's set-up): G fully connected ReLU networks
:math:`f(x) = W_L \sigma(\cdots \sigma(W_1 z + b_1) \cdots) + b_L` on the standardised input
:math:`z = (x - \mu)/s`, trained as one batch by :func:`theory.core.train_batched` (Adam, the mean
cross-entropy of a minibatch drawn with replacement). The standardisation is part of the network:
μ is the member's training mean and :math:`s_j = \sqrt{\sigma_j^2 + \tau^2}` with
:math:`\tau^2 = 0.01\,\overline{\sigma^2}` (a floor, so a pixel that is constant in training —
digits has several always-0 pixels — is not divided by 0). Every random draw of member g comes
from its own stream, so a member trains the same alone and inside any batch:

- initial weights: N(0, 2/fan_in) (He), biases 0, from ``config_seed(seed, "init", widths)`` — the
  same for every hyper-parameter, so members differing only in a hyper-parameter are paired;
- training subset (``train_fraction`` f): the first ⌈f N⌉ of a permutation from
  ``config_seed(seed, "subset")`` — nested across f;
- label randomisation (fraction ρ): example i's label is replaced by a uniform random class
  (possibly its own) when :math:`u_i < \rho`, u and the class from counter streams of
  ``config_seed(seed, "labels")`` — nested across ρ, fixed for the whole training;
- minibatches: indices from :func:`theory.core.counter_words` of ``config_seed(seed, "batches")``;
- input noise (σ_n, the robustness proxy): :math:`z + \sigma_n \xi`, ξ ~ N(0, I) fresh each step from
  ``config_seed(seed, "noise")``, in standardised units.

``label_randomisation``, ``train_fraction`` and ``input_noise`` take one value for all members or
one per member (a sequence as long as ``seeds``), so a sweep over them is one batch.
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch

from theory.core import (array_bytes, check_bool, check_finite_state, check_memory, check_seed, check_scalar, config_seed, counter_normal, counter_uniform, counter_words,
                         torch_generator, train_batched)

__all__ = ["DATASETS", "Classifiers", "Data", "load_data", "train_classifiers"]

DATASETS = ("digits", "mnist1d")


# ------------------------------------------------------------------------------------------- data
@dataclass(frozen=True)
class Data:
    """A classification data set: float64 tensors in the data's own units (not standardised),
    int64 labels, and the valid input range [lo, hi]."""

    name: str
    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    lo: float
    hi: float

    @property
    def D(self) -> int:
        return int(self.X_train.shape[1])

    @property
    def n_classes(self) -> int:
        return int(max(int(self.y_train.max()), int(self.y_test.max())) + 1)


@functools.lru_cache(maxsize=2)
def _raw(name: str):
    if name == "digits":
        from sklearn.datasets import load_digits
        d = load_digits()
        return np.asarray(d.data, dtype=np.float64), np.asarray(d.target, dtype=np.int64)
    import mnist1d.data
    d = mnist1d.data.make_dataset(mnist1d.data.get_dataset_args())
    X = np.concatenate([d["x"], d["x_test"]]).astype(np.float64)
    y = np.concatenate([d["y"], d["y_test"]]).astype(np.int64)
    return X, y


def load_data(name: str = "digits", *, seed: int = 0, test_fraction: float = 0.25,
              upsample: int | None = None) -> Data:
    """Load ``"digits"`` (D = 64; ``upsample=n`` ≥ 8 resizes to n×n bilinearly, D = n²) or
    ``"mnist1d"`` (D = 40), split by ``config_seed(seed, "split", name)`` with ``test_fraction`` of
    the examples held out."""
    if not isinstance(name, str) or name not in DATASETS:
        raise ValueError(f"name must be one of {DATASETS}, got {name!r}")
    seed = check_seed(seed)
    test_fraction = check_scalar(test_fraction, "test_fraction", min=0.0, max=1.0, include_min=False,
                                 include_max=False)
    if upsample is not None:
        upsample = check_scalar(upsample, "upsample", kind="int", min=8)
        if name != "digits":
            raise ValueError(f"upsample applies to the 8x8 digits only, got name={name!r}")
    X, y = _raw(name)
    X = torch.from_numpy(X.copy())
    if upsample is not None and upsample != 8:
        X = torch.nn.functional.interpolate(X.reshape(-1, 1, 8, 8), size=(upsample, upsample),
                                            mode="bilinear", align_corners=True).reshape(len(X), -1)
    if name == "digits":
        lo, hi = 0.0, 16.0
    else:
        lo, hi = float(X.min()), float(X.max())
    perm = np.random.default_rng(config_seed(seed, "split", name)).permutation(len(X))
    n_test = int(round(test_fraction * len(X)))
    if not 0 < n_test < len(X):
        raise ValueError(f"test_fraction={test_fraction} leaves an empty train or test set")
    te, tr = perm[:n_test], perm[n_test:]
    y = torch.from_numpy(y)
    full = f"{name}{upsample}x{upsample}" if upsample not in (None, 8) else name
    return Data(full, X[tr].contiguous(), y[tr].contiguous(), X[te].contiguous(), y[te].contiguous(), lo, hi)


# ------------------------------------------------------------------------------------ classifiers
def _mlp(params, z, n_layers):
    """z (G, N, D) → logits (G, N, C), ReLU between the layers."""
    h = z
    for l in range(n_layers):
        h = torch.baddbmm(params[f"b{l}"][:, None, :], h, params[f"W{l}"])
        if l < n_layers - 1:
            h = torch.relu(h)
    return h


@dataclass
class Classifiers:
    """G trained MLPs of one architecture (``widths`` = (D, hidden…, n_classes)): stacked float64
    parameters ``params`` (W{l} (G, in, out), b{l} (G, out)), the standardisation ``norm`` (mean and
    scale (G, D)), final accuracies (``train_accuracy`` on the member's own training subset and
    labels — randomised ones included, so it measures memorisation), ``snapshots`` (step → stacked
    params), ``train_labels`` (G, N) the labels each member was trained on (row i ↔
    ``data.X_train[i]``), ``train_subset`` the indices of each member's training examples, and the
    set-up in ``meta``."""

    widths: tuple
    params: dict
    data: Data
    meta: dict
    test_accuracy: np.ndarray
    train_accuracy: np.ndarray
    norm: dict = field(default_factory=dict)
    snapshots: dict = field(default_factory=dict)
    train_labels: torch.Tensor | None = None
    train_subset: tuple = ()

    @property
    def G(self) -> int:
        return int(self.params["W0"].shape[0])

    def _members(self, member):
        if isinstance(member, (numbers.Integral, np.integer)) and not isinstance(member, (bool, np.bool_)):
            members = [int(member)]
        elif isinstance(member, (Sequence, np.ndarray)) and not isinstance(member, (str, bytes)):
            members = list(member)
            if not members:
                raise ValueError("member must name at least one member")
            for m in members:
                if isinstance(m, (bool, np.bool_)) or not isinstance(m, (numbers.Integral, np.integer)):
                    raise TypeError(f"member must hold int indices, got {m!r}")
            members = [int(m) for m in members]
            if len(set(members)) != len(members):
                raise ValueError(f"member must not repeat an index, got {members}")
        else:
            raise TypeError(f"member must be an int or a list of ints, got {type(member).__name__}")
        for m in members:
            if not 0 <= m < self.G:
                raise ValueError(f"member index {m} out of range 0..{self.G - 1}")
        return members

    def logits_fn(self, member=0, *, step: int | None = None):
        r"""A callable x (N, D) → logits (N, n_classes), float64, of member ``member`` (an int), or
        of the ensemble of the members in a list: :math:`\log \frac1{|E|}\sum_{g \in E}
        \mathrm{softmax}(f_g(x))`, the log of the mean predicted distribution (its softmax is the
        ensemble's mean probability, so the cutting-plane loss is the ensemble's cross-entropy).
        ``step``: a snapshot step (``snapshot_steps`` of :func:`train_classifiers`) instead of the
        final parameters. Differentiable in x (the search takes gradients through it)."""
        members = self._members(member)
        if step is None:
            params = self.params
        else:
            if isinstance(step, bool) or not isinstance(step, numbers.Integral):
                raise TypeError(f"step must be an int snapshot step or None, got {type(step).__name__}")
            if int(step) not in self.snapshots:
                raise ValueError(f"step {step} is not a snapshot step; available: {sorted(self.snapshots)}")
            params = self.snapshots[int(step)]
        idx = torch.tensor(members)
        P = {k: v[idx] for k, v in params.items()}
        mu, sc = self.norm["mean"][idx], self.norm["scale"][idx]
        n_layers, D, single = len(self.widths) - 1, self.widths[0], len(members) == 1

        def fn(x):
            if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[1] != D:
                raise ValueError(f"x must be a tensor (N, D) = (N, {D}), got "
                                 f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
            z = (x.to(torch.float64)[None] - mu[:, None, :]) / sc[:, None, :]
            out = _mlp(P, z, n_layers)
            if single:
                return out[0]
            return torch.logsumexp(torch.log_softmax(out, -1), 0) - math.log(len(members))

        return fn

    def accuracy(self, X, y, member=0) -> float:
        """The fraction of (X, y) that member (or ensemble) ``member`` classifies correctly."""
        with torch.no_grad():
            pred = self.logits_fn(member)(torch.as_tensor(X, dtype=torch.float64)).argmax(-1)
        return float((pred == torch.as_tensor(y)).double().mean())


def _per_member(value, name, G, **limits):
    if isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, (str, bytes)):
        vals = list(value)
        if len(vals) != G:
            raise ValueError(f"{name} must be one number or one per seed ({G}), got {len(vals)}")
    else:
        vals = [value] * G
    return [check_scalar(v, name, **limits) for v in vals]


def train_classifiers(data: Data, *, hidden=(256, 256), seeds=(0,), steps: int = 600, lr: float = 2e-3,
                      batch_size: int = 128, label_randomisation=0.0, train_fraction=1.0, input_noise=0.0,
                      weight_decay: float = 0.0, snapshot_steps=None, progress=True) -> Classifiers:
    """Train one MLP per entry of ``seeds`` (with the per-member hyper-parameters, see the module
    docstring) as one batch; return the :class:`Classifiers`. ``snapshot_steps``: steps (0 =
    initialisation … ``steps``) whose parameters are kept for ``logits_fn(step=...)``."""
    if not isinstance(data, Data):
        raise TypeError(f"data must be a Data (load_data), got {type(data).__name__}")
    if isinstance(hidden, (numbers.Integral, np.integer)) and not isinstance(hidden, bool):
        hidden = (int(hidden),)
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, (Sequence, np.ndarray)) or not len(hidden):
        raise TypeError(f"hidden must be a non-empty tuple of layer widths, got {hidden!r}")
    hidden = tuple(check_scalar(h, "hidden", kind="int", min=1) for h in hidden)
    if isinstance(seeds, (numbers.Integral, np.integer)) and not isinstance(seeds, bool):
        seeds = (int(seeds),)
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, (Sequence, np.ndarray)) or not len(seeds):
        raise TypeError(f"seeds must be a non-empty sequence of ints, got {seeds!r}")
    seeds = [check_seed(s, "seeds") for s in seeds]
    G = len(seeds)
    steps = check_scalar(steps, "steps", kind="int", min=1)
    lr = check_scalar(lr, "lr", min=0.0, include_min=False)
    batch_size = check_scalar(batch_size, "batch_size", kind="int", min=1)
    weight_decay = check_scalar(weight_decay, "weight_decay", min=0.0)
    rho = _per_member(label_randomisation, "label_randomisation", G, min=0.0, max=1.0)
    frac = _per_member(train_fraction, "train_fraction", G, min=0.0, max=1.0, include_min=False)
    noise = _per_member(input_noise, "input_noise", G, min=0.0)
    snaps = [] if snapshot_steps is None else sorted({check_scalar(s, "snapshot_steps", kind="int", min=0,
                                                                   max=steps) for s in snapshot_steps})
    progress = check_bool(progress, "progress")
    X, y = data.X_train.to(torch.float64), data.y_train.to(torch.int64)
    N, D, C = X.shape[0], data.D, data.n_classes
    widths = (D, *hidden, C)
    n_par = sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))
    check_memory(array_bytes(G, n_par) * (4 + len(snaps)) + array_bytes(G, batch_size, max(widths)) * 2 * len(widths),
                 f"{G} MLPs of widths {widths}", hint="reduce hidden or the number of seeds")

    # per-member training subsets (nested in f), labels (nested in ρ), standardisation
    n_sub = [max(1, math.ceil(f * N)) for f in frac]
    subset = torch.zeros((G, N), dtype=torch.int64)
    labels = y.repeat(G, 1)
    mean, scale = torch.empty((G, D), dtype=torch.float64), torch.empty((G, D), dtype=torch.float64)
    for g, s in enumerate(seeds):
        perm = torch.from_numpy(np.random.default_rng(config_seed(s, "subset")).permutation(N))
        subset[g] = perm
        lab_seed = np.array([config_seed(s, "labels")], dtype=np.uint64)
        u = counter_uniform(lab_seed, 0, N, 0)[0]
        new = counter_words(lab_seed, 0, N, 1)[0] % C
        labels[g] = torch.where(u < rho[g], new, y)
        Xs = X[perm[:n_sub[g]]]
        var = Xs.var(0, unbiased=False)
        mean[g], scale[g] = Xs.mean(0), torch.sqrt(var + 0.01 * var.mean())
    n_sub_t = torch.tensor(n_sub, dtype=torch.int64)
    noise_t = torch.tensor(noise, dtype=torch.float64)
    batch_seeds = np.array([config_seed(s, "batches") for s in seeds], dtype=np.uint64)
    noise_seeds = np.array([config_seed(s, "noise") for s in seeds], dtype=np.uint64)

    params = {}
    gens = [torch_generator(config_seed(s, "init", *widths)) for s in seeds]
    for l, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        params[f"W{l}"] = torch.stack([torch.randn((a, b), generator=gen, dtype=torch.float64)
                                       for gen in gens]) * math.sqrt(2.0 / a)
        params[f"b{l}"] = torch.zeros((G, b), dtype=torch.float64)
    n_layers = len(widths) - 1
    garange = torch.arange(G)[:, None]

    def loss_fn(P, step):
        pos = counter_words(batch_seeds, step, batch_size, 0) % n_sub_t[:, None]       # (G, B)
        idx = torch.gather(subset, 1, pos)
        z = (X[idx] - mean[:, None, :]) / scale[:, None, :]
        if bool((noise_t > 0).any()):
            z = z + noise_t[:, None, None] * counter_normal(noise_seeds, step, (batch_size, D), 0)
        logits = _mlp(P, z, n_layers)
        lab = labels[garange, idx]
        return torch.nn.functional.cross_entropy(logits.reshape(-1, C), lab.reshape(-1),
                                                 reduction="none").reshape(G, batch_size).mean(1)

    def metrics(P, step):
        return {k: v.clone() for k, v in P.items()}

    res = train_batched(params, steps=steps, lr=lr, loss_fn=loss_fn, optimizer="adam",
                        weight_decay=weight_decay, record=snaps or None, metrics=metrics if snaps else None,
                        progress="training classifiers" if progress else False)
    final = {k: torch.from_numpy(v) for k, v in res.params.items()}
    for v in final.values():
        check_finite_state(v, what="training the classifiers (Adam)", step=steps)
    snapshots = {}
    if snaps:
        rec = list(res.steps)
        for s in snaps:
            j = rec.index(s)
            snapshots[s] = {k: torch.from_numpy(res.metrics[k][:, j].copy()) for k in final}
    meta = {"seeds": tuple(seeds), "steps": steps, "lr": lr, "batch_size": batch_size,
            "label_randomisation": tuple(rho), "train_fraction": tuple(frac), "input_noise": tuple(noise),
            "weight_decay": weight_decay, "n_train": tuple(n_sub), "optimizer": "adam"}
    out = Classifiers(widths, final, data, meta, np.zeros(G), np.zeros(G),
                      norm={"mean": mean, "scale": scale}, snapshots=snapshots, train_labels=labels,
                      train_subset=tuple(subset[g, :n_sub[g]].clone() for g in range(G)))
    with torch.no_grad():
        zt = (data.X_test.to(torch.float64)[None] - mean[:, None]) / scale[:, None]
        logits = _mlp(final, zt, n_layers)
        check_finite_state(logits, what="training the classifiers (Adam)", step=steps,
                           hint="reduce lr: the trained networks' logits are not finite")
        out.test_accuracy = (logits.argmax(-1) == data.y_test[None]).double().mean(1).numpy()
        ztr = (X[None] - mean[:, None]) / scale[:, None]
        pred = _mlp(final, ztr, n_layers).argmax(-1)
        inside = torch.zeros((G, N), dtype=torch.bool)
        for g in range(G):
            inside[g, subset[g, :n_sub[g]]] = True
        out.train_accuracy = (((pred == labels) & inside).sum(1).double() / inside.sum(1)).numpy()
    return out
