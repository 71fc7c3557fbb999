"""The sweep runner (issue 21): the same results serially, batched and on a 2-worker LocalCluster;
resume after an interruption or a killed worker without losing or duplicating points; corrupted
entries recomputed; bad sweeps refused."""

import os
from pathlib import Path

import numpy as np
import pytest

from theory.core import Experiment, Sweep, config_seed, open_result, run_sweep, save_result, store_entries
from theory.core._runner import point_key


def toy_point(tau, seed, steps=5):
    """A deterministic point: a noisy decay whose noise comes from the configuration's seed."""
    rng = np.random.default_rng(config_seed("toy", tau, seed))
    t = np.arange(steps)
    return {"loss": np.exp(-tau * t) + 0.01 * rng.normal(size=steps), "final": np.float64(tau * seed)}


def toy_batch(configs):
    return [toy_point(**c) for c in configs]


TOY = Experiment("toy", point=toy_point, batch=toy_batch, dims={"loss": ("step",)},
                 coords={"step": np.arange(5)}, fixed={"steps": 5})
SWEEP = Sweep(tau=[0.1, 0.5, 1.0], seed=[0, 1])


def test_serial_batched_and_dask_agree_bit_for_bit(tmp_path):
    a = run_sweep(TOY, SWEEP, executor="serial")
    b = run_sweep(TOY, SWEEP, executor="batched", batch_size=4)
    c = run_sweep(TOY, SWEEP, executor="dask", store=tmp_path)
    for ds in (b, c):
        np.testing.assert_array_equal(ds["loss"].values, a["loss"].values)
        np.testing.assert_array_equal(ds["final"].values, a["final"].values)
    assert a["loss"].dims == ("tau", "seed", "step")
    assert list(a["tau"].values) == [0.1, 0.5, 1.0]
    assert c.attrs["executor"] == "dask" and c.attrs["points"] == 6
    assert len(store_entries(tmp_path, TOY)) == 6


def test_store_is_reused_and_keyed_on_inputs(tmp_path):
    first = run_sweep(TOY, SWEEP, store=tmp_path)
    assert first["computed"].values.all()
    again = run_sweep(TOY, SWEEP, store=tmp_path)
    assert not again["computed"].values.any()
    np.testing.assert_array_equal(again["loss"].values, first["loss"].values)
    other_scale = run_sweep(TOY, SWEEP, store=tmp_path, scale="paper")
    assert other_scale["computed"].values.all()          # the scale is part of the key
    bumped = Experiment("toy", point=toy_point, batch=toy_batch, dims=TOY.dims, coords=TOY.coords,
                        fixed=TOY.fixed, version="2")
    assert run_sweep(bumped, SWEEP, store=tmp_path)["computed"].values.all()
    wider = Sweep(tau=[0.1, 0.5, 1.0, 2.0], seed=[0, 1])
    assert int(run_sweep(TOY, wider, store=tmp_path)["computed"].sum()) == 2   # only the new points


class _Interrupt(Exception):
    pass


def _flaky_point(tau, seed, steps=5, stop_after=None, counter=None):
    if counter is not None:
        n = len(list(Path(counter).glob("*"))) if Path(counter).exists() else 0
        if stop_after is not None and n >= stop_after:
            raise _Interrupt()
        Path(counter).mkdir(exist_ok=True)
        (Path(counter) / f"{tau}-{seed}-{os.getpid()}-{n}").touch()
    return toy_point(tau, seed, steps)


def test_interrupted_sweep_resumes_without_loss_or_duplicates(tmp_path):
    store, counter = tmp_path / "store", tmp_path / "calls"
    exp = Experiment("flaky", point=_flaky_point, dims={"loss": ("step",)},
                     fixed={"stop_after": 4, "counter": str(counter)})
    with pytest.raises(_Interrupt):
        run_sweep(exp, SWEEP, store=store)
    assert len(store_entries(store, exp)) == 4
    # the same inputs (the same keys): the rerun computes only the two missing points
    for f in counter.glob("*"):
        f.unlink()
    ds = run_sweep(exp, SWEEP, store=store)
    assert int(ds["computed"].sum()) == 2
    assert len(list(counter.glob("*"))) == 2                # each missing point computed once
    assert len(store_entries(store, exp)) == 6
    ref = run_sweep(TOY, SWEEP)
    np.testing.assert_array_equal(ds["loss"].values, ref["loss"].values)


def _dying_point(tau, seed, steps=5, marker=None):
    """Kills its worker process the first time it runs for tau = 0.5, seed = 1."""
    if marker is not None and tau == 0.5 and seed == 1 and not Path(marker).exists():
        Path(marker).touch()
        os._exit(1)
    return toy_point(tau, seed, steps)


def test_a_killed_worker_loses_and_duplicates_nothing(tmp_path):
    exp = Experiment("dying", point=_dying_point, dims={"loss": ("step",)},
                     fixed={"marker": str(tmp_path / "killed")})
    ds = run_sweep(exp, SWEEP, store=tmp_path / "store", executor="dask")
    assert (tmp_path / "killed").exists()                   # a worker did die
    assert len(store_entries(tmp_path / "store", exp)) == 6
    np.testing.assert_array_equal(ds["loss"].values, run_sweep(TOY, SWEEP)["loss"].values)


def test_corrupted_and_partial_entries_are_recomputed(tmp_path):
    run_sweep(TOY, SWEEP, store=tmp_path)
    entries = store_entries(tmp_path, TOY)
    # corrupt one entry's data (a chunk of 'loss'), truncate another's metadata, leave a temp dir
    chunk = next(p for p in (entries[0] / "loss").rglob("*") if p.is_file() and "zarr.json" not in p.name)
    chunk.write_bytes(b"\x00" * 8 + chunk.read_bytes()[8:])
    (entries[1] / "zarr.json").write_text("{")
    (tmp_path / TOY.name / ".junk.zarr.1234.tmp").mkdir()
    ds = run_sweep(TOY, SWEEP, store=tmp_path)
    assert int(ds["computed"].sum()) == 2
    np.testing.assert_array_equal(ds["loss"].values, run_sweep(TOY, SWEEP)["loss"].values)


def test_saved_result_carries_provenance_and_detects_corruption(tmp_path):
    ds = run_sweep(TOY, SWEEP)
    path = save_result(ds, tmp_path / "toy.zarr")
    back = open_result(path)
    np.testing.assert_array_equal(back["loss"].values, ds["loss"].values)
    for key in ("commits", "scale", "code", "host", "wall_time_total", "executor"):
        assert key in back.attrs
    assert set(back["device"].values.ravel()) and back["wall_time"].shape == (3, 2)
    assert open_result(tmp_path / "absent.zarr") is None
    chunk = next(p for p in (path / "loss").rglob("*") if p.is_file() and "zarr.json" not in p.name)
    chunk.write_bytes(b"\x01" * 8 + chunk.read_bytes()[8:])
    with pytest.raises(Exception):
        open_result(path)


@pytest.mark.parametrize("make, err, match", [
    (lambda: Sweep(tau=[], seed=[0]), ValueError, "at least one value"),
    (lambda: Sweep(tau=[0.1, 0.1], seed=[0]), ValueError, "repeated"),
    (lambda: run_sweep(TOY, Sweep(tau=[0.1], seed=[1.5])), ValueError, "seed"),
    (lambda: run_sweep(TOY, Sweep(tau=[0.1], seed=[-1])), ValueError, "seed"),
    (lambda: run_sweep(TOY, Sweep(tau=[0.1], seed=[True])), ValueError, "seed"),
    (lambda: run_sweep(TOY, {"tau": [1]}), TypeError, "sweep"),
    (lambda: run_sweep(TOY, SWEEP, executor="mpi"), ValueError, "executor"),
    (lambda: run_sweep(TOY, SWEEP, executor="batched", batch_size=0), ValueError, "batch_size"),
    (lambda: run_sweep(Experiment("nobatch", point=toy_point), SWEEP, executor="batched"),
     ValueError, "batch"),
    (lambda: run_sweep("toy", SWEEP), TypeError, "experiment"),
    (lambda: Experiment("a/b", point=toy_point), ValueError, "name"),
    (lambda: Experiment("x", point=3), TypeError, "point"),
    (lambda: run_sweep(TOY, SWEEP, executor="dask", client=3), TypeError, "client"),
])
def test_bad_sweeps_are_refused(make, err, match):
    with pytest.raises(err, match=match):
        make()


def test_key_depends_on_code_and_config():
    k1 = point_key(TOY, {"tau": 0.1, "seed": 0}, "laptop")
    assert k1 != point_key(TOY, {"tau": 0.1, "seed": 1}, "laptop")
    assert k1 != point_key(TOY, {"tau": 0.1, "seed": 0}, "laptop", code="edited")
    assert k1 == point_key(TOY, {"tau": 0.1, "seed": 0}, "laptop")
