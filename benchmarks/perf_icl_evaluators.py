"""Rows 7 and 8 of issue 19: the Bayes evaluators of in-context regression, ours against the official.

Ours: ``theory.icl_regression.estimators.ridge_predict`` (Eq. 3) and ``dmmse_predict`` (Eq. 2),
torch, one thread. Reference: the official ``Ridge`` and ``DiscreteMMSE`` of
``mansheej/icl-task-diversity``, re-implemented in JAX (``benchmarks/reference/icl_jax_evaluators.py``,
jax.jit, one thread), which recompute each context prefix from scratch for every k.

Batch: n = 4096 sequences × K = 16 × D = 8, x ~ N(0, I), w ~ N(0, I), σ² = 0.25; dMMSE pool of
2¹⁰ tasks drawn from N(0, I). Rows in float32 (the targets) and float64 (for information).

Work stated for the roofline:
- ridge (dense): per sequence and context length, the prefix sums of x xᵀ and y x (D² + D
  adds), a Cholesky factorisation (D³/3 multiply-adds ≈ 2·D³/3 flops... counted D³/3 + D²),
  two triangular solves (2 D² flops) and the prediction (2 D): n·K·(D³/3 + 4 D² + 3 D) flops.
- dMMSE (elementwise): the exp of n·(K−1)·M log-weights is the floor; the residual and
  averaging matmuls (4 n·K·M·D flops) are counted in ``limit`` text only.

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
                flops=n * K * (D ** 3 / 3 + 4 * D ** 2 + 3 * D),
                target=5.0 if dtype_name == "float32" else None,
                limit="per-call torch overhead of the (n·K) batch of D×D Cholesky solves"))

            def ours_dmmse():
                res["ours"] = dmmse_predict(xs, ys, pool, SIGMA2)

            def ref_dmmse():
                res["ref"] = dmmse_reference(jxs, jys, jpool, sigma).block_until_ready()

            t_o, t_r = paired(ours_dmmse, ref_dmmse, repeat=repeat)
            agree = _agreement(res["ours"], res["ref"])
            elem = n * (K - 1) * M
            flops = 4 * n * K * M * D
            mm = flops / rates.matmul[dtype_name]
            out.append(PerfRow(
                work=f"dMMSE evaluator, pool of {M} tasks, {n} sequences × K = {K} × D = {D}",
                ours_s=t_o, ref_s=t_r, reference=label.format("DiscreteMMSE"), dtype=dtype_name,
                agreement=f"max abs diff / rms {agree:.1e}",
                elementwise=elem,
                target=5.0 if dtype_name == "float32" else None,
                limit=f"exp of n·(K−1)·M and the two matmuls ({flops / 1e9:.2f} GFLOP, "
                      f"{mm * 1e3:.1f} ms at the matmul roofline)"))
    return out
