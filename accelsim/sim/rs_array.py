"""The PE array under the row-stationary dataflow: one processing pass per step.

A pass (`accelsim.sim.row_stationary.RsStep`) keeps `active_pes` PEs working for `pe_cycles`
cycles (its busiest PE's MACs: n x p x q x S x F), then takes `drain_cycles` while the last
partial sums move up the set, no PE computing. The pass's MACs are spread over its working
cycles as evenly as whole numbers allow (the first `macs % pe_cycles` cycles do one more), so
the MAC signal sums to the pass's MACs exactly and never exceeds the busy PEs.
"""

from __future__ import annotations

import simpy

from accelsim.precision import Precision
from accelsim.sim.des import timeout
from accelsim.sim.mac_array import MacArrayUnit, MacState
from accelsim.sim.tiling import Step


class RowStationaryArrayUnit(MacArrayUnit):
    """Runs row-stationary passes (module docstring)."""

    def compute(self, step: Step, precision: Precision) -> simpy.Event:
        now = self.env.now
        self.set_state(MacState.BUSY)
        cycles = getattr(step, "pe_cycles", 0)
        active = getattr(step, "active_pes", 0)
        drain = getattr(step, "drain_cycles", 0)
        if cycles <= 0:
            raise ValueError(f"step {step.index}: a row-stationary pass needs pe_cycles > 0")
        per, extra = divmod(step.macs, cycles)
        t = now
        if extra:
            self.macs.set(t, per + 1)
            self.busy_lanes.set(t, active)
            t += extra
        if cycles > extra:
            self.macs.set(t, per)
            self.busy_lanes.set(t, active)
            t += cycles - extra
        self.macs.set(t, 0)
        self.busy_lanes.set(t, 0)
        return timeout(self.env, t - now + drain + self.overhead_cycles)
