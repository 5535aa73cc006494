"""Fusion (issue 11): `fuse(attention)` keeps the score matrix on chip, `fuse(elementwise)` applies
vector layers to GEMM output tiles as epilogues. Exact bytes, same MACs and vector operations,
epilogue cycles against their twin, never below the bound."""

import json

import pytest
from invariants import check_invariants

from accelsim import hardware
from accelsim.cli import main
from accelsim.compress.methods import Fuse
from accelsim.compress.spec import canonical, parse_pipeline
from accelsim.compress.transforms import pipeline
from accelsim.errors import InputError
from accelsim.hardware import Accelerator, Buffers, Dram, VectorUnit
from accelsim.metrics import summarize
from accelsim.precision import Precision, storage_bytes
from accelsim.sim.engine import schedule_network, simulate
from accelsim.sim.tiling import plan_layer
from accelsim.sim.vector_unit import tile_cycles
from accelsim.trace import store
from accelsim.trace.signals import MacState
from accelsim.workload.decoder import DecoderConfig, decoder, prefill
from accelsim.workload.fused import FusedAttention, softmax_row_ops
from accelsim.workload.layers import Linear, MatMul, Network
from accelsim.workload.networks import network as get_network
from accelsim.workload.vector import Activation, BatchNorm, Elementwise, Softmax

#: A small Llama-style decoder with grouped-query attention (4 query heads on 2 KV heads of 32).
TINY = DecoderConfig("tiny", 256, 128, 2, 4, 2, 256, 64)
#: A small GPT-2-style decoder: fused Q/K/V projection, biases, GELU MLP.
TINY_GPT = DecoderConfig("tiny-gpt", 256, 128, 2, 4, 4, 512, 64, "gelu", "layernorm", "learned", True, True)


def _plan_bytes(net: Network, hw: Accelerator) -> list[tuple[int, int]]:
    """Per layer, the (read, written) DRAM bytes of its schedule: what the simulation moves
    (`check_invariants` holds the two equal)."""
    out = []
    for work in schedule_network(net, hw):
        reads = sum(s.w_bytes + s.a_bytes + s.e_bytes for s in work.steps)
        writes = 0 if work.output_on_chip else sum(s.out_bytes for s in work.steps if s.out_last)
        out.append((reads, writes))
    return out


def _total(per_layer: list[tuple[int, int]]) -> int:
    return sum(r + w for r, w in per_layer)


def _all_ops(net: Network) -> int:
    return sum(layer.vector_ops + layer.epilogue_ops for layer in net.layers)


# --- fuse(attention) ----------------------------------------------------------------------------


def test_gpt2_prefill_fused_attention_moves_fewer_bytes_with_the_same_macs():
    hw = hardware.preset("edge-llm")
    base = prefill(decoder("gpt2"), 384).with_precision(Precision.FP16)
    fused = Fuse("attention")(base)
    assert fused.macs == base.macs and _all_ops(fused) == _all_ops(base)
    assert not any(isinstance(layer, (MatMul, Softmax)) for layer in fused.layers)
    assert sum(isinstance(layer, FusedAttention) for layer in fused.layers) == 12
    before, after = _plan_bytes(base, hw), _plan_bytes(fused, hw)
    assert _total(after) < _total(before)
    # The score matrix never reaches DRAM: every byte the fused layers move is Q, K, V or O.
    for layer, work, (reads, writes) in zip(fused.layers, schedule_network(fused, hw), after):
        if isinstance(layer, FusedAttention):
            _, query_tiles, _, _ = work.plan.counts
            qkv = storage_bytes(layer.batch * layer.m * layer.d, Precision.FP16)
            kv = storage_bytes(2 * layer.batch * layer.keys * layer.d, Precision.FP16)
            assert reads == (0 if work.input_bytes_on_chip else qkv) + kv * query_tiles
            assert writes == (0 if work.output_on_chip else qkv)


@pytest.mark.parametrize("config", [TINY, TINY_GPT], ids=["llama-gqa", "gpt2-style"])
def test_fused_attention_simulates_exactly_q_once_kv_per_query_tile_o_once(config):
    hw = hardware.seed()
    base = prefill(config, 64)
    fused = Fuse("attention")(base)
    traces = [simulate(net, hw) for net in (base, fused)]
    for net, trace in zip((base, fused), traces):
        check_invariants(trace, net, hw)
    unfused, done = (sum(c["dram_read_bytes"] + c["dram_write_bytes"] for c in t.meta["counters"]) for t in traces)
    assert done < unfused
    assert traces[0].integral("mac.macs") == traces[1].integral("mac.macs") == base.macs
    assert traces[0].integral("vector.ops") == traces[1].integral("vector.ops")
    works = schedule_network(fused, hw)
    for i, layer in enumerate(fused.layers):
        if not isinstance(layer, FusedAttention):
            continue
        group = config.heads // config.kv_heads
        assert (layer.batch, layer.m, layer.d, layer.keys) == (config.kv_heads, 64 * group, config.head_size, 64)
        assert layer.macs == 2 * layer.batch * layer.m * layer.d * layer.keys
        counters, work = traces[1].meta["counters"][i], works[i]
        q = 4 * layer.batch * layer.m * layer.d
        kv = 4 * 2 * layer.batch * layer.keys * layer.d
        assert counters["dram_read_bytes"] == q + kv * work.plan.counts[1]
        assert counters["dram_write_bytes"] == (0 if work.output_on_chip else q)
        assert counters["vector_ops"] == layer.batch * layer.m * softmax_row_ops(layer.keys)
        assert work.plan.order == "gmnk"  # the query tile stays while K and V stream


def test_fused_attention_in_a_generation_saves_bytes_every_step(capsys):
    runs = []
    for extra in ([], ["--compress", "fuse(attention) -> fuse(elementwise)"]):
        args = ["llm", "--network", "tinylm", "--prompt", "24", "--generate", "3", "--json", *extra]
        assert main(args) == 0
        runs.append(json.loads(capsys.readouterr().out))
    moved = [{p["phase"]: p["dram_read_bytes"] + p["dram_write_bytes"] for p in run["phases"]} for run in runs]
    assert moved[1]["prefill"] < moved[0]["prefill"] and moved[1]["decode"] < moved[0]["decode"]
    assert [p["macs"] for p in runs[1]["phases"]] == [p["macs"] for p in runs[0]["phases"]]
    assert runs[1]["kv_cache_bytes"] == runs[0]["kv_cache_bytes"]


# --- fuse(elementwise) --------------------------------------------------------------------------


@pytest.mark.parametrize("config", [TINY, TINY_GPT], ids=["llama-swiglu", "gpt2-gelu"])
def test_elementwise_epilogues_remove_vector_layers_keep_their_ops_and_read_the_residual(config):
    hw = hardware.seed()
    base = prefill(config, 32)
    fused = Fuse("elementwise")(base)
    assert not any(isinstance(layer, (Activation, Elementwise)) for layer in fused.layers)
    assert fused.macs == base.macs and _all_ops(fused) == _all_ops(base)
    assert fused.parameter_count == base.parameter_count
    traces = [simulate(net, hw) for net in (base, fused)]
    for net, trace in zip((base, fused), traces):
        check_invariants(trace, net, hw)
    assert traces[1].integral("vector.ops") == traces[0].integral("vector.ops")
    bytes_ = [sum(c["dram_read_bytes"] + c["dram_write_bytes"] for c in t.meta["counters"]) for t in traces]
    assert bytes_[1] < bytes_[0]
    for layer, work in zip(fused.layers, schedule_network(fused, hw)):
        residuals = sum(op.input_count - 1 for op in layer.epilogue)
        # each fused two-input op reads its other input once, tile by tile
        assert sum(s.e_bytes for s in work.steps) == 4 * residuals * layer.output_elements
        assert sum(s.vector_ops for s in work.steps) == layer.vector_ops + layer.epilogue_ops


def test_resnet50_folds_batch_norms_and_fuses_relu_and_residual_adds():
    hw = hardware.seed()
    base = get_network("resnet50")
    fused = Fuse("elementwise")(base)
    assert fused.macs == base.macs and fused.parameter_count == base.parameter_count
    assert {layer.kind for layer in fused.layers} == {"conv2d", "maxpool", "avgpool", "linear"}
    assert not any(isinstance(layer, (BatchNorm, Elementwise)) for layer in fused.layers)
    batch_norm_ops = sum(layer.vector_ops for layer in base.layers if isinstance(layer, BatchNorm))
    assert _all_ops(fused) == _all_ops(base) - batch_norm_ops  # folded into the convolutions' weights
    assert _total(_plan_bytes(fused, hw)) < _total(_plan_bytes(base, hw))


def _epilogue_hw(lanes: int) -> Accelerator:
    return Accelerator(
        buffers=Buffers(weight_bytes=64 * 1024, activation_bytes=64 * 1024, output_bytes=16 * 1024),
        dram=Dram(bandwidth_bytes_per_s=64e9, latency_ns=20.0, queue_depth=8),
        vector_unit=VectorUnit(lanes=lanes),
    )


@pytest.mark.parametrize("lanes", [1, 256])
def test_epilogue_cycles_equal_their_twin_in_the_arrays_shadow(lanes):
    hw = _epilogue_hw(lanes)
    layers = (
        Linear("fc1", in_features=64, out_features=256, tokens=64),
        Activation("gelu", rows=64, row_length=256, function="gelu"),
        Linear("fc2", in_features=256, out_features=64, tokens=64),
    )
    net = Fuse("elementwise")(Network("mlp", layers))
    assert [layer.name for layer in net.layers] == ["fc1", "fc2"]
    trace = simulate(net, hw)
    check_invariants(trace, net, hw)
    (work, _) = schedule_network(net, hw)
    mac_rate = hw.mac_array.macs_per_cycle(Precision.FP32)
    mac = [-(-s.macs // mac_rate) for s in work.steps]
    vector = [tile_cycles(s.vector_ops, hw, Precision.FP32) for s in work.steps]
    # the vector unit is busy exactly its tiles' cycles, the array its MACs' cycles
    states = trace.cycles_per_value("vector.state", 0, trace.end_cycle)
    assert states.get(int(MacState.BUSY), 0) == sum(vector) > 0
    assert trace.integral("vector.ops") == layers[1].vector_ops
    # each step takes the longer of the two: the layer is never faster than that
    first = summarize(trace).layers[0]
    assert first.cycles >= sum(max(m, v) for m, v in zip(mac, vector))
    waits = first.state_cycles.get("STALL_OUTPUT", 0)
    assert waits >= sum(max(v - m, 0) for m, v in zip(mac, vector))
    if lanes == 256:  # a fast vector unit hides the epilogue entirely
        assert all(v <= m for m, v in zip(mac, vector)) and waits == 0


def test_layer_bound_counts_the_epilogue_when_the_vector_unit_is_the_longer():
    """With one vector lane the epilogue outlasts the array: fc1's bound is its epilogue's
    cycles (the larger of the two units' work, as each step takes the longer), exactly, and the
    simulated layer is never below it."""
    hw = _epilogue_hw(1)
    layers = (
        Linear("fc1", in_features=64, out_features=256, tokens=64),
        Activation("gelu", rows=64, row_length=256, function="gelu"),
        Linear("fc2", in_features=256, out_features=64, tokens=64),
    )
    net = Fuse("elementwise")(Network("mlp", layers))
    summary = summarize(simulate(net, hw))
    fc1 = summary.layers[0]
    ops = net.layers[0].epilogue_ops
    assert ops == layers[1].vector_ops == 64 * 256 * 12  # GELU: 12 operations an element
    mac_cycles = -(-net.layers[0].macs // hw.mac_array.macs_per_cycle(Precision.FP32))
    epilogue_cycles = tile_cycles(ops, hw, Precision.FP32)
    assert epilogue_cycles > mac_cycles
    assert fc1.bound.compute_cycles == epilogue_cycles
    assert fc1.cycles >= fc1.bound.cycles
    assert summary.layers[1].bound.compute_cycles == -(
        -net.layers[1].macs // hw.mac_array.macs_per_cycle(Precision.FP32)
    )
    assert summary.total.cycles >= summary.total.bound.cycles


def test_layer_bound_is_the_array_when_the_epilogue_hides():
    hw = _epilogue_hw(256)
    layers = (
        Linear("fc1", in_features=64, out_features=256, tokens=64),
        Activation("gelu", rows=64, row_length=256, function="gelu"),
    )
    net = Fuse("elementwise")(Network("mlp", layers))
    fc1 = summarize(simulate(net, hw)).layers[0]
    assert fc1.bound.compute_cycles == -(-net.layers[0].macs // hw.mac_array.macs_per_cycle(Precision.FP32))
    assert fc1.cycles >= fc1.bound.cycles


# --- pipeline text, provenance, errors ----------------------------------------------------------


def test_fusion_pipelines_parse_and_show_in_provenance_and_trace_info(tmp_path, capsys):
    text = "fuse(attention) -> fuse(elementwise)"
    assert canonical(text) == text
    net = pipeline(*parse_pipeline(text))(prefill(TINY_GPT, 16))
    assert [(s.method, s.param("target")) for s in net.provenance] == [
        ("fuse", "attention"),
        ("fuse", "elementwise"),
    ]
    path = tmp_path / "t.npz"
    store.save(simulate(net, hardware.seed()), path)
    assert main(["trace", "info", str(path)]) == 0
    assert "provenance  fuse(attention) -> fuse(elementwise)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("network", "step", "message"),
    [
        ("mlp", "fuse(kernels)", "fuse: target must be one of attention, elementwise (got 'kernels')"),
        ("resnet50", "fuse(attention)", "fuse: resnet50 has no attention block"),
        ("gpt2", "kv(8) -> fuse(attention)", "apply fuse(attention) before kv(...)"),
    ],
)
def test_bad_fusion_is_one_line_exit_2(capsys, network, step, message):
    assert main(["run", "--network", network, "--compress", step]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_fused_layers_plan_and_refuse_a_second_fusion():
    net = Fuse("attention")(prefill(TINY, 16))
    layer = next(layer for layer in net.layers if isinstance(layer, FusedAttention))
    assert plan_layer(layer, hardware.seed()).order == "gmnk"
    with pytest.raises(InputError, match="no attention block"):
        Fuse("attention")(net)
