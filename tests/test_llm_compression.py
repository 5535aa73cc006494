"""The cost side of the LLM compression methods (issue 12): exact bytes of group-quantized weights
and KV caches, 2:4 on decoders, head and MLP pruning, LoRA GEMMs, speculative decoding's
expectation, published perplexities."""

import dataclasses
import itertools
import json

import numpy as np
import pytest

from accelsim import hardware
from accelsim.cli import main
from accelsim.compress.llm_perplexity import llm_perplexity
from accelsim.compress.measured import _nm_mask
from accelsim.compress.methods import KVQuantize, LoRA, NMPrune, SmoothQuant, Speculative, WeightQuantize
from accelsim.compress.methods.speculative import PassCost, enumerated_tokens, expected_tokens, split_generation
from accelsim.compress.spec import canonical, parse_pipeline
from accelsim.compress.transforms import pipeline
from accelsim.errors import InputError
from accelsim.precision import Precision
from accelsim.sim.engine import simulate
from accelsim.sim.tiling import plan_layer
from accelsim.trace import store
from accelsim.workload.decoder import DecoderConfig, decode_step, llama_3_2_1b, prefill
from accelsim.workload.layers import Linear, MatMul, Network
from accelsim.workload.quantized import GroupQuantized

#: A small Llama-style decoder with grouped-query attention (4 query heads on 2 KV heads of 32).
TINY = DecoderConfig("tiny", 256, 128, 2, 4, 2, 256, 64)
#: A small GPT-2-style decoder: fused Q/K/V projection, biases, GELU MLP.
TINY_GPT = DecoderConfig("tiny-gpt", 256, 128, 2, 4, 4, 512, 64, "gelu", "layernorm", "learned", True, True)


def _apply(text: str, net: Network) -> Network:
    return pipeline(*parse_pipeline(text))(net)


def _fp16(net: Network) -> Network:
    return net.with_precision(Precision.FP16)


# --- wq: weight-only group quantization ---------------------------------------------------------


@pytest.mark.parametrize(("bits", "group", "bits_per_weight"), [(8, 32, 8.5), (4, 32, 4.5), (4, 128, 4.125)])
def test_symmetric_formats_store_a_16_bit_scale_per_group(bits, group, bits_per_weight):
    layer = Linear("w", in_features=4096, out_features=4096, bias=False, weight_precision=Precision.FP16)
    q = WeightQuantize(bits, group)(Network("n", (layer,))).layers[0]
    assert q.weight_bytes * 8 == 4096 * 4096 * bits_per_weight  # llama.cpp Q8_0 8.5, Q4_0 4.5
    assert q.weight_bytes == 4096 * 4096 * bits // 8 + 4096 * (4096 // group) * 2


def test_asymmetric_groups_add_a_zero_point_at_the_weight_width():
    layer = Linear("w", in_features=4096, out_features=11008, bias=False, weight_precision=Precision.FP16)
    q = WeightQuantize(4, 128, sym=False)(Network("n", (layer,))).layers[0]
    groups = 11008 * 4096 // 128
    assert q.weight_bytes == 4096 * 11008 // 2 + groups * 2 + groups // 2  # values + fp16 scales + 4-bit zeros
    assert q.weight_bytes * 8 / (4096 * 11008) == 4.15625


def test_a_partial_group_has_its_own_scale_and_biases_keep_the_activation_precision():
    layer = Linear("w", in_features=100, out_features=3, bias=True, activation_precision=Precision.FP16)
    q = WeightQuantize(8, 32)(Network("n", (layer,))).layers[0]
    assert q.weight_bytes == 100 * 3 + 3 * 4 * 2 + 3 * 2  # ceil(100 / 32) = 4 groups per column


def test_wq_keeps_activations_and_macs_at_their_precision_and_counts_every_byte_of_a_decoder():
    net = _fp16(decode_step(llama_3_2_1b(), 127))
    q = WeightQuantize(4, 128, sym=False)(net)
    assert q.macs == net.macs and q.parameter_count == net.parameter_count
    for before, after in zip(net.layers, q.layers):
        assert after.activation_precision == Precision.FP16 and after.mac_precision == Precision.FP16
        if isinstance(after, Linear):
            _, k, n = after.gemm_mkn
            groups = n * -(-k // 128)
            assert after.weight_precision == Precision.INT4
            assert after.weight_bytes == k * n // 2 + groups * 2 + groups // 2
            assert after.dequantize_ops == k * n
        else:
            assert after == before
    assert 3.8 < net.weight_bytes / q.weight_bytes < 3.9


def test_tiles_fetch_the_scales_of_every_group_they_touch():
    layer = WeightQuantize(4, 128)(_fp16(decode_step(TINY, 10))).layers[-1]
    steps = list(plan_layer(layer, hardware.seed()).steps())
    assert sum(s.w_bytes for s in steps) >= layer.weight_bytes
    store_ = GroupQuantized(Precision.INT4, 128)
    assert store_.stored_bits(64, 8) == 64 * 8 * 4 + 8 * 16  # a k tile of 64 still needs its scales


def test_wq_validates_its_values():
    for text, message in [
        ("wq(3)", "wq: bits must be 8 or 4"),
        ("wq(4, 0)", "wq: group must be an integer"),
        ("wq(4, 128, sym=maybe)", "sym must be a number"),
        ("wq(4, 128, algo=magic)", "wq: algo must be one of rtn, gptq, awq"),
    ]:
        with pytest.raises(InputError, match=message):
            parse_pipeline(text)
    net = WeightQuantize(4, 128)(_fp16(prefill(TINY, 8)))
    with pytest.raises(InputError, match="already group-quantized"):
        WeightQuantize(8, 32)(net)
    requantized = _apply("int8", net)  # a uniform precision replaces the group format
    assert requantized.layers == _apply("int8", prefill(TINY, 8)).layers


def test_dequantization_is_vector_work_unless_the_datapath_does_it():
    net = WeightQuantize(4, 32)(_fp16(decode_step(TINY, 7)))
    meta = {layer["name"]: layer for layer in simulate(net, hardware.seed()).meta["layers"]}
    assert meta["layers.0.self_attn.q_proj"]["dequantize"] == {"where": "vector", "vector_ops": 128 * 128}
    assert "dequantize" not in meta["layers.0.attn.scores"]  # the attention product reads activations
    hw = dataclasses.replace(hardware.seed(), mac_array=hardware.MacArray(dequantize_in_datapath=True))
    inline = {layer["name"]: layer for layer in simulate(net, hw).meta["layers"]}
    assert inline["layers.0.self_attn.q_proj"]["dequantize"] == {"where": "datapath", "vector_ops": 0}
    with pytest.raises(hardware.ConfigError, match="mac_array.dequantize_in_datapath: must be true or false"):
        hardware.MacArray(dequantize_in_datapath="yes")


def test_decode_dram_traffic_shrinks_with_the_weights():
    net = _fp16(decode_step(TINY, 31))
    q = _apply("wq(bits=4, group=128) -> kv(8)", net)
    dense, small = (int(simulate(n, hardware.seed()).transfers["payload_bytes"].sum()) for n in (net, q))
    assert 3.0 < dense / small < 3.9


# --- w8a8 -----------------------------------------------------------------------------------------


def test_w8a8_costs_what_int8_costs_and_records_alpha():
    net = prefill(TINY, 16)
    smooth, int8 = SmoothQuant(0.8)(net), _apply("int8", net)
    assert smooth.layers == int8.layers
    assert smooth.provenance[0].param("alpha") == 0.8
    assert parse_pipeline("w8a8") == (SmoothQuant(0.5),)
    with pytest.raises(InputError, match=r"w8a8: alpha must be in \[0, 1\]"):
        parse_pipeline("w8a8(1.5)")


# --- kv: quantized KV cache ---------------------------------------------------------------------


def _attention(net: Network) -> list[MatMul]:
    return [layer for layer in net.layers if isinstance(layer, MatMul)]


@pytest.mark.parametrize("config", [TINY, TINY_GPT])
def test_kv8_reads_half_the_cache_bytes_plus_one_scale_per_token_and_head(config):
    context, batch = 40, 3
    net = _fp16(decode_step(config, context, batch))
    q = KVQuantize(8)(net)
    keys = context + 1
    for before, after in zip(_attention(net), _attention(q)):
        heads = batch * config.kv_heads
        assert after.weight_bytes == before.weight_bytes // 2 + heads * keys * 2
        assert after.mac_precision == Precision.FP16 and after.macs == before.macs
    per_head = KVQuantize(4, scales="head")(net)
    for before, after in zip(_attention(net), _attention(per_head)):
        assert after.weight_bytes == before.weight_bytes // 4 + batch * config.kv_heads * 2


def test_kv_projections_write_the_new_tokens_quantized():
    net = _fp16(prefill(TINY, 16))
    q = KVQuantize(8)(net)
    by_name = {layer.name: layer for layer in q.layers}
    k = by_name[by_name["layers.0.attn.scores"].inputs[1]]  # what writes K (the projection, or its rotary)
    assert k.output_bytes == 16 * 64 + 16 * TINY.kv_heads * 2  # int8 values + a scale per token and head
    assert by_name["layers.0.self_attn.q_proj"].output_bytes == 16 * 128 * 2
    fused = _named(KVQuantize(8)(_fp16(prefill(TINY_GPT, 16))), "layers.0.attn.c_attn")
    assert fused.output_bytes == 16 * 128 * 2 + 16 * 256 + 16 * 8 * 2  # Q fp16, K and V int8 with scales
    assert fused.out_storage.first_column == 128


def test_kv_needs_attention_and_valid_values():
    with pytest.raises(InputError, match="kv: mlp has no attention products"):
        KVQuantize(8)(_mlp())
    with pytest.raises(InputError, match="kv: scales must be one of token, head"):
        KVQuantize(8, "channel")


def _named(net: Network, name: str):
    return next(layer for layer in net.layers if layer.name == name)


def _mlp() -> Network:
    from accelsim.workload.networks import network

    return network("mlp")


# --- 2:4, heads and MLP channels on decoders ---------------------------------------------------------


def test_two_of_four_on_every_decoder_linear_and_masks_keep_exactly_two_of_four():
    net = NMPrune(2, 4)(prefill(TINY, 8))
    rng = np.random.default_rng(0)
    for layer in net.layers:
        if isinstance(layer, Linear):
            _, k, n = layer.gemm_mkn
            assert layer.nonzero_weights == k * n // 2
            mask = _nm_mask(np.abs(rng.standard_normal((k, n))), False, 2, 4)
            assert (mask.reshape(k // 4, 4, n).sum(axis=1) == 2).all()
            assert int(mask.sum()) == layer.nonzero_weights


@pytest.mark.parametrize("config", [TINY, llama_3_2_1b(), TINY_GPT])
def test_head_and_mlp_pruning_give_the_smaller_models_shapes(config):
    half = dataclasses.replace(
        config,
        heads=config.heads // 2,
        kv_heads=config.kv_heads // 2,
        intermediate_size=config.intermediate_size // 2,
        head_dim=config.head_size,
    )
    pruned = _apply("heads(0.5) -> mlp(0.5)", prefill(config, 8))
    small = prefill(half, 8)
    assert [layer.gemm_mkn for layer in pruned.layers] == [layer.gemm_mkn for layer in small.layers]
    assert [layer.groups for layer in pruned.layers] == [layer.groups for layer in small.layers]
    assert pruned.parameter_count == small.parameter_count


def test_head_pruning_keeps_whole_kv_groups_and_a_quantized_cache():
    net = _apply("kv(8) -> heads(0.5)", _fp16(prefill(TINY_GPT, 8)))
    assert _named(net, "layers.0.attn.c_attn").out_storage.first_column == 64
    with pytest.raises(InputError, match="heads: ratio 0.9 removes every KV head"):
        _apply("heads(0.9)", prefill(TINY, 8))
    with pytest.raises(InputError, match="mlp: mlp has no MLP"):
        _apply("mlp(0.5)", _mlp())


# --- LoRA ---------------------------------------------------------------------------------------------


def test_unmerged_lora_adds_two_gemms_per_target_and_its_bytes():
    rank, rows = 8, 12
    net = _fp16(prefill(TINY, rows))
    adapted = LoRA(rank, ("q", "v"))(net)
    h, kv = TINY.hidden_size, TINY.kv_size
    per_layer = rows * rank * (h + TINY.q_size) + rows * rank * (h + kv)
    assert adapted.macs - net.macs == TINY.layers * per_layer
    parameters = TINY.layers * rank * ((h + TINY.q_size) + (h + kv))
    assert adapted.parameter_count - net.parameter_count == parameters
    assert adapted.weight_bytes - net.weight_bytes == 2 * parameters
    names = [layer.name for layer in adapted.layers if "q_proj" in layer.name]
    assert names[:3] == [
        "layers.0.self_attn.q_proj",
        "layers.0.self_attn.q_proj.lora_a",
        "layers.0.self_attn.q_proj.lora_b",
    ]
    assert LoRA(rank, ("q", "v"), mode="merged")(net).layers == net.layers


def test_adapters_in_one_batch_read_each_adapters_weights_for_its_requests():
    net = _fp16(decode_step(TINY, 15, batch=8))
    one, four = LoRA(4, ("o",))(net), LoRA(4, ("o",), adapters=4)(net)
    assert four.macs == one.macs
    adapter_bytes = one.weight_bytes - net.weight_bytes
    assert four.weight_bytes - net.weight_bytes == 4 * adapter_bytes
    rows = [layer.gemm_mkn[0] for layer in four.layers if ".lora_a" in layer.name][:4]
    assert rows == [2, 2, 2, 2]
    with pytest.raises(InputError, match="lora: adapters 16 exceed the 8 rows"):
        LoRA(4, ("o",), adapters=16)(net)


def test_lora_on_gpt2s_fused_projection_writes_the_targeted_parts():
    net = prefill(TINY_GPT, 4)
    adapted = LoRA(2, ("q", "v"))(net)
    widths = {layer.name: layer.gemm_mkn[2] for layer in adapted.layers if "lora_b" in layer.name}
    assert widths["layers.0.attn.c_attn.lora_b.q"] == 128 and widths["layers.0.attn.c_attn.lora_b.v"] == 128


# --- speculative decoding -----------------------------------------------------------------------------


@pytest.mark.parametrize(("k", "a"), list(itertools.product([1, 2, 4, 7], [0.0, 0.3, 0.7, 0.95])))
def test_expected_tokens_per_round_matches_brute_force(k, a):
    assert expected_tokens(k, a) == pytest.approx(enumerated_tokens(k, a), rel=1e-12)
    assert expected_tokens(k, a) == pytest.approx((1 - a ** (k + 1)) / (1 - a))


def test_speculative_cost_per_accepted_token():
    step = parse_pipeline("speculative(draft=distill(0.25), k=4, acceptance=0.7)")[0]
    assert isinstance(step, Speculative) and step.tokens_per_round == pytest.approx(2.7731)
    cost = step.per_token(PassCost(1e-3, 2e-3), PassCost(5e-3, 10e-3))
    rounds = 1 / enumerated_tokens(4, 0.7)
    assert cost.time_s == pytest.approx((4 * 1e-3 + 5e-3) * rounds)
    assert cost.energy_j == pytest.approx((4 * 2e-3 + 10e-3) * rounds)
    rng = np.random.default_rng(1)  # a sampled expectation agrees as well
    accepted = np.argmin(np.c_[rng.random((200_000, 4)) < 0.7, np.zeros(200_000, bool)], axis=1)
    assert (accepted + 1).mean() == pytest.approx(step.tokens_per_round, rel=0.01)


def test_speculative_validates_and_stays_out_of_the_network():
    for text, message in [
        ("speculative(draft=gpt2, k=0)", r"k must be an integer in \[1, 64\]"),
        ("speculative(draft=gpt2, acceptance=1)", r"acceptance must be in \[0, 1\)"),
        ("speculative(draft=nonesuch)", "draft must be a network name or distill"),
        ("speculative(draft=prune(0.5))", "draft must be a network name or distill"),
    ]:
        with pytest.raises(InputError, match=message):
            parse_pipeline(text)
    steps = parse_pipeline("wq(4, 128) -> speculative(draft=distill(0.5), k=2, acceptance=0.5)")
    layered, generation = split_generation(steps)
    assert [s.method for s in layered] == ["wq"] and [s.method for s in generation] == ["speculative"]
    target = prefill(TINY, 8)
    assert generation[0].draft_network(target).macs < target.macs
    assert generation[0].provenance().as_json()["params"] == {"draft": "distill(width=0.5)", "k": 2, "acceptance": 0.5}


def test_run_refuses_speculative_in_one_line(capsys):
    code = main(["run", "--network", "mlp", "--compress", "speculative(draft=distill(0.25), k=4, acceptance=0.7)"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "speculative: a generation-level step" in err


# --- pipeline texts, provenance, trace info -------------------------------------------------------------


def test_llm_pipelines_parse_and_show_in_provenance_and_trace_info(tmp_path, capsys):
    text = "wq(bits=4, group=128) -> kv(8) -> lora(rank=8, targets=[q, v])"
    assert canonical(text) == text
    net = _apply(text, _fp16(decode_step(TINY, 7)))
    assert [s.method for s in net.provenance] == ["wq", "kv", "lora"]
    assert net.provenance[2].param("targets") == ("q", "v")
    path = tmp_path / "t.npz"
    store.save(simulate(net, hardware.seed()), path)
    assert main(["trace", "info", str(path)]) == 0
    shown = "wq(int4, group=128, sym, gptq) -> kv(int8, per-token scales) -> lora(rank=8, targets=[q, v], unmerged)"
    assert "provenance  " + shown in capsys.readouterr().out
    assert json.loads(json.dumps(store.load(path).meta["provenance"]))[0]["params"]["group"] == 128


def test_run_with_wq_and_kv_on_a_decoder_file(tmp_path, capsys):
    path = tmp_path / "config.json"
    path.write_text(
        json.dumps(
            {
                "model_type": "llama",
                "vocab_size": 256,
                "hidden_size": 128,
                "num_hidden_layers": 2,
                "num_attention_heads": 4,
                "num_key_value_heads": 2,
                "intermediate_size": 256,
                "max_position_embeddings": 256,
            }
        )
    )
    runs = []
    for extra in ([], ["--compress", "wq(bits=4, group=128) -> kv(8)"]):
        assert main(["run", "--network-file", str(path), "--precision", "fp16", "--json", *extra]) == 0
        runs.append(json.loads(capsys.readouterr().out)["total"])
    assert runs[1]["dram_read_bytes"] < runs[0]["dram_read_bytes"] and runs[1]["macs"] == runs[0]["macs"]


# --- published perplexities ---------------------------------------------------------------------------


def test_published_perplexities_are_labelled_with_their_source():
    gptq = llm_perplexity("llama-2-7b", parse_pipeline("wq(4, 128, sym=false)"))
    assert (gptq.value, gptq.kind) == (5.69, "published") and "AWQ, MLSys 2024" in gptq.detail
    assert llm_perplexity("llama-2-7b", parse_pipeline("wq(4, 128, algo=awq)")).value == 5.60
    assert llm_perplexity("llama-2-7b").value == 5.47
    lossless = llm_perplexity("llama-2-7b", parse_pipeline("lora(rank=8, mode=merged) -> speculative(draft=gpt2)"))
    assert lossless.value == 5.47
    carried = llm_perplexity("llama-3.2-1b", parse_pipeline("wq(4, 128, algo=rtn)"), baseline=9.0)
    assert carried.kind == "modelled" and carried.value == pytest.approx(9.0 * 5.73 / 5.47)
    assert "ratios of llama-2-7b" in carried.detail
    with pytest.raises(InputError, match="llm perplexity: no published value for prune"):
        llm_perplexity("llama-2-7b", parse_pipeline("nm(2, 4)"))


def test_group_scales_stack_on_a_two_of_four_format():
    layer = Linear("w", in_features=128, out_features=4, bias=False, activation_precision=Precision.FP16)
    both = _apply("nm(2, 4) -> wq(8, 32)", Network("n", (layer,))).layers[0]
    # 256 kept values of 8 bits with a 2-bit position each, plus 4 x 4 fp16 scales.
    assert both.weight_bytes * 8 == 256 * (8 + 2) + 4 * 4 * 16
    assert both.dequantize_ops == 256
