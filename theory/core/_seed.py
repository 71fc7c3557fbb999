"""Seeding."""

from __future__ import annotations

import random

import numpy as np
import torch

from theory.core._validate import check_seed


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python, numpy and torch; return a fresh ``numpy.random.Generator`` for ``seed``."""
    seed = check_seed(seed, "seed")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)
