"""`simulate`: wire the MAC array, DRAM controller and tile scheduler, run, return the trace."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from tqdm import tqdm

from accelsim.hardware import Accelerator, ConfigError
from accelsim.sim import des, dram, dram_select, kv_residency, mac_array, rlc, scheduler, vector_unit
from accelsim.sim.tiling import TilePlan, compulsory_bytes, performed_macs, plan_layer, plan_steps, replaced
from accelsim.sim.vector_tiling import plan_vector
from accelsim.trace import signals
from accelsim.trace.recorder import Recorder
from accelsim.trace.signals import LAYER, SignalSpec
from accelsim.trace.trace import Trace
from accelsim.workload.layers import Layer, Network

#: What a run records: every recorded signal of accelsim.trace.signals, in its order.
SIGNAL_SPECS = mac_array.SIGNALS + vector_unit.SIGNALS + dram.SIGNALS + scheduler.SIGNALS


def signal_specs(hw: Accelerator) -> tuple[SignalSpec, ...]:
    """What a run on `hw` records: SIGNAL_SPECS, and the banked DRAM's own signals after them."""
    return SIGNAL_SPECS + dram_select.extra_signals(hw)


#: Runs with more tile steps than this show a progress bar when progress is requested.
_PROGRESS_MIN_STEPS = 20_000


def plan_network(network: Network, hw: Accelerator) -> list[TilePlan]:
    """The tiling plan of every layer (ConfigError if a layer cannot fit the buffers)."""
    return [work.plan for work in schedule_network(network, hw)]


def _retains_output(
    network: Network,
    i: int,
    work: scheduler.LayerWork,
    hw: Accelerator,
    producers: tuple[tuple[int, ...], ...],
    consumers: list[list[int]],
) -> bool:
    """Whether layer i's output can stay in the activation buffer for layer i + 1.

    Only when the next layer is its one consumer and reads nothing else, the tensor is exactly
    the next layer's input at the same precision, and it fits beside what layer i itself holds
    in the activation buffer (its own input if retained, else its tile slots)."""
    layers = network.layers
    if not hw.buffers.retain_activations or i + 1 >= len(layers):
        return False
    layer, nxt = layers[i], layers[i + 1]
    operands = producers[i + 1][: len(producers[i + 1]) - nxt.epilogue_inputs]  # not a fused residual
    if consumers[i] != [i + 1] or operands != (i,):
        return False
    if nxt.input_tensor_elements != layer.output_elements or nxt.activation_precision != layer.activation_precision:
        return False
    held = work.input_bytes_on_chip or hw.buffers.slots * max(s.a_resident_bytes for s in work.steps)
    return held + _output_tile_bytes(work) <= hw.buffers.activation_bytes


def _smaller_tiles_to_retain(
    network: Network,
    i: int,
    work: scheduler.LayerWork,
    hw: Accelerator,
    producers: tuple[tuple[int, ...], ...],
    consumers: list[list[int]],
) -> scheduler.LayerWork:
    """A vector layer takes its largest row blocks; when its output then does not fit beside its
    input slots, smaller blocks that leave room for the output keep it on chip (the same bytes
    in, none out) if the next layer can read it from there."""
    layer = network.layers[i]
    budget = hw.buffers.activation_bytes - layer.output_bytes
    if budget <= 0 or work.input_bytes_on_chip:
        return work
    try:
        plan = plan_vector(layer, hw, False, budget)  # type: ignore[arg-type]
    except ConfigError:
        return work
    smaller = dataclasses.replace(work, plan=plan, steps=plan_steps(plan))
    return (
        dataclasses.replace(smaller, output_on_chip=True)
        if _retains_output(network, i, smaller, hw, producers, consumers)
        else work
    )


def _output_tile_bytes(work: scheduler.LayerWork) -> int:
    """Bytes of a layer's output as its tiles land in the buffer: each tile rounds up on its own
    (two INT4 values a byte), so this can exceed the whole tensor's bytes."""
    return sum(s.out_bytes for s in work.steps if s.out_last)


def schedule_network(network: Network, hw: Accelerator) -> list[scheduler.LayerWork]:
    """Plan every layer and decide which outputs stay on chip, in execution order."""
    works: list[scheduler.LayerWork] = []
    producers = network.producers()
    consumers: list[list[int]] = [[] for _ in producers]
    for j, sources in enumerate(producers):
        for i in dict.fromkeys(sources):  # a layer may read one producer twice (GPT-2's fused QKV)
            consumers[i].append(j)
    on_chip_bytes = 0  # of this layer's input, held in the activation buffer by the previous layer
    for i, layer in enumerate(network.layers):
        plan = plan_layer(layer, hw, on_chip_bytes > 0)
        work = scheduler.LayerWork(
            plan, plan_steps(plan), layer.mac_precision, producers[i], on_chip_bytes, False, layer.unit
        )
        work = replaced(work, output_on_chip=_retains_output(network, i, work, hw, producers, consumers))
        if layer.unit == "vector" and not work.output_on_chip:
            work = _smaller_tiles_to_retain(network, i, work, hw, producers, consumers)
        works.append(work)
        on_chip_bytes = _output_tile_bytes(work) if work.output_on_chip else 0
    if rlc.codes_activations(hw):  # what goes through DRAM moves coded; what stays on chip does not
        works = [
            replaced(w, steps=rlc.coded_steps(w.steps, layer, not w.input_bytes_on_chip, not w.output_on_chip))
            for w, layer in zip(works, network.layers)
        ]
    return works


def _layers_meta(
    layers: Sequence[Layer], works: Sequence[scheduler.LayerWork], hw: Accelerator
) -> list[dict[str, Any]]:
    """Each layer's metadata. Layers sharing a step list share their plan and their shape (step
    lists are shared per plan and layer shape, `plan_steps`; each is held by its works, so its
    id is unique here): their metadata differs only in the layer's name and its place in the
    network, so a copy of the first one's is updated (the same keys in the same order) instead
    of evaluating a few dozen properties again for each of a generation's 75 k layers."""
    first: dict[int, dict[str, Any]] = {}
    metas = []
    for layer, work in zip(layers, works):
        shared = first.get(id(work.steps)) if work.steps and work.plan.layer is layer else None
        if shared is None:
            meta = _layer_meta(layer, work, hw)
            if work.steps and work.plan.layer is layer:
                first[id(work.steps)] = meta
        else:
            meta = dict(shared)
            meta["name"] = layer.name
            meta["gemm_mkn"] = list(shared["gemm_mkn"])
            meta["producers"] = list(work.producers)
            meta["input_on_chip"] = work.input_bytes_on_chip > 0
            meta["output_on_chip"] = work.output_on_chip
            meta["compulsory_bytes"] = compulsory_bytes(layer, work.input_bytes_on_chip > 0, work.output_on_chip)
            if "dequantize" in shared:
                meta["dequantize"] = dict(shared["dequantize"])
            meta["plan"] = dict(shared["plan"])
        metas.append(meta)
    return metas


def _layer_meta(layer: Layer, work: scheduler.LayerWork, hw: Accelerator) -> dict[str, Any]:
    plan = work.plan
    return {
        "name": layer.name,
        "kind": layer.kind,
        "shape": layer.describe(),
        "gemm_mkn": list(layer.gemm_mkn),
        "groups": layer.groups,
        "weight_precision": layer.weight_precision.value,
        "activation_precision": layer.activation_precision.value,
        "mac_precision": layer.mac_precision.value,
        "unit": layer.unit,
        "macs": layer.macs,
        "performed_macs": performed_macs(layer, hw),
        "vector_ops": layer.vector_ops,
        **({"epilogue_ops": layer.epilogue_ops} if layer.epilogue else {}),
        "parameters": layer.parameter_count,
        "nonzero_weights": layer.nonzero_weights,
        "sparsity": layer.b_sparsity.describe(),
        "weight_bytes": layer.weight_bytes,
        "input_bytes": layer.input_bytes,
        "output_bytes": layer.output_bytes,
        "producers": list(work.producers),
        "input_on_chip": work.input_bytes_on_chip > 0,
        "output_on_chip": work.output_on_chip,
        "compulsory_bytes": (rlc.coded_compulsory_bytes if rlc.codes_activations(hw) else compulsory_bytes)(
            layer, work.input_bytes_on_chip > 0, work.output_on_chip
        ),
        **_dequantize_meta(layer, hw),
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


def _dequantize_meta(layer: Layer, hw: Accelerator) -> dict[str, Any]:
    """Where a group-quantized B operand is dequantized and the vector operations that takes
    (none in the datapath); absent for other layers, so their metadata is unchanged."""
    if layer.b_storage is None:
        return {}
    in_datapath = hw.mac_array.dequantize_in_datapath
    ops = 0 if in_datapath else layer.dequantize_ops
    return {
        "b_storage": layer.b_storage.describe(),
        "dequantize": {"where": "datapath" if in_datapath else "vector", "vector_ops": ops},
    }


def _before_end(starts: np.ndarray, values: np.ndarray, end: int) -> tuple[np.ndarray, np.ndarray]:
    """The intervals starting before `end` (always the first): changes at the end cycle (the
    last write completing) lie outside [0, end). Starts are sorted, so this is a prefix: a
    view, not a copy."""
    keep = max(int(np.searchsorted(starts, end, side="left")), 1)
    return starts[:keep], values[:keep]


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the duration. A run allocates millions of
    short-lived events and long-lived plans and intervals, and none of them in reference cycles
    worth collecting, so its collections (each older one walking every object alive) only cost
    time: a twentieth of a long generation's run, with the same peak memory."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def simulate(
    network: Network,
    hw: Accelerator,
    *,
    progress: bool = False,
    layer_steps: Sequence[int] | None = None,
    kv_on_chip: bool = False,
) -> Trace:
    """Run `network` on `hw` and return its complete per-cycle trace.

    `layer_steps` (a generation: 0 for each prefill layer, k for each layer of decode step k)
    adds the `step` signal, recorded as the array starts each layer. `kv_on_chip` (with
    `layer_steps`) keeps the KV cache on chip while it fits (`accelsim.sim.kv_residency`)."""
    with _collector_paused():
        return _simulate(network, hw, progress, layer_steps, kv_on_chip)


def _simulate(
    network: Network, hw: Accelerator, progress: bool, layer_steps: Sequence[int] | None, kv_on_chip: bool
) -> Trace:
    works = schedule_network(network, hw)
    specs = signal_specs(hw)
    residency = None
    if layer_steps is not None:
        if len(layer_steps) != len(works):
            raise ValueError(f"layer_steps: {len(layer_steps)} values for {len(works)} layers")
        specs = (*specs, signals.STEP)
        if kv_on_chip:
            network, works, residency = kv_residency.with_kv_residency(network, works, layer_steps, hw)
    work = tuple(works)
    env = des.Environment()
    recorder = Recorder(specs)
    controller = dram_select.make_controller(env, hw, recorder, network, work)
    array = mac_array.make_array(env, hw, recorder)
    total_steps = sum(len(w.steps) for w in work)
    bar = tqdm(
        total=total_steps, unit="tile", desc=network.name, disable=not progress or total_steps < _PROGRESS_MIN_STEPS
    )
    sched = scheduler.TileScheduler(
        env,
        hw,
        recorder,
        controller,
        array,
        work,
        on_step=bar.update if not bar.disable else None,
        layer_steps=None if layer_steps is None else tuple(layer_steps),
        vector=vector_unit.VectorUnitSim(env, hw, recorder),
    )
    done = sched.start()
    env.run(until=done)
    bar.close()
    controller.finish()
    end = int(env.now)
    arrays = {name: _before_end(s, v, end) for name, (s, v) in recorder.arrays().items()}
    dram_select.add_counters(controller, sched.counters, arrays[LAYER.name])
    meta = {
        "clock_hz": hw.clock_hz,
        "hardware": dataclasses.asdict(hw),
        "network": {"name": network.name, "description": network.description},
        "provenance": [step.as_json() for step in network.provenance],
        "layers": _layers_meta(network.layers, work, hw),
        "counters": sched.counters,
        **({"kv_on_chip": residency.as_json()} if residency is not None else {}),
    }
    return Trace(
        specs={spec.name: spec for spec in specs},
        starts={name: a[0] for name, a in arrays.items()},
        values={name: a[1] for name, a in arrays.items()},
        end_cycle=end,
        transfers=controller.table.as_columns(),
        meta=meta,
    )
