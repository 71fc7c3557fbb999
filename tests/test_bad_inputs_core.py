"""Bad input to the shared core (issue 20): every public function, a table of invalid arguments.

The battery is :mod:`badinput`; ``python tests/badinput.py tests/test_bad_inputs_core.py``
prints the counts.
"""

import numpy as np
import pytest
import torch

import badinput
from badinput import Fn
from theory.core import (DivergenceError, array_bytes, check_finite_state, check_memory,
                         check_seeds, memory_limit)

C = "theory.core"
TABLE = [
    Fn(C, "record_steps", dict(steps=10, every=2, n_log=3),
       dict(steps="positive_int", every="positive_int?", n_log="positive_int?"),
       extra=[({"at": [11]}, "at"), ({"at": [-1]}, "at"), ({"at": [1.5]}, "at")]),
    Fn(C, "first_crossing", dict(values=np.linspace(0, 1, 5), steps=np.arange(5.0), threshold=0.5),
       dict(steps="array", threshold="real", direction="choice", interpolate="choice?"),
       skip={("steps", "one more dimension"): "steps (1, T) is refused as not 1-D: covered"}),
    Fn(C, "seed_everything", dict(seed=3), dict(seed="seed")),
    Fn(C, "torch_generator", dict(seed=3), dict(seed="seed", device="device?")),
    Fn(C, "counter_words", dict(seeds=np.array([1, 2]), step=0, shape=(3,)),
       dict(seeds="seeds", step="non_negative_int", stream="non_negative_int", device="device?")),
    Fn(C, "counter_uniform", dict(seeds=np.array([1, 2]), step=0, shape=(3,)),
       dict(seeds="seeds", step="non_negative_int", stream="non_negative_int")),
    Fn(C, "counter_normal", dict(seeds=np.array([1, 2]), step=0, shape=(3,)),
       dict(seeds="seeds", step="non_negative_int", stream="non_negative_int")),
    Fn(C, "resolve_device", dict(device="cpu"), dict(device="device?")),
    Fn(C, "resolve_dtype", dict(dtype="float64"), dict(dtype="dtype?")),
    Fn(C, "set_threads", dict(n=1), dict(n="positive_int?")),
    Fn(C, "array_bytes", dict(itemsize=8), dict(itemsize="positive_int")),
    Fn(C, "check_memory", dict(nbytes=10, what="a request"), dict(nbytes="non_negative_int", what="str"),
       extra=[({"nbytes": 2**80}, "needs about")]),
    Fn(C, "check_finite_state", dict(x=np.ones(3), what="a run"), dict(what="str", hint="str"),
       extra=[({"x": np.array([1.0, np.nan])}, "diverged"), ({"x": torch.tensor([np.inf])}, "diverged")]),
]
# the validators themselves are exercised by tests/test_core.py; the rest take no arguments or
# take arbitrary values by design
EXEMPT = {
    "as_array": "a validator (its refusals are its tests)", "check_scalar": "a validator",
    "check_seed": "a validator", "check_seeds": "a validator", "check_bool": "a validator",
    "check_choice": "a validator", "positive": "a validator", "non_negative": "a validator",
    "positive_int": "a validator", "probability": "a validator",
    "memory_limit": "no arguments (reads THEORY_MEMORY_FRACTION; tested below)",
    "default_device": "no arguments", "default_dtype": "no arguments", "get_scale": "no arguments",
    "current_commit": "no arguments", "ledger_dir": "no arguments",
    "scaled": "returns one of two values of any type by the scale",
    "config_seed": "takes any hashable keys by design (*keys); refuses non-finite floats and "
                   "unknown types (tests/test_core.py)",
}

test_bad_input = badinput.parametrize(TABLE)
test_valid_call = badinput.parametrize_valid(TABLE)


def test_memory_limit_reads_the_environment(monkeypatch):
    monkeypatch.setenv("THEORY_MEMORY_BYTES", "1000")
    assert memory_limit() == 1000
    with pytest.raises(ValueError, match="needs about"):
        check_memory(array_bytes(10, 20), "a 10 × 20 array")
    monkeypatch.delenv("THEORY_MEMORY_BYTES")
    monkeypatch.setenv("THEORY_MEMORY_FRACTION", "2")
    with pytest.raises(ValueError, match="THEORY_MEMORY_FRACTION"):
        memory_limit()


def test_divergence_error_is_a_value_error_with_the_step():
    with pytest.raises(ValueError) as info:
        check_finite_state(np.array([np.inf]), what="a run", step=7)
    assert isinstance(info.value, DivergenceError) and info.value.step == 7
    assert isinstance(info.value, FloatingPointError)


def test_seeds_refuse_wrapping():
    with pytest.raises(ValueError, match="seeds"):
        check_seeds([-1])
    assert check_seeds(3).tolist() == [3]
