"""The semdedup command: outputs against the API and the O(n²) reference, bad input, atomic output."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import theory.semdedup as sd
from theory.semdedup import brute_force_keep, semdedup
from theory.semdedup.cli import main
from theory.semdedup.synthetic import make_synthetic, write_synthetic

K, EPS = 6, 0.05


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    syn = write_synthetic(root / "data", 1500, 16, n_clusters=8, seed=3, shard_rows=600)
    return syn


def run_cli(capsys, *args):
    rc = main([str(a) for a in args] + ["--no-progress"])
    out, err = capsys.readouterr()
    return rc, out, err


def test_synthetic_is_the_same_in_memory_and_on_disk(data):
    X, group = make_synthetic(1500, 16, n_clusters=8, seed=3)
    on_disk = np.concatenate([np.load(p) for p in sorted(data.embeddings.glob("*.npy"))])
    assert np.array_equal(X, on_disk) and np.array_equal(group, data.group())
    assert data.n_duplicates == int((group != np.arange(1500)).sum()) > 0
    assert np.allclose(np.linalg.norm(X, axis=1), 1, atol=1e-6)
    X, group = make_synthetic(2000, 384, n_clusters=8, seed=0)  # at d = 384 |w| ≈ 1:
    dup = np.flatnonzero(group != np.arange(2000))
    assert (np.sum(X[dup] * X[group[dup]], axis=1) > 0.94).all()  # cos ≈ 1/√(1 + σ²) ≥ 0.957


@pytest.mark.parametrize("semantics", ["greedy", "groups"])
def test_cli_matches_the_api_and_the_brute_force_reference(data, tmp_path, capsys, semantics):
    out = tmp_path / "out"
    rc, stdout, err = run_cli(capsys, data.embeddings, "--k", K, "--eps", EPS, "--out", out,
                              "--semantics", semantics, "--seed", 7)
    assert rc == 0, err
    kept = np.load(out / "kept.npy")
    api = semdedup(data.embeddings, K, EPS, semantics=semantics, seed=7)
    assert np.array_equal(kept, api.kept_indices())
    X, _ = make_synthetic(1500, 16, n_clusters=8, seed=3)
    ref = brute_force_keep(X, api.labels, api.similarity, EPS, semantics=semantics, seed=7)
    assert np.array_equal(kept, np.flatnonzero(ref))
    report = json.loads((out / "report.json").read_text())
    assert report["kept"] == kept.size and report["kept"] + report["removed"] == 1500
    assert (report["eps"], report["semantics"], report["k"]) == (EPS, semantics, K)
    table = pd.read_csv(out / "clusters.csv")
    assert table["size"].sum() == 1500 and table["kept"].sum() == kept.size
    assert f"kept {kept.size}" in stdout
    assert sorted(p.name for p in out.iterdir()) == ["clusters.csv", "kept.npy", "report.json"]


def test_kept_fraction_is_solved_exactly(data, tmp_path, capsys):
    out = tmp_path / "out"
    rc, _, err = run_cli(capsys, data.embeddings, "--k", K, "--kept-fraction", 0.95, "--out", out)
    assert rc == 0, err
    report = json.loads((out / "report.json").read_text())
    api = semdedup(data.embeddings, K, 0.5)
    eps = api.eps_for_kept_fraction(0.95)
    assert report["eps"] == eps and report["kept"] == api.kept_indices(eps).size
    assert abs(report["kept"] - 0.95 * 1500) <= 1  # M has no ties here: the nearest count


def _bad_files(tmp_path):
    ok = make_synthetic(50, 8, n_clusters=3, seed=1)[0]
    files = {}
    for name, arr in [("nan", ok.copy()), ("inf", ok.copy()), ("zero", ok.copy())]:
        arr[7, 2] = {"nan": np.nan, "inf": np.inf, "zero": 0.0}[name]
        if name == "zero":
            arr[7] = 0.0
        np.save(tmp_path / f"{name}.npy", arr)
        files[name] = tmp_path / f"{name}.npy"
    np.save(tmp_path / "three_d.npy", ok.reshape(5, 10, 8))
    np.save(tmp_path / "ints.npy", np.ones((50, 8), dtype=np.int64))
    (tmp_path / "text.npy").write_text("not an array\n")
    np.save(tmp_path / "ok.npy", ok)
    return tmp_path


@pytest.mark.parametrize("args, says", [
    (["nan.npy", "--k", 2, "--eps", 0.1], "row 7 holds a non-finite value"),
    (["inf.npy", "--k", 2, "--eps", 0.1], "row 7 holds a non-finite value"),
    (["zero.npy", "--k", 2, "--eps", 0.1], "row 7 has zero norm"),
    (["three_d.npy", "--k", 2, "--eps", 0.1], "a 2-D (n, d) array is required"),
    (["ints.npy", "--k", 2, "--eps", 0.1], "float16, float32 or float64 is required"),
    (["text.npy", "--k", 2, "--eps", 0.1], "is not a readable .npy file"),
    (["missing.npy", "--k", 2, "--eps", 0.1], "does not exist"),
    (["ok.npy", "--k", 2, "--eps", 0], "open interval (0, 1)"),
    (["ok.npy", "--k", 2, "--eps", 1], "open interval (0, 1)"),
    (["ok.npy", "--k", 2, "--eps", -0.2], "open interval (0, 1)"),
    (["ok.npy", "--k", 2, "--eps", "nan"], "open interval (0, 1)"),
    (["ok.npy", "--k", 2, "--eps", "abc"], "must be a number"),
    (["ok.npy", "--k", 2, "--kept-fraction", 0], "--kept-fraction must lie in (0, 1]"),
    (["ok.npy", "--k", 2, "--kept-fraction", 0.5, "--semantics", "groups"], "needs --semantics greedy"),
    (["ok.npy", "--k", 2, "--eps", 0.1, "--kept-fraction", 0.5], "not allowed with argument"),
    (["ok.npy", "--k", 51, "--eps", 0.1], "--k 51 is larger than the number of points n = 50"),
    (["ok.npy", "--k", 0, "--eps", 0.1], "--k must be at least 1"),
    (["ok.npy", "--eps", 0.1], "--k is required"),
    (["ok.npy", "--k", 2], "give --eps"),
    (["ok.npy", "--k", 2, "--eps", 0.1, "--keep", "soft"], "invalid choice"),
    (["ok.npy", "--k", 2, "--eps", 0.1, "--dask", "nowhere"], "scheduler address"),
])
def test_bad_input_gets_one_line_and_status_2(tmp_path, capsys, monkeypatch, args, says):
    monkeypatch.chdir(_bad_files(tmp_path))
    rc, stdout, err = run_cli(capsys, *args, "--out", "out")
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("semdedup: error: ") and says in err, err
    assert "Traceback" not in err + stdout
    assert not (tmp_path / "out").exists()


def test_existing_or_orphan_output_path_is_refused(data, tmp_path, capsys):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "mine.txt").write_text("keep me")
    rc, _, err = run_cli(capsys, data.embeddings, "--k", K, "--eps", EPS, "--out", tmp_path / "taken")
    assert rc == 2 and "already exists" in err
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["mine.txt"]
    rc, _, err = run_cli(capsys, data.embeddings, "--k", K, "--eps", EPS, "--out",
                         tmp_path / "no" / "such" / "out")
    assert rc == 2 and "parent folder" in err


@pytest.mark.parametrize("exc, status", [(RuntimeError("disk full"), 1), (KeyboardInterrupt(), 130)])
def test_a_run_that_fails_while_writing_leaves_nothing(data, tmp_path, capsys, monkeypatch,
                                                       exc, status):
    def fail(*args, **kwargs):  # kept.npy is written by then; clusters.csv fails
        raise exc

    monkeypatch.setattr(pd.DataFrame, "to_csv", fail)
    rc, _, err = run_cli(capsys, data.embeddings, "--k", K, "--eps", EPS, "--out", tmp_path / "out")
    assert rc == status and err.count("\n") == 1 and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # neither out nor its temporary folder


def test_a_run_interrupted_while_computing_leaves_nothing(data, tmp_path, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sd, "semdedup", interrupted)
    rc, _, err = run_cli(capsys, data.embeddings, "--k", K, "--eps", EPS, "--out", tmp_path / "out")
    assert rc == 130 and "interrupted" in err
    assert list(tmp_path.iterdir()) == []


def test_python_dash_m_reports_bad_input_without_traceback(tmp_path):
    bad = np.ones((4, 3), dtype=np.float32)
    bad[2] = np.nan
    np.save(tmp_path / "bad.npy", bad)
    proc = subprocess.run([sys.executable, "-m", "theory.semdedup", str(tmp_path / "bad.npy"),
                           "--k", "2", "--eps", "0.1", "--out", str(tmp_path / "out"), "--no-progress"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("semdedup: error: embeddings: row 2 holds a non-finite value "
                                   "(NaN or inf); every entry must be finite")
    assert not (tmp_path / "out").exists()
