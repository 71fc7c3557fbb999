"""A GPT-2-style in-context regressor, batched over a sweep of pretraining task pools.

Raventós, Paul, Chen, Ganguli (2023), arXiv:2306.15063, Sec. 2 and App. A: the model is a
linear embedding of the (D + 1)-wide tokens (no bias), learned position embeddings, L pre-LayerNorm
decoder blocks (causal multi-head attention, a 4× MLP with tanh-GELU, biases, LayerNorm ε = 1e-5),
a final LayerNorm and a linear read-out to one number (no bias), read at the x tokens. It is
trained with Adam on the mean squared error over all K positions (Eq. 1), with the paper's
"triangle" schedule: linear warm-up from 0 to the peak learning rate over half the steps, then
linear decay to 0. Initialisation as GPT-2: N(0, 0.02²), residual projections N(0, 0.02²/(2L)).

Batching over the sweep. G models, one per pretraining pool size M_g (M = ∞ allowed), are one
tensor program: every parameter carries a leading model axis g, every linear layer is a
``torch.baddbmm`` over g, attention runs over the (g, sequence) pairs together, and the loss
is the *sum* over g of each model's own loss, so its gradient with respect to model g's
parameters is exactly model g's own gradient. Adam acts elementwise, so one optimiser over
the stacked parameters is G independent optimisers. Each model draws its own batches from its
own pool; nothing in a step loops over g.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from theory.core import default_device, positive, positive_int
from theory.icl_regression.data import _check_M, is_infinite, sample_pool, to_tokens

__all__ = ["ModelConfig", "SweepRun", "forward", "init_params", "predict", "train_sweep",
           "triangle_lr"]


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of the transformer and its data: D, K, layers, width, heads."""

    D: int = 4
    K: int = 8
    n_layer: int = 2
    n_embd: int = 64
    n_head: int = 2

    def __post_init__(self):
        for name in ("D", "K", "n_layer", "n_embd", "n_head"):
            positive_int(getattr(self, name), name)
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd={self.n_embd} must be divisible by n_head={self.n_head}")

    @property
    def T(self) -> int:
        return 2 * self.K


def init_params(config: ModelConfig, G: int, *, seed: int = 0, device=None,
                dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """GPT-2 initialisation for G independent models: a dict of (G, …) tensors.

    Model g's parameters are drawn from its own generator seeded ``seed + g``, so a model's
    initial weights do not depend on how many others share the batch.
    """
    G = positive_int(G, "G")
    device = default_device() if device is None else torch.device(device)
    c, d, L = config, config.n_embd, config.n_layer
    shapes = {"w_in": (c.D + 1, d), "wpe": (c.T, d),
              "ln1_w": (L, d), "ln1_b": (L, d), "w_qkv": (L, d, 3 * d), "b_qkv": (L, 3 * d),
              "w_o": (L, d, d), "b_o": (L, d), "ln2_w": (L, d), "ln2_b": (L, d),
              "w_fc": (L, d, 4 * d), "b_fc": (L, 4 * d), "w_pr": (L, 4 * d, d), "b_pr": (L, d),
              "lnf_w": (d,), "lnf_b": (d,), "w_out": (d, 1)}
    std = {"w_in": 0.02, "wpe": 0.02, "w_qkv": 0.02, "w_fc": 0.02, "w_out": 0.02,
           "w_o": 0.02 / math.sqrt(2 * L), "w_pr": 0.02 / math.sqrt(2 * L)}
    per_model = []
    for g in range(G):
        gen = torch.Generator().manual_seed(int(seed) + g)
        p = {}
        for name, shape in shapes.items():
            if name in std:
                p[name] = std[name] * torch.randn(shape, generator=gen, dtype=torch.float64)
            elif name.endswith("_w"):
                p[name] = torch.ones(shape, dtype=torch.float64)
            else:
                p[name] = torch.zeros(shape, dtype=torch.float64)
        per_model.append(p)
    return {name: torch.stack([p[name] for p in per_model]).to(device=device, dtype=dtype)
            for name in shapes}


def _linear(x, w, b=None):
    """x (G, N, i) @ w (G, i, o) (+ b (G, o)) as one batched matmul over the models."""
    if b is None:
        return torch.bmm(x, w)
    return torch.baddbmm(b[:, None, :], x, w)


def _layer_norm(x, w, b):
    return F.layer_norm(x, x.shape[-1:], eps=1e-5) * w[:, None, :] + b[:, None, :]


def forward(params: dict[str, torch.Tensor], tokens: torch.Tensor, n_head: int) -> torch.Tensor:
    """Read-out (G, B, T) of G models on tokens (G, B, T, D + 1), each model on its own batch."""
    G, B, T, _ = tokens.shape
    d = params["w_in"].shape[-1]
    L = params["w_qkv"].shape[1]
    hd = d // n_head
    h = _linear(tokens.reshape(G, B * T, -1), params["w_in"])
    h = (h.view(G, B, T, d) + params["wpe"][:, None, :T, :]).view(G, B * T, d)
    for layer in range(L):
        p = {k: params[k][:, layer] for k in ("ln1_w", "ln1_b", "w_qkv", "b_qkv", "w_o", "b_o",
                                              "ln2_w", "ln2_b", "w_fc", "b_fc", "w_pr", "b_pr")}
        a = _linear(_layer_norm(h, p["ln1_w"], p["ln1_b"]), p["w_qkv"], p["b_qkv"])
        q, k, v = a.view(G * B, T, 3, n_head, hd).permute(2, 0, 3, 1, 4)
        att = F.scaled_dot_product_attention(q, k, v, is_causal=True)     # (G·B, H, T, hd)
        att = att.transpose(1, 2).reshape(G, B * T, d)
        h = h + _linear(att, p["w_o"], p["b_o"])
        m = F.gelu(_linear(_layer_norm(h, p["ln2_w"], p["ln2_b"]), p["w_fc"], p["b_fc"]),
                   approximate="tanh")
        h = h + _linear(m, p["w_pr"], p["b_pr"])
    h = _layer_norm(h, params["lnf_w"], params["lnf_b"])
    return _linear(h, params["w_out"]).view(G, B, T)


def predict(params, xs: torch.Tensor, ys: torch.Tensor, n_head: int, *,
            chunk: int = 1024) -> torch.Tensor:
    """Predictions (G, n, K) of the G models at the x tokens, on xs (G or 1, n, K, D), ys (…, K).

    Run without gradients in chunks of ``chunk`` sequences, in the parameters' dtype; returned
    in float64.
    """
    if xs.ndim != 4 or ys.shape != xs.shape[:3]:
        raise ValueError("xs must be (G, n, K, D) and ys (G, n, K) (G may be 1 to share them)")
    G = params["w_in"].shape[0]
    if xs.shape[0] not in (1, G):
        raise ValueError(f"xs has {xs.shape[0]} model groups, the parameters {G}")
    dev, dt = params["w_in"].device, params["w_in"].dtype
    out = []
    with torch.no_grad():
        for s in range(0, xs.shape[1], chunk):
            tok = to_tokens(xs[:, s:s + chunk], ys[:, s:s + chunk]).to(device=dev, dtype=dt)
            tok = tok.expand(G, *tok.shape[1:])
            out.append(forward(params, tok, n_head)[..., 0::2].double().cpu())
    return torch.cat(out, dim=1)


def triangle_lr(step, total_steps: int, peak: float, warmup_frac: float = 0.5) -> float:
    """The paper's schedule: lr rises linearly from 0 to ``peak`` over the first
    ``warmup_frac`` of the steps, then falls linearly to 0 at ``total_steps``."""
    total_steps = positive_int(total_steps, "total_steps")
    if not 0 < warmup_frac < 1:
        raise ValueError(f"warmup_frac must lie in (0, 1), got {warmup_frac}")
    warm = max(1, int(round(warmup_frac * total_steps)))
    if step < warm:
        return peak * step / warm
    return peak * max(0.0, (total_steps - step) / (total_steps - warm))


@dataclass
class SweepRun:
    """A trained sweep: the stacked parameters, the pools, the training-loss history."""

    config: ModelConfig
    Ms: list
    pools: list                      # per model: (M, D) float64 tensor, or None for M = ∞
    params: dict
    sigma2: float
    steps: int
    batch_size: int
    lr: float
    loss_steps: np.ndarray = field(default_factory=lambda: np.zeros(0))
    loss: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))   # (records, G), per D
    seconds: float = 0.0

    def predict(self, xs, ys, chunk: int = 1024):
        return predict(self.params, xs, ys, self.config.n_head, chunk=chunk)


def train_sweep(Ms, config: ModelConfig = ModelConfig(), *, sigma2: float = 0.125,
                steps: int = 2000, batch_size: int = 64, lr: float = 1e-3,
                warmup_frac: float = 0.5, seed: int = 0, pool_seed: int = 1,
                record_every: int = 50, device=None, dtype: torch.dtype = torch.float32,
                progress: bool = True) -> SweepRun:
    """Train one transformer per pool size in ``Ms`` (ints, or math.inf) as one batched program.

    Model g's pool is ``sample_pool(M_g, D, seed=pool_seed + g)``; ``M = inf`` draws a fresh
    task per sequence. Batches of ``batch_size`` sequences are drawn afresh every step (the
    paper's online setting). Adam (β = 0.9, 0.999, ε = 1e-8) with :func:`triangle_lr`.
    """
    Ms = [_check_M(M, "Ms entry") for M in Ms]
    if not Ms:
        raise ValueError("Ms must name at least one pool size")
    sigma2 = float(positive(sigma2, "sigma2"))
    steps, batch_size = positive_int(steps, "steps"), positive_int(batch_size, "batch_size")
    record_every = positive_int(record_every, "record_every")
    lr = float(positive(lr, "lr"))
    device = default_device() if device is None else torch.device(device)
    G, D, K = len(Ms), config.D, config.K
    pools = [None if is_infinite(M) else sample_pool(M, D, seed=pool_seed + g)
             for g, M in enumerate(Ms)]
    Mmax = max([1] + [p.shape[0] for p in pools if p is not None])
    padded = torch.zeros(G, Mmax, D, dtype=dtype, device=device)
    sizes = torch.ones(G, dtype=torch.float64, device=device)
    for g, p in enumerate(pools):
        if p is not None:
            padded[g, :p.shape[0]] = p.to(device=device, dtype=dtype)
            sizes[g] = p.shape[0]
    fresh = torch.tensor([p is None for p in pools], device=device)

    params = init_params(config, G, seed=seed, device=device, dtype=dtype)
    for t in params.values():
        t.requires_grad_(True)
    opt = torch.optim.Adam(list(params.values()), lr=lr, betas=(0.9, 0.999), eps=1e-8)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: triangle_lr(s, steps, 1.0, warmup_frac))
    gen = torch.Generator(device=device).manual_seed(int(seed) + 10_007)
    noise_sd = math.sqrt(sigma2)
    rec_steps, rec_loss = [], []
    t0 = time.perf_counter()
    for step in tqdm(range(1, steps + 1), disable=not progress, desc=f"training {G} models"):
        idx = (torch.rand(G, batch_size, generator=gen, device=device, dtype=torch.float64)
               * sizes[:, None]).long()
        ws = torch.gather(padded, 1, idx[..., None].expand(G, batch_size, D))
        new = torch.randn(G, batch_size, D, generator=gen, device=device, dtype=dtype)
        ws = torch.where(fresh[:, None, None], new, ws)
        xs = torch.randn(G, batch_size, K, D, generator=gen, device=device, dtype=dtype)
        ys = torch.einsum("gbkd,gbd->gbk", xs, ws) + noise_sd * torch.randn(
            G, batch_size, K, generator=gen, device=device, dtype=dtype)
        out = forward(params, to_tokens(xs, ys), config.n_head)[..., 0::2]
        per_model = ((out - ys) ** 2).mean(dim=(1, 2))                  # (G,)
        opt.zero_grad(set_to_none=True)
        per_model.sum().backward()
        opt.step()
        sched.step()
        if step % record_every == 0 or step == steps:
            rec_steps.append(step)
            rec_loss.append(per_model.detach().double().cpu().numpy() / D)
    seconds = time.perf_counter() - t0
    for t in params.values():
        t.requires_grad_(False)
    return SweepRun(config=config, Ms=Ms, pools=pools, params=params, sigma2=sigma2,
                    steps=steps, batch_size=batch_size, lr=lr, loss_steps=np.array(rec_steps),
                    loss=np.array(rec_loss), seconds=seconds)
