"""Energy: a pure function of activity counts and the hardware's energy table."""

from __future__ import annotations

from dataclasses import dataclass

from accelsim.dram_devices import command_energy
from accelsim.hardware import Accelerator
from accelsim.metrics.counts import ActivityCounts, DramCommands


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
        dram_j=dram_energy_j(counts, hw),
        static_j=hw.static_power_w * counts.cycles / hw.clock_hz,
        vector_j=counts.vector_ops * hw.vector_unit.energy_per_op_pj[counts.mac_precision] * 1e-12,
    )


def dram_command_energy_pj(commands: DramCommands, hw: Accelerator) -> dict[str, float]:
    """Banked DRAM energy by command kind in pJ: the device's IDD-derived energy per command
    (accelsim.dram_devices.command_energy) times the commands, and background per rank-cycle."""
    e = command_energy(hw.dram.dram_device)
    return {
        "act": commands.acts * e.act_pj,
        "pre": commands.pres * e.pre_pj,
        "read": commands.reads * e.read_pj,
        "write": commands.writes * e.write_pj,
        "refresh": commands.refs * e.refresh_pj,
        "background": commands.active_rank_cycles * e.active_pj_per_cycle
        + commands.idle_rank_cycles * e.idle_pj_per_cycle,
    }


def dram_energy_j(counts: ActivityCounts, hw: Accelerator) -> float:
    """Per command with the banked model, else bus bytes x energy per byte."""
    if hw.dram.model == "banked" and counts.dram_commands is not None:
        return sum(dram_command_energy_pj(counts.dram_commands, hw).values()) * 1e-12
    return counts.dram_bus_bytes * hw.dram.energy_pj_per_byte * 1e-12
