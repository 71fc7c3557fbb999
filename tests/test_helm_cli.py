"""python -m theory.helm: run, resume after an interruption (--limit, and a process killed
mid-run), a corrupt line recomputed, the summary files, the table, bad input — on the stand-in
models and scenarios of test_helm_evaluate."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import theory.helm.cli as cli
from theory.helm.evaluate import default_adaptation
from theory.helm.store import Store
from helm_fakes import FakeClassifier, FakeLM, fake_toxicity, knowledge, lm, n_requests, sentiment

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent


def fake_grid(delay=0.0):
    models = [FakeClassifier(delay=delay, batch_size=1), FakeLM()]
    scen = [sentiment(), knowledge(), lm()]
    return [(m, s, default_adaptation(s)) for m in models for s in scen]


TOTAL = sum(n_requests(s) for s in (sentiment(), knowledge(), lm()))


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setitem(cli.GRIDS, "fake", fake_grid)
    return "fake"


def n_lines(store: Path) -> int:
    return sum(len(p.read_text().splitlines()) for p in Store(store).files())


def test_run_writes_the_store_and_the_summary_then_a_rerun_computes_nothing(fake, tmp_path, capsys):
    store = tmp_path / "store"
    assert cli.main(["run", "--grid", fake, "--store", str(store), "--no-progress"]) == 0
    out = capsys.readouterr()
    assert out.out.count("\n") == 1 and f"{TOTAL} requests computed, 0 from the store" in out.out
    assert out.err == ""
    assert n_lines(store) == TOTAL
    summary = [json.loads(x) for x in (store / "summary.jsonl").read_text().splitlines()]
    assert sum(x["supported"] for x in summary) == 3 and len(summary) == 6
    acc = {(x["model"], x["scenario"]): x["metrics"].get("accuracy") for x in summary if x["supported"]}
    assert 0 <= acc[("FakeClf", "fake_sentiment")] <= 1
    md = (store / "summary.md").read_text()
    assert md.startswith("| model | fake_sentiment / accuracy") and "| FakeLM |" in md
    assert cli.main(["run", "--grid", fake, "--store", str(store), "--no-progress"]) == 0
    assert cli.final_counts(capsys.readouterr().out) == (0, TOTAL)
    assert n_lines(store) == TOTAL
    with pytest.raises(ValueError, match="no final line"):
        cli.final_counts("nothing")
    assert cli.main(["table", "--store", str(store)]) == 0
    assert capsys.readouterr().out == md


def test_limit_interrupts_and_the_rerun_does_only_the_rest(fake, tmp_path, capsys):
    store, out = tmp_path / "store", tmp_path / "out"
    assert cli.main(["run", "--grid", fake, "--store", str(store), "--limit", "9", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "9 requests computed" in text and f"with {TOTAL - 9} requests left" in text
    assert n_lines(store) == 9 and not (store / "summary.jsonl").exists()
    assert cli.main(["run", "--grid", fake, "--store", str(store), "--out", str(out), "--format", "csv",
                     "--no-progress"]) == 0
    assert f"{TOTAL - 9} requests computed, 9 from the store" in capsys.readouterr().out
    assert n_lines(store) == len(Store(store).keys()) == TOTAL
    assert (out / "summary.csv").read_text().startswith("model,fake_sentiment/accuracy")
    assert (out / "summary.jsonl").exists()


SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
import theory.helm.cli as cli
import test_helm_cli as t
cli.GRIDS["fake"] = lambda: t.fake_grid(delay=0.15)
sys.exit(cli.main(sys.argv[1:]))
"""


def test_a_killed_run_resumes_without_redoing_or_duplicating_and_a_corrupt_line_is_redone(fake, tmp_path, capsys):
    store = tmp_path / "store"
    script = tmp_path / "run_fake.py"
    script.write_text(SCRIPT.format(tests=str(TESTS)))
    env = dict(os.environ, PYTHONPATH=str(ROOT), THEORY_THREADS="1")
    proc = subprocess.Popen([sys.executable, str(script), "run", "--grid", "fake", "--store", str(store),
                             "--no-progress"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            if store.is_dir() and n_lines(store) >= 5:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read().decode()
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(30)
    done = n_lines(store)
    assert 5 <= done < TOTAL
    assert cli.main(["run", "--grid", fake, "--store", str(store), "--no-progress"]) == 0
    assert f"{TOTAL - done} requests computed, {done} from the store" in capsys.readouterr().out
    assert n_lines(store) == len(Store(store).keys()) == TOTAL
    # a corrupt line: reported, recomputed, the rest untouched
    path = Store(store).files()[0]
    lines = path.read_text().splitlines()
    lines[2] = lines[2][:30]
    path.write_text("\n".join(lines) + "\n")
    with pytest.warns(RuntimeWarning, match="skipped line 3"):
        assert cli.main(["run", "--grid", fake, "--store", str(store), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert f"1 requests computed, {TOTAL - 1} from the store, 1 corrupt store lines" in text


def test_models_and_scenarios_narrow_the_grid(fake, tmp_path, capsys):
    store = tmp_path / "s"
    assert cli.main(["run", "--grid", fake, "--store", str(store), "--models", "fakeclf",
                     "--scenarios", "fake_sent", "--no-progress"]) == 0
    assert f"1 runs (0 unsupported pairs skipped), {n_requests(sentiment())} requests" in capsys.readouterr().out
    assert cli.main(["list", "--grid", fake, "--models", "FakeLM"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0] == "FakeLM\tfake_sentiment\tgeneration\tnot supported" and len(listed) == 3


@pytest.mark.parametrize("argv, message", [
    (["run", "--grid", "fake", "--models", "GPT-5"], "model 'GPT-5' is unknown; available: FakeClf, FakeLM"),
    (["run", "--grid", "fake", "--scenarios", "fake_"], "scenario 'fake_' is ambiguous"),
    (["run", "--grid", "nope"], "invalid choice"),
    (["run", "--grid", "fake", "--limit", "0"], "--limit must be at least 1"),
    ([], "give a command"),
])
def test_bad_input_gets_one_line_and_status_2(fake, tmp_path, capsys, argv, message):
    assert cli.main(argv + ["--store", str(tmp_path / "s")] if argv else argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "s").exists()


def test_an_empty_selection_and_a_missing_summary(fake, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(cli.GRIDS, "lm_only", lambda: [(FakeLM(), lm(), default_adaptation(lm()))])
    assert cli.select(cli.GRIDS["lm_only"](), ["FakeLM"]) and True
    with pytest.raises(cli.InputError, match="selection is empty"):
        cli.select(fake_grid(), ["FakeLM"], []) and cli.select([], None, None)
    assert cli.main(["table", "--store", str(tmp_path / "none")]) == 2
    assert "summary.jsonl does not exist" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert cli.main(["run", "--grid", fake, "--store", str(tmp_path / "file")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_help_and_the_module_entry_point(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["run", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "--grid" in out and "--limit" in out and "--store" in out
    main_py = (ROOT / "theory" / "helm" / "__main__.py").read_text()
    assert "from theory.helm.cli import main" in main_py and "sys.exit(main())" in main_py


def test_merge_copies_only_missing_predictions(fake, tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert cli.main(["run", "--grid", fake, "--store", str(a), "--no-progress"]) == 0
    assert cli.main(["run", "--grid", fake, "--store", str(b), "--limit", "5", "--no-progress"]) == 0
    capsys.readouterr()
    assert cli.main(["merge", str(a), "--store", str(b)]) == 0
    assert f"merged {TOTAL - 5} predictions" in capsys.readouterr().out
    assert n_lines(b) == len(Store(b).keys()) == TOTAL
    assert cli.main(["run", "--grid", fake, "--store", str(b), "--no-progress"]) == 0
    assert f"0 requests computed, {TOTAL} from the store" in capsys.readouterr().out
    assert cli.main(["merge", str(b), "--store", str(b)]) == 2
    assert cli.main(["merge", str(tmp_path / "none"), "--store", str(b)]) == 2
