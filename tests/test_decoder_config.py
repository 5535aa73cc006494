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
