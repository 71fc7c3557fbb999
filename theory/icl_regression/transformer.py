"""A GPT-2-style in-context regressor, batched over a sweep of pretraining task pools.

Raventós, Paul, Chen, Ganguli (2023), arXiv:2306.15063, Sec. 3 and App. B (the official code's
``icl/gpt2.py``): the model is a linear embedding of the (D + 1)-wide tokens (no bias), learned
position embeddings, L pre-LayerNorm decoder blocks (causal multi-head attention, a 4× MLP with
tanh-GELU, biases, LayerNorm ε = 1e-5), a final LayerNorm and a linear read-out to one number
(no bias), read at the x tokens. It is trained with Adam on the mean squared error over all K
positions (Eq. 1), with the paper's "triangle" schedule: linear warm-up from 0 to the peak
learning rate over half the steps, then linear decay to 0. Initialisation as GPT-2:
N(0, 0.02²), residual projections N(0, 0.02²/(2L)).

Batching over the sweep. G models, one per pretraining pool size M_g (M = ∞ allowed), are one
tensor program: every parameter carries a leading model axis g, every linear layer is a
``torch.baddbmm`` over g, attention runs over the (g, sequence) pairs together, and the loss
is the *sum* over g of each model's own loss, so its gradient with respect to model g's
parameters is exactly model g's own gradient; the core's :func:`theory.core.train_batched`
applies Adam slice by slice.

Seeds. Every random draw of a model comes from streams named by that model's own values, never
by its position in the batch (:func:`theory.core.config_seed`): its initial weights from
``config_seed("icl_regression.init", "M", M, "seed", seed)``, its pool from
``config_seed("icl_regression.pool", "M", M, "D", D, "pool_seed", pool_seed)``, and every step's
batch (task indices, fresh tasks, inputs, noise) from the counter-based streams of
:func:`theory.core.counter_normal` keyed on ``config_seed("icl_regression.data", "M", M,
"seed", seed)`` and the step. A model therefore trains bit for bit the same alone and inside any
sweep, in any order (``tests/test_icl_regression.py``). Nothing in a step loops over g.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from theory.core import (DivergenceError, Result, array_bytes, check_bool, check_memory,
                         check_scalar, check_seed, check_seeds, config_seed, counter_normal,
                         counter_uniform, record_steps, resolve_device, resolve_dtype,
                         torch_generator, train_batched)
from theory.icl_regression.data import _check_M, _tensor, _to_tokens, is_infinite, sample_pool

__all__ = ["DECAYED", "ModelConfig", "SweepRun", "forward", "init_params", "model_seeds", "predict",
           "train_sweep", "triangle_lr"]


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
            check_scalar(getattr(self, name), name, kind="int", min=1)
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd={self.n_embd} must be divisible by n_head={self.n_head}")

    @property
    def T(self) -> int:
        return 2 * self.K


def _M_key(M):
    """The value that names a pool size in a seed: the int M, or the string "inf"."""
    return "inf" if is_infinite(M) else int(M)


def model_seeds(Ms, purpose: str, **keys) -> np.ndarray:
    """One seed per model (G,) from its own values: ``config_seed("icl_regression." + purpose,
    "M", M, *keys)`` (the book's seeding convention; independent of the batch and its order)."""
    if isinstance(Ms, (str, bytes)) or not hasattr(Ms, "__iter__"):
        raise TypeError(f"Ms must be a list of pool sizes, got {type(Ms).__name__}")
    Ms = [_check_M(M, "Ms entry") for M in Ms]
    if not Ms:
        raise ValueError("Ms must name at least one pool size")
    if not isinstance(purpose, str):
        raise TypeError(f"purpose must be a str, got {type(purpose).__name__}")
    extra = [v for kv in sorted(keys.items()) for v in kv]
    return np.array([config_seed(f"icl_regression.{purpose}", "M", _M_key(M), *extra)
                     for M in Ms], dtype=np.int64)


def _check_seeds(seeds) -> list[int]:
    return [int(s) for s in check_seeds(seeds, "seeds")]


def init_params(config: ModelConfig, seeds, *, device=None,
                dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """GPT-2 initialisation for G = len(seeds) independent models: a dict of (G, …) tensors.

    Model g's parameters are drawn in float64 from its own ``torch_generator(seeds[g])``, so a
    model's initial weights depend on its seed only, not on the other models of the batch.
    """
    if not isinstance(config, ModelConfig):
        raise TypeError(f"config must be a ModelConfig, got {type(config).__name__}")
    seeds = _check_seeds(seeds)
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    c, d, L = config, config.n_embd, config.n_layer
    shapes = {"w_in": (c.D + 1, d), "wpe": (c.T, d),
              "ln1_w": (L, d), "ln1_b": (L, d), "w_qkv": (L, d, 3 * d), "b_qkv": (L, 3 * d),
              "w_o": (L, d, d), "b_o": (L, d), "ln2_w": (L, d), "ln2_b": (L, d),
              "w_fc": (L, d, 4 * d), "b_fc": (L, 4 * d), "w_pr": (L, 4 * d, d), "b_pr": (L, d),
              "lnf_w": (d,), "lnf_b": (d,), "w_out": (d, 1)}
    std = {"w_in": 0.02, "wpe": 0.02, "w_qkv": 0.02, "w_fc": 0.02, "w_out": 0.02,
           "w_o": 0.02 / math.sqrt(2 * L), "w_pr": 0.02 / math.sqrt(2 * L)}
    per_model = []
    for seed in seeds:
        gen = torch_generator(seed)
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
    # the bias added after the product: torch's CPU baddbmm first copies the broadcast bias
    # into the output, which costs more than the add (≈ 0.4 ms of 1.2 at 4096 × 64 × 192)
    return torch.bmm(x, w).add_(b[:, None, :])


def _layer_norm(x, w, b):
    return F.layer_norm(x, x.shape[-1:], eps=1e-5) * w[:, None, :] + b[:, None, :]


_PARAM_NAMES = ("w_in", "wpe", "ln1_w", "ln1_b", "w_qkv", "b_qkv", "w_o", "b_o", "ln2_w",
                "ln2_b", "w_fc", "b_fc", "w_pr", "b_pr", "lnf_w", "lnf_b", "w_out")


def _check_params(params, *, arrays_ok=False):
    """The stacked parameters of :func:`init_params` (tensors; numpy arrays with ``arrays_ok``)."""
    if not isinstance(params, dict):
        raise TypeError(f"params must be the dict of stacked parameters from init_params, got "
                        f"{type(params).__name__}")
    missing = [k for k in _PARAM_NAMES if k not in params]
    if missing:
        raise ValueError(f"params must be the dict of stacked parameters from init_params; "
                         f"missing {missing}")
    for k in _PARAM_NAMES:
        v = params[k]
        if arrays_ok and isinstance(v, np.ndarray):
            v = torch.as_tensor(v)
        _tensor(v, f"params[{k!r}]")
    return params


def _check_shapes(params, n_head, G, width_in, T):
    d = params["w_in"].shape[-1]
    n_head = check_scalar(n_head, "n_head", kind="int", min=1)
    if d % n_head:
        raise ValueError(f"n_head={n_head} must divide the model's width n_embd={d}")
    if G != params["w_in"].shape[0] or width_in != params["w_in"].shape[1]:
        raise ValueError(f"tokens (G={G}, width {width_in}) do not fit the parameters "
                         f"(G={params['w_in'].shape[0]}, width {params['w_in'].shape[1]})")
    if T > params["wpe"].shape[1]:
        raise ValueError(f"tokens have T={T} positions, the model {params['wpe'].shape[1]}")
    return n_head


def forward(params: dict[str, torch.Tensor], tokens: torch.Tensor, n_head: int) -> torch.Tensor:
    """Read-out (G, B, T) of G models on tokens (G, B, T, D + 1), each model on its own batch.

    ``n_head`` must be a positive int dividing the width; T at most the number of learned
    positions. The arguments are checked here once (shapes, finiteness of the tokens); the
    trainer and :func:`predict` call the unchecked pass ``_forward`` in their loops.
    """
    _check_params(params)
    tokens = _tensor(tokens, "tokens", ndim=4)
    G, B, T, width_in = tokens.shape
    n_head = _check_shapes(params, n_head, G, width_in, T)
    return _forward(params, tokens, n_head)


def _forward(params, tokens, n_head):
    """:func:`forward` without the checks (one training step or one chunk of predictions)."""
    G, B, T, width_in = tokens.shape
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
    # the read-out to one number as a product and a sum over the width, not a matrix-vector
    # bmm: torch's CPU bmm takes another kernel for one model than for several, which would
    # make a model's output depend (in the last bit) on the size of its batch of models
    return (h * params["w_out"][:, None, :, 0]).sum(-1).view(G, B, T)


def predict(params, xs: torch.Tensor, ys: torch.Tensor, n_head: int, *,
            chunk: int = 1024, device=None) -> torch.Tensor:
    """Predictions (G, n, K) of the G models at the x tokens, on xs (G or 1, n, K, D), ys (…, K).

    ``params``: tensors or numpy arrays (G, …). Run without gradients in chunks of ``chunk``
    sequences, in the parameters' dtype, on ``device`` (default: the parameters' own device for
    tensors, :func:`theory.core.resolve_device` for arrays); returned in float64 on the CPU.
    """
    chunk = check_scalar(chunk, "chunk", kind="int", min=1)
    _check_params(params, arrays_ok=True)
    xs = _tensor(xs, "xs", ndim=4)
    ys = _tensor(ys, "ys")
    if ys.shape != xs.shape[:3]:
        raise ValueError(f"xs must be (G, n, K, D) and ys (G, n, K) (G may be 1 to share them): "
                         f"ys must have shape {tuple(xs.shape[:3])}, got {tuple(ys.shape)}")
    if device is None and isinstance(params.get("w_in"), torch.Tensor):
        dev = params["w_in"].device
    else:
        dev = resolve_device(device)
    P = {k: torch.as_tensor(v, device=dev) for k, v in params.items()}
    G = P["w_in"].shape[0]
    if xs.shape[0] not in (1, G):
        raise ValueError(f"xs has {xs.shape[0]} model groups, the parameters {G}")
    if xs.shape[-1] + 1 != P["w_in"].shape[1]:
        raise ValueError(f"xs has D={xs.shape[-1]} inputs, the models D={P['w_in'].shape[1] - 1}")
    if 2 * xs.shape[2] > P["wpe"].shape[1]:
        raise ValueError(f"xs has K={xs.shape[2]} pairs, the models at most "
                         f"{P['wpe'].shape[1] // 2}")
    n_head = _check_shapes(P, n_head, G, xs.shape[-1] + 1, 2 * xs.shape[2])
    dt = P["w_in"].dtype
    out = []
    with torch.no_grad():
        for s in range(0, xs.shape[1], chunk):
            tok = _to_tokens(xs[:, s:s + chunk], ys[:, s:s + chunk]).to(device=dev, dtype=dt)
            tok = tok.expand(G, *tok.shape[1:])
            out.append(_forward(P, tok, n_head)[..., 0::2].double().cpu())
    return torch.cat(out, dim=1)


def _warmup_steps(total_steps, warmup_frac):
    """W, the last step of the warm-up: 0 (none) at warmup_frac = 0, total_steps (no decay) at
    1, else round(warmup_frac · total_steps) kept in [1, total_steps − 1] (0 for one step)."""
    if warmup_frac == 0.0:
        return 0
    if warmup_frac == 1.0:
        return total_steps
    return min(total_steps - 1, max(1, int(round(warmup_frac * total_steps))))


def triangle_lr(step, total_steps: int, peak: float, warmup_frac: float = 0.5) -> float:
    """The paper's schedule (Sec. 3; official ``icl/optim.py``): the rate rises linearly from 0
    at step 0 to ``peak`` at step W = round(warmup_frac · total_steps) (at least 1, at most
    total_steps − 1), then falls linearly to 0 at ``total_steps``.

    Every schedule with total_steps ≥ 1 and warmup_frac in [0, 1] is legal: warmup_frac = 0
    has no warm-up (the first update takes the peak), warmup_frac = 1 no decay (the rate
    reaches the peak at total_steps); a single step (total_steps = 1) has no room for a
    warm-up, so its one update takes the peak unless warmup_frac = 1 (then it is 0)."""
    total_steps = check_scalar(total_steps, "total_steps", kind="int", min=1)
    step = check_scalar(step, "step", kind="int", min=0, max=total_steps)
    peak = check_scalar(peak, "peak", min=0.0)
    warmup_frac = check_scalar(warmup_frac, "warmup_frac", min=0.0, max=1.0)
    return _triangle(step, total_steps, peak, _warmup_steps(total_steps, warmup_frac))


def _triangle(step, total_steps, peak, warm):
    """:func:`triangle_lr` with W given and nothing checked (the trainer calls it every step)."""
    if step < warm:
        return peak * step / warm
    if warm == total_steps:
        return peak
    return peak * (total_steps - step) / (total_steps - warm)


@dataclass
class SweepRun(Result):
    """A trained sweep (a :class:`theory.core.Result`, configurations first).

    ``steps`` (T,) the recorded steps (0 = initialisation); ``metrics["train_loss"]`` (G, T):
    each model's loss per dimension, after s updates, on the batch of its next update;
    ``params``: the final stacked parameters (numpy, (G, …)); ``meta``: the training settings
    and the seeds. ``config``, ``Ms``, ``pools`` (per model: (M, D) float64 tensor, or None for
    M = ∞) and ``sigma2`` describe the sweep.
    """

    config: ModelConfig | None = None
    Ms: list = field(default_factory=list)
    pools: list = field(default_factory=list)
    sigma2: float = 0.0

    def predict(self, xs, ys, chunk: int = 1024, device=None):
        return predict(self.params, xs, ys, self.config.n_head, chunk=chunk, device=device)

    def model(self, g: int) -> dict:
        """Model g's parameters as a one-model stack (1, …)."""
        G = len(self.Ms)
        g = check_scalar(g, "g", kind="int", min=0, max=G - 1)
        return {k: v[g:g + 1] for k, v in self.params.items()}


def _tracked(Ms, pools, config, sigma2, pool_seed, n, track_seed, dtype, device):
    """The fixed sequences of the learning curves: name → (tokens (G, n, T, D + 1), ridge's
    predictions (G, n, K) in float64), for new tasks (shared) and for each model's own pool."""
    from theory.icl_regression.data import sample_sequences
    from theory.icl_regression.estimators import ridge_predict

    D, K, G = config.D, config.K, len(Ms)
    new = sample_sequences(n, K, sigma2, D=D, seed=track_seed)
    own = [sample_sequences(n, K, sigma2, seed=config_seed(
               "icl_regression.track", "M", _M_key(M), "D", D, "pool_seed", pool_seed,
               "track_seed", track_seed), **(dict(D=D) if p is None else dict(pool=p)))
           for M, p in zip(Ms, pools)]
    out = {}
    for name, seqs in (("d_ridge_new", [new] * G), ("d_ridge_pool", own)):
        xs = torch.stack([q.xs for q in seqs])
        ys = torch.stack([q.ys for q in seqs])
        ridge = torch.stack([ridge_predict(q.xs, q.ys, sigma2) for q in seqs])
        out[name] = (_to_tokens(xs, ys).to(device=device, dtype=dtype),
                     ridge.to(device=device, dtype=torch.float64))
    return out


def _sweep_data(pools, fresh, data_seeds, B, K, D, sigma2, dtype, device):
    """The batch of one step for every model: xs (G, B, K, D), ys (G, B, K), from each model's
    own counter streams (0: task index, 1: fresh task, 2: inputs, 3: noise)."""
    padded, sizes = pools
    noise_sd = math.sqrt(sigma2)

    def batch(step):
        u = counter_uniform(data_seeds, step, (B,), 0, device=device)
        idx = torch.minimum((u * sizes[:, None]).long(), (sizes[:, None] - 1).long())
        ws = torch.gather(padded, 1, idx[..., None].expand(-1, B, D))
        new = counter_normal(data_seeds, step, (B, D), 1, device=device)
        ws = torch.where(fresh[:, None, None], new, ws)
        xs = counter_normal(data_seeds, step, (B, K, D), 2, device=device)
        ys = torch.einsum("gbkd,gbd->gbk", xs, ws) + noise_sd * counter_normal(
            data_seeds, step, (B, K), 3, device=device)
        return xs.to(dtype), ys.to(dtype)

    return batch


#: The parameters the weight decay acts on: the kernels of the decoder blocks (attention
#: q/k/v and output, MLP in and out), the official code's AdamW mask (``icl/optim.py``: block
#: kernels only; no biases, LayerNorms, embeddings or read-out).
DECAYED = ("w_qkv", "w_o", "w_fc", "w_pr")


def _per_model(value, name, G, *, kind, min_value, include_min=True):
    """A number, or one number per model (length G), validated, as a list of G numbers."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        value = [value] * G
    vals = list(value)
    if len(vals) != G:
        raise ValueError(f"{name} must be one number or one per model ({G}), got {len(vals)}")
    return [check_scalar(v, f"{name} entry", kind=kind, min=min_value, include_min=include_min)
            for v in vals]


def train_sweep(Ms, config: ModelConfig = ModelConfig(), *, sigma2: float = 0.125,
                steps: int = 2000, batch_size=64, lr: float = 1e-3,
                warmup_frac: float = 0.5, seed: int = 0, pool_seed: int = 1,
                record_every: int = 50, device=None, dtype=torch.float32,
                progress: bool = True, weight_decay=0.0, track: int | None = None,
                track_seed: int = 777) -> SweepRun:
    """Train one transformer per pool size in ``Ms`` (ints, or math.inf) as one batched program.

    Model g's pool is ``sample_pool(M_g, D, seed=config_seed("icl_regression.pool", "M", M_g,
    "D", D, "pool_seed", pool_seed))``; ``M = inf`` draws a fresh task per sequence. Batches of
    ``batch_size`` sequences are drawn afresh every step (the paper's online setting) from the
    model's own counter streams. Adam (β = 0.9, 0.999, ε = 1e-8) with :func:`triangle_lr`
    peaking at ``lr``, through :func:`theory.core.train_batched`. Records the training loss
    every ``record_every`` steps (and at 0 and ``steps``).

    ``batch_size``: one int, or one per model (the paper's batch doubling, Sec. 3.1, Fig. 2:
    B = 256 and 512 at fixed steps). Every step draws B_max = max(batch_size) sequences per
    model from its own streams and model g trains on the first B_g of them (the models of each
    batch size run as one group, unpadded), so models of equal M and seed see nested batches
    (the larger batch holds the smaller one; the official code also keeps its data and model
    seeds fixed across batch sizes). One batch size for all takes the single pass, as before.

    ``weight_decay``: λ, one number or one per model (Sec. 3.3, Fig. 7): the loss of model g
    gains (λ_g/2) Σ‖W‖² over the block kernels :data:`DECAYED`, so Adam sees ∇L + λW on them
    (coupled L2, torch Adam's ``weight_decay`` restricted to the official AdamW mask; the
    official code decouples it, optax ``adamw``). ``train_loss`` records the data loss only.

    ``track``: n, or None. With n, the distance of Eq. 4 to ridge,
    Δ_{PT,Ridge} = (1/(KD)) Σ_k (f(S_k) − ŷ^Ridge_k)², is recorded at every record step on n
    fixed sequences of new tasks (``metrics["d_ridge_new"]``, T_True, shared by all models,
    ``sample_sequences(n, K, sigma2, D=D, seed=track_seed)``) and on n fixed sequences of the
    model's own pool (``metrics["d_ridge_pool"]``, T_Pretrain; seed ``config_seed(
    "icl_regression.track", "M", M, "D", D, "pool_seed", pool_seed, "track_seed",
    track_seed)``; fresh tasks at M = ∞): the learning curves of Fig. 4.
    """
    if isinstance(Ms, (str, bytes)) or not hasattr(Ms, "__iter__"):
        raise TypeError(f"Ms must be a list of pool sizes, got {type(Ms).__name__}")
    Ms = [_check_M(M, "Ms entry") for M in Ms]
    if not Ms:
        raise ValueError("Ms must name at least one pool size")
    if not isinstance(config, ModelConfig):
        raise TypeError(f"config must be a ModelConfig, got {type(config).__name__}")
    sigma2 = check_scalar(sigma2, "sigma2", min=0.0, include_min=False)
    steps = check_scalar(steps, "steps", kind="int", min=1)
    sizes_b = _per_model(batch_size, "batch_size", len(Ms), kind="int", min_value=1)
    decays = _per_model(weight_decay, "weight_decay", len(Ms), kind="float", min_value=0.0)
    if track is not None:
        track = check_scalar(track, "track", kind="int", min=1)
    track_seed = check_seed(track_seed, "track_seed")
    record_every = check_scalar(record_every, "record_every", kind="int", min=1)
    lr = check_scalar(lr, "lr", min=0.0, include_min=False)
    warmup_frac = check_scalar(warmup_frac, "warmup_frac", min=0.0, max=1.0)
    seed = check_seed(seed, "seed")
    pool_seed = check_seed(pool_seed, "pool_seed")
    progress = check_bool(progress, "progress")
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    G, D, K = len(Ms), config.D, config.K
    item = torch.empty((), dtype=dtype).element_size()
    B_all, T_all, d = sum(sizes_b), config.T, config.n_embd
    check_memory(array_bytes(B_all, T_all, d, 16 * config.n_layer + 4, itemsize=item)
                 + array_bytes(B_all, config.n_head * config.n_layer, T_all, T_all, itemsize=item)
                 + 4 * array_bytes(G, max(sizes_b), K, D + 1)
                 + array_bytes(track or 0, G, 2 * T_all, D + 2),
                 f"training {G} models on batches of {max(sizes_b)} sequences (activations of "
                 f"{config.n_layer} layers × {d})", hint="use smaller batches or fewer models")
    warm = _warmup_steps(steps, warmup_frac)

    pools = [None if is_infinite(M) else
             sample_pool(M, D, seed=config_seed("icl_regression.pool", "M", int(M), "D", D,
                                                "pool_seed", pool_seed))
             for M in Ms]
    Mmax = max([1] + [p.shape[0] for p in pools if p is not None])
    padded = torch.zeros(G, Mmax, D, dtype=torch.float64, device=device)
    sizes = torch.ones(G, dtype=torch.float64, device=device)
    for g, p in enumerate(pools):
        if p is not None:
            padded[g, :p.shape[0]] = p.to(device=device)
            sizes[g] = p.shape[0]
    fresh = torch.tensor([p is None for p in pools], device=device)
    init_seeds = model_seeds(Ms, "init", seed=seed)
    data_seeds = model_seeds(Ms, "data", seed=seed)
    B_max = max(sizes_b)
    batch = _sweep_data((padded, sizes), fresh, data_seeds, B_max, K, D, sigma2, dtype,
                        device)
    # models grouped by batch size: each group runs its own forward pass on its first B_g
    # sequences (no padding), and the losses are put back in the models' order
    groups = [(b, torch.tensor([g for g in range(G) if sizes_b[g] == b], device=device))
              for b in sorted(set(sizes_b))]
    order = torch.argsort(torch.cat([idx for _, idx in groups]))
    lam = torch.tensor(decays, dtype=dtype, device=device)

    def data_loss(P, step):
        xs, ys = batch(step)
        if len(groups) == 1:
            out = _forward(P, _to_tokens(xs, ys), config.n_head)[..., 0::2]
            return ((out - ys) ** 2).mean(dim=(1, 2))                     # (G,)
        parts = []
        for b, idx in groups:
            Pg = {k: v.index_select(0, idx) for k, v in P.items()}
            xg, yg = xs.index_select(0, idx)[:, :b], ys.index_select(0, idx)[:, :b]
            out = _forward(Pg, _to_tokens(xg, yg), config.n_head)[..., 0::2]
            parts.append(((out - yg) ** 2).mean(dim=(1, 2)))
        return torch.cat(parts)[order]

    def per_model_loss(P, step):
        loss = data_loss(P, step)
        if any(decays):
            l2 = sum((P[k] ** 2).flatten(1).sum(1) for k in DECAYED)
            loss = loss + 0.5 * lam * l2
        return loss

    tracked = _tracked(Ms, pools, config, sigma2, pool_seed, track, track_seed, dtype,
                       device) if track is not None else None

    def metrics(P, s):
        out = {"train_loss": data_loss(P, s).double() / D}
        # divergence is checked here, at the record steps only (one reduction of G numbers),
        # never inside the step: Adam keeps a NaN or inf once it appears, so a divergence
        # between two records shows at the next one
        if not bool(torch.isfinite(out["train_loss"]).all()):
            bad = [M for M, ok in zip(Ms, torch.isfinite(out["train_loss"]).tolist()) if not ok]
            raise DivergenceError(
                f"training diverged at step {s} (found at this record step; the last finite "
                f"record was before it): the training loss of the models M = {bad} is no longer "
                f"finite (NaN or inf); reduce the learning rate lr={lr!r}", step=s,
                what="train_sweep")
        if tracked is not None:
            for name, (tok, ridge) in tracked.items():
                pred = _forward(P, tok, config.n_head)[..., 0::2].double()
                out[name] = ((pred - ridge) ** 2).mean(dim=(1, 2)) / D
        return out

    params = init_params(config, init_seeds, device=device, dtype=dtype)
    t0 = time.perf_counter()
    res = train_batched(
        params, steps=steps, loss_fn=per_model_loss, optimizer="adam", betas=(0.9, 0.999),
        eps=1e-8, lr=lambda s: _triangle(s, steps, lr, warm),
        record=record_steps(steps, every=record_every), metrics=metrics,
        progress=f"training {G} models" if progress else False, device=device)
    seconds = time.perf_counter() - t0
    meta = dict(res.meta, seconds=seconds,
                batch_size=sizes_b[0] if len(set(sizes_b)) == 1 else sizes_b,
                batch_sizes=np.array(sizes_b), weight_decays=np.array(decays, dtype=float),
                lr=lr, warmup_frac=warmup_frac,
                seed=seed, pool_seed=pool_seed, device=str(device), dtype=str(dtype),
                init_seeds=init_seeds, data_seeds=data_seeds, track=track, track_seed=track_seed)
    return SweepRun(steps=res.steps, metrics=res.metrics, params=res.params, meta=meta,
                    config=config, Ms=Ms, pools=pools, sigma2=sigma2)
