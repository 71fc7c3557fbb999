"""Explorers (theory.core.explorer): validation, the registry, the static HTML, the live widgets,
and every chapter's explorers called at the corners of their controls."""

from __future__ import annotations

import importlib
import json
import math
import pkgutil
import re
from html.parser import HTMLParser

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import theory  # noqa: E402
from theory.core import EXPLORERS, Explorer, explorer  # noqa: E402

CHAPTERS = sorted(
    m.name for m in pkgutil.iter_modules(theory.__path__) if m.ispkg and m.name != "core"
)


def _import_chapters() -> None:
    """Import every module of every chapter, so that every explorer is registered."""
    for chapter in CHAPTERS:
        pkg = importlib.import_module(f"theory.{chapter}")
        for info in pkgutil.walk_packages(pkg.__path__, prefix=f"theory.{chapter}."):
            if info.name.endswith(".__main__"):  # a tool's entry point runs when imported
                continue
            importlib.import_module(info.name)


_import_chapters()


def _chapter(exp: Explorer) -> str | None:
    parts = exp.func.__module__.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "theory" and parts[1] in CHAPTERS else None


CHAPTER_EXPLORERS = {name: exp for name, exp in EXPLORERS.items() if _chapter(exp)}


@pytest.fixture
def registry():
    """Explorers made by a test are removed from the registry afterwards."""
    before = dict(EXPLORERS)
    yield EXPLORERS
    EXPLORERS.clear()
    EXPLORERS.update(before)


def line(a=1.0, b=0.0, kind="sin"):
    fig, ax = plt.subplots(figsize=(3, 2))
    x = np.linspace(0, 3, 50)
    ax.plot(x, a * (np.sin(x) if kind == "sin" else np.cos(x)) + b)
    return fig


# -- the chapters' explorers --------------------------------------------------------------


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_has_an_explorer(chapter):
    found = [n for n, exp in CHAPTER_EXPLORERS.items() if _chapter(exp) == chapter]
    assert found, f"theory.{chapter} defines no @explorer (every chapter has at least one)"


CORNERS = [
    pytest.param(exp, corner, id=f"{name}[{','.join(f'{k}={v}' for k, v in corner.items())}]")
    for name, exp in sorted(CHAPTER_EXPLORERS.items())
    for corner in exp.corners()
]


@pytest.mark.skipif(not CORNERS, reason="no chapter defines an explorer yet")
@pytest.mark.parametrize(("exp", "corner"), CORNERS or [(None, None)])
def test_explorer_at_corner(exp, corner):
    """Every registered chapter explorer, at every corner of its controls, draws data."""
    fig = exp(**corner)
    try:
        assert isinstance(fig, Figure)
        assert fig.axes, f"{exp.name} at {corner}: the figure has no axes"
        assert any(ax.has_data() for ax in fig.axes), f"{exp.name} at {corner}: no axes has data"
        FigureCanvasAgg(fig).draw()  # what the static frame does: errors at draw time show here
    finally:
        plt.close(fig)


def test_chapter_explorers_fit_the_grid_cap():
    for name, exp in CHAPTER_EXPLORERS.items():
        assert 1 <= exp.n_frames <= 64, f"{name}: {exp.n_frames} frames"
        assert set(exp.controls) == set(exp.labels) == set(exp.defaults)


# -- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("controls", "error", "match"),
    [
        ({"a": "abc"}, TypeError, "control 'a' must be a list"),
        ({"a": 3}, TypeError, "control 'a' must be a list"),
        ({"a": {1: 2}}, TypeError, "control 'a' must be a list"),
        ({"a": {1, 2}}, TypeError, "control 'a' must be a list"),
        ({"a": []}, ValueError, "control 'a' has no values"),
        ({"a": [1.0, float("nan")]}, ValueError, "control 'a' holds a non-finite"),
        ({"a": [1.0, math.inf]}, ValueError, "control 'a' holds a non-finite"),
        ({"a": [True, False]}, TypeError, "control 'a' holds True"),
        ({"a": [None, 1]}, TypeError, "control 'a' holds None"),
        ({"a": [1j, 2]}, TypeError, "control 'a' holds 1j"),
        ({"a": [1, "x"]}, TypeError, "control 'a' mixes numbers and strings"),
        ({"a": [1, 2, 1]}, ValueError, "control 'a' repeats a value"),
        ({"a": list(range(9)), "b": list(range(8))}, ValueError, r"a \(9\) × b \(8\) make 72"),
        ({}, ValueError, "at least one control"),
    ],
)
def test_controls_are_validated(controls, error, match, registry):
    with pytest.raises(error, match=match):
        explorer(**controls)(line)


def test_frame_cap_can_be_raised(registry):
    exp = explorer(a=list(range(9)), b=list(range(8)), max_frames=72)(line)
    assert exp.n_frames == 72
    with pytest.raises(ValueError, match="max_frames must be a positive int"):
        explorer(a=[1], max_frames=0)
    with pytest.raises(ValueError, match="max_frames must be a positive int"):
        explorer(a=[1], max_frames=True)


def test_numpy_values_become_python_values(registry):
    exp = explorer(a=np.array([0.5, 1.0]), b=np.arange(2))(line)
    assert exp.controls == {"a": (0.5, 1.0), "b": (0, 1)}
    assert all(type(v) in (float, int) for vs in exp.controls.values() for v in vs)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"labels": {"c": "γ"}}, ValueError, "labels names 'c', which is not a control"),
        ({"labels": {"a": ""}}, TypeError, r"labels\['a'\] must be a non-empty str"),
        ({"labels": ["a"]}, TypeError, "labels must be a dict"),
        ({"labels": {"a": "$\\alpha$"}}, ValueError, "labels are plain text"),
        ({"name": ""}, TypeError, "name must be a non-empty str"),
        ({"name": 3}, TypeError, "name must be a non-empty str"),
        ({"play": ("c",)}, ValueError, "play names 'c', which is not a control"),
        ({"play": 3}, TypeError, "play must be a control name"),
    ],
)
def test_options_are_validated(kwargs, error, match, registry):
    with pytest.raises(error, match=match):
        explorer(a=[1, 2], **kwargs)(line)


def test_controls_must_be_parameters(registry):
    with pytest.raises(TypeError, match="control 'z' is not a keyword parameter"):
        explorer(z=[1, 2])(line)

    def positional_only(a, /, b=1):
        return line()

    with pytest.raises(TypeError, match="control 'a' is not a keyword parameter"):
        explorer(a=[1, 2])(positional_only)

    def needs_c(a=1, c=None, *, d):
        return line()

    with pytest.raises(TypeError, match="parameter 'd' is neither a control nor has a default"):
        explorer(a=[1, 2])(needs_c)


def test_decorator_needs_keyword_controls():
    with pytest.raises(TypeError, match="keyword controls only"):
        explorer(line)


def test_function_must_return_a_figure(registry):
    @explorer(a=[1, 2])
    def not_a_figure(a=1):
        return a

    with pytest.raises(TypeError, match="must return a matplotlib Figure, got int"):
        not_a_figure(a=1)


def test_dpi_is_validated(registry):
    exp = explorer(a=[1, 2])(line)
    for dpi in (0, 10, 1000, 72.0, True):
        with pytest.raises(ValueError, match="dpi must be an int in"):
            exp.render_frame(dpi=dpi)
        with pytest.raises(ValueError, match="dpi must be an int in"):
            exp.show(live=False, dpi=dpi)


# -- the explorer object and the registry -------------------------------------------------


def test_registry_and_attributes(registry):
    controls = {"a": [0.5, 1.0, 2.0], "b": [-1, 0, 1, 2], "kind": ["sin", "cos"]}
    exp = explorer(**controls, labels={"a": "α"})(line)
    assert isinstance(exp, Explorer)
    assert exp.name == f"{__name__}.line"
    assert EXPLORERS[exp.name] is exp
    assert exp.__doc__ == line.__doc__ and exp.__wrapped__ is line
    assert list(exp.controls) == ["a", "b", "kind"]
    assert exp.controls["b"] == (-1, 0, 1, 2)
    assert exp.labels == {"a": "α", "b": "b", "kind": "kind"}
    # the function's default where it is on the grid, else the middle value
    assert exp.defaults == {"a": 1.0, "b": 0, "kind": "sin"}
    assert exp.shape == (3, 4, 2) and exp.n_frames == 24
    grid = list(exp.grid())
    assert len(grid) == 24 and grid[0] == {"a": 0.5, "b": -1, "kind": "sin"}
    assert grid[1] == {"a": 0.5, "b": -1, "kind": "cos"}  # the last control fastest

    named = explorer(a=[3.0, 4.0, 5.0], name="my.explorer")(line)
    assert EXPLORERS["my.explorer"] is named and named.defaults == {"a": 4.0}  # middle value


def test_corners(registry):
    exp = explorer(a=[0.5, 1.0, 2.0], b=[-1, 0, 1], kind=["sin", "cos"])(line)
    corners = exp.corners()
    assert len(corners) == 8
    assert {"a": 0.5, "b": -1, "kind": "sin"} in corners
    assert {"a": 2.0, "b": 1, "kind": "cos"} in corners
    assert len({tuple(c.values()) for c in corners}) == 8
    single = explorer(a=[1.0], b=[0, 1])(line)
    assert single.corners() == [{"a": 1.0, "b": 0}, {"a": 1.0, "b": 1}]


def test_call_returns_the_figure(registry):
    exp = explorer(a=[1.0, 2.0])(line)
    fig = exp(a=2.0, kind="cos")
    assert isinstance(fig, Figure)
    plt.close(fig)


# -- the static explorer ------------------------------------------------------------------


class Tags(HTMLParser):
    def __init__(self, text):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[tuple[dict, str]] = []
        self._script = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "script":
            self._script = (attrs, [])

    def handle_data(self, data):
        if self._script is not None:
            self._script[1].append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script[0], "".join(self._script[1])))
            self._script = None

    def find(self, tag, **attrs):
        return [a for t, a in self.tags if t == tag and attrs.items() <= a.items()]


@pytest.fixture(scope="module")
def tiny():
    """A 12-frame explorer (removed from the registry after this module), and its static HTML
    rendered once for the tests that only read it."""
    exp = explorer(a=[0.5, 2.0], b=[-1, 0, 1], kind=["sin", "cos"], labels={"a": "α <1>"},
                   play=("b",), name="tests.tiny")(line)  # fmt: skip
    yield exp, exp.static_html(), dict(exp.last_render)
    EXPLORERS.pop("tests.tiny", None)


@pytest.fixture
def small(registry):
    return explorer(a=[1.0, 2.0])(line)


def test_static_html(tiny):
    tiny, text, last_render = tiny
    page = Tags(text)
    roots = page.find("div", **{"class": "theory-explorer"})
    assert len(roots) == 1 and roots[0]["data-frames"] == str(tiny.n_frames) == "12"
    imgs = page.find("img")
    assert len(imgs) == 1
    inputs = page.find("input")
    assert [i["data-control"] for i in inputs] == ["a", "b", "kind"]
    assert all(i["type"] == "range" and i["min"] == "0" for i in inputs)
    assert [int(i["max"]) + 1 for i in inputs] == [2, 3, 2]
    assert [i["value"] for i in inputs] == ["1", "1", "0"]  # the defaults 2.0, 0, "sin"
    labels = {a["for"]: a for a in page.find("label")}
    assert set(labels) == {i["id"] for i in inputs}
    assert "α &lt;1&gt;" in text  # labels are escaped
    outputs = page.find("output")
    assert len(outputs) == 3
    (data,) = [json.loads(b) for a, b in page.scripts if a.get("type") == "application/json"]
    assert len(data["index"]) == tiny.n_frames
    assert data["strides"] == [6, 2, 1]
    assert data["values"] == [["0.5", "2"], ["-1", "0", "1"], ["sin", "cos"]]
    assert data["labels"] == ["α <1>", "b", "kind"] and data["name"] == tiny.name
    assert max(data["index"]) == len(data["frames"]) - 1
    srcs = [imgs[0]["src"]] + [f for f in data["frames"] if f]
    assert len(srcs) == len(data["frames"])  # the shown frame is stored once, in the <img>
    assert all(s.startswith("data:image/png;base64,") for s in srcs)
    assert len(set(srcs)) == len(srcs)
    assert not re.search(r"https?:|url\(|\b(src|href)=\"//", text)  # nothing to fetch
    assert last_render["frames"] == 12 and last_render["bytes"] == len(text.encode())


def test_static_html_play_buttons_are_svg(tiny):
    text = tiny[1]
    buttons = re.findall(r'<button[^>]*class="thx-play"[^>]*>(.*?)</button>', text)
    assert len(buttons) == 1
    assert buttons[0].count("<svg") == 2 and "<path" in buttons[0] and "<rect" in buttons[0]
    assert not re.search(r"[\u2190-\u2BFF]|fa-|font-awesome", text)  # no glyphs, no icon font


def test_static_html_ids_are_unique(small):
    ids = [a["id"] for _, a in Tags(small.static_html() + small.static_html()).tags if "id" in a]
    assert len(ids) == len(set(ids)) == 2 * (1 + 1)


def test_static_frames_match_the_function(tiny):
    """The frame shown for a setting is the figure the function draws there."""
    from io import BytesIO

    from PIL import Image

    tiny, text, _ = tiny
    page = Tags(text)
    (data,) = [json.loads(b) for a, b in page.scripts if a.get("type") == "application/json"]
    for k, kw in enumerate(tiny.grid()):
        uri = data["frames"][data["index"][k]] or page.find("img")[0]["src"]
        png = __import__("base64").b64decode(uri.split(",", 1)[1])
        assert png == tiny.render_frame(kw), f"frame {k} ({kw}) is not the figure at {kw}"
        assert Image.open(BytesIO(png)).size == (240, 160)  # 3 × 2 in at 80 dpi, no tight crop


def test_render_frame_closes_figures(small):
    before = plt.get_fignums()
    small.render_frame({"a": 2.0})
    small.static_html()
    assert plt.get_fignums() == before


# -- the live explorer --------------------------------------------------------------------


def test_show_bundle_live_and_static(small, monkeypatch):
    pytest.importorskip("ipywidgets")
    monkeypatch.delenv("THEORY_BUILD", raising=False)
    view = small.show()
    bundle = view._repr_mimebundle_()
    # live in Jupyter: the widget view only, no static frames drawn for a reader to wait on
    assert set(bundle) == {"text/plain", "application/vnd.jupyter.widget-view+json"}
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == view.widget.model_id
    both = small.show(static=True)._repr_mimebundle_()
    assert set(both) == {"text/plain", "text/html", "application/vnd.jupyter.widget-view+json"}
    assert 'class="theory-explorer"' in both["text/html"]


@pytest.mark.parametrize("value", ["1", "true"])
def test_show_creates_no_widget_in_the_build(small, monkeypatch, value):
    monkeypatch.setenv("THEORY_BUILD", value)
    view = small.show()
    assert view.widget is None
    assert set(view._repr_mimebundle_()) == {"text/plain", "text/html"}
    assert small.show(live=False).widget is None


def test_live_widgets(registry):
    w = pytest.importorskip("ipywidgets")
    figures = plt.get_fignums()
    calls = []

    @explorer(a=[0.5, 2.0], b=[-1, 0, 1], kind=["sin", "cos"], play="b")
    def counted(a=1.0, b=0.0, kind="sin"):
        calls.append((a, b, kind))
        return line(a, b, kind)

    box = counted.widget()
    assert calls == [(2.0, 0, "sin")]  # drawn once at the defaults
    children = box.children
    assert isinstance(children[-1], w.Output)
    a_slider, (play, b_slider), kind_buttons = children[0], children[1].children, children[2]
    assert isinstance(a_slider, w.SelectionSlider) and isinstance(b_slider, w.SelectionSlider)
    assert [v for _, v in a_slider.options] == [0.5, 2.0]
    assert [v for _, v in b_slider.options] == [-1, 0, 1]
    assert isinstance(play, w.Play) and (play.min, play.max, play.value) == (0, 2, 1)
    assert isinstance(kind_buttons, w.ToggleButtons)
    assert list(kind_buttons.options) == ["sin", "cos"]
    b_slider.value = 1
    kind_buttons.value = "cos"
    assert calls[1:] == [(2.0, 1, "sin"), (2.0, 1, "cos")]
    assert plt.get_fignums() == figures


def test_many_strings_get_a_dropdown(registry):
    w = pytest.importorskip("ipywidgets")
    exp = explorer(kind=["a", "b", "c", "d", "e"])(lambda kind="a": line())
    assert isinstance(exp.widget().children[0], w.Dropdown)
