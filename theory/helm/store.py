"""The evaluation's store: every request's prediction, one JSON line, keyed by its content.

HELM caches every model request by its content, so that a rerun asks a model only what it has not
answered yet; the book's miniature does the same on disk. A :class:`Store` is a folder of JSON
Lines files, one per (model, scenario, adaptation label); each line is one
:meth:`theory.helm.schema.Prediction.to_json` carrying its request ``key`` (a content key of the
model, its settings, the scenario, the perturbation and the instance's input:
:func:`theory.helm.evaluate.request_key`). The book's reconstruction.

- Append-only: :meth:`Store.put` appends a batch of lines with one ``write``, then ``flush`` and
  ``fsync``, holding an exclusive ``fcntl`` lock on the file, and writes only the keys the file
  does not hold yet (re-read under the lock), so two processes (two notebooks, or a notebook and
  ``python -m theory.helm run``) filling the same file never duplicate a request.
- Every line ends in a checksum of the rest (:meth:`Prediction.to_json` with ``checksum=True``).
  A line that does not parse (a run killed mid-write, a disk error), lacks a field or its
  checksum (a partial entry), holds a value of the wrong type or range (a NaN confidence), or no
  longer matches its checksum (altered after it was written) is skipped when the file is read and
  reported in :attr:`Store.problems` (and by a warning); its request is then missing, so the
  evaluation recomputes it and appends a good line: a corrupt entry is never used. A file whose last line lacks its newline
  gets one before the next append, so the truncated line never swallows a good one.
- :meth:`Store.computing` is a per-run compute lock: two processes evaluating the same run take
  turns instead of computing the same requests twice.
- The default location is :func:`default_store`: ``$THEORY_HELM_STORE``, else
  ``<repository>/_build/helm`` (the build removes ``_build`` when the package changes).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

from theory.helm.schema import Prediction

__all__ = ["STORE_ENV", "Store", "default_store", "file_name"]

#: The environment variable that moves the default store.
STORE_ENV = "THEORY_HELM_STORE"


def default_store() -> Path:
    """``$THEORY_HELM_STORE`` if set (and non-empty), else ``<repository root>/_build/helm``, the
    repository root being the folder that holds the ``theory`` package."""
    env = os.environ.get(STORE_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[2] / "_build" / "helm"


_UNSAFE = re.compile(r"[^A-Za-z0-9._=+-]+")


def file_name(model: str, scenario: str, adaptation: str) -> str:
    """The JSON Lines file of one (model, scenario, adaptation label): the three names made safe
    for a file name (anything outside ``[A-Za-z0-9._=+-]`` becomes ``-``), joined by ``__``."""
    for name, value in (("model", model), ("scenario", scenario), ("adaptation", adaptation)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return "__".join(_UNSAFE.sub("-", v.strip()) for v in (model, scenario, adaptation)) + ".jsonl"


class _FileIndex:
    """What one file holds: key → Prediction, the problems found, and the bytes read so far."""

    __slots__ = ("entries", "problems", "offset", "inode", "line_no")

    def __init__(self):
        self.entries: dict[str, Prediction] = {}
        self.problems: list[tuple[int, str]] = []
        self.offset = 0
        self.inode = None
        self.line_no = 0


class Store:
    """A folder of JSON Lines files of :class:`Prediction` (see the module docstring).

    ``Store(root)``: ``root`` a folder (created on the first write); ``None`` is
    :func:`default_store`. :meth:`get` looks keys up, :meth:`put` appends predictions;
    :attr:`problems` lists ``(file, line number, reason)`` of every line skipped as corrupt;
    :attr:`n_written` counts the lines this object appended.
    """

    def __init__(self, root: str | os.PathLike | None = None):
        if root is None:
            root = default_store()
        if not isinstance(root, (str, os.PathLike)):
            raise TypeError(f"root must be a path (str or os.PathLike) or None, got {type(root).__name__}")
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise ValueError(f"store root {self.root} exists and is not a folder")
        self._files: dict[Path, _FileIndex] = {}
        self._warned: set[tuple[Path, int]] = set()
        self.n_written = 0

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    # -- files ----------------------------------------------------------------------------
    def path(self, model: str, scenario: str, adaptation: str) -> Path:
        """The file that holds (model, scenario, adaptation label)."""
        return self.root / file_name(model, scenario, adaptation)

    def files(self) -> list[Path]:
        """The store's JSON Lines files (``<model>__<scenario>__<adaptation>.jsonl``; other files
        in the folder, such as a run's ``summary.jsonl``, are not the store's), sorted."""
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.glob("*__*__*.jsonl") if not p.name.startswith("."))

    @contextmanager
    def _locked(self, path: Path, exclusive: bool) -> Iterator[object]:
        """``path`` opened for appending and reading, under an fcntl lock (shared or exclusive)."""
        if exclusive:
            self.root.mkdir(parents=True, exist_ok=True)
        fh = open(path, "a+b" if exclusive else "rb")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield fh
        finally:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
            finally:
                fh.close()

    def _refresh(self, path: Path, fh=None) -> _FileIndex:
        """Read what was appended to ``path`` since the last read (everything if it was replaced)."""
        idx = self._files.get(path)
        if fh is None:
            if not path.exists():
                return self._files.setdefault(path, _FileIndex())
            with self._locked(path, exclusive=False) as locked:
                return self._refresh(path, locked)
        st = os.fstat(fh.fileno())
        if idx is None or idx.inode != (st.st_dev, st.st_ino) or st.st_size < idx.offset:
            idx = self._files[path] = _FileIndex()
            idx.inode = (st.st_dev, st.st_ino)
        if st.st_size == idx.offset:
            return idx
        fh.seek(idx.offset)
        data = fh.read(st.st_size - idx.offset)
        # Only complete lines are consumed; a trailing partial line is read again next time
        # (another process may be writing it) and reported if it is still partial at the end.
        end = data.rfind(b"\n") + 1
        for raw in data[:end].split(b"\n")[:-1]:
            idx.line_no += 1
            self._parse(path, idx, raw)
        idx.offset += end
        if end < len(data):
            self._report(path, idx.line_no + 1, "truncated line (no newline at the end of the file)",
                         record=False)
        return idx

    def _parse(self, path: Path, idx: _FileIndex, raw: bytes) -> None:
        if not raw.strip():
            return
        try:
            pred = Prediction.from_json(raw.decode("utf-8"), require_checksum=True)
            if not isinstance(pred.key, str) or not pred.key:
                raise ValueError("the line has no request key")
        except (ValueError, TypeError, UnicodeDecodeError, json.JSONDecodeError) as err:
            reason = f"{type(err).__name__}: {str(err)[:80]}"
            idx.problems.append((idx.line_no, reason))
            self._report(path, idx.line_no, reason)
            return
        idx.entries.setdefault(pred.key, pred)  # a repeated key: the first line wins

    def _report(self, path: Path, line_no: int, reason: str, record: bool = True) -> None:
        if (path, line_no) in self._warned:
            return
        self._warned.add((path, line_no))
        warnings.warn(f"helm store: skipped line {line_no} of {path.name} ({reason}); its request "
                      "will be recomputed", RuntimeWarning, stacklevel=4)

    @property
    def problems(self) -> list[tuple[str, int, str]]:
        """``(file name, line number, reason)`` of every corrupt line found so far (the files read
        by :meth:`get`/:meth:`put`/:meth:`load`), plus a truncated last line if present."""
        out = []
        for path, idx in sorted(self._files.items()):
            out += [(path.name, n, r) for n, r in idx.problems]
        for path, n in sorted(self._warned):
            idx = self._files.get(path)
            if idx is not None and n > idx.line_no:
                out.append((path.name, n, "truncated line"))
        return out

    @contextmanager
    def computing(self, model: str, scenario: str, adaptation: str) -> Iterator[None]:
        """Hold the compute lock of (model, scenario, adaptation label): an exclusive ``fcntl``
        lock on a hidden ``.<file>.lock`` beside its file, so that two processes evaluating the
        same run take turns (the second then finds the first's predictions stored). Reading and
        appending never wait on it."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / f".{file_name(model, scenario, adaptation)}.lock"
        with open(path, "a") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    # -- reading --------------------------------------------------------------------------
    def load(self, model: str, scenario: str, adaptation: str) -> dict[str, Prediction]:
        """Everything the file of (model, scenario, adaptation label) holds: key → Prediction."""
        return dict(self._refresh(self.path(model, scenario, adaptation)).entries)

    def get(self, keys: Iterable[str], *, model: str | None = None, scenario: str | None = None,
            adaptation: str | None = None) -> dict[str, Prediction]:
        """The stored predictions of ``keys`` (key → Prediction; keys not stored are absent).

        With ``model``, ``scenario`` and ``adaptation`` only that file is read; without them,
        every file of the store."""
        keys = list(keys)
        if not all(isinstance(k, str) for k in keys):
            raise TypeError("keys must be strings (request keys)")
        given = [x is not None for x in (model, scenario, adaptation)]
        if any(given) and not all(given):
            raise ValueError("give all of model, scenario and adaptation, or none")
        paths = [self.path(model, scenario, adaptation)] if all(given) else self.files()
        found: dict[str, Prediction] = {}
        for path in paths:
            entries = self._refresh(path).entries
            for k in keys:
                if k not in found and k in entries:
                    found[k] = entries[k]
        return found

    def __len__(self) -> int:
        return sum(len(self._refresh(p).entries) for p in self.files())

    # -- writing --------------------------------------------------------------------------
    def put(self, predictions: Sequence[Prediction]) -> int:
        """Append ``predictions`` (grouped into their files by model, scenario and adaptation);
        keys already stored are not written again. Returns the number of lines written.

        Each file's batch is one ``write`` under an exclusive lock, then flushed and fsynced."""
        predictions = list(predictions)
        groups: dict[Path, list[Prediction]] = {}
        for p in predictions:
            if not isinstance(p, Prediction):
                raise TypeError(f"predictions must be Prediction objects, got {type(p).__name__}")
            if not isinstance(p.key, str) or not p.key:
                raise ValueError(f"prediction of instance {p.instance_id!r} has no request key")
            groups.setdefault(self.path(p.model, p.scenario, p.adaptation), []).append(p)
        written = 0
        for path, preds in groups.items():
            with self._locked(path, exclusive=True) as fh:
                idx = self._refresh(path, fh)
                seen = set(idx.entries)
                lines = []
                for p in preds:
                    if p.key not in seen:
                        seen.add(p.key)
                        line = p.to_json(checksum=True)
                        try:    # what could not be read back is refused now, not recomputed forever
                            Prediction.from_json(line, require_checksum=True)
                        except (ValueError, TypeError) as err:
                            raise ValueError(f"prediction of instance {p.instance_id!r} cannot be "
                                             f"stored: {err}") from None
                        lines.append(line)
                if not lines:
                    continue
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                prefix = b""
                if size:
                    fh.seek(size - 1)
                    if fh.read(1) != b"\n":  # a truncated last line: close it off
                        prefix = b"\n"
                fh.seek(0, os.SEEK_END)
                fh.write(prefix + ("\n".join(lines) + "\n").encode("utf-8"))
                fh.flush()
                os.fsync(fh.fileno())
                self._refresh(path, fh)
                written += len(lines)
        self.n_written += written
        return written

    def merge(self, other: "Store | str | os.PathLike") -> int:
        """Append every prediction of ``other`` (a Store or a folder) whose key this store lacks;
        returns the lines written. Safe because keys are content keys: the same key is the same
        request, whichever process or machine answered it."""
        other = other if isinstance(other, Store) else Store(other)
        if other.root.resolve() == self.root.resolve():
            raise ValueError("cannot merge a store into itself")
        written = 0
        for path in other.files():
            written += self.put(list(other._refresh(path).entries.values()))
        return written

    def keys(self) -> set[str]:
        """Every request key the store holds."""
        out: set[str] = set()
        for p in self.files():
            out |= set(self._refresh(p).entries)
        return out

    def summary(self) -> Mapping[str, int]:
        """File name → number of predictions it holds."""
        return {p.name: len(self._refresh(p).entries) for p in self.files()}
