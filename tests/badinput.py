"""The bad-input battery (issue 20): every public function driven with a table of invalid arguments.

A chapter's test module (``tests/test_bad_inputs_<chapter>.py``) lists its public functions as
:class:`Fn` entries: a cheap valid call and, for each argument, its *kind*. The battery derives
the invalid values of each kind (:func:`bad_values`), substitutes them one argument at a time
into the valid call, and expects a ``ValueError`` or ``TypeError`` whose message names the
argument. :func:`parametrize` turns a table into pytest cases; :func:`report` (``python
tests/badinput.py tests/test_bad_inputs_<chapter>.py``) classifies every case as

- *clear*: ``ValueError``/``TypeError`` naming the argument,
- *unclear*: another exception, or a message that does not name it,
- *silent*: the call returned,
- *hung*: the call ran past the time limit,

which is how the closing note's before/after counts are measured (run it with ``PYTHONPATH``
pointing at an older checkout for "before"). :func:`check_coverage` asserts that a table names
every public function of the chapter, or exempts it with a reason.

Kinds (suffix ``?``: ``None`` is legal and not tried):

======================  ===========================================================================
``real``                a finite real scalar
``positive``            ... > 0            ``non_negative``  ... >= 0        ``unit``  ... in [0, 1]
``int``                 an integer scalar  ``positive_int``  ... >= 1        ``non_negative_int`` >= 0
``seed``                a seed: int >= 0   ``seeds``  a sequence of seeds
``array``               a finite float array; invalid variants are derived from the valid value
                        (NaN, inf, empty, one more dimension, bools, complex, strings)
``positive_array``      ``array`` and a variant with a negative entry
``bool``                a flag: True or False
``choice``              one of a set of strings
``device``, ``dtype``   a torch device / float dtype
``callable``, ``str``   a function / a string
======================  ===========================================================================
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import signal
import sys
import warnings
from dataclasses import dataclass, field

import numpy as np

_NUMBER_BAD = [("None", None), ("str", "1"), ("bool", True), ("nan", float("nan")),
               ("inf", float("inf")), ("-inf", float("-inf")), ("complex", 1 + 1j),
               ("list", [1.0, 2.0])]
_INT_BAD = [("None", None), ("str", "3"), ("bool", True), ("float", 3.5), ("integral float", 3.0),
            ("nan", float("nan")), ("list", [1, 2])]

KINDS = {
    "real": _NUMBER_BAD,
    "positive": _NUMBER_BAD + [("zero", 0.0), ("negative", -1.0)],
    "non_negative": _NUMBER_BAD + [("negative", -1.0)],
    "unit": _NUMBER_BAD + [("below 0", -0.1), ("above 1", 1.1)],
    "int": _INT_BAD,
    "positive_int": _INT_BAD + [("zero", 0), ("negative", -1)],
    "non_negative_int": _INT_BAD + [("negative", -1)],
    "seed": _INT_BAD + [("negative", -1), ("2**64", 2**64)],
    "seeds": [("None", None), ("str", "3"), ("bool", True), ("float", 3.9), ("floats", [1.5, 2.0]),
              ("negative", [-1]), ("2-d", [[1, 2]])],
    "bool": [("None", None), ("str", "yes"), ("float", 1.5)],
    "choice": [("bogus", "__not_a_choice__"), ("None", None), ("int", 3)],
    "device": [("bogus", "gpu"), ("int", 3), ("tpu", "tpu")],
    "dtype": [("float16", "float16"), ("int32", "int32"), ("int", 3)],
    "callable": [("None", None), ("int", 3)],
    "str": [("None", None), ("int", 3)],
}
ARRAY_KINDS = ("array", "positive_array")


def _array_variants(valid):
    arr = np.array(valid, dtype=np.float64, copy=True)
    out = [("None", None), ("str", "abc"), ("strings", np.full(arr.shape or (1,), "a"))]
    if arr.size:
        nan = arr.copy().reshape(-1)
        nan[0] = np.nan
        inf = arr.copy().reshape(-1)
        inf[-1] = np.inf
        out += [("NaN entry", nan.reshape(arr.shape)), ("inf entry", inf.reshape(arr.shape))]
    if arr.ndim >= 1:
        out.append(("empty", np.empty((0,) + arr.shape[1:])))
    out += [("one more dimension", arr[None, ...] if arr.ndim else np.array([[float(arr)]])),
            ("bools", np.ones(arr.shape, dtype=bool)), ("complex", arr + 1j)]
    return out


def bad_values(kind: str, valid=None):
    """[(label, value)] of invalid values for one argument of ``kind`` whose valid value is ``valid``."""
    optional = kind.endswith("?")
    base = kind.rstrip("?")
    if base in ARRAY_KINDS:
        vals = _array_variants(valid)
        if base == "positive_array" and np.size(valid):
            neg = np.array(valid, dtype=np.float64, copy=True).reshape(-1)
            neg[0] = -abs(neg[0]) - 1.0
            vals.append(("negative entry", neg.reshape(np.shape(valid))))
    elif base in KINDS:
        vals = list(KINDS[base])
    else:
        raise ValueError(f"unknown kind {kind!r}; known: {sorted(KINDS) + list(ARRAY_KINDS)}")
    if optional:
        vals = [(lab, v) for lab, v in vals if v is not None]
    return vals


@dataclass
class Fn:
    """One public function: ``name`` in ``module``, a cheap valid call, the kinds of its arguments.

    ``valid``: keyword arguments of a valid call (a callable returning them when they must be
    fresh). ``args``: argument → kind. ``extra``: [(overrides, text)] cases beyond the kinds, each
    expected to raise ``ValueError``/``TypeError`` with ``text`` in the message (mismatched
    shapes, sizes too large for memory, divergent step sizes). ``names``: argument → the texts
    any one of which a message may use for it (default: the argument's own name). ``skip``:
    {(argument, label): reason} for derived values that are in fact legal here.
    """

    module: str
    name: str
    valid: object
    args: dict = field(default_factory=dict)
    extra: list = field(default_factory=list)
    names: dict = field(default_factory=dict)
    skip: dict = field(default_factory=dict)

    @property
    def qualname(self) -> str:
        return f"{self.module}.{self.name}"

    def resolve(self):
        return getattr(importlib.import_module(self.module), self.name)

    def valid_kwargs(self) -> dict:
        return dict(self.valid() if callable(self.valid) else self.valid)


@dataclass(frozen=True)
class Case:
    fn: Fn
    arg: str | None
    label: str
    overrides: dict
    expect: tuple

    @property
    def id(self) -> str:
        return f"{self.fn.name}-{self.arg or 'extra'}-{self.label}"


def cases(table) -> list[Case]:
    """Every case of a table: each argument × each invalid value of its kind, then the extras."""
    out = []
    for fn in table:
        kw = fn.valid_kwargs()
        for arg, kind in fn.args.items():
            if arg not in kw and kind.rstrip("?") in ARRAY_KINDS:
                raise ValueError(f"{fn.qualname}: array argument {arg!r} needs a valid value")
            names = fn.names.get(arg, (arg,))
            names = (names,) if isinstance(names, str) else tuple(names)
            for label, value in bad_values(kind, kw.get(arg)):
                if (arg, label) in fn.skip:
                    continue
                out.append(Case(fn, arg, label, {arg: value}, names))
        for i, (overrides, text) in enumerate(fn.extra):
            texts = (text,) if isinstance(text, str) else tuple(text)
            out.append(Case(fn, None, f"{i}:" + ",".join(overrides), dict(overrides), texts))
    return out


class _Hung(BaseException):
    pass


def _alarm(signum, frame):  # pragma: no cover - only when a case hangs
    raise _Hung()


def run_case(case: Case, *, timeout: float = 20.0) -> tuple[str, str]:
    """(outcome, detail): outcome is one of clear, unclear, silent, hung."""
    fn = case.fn.resolve()
    kw = case.fn.valid_kwargs()
    kw.update(case.overrides)
    old = signal.signal(signal.SIGALRM, _alarm) if hasattr(signal, "SIGALRM") else None
    if old is not None:
        signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn(**kw)
    except _Hung:
        return "hung", f"ran past {timeout:g} s"
    except (ValueError, TypeError) as exc:
        msg = str(exc)
        if any(t in msg for t in case.expect):
            return "clear", f"{type(exc).__name__}: {msg}"
        return "unclear", f"{type(exc).__name__} not naming {case.expect[0]!r}: {msg}"
    except Exception as exc:  # noqa: BLE001 - classified, not hidden
        return "unclear", f"{type(exc).__name__}: {exc}"
    finally:
        if old is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
    return "silent", "returned without an error"


def parametrize(table):
    """A pytest test function running every case of ``table`` (assign it to ``test_bad_input``)."""
    import pytest

    all_cases = cases(table)

    @pytest.mark.parametrize("case", all_cases, ids=[c.id for c in all_cases])
    def test_bad_input(case):
        outcome, detail = run_case(case)
        assert outcome == "clear", f"{case.fn.qualname}({case.arg}={case.label}): {outcome}: {detail}"

    return test_bad_input


def parametrize_valid(table):
    """A pytest test function checking that each table entry's valid call succeeds (no vacuous rows)."""
    import pytest

    @pytest.mark.parametrize("fn", table, ids=[f.name for f in table])
    def test_valid_call(fn):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn.resolve()(**fn.valid_kwargs())

    return test_valid_call


def public_functions(package: str) -> list[str]:
    """Qualified names of the public functions of ``package`` and its submodules.

    Public: listed in the module's ``__all__`` when it has one, else not starting with ``_``;
    defined in the package (not imported from elsewhere); a plain function (classes are results).
    """
    pkg = importlib.import_module(package)
    modules = [pkg] + [importlib.import_module(f"{package}.{m.name}")
                       for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_")]
    found = {}
    for mod in modules:
        names = getattr(mod, "__all__", None)
        if names is None:
            names = [n for n in vars(mod) if not n.startswith("_")]
        for n in names:
            obj = getattr(mod, n, None)
            if inspect.isfunction(obj) and obj.__module__.startswith(package):
                found.setdefault(f"{obj.__module__}.{obj.__name__}", None)
    return sorted(found)


def check_coverage(package: str, table, exempt: dict) -> list[str]:
    """The public functions of ``package`` neither in ``table`` nor in ``exempt`` (name → reason)."""
    covered = set()
    for fn in table:
        obj = fn.resolve()
        covered.add(f"{obj.__module__}.{obj.__name__}")
    for name, reason in exempt.items():
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError(f"exempt[{name!r}] needs a reason")
    return [q for q in public_functions(package)
            if q not in covered and q not in exempt and q.rsplit(".", 1)[-1] not in exempt]


def report(path: str) -> dict:
    """Run every case of the table in the test module at ``path``; print and return the counts."""
    spec = importlib.util.spec_from_file_location("_bad_inputs_table", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    counts = {"clear": 0, "unclear": 0, "silent": 0, "hung": 0, "absent": 0}
    details = []
    table = []
    for fn in mod.TABLE:
        try:
            fn.resolve()
            table.append(fn)
        except (AttributeError, ImportError):
            counts["absent"] += 1
    for case in cases(table):
        outcome, detail = run_case(case)
        counts[outcome] += 1
        if outcome != "clear":
            details.append(f"  {outcome:8s} {case.fn.qualname}({case.arg}={case.label}): {detail[:160]}")
    total = sum(v for k, v in counts.items() if k != "absent")
    print(f"{path}: {len(mod.TABLE)} functions ({counts['absent']} absent here), {total} cases: "
          f"{counts['clear']} clear, {counts['unclear']} unclear, {counts['silent']} silent, "
          f"{counts['hung']} hung")
    print("\n".join(details))
    return counts


if __name__ == "__main__":
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
    for p in sys.argv[1:]:
        report(p)
