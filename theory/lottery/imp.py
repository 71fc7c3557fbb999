"""Iterative magnitude pruning with rewinding, random pruning and one-shot pruning, batched.

The procedure (Frankle & Carbin 2019; Frankle et al. 2020; Paul et al. 2023, Sec. 2):

1. Train the dense network θ_0 → θ_k (the rewind point) → θ_T: the level-0 solution.
2. At level L, prune a fraction 1 − α of the surviving weights of the level-L solution
   (global magnitude, or at random as the baseline), giving the mask m_{L+1} ⊂ m_L.
3. Rewind: start from m_{L+1} ⊙ θ_k and retrain for T − k steps with the mask fixed, replaying
   the dense run's batches from step k: the level-(L+1) solution.

Every (method, rewind step, seed) is one configuration of a single batch: one dense run per
seed, then one batched retraining per level for all configurations together. One-shot pruning
prunes the dense solution straight to sparsity 1 − α^L, for every L at once, and retrains each.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from theory.core import Sweep, check_bool, check_scalar, check_seeds, config_seed, progress as _progress
from theory.lottery._checks import check_instance
from theory.lottery.data import Split
from theory.lottery.nets import MLP
from theory.lottery.pruning import METHODS, check_alpha, magnitude_prune, n_kept, random_prune
from theory.lottery.train import train_masked

__all__ = ["IMPSettings", "IMPRun", "dense_run", "matching", "run_imp", "run_one_shot"]


@dataclass(frozen=True)
class IMPSettings:
    """The training recipe shared by the dense run and every retraining.

    ``steps`` T (updates of SGD with momentum, batch ``batch_size``, constant ``lr``);
    ``alpha`` the fraction kept per level; ``levels`` the number of pruning levels; ``dtype``
    the training precision (float32 by default: IMP compares networks with networks, not with a
    closed form; the landscape page trains in float64).
    """

    @property
    def torch_dtype(self):
        return getattr(torch, self.dtype)

    steps: int = 600
    lr: float = 0.1
    batch_size: int = 64
    momentum: float = 0.9
    weight_decay: float = 0.0
    alpha: float = 0.8
    levels: int = 10
    dtype: str = "float32"

    def __post_init__(self):
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        check_scalar(self.steps, "steps", kind="int", min=1)
        check_scalar(self.lr, "lr", min=0.0, include_min=False)
        check_scalar(self.batch_size, "batch_size", kind="int", min=1)
        check_scalar(self.momentum, "momentum", min=0.0, max=1.0, include_max=False)
        check_scalar(self.weight_decay, "weight_decay", min=0.0)
        check_alpha(self.alpha)
        check_scalar(self.levels, "levels", kind="int", min=1)

    def check_rewinds(self, rewind_steps) -> tuple[int, ...]:
        r = np.atleast_1d(np.asarray(rewind_steps))
        if r.ndim != 1 or r.size == 0 or not np.issubdtype(r.dtype, np.integer):
            raise TypeError(f"rewind_steps must be a non-empty list of ints, got {rewind_steps!r}")
        if np.any(r < 0) or np.any(r >= self.steps):
            raise ValueError(f"rewind_steps must lie in [0, steps) = [0, {self.steps}) (a rewind "
                             f"step beyond training has no snapshot), got {r.tolist()}")
        return tuple(int(x) for x in r)


@dataclass
class IMPRun:
    """A batched IMP (or baseline) run.

    ``sweep``: the configurations (axes ``pruning``, ``rewind``, ``seed``). ``theta`` (G, L+1, P):
    each level's solution (level 0 the dense one), already masked; ``masks`` (G, L+1, D);
    ``rewind_theta`` (G, P): the unmasked rewind point of each configuration;
    ``train_error``, ``test_error``, ``train_loss``, ``test_loss`` (G, L+1).
    """

    net: MLP
    settings: IMPSettings
    sweep: Sweep
    theta: torch.Tensor
    masks: torch.Tensor
    rewind_theta: torch.Tensor
    train_error: np.ndarray
    test_error: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray
    meta: dict = field(default_factory=dict)

    @property
    def levels(self) -> np.ndarray:
        return np.arange(self.theta.shape[1])

    @property
    def sparsity(self) -> np.ndarray:
        """(G, L+1) the measured fraction of weights pruned."""
        return 1.0 - self.masks.mean(-1).numpy()

    def to_dataset(self):
        """The errors, losses and sparsities as an ``xarray.Dataset`` (pruning, rewind, seed, level)."""
        data = {k: getattr(self, k) for k in ("train_error", "test_error", "train_loss", "test_loss")}
        data["sparsity"] = self.sparsity
        return self.sweep.to_dataset(data, dims={k: ("level",) for k in data},
                                     coords={"level": self.levels},
                                     attrs={"alpha": self.settings.alpha, "steps": self.settings.steps,
                                            "widths": str(self.net.widths)})


def _evaluate(net: MLP, theta: torch.Tensor, split: Split):
    with torch.no_grad():
        return (net.error(theta, split.X_train, split.y_train).numpy(),
                net.error(theta, split.X_test, split.y_test).numpy(),
                net.loss(theta, split.X_train, split.y_train).numpy(),
                net.loss(theta, split.X_test, split.y_test).numpy())


def dense_run(net: MLP, split: Split, settings: IMPSettings, seeds, rewind_steps, *, progress=False):
    """Train one dense network per seed; return (θ_T (S, P), {k: θ_k (S, P)}).

    Seed s's initialisation and batches come from ``config_seed("lottery", "init"/"data", s)``.
    """
    _check_inputs(net, split, ("magnitude",))
    check_instance(settings, "settings", IMPSettings, "an IMPSettings")
    seeds = check_seeds(seeds, "seeds").tolist()
    rewinds = settings.check_rewinds(rewind_steps)
    check_bool(progress, "progress")
    init = net.init(np.array([config_seed("lottery", "init", s) for s in seeds]),
                    dtype=settings.torch_dtype)
    data = np.array([config_seed("lottery", "data", s) for s in seeds])
    theta, snaps = train_masked(net, init, None, split, data_seeds=data, start=0,
                                n_steps=settings.steps, lr=settings.lr,
                                batch_size=settings.batch_size, momentum=settings.momentum,
                                weight_decay=settings.weight_decay, record=list(rewinds) + [0],
                                progress=progress)
    return theta, {k: snaps[k] for k in rewinds}


def _check_inputs(net, split, methods):
    if not isinstance(net, MLP):
        raise TypeError(f"net must be a theory.lottery.MLP, got {type(net).__name__}")
    if not isinstance(split, Split):
        raise TypeError(f"split must be a theory.lottery.Split, got {type(split).__name__}")
    if split.n_features != net.widths[0]:
        raise ValueError(f"the network takes {net.widths[0]} inputs but the data have "
                         f"{split.n_features} features")
    if methods is None or isinstance(methods, str) or not hasattr(methods, "__iter__"):
        raise TypeError(f"methods must be a non-empty tuple of {METHODS}, got {methods!r}")
    methods = tuple(methods)
    bad = [m for m in methods if not isinstance(m, str) or m not in METHODS]
    if not methods or bad:
        raise ValueError(f"methods must be a non-empty subset of {METHODS}, got {methods!r}")
    return methods


def run_imp(net: MLP, split: Split, settings: IMPSettings = IMPSettings(), *, seeds=(0, 1, 2),
            rewind_steps=(0, 50), methods=("magnitude", "random"), progress=True) -> IMPRun:
    """IMP with rewinding for every (method, rewind step, seed), batched; see the module text.

    Level L keeps exactly ``round(α^L·D)`` weights. ``methods``: ``"magnitude"`` (IMP) and/or
    ``"random"`` (the same schedule, surviving weights removed at random).
    """
    methods = _check_inputs(net, split, methods)
    check_instance(settings, "settings", IMPSettings, "an IMPSettings")
    rewinds = settings.check_rewinds(rewind_steps)
    seeds = tuple(check_seeds(seeds, "seeds").tolist())
    check_bool(progress, "progress")
    sweep = Sweep(pruning=methods, rewind=rewinds, seed=seeds)
    dense, snaps = dense_run(net, split, settings, seeds, rewinds, progress=False)
    s_idx = np.array([seeds.index(s) for s in sweep.column("seed")])
    r_col = sweep.column("rewind").astype(np.int64)
    m_col = sweep.column("pruning")
    G, D, T = len(sweep), net.n_weights, settings.steps
    rewind_theta = torch.stack([snaps[int(r)][i] for r, i in zip(r_col, s_idx)])
    data = np.array([config_seed("lottery", "data", seeds[i]) for i in s_idx])
    prune_seeds = sweep.seeds("lottery", "random-prune", axes=("rewind", "seed"))
    thetas = [dense[s_idx]]
    masks = [torch.ones(G, D, dtype=torch.float64)]
    is_mag = torch.as_tensor(m_col == "magnitude")[:, None]
    for L in _progress(range(1, settings.levels + 1), desc="IMP levels", enable=progress):
        keep = n_kept(D, settings.alpha, L)
        w = thetas[-1][:, :D]
        mag = magnitude_prune(w, masks[-1], keep)
        rnd = random_prune(masks[-1], keep, prune_seeds, L)
        mask = torch.where(is_mag, mag, rnd)
        theta, _ = train_masked(net, rewind_theta, mask, split, data_seeds=data, start=r_col,
                                n_steps=T - r_col, lr=settings.lr, batch_size=settings.batch_size,
                                momentum=settings.momentum, weight_decay=settings.weight_decay)
        thetas.append(theta)
        masks.append(mask)
    theta = torch.stack(thetas, 1)
    ev = _evaluate(net, theta, split)
    return IMPRun(net, settings, sweep, theta, torch.stack(masks, 1), rewind_theta, *ev,
                  meta={"kind": "imp"})


def run_one_shot(net: MLP, split: Split, settings: IMPSettings = IMPSettings(), *, seeds=(0, 1, 2),
                 rewind_steps=(0, 50), progress=True) -> IMPRun:
    """One-shot magnitude pruning: the dense solution pruned straight to sparsity 1 − α^L for
    L = 1 … levels, rewound and retrained once — all levels in one batch.

    Returns an :class:`IMPRun` whose ``pruning`` axis is ``("one-shot",)``. Every level's mask
    is a top-k set of the same dense magnitudes, so the masks are nested here too; what differs
    from IMP is that no retraining happens between the levels.
    """
    _check_inputs(net, split, ("magnitude",))
    check_instance(settings, "settings", IMPSettings, "an IMPSettings")
    rewinds = settings.check_rewinds(rewind_steps)
    seeds = tuple(check_seeds(seeds, "seeds").tolist())
    check_bool(progress, "progress")
    sweep = Sweep(pruning=("one-shot",), rewind=rewinds, seed=seeds)
    dense, snaps = dense_run(net, split, settings, seeds, rewinds, progress=False)
    s_idx = np.array([seeds.index(s) for s in sweep.column("seed")])
    r_col = sweep.column("rewind").astype(np.int64)
    G, D, T, Lmax = len(sweep), net.n_weights, settings.steps, settings.levels
    rewind_theta = torch.stack([snaps[int(r)][i] for r, i in zip(r_col, s_idx)])
    data = np.array([config_seed("lottery", "data", seeds[i]) for i in s_idx])
    ones = torch.ones(G, D, dtype=torch.float64)
    w = dense[s_idx][:, :D]
    masks = [ones] + [magnitude_prune(w, ones, n_kept(D, settings.alpha, L)) for L in range(1, Lmax + 1)]
    big_mask = torch.cat(masks[1:])                                  # (Lmax·G, D), level-major
    rep = lambda a: np.tile(a, Lmax)                                 # noqa: E731
    theta, _ = train_masked(net, rewind_theta.repeat(Lmax, 1), big_mask, split,
                            data_seeds=rep(data), start=rep(r_col), n_steps=rep(T - r_col),
                            lr=settings.lr, batch_size=settings.batch_size,
                            momentum=settings.momentum, weight_decay=settings.weight_decay,
                            progress=progress)
    theta = torch.cat([dense[s_idx][:, None], theta.reshape(Lmax, G, -1).transpose(0, 1)], 1)
    ev = _evaluate(net, theta, split)
    return IMPRun(net, settings, sweep, theta, torch.stack(masks, 1), rewind_theta, *ev,
                  meta={"kind": "one-shot"})


def matching(run: IMPRun, tolerance: float = 0.01, *, split: str = "test") -> np.ndarray:
    """(G, L+1) booleans: level L of a configuration is *matching* when its ``split`` error is
    at most the dense (level-0) error of the same configuration plus ``tolerance``.

    The book's criterion (the paper's exact tolerance is not in the text available here): one
    percentage point by default, about two standard deviations of the dense test error over seeds
    at the laptop scale of this chapter.
    """
    if not isinstance(run, IMPRun):
        raise TypeError(f"run must be an IMPRun, got {type(run).__name__}")
    tol = check_scalar(tolerance, "tolerance", min=0.0)
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    err = run.test_error if split == "test" else run.train_error
    return err <= err[:, :1] + tol
