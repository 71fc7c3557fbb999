"""The shared core: scale switch, device, seeds, threads, validation."""

import numpy as np
import pytest
import torch

from theory.core import (as_array, default_device, get_scale, positive, positive_int, scaled,
                         seed_everything, set_threads, setup_notebook)


def test_scale(monkeypatch):
    monkeypatch.delenv("THEORY_SCALE", raising=False)
    assert get_scale() == "laptop" and scaled(1, 2) == 1
    monkeypatch.setenv("THEORY_SCALE", "paper")
    assert get_scale() == "paper" and scaled(1, 2) == 2
    monkeypatch.setenv("THEORY_SCALE", "huge")
    with pytest.raises(ValueError, match="THEORY_SCALE"):
        get_scale()


def test_device(monkeypatch):
    monkeypatch.delenv("THEORY_DEVICE", raising=False)
    assert default_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    monkeypatch.setenv("THEORY_DEVICE", "tpu")
    with pytest.raises(ValueError, match="THEORY_DEVICE"):
        default_device()


def test_seed_and_threads():
    g1 = seed_everything(3)
    x1 = torch.rand(2)
    g2 = seed_everything(3)
    assert torch.equal(x1, torch.rand(2)) and g1.normal() == g2.normal()
    with pytest.raises(ValueError, match="seed"):
        seed_everything(-1)
    with pytest.raises(TypeError, match="seed"):
        seed_everything(1.5)
    assert set_threads(1) == 1 and torch.get_num_threads() == 1
    with pytest.raises(ValueError, match="n"):
        set_threads(0)
    info = setup_notebook(seed=1)
    assert info.threads >= 1 and "scale=" in str(info)


def test_set_threads_sets_the_blas_pools_too():
    # numpy's OpenBLAS rounds differently with two threads than with one (the count a Dask worker
    # starts with), so set_threads sets the BLAS pools with torch's
    from threadpoolctl import threadpool_info

    np.ones((64, 64)) @ np.ones((64, 64))                 # numpy's BLAS loaded
    try:
        set_threads(2)
        blas = [p for p in threadpool_info() if p["user_api"] == "blas"]
        assert blas and all(p["num_threads"] == 2 for p in blas)
        set_threads(1)
        assert all(p["num_threads"] == 1 for p in threadpool_info())
        assert torch.get_num_threads() == 1
    finally:
        set_threads(1)


def test_validation():
    assert as_array([1, 2], "x").dtype == np.float64
    with pytest.raises(ValueError, match="x must be finite"):
        as_array([1, np.nan], "x")
    with pytest.raises(ValueError, match="must be > 0"):
        positive(0, "lr")
    with pytest.raises(TypeError, match="k must be an int"):
        positive_int(True, "k")
