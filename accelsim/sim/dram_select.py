"""Which DRAM controller a run uses: the simple queue (sim/dram.py) or the banked device
(sim/banked_controller.py), from `hw.dram.model`; both serve the scheduler the same way."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import simpy

from accelsim.hardware import Accelerator
from accelsim.sim import banked_controller, dram
from accelsim.sim.dram_placement import TensorPlacement
from accelsim.sim.scheduler import LayerWork
from accelsim.trace.recorder import Recorder
from accelsim.trace.signals import BANKED_DRAM_SIGNALS, SignalSpec
from accelsim.workload.layers import Network

Controller = dram.DramController | banked_controller.BankedController


def extra_signals(hw: Accelerator) -> tuple[SignalSpec, ...]:
    """Signals the DRAM model records beyond every run's."""
    return BANKED_DRAM_SIGNALS if hw.dram.model == "banked" else ()


def make_controller(
    env: simpy.Environment, hw: Accelerator, recorder: Recorder, network: Network, works: Sequence[LayerWork]
) -> Controller:
    if hw.dram.model == "banked":
        placement = TensorPlacement(network.layers, works, hw.dram.layout)
        return banked_controller.BankedController(env, hw, recorder, placement)
    return dram.DramController(env, hw, recorder)


def add_counters(controller: Controller, counters: list[dict[str, int]], layer: tuple[np.ndarray, np.ndarray]) -> None:
    """The banked model's command counts into the run's per-layer counters (the simple model adds none)."""
    if isinstance(controller, banked_controller.BankedController):
        starts, values = layer
        first = [0] * len(counters)
        for s, v in zip(starts.tolist(), values.tolist()):
            first[v] = s if v else 0
        controller.add_counters(counters, first)
