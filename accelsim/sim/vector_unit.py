"""The vector unit: it turns a vector layer's tile step into cycles and records each cycle.

`lanes` ALUs each perform `ops_per_lane[precision]` operations per cycle, so a tile of n
operations at C = lanes x ops_per_lane per cycle takes ceil(n / C) cycles: n // C full cycles
and, when n % C > 0, one partial cycle with ceil((n % C) / ops_per_lane) lanes busy, exactly as
the MAC array's vector geometry. One SimPy timeout per tile, at most three intervals per signal.
"""

from __future__ import annotations

import simpy

from accelsim.hardware import Accelerator
from accelsim.precision import Precision
from accelsim.sim.des import timeout
from accelsim.sim.tiling import Step
from accelsim.trace import signals
from accelsim.trace.recorder import Recorder
from accelsim.trace.signals import MacState

#: What the vector unit records (declared in accelsim.trace.signals); its states are MacState's.
SIGNALS = (signals.VECTOR_STATE, signals.VECTOR_BUSY_LANES, signals.VECTOR_OPS)
_BUSY = int(MacState.BUSY)


def tile_cycles(ops: int, hw: Accelerator, precision: Precision) -> int:
    """Cycles the vector unit takes for `ops` operations: the analytical twin of `compute`."""
    return -(-ops // hw.vector_unit.ops_per_cycle(precision))


def busy_lane_cycles(ops: int, hw: Accelerator, precision: Precision) -> int:
    """Lane-cycles a tile of `ops` operations keeps busy (its last partial cycle exactly)."""
    per_lane = int(hw.vector_unit.ops_per_lane[precision])
    full, rem = divmod(ops, hw.vector_unit.ops_per_cycle(precision))
    return full * hw.vector_unit.lanes + -(-rem // per_lane)


class VectorUnitSim:
    """Runs vector tiles and records state, busy lanes and operations per cycle."""

    def __init__(self, env: simpy.Environment, hw: Accelerator, recorder: Recorder) -> None:
        self.env = env
        self.lanes = hw.vector_unit.lanes
        self.per_lane = hw.vector_unit.ops_per_lane
        self.state = recorder[signals.VECTOR_STATE.name]
        self.busy_lanes = recorder[signals.VECTOR_BUSY_LANES.name]
        self.ops = recorder[signals.VECTOR_OPS.name]

    def set_state(self, state: MacState) -> None:
        self.state.set(self.env._now, int(state))

    def compute(self, step: Step, precision: Precision) -> simpy.Event:
        """Perform the step's operations; the unit marks itself BUSY. The returned event fires
        when the unit is done."""
        now = self.env._now
        per_lane = int(self.per_lane[precision])
        per_cycle = self.lanes * per_lane
        full, rem = divmod(step.vector_ops, per_cycle)
        self.state.set(now, _BUSY)
        t = now
        if full:
            self.ops.set(t, per_cycle)
            self.busy_lanes.set(t, self.lanes)
            t += full
        if rem:
            self.ops.set(t, rem)
            self.busy_lanes.set(t, -(-rem // per_lane))
            t += 1
        self.ops.set(t, 0)
        self.busy_lanes.set(t, 0)
        return timeout(self.env, t - now)
