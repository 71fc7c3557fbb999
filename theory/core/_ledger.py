"""The reproduction ledger: a notebook states a claim of a paper and checks it in one call.

    ledger = Ledger("rich_lazy", "dynamics", paper="Kunin et al. 2024")
    ledger.claim("rich_lazy.gd_matches_flow", source="Sec. 3",
                 statement="gradient descent follows the exact flow to O(dt)",
                 measured=err, at_most=2e-3, section="Checks")

Each claim is compared (``close_to`` with ``atol``/``rtol``, ``at_least``, ``at_most``, ``sign``
or a sympy ``identity`` that must simplify to zero), written as one JSON line to
``<ledger dir>/<chapter>__<notebook>.jsonl`` and, where the active scale is one at which the
claim is expected to hold, raises :class:`ClaimFailed` (an ``AssertionError``) when it does not.
A claim declared ``needs="paper"`` is recorded, not asserted, at the laptop scale. Creating a
``Ledger`` for a notebook replaces that notebook's records. The book's "Reproduction ledger"
page is generated from these files at build time (:mod:`theory.core.ledger_sphinx`).

Every record carries the build key (:func:`theory.core._cache.build_key`: the package's code,
the pins and the scale), which is what the execution cache is keyed on; the page calls a record
stale when its key is not the build's. The commit is recorded as information only.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from theory.core._scale import SCALES, get_scale

__all__ = ["ClaimFailed", "Identity", "Ledger", "ORIGINS", "Record", "current_commit", "identity_holds",
           "ledger_dir", "read_records"]

VERDICTS = ("holds", "needs paper scale", "does not hold")
# Whose result a claim is: the paper's (its text is known and ``source`` cites the equation,
# section, figure or theorem), the official code's (the paper's text for it is not available but
# the authors' released code shows it), or the book's reconstruction (derived or designed here).
ORIGINS = ("paper", "official code", "reconstruction")
ORIGIN_LABELS = {"paper": "the paper's", "official code": "the official code's",
                 "reconstruction": "the book's reconstruction"}
# A claim of origin "paper" must point into the paper: one of these words in its source.
_LOCATOR = re.compile(r"§|\b(Eqs?\.|Sec(s|tion)?\.?|Subsec\.|Figs?\.|Fig(ure)?|Theorems?|Thm\.|"
                      r"Lemma|Prop(osition)?\.?|Cor(ollary)?\.?|App(endix)?\.?|Table|Tab\.|"
                      r"Assumption|[Aa]bstract|footnote|Introduction)", re.U)
ROOT = Path(__file__).resolve().parents[2]


class ClaimFailed(AssertionError):
    """A claim did not hold at a scale where the chapter says it should."""


def ledger_dir() -> Path:
    """Where records live: ``THEORY_LEDGER_DIR``, else ``_build/ledger`` at the project root."""
    return Path(os.environ.get("THEORY_LEDGER_DIR") or ROOT / "_build" / "ledger")


def current_commit() -> str:
    """``git rev-parse HEAD`` of the project (``+dirty`` with uncommitted changes), or ``unknown``."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


@dataclass(frozen=True)
class Record:
    """One checked claim, as written to the ledger."""

    id: str
    chapter: str
    notebook: str
    paper: str
    source: str
    statement: str
    section: str
    paper_value: str
    measured: str
    comparison: str
    verdict: str
    scale: str
    needs: str
    commit: str
    time: float
    key: str = ""  # the build key the notebook ran under (empty in records older than the key)
    origin: str = ""  # one of ORIGINS (empty in records older than the field)
    failure: str = ""  # the chapter's account of a claim it records as not holding (``known_failure``)


def _finite_array(value, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number or array of them, got "
                        f"{type(value).__name__}") from None
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf): a claim measured or compared "
                         f"against a non-finite value cannot hold")
    return arr


def _tolerance(value, name: str) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite non-negative number, got {value}")
    return value


def _fmt(x) -> str:
    x = float(np.asarray(x, dtype=float).reshape(-1)[0]) if np.size(x) == 1 else float(x)
    if x == 0 or 1e-3 <= abs(x) < 1e4:
        return f"{x:.4g}"
    return f"{x:.3e}"


def identity_holds(expr) -> bool:
    """True when a sympy expression, or every entry of a sympy matrix, simplifies to zero."""
    import sympy as sp

    items = list(expr) if isinstance(expr, sp.MatrixBase) else [expr]
    return all(sp.simplify(sp.expand(e)) == 0 for e in items)


@dataclass
class Identity:
    """A derived statement and the residual(s) that must simplify to zero (a sympy expression or
    matrix): what a chapter's ``derivation`` returns for ``ledger.claim(..., identity=...)``."""

    name: str
    statement: str
    residual: object
    extra: dict = field(default_factory=dict)

    def holds(self) -> bool:
        return identity_holds(self.residual)


class Ledger:
    """The claims of one notebook. Creating it clears that notebook's earlier records."""

    def __init__(self, chapter: str, notebook: str, *, paper: str):
        for name, value in (("chapter", chapter), ("notebook", notebook), ("paper", paper)):
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{name} must be a non-empty string")
            if name != "paper" and not all(c.isalnum() or c in "_-" for c in value):
                raise ValueError(f"{name} may hold only letters, digits, '_' and '-', got {value!r}")
        self.chapter, self.notebook, self.paper = chapter, notebook, paper
        self.path = ledger_dir() / f"{chapter}__{notebook}.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("")
        self.records: list[Record] = []
        from theory.core._cache import build_key  # here: `python -m theory.core._cache` stays clean

        self._commit = current_commit()
        self._key = build_key()

    def claim(self, id: str, *, source: str, statement: str, origin: str, measured=None,
              section: str = "",
              paper_value=None, needs: str = "laptop", close_to=None, atol=None, rtol=None,
              at_least=None, at_most=None, sign=None, identity=None,
              known_failure: str | None = None) -> Record:
        """Check one claim, record it, and raise :class:`ClaimFailed` if it fails where it should hold.

        Exactly one kind of comparison: ``close_to`` (with ``atol`` and/or ``rtol``),
        ``at_least`` and/or ``at_most`` (a bound or an interval), ``sign`` (+1 or −1: every
        measured value has it), or ``identity`` (a sympy expression or matrix that must simplify
        to zero; ``measured`` is then omitted). Array measurements are compared elementwise
        and summarised by their worst element.

        ``origin`` says whose result it is (one of :data:`ORIGINS`): ``"paper"`` when the paper's
        text states it (``source`` must then cite an equation, section, figure, theorem, appendix
        or the abstract), ``"official code"`` when only the authors' released code shows it, and
        ``"reconstruction"`` for the book's own derivation or experiment.

        ``known_failure`` (a sentence: what fails and what the chapter makes of it) records a
        claim the chapter has found not to hold where it should — typically a paper-scale claim
        checked on stored paper-scale results: the verdict "does not hold" is recorded with the
        sentence and nothing is raised. The check stays live in both directions: if the
        comparison passes, :class:`ClaimFailed` is raised (the page's account is then out of
        date). At a scale where the claim is not expected to hold it changes nothing.
        """
        if not isinstance(id, str) or not id.strip():
            raise ValueError("id must be a non-empty string")
        if any(r.id == id for r in self.records):
            raise ValueError(f"duplicate claim id {id!r} in {self.chapter}/{self.notebook}")
        for name, value in (("source", source), ("statement", statement)):
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{name} must be a non-empty string (where in the paper; what it says)")
        if not isinstance(origin, str) or origin not in ORIGINS:
            raise ValueError(f"origin must be one of {ORIGINS}, got {origin!r}")
        if origin == "paper" and not _LOCATOR.search(source):
            raise ValueError(f"source of a claim with origin='paper' must cite where in the paper "
                             f"(Eq., Sec., Fig., Theorem, App., abstract ...), got {source!r}")
        if needs not in SCALES:
            raise ValueError(f"needs must be one of {SCALES}, got {needs!r}")
        if known_failure is not None and (not isinstance(known_failure, str) or not known_failure.strip()):
            raise ValueError("known_failure must be a non-empty sentence (what fails, and what the chapter "
                             f"makes of it) or None, got {known_failure!r}")
        kinds = [k for k, v in (("close_to", close_to), ("bounds", at_least if at_least is not None
                                                           else at_most), ("sign", sign),
                                ("identity", identity)) if v is not None]
        if len(kinds) != 1:
            raise ValueError("give exactly one comparison: close_to=, at_least=/at_most=, sign= "
                             f"or identity= (got {kinds or 'none'})")
        kind = kinds[0]

        if kind == "identity":
            if measured is not None:
                raise ValueError("an identity claim takes no measured value")
            ok = identity_holds(identity)
            shown, comparison = ("0" if ok else "≠ 0"), "sympy residual simplifies to 0"
        else:
            if measured is None:
                raise ValueError("measured must be given for this comparison")
            m = _finite_array(measured, "measured")
            if kind == "close_to":
                target = _finite_array(close_to, "close_to")
                a, r = _tolerance(atol, "atol"), _tolerance(rtol, "rtol")
                if atol is None and rtol is None:
                    raise ValueError("close_to needs atol= or rtol=")
                dev = np.abs(m - target) - (a + r * np.abs(target))
                ok = bool(np.all(dev <= 0))
                worst = np.unravel_index(np.argmax(dev), dev.shape) if dev.ndim else ()
                shown = _fmt(np.broadcast_to(m, dev.shape)[worst])
                tol = " + ".join(s for s in ((f"{_fmt(a)}" if atol is not None else ""),
                                             (f"{_fmt(r)}·|target|" if rtol is not None else "")) if s)
                comparison = f"|ours − {_fmt(np.broadcast_to(target, dev.shape)[worst])}| ≤ {tol}"
            elif kind == "bounds":
                lo = None if at_least is None else float(_finite_array(at_least, "at_least"))
                hi = None if at_most is None else float(_finite_array(at_most, "at_most"))
                if lo is not None and hi is not None and lo > hi:
                    raise ValueError(f"at_least={lo} exceeds at_most={hi}")
                ok = bool((lo is None or np.all(m >= lo)) and (hi is None or np.all(m <= hi)))
                if m.size == 1:
                    shown = _fmt(m)
                elif lo is None:
                    shown = f"max {_fmt(m.max())}"
                elif hi is None:
                    shown = f"min {_fmt(m.min())}"
                else:
                    shown = f"{_fmt(m.min())} … {_fmt(m.max())}"
                comparison = " and ".join(s for s in ((f"≥ {_fmt(lo)}" if lo is not None else ""),
                                                      (f"≤ {_fmt(hi)}" if hi is not None else "")) if s)
            else:
                if sign not in (1, -1):
                    raise ValueError(f"sign must be +1 or -1, got {sign!r}")
                ok = bool(np.all(np.sign(m) == sign))
                shown = f"{_fmt(m.min())} … {_fmt(m.max())}" if m.size > 1 else _fmt(m)
                comparison = "> 0" if sign == 1 else "< 0"

        scale = get_scale()
        expected = needs == "laptop" or scale == "paper"
        verdict = "holds" if ok else ("does not hold" if expected else "needs paper scale")
        record = Record(id=id, chapter=self.chapter, notebook=self.notebook, paper=self.paper,
                        source=source, statement=statement, section=section,
                        paper_value="" if paper_value is None else str(paper_value),
                        measured=shown, comparison=comparison, verdict=verdict, scale=scale,
                        needs=needs, commit=self._commit, time=time.time(), key=self._key,
                        origin=origin, failure=known_failure if verdict == "does not hold" and known_failure else "")
        self.records.append(record)
        with self.path.open("a") as fh:
            fh.write(json.dumps(asdict(record), ensure_ascii=False) + "\n")
        if known_failure and expected and ok:
            raise ClaimFailed(f"{id}: {statement} — measured {shown}, {comparison}: it holds, but the page "
                              f"records it as a known failure ({known_failure!r}); remove known_failure "
                              f"and update the page (scale={scale})")
        if verdict == "does not hold" and not known_failure:
            raise ClaimFailed(f"{id}: {statement} — measured {shown}, required {comparison} "
                              f"({source}, scale={scale})")
        return record

    def summary(self) -> str:
        held = sum(r.verdict == "holds" for r in self.records)
        known = sum(bool(r.failure) for r in self.records)
        return (f"{self.chapter}/{self.notebook}: {len(self.records)} claims, {held} hold"
                + (f", {known} recorded as not holding (known failures)" if known else ""))


def read_records(directory: Path | None = None) -> list[Record]:
    """All records under the ledger directory, in file then line order."""
    if directory is not None and not isinstance(directory, (str, os.PathLike)):
        raise TypeError(f"directory must be a str or Path or None, got {type(directory).__name__}")
    directory = Path(directory) if directory is not None else ledger_dir()
    records = []
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            if line.strip():
                records.append(Record(**json.loads(line)))
    return records
