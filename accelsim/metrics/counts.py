"""What a run did, counted from its trace: activity per layer, cycles in each MAC-array state,
busy bus cycles, and where each layer begins and ends."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from accelsim.hardware import Accelerator, from_dict
from accelsim.precision import Precision
from accelsim.trace.signals import MacState
from accelsim.trace.trace import Trace

STALL_STATES = (MacState.STALL_WEIGHTS, MacState.STALL_ACTIVATIONS, MacState.STALL_OUTPUT)


@dataclass(frozen=True)
class ActivityCounts:
    """What a layer did: MACs at one precision and bytes through each memory."""

    macs: int
    mac_precision: Precision
    dram_bus_bytes: int
    sram_weight_bytes: int
    sram_activation_bytes: int
    sram_output_bytes: int
    cycles: int
    #: Vector-unit operations, at `mac_precision` (a vector layer's compute precision).
    vector_ops: int = 0

    @classmethod
    def from_counters(cls, counters: Mapping[str, int], precision: Precision, cycles: int) -> ActivityCounts:
        return cls(
            macs=counters["macs"],
            mac_precision=precision,
            dram_bus_bytes=counters["dram_read_bus_bytes"] + counters["dram_write_bus_bytes"],
            sram_weight_bytes=counters["sram_weight_read_bytes"] + counters["sram_weight_write_bytes"],
            sram_activation_bytes=counters["sram_activation_read_bytes"] + counters["sram_activation_write_bytes"],
            sram_output_bytes=counters["sram_output_read_bytes"] + counters["sram_output_write_bytes"],
            cycles=cycles,
            # Traces written before the vector unit existed have no such counter.
            vector_ops=counters.get("vector_ops", 0),
        )


def state_cycles(trace: Trace, start: int, stop: int) -> dict[str, int]:
    """Cycles in [start, stop) spent in each MAC-array state, by state name."""
    names = trace.specs["mac.state"].states
    return {names[v]: n for v, n in sorted(trace.cycles_per_value("mac.state", start, stop).items())}


def bus_busy_cycles(trace: Trace, start: int, stop: int) -> int:
    """Cycles in [start, stop) in which the DRAM bus moves data (either direction)."""
    return sum(n for v, n in trace.cycles_per_value("dram.bus", start, stop).items() if v)


def hardware_of(trace: Trace) -> Accelerator:
    """The hardware description the trace carries."""
    return from_dict(trace.meta["hardware"])
