"""`simulate`: wire the MAC array, DRAM controller and tile scheduler, run, return the trace."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import simpy
from tqdm import tqdm

from accelsim.hardware import Accelerator
from accelsim.sim import dram, mac_array, scheduler
from accelsim.sim.tiling import TilePlan, plan_layer
from accelsim.trace.recorder import Recorder
from accelsim.trace.trace import TRANSFER_COLUMNS, Trace
from accelsim.workload.layers import Layer, Network

SIGNAL_SPECS = mac_array.SIGNALS + dram.SIGNALS + scheduler.SIGNALS

#: Runs with more tile steps than this show a progress bar when progress is requested.
_PROGRESS_MIN_STEPS = 20_000


def plan_network(network: Network, hw: Accelerator) -> list[TilePlan]:
    """The tiling plan of every layer (ConfigError if a layer cannot fit the buffers)."""
    return [plan_layer(layer, hw) for layer in network.layers]


def _layer_meta(layer: Layer, plan: TilePlan) -> dict[str, Any]:
    return {
        "name": layer.name,
        "kind": layer.kind,
        "shape": layer.describe(),
        "gemm_mkn": list(layer.gemm_mkn),
        "groups": layer.groups,
        "weight_precision": layer.weight_precision.value,
        "activation_precision": layer.activation_precision.value,
        "mac_precision": layer.mac_precision.value,
        "macs": layer.macs,
        "parameters": layer.parameter_count,
        "weight_bytes": layer.weight_bytes,
        "input_bytes": layer.input_bytes,
        "output_bytes": layer.output_bytes,
        "independent": layer.independent,
        "plan": {
            "tg": plan.tg,
            "tm": plan.tm,
            "tk": plan.tk,
            "tn": plan.tn,
            "order": plan.order,
            "steps": plan.step_count,
            "text": plan.describe(),
        },
    }


def simulate(
    network: Network,
    hw: Accelerator,
    *,
    progress: bool = False,
    provenance: list[dict[str, Any]] | None = None,
) -> Trace:
    """Run `network` on `hw` and return its complete per-cycle trace."""
    plans = plan_network(network, hw)
    work = tuple(
        scheduler.LayerWork(tuple(plan.steps()), layer.mac_precision, layer.independent)
        for layer, plan in zip(network.layers, plans)
    )
    env = simpy.Environment()
    recorder = Recorder(SIGNAL_SPECS)
    controller = dram.DramController(env, hw, recorder)
    array = mac_array.MacArrayUnit(env, hw, recorder)
    total_steps = sum(len(w.steps) for w in work)
    bar = tqdm(
        total=total_steps, unit="tile", desc=network.name, disable=not progress or total_steps < _PROGRESS_MIN_STEPS
    )
    sched = scheduler.TileScheduler(
        env, hw, recorder, controller, array, work, on_step=bar.update if not bar.disable else None
    )
    done = sched.start()
    env.run(until=done)
    bar.close()
    controller.finish()
    end = int(env.now)
    # Changes at the end cycle (the last write completing) lie outside [0, end).
    arrays = {name: (s[(s < end) | (s == 0)], v[(s < end) | (s == 0)]) for name, (s, v) in recorder.arrays().items()}
    columns = np.asarray(controller.transfers, dtype=np.int64).reshape(-1, len(TRANSFER_COLUMNS))
    meta = {
        "clock_hz": hw.clock_hz,
        "hardware": dataclasses.asdict(hw),
        "network": {"name": network.name, "description": network.description},
        "provenance": provenance or [],
        "layers": [_layer_meta(layer, plan) for layer, plan in zip(network.layers, plans)],
        "counters": sched.counters,
    }
    return Trace(
        specs={spec.name: spec for spec in SIGNAL_SPECS},
        starts={name: a[0] for name, a in arrays.items()},
        values={name: a[1] for name, a in arrays.items()},
        end_cycle=end,
        transfers={name: columns[:, i].copy() for i, name in enumerate(TRANSFER_COLUMNS)},
        meta=meta,
    )
