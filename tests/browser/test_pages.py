"""Open every page of the built book in headless Chromium and check what a reader would see.

Run after the build (`make test` does): `pytest tests/browser`. For each toc page of
_build/html it loads the page offline (all hosts unresolvable), lets scripts run, dumps the DOM,
and checks that

- math is typeset by MathJax (`mjx-container`) on pages with math, and no raw `\\(`, `\\[`
  or `$$` is left in the visible text;
- every `<img src>` is a data: URI or a file inside _build/html;
- no output shows a traceback or an exception; a page that carries an ipywidgets snapshot fails
  (the book ships no widget JavaScript, so a snapshot would be a dead widget);
- the page asked for nothing over the network (Chromium's net log), and its HTML names no
  http(s) script, stylesheet, font or image.

Skips, with the reason, when Chromium is missing (all but the static scan of the HTML) or the
book is not built.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from sphinx_external_toc.parsing import parse_toc_yaml

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
DOCNAMES = list(parse_toc_yaml(ROOT / "_toc.yml"))
PARALLEL = 2
PAGE_TIMEOUT_S = 120
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--virtual-time-budget=15000",
    # Offline like a reader without network: a page that needs a CDN fails here too.
    "--host-resolver-rules=MAP * ~NOTFOUND",
]

SKIP_TAGS = {"script", "style", "code", "pre", "math", "svg", "textarea", "noscript", "template"}
VOID_TAGS = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr",
}  # fmt: skip
RAW_MATH = re.compile(r"\\\(|\\\[|\$\$")
EXCEPTION = re.compile(r"Traceback \(most recent call last\)|\b[A-Z][A-Za-z]*(Error|Exception): ")
# What @jupyter-widgets/html-manager writes in place of a widget it cannot show.
WIDGET_ERROR = re.compile(
    r"Error (displaying|creating) widget|Failed to create view|Could not create"
)
FETCHED_LINK_RELS = {"stylesheet", "preload", "modulepreload", "prefetch", "icon", "manifest"}
REMOTE = re.compile(r"(https?:)?//", re.I)
OUTPUT_CLASSES = {"output", "cell_output"}  # myst-nb's classes for cell outputs
ERROR_CLASSES = {"traceback", "error"}


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if path := shutil.which(name):
            return path
    return None


class Page(HTMLParser):
    """What the checks need from one HTML document, in one pass of html.parser."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, set[str]]] = []  # open elements: tag, classes
        self.text: list[str] = []  # visible text
        self.output_text: list[str] = []  # text inside notebook cell outputs, <pre> included
        self.math_elements = 0  # elements Sphinx marks as math (class "math")
        self.mjx = 0  # MathJax output (mjx-container elements)
        self.img_srcs: list[str] = []
        self.remote: list[str] = []  # http(s) resources the page would fetch
        self.error_outputs: list[str] = []  # output elements marked as tracebacks or errors
        self.widget_states = 0  # ipywidgets snapshots saved in the page
        self.widgets = 0  # widgets drawn by @jupyter-widgets/html-manager
        self.feed(html)
        self.close()

    def _inside(self, predicate) -> bool:
        return any(predicate(tag, classes) for tag, classes in self.stack)

    def _in_output(self) -> bool:
        return self._inside(lambda tag, classes: bool(OUTPUT_CLASSES & classes))

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        classes = set(attrs.get("class", "").split())
        self.mjx += tag == "mjx-container"
        self.math_elements += "math" in classes
        self.widget_states += attrs.get("type") == "application/vnd.jupyter.widget-state+json"
        self.widgets += "jupyter-widgets" in classes
        if ERROR_CLASSES & classes and (OUTPUT_CLASSES & classes or self._in_output()):
            self.error_outputs.append(f"<{tag} class={attrs['class']!r}>")
        if tag == "img":
            self.img_srcs.append(attrs.get("src", ""))
        urls = [attrs.get("src", "")]
        if tag == "link" and set(attrs.get("rel", "").lower().split()) & FETCHED_LINK_RELS:
            urls.append(attrs.get("href", ""))
        self.remote += [u for u in urls if REMOTE.match(u.strip())]
        if tag not in VOID_TAGS:
            self.stack.append((tag, classes))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):  # tolerate unclosed elements
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if self._inside(lambda tag, classes: tag in ("script", "style")):
            return
        if self._in_output():  # outputs print in <pre>: keep that text here
            self.output_text.append(data)
        if not self._inside(lambda tag, classes: tag in SKIP_TAGS or tag.startswith("mjx-")):
            self.text.append(data)


@dataclass
class Rendered:
    static: Page  # the HTML as built
    dom: Page  # the DOM after the page's scripts ran
    requests: list[str]  # http(s) URLs the page itself asked for


def page_requests(net_log: Path) -> list[str]:
    """http(s) URLs requested on behalf of a file:// page (not Chromium's own housekeeping)."""
    try:
        log = json.loads(net_log.read_text())
    except (OSError, ValueError):
        return []  # no usable log (Chromium killed mid-write): the static scans still apply
    start_job = log["constants"]["logEventTypes"].get("URL_REQUEST_START_JOB")
    urls = set()
    for event in log.get("events", []):
        params = event.get("params") or {}
        url = params.get("url", "")
        origin = params.get("network_isolation_key", "") + params.get("initiator", "")
        if event.get("type") == start_job and REMOTE.match(url) and "file://" in origin:
            urls.add(url)
    return sorted(urls)


def html_page(docname: str) -> Path:
    return HTML / f"{docname}.html"


def render(chromium: str, docname: str) -> Rendered:
    page = html_page(docname)
    with tempfile.TemporaryDirectory(prefix="book-chromium-") as tmp:
        net_log = Path(tmp) / "net.json"
        cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp}/profile",
               f"--log-net-log={net_log}", "--dump-dom", page.as_uri()]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PAGE_TIMEOUT_S)
        if proc.returncode != 0 or "</html>" not in proc.stdout:
            raise RuntimeError(
                f"chromium failed on {page} (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
            )
        return Rendered(
            static=Page(page.read_text(encoding="utf-8")),
            dom=Page(proc.stdout),
            requests=page_requests(net_log),
        )


@pytest.fixture(scope="session")
def rendered() -> dict[str, Rendered | Exception]:
    """Every toc page, rendered once, PARALLEL pages at a time."""
    if not HTML.is_dir():
        pytest.skip(f"book not built ({HTML} is missing): run `make book` first")
    chromium = find_chromium()
    if chromium is None:
        reason = "Chromium not found (apt-get install -y --no-install-recommends chromium)"
        print(f"SKIP browser check: {reason}")
        pytest.skip(reason)

    def attempt(docname):
        try:
            return render(chromium, docname)
        except Exception as exc:  # reported by that page's tests, not by every page's
            return exc

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        return dict(zip(DOCNAMES, pool.map(attempt, DOCNAMES)))


@pytest.fixture(params=DOCNAMES)
def page(request, rendered) -> tuple[str, Rendered]:
    docname = request.param
    assert html_page(docname).is_file(), f"{docname} is in _toc.yml but not in the build"
    result = rendered[docname]
    if isinstance(result, Exception):
        raise result
    return docname, result


def test_built_html_names_no_remote_resources():
    """Every HTML file of the build, toc page or not; needs no browser."""
    if not HTML.is_dir():
        pytest.skip(f"book not built ({HTML} is missing): run `make book` first")
    remote = {}
    for path in sorted(HTML.rglob("*.html")):
        if urls := Page(path.read_text(encoding="utf-8")).remote:
            remote[path.relative_to(HTML).as_posix()] = urls
    assert not remote, f"pages that would fetch from the network: {remote}"


def test_math_is_typeset(page):
    docname, result = page
    dom = result.dom
    if result.static.math_elements:
        assert dom.mjx, f"{docname}: has math but MathJax produced no mjx-container"
    visible = " ".join(" ".join(dom.text).split())
    raw = sorted({m.group(0) for m in RAW_MATH.finditer(visible)})
    if raw:
        at = RAW_MATH.search(visible).start()
        context = visible[max(0, at - 80) : at + 80]
        pytest.fail(f"{docname}: raw LaTeX {raw} in the visible text, e.g. ...{context}...")


def test_images_resolve(page):
    docname, result = page
    dom = result.dom
    base = html_page(docname).parent
    broken = []
    for src in dom.img_srcs:
        if src.startswith("data:"):
            continue
        parts = urlsplit(src)
        if parts.scheme or parts.netloc or not parts.path:
            broken.append(src)  # remote (or empty): not part of the book
            continue
        target = (base / unquote(parts.path)).resolve()
        if not target.is_file() or HTML.resolve() not in target.parents:
            broken.append(src)
    assert not broken, f"{docname}: images that do not resolve inside _build/html: {broken}"


def test_no_errors_shown(page):
    docname, result = page
    dom = result.dom
    assert not dom.error_outputs, f"{docname}: error outputs {dom.error_outputs}"
    outputs = " ".join(" ".join(dom.output_text).split())
    match = EXCEPTION.search(outputs)
    assert not match, f"{docname}: an output shows an exception: ...{outputs[match.start():][:300]}"
    if result.static.widget_states:
        assert dom.widgets, f"{docname}: has widget snapshots but none was drawn (widget JS?)"
    failed_widget = WIDGET_ERROR.search(" ".join(dom.text))
    assert not failed_widget, f"{docname}: a widget failed to render: {failed_widget.group(0)!r}"


def test_nothing_fetched_from_the_network(page):
    docname, result = page
    static, dom = result.static, result.dom
    assert not static.remote, f"{docname}: the HTML names remote resources {static.remote}"
    assert not dom.remote, f"{docname}: scripts added remote resources {dom.remote}"
    assert not result.requests, f"{docname}: the page requested {result.requests}"
