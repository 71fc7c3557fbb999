"""theory.helm.store: the JSON Lines store of predictions (append, lookup, corrupt lines, two
processes at once)."""

from __future__ import annotations

import multiprocessing as mp
import os
from pathlib import Path

import pytest

from theory.helm.schema import Prediction
from theory.helm.store import STORE_ENV, Store, default_store, file_name


def pred(i: int, model="m", scenario="s", adaptation="generation", **kw) -> Prediction:
    return Prediction(model=model, scenario=scenario, instance_id=f"i{i}", perturbation="identity",
                      adaptation=adaptation, output=f"out {i}", choice=i % 2, confidence=0.5,
                      key=f"k{i:04d}", **kw)


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_put_get_round_trip_one_file_per_model_scenario_adaptation(tmp_path):
    st = Store(tmp_path / "store")
    assert st.put([pred(i) for i in range(5)] + [pred(9, model="other")]) == 6
    assert st.n_written == 6
    assert sorted(p.name for p in st.files()) == ["m__s__generation.jsonl", "other__s__generation.jsonl"]
    got = st.get(["k0001", "k0003", "nope"], model="m", scenario="s", adaptation="generation")
    assert set(got) == {"k0001", "k0003"} and got["k0003"] == pred(3)
    assert set(st.get(["k0009", "k0000"])) == {"k0009", "k0000"}      # every file
    assert len(st) == 6 and st.summary()["m__s__generation.jsonl"] == 5
    assert st.load("m", "s", "generation")["k0002"].output == "out 2"


def test_put_never_writes_a_key_twice_and_another_store_object_sees_new_lines(tmp_path):
    a, b = Store(tmp_path), Store(tmp_path)
    a.put([pred(i) for i in range(3)])
    assert set(b.get([f"k{i:04d}" for i in range(5)])) == {"k0000", "k0001", "k0002"}
    assert b.put([pred(i) for i in range(5)]) == 2          # 0..2 are stored already
    assert a.put([pred(4), pred(4)]) == 0                   # a re-reads the file under its lock
    assert len(lines(a.path("m", "s", "generation"))) == 5
    assert a.keys() == {f"k{i:04d}" for i in range(5)}


def test_a_corrupt_line_is_skipped_and_reported_so_its_request_is_missing(tmp_path):
    st = Store(tmp_path)
    st.put([pred(i) for i in range(4)])
    path = st.path("m", "s", "generation")
    text = lines(path)
    text[1] = text[1][: len(text[1]) // 2]                  # cut a line in half
    path.write_text("\n".join(text) + "\n")
    fresh = Store(tmp_path)
    with pytest.warns(RuntimeWarning, match="skipped line 2"):
        got = fresh.get([f"k{i:04d}" for i in range(4)])
    assert set(got) == {"k0000", "k0002", "k0003"}
    assert [(f, n) for f, n, _ in fresh.problems] == [(path.name, 2)]
    assert fresh.put([pred(1)]) == 1                        # recomputed, appended
    with pytest.warns(RuntimeWarning):
        assert set(Store(tmp_path).get(["k0001"])) == {"k0001"}


def test_a_truncated_last_line_gets_a_newline_before_the_next_append(tmp_path):
    st = Store(tmp_path)
    st.put([pred(0), pred(1)])
    path = st.path("m", "s", "generation")
    data = path.read_bytes()
    path.write_bytes(data[:-25])                            # a run killed mid-write
    fresh = Store(tmp_path)
    with pytest.warns(RuntimeWarning, match="truncated"):
        assert set(fresh.get(["k0000", "k0001"])) == {"k0000"}
    assert fresh.put([pred(1), pred(2)]) == 2
    reread = Store(tmp_path)
    with pytest.warns(RuntimeWarning, match="skipped line 2"):
        assert set(reread.get(["k0000", "k0001", "k0002"])) == {"k0000", "k0001", "k0002"}
    assert len(lines(path)) == 4                            # the broken line stays, isolated


def test_a_line_without_key_or_with_unknown_fields_counts_as_corrupt(tmp_path):
    st = Store(tmp_path)
    st.put([pred(0)])
    path = st.path("m", "s", "generation")
    with open(path, "a") as fh:
        fh.write(pred(1).to_json().replace('"key": "k0001"', '"key": ""') + "\n")
        fh.write('{"bogus": 1}\n')
        fh.write("\n")                                      # a blank line is no problem
    fresh = Store(tmp_path)
    with pytest.warns(RuntimeWarning):
        assert set(fresh.get(["k0000", "k0001"])) == {"k0000"}
    assert [n for _, n, _ in fresh.problems] == [2, 3]


def _writer(root, start, stop, reps):
    st = Store(root)
    for _ in range(reps):
        st.put([pred(i) for i in range(start, stop)])
        st.put([pred(i) for i in range(stop, start, -1)])


def test_two_processes_writing_overlapping_keys_leave_each_key_once(tmp_path):
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), a, b, 5)) for a, b in ((0, 120), (60, 180))]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    path = Store(tmp_path).path("m", "s", "generation")
    keys = [Prediction.from_json(x).key for x in lines(path)]
    assert len(keys) == len(set(keys)) == 181 and not Store(tmp_path).problems


def test_default_store_reads_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(STORE_ENV, raising=False)
    root = Path(__file__).resolve().parents[1]
    assert default_store() == root / "_build" / "helm"
    monkeypatch.setenv(STORE_ENV, str(tmp_path / "x"))
    assert default_store() == tmp_path / "x" and Store().root == tmp_path / "x"


def test_file_names_are_safe():
    assert file_name("SmolLM2-135M", "knowledge", "multiple_choice_joint,max_train_instances=0") == \
        "SmolLM2-135M__knowledge__multiple_choice_joint-max_train_instances=0.jsonl"
    assert "/" not in file_name("a/b", "c d", "e")


def test_bad_input(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="not a folder"):
        Store(tmp_path / "file")
    with pytest.raises(TypeError, match="root"):
        Store(3)
    st = Store(tmp_path / "s")
    with pytest.raises(TypeError, match="Prediction"):
        st.put(["no"])
    with pytest.raises(ValueError, match="no request key"):
        st.put([pred(0).__class__(**{**pred(0).__dict__, "key": ""})])
    with pytest.raises(ValueError, match="all of model, scenario and adaptation"):
        st.get(["k"], model="m")
    with pytest.raises(TypeError, match="keys"):
        st.get([1])
    with pytest.raises(ValueError, match="model"):
        file_name("", "s", "a")
    assert st.get(["k"]) == {} and not (tmp_path / "s").exists()   # reading creates nothing
