"""The book's execution cache (theory/core/_cache.py, conftest.py): nbval's execution of a
notebook is filed so that the book build finds it, and the build key covers what it must."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_cache import get_cache

from theory.core import _cache
from theory.core._cache import (build_key, executed_notebook, import_staged, key_parts, prepare,
                                stage_notebook)

ROOT = Path(__file__).resolve().parents[1]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A minimal project folder: a package file, the two pin files, a notebook folder."""
    monkeypatch.delenv("THEORY_SCALE", raising=False)
    (tmp_path / "theory" / "sub").mkdir(parents=True)
    (tmp_path / "theory" / "__init__.py").write_text("")
    (tmp_path / "theory" / "sub" / "mod.py").write_text("X = 1\n")
    (tmp_path / "requirements.txt").write_text("numpy==2.4.6\n")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "book").mkdir()
    return tmp_path


def source_notebook():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"),
                nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["keep"]}),
                nbformat.v4.new_markdown_cell("text"),
                nbformat.v4.new_code_cell("x + 1")]
    return nb


def outputs():
    return [[nbformat.v4.new_output("stream", name="stdout", text="hi\n")],
            [nbformat.v4.new_output("execute_result", data={"text/plain": "2", WIDGET_VIEW: {}},
                                    execution_count=7)]]


LANGUAGE_INFO = {"name": "python", "pygments_lexer": "ipython3", "version": "3.11"}


def test_key_changes_with_package_pins_results_and_scale_only(project, monkeypatch):
    key = build_key(project)
    assert key.endswith("-laptop") and key == build_key(project)
    (project / "book" / "notes.md").write_text("not part of the key")
    (project / "theory" / "data.txt").write_text("only *.py files count")
    assert build_key(project) == key
    (project / "theory" / "sub" / "mod.py").write_text("X = 2\n")
    changed = build_key(project)
    assert changed != key
    (project / "requirements.txt").write_text("numpy==2.4.7\n")
    assert build_key(project) != changed and key_parts(project)["pins"] != ""
    changed = build_key(project)
    (project / "results" / "exp").mkdir(parents=True)
    (project / "results" / "exp" / "summary.json").write_text("{}")   # a stored sweep result
    assert build_key(project) != changed
    changed = build_key(project)
    monkeypatch.setenv("THEORY_SCALE", "paper")
    assert build_key(project).endswith("-paper")
    assert build_key(project).split("-")[0] == changed.split("-")[0]
    with pytest.raises(ValueError, match="root"):
        build_key(project / "book")


def test_key_does_not_depend_on_the_commit():
    assert "commit" not in key_parts()
    assert set(key_parts()) == {"theory", "pins", "results", "scale"}


def test_executed_notebook_hashes_as_its_source():
    src = source_notebook()
    nb = executed_notebook(src, outputs(), language_info=LANGUAGE_INFO)
    cache = get_cache(".unused")  # create_hashed_notebook touches no database
    assert cache.create_hashed_notebook(nb)[1] == cache.create_hashed_notebook(src)[1]
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == [1, 2]
    assert code[0].outputs[0].text == "hi\n"
    result = code[1].outputs[0]
    assert result.execution_count == 2 and WIDGET_VIEW not in result.data
    assert nb.metadata.language_info == LANGUAGE_INFO and "widgets" not in nb.metadata
    assert all(c.outputs == [] for c in src.cells if c.cell_type == "code")  # source untouched


def test_executed_notebook_drops_widget_state_and_checks_arguments():
    src = source_notebook()
    src.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {"a": 1}}}
    only_widget = [[], [nbformat.v4.new_output("display_data", data={WIDGET_VIEW: {"model_id": "a"}})]]
    nb = executed_notebook(src, only_widget)
    assert "widgets" not in nb.metadata and nb.cells[3].outputs == []
    with pytest.raises(ValueError, match="one list per code cell"):
        executed_notebook(src, [[]])
    with pytest.raises(TypeError, match="source"):
        executed_notebook({"cells": []}, [])
    with pytest.raises(TypeError, match="language_info"):
        executed_notebook(src, [[], []], language_info="python")


def test_staged_notebooks_are_filed_where_myst_nb_finds_them(project, tmp_path):
    src = source_notebook()
    path = project / "book" / "a.ipynb"
    nbformat.write(src, path)
    staging, cache_dir = tmp_path / "_build" / ".nbval-executed", tmp_path / "_build" / ".jupyter_cache"
    staged = stage_notebook(executed_notebook(src, outputs(), language_info=LANGUAGE_INFO), path,
                            staging, seconds=1.5, root=project)
    assert staged.name == "book__a.ipynb.executed.json"
    filed = import_staged(staging, cache_dir)
    assert [uri for uri, _ in filed] == [str(path.resolve())] and not staging.exists()
    cache = get_cache(str(cache_dir))
    # what myst-nb's cache mode does with the source notebook of the page
    record = cache.match_cache_notebook(nbformat.read(path, as_version=4))
    assert record.data["execution_seconds"] == 1.5
    _, merged = cache.merge_match_into_notebook(nbformat.read(path, as_version=4))
    assert merged.cells[0].source == "# Title" and merged.cells[1].outputs[0].text == "hi\n"
    assert merged.metadata.language_info == LANGUAGE_INFO
    # a second run replaces the entry
    stage_notebook(executed_notebook(src, outputs()), path, staging, root=project)
    assert len(import_staged(staging, cache_dir)) == 1 and len(cache.list_cache_records()) == 1
    assert import_staged(tmp_path / "missing", cache_dir) == []


def test_changed_code_misses_the_cache(project, tmp_path):
    src = source_notebook()
    path = project / "book" / "a.ipynb"
    nbformat.write(src, path)
    stage_notebook(executed_notebook(src, outputs()), path, tmp_path / "s", root=project)
    import_staged(tmp_path / "s", tmp_path / "c")
    src.cells[1].source = "x = 2"
    with pytest.raises(KeyError):
        get_cache(str(tmp_path / "c")).match_cache_notebook(src)


def test_prepare_removes_the_build_only_when_the_key_changes(project, capsys):
    build = project / "_build"
    key = prepare(build, project)
    (build / "ledger").mkdir()
    (build / "ledger" / "c__n.jsonl").write_text("{}\n")
    assert prepare(build, project) == key and (build / "ledger" / "c__n.jsonl").exists()
    assert json.loads((build / ".key").read_text())["key"] == key
    (project / "theory" / "sub" / "mod.py").write_text("X = 3\n")
    assert prepare(build, project) != key
    assert not (build / "ledger").exists() and (build / ".key").is_file()
    assert "theory/**/*.py changed" in capsys.readouterr().err
    (build / ".key").unlink()
    (build / "stray").write_text("")
    prepare(build, project)
    assert not (build / "stray").exists()


def test_cli(project, monkeypatch, capsys):
    monkeypatch.setattr(_cache, "ROOT", project)
    assert _cache._main(["key"]) == 0 and capsys.readouterr().out.strip() == build_key(project)
    assert _cache._main(["bogus"]) == 2


# Cell 3 ends in ';': IPython shows no value for it in the book build (nbclient), and must not here.
NOTEBOOK_A = ["import sys\nprint('a', file=sys.stdout)", "40 + 2", "x = 1\nx + 1;"]
NOTEBOOK_B = ["from IPython.display import HTML\nHTML('<b>static</b>')", "assert 1 + 1 == 2"]


def _write(path: Path, cells: list[str]):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# A page")] + [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, path)


def test_nbval_run_fills_the_cache(tmp_path):
    """The plugin end to end, as `make test-notebooks` runs it (two xdist workers): nbval runs two
    small notebooks and a failing one; the two that passed are in the cache, with the outputs the
    kernel gave, and the staging folder is gone."""
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    _write(tmp_path / "a.ipynb", NOTEBOOK_A)
    _write(tmp_path / "b.ipynb", NOTEBOOK_B)
    _write(tmp_path / "c.ipynb", ["1 / 0"])
    cache_dir = tmp_path / "_build" / ".jupyter_cache"
    env = {**os.environ, "THEORY_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                           "-n", "2", "--dist", "loadscope",
                           "--nbval-lax", "--nbval-current-env", f"--execution-cache={cache_dir}",
                           "a.ipynb", "b.ipynb", "c.ipynb"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # c.ipynb fails
    assert "execution cache: 2 executed notebooks filed" in proc.stdout, proc.stdout
    cache = get_cache(str(cache_dir))
    assert len(cache.list_cache_records()) == 2
    _, a = cache.merge_match_into_notebook(nbformat.read(tmp_path / "a.ipynb", as_version=4))
    assert a.cells[1].outputs[0].text == "a\n"
    assert a.cells[2].outputs[0].data["text/plain"] == "42" and a.cells[2].execution_count == 2
    assert a.cells[3].outputs == [] and a.cells[3].execution_count == 3
    assert a.metadata.language_info["name"] == "python"
    _, b = cache.merge_match_into_notebook(nbformat.read(tmp_path / "b.ipynb", as_version=4))
    assert b.cells[1].outputs[0].data["text/html"] == "<b>static</b>"
    with pytest.raises(KeyError):
        cache.match_cache_notebook(nbformat.read(tmp_path / "c.ipynb", as_version=4))
    assert not (tmp_path / "_build" / ".nbval-executed").exists()
