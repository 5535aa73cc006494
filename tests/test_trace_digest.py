"""Speed work must not move a single interval: digests of whole traces, fixed before the
event-loop optimisations (sim/des.py) and checked after. Any change to what a run records
(a new interval, a different transfer order, one cycle more) changes a digest."""

import dataclasses
import hashlib

import numpy as np
import pytest

from accelsim.hardware import Accelerator, Buffers, Dram, MacArray
from accelsim.sim.engine import simulate
from accelsim.study.llm import simulate_generation
from accelsim.trace.trace import Trace
from accelsim.workload.decoder import DecoderConfig
from accelsim.workload.networks import network

#: The signals every run records today (a signal added later does not change these digests).
SIGNALS = (
    "mac.state",
    "mac.busy_lanes",
    "mac.macs",
    "vector.state",
    "vector.busy_lanes",
    "vector.ops",
    "dram.bus",
    "dram.queue",
    "buf.weight",
    "buf.activation",
    "buf.output",
    "layer",
    "tile",
)

TINY = DecoderConfig(
    "tiny", vocab_size=96, hidden_size=32, layers=2, heads=4, kv_heads=2, intermediate_size=64, context=64
)
#: Small buffers and a two-deep DRAM queue: loaders, writer and array wait on each other often.
CRAMPED = Accelerator(
    mac_array=MacArray(lanes=16),
    buffers=Buffers(weight_bytes=4096, activation_bytes=4096, output_bytes=2048),
    dram=Dram(queue_depth=2),
)


def digest(trace: Trace) -> str:
    """sha256 of the named signals' intervals, every transfer and the end cycle."""
    h = hashlib.sha256(str(trace.end_cycle).encode())
    for name in (*SIGNALS, *(("step",) if "step" in trace.starts else ())):
        h.update(name.encode())
        h.update(np.ascontiguousarray(trace.starts[name], dtype=np.int64).tobytes())
        h.update(np.ascontiguousarray(trace.values[name], dtype=np.int64).tobytes())
    for name in sorted(trace.transfers):
        h.update(name.encode())
        h.update(np.ascontiguousarray(trace.transfers[name], dtype=np.int64).tobytes())
    return h.hexdigest()[:20]


def _banked(hw: Accelerator) -> Accelerator:
    return hw.replace(dram=dataclasses.replace(hw.dram, model="banked", device="ddr4-3200"))


#: Generations with the KV cache read from DRAM every step (as when these digests were fixed),
#: and with it on chip while it fits (their digests fixed when that rule came).
CASES = {
    "tiny generation, cramped": (
        lambda: simulate_generation(TINY, 8, 3, CRAMPED, kv_on_chip=False).trace,
        "9445072cc3a434df3de6",
    ),
    "tiny generation, banked": (
        lambda: simulate_generation(TINY, 8, 3, _banked(CRAMPED), kv_on_chip=False).trace,
        "b5881db87fb74413649b",
    ),
    "llama-3.2-1b 16+2, edge-llm": (
        lambda: simulate_generation("llama-3.2-1b", 16, 2, "edge-llm", kv_on_chip=False).trace,
        "ada025bc2c3e2de0e512",
    ),
    "tiny generation, cramped, KV on chip": (
        lambda: simulate_generation(TINY, 8, 3, CRAMPED).trace,
        "c262f7ef418ccf496f1c",
    ),
    "llama-3.2-1b 16+3, edge-llm, KV on chip": (
        lambda: simulate_generation("llama-3.2-1b", 16, 3, "edge-llm").trace,
        "47190c39e532d143d50a",
    ),
    "resnet20, cramped": (lambda: simulate(network("resnet20"), CRAMPED), "94800ba30ab9ae5aa087"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_trace_digest_unchanged(case: str) -> None:
    run, expected = CASES[case]
    assert digest(run()) == expected
