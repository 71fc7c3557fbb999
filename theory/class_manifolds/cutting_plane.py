r"""The cutting-plane search: random affine d_cut-planes through an anchor, optimised towards a target set.

The method (Fort, Cubuk, Ganguli, Schoenholz 2022 and its 2021 version "Slice, dice, and
optimize"; the verified text says only that a random affine d_cut-dimensional subspace through an
anchor image :math:`X_0` is searched by gradient descent for a high-confidence point of the target
class, and that an intersection becomes likely once d_cut reaches D − d_manifold). The details
below follow the official notebook (stanislavfort/slice-dice-optimize) where it fixes them, and
are otherwise the book's reconstruction:

- the plane :math:`X(\theta) = X_0 + \theta^\top M`, :math:`\theta \in \mathbb{R}^{d}` started at 0,
  :math:`M \in \mathbb{R}^{d \times D}` with i.i.d. N(0, 1) rows each normalised to unit length
  (the official notebook; ``orthonormal=True`` orthonormalises them instead, the same plane);
- Adam on θ, learning rate 5·10⁻², at most 300 steps, ε = 10⁻⁷ (the official notebook);
  ``adam="official"`` reproduces its bias correction as written, :math:`\hat m = m/(1-\beta_1)`,
  :math:`\hat v = v/(1-\beta_2)` (which shrinks the late steps by :math:`\sqrt{1-\beta_2}/(1-\beta_1)
  \approx 0.32` against standard Adam's :math:`1-\beta^t`), the default is standard Adam;
- early stop (optional, the official rule): a problem stops once
  :math:`|L - L_\min| \le 10^{-2}` (for a classifier :math:`L_\min = \ln k`, the cross-entropy to the
  uniform distribution over k classes at its optimum) or once the (population) standard deviation of
  its last 5 losses is ≤ 10⁻³;
- recorded per problem: the best (largest) success score over every evaluated point, the least and
  the final loss, the final score and the number of Adam steps taken.

Batching (the book's). Every problem — plane dimension d, repeat r, target t — is one row of one
tensor programme: θ is padded to :math:`d_\max` columns and M to :math:`d_\max` rows with zeros.
A zero row of M gives its θ-column an exactly zero gradient, so Adam's moments and the column stay
exactly 0: the padded problem is the d-dimensional one. Padding rather than one loop per d because
the objective (for a classifier the network's forward and backward pass on all N = P points) costs
the same whatever d is and is paid once per step for all P problems, while the padded plane product
costs :math:`P d_\max D`, no more than a network's first layer when :math:`d_\max \le D \le` its
width. ``chunk_size`` bounds memory (problems are split into chunks run one after another).
Each problem draws its M from its own stream, :func:`theory.core.config_seed` of (seed, d, repeat,
target key), so a problem gives the same answer alone and inside any batch (to rounding: the
padded sums and a classifier's batched matrix products may round differently; the tests ask for
1e-12 in float64).

The objective must treat the rows of its input independently (no batch statistics; a network in
evaluation mode), since the gradient of the summed loss is taken.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
import xarray as xr

from theory.core import as_array, check_bool, check_choice, check_finite_state, check_seed, check_scalar, resolve_device, resolve_dtype, config_seed, progress, torch_generator

__all__ = ["PlaneObjective", "class_anchors", "classifier_objective", "cutting_plane_search",
           "plane_basis"]

_ADAM = ("standard", "official")


@dataclass(frozen=True)
class PlaneObjective:
    """A batch of target sets for the cutting-plane search.

    ``fn(x, target) -> (loss, score)``: x is (N, D), target an int64 tensor (N,) of target indices
    in ``range(n_targets)``; loss (N,) is minimised, score (N,) is the success measure whose best
    value is recorded (a target probability, or 1.0/0.0 for "inside the set"). ``keys`` name the
    targets (they enter each problem's seed, so a target keeps its planes in any subset);
    ``loss_floor`` (n_targets,) is the optimum of the loss used by the official early stop.
    """

    fn: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
    D: int
    keys: tuple
    loss_floor: tuple | None = None
    name: str = "objective"
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if not callable(self.fn):
            raise TypeError(f"fn must be callable (x, target) -> (loss, score), got {type(self.fn).__name__}")
        check_scalar(self.D, "D", kind="int", min=1)
        if len(self.keys) == 0:
            raise ValueError("keys must name at least one target")
        if len(set(self.keys)) != len(self.keys):
            raise ValueError(f"keys must be distinct, got {self.keys!r}")
        if self.loss_floor is not None and len(self.loss_floor) != len(self.keys):
            raise ValueError(f"loss_floor must have one value per target ({len(self.keys)}), "
                             f"got {len(self.loss_floor)}")

    @property
    def n_targets(self) -> int:
        return len(self.keys)


# ----------------------------------------------------------------------------------- validation
def _d_cuts(d_cuts, D):
    if isinstance(d_cuts, numbers.Integral) and not isinstance(d_cuts, bool):
        d_cuts = [d_cuts]
    if isinstance(d_cuts, (str, bytes)) or not isinstance(d_cuts, (Sequence, np.ndarray)):
        raise TypeError(f"d_cuts must be an int or a sequence of ints, got {type(d_cuts).__name__}")
    out = []
    for d in d_cuts:
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, numbers.Integral):
            raise TypeError(f"d_cuts must hold ints, got {d!r}")
        if not 1 <= int(d) <= D:
            raise ValueError(f"d_cuts must lie in 1..D = 1..{D} (a plane of dimension d_cut in R^D), got {int(d)}")
        out.append(int(d))
    if not out:
        raise ValueError("d_cuts must hold at least one plane dimension")
    if len(set(out)) != len(out):
        raise ValueError(f"d_cuts must be distinct, got {out}")
    return out


def _repeats(repeats):
    if isinstance(repeats, numbers.Integral) and not isinstance(repeats, bool):
        return list(range(check_scalar(repeats, "repeats", kind="int", min=1)))
    if isinstance(repeats, (str, bytes, bool)) or not isinstance(repeats, (Sequence, np.ndarray)):
        raise TypeError(f"repeats must be an int or a sequence of ints, got {type(repeats).__name__}")
    out = [check_scalar(r, "repeats", kind="int", min=0) for r in repeats]
    if not out or len(set(out)) != len(out):
        raise ValueError(f"repeats must be a non-empty sequence of distinct indices, got {out}")
    return out


def _anchors(anchors, n_targets, n_repeats, D, dtype):
    if isinstance(anchors, np.ndarray):
        anchors = torch.from_numpy(as_array(anchors, "anchors"))
    if not isinstance(anchors, torch.Tensor):
        raise TypeError(f"anchors must be a torch tensor or numpy array, got {type(anchors).__name__}")
    if anchors.dtype.is_complex or not (anchors.dtype.is_floating_point or anchors.dtype in
                                        (torch.int16, torch.int32, torch.int64, torch.uint8)):
        raise TypeError(f"anchors must hold real numbers, got dtype {anchors.dtype}")
    a = anchors.detach().to(dtype=dtype, device="cpu")
    if a.shape[-1:] != (D,):
        raise ValueError(f"anchors must end in the input dimension D = {D}: (D,), (n_targets, D) or "
                         f"(n_targets, n_repeats, D), got shape {tuple(a.shape)}")
    if not bool(torch.isfinite(a).all()):
        raise ValueError("anchors must be finite (no NaN or inf)")
    if a.ndim == 1:
        a = a.expand(n_targets, n_repeats, D)
    elif a.ndim == 2:
        if a.shape[0] != n_targets:
            raise ValueError(f"anchors of shape (n_targets, D) must have n_targets = {n_targets} rows, "
                             f"got {a.shape[0]}")
        a = a[:, None, :].expand(n_targets, n_repeats, D)
    elif a.ndim == 3:
        if tuple(a.shape[:2]) != (n_targets, n_repeats):
            raise ValueError(f"anchors of shape (n_targets, n_repeats, D) must be ({n_targets}, "
                             f"{n_repeats}, {D}), got {tuple(a.shape)}")
    else:
        raise ValueError(f"anchors must have 1, 2 or 3 dimensions, got shape {tuple(a.shape)}")
    return a


# ----------------------------------------------------------------------------------- the planes
def plane_basis(seed, d, repeat, key, D, *, orthonormal=False, dtype=torch.float64) -> torch.Tensor:
    r"""The (d, D) basis M of problem (d, repeat, target ``key``): i.i.d. N(0, 1) entries from the
    problem's own stream ``config_seed(seed, "cutting_plane", d, repeat, key)``, each row scaled to
    unit length (the official notebook), or with ``orthonormal=True`` the rows of Q from
    :math:`M^\top = QR` (an orthonormal basis of the same plane)."""
    seed = check_seed(seed)
    D = check_scalar(D, "D", kind="int", min=1)
    d = check_scalar(d, "d", kind="int", min=1, max=D)
    orthonormal = check_bool(orthonormal, "orthonormal")
    repeat = check_scalar(repeat, "repeat", kind="int", min=0)
    gen = torch_generator(config_seed(seed, "cutting_plane", d, repeat, key))
    M = torch.randn((d, D), generator=gen, dtype=torch.float64)
    if orthonormal:
        q, _ = torch.linalg.qr(M.T)
        M = q.T.contiguous()
    else:
        M = M / M.norm(dim=1, keepdim=True)
    return M.to(dtype)


def _run_chunk(objective, x0, M, tgt, floor, *, lr, steps, early_stop, adam, betas, eps):
    P, dmax, D = M.shape
    b1, b2 = betas
    theta = torch.zeros((P, dmax), dtype=M.dtype, device=M.device)
    m = torch.zeros_like(theta)
    v = torch.zeros_like(theta)
    active = torch.ones(P, dtype=torch.bool, device=M.device)
    best = torch.full((P,), -math.inf, dtype=M.dtype, device=M.device)
    min_loss = torch.full((P,), math.inf, dtype=M.dtype, device=M.device)
    final_loss = torch.full((P,), math.nan, dtype=M.dtype, device=M.device)
    final_score = torch.full((P,), math.nan, dtype=M.dtype, device=M.device)
    n_steps = torch.zeros(P, dtype=torch.int64, device=M.device)
    window = torch.full((P, 5), math.nan, dtype=M.dtype, device=M.device)
    for step in range(steps + 1):
        th = theta.detach().requires_grad_(True)
        x = x0 + torch.bmm(th[:, None, :], M)[:, 0, :]
        loss, score = objective.fn(x, tgt)
        if loss.shape != (P,) or score.shape != (P,):
            raise ValueError(f"objective.fn must return (loss, score) of shape ({P},) each, got "
                             f"{tuple(loss.shape)} and {tuple(score.shape)}")
        (grad,) = torch.autograd.grad(loss.sum(), th)
        loss, score = loss.detach().to(M.dtype), score.detach().to(M.dtype)
        check_finite_state(torch.stack([loss.sum(), theta.sum()]), what="the cutting-plane search (Adam on θ)",
                           step=step)
        best = torch.where(active, torch.maximum(best, score), best)
        min_loss = torch.where(active, torch.minimum(min_loss, loss), min_loss)
        final_loss = torch.where(active, loss, final_loss)
        final_score = torch.where(active, score, final_score)
        if early_stop:
            window = torch.where(active[:, None], torch.cat([window[:, 1:], loss[:, None]], 1), window)
            stop = torch.zeros_like(active)
            if floor is not None:
                stop |= (loss - floor).abs() <= 1e-2
            if step >= 4:
                stop |= window.std(dim=1, unbiased=False) <= 1e-3
            active = active & ~stop
        if step == steps or not bool(active.any()):
            break
        t = n_steps.to(M.dtype)[:, None] + 1.0
        m_new = b1 * m + (1 - b1) * grad
        v_new = b2 * v + (1 - b2) * grad * grad
        if adam == "standard":
            mh, vh = m_new / (1 - b1 ** t), v_new / (1 - b2 ** t)
        else:
            mh, vh = m_new / (1 - b1), v_new / (1 - b2)
        a = active[:, None]
        theta = torch.where(a, theta - lr * mh / (vh.sqrt() + eps), theta)
        m = torch.where(a, m_new, m)
        v = torch.where(a, v_new, v)
        n_steps = n_steps + active.to(torch.int64)
    return best, min_loss, final_loss, final_score, n_steps, theta.detach()


def cutting_plane_search(objective: PlaneObjective, anchors, d_cuts, repeats, *, seed=0, lr=5e-2,
                         steps=300, early_stop=False, orthonormal=False, adam="standard",
                         betas=(0.9, 0.999), eps=1e-7, dtype=torch.float64, device=None,
                         chunk_size=None, show_progress=False) -> xr.Dataset:
    r"""Run every problem (d ∈ ``d_cuts``, repeat ∈ range(``n_repeats``), target ∈ ``objective.keys``)
    as one batched Adam optimisation of θ on :math:`X(\theta) = X_0 + \theta^\top M`.

    ``repeats``: an int n (repeats 0..n−1) or a sequence of distinct repeat indices (a repeat's
    index, not its position, seeds its planes: ``repeats=[3]`` reruns repeat 3 alone).
    ``anchors``: the :math:`X_0`, shape (D,), (n_targets, D) or (n_targets, len(repeats), D), in
    the order of ``repeats`` (the same anchor for every d, so the d-curve of one (target, repeat)
    moves only the plane).
    Returns an ``xarray.Dataset`` over (d_cut, repeat, target) with ``best_score`` (the largest
    score over all evaluated points, θ = 0 included), ``min_loss``, ``final_loss``,
    ``final_score``, ``n_steps`` (Adam updates taken, ≤ ``steps``); ``steps`` updates evaluate
    ``steps + 1`` points. Its mean over ``repeat`` of ``best_score`` is the curve p(d_cut) that
    :func:`theory.class_manifolds.fit.fit_sigmoid` fits.
    """
    if not isinstance(objective, PlaneObjective):
        raise TypeError(f"objective must be a PlaneObjective, got {type(objective).__name__}")
    D = objective.D
    ds = _d_cuts(d_cuts, D)
    rep_ids = _repeats(repeats)
    n_repeats = len(rep_ids)
    seed = check_seed(seed)
    lr = check_scalar(lr, "lr", min=0.0, include_min=False)
    steps = check_scalar(steps, "steps", kind="int", min=0)
    eps = check_scalar(eps, "eps", min=0.0, include_min=False)
    early_stop = check_bool(early_stop, "early_stop")
    orthonormal = check_bool(orthonormal, "orthonormal")
    show_progress = check_bool(show_progress, "show_progress")
    adam = check_choice(adam, "adam", _ADAM)
    if len(betas) != 2 or not all(0.0 <= float(b) < 1.0 for b in betas):
        raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
    dtype = resolve_dtype(dtype)
    T = objective.n_targets
    a = _anchors(anchors, T, n_repeats, D, dtype)
    problems = [(i, r, t) for i in range(len(ds)) for r in range(n_repeats) for t in range(T)]
    P = len(problems)
    chunk = P if chunk_size is None else check_scalar(chunk_size, "chunk_size", kind="int", min=1)
    dev = resolve_device(device) if device is not None else torch.device("cpu")
    floor_all = None if objective.loss_floor is None else torch.tensor(objective.loss_floor, dtype=dtype)
    out = {k: np.empty(P) for k in ("best_score", "min_loss", "final_loss", "final_score")}
    out["n_steps"] = np.empty(P, dtype=np.int64)
    starts = range(0, P, chunk)
    for s in (progress(starts, desc="cutting planes") if show_progress else starts):
        part = problems[s:s + chunk]
        dmax = max(ds[i] for i, _, _ in part)
        M = torch.zeros((len(part), dmax, D), dtype=dtype)
        for j, (i, r, t) in enumerate(part):
            M[j, :ds[i]] = plane_basis(seed, ds[i], rep_ids[r], objective.keys[t], D, orthonormal=orthonormal,
                                       dtype=dtype)
        tgt = torch.tensor([t for _, _, t in part], dtype=torch.int64)
        x0 = torch.stack([a[t, r] for _, r, t in part])
        floor = None if floor_all is None else floor_all[tgt].to(dev)
        res = _run_chunk(objective, x0.to(dev), M.to(dev), tgt.to(dev), floor, lr=lr, steps=steps,
                         early_stop=early_stop, adam=adam, betas=tuple(map(float, betas)), eps=eps)
        for k, val in zip(("best_score", "min_loss", "final_loss", "final_score", "n_steps"), res[:5]):
            out[k][s:s + len(part)] = val.cpu().numpy()
    shape = (len(ds), n_repeats, T)
    coords = {"d_cut": np.array(ds), "repeat": np.array(rep_ids), "target": [str(k) for k in objective.keys]}
    dims = ("d_cut", "repeat", "target")
    data = {k: (dims, v.reshape(shape)) for k, v in out.items()}
    return xr.Dataset(data, coords=coords, attrs={
        "D": D, "seed": seed, "lr": lr, "steps": steps, "early_stop": int(early_stop),
        "orthonormal": int(orthonormal), "adam": adam, "objective": objective.name,
        "dtype": str(dtype).replace("torch.", "")})


# ---------------------------------------------------------------------------------- classifiers
def _target_sets(target_sets, n_classes):
    n_classes = check_scalar(n_classes, "n_classes", kind="int", min=2)
    if isinstance(target_sets, (str, bytes)) or not isinstance(target_sets, Sequence) or not target_sets:
        raise TypeError("target_sets must be a non-empty sequence of class indices or of tuples of them")
    out = []
    for s in target_sets:
        if isinstance(s, (numbers.Integral, np.integer)):
            s = (s,)
        elif isinstance(s, (str, bytes)) or not isinstance(s, (Sequence, np.ndarray)):
            raise TypeError(f"target_sets must hold int class indices or tuples of them, got {s!r}")
        s = tuple(s)
        if not s:
            raise ValueError("target_sets must not hold an empty class set")
        for c in s:
            if isinstance(c, (bool, np.bool_)) or not isinstance(c, numbers.Integral):
                raise TypeError(f"target_sets must hold int class indices, got {c!r}")
            if not 0 <= int(c) < n_classes:
                raise ValueError(f"target_sets: class index {int(c)} out of range 0..{n_classes - 1}")
        if len(set(s)) != len(s):
            raise ValueError(f"target_sets: a class set repeats a class: {s}")
        if len(s) == n_classes:
            raise ValueError(f"target_sets: a set of all {n_classes} classes leaves no anchor class")
        out.append(tuple(sorted(int(c) for c in s)))
    return out, n_classes


def _set_key(s):
    return "+".join(map(str, s))


def classifier_objective(logits_fn, target_sets, n_classes, D) -> PlaneObjective:
    r"""The official notebook's objective for a classifier: for target class set S (k = |S|),

    .. math::  L(x) = -\frac{1}{k}\sum_{c \in S} \log \mathrm{softmax}(f(x))_c, \qquad
               \text{score}(x) = \sum_{c \in S} \mathrm{softmax}(f(x))_c,

    the cross-entropy to the uniform distribution over S (minimum :math:`\ln k`, the early-stop
    floor) and the summed target probability. k = 1 is a class manifold, k > 1 a k-class
    low-confidence boundary. ``logits_fn`` maps (N, D) to (N, n_classes) logits, row by row
    (for an ensemble pass the members' mean log-softmax). ``target_sets``: ints or tuples of ints.
    """
    if not callable(logits_fn):
        raise TypeError(f"logits_fn must be callable, got {type(logits_fn).__name__}")
    sets, n_classes = _target_sets(target_sets, n_classes)
    D = check_scalar(D, "D", kind="int", min=1)
    W = torch.zeros((len(sets), n_classes), dtype=torch.float64)
    for i, s in enumerate(sets):
        W[i, list(s)] = 1.0
    ks = W.sum(1)

    def fn(x, target):
        logp = torch.log_softmax(logits_fn(x), dim=-1)
        if logp.shape != (x.shape[0], n_classes):
            raise ValueError(f"logits_fn must return (N, n_classes) = ({x.shape[0]}, {n_classes}), "
                             f"got {tuple(logp.shape)}")
        w = W.to(logp)[target]
        loss = -(w * logp).sum(-1) / ks.to(logp)[target]
        score = (w * logp.exp()).sum(-1)
        return loss, score

    return PlaneObjective(fn, D, tuple(_set_key(s) for s in sets),
                          loss_floor=tuple(math.log(len(s)) for s in sets), name="classifier",
                          extra={"target_sets": sets, "n_classes": n_classes})


def class_anchors(X, y, target_sets, n_repeats, n_classes, *, seed=0) -> torch.Tensor:
    r"""Anchors :math:`X_0` (n_targets, n_repeats, D): for target set S and repeat r, an example whose
    label is not in S, drawn uniformly from ``config_seed(seed, "anchor", r, key(S))`` (so it does
    not depend on which other targets are run; the official notebook draws a random training image
    whose label is not in the target set)."""
    sets, n_classes = _target_sets(target_sets, n_classes)
    n_repeats = check_scalar(n_repeats, "n_repeats", kind="int", min=1)
    seed = check_seed(seed)
    if isinstance(X, torch.Tensor):
        if X.dtype == torch.bool or X.dtype.is_complex:
            raise TypeError(f"X must hold real numbers, got dtype {X.dtype}")
    else:
        X = torch.from_numpy(as_array(X, "X"))
    y = np.asarray(y.cpu() if isinstance(y, torch.Tensor) else y)
    if X.ndim != 2:
        raise ValueError(f"X must be (n_examples, D), got shape {tuple(X.shape)}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must be ({X.shape[0]},) labels matching X, got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"y must hold int labels, got dtype {y.dtype}")
    if not bool(torch.isfinite(X.double()).all()):
        raise ValueError("X must be finite (no NaN or inf): its rows become the anchors")
    out = torch.empty((len(sets), n_repeats, X.shape[1]), dtype=torch.float64)
    for i, s in enumerate(sets):
        pool = np.flatnonzero(~np.isin(y, s))
        if pool.size == 0:
            raise ValueError(f"no example has a label outside the target set {s}")
        for r in range(n_repeats):
            rng = np.random.default_rng(config_seed(seed, "anchor", r, _set_key(s)))
            out[i, r] = X[int(pool[rng.integers(pool.size)])].double()
    return out
