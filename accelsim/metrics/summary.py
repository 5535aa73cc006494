"""The figures of a run, computed from its trace alone: per layer, per tile step and in total.

The trace carries the hardware description, so a trace file is enough to recompute every
figure a run printed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from accelsim.hardware import Accelerator
from accelsim.metrics.counts import (
    STALL_STATES,
    ActivityCounts,
    bus_busy_cycles,
    hardware_of,
    state_cycles,
)
from accelsim.metrics.efficiency import Bound, Efficiency, memory_cycles, traced_layer_bound
from accelsim.metrics.energy import EnergyBreakdown, energy_breakdown
from accelsim.precision import Precision
from accelsim.trace.trace import WRITE_KIND, Trace, layer_spans
from accelsim.workload.provenance import steps_from_json


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
                "vector": self.energy.vector_j,
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


def summarize(trace: Trace, accuracy: float | None = None) -> Summary:
    """Every figure of the run, from the trace and the hardware description it carries."""
    hw = hardware_of(trace)
    reads, writes = _bytes_per_layer(trace)
    layers = []
    for i, (meta, (start, stop)) in enumerate(zip(trace.meta["layers"], layer_spans(trace))):
        precision = Precision.parse(meta["mac_precision"])
        counts = ActivityCounts.from_counters(trace.meta["counters"][i], precision, stop - start)
        layers.append(
            Figures(
                name=meta["name"],
                start_cycle=start,
                end_cycle=stop,
                macs=trace.integral("mac.macs", start, stop),
                peak_macs_per_cycle=hw.mac_array.macs_per_cycle(precision),
                state_cycles=state_cycles(trace, start, stop),
                bus_busy_cycles=bus_busy_cycles(trace, start, stop),
                dram_read_bytes=int(reads[i]),
                dram_write_bytes=int(writes[i]),
                energy=energy_breakdown(counts, hw),
                bound=traced_layer_bound(meta, hw),
                clock_hz=hw.clock_hz,
                detail={"shape": meta["shape"], "plan": meta["plan"]["text"], "precision": precision.value}
                | _vector_detail(trace, meta, start, stop),
            )
        )
    total = _total(trace, hw, layers)
    efficiency = Efficiency(total.energy.total_j, total.latency_s, total.macs, accuracy)
    provenance = tuple(step.text for step in steps_from_json(trace.meta.get("provenance", ())))
    return Summary(trace.meta["network"]["name"], hw.name, tuple(layers), total, efficiency, provenance)


def _bytes_per_layer(trace: Trace) -> tuple[np.ndarray, np.ndarray]:
    """DRAM payload bytes read and written per layer, in one pass over the transfer table (a
    generation has tens of thousands of layers: one mask per layer would be quadratic)."""
    transfers, count = trace.transfers, len(trace.meta["layers"])
    is_write = transfers["kind"] == WRITE_KIND
    out = []
    for rows in (~is_write, is_write):
        sums = np.zeros(count, dtype=np.int64)
        np.add.at(sums, transfers["layer"][rows], transfers["payload_bytes"][rows])
        out.append(sums)
    return out[0], out[1]


def _vector_detail(trace: Trace, meta: dict[str, Any], start: int, stop: int) -> dict[str, Any]:
    """A vector layer's unit, operations and vector-unit state cycles (nothing for a GEMM layer,
    so GEMM-only runs report what they always did)."""
    if meta.get("unit", "mac") != "vector":
        return {}
    names = trace.specs["vector.state"].states
    cycles = trace.cycles_per_value("vector.state", start, stop)
    return {
        "unit": "vector",
        "vector_ops": trace.integral("vector.ops", start, stop),
        "vector_state_cycles": {names[v]: n for v, n in sorted(cycles.items())},
    }


def _total(trace: Trace, hw: Accelerator, layers: list[Figures]) -> Figures:
    energy = EnergyBreakdown()
    for f in layers:
        energy = energy + f.energy
    # The array and the bus are each one shared resource: their work adds up across layers.
    compulsory = sum(f.bound.compulsory_bytes for f in layers)
    bound = Bound(
        compute_cycles=sum(f.bound.compute_cycles for f in layers),
        memory_cycles=memory_cycles(compulsory, hw),
        compulsory_bytes=compulsory,
    )
    peak = max(f.peak_macs_per_cycle for f in layers)
    return Figures(
        name="total",
        start_cycle=0,
        end_cycle=trace.end_cycle,
        macs=trace.integral("mac.macs"),
        peak_macs_per_cycle=peak,
        state_cycles=state_cycles(trace, 0, trace.end_cycle),
        bus_busy_cycles=bus_busy_cycles(trace, 0, trace.end_cycle),
        dram_read_bytes=sum(f.dram_read_bytes for f in layers),
        dram_write_bytes=sum(f.dram_write_bytes for f in layers),
        energy=energy,
        bound=bound,
        clock_hz=hw.clock_hz,
        detail=_vector_total(trace, layers),
    )


def _vector_total(trace: Trace, layers: list[Figures]) -> dict[str, Any]:
    """The run's vector operations and the share of its cycles in vector layers, when it has any."""
    vector = [f for f in layers if f.detail.get("unit") == "vector"]
    if not vector:
        return {}
    cycles = sum(f.cycles for f in vector)
    return {
        "vector_ops": trace.integral("vector.ops"),
        "vector_layer_cycles": cycles,
        "vector_share": cycles / trace.end_cycle if trace.end_cycle else 0.0,
    }


def tile_figures(trace: Trace) -> list[dict[str, Any]]:
    """Per tile step of every layer: its span (waiting for operands, then computing), MACs and
    cycles in each MAC-array state."""
    out = []
    for meta, (start, stop) in zip(trace.meta["layers"], layer_spans(trace)):
        s, e, v = trace.intervals("tile", start, stop)
        for tile_start, tile_end, tile in zip(s.tolist(), e.tolist(), v.tolist()):
            out.append(
                {
                    "layer": meta["name"],
                    "tile": tile,
                    "start_cycle": tile_start,
                    "cycles": tile_end - tile_start,
                    "macs": trace.integral("mac.macs", tile_start, tile_end),
                    "state_cycles": state_cycles(trace, tile_start, tile_end),
                }
            )
    return out
