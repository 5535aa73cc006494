"""The attention and MLP blocks of a transformer network, as the LLM compression methods find them
by dataflow, never by layer name.

An attention block is a scores product whose A operand comes from a query projection and whose
B operand from a key projection, and the context product that reads the scores (A) and a value
projection (B). An MLP is a down projection whose inputs come from up projections (GPT-2's c_fc;
Llama's gate and up) that only it reads, widening the stream it narrows back. Vector-unit layers
on the way (rotary embeddings, a softmax, an activation, a gating multiply) are passed through and
reported, so a width change can follow them; a network without them has empty chains.
"""

from __future__ import annotations

from dataclasses import dataclass

from accelsim.compress.graph import consumers
from accelsim.workload.layers import Layer, MatMul, Network


def on_vector_unit(layer: Layer) -> bool:
    return getattr(layer, "unit", "mac") == "vector"


def is_projection(layer: Layer) -> bool:
    """A MAC-array layer with weights (a Linear, a Gemm)."""
    return layer.b_is_weight and not on_vector_unit(layer) and layer.has_channels


def source(network: Network, i: int) -> tuple[int, tuple[int, ...]]:
    """The MAC-array layer whose output reaches layer i's input through single-input vector
    layers, and those vector layers (nearest first)."""
    producers = network.producers()
    chain: list[int] = []
    while on_vector_unit(network.layers[i]) and len(producers[i]) == 1:
        chain.append(i)
        i = producers[i][0]
    return i, tuple(chain)


@dataclass(frozen=True)
class Attention:
    """Indices of one attention block's layers; `q == k == v` for a fused Q/K/V projection."""

    q: int
    k: int
    v: int
    scores: int
    context: int
    q_chain: tuple[int, ...]
    k_chain: tuple[int, ...]
    probs_chain: tuple[int, ...]
    outputs: tuple[int, ...]

    @property
    def fused(self) -> bool:
        return self.q == self.k


def attention_blocks(network: Network) -> list[Attention]:
    producers, readers = network.producers(), consumers(network)
    layers = network.layers
    blocks = []
    for s, scores in enumerate(layers):
        if not isinstance(scores, MatMul) or len(producers[s]) != 2:
            continue
        (q, q_chain), (k, k_chain) = (source(network, p) for p in producers[s])
        if not (is_projection(layers[q]) and is_projection(layers[k])):
            continue
        for c in range(s + 1, len(layers)):
            if not isinstance(layers[c], MatMul) or len(producers[c]) != 2:
                continue
            (a, probs_chain), (v, _) = (source(network, p) for p in producers[c])
            if a == s and is_projection(layers[v]):
                blocks.append(Attention(q, k, v, s, c, q_chain, k_chain, probs_chain, tuple(readers[c])))
                break
    return blocks


def query_columns(network: Network, block: Attention) -> int:
    """Output columns of the query part of a fused projection: its scores product multiplies
    b x m query rows of head size d (b sequences x KV heads, m = queries x query heads per KV
    head), which is rows x query columns. 0 for a separate key or value projection."""
    if not block.fused:
        return 0
    scores = network.layers[block.scores]
    assert isinstance(scores, MatMul)
    rows, _, n = network.layers[block.q].gemm_mkn
    queries, rest = divmod(scores.batch * scores.m * scores.k, rows)
    if rest or not 0 < queries < n or (n - queries) % 2:
        raise ValueError(f"cannot find the key and value columns of fused projection {network.layers[block.q].name}")
    return queries


@dataclass(frozen=True)
class MLP:
    """Indices of one MLP: its up projections, the vector layers between them and the down one."""

    ups: tuple[int, ...]
    between: tuple[int, ...]
    down: int


def mlp_blocks(network: Network) -> list[MLP]:
    producers, readers = network.producers(), consumers(network)
    layers = network.layers
    blocks = []
    for d, down in enumerate(layers):
        if not is_projection(down) or not producers[d] or down.independent:
            continue
        ups: set[int] = set()
        between: set[int] = set()
        pending = list(producers[d])
        while pending:  # back through vector layers (an activation, a gating multiply)
            i = pending.pop()
            if on_vector_unit(layers[i]) and producers[i]:
                between.add(i)
                pending += producers[i]
            else:
                ups.add(i)
        inside = ups | between | {d}
        if not all(is_projection(layers[u]) for u in ups):
            continue
        if not all(set(readers[i]) <= inside for i in ups | between):
            continue
        widths = {layers[u].out_channels for u in ups}
        if len(widths) != 1 or down.in_channels != widths.pop():
            continue
        if any(layers[u].in_channels != down.out_channels for u in ups):
            continue
        blocks.append(MLP(tuple(sorted(ups)), tuple(sorted(between)), d))
    return blocks
