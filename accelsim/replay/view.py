"""The replay figure (`ReplayView`): overview panels of a cycle window, a moving cursor and a
"now" panel following it. Drawing only: the data comes from `ReplayModel`, the widgets and
event loop from `accelsim.replay.window`, the files from `accelsim.replay.exports`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from accelsim.plots import BUS_STYLE, STATE_STYLE
from accelsim.replay.drawing import (
    BUFFERS,
    LANES_BAND,
    LANES_LINE,
    LANES_MEAN,
    Steps,
    layer_lines,
    legend,
)
from accelsim.replay.model import (
    ReplayModel,
    aggregate,
    capacity_bytes,
    state_fractions,
    value_fractions,
)
from accelsim.trace.listing import check_window
from accelsim.trace.trace import Trace


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
        self.model = ReplayModel(trace, start, stop, now_cycles)
        self.trace, self.start, self.stop = trace, self.model.start, self.model.stop
        self.lanes = self.model.lanes
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
        self._steps = Steps()
        self._redrawing = False
        self.header = self.fig.text(0.012, 0.985, self.model.title(), fontsize=12, fontweight="bold", va="top")
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
            layer_lines(ax, self.trace, lambda c: c)
        # Legends are built once from proxies: their content does not depend on the window.
        states = [Patch(color=c, label=label) for c, label in STATE_STYLE.values()][::-1]
        legend(self.ax_lanes, states, "MAC array state")
        lanes_line = Patch(facecolor=LANES_MEAN, edgecolor=LANES_LINE, alpha=0.8, label="busy lanes (mean)")
        lanes_band = Patch(color=LANES_BAND, label="busy lanes (min–max)")
        bus = [Patch(color=c, alpha=0.6, label=label) for c, label in BUS_STYLE.values()][::-1]
        queue = Line2D([], [], color="black", lw=1, label="queue depth (mean)")
        legend(self.ax_dram, [*bus, queue])
        self.ax_dram.get_legend().set_bbox_to_anchor((1.075, 1.0))  # clear of the queue axis
        buffers = [
            Line2D([], [], color=c, lw=1.2, label=f"{label} ({capacity_bytes(self.trace, key) // 1024} KiB)")
            for _, key, c, label in BUFFERS
        ]
        legend(self.ax_buf, buffers, "buffer")
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
            self._steps.put(name, self.ax_buf, 100 * agg.mean / capacity_bytes(self.trace, key), x, color=color, lw=1)
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
            self._steps.put((key, "band"), ax, lanes.maximum, x, lanes.minimum, color=LANES_BAND, lw=0)
            detail = f"min–max band and mean over {(stop - start) / columns:,.0f} cycles per column"
        self._steps.put(
            (key, "mean"), ax, lanes.mean, x, 0.0, facecolor=LANES_MEAN, edgecolor=LANES_LINE, alpha=0.8, lw=0.8
        )
        states = state_fractions(self.trace, start, stop, columns)
        self._steps.stack((key, "state"), ax, states, STATE_STYLE, self.lanes * 1.05, self.lanes * 1.19)
        return detail

    def set_cursor(self, cycle: int) -> None:
        """Move the cursor to `cycle`: the cursor lines, the status text and the now panel."""
        cycle = self.model.clamp(cycle)
        self.cycle = cycle
        for line in self.cursors:
            line.set_xdata([cycle, cycle])
        self.status.set_text(self.model.status(cycle))
        self._draw_now(cycle)

    def _draw_now(self, cycle: int) -> None:
        lo, hi = self.model.now_window(cycle)
        columns = min(self.columns, hi - lo)
        detail = self._draw_lanes("now", self.ax_now, lo, hi, columns)
        bus = value_fractions(self.trace, "dram.bus", lo, hi, columns)
        self._steps.stack(
            ("now", "bus"), self.ax_now, bus, BUS_STYLE, self.lanes * 1.25, self.lanes * 1.39, only=("READ", "WRITE")
        )
        for name, key, color, _ in BUFFERS:
            agg = aggregate(self.trace, name, lo, hi, columns)
            fill = 100 * agg.mean / capacity_bytes(self.trace, key)
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
            self.draw_window(*self.model.snap_window(*ax.get_xlim()))
            self.fig.canvas.draw_idle()

        self.ax_lanes.callbacks.connect("xlim_changed", changed)
