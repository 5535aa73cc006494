"""The vector unit: its hardware section, the vector layers' exact counts, their tiling, and the
simulated cycles, lanes, bytes and energy against their analytical twins."""

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from invariants import check_invariants

from accelsim import hardware
from accelsim.energy_table import MAC_ENERGY_PJ, VECTOR_OP_ENERGY_PJ
from accelsim.hardware import Accelerator, Buffers, ConfigError, Dram, PerPrecision, VectorUnit
from accelsim.metrics import summarize
from accelsim.precision import Precision, storage_bytes
from accelsim.sim.engine import schedule_network, simulate
from accelsim.sim.vector_unit import busy_lane_cycles, tile_cycles
from accelsim.workload.layers import Conv2d, Linear, Network
from accelsim.workload.vector import (
    SPECIAL_FUNCTION_OPS,
    Activation,
    BatchNorm,
    Elementwise,
    LayerNorm,
    Pool,
    Quantize,
    RMSNorm,
    Rotary,
    Softmax,
)

FP16, INT8 = Precision.FP16, Precision.INT8


# ---- hardware --------------------------------------------------------------------------------


def test_seed_vector_unit_defaults():
    unit = hardware.seed().vector_unit
    assert unit.lanes == 16
    assert unit.ops_per_cycle(Precision.FP32) == 16
    assert unit.ops_per_cycle(FP16) == 32
    assert unit.ops_per_cycle(INT8) == 64
    assert unit.energy_per_op_pj[FP16] == VECTOR_OP_ENERGY_PJ[FP16] == MAC_ENERGY_PJ[FP16]


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"lanes": 0}, "vector_unit.lanes"),
        ({"lanes": 2**25}, "vector_unit.lanes"),
        ({"ops_per_lane": PerPrecision(1, 2, 2, 0, 8)}, "vector_unit.ops_per_lane.int8"),
        ({"energy_per_op_pj": PerPrecision(1, 2, 2, -1, 8)}, "vector_unit.energy_per_op_pj.int8"),
    ],
)
def test_vector_unit_is_range_checked(kwargs, field):
    with pytest.raises(ConfigError, match=field):
        VectorUnit(**kwargs)


def test_vector_unit_toml_round_trip(tmp_path):
    hw = hardware.seed().replace(vector_unit=VectorUnit(lanes=48, ops_per_lane=PerPrecision(1, 1, 1, 2, 2)))
    path = tmp_path / "hw.toml"
    hardware.save_toml(hw, path)
    assert hardware.load_toml(path) == hw
    path.write_text("[vector_unit]\nlanes = 8\n[vector_unit.ops_per_lane]\nint8 = 8\n")
    loaded = hardware.load_toml(path)
    assert loaded.vector_unit.lanes == 8 and loaded.vector_unit.ops_per_lane.int8 == 8
    assert loaded.vector_unit.ops_per_lane.fp16 == 2  # the rest defaults
    path.write_text("[vector_unit]\nwidth = 8\n")
    with pytest.raises(ConfigError, match="vector_unit.width: unknown field"):
        hardware.load_toml(path)


# ---- exact counts ----------------------------------------------------------------------------


def _counts(layer):
    return (layer.vector_ops, layer.input_bytes, layer.weight_bytes, layer.output_bytes, layer.parameter_count)


def test_exact_counts_of_every_kind():
    s = SPECIAL_FUNCTION_OPS
    assert s == 4
    # (layer, vector ops, input bytes, weight bytes, output bytes, parameters), FP16 unless noted
    cases = [
        (Elementwise("add", rows=4, row_length=10, activation_precision=FP16), 40, 160, 0, 80, 0),
        (Elementwise("mul", rows=4, row_length=10, op="mul", activation_precision=FP16), 40, 160, 0, 80, 0),
        (Activation("relu", rows=3, row_length=7, activation_precision=FP16), 21, 42, 0, 42, 0),
        (Activation("gelu", rows=3, row_length=7, function="gelu", activation_precision=FP16), 21 * 12, 42, 0, 42, 0),
        (Activation("silu", rows=3, row_length=7, function="silu", activation_precision=FP16), 21 * 11, 42, 0, 42, 0),
        # softmax: (L-1) + L + 4L + (L-1) + 4 + L = 8L + 2 per row
        (Softmax("sm", rows=12, row_length=64, activation_precision=FP16), 12 * (8 * 64 + 2), 12 * 128, 0, 12 * 128, 0),
        # layernorm 7L + 5 per row; gamma and beta
        (LayerNorm("ln", rows=5, row_length=768, activation_precision=FP16, weight_precision=FP16),
         5 * (7 * 768 + 5), 5 * 1536, 2 * 768 * 2, 5 * 1536, 1536),
        # rmsnorm 4L + 5 per row; gamma
        (RMSNorm("rms", rows=5, row_length=2048, activation_precision=FP16, weight_precision=FP16),
         5 * (4 * 2048 + 5), 5 * 4096, 4096, 5 * 4096, 2048),
        # batch-norm: 2 ops per element, 2 parameters per channel (row)
        (BatchNorm("bn", rows=16, row_length=32 * 32, channels_on_rows=True), 2 * 16 * 1024, 16 * 4096, 16 * 2 * 4, 16 * 4096, 32),
        # rotary: 3 ops per element; a head_dim cos/sin table per token, not a parameter
        (Rotary("rope", rows=8, row_length=4 * 64, head_dim=64, activation_precision=FP16, weight_precision=FP16),
         3 * 8 * 256, 8 * 512, 8 * 64 * 2, 8 * 512, 0),
        # max pool 3x3/2 pad 1 on 64 x 112 x 112 -> 64 x 56 x 56: 8 compares per output
        (Pool("mp", rows=64, row_length=112 * 112, in_height=112, in_width=112, kernel=3, stride=2, padding=1),
         64 * 56 * 56 * 8, 64 * 112 * 112 * 4, 0, 64 * 56 * 56 * 4, 0),
        # global average pool 2048 x 7 x 7: 49 operations (48 adds, 1 multiply) per channel
        (Pool("gap", rows=2048, row_length=49, in_height=7, in_width=7, kernel=7, stride=1, mode="avg"),
         2048 * 49, 2048 * 49 * 4, 0, 2048 * 4, 0),
        (Quantize("q", rows=10, row_length=100, activation_precision=FP16, to_precision=INT8), 4000, 2000, 0, 1000, 0),
        (Quantize("dq", rows=10, row_length=100, activation_precision=INT8, to_precision=FP16), 2000, 1000, 0, 2000, 0),
    ]  # fmt: skip
    for layer, ops, inputs, weights, outputs, parameters in cases:
        assert _counts(layer) == (ops, inputs, weights, outputs, parameters), layer.name
        assert layer.macs == 0 and layer.unit == "vector"
        assert layer.describe()
        half = layer.with_precision(INT8, INT8)
        assert half.activation_precision is INT8 and half.vector_ops == layer.vector_ops
    assert Pool("mp", rows=1, row_length=4, in_height=2, in_width=2).kind == "maxpool"
    assert Linear("fc").unit == "mac" and Linear("fc").vector_ops == 0


def test_a_residual_add_names_both_producers():
    net = Network(
        "res",
        (
            Conv2d("a", in_channels=4, out_channels=4, in_height=8, in_width=8, padding=1),
            Conv2d("b", in_channels=4, out_channels=4, in_height=8, in_width=8, padding=1),
            Elementwise("add", rows=4, row_length=64, channels_on_rows=True, inputs=("b", "a")),
        ),
    )
    assert net.producers()[2] == (1, 0)
    assert net.layers[2].input_bytes == 2 * 4 * 64 * 4


def test_bad_vector_layers_are_refused():
    from accelsim.workload.layers import LayerError

    with pytest.raises(LayerError, match="rows"):
        Softmax("sm", rows=0, row_length=4)
    with pytest.raises(LayerError, match="function"):
        Activation("x", function="tanh")
    with pytest.raises(LayerError, match="head_dim"):
        Rotary("r", row_length=10, head_dim=3)
    with pytest.raises(LayerError, match="row_length"):
        Pool("p", rows=1, row_length=5, in_height=2, in_width=2)


# ---- simulation against the twin -------------------------------------------------------------


def _small_hw(lanes: int = 4) -> Accelerator:
    return Accelerator(
        buffers=Buffers(weight_bytes=2048, activation_bytes=2048, output_bytes=1024),
        dram=Dram(bandwidth_bytes_per_s=4e9, latency_ns=20.0, queue_depth=4),
        vector_unit=VectorUnit(lanes=lanes),
    )


def _chain() -> Network:
    layers = (
        Conv2d("c1", in_channels=4, out_channels=8, in_height=8, in_width=8, padding=1),
        BatchNorm("bn", rows=8, row_length=64, channels_on_rows=True),
        Activation("relu", rows=8, row_length=64, channels_on_rows=True),
        Conv2d("c2", in_channels=8, out_channels=8, in_height=8, in_width=8, padding=1),
        Elementwise("add", rows=8, row_length=64, channels_on_rows=True, inputs=("c2", "relu")),
        Pool("gap", rows=8, row_length=64, in_height=8, in_width=8, kernel=8, stride=1, mode="avg"),
        Linear("fc", in_features=8, out_features=10),
        Softmax("sm", rows=1, row_length=10),
    )
    return Network("chain", layers)


def _vector_cycles(trace, net, hw):
    """Analytical twin: per vector layer, the sum over its tiles of ceil(ops / peak rate)."""
    works = schedule_network(net, hw)
    return [
        sum(tile_cycles(s.vector_ops, hw, layer.mac_precision) for s in w.steps)
        for layer, w in zip(net.layers, works)
        if layer.unit == "vector"
    ]


def test_vector_cycles_equal_their_twin_and_invariants_hold():
    hw = _small_hw()
    net = _chain()
    trace = simulate(net, hw)
    check_invariants(trace, net, hw)
    summary = summarize(trace)
    busy = [f.detail["vector_state_cycles"].get("BUSY", 0) for f in summary.layers if f.detail.get("unit") == "vector"]
    assert busy == _vector_cycles(trace, net, hw)
    assert trace.integral("vector.ops") == sum(layer.vector_ops for layer in net.layers)
    assert trace.integral("mac.macs") == net.macs == sum(layer.macs for layer in net.layers if layer.unit == "mac")
    for f, layer in zip(summary.layers, net.layers):
        if layer.unit == "vector":
            # never faster than its operations at the peak rate, or its compulsory bytes
            assert f.bound.compute_cycles == -(-layer.vector_ops // hw.vector_unit.ops_per_cycle(layer.mac_precision))
            assert f.state_cycles == {"IDLE": f.cycles}  # the MAC array idles meanwhile
    # energy: a pure function of the counts, vector operations at the table's figure
    ops = trace.integral("vector.ops")
    assert summary.total.energy.vector_j == pytest.approx(ops * hw.vector_unit.energy_per_op_pj[Precision.FP32] * 1e-12)
    assert summary.total.detail["vector_ops"] == ops
    assert 0 < summary.total.detail["vector_share"] < 1


def test_one_state_per_cycle_and_exact_busy_lanes():
    hw = _small_hw(lanes=3)
    net = Network("sm", (Softmax("sm", rows=5, row_length=7),))  # 58 ops a row: 19 full cycles, 1 partial
    trace = simulate(net, hw)
    check_invariants(trace, net, hw)
    states = trace.expand("vector.state", 0, trace.end_cycle)
    assert len(states) == trace.end_cycle
    ops = 5 * (8 * 7 + 2)
    assert trace.integral("vector.ops") == ops
    assert trace.integral("vector.busy_lanes") == busy_lane_cycles(ops, hw, Precision.FP32) == -(-ops // 1)
    assert trace.integral("mac.macs") == 0


def test_output_stays_on_chip_through_a_gemm_vector_gemm_chain():
    hw = hardware.seed()
    net = Network(
        "chain",
        (
            Linear("fc1", in_features=64, out_features=64, tokens=8),
            Activation("gelu", rows=8, row_length=64, function="gelu"),
            Linear("fc2", in_features=64, out_features=64, tokens=8),
        ),
    )
    works = schedule_network(net, hw)
    assert [w.output_on_chip for w in works] == [True, True, False]
    assert works[1].input_bytes_on_chip > 0 and works[2].input_bytes_on_chip > 0
    trace = simulate(net, hw)
    check_invariants(trace, net, hw)
    # only fc1's weights and input, fc2's weights and output reach DRAM
    reads = net.layers[0].weight_bytes + net.layers[0].input_bytes + net.layers[2].weight_bytes
    assert int(trace.transfers["payload_bytes"].sum()) == reads + net.layers[2].output_bytes


def test_a_row_too_long_for_the_buffers_is_split_into_parts():
    hw = _small_hw()
    layer = LayerNorm("ln", rows=3, row_length=1000)  # 4000 B a row, slots of 1024 B
    net = Network("ln", (layer,))
    (work,) = schedule_network(net, hw)
    assert work.plan.parts > 1
    assert sum(s.vector_ops for s in work.steps) == layer.vector_ops
    trace = simulate(net, hw)
    check_invariants(trace, net, hw)


_KINDS = st.sampled_from(["add", "relu", "gelu", "silu", "softmax", "layernorm", "rmsnorm", "batchnorm", "quantize"])


def _make(kind: str, rows: int, length: int, precision: Precision):
    common = {"rows": rows, "row_length": length, "activation_precision": precision, "weight_precision": precision}
    return {
        "add": lambda: Elementwise("v", **common),
        "relu": lambda: Activation("v", **common),
        "gelu": lambda: Activation("v", function="gelu", **common),
        "silu": lambda: Activation("v", function="silu", **common),
        "softmax": lambda: Softmax("v", **common),
        "layernorm": lambda: LayerNorm("v", **common),
        "rmsnorm": lambda: RMSNorm("v", **common),
        "batchnorm": lambda: BatchNorm("v", channels_on_rows=True, **common),
        "quantize": lambda: Quantize("v", **common),
    }[kind]()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=_KINDS,
    rows=st.integers(1, 40),
    length=st.integers(1, 700),
    precision=st.sampled_from(list(Precision)),
    lanes=st.integers(1, 33),
    per_lane=st.integers(1, 8),
    kib=st.integers(1, 8),
)
def test_random_vector_layers_match_their_twin(kind, rows, length, precision, lanes, per_lane, kib):
    layer = _make(kind, rows, length, precision)
    hw = Accelerator(
        buffers=Buffers(weight_bytes=kib * 1024, activation_bytes=kib * 1024, output_bytes=kib * 512),
        dram=Dram(bandwidth_bytes_per_s=2e9, latency_ns=10.0),
        vector_unit=VectorUnit(lanes=lanes, ops_per_lane=PerPrecision(*([per_lane] * 5))),
    )
    net = Network("one", (layer,))
    trace = simulate(net, hw)
    check_invariants(trace, net, hw)
    (work,) = schedule_network(net, hw)
    twin = sum(tile_cycles(s.vector_ops, hw, precision) for s in work.steps)
    assert trace.cycles_per_value("vector.state", 0, trace.end_cycle).get(1, 0) == twin
    # the whole layer: never below its operations at the peak rate or its bytes over the bus
    summary = summarize(trace)
    assert trace.end_cycle >= summary.total.bound.cycles
    assert summary.total.bound.compute_cycles == -(-layer.vector_ops // (lanes * per_lane))
    # bytes: each input and output element moved exactly once (constants fetched per row block)
    t = trace.transfers
    writes = int(t["payload_bytes"][t["kind"] == 2].sum())
    assert writes == sum(s.out_bytes for s in work.steps)
    assert abs(writes - layer.output_bytes) < len(work.steps)
    reads_a = sum(s.a_bytes for s in work.steps)
    assert abs(reads_a - layer.input_bytes) < len(work.steps)
    assert storage_bytes(layer.output_elements, layer.output_precision) == layer.output_bytes
    assert dataclasses.replace(layer, name="w").vector_ops == layer.vector_ops


# ---- built-ins ------------------------------------------------------------------------------


def test_seed_000_network_has_no_vector_layers_and_runs_as_before():
    from accelsim.workload.networks import network

    net = network("seed-gemms")
    assert all(layer.unit == "mac" for layer in net.layers)
    # the seed study's FP16 row (README, seed 000 table): 4,764,160 cycles, 952,832 DRAM bytes
    total = summarize(simulate(net.with_precision(FP16), hardware.seed())).total
    assert (total.cycles, total.dram_read_bytes + total.dram_write_bytes) == (4_764_160, 952_832)
    assert total.energy.vector_j == 0 and "vector_ops" not in total.detail


def test_accelsim_ai_keeps_seed_001s_convention():
    from accelsim.intensity import network_intensity
    from accelsim.workload.networks import network

    layers, total = network_intensity(network("resnet20"))
    assert round(total.flops_per_byte, 2) == 29.85
    assert len(layers) == 22  # 19 convolutions, 2 projection shortcuts, fc: no vector layer


@pytest.mark.parametrize(
    "name, parameters", [("gpt2", 124_439_808), ("llama-3.2-1b", 1_235_814_400), ("llama-2-7b", 6_738_415_616)]
)
def test_decoder_parameter_counts_are_unchanged_with_their_vector_layers(name, parameters):
    from accelsim.workload.decoder import decoder, prefill

    net = prefill(decoder(name), 16)
    assert net.parameter_count == parameters == decoder(name).parameter_count
    kinds = {layer.kind for layer in net.layers if layer.unit == "vector"}
    norm = "layernorm" if name == "gpt2" else "rmsnorm"
    assert {norm, "softmax", "activation", "elementwise"} <= kinds
    assert ("rotary" in kinds) == (name != "gpt2")
    norms = [layer for layer in net.layers if layer.kind == norm]
    assert len(norms) == 2 * decoder(name).layers + 1  # two per block and the final one


def test_cnn_built_ins_keep_parameters_and_macs_and_their_gemm_view():
    from accelsim.workload.networks import network
    from accelsim.workload.vector import without_vector_layers

    for name, parameters in (("resnet20", 270_906), ("resnet50", 25_557_032), ("mobilenet_v2", 3_504_872)):
        net = network(name)
        gemm = without_vector_layers(net)
        assert net.parameter_count == gemm.parameter_count == parameters
        assert net.macs == gemm.macs and all(layer.unit == "mac" for layer in gemm.layers)
        assert any(isinstance(layer, Elementwise) and len(layer.inputs) == 2 for layer in net.layers)
    r50 = network("resnet50")
    assert sum(isinstance(layer, BatchNorm) for layer in r50.layers) == 53  # one per convolution
    assert [layer.name for layer in r50.layers if isinstance(layer, Pool)] == ["maxpool", "avgpool"]


def test_a_trace_with_vector_layers_reads_back_and_exports(tmp_path):
    from accelsim.trace import store
    from accelsim.trace.export import export

    hw = _small_hw()
    net = _chain()
    trace = simulate(net, hw)
    store.save(trace, tmp_path / "t.npz")
    loaded = store.load(tmp_path / "t.npz")
    assert loaded.integral("vector.ops") == trace.integral("vector.ops") > 0
    assert summarize(loaded).as_dict() == summarize(trace).as_dict()
    export(loaded, "vcd", tmp_path / "t.vcd")
    assert "$scope module vector $end" in (tmp_path / "t.vcd").read_text()
