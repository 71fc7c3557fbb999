"""Sphinx extension: the "Reproduction ledger" page, generated at build time from the records.

A page holding the directive ``reproduction-ledger`` gets, when it is written (after every
notebook of the build has executed and recorded its claims), a summary table (one row per
chapter: how many claims hold, need paper scale, do not hold), then one table per chapter with
the claim and its source in the paper, the paper's value, ours, the verdict at its scale and a
link to the notebook section that checks it, under a summary line. Each claim is marked with
whose result it is: the paper's (its text states it; the source gives the equation, section or
figure), the official code's, or the book's reconstruction (:data:`theory.core._ledger.ORIGINS`);
the summary counts each kind. The page is re-read on every
build. Records made under another build key than the build's (:func:`theory.core._cache.build_key`:
the package's code, the pins, the scale) are marked as stale on the page, never shown as current;
a notebook of a chapter that recorded no claim is listed too.

The tables are laid out to fit the text column (``table-layout: fixed`` with the widths below and
wrapping claim ids: ``book/_static/ledger.css``), so that every column shows in a 1280-px window.
"""

from __future__ import annotations

from collections import defaultdict

from docutils import nodes
from docutils.parsers.rst import Directive

from theory.core._cache import build_key
from theory.core._ledger import (ORIGIN_LABELS, ORIGINS, VERDICTS, current_commit, ledger_dir,
                                 read_records)
from theory.core._scale import get_scale

COLUMNS = ("Claim (source)", "Paper", "Ours", "Verdict (scale)", "Checked in")
WIDTHS = (36, 13, 22, 12, 17)
SUMMARY_COLUMNS = ("Chapter", "Claims", "Holds", "Needs paper scale", "Does not hold",
                   "The paper's", "Official code's", "Book's reconstruction")
SUMMARY_WIDTHS = (25, 8, 8, 11, 9, 10, 11, 18)


class ledger_placeholder(nodes.General, nodes.Element):
    """Replaced by the ledger's tables when the page is written."""


class LedgerDirective(Directive):
    has_content = False

    def run(self):
        return [ledger_placeholder()]


def _para(text, cls=None):
    p = nodes.paragraph(text=text)
    if cls:
        p["classes"].append(cls)
    return p


def _table(rows, columns=COLUMNS, widths=WIDTHS, cls="ledger-claims"):
    # colwidths-given: the HTML writer emits the widths (as percentages) in a <colgroup>
    table = nodes.table(classes=["ledger-table", cls, "colwidths-given"])
    group = nodes.tgroup(cols=len(columns))
    table += group
    for w in widths:
        group += nodes.colspec(colwidth=w)
    head = nodes.thead()
    group += head
    hrow = nodes.row()
    for title in columns:
        hrow += nodes.entry("", _para(title))
    head += hrow
    body = nodes.tbody()
    group += body
    for cells in rows:
        row = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            entry += cell if isinstance(cell, nodes.Node) else _para(str(cell))
            row += entry
        body += row
    return table


def _notebooks_by_chapter(env):
    chapters = defaultdict(list)
    for docname in sorted(env.found_docs):
        parts = docname.split("/")
        if len(parts) == 3 and parts[0] == "book" and str(env.doc2path(docname)).endswith(".ipynb"):
            chapters[parts[1]].append(parts[2])
    return chapters


def _index_or_end(seq, item) -> int:
    return seq.index(item) if item in seq else len(seq)


def _toc_position(env, chapter: str) -> tuple[int, str]:
    """Chapters in the order of the table of contents (then by name, for any not listed)."""
    chapters = env.toctree_includes.get(env.config.root_doc, [])
    return _index_or_end(chapters, f"book/{chapter}/index"), chapter


def _chapter_link(chapter, title):
    """A link to the chapter's section on the ledger page itself."""
    para = nodes.paragraph()
    para += nodes.reference("", title, refuri=f"#{nodes.make_id(f'ledger-{chapter}')}",
                            internal=True)
    return para


def _build_ledger(app, docname):
    env = app.env
    commit, scale, key = current_commit(), get_scale(), build_key()
    records = read_records(ledger_dir())
    by_chapter = defaultdict(list)
    for r in records:
        by_chapter[r.chapter].append(r)
    notebooks = _notebooks_by_chapter(env)
    out = []
    stale = [r for r in records if r.key != key or r.scale != scale]
    out.append(_para(f"Built with build key {key} at scale {scale} (commit {commit[:12]}), from "
                     f"{len(records)} claims recorded by the notebooks of this build.",
                     "ledger-build"))
    if stale:
        warn = nodes.warning()
        warn += _para(f"{len(stale)} stale records (made under another build key than this "
                      f"build's: other code, pins or scale): they are marked below and count for "
                      f"nothing.")
        out.append(warn)
    chapters = sorted(set(notebooks) | set(by_chapter), key=lambda c: _toc_position(env, c))
    summary_rows, sections = [], []
    for chapter in chapters:
        recs = by_chapter.get(chapter, [])
        pages = env.toctree_includes.get(f"book/{chapter}/index", [])
        recs = sorted(recs, key=lambda r: _index_or_end(pages, f"book/{chapter}/{r.notebook}"))
        index = f"book/{chapter}/index"
        title = env.titles[index].astext() if index in env.titles else chapter
        section = nodes.section(ids=[nodes.make_id(f"ledger-{chapter}")])
        section += nodes.title(text=title)
        current = [r for r in recs if r not in stale]
        counts = {v: sum(r.verdict == v for r in current) for v in VERDICTS}
        origins = {o: sum(r.origin == o for r in current) for o in ORIGINS}
        summary_rows.append([_chapter_link(chapter, title), len(current),
                             *(counts[v] for v in VERDICTS), *(origins[o] for o in ORIGINS)])
        papers = sorted({r.paper for r in recs})
        known = sum(bool(r.failure) for r in current if r.verdict == "does not hold")
        section += _para(f"{title}: {len(current)} claims, {counts['holds']} hold, "
                         f"{counts['needs paper scale']} need paper scale, "
                         f"{counts['does not hold']} do not hold"
                         + (f" ({known} of them known failures: the chapter records them with its account)"
                            if counts["does not hold"] else "")
                         + (f" ({'; '.join(papers)})" if papers else "") + ".", "ledger-summary")
        silent = [nb for nb in notebooks.get(chapter, []) if not any(r.notebook == nb for r in recs)]
        if silent:
            section += _para("Notebooks that recorded no claim: " + ", ".join(silent) + ".",
                             "ledger-missing")
        rows = []
        for r in recs:
            target = f"book/{r.chapter}/{r.notebook}"
            link = nodes.paragraph()
            if target in env.found_docs:
                uri = app.builder.get_relative_uri(docname, target)
                if r.section:
                    uri += "#" + nodes.make_id(r.section)
                link += nodes.reference("", f"{r.notebook}" + (f" § {r.section}" if r.section else ""),
                                        refuri=uri, internal=True)
            else:
                link += nodes.Text(f"{r.notebook} (not in this book)")
            claim = nodes.paragraph()
            claim += nodes.literal(text=r.id)
            claim += nodes.Text(f" {r.statement} ({r.source}) ")
            mark = nodes.inline(text=ORIGIN_LABELS.get(r.origin, "origin not recorded"),
                                classes=["ledger-origin", f"ledger-origin-{(r.origin or 'none').replace(' ', '-')}"])
            claim += mark
            verdict = f"{r.verdict} ({r.scale})" + (f": {r.failure}" if r.failure else "")
            if r in stale:
                verdict = f"stale record (key {r.key[:8] or 'none'}, scale {r.scale})"
            ours = ("sympy residual → 0" if r.comparison.startswith("sympy") and r.measured == "0"
                    else f"{r.measured} ({r.comparison})")
            rows.append([claim, r.paper_value or "–", ours, verdict, link])
        if rows:
            section += _table(rows)
        sections.append(section)
    if summary_rows:
        totals = [_para("All chapters")] + [sum(row[i] for row in summary_rows)
                                            for i in range(1, len(SUMMARY_COLUMNS))]
        out.append(_table(summary_rows + [totals], SUMMARY_COLUMNS, SUMMARY_WIDTHS,
                          "ledger-overview"))
    return out + sections


def _always_reread(app, env, added, changed, removed):
    name = app.config.ledger_docname
    return [name] if name in env.found_docs else []


def _fill(app, doctree, docname):
    for node in list(doctree.findall(ledger_placeholder)):
        node.replace_self(_build_ledger(app, docname))


def setup(app):
    app.add_config_value("ledger_docname", "book/ledger", "env")
    app.add_node(ledger_placeholder)
    app.add_directive("reproduction-ledger", LedgerDirective)
    app.connect("env-get-outdated", _always_reread)
    app.connect("doctree-resolved", _fill)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
