"""Explorers: a plotting function over a grid of controls, live in Jupyter, static in the book.

An explorer is a module-level function of a chapter's ``plots.py`` with explicit keyword
arguments that returns a matplotlib Figure. ``@explorer(...)`` gives each argument it controls
a finite list of values (numbers or strings)::

    @explorer(delta=[-2, -1, 0, 1, 2], tau=[0.1, 0.3, 1.0], labels={"delta": "δ", "tau": "τ"})
    def linear_explorer(delta=0.0, tau=0.3):
        fig, ax = figure()
        ...
        return fig

and the last line of a notebook cell ``linear_explorer.show()`` displays

- in Jupyter (a widget manager present): live ipywidgets, a ``SelectionSlider`` per numeric
  control over exactly the grid's values (``ToggleButtons``/``Dropdown`` for strings), a ``Play``
  widget for each control named in ``play``, the figure redrawn on every change;
- in the HTML book: a static explorer, every frame of the grid rendered to PNG when the notebook
  executes, inlined as data URIs and switched by a few lines of inline JavaScript from one range
  input per control; play buttons drawn as inline SVG. Nothing is fetched, no widget state is
  needed. ``_config.yml`` makes the HTML builders prefer ``text/html`` over the widget view.

During the book build and nbval (``THEORY_BUILD=1``) no widget is created at all, so no widget
state lands in the executed notebook.
"""

from __future__ import annotations

import base64
import functools
import html
import inspect
import io
import itertools
import json
import math
import numbers
import os
import re
from collections import OrderedDict
from typing import Any, Callable, Iterator

__all__ = ["EXPLORERS", "Explorer", "explorer"]

EXPLORERS: dict[str, "Explorer"] = {}
"""Every explorer defined so far, by name ("<module>.<qualname>" unless named)."""

MAX_FRAMES = 64  # default cap on the product of the controls' lengths
DPI = 80  # resolution of the static frames (small pages, fast builds): 6.4 in → 512 px
PLAY_INTERVAL_MS = 600
_RESERVED = ("labels", "name", "play", "max_frames")
_ids = itertools.count()  # element ids: deterministic within one kernel, unique on a page


def _format_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return str(int(value))
    return format(float(value), "g")


def _check_control(name: str, values: Any) -> tuple:
    if isinstance(values, (str, bytes, dict, set, frozenset)) or not hasattr(values, "__iter__"):
        raise TypeError(
            f"explorer control {name!r} must be a list or tuple of values (numbers or strings), "
            f"got {type(values).__name__}"
        )
    values = tuple(values.tolist() if hasattr(values, "tolist") else values)
    if not values:
        raise ValueError(f"explorer control {name!r} has no values: give at least one")
    kinds = set()
    for v in values:
        if isinstance(v, str):
            kinds.add("str")
        elif isinstance(v, numbers.Real) and not isinstance(v, bool):
            if not math.isfinite(float(v)):
                raise ValueError(f"explorer control {name!r} holds a non-finite value {v!r}")
            kinds.add("number")
        else:
            raise TypeError(
                f"explorer control {name!r} holds {v!r} of type {type(v).__name__}: "
                "values must be finite numbers or strings"
            )
    if len(kinds) > 1:
        raise TypeError(f"explorer control {name!r} mixes numbers and strings: use one kind")
    if len(set(values)) != len(values):
        raise ValueError(f"explorer control {name!r} repeats a value: {values!r}")
    return values


def explorer(
    *args,
    labels: dict[str, str] | None = None,
    name: str | None = None,
    play: str | tuple[str, ...] | list[str] = (),
    max_frames: int = MAX_FRAMES,
    **controls,
) -> Callable[[Callable], "Explorer"]:
    """Decorator: turn a plotting function into an :class:`Explorer` over a grid of controls.

    ``controls``: keyword → finite list of values (all numbers, finite, or all strings; no
    repeats). Each must be a parameter of the function; the function's other parameters need
    defaults. The product of the lengths is the number of static frames, at most ``max_frames``
    (default 64). ``labels``: control → label shown next to it (default: its name). ``name``:
    the registry key (default ``"<module>.<qualname>"``). ``play``: control name(s) that get a
    play/pause button. The keywords ``labels``, ``name``, ``play`` and ``max_frames`` are the
    decorator's own, so no control can have those names.
    """
    if args:
        raise TypeError(
            "explorer takes keyword controls only, e.g. @explorer(delta=[-1, 0, 1]) "
            "(did you write @explorer without the controls?)"
        )
    if not controls:
        raise ValueError("explorer needs at least one control, e.g. @explorer(delta=[-1, 0, 1])")
    checked = OrderedDict((k, _check_control(k, v)) for k, v in controls.items())

    if isinstance(max_frames, bool) or not isinstance(max_frames, numbers.Integral) \
            or max_frames < 1:
        raise ValueError(f"max_frames must be a positive int, got {max_frames!r}")
    n_frames = math.prod(len(v) for v in checked.values())
    if n_frames > max_frames:
        sizes = " × ".join(f"{k} ({len(v)})" for k, v in checked.items())
        raise ValueError(
            f"explorer controls {sizes} make {n_frames} frames, more than max_frames="
            f"{max_frames}: use fewer values per control (or raise max_frames)"
        )

    if labels is None:
        labels = {}
    if not isinstance(labels, dict):
        raise TypeError(f"labels must be a dict control → str, got {type(labels).__name__}")
    for key, label in labels.items():
        if key not in checked:
            raise ValueError(f"labels names {key!r}, which is not a control ({list(checked)})")
        if not isinstance(label, str) or not label:
            raise TypeError(f"labels[{key!r}] must be a non-empty str, got {label!r}")
        if "$" in label or "\\" in label:
            raise ValueError(
                f"labels[{key!r}] = {label!r}: labels are plain text shown in the page as is, "
                "not LaTeX; write symbols in Unicode (δ, τ, α²)"
            )

    if name is not None and (not isinstance(name, str) or not name):
        raise TypeError(f"name must be a non-empty str or None, got {name!r}")

    if isinstance(play, str):
        play = (play,)
    if not isinstance(play, (tuple, list)):
        raise TypeError(f"play must be a control name or a tuple of them, got {play!r}")
    for key in play:
        if key not in checked:
            raise ValueError(f"play names {key!r}, which is not a control ({list(checked)})")

    def decorate(func: Callable) -> Explorer:
        full = {k: labels.get(k, k) for k in checked}
        return Explorer(func, checked, labels=full, name=name, play=tuple(play))

    return decorate


class Explorer:
    """A plotting function with a finite grid of values for some of its arguments.

    Calling it calls the function (and checks that a matplotlib Figure came back).
    ``controls``: ordered dict name → tuple of values; ``labels``: name → label;
    ``defaults``: name → the function's default when it is on the grid, else the middle value;
    ``play``: the controls with a play button; ``shape``/``n_frames``: the grid.
    """

    def __init__(self, func, controls, *, labels, name=None, play=()):
        if not callable(func):
            raise TypeError(f"explorer decorates a function, got {type(func).__name__}")
        functools.update_wrapper(self, func)
        self.func = func
        self.controls: OrderedDict[str, tuple] = OrderedDict(controls)
        self.labels: dict[str, str] = dict(labels)
        self.play: tuple[str, ...] = tuple(play)
        self.name: str = name or f"{func.__module__}.{func.__qualname__}"
        self.last_render: dict | None = None  # frames, distinct, seconds, bytes of static_html

        sig = inspect.signature(func)
        params = sig.parameters
        var_kw = any(p.kind is p.VAR_KEYWORD for p in params.values())
        for key in self.controls:
            p = params.get(key)
            positional = p is not None and p.kind in (p.POSITIONAL_ONLY, p.VAR_POSITIONAL)
            if p is None and not var_kw or positional:
                raise TypeError(
                    f"explorer control {key!r} is not a keyword parameter of {self.name}"
                    f"{sig}: controls must name the function's arguments"
                )
        for p in params.values():
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name in self.controls:
                continue
            if p.default is p.empty:
                raise TypeError(
                    f"{self.name}: parameter {p.name!r} is neither a control nor has a default; "
                    "an explorer must be callable with its controls alone"
                )

        self.defaults: dict[str, Any] = {}
        for key, values in self.controls.items():
            p = params.get(key)
            default = p.default if p is not None else inspect.Parameter.empty
            on_grid = [v for v in values if default is not inspect.Parameter.empty
                       and _same(v, default)]  # fmt: skip
            self.defaults[key] = on_grid[0] if on_grid else values[len(values) // 2]
        EXPLORERS[self.name] = self

    # -- the grid -------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.controls.values())

    @property
    def n_frames(self) -> int:
        return math.prod(self.shape)

    def grid(self) -> Iterator[dict[str, Any]]:
        """Every point of the grid as kwargs, C order (the last control fastest)."""
        keys = list(self.controls)
        for combo in itertools.product(*self.controls.values()):
            yield dict(zip(keys, combo))

    def corners(self) -> list[dict[str, Any]]:
        """The 2^k corners of the grid (each control at its first or last value) as kwargs.

        A control with one value contributes one end, so duplicates are not repeated.
        """
        ends = [tuple(dict.fromkeys((v[0], v[-1]))) for v in self.controls.values()]
        return [dict(zip(self.controls, c)) for c in itertools.product(*ends)]

    def __call__(self, *args, **kwargs):
        fig = self.func(*args, **kwargs)
        from matplotlib.figure import Figure

        if not isinstance(fig, Figure):
            raise TypeError(
                f"explorer {self.name} must return a matplotlib Figure, got {type(fig).__name__}"
            )
        return fig

    def __repr__(self) -> str:
        grid = ", ".join(f"{k}={list(v)}" for k, v in self.controls.items())
        return f"<Explorer {self.name}({grid}): {self.n_frames} frames>"

    # -- static HTML ----------------------------------------------------------------------
    def render_frame(
        self, values: dict[str, Any] | None = None, *, dpi: int = DPI, palette: bool = True
    ) -> bytes:
        """PNG bytes of the figure at ``values`` (controls not given take their defaults).

        Drawn once by Agg at ``dpi`` over the whole figure (no tight bounding box, so every
        frame of an explorer has the same size), then, with ``palette``, reduced to a 256-colour
        palette (median cut, no dithering): about a third of the bytes of RGB for line plots.
        The figure is closed afterwards.
        """
        import matplotlib.pyplot as plt
        import numpy as np
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from PIL import Image

        dpi = _check_dpi(dpi)
        fig = self(**{**self.defaults, **(values or {})})
        try:
            fig.set_dpi(dpi)
            canvas = FigureCanvasAgg(fig)
            canvas.draw()
            rgba = np.asarray(canvas.buffer_rgba())
        finally:
            plt.close(fig)
        img = Image.fromarray(rgba, "RGBA")
        if rgba[..., 3].min() < 255:  # a transparent figure: composite over white
            img = Image.alpha_composite(Image.new("RGBA", img.size, "white"), img)
        img = img.convert("RGB")
        if palette:
            img = img.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        return buf.getvalue()

    def static_html(self, *, dpi: int = DPI, palette: bool = True) -> str:
        """A self-contained HTML explorer: every frame inlined, switched by inline JavaScript.

        One ``<img>`` (the default frame), one range input per control with its label and
        value, play/pause buttons (inline SVG) for the ``play`` controls, the frames as data URIs
        in a JSON block (identical frames stored once) and the switcher script. Element ids are
        unique per explorer on a page. ``self.last_render`` records frames, seconds and bytes.
        """
        import time

        dpi = _check_dpi(dpi)
        uris: dict[str, int] = {}
        index = []
        t0 = time.perf_counter()
        for kw in _progress(self.grid(), desc=f"explorer {self.name}", total=self.n_frames):
            png = self.render_frame(kw, dpi=dpi, palette=palette)
            uri = "data:image/png;base64," + base64.b64encode(png).decode()
            index.append(uris.setdefault(uri, len(uris)))
        seconds = time.perf_counter() - t0
        frames = list(uris)
        keys = list(self.controls)
        shape = self.shape
        strides = [math.prod(shape[j + 1 :]) for j in range(len(shape))]
        start = [self.controls[k].index(self.defaults[k]) for k in keys]
        k0 = sum(i * s for i, s in zip(start, strides))
        first = frames[index[k0]]
        frames[index[k0]] = ""  # the <img> holds it already
        uid = f"thx-{re.sub(r'[^A-Za-z0-9]+', '-', self.name).strip('-')}-{next(_ids)}"
        values = [[_format_value(v) for v in self.controls[k]] for k in keys]
        data = {"frames": frames, "index": index, "strides": strides, "values": values,
                "labels": [self.labels[k] for k in keys], "name": self.name,
                "interval": PLAY_INTERVAL_MS}  # fmt: skip
        e = html.escape
        rows = []
        for j, key in enumerate(keys):
            iid = f"{uid}-{j}"
            button = "<span></span>"  # the play column, empty
            if key in self.play:
                button = (
                    f'<button type="button" class="thx-play" data-for="{iid}" aria-label="play '
                    f'{e(self.labels[key])}" title="play/pause">{_PLAY_SVG}{_PAUSE_SVG}</button>'
                )
            rows.append(
                f'<div class="thx-row">{button}<label for="{iid}">{e(self.labels[key])}</label>'
                f'<input type="range" class="thx-range" id="{iid}" data-control="{e(key)}" min="0" '
                f'max="{len(values[j]) - 1}" step="1" value="{start[j]}" '
                f'aria-valuetext="{e(values[j][start[j]])}">'
                f'<output for="{iid}">{e(values[j][start[j]])}</output></div>'
            )
        payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
        at = ", ".join(f"{self.labels[k]} = {values[j][start[j]]}" for j, k in enumerate(keys))
        alt = e(f"{self.name} at {at}")
        out = (
            f'<div class="theory-explorer" id="{uid}" data-name="{e(self.name)}" '
            f'data-frames="{len(index)}">{_CSS}'
            f'<div class="thx-controls">{"".join(rows)}</div>'
            f'<img class="thx-frame" src="{first}" alt="{alt}">'
            f'<script type="application/json" class="thx-data">{payload}</script>'
            f"<script>{_JS.replace('__ID__', uid)}</script></div>"
        )
        self.last_render = {"frames": len(index), "distinct": len(frames), "seconds": seconds,
                            "bytes": len(out.encode())}  # fmt: skip
        return out

    # -- live widgets ---------------------------------------------------------------------
    def widget(self):
        """The live ipywidgets explorer (a VBox of controls above an Output with the figure)."""
        import ipywidgets as w
        import matplotlib.pyplot as plt
        from IPython.display import clear_output, display

        inputs, rows = {}, []
        for key, values in self.controls.items():
            label, value = self.labels[key], self.defaults[key]
            if isinstance(values[0], str):
                cls = w.ToggleButtons if len(values) <= 4 else w.Dropdown
                ctl = cls(options=list(values), value=value, description=label)
            else:
                ctl = w.SelectionSlider(
                    options=[(_format_value(v), v) for v in values], value=value,
                    description=label, continuous_update=False,
                )  # fmt: skip
            inputs[key] = ctl
            if key in self.play:
                player = w.Play(
                    min=0, max=len(values) - 1, step=1, value=values.index(value),
                    interval=PLAY_INTERVAL_MS, description=f"play {label}",
                )  # fmt: skip
                w.jslink((player, "value"), (ctl, "index"))
                rows.append(w.HBox([player, ctl]))
            else:
                rows.append(ctl)
        out = w.Output()

        def redraw(change=None):
            fig = self(**{k: c.value for k, c in inputs.items()})
            with out:
                clear_output(wait=True)
                display(fig)
            plt.close(fig)

        for ctl in inputs.values():
            ctl.observe(redraw, names="value")
        redraw()
        return w.VBox([*rows, out])

    def show(
        self, *, live: bool | None = None, static: bool | None = None, dpi: int = DPI,
        palette: bool = True,
    ) -> "ExplorerView":
        """Display the explorer: the live widgets, the static HTML, or both in one output.

        ``live=None`` creates the widgets unless ``THEORY_BUILD=1`` (nbval and the book build),
        so that no widget state is saved there. ``static=None`` draws the static explorer
        exactly when there are no live widgets: in the build, where the HTML builder is
        configured to pick ``text/html``, and not in Jupyter, where drawing every frame would
        keep a reader waiting 10–25 s for output the widget view hides. ``static=True`` gives
        both (Jupyter shows the widget view when a widget manager is present).
        """
        if live is None:
            live = os.environ.get("THEORY_BUILD", "") in ("", "0")
        view = ExplorerView(self, live=bool(live), dpi=_check_dpi(dpi), palette=bool(palette))
        view.static = (view.widget is None) if static is None else bool(static)
        return view


def _check_dpi(dpi) -> int:
    if isinstance(dpi, bool) or not isinstance(dpi, numbers.Integral) or not 20 <= dpi <= 300:
        raise ValueError(f"dpi must be an int in [20, 300], got {dpi!r}")
    return int(dpi)


def _progress(iterable, *, desc: str, total: int):
    try:
        from theory.core._progress import progress
    except ImportError:  # the core's progress bar not there: plain iteration
        return iterable
    return progress(iterable, desc=desc, total=total)


def _same(a, b) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    try:
        return not isinstance(b, bool) and float(a) == float(b)
    except (TypeError, ValueError):
        return False


class ExplorerView:
    """What ``Explorer.show()`` returns: a mime bundle with the widget view and the static HTML."""

    def __init__(self, explorer: Explorer, *, live: bool, dpi: int = DPI, palette: bool = True):
        self.explorer = explorer
        self.dpi = dpi
        self.palette = palette
        self.widget = None
        if live:
            try:
                self.widget = explorer.widget()
            except ImportError:  # no ipywidgets/IPython: the static explorer alone
                self.widget = None
        self._html: str | None = None
        self.static = True

    @property
    def html(self) -> str:
        if self._html is None:
            self._html = self.explorer.static_html(dpi=self.dpi, palette=self.palette)
        return self._html

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {"text/plain": repr(self.explorer)}
        if self.static or self.widget is None:
            bundle["text/html"] = self.html
        if self.widget is not None:
            view = self.widget._repr_mimebundle_()
            key = "application/vnd.jupyter.widget-view+json"
            if view and key in view:
                bundle[key] = view[key]
        return bundle

    def __repr__(self) -> str:
        return repr(self.explorer)


# Play/pause icons as inline SVG: no font glyphs, no icon font.
_PLAY_SVG = (
    '<svg class="thx-icon-play" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">'
    '<path d="M4 2L14 8L4 14Z" fill="currentColor"/></svg>'
)
_PAUSE_SVG = (
    '<svg class="thx-icon-pause" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true" '
    'style="display:none"><rect x="3" y="2" width="4" height="12" fill="currentColor"/>'
    '<rect x="9" y="2" width="4" height="12" fill="currentColor"/></svg>'
)
_CSS = (
    "<style>.theory-explorer{margin:.5em 0}.theory-explorer .thx-controls{display:grid;"
    "grid-template-columns:auto auto minmax(8em,16em) auto;align-items:center;gap:.3em .6em;"
    "justify-content:start;margin-bottom:.3em}.theory-explorer .thx-row{display:contents}"
    ".theory-explorer label{text-align:right}.theory-explorer input[type=range]{width:100%;"
    "margin:0}.theory-explorer output{font-variant-numeric:tabular-nums;min-width:3em}"
    ".theory-explorer .thx-play{display:inline-flex;align-items:center;justify-content:center;"
    "width:1.9em;height:1.9em;padding:0;border:1px solid #999;border-radius:4px;background:"
    "transparent;color:inherit;cursor:pointer}.theory-explorer img{display:block;"
    "max-width:100%;height:auto}</style>"
)

# The page's switcher. One copy of the machinery per page (window.theoryExplorer), one init per
# explorer. With "#explorer-selftest" in the URL, a self-test moves every control to both ends
# with real input events, presses every play button, and writes a JSON verdict into a hidden
# <pre id="explorer-selftest"> (read by tests/browser/test_explorers.py).
_JS = r"""(function(){
var T=window.theoryExplorer;
if(!T){T=window.theoryExplorer={all:[],
init:function(root){
 var data=JSON.parse(root.querySelector("script.thx-data").textContent);
 var img=root.querySelector("img.thx-frame"),first=img.getAttribute("src");
 var inputs=Array.prototype.slice.call(root.querySelectorAll("input.thx-range"));
 function update(){
  var k=0,at=[];
  inputs.forEach(function(inp,j){var i=+inp.value;k+=i*data.strides[j];
   var v=data.values[j][i];inp.setAttribute("aria-valuetext",v);at.push(data.labels[j]+" = "+v);
   var o=root.querySelector('output[for="'+inp.id+'"]');if(o)o.textContent=v;});
  img.setAttribute("src",data.frames[data.index[k]]||first);
  img.setAttribute("alt",data.name+" at "+at.join(", "));
 }
 inputs.forEach(function(inp){inp.addEventListener("input",update);});
 var buttons=Array.prototype.slice.call(root.querySelectorAll("button.thx-play"));
 buttons.forEach(function(b){
  var inp=document.getElementById(b.getAttribute("data-for")),timer=null;
  b.setAttribute("aria-pressed","false");
  b.addEventListener("click",function(){
   var on=timer===null;
   if(on){timer=setInterval(function(){inp.value=(+inp.value+1)%(+inp.max+1);
     inp.dispatchEvent(new Event("input",{bubbles:true}));},data.interval);}
   else{clearInterval(timer);timer=null;}
   b.querySelector(".thx-icon-play").style.display=on?"none":"";
   b.querySelector(".thx-icon-pause").style.display=on?"":"none";
   b.setAttribute("aria-pressed",on?"true":"false");
  });
 });
 root.thx={inputs:inputs,img:img,buttons:buttons,interval:data.interval,
  frames:data.index.length};
 T.all.push(root);
},
selftest:function(){
 function h(s){var x=5381;for(var i=0;i<s.length;i++)x=((x*33)^s.charCodeAt(i))>>>0;
  return s.slice(0,22)+":"+s.length+":"+x;}
 var report={explorers:[]},pending=0;
 function done(){if(pending)return;var pre=document.createElement("pre");
  pre.id="explorer-selftest";pre.hidden=true;pre.textContent=JSON.stringify(report);
  document.body.appendChild(pre);}
 T.all.forEach(function(root){
  var t=root.thx,r={id:root.id,name:root.getAttribute("data-name"),frames:t.frames,
   controls:[],play:[]};
  function src(){return h(t.img.getAttribute("src")||"");}
  t.inputs.forEach(function(inp){
   var keep=inp.value;
   function set(v){inp.value=v;inp.dispatchEvent(new Event("input",{bubbles:true}));return src();}
   var start=src(),lo=set(inp.min),lov=inp.getAttribute("aria-valuetext");
   var hi=set(inp.max),hiv=inp.getAttribute("aria-valuetext");set(keep);
   r.controls.push({control:inp.getAttribute("data-control"),start:start,min:lo,max:hi,
    min_value:lov,max_value:hiv,changed:lo!==start||hi!==start,ends_differ:lo!==hi,
    restored:src()===start});
  });
  t.buttons.forEach(function(b){
   var p={control:document.getElementById(b.getAttribute("data-for")).getAttribute("data-control"),
    svg:b.querySelectorAll("svg").length,before:src()};
   r.play.push(p);pending++;b.click();p.pressed=b.getAttribute("aria-pressed");
   setTimeout(function(){p.after=src();p.changed=p.after!==p.before;b.click();
    p.released=b.getAttribute("aria-pressed");pending--;done();},1.5*t.interval);
  });
  report.explorers.push(r);
 });
 done();
}};
window.addEventListener("load",function(){
 if(location.hash==="#explorer-selftest")T.selftest();});}
T.init(document.getElementById("__ID__"));
})();"""
