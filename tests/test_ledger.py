"""The claims API of theory.core: comparisons, verdicts by scale, records, bad input."""

import json

import numpy as np
import pytest
import sympy as sp

from theory.core import ClaimFailed, Ledger, read_records


@pytest.fixture
def ledger(tmp_path, monkeypatch):
    monkeypatch.setenv("THEORY_LEDGER_DIR", str(tmp_path))
    monkeypatch.delenv("THEORY_SCALE", raising=False)
    return Ledger("chap", "nb", paper="Someone et al. 2024")


def test_comparisons_that_hold(ledger):
    x = sp.Symbol("x")
    ledger.claim("a", source="Eq. 1", origin="paper", statement="close", measured=1.0 + 1e-9, close_to=1.0, atol=1e-8)
    ledger.claim("b", source="Eq. 2", origin="paper", statement="rel", measured=[2.0, 4.0], close_to=[2.0, 4.0001],
                 rtol=1e-4)
    ledger.claim("c", source="Fig. 1", origin="paper", statement="bound", measured=[0.1, 0.2], at_most=0.5)
    ledger.claim("d", source="Fig. 1", origin="paper", statement="interval", measured=0.3, at_least=0.2, at_most=0.4)
    # one measured value in a length-1 array (one seed) is shown as that value
    r = ledger.claim("h", source="Fig. 1", origin="paper", statement="one seed", measured=np.array([17]), at_least=11)
    assert r.verdict == "holds" and "17" in r.measured
    ledger.claim("e", source="Tab. 1", origin="paper", statement="sign", measured=[-1.0, -3.0], sign=-1)
    ledger.claim("f", source="Sec. 2", origin="paper", statement="identity", identity=sp.sin(x) ** 2 + sp.cos(x) ** 2 - 1)
    ledger.claim("g", source="Sec. 2", origin="paper", statement="matrix identity",
                 identity=sp.Matrix([x - x, sp.expand((x + 1) ** 2) - x**2 - 2 * x - 1]))
    assert all(r.verdict == "holds" for r in ledger.records)
    assert ledger.summary() == "chap/nb: 8 claims, 8 hold"


def test_failure_raises_and_is_recorded(ledger):
    with pytest.raises(ClaimFailed, match="bound"):
        ledger.claim("x", source="Eq. 3", origin="paper", statement="bound", measured=2.0, at_most=1.0)
    with pytest.raises(AssertionError):
        ledger.claim("y", source="Eq. 3", origin="paper", statement="identity", identity=sp.Symbol("z"))
    assert [r.verdict for r in read_records(ledger.path.parent)] == ["does not hold"] * 2


def test_needs_paper_scale(ledger, monkeypatch):
    r = ledger.claim("p", source="Fig. 5", origin="paper", statement="big", measured=0.5, at_least=0.9, needs="paper")
    assert r.verdict == "needs paper scale" and r.scale == "laptop"
    r = ledger.claim("q", source="Fig. 5", origin="paper", statement="big", measured=0.95, at_least=0.9, needs="paper")
    assert r.verdict == "holds"
    monkeypatch.setenv("THEORY_SCALE", "paper")
    with pytest.raises(ClaimFailed):
        ledger.claim("r", source="Fig. 5", origin="paper", statement="big", measured=0.5, at_least=0.9, needs="paper")


def test_known_failure_is_recorded_and_stays_live(ledger, monkeypatch):
    why = "fails on the stored paper grid (mean +0.1 levels); the page says so"
    r = ledger.claim("kf", source="Fig. 1", origin="paper", statement="big", measured=0.5, at_least=0.9, known_failure=why)
    assert r.verdict == "does not hold" and r.failure == why
    assert read_records(ledger.path.parent)[0].failure == why
    # a known failure that holds is out of date: the check fails the other way
    with pytest.raises(ClaimFailed, match="known failure"):
        ledger.claim("kh", source="Fig. 1", origin="paper", statement="big", measured=0.95, at_least=0.9, known_failure=why)
    # where the claim is not expected to hold yet, it changes nothing
    r = ledger.claim("kp", source="Fig. 1", origin="paper", statement="big", measured=0.5, at_least=0.9, needs="paper",
                     known_failure=why)
    assert r.verdict == "needs paper scale" and r.failure == ""
    monkeypatch.setenv("THEORY_SCALE", "paper")
    r = ledger.claim("kq", source="Fig. 1", origin="paper", statement="big", measured=0.5, at_least=0.9, needs="paper",
                     known_failure=why)
    assert r.verdict == "does not hold" and r.failure == why
    assert ledger.summary() == "chap/nb: 4 claims, 1 hold, 2 recorded as not holding (known failures)"


def test_rerun_replaces_records(tmp_path, monkeypatch):
    monkeypatch.setenv("THEORY_LEDGER_DIR", str(tmp_path))
    for _ in range(2):
        led = Ledger("chap", "nb", paper="P")
        led.claim("a", source="S", origin="reconstruction", statement="s", measured=1.0, at_most=2.0)
    other = Ledger("chap", "other", paper="P")
    other.claim("b", source="S", origin="reconstruction", statement="s", measured=1.0, at_most=2.0)
    recs = read_records(tmp_path)
    assert [r.id for r in recs] == ["a", "b"]
    line = json.loads((tmp_path / "chap__nb.jsonl").read_text().splitlines()[0])
    assert {"commit", "key", "scale", "verdict", "source", "paper_value"} <= set(line)


def test_records_carry_the_build_key(ledger):
    from theory.core._cache import build_key

    r = ledger.claim("k", source="S", origin="reconstruction", statement="s", measured=1.0, at_most=2.0)
    assert r.key == build_key() and read_records(ledger.path.parent)[0].key == r.key


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(source="", origin="paper", statement="s", measured=1.0, at_most=1.0), ValueError, "source"),
    (dict(source="S", origin="reconstruction", statement="s", measured=1.0), ValueError, "exactly one comparison"),
    (dict(source="S", origin="reconstruction", statement="s", measured=1.0, at_most=2.0, known_failure=" "), ValueError,
     "known_failure"),
    (dict(source="S", origin="reconstruction", statement="s", measured=1.0, at_most=2.0, known_failure=3), ValueError,
     "known_failure"),
    (dict(source="S", origin="reconstruction", statement="s", measured=1.0, at_most=1.0, sign=1), ValueError, "exactly one"),
    (dict(source="S", origin="reconstruction", statement="s", measured=1.0, close_to=1.0, atol=-1e-3), ValueError, "atol"),
    (dict(source="S", origin="reconstruction", statement="s", measured=1.0, close_to=1.0, rtol=float("nan")), ValueError, "rtol"),
    (dict(source="S", origin="reconstruction", statement="s", measured=1.0, close_to=1.0), ValueError, "atol= or rtol="),
    (dict(source="S", origin="reconstruction", statement="s", measured=float("nan"), at_most=1.0), ValueError, "measured"),
    (dict(source="S", origin="reconstruction", statement="s", measured=[1.0, np.nan], at_most=1.0), ValueError, "NaN"),
    (dict(source="S", origin="reconstruction", statement="s", measured="big", at_most=1.0), TypeError, "measured"),
    (dict(source="S", origin="reconstruction", statement="s", measured=1.0, sign=0), ValueError, "sign"),
    (dict(source="S", origin="reconstruction", statement="s", measured=1.0, at_least=2.0, at_most=1.0), ValueError, "exceeds"),
    (dict(source="S", origin="reconstruction", statement="s", measured=1.0, at_most=2.0, needs="gpu"), ValueError, "needs"),
    (dict(source="S", origin="reconstruction", statement="s", measured=0.0, identity=sp.Integer(0)), ValueError, "identity"),
    (dict(source="S", statement="s", measured=1.0, at_most=2.0), TypeError, "origin"),
    (dict(source="S", origin="mine", statement="s", measured=1.0, at_most=2.0), ValueError, "origin must be one of"),
    (dict(source="S", origin=None, statement="s", measured=1.0, at_most=2.0), ValueError, "origin must be one of"),
    (dict(source="the paper", origin="paper", statement="s", measured=1.0, at_most=2.0), ValueError, "must cite"),
])
def test_bad_claims(ledger, kwargs, error, match):
    with pytest.raises(error, match=match):
        ledger.claim("bad", **kwargs)


def test_duplicate_id_and_bad_names(ledger, tmp_path):
    ledger.claim("a", source="S", origin="reconstruction", statement="s", measured=1.0, at_most=2.0)
    with pytest.raises(ValueError, match="duplicate"):
        ledger.claim("a", source="S", origin="reconstruction", statement="s", measured=1.0, at_most=2.0)
    with pytest.raises(ValueError, match="chapter"):
        Ledger("bad/name", "nb", paper="P")
    with pytest.raises(ValueError, match="paper"):
        Ledger("chap", "nb", paper="")


class _Env:
    found_docs = {"book/chap/index", "book/chap/nb", "book/chap/silent"}
    titles: dict = {}
    config = type("Config", (), {"root_doc": "book/intro"})()
    toctree_includes = {"book/intro": ["book/chap/index"],
                        "book/chap/index": ["book/chap/nb", "book/chap/silent"]}

    def doc2path(self, docname):
        return f"{docname}.md" if docname.endswith("index") else f"{docname}.ipynb"


class _Builder:
    def get_relative_uri(self, source, target):
        return f"../{target}.html"


class _App:
    env, builder = _Env(), _Builder()


def _page(tmp_path):
    from theory.core import ledger_sphinx

    return ledger_sphinx._build_ledger(_App(), "book/ledger")


def _text(nodes_):
    return " ".join(n.astext() for n in nodes_)


def test_ledger_page_marks_stale_records_and_silent_notebooks(tmp_path, monkeypatch):
    monkeypatch.setenv("THEORY_LEDGER_DIR", str(tmp_path))
    monkeypatch.delenv("THEORY_SCALE", raising=False)
    led = Ledger("chap", "nb", paper="P")
    led.claim("chap.a", source="Eq. 1", origin="paper", statement="fresh", measured=1.0, at_most=2.0, section="Checks")
    text = _text(_page(tmp_path))
    assert "1 claims, 1 hold, 0 need paper scale, 0 do not hold" in text
    assert "stale record" not in text and "recorded no claim: silent" in text
    path = tmp_path / "chap__nb.jsonl"
    # another commit under the same build key is current: the key, not the commit, decides
    path.write_text(path.read_text().replace('"commit": "', '"commit": "0000000old'))
    assert "stale record" not in _text(_page(tmp_path))
    # the same record under another build key counts for nothing and is marked
    path.write_text(path.read_text().replace('"key": "', '"key": "0ther'))
    text = _text(_page(tmp_path))
    assert "stale record" in text and "0 claims, 0 hold" in text
    # a record from before the key existed is stale too
    line = json.loads(path.read_text())
    del line["key"]
    path.write_text(json.dumps(line) + "\n")
    assert "stale record (key none" in _text(_page(tmp_path))


def _tables(page):
    from docutils import nodes

    return [t for n in page for t in n.findall(nodes.table)]


def _cells(table):
    from docutils import nodes

    return [[e.astext() for e in row.findall(nodes.entry)] for row in table.findall(nodes.row)]


def test_ledger_page_opens_with_a_summary_table(tmp_path, monkeypatch):
    monkeypatch.setenv("THEORY_LEDGER_DIR", str(tmp_path))
    monkeypatch.delenv("THEORY_SCALE", raising=False)
    led = Ledger("chap", "nb", paper="P")
    led.claim("chap.a", source="Eq. 1", origin="paper", statement="holds", measured=1.0, at_most=2.0)
    led.claim("chap.b", source="Fig. 2", origin="paper", statement="big", measured=0.5, at_least=0.9, needs="paper")
    led.claim("chap.c", source="Fig. 3", origin="reconstruction", statement="also", measured=1.0,
              at_least=0.9)
    page = _page(tmp_path)
    overview, claims = _tables(page)
    assert "ledger-overview" in overview["classes"] and "colwidths-given" in overview["classes"]
    kinds = [n.tagname for n in page]
    assert kinds.index("table") < kinds.index("section")  # above the chapters' tables
    rows = _cells(overview)
    assert rows[0] == ["Chapter", "Claims", "Holds", "Needs paper scale", "Does not hold",
                       "The paper's", "Official code's", "Book's reconstruction"]
    assert rows[1] == ["chap", "3", "2", "1", "0", "2", "0", "1"]
    assert rows[-1] == ["All chapters", "3", "2", "1", "0", "2", "0", "1"]
    claims_text = _cells(claims)
    assert claims_text[1][0].endswith("the paper's")
    assert claims_text[3][0].endswith("the book's reconstruction")
    link = next(iter(overview.findall(lambda n: n.tagname == "reference")))
    assert link["refuri"] == "#ledger-chap"


def test_ledger_table_is_five_columns_with_widths(tmp_path, monkeypatch):
    from theory.core import ledger_sphinx

    monkeypatch.setenv("THEORY_LEDGER_DIR", str(tmp_path))
    monkeypatch.delenv("THEORY_SCALE", raising=False)
    led = Ledger("chap", "nb", paper="P")
    led.claim("chap.a_rather_long_claim_identifier", source="Eq. 1", origin="paper", statement="holds",
              measured=1.0, at_most=2.0, paper_value="≤ 2", section="Checks")
    claims = _tables(_page(tmp_path))[1]
    assert "colwidths-given" in claims["classes"] and "ledger-claims" in claims["classes"]
    header, row = _cells(claims)
    assert header == list(ledger_sphinx.COLUMNS) and len(header) == len(ledger_sphinx.WIDTHS) == 5
    assert row[0] == "chap.a_rather_long_claim_identifier holds (Eq. 1) the paper's"
    assert row[1:4] == ["≤ 2", "1 (≤ 2)", "holds (laptop)"] and row[4] == "nb § Checks"


@pytest.mark.parametrize("origin, source", [("paper", "Theorem B.6"), ("paper", "§5, Eq. 9"),
                                            ("paper", "abstract"), ("official code", "Fig1.ipynb"),
                                            ("reconstruction", "the book")])
def test_origin_is_recorded(ledger, origin, source):
    r = ledger.claim("o", source=source, origin=origin, statement="s", measured=1.0, at_most=2.0)
    assert r.origin == origin
    assert read_records(ledger.path.parent)[-1].origin == origin
