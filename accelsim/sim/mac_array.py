"""The MAC array: it turns a tile step into cycles and records what it does in each.

`MacArrayUnit` is the vector geometry: `lanes` units each doing `pack` MACs per cycle at the
tile's precision. A tile of n MACs on an array doing C = lanes x pack MACs per cycle takes
ceil(n / C) cycles (plus the configured per-tile overhead): n // C full cycles and, when
n % C > 0, one partial cycle with ceil((n % C) / pack) lanes busy. That is one SimPy timeout,
with the per-cycle values recorded as (at most three) intervals.

`SystolicArrayUnit` is a rows x cols grid of processing elements, one MAC per PE per cycle,
mapped as SCALE-Sim maps a GEMM out[M, N] = A[M, K] x B[K, N] (per group):

| dataflow | rows hold | columns hold | streamed for T cycles | stationary load |
| --- | --- | --- | --- | --- |
| os (output stationary) | M (output pixels) | N (filters) | K | none |
| ws (weight stationary) | K | N | M | R cycles |
| is (input stationary) | K | M | N | R cycles |

A tile is processed fold by fold, one after another: ceil(rows needed / R) x ceil(columns
needed / C) folds, each taking load + R + C + T - 2 cycles (fill R - 1, drain C - 1, the full
array's skew even when a fold uses fewer PEs). Processing element (i, j) of a fold using r x c
PEs works during cycles [load + i + j, load + i + j + T) of the fold, so the busy-PE count per
cycle is exact, one interval per change: a fold costs O(r + c) intervals, never O(T).

Under SCALE-Sim's schedule (`mac_array.schedule = "scalesim-folds"`) a fold is the whole
layer's: it streams the layer's whole streamed axis (T_all), and a step whose tile holds part
of that stream, [s0, s1), runs its slice of the fold's timeline: from the start (s0 = 0) or
load + s0, to load + s1 or the fold's end (s1 = T_all). The slices of a fold add up to
load + R + C + T_all - 2 cycles and its exact busy-PE profile.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np
import simpy

from accelsim.hardware import Accelerator
from accelsim.precision import Precision
from accelsim.sim.atomic_padding import spread
from accelsim.sim.des import timeout
from accelsim.sim.tiling import Step, fold_overhead_cycles, scalesim_folds, systolic_mapping
from accelsim.trace import signals
from accelsim.trace.recorder import Recorder
from accelsim.trace.signals import MacState

__all__ = ["SIGNALS", "MacArrayUnit", "MacState", "SystolicArrayUnit", "make_array"]

#: What the array records (declared in accelsim.trace.signals, as is MacState).
SIGNALS = (signals.MAC_STATE, signals.MAC_BUSY_LANES, signals.MAC_MACS)
_BUSY = int(MacState.BUSY)


class MacArrayUnit:
    """The vector geometry: runs tiles and records state, busy lanes and MACs per cycle."""

    def __init__(self, env: simpy.Environment, hw: Accelerator, recorder: Recorder) -> None:
        self.env = env
        self.lanes = hw.mac_array.lanes
        self.pack = hw.mac_array.pack
        self.overhead_cycles = hw.mac_array.tile_overhead_cycles
        self.sustained = Fraction(hw.mac_array.sustained_fraction).limit_denominator(10**6)
        self._packs: dict[Precision, int] = {}
        # The last precision's pack, checked by identity: hashing an Enum runs Python code.
        self._last: tuple[Precision | None, int] = (None, 0)
        self._stretched = self.sustained != 1
        self.state = recorder[signals.MAC_STATE.name]
        self.busy_lanes = recorder[signals.MAC_BUSY_LANES.name]
        self.macs = recorder[signals.MAC_MACS.name]

    def set_state(self, state: MacState) -> None:
        self.state.set(self.env._now, int(state))

    def compute(self, step: Step, precision: Precision) -> simpy.Event:
        """Perform the step's MACs; the array marks itself BUSY. The returned event fires when
        the array is done (an event, not a generator: one fewer frame per tile step)."""
        now = self.env._now
        last, pack = self._last
        if precision is not last:
            pack = self._packs.get(precision)
            if pack is None:
                pack = self._packs[precision] = int(self.pack[precision])
            self._last = (precision, pack)
        per_cycle = self.lanes * pack
        full, rem = divmod(step.macs, per_cycle)
        self.state.set(now, _BUSY)
        t = now
        if step.padded_macs:  # an array of atomic operations
            full, rem, t = 0, 0, self._padded(step, now, per_cycle, pack)
        if full:
            self.macs.set(t, per_cycle)
            self.busy_lanes.set(t, self.lanes)
            t += full
        if rem:
            self.macs.set(t, rem)
            self.busy_lanes.set(t, -(-rem // pack))
            t += 1
        self.macs.set(t, 0)
        self.busy_lanes.set(t, 0)
        # Below-peak sustained throughput stretches the step: the array stays BUSY with idle lanes.
        stall = math.ceil((t - now) / self.sustained) - (t - now) if self._stretched else 0
        return timeout(self.env, t - now + stall + self.overhead_cycles)

    def _padded(self, step: Step, now: int, per_cycle: int, pack: int) -> int:
        """The step takes the cycles of its padded MAC slots (`accelsim.sim.atomic_padding`) and
        performs its MACs spread over them, the lanes that would hold padding idle (underuse the
        busy-lane signal shows); the cycle after its last."""
        t = now
        for cycles, macs in spread(step.macs, -(-step.padded_macs // per_cycle)):
            self.macs.set(t, macs)
            self.busy_lanes.set(t, -(-macs // pack))
            t += cycles
        return t


def make_array(env: simpy.Environment, hw: Accelerator, recorder: Recorder) -> MacArrayUnit:
    """The array unit for the hardware's geometry."""
    if hw.mac_array.dataflow == "rs":  # row stationary (it builds on this module)
        from accelsim.sim.rs_array import RowStationaryArrayUnit

        return RowStationaryArrayUnit(env, hw, recorder)
    cls = SystolicArrayUnit if hw.mac_array.systolic else MacArrayUnit
    return cls(env, hw, recorder)


class SystolicArrayUnit(MacArrayUnit):
    """A rows x cols grid with an output-, weight- or input-stationary dataflow (module docstring)."""

    def __init__(self, env: simpy.Environment, hw: Accelerator, recorder: Recorder) -> None:
        super().__init__(env, hw, recorder)
        self.rows, self.cols, self.dataflow = hw.mac_array.rows, hw.mac_array.cols, hw.mac_array.dataflow
        self.overhead = fold_overhead_cycles(hw)
        self.load = 0 if self.dataflow == "os" else self.rows
        self.whole_folds = scalesim_folds(hw)

    def _slice(self, step: Step) -> tuple[int, int, int]:
        """(streamed cycles of the whole fold, first and end cycle of this step's slice of it)."""
        groups, m, k, n = step.shape
        _, _, streamed = systolic_mapping(self.dataflow, m, k, n)
        if not self.whole_folds:
            return streamed, 0, self.overhead + streamed
        _, _, s0 = systolic_mapping(self.dataflow, *step.origin[1:])
        _, _, whole = systolic_mapping(self.dataflow, *step.extent[1:])
        s1 = s0 + streamed
        first = 0 if s0 == 0 else self.load + s0
        end = self.overhead + whole if s1 == whole else self.load + s1
        return whole, first, end

    def compute(self, step: Step, precision: Precision) -> simpy.Event:
        now = self.env._now
        self.set_state(MacState.BUSY)
        groups, m, k, n = step.shape
        need_rows, need_cols, _ = systolic_mapping(self.dataflow, m, k, n)
        streamed, first, end = self._slice(step)
        length = self.overhead + streamed
        load = self.load
        starts, values = [], []
        t = now
        for _ in range(groups):
            for a in range(0, need_rows, self.rows):
                for b in range(0, need_cols, self.cols):
                    r, c = min(self.rows, need_rows - a), min(self.cols, need_cols - b)
                    offsets, busy = _slice_profile(r, c, streamed, load, length, first, end)
                    starts.append(offsets + t)
                    values.append(busy)
                    t += end - first
        cycles, busy = np.concatenate(starts), np.concatenate(values)
        self.busy_lanes.extend(cycles, busy)
        self.macs.extend(cycles, busy)
        self.busy_lanes.set(t, 0)
        self.macs.set(t, 0)
        return timeout(self.env, t - now + self.overhead_cycles)


def fold_profile_cache_clear() -> None:
    _fold_profile.cache_clear()


@functools.lru_cache(maxsize=4096)
def _slice_profile(
    r: int, c: int, streamed: int, load: int, length: int, first: int, end: int
) -> tuple[np.ndarray, np.ndarray]:
    """The fold's busy-PE change points within cycles [first, end) of it, from `first`."""
    offsets, busy = _fold_profile(r, c, streamed, load, length)
    if first == 0 and end == length:
        return offsets, busy
    at = np.searchsorted(offsets, first, side="right") - 1  # the change in force at `first`
    keep = slice(at + 1, np.searchsorted(offsets, end, side="left"))
    return np.concatenate(([0], offsets[keep] - first)), np.concatenate((busy[at : at + 1], busy[keep]))


@functools.lru_cache(maxsize=4096)
def _fold_profile(r: int, c: int, streamed: int, load: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Busy-PE count of one fold as change points (cycle offset, count) within its `length`
    cycles: PE (i, j) of an r x c block works cycles [load + i + j, load + i + j + streamed).
    The count is F(u) - F(u - T), F(x) = #{i + j <= x}, which changes only while the wavefront
    fills and drains. The return to zero at the fold's end belongs to whatever follows it."""
    ramp = np.arange(r + c - 1, dtype=np.int64)
    u = np.unique(np.concatenate(([-load], ramp, ramp + streamed)))
    i = np.arange(r, dtype=np.int64)[None, :]

    def below(x: np.ndarray) -> np.ndarray:  # F(x): PEs with i + j <= x
        return np.clip(x[:, None] - i + 1, 0, c).sum(axis=1)

    count = below(u) - below(u - streamed)
    keep = np.concatenate(([True], count[1:] != count[:-1])) & (u + load < length)
    return u[keep] + load, count[keep]
