"""Grokking on a one-layer transformer from upstream and downstream embeddings (Kunin et al. 2024,
§5 "Unbalanced initializations in practice", Fig. 6d, App. D.3 "Grokking", Fig. 12).

The paper's set-up (App. D.3, p. 40): a one-layer transformer on the modular-arithmetic task of
Power et al. (2022); the token and positional embeddings are divided by the balance parameter α
after the standard initialisation (α ≫ 1: small embeddings, **upstream**); the logits are
multiplied by τ and the learning rate divided by τ² (after Kumar et al. 2023); the grid
α ∈ {0.1, 0.3, 1, 3, 10} × τ ∈ {0.5, 0.75, 1, 1.25, 1.5}, 5 initialisations, a budget of 30 000
steps, "grokked" = validation accuracy ≥ 99 % (Fig. 12). The paper does not state the modulus p,
the training fraction, the optimiser, its weight decay or the width; those below are **the
book's choices**, and so is the architecture's detail (pre-LayerNorm, no biases, no LayerNorm
gains; a public implementation is named but not described).

The model, for the sequence (a, b, =) of three tokens, with G configurations batched on a
leading axis (one tensor program, :func:`theory.core.train_batched`):

    x₀ = (E[tokens] + P) / α                        (E: (p + 1) × d, P: 3 × d)
    x₁ = x₀[last] + Σ_h softmax(q_h k_hᵀ/√d_h) v_h W_O,h    (q, k, v of LN(x₀); the answer
                                                   position, last, attends to all three)
    x₂ = x₁ + relu(LN(x₁) W_in) W_out          (only the answer position is needed)
    logits = τ · LN(x₂) U                             (U: d × p)

with LN(x) = (x − mean x)/√(var x + ε), the mean and variance over the model dimension.
Training: full-batch AdamW (decoupled weight decay in PyTorch's order), learning rate lr/τ²,
cross-entropy on the answer (a + b) mod p.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from theory.core import (DivergenceError, Result, Sweep, array_bytes, as_array, check_bool,
                         check_memory, check_scalar, check_seeds, config_seed, first_crossing,
                         resolve_device, resolve_dtype, torch_generator, train_batched)
from theory.rich_lazy.deep import _alpha_seed_batch, seed_table

__all__ = ["GROK_ALPHAS", "GROK_TAUS", "GrokGrid", "grok_grid", "init_transformer",
           "modular_sequences", "transformer_logits", "train_transformer"]

#: the paper's grid (Fig. 12): α ∈ {0.1, 0.3, 1, 3, 10} (embeddings ÷ α), τ ∈ {0.5, …, 1.5}
GROK_ALPHAS = (0.1, 0.3, 1.0, 3.0, 10.0)
GROK_TAUS = (0.5, 0.75, 1.0, 1.25, 1.5)

_SALT = "rich_lazy.deep_transformer.init"
_NAMES = ("E", "P", "Wq", "Wk", "Wv", "Wo", "Win", "Wout", "U")


def modular_sequences(p: int, train_fraction: float, seeds, *, device=None):
    """The sequences (a, b, =) with labels (a + b) mod p, one random split per seed: a
    ``train_fraction`` of the p² pairs train (seed s draws its split from
    ``np.random.default_rng(config_seed("rich_lazy.deep_transformer.split", s))``), the rest
    validate. Returns int64 tensors ``(x_train, y_train, x_val, y_val)`` of shapes (G, N, 3),
    (G, N), (G, N_val, 3), (G, N_val); the token p is '='."""
    p = check_scalar(p, "p", kind="int", min=2)
    frac = check_scalar(train_fraction, "train_fraction", min=0.0, max=1.0, include_min=False,
                        include_max=False)
    seeds = check_seeds(seeds, "seeds")
    dev = resolve_device(device)
    check_memory(array_bytes(seeds.size + 2, p * p, 5), f"{seeds.size} splits of the {p}² sequences")
    n_tr = int(frac * p * p)
    if not 1 <= n_tr < p * p:
        raise ValueError(f"train_fraction = {frac} leaves no training or no validation pairs for p = {p}")
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    seq = np.stack([a.ravel(), b.ravel(), np.full(p * p, p)], axis=1).astype(np.int64)
    lab = (seq[:, 0] + seq[:, 1]) % p
    parts = []
    for s in seeds.tolist():
        perm = np.random.default_rng(config_seed("rich_lazy.deep_transformer.split", s)).permutation(p * p)
        tr, va = perm[:n_tr], perm[n_tr:]
        parts.append((seq[tr], lab[tr], seq[va], lab[va]))
    return tuple(torch.as_tensor(np.stack(col), device=dev) for col in zip(*parts))


def init_transformer(alpha, seeds, *, p: int, d_model: int = 64, n_heads: int = 4,
                     d_mlp: int | None = None, device=None, dtype=torch.float32) -> dict:
    """Batched initial weights (G = broadcast of ``alpha`` and ``seeds``): embeddings E, P with
    N(0, 1) entries, every matrix N(0, 1/fan_in), drawn in float64 on the CPU from the seed's own
    stream ``torch_generator(config_seed("rich_lazy.deep_transformer.init", seed))`` (the same
    alone or in any batch, and the same for every α); then E and P are **divided by α**
    (App. D.3). Returns name → tensor (G, ...)."""
    alpha, seeds = _alpha_seed_batch(alpha, seeds)
    G = alpha.shape[0]
    p = check_scalar(p, "p", kind="int", min=2)
    d = check_scalar(d_model, "d_model", kind="int", min=1)
    H = check_scalar(n_heads, "n_heads", kind="int", min=1)
    if d % H:
        raise ValueError(f"d_model = {d} must be a multiple of n_heads = {H}")
    dm = 4 * d if d_mlp is None else check_scalar(d_mlp, "d_mlp", kind="int", min=1)
    dh = d // H
    shapes = {"E": (p + 1, d), "P": (3, d), "Wq": (H, d, dh), "Wk": (H, d, dh), "Wv": (H, d, dh),
              "Wo": (H * dh, d), "Win": (d, dm), "Wout": (dm, d), "U": (d, p)}
    fan = {"E": 1, "P": 1, "Wq": d, "Wk": d, "Wv": d, "Wo": d, "Win": d, "Wout": dm, "U": d}
    dev = resolve_device(device)
    dtype = resolve_dtype(dtype)
    check_memory(sum(array_bytes(G, *sh) for sh in shapes.values())
                 + 2 * max(array_bytes(*sh) for sh in shapes.values()),
                 f"the weights of {G} transformers of width {d}")
    out = {k: torch.empty((G, *sh), dtype=dtype, device=dev) for k, sh in shapes.items()}
    for g in range(G):
        gen = torch_generator(config_seed(_SALT, int(seeds[g])))
        for k in _NAMES:
            w = torch.randn(shapes[k], generator=gen, dtype=torch.float64) / np.sqrt(fan[k])
            if k in ("E", "P"):
                w = w / float(alpha[g])
            out[k][g] = w.to(dtype)
    return out


def _ln(x: torch.Tensor) -> torch.Tensor:
    mu = x.mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(((x - mu) ** 2).mean(-1, keepdim=True) + 1e-5)


def transformer_logits(params: dict, x: torch.Tensor, tau) -> torch.Tensor:
    """Logits (G, N, p) at the last position of the sequences ``x`` (G, N, 3) int64, multiplied
    by ``tau`` (a number or (G,)); the model of the module docstring."""
    _check_params(params)
    x = _sequences(x, "x", params)
    return _logits(params, x, _tau(tau, params))


def _check_params(params) -> dict:
    if not isinstance(params, dict) or set(params) != set(_NAMES) or not all(
            isinstance(v, torch.Tensor) and v.dtype.is_floating_point for v in params.values()):
        raise TypeError(f"params must be a dict of float tensors with the keys {_NAMES} "
                        f"(from init_transformer)")
    if len({v.shape[0] for v in params.values()}) != 1:
        raise ValueError("params must share their leading configuration axis G")
    return params


def _sequences(x, name: str, params) -> torch.Tensor:
    """Token sequences (G, N, 3), integers in [0, p] (p: '='), on the weights' device."""
    E = params["E"]
    G, n_tok = E.shape[0], E.shape[1]
    if not isinstance(x, torch.Tensor) or x.dtype == torch.bool or x.dtype.is_floating_point \
            or x.is_complex():
        raise TypeError(f"{name} must be an integer tensor of tokens (G, N, 3), got "
                        f"{getattr(x, 'dtype', type(x).__name__)}")
    if x.dim() != 3 or x.shape[0] != G or x.shape[2] != 3 or x.shape[1] == 0:
        raise ValueError(f"{name} must have shape (G, N, 3) = ({G}, N, 3), got {tuple(x.shape)}")
    if x.min() < 0 or x.max() >= n_tok:
        raise ValueError(f"{name} must hold tokens in [0, {n_tok - 1}], got [{int(x.min())}, "
                         f"{int(x.max())}]")
    return x.to(E.device).long()


def _tau(tau, params) -> torch.Tensor:
    E = params["E"]
    G = E.shape[0]
    t = np.atleast_1d(as_array(tau, "tau", ndim=(0, 1)))
    if t.shape not in ((1,), (G,)):
        raise ValueError(f"tau must be a number or have shape (G,) = ({G},), got shape {t.shape}")
    if np.any(t <= 0):
        raise ValueError(f"tau must be > 0, got {t}")
    return torch.as_tensor(np.broadcast_to(t, (G,)).copy(), dtype=E.dtype, device=E.device)


def _logits(params: dict, x: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
    E = params["E"]
    d = E.shape[-1]
    # position i sees only its own token: LN(E[t] + P[i]) and its q, k, v for every token t and
    # position i are a (p + 1) × 3 table, looked up per sequence (the same sums, far fewer flops)
    h_tab = E[:, :, None] + params["P"][:, None]                                  # (G, p+1, 3, d)
    n_tab = _ln(h_tab)
    qkv = [torch.einsum("gtid,ghde->gtihe", n_tab, params[w]).flatten(-2) for w in ("Wq", "Wk", "Wv")]

    def look(tab, i):                                                             # (G, N, ·)
        t = tab[:, :, i]
        return t.gather(1, x[:, :, i, None].expand(-1, -1, t.shape[-1]))

    H = params["Wq"].shape[1]
    q = look(qkv[0], 2).unflatten(-1, (H, -1))                                    # (G, N, H, dh)
    k = torch.stack([look(qkv[1], i) for i in range(3)], 2).unflatten(-1, (H, -1))  # (G, N, 3, H, dh)
    v = torch.stack([look(qkv[2], i) for i in range(3)], 2).unflatten(-1, (H, -1))
    att = (torch.einsum("gnhe,gnshe->gnhs", q, k) / np.sqrt(q.shape[-1])).softmax(-1)
    z = torch.einsum("gnhs,gnshe->gnhe", att, v).flatten(-2)                      # (G, N, H·dh)
    last = h_tab[:, :, 2].gather(1, x[:, :, 2, None].expand(-1, -1, d))           # residual at '='
    last = last + torch.einsum("gnk,gkd->gnd", z, params["Wo"])
    last = last + torch.einsum("gnm,gmd->gnd",
                               torch.relu(torch.einsum("gnd,gdm->gnm", _ln(last), params["Win"])),
                               params["Wout"])
    return tau[:, None, None] * torch.einsum("gnd,gdp->gnp", _ln(last), params["U"])


def train_transformer(params: dict, data, *, tau, steps: int, lr: float, weight_decay: float,
                      betas=(0.9, 0.98), eval_every: int = 20, progress=False,
                      sweep: Sweep | None = None) -> Result:
    """Full-batch AdamW on each configuration's own mean cross-entropy, learning rate lr/τ²
    per configuration (App. D.3) and decoupled weight decay θ ← θ(1 − η_g λ) before each Adam
    step (PyTorch's AdamW order). ``data`` = :func:`modular_sequences`. Records ``train_loss``,
    ``train_accuracy`` and ``val_accuracy`` every ``eval_every`` steps: a Result."""
    _check_params(params)
    if not isinstance(data, (tuple, list)) or len(data) != 4:
        raise TypeError("data must be the tuple (x_train, y_train, x_val, y_val) of modular_sequences")
    xtr, xva = _sequences(data[0], "data[0] (x_train)", params), _sequences(data[2], "data[2] (x_val)", params)
    p = params["U"].shape[-1]
    ytr, yva = (_answers(y, f"data[{k}]", x, p) for y, k, x in ((data[1], 1, xtr), (data[3], 3, xva)))
    steps = check_scalar(steps, "steps", kind="int", min=1)
    lr = check_scalar(lr, "lr", min=0.0, include_min=False)
    wd = check_scalar(weight_decay, "weight_decay", min=0.0)
    eval_every = check_scalar(eval_every, "eval_every", kind="int", min=1)
    progress = check_bool(progress, "progress")
    G = params["E"].shape[0]
    if sweep is not None and (not isinstance(sweep, Sweep) or len(sweep) != G):
        raise TypeError(f"sweep must be a theory.core.Sweep of the {G} configurations or None, "
                        f"got {type(sweep).__name__}")
    tau_t = _tau(tau, params)
    tau = tau_t.cpu().double().numpy()
    eta = lr / tau ** 2
    like = params["E"]
    decay = torch.as_tensor(1.0 - eta * wd, dtype=like.dtype, device=like.device)

    def ce(P, x, y):
        logits = _logits(P, x, tau_t)
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten(),
                                                 reduction="none").reshape(G, -1).mean(-1)
        return loss, (logits.argmax(-1) == y).to(like.dtype).mean(-1)

    def loss_fn(P, step):
        loss = ce({k: v.clone() for k, v in P.items()}, xtr, ytr)[0]
        if wd > 0:
            with torch.no_grad():
                for v in P.values():
                    v.mul_(decay.reshape(-1, *[1] * (v.dim() - 1)))
        return loss

    def metrics(P, step):
        loss, acc = ce(P, xtr, ytr)
        if not bool(torch.isfinite(loss).all()):             # once per record: one reduction
            g = int(torch.nonzero(~torch.isfinite(loss))[0, 0])
            raise DivergenceError(f"AdamW on the transformers (train_transformer) diverged by step "
                                  f"{step} in configuration {g}: its loss is no longer finite (NaN "
                                  f"or inf); reduce the learning rate lr", step=step,
                                  what="train_transformer")
        return {"train_loss": loss, "train_accuracy": acc, "val_accuracy": ce(P, xva, yva)[1]}

    res = train_batched(params, steps=steps, lr=eta, loss_fn=loss_fn, optimizer="adam", betas=betas,
                        record=np.arange(0, steps + 1, eval_every), metrics=metrics, progress=progress)
    res.meta.update(model="one-layer transformer", optimizer="adamw", weight_decay=wd, lr=lr)
    return res.with_sweep(sweep) if sweep is not None else res


def _answers(y, name: str, x: torch.Tensor, p: int) -> torch.Tensor:
    if not isinstance(y, torch.Tensor) or y.dtype == torch.bool or y.dtype.is_floating_point:
        raise TypeError(f"{name} must be an integer tensor of answers (G, N)")
    if tuple(y.shape) != tuple(x.shape[:2]):
        raise ValueError(f"{name} must have shape {tuple(x.shape[:2])}, got {tuple(y.shape)}")
    if y.min() < 0 or y.max() >= p:
        raise ValueError(f"{name} must hold answers in [0, {p})")
    return y.to(x.device).long()


@dataclass(frozen=True)
class GrokGrid:
    """Steps to train accuracy ≥ ``threshold`` (``trained``) and to validation accuracy ≥
    ``threshold`` (``grokked``), shape (n_α, n_τ, n_seed), NaN: not within ``budget`` steps."""

    alphas: np.ndarray
    taus: np.ndarray
    trained: np.ndarray
    grokked: np.ndarray
    threshold: float
    budget: float

    def censored_mean(self, which: str = "grokked") -> np.ndarray:
        """Mean over seeds (n_α, n_τ) with a run that never crossed counted at the budget (a
        lower bound on the true mean; the paper does not say how it counts such runs)."""
        t = getattr(self, which)
        return np.where(np.isnan(t), self.budget, t).mean(-1)

    def table(self):
        """Mean ± s.d. over seeds per α (:func:`theory.rich_lazy.deep.seed_table`; NaN, never
        crossed, ignored), for each τ the steps to train ≥ threshold and to validation ≥ threshold,
        and the number of seeds that grokked."""
        cols = {}
        for k, t in enumerate(self.taus):
            cols[f"trained, τ = {t:g}"] = self.trained[:, k]
            cols[f"grokked, τ = {t:g}"] = self.grokked[:, k]
            cols[f"grokked runs, τ = {t:g}"] = np.isfinite(self.grokked[:, k]).sum(-1, keepdims=True)
        return seed_table(cols, self.alphas)

    def fraction_grokked(self) -> np.ndarray:
        """Fraction of seeds that grokked within the budget, (n_α, n_τ)."""
        return np.isfinite(self.grokked).mean(-1)


def grok_grid(result: Result, threshold: float = 0.99) -> GrokGrid:
    """:class:`GrokGrid` of a :func:`train_transformer` run over ``Sweep(alpha=…, tau=…, seed=…)``."""
    if not isinstance(result, Result) or result.sweep is None:
        raise TypeError("result must be a theory.core.Result labelled by its Sweep")
    if result.sweep.dims != ("alpha", "tau", "seed"):
        raise ValueError(f"the sweep must have the axes (alpha, tau, seed), got {result.sweep.dims}")
    threshold = check_scalar(threshold, "threshold", min=0.0, max=1.0)
    sw = result.sweep
    t = {k: sw.unflatten(first_crossing(result[f"{k}_accuracy"], result.steps, threshold,
                                        direction="above")) for k in ("train", "val")}
    return GrokGrid(alphas=np.array(sw.axes["alpha"], float), taus=np.array(sw.axes["tau"], float),
                    trained=t["train"], grokked=t["val"], threshold=threshold,
                    budget=float(result.steps[-1]))
