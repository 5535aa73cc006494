"""Energy: a pure function of activity counts and the hardware's energy table."""

from __future__ import annotations

from dataclasses import dataclass

from accelsim.hardware import Accelerator
from accelsim.metrics.counts import ActivityCounts


@dataclass(frozen=True)
class EnergyBreakdown:
    """Energy in joules by where it is spent."""

    mac_j: float = 0.0
    sram_j: float = 0.0
    dram_j: float = 0.0
    static_j: float = 0.0
    vector_j: float = 0.0

    @property
    def total_j(self) -> float:
        return self.mac_j + self.sram_j + self.dram_j + self.static_j + self.vector_j

    def __add__(self, other: EnergyBreakdown) -> EnergyBreakdown:
        return EnergyBreakdown(
            self.mac_j + other.mac_j,
            self.sram_j + other.sram_j,
            self.dram_j + other.dram_j,
            self.static_j + other.static_j,
            self.vector_j + other.vector_j,
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
        vector_j=counts.vector_ops * hw.vector_unit.energy_per_op_pj[counts.mac_precision] * 1e-12,
    )
