"""Move every control of every static explorer in the built book, in headless Chromium.

Each page of _build/html that holds a static explorer (theory.core.explorer) is opened offline
(all hosts unresolvable, as in test_pages.py) with the URL fragment ``#explorer-selftest``. The
explorer's own inline script then runs its self-test once the page has loaded: for every
explorer on the page and every control it sets the range input to its minimum and to its
maximum, each time dispatching a real ``input`` event through the page's handler, and records
the image shown (a fingerprint of the ``<img>`` src) after each; it presses every play button,
lets the player run 1.5 intervals (one step), presses it again; and writes a JSON verdict into
a hidden ``<pre id="explorer-selftest">``, which ``--dump-dom`` returns. The checks here:

- every explorer of the page ran its script (as many verdicts as explorers in the HTML), and every
  control in the HTML was moved;
- for each control, moving it changes the image shown: the image at its minimum or at its
  maximum differs from the one at its start value (the other controls at their defaults; the two
  ends may show the same figure, e.g. for a control the figure is symmetric in); all are inline
  PNG data URIs, and the start frame comes back when the control returns;
- every play button holds its icons as inline SVG, starts and stops, and the frame advances;
- the page fetched nothing over the network (Chromium's net log) and carries no widget view or
  widget state (no dead sliders);
- the frames inlined are as many as the product of the controls' lengths.

The count of controls moved is printed and written to _build/explorer-selftest.json.
Set THEORY_BOOK_DIR to check another book (a throwaway one in /tmp) than the repository's.
Skips, with the reason, when Chromium is missing or the book is not built.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sphinx_external_toc.parsing import parse_toc_yaml

sys.path.insert(0, str(Path(__file__).parent))
from test_pages import CHROMIUM_FLAGS, PAGE_TIMEOUT_S, find_chromium, page_requests  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BOOK = Path(os.environ.get("THEORY_BOOK_DIR", ROOT)).resolve()
HTML = BOOK / "_build" / "html"
PARALLEL = 2
FRAGMENT = "#explorer-selftest"
EXPLORER_DIV = re.compile(r'<div class="theory-explorer" id="([^"]+)"[^>]*data-frames="(\d+)"')
VERDICT = re.compile(r'<pre id="explorer-selftest"[^>]*>(.*?)</pre>', re.S)
WIDGET_MIME = re.compile(r"application/vnd\.jupyter\.widget-(view|state)\+json")


def docnames() -> list[str]:
    toc = BOOK / "_toc.yml"
    return list(parse_toc_yaml(toc)) if toc.is_file() else []


def explorer_pages() -> list[str]:
    """The toc pages of the build that hold at least one static explorer."""
    pages = []
    for docname in docnames():
        path = HTML / f"{docname}.html"
        if path.is_file() and 'class="theory-explorer"' in path.read_text(encoding="utf-8"):
            pages.append(docname)
    return pages


def static_explorers(text: str) -> dict[str, dict]:
    """Per explorer id in the built HTML: its inputs (control, max), play buttons and frames."""
    found = {}
    starts = [(m.start(), m.group(1), int(m.group(2))) for m in EXPLORER_DIV.finditer(text)]
    for k, (at, uid, frames) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(text)
        chunk = text[at:end]
        inputs = re.findall(
            rf'<input type="range" class="thx-range" id="{re.escape(uid)}-\d+" '
            r'data-control="([^"]+)" min="0" max="(\d+)"',
            chunk,
        )
        found[uid] = {
            "controls": [(html.unescape(c), int(m)) for c, m in inputs],
            "play": len(re.findall(r'<button type="button" class="thx-play"', chunk)),
            "frames": frames,
        }
    return found


def selftest(chromium: str, docname: str) -> tuple[dict, list[str]]:
    page = HTML / f"{docname}.html"
    with tempfile.TemporaryDirectory(prefix="book-explorers-") as tmp:
        net_log = Path(tmp) / "net.json"
        cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp}/profile",
               f"--log-net-log={net_log}", "--dump-dom", page.as_uri() + FRAGMENT]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PAGE_TIMEOUT_S)
        if proc.returncode != 0 or "</html>" not in proc.stdout:
            raise RuntimeError(
                f"chromium failed on {page} (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
            )
        match = VERDICT.search(proc.stdout)
        if match is None:
            raise AssertionError(f"{docname}: the explorer self-test wrote no verdict (JS failed?)")
        return json.loads(html.unescape(match.group(1))), page_requests(net_log)


PAGES = explorer_pages()


@pytest.fixture(scope="module")
def verdicts() -> dict[str, tuple[dict, list[str]] | Exception]:
    if not HTML.is_dir():
        pytest.skip(f"book not built ({HTML} is missing): run `make book` first")
    chromium = find_chromium()
    if chromium is None:
        reason = "Chromium not found (apt-get install -y --no-install-recommends chromium)"
        print(f"SKIP explorer check: {reason}")
        pytest.skip(reason)

    def attempt(docname):
        try:
            return selftest(chromium, docname)
        except Exception as exc:  # reported by that page's test
            return exc

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        return dict(zip(PAGES, pool.map(attempt, PAGES)))


@pytest.mark.skipif(not HTML.is_dir(), reason=f"book not built ({HTML} is missing)")
@pytest.mark.skipif(not PAGES, reason="no page of the built book holds a static explorer")
@pytest.mark.parametrize("docname", PAGES or ["-"])
def test_every_control_changes_the_figure(docname, verdicts):
    result = verdicts[docname]
    if isinstance(result, Exception):
        raise result
    report, requests = result
    text = (HTML / f"{docname}.html").read_text(encoding="utf-8")
    static = static_explorers(text)
    ran = {r["id"]: r for r in report["explorers"]}
    silent = sorted(set(static) - set(ran))
    assert set(ran) == set(static), f"{docname}: explorers whose script did not run: {silent}"
    problems = []
    for uid, exp in static.items():
        r = ran[uid]
        shape = [m + 1 for _, m in exp["controls"]]
        if exp["frames"] != math.prod(shape) or r["frames"] != exp["frames"]:
            problems.append(f"{uid}: {exp['frames']} frames for controls of lengths {shape}")
        moved = [c["control"] for c in r["controls"]]
        if moved != [c for c, _ in exp["controls"]]:
            problems.append(f"{uid}: moved {moved}, the page has {exp['controls']}")
        for c in r["controls"]:
            if not all(c[k].startswith("data:image/png;base64,") for k in ("start", "min", "max")):
                problems.append(f"{uid}.{c['control']}: an image shown is not an inline PNG")
            if not c["changed"]:
                problems.append(
                    f"{uid}.{c['control']}: the figure is the same at {c['min_value']}, at "
                    f"{c['max_value']} and at its start value (a dead control)"
                )
            if not c["restored"]:
                problems.append(f"{uid}.{c['control']}: back at its start value, another image")
        if len(r["play"]) != exp["play"]:
            problems.append(f"{uid}: {exp['play']} play buttons, {len(r['play'])} tested")
        for p in r["play"]:
            if p["svg"] < 1:
                problems.append(f"{uid}: the play button of {p['control']} has no inline <svg>")
            if (p["pressed"], p["released"]) != ("true", "false") or not p["changed"]:
                problems.append(f"{uid}: the play button of {p['control']} does not play: {p}")
    assert not problems, f"{docname}:\n" + "\n".join(problems)
    assert not requests, f"{docname}: the page requested {requests}"
    widgets = sorted(set(WIDGET_MIME.findall(text)))
    assert not widgets, f"{docname}: the page carries widget {widgets} data (a dead widget)"
    n = sum(len(r["controls"]) for r in report["explorers"])
    print(f"{docname}: {len(static)} explorers, {n} controls moved to both ends")


def test_count_of_controls_moved(verdicts):
    """Writes _build/explorer-selftest.json: pages, explorers, controls moved, play buttons."""
    ok = {d: v[0] for d, v in verdicts.items() if not isinstance(v, Exception)}
    summary = {
        "pages": len(ok),
        "explorers": sum(len(r["explorers"]) for r in ok.values()),
        "controls_moved": sum(len(e["controls"]) for r in ok.values() for e in r["explorers"]),
        "play_buttons": sum(len(e["play"]) for r in ok.values() for e in r["explorers"]),
        "per_page": {d: [{"name": e["name"], "controls": [c["control"] for c in e["controls"]]}
                         for e in r["explorers"]] for d, r in ok.items()},  # fmt: skip
    }
    (BOOK / "_build" / "explorer-selftest.json").write_text(json.dumps(summary, indent=1))
    print(
        f"explorer self-test: {summary['controls_moved']} controls of {summary['explorers']} "
        f"explorers on {summary['pages']} pages moved to both ends; "
        f"{summary['play_buttons']} play buttons pressed"
    )
    assert len(ok) == len(verdicts), "a page failed (see its test)"
