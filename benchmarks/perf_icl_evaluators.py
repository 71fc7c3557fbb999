"""Rows 7 and 8 of issue 19: the Bayes evaluators of in-context regression, ours against the official.

Ours: ``theory.icl_regression.estimators.ridge_predict`` (Eq. 3) and ``dmmse_predict`` (Eq. 2),
torch, one thread. Reference: the official ``Ridge`` and ``DiscreteMMSE`` of
``mansheej/icl-task-diversity``, re-implemented in JAX (``benchmarks/reference/icl_jax_evaluators.py``,
jax.jit, one thread), which recompute each context prefix from scratch for every k.

Batch: n = 4096 sequences × K = 16 × D = 8, x ~ N(0, I), w ~ N(0, I), σ² = 0.25; dMMSE pool of
2¹⁰ tasks drawn from N(0, I). Rows in float32 (the targets) and float64 (for information).

Ours computes in float64 inside for float32 inputs too (the recursion and the log-weights are a
small part of the memory traffic) and returns the input's dtype; the float32 rows' floors are
priced at the float32 rates all the same (what the machine allows for the task).

Work stated for the roofline:
- ridge (dense): the recursive least-squares update per sequence and context length — P x
  (2D²), xᵀPx, the gain, the residual and the estimate (7D), the rank-one downdate of P (2D²):
  n·(K−1)·(4D² + 7D) flops. Priced at the matmul rate this is a hard lower bound; the update is
  elementwise work on (n, D, D) arrays, done in ~8 eager ops per context length.
- dMMSE (elementwise): the exp of n·(K−1)·M log-weights is the floor; the two matmuls (the
  log-weights from the prefix statistics, 2·n·(K−1)·M·(D + D(D+1)/2) flops, and the posterior
  mean, 2·n·(K−1)·M·D) are given in ``limit``.

Agreement: max |ŷ_ours − ŷ_ref| over the batch divided by the RMS of ŷ_ref, on the timed outputs.
"""

from __future__ import annotations

import numpy as np
import torch

from _perf import PerfRow, one_thread, paired

SIGMA2 = 0.25


def _data(n, K, D, M, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    xs = torch.randn(n, K, D, generator=g, dtype=torch.float64)
    w = torch.randn(n, D, generator=g, dtype=torch.float64)
    ys = (xs @ w[..., None])[..., 0] + SIGMA2 ** 0.5 * torch.randn(n, K, generator=g,
                                                                    dtype=torch.float64)
    pool = torch.randn(M, D, generator=g, dtype=torch.float64)
    return xs.to(dtype).contiguous(), ys.to(dtype).contiguous(), pool.to(dtype).contiguous()


def _agreement(ours, ref):
    ours = ours.double().numpy()
    ref = np.asarray(ref, dtype=np.float64)
    scale = float(np.sqrt(np.mean(ref ** 2)))
    return float(np.max(np.abs(ours - ref)) / scale)


def rows(rates, quick: bool = False) -> list[PerfRow]:
    one_thread()
    import jax
    import jax.numpy as jnp

    from reference.icl_jax_evaluators import dmmse_reference, ridge_reference
    from theory.icl_regression.estimators import dmmse_predict, ridge_predict

    n, K, D, M = (256, 16, 8, 256) if quick else (4096, 16, 8, 1024)
    repeat = 2 if quick else 5
    label = ("official {}, re-implemented in JAX 0.10.2 (jit; prefix recomputed per k; "
             "benchmarks/reference/icl_jax_evaluators.py)")
    out = []
    for dtype_name, tdt in (("float32", torch.float32), ("float64", torch.float64)):
        xs, ys, pool = _data(n, K, D, M, tdt)
        with jax.enable_x64(dtype_name == "float64"):
            jxs, jys, jpool = (jnp.asarray(a.numpy()) for a in (xs, ys, pool))
            assert jxs.dtype == np.dtype(dtype_name)
            lam = jnp.asarray(SIGMA2, dtype=jxs.dtype)
            sigma = jnp.asarray(SIGMA2 ** 0.5, dtype=jxs.dtype)

            res = {}

            def ours_ridge():
                res["ours"] = ridge_predict(xs, ys, SIGMA2)

            def ref_ridge():
                res["ref"] = ridge_reference(jxs, jys, lam).block_until_ready()

            t_o, t_r = paired(ours_ridge, ref_ridge, repeat=repeat)
            agree = _agreement(res["ours"], res["ref"])
            out.append(PerfRow(
                work=f"ridge evaluator, {n} sequences × K = {K} × D = {D}",
                ours_s=t_o, ref_s=t_r, reference=label.format("Ridge"), dtype=dtype_name,
                agreement=f"max abs diff / rms {agree:.1e}",
                flops=n * (K - 1) * (4 * D ** 2 + 7 * D),
                target=5.0 if dtype_name == "float32" else None,
                limit="eager per-op overhead and memory passes: ~8 ops per context length on the (n, D, D) "
                      "inverses (2 MB in float64); the flop count is far below it"))

            def ours_dmmse():
                res["ours"] = dmmse_predict(xs, ys, pool, SIGMA2)

            def ref_dmmse():
                res["ref"] = dmmse_reference(jxs, jys, jpool, sigma).block_until_ready()

            t_o, t_r = paired(ours_dmmse, ref_dmmse, repeat=repeat)
            agree = _agreement(res["ours"], res["ref"])
            elem = n * (K - 1) * M
            flops = 2 * n * (K - 1) * M * (2 * D + D * (D + 1) // 2)
            mm = flops / rates.matmul["float64"]
            out.append(PerfRow(
                work=f"dMMSE evaluator, pool of {M} tasks, {n} sequences × K = {K} × D = {D}",
                ours_s=t_o, ref_s=t_r, reference=label.format("DiscreteMMSE"), dtype=dtype_name,
                agreement=f"max abs diff / rms {agree:.1e}",
                elementwise=elem,
                target=5.0 if dtype_name == "float32" else None,
                limit=f"the float64 weights over the pool (max, shift, exp, sum of n·(K−1)·M; the exp is "
                      f"numpy's vectorised one) and the two float64 "
                      f"matmuls ({flops / 1e9:.2f} GFLOP, {mm * 1e3:.1f} ms at the float64 "
                      f"matmul rate): the evaluator keeps the log-weights in float64 whatever the "
                      f"input (a float32 input gives the float64 result rounded)"
                      + (f"; 5× needs {t_r / 5 * 1e3:.0f} ms" if dtype_name == "float32" else "")))
    return out
