"""The MAC array: `lanes` units each doing `pack` MACs per cycle at the tile's precision.

A tile of n MACs on an array doing C = lanes x pack MACs per cycle takes ceil(n / C) cycles
(plus the configured per-tile overhead): n // C full cycles and, when n % C > 0, one partial
cycle with ceil((n % C) / pack) lanes busy. That is one SimPy timeout, with the per-cycle
values recorded as (at most three) intervals.
"""

from __future__ import annotations

import enum
from collections.abc import Generator

import simpy

from accelsim.hardware import Accelerator
from accelsim.precision import Precision
from accelsim.trace.recorder import Recorder, SignalSpec


class MacState(enum.IntEnum):
    """What the array does in a cycle; the scheduler decides the stall reason."""

    IDLE = 0  # nothing left to do
    BUSY = 1
    STALL_WEIGHTS = 2  # waiting for a weight (B operand) tile
    STALL_ACTIVATIONS = 3  # waiting for an activation tile
    STALL_OUTPUT = 4  # output buffer full: waiting for a write-back to free space


SIGNALS = (
    SignalSpec("mac.state", "state", "MAC array state", tuple(s.name for s in MacState)),
    SignalSpec("mac.busy_lanes", "lanes", "MAC lanes doing at least one MAC this cycle"),
    SignalSpec("mac.macs", "MACs", "multiply-accumulates performed this cycle"),
)


class MacArrayUnit:
    """Runs tiles and records state, busy lanes and MACs per cycle."""

    def __init__(self, env: simpy.Environment, hw: Accelerator, recorder: Recorder) -> None:
        self.env = env
        self.lanes = hw.mac_array.lanes
        self.pack = hw.mac_array.pack
        self.overhead_cycles = hw.mac_array.tile_overhead_cycles
        self.state = recorder["mac.state"]
        self.busy_lanes = recorder["mac.busy_lanes"]
        self.macs = recorder["mac.macs"]

    def set_state(self, state: MacState) -> None:
        self.state.set(self.env.now, int(state))

    def cycles_for(self, macs: int, precision: Precision) -> int:
        per_cycle = self.lanes * int(self.pack[precision])
        return -(-macs // per_cycle) + self.overhead_cycles

    def compute(self, macs: int, precision: Precision) -> Generator[simpy.Event, None, None]:
        """Perform `macs` MACs; the caller has set nothing, the array marks itself BUSY."""
        now = self.env.now
        pack = int(self.pack[precision])
        per_cycle = self.lanes * pack
        full, rem = divmod(macs, per_cycle)
        self.set_state(MacState.BUSY)
        t = now
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
        yield self.env.timeout(t - now + self.overhead_cycles)
