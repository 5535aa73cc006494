"""Sparse weights: storage bytes by format, and MACs saved only where the array skips zeros."""

import dataclasses
import math

import pytest
from invariants import check_invariants

from accelsim.errors import InputError
from accelsim.hardware import Accelerator, ConfigError, MacArray
from accelsim.metrics import summarize
from accelsim.precision import Precision
from accelsim.sim.engine import plan_network, simulate
from accelsim.workload.layers import Gemm, Linear, Network
from accelsim.workload.sparsity import WeightSparsity


def _linear(sparsity):
    layer = Linear("a", in_features=256, out_features=256, independent=True, sparsity=sparsity)
    return layer.with_precision(Precision.INT8, Precision.INT8)


@pytest.mark.parametrize(
    "sparsity, weight_bytes",
    [
        (WeightSparsity(), 65536 + 256),
        (WeightSparsity(0.5, "dense"), 65536 + 256),  # zeros stored: nothing saved
        (WeightSparsity(0.5, "bitmask"), 32768 + 65536 // 8 + 256),  # values + one bit a position
        (WeightSparsity(0.5, "csr"), 32768 * 16 // 8 + 256 * 9 // 8 + 256),  # 8-bit positions, 9-bit counts
        (WeightSparsity.n_of_m(2, 4), 32768 * 10 // 8 + 256),  # 2-bit positions in each group of 4
        (WeightSparsity(0.1, "bitmask"), math.ceil(0.1 * 65536) + 8192 + 256),
    ],
)
def test_weight_bytes_of_each_format_by_hand(sparsity, weight_bytes):
    assert _linear(sparsity).weight_bytes == weight_bytes


def test_nonzeros_round_up_per_block_and_restart_nm_groups():
    unstructured = WeightSparsity(0.3, "bitmask")
    assert unstructured.nonzeros(10, 1) == 3 and unstructured.nonzeros(7, 1) == 3  # ceil(2.1)
    assert WeightSparsity(0.7, "bitmask").nonzeros(10, 1) == 7  # exact, no float rounding up
    two_four = WeightSparsity.n_of_m(2, 4)
    assert two_four.nonzeros(8, 3) == 12 and two_four.nonzeros(5, 1) == 3 and two_four.nonzeros(1, 1) == 1


def _hw(**mac):
    return Accelerator(mac_array=MacArray(**mac))


def test_single_tile_sparse_gemm_by_hand():
    # 16 x 128 @ 128 x 16 FP32 at 25% density in a bitmask, on an array that skips zeros:
    # weights 512 values + 2048 mask bits = 2304 bytes, activations 8 KiB, 512 x 16 MACs.
    layer = Gemm("g", m=16, k=128, n=16, independent=True, sparsity=WeightSparsity(0.25, "bitmask"))
    net = Network("one", (layer,))
    hw = _hw(zero_skipping=True)
    trace = simulate(net, hw)
    check_invariants(trace, net, hw)
    weights = 512 * 4 + 2048 // 8
    fetch = (weights + 16 * 128 * 4) * 5 + 100
    compute = math.ceil(16 * 512 / 64)
    write = 16 * 16 * 4 * 5
    assert trace.end_cycle == fetch + compute + write
    assert trace.integral("mac.macs") == 16 * 512 == layer.macs_skipping_zeros
    # Without zero-skipping the array multiplies by the zeros too: only the bytes shrink.
    dense_array = simulate(net, _hw())
    assert dense_array.end_cycle == fetch + math.ceil(16 * 128 * 16 / 64) + write
    assert summarize(dense_array).total.macs == layer.macs


def test_nm_pattern_runs_sparse_only_on_its_own_pattern():
    def layer(pattern):
        gemm = Gemm("g", m=64, k=256, n=64, independent=True, sparsity=pattern)
        return Network("one", (gemm.with_precision(Precision.INT8, Precision.INT8),))

    two_four, one_four = layer(WeightSparsity.n_of_m(2, 4)), layer(WeightSparsity.n_of_m(1, 4))
    tensor_core = _hw(sparse_pattern="2:4")
    assert simulate(two_four, tensor_core).integral("mac.macs") == 64 * 128 * 64
    assert simulate(one_four, tensor_core).integral("mac.macs") == 64 * 256 * 64  # not its pattern
    assert simulate(one_four, _hw(zero_skipping=True)).integral("mac.macs") == 64 * 64 * 64
    for net in (two_four, one_four):
        check_invariants(simulate(net, tensor_core), net, tensor_core)


def test_sparse_tiles_never_undercount_the_whole_layer():
    # Many tiles, each rounding its nonzeros up: the sum covers the layer's own count, and the
    # roofline bound (from whole-layer counts) stays below the simulation.
    layer = Gemm("g", m=300, k=777, n=211, independent=True, sparsity=WeightSparsity(0.37, "csr"))
    net = Network("one", (layer,))
    hw = _hw(zero_skipping=True)
    steps = list(plan_network(net, hw)[0].steps())
    assert len(steps) > 4
    assert sum(s.w_bytes for s in steps) >= layer.weight_bytes
    assert sum(s.macs for s in steps) >= layer.macs_skipping_zeros
    trace = simulate(net, hw)
    assert trace.end_cycle >= summarize(trace).total.bound.cycles
    check_invariants(trace, net, hw)


def test_trace_meta_records_sparsity_and_performed_macs():
    net = Network("one", (_linear(WeightSparsity(0.5, "bitmask")),))
    meta = simulate(net, _hw(zero_skipping=True)).meta["layers"][0]
    assert meta["sparsity"] == "50% sparse (bitmask)" and meta["performed_macs"] == 32768
    assert meta["macs"] == 65536 and "skip-zeros" in meta["plan"]["text"]
    assert "50% sparse (bitmask)" in meta["shape"]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: WeightSparsity(0.0, "bitmask"), "sparsity.density: must be in (0, 1] (got 0.0)"),
        (lambda: WeightSparsity(0.5, "coo"), "sparsity.format: unknown 'coo'; allowed: dense, bitmask, csr, nm"),
        (lambda: WeightSparsity(0.5, "nm", 1, 4), "sparsity.density: an 1:4 pattern has density 0.25"),
        (lambda: WeightSparsity(0.5, "bitmask", 2, 4), "sparsity: an N:M pattern needs format 'nm'"),
        (lambda: MacArray(sparse_pattern="4:2"), "mac_array.sparse_pattern: must be"),
        (lambda: MacArray(zero_skipping="yes"), "mac_array.zero_skipping: must be true or false"),
    ],
)
def test_bad_sparsity_is_a_one_line_error(make, message):
    with pytest.raises((InputError, ConfigError)) as err:
        make()
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_sparse_hardware_round_trips_through_toml(tmp_path):
    from accelsim import hardware

    hw = _hw(zero_skipping=True, sparse_pattern="2:4")
    path = tmp_path / "hw.toml"
    hardware.save_toml(hw, path)
    assert hardware.load_toml(path) == hw
    assert dataclasses.replace(hw.mac_array, sparse_pattern="none").sparse_pattern == "none"
