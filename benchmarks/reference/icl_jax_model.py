"""The official in-context-regression transformer and its training step, in plain JAX.

Re-implemented for the benchmark, not the official code. It re-implements the model of
``mansheej/icl-task-diversity`` (``icl/models.py`` ``Transformer``, ``icl/gpt2.py``
``GPT2Model``: a nanoGPT-style decoder) and its training step (``icl/train.py``
``train_step`` with ``optax.adam`` and the "triangle" schedule of ``icl/optim.py``), from the
equations of Raventós et al. (2023), Sec. 3 and App. B:

- tokens: the interleaved sequence (0, x_1), (y_1, 0), …, (0, x_K), (y_K, 0) of width D + 1;
- h⁰ = tokens · W_in + P (read-in without bias, learned positions, N(0, 0.02²));
- L pre-LayerNorm blocks (ε = 1e-5): h ← h + W_o·Attn(LN₁(h)) + b_o, causal softmax attention
  with H heads, scores q·k/√(d/H); h ← h + W_pr·gelu_tanh(W_fc·LN₂(h) + b_fc) + b_pr, MLP width
  4d; residual projections N(0, 0.02²/(2L));
- a final LayerNorm and the read-out f = h · w_out (no bias), read at the x tokens;
- loss: the mean squared error over the batch and the K positions (Eq. 1);
- Adam (β = 0.9, 0.999, ε = 1e-8, optax's form: θ ← θ − η m̂ / (√v̂ + ε)) with the rate rising
  linearly from 0 to the peak over the warm-up and falling linearly to 0.

Written with jax.jit and jax.grad only (no flax/optax); the parameter layout is the one of
``theory.icl_regression.transformer.init_params`` for one model (per-layer arrays stacked on a
leading layer axis) so that weights can be copied between the two. The data sampler follows
``icl/tasks.py`` ``NoisyLinearRegression.sample_batch`` (jitted separately, as in the official
loop): inputs, task indices into the pool and noise from ``fold_in(key, step)``.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np


def init_params(key, D: int, K: int, n_layer: int, n_embd: int) -> dict:
    """GPT-2 initialisation (float32): N(0, 0.02²) kernels and positions, residual projections
    N(0, 0.02²/(2L)), LayerNorm scales 1, biases 0."""
    d, L, T = n_embd, n_layer, 2 * K
    shapes = {"w_in": (D + 1, d), "wpe": (T, d), "w_qkv": (L, d, 3 * d), "w_o": (L, d, d),
              "w_fc": (L, d, 4 * d), "w_pr": (L, 4 * d, d), "w_out": (d, 1)}
    std = {"w_in": 0.02, "wpe": 0.02, "w_qkv": 0.02, "w_fc": 0.02, "w_out": 0.02,
           "w_o": 0.02 / math.sqrt(2 * L), "w_pr": 0.02 / math.sqrt(2 * L)}
    keys = jax.random.split(key, len(shapes))
    p = {n: std[n] * jax.random.normal(k, s, jnp.float32) for (n, s), k in zip(shapes.items(), keys)}
    for n, s in (("ln1", (L, d)), ("ln2", (L, d)), ("lnf", (d,))):
        p[n + "_w"], p[n + "_b"] = jnp.ones(s, jnp.float32), jnp.zeros(s, jnp.float32)
    for n, s in (("b_qkv", (L, 3 * d)), ("b_o", (L, d)), ("b_fc", (L, 4 * d)), ("b_pr", (L, d))):
        p[n] = jnp.zeros(s, jnp.float32)
    return p


def _ln(x, w, b):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / jnp.sqrt(var + 1e-5) * w + b


def to_tokens(xs, ys):
    """(B, K, D), (B, K) → (B, 2K, D + 1): x tokens (0, x), y tokens (y, 0)."""
    B, K, D = xs.shape
    xt = jnp.concatenate([jnp.zeros((B, K, 1), xs.dtype), xs], axis=2)
    yt = jnp.concatenate([ys[..., None], jnp.zeros((B, K, D), xs.dtype)], axis=2)
    return jnp.stack([xt, yt], axis=2).reshape(B, 2 * K, D + 1)


def forward(p, xs, ys, n_head: int):
    """Predictions (B, K) at the x tokens."""
    tok = to_tokens(xs, ys)
    B, T, _ = tok.shape
    d = p["w_in"].shape[1]
    hd = d // n_head
    h = tok @ p["w_in"] + p["wpe"][None, :T]
    mask = jnp.tril(jnp.ones((T, T), bool))
    for layer in range(p["w_qkv"].shape[0]):
        a = _ln(h, p["ln1_w"][layer], p["ln1_b"][layer]) @ p["w_qkv"][layer] + p["b_qkv"][layer]
        q, k, v = jnp.split(a, 3, axis=2)
        q, k, v = (t.reshape(B, T, n_head, hd).transpose(0, 2, 1, 3) for t in (q, k, v))
        att = q @ k.transpose(0, 1, 3, 2) / jnp.sqrt(jnp.float32(hd))
        att = jax.nn.softmax(jnp.where(mask, att, jnp.finfo(jnp.float32).min), axis=-1)
        y = (att @ v).transpose(0, 2, 1, 3).reshape(B, T, d)
        h = h + y @ p["w_o"][layer] + p["b_o"][layer]
        m = jax.nn.gelu(_ln(h, p["ln2_w"][layer], p["ln2_b"][layer]) @ p["w_fc"][layer]
                        + p["b_fc"][layer], approximate=True)
        h = h + m @ p["w_pr"][layer] + p["b_pr"][layer]
    h = _ln(h, p["lnf_w"], p["lnf_b"])
    return (h @ p["w_out"])[:, ::2, 0]


def loss_fn(p, xs, ys, n_head):
    return jnp.mean((forward(p, xs, ys, n_head) - ys) ** 2)


def make_trainer(D: int, K: int, n_head: int, batch: int, steps: int, lr: float,
                 pool, noise_scale: float, warmup_frac: float = 0.5, seed: int = 0):
    """``(sample, step)``: the jitted sampler ``sample(i) -> (xs, ys)`` and the jitted, donating
    train step ``step(state, xs, ys) -> state`` with state = (params, m, v, t)."""
    warm = max(1, int(round(warmup_frac * steps)))
    pool = jnp.asarray(pool, jnp.float32)                     # (M, D)
    data_key, task_key, noise_key = jax.random.split(jax.random.PRNGKey(seed), 3)

    @jax.jit
    def sample(i):
        xs = jax.random.normal(jax.random.fold_in(data_key, i), (batch, K, D), jnp.float32)
        idx = jax.random.choice(jax.random.fold_in(task_key, i), pool.shape[0], (batch,))
        ys = jnp.einsum("bkd,bd->bk", xs, pool[idx])
        return xs, ys + noise_scale * jax.random.normal(jax.random.fold_in(noise_key, i),
                                                        (batch, K), jnp.float32)

    def rate(t):
        return jnp.where(t < warm, lr * t / warm, lr * (steps - t) / (steps - warm))

    @jax.jit
    def _step(state, xs, ys):
        p, m, v, t = state
        g = jax.grad(loss_fn)(p, xs, ys, n_head)
        t1 = t + 1
        m = jax.tree_util.tree_map(lambda a, b: 0.9 * a + 0.1 * b, m, g)
        v = jax.tree_util.tree_map(lambda a, b: 0.999 * a + 0.001 * b * b, v, g)
        eta = rate(t.astype(jnp.float32))
        c1, c2 = 1 - 0.9 ** t1.astype(jnp.float32), 1 - 0.999 ** t1.astype(jnp.float32)
        p = jax.tree_util.tree_map(lambda w, a, b: w - eta * (a / c1) / (jnp.sqrt(b / c2) + 1e-8),
                                   p, m, v)
        return p, m, v, t1

    step = jax.jit(_step, donate_argnums=0)

    def init_state(params):
        z = jax.tree_util.tree_map(jnp.zeros_like, params)
        return params, z, jax.tree_util.tree_map(jnp.zeros_like, params), jnp.int32(0)

    return sample, step, init_state


def from_ours(params: dict, g: int = 0) -> dict:
    """Model g of ``theory.icl_regression.transformer.init_params``'s stacked dict as a JAX dict."""
    return {k: jnp.asarray(np.asarray(v[g], dtype=np.float32)) for k, v in params.items()}
