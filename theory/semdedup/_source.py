"""Embeddings read a chunk at a time: an array in memory, a ``.npy`` file, or a folder of shards.

SemDeDup never needs the whole embedding matrix at once: k-means reads chunks, and the
per-cluster step reads one cluster's rows. :class:`EmbeddingSource` gives both reads over the
three forms a user has: an ``(n, d)`` array, one ``.npy`` file, or a folder of ``.npy`` shards
(sorted by file name, stacked in that order). Files are never loaded whole: a range of rows is
read with one ``os.pread``, scattered rows through a memory map opened for that one read and
closed at once, so a process's resident memory holds only the rows it asked for; and a source pickles as its paths, so a Dask task that receives one reads
only its own rows.

Every read returns float32 rows divided by their L2 norm: the unit-sphere embeddings of the
official code (``compute_pretrained_embeddings.py`` normalises before saving).
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path

import numpy as np

from theory.core._progress import progress as _progress
from theory.core._validate import check_bool, check_scalar

__all__ = ["EmbeddingSource", "open_embeddings"]

DEFAULT_CHUNK = 65536


def _npy_header(path: Path) -> tuple[int, int, np.dtype, int]:
    """(n, d, dtype, data offset) of a C-ordered 2-D floating ``.npy`` file, validated."""
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:  # pragma: no cover - numpy knows no other version
                raise ValueError(f"unknown .npy version {version}")
            offset = f.tell()
    except (ValueError, OSError, EOFError) as err:
        raise ValueError(f"embeddings: {path} is not a readable .npy file ({err})") from None
    if len(shape) != 2:
        raise ValueError(f"embeddings: {path} holds an array of shape {shape}; a 2-D (n, d) "
                         "array is required")
    if not np.issubdtype(dtype, np.floating) or dtype.itemsize not in (2, 4, 8):
        raise ValueError(f"embeddings: {path} holds dtype {dtype}; float16, float32 or float64 "
                         "is required")
    if fortran and shape[0] > 1 and shape[1] > 1:
        raise ValueError(f"embeddings: {path} is Fortran-ordered; save it C-ordered "
                         "(np.save(path, np.ascontiguousarray(x)))")
    n, d = int(shape[0]), int(shape[1])
    expected = offset + n * d * dtype.itemsize
    size = path.stat().st_size
    if size < expected:
        raise ValueError(f"embeddings: {path} is truncated ({size} bytes, {expected} expected "
                         f"for shape {shape})")
    return n, d, dtype, offset


class EmbeddingSource:
    """Rows of an (n, d) embedding matrix held in memory or in ``.npy`` files.

    Build one with :func:`open_embeddings`. Attributes: ``n``, ``d``, ``dtype`` (as stored),
    ``description``. Reads return float32, L2-normalised rows.
    """

    def __init__(self, *, array=None, shards=(), d: int | None = None):
        self._array = array
        self._shards = tuple(shards)  # (path str, n, offset, dtype str)
        if array is not None:
            self.n, self.d = (int(v) for v in array.shape)
            self.dtype = array.dtype
        else:
            self.n = int(sum(s[1] for s in self._shards))
            self.d = int(d)
            self.dtype = np.dtype(self._shards[0][3])
        self._starts = np.cumsum([0] + [s[1] for s in self._shards]).astype(np.int64)

    @property
    def description(self) -> str:
        if self._array is not None:
            return f"array ({self.n} x {self.d}, {self.dtype})"
        if len(self._shards) == 1:
            return f"{self._shards[0][0]} ({self.n} x {self.d}, {self.dtype})"
        return (f"{len(self._shards)} shards in {Path(self._shards[0][0]).parent} "
                f"({self.n} x {self.d}, {self.dtype})")

    def __repr__(self) -> str:
        return f"EmbeddingSource({self.description})"

    def __getstate__(self):
        return {"array": self._array, "shards": self._shards, "d": self.d}

    def __setstate__(self, state):
        self.__init__(array=state["array"], shards=state["shards"], d=state["d"])

    def __len__(self) -> int:
        return self.n

    # -- raw reads (as stored, not normalised) --------------------------------------------
    def _raw_range(self, start: int, stop: int) -> np.ndarray:
        if self._array is not None:
            return np.asarray(self._array[start:stop])
        out = []
        for s, (path, n_s, offset, dt) in enumerate(self._shards):
            lo, hi = max(start, self._starts[s]), min(stop, self._starts[s + 1])
            if lo >= hi:
                continue
            dtype = np.dtype(dt)
            row = self.d * dtype.itemsize
            a, b = lo - self._starts[s], hi - self._starts[s]
            fd = os.open(path, os.O_RDONLY)
            try:
                buf = _pread_all(fd, (b - a) * row, offset + a * row)
            finally:
                os.close(fd)
            out.append(np.frombuffer(buf, dtype=dtype).reshape(b - a, self.d))
        if not out:
            return np.empty((0, self.d), dtype=self.dtype)
        return out[0] if len(out) == 1 else np.concatenate(out)

    def _raw_take(self, indices: np.ndarray) -> np.ndarray:
        if self._array is not None:
            return np.asarray(self._array[indices])
        if len(indices) == 0:
            return np.empty((0, self.d), dtype=self.dtype)
        if len(self._shards) == 1:
            return self._map_rows(0, indices)
        out = np.empty((len(indices), self.d), dtype=self.dtype)
        shard = np.searchsorted(self._starts, indices, side="right") - 1
        for s in np.unique(shard).tolist():
            sel = np.flatnonzero(shard == s)
            out[sel] = self._map_rows(s, indices[sel] - int(self._starts[s]))
        return out

    def _map_rows(self, s: int, local: np.ndarray) -> np.ndarray:
        """Rows ``local`` of shard s, copied out of a memory map that is closed before returning
        (scattered rows: a page fault per row costs less than a system call per row, and the
        process keeps none of the pages)."""
        path, n_s, offset, dt = self._shards[s]
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            rows = np.frombuffer(mm, dtype=np.dtype(dt), count=n_s * self.d,
                                 offset=offset).reshape(n_s, self.d)
            out = rows[local]
            del rows
        return out

    # -- normalised reads -----------------------------------------------------------------
    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` as float32, each divided by its L2 norm."""
        if not (0 <= start <= stop <= self.n):
            raise ValueError(f"read: need 0 <= start <= stop <= n = {self.n}, got {start}, {stop}")
        return _normalise(self._raw_range(int(start), int(stop)))

    def take(self, indices) -> np.ndarray:
        """Rows at ``indices`` (in that order) as float32, each divided by its L2 norm."""
        idx = np.asarray(indices)
        if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
            raise TypeError("indices must be a 1-D array of integers")
        idx = idx.astype(np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self.n):
            raise ValueError(f"indices must lie in [0, n = {self.n})")
        return _normalise(self._raw_take(idx), own=True)

    def chunks(self, chunk_size: int = DEFAULT_CHUNK) -> list[tuple[int, int]]:
        """Consecutive (start, stop) row ranges of at most ``chunk_size`` rows."""
        chunk_size = int(check_scalar(chunk_size, "chunk_size", kind="int", min=1))
        return [(a, min(a + chunk_size, self.n)) for a in range(0, self.n, chunk_size)]

    def validate(self, *, chunk_size: int = DEFAULT_CHUNK, progress: bool = False) -> None:
        """Check every row is finite and of nonzero norm, a chunk at a time; ValueError if not."""
        for start, stop in _progress(self.chunks(chunk_size), desc="checking embeddings",
                                     enable=progress):
            raw = self._raw_range(start, stop)
            finite = np.isfinite(raw).all(axis=1)
            if not finite.all():
                row = start + int(np.flatnonzero(~finite)[0])
                raise ValueError(f"embeddings: row {row} holds a non-finite value (NaN or inf); "
                                 "every entry must be finite")
            norms = np.linalg.norm(raw.astype(np.float64), axis=1)
            if not (norms > 0).all():
                row = start + int(np.flatnonzero(~(norms > 0))[0])
                raise ValueError(f"embeddings: row {row} has zero norm; every row must be a "
                                 "nonzero vector (it is divided by its norm)")


def _pread_all(fd: int, nbytes: int, offset: int) -> bytes:
    parts, got = [], 0
    while got < nbytes:
        part = os.pread(fd, nbytes - got, offset + got)
        if not part:
            raise ValueError("embeddings: the file ended before the rows its header declares")
        parts.append(part)
        got += len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _normalise(raw: np.ndarray, *, own: bool = False) -> np.ndarray:
    """float32 rows divided by their L2 norm (the norm accumulated in float64). ``own``: ``raw``
    is a fresh float32 array of ours, divided in place (never a view of the caller's data)."""
    x = raw if own and raw.dtype == np.float32 and raw.flags.writeable else \
        raw.astype(np.float32, copy=True)
    norms = np.sqrt(np.einsum("ij,ij->i", x, x, dtype=np.float64)).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        x /= norms[:, None]
    return x


def open_embeddings(obj, *, validate: bool = True, chunk_size: int = DEFAULT_CHUNK,
                    progress: bool = False) -> EmbeddingSource:
    """An :class:`EmbeddingSource` over ``obj``, checked a chunk at a time.

    ``obj``: an (n, d) floating array; a path to a ``.npy`` file; a folder of ``.npy`` shards
    (sorted by name; equal d and dtype); or an :class:`EmbeddingSource` (returned as is).
    ``validate``: check every entry finite and every row of nonzero norm (ValueError naming the
    first bad row).
    """
    validate = check_bool(validate, "validate")
    progress = check_bool(progress, "progress")
    if isinstance(obj, EmbeddingSource):
        return obj
    if isinstance(obj, (str, os.PathLike)):
        path = Path(obj)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix == ".npy" and p.is_file())
            if not files:
                raise ValueError(f"embeddings: the folder {path} holds no .npy shards")
        elif path.is_file():
            files = [path]
        else:
            raise ValueError(f"embeddings: {path} does not exist (a .npy file or a folder of "
                             ".npy shards is required)")
        shards, d, dtype = [], None, None
        for f in files:
            n, d_f, dt, offset = _npy_header(f)
            if d is None:
                d, dtype = d_f, dt
            elif (d_f, dt) != (d, dtype):
                raise ValueError(f"embeddings: shard {f.name} is ({n}, {d_f}) {dt}; every shard "
                                 f"must have d = {d} and dtype {dtype}")
            if n:
                shards.append((str(f.resolve()), n, offset, dt.str))
        if not shards:
            raise ValueError(f"embeddings: {path} holds no rows (n = 0)")
        source = EmbeddingSource(shards=shards, d=d)
    else:
        if isinstance(obj, (list, tuple)) or not hasattr(obj, "shape"):
            raise TypeError("embeddings must be an (n, d) float array, a .npy path, a folder of "
                            f".npy shards or an EmbeddingSource, got {type(obj).__name__}")
        arr = np.asarray(obj)
        if arr.ndim != 2:
            raise ValueError(f"embeddings must be 2-D (n, d), got shape {arr.shape}")
        if not np.issubdtype(arr.dtype, np.floating):
            raise TypeError(f"embeddings must be a floating array, got dtype {arr.dtype}")
        if arr.shape[0] == 0 or arr.shape[1] == 0:
            raise ValueError(f"embeddings must have n >= 1 rows and d >= 1 columns, got "
                             f"shape {arr.shape}")
        source = EmbeddingSource(array=arr)
    if validate:
        source.validate(chunk_size=chunk_size, progress=progress)
    return source
