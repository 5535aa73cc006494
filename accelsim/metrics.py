"""Figures of a run, computed from its trace alone: cycles, utilization, stalls, bytes, energy.

Energy is a pure function of activity counts and an energy table (`energy_breakdown`); the
table comes from the hardware description the trace carries, so a trace file is enough to
recompute every figure a run printed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from accelsim.hardware import Accelerator, from_dict
from accelsim.precision import Precision
from accelsim.sim.mac_array import MacState
from accelsim.trace.trace import WRITE_KIND, Trace
from accelsim.workload.provenance import steps_from_json

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
        )


@dataclass(frozen=True)
class EnergyBreakdown:
    """Energy in joules by where it is spent."""

    mac_j: float = 0.0
    sram_j: float = 0.0
    dram_j: float = 0.0
    static_j: float = 0.0

    @property
    def total_j(self) -> float:
        return self.mac_j + self.sram_j + self.dram_j + self.static_j

    def __add__(self, other: EnergyBreakdown) -> EnergyBreakdown:
        return EnergyBreakdown(
            self.mac_j + other.mac_j,
            self.sram_j + other.sram_j,
            self.dram_j + other.dram_j,
            self.static_j + other.static_j,
        )


def energy_breakdown(counts: ActivityCounts, hw: Accelerator) -> EnergyBreakdown:
    """Energy of some activity under the hardware's energy table (pJ figures -> joules)."""
    buf = hw.buffers
    sram_pj = (
        counts.sram_weight_bytes * buf.weight_energy_pj_per_byte
        + counts.sram_activation_bytes * buf.activation_energy_pj_per_byte
        + counts.sram_output_bytes * buf.output_energy_pj_per_byte
    )
    return EnergyBreakdown(
        mac_j=counts.macs * hw.mac_array.energy_per_mac_pj[counts.mac_precision] * 1e-12,
        sram_j=sram_pj * 1e-12,
        dram_j=counts.dram_bus_bytes * hw.dram.energy_pj_per_byte * 1e-12,
        static_j=hw.static_power_w * counts.cycles / hw.clock_hz,
    )


@dataclass(frozen=True)
class Bound:
    """Analytical roofline bound: the array and the bus each work flat out, fully overlapped."""

    compute_cycles: int
    memory_cycles: int
    compulsory_bytes: int

    @property
    def cycles(self) -> int:
        return max(self.compute_cycles, self.memory_cycles)

    @property
    def limiter(self) -> str:
        return "compute" if self.compute_cycles >= self.memory_cycles else "memory"


def layer_bound(macs: int, compulsory_bytes: int, precision: Precision, hw: Accelerator) -> Bound:
    """Compute cycles ceil(MACs / (lanes x pack)); memory cycles ceil(bytes / bytes_per_cycle)."""
    return Bound(
        compute_cycles=math.ceil(macs / hw.mac_array.macs_per_cycle(precision)),
        memory_cycles=math.ceil(Fraction(compulsory_bytes) / hw.dram_bytes_per_cycle),
        compulsory_bytes=compulsory_bytes,
    )


@dataclass(frozen=True)
class Figures:
    """Figures of one layer, one tile window, or the whole run."""

    name: str
    start_cycle: int
    end_cycle: int
    macs: int
    peak_macs_per_cycle: int
    state_cycles: dict[str, int]
    bus_busy_cycles: int
    dram_read_bytes: int
    dram_write_bytes: int
    energy: EnergyBreakdown
    bound: Bound
    clock_hz: float
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def cycles(self) -> int:
        return self.end_cycle - self.start_cycle

    @property
    def latency_s(self) -> float:
        return self.cycles / self.clock_hz

    @property
    def mac_utilization(self) -> float:
        return self.macs / (self.cycles * self.peak_macs_per_cycle) if self.cycles else 0.0

    @property
    def bus_utilization(self) -> float:
        return self.bus_busy_cycles / self.cycles if self.cycles else 0.0

    @property
    def stall_cycles(self) -> int:
        return sum(self.state_cycles.get(s.name, 0) for s in STALL_STATES)

    @property
    def bound_ratio(self) -> float:
        return self.cycles / self.bound.cycles if self.bound.cycles else math.inf

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "cycles": self.cycles,
            "latency_s": self.latency_s,
            "macs": self.macs,
            "mac_utilization": self.mac_utilization,
            "state_cycles": dict(self.state_cycles),
            "stall_cycles": self.stall_cycles,
            "dram_read_bytes": self.dram_read_bytes,
            "dram_write_bytes": self.dram_write_bytes,
            "bus_busy_cycles": self.bus_busy_cycles,
            "bus_utilization": self.bus_utilization,
            "energy_j": {
                "mac": self.energy.mac_j,
                "sram": self.energy.sram_j,
                "dram": self.energy.dram_j,
                "static": self.energy.static_j,
                "total": self.energy.total_j,
            },
            "bound": {
                "compute_cycles": self.bound.compute_cycles,
                "memory_cycles": self.bound.memory_cycles,
                "cycles": self.bound.cycles,
                "latency_s": self.bound.cycles / self.clock_hz,
                "limiter": self.bound.limiter,
                "compulsory_bytes": self.bound.compulsory_bytes,
                "simulated_over_bound": self.bound_ratio,
            },
            **self.detail,
        }


@dataclass(frozen=True)
class Efficiency:
    """Whole-run efficiency; accuracy is a fraction in [0, 1] when given."""

    energy_j: float
    latency_s: float
    macs: int
    accuracy: float | None = None

    @property
    def inferences_per_j(self) -> float:
        return 1.0 / self.energy_j

    @property
    def tops_per_w(self) -> float:
        # One MAC is two operations; TOPS/W = operations per joule / 1e12.
        return 2 * self.macs / self.energy_j / 1e12

    @property
    def edp_j_s(self) -> float:
        return self.energy_j * self.latency_s

    @property
    def accuracy_per_j(self) -> float | None:
        return None if self.accuracy is None else self.accuracy / self.energy_j

    def as_dict(self) -> dict[str, Any]:
        return {
            "inferences_per_j": self.inferences_per_j,
            "tops_per_w": self.tops_per_w,
            "edp_j_s": self.edp_j_s,
            "accuracy": self.accuracy,
            "accuracy_per_j": self.accuracy_per_j,
        }


@dataclass(frozen=True)
class Summary:
    """Per-layer figures, totals and efficiency of one run."""

    network: str
    hardware: str
    layers: tuple[Figures, ...]
    total: Figures
    efficiency: Efficiency
    #: Compression steps that produced the network, in order (empty: uncompressed).
    provenance: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "network": self.network,
            "hardware": self.hardware,
            "provenance": list(self.provenance),
            "layers": [f.as_dict() for f in self.layers],
            "total": self.total.as_dict(),
            "efficiency": self.efficiency.as_dict(),
        }


def _state_cycles(trace: Trace, start: int, stop: int) -> dict[str, int]:
    names = trace.specs["mac.state"].states
    return {names[v]: n for v, n in sorted(trace.cycles_per_value("mac.state", start, stop).items())}


def _bus_busy(trace: Trace, start: int, stop: int) -> int:
    return sum(n for v, n in trace.cycles_per_value("dram.bus", start, stop).items() if v)


def layer_spans(trace: Trace) -> list[tuple[int, int]]:
    """(first cycle, end cycle) of each layer: from the array starting it to starting the next."""
    count = len(trace.meta["layers"])
    starts, values = trace.starts["layer"], trace.values["layer"]
    first = [0] * count
    for s, v in zip(starts.tolist(), values.tolist()):
        first[v] = s if v else 0
    ends = first[1:] + [trace.end_cycle]
    return list(zip(first, ends))


def hardware_of(trace: Trace) -> Accelerator:
    return from_dict(trace.meta["hardware"])


def summarize(trace: Trace, accuracy: float | None = None) -> Summary:
    """Every figure of the run, from the trace and the hardware description it carries."""
    hw = hardware_of(trace)
    transfers = trace.transfers
    is_write = transfers["kind"] == WRITE_KIND
    layers = []
    for i, (meta, (start, stop)) in enumerate(zip(trace.meta["layers"], layer_spans(trace))):
        precision = Precision.parse(meta["mac_precision"])
        mine = transfers["layer"] == i
        counts = ActivityCounts.from_counters(trace.meta["counters"][i], precision, stop - start)
        compulsory = meta["compulsory_bytes"]
        layers.append(
            Figures(
                name=meta["name"],
                start_cycle=start,
                end_cycle=stop,
                macs=trace.integral("mac.macs", start, stop),
                peak_macs_per_cycle=hw.mac_array.macs_per_cycle(precision),
                state_cycles=_state_cycles(trace, start, stop),
                bus_busy_cycles=_bus_busy(trace, start, stop),
                dram_read_bytes=int(np.sum(transfers["payload_bytes"][mine & ~is_write])),
                dram_write_bytes=int(np.sum(transfers["payload_bytes"][mine & is_write])),
                energy=energy_breakdown(counts, hw),
                # Traces written before sparsity existed perform every MAC.
                bound=layer_bound(meta.get("performed_macs", meta["macs"]), compulsory, precision, hw),
                clock_hz=hw.clock_hz,
                detail={"shape": meta["shape"], "plan": meta["plan"]["text"], "precision": precision.value},
            )
        )
    total = _total(trace, hw, layers)
    efficiency = Efficiency(total.energy.total_j, total.latency_s, total.macs, accuracy)
    provenance = tuple(step.text for step in steps_from_json(trace.meta.get("provenance", ())))
    return Summary(trace.meta["network"]["name"], hw.name, tuple(layers), total, efficiency, provenance)


def _total(trace: Trace, hw: Accelerator, layers: list[Figures]) -> Figures:
    energy = EnergyBreakdown()
    for f in layers:
        energy = energy + f.energy
    # The array and the bus are each one shared resource: their work adds up across layers.
    compulsory = sum(f.bound.compulsory_bytes for f in layers)
    bound = Bound(
        compute_cycles=sum(f.bound.compute_cycles for f in layers),
        memory_cycles=math.ceil(Fraction(compulsory) / hw.dram_bytes_per_cycle),
        compulsory_bytes=compulsory,
    )
    peak = max(f.peak_macs_per_cycle for f in layers)
    return Figures(
        name="total",
        start_cycle=0,
        end_cycle=trace.end_cycle,
        macs=trace.integral("mac.macs"),
        peak_macs_per_cycle=peak,
        state_cycles=_state_cycles(trace, 0, trace.end_cycle),
        bus_busy_cycles=_bus_busy(trace, 0, trace.end_cycle),
        dram_read_bytes=sum(f.dram_read_bytes for f in layers),
        dram_write_bytes=sum(f.dram_write_bytes for f in layers),
        energy=energy,
        bound=bound,
        clock_hz=hw.clock_hz,
    )


def tile_figures(trace: Trace) -> list[dict[str, Any]]:
    """Per tile step of every layer: its span (waiting for operands, then computing), MACs and
    cycles in each MAC-array state."""
    names = trace.specs["mac.state"].states
    out = []
    for meta, (start, stop) in zip(trace.meta["layers"], layer_spans(trace)):
        s, e, v = trace.intervals("tile", start, stop)
        for tile_start, tile_end, tile in zip(s.tolist(), e.tolist(), v.tolist()):
            states = trace.cycles_per_value("mac.state", tile_start, tile_end)
            out.append(
                {
                    "layer": meta["name"],
                    "tile": tile,
                    "start_cycle": tile_start,
                    "cycles": tile_end - tile_start,
                    "macs": trace.integral("mac.macs", tile_start, tile_end),
                    "state_cycles": {names[k]: n for k, n in sorted(states.items())},
                }
            )
    return out
