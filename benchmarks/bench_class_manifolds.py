"""Class manifolds, the cutting-plane search: planes optimised per second and the batching speed-up.

Two cases, CPU, float64, THEORY_THREADS torch threads, 300 Adam steps (lr 5e-2, ε 1e-7, no early
stop, so both sides do the same work):
- ground truth: the ball of radius 0.5 seen from distance 1 in D = 32 (``ground_truth.ball``),
  d_cut ∈ {1, 4, 8, 12, 16, 18, …, 32} × 32 repeats = 640 planes;
- a trained classifier: a tiny MLP 64–64–10 (tanh), trained *inside this benchmark* on
  scikit-learn digits (inputs /16, 300 full-batch Adam steps, seed 0), class manifolds of all ten
  classes, d_cut ∈ {1, 2, 4, 8, 16, 32, 64} × 4 repeats = 280 planes.

"batched" is ``cutting_plane_search``: every plane one row of one tensor programme. "loop" is the
official notebook's approach (stanislavfort/slice-dice-optimize: one plane at a time, each with its
own optimiser), **re-implemented here from its published method** in torch — row-normalised
Gaussian basis, θ = 0, Adam on θ — on a subset of the same problems with the same planes
(``plane_basis`` with the same seeds), so its planes/s is measured on fewer planes. Agreement: the
largest difference of the best score and of the least loss between the loop and the batched
search on the looped problems.
"""

from __future__ import annotations

import numpy as np
import torch

from theory.class_manifolds import (class_anchors, classifier_objective, cutting_plane_search, plane_basis,
                                    quadratic_objective)
from theory.class_manifolds.ground_truth import ball
from theory.core import set_threads, torch_generator
from _timing import timed

STEPS, LR = 300, 5e-2


def _loop(objective, anchors, problems, seed):
    """The per-plane loop (the official notebook's approach, re-implemented): for each (d, repeat,
    target index) one Adam optimisation of θ ∈ R^d on X0 + θᵀM; returns best score and least loss."""
    best, least = [], []
    for d, r, t in problems:
        M = plane_basis(seed, d, r, objective.keys[t], objective.D)
        x0 = anchors[t, r]
        theta = torch.zeros(d, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([theta], lr=LR, eps=1e-7)
        tgt = torch.tensor([t])
        b, m = -np.inf, np.inf
        for step in range(STEPS + 1):
            loss, score = objective.fn((x0 + theta @ M)[None], tgt)
            b, m = max(b, float(score.detach())), min(m, float(loss.detach()))
            if step == STEPS:
                break
            opt.zero_grad()
            loss.sum().backward()
            opt.step()
        best.append(b)
        least.append(m)
    return np.array(best), np.array(least)


def _case(name, objective, anchors, d_cuts, n_repeats, n_loop, seed=0):
    run = lambda: cutting_plane_search(objective, anchors, d_cuts, n_repeats, seed=seed, lr=LR,  # noqa: E731
                                       steps=STEPS)
    cutting_plane_search(objective, anchors, d_cuts[:1], n_repeats, seed=seed, steps=5)   # warm-up
    t_b, res = timed(run)
    T = objective.n_targets
    P = len(d_cuts) * n_repeats * T
    # the looped subset: spread over d_cut, repeats and targets
    problems = [(d, r, t) for d in d_cuts for r in range(n_repeats) for t in range(T)]
    idx = np.linspace(0, P - 1, n_loop).round().astype(int)
    sub = [problems[i] for i in idx]
    a = anchors if anchors.ndim == 3 else anchors[:, None, :].expand(T, n_repeats, -1)
    t_l, (best, least) = timed(lambda: _loop(objective, a, sub, seed))
    di = {d: i for i, d in enumerate(d_cuts)}
    bb = np.array([float(res.best_score.values[di[d], r, t]) for d, r, t in sub])
    ll = np.array([float(res.min_loss.values[di[d], r, t]) for d, r, t in sub])
    rate_b, rate_l = P / t_b, n_loop / t_l
    return [(f"{name}: batched ({P} planes) | per-plane loop, official approach re-implemented ({n_loop} of them)",
             f"{t_b:.2f} s, {rate_b:.0f} planes/s | {t_l:.2f} s, {rate_l:.1f} planes/s: "
             f"batching {rate_b / rate_l:.0f}× faster per plane"),
            (f"{name}: loop vs batched on the {n_loop} looped planes, max |Δ best score| | max |Δ least loss|",
             f"{np.abs(best - bb).max():.1e} | {np.abs(least - ll).max():.1e}")]


def _tiny_mlp(seed=0):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = torch.tensor(X / 16.0, dtype=torch.float64)
    y_t = torch.tensor(y)
    g = torch_generator(seed)
    W1 = (torch.randn(64, 64, generator=g, dtype=torch.float64) / 8).requires_grad_()
    b1 = torch.zeros(64, dtype=torch.float64, requires_grad=True)
    W2 = (torch.randn(64, 10, generator=g, dtype=torch.float64) / 8).requires_grad_()
    b2 = torch.zeros(10, dtype=torch.float64, requires_grad=True)
    f = lambda x: torch.tanh(x @ W1 + b1) @ W2 + b2  # noqa: E731
    opt = torch.optim.Adam([W1, b1, W2, b2], lr=1e-2)
    for _ in range(300):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(f(X), y_t).backward()
        opt.step()
    for p in (W1, b1, W2, b2):
        p.requires_grad_(False)
    acc = float((f(X).argmax(1) == y_t).double().mean())
    return f, X, y, acc


def run() -> list[tuple[str, str]]:
    set_threads(None)
    D = 32
    tgt = ball(D, 0.5, 1.0)
    ds = [1, 4, 8, 12, 16, *range(18, D + 1)]
    rows = _case("ball, D = 32, r/R = 0.5", quadratic_objective([tgt]), torch.from_numpy(tgt.anchor[None]),
                 ds, 32, n_loop=40)
    f, X, y, acc = _tiny_mlp()
    obj = classifier_objective(f, list(range(10)), 10, 64)
    anchors = class_anchors(X, y, list(range(10)), 4, 10, seed=0)
    rows += _case(f"digits MLP 64–64–10 trained here (train acc {acc:.3f}), 10 classes", obj, anchors,
                  [1, 2, 4, 8, 16, 32, 64], 4, n_loop=28)
    return rows


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}")
