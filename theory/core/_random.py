"""Per-configuration random streams that do not depend on batching.

Two mechanisms, both keyed on what a configuration *is*, never on where it sits in a batch:

- :func:`config_seed` turns the values that identify a configuration (its seed, its
  hyper-parameters, a salt naming the purpose) into a 63-bit seed through
  ``numpy.random.SeedSequence``; :func:`torch_generator` makes a ``torch.Generator`` from it.
  Use it for draws made once per configuration (initial weights, a data set).
- :func:`counter_words` and its ``uniform``/``normal`` forms are a counter-based hash of
  (seed, step, slot, stream): vectorised over a whole batch of configurations inside a training
  loop (minibatch indices, label flips, noise), with no generator state to carry or share.

Either way a configuration's draws are the same alone and inside any larger batch, in any order
(``tests/test_core_batched.py`` asserts it bit for bit).
"""

from __future__ import annotations

import hashlib
import math
import numbers

import numpy as np
import torch

from theory.core._device import resolve_device
from theory.core._validate import check_seed, check_seeds

__all__ = ["config_seed", "counter_normal", "counter_uniform", "counter_words", "torch_generator"]

_M32 = 0xFFFFFFFF


def _key_words(key) -> list[int]:
    """A key (int, float, str, bool or None) as 32-bit words, distinct across types."""
    if isinstance(key, (bool, np.bool_)):
        return [1, int(key)]
    if isinstance(key, numbers.Integral):
        k = int(key)
        if k < 0:
            return [3] + _int_words(-k)
        return [2] + _int_words(k)
    if isinstance(key, numbers.Real):
        x = float(key)
        if not math.isfinite(x):
            raise ValueError(f"config_seed keys must be finite, got {x!r}")
        if x == int(x) and abs(x) < 2**53:  # 2.0 and 2 name the same configuration
            return _key_words(int(x))
        digest = hashlib.sha256(repr(x).encode()).digest()
        return [4] + list(np.frombuffer(digest, dtype=np.uint32))
    if isinstance(key, str):
        digest = hashlib.sha256(key.encode()).digest()
        return [5] + list(np.frombuffer(digest, dtype=np.uint32))
    if key is None:
        return [6]
    raise TypeError(f"config_seed keys must be ints, floats, strings, bools or None, "
                    f"got {type(key).__name__}")


def _int_words(k: int) -> list[int]:
    words = []
    while True:
        words.append(k & _M32)
        k >>= 32
        if not k:
            return words


def config_seed(*keys) -> int:
    """A 63-bit seed that depends only on ``keys`` (ints, floats, strings, bools, None).

    ``config_seed(seed, "init", M)`` names one configuration's stream for one purpose. The
    words of all keys (tagged by type, so ``1``, ``"1"`` and ``True`` differ) feed a
    ``numpy.random.SeedSequence``, whose output is well mixed: nearby keys give unrelated
    seeds, unlike ``seed + g``.
    """
    if not keys:
        raise ValueError("config_seed needs at least one key")
    entropy = []
    for key in keys:
        words = [int(w) for w in _key_words(key)]
        entropy += [len(words)] + words
    state = np.random.SeedSequence(entropy).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1])) & (2**63 - 1)


def torch_generator(seed, device=None) -> torch.Generator:
    """A ``torch.Generator`` on ``device`` (default CPU) seeded with the int ``seed``."""
    seed = check_seed(seed, "seed")
    gen = torch.Generator(device=resolve_device(device) if device is not None else "cpu")
    gen.manual_seed(seed)
    return gen


def _mul32(x: torch.Tensor, m: int) -> torch.Tensor:
    """(x·m) mod 2³² for int64 x in [0, 2³²), in 16-bit halves so int64 never overflows."""
    lo, hi = m & 0xFFFF, m >> 16
    return (x * lo + (((x * hi) & 0xFFFF) << 16)) & _M32


def _mix32(x: torch.Tensor) -> torch.Tensor:
    """A bijective 32-bit integer hash (C. Wellons' "lowbias32")."""
    x = x ^ (x >> 16)
    x = _mul32(x, 0x7FEB352D)
    x = x ^ (x >> 15)
    x = _mul32(x, 0x846CA68B)
    return x ^ (x >> 16)


def _as_seeds(seeds, device) -> torch.Tensor:
    device = resolve_device(device) if device is not None else None
    if isinstance(seeds, torch.Tensor):
        if seeds.dtype.is_floating_point or seeds.dtype == torch.bool or seeds.ndim != 1:
            raise TypeError("seeds must be a 1-D integer tensor or array (one seed per configuration)")
        if seeds.numel() and int(seeds.min()) < 0:
            raise ValueError("seeds must be >= 0")
        return seeds.to(device=device, dtype=torch.int64)
    if np.ndim(seeds) != 1 and not isinstance(seeds, (str, bytes)) and seeds is not None:
        raise TypeError(f"seeds must be a 1-D array of ints (one per configuration), got "
                        f"shape {np.shape(seeds)}")
    return torch.as_tensor(check_seeds(seeds, "seeds", nonempty=False), device=device)


def counter_words(seeds, step, shape=(), stream: int = 0, *, device=None) -> torch.Tensor:
    """Words in [0, 2³²) that depend only on (seed, step, slot, stream), as int64.

    ``seeds``: one int per configuration, (G,). ``step``: an int, or a 1-D tensor of steps (T,).
    ``shape``: the draws per configuration and step; slot ``k`` is the flat index into it.
    Returns (G, *shape) for an int step and (T, G, *shape) for a tensor of steps. The hash is
    three rounds of a bijective 32-bit mixer: key = mix(seed ⊕ φ·(stream+1)), then
    mix(key ⊕ step), then mix(· ⊕ slot), with φ = 0x9E3779B9.
    """
    if isinstance(stream, bool) or not isinstance(stream, numbers.Integral) or stream < 0:
        raise ValueError(f"stream must be a non-negative int, got {stream!r}")
    shape = (shape,) if isinstance(shape, numbers.Integral) else tuple(shape)
    if any(isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0 for s in shape):
        raise ValueError(f"shape must be a tuple of non-negative ints, got {shape!r}")
    s = _as_seeds(seeds, device)
    device = s.device
    n_slots = int(np.prod(shape)) if shape else 1
    slots = torch.arange(n_slots, device=device, dtype=torch.int64)
    key = _mix32((s & _M32) ^ ((0x9E3779B9 * (int(stream) + 1)) & _M32))               # (G,)
    if isinstance(step, torch.Tensor):
        if step.ndim != 1 or step.dtype.is_floating_point:
            raise TypeError("step must be an int or a 1-D integer tensor of steps")
        key = _mix32(key[None, :] ^ (step.to(device=device, dtype=torch.int64)[:, None] & _M32))
        words = _mix32(key[..., None] ^ slots)                                           # (T, G, S)
        return words.reshape(*words.shape[:2], *shape)
    if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
        raise ValueError(f"step must be a non-negative int or a tensor of them, got {step!r}")
    key = _mix32(key ^ (int(step) & _M32))
    words = _mix32(key[:, None] ^ slots)                                                 # (G, S)
    return words.reshape(words.shape[0], *shape)


def counter_uniform(seeds, step, shape=(), stream: int = 0, *, device=None) -> torch.Tensor:
    """Uniform float64 numbers in [0, 1) from :func:`counter_words` (32 bits each)."""
    return counter_words(seeds, step, shape, stream, device=device).double() / 2.0**32


def counter_normal(seeds, step, shape=(), stream: int = 0, *, device=None) -> torch.Tensor:
    """Standard normal float64 numbers: Box–Muller on two counter streams (2·stream, 2·stream+1)."""
    if isinstance(stream, bool) or not isinstance(stream, numbers.Integral) or stream < 0:
        raise ValueError(f"stream must be a non-negative int, got {stream!r}")
    u1 = (counter_words(seeds, step, shape, 2 * stream, device=device).double() + 0.5) / 2.0**32
    u2 = counter_words(seeds, step, shape, 2 * stream + 1, device=device).double() / 2.0**32
    return torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(2.0 * math.pi * u2)
