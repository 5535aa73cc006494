"""The vector unit's summary panel of a replay: its state over time, its busy share and
operations in a window, and its busy cycles per layer (a generation: per phase).

The figures are exact, computed from the `vector.*` signals' intervals (a busy-cycle count is a
running sum over intervals, evaluated at every span boundary at once), so a generation of tens
of thousands of layers costs one pass. Traces written before the vector unit existed have no
such signals, and the summary PNG then has no vector panel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes

from accelsim.metrics import layer_spans
from accelsim.metrics.generation import phase_name, step_spans
from accelsim.plots import STATE_STYLE
from accelsim.replay.model import value_fractions
from accelsim.trace import signals
from accelsim.trace.signals import MacState
from accelsim.trace.trace import Trace

if TYPE_CHECKING:  # drawing imports this module
    from accelsim.replay.drawing import Steps

__all__ = ["VectorSummary", "busy_cycles_before", "draw_vector_panel", "has_vector_unit", "vector_summary"]

_BUSY = int(MacState.BUSY)


@dataclass(frozen=True)
class VectorSummary:
    """The vector unit over cycles [start, stop), and its busy cycles per span of the whole run
    (a layer, or a generation's phase)."""

    start_cycle: int
    stop_cycle: int
    busy_cycles: int
    ops: int
    span_names: tuple[str, ...]
    span_busy_cycles: tuple[int, ...]

    @property
    def cycles(self) -> int:
        return self.stop_cycle - self.start_cycle

    @property
    def busy_share(self) -> float:
        """Fraction of the window's cycles the vector unit computes."""
        return self.busy_cycles / self.cycles if self.cycles else 0.0


def has_vector_unit(trace: Trace) -> bool:
    return signals.VECTOR_STATE.name in trace.starts


def busy_cycles_before(trace: Trace, cycles: np.ndarray) -> np.ndarray:
    """For each cycle t, how many of the cycles [0, t) the vector unit is BUSY (t <= end)."""
    name = signals.VECTOR_STATE.name
    starts, values = trace.starts[name], trace.values[name]
    lengths = np.diff(np.append(starts, trace.end_cycle))
    busy = values == _BUSY
    before = np.concatenate(([0], np.cumsum(lengths * busy)))  # busy cycles before each interval
    at = np.searchsorted(starts, cycles, side="right") - 1  # the interval holding cycle t - 1 or t
    return before[at] + busy[at] * (np.asarray(cycles) - starts[at])


def _spans(trace: Trace) -> tuple[list[str], list[tuple[int, int]]]:
    """Names and cycle spans of the run's layers, or of a generation's phases."""
    if signals.STEP.name in trace.specs:
        spans = step_spans(trace)
        generation = trace.meta.get("generation") or {}
        return [phase_name(generation, k) for k, _, _ in spans], [(a, b) for _, a, b in spans]
    return [str(m["name"]) for m in trace.meta["layers"]], layer_spans(trace)


def vector_summary(trace: Trace, start: int = 0, stop: int | None = None) -> VectorSummary:
    """The vector unit's busy cycles and operations in [start, stop), and per span of the run."""
    stop = trace.end_cycle if stop is None else stop
    names, spans = _spans(trace)
    bounds = np.array([start, stop] + [c for span in spans for c in span], dtype=np.int64)
    busy = busy_cycles_before(trace, bounds)
    per_span = busy[3::2] - busy[2::2]
    return VectorSummary(
        start_cycle=start,
        stop_cycle=stop,
        busy_cycles=int(busy[1] - busy[0]),
        ops=trace.integral(signals.VECTOR_OPS.name, start, stop),
        span_names=tuple(names),
        span_busy_cycles=tuple(int(n) for n in per_span),
    )


def draw_vector_panel(
    ax: Axes, trace: Trace, summary: VectorSummary, steps: Steps, columns: int, x: np.ndarray
) -> list:
    """The vector unit's state over the window, stacked as the MAC array's panel is (the two
    share their states); its busy share and operations in the title. Returns the legend handles."""
    fractions = value_fractions(trace, signals.VECTOR_STATE.name, summary.start_cycle, summary.stop_cycle, columns)
    patches = steps.stack("vector", ax, fractions, STATE_STYLE, x=x)
    ax.set_ylim(0, 100)
    ax.set_ylabel("vector unit cycles (%)")
    ax.set_title(
        f"Vector unit over time: busy {100 * summary.busy_share:.1f}% of these cycles, "
        f"{summary.ops:,} operations (dots below: its busy cycles per bar)",
        loc="left",
    )
    return patches[::-1]
