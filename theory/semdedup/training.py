"""Training on SemDeDup-pruned data against random pruning to the same size, on the digits.

The book's reconstruction, at laptop scale, of the paper's training claim. The abstract: on a
LAION subset SemDeDup removes 50% of the data "with minimal performance loss", and the notes
(``papers-1-5.md`` §5(c), not verified against the paper's text) report that random pruning to the
same size loses more. Here the data set is the digits corpus of :mod:`theory.semdedup.images`
(the corpus split plus injected exact, shifted, noised and contrast-changed copies: heavy with
duplicates, so that a random subset keeps many redundant copies while SemDeDup should remove
them), and three *arms* train the same classifier for the same number of steps:

- ``"full"``: every point of the corpus;
- ``"semdedup"``: the points SemDeDup keeps (:func:`theory.semdedup.semdedup`, greedy, the
  official rule remove j iff M_j > 1 − ε, ``keep`` order, k clusters, k-means seed 1234 + seed),
  at the ε that keeps ``kept_fraction`` of the points, solved exactly from M
  (:meth:`~theory.semdedup.SemDeDupResult.eps_for_kept_fraction`);
- ``"random"``: a uniformly random subset of the same size as that seed's SemDeDup subset
  (``numpy`` generator seeded with ``config_seed("semdedup.train.random", seed)``).

The default ``kept_fraction`` is the share of distinct groups, n_groups/n: the size a perfect
deduplication would keep. The design is fixed before measuring (see the notebook): it is not
tuned to make SemDeDup win.

The classifier is an MLP 64 → hidden (ReLU) → 10 on the pixels/16, trained by SGD with momentum on
the mean cross-entropy, minibatches drawn with replacement from the arm's subset. Every (arm, seed)
configuration trains at once in one batched program (:func:`theory.core.train_batched`, a
:class:`theory.core.Sweep` over ``arm`` × ``seed``); a seed fixes the initialisation and the
minibatch stream (:func:`theory.core.counter_words`, keyed on the seed only), so the three arms of
one seed start from the same weights and draw the same random words: paired comparisons.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from theory.core import (COLORS, Result, Sweep, check_bool, check_scalar, config_seed, counter_words, figure,
                         record_steps, scaled, torch_generator, train_batched)
from theory.semdedup.images import PIXEL_MAX, DigitCorpus

__all__ = ["ARMS", "TrainingSetup", "accuracy_table", "arm_subsets", "distinct_groups", "final_accuracy",
           "paired_gain", "train_arms", "training_figure", "training_report"]

ARMS = ("full", "semdedup", "random")
ARM_COLORS = {"full": "theory", "semdedup": "blue", "random": "orange"}


@dataclass(frozen=True)
class TrainingSetup:
    """The training design. ``kept_fraction=None``: the corpus's share of distinct groups."""

    seeds: tuple = (0, 1, 2, 3, 4)
    steps: int = 2000
    batch_size: int = 32
    lr: float = 0.05
    momentum: float = 0.9
    hidden: int = 128
    record_every: int = 50
    k: int = 10
    keep: str = "hard"
    kept_fraction: float | None = None

    def __post_init__(self):
        seeds = tuple(self.seeds)
        if not seeds:
            raise ValueError("seeds must hold at least one seed")
        for s in seeds:
            check_scalar(s, "seeds[i]", kind="int", min=0, max=2**31 - 1)
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds holds repeated seeds: {seeds}")
        object.__setattr__(self, "seeds", seeds)
        check_scalar(self.steps, "steps", kind="int", min=1)
        check_scalar(self.batch_size, "batch_size", kind="int", min=1)
        check_scalar(self.lr, "lr", min=0.0, include_min=False)
        check_scalar(self.momentum, "momentum", min=0.0, max=1.0, include_max=False)
        check_scalar(self.hidden, "hidden", kind="int", min=1)
        check_scalar(self.record_every, "record_every", kind="int", min=1)
        check_scalar(self.k, "k", kind="int", min=1)
        if self.keep not in ("hard", "easy", "random"):
            raise ValueError(f"keep must be 'hard', 'easy' or 'random', got {self.keep!r}")
        if self.kept_fraction is not None:
            check_scalar(self.kept_fraction, "kept_fraction", min=0.0, max=1.0,
                         include_min=False, include_max=False)

    @classmethod
    def at_scale(cls) -> "TrainingSetup":
        """Laptop: 5 seeds, 2000 steps. Paper (``THEORY_SCALE=paper``): 10 seeds, 4000 steps."""
        return cls(seeds=scaled(tuple(range(5)), tuple(range(10))), steps=scaled(2000, 4000))

    def describe(self) -> str:
        return (f"MLP 64→{self.hidden}→10 (ReLU), SGD lr {self.lr:g}, momentum {self.momentum:g}, "
                f"batch {self.batch_size}, {self.steps} steps; SemDeDup k = {self.k}, keep "
                f"{self.keep!r}, greedy; seeds {list(self.seeds)}")


def _check(corpus, setup):
    if not isinstance(corpus, DigitCorpus):
        raise TypeError(f"corpus must be a DigitCorpus (see theory.semdedup.images.digit_corpus), "
                        f"got {type(corpus).__name__}")
    if not isinstance(setup, TrainingSetup):
        raise TypeError(f"setup must be a TrainingSetup, got {type(setup).__name__}")


def arm_subsets(corpus: DigitCorpus, setup: TrainingSetup) -> dict:
    """arm → {seed → sorted int64 indices of the training points}, plus ``"eps"`` → {seed → ε}
    (the ε SemDeDup ran at) and ``"target"`` (the kept fraction aimed at)."""
    from theory.semdedup import semdedup

    _check(corpus, setup)
    n = corpus.n
    target = (np.unique(corpus.group).size / n if setup.kept_fraction is None
              else setup.kept_fraction)
    out = {arm: {} for arm in ARMS}
    out["eps"] = {}
    for s in setup.seeds:
        res = semdedup(corpus.embeddings, setup.k, 0.01, keep=setup.keep, seed=1234 + s)
        eps = res.eps_for_kept_fraction(target)
        kept = res.kept_indices(eps)
        rng = np.random.default_rng(config_seed("semdedup.train.random", s))
        out["full"][s] = np.arange(n, dtype=np.int64)
        out["semdedup"][s] = kept
        out["random"][s] = np.sort(rng.choice(n, size=kept.size, replace=False)).astype(np.int64)
        out["eps"][s] = eps
    out["target"] = target
    return out


def distinct_groups(corpus: DigitCorpus, subsets: dict) -> dict:
    """arm → (seeds,) number of distinct ground-truth groups (originals, with or without their
    copies) that each arm's training set holds: what a deduplication should preserve."""
    if not isinstance(corpus, DigitCorpus):
        raise TypeError(f"corpus must be a DigitCorpus, got {type(corpus).__name__}")
    if not isinstance(subsets, dict) or any(a not in subsets for a in ARMS):
        raise TypeError(f"subsets must be what arm_subsets returns (a dict with keys {ARMS})")
    return {arm: np.array([np.unique(corpus.group[idx]).size for idx in subsets[arm].values()])
            for arm in ARMS}


def _init(seeds, hidden: int) -> dict:
    """U(±1/√fan_in) weights and biases (PyTorch's ``nn.Linear`` default), one generator per seed."""
    G = len(seeds)
    P = {"W0": torch.empty(G, hidden, 64), "b0": torch.empty(G, hidden),
         "W1": torch.empty(G, 10, hidden), "b1": torch.empty(G, 10)}
    for g, s in enumerate(seeds):
        gen = torch_generator(config_seed("semdedup.train.init", int(s)))
        for name, fan in (("W0", 64), ("b0", 64), ("W1", hidden), ("b1", hidden)):
            P[name][g] = (torch.rand(P[name].shape[1:], generator=gen) * 2 - 1) / np.sqrt(fan)
    return P


def _logits(P, x):
    """x (G, B, 64) → (G, B, 10)."""
    h = torch.relu(torch.einsum("gij,gbj->gbi", P["W0"], x) + P["b0"][:, None, :])
    return torch.einsum("gij,gbj->gbi", P["W1"], h) + P["b1"][:, None, :]


def train_arms(corpus: DigitCorpus, setup: TrainingSetup, subsets: dict | None = None, *,
               progress: bool = True) -> Result:
    """Train every (arm, seed) configuration at once; a :class:`theory.core.Result` labelled by
    ``Sweep(arm=ARMS, seed=setup.seeds)`` with metrics ``test_accuracy``, ``test_loss`` (G, T)
    on the held-out digits, recorded every ``record_every`` steps; ``meta``: ``n_train`` (G,),
    ``eps``, ``target``, ``wall_s``."""
    _check(corpus, setup)
    progress = check_bool(progress, "progress")
    subsets = arm_subsets(corpus, setup) if subsets is None else subsets
    if not isinstance(subsets, dict) or any(a not in subsets for a in ARMS):
        raise TypeError(f"subsets must be what arm_subsets returns (a dict with keys {ARMS})")
    sweep = Sweep(arm=list(ARMS), seed=list(setup.seeds))
    cfg = sweep.configs()
    G = len(cfg)
    sizes = np.array([subsets[c["arm"]][c["seed"]].size for c in cfg])
    if np.any(sizes < 1):
        raise ValueError("every arm needs at least one training point")
    table = np.zeros((G, sizes.max()), dtype=np.int64)
    for g, c in enumerate(cfg):
        idx = np.asarray(subsets[c["arm"]][c["seed"]], dtype=np.int64)
        if idx.min() < 0 or idx.max() >= corpus.n:
            raise ValueError(f"subsets[{c['arm']!r}][{c['seed']}] indexes outside the corpus")
        table[g, :idx.size] = idx
    X = torch.from_numpy(corpus.pixels() / PIXEL_MAX)
    Y = torch.from_numpy(corpus.labels)
    Xt = torch.from_numpy(corpus.test_images.reshape(-1, 64).astype(np.float32) / PIXEL_MAX)
    Yt = torch.from_numpy(corpus.test_labels)
    table_t, sizes_t = torch.from_numpy(table), torch.from_numpy(sizes)
    batch_seeds = np.array([config_seed("semdedup.train.batches", c["seed"]) for c in cfg])
    rows = torch.arange(G)[:, None]
    B = setup.batch_size

    def loss_fn(P, step):
        words = counter_words(batch_seeds, step, (B,))                      # (G, B)
        idx = table_t[rows, words % sizes_t[:, None]]
        logits = _logits(P, X[idx])
        return torch.nn.functional.cross_entropy(
            logits.reshape(-1, 10), Y[idx].reshape(-1), reduction="none").reshape(G, B).mean(1)

    def metrics(P, step):
        logits = _logits(P, Xt.expand(G, -1, -1))
        loss = torch.nn.functional.cross_entropy(
            logits.reshape(-1, 10), Yt.repeat(G), reduction="none").reshape(G, -1).mean(1)
        return {"test_accuracy": (logits.argmax(-1) == Yt).double().mean(1),
                "test_loss": loss.double()}

    t0 = time.perf_counter()
    res = train_batched(_init([c["seed"] for c in cfg], setup.hidden), steps=setup.steps,
                        lr=setup.lr, momentum=setup.momentum, loss_fn=loss_fn, metrics=metrics,
                        record=record_steps(setup.steps, every=setup.record_every),
                        progress=f"training {G} classifiers (arm × seed)" if progress else False)
    meta = dict(res.meta, n_train=sizes, eps=dict(subsets.get("eps", {})),
                target=subsets.get("target"), wall_s=time.perf_counter() - t0)
    return Result(res.steps, res.metrics, res.params, sweep, meta)


def _by_arm(result: Result, name: str) -> np.ndarray:
    """(arms, seeds, T) array of a metric."""
    if not isinstance(result, Result) or result.sweep is None or result.sweep.dims != ("arm", "seed"):
        raise TypeError("result must be what train_arms returns (a Result over arm × seed)")
    return result.sweep.unflatten(result[name])


def final_accuracy(result: Result) -> dict:
    """arm → (seeds,) final test accuracy."""
    acc = _by_arm(result, "test_accuracy")[..., -1]
    return {arm: acc[i] for i, arm in enumerate(result.sweep.axes["arm"])}


def accuracy_table(result: Result) -> dict:
    """arm → (seeds, T) test accuracy over the recorded steps."""
    acc = _by_arm(result, "test_accuracy")
    return {arm: acc[i] for i, arm in enumerate(result.sweep.axes["arm"])}


def paired_gain(result: Result, a: str = "semdedup", b: str = "random", *,
                from_step: int | None = None) -> dict:
    """Per-seed test-accuracy difference a − b: ``final`` (seeds,), ``curve_mean`` (seeds,) the
    mean difference over the records at or after ``from_step`` (default: the second half), and
    ``mean``, ``sd``, ``lower`` = mean − 2 sd/√n_seeds of the final difference."""
    acc = accuracy_table(result)
    for name, arm in (("a", a), ("b", b)):
        if arm not in acc:
            raise ValueError(f"{name} must be one of {tuple(acc)}, got {arm!r}")
    start = result.steps[-1] / 2 if from_step is None else check_scalar(
        from_step, "from_step", kind="int", min=0, max=int(result.steps[-1]))
    late = result.steps >= start
    d = acc[a] - acc[b]
    fin = d[:, -1]
    n = fin.size
    sd = float(fin.std(ddof=1)) if n > 1 else float("nan")
    return {"final": fin, "curve_mean": d[:, late].mean(1), "mean": float(fin.mean()), "sd": sd,
            "lower": float(fin.mean() - 2 * sd / np.sqrt(n)) if n > 1 else float("nan")}


def training_report(result: Result, corpus: DigitCorpus | None = None) -> str:
    """Per arm: training-set size, final test accuracy per seed and mean ± sd; the paired gains."""
    fin = final_accuracy(result)
    sizes = result.sweep.unflatten(np.asarray(result.meta["n_train"]))
    lines = [f"{result.n_configs} classifiers, {result.meta['steps']} steps, "
             f"{result.meta.get('wall_s', float('nan')):.1f} s"]
    if result.meta.get("eps"):
        eps = np.array(list(result.meta["eps"].values()))
        lines.append(f"SemDeDup ε per seed: {np.round(eps, 4).tolist()} (target kept fraction "
                     f"{result.meta['target']:.3f})")
    for i, (arm, acc) in enumerate(fin.items()):
        lines.append(f"{arm:>9}: n = {sorted(set(sizes[i].tolist()))}, final test accuracy "
                     f"{acc.mean():.4f} ± {acc.std(ddof=1) if acc.size > 1 else 0:.4f}  per seed "
                     f"{np.round(acc, 4).tolist()}")
    for a, b in (("semdedup", "random"), ("full", "semdedup")):
        g = paired_gain(result, a, b)
        lines.append(f"{a} − {b}: final {g['mean']:+.4f} (sd {g['sd']:.4f}, mean − 2 se "
                     f"{g['lower']:+.4f}), second half of training {g['curve_mean'].mean():+.4f}")
    return "\n".join(lines)


def training_figure(result: Result):
    """Left: test accuracy against steps, mean ± sd over seeds per arm. Right: final test
    accuracy per seed (small markers, paired seeds joined) and mean ± sd (large markers)."""
    acc = accuracy_table(result)
    sizes = result.sweep.unflatten(np.asarray(result.meta["n_train"]))
    fig, (ax, bx) = figure(1, 2, width="wide")
    steps = result.steps
    for i, (arm, a) in enumerate(acc.items()):
        m, s = a.mean(0), a.std(0)
        color = COLORS[ARM_COLORS[arm]]
        label = f"{arm} (n = {int(np.round(sizes[i].mean()))})"
        ax.plot(steps[1:], m[1:], color=color, label=label)
        ax.fill_between(steps[1:], (m - s)[1:], (m + s)[1:], color=color, alpha=0.2, lw=0)
        fin = a[:, -1]
        bx.plot(np.full(fin.size, i) + np.linspace(-0.12, 0.12, fin.size), fin, "o", ms=3,
                color=color, alpha=0.6)
        bx.errorbar([i + 0.3], [fin.mean()], yerr=[fin.std(ddof=1) if fin.size > 1 else 0],
                    fmt="s", color=color, capsize=3, ms=6)
    ax.set_xscale("log")
    ax.set_xlabel("SGD step")
    ax.set_ylabel("test accuracy (held-out digits)")
    lo = min(a[:, len(steps) // 4:].min() for a in acc.values())
    ax.set_ylim(max(0.0, lo - 0.02), 1.0)
    ax.legend(loc="lower right")
    bx.set_xticks(range(len(acc)), list(acc))
    bx.set_xlabel("training set")
    bx.set_ylabel("final test accuracy")
    return fig
