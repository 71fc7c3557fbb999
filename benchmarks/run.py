"""Time every notebook of the book and the chapters' own benchmarks: `make bench`.

Each notebook listed in _toc.yml runs top to bottom in a fresh kernel (nbclient), in its own
folder, as the book build runs it (``THEORY_BUILD=1`` unless set). Reported: wall time and the
peak resident memory of the kernel's process tree (sampled every 50 ms), against the budget of
3 minutes a notebook.
Then each chapter's bench module (benchmarks/bench_<chapter>.py, if present) is imported and
its `run()` called; a returned list of (name, value) rows is printed as a table.

Exit status 1 if a notebook fails or runs over budget.

    python benchmarks/run.py [--budget SECONDS] [NAME_SUBSTRING ...]
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
import time
import traceback
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from sphinx_external_toc.parsing import parse_toc_yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
from _timing import PeakSampler, rss_of_children  # noqa: E402
BUDGET_S = 180.0
# One module per chapter; each exposes run() -> list[tuple[str, str]] | None.
CHAPTER_BENCHES = ["bench_rich_lazy", "bench_stochastic_collapse_sde", "bench_stochastic_collapse",
                    "bench_transformer_signal", "bench_icl_regression", "bench_rich_lazy_phase",
                    "bench_rich_lazy_deep", "bench_semdedup", "bench_quasi_homogeneous",
                    "bench_lottery", "bench_class_manifolds", "bench_helm", "bench_embodied"]


def toc_notebooks() -> list[Path]:
    docs = (ROOT / f"{name}.ipynb" for name in parse_toc_yaml(ROOT / "_toc.yml"))
    return [p for p in docs if p.is_file()]


def run_notebook(path: Path, timeout_s: float) -> tuple[float, float, str | None]:
    """Execute one notebook in a fresh kernel: (seconds, peak MiB, error or None)."""
    nb = nbformat.read(path, as_version=4)
    cwd = {"metadata": {"path": str(path.parent)}}  # run in the notebook's folder, as the build
    client = NotebookClient(nb, timeout=timeout_s, kernel_name="python3", resources=cwd)
    error = None
    with PeakSampler(rss_of_children, interval=0.05) as mem:
        start = time.perf_counter()
        try:
            client.execute()
        except Exception as exc:  # a failing cell: report it, go on with the others
            message = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # drop ANSI colours
            lines = [line for line in message.splitlines() if line.strip()]
            error = lines[-1].strip() if lines else type(exc).__name__
        seconds = time.perf_counter() - start
    return seconds, mem.peak["children"] / 2**20, error


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]
    return "\n".join(lines)


def run_chapter_benches() -> bool:
    """Import and run each chapter's bench module that exists; False if one raised."""
    ok = True
    for name in CHAPTER_BENCHES:
        if not (Path(__file__).parent / f"{name}.py").is_file():
            continue
        print(f"\n## {name}\n", flush=True)
        try:
            rows = importlib.import_module(name).run()
        except Exception:
            traceback.print_exc()
            ok = False
            continue
        if rows:
            print(markdown_table(["benchmark", "result"], [list(r) for r in rows]))
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=BUDGET_S, help="seconds per notebook")
    parser.add_argument("only", nargs="*", help="only notebooks whose path contains one of these")
    args = parser.parse_args(argv)
    os.environ.setdefault("THEORY_THREADS", "1")  # inherited by each kernel
    os.environ.setdefault("THEORY_BUILD", "1")  # as the book build runs them (text progress bars)

    notebooks = [p for p in toc_notebooks() if not args.only or any(s in str(p) for s in args.only)]
    rows, ok = [], True
    print(f"# Notebooks (THEORY_SCALE={os.environ.get('THEORY_SCALE', 'laptop')}, "
          f"THEORY_THREADS={os.environ['THEORY_THREADS']})\n", flush=True)  # fmt: skip
    for path in notebooks:
        seconds, peak_mib, error = run_notebook(path, timeout_s=max(args.budget, 300))
        within = error is None and seconds <= args.budget
        ok &= within
        verdict = "yes" if within else ("no" if error is None else f"no ({error})")
        name = path.relative_to(ROOT).as_posix()
        rows.append([name, f"{seconds:.1f}", f"{peak_mib:.0f}", verdict])
        print(f"  {name}: {seconds:.1f} s", file=sys.stderr, flush=True)
    print(markdown_table(["notebook", "seconds", "peak MiB", f"within {args.budget:.0f} s"], rows))
    ok &= run_chapter_benches()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
