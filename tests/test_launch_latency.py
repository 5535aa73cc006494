"""Kernel launch latency (`Accelerator.launch_latency_ns`, issue 19): each layer is one kernel the
host issues back to back; a layer starts once issued and its predecessor is done."""

import dataclasses

import pytest

from accelsim import Linear, Network, preset, simulate
from accelsim.hardware import ConfigError

#: A fast bus with no latency, so the 64 x 64 layers below are short and their times exact.
HW = preset("seed").replace(dram=dataclasses.replace(preset("seed").dram, bandwidth_bytes_per_s=1e12, latency_ns=0))


def fc(i: int) -> Linear:
    return Linear(f"fc{i}", in_features=64, out_features=64, tokens=4, bias=False)


ONE = Network("one", (fc(0),))
CHAIN = Network("chain", tuple(fc(i) for i in range(4)))


def end(net: Network, launch_ns: float) -> int:
    return simulate(net, HW.replace(launch_latency_ns=launch_ns)).end_cycle


def test_default_is_no_launch_and_the_field_is_validated():
    assert preset("seed").launch_latency_ns == 0 and preset("seed").launch_latency_cycles == 0
    assert preset("nvidia-a100-80gb").launch_latency_ns == 5000
    assert preset("nvidia-a100-80gb").launch_latency_cycles == 7050  # 5 us at 1.41 GHz
    for bad in (-1.0, float("nan"), 2e9, True):
        with pytest.raises(ConfigError, match="accelerator.launch_latency_ns"):
            HW.replace(launch_latency_ns=bad)


def test_one_kernel_starts_one_launch_late():
    assert end(ONE, 0) == 276
    assert end(ONE, 1000) == 276 + 1000  # 1 GHz: 1,000 ns = 1,000 cycles


def test_kernels_shorter_than_a_launch_wait_for_the_host():
    # The host issues kernel i at (i + 1) x 1,000 cycles; each runs 275 cycles once issued.
    assert end(CHAIN, 0) == 1044
    assert end(CHAIN, 1000) == 4 * 1000 + 275


def test_kernels_longer_than_a_launch_hide_it_but_lose_cross_layer_prefetch():
    # 10-cycle launches hide behind the kernels, but a layer now fetches its tiles only once it
    # starts, so the chain takes longer than with tiles streaming across layer boundaries.
    assert end(CHAIN, 10) == 1105
    trace = simulate(CHAIN, HW.replace(launch_latency_ns=10))
    assert trace.integral("mac.macs", 0, trace.end_cycle) == 4 * 4 * 64 * 64
