"""``python -m theory.helm``: the evaluation as a tool — run a grid, resume it, print its table.

    python -m theory.helm run [--grid book|smoke] [--models NAME ...] [--scenarios NAME ...]
                              [--store DIR] [--out DIR] [--format md|csv] [--limit N]
                              [--batch-size B] [--no-progress]
    python -m theory.helm table [--store DIR] [--out DIR] [--format md|csv]
    python -m theory.helm list [--grid book|smoke]
    python -m theory.helm merge SOURCE [--store DIR]

``run`` evaluates every (model, scenario, adaptation) of the grid (``book``: every default model
on every core scenario under its default adaptation plus the book's extra adaptations,
:func:`theory.helm.evaluate.book_grid`; ``smoke``: the cheap models on 20 test instances of each
scenario), narrowed by ``--models`` / ``--scenarios`` (names as ``list`` prints them; a unique
prefix is enough). Each request's prediction is appended to the store (``--store``, default
:func:`theory.helm.store.default_store`; JSON Lines, one file per model × scenario × adaptation,
keyed by the request's content) before the next batch starts, so an interrupted run resumes
where it stopped and never redoes or duplicates a finished request; a corrupt or truncated line
is reported and its request recomputed. When every run is complete the summary is written to
``--out`` (default: the store folder): ``summary.jsonl`` (one line per run: model, scenario,
adaptation, its metrics; one per unsupported pair with ``"supported": false``) and
``summary.md`` (or ``summary.csv``), both written to a temporary file and renamed.
``--limit N`` stops after N new requests (an interruption on purpose; no summary is written).
Output: the progress bar and one final line. Exit status: 0 done, 2 bad input (one line on
stderr), 130 interrupted, 1 an unexpected error (``--debug`` shows its traceback).

``table`` prints the summary table of a finished run (models × (scenario, metric)). ``merge``
copies into the store every prediction of another store folder that it lacks (keys are content
keys, so a request answered elsewhere is the same request).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["GRIDS", "InputError", "final_counts", "main", "read_summary", "select", "summary_frame",
           "write_summary"]

SUMMARY_JSONL = "summary.jsonl"


class InputError(ValueError):
    """A bad argument: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        raise InputError(f"{message} (see python -m theory.helm --help)")


def _book():
    from theory.helm.evaluate import book_grid

    return book_grid()


def _smoke():
    from theory.helm.evaluate import smoke_grid

    return smoke_grid()


#: The named grids: name → a function returning (model, scenario, adaptation) triples.
GRIDS = {"book": _book, "smoke": _smoke}


def _positive(name):
    def parse(text):
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {text!r}") from None
        if v < 1:
            raise argparse.ArgumentTypeError(f"{name} must be at least 1, got {v}")
        return v
    return parse


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m theory.helm", description="A holistic evaluation (HELM, Liang et "
                "al. 2022) in miniature: models × scenarios × metrics, resumable.")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    r = sub.add_parser("run", help="evaluate a grid into the store and write its summary")
    t = sub.add_parser("table", help="print the summary table of a finished run")
    ls = sub.add_parser("list", help="list the grid's models, scenarios and adaptations")
    mg = sub.add_parser("merge", help="copy another store's predictions that this store lacks")
    mg.add_argument("source", help="the other store folder")
    mg.add_argument("--store", help="the store folder (default: $THEORY_HELM_STORE or "
                    "<repository>/_build/helm)")
    for q in (r, ls):
        q.add_argument("--grid", choices=sorted(GRIDS), default="book",
                       help="the grid: book (the pages' grid; default) or smoke (cheap models, 20 "
                       "instances per scenario)")
        q.add_argument("--models", nargs="+", metavar="NAME", help="only these models")
        q.add_argument("--scenarios", nargs="+", metavar="NAME", help="only these scenarios")
    for q in (r, t):
        q.add_argument("--store", help="the store folder (default: $THEORY_HELM_STORE or "
                       "<repository>/_build/helm)")
        q.add_argument("--out", help="where the summary goes (default: the store folder)")
        q.add_argument("--format", choices=("md", "csv"), default="md",
                       help="the summary table's format (default md)")
    r.add_argument("--limit", type=_positive("--limit"), help="stop after N new requests")
    r.add_argument("--batch-size", type=_positive("--batch-size"),
                   help="requests per model call (default: the model's own)")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    for q in (p, r, t, ls, mg):
        q.add_argument("--debug", action="store_true", help=argparse.SUPPRESS if q is not p else
                       "show the traceback of an unexpected error")
    return p


def _match(names: list[str], wanted: list[str], kind: str) -> list[str]:
    """Each wanted name: an exact (case-insensitive) match or a unique prefix of one."""
    out = []
    for w in wanted:
        exact = [n for n in names if n.lower() == w.lower()]
        hits = exact or [n for n in names if n.lower().startswith(w.lower())]
        if len(hits) != 1:
            why = "is ambiguous" if hits else "is unknown"
            raise InputError(f"{kind} {w!r} {why}; available: {', '.join(names)}")
        out.append(hits[0])
    return out


def select(grid, models=None, scenarios=None):
    """The triples of ``grid`` whose model and scenario are among the names given (None: all);
    unknown names and an empty selection raise :class:`InputError`."""
    from theory.helm._checks import sequence, str_list
    from theory.helm.schema import Adaptation, Model, Scenario

    grid = sequence(grid, "grid")
    for item in grid:
        if not (isinstance(item, tuple) and len(item) == 3 and isinstance(item[0], Model)
                and isinstance(item[1], Scenario) and isinstance(item[2], Adaptation)):
            raise TypeError("grid must hold (Model, Scenario, Adaptation) triples")
    if models is not None:
        models = str_list(models, "models", nonempty=False)
    if scenarios is not None:
        scenarios = str_list(scenarios, "scenarios", nonempty=False)
    m_names = list(dict.fromkeys(m.name for m, _, _ in grid))
    s_names = list(dict.fromkeys(s.name for _, s, _ in grid))
    keep_m = set(_match(m_names, models, "model")) if models else set(m_names)
    keep_s = set(_match(s_names, scenarios, "scenario")) if scenarios else set(s_names)
    out = [(m, s, a) for m, s, a in grid if m.name in keep_m and s.name in keep_s]
    if not out:
        raise InputError("the selection is empty: no (model, scenario) of the grid matches "
                         f"--models {' '.join(models or [])} --scenarios {' '.join(scenarios or [])}")
    return out


def final_counts(output: str) -> tuple[int, int]:
    """``(requests computed, requests from the store)`` read from the final line ``run`` prints."""
    import re

    if not isinstance(output, str):
        raise TypeError(f"output must be a str, got {type(output).__name__}")
    found = re.findall(r"(\d+) requests computed, (\d+) from the store", output)
    if not found:
        raise ValueError("output holds no final line of `python -m theory.helm run`")
    return int(found[-1][0]), int(found[-1][1])


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "item"):
        return _clean(v.item())
    return v


def write_summary(evaluation, out, fmt: str = "md") -> list[Path]:
    """Write ``summary.jsonl`` and ``summary.md`` (or ``.csv``) of a complete evaluation into
    ``out``; returns the paths."""
    from theory.helm._checks import path
    from theory.helm.evaluate import Evaluation

    if not isinstance(evaluation, Evaluation):
        raise TypeError(f"evaluation must be an Evaluation, got {type(evaluation).__name__}")
    if fmt not in ("md", "csv"):
        raise ValueError(f"fmt must be 'md' or 'csv', got {fmt!r}")
    out = path(out, "out")
    lines = []
    for (m, s, a), run in evaluation.runs.items():
        metrics = {k: _clean(v) for k, v in evaluation.summary(m, s, a).items()
                   if isinstance(_clean(v), (int, float, type(None))) and not isinstance(v, bool)}
        lines.append({"model": m, "scenario": s, "adaptation": a, "default": run.is_default,
                      "supported": True, "n_test": len(run.scenario.test), "metrics": metrics})
    for m, s, a in evaluation.skipped:
        lines.append({"model": m, "scenario": s, "adaptation": a, "supported": False})
    jsonl = out / SUMMARY_JSONL
    _atomic_write(jsonl, "".join(json.dumps(x) + "\n" for x in lines))
    frame = summary_frame(lines)
    table = out / f"summary.{fmt}"
    _atomic_write(table, _format(frame, fmt))
    return [jsonl, table]


def read_summary(folder) -> list[dict]:
    """The lines of ``folder/summary.jsonl``."""
    from theory.helm._checks import path as _path

    path = _path(folder, "folder") / SUMMARY_JSONL
    if not path.is_file():
        raise InputError(f"{path} does not exist: run `python -m theory.helm run` with this "
                         "store/out folder first")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                raise InputError(f"{path}, line {n}: not JSON (rerun `python -m theory.helm run`)") from None
    return out


def summary_frame(lines: list[dict]):
    """The models × (scenario, metric) table of summary lines (default adaptations as rows
    ``model``, the others as ``model [adaptation]``)."""
    import pandas as pd

    from theory.helm._checks import sequence

    lines = sequence(lines, "lines")
    for n, x in enumerate(lines):
        if not isinstance(x, dict):
            raise TypeError(f"lines[{n}] must be a dict (a line of summary.jsonl), got {type(x).__name__}")
        need = ("model",) if not x.get("supported", True) else ("model", "scenario", "metrics")
        missing = [k for k in need if k not in x]
        if missing or ("metrics" in x and not isinstance(x["metrics"], dict)):
            raise ValueError(f"lines[{n}] lacks {missing or ['metrics (a dict)']} (a line of summary.jsonl)")
    rows = {}
    for x in lines:
        if not x.get("supported", True):
            continue
        row = x["model"] if x.get("default", True) else f"{x['model']} [{x['adaptation']}]"
        for k, v in x["metrics"].items():
            rows.setdefault(row, {})[(x["scenario"], k)] = v
    frame = pd.DataFrame.from_dict(rows, orient="index")
    if len(frame.columns):
        frame.columns = pd.MultiIndex.from_tuples(frame.columns, names=["scenario", "metric"])
    frame.index.name = "model"
    return frame


def _format(frame, fmt: str) -> str:
    if fmt == "csv":
        flat = frame.copy()
        flat.columns = [f"{s}/{m}" for s, m in flat.columns]
        return flat.to_csv(float_format="%.6g")
    cols = [f"{s} / {m}" for s, m in frame.columns]
    head = "| model | " + " | ".join(cols) + " |"
    rule = "|---|" + "---:|" * len(cols)
    body = []
    for name, row in frame.iterrows():
        cells = ["" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4g}" for v in row]
        body.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join([head, rule] + body) + "\n"


def _run(args) -> int:
    from theory.core import set_threads
    from theory.helm.evaluate import evaluate_grid
    from theory.helm.store import Store, default_store

    t0 = time.perf_counter()
    grid = select(GRIDS[args.grid](), args.models, args.scenarios)
    root = Path(args.store) if args.store else default_store()
    if root.exists() and not root.is_dir():
        raise InputError(f"--store {root} exists and is not a folder")
    set_threads(None)
    store = Store(root)
    ev = evaluate_grid(grid, store=store, progress=not args.no_progress, limit=args.limit,
                       batch_size=args.batch_size)
    done = (f"helm: {len(ev.runs)} runs ({len(ev.skipped)} unsupported pairs skipped), "
            f"{ev.n_computed} requests computed, {ev.n_stored} from the store")
    if store.problems:
        done += f", {len(store.problems)} corrupt store lines skipped and recomputed"
    if not ev.complete:
        left = sum(r.n_missing for r in ev.runs.values())
        print(f"{done}; stopped at --limit {args.limit} with {left} requests left (rerun to "
              f"finish) ({time.perf_counter() - t0:.1f} s)")
        return 0
    out = Path(args.out) if args.out else root
    paths = write_summary(ev, out, args.format)
    print(f"{done}; wrote {paths[0]} and {paths[1].name} ({time.perf_counter() - t0:.1f} s)")
    return 0


def _table(args) -> int:
    from theory.helm.store import default_store

    folder = Path(args.out) if args.out else (Path(args.store) if args.store else default_store())
    frame = summary_frame(read_summary(folder))
    print(_format(frame, args.format), end="")
    return 0


def _list(args) -> int:
    grid = select(GRIDS[args.grid](), args.models, args.scenarios)
    from theory.helm.evaluate import adaptation_label

    for m, s, a in grid:
        print(f"{m.name}\t{s.name}\t{adaptation_label(s, a)}\t"
              f"{'supported' if m.supports(s, a) else 'not supported'}")
    return 0


def _merge(args) -> int:
    from theory.helm.store import Store, default_store

    src = Path(args.source)
    if not src.is_dir():
        raise InputError(f"{src} is not a folder (give a store folder to merge from)")
    store = Store(Path(args.store) if args.store else default_store())
    try:
        n = store.merge(src)
    except ValueError as err:
        raise InputError(str(err)) from None
    print(f"helm: merged {n} predictions from {src} into {store.root}")
    return 0


def _main(argv) -> int:
    args = build_parser().parse_args(argv)
    if args.command is None:
        raise InputError("give a command: run, table, list or merge")
    return {"run": _run, "table": _table, "list": _list, "merge": _merge}[args.command](args)


def main(argv=None) -> int:
    """Entry point of ``python -m theory.helm``; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    try:
        return _main(argv)
    except InputError as err:
        print(f"theory.helm: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("theory.helm: interrupted; the finished requests are in the store (rerun to resume)",
              file=sys.stderr)
        return 130
    except Exception as err:
        if debug:
            raise
        print(f"theory.helm: error: {type(err).__name__}: {err} (run with --debug for the "
              "traceback)", file=sys.stderr)
        return 1
