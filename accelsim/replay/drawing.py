"""Drawing a replay: styles, step patches updated in place, legends, layer boundaries, and the
static summary PNG (`summary_png`).

Figures are built on `matplotlib.figure.Figure` directly, so drawing never switches the
user's pyplot backend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch, StepPatch
from matplotlib.ticker import EngFormatter

from accelsim.metrics import hardware_of, layer_spans, state_cycles, summarize
from accelsim.metrics.generation import generation_figures, phase_name, step_spans
from accelsim.metrics.report import format_si
from accelsim.plots import BUS_STYLE, STATE_STYLE
from accelsim.precision import Precision
from accelsim.replay.model import (
    StateFractions,
    aggregate,
    capacity_bytes,
    check_output,
    state_fractions,
    time_unit,
    value_fractions,
)
from accelsim.replay.vector import VectorSummary, draw_vector_panel, has_vector_unit, vector_summary
from accelsim.trace import signals
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
LANES_BAND, LANES_MEAN, LANES_LINE = "#b5e3ad", "#2ca02c", "#1b5e20"


def _style(styles: dict[str, tuple[str, str]], state: str, k: int) -> tuple[str, str]:
    return styles.get(state, (f"C{k}", state.lower()))


class Steps:
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


def _is_generation(trace: Trace) -> bool:
    return signals.STEP.name in trace.specs


def layer_lines(ax: Axes, trace: Trace, scale: Callable[[np.ndarray], np.ndarray]) -> None:
    """Faint vertical lines where each layer starts (a generation: where each phase starts)."""
    if _is_generation(trace):
        starts = np.array([s for _, s, _ in step_spans(trace)[1:]], dtype=np.int64)
    else:
        starts = np.array([a for a, _ in layer_spans(trace)[1:]], dtype=np.int64)
    if len(starts):
        ax.vlines(scale(starts), 0, 1, transform=ax.get_xaxis_transform(), color="0.35", lw=0.5, alpha=0.35, zorder=3)


def legend(ax: Axes, handles: Sequence[Any], title: str | None = None) -> None:
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


def summary_png(trace: Trace, path: str | Path, start: int | None = None, stop: int | None = None) -> Path:
    """One 1600x1000 PNG of the run: MAC-array state over time (stall reasons stacked), the
    vector unit's state (its busy share and operations in the title), DRAM bus and queue, buffer
    occupancy, and cycles per layer by state with the vector unit's busy cycles as dots. `start`/`stop` narrow the
    over-time panels; the per-layer bars always cover the whole run."""
    path = Path(path)
    check_output(path)
    lo, hi = (0 if start is None else start), (trace.end_cycle if stop is None else stop)
    check_window(trace, lo, hi)
    clock = float(trace.meta["clock_hz"])
    factor, unit = time_unit((hi - lo) / clock)

    def to_time(cycles: np.ndarray) -> np.ndarray:
        return np.asarray(cycles, dtype=float) / clock * factor

    fig = Figure(figsize=(16, 10), dpi=100)
    # A trace with the vector unit's signals gets its panel under the MAC array's.
    vector = vector_summary(trace, lo, hi) if has_vector_unit(trace) else None
    heights = [3, 2, 2, 2.6] if vector is None else [2.6, 1.6, 1.8, 1.8, 2.6]
    grid = fig.add_gridspec(
        len(heights), 1, height_ratios=heights, left=0.065, right=0.83, top=0.91, bottom=0.13, hspace=0.6
    )
    ax_state = fig.add_subplot(grid[0])
    rows = iter(range(1, len(heights) - 1))
    ax_vector = None if vector is None else fig.add_subplot(grid[next(rows)], sharex=ax_state)
    ax_dram, ax_buf = (fig.add_subplot(grid[i], sharex=ax_state) for i in rows)
    ax_layers = fig.add_subplot(grid[len(heights) - 1])
    steps = Steps()
    # One column per pixel of the plotting area: what a pixel shows is exact, nothing is lost.
    columns = max(1, int(ax_state.bbox.width))

    # (a) what the MAC array does with each cycle
    fractions = state_fractions(trace, lo, hi, columns)
    x = to_time(fractions.edges)
    patches = steps.stack("state", ax_state, fractions, STATE_STYLE, x=x)
    ax_state.set_ylim(0, 100)
    ax_state.set_ylabel("MAC array cycles (%)")
    ax_state.set_title("MAC array state over time: busy, or stalled on the operand it waits for", loc="left")
    legend(ax_state, patches[::-1], "MAC array state")

    # (a') what the vector unit does with each cycle
    if ax_vector is not None and vector is not None:
        legend(ax_vector, draw_vector_panel(ax_vector, trace, vector, steps, columns, x), "vector unit state")

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
    legend(twin, [*patches[::-1], line], "DRAM")
    # The legend sits right of the twin's tick labels, so push it clear of them.
    twin.get_legend().set_bbox_to_anchor((1.065, 1.0))

    # (c) buffers
    handles = []
    for name, key, color, label in BUFFERS:
        agg = aggregate(trace, name, lo, hi, columns)
        capacity = capacity_bytes(trace, key)
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
    legend(ax_buf, handles, "buffer")

    for ax in (ax_state, ax_dram, ax_buf) if ax_vector is None else (ax_state, ax_vector, ax_dram, ax_buf):
        ax.set_xlim(x[0], x[-1])
        ax.set_xlabel(f"time ({unit})", labelpad=1)
        layer_lines(ax, trace, to_time)
    ax_state.text(
        1.0,
        1.02,
        "grey lines: " + ("decode step starts" if _is_generation(trace) else "layer boundaries"),
        transform=ax_state.transAxes,
        ha="right",
        va="bottom",
        fontsize=8,
        color="0.35",
    )

    # (d) where each layer's (a generation: each phase's) cycles went
    if _is_generation(trace):
        handles, network, hardware, utilization, energy_j = _phase_bars(ax_layers, trace)
    else:
        summary = summarize(trace)
        handles = _layer_bars(ax_layers, summary.layers)
        network, hardware = summary.network, summary.hardware
        utilization, energy_j = summary.total.mac_utilization, summary.total.energy.total_j

    if vector is not None:
        handles.append(_vector_dots(ax_layers, vector))
    legend(ax_layers, handles, "MAC array state")

    span = "" if (lo, hi) == (0, trace.end_cycle) else f"  (time panels: cycles {lo:,}–{hi:,})"
    fig.suptitle(
        f"{network} on {hardware}: {trace.end_cycle:,} cycles = {format_si(trace.end_cycle / clock, 's')} "
        f"at {format_si(clock, 'Hz')}  ·  MAC utilization {100 * utilization:.1f}%  ·  "
        f"energy {format_si(energy_j, 'J')}{span}",
        fontsize=14,
        fontweight="bold",
    )
    fig.savefig(path, dpi=100)
    return path


def _phase_bars(ax: Axes, trace: Trace) -> tuple[list[Any], str, str, float, float]:
    """A generation's cycles per phase (prefill, each decode step) by MAC-array state; returns
    the legend handles and the title's network, hardware, MAC utilization and energy."""
    spans = step_spans(trace)
    names = [phase_name(trace.meta.get("generation") or {}, k) for k, _, _ in spans]
    cycles = [state_cycles(trace, start, end) for _, start, end in spans]
    position = np.arange(len(names))
    bottom = np.zeros(len(names))
    handles = []
    for state, (color, label) in STATE_STYLE.items():
        heights = np.array([c.get(state, 0) for c in cycles], dtype=float)
        handles.append(ax.bar(position, heights, bottom=bottom, color=color, label=label, width=0.8))
        bottom += heights
    every = max(1, len(names) // 24)  # at most about 24 labels
    ax.set_xticks(position[::every])
    ax.set_xticklabels(names[::every], rotation=60 if len(names) > 12 else 0, ha="right", fontsize=8)
    ax.set_xlim(-0.6, len(names) - 0.4)
    ax.set_ylim(0, max(1.0, float(bottom.max())) * 1.08)
    ax.yaxis.set_major_formatter(EngFormatter(places=0, sep=""))
    ax.set_ylabel("cycles")
    ax.set_title("Cycles per phase by MAC array state: the prefill, then each decode step", loc="left")
    handles.reverse()
    figures = generation_figures(trace)
    phases = [p for p in (figures.prefill, figures.decode) if p is not None]
    hw = hardware_of(trace)
    precision = Precision.parse(trace.meta["layers"][0]["mac_precision"])
    macs = sum(p.macs for p in phases)
    utilization = macs / (trace.end_cycle * hw.mac_array.macs_per_cycle(precision)) if trace.end_cycle else 0.0
    energy_j = sum(p.energy.total_j for p in phases)
    return handles, trace.meta["network"]["name"], hw.name, utilization, energy_j


def _layer_bars(ax: Axes, layers: Sequence[Any]) -> list[Any]:
    """Cycles of each layer, stacked by MAC-array state; returns the legend handles."""
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
    return handles[::-1]


def _vector_dots(ax: Axes, vector: VectorSummary) -> Any:
    """The vector unit's busy cycles of each bar (layer or phase) as a dot over it; returns the
    dots' legend handle."""
    (dots,) = ax.plot(
        np.arange(len(vector.span_busy_cycles)),
        vector.span_busy_cycles,
        "o",
        color="black",
        markersize=3 if len(vector.span_busy_cycles) > 40 else 4,
        label="vector unit busy (cycles)",
        zorder=4,
    )
    return dots
