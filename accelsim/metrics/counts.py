"""What a run did, counted from its trace: activity per layer, cycles in each MAC-array state,
busy bus cycles, and where each layer begins and ends."""

from __future__ import annotations

import dataclasses
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
    #: Banked DRAM only (zero otherwise): commands issued and rank-cycles of background, by the
    #: device's clock, which its command energy table prices.
    dram_commands: DramCommands | None = None
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
            dram_commands=DramCommands.from_counters(counters) if "dram_act_commands" in counters else None,
            # Traces written before the vector unit existed have no such counter.
            vector_ops=counters.get("vector_ops", 0),
        )


@dataclass(frozen=True)
class DramCommands:
    """What a banked DRAM did for some work: commands by kind and background rank-cycles."""

    acts: int
    pres: int
    reads: int
    writes: int
    refs: int
    row_hits: int
    active_rank_cycles: int
    idle_rank_cycles: int

    @classmethod
    def from_counters(cls, counters: Mapping[str, int]) -> DramCommands:
        return cls(
            acts=counters["dram_act_commands"],
            pres=counters["dram_pre_commands"],
            reads=counters["dram_read_commands"],
            writes=counters["dram_write_commands"],
            refs=counters["dram_ref_commands"],
            row_hits=counters["dram_row_hits"],
            active_rank_cycles=counters["dram_active_rank_cycles"],
            idle_rank_cycles=counters["dram_idle_rank_cycles"],
        )

    @property
    def columns(self) -> int:
        return self.reads + self.writes

    @property
    def row_hit_rate(self) -> float:
        """Column commands that found their row open (DRAMsim3's row hits) over all of them."""
        return self.row_hits / self.columns if self.columns else 0.0


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


def dram_commands(trace: Trace) -> DramCommands | None:
    """The whole run's banked-DRAM commands (None for a run on the simple DRAM model)."""
    layers = trace.meta["counters"]
    if not layers or "dram_act_commands" not in layers[0]:
        return None
    per_layer = [DramCommands.from_counters(c) for c in layers]
    return DramCommands(*(sum(getattr(c, f.name) for c in per_layer) for f in dataclasses.fields(DramCommands)))
