"""NVDLA's mechanisms as hardware features: atomic-operation padding (mac_array.atomic_c,
atomic_k) and the shared-bank convolution buffer (buffers.shared_banks, bank_bytes), each
checked against a hand computation, with the defaults leaving every other preset as it was."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from invariants import check_invariants

from accelsim import Network, Precision, preset, simulate, summarize
from accelsim.hardware import NVDLA_PACK, PRESETS, Accelerator, Buffers, ConfigError, Dram, MacArray, from_dict
from accelsim.sim.atomic_padding import padded_macs, spread
from accelsim.sim.nvdla_mapping import allocation_bytes, plan_banked
from accelsim.sim.tiling import plan_layer, plan_steps
from accelsim.trace.signals import MacState
from accelsim.workload.layers import Conv2d, Linear

# --- configuration --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "fields", "message"),
    [
        ("mac_array", {"atomic_c": 0}, "mac_array.atomic_c: must be an integer in [1, 4,096]"),
        ("mac_array", {"atomic_k": 5000}, "mac_array.atomic_k: must be an integer in [1, 4,096]"),
        ("buffers", {"shared_banks": 4}, "buffers.bank_bytes: must be 0 exactly when shared_banks is 0"),
        ("buffers", {"shared_banks": 4, "bank_bytes": 1024}, "buffers.shared_banks: must be such that"),
    ],
)
def test_bad_fields_are_one_line(section, fields, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        from_dict({section: fields})


def test_a_systolic_array_has_no_atomic_operation():
    with pytest.raises(ConfigError, match="mac_array.atomic_c: must be 1 for a systolic array"):
        MacArray(lanes=4, geometry="systolic", rows=2, cols=2, atomic_c=2)


def test_only_the_nvdla_presets_enable_the_mechanisms():
    for name, make in PRESETS.items():
        hw = make()
        enabled = (hw.mac_array.atomic_c, hw.mac_array.atomic_k, hw.buffers.shared_banks) != (1, 1, 0)
        assert enabled == name.startswith("nvdla-"), name


@pytest.mark.parametrize(
    ("macs", "atomics"),
    [(2048, (64, 32, 16)), (1024, (32, 32, 32)), (512, (32, 16, 32)), (256, (32, 8, 32)), (64, (8, 8, 32))],
)
def test_nvdla_presets_carry_the_published_configurations(macs, atomics):
    # nvdla/hw spec/defs: nv_full, nv_medium_1024_full, nv_medium_512, nv_small_256, nv_small.
    hw = preset(f"nvdla-{macs}")
    atomic_c, atomic_k, banks = atomics
    assert (hw.mac_array.atomic_c, hw.mac_array.atomic_k, hw.buffers.shared_banks) == atomics
    assert atomic_c * atomic_k == macs == hw.mac_array.macs_per_cycle(Precision.INT8)
    assert banks * hw.buffers.bank_bytes == hw.buffers.weight_bytes + hw.buffers.activation_bytes


# --- atomic padding -------------------------------------------------------------------------------


def test_padding_of_a_strided_three_channel_convolution_by_hand():
    # 3 channels x stride 2^2 = 12 folded channels -> 16 (atomic-C 8); 10 kernels -> 12 (atomic-K 4).
    conv = Conv2d("c", in_channels=3, out_channels=10, in_height=16, in_width=16, kernel=(7, 7), stride=2, padding=3)
    m, k, n = conv.gemm_mkn
    assert (m, k, n) == (64, 147, 10)
    assert padded_macs(conv, (1, m, k, n), (0, 0, 0, 0), 8, 4) == 64 * (147 * 16 // 12) * 12
    assert padded_macs(conv, (1, m, k, n), (0, 0, 0, 0), 1, 1) == conv.macs  # no atomic operation


def test_padding_of_a_linear_layer_by_hand():
    fc = Linear("fc", in_features=2048, out_features=1000)
    assert padded_macs(fc, (1, 1, 2048, 1000), (0, 0, 0, 0), 64, 32) == 2048 * 1024


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 10**6), st.integers(1, 5000))
def test_spread_conserves_macs(macs, cycles):
    runs = spread(macs, cycles)
    assert sum(c for c, _ in runs) == cycles and sum(c * v for c, v in runs) == macs
    assert max(v for _, v in runs) - min(v for _, v in runs) <= 1


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 40),
    st.integers(1, 40),
    st.sampled_from([1, 3]),
    st.sampled_from([1, 2]),
    st.sampled_from([1, 4, 8]),
    st.sampled_from([1, 4, 8]),
)
def test_padding_never_loses_a_mac(cin, cout, kernel, stride, atomic_c, atomic_k):
    conv = Conv2d(
        "c", in_channels=cin, out_channels=cout, in_height=9, in_width=9, kernel=(kernel, kernel), stride=stride
    )
    m, k, n = conv.gemm_mkn
    padded = padded_macs(conv, (1, m, k, n), (0, 0, 0, 0), atomic_c, atomic_k)
    assert padded >= conv.macs
    assert padded == conv.macs or atomic_c * atomic_k > 1 or stride > 1


# --- the analytical twin --------------------------------------------------------------------------

#: 12 input channels (-> 16, atomic-C 8), 44 kernels (-> 48, atomic-K 8), 8 x 8, 1 x 1, INT8: 768 B
#: of input (one 8-pixel row is 96 B), 528 B of weights, 2,816 B of output.
TWIN = Conv2d("twin", in_channels=12, out_channels=44, in_height=8, in_width=8, kernel=(1, 1))


def _twin_hw(banks: int = 8, bank_bytes: int = 128) -> Accelerator:
    half = banks * bank_bytes // 2
    return Accelerator(
        name="twin",
        mac_array=MacArray(lanes=16, pack=NVDLA_PACK, atomic_c=8, atomic_k=8),
        buffers=Buffers(
            weight_bytes=half,
            activation_bytes=half,
            shared_banks=banks,
            bank_bytes=bank_bytes,
            retain_activations=False,
        ),
        dram=Dram(bandwidth_bytes_per_s=1e9),  # 1 byte a cycle at 1 GHz: DRAM-bound
    )


def test_the_twin_by_hand():
    hw = _twin_hw()
    net = Network("twin", (TWIN,)).with_precision(Precision.INT8)
    layer = net.layers[0]
    # Weights held: the input's smallest window, double buffered, is 2 x 96 B = 2 banks; the
    # 528 B of weights take 5 of the other 6 banks whole (one fill); the input streams once
    # through the 3 banks left, 2 rows (192 B) or 1 row (96 B) a tile, double buffered.
    plan = plan_layer(layer, hw)
    assert (plan.order, plan.tn, plan.tk) == ("gnmk", 44, 12)
    assert plan.tm in (8, 16)
    expected_bytes = 528 + 768 + 2816
    assert allocation_bytes(plan) == expected_bytes
    steps = plan_steps(plan)
    assert sum(s.w_bytes + s.a_bytes for s in steps) + sum(s.out_bytes for s in steps if s.out_last) == expected_bytes
    # Each step: tm pixels x 16 padded channels x 48 padded kernels, at 32 MAC slots a cycle.
    per_step_cycles = plan.tm * 16 * 48 // 32
    trace = simulate(net, hw)
    figures = summarize(trace).layers[0]
    assert figures.dram_read_bytes + figures.dram_write_bytes == expected_bytes
    assert trace.cycles_per_value("mac.state")[int(MacState.BUSY)] == 64 // plan.tm * per_step_cycles == 1536
    assert trace.integral("mac.macs") == layer.macs == 64 * 12 * 44  # MACs conserved, padding costs cycles
    check_invariants(trace, net, hw)


def test_the_twin_holds_feature_data_when_weights_are_the_larger_operand():
    # 64 input channels, 256 kernels, 4 x 4: 1 KiB of input, 16 KiB of weights, 16 banks of 1 KiB.
    conv = Conv2d("wide", in_channels=64, out_channels=256, in_height=4, in_width=4, kernel=(1, 1))
    net = Network("wide", (conv,)).with_precision(Precision.INT8)
    hw = _twin_hw(banks=16, bank_bytes=1024)
    plan = plan_layer(net.layers[0], hw)
    # Weights held would need 16 fills of 16 kernels beside 1 bank of input; the input held whole
    # (1 bank) lets the weights stream once: 16 KiB + 1 KiB + 4 KiB, the least DRAM traffic.
    assert plan.order == "gmnk" and plan.tm == 16
    assert allocation_bytes(plan) == 16384 + 1024 + 4096
    trace = simulate(net, hw)
    assert summarize(trace).total.dram_read_bytes == 16384 + 1024
    check_invariants(trace, net, hw)


def test_too_small_banks_fall_back_to_the_fixed_split():
    # 2 banks of 512 B cannot hold a row's 3x3 input window (3 rows x 8 x 64 B) double buffered.
    hw = _twin_hw(banks=2, bank_bytes=512)
    big = Conv2d("big", in_channels=64, out_channels=64, in_height=8, in_width=8, kernel=(3, 3), padding=1)
    layer = Network("big", (big,)).with_precision(Precision.INT8).layers[0]
    assert plan_banked(layer, hw, False) is None
    assert plan_layer(layer, hw).tk < layer.gemm_mkn[1]  # the fixed planner's K tiles


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 48), st.integers(1, 48), st.sampled_from([1, 3]), st.sampled_from([1, 2]), st.integers(4, 12))
def test_a_banked_plan_moves_its_closed_form_bytes(cin, cout, kernel, stride, size):
    conv = Conv2d(
        "c", in_channels=cin, out_channels=cout, in_height=size, in_width=size, kernel=(kernel, kernel), stride=stride
    )
    layer = Network("c", (conv,)).with_precision(Precision.INT8).layers[0]
    hw = _twin_hw(banks=16, bank_bytes=256)
    plan = plan_banked(layer, hw, False)
    if plan is None:
        return
    steps = plan_steps(plan)
    moved = sum(s.w_bytes + s.a_bytes for s in steps) + sum(s.out_bytes for s in steps if s.out_last)
    assert moved == allocation_bytes(plan)
