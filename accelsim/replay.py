"""Replay of a trace: exact per-pixel-column views, a summary PNG, GIF/MP4 export and a window.

Long runs (10^9 cycles) stay fast because every view aggregates intervals, never samples
(`accelsim.trace.columns`): each pixel column shows the minimum, maximum and mean of a signal
over exactly its cycles, computed in O(intervals in view + columns). Zooming in until a column
is one cycle shows exact per-cycle values.

Figures are built on `matplotlib.figure.Figure` directly, so exporting never switches the
user's pyplot backend; only the interactive window (`show`) goes through pyplot.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, StepPatch
from matplotlib.ticker import EngFormatter, FuncFormatter
from tqdm import tqdm

from accelsim.errors import InputError
from accelsim.metrics import layer_spans, summarize
from accelsim.plots import BUS_STYLE, STATE_STYLE
from accelsim.report import format_si
from accelsim.trace.columns import (  # re-exported: the replay API
    StateFractions,
    aggregate,
    state_fractions,
    value_at,
    value_fractions,
)
from accelsim.trace.listing import check_window
from accelsim.trace.trace import Trace

#: (signal, capacity field of hardware.buffers, colour, label).
BUFFERS = (
    ("buf.weight", "weight_bytes", "#1f77b4", "weight"),
    ("buf.activation", "activation_bytes", "#ff7f0e", "activation"),
    ("buf.output", "output_bytes", "#d62728", "output"),
)
#: Busy lanes: a pale band from the least to the most lanes busy in a column, the mean a darker
#: filled step, so a low mean stays visible under a band that spans 0 to all lanes.
_LANES_BAND, _LANES_MEAN, _LANES_LINE = "#b5e3ad", "#2ca02c", "#1b5e20"
_NON_INTERACTIVE_BACKENDS = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}


# --- output checks ------------------------------------------------------------------------------


def _check_output(path: Path) -> None:
    """Fail before minutes of rendering, not after, when the file cannot be written."""
    if not path.parent.is_dir():
        raise InputError(f"replay: cannot write {path}: no directory {path.parent}")


# --- drawing helpers ----------------------------------------------------------------------------


def _time_unit(seconds: float) -> tuple[float, str]:
    """(factor, unit) that shows a span of `seconds` with a readable number."""
    for factor, unit in ((1.0, "s"), (1e3, "ms"), (1e6, "µs")):
        if seconds * factor >= 1:
            return factor, unit
    return 1e9, "ns"


def _capacity(trace: Trace, key: str) -> int:
    return int(trace.meta["hardware"]["buffers"][key])


def _style(styles: dict[str, tuple[str, str]], state: str, k: int) -> tuple[str, str]:
    return styles.get(state, (f"C{k}", state.lower()))


class _Steps:
    """Step patches by key, made once and then updated in place. `Axes.stairs` walks the whole
    path to update data limits, too slow to repeat for every frame; these panels set their
    limits themselves."""

    def __init__(self) -> None:
        self.patches: dict[object, StepPatch] = {}

    def put(
        self,
        key: object,
        ax: Axes,
        values: np.ndarray,
        edges: np.ndarray,
        baseline: np.ndarray | float | None = None,
        **style: Any,
    ) -> StepPatch:
        """Show `values` over `edges` (a filled band down to `baseline`, or a line if None)."""
        patch = self.patches.get(key)
        if patch is None:
            patch = StepPatch(values, edges, baseline=baseline, fill=baseline is not None, **style)
            ax.add_artist(patch)
            self.patches[key] = patch
        else:
            patch.set_data(values, edges, baseline)
            patch.set_visible(True)
        return patch

    def hide(self, key: object) -> None:
        if key in self.patches:
            self.patches[key].set_visible(False)

    def stack(
        self,
        key: object,
        ax: Axes,
        fractions: StateFractions,
        styles: dict[str, tuple[str, str]],
        y0: float = 0.0,
        y1: float = 100.0,
        only: Sequence[str] | None = None,
        alpha: float = 1.0,
        x: np.ndarray | None = None,
    ) -> list[StepPatch]:
        """State fractions stacked between heights y0 and y1 in `styles` order (other states
        on top), over `x` (default: the cycle edges); one labelled patch per state."""
        x = fractions.edges if x is None else x
        order = [s for s in styles if s in fractions.states] + [s for s in fractions.states if s not in styles]
        if only is not None:
            order = [s for s in order if s in only]
        bottom = np.zeros(len(fractions.edges) - 1)
        patches = []
        for k, state in enumerate(order):
            color, label = _style(styles, state, k)
            top = bottom + fractions[state]
            low, high = y0 + (y1 - y0) * bottom, y0 + (y1 - y0) * top
            patches.append(self.put((key, state), ax, high, x, low, color=color, lw=0, alpha=alpha, label=label))
            bottom = top
        return patches


def _layer_lines(ax: Axes, trace: Trace, scale: Callable[[np.ndarray], np.ndarray]) -> None:
    """Faint vertical lines where each layer starts."""
    starts = np.array([a for a, _ in layer_spans(trace)[1:]], dtype=np.int64)
    if len(starts):
        ax.vlines(scale(starts), 0, 1, transform=ax.get_xaxis_transform(), color="0.35", lw=0.5, alpha=0.35, zorder=3)


def _legend(ax: Axes, handles: Sequence[Any], title: str | None = None) -> None:
    ax.legend(
        handles=list(handles),
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=9,
        title=title,
        title_fontsize=9,
        frameon=False,
        borderaxespad=0,
    )


# --- static summary -----------------------------------------------------------------------------


def summary_png(trace: Trace, path: str | Path, start: int | None = None, stop: int | None = None) -> Path:
    """One 1600x1000 PNG of the run: MAC-array state over time (stall reasons stacked), DRAM
    bus and queue, buffer occupancy, and cycles per layer by state. `start`/`stop` narrow the
    over-time panels; the per-layer bars always cover the whole run."""
    path = Path(path)
    _check_output(path)
    lo, hi = (0 if start is None else start), (trace.end_cycle if stop is None else stop)
    check_window(trace, lo, hi)
    clock = float(trace.meta["clock_hz"])
    factor, unit = _time_unit((hi - lo) / clock)

    def to_time(cycles: np.ndarray) -> np.ndarray:
        return np.asarray(cycles, dtype=float) / clock * factor

    fig = Figure(figsize=(16, 10), dpi=100)
    grid = fig.add_gridspec(
        4, 1, height_ratios=[3, 2, 2, 2.6], left=0.065, right=0.83, top=0.91, bottom=0.13, hspace=0.55
    )
    ax_state = fig.add_subplot(grid[0])
    ax_dram, ax_buf = (fig.add_subplot(grid[i], sharex=ax_state) for i in (1, 2))
    ax_layers = fig.add_subplot(grid[3])
    steps = _Steps()
    # One column per pixel of the plotting area: what a pixel shows is exact, nothing is lost.
    columns = max(1, int(ax_state.bbox.width))

    # (a) what the MAC array does with each cycle
    fractions = state_fractions(trace, lo, hi, columns)
    x = to_time(fractions.edges)
    patches = steps.stack("state", ax_state, fractions, STATE_STYLE, x=x)
    ax_state.set_ylim(0, 100)
    ax_state.set_ylabel("MAC array cycles (%)")
    ax_state.set_title("MAC array state over time: busy, or stalled on the operand it waits for", loc="left")
    _legend(ax_state, patches[::-1], "MAC array state")

    # (b) DRAM bus direction and the request queue behind it
    bus = value_fractions(trace, "dram.bus", lo, hi, columns)
    patches = steps.stack("bus", ax_dram, bus, BUS_STYLE, only=("READ", "WRITE"), alpha=0.6, x=x)
    ax_dram.set_ylim(0, 105)
    ax_dram.set_ylabel("DRAM bus busy (%)")
    queue = aggregate(trace, "dram.queue", lo, hi, columns)
    twin = ax_dram.twinx()
    line = steps.put("queue", twin, queue.mean, x, color="black", lw=0.9, label="queue depth (mean)")
    twin.set_ylim(0, max(1.0, float(queue.maximum.max())) * 1.25)
    twin.set_ylabel("queue depth (requests)")
    ax_dram.set_title("DRAM bus (share of cycles reading / writing) and request queue", loc="left")
    _legend(twin, [*patches[::-1], line], "DRAM")
    # The legend sits right of the twin's tick labels, so push it clear of them.
    twin.get_legend().set_bbox_to_anchor((1.065, 1.0))

    # (c) buffers
    handles = []
    for name, key, color, label in BUFFERS:
        agg = aggregate(trace, name, lo, hi, columns)
        capacity = _capacity(trace, key)
        steps.put(
            (name, "band"),
            ax_buf,
            100 * agg.maximum / capacity,
            x,
            100 * agg.minimum / capacity,
            color=color,
            alpha=0.15,
            lw=0,
        )
        label = f"{label} ({capacity // 1024} KiB)"
        handles.append(steps.put(name, ax_buf, 100 * agg.mean / capacity, x, color=color, lw=1.1, label=label))
    handles.append(Patch(color="0.6", alpha=0.3, label="min–max per column"))
    ax_buf.set_ylim(0, 105)
    ax_buf.set_ylabel("occupancy (% of capacity)")
    ax_buf.set_title("On-chip buffer occupancy (line: mean per column)", loc="left")
    _legend(ax_buf, handles, "buffer")

    for ax in (ax_state, ax_dram, ax_buf):
        ax.set_xlim(x[0], x[-1])
        ax.set_xlabel(f"time ({unit})", labelpad=1)
        _layer_lines(ax, trace, to_time)
    ax_state.text(
        1.0,
        1.02,
        "grey lines: layer boundaries",
        transform=ax_state.transAxes,
        ha="right",
        va="bottom",
        fontsize=8,
        color="0.35",
    )

    # (d) where each layer's cycles went
    summary = summarize(trace)
    _layer_bars(ax_layers, summary.layers)

    total = summary.total
    span = "" if (lo, hi) == (0, trace.end_cycle) else f"  (time panels: cycles {lo:,}–{hi:,})"
    fig.suptitle(
        f"{summary.network} on {summary.hardware}: {trace.end_cycle:,} cycles = {format_si(total.latency_s, 's')} "
        f"at {format_si(clock, 'Hz')}  ·  MAC utilization {100 * total.mac_utilization:.1f}%  ·  "
        f"energy {format_si(total.energy.total_j, 'J')}{span}",
        fontsize=14,
        fontweight="bold",
    )
    fig.savefig(path, dpi=100)
    return path


def _layer_bars(ax: Axes, layers: Sequence[Any]) -> None:
    """Cycles of each layer, stacked by MAC-array state."""
    names = [f.name for f in layers]
    position = np.arange(len(names))
    bottom = np.zeros(len(names))
    handles = []
    for state, (color, label) in STATE_STYLE.items():
        heights = np.array([f.state_cycles.get(state, 0) for f in layers], dtype=float)
        handles.append(ax.bar(position, heights, bottom=bottom, color=color, label=label, width=0.8))
        bottom += heights
    ax.set_xticks(position)
    many = len(names) > 16
    ax.set_xticklabels(
        names,
        rotation=60 if many else 0,
        ha="right" if many else "center",
        rotation_mode="anchor",
        fontsize=7 if len(names) > 40 else 8,
    )
    ax.set_xlim(-0.6, len(names) - 0.4)
    ax.set_ylim(0, max(1.0, float(bottom.max())) * 1.08)
    ax.yaxis.set_major_formatter(EngFormatter(places=0, sep=""))
    ax.set_ylabel("cycles")
    ax.set_title("Cycles per layer by MAC array state (whole run)", loc="left")
    _legend(ax, handles[::-1], "MAC array state")


# --- animated replay ----------------------------------------------------------------------------


class ReplayView:
    """The replay figure, pure drawing (no widgets, no event loop): overview panels of a cycle
    window (MAC busy lanes with a state strip, DRAM bus and queue, buffer occupancy), a moving
    cursor, a header naming the cursor's cycle, layer and states, and a "now" panel following
    the cursor with a zoomed exact view. `draw_window` re-aggregates the overview for any
    window, so zooming down to a few hundred cycles shows exact per-cycle values."""

    def __init__(
        self,
        trace: Trace,
        start: int = 0,
        stop: int | None = None,
        *,
        now_cycles: int | None = None,
        figure: Figure | None = None,
        controls: bool = False,
    ) -> None:
        self.trace = trace
        self.start, self.stop = start, trace.end_cycle if stop is None else stop
        check_window(trace, self.start, self.stop)
        span = self.stop - self.start
        # A fiftieth of the replayed window: close enough to see tile-level structure, wide
        # enough that neighbouring frames of an export overlap.
        self.now_cycles = min(span, max(200, span // 50) if now_cycles is None else max(1, now_cycles))
        self.lanes = int(trace.meta["hardware"]["mac_array"]["lanes"])
        self.layer_names = [str(m["name"]) for m in trace.meta["layers"]]
        self.clock_hz = float(trace.meta["clock_hz"])
        self.time_factor, self.time_unit = _time_unit(trace.end_cycle / self.clock_hz)
        self.fig = figure if figure is not None else Figure(figsize=(12, 8), dpi=100)
        # Fixed margins (no constrained layout): frames of an animation must not shift.
        grid = self.fig.add_gridspec(
            4,
            1,
            height_ratios=[3, 2, 2, 3],
            left=0.085,
            right=0.78,
            top=0.865,
            bottom=0.17 if controls else 0.07,
            hspace=0.5,
        )
        self.ax_lanes = self.fig.add_subplot(grid[0])
        self.ax_dram = self.fig.add_subplot(grid[1], sharex=self.ax_lanes)
        self.ax_buf = self.fig.add_subplot(grid[2], sharex=self.ax_lanes)
        self.ax_now = self.fig.add_subplot(grid[3])
        self.ax_queue = self.ax_dram.twinx()
        # Buffer fill in the now panel, scaled so 100% meets the all-lanes-busy line.
        self.ax_now_buf = self.ax_now.twinx()
        self.columns = max(1, int(self.ax_lanes.bbox.width))
        self.window = (self.start, self.stop)
        self._steps = _Steps()
        self._redrawing = False
        self.header = self.fig.text(0.012, 0.985, self._title(), fontsize=12, fontweight="bold", va="top")
        self.status = self.fig.text(0.012, 0.95, "", fontsize=10, va="top", family="monospace")
        self.cursors = [ax.axvline(self.start, color="black", lw=1.3, zorder=5) for ax in self._overview]
        self.now_cursor = self.ax_now.axvline(self.start, color="black", lw=1.3, zorder=5)
        self._setup_axes()
        self.draw_window(self.start, self.stop)
        self.cycle = self.start
        self.set_cursor(self.start)

    @property
    def _overview(self) -> tuple[Axes, Axes, Axes]:
        return self.ax_lanes, self.ax_dram, self.ax_buf

    def _title(self) -> str:
        hw = self.trace.meta["hardware"].get("name", "?")
        latency = format_si(self.trace.end_cycle / self.clock_hz, "s")
        return f"{self.trace.meta['network']['name']} on {hw}: replay of {self.trace.end_cycle:,} cycles ({latency})"

    def _setup_axes(self) -> None:
        lanes = self.lanes
        commas = FuncFormatter(lambda value, _: f"{value:,.0f}")
        for ax in (self.ax_lanes, self.ax_now):
            # Busy lanes below, the MAC state as a strip above them (and the bus in the now panel).
            ax.set_ylim(0, lanes * (1.42 if ax is self.ax_now else 1.22))
            ticks = [0, lanes // 2, lanes, lanes * 1.12] + ([lanes * 1.32] if ax is self.ax_now else [])
            ax.set_yticks(ticks, ["0", str(lanes // 2), str(lanes), "state", "bus"][: len(ticks)])
            ax.set_ylabel("busy MAC lanes")
            ax.xaxis.set_major_formatter(commas)
        self.ax_now_buf.set_ylim(0, 142)
        self.ax_now_buf.set_yticks([0, 50, 100])
        self.ax_now_buf.set_ylabel("buffers (% full)")
        for ax in (*self._overview, self.ax_now, self.ax_queue, self.ax_now_buf):
            ax.tick_params(labelsize=8)
        self.ax_dram.set_ylim(0, 105)
        self.ax_dram.set_ylabel("bus busy (%)")
        self.ax_dram.set_title("DRAM bus (share of cycles) and request queue", loc="left", fontsize=10)
        self.ax_queue.set_ylabel("queue (requests)")
        self.ax_buf.set_ylim(0, 105)
        self.ax_buf.set_ylabel("buffers (% full)")
        self.ax_buf.set_xlabel("cycle", labelpad=1)
        self.ax_buf.set_title("On-chip buffer occupancy (mean per column)", loc="left", fontsize=10)
        self.ax_now.set_xlabel("cycle", labelpad=1)
        for ax in self._overview:
            _layer_lines(ax, self.trace, lambda c: c)
        # Legends are built once from proxies: their content does not depend on the window.
        states = [Patch(color=c, label=label) for c, label in STATE_STYLE.values()][::-1]
        _legend(self.ax_lanes, states, "MAC array state")
        lanes_line = Patch(facecolor=_LANES_MEAN, edgecolor=_LANES_LINE, alpha=0.8, label="busy lanes (mean)")
        lanes_band = Patch(color=_LANES_BAND, label="busy lanes (min–max)")
        bus = [Patch(color=c, alpha=0.6, label=label) for c, label in BUS_STYLE.values()][::-1]
        queue = Line2D([], [], color="black", lw=1, label="queue depth (mean)")
        _legend(self.ax_dram, [*bus, queue])
        self.ax_dram.get_legend().set_bbox_to_anchor((1.075, 1.0))  # clear of the queue axis
        buffers = [
            Line2D([], [], color=c, lw=1.2, label=f"{label} ({_capacity(self.trace, key) // 1024} KiB)")
            for _, key, c, label in BUFFERS
        ]
        _legend(self.ax_buf, buffers, "buffer")
        # A figure legend, not the axes': the now panel is redrawn every frame, its legend need not be.
        box = self.ax_now.get_position()
        self.fig.legend(
            handles=[lanes_line, lanes_band, *bus, Line2D([], [], color="0.4", lw=1, label="buffers (right axis)")],
            loc="upper left",
            bbox_to_anchor=(box.x1 + 0.075 * box.width, box.y1),
            fontsize=9,
            frameon=False,
            borderaxespad=0,
        )

    def draw_window(self, start: int, stop: int) -> None:
        """Redraw the overview panels for cycles [start, stop), one exact aggregate per column;
        with no more cycles than columns, each column is one cycle."""
        check_window(self.trace, start, stop)
        self.window = (start, stop)
        columns = min(self.columns, stop - start)
        detail = self._draw_lanes("overview", self.ax_lanes, start, stop, columns)
        self.ax_lanes.set_title(f"MAC array: busy lanes ({detail}) and state", loc="left", fontsize=10)
        bus = value_fractions(self.trace, "dram.bus", start, stop, columns)
        x = bus.edges
        self._steps.stack("bus", self.ax_dram, bus, BUS_STYLE, only=("READ", "WRITE"), alpha=0.6)
        queue = aggregate(self.trace, "dram.queue", start, stop, columns)
        self._steps.put("queue", self.ax_queue, queue.mean, x, color="black", lw=0.9)
        self.ax_queue.set_ylim(0, max(1.0, float(queue.maximum.max())) * 1.25)
        for name, key, color, _ in BUFFERS:
            agg = aggregate(self.trace, name, start, stop, columns)
            self._steps.put(name, self.ax_buf, 100 * agg.mean / _capacity(self.trace, key), x, color=color, lw=1)
        self._redrawing = True  # our own set_xlim must not re-enter the zoom handler
        try:
            self.ax_lanes.set_xlim(start, stop)
        finally:
            self._redrawing = False

    def _draw_lanes(self, key: str, ax: Axes, start: int, stop: int, columns: int) -> str:
        """Busy-lane band and mean line with the MAC-state strip above; returns what a column is."""
        lanes = aggregate(self.trace, "mac.busy_lanes", start, stop, columns)
        x = lanes.edges
        if columns == stop - start:  # per cycle, min = max = mean: a band would only hide the line
            self._steps.hide((key, "band"))
            detail = "exact per cycle"
        else:
            self._steps.put((key, "band"), ax, lanes.maximum, x, lanes.minimum, color=_LANES_BAND, lw=0)
            detail = f"min–max band and mean over {(stop - start) / columns:,.0f} cycles per column"
        self._steps.put(
            (key, "mean"), ax, lanes.mean, x, 0.0, facecolor=_LANES_MEAN, edgecolor=_LANES_LINE, alpha=0.8, lw=0.8
        )
        states = state_fractions(self.trace, start, stop, columns)
        self._steps.stack((key, "state"), ax, states, STATE_STYLE, self.lanes * 1.05, self.lanes * 1.19)
        return detail

    def set_cursor(self, cycle: int) -> None:
        """Move the cursor to `cycle`: the cursor lines, the status text and the now panel."""
        trace = self.trace
        cycle = int(min(max(cycle, self.start), self.stop - 1))
        self.cycle = cycle
        for line in self.cursors:
            line.set_xdata([cycle, cycle])
        layer = value_at(trace, "layer", cycle)
        state = trace.specs["mac.state"].states[value_at(trace, "mac.state", cycle)]
        bus = trace.specs["dram.bus"].states[value_at(trace, "dram.bus", cycle)]
        name = self.layer_names[layer] if layer < len(self.layer_names) else str(layer)
        self.status.set_text(
            f"cycle {cycle:,} ({cycle / self.clock_hz * self.time_factor:.3f} {self.time_unit})   "
            f"layer {layer + 1}/{len(self.layer_names)}: {name}\n"
            f"MAC array {state:<17} {value_at(trace, 'mac.busy_lanes', cycle):>3}/{self.lanes} lanes busy   "
            f"DRAM bus {bus:<5}  queue {value_at(trace, 'dram.queue', cycle)}"
        )
        self._draw_now(cycle)

    def _draw_now(self, cycle: int) -> None:
        half = self.now_cycles // 2
        lo = min(max(cycle - half, self.start), self.stop - self.now_cycles)
        hi = lo + self.now_cycles
        columns = min(self.columns, hi - lo)
        detail = self._draw_lanes("now", self.ax_now, lo, hi, columns)
        bus = value_fractions(self.trace, "dram.bus", lo, hi, columns)
        self._steps.stack(
            ("now", "bus"), self.ax_now, bus, BUS_STYLE, self.lanes * 1.25, self.lanes * 1.39, only=("READ", "WRITE")
        )
        for name, key, color, _ in BUFFERS:
            agg = aggregate(self.trace, name, lo, hi, columns)
            fill = 100 * agg.mean / _capacity(self.trace, key)
            self._steps.put(("now", name), self.ax_now_buf, fill, agg.edges, color=color, lw=0.9)
        self.ax_now.set_xlim(lo, hi)
        self.now_cursor.set_xdata([cycle, cycle])
        self.ax_now.set_title(f"Now: {hi - lo:,} cycles around the cursor ({detail})", loc="left", fontsize=10)

    def moving_artists(self) -> list[Any]:
        """What `set_cursor` changes: the cursors, the status text and the whole now panel."""
        return [*self.cursors, self.status, self.ax_now, self.ax_now_buf]

    def frames(self, cycles: Iterable[int]) -> Iterator[np.ndarray]:
        """Render the figure with the cursor at each of `cycles`; yields (height, width, 4)
        RGBA arrays, valid until the next one. The rest of the figure is drawn once and each
        frame draws only the moving artists over a copy of it (blitting)."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        canvas = FigureCanvasAgg(self.fig)
        moving = self.moving_artists()
        for artist in moving:
            artist.set_animated(True)
        try:
            canvas.draw()
            background = canvas.copy_from_bbox(self.fig.bbox)
            for cycle in cycles:
                canvas.restore_region(background)
                self.set_cursor(cycle)
                for artist in moving:
                    self.fig.draw_artist(artist)
                yield np.asarray(canvas.buffer_rgba())
        finally:
            for artist in moving:
                artist.set_animated(False)

    def follow_zoom(self) -> None:
        """Re-aggregate the overview whenever its x-range changes (toolbar zoom or pan)."""

        def changed(ax: Axes) -> None:
            if self._redrawing:
                return
            lo, hi = ax.get_xlim()
            lo = int(min(max(np.floor(lo), 0), self.trace.end_cycle - 1))
            hi = int(min(max(np.ceil(hi), lo + 1), self.trace.end_cycle))
            self.draw_window(lo, hi)
            self.fig.canvas.draw_idle()

        self.ax_lanes.callbacks.connect("xlim_changed", changed)


# --- export -------------------------------------------------------------------------------------


def export_animation(
    trace: Trace,
    path: str | Path,
    frames: int = 120,
    fps: int = 20,
    start: int | None = None,
    stop: int | None = None,
    progress: bool = True,
) -> Path:
    """Headless replay: the cursor sweeps [start, stop) in `frames` frames. `.gif` is written
    with Pillow, `.mp4` by matplotlib's FFMpegWriter (needs ffmpeg on the PATH)."""
    from matplotlib.animation import FFMpegWriter

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise InputError(f"replay: cannot export {suffix or 'a file without extension'!r}; use .gif, .mp4 or .png")
    if suffix == ".mp4" and shutil.which("ffmpeg") is None:
        raise InputError("mp4 export needs ffmpeg on the PATH; install it (e.g. apt-get install ffmpeg) or export .gif")
    if frames < 1 or fps < 1:
        raise InputError(f"replay: --frames and --fps must be >= 1 (got {frames} and {fps})")
    _check_output(path)
    lo, hi = (0 if start is None else start), (trace.end_cycle if stop is None else stop)
    view = ReplayView(trace, lo, hi)
    cycles = np.linspace(lo, hi - 1, frames).round().astype(np.int64)
    if suffix == ".gif":
        return _write_gif(view, cycles, path, fps, progress)
    # The writers record a figure holding nothing but the finished frame as one image at one
    # pixel per pixel: they can only grab frames by redrawing a whole figure, and redrawing the
    # replay figure (mostly text) costs ~0.2 s a frame, against ~25 ms for this one.
    dpi = view.fig.dpi
    width, height = (int(round(v)) for v in view.fig.get_size_inches() * dpi)
    sheet = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    image = sheet.figimage(np.zeros((height, width, 4), np.uint8), resize=False, origin="upper", interpolation="none")
    writer = FFMpegWriter(fps=fps)
    writer.setup(sheet, str(path), dpi=dpi)
    bar = tqdm(cycles.tolist(), desc="replay", unit="frame", disable=not progress)
    try:
        for rgba in view.frames(bar):
            image.set_data(rgba)
            writer.grab_frame()
        writer.finish()
    except BaseException:
        with contextlib.suppress(Exception):  # stop ffmpeg
            writer.finish()
        path.unlink(missing_ok=True)
        raise
    finally:
        bar.close()
    return path


def _write_gif(view: ReplayView, cycles: np.ndarray, path: Path, fps: int, progress: bool) -> Path:
    """Every frame mapped onto one palette, made from the first: stable colours, and a fraction
    of the time Pillow takes to build a palette for each frame (~40 ms for 1200x800)."""
    from PIL import Image

    bar = tqdm(cycles.tolist(), desc="replay", unit="frame", disable=not progress)
    images = []
    try:
        for rgba in view.frames(bar):
            frame = Image.fromarray(np.asarray(rgba)[..., :3])
            palette = images[0] if images else frame.quantize(colors=256, method=Image.Quantize.MEDIANCUT)
            images.append(frame.quantize(palette=palette, dither=Image.Dither.NONE))
        bar.set_postfix_str(f"writing {path.name}")
        images[0].save(path, save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    finally:
        bar.close()
    return path


# --- interactive window -------------------------------------------------------------------------


class _Player:
    """Widgets and a timer driving a ReplayView: play/pause, speed, seek. Kept apart from the
    view so that the view stays testable without a display."""

    TICK_MS = 50

    def __init__(self, view: ReplayView) -> None:
        from matplotlib.widgets import Button, Slider

        self.view = view
        fig = view.fig
        self.playing = False
        self.seek = Slider(
            fig.add_axes((0.085, 0.055, 0.5, 0.03)),
            "cycle",
            view.start,
            view.stop - 1,
            valinit=view.start,
            valstep=1,
            valfmt="%d",
        )
        self.speed = Slider(fig.add_axes((0.67, 0.055, 0.12, 0.03)), "speed", 0.1, 10.0, valinit=1.0, valfmt="%.1fx")
        self.button = Button(fig.add_axes((0.84, 0.045, 0.08, 0.05)), "play")
        self.seek.on_changed(self._seek)
        self.button.on_clicked(self._toggle)
        view.follow_zoom()
        self.timer = fig.canvas.new_timer(interval=self.TICK_MS)
        self.timer.add_callback(self._tick)
        self.timer.start()

    def _seek(self, value: float) -> None:
        self.view.set_cursor(int(value))
        self.view.fig.canvas.draw_idle()

    def _toggle(self, _event: object = None) -> None:
        self.playing = not self.playing
        self.button.label.set_text("pause" if self.playing else "play")
        self.view.fig.canvas.draw_idle()

    def _tick(self) -> None:
        if not self.playing:
            return
        lo, hi = self.view.ax_lanes.get_xlim()
        # At 1x the cursor crosses the visible window in 20 s, whatever the zoom.
        step = max(1, int((hi - lo) * self.speed.val * self.TICK_MS / 20_000))
        cycle = min(self.view.cycle + step, self.view.stop - 1)
        if cycle >= hi:  # page the zoomed window along with the cursor
            width = hi - lo
            new_lo = min(cycle, self.view.stop - width)
            self.view.ax_lanes.set_xlim(new_lo, new_lo + width)
        if cycle >= self.view.stop - 1:
            self._toggle()
        self.seek.set_val(cycle)


def show(trace: Trace, start: int = 0, stop: int | None = None) -> None:
    """Open the interactive replay window: play/pause, speed and seek; zooming with the
    toolbar re-aggregates exactly, down to per-cycle values."""
    import matplotlib.pyplot as plt

    view = ReplayView(trace, start, stop, figure=plt.figure(figsize=(13, 9)), controls=True)
    player = _Player(view)
    view.fig._accelsim_player = player  # keep the widgets alive as long as the window
    plt.show()


def has_display() -> bool:
    """Whether matplotlib can open a window here (an interactive backend, and a display on X11)."""
    backend = matplotlib.get_backend().lower()
    if backend in _NON_INTERACTIVE_BACKENDS or backend.startswith("module://matplotlib_inline"):
        return False
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True
