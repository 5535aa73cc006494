"""Decoder-only transformer configurations (GPT-2 and Llama families) and their parameter counts.

A `DecoderConfig` is the shape of a decoder LLM as its published configuration gives it; built-ins
come from the models' own `config.json` files on the Hugging Face hub (values cited per preset), and
`read_hf_config` reads such a file without the transformers package. Parameter counts are exact:
they match the published totals (GPT-2 124,439,808; Llama-3.2-1B 1,235,814,400; Llama-2-7B
6,738,415,616).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accelsim.errors import InputError
from accelsim.workload.layers import Layer, Linear, MatMul, Network
from accelsim.workload.vector import Activation, Elementwise, LayerNorm, RMSNorm, Rotary, Softmax

MLP_KINDS = ("gelu", "swiglu")
NORM_KINDS = ("layernorm", "rmsnorm")
POSITION_KINDS = ("learned", "rotary")


def _positive(config: str, name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InputError(f"decoder {config}: {name} must be an integer >= 1 (got {value!r})")


def _choice(config: str, name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InputError(f"decoder {config}: {name} must be one of {', '.join(allowed)} (got {value!r})")


@dataclass(frozen=True)
class DecoderConfig:
    """The shape of a decoder-only transformer.

    `kv_heads` < `heads` is grouped-query attention (each KV head serves heads / kv_heads query
    heads). `gelu` MLPs are up -> GELU -> down (GPT-2); `swiglu` MLPs are gate and up -> SiLU(gate)
    x up -> down (Llama). `bias` puts biases on every linear layer (GPT-2), none otherwise (Llama).
    """

    name: str
    vocab_size: int
    hidden_size: int
    layers: int
    heads: int
    kv_heads: int
    intermediate_size: int
    context: int
    mlp: str = "swiglu"
    norm: str = "rmsnorm"
    position: str = "rotary"
    tied_embeddings: bool = False
    bias: bool = False
    head_dim: int | None = None  # None: hidden_size / heads

    def __post_init__(self) -> None:
        for field in ("vocab_size", "hidden_size", "layers", "heads", "kv_heads", "intermediate_size", "context"):
            _positive(self.name, field, getattr(self, field))
        if self.head_dim is not None:
            _positive(self.name, "head_dim", self.head_dim)
        elif self.hidden_size % self.heads:
            raise InputError(f"decoder {self.name}: heads must divide hidden_size ({self.heads}, {self.hidden_size})")
        if self.heads % self.kv_heads:
            raise InputError(f"decoder {self.name}: kv_heads must divide heads ({self.kv_heads}, {self.heads})")
        _choice(self.name, "mlp", self.mlp, MLP_KINDS)
        _choice(self.name, "norm", self.norm, NORM_KINDS)
        _choice(self.name, "position", self.position, POSITION_KINDS)

    @property
    def head_size(self) -> int:
        return self.head_dim if self.head_dim is not None else self.hidden_size // self.heads

    @property
    def q_size(self) -> int:
        return self.heads * self.head_size

    @property
    def kv_size(self) -> int:
        """Width of the K (or V) projection: kv_heads x head size."""
        return self.kv_heads * self.head_size

    @property
    def norm_parameters(self) -> int:
        return self.hidden_size * (2 if self.norm == "layernorm" else 1)

    def _linear(self, inputs: int, outputs: int) -> int:
        return inputs * outputs + (outputs if self.bias else 0)

    @property
    def attention_parameters(self) -> int:
        """Q, K, V and output projections of one layer."""
        h = self.hidden_size
        return self._linear(h, self.q_size) + 2 * self._linear(h, self.kv_size) + self._linear(self.q_size, h)

    @property
    def mlp_parameters(self) -> int:
        h, f = self.hidden_size, self.intermediate_size
        projections = 3 if self.mlp == "swiglu" else 2
        return (projections - 1) * self._linear(h, f) + self._linear(f, h)

    @property
    def layer_parameters(self) -> int:
        return self.attention_parameters + self.mlp_parameters + 2 * self.norm_parameters

    @property
    def embedding_parameters(self) -> int:
        positions = self.context * self.hidden_size if self.position == "learned" else 0
        return self.vocab_size * self.hidden_size + positions

    @property
    def parameter_count(self) -> int:
        head = 0 if self.tied_embeddings else self.vocab_size * self.hidden_size
        return self.embedding_parameters + self.layers * self.layer_parameters + self.norm_parameters + head

    def kv_cache_elements(self, tokens: int, batch: int = 1) -> int:
        """K and V values cached for `tokens` positions of `batch` sequences, over every layer."""
        return 2 * self.layers * self.kv_size * tokens * batch


def gpt2() -> DecoderConfig:
    """GPT-2 small (openai-community/gpt2 config.json: n_embd 768, n_layer 12, n_head 12,
    n_positions 1024, vocab_size 50257; MLP 4 x n_embd; tied embeddings)."""
    return DecoderConfig(
        "gpt2", 50257, 768, 12, 12, 12, 3072, 1024, "gelu", "layernorm", "learned", tied_embeddings=True, bias=True
    )


def llama_3_2_1b() -> DecoderConfig:
    """Llama-3.2-1B (meta-llama/Llama-3.2-1B config.json: hidden_size 2048, num_hidden_layers 16,
    num_attention_heads 32, num_key_value_heads 8, head_dim 64, intermediate_size 8192,
    vocab_size 128256, max_position_embeddings 131072, tie_word_embeddings true)."""
    return DecoderConfig("llama-3.2-1b", 128256, 2048, 16, 32, 8, 8192, 131072, tied_embeddings=True, head_dim=64)


def llama_2_7b() -> DecoderConfig:
    """Llama-2-7B (meta-llama/Llama-2-7b-hf config.json: hidden_size 4096, num_hidden_layers 32,
    num_attention_heads 32, num_key_value_heads 32, intermediate_size 11008, vocab_size 32000,
    max_position_embeddings 4096, untied output head)."""
    return DecoderConfig("llama-2-7b", 32000, 4096, 32, 32, 32, 11008, 4096)


def tinylm() -> DecoderConfig:
    """tinylm, the byte-level decoder accelsim trains with numpy on Python's own source
    (`accelsim.compress.tinylm`): 4 layers, width 128, 4 heads, MLP 512, context 128, vocabulary
    256, GPT-2 style (LayerNorm, GELU, learned positions, biases, tied embeddings); 842,496
    parameters, equal to the numpy model's count (tested)."""
    return DecoderConfig(
        "tinylm", 256, 128, 4, 4, 4, 512, 128, "gelu", "layernorm", "learned", tied_embeddings=True, bias=True
    )


DECODERS = {"gpt2": gpt2, "llama-3.2-1b": llama_3_2_1b, "llama-2-7b": llama_2_7b, "tinylm": tinylm}


def decoder(name: str) -> DecoderConfig:
    """The built-in decoder configuration called `name`."""
    if name not in DECODERS:
        raise InputError(f"decoder: unknown {name!r}; allowed: {', '.join(DECODERS)}")
    return DECODERS[name]()


def _field(data: dict[str, Any], path: Path, *names: str, default: Any = None) -> Any:
    for name in names:
        if name in data and data[name] is not None:
            return data[name]
    if default is None:
        raise InputError(f"{path}: lacks {' / '.join(names)}")
    return default


def read_hf_config(path: str | Path, name: str | None = None) -> DecoderConfig:
    """A `DecoderConfig` from a Hugging Face `config.json` (GPT-2 or Llama-style `model_type`)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object")
    # A hub checkout keeps `config.json` in a folder named after the model; a lone file names itself.
    label = name or data.get("_name_or_path") or (path.parent.name if path.stem == "config" else path.stem)
    if data.get("model_type") == "gpt2":
        hidden = _field(data, path, "n_embd")
        return DecoderConfig(
            str(label),
            _field(data, path, "vocab_size"),
            hidden,
            _field(data, path, "n_layer"),
            _field(data, path, "n_head"),
            _field(data, path, "n_head"),
            _field(data, path, "n_inner", default=4 * hidden),
            _field(data, path, "n_positions", "n_ctx"),
            "gelu",
            "layernorm",
            "learned",
            tied_embeddings=bool(data.get("tie_word_embeddings", True)),
            bias=True,
        )
    heads = _field(data, path, "num_attention_heads")
    biases = {bool(data.get("attention_bias", False)), bool(data.get("mlp_bias", False))}
    if len(biases) > 1:
        raise InputError(f"{path}: attention_bias and mlp_bias differ; accelsim models biases on every linear or none")
    return DecoderConfig(
        str(label),
        _field(data, path, "vocab_size"),
        _field(data, path, "hidden_size"),
        _field(data, path, "num_hidden_layers"),
        heads,
        _field(data, path, "num_key_value_heads", default=heads),
        _field(data, path, "intermediate_size"),
        _field(data, path, "max_position_embeddings"),
        tied_embeddings=bool(data.get("tie_word_embeddings", False)),
        bias=biases.pop(),
        head_dim=data.get("head_dim"),
    )


# --- decoder networks: the GEMM and attention work of a prefill or of one decode step ------------


def _block(
    c: DecoderConfig, i: int, rows: int, queries: int, keys: int, batch: int, hidden: str | None
) -> tuple[list[Layer], str]:
    """One transformer block on `rows` = batch x query tokens, attending over `keys` tokens;
    `hidden` names the layer whose output is the residual stream (None: the embeddings).

    Grouped-query attention runs as one product per KV head whose rows are the query rows of all
    its query heads, so each K and V is read once however many heads share it. The non-GEMM work
    runs on the vector unit (`accelsim.workload.vector`): the two norms (which hold their own
    gamma, beta), rotary embeddings of Q and K (Llama), the softmax over every head's score rows,
    the MLP's activation (GELU; SiLU times up for SwiGLU) and the two residual adds."""
    p, group, hd = f"layers.{i}.", c.heads // c.kv_heads, c.head_size
    layers: list[Layer] = []
    h = c.hidden_size
    norm_kind = LayerNorm if c.norm == "layernorm" else RMSNorm
    stream = {"inputs": (hidden,)} if hidden else {"independent": True}

    def project(name: str, width_in: int, width_out: int, source: str) -> str:
        layers.append(
            Linear(p + name, in_features=width_in, out_features=width_out, tokens=rows, bias=c.bias, inputs=(source,))
        )
        return p + name

    def vector(layer: Layer) -> str:
        layers.append(layer)
        return layer.name

    norm1 = vector(norm_kind(p + "input_norm", rows=rows, row_length=h, **stream))
    # GPT-2 fuses the Q, K and V projections into one; Llama has three.
    qkv = (
        [("attn.c_attn", c.q_size + 2 * c.kv_size)]
        if c.mlp == "gelu"
        else [("self_attn.q_proj", c.q_size), ("self_attn.k_proj", c.kv_size), ("self_attn.v_proj", c.kv_size)]
    )
    names = [project(n, h, w, norm1) for n, w in qkv]
    q, k, v = names if len(names) == 3 else names * 3
    if c.position == "rotary":
        q = vector(Rotary(p + "rotary.q", rows=rows, row_length=c.q_size, head_dim=hd, inputs=(q,)))
        k = vector(Rotary(p + "rotary.k", rows=rows, row_length=c.kv_size, head_dim=hd, inputs=(k,)))
    heads = batch * c.kv_heads
    layers.append(MatMul(p + "attn.scores", batch=heads, m=queries * group, k=hd, n=keys, inputs=(q, k), keys_axis="n"))
    probs = vector(Softmax(p + "attn.softmax", rows=heads * queries * group, row_length=keys))
    layers.append(
        MatMul(p + "attn.context", batch=heads, m=queries * group, k=keys, n=hd, inputs=(probs, v), keys_axis="k")
    )
    o = project("attn.o_proj", c.q_size, h, p + "attn.context")
    residual = vector(Elementwise(p + "attn.residual", rows=rows, row_length=h, inputs=(o, hidden) if hidden else (o,)))
    norm2 = vector(norm_kind(p + "post_attention_norm", rows=rows, row_length=h))
    # GPT-2: up -> GELU -> down; Llama: SiLU(gate) x up -> down.
    f = c.intermediate_size
    if c.mlp == "gelu":
        up = project("mlp.c_fc", h, f, norm2)
        act = vector(Activation(p + "mlp.gelu", rows=rows, row_length=f, function="gelu"))
        down = project("mlp.c_proj", f, h, act)
    else:
        project("mlp.gate_proj", h, f, norm2)  # the SiLU below reads it
        silu = vector(Activation(p + "mlp.silu", rows=rows, row_length=f, function="silu"))
        up = project("mlp.up_proj", h, f, norm2)
        act = vector(Elementwise(p + "mlp.gate_mul", rows=rows, row_length=f, op="mul", inputs=(silu, up)))
        down = project("mlp.down_proj", f, h, act)
    out = vector(Elementwise(p + "mlp.residual", rows=rows, row_length=h, inputs=(down, residual)))
    return layers, out


def _decoder(
    c: DecoderConfig, name: str, queries: int, keys: int, batch: int, description: str, logits: int = 1
) -> Network:
    """`queries` tokens per sequence attending over `keys`; logits of the last `logits` of them."""
    layers: list[Layer] = []
    hidden: str | None = None
    for i in range(c.layers):
        block, hidden = _block(c, i, batch * queries, queries, keys, batch, hidden)
        layers += block
    # The final norm and the logits of each sequence's last `logits` tokens; the embedding table is the
    # head's weights when tied, else it is counted (folded) here, learned positions likewise.
    embeddings = c.embedding_parameters - (c.vocab_size * c.hidden_size if c.tied_embeddings else 0)
    norm_kind = LayerNorm if c.norm == "layernorm" else RMSNorm
    layers.append(
        norm_kind("final_norm", rows=batch * logits, row_length=c.hidden_size, inputs=(hidden,) if hidden else None)
    )
    layers.append(
        Linear(
            "lm_head",
            in_features=c.hidden_size,
            out_features=c.vocab_size,
            tokens=batch * logits,
            bias=False,
            folded_parameters=embeddings,
        )
    )
    return Network(name, tuple(layers), description)


def _check_tokens(c: DecoderConfig, what: str, tokens: int, batch: int) -> None:
    if not isinstance(tokens, int) or isinstance(tokens, bool) or not 1 <= tokens <= c.context:
        raise InputError(
            f"decoder {c.name}: {what} must be an integer in [1, {c.context:,}] (its context; got {tokens!r})"
        )
    if not isinstance(batch, int) or isinstance(batch, bool) or not 1 <= batch <= 4096:
        raise InputError(f"decoder {c.name}: batch must be an integer in [1, 4,096] (got {batch!r})")


def prefill(c: DecoderConfig, tokens: int, batch: int = 1) -> Network:
    """The prompt pass: every projection on batch x `tokens` rows, attention over all `tokens`
    (the full score matrix, as an unfused implementation computes it), logits of the last token."""
    _check_tokens(c, "prompt tokens", tokens, batch)
    text = f"{c.name} prefill of {tokens} tokens x batch {batch}: GEMMs and attention products"
    return _decoder(
        c,
        c.name if (tokens, batch) == (DEFAULT_PREFILL_TOKENS, 1) else f"{c.name}-prefill",
        tokens,
        tokens,
        batch,
        text,
    )


def decode_step(c: DecoderConfig, context: int, batch: int = 1) -> Network:
    """One generated token per sequence attending over `context` cached tokens and itself: each
    projection on `batch` rows, each attention product reading its whole K (or V) cache from
    DRAM (the B operand of the product), so KV traffic grows with the context."""
    _check_tokens(c, "context + 1", context + 1, batch)
    text = f"{c.name} decode step at context {context} x batch {batch}: GEMMs and attention over the KV cache"
    return _decoder(c, f"{c.name}-decode", 1, context + 1, batch, text)


def verify_step(c: DecoderConfig, context: int, queries: int, batch: int = 1) -> Network:
    """Speculative decoding's verification pass: `queries` tokens per sequence (the last accepted
    token and the draft's proposals) attending over `context` cached tokens and themselves in one
    pass, with logits at every one of them (each checks a proposal or adds the target's token).
    Shaped as a decode step with `queries` rows per sequence; the score block is computed whole,
    as the prefill's is (an unfused implementation masks it)."""
    if not isinstance(queries, int) or isinstance(queries, bool) or queries < 1:
        raise InputError(f"decoder {c.name}: verified tokens must be an integer >= 1 (got {queries!r})")
    _check_tokens(c, "context + verified tokens", context + queries, batch)
    text = (
        f"{c.name} verification of {queries} tokens at context {context} x batch {batch}: "
        "GEMMs, attention over the KV cache, logits at every verified token"
    )
    return _decoder(c, f"{c.name}-verify", queries, context + queries, batch, text, logits=queries)


#: Prompt length of a decoder built-in run as a network (`accelsim run --network gpt2`).
DEFAULT_PREFILL_TOKENS = 128
