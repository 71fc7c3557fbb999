"""The general (non-diagonal) linear teacher–student and its batch-size sweep.

Chen, Kunin, Yamamura, Ganguli (2023), arXiv:2306.04251. The set-up is that of the official
script ``run/run_teacher_student_general.py`` (repository ``ccffccffcc/stochastic_collapse``);
the paper's text for this experiment, and any figure of its results, are not available, so
everything here is *the official code's set-up* re-implemented, and the trend it is run to show
(smaller batches, more collapse, lower test loss) is the book's reconstruction of what the
abstract's "stochastic collapse benefits generalization in a linear teacher-student framework"
means for this run. Book page: ``book/stochastic_collapse/teacher_student_general.ipynb``.

The official set-up (all sizes are the defaults here):

- a teacher W = Q₁ S Q₂ᵀ (n × m = 64 × 64) of rank d = 8, singular values linspace(0.5, 1, 8),
  Q₁ and Q₂ orthogonal (QR of Gaussian matrices);
- N = 1024 inputs x ~ U(0, 1)ⁿ/√n, labels y = xW + 0.5·ξ/√m with ξ ~ N(0, I_m), drawn once;
- a two-layer linear student x ↦ xVU, V (n × n), U (n × m), initialised U(0, ½) entrywise;
- the loss ½Σᵢ‖xᵢVU − yᵢ‖², minibatch SGD on B examples drawn without replacement (here: with
  replacement, see :func:`train_teacher_student`), the summed gradient divided by B; no label noise during training (the official ``sigma = 0``): the only
  gradient noise is the minibatch's;
- learning rate warmed up linearly to 3 over the first 10% of the steps (official: +3·10⁻⁴ per
  step for 10⁴ of 10⁵ steps), then ×0.1 at 50% and again at 53% of the steps;
- batch sizes B ∈ {1, 2, 4, 8, 16, 1024} (1024 = N: full-batch gradient descent);
- test loss mean((VU − W)²), the official ``loss_test``.

The official script records U and V every 100 steps and no notebook of the repository analyses
them. The collapse is measured here with the official notebooks' measures of a layer
(``nbs/FIG3_FIG4.ipynb``): the student's hidden layer has n neurons, neuron i with incoming
weights V[:, i] and outgoing weights U[i, :]; its neuron matrix w_cat = [Vᵀ | U] (n × (n + m))
gets the effective rank (:func:`theory.stochastic_collapse.deep.effective_rank`, the entropy of
the normalised singular values) and the independent-neuron count; the learned map VU gets the
same entropy of its singular values (the book's choice) and its number of singular values
above 0.1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from theory.core import (Result, Sweep, array_bytes, as_array, check_memory, check_scalar,
                         check_seed, config_seed, counter_words, record_steps, resolve_device,
                         resolve_dtype, scaled, train_batched)
from theory.stochastic_collapse.deep import count_independent, effective_rank

__all__ = ["BATCH_SIZES", "TeacherStudentData", "batch_trends", "general_lr", "general_report",
           "general_setup", "neuron_matrix", "teacher_student_data", "train_teacher_student"]

BATCH_SIZES = (1, 2, 4, 8, 16, 1024)   # run_teacher_student_general.py, n_batch_list
_SALT = "stochastic_collapse.general_teacher_student"


@dataclass(frozen=True)
class TeacherStudentData:
    """One draw of the official set-up: inputs X (N, n), labels y (N, m), the teacher W (n, m),
    its singular values ``s_teacher`` (d,), and the student's initialisation V0 (n, n),
    U0 (n, m); all float64."""

    X: np.ndarray
    y: np.ndarray
    W: np.ndarray
    s_teacher: np.ndarray
    V0: np.ndarray
    U0: np.ndarray

    @property
    def N(self) -> int:
        return int(self.X.shape[0])


def teacher_student_data(*, N: int = 1024, n: int = 64, m: int = 64, rank: int = 8,
                         s_min: float = 0.5, s_max: float = 1.0, label_noise: float = 0.5,
                         init_scale: float = 0.5, seed: int = 0) -> TeacherStudentData:
    """The official set-up's data, teacher and initialisation (``generate``, ``X``, ``y``, ``V0``,
    ``U0`` of ``run_teacher_student_general.py``), drawn from one numpy generator seeded with
    :func:`theory.core.config_seed` of ``seed``.

    W = Q₁ diag(linspace(s_min, s_max, rank)) Q₂ᵀ; X = U(0, 1)/√n; y = XW + label_noise·ξ/√m;
    V0, U0 = init_scale·U(0, 1) (official: rand/2). The same data and initialisation serve
    every batch size and every SGD seed, as in the official script (data seed 0).
    """
    N = check_scalar(N, "N", kind="int", min=2)
    n = check_scalar(n, "n", kind="int", min=1)
    m = check_scalar(m, "m", kind="int", min=1)
    rank = check_scalar(rank, "rank", kind="int", min=1, max=min(n, m))
    s_min = check_scalar(s_min, "s_min", min=0.0)
    s_max = check_scalar(s_max, "s_max", min=s_min)
    label_noise = check_scalar(label_noise, "label_noise", min=0.0)
    init_scale = check_scalar(init_scale, "init_scale", min=0.0, include_min=False)
    seed = check_seed(seed, "seed")
    check_memory(array_bytes(2 * n * n + 2 * m * m + 3 * N * max(n, m) + 2 * n * m),
                 f"teacher_student_data with N = {N}, n = {n}, m = {m}",
                 hint="use smaller N, n or m")
    rng = np.random.default_rng(config_seed(_SALT, "data", seed))
    q1, _ = np.linalg.qr(rng.normal(size=(n, n)))
    q2, _ = np.linalg.qr(rng.normal(size=(m, m)))
    s = np.linspace(s_min, s_max, rank)
    W = (q1[:, :rank] * s) @ q2[:, :rank].T
    X = rng.random((N, n)) / np.sqrt(n)
    y = X @ W + label_noise * rng.normal(size=(N, m)) / np.sqrt(m)
    V0 = init_scale * rng.random((n, n))
    U0 = init_scale * rng.random((n, m))
    return TeacherStudentData(X=X, y=y, W=W, s_teacher=s, V0=V0, U0=U0)


def general_lr(step, steps: int, peak: float = 3.0):
    """The official schedule at ``step`` (0-based) of ``steps``: warm-up, then two drops.

    η(t) = peak·min(t + 1, T_w)/T_w · 0.1^{[t ≥ T₁] + [t ≥ T₂]}, T_w = steps/10,
    T₁ = steps/2, T₂ = 0.53·steps (official, steps = 10⁵: +3·10⁻⁴ a step for 10⁴ steps, ×0.1 at
    5·10⁴ and 5.3·10⁴; the increment comes before the update of its step). ``step`` may be an
    int or an array.
    """
    steps = check_scalar(steps, "steps", kind="int", min=10)
    peak = check_scalar(peak, "peak", min=0.0, include_min=False)
    if isinstance(step, (bool, np.bool_)) or step is None or isinstance(step, (str, bytes)):
        raise TypeError(f"step must be an int or an array of ints, got {type(step).__name__}")
    t = np.asarray(step)
    if t.dtype == bool or not np.issubdtype(t.dtype, np.integer):
        if t.dtype.kind == "f" and np.all(np.isfinite(t)) and np.all(t == np.round(t)):
            t = t.astype(np.int64)                   # integral floats: steps from arithmetic
        else:
            raise TypeError(f"step must hold integers (steps), got dtype {t.dtype}")
    if t.ndim > 1:
        raise ValueError(f"step must be an int or a 1-D array, got shape {t.shape}")
    if np.any(t < 0):
        raise ValueError(f"step must be >= 0, got {step!r}")
    return _lr(t, steps, peak)


def _lr(t, steps: int, peak: float):
    """:func:`general_lr` on a checked step (the training loop's call: no validation)."""
    t = np.asarray(t)
    warm = max(1, round(steps / 10))
    t1, t2 = round(steps / 2), round(0.53 * steps)
    out = peak * np.minimum(t + 1, warm) / warm * 0.1 ** ((t >= t1).astype(int) + (t >= t2))
    return float(out) if out.ndim == 0 else out


def neuron_matrix(V, U) -> np.ndarray:
    """The hidden layer's neuron matrix [Vᵀ | U] (..., n, n + m): row i is neuron i's incoming
    weights V[:, i] and outgoing weights U[i, :] (no bias), as ``w_cat`` in FIG3_FIG4.ipynb."""
    V = as_array(V, "V", min_ndim=2, nonempty=True)
    U = as_array(U, "U", min_ndim=2, nonempty=True)
    if V.ndim < 2 or U.ndim < 2 or V.shape[-1] != V.shape[-2] or U.shape[-2] != V.shape[-1] \
            or V.shape[:-2] != U.shape[:-2]:
        raise ValueError(f"V must be (..., n, n) and U (..., n, m) with the same leading axes, "
                         f"got {V.shape} and {U.shape}")
    return np.concatenate([np.swapaxes(V, -1, -2), U], axis=-1)


def _measures(V: np.ndarray, U: np.ndarray, data: TeacherStudentData) -> dict:
    """The recorded measures of G students (V (G, n, n), U (G, n, m)); a student that diverged
    (non-finite weights) gets NaN for every measure, which the caller sees (no error here)."""
    P = V @ U
    G, n = V.shape[0], V.shape[-1]
    ok = np.all(np.isfinite(P), axis=(-2, -1)) & np.all(np.isfinite(V), axis=(-2, -1))
    out = {k: np.full(G, np.nan) for k in ("test_loss", "train_loss", "effective_rank",
                                           "effective_rank_map", "modes_above_0.1", "independent")}
    if ok.any():
        Pk, w_cat = P[ok], neuron_matrix(V[ok], U[ok])
        resid = data.X @ Pk - data.y
        out["test_loss"][ok] = np.mean((Pk - data.W) ** 2, axis=(-2, -1))
        out["train_loss"][ok] = 0.5 * np.sum(resid ** 2, axis=(-2, -1))
        out["effective_rank"][ok] = effective_rank(w_cat)
        out["effective_rank_map"][ok] = effective_rank(Pk)
        out["modes_above_0.1"][ok] = (np.linalg.svd(Pk, compute_uv=False) > 0.1).sum(-1)
        out["independent"][ok] = count_independent(w_cat) / n
    return out


def train_teacher_student(data: TeacherStudentData, sweep: Sweep, *, steps: int,
                          peak_lr: float = 3.0, record_every: int | None = None, chunk: int = 64,
                          device=None, dtype=torch.float64, progress: bool = True) -> Result:
    """Minibatch SGD on the student, over ``sweep`` = Sweep(batch_size=…, seed=…) (both axes).

    One :func:`theory.core.train_batched` program per batch size, over its seeds (a loop over
    the few batch sizes, never over configurations). Each step a configuration draws B example
    indices from :func:`theory.core.counter_words` of (its seed, the step, the slot), so its
    minibatches are the same alone or in a batch, and the same seed's first B draws are shared
    by all batch sizes (paired comparisons). The official script draws *without* replacement
    (``np.random.choice(..., replace=False)``); here the draws are *with* replacement, which
    changes the minibatch-gradient covariance by the factor (N − 1)/(N − B) ≤ 1.015 for B ≤ 16
    of N = 1024. B = N is full-batch gradient descent (the official ``choice`` of all N
    examples), computed as the full gradient (XᵀX·VU − Xᵀy)/N through the Gram matrix; it does
    not depend on the seed, so it is run once and shared by the seeds of the sweep.
    Learning rate :func:`general_lr`; gradient Σ_batch ∇ℓ / B.

    Returns a :class:`theory.core.Result` over the sweep with metrics (G, T): ``test_loss``
    mean((VU − W)²), ``train_loss`` ½Σ‖XVU − y‖² (official ``loss``), ``effective_rank`` and
    ``independent`` (fraction) of the hidden layer's neuron matrix (:func:`neuron_matrix`),
    ``effective_rank_map`` of VU, ``modes_above_0.1`` (singular values of VU above 0.1); params
    ``V``, ``U``; meta ``s_map`` (G, m) the final singular values of VU and ``wall_s``.
    A diverging student is not an error (divergence is a result of the sweep): its measures
    are NaN and ``meta["diverged"]`` (G,) flags it.
    """
    if not isinstance(data, TeacherStudentData):
        raise TypeError(f"data must be a TeacherStudentData, got {type(data).__name__}")
    if not isinstance(sweep, Sweep) or sweep.dims != ("batch_size", "seed"):
        raise ValueError("sweep must be a theory.core.Sweep(batch_size=..., seed=...) (these two "
                         "axes, in this order)")
    B = sweep.column("batch_size")
    if not all(isinstance(b, (int, np.integer)) and 1 <= b <= data.N for b in B):
        raise ValueError(f"batch_size must hold ints in [1, N = {data.N}], got "
                         f"{sweep.axes['batch_size']}")
    if not all(isinstance(s, (int, np.integer)) and s >= 0 for s in sweep.column("seed")):
        raise ValueError(f"seed must hold non-negative ints, got {sweep.axes['seed']}")
    steps = check_scalar(steps, "steps", kind="int", min=10)
    peak_lr = check_scalar(peak_lr, "peak_lr", min=0.0, include_min=False)
    chunk = check_scalar(chunk, "chunk", kind="int", min=1)
    if record_every is not None:
        record_every = check_scalar(record_every, "record_every", kind="int", min=1)
    if not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"progress must be a bool, got {type(progress).__name__}")
    n, m = data.V0.shape[0], data.U0.shape[1]
    check_memory(array_bytes(len(sweep), int(np.max(B)), n + m) * 4
                 + array_bytes(len(sweep), n, n + 2 * m) * 4,
                 f"train_teacher_student with {len(sweep)} students", hint="sweep fewer students")
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    rec = record_steps(steps, every=record_every) if record_every else record_steps(steps, at=[])
    seeds = sweep.seeds(_SALT, "minibatch", axes=("seed",))
    B = B.astype(np.int64)
    metrics = params = None
    wall = 0.0
    for b in sweep.axes["batch_size"]:
        members = np.flatnonzero(B == b)
        run = members[:1] if b == data.N else members          # full batch: once, then shared
        part = _train_group(data, int(b), seeds[run], steps=steps, peak=peak_lr, rec=rec,
                            chunk=chunk, device=device, dtype=dtype, progress=progress)
        wall += part.meta["wall_s"]
        take = np.zeros(members.size, dtype=np.int64) if b == data.N else np.arange(members.size)
        if metrics is None:
            metrics = {k: np.empty((len(sweep),) + v.shape[1:]) for k, v in part.metrics.items()}
            params = {k: np.empty((len(sweep),) + v.shape[1:]) for k, v in part.params.items()}
        for k, v in part.metrics.items():
            metrics[k][members] = v[take]
        for k, v in part.params.items():
            params[k][members] = v[take]
    P = params["V"] @ params["U"]
    s_map = np.full(P.shape[:-2] + (min(P.shape[-2:]),), np.nan)
    ok = np.all(np.isfinite(P), axis=(-2, -1))
    s_map[ok] = np.linalg.svd(P[ok], compute_uv=False)
    diverged = ~(ok & np.all(np.isfinite(params["V"]), axis=(-2, -1)))
    return Result(steps=rec, metrics=metrics, params=params, sweep=sweep,
                  meta={"steps": steps, "peak_lr": peak_lr, "s_map": s_map, "wall_s": wall,
                        "diverged": diverged})


def _train_group(data, B: int, seeds, *, steps, peak, rec, chunk, device, dtype, progress) -> Result:
    """The students of one batch size B (one per seed in ``seeds``): one train_batched call."""
    import time

    G, N = len(seeds), data.N
    T = lambda a: torch.as_tensor(np.asarray(a), dtype=dtype, device=device)  # noqa: E731
    X, y = T(data.X), T(data.y)
    XtX, Xty = X.T @ X, X.T @ y
    seed_t = torch.as_tensor(np.asarray(seeds), dtype=torch.int64, device=device)
    draws = {}

    def grad_fn(P, t):
        V, U = P["V"], P["U"]
        if B == N:
            g = (XtX @ V @ U - Xty) / N                       # (G, n, m): ∂L/∂(VU), summed / N
            return {"V": g @ U.transpose(1, 2), "U": V.transpose(1, 2) @ g}
        k = t % chunk
        if k == 0 or "idx" not in draws:                       # the next `chunk` steps' draws
            t_idx = torch.arange(t - k, min(t - k + chunk, steps), dtype=torch.int64, device=device)
            draws["idx"] = counter_words(seed_t, t_idx, (B,), 0, device=device) % N   # (T, G, B)
        idx = draws["idx"][k]
        x, yb = X[idx], y[idx]                                 # (G, B, n), (G, B, m)
        xv = x @ V
        R = (xv @ U - yb) / B
        return {"V": x.transpose(1, 2) @ (R @ U.transpose(1, 2)), "U": xv.transpose(1, 2) @ R}

    def metrics(P, t):
        out = _measures(P["V"].cpu().numpy(), P["U"].cpu().numpy(), data)
        return {k: torch.as_tensor(v) for k, v in out.items()}

    params = {"V": T(np.broadcast_to(data.V0, (G,) + data.V0.shape).copy()),
              "U": T(np.broadcast_to(data.U0, (G,) + data.U0.shape).copy())}
    t0 = time.perf_counter()
    res = train_batched(params, steps=steps, lr=lambda t: _lr(t, steps, peak),
                        grad_fn=grad_fn, record=rec, metrics=metrics, device=device,
                        progress=f"SGD, B = {B}, {G} students" if progress else False)
    res.meta["wall_s"] = time.perf_counter() - t0
    return res


def general_setup() -> dict:
    """The notebook's settings at the active scale: ``paper`` runs the official 10⁵ steps; the
    laptop scale runs 10⁴ (the schedule compressed in proportion: warm-up 1000 steps, drops at
    5000 and 5300); 4 SGD seeds (paper scale 16; the official number of runs is not known).
    Sizes N, n, m, d, the label noise, the initialisation and the peak learning rate are the
    official ones at both scales."""
    return {"steps": scaled(10_000, 100_000), "seeds": list(range(scaled(4, 16))),
            "batch_sizes": list(BATCH_SIZES), "record_every": scaled(500, 5000)}


def batch_trends(result: Result) -> dict:
    """Per-seed Spearman ρ between B and each final measure: ``rho`` name → (S,) (a measure
    constant over B, such as an independent fraction of 1 everywhere, gives 0), and ``table``
    name → (levels, seeds) of the final values."""
    from scipy.stats import spearmanr

    if not isinstance(result, Result) or result.sweep is None or result.sweep.dims != ("batch_size", "seed"):
        raise TypeError("result must be a train_teacher_student Result over Sweep(batch_size, seed), "
                        f"got {type(result).__name__}")
    levels = np.array(result.sweep.axes["batch_size"])
    table = {k: result.sweep.unflatten(result[k][:, -1]) for k in result.metrics}
    import warnings

    rho = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")               # a constant column: ρ undefined → 0
        for k, tab in table.items():
            r = [spearmanr(levels, tab[:, j]).statistic for j in range(tab.shape[1])]
            rho[k] = np.nan_to_num(np.array(r, dtype=float), nan=0.0)
    return {"rho": rho, "table": table}


def general_report(result: Result) -> str:
    """One line per batch size: the final measures, mean ± sd over seeds."""
    tr = batch_trends(result)
    lines = []
    for i, b in enumerate(result.sweep.axes["batch_size"]):
        t = {k: v[i] for k, v in tr["table"].items()}
        lines.append(f"B = {b:>4}: test loss {t['test_loss'].mean():.3e} ± {t['test_loss'].std():.1e}"
                     f"   train loss {t['train_loss'].mean():.2f}   effective rank [Vᵀ|U] "
                     f"{t['effective_rank'].mean():.3f}, VU {t['effective_rank_map'].mean():.3f}"
                     f"   modes > 0.1: {t['modes_above_0.1'].mean():.1f}   independent "
                     f"{t['independent'].mean():.3f}")
    return "\n".join(lines)
