"""Shared fixtures of the unit tests."""

from __future__ import annotations

import os

import pytest
import torch
from hypothesis import settings

# Property tests draw the same examples on every run ("ci", the default), so that `make test`
# passes or fails the same way on every clean checkout; HYPOTHESIS_PROFILE=explore draws new
# ones each run (and keeps failures in .hypothesis/) to look for counterexamples.
settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread per test module: two spin-waiting threads slow down sharply beside other
    work (make runs the tests on two xdist workers)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def close_figures():
    """Close every matplotlib figure a test opened (only where matplotlib is loaded)."""
    yield
    import sys

    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close("all")
