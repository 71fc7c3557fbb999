"""The Reproduction ledger page of the built book: present, current, complete, well linked.

Runs after the build (``make test``). It fails when the page is missing, when it was built from
records of another commit or scale than this checkout's, when a chapter notebook recorded no
claim, or when a row links to a section that does not exist.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
from sphinx_external_toc.parsing import parse_toc_yaml

from theory.core._ledger import current_commit
from theory.core._scale import get_scale

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
PAGE = HTML / "book" / "ledger.html"


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids, self.text, self._skip = [], set(), [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.plain = re.sub(r"\s+", " ", " ".join(page.text))
    return page


@pytest.fixture(scope="module")
def page():
    if not (HTML / "index.html").is_file():
        pytest.skip(f"no built book under {HTML}: run `make book` first")
    assert PAGE.is_file(), "the book was built without its Reproduction ledger page"
    return _parse(PAGE)


def chapter_notebooks():
    return [d for d in parse_toc_yaml(ROOT / "_toc.yml")
            if (ROOT / f"{d}.ipynb").is_file() and d.count("/") == 2]


def test_built_from_this_commit_and_scale(page):
    m = re.search(r"Built at commit (\S+) at scale (\w+)", page.plain)
    assert m, "the ledger page does not say which commit and scale it was built from"
    assert current_commit().startswith(m.group(1)), (
        f"ledger built at commit {m.group(1)}, this checkout is {current_commit()[:12]}")
    assert m.group(2) == get_scale()
    assert "stale record" not in page.plain.lower(), "the ledger shows stale records"


def test_every_chapter_notebook_recorded_claims(page):
    assert "recorded no claim" not in page.plain
    for docname in chapter_notebooks():
        target = f"{docname}.html"
        linked = [h for h in page.links if urljoin("book/ledger.html", h).split("#")[0] == target]
        assert linked, f"{docname} recorded no claim on the ledger"


def test_summary_line_per_chapter(page):
    chapters = {d.split("/")[1] for d in chapter_notebooks()}
    summaries = re.findall(r"(\d+) claims, (\d+) hold, (\d+) need paper scale, (\d+) do not hold",
                           page.plain)
    assert len(summaries) == len(chapters), summaries
    for n, held, paper, failed in summaries:
        assert int(n) > 0 and int(held) + int(paper) + int(failed) == int(n)
        assert int(failed) == 0


def test_links_reach_existing_sections(page):
    checked = 0
    for href in page.links:
        url = urlparse(urljoin("book/ledger.html", href))
        if url.scheme or not url.path.startswith("book/") or url.path == "book/ledger.html":
            continue
        target = HTML / url.path
        assert target.is_file(), f"ledger links to a missing page {url.path}"
        if url.fragment:
            assert url.fragment in _parse(target).ids, f"no section #{url.fragment} in {url.path}"
            checked += 1
    assert checked > 0
