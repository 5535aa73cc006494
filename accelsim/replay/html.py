"""`write_html`: one self-contained HTML file that replays a trace in any browser.

The file carries the exact intervals of every signal in the window (base64 typed arrays, start
cycles delta-encoded), its script and its style inline, and loads nothing from anywhere: it can
be mailed to a colleague. The page aggregates per pixel column as the replay window does
(`accelsim.trace.columns`), so what it draws is exact at every zoom.
"""

from __future__ import annotations

import base64
import html
import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

from accelsim.errors import InputError
from accelsim.metrics.report import format_si
from accelsim.plots import BUS_STYLE, STATE_STYLE
from accelsim.replay.drawing import BUFFERS, LANES_BAND, LANES_MEAN
from accelsim.replay.model import capacity_bytes, check_output
from accelsim.trace.listing import check_window
from accelsim.trace.trace import Trace

#: Larger windows make a page that browsers load slowly; replay a window (--cycles) instead.
MAX_HTML_INTERVALS = 5_000_000
_INT32 = np.iinfo(np.int32)
_IDLE_COLOR = "#ececec"
#: Colour (mean) and band (min to max) of value signals not listed in BUFFERS.
_VALUE_STYLE = {"mac.busy_lanes": (LANES_MEAN, LANES_BAND)}
_DEFAULT_VALUE_STYLE = ("#555555", "#d5d5d5")


def _encode(values: np.ndarray) -> tuple[str, str]:
    """Base64 of little-endian int32 when every value fits, float64 otherwise (exact to 2^53)."""
    fits = not len(values) or (values.min() >= _INT32.min and values.max() <= _INT32.max)
    array = values.astype("<i4" if fits else "<f8")
    return base64.b64encode(array.tobytes()).decode("ascii"), "i4" if fits else "f8"


def _state_colors(name: str, states: tuple[str, ...]) -> dict[str, str]:
    styles = {**STATE_STYLE, **BUS_STYLE} if name in ("mac.state", "dram.bus") else {}
    return {state: styles.get(state, (_IDLE_COLOR,))[0] for state in states}


def _value_style(trace: Trace, name: str) -> tuple[str, str, int]:
    """(colour, band colour, full scale) of a value signal: buffers against their capacity, lanes
    against the array, anything else against its largest value in the whole run (not the window,
    so a quiet window looks quiet)."""
    for signal, key, color, _ in BUFFERS:
        if signal == name:
            return color, color + "55", capacity_bytes(trace, key)
    if name == "mac.busy_lanes":
        return (*_VALUE_STYLE[name], int(trace.meta["hardware"]["mac_array"]["lanes"]))
    color, band = _VALUE_STYLE.get(name, _DEFAULT_VALUE_STYLE)
    return color, band, int(trace.values[name].max())


def _signal(trace: Trace, name: str, start: int, stop: int) -> dict[str, Any]:
    spec = trace.specs[name]
    starts, _, values = trace.intervals(name, start, stop)
    deltas = np.diff(starts, prepend=0)
    entry: dict[str, Any] = {"name": name, "unit": spec.unit, "description": spec.description, "states": spec.states}
    entry["starts"], entry["starts_type"] = _encode(deltas)
    entry["values"], entry["values_type"] = _encode(values)
    if spec.states:
        entry["colors"] = _state_colors(name, spec.states)
    else:
        entry["color"], entry["band"], entry["max"] = _value_style(trace, name)
    return entry


def page_data(trace: Trace, start: int, stop: int) -> dict[str, Any]:
    """What the page's script reads: the window, the clock, layer names and every signal."""
    return {
        "title": f"{trace.meta['network']['name']} on {trace.meta['hardware'].get('name', '?')}",
        "clock_hz": float(trace.meta["clock_hz"]),
        "start": start,
        "stop": stop,
        "end_cycle": trace.end_cycle,
        "layers": [str(m["name"]) for m in trace.meta["layers"]],
        "layer_signal": "layer",
        "tile_signal": "tile",
        "signals": [_signal(trace, name, start, stop) for name in trace.specs],
    }


def _legend(trace: Trace) -> str:
    items = [(color, label) for color, label in (*STATE_STYLE.values(), *BUS_STYLE.values())]
    items += [(color, f"{label} buffer bytes") for _, _, color, label in BUFFERS]
    return "".join(f'<span style="--c:{color}">{html.escape(label)}</span>' for color, label in items)


def write_html(trace: Trace, path: str | Path, start: int | None = None, stop: int | None = None) -> Path:
    """Write the replay page of cycles [start, stop) of `trace` to `path`; returns the path."""
    path = Path(path)
    check_output(path)
    lo, hi = check_window(trace, start, stop)
    intervals = sum(len(trace.intervals(name, lo, hi)[0]) for name in trace.specs)
    if intervals > MAX_HTML_INTERVALS:
        raise InputError(
            f"--html: {intervals:,} intervals in the window (at most {MAX_HTML_INTERVALS:,}); replay a window with --cycles A:B"
        )
    data = page_data(trace, lo, hi)
    web = files("accelsim.replay") / "web"
    title = f"{data['title']}: cycles {lo:,} to {hi:,} ({format_si((hi - lo) / data['clock_hz'], 's')})"
    text = _TEMPLATE.format(
        title=html.escape(title),
        style=web.joinpath("timeline.css").read_text(),
        script=web.joinpath("timeline.js").read_text(),
        data=json.dumps(data, separators=(",", ":")).replace("</", "<\\/"),
        legend=_legend(trace),
        summary=f"{len(data['signals'])} signals, {intervals:,} intervals, exact at every zoom",
    )
    path.write_text(text, encoding="utf-8")
    return path


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
{style}
</style>
</head>
<body>
<header>
<h1>accelsim replay: {title}</h1>
<div class="controls">
<button id="prev" title="previous tile (left arrow)">« tile</button>
<button id="play" title="play / pause (space)">▶ play</button>
<button id="next" title="next tile (right arrow)">tile »</button>
<button id="zoom-in" title="zoom in (+)">zoom +</button>
<button id="zoom-out" title="zoom out (-)">zoom −</button>
<button id="fit" title="whole window (0, or double-click)">fit</button>
<span class="status" id="status"></span>
</div>
</header>
<div id="legend">{legend}</div>
<div id="stage"><canvas id="timeline"></canvas><div id="tip"></div></div>
<footer id="summary">{summary}. Wheel: zoom at the pointer; drag: pan; hover: values at a cycle; click: place the cursor.</footer>
<script type="application/json" id="trace-data">{data}</script>
<script>
{script}
</script>
</body>
</html>
"""
