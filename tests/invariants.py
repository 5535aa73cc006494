"""Invariants every simulation must satisfy, shared by the simulator tests."""

import dataclasses
import math
from fractions import Fraction

import numpy as np

from accelsim.metrics import summarize
from accelsim.sim.atomic_padding import spread
from accelsim.sim.engine import schedule_network
from accelsim.sim.tiling import fold_overhead_cycles, performed_macs, systolic_mapping
from accelsim.sim.vector_unit import busy_lane_cycles as vector_lane_cycles
from accelsim.sim.vector_unit import tile_cycles
from accelsim.trace.signals import MacState


def check_invariants(trace, net, hw):
    end = trace.end_cycle
    works = schedule_network(net, hw)
    steps = [list(w.steps) for w in works]

    # Exactly one MAC state per cycle: intervals partition [0, end) and expand to `end` values.
    for name in trace.specs:
        starts = trace.starts[name]
        assert starts[0] == 0 and np.all(np.diff(starts) > 0) and starts[-1] < end, name
    assert set(np.unique(trace.values["mac.state"])) <= {int(s) for s in MacState}

    # Conservation of MACs: per-cycle MACs sum to the tiles' MACs, which are the workload's MAC
    # count on a dense array and never fewer than its nonzero-weight MACs on a zero-skipping one.
    assert trace.integral("mac.macs") == sum(s.macs for layer_steps in steps for s in layer_steps)
    for layer, layer_steps in zip(net.layers, steps):
        performed = sum(s.macs for s in layer_steps)
        assert performed_macs(layer, hw) <= performed <= layer.macs
        if performed_macs(layer, hw) == layer.macs:
            assert performed == layer.macs
    if hw.mac_array.dataflow == "rs":
        # A pass keeps its active PEs for its busiest PE's cycles: at most one MAC each a cycle.
        assert trace.integral("mac.busy_lanes") == sum(s.active_pes * s.pe_cycles for ls in steps for s in ls)
        assert trace.integral("mac.busy_lanes") >= trace.integral("mac.macs")
        assert trace.values["mac.busy_lanes"].max() <= hw.mac_array.lanes
    elif hw.mac_array.systolic:
        # One MAC per busy processing element per cycle, never more PEs than the grid has.
        assert trace.integral("mac.busy_lanes") == trace.integral("mac.macs")
        assert trace.values["mac.busy_lanes"].max() <= hw.mac_array.rows * hw.mac_array.cols
    else:
        busy_lane_cycles = 0
        for layer, layer_steps in zip(net.layers, steps):
            pack = int(hw.mac_array.pack[layer.mac_precision])
            for s in layer_steps:
                if s.padded_macs:  # an array of atomic operations: the MACs spread over padded cycles
                    runs = spread(s.macs, -(-s.padded_macs // (hw.mac_array.lanes * pack)))
                    busy_lane_cycles += sum(cycles * -(-macs // pack) for cycles, macs in runs)
                    continue
                full, rem = divmod(s.macs, hw.mac_array.lanes * pack)
                busy_lane_cycles += full * hw.mac_array.lanes + -(-rem // pack)
        assert trace.integral("mac.busy_lanes") == busy_lane_cycles
    # MACs happen only in BUSY cycles (checked on the joint change points, not per cycle, so a
    # run of billions of cycles costs its intervals).
    states, macs = _joint(trace, "mac.state", "mac.macs")
    assert np.all(states[macs > 0] == MacState.BUSY)

    # Conservation of vector operations: per-cycle operations sum to the tiles' and the layers'
    # (MAC counts above exclude vector layers, whose steps perform none); busy lanes match each
    # tile's full cycles and last partial one; operations only while the vector unit is BUSY;
    # never both units BUSY in one cycle (a layer runs on one of them).
    assert trace.integral("vector.ops") == sum(s.vector_ops for layer_steps in steps for s in layer_steps)
    assert trace.integral("vector.ops") == sum(layer.vector_ops + layer.epilogue_ops for layer in net.layers)
    vector_lanes = sum(
        vector_lane_cycles(s.vector_ops, hw, layer.mac_precision)
        for layer, layer_steps in zip(net.layers, steps)
        for s in layer_steps
    )
    assert trace.integral("vector.busy_lanes") == vector_lanes
    assert set(np.unique(trace.values["vector.state"])) <= {int(s) for s in MacState}
    vstates, ops = _joint(trace, "vector.state", "vector.ops")
    assert np.all(vstates[ops > 0] == MacState.BUSY)
    mstates, vstates = _joint(trace, "mac.state", "vector.state")
    if not any(layer.epilogue_ops for layer in net.layers):  # a fused epilogue runs beside the array
        assert not np.any((mstates == MacState.BUSY) & (vstates == MacState.BUSY))

    # Conservation of bytes: DRAM moved exactly what the scheduler requested, per layer.
    t = trace.transfers
    for i, layer_steps in enumerate(steps):
        mine = t["layer"] == i
        reads = int(t["payload_bytes"][mine & (t["kind"] != 2)].sum())
        writes = int(t["payload_bytes"][mine & (t["kind"] == 2)].sum())
        assert reads == sum(s.w_bytes + s.a_bytes + s.e_bytes for s in layer_steps)
        kept = works[i].output_on_chip
        assert writes == (0 if kept else sum(s.out_bytes for s in layer_steps if s.out_last))
        counters = trace.meta["counters"][i]
        assert (counters["dram_read_bytes"], counters["dram_write_bytes"]) == (reads, writes)
    assert np.all(t["done_cycle"] <= end)
    assert np.all(t["bus_bytes"] >= t["payload_bytes"])

    # Buffers never overflow. Shared banks (accelsim.sim.nvdla_mapping) are allocated per layer:
    # each plan's held tile and `slots` streamed tiles fit the banks, and the trace shows the next
    # fill prefetched beside the current one (the module's stated simplification).
    if hw.buffers.shared:
        pool = hw.buffers.shared_banks * hw.buffers.bank_bytes
        for work in works:
            if work.plan.tk == work.plan.layer.gemm_mkn[1] and work.unit == "mac":
                w = max(s.w_resident_bytes for s in work.steps)
                a = max(s.a_resident_bytes for s in work.steps)
                held, streamed = (w, a) if work.plan.order == "gnmk" else (a, w)
                assert held + hw.buffers.slots * streamed <= pool, work.plan.describe()
    # Buffers never overflow (row stationary: inputs and psums share one GLB, split per layer).
    glb = hw.buffers.activation_bytes + hw.buffers.output_bytes
    rs = hw.mac_array.dataflow == "rs"
    for sig, cap in (
        ("buf.weight", hw.buffers.weight_bytes),
        ("buf.activation", glb if rs else hw.buffers.activation_bytes),
        ("buf.output", glb if rs else hw.buffers.output_bytes),
    ):
        assert 0 <= trace.values[sig].min(), sig
        assert hw.buffers.shared or trace.values[sig].max() <= cap, sig
    if rs:
        held, psums = _joint(trace, "buf.activation", "buf.output")
        assert np.all(held + psums <= glb)

    # Never below the roofline bound, never above serial execution of every piece of work.
    total = summarize(trace).total
    assert end >= total.bound.cycles
    bpc = hw.dram_bytes_per_cycle
    serial = sum(
        _array_cycles(s, layer, hw) + hw.mac_array.tile_overhead_cycles
        for layer, layer_steps in zip(net.layers, steps)
        for s in layer_steps
    )
    serial += sum(math.ceil(Fraction(int(b)) / bpc) + 1 + hw.dram_latency_cycles for b in t["bus_bytes"])
    assert end <= serial
    return total


def _joint(trace, a, b):
    """Values of signals a and b on every interval of their common refinement."""
    starts = np.union1d(trace.starts[a], trace.starts[b])
    at = [trace.values[n][np.searchsorted(trace.starts[n], starts, side="right") - 1] for n in (a, b)]
    return at[0], at[1]


def _array_cycles(step, layer, hw):
    """Cycles the array (or the vector unit) needs for a step: MACs over the peak rate, a
    systolic array's folds, or a vector step's operations over the vector unit's rate."""
    if layer.unit == "vector":
        return tile_cycles(step.vector_ops, hw, layer.mac_precision)
    if step.vector_ops:  # a fused epilogue in the array's shadow
        return max(
            _array_cycles(dataclasses.replace(step, vector_ops=0), layer, hw),
            tile_cycles(step.vector_ops, hw, layer.mac_precision),
        )
    if hw.mac_array.dataflow == "rs":
        return step.pe_cycles + step.drain_cycles
    if not hw.mac_array.systolic:
        return -(-(step.padded_macs or step.macs) // hw.mac_array.macs_per_cycle(layer.mac_precision))
    groups, m, k, n = step.shape
    need_rows, need_cols, streamed = systolic_mapping(hw.mac_array.dataflow, m, k, n)
    folds = -(-need_rows // hw.mac_array.rows) * -(-need_cols // hw.mac_array.cols)
    return groups * folds * (fold_overhead_cycles(hw) + streamed)
