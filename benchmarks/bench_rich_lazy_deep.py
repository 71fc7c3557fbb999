"""Chapter 1, deep networks (theory.rich_lazy.deep): batched training against a loop of runs.

Rows (float32, THEORY_THREADS torch threads, one process), every run on
theory.core.train_batched through deep.train:
- the grokking MLP (p = 23, width 128, AdamW), 15 networks (a Sweep of 5 α × 3 seeds) × 200
  full-batch steps as one batched program, against the same 15 networks trained one by one;
- the RHM hierarchical CNN (v = 8, s = 2, L = 3, width 32, P = 1024), 9 networks × 100 steps,
  batched against one by one;
- the empirical NTK of 15 digits CNNs on 32 probe images, network by network (a single Jacobian
  of the whole batch, zero blocks included, was slower on this machine).
"""

from __future__ import annotations

import torch

from theory.core import Sweep, set_threads
from theory.rich_lazy import deep
from _timing import timed

F32 = dict(device="cpu", dtype=torch.float32)


def _compare(rows, name, batched, single, n):
    t_b, _ = timed(batched)
    t_l, _ = timed(lambda: [single(b) for b in range(n)])
    rows.append((f"{name}: {n} networks batched", f"{t_b:.2f} s"))
    rows.append((f"{name}: the same {n} one by one", f"{t_l:.2f} s: batching {t_l / t_b:.1f}× faster"))


def run() -> list[tuple[str, str]]:
    set_threads(None)
    rows: list[tuple[str, str]] = []

    data = [x[0] for x in deep.modular_batch(23, 0.8, [0], device="cpu")]
    dims = dict(d_in=46, width=128, d_out=23)
    sweep = Sweep(alpha=[0.1, 0.3, 1.0, 3.0, 10.0], seed=[0, 1, 2])
    A, S = sweep.column("alpha"), sweep.column("seed")
    kw = dict(steps=200, lr=3e-3, weight_decay=1.0, eval_every=200)
    _compare(rows, "grokking MLP, 200 AdamW steps",
             lambda: deep.train("mlp", deep.init_params("mlp", dims, A, S, **F32), *data, **kw),
             lambda b: deep.train("mlp", deep.init_params("mlp", dims, A[b], S[b], **F32), *data, **kw),
             len(A))

    rhm = deep.random_hierarchy(8, 8, 4, 2, 3, seed=0)
    rdata = [torch.tensor(a) for a in (*deep.sample_hierarchy(rhm, 1024, seed=1),
                                       *deep.sample_hierarchy(rhm, 2000, seed=2))]
    hdims = dict(v=8, s=2, L=3, width=32, d_out=8)
    rsweep = Sweep(alpha=[0.1, 1.0, 10.0], seed=[0, 1, 2])
    RA, RS = rsweep.column("alpha"), rsweep.column("seed")
    hk = dict(steps=100, lr=1e-2, eval_every=100)
    _compare(rows, "RHM hierarchical CNN, P = 1024, 100 Adam steps",
             lambda: deep.train("hcnn", deep.init_params("hcnn", hdims, RA, RS, **F32), *rdata, **hk),
             lambda b: deep.train("hcnn", deep.init_params("hcnn", hdims, RA[b], RS[b], **F32), *rdata, **hk),
             len(RA))

    x = torch.tensor(deep.digits(500, seed=0)[2][:32], dtype=torch.float32)
    cnn = deep.init_params("cnn", dict(channels=(8, 16), d_out=10), A, S, **F32)
    t_k, _ = timed(lambda: deep.ntk_gram("cnn", cnn, x))
    rows.append((f"empirical NTK of {len(A)} digits CNNs on 32 probe images (network by network)",
                 f"{t_k:.2f} s ({t_k / len(A) * 1e3:.0f} ms per network)"))
    return rows


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}")
