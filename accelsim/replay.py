"""Replay of a trace: exact per-pixel-column views, a summary PNG, GIF/MP4 export and a window.

Long runs (10^9 cycles) stay fast because every view aggregates intervals, never samples:
each pixel column shows the minimum, maximum and mean of a signal over exactly its cycles,
computed in O(intervals in view + columns).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import matplotlib.ticker
import numpy as np
from tqdm import tqdm

from accelsim.errors import InputError
from accelsim.metrics import Summary, layer_spans, summarize
from accelsim.report import format_si
from accelsim.trace import listing, store
from accelsim.trace.trace import Trace

STATE_COLORS = {
    "BUSY": "#2ca02c",
    "STALL_WEIGHTS": "#1f77b4",
    "STALL_ACTIVATIONS": "#ff7f0e",
    "STALL_OUTPUT": "#d62728",
    "IDLE": "#c7c7c7",
}
#: (signal, capacity field, colour): colours fixed so redraws after a zoom keep them.
BUFFERS = (
    ("buf.weight", "weight_bytes", "#1f77b4"),
    ("buf.activation", "activation_bytes", "#ff7f0e"),
    ("buf.output", "output_bytes", "#2ca02c"),
)


@dataclass(frozen=True)
class Aggregate:
    """Per column c, the signal over cycles [edges[c], edges[c+1]): min, max and mean."""

    edges: np.ndarray
    minimum: np.ndarray
    maximum: np.ndarray
    mean: np.ndarray


def column_edges(start: int, stop: int, columns: int) -> np.ndarray:
    """Integer cycle boundaries splitting [start, stop) into at most `columns` non-empty columns."""
    columns = max(1, min(columns, stop - start))
    return np.unique(np.linspace(start, stop, columns + 1).round().astype(np.int64))


def _cumulative(s: np.ndarray, e: np.ndarray, v: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Integral of the signal from s[0] to each cycle in `at` (exact, int64 or float)."""
    area = np.concatenate([[0], np.cumsum(v * (e - s))])
    i = np.clip(np.searchsorted(s, at, side="right") - 1, 0, len(s) - 1)
    return area[i] + v[i] * (at - s[i])


def aggregate(trace: Trace, name: str, start: int, stop: int, columns: int) -> Aggregate:
    """Exact min / max / mean of `name` in each column of [start, stop)."""
    edges = column_edges(start, stop, columns)
    s, e, v = trace.intervals(name, start, stop)
    v = v.astype(np.int64)
    mean = np.diff(_cumulative(s, e, v, edges)) / np.diff(edges)
    # Each column's extremes come from the intervals overlapping it: those starting inside it
    # plus the one already running at its left edge.
    first = np.searchsorted(s, edges[:-1], side="right") - 1
    last = np.searchsorted(s, edges[1:], side="left")  # exclusive
    order = np.repeat(np.arange(len(first)), last - first)
    idx = np.concatenate([np.arange(a, b) for a, b in zip(first.tolist(), last.tolist())]) if len(first) else first
    minimum = np.full(len(first), np.iinfo(np.int64).max)
    maximum = np.full(len(first), np.iinfo(np.int64).min)
    np.minimum.at(minimum, order, v[idx])
    np.maximum.at(maximum, order, v[idx])
    return Aggregate(edges, minimum, maximum, mean)


def state_fractions(trace: Trace, start: int, stop: int, columns: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(edges, state name -> fraction of each column's cycles the MAC array spent in it)."""
    edges = column_edges(start, stop, columns)
    s, e, v = trace.intervals("mac.state", start, stop)
    width = np.diff(edges)
    out = {}
    for code, state in enumerate(trace.specs["mac.state"].states):
        indicator = (v == code).astype(np.int64)
        out[state] = np.diff(_cumulative(s, e, indicator, edges)) / width
    return edges, out


def _time_axis(trace: Trace, cycles: np.ndarray) -> tuple[np.ndarray, str]:
    seconds = cycles / trace.meta["clock_hz"]
    span = float(seconds[-1]) if len(seconds) else 0.0
    for factor, unit in ((1, "s"), (1e3, "ms"), (1e6, "us")):
        if span * factor >= 1 or unit == "us":
            return seconds * factor, unit
    return seconds, "s"


def _capacity(trace: Trace, key: str) -> int:
    return int(trace.meta["hardware"]["buffers"][key])


# --- static summary -----------------------------------------------------------------------------


def summary_png(trace: Trace, path: str | Path, columns: int = 800) -> Path:
    """Utilization over time with stall reasons stacked, DRAM bus and queue, buffer occupancy and
    per-layer cycles by state, as one PNG."""
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(4, 1, figsize=(18, 11), gridspec_kw={"height_ratios": [3, 2, 2, 3]})
    end = trace.end_cycle
    edges, fractions = state_fractions(trace, 0, end, columns)
    x, unit = _time_axis(trace, edges[:-1])
    states = [s for s in STATE_COLORS if s in fractions]
    axes[0].stackplot(
        x, [100 * fractions[s] for s in states], labels=states, colors=[STATE_COLORS[s] for s in states], step="post"
    )
    axes[0].set_ylabel("MAC array cycles (%)")
    axes[0].set_title("MAC array state over time (BUSY = computing; stalls by the operand it waits for)")
    axes[0].legend(loc="upper left", bbox_to_anchor=(1.005, 1), fontsize=9)
    busy = _busy_fraction(trace, "dram.bus", edges)
    queue = aggregate(trace, "dram.queue", 0, end, columns)
    axes[1].fill_between(x, 100 * busy, step="post", alpha=0.5, color="#9467bd", label="bus busy (%)")
    axes[1].set_ylabel("DRAM bus busy (%)")
    twin = axes[1].twinx()
    twin.step(x, queue.maximum, where="post", color="black", lw=0.8, label="queue depth (max per column)")
    twin.set_ylabel("queue (requests)")
    axes[1].set_title("DRAM bus and request queue")
    handles = axes[1].get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    axes[1].legend(handles, [h.get_label() for h in handles], loc="upper left", bbox_to_anchor=(1.05, 1), fontsize=9)
    for name, key, color in BUFFERS:
        agg = aggregate(trace, name, 0, end, columns)
        label = f"{name.split('.')[1]} (max per column)"
        axes[2].step(x, 100 * agg.maximum / _capacity(trace, key), where="post", color=color, label=label)
    axes[2].set_ylabel("occupancy (% of capacity)")
    axes[2].set_ylim(0, 105)
    axes[2].set_title("On-chip buffer occupancy")
    axes[2].legend(loc="upper left", bbox_to_anchor=(1.005, 1), fontsize=9)
    for ax in axes[:3]:
        ax.set_xlim(x[0], x[-1] if len(x) > 1 else 1)
        ax.set_xlabel(f"time ({unit})")
        for start, _ in layer_spans(trace)[1:]:
            ax.axvline(_time_axis(trace, np.array([start, end]))[0][0], color="grey", lw=0.3, alpha=0.5)
    summary = summarize(trace)
    _layer_bars(summary, axes[3])
    fig.suptitle(
        f"{summary.network} on {summary.hardware}: {trace.end_cycle:,} cycles, "
        f"{format_si(summary.total.latency_s, 's')}, {format_si(summary.total.energy.total_j, 'J')}, "
        f"MAC utilization {100 * summary.total.mac_utilization:.1f}%",
        fontsize=14,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def _busy_fraction(trace: Trace, name: str, edges: np.ndarray) -> np.ndarray:
    s, e, v = trace.intervals(name, int(edges[0]), int(edges[-1]))
    return np.diff(_cumulative(s, e, (v != 0).astype(np.int64), edges)) / np.diff(edges)


def _layer_bars(summary: Summary, ax: object) -> None:
    names = [f.name for f in summary.layers]
    bottom = np.zeros(len(names))
    for state, color in STATE_COLORS.items():
        heights = np.array([f.state_cycles.get(state, 0) for f in summary.layers], dtype=float)
        ax.bar(range(len(names)), heights, bottom=bottom, color=color, label=state, width=0.8)
        bottom += heights
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=90 if len(names) > 12 else 0, fontsize=7 if len(names) > 30 else 8)
    ax.set_ylabel("cycles")
    ax.set_title("Cycles per layer by MAC array state")
    ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1), fontsize=9)


# --- animated replay ----------------------------------------------------------------------------


class ReplayView:
    """The replay figure: MAC busy lanes with the state band, DRAM bus and queue, buffer
    occupancy, the current layer, and a cursor. `draw_window` re-aggregates any cycle window
    exactly, so zooming in to a few hundred cycles shows per-cycle values."""

    def __init__(
        self, trace: Trace, start: int = 0, stop: int | None = None, columns: int = 600, interactive: bool = False
    ) -> None:
        import matplotlib.pyplot as plt

        self.trace = trace
        self.start, self.stop = start, trace.end_cycle if stop is None else stop
        self.columns = columns
        self.layer_names = [m["name"] for m in trace.meta["layers"]]
        self.fig, self.axes = plt.subplots(3, 1, figsize=(12, 7.5), sharex=True)
        # The interactive window keeps room at the bottom for its slider and buttons.
        self.fig.subplots_adjust(left=0.08, right=0.92, top=0.86, bottom=0.16 if interactive else 0.08, hspace=0.25)
        self.dram_twin = self.axes[1].twinx()
        self.title = self.fig.suptitle("")
        self.cursors = [ax.axvline(self.start, color="black", lw=1.2) for ax in self.axes]
        self.draw_window(self.start, self.stop)
        self.set_cursor(self.start)

    def draw_window(self, start: int, stop: int) -> None:
        """Redraw every panel for cycles [start, stop), one exact aggregate per pixel column."""
        trace, (lanes_ax, dram_ax, buf_ax) = self.trace, self.axes
        for ax in (*self.axes, self.dram_twin):
            keep = set(self.cursors)
            for artist in [*ax.lines, *ax.collections, *ax.patches]:
                if artist not in keep:
                    artist.remove()
        lanes = aggregate(trace, "mac.busy_lanes", start, stop, self.columns)
        x = lanes.edges[:-1]
        per_cycle = len(x) == stop - start  # every column is one cycle: show exact values
        lanes_ax.fill_between(
            x, lanes.minimum, lanes.maximum, step="post", color="#2ca02c", alpha=0.35, label="min-max"
        )
        lanes_ax.step(x, lanes.mean, where="post", color="#2ca02c", lw=1, label="per cycle" if per_cycle else "mean")
        edges, fractions = state_fractions(trace, start, stop, self.columns)
        top = float(trace.meta["hardware"]["mac_array"]["lanes"])
        band = np.array([max(fractions, key=lambda s: fractions[s][c]) for c in range(len(edges) - 1)])
        for state, color in STATE_COLORS.items():
            mask = band == state
            if mask.any():
                lanes_ax.fill_between(
                    x, top * 1.04, top * 1.12, where=mask, step="post", color=color, label=state, lw=0
                )
        lanes_ax.set_ylim(0, top * 1.15)
        lanes_ax.set_ylabel("busy lanes")
        lanes_ax.legend(loc="upper left", ncol=7, fontsize=7, bbox_to_anchor=(0, 1.32))
        busy = _busy_fraction(trace, "dram.bus", edges)
        queue = aggregate(trace, "dram.queue", start, stop, self.columns)
        dram_ax.fill_between(x, 0, 100 * busy, step="post", color="#9467bd", alpha=0.35, label="bus busy")
        dram_ax.set_ylim(0, 105)
        dram_ax.set_ylabel("DRAM bus busy (%)")
        self.dram_twin.step(x, queue.maximum, where="post", color="black", lw=0.8, label="queue depth (max)")
        self.dram_twin.set_ylim(0, max(1, int(queue.maximum.max())) * 1.1)
        self.dram_twin.set_ylabel("queue (requests)")
        handles = dram_ax.get_legend_handles_labels()[0] + self.dram_twin.get_legend_handles_labels()[0]
        dram_ax.legend(handles, [h.get_label() for h in handles], loc="upper right", fontsize=7)
        for name, key, color in BUFFERS:
            agg = aggregate(trace, name, start, stop, self.columns)
            occupancy = 100 * agg.maximum / _capacity(trace, key)
            buf_ax.step(x, occupancy, where="post", lw=0.9, color=color, label=name.split(".")[1])
        buf_ax.set_ylim(0, 105)
        buf_ax.set_ylabel("buffers (%)")
        buf_ax.set_xlabel("cycle")
        buf_ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:,.0f}"))
        buf_ax.legend(loc="upper right", ncol=3, fontsize=7)
        buf_ax.set_xlim(start, stop)

    def follow_zoom(self) -> None:
        """Re-aggregate whenever the x-range changes (toolbar zoom or pan), so a zoom down to a
        few hundred cycles shows exact per-cycle values."""
        self._redrawing = False

        def changed(ax: object) -> None:
            if self._redrawing:  # draw_window sets the limits itself
                return
            lo, hi = (int(round(v)) for v in ax.get_xlim())
            lo = min(max(lo, 0), self.trace.end_cycle - 1)
            hi = min(max(hi, lo + 1), self.trace.end_cycle)
            self._redrawing = True
            try:
                self.draw_window(lo, hi)
            finally:
                self._redrawing = False
            self.fig.canvas.draw_idle()

        self.axes[0].callbacks.connect("xlim_changed", changed)

    def set_cursor(self, cycle: int) -> None:
        cycle = int(min(max(cycle, 0), self.trace.end_cycle - 1))
        for line in self.cursors:
            line.set_xdata([cycle, cycle])
        layer = int(self.trace.expand("layer", cycle, cycle + 1)[0])
        state = self.trace.specs["mac.state"].states[int(self.trace.expand("mac.state", cycle, cycle + 1)[0])]
        lanes = int(self.trace.expand("mac.busy_lanes", cycle, cycle + 1)[0])
        self.title.set_text(
            f"{self.trace.meta['network']['name']}  cycle {cycle:,} / {self.trace.end_cycle:,}  "
            f"layer {self.layer_names[layer]}  {state}, {lanes} lanes busy"
        )


def export_animation(
    trace: Trace,
    path: str | Path,
    frames: int = 120,
    fps: int = 20,
    start: int | None = None,
    stop: int | None = None,
    progress: bool = True,
) -> Path:
    """Headless replay: the cursor sweeps the window; .gif through Pillow, .mp4 through ffmpeg."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise InputError(f"replay output: unsupported {suffix or 'extension'!r}; use .gif, .mp4 or .png")
    ffmpeg = shutil.which("ffmpeg")
    if suffix == ".mp4" and ffmpeg is None:
        raise InputError("mp4 export needs ffmpeg on the PATH; install it (e.g. apt-get install ffmpeg) or export .gif")
    if frames < 1 or fps < 1:
        raise InputError(f"--frames and --fps: must be >= 1 (got {frames}, {fps})")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lo, hi = (0 if start is None else start), (trace.end_cycle if stop is None else stop)
    view = ReplayView(trace, lo, hi)
    cycles = np.linspace(lo, hi - 1, frames).astype(np.int64)
    images = _frames(view, cycles, progress)
    if suffix == ".gif":
        first, *rest = images
        first.save(path, save_all=True, append_images=rest, duration=int(1000 / fps), loop=0)
    else:
        _write_mp4(images, path, fps, str(ffmpeg))
    plt.close(view.fig)
    return path


def _frames(view: ReplayView, cycles: np.ndarray, progress: bool) -> list:
    """One image per cursor position. The panels do not change between frames, so they are
    rendered once and only the cursor and the title are drawn over a copy of them."""
    from PIL import Image

    canvas = view.fig.canvas
    moving = [*view.cursors, view.title]
    for artist in moving:
        artist.set_animated(True)
    canvas.draw()
    background = canvas.copy_from_bbox(view.fig.bbox)
    images = []
    for cycle in tqdm(cycles.tolist(), desc="replay", unit="frame", disable=not progress):
        canvas.restore_region(background)
        view.set_cursor(cycle)
        for artist in moving:
            view.fig.draw_artist(artist)
        rgb = Image.frombuffer("RGBA", canvas.get_width_height(), bytes(canvas.buffer_rgba()), "raw", "RGBA", 0, 1)
        rgb = rgb.convert("RGB")
        # Palette images take a third of the memory; every frame shares the first one's palette
        # (only the cursor moves), which is much faster than choosing a palette per frame.
        palette = images[0] if images else rgb.quantize(colors=64)
        images.append(rgb.quantize(palette=palette, dither=Image.Dither.NONE))
    return images


def _write_mp4(images: list, path: Path, fps: int, ffmpeg: str) -> None:
    import subprocess

    width, height = images[0].size
    command = [ffmpeg, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}"]
    command += ["-r", str(fps), "-i", "-", "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-pix_fmt", "yuv420p", str(path)]
    with subprocess.Popen(command, stdin=subprocess.PIPE) as proc:
        assert proc.stdin is not None
        for image in images:
            proc.stdin.write(image.convert("RGB").tobytes())
        proc.stdin.close()
        if proc.wait() != 0:
            raise InputError(f"replay output: ffmpeg failed writing {path}")


def show(trace: Trace, start: int = 0, stop: int | None = None) -> None:
    """Interactive window: play/pause, speed, seek slider; zooming re-aggregates exactly."""
    import matplotlib.pyplot as plt
    from matplotlib.widgets import Button, Slider

    view = ReplayView(trace, start, stop, interactive=True)
    fig = view.fig
    seek = Slider(
        fig.add_axes([0.08, 0.05, 0.55, 0.03]), "cycle", view.start, view.stop - 1, valinit=view.start, valfmt="%d"
    )
    speed = Slider(fig.add_axes([0.72, 0.05, 0.12, 0.03]), "speed", 0.1, 10.0, valinit=1.0)
    play = Button(fig.add_axes([0.86, 0.04, 0.06, 0.05]), "play")
    state = {"playing": False}
    seek.on_changed(lambda value: (view.set_cursor(int(value)), fig.canvas.draw_idle()))

    def toggle(_: object) -> None:
        state["playing"] = not state["playing"]
        play.label.set_text("pause" if state["playing"] else "play")

    def tick() -> None:
        if state["playing"]:
            lo, hi = view.axes[0].get_xlim()
            step = max(1, int((hi - lo) / 200 * speed.val))
            seek.set_val(min(seek.val + step, view.stop - 1))

    play.on_clicked(toggle)
    view.follow_zoom()
    timer = fig.canvas.new_timer(interval=50)
    timer.add_callback(tick)
    timer.start()
    plt.show()


# --- command line -------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """`accelsim replay FILE [--png OUT | --gif OUT | --mp4 OUT] [--frames N] [--fps F] [--cycles A:B]`."""
    parser = argparse.ArgumentParser(
        prog="accelsim replay", description="Replay a trace, or export it as PNG / GIF / MP4."
    )
    parser.add_argument("file", help="trace file written by `accelsim run --trace`")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--png", help="write the static summary PNG")
    out.add_argument("--gif", help="write an animated GIF of the replay")
    out.add_argument("--mp4", help="write an MP4 of the replay (needs ffmpeg)")
    parser.add_argument("--frames", type=int, default=120, help="animation frames (default 120)")
    parser.add_argument("--fps", type=int, default=20, help="animation frames per second (default 20)")
    parser.add_argument("--cycles", help="window A:B to replay (default: the whole run)")
    args = parser.parse_args(argv)
    try:
        trace = store.load(args.file, lazy=True)
        start, stop = listing.parse_window(args.cycles, trace)
        if args.png:
            print(f"wrote {summary_png(trace, args.png)}")
        elif args.gif or args.mp4:
            print(f"wrote {export_animation(trace, args.gif or args.mp4, args.frames, args.fps, start, stop)}")
        elif not _has_display():
            raise InputError("replay: no display for a window; use --png, --gif or --mp4 to export instead")
        else:
            show(trace, start, stop)
    except InputError as exc:
        print(f"accelsim: error: {exc}", file=sys.stderr)
        return 2
    return 0


def _has_display() -> bool:
    import os

    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or sys.platform in ("darwin", "win32"))
