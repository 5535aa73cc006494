"""Decoder configurations: exact published parameter counts, Hugging Face config.json reading."""

import json

import pytest

from accelsim.errors import InputError
from accelsim.workload.decoder import DECODERS, DecoderConfig, read_hf_config

PUBLISHED = {"gpt2": 124_439_808, "llama-3.2-1b": 1_235_814_400, "llama-2-7b": 6_738_415_616}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_parameter_counts_are_the_published_ones(name):
    assert DECODERS[name]().parameter_count == PUBLISHED[name]


def test_gpt2_by_hand():
    c = DECODERS["gpt2"]()
    layer = (768 * 2304 + 2304) + (768 * 768 + 768) + (768 * 3072 + 3072) + (3072 * 768 + 768) + 4 * 768
    assert c.layer_parameters == layer
    assert c.parameter_count == 50257 * 768 + 1024 * 768 + 12 * layer + 2 * 768


def test_grouped_query_attention_shrinks_the_kv_cache():
    c = DECODERS["llama-3.2-1b"]()
    assert (c.q_size, c.kv_size) == (2048, 512)
    assert c.kv_cache_elements(tokens=10, batch=2) == 2 * 16 * 512 * 10 * 2


def _write(tmp_path, data):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    return path


def test_hugging_face_configs_read_as_the_built_ins(tmp_path):
    gpt2 = {"model_type": "gpt2", "n_embd": 768, "n_layer": 12, "n_head": 12, "n_positions": 1024, "vocab_size": 50257}
    assert read_hf_config(_write(tmp_path, gpt2), "gpt2") == DECODERS["gpt2"]()
    llama = {
        "model_type": "llama",
        "hidden_size": 2048,
        "num_hidden_layers": 16,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "head_dim": 64,
        "intermediate_size": 8192,
        "vocab_size": 128256,
        "max_position_embeddings": 131072,
        "tie_word_embeddings": True,
    }
    assert read_hf_config(_write(tmp_path, llama), "llama-3.2-1b") == DECODERS["llama-3.2-1b"]()


def test_bad_configs_are_one_line_errors(tmp_path):
    with pytest.raises(InputError, match="config.json: lacks num_attention_heads"):
        read_hf_config(_write(tmp_path, {"model_type": "llama"}))
    with pytest.raises(InputError, match="kv_heads must divide heads"):
        DecoderConfig("x", 10, 64, 1, 8, 3, 128, 16)
    with pytest.raises(InputError, match="mlp must be one of gelu, swiglu"):
        DecoderConfig("x", 10, 64, 1, 8, 8, 128, 16, mlp="relu")
    with pytest.raises(InputError, match="hidden_size must be an integer >= 1"):
        DecoderConfig("x", 10, 0, 1, 8, 8, 128, 16)


# --- decoder networks -----------------------------------------------------------------------------

from accelsim import hardware  # noqa: E402
from accelsim.precision import Precision  # noqa: E402
from accelsim.sim.engine import simulate  # noqa: E402
from accelsim.workload.decoder import decode_step, prefill  # noqa: E402
from accelsim.workload.layers import MatMul  # noqa: E402

TINY = DecoderConfig(
    "tiny", vocab_size=50, hidden_size=32, layers=2, heads=4, kv_heads=2, intermediate_size=48, context=64
)


def test_prefill_is_the_gemm_stack_by_hand():
    tokens, batch, c = 10, 2, TINY
    rows, hd, group = tokens * batch, c.head_size, c.heads // c.kv_heads
    projections = rows * c.hidden_size * (c.q_size + 2 * c.kv_size) + rows * c.q_size * c.hidden_size
    mlp = rows * 3 * c.hidden_size * c.intermediate_size
    attention = 2 * batch * c.kv_heads * (tokens * group) * hd * tokens
    head = batch * c.hidden_size * c.vocab_size
    net = prefill(c, tokens, batch)
    assert net.macs == c.layers * (projections + mlp + attention) + head
    assert net.parameter_count == c.parameter_count


def test_a_decode_step_reads_the_kv_cache_and_it_grows_linearly():
    c, hw = TINY, hardware.seed()
    bytes_per_value = Precision.FP16.bits // 8

    def kv_read(context):
        net = decode_step(c, context).with_precision(Precision.FP16)
        cache = sum(layer.weight_bytes for layer in net.layers if isinstance(layer, MatMul))
        trace = simulate(net, hw)
        t = trace.transfers
        names = [m["name"] for m in trace.meta["layers"]]
        attention = [i for i, n in enumerate(names) if "attn.scores" in n or "attn.context" in n]
        moved = int(
            t["payload_bytes"][
                (t["kind"] == 0) & (t["layer"] >= 0) & __import__("numpy").isin(t["layer"], attention)
            ].sum()
        )
        return cache, moved

    sizes = [kv_read(context) for context in (7, 15, 31)]
    # K and V of every layer and KV head, for context + 1 tokens.
    assert [cache for cache, _ in sizes] == [c.kv_cache_elements(t + 1) * bytes_per_value for t in (7, 15, 31)]
    assert [moved for _, moved in sizes] == [cache for cache, _ in sizes]  # the simulation reads each exactly once
    assert sizes[2][0] - sizes[1][0] == 2 * (sizes[1][0] - sizes[0][0])  # linear in the context


def test_prompts_longer_than_the_context_are_refused():
    with pytest.raises(InputError, match=r"decoder tiny: prompt tokens must be an integer in \[1, 64\]"):
        prefill(TINY, 65)
    with pytest.raises(InputError, match="context \\+ 1 must be an integer in"):
        decode_step(TINY, 64)


def test_a_hugging_face_config_runs_from_the_command_line(tmp_path, capsys):
    from accelsim.cli import main

    config = {
        "model_type": "llama",
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "intermediate_size": 96,
        "vocab_size": 100,
        "max_position_embeddings": 256,
    }
    path = tmp_path / "tiny-llama.json"
    path.write_text(json.dumps(config))
    assert main(["run", "--network-file", str(path), "--precision", "int8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["network"] == "tiny-llama"  # the default 128-token prompt pass keeps the model's name
    assert out["layers"][0]["name"] == "layers.0.input_norm"  # its RMSNorm, on the vector unit
    assert out["layers"][1]["name"] == "layers.0.self_attn.q_proj"
    path.write_text("{}")
    assert main(["run", "--network-file", str(path)]) == 2
    assert "lacks num_attention_heads" in capsys.readouterr().err
