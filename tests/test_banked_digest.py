"""Speed work on the banked DRAM model must not move a single interval: digests of whole banked
runs on every device (every signal, the transfer table, the per-layer counters and the end cycle),
fixed before the banked controller's optimisations and checked after."""

import dataclasses
import hashlib
import json

import numpy as np
import pytest

from accelsim import hardware
from accelsim.precision import Precision
from accelsim.sim.engine import simulate
from accelsim.trace.trace import Trace
from accelsim.workload.networks import network


def digest(trace: Trace) -> str:
    """sha256 of every signal's intervals, every transfer column, the counters and the end cycle."""
    h = hashlib.sha256(str(trace.end_cycle).encode())
    for name in sorted(trace.starts):
        h.update(name.encode())
        h.update(np.ascontiguousarray(trace.starts[name], dtype=np.int64).tobytes())
        h.update(np.ascontiguousarray(trace.values[name], dtype=np.int64).tobytes())
    for name in sorted(trace.transfers):
        h.update(name.encode())
        h.update(np.ascontiguousarray(trace.transfers[name], dtype=np.int64).tobytes())
    h.update(json.dumps(trace.meta["counters"], sort_keys=True).encode())
    return h.hexdigest()[:20]


def _banked(device: str, layout: str = "tiled", channel_queue_depth: int = 8) -> hardware.Accelerator:
    seed = hardware.seed()
    dram = dataclasses.replace(
        seed.dram, model="banked", device=device, layout=layout, channel_queue_depth=channel_queue_depth
    )
    return seed.replace(dram=dram)


#: (network, device, layout) -> digest. ResNet-50 INT8 is the speed benchmark's workload
#: (tools/bench_dram_engine.py); its vector layers add many small transfers. Fixed with eight requests
#: of lookahead per channel (dram.channel_queue_depth's default).
CASES = {
    ("resnet50", "ddr4-3200", "tiled"): "04ad08b91f2897c388fc",
    ("resnet50", "lpddr4-2400", "tiled"): "22504e8a3cce887e26d0",
    ("resnet50", "lpddr5-6400", "tiled"): "c3d70ca207c2d860f366",
    ("resnet50", "hbm2", "tiled"): "9eb7daf900b9fe9fccf1",
    ("resnet20", "ddr4-3200", "row-major"): "71a9a7c56236cf423ae1",
    ("resnet20", "hbm2", "row-major"): "ac3732720f4e1f5c8b8d",
}

#: With one request of lookahead, the single-channel devices' runs are those of the controller that
#: placed each request once the one before had issued its last column command (digests fixed then).
ONE_AHEAD = {
    ("resnet50", "ddr4-3200", "tiled"): "d51c8af0ec6487378236",
    ("resnet50", "lpddr4-2400", "tiled"): "0c5cd3720fd87c7790a0",
    ("resnet50", "lpddr5-6400", "tiled"): "c7a8763fd36e7f11ba44",
    ("resnet20", "ddr4-3200", "row-major"): "002f333100d22e005225",
}


@pytest.mark.parametrize("case", sorted(CASES), ids=lambda c: "-".join(c))
def test_banked_digest_unchanged(case: tuple[str, str, str]) -> None:
    name, device, layout = case
    trace = simulate(network(name).with_precision(Precision.INT8), _banked(device, layout))
    assert digest(trace) == CASES[case]


@pytest.mark.parametrize("case", sorted(ONE_AHEAD), ids=lambda c: "-".join(c))
def test_one_request_of_lookahead_is_the_controller_before_lookahead(case: tuple[str, str, str]) -> None:
    name, device, layout = case
    trace = simulate(network(name).with_precision(Precision.INT8), _banked(device, layout, channel_queue_depth=1))
    assert digest(trace) == ONE_AHEAD[case]
