"""Figures of a run, computed from its trace alone: cycles, utilization, stalls, bytes, energy.

One module per job: `counts` (what the run did), `energy` (a pure function of counts and the
energy table), `efficiency` (roofline bounds, whole-run efficiency), `summary` (the figures of
each layer, tile step and the whole run) and `report` (the text `accelsim run` prints).
"""

from accelsim.metrics.counts import (
    STALL_STATES,
    ActivityCounts,
    DramCommands,
    bus_busy_cycles,
    dram_commands,
    hardware_of,
    state_cycles,
)
from accelsim.metrics.efficiency import Bound, Efficiency, layer_bound, memory_cycles
from accelsim.metrics.energy import EnergyBreakdown, dram_command_energy_pj, energy_breakdown
from accelsim.metrics.report import format_si, format_summary, format_table
from accelsim.metrics.summary import Figures, Summary, summarize, tile_figures
from accelsim.trace.trace import layer_spans

__all__ = [
    "STALL_STATES",
    "ActivityCounts",
    "DramCommands",
    "Bound",
    "Efficiency",
    "EnergyBreakdown",
    "Figures",
    "Summary",
    "bus_busy_cycles",
    "dram_command_energy_pj",
    "dram_commands",
    "energy_breakdown",
    "format_si",
    "format_summary",
    "format_table",
    "hardware_of",
    "layer_bound",
    "layer_spans",
    "memory_cycles",
    "state_cycles",
    "summarize",
    "tile_figures",
]
