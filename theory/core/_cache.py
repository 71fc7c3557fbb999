"""The execution cache of the book: one execution per notebook per ``make test``.

``make test`` executes every notebook once, under nbval (the notebook test). The pytest plugin in
the project's ``conftest.py`` collects each cell's outputs while nbval runs it, and this module
turns them into the executed notebook and files it in the jupyter-cache that the book build reads
(``_build/.jupyter_cache``, ``execute_notebooks: cache`` in ``_config.yml``). jupyter-cache matches
a notebook by a hash of its code cells (source and metadata) and its kernelspec, so the book build
then finds every notebook in the cache and executes none.

What else shapes the outputs is in the *build key* (:func:`build_key`): the package's Python files,
the pins (``requirements.txt``, ``pyproject.toml``), the stored sweep results under ``results/``
that notebooks plot, and the scale (``THEORY_SCALE``); the commit is
not part of it. ``python -m theory.core._cache prepare _build`` (run by ``make`` before nbval and
before the book build) removes the build folder, cache and ledger with it, when the key differs
from the one it was built under. Every ledger record carries the key (:class:`theory.core.Record`).

The steps, in the order the plugin calls them:

1. :func:`executed_notebook` (in the process that ran the notebook): the source notebook with
   the outputs nbval collected, execution counts 1, 2, ... and the kernel's ``language_info``;
   never any widget state.
2. :func:`stage_notebook`: written to a staging folder, one file per notebook, so that two
   pytest-xdist workers never write the cache's sqlite database at once.
3. :func:`import_staged` (once, in the controlling process, after the workers finished): each
   staged notebook into the jupyter-cache.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIN_FILES = ("requirements.txt", "pyproject.toml")
RESULTS_DIR = "results"  # the stored paper-scale sweep results (theory.core._runner), keyed too
KEY_FILE = ".key"
WIDGET_MIMETYPES = ("application/vnd.jupyter.widget-view+json",
                    "application/vnd.jupyter.widget-state+json")

__all__ = ["build_key", "key_parts", "executed_notebook", "stage_notebook", "import_staged",
           "prepare"]


def _digest(paths: list[Path], root: Path) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(path.read_bytes() if path.is_file() else b"<missing>")
        h.update(b"\0")
    return h.hexdigest()[:16]


def key_parts(root: str | os.PathLike | None = None) -> dict[str, str]:
    """What the build key is made of: a digest of ``theory/**/*.py``, one of the pin files, the scale.

    The digests cover each file's path relative to ``root`` and its bytes, in sorted order.
    """
    from theory.core._scale import get_scale

    if root is not None and not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root must be the project folder (a str or Path) or None, got {type(root).__name__}")
    root = Path(root) if root is not None else ROOT
    if not (root / "theory").is_dir():
        raise ValueError(f"root must be the project folder (holding theory/), got {root}")
    package = sorted(p for p in (root / "theory").rglob("*.py") if "__pycache__" not in p.parts)
    results = root / RESULTS_DIR
    # the assembled results (not the per-point store, a cache of the runner's: results/store)
    stored = sorted(p for p in results.rglob("*") if p.is_file()
                    and "store" not in p.relative_to(results).parts[:1]) if results.is_dir() else []
    return {"theory": _digest(package, root), "pins": _digest([root / f for f in PIN_FILES], root),
            "results": _digest(stored, root), "scale": get_scale()}


def build_key(root: str | os.PathLike | None = None) -> str:
    """The key of everything but the notebook that shapes a notebook's outputs.

    ``<16 hex digits>-<scale>``: the hex digits are a SHA-256 over the package's Python files,
    ``requirements.txt``, ``pyproject.toml`` and the stored sweep results the notebooks read
    (``results/``, :func:`theory.core.run_sweep`) (:func:`key_parts`); the scale is
    ``THEORY_SCALE``. The notebook itself is keyed by jupyter-cache's own hash of its code cells.
    """
    parts = key_parts(root)
    digest = hashlib.sha256(f"{parts['theory']} {parts['pins']} {parts['results']}".encode()).hexdigest()[:16]
    return f"{digest}-{parts['scale']}"


def _drop_widgets(output):
    """An output without widget MIME types (no page of the book loads widget JS)."""
    if "data" in output:
        for mime in WIDGET_MIMETYPES:
            output["data"].pop(mime, None)
    return output


def executed_notebook(source, outputs: list[list], *, language_info: dict | None = None):
    """The executed version of ``source``: its cells, with ``outputs[i]`` for the i-th code cell.

    ``source`` is the notebook as read (nbformat 4); it is not modified. Code cells get
    execution counts 1, 2, ... (as a fresh kernel running them in order gives them), the
    ``execute_result`` outputs the same count, and the notebook the kernel's ``language_info``.
    Cell sources and metadata and the kernelspec are kept, so jupyter-cache's hash of the result
    equals that of the source. Widget MIME types and widget state are dropped.
    """
    import nbformat

    if not isinstance(source, nbformat.NotebookNode) or "cells" not in source:
        raise TypeError(f"source must be a notebook (nbformat.NotebookNode), got "
                        f"{type(source).__name__}")
    code = [c for c in source.cells if c.cell_type == "code"]
    if not isinstance(outputs, (list, tuple)) or len(outputs) != len(code):
        raise ValueError(f"outputs must hold one list per code cell ({len(code)}), got "
                         f"{len(outputs) if isinstance(outputs, (list, tuple)) else outputs!r}")
    if language_info is not None and not isinstance(language_info, dict):
        raise TypeError(f"language_info must be a dict or None, got {type(language_info).__name__}")
    nb = copy.deepcopy(source)
    nb.metadata.pop("widgets", None)
    if language_info:
        nb.metadata["language_info"] = copy.deepcopy(language_info)
    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell_outputs = [nbformat.from_dict(_drop_widgets(copy.deepcopy(dict(o))))
                        for o in outputs[count]]
        count += 1
        for out in cell_outputs:
            if out.get("output_type") == "execute_result":
                out["execution_count"] = count
        cell.outputs = [o for o in cell_outputs
                        if o.get("output_type") not in ("display_data", "execute_result")
                        or o.get("data")]
        cell.execution_count = count
    nbformat.validate(nb)
    return nb


def _staged_name(path: Path, root: Path) -> str:
    try:
        rel = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        rel = path.resolve().as_posix().lstrip("/")
    return rel.replace("/", "__") + ".executed.json"


def stage_notebook(nb, path: str | os.PathLike, staging: str | os.PathLike, *,
                   seconds: float | None = None, root: str | os.PathLike | None = None) -> Path:
    """Write the executed notebook of the source ``path`` into the folder ``staging``.

    One file per source notebook (a later run replaces it), written atomically. Returns its path.
    """
    import nbformat

    path, staging = Path(path), Path(staging)
    root = Path(root) if root is not None else ROOT
    staging.mkdir(parents=True, exist_ok=True)
    target = staging / _staged_name(path, root)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    record = {"uri": str(path.resolve()), "seconds": seconds, "notebook": json.loads(nbformat.writes(nb))}
    tmp.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    tmp.replace(target)
    return target


def import_staged(staging: str | os.PathLike, cache: str | os.PathLike) -> list[tuple[str, int]]:
    """File every notebook staged in ``staging`` into the jupyter-cache at ``cache``; remove the folder.

    Call from one process only (the cache is an sqlite database). Replaces a cached notebook
    with the same hash. Returns ``(source path, cache record id)`` pairs.
    """
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    staging = Path(staging)
    if not staging.is_dir():
        return []
    jc = get_cache(str(cache))
    done = []
    for staged in sorted(staging.glob("*.executed.json")):
        record = json.loads(staged.read_text(encoding="utf-8"))
        nb = nbformat.from_dict(record["notebook"])
        data = {"executed_by": "nbval"}
        if record.get("seconds") is not None:
            data["execution_seconds"] = record["seconds"]
        entry = jc.cache_notebook_bundle(CacheBundleIn(nb, record["uri"], data=data),
                                         check_validity=True, overwrite=True)
        done.append((record["uri"], entry.pk))
        staged.unlink()
    if not any(staging.iterdir()):
        staging.rmdir()
    return done


def prepare(build: str | os.PathLike, root: str | os.PathLike | None = None) -> str:
    """Make ``build`` (the book's build folder) belong to the current build key; return the key.

    When the folder exists and was made under another key (or none), remove it: the execution
    cache, the ledger records and the pages go together, since Sphinx re-reads only the
    notebooks whose file changed. Then write the key into ``build/.key``.
    """
    build = Path(build)
    key, parts = build_key(root), key_parts(root)
    key_file = build / KEY_FILE
    old = None
    if key_file.is_file():
        try:
            old = json.loads(key_file.read_text())
        except ValueError:
            old = None
    if build.exists() and (not isinstance(old, dict) or old.get("key") != key):
        if isinstance(old, dict):
            changed = [name for name in parts if old.get(name) != parts[name]]
            what = ", ".join({"theory": "theory/**/*.py", "pins": " and ".join(PIN_FILES),
                              "scale": "THEORY_SCALE"}[n] for n in changed) or "the key's recipe"
            print(f"build key {old.get('key')} -> {key} ({what} changed): removing {build} "
                  f"(execution cache, ledger, pages)", file=sys.stderr)
        else:
            print(f"{build} has no build key: removing it", file=sys.stderr)
        shutil.rmtree(build)
    build.mkdir(parents=True, exist_ok=True)
    key_file.write_text(json.dumps({"key": key, **parts}) + "\n")
    return key


def _main(argv: list[str]) -> int:
    usage = "usage: python -m theory.core._cache key | prepare BUILD_DIR | import STAGING CACHE"
    if argv[:1] == ["key"] and len(argv) == 1:
        print(build_key())
    elif argv[:1] == ["prepare"] and len(argv) == 2:
        print(prepare(argv[1]))
    elif argv[:1] == ["import"] and len(argv) == 3:
        for uri, pk in import_staged(argv[1], argv[2]):
            print(f"cached {uri} (ID={pk})")
    else:
        print(usage, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
