"""Real image embeddings with injected ground-truth duplicates: scikit-learn's digits.

The book's reconstruction of the paper's image setting at laptop scale. The paper embeds LAION
with a pretrained CLIP image encoder and finds semantic duplicates among the embeddings; here
scikit-learn's bundled 8×8 digits (1797 images, offline) play LAION and a small network trained
on a *disjoint* split of them plays CLIP. Book chapter: ``book/semdedup/training.ipynb``.

Three pieces:

- :func:`digit_splits`: a fixed-seed permutation of the 1797 digits cut into three disjoint
  index sets, ``encoder`` (trains the embedding network only), ``test`` (held out for the
  classifier of :mod:`theory.semdedup.training`) and ``corpus`` (the rest: the data set to
  deduplicate).
- :func:`train_encoder` → :class:`DigitEncoder`: an MLP 64 → hidden (ReLU) → dim (tanh) → 10
  trained by Adam on the cross-entropy of the encoder split (full batch, float32, seeded, on the
  book's batched trainer :func:`theory.core.train_batched` with one configuration). The
  embedding of an image is the tanh layer (the penultimate layer), L2-normalised:
  e(x) = z(x)/‖z(x)‖, z(x) = tanh(W₁ relu(W₀ x/16 + b₀) + b₁).
- :func:`digit_corpus` → :class:`DigitCorpus`: the corpus split's originals plus injected
  copies of known kinds, each copy made from an original drawn uniformly at random (with
  replacement, so an original may have several copies):

  - ``"exact"``: the same pixels;
  - ``"shift"``: the image moved by one pixel up, down, left or right (uniformly), the
    vacated row or column filled with 0 (the background);
  - ``"noise"``: additive Gaussian noise of standard deviation ``noise_sd`` (pixel units; the
    digits' pixels are 0…16), clipped to [0, 16];
  - ``"contrast"``: the ink scaled, x' = c·x with c uniform in ``contrast_range``.

  The points are then shuffled (seeded). ``group`` is the ground truth for
  :func:`theory.semdedup.duplicate_precision_recall`: an original and all of its copies share
  one id (the original's position among the originals); an original without copies has its own.
- :func:`detection_curves` → :class:`DetectionCurves`: SemDeDup (the spine's
  :func:`theory.semdedup.semdedup`, greedy) on the corpus and on the originals plus each kind's
  copies, scored against the groups for a grid of ε; :func:`examples_figure` and
  :func:`detection_figure` draw the copies and the curves.

Every random draw comes from :func:`theory.core.config_seed` streams keyed on the arguments
(never on global state), so the same arguments give the same corpus, bit for bit.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np
import torch

from theory.core import as_array, check_finite_state, check_scalar, check_seed, config_seed, torch_generator, train_batched

__all__ = ["DUPLICATE_KINDS", "DetectionCurves", "DigitCorpus", "DigitEncoder", "DigitSplits",
           "detection_curves", "detection_figure", "digit_corpus", "digit_splits", "embed_digits",
           "examples_figure", "load_digit_images", "train_encoder"]

DUPLICATE_KINDS = ("exact", "shift", "noise", "contrast")
KINDS = ("original",) + DUPLICATE_KINDS
N_DIGITS = 1797
PIXEL_MAX = 16.0
_SHIFTS = ((-1, 0), (1, 0), (0, -1), (0, 1))   # (rows, columns): up, down, left, right


# --------------------------------------------------------------------------------------------
# Data and splits
# --------------------------------------------------------------------------------------------

def load_digit_images() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits (bundled, offline): images (1797, 8, 8) float32 in [0, 16], labels int64."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.images.astype(np.float32), d.target.astype(np.int64)


@dataclass(frozen=True)
class DigitSplits:
    """Three disjoint index sets into :func:`load_digit_images`, each sorted."""

    encoder: np.ndarray
    corpus: np.ndarray
    test: np.ndarray
    seed: int

    def sizes(self) -> dict:
        return {"encoder": int(self.encoder.size), "corpus": int(self.corpus.size),
                "test": int(self.test.size)}


def digit_splits(*, n_encoder: int = 500, n_test: int = 400, seed: int = 0) -> DigitSplits:
    """Cut the 1797 digits by a fixed-seed permutation: ``n_encoder`` for the encoder,
    ``n_test`` held out, the rest the corpus (at least 10 images). The book's reconstruction."""
    n_encoder = check_scalar(n_encoder, "n_encoder", kind="int", min=10, max=N_DIGITS)
    n_test = check_scalar(n_test, "n_test", kind="int", min=1, max=N_DIGITS)
    seed = check_seed(seed)
    if n_encoder + n_test > N_DIGITS - 10:
        raise ValueError(f"n_encoder + n_test must leave at least 10 of the {N_DIGITS} digits for "
                         f"the corpus, got {n_encoder} + {n_test}")
    order = np.random.default_rng(config_seed("semdedup.digit_splits", seed)).permutation(N_DIGITS)
    enc, test = order[:n_encoder], order[n_encoder:n_encoder + n_test]
    corpus = order[n_encoder + n_test:]
    return DigitSplits(encoder=np.sort(enc), corpus=np.sort(corpus), test=np.sort(test), seed=seed)


# --------------------------------------------------------------------------------------------
# The encoder
# --------------------------------------------------------------------------------------------

def _as_images(images, name: str = "images") -> np.ndarray:
    """(n, 8, 8) or (n, 64) real, finite → float32 (n, 64)."""
    if isinstance(images, torch.Tensor):
        images = images.detach().cpu().numpy()
    arr = np.asarray(images)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer)
                                   or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{name} must be a real array of digit images, got dtype {arr.dtype}")
    if arr.ndim == 3 and arr.shape[1:] == (8, 8):
        arr = arr.reshape(arr.shape[0], 64)
    if arr.ndim != 2 or arr.shape[1] != 64 or arr.shape[0] < 1:
        raise ValueError(f"{name} must have shape (n, 8, 8) or (n, 64) with n >= 1, got {arr.shape}")
    arr = arr.astype(np.float32)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def _forward(P: dict, x: torch.Tensor):
    """Stacked MLP (G, ...): x (n, 64) pixels/16 → (z (G, n, dim), logits (G, n, 10))."""
    h = torch.relu(torch.einsum("gij,nj->gni", P["W0"], x) + P["b0"][:, None, :])
    z = torch.tanh(torch.einsum("gij,gnj->gni", P["W1"], h) + P["b1"][:, None, :])
    return z, torch.einsum("gij,gnj->gni", P["W2"], z) + P["b2"][:, None, :]


@dataclass(frozen=True)
class DigitEncoder:
    """A trained embedding network (see the module docstring). ``params``: float32 arrays with a
    leading axis of one configuration; ``train_accuracy`` on its own split."""

    params: dict = field(repr=False)
    dim: int
    hidden: int
    steps: int
    seed: int
    train_accuracy: float
    n_train: int

    def embed(self, images) -> np.ndarray:
        """The L2-normalised penultimate layer e(x) = z/‖z‖: float32 (n, dim) unit rows.

        The float32 weights are applied in float64 and the result rounded to float32 once, so an
        image's embedding does not depend on the batch it is embedded in (float32 matmuls take
        other kernels, and other roundings, for 5 rows than for 500 on some CPUs)."""
        x = torch.from_numpy(_as_images(images) / PIXEL_MAX).double()
        P = {k: torch.from_numpy(v).double() for k, v in self.params.items()}
        with torch.no_grad():
            z = _forward(P, x)[0][0]
        norm = z.norm(dim=1, keepdim=True)
        if torch.any(norm == 0):
            raise ValueError("an image has a zero embedding (every tanh unit exactly 0)")
        return (z / norm).float().numpy()

    def predict(self, images) -> np.ndarray:
        """The encoder's own class prediction, int64 (n,)."""
        x = torch.from_numpy(_as_images(images) / PIXEL_MAX)
        P = {k: torch.from_numpy(v) for k, v in self.params.items()}
        with torch.no_grad():
            return _forward(P, x)[1][0].argmax(-1).numpy()


_ENCODER_CACHE: dict = {}


def train_encoder(*, splits: DigitSplits | None = None, dim: int = 32, hidden: int = 128,
                  steps: int = 300, lr: float = 0.01, weight_decay: float = 1e-4,
                  seed: int = 0) -> DigitEncoder:
    """Train the embedding MLP 64 → hidden → dim → 10 on the encoder split only.

    Full-batch Adam (``lr``, L2 ``weight_decay``) on the mean cross-entropy for ``steps`` steps,
    float32, by :func:`theory.core.train_batched` with one configuration; Kaiming-uniform-like
    initialisation (U(±1/√fan_in), PyTorch's default for ``nn.Linear``) from
    ``torch_generator(config_seed("semdedup.encoder", seed))``. ``splits`` defaults to
    ``digit_splits()``. Results are memoised on the arguments (training takes about a second).
    The book's reconstruction (the paper uses a pretrained CLIP encoder).
    """
    splits = digit_splits() if splits is None else splits
    if not isinstance(splits, DigitSplits):
        raise TypeError(f"splits must be a DigitSplits (see digit_splits), got {type(splits).__name__}")
    dim = check_scalar(dim, "dim", kind="int", min=2, max=4096)
    hidden = check_scalar(hidden, "hidden", kind="int", min=1, max=65536)
    steps = check_scalar(steps, "steps", kind="int", min=1)
    lr = check_scalar(lr, "lr", min=0.0, include_min=False)
    weight_decay = check_scalar(weight_decay, "weight_decay", min=0.0)
    seed = check_seed(seed)
    key = (tuple(splits.encoder.tolist()), dim, hidden, steps, lr, weight_decay, seed)
    if key in _ENCODER_CACHE:
        return _ENCODER_CACHE[key]

    images, labels = load_digit_images()
    x = torch.from_numpy(_as_images(images[splits.encoder]) / PIXEL_MAX)
    y = torch.from_numpy(labels[splits.encoder])
    g = torch_generator(config_seed("semdedup.encoder", seed))
    sizes = [64, hidden, dim, 10]
    params = {}
    for layer in range(3):
        bound = 1.0 / np.sqrt(sizes[layer])
        params[f"W{layer}"] = (torch.rand(1, sizes[layer + 1], sizes[layer], generator=g) * 2 - 1) * bound
        params[f"b{layer}"] = (torch.rand(1, sizes[layer + 1], generator=g) * 2 - 1) * bound

    def loss_fn(P, step):
        logits = _forward(P, x)[1]
        return torch.nn.functional.cross_entropy(logits[0], y)[None]

    res = train_batched(params, steps=steps, lr=lr, loss_fn=loss_fn, optimizer="adam",
                        weight_decay=weight_decay, progress=False)
    P = {k: v.astype(np.float32) for k, v in res.params.items()}
    with torch.no_grad():
        out = _forward({k: torch.from_numpy(v) for k, v in P.items()}, x)
        check_finite_state(out[1], what="training the digit encoder (Adam)", step=steps,
                           hint="reduce lr: the trained encoder's outputs are not finite")
        acc = float((out[1][0].argmax(-1) == y).double().mean())
    enc = DigitEncoder(params=P, dim=dim, hidden=hidden, steps=steps, seed=seed,
                       train_accuracy=acc, n_train=int(x.shape[0]))
    _ENCODER_CACHE[key] = enc
    return enc


def embed_digits(images, *, encoder: DigitEncoder | None = None, seed: int = 0) -> np.ndarray:
    """Embed digit images ((n, 8, 8) or (n, 64), pixels 0…16) with ``encoder`` (default: the
    encoder :func:`train_encoder` gives for ``seed`` on the default splits): float32 (n, dim),
    unit rows."""
    seed = check_seed(seed)
    if encoder is None:
        encoder = train_encoder(seed=seed)
    if not isinstance(encoder, DigitEncoder):
        raise TypeError(f"encoder must be a DigitEncoder (see train_encoder), got "
                        f"{type(encoder).__name__}")
    return encoder.embed(images)


# --------------------------------------------------------------------------------------------
# The corpus with injected duplicates
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DigitCorpus:
    """The corpus split with injected duplicates, shuffled. Per point (n,): ``images``
    (n, 8, 8) float32 in [0, 16], ``labels`` int64, ``group`` int64 (ground-truth duplicate
    group: an original and its copies share one id), ``kind`` str ("original", "exact", "shift",
    "noise", "contrast"), ``parent`` int64 (the position in the corpus of the point's original;
    an original is its own parent), ``embeddings`` float32 (n, dim) unit rows. ``test_images`` /
    ``test_labels``: the held-out split (no copies). ``n_copies``: kind → count injected."""

    images: np.ndarray
    labels: np.ndarray
    group: np.ndarray
    kind: np.ndarray
    parent: np.ndarray
    embeddings: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    n_copies: dict
    encoder: DigitEncoder = field(repr=False)
    splits: DigitSplits = field(repr=False)
    seed: int = 0

    @property
    def n(self) -> int:
        return int(self.labels.size)

    @property
    def n_originals(self) -> int:
        return int(np.sum(self.kind == "original"))

    @property
    def n_redundant(self) -> int:
        """Σ over groups of (size − 1): the number of points a perfect deduplication removes."""
        return self.n - int(np.unique(self.group).size)

    def pixels(self) -> np.ndarray:
        """The images as (n, 64) float32, pixels 0…16."""
        return self.images.reshape(self.n, 64)

    def summary(self) -> str:
        counts = ", ".join(f"{k} {int(np.sum(self.kind == k))}" for k in KINDS)
        return (f"digits corpus: {self.n} points ({counts}); {np.unique(self.group).size} groups, "
                f"{self.n_redundant} redundant ({self.n_redundant / self.n:.1%}); embeddings "
                f"{self.embeddings.shape[1]}-d from an encoder trained on {self.encoder.n_train} "
                f"disjoint digits (train accuracy {self.encoder.train_accuracy:.3f}); "
                f"{self.test_labels.size} held-out test digits; seed {self.seed}")


def _copy_counts(n_copies, kinds) -> dict:
    if isinstance(kinds, str) or not hasattr(kinds, "__iter__"):
        raise TypeError(f"kinds must be a sequence of duplicate kinds from {DUPLICATE_KINDS}")
    kinds = tuple(kinds)
    for k in kinds:
        if k not in DUPLICATE_KINDS:
            raise ValueError(f"kinds must hold kinds from {DUPLICATE_KINDS}, got {k!r}")
    if len(set(kinds)) != len(kinds):
        raise ValueError(f"kinds holds repeated kinds: {kinds}")
    if isinstance(n_copies, dict):
        for k in n_copies:
            if k not in kinds:
                raise ValueError(f"n_copies names kind {k!r}, which is not in kinds={kinds}")
        counts = {k: n_copies.get(k, 0) for k in kinds}
    elif isinstance(n_copies, numbers.Integral) and not isinstance(n_copies, bool):
        counts = {k: n_copies for k in kinds}
    else:
        raise TypeError(f"n_copies must be an int (copies per kind) or a dict kind → int, got "
                        f"{type(n_copies).__name__}")
    return {k: check_scalar(v, f"n_copies[{k!r}]", kind="int", min=0, max=10**6)
            for k, v in counts.items()}


def _make_copy(kind: str, img: np.ndarray, rng: np.random.Generator, noise_sd: float,
               contrast_range: tuple) -> np.ndarray:
    if kind == "exact":
        return img.copy()
    if kind == "shift":
        dr, dc = _SHIFTS[rng.integers(len(_SHIFTS))]
        out = np.zeros_like(img)
        rs, rd = (slice(0, 8 - dr), slice(dr, 8)) if dr >= 0 else (slice(-dr, 8), slice(0, 8 + dr))
        cs, cd = (slice(0, 8 - dc), slice(dc, 8)) if dc >= 0 else (slice(-dc, 8), slice(0, 8 + dc))
        out[rd, cd] = img[rs, cs]
        return out
    if kind == "noise":
        return np.clip(img + noise_sd * rng.standard_normal(img.shape), 0.0, PIXEL_MAX).astype(np.float32)
    c = rng.uniform(*contrast_range)
    return np.clip(c * img, 0.0, PIXEL_MAX).astype(np.float32)


def digit_corpus(*, n_copies=200, kinds=DUPLICATE_KINDS, seed: int = 0, noise_sd: float = 1.5,
                 contrast_range=(0.5, 0.8), splits: DigitSplits | None = None,
                 encoder: DigitEncoder | None = None) -> DigitCorpus:
    """The corpus split plus injected duplicates, embedded by the encoder (module docstring).

    ``n_copies``: copies per kind (an int) or a dict kind → count; ``kinds``: which of
    :data:`DUPLICATE_KINDS` to inject. ``seed`` fixes which originals are copied, the copies'
    random parameters and the shuffle. ``noise_sd`` (> 0, pixel units) and ``contrast_range``
    ((lo, hi) with 0 < lo <= hi <= 1) parametrise the noise and contrast copies. ``splits``
    defaults to ``digit_splits()``, ``encoder`` to ``train_encoder(splits=splits)``.
    The book's reconstruction of the paper's LAION setting.
    """
    counts = _copy_counts(n_copies, kinds)
    seed = check_seed(seed)
    noise_sd = check_scalar(noise_sd, "noise_sd", min=0.0, include_min=False, max=PIXEL_MAX)
    if (isinstance(contrast_range, (str, bytes)) or not hasattr(contrast_range, "__len__")
            or len(contrast_range) != 2):
        raise TypeError("contrast_range must be a pair (lo, hi)")
    lo = check_scalar(contrast_range[0], "contrast_range[0]", min=0.0, include_min=False, max=1.0)
    hi = check_scalar(contrast_range[1], "contrast_range[1]", min=lo, max=1.0)
    splits = digit_splits() if splits is None else splits
    if not isinstance(splits, DigitSplits):
        raise TypeError(f"splits must be a DigitSplits (see digit_splits), got {type(splits).__name__}")
    encoder = train_encoder(splits=splits) if encoder is None else encoder
    if not isinstance(encoder, DigitEncoder):
        raise TypeError(f"encoder must be a DigitEncoder (see train_encoder), got "
                        f"{type(encoder).__name__}")

    all_images, all_labels = load_digit_images()
    orig = all_images[splits.corpus]
    n0 = orig.shape[0]
    images, labels, group, kind = [orig], [all_labels[splits.corpus]], [np.arange(n0)], ["original"] * n0
    for k in counts:
        rng = np.random.default_rng(config_seed("semdedup.digit_corpus", seed, k))
        src = rng.integers(0, n0, size=counts[k])
        if counts[k]:
            images.append(np.stack([_make_copy(k, orig[s], rng, noise_sd, (lo, hi)) for s in src]))
        labels.append(all_labels[splits.corpus][src])
        group.append(src)
        kind += [k] * counts[k]
    images = np.concatenate(images).astype(np.float32)
    labels, group = np.concatenate(labels), np.concatenate(group).astype(np.int64)
    kind = np.array(kind)
    perm = np.random.default_rng(config_seed("semdedup.digit_corpus", seed, "shuffle")).permutation(labels.size)
    images, labels, group, kind = images[perm], labels[perm], group[perm], kind[perm]
    where_original = np.full(n0, -1, dtype=np.int64)
    is_orig = kind == "original"
    where_original[group[is_orig]] = np.flatnonzero(is_orig)
    return DigitCorpus(images=images, labels=labels.astype(np.int64), group=group, kind=kind,
                       parent=where_original[group], embeddings=encoder.embed(images),
                       test_images=all_images[splits.test], test_labels=all_labels[splits.test],
                       n_copies=counts, encoder=encoder, splits=splits, seed=seed)


# --------------------------------------------------------------------------------------------
# Duplicate detection on the corpus, per kind (the spine's SemDeDup and precision/recall)
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DetectionCurves:
    """Precision, recall and kept fraction of SemDeDup on the digits corpus, against ε.

    ``rows``: ``"all"`` (the whole corpus) and then each duplicate kind (the originals plus that
    kind's copies only); ``eps`` (E,); ``precision``, ``recall``, ``kept_fraction`` (R, E).
    ``n_points`` and ``n_redundant`` (R,): each row's corpus size and Σ(g − 1).
    """

    rows: tuple
    eps: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    kept_fraction: np.ndarray
    n_points: np.ndarray
    n_redundant: np.ndarray
    k: int
    keep: str
    seed: int

    def row(self, name: str) -> int:
        if name not in self.rows:
            raise ValueError(f"name must be one of {self.rows}, got {name!r}")
        return self.rows.index(name)

    def at(self, eps: float) -> dict:
        """row → (precision, recall, kept fraction) at the grid ε nearest ``eps`` (log scale)."""
        j = int(np.argmin(np.abs(np.log(self.eps) - np.log(check_scalar(
            eps, "eps", min=0.0, max=1.0, include_min=False, include_max=False)))))
        return {r: (float(self.precision[i, j]), float(self.recall[i, j]),
                    float(self.kept_fraction[i, j])) for i, r in enumerate(self.rows)}

    def precision_drop(self) -> np.ndarray:
        """Per row: precision at the smallest ε at which it removes anything minus precision at
        the largest ε (positive when precision falls as ε grows). NaN for a row that never removes."""
        out = np.full(len(self.rows), np.nan)
        for i in range(len(self.rows)):
            finite = np.flatnonzero(np.isfinite(self.precision[i]))
            if finite.size:
                out[i] = self.precision[i, finite[0]] - self.precision[i, -1]
        return out

    def report(self, eps=None) -> str:
        """A small table: per row and (selected) ε, precision / recall / kept fraction."""
        cols = range(len(self.eps)) if eps is None else [
            int(np.argmin(np.abs(np.log(self.eps) - np.log(e)))) for e in eps]
        lines = [f"SemDeDup on the digits corpus: k = {self.k}, keep = {self.keep!r}, greedy, "
                 f"seed {self.seed}; precision / recall / kept fraction"]
        lines.append(f"{'ε':>9} " + " ".join(f"{r:>20}" for r in self.rows))
        for j in cols:
            cells = [f"{self.precision[i, j]:.2f} / {self.recall[i, j]:.2f} / "
                     f"{self.kept_fraction[i, j]:.2f}" for i in range(len(self.rows))]
            lines.append(f"{self.eps[j]:9.2e} " + " ".join(f"{c:>20}" for c in cells))
        return "\n".join(lines)


def detection_curves(corpus: DigitCorpus, eps, *, k: int = 10, keep: str = "hard",
                     seed: int = 1234) -> DetectionCurves:
    """Run SemDeDup (:func:`theory.semdedup.semdedup`, greedy semantics, the official rule: remove
    j iff M_j > 1 − ε) on the corpus and, for each kind, on the originals plus that kind's copies;
    score every ε of the grid with :func:`theory.semdedup.duplicate_precision_recall` against the
    injected groups. One run per row serves every ε (the greedy kept set is a threshold on M).
    The book's reconstruction."""
    from theory.semdedup import semdedup, duplicate_precision_recall

    if not isinstance(corpus, DigitCorpus):
        raise TypeError(f"corpus must be a DigitCorpus (see digit_corpus), got {type(corpus).__name__}")
    grid = np.atleast_1d(as_array(eps, "eps"))
    if grid.ndim != 1 or grid.size == 0 or not np.all((grid > 0) & (grid < 1)):
        raise ValueError("eps must be a number or a 1-D sequence of numbers in (0, 1)")
    if np.any(np.diff(grid) <= 0):
        raise ValueError("eps must be strictly increasing")
    k = check_scalar(k, "k", kind="int", min=1)
    seed = check_seed(seed)
    present = [kd for kd in DUPLICATE_KINDS if np.any(corpus.kind == kd)]
    rows = ("all",) + tuple(present)
    P, R, F = (np.empty((len(rows), grid.size)) for _ in range(3))
    n_points, n_red = np.empty(len(rows), dtype=np.int64), np.empty(len(rows), dtype=np.int64)
    for i, row in enumerate(rows):
        mask = np.ones(corpus.n, bool) if row == "all" else np.isin(corpus.kind, ("original", row))
        res = semdedup(corpus.embeddings[mask], k, float(grid[0]), keep=keep, seed=seed)
        group = corpus.group[mask]
        n_points[i], n_red[i] = mask.sum(), mask.sum() - np.unique(group).size
        for j, e in enumerate(grid):
            kept = res.kept_mask(float(e))
            P[i, j], R[i, j] = duplicate_precision_recall(kept, group)
            F[i, j] = kept.mean()
    return DetectionCurves(rows=rows, eps=grid, precision=P, recall=R, kept_fraction=F,
                           n_points=n_points, n_redundant=n_red, k=k, keep=keep, seed=seed)


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------

KIND_COLORS = {"all": "theory", "exact": "blue", "shift": "orange", "noise": "green",
               "contrast": "purple"}


def examples_figure(corpus: DigitCorpus, *, per_kind: int = 3):
    """Examples of each injected kind: per row a kind, ``per_kind`` (original, copy) pairs, each
    copy titled with its cosine distance 1 − e·e' to its original in the embedding."""
    from theory.core import figure

    if not isinstance(corpus, DigitCorpus):
        raise TypeError(f"corpus must be a DigitCorpus (see digit_corpus), got {type(corpus).__name__}")
    per_kind = check_scalar(per_kind, "per_kind", kind="int", min=1, max=8)
    kinds = [kd for kd in DUPLICATE_KINDS if np.any(corpus.kind == kd)]
    if not kinds:
        raise ValueError("the corpus holds no injected copies to show")
    fig, axes = figure(len(kinds), 2 * per_kind, width="text", height=1.25 * len(kinds) + 0.3,
                       squeeze=False)
    for r, kd in enumerate(kinds):
        copies = np.flatnonzero(corpus.kind == kd)[:per_kind]
        for c in range(per_kind):
            for half, ax in enumerate(axes[r, 2 * c:2 * c + 2]):
                ax.set_xticks([]), ax.set_yticks([]), ax.grid(False)
                if c >= copies.size:
                    ax.set_axis_off()
                    continue
                j = copies[c] if half else corpus.parent[copies[c]]
                ax.imshow(corpus.images[j], cmap="gray_r", vmin=0, vmax=PIXEL_MAX)
                if half:
                    d = 1.0 - float(corpus.embeddings[j] @ corpus.embeddings[corpus.parent[j]])
                    ax.set_title(f"{kd}\n1−cos {max(d, 0.0):.3f}", fontsize=7)
                else:
                    ax.set_title(f"original\n(digit {corpus.labels[j]})", fontsize=7)
    return fig


def detection_figure(curves: DetectionCurves):
    """Precision (left), recall (middle) and kept fraction (right) against ε, one line per row
    (the whole corpus in black, each kind in its colour), ε on a log axis."""
    from theory.core import COLORS, figure

    if not isinstance(curves, DetectionCurves):
        raise TypeError(f"curves must be DetectionCurves (see detection_curves), got "
                        f"{type(curves).__name__}")
    fig, axes = figure(1, 3, width="wide")
    for i, row in enumerate(curves.rows):
        style = dict(color=COLORS[KIND_COLORS.get(row, "grey")], marker="o", ms=3,
                     lw=2.2 if row == "all" else 1.4, label="whole corpus" if row == "all" else row)
        for ax, values in zip(axes, (curves.precision, curves.recall, curves.kept_fraction)):
            ax.plot(curves.eps, values[i], **style)
    for ax, name in zip(axes, ("precision", "recall", "kept fraction")):
        ax.set_xscale("log")
        ax.set_xlabel("ε (removed iff max similarity > 1 − ε)")
        ax.set_ylabel(name)
        ax.set_ylim(-0.03, 1.03)
    axes[0].legend(loc="lower left")
    return fig
