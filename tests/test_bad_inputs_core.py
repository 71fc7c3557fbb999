"""Bad input to the shared core (issue 20): every public function, a table of invalid arguments.

The battery is :mod:`badinput`; ``python tests/badinput.py tests/test_bad_inputs_core.py``
prints the counts.
"""

import numpy as np
import pytest
import torch

import badinput
from badinput import Fn
from theory.core import (DivergenceError, Experiment, Sweep, array_bytes, check_finite_state,
                         check_memory, check_seeds, memory_limit, run_sweep, slurm_cluster, SweepPlan)


def _toy_point(x, seed):
    return {"y": np.array([x * seed, x + seed])}


TOY = Experiment("bad_inputs_toy", point=_toy_point, batch=lambda cs: [_toy_point(**c) for c in cs])
TOY_SWEEP = Sweep(x=[1.0, 2.0], seed=[0])


def _toy_ds():
    return run_sweep(TOY, TOY_SWEEP, progress=False)


def _loss(P, step):
    return (P["w"] ** 2).sum(-1)

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
    Fn(C, "figure", dict(nrows=1, ncols=1, width="text", height=2.0),
       dict(nrows="positive_int", ncols="positive_int", width="choice", height="positive?")),
    Fn(C, "setup_notebook", dict(seed=0, threads=1), dict(seed="seed", threads="positive_int?")),
    Fn(C, "progress", dict(iterable=[1, 2], desc="work", total=2, enable=False),
       dict(desc="str", total="non_negative_int?", enable="bool", leave="bool"),
       extra=[({"iterable": 3}, "iterable")]),
    Fn(C, "read_records", lambda: dict(directory=str(__import__("tempfile").mkdtemp())),
       extra=[({"directory": 3}, "directory")]),
    Fn("theory.core._cache", "build_key", dict(root=None), extra=[({"root": 3}, "root"), ({"root": "/"}, "root")]),
    Fn(C, "train_batched", lambda: dict(params={"w": torch.ones(2, 3, dtype=torch.float64)}, steps=2,
                                        lr=0.1, loss_fn=_loss),
       dict(steps="positive_int", optimizer="choice", device="device?"),
       extra=[({"lr": float("nan")}, "lr"), ({"lr": -1.0}, "lr"), ({"lr": "0.1"}, "lr"),
              ({"momentum": 1.5}, "momentum"), ({"weight_decay": -1.0}, "weight_decay"),
              ({"loss_fn": 3}, "loss_fn"), ({"params": {}}, "params"),
              ({"params": {"w": np.ones((2, 3))}}, "params"), ({"record": [5]}, "at")]),
    Fn(C, "run_sweep", dict(experiment=TOY, sweep=TOY_SWEEP, progress=False),
       dict(executor="choice", batch_size="positive_int?", scale="str?", progress="bool?"),
       extra=[({"experiment": "toy"}, "experiment"), ({"sweep": {"x": [1]}}, "sweep"),
              ({"store": 3}, "store"), ({"sweep": Sweep(x=[1.0], seed=[1.5])}, "seed"),
              ({"sweep": Sweep(x=[1.0], seed=[-2])}, "seed"),
              ({"executor": "dask", "client": 3}, "client")]),
    Fn(C, "save_result", lambda: dict(ds=_toy_ds(), path=__import__("tempfile").mkdtemp() + "/r.zarr"),
       extra=[({"ds": {"y": 1}}, "ds"), ({"path": 3}, "path")]),
    Fn(C, "open_result", dict(path="/nonexistent/r.zarr"), extra=[({"path": 3}, "path")]),
    Fn(C, "result_path", dict(name="exp", scale="paper"),
       extra=[({"name": "a/b"}, "name"), ({"name": 3}, "name"), ({"scale": ""}, "scale")]),
    Fn(C, "store_entries", dict(store="/nonexistent", exp=TOY),
       extra=[({"store": 3}, "store"), ({"exp": "toy"}, "exp")]),
    Fn(C, "stored_results", dict(name="bad_inputs_toy", labels=("paper",)),
       extra=[({"labels": "paper"}, "labels"), ({"labels": [3]}, "labels"), ({"labels": 3}, "labels"),
              ({"name": "a/b"}, "name")]),
    Fn(C, "provenance_report", lambda: dict(ds=_toy_ds(), title="toy"), dict(title="str?"),
       extra=[({"ds": None}, "ds"), ({"ds": {"y": 1}}, "ds")]),
    Fn(C, "foreign_device", lambda: dict(ds=_toy_ds()),
       extra=[({"ds": None}, "ds"), ({"ds": {"y": 1}}, "ds")]),
    Fn(C, "run_plan", lambda: dict(plan=SweepPlan(TOY, TOY_SWEEP), scale="laptop", label="t",
                                  progress=False, results=__import__("tempfile").mkdtemp()),
       dict(label="str?", executor="choice", batch_size="positive_int?", progress="bool?"),
       extra=[({"plan": TOY}, "plan"), ({"scale": ""}, "scale"), ({"label": "a/b"}, "label"),
              ({"results": 3}, "results")]),
    Fn(C, "sweep_cli", dict(prog="toy", builders={"toy": lambda scale: SweepPlan(TOY, TOY_SWEEP)},
                            argv=["toy", "--plan"]),
       extra=[({"prog": ""}, "prog"), ({"builders": {}}, "builders"), ({"builders": {"t": 3}}, "builders")]),
    Fn(C, "check_configs", dict(configs=[{"a": 1}], required=("a",)),
       extra=[({"configs": []}, "configs"), ({"configs": [3]}, "configs[0]"),
              ({"configs": [{"b": 1}]}, "configs[0]"), ({"required": "a"}, "required")]),
    Fn(C, "check_result", lambda: dict(ds=_toy_ds(), what="toy", variables=("y",), dims=("x",)),
       dict(what="str"),
       extra=[({"ds": None}, "ds"), ({"variables": ("nope",)}, "ds"), ({"dims": ("nope",)}, "ds"),
              ({"variables": "y"}, "variables"), ({"dims": [3]}, "dims")]),
    Fn(C, "check_stored", lambda: dict(stored={"paper": _toy_ds()}, what="toy", variables=("y",)),
       dict(what="str"),
       extra=[({"stored": _toy_ds()}, "stored"), ({"stored": {"paper": 3}}, "stored"),
              ({"variables": ("nope",)}, "stored['paper']")]),
    Fn(C, "check_finite_state", dict(x=np.ones(3), what="a run"), dict(what="str", hint="str"),
       extra=[({"x": np.array([1.0, np.nan])}, "diverged"), ({"x": torch.tensor([np.inf])}, "diverged")]),
]
# the validators themselves are exercised by tests/test_core.py; the rest take no arguments or
# take arbitrary values by design
EXEMPT = {
    "as_array": "a validator (its refusals are its tests)", "as_tensor": "a validator",
    "check_scalar": "a validator",
    "check_seed": "a validator", "check_seeds": "a validator", "check_bool": "a validator",
    "check_choice": "a validator", "positive": "a validator", "non_negative": "a validator",
    "positive_int": "a validator", "probability": "a validator",
    "memory_limit": "no arguments (reads THEORY_MEMORY_FRACTION; tested below)",
    "default_device": "no arguments", "default_dtype": "no arguments", "get_scale": "no arguments",
    "current_commit": "no arguments", "ledger_dir": "no arguments",
    "scaled": "returns one of two values of any type by the scale",
    "config_seed": "takes any hashable keys by design (*keys); refuses non-finite floats and "
                   "unknown types (tests/test_core.py)",
    "results_dir": "no arguments (reads THEORY_RESULTS)", "apply_style": "no arguments",
    "identity_holds": "takes any sympy expression or matrix by design (numbers are expressions)",
    "explorer": "a decorator over arbitrary keyword controls; its refusals are tested in "
                "tests/test_explorers.py",
    "setup": "the Sphinx extension hook (its argument is Sphinx's application object)",
    "slurm_cluster": "needs SLURM to submit; its argument checks and job script are tested below "
                     "with jobs=0",
}


def test_table_covers_every_public_function():
    missing = badinput.check_coverage("theory.core", TABLE, EXEMPT)
    # theory/core/_gaussian_width.py has its own table (tests/test_bad_inputs_gaussian_width.py)
    assert [q for q in missing if "._gaussian_width." not in q] == []


def test_slurm_cluster_job_script_and_bad_arguments():
    cluster = slurm_cluster(jobs=0, cores=2, memory="8GB", walltime="02:00:00", gpus=1)
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert "#SBATCH --gres=gpu:1" in script and "--cpus-per-task=2" in script
    assert "#SBATCH -t 02:00:00" in script and "distributed.cli.dask_worker" in script
    for kw, match in ((dict(jobs=-1), "jobs"), (dict(cores=0), "cores"), (dict(gpus=True), "gpus"),
                      (dict(memory=4), "memory"), (dict(walltime=""), "walltime")):
        with pytest.raises((TypeError, ValueError), match=match):
            slurm_cluster(**kw)

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


def test_sweep_plan_refuses_bad_parts():
    for kw, match in ((dict(experiment="x", sweep=TOY_SWEEP), "experiment"),
                      (dict(experiment=TOY, sweep={"x": [1]}), "sweep"),
                      (dict(experiment=TOY, sweep=TOY_SWEEP, reduced=1), "reduced"),
                      (dict(experiment=TOY, sweep=TOY_SWEEP, grid=3), "grid")):
        with pytest.raises(TypeError, match=match):
            SweepPlan(**kw)


def test_sweep_cli_runs_stores_and_reports(tmp_path, monkeypatch, capsys):
    from theory.core import provenance_report, stored_results, sweep_cli

    monkeypatch.setenv("THEORY_RESULTS", str(tmp_path))

    def build(scale, n=2):
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        return SweepPlan(TOY, Sweep(x=[float(i) for i in range(n)], seed=[0]), reduced=n < 2, grid=f"{n} x")

    assert sweep_cli("toy", {"toy": build}, ["toy", "--set", "n=1", "--executor", "serial"]) == 0
    assert "1 points (1 computed now)" in capsys.readouterr().out
    got = stored_results("bad_inputs_toy", ["laptop-reduced", "paper"])
    assert list(got) == ["laptop-reduced"]
    report = provenance_report(got["laptop-reduced"])
    assert "[laptop-reduced]: 1 x" in report and "executor serial" in report
    from theory.core import foreign_device

    assert foreign_device(got["laptop-reduced"]) is None and "not expected" not in report
    moved = got["laptop-reduced"].assign(device=got["laptop-reduced"]["device"].copy(
        data=np.full(got["laptop-reduced"]["device"].shape, "cpu (x86_64)")))
    assert "stored on cpu (x86_64); this machine is cpu (" in foreign_device(moved)
    assert foreign_device(moved) in provenance_report(moved)
    assert sweep_cli("toy", {"toy": build}, ["toy", "--set", "n=1"]) == 0     # resumed: nothing new
    assert "1 points (0 computed now)" in capsys.readouterr().out
    assert sweep_cli("toy", {"toy": build}, ["toy", "--plan"]) == 0
    assert "2 points" in capsys.readouterr().out
    for bad in (["toy", "--set", "n=0"], ["toy", "--set", "n"], ["toy", "--set", "1x=2"], ["nope"],
                ["toy", "--batch-size", "0"], ["toy", "--set", "m=3"]):
        with pytest.raises(SystemExit):
            sweep_cli("toy", {"toy": build}, bad)
