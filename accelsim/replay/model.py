"""The data side of a replay, without drawing: exact per-column aggregation of a cycle window
and what the cursor shows (its cycle, layer and states, the window of the "now" panel).

Long runs (10^9 cycles) stay fast because every view aggregates intervals, never samples
(`accelsim.trace.columns`): each pixel column shows the minimum, maximum and mean of a signal
over exactly its cycles, computed in O(intervals in view + columns). Zooming in until a column
is one cycle shows exact per-cycle values.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from accelsim.errors import InputError
from accelsim.metrics.report import format_si
from accelsim.trace.columns import (  # re-exported: the replay API
    StateFractions,
    aggregate,
    state_fractions,
    value_at,
    value_fractions,
)
from accelsim.trace.listing import check_window
from accelsim.trace.trace import Trace

__all__ = [
    "ReplayModel",
    "StateFractions",
    "aggregate",
    "capacity_bytes",
    "check_output",
    "state_fractions",
    "time_unit",
    "value_at",
    "value_fractions",
]


def check_output(path: Path) -> None:
    """Fail before minutes of rendering, not after, when the file cannot be written."""
    if not path.parent.is_dir():
        raise InputError(f"replay: cannot write {path}: no directory {path.parent}")


def time_unit(seconds: float) -> tuple[float, str]:
    """(factor, unit) that shows a span of `seconds` with a readable number."""
    for factor, unit in ((1.0, "s"), (1e3, "ms"), (1e6, "µs")):
        if seconds * factor >= 1:
            return factor, unit
    return 1e9, "ns"


def capacity_bytes(trace: Trace, key: str) -> int:
    """Capacity of the buffer named by a field of the trace's `hardware.buffers`."""
    return int(trace.meta["hardware"]["buffers"][key])


class ReplayModel:
    """A replayed cycle window [start, stop) of a trace and what a cursor in it shows. The now
    panel follows the cursor with `now_cycles` cycles around it."""

    def __init__(self, trace: Trace, start: int = 0, stop: int | None = None, now_cycles: int | None = None) -> None:
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
        self.time_factor, self.time_unit = time_unit(trace.end_cycle / self.clock_hz)

    def title(self) -> str:
        """The network, the hardware and the length of the whole run."""
        hw = self.trace.meta["hardware"].get("name", "?")
        latency = format_si(self.trace.end_cycle / self.clock_hz, "s")
        return f"{self.trace.meta['network']['name']} on {hw}: replay of {self.trace.end_cycle:,} cycles ({latency})"

    def clamp(self, cycle: int) -> int:
        """The nearest cycle inside the replayed window."""
        return int(min(max(cycle, self.start), self.stop - 1))

    def status(self, cycle: int) -> str:
        """Two lines naming the cursor's cycle, time, layer, MAC-array state and DRAM bus."""
        trace = self.trace
        layer = value_at(trace, "layer", cycle)
        state = trace.specs["mac.state"].states[value_at(trace, "mac.state", cycle)]
        bus = trace.specs["dram.bus"].states[value_at(trace, "dram.bus", cycle)]
        name = self.layer_names[layer] if layer < len(self.layer_names) else str(layer)
        return (
            f"cycle {cycle:,} ({cycle / self.clock_hz * self.time_factor:.3f} {self.time_unit})   "
            f"layer {layer + 1}/{len(self.layer_names)}: {name}\n"
            f"MAC array {state:<17} {value_at(trace, 'mac.busy_lanes', cycle):>3}/{self.lanes} lanes busy   "
            f"DRAM bus {bus:<5}  queue {value_at(trace, 'dram.queue', cycle)}"
        )

    def now_window(self, cycle: int) -> tuple[int, int]:
        """The now panel's cycles around `cycle`, kept inside the replayed window."""
        half = self.now_cycles // 2
        lo = min(max(cycle - half, self.start), self.stop - self.now_cycles)
        return lo, lo + self.now_cycles

    def snap_window(self, lo: float, hi: float) -> tuple[int, int]:
        """Whole cycles covering an axis range [lo, hi], at least one, inside the run."""
        end = self.trace.end_cycle
        first = int(min(max(np.floor(lo), 0), end - 1))
        return first, int(min(max(np.ceil(hi), first + 1), end))
