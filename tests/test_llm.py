"""Generation (accelsim llm): prefill and decode steps on one trace, KV-cache traffic, figures, presets."""

import json

import numpy as np
import pytest

from accelsim import Precision, decode_step, prefill, preset, simulate, summarize
from accelsim.cli import main
from accelsim.errors import InputError
from accelsim.hardware import Accelerator, Buffers, Dram, MacArray, VectorUnit
from accelsim.metrics.generation import layer_class, step_spans
from accelsim.sim import tiling
from accelsim.study.llm import simulate_generation
from accelsim.trace import store
from accelsim.workload.decoder import DecoderConfig
from accelsim.workload.generation import generation, step_of

#: A Llama-style decoder small enough to plan and simulate in milliseconds (GQA: 4 heads, 2 KV heads).
TINY = DecoderConfig(
    "tiny", vocab_size=96, hidden_size=32, layers=2, heads=4, kv_heads=2, intermediate_size=64, context=64
)
#: Buffers that hold every tensor of TINY whole: each operand is fetched exactly once.
ROOMY = Accelerator(
    name="roomy",
    mac_array=MacArray(lanes=64),
    buffers=Buffers(weight_bytes=1 << 20, activation_bytes=1 << 20, output_bytes=1 << 20),
    dram=Dram(bandwidth_bytes_per_s=10e9, latency_ns=0.0),
)
FP16_BYTES = 2


def _linear_weights(c: DecoderConfig) -> int:
    """Weight elements a forward pass reads: every projection of every block and the LM head."""
    per_block = c.hidden_size * (c.q_size + 2 * c.kv_size) + c.q_size * c.hidden_size
    per_block += 3 * c.hidden_size * c.intermediate_size
    return c.layers * per_block + c.hidden_size * c.vocab_size


def test_decode_step_moves_exactly_weights_kv_and_activations():
    context = 20
    net = decode_step(TINY, context).with_precision(Precision.FP16)
    trace = simulate(net, ROOMY)
    total = summarize(trace).total
    layers = trace.meta["layers"]
    gemms = [(m, layer) for m, layer in zip(layers, net.layers) if layer.unit == "mac"]
    weights = sum(m["weight_bytes"] for m, layer in gemms if layer.b_is_weight)
    kv = sum(m["weight_bytes"] for m, layer in gemms if not layer.b_is_weight)
    norms = sum(m["weight_bytes"] for m, layer in zip(layers, net.layers) if layer.unit == "vector")
    reads = sum(m["input_bytes"] for m in layers if not m["input_on_chip"])
    writes = sum(m["output_bytes"] for m in layers if not m["output_on_chip"])
    # By hand: every weight once, the whole K and V cache (context + the new token) once.
    assert weights == _linear_weights(TINY) * FP16_BYTES
    assert kv == TINY.kv_cache_elements(context + 1) * FP16_BYTES
    # Two RMSNorm weights per block and the final norm's, and the rotary cos/sin of the new
    # position for Q and K (head_size values each), on the vector unit.
    rotary = 2 * TINY.layers * TINY.head_size
    assert norms == ((2 * TINY.layers + 1) * TINY.hidden_size + rotary) * FP16_BYTES
    assert total.dram_read_bytes == weights + norms + kv + reads
    assert total.dram_write_bytes == writes
    assert total.dram_read_bytes + total.dram_write_bytes == total.bound.compulsory_bytes


def test_prefill_is_the_gemm_stack_by_hand():
    p, c = 6, TINY
    net = prefill(c, p)
    group = c.heads // c.kv_heads
    block = [
        (1, p, c.hidden_size, c.q_size),
        (1, p, c.hidden_size, c.kv_size),
        (1, p, c.hidden_size, c.kv_size),
        (c.kv_heads, p * group, c.head_size, p),  # scores, one product per KV head
        (c.kv_heads, p * group, p, c.head_size),  # context
        (1, p, c.q_size, c.hidden_size),
        (1, p, c.hidden_size, c.intermediate_size),
        (1, p, c.hidden_size, c.intermediate_size),
        (1, p, c.intermediate_size, c.hidden_size),
    ]
    expected = block * c.layers + [(1, 1, c.hidden_size, c.vocab_size)]  # logits of the last token
    gemms = [layer for layer in net.layers if layer.unit == "mac"]
    assert [(layer.groups, *layer.gemm_mkn) for layer in gemms] == expected
    assert net.macs == sum(g * m * k * n for g, m, k, n in expected)


@pytest.mark.parametrize("hw", [ROOMY, preset("edge-llm"), preset("seed")], ids=["roomy", "edge-llm", "seed"])
def test_simulated_time_never_below_the_bound(hw):
    """The whole generation and its prefill never beat their rooflines. A decode step's span (from
    the array starting it to starting the next) may: its weights are prefetched during the step
    before, so only the run as a whole bounds the steps."""
    figures = simulate_generation(TINY, 8, 3, hw).figures
    assert figures.prefill.cycles >= figures.prefill.bound.cycles > 0
    compute = figures.prefill.bound.compute_cycles + figures.decode.bound.compute_cycles
    memory = figures.prefill.bound.memory_cycles + figures.decode.bound.memory_cycles
    assert figures.prefill.cycles + figures.decode.cycles >= max(compute, memory - 1)
    assert sum(s.bound.compulsory_bytes for s in figures.steps) == figures.decode.bound.compulsory_bytes


#: A fast bus and a narrow vector unit: every phase is compute-bound and the vector unit's work
#: (vector layers, fused epilogues) is most of it.
NARROW_VECTOR = Accelerator(
    name="narrow-vector",
    mac_array=MacArray(lanes=64),
    vector_unit=VectorUnit(lanes=2),
    buffers=Buffers(weight_bytes=1 << 20, activation_bytes=1 << 20, output_bytes=1 << 20),
    dram=Dram(bandwidth_bytes_per_s=1e13, latency_ns=0.0),
)


@pytest.mark.parametrize("compress", ["fuse(elementwise)", "fuse(elementwise) -> fuse(attention)"])
def test_phase_bound_is_the_sum_of_the_layer_bounds_with_fused_epilogues(compress):
    """A phase's compute bound adds up the per-layer bounds (array or fused epilogue, whichever
    is longer, plus vector layers), so a compute-bound fused generation never beats it."""
    run = simulate_generation(TINY, 8, 3, NARROW_VECTOR, compress=compress)
    figures, trace = run.figures, run.trace
    assert any(m.get("epilogue_ops") for m in trace.meta["layers"])
    layer_steps = trace.meta["generation"]["layer_steps"]
    per_layer = summarize(trace).layers
    for phase, steps in ((figures.prefill, {0}), (figures.decode, {1, 2, 3})):
        in_phase = [f for f, s in zip(per_layer, layer_steps) if s in steps]
        assert phase.bound.compute_cycles == sum(f.bound.compute_cycles for f in in_phase)
        array = sum(-(-f.macs // NARROW_VECTOR.mac_array.macs_per_cycle(Precision.FP16)) for f in in_phase)
        assert phase.bound.limiter == "compute" and phase.bound.compute_cycles > 2 * array
        assert phase.cycles >= phase.bound.cycles
    for step in figures.steps:
        assert step.cycles >= step.bound.cycles


def test_kv_cache_grows_linearly_with_steps():
    per_token = TINY.kv_cache_elements(1, batch=2) * FP16_BYTES
    sizes = [simulate_generation(TINY, 5, g, ROOMY, batch=2).figures.kv_cache_bytes for g in (0, 1, 2, 5)]
    assert sizes == [per_token * (5 + g) for g in (0, 1, 2, 5)]
    # The whole cache from DRAM every step (on chip while it fits: tests/test_kv_residency.py).
    steps = simulate_generation(TINY, 5, 4, ROOMY, batch=2, kv_on_chip=False).figures.steps
    reads = [s.dram_read_bytes for s in steps]
    # Each step reads one more position of K and V, and (unfused attention) one more score per
    # head and sequence, written by the scores product and read back by the context product.
    scores = TINY.layers * 2 * TINY.heads * FP16_BYTES
    assert np.diff(reads).tolist() == [per_token + scores] * 3


def test_generation_is_one_network_with_phase_prefixes():
    g = generation(TINY, 4, 3)
    steps = [step_of(layer.name) for layer in g.network.layers]
    per_phase = len(prefill(TINY, 4).layers)
    assert steps == [k for k in range(4) for _ in range(per_phase)]
    # A step's first norm reads its token's embedding: an input of the step.
    first = g.network.layers[per_phase]
    assert first.name == "step1/layers.0.input_norm" and first.independent
    assert g.network.layers[per_phase + 1].inputs == ("step1/layers.0.input_norm",)
    assert g.network.layers[per_phase + 6].inputs == ("step1/layers.0.rotary.q", "step1/layers.0.rotary.k")
    with pytest.raises(InputError, match="prompt \\+ generate must be <= 64"):
        generation(TINY, 60, 5)


def test_trace_has_one_step_per_phase(tmp_path):
    run = simulate_generation(TINY, 8, 5, ROOMY)
    trace = run.trace
    assert trace.values["step"].tolist() == [0, 1, 2, 3, 4, 5]
    spans = step_spans(trace)
    assert [s for _, s, _ in spans][1:] == [f.start_cycle for f in run.figures.steps]
    assert spans[-1][2] == trace.end_cycle
    path = tmp_path / "g.npz"
    store.save(trace, path)
    again = store.load(path)
    assert again.values["step"].tolist() == [0, 1, 2, 3, 4, 5]
    assert again.meta["generation"]["generate"] == 5


def test_decode_steps_reuse_their_plans():
    """Planning grows with distinct shapes, not with steps: each step adds only its two attention
    shapes (keys grow by one); its projections and the LM head are cache hits."""

    def misses(generate):
        tiling.clear_plan_cache()
        simulate_generation(TINY, 8, generate, ROOMY)
        return tiling._plan_shape.cache_info().misses, tiling._shared_steps.cache_info()

    four, steps_four = misses(4)
    eight, steps_eight = misses(8)
    assert eight - four == 2 * 4
    assert steps_eight.hits > steps_four.hits > 0


def test_layer_classes():
    net = decode_step(TINY, 3)
    classes = [layer_class(layer) for layer in net.layers]
    assert classes[:10] == ["vector"] + ["gemm"] * 3 + ["vector"] * 2 + ["attention", "vector", "attention", "gemm"]
    assert classes.count("attention") == 2 * TINY.layers
    assert [c for c in classes if c != "vector"][:9] == ["gemm"] * 3 + ["attention"] * 2 + ["gemm"] * 4


def _write_config(tmp_path):
    path = tmp_path / "config.json"
    hf = {
        "model_type": "llama",
        "vocab_size": TINY.vocab_size,
        "hidden_size": TINY.hidden_size,
        "num_hidden_layers": TINY.layers,
        "num_attention_heads": TINY.heads,
        "num_key_value_heads": TINY.kv_heads,
        "intermediate_size": TINY.intermediate_size,
        "max_position_embeddings": TINY.context,
    }
    path.write_text(json.dumps(hf))
    return path


def test_cli_json_keys_and_consistency(tmp_path, capsys):
    config = _write_config(tmp_path)
    argv = ["llm", "--network-file", str(config), "--prompt", "8", "--generate", "4", "--batch", "3", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out)[:6] == [
        "time_to_first_token_s",
        "time_per_output_token_s",
        "tokens_per_s",
        "energy_per_token_j",
        "prefill_energy_j",
        "kv_cache_bytes",
    ]
    prefill_phase, decode = out["phases"]
    assert (prefill_phase["phase"], decode["phase"]) == ("prefill", "decode")
    assert out["time_to_first_token_s"] == prefill_phase["time_s"]
    assert out["time_per_output_token_s"] == pytest.approx(decode["time_s"] / 4)
    assert out["tokens_per_s"] == pytest.approx(3 / out["time_per_output_token_s"])
    assert out["energy_per_token_j"] == pytest.approx(decode["energy_j"] / (4 * 3))
    assert out["prefill_energy_j"] == prefill_phase["energy_j"]
    assert out["kv_cache_bytes"] == TINY.kv_cache_elements(8 + 4, batch=3) * FP16_BYTES
    assert [s["step"] for s in out["steps"]] == [1, 2, 3, 4]
    assert sum(s["cycles"] for s in out["steps"]) == decode["cycles"]
    assert sum(s["energy_j"] for s in out["steps"]) == pytest.approx(decode["energy_j"])
    for phase in out["phases"]:
        assert sum(phase["time_split_s"].values()) == pytest.approx(phase["time_s"])
        assert phase["bound"]["limiter"] in ("compute", "memory")
    # The headline keys are used nowhere else in the document.
    text = json.dumps({k: v for k, v in out.items() if k not in list(out)[:6]})
    assert not any(f'"{key}"' in text for key in list(out)[:6])


def test_cli_report_trace_info_and_replay(tmp_path, capsys):
    config, path = _write_config(tmp_path), tmp_path / "g.npz"
    argv = ["llm", "--network-file", str(config), "--prompt", "8", "--generate", "3", "--trace", str(path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "time to first token" in out and "time per output token" in out and "trace written" in out
    assert main(["trace", "info", str(path)]) == 0
    info = capsys.readouterr().out
    prefill_end = step_spans(store.load(path))[0][2]
    assert f"prefill ends at cycle {prefill_end:,}" in info
    assert len([line for line in info.splitlines() if line.split()[:1] in (["1"], ["2"], ["3"])]) == 3
    png = tmp_path / "g.png"
    assert main(["replay", str(path), "--png", str(png)]) == 0
    assert png.stat().st_size > 10_000


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--network", "gpt2", "--prompt", "1000", "--generate", "25"], "must be <= 1,024, the context of gpt2"),
        (["--network", "gpt2", "--prompt", "0", "--generate", "2"], "prompt must be an integer >= 1"),
        (["--network", "nope", "--prompt", "4", "--generate", "2"], "unknown 'nope'"),
        (["--network", "gpt2", "--prompt", "4", "--generate", "2", "--hardware", "x"], "unknown preset 'x'"),
    ],
)
def test_bad_input_exits_2_with_one_line(argv, message, capsys):
    assert main(["llm", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_presets_have_their_published_rates():
    edge, dc = preset("edge-llm"), preset("datacenter-llm")
    assert edge.mac_array.macs_per_cycle(Precision.INT8) * 2 * edge.clock_hz == 4.096e12  # Ethos-N77
    assert edge.mac_array.macs_per_cycle(Precision.FP16) * 2 * edge.clock_hz == 1.024e12  # its INT16 rate
    assert edge.dram.bandwidth_bytes_per_s == 51.2e9  # LPDDR5-6400 x64
    assert edge.buffers.weight_bytes + edge.buffers.activation_bytes + edge.buffers.output_bytes == 4 << 20
    assert round(dc.mac_array.macs_per_cycle(Precision.FP16) * 2 * dc.clock_hz / 1e12, 1) == 989.4  # H100 SXM5
    assert round(dc.mac_array.macs_per_cycle(Precision.INT8) * 2 * dc.clock_hz / 1e12, 1) == 1978.9
    assert dc.dram.bandwidth_bytes_per_s == 3.35e12
