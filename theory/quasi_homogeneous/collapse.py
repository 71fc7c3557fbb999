"""Neural collapse as a maximum-margin problem over the last layer and the features.

The book's reconstruction of the paper's neural-collapse claim (abstract: applied to expressive
networks with normalisation the asymmetric max-margin bias gives "a universal mechanism for Neural
Collapse"; introduction: for ResNet-18 "only the last layer's weight and bias parameters are
constrained"). The argument, as this book reconstructs it:

- With a normalisation without affine parameters before the last linear layer,
  h(x) = N(z(x; θ_<)) is invariant to rescaling the earlier parameters θ_<: their rate is 0, and
  the logits f_k(x) = w_k·h(x) + b_k are homogeneous of degree 1 in (W, b), the only parameters
  of the highest rate λ_max = 1.
- The theorem's programme, min ½‖θ‖²_{Λmax} s.t. q_c(θ) ≥ 1, becomes
  min ½(‖W‖² + ‖b‖²) s.t. q_{ik} = (w_{yᵢ} − w_k)·hᵢ + b_{yᵢ} − b_k ≥ 1 for all k ≠ yᵢ, over
  (W, b) and, for an expressive network, over the features hᵢ on the normalisation's sphere.
  Its solutions have collapsed features forming a simplex equiangular tight frame aligned with
  W (NC1–NC4 of Papyan, Han & Donoho 2020).

This module trains a stacked MLP d → hidden (ReLU) → hidden (ReLU) → N → K, with N the identity
("none"), a LayerNorm without affine ("layer": (z − mean z)/√(var z + ε)) or an RMS normalisation
("rms": z/√(mean z² + ε)), on the cross-entropy, full batch, with no weight decay, every
(norm, seed) at once on the shared trainer (:func:`theory.core.train_batched` over
``Sweep(norm, seed)``). The default step rule (``step_rule="arc"``) walks gradient flow's path at
unit speed: θ ← θ − η ∇L/‖∇L‖, the norm per configuration over all its parameters. That is the
gradient flow of L reparametrised by arc length (the same path, a different clock), so the
terminal phase, where ∇L → 0 and plain gradient descent slows to a crawl, is crossed within a
laptop budget; ``step_rule="gd"`` is plain gradient descent (with ``momentum``) for comparison.

At log-spaced records it measures, on the training features hᵢ and the last layer (W, b):

- NC1 = Tr(Σ_W Σ_B⁺)/K (within-class against between-class covariance);
- NC2: ``nc2_norm`` = std/mean of ‖μ_k − μ_G‖, ``nc2_angle`` = mean over k ≠ l of
  |cos(μ_k − μ_G, μ_l − μ_G) + 1/(K − 1)|;
- NC3 = ‖W/‖W‖_F − M̃/‖M̃‖_F‖²_F, M̃ the K × d matrix of centred class means;
- NC4 = the share of training points on which argmax_k f_k agrees with the nearest class mean;
- the last layer's KKT residual (:func:`last_layer_kkt`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from theory.core import (COLORS, Result, Sweep, array_bytes, as_tensor, check_bool, check_memory, check_scalar,
                         check_seed, check_seeds, config_seed, figure, record_steps,
                         scaled, torch_generator, train_batched)

__all__ = ["CollapseSetup", "DATASETS", "by_norm", "cross_entropy", "log_cross_entropy", "NORMS", "NC_METRICS", "collapse_figure", "collapse_report",
           "last_layer_kkt", "load_data", "mlp_forward", "nc_metrics", "init_mlp", "onset_steps",
           "terminal_change", "train_collapse"]

DATASETS = ("digits", "mnist1d")
NORMS = ("none", "layer", "rms")
NC_METRICS = ("nc1", "nc2_norm", "nc2_angle", "nc3", "nc4", "kkt")
STEP_RULES = ("arc", "gd")
LN_EPS = 1e-20  # tiny, so that the rate-0 invariance holds to ~ε/var(z) (~1e-18); no division by 0


@dataclass(frozen=True)
class CollapseData:
    """A balanced training set: ``x`` (n, d) float64, ``y`` (n,) int64 in 0..K−1."""

    name: str
    x: np.ndarray
    y: np.ndarray
    n_classes: int


def load_data(name: str, *, per_class: int = 50, seed: int = 0) -> CollapseData:
    """``per_class`` training points of each of the 10 classes of scikit-learn's digits (pixels/16)
    or of MNIST-1D (``mnist1d.data.make_dataset(get_dataset_args())``, made offline, each feature
    standardised), chosen by a permutation seeded with ``config_seed("qh.collapse.data", name,
    seed)``."""
    if name not in DATASETS:
        raise ValueError(f"name must be one of {DATASETS}, got {name!r}")
    per_class = check_scalar(per_class, "per_class", kind="int", min=2)
    seed = check_seed(seed, "seed")
    if name == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        x, y = d.data / 16.0, d.target
    else:
        import mnist1d.data as m1

        d = m1.make_dataset(m1.get_dataset_args())
        x, y = np.asarray(d["x"], dtype=np.float64), np.asarray(d["y"])
        x = (x - x.mean(0)) / x.std(0)
    rng = np.random.default_rng(config_seed("qh.collapse.data", name, seed))
    idx = []
    for k in range(10):
        members = np.flatnonzero(y == k)
        if members.size < per_class:
            raise ValueError(f"per_class must be at most {members.size} for {name!r}, got {per_class}")
        idx.append(rng.permutation(members)[:per_class])
    idx = np.sort(np.concatenate(idx))
    return CollapseData(name, np.ascontiguousarray(x[idx], dtype=np.float64),
                        np.asarray(y[idx], dtype=np.int64), 10)


@dataclass(frozen=True)
class CollapseSetup:
    """The training design (fixed before measuring; see the notebook)."""

    seeds: tuple = (0, 1, 2)
    norms: tuple = ("none", "layer")
    hidden: int = 64
    per_class: int = 50
    steps: int = 1500
    lr: float = 0.3
    momentum: float = 0.0
    n_records: int = 16
    dtype: str = "float64"
    step_rule: str = "arc"

    def __post_init__(self):
        seeds = tuple(int(check_scalar(s, "seeds[i]", kind="int", min=0, max=2**31 - 1))
                      for s in self.seeds)
        if not seeds or len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds must be distinct and non-empty, got {self.seeds}")
        object.__setattr__(self, "seeds", seeds)
        norms = tuple(self.norms)
        if not norms or any(n not in NORMS for n in norms) or len(set(norms)) != len(norms):
            raise ValueError(f"norms must be distinct values of {NORMS}, got {self.norms}")
        object.__setattr__(self, "norms", norms)
        check_scalar(self.hidden, "hidden", kind="int", min=2)
        check_scalar(self.per_class, "per_class", kind="int", min=2)
        check_scalar(self.steps, "steps", kind="int", min=1)
        check_scalar(self.lr, "lr", min=0.0, include_min=False)
        check_scalar(self.momentum, "momentum", min=0.0, max=1.0, include_max=False)
        check_scalar(self.n_records, "n_records", kind="int", min=2)
        if self.step_rule not in STEP_RULES:
            raise ValueError(f"step_rule must be one of {STEP_RULES}, got {self.step_rule!r}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")

    @classmethod
    def at_scale(cls) -> "CollapseSetup":
        """Laptop: 3 seeds, width 64, 40 points a class, 1500 steps. Paper (``THEORY_SCALE=paper``):
        5 seeds, width 256, 100 points a class, 6000 steps."""
        return cls(seeds=scaled((0, 1, 2), (0, 1, 2, 3, 4)), hidden=scaled(64, 256),
                   per_class=scaled(40, 100), steps=scaled(1500, 6000), n_records=scaled(14, 24))

    def describe(self) -> str:
        rule = ("unit-length steps along −∇L" if self.step_rule == "arc"
                else f"gradient descent, momentum {self.momentum:g}")
        return (f"MLP d→{self.hidden}→{self.hidden}→N→10 (ReLU), norms {list(self.norms)}; "
                f"{self.per_class} points a class; full batch, {rule}, η = {self.lr:g}, no weight "
                f"decay, {self.steps} steps, {self.dtype}; seeds {list(self.seeds)}")


def init_mlp(seeds, d: int, hidden: int, n_classes: int, *, dtype=torch.float32) -> dict:
    """Stacked parameters (G, ...) of d → hidden → hidden → K, PyTorch's ``nn.Linear`` default
    U(±1/√fan_in), one generator per seed (``config_seed("qh.collapse.init", seed)``): a seed's
    initialisation does not depend on the batch it sits in."""
    seeds = check_seeds(seeds, "seeds").tolist()
    for name, v in (("d", d), ("hidden", hidden), ("n_classes", n_classes)):
        check_scalar(v, name, kind="int", min=1)
    check_memory(2 * array_bytes(len(seeds), hidden * (d + hidden + n_classes + 3) + n_classes),
                 f"{len(seeds)} MLPs {d} → {hidden} → {hidden} → {n_classes}", hint="reduce hidden")
    shapes = {"W1": (hidden, d), "b1": (hidden,), "W2": (hidden, hidden), "b2": (hidden,),
              "W3": (n_classes, hidden), "b3": (n_classes,)}
    fans = {"W1": d, "b1": d, "W2": hidden, "b2": hidden, "W3": hidden, "b3": hidden}
    P = {k: torch.empty(len(seeds), *s, dtype=torch.float64) for k, s in shapes.items()}
    for g, s in enumerate(seeds):
        gen = torch_generator(config_seed("qh.collapse.init", s))
        for k in shapes:
            P[k][g] = (torch.rand(shapes[k], generator=gen, dtype=torch.float64) * 2 - 1) / np.sqrt(fans[k])
    return {k: v.to(dtype) for k, v in P.items()}


def _norm_codes(norms, G: int) -> torch.Tensor:
    norms = [norms] * G if isinstance(norms, str) else list(norms)
    if len(norms) != G or any(n not in NORMS for n in norms):
        raise ValueError(f"norms must be one of {NORMS} or a list of {G} of them, got {norms}")
    return torch.tensor([NORMS.index(n) for n in norms])


def mlp_forward(P: dict, x: torch.Tensor, norms) -> tuple[torch.Tensor, torch.Tensor]:
    """(features h (G, n, hidden), logits (G, n, K)) of the stacked MLP on x (n, d); ``norms``:
    one of :data:`NORMS` or one per configuration. h = N(relu(W2 relu(W1 x + b1) + b2)),
    logits = W3 h + b3."""
    keys = ("W1", "b1", "W2", "b2", "W3", "b3")
    if not isinstance(P, dict) or not set(keys) <= set(P):
        raise TypeError(f"P must be the dict of stacked parameters {keys} (init_mlp), got {type(P).__name__}")
    x = _tensor(x, "x", ndim=2).to(P["W1"].dtype)
    if x.shape[1] != P["W1"].shape[2]:
        raise ValueError(f"x must have {P['W1'].shape[2]} features (P's input width), got shape {tuple(x.shape)}")
    return _mlp_forward(P, x, norms)


def _mlp_forward(P, x, norms):
    G = P["W1"].shape[0]
    code = _norm_codes(norms, G).to(x.device)[:, None, None]
    z = torch.relu(torch.einsum("gij,nj->gni", P["W1"], x) + P["b1"][:, None, :])
    z = torch.relu(torch.einsum("gij,gnj->gni", P["W2"], z) + P["b2"][:, None, :])
    h = z
    if bool(torch.any(code == 1)):
        zc = z - z.mean(-1, keepdim=True)
        h = torch.where(code == 1, zc / torch.sqrt(zc.pow(2).mean(-1, keepdim=True) + LN_EPS), h)
    if bool(torch.any(code == 2)):
        h = torch.where(code == 2, z / torch.sqrt(z.pow(2).mean(-1, keepdim=True) + LN_EPS), h)
    return h, torch.einsum("gkj,gnj->gnk", P["W3"], h) + P["b3"][:, None, :]


def nc_metrics(h, logits, y, W, n_classes: int) -> dict:
    """NC1–NC4 (see the module docstring) of features h (G, n, d), logits (G, n, K), labels y (n,)
    and last-layer weights W (G, K, d): name → (G,) float64 tensors."""
    K = check_scalar(n_classes, "n_classes", kind="int", min=2)
    h, logits, W = _tensor(h, "h", ndim=3), _tensor(logits, "logits", ndim=3), _tensor(W, "W", ndim=3)
    if logits.shape[:2] != h.shape[:2] or logits.shape[2] != K or W.shape != (h.shape[0], K, h.shape[2]):
        raise ValueError(f"logits must be (G, n, K) and W (G, K, d) for h (G, n, d) = {tuple(h.shape)} and "
                         f"K = n_classes = {K}, got {tuple(logits.shape)} and {tuple(W.shape)}")
    return _nc_metrics(h, logits, _labels(y, h.shape[1], K), W, K)


def _nc_metrics(h, logits, y, W, n_classes):
    h, logits, W = h.double(), logits.double(), W.double()
    K = n_classes
    onehot = torch.nn.functional.one_hot(torch.as_tensor(y), K).double()      # (n, K)
    counts = onehot.sum(0)
    if torch.any(counts == 0):
        raise ValueError("y must hold every class at least once")
    mu = torch.einsum("nk,gnd->gkd", onehot, h) / counts[:, None]              # (G, K, d)
    mu_g = mu.mean(1, keepdim=True)
    M = mu - mu_g                                                             # centred means
    within = h - torch.einsum("nk,gkd->gnd", onehot, mu)
    sigma_w = torch.einsum("gni,gnj->gij", within, within) / h.shape[1]
    # Σ_B = M̃ᵀM̃/K, so Σ_B⁺ = K M̃⁺ M̃⁺ᵀ and Tr(Σ_W Σ_B⁺)/K = Tr(M̃⁺ᵀ Σ_W M̃⁺)
    M_pinv = torch.linalg.pinv(M, rtol=1e-9)                                  # (G, d, K)
    nc1 = torch.einsum("gik,gij,gjk->g", M_pinv, sigma_w, M_pinv)
    norms = M.norm(dim=-1)
    nc2_norm = norms.std(1) / norms.mean(1)
    unit = M / norms[..., None]
    cos = torch.einsum("gkd,gld->gkl", unit, unit)
    off = ~torch.eye(K, dtype=torch.bool)
    nc2_angle = (cos[:, off] + 1.0 / (K - 1)).abs().mean(1)
    nc3 = (W / W.flatten(1).norm(dim=1)[:, None, None]
           - M / M.flatten(1).norm(dim=1)[:, None, None]).pow(2).sum((1, 2))
    dist = torch.cdist(h, mu)
    nc4 = (dist.argmin(-1) == logits.argmax(-1)).double().mean(1)
    return {"nc1": nc1, "nc2_norm": nc2_norm, "nc2_angle": nc2_angle, "nc3": nc3, "nc4": nc4}


def last_layer_kkt(h, y, W, b, *, slack: float = 1.0, max_active: int = 400) -> dict:
    """The KKT residual of min ½(‖W‖² + ‖b‖²) s.t. q_{ik} = (w_{yᵢ} − w_k)·hᵢ + b_{yᵢ} − b_k ≥ 1
    (k ≠ yᵢ) at fixed features h (n, d), labels y (n,), W (K, d), b (K,): the book's
    reconstruction of the theorem's programme for a network normalised before its last layer.

    (W, b) is rescaled by the minimal margin γ = min q to minimal margin 1 (the programme's
    feasible point on the same ray); the multipliers μ ≥ 0 of the near-active constraints
    (rescaled margin ≤ 1 + ``slack``, at most ``max_active`` of the smallest) solve the
    non-negative least squares min ‖θ − Σ_c μ_c ∇q_c‖² + Σ_c (μ_c (q_c − 1)‖∇q_c‖)² (scipy's
    ``nnls``; the second term is complementary slackness, in the units of the first),
    θ = (W, b)/γ. Returns ``stationarity`` = ‖θ − Σ μ_c ∇q_c‖/‖θ‖ (the relative stationarity
    residual), ``slackness`` = ‖(μ_c (q_c − 1)‖∇q_c‖)_c‖/‖θ‖ (both vanish exactly at a KKT point
    whose active constraints are among the candidates),
    ``margin`` γ/‖(W, b)‖ (the normalised margin) and ``n_active``; NaN everywhere when γ ≤ 0
    (the training points are not separated)."""
    from scipy.optimize import nnls

    h, W, b = (_tensor(a, nm, ndim=nd).double().numpy() for a, nm, nd in ((h, "h", 2), (W, "W", 2), (b, "b", 1)))
    if W.shape[1] != h.shape[1] or b.shape != (W.shape[0],):
        raise ValueError(f"h must be (n, d), W (K, d), b (K,): got {h.shape}, {W.shape}, {b.shape}")
    y = _labels(y, h.shape[0], W.shape[0]).numpy()
    y = np.asarray(y)
    if h.ndim != 2 or W.ndim != 2 or b.ndim != 1 or W.shape[1] != h.shape[1] or b.shape[0] != W.shape[0]:
        raise ValueError(f"h must be (n, d), W (K, d), b (K,): got {h.shape}, {W.shape}, {b.shape}")
    if y.shape != (h.shape[0],) or y.min() < 0 or y.max() >= W.shape[0]:
        raise ValueError(f"y must be (n,) = ({h.shape[0]},) labels in 0..{W.shape[0] - 1}")
    check_scalar(slack, "slack", min=0.0)
    max_active = check_scalar(max_active, "max_active", kind="int", min=1)
    n, K = h.shape[0], W.shape[0]
    logits = h @ W.T + b
    q = logits[np.arange(n), y][:, None] - logits                           # (n, K)
    q[np.arange(n), y] = np.inf
    gamma = q.min()
    theta_norm = np.sqrt((W ** 2).sum() + (b ** 2).sum())
    if not gamma > 0:
        nan = float("nan")
        return {"stationarity": nan, "slackness": nan, "margin": nan, "n_active": 0}
    qs = q / gamma
    flat = qs.ravel()
    order = np.argsort(flat)[:max_active]
    order = order[flat[order] <= 1 + slack]
    i, k = np.divmod(order, K)
    yi = y[i]
    A = np.zeros((K, h.shape[1] + 1, order.size))                            # ∇q over (W | b)
    cols = np.arange(order.size)
    A[yi, :-1, cols] += h[i]
    A[k, :-1, cols] -= h[i]
    A[yi, -1, cols] += 1.0
    A[k, -1, cols] -= 1.0
    target = np.concatenate([W, b[:, None]], axis=1).ravel() / gamma
    A = A.reshape(-1, order.size)
    # complementary slackness as extra rows: μ_c (q_c − 1)‖∇q_c‖ ≈ 0, in the units of A μ
    slack_rows = np.diag((flat[order] - 1) * np.linalg.norm(A, axis=0))
    mu, _ = nnls(np.vstack([A, slack_rows]), np.concatenate([target, np.zeros(order.size)]),
                 maxiter=50 * max(order.size, 1))
    scale = np.linalg.norm(target)
    return {"stationarity": float(np.linalg.norm(target - A @ mu) / scale),
            "slackness": float(np.linalg.norm(slack_rows @ mu) / scale),
            "margin": float(gamma / theta_norm), "n_active": int(order.size)}


def _tensor(x, name, *, ndim):
    return as_tensor(x, name, ndim=ndim, nonempty=True)


def _labels(y, n: int, K: int, name: str = "y") -> torch.Tensor:
    if y is None or isinstance(y, (str, bytes)):
        raise TypeError(f"{name} must be {n} integer class labels, got {type(y).__name__}")
    t = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y)
    if t.dtype == torch.bool or t.dtype.is_floating_point or t.is_complex():
        raise TypeError(f"{name} must hold integer class labels, got dtype {t.dtype}")
    if t.shape != (n,) or (n and (int(t.min()) < 0 or int(t.max()) >= K)):
        raise ValueError(f"{name} must be (n,) = ({n},) labels in 0..{K - 1}, got shape {tuple(t.shape)}")
    return t.to(torch.int64)


def cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy (G,) of logits (G, n, K), written so that it and its gradient stay
    accurate far past separation: ℓᵢ = softplus(log Σ_{k≠yᵢ} exp(z_k − z_{yᵢ})). The usual
    log Σ_k exp z_k − z_{yᵢ} loses ℓᵢ, and the gradient's component p_{yᵢ} − 1, to rounding once
    ℓᵢ falls below the float's resolution of z (about 1e-7 |z| in float32, 1e-16 |z| in float64),
    and a step normalised to unit length then follows that rounding error."""
    logits = _tensor(logits, "logits", ndim=3)
    return _cross_entropy(logits, _labels(y, logits.shape[1], logits.shape[2]))


def _cross_entropy(logits, y):
    return torch.nn.functional.softplus(_log_odds(logits, y)).mean(1)


def _log_odds(logits, y):
    """uᵢ = log Σ_{k≠yᵢ} exp(z_k − z_{yᵢ}): (G, n)."""
    idx = y.reshape(1, -1, 1).expand(logits.shape[0], -1, 1)
    diff = (logits - logits.gather(-1, idx)).scatter(-1, idx, float("-inf"))
    return torch.logsumexp(diff, -1)


def log_cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """log L (G,), L the mean cross-entropy of :func:`cross_entropy`, without underflow:
    log L = logsumexp_i log ℓᵢ − log n with log ℓᵢ = log softplus(uᵢ), taken as uᵢ itself below
    uᵢ = −30 (where they differ by e^{uᵢ}/2 < 1e-13). Its gradient ∇L/L points along ∇L and stays
    of order one however small L is (∇L itself underflows in float32 near L ~ 1e-38)."""
    logits = _tensor(logits, "logits", ndim=3)
    return _log_cross_entropy(logits, _labels(y, logits.shape[1], logits.shape[2]))


def _log_cross_entropy(logits, y):
    u = _log_odds(logits, y)
    safe = torch.log(torch.nn.functional.softplus(u.clamp(min=-30.0)))
    log_l = torch.where(u < -30.0, u, safe)
    return torch.logsumexp(log_l, -1) - np.log(log_l.shape[-1])


def train_collapse(data: CollapseData, setup: CollapseSetup, *, seeds=None, progress=True) -> Result:
    """Train every (norm, seed) of ``setup`` at once (``seeds`` overrides ``setup.seeds``, e.g.
    one seed for a looped baseline); a :class:`theory.core.Result` over ``Sweep(norm, seed)``
    with metrics (G, T): ``train_loss``, ``train_accuracy``, NC1–NC4 (:func:`nc_metrics`),
    ``kkt`` (the stationarity of :func:`last_layer_kkt`), ``kkt_slackness``, ``margin`` (the last
    layer's normalised margin) at ``record_steps(steps, n_log=n_records)``; ``meta["wall_s"]``."""
    if not isinstance(data, CollapseData):
        raise TypeError(f"data must be a CollapseData (see load_data), got {type(data).__name__}")
    if not isinstance(setup, CollapseSetup):
        raise TypeError(f"setup must be a CollapseSetup, got {type(setup).__name__}")
    if not isinstance(progress, str):
        check_bool(progress, "progress")
    seeds = setup.seeds if seeds is None else tuple(CollapseSetup(seeds=tuple(check_seeds(seeds, "seeds").tolist())).seeds)
    sweep = Sweep(norm=list(setup.norms), seed=list(seeds))
    cfg = sweep.configs()
    norms = [c["norm"] for c in cfg]
    dtype = getattr(torch, setup.dtype)
    x = torch.from_numpy(data.x).to(dtype)
    x64 = torch.from_numpy(data.x)
    y = torch.from_numpy(data.y)
    G = len(cfg)

    def losses(P):
        return _cross_entropy(_mlp_forward(P, x, norms)[1], y)

    def grad_fn(P, step):
        # θ ← θ − η ∇L/‖∇L‖, the norm per configuration over all its parameters: gradient flow's
        # path, walked at unit speed (arc length), so the terminal phase is reached in budget
        # (the gradient of log L: the same direction, of order one however small L becomes)
        with torch.enable_grad():
            Q = {k: v.detach().requires_grad_(True) for k, v in P.items()}
            log_l = _log_cross_entropy(_mlp_forward(Q, x, norms)[1], y)
            grads = torch.autograd.grad(log_l.sum(), list(Q.values()))
        norm = torch.sqrt(sum(g.flatten(1).pow(2).sum(1) for g in grads))
        norm = norm.clamp_min(torch.finfo(dtype).tiny)
        return {k: g / norm.reshape(-1, *([1] * (g.ndim - 1))) for k, g in zip(Q, grads)}

    def metrics(P, step):
        P64 = {k: v.double() for k, v in P.items()}
        h, logits = _mlp_forward(P64, x64, norms)
        out = _nc_metrics(h, logits, y, P64["W3"], data.n_classes)
        ce = _cross_entropy(logits, y)
        kkt = [last_layer_kkt(h[g].numpy(), data.y, P64["W3"][g].numpy(), P64["b3"][g].numpy())
               for g in range(G)]
        out.update(train_loss=ce, train_accuracy=(logits.argmax(-1) == y).double().mean(1),
                   kkt=torch.tensor([r["stationarity"] for r in kkt]),
                   kkt_slackness=torch.tensor([r["slackness"] for r in kkt]),
                   margin=torch.tensor([r["margin"] for r in kkt]))
        return out

    t0 = time.perf_counter()
    res = train_batched(init_mlp([c["seed"] for c in cfg], data.x.shape[1], setup.hidden,
                                 data.n_classes, dtype=dtype),
                        steps=setup.steps, lr=setup.lr, momentum=setup.momentum,
                        **({"grad_fn": grad_fn} if setup.step_rule == "arc" else
                           {"loss_fn": lambda P, step: losses(P)}),
                        metrics=metrics, record=record_steps(setup.steps, n_log=setup.n_records),
                        progress=f"{data.name}: {G} networks (norm × seed)" if progress else False)
    return Result(res.steps, res.metrics, res.params, sweep,
                  dict(res.meta, data=data.name, wall_s=time.perf_counter() - t0))


def by_norm(result: Result, name: str) -> dict:
    """norm → (seeds, T) the recorded metric ``name`` of a :func:`train_collapse` result."""
    if not isinstance(result, Result) or result.sweep is None or result.sweep.dims != ("norm", "seed"):
        raise TypeError("result must be what train_collapse returns (a Result over norm × seed)")
    if not isinstance(name, str):
        raise TypeError(f"name must be a metric name (str), got {type(name).__name__}")
    try:
        values = result[name]
    except KeyError as exc:
        raise ValueError(f"name must be a recorded metric: {exc.args[0]}") from None
    arr = result.sweep.unflatten(values)
    return {n: arr[i] for i, n in enumerate(result.sweep.axes["norm"])}


def terminal_change(result: Result, name: str) -> dict:
    """norm → (seeds,) the metric at the end over its value at the terminal phase's onset (the
    first record with 100% training accuracy; NaN for a seed that never gets there). Below 1: the
    metric fell over the terminal phase; for ``nc4`` (an agreement) the difference end − onset is
    returned instead (above 0: it rose)."""
    acc = by_norm(result, "train_accuracy")
    vals = by_norm(result, name)
    out = {}
    for n in vals:
        row = []
        for a, v in zip(acc[n], vals[n]):
            hit = np.flatnonzero(a >= 1.0)
            if hit.size == 0:
                row.append(np.nan)
            else:
                row.append(v[-1] - v[hit[0]] if name == "nc4" else v[-1] / v[hit[0]])
        out[n] = np.array(row)
    return out


def onset_steps(result: Result) -> dict:
    """norm → (seeds,) the first recorded step with 100% training accuracy (NaN if never)."""
    acc = by_norm(result, "train_accuracy")
    return {n: np.array([result.steps[np.flatnonzero(r >= 1)[0]] if np.any(r >= 1) else np.nan
                         for r in a]) for n, a in acc.items()}


def _check_results(results):
    if not isinstance(results, dict) or not results:
        raise TypeError("results must be a non-empty dict data name → train_collapse Result")
    for k, r in results.items():
        if not isinstance(r, Result) or r.sweep is None or r.sweep.dims != ("norm", "seed"):
            raise TypeError(f"results[{k!r}] must be what train_collapse returns, got {type(r).__name__}")
    return results


def collapse_report(results: dict) -> str:
    """A table: data set × norm, the final NC metrics and KKT residual (median and range over
    seeds), the terminal-phase onset and the final training loss."""
    _check_results(results)
    lines = [f"{'data':8s} {'norm':6s} {'onset':>7s} " + " ".join(f"{m:>18s}" for m in NC_METRICS)]
    for name, res in results.items():
        on = onset_steps(res)
        for n in res.sweep.axes["norm"]:
            cells = []
            for m in NC_METRICS:
                v = by_norm(res, m)[n][:, -1]
                cells.append(f"{np.median(v):.3g} [{v.min():.2g},{v.max():.2g}]")
            onset = np.max(on[n])  # NaN when a seed never reaches 100% training accuracy
            lines.append(f"{name:8s} {n:6s} {onset:7.0f} " + " ".join(f"{c:>18s}" for c in cells))
    return "\n".join(lines)


_LABELS = {"nc1": r"NC1: Tr$(\Sigma_W\Sigma_B^+)/K$", "nc2_norm": "NC2 equinorm: std/mean",
           "nc2_angle": r"NC2 angles: $|\cos+1/(K-1)|$", "nc3": r"NC3: $\|W/\|W\|-\tilde M/\|\tilde M\|\|^2$",
           "nc4": "NC4: agreement with NCC", "kkt": "last-layer KKT residual"}
_NORM_STYLE = {"none": ("orange", "no normalisation"), "layer": ("blue", "LayerNorm (no affine)"),
               "rms": ("green", "RMS normalisation")}


def collapse_figure(results: dict):
    """One row per data set, one column per metric of :data:`NC_METRICS`: each seed a thin line
    with markers at the records, coloured by normalisation; log steps (step + 1) and, except NC4
    and the KKT residual (shown from separation on), log values. Dotted vertical lines: the latest terminal-phase onset over seeds, per norm."""
    from matplotlib.ticker import NullFormatter

    _check_results(results)
    fig, axes = figure(len(results), len(NC_METRICS), width="wide", height=2.3 * len(results),
                       squeeze=False)
    for r, (name, res) in enumerate(results.items()):
        on = onset_steps(res)
        for c, m in enumerate(NC_METRICS):
            ax = axes[r, c]
            for n, vals in by_norm(res, m).items():
                color, label = _NORM_STYLE[n]
                for s, v in enumerate(vals):
                    ax.plot(res.steps + 1, v, "-o", ms=2.5, lw=0.9, color=COLORS[color], alpha=0.8,
                            label=label if s == 0 else None)
                onset = np.max(on[n])
                if np.isfinite(onset):
                    ax.axvline(onset + 1, color=COLORS[color], ls=":", lw=0.8)
            ax.set_xscale("log")
            if m == "kkt":                     # defined once the training points are separated
                ax.set_ylim(0, 1.05)
            else:
                ax.set_xlim(1, res.steps[-1] + 1)
            if m not in ("nc4", "kkt"):
                ax.set_yscale("log")
                ax.yaxis.set_minor_formatter(NullFormatter())
            ax.set_title(_LABELS[m], fontsize=7)
            ax.set_xlabel("step + 1")
            if c == 0:
                ax.set_ylabel(name)
    axes[0, NC_METRICS.index("nc4")].legend(fontsize=6, loc="lower right")
    return fig
