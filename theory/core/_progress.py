"""Progress bars: ``tqdm.auto`` for a reader, plain text on stderr while the book builds."""

from __future__ import annotations

import os


def progress(iterable=None, *, desc: str, total: int | None = None, enable: bool = True,
             leave: bool = False):
    """Wrap ``iterable`` in a progress bar (``mininterval`` one second).

    In Jupyter this is a ``tqdm.auto`` widget bar. When ``THEORY_BUILD=1`` (set by ``make`` for
    the notebook tests and the book build) it is tqdm's text bar on stderr, which the pages drop:
    no widget snapshot of a progress bar is saved into a page. ``enable=False`` returns the
    iterable unwrapped.
    """
    if not isinstance(desc, str):
        raise TypeError(f"desc must be a str, got {type(desc).__name__}")
    for name, flag in (("enable", enable), ("leave", leave)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be True or False, got {flag!r}")
    if total is not None and (isinstance(total, bool) or not isinstance(total, int) or total < 0):
        raise ValueError(f"total must be None or an int >= 0, got {total!r}")
    if iterable is not None and not hasattr(iterable, "__iter__"):
        raise TypeError(f"iterable must be iterable or None, got {type(iterable).__name__}")
    if not enable:
        return iterable if iterable is not None else range(total or 0)
    if os.environ.get("THEORY_BUILD", "") not in ("", "0"):
        from tqdm.std import tqdm
    else:
        from tqdm.auto import tqdm
    return tqdm(iterable, desc=desc, total=total, mininterval=1.0, leave=leave)
