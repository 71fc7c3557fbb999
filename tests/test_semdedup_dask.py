"""SemDeDup on Dask: bit-identical to the single-process run; the mapper; the SLURM job script."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from theory.semdedup import brute_force_keep, open_embeddings, semdedup
from theory.semdedup._dask import (DaskMapper, dask_client, dask_mapper, slurm_job_script,
                                   worker_pids)
from theory.semdedup.cli import main
from theory.semdedup.synthetic import make_synthetic, write_synthetic

K, EPS = 6, (0.02, 0.05)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_synthetic(tmp_path_factory.mktemp("dask") / "data", 1200, 16, n_clusters=6,
                           seed=5)


@pytest.fixture(scope="module")
def mapper():
    with dask_mapper("local", workers=2, threads_per_worker=1) as m:
        yield m


def _same(a, b):
    for field in ("labels", "similarity", "rank", "max_sim", "kept", "centroids", "objective"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field


@pytest.mark.parametrize("keep, semantics", [("hard", "greedy"), ("random", "groups")])
def test_dask_is_bit_identical_to_one_process_and_to_the_reference(data, mapper, keep, semantics):
    kw = dict(keep=keep, semantics=semantics, seed=11, n_iter=4, chunk_size=400, task_rows=300)
    serial = semdedup(data.embeddings, K, EPS, **kw)
    tasks = mapper.tasks
    dask = semdedup(data.embeddings, K, EPS, mapper=mapper, **kw)
    assert mapper.tasks - tasks > 4 * 2  # k-means pieces, chunks and cluster batches all ran there
    _same(serial, dask)
    X, _ = make_synthetic(1200, 16, n_clusters=6, seed=5)
    for e, eps in enumerate(EPS):
        ref = brute_force_keep(X, dask.labels, dask.similarity, eps, keep=keep,
                               semantics=semantics, seed=11)
        assert np.array_equal(dask.kept[e], ref)
    assert (~dask.kept[-1]).sum() > 50  # the injected duplicates were found, so the check bites


def test_a_file_source_pickles_as_paths_not_rows(data):
    source = open_embeddings(data.embeddings)
    assert len(pickle.dumps(source)) < 1000 < source.n * source.d * 4


def test_mapper_keeps_order_batches_and_scatters_once(mapper):
    big = np.arange(400_000, dtype=np.float64)  # 3.2 MB, shared by every call: scattered
    args = [(big, float(i)) for i in range(10)]
    before = mapper.tasks
    batched = DaskMapper(mapper.client, max_tasks=3)
    out = batched(np.multiply, args)
    assert batched.tasks == 3 and batched.calls == 10 and mapper.tasks == before
    assert all(np.array_equal(o, big * i) for i, o in enumerate(out))
    assert list(batched._scattered) == [id(big)]
    assert batched(np.multiply, []) == []
    with pytest.raises(TypeError, match="func must be callable"):
        batched(3, args)
    with pytest.raises(TypeError, match="distributed.Client"):
        DaskMapper(object())


def test_a_scheduler_address_and_worker_pids(data, mapper):
    address = mapper.client.scheduler.address
    assert address.startswith("tcp://127.0.0.1:")
    with dask_client(address) as client:
        pids = worker_pids(client)
        assert len(pids) == 2 and all(isinstance(p, int) for p in pids.values())
        via_address = semdedup(data.embeddings, K, 0.05, n_iter=3, mapper=DaskMapper(client))
    _same(via_address, semdedup(data.embeddings, K, 0.05, n_iter=3))
    with pytest.raises(ValueError, match="scheduler address"):
        with dask_client("nowhere"):
            pass


def test_cli_on_dask_gives_the_serial_kept_set(data, mapper, tmp_path, capsys):
    """--dask ADDRESS (the fixture's LocalCluster, started by the code --dask local runs)."""
    args = [str(data.embeddings), "--k", str(K), "--eps", "0.05", "--n-iter", "5", "--no-progress"]
    assert main(args + ["--out", str(tmp_path / "serial")]) == 0
    assert main(args + ["--out", str(tmp_path / "dask"), "--dask",
                        mapper.client.scheduler.address]) == 0
    capsys.readouterr()
    assert np.array_equal(np.load(tmp_path / "serial" / "kept.npy"),
                          np.load(tmp_path / "dask" / "kept.npy"))


def test_slurm_job_script_is_generated_not_submitted(capsys):
    script = slurm_job_script(cores=4, memory="6GiB", walltime="00:20:00", queue="short",
                              account="lab", scheduler_options={"host": "127.0.0.1"})
    for line in ("#SBATCH -p short", "#SBATCH -A lab", "#SBATCH --cpus-per-task=4",
                 "#SBATCH -t 00:20:00", "distributed.cli.dask_worker tcp://127.0.0.1:",
                 "--nthreads 4", "--memory-limit 6.00GiB"):
        assert line in script, line
    assert main(["--print-job-script", "--slurm-cores", "2", "--slurm-scheduler-host",
                 "127.0.0.1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("#!/usr/bin/env bash") and "--cpus-per-task=2" in out
